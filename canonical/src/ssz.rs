//! The subset of SSZ the wallet formats use (`protocol.md` §4.1).
//!
//! The codec is written here rather than taken from a generic SSZ crate because the protocol's
//! lists have no maximum length (generic crates require a compile-time bound) and because byte
//! compatibility hinges on the exact offset rules below, which the conformance vectors in
//! `fixtures/` pin down.

use crate::error::{DecodeError, DecodeResult};

/// Size of an SSZ offset.
pub(crate) const OFFSET_LEN: usize = 4;

/// Reads a little-endian `u32` offset at `at`. The caller has checked the bounds.
fn offset_at(bytes: &[u8], at: usize) -> usize {
    let mut word = [0u8; 4];
    word.copy_from_slice(&bytes[at..at + OFFSET_LEN]);
    u32::from_le_bytes(word) as usize
}

/// Reads a little-endian `u64` at `at`. The caller has checked the bounds.
pub(crate) fn u64_at(bytes: &[u8], at: usize) -> u64 {
    let mut word = [0u8; 8];
    word.copy_from_slice(&bytes[at..at + 8]);
    u64::from_le_bytes(word)
}

/// Reads a little-endian `u32` at `at`. The caller has checked the bounds.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> u32 {
    offset_at(bytes, at) as u32
}

/// Reads a little-endian `u16` at `at`. The caller has checked the bounds.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([bytes[at], bytes[at + 1]])
}

/// Appends a 4-byte little-endian offset.
pub(crate) fn put_offset(out: &mut Vec<u8>, offset: usize) {
    // Offsets are bounded by the container size, which no caller lets exceed u32.
    out.extend_from_slice(&(offset as u32).to_le_bytes());
}

/// Splits a container into the byte spans of its variable-size fields.
///
/// `fixed_len` is the size of the fixed part and `offset_positions` the positions, inside it, of
/// the variable fields' offsets, in field order. The first offset must equal `fixed_len`; every
/// offset must be non-decreasing and within the container.
pub(crate) fn variable_fields<'a>(
    what: &'static str,
    bytes: &'a [u8],
    fixed_len: usize,
    offset_positions: &[usize],
) -> DecodeResult<Vec<&'a [u8]>> {
    if bytes.len() < fixed_len {
        return Err(DecodeError::TooShort {
            what,
            len: bytes.len(),
            min: fixed_len,
        });
    }
    let offsets: Vec<usize> = offset_positions
        .iter()
        .map(|&at| offset_at(bytes, at))
        .collect();
    let mut previous = fixed_len;
    for (i, &offset) in offsets.iter().enumerate() {
        if i == 0 && offset != fixed_len {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "the first offset must equal the fixed-part length",
            });
        }
        if offset < previous {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "offsets must not decrease",
            });
        }
        if offset > bytes.len() {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "offset beyond the end of the container",
            });
        }
        previous = offset;
    }
    let mut spans = Vec::with_capacity(offsets.len());
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(bytes.len());
        spans.push(&bytes[start..end]);
    }
    Ok(spans)
}

/// Splits a list of fixed-size elements into its elements.
pub(crate) fn fixed_list<'a>(
    what: &'static str,
    bytes: &'a [u8],
    size: usize,
) -> DecodeResult<std::slice::ChunksExact<'a, u8>> {
    if !bytes.len().is_multiple_of(size) {
        return Err(DecodeError::PartialElement {
            what,
            len: bytes.len(),
            size,
        });
    }
    Ok(bytes.chunks_exact(size))
}

/// Splits a list of variable-size elements into the elements' byte spans.
pub(crate) fn variable_list<'a>(
    what: &'static str,
    bytes: &'a [u8],
) -> DecodeResult<Vec<&'a [u8]>> {
    if bytes.is_empty() {
        return Ok(Vec::new());
    }
    if bytes.len() < OFFSET_LEN {
        return Err(DecodeError::TooShort {
            what,
            len: bytes.len(),
            min: OFFSET_LEN,
        });
    }
    let first = offset_at(bytes, 0);
    if !first.is_multiple_of(OFFSET_LEN) || first < OFFSET_LEN {
        return Err(DecodeError::BadOffset {
            what,
            offset: first,
            rule: "the first list offset must be a non-zero multiple of 4",
        });
    }
    if first > bytes.len() {
        return Err(DecodeError::BadOffset {
            what,
            offset: first,
            rule: "offset beyond the end of the list",
        });
    }
    let count = first / OFFSET_LEN;
    let mut offsets = Vec::with_capacity(count);
    offsets.push(first);
    for i in 1..count {
        let offset = offset_at(bytes, i * OFFSET_LEN);
        let previous = offsets[i - 1];
        if offset < first {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "list offset points into the offset table",
            });
        }
        if offset < previous {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "offsets must not decrease",
            });
        }
        if offset > bytes.len() {
            return Err(DecodeError::BadOffset {
                what,
                offset,
                rule: "offset beyond the end of the list",
            });
        }
        offsets.push(offset);
    }
    let mut spans = Vec::with_capacity(count);
    for (i, &start) in offsets.iter().enumerate() {
        let end = offsets.get(i + 1).copied().unwrap_or(bytes.len());
        spans.push(&bytes[start..end]);
    }
    Ok(spans)
}

/// Encodes a list of variable-size elements from their encodings.
pub(crate) fn put_variable_list(out: &mut Vec<u8>, elements: &[Vec<u8>]) {
    let mut offset = elements.len() * OFFSET_LEN;
    for element in elements {
        put_offset(out, offset);
        offset += element.len();
    }
    for element in elements {
        out.extend_from_slice(element);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variable_list_round_trips() {
        let elements = vec![vec![1, 2], vec![], vec![3]];
        let mut out = Vec::new();
        put_variable_list(&mut out, &elements);
        let spans = variable_list("t", &out).unwrap();
        assert_eq!(spans, vec![&[1u8, 2][..], &[][..], &[3u8][..]]);
    }

    #[test]
    fn variable_list_rejects_bad_first_offset() {
        for first in [0u32, 2, 5, 100] {
            let mut bytes = first.to_le_bytes().to_vec();
            bytes.extend_from_slice(&[0; 8]);
            assert!(variable_list("t", &bytes).is_err(), "first offset {first}");
        }
        assert!(variable_list("t", &[4, 0, 0]).is_err());
    }

    #[test]
    fn variable_list_rejects_decreasing_and_table_offsets() {
        // Two elements: offsets 8 and 7 (decreasing).
        let bytes = [8, 0, 0, 0, 7, 0, 0, 0, 1, 2];
        assert!(variable_list("t", &bytes).is_err());
        // Three elements, second offset points into the table.
        let bytes = [12, 0, 0, 0, 4, 0, 0, 0, 12, 0, 0, 0];
        assert!(variable_list("t", &bytes).is_err());
    }

    #[test]
    fn container_offsets_must_start_at_fixed_part() {
        let bytes = [5, 0, 0, 0, 9];
        assert!(variable_fields("t", &bytes, 4, &[0]).is_err());
        let bytes = [4, 0, 0, 0, 9];
        assert_eq!(
            variable_fields("t", &bytes, 4, &[0]).unwrap(),
            vec![&[9u8][..]]
        );
    }
}
