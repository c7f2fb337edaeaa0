//! The CA's transparency log: every certificate it issues is appended to
//! `DIR/log/` before it is handed out, under a log key of its own.
//!
//! ```text
//! DIR/log.key   the log's Ed25519 key (encrypted PKCS#8, like the CA keys)
//! DIR/log.pub   its public key (PEM), for relying parties and monitors
//! DIR/log/      entries, leaf hashes and the signed checkpoint
//! ```

use std::path::Path;

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey};
use ed25519_dalek::{SigningKey, VerifyingKey};
use pkilab_tlog::Log;

use super::{CaStore, StoreError};
use crate::disk::{read, write_atomic};
use crate::encrypted_key::{decrypt_pkcs8, encrypt_pkcs8};
use crate::error::InputError;

/// The log's public key file in a CA directory.
pub const LOG_PUBLIC_KEY: &str = "log.pub";

/// A log name (the checkpoint's origin and the note key's name) from a CA
/// name: no spaces or `+`, which signed notes forbid in key names.
pub fn origin_for(ca_name: &str) -> String {
    let name: String = ca_name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("pkilab/{name}")
}

/// Reads a log's public key (PEM SubjectPublicKeyInfo).
pub fn read_log_key(path: &Path) -> Result<VerifyingKey, StoreError> {
    let bytes = read(path)?;
    let text = String::from_utf8_lossy(&bytes);
    VerifyingKey::from_public_key_pem(&text).map_err(|e| StoreError::Corrupt {
        path: path.to_owned(),
        detail: format!("not an Ed25519 public key in PEM: {e}"),
    })
}

/// Opens the log of the CA in `dir`, checked against its public key.
pub fn open_log(dir: &Path) -> Result<Log, StoreError> {
    let key = read_log_key(&dir.join(LOG_PUBLIC_KEY))?;
    Ok(Log::open(&dir.join("log"), &key)?)
}

impl CaStore {
    /// Creates the log with a fresh key.
    pub(super) fn create_log(
        &self,
        origin: &str,
        passphrase: &[u8],
        iterations: u32,
    ) -> Result<(), StoreError> {
        let mut seed = zeroize::Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(&mut seed[..]).map_err(|_| crate::Error::Signing("random".into()))?;
        let key = SigningKey::from_bytes(&seed);
        let pkcs8 = key
            .to_pkcs8_der()
            .map_err(|e| crate::Error::Signing(format!("log key: {e}")))?;
        let encrypted = encrypt_pkcs8(pkcs8.as_bytes(), passphrase, iterations)?;
        write_atomic(&self.dir.join("log.key"), encrypted.as_bytes(), true)?;
        let spki = spki_pem(&key.verifying_key())?;
        write_atomic(&self.dir.join(LOG_PUBLIC_KEY), spki.as_bytes(), false)?;
        Log::create(&self.dir.join("log"), origin, &key)?;
        Ok(())
    }

    /// Appends a certificate to the log, when the CA has one; returns its
    /// index.
    pub(super) fn log_certificate(
        &self,
        der: &[u8],
        passphrase: &[u8],
    ) -> Result<Option<u64>, StoreError> {
        let key_path = self.dir.join("log.key");
        if !key_path.exists() {
            return Ok(None);
        }
        let pkcs8 = decrypt_pkcs8(&read(&key_path)?, passphrase).map_err(|e| match e {
            crate::Error::Input(InputError::WrongPassphrase) => {
                StoreError::WrongPassphrase(key_path.clone())
            }
            other => other.into(),
        })?;
        let key = SigningKey::from_pkcs8_der(&pkcs8).map_err(|e| StoreError::Corrupt {
            path: key_path.clone(),
            detail: format!("not an Ed25519 key: {e}"),
        })?;
        let mut log = open_log(&self.dir)?;
        Ok(Some(log.append(der, &key)?))
    }
}

fn spki_pem(key: &VerifyingKey) -> Result<String, StoreError> {
    use ed25519_dalek::pkcs8::EncodePublicKey;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| crate::Error::Signing(format!("log public key: {e}")).into())
}
