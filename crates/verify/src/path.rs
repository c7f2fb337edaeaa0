//! Path building (RFC 4158 in outline): a depth-first search from the leaf
//! to a trust anchor over every offered certificate whose subject matches
//! the issuer name (RFC 4518 comparison) and whose key verifies the
//! signature. Each complete path is processed in full (`process`); the
//! first one that passes is the answer.
//!
//! The search is monotone by construction: a certificate added to the
//! pool can only add candidate paths, and a path is accepted only after
//! every rule has passed on it, so a decoy can change at most which
//! refusal is reported, never turn one into an acceptance. The pool is
//! sorted by content, so the order in which certificates are offered does
//! not matter. Work is bounded: signature checks and search steps have
//! budgets, and a path holds at most `HARD_DEPTH` intermediates.

use std::borrow::Cow;

use time::OffsetDateTime;
use x509_parser::prelude::{SubjectPublicKeyInfo, X509Certificate};

use crate::cache::SignatureCache;
use crate::names::PreparedName;
use crate::process::Accepted;
use crate::signature::{Noted, SignatureProblem};
use crate::validator::{Refusal, refuse};
use crate::verdict::Reason;

/// Most signature verifications one validation may spend (as webpki).
const MAX_SIGNATURE_CHECKS: usize = 100;
/// Most candidate issuers one validation may consider.
const MAX_STEPS: usize = 10_000;
/// Most intermediates, self-issued ones included, whatever `--max-depth`.
const HARD_DEPTH: usize = 16;

/// A certificate offered for path building.
pub(crate) struct Candidate<'a> {
    pub(crate) der: &'a [u8],
    /// Parsed for this validation, or borrowed from a trust anchor the
    /// validator parsed once.
    pub(crate) cert: Cow<'a, X509Certificate<'a>>,
    pub(crate) subject: Cow<'a, PreparedName>,
    pub(crate) issuer: Cow<'a, PreparedName>,
    pub(crate) anchor: bool,
}

impl<'a> Candidate<'a> {
    /// An offered certificate, parsed for this validation.
    pub(crate) fn new(der: &'a [u8], cert: X509Certificate<'a>) -> Self {
        Candidate {
            der,
            subject: Cow::Owned(PreparedName::of(cert.subject())),
            issuer: Cow::Owned(PreparedName::of(cert.issuer())),
            cert: Cow::Owned(cert),
            anchor: false,
        }
    }

    /// Self-issued (RFC 5280 §6.1): subject and issuer are the same name.
    pub(crate) fn self_issued(&self) -> bool {
        self.subject == self.issuer
    }
}

/// One step up the path: the issuer's index in the pool, and a legacy
/// weakness of the signature it made, if any.
#[derive(Clone)]
pub(crate) struct Edge {
    pub(crate) node: usize,
    pub(crate) note: Noted,
}

/// Where the search is.
pub(crate) struct Search<'s, 'a> {
    /// The validator's cache, and the validation's time.
    cache: Option<(&'s SignatureCache, OffsetDateTime)>,
    pub(crate) leaf: &'s Candidate<'a>,
    pub(crate) pool: &'s [Candidate<'a>],
    pub(crate) max_depth: usize,
    pub(crate) legacy: bool,
    /// Signatures checked in this search, by (child, issuer): a list, as
    /// the signature budget keeps it short.
    signatures: Vec<((usize, usize), Result<Noted, SignatureProblem>)>,
    checks: usize,
    steps: usize,
    best: Option<(u8, Refusal)>,
}

/// Ranks of refusals, to report the one that got furthest: a complete
/// path's refusal outranks a too-long path, which outranks a weak
/// signature, a bad one, and finally a missing issuer.
const RANK_COMPLETE: u8 = 4;
const RANK_TOO_LONG: u8 = 3;
const RANK_WEAK: u8 = 2;
const RANK_SIGNATURE: u8 = 1;
const RANK_NO_ISSUER: u8 = 0;

/// The index standing for the leaf in signature-cache keys.
const LEAF: usize = usize::MAX;

impl<'s, 'a> Search<'s, 'a> {
    pub(crate) fn new(
        leaf: &'s Candidate<'a>,
        pool: &'s [Candidate<'a>],
        max_depth: usize,
        legacy: bool,
        cache: Option<(&'s SignatureCache, OffsetDateTime)>,
    ) -> Self {
        Search {
            cache,
            leaf,
            pool,
            max_depth,
            legacy,
            signatures: Vec::new(),
            checks: 0,
            steps: 0,
            best: None,
        }
    }

