//! Revocation of one certificate of a path, by its issuer's CRL
//! (RFC 5280 §6.3, for complete CRLs without delta or partitioning).

use time::OffsetDateTime;
use x509_parser::prelude::X509Certificate;

use crate::crl::IndexedCrl;
use crate::signature::SignatureProblem;
use crate::verdict::{Reason, Verdict, rfc3339};

const REASONS: [&str; 11] = [
    "unspecified",
    "key-compromise",
    "ca-compromise",
    "affiliation-changed",
    "superseded",
    "cessation-of-operation",
    "certificate-hold",
    "unused",
    "remove-from-crl",
    "privilege-withdrawn",
    "aa-compromise",
];

/// Checks `cert` (at `position`) against `crl`, signed by the issuer whose
/// SPKI and keyUsage cRLSign bit (`None`: no keyUsage) are given.
pub(crate) fn check(
    crl: &IndexedCrl,
    cert: &X509Certificate<'_>,
    position: usize,
    issuer_spki: &[u8],
    issuer_crl_sign: Option<bool>,
    at: OffsetDateTime,
) -> Result<(), Box<Verdict>> {
    let invalid =
        |reason, detail: String| Box::new(Verdict::invalid(reason, detail, Some(position)));
    if let Some(defect) = &crl.defect {
        return Err(invalid(
            Reason::CrlInvalid,
            format!("CRL of '{}': {defect}", crl.issuer_text),
        ));
    }
    if issuer_crl_sign == Some(false) {
        return Err(invalid(
            Reason::CrlInvalid,
            format!(
                "'{}' may not sign CRLs: its keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)",
                crl.issuer_text
            ),
        ));
    }
    match crl.signature_by(issuer_spki) {
        Ok(()) => {}
        Err(SignatureProblem::Invalid) => {
            return Err(invalid(
                Reason::CrlInvalid,
                format!(
                    "the CRL of '{}' is not signed by the issuer's key",
                    crl.issuer_text
                ),
            ));
        }
        Err(SignatureProblem::Unsupported(what)) => {
            return Err(invalid(
                Reason::CrlInvalid,
                format!(
                    "the CRL of '{}' uses an unsupported signature: {what}",
                    crl.issuer_text
                ),
            ));
        }
    }
    if at < crl.this_update {
        return Err(invalid(
            Reason::CrlStale,
            format!(
                "the CRL of '{}' starts at {}, after {}",
                crl.issuer_text,
                rfc3339(crl.this_update),
                rfc3339(at)
            ),
        ));
    }
    match crl.next_update {
        None => {
            return Err(invalid(
                Reason::CrlInvalid,
                format!(
                    "the CRL of '{}' has no nextUpdate (RFC 5280 §5.1.2.5)",
                    crl.issuer_text
                ),
            ));
        }
        Some(next) if at > next => {
            return Err(invalid(
                Reason::CrlStale,
                format!(
                    "the CRL of '{}' expired at {} (nextUpdate), before {}: publish a fresh CRL",
                    crl.issuer_text,
                    rfc3339(next),
                    rfc3339(at)
                ),
            ));
        }
        Some(_) => {}
    }
    if let Some(revocation) = crl.lookup(cert.raw_serial()) {
        let when = OffsetDateTime::from_unix_timestamp(revocation.at)
            .map_or_else(|_| revocation.at.to_string(), rfc3339);
        let why = REASONS
            .get(usize::from(revocation.reason))
            .copied()
            .unwrap_or("unknown reason");
        return Err(invalid(
            Reason::Revoked,
            format!(
                "serial {} of '{}' was revoked at {when} ({why})",
                hex::encode(cert.raw_serial()),
                cert.subject()
            ),
        ));
    }
    Ok(())
}
