//! Revocation of one certificate of a path by CRLs, RFC 5280 §6.3:
//! complete CRLs found by issuer and scope (issuingDistributionPoint
//! against the certificate's distribution points, user/CA-only, reason
//! partitions, indirect CRLs through cRLIssuer), delta CRLs applied to the
//! complete CRL they extend, and each CRL's signer found and validated:
//! the certificate's issuer, or another certificate of the CRL issuer's
//! name (a rolled-over key, a delegated CRL signer) with cRLSign that
//! chains to the same trust anchor.

use std::cmp::Ordering;
use std::time::Duration;

use time::OffsetDateTime;
use x509_parser::extensions::{DistributionPointName, ParsedExtension};
use x509_parser::prelude::X509Certificate;

use crate::crl::{IndexedCrl, PointName, REMOVE_FROM_CRL};
use crate::ocsp::{OcspEntry, Status};
use crate::path::Candidate;
use crate::signature::SignatureProblem;
use crate::validator::{Refusal, refuse};
use crate::verdict::{Reason, RevocationPolicy, RevocationSource, rfc3339};

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
/// ReasonFlags bits 1 to 8: every reason a CRL can cover.
const ALL_REASONS: u16 = 0x1fe;

/// What revocation checking needs beyond the certificate and its issuer.
pub(crate) struct Context<'c, 'a> {
    pub(crate) crls: &'c [IndexedCrl],
    pub(crate) ocsp: &'c [OcspEntry],
    /// Responses that came with this validation only (a staple).
    pub(crate) stapled: &'c [OcspEntry],
    pub(crate) at: OffsetDateTime,
    pub(crate) max_crl_age: Option<Duration>,
    pub(crate) policy: RevocationPolicy,
    pub(crate) legacy: bool,
    /// Whether CRL signatures verified before may be reused.
    pub(crate) cache: bool,
    /// Certificates that may sign CRLs for another key of their name.
    pub(crate) pool: &'c [Candidate<'a>],
    /// Whether a delegated or rolled-over CRL signer chains to the same
    /// trust anchor as the path.
    pub(crate) signer_valid: &'c dyn Fn(&Candidate<'a>) -> bool,
}

impl Context<'_, '_> {
    /// The validation's time when CRL signatures may be reused.
    fn cache_at(&self) -> Option<OffsetDateTime> {
        self.cache.then_some(self.at)
    }
}

/// A distribution point of the certificate.
struct Point {
    names: Vec<PointName>,
    crl_issuer: Vec<PointName>,
}

/// What spoke for a certificate: legacy weaknesses accepted on the way,
/// and the sources used.
pub(crate) type Spoken = (Vec<String>, Vec<RevocationSource>);

