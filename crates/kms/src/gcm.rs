//! A usage limit for AES-256-GCM keys. With random 96-bit nonces, NIST SP
//! 800-38D §8.3 allows at most 2^32 encryptions under one key; past that
//! the chance of a repeated nonce (which breaks both confidentiality and
//! integrity) is no longer negligible. Each key version counts its
//! encryptions in the store, so the count survives restarts and is shared
//! by every process: a process reserves [`GCM_BLOCK`] invocations at a
//! time with one conditional update, uses them from memory, and reserves
//! again when they run out. Reservations lost in a crash count as used.
//! When a reservation would pass [`GCM_LIMIT`] the encryption is refused
//! and the key must be rotated; its new version starts from zero.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::error::KmsError;
use crate::keys::{KeyInfo, Tx};
use crate::kms::Kms;
use crate::material::KeyType;

/// Encryptions allowed under one AES-GCM key version (NIST SP 800-38D §8.3).
pub const GCM_LIMIT: i64 = 1 << 32;
/// Encryptions reserved from the store at a time.
pub const GCM_BLOCK: i64 = 1 << 16;

/// What this process has reserved and not used yet, per (key, version).
#[derive(Default)]
pub(crate) struct Budgets(Mutex<HashMap<(String, i64), i64>>);

impl Budgets {
    fn take(&self, name: &str, version: i64) -> bool {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match map.get_mut(&(name.to_owned(), version)) {
            Some(left) if *left > 0 => {
                *left -= 1;
                true
            }
            _ => false,
        }
    }

    fn add(&self, name: &str, version: i64, n: i64) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry((name.to_owned(), version)).or_insert(0) += n;
    }
}

/// Invocations reserved inside a transaction: usable once it commits.
pub(crate) struct Reserved {
    name: String,
    version: i64,
}

impl Kms {
    /// Counts one AES-GCM encryption with `version` of `key`; refuses past
    /// [`GCM_LIMIT`]; other key types pass. When this process has no
    /// reserved invocations left it reserves a block: in `tx` when given
    /// (the caller passes what this returns to [`Kms::gcm_keep`] once `tx`
    /// has committed, so a rolled-back reservation is never used), else in
    /// a transaction of its own.
    pub(crate) async fn count_encryption(
        &self,
        tx: Option<&mut Tx<'_>>,
        key: &KeyInfo,
        version: i64,
    ) -> Result<Option<Reserved>, KmsError> {
        if key.key_type != KeyType::Aes256Gcm || self.gcm.take(&key.name, version) {
            return Ok(None);
        }
        let reserve = "UPDATE versions SET invocations = invocations + $1
             WHERE key_name = $2 AND version = $3 AND invocations + $1 <= $4";
        let query = sqlx::query(reserve)
            .bind(GCM_BLOCK)
            .bind(key.name.clone())
            .bind(version)
            .bind(GCM_LIMIT);
        let (moved, deferred) = match tx {
            Some(tx) => (query.execute(&mut **tx).await?.rows_affected(), true),
            None => {
                let mut own = self.db.begin_write().await?;
                let moved = query.execute(&mut *own).await?.rows_affected();
                own.commit().await?;
                (moved, false)
            }
        };
        if moved != 1 {
            return Err(KmsError::KeyState(format!(
                "key '{}' version {version} has reached its limit of 2^32 AES-GCM encryptions (NIST SP 800-38D): rotate the key",
                key.name
            )));
        }
        let reserved = Reserved {
            name: key.name.clone(),
            version,
        };
        if deferred {
            return Ok(Some(reserved));
        }
        self.gcm_keep(Some(reserved));
        Ok(None)
    }

    /// Makes a committed reservation usable (one invocation of it was
    /// spent by the call that made it).
    pub(crate) fn gcm_keep(&self, reserved: Option<Reserved>) {
        if let Some(r) = reserved {
            self.gcm.add(&r.name, r.version, GCM_BLOCK - 1);
        }
    }
}
