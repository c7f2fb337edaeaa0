//! TLS: the server certificate (issued by the CA on first start), and the
//! client-certificate check, done by `pkilab_verify` against the CA and
//! its current CRL. The CRL file is watched: when `DIR/crl.pem` changes,
//! the next handshake uses the new one, without a restart.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use pkilab_ca::CaDb;
use pkilab_ca::store::{CaStore, IssueOptions};
use pkilab_verify::{
    ExpectedName, Reason, RevocationPolicy, Usage, ValidationRequest, Validator, Verdict,
};
use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, Error, SignatureScheme};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, UnixTime};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::ServerError;

/// The CA's trust anchor, its issuing certificate, and the CRLs in force.
#[derive(Debug)]
pub struct CaView {
    dir: PathBuf,
    anchor: Vec<u8>,
    issuing: Vec<Vec<u8>>,
    validator: RwLock<Arc<Validator>>,
    /// (modified, length) of crl.pem when last loaded.
    stamp: Mutex<Option<(SystemTime, u64)>>,
    /// The CA in a database, when it is not in `dir`.
    db: Option<Arc<CaDb>>,
    /// The CRL numbers last loaded from the database.
    db_stamp: tokio::sync::Mutex<Vec<Option<i64>>>,
    /// Bumped at each reload of the CRLs, so open connections re-check
    /// their client certificate.
    generation: tokio::sync::watch::Sender<u64>,
    /// With `require-logged`, the CA's transparency log a client
    /// certificate must be in.
    logged: std::sync::OnceLock<Arc<crate::log_api::LogView>>,
}

fn der_blocks(path: &Path, label: &str) -> Result<Vec<Vec<u8>>, ServerError> {
    let bytes =
        std::fs::read(path).map_err(|e| ServerError::Setup(format!("{}: {e}", path.display())))?;
    pkilab_verify::pem_input::blocks(&bytes, label)
        .map_err(|e| ServerError::Setup(format!("{}: {e}", path.display())))
}

impl CaView {
    /// Reads the CA in `dir`.
    pub fn open(dir: &Path) -> Result<CaView, ServerError> {
        let anchor = der_blocks(&dir.join("root.crt"), "CERTIFICATE")?
            .into_iter()
            .next()
            .ok_or_else(|| ServerError::Setup("root.crt is empty".into()))?;
        let issuing_path = dir.join("issuing.crt");
        let issuing = if issuing_path.exists() {
            der_blocks(&issuing_path, "CERTIFICATE")?
        } else {
            Vec::new()
        };
        let view = CaView {
            dir: dir.to_owned(),
            validator: RwLock::new(Arc::new(Validator::new(vec![anchor.clone()])?)),
            anchor,
            issuing,
            stamp: Mutex::new(None),
            db: None,
            db_stamp: Default::default(),
            generation: tokio::sync::watch::Sender::new(0),
            logged: std::sync::OnceLock::new(),
        };
        view.refresh()?;
        Ok(view)
    }

    /// Reads the CA in the database `db`: its certificates once, its CRLs
    /// now and whenever [`CaView::refresh_from_db`] sees a new one.
    pub async fn open_db(db: Arc<CaDb>) -> Result<CaView, ServerError> {
        let mut certificates = db.authorities().iter().map(|a| a.certificate.clone());
        let anchor = certificates
            .next()
            .ok_or_else(|| ServerError::Setup("the CA database holds no root".into()))?;
        let view = CaView {
            dir: PathBuf::new(),
            validator: RwLock::new(Arc::new(Validator::new(vec![anchor.clone()])?)),
            anchor,
            issuing: certificates.collect(),
            stamp: Mutex::new(None),
            db: Some(db),
            db_stamp: Default::default(),
            generation: tokio::sync::watch::Sender::new(0),
            logged: std::sync::OnceLock::new(),
        };
        view.refresh_from_db().await?;
        Ok(view)
    }

    /// The CA database, when the CA is in one.
    pub fn database(&self) -> Option<&Arc<CaDb>> {
        self.db.as_ref()
    }

