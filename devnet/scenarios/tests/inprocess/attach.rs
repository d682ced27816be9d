//! `attach` reports what the attached L1 can do: anvil answers `anvil_nodeInfo` (mining and
//! reorgs through its JSON-RPC), the synthetic L1 does not.

use alloy::primitives::U256;
use devnet_pins::{ANVIL_ADDRESSES, addresses};
use devnet_scenarios::deploy::{
    AttachDeployer, Backend, Caps, DeployError, Deployer, InProcessDeployer, L1Error,
    LocalDeployer, Replacement, ReplacementInput,
};
use devnet_scenarios::topology::{Edge, Topology};

#[tokio::test]
async fn attach_to_a_local_deployment_has_mining_and_reorgs() {
    let local = LocalDeployer.deploy(&Topology::new()).await.unwrap();
    assert_eq!(local.caps(), LocalDeployer::CAPS);

    // The anvil L1 control: a deposit rewritten by a reorg with a replacement deposit.
    let devnet = local.devnet().expect("local runs anvil");
    let alice = ANVIL_ADDRESSES[1];
    let landed = local
        .l1()
        .deposit_erc20(alice, U256::from(600_000u64))
        .await
        .unwrap();
    local.l1().mine(3).await.unwrap();
    let app_tokens = || devnet.l1().token_balance(addresses::APPLICATION);
    assert_eq!(app_tokens().await.unwrap(), U256::from(600_000u64));
    let head = local.l1().block_number().await.unwrap();
    let replacement = Replacement {
        offset: 0,
        input: ReplacementInput::Deposit {
            depositor: alice,
            amount: U256::from(500_000u64),
        },
    };
    let reorged = local
        .l1()
        .reorg(head - landed.block + 1, vec![replacement])
        .await
        .unwrap();
    assert_eq!(reorged.from_block, landed.block);
    assert!(reorged.old.iter().zip(&reorged.new).all(|(a, b)| a != b));
    assert_eq!(local.l1().block_number().await.unwrap(), head);
    assert_eq!(app_tokens().await.unwrap(), U256::from(500_000u64));
    assert_eq!(devnet.l1().input_count().await.unwrap(), landed.index + 1);
    let attach = AttachDeployer::new(local.url(Edge::ClientToL1), local.sequencer().url());
    let caps = attach.probe().await.unwrap();
    assert_eq!(caps, Caps::RPC_FAULTS | Caps::MINING | Caps::REORG);
    let mut attached = attach.deploy(&Topology::new()).await.unwrap();
    assert_eq!(
        (attached.backend(), attached.caps()),
        (Backend::Attach, caps)
    );

    let before = attached.l1().block_number().await.unwrap();
    attached.l1().mine(2).await.unwrap();
    // The local sequencer's batches may add blocks of their own (automine).
    assert!(local.l1().block_number().await.unwrap() >= before + 2);
    // A replacement transaction makes the new block differ: an empty block rewritten in the
    // same second as the one it replaces would have the same hash.
    let replacement = Replacement {
        offset: 0,
        input: ReplacementInput::Deposit {
            depositor: alice,
            amount: U256::from(1u64),
        },
    };
    let reorged = attached.l1().reorg(1, vec![replacement]).await.unwrap();
    assert_ne!(reorged.old, reorged.new);
    assert!(matches!(
        attached.sequencer_mut().stop().await,
        Err(DeployError::Unsupported {
            backend: Backend::Attach,
            ..
        })
    ));
    attached.shutdown().await.unwrap();
    local.shutdown().await.unwrap();
}

#[tokio::test]
async fn attach_to_the_synthetic_l1_has_rpc_faults_only() {
    let in_process = InProcessDeployer.deploy(&Topology::new()).await.unwrap();
    let attach = AttachDeployer::new(
        in_process.url(Edge::ClientToL1),
        in_process.sequencer().url(),
    );
    let attached = attach.deploy(&Topology::new()).await.unwrap();
    assert_eq!(attached.caps(), Caps::RPC_FAULTS);
    assert!(matches!(
        attached.l1().mine(1).await,
        Err(L1Error::Unsupported { .. })
    ));
    assert!(matches!(
        attached
            .l1()
            .deposit_erc20(ANVIL_ADDRESSES[1], U256::from(1u64))
            .await,
        Err(L1Error::Unsupported { .. })
    ));
    // The in-process deployment's own controls do work.
    let height = in_process.l1().block_number().await.unwrap();
    in_process.l1().mine(1).await.unwrap();
    assert_eq!(attached.l1().block_number().await.unwrap(), height + 1);
}

#[tokio::test]
async fn proxy_rules_on_edges_deployers_do_not_wire_are_refused() {
    let topology = Topology::new().proxy(Edge::WdToL1, fault_proxy::RuleSet::default());
    let refused = InProcessDeployer.deploy(&topology).await.unwrap_err();
    assert!(
        matches!(refused, DeployError::ProxyNotWired(Edge::WdToL1)),
        "{refused}"
    );
}

#[tokio::test]
async fn the_sequencer_reads_its_l1_through_a_seq_l1_proxy() {
    let topology = Topology::new().proxy(Edge::SeqToL1, fault_proxy::RuleSet::default());
    let net = InProcessDeployer.deploy(&topology).await.unwrap();
    let proxy = net.rpc_proxy(Edge::SeqToL1).expect("a proxy on seq→l1");
    assert_eq!(net.url(Edge::SeqToL1), proxy.url());
    assert_ne!(net.url(Edge::WdToL1), proxy.url());
    assert!(net.rpc_proxy(Edge::WdToL1).is_none());
    // The sequencer checked the chain id through the proxy before the deployment returned.
    let methods: Vec<String> = proxy
        .entries()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.method)
        .collect();
    assert!(methods.iter().any(|m| m == "eth_chainId"), "{methods:?}");
    assert!(net.dir().join("logs/proxy-seq-l1.jsonl").is_file());
    net.shutdown().await.unwrap();
}
