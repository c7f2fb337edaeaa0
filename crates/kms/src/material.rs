//! Key types and what each does with its material: AES-256-GCM through
//! aws-lc-rs, Ed25519 and X25519 through the dalek crates, RSA-OAEP and
//! RSA-PSS (SHA-256) through aws-lc-rs, and X-Wing (X25519 + ML-KEM-768,
//! see [`crate::xwing`]) for post-quantum public-key encryption. Material is held in `Zeroizing`
//! buffers and never printed.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::{
    KeySize, OAEP_SHA256_MGF1SHA256, OaepPrivateDecryptingKey, OaepPublicEncryptingKey,
    PrivateDecryptingKey,
};
use aws_lc_rs::signature::{self, RSA_PSS_2048_8192_SHA256, RSA_PSS_SHA256, UnparsedPublicKey};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::encoding;
use crate::error::KmsError;
use crate::xwing;

/// What a key is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub enum KeyType {
    /// AES-256-GCM: encrypt, decrypt, data keys.
    #[serde(rename = "aes-256-gcm")]
    Aes256Gcm,
    /// Ed25519: sign, verify.
    #[serde(rename = "ed25519")]
    Ed25519,
    /// X25519: key agreement.
    #[serde(rename = "x25519")]
    X25519,
    /// RSA-2048: OAEP-SHA256 and PSS-SHA256.
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    /// RSA-3072.
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    /// RSA-4096.
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// X-Wing (X25519 + ML-KEM-768): post-quantum public-key encryption.
    #[serde(rename = "xwing")]
    Xwing,
}

const ALL: [KeyType; 7] = [
    KeyType::Aes256Gcm,
    KeyType::Ed25519,
    KeyType::X25519,
    KeyType::Rsa2048,
    KeyType::Rsa3072,
    KeyType::Rsa4096,
    KeyType::Xwing,
];

impl KeyType {
    /// The stable name (`aes-256-gcm`, `rsa-3072`, …).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Aes256Gcm => "aes-256-gcm",
            KeyType::Ed25519 => "ed25519",
            KeyType::X25519 => "x25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Xwing => "xwing",
        }
    }

    fn rsa_size(self) -> Option<KeySize> {
        match self {
            KeyType::Rsa2048 => Some(KeySize::Rsa2048),
            KeyType::Rsa3072 => Some(KeySize::Rsa3072),
            KeyType::Rsa4096 => Some(KeySize::Rsa4096),
            _ => None,
        }
    }

    /// Whether the type encrypts (AES, RSA-OAEP, X-Wing).
    pub fn encrypts(self) -> bool {
        matches!(self, KeyType::Aes256Gcm | KeyType::Xwing) || self.rsa_size().is_some()
    }

    /// Whether the type signs (Ed25519, RSA-PSS).
    pub fn signs(self) -> bool {
        self == KeyType::Ed25519 || self.rsa_size().is_some()
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for KeyType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ALL.into_iter().find(|t| t.name() == s).ok_or_else(|| {
            let names: Vec<&str> = ALL.iter().map(|t| t.name()).collect();
            format!("unknown key type '{s}': use one of {}", names.join(", "))
        })
    }
}

/// Key material: raw AES key, Ed25519 seed, X25519 scalar, RSA PKCS#8, or
/// an X-Wing decapsulation key (`sk_M ‖ sk_X ‖ pk_X`, 2464 bytes).
pub struct Material {
    /// The key's type.
    pub key_type: KeyType,
    pub(crate) bytes: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for Material {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Material({}, <redacted>)", self.key_type)
    }
}

fn random<const N: usize>() -> Zeroizing<Vec<u8>> {
    let mut bytes = Zeroizing::new(vec![0u8; N]);
    // The system generator does not fail on supported platforms.
    SystemRandom::new()
        .fill(&mut bytes)
        .expect("system random generator");
    bytes
}

fn crypto(what: &str) -> KmsError {
    KmsError::Crypto(what.to_owned())
}

