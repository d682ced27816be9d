//! `getTemplateHash()` on the application, through alloy's mock transport.

use alloy::rpc::json_rpc::ErrorPayload;
use alloy_primitives::{B256, Bytes};
use l1::{BlockParam, Error};

use crate::support::{APP, Mock};

#[tokio::test]
async fn the_template_hash_is_read_at_the_block_asked() {
    let mock = Mock::new();
    let hash = B256::repeat_byte(0x3a);
    mock.asserter
        .push_success(&Bytes::copy_from_slice(hash.as_slice()));
    let at = BlockParam::Hash(B256::repeat_byte(9));
    assert_eq!(
        l1::template_hash(&mock.provider, APP, at).await.unwrap(),
        Some(hash)
    );
    let (method, params) = mock.requests().pop().unwrap();
    assert_eq!(method, "eth_call");
    assert_eq!(params[0]["to"], format!("{APP:#x}"));
    assert_eq!(params[0]["data"], "0x61b12c66");
    assert_eq!(
        params[1]["blockHash"],
        format!("{:#x}", B256::repeat_byte(9))
    );
}

#[tokio::test]
async fn no_application_yet_is_none_and_a_malformed_answer_an_error() {
    let mock = Mock::new();
    mock.asserter.push_failure(ErrorPayload {
        code: 3,
        message: "execution reverted".into(),
        data: None,
    });
    mock.asserter.push_success(&Bytes::new());
    mock.asserter.push_success(&Bytes::from(vec![1u8; 5]));
    let at = BlockParam::Number(1);
    assert_eq!(
        l1::template_hash(&mock.provider, APP, at).await.unwrap(),
        None
    );
    assert_eq!(
        l1::template_hash(&mock.provider, APP, at).await.unwrap(),
        None
    );
    let err = l1::template_hash(&mock.provider, APP, at)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
}
