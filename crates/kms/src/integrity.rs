//! Key metadata and identity revocations, authenticated.
//!
//! Someone with write access to the database but not the passphrase could
//! otherwise change a key's owner, state, grants, versions or minimum
//! decryption version, or delete an identity revocation, and the KMS would
//! act on it. Each key record (with its grants and which versions still
//! hold material) carries an HMAC-SHA256 tag, and the set of revoked
//! identities one tag in `meta`, under a key derived from the audit key,
//! which is wrapped under the passphrase's KEK. A record whose tag does
//! not verify is refused as tampering, and so is a missing tag once the
//! store has been sealed (stores from before the tags are sealed once, on
//! first open).

use std::collections::HashSet;

use aws_lc_rs::hmac;
use sqlx::Row;

use crate::error::KmsError;
use crate::keys::{KeyInfo, Tx};
use crate::store::set_meta;

/// The `meta` row holding the revocations' tag.
const IDENTITIES_TAG: &str = "identities_mac";
/// The `meta` row saying every record has been sealed.
const SEALED: &str = "metadata_sealed";

/// The metadata key, derived from the audit key.
pub(crate) fn metadata_key(audit_key: &hmac::Key) -> hmac::Key {
    let derived = hmac::sign(audit_key, b"pkilab-kms/1 metadata key");
    hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref())
}

fn field(context: &mut hmac::Context, bytes: &[u8]) {
    context.update(&(bytes.len() as u64).to_be_bytes());
    context.update(bytes);
}

fn optional(context: &mut hmac::Context, value: Option<i64>) {
    match value {
        Some(v) => field(context, &v.to_be_bytes()),
        None => field(context, b"none"),
    }
}

/// Which versions of `name` exist and whether each still holds material.
async fn versions(tx: &mut Tx<'_>, name: &str) -> Result<Vec<(i64, bool)>, KmsError> {
    let rows = sqlx::query(
        "SELECT version, CAST(CASE WHEN wrapped IS NULL THEN 0 ELSE 1 END AS BIGINT)
         FROM versions WHERE key_name = $1 ORDER BY version",
    )
    .bind(name.to_owned())
    .fetch_all(&mut **tx)
    .await?;
    rows.iter()
        .map(|r| {
            let held: i64 = r.try_get(1)?;
            Ok((r.try_get(0)?, held != 0))
        })
        .collect()
}

/// The tag of `key` as stored now (its versions read in `tx`).
async fn tag(tx: &mut Tx<'_>, key: &KeyInfo, mac: &hmac::Key) -> Result<hmac::Tag, KmsError> {
    let mut c = hmac::Context::with_key(mac);
    field(&mut c, b"pkilab-kms/1 key record");
    field(&mut c, key.name.as_bytes());
    field(&mut c, key.key_type.name().as_bytes());
    field(&mut c, key.owner.as_bytes());
    field(&mut c, key.state.name().as_bytes());
    field(&mut c, &key.created_at.to_be_bytes());
    optional(&mut c, key.expires_at);
    optional(&mut c, key.rotate_every);
    field(&mut c, &key.rotated_at.to_be_bytes());
    optional(&mut c, key.destroy_at);
    field(&mut c, &key.min_decrypt_version.to_be_bytes());
    field(&mut c, &key.current_version.to_be_bytes());
    let mut grants = key.grants.clone();
    grants.sort();
    field(&mut c, &(grants.len() as u64).to_be_bytes());
    for (who, operation) in &grants {
        field(&mut c, who.as_bytes());
        field(&mut c, operation.as_bytes());
    }
    let versions = versions(tx, &key.name).await?;
    field(&mut c, &(versions.len() as u64).to_be_bytes());
    for (version, held) in versions {
        field(&mut c, &version.to_be_bytes());
        field(&mut c, &[u8::from(held)]);
    }
    Ok(c.sign())
}

/// Stores `key`'s tag, after a change to its record, grants or versions.
pub(crate) async fn seal_key(
    tx: &mut Tx<'_>,
    key: &KeyInfo,
    mac: &hmac::Key,
) -> Result<(), KmsError> {
    let tag = hex::encode(tag(tx, key, mac).await?);
    sqlx::query("UPDATE keys SET mac = $1 WHERE name = $2")
        .bind(tag)
        .bind(key.name.clone())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Refuses `key` (as loaded, with `stored` its tag) unless the tag
/// verifies.
pub(crate) async fn check_key(
    tx: &mut Tx<'_>,
    key: &KeyInfo,
    stored: Option<&str>,
    mac: &hmac::Key,
) -> Result<(), KmsError> {
    let expected = tag(tx, key, mac).await?;
    let given = stored.and_then(|t| hex::decode(t).ok()).unwrap_or_default();
    // verify_slices_are_equal is constant-time.
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_ref(), &given).is_ok() {
        Ok(())
    } else {
        Err(KmsError::Tampered(format!(
            "the record of key '{}' (owner, state, grants or versions) was changed outside pkilab",
            crate::audit::clean(&key.name)
        )))
    }
}