impl Material {
    /// Fresh material of `key_type`.
    pub fn generate(key_type: KeyType) -> Result<Material, KmsError> {
        if key_type == KeyType::Xwing {
            return Ok(Material {
                key_type,
                bytes: xwing::generate()?,
            });
        }
        let bytes = match key_type.rsa_size() {
            Some(size) => {
                let pair = signature::RsaKeyPair::generate(size)
                    .map_err(|_| crypto("RSA key generation failed"))?;
                let der: Pkcs8V1Der<'_> =
                    pair.as_der().map_err(|_| crypto("RSA key serialisation"))?;
                Zeroizing::new(der.as_ref().to_vec())
            }
            None => random::<32>(),
        };
        Ok(Material { key_type, bytes })
    }

    /// Imports material: 32 raw bytes for AES, Ed25519 (seed) and X25519,
    /// PKCS#8 DER for RSA of the stated size, the 2464-byte decapsulation
    /// key for X-Wing (checked: ML-KEM key hash, X25519 key pair).
    pub fn import(key_type: KeyType, bytes: &[u8]) -> Result<Material, KmsError> {
        let material = Material::from_bytes(key_type, Zeroizing::new(bytes.to_vec()));
        if key_type == KeyType::Xwing {
            return xwing::check_secret_key(bytes).map(|()| material);
        }
        match key_type.rsa_size() {
            None if bytes.len() == 32 => Ok(material),
            None => Err(KmsError::Malformed(format!("a {key_type} key is 32 bytes"))),
            Some(size) => {
                let key = PrivateDecryptingKey::from_pkcs8(bytes)
                    .map_err(|_| KmsError::Malformed("not an RSA PKCS#8 private key".into()))?;
                let bits = key.key_size_bits();
                if bits != size_bits(size) {
                    return Err(KmsError::Malformed(format!(
                        "an RSA-{bits} key is not {key_type}"
                    )));
                }
                Ok(material)
            }
        }
    }

    /// Material from stored bytes.
    pub(crate) fn from_bytes(key_type: KeyType, bytes: Zeroizing<Vec<u8>>) -> Material {
        Material { key_type, bytes }
    }

    fn seed(&self) -> Result<[u8; 32], KmsError> {
        self.bytes[..]
            .try_into()
            .map_err(|_| crypto("stored key has the wrong length"))
    }

    /// An AES-256-GCM key for this material.
    pub fn aead(&self) -> Result<LessSafeKey, KmsError> {
        let key =
            UnboundKey::new(&AES_256_GCM, &self.bytes).map_err(|_| crypto("not an AES-256 key"))?;
        Ok(LessSafeKey::new(key))
    }

    /// The public key as DER SubjectPublicKeyInfo (none for AES).
    pub fn public_spki(&self) -> Result<Vec<u8>, KmsError> {
        match self.key_type {
            KeyType::Aes256Gcm => Err(KmsError::Unsupported(
                "an AES key has no public half".into(),
            )),
            KeyType::Ed25519 => {
                let public = SigningKey::from_bytes(&self.seed()?).verifying_key();
                encoding::spki(encoding::ED25519, public.as_bytes())
            }
            KeyType::X25519 => {
                let secret = x25519_dalek::StaticSecret::from(self.seed()?);
                let public = x25519_dalek::PublicKey::from(&secret);
                encoding::spki(encoding::X25519, public.as_bytes())
            }
            KeyType::Xwing => encoding::spki(encoding::XWING, &xwing::public_key(&self.bytes)?),
            _ => {
                let key = PrivateDecryptingKey::from_pkcs8(&self.bytes)
                    .map_err(|_| crypto("stored RSA key does not parse"))?;
                let der = key
                    .public_key()
                    .as_der()
                    .map_err(|_| crypto("RSA public key serialisation"))?;
                Ok(der.as_ref().to_vec())
            }
        }
    }

