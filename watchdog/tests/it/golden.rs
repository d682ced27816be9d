//! Golden files: compared byte for byte after filtering run-dependent values.

use std::path::PathBuf;

fn path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

/// Replaces `"duration_ms":<n>` with `"duration_ms":0` and the value of the metrics line
/// `cartesi_watchdog_tick_duration_seconds{…}` with `0.000`.
pub(crate) fn filter(text: &str) -> String {
    let text = filter_durations(text);
    let mut out: Vec<String> = Vec::new();
    for line in text.split_inclusive('\n') {
        match (
            line.starts_with("cartesi_watchdog_tick_duration_seconds{"),
            line.rfind(' '),
        ) {
            (true, Some(space)) => {
                let newline = if line.ends_with('\n') { "\n" } else { "" };
                out.push(format!("{} 0.000{newline}", &line[..space]));
            }
            _ => out.push(line.to_owned()),
        }
    }
    out.concat()
}

fn filter_durations(text: &str) -> String {
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
    assert_eq!(
        filter("a 1\ncartesi_watchdog_tick_duration_seconds{x=\"y\"} 0.123\nb 2\n"),
        "a 1\ncartesi_watchdog_tick_duration_seconds{x=\"y\"} 0.000\nb 2\n"
    );
}
