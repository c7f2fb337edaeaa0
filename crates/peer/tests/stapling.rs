#![allow(clippy::panic)]
//! OCSP stapling in the handshake: the responder staples a response from
//! the CA's real RFC 6960 responder; a must-staple initiator accepts a
//! fresh good one and refuses a revoked, stale, foreign, corrupted or
//! missing one with a precise reason; a flipped bit of the frame carrying
//! the staple breaks the handshake.

mod common;

use std::sync::{Arc, OnceLock};

use common::{NOW, rng};
use pkilab_ca::ocsp::{CertificateState, Responder};
use pkilab_ca::ocsp_request::request_for;
use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, RevocationReason, Serial};
use pkilab_peer::{Config, Identity, Mode, OcspConfig, PeerStatus, initiate, respond};
use pkilab_verify::{CrlScope, Options, RevocationPolicy, Validator};
use proptest::prelude::*;
use proptest::sample::Index;
use time::{Duration, OffsetDateTime};

const ISSUING_SEED: [u8; 32] = [2; 32];

struct World {
    issuing: CertificateAuthority,
    alice: Identity,
    bob: Identity,
    /// Must-staple: one response speaks for the leaf, and is required.
    must_staple: Arc<Validator>,
}

fn world() -> &'static World {
    static WORLD: OnceLock<World> = OnceLock::new();
    WORLD.get_or_init(|| {
        let root = CertificateAuthority::new_root(
            "Staple Root",
            CaKey::ed25519_from_seed(&[1; 32]).expect("key"),
            NOW,
            NOW + Duration::days(3650),
            Serial::from_bytes([1; 20]),
        )
        .expect("root");
        let issuing = root
            .new_intermediate(
                "Staple Issuing",
                CaKey::ed25519_from_seed(&ISSUING_SEED).expect("key"),
                NOW,
                NOW + Duration::days(1825),
                Some(0),
                Serial::from_bytes([2; 20]),
            )
            .expect("issuing");
        let person = |name: &str, seed: u64| {
            let mut identity = Identity::generate(name, &mut rng(seed));
            let request = LeafRequest::new(name, NOW, NOW + Duration::days(365));
            let leaf = issuing
                .issue(&request, &identity.public_key_spki_der(), Serial::random())
                .expect("leaf");
            identity.chain = vec![leaf.der, issuing.certificate_der().to_vec()];
            identity
        };
        let mut validator = Validator::new(vec![root.certificate_der().to_vec()]).expect("anchor");
        validator.set_options(Options {
            crl_scope: CrlScope::Leaf,
            ..Options::default()
        });
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
        World {
            alice: person("alice", 1),
            bob: person("bob", 2),
            issuing,
            must_staple: Arc::new(validator),
        }
    })
}

/// The issuing CA's responder's answer about `whose` leaf, produced at `at`
/// and valid for an hour.
fn staple(whose: &Identity, state: CertificateState, at: OffsetDateTime) -> Vec<u8> {
    let w = world();
    let key = CaKey::ed25519_from_seed(&ISSUING_SEED).expect("key");
    let responder = Responder::new(w.issuing.certificate_der(), key, None, Duration::hours(1))
        .expect("responder");
    let request =
        request_for(&whose.chain[0], w.issuing.certificate_der(), [3; 16]).expect("request");
    responder.respond(&request, at, &|_| state)
}

fn config(identity: &Identity, staple: Option<Vec<u8>>, soft_fail: bool) -> Config {
    Config {
        identity: Arc::new(identity.clone()),
        validator: Arc::clone(&world().must_staple),
        at: NOW,
        mode: Mode::SignedEphemeral,
        cipher: Default::default(),
        ocsp: OcspConfig {
            staple,
            peer_status: PeerStatus::Stapled,
            soft_fail,
        },
        require_logged: None,
    }
}

/// Alice (must-staple) dials bob, who staples `bob_staple`; alice staples
/// a good response. The initiator's refusal, if any.
fn dial_bob(bob_staple: Option<Vec<u8>>) -> Result<(), String> {
    let w = world();
    let alice_staple = staple(&w.alice, CertificateState::Good, NOW);
    let mut r = rng(7);
    let (state, m1) = initiate(config(&w.alice, Some(alice_staple), false), "bob", &mut r);
    let (finish, m2) = respond(config(&w.bob, bob_staple, false), None, &m1, &mut r)
        .map_err(|e| format!("bob refused: {e}"))?;
    let (_, m3) = state.handle(&m2).map_err(|e| e.id().to_owned())?;
    finish
        .handle(&m3)
        .map(|_| ())
        .map_err(|e| format!("bob refused: {e}"))
}

