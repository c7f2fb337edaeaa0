//! The revocation status of the peer's certificate beyond the validator's
//! CRLs: an OCSP response (RFC 6960) this side fetched from the responder,
//! or the one the peer stapled to its authentication (as a TLS server
//! staples one, RFC 6066 §8). The one validator decides with the response
//! counted as a revocation source; this module only names precisely why a
//! status is missing when the side fails hard without one.

use pkilab_verify::{LogRequirement, OcspEntry, Reason, ValidationRequest, Verdict};
use time::OffsetDateTime;

use crate::auth::Config;
use crate::refusal::{Refusal, RefusalReason};

/// Where a side learns the status of its peer's certificate, beyond the
/// CRLs its validator holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum PeerStatus {
    /// The validator's CRLs only.
    #[default]
    Crl,
    /// A response this side fetched from the OCSP responder itself
    /// (`None`: no answer came back).
    Fetched(Option<Vec<u8>>),
    /// The response the peer staples to its authentication.
    Stapled,
}

/// OCSP in a handshake: what this side staples, and how it learns the
/// peer's status.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OcspConfig {
    /// A DER OCSPResponse for our own leaf, sent with our chain.
    pub staple: Option<Vec<u8>>,
    /// How the peer's status is learned.
    pub peer_status: PeerStatus,
    /// Go ahead when no usable status is at hand (soft-fail); otherwise
    /// refuse (hard-fail; with `Stapled`, must-staple).
    pub soft_fail: bool,
}

/// What came with the peer's chain besides the chain itself.
pub(crate) struct Evidence<'a> {
    /// The stapled OCSP response.
    pub staple: Option<&'a [u8]>,
    /// The log this side requires the leaf in, with the proof that came.
    pub logged: Option<LogRequirement>,
}

/// Validates the peer's chain with the OCSP response its status comes
/// from (and the inclusion proof, when this side requires one); returns
/// the chain's subjects and the leaf's subjectPublicKeyInfo.
pub(crate) fn validate(
    config: &Config,
    evidence: &Evidence<'_>,
    leaf: &[u8],
    intermediates: &[Vec<u8>],
    request: &ValidationRequest,
) -> Result<(Vec<String>, Vec<u8>), Refusal> {
    let staple = evidence.staple;
    let response = match &config.ocsp.peer_status {
        PeerStatus::Crl => None,
        PeerStatus::Fetched(fetched) => fetched.as_deref(),
        PeerStatus::Stapled => staple,
    };
    let (entries, problem): (Vec<OcspEntry>, Option<String>) =
        match response.map(OcspEntry::from_der) {
            Some(Ok(entry)) => (vec![entry], None),
            Some(Err(e)) => (Vec::new(), Some(e.to_string())),
            None => (Vec::new(), None),
        };
    let must_staple = config.ocsp.peer_status == PeerStatus::Stapled && !config.ocsp.soft_fail;
    match config.validator.validate_with_evidence(
        leaf,
        intermediates,
        request,
        &entries,
        evidence.logged.as_ref(),
    ) {
        // Monotone: a must-staple side refuses a missing staple whatever
        // the validator's own policy says.
        Verdict::Valid { .. } if must_staple && response.is_none() => Err(missing()),
        Verdict::Valid {
            chain, public_key, ..
        } => Ok((chain, public_key)),
        Verdict::Invalid {
            reason: Reason::RevocationUnknown,
            detail,
            ..
        } if config.ocsp.peer_status != PeerStatus::Crl => {
            Err(unknown(config, response, problem, entries.first(), &detail))
        }
        Verdict::Invalid { reason, detail, .. } => {
            Err(Refusal::new(RefusalReason::Certificate(reason), detail))
        }
        other => Err(Refusal::new(RefusalReason::Malformed, other.to_string())),
    }
}

fn missing() -> Refusal {
    Refusal::new(
        RefusalReason::StapleMissing,
        "the peer stapled no OCSP response to its certificate, and this side requires a fresh, good one (must-staple)",
    )
}

/// Why no usable status was at hand, as precisely as the response allows.
fn unknown(
    config: &Config,
    response: Option<&[u8]>,
    problem: Option<String>,
    entry: Option<&OcspEntry>,
    validator_detail: &str,
) -> Refusal {
    let stapled = config.ocsp.peer_status == PeerStatus::Stapled;
    let what = if stapled {
        "the stapled OCSP response"
    } else {
        "the OCSP responder's answer"
    };
    let (reason, detail) = match (response, problem, entry) {
        (None, _, _) if stapled => return missing(),
        (None, _, _) => (
            RefusalReason::Certificate(Reason::RevocationUnknown),
            "the OCSP responder gave no answer (unreachable), and this side fails hard without the certificate's status".to_owned(),
        ),
        (Some(_), Some(problem), _) => (
            RefusalReason::StapleInvalid,
            format!("{what} is not a usable OCSP response: {problem}"),
        ),
        (Some(_), None, Some(entry)) => match stale(entry, config.at) {
            Some(window) => (RefusalReason::StapleStale, format!("{what} {window}")),
            None => (
                RefusalReason::StapleInvalid,
                format!(
                    "{what} does not vouch for this certificate: it says unknown, names another certificate, or its issuer did not sign it ({validator_detail})"
                ),
            ),
        },
        (Some(_), None, None) => (
            RefusalReason::StapleInvalid,
            format!("{what} could not be read"),
        ),
    };
    // A response this side fetched is no staple: its problems are the
    // validator's `revocation-unknown`, with the precise detail.
    match reason {
        RefusalReason::StapleInvalid | RefusalReason::StapleStale if !stapled => Refusal::new(
            RefusalReason::Certificate(Reason::RevocationUnknown),
            detail,
        ),
        _ => Refusal::new(reason, detail),
    }
}

/// When `entry` is not fresh at `at`, how (thisUpdate, nextUpdate).
fn stale(entry: &OcspEntry, at: OffsetDateTime) -> Option<String> {
    let (this_update, next_update) = entry.validity()?;
    let time = |t: i64| {
        OffsetDateTime::from_unix_timestamp(t)
            .map_or_else(|_| t.to_string(), pkilab_verify::rfc3339)
    };
    let now = at.unix_timestamp();
    if this_update > now {
        return Some(format!(
            "is not valid before {}, after now ({})",
            time(this_update),
            time(now)
        ));
    }
    match next_update {
        Some(next) if next < now => Some(format!(
            "was produced at {} and expired at {} (nextUpdate), before now ({}): the sender has no fresh one",
            time(this_update),
            time(next),
            time(now)
        )),
        _ => None,
    }
}