    /// Reloads the CRLs when any server published a new one since the last
    /// load (one cheap query when none did). A CA in a directory reloads
    /// from its file instead.
    pub async fn refresh_from_db(&self) -> Result<(), ServerError> {
        let Some(db) = &self.db else {
            return self.refresh();
        };
        let mut last = self.db_stamp.lock().await;
        let stamp = db.crl_stamp().await?;
        if *last == stamp {
            return Ok(());
        }
        let mut validator = Validator::new(vec![self.anchor.clone()])?;
        for current in db.current_crls().await? {
            for der in &current.der {
                validator.add_crl(der)?;
            }
        }
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
        *self
            .validator
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(validator);
        *last = stamp;
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
        Ok(())
    }

    fn crl_path(&self) -> PathBuf {
        self.dir.join("crl.pem")
    }

    /// Reloads the CRLs when crl.pem changed since the last load.
    pub fn refresh(&self) -> Result<(), ServerError> {
        if self.db.is_some() {
            // Polled from the database instead (see refresh_from_db): a
            // handshake does not wait on it.
            return Ok(());
        }
        let path = self.crl_path();
        let stamp = std::fs::metadata(&path)
            .ok()
            .map(|m| (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()));
        let mut last = self
            .stamp
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if stamp.is_none() || *last == stamp {
            return Ok(());
        }
        let mut validator = Validator::new(vec![self.anchor.clone()])?;
        for crl in der_blocks(&path, "X509 CRL")? {
            validator.add_crl(&crl)?;
        }
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
        *self
            .validator
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(validator);
        *last = stamp;
        self.generation.send_modify(|g| *g = g.wrapping_add(1));
        Ok(())
    }

