//! Key rows: what the store knows about a key, loaded and saved inside a
//! transaction, with expiry and scheduled destruction applied on load.

use serde::Serialize;
use sqlx::Row;

use crate::error::KmsError;
use crate::lifecycle::State;
use crate::material::KeyType;

/// A key's metadata (never its material).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct KeyInfo {
    /// Its name.
    pub name: String,
    /// Its type.
    #[serde(rename = "type")]
    pub key_type: KeyType,
    /// Its owner.
    pub owner: String,
    /// Its lifecycle state.
    pub state: State,
    /// Unix seconds.
    pub created_at: i64,
    /// When it deactivates by itself, Unix seconds.
    pub expires_at: Option<i64>,
    /// Rotation period in seconds.
    pub rotate_every: Option<i64>,
    /// When the newest version was made, Unix seconds.
    pub rotated_at: i64,
    /// When destruction is scheduled, Unix seconds.
    pub destroy_at: Option<i64>,
    /// Versions below this no longer decrypt or verify.
    pub min_decrypt_version: i64,
    /// The newest version, used for new data.
    pub current_version: i64,
    /// Grants: (identity, operation).
    #[schema(value_type = Vec<Vec<String>>)]
    pub grants: Vec<(String, String)>,
}

const COLUMNS: &str = "name, key_type, owner, state, created_at, expires_at, rotate_every, \
                       rotated_at, destroy_at, min_decrypt_version, current_version";

fn from_row(row: &sqlx::any::AnyRow) -> Result<KeyInfo, KmsError> {
    let key_type: String = row.try_get(1)?;
    let state: String = row.try_get(3)?;
    Ok(KeyInfo {
        name: row.try_get(0)?,
        key_type: key_type.parse().map_err(KmsError::Store)?,
        owner: row.try_get(2)?,
        state: state.parse().map_err(KmsError::Store)?,
        created_at: row.try_get(4)?,
        expires_at: row.try_get(5)?,
        rotate_every: row.try_get(6)?,
        rotated_at: row.try_get(7)?,
        destroy_at: row.try_get(8)?,
        min_decrypt_version: row.try_get(9)?,
        current_version: row.try_get(10)?,
        grants: Vec::new(),
    })
}

pub(crate) type Tx<'t> = sqlx::Transaction<'t, sqlx::Any>;

/// Loads `name` as stored, with its grants and its stored tag, without
/// checking the tag or applying anything that came due.
async fn read(
    tx: &mut Tx<'_>,
    name: &str,
    lock: &str,
) -> Result<(KeyInfo, Option<String>), KmsError> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS}, mac FROM keys WHERE name = $1{lock}"
    ))
    .bind(name.to_owned())
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| KmsError::UnknownKey(name.to_owned()))?;
    let mut key = from_row(&row)?;
    let tag: Option<String> = row.try_get(11)?;
    let grants = sqlx::query(
        "SELECT identity, operation FROM grants WHERE key_name = $1 ORDER BY identity, operation",
    )
    .bind(name.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    key.grants = grants
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    Ok((key, tag))
}

/// Loads `name` without checking its tag (for sealing a store written
/// before tags existed).
pub(crate) async fn load_unchecked(tx: &mut Tx<'_>, name: &str) -> Result<KeyInfo, KmsError> {
    Ok(read(tx, name, "").await?.0)
}