/// Revoked identities and the tag over them.
async fn identities(
    tx: &mut Tx<'_>,
    mac: &hmac::Key,
) -> Result<(Vec<(String, i64)>, hmac::Tag), KmsError> {
    let rows = sqlx::query(
        "SELECT name, revoked_at FROM identities WHERE revoked_at IS NOT NULL ORDER BY name",
    )
    .fetch_all(&mut **tx)
    .await?;
    let list: Vec<(String, i64)> = rows
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, sqlx::Error>>()?;
    let tag = identities_tag(&list, mac);
    Ok((list, tag))
}

/// The tag over a list of revoked identities (in byte order, whatever
/// order the database's collation returned them in).
fn identities_tag(list: &[(String, i64)], mac: &hmac::Key) -> hmac::Tag {
    let mut sorted = list.to_vec();
    sorted.sort();
    let mut c = hmac::Context::with_key(mac);
    field(&mut c, b"pkilab-kms/1 revoked identities");
    field(&mut c, &(sorted.len() as u64).to_be_bytes());
    for (name, at) in &sorted {
        field(&mut c, name.as_bytes());
        field(&mut c, &at.to_be_bytes());
    }
    c.sign()
}

/// Stores the tag over the revoked identities, after a revocation. On
/// PostgreSQL the tag's row is locked first, so concurrent revocations
/// take turns and the later one's tag covers both.
pub(crate) async fn seal_identities(
    tx: &mut Tx<'_>,
    mac: &hmac::Key,
    backend: crate::store::Backend,
) -> Result<(), KmsError> {
    if backend == crate::store::Backend::Postgres {
        sqlx::query("SELECT value FROM meta WHERE name = $1 FOR UPDATE")
            .bind(IDENTITIES_TAG)
            .fetch_optional(&mut **tx)
            .await?;
    }
    let (_, tag) = identities(tx, mac).await?;
    set_meta(tx, IDENTITIES_TAG, &hex::encode(tag)).await
}

/// The revoked identities, refused as tampering unless their tag verifies.
/// The rows and the tag are read in one statement, so they come from one
/// snapshot even in a READ COMMITTED transaction while someone revokes.
pub(crate) async fn revoked(tx: &mut Tx<'_>, mac: &hmac::Key) -> Result<HashSet<String>, KmsError> {
    let rows = sqlx::query(
        "SELECT m.value, i.name, i.revoked_at FROM meta m
         LEFT JOIN identities i ON i.revoked_at IS NOT NULL
         WHERE m.name = $1 ORDER BY i.name",
    )
    .bind(IDENTITIES_TAG)
    .fetch_all(&mut **tx)
    .await?;
    let mut stored: Option<String> = None;
    let mut list: Vec<(String, i64)> = Vec::with_capacity(rows.len());
    for row in &rows {
        stored = Some(row.try_get(0)?);
        let name: Option<String> = row.try_get(1)?;
        let at: Option<i64> = row.try_get(2)?;
        if let (Some(name), Some(at)) = (name, at) {
            list.push((name, at));
        }
    }
    let expected = identities_tag(&list, mac);
    let given = stored.and_then(|t| hex::decode(t).ok()).unwrap_or_default();
    if aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_ref(), &given).is_err() {
        return Err(KmsError::Tampered(
            "the list of revoked identities was changed outside pkilab".into(),
        ));
    }
    Ok(list.into_iter().map(|(name, _)| name).collect())
}

/// Seals every record of a store written before the tags existed, once.
pub(crate) async fn seal_store(tx: &mut Tx<'_>, mac: &hmac::Key) -> Result<(), KmsError> {
    let sealed = sqlx::query("SELECT value FROM meta WHERE name = $1")
        .bind(SEALED)
        .fetch_optional(&mut **tx)
        .await?;
    if sealed.is_some() {
        return Ok(());
    }
    for name in crate::keys::names(tx).await? {
        let key = crate::keys::load_unchecked(tx, &name).await?;
        seal_key(tx, &key, mac).await?;
    }
    let (_, tag) = identities(tx, mac).await?;
    set_meta(tx, IDENTITIES_TAG, &hex::encode(tag)).await?;
    set_meta(tx, SEALED, "1").await
}
