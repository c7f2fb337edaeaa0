//! Keeping a passphrase change from losing what running servers write.
//!
//! A server derives the KEK once, at start. If the passphrase changed
//! underneath it, whatever it wrapped afterwards (a new key, a rotation, a
//! TOTP secret) would be wrapped under the old KEK, acknowledged, and
//! unreadable after a restart. Two rules prevent it:
//!
//! - **Leases.** A server holds a lease on the store, renewed while it runs
//!   and released when it stops; `change_passphrase` is refused while a
//!   live lease exists. A server cannot simply reload: it would need the
//!   new passphrase, which it does not have.
//! - **Fencing.** Every transaction that wraps under the KEK first reads
//!   the stored passphrase check (locked, on PostgreSQL: `FOR SHARE`, and
//!   `FOR UPDATE` in the change itself; SQLite serialises writers) and
//!   refuses when it is not the one this process opened the store with.
//!   This holds even when a lease lapsed (a server paused for longer than
//!   [`LEASE_FOR`]), so nothing is acknowledged under a stale KEK.

use std::time::Duration;

use sqlx::Row;
use time::OffsetDateTime;

use crate::error::KmsError;
use crate::keys::Tx;
use crate::kms::{CHECK, Kms};
use crate::store::Backend;

/// How long a lease lasts unless renewed; holders renew it every third of
/// this.
pub const LEASE_FOR: Duration = Duration::from_secs(15);

impl Kms {
    /// Refuses when the stored passphrase check is not this process's.
    pub(crate) async fn fence(&self, tx: &mut Tx<'_>) -> Result<(), KmsError> {
        self.fence_with(tx, " FOR SHARE").await
    }

    /// [`Kms::fence`] with the check row locked for update.
    pub(crate) async fn fence_exclusive(&self, tx: &mut Tx<'_>) -> Result<(), KmsError> {
        self.fence_with(tx, " FOR UPDATE").await
    }

    async fn fence_with(&self, tx: &mut Tx<'_>, lock: &str) -> Result<(), KmsError> {
        let lock = if self.db.backend == Backend::Postgres {
            lock
        } else {
            ""
        };
        let stored: Option<String> =
            sqlx::query(&format!("SELECT value FROM meta WHERE name = $1{lock}"))
                .bind(CHECK)
                .fetch_optional(&mut **tx)
                .await?
                .map(|r| r.try_get(0))
                .transpose()?;
        if stored.as_deref() == Some(self.check.as_str()) {
            Ok(())
        } else {
            Err(KmsError::PassphraseChanged)
        }
    }

    /// Takes or renews the lease of `holder` until [`LEASE_FOR`] from now.
    pub async fn hold_lease(&self, holder: &str) -> Result<(), KmsError> {
        let until = OffsetDateTime::now_utc().unix_timestamp()
            + i64::try_from(LEASE_FOR.as_secs()).unwrap_or(i64::MAX);
        let mut tx = self.db.begin_write().await?;
        self.fence(&mut tx).await?;
        sqlx::query(
            "INSERT INTO leases (holder, expires_at) VALUES ($1, $2)
             ON CONFLICT (holder) DO UPDATE SET expires_at = excluded.expires_at",
        )
        .bind(holder.to_owned())
        .bind(until)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Gives the lease of `holder` up.
    pub async fn release_lease(&self, holder: &str) -> Result<(), KmsError> {
        sqlx::query("DELETE FROM leases WHERE holder = $1")
            .bind(holder.to_owned())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// Refuses while someone holds a live lease (by the wall clock, which
    /// the holders renew by).
    pub(crate) async fn no_live_lease(&self, tx: &mut Tx<'_>) -> Result<(), KmsError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let holder: Option<(String, i64)> = sqlx::query(
            "SELECT holder, expires_at FROM leases WHERE expires_at > $1 ORDER BY holder",
        )
        .bind(now)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| Ok::<_, sqlx::Error>((r.try_get(0)?, r.try_get(1)?)))
        .transpose()?;
        match holder {
            None => Ok(()),
            Some((holder, until)) => Err(KmsError::InUse(format!(
                "'{}' holds this key store (lease until {}s from now): stop it, then change the passphrase and start it with the new one",
                crate::audit::clean(&holder),
                until - now
            ))),
        }
    }
}
