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

/// The longest text an audited field keeps, in characters; the rest is
/// replaced by a note of how much was cut. What a client sends (a key
/// name in a URL, an identity) therefore costs the log a bounded amount.
pub const FIELD_LIMIT: usize = 200;

/// `text` bounded to [`FIELD_LIMIT`] characters, with control characters,
/// bidirectional overrides and backslashes escaped (`\n`, `\u{1b}`), so
/// an entry is one line of inert text when printed.
pub fn clean(text: &str) -> String {
    escape(text, true)
}

/// `text` bounded like [`clean`], with control characters and
/// bidirectional overrides escaped but backslashes kept: for printing
/// fields that [`clean`] already escaped when they were recorded.
pub fn printable(text: &str) -> String {
    escape(text, false)
}

fn escape(text: &str, backslash: bool) -> String {
    let mut out = String::with_capacity(text.len().min(FIELD_LIMIT + 16));
    for (count, c) in text.chars().enumerate() {
        if count == FIELD_LIMIT {
            let rest = text.chars().count() - count;
            out.push_str(&format!("…[{rest} more characters]"));
            break;
        }
        match c {
            '\\' if backslash => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control()
                || matches!(c, '\u{200e}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}') =>
            {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out
}

/// Writes the head of an empty log (entry 0), so that every later writer
/// finds a head row to lock and update in place.
pub(crate) async fn init_head(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &hmac::Key,
) -> Result<(), KmsError> {
    let tag = head_tag(key, 0, GENESIS);
    set_meta(tx, HEAD, &format!("0:{GENESIS}:{tag}")).await
}

/// Appends `records`, in order, inside `tx`, as one block: the head is
/// read once (and locked), the chain computed in memory, one row inserted
/// and the head updated in place once. Fields are bounded and escaped
/// with [`clean`] before they are hashed.
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
        let (actor, operation) = (clean(record.actor), clean(record.operation));
        let (key, outcome) = (record.key.map(clean), clean(record.outcome));
        let clean_record = Record {
            at: record.at,
            actor: &actor,
            operation: &operation,
            key: key.as_deref(),
            version: record.version,
            outcome: &outcome,
        };
        let hash = entry_hash(&prev, seq, &clean_record);
        block.push(Entry {
            seq,
            at: record.at,
            actor,
            operation,
            key,
            version: record.version,
            outcome,
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

fn parse_block(first: i64, last: i64, text: &str) -> Result<Vec<Entry>, KmsError> {
    let block: Vec<Entry> = serde_json::from_str(text).map_err(|e| {
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
    Ok(block)
}

/// Calls `each` with every entry, oldest first, block by block from one
/// snapshot of the store: memory holds one block, not the log.
pub(crate) async fn for_each(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    mut each: impl FnMut(Entry) -> Result<(), KmsError>,
) -> Result<(), KmsError> {
    use futures_util::TryStreamExt;
    let mut rows =
        sqlx::query("SELECT seq, last_seq, entries FROM audit ORDER BY seq").fetch(&mut **tx);
    while let Some(row) = rows.try_next().await? {
        let first: i64 = row.try_get(0)?;
        let last: i64 = row.try_get(1)?;
        let text: String = row.try_get(2)?;
        for entry in parse_block(first, last, &text)? {
            each(entry)?;
        }
    }
    Ok(())
}

/// The authenticated head in `tx`'s snapshot: (count, last hash).
async fn read_head(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    key: &hmac::Key,
) -> Result<Option<(i64, String)>, KmsError> {
    let head: Option<String> = sqlx::query("SELECT value FROM meta WHERE name = $1")
        .bind(HEAD)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let Some((seq, hash, tag)) = head.as_deref().map(parse_head).transpose()? else {
        return Ok(None);
    };
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
    Ok(Some((seq, hash)))
}

/// Checks the chain and its authenticated head in one snapshot, streaming;
/// returns how many entries there are, or where the chain breaks and how.
///
/// Beyond the chain itself: the head names the count of entries, so
/// entries deleted from the end are caught; a store that holds keys but
/// no head or an empty log is broken (everything deleted); and every key
/// must have its `key.create` entry in the log, so restoring an earlier
/// head after deleting the later entries is caught while a key made in
/// the lost stretch exists.
pub(crate) async fn verify(db: &Db, key: &hmac::Key) -> Result<usize, KmsError> {
    let mut tx = db.begin_snapshot().await?;
    let head = read_head(&mut tx, key).await?;
    let keys: Vec<String> = sqlx::query("SELECT name FROM keys")
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, sqlx::Error>>()?;
    let mut unaudited: std::collections::HashSet<String> = keys.into_iter().collect();
    let mut prev = GENESIS.to_owned();
    let mut count: i64 = 0;
    for_each(&mut tx, |entry| {
        let expected_seq = count + 1;
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
        if entry.operation == "key.create"
            && entry.outcome == "ok"
            && let Some(name) = &entry.key
        {
            unaudited.remove(name);
        }
        prev = entry.hash;
        count = expected_seq;
        Ok(())
    })
    .await?;
    tx.commit().await?;
    let Some((seq, hash)) = head else {
        return Err(KmsError::Audit(
            "the log's authenticated head is missing: it was deleted".into(),
        ));
    };
    if seq != count || hash != prev {
        return Err(KmsError::Audit(format!(
            "the log ends at entry {count} but its authenticated head is entry {seq}: entries were deleted"
        )));
    }
    if let Some(name) = unaudited.iter().min() {
        return Err(KmsError::Audit(format!(
            "key '{}' has no key.create entry in the log ({} unaudited key(s)): the log was truncated and an earlier head restored",
            clean(name),
            unaudited.len()
        )));
    }
    usize::try_from(count).map_err(|_| KmsError::Audit("entry count out of range".into()))
}

/// The authenticated head, `SEQ:HASH`, for the operator to keep outside
/// the database (a rollback of the whole store is visible only against a
/// head kept elsewhere).
pub(crate) async fn head(db: &Db, key: &hmac::Key) -> Result<String, KmsError> {
    let mut tx = db.begin_snapshot().await?;
    let head = read_head(&mut tx, key).await?;
    tx.commit().await?;
    let (seq, hash) = head.unwrap_or((0, GENESIS.to_owned()));
    Ok(format!("{seq}:{hash}"))
}

/// Whether the log, in one snapshot, holds entry `seq` with `hash`: a
/// head the operator kept is still part of the log.
pub(crate) async fn contains(db: &Db, seq: i64, hash: &str) -> Result<bool, KmsError> {
    if seq == 0 {
        return Ok(hash == GENESIS);
    }
    let mut tx = db.begin_snapshot().await?;
    let row =
        sqlx::query("SELECT seq, last_seq, entries FROM audit WHERE seq <= $1 AND last_seq >= $1")
            .bind(seq)
            .fetch_optional(&mut *tx)
            .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(false) };
    let block = parse_block(
        row.try_get(0)?,
        row.try_get(1)?,
        &row.try_get::<String, _>(2)?,
    )?;
    Ok(block.iter().any(|e| e.seq == seq && e.hash == hash))
}
