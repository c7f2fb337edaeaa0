//! The data path: encrypt and decrypt with a key whose metadata and
//! material this process already holds, without a database round trip.
//!
//! - Key metadata (state, owner, grants, expiry) and the set of revoked
//!   identities are cached for at most [`FRESH_FOR`]; a change made in this
//!   process drops the cached copy at once, a change made by another process
//!   (say, the CLI while a server runs) takes effect within that time.
//!   Anything due at `now` (expiry, destruction) or missing from the cache
//!   goes through the transactional path instead.
//! - Audit entries of data operations are committed before the operation
//!   returns, with group commit: concurrent callers queue their entries,
//!   one of them writes everything queued in one transaction (one fsync),
//!   and each returns once the transaction holding its own entry has
//!   committed. Nothing is acknowledged that a crash could lose.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration as WallDuration, Instant};

use crate::audit::{self, Record};
use crate::error::KmsError;
use crate::keys::{KeyInfo, Tx};
use crate::kms::Kms;
use crate::lifecycle::{Use, permits};

/// How long cached key metadata and revocations are trusted.
pub const FRESH_FOR: WallDuration = WallDuration::from_secs(1);
tokio::task_local! {
    /// Set inside [`Kms::deferring_audit`].
    static DEFERRED: ();
}

/// Most audit entries written in one group-commit transaction.
pub const GROUP_LIMIT: usize = 4096;

/// An audit entry waiting to be chained.
pub(crate) struct Queued {
    pub(crate) at: i64,
    pub(crate) actor: String,
    pub(crate) operation: String,
    pub(crate) key: Option<String>,
    pub(crate) version: Option<i64>,
    pub(crate) outcome: String,
}

/// Audit entries waiting for a group commit, numbered in arrival order.
#[derive(Default)]
struct Queue {
    entries: std::collections::VecDeque<Queued>,
    /// Entries ever queued: the ticket of the newest.
    queued: u64,
    /// Entries ever committed: every ticket up to this one is durable.
    committed: u64,
}

/// The group-commit journal: the queue and the writer's turn.
#[derive(Default)]
pub(crate) struct Journal {
    queue: Mutex<Queue>,
    writer: tokio::sync::Mutex<()>,
}

/// What the data path caches.
#[derive(Default)]
pub(crate) struct FastState {
    keys: Mutex<HashMap<String, (Instant, Arc<KeyInfo>)>>,
    revoked: Mutex<Option<(Instant, Arc<HashSet<String>>)>>,
    pub(crate) journal: Arc<Journal>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FastState {
    /// Remembers a key as just loaded from the database.
    pub(crate) fn remember(&self, key: &KeyInfo) {
        let mut keys = lock(&self.keys);
        if keys.len() >= crate::cache::MATERIAL_ENTRIES {
            // Stale entries are never used again: drop them, so the map is
            // bounded by the keys used within FRESH_FOR.
            keys.retain(|_, (when, _)| when.elapsed() < FRESH_FOR);
        }
        keys.insert(key.name.clone(), (Instant::now(), Arc::new(key.clone())));
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
        let mut tx = self.db.begin_snapshot().await?;
        let set = crate::integrity::revoked(&mut tx, &self.metadata_key).await;
        tx.commit().await?;
        let set = Arc::new(set?);
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
        let allowed = self.is_admin(actor)
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

    /// Records a data-path audit entry and returns once it is committed,
    /// sharing the transaction with whatever else is queued; inside
    /// [`Kms::deferring_audit`] it returns at once and the scope's caller
    /// commits.
    pub(crate) async fn queue_audit(&self, entry: Queued) -> Result<(), KmsError> {
        let ticket = {
            let mut queue = lock(&self.fast.journal.queue);
            queue.entries.push_back(entry);
            queue.queued += 1;
            queue.queued
        };
        if DEFERRED.try_with(|_| ()).is_ok() {
            return Ok(());
        }
        self.commit_through(ticket).await
    }

    /// Runs `work`, letting the data-path audit entries it queues wait for
    /// the caller's next commit instead of one each: a server that audits
    /// each request anyway answers after one commit, not two. The caller
    /// must commit (with [`Kms::audit_event`] outside the scope, or
    /// [`Kms::flush`]) before it acts on what `work` returned; entries are
    /// committed in order, so that commit covers them.
    pub async fn deferring_audit<F: Future>(work: F) -> F::Output {
        DEFERRED.scope((), work).await
    }

    /// Commits every queued audit entry.
    pub async fn flush(&self) -> Result<(), KmsError> {
        let ticket = lock(&self.fast.journal.queue).queued;
        self.commit_through(ticket).await
    }

    /// Returns once entry `ticket` is committed, writing the queue when it
    /// is this caller's turn. The write runs in its own task, so a caller
    /// that goes away (a client that hangs up) does not abort a commit
    /// that others wait for.
    async fn commit_through(&self, ticket: u64) -> Result<(), KmsError> {
        let journal = Arc::clone(&self.fast.journal);
        let db = self.db.clone();
        let key = self.audit_key.clone();
        let task = tokio::spawn(async move {
            while lock(&journal.queue).committed < ticket {
                let _turn = journal.writer.lock().await;
                let (batch, upto) = {
                    let mut queue = lock(&journal.queue);
                    if queue.committed >= ticket {
                        return Ok(());
                    }
                    let n = queue.entries.len().min(GROUP_LIMIT);
                    let batch: Vec<Queued> = queue.entries.drain(..n).collect();
                    (batch, queue.committed + n as u64)
                };
                match write_queued(&db, &key, &batch).await {
                    Ok(()) => lock(&journal.queue).committed = upto,
                    Err(e) => {
                        let mut queue = lock(&journal.queue);
                        for entry in batch.into_iter().rev() {
                            queue.entries.push_front(entry);
                        }
                        return Err(e);
                    }
                }
            }
            Ok(())
        });
        task.await
            .map_err(|e| KmsError::Audit(format!("the audit writer stopped: {e}")))?
    }

    /// A transaction for an operation that changes state; queued data-path
    /// entries are written first, so the chain stays in time order.
    pub(crate) async fn begin(&self) -> Result<Tx<'static>, KmsError> {
        self.flush().await?;
        self.db.begin_write().await
    }
}

/// Appends `pending` to the chain in one transaction.
async fn write_queued(
    db: &crate::store::Db,
    key: &aws_lc_rs::hmac::Key,
    pending: &[Queued],
) -> Result<(), KmsError> {
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
    let mut tx = db.begin_write().await?;
    audit::append_many(&mut tx, db.backend, key, &records).await?;
    tx.commit().await?;
    Ok(())
}