    /// Changes each time the CRLs are reloaded.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.generation.subscribe()
    }

    /// From now on, client certificates must also be in `log`.
    pub(crate) fn require_logged(&self, log: Arc<crate::log_api::LogView>) {
        let _ = self.logged.set(log);
    }

    /// Validates a client chain now: the validator's verdict, and with
    /// `require-logged` a valid chain whose leaf is not in the CA's log is
    /// refused as `not-logged` (an extra check: it only refuses).
    pub fn check_client(&self, leaf: &[u8], presented: &[Vec<u8>]) -> Verdict {
        let verdict = self.validate_client(leaf, presented);
        let Some(log) = self.logged.get() else {
            return verdict;
        };
        if !verdict.is_valid() {
            return verdict;
        }
        match log.contains(leaf) {
            Ok(true) => verdict,
            Ok(false) => Verdict::invalid(
                Reason::NotLogged,
                "the client certificate is not in the CA's transparency log",
                Some(0),
            ),
            Err(e) => Verdict::invalid(
                Reason::NotLogged,
                format!("the CA's transparency log cannot be read: {}", e.detail),
                Some(0),
            ),
        }
    }

    fn validate_client(&self, leaf: &[u8], presented: &[Vec<u8>]) -> Verdict {
        if let Err(e) = self.refresh() {
            tracing::warn!("keeping the previous CRLs: {e}");
        }
        let validator = Arc::clone(
            &self
                .validator
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let mut intermediates = presented.to_vec();
        intermediates.extend(self.issuing.iter().cloned());
        let request = ValidationRequest {
            at: OffsetDateTime::now_utc(),
            name: ExpectedName::Any,
            usage: Usage::Client,
        };
        validator.validate(leaf, &intermediates, &request)
    }

    /// The chain a client needs to trust us: root, then issuing, as PEM.
    pub fn chain_pem(&self) -> String {
        std::iter::once(&self.anchor)
            .chain(self.issuing.iter())
            .map(|der| pem_lf("CERTIFICATE", der))
            .collect()
    }

    /// The current CRL file, as published.
    pub fn crl_pem(&self) -> Result<String, ServerError> {
        std::fs::read_to_string(self.crl_path())
            .map_err(|e| ServerError::Setup(format!("{}: {e}", self.crl_path().display())))
    }

    /// The CA directory (empty for a CA in a database).
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

fn pem_lf(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}

/// Asks every client for a certificate, accepts connections without one
/// (they reach only the public routes), and checks those presented with
/// [`CaView::check_client`].
#[derive(Debug)]
pub struct ClientVerifier {
    ca: Arc<CaView>,
    algorithms: WebPkiSupportedAlgorithms,
    hints: Vec<DistinguishedName>,
}

impl ClientVerifier {
    /// A verifier for the CA in `ca`.
    pub fn new(ca: Arc<CaView>, provider: &CryptoProvider) -> ClientVerifier {
        ClientVerifier {
            ca,
            algorithms: provider.signature_verification_algorithms,
            hints: Vec::new(),
        }
    }
}

/// The TLS alert a refusal reason becomes.
fn certificate_error(reason: Reason) -> CertificateError {
    match reason {
        Reason::Revoked => CertificateError::Revoked,
        Reason::Expired => CertificateError::Expired,
        Reason::NotYetValid => CertificateError::NotValidYet,
        Reason::UnknownIssuer => CertificateError::UnknownIssuer,
        Reason::BadSignature => CertificateError::BadSignature,
        Reason::UsageMismatch => CertificateError::InvalidPurpose,
        Reason::CrlStale | Reason::RevocationUnknown => CertificateError::UnknownRevocationStatus,
        Reason::Malformed => CertificateError::BadEncoding,
        _ => CertificateError::ApplicationVerificationFailure,
    }
}

impl ClientCertVerifier for ClientVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        false
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &self.hints
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, Error> {
        let presented: Vec<Vec<u8>> = intermediates.iter().map(|c| c.to_vec()).collect();
        match self.ca.check_client(end_entity, &presented) {
            Verdict::Valid { .. } => Ok(ClientCertVerified::assertion()),
            Verdict::Invalid { reason, detail, .. } => {
                tracing::info!("client certificate refused: {} ({detail})", reason.id());
                Err(Error::InvalidCertificate(certificate_error(reason)))
            }
            _ => Err(Error::InvalidCertificate(
                CertificateError::ApplicationVerificationFailure,
            )),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// The server's certificate chain and key: `DIR/server.crt`,
/// `server.chain.crt` and `server.key`, issued by the CA on first start.
pub fn server_identity(
    dir: &Path,
    name: &str,
    passphrase: &[u8],
) -> Result<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>), ServerError> {
    let cert_path = dir.join("server.crt");
    if !cert_path.exists() {
        let mut store = CaStore::open(dir)?;
        let ips = name.parse().map(|ip| vec![ip]).unwrap_or_default();
        let mut options = IssueOptions {
            name: name.to_owned(),
            dns: vec![],
            ips,
            client: false,
            server: true,
            days: 365,
            csr: None,
            iterations: pkilab_ca::encrypted_key::DEFAULT_ITERATIONS,
        };
        let now = OffsetDateTime::now_utc();
        let issued = match store.issue(&options, passphrase, now) {
            // A year, or as long as the issuing CA still lives.
            Err(pkilab_ca::store::StoreError::Ca(pkilab_ca::Error::Request(
                pkilab_ca::RequestError::OutlivesIssuer { max_days, .. },
            ))) if max_days >= 1 => {
                options.days = max_days;
                store.issue(&options, passphrase, now)?
            }
            other => other?,
        };
        let key = issued
            .key
            .ok_or_else(|| ServerError::Setup("the CA returned no key".into()))?;
        pkilab_ca::disk::write_atomic(&dir.join("server.key"), key.as_bytes(), true)?;
        pkilab_ca::disk::write_atomic(
            &dir.join("server.chain.crt"),
            issued.chain.as_bytes(),
            false,
        )?;
        pkilab_ca::disk::write_atomic(&cert_path, issued.certificate.as_bytes(), false)?;
    }
    let mut chain = der_blocks(&cert_path, "CERTIFICATE")?;
    let chain_path = dir.join("server.chain.crt");
    if std::fs::metadata(&chain_path).is_ok_and(|m| m.len() > 0) {
        chain.extend(der_blocks(&chain_path, "CERTIFICATE")?);
    }
    let key_bytes = std::fs::read(dir.join("server.key"))
        .map_err(|e| ServerError::Setup(format!("server.key: {e}")))?;
    let pkcs8: Zeroizing<Vec<u8>> =
        pkilab_ca::encrypted_key::decrypt_pkcs8(&key_bytes, passphrase)?;
    let key = PrivateKeyDer::try_from(pkcs8.to_vec())
        .map_err(|e| ServerError::Setup(format!("server.key: {e}")))?;
    Ok((chain.into_iter().map(CertificateDer::from).collect(), key))
}
