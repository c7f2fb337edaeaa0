//! Every adversary and certificate kind, each asserting the exact outcome
//! and reason.
#![allow(clippy::panic)]

use pkilab_ca::RevocationReason;
use pkilab_net::{AdversaryKind, MitmCertificate, Network, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(seed: u64) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec!["Shady Root CA".into()],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(seed, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    net.add_peer("alice").expect("alice");
    net.add_peer("bob").expect("bob");
    net
}

fn with(kind: AdversaryKind) -> Network {
    let mut net = network(1);
    net.add_adversary("mallory", kind, "alice", "bob", "bob")
        .expect("adversary");
    net
}

fn refused_with(net: &mut Network, mode: Mode) -> (String, String) {
    let report = net.handshake("alice", "bob", mode).expect("runs");
    assert!(!report.established, "{report:?}");
    assert!(
        !report.attacker_reads,
        "the attacker must hold no keys: {report:?}"
    );
    let refusal = report.refused.expect("a refusal");
    (refusal.by, refusal.reason)
}

#[test]
fn without_adversaries_a_signed_handshake_carries_messages() {
    let mut net = network(1);
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(
        report.established && report.refused.is_none() && !report.attacker_reads,
        "{report:?}"
    );
    let sent = net.send("alice", "bob", "hello").expect("runs");
    assert!(sent.delivered && !sent.attacker_reads, "{sent:?}");
}

#[test]
fn unauthenticated_dh_with_a_mitm_hands_the_attacker_everything() {
    let mut net = with(AdversaryKind::Mitm(MitmCertificate::None));
    let report = net
        .handshake("alice", "bob", Mode::Unauthenticated)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
    let sent = net
        .send("alice", "bob", "the vault code is 4711")
        .expect("runs");
    assert!(sent.delivered && sent.attacker_reads, "{sent:?}");
    assert!(net.trace().iter().any(|e| matches!(e, pkilab_net::Event::AttackerRead { text, .. } if text == "the vault code is 4711")));
}

#[test]
fn signed_ephemeral_refuses_each_impostor_certificate_with_its_reason() {
    let cases = [
        (MitmCertificate::None, "no-certificate"),
        (MitmCertificate::Own, "name-mismatch"),
        (MitmCertificate::Forged, "unknown-issuer"),
        (MitmCertificate::RogueCa, "unknown-issuer"),
    ];
    for (certificate, reason) in cases {
        let mut net = with(AdversaryKind::Mitm(certificate));
        assert_eq!(
            refused_with(&mut net, Mode::SignedEphemeral),
            ("alice".to_owned(), reason.to_owned()),
            "{certificate:?}"
        );
        let sent = net.send("alice", "bob", "secret").expect("runs");
        assert!(
            !sent.delivered && !sent.attacker_reads,
            "{certificate:?}: {sent:?}"
        );
    }
}

#[test]
fn a_stolen_certificate_works_until_revoked_and_a_fresh_crl_is_out() {
    let mut net = with(AdversaryKind::Mitm(MitmCertificate::Stolen));
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established && report.attacker_reads, "{report:?}");
    assert!(
        net.send("alice", "bob", "numbers")
            .expect("runs")
            .attacker_reads
    );
    net.revoke("bob", RevocationReason::KeyCompromise)
        .expect("revoke");
    let before_crl = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(
        before_crl.established,
        "revocation is not yet published: {before_crl:?}"
    );
    net.publish_crl(None).expect("crl");
    assert_eq!(
        refused_with(&mut net, Mode::SignedEphemeral),
        ("alice".to_owned(), "revoked".to_owned())
    );
}

#[test]
fn a_replayed_record_is_refused_after_the_original_is_delivered() {
    let mut net = with(AdversaryKind::Replayer(Default::default()));
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    let sent = net.send("alice", "bob", "pay 100").expect("runs");
    assert!(sent.delivered, "{sent:?}");
    assert_eq!(
        sent.refused.map(|r| (r.by, r.reason)),
        Some(("bob".to_owned(), "replay".to_owned()))
    );
}

#[test]
fn a_tampered_record_is_refused_and_not_delivered() {
    let mut net = with(AdversaryKind::Tamperer(None));
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    let sent = net.send("alice", "bob", "pay 100").expect("runs");
    assert!(!sent.delivered, "{sent:?}");
    assert_eq!(
        sent.refused.map(|r| r.reason),
        Some("decrypt-failed".to_owned())
    );
}

