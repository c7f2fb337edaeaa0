//! The simulation's quantum adversary: handed the secrets of the
//! primitives it is assumed to break, it reads recorded signed-ephemeral
//! sessions but not hybrid ones; and stripping the post-quantum part of a
//! hybrid hello is caught.
#![allow(clippy::panic)]

use pkilab_net::{AdversaryKind, Event, Network, PeerPolicy, PkiSpec};
use pkilab_peer::Mode;
use pkilab_peer::escrow::Broken;
use time::{Duration, macros::datetime};

fn network(peers: &[&str]) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(32, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for peer in peers {
        net.add_peer(peer).expect("peer");
    }
    net
}

const X25519: Broken = Broken {
    x25519: true,
    ml_kem: false,
};
const ML_KEM: Broken = Broken {
    x25519: false,
    ml_kem: true,
};

/// Alice-bob signed-ephemeral recorded by eve, carol-dave hybrid by eve2.
fn recorded() -> Network {
    let mut net = network(&["alice", "bob", "carol", "dave"]);
    net.add_adversary("eve", AdversaryKind::Eavesdropper, "alice", "bob", "bob")
        .expect("eve");
    net.add_adversary("eve2", AdversaryKind::Eavesdropper, "carol", "dave", "dave")
        .expect("eve2");
    for (from, to, mode) in [
        ("alice", "bob", Mode::SignedEphemeral),
        ("carol", "dave", Mode::Hybrid),
    ] {
        let report = net.handshake(from, to, mode).expect("runs");
        assert!(report.established, "{report:?}");
        assert!(net.send(from, to, "harvested").expect("runs").delivered);
    }
    net
}

#[test]
fn breaking_x25519_reads_recorded_signed_ephemeral_traffic_but_not_hybrid() {
    let mut net = recorded();
    assert_eq!(
        net.decrypt_recorded_breaking("eve", X25519).expect("runs"),
        1
    );
    assert_eq!(
        net.decrypt_recorded_breaking("eve2", X25519).expect("runs"),
        0
    );
    let reads: Vec<(&str, &str)> = net
        .trace()
        .iter()
        .filter_map(|e| match e {
            Event::AttackerRead {
                adversary, text, ..
            } => Some((adversary.as_str(), text.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(reads, [("eve", "harvested")]);
}

#[test]
fn breaking_ml_kem_alone_reads_neither() {
    let mut net = recorded();
    assert_eq!(
        net.decrypt_recorded_breaking("eve", ML_KEM).expect("runs"),
        0
    );
    assert_eq!(
        net.decrypt_recorded_breaking("eve2", ML_KEM).expect("runs"),
        0
    );
    let both = Broken {
        x25519: true,
        ml_kem: true,
    };
    assert_eq!(
        net.decrypt_recorded_breaking("eve2", both).expect("runs"),
        1
    );
}

#[test]
fn breaking_x25519_also_opens_static_mode_through_the_long_term_keys() {
    let mut net = network(&["alice", "bob"]);
    net.add_adversary("eve", AdversaryKind::Eavesdropper, "alice", "bob", "bob")
        .expect("eve");
    assert!(
        net.handshake("alice", "bob", Mode::Static)
            .expect("runs")
            .established
    );
    assert!(net.send("alice", "bob", "static").expect("runs").delivered);
    assert_eq!(
        net.decrypt_recorded_breaking("eve", X25519).expect("runs"),
        1
    );
}

#[test]
fn a_stripped_hybrid_hello_is_refused_by_a_responder_that_requires_hybrid() {
    let mut net = network(&["alice", "bob"]);
    net.add_adversary("mallory", AdversaryKind::Stripper, "alice", "bob", "bob")
        .expect("mallory");
    let report = net.handshake("alice", "bob", Mode::Hybrid).expect("runs");
    assert!(!report.established);
    let refused = report.refused.expect("refused");
    assert_eq!(
        (refused.by.as_str(), refused.reason.as_str()),
        ("bob", "downgrade")
    );
}

#[test]
fn a_stripped_hybrid_hello_answered_classically_is_refused_by_the_initiator() {
    let mut net = network(&["alice", "bob"]);
    let policy = PeerPolicy {
        modes: vec![Mode::SignedEphemeral],
        ..PeerPolicy::default()
    };
    net.configure_peer("bob", policy).expect("policy");
    net.add_adversary("mallory", AdversaryKind::Stripper, "alice", "bob", "bob")
        .expect("mallory");
    let report = net.handshake("alice", "bob", Mode::Hybrid).expect("runs");
    assert!(!report.established && !report.attacker_reads);
    let refused = report.refused.expect("refused");
    assert_eq!(
        (refused.by.as_str(), refused.reason.as_str()),
        ("alice", "downgrade")
    );
}

#[test]
fn the_plain_downgrader_strips_hybrid_hellos_too_and_is_refused() {
    let mut net = network(&["alice", "bob"]);
    net.add_adversary("mallory", AdversaryKind::Downgrader, "alice", "bob", "bob")
        .expect("mallory");
    let report = net.handshake("alice", "bob", Mode::Hybrid).expect("runs");
    let refused = report.refused.expect("refused");
    assert_eq!(refused.reason, "downgrade");
}
