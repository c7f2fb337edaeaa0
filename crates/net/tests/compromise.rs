//! Stolen keys are usable: an active adversary impersonates the victim
//! with its current certificate until revocation reaches the verifier, a
//! passive one reads live what the stolen keys open, re-issued
//! certificates reach whoever holds the key, and the KMS ends an identity
//! only for reasons that concern the identity.
#![allow(clippy::panic)]

use pkilab_ca::RevocationReason;
use pkilab_net::{AdversaryKind, Event, MitmCertificate, Network, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network() -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(20, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    net.add_peer("alice").expect("alice");
    net.add_peer("bob").expect("bob");
    net
}

fn reason(report: &pkilab_net::HandshakeReport) -> Option<&str> {
    report.refused.as_ref().map(|r| r.reason.as_str())
}

#[test]
fn compromise_arms_a_mitm_until_revocation_reaches_alice() {
    let mut net = network();
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::None),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    let before = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&before), Some("no-certificate"));
    net.compromise("bob", "mallory").expect("compromise");
    let armed = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(armed.established && armed.attacker_reads, "{armed:?}");
    assert_eq!(armed.initiator_verified.as_deref(), Some("bob"));
    let sent = net
        .send("alice", "bob", "wire 500 to account 12")
        .expect("runs");
    assert!(sent.delivered && sent.attacker_reads, "{sent:?}");
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    let unpublished = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(
        unpublished.established && unpublished.attacker_reads,
        "{unpublished:?}"
    );
    net.publish_crl(None).expect("crl");
    let after = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&after), Some("revoked"), "{after:?}");
    assert!(!after.attacker_reads);
}

fn eavesdropped(mode: Mode) -> (bool, Vec<String>) {
    let mut net = network();
    net.add_adversary("eve", AdversaryKind::Eavesdropper, "alice", "bob", "bob")
        .expect("adversary");
    net.compromise("bob", "eve").expect("compromise");
    let report = net.handshake("alice", "bob", mode).expect("runs");
    assert!(report.established, "{report:?}");
    assert_eq!(report.attacker_reads, mode == Mode::Static, "{report:?}");
    let sent = net
        .send("alice", "bob", "the launch is at dawn")
        .expect("runs");
    assert!(sent.delivered, "{sent:?}");
    let read = net
        .trace()
        .iter()
        .filter_map(|e| match e {
            Event::AttackerRead { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect();
    (sent.attacker_reads, read)
}

#[test]
fn a_passive_adversary_with_stolen_static_keys_reads_live_traffic() {
    let (reads, texts) = eavesdropped(Mode::Static);
    assert!(reads);
    assert_eq!(texts, ["the launch is at dawn"]);
}

#[test]
fn stolen_keys_open_nothing_live_in_signed_ephemeral_mode() {
    let (reads, texts) = eavesdropped(Mode::SignedEphemeral);
    assert!(!reads);
    assert!(texts.is_empty(), "{texts:?}");
}

fn reissued(keep_key: bool) -> pkilab_net::HandshakeReport {
    let mut net = network();
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Stolen),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    net.publish_crl(None).expect("crl");
    let revoked = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&revoked), Some("revoked"));
    net.issue("bob", Duration::days(90), Duration::ZERO, keep_key)
        .expect("issue");
    assert_eq!(net.holders_of_key("bob").is_empty(), !keep_key);
    net.handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs")
}

#[test]
fn recertifying_a_stolen_key_hands_the_adversary_a_valid_certificate() {
    let report = reissued(true);
    assert!(report.established && report.attacker_reads, "{report:?}");
}

#[test]
fn a_fresh_key_leaves_the_adversary_with_the_revoked_certificate() {
    let report = reissued(false);
    assert_eq!(reason(&report), Some("revoked"), "{report:?}");
}

#[test]
fn the_kms_keeps_an_identity_whose_certificate_was_superseded() {
    let mut net = network();
    net.add_kms("kms").expect("kms");
    net.create_group_key("team", &["bob".into()], None)
        .expect("key");
    net.revoke("bob", RevocationReason::Superseded)
        .expect("revoke");
    net.issue("bob", Duration::days(90), Duration::ZERO, false)
        .expect("issue");
    net.publish_crl(None).expect("crl");
    let hs = net
        .handshake("bob", "kms", Mode::SignedEphemeral)
        .expect("runs");
    assert!(hs.established, "{hs:?}");
    let fetch = net.fetch_key("bob", "team").expect("runs");
    assert!(fetch.delivered, "{fetch:?}");

    let mut net = network();
    net.add_kms("kms").expect("kms");
    net.create_group_key("team", &["bob".into()], None)
        .expect("key");
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    net.issue("bob", Duration::days(90), Duration::ZERO, false)
        .expect("issue");
    net.publish_crl(None).expect("crl");
    net.handshake("bob", "kms", Mode::SignedEphemeral)
        .expect("runs");
    let fetch = net.fetch_key("bob", "team").expect("runs");
    assert_eq!(fetch.refused.map(|r| r.reason).as_deref(), Some("revoked"));
}

#[test]
fn with_both_keys_stolen_each_side_sees_the_identity_it_expects() {
    let mut net = network();
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::None),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    net.compromise("bob", "mallory").expect("bob's keys");
    net.compromise("alice", "mallory").expect("alice's keys");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
    assert_eq!(report.initiator_verified.as_deref(), Some("bob"));
    assert_eq!(report.responder_verified.as_deref(), Some("alice"));
}
