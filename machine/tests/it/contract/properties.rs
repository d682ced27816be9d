//! The contract properties C1–C15.

use std::path::PathBuf;
use std::time::Instant;

use machine::{
    CMIO_BUFFER_LEN, Error, Machine, Outcome, RunControl, StateQueryError, Status, query_state,
};

use super::{Capability, ContractFixture, InputKind};
use crate::common::ctl;

fn load(f: &dyn ContractFixture) -> Box<dyn Machine> {
    f.backend()
        .load(f.template())
        .unwrap_or_else(|e| panic!("{}: load: {e}", f.name()))
}

fn state(f: &dyn ContractFixture, m: &mut dyn Machine) -> Vec<u8> {
    query_state(m, f.state_query(), &ctl()).unwrap_or_else(|e| panic!("{}: state: {e}", f.name()))
}

fn need(f: &dyn ContractFixture, kind: InputKind) -> Option<Vec<u8>> {
    let input = f.input(kind);
    if input.is_none() {
        eprintln!("note: {} has no {kind:?} input; property skipped", f.name());
    }
    input
}

fn need_cap(f: &dyn ContractFixture, cap: Capability) -> bool {
    let has = f.has(cap);
    if !has {
        eprintln!("note: {} lacks {cap:?}; property skipped", f.name());
    }
    has
}

fn dest(f: &dyn ContractFixture, name: &str) -> PathBuf {
    f.scratch().join(name)
}

fn accept(f: &dyn ContractFixture, m: &mut dyn Machine, v: u8) {
    let input = f
        .input(InputKind::Accept(v))
        .expect("every backend accepts");
    let report = m.advance(&input, &ctl()).expect("advance");
    assert!(
        matches!(report.outcome, Outcome::Accepted { .. }),
        "{}: {report:?}",
        f.name()
    );
    assert!(report.ran);
}

pub(crate) fn c01_template(f: &dyn ContractFixture) {
    let mut a = load(f);
    let mut b = load(f);
    assert_eq!(a.status(), &Status::Ready, "{}", f.name());
    let root = a.root_hash().unwrap();
    assert_eq!(a.root_hash().unwrap(), root);
    assert_eq!(b.root_hash().unwrap(), root);
}

pub(crate) fn c02_round_trip(f: &dyn ContractFixture) {
    let mut m = load(f);
    accept(f, m.as_mut(), 1);
    let before = state(f, m.as_mut());
    let target = dest(f, "c02");
    let root = m.store(&target).unwrap();
    assert_eq!(m.root_hash().unwrap(), root);
    let mut reloaded = f.backend().load(&target).unwrap();
    assert_eq!(reloaded.root_hash().unwrap(), root);
    assert_eq!(state(f, reloaded.as_mut()), before);
    // A second store to the same path is refused and leaves it untouched.
    let listing = |p: &PathBuf| {
        let mut names: Vec<_> = std::fs::read_dir(p)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        names.sort();
        names
    };
    let files = listing(&target);
    assert!(matches!(m.store(&target), Err(Error::AlreadyExists(_))));
    assert_eq!(listing(&target), files);
    assert_eq!(
        f.backend().load(&target).unwrap().root_hash().unwrap(),
        root
    );
}

pub(crate) fn c03_accept(f: &dyn ContractFixture) {
    let mut m = load(f);
    let before = state(f, m.as_mut());
    let root = m.root_hash().unwrap();
    accept(f, m.as_mut(), 3);
    assert_eq!(m.status(), &Status::Ready);
    if f.accept_visible_in_state() {
        assert_ne!(state(f, m.as_mut()), before, "{}", f.name());
    }
    assert_ne!(m.root_hash().unwrap(), root);
}

