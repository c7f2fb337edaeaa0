//! The validator: rustls-webpki builds the path and checks certificate
//! signatures, names and usages; on top of it we check what webpki leaves
//! out (trust-anchor validity, CRL profile, cRLSign, CRL signatures and
//! freshness) and attribute every refusal to a position in the chain.

use std::time::Duration;

use rustls_pki_types::TrustAnchor;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::OffsetDateTime;
use webpki::{EndEntityCert, KeyUsage};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use crate::crl::IndexedCrl;
use crate::error::Error;
use crate::explain::{AnyUsage, from_webpki};
use crate::rfc5280::Offered;
use crate::verdict::{
    ExpectedName, Reason, RevocationPolicy, Usage, ValidationRequest, Verdict, rfc3339,
};

/// A trust anchor with what we need beyond webpki's view of it.
#[derive(Debug)]
struct Anchor {
    webpki: TrustAnchor<'static>,
    name: String,
    spki: Vec<u8>,
    key_id: Option<Vec<u8>>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    crl_sign: Option<bool>,
    der: Vec<u8>,
}

/// Validates chains against a set of trust anchors and CRLs.
#[derive(Debug)]
pub struct Validator {
    anchors: Vec<Anchor>,
    webpki_anchors: Vec<TrustAnchor<'static>>,
    crls: Vec<IndexedCrl>,
    policy: RevocationPolicy,
}

pub(crate) type Refusal = Box<Verdict>;

pub(crate) fn refuse(
    reason: Reason,
    detail: impl Into<String>,
    position: Option<usize>,
) -> Refusal {
    Box::new(Verdict::invalid(reason, detail, position))
}

impl Validator {
    /// A validator trusting these DER certificates.
    pub fn new(anchors_der: Vec<Vec<u8>>) -> Result<Self, Error> {
        let mut anchors = Vec::with_capacity(anchors_der.len());
        for der in anchors_der {
            let (_, cert) = X509Certificate::from_der(&der)
                .map_err(|e| Error::Anchor(format!("does not parse: {e}")))?;
            let webpki = webpki::anchor_from_trusted_cert(&CertificateDer::from(der.as_slice()))
                .map_err(|e| Error::Anchor(format!("{e:?}")))?
                .to_owned();
            anchors.push(Anchor {
                webpki,
                name: cert.subject().to_string(),
                spki: cert.public_key().raw.to_vec(),
                key_id: subject_key_id(&cert),
                not_before: cert.validity().not_before.to_datetime(),
                not_after: cert.validity().not_after.to_datetime(),
                crl_sign: crl_sign(&cert),
                der: der.clone(),
            });
        }
        let webpki_anchors = anchors.iter().map(|a| a.webpki.clone()).collect();
        Ok(Validator {
            anchors,
            webpki_anchors,
            crls: Vec::new(),
            policy: RevocationPolicy::default(),
        })
    }

    /// Adds a CRL. When one from the same issuer and key is already loaded,
    /// the one with the later thisUpdate is kept.
    pub fn add_crl(&mut self, crl_der: &[u8]) -> Result<(), Error> {
        let crl = IndexedCrl::from_der(crl_der)?;
        let same = self
            .crls
            .iter()
            .position(|c| c.issuer == crl.issuer && c.key_id == crl.key_id);
        match same {
            Some(i) if self.crls[i].this_update >= crl.this_update => {}
            Some(i) => self.crls[i] = crl,
            None => self.crls.push(crl),
        }
        Ok(())
    }

    /// Sets what happens when no CRL covers a certificate.
    pub fn set_revocation_policy(&mut self, policy: RevocationPolicy) {
        self.policy = policy;
    }

    /// Validates `leaf_der` with the untrusted `intermediates_der`.
    pub fn validate(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
    ) -> Verdict {
        match self.check(leaf_der, intermediates_der, request) {
            Ok(chain) => Verdict::Valid { chain },
            Err(refusal) => *refusal,
        }
    }

