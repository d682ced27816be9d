//! The production provider stack against a scripted HTTP server on 127.0.0.1: retries,
//! `Retry-After`, the response size cap, JSON-RPC errors in 4xx bodies, id checks, timeouts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l1::{BlockRange, Error, RangePlan, RequestBudget, RpcConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{APP, CHAIN_ID, INPUT_BOX};

/// One scripted answer: status, extra headers and body, built from the request's JSON.
type Reply = Box<dyn Fn(&Value) -> (u16, Vec<(&'static str, String)>, Vec<u8>) + Send>;

/// A JSON-RPC result echoing the request id.
fn result(value: Value) -> Reply {
    Box::new(move |req| {
        (
            200,
            vec![],
            json!({"jsonrpc": "2.0", "id": req["id"], "result": value})
                .to_string()
                .into_bytes(),
        )
    })
}

fn status(code: u16, headers: Vec<(&'static str, String)>) -> Reply {
    Box::new(move |_| (code, headers.clone(), b"busy".to_vec()))
}

/// A scripted HTTP/1.1 server that answers each connection once and records request bodies.
struct Server {
    url: String,
    requests: Arc<Mutex<Vec<(String, Value)>>>,
}

impl Server {
    async fn start(replies: Vec<Reply>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/v3/secret-key", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let mut replies = VecDeque::from(replies);
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let Some((headers, body)) = read_request(&mut stream).await else {
                    continue;
                };
                let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                log.lock().unwrap().push((headers, request.clone()));
                let Some(reply) = replies.pop_front() else {
                    continue;
                };
                let (code, extra, body) = reply(&request);
                let mut head = format!(
                    "HTTP/1.1 {code} X\r\ncontent-length: {}\r\nconnection: close\r\n",
                    body.len()
                );
                for (name, value) in extra {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let _ = stream.write_all(&body).await;
                let _ = stream.shutdown().await;
            }
        });
        Self { url, requests }
    }

    fn hits(&self) -> usize {
        self.requests.lock().unwrap().len()
    }
}

/// Reads one request: the header block (lowercased) and a content-length body.
async fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let headers = String::from_utf8_lossy(&buf[..head_end]).to_lowercase();
    let len: usize = headers
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some((headers, buf[head_end..head_end + len].to_vec()))
}

fn fast() -> RpcConfig {
    RpcConfig {
        backoff: Duration::from_millis(1),
        ..RpcConfig::default()
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_and_counted() {
    let server = Server::start(vec![
        status(429, vec![("retry-after", "0".into())]),
        result(json!("0x7a69")),
    ])
    .await;
    let budget = RequestBudget::new(10);
    let provider = l1::connect(&server.url, &fast(), &budget).unwrap();
    assert_eq!(l1::chain_id(&provider).await.unwrap(), CHAIN_ID);
    assert_eq!((server.hits(), budget.used()), (2, 2));
    let (headers, body) = server.requests.lock().unwrap()[0].clone();
    assert!(
        headers.contains("content-type: application/json"),
        "{headers}"
    );
    assert_eq!(
        (body["jsonrpc"].as_str(), body["method"].as_str()),
        (Some("2.0"), Some("eth_chainId"))
    );
}

#[tokio::test]
async fn server_errors_are_retried_three_times_then_reported() {
    let server = Server::start((0..5).map(|_| status(502, vec![])).collect()).await;
    let budget = RequestBudget::new(10);
    let provider = l1::connect(&server.url, &fast(), &budget).unwrap();
    let err = l1::chain_id(&provider).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!((server.hits(), budget.used()), (4, 4));
    // The error never shows the URL's key.
    assert!(!format!("{err} {err:?}").contains("secret-key"));
}

#[tokio::test]
async fn connection_refused_is_retried_then_reported_without_the_url() {
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let budget = RequestBudget::new(10);
    let url = format!("http://user:pw@127.0.0.1:{port}/secret-key");
    let provider = l1::connect(&url, &fast(), &budget).unwrap();
    let err = l1::chain_id(&provider).await.unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(budget.used(), 4);
    let shown = format!("{err} {err:?} {provider:?}");
    assert!(
        !shown.contains("secret-key") && !shown.contains("pw@"),
        "{shown}"
    );
}

#[tokio::test]
async fn an_oversized_response_splits_the_range() {
    let huge: Reply = Box::new(|_| (200, vec![], vec![b' '; 4096]));
    let server = Server::start(vec![huge, result(json!([])), result(json!([]))]).await;
    let config = RpcConfig {
        max_response_bytes: 1024,
        ..fast()
    };
    let provider = l1::connect(&server.url, &config, &RequestBudget::new(10)).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let report = reader.scan(0, 9, 0, |_| {}).await.unwrap();
    assert_eq!(
        report.covered,
        [
            BlockRange::new(0, 4).unwrap(),
            BlockRange::new(5, 9).unwrap()
        ]
    );
    let (_, first) = server.requests.lock().unwrap()[0].clone();
    assert_eq!(
        first["params"],
        json!([{
            "address": format!("{INPUT_BOX:#x}"),
            "fromBlock": "0x0",
            "toBlock": "0x9",
            "topics": [format!("{:#x}", l1::INPUT_ADDED_TOPIC), format!("{:#x}", APP.into_word())],
        }])
    );
}

#[tokio::test]
async fn a_json_rpc_error_in_a_400_body_is_classified_by_its_code() {
    let range_error: Reply = Box::new(|req| {
        let body = json!({"jsonrpc": "2.0", "id": req["id"], "error": {"code": -32602, "message": "invalid params"}});
        (400, vec![], body.to_string().into_bytes())
    });
    let server = Server::start(vec![range_error, result(json!([])), result(json!([]))]).await;
    let provider = l1::connect(&server.url, &fast(), &RequestBudget::new(10)).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let report = reader.scan(10, 11, 0, |_| {}).await.unwrap();
    assert_eq!((report.range_errors, server.hits()), (1, 3));
}

#[tokio::test]
async fn a_response_with_another_id_is_refused() {
    let wrong: Reply = Box::new(|req| {
        let id = req["id"].as_u64().unwrap() + 1;
        (
            200,
            vec![],
            json!({"jsonrpc": "2.0", "id": id, "result": "0x1"})
                .to_string()
                .into_bytes(),
        )
    });
    let server = Server::start(vec![wrong]).await;
    let provider = l1::connect(&server.url, &fast(), &RequestBudget::new(10)).unwrap();
    let err = l1::chain_id(&provider).await.unwrap_err();
    assert!(
        err.to_string().contains("does not match request id"),
        "{err}"
    );
}

#[tokio::test]
async fn a_silent_server_hits_the_request_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let held = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let config = RpcConfig {
        request_timeout: Duration::from_millis(200),
        ..fast()
    };
    let provider = l1::connect(&url, &config, &RequestBudget::new(10)).unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(20), l1::chain_id(&provider)).await;
    let err = outcome
        .expect("the request timeout must fire first")
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    held.abort();
}

#[test]
fn only_http_urls_are_accepted() {
    for url in ["ws://127.0.0.1:8545", "not a url", "file:///etc/passwd"] {
        let err = l1::connect(url, &RpcConfig::default(), &RequestBudget::new(1)).unwrap_err();
        assert_eq!(err.reason(), "config_invalid", "{url}");
    }
}
