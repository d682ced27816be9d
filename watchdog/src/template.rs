//! The bootstrap's template hash (spec §6.1 step 3): the Cartesi machine `init` accepts must
//! descend from the template the application was deployed with.
//!
//! Three hashes meet at `init`:
//!
//! * the application's **on-chain template hash**, `getTemplateHash()` read at B0 (at the L1
//!   head tag when the application has no code yet at B0: it is fixed at deployment);
//! * the operator's optional pin, `--cm-image-hash`;
//! * the **root hash of the bootstrap at its template point**. With no input at B0 the
//!   bootstrap is the template itself: its own root hash. Otherwise the machine descends from
//!   the template through the inputs up to B0, and its *lineage* says which template: the
//!   `manifest.json` beside the machine directory (as in a `replay --out` directory or a
//!   checkpoint), which must describe this very machine (its root hash and input count), records
//!   the template hash its own bootstrap was verified against.
//!
//! The on-chain hash and the pin must each equal the template point; otherwise `init` fails
//! with `operator/template_hash_mismatch` naming both hashes, before anything is written. The
//! native backend has no Cartesi root hash: only the pin is checked, against the bootstrap's
//! own digest.

use std::path::Path;

use alloy_primitives::{Address, B256};
use l1::{BlockParam, L1Provider};

use crate::state::files::{self, ManifestFile};
use crate::state::fsx;
use crate::{Class, Error, Result};

const MISMATCH: &str = "template_hash_mismatch";
const UNKNOWN: &str = "template_hash_unknown";

/// `0x`-prefixed lowercase hex of a 32-byte hash.
pub(crate) fn hex32(hash: &[u8; 32]) -> String {
    format!("0x{}", hex::encode(hash))
}

/// The application's `getTemplateHash()` at B0, or at the head tag when it has no code yet at
/// B0.
pub(crate) async fn onchain(
    provider: &L1Provider,
    app: Address,
    at_b0: B256,
    at_head: B256,
) -> Result<[u8; 32]> {
    for block in [at_b0, at_head] {
        if let Some(hash) = l1::template_hash(provider, app, BlockParam::Hash(block)).await? {
            return Ok(hash.0);
        }
    }
    Err(Error::fail(
        Class::Operator,
        UNKNOWN,
        format!(
            "the application {app:#x} answers no getTemplateHash(): is it a Cartesi application?"
        ),
    ))
}

/// The root hash of the Cartesi bootstrap at `snapshot` (whose root is `root`) at its template
/// point, given `input_count` inputs at B0.
pub(crate) fn template_point(
    snapshot: &Path,
    input_count: u64,
    root: &[u8; 32],
) -> Result<[u8; 32]> {
    if input_count == 0 {
        return Ok(*root);
    }
    let unknown = |why: String| {
        Error::fail(
            Class::Operator,
            UNKNOWN,
            format!(
                "the bootstrap follows {input_count} inputs, so its template is known only from its lineage: {why}; bootstrap from a `replay --out` directory's machine/ (or a checkpoint's) made from a verified state directory"
            ),
        )
    };
    let parent = snapshot
        .parent()
        .ok_or_else(|| unknown(format!("{} has no parent directory", snapshot.display())))?;
    let path = parent.join("manifest.json");
    let bytes = fsx::read_capped(&path, 1 << 20)
        .map_err(|e| unknown(format!("no readable {}: {e}", path.display())))?;
    let manifest: ManifestFile =
        files::parse(&bytes, 1).map_err(|e| unknown(format!("{}: {e}", path.display())))?;
    let describes = manifest.input_count == input_count
        && manifest
            .machine_root_hash
            .as_deref()
            .is_some_and(|hash| hash.eq_ignore_ascii_case(&hex32(root)));
    if !describes {
        return Err(unknown(format!(
            "{} describes another machine (input count {}, root hash {})",
            path.display(),
            manifest.input_count,
            manifest.machine_root_hash.as_deref().unwrap_or("none")
        )));
    }
    let recorded = manifest
        .template_hash
        .ok_or_else(|| unknown(format!("{} records no template hash", path.display())))?;
    parse_hash(&recorded).ok_or_else(|| {
        unknown(format!(
            "{} records a malformed template hash {recorded:?}",
            path.display()
        ))
    })
}

/// Requires `expected` (from `what`) to equal the template point.
pub(crate) fn require(what: &str, expected: &[u8; 32], point: &[u8; 32]) -> Result<()> {
    if expected == point {
        return Ok(());
    }
    Err(Error::fail(
        Class::Operator,
        MISMATCH,
        format!(
            "{what} {} differs from the bootstrap's template point {}",
            hex32(expected),
            hex32(point)
        ),
    ))
}

/// The operator's `--cm-image-hash`: 32 bytes of hex, `0x` optional.
pub(crate) fn pin(text: &str) -> Result<[u8; 32]> {
    parse_hash(text).ok_or_else(|| {
        Error::Usage(format!(
            "--cm-image-hash {text:?} is not a 32-byte hex hash"
        ))
    })
}

fn parse_hash(text: &str) -> Option<[u8; 32]> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    let bytes = hex::decode(digits).ok()?;
    bytes.try_into().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_with_or_without_prefix_and_nothing_else() {
        let hash = [0xab; 32];
        assert_eq!(parse_hash(&hex32(&hash)), Some(hash));
        assert_eq!(parse_hash(&"AB".repeat(32)), Some(hash));
        assert_eq!(parse_hash("0xab"), None);
        assert_eq!(parse_hash(&"zz".repeat(32)), None);
        assert!(pin("nope").is_err());
    }

    #[test]
    fn a_mismatch_names_both_hashes() {
        let err = require("the on-chain template hash", &[1; 32], &[2; 32]).unwrap_err();
        assert_eq!(err.reason().as_str(), MISMATCH);
        assert_eq!(err.class(), Class::Operator);
        let text = err.message();
        assert!(
            text.contains(&hex32(&[1; 32])) && text.contains(&hex32(&[2; 32])),
            "{text}"
        );
    }
}
