//! The `l1` InputBox reader against anvil behind a provider-style `eth_getLogs` cap: inputs
//! complete and ordered, covered ranges contiguous with no gap or overlap.

use std::collections::HashMap;

use alloy::primitives::{Bytes, TxHash, U256};
use devnet_pins::{ANVIL_ADDRESSES, CHAIN_ID, roles};
use devnet_stack::Devnet;
use fault_proxy::{BlockRange, GetLogsCap, ProxyOutcome, ProxyRules, RpcProxy, check_exact_cover};
use l1::{HeadTag, Input, InputReader, RangePlan, RequestBudget, RpcConfig, ScanReport};

const BLOCKS: u64 = 40;

/// A devnet with one portal deposit and then 0–3 direct inputs in each of `BLOCKS` blocks
/// (automine off while filling). Returns the expected payload of every input by transaction.
async fn busy_devnet() -> (Devnet, HashMap<TxHash, Bytes>) {
    let devnet = Devnet::start().await.unwrap();
    let mut expected = HashMap::new();
    let alice = ANVIL_ADDRESSES[roles::ALICE];
    let deposit = devnet
        .l1()
        .deposit_erc20(alice, U256::from(600_000u64), Bytes::new())
        .await
        .unwrap();
    let payload = canonical::EvmAdvance::decode(&deposit.input)
        .unwrap()
        .payload;
    expected.insert(deposit.transaction_hash, payload);

    devnet.set_automine(false).await.unwrap();
    let sender = ANVIL_ADDRESSES[roles::DIRECT_INPUTS];
    for block in 0..BLOCKS {
        for k in 0..block % 4 {
            let payload = Bytes::from(format!("block {block} input {k}").into_bytes());
            let hash = devnet
                .l1()
                .submit_add_input(sender, payload.clone())
                .await
                .unwrap();
            expected.insert(hash, payload);
        }
        devnet.mine(1).await.unwrap();
    }
    devnet.set_automine(true).await.unwrap();
    devnet.mine(2).await.unwrap(); // make the last input safe
    (devnet, expected)
}

fn served(proxy: &RpcProxy) -> Vec<BlockRange> {
    proxy.served_get_logs_ranges()
}

fn covered(report: &ScanReport) -> Vec<BlockRange> {
    report
        .covered
        .iter()
        .map(|r| BlockRange::new(r.from, r.to))
        .collect()
}

async fn scan(
    url: &str,
    devnet: &Devnet,
    plan: RangePlan,
    from: u64,
    to: u64,
) -> (Vec<Input>, ScanReport) {
    let provider = l1::connect(url, &RpcConfig::default(), &RequestBudget::unlimited()).unwrap();
    let d = devnet.deployment();
    let reader = InputReader::new(provider, d.application, d.input_box, CHAIN_ID, plan);
    let mut inputs = Vec::new();
    let report = reader
        .scan(from, to, 0, |input| inputs.push(input))
        .await
        .unwrap();
    let target = l1::block_by_number(reader.provider(), to).await.unwrap();
    reader.verify_count(&report, target.hash).await.unwrap();
    (inputs, report)
}

fn assert_complete_and_ordered(inputs: &[Input], expected: &HashMap<TxHash, Bytes>) {
    assert_eq!(inputs.len(), expected.len(), "every input is read once");
    for (i, input) in inputs.iter().enumerate() {
        assert_eq!(input.index, i as u64);
        assert_eq!(input.advance.index, U256::from(i));
        assert_eq!(input.advance.block_number, input.block_number);
        assert_eq!(
            Some(&input.advance.payload),
            expected.get(&input.tx_hash),
            "input {i}"
        );
    }
    for pair in inputs.windows(2) {
        assert!(
            pair[0].l1_position() < pair[1].l1_position(),
            "inputs out of L1 order"
        );
    }
    let blocks: std::collections::BTreeSet<u64> = inputs.iter().map(|i| i.block_number).collect();
    assert!(blocks.len() > 20, "inputs spread over many blocks");
}

#[tokio::test]
async fn l1_scans_through_a_range_capped_provider_completely_and_contiguously() {
    let (devnet, expected) = busy_devnet().await;
    let from = devnet.deployment().application_block;
    let provider = l1::connect(
        devnet.rpc_url(),
        &RpcConfig::default(),
        &RequestBudget::unlimited(),
    )
    .unwrap();
    let to = l1::block_by_tag(&provider, HeadTag::Safe)
        .await
        .unwrap()
        .number;
    assert!(to >= from + BLOCKS);
    let whole = BlockRange::new(from, to);

    // A span cap: wide ranges are refused with -32005 before reaching the node.
    const CAP: u64 = 5;
    let proxy = RpcProxy::start(
        devnet.rpc_url(),
        ProxyRules {
            get_logs_cap: Some(GetLogsCap::max_range(CAP)),
            ..ProxyRules::default()
        },
    )
    .await
    .unwrap();
    let (inputs, report) = scan(&proxy.url(), &devnet, RangePlan::new(), from, to).await;
    assert_complete_and_ordered(&inputs, &expected);
    check_exact_cover(&covered(&report), whole).unwrap();
    check_exact_cover(&served(&proxy), whole).unwrap();
    assert_eq!(
        served(&proxy),
        covered(&report),
        "the node served exactly the covered ranges"
    );
    assert!(served(&proxy).iter().all(|r| r.len() <= CAP));
    let refused = proxy
        .get_logs_entries()
        .iter()
        .filter(|e| e.outcome == ProxyOutcome::Refused { code: -32005 })
        .count() as u64;
    assert!(refused > 0);
    assert_eq!(refused, report.range_errors);
    let span = report.learned_span().unwrap();
    assert!(span <= CAP);

    // The learned span is reused: no range error at all the second time.
    proxy.clear_entries();
    let (again, report) = scan(
        &proxy.url(),
        &devnet,
        RangePlan::new().with_span(Some(span)),
        from,
        to,
    )
    .await;
    assert_eq!(again, inputs);
    assert_eq!(report.range_errors, 0);
    check_exact_cover(&served(&proxy), whole).unwrap();
    assert!(
        proxy
            .get_logs_entries()
            .iter()
            .all(|e| e.outcome == ProxyOutcome::Forwarded)
    );

    // A result cap that suggests a range (Infura's `Try with this block range`).
    const MAX_LOGS: usize = 4;
    proxy.clear_entries();
    proxy.set_rules(ProxyRules {
        get_logs_cap: Some(GetLogsCap::max_results(MAX_LOGS).suggesting()),
        ..ProxyRules::default()
    });
    let (again, report) = scan(&proxy.url(), &devnet, RangePlan::new(), from, to).await;
    assert_eq!(again, inputs);
    assert!(report.range_errors > 0);
    check_exact_cover(&covered(&report), whole).unwrap();
    check_exact_cover(&served(&proxy), whole).unwrap();
    for entry in proxy.get_logs_entries() {
        if entry.outcome == ProxyOutcome::Forwarded {
            assert!(entry.result_count.unwrap() <= MAX_LOGS, "{entry:?}");
        }
    }
}
