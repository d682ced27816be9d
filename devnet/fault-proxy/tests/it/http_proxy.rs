//! The HTTP proxy: faithful forwarding (status, headers, ETag, query, body) and every
//! HTTP-mode action on a path.

use std::sync::atomic::Ordering;

use fault_proxy::{HttpProxy, ProxyOutcome, RuleSet};
use serde_json::Value;

use crate::client::{client, shutdown_releases, until_recorded};
use crate::fake_upstream::{STATE_BODY, service};

fn set(text: &str) -> RuleSet {
    RuleSet::from_json(text).unwrap()
}

async fn start(upstream: &str, text: &str) -> HttpProxy {
    HttpProxy::start(upstream, set(text)).await.unwrap()
}

#[tokio::test]
async fn requests_and_answers_pass_through_unchanged() {
    let upstream = service().await;
    let proxy = HttpProxy::start(&upstream.url, RuleSet::default())
        .await
        .unwrap();
    let url = proxy.url();
    let response = client()
        .get(format!("{url}/finalized_state"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["etag"], "\"v7\"");
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["content-length"],
        STATE_BODY.len().to_string()
    );
    assert_eq!(response.text().await.unwrap(), STATE_BODY);

    let response = client()
        .get(format!("{url}/finalized_state"))
        .header("if-none-match", "\"v7\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 304, "request headers reach upstream");

    let response = client()
        .post(format!("{url}/echo?a=1&b=2"))
        .body("hello")
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["x-upstream"], "yes");
    assert_eq!(response.text().await.unwrap(), "a=1&b=2|hello");
    let response = client()
        .get(format!("{url}/status/418"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 418);
    let head = client()
        .head(format!("{url}/finalized_state"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.headers()["content-length"],
        STATE_BODY.len().to_string()
    );
    assert_eq!(head.headers()["etag"], "\"v7\"");

    let seen: Vec<(String, Option<String>, Option<u16>, ProxyOutcome)> = proxy
        .entries()
        .into_iter()
        .map(|e| (e.method, e.path, e.status, e.outcome))
        .collect();
    assert_eq!(
        seen[0],
        (
            "GET".into(),
            Some("/finalized_state".into()),
            Some(200),
            ProxyOutcome::Forwarded
        )
    );
    assert_eq!(seen[1].2, Some(304));
    assert_eq!(seen[2].1.as_deref(), Some("/echo?a=1&b=2"));
    assert_eq!(seen[3].2, Some(418));
    assert_eq!(seen[4].0, "HEAD");
}

#[tokio::test]
async fn body_and_header_rules_rewrite_the_answer() {
    let upstream = service().await;
    let proxy = start(
        &upstream.url,
        r#"[
          {"when": {"path": "/finalized_state"}, "scope": {"nth": 1},
           "action": {"tamper_body": {"offset": 30}}},
          {"when": {"path": "/finalized_state"}, "scope": {"nth": 2},
           "action": {"truncate": {"bytes": 7}}},
          {"when": {"path": "/finalized_state"}, "scope": {"nth": 3},
           "action": {"set_header": {"name": "etag", "value": "\"forged\""}}},
          {"when": {"path": "/finalized_state"}, "scope": {"nth": 4}, "action": "invalid_json"}
        ]"#,
    )
    .await;
    let get = || {
        client()
            .get(format!("{}/finalized_state", proxy.url()))
            .send()
    };

    let tampered = get().await.unwrap();
    assert_eq!(
        tampered.headers()["content-length"],
        STATE_BODY.len().to_string()
    );
    let body = tampered.bytes().await.unwrap();
    let differing: Vec<usize> = (0..body.len())
        .filter(|&i| body[i] != STATE_BODY.as_bytes()[i])
        .collect();
    assert_eq!(differing, [30], "exactly one byte flipped");

    let truncated = get().await.unwrap();
    assert_eq!(truncated.headers()["content-length"], "7");
    assert_eq!(truncated.text().await.unwrap(), &STATE_BODY[..7]);

    let forged = get().await.unwrap();
    assert_eq!(forged.headers()["etag"], "\"forged\"");
    assert_eq!(forged.text().await.unwrap(), STATE_BODY);

    let invalid = get().await.unwrap();
    assert_eq!(invalid.status(), 200);
    assert!(serde_json::from_slice::<Value>(&invalid.bytes().await.unwrap()).is_err());

    let outcomes: Vec<ProxyOutcome> = proxy.entries().into_iter().map(|e| e.outcome).collect();
    assert_eq!(
        outcomes,
        [
            ProxyOutcome::Tampered,
            ProxyOutcome::Truncated,
            ProxyOutcome::Rewritten,
            ProxyOutcome::InvalidJson
        ]
    );
    assert_eq!(
        upstream.state.requests.load(Ordering::SeqCst),
        3,
        "invalid_json never forwards"
    );
}

#[tokio::test]
async fn statuses_delays_limits_drops_and_hangs_by_path() {
    let upstream = service().await;
    let proxy = start(
        &upstream.url,
        r#"[
          {"when": {"path": "/finalized_state"}, "scope": {"first": 1},
           "action": {"http": {"status": 503, "retry_after": 3}}},
          {"when": {"path": "/finalized_state"}, "scope": {"times": 1},
           "action": {"delay": {"ms": 30}}},
          {"when": {"path": "/finalized_state"},
           "action": {"rate_limit": {"rps": 0.0, "burst": 1}}},
          {"when": {"path": "/status/*", "method": "GET"}, "scope": {"nth": 1}, "action": "drop"},
          {"when": {"path": "/status/*"}, "scope": {"nth": 2}, "action": "hang"}
        ]"#,
    )
    .await;
    let url = proxy.url();
    let get = |path: &str| client().get(format!("{url}{path}")).send();
    let unavailable = get("/finalized_state").await.unwrap();
    assert_eq!(unavailable.status(), 503);
    assert_eq!(unavailable.headers()["retry-after"], "3");
    assert_eq!(
        get("/finalized_state").await.unwrap().status(),
        200,
        "delayed"
    );
    assert_eq!(
        get("/finalized_state").await.unwrap().status(),
        200,
        "one token"
    );
    assert_eq!(
        get("/finalized_state").await.unwrap().status(),
        429,
        "bucket empty"
    );

    let dropped = match get("/status/200").await {
        Ok(response) => response.bytes().await.is_err(),
        Err(_) => true,
    };
    assert!(dropped);

    let hung = tokio::spawn({
        let url = url.clone();
        async move {
            client()
                .get(format!("{url}/status/201"))
                .send()
                .await
                .map(|_| ())
        }
    });
    until_recorded(|| proxy.entries().len() >= 6).await;
    assert_eq!(
        get("/status/202").await.unwrap().status(),
        202,
        "others pass meanwhile"
    );

    let entries = proxy.entries();
    assert_eq!(entries[1].action, "delay");
    assert!(entries[1].latency_ms >= 30);
    assert_eq!(entries[3].outcome, ProxyOutcome::HttpStatus { status: 429 });
    assert_eq!(entries[4].outcome, ProxyOutcome::Dropped);
    assert_eq!(entries[5].outcome, ProxyOutcome::Hung);
    shutdown_releases(proxy.shutdown(), hung).await;
}

#[tokio::test]
async fn json_rpc_only_actions_are_refused_in_http_mode() {
    let upstream = service().await;
    let rules = set(r#"[{"action": {"error": {"code": 1}}}]"#);
    assert!(
        HttpProxy::start(&upstream.url, rules.clone())
            .await
            .is_err()
    );
    let proxy = HttpProxy::start(&upstream.url, RuleSet::default())
        .await
        .unwrap();
    assert!(proxy.set_rules(rules).is_err());
}
