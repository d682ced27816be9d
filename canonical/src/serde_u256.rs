//! Serde for `U256` as a decimal string, the JSON form of balances and amounts.

use alloy_primitives::U256;
use serde::{Deserialize, Deserializer, Serializer, de::Error};

/// Serialises as a decimal string.
pub(crate) fn serialize<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.collect_str(value)
}

/// Deserialises a decimal (or `0x` hex) string.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
    let text = String::deserialize(deserializer)?;
    text.parse().map_err(D::Error::custom)
}