    /// The private key as PKCS#8 v1 DER (none for AES).
    pub fn private_pkcs8(&self) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let oid = match self.key_type {
            KeyType::Aes256Gcm => {
                return Err(KmsError::Unsupported(
                    "an AES key has no PKCS#8 form: wrap it with a datakey instead".into(),
                ));
            }
            KeyType::Ed25519 => encoding::ED25519,
            KeyType::X25519 => encoding::X25519,
            KeyType::Xwing => {
                return Err(KmsError::Unsupported(
                    "an xwing private key is not exported: export its public key and decrypt in the KMS".into(),
                ));
            }
            _ => return Ok(self.bytes.clone()),
        };
        encoding::pkcs8(oid, &self.seed()?)
    }

    /// AES-256-GCM: `nonce ‖ ciphertext ‖ tag`, with a random 96-bit nonce.
    /// RSA: OAEP-SHA256 ciphertext. X-Wing: the KEM ciphertext (1120
    /// bytes), then AES-256-GCM under the KEM's shared secret.
    pub fn encrypt(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        match self.key_type {
            KeyType::Aes256Gcm => return aes_seal(&self.aead()?, aad, plaintext),
            KeyType::Xwing => return self.xwing_seal(aad, plaintext),
            _ => {}
        }
        let key = self.rsa_public()?;
        let mut out = vec![0u8; key.ciphertext_size()];
        let len = key
            .encrypt(&OAEP_SHA256_MGF1SHA256, plaintext, &mut out, label(aad))
            .map_err(|_| {
                KmsError::Refused(format!(
                    "RSA-OAEP cannot encrypt {} bytes with this key (at most {})",
                    plaintext.len(),
                    key.max_plaintext_size(&OAEP_SHA256_MGF1SHA256)
                ))
            })?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// The inverse of [`Material::encrypt`].
    pub fn decrypt(&self, aad: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        match self.key_type {
            KeyType::Aes256Gcm => return aes_open(&self.aead()?, aad, ciphertext),
            KeyType::Xwing => return self.xwing_open(aad, ciphertext),
            _ => {}
        }
        let key = PrivateDecryptingKey::from_pkcs8(&self.bytes)
            .ok()
            .and_then(|k| OaepPrivateDecryptingKey::new(k).ok())
            .ok_or_else(|| crypto("stored RSA key does not parse"))?;
        let mut out = Zeroizing::new(vec![0u8; key.min_output_size()]);
        let len = key
            .decrypt(&OAEP_SHA256_MGF1SHA256, ciphertext, &mut out, label(aad))
            .map_err(|_| KmsError::Unauthentic)?
            .len();
        out.truncate(len);
        Ok(out)
    }

    /// X-Wing encapsulation to this key's public half.
    pub fn xwing_encapsulate(&self) -> Result<(Vec<u8>, Zeroizing<[u8; 32]>), KmsError> {
        self.expect_xwing()?;
        xwing::encapsulate(&xwing::public_key(&self.bytes)?)
    }

    /// X-Wing decapsulation with this key.
    pub fn xwing_decapsulate(&self, ciphertext: &[u8]) -> Result<Zeroizing<[u8; 32]>, KmsError> {
        self.expect_xwing()?;
        xwing::decapsulate(&self.bytes, ciphertext)
    }

    fn expect_xwing(&self) -> Result<(), KmsError> {
        if self.key_type == KeyType::Xwing {
            Ok(())
        } else {
            Err(KmsError::Unsupported(format!(
                "a {} key is not an X-Wing KEM key",
                self.key_type
            )))
        }
    }

    fn xwing_seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, KmsError> {
        let (ct, secret) = self.xwing_encapsulate()?;
        let sealed = aes_seal(&aes_key(&secret)?, aad, plaintext)?;
        Ok([ct, sealed].concat())
    }

    fn xwing_open(&self, aad: &[u8], ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        if ciphertext.len() < xwing::CIPHERTEXT_LEN {
            return Err(KmsError::Unauthentic);
        }
        let (ct, sealed) = ciphertext.split_at(xwing::CIPHERTEXT_LEN);
        let secret = self.xwing_decapsulate(ct)?;
        aes_open(&aes_key(&secret)?, aad, sealed)
    }

    fn rsa_public(&self) -> Result<OaepPublicEncryptingKey, KmsError> {
        let key = PrivateDecryptingKey::from_pkcs8(&self.bytes)
            .map_err(|_| crypto("stored RSA key does not parse"))?;
        OaepPublicEncryptingKey::new(key.public_key()).map_err(|_| crypto("RSA public key"))
    }

    /// Ed25519 or RSA-PSS-SHA256 signature.
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KmsError> {
        match self.key_type {
            KeyType::Ed25519 => Ok(SigningKey::from_bytes(&self.seed()?)
                .sign(message)
                .to_bytes()
                .to_vec()),
            t if t.rsa_size().is_some() => {
                let pair = signature::RsaKeyPair::from_pkcs8(&self.bytes)
                    .map_err(|_| crypto("stored RSA key does not parse"))?;
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PSS_SHA256, &SystemRandom::new(), message, &mut out)
                    .map_err(|_| crypto("RSA-PSS signing failed"))?;
                Ok(out)
            }
            t => Err(KmsError::Unsupported(format!("a {t} key does not sign"))),
        }
    }

    /// Verifies a signature from [`Material::sign`].
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> Result<bool, KmsError> {
        verify_with_spki(self.key_type, &self.public_spki()?, message, signature)
    }

    /// X25519 with a peer's 32-byte public key; refuses the all-zero result.
    pub fn agree(&self, peer_public: &[u8]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        if self.key_type != KeyType::X25519 {
            return Err(KmsError::Unsupported(format!(
                "a {} key does not agree",
                self.key_type
            )));
        }
        let peer: [u8; 32] = peer_public
            .try_into()
            .map_err(|_| KmsError::Refused("an X25519 public key is 32 bytes".into()))?;
        let shared = x25519_dalek::StaticSecret::from(self.seed()?)
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer));
        if !shared.was_contributory() {
            return Err(KmsError::Refused(
                "the peer key has small order: the shared secret would be all zeros".into(),
            ));
        }
        Ok(Zeroizing::new(shared.as_bytes().to_vec()))
    }
}

