//! The data path: encrypt and decrypt with a key whose metadata and
//! material this process already holds, without a database round trip.
//!
//! - Key metadata (state, owner, grants, expiry) and the set of revoked
//!   identities are cached for at most [`FRESH_FOR`]; a change made in this
//!   process drops the cached copy at once, a change made by another process
//!   (say, the CLI while a server runs) takes effect within that time.
//!   Anything due at `now` (expiry, destruction) or missing from the cache
//!   goes through the transactional path instead.
//! - Audit entries of data operations are queued and appended to the chain
//!   in one transaction (group commit): when [`QUEUE_LIMIT`] are waiting,
//!   when the oldest has waited [`QUEUE_AGE`], before any other operation,
//!   and on [`Kms::flush`]. A crash loses at most that window of data-path
//!   entries; every change of state is audited in its own transaction.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration as WallDuration, Instant};

use sqlx::Row;

use crate::audit::{self, Record};
use crate::error::KmsError;
use crate::keys::{KeyInfo, Tx};
use crate::kms::{ADMIN, Kms};
use crate::lifecycle::{Use, permits};

/// How long cached key metadata and revocations are trusted.
pub const FRESH_FOR: WallDuration = WallDuration::from_secs(1);
/// Queued audit entries that trigger a write.
pub const QUEUE_LIMIT: usize = 4096;
/// Age of the oldest queued entry that triggers a write.
pub const QUEUE_AGE: WallDuration = WallDuration::from_millis(200);

/// An audit entry waiting to be chained.
pub(crate) struct Queued {
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) operation: String,
    pub(crate) key: Option<String>,
    pub(crate) version: Option<i64>,
    pub(crate) outcome: String,
}

/// What the data path caches.
#[derive(Default)]
pub(crate) struct FastState {
    keys: Mutex<HashMap<String, (Instant, Arc<KeyInfo>)>>,
    revoked: Mutex<Option<(Instant, Arc<HashSet<String>>)>>,
    queue: Mutex<(Vec<Queued>, Option<Instant>)>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FastState {
    /// Remembers a key as just loaded from the database.
    pub(crate) fn remember(&self, key: &KeyInfo) {
        lock(&self.keys).insert(key.name.clone(), (Instant::now(), Arc::new(key.clone())));
    }

    /// Drops a key's cached metadata.
    pub(crate) fn forget(&self, name: &str) {
        lock(&self.keys).remove(name);
    }

    /// Drops the cached revocations.
    pub(crate) fn forget_revocations(&self) {
        *lock(&self.revoked) = None;
    }

    fn key(&self, name: &str) -> Option<Arc<KeyInfo>> {
        lock(&self.keys)
            .get(name)
            .filter(|(when, _)| when.elapsed() < FRESH_FOR)
            .map(|(_, key)| Arc::clone(key))
    }
}

impl Kms {
    async fn revoked_identities(&self) -> Result<Arc<HashSet<String>>, KmsError> {
        if let Some((when, set)) = lock(&self.fast.revoked).as_ref()
            && when.elapsed() < FRESH_FOR
        {
            return Ok(Arc::clone(set));
        }
        let rows = sqlx::query("SELECT name FROM identities WHERE revoked_at IS NOT NULL")
            .fetch_all(&self.db.pool)
            .await?;
        let set: HashSet<String> = rows
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, sqlx::Error>>()?;
        let set = Arc::new(set);
        *lock(&self.fast.revoked) = Some((Instant::now(), Arc::clone(&set)));
        Ok(set)
    }

    /// The cached key, if fresh and nothing about it comes due at `at`.
    pub(crate) fn cached_key(&self, name: &str, at: i64) -> Option<Arc<KeyInfo>> {
        self.fast
            .key(name)
            .filter(|k| k.expires_at.is_none_or(|t| t > at) && k.destroy_at.is_none_or(|t| t > at))
    }

    /// Access and state checks from cached data, as the transactional path
    /// makes them from the database.
    pub(crate) async fn check_cached(
        &self,
        actor: &str,
        key: &KeyInfo,
        operation: &str,
        use_: Use,
        allow_compromised: bool,
    ) -> Result<(), KmsError> {
        if self.revoked_identities().await?.contains(actor) {
            return Err(KmsError::RevokedIdentity(actor.to_owned()));
        }
        let allowed = actor == ADMIN
            || key.owner == actor
            || key
                .grants
                .iter()
                .any(|(who, op)| who == actor && op == operation);
        if !allowed {
            return Err(KmsError::forbidden(actor, operation, &key.name));
        }
        permits(key.state, use_, allow_compromised)
            .map_err(|why| KmsError::KeyState(format!("key '{}': {why}", key.name)))
    }

    /// Queues a data-path audit entry, writing the queue when it is full or
    /// old enough.
    pub(crate) async fn queue_audit(&self, entry: Queued) -> Result<(), KmsError> {
        let due = {
            let mut queue = lock(&self.fast.queue);
            queue.1.get_or_insert_with(Instant::now);
            queue.0.push(entry);
            queue.0.len() >= QUEUE_LIMIT || queue.1.is_some_and(|t| t.elapsed() >= QUEUE_AGE)
        };
        if due {
            self.flush().await?;
        }
        Ok(())
    }

    /// Appends every queued audit entry to the chain, in one transaction.
    pub async fn flush(&self) -> Result<(), KmsError> {
        let pending = {
            let mut queue = lock(&self.fast.queue);
            queue.1 = None;
            std::mem::take(&mut queue.0)
        };
        if pending.is_empty() {
            return Ok(());
        }
        let result = self.write_queued(&pending).await;
        if result.is_err() {
            let mut queue = lock(&self.fast.queue);
            let later = std::mem::replace(&mut queue.0, pending);
            queue.0.extend(later);
            queue.1.get_or_insert_with(Instant::now);
        }
        result
    }

    async fn write_queued(&self, pending: &[Queued]) -> Result<(), KmsError> {
        let records: Vec<Record<'_>> = pending
            .iter()
            .map(|q| Record {
                at: q.at,
                actor: &q.actor,
                operation: &q.operation,
                key: q.key.as_deref(),
                version: q.version,
                outcome: &q.outcome,
            })
            .collect();
        let mut tx = self.db.pool.begin().await?;
        audit::append_many(&mut tx, self.db.backend, &self.audit_key, &records).await?;
        tx.commit().await?;
        Ok(())
    }

    /// A transaction for an operation that changes state; queued data-path
    /// entries are written first, so the chain stays in time order.
    pub(crate) async fn begin(&self) -> Result<Tx<'static>, KmsError> {
        self.flush().await?;
        Ok(self.db.pool.begin().await?)
    }
}
