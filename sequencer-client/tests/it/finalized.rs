//! Finalized-state routes in both shapes, conditional requests, 404 and 503.

use std::path::PathBuf;

use sequencer_client::{Class, Conditional, ETag, Error, InputCursor, Limits};
use sha2::{Digest, Sha256};

use crate::server::{
    Mock, Mode, Shape, Step, app, chunked, client, serve, serve_raw, tight_client,
};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("sequencer-client-it");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn poll_accepts_both_shapes() {
    for (shape, cursor) in [
        (Shape::Newest, InputCursor::ExecutedInputCount(45)),
        (Shape::Legacy, InputCursor::L2TxIndex(45)),
    ] {
        let addr = serve(app(Mock::new(shape))).await;
        let c = client(addr);
        let point = c.inclusion_block().await.unwrap();
        assert_eq!(point.inclusion_block, 7_000_123);
        assert_eq!(point.cursor, cursor);
        assert_eq!(c.requests(), 1);
    }
}

#[tokio::test]
async fn digest_on_newest_and_absent_on_legacy() {
    let mock = Mock::new(Shape::Newest);
    let addr = serve(app(mock.clone())).await;
    let d = client(addr).digest().await.unwrap();
    assert_eq!(d.inclusion_block, 7_000_123);
    assert_eq!(d.cursor, InputCursor::ExecutedInputCount(45));
    assert_eq!(hex::encode(d.sha256), mock.sha256_hex());

    let addr = serve(app(Mock::new(Shape::Legacy))).await;
    let err = client(addr).digest().await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert!(err.is_route_absent());
}

#[tokio::test]
async fn download_to_file_hashes_on_the_fly_in_both_shapes() {
    for shape in [Shape::Newest, Shape::Legacy] {
        let mock = Mock::new(shape);
        let addr = serve(app(mock.clone())).await;
        let path = scratch(&format!("state-{shape:?}.bin"));
        let got = client(addr)
            .download_state_to_file(&path, None)
            .await
            .unwrap();
        let Conditional::Modified(file) = got else {
            panic!("expected a body")
        };
        assert_eq!(std::fs::read(&path).unwrap(), mock.state);
        assert_eq!(file.len, mock.state.len() as u64);
        assert_eq!(hex::encode(file.sha256), mock.sha256_hex());
        assert_eq!(file.meta.inclusion_block, 7_000_123);
        assert_eq!(
            file.meta.etag.as_ref().map(ETag::as_str),
            Some("\"block-7000123\"")
        );
        match shape {
            Shape::Newest => {
                assert_eq!(file.meta.cursor, Some(InputCursor::ExecutedInputCount(45)));
                assert_eq!(file.meta.recovery_generation, Some(2));
                assert!(file.meta.history_era.is_some());
            }
            Shape::Legacy => {
                assert_eq!(file.meta.cursor, Some(InputCursor::L2TxIndex(45)));
                assert_eq!(file.meta.history_era, None);
            }
        }
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[tokio::test]
async fn download_in_memory_respects_its_cap() {
    let mock = Mock::new(Shape::Newest);
    let addr = serve(app(mock.clone())).await;
    let c = client(addr);
    let got = c
        .download_state(1 << 20, None)
        .await
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(got.bytes, mock.state);
    assert_eq!(hex::encode(got.sha256), mock.sha256_hex());
    let err = c.download_state(100, None).await.unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 100, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn chunked_download_without_length_is_streamed() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
    let parts: Vec<&[u8]> = body.chunks(7_000).collect();
    let answer = chunked(
        "200 OK\r\nx-inclusion-block: 9\r\nx-executed-input-count: 3",
        &parts,
    );
    let addr = serve_raw(vec![Step::Write(answer)]).await;
    let path = scratch("chunked.bin");
    let file = client(addr)
        .download_state_to_file(&path, None)
        .await
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(file.len, body.len() as u64);
    assert_eq!(file.sha256.as_slice(), &Sha256::digest(&body)[..]);
    assert_eq!(std::fs::read(&path).unwrap(), body);
    assert_eq!(file.meta.cursor, Some(InputCursor::ExecutedInputCount(3)));
    assert_eq!(file.meta.etag, None);
}

#[tokio::test]
async fn if_none_match_gives_not_modified() {
    let mock = Mock::new(Shape::Newest);
    let addr = serve(app(mock.clone())).await;
    let c = client(addr);
    let current = ETag::new(mock.etag()).unwrap();
    let got = c.download_state(1 << 20, Some(&current)).await.unwrap();
    assert_eq!(got, Conditional::NotModified);
    let path = scratch("not-modified.bin");
    let got = c
        .download_state_to_file(&path, Some(&current))
        .await
        .unwrap();
    assert_eq!(got, Conditional::NotModified);
    assert!(!path.exists(), "a 304 must not create the file");

    let stale = ETag::new("\"block-1\"").unwrap();
    let got = c.download_state(1 << 20, Some(&stale)).await.unwrap();
    assert!(matches!(got, Conditional::Modified(_)));
}

#[tokio::test]
async fn unsolicited_304_is_an_error() {
    let addr = serve_raw(vec![Step::Write(
        b"HTTP/1.1 304 Not Modified\r\netag: \"block-1\"\r\n\r\n".to_vec(),
    )])
    .await;
    let err = client(addr)
        .download_state(1 << 20, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::UnsolicitedNotModified { .. }),
        "{err:?}"
    );
    assert!(err.is_bad_response());
}

#[tokio::test]
async fn not_ready_is_404_on_every_finalized_route() {
    let mut mock = Mock::new(Shape::Newest);
    mock.mode = Mode::NotReady;
    let addr = serve(app(mock)).await;
    let c = client(addr);
    let errs = [
        c.inclusion_block().await.unwrap_err(),
        c.digest().await.unwrap_err(),
        c.download_state(1 << 20, None).await.unwrap_err(),
        c.download_state_to_file(&scratch("404.bin"), None)
            .await
            .unwrap_err(),
    ];
    for err in errs {
        assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
        assert_eq!(err.class(), Class::Transient);
    }
}

#[tokio::test]
async fn diverged_is_503_with_and_without_body() {
    let mut mock = Mock::new(Shape::Newest);
    mock.mode = Mode::Diverged;
    let addr = serve(app(mock)).await;
    let err = client(addr).inclusion_block().await.unwrap_err();
    let Error::Unavailable { api: Some(api), .. } = &err else {
        panic!("{err:?}")
    };
    assert!(api.is("UNAVAILABLE"));
    assert_eq!(api.message, "finalized state diverged");
    assert_eq!(err.status(), Some(503));

    let mut mock = Mock::new(Shape::Legacy);
    mock.mode = Mode::Diverged;
    let addr = serve(app(mock)).await;
    let err = client(addr)
        .download_state_to_file(&scratch("503.bin"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Unavailable { api: None, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Transient);
}

#[tokio::test]
async fn oversize_state_is_refused_and_the_partial_file_removed() {
    // With Content-Length: refused before reading.
    let addr = serve(app(Mock::new(Shape::Newest))).await;
    let limits = Limits {
        state_bytes: 1_000,
        ..Limits::default()
    };
    let path = scratch("oversize.bin");
    let err = tight_client(addr, limits)
        .download_state_to_file(&path, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 1_000, .. }),
        "{err:?}"
    );
    assert!(!path.exists());

    // Chunked, no length: refused while streaming, partial file removed.
    let big = vec![7u8; 4_096];
    let parts = [big.as_slice(); 4];
    let answer = chunked("200 OK\r\nx-inclusion-block: 9", &parts);
    let addr = serve_raw(vec![Step::Write(answer)]).await;
    let path = scratch("oversize-chunked.bin");
    let limits = Limits {
        state_bytes: 10_000,
        ..Limits::default()
    };
    let err = tight_client(addr, limits)
        .download_state_to_file(&path, None)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BodyTooLarge { limit: 10_000, .. }),
        "{err:?}"
    );
    assert!(!path.exists());
}

