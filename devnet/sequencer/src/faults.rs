//! Fault modes for divergence drills (`devnet.md` §5.3).
//!
//! A fault changes only what the sequencer *serves* (its finalized replica and its HTTP
//! answers), never what it posts to L1 or reads from it, so a watchdog that recomputes the state from L1 sees
//! the difference. Faults are written as specs such as `tamper-state`, `drop-deposit:2` or
//! `slow:500:finalized`; [`Fault`] parses and prints them.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Routes a delay or unavailability fault applies to: a comma-separated list of groups
/// (`finalized`, `user`, `health`, `all`) and exact paths (`/fee`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routes(Vec<String>);

impl Routes {
    /// The finalized-state routes (the default).
    pub fn finalized() -> Self {
        Self(vec!["finalized".to_owned()])
    }

    /// Whether `path` is selected.
    pub fn matches(&self, path: &str) -> bool {
        self.0.iter().any(|item| match item.as_str() {
            "all" => true,
            "finalized" => path == "/finalized_state" || path.starts_with("/finalized_state/"),
            "user" => matches!(path, "/tx" | "/fee" | "/nonce" | "/domain"),
            "health" => matches!(path, "/livez" | "/readyz" | "/healthz"),
            exact => exact == path,
        })
    }
}

impl FromStr for Routes {
    type Err = FaultSpecError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let items: Vec<String> = s.split(',').map(|item| item.trim().to_owned()).collect();
        for item in &items {
            let group = matches!(item.as_str(), "all" | "finalized" | "user" | "health");
            if !group && !item.starts_with('/') {
                return Err(FaultSpecError(format!(
                    "route {item:?} is neither a group (all, finalized, user, health) nor a path"
                )));
            }
        }
        Ok(Self(items))
    }
}

impl fmt::Display for Routes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(","))
    }
}

/// One armed fault. Counted faults (`drop-deposit`, `skip-op`) disarm themselves once used up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// `tamper-state[:OFF]`: flip byte `OFF` (default: the last) of the served finalized bytes;
    /// the digest route hashes the tampered bytes.
    TamperState {
        /// Byte offset, taken modulo the length.
        offset: Option<usize>,
    },
    /// `tamper-body[:OFF]`: flip a byte of the `/finalized_state` body only; the digest stays
    /// honest.
    TamperBody {
        /// Byte offset, taken modulo the length.
        offset: Option<usize>,
    },
    /// `drop-deposit[:N]`: the replica skips the next `N` (default 1) ERC-20 portal inputs.
    DropDeposit {
        /// Deposits still to drop.
        remaining: u64,
    },
    /// `wrong-fee[:D]`: the replica executes own batches with frame fee `F + D` (default 1).
    WrongFee {
        /// Exponent steps added to every frame fee.
        delta: u16,
    },
    /// `skip-op[:N]`: the replica leaves out the next `N` (default 1) user ops of own batches.
    SkipOp {
        /// Ops still to skip.
        remaining: u64,
    },
    /// `regress-inclusion[:K]`: finalized routes serve the checkpoint `K` (default 1) accepted
    /// batches back (genesis if there is none).
    RegressInclusion {
        /// Checkpoints to go back.
        back: usize,
    },
    /// `unavailable[:ROUTES]`: answer `503 UNAVAILABLE` (default: the finalized routes).
    Unavailable {
        /// Affected routes.
        routes: Routes,
    },
    /// `slow:MS[:ROUTES]`: delay answers by `MS` milliseconds (default: the finalized routes).
    Slow {
        /// The delay in milliseconds.
        millis: u64,
        /// Affected routes.
        routes: Routes,
    },
    /// `stall[:ROUTES]`: never answer while armed (default: the finalized routes).
    Stall {
        /// Affected routes.
        routes: Routes,
    },
    /// `freeze-finalized`: the finalized routes keep serving the checkpoint that was current
    /// when the fault was armed, while the sequencer keeps reading L1, sealing and posting: a
    /// sequencer that stopped finalizing (the watchdog's liveness drill).
    FreezeFinalized {
        /// How many checkpoints the history held when armed (set when armed).
        checkpoints: Option<usize>,
    },
}

