//! FFI tests against the C stub: probe, handle discipline, error paths, protocol guards, store
//! semantics, paths, sizes, cycles and labeled ranges.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::ptr;
use std::time::Instant;

use cartesi_machine_stub::StubApi;
use cartesi_machine_sys::{Api, Generation, LoadError, SHARING_ALL, SHARING_NONE, cm_machine};
use machine::{
    BackendInfo, Error, Machine, Outcome, RunControl, SnapshotReason, Status, query_state,
};

use crate::common::{ctl, input, scratch, stub_backend, stub_lib, stub_template};

const BOTH: [StubApi; 2] = [StubApi::V19, StubApi::V21];

#[test]
fn probe_detects_each_generation() {
    let v19 = stub_lib(StubApi::V19).info();
    assert_eq!(
        (v19.api, v19.version, v19.is_stub),
        (Generation::V19, None, true)
    );
    let v21 = stub_lib(StubApi::V21).info();
    assert_eq!(
        (v21.api, v21.version, v21.is_stub),
        (Generation::V21, Some((0, 21, 0)), true)
    );
    assert_eq!(v21.version_string(), "0.21.0");
    // The same path opens the same library.
    assert!(std::ptr::eq(stub_lib(StubApi::V21), stub_lib(StubApi::V21)));
}

#[test]
fn probe_refuses_version_0_20_naming_path_and_version() {
    let path = cartesi_machine_stub::path(StubApi::V20);
    let err = cartesi_machine_sys::open(Some(path)).unwrap_err();
    assert!(
        matches!(
            err,
            LoadError::UnsupportedVersion {
                major: 0,
                minor: 20,
                patch: 0,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("0.20.0") && text.contains("libcm_stub_v20.so"),
        "{text}"
    );
    let err = machine::CartesiBackend::open(Some(path), machine::LoadOptions::new("/nonexistent"))
        .unwrap_err();
    assert_eq!(err.class(), machine::Class::Operator);
}

#[test]
fn machine_info_names_the_library() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let m = stub_backend(StubApi::V21, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    match m.info() {
        BackendInfo::Cartesi(info) => assert_eq!(info.api, Generation::V21),
        other => panic!("{other:?}"),
    }
}

fn hooks(api: StubApi) -> &'static cartesi_machine_sys::StubHooks {
    stub_lib(api).stub_hooks().expect("stub hooks")
}

fn delete_count(api: StubApi, serial: u64) -> u64 {
    // SAFETY: a stub hook with no pointer arguments.
    unsafe { (hooks(api).delete_count)(serial) }
}

fn bad_deletes(api: StubApi) -> u64 {
    // SAFETY: a stub hook with no arguments.
    unsafe { (hooks(api).bad_delete_count)() }
}

pub(crate) fn inject(api: StubApi, serial: u64, function: &str, code: i32, message: &str) {
    let function = CString::new(function).unwrap();
    let message = CString::new(message).unwrap();
    // SAFETY: valid C strings for the duration of the call; the stub copies them.
    unsafe { (hooks(api).inject_serial)(serial, function.as_ptr(), code, message.as_ptr(), 0) }
}

#[test]
fn every_handle_is_deleted_exactly_once() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let backend = stub_backend(api, &dir.path().join("work"));
        let mut m = backend.load_machine(&template).unwrap();
        let first = m.debug_serial().unwrap();
        assert_eq!(delete_count(api, first), 0);
        m.advance(&input(b"one"), &ctl()).unwrap();
        query_state(&mut m, b"state", &ctl()).unwrap();
        // A reject reloads the pre-input state into a new handle and deletes the old one.
        assert_eq!(
            m.advance(&input(b"reject"), &ctl()).unwrap().outcome,
            Outcome::Rejected
        );
        let second = m.debug_serial().unwrap();
        assert_ne!(first, second);
        assert_eq!(delete_count(api, first), 1);
        assert_eq!(delete_count(api, second), 0);
        drop(m);
        assert_eq!(delete_count(api, second), 1);
        assert_eq!(bad_deletes(api), 0);
    }
}

#[test]
fn worker_drop_deletes_the_handle() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let backend = std::sync::Arc::new(stub_backend(StubApi::V21, &dir.path().join("work")));
    let serial = std::thread::spawn(move || {
        let mut m = backend.load_machine(&template).unwrap();
        m.advance(&input(b"x"), &ctl()).unwrap();
        m.debug_serial().unwrap()
    })
    .join()
    .unwrap();
    assert_eq!(delete_count(StubApi::V21, serial), 1);
}

