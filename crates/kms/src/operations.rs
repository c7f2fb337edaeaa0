//! Cryptographic operations through the KMS: each checks the caller's
//! access and the key's state, uses the version the data names (or the
//! newest, for new data), and leaves an audit entry.
//!
//! Ciphertexts and signatures name their key and version:
//! `pkilab:v1:<key>:<version>:<base64url>`. The key name and version are
//! also bound into the AEAD associated data (or the OAEP label), so a
//! ciphertext relabelled to another key or version does not open.

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::error::KmsError;
use crate::fast::Queued;
use crate::keys::{self, KeyInfo, Tx};
use crate::kms::{Done, Kms, done};
use crate::lifecycle::{Use, permits};
use crate::material::{KeyType, Material, verify_with_spki};

const OPERATIONS: [&str; 12] = [
    "encrypt", "decrypt", "rewrap", "datakey", "sign", "verify", "export", "agree", "obtain",
    "rotate", "manage", "destroy",
];

/// Whether `operation` names something a grant can allow.
pub(crate) fn valid_operation(operation: &str) -> Result<(), KmsError> {
    if OPERATIONS.contains(&operation) {
        Ok(())
    } else {
        Err(KmsError::Malformed(format!(
            "unknown operation '{operation}': grant one of {}",
            OPERATIONS.join(", ")
        )))
    }
}

/// A parsed `pkilab:v1:<key>:<version>:<data>`.
struct Tagged {
    key: String,
    version: i64,
    data: Vec<u8>,
}

fn tag(key: &str, version: i64, data: &[u8]) -> String {
    format!("pkilab:v1:{key}:{version}:{}", URL_SAFE_NO_PAD.encode(data))
}

fn untag(text: &str, what: &str) -> Result<Tagged, KmsError> {
    let bad = || {
        KmsError::Malformed(format!(
            "not a pkilab {what}: expected pkilab:v1:<key>:<version>:<base64url>"
        ))
    };
    let mut parts = text.trim().splitn(5, ':');
    let (Some("pkilab"), Some("v1"), Some(key), Some(version), Some(data)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(bad());
    };
    keys::valid_name(key)?;
    Ok(Tagged {
        key: key.to_owned(),
        version: version.parse().map_err(|_| bad())?,
        data: URL_SAFE_NO_PAD.decode(data).map_err(|_| bad())?,
    })
}

