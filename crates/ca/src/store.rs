//! A CA on disk: certificates and encrypted keys as PEM files, and a state
//! file recording every certificate issued and every CRL number used.
//!
//! ```text
//! DIR/root.crt  DIR/root.key        the root (key: encrypted PKCS#8)
//! DIR/issuing.crt  DIR/issuing.key  the intermediate, when there is one
//! DIR/state.json                    issued certificates, revocations, CRL numbers
//! DIR/crl.pem                       the current CRL of every CA
//! ```
//! `state.json` is written last at init, so its presence marks a complete
//! CA; every change is a locked read-modify-write with atomic replacement.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::authority::{CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry};
use crate::disk::{DirLock, IoError, lock, read, write_atomic};
use crate::error::{Error, InputError};
use crate::key::{CaKey, SigningAlgorithm};
use crate::serial::Serial;

const STATE: &str = "state.json";

mod log;
mod ocsp;
pub(crate) mod publish;
mod snapshot;

pub(crate) use snapshot::new_hierarchy;
pub use snapshot::{AuthoritySnapshot, Snapshot};

pub use log::{LOG_PUBLIC_KEY, open_log, origin_for, read_log_key};

/// What went wrong with a CA directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No CA here.
    #[error("no CA in {}: create one with `pkilab ca init --dir {}`", .0.display(), .0.display())]
    NotACa(PathBuf),
    /// A CA is already here.
    #[error("{} already holds a CA: choose another --dir", .0.display())]
    AlreadyExists(PathBuf),
    /// The passphrase does not open a key.
    #[error("wrong passphrase for {}: check PKILAB_PASSPHRASE or --passphrase-file", .0.display())]
    WrongPassphrase(PathBuf),
    /// The state file is damaged.
    #[error("{}: damaged CA state ({detail}): restore it from a backup", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// No certificate with this serial.
    #[error("no certificate with serial {0} was issued by this CA: see `pkilab ca list`")]
    UnknownSerial(String),
    /// Revoked already.
    #[error("serial {0} is already revoked")]
    AlreadyRevoked(String),
    /// A publication URL or partition count that cannot be used.
    #[error("unusable publication settings {0}")]
    Publication(String),
    /// A delta CRL needs a complete CRL to extend.
    #[error(
        "CA '{0}' has published no complete CRL yet: run `pkilab ca crl` before `ca crl --delta`"
    )]
    NoCompleteCrl(String),
    /// No CA in this database.
    #[error("{0}")]
    NoCaIn(String),
    /// The database already holds a CA.
    #[error("{0} already holds a CA: choose another --db, or open it")]
    DbAlreadyHolds(String),
    /// The database refused or failed.
    #[error("CA database: {0}")]
    Database(String),
    /// The database cannot be reached now; retrying later may succeed.
    #[error("the CA database cannot be reached ({0}): retry once it is back")]
    Unavailable(String),
    /// A file could not be read or written.
    #[error(transparent)]
    Io(#[from] IoError),
    /// The CA library refused.
    #[error(transparent)]
    Ca(#[from] Error),
    /// The transparency log.
    #[error(transparent)]
    Log(#[from] pkilab_tlog::LogError),
}

/// Whether a certificate is still good.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Not revoked.
    Valid,
    /// Revoked.
    Revoked,
}

/// One certificate this CA issued.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedRecord {
    /// Serial, hex.
    pub serial: String,
    /// Subject common name.
    pub subject: String,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// The CA that signed it ("root" or "issuing").
    pub issuer: String,
    /// Valid or revoked.
    pub status: Status,
    /// When it was revoked, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<i64>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RevocationReason>,
    /// The number of the first complete CRL that listed it; until then a
    /// delta CRL lists it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_complete_crl: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct CaRecord {
    file: String,
    name: String,
    crl_number: u64,
    /// The number of the last complete CRL, the base of delta CRLs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    last_complete: Option<u64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    version: u32,
    algorithm: String,
    cas: Vec<CaRecord>,
    issued: Vec<IssuedRecord>,
    /// Where the CA publishes, when it says so in its certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    publication: Option<Publication>,
    /// Serial of the delegated OCSP signer (`ocsp-signer.crt`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    ocsp_signer: Option<String>,
}