/// The name of -11 differs per generation; the message survives the stub's scribbling.
#[test]
fn injected_failures_surface_as_cm_errors_and_leave_the_machine_usable() {
    let ops = [
        "cm_run",
        "cm_receive_cmio_request",
        "cm_send_cmio_response",
        "cm_get_root_hash",
        "cm_store",
    ];
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let backend = stub_backend(api, &dir.path().join("work"));
        let warmed_up = || {
            let mut m = backend.load_machine(&template).unwrap();
            m.advance(&input(b"warm-up"), &ctl()).unwrap();
            m
        };
        // A twin says what the root is; asking `m` would compute (and keep) it first.
        let root = warmed_up().root_hash().unwrap();
        for op in ops {
            let mut m = warmed_up();
            inject(api, m.debug_serial().unwrap(), op, -11, "injected failure");
            let err = match (op, api) {
                ("cm_store", _) => m
                    .store(&dir.path().join(format!("store-{op}")))
                    .unwrap_err(),
                // 0.19 takes no revert root hash, so an advance computes none.
                ("cm_get_root_hash", StubApi::V19) => m.root_hash().unwrap_err(),
                _ => m.advance(&input(b"payload"), &ctl()).unwrap_err(),
            };
            match &err {
                Error::Cm {
                    op: got,
                    code: -11,
                    name,
                    message,
                } => {
                    assert_eq!(*got, op);
                    let expected = if api == StubApi::V19 {
                        "SYSTEM_ERROR"
                    } else {
                        "BAD_CAST"
                    };
                    assert_eq!(*name, Some(expected));
                    assert_eq!(message, "injected failure");
                }
                other => panic!("{api:?} {op}: {other:?}"),
            }
            assert!(!dir.path().join(format!("store-{op}")).exists());
            // The pre-input state was kept or restored: the machine still works.
            assert_eq!(m.root_hash().unwrap(), root, "{api:?} {op}");
            let report = m.advance(&input(b"after"), &ctl()).unwrap();
            assert!(
                matches!(report.outcome, Outcome::Accepted { .. }),
                "{api:?} {op}"
            );
        }
    }
}

#[test]
fn v19_host_refuses_to_feed_a_fixed_point() {
    let dir = scratch();
    let template = stub_template(StubApi::V19, dir.path());
    let mut m = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    let exception = m.advance(&input(b"exception"), &ctl()).unwrap();
    assert_eq!(
        exception.outcome,
        Outcome::Exception(b"test-guest exception".to_vec())
    );
    let again = m
        .advance(&input(b"accepted-by-the-raw-v19-api"), &ctl())
        .unwrap();
    assert!(!again.ran);
    assert_eq!(again.outcome, exception.outcome);
}

/// A raw handle on the 0.21 stub, for checks below the safe layer.
struct Raw {
    api: cartesi_machine_sys::ApiV21,
    m: *mut cm_machine,
}

impl Raw {
    fn load(dir: &Path) -> Raw {
        let Api::V21(api) = *stub_lib(StubApi::V21).api() else {
            unreachable!()
        };
        let dir = CString::new(dir.as_os_str().as_bytes()).unwrap();
        let mut m = ptr::null_mut();
        // SAFETY: valid strings and out-pointer; the handle is deleted in `Drop`.
        let code = unsafe { (api.cm_load_new)(dir.as_ptr(), c"{}".as_ptr(), SHARING_NONE, &mut m) };
        assert_eq!(code, 0);
        Raw { api, m }
    }

    fn root(&self) -> [u8; 32] {
        let mut hash = [0; 32];
        // SAFETY: live handle and a 32-byte buffer.
        assert_eq!(unsafe { (self.api.cm_get_root_hash)(self.m, &mut hash) }, 0);
        hash
    }

    fn send(&self, reason: u16, data: &[u8], hash: Option<&[u8; 32]>) -> i32 {
        let hash = hash.map_or(ptr::null(), |h| h as *const [u8; 32]);
        // SAFETY: live handle; `data` and `hash` are valid for the call.
        unsafe {
            (self.api.cm_send_cmio_response)(self.m, reason, data.as_ptr(), data.len() as u64, hash)
        }
    }

