//! The key schedule: HKDF-SHA256 over the shared secret (the X25519
//! result; in `hybrid` mode the ML-KEM-768 secret followed by the X25519
//! result, as X25519MLKEM768 in draft-ietf-tls-ecdhe-mlkem section 3),
//! salted with the hash of the hellos, expanded into labelled keys per
//! direction and phase.
//!
//! ```text
//! hello_hash = SHA-256("pkilab/1 hello" ‖ M1 ‖ key_share_R ‖ nonce_R [‖ ct_ML-KEM])
//! prk        = HKDF-Extract(salt = hello_hash, ikm = [ss_ML-KEM ‖] X25519 result)
//! hs_i2r ‖ hs_r2i ‖ finished_i ‖ finished_r
//!            = HKDF-Expand(prk, "pkilab/1 handshake keys", 128)
//! traffic_i2r ‖ traffic_r2i
//!            = HKDF-Expand(prk, "pkilab/1 traffic keys" ‖ transcript hash, 64)
//! ```
//!
//! The transcript hash is the running hash of everything both sides said
//! (see `transcript`): the hellos in the clear, then what each sealed
//! authentication block says.
//!
//! Each phase's keys are one expansion cut into 32-byte keys, as TLS 1.2
//! cuts its key block: one HMAC key setup per phase instead of one per key.

use aws_lc_rs::{digest, hkdf, hmac};
use zeroize::{Zeroize, Zeroizing};

use crate::primitives::{aead_key, aead_open_in_place, aead_seal_tail, hkdf_expand, hkdf_extract};
use crate::refusal::{Refusal, RefusalReason};

/// A 32-byte secret, zeroized on drop.
pub(crate) type Key32 = Zeroizing<[u8; 32]>;

/// SHA-256 over the concatenation of `parts`. Short inputs (key
/// fingerprints, the hello hash, the Finished input) are gathered and
/// hashed in one call, which costs less than a hashing context.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    const SHORT: usize = 256;
    let total: usize = parts.iter().map(|p| p.len()).sum();
    let digest = if total <= SHORT {
        let mut gathered = [0u8; SHORT];
        let mut at = 0;
        for part in parts {
            gathered[at..at + part.len()].copy_from_slice(part);
            at += part.len();
        }
        let digest = digest::digest(&digest::SHA256, &gathered[..at]);
        // The gathered bytes may be a key (a fingerprint's input).
        gathered[..at].zeroize();
        digest
    } else {
        let mut context = digest::Context::new(&digest::SHA256);
        for part in parts {
            context.update(part);
        }
        context.finish()
    };
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The salt: what both hellos said, so a changed mode, nonce, key share
/// or ML-KEM ciphertext (empty outside `hybrid` mode) changes every key.
pub(crate) fn hello_hash(
    m1: &[u8],
    key_share_r: &[u8; 32],
    nonce_r: &[u8; 32],
    ml_kem_ciphertext: &[u8],
) -> [u8; 32] {
    sha256(&[
        b"pkilab/1 hello",
        m1,
        key_share_r,
        nonce_r,
        ml_kem_ciphertext,
    ])
}

/// Keys of the handshake phase, and the PRK the traffic keys come from.
pub(crate) struct HandshakeSecrets {
    prk: hkdf::Prk,
    pub(crate) hs_i2r: Key32,
    pub(crate) hs_r2i: Key32,
    pub(crate) finished_i: Key32,
    pub(crate) finished_r: Key32,
}

/// One expansion of `info` into `N` 32-byte keys.
fn expand<const N: usize>(prk: &hkdf::Prk, info: &[&[u8]]) -> [Key32; N] {
    let mut block = Zeroizing::new([[0u8; 32]; N]);
    // HKDF-SHA256 expands at most 255 blocks of 32 bytes; N is 2 or 4.
    hkdf_expand(prk, info, block.as_flattened_mut()).expect("HKDF-SHA256 expands N keys");
    std::array::from_fn(|i| Zeroizing::new(block[i]))
}

impl HandshakeSecrets {
    /// Runs Extract and the handshake Expand.
    pub(crate) fn new(shared: &[u8], hello_hash: &[u8; 32]) -> Self {
        let prk = hkdf_extract(hello_hash, shared);
        let [hs_i2r, hs_r2i, finished_i, finished_r] = expand(&prk, &[b"pkilab/1 handshake keys"]);
        HandshakeSecrets {
            hs_i2r,
            hs_r2i,
            finished_i,
            finished_r,
            prk,
        }
    }

    /// Traffic keys (initiator-to-responder, responder-to-initiator), bound
    /// to the whole handshake transcript.
    pub(crate) fn traffic(&self, transcript_hash: &[u8; 32]) -> (Key32, Key32) {
        let [i2r, r2i] = expand(&self.prk, &[b"pkilab/1 traffic keys", transcript_hash]);
        (i2r, r2i)
    }
}

