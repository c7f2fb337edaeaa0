//! The PKI: a root, optional intermediates, the revocations and the CRLs.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use pkilab_ca::{CaKey, CertificateAuthority, RevocationReason, RevokedEntry, Serial};
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use time::{Duration, OffsetDateTime};

use crate::clock::Clock;
use crate::error::{Misuse, Result};
use crate::leaf::{Leaf, LeafBuilder, Origin, Usage};

pub use pkilab_ca::SigningAlgorithm;

/// How far CA certificates reach back from the time the PKI is built, so
/// that expired leaves still lie within their issuer's validity.
const CA_PAST: Duration = Duration::days(365);
/// How far CA certificates reach forward.
const CA_FUTURE: Duration = Duration::days(3650);

/// Describes a PKI; [`build`](PkiBuilder::build) makes it.
#[derive(Clone, Debug)]
pub struct PkiBuilder {
    root: String,
    intermediates: Vec<String>,
    algorithm: SigningAlgorithm,
    clock: Option<Clock>,
    crl_validity: Duration,
}

impl Default for PkiBuilder {
    fn default() -> Self {
        PkiBuilder {
            root: "pkilab Test Root CA".to_owned(),
            intermediates: Vec::new(),
            algorithm: SigningAlgorithm::Ed25519,
            clock: None,
            crl_validity: Duration::days(7),
        }
    }
}

impl PkiBuilder {
    /// The root's common name (default `pkilab Test Root CA`).
    pub fn root(mut self, name: &str) -> Self {
        name.clone_into(&mut self.root);
        self
    }

    /// Adds an intermediate CA below the last one added (or below the
    /// root). Leaves are issued by the last intermediate.
    pub fn intermediate(mut self, name: &str) -> Self {
        self.intermediates.push(name.to_owned());
        self
    }

    /// The key algorithm of every CA and leaf (default Ed25519, the fastest;
    /// RSA-3072 keys take tens of milliseconds each to generate).
    pub fn algorithm(mut self, algorithm: SigningAlgorithm) -> Self {
        self.algorithm = algorithm;
        self
    }

    /// The clock that sets every validity period and CRL time (default: a
    /// clock stopped at the system time when the PKI is built).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Shorthand for `clock(Clock::at(at))`.
    pub fn at(self, at: OffsetDateTime) -> Self {
        self.clock(Clock::at(at))
    }

    /// How long after its thisUpdate a CRL's nextUpdate lies (default 7
    /// days).
    pub fn crl_validity(mut self, validity: Duration) -> Self {
        self.crl_validity = validity;
        self
    }

    /// Generates the CA keys and certificates.
    pub fn build(self) -> Result<Pki> {
        let clock = self.clock.unwrap_or_else(Clock::system);
        let now = clock.now();
        let mut names = vec![self.root];
        names.extend(self.intermediates);
        let period = (now - CA_PAST, now + CA_FUTURE);
        let genuine = Hierarchy::new(&names, self.algorithm, period)?;
        let mut id = [0u8; 8];
        id.copy_from_slice(&Serial::random().as_bytes()[..8]);
        Ok(Pki {
            id: u64::from_be_bytes(id),
            clock,
            algorithm: self.algorithm,
            names,
            period,
            genuine,
            rogue: OnceLock::new(),
            revoked: Vec::new(),
            crl_number: AtomicU64::new(1),
            crl_validity: self.crl_validity,
        })
    }
}

/// A chain of CAs: the root first, the issuing CA last.
#[derive(Debug)]
pub(crate) struct Hierarchy {
    cas: Vec<CertificateAuthority>,
}

impl Hierarchy {
    fn new(
        names: &[String],
        algorithm: SigningAlgorithm,
        (not_before, not_after): (OffsetDateTime, OffsetDateTime),
    ) -> Result<Hierarchy> {
        let mut cas: Vec<CertificateAuthority> = Vec::with_capacity(names.len());
        for (depth, name) in names.iter().enumerate() {
            let key = CaKey::generate(algorithm)?;
            let ca = match cas.last() {
                None => CertificateAuthority::new_root(
                    name,
                    key,
                    not_before,
                    not_after,
                    Serial::random(),
                )?,
                Some(parent) => {
                    // Each intermediate may sign exactly the CAs below it.
                    let below = u8::try_from(names.len() - depth - 1).unwrap_or(u8::MAX);
                    parent.new_intermediate(
                        name,
                        key,
                        not_before,
                        not_after,
                        Some(below),
                        Serial::random(),
                    )?
                }
            };
            cas.push(ca);
        }
        Ok(Hierarchy { cas })
    }

    /// The CA that signs leaves.
    pub(crate) fn issuing(&self) -> &CertificateAuthority {
        self.cas.last().expect("a hierarchy has at least its root")
    }

    /// The intermediates' certificates, the issuing CA first: what a leaf
    /// sends after its own certificate.
    pub(crate) fn intermediates(&self) -> Vec<CertificateDer<'static>> {
        self.cas[1..]
            .iter()
            .rev()
            .map(|ca| CertificateDer::from(ca.certificate_der().to_vec()))
            .collect()
    }
}

