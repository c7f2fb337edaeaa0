#![allow(clippy::panic)]
//! Certificate transparency in the handshake: a side that requires logged
//! certificates refuses a peer whose leaf comes without a valid inclusion
//! proof (`not-logged`); a side that does not require one ignores it.

mod common;

use common::{Failure, NOW, Pki, config, run};
use ed25519_dalek::{SigningKey, VerifyingKey};
use pkilab_peer::{Config, Identity, Mode};
use pkilab_tlog::note::{Checkpoint, sign};
use pkilab_tlog::{InclusionProof, Tree};

/// A log holding `entries`; returns the proof of entry `index` and the key.
fn logged(entries: &[&[u8]], index: u64) -> (Vec<u8>, VerifyingKey) {
    let key = SigningKey::from_bytes(&[9; 32]);
    let mut tree = Tree::new();
    for entry in entries {
        tree.append(entry);
    }
    let size = tree.size();
    let checkpoint = Checkpoint {
        origin: "sim.example/log".to_owned(),
        size,
        root: tree.root(size).expect("a root"),
    };
    let proof = InclusionProof {
        index,
        hashes: tree.inclusion_proof(index, size).expect("a proof"),
        checkpoint: sign(&checkpoint, &key),
    };
    (proof.encode().into_bytes(), key.verifying_key())
}

struct World {
    alice: Identity,
    bob: Identity,
    pki: Pki,
}

fn world() -> World {
    let pki = Pki::new("Logged");
    World {
        alice: pki.identity("alice", "alice", 1, 365).0,
        bob: pki.identity("bob", "bob", 2, 365).0,
        pki,
    }
}

/// Alice dials bob, who sends `proof`; alice requires `key`'s log.
fn dial(w: &World, proof: Option<Vec<u8>>, key: Option<VerifyingKey>) -> Result<(), Failure> {
    let validator = w.pki.validator(&[], 7);
    let alice = Config {
        require_logged: key,
        ..config(w.alice.clone(), &validator, Mode::SignedEphemeral, NOW)
    };
    let bob = Identity {
        inclusion_proof: proof,
        ..w.bob.clone()
    };
    let bob = config(bob, &validator, Mode::SignedEphemeral, NOW);
    run(alice, "bob", bob, None, 3).map(|_| ())
}

#[test]
fn a_valid_proof_satisfies_a_requiring_peer() {
    let w = world();
    let (proof, key) = logged(&[b"another", &w.bob.chain[0], b"a third"], 1);
    assert!(dial(&w, Some(proof), Some(key)).is_ok());
}

#[test]
fn a_missing_proof_is_not_logged() {
    let w = world();
    let (_, key) = logged(&[&w.bob.chain[0]], 0);
    let refused = dial(&w, None, Some(key)).expect_err("no proof");
    assert!(matches!(refused, Failure::Initiator(_)), "{refused:?}");
    assert_eq!(refused.id(), "not-logged");
}

#[test]
fn a_proof_of_another_certificate_is_not_logged() {
    let w = world();
    let (proof, key) = logged(&[b"another", &w.bob.chain[0]], 0);
    let refused = dial(&w, Some(proof), Some(key)).expect_err("wrong entry");
    assert_eq!(refused.id(), "not-logged");
}

#[test]
fn a_proof_under_another_log_key_is_not_logged() {
    let w = world();
    let (proof, _) = logged(&[&w.bob.chain[0]], 0);
    let other = SigningKey::from_bytes(&[10; 32]).verifying_key();
    let refused = dial(&w, Some(proof), Some(other)).expect_err("another log");
    assert_eq!(refused.id(), "not-logged");
}

#[test]
fn an_unreadable_proof_is_not_logged() {
    let w = world();
    let (_, key) = logged(&[&w.bob.chain[0]], 0);
    let refused = dial(&w, Some(b"\xffnot a proof".to_vec()), Some(key)).expect_err("garbage");
    assert_eq!(refused.id(), "not-logged");
}

#[test]
fn a_peer_that_does_not_require_proofs_ignores_them() {
    let w = world();
    let (wrong, _) = logged(&[b"another", &w.bob.chain[0]], 0);
    assert!(dial(&w, None, None).is_ok());
    assert!(dial(&w, Some(wrong), None).is_ok());
}
