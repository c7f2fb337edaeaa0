//! X-Wing (draft-connolly-cfrg-xwing-kem-02 to -05): X25519 and ML-KEM-768
//! behind one KEM, secure while either holds. The decapsulation key is the
//! expanded form those revisions define, `sk_M (2400) ‖ sk_X (32) ‖ pk_X
//! (32)`, which is what the authors' reference code and its known-answer
//! values use; later revisions store a 32-byte seed instead, which needs
//! ML-KEM key generation from a seed, and aws-lc-rs does not expose that.
//!
//! ```text
//! pk      = pk_M (1184) ‖ pk_X (32)
//! ct      = ct_M (1088) ‖ ct_X (32)
//! ss      = SHA3-256(XWingLabel ‖ ss_M ‖ ss_X ‖ ct_X ‖ pk_X), XWingLabel = 5c2e2f2f5e5c ("\.//^\")
//! ```
//!
//! ML-KEM-768 runs in aws-lc-rs, X25519 in x25519-dalek, SHA3-256 in
//! aws-lc-rs.

use aws_lc_rs::digest::{Context, SHA3_256};
use aws_lc_rs::kem::{Ciphertext, DecapsulationKey, EncapsulationKey, ML_KEM_768};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use x25519_dalek::{PublicKey, StaticSecret, X25519_BASEPOINT_BYTES};
use zeroize::Zeroizing;

use crate::error::KmsError;

/// Bytes of an X-Wing encapsulation (public) key.
pub const PUBLIC_KEY_LEN: usize = 1216;
/// Bytes of an X-Wing decapsulation (secret) key in the expanded form.
pub const SECRET_KEY_LEN: usize = 2464;
/// Bytes of an X-Wing ciphertext.
pub const CIPHERTEXT_LEN: usize = 1120;
/// The combiner's domain label, `\.//^\`.
pub const LABEL: [u8; 6] = [0x5c, 0x2e, 0x2f, 0x2f, 0x5e, 0x5c];

const ML_KEM_SK: usize = 2400;
const ML_KEM_PK: usize = 1184;
const ML_KEM_CT: usize = 1088;
/// Where the encapsulation key and its hash sit inside an ML-KEM-768
/// decapsulation key (FIPS 203 algorithm 16: dk_PKE ‖ ek ‖ H(ek) ‖ z).
const EK_IN_DK: std::ops::Range<usize> = 1152..2336;
const HASH_IN_DK: std::ops::Range<usize> = 2336..2368;

fn malformed(what: &str) -> KmsError {
    KmsError::Malformed(what.to_owned())
}

fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut context = Context::new(&SHA3_256);
    for part in parts {
        context.update(part);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// The X-Wing combiner: SHA3-256 over the label, both shared secrets, the
/// X25519 ciphertext and the recipient's X25519 public key.
pub fn combiner(
    ss_m: &[u8; 32],
    ss_x: &[u8; 32],
    ct_x: &[u8; 32],
    pk_x: &[u8; 32],
) -> Zeroizing<[u8; 32]> {
    Zeroizing::new(sha3_256(&[&LABEL, ss_m, ss_x, ct_x, pk_x]))
}

/// The FIPS 203 section 7.2 modulus check on an ML-KEM-768 encapsulation
/// key: each 12-bit coefficient of its first 1152 bytes is below 3329.
pub fn ml_kem_key_is_reduced(ek: &[u8]) -> bool {
    ek.len() == ML_KEM_PK
        && ek[..1152].chunks_exact(3).all(|b| {
            let low = u16::from(b[0]) | (u16::from(b[1] & 0x0f) << 8);
            let high = u16::from(b[1] >> 4) | (u16::from(b[2]) << 4);
            low < 3329 && high < 3329
        })
}

/// ML-KEM-768 decapsulation with an expanded decapsulation key, after the
/// FIPS 203 section 7.3 input checks (lengths, and the hash of the
/// encapsulation key the decapsulation key carries).
pub fn ml_kem_decapsulate(dk: &[u8], ct: &[u8]) -> Result<Zeroizing<[u8; 32]>, KmsError> {
    check_ml_kem_secret(dk)?;
    if ct.len() != ML_KEM_CT {
        return Err(KmsError::Unauthentic);
    }
    let key = DecapsulationKey::new(&ML_KEM_768, dk)
        .map_err(|_| malformed("not an ML-KEM-768 decapsulation key"))?;
    let secret = key
        .decapsulate(Ciphertext::from(ct))
        .map_err(|_| KmsError::Unauthentic)?;
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(secret.as_ref());
    Ok(out)
}

/// ML-KEM-768 encapsulation to `ek` (after the modulus check), with
/// aws-lc-rs's generator: the ciphertext and the shared secret.
pub fn ml_kem_encapsulate(ek: &[u8]) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), KmsError> {
    if !ml_kem_key_is_reduced(ek) {
        return Err(malformed(
            "not an ML-KEM-768 encapsulation key: 1184 bytes whose coefficients are below 3329",
        ));
    }
    let key = EncapsulationKey::new(&ML_KEM_768, ek)
        .map_err(|_| malformed("not an ML-KEM-768 encapsulation key"))?;
    let (ct, secret) = key
        .encapsulate()
        .map_err(|_| KmsError::Crypto("ML-KEM-768 encapsulation".into()))?;
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(secret.as_ref());
    Ok((ct.as_ref().to_vec(), out))
}

