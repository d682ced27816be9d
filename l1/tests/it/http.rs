//! The production provider stack against a scripted HTTP server on 127.0.0.1: retries,
//! `Retry-After`, the response size cap, JSON-RPC errors in 4xx bodies, id checks, timeouts.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use l1::{BlockRange, Error, RangePlan, RequestBudget, RpcConfig};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::support::{APP, CHAIN_ID, INPUT_BOX, log};

/// One scripted answer: status, extra headers and body, built from the request's JSON.
type Reply = Box<dyn Fn(&Value) -> (u16, Vec<(&'static str, String)>, Vec<u8>) + Send>;

/// A reply header that makes the server send the body in small writes, without a length.
const DRIBBLE: &str = "x-dribble";

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
                // `DRIBBLE`: no length, the body in small writes, its end the connection's.
                let dribble = extra.iter().any(|(name, _)| *name == DRIBBLE);
                let mut head = format!("HTTP/1.1 {code} X\r\nconnection: close\r\n");
                if !dribble {
                    head.push_str(&format!("content-length: {}\r\n", body.len()));
                }
                for (name, value) in extra.iter().filter(|(name, _)| *name != DRIBBLE) {
                    head.push_str(&format!("{name}: {value}\r\n"));
                }
                head.push_str("\r\n");
                let _ = stream.write_all(head.as_bytes()).await;
                let piece = if dribble { 61 } else { body.len().max(1) };
                for part in body.chunks(piece) {
                    let _ = stream.write_all(part).await;
                    let _ = stream.flush().await;
                }
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

/// `body(request)` as a 200 answer sent in small writes without a length.
fn dribbled(body: impl Fn(&Value) -> Value + Send + 'static) -> Reply {
    Box::new(move |req| {
        (
            200,
            vec![(DRIBBLE, String::new())],
            body(req).to_string().into_bytes(),
        )
    })
}

#[tokio::test]
async fn get_logs_answers_are_read_as_they_arrive_whatever_the_member_order() {
    let logs: Vec<Value> = (0..40).map(|i| log(i, 10 + i / 3)).collect();
    let answer = logs.clone();
    let server = Server::start(vec![
        status(503, vec![]),
        // The id after the result, and members alloy ignores.
        dribbled(move |req| {
            json!({"result": answer, "jsonrpc": "2.0", "extra": {"a": [1, "]"]}, "id": req["id"]})
        }),
    ])
    .await;
    let budget = RequestBudget::new(10);
    let provider = l1::connect(&server.url, &fast(), &budget).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let mut seen = Vec::new();
    let report = reader
        .scan(0, 99, 0, |input| seen.push(input))
        .await
        .unwrap();
    assert_eq!(report.next_index, 40);
    assert_eq!((server.hits(), budget.used()), (2, 2));
    for (input, log) in seen.iter().zip(&logs) {
        let data: alloy_primitives::Bytes = serde_json::from_value(log["data"].clone()).unwrap();
        assert_eq!(&data[..], &l1::input_added_data(&input.raw)[..]);
    }
}

#[tokio::test]
async fn a_streamed_range_error_with_data_splits_and_a_streamed_body_over_the_cap_too() {
    let refusal = dribbled(|req| {
        json!({"jsonrpc": "2.0", "id": req["id"], "error": {
            "code": -1, "message": "server error",
            "data": "Log response size exceeded. You can make eth_getLogs requests with up to a 2 block range."
        }})
    });
    let huge: Vec<Value> = (0..50).map(|i| log(i, 3)).collect();
    let server = Server::start(vec![
        refusal,
        dribbled(move |req| json!({"jsonrpc": "2.0", "id": req["id"], "result": huge})),
        result(json!([])),
        result(json!([])),
        result(json!([])),
        result(json!([])),
    ])
    .await;
    let config = RpcConfig {
        max_response_bytes: 8 * 1024,
        ..fast()
    };
    let provider = l1::connect(&server.url, &config, &RequestBudget::new(10)).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let report = reader.scan(0, 4, 0, |_| {}).await.unwrap();
    // [0, 4] refused with a suggestion of 2 blocks; [0, 1] over the cap, halved.
    assert_eq!(report.range_errors, 2);
    assert_eq!(
        report.covered,
        [
            BlockRange::new(0, 0).unwrap(),
            BlockRange::new(1, 1).unwrap(),
            BlockRange::new(2, 3).unwrap(),
            BlockRange::new(4, 4).unwrap(),
        ]
    );
}

#[tokio::test]
async fn a_streamed_answer_with_another_id_or_broken_json_is_refused() {
    let wrong = dribbled(
        |req| json!({"jsonrpc": "2.0", "id": req["id"].as_u64().unwrap() + 1, "result": []}),
    );
    let server = Server::start(vec![wrong]).await;
    let provider = l1::connect(&server.url, &fast(), &RequestBudget::new(10)).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let err = reader.scan(0, 4, 0, |_| {}).await.unwrap_err();
    assert!(
        err.to_string().contains("does not match request id"),
        "{err}"
    );
    assert!(!format!("{err} {err:?}").contains("secret-key"), "{err:?}");

    let broken: Reply = Box::new(|req| {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"result":[{{"address":"0x1"}} {{}}]}}"#,
            req["id"]
        );
        (200, vec![(DRIBBLE, String::new())], body.into_bytes())
    });
    let server = Server::start(vec![broken]).await;
    let provider = l1::connect(&server.url, &fast(), &RequestBudget::new(10)).unwrap();
    let reader = l1::InputReader::new(provider, APP, INPUT_BOX, CHAIN_ID, RangePlan::new());
    let err = reader.scan(0, 4, 0, |_| {}).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
}