/// Checks `cert` (at `position`), issued by `issuer`.
pub(crate) fn check(
    ctx: &Context<'_, '_>,
    cert: &Candidate<'_>,
    issuer: &Candidate<'_>,
    position: usize,
) -> Result<Spoken, Refusal> {
    let points = distribution_points(&cert.cert);
    let is_ca = cert.cert.is_ca();
    let mut covered = 0u16;
    let mut notes = Vec::new();
    let mut sources = Vec::new();
    let ocsp_good = ocsp(ctx, cert, issuer, position, &mut notes, &mut sources)?;
    for crl in ctx.crls.iter().filter(|c| c.delta_base.is_none()) {
        if !covers(crl, cert, &points, is_ca) {
            continue;
        }
        match signer(ctx, crl, issuer, position) {
            Ok(signed) => notes.extend(signed),
            // A CRL that names another key of the issuer's name and that no
            // certificate at hand can vouch for is someone else's.
            Err(_) if crl.key_id.is_some() && crl.key_id != key_id(&issuer.cert) => continue,
            Err(refusal) => return Err(refusal),
        }
        usable(ctx, crl, position)?;
        let delta = newest_delta(ctx, crl);
        if let Some(delta) = delta {
            usable(ctx, delta, position)?;
            notes.extend(signer(ctx, delta, issuer, position)?);
        }
        let status = match delta.and_then(|d| d.lookup_for(&cert.issuer, cert.cert.raw_serial())) {
            Some(entry) if entry.reason == REMOVE_FROM_CRL => None,
            Some(entry) => Some((entry, delta.unwrap_or(crl))),
            None => crl
                .lookup_for(&cert.issuer, cert.cert.raw_serial())
                .map(|entry| (entry, crl)),
        };
        if let Some((entry, from)) = status {
            let when = OffsetDateTime::from_unix_timestamp(entry.at)
                .map_or_else(|_| entry.at.to_string(), rfc3339);
            let why = REASONS
                .get(usize::from(entry.reason))
                .copied()
                .unwrap_or("unknown reason");
            let kind = if from.delta_base.is_some() {
                "delta CRL"
            } else {
                "CRL"
            };
            return Err(refuse(
                Reason::Revoked,
                format!(
                    "serial {} of '{}' was revoked at {when} ({why}), by the {kind} of '{}'",
                    hex::encode(cert.cert.raw_serial()),
                    cert.cert.subject(),
                    from.issuer_text
                ),
                Some(position),
            ));
        }
        for used in std::iter::once(crl).chain(delta) {
            let kind = if used.delta_base.is_some() {
                "delta-crl"
            } else {
                "crl"
            };
            sources.push(RevocationSource::new(
                position,
                kind,
                used.issuer_text.clone(),
                used.this_update,
                used.next_update,
            ));
        }
        covered |= crl.scope.reasons.unwrap_or(ALL_REASONS) & ALL_REASONS;
        if covered == ALL_REASONS {
            return Ok((notes, sources));
        }
    }
    if ocsp_good {
        return Ok((notes, sources));
    }
    if ctx.policy == RevocationPolicy::RequireFresh {
        let partly = if covered == 0 {
            "no CRL"
        } else {
            "no set of CRLs for every reason"
        };
        return Err(refuse(
            Reason::RevocationUnknown,
            format!(
                "{partly} from '{}' covering '{}' is loaded",
                cert.cert.issuer(),
                cert.cert.subject()
            ),
            Some(position),
        ));
    }
    Ok((notes, sources))
}

/// The OCSP responses that speak for `cert`: a revocation refuses (fresh
/// or not: revocation is final); a fresh "good" covers it.
fn ocsp(
    ctx: &Context<'_, '_>,
    cert: &Candidate<'_>,
    issuer: &Candidate<'_>,
    position: usize,
    notes: &mut Vec<String>,
    sources: &mut Vec<RevocationSource>,
) -> Result<bool, Refusal> {
    let at = ctx.at.unix_timestamp();
    let mut good = false;
    for entry in ctx.ocsp.iter().chain(ctx.stapled) {
        let Some(answer) = entry.answer(cert, issuer, ctx.legacy, ctx.at) else {
            continue;
        };
        let max_age = ctx
            .max_crl_age
            .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
        let fresh = answer.this_update <= at
            && match answer.next_update {
                Some(next) => at <= next,
                None => max_age.is_some_and(|m| at - answer.this_update <= m),
            }
            && max_age.is_none_or(|m| at - answer.this_update <= m);
        match answer.status {
            Status::Revoked { at: when, reason } => {
                let when = OffsetDateTime::from_unix_timestamp(when)
                    .map_or_else(|_| when.to_string(), rfc3339);
                let why = reason
                    .and_then(|r| REASONS.get(usize::from(r)).copied())
                    .unwrap_or("unspecified");
                return Err(refuse(
                    Reason::Revoked,
                    format!(
                        "serial {} of '{}' was revoked at {when} ({why}), by an OCSP response for '{}'",
                        hex::encode(cert.cert.raw_serial()),
                        cert.cert.subject(),
                        issuer.cert.subject()
                    ),
                    Some(position),
                ));
            }
            Status::Good if fresh => {
                good = true;
                notes.extend(answer.note);
                let time = |t: i64| OffsetDateTime::from_unix_timestamp(t).unwrap_or(ctx.at);
                sources.push(RevocationSource::new(
                    position,
                    "ocsp",
                    issuer.cert.subject().to_string(),
                    time(answer.this_update),
                    answer.next_update.map(time),
                ));
            }
            Status::Good | Status::Unknown => {}
        }
    }
    Ok(good)
}

