//! The key-management service: opening the store under its passphrase,
//! creating keys, moving them through their lifecycle, access control, and
//! the audit entry every operation leaves, in the same transaction as the
//! change it records.

use aws_lc_rs::hmac;
use time::{Duration, OffsetDateTime};

use crate::audit::{self, Record};
use crate::envelope::{KdfParams, Kek};
use crate::error::KmsError;
use crate::keys::{self, KeyInfo, Tx};
use crate::lifecycle::State;
use crate::material::{KeyType, Material};
use crate::store::{Db, set_meta};

/// The operator identity of the command line: always holds the admin
/// role. Other identities hold it when [`Kms::set_admins`] names them.
pub const ADMIN: &str = "admin";

/// A key to create.
#[derive(Clone, Debug)]
pub struct NewKey {
    /// Its name.
    pub name: String,
    /// Its type.
    pub key_type: KeyType,
    /// Its owner; the caller when `None`.
    pub owner: Option<String>,
    /// Deactivate by itself this long after creation.
    pub expires_in: Option<Duration>,
    /// Rotate when this much time has passed since the newest version.
    pub rotate_every: Option<Duration>,
    /// Start pre-active instead of active.
    pub pre_active: bool,
}

/// An open key store.
pub struct Kms {
    pub(crate) db: Db,
    pub(crate) kek: Kek,
    pub(crate) audit_key: hmac::Key,
    /// Authenticates key records and revocations (see `integrity`).
    pub(crate) metadata_key: hmac::Key,
    pub(crate) cache: crate::cache::MaterialCache,
    pub(crate) fast: crate::fast::FastState,
    /// Identities with the admin role besides [`ADMIN`] (see
    /// [`Kms::set_admins`]).
    pub(crate) admins: std::sync::RwLock<std::collections::BTreeSet<String>>,
    /// AES-GCM encryptions reserved and not used yet (see `gcm`).
    pub(crate) gcm: crate::gcm::Budgets,
    /// The passphrase check this process's KEK made or verified (hex): a
    /// different one in the store means the passphrase changed since.
    pub(crate) check: String,
}

impl std::fmt::Debug for Kms {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kms")
            .field("db", &self.db.backend)
            .finish_non_exhaustive()
    }
}

/// What an operation produced, and the key version it used.
pub(crate) struct Done<T> {
    pub(crate) value: T,
    pub(crate) version: Option<i64>,
}

pub(crate) fn done<T>(value: T, version: Option<i64>) -> Done<T> {
    Done { value, version }
}

pub(crate) const KDF: &str = "kdf";
pub(crate) const CHECK: &str = "passphrase_check";
pub(crate) const AUDIT_KEY: &str = "audit_key";

async fn audit_key(db: &Db, kek: &Kek) -> Result<hmac::Key, KmsError> {
    let wrapped = db
        .meta(AUDIT_KEY)
        .await?
        .ok_or_else(|| KmsError::Store("the audit key is missing".into()))?;
    let wrapped =
        hex::decode(wrapped).map_err(|_| KmsError::Store("audit key is not hex".into()))?;
    let material = kek.unwrap("audit", 0, KeyType::Aes256Gcm, &wrapped)?;
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &material.bytes))
}

impl Kms {
    /// Creates a key store at `location` under `passphrase`, with Argon2id
    /// using `memory_kib` of memory.
    pub async fn init(location: &str, passphrase: &[u8], memory_kib: u32) -> Result<Kms, KmsError> {
        let db = Db::connect(location, true).await?;
        if db.meta(KDF).await?.is_some() {
            return Err(KmsError::Store(format!(
                "{location} already holds a key store: open it, or choose another --db"
            )));
        }
        let params = KdfParams::new(memory_kib);
        let kek = Kek::derive(passphrase, &params)?;
        let audit = Material::generate(KeyType::Aes256Gcm)?;
        let mut tx = db.begin_write().await?;
        let json = serde_json::to_string(&params).map_err(|e| KmsError::Store(e.to_string()))?;
        set_meta(&mut tx, KDF, &json).await?;
        let check = hex::encode(kek.check_blob()?);
        set_meta(&mut tx, CHECK, &check).await?;
        set_meta(
            &mut tx,
            AUDIT_KEY,
            &hex::encode(kek.wrap("audit", 0, &audit)?),
        )
        .await?;
        let audit_key = hmac::Key::new(hmac::HMAC_SHA256, &audit.bytes);
        audit::init_head(&mut tx, &audit_key).await?;
        let metadata_key = crate::integrity::metadata_key(&audit_key);
        crate::integrity::seal_store(&mut tx, &metadata_key).await?;
        tx.commit().await?;
        Ok(Kms {
            db,
            kek,
            metadata_key: crate::integrity::metadata_key(&audit_key),
            audit_key,
            cache: Default::default(),
            fast: crate::fast::FastState::default(),
            admins: Default::default(),
            gcm: Default::default(),
            check,
        })
    }

