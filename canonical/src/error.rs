//! Decoding errors.

use alloy_primitives::Address;

/// Why a byte string is not a valid encoding of a canonical type.
///
/// Decoders of untrusted bytes return this instead of panicking. The variants name the rule of
/// `protocol.md` §4 (SSZ) or §2 (ABI) that the input broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input is shorter than the fixed part of the type.
    #[error("{what}: {len} bytes is shorter than the fixed part of {min} bytes")]
    TooShort {
        /// The type being decoded.
        what: &'static str,
        /// Bytes available.
        len: usize,
        /// Bytes required.
        min: usize,
    },
    /// A fixed-size type has trailing or missing bytes.
    #[error("{what}: expected exactly {expected} bytes, got {len}")]
    WrongLength {
        /// The type being decoded.
        what: &'static str,
        /// Bytes available.
        len: usize,
        /// Bytes required.
        expected: usize,
    },
    /// An SSZ offset breaks the canonical-offset rules of §4.1.
    #[error("{what}: offset {offset} is not canonical ({rule})")]
    BadOffset {
        /// The type being decoded.
        what: &'static str,
        /// The offending offset value.
        offset: usize,
        /// The rule it breaks.
        rule: &'static str,
    },
    /// The same address appears twice in one snapshot list.
    #[error("{list}: duplicate address {address}")]
    DuplicateAddress {
        /// `balances` or `nonces`.
        list: &'static str,
        /// The repeated address.
        address: Address,
    },
    /// `executed_input_count == 0` while `last_executed_safe_block != 0`.
    #[error("incoherent progress: executed_input_count 0 with last_executed_safe_block {clock}")]
    IncoherentProgress {
        /// The non-zero clock.
        clock: u64,
    },
    /// A `Method` union with no bytes at all.
    #[error("method: empty data")]
    EmptyMethod,
    /// A `Method` union with an unknown selector byte.
    #[error("method: unknown selector 0x{0:02x}")]
    UnknownMethod(u8),
    /// A 4-byte selector other than the expected one.
    #[error("{what}: selector 0x{found} is not 0x{expected}")]
    WrongSelector {
        /// The type being decoded.
        what: &'static str,
        /// Hex of the selector found.
        found: String,
        /// Hex of the selector expected.
        expected: &'static str,
    },
    /// An ABI address word whose twelve high bytes are not zero.
    #[error("{what}: address word has non-zero high bytes")]
    DirtyAddress {
        /// The field being decoded.
        what: &'static str,
    },
    /// An ABI integer that must fit in a `u64` does not.
    #[error("{what}: value does not fit in 64 bits")]
    Overflow {
        /// The field being decoded.
        what: &'static str,
    },
    /// An ABI `bytes` field whose offset or length points outside the input.
    #[error("{what}: ABI bytes out of bounds")]
    AbiOutOfBounds {
        /// The field being decoded.
        what: &'static str,
    },
    /// SSZ bytes the codec refuses for a reason not named above.
    #[error("{what}: malformed SSZ: {detail}")]
    Malformed {
        /// The type being decoded.
        what: &'static str,
        /// The codec's reason.
        detail: String,
    },
    /// A serialised engine state has an unknown format version.
    #[error("engine state: unsupported format version {0}")]
    UnsupportedVersion(u8),
}

/// Result of decoding.
pub type DecodeResult<T> = Result<T, DecodeError>;

impl DecodeError {
    /// Names the rule an SSZ decoding of `what` broke (`protocol.md` §4.1).
    pub(crate) fn ssz(what: &'static str, error: ssz::DecodeError) -> Self {
        use ssz::DecodeError as Ssz;
        let bad_offset = |offset, rule| Self::BadOffset { what, offset, rule };
        match error {
            Ssz::InvalidByteLength { len, expected }
            | Ssz::InvalidLengthPrefix { len, expected }
                if len < expected =>
            {
                Self::TooShort {
                    what,
                    len,
                    min: expected,
                }
            }
            Ssz::InvalidByteLength { len, expected }
            | Ssz::InvalidLengthPrefix { len, expected } => Self::WrongLength {
                what,
                len,
                expected,
            },
            Ssz::OffsetIntoFixedPortion(offset) => {
                bad_offset(offset, "an offset points into the fixed part")
            }
            Ssz::OffsetSkipsVariableBytes(offset) => {
                bad_offset(offset, "the first offset must equal the fixed-part length")
            }
            Ssz::OffsetsAreDecreasing(offset) => bad_offset(offset, "offsets must not decrease"),
            Ssz::OffsetOutOfBounds(offset) | Ssz::OutOfBoundsByte { i: offset } => {
                bad_offset(offset, "offset beyond the end")
            }
            Ssz::InvalidListFixedBytesLen(offset) => bad_offset(
                offset,
                "the first list offset must be a non-zero multiple of 4",
            ),
            Ssz::UnionSelectorInvalid(selector) => Self::UnknownMethod(selector),
            other => Self::Malformed {
                what,
                detail: format!("{other:?}"),
            },
        }
    }
}
