//! A recording plus a long-term key stolen later: static mode gives up its
#![allow(clippy::panic)]
//! traffic, signed-ephemeral does not.

mod common;

use common::{NOW, Pki, config, rng};
use pkilab_peer::recorded::attempt_decrypt;
use pkilab_peer::{Identity, Mode, initiate, respond};

fn record(mode: Mode, pki: &Pki) -> (Vec<Vec<u8>>, Identity) {
    let v = pki.validator(&[], 7);
    let (alice, _) = pki.identity("alice", "alice", 1, 365);
    let (bob, _) = pki.identity("bob", "bob", 2, 365);
    let stolen_later = bob.clone();
    let mut r = rng(11);
    let (state_i, m1) = initiate(config(alice, &v, mode, NOW), "bob", &mut r);
    let (state_r, m2) = respond(config(bob, &v, mode, NOW), None, &m1, &mut r).expect("reply");
    let (mut a, m3) = state_i.handle(&m2).expect("initiator");
    let mut b = state_r.handle(&m3).expect("responder");
    let d1 = a.session.seal(b"the merger closes on friday");
    let d2 = b.session.seal(b"understood");
    assert!(b.session.open(&d1).is_ok() && a.session.open(&d2).is_ok());
    (vec![m1, m2, m3, d1, d2], stolen_later)
}

#[test]
fn static_mode_traffic_is_exposed_by_a_stolen_key() {
    let pki = Pki::new("FS1");
    let (frames, bob) = record(Mode::Static, &pki);
    let recovered = attempt_decrypt(&frames, &bob);
    assert_eq!((recovered.handshakes, recovered.opened), (1, 1));
    let texts: Vec<&[u8]> = recovered.plaintexts.iter().map(|p| p.as_slice()).collect();
    assert_eq!(
        texts,
        [
            b"the merger closes on friday".as_slice(),
            b"understood".as_slice()
        ]
    );
}

#[test]
fn signed_ephemeral_traffic_stays_secret_after_the_key_is_stolen() {
    let pki = Pki::new("FS2");
    let (frames, bob) = record(Mode::SignedEphemeral, &pki);
    let recovered = attempt_decrypt(&frames, &bob);
    assert_eq!((recovered.handshakes, recovered.opened), (1, 0));
    assert!(recovered.plaintexts.is_empty());
}

#[test]
fn an_unrelated_stolen_key_opens_nothing_even_in_static_mode() {
    let pki = Pki::new("FS3");
    let (frames, _) = record(Mode::Static, &pki);
    let (carol, _) = pki.identity("carol", "carol", 99, 365);
    assert_eq!(attempt_decrypt(&frames, &carol).opened, 0);
}
