//! A URL that never prints its secrets.

use std::fmt;

use reqwest::Url;

/// Why a URL string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// The string is not a URL. The input is not repeated: it may hold a secret.
    #[error("not a valid URL")]
    Invalid,
    /// The scheme is neither `http` nor `https`.
    #[error("unsupported URL scheme `{0}` (expected http or https)")]
    Scheme(String),
    /// The URL has no host.
    #[error("URL has no host")]
    NoHost,
    /// The URL carries a fragment, which HTTP never sends.
    #[error("URL has a fragment")]
    Fragment,
}

/// An `http(s)` base URL whose `Display` and `Debug` keep only `scheme://host[:port]`.
///
/// When the URL also had userinfo, a path or a query (where providers put API keys), the
/// rendering ends in `/<redacted>`. The full URL is reachable only through
/// [`RedactedUrl::expose`], which call sites use to build requests, never to print.
///
/// A trailing `/` is stripped when parsing, so `http://h:1/` and `http://h:1` are the same base.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct RedactedUrl {
    url: Url,
}

impl RedactedUrl {
    /// Parses and validates an `http(s)` URL.
    pub fn parse(input: &str) -> Result<Self, UrlError> {
        let url = Url::parse(input.trim()).map_err(|_| UrlError::Invalid)?;
        Self::from_url(url)
    }

    /// Validates an already parsed URL.
    pub fn from_url(mut url: Url) -> Result<Self, UrlError> {
        match url.scheme() {
            "http" | "https" => {}
            other => return Err(UrlError::Scheme(sanitize_scheme(other))),
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(UrlError::NoHost);
        }
        if url.fragment().is_some() {
            return Err(UrlError::Fragment);
        }
        let trimmed = url.path().trim_end_matches('/').to_owned();
        url.set_path(&trimmed);
        Ok(Self { url })
    }

    /// The full URL, secrets included. Use it to send requests; never log it.
    pub fn expose(&self) -> &Url {
        &self.url
    }

    /// Whether the URL carries userinfo (`user:password@`).
    pub fn has_userinfo(&self) -> bool {
        !self.url.username().is_empty() || self.url.password().is_some()
    }

    /// Whether the rendering hides anything (userinfo, a path or a query).
    pub fn is_redacted(&self) -> bool {
        self.has_userinfo() || !matches!(self.url.path(), "" | "/") || self.url.query().is_some()
    }

    /// The base URL with `route` (which starts with `/`) appended to its path, query kept.
    pub fn join_route(&self, route: &str) -> Url {
        let mut url = self.url.clone();
        let path = format!("{}{}", url.path().trim_end_matches('/'), route);
        url.set_path(&path);
        url
    }
}

fn sanitize_scheme(scheme: &str) -> String {
    scheme
        .chars()
        .take(16)
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

impl fmt::Display for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://", self.url.scheme())?;
        if let Some(host) = self.url.host() {
            write!(f, "{host}")?;
        }
        if let Some(port) = self.url.port() {
            write!(f, ":{port}")?;
        }
        if self.is_redacted() {
            f.write_str("/<redacted>")?;
        }
        Ok(())
    }
}

impl fmt::Debug for RedactedUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RedactedUrl({self})")
    }
}

impl std::str::FromStr for RedactedUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(input: &str) -> String {
        RedactedUrl::parse(input)
            .map(|u| u.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn plain_host_is_shown_whole() {
        assert_eq!(shown("http://10.0.0.5:3000"), "http://10.0.0.5:3000");
        assert_eq!(shown("http://10.0.0.5:3000/"), "http://10.0.0.5:3000");
        assert_eq!(shown("https://example.invalid"), "https://example.invalid");
    }

    #[test]
    fn secrets_are_never_rendered() {
        let cases = [
            "https://user:hunter2@example.invalid:8545",
            "https://example.invalid/v3/SECRETKEY",
            "https://example.invalid/?apikey=SECRETKEY",
            "https://example.invalid:443/rpc/SECRETKEY/?token=SECRETKEY",
        ];
        for case in cases {
            let url = RedactedUrl::parse(case).unwrap();
            let display = url.to_string();
            let debug = format!("{url:?}");
            for text in [&display, &debug] {
                assert!(!text.contains("SECRETKEY"), "{text}");
                assert!(!text.contains("hunter2"), "{text}");
                assert!(!text.contains("user"), "{text}");
                assert!(text.contains("/<redacted>"), "{text}");
            }
            assert!(display.starts_with("https://example.invalid"));
        }
    }

    #[test]
    fn refuses_non_http_and_does_not_echo_input() {
        assert_eq!(
            RedactedUrl::parse("ftp://example.invalid").unwrap_err(),
            UrlError::Scheme("ftp".into())
        );
        let err = RedactedUrl::parse("not a url SECRETKEY").unwrap_err();
        assert!(!err.to_string().contains("SECRETKEY"));
        assert_eq!(
            RedactedUrl::parse("http://h/#frag").unwrap_err(),
            UrlError::Fragment
        );
    }

    #[test]
    fn routes_join_under_the_base_path_and_keep_the_query() {
        let url = RedactedUrl::parse("http://h:1/api/KEY/?k=v").unwrap();
        let joined = url.join_route("/finalized_state/digest");
        assert_eq!(
            joined.as_str(),
            "http://h:1/api/KEY/finalized_state/digest?k=v"
        );
        let plain = RedactedUrl::parse("http://h:1").unwrap();
        assert_eq!(plain.join_route("/fee").as_str(), "http://h:1/fee");
    }
}
