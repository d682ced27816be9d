//! A minimal URL redactor for `Debug` output and logs (spec `watchdog.md` §10): keeps
//! `scheme://host[:port]` and appends `/<redacted>` when a path, query or userinfo existed.

use reqwest::Url;

pub(crate) fn redact(url: &Url) -> String {
    let mut out = format!("{}://{}", url.scheme(), url.host_str().unwrap_or(""));
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    let hidden = !url.username().is_empty()
        || url.password().is_some()
        || !matches!(url.path(), "" | "/")
        || url.query().is_some()
        || url.fragment().is_some();
    if hidden {
        out.push_str("/<redacted>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_userinfo_never_survive() {
        let cases = [
            (
                "https://mainnet.example/v3/0123secret",
                "https://mainnet.example/<redacted>",
            ),
            (
                "http://user:pw@127.0.0.1:8545/",
                "http://127.0.0.1:8545/<redacted>",
            ),
            (
                "https://node.example/?apikey=secret",
                "https://node.example/<redacted>",
            ),
            ("http://127.0.0.1:8545", "http://127.0.0.1:8545"),
        ];
        for (url, want) in cases {
            assert_eq!(redact(&Url::parse(url).unwrap()), want);
        }
    }
}