    /// Runs the search; `process` judges each complete path (the pool
    /// indices of the leaf's issuer up to the anchor).
    pub(crate) fn run(
        mut self,
        process: &mut dyn FnMut(&[Edge]) -> Result<Accepted, Refusal>,
    ) -> Result<Accepted, Refusal> {
        let mut path = Vec::new();
        if let Some(accepted) = self.extend(&mut path, LEAF, 0, process) {
            return Ok(accepted);
        }
        Err(self.best.map(|(_, r)| r).unwrap_or_else(|| {
            refuse(
                Reason::UnknownIssuer,
                "no path leads to a trust anchor",
                None,
            )
        }))
    }

    fn node(&self, index: usize) -> &'s Candidate<'a> {
        if index == LEAF {
            self.leaf
        } else {
            &self.pool[index]
        }
    }

    fn record(&mut self, rank: u8, refusal: Refusal) {
        if self.best.as_ref().is_none_or(|(r, _)| rank > *r) {
            self.best = Some((rank, refusal));
        }
    }

    fn extend(
        &mut self,
        path: &mut Vec<Edge>,
        current: usize,
        logical_depth: usize,
        process: &mut dyn FnMut(&[Edge]) -> Result<Accepted, Refusal>,
    ) -> Option<Accepted> {
        let child = self.node(current);
        let position = path.len();
        let mut named = false;
        for index in 0..self.pool.len() {
            let candidate = &self.pool[index];
            if candidate.subject != child.issuer
                || candidate.der == self.leaf.der
                || self.in_path(path, candidate)
            {
                continue;
            }
            named = true;
            self.steps += 1;
            if self.steps > MAX_STEPS {
                self.record(
                    RANK_TOO_LONG,
                    refuse(
                        Reason::UnknownIssuer,
                        "path building gave up: the offered certificates allow too many paths",
                        None,
                    ),
                );
                return None;
            }
            if self.checks >= MAX_SIGNATURE_CHECKS && self.known((current, index)).is_none() {
                self.record(
                    RANK_TOO_LONG,
                    refuse(
                        Reason::UnknownIssuer,
                        format!(
                            "path building gave up after {MAX_SIGNATURE_CHECKS} signature checks"
                        ),
                        None,
                    ),
                );
                return None;
            }
            let note = match self.signature(current, index) {
                Ok(note) => note,
                Err(problem) => {
                    let (rank, refusal) = signature_refusal(&problem, child, candidate, position);
                    self.record(rank, refusal);
                    continue;
                }
            };
            path.push(Edge { node: index, note });
            let outcome = self.descend(path, index, logical_depth, process);
            if outcome.is_some() {
                return outcome;
            }
            path.pop();
        }
        if !named {
            self.record(
                RANK_NO_ISSUER,
                refuse(
                    Reason::UnknownIssuer,
                    format!(
                        "no trust anchor or offered certificate is named '{}', the issuer of '{}'",
                        child.cert.issuer(),
                        child.cert.subject()
                    ),
                    Some(position),
                ),
            );
        }
        None
    }

    fn descend(
        &mut self,
        path: &mut Vec<Edge>,
        index: usize,
        logical_depth: usize,
        process: &mut dyn FnMut(&[Edge]) -> Result<Accepted, Refusal>,
    ) -> Option<Accepted> {
        let candidate = &self.pool[index];
        if candidate.anchor {
            match process(path) {
                Ok(accepted) => return Some(accepted),
                Err(refusal) => self.record(RANK_COMPLETE, refusal),
            }
            return None;
        }
        let depth = logical_depth + usize::from(!candidate.self_issued());
        if depth > self.max_depth || path.len() > HARD_DEPTH {
            self.record(
                RANK_TOO_LONG,
                refuse(
                    Reason::PathTooLong,
                    format!(
                        "the path needs more than {} intermediate certificates to reach a trust anchor",
                        self.max_depth.min(HARD_DEPTH)
                    ),
                    Some(path.len()),
                ),
            );
            return None;
        }
        self.extend(path, index, depth, process)
    }

    /// A certificate already in the path, or one with the same subject and
    /// key as one there (RFC 4158 loop detection).
    fn in_path(&self, path: &[Edge], candidate: &Candidate<'_>) -> bool {
        let key = candidate.cert.public_key().raw;
        std::iter::once(self.leaf)
            .chain(path.iter().map(|e| &self.pool[e.node]))
            .any(|c| {
                c.der == candidate.der
                    || (c.subject == candidate.subject && c.cert.public_key().raw == key)
            })
    }