#[test]
fn a_downgrade_to_unauthenticated_is_refused_by_the_responder() {
    let mut net = with(AdversaryKind::Downgrader);
    assert_eq!(
        refused_with(&mut net, Mode::SignedEphemeral),
        ("bob".to_owned(), "downgrade".to_owned())
    );
}

#[test]
fn a_dropper_stops_delivery_but_reads_nothing() {
    let mut net = with(AdversaryKind::Dropper(None));
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    let sent = net.send("alice", "bob", "hello").expect("runs");
    assert!(!sent.delivered && !sent.attacker_reads, "{sent:?}");
    assert_eq!(
        sent.refused.map(|r| (r.by, r.reason)),
        Some(("mallory".to_owned(), "dropped".to_owned()))
    );
}

#[test]
fn forward_secrecy_static_is_exposed_signed_ephemeral_is_not() {
    for (mode, expected) in [(Mode::Static, 1), (Mode::SignedEphemeral, 0)] {
        let mut net = with(AdversaryKind::Eavesdropper);
        assert!(
            net.handshake("alice", "bob", mode)
                .expect("runs")
                .established
        );
        assert!(
            net.send("alice", "bob", "merger on friday")
                .expect("runs")
                .delivered
        );
        assert_eq!(
            net.decrypt_recorded("mallory").expect("runs"),
            0,
            "nothing is readable before the theft"
        );
        net.advance(Duration::days(90)).expect("advance");
        net.compromise("bob", "mallory").expect("compromise");
        assert_eq!(
            net.decrypt_recorded("mallory").expect("runs"),
            expected,
            "{mode:?}"
        );
    }
}

#[test]
fn expiry_and_stale_crls_follow_the_simulated_clock() {
    let mut net = network(3);
    net.advance(Duration::days(8)).expect("advance");
    assert_eq!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .refused
            .map(|r| r.reason),
        Some("crl-stale".to_owned())
    );
    net.advance(Duration::days(400)).expect("advance");
    net.publish_crl(None).expect("crl");
    assert_eq!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .refused
            .map(|r| r.reason),
        Some("expired".to_owned())
    );
}

#[test]
fn the_same_seed_gives_the_same_trace_and_another_seed_does_not() {
    let run = |seed| {
        let mut net = network(seed);
        net.add_adversary(
            "eve",
            AdversaryKind::Mitm(MitmCertificate::None),
            "alice",
            "bob",
            "bob",
        )
        .expect("adversary");
        net.handshake("alice", "bob", Mode::Unauthenticated)
            .expect("runs");
        net.send("alice", "bob", "hi").expect("runs");
        serde_json::to_string(net.trace()).expect("serializes")
    };
    assert_eq!(run(7), run(7));
    assert_ne!(
        run(7),
        run(8),
        "frame digests depend on the seeded keys and nonces"
    );
}

#[test]
fn a_tamperer_changes_what_an_unauthenticated_cipher_delivers() {
    let mut net = with(AdversaryKind::Tamperer(None));
    let report = net
        .handshake_with(
            "alice",
            "bob",
            Mode::SignedEphemeral,
            pkilab_peer::Cipher::Aes256CtrUnauthenticated,
        )
        .expect("runs");
    assert!(report.established, "{report:?}");
    let sent = net
        .send("alice", "bob", "Ship 10 units to the depot")
        .expect("runs");
    assert!(
        sent.delivered && !sent.intact && sent.refused.is_none(),
        "{sent:?}"
    );
    let report = net
        .handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    assert!(report.established);
    let sent = net
        .send("alice", "bob", "Ship 10 units to the depot")
        .expect("runs");
    assert!(!sent.delivered && !sent.intact, "{sent:?}");
    assert_eq!(
        sent.refused.map(|r| r.reason).as_deref(),
        Some("decrypt-failed")
    );
}

#[test]
fn an_honest_message_arrives_intact() {
    let mut net = network(1);
    net.handshake("alice", "bob", Mode::SignedEphemeral)
        .expect("runs");
    let sent = net.send("alice", "bob", "hello").expect("runs");
    assert!(sent.delivered && sent.intact, "{sent:?}");
}
