//! The cryptographic primitives the protocol calls, and only through here:
//! X25519 with the non-contributory check, ML-KEM-768 (FIPS 203, for the
//! `hybrid` mode), Ed25519 `verify_strict`, HKDF-SHA256 and AES-256-GCM. They are public so that the Wycheproof
//! vectors exercise exactly the code the handshake and session run.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::hkdf;
use aws_lc_rs::kem::{Ciphertext, DecapsulationKey, EncapsulationKey, ML_KEM_768};
use ed25519_dalek::{Signature, VerifyingKey};
use x25519_dalek::{PublicKey, SharedSecret};
use zeroize::Zeroizing;

/// Why a primitive refused its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrimitiveError {
    /// X25519 gave the all-zero secret: the peer's point has small order.
    NonContributory,
    /// A signature is malformed or does not verify (strictly).
    BadSignature,
    /// HKDF was asked for more than 255 blocks of output.
    OutputTooLong,
    /// An AEAD ciphertext does not authenticate.
    Unauthentic,
    /// An ML-KEM encapsulation key or ciphertext has the wrong length, or
    /// the key fails the modulus check of FIPS 203 section 7.2.
    InvalidKemInput,
}

/// Bytes of an ML-KEM-768 encapsulation key (FIPS 203, table 3).
pub const ML_KEM_768_ENCAPSULATION_KEY_LEN: usize = 1184;
/// Bytes of an ML-KEM-768 ciphertext.
pub const ML_KEM_768_CIPHERTEXT_LEN: usize = 1088;
/// Bytes of an expanded ML-KEM-768 decapsulation key.
pub const ML_KEM_768_DECAPSULATION_KEY_LEN: usize = 2400;

/// The FIPS 203 section 7.2 modulus check: the first 1152 bytes of an
/// ML-KEM-768 encapsulation key are 768 12-bit coefficients, each of which
/// must be below q = 3329 (`ByteEncode12(ByteDecode12(ek)) == ek`).
pub fn ml_kem_768_key_is_reduced(ek: &[u8]) -> bool {
    ek.len() == ML_KEM_768_ENCAPSULATION_KEY_LEN
        && ek[..1152].chunks_exact(3).all(|b| {
            let low = u16::from(b[0]) | (u16::from(b[1] & 0x0f) << 8);
            let high = u16::from(b[1] >> 4) | (u16::from(b[2]) << 4);
            low < 3329 && high < 3329
        })
}

/// A fresh ML-KEM-768 key pair from aws-lc-rs's generator: the
/// decapsulation key and the encapsulation key's bytes.
pub fn ml_kem_768_generate() -> (DecapsulationKey, Vec<u8>) {
    // Generation fails only if aws-lc's own generator fails, which it
    // treats as fatal too.
    let dk = DecapsulationKey::generate(&ML_KEM_768).expect("ML-KEM-768 key generation");
    let ek = dk
        .encapsulation_key()
        .and_then(|ek| ek.key_bytes())
        .expect("a generated ML-KEM key has an encapsulation key")
        .as_ref()
        .to_vec();
    (dk, ek)
}

/// ML-KEM-768 encapsulation to `ek` (checked first): the ciphertext and
/// the 32-byte shared secret.
pub fn ml_kem_768_encapsulate(ek: &[u8]) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), PrimitiveError> {
    if !ml_kem_768_key_is_reduced(ek) {
        return Err(PrimitiveError::InvalidKemInput);
    }
    let key =
        EncapsulationKey::new(&ML_KEM_768, ek).map_err(|_| PrimitiveError::InvalidKemInput)?;
    let (ciphertext, secret) = key
        .encapsulate()
        .map_err(|_| PrimitiveError::InvalidKemInput)?;
    Ok((ciphertext.as_ref().to_vec(), secret_32(secret.as_ref())))
}

/// ML-KEM-768 decapsulation. A ciphertext of the right length always
/// yields a secret (FIPS 203 implicit rejection: a changed ciphertext
/// gives an unrelated secret); a wrong length is refused.
pub fn ml_kem_768_decapsulate(
    dk: &DecapsulationKey,
    ciphertext: &[u8],
) -> Result<Zeroizing<[u8; 32]>, PrimitiveError> {
    if ciphertext.len() != ML_KEM_768_CIPHERTEXT_LEN {
        return Err(PrimitiveError::InvalidKemInput);
    }
    let secret = dk
        .decapsulate(Ciphertext::from(ciphertext))
        .map_err(|_| PrimitiveError::InvalidKemInput)?;
    Ok(secret_32(secret.as_ref()))
}

fn secret_32(bytes: &[u8]) -> Zeroizing<[u8; 32]> {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(bytes);
    out
}

