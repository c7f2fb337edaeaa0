#![allow(clippy::panic)]
//! Key distribution: members fetch the same group key over their sessions,
//! others are refused, a revoked member gets nothing, keys expire and
//! rotate by the simulated clock, and runs repeat byte for byte.

use pkilab_ca::RevocationReason;
use pkilab_net::{AdversaryKind, Event, FetchReport, Network, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(seed: u64) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(seed, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for peer in ["alice", "bob", "carol"] {
        net.add_peer(peer).expect("peer");
    }
    net.add_kms("kms").expect("kms");
    net.create_group_key(
        "team",
        &["alice".into(), "bob".into()],
        Some(Duration::days(30)),
    )
    .expect("group key");
    net
}

fn connect(net: &mut Network, peer: &str) {
    let report = net
        .handshake(peer, "kms", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established, "{report:?}");
}

fn refused(report: &FetchReport) -> &str {
    assert!(!report.delivered, "{report:?}");
    &report.refused.as_ref().expect("a refusal").reason
}

fn fingerprints(net: &Network, key: &str) -> Vec<(String, i64, String)> {
    net.trace()
        .iter()
        .filter_map(|e| match e {
            Event::KeyDelivered {
                peer,
                key: k,
                version,
                fingerprint,
                ..
            } if k == key => Some((peer.clone(), *version, fingerprint.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn members_share_one_key_and_rotation_gives_them_the_next() {
    let mut net = network(1);
    connect(&mut net, "alice");
    connect(&mut net, "bob");
    for peer in ["alice", "bob"] {
        let report = net.fetch_key(peer, "team").expect("runs");
        assert_eq!(
            (report.delivered, report.version),
            (true, Some(1)),
            "{report:?}"
        );
    }
    assert_eq!(net.rotate_group_key("team").expect("rotate"), 2);
    for peer in ["alice", "bob"] {
        assert_eq!(net.fetch_key(peer, "team").expect("runs").version, Some(2));
    }
    let seen = fingerprints(&net, "team");
    assert_eq!(seen.len(), 4);
    assert_eq!(seen[0].2, seen[1].2, "alice and bob hold the same v1");
    assert_eq!(seen[2].2, seen[3].2, "and the same v2");
    assert_ne!(seen[0].2, seen[2].2, "v2 is a new key");
}

#[test]
fn a_non_member_and_an_unknown_key_are_refused() {
    let mut net = network(2);
    connect(&mut net, "carol");
    assert_eq!(
        refused(&net.fetch_key("carol", "team").expect("runs")),
        "forbidden"
    );
    assert_eq!(
        refused(&net.fetch_key("carol", "payroll").expect("runs")),
        "unknown-key"
    );
    assert_eq!(
        refused(&net.fetch_key("bob", "team").expect("runs")),
        "no-session"
    );
}

#[test]
fn a_revoked_member_gets_nothing() {
    let mut net = network(3);
    connect(&mut net, "alice");
    assert!(net.fetch_key("alice", "team").expect("runs").delivered);
    net.revoke("alice", RevocationReason::KeyCompromise)
        .expect("revoke");
    // The KMS knows at once, even on the session opened before.
    assert_eq!(
        refused(&net.fetch_key("alice", "team").expect("runs")),
        "revoked"
    );
    // Once the CRL is out, the KMS node refuses her handshake itself.
    net.publish_crl(None).expect("crl");
    let report = net
        .handshake("alice", "kms", Mode::SignedEphemeral)
        .expect("runs");
    assert!(!report.established);
    assert_eq!(report.refused.expect("refused").reason, "revoked");
    // She finished her side of that handshake before the KMS node refused
    // hers, so she believes she has a session; the node has none with her.
    assert_eq!(
        refused(&net.fetch_key("alice", "team").expect("runs")),
        "unexpected-message"
    );
}

#[test]
fn keys_expire_by_the_simulated_clock() {
    let mut net = network(4);
    connect(&mut net, "bob");
    net.advance(Duration::days(31)).expect("advance");
    assert_eq!(
        refused(&net.fetch_key("bob", "team").expect("runs")),
        "crl-stale"
    );
    net.publish_crl(None).expect("crl");
    assert_eq!(
        refused(&net.fetch_key("bob", "team").expect("runs")),
        "key-state"
    );
}

#[test]
fn an_unauthenticated_session_gets_no_key_and_an_eavesdropper_reads_none() {
    let mut net = network(5);
    net.add_adversary("eve", AdversaryKind::Eavesdropper, "bob", "kms", "kms")
        .expect("eve");
    connect(&mut net, "bob");
    let report = net.fetch_key("bob", "team").expect("runs");
    assert!(report.delivered && !report.attacker_reads, "{report:?}");
    let report = net
        .handshake("alice", "kms", Mode::Unauthenticated)
        .expect("runs");
    assert!(report.established);
    assert_eq!(
        refused(&net.fetch_key("alice", "team").expect("runs")),
        "unauthenticated"
    );
}

#[test]
fn the_same_seed_gives_the_same_trace() {
    let run = || {
        let mut net = network(6);
        connect(&mut net, "alice");
        net.fetch_key("alice", "team").expect("runs");
        net.rotate_group_key("team").expect("rotate");
        net.fetch_key("alice", "team").expect("runs");
        serde_json::to_string(net.trace()).expect("json")
    };
    assert_eq!(run(), run());
}