    fn check(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
    ) -> Result<Vec<String>, Refusal> {
        // Certificate times have whole seconds; compare at that granularity.
        let at = request.at.replace_nanosecond(0).unwrap_or(request.at);
        let request = &ValidationRequest {
            at,
            ..request.clone()
        };
        let leaf = parse(leaf_der, 0)?;
        within_validity(&leaf, request.at, 0)?;
        let leaf_cd = CertificateDer::from(leaf_der);
        let end_entity = EndEntityCert::try_from(&leaf_cd).map_err(|e| from_webpki(&e, Some(0)))?;
        let intermediates: Vec<CertificateDer<'_>> = intermediates_der
            .iter()
            .map(|d| CertificateDer::from(d.as_slice()))
            .collect();
        let time = UnixTime::since_unix_epoch(Duration::from_secs(
            u64::try_from(request.at.unix_timestamp()).unwrap_or(0),
        ));
        let result = match request.usage {
            Usage::Client => end_entity.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.webpki_anchors,
                &intermediates,
                time,
                KeyUsage::client_auth(),
                None,
                None,
            ),
            Usage::Server => end_entity.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.webpki_anchors,
                &intermediates,
                time,
                KeyUsage::server_auth(),
                None,
                None,
            ),
            Usage::Any => end_entity.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                &self.webpki_anchors,
                &intermediates,
                time,
                AnyUsage,
                None,
                None,
            ),
        };
        let (chain, anchor) = match result {
            Ok(path) => {
                let mut chain: Vec<Vec<u8>> = vec![leaf_der.to_vec()];
                chain.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
                let anchor = self
                    .anchors
                    .iter()
                    .find(|a| {
                        a.webpki.subject == path.anchor().subject
                            && a.webpki.subject_public_key_info
                                == path.anchor().subject_public_key_info
                    })
                    .ok_or_else(|| {
                        refuse(
                            Reason::UnknownIssuer,
                            "the path ends at an anchor we do not hold",
                            None,
                        )
                    })?;
                (chain, anchor)
            }
            Err(e) if second_opinion(&e) => self
                .rfc5280_path(&leaf, leaf_der, intermediates_der, request)
                .ok_or_else(|| self.locate(&e, intermediates_der, request.at))?,
            Err(e) => return Err(self.locate(&e, intermediates_der, request.at)),
        };
        if request.at < anchor.not_before || request.at > anchor.not_after {
            let reason = if request.at > anchor.not_after {
                Reason::Expired
            } else {
                Reason::NotYetValid
            };
            let detail = format!(
                "trust anchor '{}' is valid from {} to {}, not at {}",
                anchor.name,
                rfc3339(anchor.not_before),
                rfc3339(anchor.not_after),
                rfc3339(request.at)
            );
            return Err(refuse(reason, detail, Some(chain.len())));
        }
        let mut path = Vec::with_capacity(chain.len() + 1);
        for (position, der) in chain.iter().chain(std::iter::once(&anchor.der)).enumerate() {
            path.push(parse(der, position)?);
        }
        crate::profile::check_path(&path, request.usage)?;
        check_name(&end_entity, &leaf, &request.name)?;
        self.check_revocation(&path, anchor, request.at)?;
        Ok(path.iter().map(|c| c.subject().to_string()).collect())
    }

    /// RFC 5280 path processing where webpki refused for a reason RFC 5280
    /// does not share (see `rfc5280`).
    fn rfc5280_path(
        &self,
        leaf: &X509Certificate<'_>,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
    ) -> Option<(Vec<Vec<u8>>, &Anchor)> {
        let mut offered = Vec::new();
        for der in intermediates_der {
            if let Ok(([], cert)) = X509Certificate::from_der(der) {
                offered.push((
                    der.as_slice(),
                    Offered {
                        cert,
                        anchor: false,
                    },
                ));
            }
        }
        let first_anchor = offered.len();
        for anchor in &self.anchors {
            let (_, cert) = X509Certificate::from_der(&anchor.der).ok()?;
            offered.push((anchor.der.as_slice(), Offered { cert, anchor: true }));
        }
        let (ders, certs): (Vec<&[u8]>, Vec<Offered<'_>>) = offered.into_iter().unzip();
        let found = crate::rfc5280::find_path(leaf, &certs, request.at, request.usage)?;
        let (&anchor_index, intermediates) = found.split_last()?;
        let mut chain = vec![leaf_der.to_vec()];
        chain.extend(intermediates.iter().map(|i| ders[*i].to_vec()));
        let anchor = self.anchors.get(anchor_index.checked_sub(first_anchor)?)?;
        Some((chain, anchor))
    }

    /// Attributes a webpki failure to the certificate that caused it, where
    /// it can be found: webpki reports what failed, not where.
    fn locate(
        &self,
        error: &webpki::Error,
        intermediates_der: &[Vec<u8>],
        at: OffsetDateTime,
    ) -> Refusal {
        if matches!(
            error,
            webpki::Error::CertExpired { .. } | webpki::Error::CertNotValidYet { .. }
        ) {
            for (i, der) in intermediates_der.iter().enumerate() {
                if let Ok((_, cert)) = X509Certificate::from_der(der)
                    && let Err(refusal) = within_validity(&cert, at, i + 1)
                {
                    return refusal;
                }
            }
        }
        from_webpki(error, None)
    }

    /// Revocation of every certificate of `path` but the anchor (its last).
    fn check_revocation(
        &self,
        path: &[X509Certificate<'_>],
        anchor: &Anchor,
        at: OffsetDateTime,
    ) -> Result<(), Refusal> {
        let certificates = path.len().saturating_sub(1);
        for (position, cert) in path.iter().take(certificates).enumerate() {
            let (issuer_spki, issuer_ski, issuer_crl_sign) = if position + 1 < certificates {
                let issuer = &path[position + 1];
                (
                    issuer.public_key().raw,
                    subject_key_id(issuer),
                    crl_sign(issuer),
                )
            } else {
                (
                    anchor.spki.as_slice(),
                    anchor.key_id.clone(),
                    anchor.crl_sign,
                )
            };
            let crl = self.crls.iter().find(|c| {
                c.issuer == cert.issuer().as_raw()
                    && (c.key_id.is_none() || issuer_ski.is_none() || c.key_id == issuer_ski)
            });
            let Some(crl) = crl else {
                if self.policy == RevocationPolicy::RequireFresh {
                    return Err(refuse(
                        Reason::RevocationUnknown,
                        format!("no CRL from '{}' is loaded", cert.issuer()),
                        Some(position),
                    ));
                }
                continue;
            };
            crate::revocation::check(crl, cert, position, issuer_spki, issuer_crl_sign, at)?;
        }
        Ok(())
    }
}

/// webpki refusals where RFC 5280 may accept the path: self-issued
/// certificates confuse its pathLen and signature bookkeeping, it cannot
/// evaluate directoryName or rfc822Name constraints. (A CA certificate as
/// the leaf stays refused, as CA/B Forum 7.1.2.7 and webpki have it.)
fn second_opinion(error: &webpki::Error) -> bool {
    matches!(
        error,
        webpki::Error::NameConstraintViolation
            | webpki::Error::InvalidSignatureForPublicKey
            | webpki::Error::UnknownIssuer
            | webpki::Error::PathLenConstraintViolated
    )
}

pub(crate) fn parse(der: &[u8], position: usize) -> Result<X509Certificate<'_>, Refusal> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(refuse(
            Reason::Malformed,
            "trailing bytes after the certificate",
            Some(position),
        )),
        Err(e) => Err(refuse(
            Reason::Malformed,
            format!("not a DER X.509 certificate: {e}"),
            Some(position),
        )),
    }
}