    /// Opens an existing key store; a wrong passphrase is named as such.
    pub async fn open(location: &str, passphrase: &[u8]) -> Result<Kms, KmsError> {
        let db = Db::connect(location, false).await?;
        let params = db.meta(KDF).await?.ok_or_else(|| {
            KmsError::Store(format!(
                "{location} holds no key store: create one with `pkilab kms --db {location} init`"
            ))
        })?;
        let params: KdfParams = serde_json::from_str(&params)
            .map_err(|e| KmsError::Store(format!("stored KDF parameters: {e}")))?;
        let kek = Kek::derive(passphrase, &params)?;
        let check = db
            .meta(CHECK)
            .await?
            .ok_or_else(|| KmsError::Store("the passphrase check is missing".into()))?;
        kek.verify(
            &hex::decode(&check)
                .map_err(|_| KmsError::Store("the passphrase check is not hex".into()))?,
        )?;
        let audit_key = audit_key(&db, &kek).await?;
        let metadata_key = crate::integrity::metadata_key(&audit_key);
        let mut tx = db.begin_write().await?;
        crate::integrity::seal_store(&mut tx, &metadata_key).await?;
        tx.commit().await?;
        Ok(Kms {
            db,
            kek,
            metadata_key: crate::integrity::metadata_key(&audit_key),
            audit_key,
            cache: Default::default(),
            fast: crate::fast::FastState::default(),
            admins: Default::default(),
            gcm: Default::default(),
            check,
        })
    }

    /// Runs the audit trail for an operation's result: on success the entry
    /// joins `tx` and commits with it; on refusal `tx` is rolled back and
    /// the refusal is recorded on its own.
    pub(crate) async fn finish<T>(
        &self,
        mut tx: Tx<'_>,
        record: (&str, &str, Option<&str>),
        now: i64,
        result: Result<Done<T>, KmsError>,
    ) -> Result<T, KmsError> {
        let (actor, operation, key) = record;
        match result {
            Ok(done) => {
                let entry = Record {
                    at: now,
                    actor,
                    operation,
                    key,
                    version: done.version,
                    outcome: "ok",
                };
                audit::append(&mut tx, self.db.backend, &self.audit_key, &entry).await?;
                tx.commit().await?;
                if let Some(name) = key
                    && (operation.starts_with("key.") || operation.starts_with("grant."))
                {
                    self.fast.forget(name);
                }
                if operation.starts_with("identity.") {
                    self.fast.forget_revocations();
                }
                Ok(done.value)
            }
            Err(error) => {
                tx.rollback().await?;
                let outcome = format!("refused: {error}");
                let entry = Record {
                    at: now,
                    actor,
                    operation,
                    key,
                    version: None,
                    outcome: &outcome,
                };
                let mut tx = self.db.begin_write().await?;
                audit::append(&mut tx, self.db.backend, &self.audit_key, &entry).await?;
                tx.commit().await?;
                Err(error)
            }
        }
    }

    /// Records a refusal inside `tx` and commits it with whatever `tx`
    /// changed (a failure count that must survive the refusal).
    pub(crate) async fn refuse_committing<T>(
        &self,
        mut tx: Tx<'_>,
        (actor, operation): (&str, &str),
        now: i64,
        error: KmsError,
    ) -> Result<T, KmsError> {
        let outcome = format!("refused: {error}");
        let entry = Record {
            at: now,
            actor,
            operation,
            key: None,
            version: None,
            outcome: &outcome,
        };
        audit::append(&mut tx, self.db.backend, &self.audit_key, &entry).await?;
        tx.commit().await?;
        Err(error)
    }

    /// Loads a key inside `tx`, recording expiry or destruction that came due.
    pub(crate) async fn load(
        &self,
        tx: &mut Tx<'_>,
        name: &str,
        now: i64,
    ) -> Result<KeyInfo, KmsError> {
        let (key, events) =
            keys::load(tx, name, now, (&self.metadata_key, self.db.backend)).await?;
        self.fast.remember(&key);
        for event in events {
            let entry = Record {
                at: now,
                actor: "kms",
                operation: event,
                key: Some(name),
                version: None,
                outcome: "ok",
            };
            audit::append(tx, self.db.backend, &self.audit_key, &entry).await?;
            if event == "key.destroyed" {
                self.forget(name);
            }
        }
        Ok(key)
    }

    fn forget(&self, name: &str) {
        self.cache.forget(name);
    }

    /// Refuses revoked identities (admins included), and callers that
    /// neither hold the admin role, nor own the key, nor hold a grant for
    /// `operation` on it.
    pub(crate) async fn authorize(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        key: Option<&KeyInfo>,
        operation: &str,
    ) -> Result<(), KmsError> {
        self.refuse_revoked(tx, actor).await?;
        match key {
            None => Ok(()),
            Some(_) if self.is_admin(actor) => Ok(()),
            Some(k) if k.owner == actor => Ok(()),
            Some(k)
                if k.grants
                    .iter()
                    .any(|(who, op)| who == actor && op == operation) =>
            {
                Ok(())
            }
            Some(k) => Err(KmsError::forbidden(actor, operation, &k.name)),
        }
    }

