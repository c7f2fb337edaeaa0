//! The validator: the leaf's own checks, then path building (`path`) with
//! every complete path processed in full (`process`, `revocation`). One
//! validator decides; nothing composes verdicts.

use std::borrow::Cow;
use std::time::Duration;

use yoke::{Yoke, Yokeable};

use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cache::SignatureCache;
use crate::crl::IndexedCrl;
use crate::error::Error;
use crate::leaf;
use crate::logged::LogRequirement;
use crate::names::PreparedName;
use crate::ocsp::OcspEntry;
use crate::path::{Candidate, Edge, Search};
use crate::policy::PolicyRequest;
use crate::process::{self, Accepted, Rules};
use crate::revocation::{self, Context};
use crate::verdict::{Reason, RevocationPolicy, RevocationSource, ValidationRequest, Verdict};

/// A parsed certificate that borrows from the bytes it is kept with.
#[derive(Yokeable)]
struct Parsed<'a>(X509Certificate<'a>);

/// A trust anchor: a certificate trusted for its name and key, parsed and
/// its names prepared once, when the validator is made.
struct Anchor {
    parsed: Yoke<Parsed<'static>, Vec<u8>>,
    subject: PreparedName,
    issuer: PreparedName,
}

impl std::fmt::Debug for Anchor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Anchor")
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

impl Anchor {
    fn new(der: Vec<u8>) -> Result<Anchor, Error> {
        let parsed: Yoke<Parsed<'static>, Vec<u8>> =
            Yoke::try_attach_to_cart(der, |der: &[u8]| match X509Certificate::from_der(der) {
                Ok(([], cert)) => Ok(Parsed(cert)),
                Ok(_) => Err(Error::Anchor("trailing bytes after the certificate".into())),
                Err(e) => Err(Error::Anchor(format!("does not parse: {e}"))),
            })?;
        let cert = &parsed.get().0;
        let (subject, issuer) = (
            PreparedName::of(cert.subject()),
            PreparedName::of(cert.issuer()),
        );
        Ok(Anchor {
            parsed,
            subject,
            issuer,
        })
    }

    fn candidate(&self) -> Candidate<'_> {
        Candidate {
            der: self.parsed.backing_cart(),
            cert: Cow::Borrowed(&self.parsed.get().0),
            subject: Cow::Borrowed(&self.subject),
            issuer: Cow::Borrowed(&self.issuer),
            anchor: true,
        }
    }
}

/// Which certificates of a path are checked for revocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CrlScope {
    /// Only the leaf.
    Leaf,
    /// Every certificate but the trust anchor.
    #[default]
    Chain,
}

/// How strict a validation is, beyond the question asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Most intermediates a path may hold, self-issued ones not counted
    /// (at most 16 in all, whatever this says).
    pub max_depth: usize,
    /// Accept a CRL without nextUpdate, and refuse one issued longer ago
    /// than this.
    pub max_crl_age: Option<Duration>,
    /// Which certificates are checked for revocation.
    pub crl_scope: CrlScope,
    /// Certificate policy inputs (RFC 5280 §6.1.1).
    pub policy: PolicyRequest,
    /// Verify SHA-1, RSA below 2048 bits and DSA keys, noting the weakness,
    /// instead of refusing them.
    pub allow_legacy_algorithms: bool,
    /// The leaf's keyUsage, when present, must assert digitalSignature.
    pub require_digital_signature: bool,
    /// Keep verified certificate and CRL signatures between validations,
    /// as a long-running peer or server does: at most 4,096 certificate
    /// signatures and 16 signers per CRL, each for an hour of validation
    /// time. Validity and revocation are still checked every time.
    pub cache_signatures: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            max_depth: 6,
            max_crl_age: None,
            crl_scope: CrlScope::Chain,
            policy: PolicyRequest::default(),
            allow_legacy_algorithms: false,
            require_digital_signature: false,
            cache_signatures: true,
        }
    }
}

/// Validates chains against a set of trust anchors and CRLs.
#[derive(Debug)]
pub struct Validator {
    anchors: Vec<Anchor>,
    crls: Vec<IndexedCrl>,
    ocsp: Vec<OcspEntry>,
    /// CRLs that were offered but do not parse: every validation fails
    /// closed with `crl-invalid` while one is loaded.
    broken_crls: Vec<String>,
    policy: RevocationPolicy,
    options: Options,
    signatures: SignatureCache,
    logged: Option<LogRequirement>,
}

pub(crate) type Refusal = Box<Verdict>;

pub(crate) fn refuse(
    reason: Reason,
    detail: impl Into<String>,
    position: Option<usize>,
) -> Refusal {
    Box::new(Verdict::invalid(reason, detail, position))
}