    fn run_to(&self, end: u64) -> u32 {
        let mut reason = 0;
        // SAFETY: live handle; `reason` is a valid out-parameter.
        assert_eq!(unsafe { (self.api.cm_run)(self.m, end, &mut reason) }, 0);
        reason
    }

    fn mcycle(&self) -> u64 {
        let mut value = 0;
        // SAFETY: live handle; `value` is a valid out-parameter.
        assert_eq!(unsafe { (self.api.cm_read_reg)(self.m, 69, &mut value) }, 0);
        value
    }

    fn run(&self) -> u32 {
        let mut reason = 0;
        loop {
            // SAFETY: live handle; `reason` is a valid out-parameter.
            let code = unsafe { (self.api.cm_run)(self.m, u64::MAX, &mut reason) };
            assert_eq!(code, 0);
            if reason != cartesi_machine_sys::BREAK_YIELDED_AUTOMATICALLY {
                return reason;
            }
        }
    }

    fn store(&self, dir: &Path, sharing: u32) -> i32 {
        let dir = CString::new(dir.as_os_str().as_bytes()).unwrap();
        // SAFETY: live handle and a valid path.
        unsafe { (self.api.cm_store)(self.m, dir.as_ptr(), sharing) }
    }
}

impl Drop for Raw {
    fn drop(&mut self) {
        // SAFETY: the handle came from `cm_load_new` and is deleted once.
        unsafe { (self.api.cm_delete)(self.m) }
    }
}

#[test]
fn v21_stub_enforces_the_revert_hash_protocol() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let raw = Raw::load(&template);
    let advance = input(b"hello");
    let root = raw.root();
    assert_eq!(
        raw.send(0, &advance, None),
        -1,
        "advance without a revert hash"
    );
    assert_eq!(
        raw.send(0, &advance, Some(&[7; 32])),
        -1,
        "advance with a wrong revert hash"
    );
    assert_eq!(
        raw.send(1, b"state", Some(&root)),
        -1,
        "inspect with a revert hash"
    );
    assert_eq!(raw.send(0, &input(b"exception"), Some(&root)), 0);
    assert_eq!(raw.run(), cartesi_machine_sys::BREAK_YIELDED_MANUALLY);
    let root = raw.root();
    assert_eq!(
        raw.send(0, &advance, Some(&root)),
        -1,
        "advance at an exception yield"
    );
}

#[test]
fn v21_store_with_sharing_none_writes_the_state_as_loaded() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let raw = Raw::load(&template);
    let loaded = raw.root();
    assert_eq!(raw.send(0, &input(b"change"), Some(&loaded)), 0);
    assert_eq!(raw.run(), cartesi_machine_sys::BREAK_YIELDED_MANUALLY);
    let current = raw.root();
    assert_ne!(current, loaded);
    assert_eq!(raw.store(&dir.path().join("none"), SHARING_NONE), 0);
    assert_eq!(raw.store(&dir.path().join("all"), SHARING_ALL), 0);
    assert_eq!(Raw::load(&dir.path().join("none")).root(), loaded);
    assert_eq!(Raw::load(&dir.path().join("all")).root(), current);
    // Storing into an existing directory fails with RUNTIME_ERROR (-6) on 0.21.
    assert_eq!(raw.store(&dir.path().join("all"), SHARING_ALL), -6);
}

#[test]
fn a_machine_stored_mid_input_is_not_a_checkpoint() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let raw = Raw::load(&template);
    let root = raw.root();
    assert_eq!(raw.send(0, &input(b"x"), Some(&root)), 0);
    let start = raw.mcycle();
    assert_eq!(
        raw.run_to(start + 10),
        cartesi_machine_sys::BREAK_REACHED_TARGET_MCYCLE
    );
    let running = dir.path().join("running");
    assert_eq!(raw.store(&running, SHARING_ALL), 0);
    assert_eq!(
        raw.run_to(start + 1_000),
        cartesi_machine_sys::BREAK_YIELDED_AUTOMATICALLY
    );
    let mid = dir.path().join("mid");
    assert_eq!(raw.store(&mid, SHARING_ALL), 0);
    let backend = stub_backend(StubApi::V21, &dir.path().join("work"));
    for path in [running, mid] {
        let err = backend.load_machine(&path).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Snapshot {
                    reason: SnapshotReason::NotAtInputBoundary,
                    ..
                }
            ),
            "{err:?}"
        );
    }
}

