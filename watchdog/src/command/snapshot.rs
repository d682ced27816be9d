//! `snapshot decode FILE|-` and `snapshot diff A B`.

use std::{fs::File, io::Read, path::Path};

use sha2::{Digest, Sha256};

use super::Io;
use crate::{
    Error, Outcome, Result, Summary,
    snapshot::{self, Decoded, SnapshotView, layout_name},
};

/// Largest snapshot read (the state download cap).
const MAX_SNAPSHOT_BYTES: u64 = 1 << 30;

fn is_stdin(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn read_input(path: &Path, io: &mut Io<'_>) -> Result<Vec<u8>> {
    let err = |source| Error::Read {
        path: path.to_owned(),
        source,
    };
    let mut bytes = Vec::new();
    if is_stdin(path) {
        io.stdin
            .take(MAX_SNAPSHOT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(err)?;
    } else {
        File::open(path)
            .map_err(err)?
            .take(MAX_SNAPSHOT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(err)?;
    }
    if bytes.len() as u64 > MAX_SNAPSHOT_BYTES {
        return Err(Error::Decode {
            what: path.display().to_string(),
            problem: format!("larger than {MAX_SNAPSHOT_BYTES} bytes"),
        });
    }
    Ok(bytes)
}

fn load(path: &Path, io: &mut Io<'_>) -> Result<(Decoded, Vec<u8>)> {
    let bytes = read_input(path, io)?;
    let decoded = snapshot::decode(&bytes).map_err(|problem| Error::Decode {
        what: path.display().to_string(),
        problem,
    })?;
    Ok((decoded, bytes))
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

pub(super) fn decode(file: &Path, io: &mut Io<'_>) -> Result<Summary> {
    let (decoded, bytes) = load(file, io)?;
    let s = &decoded.snapshot;
    let message = format!(
        "decoded a WalletSnapshot ({} layout): {}, {}, {}",
        layout_name(decoded.layout),
        plural(s.balances.len(), "balance"),
        plural(s.nonces.len(), "nonce"),
        plural(
            usize::try_from(s.executed_input_count).unwrap_or(usize::MAX),
            "executed input"
        ),
    );
    Ok(
        Summary::new(Some("snapshot decode"), Outcome::Decoded, message)
            .extra("layout", layout_name(decoded.layout))
            .extra("bytes", &bytes.len())
            .extra("sha256", &sha256_hex(&bytes))
            .extra("snapshot", &SnapshotView::new(&decoded)),
    )
}

pub(super) fn diff(a: &Path, b: &Path, io: &mut Io<'_>) -> Result<Summary> {
    if is_stdin(a) && is_stdin(b) {
        return Err(Error::Usage("A and B cannot both be - (stdin)".to_owned()));
    }
    let (da, bytes_a) = load(a, io)?;
    let (db, bytes_b) = load(b, io)?;
    let d = snapshot::diff(&da, &db);
    let message = if d.identical {
        "the snapshots are identical".to_owned()
    } else {
        let fields = serde_json::to_value(&d.fields)
            .ok()
            .and_then(|v| v.as_object().map(|m| m.len()))
            .unwrap_or(0);
        format!(
            "the snapshots differ: {}, {}",
            plural(fields, "field"),
            plural(d.accounts.len(), "account")
        )
    };
    Ok(
        Summary::new(Some("snapshot diff"), Outcome::Compared, message)
            .extra("identical", &d.identical)
            .extra("fields", &d.fields)
            .extra("accounts", &d.accounts)
            .extra("a_sha256", &sha256_hex(&bytes_a))
            .extra("b_sha256", &sha256_hex(&bytes_b)),
    )
}
