//! The handshake in every mode, and every refusal with its exact reason.
#![allow(clippy::panic)]

mod common;

use common::{Failure, NOW, Pki, config, rng, run};
use pkilab_peer::wire::{self, Message};
use pkilab_peer::{Mode, PeerIdentity, initiate, respond};
use time::Duration;

fn pair(pki: &Pki) -> (pkilab_peer::Identity, pkilab_peer::Identity) {
    (
        pki.identity("alice", "alice", 1, 365).0,
        pki.identity("bob", "bob", 2, 365).0,
    )
}

#[test]
fn signed_ephemeral_establishes_verified_sessions_that_carry_data() {
    let pki = Pki::new("A");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let (mut a, mut b) = run(
        config(alice, &v, Mode::SignedEphemeral, NOW),
        "bob",
        config(bob, &v, Mode::SignedEphemeral, NOW),
        Some("alice"),
        9,
    )
    .expect("established");
    match (&a.peer, &b.peer) {
        (PeerIdentity::Verified(to_bob), PeerIdentity::Verified(to_alice)) => {
            assert_eq!((to_bob.name(), to_alice.name()), ("bob", "alice"));
            assert_eq!(to_bob.subjects()[0], "CN=bob");
        }
        other => panic!("expected verified peers, got {other:?}"),
    }
    let frame = a.session.seal(b"hello bob");
    assert_eq!(
        b.session.open(&frame).expect("opens").as_slice(),
        b"hello bob"
    );
    let back = b.session.seal(b"hello alice");
    assert_eq!(
        a.session.open(&back).expect("opens").as_slice(),
        b"hello alice"
    );
}

#[test]
fn unauthenticated_and_static_modes_establish() {
    let pki = Pki::new("B");
    let v = pki.validator(&[], 7);
    for mode in [Mode::Unauthenticated, Mode::Static] {
        let (alice, bob) = pair(&pki);
        let (mut a, mut b) = run(
            config(alice, &v, mode, NOW),
            "bob",
            config(bob, &v, mode, NOW),
            None,
            3,
        )
        .expect("established");
        assert_eq!(
            matches!(a.peer, PeerIdentity::Anonymous),
            mode == Mode::Unauthenticated
        );
        let frame = a.session.seal(b"x");
        assert_eq!(b.session.open(&frame).expect("opens").as_slice(), b"x");
    }
}

fn refusal(
    result: Result<(pkilab_peer::Established, pkilab_peer::Established), Failure>,
) -> Failure {
    match result {
        Ok(_) => panic!("expected a refusal"),
        Err(f) => f,
    }
}

#[test]
fn the_wrong_peer_is_a_name_mismatch() {
    let pki = Pki::new("C");
    let (alice, _) = pair(&pki);
    let (carol, _) = pki.identity("carol", "carol", 5, 365);
    let v = pki.validator(&[], 7);
    let f = refusal(run(
        config(alice, &v, Mode::SignedEphemeral, NOW),
        "bob",
        config(carol, &v, Mode::SignedEphemeral, NOW),
        None,
        1,
    ));
    assert!(matches!(f, Failure::Initiator(_)), "{f:?}");
    assert_eq!(f.id(), "name-mismatch");
}

#[test]
fn revoked_expired_stale_and_foreign_certificates_are_refused_by_the_initiator() {
    let pki = Pki::new("D");
    let (alice, _) = pair(&pki);
    let (bob, bob_serial) = pki.identity("bob", "bob", 2, 30);
    let cases = [
        (pki.validator(&[bob_serial], 7), NOW, "revoked"),
        (
            pki.validator(&[], 3650),
            NOW + Duration::days(31),
            "expired",
        ),
        (pki.validator(&[], 1), NOW + Duration::days(2), "crl-stale"),
    ];
    for (v, at, expected) in cases {
        let f = refusal(run(
            config(alice.clone(), &v, Mode::SignedEphemeral, at),
            "bob",
            config(bob.clone(), &v, Mode::SignedEphemeral, at),
            None,
            1,
        ));
        assert!(matches!(f, Failure::Initiator(_)), "{expected}: {f:?}");
        assert_eq!(f.id(), expected);
    }
    let other = Pki::new("Other");
    let (stranger, _) = other.identity("bob", "bob", 7, 365);
    let v = pki.validator(&[], 7);
    let f = refusal(run(
        config(alice, &v, Mode::SignedEphemeral, NOW),
        "bob",
        config(stranger, &v, Mode::SignedEphemeral, NOW),
        None,
        1,
    ));
    assert_eq!(f.id(), "unknown-issuer");
}