/// The checks an ML-KEM-768 decapsulation key passes: its length, and the
/// hash of its encapsulation key (FIPS 203 section 7.3).
pub fn check_ml_kem_secret(dk: &[u8]) -> Result<(), KmsError> {
    if dk.len() != ML_KEM_SK {
        return Err(malformed(&format!(
            "an ML-KEM-768 decapsulation key is {ML_KEM_SK} bytes, not {}",
            dk.len()
        )));
    }
    if sha3_256(&[&dk[EK_IN_DK]]) != dk[HASH_IN_DK] {
        return Err(malformed(
            "the ML-KEM-768 decapsulation key's hash of its encapsulation key does not match",
        ));
    }
    Ok(())
}

fn x25519(secret: &[u8; 32], public: &[u8; 32]) -> Zeroizing<[u8; 32]> {
    let shared = StaticSecret::from(*secret).diffie_hellman(&PublicKey::from(*public));
    Zeroizing::new(*shared.as_bytes())
}

fn array32(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&bytes[..32]);
    out
}

/// A fresh decapsulation key (ML-KEM-768 from aws-lc-rs, X25519 from the
/// system generator).
pub fn generate() -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let dk = DecapsulationKey::generate(&ML_KEM_768)
        .map_err(|_| KmsError::Crypto("ML-KEM-768 key generation".into()))?;
    let dk = dk
        .key_bytes()
        .map_err(|_| KmsError::Crypto("ML-KEM-768 key serialisation".into()))?;
    let mut sk_x = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(sk_x.as_mut())
        .map_err(|_| KmsError::Crypto("random X25519 key".into()))?;
    let pk_x = x25519(&sk_x, &X25519_BASEPOINT_BYTES);
    let mut sk = Zeroizing::new(Vec::with_capacity(SECRET_KEY_LEN));
    sk.extend_from_slice(dk.as_ref());
    sk.extend_from_slice(sk_x.as_ref());
    sk.extend_from_slice(pk_x.as_ref());
    Ok(sk)
}

/// Checks an imported decapsulation key: its length, its ML-KEM part, and
/// that its X25519 public key belongs to its X25519 secret key.
pub fn check_secret_key(sk: &[u8]) -> Result<(), KmsError> {
    if sk.len() != SECRET_KEY_LEN {
        return Err(malformed(&format!(
            "an xwing key is {SECRET_KEY_LEN} bytes (ML-KEM-768 ‖ X25519 secret ‖ X25519 public), not {}",
            sk.len()
        )));
    }
    check_ml_kem_secret(&sk[..ML_KEM_SK])?;
    if !ml_kem_key_is_reduced(&sk[EK_IN_DK]) {
        return Err(malformed("the ML-KEM-768 encapsulation key is not reduced"));
    }
    let pk_x = x25519(&array32(&sk[ML_KEM_SK..]), &X25519_BASEPOINT_BYTES);
    if pk_x[..] != sk[ML_KEM_SK + 32..] {
        return Err(malformed(
            "the X25519 public key in the xwing key does not belong to its secret key",
        ));
    }
    Ok(())
}

/// The encapsulation key of a (checked) decapsulation key: `pk_M ‖ pk_X`.
pub fn public_key(sk: &[u8]) -> Result<Vec<u8>, KmsError> {
    check_secret_key(sk)?;
    Ok([&sk[EK_IN_DK], &sk[ML_KEM_SK + 32..]].concat())
}

/// X-Wing encapsulation to `pk`: the ciphertext and the shared secret.
pub fn encapsulate(pk: &[u8]) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), KmsError> {
    if pk.len() != PUBLIC_KEY_LEN {
        return Err(malformed(&format!(
            "an xwing public key is {PUBLIC_KEY_LEN} bytes, not {}",
            pk.len()
        )));
    }
    let mut ek_x = Zeroizing::new([0u8; 32]);
    SystemRandom::new()
        .fill(ek_x.as_mut())
        .map_err(|_| KmsError::Crypto("random X25519 key".into()))?;
    let (ct_m, ss_m) = ml_kem_encapsulate(&pk[..ML_KEM_PK])?;
    let (ct_x, ss) = encapsulate_x25519(&ek_x, &array32(&pk[ML_KEM_PK..]), &ss_m);
    Ok(([ct_m.as_slice(), &ct_x].concat(), ss))
}

/// The X25519 half of encapsulation with the ephemeral secret `ek_x`, and
/// the combined secret given the ML-KEM secret `ss_m`: `(ct_X, ss)`.
pub fn encapsulate_x25519(
    ek_x: &[u8; 32],
    pk_x: &[u8; 32],
    ss_m: &[u8; 32],
) -> ([u8; 32], Zeroizing<[u8; 32]>) {
    let ct_x = *x25519(ek_x, &X25519_BASEPOINT_BYTES);
    let ss_x = x25519(ek_x, pk_x);
    let ss = combiner(ss_m, &ss_x, &ct_x, pk_x);
    (ct_x, ss)
}

/// X-Wing decapsulation. A ciphertext of the right length always yields a
/// secret (a changed one yields an unrelated secret, which then fails the
/// AEAD that uses it); a wrong length is refused.
pub fn decapsulate(sk: &[u8], ct: &[u8]) -> Result<Zeroizing<[u8; 32]>, KmsError> {
    if sk.len() != SECRET_KEY_LEN {
        return Err(KmsError::Crypto(
            "stored xwing key has the wrong length".into(),
        ));
    }
    if ct.len() != CIPHERTEXT_LEN {
        return Err(KmsError::Unauthentic);
    }
    let ss_m = ml_kem_decapsulate(&sk[..ML_KEM_SK], &ct[..ML_KEM_CT])?;
    let ct_x = array32(&ct[ML_KEM_CT..]);
    let pk_x = array32(&sk[ML_KEM_SK + 32..]);
    let ss_x = x25519(&array32(&sk[ML_KEM_SK..]), &ct_x);
    Ok(combiner(&ss_m, &ss_x, &ct_x, &pk_x))
}
