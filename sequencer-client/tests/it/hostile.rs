//! Hostile answers: bad JSON, oversized and slow bodies, lying lengths, odd statuses.

use std::time::Duration;

use sequencer_client::{Class, Error, Limits};

use crate::server::{Step, chunked, client, serve_raw, tight_client};

fn json_answer(status: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

#[tokio::test]
async fn hostile_json_is_a_bad_response() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let bodies = [
        r#"{"inclusion_block":"7","executed_input_count":1}"#.to_owned(),
        r#"{"inclusion_block":-7,"executed_input_count":1}"#.to_owned(),
        r#"{"inclusion_block":18446744073709551616,"executed_input_count":1}"#.to_owned(),
        r#"{"inclusion_block":7.5,"executed_input_count":1}"#.to_owned(),
        r#"{"inclusion_block":7}"#.to_owned(),
        r#"{"executed_input_count":7}"#.to_owned(),
        r#"{"inclusion_block":7,"inclusion_block":8,"executed_input_count":1}"#.to_owned(),
        r#"{"inclusion_block":7,"executed_input_count":1"#.to_owned(),
        "<html>502 Bad Gateway</html>".to_owned(),
        String::new(),
        "null".to_owned(),
        deep,
    ];
    for body in bodies {
        let addr = serve_raw(vec![Step::Write(json_answer("200 OK", &body))]).await;
        let err = client(addr).inclusion_block().await.unwrap_err();
        assert!(
            matches!(err, Error::BadResponse { .. }),
            "{body:.60}: {err:?}"
        );
        assert_eq!(err.class(), Class::Transient);
        assert!(err.to_string().len() < 600, "detail must stay short: {err}");
    }
}

#[tokio::test]
async fn hostile_digests_are_refused() {
    for sha in [
        "00",
        "0x0000",
        &"g".repeat(64),
        &format!("0x{}", "a".repeat(64)),
    ] {
        let body = format!(r#"{{"inclusion_block":1,"executed_input_count":1,"sha256":"{sha}"}}"#);
        let addr = serve_raw(vec![Step::Write(json_answer("200 OK", &body))]).await;
        let err = client(addr).digest().await.unwrap_err();
        assert!(matches!(err, Error::BadResponse { .. }), "{sha}: {err:?}");
    }
}

#[tokio::test]
async fn oversize_json_is_refused_with_and_without_length() {
    let huge = format!(
        r#"{{"inclusion_block":1,"executed_input_count":1,"pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let addr = serve_raw(vec![Step::Write(json_answer("200 OK", &huge))]).await;
    let err = client(addr).inclusion_block().await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 65_536, .. }),
        "{err:?}"
    );

    let chunk = vec![b' '; 16_384];
    let parts = [chunk.as_slice(); 5];
    let addr = serve_raw(vec![Step::Write(chunked("200 OK", &parts))]).await;
    let err = client(addr).fee().await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 65_536, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn a_silent_server_times_out() {
    let addr = serve_raw(vec![Step::Hang]).await;
    let err = tight_client(addr, Limits::default())
        .inclusion_block()
        .await
        .unwrap_err();
    let Error::Timeout { after, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(after, Duration::from_millis(300));
}

#[tokio::test]
async fn a_slow_body_times_out() {
    let mut steps = vec![Step::Write(
        b"HTTP/1.1 200 OK\r\nx-inclusion-block: 1\r\ntransfer-encoding: chunked\r\n\r\n".to_vec(),
    )];
    for _ in 0..100 {
        steps.push(Step::Write(b"1\r\nx\r\n".to_vec()));
        steps.push(Step::Pause(Duration::from_millis(50)));
    }
    let addr = serve_raw(steps).await;
    let err = tight_client(addr, Limits::default())
        .download_state(1 << 20, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
    assert_eq!(err.class(), Class::Transient);
}

#[tokio::test]
async fn a_truncated_body_is_a_transport_error() {
    let answer =
        b"HTTP/1.1 200 OK\r\nx-inclusion-block: 1\r\ncontent-length: 1000\r\n\r\nonly a few"
            .to_vec();
    let addr = serve_raw(vec![Step::Write(answer)]).await;
    let err = client(addr)
        .download_state(1 << 20, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transport { .. }), "{err:?}");
}

#[tokio::test]
async fn error_bodies_are_sanitized_and_cut() {
    let body = format!("boom\n\u{1b}[31mfake log line{}", "y".repeat(5_000));
    let addr = serve_raw(vec![Step::Write(json_answer(
        "500 Internal Server Error",
        &body,
    ))])
    .await;
    let err = client(addr).fee().await.unwrap_err();
    let Error::Status {
        status: 500,
        body: snippet,
        ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(
        snippet.starts_with("boom\\n\\u{1b}[31mfake log line"),
        "{snippet:.80}"
    );
    assert!(snippet.ends_with('…'));
    assert!(snippet.len() < 2_200);
    assert!(!err.to_string().contains('\n'));
    assert_eq!(err.class(), Class::Transient);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let answer = b"HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:1/elsewhere\r\ncontent-length: 0\r\n\r\n".to_vec();
    let addr = serve_raw(vec![Step::Write(answer)]).await;
    let err = client(addr).domain().await.unwrap_err();
    assert_eq!(err.status(), Some(302), "{err:?}");
    assert_eq!(err.class(), Class::Operator);
}

#[tokio::test]
async fn unexpected_4xx_without_api_body_is_a_status_error() {
    let addr = serve_raw(vec![Step::Write(json_answer("405 Method Not Allowed", ""))]).await;
    let err = client(addr).digest().await.unwrap_err();
    assert!(matches!(err, Error::Status { status: 405, .. }), "{err:?}");
    assert!(err.is_route_absent());
}