    /// Creates a key with its first version.
    pub async fn create(
        &self,
        actor: &str,
        new: &NewKey,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        self.create_with(actor, new, None, now).await
    }

    /// Creates a key whose first version is `material` (imported), or fresh
    /// material when `None`.
    pub async fn create_with(
        &self,
        actor: &str,
        new: &NewKey,
        material: Option<Material>,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        let result = self.create_in(&mut tx, actor, new, material, at).await;
        self.finish(tx, (actor, "key.create", Some(&new.name)), at, result)
            .await
    }

    async fn create_in(
        &self,
        tx: &mut Tx<'_>,
        actor: &str,
        new: &NewKey,
        material: Option<Material>,
        at: i64,
    ) -> Result<Done<KeyInfo>, KmsError> {
        keys::valid_name(&new.name)?;
        self.authorize(tx, actor, None, "create").await?;
        if let Some(owner) = &new.owner {
            keys::valid_name(owner)?;
            if owner != actor && !self.is_admin(actor) {
                return Err(KmsError::Forbidden(format!(
                    "'{actor}' may create keys for itself only: creating one for '{owner}' needs the admin role"
                )));
            }
        }
        let positive = |d: Option<Duration>, what: &str| match d {
            Some(d) if d <= Duration::ZERO => {
                Err(KmsError::Malformed(format!("{what} must be positive")))
            }
            _ => Ok(d.map(|d| d.whole_seconds())),
        };
        let key = KeyInfo {
            name: new.name.clone(),
            key_type: new.key_type,
            owner: new.owner.clone().unwrap_or_else(|| actor.to_owned()),
            state: if new.pre_active {
                State::PreActive
            } else {
                State::Active
            },
            created_at: at,
            expires_at: positive(new.expires_in, "--expires-in")?.map(|s| at + s),
            rotate_every: positive(new.rotate_every, "--rotate-every")?,
            rotated_at: at,
            destroy_at: None,
            min_decrypt_version: 1,
            current_version: 1,
            grants: Vec::new(),
        };
        match keys::load(tx, &new.name, at, (&self.metadata_key, self.db.backend)).await {
            Err(KmsError::UnknownKey(_)) => {}
            Err(e) => return Err(e),
            Ok(_) => return Err(KmsError::Duplicate(new.name.clone())),
        }
        self.fence(tx).await?;
        let material = match material {
            Some(m) if m.key_type == new.key_type => m,
            Some(m) => {
                return Err(KmsError::Malformed(format!(
                    "imported {} material for a {} key",
                    m.key_type, new.key_type
                )));
            }
            None => Material::generate(new.key_type)?,
        };
        keys::insert(tx, &key).await?;
        keys::insert_version(
            tx,
            &key.name,
            1,
            self.kek.wrap(&key.name, 1, &material)?,
            at,
        )
        .await?;
        crate::integrity::seal_key(tx, &key, &self.metadata_key).await?;
        Ok(done(key, Some(1)))
    }

    /// Every key `actor` may see (all of them for the admin role; else
    /// those it owns or holds a grant on), as of `now`.
    pub async fn list(&self, actor: &str, now: OffsetDateTime) -> Result<Vec<KeyInfo>, KmsError> {
        let at = now.unix_timestamp();
        let mut tx = self.begin().await?;
        self.refuse_revoked(&mut tx, actor).await?;
        let mut out = Vec::new();
        for name in keys::names(&mut tx).await? {
            let key = self.load(&mut tx, &name, at).await?;
            if self.may_see(actor, &key) {
                out.push(key);
            }
        }
        tx.commit().await?;
        Ok(out)
    }

    /// One key, as of `now`, if `actor` may see it.
    pub async fn show(
        &self,
        actor: &str,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<KeyInfo, KmsError> {
        let mut tx = self.begin().await?;
        self.refuse_revoked(&mut tx, actor).await?;
        let key = self.load(&mut tx, name, now.unix_timestamp()).await?;
        tx.commit().await?;
        if !self.may_see(actor, &key) {
            return Err(KmsError::Forbidden(format!(
                "'{actor}' has no access to key '{name}'"
            )));
        }
        Ok(key)
    }

    /// Rotates every active key whose `rotate_every` has passed; returns
    /// their names.
    pub async fn rotate_due(
        &self,
        actor: &str,
        now: OffsetDateTime,
    ) -> Result<Vec<String>, KmsError> {
        let at = now.unix_timestamp();
        let mut rotated = Vec::new();
        for key in self.list(actor, now).await? {
            let due = key
                .rotate_every
                .is_some_and(|every| key.rotated_at + every <= at);
            if due && key.state == State::Active {
                self.rotate(actor, &key.name, now).await?;
                rotated.push(key.name);
            }
        }
        Ok(rotated)
    }
}
