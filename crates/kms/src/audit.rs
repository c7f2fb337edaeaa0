//! The audit log: one entry per operation (who, what, which key and
//! version, outcome, when), each hashing the one before it. Entries are
//! stored in blocks, one row per write (a state change writes a block of
//! one; queued data-path entries are written as one block), so a group
//! commit costs one INSERT however many entries it holds. The newest
//! entry's sequence number and hash are kept in `meta`, authenticated with
//! an HMAC key that is itself wrapped under the passphrase, so deleting
//! entries from the end is caught too. Entries never hold key material or
//! plaintext.

use aws_lc_rs::{digest, hmac};
use serde::{Deserialize, Serialize};
use sqlx::Row;

use crate::error::KmsError;
use crate::store::{Backend, Db, set_meta};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HEAD: &str = "audit_head";

/// One audit entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// Unix seconds.
    pub at: i64,
    /// Who asked.
    pub actor: String,
    /// What was asked (`encrypt`, `key.rotate`, …).
    pub operation: String,
    /// The key, if any.
    pub key: Option<String>,
    /// The key version, if any.
    pub version: Option<i64>,
    /// `ok`, or `refused: <reason>`.
    pub outcome: String,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// What an entry records, before it is chained.
#[derive(Clone, Debug)]
pub struct Record<'a> {
    /// Unix seconds.
    pub at: i64,
    /// Who asked.
    pub actor: &'a str,
    /// What was asked.
    pub operation: &'a str,
    /// The key, if any.
    pub key: Option<&'a str>,
    /// The key version, if any.
    pub version: Option<i64>,
    /// `ok` or `refused: …`.
    pub outcome: &'a str,
}

fn field(context: &mut digest::Context, bytes: &[u8]) {
    context.update(&(bytes.len() as u64).to_be_bytes());
    context.update(bytes);
}

fn entry_hash(prev: &str, seq: i64, r: &Record<'_>) -> String {
    let mut context = digest::Context::new(&digest::SHA256);
    field(&mut context, b"pkilab-kms/1 audit");
    field(&mut context, prev.as_bytes());
    field(&mut context, &seq.to_be_bytes());
    field(&mut context, &r.at.to_be_bytes());
    field(&mut context, r.actor.as_bytes());
    field(&mut context, r.operation.as_bytes());
    field(&mut context, r.key.unwrap_or("").as_bytes());
    field(&mut context, &r.version.unwrap_or(-1).to_be_bytes());
    field(&mut context, r.outcome.as_bytes());
    hex::encode(context.finish())
}

fn head_tag(key: &hmac::Key, seq: i64, hash: &str) -> String {
    hex::encode(hmac::sign(key, format!("{seq}:{hash}").as_bytes()))
}

/// Appends `record` inside `tx`, after the current head.
pub(crate) async fn append(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    key: &hmac::Key,
    record: &Record<'_>,
) -> Result<(), KmsError> {
    append_many(tx, backend, key, std::slice::from_ref(record)).await
}

/// Appends `records`, in order, inside `tx`, as one block: the head is
/// read once, the chain computed in memory, one row inserted and the head
/// moved once.
pub(crate) async fn append_many(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    backend: Backend,
    key: &hmac::Key,
    records: &[Record<'_>],
) -> Result<(), KmsError> {
    if records.is_empty() {
        return Ok(());
    }
    let lock = if backend == Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let head: Option<String> =
        sqlx::query(&format!("SELECT value FROM meta WHERE name = $1{lock}"))
            .bind(HEAD)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| r.try_get(0))
            .transpose()?;
    let (mut seq, mut prev) = match head.as_deref().map(parse_head).transpose()? {
        Some((seq, hash, _)) => (seq, hash),
        None => (0, GENESIS.to_owned()),
    };
    let first = seq + 1;
    let mut block = Vec::with_capacity(records.len());
    for record in records {
        seq += 1;
        let hash = entry_hash(&prev, seq, record);
        block.push(Entry {
            seq,
            at: record.at,
            actor: record.actor.to_owned(),
            operation: record.operation.to_owned(),
            key: record.key.map(str::to_owned),
            version: record.version,
            outcome: record.outcome.to_owned(),
            prev_hash: std::mem::replace(&mut prev, hash.clone()),
            hash,
        });
    }
    let json = serde_json::to_string(&block).map_err(|e| KmsError::Audit(e.to_string()))?;
    sqlx::query("INSERT INTO audit (seq, last_seq, entries) VALUES ($1, $2, $3)")
        .bind(first)
        .bind(seq)
        .bind(json)
        .execute(&mut **tx)
        .await?;
    let tag = head_tag(key, seq, &prev);
    set_meta(tx, HEAD, &format!("{seq}:{prev}:{tag}")).await
}

