//! The contract suite: the same properties against every backend.

mod fixtures;
mod properties;

use std::path::Path;
use std::sync::Arc;

use machine::MachineBackend;

/// Kinds of inputs a fixture can build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum InputKind {
    /// An accepted input that changes the state; the variant picks different content.
    Accept(u8),
    /// A rejected input.
    Reject,
    /// An accepted input that emits exactly one report.
    Report,
    /// An input that makes the guest raise an exception.
    Exception,
    /// An input that makes the guest halt.
    Halt,
    /// An input that never finishes.
    Spin,
}

/// Optional behaviours of a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Capability {
    /// Honors a reduced cycle budget.
    CycleBudget,
    /// Answers the stub-only query words `two` and `none`.
    StubWords,
    /// Has a labeled memory range `state` over the guest state.
    LabeledRange,
}

/// One backend under test.
pub(crate) trait ContractFixture {
    /// For messages.
    fn name(&self) -> &str;
    /// The backend.
    fn backend(&self) -> Arc<dyn MachineBackend>;
    /// A stored machine waiting for its first input.
    fn template(&self) -> &Path;
    /// A directory for store destinations.
    fn scratch(&self) -> &Path;
    /// Full `EvmAdvance` bytes of a kind; `None` if the backend cannot express it.
    fn input(&self, kind: InputKind) -> Option<Vec<u8>>;
    /// The query that reports the state.
    fn state_query(&self) -> &[u8];
    /// The single report an unknown query produces.
    fn unknown_query_report(&self) -> Vec<u8>;
    /// The exit code of a [`InputKind::Halt`] input.
    fn halt_code(&self) -> u32;
    /// Whether an accepted input shows in the state report at once (native direct inputs wait in
    /// the scheduler's queue, which only the root hash covers).
    fn accept_visible_in_state(&self) -> bool {
        true
    }
    /// Whether the backend has a capability.
    fn has(&self, cap: Capability) -> bool;
}

/// Generates one test per property for a fixture constructor.
macro_rules! contract_tests {
    ($module:ident, $fixture:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            fn with(property: fn(&dyn $crate::contract::ContractFixture)) {
                let fixture: Option<Box<dyn $crate::contract::ContractFixture>> = $fixture;
                match fixture {
                    Some(fixture) => property(fixture.as_ref()),
                    None => {}
                }
            }

            #[test]
            fn c01_template_loads_ready_with_stable_root() {
                with($crate::contract::properties::c01_template);
            }
            #[test]
            fn c02_store_load_round_trip() {
                with($crate::contract::properties::c02_round_trip);
            }
            #[test]
            fn c03_accepted_input_changes_state() {
                with($crate::contract::properties::c03_accept);
            }
            #[test]
            fn c04_rejected_input_reverts_exactly() {
                with($crate::contract::properties::c04_reject);
            }
            #[test]
            fn c05_report_input_gives_one_report() {
                with($crate::contract::properties::c05_report);
            }
            #[test]
            fn c06_exception_is_permanent() {
                with($crate::contract::properties::c06_exception);
            }
            #[test]
            fn c07_halt_is_permanent() {
                with($crate::contract::properties::c07_halt);
            }
            #[test]
            fn c08_state_query_changes_nothing() {
                with($crate::contract::properties::c08_query_state);
            }
            #[test]
            fn c09_unknown_query_changes_nothing() {
                with($crate::contract::properties::c09_unknown_query);
            }
            #[test]
            fn c10_twins_stay_equal() {
                with($crate::contract::properties::c10_determinism);
            }
            #[test]
            fn c11_oversized_requests_are_refused() {
                with($crate::contract::properties::c11_sizes);
            }
            #[test]
            fn c12_cycle_budget_is_a_fixed_point() {
                with($crate::contract::properties::c12_budget);
            }
            #[test]
            fn c13_interrupted_advance_restores() {
                with($crate::contract::properties::c13_interrupt);
            }
            #[test]
            fn c14_state_query_report_count() {
                with($crate::contract::properties::c14_report_count);
            }
            #[test]
            fn c15_labeled_range_matches_query() {
                with($crate::contract::properties::c15_range);
            }
        }
    };
}

contract_tests!(stub_v19, fixtures::stub(cartesi_machine_stub::StubApi::V19));
contract_tests!(stub_v21, fixtures::stub(cartesi_machine_stub::StubApi::V21));
contract_tests!(native, fixtures::native());
contract_tests!(scripted, fixtures::scripted_fake());
contract_tests!(real, fixtures::real());
