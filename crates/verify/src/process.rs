//! RFC 5280 §6.1.3–6.1.5 over one complete path whose signatures the
//! builder has verified: validity, basic constraints and pathLen,
//! keyCertSign, name constraints, certificate policies, extended key usage
//! chaining, critical extensions, key strength, the RFC 5280 profile, and
//! finally revocation.

use time::OffsetDateTime;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry as oids;
use x509_parser::prelude::X509Certificate;

use crate::path::Candidate;
use crate::policy::{self, PolicyRequest};
use crate::signature::SignatureProblem;
use crate::validator::{Refusal, refuse};
use crate::verdict::{Reason, RevocationSource, Usage, Verdict, rfc3339};

/// A path that passed every check.
#[derive(Debug)]
pub(crate) struct Accepted {
    /// Subjects, leaf first, anchor last.
    pub(crate) chain: Vec<String>,
    /// The leaf's subjectPublicKeyInfo, as encoded.
    pub(crate) public_key: Vec<u8>,
    /// The user-constrained policy set (`None`: no policy applies).
    pub(crate) policies: Option<Vec<String>>,
    /// Legacy weaknesses accepted on the way.
    pub(crate) notes: Vec<String>,
    /// The revocation sources that spoke for the path.
    pub(crate) revocation: Vec<RevocationSource>,
}

/// Extensions this validator processes; any other critical one fails the
/// path (RFC 5280 §6.1.4 o, §6.1.5 f).
const PROCESSED: [x509_parser::der_parser::Oid<'static>; 12] = [
    oids::OID_X509_EXT_BASIC_CONSTRAINTS,
    oids::OID_X509_EXT_KEY_USAGE,
    oids::OID_X509_EXT_EXTENDED_KEY_USAGE,
    oids::OID_X509_EXT_SUBJECT_ALT_NAME,
    oids::OID_X509_EXT_NAME_CONSTRAINTS,
    oids::OID_X509_EXT_CERTIFICATE_POLICIES,
    oids::OID_X509_EXT_POLICY_MAPPINGS,
    oids::OID_X509_EXT_POLICY_CONSTRAINTS,
    oids::OID_X509_EXT_INHIBIT_ANY_POLICY,
    oids::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER,
    oids::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
    oids::OID_X509_EXT_CRL_DISTRIBUTION_POINTS,
];

/// The rules of one validation that do not depend on the path.
pub(crate) struct Rules<'r> {
    pub(crate) at: OffsetDateTime,
    pub(crate) usage: Usage,
    pub(crate) policy: &'r PolicyRequest,
    pub(crate) legacy: bool,
    /// OCSP responses that came with this one validation (a staple),
    /// beside the validator's stored ones.
    pub(crate) stapled: &'r [crate::ocsp::OcspEntry],
}

