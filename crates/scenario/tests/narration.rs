//! The narration says whom each side actually authenticated.

use pkilab_scenario::{RunOptions, load_file, load_str, run};

fn narration(report: &pkilab_scenario::RunReport, step: usize) -> String {
    report.steps[step].narration.join("\n")
}

#[test]
fn an_honest_handshake_says_what_the_responder_accepts_and_authenticated() {
    let text = "name: n\nsummary: s\nclock: 2026-01-01T00:00:00Z\npki: { root: R, intermediates: [I] }\npeers: [alice, bob, { name: carol, accept: [alice] }]\nsteps:\n  - handshake: { from: alice, to: bob }\n  - handshake: { from: alice, to: carol }\n";
    let scenario = load_str("n.yaml", text).expect("valid");
    let report = run(&scenario, RunOptions::default()).expect("runs");
    let bob = narration(&report, 0);
    assert!(!bob.contains("did the same"), "{bob}");
    assert!(
        bob.contains("bob authenticated its client as alice (bob accepts any name its trust anchors vouch for)"),
        "{bob}"
    );
    let carol = narration(&report, 1);
    assert!(carol.contains("(carol accepts only alice)"), "{carol}");
}

#[test]
fn lesson_06_says_bob_accepted_a_client_authenticated_as_bob() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/06-stolen-key.yaml");
    let scenario = load_file(&path).expect("lesson 06 loads");
    let report = run(&scenario, RunOptions::default()).expect("runs");
    assert!(report.passed);
    let first = narration(&report, 0);
    assert!(
        first.contains("bob accepted a client authenticated as bob"),
        "{first}"
    );
}

#[test]
fn a_refusal_by_the_other_end_is_narrated_too() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios/19-identity-misbinding.yaml");
    let scenario = load_file(&path).expect("lesson 19 loads");
    let report = run(&scenario, RunOptions::default()).expect("runs");
    assert!(report.passed);
    let third = narration(&report, 2);
    assert!(
        third.contains("Also: carol refused (name-mismatch): the client on the link from alice authenticated as trudy, and carol accepts only alice."),
        "{third}"
    );
    let first = narration(&report, 0);
    assert!(
        first.contains("bob completed a handshake with a client it authenticated as mallory"),
        "{first}"
    );
}
