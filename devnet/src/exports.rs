//! What `devnet env` prints: the `CARTESI_WATCHDOG_*` settings that point `sequencer-watchdog`
//! at a running devnet, and `DEVNET_*` client endpoints, as `sh`, `fish` or JSON.
//!
//! | Variable | Value |
//! |---|---|
//! | `CARTESI_WATCHDOG_STATE_DIR` | `<state dir>/watchdog` |
//! | `CARTESI_WATCHDOG_SEQUENCER_URL` | the sequencer front |
//! | `CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT` | the L1 front |
//! | `CARTESI_WATCHDOG_BLOCKCHAIN_ID` | `31337` |
//! | `CARTESI_WATCHDOG_APP_ADDRESS` | the application |
//! | `CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS` | the InputBox |
//! | `CARTESI_WATCHDOG_MACHINE_BACKEND` | `native` |
//! | `CARTESI_WATCHDOG_CM_SNAPSHOT_DIR` | `genesis:devnet` |
//! | `CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK` | `0` |
//!
//! Client endpoints: `DEVNET_STATE_DIR`, `DEVNET_L1_RPC_URL`, `DEVNET_SEQUENCER_URL`,
//! `DEVNET_SEQUENCER_CONTROL_URL` (when there is one), `DEVNET_TOKEN_ADDRESS`,
//! `DEVNET_ERC20_PORTAL_ADDRESS`, `DEVNET_GENERATION`. The run id is deliberately not exported:
//! the orphan audit looks for processes carrying it.

use std::fmt::Write as _;
use std::str::FromStr;

use anyhow::{Result, anyhow, bail};

use devnet_stack::state_file::StateFile;

/// The watchdog's variables, in print order.
pub const WATCHDOG_VARIABLES: [&str; 9] = [
    "CARTESI_WATCHDOG_STATE_DIR",
    "CARTESI_WATCHDOG_SEQUENCER_URL",
    "CARTESI_WATCHDOG_BLOCKCHAIN_HTTP_ENDPOINT",
    "CARTESI_WATCHDOG_BLOCKCHAIN_ID",
    "CARTESI_WATCHDOG_APP_ADDRESS",
    "CARTESI_WATCHDOG_CONTRACTS_INPUT_BOX_ADDRESS",
    "CARTESI_WATCHDOG_MACHINE_BACKEND",
    "CARTESI_WATCHDOG_CM_SNAPSHOT_DIR",
    "CARTESI_WATCHDOG_CM_SNAPSHOT_SAFE_BLOCK",
];

/// The output format of `devnet env`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EnvFormat {
    /// `export NAME='value'` (POSIX shells).
    #[default]
    Sh,
    /// `set -gx NAME 'value'`.
    Fish,
    /// One JSON object.
    Json,
}

impl FromStr for EnvFormat {
    type Err = anyhow::Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sh" | "bash" | "zsh" => Ok(Self::Sh),
            "fish" => Ok(Self::Fish),
            "json" => Ok(Self::Json),
            other => Err(anyhow!("unknown format {other:?} (sh, fish, json)")),
        }
    }
}

/// The variables for a devnet, watchdog settings first.
pub fn exports(state: &StateFile) -> Result<Vec<(String, String)>> {
    let Some(addresses) = state.addresses else {
        bail!(
            "the devnet in {} is not deployed yet",
            state.state_dir.display()
        );
    };
    let values = [
        state.state_dir.join("watchdog").display().to_string(),
        state.endpoints.sequencer.clone(),
        state.endpoints.l1_rpc.clone(),
        state.chain_id.to_string(),
        addresses.application.to_checksum(None),
        addresses.input_box.to_checksum(None),
        "native".to_owned(),
        "genesis:devnet".to_owned(),
        "0".to_owned(),
    ];
    let mut vars: Vec<(String, String)> = WATCHDOG_VARIABLES
        .iter()
        .map(|name| (*name).to_owned())
        .zip(values)
        .collect();
    let mut client = |name: &str, value: String| vars.push((name.to_owned(), value));
    client("DEVNET_STATE_DIR", state.state_dir.display().to_string());
    client("DEVNET_L1_RPC_URL", state.endpoints.l1_rpc.clone());
    client("DEVNET_SEQUENCER_URL", state.endpoints.sequencer.clone());
    if let Some(control) = &state.components.sequencer.control_url {
        client("DEVNET_SEQUENCER_CONTROL_URL", control.clone());
    }
    client("DEVNET_TOKEN_ADDRESS", addresses.token.to_checksum(None));
    client(
        "DEVNET_ERC20_PORTAL_ADDRESS",
        addresses.erc20_portal.to_checksum(None),
    );
    client("DEVNET_GENERATION", state.generation.to_string());
    Ok(vars)
}

/// Renders `vars` in `format` (a trailing newline included).
pub fn render(vars: &[(String, String)], format: EnvFormat) -> String {
    let mut out = String::new();
    match format {
        EnvFormat::Sh => {
            for (name, value) in vars {
                let _ = writeln!(out, "export {name}={}", single_quoted(value));
            }
        }
        EnvFormat::Fish => {
            for (name, value) in vars {
                let _ = writeln!(out, "set -gx {name} {}", single_quoted(value));
            }
        }
        EnvFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = vars
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                .collect();
            let _ = writeln!(out, "{}", serde_json::Value::Object(map));
        }
    }
    out
}

/// `'value'` with embedded single quotes closed, escaped and reopened (valid in sh and fish).
fn single_quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_quoted_for_each_shell() {
        let vars = vec![
            ("A".to_owned(), "http://127.0.0.1:1".to_owned()),
            ("B".to_owned(), "it's".to_owned()),
        ];
        assert_eq!(
            render(&vars, EnvFormat::Sh),
            "export A='http://127.0.0.1:1'\nexport B='it'\\''s'\n"
        );
        assert_eq!(
            render(&vars, EnvFormat::Fish),
            "set -gx A 'http://127.0.0.1:1'\nset -gx B 'it'\\''s'\n"
        );
        let json: serde_json::Value =
            serde_json::from_str(&render(&vars, EnvFormat::Json)).unwrap();
        assert_eq!(json["B"], "it's");
        assert_eq!("json".parse::<EnvFormat>().unwrap(), EnvFormat::Json);
        assert!("csh".parse::<EnvFormat>().is_err());
    }
}