/// A test PKI: a root, optional intermediates, and the revocations made so
/// far. Leaves come from [`server`](Pki::server), [`client`](Pki::client)
/// and [`leaf`](Pki::leaf).
#[derive(Debug)]
pub struct Pki {
    /// Tells this PKI's leaves from another's.
    id: u64,
    clock: Clock,
    algorithm: SigningAlgorithm,
    names: Vec<String>,
    period: (OffsetDateTime, OffsetDateTime),
    genuine: Hierarchy,
    /// Same names, other keys; made on the first rogue leaf.
    rogue: OnceLock<Hierarchy>,
    revoked: Vec<RevokedEntry>,
    crl_number: AtomicU64,
    crl_validity: Duration,
}

impl Pki {
    /// Describes a PKI: `Pki::builder().intermediate("Issuing CA").build()`.
    pub fn builder() -> PkiBuilder {
        PkiBuilder::default()
    }

    /// A root alone, on the system time, with Ed25519 keys.
    pub fn new() -> Result<Pki> {
        PkiBuilder::default().build()
    }

    /// A leaf for TLS servers (extendedKeyUsage serverAuth only).
    pub fn server(&self, name: &str) -> LeafBuilder<'_> {
        LeafBuilder::new(self, name, Usage::Server)
    }

    /// A leaf for TLS clients (extendedKeyUsage clientAuth only).
    pub fn client(&self, name: &str) -> LeafBuilder<'_> {
        LeafBuilder::new(self, name, Usage::Client)
    }

    /// A leaf for the given usage.
    pub fn leaf(&self, name: &str, usage: Usage) -> LeafBuilder<'_> {
        LeafBuilder::new(self, name, usage)
    }

    /// The clock this PKI issues by. Move it to make certificates expire.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The root certificate: the trust anchor.
    pub fn root_cert(&self) -> CertificateDer<'static> {
        CertificateDer::from(self.genuine.cas[0].certificate_der().to_vec())
    }

    /// The intermediate certificates, the issuing CA first (empty without
    /// intermediates).
    pub fn intermediates(&self) -> Vec<CertificateDer<'static>> {
        self.genuine.intermediates()
    }

    /// The certificate of the rogue root: same name as the real root, another
    /// key. Nothing trusts it unless a test says so.
    pub fn rogue_root_cert(&self) -> Result<CertificateDer<'static>> {
        let rogue = self.rogue()?;
        Ok(CertificateDer::from(
            rogue.cas[0].certificate_der().to_vec(),
        ))
    }

    /// Puts `leaf` on the issuing CA's next CRL, revoked now by the PKI's
    /// clock. Revoking the same leaf again keeps the first entry.
    ///
    /// Fails with [`Misuse::NotIssuedHere`] for a rogue or self-signed leaf
    /// or one from another `Pki`: no CRL of this PKI can speak for it.
    pub fn revoke(&mut self, leaf: &Leaf, reason: RevocationReason) -> Result<()> {
        if leaf.pki_id() != self.id || leaf.origin() != Origin::Genuine {
            return Err(Misuse::NotIssuedHere {
                name: leaf.name().to_owned(),
            }
            .into());
        }
        if !self.revoked.iter().any(|e| &e.serial == leaf.serial()) {
            self.revoked.push(RevokedEntry {
                serial: leaf.serial().clone(),
                revoked_at: self.clock.now(),
                reason,
            });
        }
        Ok(())
    }

    /// Fresh CRLs, one per CA, the root's first, each signed now by the
    /// PKI's clock with a new CRL number. The issuing CA's lists the revoked
    /// leaves; the others are empty.
    ///
    /// rustls's `WebPkiClientVerifier` checks every certificate of a chain
    /// by default and refuses one whose status is unknown, so it needs all
    /// of them.
    pub fn crls(&self) -> Result<Vec<CertificateRevocationListDer<'static>>> {
        let number = self.crl_number.fetch_add(1, Ordering::SeqCst);
        let this_update = self.clock.now();
        let next_update = this_update + self.crl_validity;
        let issuing = self.genuine.cas.len() - 1;
        self.genuine
            .cas
            .iter()
            .enumerate()
            .map(|(index, ca)| {
                let revoked = if index == issuing {
                    &self.revoked[..]
                } else {
                    &[]
                };
                let der = ca.crl(revoked, number, this_update, next_update)?;
                Ok(CertificateRevocationListDer::from(der))
            })
            .collect()
    }

    /// The revocations made so far.
    pub fn revoked(&self) -> &[RevokedEntry] {
        &self.revoked
    }

    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    pub(crate) fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    pub(crate) fn genuine(&self) -> &Hierarchy {
        &self.genuine
    }

    /// The rogue hierarchy mirrors the genuine one name for name, so only a
    /// signature check tells their leaves apart.
    pub(crate) fn rogue(&self) -> Result<&Hierarchy> {
        if let Some(rogue) = self.rogue.get() {
            return Ok(rogue);
        }
        let made = Hierarchy::new(&self.names, self.algorithm, self.period)?;
        Ok(self.rogue.get_or_init(|| made))
    }
}