pub(crate) fn c04_reject(f: &dyn ContractFixture) {
    let Some(reject) = need(f, InputKind::Reject) else {
        return;
    };
    let mut m = load(f);
    let mut twin = load(f);
    let root = m.root_hash().unwrap();
    let before = state(f, m.as_mut());
    let report = m.advance(&reject, &ctl()).unwrap();
    assert_eq!(report.outcome, Outcome::Rejected);
    assert!(report.ran);
    assert_eq!(m.status(), &Status::Ready);
    assert_eq!(m.root_hash().unwrap(), root);
    assert_eq!(state(f, m.as_mut()), before);
    accept(f, m.as_mut(), 4);
    accept(f, twin.as_mut(), 4);
    assert_eq!(m.root_hash().unwrap(), twin.root_hash().unwrap());
}

pub(crate) fn c05_report(f: &dyn ContractFixture) {
    let Some(input) = need(f, InputKind::Report) else {
        return;
    };
    let mut m = load(f);
    let report = m.advance(&input, &ctl()).unwrap();
    assert!(
        matches!(report.outcome, Outcome::Accepted { .. }),
        "{report:?}"
    );
    assert_eq!(report.reports.len(), 1, "{}: {report:?}", f.name());
}

fn permanence(f: &dyn ContractFixture, kind: InputKind, check: fn(&Outcome, u32) -> bool) {
    let Some(input) = need(f, kind) else { return };
    let mut m = load(f);
    let report = m.advance(&input, &ctl()).unwrap();
    assert!(
        check(&report.outcome, f.halt_code()),
        "{}: {report:?}",
        f.name()
    );
    assert!(report.outcome.is_fixed_point() && report.ran);
    let outcome = report.outcome;
    assert_eq!(m.status(), &Status::Stuck(outcome.clone()));
    let root = m.root_hash().unwrap();
    let next = f.input(InputKind::Accept(1)).unwrap();
    let again = m.advance(&next, &ctl()).unwrap();
    assert_eq!(again.outcome, outcome);
    assert!(!again.ran && again.mcycles == 0 && again.outputs.is_empty());
    assert!(matches!(
        m.inspect(f.state_query(), &ctl()),
        Err(Error::NotAccepting { .. })
    ));
    assert_eq!(m.root_hash().unwrap(), root);
    let target = dest(f, "stuck");
    assert_eq!(m.store(&target).unwrap(), root);
    let reloaded = f.backend().load(&target).unwrap();
    assert_eq!(reloaded.status(), &Status::Stuck(outcome));
}

pub(crate) fn c06_exception(f: &dyn ContractFixture) {
    permanence(
        f,
        InputKind::Exception,
        |o, _| matches!(o, Outcome::Exception(d) if !d.is_empty()),
    );
}

pub(crate) fn c07_halt(f: &dyn ContractFixture) {
    permanence(f, InputKind::Halt, |o, code| *o == Outcome::Halted(code));
}

pub(crate) fn c08_query_state(f: &dyn ContractFixture) {
    let mut m = load(f);
    let mut twin = load(f);
    let root = m.root_hash().unwrap();
    let first = state(f, m.as_mut());
    assert!(!first.is_empty());
    assert_eq!(m.root_hash().unwrap(), root);
    assert_eq!(state(f, m.as_mut()), first);
    accept(f, m.as_mut(), 8);
    accept(f, twin.as_mut(), 8);
    assert_eq!(m.root_hash().unwrap(), twin.root_hash().unwrap());
}

pub(crate) fn c09_unknown_query(f: &dyn ContractFixture) {
    let mut m = load(f);
    let root = m.root_hash().unwrap();
    let report = m.inspect(b"no-such-query", &ctl()).unwrap();
    assert!(matches!(report.outcome, Outcome::Accepted { .. }));
    assert_eq!(report.reports, vec![f.unknown_query_report()]);
    assert_eq!(m.root_hash().unwrap(), root);
    assert_eq!(m.status(), &Status::Ready);
}