/// How deep delegated CRL signers are validated in turn.
const MAX_SIGNER_DEPTH: u8 = 2;

impl Validator {
    /// A validator trusting these DER certificates (v1 certificates
    /// included: a trust anchor is trusted for its name and key).
    pub fn new(anchors_der: Vec<Vec<u8>>) -> Result<Self, Error> {
        let anchors = anchors_der
            .into_iter()
            .map(Anchor::new)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Validator {
            anchors,
            crls: Vec::new(),
            ocsp: Vec::new(),
            broken_crls: Vec::new(),
            policy: RevocationPolicy::default(),
            options: Options::default(),
            signatures: SignatureCache::default(),
            logged: None,
        })
    }

    /// Adds a CRL. When one of the same issuer, key, scope and kind
    /// (complete or delta) is already loaded, the later thisUpdate is kept.
    /// A CRL that does not parse is an error, and stays loaded as broken:
    /// every later validation is refused with `crl-invalid`.
    pub fn add_crl(&mut self, crl_der: &[u8]) -> Result<(), Error> {
        let crl = match IndexedCrl::from_der(crl_der) {
            Ok(crl) => crl,
            Err(e) => {
                self.broken_crls.push(e.to_string());
                return Err(e);
            }
        };
        let same = self.crls.iter().position(|c| {
            c.issuer == crl.issuer
                && c.key_id == crl.key_id
                && c.scope_der == crl.scope_der
                && c.delta_base.is_some() == crl.delta_base.is_some()
        });
        match same {
            Some(i) if self.crls[i].this_update >= crl.this_update => {}
            Some(i) => self.crls[i] = crl,
            None => self.crls.push(crl),
        }
        Ok(())
    }

    /// Adds a stored OCSP response (DER OCSPResponse), a revocation source
    /// beside the CRLs: it speaks for the certificates it names when its
    /// issuer or a delegated OCSP signer of that issuer signed it.
    pub fn add_ocsp_response(&mut self, der: &[u8]) -> Result<(), Error> {
        self.ocsp.push(OcspEntry::from_der(der)?);
        Ok(())
    }

    /// Sets what happens when no CRL covers a certificate.
    pub fn set_revocation_policy(&mut self, policy: RevocationPolicy) {
        self.policy = policy;
    }

    /// Requires every leaf to be shown in a transparency log by an
    /// inclusion proof (after the chain is valid; it only refuses).
    pub fn require_logged(&mut self, requirement: LogRequirement) {
        self.logged = Some(requirement);
    }

    /// Sets how strict validations are.
    pub fn set_options(&mut self, options: Options) {
        self.options = options;
    }

    /// Validates `leaf_der` with the untrusted `intermediates_der`.
    pub fn validate(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
    ) -> Verdict {
        self.validate_with_ocsp(leaf_der, intermediates_der, request, &[])
    }

    /// Validates as [`Validator::validate`] does, with `stapled` OCSP
    /// responses (RFC 6960, as a TLS server staples them: RFC 6066 §8)
    /// counted beside the stored ones for this validation only.
    pub fn validate_with_ocsp(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
        stapled: &[OcspEntry],
    ) -> Verdict {
        self.validate_with_evidence(leaf_der, intermediates_der, request, stapled, None)
    }

    /// Validates as [`Validator::validate_with_ocsp`] does, and when
    /// `logged` is given also requires the leaf's inclusion proof that came
    /// with it (for this validation only, as [`Validator::require_logged`]
    /// requires one for every validation). Both requirements apply; each
    /// only refuses.
    pub fn validate_with_evidence(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
        stapled: &[OcspEntry],
        logged: Option<&LogRequirement>,
    ) -> Verdict {
        let checked = self
            .check(leaf_der, intermediates_der, request, stapled)
            .and_then(|accepted| {
                for requirement in self.logged.iter().chain(logged) {
                    requirement.check(leaf_der)?;
                }
                Ok(accepted)
            });
        match checked {
            Ok(accepted) => Verdict::Valid {
                chain: accepted.chain,
                policies: accepted.policies,
                notes: accepted.notes,
                revocation: accepted.revocation,
                public_key: accepted.public_key,
            },
            Err(refusal) => *refusal,
        }
    }

    fn check(
        &self,
        leaf_der: &[u8],
        intermediates_der: &[Vec<u8>],
        request: &ValidationRequest,
        stapled: &[OcspEntry],
    ) -> Result<Accepted, Refusal> {
        if let Some(broken) = self.broken_crls.first() {
            return Err(refuse(
                Reason::CrlInvalid,
                format!("a loaded CRL is unusable, so revocation cannot be decided: {broken}"),
                None,
            ));
        }
        // Certificate times have whole seconds; compare at that granularity.
        let at = request.at.replace_nanosecond(0).unwrap_or(request.at);
        let leaf = Candidate::new(leaf_der, parse(leaf_der, 0)?);
        let leaf_note = leaf::check(&leaf.cert, request, at, &self.options)?;
        let pool = self.pool(&leaf, intermediates_der);
        let rules = Rules {
            at,
            usage: request.usage,
            policy: &self.options.policy,
            legacy: self.options.allow_legacy_algorithms,
            stapled,
        };
        let mut accepted = self.path_for(&leaf, &pool, &rules, None, 0)?;
        accepted.notes.splice(0..0, leaf_note);
        Ok(accepted)
    }

    /// The offered intermediates and the anchors they may need, parsed
    /// once, without duplicates, sorted by content (so the order in which
    /// they were offered cannot matter).
    fn pool<'v>(
        &'v self,
        leaf: &Candidate<'v>,
        intermediates: &'v [Vec<u8>],
    ) -> Vec<Candidate<'v>> {
        let mut pool: Vec<Candidate<'v>> = intermediates
            .iter()
            .filter_map(|der| match X509Certificate::from_der(der) {
                Ok(([], cert)) => Some(Candidate::new(der, cert)),
                _ => None,
            })
            .collect();
        let wanted: Vec<&PreparedName> = std::iter::once(&*leaf.issuer)
            .chain(pool.iter().map(|c| &*c.issuer))
            .collect();
        let mut anchors: Vec<Candidate<'v>> = self
            .anchors
            .iter()
            .filter(|a| wanted.contains(&&a.subject))
            .map(Anchor::candidate)
            .collect();
        anchors.append(&mut pool);
        anchors.sort_by(|a, b| b.anchor.cmp(&a.anchor).then_with(|| a.der.cmp(b.der)));
        anchors.dedup_by(|later, earlier| later.der == earlier.der);
        anchors
    }

    /// Searches a path for `leaf` and processes each complete one; with
    /// `anchor`, only paths to that trust anchor count (a CRL signer must
    /// chain to the anchor of the path it vouches for).
    fn path_for<'v>(
        &'v self,
        leaf: &Candidate<'v>,
        pool: &[Candidate<'v>],
        rules: &Rules<'_>,
        anchor: Option<&[u8]>,
        depth: u8,
    ) -> Result<Accepted, Refusal> {
        let cache = self
            .options
            .cache_signatures
            .then_some((&self.signatures, rules.at));
        let search = Search::new(leaf, pool, self.options.max_depth, rules.legacy, cache);
        search.run(&mut |edges: &[Edge]| {
            let path: Vec<&Candidate<'v>> = std::iter::once(leaf)
                .chain(edges.iter().map(|e| &pool[e.node]))
                .collect();
            if anchor.is_some_and(|der| path.last().is_some_and(|a| a.der != der)) {
                return Err(refuse(
                    Reason::CrlInvalid,
                    "the CRL signer chains to another trust anchor",
                    None,
                ));
            }
            let mut accepted = process::check(&path, rules)?;
            accepted
                .notes
                .extend(edges.iter().filter_map(|e| e.note.clone()));
            let (notes, sources) = self.revocation(&path, pool, rules, depth)?;
            accepted.notes.extend(notes);
            accepted.revocation = sources;
            Ok(accepted)
        })
    }

    fn revocation<'v>(
        &'v self,
        path: &[&Candidate<'v>],
        pool: &[Candidate<'v>],
        rules: &Rules<'_>,
        depth: u8,
    ) -> Result<(Vec<String>, Vec<RevocationSource>), Refusal> {
        let anchor_der = path.last().map(|a| a.der).unwrap_or_default();
        let signer_valid = |signer: &Candidate<'v>| {
            depth < MAX_SIGNER_DEPTH
                && self
                    .path_for(signer, pool, rules, Some(anchor_der), depth + 1)
                    .is_ok()
        };
        let ctx = Context {
            crls: &self.crls,
            ocsp: &self.ocsp,
            stapled: rules.stapled,
            at: rules.at,
            max_crl_age: self.options.max_crl_age,
            policy: self.policy,
            legacy: rules.legacy,
            cache: self.options.cache_signatures,
            pool,
            signer_valid: &signer_valid,
        };
        let checked = match self.options.crl_scope {
            CrlScope::Leaf => 1,
            CrlScope::Chain => path.len() - 1,
        };
        let mut notes = Vec::new();
        let mut sources = Vec::new();
        for position in 0..checked.min(path.len() - 1) {
            let (n, s) = revocation::check(&ctx, path[position], path[position + 1], position)?;
            notes.extend(n);
            sources.extend(s);
        }
        Ok((notes, sources))
    }
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