/// Checks `path` (leaf first, anchor last) under `rules`.
pub(crate) fn check(path: &[&Candidate<'_>], rules: &Rules<'_>) -> Result<Accepted, Refusal> {
    let last = path.len() - 1;
    let mut notes = Vec::new();
    for (position, node) in path.iter().enumerate() {
        within_validity(&node.cert, rules.at, position).map_err(|refusal| {
            if position == last
                && let Verdict::Invalid {
                    reason,
                    detail,
                    position,
                } = *refusal
            {
                return refuse(reason, format!("trust anchor {detail}"), position);
            }
            refusal
        })?;
        critical_extensions(&node.cert, position)?;
        if position > 0 {
            notes.extend(key_strength(&node.cert, position, rules.legacy)?);
        }
        if position > 0 {
            issuer_may_sign(&node.cert, position, position == last)?;
            eku_allows(&node.cert, rules.usage, position)?;
        }
    }
    path_length(path)?;
    name_constraints(path)?;
    let ordered: Vec<&X509Certificate<'_>> = path[..last].iter().rev().map(|c| &*c.cert).collect();
    let policies = policy::process(&ordered, rules.policy)
        .map_err(|detail| refuse(Reason::PolicyViolation, detail, None))?;
    let certs: Vec<&X509Certificate<'_>> = path.iter().map(|c| &*c.cert).collect();
    crate::profile::check_path(&certs, rules.usage)?;
    Ok(Accepted {
        chain: path.iter().map(|c| c.cert.subject().to_string()).collect(),
        public_key: path
            .first()
            .map(|leaf| leaf.cert.public_key().raw.to_vec())
            .unwrap_or_default(),
        policies,
        notes,
        revocation: Vec::new(),
    })
}

fn key_strength(
    cert: &X509Certificate<'_>,
    position: usize,
    legacy: bool,
) -> Result<Option<String>, Refusal> {
    crate::signature::key_strength(cert.public_key(), legacy).map_err(|problem| {
        let (reason, what) = match problem {
            SignatureProblem::WeakAlgorithm(w) => (Reason::WeakAlgorithm, w),
            SignatureProblem::WeakKey(w) | SignatureProblem::Unsupported(w) => (Reason::WeakKey, w),
            SignatureProblem::Invalid => (Reason::WeakKey, String::new()),
        };
        refuse(
            reason,
            format!("'{}' holds {what}", cert.subject()),
            Some(position),
        )
    })
}

pub(crate) fn within_validity(
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

fn critical_extensions(cert: &X509Certificate<'_>, position: usize) -> Result<(), Refusal> {
    for ext in cert.extensions() {
        if ext.critical && !PROCESSED.contains(&ext.oid) {
            return Err(refuse(
                Reason::UnsupportedCriticalExtension,
                format!(
                    "'{}' has critical extension {}, which this validator does not process",
                    cert.subject(),
                    ext.oid.to_id_string()
                ),
                Some(position),
            ));
        }
        if let ParsedExtension::ParseError { error } = ext.parsed_extension() {
            return Err(refuse(
                Reason::Malformed,
                format!(
                    "'{}': extension {} does not parse: {error}",
                    cert.subject(),
                    ext.oid.to_id_string()
                ),
                Some(position),
            ));
        }
    }
    Ok(())
}

/// §6.1.4 (k, n): an issuer is a CA with keyCertSign (a v1 trust anchor
/// is a CA by being trusted).
fn issuer_may_sign(
    cert: &X509Certificate<'_>,
    position: usize,
    anchor: bool,
) -> Result<(), Refusal> {
    let not_a_ca = |detail: String| refuse(Reason::NotACa, detail, Some(position));
    match cert.basic_constraints() {
        Ok(Some(bc)) if bc.value.ca => {}
        Ok(None) if anchor && cert.version().0 == 0 => {}
        Ok(Some(_)) => {
            return Err(not_a_ca(format!(
                "'{}' issues certificates, but its basicConstraints says cA=FALSE",
                cert.subject()
            )));
        }
        Ok(None) => {
            return Err(not_a_ca(format!(
                "'{}' issues certificates, but has no basicConstraints",
                cert.subject()
            )));
        }
        Err(e) => {
            return Err(refuse(
                Reason::Malformed,
                format!("'{}': basicConstraints: {e}", cert.subject()),
                Some(position),
            ));
        }
    }
    if let Ok(Some(ku)) = cert.key_usage()
        && !ku.value.key_cert_sign()
    {
        return Err(refuse(
            Reason::UsageMismatch,
            format!(
                "'{}' issues certificates, but its keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)",
                cert.subject()
            ),
            Some(position),
        ));
    }
    Ok(())
}

/// An EKU on a CA constrains what it issues, as webpki and browsers read
/// it; anyExtendedKeyUsage on a CA allows every usage.
fn eku_allows(cert: &X509Certificate<'_>, usage: Usage, position: usize) -> Result<(), Refusal> {
    let eku = match cert.extended_key_usage() {
        Ok(Some(eku)) => eku.value,
        Ok(None) => return Ok(()),
        Err(e) => {
            return Err(refuse(
                Reason::Malformed,
                format!("'{}': extendedKeyUsage: {e}", cert.subject()),
                Some(position),
            ));
        }
    };
    let empty = !eku.any
        && !eku.server_auth
        && !eku.client_auth
        && !eku.code_signing
        && !eku.email_protection
        && !eku.time_stamping
        && !eku.ocsp_signing
        && eku.other.is_empty();
    if empty {
        return Err(refuse(
            Reason::Malformed,
            format!(
                "'{}' has an empty extKeyUsage (RFC 5280 4.2.1.12: at least one purpose)",
                cert.subject()
            ),
            Some(position),
        ));
    }
    let allowed = eku.any
        || match usage {
            Usage::Server => eku.server_auth,
            Usage::Client => eku.client_auth,
            Usage::Any => true,
        };
    if allowed {
        Ok(())
    } else {
        Err(refuse(
            Reason::UsageMismatch,
            format!(
                "'{}' restricts the certificates it issues to other extended key usages",
                cert.subject()
            ),
            Some(position),
        ))
    }
}

/// §6.1.4 (l, m): pathLenConstraint, self-issued intermediates exempt; the
/// leaf is not counted.
fn path_length(path: &[&Candidate<'_>]) -> Result<(), Refusal> {
    let last = path.len() - 1;
    let mut remaining: Option<u32> = None;
    for i in (1..=last).rev() {
        if i != last && !path[i].self_issued() {
            match remaining {
                Some(0) => {
                    return Err(refuse(
                        Reason::PathTooLong,
                        format!(
                            "'{}' exceeds the pathLenConstraint of a CA above it",
                            path[i].cert.subject()
                        ),
                        Some(i),
                    ));
                }
                Some(n) => remaining = Some(n - 1),
                None => {}
            }
        }
        if let Ok(Some(bc)) = path[i].cert.basic_constraints()
            && let Some(limit) = bc.value.path_len_constraint
        {
            remaining = Some(remaining.map_or(limit, |r| r.min(limit)));
        }
    }
    Ok(())
}

/// §6.1.3 (b, c): each CA's constraints apply to every certificate below
/// it, self-issued intermediates excepted (the leaf always).
fn name_constraints(path: &[&Candidate<'_>]) -> Result<(), Refusal> {
    for (i, ca) in path.iter().enumerate().skip(1) {
        let Ok(Some(nc)) = ca.cert.name_constraints() else {
            continue;
        };
        for (j, below) in path[..i].iter().enumerate() {
            if j != 0 && below.self_issued() {
                continue;
            }
            crate::constraints::check(&below.cert, nc.value).map_err(|why| {
                refuse(
                    Reason::NameConstraintViolation,
                    format!(
                        "'{}': {why} of the name constraints of '{}'",
                        below.cert.subject(),
                        ca.cert.subject()
                    ),
                    Some(j),
                )
            })?;
        }
    }
    Ok(())
}
