//! The native backend: checkpoints, genesis and a realistic input mix.

use alloy_primitives::{Address, B256, Bytes, U256};
use canonical::{
    Batch, Erc20Deposit, Frame, Method, UserOp, WalletConfig, WalletSnapshot, WireUserOp,
    address_of, fee_to_linear, sign_user_op,
};
use machine::{
    Error, Machine, MachineBackend, NATIVE_MANIFEST_FILE, NATIVE_STATE_FILE, NativeBackend,
    Outcome, SnapshotReason, Status, query_state,
};
use sha2::{Digest, Sha256};

use crate::common::{APP, advance, ctl, scratch};

fn deposit(config: &WalletConfig, to: Address, value: u64, index: u64) -> Vec<u8> {
    let payload = Erc20Deposit {
        token: config.supported_erc20_token,
        depositor: to,
        value: U256::from(value),
        exec_layer_data: Bytes::new(),
    };
    advance(config.erc20_portal_address, index, &payload.encode())
}

fn transfer_batch(config: &WalletConfig, key: &B256, to: Address, index: u64) -> Vec<u8> {
    let op = UserOp {
        nonce: 0,
        max_fee: 0,
        data: Method::Transfer {
            amount: U256::from(25u64),
            to,
        }
        .encode()
        .into(),
    };
    let signature = sign_user_op(key, 31337, APP, &op).expect("signs");
    let batch = Batch {
        nonce: 0,
        frames: vec![Frame {
            user_ops: vec![WireUserOp {
                nonce: op.nonce,
                max_fee: op.max_fee,
                data: op.data.clone(),
                signature: signature.to_vec().into(),
            }],
            safe_block: 100,
            fee_price: 0,
        }],
    };
    advance(config.sequencer_address, index, &batch.encode())
}

#[test]
fn genesis_profiles_load_from_nothing() {
    let mut m = NativeBackend
        .load(std::path::Path::new("genesis:devnet"))
        .unwrap();
    assert_eq!(m.status(), &Status::Ready);
    let state = query_state(m.as_mut(), b"state", &ctl()).unwrap();
    let snapshot = WalletSnapshot::decode(&state).unwrap();
    assert_eq!(snapshot, WalletSnapshot::genesis(&WalletConfig::devnet()));
    let mut sepolia = NativeBackend::genesis("sepolia").unwrap();
    assert_ne!(sepolia.root_hash().unwrap(), m.root_hash().unwrap());
    assert!(matches!(
        NativeBackend::genesis("mainnet"),
        Err(Error::Snapshot {
            reason: SnapshotReason::Missing(_),
            ..
        })
    ));
}

#[test]
fn deposits_and_signed_transfers_change_the_wallet() {
    let config = WalletConfig::devnet();
    let key = B256::repeat_byte(0x42);
    let alice = address_of(&key).unwrap();
    let bob = Address::repeat_byte(0xb0);
    let mut m = NativeBackend::genesis("devnet").unwrap();
    let report = m
        .advance(&deposit(&config, alice, 1_000, 0), &ctl())
        .unwrap();
    assert!(matches!(report.outcome, Outcome::Accepted { .. }));
    assert!(
        report.outputs.is_empty(),
        "a direct input waits in the queue"
    );
    let report = m
        .advance(&transfer_batch(&config, &key, bob, 1), &ctl())
        .unwrap();
    assert!(
        matches!(report.outcome, Outcome::Accepted { .. }),
        "{report:?}"
    );
    assert_eq!(
        report.outputs.len(),
        2,
        "deposit notice and transfer notice"
    );
    let snapshot = WalletSnapshot::decode(&query_state(&mut m, b"", &ctl()).unwrap()).unwrap();
    let balance = |who: Address| {
        snapshot
            .balances
            .iter()
            .find(|b| b.address == who)
            .map(|b| b.balance)
            .unwrap_or_default()
    };
    assert_eq!(balance(bob), U256::from(25u64));
    assert_eq!(balance(alice), U256::from(975u64) - fee_to_linear(0));
    assert_eq!(m.engine().snapshot(), snapshot);
}