fn within_validity(
    cert: &X509Certificate<'_>,
    at: OffsetDateTime,
    position: usize,
) -> Result<(), Refusal> {
    let not_before = cert.validity().not_before.to_datetime();
    let not_after = cert.validity().not_after.to_datetime();
    if at < not_before {
        return Err(refuse(
            Reason::NotYetValid,
            format!(
                "'{}' is valid from {}, not yet at {}",
                cert.subject(),
                rfc3339(not_before),
                rfc3339(at)
            ),
            Some(position),
        ));
    }
    if at > not_after {
        return Err(refuse(
            Reason::Expired,
            format!(
                "'{}' expired at {}, before {}",
                cert.subject(),
                rfc3339(not_after),
                rfc3339(at)
            ),
            Some(position),
        ));
    }
    Ok(())
}

fn subject_key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            x509_parser::extensions::ParsedExtension::SubjectKeyIdentifier(id) => {
                Some(id.0.to_vec())
            }
            _ => None,
        })
}

/// `Some(bool)` when the certificate has a keyUsage extension.
fn crl_sign(cert: &X509Certificate<'_>) -> Option<bool> {
    cert.key_usage()
        .ok()
        .flatten()
        .map(|ku| ku.value.crl_sign())
}

fn check_name(
    end_entity: &EndEntityCert<'_>,
    leaf: &X509Certificate<'_>,
    name: &ExpectedName,
) -> Result<(), Refusal> {
    let server_name = match name {
        ExpectedName::Any => return Ok(()),
        ExpectedName::Email(address) => return check_email(leaf, address),
        ExpectedName::Dns(dns) | ExpectedName::Peer(dns) => ServerName::try_from(dns.as_str())
            .map_err(|_| {
                refuse(
                    Reason::NameMismatch,
                    format!("'{dns}' is not a valid DNS name"),
                    Some(0),
                )
            })?,
        ExpectedName::Ip(ip) => ServerName::IpAddress((*ip).into()),
    };
    end_entity
        .verify_is_valid_for_subject_name(&server_name)
        .map_err(|e| match e {
            webpki::Error::CertNotValidForName(_) => {
                let wanted = match name {
                    ExpectedName::Ip(ip) => ip.to_string(),
                    ExpectedName::Dns(n) | ExpectedName::Peer(n) | ExpectedName::Email(n) => {
                        n.clone()
                    }
                    ExpectedName::Any => String::new(),
                };
                refuse(
                    Reason::NameMismatch,
                    format!("the certificate names {}, not '{wanted}'", san_list(leaf)),
                    Some(0),
                )
            }
            other => from_webpki(&other, Some(0)),
        })
}

fn check_email(leaf: &X509Certificate<'_>, address: &str) -> Result<(), Refusal> {
    let matches = |candidate: &str| match (candidate.rsplit_once('@'), address.rsplit_once('@')) {
        (Some((cl, cd)), Some((al, ad))) => cl == al && cd.eq_ignore_ascii_case(ad),
        _ => false,
    };
    let found = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::RFC822Name(e) if matches(e)))
        });
    if found {
        Ok(())
    } else {
        Err(refuse(
            Reason::NameMismatch,
            format!("the certificate names {}, not '{address}'", san_list(leaf)),
            Some(0),
        ))
    }
}

fn san_list(leaf: &X509Certificate<'_>) -> String {
    let names: Vec<String> = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .map(|n| match n {
                    GeneralName::DNSName(d) => d.to_string(),
                    GeneralName::RFC822Name(e) => e.to_string(),
                    other => other.to_string(),
                })
                .collect()
        })
        .unwrap_or_default();
    if names.is_empty() {
        "no subject alternative names".into()
    } else {
        names.join(", ")
    }
}
