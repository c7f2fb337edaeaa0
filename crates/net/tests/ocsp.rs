//! Revocation status on the network: peers asking the OCSP responder,
//! stapling peers, an adversary blocking the responder (soft- and
//! hard-fail), delta CRLs on a schedule, and the responder's log.
#![allow(clippy::panic)]

use pkilab_ca::RevocationReason;
use pkilab_net::{AdversaryKind, Event, Fate, Network, PeerPolicy, PkiSpec, Revocation};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(peers: &[(&str, Revocation)]) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: Vec::new(),
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(13, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for (name, revocation) in peers {
        net.add_peer(name).expect("peer");
        net.configure_peer(
            name,
            PeerPolicy {
                revocation: *revocation,
                ..PeerPolicy::default()
            },
        )
        .expect("policy");
    }
    net.add_ocsp_responder("ocsp", Duration::hours(1))
        .expect("responder");
    net.add_adversary(
        "mallory",
        AdversaryKind::Eavesdropper,
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    net
}

fn reason(net: &mut Network, from: &str, to: &str) -> Option<String> {
    let report = net
        .handshake(from, to, Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(report.established, report.refused.is_none());
    report.refused.map(|r| r.reason)
}

fn labels_since(net: &Network, since: usize) -> Vec<(String, Fate)> {
    net.trace()[since..]
        .iter()
        .filter_map(|e| match e {
            Event::Frame { label, fate, .. } if label.starts_with("OCSP") => {
                Some((label.clone(), *fate))
            }
            _ => None,
        })
        .collect()
}

const HARD: Revocation = Revocation::Ocsp { soft_fail: false };
const SOFT: Revocation = Revocation::Ocsp { soft_fail: true };
const MUST_STAPLE: Revocation = Revocation::OcspStaple { soft_fail: false };

#[test]
fn a_peer_asks_the_responder_and_refuses_a_revoked_certificate_at_once() {
    let mut net = network(&[("alice", HARD), ("bob", Revocation::Hard)]);
    let since = net.trace().len();
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    assert_eq!(
        labels_since(&net, since),
        [
            (
                "OCSP request: bob's certificate?".to_owned(),
                Fate::Delivered
            ),
            ("OCSP response: good".to_owned(), Fate::Delivered),
        ]
    );
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    assert_eq!(reason(&mut net, "alice", "bob").as_deref(), Some("revoked"));
    let log = net.ocsp_log();
    assert_eq!(log.len(), 2);
    assert_eq!((log[1].asker.as_str(), log[1].status), ("alice", "revoked"));
}

#[test]
fn blocking_the_responder_defeats_soft_fail_and_hard_fail_refuses() {
    let mut net = network(&[("alice", HARD), ("bob", Revocation::Hard), ("carol", SOFT)]);
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    assert_eq!(reason(&mut net, "carol", "bob").as_deref(), Some("revoked"));
    net.block_ocsp("mallory").expect("block");
    let since = net.trace().len();
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let refusal = report.refused.expect("hard-fail refuses");
    assert_eq!(refusal.reason, "revocation-unknown");
    assert!(
        refusal.detail.contains("gave no answer"),
        "{}",
        refusal.detail
    );
    assert_eq!(
        labels_since(&net, since),
        [("OCSP request: bob's certificate?".to_owned(), Fate::Dropped)]
    );
    assert_eq!(
        reason(&mut net, "carol", "bob"),
        None,
        "soft-fail goes ahead with a revoked certificate"
    );
}

#[test]
fn must_staple_holds_a_good_staple_refuses_a_revoked_or_stale_one() {
    let mut net = network(&[("alice", MUST_STAPLE), ("bob", MUST_STAPLE)]);
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    assert!(net.staple_of("bob").is_some() && net.staple_of("alice").is_some());
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    // Bob's staple is good for another half hour before he refreshes it.
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    net.advance(Duration::minutes(31)).expect("advance");
    assert_eq!(reason(&mut net, "alice", "bob").as_deref(), Some("revoked"));
    let mut net = network(&[("alice", MUST_STAPLE), ("bob", MUST_STAPLE)]);
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    net.block_ocsp("mallory").expect("block");
    net.advance(Duration::minutes(61)).expect("advance");
    assert_eq!(
        reason(&mut net, "alice", "bob").as_deref(),
        Some("staple-stale")
    );
}

#[test]
fn a_peer_without_a_staple_is_refused_by_must_staple_only() {
    let mut net = network(&[
        ("alice", MUST_STAPLE),
        ("bob", Revocation::Hard),
        ("carol", Revocation::OcspStaple { soft_fail: true }),
    ]);
    assert_eq!(
        reason(&mut net, "alice", "bob").as_deref(),
        Some("staple-missing")
    );
    assert_eq!(reason(&mut net, "carol", "bob"), None);
}

#[test]
fn a_delta_crl_carries_a_revocation_within_its_period() {
    for (deltas, expected) in [(true, Some("revoked")), (false, None)] {
        let mut net = network(&[("alice", Revocation::Hard), ("bob", Revocation::Hard)]);
        if deltas {
            net.schedule_delta_crls(Duration::minutes(15));
        }
        net.revoke("bob", RevocationReason::KeyCompromise)
            .expect("revoke");
        net.advance(Duration::minutes(15)).expect("advance");
        assert_eq!(reason(&mut net, "alice", "bob").as_deref(), expected);
    }
}

#[test]
fn the_log_shows_who_talks_to_whom_unless_peers_staple() {
    let mut net = network(&[("alice", HARD), ("bob", HARD)]);
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    assert_eq!(net.read_ocsp_log("mallory").expect("reads"), 2);
    let mut net = network(&[("alice", MUST_STAPLE), ("bob", MUST_STAPLE)]);
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    assert_eq!(net.read_ocsp_log("mallory").expect("reads"), 0);
    assert!(
        net.ocsp_log()
            .iter()
            .all(|q| q.about.as_deref() == Some(q.asker.as_str()))
    );
}

#[test]
fn a_crl_says_only_what_was_revoked_before_it_was_published() {
    // A peer with a trust store of its own gets its validator built on
    // first use; it must still hold the CRL as published, not the CA's
    // records of now.
    let mut net = network(&[("alice", Revocation::Hard), ("bob", Revocation::Hard)]);
    net.configure_peer(
        "alice",
        PeerPolicy {
            trusts: vec!["Another Root".into()],
            ..PeerPolicy::default()
        },
    )
    .expect("policy");
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    assert_eq!(reason(&mut net, "alice", "bob"), None);
    net.publish_crl(None).expect("publish");
    assert_eq!(reason(&mut net, "alice", "bob").as_deref(), Some("revoked"));
}