fn distribution_points(cert: &X509Certificate<'_>) -> Vec<Point> {
    let mut out = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::CRLDistributionPoints(dps) = ext.parsed_extension() {
            for dp in &dps.points {
                let names = match &dp.distribution_point {
                    Some(DistributionPointName::FullName(names)) => {
                        names.iter().map(PointName::of).collect()
                    }
                    _ => Vec::new(),
                };
                let crl_issuer = dp.crl_issuer.iter().flatten().map(PointName::of).collect();
                out.push(Point { names, crl_issuer });
            }
        }
    }
    out
}

/// §6.3.3 (b): whether `crl` is a complete CRL whose scope includes `cert`.
fn covers(crl: &IndexedCrl, cert: &Candidate<'_>, points: &[Point], is_ca: bool) -> bool {
    let direct = crl.issuer == *cert.issuer;
    let indirect = crl.scope.indirect
        && points.iter().any(|p| {
            p.crl_issuer
                .iter()
                .any(|n| matches!(n, PointName::Directory(d) if *d == crl.issuer))
        });
    if !(direct || indirect) || crl.scope.only_attribute {
        return false;
    }
    if (crl.scope.only_user && is_ca) || (crl.scope.only_ca && !is_ca) {
        return false;
    }
    if crl.scope.names.is_empty() {
        return true;
    }
    points.iter().any(|p| {
        let names = if p.names.is_empty() {
            &p.crl_issuer
        } else {
            &p.names
        };
        names.iter().any(|n| crl.scope.names.contains(n))
    })
}

/// §6.3.3 (a, g): profile and freshness.
fn usable(ctx: &Context<'_, '_>, crl: &IndexedCrl, position: usize) -> Result<(), Refusal> {
    let refusal = |reason, detail: String| refuse(reason, detail, Some(position));
    if let Some(defect) = &crl.defect {
        return Err(refusal(
            Reason::CrlInvalid,
            format!("CRL of '{}': {defect}", crl.issuer_text),
        ));
    }
    if ctx.at < crl.this_update {
        return Err(refusal(
            Reason::CrlStale,
            format!(
                "the CRL of '{}' starts at {}, after {}",
                crl.issuer_text,
                rfc3339(crl.this_update),
                rfc3339(ctx.at)
            ),
        ));
    }
    if let Some(max) = ctx.max_crl_age {
        let age = ctx.at - crl.this_update;
        if age > max {
            return Err(refusal(
                Reason::CrlStale,
                format!(
                    "the CRL of '{}' was issued at {}, more than the allowed {}s before {}",
                    crl.issuer_text,
                    rfc3339(crl.this_update),
                    max.as_secs(),
                    rfc3339(ctx.at)
                ),
            ));
        }
    }
    match crl.next_update {
        None if ctx.max_crl_age.is_none() => Err(refusal(
            Reason::CrlInvalid,
            format!(
                "the CRL of '{}' has no nextUpdate (RFC 5280 §5.1.2.5); pass --max-crl-age to accept it",
                crl.issuer_text
            ),
        )),
        Some(next) if ctx.at > next => Err(refusal(
            Reason::CrlStale,
            format!(
                "the CRL of '{}' expired at {} (nextUpdate), before {}: publish a fresh CRL",
                crl.issuer_text,
                rfc3339(next),
                rfc3339(ctx.at)
            ),
        )),
        _ => Ok(()),
    }
}

