//! [`Caps`] and [`Backend`].

use std::fmt;
use std::ops::BitOr;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};

/// What a deployment can do (spec `devnet.md` §2), as a bit set. A scenario needing a
/// capability the deployment lacks is skipped, never passed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Caps(u16);

impl Caps {
    /// No capability.
    pub const NONE: Caps = Caps(0);
    /// A real EVM with the Rollups contracts (portals, tokens, `eth_call` of anything).
    pub const EVM: Caps = Caps(1);
    /// Mining on demand.
    pub const MINING: Caps = Caps(1 << 1);
    /// Reorgs, snapshots and reverts.
    pub const REORG: Caps = Caps(1 << 2);
    /// Stopping and restarting components.
    pub const NODE_CONTROL: Caps = Caps(1 << 3);
    /// JSON-RPC and transport faults (proxies on the edges).
    pub const RPC_FAULTS: Caps = Caps(1 << 4);
    /// The sequencer's fault modes.
    pub const SEQ_FAULTS: Caps = Caps(1 << 5);
    /// Faults in the watchdog's state directory.
    pub const STATE_DIR_FAULTS: Caps = Caps(1 << 6);
    /// Adding inputs on the L1 from the devnet's own accounts: ERC-20 portal deposits and
    /// direct `InputBox` inputs (an attached L1 refuses both: the deployment owns neither its
    /// keys nor its contracts).
    pub const L1_INPUTS: Caps = Caps(1 << 7);
    /// The watchdog's container image (`sequencer-watchdog:local`, or `$DEVNET_WATCHDOG_IMAGE`)
    /// on a Docker engine that answers: the environment decides, on every backend.
    pub const IMAGE: Caps = Caps(1 << 8);
    /// Cutting a component off a network and joining it again (`compose`: a container
    /// disconnected from and reconnected to a Docker network).
    pub const PARTITION: Caps = Caps(1 << 9);
    /// Every capability.
    pub const ALL: Caps = Caps(0x3ff);

    const NAMES: [(Caps, &'static str); 10] = [
        (Caps::EVM, "Evm"),
        (Caps::MINING, "Mining"),
        (Caps::REORG, "Reorg"),
        (Caps::NODE_CONTROL, "NodeControl"),
        (Caps::RPC_FAULTS, "RpcFaults"),
        (Caps::SEQ_FAULTS, "SeqFaults"),
        (Caps::STATE_DIR_FAULTS, "StateDirFaults"),
        (Caps::L1_INPUTS, "L1Inputs"),
        (Caps::IMAGE, "Image"),
        (Caps::PARTITION, "Partition"),
    ];

    /// Whether every capability of `other` is here.
    pub const fn contains(self, other: Caps) -> bool {
        self.0 & other.0 == other.0
    }

    /// Both sets.
    pub const fn union(self, other: Caps) -> Caps {
        Caps(self.0 | other.0)
    }

    /// This set without `other`.
    pub const fn without(self, other: Caps) -> Caps {
        Caps(self.0 & !other.0)
    }

    /// What `needs` asks for that is not here (empty when satisfied).
    pub const fn missing(self, needs: Caps) -> Caps {
        needs.without(self)
    }

    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The names of the capabilities present, in a fixed order.
    pub fn names(self) -> Vec<&'static str> {
        Self::NAMES
            .iter()
            .filter(|(cap, _)| self.contains(*cap))
            .map(|(_, name)| *name)
            .collect()
    }

    /// A capability by name (`Evm`, `Mining`, …).
    pub fn by_name(name: &str) -> Option<Caps> {
        Self::NAMES
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(c, _)| *c)
    }
}

impl BitOr for Caps {
    type Output = Caps;

    fn bitor(self, other: Caps) -> Caps {
        self.union(other)
    }
}

impl fmt::Display for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            return f.write_str("none");
        }
        f.write_str(&self.names().join("|"))
    }
}

impl fmt::Debug for Caps {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Caps({self})")
    }
}

impl Serialize for Caps {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.names().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Caps {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let names = Vec::<String>::deserialize(deserializer)?;
        names.iter().try_fold(Caps::NONE, |caps, name| {
            Caps::by_name(name)
                .map(|cap| caps | cap)
                .ok_or_else(|| serde::de::Error::custom(format!("unknown capability {name}")))
        })
    }
}

/// Where a topology runs. Chosen explicitly, never detected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// anvil with the real contracts and an in-process sequencer task (the default).
    #[default]
    Local,
    /// The synthetic L1 and an in-process sequencer task.
    InProcess,
    /// Endpoints given by URL.
    Attach,
    /// anvil, the devnet sequencer and each watchdog command in containers of locally built
    /// images on private Docker networks.
    Compose,
}

impl Backend {
    /// `local`, `in-process`, `attach` or `compose`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::InProcess => "in-process",
            Self::Attach => "attach",
            Self::Compose => "compose",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown backend name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown backend {0:?} (local, in-process, attach, compose)")]
pub struct UnknownBackend(pub String);

impl FromStr for Backend {
    type Err = UnknownBackend;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "local" => Ok(Self::Local),
            "in-process" => Ok(Self::InProcess),
            "attach" => Ok(Self::Attach),
            "compose" => Ok(Self::Compose),
            other => Err(UnknownBackend(other.to_owned())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_are_a_set() {
        let in_process = Caps::ALL.without(Caps::EVM);
        assert!(in_process.contains(Caps::MINING | Caps::REORG));
        assert!(!in_process.contains(Caps::EVM | Caps::MINING));
        assert_eq!(in_process.missing(Caps::EVM | Caps::MINING), Caps::EVM);
        assert!(in_process.missing(Caps::REORG).is_empty());
        assert_eq!(Caps::ALL.names().len(), 10);
        assert_eq!(
            (Caps::MINING | Caps::RPC_FAULTS).to_string(),
            "Mining|RpcFaults"
        );
        let json = serde_json::to_value(in_process).unwrap();
        assert_eq!(serde_json::from_value::<Caps>(json).unwrap(), in_process);
        assert!(serde_json::from_str::<Caps>(r#"["Warp"]"#).is_err());
        assert_eq!("in-process".parse::<Backend>(), Ok(Backend::InProcess));
        assert_eq!("compose".parse::<Backend>(), Ok(Backend::Compose));
        assert!("kubernetes".parse::<Backend>().is_err());
    }
}
