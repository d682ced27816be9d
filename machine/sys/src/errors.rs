//! The per-generation `cm_error` name tables. The same number means different things in 0.19 and
//! 0.21 from −10 on, so a code is only ever named through the table of the detected generation.

use crate::Generation;

/// Names of codes 0, −1, −2, … in 0.19.
const V19: [&str; 24] = [
    "OK",
    "INVALID_ARGUMENT",
    "DOMAIN_ERROR",
    "LENGTH_ERROR",
    "OUT_OF_RANGE",
    "LOGIC_ERROR",
    "RUNTIME_ERROR",
    "RANGE_ERROR",
    "OVERFLOW_ERROR",
    "UNDERFLOW_ERROR",
    "REGEX_ERROR",
    "SYSTEM_ERROR",
    "BAD_TYPEID",
    "BAD_CAST",
    "BAD_ANY_CAST",
    "BAD_OPTIONAL_ACCESS",
    "BAD_WEAK_PTR",
    "BAD_FUNCTION_CALL",
    "BAD_ALLOC",
    "BAD_ARRAY_NEW_LENGTH",
    "BAD_EXCEPTION",
    "BAD_VARIANT_ACCESS",
    "EXCEPTION",
    "UNKNOWN",
];

/// Names of codes 0, −1, −2, … in 0.21.
const V21: [&str; 22] = [
    "OK",
    "INVALID_ARGUMENT",
    "DOMAIN_ERROR",
    "LENGTH_ERROR",
    "OUT_OF_RANGE",
    "LOGIC_ERROR",
    "RUNTIME_ERROR",
    "RANGE_ERROR",
    "OVERFLOW_ERROR",
    "UNDERFLOW_ERROR",
    "BAD_TYPEID",
    "BAD_CAST",
    "BAD_ANY_CAST",
    "BAD_OPTIONAL_ACCESS",
    "BAD_WEAK_PTR",
    "BAD_FUNCTION_CALL",
    "BAD_ALLOC",
    "BAD_ARRAY_NEW_LENGTH",
    "BAD_EXCEPTION",
    "BAD_VARIANT_ACCESS",
    "EXCEPTION",
    "UNKNOWN",
];

/// The `CM_ERROR_*` name (without prefix) of `code` in generation `generation`, or `None` for a
/// value the generation does not define. Unknown codes stay plain integers.
pub fn error_name(generation: Generation, code: i32) -> Option<&'static str> {
    let table: &[&str] = match generation {
        Generation::V19 => &V19,
        Generation::V21 => &V21,
    };
    let index = usize::try_from(code.checked_neg()?).ok()?;
    table.get(index).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_differ_between_generations() {
        assert_eq!(error_name(Generation::V19, -11), Some("SYSTEM_ERROR"));
        assert_eq!(error_name(Generation::V21, -11), Some("BAD_CAST"));
        assert_eq!(error_name(Generation::V19, -23), Some("UNKNOWN"));
        assert_eq!(error_name(Generation::V21, -21), Some("UNKNOWN"));
        assert_eq!(error_name(Generation::V21, -22), None);
        assert_eq!(error_name(Generation::V19, 1), None);
        assert_eq!(error_name(Generation::V19, i32::MIN), None);
        assert_eq!(error_name(Generation::V21, -6), Some("RUNTIME_ERROR"));
    }
}
