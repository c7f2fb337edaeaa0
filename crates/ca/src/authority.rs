//! A certificate authority in memory: describe a certificate, then sign it
//! with the CA's key. Time and serial numbers are always given by the
//! caller, so simulations stay reproducible.

use std::net::IpAddr;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyIdMethod, KeyUsagePurpose, SanType, SubjectPublicKeyInfo,
};
use time::OffsetDateTime;

use crate::error::{InputError, RequestError, Result};
use crate::key::CaKey;
use crate::serial::Serial;

pub use crate::revocation::{RevocationReason, RevokedEntry};

/// What a leaf certificate should say.
#[derive(Clone, Debug)]
pub struct LeafRequest {
    /// Subject common name; also a dNSName SAN when it is a valid DNS name
    /// (pkilab peers are identified by the dNSName equal to their name).
    pub name: String,
    /// Further dNSName SANs.
    pub dns: Vec<String>,
    /// iPAddress SANs.
    pub ips: Vec<IpAddr>,
    /// EKU id-kp-clientAuth.
    pub client: bool,
    /// EKU id-kp-serverAuth. When neither is set, both are.
    pub server: bool,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Where the issuing CA publishes its CRL, OCSP responder and
    /// certificate, written as cRLDistributionPoints and
    /// authorityInfoAccess.
    pub locations: Option<Locations>,
    /// A delegated OCSP signer (RFC 6960 §4.2.2.2): extKeyUsage
    /// id-kp-OCSPSigning only, and id-pkix-ocsp-nocheck.
    pub ocsp_signer: bool,
}

/// Where relying parties fetch what a CA publishes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Locations {
    /// The CRL that covers the certificate (cRLDistributionPoints).
    pub crl: String,
    /// The OCSP responder (authorityInfoAccess id-ad-ocsp).
    pub ocsp: Option<String>,
    /// The issuer's certificate (authorityInfoAccess id-ad-caIssuers).
    pub ca_issuers: Option<String>,
}

impl Locations {
    /// authorityInfoAccess (RFC 5280 §4.2.2.1), when it has anything to say.
    fn access(&self) -> Option<rcgen::CustomExtension> {
        let mut descriptions = Vec::new();
        for (method, uri) in [(1u8, &self.ocsp), (2u8, &self.ca_issuers)] {
            if let Some(uri) = uri {
                // id-ad-ocsp 1.3.6.1.5.5.7.48.1, id-ad-caIssuers …48.2.
                let oid = [0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, method];
                let location = der_tlv(0x86, uri.as_bytes());
                descriptions.push(der_tlv(0x30, &[&oid[..], &location].concat()));
            }
        }
        (!descriptions.is_empty()).then(|| {
            rcgen::CustomExtension::from_oid_content(
                &[1, 3, 6, 1, 5, 5, 7, 1, 1],
                der_tlv(0x30, &descriptions.concat()),
            )
        })
    }
}

fn der_tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    if content.len() < 0x80 {
        out.push(content.len() as u8);
    } else {
        let bytes = content.len().to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

impl LeafRequest {
    /// A request for `name` valid over the given period, for both usages.
    pub fn new(name: &str, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Self {
        LeafRequest {
            name: name.to_owned(),
            dns: Vec::new(),
            ips: Vec::new(),
            client: false,
            server: false,
            not_before,
            not_after,
            locations: None,
            ocsp_signer: false,
        }
    }
}

/// A certificate the CA signed.
#[derive(Clone, Debug)]
pub struct IssuedCertificate {
    /// DER encoding.
    pub der: Vec<u8>,
    /// Its serial number.
    pub serial: Serial,
    /// Its notAfter.
    pub not_after: OffsetDateTime,
}

/// A CA: its certificate and the key that signs for it.
pub struct CertificateAuthority {
    name: String,
    certificate: Vec<u8>,
    not_after: OffsetDateTime,
    key_id: Vec<u8>,
    issuer: Issuer<'static, CaKey>,
}

impl std::fmt::Debug for CertificateAuthority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertificateAuthority")
            .field("name", &self.name)
            .field("not_after", &self.not_after)
            .field("key", self.issuer.key())
            .finish()
    }
}

impl CertificateAuthority {
    /// A self-signed root: basicConstraints CA (critical), keyUsage
    /// keyCertSign and cRLSign (critical), SKI (RFC 5280 §4.2.1.2).
    pub fn new_root(
        name: &str,
        key: CaKey,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        serial: Serial,
    ) -> Result<Self> {
        check_period(not_before, not_after)?;
        let mut params = ca_params(
            name,
            not_before,
            not_after,
            serial,
            BasicConstraints::Unconstrained,
        );
        let key_id = params.key_identifier(&key);
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
        let certificate = params.self_signed(&key)?.der().to_vec();
        Ok(Self::assemble(
            name,
            certificate,
            not_after,
            key_id,
            params,
            key,
        ))
    }