#[test]
fn close_reports_through_cm_destroy() {
    let dir = scratch();
    let template = stub_template(StubApi::V19, dir.path());
    let m = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    let serial = m.debug_serial().unwrap();
    m.close().unwrap();
    assert_eq!(delete_count(StubApi::V19, serial), 1);
}

#[test]
fn store_into_an_existing_directory_is_refused_before_any_c_call() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let mut m = stub_backend(api, &dir.path().join("work"))
            .load_machine(&template)
            .unwrap();
        let existing = dir.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        // An armed failure on cm_store stays armed: the refusal happened without calling C.
        inject(api, m.debug_serial().unwrap(), "cm_store", -6, "armed");
        assert!(matches!(m.store(&existing), Err(Error::AlreadyExists(_))));
        assert!(matches!(
            m.store(&dir.path().join("new")),
            Err(Error::Cm { .. })
        ));
        m.store(&dir.path().join("new")).unwrap();
    }
}

#[test]
fn v19_refuses_shared_backing_stores() {
    let dir = scratch();
    let template = stub_template(StubApi::V19, dir.path());
    let config = template.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let shared = text.replace(r#""nvram":[{"#, r#""nvram":[{"shared":true,"#);
    assert_ne!(text, shared);
    std::fs::write(&config, shared).unwrap();
    let before = bad_deletes(StubApi::V19);
    let err = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap_err();
    assert!(
        matches!(
            &err,
            Error::Snapshot {
                reason: SnapshotReason::SharedBackingStore,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(bad_deletes(StubApi::V19), before);
}

#[test]
fn wrong_archive_version_is_a_snapshot_version_error() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let err = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SnapshotVersion {
                archive_version: 7,
                expected: 5,
                ..
            }
        ),
        "{err:?}"
    );
    let missing = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&dir.path().join("missing"))
        .unwrap_err();
    assert!(matches!(
        missing,
        Error::Snapshot {
            reason: SnapshotReason::Missing(_),
            ..
        }
    ));
}

#[test]
fn non_utf8_paths_work_and_nul_is_invalid() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let backend = stub_backend(api, &dir.path().join("work"));
        let mut m = backend.load_machine(&template).unwrap();
        m.advance(&input(b"one"), &ctl()).unwrap();
        let odd = dir.path().join(OsStr::from_bytes(b"m-\xff"));
        let root = m.store(&odd).unwrap();
        let mut reloaded = backend.load_machine(&odd).unwrap();
        assert_eq!(reloaded.root_hash().unwrap(), root);
        let again = dir.path().join(OsStr::from_bytes(b"n-\xfe"));
        assert_eq!(reloaded.store(&again).unwrap(), root);
        let nul = dir.path().join(OsStr::from_bytes(b"a\0b"));
        assert!(matches!(
            backend.load_machine(&nul),
            Err(Error::InvalidPath(_))
        ));
        assert!(matches!(m.store(&nul), Err(Error::InvalidPath(_))));
    }
}

#[test]
fn a_two_mebibyte_report_comes_through() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let mut m = stub_backend(api, &dir.path().join("work"))
            .load_machine(&template)
            .unwrap();
        let report = m.advance(&input(b"big"), &ctl()).unwrap();
        assert_eq!(report.reports.len(), 1);
        let big = &report.reports[0];
        assert_eq!(big.len(), 2_097_152);
        assert!(big.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        // A smaller cap drops it and says so.
        let capped = RunControl {
            max_collected_bytes: 1024,
            ..ctl()
        };
        let report = m.advance(&input(b"big"), &capped).unwrap();
        assert!(report.truncated && report.reports.is_empty());
    }
}

#[test]
fn outputs_are_collected_and_the_root_is_passed_through() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let mut m = stub_backend(StubApi::V21, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    let first = m.advance(&input(b"plain"), &ctl()).unwrap();
    assert_eq!(
        first.outcome,
        Outcome::Accepted {
            outputs_root: Some(machine::EMPTY_OUTPUTS_ROOT)
        }
    );
    let report = m.advance(&input(b"output-1"), &ctl()).unwrap();
    assert_eq!(report.outputs, vec![b"output-1".to_vec()]);
    assert!(report.mcycles > 0);
    assert!(
        matches!(report.outcome, Outcome::Accepted { outputs_root: Some(r) } if r != machine::EMPTY_OUTPUTS_ROOT)
    );
}