/// Where a CA publishes its CRLs, certificates and OCSP responder, and
/// over how many partitioned CRLs the issuing CA spreads its leaves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Publication {
    /// Base URL, e.g. `https://ca.example` (no trailing slash).
    pub url: String,
    /// Partitioned CRLs of the issuing CA (1: one CRL).
    pub partitions: u32,
}

impl Publication {
    /// Checks `url` (http or https, no spaces) and `partitions` (1 to 1024).
    pub fn new(url: &str, partitions: u32) -> Result<Publication, StoreError> {
        let url = url.trim_end_matches('/');
        let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
        if !scheme_ok || url.contains(char::is_whitespace) || !(1..=1024).contains(&partitions) {
            return Err(StoreError::Publication(format!(
                "'{url}' with {partitions} partitions: give an http:// or https:// URL and 1 to 1024 partitions"
            )));
        }
        Ok(Publication {
            url: url.to_owned(),
            partitions,
        })
    }

    /// `URL/crl/FILE.crl`, or `URL/crl/FILE-K.crl` for partition K.
    pub fn crl_url(&self, file: &str, partition: Option<u32>) -> String {
        match partition {
            Some(k) => format!("{}/crl/{file}-{k}.crl", self.url),
            None => format!("{}/crl/{file}.crl", self.url),
        }
    }

    /// The partition of a serial: its last four octets, modulo the count.
    pub fn partition_of(&self, serial: &Serial) -> Option<u32> {
        (self.partitions > 1).then(|| {
            let bytes = serial.as_bytes();
            let tail = &bytes[bytes.len().saturating_sub(4)..];
            let value = tail.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b));
            value % self.partitions
        })
    }
}

/// How to create a CA.
#[derive(Clone, Debug)]
pub struct InitOptions {
    /// Root subject.
    pub name: String,
    /// Intermediate subject, if any.
    pub intermediate: Option<String>,
    /// Key algorithm.
    pub algorithm: SigningAlgorithm,
    /// Root lifetime in days (the intermediate gets half).
    pub days: i64,
    /// PBKDF2 iterations for the key files.
    pub iterations: u32,
}

/// What to issue.
#[derive(Clone, Debug, Default)]
pub struct IssueOptions {
    /// Subject CN and peer name.
    pub name: String,
    /// Further dNSNames.
    pub dns: Vec<String>,
    /// iPAddresses.
    pub ips: Vec<std::net::IpAddr>,
    /// clientAuth only.
    pub client: bool,
    /// serverAuth only.
    pub server: bool,
    /// Lifetime in days.
    pub days: i64,
    /// A PKCS#10 request whose key to certify (DER or PEM).
    pub csr: Option<Vec<u8>>,
    /// PBKDF2 iterations for a new key file.
    pub iterations: u32,
}

/// What issuing produced, as PEM.
#[derive(Debug)]
pub struct Issued {
    /// The leaf.
    pub certificate: String,
    /// Intermediates, leaf side first.
    pub chain: String,
    /// The new key, encrypted (absent with a CSR).
    pub key: Option<String>,
    /// Its serial.
    pub serial: Serial,
}

/// An open CA directory.
#[derive(Debug)]
pub struct CaStore {
    dir: PathBuf,
    state: State,
    _lock: DirLock,
}

fn pem(label: &str, der: &[u8]) -> String {
    pem_lf(label, der)
}

