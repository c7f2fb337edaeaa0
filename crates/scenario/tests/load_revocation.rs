//! The revocation keys (`revocation`, `soft-fail`, `ocsp`,
//! `pki.delta-crl-every`, `block`, `read-ocsp-log`): good values resolve,
//! bad ones are reported at file:line:column with what to do.

use pkilab_scenario::model::RevocationDoc;
use pkilab_scenario::{Action, SimDuration, load_str};

const GOOD: &str = "\
name: OCSP
summary: Peers ask the responder.
clock: 2026-01-01T00:00:00Z
pki: { root: Example Root CA, intermediates: [Example Issuing CA], delta-crl-every: 15m }
ocsp: { validity: 2h }
peers:
  - { name: alice, revocation: ocsp, soft-fail: true }
  - { name: bob, revocation: ocsp-staple }
  - { name: carol, revocation: crl, soft-fail: true }
  - { name: dave, revocation: hard }
adversaries:
  - { name: mallory, kind: eavesdropper, link: [alice, bob] }
steps:
  - block: { target: ocsp, by: mallory }
  - read-ocsp-log: { by: mallory }
    expect: { attacker_reads: false }
";

fn error_of(text: &str) -> pkilab_scenario::Invalid {
    load_str("s.yaml", text).expect_err("the loader should refuse this text")
}

#[test]
fn the_new_keys_resolve_and_the_old_spellings_still_work() {
    let s = load_str("s.yaml", GOOD).expect("valid scenario");
    let ocsp = s.ocsp.as_ref().expect("a responder");
    assert_eq!(
        (ocsp.name.as_str(), ocsp.validity),
        ("ocsp", SimDuration(7200))
    );
    assert_eq!(s.delta_crl_every, Some(SimDuration(900)));
    let policy = |name: &str| s.policies.get(name).expect("policy");
    assert_eq!(
        (policy("alice").revocation, policy("alice").soft_fail),
        (RevocationDoc::Ocsp, true)
    );
    assert_eq!(
        (policy("bob").revocation, policy("bob").soft_fail),
        (RevocationDoc::OcspStaple, false)
    );
    assert_eq!(policy("carol").revocation, RevocationDoc::Soft);
    assert_eq!(policy("dave").revocation, RevocationDoc::Hard);
    assert_eq!(
        s.steps[0].action,
        Action::Block {
            by: "mallory".into()
        }
    );
    assert_eq!(
        s.steps[1].action,
        Action::ReadOcspLog {
            by: "mallory".into()
        }
    );
}

#[test]
fn an_unknown_revocation_value_points_at_it() {
    let e = error_of(&GOOD.replace("revocation: ocsp, soft", "revocation: oscp, soft"));
    assert_eq!((e.line, e.column), (7, 32), "{e}");
    assert!(e.message.contains("oscp"), "{e}");
}

#[test]
fn soft_fail_must_be_a_boolean_and_go_with_a_checking_mode() {
    let e = error_of(&GOOD.replace(
        "soft-fail: true }\n  - { name: bob",
        "soft-fail: maybe }\n  - { name: bob",
    ));
    assert_eq!(e.line, 7, "{e}");
    assert!(e.column > 0, "{e}");
    let e = error_of(&GOOD.replace("revocation: hard }", "revocation: hard, soft-fail: true }"));
    assert_eq!(e.line, 10, "{e}");
    assert!(e.column > 0, "{e}");
    assert!(e.message.contains("soft-fail"), "{e}");
    assert!(
        e.help
            .as_deref()
            .unwrap_or("")
            .contains("crl, ocsp or ocsp-staple"),
        "{e}"
    );
}

#[test]
fn ocsp_modes_and_steps_need_a_responder() {
    let without = GOOD.replace("ocsp: { validity: 2h }\n", "");
    let e = error_of(&without);
    assert_eq!((e.line, e.column), (6, 32), "{e}");
    assert!(e.message.contains("no OCSP responder"), "{e}");
    let only_crl = without
        .replace("revocation: ocsp, soft-fail: true", "revocation: crl")
        .replace("revocation: ocsp-staple", "revocation: crl");
    let e = error_of(&only_crl);
    assert_eq!(e.line, 13, "{e}");
    assert!(e.message.contains("needs an OCSP responder"), "{e}");
}

#[test]
fn bad_responder_and_delta_values_point_at_them() {
    let e = error_of(&GOOD.replace("ocsp: { validity: 2h }", "ocsp: { validity: 0s }"));
    assert_eq!((e.line, e.column), (5, 19), "{e}");
    let e = error_of(&GOOD.replace("delta-crl-every: 15m", "delta-crl-every: soon"));
    assert_eq!(e.line, 4, "{e}");
    assert!(e.column > 0, "{e}");
    let e = error_of(&GOOD.replace("ocsp: { validity: 2h }", "ocsp: { name: alice }"));
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("already taken"), "{e}");
    let e = error_of(&GOOD.replace("target: ocsp", "target: crl"));
    assert_eq!(e.line, 14, "{e}");
    let e = error_of(&GOOD.replace(
        "block: { target: ocsp, by: mallory }",
        "block: { target: ocsp, by: trudy }",
    ));
    assert_eq!(e.line, 14, "{e}");
    assert!(e.message.contains("unknown adversary 'trudy'"), "{e}");
}
