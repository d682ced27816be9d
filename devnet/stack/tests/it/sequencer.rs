//! The devnet sequencer end to end on anvil with the real Rollups contracts: a portal deposit, a transfer signed by
//! anvil's `eth_signTypedData_v4` through `POST /tx`, the batch posted from account 9, and the
//! finalized state equal to a canonical replay of the InputBox inputs read with the `l1` crate.

use std::time::Duration;

use alloy::primitives::{Bytes, U256};
use alloy::providers::Provider as _;
use canonical::{Engine, WalletConfig, WalletSnapshot};
use devnet_pins::{ANVIL_ADDRESSES, roles};
use devnet_sequencer::{Sequencer, SequencerConfig};
use devnet_stack::Devnet;
use l1::{InputReader, RangePlan, RequestBudget, RpcConfig};
use sequencer_client::{RedactedUrl, SequencerClient, TxRequest};
use serde_json::json;

/// The frame fee at the devnet sequencer's default fee exponent.
const FEE: u64 = 38_276;

#[tokio::test]
async fn a_transfer_on_anvil_finalizes_to_the_canonical_replay() {
    let (alice, bob) = (ANVIL_ADDRESSES[roles::ALICE], ANVIL_ADDRESSES[roles::BOB]);
    let devnet = Devnet::start().await.unwrap();
    let d = *devnet.deployment();
    let mut config = SequencerConfig::devnet(devnet.rpc_url(), d.application);
    config.input_box = Some(d.input_box);
    config.poll_interval = Duration::from_millis(50);
    config.batch_interval = Duration::from_millis(100);
    let seq = Sequencer::start(config).await.unwrap();
    let client = SequencerClient::new(RedactedUrl::parse(&seq.url()).unwrap()).unwrap();
    assert_eq!(
        client.inclusion_block().await.unwrap().inclusion_block,
        0,
        "genesis is comparable at once"
    );

    let deposit = devnet
        .l1()
        .deposit_erc20(alice, U256::from(1_000_000u64), Bytes::new())
        .await
        .unwrap();
    // The op is signed by anvil's own `eth_signTypedData_v4` over typed data built from
    // `GET /domain`: an EIP-712 cross-check of the sequencer's (canonical's) hashing.
    let domain = client.domain().await.unwrap();
    let data = Bytes::from(
        canonical::Method::Transfer {
            amount: U256::from(1000u64),
            to: bob,
        }
        .encode(),
    );
    let typed = json!({
        "types": {
            "EIP712Domain": [
                {"name": "name", "type": "string"},
                {"name": "version", "type": "string"},
                {"name": "chainId", "type": "uint256"},
                {"name": "verifyingContract", "type": "address"},
            ],
            "UserOp": [
                {"name": "nonce", "type": "uint32"},
                {"name": "max_fee", "type": "uint16"},
                {"name": "data", "type": "bytes"},
            ],
        },
        "primaryType": "UserOp",
        "domain": {
            "name": domain.name,
            "version": domain.version,
            "chainId": domain.chain_id,
            "verifyingContract": domain.verifying_contract,
        },
        "message": {"nonce": 0, "max_fee": 1400, "data": data},
    });
    let signature: Bytes = devnet
        .provider()
        .raw_request("eth_signTypedData_v4".into(), (alice, typed))
        .await
        .unwrap();
    let op = canonical::UserOp {
        nonce: 0,
        max_fee: 1400,
        data: data.clone(),
    };
    let hash = canonical::signing_hash(31337, d.application, &op);
    assert_eq!(canonical::recover_sender(&hash, &signature), Some(alice));
    let tx = TxRequest {
        nonce: 0,
        max_fee: 1400,
        data,
        signature,
        sender: alice,
    };

    // Mine until the deposit is drained into a frame and the transfer is accepted, then until
    // the batch carrying it is finalized.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut accepted = false;
    let block = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no finalized transfer"
        );
        if !accepted {
            accepted = client.submit_tx(&tx).await.is_ok();
        }
        let point = client.inclusion_block().await.unwrap();
        if accepted && point.inclusion_block > deposit.block_number {
            break point.inclusion_block;
        }
        devnet.mine(1).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    let provider = l1::connect(
        devnet.rpc_url(),
        &RpcConfig::default(),
        &RequestBudget::unlimited(),
    )
    .unwrap();
    let reader = InputReader::new(
        provider,
        d.application,
        d.input_box,
        31337,
        RangePlan::new(),
    );
    let mut engine = Engine::new(WalletConfig::devnet());
    let mut inputs = Vec::new();
    reader
        .scan(0, block, 0, |input| inputs.push(input))
        .await
        .unwrap();
    for input in &inputs {
        engine.advance(&input.raw).unwrap();
    }
    let served = client
        .download_state(1 << 20, None)
        .await
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(served.bytes, engine.snapshot().encode());
    assert_eq!(served.meta.inclusion_block, block);
    let snapshot = WalletSnapshot::decode(&served.bytes).unwrap();
    assert_eq!(
        snapshot.balance_of(alice),
        Some(U256::from(1_000_000 - FEE - 1000))
    );
    assert_eq!(snapshot.balance_of(bob), Some(U256::from(1000)));
    let submitter = WalletConfig::devnet().sequencer_address;
    assert!(
        inputs.iter().any(|i| i.advance.msg_sender == submitter),
        "the batch came from account 9"
    );
    seq.shutdown().await.unwrap();
    devnet.shutdown().await.unwrap();
}
