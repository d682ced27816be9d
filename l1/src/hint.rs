//! The ranges or maxima providers suggest in their "range too large" messages.

/// A range or maximum a provider suggests in its error message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hint {
    /// "Use exactly this range".
    Range {
        /// First block.
        from: u64,
        /// Last block.
        to: u64,
    },
    /// "Use at most this many blocks".
    Max(u64),
}

/// Extracts the first suggestion in a lowercase message: a range first, then a maximum.
pub(crate) fn hint(text: &str) -> Option<Hint> {
    suggested_range(text).or_else(|| suggested_max(text))
}

/// `[0xA, 0xB]` (Alchemy, Infura, thirdweb) or `retry with the range A-B` (reth).
fn suggested_range(text: &str) -> Option<Hint> {
    for (at, _) in text.match_indices('[') {
        let inner = &text[at + 1..];
        let Some((a, rest)) = hex_quantity(inner.trim_start()) else {
            continue;
        };
        let Some(rest) = rest.trim_start().strip_prefix(',') else {
            continue;
        };
        let Some((b, rest)) = hex_quantity(rest.trim_start()) else {
            continue;
        };
        if rest.trim_start().starts_with(']') {
            return Some(Hint::Range { from: a, to: b });
        }
    }
    let (_, after) = text.split_once("retry with the range ")?;
    let (a, rest) = decimal(after)?;
    let (b, _) = decimal(rest.strip_prefix('-')?)?;
    Some(Hint::Range { from: a, to: b })
}

/// Phrases announcing a maximum number of blocks, each followed by the number.
const MAX_PHRASES: &[&str] = &[
    // Alchemy.
    "up to a ",
    // QuickNode.
    "limited to a ",
    // Cloudflare.
    "max range: ",
    // Infura.
    "exceeds limit of ",
    // Generic node software.
    "maximum block range: ",
    // Ankr.
    "blocks distance: ",
    // Gateways that name the largest accepted filter span.
    "narrow your filter: ",
];

fn suggested_max(text: &str) -> Option<Hint> {
    MAX_PHRASES.iter().find_map(|phrase| {
        let (_, after) = text.split_once(phrase)?;
        let (n, _) = count(after)?;
        Some(Hint::Max(n))
    })
}

/// A `0x`-prefixed hex quantity at the start of `s`.
fn hex_quantity(s: &str) -> Option<(u64, &str)> {
    let digits = s.strip_prefix("0x")?;
    let len = digits.bytes().take_while(u8::is_ascii_hexdigit).count();
    let value = u64::from_str_radix(digits.get(..len).filter(|d| !d.is_empty())?, 16).ok()?;
    Some((value, &digits[len..]))
}

/// A plain decimal number at the start of `s`.
fn decimal(s: &str) -> Option<(u64, &str)> {
    let len = s.bytes().take_while(u8::is_ascii_digit).count();
    let value = s.get(..len).filter(|d| !d.is_empty())?.parse().ok()?;
    Some((value, &s[len..]))
}

/// A block count at the start of `s`: digits with `,` or `_` separators, optionally `k`
/// (Alchemy writes `2K`).
fn count(s: &str) -> Option<(u64, &str)> {
    let len = s
        .bytes()
        .take_while(|b| b.is_ascii_digit() || *b == b',' || *b == b'_')
        .count();
    let number = s[..len].trim_end_matches([',', '_']);
    let rest = &s[number.len()..];
    let digits: String = number.chars().filter(char::is_ascii_digit).collect();
    let mut value: u64 = digits.parse().ok()?;
    let rest = match rest.strip_prefix('k') {
        Some(after) if !after.starts_with(|c: char| c.is_ascii_alphabetic()) => {
            value = value.checked_mul(1000)?;
            after
        }
        _ => rest,
    };
    Some((value, rest))
}
