//! Issuing and revoking in the database: a serial is unique by the
//! table's primary key (a collision signs again with a fresh serial), and
//! a revocation holds its CA's CRL counter for share, so a CRL being
//! signed sees it whole or not at all.

use time::{Duration, OffsetDateTime};

use super::import::begin_write;
use super::schema::{Backend, db};
use super::{CaDb, OCSP_SIGNER};
use crate::authority::{LeafRequest, Locations, RevocationReason};
use crate::key::{CaKey, SigningAlgorithm};
use crate::serial::Serial;
use crate::store::{IssueOptions, Issued, StoreError};

/// Fresh serials tried before giving up: with 159 random bits a single
/// collision is already beyond belief, so a second one means the random
/// generator is broken.
pub const SERIAL_ATTEMPTS: usize = 4;

type Tx = sqlx::Transaction<'static, sqlx::Any>;

/// Where a leaf of CA `file` says its CRL, OCSP responder and issuer are.
fn locations(db: &CaDb, file: &str, serial: &Serial) -> Option<Locations> {
    db.publication.as_ref().map(|publication| Locations {
        crl: publication.crl_url(file, publication.partition_of(serial)),
        ocsp: Some(format!("{}/ocsp", publication.url)),
        ca_issuers: Some(format!("{}/ca/{file}.crt", publication.url)),
    })
}

impl CaDb {
    /// Issues a leaf from the issuing CA, as [`crate::store::CaStore::issue`]
    /// does, recorded before it is returned.
    pub async fn issue(
        &self,
        options: &IssueOptions,
        passphrase: &[u8],
        now: OffsetDateTime,
    ) -> Result<Issued, StoreError> {
        self.issue_with_serials(options, passphrase, now, Serial::random)
            .await
    }

    /// [`CaDb::issue`] with serials from `next_serial` (tests force a
    /// collision with it).
    pub async fn issue_with_serials(
        &self,
        options: &IssueOptions,
        passphrase: &[u8],
        now: OffsetDateTime,
        mut next_serial: impl FnMut() -> Serial,
    ) -> Result<Issued, StoreError> {
        let unlocked = self.unlock(passphrase).await?;
        let (file, ca) = unlocked
            .authorities
            .last()
            .ok_or_else(|| StoreError::Database("no CA".into()))?;
        let (spki, key) = match &options.csr {
            Some(csr) => (crate::csr::public_key(csr)?, None),
            None => {
                let key = CaKey::generate(SigningAlgorithm::Ed25519)?;
                (key.public_key_spki_der(), Some(key))
            }
        };
        let mut request = LeafRequest::new(&options.name, now, now + Duration::days(options.days));
        request.dns.clone_from(&options.dns);
        request.ips.clone_from(&options.ips);
        request.client = options.client;
        request.server = options.server;
        for _ in 0..SERIAL_ATTEMPTS {
            let serial = next_serial();
            request.locations = locations(self, file, &serial);
            let issued = ca.issue(&request, &spki, serial.clone())?;
            if !self.record(file, &options.name, &issued, now).await? {
                continue;
            }
            let key = key
                .map(|k| k.to_encrypted_pem(passphrase, options.iterations))
                .transpose()?;
            let chain = if file == "root" {
                String::new()
            } else {
                super::pem("CERTIFICATE", ca.certificate_der())
            };
            return Ok(Issued {
                certificate: super::pem("CERTIFICATE", &issued.der),
                chain,
                key,
                serial,
            });
        }
        Err(StoreError::Database(format!(
            "{SERIAL_ATTEMPTS} random serials in a row were taken already: the random generator is broken"
        )))
    }

