//! What a validation concludes, and what it was asked.

use std::fmt;
use std::net::IpAddr;

use serde::Serialize;
use time::OffsetDateTime;

/// A time as RFC 3339 (`2026-01-01T00:00:00Z`), the form people and
/// `--at` use.
pub fn rfc3339(at: OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| at.to_string())
}

/// The name the certificate must be valid for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExpectedName {
    /// A DNS-ID, checked against dNSName SANs (RFC 6125 §6.4).
    Dns(String),
    /// An iPAddress SAN.
    Ip(IpAddr),
    /// An rfc822Name SAN.
    Email(String),
    /// A pkilab peer: peers carry their name as a dNSName SAN, so this is
    /// checked exactly as a DNS-ID.
    Peer(String),
    /// No name check.
    Any,
}

/// The extended key usage the leaf must allow (RFC 5280 §4.2.1.12).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Usage {
    /// id-kp-clientAuth.
    Client,
    /// id-kp-serverAuth.
    Server,
    /// No EKU requirement.
    Any,
}

/// What to do when no CRL covers a certificate of the path.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum RevocationPolicy {
    /// Every non-anchor certificate's issuer must have a CRL loaded;
    /// otherwise the verdict is `revocation-unknown`.
    RequireFresh,
    /// Check revocation where a CRL is loaded; skip it elsewhere.
    #[default]
    IfPresent,
}

/// One validation question.
#[derive(Clone, Debug)]
pub struct ValidationRequest {
    /// The time at which the chain must be valid.
    pub at: OffsetDateTime,
    /// The name it must be valid for.
    pub name: ExpectedName,
    /// The usage it must allow.
    pub usage: Usage,
}

/// Why a certificate is refused. The ids are stable: scripts and scenario
/// files match on them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Listed on its issuer's CRL.
    Revoked,
    /// After its notAfter.
    Expired,
    /// Before its notBefore.
    NotYetValid,
    /// No path to a trust anchor.
    UnknownIssuer,
    /// A signature does not verify, or uses an algorithm we do not accept.
    BadSignature,
    /// Not valid for the expected name.
    NameMismatch,
    /// A name constraint of an issuing CA excludes the certificate.
    NameConstraintViolation,
    /// The key usage or extended key usage does not allow this use.
    UsageMismatch,
    /// A certificate in the issuer position is not a CA.
    NotACa,
    /// A CA certificate was presented as the end entity.
    CaUsedAsEndEntity,
    /// A pathLenConstraint, or our depth limit, is exceeded.
    PathTooLong,
    /// A CRL is past its nextUpdate, or before its thisUpdate.
    CrlStale,
    /// A CRL is malformed, unsigned by its issuer, or breaks RFC 5280 §5.
    CrlInvalid,
    /// No CRL covers a certificate and the policy requires one.
    RevocationUnknown,
    /// A critical extension we do not process.
    UnsupportedCriticalExtension,
    /// The encoding breaks DER or RFC 5280 profile rules.
    Malformed,
    /// A signature uses an algorithm refused as weak (SHA-1, MD5, DSA).
    WeakAlgorithm,
    /// A key is too weak to trust (RSA below 2048 bits, a small curve).
    WeakKey,
    /// No certificate policy acceptable to the relying party is valid for
    /// the path while one is required (RFC 5280 §6.1.5).
    PolicyViolation,
    /// No valid inclusion proof in the transparency log the relying party
    /// requires.
    NotLogged,
}

