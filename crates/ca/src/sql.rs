//! A CA in a database (SQLite file or PostgreSQL), for servers that share
//! one CA: its certificates, revocations, CRLs and CRL numbers are rows,
//! and its keys are stored wrapped under the passphrase (encrypted PKCS#8
//! with PBKDF2, the form of the directory's key files, so a migration moves
//! them across unopened).
//!
//! Every change is one transaction, committed before it is acknowledged:
//!
//! - a serial is random and unique by the table's primary key; a collision
//!   signs again with a new serial;
//! - CRL numbers come from one counter row per CA, incremented in the
//!   transaction that signs and stores the CRL, so they strictly increase
//!   across servers;
//! - a revocation locks its CA's counter row for share, a publication for
//!   update: a CRL sees every revocation committed before it and none is
//!   half-seen.
//!
//! Keys are unwrapped once per process (the first operation that signs),
//! and nothing else is cached: every read goes to the database.

use std::sync::{Arc, Mutex};

use aws_lc_rs::digest;
use sqlx::{AnyPool, Row};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::authority::{CertificateAuthority, RevocationReason};
use crate::error::{Error, InputError};
use crate::key::CaKey;
use crate::store::{InitOptions, IssuedRecord, Publication, Status, StoreError};

mod import;
mod publish;
mod records;
pub mod schema;

pub use publish::{CurrentCrl, Published};
use schema::db;
pub use schema::{Backend, is_postgres, is_unreachable};

/// Whether two digests are equal, in time independent of where they
/// differ.
fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// One CA of the hierarchy, as stored.
#[derive(Clone, Debug)]
pub struct AuthorityRecord {
    /// `root` or `issuing`.
    pub file: String,
    /// Its subject.
    pub name: String,
    /// Its certificate, DER.
    pub certificate: Vec<u8>,
}

/// The CA keys, unwrapped, with a digest of the passphrase that opened
/// them: a later call with another passphrase is refused, not served.
pub(crate) struct Unlocked {
    passphrase: [u8; 32],
    authorities: Vec<(String, Arc<CertificateAuthority>)>,
    /// The delegated OCSP signer: certificate and key.
    ocsp_signer: Option<(Vec<u8>, Arc<CaKey>)>,
}

/// A CA in a database.
pub struct CaDb {
    pool: AnyPool,
    backend: Backend,
    location: String,
    authorities: Vec<AuthorityRecord>,
    publication: Option<Publication>,
    unlocked: Mutex<Option<Arc<Unlocked>>>,
}

impl std::fmt::Debug for CaDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaDb")
            .field("backend", &self.backend)
            .field("authorities", &self.authorities.len())
            .finish_non_exhaustive()
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    crate::store::pem_lf(label, der)
}

fn passphrase_digest(passphrase: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest::digest(&digest::SHA256, passphrase).as_ref());
    out
}

impl CaDb {
    /// Creates a CA in the database at `location` (a SQLite file is made
    /// when missing); refused when it already holds one.
    pub async fn init(
        location: &str,
        options: &InitOptions,
        publication: Option<Publication>,
        passphrase: &[u8],
        now: OffsetDateTime,
    ) -> Result<CaDb, StoreError> {
        let (pool, backend) = schema::connect(location, true).await?;
        let mut snapshot = crate::store::new_hierarchy(options, passphrase, now)?;
        snapshot.publication = publication;
        import::write_snapshot(&pool, backend, location, &snapshot).await?;
        CaDb::open_pool(pool, backend, location).await
    }

    /// Opens the CA in the database at `location`.
    pub async fn open(location: &str) -> Result<CaDb, StoreError> {
        let (pool, backend) = schema::connect(location, false).await?;
        CaDb::open_pool(pool, backend, location).await
    }

