//! `devnet demo` end to end: every checked step of the README's main job must pass.

use devnet::demo::{DemoOptions, run};

#[tokio::test]
async fn the_demo_meets_every_expectation() {
    let mut out = Vec::new();
    let steps = run(&DemoOptions::default(), &mut out).await;
    let text = String::from_utf8_lossy(&out);
    let steps = steps.unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    let failed: Vec<_> = steps.iter().filter(|s| !s.ok).collect();
    assert!(failed.is_empty(), "{failed:#?}\n{text}");
    assert!(steps.len() >= 8, "{text}");
    assert!(
        text.contains("watchdog_event {\"kind\":\"state_mismatch\""),
        "{text}"
    );
}