/// What an operation is for: its grant name, what it does to data, and
/// whether a compromised key may be used.
#[derive(Clone, Copy)]
pub(crate) struct Purpose(pub(crate) &'static str, pub(crate) Use, pub(crate) bool);

fn data_aad(key: &str, version: i64, aad: &[u8]) -> Vec<u8> {
    let mut out = b"pkilab-kms/1 data\0".to_vec();
    out.extend_from_slice(key.as_bytes());
    out.push(0);
    out.extend_from_slice(&version.to_be_bytes());
    out.extend_from_slice(aad);
    out
}

impl Kms {
    /// The material of one version, unwrapped once and then cached.
    pub(crate) async fn material(
        &self,
        tx: &mut Tx<'_>,
        key: &KeyInfo,
        version: i64,
    ) -> Result<Arc<Material>, KmsError> {
        if version < key.min_decrypt_version {
            return Err(KmsError::Refused(format!(
                "version {version} of key '{}' is retired: the minimum decryption version is {}",
                key.name, key.min_decrypt_version
            )));
        }
        if version < 1 || version > key.current_version {
            return Err(KmsError::Refused(format!(
                "key '{}' has no version {version}",
                key.name
            )));
        }
        if let Some(m) = self.cache.get(&key.name, version) {
            return Ok(m);
        }
        let wrapped = keys::wrapped(tx, &key.name, version)
            .await?
            .ok_or_else(|| {
                KmsError::Refused(format!(
                    "key '{}' is destroyed: its material is gone",
                    key.name
                ))
            })?;
        let material = match self.kek.unwrap(&key.name, version, key.key_type, &wrapped) {
            Ok(material) => Arc::new(material),
            Err(e) => {
                // Wrapped under a passphrase set after this process
                // started, rather than damaged: say so.
                self.fence(tx).await?;
                return Err(e);
            }
        };
        self.cache.insert(&key.name, version, Arc::clone(&material));
        Ok(material)
    }

    /// A version's material from the cache, when the version is in range.
    fn cached_material(&self, key: &KeyInfo, version: i64) -> Option<Arc<Material>> {
        if version < key.min_decrypt_version || version > key.current_version {
            return None;
        }
        self.cache.get(&key.name, version)
    }

    /// Queues the audit entry of a data-path operation and returns its
    /// result.
    async fn finish_queued<T>(
        &self,
        actor: &str,
        operation: &'static str,
        key: &str,
        at: i64,
        result: Result<Done<T>, KmsError>,
    ) -> Result<T, KmsError> {
        let (outcome, version) = match &result {
            Ok(done) => ("ok".to_owned(), done.version),
            Err(e) => (format!("refused: {e}"), None),
        };
        self.queue_audit(Queued {
            at,
            actor: actor.to_owned(),
            operation: operation.to_owned(),
            key: Some(key.to_owned()),
            version,
            outcome,
        })
        .await?;
        result.map(|done| done.value)
    }

    /// Loads, authorizes and state-checks a key for one operation.
    pub(crate) async fn prepare(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        name: &str,
        purpose: Purpose,
        at: i64,
    ) -> Result<KeyInfo, KmsError> {
        let Purpose(operation, use_, allow_compromised) = purpose;
        let key = self.load(tx, name, at).await?;
        self.authorize(tx, actor, Some(&key), operation).await?;
        permits(key.state, use_, allow_compromised)
            .map_err(|why| KmsError::KeyState(format!("key '{name}': {why}")))?;
        Ok(key)
    }

    /// One operation with one version of one key, in one transaction: load
    /// the key (expiry and destruction applied), check access and state for
    /// `purpose`, unwrap `version` (the newest when `None`), run `work`
    /// (synchronous, so the future stays `Send`), audit as `audit`.
    pub(crate) async fn with_material<T>(
        &self,
        (actor, name, audit): (&str, &str, &str),
        purpose: Purpose,
        version: Option<i64>,
        now: OffsetDateTime,
        work: impl FnOnce(&KeyInfo, &Material, i64) -> Result<T, KmsError> + Send,
    ) -> Result<T, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let mut reserved = None;
        let result = async {
            let key = self.prepare(&mut tx, actor, name, purpose, at).await?;
            let version = version.unwrap_or(key.current_version);
            let material = self.material(&mut tx, &key, version).await?;
            if matches!(purpose.0, "encrypt" | "datakey") {
                reserved = self.count_encryption(Some(&mut tx), &key, version).await?;
            }
            Ok(done(work(&key, &material, version)?, Some(version)))
        }
        .await;
        let value = self
            .finish(tx, (actor, audit, Some(name)), at, result)
            .await?;
        // Committed: the reservation is in the store, so it may be used.
        self.gcm_keep(reserved);
        Ok(value)
    }

    /// Records the refusal of input that names no usable key.
    async fn refuse<T>(
        &self,
        actor: &str,
        audit: &str,
        error: KmsError,
        now: OffsetDateTime,
    ) -> Result<T, KmsError> {
        let tx = self.begin().await?;
        self.finish(tx, (actor, audit, None), now.unix_timestamp(), Err(error))
            .await
    }

    /// Encrypts with the newest version (AES-256-GCM or RSA-OAEP-SHA256).
    pub async fn encrypt(
        &self,
        actor: &str,
        name: &str,
        aad: &[u8],
        plaintext: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let at = now.unix_timestamp();
        if let Some(key) = self.cached_key(name, at)
            && let Some(material) = self.cached_material(&key, key.current_version)
        {
            let result = async {
                self.check_cached(actor, &key, "encrypt", Use::Protect, false)
                    .await?;
                if key.key_type.encrypts() {
                    self.count_encryption(None, &key, key.current_version)
                        .await?;
                }
                seal(&key, &material, aad, plaintext)
            }
            .await;
            return self.finish_queued(actor, "encrypt", name, at, result).await;
        }
        let purpose = Purpose("encrypt", Use::Protect, false);
        self.with_material(
            (actor, name, "encrypt"),
            purpose,
            None,
            now,
            |key, material, _| seal(key, material, aad, plaintext).map(|d| d.value),
        )
        .await
    }

    /// Decrypts a ciphertext from [`Kms::encrypt`] with the version it names.
    pub async fn decrypt(
        &self,
        actor: &str,
        ciphertext: &str,
        aad: &[u8],
        allow_compromised: bool,
        now: OffsetDateTime,
    ) -> Result<Zeroizing<Vec<u8>>, KmsError> {
        let at = now.unix_timestamp();
        let p = match untag(ciphertext, "ciphertext") {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, "decrypt", e, now).await,
        };
        if let Some(key) = self.cached_key(&p.key, at)
            && let Some(material) = self.cached_material(&key, p.version)
        {
            let result = async {
                self.check_cached(actor, &key, "decrypt", Use::Process, allow_compromised)
                    .await?;
                open(&material, &p, aad)
            }
            .await;
            return self
                .finish_queued(actor, "decrypt", &p.key, at, result)
                .await;
        }
        let purpose = Purpose("decrypt", Use::Process, allow_compromised);
        self.with_material(
            (actor, &p.key, "decrypt"),
            purpose,
            Some(p.version),
            now,
            |_, material, _| open(material, &p, aad).map(|d| d.value),
        )
        .await
    }

    /// Moves a ciphertext to the newest version without returning the
    /// plaintext.
    pub async fn rewrap(
        &self,
        actor: &str,
        ciphertext: &str,
        aad: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let at = now.unix_timestamp();
        let p = match untag(ciphertext, "ciphertext") {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, "rewrap", e, now).await,
        };
        let mut tx = self.begin().await?;
        let mut reserved = None;
        let result = async {
            let purpose = Purpose("rewrap", Use::Protect, false);
            let key = self.prepare(&mut tx, actor, &p.key, purpose, at).await?;
            let old = self.material(&mut tx, &key, p.version).await?;
            let plaintext = open(&old, &p, aad)?.value;
            let newest = self.material(&mut tx, &key, key.current_version).await?;
            reserved = self
                .count_encryption(Some(&mut tx), &key, key.current_version)
                .await?;
            seal(&key, &newest, aad, &plaintext)
        }
        .await;
        let value = self
            .finish(tx, (actor, "rewrap", Some(&p.key)), at, result)
            .await?;
        self.gcm_keep(reserved);
        Ok(value)
    }

    /// A fresh AES-256 data key: in the clear for immediate use, and
    /// wrapped under `name` for storage beside the data.
    pub async fn datakey(
        &self,
        actor: &str,
        name: &str,
        aad: &[u8],
        now: OffsetDateTime,
    ) -> Result<(Zeroizing<Vec<u8>>, String), KmsError> {
        let purpose = Purpose("datakey", Use::Protect, false);
        self.with_material(
            (actor, name, "datakey"),
            purpose,
            None,
            now,
            |key, material, _| {
                let fresh = Material::generate(KeyType::Aes256Gcm)?;
                let wrapped = seal(key, material, aad, &fresh.bytes)?;
                Ok((fresh.bytes.clone(), wrapped.value))
            },
        )
        .await
    }

    /// Signs with the newest version (Ed25519 or RSA-PSS-SHA256).
    pub async fn sign(
        &self,
        actor: &str,
        name: &str,
        message: &[u8],
        now: OffsetDateTime,
    ) -> Result<String, KmsError> {
        let purpose = Purpose("sign", Use::Protect, false);
        self.with_material(
            (actor, name, "sign"),
            purpose,
            None,
            now,
            |key, material, version| {
                if !key.key_type.signs() {
                    return Err(KmsError::Unsupported(format!(
                        "key '{name}' is {}: it does not sign",
                        key.key_type
                    )));
                }
                Ok(tag(name, version, &material.sign(message)?))
            },
        )
        .await
    }

    /// Verifies a signature from [`Kms::sign`]; `Ok(false)` when it does not
    /// verify.
    pub async fn verify(
        &self,
        actor: &str,
        message: &[u8],
        signature: &str,
        allow_compromised: bool,
        now: OffsetDateTime,
    ) -> Result<bool, KmsError> {
        let p = match untag(signature, "signature") {
            Ok(p) => p,
            Err(e) => return self.refuse(actor, "verify", e, now).await,
        };
        let purpose = Purpose("verify", Use::Process, allow_compromised);
        self.with_material(
            (actor, &p.key, "verify"),
            purpose,
            Some(p.version),
            now,
            |key, material, _| {
                verify_with_spki(key.key_type, &material.public_spki()?, message, &p.data)
            },
        )
        .await
    }
}

/// Encrypts under `key`'s newest version, which `material` holds.
fn seal(
    key: &KeyInfo,
    material: &Material,
    aad: &[u8],
    plaintext: &[u8],
) -> Result<Done<String>, KmsError> {
    if !key.key_type.encrypts() {
        return Err(KmsError::Unsupported(format!(
            "key '{}' is {}: it does not encrypt",
            key.name, key.key_type
        )));
    }
    let version = key.current_version;
    let sealed = material.encrypt(&data_aad(&key.name, version, aad), plaintext)?;
    Ok(done(tag(&key.name, version, &sealed), Some(version)))
}

/// Decrypts `data` with its version's `material`.
fn open(
    material: &Material,
    data: &Tagged,
    aad: &[u8],
) -> Result<Done<Zeroizing<Vec<u8>>>, KmsError> {
    let plaintext = material.decrypt(&data_aad(&data.key, data.version, aad), &data.data)?;
    Ok(done(plaintext, Some(data.version)))
}