#[test]
fn the_responder_checks_the_initiator_too() {
    let pki = Pki::new("E");
    let (alice, alice_serial) = pki.identity("alice", "alice", 1, 365);
    let (_, bob) = pair(&pki);
    let v = pki.validator(&[alice_serial], 7);
    let f = refusal(run(
        config(alice, &v, Mode::SignedEphemeral, NOW),
        "bob",
        config(bob, &v, Mode::SignedEphemeral, NOW),
        Some("alice"),
        1,
    ));
    assert!(matches!(f, Failure::ResponderAtFinish(_)), "{f:?}");
    assert_eq!(f.id(), "revoked");
}

#[test]
fn asking_for_a_weaker_mode_is_a_downgrade() {
    let pki = Pki::new("F");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let f = refusal(run(
        config(alice, &v, Mode::Unauthenticated, NOW),
        "bob",
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        1,
    ));
    assert!(matches!(f, Failure::Responder(_)), "{f:?}");
    assert_eq!(f.id(), "downgrade");
}

#[test]
fn a_rewritten_mode_in_flight_is_a_downgrade() {
    let pki = Pki::new("G");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(4);
    let (_, m1) = initiate(config(alice, &v, Mode::SignedEphemeral, NOW), "bob", &mut r);
    let Ok(Message::Hello(mut hello)) = wire::decode(&m1) else {
        panic!("a hello")
    };
    hello.mode = Mode::Unauthenticated;
    let forged = wire::encode(&Message::Hello(hello));
    let refused = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &forged,
        &mut r,
    )
    .expect_err("refused");
    assert_eq!(refused.id(), "downgrade");
}

#[test]
fn a_swapped_key_share_breaks_the_handshake_keys() {
    let pki = Pki::new("H");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(5);
    let (state_i, m1) = initiate(config(alice, &v, Mode::SignedEphemeral, NOW), "bob", &mut r);
    let (_, m2) = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &m1,
        &mut r,
    )
    .expect("reply");
    let Ok(Message::HelloReply(mut reply)) = wire::decode(&m2) else {
        panic!("a reply")
    };
    reply.key_share =
        x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::random_from_rng(&mut r))
            .to_bytes();
    // The initiator derives other keys, so the sealed authentication does
    // not open: refused before any signature is even looked at.
    let refused = state_i
        .handle(&wire::encode(&Message::HelloReply(reply)))
        .expect_err("refused");
    assert_eq!(refused.id(), "transcript-mismatch");
}

#[test]
fn an_all_zero_key_share_is_a_weak_key() {
    let pki = Pki::new("I");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(6);
    let (_, m1) = initiate(config(alice, &v, Mode::SignedEphemeral, NOW), "bob", &mut r);
    let Ok(Message::Hello(mut hello)) = wire::decode(&m1) else {
        panic!("a hello")
    };
    hello.key_share = [0; 32];
    let refused = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &wire::encode(&Message::Hello(hello)),
        &mut r,
    )
    .expect_err("refused");
    assert_eq!(refused.id(), "weak-key");
}

#[test]
fn a_message_out_of_place_is_unexpected() {
    let pki = Pki::new("J");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(7);
    let (state_i, m1) = initiate(config(alice, &v, Mode::SignedEphemeral, NOW), "bob", &mut r);
    assert_eq!(
        state_i.handle(&m1).expect_err("refused").id(),
        "unexpected-message"
    );
    let refused = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        b"\x01\xff\xff",
        &mut r,
    )
    .expect_err("refused");
    assert_eq!(refused.id(), "malformed");
}

#[test]
fn replayed_reordered_and_tampered_records_are_never_delivered() {
    let pki = Pki::new("K");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let (mut a, mut b) = run(
        config(alice, &v, Mode::SignedEphemeral, NOW),
        "bob",
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        8,
    )
    .expect("established");
    let first = a.session.seal(b"one");
    let second = a.session.seal(b"two");
    assert_eq!(
        b.session.open(&second).expect_err("skips").id(),
        "out-of-order"
    );
    assert_eq!(b.session.open(&first).expect("in order").as_slice(), b"one");
    assert_eq!(b.session.open(&first).expect_err("again").id(), "replay");
    let mut tampered = second.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 0x80;
    assert_eq!(
        b.session.open(&tampered).expect_err("tampered").id(),
        "decrypt-failed"
    );
    assert_eq!(
        b.session
            .open(&second)
            .expect("the refusal left the session as it was")
            .as_slice(),
        b"two"
    );
}

#[test]
fn a_responder_refuses_a_cipher_it_is_not_configured_for() {
    let pki = Pki::new("I");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(12);
    let mut insecure = config(alice, &v, Mode::SignedEphemeral, NOW);
    insecure.cipher = pkilab_peer::Cipher::Aes256CtrUnauthenticated;
    let (_, m1) = initiate(insecure, "bob", &mut r);
    let refused = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &m1,
        &mut r,
    )
    .expect_err("refused");
    assert_eq!(refused.id(), "no-common-suite");
}