    async fn open_pool(
        pool: AnyPool,
        backend: Backend,
        location: &str,
    ) -> Result<CaDb, StoreError> {
        let rows = sqlx::query(
            "SELECT a.file, a.name, k.certificate FROM ca_authorities a
             JOIN ca_keys k ON k.file = a.file ORDER BY a.position",
        )
        .fetch_all(&pool)
        .await
        .map_err(db)?;
        let authorities = rows
            .iter()
            .map(|r| {
                Ok(AuthorityRecord {
                    file: r.try_get(0)?,
                    name: r.try_get(1)?,
                    certificate: r.try_get(2)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(db)?;
        if authorities.is_empty() {
            return Err(StoreError::NoCaIn(format!(
                "{}: no CA here: create one with `pkilab ca init --db …`",
                redact(location)
            )));
        }
        let publication = meta(&pool, "publication")
            .await?
            .map(|json| serde_json::from_str::<Publication>(&json))
            .transpose()
            .map_err(|e| StoreError::Database(format!("stored publication settings: {e}")))?;
        Ok(CaDb {
            pool,
            backend,
            location: location.to_owned(),
            authorities,
            publication,
            unlocked: Mutex::new(None),
        })
    }

    /// The CAs, root first.
    pub fn authorities(&self) -> &[AuthorityRecord] {
        &self.authorities
    }

    /// The CA that issues leaves: the last of the hierarchy.
    pub(crate) fn issuing_file(&self) -> &str {
        self.authorities.last().map_or("root", |a| a.file.as_str())
    }

    /// Where the CA publishes, if it says.
    pub fn publication(&self) -> Option<&Publication> {
        self.publication.as_ref()
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The chain a client needs to trust the CA: root, then issuing, PEM.
    pub fn chain_pem(&self) -> String {
        self.authorities
            .iter()
            .map(|a| pem("CERTIFICATE", &a.certificate))
            .collect()
    }

    /// Answers whether the database can be reached now (one round trip).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .fetch_one(&self.pool)
            .await
            .map_err(db)?;
        Ok(())
    }

    /// The CA keys under `passphrase`, unwrapped on first use (PBKDF2 is
    /// slow on purpose, so once per process); a later call with another
    /// passphrase is refused.
    pub(crate) async fn unlock(&self, passphrase: &[u8]) -> Result<Arc<Unlocked>, StoreError> {
        let digest = passphrase_digest(passphrase);
        if let Some(unlocked) = self
            .unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            return if ct_eq(&unlocked.passphrase, &digest) {
                Ok(Arc::clone(unlocked))
            } else {
                Err(StoreError::WrongPassphrase(redact(&self.location).into()))
            };
        }
        let rows = sqlx::query("SELECT file, certificate, wrapped_key FROM ca_keys")
            .fetch_all(&self.pool)
            .await
            .map_err(db)?;
        let mut wrapped = Vec::with_capacity(rows.len());
        for row in &rows {
            let file: String = row.try_get(0).map_err(db)?;
            let certificate: Vec<u8> = row.try_get(1).map_err(db)?;
            let key: String = row.try_get(2).map_err(db)?;
            wrapped.push((file, certificate, Zeroizing::new(key)));
        }
        let unlocked = Arc::new(self.open_keys(&wrapped, passphrase, digest)?);
        *self
            .unlocked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Arc::clone(&unlocked));
        Ok(unlocked)
    }

    fn open_keys(
        &self,
        wrapped: &[(String, Vec<u8>, Zeroizing<String>)],
        passphrase: &[u8],
        digest: [u8; 32],
    ) -> Result<Unlocked, StoreError> {
        let open = |pem_text: &str| {
            CaKey::from_encrypted(pem_text.as_bytes(), passphrase).map_err(|e| match e {
                Error::Input(InputError::WrongPassphrase) => {
                    StoreError::WrongPassphrase(redact(&self.location).into())
                }
                other => other.into(),
            })
        };
        let mut authorities = Vec::new();
        for record in &self.authorities {
            let (_, _, key) = wrapped
                .iter()
                .find(|(file, ..)| *file == record.file)
                .ok_or_else(|| StoreError::Database(format!("no key for CA {}", record.file)))?;
            let ca = CertificateAuthority::from_parts(record.certificate.clone(), open(key)?)?;
            authorities.push((record.file.clone(), Arc::new(ca)));
        }
        let mut ocsp_signer = None;
        if let Some((_, certificate, key)) = wrapped.iter().find(|(file, ..)| file == OCSP_SIGNER) {
            ocsp_signer = Some((certificate.clone(), Arc::new(open(key)?)));
        }
        Ok(Unlocked {
            passphrase: digest,
            authorities,
            ocsp_signer,
        })
    }

    /// Every certificate issued, oldest first.
    pub async fn issued(&self) -> Result<Vec<IssuedRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT serial, subject, not_after, issuer, revoked_at, reason, in_complete_crl
             FROM ca_certificates ORDER BY issued_at, serial",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(issued_record).collect()
    }

    /// The certificate with `serial`, if this CA issued it.
    pub async fn find(&self, serial: &crate::Serial) -> Result<Option<IssuedRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT serial, subject, not_after, issuer, revoked_at, reason, in_complete_crl
             FROM ca_certificates WHERE serial = $1",
        )
        .bind(serial.to_string())
        .fetch_optional(&self.pool)
        .await
        .map_err(db)?;
        row.as_ref().map(issued_record).transpose()
    }

    /// How many unrevoked, unexpired certificates name `subject` at `now`.
    pub async fn live_count(&self, subject: &str, now: OffsetDateTime) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query(
            "SELECT COUNT(*) FROM ca_certificates
             WHERE subject = $1 AND revoked_at IS NULL AND not_after > $2",
        )
        .bind(subject.to_owned())
        .bind(now.unix_timestamp())
        .fetch_one(&self.pool)
        .await
        .map_err(db)?
        .try_get(0)
        .map_err(db)?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

/// The key row name of the delegated OCSP signer.
pub(crate) const OCSP_SIGNER: &str = "ocsp-signer";

/// A `ca_meta` value.
async fn meta(pool: &AnyPool, name: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM ca_meta WHERE name = $1")
        .bind(name.to_owned())
        .fetch_optional(pool)
        .await
        .map_err(db)?;
    row.map(|r| r.try_get::<String, _>(0))
        .transpose()
        .map_err(db)
}

fn issued_record(row: &sqlx::any::AnyRow) -> Result<IssuedRecord, StoreError> {
    let revoked_at: Option<i64> = row.try_get(4).map_err(db)?;
    let reason: Option<String> = row.try_get(5).map_err(db)?;
    let reason = reason
        .map(|r| r.parse::<RevocationReason>())
        .transpose()
        .map_err(|e| StoreError::Database(format!("stored revocation reason: {e}")))?;
    let in_complete: Option<i64> = row.try_get(6).map_err(db)?;
    Ok(IssuedRecord {
        serial: row.try_get(0).map_err(db)?,
        subject: row.try_get(1).map_err(db)?,
        not_after: row.try_get(2).map_err(db)?,
        issuer: row.try_get(3).map_err(db)?,
        status: if revoked_at.is_some() {
            Status::Revoked
        } else {
            Status::Valid
        },
        revoked_at,
        reason,
        in_complete_crl: in_complete.and_then(|n| u64::try_from(n).ok()),
    })
}

/// A database location fit for messages: a URL's password is hidden.
pub fn redact(location: &str) -> String {
    match (location.find("://"), location.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &location[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => {
                    format!("{}{user}:***{}", &location[..scheme + 3], &location[at..])
                }
                None => location.to_owned(),
            }
        }
        _ => location.to_owned(),
    }
}
