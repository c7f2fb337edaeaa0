//! The key schedule: HKDF-SHA256 over the shared secret (the X25519
//! result; in `hybrid` mode the ML-KEM-768 secret followed by the X25519
//! result, as X25519MLKEM768 in draft-ietf-tls-ecdhe-mlkem section 3),
//! salted with the hash of the hellos, expanded into labelled keys per
//! direction and phase.
//!
//! ```text
//! hello_hash = SHA-256("pkilab/1 hello" ‖ M1 ‖ key_share_R ‖ nonce_R [‖ ct_ML-KEM])
//! prk        = HKDF-Extract(salt = hello_hash, ikm = [ss_ML-KEM ‖] X25519 result)
//! hs_*       = HKDF-Expand(prk, "pkilab/1 hs i2r" | "pkilab/1 hs r2i")
//! finished_* = HKDF-Expand(prk, "pkilab/1 finished i" | "pkilab/1 finished r")
//! traffic_*  = HKDF-Expand(prk, "pkilab/1 traffic i2r|r2i" ‖ SHA-256(M1 ‖ M2 ‖ M3))
//! ```

use aws_lc_rs::{digest, hkdf, hmac};
use zeroize::Zeroizing;

use crate::primitives::{aead_key, aead_open, aead_seal, hkdf_expand, hkdf_extract};
use crate::refusal::{Refusal, RefusalReason};

/// A 32-byte secret, zeroized on drop.
pub(crate) type Key32 = Zeroizing<[u8; 32]>;

/// SHA-256 over the concatenation of `parts`.
pub(crate) fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
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

fn expand(prk: &hkdf::Prk, info: &[&[u8]]) -> Key32 {
    let mut out = Zeroizing::new([0u8; 32]);
    // HKDF-Expand to 32 bytes with SHA-256 cannot exceed its 255-block limit.
    hkdf_expand(prk, info, out.as_mut()).expect("HKDF-SHA256 expands 32 bytes");
    out
}

impl HandshakeSecrets {
    /// Runs Extract and the handshake Expands.
    pub(crate) fn new(shared: &[u8], hello_hash: &[u8; 32]) -> Self {
        let prk = hkdf_extract(hello_hash, shared);
        HandshakeSecrets {
            hs_i2r: expand(&prk, &[b"pkilab/1 hs i2r"]),
            hs_r2i: expand(&prk, &[b"pkilab/1 hs r2i"]),
            finished_i: expand(&prk, &[b"pkilab/1 finished i"]),
            finished_r: expand(&prk, &[b"pkilab/1 finished r"]),
            prk,
        }
    }

    /// Traffic keys (initiator-to-responder, responder-to-initiator), bound
    /// to the whole handshake transcript.
    pub(crate) fn traffic(&self, transcript_hash: &[u8; 32]) -> (Key32, Key32) {
        (
            expand(&self.prk, &[b"pkilab/1 traffic i2r", transcript_hash]),
            expand(&self.prk, &[b"pkilab/1 traffic r2i", transcript_hash]),
        )
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
    /// SHA-256 of M1 ‖ M2 ‖ M3, bound into the traffic keys (public).
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
pub(crate) fn seal_block(key: &[u8; 32], label: &[u8], plaintext: &[u8]) -> Vec<u8> {
    aead_seal(&aead_key(key), nonce(0), label, plaintext)
}

/// Opens a handshake block.
pub(crate) fn open_block(
    key: &[u8; 32],
    label: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    aead_open(&aead_key(key), nonce(0), label, sealed).map_err(|_| {
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