    /// An intermediate signed by this CA, with AKI/SKI and an optional
    /// pathLenConstraint (RFC 5280 §4.2.1.9).
    pub fn new_intermediate(
        &self,
        name: &str,
        key: CaKey,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        path_len: Option<u8>,
        serial: Serial,
    ) -> Result<Self> {
        self.check_within(not_before, not_after)?;
        let constraint = path_len.map_or(
            BasicConstraints::Unconstrained,
            BasicConstraints::Constrained,
        );
        let mut params = ca_params(name, not_before, not_after, serial, constraint);
        params.use_authority_key_identifier_extension = true;
        let key_id = params.key_identifier(&key);
        params.key_identifier_method = KeyIdMethod::PreSpecified(key_id.clone());
        let certificate = params.signed_by(&key, &self.issuer)?.der().to_vec();
        Ok(Self::assemble(
            name,
            certificate,
            not_after,
            key_id,
            params,
            key,
        ))
    }

    /// Rebuilds a CA from its certificate and key (as stored on disk).
    pub fn from_parts(certificate_der: Vec<u8>, key: CaKey) -> Result<Self> {
        let (_, parsed) = x509_parser::parse_x509_certificate(&certificate_der)
            .map_err(|e| InputError::Certificate(e.to_string()))?;
        if parsed.public_key().raw != key.public_key_spki_der().as_slice() {
            return Err(InputError::Key("the key does not match the CA certificate".into()).into());
        }
        let name = crate::inspect::common_name(parsed.subject())
            .unwrap_or_else(|| parsed.subject().to_string());
        let not_after = parsed.validity().not_after.to_datetime();
        let der = rustls_pki_types::CertificateDer::from(certificate_der.as_slice());
        let issuer = Issuer::from_ca_cert_der(&der, key)?;
        let key_id = match parsed
            .get_extension_unique(&x509_parser::oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER)
        {
            Ok(Some(ext)) => match ext.parsed_extension() {
                x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => id.0.to_vec(),
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        drop(parsed);
        Ok(CertificateAuthority {
            name,
            certificate: certificate_der,
            not_after,
            key_id,
            issuer,
        })
    }

    fn assemble(
        name: &str,
        certificate: Vec<u8>,
        not_after: OffsetDateTime,
        key_id: Vec<u8>,
        params: CertificateParams,
        key: CaKey,
    ) -> Self {
        CertificateAuthority {
            name: name.to_owned(),
            certificate,
            not_after,
            key_id,
            issuer: Issuer::new(params, key),
        }
    }

    /// Signs a leaf for the given public key (DER SubjectPublicKeyInfo).
    pub fn issue(
        &self,
        request: &LeafRequest,
        subject_spki_der: &[u8],
        serial: Serial,
    ) -> Result<IssuedCertificate> {
        self.check_within(request.not_before, request.not_after)?;
        let public_key = SubjectPublicKeyInfo::from_der(subject_spki_der)
            .map_err(|e| InputError::PublicKey(e.to_string()))?;
        let mut params = leaf_params(
            &request.name,
            request.not_before,
            request.not_after,
            &serial,
        )?;
        params.subject_alt_names = subject_alt_names(request)?;
        params.extended_key_usages = match (request.client, request.server) {
            _ if request.ocsp_signer => vec![ExtendedKeyUsagePurpose::OcspSigning],
            (true, false) => vec![ExtendedKeyUsagePurpose::ClientAuth],
            (false, true) => vec![ExtendedKeyUsagePurpose::ServerAuth],
            _ => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        params.use_authority_key_identifier_extension = true;
        if request.ocsp_signer {
            // id-pkix-ocsp-nocheck (1.3.6.1.5.5.7.48.1.5), NULL.
            params
                .custom_extensions
                .push(rcgen::CustomExtension::from_oid_content(
                    &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
                    vec![0x05, 0x00],
                ));
        }
        if let Some(locations) = &request.locations {
            params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec![locations.crl.clone()],
            }];
            params.custom_extensions.extend(locations.access());
        }
        let der = params.signed_by(&public_key, &self.issuer)?.der().to_vec();
        Ok(IssuedCertificate {
            der,
            serial,
            not_after: request.not_after,
        })
    }

    /// Signs an RFC 5280 v2 CRL: CRLNumber, AKI, thisUpdate and nextUpdate,
    /// one entry per revoked certificate with its reason code.
    pub fn crl(
        &self,
        revoked: &[RevokedEntry],
        crl_number: u64,
        this_update: OffsetDateTime,
        next_update: OffsetDateTime,
    ) -> Result<Vec<u8>> {
        if next_update <= this_update {
            return Err(RequestError::EmptyCrlPeriod {
                this_update: rfc3339(this_update),
                next_update: rfc3339(next_update),
            }
            .into());
        }
        self.crl_with(&crate::crl::CrlRequest {
            revoked,
            number: crl_number,
            this_update,
            next_update,
            delta_base: None,
            scope: None,
            freshest: None,
        })
    }

    /// The key identifier of the CA's key (its SKI, every AKI it writes).
    pub(crate) fn key_id(&self) -> &[u8] {
        &self.key_id
    }

    /// The CA's certificate, DER.
    pub fn certificate_der(&self) -> &[u8] {
        &self.certificate
    }

    /// The CA's subject common name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The CA's notAfter.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }

    /// The CA's key.
    pub fn key(&self) -> &CaKey {
        self.issuer.key()
    }

    fn check_within(&self, not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<()> {
        check_period(not_before, not_after)?;
        if not_after > self.not_after {
            let max_days = (self.not_after - not_before).whole_days().max(0);
            return Err(RequestError::OutlivesIssuer {
                issuer: self.name.clone(),
                requested: rfc3339(not_after),
                issuer_ends: rfc3339(self.not_after),
                max_days,
            }
            .into());
        }
        Ok(())
    }
}

/// A self-signed end-entity certificate in `name`: what an impostor forges.
pub fn self_signed_leaf(
    name: &str,
    key: &CaKey,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: Serial,
) -> Result<Vec<u8>> {
    check_period(not_before, not_after)?;
    let mut params = leaf_params(name, not_before, not_after, &serial)?;
    params.subject_alt_names = subject_alt_names(&LeafRequest::new(name, not_before, not_after))?;
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    Ok(params.self_signed(key)?.der().to_vec())
}

/// RFC 3339 text for messages.
fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

fn check_period(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<()> {
    if not_before >= not_after {
        return Err(RequestError::EmptyValidity {
            not_before: rfc3339(not_before),
            not_after: rfc3339(not_after),
        }
        .into());
    }
    Ok(())
}

fn distinguished_name(name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, name);
    dn
}

fn ca_params(
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: Serial,
    constraint: BasicConstraints,
) -> CertificateParams {
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(name);
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial.to_rcgen());
    params.is_ca = IsCa::Ca(constraint);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params
}

fn leaf_params(
    name: &str,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    serial: &Serial,
) -> Result<CertificateParams> {
    if name.trim().is_empty() {
        return Err(RequestError::InvalidName {
            name: name.to_owned(),
            reason: "the subject name is empty".into(),
        }
        .into());
    }
    let mut params = CertificateParams::default();
    params.distinguished_name = distinguished_name(name);
    params.not_before = not_before;
    params.not_after = not_after;
    params.serial_number = Some(serial.to_rcgen());
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    Ok(params)
}

fn subject_alt_names(request: &LeafRequest) -> Result<Vec<SanType>> {
    let mut names = Vec::new();
    let push_dns = |name: &str, names: &mut Vec<SanType>| -> Result<()> {
        let ia5 =
            rcgen::string::Ia5String::try_from(name).map_err(|e| RequestError::InvalidName {
                name: name.to_owned(),
                reason: e.to_string(),
            })?;
        if !names.contains(&SanType::DnsName(ia5.clone())) {
            names.push(SanType::DnsName(ia5));
        }
        Ok(())
    };
    if is_dns_name(&request.name) {
        push_dns(&request.name, &mut names)?;
    }
    for dns in &request.dns {
        if !is_dns_name(dns) {
            return Err(RequestError::InvalidName {
                name: dns.clone(),
                reason:
                    "not a DNS name (letters, digits, '-' and dots; labels of 1 to 63 characters)"
                        .into(),
            }
            .into());
        }
        push_dns(dns, &mut names)?;
    }
    names.extend(request.ips.iter().copied().map(SanType::IpAddress));
    Ok(names)
}

/// Whether `name` is a preferred-syntax DNS name (RFC 1034 §3.5, with
/// RFC 1123 §2.1 digits first), lowercase or not, with an optional leading
/// `*.` wildcard label.
pub fn is_dns_name(name: &str) -> bool {
    let name = name.strip_prefix("*.").unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}
