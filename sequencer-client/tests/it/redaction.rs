//! No error, log or debug output ever shows userinfo, a key-bearing path or a query.

use std::error::Error as _;

use axum::Router;
use sequencer_client::{Error, Limits, RedactedUrl, SequencerClient};

use crate::server::{Mock, Shape, Step, app, serve, serve_raw};

const SECRET: &str = "s3cr3tKEY";

fn secret_url(addr: std::net::SocketAddr) -> RedactedUrl {
    RedactedUrl::parse(&format!(
        "http://user:{SECRET}@{addr}/v1/{SECRET}?apikey={SECRET}"
    ))
    .unwrap()
}

fn full_text(err: &Error) -> String {
    let mut text = format!("{err} | {err:?}");
    let mut source = err.source();
    while let Some(s) = source {
        text.push_str(&format!(" | {s} | {s:?}"));
        source = s.source();
    }
    text
}

fn assert_clean(text: &str) {
    assert!(!text.contains(SECRET), "secret leaked: {text}");
    assert!(!text.contains("apikey"), "query leaked: {text}");
}

#[tokio::test]
async fn requests_reach_the_keyed_path_and_nothing_prints_the_key() {
    let router = Router::new().nest(&format!("/v1/{SECRET}"), app(Mock::new(Shape::Newest)));
    let addr = serve(router).await;
    let c = SequencerClient::new(secret_url(addr)).unwrap();
    let point = c.inclusion_block().await.unwrap();
    assert_eq!(point.inclusion_block, 7_000_123);
    let shown = format!("{} {:?} {c:?}", c.base_url(), c.base_url());
    assert_clean(&shown);
    assert!(
        shown.contains(&format!("http://{addr}/<redacted>")),
        "{shown}"
    );
}

#[tokio::test]
async fn connect_errors_are_clean() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let c = SequencerClient::new(secret_url(addr)).unwrap();
    let err = c.inclusion_block().await.unwrap_err();
    assert!(matches!(err, Error::Connect { .. }), "{err:?}");
    assert_clean(&full_text(&err));
}

#[tokio::test]
async fn timeout_transport_and_status_errors_are_clean() {
    let cases = [
        vec![Step::Hang],
        vec![Step::Write(
            b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n{".to_vec(),
        )],
        vec![Step::Write(
            b"HTTP/1.1 418 I'm a teapot\r\ncontent-length: 2\r\n\r\nno".to_vec(),
        )],
        vec![Step::Write(b"garbage that is not HTTP\r\n\r\n".to_vec())],
    ];
    for steps in cases {
        let addr = serve_raw(steps).await;
        let timeouts = sequencer_client::Timeouts {
            user: std::time::Duration::from_millis(300),
            ..Default::default()
        };
        let c = SequencerClient::builder(secret_url(addr))
            .timeouts(timeouts)
            .limits(Limits::default())
            .build()
            .unwrap();
        let err = c.fee().await.unwrap_err();
        assert_clean(&full_text(&err));
    }
}
