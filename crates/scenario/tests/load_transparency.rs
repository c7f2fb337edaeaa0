//! The transparency keys (`require-logged`, `monitors`, `rogue-issuance`,
//! `split-view`, `gossip`, `revoke: { unrequested }`, `detected`): good
//! values resolve, bad ones are reported at file:line:column.

use pkilab_scenario::{Action, SimDuration, load_str};

const GOOD: &str = "\
name: Transparency
summary: A rogue certificate, a monitor and gossip.
clock: 2026-01-01T00:00:00Z
pki: { root: Example Root CA, intermediates: [Example Issuing CA] }
peers:
  - { name: alice, require-logged: true }
  - bob
  - carol
monitors:
  - { name: bob-monitor, watches: bob, every: 1h }
adversaries:
  - { name: mallory, kind: mitm, link: [alice, bob], certificate: none }
  - { name: eve, kind: eavesdropper, link: [alice, carol] }
steps:
  - split-view: { shown: [alice] }
  - rogue-issuance: { for: bob, by: mallory, logged: true }
  - advance: 1h
    expect: { detected: false }
  - gossip: { between: [alice, carol] }
    expect: { detected: false }
  - revoke: { peer: bob, unrequested: true, reason: key-compromise }
";

fn error_of(text: &str) -> pkilab_scenario::Invalid {
    load_str("s.yaml", text).expect_err("the loader should refuse this text")
}

#[test]
fn the_transparency_keys_resolve() {
    let s = load_str("s.yaml", GOOD).expect("valid scenario");
    assert!(s.policies.get("alice").expect("alice").require_logged);
    assert_eq!(s.monitors.len(), 1);
    assert_eq!(
        (s.monitors[0].name.as_str(), s.monitors[0].watches.as_str()),
        ("bob-monitor", "bob")
    );
    assert_eq!(s.monitors[0].every, SimDuration(3600));
    assert_eq!(
        s.steps[0].action,
        Action::SplitView {
            shown: vec!["alice".into()]
        }
    );
    assert_eq!(
        s.steps[1].action,
        Action::RogueIssuance {
            victim: "bob".into(),
            by: "mallory".into(),
            logged: true
        }
    );
    assert_eq!(s.steps[2].expect.detected, Some(false));
    assert_eq!(
        s.steps[3].action,
        Action::Gossip {
            a: "alice".into(),
            b: "carol".into()
        }
    );
    assert_eq!(
        s.steps[4].action,
        Action::RevokeUnrequested {
            peer: "bob".into(),
            reason: "key-compromise".into()
        }
    );
}

#[test]
fn require_logged_must_be_a_boolean() {
    let e = error_of(&GOOD.replace("require-logged: true", "require-logged: always"));
    assert_eq!(e.line, 6, "{e}");
    assert!(e.column > 0, "{e}");
}

#[test]
fn bad_monitors_point_at_them() {
    let e = error_of(&GOOD.replace("every: 1h", "every: 0s"));
    assert_eq!((e.line, e.column), (10, 47), "{e}");
    let e = error_of(&GOOD.replace("every: 1h", "every: hourly"));
    assert_eq!((e.line, e.column), (10, 47), "{e}");
    let e = error_of(&GOOD.replace("watches: bob", "watches: dave"));
    assert_eq!((e.line, e.column), (10, 5), "{e}");
    assert!(e.message.contains("unknown peer 'dave'"), "{e}");
    let e = error_of(&GOOD.replace("name: bob-monitor", "name: carol"));
    assert_eq!((e.line, e.column), (10, 5), "{e}");
    assert!(e.message.contains("already taken"), "{e}");
    let e = error_of(&GOOD.replace("name: bob-monitor", "name: Bob Monitor"));
    assert_eq!(e.line, 10, "{e}");
}

#[test]
fn bad_steps_point_at_them() {
    let e = error_of(&GOOD.replace("by: mallory, logged", "by: eve, logged"));
    assert_eq!((e.line, e.column), (16, 5), "{e}");
    assert!(e.message.contains("not a man-in-the-middle"), "{e}");
    let e = error_of(&GOOD.replace("for: bob", "for: dave"));
    assert_eq!(e.line, 16, "{e}");
    let e = error_of(&GOOD.replace("mallory, logged: true", "mallory, logged: sometimes"));
    assert_eq!(e.line, 16, "{e}");
    assert!(e.column > 0, "{e}");
    let e = error_of(&GOOD.replace("shown: [alice]", "shown: []"));
    assert_eq!((e.line, e.column), (15, 5), "{e}");
    let e = error_of(&GOOD.replace("between: [alice, carol]", "between: [alice]"));
    assert_eq!((e.line, e.column), (19, 24), "{e}");
    assert!(e.message.contains("two peers"), "{e}");
    let e = error_of(&GOOD.replace("between: [alice, carol]", "between: [alice, alice]"));
    assert_eq!(e.line, 19, "{e}");
    let e = error_of(&GOOD.replace(
        "revoke: { peer: bob, unrequested",
        "revoke: { ca: Example Issuing CA, unrequested",
    ));
    assert_eq!(e.line, 21, "{e}");
}

#[test]
fn detected_is_expected_only_of_advance_and_gossip() {
    let e = error_of(&GOOD.replace(
        "mallory, logged: true }",
        "mallory, logged: true }\n    expect: { detected: true }",
    ));
    assert_eq!(e.line, 17, "{e}");
    assert!(e.message.contains("`detected` cannot be expected"), "{e}");
}
