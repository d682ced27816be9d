//! Setting values: validation (spec `watchdog.md` §3, "Validation") and the flag > env rule.
//!
//! Flags are validated by the argument parser with the same functions (a bad flag is a usage
//! error); values from the environment are validated here (a bad one is `config_invalid`).

use std::num::NonZeroUsize;
use std::time::Duration;

use alloy_primitives::Address;
use sequencer_client::RedactedUrl;

use crate::{Error, Result, env::Env};

/// Parses an address: `0x` + 40 hex digits; mixed case must be a valid EIP-55 checksum.
pub fn parse_address(text: &str) -> Result<Address, String> {
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| "an address starts with 0x".to_owned())?;
    if digits.len() != 40 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err("an address is 0x followed by 40 hex digits".to_owned());
    }
    let has_lower = digits.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = digits.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper {
        return Address::parse_checksummed(text, None)
            .map_err(|_| "mixed-case address fails its EIP-55 checksum".to_owned());
    }
    text.parse::<Address>().map_err(|e| e.to_string())
}

/// Parses a decimal u64 (digits only).
pub fn parse_u64(text: &str) -> Result<u64, String> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err("expected a decimal integer".to_owned());
    }
    text.parse()
        .map_err(|_| "integer does not fit in 64 bits".to_owned())
}

/// The largest `--recovery-threads` accepted: far above any machine this runs on, so a larger
/// value is a typo.
pub const MAX_RECOVERY_THREADS: usize = 1024;

/// Parses a recovery thread cap: a decimal integer in `1..=`[`MAX_RECOVERY_THREADS`].
pub fn parse_recovery_threads(text: &str) -> Result<NonZeroUsize, String> {
    let n = parse_u64(text)?;
    if n == 0 || n > MAX_RECOVERY_THREADS as u64 {
        return Err(format!(
            "expected 1 to {MAX_RECOVERY_THREADS} threads, got {n}"
        ));
    }
    NonZeroUsize::new(n as usize).ok_or_else(|| "expected at least 1 thread".to_owned())
}

/// A command deadline; `Deadline(None)` means none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline(pub Option<Duration>);

impl Deadline {
    /// The default: 30 minutes per command.
    pub const DEFAULT: Deadline = Deadline(Some(Duration::from_secs(30 * 60)));
}

/// Parses a deadline: `0` (none), or an integer with unit `ms`, `s`, `m` or `h` (a bare integer
/// is seconds).
pub fn parse_deadline(text: &str) -> Result<Deadline, String> {
    parse_duration(text).map(Deadline)
}

fn parse_duration(text: &str) -> Result<Option<Duration>, String> {
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n = parse_u64(number).map_err(|_| "expected e.g. 30m, 90s, 2h or 0".to_owned())?;
    let secs_per = match unit {
        "ms" => return Ok((n > 0).then(|| Duration::from_millis(n))),
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("unknown unit {unit:?} (use ms, s, m or h)")),
    };
    let secs = n
        .checked_mul(secs_per)
        .ok_or_else(|| "deadline too large".to_owned())?;
    Ok((secs > 0).then(|| Duration::from_secs(secs)))
}

/// Parses an `http(s)` URL (trailing `/` stripped); errors never repeat the URL.
pub fn parse_url(text: &str) -> Result<RedactedUrl, String> {
    RedactedUrl::parse(text).map_err(|e| e.to_string())
}

/// The flag if given, else the variable `name` parsed with `parse`, else `None`.
pub(crate) fn pick<T>(
    flag: Option<T>,
    env: &Env,
    name: &'static str,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Result<Option<T>> {
    match flag {
        Some(value) => Ok(Some(value)),
        None => env
            .get(name)
            .map(|text| parse(text.trim()).map_err(|problem| Error::config(name, problem)))
            .transpose(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let lower = "0x70997970c51812dc3a010c7d01b50e0d17dc79c8";
        let checksummed = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8";
        assert_eq!(
            parse_address(lower).unwrap(),
            parse_address(checksummed).unwrap()
        );
        assert!(parse_address(&lower.to_uppercase().replacen("0X", "0x", 1)).is_ok());
        let bad_sum = "0x70997970C51812dc3A010C7d01b50e0d17dc79c8";
        assert!(parse_address(bad_sum).unwrap_err().contains("EIP-55"));
        assert!(parse_address("70997970c51812dc3a010c7d01b50e0d17dc79c8").is_err());
        assert!(parse_address("0x1234").is_err());
    }

    #[test]
    fn deadlines() {
        assert_eq!(parse_deadline("30m").unwrap(), Deadline::DEFAULT);
        assert_eq!(parse_duration("90").unwrap(), Some(Duration::from_secs(90)));
        assert_eq!(
            parse_duration("250ms").unwrap(),
            Some(Duration::from_millis(250))
        );
        assert_eq!(
            parse_duration("2h").unwrap(),
            Some(Duration::from_secs(7200))
        );
        assert_eq!(parse_deadline("0").unwrap(), Deadline(None));
        for bad in ["", "m", "-1s", "1d", "1.5h", "99999999999999999999h"] {
            assert!(parse_deadline(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn flag_beats_env_and_bad_env_is_config_invalid() {
        let env = Env::new().with(crate::env::BLOCKCHAIN_ID, "x");
        assert_eq!(
            pick(Some(5), &env, crate::env::BLOCKCHAIN_ID, parse_u64).unwrap(),
            Some(5)
        );
        let err = pick(None, &env, crate::env::BLOCKCHAIN_ID, parse_u64).unwrap_err();
        assert_eq!(err.reason(), crate::Reason::CONFIG_INVALID);
        assert!(err.to_string().contains("CARTESI_WATCHDOG_BLOCKCHAIN_ID"));
        let env = Env::new().with(crate::env::BLOCKCHAIN_ID, " 7 ");
        assert_eq!(
            pick(None, &env, crate::env::BLOCKCHAIN_ID, parse_u64).unwrap(),
            Some(7)
        );
    }

    #[test]
    fn recovery_threads() {
        assert_eq!(parse_recovery_threads("1").unwrap().get(), 1);
        assert_eq!(parse_recovery_threads("1024").unwrap().get(), 1024);
        for bad in ["0", "1025", "-1", "", "two", "99999999999999999999"] {
            assert!(parse_recovery_threads(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn urls_are_checked_without_echo() {
        assert!(parse_url("http://127.0.0.1:8545/").is_ok());
        let err = parse_url("ftp://user:SECRET@h").unwrap_err();
        assert!(!err.contains("SECRET"));
    }
}
