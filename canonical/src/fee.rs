//! Log-space fees (`protocol.md` §3.9): exponent `n` means `floor((129/128)^n)` token units.
//!
//! The conversion is integer fixed point with 64 fractional bits, reproduced bit for bit.

use std::sync::LazyLock;

use alloy_primitives::{U256, U512};

/// The largest valid fee exponent.
pub const MAX_EXPONENT: u16 = 17101;

/// Number of squaring steps: one per bit of a `u16` exponent below `2^15`.
const STEPS: usize = 15;

/// `T[i] = (129/128)^(2^i)` in 64-bit fixed point, each the floored square of the previous.
static TABLE: LazyLock<[U256; STEPS]> = LazyLock::new(|| {
    let mut table = [U256::ZERO; STEPS];
    table[0] = U256::from(129u64) << 57;
    for i in 1..STEPS {
        table[i] = mul_fixed(table[i - 1], table[i - 1]).unwrap_or(U256::MAX);
    }
    table
});

/// `floor(a · b / 2^64)`, or `None` when the result does not fit in 256 bits.
fn mul_fixed(a: U256, b: U256) -> Option<U256> {
    let product: U512 = U512::from(a) * U512::from(b);
    let shifted: U512 = product >> 64usize;
    if shifted > U512::from(U256::MAX) {
        return None;
    }
    Some(U256::from_limbs_slice(&shifted.as_limbs()[..4]))
}

/// `(129/128)^n` in 64-bit fixed point, or `None` above [`MAX_EXPONENT`].
fn fixed(n: u16) -> Option<U256> {
    if n > MAX_EXPONENT {
        return None;
    }
    let mut r = U256::from(1u64) << 64;
    for (i, step) in TABLE.iter().enumerate() {
        if n & (1 << i) != 0 {
            r = mul_fixed(r, *step)?;
        }
    }
    Some(r)
}

/// Token units of fee exponent `n`, or `None` when `n > MAX_EXPONENT`.
pub fn try_fee_to_linear(n: u16) -> Option<U256> {
    fixed(n).map(|r| r >> 64)
}

/// Token units of fee exponent `n`, saturating at the value of [`MAX_EXPONENT`].
///
/// Exponents above the maximum are invalid; the fold treats them as fatal and uses
/// [`try_fee_to_linear`]. Callers that have already bounded `n` can use this form.
pub fn fee_to_linear(n: u16) -> U256 {
    try_fee_to_linear(n.min(MAX_EXPONENT)).unwrap_or(U256::MAX)
}

/// The smallest exponent whose fee is at least `value`, or `None` above the largest fee.
pub fn fee_from_linear_ceil(value: U256) -> Option<u16> {
    let target = U512::from(value) << 64;
    let (mut lo, mut hi) = (0u16, MAX_EXPONENT);
    if U512::from(fixed(hi)?) < target {
        return None;
    }
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if U512::from(fixed(mid)?) >= target {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors() {
        assert_eq!(fee_to_linear(0), U256::from(1));
        assert_eq!(fee_to_linear(1356), U256::from(38276));
        assert_eq!(try_fee_to_linear(MAX_EXPONENT + 1), None);
        assert!(try_fee_to_linear(MAX_EXPONENT).is_some());
    }

    #[test]
    fn max_exponent_is_the_greedy_bound() {
        let mut r = U256::from(1u64) << 64;
        let mut e = 0u16;
        for i in (0..STEPS).rev() {
            if let Some(next) = mul_fixed(r, TABLE[i]) {
                r = next;
                e |= 1 << i;
            }
        }
        assert_eq!(e, MAX_EXPONENT);
    }

    #[test]
    fn monotone_and_ceil_inverse() {
        let mut previous = U256::ZERO;
        for n in (0..=MAX_EXPONENT).step_by(97) {
            let fee = fee_to_linear(n);
            assert!(fee >= previous);
            previous = fee;
        }
        assert_eq!(fee_from_linear_ceil(U256::from(38276)), Some(1356));
        assert_eq!(fee_from_linear_ceil(U256::from(1)), Some(0));
    }
}
