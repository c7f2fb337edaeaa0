//! The loader accepts good files and points at the exact line of bad ones.

use pkilab_scenario::model::{MitmCertificate, Mode, Outcome};
use pkilab_scenario::{Action, load_str};

const GOOD: &str = "\
name: MITM blocked
summary: Signed ephemeral DH refuses an impostor.
clock: 2026-01-01T00:00:00Z
seed: 7
pki: { root: Example Root CA, intermediates: [Example Issuing CA] }
peers: [alice, bob]
adversaries:
  - { name: mallory, kind: mitm, link: [alice, bob], certificate: own }
steps:
  - handshake: { from: alice, to: bob }
    expect: { outcome: rejected, reason: name-mismatch, attacker_reads: false }
  - advance: 30d
  - publish-crl: {}
";

fn error_of(text: &str) -> pkilab_scenario::Invalid {
    load_str("s.yaml", text).expect_err("the loader should refuse this text")
}

#[test]
fn a_good_file_is_resolved() {
    let s = load_str("s.yaml", GOOD).expect("valid scenario");
    assert_eq!(s.seed, 7);
    assert_eq!(s.peers, ["alice", "bob"]);
    assert_eq!(s.adversaries[0].certificate, MitmCertificate::Own);
    assert_eq!(s.adversaries[0].victim, "bob");
    assert_eq!(s.steps.len(), 3);
    assert_eq!(s.steps[0].line, 10);
    assert_eq!(
        s.steps[0].action,
        Action::Handshake {
            from: "alice".into(),
            to: "bob".into(),
            mode: Mode::SignedEphemeral,
            cipher: pkilab_scenario::model::CipherDoc::Aes256Gcm,
        }
    );
    assert_eq!(s.steps[0].expect.outcome, Some(Outcome::Rejected));
    assert_eq!(
        s.steps[1].action,
        Action::Advance(pkilab_scenario::SimDuration(30 * 86_400))
    );
}

#[test]
fn an_unknown_key_is_reported_at_its_line() {
    let text = GOOD.replace("  - advance: 30d", "  - advance: 30d\n    colour: red");
    let e = error_of(&text);
    assert_eq!(e.line, 13, "{e}");
    assert!(e.message.contains("colour"), "{e}");
}

#[test]
fn an_unknown_peer_is_named_with_the_known_ones() {
    let e = error_of(&GOOD.replace("{ from: alice, to: bob }", "{ from: alice, to: carol }"));
    assert_eq!((e.line, e.message.as_str()), (10, "unknown peer 'carol'"));
    assert!(
        e.help.as_deref().unwrap_or_default().contains("alice, bob"),
        "{e}"
    );
}

#[test]
fn a_bad_duration_points_at_the_value() {
    let e = error_of(&GOOD.replace("advance: 30d", "advance: a month"));
    assert_eq!((e.line, e.column), (12, 14), "{e}");
    assert!(e.message.contains("invalid duration 'a month'"), "{e}");
}

#[test]
fn a_send_before_any_handshake_is_impossible() {
    let text = GOOD.replace(
        "  - handshake: { from: alice, to: bob }",
        "  - send: { from: alice, to: bob, message: hi }\n  - handshake: { from: alice, to: bob }",
    );
    let e = error_of(&text);
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("before any handshake"), "{e}");
}

#[test]
fn an_expectation_must_fit_its_step() {
    let e = error_of(&GOOD.replace(
        "  - advance: 30d",
        "  - advance: 30d\n    expect: { delivered: true }",
    ));
    assert_eq!(e.line, 13, "{e}");
    assert!(
        e.message
            .contains("`delivered` cannot be expected of a advance step"),
        "{e}"
    );
}

#[test]
fn an_unknown_reason_is_a_typo() {
    let e = error_of(&GOOD.replace("reason: name-mismatch", "reason: name-mismatched"));
    assert_eq!(e.message, "unknown reason 'name-mismatched'");
}

#[test]
fn a_certificate_on_a_non_mitm_is_refused() {
    let e = error_of(&GOOD.replace("kind: mitm", "kind: eavesdropper"));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("cannot present a certificate"), "{e}");
}

#[test]
fn a_step_with_two_actions_is_refused() {
    let e = error_of(&GOOD.replace("  - advance: 30d", "  - advance: 30d\n    publish-crl: {}"));
    assert_eq!(
        (e.line, e.message.as_str()),
        (12, "this step has 2 actions")
    );
}

#[test]
fn malformed_yaml_has_a_location() {
    let e = error_of("name: [unclosed\nsummary: x\n");
    assert!(e.line >= 1, "{e}");
}

#[test]
fn generated_peers_are_numbered() {
    let text = GOOD
        .replace("peers: [alice, bob]", "peers: { count: 3, prefix: node }")
        .replace("link: [alice, bob]", "link: [node0, node1]")
        .replace("{ from: alice, to: bob }", "{ from: node0, to: node2 }");
    let s = load_str("s.yaml", &text).expect("valid");
    assert_eq!(s.peers, ["node0", "node1", "node2"]);
}

#[test]
fn a_misspelt_mode_lists_the_modes_once_located() {
    let e = error_of(&GOOD.replace(
        "{ from: alice, to: bob }",
        "{ from: alice, to: bob, mode: signed-ephemral }",
    ));
    assert_eq!(e.line, 10, "{e}");
    assert!(
        e.message.starts_with("unknown variant `signed-ephemral`"),
        "{e}"
    );
    assert!(e.to_string().starts_with("s.yaml:10:"), "{e}");
}

const KMS: &str = "\
name: keys
summary: key steps
clock: 2026-01-01T00:00:00Z
pki: { root: R }
peers: [alice, bob]
kms:
  keys:
    - { name: team, members: [alice], expires-in: 30d }
steps:
  - handshake: { from: alice, to: kms }
  - fetch-key: { peer: alice, key: team }
    expect: { delivered: true, version: 1 }
  - rotate-key: { key: team }
    expect: { version: 2 }
";

#[test]
fn key_steps_resolve_against_the_kms_section() {
    let s = load_str("s.yaml", KMS).expect("valid");
    let kms = s.kms.expect("a KMS node");
    assert_eq!(kms.name, "kms");
    assert_eq!(kms.keys[0].expires_in.map(|d| d.0), Some(30 * 86_400));
    assert_eq!(
        s.steps[1].action,
        Action::FetchKey {
            peer: "alice".into(),
            key: "team".into()
        }
    );
    assert_eq!(s.steps[1].expect.version, Some(1));
}

#[test]
fn key_steps_that_cannot_happen_are_refused_with_their_line() {
    let e = error_of(&KMS.replace("  - handshake: { from: alice, to: kms }\n", ""));
    assert_eq!(e.line, 10, "{e}");
    assert!(e.message.contains("before any handshake with 'kms'"), "{e}");
    let e = error_of(&KMS.replace(
        "key: team }\n    expect: { delivered",
        "key: payroll }\n    expect: { delivered",
    ));
    assert!(e.message.contains("unknown group key 'payroll'"), "{e}");
    let e = error_of(&KMS.replace("members: [alice]", "members: [mallory]"));
    assert!(
        e.message
            .contains("member 'mallory' of key 'team' is not a peer"),
        "{e}"
    );
    let e = error_of(&KMS.replace("kms:\n  keys:", "kms:\n  name: bob\n  keys:"));
    assert!(e.message.contains("'bob' is also a peer"), "{e}");
    let e = error_of(&KMS.replace("expect: { version: 2 }", "expect: { delivered: true }"));
    assert!(
        e.message
            .contains("`delivered` cannot be expected of a rotate-key step"),
        "{e}"
    );
}
