//! What an eavesdropper can do later with a recording: with a stolen
//! long-term identity ([`attempt_decrypt`]), or with the secrets of a
//! primitive it is assumed to break ([`attempt_with_oracle`]).
//!
//! With a stolen identity it tries, for every recorded handshake, the only
//! computation open to it: X25519 of the stolen static key with each
//! recorded key share, then the key schedule. In `static` mode one of them
//! is the session's secret; in `signed-ephemeral` mode the secrets came from
//! ephemeral keys that no longer exist, and every attempt fails.
//!
//! With an oracle it recomputes each part of the shared secret it can: the
//! X25519 result from a revealed X25519 secret, the ML-KEM secret by
//! decapsulating the recorded ciphertext with a revealed decapsulation key.
//! A part it cannot compute it has to guess, and it guesses zeros. Either
//! way the recorded handshake block decides: keys are kept only if it opens.

use x25519_dalek::PublicKey;
use zeroize::Zeroizing;

use crate::escrow::Oracle;
use crate::identity::Identity;
use crate::key_schedule::{HandshakeSecrets, hello_hash, open_block};
use crate::primitives::{aead_key, ml_kem_768_decapsulate};
use crate::session::open_record;
use crate::wire::{self, Hello, HelloReply, Message};

/// What an attacker recovered.
#[derive(Debug, Default)]
pub struct Recovered {
    /// Plaintexts it could read, in recording order.
    pub plaintexts: Vec<Zeroizing<Vec<u8>>>,
    /// Handshakes in the recording.
    pub handshakes: usize,
    /// Handshakes whose keys it recomputed.
    pub opened: usize,
}

type Keys = (aws_lc_rs::aead::LessSafeKey, aws_lc_rs::aead::LessSafeKey);

/// A recorded handshake, as far as the recording goes.
struct Handshake {
    m1: Vec<u8>,
    hello: Hello,
    /// The initiator's ML-KEM encapsulation key (`hybrid`).
    ml_kem_key: Option<Vec<u8>>,
    /// The reply, and its ML-KEM ciphertext (`hybrid`).
    reply: Option<(HelloReply, Option<Vec<u8>>)>,
    keys: Option<Keys>,
}

impl Handshake {
    fn new(m1: &[u8], hello: Hello, ml_kem_key: Option<Vec<u8>>) -> Handshake {
        Handshake {
            m1: m1.to_vec(),
            hello,
            ml_kem_key,
            reply: None,
            keys: None,
        }
    }

    /// Runs the key schedule on a candidate shared secret; the keys, if the
    /// responder's recorded block opens under them.
    fn try_secret(&self, shared: &[u8], m3: &[u8]) -> Option<Keys> {
        let (reply, ciphertext) = self.reply.as_ref()?;
        let ciphertext = ciphertext.as_deref().unwrap_or_default();
        let salt = hello_hash(&self.m1, &reply.key_share, &reply.nonce, ciphertext);
        let secrets = HandshakeSecrets::new(shared, &salt);
        // The responder's sealed block opens only under the true secret.
        let opened = open_block(&secrets.hs_r2i, b"pkilab/1 auth r", &reply.sealed).ok()?;
        let responder = wire::decode_authentication(&opened).ok()?;
        let Ok(Message::Finish(finish)) = wire::decode(m3) else {
            return None;
        };
        let opened = open_block(&secrets.hs_i2r, b"pkilab/1 auth i", &finish.sealed).ok()?;
        let initiator = wire::decode_authentication(&opened).ok()?;
        let hellos: [&[u8]; 4] = [&self.m1, &reply.key_share, &reply.nonce, ciphertext];
        let transcript = crate::transcript::of_handshake(&hellos, &responder, &initiator);
        let (i2r, r2i) = secrets.traffic(&transcript);
        Some((aead_key(&i2r), aead_key(&r2i)))
    }
}

/// Replays the recording (`frames` in wire order, both directions) with the
/// stolen identity's static key.
pub fn attempt_decrypt(frames: &[Vec<u8>], stolen: &Identity) -> Recovered {
    walk(frames, |h, m3| with_stolen_key(h, m3, stolen))
}

/// Replays the recording with what `oracle` reveals of the broken
/// primitives (the simulation's model of a future adversary, see
/// [`crate::escrow`]).
pub fn attempt_with_oracle(frames: &[Vec<u8>], oracle: &Oracle<'_>) -> Recovered {
    walk(frames, |h, m3| with_oracle(h, m3, oracle))
}