#[test]
fn spinning_exhausts_the_budget_recorded_on_v21_only() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        let backend = stub_backend(api, &dir.path().join("work"));
        let mut m = backend.load_machine(&template).unwrap();
        let one_call = RunControl {
            slice: u64::MAX,
            ..ctl()
        };
        let report = m.advance(&input(b"spin"), &one_call).unwrap();
        assert_eq!(report.outcome, Outcome::CycleBudgetExhausted);
        assert_eq!(report.mcycles, machine::MAX_MCYCLES_PER_INPUT);
        let dest = dir.path().join("spun");
        if api == StubApi::V21 {
            m.store(&dest).unwrap();
            let reloaded = backend.load_machine(&dest).unwrap();
            assert_eq!(
                reloaded.status(),
                &Status::Stuck(Outcome::CycleBudgetExhausted)
            );
        } else {
            assert!(matches!(m.store(&dest), Err(Error::NotStorable { .. })));
        }
    }
}

#[test]
fn generic_io_yields_are_unsupported_fixed_points() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let mut m = stub_backend(StubApi::V21, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    let report = m.advance(&input(b"gio"), &ctl()).unwrap();
    assert_eq!(
        report.outcome,
        Outcome::UnsupportedYield {
            cmd: 1,
            reason: 16,
            data: b"gio".to_vec()
        }
    );
    assert!(report.outcome.is_fixed_point());
}

#[test]
fn a_cancelled_inspect_is_interrupted_and_changes_nothing() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let mut m = stub_backend(StubApi::V21, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    let root = m.root_hash().unwrap();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let ctl = RunControl {
        slice: 100,
        cancel: Some(cancel),
        ..ctl()
    };
    assert!(matches!(m.inspect(b"state", &ctl), Err(Error::Interrupted)));
    assert_eq!(m.root_hash().unwrap(), root);
    let expired = RunControl {
        slice: 100,
        deadline: Some(Instant::now()),
        ..RunControl::default()
    };
    assert!(matches!(
        m.inspect(b"state", &expired),
        Err(Error::Interrupted)
    ));
}

#[test]
fn labeled_ranges_need_exactly_one_match() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let backend = stub_backend(StubApi::V21, &dir.path().join("work"));
    let mut m = backend.load_machine(&template).unwrap();
    assert!(matches!(
        m.read_range("nope", 1 << 30),
        Err(Error::StateRange { matches: 0, .. })
    ));
    assert!(matches!(
        m.read_range("state", 1024),
        Err(Error::StateRange {
            matches: 1,
            length: Some(65_536),
            ..
        })
    ));
    // Two entries with the same label.
    let config = r#"{"nvram":[{"label":"s","start":4096,"length":64},{"label":"s","start":8192,"length":64}]}"#;
    let twice = dir.path().join("twice");
    backend.create_template(config, &twice, &ctl()).unwrap();
    let mut m = backend.load_machine(&twice).unwrap();
    assert!(matches!(
        m.read_range("s", 1 << 30),
        Err(Error::StateRange { matches: 2, .. })
    ));
    // 0.19 has no labels.
    let template = stub_template(StubApi::V19, &dir.path().join("v19"));
    let mut m = stub_backend(StubApi::V19, &dir.path().join("work"))
        .load_machine(&template)
        .unwrap();
    assert!(matches!(
        m.read_range("state", 1 << 30),
        Err(Error::Unsupported { .. })
    ));
}

#[test]
fn template_creation_publishes_a_ready_machine() {
    for api in BOTH {
        let dir = scratch();
        let template = stub_template(api, dir.path());
        assert!(template.join("config.json").exists());
        let m = stub_backend(api, &dir.path().join("work"))
            .load_machine(&template)
            .unwrap();
        assert_eq!(m.status(), &Status::Ready);
        // Only the published directory (and the work area) remain: no temporary leftovers.
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        assert_eq!(names, vec![OsStr::new("template"), OsStr::new("work")]);
    }
}

#[test]
fn scratch_directories_are_cleaned_up() {
    let dir = scratch();
    let template = stub_template(StubApi::V21, dir.path());
    let work = dir.path().join("work");
    let mut m = stub_backend(StubApi::V21, &work)
        .load_machine(&template)
        .unwrap();
    for i in 0..3u8 {
        m.advance(&input(&[b'a' + i]), &ctl()).unwrap();
        query_state(&mut m, b"state", &ctl()).unwrap();
    }
    assert!(std::fs::read_dir(&work).unwrap().count() <= 1);
    drop(m);
    assert_eq!(std::fs::read_dir(&work).unwrap().count(), 0);
}
