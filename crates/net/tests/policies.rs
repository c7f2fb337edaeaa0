//! Per-peer trust stores and revocation policies, responders accepting
//! several modes, replay plans, intermediate revocation and member removal,
//! each asserting its outcome and reason.
#![allow(clippy::panic)]

use pkilab_ca::RevocationReason;
use pkilab_net::{
    AdversaryKind, MitmCertificate, Network, PeerPolicy, PkiSpec, ReplayPlan, Revocation,
};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(intermediates: &[&str]) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: intermediates.iter().map(|s| (*s).to_owned()).collect(),
        rogue: vec!["Corp CA".into()],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(40, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for peer in ["alice", "bob"] {
        net.add_peer(peer).expect("peer");
    }
    net
}

fn policy(net: &mut Network, peer: &str, policy: PeerPolicy) {
    net.configure_peer(peer, policy).expect("policy");
}

fn reason(report: &pkilab_net::HandshakeReport) -> Option<&str> {
    report.refused.as_ref().map(|r| r.reason.as_str())
}

#[test]
fn a_peer_that_trusts_a_rogue_root_accepts_its_certificates() {
    let mut net = network(&["Issuing CA"]);
    net.add_adversary(
        "proxy",
        AdversaryKind::Mitm(MitmCertificate::RogueCa),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    let refused = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&refused), Some("unknown-issuer"));
    let trusts = PeerPolicy {
        trusts: vec!["Corp CA".into()],
        ..PeerPolicy::default()
    };
    policy(&mut net, "alice", trusts.clone());
    policy(&mut net, "bob", trusts);
    let accepted = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(
        accepted.established && accepted.attacker_reads,
        "{accepted:?}"
    );
}

#[test]
fn soft_fail_accepts_a_revoked_certificate_once_the_crl_is_stale() {
    let mut net = network(&["Issuing CA"]);
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Stolen),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    for peer in ["alice", "bob"] {
        policy(
            &mut net,
            peer,
            PeerPolicy {
                revocation: Revocation::Soft,
                ..PeerPolicy::default()
            },
        );
    }
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    net.publish_crl(Some(Duration::hours(1))).expect("crl");
    let fresh = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&fresh), Some("revoked"));
    net.advance(Duration::hours(2)).expect("advance");
    let stale = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(stale.established && stale.attacker_reads, "{stale:?}");
    for peer in ["alice", "bob"] {
        policy(&mut net, peer, PeerPolicy::default());
    }
    let hard = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&hard), Some("crl-stale"));
}

#[test]
fn a_responder_accepting_the_weaker_mode_is_still_saved_by_the_transcript() {
    let mut net = network(&["Issuing CA"]);
    net.add_adversary("mallory", AdversaryKind::Downgrader, "alice", "bob", "bob")
        .expect("adversary");
    policy(
        &mut net,
        "bob",
        PeerPolicy {
            modes: vec![Mode::Unauthenticated],
            ..PeerPolicy::default()
        },
    );
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let refusal = report.refused.expect("refused");
    assert_eq!(
        (refusal.by.as_str(), refusal.reason.as_str()),
        ("alice", "transcript-mismatch")
    );
}

#[test]
fn a_delayed_replay_is_refused_when_it_arrives() {
    let mut net = network(&["Issuing CA"]);
    let plan = ReplayPlan {
        delay: Some(Duration::hours(1)),
        ..ReplayPlan::default()
    };
    net.add_adversary(
        "mallory",
        AdversaryKind::Replayer(plan),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    net.handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let sent = net.send("alice", "bob", "pay 100").expect("runs");
    assert!(sent.delivered && sent.refused.is_none(), "{sent:?}");
    let since = net.trace().len();
    net.advance(Duration::hours(1)).expect("advance");
    let late = net.refusal_since(since).expect("the copy is refused");
    assert_eq!((late.by.as_str(), late.reason.as_str()), ("bob", "replay"));
}

#[test]
fn a_record_replayed_into_the_next_session_does_not_open() {
    let mut net = network(&["Issuing CA"]);
    let plan = ReplayPlan {
        next_session: true,
        ..ReplayPlan::default()
    };
    net.add_adversary(
        "mallory",
        AdversaryKind::Replayer(plan),
        "alice",
        "bob",
        "bob",
    )
    .expect("adversary");
    net.handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(net.send("alice", "bob", "open").expect("runs").delivered);
    net.handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let sent = net.send("alice", "bob", "lock").expect("runs");
    assert!(sent.delivered && sent.intact, "{sent:?}");
    assert_eq!(
        sent.refused.map(|r| r.reason).as_deref(),
        Some("decrypt-failed")
    );
}

#[test]
fn revoking_the_issuing_ca_refuses_every_peer_it_issued() {
    let mut net = network(&["Policy CA", "Issuing CA"]);
    net.revoke_ca("Issuing CA", RevocationReason::CaCompromise)
        .expect("revoke");
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    net.publish_crl(None).expect("crl");
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(reason(&report), Some("revoked"), "{report:?}");
    assert!(
        net.revoke_ca("Example Root CA", RevocationReason::CaCompromise)
            .is_err()
    );
}

#[test]
fn a_removed_member_is_refused_and_the_key_rotates() {
    let mut net = network(&["Issuing CA"]);
    net.add_kms("kms").expect("kms");
    net.create_group_key("team", &["alice".into(), "bob".into()], None)
        .expect("key");
    net.handshake("bob", "kms", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(net.fetch_key("bob", "team").expect("runs").version, Some(1));
    assert_eq!(net.remove_member("team", "bob").expect("remove"), 2);
    let refused = net.fetch_key("bob", "team").expect("runs");
    assert_eq!(
        refused.refused.map(|r| r.reason).as_deref(),
        Some("forbidden")
    );
    net.handshake("alice", "kms", Mode::SignedEphemeral)
        .expect("runs");
    assert_eq!(
        net.fetch_key("alice", "team").expect("runs").version,
        Some(2)
    );
}