/// Verifies with a public key alone (Ed25519 strictly, RSA-PSS-SHA256).
pub fn verify_with_spki(
    key_type: KeyType,
    spki_der: &[u8],
    message: &[u8],
    signature: &[u8],
) -> Result<bool, KmsError> {
    match key_type {
        KeyType::Ed25519 => {
            let raw: [u8; 32] = spki_der
                .get(12..)
                .and_then(|k| k.try_into().ok())
                .ok_or_else(|| crypto("not an Ed25519 public key"))?;
            let key = VerifyingKey::from_bytes(&raw).map_err(|_| crypto("Ed25519 public key"))?;
            let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
                return Ok(false);
            };
            Ok(key.verify_strict(message, &signature).is_ok())
        }
        t if t.rsa_size().is_some() => {
            Ok(UnparsedPublicKey::new(&RSA_PSS_2048_8192_SHA256, spki_der)
                .verify(message, signature)
                .is_ok())
        }
        t => Err(KmsError::Unsupported(format!("a {t} key does not verify"))),
    }
}

fn size_bits(size: KeySize) -> usize {
    match size {
        KeySize::Rsa2048 => 2048,
        KeySize::Rsa3072 => 3072,
        _ => 4096,
    }
}

fn label(aad: &[u8]) -> Option<&[u8]> {
    (!aad.is_empty()).then_some(aad)
}

fn aes_key(secret: &[u8; 32]) -> Result<LessSafeKey, KmsError> {
    let key = UnboundKey::new(&AES_256_GCM, secret).map_err(|_| crypto("not an AES-256 key"))?;
    Ok(LessSafeKey::new(key))
}

/// `nonce ‖ ciphertext ‖ tag` with a fresh random nonce.
pub(crate) fn aes_seal(
    key: &LessSafeKey,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, KmsError> {
    let mut nonce = [0u8; 12];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| crypto("random nonce"))?;
    let mut out = Vec::with_capacity(12 + plaintext.len() + 16);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut out[12..],
        )
        .map_err(|_| crypto("AES-GCM sealing"))?;
    out.extend_from_slice(tag.as_ref());
    Ok(out)
}

/// Opens `nonce ‖ ciphertext ‖ tag`; the tag is compared in constant time.
pub(crate) fn aes_open(
    key: &LessSafeKey,
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    if sealed.len() < 12 + 16 {
        return Err(KmsError::Unauthentic);
    }
    let (nonce, body) = sealed.split_at(12);
    let nonce: [u8; 12] = nonce.try_into().map_err(|_| KmsError::Unauthentic)?;
    let mut buffer = Zeroizing::new(body.to_vec());
    let len = key
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad),
            &mut buffer,
        )
        .map_err(|_| KmsError::Unauthentic)?
        .len();
    buffer.truncate(len);
    Ok(buffer)
}
