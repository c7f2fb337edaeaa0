//! Each side's contribution to the shared secret: an ephemeral X25519 key
//! (`signed-ephemeral`, `unauthenticated`), the long-term X25519 key
//! (`static`), or an ephemeral X25519 key plus ML-KEM-768 (`hybrid`: the
//! initiator sends an encapsulation key, the responder answers with a
//! ciphertext). In `hybrid` mode the shared secret is the ML-KEM secret
//! followed by the X25519 result, as X25519MLKEM768 combines them
//! (draft-ietf-tls-ecdhe-mlkem section 3).

use aws_lc_rs::kem::DecapsulationKey;
use rand_core::CryptoRngCore;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::auth::Config;
use crate::escrow::Escrow;
use crate::primitives::{
    ml_kem_768_decapsulate, ml_kem_768_encapsulate, ml_kem_768_generate, x25519,
};
use crate::refusal::{Refusal, RefusalReason};
use crate::wire::Mode;

/// The shared secret entering the key schedule (32 or 64 bytes).
pub(crate) type Shared = Zeroizing<Vec<u8>>;

/// Our secret half, consumed by [`complete`] (or by [`answer`]).
pub(crate) enum OurSecret {
    /// An ephemeral X25519 key, used for one Diffie-Hellman.
    Ephemeral(StaticSecret),
    /// The long-term X25519 key of `static` mode.
    Static,
    /// An ephemeral X25519 key and an ephemeral ML-KEM-768 key.
    Hybrid(StaticSecret, DecapsulationKey),
}

/// What the initiator offers: its secret half, and the public half that
/// goes into M1.
pub(crate) struct Offer {
    pub secret: OurSecret,
    pub share: [u8; 32],
    /// The ML-KEM-768 encapsulation key (`hybrid` only).
    pub ml_kem_key: Option<Vec<u8>>,
}

/// What the responder answers: its public half for M2, and the shared secret.
pub(crate) struct Answer {
    pub share: [u8; 32],
    /// The ML-KEM-768 ciphertext (empty outside `hybrid` mode).
    pub ml_kem_ciphertext: Vec<u8>,
    pub shared: Shared,
}

/// A fresh ephemeral X25519 secret (the same 32 bytes from `rng` that
/// `EphemeralSecret::random_from_rng` would draw), kept in `escrow` when
/// the simulator asks for it.
fn ephemeral(rng: &mut impl CryptoRngCore, escrow: &mut Option<&mut Escrow>) -> StaticSecret {
    let secret = StaticSecret::random_from_rng(rng);
    if let Some(escrow) = escrow.as_deref_mut() {
        escrow.keep_x25519(&secret);
    }
    secret
}

/// The initiator's offer for `config.mode`.
pub(crate) fn offer(
    config: &Config,
    rng: &mut impl CryptoRngCore,
    mut escrow: Option<&mut Escrow>,
) -> Offer {
    match config.mode {
        Mode::Static => Offer {
            secret: OurSecret::Static,
            share: PublicKey::from(&config.identity.static_secret).to_bytes(),
            ml_kem_key: None,
        },
        Mode::Hybrid => {
            let secret = ephemeral(rng, &mut escrow);
            let share = PublicKey::from(&secret).to_bytes();
            let (dk, ek) = ml_kem_768_generate();
            if let Some(escrow) = escrow {
                escrow.keep_ml_kem(&ek, &dk);
            }
            Offer {
                secret: OurSecret::Hybrid(secret, dk),
                share,
                ml_kem_key: Some(ek),
            }
        }
        Mode::SignedEphemeral | Mode::Unauthenticated => {
            let secret = ephemeral(rng, &mut escrow);
            Offer {
                share: PublicKey::from(&secret).to_bytes(),
                secret: OurSecret::Ephemeral(secret),
                ml_kem_key: None,
            }
        }
    }
}

fn weak_key(_: crate::primitives::PrimitiveError) -> Refusal {
    Refusal::new(
        RefusalReason::WeakKey,
        "the peer's key share is a small-order point: the shared secret is all zeros",
    )
}

fn dh(secret: &StaticSecret, theirs: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, Refusal> {
    let shared = x25519(|p| secret.diffie_hellman(p), theirs).map_err(weak_key)?;
    Ok(Zeroizing::new(*shared.as_bytes()))
}

/// ML-KEM secret first, then X25519.
fn concatenate(ml_kem: &[u8; 32], x25519: &[u8; 32]) -> Shared {
    let mut shared = Zeroizing::new(Vec::with_capacity(64));
    shared.extend_from_slice(ml_kem);
    shared.extend_from_slice(x25519);
    shared
}

/// The responder's answer to `their_share` (and, in `hybrid` mode, to
/// their ML-KEM encapsulation key, which the caller checked is present).
pub(crate) fn answer(
    config: &Config,
    rng: &mut impl CryptoRngCore,
    their_share: &[u8; 32],
    their_ml_kem_key: Option<&[u8]>,
    mut escrow: Option<&mut Escrow>,
) -> Result<Answer, Refusal> {
    let (share, x) = if config.mode == Mode::Static {
        let secret = &config.identity.static_secret;
        (PublicKey::from(secret).to_bytes(), dh(secret, their_share)?)
    } else {
        let secret = ephemeral(rng, &mut escrow);
        (
            PublicKey::from(&secret).to_bytes(),
            dh(&secret, their_share)?,
        )
    };
    let Some(ek) = their_ml_kem_key else {
        return Ok(Answer {
            share,
            ml_kem_ciphertext: Vec::new(),
            shared: Zeroizing::new(x.to_vec()),
        });
    };
    let (ciphertext, ml_kem) = ml_kem_768_encapsulate(ek).map_err(|_| {
        Refusal::new(
            RefusalReason::Malformed,
            "the ML-KEM-768 encapsulation key has the wrong length or fails the FIPS 203 modulus check",
        )
    })?;
    Ok(Answer {
        share,
        ml_kem_ciphertext: ciphertext,
        shared: concatenate(&ml_kem, &x),
    })
}

/// The initiator completes the agreement with the responder's share (and
/// ML-KEM ciphertext in `hybrid` mode), consuming its secret.
pub(crate) fn complete(
    config: &Config,
    secret: OurSecret,
    their_share: &[u8; 32],
    ml_kem_ciphertext: Option<&[u8]>,
) -> Result<Shared, Refusal> {
    match (secret, ml_kem_ciphertext) {
        (OurSecret::Ephemeral(secret), None) => {
            Ok(Zeroizing::new(dh(&secret, their_share)?.to_vec()))
        }
        (OurSecret::Static, None) => Ok(Zeroizing::new(
            dh(&config.identity.static_secret, their_share)?.to_vec(),
        )),
        (OurSecret::Hybrid(secret, dk), Some(ciphertext)) => {
            let x = dh(&secret, their_share)?;
            let ml_kem = ml_kem_768_decapsulate(&dk, ciphertext).map_err(|_| {
                Refusal::new(
                    RefusalReason::Malformed,
                    format!(
                        "the ML-KEM-768 ciphertext is {} bytes, not 1088",
                        ciphertext.len()
                    ),
                )
            })?;
            Ok(concatenate(&ml_kem, &x))
        }
        _ => Err(Refusal::new(
            RefusalReason::UnexpectedMessage,
            "the reply's key material does not match the mode of our hello",
        )),
    }
}
