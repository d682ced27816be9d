//! The user API and health routes.

use alloy_primitives::{Address, Bytes, address};
use sequencer_client::{Class, Error, TxRequest};

use crate::server::{Mock, Mode, SENDER, Shape, app, client, serve};

fn tx(max_fee: u16) -> TxRequest {
    TxRequest {
        nonce: 3,
        max_fee,
        data: Bytes::from(vec![0u8; 33]),
        signature: Bytes::from(vec![0x1b; 65]),
        sender: SENDER.parse().unwrap(),
    }
}

#[tokio::test]
async fn submit_tx_accepted_and_refused() {
    let addr = serve(app(Mock::new(Shape::Newest))).await;
    let c = client(addr);
    let ok = c.submit_tx(&tx(60)).await.unwrap();
    assert_eq!(ok.nonce, 3);
    assert_eq!(ok.sender, SENDER.parse::<Address>().unwrap());

    let err = c.submit_tx(&tx(0)).await.unwrap_err();
    let Error::Rejected {
        status: 422, api, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(api.is("EXECUTION_REJECTED"));
    assert_eq!(err.class(), Class::Operator);

    let err = c.submit_tx(&tx(1)).await.unwrap_err();
    assert!(
        matches!(&err, Error::Rejected { status: 429, .. }),
        "{err:?}"
    );
    assert_eq!(err.class(), Class::Transient);

    let err = c.submit_tx(&tx(2)).await.unwrap_err();
    assert_eq!(
        err.api_error().map(|a| a.code.as_str()),
        Some("UNAVAILABLE")
    );
    assert!(matches!(err, Error::Unavailable { .. }));

    let mut short = tx(60);
    short.signature = Bytes::from(vec![1u8; 64]);
    let err = c.submit_tx(&short).await.unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(
        api.message,
        "signature must be 132 hex chars (0x + 65 bytes)"
    );
    assert_eq!(c.requests(), 5);
}

#[tokio::test]
async fn fee_nonce_domain() {
    let addr = serve(app(Mock::new(Shape::Newest))).await;
    let c = client(addr);
    let fee = c.fee().await.unwrap();
    assert_eq!(
        (fee.fee, fee.recommended_fee, fee.suggested_max_fee),
        (12, 14, 67)
    );

    let n = c.next_nonce(SENDER.parse().unwrap()).await.unwrap();
    assert_eq!(n.next_nonce, 7);
    assert_eq!(n.sender, SENDER.parse::<Address>().unwrap());

    let d = c.domain().await.unwrap();
    assert_eq!(d.name, "CartesiAppSequencer");
    assert_eq!(d.version, "1");
    assert_eq!(d.chain_id, 31337);
    assert_eq!(
        d.verifying_contract,
        address!("0x4ce6aac3fdd6e1d6e0d5d3fa2d44a4e2e7a1e083")
    );
}

#[tokio::test]
async fn health_routes() {
    let addr = serve(app(Mock::new(Shape::Newest))).await;
    let c = client(addr);
    c.livez().await.unwrap();
    assert!(c.readyz().await.unwrap());
    let h = c.healthz().await.unwrap();
    assert!(h.ready);
    assert_eq!((h.status.as_str(), h.inclusion_lane.as_str()), ("ok", "ok"));

    let mut mock = Mock::new(Shape::Newest);
    mock.mode = Mode::Diverged;
    let addr = serve(app(mock)).await;
    let c = client(addr);
    assert!(!c.readyz().await.unwrap());
    let h = c.healthz().await.unwrap();
    assert!(!h.ready);
    assert_eq!(
        (h.status.as_str(), h.inclusion_lane.as_str()),
        ("degraded", "stopped")
    );
}

#[tokio::test]
async fn unknown_route_is_not_found() {
    // A router without the user API: every user route is a 404.
    let addr = serve(axum::Router::new()).await;
    let c = client(addr);
    assert!(matches!(c.fee().await.unwrap_err(), Error::NotFound { .. }));
    assert!(matches!(
        c.livez().await.unwrap_err(),
        Error::NotFound { .. }
    ));
    assert!(matches!(
        c.healthz().await.unwrap_err(),
        Error::NotFound { .. }
    ));
}