/// `der` as PEM with LF line endings.
pub(crate) fn pem_lf(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

impl CaStore {
    /// Creates a CA in `dir` (made if missing).
    pub fn init(
        dir: &Path,
        options: &InitOptions,
        passphrase: &[u8],
        now: OffsetDateTime,
    ) -> Result<CaStore, StoreError> {
        std::fs::create_dir_all(dir).map_err(|source| IoError {
            path: dir.to_owned(),
            source,
        })?;
        let guard = lock(dir)?;
        if dir.join(STATE).exists() {
            return Err(StoreError::AlreadyExists(dir.to_owned()));
        }
        let snapshot = new_hierarchy(options, passphrase, now)?;
        for authority in &snapshot.authorities {
            write_atomic(
                &dir.join(format!("{}.crt", authority.file)),
                pem("CERTIFICATE", &authority.certificate).as_bytes(),
                false,
            )?;
            write_atomic(
                &dir.join(format!("{}.key", authority.file)),
                authority.wrapped_key.as_bytes(),
                true,
            )?;
        }
        let cas = snapshot
            .authorities
            .iter()
            .map(|a| CaRecord {
                file: a.file.clone(),
                name: a.name.clone(),
                crl_number: 0,
                last_complete: None,
            })
            .collect();
        let state = State {
            version: 1,
            algorithm: snapshot.algorithm,
            cas,
            issued: snapshot.issued,
            publication: None,
            ocsp_signer: None,
        };
        let store = CaStore {
            dir: dir.to_owned(),
            state,
            _lock: guard,
        };
        store.create_log(&origin_for(&options.name), passphrase, options.iterations)?;
        if let Some(issuing) = snapshot.authorities.get(1) {
            store.log_certificate(&issuing.certificate, passphrase)?;
        }
        // Written last: its presence marks a complete CA.
        store.save()?;
        Ok(store)
    }

    /// Opens the CA in `dir`, locking it until the store is dropped.
    pub fn open(dir: &Path) -> Result<CaStore, StoreError> {
        let path = dir.join(STATE);
        if !path.is_file() {
            return Err(StoreError::NotACa(dir.to_owned()));
        }
        let guard = lock(dir)?;
        let bytes = read(&path)?;
        let state: State = serde_json::from_slice(&bytes).map_err(|e| StoreError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        })?;
        if state.version != 1 || state.cas.is_empty() {
            return Err(StoreError::Corrupt {
                path,
                detail: format!("version {} with {} CAs", state.version, state.cas.len()),
            });
        }
        Ok(CaStore {
            dir: dir.to_owned(),
            state,
            _lock: guard,
        })
    }

    fn save(&self) -> Result<(), StoreError> {
        let bytes = serde_json::to_vec_pretty(&self.state).map_err(|e| StoreError::Corrupt {
            path: self.dir.join(STATE),
            detail: e.to_string(),
        })?;
        write_atomic(&self.dir.join(STATE), &bytes, false)?;
        Ok(())
    }

    /// Loads a CA with its key.
    fn authority(&self, file: &str, passphrase: &[u8]) -> Result<CertificateAuthority, StoreError> {
        let key_path = self.dir.join(format!("{file}.key"));
        let key = CaKey::from_encrypted(&read(&key_path)?, passphrase).map_err(|e| match e {
            Error::Input(InputError::WrongPassphrase) => {
                StoreError::WrongPassphrase(key_path.clone())
            }
            other => other.into(),
        })?;
        CertificateAuthority::from_parts(self.certificate(file)?, key).map_err(Into::into)
    }

    fn certificate(&self, file: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.dir.join(format!("{file}.crt"));
        let bytes = read(&path)?;
        let block = pem::parse(&bytes).map_err(|e| StoreError::Corrupt {
            path,
            detail: e.to_string(),
        })?;
        Ok(block.into_contents())
    }

    fn issuing_file(&self) -> &str {
        self.state.cas.last().map_or("root", |c| c.file.as_str())
    }

    /// Issues a leaf from the issuing CA (the root when there is none).
    pub fn issue(
        &mut self,
        options: &IssueOptions,
        passphrase: &[u8],
        now: OffsetDateTime,
    ) -> Result<Issued, StoreError> {
        // The request is checked before the CA key is decrypted: a garbage
        // CSR must not cost a key derivation under the CA lock.
        let (spki, key) = match &options.csr {
            Some(csr) => (crate::csr::public_key(csr)?, None),
            None => {
                let key = CaKey::generate(SigningAlgorithm::Ed25519)?;
                (key.public_key_spki_der(), Some(key))
            }
        };
        let file = self.issuing_file().to_owned();
        let ca = self.authority(&file, passphrase)?;
        let mut request = LeafRequest::new(&options.name, now, now + Duration::days(options.days));
        request.dns.clone_from(&options.dns);
        request.ips.clone_from(&options.ips);
        request.client = options.client;
        request.server = options.server;
        let serial = Serial::random();
        if let Some(publication) = &self.state.publication {
            request.locations = Some(crate::authority::Locations {
                crl: publication.crl_url(&file, publication.partition_of(&serial)),
                ocsp: Some(format!("{}/ocsp", publication.url)),
                ca_issuers: Some(format!("{}/ca/{file}.crt", publication.url)),
            });
        }
        let issued = ca.issue(&request, &spki, serial.clone())?;
        // Logged before it is recorded or handed out: a certificate that
        // exists is in the log.
        self.log_certificate(&issued.der, passphrase)?;
        let key = key
            .map(|k| k.to_encrypted_pem(passphrase, options.iterations))
            .transpose()?;
        self.state.issued.push(IssuedRecord {
            serial: serial.to_string(),
            subject: options.name.clone(),
            not_after: issued.not_after.unix_timestamp(),
            issuer: file.clone(),
            status: Status::Valid,
            revoked_at: None,
            reason: None,
            in_complete_crl: None,
        });
        self.save()?;
        let chain = if file == "root" {
            String::new()
        } else {
            pem("CERTIFICATE", ca.certificate_der())
        };
        Ok(Issued {
            certificate: pem("CERTIFICATE", &issued.der),
            chain,
            key,
            serial,
        })
    }

    /// Marks a certificate revoked; it appears on the next CRL.
    pub fn revoke(
        &mut self,
        serial: &Serial,
        reason: RevocationReason,
        now: OffsetDateTime,
    ) -> Result<(), StoreError> {
        let text = serial.to_string();
        let record = self
            .state
            .issued
            .iter_mut()
            .find(|r| r.serial.parse::<Serial>().is_ok_and(|s| s == *serial))
            .ok_or_else(|| StoreError::UnknownSerial(text.clone()))?;
        if record.status == Status::Revoked {
            return Err(StoreError::AlreadyRevoked(text));
        }
        record.status = Status::Revoked;
        record.revoked_at = Some(now.unix_timestamp());
        record.reason = Some(reason);
        self.save()
    }

    /// Says where the CA publishes (`url`) and over how many partitioned
    /// CRLs the issuing CA spreads its leaves; certificates issued from now
    /// on name these locations.
    pub fn set_publication(&mut self, publication: Publication) -> Result<(), StoreError> {
        self.state.publication = Some(publication);
        self.save()
    }

    /// Where the CA publishes, if it says.
    pub fn publication(&self) -> Option<&Publication> {
        self.state.publication.as_ref()
    }

    /// Every certificate issued, in order.
    pub fn issued(&self) -> &[IssuedRecord] {
        &self.state.issued
    }

    /// The serial of a certificate file.
    pub fn serial_of(certificate: &[u8]) -> Result<Serial, StoreError> {
        let der = match pem::parse(certificate) {
            Ok(block) => block.into_contents(),
            Err(_) => certificate.to_vec(),
        };
        let (_, cert) = x509_parser::parse_x509_certificate(&der)
            .map_err(|e| Error::Input(InputError::Certificate(e.to_string())))?;
        Ok(Serial::from_der_integer(cert.raw_serial()))
    }
}

fn revoked_entry(record: &IssuedRecord) -> Option<RevokedEntry> {
    Some(RevokedEntry {
        serial: record.serial.parse().ok()?,
        revoked_at: OffsetDateTime::from_unix_timestamp(record.revoked_at?).ok()?,
        reason: record.reason.unwrap_or(RevocationReason::Unspecified),
    })
}
