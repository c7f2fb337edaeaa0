//! The HTML lesson pages: what a page shows, that everything from the file
//! or the run is escaped, that failures come first, and the quiz.
#![allow(clippy::panic)]

use std::path::Path;

use pkilab_scenario::render::html::{index, page};
use pkilab_scenario::{RunOptions, RunReport, load_file, load_str, run};

fn lesson(file: &str) -> RunReport {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(file);
    let scenario = load_file(&path).expect("the lesson loads");
    run(&scenario, RunOptions::default()).expect("the lesson runs")
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

#[test]
fn a_mitm_lesson_shows_lifelines_frames_sessions_and_what_was_read() {
    let report = lesson("01-unauthenticated-mitm.yaml");
    let html = page(&report, false);
    for who in ["alice", "mallory", "bob"] {
        assert_eq!(
            count(
                &html,
                &format!("class=\"lifeline\" data-participant=\"{who}\"")
            ),
            1,
            "{who}"
        );
    }
    assert_eq!(count(&html, "class=\"lifeline\""), 3);
    // Every frame is expandable, with its decoded fields.
    assert_eq!(
        count(&html, "<details class=\"frame\""),
        report.messages.len()
    );
    assert!(html.contains("<td>key share</td>"));
    assert!(
        html.contains("<td>unauthenticated</td>"),
        "the mode decodes"
    );
    // mallory's two sessions, side by side.
    assert!(html.contains("mallory's two sessions"));
    assert!(html.contains("<h4>alice ↔ mallory</h4>"));
    // What she learned, highlighted, with the step.
    assert!(
        html.contains("step 2: <mark>The vault code is 4711</mark>"),
        "{html}"
    );
    // The security table is computed from the run.
    assert!(html.contains("<td class=\"bad\">no: an adversary holds this session&#39;s keys</td>"));
    assert!(html.contains("<td class=\"bad\">no: nothing signs the mode</td>"));
    assert!(html.contains("<td class=\"bad\">nobody (anonymous)</td>"));
    assert!(html.contains("Which values are secret"));
    // Each side's key schedule: alice shares her keys with mallory, not bob.
    let fp = |node: &str, with: &str| {
        let side = report
            .key_schedules
            .iter()
            .find(|s| s.node == node && s.with == with)
            .unwrap_or_else(|| panic!("{node} with {with}"));
        side.keys
            .traffic_i2r
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    assert_eq!(fp("alice", "bob"), fp("mallory", "alice"));
    assert_eq!(fp("bob", "alice"), fp("mallory", "bob"));
    assert_ne!(fp("alice", "bob"), fp("bob", "alice"));
    assert!(html.contains("<h2>Key schedule, per side</h2>"));
    assert!(html.contains("<div class=\"keys\" id=\"k1\">"));
    assert!(html.contains("<a href=\"#k1\">key schedule, step 1</a>"));
    assert!(
        count(&html, &fp("alice", "bob")) >= 3,
        "two rows and mallory's column"
    );
    // Self-contained: nothing to load, no script outside the quiz.
    assert!(html.contains("default-src 'none'"));
    assert!(!html.contains("<script"));
    assert!(!html.contains(" src="));
    assert!(!html.contains("href=\"http"));
}

#[test]
fn a_refused_handshake_is_marked_and_a_revoked_peer_is_in_the_tree() {
    let report = lesson("07-revoked-peer.yaml");
    let html = page(&report, false);
    assert!(html.contains("class=\"msg refused\""));
    assert!(html.contains("marker-start=\"url(#cross)\""));
    assert!(
        html.contains("<span class=\"bad\">revoked at step"),
        "{html}"
    );
    assert!(html.contains("<span class=\"ca root\">Example Root CA</span>"));
    // The lesson's exercise, its answer folded.
    assert!(html.contains("<h2>Exercises</h2>"));
    assert!(html.contains("What if no fresh CRL were published after the revocation?"));
    assert!(html.contains("<details class=\"answer\"><summary>Answer</summary>"));
    assert!(
        html.contains("Then step 3 observes: <code>outcome: established</code>"),
        "{html}"
    );
}

#[test]
fn a_signed_handshake_authenticates_both_names() {
    let report = lesson("14-forward-secrecy.yaml");
    let html = page(&report, false);
    assert!(html.contains("yes: the mode is in the signed transcript"));
    assert!(html.contains("yes: the ephemeral keys are gone after the handshake"));
    // What each side opened from the other's sealed block.
    assert!(
        html.contains("what bob opened from alice&#39;s sealed block"),
        "{html}"
    );
    assert!(html.contains("<td>signature (Ed25519)</td>"));
    assert!(html.contains("<td>certificate 2</td>"));
    // Once in the key schedule and once in each frame that carried it.
    assert_eq!(
        count(&html, "what bob opened from alice&#39;s sealed block"),
        2
    );
}

const HOSTILE: &str = r#"
name: "<script>alert('name')</script>"
summary: "a & b <img src=x onerror=alert(1)>"
description: "</p><script>alert(2)</script>"
clock: 2026-01-01T00:00:00Z
pki: { root: "Root <b>", intermediates: ["Issuing \"CA\""] }
peers: [alice, bob]
steps:
  - handshake: { from: alice, to: bob, mode: signed-ephemeral }
    expect: { outcome: rejected }
  - send: { from: alice, to: bob, message: "<i>hi</i>" }
"#;

#[test]
fn text_from_the_file_and_the_run_is_escaped_and_a_failure_comes_first() {
    let scenario = load_str("<hostile>.yaml", HOSTILE).expect("loads");
    let report = run(&scenario, RunOptions::default()).expect("runs");
    assert!(!report.passed);
    let html = page(&report, false);
    assert!(!html.contains("<script"), "{html}");
    assert!(!html.contains("<img"));
    assert!(!html.contains("Root <b>"));
    assert!(html.contains("&lt;script&gt;alert(&#39;name&#39;)&lt;/script&gt;"));
    assert!(html.contains("Root &lt;b&gt;"));
    let failed = html
        .find("<h2>Failed expectations</h2>")
        .expect("failures shown");
    assert!(failed < html.find("<h2>The PKI</h2>").expect("the PKI"));
    assert!(html.contains("<td>outcome</td><td>rejected</td><td>established</td><td>FAILED</td>"));
    let index = index(&[("<x>.html".to_owned(), &report)]);
    assert!(index.contains("href=\"&lt;x&gt;.html\""));
    assert!(index.contains("✗ FAIL"));
    assert!(!index.contains("<script"));
}

#[test]
fn the_quiz_veils_every_outcome_until_a_prediction() {
    let report = lesson("03-mitm-own-certificate.yaml");
    let html = page(&report, true);
    let steps = report.steps.len();
    assert_eq!(count(&html, "<form class=\"quiz\""), steps);
    assert!(html.contains("data-truth=\"rejected\""));
    assert_eq!(
        count(&html, "<div class=\"outcome veiled\""),
        steps,
        "each step's narration is hidden"
    );
    assert_eq!(
        count(&html, "<details class=\"frame veiled\""),
        report.messages.len()
    );
    assert!(html.contains("class=\"verdict good veiled final\""));
    assert!(html.contains("script-src 'unsafe-inline'"));
    assert_eq!(count(&html, "<script>"), 1);
    let plain = page(&report, false);
    assert!(!plain.contains(" veiled\""));
    assert!(!plain.contains("<form"));
    assert_eq!(count(&plain, "<g class=\"step-rows\""), steps);
}