    /// Inserts an issued certificate; false when its serial is taken.
    async fn record(
        &self,
        file: &str,
        subject: &str,
        issued: &crate::IssuedCertificate,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO ca_certificates (serial, issuer, subject, issued_at, not_after, der)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (serial) DO NOTHING",
        )
        .bind(issued.serial.to_string())
        .bind(file.to_owned())
        .bind(subject.to_owned())
        .bind(now.unix_timestamp())
        .bind(issued.not_after.unix_timestamp())
        .bind(issued.der.clone())
        .execute(&self.pool)
        .await
        .map_err(db)?
        .rows_affected();
        Ok(inserted == 1)
    }

    /// Marks a certificate revoked; it appears on the next CRL any server
    /// publishes.
    pub async fn revoke(
        &self,
        serial: &Serial,
        reason: RevocationReason,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let mut tx = begin_write(&self.pool, self.backend).await?;
        self.revoke_in(&mut tx, serial, reason, now).await?;
        tx.commit().await.map_err(db)
    }

    /// Revokes inside `tx`, holding the issuer's CRL counter for share
    /// until `tx` ends.
    pub(crate) async fn revoke_in(
        &self,
        tx: &mut Tx,
        serial: &Serial,
        reason: RevocationReason,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        use sqlx::Row;
        let text = serial.to_string();
        let issuer: String = sqlx::query("SELECT issuer FROM ca_certificates WHERE serial = $1")
            .bind(text.clone())
            .fetch_optional(&mut **tx)
            .await
            .map_err(db)?
            .ok_or_else(|| StoreError::UnknownSerial(text.clone()))?
            .try_get(0)
            .map_err(db)?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT crl_number FROM ca_authorities WHERE file = $1 FOR SHARE")
                .bind(issuer)
                .fetch_optional(&mut **tx)
                .await
                .map_err(db)?;
        }
        let changed = sqlx::query(
            "UPDATE ca_certificates SET revoked_at = $1, reason = $2
             WHERE serial = $3 AND revoked_at IS NULL",
        )
        .bind(now.unix_timestamp())
        .bind(reason.to_string())
        .bind(text.clone())
        .execute(&mut **tx)
        .await
        .map_err(db)?
        .rows_affected();
        if changed == 1 {
            Ok(())
        } else {
            Err(StoreError::AlreadyRevoked(text))
        }
    }

    /// Issues a delegated OCSP signer from the issuing CA, stored with the
    /// CA keys; `ocsp_response` signs with it from the next process on.
    pub async fn issue_ocsp_signer(
        &self,
        passphrase: &[u8],
        now: OffsetDateTime,
        days: i64,
        iterations: u32,
    ) -> Result<Serial, StoreError> {
        let unlocked = self.unlock(passphrase).await?;
        let (file, ca) = unlocked
            .authorities
            .last()
            .ok_or_else(|| StoreError::Database("no CA".into()))?;
        let key = CaKey::generate(ca.key().algorithm())?;
        let name = format!("{} OCSP Signer", ca.name());
        let mut request = LeafRequest::new(&name, now, now + Duration::days(days));
        request.ocsp_signer = true;
        let serial = Serial::random();
        let issued = ca.issue(&request, &key.public_key_spki_der(), serial.clone())?;
        let mut tx = begin_write(&self.pool, self.backend).await?;
        sqlx::query(
            "INSERT INTO ca_certificates (serial, issuer, subject, issued_at, not_after, der)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(serial.to_string())
        .bind(file.clone())
        .bind(name)
        .bind(now.unix_timestamp())
        .bind(issued.not_after.unix_timestamp())
        .bind(issued.der.clone())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        sqlx::query(
            "INSERT INTO ca_keys (file, certificate, wrapped_key) VALUES ($1, $2, $3)
             ON CONFLICT (file) DO UPDATE SET certificate = excluded.certificate,
             wrapped_key = excluded.wrapped_key",
        )
        .bind(OCSP_SIGNER.to_owned())
        .bind(issued.der.clone())
        .bind(key.to_encrypted_pem(passphrase, iterations)?)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        tx.commit().await.map_err(db)?;
        Ok(serial)
    }

    /// The TLS identity of servers named `name`: issued by the first
    /// server that starts and shared by the others (certificate chain PEM,
    /// key PEM wrapped under the passphrase).
    pub async fn server_identity(
        &self,
        name: &str,
        passphrase: &[u8],
        now: OffsetDateTime,
        iterations: u32,
    ) -> Result<(String, String), StoreError> {
        use sqlx::Row;
        let file = format!("server:{name}");
        let lookup = || {
            sqlx::query("SELECT certificate, wrapped_key FROM ca_keys WHERE file = $1")
                .bind(file.clone())
        };
        if let Some(row) = lookup().fetch_optional(&self.pool).await.map_err(db)? {
            let chain: Vec<u8> = row.try_get(0).map_err(db)?;
            return Ok((
                String::from_utf8_lossy(&chain).into_owned(),
                row.try_get(1).map_err(db)?,
            ));
        }
        let issued = self.issue_server(name, passphrase, now, iterations).await?;
        let chain = format!("{}{}", issued.certificate, issued.chain);
        sqlx::query(
            "INSERT INTO ca_keys (file, certificate, wrapped_key) VALUES ($1, $2, $3)
             ON CONFLICT (file) DO NOTHING",
        )
        .bind(file.clone())
        .bind(chain.into_bytes())
        .bind(issued.key.unwrap_or_default())
        .execute(&self.pool)
        .await
        .map_err(db)?;
        // Another server may have stored its identity first: use that one.
        let row = lookup().fetch_one(&self.pool).await.map_err(db)?;
        let chain: Vec<u8> = row.try_get(0).map_err(db)?;
        Ok((
            String::from_utf8_lossy(&chain).into_owned(),
            row.try_get(1).map_err(db)?,
        ))
    }

    async fn issue_server(
        &self,
        name: &str,
        passphrase: &[u8],
        now: OffsetDateTime,
        iterations: u32,
    ) -> Result<Issued, StoreError> {
        let mut options = IssueOptions {
            name: name.to_owned(),
            ips: name.parse().map(|ip| vec![ip]).unwrap_or_default(),
            server: true,
            days: 365,
            iterations,
            ..IssueOptions::default()
        };
        match self.issue(&options, passphrase, now).await {
            // A year, or as long as the issuing CA still lives.
            Err(StoreError::Ca(crate::Error::Request(crate::RequestError::OutlivesIssuer {
                max_days,
                ..
            }))) if max_days >= 1 => {
                options.days = max_days;
                self.issue(&options, passphrase, now).await
            }
            other => other,
        }
    }
}
