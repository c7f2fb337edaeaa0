//! CRLs and OCSP from the database. A CRL's number is taken from its CA's
//! counter row in the transaction that signs and stores it: the row lock
//! orders publications across servers, so numbers never repeat or go
//! back, and a CRL lists every revocation committed before its number
//! was taken.

use sqlx::Row;
use time::{Duration, OffsetDateTime};

use super::import::begin_write;
use super::schema::db;
use super::{CaDb, Unlocked};
use crate::authority::{RevocationReason, RevokedEntry};
use crate::crl::CrlRequest;
use crate::key::CaKey;
use crate::ocsp::{CertificateState, Responder};
use crate::serial::Serial;
use crate::store::StoreError;
use crate::store::publish::scopes;

/// Complete CRLs kept per CA (older ones are deleted as new ones are
/// published, so the table stays bounded).
pub const CRLS_KEPT: i64 = 16;

/// Serials of one OCSP request looked up at most; the rest are answered
/// "unknown" (a request is the client's to size, a lookup is ours).
const OCSP_LOOKUPS: usize = 32;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// What a publication produced.
#[derive(Clone, Debug)]
pub struct Published {
    /// Every CRL signed, PEM.
    pub pem: String,
    /// The number each CA's CRLs carry, root first.
    pub numbers: Vec<(String, u64)>,
}

/// The newest complete CRL of one CA (one DER per partition).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CurrentCrl {
    /// `root` or `issuing`.
    pub file: String,
    /// Its cRLNumber.
    pub number: u64,
    /// The CRLs, DER.
    pub der: Vec<Vec<u8>>,
}

impl CaDb {
    /// Signs a complete CRL for every CA and stores it.
    pub async fn publish_crl(
        &self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
    ) -> Result<Published, StoreError> {
        self.publish(passphrase, now, next_update, false).await
    }

    /// Signs a delta CRL (RFC 5280 §5.2.4) for every CA against its last
    /// complete CRL.
    pub async fn publish_delta_crl(
        &self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
    ) -> Result<Published, StoreError> {
        self.publish(passphrase, now, next_update, true).await
    }

    /// One publication (complete or delta) in its own transaction.
    async fn publish(
        &self,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
        delta: bool,
    ) -> Result<Published, StoreError> {
        let unlocked = self.unlock(passphrase).await?;
        let mut tx = begin_write(&self.pool, self.backend).await?;
        let published = self
            .publish_in(&mut tx, &unlocked, now, next_update, delta)
            .await?;
        tx.commit().await.map_err(db)?;
        Ok(published)
    }

    /// Revokes `serial` and publishes complete CRLs that list it, in one
    /// transaction: once this returns, the CRL is stored.
    pub async fn revoke_and_publish(
        &self,
        serial: &Serial,
        reason: RevocationReason,
        passphrase: &[u8],
        now: OffsetDateTime,
        next_update: Duration,
    ) -> Result<Published, StoreError> {
        let unlocked = self.unlock(passphrase).await?;
        let mut tx = begin_write(&self.pool, self.backend).await?;
        if self.backend == super::Backend::Postgres {
            // The counters for update first, in the order publications take
            // them: taken for share by the revocation and raised later, two
            // of these would wait on each other.
            sqlx::query("SELECT file FROM ca_authorities ORDER BY position FOR UPDATE")
                .fetch_all(&mut *tx)
                .await
                .map_err(db)?;
        }
        self.revoke_in(&mut tx, serial, reason, now).await?;
        let published = self
            .publish_in(&mut tx, &unlocked, now, next_update, false)
            .await?;
        tx.commit().await.map_err(db)?;
        Ok(published)
    }

    async fn publish_in(
        &self,
        tx: &mut Tx,
        unlocked: &Unlocked,
        now: OffsetDateTime,
        next_update: Duration,
        delta: bool,
    ) -> Result<Published, StoreError> {
        let mut pem = String::new();
        let mut numbers = Vec::new();
        // Root first, always: two publishers lock the counters in one order.
        for (file, ca) in &unlocked.authorities {
            let (number, last_complete) = take_number(tx, file).await?;
            if delta && last_complete.is_none() {
                return Err(StoreError::NoCompleteCrl(ca.name().to_owned()));
            }
            let revoked = revoked(tx, file, delta).await?;
            for (scope, freshest, entries) in
                scopes(self.publication(), file, self.issuing_file(), &revoked)
            {
                let request = CrlRequest {
                    revoked: &entries,
                    number,
                    this_update: now,
                    next_update: now + next_update,
                    delta_base: if delta { last_complete } else { None },
                    scope: scope.clone(),
                    freshest: if delta { None } else { freshest },
                };
                let der = ca.crl_with(&request)?;
                pem.push_str(&super::pem("X509 CRL", &der));
                store_crl(tx, file, number, scope.as_deref(), delta, now, der).await?;
            }
            if !delta {
                mark_complete(tx, file, number).await?;
            }
            numbers.push((file.clone(), number));
        }
        Ok(Published { pem, numbers })
    }

