//! End-entity certificates: good ones and the kinds a service must refuse.

use std::fmt;
use std::net::IpAddr;

use pkilab_ca::{CaKey, LeafRequest, Serial, is_dns_name};
use rcgen::{
    CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose,
    SanType,
};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};

use crate::error::{Misuse, Result};
use crate::pki::Pki;

/// What a leaf may be used for (its extendedKeyUsage, RFC 5280 §4.2.1.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// id-kp-serverAuth only.
    Server,
    /// id-kp-clientAuth only.
    Client,
    /// Both: what pkilab's peers carry.
    Both,
}

/// Who signed a leaf.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The PKI's issuing CA.
    Genuine,
    /// A CA with the same names as the PKI's, but other keys.
    Rogue,
    /// The leaf's own key.
    SelfSigned,
}

#[derive(Clone, Copy, Debug)]
enum Validity {
    /// From an hour ago (tolerating skew) to a year ahead.
    Current,
    /// From 30 days ago to yesterday.
    Expired,
    /// From tomorrow to 30 days ahead.
    NotYetValid,
    /// Exactly this period.
    Between(OffsetDateTime, OffsetDateTime),
}

/// Describes a leaf; [`issue`](LeafBuilder::issue) signs it. Made by
/// [`Pki::server`], [`Pki::client`] or [`Pki::leaf`].
#[derive(Clone, Debug)]
#[must_use = "a leaf is made by `issue()`"]
pub struct LeafBuilder<'pki> {
    pki: &'pki Pki,
    name: String,
    dns: Vec<String>,
    ips: Vec<IpAddr>,
    usage: Usage,
    wrong_usage: bool,
    validity: Validity,
    origin: Origin,
}

impl<'pki> LeafBuilder<'pki> {
    pub(crate) fn new(pki: &'pki Pki, name: &str, usage: Usage) -> Self {
        LeafBuilder {
            pki,
            name: name.to_owned(),
            dns: Vec::new(),
            ips: Vec::new(),
            usage,
            wrong_usage: false,
            validity: Validity::Current,
            origin: Origin::Genuine,
        }
    }

    /// Adds a dNSName SAN. The name itself is one already when it is a DNS
    /// name (`localhost`, `alice`, `api.example`).
    pub fn dns(mut self, name: &str) -> Self {
        self.dns.push(name.to_owned());
        self
    }

    /// Adds an iPAddress SAN, such as `127.0.0.1` for a loopback server.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.ips.push(ip);
        self
    }

    /// Valid from 30 days ago until yesterday, by the PKI's clock.
    pub fn expired(mut self) -> Self {
        self.validity = Validity::Expired;
        self
    }

    /// Valid from tomorrow for 30 days, by the PKI's clock.
    pub fn not_yet_valid(mut self) -> Self {
        self.validity = Validity::NotYetValid;
        self
    }

    /// Valid over exactly this period (within the CAs' validity, which runs
    /// from a year before the PKI was built to ten years after).
    pub fn validity(mut self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        self.validity = Validity::Between(not_before, not_after);
        self
    }

    /// The usage the leaf's role does not allow: a server leaf gets
    /// clientAuth only, a client leaf serverAuth only. A leaf for
    /// [`Usage::Both`] has no wrong usage, and `issue` says so.
    pub fn wrong_usage(mut self) -> Self {
        self.wrong_usage = true;
        self
    }

    /// Signed by a rogue CA that copies the PKI's CA names with keys of its
    /// own: the chain looks right to anything that compares names only.
    pub fn rogue(mut self) -> Self {
        self.origin = Origin::Rogue;
        self
    }

    /// Signed by its own key (issuer = subject), as an impostor would make
    /// it; not a CA certificate.
    pub fn self_signed(mut self) -> Self {
        self.origin = Origin::SelfSigned;
        self
    }

    /// Generates the leaf's key and signs the certificate.
    pub fn issue(self) -> Result<Leaf> {
        let request = self.request()?;
        let key = CaKey::generate(self.pki.algorithm())?;
        let serial = Serial::random();
        let (cert, intermediates) = match self.origin {
            Origin::SelfSigned => (self_signed(&request, &key, &serial)?, Vec::new()),
            Origin::Genuine | Origin::Rogue => {
                let hierarchy = match self.origin {
                    Origin::Rogue => self.pki.rogue()?,
                    _ => self.pki.genuine(),
                };
                let spki = key.public_key_spki_der();
                let issued = hierarchy.issuing().issue(&request, &spki, serial.clone())?;
                (issued.der, hierarchy.intermediates())
            }
        };
        Ok(Leaf {
            name: self.name,
            cert: CertificateDer::from(cert),
            intermediates,
            key: PrivatePkcs8KeyDer::from(key.to_pkcs8_der().to_vec()),
            serial,
            not_after: request.not_after,
            origin: self.origin,
            pki_id: self.pki.id(),
        })
    }

    /// What pkilab-ca is asked to sign: the usage resolved, the validity
    /// placed by the PKI's clock.
    fn request(&self) -> Result<LeafRequest> {
        let usage = match (self.wrong_usage, self.usage) {
            (false, usage) => usage,
            (true, Usage::Server) => Usage::Client,
            (true, Usage::Client) => Usage::Server,
            (true, Usage::Both) => {
                let name = self.name.clone();
                return Err(Misuse::NoWrongUsage { name }.into());
            }
        };
        let now = self.pki.clock().now();
        let (not_before, not_after) = match self.validity {
            Validity::Current => (now - Duration::hours(1), now + Duration::days(365)),
            Validity::Expired => (now - Duration::days(30), now - Duration::days(1)),
            Validity::NotYetValid => (now + Duration::days(1), now + Duration::days(30)),
            Validity::Between(from, to) => (from, to),
        };
        let mut request = LeafRequest::new(&self.name, not_before, not_after);
        request.dns.clone_from(&self.dns);
        request.ips.clone_from(&self.ips);
        request.server = usage != Usage::Client;
        request.client = usage != Usage::Server;
        Ok(request)
    }
}

