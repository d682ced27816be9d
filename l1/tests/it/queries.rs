//! Chain, block and InputBox queries, through alloy's mock transport.

use alloy::rpc::json_rpc::ErrorPayload;
use alloy_primitives::{Address, B256, Bytes, U256};
use l1::{BlockParam, BlockRef, Class, DiscoveryProblem, Error, HeadTag};
use serde_json::json;

use crate::support::{APP, INPUT_BOX, Mock};

fn revert(mock: &Mock) {
    mock.asserter.push_failure(ErrorPayload {
        code: 3,
        message: "execution reverted".into(),
        data: None,
    });
}

fn address_word(address: Address) -> Bytes {
    Bytes::copy_from_slice(address.into_word().as_slice())
}

fn da_input_box(address: Address) -> Bytes {
    let mut content = l1::DA_INPUT_BOX.to_vec();
    content.extend_from_slice(address.into_word().as_slice());
    let mut out = U256::from(32).to_be_bytes::<32>().to_vec();
    out.extend_from_slice(&U256::from(content.len()).to_be_bytes::<32>());
    out.extend_from_slice(&content);
    out.resize(128, 0);
    out.into()
}

#[tokio::test]
async fn chain_id_is_checked() {
    let mock = Mock::new();
    mock.asserter.push_success(&"0x7a69");
    mock.asserter.push_success(&"0x1");
    l1::ensure_chain_id(&mock.provider, 31337).await.unwrap();
    let err = l1::ensure_chain_id(&mock.provider, 31337)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ChainIdMismatch {
                expected: 31337,
                found: 1
            }
        ),
        "{err}"
    );
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Operator, "chain_id_mismatch")
    );
}

#[tokio::test]
async fn head_tags_and_block_numbers_resolve_to_number_and_hash() {
    let mock = Mock::new();
    let hash = B256::repeat_byte(7);
    mock.asserter
        .push_success(&json!({"number": "0x10", "hash": hash, "extra": [1, 2, 3]}));
    mock.asserter
        .push_success(&json!({"number": "0x11", "hash": hash}));
    mock.asserter
        .push_success(&json!({"number": "0x13", "hash": hash}));
    mock.asserter.push_success(&serde_json::Value::Null);
    assert_eq!(
        l1::block_by_tag(&mock.provider, HeadTag::Safe)
            .await
            .unwrap(),
        BlockRef { number: 16, hash }
    );
    assert_eq!(
        l1::block_by_number(&mock.provider, 17).await.unwrap(),
        BlockRef { number: 17, hash }
    );
    let err = l1::block_by_number(&mock.provider, 18).await.unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
    let err = l1::block_by_tag(&mock.provider, HeadTag::Finalized)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::BlockNotFound { ref block } if block == "finalized"),
        "{err}"
    );
    let params: Vec<_> = mock.requests().into_iter().map(|(_, p)| p).collect();
    assert_eq!(
        params,
        [
            json!(["safe", false]),
            json!(["0x11", false]),
            json!(["0x12", false]),
            json!(["finalized", false])
        ]
    );
    assert_eq!("finalized".parse::<HeadTag>().unwrap(), HeadTag::Finalized);
    assert!("pending".parse::<HeadTag>().is_err());
}

#[tokio::test]
async fn an_empty_count_means_zero_only_where_the_input_box_has_code_today() {
    let mock = Mock::new();
    let at = BlockParam::Number(5);
    mock.asserter.push_success(&Bytes::new());
    mock.asserter
        .push_success(&Bytes::from_static(&[0x60, 0x80]));
    assert_eq!(
        l1::input_count(&mock.provider, INPUT_BOX, APP, at)
            .await
            .unwrap(),
        0
    );
    mock.asserter.push_success(&Bytes::new());
    mock.asserter.push_success(&Bytes::new());
    let err = l1::input_count(&mock.provider, INPUT_BOX, APP, at)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::NoCode {
                address: INPUT_BOX,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.class(), Class::Operator);
    mock.asserter.push_success(&Bytes::from_static(&[1, 2, 3]));
    let err = l1::input_count(&mock.provider, INPUT_BOX, APP, at)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BadResponse { .. }), "{err}");
    let (method, params) = mock.requests()[1].clone();
    assert_eq!(
        (method.as_str(), params),
        ("eth_getCode", json!([INPUT_BOX, "latest"])),
        "code is checked today: at the queried block the InputBox may not exist yet"
    );
}

#[tokio::test]
async fn discovery_accepts_either_method_and_requires_agreement() {
    let at = BlockParam::Tag(HeadTag::Latest);
    let other = Address::repeat_byte(0xcc);

    let mock = Mock::new();
    mock.asserter.push_success(&address_word(INPUT_BOX));
    mock.asserter.push_success(&da_input_box(INPUT_BOX));
    assert_eq!(
        l1::discover_input_box(&mock.provider, APP, at)
            .await
            .unwrap(),
        INPUT_BOX
    );
    let calls: Vec<_> = mock
        .requests()
        .into_iter()
        .map(|(_, p)| p[0]["data"].clone())
        .collect();
    assert_eq!(calls, [json!("0x00aace9a"), json!("0xf02478de")]);

    let mock = Mock::new();
    revert(&mock);
    mock.asserter.push_success(&da_input_box(INPUT_BOX));
    assert_eq!(
        l1::discover_input_box(&mock.provider, APP, at)
            .await
            .unwrap(),
        INPUT_BOX
    );

    let mock = Mock::new();
    mock.asserter.push_success(&address_word(INPUT_BOX));
    revert(&mock);
    l1::ensure_input_box(&mock.provider, APP, INPUT_BOX, at)
        .await
        .unwrap();

    let mock = Mock::new();
    mock.asserter.push_success(&address_word(other));
    mock.asserter.push_success(&Bytes::new());
    let err = l1::ensure_input_box(&mock.provider, APP, INPUT_BOX, at)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::InputBoxMismatch { discovered, .. } if discovered == other),
        "{err}"
    );

    let mock = Mock::new();
    mock.asserter.push_success(&address_word(other));
    mock.asserter.push_success(&da_input_box(INPUT_BOX));
    let err = l1::discover_input_box(&mock.provider, APP, at)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Discovery {
                problem: DiscoveryProblem::Disagree { .. },
                ..
            }
        ),
        "{err}"
    );

    let mock = Mock::new();
    revert(&mock);
    revert(&mock);
    let err = l1::discover_input_box(&mock.provider, APP, at)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Discovery {
                problem: DiscoveryProblem::Unsupported,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        (err.class(), err.reason()),
        (Class::Operator, "config_invalid")
    );

    let mock = Mock::new();
    mock.asserter.push_success(&Bytes::from_static(&[0xff; 32]));
    let err = l1::discover_input_box(&mock.provider, APP, at)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Discovery {
                problem: DiscoveryProblem::Malformed(_),
                ..
            }
        ),
        "{err}"
    );

    // A transport failure is not a revert: no fallback.
    let mock = Mock::new();
    mock.asserter.push_failure(ErrorPayload {
        code: -32000,
        message: "upstream down".into(),
        data: None,
    });
    let err = l1::discover_input_box(&mock.provider, APP, at)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert_eq!(mock.requests().len(), 1);
}