/// §6.3.3 (c): the newest delta CRL that extends `complete`.
fn newest_delta<'c>(ctx: &Context<'c, '_>, complete: &IndexedCrl) -> Option<&'c IndexedCrl> {
    let number = complete.number.as_deref()?;
    ctx.crls
        .iter()
        .filter(|d| {
            d.issuer == complete.issuer
                && d.scope_der == complete.scope_der
                && d.delta_base
                    .as_deref()
                    .is_some_and(|base| compare(base, number) != Ordering::Greater)
                && d.number
                    .as_deref()
                    .is_some_and(|n| compare(n, number) == Ordering::Greater)
        })
        .max_by(|a, b| {
            compare(
                a.number.as_deref().unwrap_or(&[]),
                b.number.as_deref().unwrap_or(&[]),
            )
        })
}

/// Compares unsigned big-endian integers.
fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let trim = |x: &[u8]| -> Vec<u8> {
        let start = x.iter().position(|v| *v != 0).unwrap_or(x.len());
        x[start..].to_vec()
    };
    let (a, b) = (trim(a), trim(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(&b))
}

/// §6.3.3 (f): who signed `crl`. The certificate's issuer first; then any
/// other certificate of the CRL issuer's name (the CA's other key, or a
/// delegated CRL signer) that chains to the same trust anchor.
fn signer(
    ctx: &Context<'_, '_>,
    crl: &IndexedCrl,
    issuer: &Candidate<'_>,
    position: usize,
) -> Result<Vec<String>, Refusal> {
    let invalid = |detail: String| refuse(Reason::CrlInvalid, detail, Some(position));
    let mut problem = None;
    if crl.issuer == *issuer.subject {
        match crl.signature_by(issuer.cert.public_key().raw, ctx.legacy, ctx.cache_at()) {
            Ok(note) => {
                may_sign_crls(&issuer.cert).map_err(invalid)?;
                return Ok(note.into_iter().collect());
            }
            Err(p) => problem = Some(p),
        }
    }
    for other in ctx
        .pool
        .iter()
        .filter(|c| *c.subject == crl.issuer && c.der != issuer.der)
    {
        if let Ok(note) = crl.signature_by(other.cert.public_key().raw, ctx.legacy, ctx.cache_at())
            && may_sign_crls(&other.cert).is_ok()
            && (ctx.signer_valid)(other)
        {
            return Ok(note.into_iter().collect());
        }
    }
    Err(match problem {
        Some(SignatureProblem::WeakAlgorithm(what)) => refuse(
            Reason::WeakAlgorithm,
            format!("the CRL of '{}' is signed with {what}", crl.issuer_text),
            Some(position),
        ),
        Some(SignatureProblem::WeakKey(what)) => refuse(
            Reason::WeakKey,
            format!("the CRL of '{}' is signed by {what}", crl.issuer_text),
            Some(position),
        ),
        Some(SignatureProblem::Unsupported(what)) => invalid(format!(
            "the CRL of '{}' uses an unsupported signature: {what}",
            crl.issuer_text
        )),
        _ => invalid(format!(
            "the CRL of '{}' is not signed by the issuer's key, nor by another certificate of that name with cRLSign that chains to the same trust anchor",
            crl.issuer_text
        )),
    })
}

fn key_id(cert: &X509Certificate<'_>) -> Option<Vec<u8>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        })
}

/// RFC 5280 §4.2.1.3: a CRL signer's keyUsage, when present, has cRLSign.
fn may_sign_crls(cert: &X509Certificate<'_>) -> Result<(), String> {
    match cert.key_usage() {
        Ok(Some(ku)) if !ku.value.crl_sign() => Err(format!(
            "'{}' may not sign CRLs: its keyUsage lacks cRLSign (RFC 5280 §4.2.1.3)",
            cert.subject()
        )),
        _ => Ok(()),
    }
}
