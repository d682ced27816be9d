//! The identity recorded in `config.json` and checked on every run (spec §3), and the
//! persisted settings read back from it.

use alloy_primitives::Address;
use l1::HeadTag;

use crate::options::{Backend, Settings, address_lower};
use crate::state::files::ConfigFile;
use crate::{Class, Error, Result};

/// The identity, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Identity {
    pub chain_id: u64,
    pub app: Address,
    pub input_box: Address,
    pub backend: Backend,
    pub state_source: String,
}

fn invalid(what: &str, problem: impl std::fmt::Display) -> Error {
    Error::fail(
        Class::Operator,
        "config_invalid",
        format!("config.json {what}: {problem}"),
    )
}

/// Parses the identity of `config.json`.
pub(crate) fn parsed(config: &ConfigFile) -> Result<Identity> {
    let id = &config.identity;
    Ok(Identity {
        chain_id: id.chain_id,
        app: id
            .app_address
            .parse()
            .map_err(|e| invalid("app_address", e))?,
        input_box: id
            .input_box_address
            .parse()
            .map_err(|e| invalid("input_box_address", e))?,
        backend: Backend::parse(&id.machine_backend).map_err(|e| invalid("machine_backend", e))?,
        state_source: crate::options::parse_state_source(&id.state_source)
            .map_err(|e| invalid("state_source", e))?,
    })
}

/// The backend of the state directory.
pub(crate) fn backend(config: &ConfigFile) -> Result<Backend> {
    Ok(parsed(config)?.backend)
}

/// Every identity value given by flags or environment must equal `config.json`.
pub(crate) fn check(settings: &Settings, config: &ConfigFile) -> Result<()> {
    let id = parsed(config)?;
    let mut mismatches = Vec::new();
    if settings.chain_id.is_some_and(|c| c != id.chain_id) {
        mismatches.push("chain id");
    }
    if settings.app_address.is_some_and(|a| a != id.app) {
        mismatches.push("app address");
    }
    if settings
        .input_box_address
        .is_some_and(|a| a != id.input_box)
    {
        mismatches.push("InputBox address");
    }
    if settings.machine_backend.is_some_and(|b| b != id.backend) {
        mismatches.push("machine backend");
    }
    if settings
        .state_source
        .as_ref()
        .is_some_and(|s| *s != id.state_source)
    {
        mismatches.push("state source");
    }
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(Error::fail(
            Class::Operator,
            "identity_mismatch",
            format!(
                "{} {} not match config.json (app {}, chain {})",
                mismatches.join(", "),
                if mismatches.len() == 1 { "does" } else { "do" },
                address_lower(id.app),
                id.chain_id
            ),
        ))
    }
}

/// The range-error codes: flag or environment, else `config.json`.
pub(crate) fn codes(settings: &Settings, config: &ConfigFile) -> Result<Vec<i64>> {
    if let Some(codes) = &settings.range_codes {
        return Ok(codes.clone());
    }
    config
        .long_block_range_error_codes
        .iter()
        .map(|code| {
            code.trim()
                .parse::<i64>()
                .map_err(|e| invalid("long_block_range_error_codes", e))
        })
        .collect()
}

/// The trusted L1 tag: flag or environment, else `config.json`.
pub(crate) fn head_tag(settings: &Settings, config: &ConfigFile) -> Result<HeadTag> {
    if let Some(tag) = settings.l1_head_tag {
        return Ok(tag);
    }
    match config.l1_head_tag.as_str() {
        "safe" => Ok(HeadTag::Safe),
        "finalized" => Ok(HeadTag::Finalized),
        other => Err(invalid("l1_head_tag", other)),
    }
}
