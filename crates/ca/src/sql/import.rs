//! Writing a whole CA into empty CA tables, in one transaction: a new
//! hierarchy (`ca init --db`) or one moved from a directory (`ca migrate`).

use sqlx::{AnyPool, Row};

use super::schema::{Backend, db};
use super::{CaDb, OCSP_SIGNER, redact};
use crate::store::{CaStore, Snapshot, Status, StoreError};

type Tx = sqlx::Transaction<'static, sqlx::Any>;

pub(crate) async fn begin_write(pool: &AnyPool, backend: Backend) -> Result<Tx, StoreError> {
    match backend {
        Backend::Sqlite => pool.begin_with("BEGIN IMMEDIATE").await.map_err(db),
        Backend::Postgres => pool.begin().await.map_err(db),
    }
}

/// Writes `snapshot`; refused when the database already holds a CA.
pub(crate) async fn write_snapshot(
    pool: &AnyPool,
    backend: Backend,
    location: &str,
    snapshot: &Snapshot,
) -> Result<(), StoreError> {
    let mut tx = begin_write(pool, backend).await?;
    if backend == Backend::Postgres {
        // Two inits at once: the second waits here, then sees the first.
        sqlx::query("LOCK TABLE ca_authorities IN EXCLUSIVE MODE")
            .execute(&mut *tx)
            .await
            .map_err(db)?;
    }
    let existing: i64 = sqlx::query("SELECT COUNT(*) FROM ca_authorities")
        .fetch_one(&mut *tx)
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
    if existing > 0 {
        return Err(StoreError::DbAlreadyHolds(redact(location)));
    }
    set_meta(&mut tx, "algorithm", &snapshot.algorithm).await?;
    if let Some(publication) = &snapshot.publication {
        let json =
            serde_json::to_string(publication).map_err(|e| StoreError::Database(e.to_string()))?;
        set_meta(&mut tx, "publication", &json).await?;
    }
    for (position, authority) in snapshot.authorities.iter().enumerate() {
        sqlx::query(
            "INSERT INTO ca_authorities (file, position, name, crl_number, last_complete)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(authority.file.clone())
        .bind(position as i64)
        .bind(authority.name.clone())
        .bind(authority.crl_number as i64)
        .bind(authority.last_complete.map(|n| n as i64))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_key(
            &mut tx,
            &authority.file,
            &authority.certificate,
            &authority.wrapped_key,
        )
        .await?;
    }
    if let Some((serial, certificate, key)) = &snapshot.ocsp_signer {
        insert_key(&mut tx, OCSP_SIGNER, certificate, key).await?;
        set_meta(&mut tx, "ocsp_signer", serial).await?;
    }
    // Imported certificates keep their order, before any issued later
    // (those are ordered by their issuing time).
    for (order, record) in snapshot.issued.iter().enumerate() {
        sqlx::query(
            "INSERT INTO ca_certificates
             (serial, issuer, subject, issued_at, not_after, revoked_at, reason, in_complete_crl)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(record.serial.clone())
        .bind(record.issuer.clone())
        .bind(record.subject.clone())
        .bind(order as i64)
        .bind(record.not_after)
        .bind(if record.status == Status::Revoked {
            Some(record.revoked_at.unwrap_or(0))
        } else {
            None
        })
        .bind(record.reason.map(|r| r.to_string()))
        .bind(record.in_complete_crl.map(|n| n as i64))
        .execute(&mut *tx)
        .await
        .map_err(db)?;
    }
    tx.commit().await.map_err(db)
}

async fn insert_key(
    tx: &mut Tx,
    file: &str,
    certificate: &[u8],
    key: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO ca_keys (file, certificate, wrapped_key) VALUES ($1, $2, $3)")
        .bind(file.to_owned())
        .bind(certificate.to_vec())
        .bind(key.to_owned())
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}

async fn set_meta(tx: &mut Tx, name: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ca_meta (name, value) VALUES ($1, $2)
         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
    )
    .bind(name.to_owned())
    .bind(value.to_owned())
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

impl CaDb {
    /// Moves the CA in directory `store` into the database at `location`
    /// (which must hold no CA yet): certificates, revocations, CRL numbers,
    /// publication settings, and the keys as they are wrapped, so no
    /// passphrase is needed. The directory is left as it was.
    pub async fn migrate_from(store: &CaStore, location: &str) -> Result<CaDb, StoreError> {
        let snapshot = store.snapshot()?;
        let (pool, backend) = super::schema::connect(location, true).await?;
        write_snapshot(&pool, backend, location, &snapshot).await?;
        CaDb::open_pool(pool, backend, location).await
    }
}