#[tokio::test]
async fn state_headers_are_checked() {
    let cases: [(&str, &str); 4] = [
        (
            "200 OK\r\nx-executed-input-count: 1",
            "missing X-Inclusion-Block",
        ),
        (
            "200 OK\r\nx-inclusion-block: abc",
            "x-inclusion-block is not a u64",
        ),
        (
            "200 OK\r\nx-inclusion-block: -1",
            "x-inclusion-block is not a u64",
        ),
        (
            "200 OK\r\nx-inclusion-block: 5\r\nx-l2-tx-index: 1e3",
            "x-l2-tx-index is not a u64",
        ),
    ];
    for (head, want) in cases {
        let addr = serve_raw(vec![Step::Write(chunked(head, &[b"abc"]))]).await;
        let err = client(addr)
            .download_state(1 << 20, None)
            .await
            .unwrap_err();
        assert!(matches!(err, Error::BadResponse { .. }), "{err:?}");
        assert!(err.to_string().contains(want), "{err} lacks {want}");
    }
}

#[tokio::test]
async fn empty_state_body_is_a_bad_response() {
    let answer = b"HTTP/1.1 200 OK\r\nx-inclusion-block: 5\r\ncontent-length: 0\r\n\r\n".to_vec();
    let addr = serve_raw(vec![Step::Write(answer)]).await;
    let c = client(addr);
    let path = scratch("empty.bin");
    let err = c.download_state_to_file(&path, None).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err:?}");
    assert!(!path.exists());
    let err = c.download_state(10, None).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err:?}");
}

#[tokio::test]
async fn unwritable_target_is_an_internal_io_error() {
    let addr = serve(app(Mock::new(Shape::Newest))).await;
    let path = scratch("no-such-dir").join("state.bin");
    let err = client(addr)
        .download_state_to_file(&path, None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert_eq!(err.class(), Class::Internal);
}
