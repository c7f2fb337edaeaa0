//! The `hybrid` mode: X25519 + ML-KEM-768 establishes verified sessions,
//! stripping or changing its post-quantum part is caught, and a recording
//! stays closed to an adversary who breaks one of the two primitives.
#![allow(clippy::panic)]

mod common;

use common::{NOW, Pki, config, rng, run};
use pkilab_peer::escrow::{Broken, Escrow, Oracle};
use pkilab_peer::primitives::{ml_kem_768_encapsulate, ml_kem_768_generate};
use pkilab_peer::recorded::attempt_with_oracle;
use pkilab_peer::wire::{self, HybridReply, Message};
use pkilab_peer::{
    Identity, Mode, PeerIdentity, initiate, initiate_escrowed, respond, respond_escrowed,
};

fn pair(pki: &Pki) -> (Identity, Identity) {
    (
        pki.identity("alice", "alice", 1, 365).0,
        pki.identity("bob", "bob", 2, 365).0,
    )
}

#[test]
fn hybrid_establishes_verified_sessions_that_carry_data() {
    let pki = Pki::new("HY1");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let (mut a, mut b) = run(
        config(alice, &v, Mode::Hybrid, NOW),
        "bob",
        config(bob, &v, Mode::Hybrid, NOW),
        Some("alice"),
        3,
    )
    .expect("established");
    assert!(matches!(
        (&a.peer, &b.peer),
        (PeerIdentity::Verified(_), PeerIdentity::Verified(_))
    ));
    assert_eq!(a.keys.traffic_i2r, b.keys.traffic_i2r);
    let frame = a.session.seal(b"quantum-safe hello");
    assert_eq!(
        b.session.open(&frame).expect("opens").as_slice(),
        b"quantum-safe hello"
    );
}

