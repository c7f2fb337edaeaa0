//! The bytes kept beside the trace: each traced frame's, as sent and as an
//! adversary passed them on, matching the digest the trace pins.
#![allow(clippy::panic)]

use pkilab_net::{AdversaryKind, Event, Fate, Network, PkiSpec};
use pkilab_peer::{Mode, wire};
use time::{Duration, macros::datetime};

fn network(kind: AdversaryKind) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: Vec::new(),
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(4, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    net.add_peer("alice").expect("alice");
    net.add_peer("bob").expect("bob");
    net.add_adversary("mallory", kind, "alice", "bob", "bob")
        .expect("adversary");
    net
}

#[test]
fn every_traced_frame_has_its_bytes_and_a_tampered_one_both_versions() {
    let mut net = network(AdversaryKind::Tamperer(None));
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    net.send("alice", "bob", "pay 100").expect("runs");
    let mut frames = 0;
    let mut replaced = 0;
    for (index, event) in net.trace().iter().enumerate() {
        match event {
            Event::Frame { digest, fate, .. } => {
                let (sent, after) = net.frame_bytes(index).expect("a frame keeps its bytes");
                assert_eq!(&pkilab_net::trace::digest(after), digest);
                assert!(wire::decode(sent).is_ok(), "what alice sent decodes");
                if *fate == Fate::Replaced {
                    replaced += 1;
                    assert_ne!(sent, after, "the tamperer changed the record");
                    assert_eq!(sent.len(), after.len());
                } else {
                    assert_eq!(sent, after);
                }
                frames += 1;
            }
            _ => assert_eq!(net.frame_bytes(index), None),
        }
    }
    assert_eq!(frames, 4, "M1, M2, M3 and one record");
    assert_eq!(replaced, 1);
}

#[test]
fn both_ends_of_a_session_derive_the_same_keys_and_a_mitm_two_different_sets() {
    let mut net = network(AdversaryKind::Mitm(pkilab_net::MitmCertificate::None));
    let report = net
        .handshake("alice", "bob", Mode::Unauthenticated)
        .expect("runs");
    assert!(report.established);
    let mut peers = Vec::new();
    let mut mallory = Vec::new();
    for (index, event) in net.trace().iter().enumerate() {
        match event {
            Event::Established { node, .. } => {
                peers.push((node.clone(), net.key_schedule(index).expect("kept").clone()))
            }
            Event::AttackerSession { with, .. } => {
                mallory.push((with.clone(), net.key_schedule(index).expect("kept").clone()))
            }
            _ => assert_eq!(net.key_schedule(index), None),
        }
    }
    assert_eq!(peers.len(), 2);
    assert_eq!(mallory.len(), 2);
    let keys_of = |list: &[(String, pkilab_peer::KeySchedule)], name: &str| {
        list.iter()
            .find(|(n, _)| n == name)
            .expect("present")
            .1
            .clone()
    };
    // alice's session is with mallory: same keys at both of its ends (what
    // each end opened from the other differs, so compare the keys).
    let derived = |k: &pkilab_peer::KeySchedule| {
        (
            k.hello_hash,
            k.transcript_hash,
            k.handshake_i2r,
            k.handshake_r2i,
            k.traffic_i2r,
            k.traffic_r2i,
        )
    };
    for who in ["alice", "bob"] {
        assert_eq!(
            derived(&keys_of(&peers, who)),
            derived(&keys_of(&mallory, who))
        );
    }
    // The two sessions share nothing.
    let (a, b) = (keys_of(&peers, "alice"), keys_of(&peers, "bob"));
    assert_ne!(a.hello_hash, b.hello_hash);
    assert_ne!(a.traffic_i2r, b.traffic_i2r);
    assert_ne!(a.handshake_r2i, b.handshake_r2i);
    // Unauthenticated: what each side opened from the other's sealed block
    // carries no chain and no signature, only the Finished MAC.
    assert!(a.received.chain.is_empty() && a.received.signature.is_empty());
    assert_eq!(a.received.finished.len(), 32);
}

#[test]
fn a_signed_session_keeps_the_chain_and_signature_each_side_opened() {
    let mut net = network(AdversaryKind::Eavesdropper);
    assert!(
        net.handshake("alice", "bob", Mode::SignedEphemeral)
            .expect("runs")
            .established
    );
    let opened: Vec<(String, pkilab_peer::wire::Authentication)> = net
        .trace()
        .iter()
        .enumerate()
        .filter_map(|(index, event)| match event {
            Event::Established { node, .. } => Some((
                node.clone(),
                net.key_schedule(index).expect("kept").received.clone(),
            )),
            _ => None,
        })
        .collect();
    assert_eq!(opened.len(), 2);
    for (node, auth) in &opened {
        assert_eq!(auth.chain.len(), 2, "{node}: leaf and issuing CA");
        assert_eq!(auth.signature.len(), 64, "{node}: an Ed25519 signature");
    }
    let believed: Vec<&str> = opened
        .iter()
        .map(|(_, a)| a.believed_peer.as_str())
        .collect();
    // bob (responder) did not know whom to expect; alice named bob.
    assert!(believed.contains(&"bob"), "{believed:?}");
}
