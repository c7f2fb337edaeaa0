//! Certificate transparency in the simulation: peers that require logged
//! certificates refuse an unlogged rogue one; a logged one gets through,
//! but the victim's monitor reports it at its next poll and revocation
//! follows; a split-view log is caught by two peers comparing checkpoints.
#![allow(clippy::panic)]

use pkilab_net::{AdversaryKind, Event, MitmCertificate, Network, PeerPolicy, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(require_logged: bool) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(38, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for peer in ["alice", "bob", "carol"] {
        net.add_peer(peer).expect("peer");
        let policy = PeerPolicy {
            require_logged,
            ..PeerPolicy::default()
        };
        net.configure_peer(peer, policy).expect("policy");
    }
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::None),
        "alice",
        "bob",
        "bob",
    )
    .expect("mallory");
    net
}

fn reason(report: &pkilab_net::HandshakeReport) -> Option<&str> {
    report.refused.as_ref().map(|r| r.reason.as_str())
}

#[test]
fn honest_peers_carry_proofs_that_requiring_peers_accept() {
    let mut net = network(true);
    let report = net
        .handshake("bob", "carol", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established, "{report:?}");
}

#[test]
fn an_unlogged_rogue_certificate_is_refused_as_not_logged() {
    let mut net = network(true);
    net.rogue_issuance("bob", "mallory", false).expect("rogue");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(!report.established && !report.attacker_reads, "{report:?}");
    assert_eq!(reason(&report), Some("not-logged"));
}

#[test]
fn without_the_requirement_the_unlogged_rogue_certificate_wins() {
    let mut net = network(false);
    net.rogue_issuance("bob", "mallory", false).expect("rogue");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
}

#[test]
fn a_logged_rogue_certificate_is_found_at_the_next_poll_and_revoked() {
    let mut net = network(true);
    net.add_monitor("bob-monitor", "bob", Duration::hours(1))
        .expect("monitor");
    net.advance(Duration::hours(1)).expect("first poll");
    assert_eq!(net.detections(), 0, "bob's own certificate is requested");
    net.advance(Duration::minutes(10)).expect("advance");
    net.rogue_issuance("bob", "mallory", true).expect("rogue");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
    net.advance(Duration::minutes(49)).expect("advance");
    assert_eq!(net.detections(), 0, "the next poll is at 2h");
    net.advance(Duration::minutes(1)).expect("advance");
    assert_eq!(net.detections(), 1, "found within one interval");
    assert!(net.trace().iter().any(|e| matches!(e,
        Event::Note { text, .. } if text.contains("bob-monitor found a certificate naming bob that bob did not request")
            && text.contains("mallory"))));
    assert_eq!(
        net.revoke_unrequested("bob", pkilab_ca::RevocationReason::KeyCompromise)
            .expect("revoke"),
        1
    );
    net.publish_crl(None).expect("crl");
    let after = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&after), Some("revoked"), "{after:?}");
    let bob = net
        .handshake("bob", "carol", Mode::SignedEphemeral)
        .expect("runs");
    assert!(bob.established, "bob's own certificate stays good: {bob:?}");
}

#[test]
fn a_split_view_is_caught_by_gossip_and_not_before() {
    let mut net = network(true);
    let honest = net.gossip("alice", "carol").expect("gossip");
    assert!(honest.consistent);
    net.split_view(&["alice".to_owned()]).expect("split");
    net.rogue_issuance("bob", "mallory", true).expect("rogue");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
    let before = net.gossip("alice", "carol").expect("gossip");
    assert!(
        before.consistent,
        "carol's tree is still a prefix of alice's: nothing to catch yet"
    );
    net.issue("carol", Duration::days(365), Duration::ZERO, false)
        .expect("carol renews");
    let caught = net.gossip("alice", "carol").expect("gossip");
    assert!(!caught.consistent, "{caught:?}");
    assert_ne!(caught.checkpoints[0], caught.checkpoints[1]);
    assert_eq!(net.detections(), 1);
}

#[test]
fn a_monitor_shown_the_public_tree_misses_the_hidden_certificate() {
    let mut net = network(true);
    net.add_monitor("bob-monitor", "bob", Duration::hours(1))
        .expect("monitor");
    net.split_view(&["alice".to_owned()]).expect("split");
    net.rogue_issuance("bob", "mallory", true).expect("rogue");
    net.advance(Duration::hours(3)).expect("polls");
    assert_eq!(
        net.detections(),
        0,
        "the split view hides it from the monitor"
    );
}

#[test]
fn bad_monitor_and_rogue_inputs_are_errors() {
    let mut net = network(true);
    assert!(net.add_monitor("m", "nobody", Duration::hours(1)).is_err());
    assert!(net.add_monitor("m", "bob", Duration::ZERO).is_err());
    assert!(net.rogue_issuance("nobody", "mallory", true).is_err());
    assert!(net.rogue_issuance("bob", "nobody", true).is_err());
}