/// A fault spec that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad fault spec: {0}")]
pub struct FaultSpecError(pub String);

fn number<T: FromStr>(kind: &str, arg: &str) -> Result<T, FaultSpecError> {
    arg.parse()
        .map_err(|_| FaultSpecError(format!("{kind}: {arg:?} is not a number")))
}

impl FromStr for Fault {
    type Err = FaultSpecError;

    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let spec = spec.trim();
        let (kind, arg) = match spec.split_once(':') {
            Some((kind, arg)) => (kind, Some(arg)),
            None => (spec, None),
        };
        let routes = |arg: Option<&str>| arg.map_or_else(|| Ok(Routes::finalized()), str::parse);
        let fault = match kind {
            "tamper-state" => Fault::TamperState {
                offset: arg.map(|a| number(kind, a)).transpose()?,
            },
            "tamper-body" => Fault::TamperBody {
                offset: arg.map(|a| number(kind, a)).transpose()?,
            },
            "drop-deposit" => Fault::DropDeposit {
                remaining: arg.map_or(Ok(1), |a| number(kind, a))?,
            },
            "wrong-fee" => Fault::WrongFee {
                delta: arg.map_or(Ok(1), |a| number(kind, a))?,
            },
            "skip-op" => Fault::SkipOp {
                remaining: arg.map_or(Ok(1), |a| number(kind, a))?,
            },
            "regress-inclusion" => Fault::RegressInclusion {
                back: arg.map_or(Ok(1), |a| number(kind, a))?,
            },
            "unavailable" => Fault::Unavailable {
                routes: routes(arg)?,
            },
            "stall" => Fault::Stall {
                routes: routes(arg)?,
            },
            "freeze-finalized" => match arg {
                None => Fault::FreezeFinalized { checkpoints: None },
                Some(arg) => {
                    return Err(FaultSpecError(format!(
                        "freeze-finalized takes no argument, got {arg:?}"
                    )));
                }
            },
            "slow" => {
                let arg = arg.ok_or_else(|| FaultSpecError("slow needs :MS".to_owned()))?;
                let (millis, rest) = match arg.split_once(':') {
                    Some((millis, rest)) => (millis, Some(rest)),
                    None => (arg, None),
                };
                Fault::Slow {
                    millis: number(kind, millis)?,
                    routes: routes(rest)?,
                }
            }
            other => {
                return Err(FaultSpecError(format!(
                    "unknown fault {other:?} (tamper-state, tamper-body, drop-deposit, wrong-fee, \
                     skip-op, regress-inclusion, unavailable, slow, stall, freeze-finalized)"
                )));
            }
        };
        let zero = matches!(
            fault,
            Fault::DropDeposit { remaining: 0 }
                | Fault::SkipOp { remaining: 0 }
                | Fault::WrongFee { delta: 0 }
        );
        if zero {
            return Err(FaultSpecError(format!(
                "{spec}: the count must be positive"
            )));
        }
        Ok(fault)
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Fault::TamperState { offset: None } => f.write_str("tamper-state"),
            Fault::TamperState { offset: Some(o) } => write!(f, "tamper-state:{o}"),
            Fault::TamperBody { offset: None } => f.write_str("tamper-body"),
            Fault::TamperBody { offset: Some(o) } => write!(f, "tamper-body:{o}"),
            Fault::DropDeposit { remaining } => write!(f, "drop-deposit:{remaining}"),
            Fault::WrongFee { delta } => write!(f, "wrong-fee:{delta}"),
            Fault::SkipOp { remaining } => write!(f, "skip-op:{remaining}"),
            Fault::RegressInclusion { back } => write!(f, "regress-inclusion:{back}"),
            Fault::Unavailable { routes } => write!(f, "unavailable:{routes}"),
            Fault::Slow { millis, routes } => write!(f, "slow:{millis}:{routes}"),
            Fault::Stall { routes } => write!(f, "stall:{routes}"),
            Fault::FreezeFinalized { .. } => f.write_str("freeze-finalized"),
        }
    }
}

