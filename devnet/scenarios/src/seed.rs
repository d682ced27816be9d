//! The run seed and the random streams derived from it (spec `devnet.md` §6).
//!
//! Every run has one [`Seed`]: `--seed S`, else `$DEVNET_SEED`, else [`Seed::DEFAULT`]
//! (`0x5eed`), so a run without a seed is reproducible. Randomness comes from ChaCha20 streams
//! keyed by `(seed, label)`: each workload draws from its own stream, so adding draws to one
//! never changes the choices of another.

use std::fmt;
use std::str::FromStr;

use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::{RngCore as _, SeedableRng as _};
use sha2::{Digest as _, Sha256};

/// Environment variable holding the default seed of `devnet run`.
pub const SEED_ENV: &str = "DEVNET_SEED";

/// The seed of one run, printed as `0x…` hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Seed(pub u64);

impl Seed {
    /// The seed of a run that names none.
    pub const DEFAULT: Seed = Seed(0x5eed);

    /// `$DEVNET_SEED` when set and valid, else [`Seed::DEFAULT`].
    pub fn from_env() -> Result<Self, SeedError> {
        match std::env::var(SEED_ENV) {
            Ok(value) => value.parse(),
            Err(_) => Ok(Self::DEFAULT),
        }
    }

    /// The random stream for `label`: ChaCha20 keyed by `sha256(seed ‖ label)`.
    pub fn stream(self, label: &str) -> Stream {
        let mut hasher = Sha256::new();
        hasher.update(self.0.to_be_bytes());
        hasher.update(label.as_bytes());
        Stream(ChaCha20Rng::from_seed(hasher.finalize().into()))
    }
}

impl Default for Seed {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for Seed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

/// A seed that is neither decimal nor `0x` hex.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad seed {0:?}: expected a decimal or 0x-prefixed hex u64")]
pub struct SeedError(pub String);

impl FromStr for Seed {
    type Err = SeedError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let parsed = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
            Some(hex) => u64::from_str_radix(hex, 16),
            None => s.parse(),
        };
        parsed.map(Seed).map_err(|_| SeedError(s.to_owned()))
    }
}

/// One labelled random stream.
#[derive(Debug, Clone)]
pub struct Stream(ChaCha20Rng);

impl Stream {
    /// A uniform value in `0..n` (`0` when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Rejection sampling: no modulo bias.
        let zone = u64::MAX - (u64::MAX % n);
        loop {
            let x = self.0.next_u64();
            if x < zone {
                return x % n;
            }
        }
    }

    /// A uniform value in `lo..=hi`.
    pub fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo).saturating_add(1))
    }

    /// An index picked with the given weights (the last index when all weights are 0).
    pub fn weighted(&mut self, weights: &[u64]) -> usize {
        let total: u64 = weights.iter().sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            if x < *w {
                return i;
            }
            x -= w;
        }
        weights.len().saturating_sub(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_parse_and_print() {
        assert_eq!("0x5eed".parse::<Seed>(), Ok(Seed(0x5eed)));
        assert_eq!("24301".parse::<Seed>(), Ok(Seed(24301)));
        assert!("seed".parse::<Seed>().is_err());
        assert!("0x".parse::<Seed>().is_err());
        assert_eq!(Seed(0x5eed).to_string(), "0x5eed");
        assert_eq!(Seed::DEFAULT.to_string().parse::<Seed>(), Ok(Seed::DEFAULT));
    }

    #[test]
    fn streams_depend_on_seed_and_label_only() {
        let draw = |seed: u64, label: &str| {
            let mut s = Seed(seed).stream(label);
            (0..8).map(|_| s.below(1000)).collect::<Vec<_>>()
        };
        assert_eq!(draw(1, "chaos"), draw(1, "chaos"));
        assert_ne!(draw(1, "chaos"), draw(2, "chaos"));
        assert_ne!(draw(1, "chaos"), draw(1, "workload"));
    }

    #[test]
    fn draws_stay_in_range() {
        let mut s = Seed(7).stream("range");
        for _ in 0..1000 {
            assert!(s.below(3) < 3);
            let v = s.between(5, 9);
            assert!((5..=9).contains(&v));
            assert!(s.weighted(&[0, 2, 0, 1]) % 2 == 1);
        }
        assert_eq!(s.below(0), 0);
        assert_eq!(s.weighted(&[0, 0]), 1);
    }
}
