//! Administration: grants, identity revocation, retiring old versions,
//! changing the passphrase, and reading and checking the audit log.

use sqlx::Row;
use time::OffsetDateTime;

use crate::audit::{self, Entry, Record};
use crate::envelope::{KdfParams, Kek};
use crate::error::KmsError;
use crate::keys;
use crate::kms::{ADMIN, AUDIT_KEY, CHECK, KDF, Kms, done};
use crate::material::KeyType;
use crate::store::{Db, set_meta};

impl Kms {
    /// Lets `identity` perform `operation` with key `name`.
    pub async fn grant(
        &self,
        actor: &str,
        name: &str,
        identity: &str,
        operation: &str,
        now: OffsetDateTime,
    ) -> Result<(), KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            let key = self.load(&mut tx, name, at).await?;
            self.authorize(&mut tx, actor, Some(&key), "manage").await?;
            keys::valid_name(identity)?;
            crate::operations::valid_operation(operation)?;
            sqlx::query(
                "DELETE FROM grants WHERE key_name = $1 AND identity = $2 AND operation = $3",
            )
            .bind(name.to_owned())
            .bind(identity.to_owned())
            .bind(operation.to_owned())
            .execute(&mut *tx)
            .await?;
            sqlx::query("INSERT INTO grants (key_name, identity, operation) VALUES ($1, $2, $3)")
                .bind(name.to_owned())
                .bind(identity.to_owned())
                .bind(operation.to_owned())
                .execute(&mut *tx)
                .await?;
            // The record was checked when loaded above; seal it with the
            // new grant.
            let key = keys::load_unchecked(&mut tx, name).await?;
            crate::integrity::seal_key(&mut tx, &key, &self.metadata_key).await?;
            Ok(done((), None))
        }
        .await;
        self.finish(
            tx,
            (actor, &format!("grant.{operation}:{identity}"), Some(name)),
            at,
            result,
        )
        .await
    }

    /// Revokes an identity: from now on it can neither create keys nor
    /// obtain or use any.
    pub async fn revoke_identity(
        &self,
        actor: &str,
        identity: &str,
        now: OffsetDateTime,
    ) -> Result<(), KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = async {
            self.require_admin(&mut tx, actor, "revokes identities")
                .await?;
            keys::valid_name(identity)?;
            // One statement, so two concurrent revocations of one identity
            // cannot both find it absent and collide on the primary key.
            sqlx::query(
                "INSERT INTO identities (name, revoked_at) VALUES ($1, $2)
                 ON CONFLICT (name) DO UPDATE SET revoked_at = excluded.revoked_at",
            )
            .bind(identity.to_owned())
            .bind(at)
            .execute(&mut *tx)
            .await?;
            crate::integrity::seal_identities(&mut tx, &self.metadata_key, self.db.backend).await?;
            Ok(done((), None))
        }
        .await;
        self.finish(
            tx,
            (actor, &format!("identity.revoke:{identity}"), None),
            at,
            result,
        )
        .await
    }

    /// Rewraps every key version, every TOTP secret, the passphrase check
    /// and the audit key under a KEK from `new_passphrase`, in one
    /// transaction.
    pub async fn change_passphrase(
        &mut self,
        new_passphrase: &[u8],
        memory_kib: u32,
        now: OffsetDateTime,
    ) -> Result<(), KmsError> {
        let params = KdfParams::new(memory_kib);
        let new_kek = Kek::derive(new_passphrase, &params)?;
        let mut tx = self.begin().await?;
        self.fence_exclusive(&mut tx).await?;
        self.no_live_lease(&mut tx).await?;
        let rows = sqlx::query("SELECT v.key_name, v.version, v.wrapped, k.key_type FROM versions v JOIN keys k ON k.name = v.key_name WHERE v.wrapped IS NOT NULL")
            .fetch_all(&mut *tx).await?;
        for row in rows {
            let name: String = row.try_get(0)?;
            let version: i64 = row.try_get(1)?;
            let wrapped: Vec<u8> = row.try_get(2)?;
            let key_type: String = row.try_get(3)?;
            let key_type: KeyType = key_type.parse().map_err(KmsError::Store)?;
            let material = self.kek.unwrap(&name, version, key_type, &wrapped)?;
            sqlx::query("UPDATE versions SET wrapped = $1 WHERE key_name = $2 AND version = $3")
                .bind(new_kek.wrap(&name, version, &material)?)
                .bind(name)
                .bind(version)
                .execute(&mut *tx)
                .await?;
        }
        let secrets = sqlx::query("SELECT identity, secret FROM mfa")
            .fetch_all(&mut *tx)
            .await?;
        for row in secrets {
            let identity: String = row.try_get(0)?;
            let wrapped: Vec<u8> = row.try_get(1)?;
            let label = format!("mfa:{identity}");
            let secret = self.kek.unwrap(&label, 0, KeyType::Aes256Gcm, &wrapped)?;
            sqlx::query("UPDATE mfa SET secret = $1 WHERE identity = $2")
                .bind(new_kek.wrap(&label, 0, &secret)?)
                .bind(identity)
                .execute(&mut *tx)
                .await?;
        }
        let audit_wrapped: String = sqlx::query("SELECT value FROM meta WHERE name = $1")
            .bind(AUDIT_KEY)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let audit_wrapped = hex::decode(audit_wrapped)
            .map_err(|_| KmsError::Store("audit key is not hex".into()))?;
        let audit_material = self
            .kek
            .unwrap("audit", 0, KeyType::Aes256Gcm, &audit_wrapped)?;
        let json = serde_json::to_string(&params).map_err(|e| KmsError::Store(e.to_string()))?;
        set_meta(&mut tx, KDF, &json).await?;
        let check = hex::encode(new_kek.check_blob()?);
        set_meta(&mut tx, CHECK, &check).await?;
        set_meta(
            &mut tx,
            AUDIT_KEY,
            &hex::encode(new_kek.wrap("audit", 0, &audit_material)?),
        )
        .await?;
        let entry = Record {
            at: now.unix_timestamp(),
            actor: ADMIN,
            operation: "passphrase.change",
            key: None,
            version: None,
            outcome: "ok",
        };
        audit::append(&mut tx, self.db.backend, &self.audit_key, &entry).await?;
        tx.commit().await?;
        self.kek = new_kek;
        self.check = check;
        Ok(())
    }

    /// Checks the audit chain in one snapshot of the store, streaming;
    /// returns how many entries it holds.
    pub async fn audit_verify(&self) -> Result<usize, KmsError> {
        self.flush().await?;
        audit::verify(&self.db, &self.audit_key).await
    }

    /// The authenticated head of the log, `COUNT:HASH`: kept outside the
    /// database, it lets [`Kms::audit_contains`] detect a rollback of the
    /// whole store.
    pub async fn audit_head(&self) -> Result<String, KmsError> {
        self.flush().await?;
        audit::head(&self.db, &self.audit_key).await
    }

    /// Whether the log still holds the entry a kept head (`COUNT:HASH`)
    /// names.
    pub async fn audit_contains(&self, head: &str) -> Result<bool, KmsError> {
        let (seq, hash) = head
            .trim()
            .split_once(':')
            .and_then(|(seq, hash)| Some((seq.parse::<i64>().ok()?, hash)))
            .ok_or_else(|| {
                KmsError::Malformed(format!(
                    "'{}' is not a head: give COUNT:HASH as `audit head` printed it",
                    crate::audit::clean(head)
                ))
            })?;
        audit::contains(&self.db, seq, hash).await
    }

    /// Calls `each` with every audit entry, oldest first, from one
    /// snapshot, holding one block in memory at a time.
    pub async fn audit_each(
        &self,
        each: impl FnMut(Entry) -> Result<(), KmsError>,
    ) -> Result<(), KmsError> {
        self.flush().await?;
        let mut tx = self.db.begin_snapshot().await?;
        audit::for_each(&mut tx, each).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Every audit entry, oldest first.
    pub async fn audit_entries(&self) -> Result<Vec<Entry>, KmsError> {
        let mut out = Vec::new();
        self.audit_each(|e| {
            out.push(e);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// The database (for tests that tamper with it).
    pub fn db(&self) -> &Db {
        &self.db
    }
}
