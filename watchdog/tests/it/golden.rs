//! Golden files: compared byte for byte after filtering run-dependent values.

use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Replaces `"duration_ms":<n>` with `"duration_ms":0`.
pub(crate) fn filter(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    const KEY: &str = "\"duration_ms\":";
    while let Some(at) = rest.find(KEY) {
        out.push_str(&rest[..at + KEY.len()]);
        rest = &rest[at + KEY.len()..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        out.push('0');
        rest = &rest[digits..];
    }
    out.push_str(rest);
    out
}

/// Asserts that `actual` (filtered) equals the golden file `name`; with `WATCHDOG_BLESS=1`,
/// writes it instead.
pub(crate) fn assert_golden(name: &str, actual: &str) {
    let actual = filter(actual);
    let file = path(name);
    if std::env::var_os("WATCHDOG_BLESS").is_some() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&file).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (run with WATCHDOG_BLESS=1 to create it)",
            file.display()
        )
    });
    assert!(
        expected == actual,
        "{} differs (WATCHDOG_BLESS=1 rewrites it)\n--- expected\n{expected}\n--- actual\n{actual}",
        file.display()
    );
}

#[test]
fn filter_zeroes_durations_only() {
    assert_eq!(
        filter(r#"{"duration_ms":51234,"x":1}{"duration_ms":7}"#),
        r#"{"duration_ms":0,"x":1}{"duration_ms":0}"#
    );
}