/// What one side's key schedule produced, for showing in lessons: the two
/// public hashes in full, and each secret key only as a fingerprint (the
/// first 8 bytes of its SHA-256), which tells whether two sides hold the
/// same key without revealing it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeySchedule {
    /// The HKDF salt: SHA-256 over both hellos (public).
    pub hello_hash: [u8; 32],
    /// The transcript hash the traffic keys are bound to: the running
    /// SHA-256 of the hellos and of what both authentication blocks say
    /// (public).
    pub transcript_hash: [u8; 32],
    /// Fingerprint of the initiator-to-responder handshake key (secret key).
    pub handshake_i2r: [u8; 8],
    /// Fingerprint of the responder-to-initiator handshake key (secret key).
    pub handshake_r2i: [u8; 8],
    /// Fingerprint of the initiator-to-responder traffic key (secret key).
    pub traffic_i2r: [u8; 8],
    /// Fingerprint of the responder-to-initiator traffic key (secret key).
    pub traffic_r2i: [u8; 8],
    /// What the other side proved, as this side opened it from its sealed
    /// block: chain, believed name, signature, Finished MAC. Sealed on the
    /// wire, so hidden from a passive eavesdropper.
    pub received: crate::wire::Authentication,
}

fn fingerprint(key: &[u8; 32]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&sha256(&[key])[..8]);
    out
}

impl KeySchedule {
    /// Summarizes a completed schedule.
    pub(crate) fn of(
        hello_hash: [u8; 32],
        transcript_hash: [u8; 32],
        secrets: &HandshakeSecrets,
        traffic: (&Key32, &Key32),
        received: crate::wire::Authentication,
    ) -> Self {
        KeySchedule {
            hello_hash,
            transcript_hash,
            handshake_i2r: fingerprint(&secrets.hs_i2r),
            handshake_r2i: fingerprint(&secrets.hs_r2i),
            traffic_i2r: fingerprint(traffic.0),
            traffic_r2i: fingerprint(traffic.1),
            received,
        }
    }
}

/// The 96-bit nonce for a counter: four zero bytes, then the counter.
pub(crate) fn nonce(counter: u64) -> [u8; 12] {
    let mut bytes = [0u8; 12];
    bytes[4..].copy_from_slice(&counter.to_be_bytes());
    bytes
}

/// Seals a handshake block. Each handshake key seals exactly one block, so
/// the fixed nonce is never reused under a key.
/// The block is sealed in its own buffer.
pub(crate) fn seal_block(key: &[u8; 32], label: &[u8], mut block: Vec<u8>) -> Vec<u8> {
    aead_seal_tail(&aead_key(key), nonce(0), label, &mut block, 0);
    block
}

/// Opens a handshake block.
pub(crate) fn open_block(
    key: &[u8; 32],
    label: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    open_block_in_place(key, label, sealed.to_vec())
}

/// [`open_block`] in the buffer the block arrived in.
pub(crate) fn open_block_in_place(
    key: &[u8; 32],
    label: &[u8],
    sealed: Vec<u8>,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    aead_open_in_place(&aead_key(key), nonce(0), label, Zeroizing::new(sealed)).map_err(|_| {
        Refusal::new(
            RefusalReason::TranscriptMismatch,
            "the handshake block does not open with the keys derived from the hellos as we saw them: a hello or key share was changed on the way",
        )
    })
}

/// The Finished MAC over a transcript hash.
pub(crate) fn finished_mac(key: &[u8; 32], transcript_hash: &[u8; 32]) -> Vec<u8> {
    hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, key), transcript_hash)
        .as_ref()
        .to_vec()
}

/// Checks a Finished MAC in constant time.
pub(crate) fn verify_finished(
    key: &[u8; 32],
    transcript_hash: &[u8; 32],
    tag: &[u8],
) -> Result<(), Refusal> {
    hmac::verify(
        &hmac::Key::new(hmac::HMAC_SHA256, key),
        transcript_hash,
        tag,
    )
    .map_err(|_| {
        Refusal::new(
            RefusalReason::BadFinished,
            "the Finished MAC does not verify",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_long_inputs_hash_alike() {
        let bytes: Vec<u8> = (0..300u16).map(|i| i as u8).collect();
        for len in [0, 1, 32, 96, 255, 256, 257, 300] {
            let input = &bytes[..len];
            let expected = digest::digest(&digest::SHA256, input);
            for split in [0, len / 3, len] {
                let (a, b) = input.split_at(split);
                assert_eq!(&sha256(&[a, b])[..], expected.as_ref(), "{len} bytes");
            }
        }
        assert_eq!(
            hex::encode(sha256(&[b"ab", b"c"])),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    /// Known answers computed apart from this code (RFC 5869 HKDF written
    /// out over Python's `hmac` and `hashlib`).
    #[test]
    fn the_key_schedule_matches_independent_known_answers() {
        let secrets = HandshakeSecrets::new(&[0x11; 32], &[0x22; 32]);
        let (i2r, r2i) = secrets.traffic(&[0x33; 32]);
        let keys = [
            &secrets.hs_i2r,
            &secrets.hs_r2i,
            &secrets.finished_i,
            &secrets.finished_r,
            &i2r,
            &r2i,
        ]
        .map(|k| hex::encode(k.as_ref()));
        assert_eq!(
            keys,
            [
                "631351609f23089c2b13e3ed3b45f29efa2cb953da5234604b31ca611d2bc146",
                "5bd4fb7e7f51307e08098a8526a306118a62001db8cbe61a5c01fde7b81e7447",
                "dfdb94b6d530cdb0aa4b8167ab7d8cbe3872de7354904f8793576a3fb80de26f",
                "007acd73a56ea7c421c191f4faa3f5b6d8f5c370645c85ca7e810d79b80a1f94",
                "63a3694f4d45dbd08b9c88d568ed052c6b8fa8c0451489bb423ed0c5f8f015f7",
                "369ad69bb39269122ef157fee08a5bcdb08755190f49c3612e79b6a135046f8f",
            ]
        );
    }
}