/// The same profile pkilab-ca gives its leaves (critical basicConstraints
/// cA=FALSE, keyUsage digitalSignature, the SANs and EKUs asked for), signed
/// by the leaf's own key. pkilab-ca's `self_signed_leaf` carries no SANs
/// beyond the name and both EKUs, which would hide what a test asks for.
fn self_signed(request: &LeafRequest, key: &CaKey, serial: &Serial) -> Result<Vec<u8>> {
    let mut params = CertificateParams::default();
    let mut subject = DistinguishedName::new();
    subject.push(DnType::CommonName, request.name.as_str());
    params.distinguished_name = subject;
    params.not_before = request.not_before;
    params.not_after = request.not_after;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(serial.as_bytes()));
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    let names = std::iter::once(&request.name)
        .filter(|name| is_dns_name(name))
        .chain(&request.dns);
    for name in names {
        let ia5 = rcgen::string::Ia5String::try_from(name.as_str())?;
        params.subject_alt_names.push(SanType::DnsName(ia5));
    }
    params
        .subject_alt_names
        .extend(request.ips.iter().copied().map(SanType::IpAddress));
    if request.server {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if request.client {
        params
            .extended_key_usages
            .push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    Ok(params.self_signed(key)?.der().to_vec())
}

/// A leaf certificate with its key and the intermediates it is sent with.
pub struct Leaf {
    name: String,
    cert: CertificateDer<'static>,
    intermediates: Vec<CertificateDer<'static>>,
    key: PrivatePkcs8KeyDer<'static>,
    serial: Serial,
    not_after: OffsetDateTime,
    origin: Origin,
    pki_id: u64,
}

impl Leaf {
    /// The subject common name it was issued for.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The certificate.
    pub fn cert(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate followed by its intermediates (issuing CA first, no
    /// root): what `with_single_cert` and `with_client_auth_cert` take.
    pub fn chain(&self) -> Vec<CertificateDer<'static>> {
        std::iter::once(self.cert.clone())
            .chain(self.intermediates.iter().cloned())
            .collect()
    }

    /// The private key, PKCS#8.
    pub fn key(&self) -> PrivateKeyDer<'static> {
        PrivateKeyDer::Pkcs8(self.key.clone_key())
    }

    /// The serial number, as a CRL lists it.
    pub fn serial(&self) -> &Serial {
        &self.serial
    }

    /// The end of its validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The certificate as PEM.
    pub fn cert_pem(&self) -> String {
        crate::files::pem_block("CERTIFICATE", &self.cert)
    }

    /// The chain (as [`chain`](Leaf::chain)) as concatenated PEM.
    pub fn chain_pem(&self) -> String {
        self.chain()
            .iter()
            .map(|cert| crate::files::pem_block("CERTIFICATE", cert))
            .collect()
    }

    /// The private key as unencrypted PKCS#8 PEM (`PRIVATE KEY`).
    pub fn key_pem(&self) -> String {
        crate::files::pem_block("PRIVATE KEY", self.key.secret_pkcs8_der())
    }

    pub(crate) fn origin(&self) -> Origin {
        self.origin
    }

    pub(crate) fn pki_id(&self) -> u64 {
        self.pki_id
    }
}

impl Clone for Leaf {
    fn clone(&self) -> Self {
        Leaf {
            name: self.name.clone(),
            cert: self.cert.clone(),
            intermediates: self.intermediates.clone(),
            key: self.key.clone_key(),
            serial: self.serial.clone(),
            not_after: self.not_after,
            origin: self.origin,
            pki_id: self.pki_id,
        }
    }
}

impl fmt::Debug for Leaf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leaf")
            .field("name", &self.name)
            .field("serial", &self.serial)
            .field("not_after", &self.not_after)
            .field("origin", &self.origin)
            .field("key", &"[redacted]")
            .finish()
    }
}