#[test]
fn hybrid_frames_carry_an_ml_kem_key_and_ciphertext() {
    let pki = Pki::new("HY2");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(4);
    let (_, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    let Ok(Message::HybridHello(hello)) = wire::decode(&m1) else {
        panic!("a hybrid hello")
    };
    assert_eq!(
        (hello.hello.mode, hello.ml_kem_key.len()),
        (Mode::Hybrid, 1184)
    );
    let (_, m2) = respond(config(bob, &v, Mode::Hybrid, NOW), None, &m1, &mut r).expect("reply");
    let Ok(Message::HybridReply(reply)) = wire::decode(&m2) else {
        panic!("a hybrid reply")
    };
    assert_eq!(reply.ml_kem_ciphertext.len(), 1088);
}

/// M1 with its ML-KEM key stripped and the mode rewritten to `mode`.
fn stripped(m1: &[u8], mode: Mode) -> Vec<u8> {
    let Ok(Message::HybridHello(h)) = wire::decode(m1) else {
        panic!("a hybrid hello")
    };
    let mut hello = h.hello;
    hello.mode = mode;
    wire::encode(&Message::Hello(hello))
}

#[test]
fn a_responder_requiring_hybrid_refuses_a_stripped_hello_as_a_downgrade() {
    let pki = Pki::new("HY3");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(5);
    let (_, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    let forged = stripped(&m1, Mode::SignedEphemeral);
    let refused =
        respond(config(bob, &v, Mode::Hybrid, NOW), None, &forged, &mut r).expect_err("refused");
    assert_eq!(refused.id(), "downgrade", "{refused}");
}

#[test]
fn an_initiator_refuses_a_classical_reply_to_its_hybrid_hello() {
    let pki = Pki::new("HY4");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(6);
    let (state_i, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    // A responder that also accepts signed-ephemeral answers the stripped hello.
    let forged = stripped(&m1, Mode::SignedEphemeral);
    let (_, m2) = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &forged,
        &mut r,
    )
    .expect("the responder answers the classical hello");
    let refused = state_i.handle(&m2).expect_err("refused");
    assert_eq!(refused.id(), "downgrade", "{refused}");
}

#[test]
fn a_stripper_that_patches_in_its_own_ciphertext_is_caught_by_the_transcript() {
    let pki = Pki::new("HY5");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(7);
    let (state_i, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    let Ok(Message::HybridHello(h)) = wire::decode(&m1) else {
        panic!("a hybrid hello")
    };
    let forged = stripped(&m1, Mode::SignedEphemeral);
    let (_, m2) = respond(
        config(bob, &v, Mode::SignedEphemeral, NOW),
        None,
        &forged,
        &mut r,
    )
    .expect("reply");
    let Ok(Message::HelloReply(reply)) = wire::decode(&m2) else {
        panic!("a classical reply")
    };
    // The attacker encapsulates to alice's key itself, so alice gets a
    // well-formed hybrid reply.
    let (ml_kem_ciphertext, _) = ml_kem_768_encapsulate(&h.ml_kem_key).expect("valid key");
    let patched = wire::encode(&Message::HybridReply(HybridReply {
        reply,
        ml_kem_ciphertext,
    }));
    let refused = state_i.handle(&patched).expect_err("refused");
    assert_eq!(refused.id(), "transcript-mismatch", "{refused}");
}

#[test]
fn a_hybrid_hello_without_an_ml_kem_key_is_malformed() {
    let pki = Pki::new("HY6");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(8);
    let (_, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    let forged = stripped(&m1, Mode::Hybrid);
    let refused =
        respond(config(bob, &v, Mode::Hybrid, NOW), None, &forged, &mut r).expect_err("refused");
    assert_eq!(refused.id(), "malformed", "{refused}");
}

#[test]
fn an_unreduced_ml_kem_key_is_refused() {
    let pki = Pki::new("HY7");
    let (alice, bob) = pair(&pki);
    let v = pki.validator(&[], 7);
    let mut r = rng(9);
    let (_, m1) = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut r);
    let Ok(Message::HybridHello(mut h)) = wire::decode(&m1) else {
        panic!("a hybrid hello")
    };
    // The first coefficient becomes 0xfff, above q = 3329.
    h.ml_kem_key[0] = 0xff;
    h.ml_kem_key[1] |= 0x0f;
    let forged = wire::encode(&Message::HybridHello(h));
    let refused =
        respond(config(bob, &v, Mode::Hybrid, NOW), None, &forged, &mut r).expect_err("refused");
    assert_eq!(refused.id(), "malformed", "{refused}");
}

/// One recorded session in `mode`, with its ephemeral secrets in `escrow`.
fn recorded(mode: Mode, pki: &Pki, escrow: &mut Escrow) -> Vec<Vec<u8>> {
    let v = pki.validator(&[], 7);
    let (alice, bob) = pair(pki);
    let mut r = rng(12);
    let (state_i, m1) = initiate_escrowed(
        config(alice, &v, mode, NOW),
        "bob",
        &mut r,
        Some(&mut *escrow),
    );
    let (state_r, m2) =
        respond_escrowed(config(bob, &v, mode, NOW), None, &m1, &mut r, Some(escrow))
            .expect("reply");
    let (mut a, m3) = state_i.handle(&m2).expect("initiator");
    let _b = state_r.handle(&m3).expect("responder");
    let d1 = a.session.seal(b"harvest now, decrypt later");
    vec![m1, m2, m3, d1]
}

fn opened(frames: &[Vec<u8>], escrow: &Escrow, x25519: bool, ml_kem: bool) -> (usize, usize) {
    let recovered = attempt_with_oracle(frames, &Oracle::new(escrow, Broken { x25519, ml_kem }));
    (recovered.opened, recovered.plaintexts.len())
}

#[test]
fn breaking_x25519_opens_signed_ephemeral_recordings_but_not_hybrid_ones() {
    let pki = Pki::new("HY8");
    let mut escrow = Escrow::new();
    let classical = recorded(Mode::SignedEphemeral, &pki, &mut escrow);
    let hybrid = recorded(Mode::Hybrid, &pki, &mut escrow);
    assert_eq!(opened(&classical, &escrow, true, false), (1, 1));
    assert_eq!(opened(&hybrid, &escrow, true, false), (0, 0));
    assert_eq!(opened(&classical, &escrow, false, false), (0, 0));
}

#[test]
fn breaking_ml_kem_alone_opens_no_hybrid_recording_and_both_open_it() {
    let pki = Pki::new("HY9");
    let mut escrow = Escrow::new();
    let hybrid = recorded(Mode::Hybrid, &pki, &mut escrow);
    assert_eq!(opened(&hybrid, &escrow, false, true), (0, 0));
    // The attack itself is sound: with both secrets it reads the session.
    let recovered = attempt_with_oracle(
        &hybrid,
        &Oracle::new(
            &escrow,
            Broken {
                x25519: true,
                ml_kem: true,
            },
        ),
    );
    let texts: Vec<&[u8]> = recovered.plaintexts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(texts, [b"harvest now, decrypt later".as_slice()]);
}

#[test]
fn the_escrow_keeps_nothing_unless_asked() {
    let (_, ek) = ml_kem_768_generate();
    assert_eq!(ek.len(), 1184);
    let pki = Pki::new("HY10");
    let mut escrow = Escrow::new();
    let _ = recorded(Mode::Hybrid, &pki, &mut escrow);
    assert_eq!(escrow.len(), (2, 1));
    let v = pki.validator(&[], 7);
    let (alice, _) = pair(&pki);
    let _ = initiate(config(alice, &v, Mode::Hybrid, NOW), "bob", &mut rng(1));
    assert_eq!(escrow.len(), (2, 1));
}