    /// The newest complete CRL of every CA, root first.
    pub async fn current_crls(&self) -> Result<Vec<CurrentCrl>, StoreError> {
        let rows = sqlx::query(
            "SELECT c.file, c.number, c.der FROM ca_crls c
             JOIN ca_authorities a ON a.file = c.file AND c.number = a.last_complete
             WHERE c.delta = 0 ORDER BY a.position, c.scope",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        let mut out: Vec<CurrentCrl> = Vec::new();
        for row in &rows {
            let file: String = row.try_get(0).map_err(db)?;
            let number: i64 = row.try_get(1).map_err(db)?;
            let der: Vec<u8> = row.try_get(2).map_err(db)?;
            match out.last_mut() {
                Some(last) if last.file == file => last.der.push(der),
                _ => out.push(CurrentCrl {
                    file,
                    number: u64::try_from(number).unwrap_or(0),
                    der: vec![der],
                }),
            }
        }
        Ok(out)
    }

    /// The newest CRL published under `name`, as the URLs in certificates
    /// name them: `issuing.crl`, a partition `issuing-K.crl`, or a delta
    /// `…-delta.crl`; `None` when there is none.
    pub async fn published_crl(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let (base, delta) = match name.strip_suffix("-delta.crl") {
            Some(base) => (base, true),
            None => match name.strip_suffix(".crl") {
                Some(base) => (base, false),
                None => return Ok(None),
            },
        };
        let (file, partition) = match base.rsplit_once('-') {
            Some((file, k)) if k.parse::<u32>().is_ok() => (file, k.parse::<u32>().ok()),
            _ => (base, None),
        };
        let scope = match (partition, self.publication()) {
            (Some(k), Some(publication)) => publication.crl_url(file, Some(k)),
            (Some(_), None) => return Ok(None),
            (None, _) => String::new(),
        };
        let row = sqlx::query(
            "SELECT der FROM ca_crls WHERE file = $1 AND scope = $2 AND delta = $3
             ORDER BY number DESC LIMIT 1",
        )
        .bind(file.to_owned())
        .bind(scope)
        .bind(i64::from(delta))
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.map(|r| r.try_get::<Vec<u8>, _>(0))
            .transpose()
            .map_err(db)
    }

    /// The number of each CA's newest complete CRL, root first: cheap to
    /// poll, it changes whenever any server publishes.
    pub async fn crl_stamp(&self) -> Result<Vec<Option<i64>>, StoreError> {
        let rows = sqlx::query("SELECT last_complete FROM ca_authorities ORDER BY position")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        rows.iter()
            .map(|r| r.try_get::<Option<i64>, _>(0).map_err(db))
            .collect()
    }

    /// Answers the DER OCSP request `request` from the database, as
    /// [`crate::store::CaStore::ocsp_response`] does from a directory.
    pub async fn ocsp_response(
        &self,
        request: &[u8],
        passphrase: &[u8],
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<Vec<u8>, StoreError> {
        let unlocked = self.unlock(passphrase).await?;
        let (file, responder) = responder_for(&unlocked, request, lifetime)?;
        let mut states = Vec::new();
        for serial in crate::ocsp::requested_serials(request)
            .into_iter()
            .take(OCSP_LOOKUPS)
        {
            let state = match self.find(&serial).await? {
                Some(record) if record.issuer == file => match record.revoked_at {
                    Some(at) => CertificateState::Revoked {
                        at: OffsetDateTime::from_unix_timestamp(at).unwrap_or(now),
                        reason: record.reason.unwrap_or(RevocationReason::Unspecified),
                    },
                    None => CertificateState::Good,
                },
                _ => CertificateState::Unknown,
            };
            states.push((serial, state));
        }
        let lookup = |serial: &Serial| {
            states
                .iter()
                .find(|(s, _)| s == serial)
                .map_or(CertificateState::Unknown, |(_, state)| *state)
        };
        Ok(responder.respond(request, now, &lookup))
    }
}

/// The responder of the CA `request` names (the issuing CA when it names
/// none), signing with the delegated signer when the issuing CA has one.
fn responder_for(
    unlocked: &Unlocked,
    request: &[u8],
    lifetime: Duration,
) -> Result<(String, Responder), StoreError> {
    let mut chosen = None;
    let issuing = unlocked.authorities.len().saturating_sub(1);
    for (index, (file, ca)) in unlocked.authorities.iter().enumerate().rev() {
        let (key, signer) = match (&unlocked.ocsp_signer, index == issuing) {
            (Some((certificate, key)), true) => (
                CaKey::from_pkcs8_der(&key.to_pkcs8_der())?,
                Some(certificate.as_slice()),
            ),
            _ => (CaKey::from_pkcs8_der(&ca.key().to_pkcs8_der())?, None),
        };
        let responder = Responder::new(ca.certificate_der(), key, signer, lifetime)?;
        let answers = responder.answers(request);
        if answers || chosen.is_none() {
            chosen = Some((file.clone(), responder));
        }
        if answers {
            break;
        }
    }
    chosen.ok_or_else(|| StoreError::Database("no CA".into()))
}

/// Increments CA `file`'s CRL counter (locking its row until the
/// transaction ends) and returns the new number and the last complete one.
async fn take_number(tx: &mut Tx, file: &str) -> Result<(u64, Option<u64>), StoreError> {
    let row = sqlx::query(
        "UPDATE ca_authorities SET crl_number = crl_number + 1 WHERE file = $1
         RETURNING crl_number, last_complete",
    )
    .bind(file.to_owned())
    .fetch_one(&mut **tx)
    .await
    .map_err(db)?;
    let number: i64 = row.try_get(0).map_err(db)?;
    let last: Option<i64> = row.try_get(1).map_err(db)?;
    Ok((
        u64::try_from(number).unwrap_or(0),
        last.and_then(|n| u64::try_from(n).ok()),
    ))
}

/// The revocations of CA `file` (only those no complete CRL listed yet,
/// for a delta).
async fn revoked(tx: &mut Tx, file: &str, delta: bool) -> Result<Vec<RevokedEntry>, StoreError> {
    let only_new = if delta {
        " AND in_complete_crl IS NULL"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT serial, revoked_at, reason FROM ca_certificates
         WHERE issuer = $1 AND revoked_at IS NOT NULL{only_new} ORDER BY serial"
    ))
    .bind(file.to_owned())
    .fetch_all(&mut **tx)
    .await
    .map_err(db)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let serial: String = row.try_get(0).map_err(db)?;
        let at: i64 = row.try_get(1).map_err(db)?;
        let reason: Option<String> = row.try_get(2).map_err(db)?;
        let (Ok(serial), Ok(revoked_at)) = (
            serial.parse::<Serial>(),
            OffsetDateTime::from_unix_timestamp(at),
        ) else {
            return Err(StoreError::Database(format!(
                "stored revocation of {serial} is damaged"
            )));
        };
        let reason = reason
            .and_then(|r| r.parse().ok())
            .unwrap_or(RevocationReason::Unspecified);
        out.push(RevokedEntry {
            serial,
            revoked_at,
            reason,
        });
    }
    Ok(out)
}