    fn signature(&mut self, child: usize, issuer: usize) -> Result<Noted, SignatureProblem> {
        if let Some(known) = self.known((child, issuer)) {
            return known.clone();
        }
        let node = self.node(child);
        let issuer_key = self.pool[issuer].cert.public_key();
        let cached = self.cache.map(|(c, at)| {
            let key = SignatureCache::key(issuer_key.raw, node.der, self.legacy);
            (c, key, at)
        });
        if let Some(note) = cached.as_ref().and_then(|(c, key, at)| c.get(key, *at)) {
            self.signatures.push(((child, issuer), Ok(note.clone())));
            return Ok(note);
        }
        self.checks += 1;
        let result = verify_certificate(&node.cert, issuer_key, self.legacy);
        if let (Some((cache, key, at)), Ok(note)) = (cached, &result) {
            cache.insert(key, note.clone(), at);
        }
        self.signatures.push(((child, issuer), result.clone()));
        result
    }

    fn known(&self, edge: (usize, usize)) -> Option<&Result<Noted, SignatureProblem>> {
        self.signatures
            .iter()
            .find(|(e, _)| *e == edge)
            .map(|(_, result)| result)
    }
}

/// Verifies the signature on `cert` with the issuer's SPKI; the outer and
/// inner signature algorithms must agree (RFC 5280 §4.1.1.2).
pub(crate) fn verify_certificate(
    cert: &X509Certificate<'_>,
    issuer_spki: &SubjectPublicKeyInfo<'_>,
    legacy: bool,
) -> Result<Noted, SignatureProblem> {
    // Compared as encoded: the outer field is not signed, and a lenient
    // parse of it (any tag read as an OID) must not hide a changed byte.
    if let Some(defect) = envelope_defect(cert.as_raw()) {
        return Err(SignatureProblem::Unsupported(defect));
    }
    if cert.signature_algorithm != cert.tbs_certificate.signature {
        return Err(SignatureProblem::Unsupported(
            "the outer and inner signature algorithms differ (RFC 5280 4.1.1.2)".into(),
        ));
    }
    crate::signature::verify_with(
        issuer_spki,
        &cert.signature_algorithm,
        cert.tbs_certificate.as_ref(),
        &cert.signature_value.data,
        legacy,
    )
}

/// What is wrong with the unsigned bytes around a certificate's signed
/// part: it must be exactly SEQUENCE { tbsCertificate, signatureAlgorithm,
/// signatureValue BIT STRING with no unused bits }, and its
/// signatureAlgorithm byte for byte the tbsCertificate's signature field
/// (RFC 5280 §4.1.1.2). A lenient parser reads past a changed byte here,
/// so these are compared as encoded.
fn envelope_defect(der: &[u8]) -> Option<String> {
    use crate::crl_der::{read, signed_parts};
    let fields = || -> Result<Option<String>, String> {
        let (tbs, outer) = signed_parts(der)?;
        let (first, after_first) = read(tbs.value)?;
        // version [0] EXPLICIT is optional; the serial follows.
        let after_serial = if first.tag == 0xa0 {
            read(after_first)?.1
        } else {
            after_first
        };
        let (inner, _) = read(after_serial)?;
        Ok((outer.raw != inner.raw).then(|| {
            "the outer and inner signature algorithms are encoded differently (RFC 5280 4.1.1.2)"
                .to_owned()
        }))
    };
    fields().unwrap_or_else(|e| {
        Some(format!(
            "the certificate's encoding around its signature: {e}"
        ))
    })
}

fn signature_refusal(
    problem: &SignatureProblem,
    child: &Candidate<'_>,
    issuer: &Candidate<'_>,
    position: usize,
) -> (u8, Refusal) {
    let subject = child.cert.subject();
    let (rank, reason, detail) = match problem {
        SignatureProblem::Invalid => (
            RANK_SIGNATURE,
            Reason::BadSignature,
            format!(
                "the signature on '{subject}' does not verify with the key of '{}'",
                issuer.cert.subject()
            ),
        ),
        SignatureProblem::Unsupported(what) => (
            RANK_SIGNATURE,
            Reason::BadSignature,
            format!("the signature on '{subject}' cannot be checked: {what}"),
        ),
        SignatureProblem::WeakAlgorithm(what) => (
            RANK_WEAK,
            Reason::WeakAlgorithm,
            format!(
                "'{subject}' is signed with {what}; pass --allow-legacy-algorithms to accept it"
            ),
        ),
        SignatureProblem::WeakKey(what) => (
            RANK_WEAK,
            Reason::WeakKey,
            format!(
                "'{subject}' is signed by {what} of '{}'; pass --allow-legacy-algorithms to accept it",
                issuer.cert.subject()
            ),
        ),
    };
    (rank, refuse(reason, detail, Some(position)))
}