fn parse_head(text: &str) -> Result<(i64, String, String), KmsError> {
    let mut parts = text.splitn(3, ':');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(seq), Some(hash), Some(tag)) => Ok((
            seq.parse()
                .map_err(|_| KmsError::Audit("the stored head is damaged".into()))?,
            hash.to_owned(),
            tag.to_owned(),
        )),
        _ => Err(KmsError::Audit("the stored head is damaged".into())),
    }
}

/// Every entry, oldest first.
pub(crate) async fn entries(db: &Db) -> Result<Vec<Entry>, KmsError> {
    let rows = sqlx::query("SELECT seq, last_seq, entries FROM audit ORDER BY seq")
        .fetch_all(&db.pool)
        .await?;
    let mut out = Vec::new();
    for row in rows {
        let first: i64 = row.try_get(0)?;
        let last: i64 = row.try_get(1)?;
        let text: String = row.try_get(2)?;
        let block: Vec<Entry> = serde_json::from_str(&text).map_err(|e| {
            KmsError::Audit(format!(
                "the block starting at entry {first} was edited: {e}"
            ))
        })?;
        let (Some(head), Some(tail)) = (block.first(), block.last()) else {
            return Err(KmsError::Audit(format!(
                "the block starting at entry {first} was emptied"
            )));
        };
        if head.seq != first || tail.seq != last {
            return Err(KmsError::Audit(format!(
                "the block starting at entry {first} does not hold entries {first} to {last}: it was edited or moved"
            )));
        }
        out.extend(block);
    }
    Ok(out)
}

/// Checks the chain and its authenticated head; returns how many entries
/// there are, or where the chain breaks and how.
pub(crate) async fn verify(db: &Db, key: &hmac::Key) -> Result<usize, KmsError> {
    let entries = entries(db).await?;
    let mut prev = GENESIS.to_owned();
    for (i, entry) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if entry.seq != expected_seq {
            return Err(KmsError::Audit(format!(
                "entry {expected_seq} is missing (found {} in its place): entries were deleted",
                entry.seq
            )));
        }
        if entry.prev_hash != prev {
            return Err(KmsError::Audit(format!(
                "entry {} does not follow entry {}: entries were reordered, replaced or deleted",
                entry.seq,
                entry.seq - 1
            )));
        }
        let record = Record {
            at: entry.at,
            actor: &entry.actor,
            operation: &entry.operation,
            key: entry.key.as_deref(),
            version: entry.version,
            outcome: &entry.outcome,
        };
        if entry_hash(&prev, entry.seq, &record) != entry.hash {
            return Err(KmsError::Audit(format!(
                "entry {} was edited: its hash does not match its content",
                entry.seq
            )));
        }
        prev = entry.hash.clone();
    }
    let head = db.meta(HEAD).await?;
    let (seq, hash) = match head.as_deref().map(parse_head).transpose()? {
        Some((seq, hash, tag)) => {
            let good = hmac::verify(
                key,
                format!("{seq}:{hash}").as_bytes(),
                &hex::decode(&tag).unwrap_or_default(),
            )
            .is_ok();
            if !good {
                return Err(KmsError::Audit(
                    "the head's authentication tag does not verify: the head was rewritten".into(),
                ));
            }
            (seq, hash)
        }
        None => (0, GENESIS.to_owned()),
    };
    if seq != entries.len() as i64 || hash != prev {
        return Err(KmsError::Audit(format!(
            "the log ends at entry {} but its authenticated head is entry {seq}: entries were deleted from the end",
            entries.len()
        )));
    }
    Ok(entries.len())
}
