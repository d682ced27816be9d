//! snapshot decode / diff on inputs built with `canonical`.

use alloy_primitives::{U256, address};
use canonical::{SnapshotBalance, SnapshotNonce, WalletConfig, WalletSnapshot};

use crate::{golden::assert_golden, run, run_in, scratch};

fn sample() -> WalletSnapshot {
    let mut s = WalletSnapshot::genesis(&WalletConfig::devnet());
    s.balances = vec![
        SnapshotBalance {
            address: address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
            balance: U256::from(400_000u32),
        },
        SnapshotBalance {
            address: address!("0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"),
            balance: U256::MAX,
        },
    ];
    s.nonces = vec![SnapshotNonce {
        address: address!("0x70997970c51812dc3a010c7d01b50e0d17dc79c8"),
        nonce: 1,
    }];
    s.executed_input_count = 19;
    s.last_executed_safe_block = 7_000_150;
    s
}

/// The legacy 6-field layout of `s`: no clock, offsets shifted by 8.
fn legacy_bytes(s: &WalletSnapshot) -> Vec<u8> {
    let current = s.encode();
    let mut out = current[..76].to_vec();
    out[60..64].copy_from_slice(&76u32.to_le_bytes());
    let nonces = u32::from_le_bytes(current[64..68].try_into().unwrap()) - 8;
    out[64..68].copy_from_slice(&nonces.to_le_bytes());
    out.extend_from_slice(&current[84..]);
    out
}

fn write(name: &str, bytes: &[u8]) {
    std::fs::write(scratch().join(name), bytes).unwrap();
}

#[test]
fn decode_current_layout() {
    write("current.bin", &sample().encode());
    let r = run(&["snapshot", "decode", "current.bin"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout.lines().count(), 1);
    assert_golden("snapshot-decode-current.jsonl", &r.stdout);
    let s = r.summary_json();
    assert_eq!(s["outcome"], "decoded");
    assert_eq!(
        s["snapshot"]["balances"][0]["balance"],
        U256::MAX.to_string()
    );
}

#[test]
fn decode_legacy_layout_from_stdin() {
    let bytes = legacy_bytes(&sample());
    let r = run_in(&scratch(), &["snapshot", "decode", "-"], &[], &bytes);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_golden("snapshot-decode-v1.jsonl", &r.stdout);
    let s = r.summary_json();
    assert_eq!(s["layout"], "v1");
    assert_eq!(
        s["snapshot"]["last_executed_safe_block"],
        serde_json::Value::Null
    );
    assert_eq!(s["bytes"], bytes.len());
}

#[test]
fn decode_failures_are_operator_decode_failed() {
    let mut unsorted = WalletSnapshot::genesis(&WalletConfig::devnet()).encode();
    // Two nonce entries in descending address order.
    unsorted.extend_from_slice(&[0xff; 20]);
    unsorted.extend_from_slice(&1u32.to_le_bytes());
    unsorted.extend_from_slice(&[0x01; 20]);
    unsorted.extend_from_slice(&2u32.to_le_bytes());
    write("unsorted.bin", &unsorted);
    let mut trailing = sample().encode();
    trailing.push(0);
    write("trailing.bin", &trailing);
    write("garbage.bin", b"not a snapshot");
    for (file, golden) in [
        ("garbage.bin", "snapshot-decode-garbage.jsonl"),
        ("unsorted.bin", "snapshot-decode-unsorted.jsonl"),
        ("trailing.bin", "snapshot-decode-trailing.jsonl"),
        ("missing.bin", "snapshot-decode-missing.jsonl"),
    ] {
        let r = run(&["snapshot", "decode", file]);
        assert_eq!(r.code, 1, "{file}");
        assert_golden(golden, &r.stdout);
        let s = r.summary_json();
        assert_eq!(
            (s["class"].as_str(), s["reason"].as_str()),
            (Some("operator"), Some("decode_failed"))
        );
    }
}

#[test]
fn diff_identical_and_different() {
    let a = sample();
    let mut b = sample();
    b.executed_input_count = 18;
    b.balances.retain(|x| x.balance != U256::from(400_000u32));
    b.nonces[0].nonce = 2;
    b.nonces.push(SnapshotNonce {
        address: address!("0x90f79bf6eb2c4f870365e785982e1f101e93b906"),
        nonce: 0,
    });
    write("diff-a.bin", &a.encode());
    write("diff-b.bin", &b.encode());
    write("diff-a-v1.bin", &legacy_bytes(&a));

    let same = run(&["snapshot", "diff", "diff-a.bin", "diff-a.bin"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_golden("snapshot-diff-identical.jsonl", &same.stdout);
    assert_eq!(same.summary_json()["identical"], true);

    let differ = run(&["snapshot", "diff", "diff-a.bin", "diff-b.bin"]);
    assert_eq!(differ.code, 0, "a diff is a report, not a failure");
    assert_golden("snapshot-diff-different.jsonl", &differ.stdout);
    let s = differ.summary_json();
    assert_eq!(s["outcome"], "compared");
    assert_eq!(s["accounts"].as_array().unwrap().len(), 2);

    let layouts = run_in(
        &scratch(),
        &["snapshot", "diff", "-", "diff-a.bin"],
        &[],
        &legacy_bytes(&a),
    );
    assert_eq!(layouts.code, 0, "{}", layouts.stderr);
    assert_golden("snapshot-diff-layouts.jsonl", &layouts.stdout);

    let both_stdin = run(&["snapshot", "diff", "-", "-"]);
    assert_eq!(both_stdin.code, 1);
    assert_eq!(both_stdin.summary_json()["reason"], "usage");

    let bad = run(&["snapshot", "diff", "diff-a.bin", "missing.bin"]);
    assert_eq!(bad.code, 1);
    assert_eq!(bad.summary_json()["reason"], "decode_failed");
}