async fn store_crl(
    tx: &mut Tx,
    file: &str,
    number: u64,
    scope: Option<&str>,
    delta: bool,
    now: OffsetDateTime,
    der: Vec<u8>,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO ca_crls (file, number, scope, delta, this_update, der)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(file.to_owned())
    .bind(number as i64)
    .bind(scope.unwrap_or("").to_owned())
    .bind(i64::from(delta))
    .bind(now.unix_timestamp())
    .bind(der)
    .execute(&mut **tx)
    .await
    .map_err(db)?;
    Ok(())
}

/// Records CRL `number` as CA `file`'s last complete one, the entries it
/// listed as listed, and drops CRLs older than the last [`CRLS_KEPT`].
async fn mark_complete(tx: &mut Tx, file: &str, number: u64) -> Result<(), StoreError> {
    let number = number as i64;
    for statement in [
        "UPDATE ca_authorities SET last_complete = $1 WHERE file = $2",
        "UPDATE ca_certificates SET in_complete_crl = $1
         WHERE issuer = $2 AND revoked_at IS NOT NULL AND in_complete_crl IS NULL",
    ] {
        sqlx::query(statement)
            .bind(number)
            .bind(file.to_owned())
            .execute(&mut **tx)
            .await
            .map_err(db)?;
    }
    sqlx::query("DELETE FROM ca_crls WHERE file = $1 AND number <= $2")
        .bind(file.to_owned())
        .bind(number - CRLS_KEPT)
        .execute(&mut **tx)
        .await
        .map_err(db)?;
    Ok(())
}
