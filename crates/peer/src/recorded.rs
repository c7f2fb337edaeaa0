//! What an eavesdropper can do later with a recording and a stolen
//! long-term identity. It tries, for every recorded handshake, the only
//! computation open to it: X25519 of the stolen static key with each
//! recorded key share, then the key schedule. In `static` mode one of them
//! is the session's secret; in `signed-ephemeral` mode the secrets came from
//! ephemeral keys that no longer exist, and every attempt fails.

use x25519_dalek::PublicKey;
use zeroize::Zeroizing;

use crate::identity::Identity;
use crate::key_schedule::{HandshakeSecrets, hello_hash, open_block, sha256};
use crate::primitives::aead_key;
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

struct Handshake {
    m1: Vec<u8>,
    hello: Hello,
    reply: Option<(Vec<u8>, HelloReply)>,
    keys: Option<(aws_lc_rs::aead::LessSafeKey, aws_lc_rs::aead::LessSafeKey)>,
}

/// Replays the recording (`frames` in wire order, both directions) with the
/// stolen identity's static key.
pub fn attempt_decrypt(frames: &[Vec<u8>], stolen: &Identity) -> Recovered {
    let mut recovered = Recovered::default();
    let mut current: Option<Handshake> = None;
    for frame in frames {
        match wire::decode(frame) {
            Ok(Message::Hello(hello)) => {
                recovered.handshakes += 1;
                current = Some(Handshake {
                    m1: frame.clone(),
                    hello,
                    reply: None,
                    keys: None,
                });
            }
            Ok(Message::HelloReply(reply)) => {
                if let Some(h) = current.as_mut() {
                    h.reply = Some((frame.clone(), reply));
                }
            }
            Ok(Message::Finish(_)) => {
                if let Some(h) = current.as_mut() {
                    h.keys = recompute(h, frame, stolen);
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

fn recompute(
    h: &Handshake,
    m3: &[u8],
    stolen: &Identity,
) -> Option<(aws_lc_rs::aead::LessSafeKey, aws_lc_rs::aead::LessSafeKey)> {
    let (m2, reply) = h.reply.as_ref()?;
    for share in [h.hello.key_share, reply.key_share] {
        let shared = stolen.static_secret.diffie_hellman(&PublicKey::from(share));
        if !shared.was_contributory() {
            continue;
        }
        let secrets = HandshakeSecrets::new(
            shared.as_bytes(),
            &hello_hash(&h.m1, &reply.key_share, &reply.nonce),
        );
        // The responder's sealed block opens only under the true secret.
        if open_block(&secrets.hs_r2i, b"pkilab/1 auth r", &reply.sealed).is_ok() {
            let (i2r, r2i) = secrets.traffic(&sha256(&[&h.m1, m2, m3]));
            return Some((aead_key(&i2r), aead_key(&r2i)));
        }
    }
    None
}