#[test]
fn the_digest_is_the_sha256_of_the_checkpoint() {
    let dir = scratch();
    let config = WalletConfig::devnet();
    let mut m = NativeBackend::genesis("devnet").unwrap();
    m.advance(&deposit(&config, Address::repeat_byte(1), 5, 0), &ctl())
        .unwrap();
    let dest = dir.path().join("ckpt");
    let root = m.store(&dest).unwrap();
    let bytes = std::fs::read(dest.join(NATIVE_STATE_FILE)).unwrap();
    assert_eq!(root, <[u8; 32]>::from(Sha256::digest(&bytes)));
    assert_eq!(bytes, m.engine().state().encode());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dest.join(NATIVE_MANIFEST_FILE)).unwrap()).unwrap();
    assert_eq!(manifest["sha256"], hex::encode(root));
    assert_eq!(manifest["length"], bytes.len() as u64);
}

#[test]
fn corrupt_checkpoints_are_refused_and_never_modified() {
    let dir = scratch();
    let mut m = NativeBackend::genesis("devnet").unwrap();
    let good = dir.path().join("good");
    m.store(&good).unwrap();
    let corrupt = |name: &str, edit: &dyn Fn(&std::path::Path)| {
        let path = dir.path().join(name);
        std::fs::create_dir(&path).unwrap();
        for file in [NATIVE_STATE_FILE, NATIVE_MANIFEST_FILE] {
            std::fs::copy(good.join(file), path.join(file)).unwrap();
        }
        edit(&path);
        let before: Vec<Vec<u8>> = [NATIVE_STATE_FILE, NATIVE_MANIFEST_FILE]
            .iter()
            .map(|f| std::fs::read(path.join(f)).unwrap_or_default())
            .collect();
        let err = NativeBackend.load(&path).err().expect("refused");
        assert!(matches!(err, Error::Snapshot { .. }), "{name}: {err:?}");
        assert_eq!(err.class(), machine::Class::Operator);
        let after: Vec<Vec<u8>> = [NATIVE_STATE_FILE, NATIVE_MANIFEST_FILE]
            .iter()
            .map(|f| std::fs::read(path.join(f)).unwrap_or_default())
            .collect();
        assert_eq!(before, after, "{name}: load must not write");
    };
    corrupt("flipped", &|p| {
        let mut bytes = std::fs::read(p.join(NATIVE_STATE_FILE)).unwrap();
        bytes[10] ^= 1;
        std::fs::write(p.join(NATIVE_STATE_FILE), bytes).unwrap();
    });
    corrupt("truncated", &|p| {
        let bytes = std::fs::read(p.join(NATIVE_STATE_FILE)).unwrap();
        std::fs::write(p.join(NATIVE_STATE_FILE), &bytes[..bytes.len() - 1]).unwrap();
    });
    corrupt("no-manifest", &|p| {
        std::fs::remove_file(p.join(NATIVE_MANIFEST_FILE)).unwrap()
    });
    corrupt("bad-manifest", &|p| {
        std::fs::write(p.join(NATIVE_MANIFEST_FILE), b"{").unwrap()
    });
    corrupt("no-state", &|p| {
        std::fs::remove_file(p.join(NATIVE_STATE_FILE)).unwrap()
    });
    assert!(NativeBackend.load(&good).is_ok());
}

#[test]
fn a_guest_panic_is_a_recorded_halt() {
    let dir = scratch();
    let mut m = NativeBackend::genesis("devnet").unwrap();
    let report = m.advance(b"\x41\x5b\xf3\x63 truncated", &ctl()).unwrap();
    assert_eq!(
        report.outcome,
        Outcome::Halted(machine::NATIVE_FATAL_EXIT_CODE)
    );
    let dest = dir.path().join("halted");
    m.store(&dest).unwrap();
    let reloaded = NativeBackend.load(&dest).unwrap();
    assert_eq!(
        reloaded.status(),
        &Status::Stuck(Outcome::Halted(machine::NATIVE_FATAL_EXIT_CODE))
    );
}
