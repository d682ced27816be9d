//! HTTP reads and polling with deadlines, for tests of running stacks. Included by the
//! `devnet` and `devnet-stack` tests.

use std::future::Future;
use std::time::Duration;

use serde_json::Value;

pub(crate) fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// `GET base+path` → (status, body bytes); connection errors are `None`.
pub(crate) async fn get(base: &str, path: &str) -> Option<(u16, Vec<u8>)> {
    let reply = http().get(format!("{base}{path}")).send().await.ok()?;
    let status = reply.status().as_u16();
    Some((status, reply.bytes().await.ok()?.to_vec()))
}

pub(crate) async fn get_json(base: &str, path: &str) -> Value {
    let (status, body) = get(base, path).await.unwrap();
    assert_eq!(status, 200, "{path}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).unwrap()
}

/// Polls `check` every 20 ms (running `step` between rounds) until it yields a value or
/// `timeout` passes.
pub(crate) async fn poll<T, F, Fut, S, SFut>(
    what: &str,
    timeout: Duration,
    mut check: F,
    mut step: S,
) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
    S: FnMut() -> SFut,
    SFut: Future<Output = ()>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        step().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
