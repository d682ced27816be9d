//! A deposit and a transfer finalized on the synthetic L1, agreed by the real watchdog, then a
//! reorg below `safe` that rewrites a deposit: a true divergence.

use alloy::primitives::U256;
use devnet_pins::{addresses, roles};
use devnet_scenarios::deploy::{Deployer, InProcessDeployer, Replacement, ReplacementInput};
use devnet_scenarios::driver::ensure_watchdog_binary;
use devnet_scenarios::topology::{Topology, WatchdogSpec};

use crate::support::{account, balances, client, replay, served, settle, transfer};

#[tokio::test]
async fn the_watchdog_agrees_on_the_synthetic_l1_and_catches_a_deposit_rewritten_below_safe() {
    let binary = ensure_watchdog_binary(false).await.unwrap();
    let topology = Topology::new().seed(0x5eed).watchdog(WatchdogSpec {
        confirm: true,
        snapshot_block: 0,
    });
    let net = InProcessDeployer.deploy(&topology).await.unwrap();
    assert_eq!(net.caps(), InProcessDeployer::CAPS);
    let l1 = net.synthetic().expect("the in-process L1 is synthetic");
    let client = client(&net);
    let watchdog = net.watchdog(&binary);
    watchdog
        .run(&["init"])
        .await
        .unwrap()
        .expect_exit(0)
        .unwrap();

    // Round 1: deposit and transfer, agreed.
    let alice = account(roles::ALICE);
    let deposit = net
        .l1()
        .deposit_erc20(alice, U256::from(600_000u64))
        .await
        .unwrap();
    assert_eq!(deposit.index, 0);
    let tx = transfer(&client, roles::ALICE, roles::BOB, 400_000).await;
    let (b1, state) = settle(
        &net,
        &client,
        &[tx],
        balances(&[(roles::ALICE, 161_724), (roles::BOB, 400_000)]),
    )
    .await;
    assert_eq!(
        state,
        replay(l1, b1),
        "served state = canonical replay of L1"
    );
    let tick = watchdog.run(&["tick"]).await.unwrap();
    tick.expect_exit(0)
        .unwrap()
        .expect_outcome("agreed")
        .unwrap();
    let target = tick.summary["target_block"].as_u64().unwrap_or_default();
    assert!(target >= b1, "{}", tick.summary_line);

    // Round 2, above the watchdog head: another deposit and a transfer, finalized (fee 38 276
    // per op); the deposit is drained into a batch by then.
    let deposit = net
        .l1()
        .deposit_erc20(alice, U256::from(600_000u64))
        .await
        .unwrap();
    assert!(deposit.block > b1);
    let tx = transfer(&client, roles::ALICE, roles::BOB, 1).await;
    let (b2, before) = settle(
        &net,
        &client,
        &[tx],
        balances(&[(roles::ALICE, 723_447), (roles::BOB, 400_001)]),
    )
    .await;
    assert!(b2 > deposit.block);
    assert_eq!(before, replay(l1, b2));

    // Rewrite the deposit as 500 000 at the same index, keep every later input (the batches)
    // in its block: the sequencer's served state now disagrees with L1.
    let latest = l1.latest();
    assert!(deposit.block < latest - 1, "the deposit is below safe");
    let mut replacements = vec![Replacement {
        offset: 0,
        input: ReplacementInput::Deposit {
            depositor: alice,
            amount: U256::from(500_000u64),
        },
    }];
    for later in l1.inputs().into_iter().filter(|i| i.index > deposit.index) {
        assert_ne!(later.msg_sender, addresses::ERC20_PORTAL);
        replacements.push(Replacement {
            offset: later.block - deposit.block,
            input: ReplacementInput::Direct {
                sender: later.msg_sender,
                payload: later.payload,
            },
        });
    }
    let depth = latest - deposit.block + 1;
    let reorged = net.l1().reorg(depth, replacements).await.unwrap();
    assert_eq!(reorged.from_block, deposit.block);
    assert!(reorged.old.iter().zip(&reorged.new).all(|(a, b)| a != b));
    let rewritten = &l1.inputs()[deposit.index as usize..];
    assert_eq!(rewritten[0].block, deposit.block, "same block, same index");
    assert_ne!(replay(l1, b2), before, "the L1 now computes another state");
    assert_eq!(
        served(&client).await,
        before,
        "the sequencer still serves the old one"
    );

    let tick = watchdog.run(&["tick"]).await.unwrap();
    tick.expect_exit(2).unwrap();
    assert_eq!(
        tick.reason(),
        Some("state_mismatch"),
        "{}",
        tick.summary_line
    );
    let kinds: Vec<_> = tick
        .parsed_events()
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(kinds, ["state_mismatch"]);
    net.shutdown().await.unwrap();
}