/// How a request must be held back before it is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hold {
    /// Sleep this long.
    Delay(Duration),
    /// Wait until the faults change.
    Stall,
}

/// The armed faults.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct FaultSet {
    faults: Vec<Fault>,
}

impl FaultSet {
    pub(crate) fn new(faults: Vec<Fault>) -> Self {
        Self { faults }
    }

    pub(crate) fn list(&self) -> &[Fault] {
        &self.faults
    }

    pub(crate) fn replace(&mut self, faults: Vec<Fault>) {
        self.faults = faults;
    }

    pub(crate) fn add(&mut self, faults: Vec<Fault>) {
        self.faults.extend(faults);
    }

    /// Whether the next portal deposit must be dropped; consumes one count.
    pub(crate) fn take_drop_deposit(&mut self) -> bool {
        self.take_count(|fault| match fault {
            Fault::DropDeposit { remaining } => Some(remaining),
            _ => None,
        })
    }

    /// Whether the next user op must be skipped; consumes one count.
    pub(crate) fn take_skip_op(&mut self) -> bool {
        self.take_count(|fault| match fault {
            Fault::SkipOp { remaining } => Some(remaining),
            _ => None,
        })
    }

    fn take_count(&mut self, mut counter: impl FnMut(&mut Fault) -> Option<&mut u64>) -> bool {
        let Some(position) = self.faults.iter_mut().position(|f| counter(f).is_some()) else {
            return false;
        };
        let remaining = counter(&mut self.faults[position]);
        let exhausted = match remaining {
            Some(count) => {
                *count = count.saturating_sub(1);
                *count == 0
            }
            None => false,
        };
        if exhausted {
            self.faults.remove(position);
        }
        true
    }

    /// The frame-fee delta the replica applies to own batches (0 when not armed).
    pub(crate) fn fee_delta(&self) -> u16 {
        self.faults
            .iter()
            .map(|fault| match fault {
                Fault::WrongFee { delta } => *delta,
                _ => 0,
            })
            .fold(0, u16::saturating_add)
    }

    /// How many checkpoints back the finalized routes serve.
    pub(crate) fn regress(&self) -> usize {
        self.faults
            .iter()
            .map(|fault| match fault {
                Fault::RegressInclusion { back } => *back,
                _ => 0,
            })
            .fold(0, usize::saturating_add)
    }

    /// Pins every newly armed `freeze-finalized` to the current checkpoint: the history holds
    /// `checkpoints` entries now.
    pub(crate) fn pin_frozen(&mut self, checkpoints: usize) {
        for fault in &mut self.faults {
            if let Fault::FreezeFinalized {
                checkpoints: at @ None,
            } = fault
            {
                *at = Some(checkpoints);
            }
        }
    }

    /// With `freeze-finalized` armed, how many checkpoints the history held when it was armed
    /// (the finalized routes serve as if no later one existed).
    pub(crate) fn frozen(&self) -> Option<usize> {
        self.faults.iter().find_map(|fault| match fault {
            Fault::FreezeFinalized { checkpoints } => *checkpoints,
            _ => None,
        })
    }

    /// `Some(offset)` when the served finalized bytes are tampered (offset `None` = last byte).
    pub(crate) fn tamper_state(&self) -> Option<Option<usize>> {
        self.faults.iter().find_map(|fault| match fault {
            Fault::TamperState { offset } => Some(*offset),
            _ => None,
        })
    }

    /// `Some(offset)` when the `/finalized_state` body alone is tampered.
    pub(crate) fn tamper_body(&self) -> Option<Option<usize>> {
        self.faults.iter().find_map(|fault| match fault {
            Fault::TamperBody { offset } => Some(*offset),
            _ => None,
        })
    }

    /// Whether `path` must answer 503.
    pub(crate) fn unavailable(&self, path: &str) -> bool {
        self.faults
            .iter()
            .any(|fault| matches!(fault, Fault::Unavailable { routes } if routes.matches(path)))
    }