fn walk(frames: &[Vec<u8>], recompute: impl Fn(&Handshake, &[u8]) -> Option<Keys>) -> Recovered {
    let mut recovered = Recovered::default();
    let mut current: Option<Handshake> = None;
    for frame in frames {
        match wire::decode(frame) {
            Ok(Message::Hello(hello)) => {
                recovered.handshakes += 1;
                current = Some(Handshake::new(frame, hello, None));
            }
            Ok(Message::HybridHello(h)) => {
                recovered.handshakes += 1;
                current = Some(Handshake::new(frame, h.hello, Some(h.ml_kem_key)));
            }
            Ok(Message::HelloReply(reply)) => {
                if let Some(h) = current.as_mut() {
                    h.reply = Some((reply, None));
                }
            }
            Ok(Message::HybridReply(r)) => {
                if let Some(h) = current.as_mut() {
                    h.reply = Some((r.reply, Some(r.ml_kem_ciphertext)));
                }
            }
            Ok(Message::Finish(_)) => {
                if let Some(h) = current.as_mut() {
                    h.keys = recompute(h, frame);
                    recovered.opened += usize::from(h.keys.is_some());
                }
            }
            Ok(Message::Record(record)) => {
                let Some((i2r, r2i)) = current.as_ref().and_then(|h| h.keys.as_ref()) else {
                    continue;
                };
                let opened = open_record(i2r, b"i2r", &record)
                    .or_else(|_| open_record(r2i, b"r2i", &record));
                if let Ok(plaintext) = opened {
                    recovered.plaintexts.push(plaintext);
                }
            }
            // OCSP travels in the clear and holds no session key.
            Ok(Message::OcspRequest(_) | Message::OcspResponse(_)) | Err(_) => {}
        }
    }
    recovered
}

fn with_stolen_key(h: &Handshake, m3: &[u8], stolen: &Identity) -> Option<Keys> {
    let (reply, ciphertext) = h.reply.as_ref()?;
    if ciphertext.is_some() {
        // A hybrid secret also needs the ML-KEM secret, which a stolen
        // long-term identity says nothing about.
        return None;
    }
    [h.hello.key_share, reply.key_share]
        .iter()
        .find_map(|share| {
            let shared = stolen
                .static_secret
                .diffie_hellman(&PublicKey::from(*share));
            if !shared.was_contributory() {
                return None;
            }
            h.try_secret(shared.as_bytes(), m3)
        })
}

/// The X25519 result from whichever side's secret the oracle reveals, or a
/// guess of zeros.
fn x25519_part(h: &Handshake, reply: &HelloReply, oracle: &Oracle<'_>) -> Zeroizing<[u8; 32]> {
    let pairs = [
        (h.hello.key_share, reply.key_share),
        (reply.key_share, h.hello.key_share),
    ];
    let revealed = pairs.iter().find_map(|(mine, theirs)| {
        let secret = oracle.x25519_secret(mine)?;
        Some(*secret.diffie_hellman(&PublicKey::from(*theirs)).as_bytes())
    });
    Zeroizing::new(revealed.unwrap_or([0u8; 32]))
}

/// The ML-KEM secret by decapsulation with a revealed key, or a guess of zeros.
fn ml_kem_part(ek: &[u8], ciphertext: &[u8], oracle: &Oracle<'_>) -> Zeroizing<[u8; 32]> {
    oracle
        .ml_kem_key(ek)
        .and_then(|dk| ml_kem_768_decapsulate(&dk, ciphertext).ok())
        .unwrap_or_else(|| Zeroizing::new([0u8; 32]))
}

fn with_oracle(h: &Handshake, m3: &[u8], oracle: &Oracle<'_>) -> Option<Keys> {
    let (reply, ciphertext) = h.reply.as_ref()?;
    let x = x25519_part(h, reply, oracle);
    let shared = match (&h.ml_kem_key, ciphertext) {
        (Some(ek), Some(ciphertext)) => {
            let ml_kem = ml_kem_part(ek, ciphertext, oracle);
            Zeroizing::new([ml_kem.as_slice(), x.as_slice()].concat())
        }
        _ => Zeroizing::new(x.to_vec()),
    };
    h.try_secret(&shared, m3)
}
