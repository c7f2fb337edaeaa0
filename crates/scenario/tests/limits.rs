//! Input that cannot hurt: every out-of-range duration, date and count is
//! refused at load with its position and a message in the file's terms,
//! and what the run would refuse is found before it runs.

use pkilab_scenario::{Invalid, load_str};

const BASE: &str = "\
name: Limits
summary: Out-of-range input.
clock: 2026-01-01T00:00:00Z
pki: { root: Example Root CA, intermediates: [Example Issuing CA] }
peers: [alice, bob]
steps:
  - handshake: { from: alice, to: bob }
";

fn refused(text: &str) -> Invalid {
    load_str("s.yaml", text).expect_err("the loader should refuse this")
}

fn with_step(step: &str) -> String {
    format!("{BASE}  - {step}\n")
}

#[test]
fn advancing_three_million_days_is_refused_at_its_line() {
    let e = refused(&with_step("advance: 3000000d"));
    assert_eq!((e.line, e.column), (8, 5), "{e}");
    assert!(e.message.contains("passes the end of the year 9999"), "{e}");
}

#[test]
fn many_small_advances_past_the_calendar_are_refused_at_the_one_that_passes() {
    let mut text = BASE.to_owned();
    for _ in 0..3 {
        text.push_str("  - advance: 1000000d\n");
    }
    let e = refused(&text);
    assert_eq!(e.line, 10, "{e}");
}

#[test]
fn a_clock_at_the_end_of_the_calendar_is_refused() {
    let e = refused(&BASE.replace("2026-01-01T00:00:00Z", "9999-12-31T00:00:00Z"));
    assert_eq!(e.line, 3, "{e}");
    assert!(e.message.contains("outside the years"), "{e}");
}

#[test]
fn a_certificate_validity_longer_than_the_issuer_is_refused() {
    let e = refused(&BASE.replace(
        "intermediates: [Example Issuing CA] }",
        "intermediates: [Example Issuing CA], certificate-validity: 3000000d }",
    ));
    assert_eq!(e.line, 4, "{e}");
    assert!(
        e.message
            .contains("would outlive its issuer 'Example Issuing CA'"),
        "{e}"
    );
    assert!(
        e.help.as_deref().unwrap_or("").contains("at most 3652d"),
        "{e}"
    );
}

#[test]
fn a_reissued_leaf_that_outlives_its_issuer_is_found_by_check() {
    let e = refused(&with_step("issue: { peer: bob, validity: 4000d }"));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("outlive its issuer"), "{e}");
}

#[test]
fn a_crl_with_no_lifetime_is_found_by_check() {
    let e = refused(&with_step("publish-crl: { validity: 0s }"));
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("0s"), "{e}");
}

#[test]
fn the_largest_handshake_count_is_refused_with_the_limit() {
    let e = refused(&with_step(
        "handshakes: { count: 18446744073709551615, pairs: random }",
    ));
    assert_eq!(e.line, 8, "{e}");
    assert!(
        e.message
            .contains("handshakes.count is 18446744073709551615"),
        "{e}"
    );
    assert!(
        e.help.as_deref().unwrap_or("").contains("1000000000"),
        "{e}"
    );
}

#[test]
fn a_billion_handshakes_load() {
    let s = load_str(
        "s.yaml",
        &with_step("handshakes: { count: 1000000000, pairs: random }"),
    )
    .expect("a billion is within the limit");
    assert_eq!(s.steps.len(), 2);
}

#[test]
fn the_largest_peer_count_is_refused_in_our_words() {
    let e = refused(&BASE.replace(
        "peers: [alice, bob]",
        "peers: { count: 18446744073709551615, prefix: node }",
    ));
    assert_eq!(e.line, 5, "{e}");
    assert_eq!(e.message, "peers.count is 18446744073709551615");
}

#[test]
fn yaml_booleans_used_as_names_are_explained() {
    let e = refused(&BASE.replace("peers: [alice, bob]", "peers: [y, n]"));
    assert_eq!(e.line, 5, "{e}");
    assert!(e.message.contains("reads as the boolean true"), "{e}");
    assert!(e.help.as_deref().unwrap_or("").contains("quote"), "{e}");
    assert!(!e.message.contains("untagged"), "{e}");
}

#[test]
fn parser_words_never_reach_the_user() {
    let cases = [
        BASE.replace("clock:", "seed: -1\nclock:"),
        BASE.replace("peers: [alice, bob]", "peers: [alice, bob]\npeers: [carol]"),
        BASE.replace("peers: [alice, bob]", "peers: 5"),
    ];
    for text in cases {
        let e = refused(&text);
        let shown = e.to_string();
        for word in [
            "invalid u64",
            "untagged enum",
            "DuplicateKeyPolicy",
            "Options",
        ] {
            assert!(!shown.contains(word), "{shown}");
        }
        assert!(e.line > 0, "{shown}");
    }
    let e = refused(&BASE.replace("clock:", "seed: -1\nclock:"));
    assert!(e.message.contains("whole number"), "{e}");
    let e = refused(&BASE.replace("peers: [alice, bob]", "peers: [alice, bob]\npeers: [carol]"));
    assert!(e.message.contains("appears twice"), "{e}");
}

#[test]
fn the_insecure_cipher_is_refused_unless_the_file_asks_for_it() {
    let text =
        with_step("handshake: { from: alice, to: bob, cipher: aes-256-ctr-unauthenticated }");
    let e = refused(&text);
    assert_eq!(e.line, 8, "{e}");
    assert!(e.message.contains("does not authenticate records"), "{e}");
    let allowed = text.replace("clock:", "allow-insecure-cipher: true\nclock:");
    assert!(load_str("s.yaml", &allowed).is_ok());
}

#[test]
fn a_kms_node_name_the_network_cannot_certify_is_found_by_check() {
    let text = BASE.replace(
        "steps:",
        "kms:\n  name: Key Server\n  keys:\n    - { name: team, members: [alice, bob] }\nsteps:",
    );
    let e = refused(&text);
    assert_eq!(e.line, 7, "{e}");
    assert!(
        e.message
            .contains("'Key Server' is not a usable name for the KMS node"),
        "{e}"
    );
}
