//! What reverting costs, counted by the stub itself (its per-thread store and load counters) and
//! by the machine's stats: an accepted input stores and loads nothing, a reject loads once and
//! re-runs the journal, and the revert base is refreshed by the bound.

use std::path::Path;
use std::time::Instant;

use cartesi_machine_stub::StubApi;
use machine::{
    CartesiBackend, CartesiMachine, Error, JournalBound, LoadOptions, Machine, MachineStats,
    Outcome, RunControl, Status, query_state,
};

use crate::common::{ctl, input, scratch, stub_io, stub_lib, stub_template};

const BOTH: [StubApi; 2] = [StubApi::V19, StubApi::V21];

/// A machine on the template of `api` in `dir`, with journal bound `bound`.
fn machine(api: StubApi, dir: &Path, bound: JournalBound) -> CartesiMachine {
    let template = stub_template(api, dir);
    let options = LoadOptions::new(dir.join("work")).with_journal(bound);
    CartesiBackend::new(stub_lib(api), options)
        .load_machine(&template)
        .expect("template loads")
}

fn accept(m: &mut CartesiMachine, n: u32) {
    for i in 0..n {
        let report = m.advance(&input(format!("accept-{i}").as_bytes()), &ctl());
        assert!(
            matches!(report.unwrap().outcome, Outcome::Accepted { .. }),
            "input {i}"
        );
    }
}

/// Rejects one input and checks it was undone exactly.
fn reject(m: &mut CartesiMachine) {
    let root = m.root_hash().unwrap();
    let report = m.advance(&input(b"reject"), &ctl()).unwrap();
    assert_eq!(report.outcome, Outcome::Rejected);
    assert_eq!(m.root_hash().unwrap(), root);
    assert_eq!(m.status(), &Status::Ready);
}

/// What the stub and the machine counted while `f` ran: (stores, loads) from the stub, and the
/// machine's stats delta.
fn counted(
    api: StubApi,
    m: &mut CartesiMachine,
    f: impl FnOnce(&mut CartesiMachine),
) -> ((u64, u64), MachineStats) {
    let (stores, loads) = stub_io(api);
    let before = m.stats();
    f(m);
    let (stores_after, loads_after) = stub_io(api);
    let after = m.stats();
    let delta = MachineStats {
        inputs: after.inputs - before.inputs,
        accepted: after.accepted - before.accepted,
        rejected: after.rejected - before.rejected,
        stores: after.stores - before.stores,
        loads: after.loads - before.loads,
        replayed: after.replayed - before.replayed,
        busy: after.busy.saturating_sub(before.busy),
    };
    // The machine's own counters agree with the library's.
    assert_eq!(
        (delta.stores, delta.loads),
        (stores_after - stores, loads_after - loads)
    );
    ((stores_after - stores, loads_after - loads), delta)
}

#[test]
fn an_accepted_input_costs_no_store_and_no_load() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        let (io, stats) = counted(api, &mut m, |m| accept(m, 50));
        assert_eq!(io, (0, 0), "{api:?}");
        assert_eq!((stats.inputs, stats.accepted), (50, 50));
        assert!(!stats.busy.is_zero());
        assert_eq!(m.stats().loads, 1, "only the template was loaded");
    }
}

#[test]
fn a_reject_costs_one_load_plus_the_journal_replay() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        accept(&mut m, 5);
        // One load, the 5 journal inputs re-run, and a new base stored there.
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!(io, (1, 1), "{api:?}");
        assert_eq!((stats.replayed, stats.rejected), (5, 1));
        // The new base holds those 5: the next reject re-runs only what came after.
        accept(&mut m, 3);
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((1, 1), 3), "{api:?}");
        // Right after a base, a reject is one load and nothing else.
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((0, 1), 0), "{api:?}");
        // A twin that never saw the rejects agrees.
        let mut twin = machine(api, &dir.path().join("twin"), JournalBound::DEFAULT);
        accept(&mut twin, 5);
        accept(&mut twin, 3);
        assert_eq!(twin.root_hash().unwrap(), m.root_hash().unwrap());
    }
}

