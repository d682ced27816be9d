//! [`AttachTarget`]: the L1 and the sequencer that scenarios attach to on the `attach`
//! backend (staging), and how their URLs stay out of what gets printed.

use alloy::primitives::Address;
use anyhow::{Context as _, Result};
use sequencer_client::RedactedUrl;

use crate::deploy::AttachDeployer;

/// Environment variable with the attached L1's JSON-RPC URL (`--l1` wins).
pub const ATTACH_L1_ENV: &str = "DEVNET_ATTACH_L1";

/// Environment variable with the attached sequencer's public URL (`--sequencer` wins).
pub const ATTACH_SEQUENCER_ENV: &str = "DEVNET_ATTACH_SEQUENCER";

/// Environment variable with the attached sequencer's control URL, optional (`--control`
/// wins); with it the sequencer's fault modes (`SeqFaults`) are available.
pub const ATTACH_CONTROL_ENV: &str = "DEVNET_ATTACH_CONTROL";

/// Environment variable with the attached application's address (`--app` wins; default the
/// devnet's pinned application).
pub const ATTACH_APP_ENV: &str = "DEVNET_ATTACH_APP";

/// Environment variable naming the attached sequencer's wallet configuration (`devnet`,
/// `sepolia`; `--wallet-config` wins; default: read from the sequencer's finalized state).
pub const ATTACH_WALLET_CONFIG_ENV: &str = "DEVNET_ATTACH_WALLET_CONFIG";

/// Where the `attach` backend runs scenarios: an L1 on any chain and a sequencer that run
/// elsewhere, and the application they serve. `Debug` and `Display` of the URLs keep only
/// `scheme://host[:port]`, so credentials in a path, query or userinfo are never printed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttachTarget {
    /// The L1's JSON-RPC endpoint.
    pub l1: RedactedUrl,
    /// The sequencer's public API.
    pub sequencer: RedactedUrl,
    /// The sequencer's control API (fault modes), if reachable.
    pub control: Option<RedactedUrl>,
    /// The application (default: the devnet's pinned one); its InputBox is discovered.
    pub app: Option<Address>,
    /// The wallet configuration by name; default: read from the sequencer's finalized state.
    pub wallet_config: Option<String>,
}

impl AttachTarget {
    /// A target from URL strings; an error never repeats a URL.
    pub fn parse(l1: &str, sequencer: &str, control: Option<&str>) -> Result<Self> {
        Ok(Self {
            l1: RedactedUrl::parse(l1).context("the attached L1 URL")?,
            sequencer: RedactedUrl::parse(sequencer).context("the attached sequencer URL")?,
            control: control
                .map(RedactedUrl::parse)
                .transpose()
                .context("the attached sequencer's control URL")?,
            app: None,
            wallet_config: None,
        })
    }

    /// Watches `app` instead of the devnet's pinned application.
    pub fn with_app(mut self, app: Option<Address>) -> Self {
        self.app = app;
        self
    }

    /// Names the sequencer's wallet configuration instead of reading it from its state.
    pub fn with_wallet_config(mut self, name: Option<String>) -> Self {
        self.wallet_config = name;
        self
    }

    /// `$DEVNET_ATTACH_L1`, `$DEVNET_ATTACH_SEQUENCER`, `$DEVNET_ATTACH_CONTROL`,
    /// `$DEVNET_ATTACH_APP` and `$DEVNET_ATTACH_WALLET_CONFIG`: `None` unless both of the first
    /// two are set.
    pub fn from_env() -> Result<Option<Self>> {
        let var = |name| std::env::var(name).ok().filter(|v: &String| !v.is_empty());
        let (Some(l1), Some(sequencer)) = (var(ATTACH_L1_ENV), var(ATTACH_SEQUENCER_ENV)) else {
            return Ok(None);
        };
        let app = var(ATTACH_APP_ENV)
            .map(|app| app.parse::<Address>())
            .transpose()
            .with_context(|| format!("{ATTACH_APP_ENV}: an address"))?;
        Ok(Some(
            Self::parse(&l1, &sequencer, var(ATTACH_CONTROL_ENV).as_deref())?
                .with_app(app)
                .with_wallet_config(var(ATTACH_WALLET_CONFIG_ENV)),
        ))
    }

    /// The deployer attaching to this target.
    pub fn deployer(&self) -> AttachDeployer {
        let mut deployer =
            AttachDeployer::new(self.l1.expose().as_str(), self.sequencer.expose().as_str());
        if let Some(control) = &self.control {
            deployer = deployer.control_url(control.expose().as_str());
        }
        if let Some(app) = self.app {
            deployer = deployer.app(app);
        }
        if let Some(name) = &self.wallet_config {
            deployer = deployer.wallet_config(name);
        }
        deployer
    }
}

/// `text` with every `http(s)://` URL in it shown as [`RedactedUrl`] shows it
/// (`scheme://host[:port]`, then `/<redacted>` if anything was hidden), for error messages
/// that quote a URL (HTTP client errors do). A URL that does not parse becomes `<URL>`.
pub(super) fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = ["http://", "https://"]
        .iter()
        .filter_map(|scheme| rest.find(scheme))
        .min()
    {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        let end = tail
            .find(|c: char| c.is_whitespace() || "()<>[]{}\"'`,;".contains(c))
            .unwrap_or(tail.len());
        let shown =
            RedactedUrl::parse(&tail[..end]).map_or_else(|_| "<URL>".into(), |u| u.to_string());
        out.push_str(&shown);
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

impl std::fmt::Display for AttachTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "L1 {}, sequencer {}", self.l1, self.sequencer)?;
        if let Some(control) = &self.control {
            write!(f, ", control {control}")?;
        }
        if let Some(app) = self.app {
            write!(f, ", application {app}")?;
        }
        if let Some(name) = &self.wallet_config {
            write!(f, ", wallet configuration {name}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_with_credentials_never_print() {
        let target = AttachTarget::parse(
            "https://user:hunter2@l1.example.invalid/v3/KEY123?token=abc",
            "http://127.0.0.1:4000",
            Some("http://127.0.0.1:4001/"),
        )
        .unwrap();
        let shown = format!("{target} {target:?}");
        for secret in ["hunter2", "KEY123", "token=abc", "user"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("https://l1.example.invalid/<redacted>"),
            "{shown}"
        );
        assert!(shown.contains("control http://127.0.0.1:4001"), "{shown}");
        let error = format!(
            "setup: error sending request for url ({}): refused by u",
            target.l1.expose()
        );
        let redacted = redact_urls(&error);
        assert_eq!(
            redacted,
            "setup: error sending request for url (https://l1.example.invalid/<redacted>): \
             refused by u"
        );
        assert_eq!(
            redact_urls("http://127.0.0.1:9 and https://h.invalid:1/a?k=v, http://"),
            "http://127.0.0.1:9 and https://h.invalid:1/<redacted>, <URL>"
        );
        let refused = AttachTarget::parse("ftp://user:hunter2@host", "http://h", None);
        let message = format!("{:#}", refused.unwrap_err());
        assert!(!message.contains("hunter2"), "{message}");
    }
}
