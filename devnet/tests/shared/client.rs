//! The proxy tests' side of the wire: a client that ignores proxy settings, JSON-RPC posts, and
//! the checks around a request a proxy keeps hung. Included by the fault-proxy and devnet tests.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;
use tokio::task::JoinHandle;

/// An HTTP client that never goes through a proxy from the environment.
pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

/// Posts `body` as JSON to `url`.
pub(crate) async fn post(url: &str, body: &Value) -> reqwest::Result<reqwest::Response> {
    client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
}

/// Posts a JSON-RPC request (or batch) and returns the JSON answer, which must come with 200.
pub(crate) async fn rpc(url: &str, body: Value) -> Value {
    let response = post(url, &body).await.unwrap();
    assert_eq!(response.status(), 200);
    serde_json::from_slice(&response.bytes().await.unwrap()).unwrap()
}

/// Polls (10 s at most) until `recorded` holds: the proxy has recorded the hung request.
pub(crate) async fn until_recorded(mut recorded: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !recorded() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the hang was never recorded"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Checks that `shutdown` completes with a request hung, and that the `hung` client is then
/// released without an answer.
pub(crate) async fn shutdown_releases<E>(
    shutdown: impl Future<Output = ()>,
    hung: JoinHandle<Result<(), E>>,
) {
    tokio::time::timeout(Duration::from_secs(10), shutdown)
        .await
        .expect("shutdown completes with a request hung");
    let outcome = tokio::time::timeout(Duration::from_secs(10), hung)
        .await
        .expect("the hung client is released")
        .unwrap();
    assert!(outcome.is_err(), "released without an answer");
}
