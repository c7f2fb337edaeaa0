//! A whole CA as plain values: what `ca init` makes before it is written
//! to a directory or a database, and what `ca migrate` moves from one to
//! the other. Keys stay wrapped under the passphrase throughout.

use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use super::{CaStore, InitOptions, IssuedRecord, Publication, Status, StoreError};
use crate::authority::CertificateAuthority;
use crate::disk::read;
use crate::key::CaKey;
use crate::serial::Serial;

/// One CA of a hierarchy.
#[derive(Debug)]
pub struct AuthoritySnapshot {
    /// `root` or `issuing`.
    pub file: String,
    /// Subject.
    pub name: String,
    /// Certificate, DER.
    pub certificate: Vec<u8>,
    /// The key, encrypted PKCS#8 PEM under the passphrase.
    pub wrapped_key: Zeroizing<String>,
    /// The last CRL number used.
    pub crl_number: u64,
    /// The number of the last complete CRL.
    pub last_complete: Option<u64>,
}

/// A whole CA.
#[derive(Debug)]
pub struct Snapshot {
    /// Key algorithm name.
    pub algorithm: String,
    /// Root first.
    pub authorities: Vec<AuthoritySnapshot>,
    /// Every certificate issued, in order.
    pub issued: Vec<IssuedRecord>,
    /// Publication settings.
    pub publication: Option<Publication>,
    /// The delegated OCSP signer: serial, certificate DER, wrapped key.
    pub ocsp_signer: Option<(String, Vec<u8>, Zeroizing<String>)>,
}

/// A new root (and intermediate, when asked), keys wrapped under
/// `passphrase`.
pub(crate) fn new_hierarchy(
    options: &InitOptions,
    passphrase: &[u8],
    now: OffsetDateTime,
) -> Result<Snapshot, StoreError> {
    let not_after = now + Duration::days(options.days);
    let root = CertificateAuthority::new_root(
        &options.name,
        CaKey::generate(options.algorithm)?,
        now,
        not_after,
        Serial::random(),
    )?;
    let mut authorities = vec![authority(
        "root",
        &options.name,
        &root,
        passphrase,
        options,
    )?];
    let mut issued = Vec::new();
    if let Some(name) = &options.intermediate {
        let serial = Serial::random();
        let ends = now + Duration::days((options.days / 2).max(1));
        let issuing = root.new_intermediate(
            name,
            CaKey::generate(options.algorithm)?,
            now,
            ends,
            Some(0),
            serial.clone(),
        )?;
        issued.push(IssuedRecord {
            serial: serial.to_string(),
            subject: name.clone(),
            not_after: ends.unix_timestamp(),
            issuer: "root".into(),
            status: Status::Valid,
            revoked_at: None,
            reason: None,
            in_complete_crl: None,
        });
        authorities.push(authority("issuing", name, &issuing, passphrase, options)?);
    }
    Ok(Snapshot {
        algorithm: options.algorithm.to_string(),
        authorities,
        issued,
        publication: None,
        ocsp_signer: None,
    })
}

fn authority(
    file: &str,
    name: &str,
    ca: &CertificateAuthority,
    passphrase: &[u8],
    options: &InitOptions,
) -> Result<AuthoritySnapshot, StoreError> {
    Ok(AuthoritySnapshot {
        file: file.into(),
        name: name.into(),
        certificate: ca.certificate_der().to_vec(),
        wrapped_key: Zeroizing::new(ca.key().to_encrypted_pem(passphrase, options.iterations)?),
        crl_number: 0,
        last_complete: None,
    })
}

impl CaStore {
    /// Everything this CA holds, keys still wrapped (no passphrase
    /// needed), for `pkilab ca migrate`.
    pub fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut authorities = Vec::new();
        for record in &self.state.cas {
            let key = read(&self.dir.join(format!("{}.key", record.file)))?;
            authorities.push(AuthoritySnapshot {
                file: record.file.clone(),
                name: record.name.clone(),
                certificate: self.certificate(&record.file)?,
                wrapped_key: Zeroizing::new(String::from_utf8_lossy(&key).into_owned()),
                crl_number: record.crl_number,
                last_complete: record.last_complete,
            });
        }
        let ocsp_signer = match &self.state.ocsp_signer {
            Some(serial) => {
                let key = read(&self.dir.join("ocsp-signer.key"))?;
                Some((
                    serial.clone(),
                    self.certificate("ocsp-signer")?,
                    Zeroizing::new(String::from_utf8_lossy(&key).into_owned()),
                ))
            }
            None => None,
        };
        Ok(Snapshot {
            algorithm: self.state.algorithm.clone(),
            authorities,
            issued: self.state.issued.clone(),
            publication: self.state.publication.clone(),
            ocsp_signer,
        })
    }
}