/// Loads `name`, refusing it as tampering unless its tag verifies under
/// `mac`, and applies expiry and due destruction as of `now` (sealing the
/// record again). Returns the key and the lifecycle events that happened
/// on the way. On PostgreSQL the row stays locked until `tx` ends, so two
/// writers of one key take turns (and each seals what the other wrote).
pub(crate) async fn load(
    tx: &mut Tx<'_>,
    name: &str,
    now: i64,
    (mac, backend): (&aws_lc_rs::hmac::Key, crate::store::Backend),
) -> Result<(KeyInfo, Vec<&'static str>), KmsError> {
    let lock = if backend == crate::store::Backend::Postgres {
        " FOR UPDATE"
    } else {
        ""
    };
    let (mut key, tag) = read(tx, name, lock).await?;
    crate::integrity::check_key(tx, &key, tag.as_deref(), mac).await?;
    let mut events = Vec::new();
    if key.expires_at.is_some_and(|t| t <= now)
        && matches!(
            key.state,
            State::Active | State::Suspended | State::PreActive
        )
    {
        key.state = State::Deactivated;
        events.push("key.expired");
    }
    if key.destroy_at.is_some_and(|t| t <= now) && key.state != State::Destroyed {
        key.state = State::Destroyed;
        key.destroy_at = None;
        sqlx::query("UPDATE versions SET wrapped = NULL WHERE key_name = $1")
            .bind(name.to_owned())
            .execute(&mut **tx)
            .await?;
        events.push("key.destroyed");
    }
    if !events.is_empty() {
        save(tx, &key).await?;
        crate::integrity::seal_key(tx, &key, mac).await?;
    }
    Ok((key, events))
}

/// Every key name, sorted.
pub(crate) async fn names(tx: &mut Tx<'_>) -> Result<Vec<String>, KmsError> {
    let rows = sqlx::query("SELECT name FROM keys ORDER BY name")
        .fetch_all(&mut **tx)
        .await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, sqlx::Error>>()?)
}

/// Inserts a new key row.
pub(crate) async fn insert(tx: &mut Tx<'_>, key: &KeyInfo) -> Result<(), KmsError> {
    sqlx::query(&format!(
        "INSERT INTO keys ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(key.name.clone())
    .bind(key.key_type.name().to_owned())
    .bind(key.owner.clone())
    .bind(key.state.name().to_owned())
    .bind(key.created_at)
    .bind(key.expires_at)
    .bind(key.rotate_every)
    .bind(key.rotated_at)
    .bind(key.destroy_at)
    .bind(key.min_decrypt_version)
    .bind(key.current_version)
    .execute(&mut **tx)
    .await
    .map_err(|e| match &e {
        // Two writers both saw the name free; the second to commit loses the
        // race on the primary key and is told the name is taken.
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            KmsError::Duplicate(key.name.clone())
        }
        _ => e.into(),
    })?;
    Ok(())
}

/// Saves the mutable fields of a key row.
pub(crate) async fn save(tx: &mut Tx<'_>, key: &KeyInfo) -> Result<(), KmsError> {
    sqlx::query(
        "UPDATE keys SET state = $1, expires_at = $2, rotate_every = $3, rotated_at = $4,
         destroy_at = $5, min_decrypt_version = $6, current_version = $7 WHERE name = $8",
    )
    .bind(key.state.name().to_owned())
    .bind(key.expires_at)
    .bind(key.rotate_every)
    .bind(key.rotated_at)
    .bind(key.destroy_at)
    .bind(key.min_decrypt_version)
    .bind(key.current_version)
    .bind(key.name.clone())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Stores one wrapped version.
pub(crate) async fn insert_version(
    tx: &mut Tx<'_>,
    name: &str,
    version: i64,
    wrapped: Vec<u8>,
    now: i64,
) -> Result<(), KmsError> {
    sqlx::query(
        "INSERT INTO versions (key_name, version, wrapped, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(name.to_owned())
    .bind(version)
    .bind(wrapped)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// One version's wrapped material; `None` once destroyed.
pub(crate) async fn wrapped(
    tx: &mut Tx<'_>,
    name: &str,
    version: i64,
) -> Result<Option<Vec<u8>>, KmsError> {
    let row = sqlx::query("SELECT wrapped FROM versions WHERE key_name = $1 AND version = $2")
        .bind(name.to_owned())
        .bind(version)
        .fetch_optional(&mut **tx)
        .await?;
    match row {
        None => Err(KmsError::Refused(format!(
            "key '{name}' has no version {version}"
        ))),
        Some(row) => Ok(row.try_get(0)?),
    }
}

/// Whether a key name is acceptable: 1–64 of `A–Z a–z 0–9 . _ -`.
pub(crate) fn valid_name(name: &str) -> Result<(), KmsError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(KmsError::Malformed(format!(
            "'{name}' is not a usable name: use 1 to 64 letters, digits, '.', '_' or '-'"
        )))
    }
}