/// X25519 with `theirs`, refusing a non-contributory (all-zero) result.
/// `dh` is the secret half's Diffie-Hellman (ephemeral or static).
pub fn x25519(
    dh: impl FnOnce(&PublicKey) -> SharedSecret,
    theirs: &[u8; 32],
) -> Result<SharedSecret, PrimitiveError> {
    let shared = dh(&PublicKey::from(*theirs));
    if shared.was_contributory() {
        Ok(shared)
    } else {
        Err(PrimitiveError::NonContributory)
    }
}

/// Ed25519 verification with `verify_strict`: canonical encodings, no
/// small-order keys or R, no malleable S.
pub fn ed25519_verify(
    key: &VerifyingKey,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PrimitiveError> {
    let signature = Signature::from_slice(signature).map_err(|_| PrimitiveError::BadSignature)?;
    key.verify_strict(message, &signature)
        .map_err(|_| PrimitiveError::BadSignature)
}

/// HKDF-SHA256 Extract.
pub fn hkdf_extract(salt: &[u8], ikm: &[u8]) -> hkdf::Prk {
    hkdf::Salt::new(hkdf::HKDF_SHA256, salt).extract(ikm)
}

struct Len(usize);

impl hkdf::KeyType for Len {
    fn len(&self) -> usize {
        self.0
    }
}

/// HKDF-SHA256 Expand of `info` (concatenated) into `out`.
pub fn hkdf_expand(prk: &hkdf::Prk, info: &[&[u8]], out: &mut [u8]) -> Result<(), PrimitiveError> {
    prk.expand(info, Len(out.len()))
        .and_then(|okm| okm.fill(out))
        .map_err(|_| PrimitiveError::OutputTooLong)
}

/// An AES-256-GCM key.
pub fn aead_key(key: &[u8; 32]) -> LessSafeKey {
    // Any 32 bytes are a valid AES-256 key.
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).expect("32-byte AES-256-GCM key"))
}

/// Seals `plaintext` under a 96-bit nonce, returning ciphertext ‖ tag.
pub fn aead_seal(key: &LessSafeKey, nonce: [u8; 12], aad: &[u8], plaintext: &[u8]) -> Vec<u8> {
    let mut sealed = Vec::with_capacity(plaintext.len() + AEAD_TAG_LEN);
    sealed.extend_from_slice(plaintext);
    aead_seal_tail(key, nonce, aad, &mut sealed, 0);
    sealed
}

/// Bytes of an AES-256-GCM tag.
pub const AEAD_TAG_LEN: usize = 16;

/// [`aead_seal`] of `buffer[start..]` in place: that part becomes the
/// ciphertext, and the tag is appended. What comes before `start` (a
/// frame's header) is left as it is.
pub fn aead_seal_tail(
    key: &LessSafeKey,
    nonce: [u8; 12],
    aad: &[u8],
    buffer: &mut Vec<u8>,
    start: usize,
) {
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buffer[start..],
        )
        // Sealing fails only past GCM's 64 GiB message limit; our frames
        // are at most 64 KiB.
        .expect("AES-GCM seals a frame");
    buffer.extend_from_slice(tag.as_ref());
}

/// Opens ciphertext ‖ tag; the tag is checked in constant time by
/// aws-lc-rs and nothing is returned unless it verifies.
pub fn aead_open(
    key: &LessSafeKey,
    nonce: [u8; 12],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, PrimitiveError> {
    aead_open_in_place(key, nonce, aad, Zeroizing::new(sealed.to_vec()))
}

/// [`aead_open`] in the buffer that holds ciphertext ‖ tag (wiped when
/// dropped, whether or not it opened).
pub fn aead_open_in_place(
    key: &LessSafeKey,
    nonce: [u8; 12],
    aad: &[u8],
    mut in_out: Zeroizing<Vec<u8>>,
) -> Result<Zeroizing<Vec<u8>>, PrimitiveError> {
    let length = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut in_out,
        )
        .map_err(|_| PrimitiveError::Unauthentic)?
        .len();
    in_out.truncate(length);
    Ok(in_out)
}

/// AES-256-CTR over `data` in place, from a 96-bit nonce and a 32-bit block
/// counter starting at zero. Encryption and decryption are the same
/// operation, and nothing authenticates the result: this exists only for
/// the insecure teaching suite.
pub fn ctr_apply(key: &[u8; 32], nonce: [u8; 12], data: &mut [u8]) {
    use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
    let mut iv = [0u8; 16];
    iv[..12].copy_from_slice(&nonce);
    // A 32-byte key is a valid AES-256 key and CTR takes any length, so
    // neither call can fail.
    let key = UnboundCipherKey::new(&AES_256, key).expect("32-byte AES-256 key");
    let key = EncryptingKey::ctr(key).expect("AES-256-CTR key");
    key.less_safe_encrypt(
        data,
        EncryptionContext::Iv128(aws_lc_rs::iv::FixedLength::from(iv)),
    )
    .expect("AES-CTR encrypts any length");
}