#[test]
fn the_base_is_refreshed_when_the_journal_reaches_its_bound() {
    let by_inputs = JournalBound {
        inputs: 3,
        ..JournalBound::DEFAULT
    };
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), by_inputs);
        let (io, _) = counted(api, &mut m, |m| accept(m, 3));
        assert_eq!(io, (0, 0), "{api:?}");
        // The fourth input finds 3 in the journal: one store before it.
        let (io, _) = counted(api, &mut m, |m| accept(m, 1));
        assert_eq!(io, (1, 0), "{api:?}");
        accept(&mut m, 1);
        // A reject re-runs what came after that base only.
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((1, 1), 2), "{api:?}");
        // A reject that finds the journal at its bound stores the base first: nothing to re-run.
        accept(&mut m, 3);
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((1, 1), 0), "{api:?}");
    }
    // Cycles and bytes bound it too: one stub input costs thousands of mcycles and hundreds of
    // bytes, so these bounds store a base after every accepted input.
    let tiny = [
        JournalBound {
            mcycles: 1,
            ..JournalBound::DEFAULT
        },
        JournalBound {
            bytes: 1,
            ..JournalBound::DEFAULT
        },
    ];
    for bound in tiny {
        for api in BOTH {
            let dir = scratch();
            let mut m = machine(api, dir.path(), bound);
            let (io, _) = counted(api, &mut m, |m| accept(m, 4));
            assert_eq!(io, (3, 0), "{api:?} {bound:?}");
            // The reject too finds an input in the journal: a store, then nothing to re-run.
            let (io, stats) = counted(api, &mut m, reject);
            assert_eq!((io, stats.replayed), ((1, 1), 0), "{api:?} {bound:?}");
        }
    }
}

#[test]
fn an_interrupted_advance_replays_the_journal() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        accept(&mut m, 4);
        let root = m.root_hash().unwrap();
        let expired = RunControl {
            slice: 10_000,
            deadline: Some(Instant::now()),
            ..ctl()
        };
        let (io, stats) = counted(api, &mut m, |m| {
            assert!(matches!(
                m.advance(&input(b"spin"), &expired),
                Err(Error::Interrupted)
            ));
        });
        assert_eq!((io, stats.replayed, stats.inputs), ((1, 1), 4, 0));
        assert_eq!(m.root_hash().unwrap(), root);
        accept(&mut m, 1);
    }
}

#[test]
fn an_inspect_stores_a_base_only_when_the_journal_holds_inputs() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        // Straight after the load the loaded directory is the base: one load, for the copy.
        let (io, _) = counted(api, &mut m, |m| {
            query_state(m, b"state", &ctl()).unwrap();
        });
        assert_eq!(io, (0, 1), "{api:?}");
        accept(&mut m, 3);
        let (io, _) = counted(api, &mut m, |m| {
            query_state(m, b"state", &ctl()).unwrap();
            query_state(m, b"state", &ctl()).unwrap();
        });
        assert_eq!(io, (1, 2), "{api:?}");
        // That base serves a later reject: nothing to re-run.
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((0, 1), 0), "{api:?}");
    }
}

#[test]
fn a_base_moved_away_before_the_next_input_is_replaced() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        accept(&mut m, 2);
        let stored = dir.path().join("stored");
        m.store(&stored).unwrap();
        std::fs::rename(&stored, dir.path().join("moved")).unwrap();
        // The first input after the move stores a scratch base; a reject then reloads that.
        let (io, _) = counted(api, &mut m, |m| accept(m, 1));
        assert_eq!(io, (1, 0), "{api:?}");
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((1, 1), 1), "{api:?}");
    }
}

#[test]
fn a_failed_refresh_keeps_the_journal_as_the_way_back() {
    for api in BOTH {
        let dir = scratch();
        let bound = JournalBound {
            inputs: 2,
            ..JournalBound::DEFAULT
        };
        let mut m = machine(api, dir.path(), bound);
        accept(&mut m, 2);
        for _ in 0..2 {
            crate::ffi::inject(api, m.debug_serial().unwrap(), "cm_store", -6, "disk full");
        }
        // The refresh before the third input fails; the input goes on, the journal grows.
        let (io, stats) = counted(api, &mut m, |m| accept(m, 1));
        assert_eq!((io, stats.accepted), ((0, 0), 1), "{api:?}");
        // So does the one before the reject, which re-runs all three, then stores a base.
        let (io, stats) = counted(api, &mut m, reject);
        assert_eq!((io, stats.replayed), ((1, 1), 3), "{api:?}");
    }
}

#[test]
fn a_vanished_base_that_cannot_be_replaced_fails_the_input_and_changes_nothing() {
    for api in BOTH {
        let dir = scratch();
        let mut m = machine(api, dir.path(), JournalBound::DEFAULT);
        let stored = dir.path().join("stored");
        m.store(&stored).unwrap();
        std::fs::remove_dir_all(&stored).unwrap();
        let root = m.root_hash().unwrap();
        crate::ffi::inject(api, m.debug_serial().unwrap(), "cm_store", -6, "disk full");
        let err = m.advance(&input(b"one"), &ctl()).unwrap_err();
        assert!(matches!(err, Error::Cm { op: "cm_store", .. }), "{err:?}");
        assert!(!m.is_poisoned());
        assert_eq!(m.root_hash().unwrap(), root);
        accept(&mut m, 1);
        reject(&mut m);
    }
}