#[test]
fn a_fresh_good_staple_is_accepted() {
    let w = world();
    assert_eq!(
        dial_bob(Some(staple(&w.bob, CertificateState::Good, NOW))),
        Ok(())
    );
}

#[test]
fn a_revoked_staple_is_refused_as_revoked() {
    let w = world();
    let revoked = CertificateState::Revoked {
        at: NOW - Duration::minutes(5),
        reason: RevocationReason::KeyCompromise,
    };
    assert_eq!(
        dial_bob(Some(staple(&w.bob, revoked, NOW))),
        Err("revoked".to_owned())
    );
}

#[test]
fn a_stale_staple_is_refused_as_stale() {
    let w = world();
    let old = staple(&w.bob, CertificateState::Good, NOW - Duration::hours(2));
    assert_eq!(dial_bob(Some(old)), Err("staple-stale".to_owned()));
}

#[test]
fn no_staple_is_refused_as_missing() {
    assert_eq!(dial_bob(None), Err("staple-missing".to_owned()));
}

#[test]
fn a_staple_for_another_certificate_or_with_a_flipped_bit_is_invalid() {
    let w = world();
    let alices = staple(&w.alice, CertificateState::Good, NOW);
    assert_eq!(dial_bob(Some(alices)), Err("staple-invalid".to_owned()));
    let mut flipped = staple(&w.bob, CertificateState::Good, NOW);
    let last = flipped.len() - 1;
    flipped[last] ^= 0x01; // inside the responder's signature
    assert_eq!(dial_bob(Some(flipped)), Err("staple-invalid".to_owned()));
    assert_eq!(
        dial_bob(Some(b"not an OCSP response".to_vec())),
        Err("staple-invalid".to_owned())
    );
}

#[test]
fn a_soft_fail_peer_goes_ahead_without_a_staple_but_not_with_a_revoked_one() {
    let w = world();
    let mut validator = Validator::new(vec![world_root_der()]).expect("anchor");
    validator.set_options(Options {
        crl_scope: CrlScope::Leaf,
        ..Options::default()
    });
    validator.set_revocation_policy(RevocationPolicy::IfPresent);
    let validator = Arc::new(validator);
    let soft = |staple: Option<Vec<u8>>| {
        let mut alice = config(&w.alice, None, true);
        alice.validator = Arc::clone(&validator);
        let mut r = rng(8);
        let (state, m1) = initiate(alice, "bob", &mut r);
        let (_, m2) = respond(config(&w.bob, staple, true), None, &m1, &mut r).expect("bob");
        state.handle(&m2).map(|_| ()).map_err(|e| e.id())
    };
    assert_eq!(soft(None), Ok(()));
    let revoked = CertificateState::Revoked {
        at: NOW,
        reason: RevocationReason::KeyCompromise,
    };
    assert_eq!(soft(Some(staple(&w.bob, revoked, NOW))), Err("revoked"));
}

fn world_root_der() -> Vec<u8> {
    // The root is the issuing CA's issuer: the first certificate of no chain
    // here, so rebuild it from the same seed and serial.
    CertificateAuthority::new_root(
        "Staple Root",
        CaKey::ed25519_from_seed(&[1; 32]).expect("key"),
        NOW,
        NOW + Duration::days(3650),
        Serial::from_bytes([1; 20]),
    )
    .expect("root")
    .certificate_der()
    .to_vec()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// M2 carries bob's staple inside its sealed block, under the
    /// transcript signature: a flipped bit anywhere in it is refused.
    #[test]
    fn a_flipped_bit_in_the_frame_carrying_the_staple_breaks_the_handshake(
        bit in any::<Index>(),
        seed in any::<u64>(),
    ) {
        let w = world();
        let mut r = rng(seed);
        let (state, m1) = initiate(config(&w.alice, None, false), "bob", &mut r);
        let bob_staple = staple(&w.bob, CertificateState::Good, NOW);
        let (_, mut m2) = respond(config(&w.bob, Some(bob_staple), false), None, &m1, &mut r)
            .expect("bob answers");
        let i = bit.index(m2.len() * 8);
        m2[i / 8] ^= 1 << (i % 8);
        prop_assert!(state.handle(&m2).is_err());
    }
}