    /// How `path` must be held back, if at all (a stall wins over delays; delays add up).
    pub(crate) fn hold(&self, path: &str) -> Option<Hold> {
        let mut delay = Duration::ZERO;
        for fault in &self.faults {
            match fault {
                Fault::Stall { routes } if routes.matches(path) => return Some(Hold::Stall),
                Fault::Slow { millis, routes } if routes.matches(path) => {
                    delay += Duration::from_millis(*millis);
                }
                _ => {}
            }
        }
        (!delay.is_zero()).then_some(Hold::Delay(delay))
    }
}

/// Flips (inverts) one byte of `bytes`: `offset` modulo the length, or the last byte.
pub(crate) fn flip_byte(bytes: &mut [u8], offset: Option<usize>) {
    if bytes.is_empty() {
        return;
    }
    let at = offset.map_or(bytes.len() - 1, |o| o % bytes.len());
    bytes[at] ^= 0xff;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_round_trip() {
        for spec in [
            "tamper-state",
            "tamper-state:3",
            "tamper-body",
            "drop-deposit:2",
            "wrong-fee:1",
            "skip-op:1",
            "regress-inclusion:1",
            "unavailable:finalized",
            "unavailable:all",
            "slow:250:finalized,/fee",
            "stall:user",
            "freeze-finalized",
        ] {
            let fault: Fault = spec.parse().unwrap();
            assert_eq!(fault.to_string(), spec);
        }
        assert_eq!(
            "drop-deposit".parse::<Fault>().unwrap(),
            Fault::DropDeposit { remaining: 1 }
        );
        assert_eq!(
            "slow:10".parse::<Fault>().unwrap(),
            Fault::Slow {
                millis: 10,
                routes: Routes::finalized()
            }
        );
        for bad in [
            "",
            "nope",
            "slow",
            "slow:x",
            "skip-op:0",
            "unavailable:fee",
            "wrong-fee:-1",
            "freeze-finalized:3",
        ] {
            assert!(bad.parse::<Fault>().is_err(), "{bad}");
        }
    }

    #[test]
    fn counted_faults_disarm_when_used_up() {
        let mut set = FaultSet::new(vec![
            "drop-deposit:2".parse().unwrap(),
            "wrong-fee:3".parse().unwrap(),
        ]);
        assert!(!set.take_skip_op());
        assert!(set.take_drop_deposit());
        assert!(set.take_drop_deposit());
        assert!(!set.take_drop_deposit());
        assert_eq!(set.list(), &[Fault::WrongFee { delta: 3 }]);
        assert_eq!(set.fee_delta(), 3);
    }

    #[test]
    fn holds_and_routes() {
        let set = FaultSet::new(vec![
            "slow:100".parse().unwrap(),
            "slow:50:all".parse().unwrap(),
            "unavailable:/fee".parse().unwrap(),
        ]);
        assert_eq!(
            set.hold("/finalized_state/digest"),
            Some(Hold::Delay(Duration::from_millis(150)))
        );
        assert_eq!(
            set.hold("/tx"),
            Some(Hold::Delay(Duration::from_millis(50)))
        );
        assert!(set.unavailable("/fee"));
        assert!(!set.unavailable("/finalized_state"));
        let mut bytes = [1u8, 2, 3];
        flip_byte(&mut bytes, None);
        assert_eq!(bytes, [1, 2, 0xfc]);
        flip_byte(&mut bytes, Some(4));
        assert_eq!(bytes, [1, 0xfd, 0xfc]);
    }

    #[test]
    fn freeze_finalized_pins_the_checkpoint_current_when_armed() {
        let mut set = FaultSet::new(vec!["freeze-finalized".parse().unwrap()]);
        assert_eq!(set.frozen(), None, "not pinned before it is armed");
        set.pin_frozen(3);
        assert_eq!(set.frozen(), Some(3));
        // Arming more faults later keeps the first pin.
        set.add(vec!["slow:1".parse().unwrap()]);
        set.pin_frozen(7);
        assert_eq!(set.frozen(), Some(3));
        assert_eq!(set.list()[0].to_string(), "freeze-finalized");
        set.replace(Vec::new());
        assert_eq!(set.frozen(), None);
    }
}