pub(crate) fn c10_determinism(f: &dyn ContractFixture) {
    let mut a = load(f);
    let mut b = load(f);
    let kinds = [
        InputKind::Accept(1),
        InputKind::Report,
        InputKind::Reject,
        InputKind::Accept(2),
        InputKind::Accept(1),
    ];
    for kind in kinds {
        let Some(input) = f.input(kind) else { continue };
        let ra = a.advance(&input, &ctl()).unwrap();
        let rb = b.advance(&input, &ctl()).unwrap();
        assert_eq!(ra, rb, "{}: {kind:?}", f.name());
        assert_eq!(
            a.root_hash().unwrap(),
            b.root_hash().unwrap(),
            "{}: {kind:?}",
            f.name()
        );
    }
}

pub(crate) fn c11_sizes(f: &dyn ContractFixture) {
    let mut m = load(f);
    let root = m.root_hash().unwrap();
    let huge = vec![0u8; CMIO_BUFFER_LEN + 1];
    assert!(
        matches!(m.advance(&huge, &ctl()), Err(Error::InputTooLarge { len }) if len == huge.len())
    );
    assert!(matches!(
        m.inspect(&huge, &ctl()),
        Err(Error::QueryTooLarge { .. })
    ));
    assert_eq!(m.root_hash().unwrap(), root);
    assert_eq!(m.status(), &Status::Ready);
    accept(f, m.as_mut(), 11);
}

pub(crate) fn c12_budget(f: &dyn ContractFixture) {
    if !need_cap(f, Capability::CycleBudget) {
        return;
    }
    let mut m = load(f);
    let tight = RunControl {
        cycle_budget: 1,
        ..ctl()
    };
    let input = f.input(InputKind::Accept(12)).unwrap();
    let report = m.advance(&input, &tight).unwrap();
    assert_eq!(report.outcome, Outcome::CycleBudgetExhausted);
    let again = m.advance(&input, &ctl()).unwrap();
    assert_eq!(again.outcome, Outcome::CycleBudgetExhausted);
    assert!(!again.ran);
    assert!(matches!(
        m.store(&dest(f, "c12")),
        Err(Error::NotStorable { .. })
    ));
    assert!(!dest(f, "c12").exists());
}

pub(crate) fn c13_interrupt(f: &dyn ContractFixture) {
    let Some(spin) = need(f, InputKind::Spin) else {
        return;
    };
    let mut m = load(f);
    let root = m.root_hash().unwrap();
    let expired = RunControl {
        slice: 10_000,
        deadline: Some(Instant::now()),
        ..ctl()
    };
    assert!(matches!(
        m.advance(&spin, &expired),
        Err(Error::Interrupted)
    ));
    assert_eq!(m.status(), &Status::Ready);
    assert_eq!(m.root_hash().unwrap(), root);
    accept(f, m.as_mut(), 13);
}

pub(crate) fn c14_report_count(f: &dyn ContractFixture) {
    if !need_cap(f, Capability::StubWords) {
        return;
    }
    let mut m = load(f);
    let root = m.root_hash().unwrap();
    assert!(matches!(
        query_state(m.as_mut(), b"two", &ctl()),
        Err(Error::StateQuery(StateQueryError::MultipleReports(2)))
    ));
    assert!(matches!(
        query_state(m.as_mut(), b"none", &ctl()),
        Err(Error::StateQuery(StateQueryError::NoReport))
    ));
    assert_eq!(m.root_hash().unwrap(), root);
}

pub(crate) fn c15_range(f: &dyn ContractFixture) {
    if !need_cap(f, Capability::LabeledRange) {
        return;
    }
    let mut m = load(f);
    accept(f, m.as_mut(), 15);
    let root = m.root_hash().unwrap();
    let queried = state(f, m.as_mut());
    let range = m.read_range("state", 1 << 30).unwrap();
    assert_eq!(range.len(), 65_536);
    assert_eq!(&range[..queried.len()], queried.as_slice());
    assert_eq!(m.root_hash().unwrap(), root);
}
