//! Sessions are bound to the identity a node verified, not to the link a
//! frame came in on, and a step's `attacker_reads` comes from that step's
//! frames and sessions alone.
#![allow(clippy::panic)]

use pkilab_net::{AdversaryKind, Event, MitmCertificate, Network, PeerPolicy, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(peers: &[&str]) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(10, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for peer in peers {
        net.add_peer(peer).expect("peer");
    }
    net
}

fn reads(net: &Network) -> Vec<String> {
    net.trace()
        .iter()
        .filter_map(|e| match e {
            Event::AttackerRead { text, .. } => Some(text.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_responder_never_sends_to_alice_over_a_session_it_verified_as_mallory() {
    let mut net = network(&["alice", "bob"]);
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Own),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    let handshake = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let refusal = handshake.refused.clone().expect("alice refuses mallory");
    assert_eq!(
        (refusal.by.as_str(), refusal.reason.as_str()),
        ("alice", "name-mismatch")
    );
    assert!(!handshake.attacker_reads, "{handshake:?}");

    let sent = net.send("bob", "alice", "for alice only").expect("runs");
    assert!(!sent.delivered, "{sent:?}");
    assert!(!sent.attacker_reads, "{sent:?}");
    let refusal = sent.refused.expect("no session with alice");
    assert_eq!(
        (refusal.by.as_str(), refusal.reason.as_str()),
        ("bob", "no-session")
    );
    assert!(refusal.detail.contains("mallory"), "{}", refusal.detail);
    assert!(reads(&net).is_empty(), "mallory read {:?}", reads(&net));
}

#[test]
fn attacker_reads_of_a_handshake_on_a_clean_link_is_false() {
    let mut net = network(&["alice", "bobby", "carol"]);
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Stolen),
        "alice",
        "bobby",
        "bobby",
    )
    .expect("adversary");
    let first = net
        .handshake("alice", "bobby", Mode::SignedEphemeral)
        .expect("runs");
    assert!(first.established && first.attacker_reads, "{first:?}");
    let second = net
        .handshake("alice", "carol", Mode::SignedEphemeral)
        .expect("runs");
    assert!(second.established, "{second:?}");
    assert!(
        !second.attacker_reads,
        "no adversary on alice-carol: {second:?}"
    );
    let sent = net.send("alice", "carol", "hi carol").expect("runs");
    assert!(sent.delivered && !sent.attacker_reads, "{sent:?}");
}

#[test]
fn a_responder_with_an_accept_list_refuses_other_verified_names() {
    let mut net = network(&["alice", "bob", "carol"]);
    net.configure_peer(
        "carol",
        PeerPolicy {
            accept: Some(vec!["alice".into()]),
            ..PeerPolicy::default()
        },
    )
    .expect("policy");
    let alice = net
        .handshake("alice", "carol", Mode::SignedEphemeral)
        .expect("runs");
    assert!(alice.established, "{alice:?}");
    assert_eq!(alice.responder_verified.as_deref(), Some("alice"));
    let bob = net
        .handshake("bob", "carol", Mode::SignedEphemeral)
        .expect("runs");
    assert!(!bob.established, "{bob:?}");
    let refusal = bob.refused.expect("carol refuses bob");
    assert_eq!(
        (refusal.by.as_str(), refusal.reason.as_str()),
        ("carol", "name-mismatch")
    );
    assert!(
        refusal.detail.contains("accepts only alice"),
        "{}",
        refusal.detail
    );
    let sent = net.send("carol", "bob", "hello").expect("runs");
    assert_eq!(
        sent.refused.map(|r| r.reason).as_deref(),
        Some("no-session")
    );
}

#[test]
fn without_an_accept_list_the_responder_reports_whom_it_authenticated() {
    let mut net = network(&["alice", "bob"]);
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Own),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(report.initiator_verified, None, "alice refused");
    assert_eq!(report.responder_verified.as_deref(), Some("mallory"));
}
