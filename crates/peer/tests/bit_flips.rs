#![allow(clippy::panic)]
//! Property: flipping any bit of any frame (hello, reply, finish or a data
//! record) never leaves both sides established with different keys, and
//! never delivers altered plaintext, in every mode (`hybrid` included: its
//! hello carries the ML-KEM key, its reply the ciphertext).

mod common;

use std::sync::{Arc, OnceLock};

use common::{NOW, Pki, rng};
use pkilab_peer::{Config, Identity, Mode, initiate, respond};
use pkilab_verify::Validator;
use proptest::prelude::*;
use proptest::sample::Index;

struct World {
    alice: Arc<Identity>,
    bob: Arc<Identity>,
    validator: Arc<Validator>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let pki = Pki::new("Flip");
        World {
            alice: Arc::new(pki.identity("alice", "alice", 1, 365).0),
            bob: Arc::new(pki.identity("bob", "bob", 2, 365).0),
            validator: pki.validator(&[], 7),
        }
    })
}

fn config(identity: &Arc<Identity>, mode: Mode) -> Config {
    Config {
        identity: Arc::clone(identity),
        validator: Arc::clone(&world().validator),
        at: NOW,
        mode,
        cipher: Default::default(),
        ocsp: Default::default(),
        require_logged: None,
    }
}

fn flip(frame: &mut [u8], bit: &Index) {
    let i = bit.index(frame.len() * 8);
    frame[i / 8] ^= 1 << (i % 8);
}

fn mode() -> impl Strategy<Value = Mode> {
    prop_oneof![
        Just(Mode::SignedEphemeral),
        Just(Mode::Unauthenticated),
        Just(Mode::Static),
        Just(Mode::Hybrid)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_flipped_bit_never_splits_keys_or_alters_data(
        target in 0usize..4,
        bit in any::<Index>(),
        mode in mode(),
        seed in any::<u64>(),
    ) {
        let w = world();
        let mut r = rng(seed);
        let (expect_reply, mut m1) = initiate(config(&w.alice, mode), "bob", &mut r);
        if target == 0 { flip(&mut m1, &bit); }
        let Ok((expect_finish, mut m2)) = respond(config(&w.bob, mode), None, &m1, &mut r) else {
            return Ok(());
        };
        if target == 1 { flip(&mut m2, &bit); }
        let Ok((mut a, mut m3)) = expect_reply.handle(&m2) else { return Ok(()); };
        if target == 2 { flip(&mut m3, &bit); }
        let Ok(mut b) = expect_finish.handle(&m3) else { return Ok(()); };

        // Both sides established: their keys agree in both directions.
        let there = a.session.seal(b"probe a->b");
        let opened = b.session.open(&there).expect("keys agree");
        prop_assert_eq!(opened.as_slice(), b"probe a->b");
        let back = b.session.seal(b"probe b->a");
        let opened = a.session.open(&back).expect("keys agree");
        prop_assert_eq!(opened.as_slice(), b"probe b->a");

        if target == 3 {
            let original = a.session.seal(b"pay bob 10");
            let mut altered = original.clone();
            flip(&mut altered, &bit);
            prop_assert!(b.session.open(&altered).is_err(), "an altered record was delivered");
            // The refusal left the session as it was.
            let opened = b.session.open(&original).expect("opens");
        prop_assert_eq!(opened.as_slice(), b"pay bob 10");
        }
    }
}
