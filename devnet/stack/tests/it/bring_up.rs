//! Bring-up: the stack is ready at genesis, in both sequencer modes, and leaves nothing behind.

use canonical::{WalletConfig, WalletSnapshot};
use devnet_pins::addresses;
use devnet_stack::{LocalStack, SequencerMode};

use crate::http::{get, get_json};
use crate::support::{alive, sequencer_bin};

async fn assert_genesis(stack: &LocalStack) {
    let url = stack.sequencer_url();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, bytes) = get(url, "/finalized_state").await.unwrap();
    assert_eq!(status, 200);
    assert_eq!(
        bytes,
        WalletSnapshot::genesis(&WalletConfig::devnet()).encode(),
        "the genesis finalized state is the canonical genesis encoding"
    );
    let point = get_json(url, "/finalized_state/inclusion_block").await;
    assert_eq!(point["inclusion_block"], 0, "{point}");
    assert_eq!(point["executed_input_count"], 0, "{point}");
    let d = stack.devnet().deployment();
    assert_eq!(d.input_box, addresses::INPUT_BOX);
    assert_eq!(d.erc20_portal, addresses::ERC20_PORTAL);
    assert_eq!(d.token, addresses::TOKEN);
    assert_eq!(d.application, addresses::APPLICATION);
    assert_eq!(stack.finalized_inclusion_block().await.unwrap(), 0);
}

#[tokio::test]
async fn a_stack_with_a_sequencer_child_is_ready_at_genesis_and_leaves_no_process() {
    let stack = LocalStack::builder()
        .sequencer(SequencerMode::child_at(sequencer_bin()))
        .start()
        .await
        .unwrap();
    assert_genesis(&stack).await;
    let anvil = stack.devnet().anvil().pid();
    let sequencer = stack.sequencer_pid().unwrap();
    let run_id = stack.run_id().to_owned();
    // Both children carry the run id (and nothing else does).
    assert_eq!(devnet_stack::process::pids_with_run_id(&run_id), {
        let mut pids = vec![anvil, sequencer];
        pids.sort_unstable();
        pids
    });
    let root = stack.dirs().root.clone();
    assert!(stack.dirs().logs.join("anvil.log").is_file());
    assert!(stack.dirs().logs.join("sequencer.log").is_file());
    stack.shutdown().await.unwrap();
    assert!(!alive(anvil) && !alive(sequencer));
    assert!(!devnet_stack::process::group_exists(sequencer));
    assert!(devnet_stack::process::pids_with_run_id(&run_id).is_empty());
    assert!(!root.exists(), "the temporary directory is removed");
}

#[tokio::test]
async fn a_stack_with_a_sequencer_task_is_ready_at_genesis() {
    let stack = LocalStack::start().await.unwrap();
    assert!(stack.sequencer_pid().is_none());
    assert_genesis(&stack).await;
    stack.shutdown().await.unwrap();
}
