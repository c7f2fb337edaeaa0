//! Envelope encryption at rest: key material is wrapped with AES-256-GCM
//! under a key-encryption key derived from the passphrase with Argon2id.
//! The associated data names the key, its version and type, so a wrapped
//! blob moved to another key or version does not open.

use aws_lc_rs::aead::LessSafeKey;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::KmsError;
use crate::material::{KeyType, Material, aes_open, aes_seal};

/// Argon2id parameters, stored with the key store.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
    /// Salt, hex.
    pub salt: String,
}

impl KdfParams {
    /// Fresh parameters: a random salt and `memory_kib` (RFC 9106's second
    /// recommendation is 65,536 KiB with 3 passes).
    pub fn new(memory_kib: u32) -> KdfParams {
        let mut salt = [0u8; 16];
        // The system generator does not fail on supported platforms.
        SystemRandom::new()
            .fill(&mut salt)
            .expect("system random generator");
        KdfParams {
            memory_kib,
            iterations: 3,
            parallelism: 1,
            salt: hex::encode(salt),
        }
    }
}

/// The key-encryption key.
pub struct Kek {
    key: LessSafeKey,
}

impl std::fmt::Debug for Kek {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Kek(<redacted>)")
    }
}

const CHECK_AAD: &[u8] = b"pkilab-kms/1 passphrase check";
const CHECK_PLAINTEXT: &[u8] = b"pkilab-kms passphrase check";

impl Kek {
    /// Derives the KEK from `passphrase`.
    pub fn derive(passphrase: &[u8], params: &KdfParams) -> Result<Kek, KmsError> {
        let salt = hex::decode(&params.salt)
            .map_err(|_| KmsError::Store("the stored KDF salt is not hex".into()))?;
        let argon = argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(
                params.memory_kib,
                params.iterations,
                params.parallelism,
                Some(32),
            )
            .map_err(|e| KmsError::Store(format!("stored Argon2 parameters: {e}")))?,
        );
        let mut bytes = Zeroizing::new(vec![0u8; 32]);
        argon
            .hash_password_into(passphrase, &salt, &mut bytes)
            .map_err(|e| KmsError::Crypto(format!("Argon2id: {e}")))?;
        let material = Material::from_bytes(KeyType::Aes256Gcm, bytes);
        Ok(Kek {
            key: material.aead()?,
        })
    }

    /// A blob that opens only under this KEK, stored to tell a wrong
    /// passphrase from damage.
    pub fn check_blob(&self) -> Result<Vec<u8>, KmsError> {
        aes_seal(&self.key, CHECK_AAD, CHECK_PLAINTEXT)
    }

    /// Whether `blob` (from [`Kek::check_blob`]) opens.
    pub fn verify(&self, blob: &[u8]) -> Result<(), KmsError> {
        match aes_open(&self.key, CHECK_AAD, blob) {
            Ok(p) if p.as_slice() == CHECK_PLAINTEXT => Ok(()),
            _ => Err(KmsError::WrongPassphrase),
        }
    }

    /// Wraps one version's material.
    pub fn wrap(&self, name: &str, version: i64, material: &Material) -> Result<Vec<u8>, KmsError> {
        aes_seal(
            &self.key,
            &aad(name, version, material.key_type),
            &material.bytes,
        )
    }

    /// Unwraps what [`Kek::wrap`] made for the same name, version and type.
    pub fn unwrap(
        &self,
        name: &str,
        version: i64,
        key_type: KeyType,
        wrapped: &[u8],
    ) -> Result<Material, KmsError> {
        let bytes = aes_open(&self.key, &aad(name, version, key_type), wrapped).map_err(|_| {
            KmsError::Store(format!(
                "the stored material of '{name}' version {version} does not open: it was altered or moved"
            ))
        })?;
        Ok(Material::from_bytes(key_type, bytes))
    }
}

fn aad(name: &str, version: i64, key_type: KeyType) -> Vec<u8> {
    let mut aad = b"pkilab-kms/1 key\0".to_vec();
    aad.extend_from_slice(name.as_bytes());
    aad.push(0);
    aad.extend_from_slice(&version.to_be_bytes());
    aad.extend_from_slice(key_type.name().as_bytes());
    aad
}