impl Reason {
    /// The stable kebab-case id.
    pub fn id(&self) -> &'static str {
        match self {
            Reason::Revoked => "revoked",
            Reason::Expired => "expired",
            Reason::NotYetValid => "not-yet-valid",
            Reason::UnknownIssuer => "unknown-issuer",
            Reason::BadSignature => "bad-signature",
            Reason::NameMismatch => "name-mismatch",
            Reason::NameConstraintViolation => "name-constraint-violation",
            Reason::UsageMismatch => "usage-mismatch",
            Reason::NotACa => "not-a-ca",
            Reason::CaUsedAsEndEntity => "ca-used-as-end-entity",
            Reason::PathTooLong => "path-too-long",
            Reason::CrlStale => "crl-stale",
            Reason::CrlInvalid => "crl-invalid",
            Reason::RevocationUnknown => "revocation-unknown",
            Reason::UnsupportedCriticalExtension => "unsupported-critical-extension",
            Reason::Malformed => "malformed",
            Reason::WeakAlgorithm => "weak-algorithm",
            Reason::WeakKey => "weak-key",
            Reason::PolicyViolation => "policy-violation",
            Reason::NotLogged => "not-logged",
        }
    }

    /// Every reason, in the order of their ids' documentation.
    pub fn all() -> &'static [Reason] {
        &[
            Reason::Revoked,
            Reason::Expired,
            Reason::NotYetValid,
            Reason::UnknownIssuer,
            Reason::BadSignature,
            Reason::WeakAlgorithm,
            Reason::WeakKey,
            Reason::NameMismatch,
            Reason::NameConstraintViolation,
            Reason::UsageMismatch,
            Reason::NotACa,
            Reason::CaUsedAsEndEntity,
            Reason::PathTooLong,
            Reason::PolicyViolation,
            Reason::CrlStale,
            Reason::CrlInvalid,
            Reason::RevocationUnknown,
            Reason::UnsupportedCriticalExtension,
            Reason::Malformed,
            Reason::NotLogged,
        ]
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id())
    }
}

/// A revocation source that spoke for a certificate of a valid chain, and
/// how fresh it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct RevocationSource {
    /// The certificate's position in the chain (0: the leaf).
    pub position: usize,
    /// `crl`, `delta-crl` or `ocsp`.
    pub kind: &'static str,
    /// Whose it is (the CRL issuer, or the issuer an OCSP response is for).
    pub issuer: String,
    /// thisUpdate, RFC 3339.
    pub this_update: String,
    /// nextUpdate, RFC 3339, when given.
    pub next_update: Option<String>,
}

impl RevocationSource {
    pub(crate) fn new(
        position: usize,
        kind: &'static str,
        issuer: String,
        this_update: OffsetDateTime,
        next_update: Option<OffsetDateTime>,
    ) -> Self {
        RevocationSource {
            position,
            kind,
            issuer,
            this_update: rfc3339(this_update),
            next_update: next_update.map(rfc3339),
        }
    }
}

/// The answer to a validation question.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Verdict {
    /// The chain is valid.
    Valid {
        /// Subjects, leaf first, trust anchor last.
        chain: Vec<String>,
        /// The user-constrained policy set (RFC 5280 §6.1.6), as dotted
        /// OIDs; `None` when the path asserts no policy and none was
        /// required.
        policies: Option<Vec<String>>,
        /// Weaknesses accepted because legacy algorithms were allowed.
        notes: Vec<String>,
        /// The revocation sources that spoke for certificates of the path.
        revocation: Vec<RevocationSource>,
        /// The leaf's subjectPublicKeyInfo (DER): the working public key
        /// the path yields (RFC 5280 §6.1.6), with which a relying party
        /// checks the holder's proof of possession without parsing the
        /// leaf again.
        #[serde(skip)]
        public_key: Vec<u8>,
    },
    /// The chain is refused.
    Invalid {
        /// Why.
        reason: Reason,
        /// What exactly, for a person.
        detail: String,
        /// Where: 0 is the leaf, then up the path; `None` when the problem
        /// is not one certificate's.
        position: Option<usize>,
    },
}

impl Verdict {
    /// A refusal.
    pub fn invalid(reason: Reason, detail: impl Into<String>, position: Option<usize>) -> Verdict {
        Verdict::Invalid {
            reason,
            detail: detail.into(),
            position,
        }
    }

    /// Whether the chain is valid.
    pub fn is_valid(&self) -> bool {
        matches!(self, Verdict::Valid { .. })
    }

    /// The refusal reason, if refused.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Verdict::Invalid { reason, .. } => Some(*reason),
            Verdict::Valid { .. } => None,
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Valid { chain, notes, .. } => {
                write!(f, "valid: {}", chain.join(" <- "))?;
                for note in notes {
                    write!(f, " (weak: {note})")?;
                }
                Ok(())
            }
            Verdict::Invalid {
                reason,
                detail,
                position: Some(p),
            } => {
                write!(f, "invalid ({reason}) at position {p}: {detail}")
            }
            Verdict::Invalid {
                reason,
                detail,
                position: None,
            } => write!(f, "invalid ({reason}): {detail}"),
        }
    }
}
