//! The simulation's PKI: a trusted root, its intermediates, rogue CAs, and
//! the CRLs peers validate against. All keys and serials come from the
//! network's seeded generator.

use std::collections::BTreeMap;
use std::sync::Arc;

use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry, Serial};
use pkilab_peer::Identity;
use pkilab_verify::{RevocationPolicy, Validator};
use rand_chacha::ChaCha20Rng;
use rand_core::RngCore;
use time::{Duration, OffsetDateTime};

use crate::error::NetError;

mod status;
pub(crate) mod tlog;

/// The last instant the simulation's calendar holds (X.509 GeneralizedTime
/// and the `time` crate both end with year 9999).
pub const LATEST: OffsetDateTime = time::macros::datetime!(9999-12-31 23:59:59 UTC);

/// Lifetime of the simulated root CAs.
pub const ROOT_LIFETIME: Duration = Duration::days(7305);
/// Lifetime of the simulated intermediate CAs.
pub const INTERMEDIATE_LIFETIME: Duration = Duration::days(3652);

/// `now + by`, or the calendar's end.
pub fn until(now: OffsetDateTime, by: Duration) -> OffsetDateTime {
    now.checked_add(by).map_or(LATEST, |t| t.min(LATEST))
}

/// How a peer treats revocation information.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Revocation {
    /// A current CRL is required; without one the peer refuses.
    #[default]
    Hard,
    /// The CRL is used while it is current; when it is stale the peer goes
    /// ahead without revocation status (soft-fail, as many browsers do).
    Soft,
    /// Revocation is never checked.
    None,
    /// The peer asks the OCSP responder about each certificate it is
    /// shown (the leaf), during the handshake.
    Ocsp {
        /// Go ahead when no answer comes back.
        soft_fail: bool,
    },
    /// The peer staples a recent OCSP response for its own certificate to
    /// its handshake message, and checks the one its peer staples.
    OcspStaple {
        /// Go ahead without a usable staple; otherwise must-staple.
        soft_fail: bool,
    },
}

/// Which validator a revocation policy needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Checks {
    /// The published CRLs (and delta CRLs), required.
    Crls,
    /// No revocation source: revocation is not checked.
    Nothing,
    /// The leaf's status from an OCSP response given with each
    /// validation; `true`: required.
    LeafOcsp(bool),
}

/// What the PKI looks like.
#[derive(Clone, Debug)]
pub struct PkiSpec {
    /// Trusted root subject.
    pub root: String,
    /// Intermediates, root side first; the last issues peers.
    pub intermediates: Vec<String>,
    /// CAs nobody trusts.
    pub rogue: Vec<String>,
    /// thisUpdate to nextUpdate of published CRLs.
    pub crl_validity: Duration,
    /// Lifetime of peer certificates.
    pub certificate_validity: Duration,
}

/// The CAs, what they revoked, and the validator built from the last CRLs.
pub struct SimPki {
    chain: Vec<CertificateAuthority>,
    rogue: Vec<CertificateAuthority>,
    revoked: BTreeMap<usize, Vec<RevokedEntry>>,
    crl_number: u64,
    validator: Arc<Validator>,
    spec: PkiSpec,
    /// Serials of the chain's CA certificates, root first.
    serials: Vec<Serial>,
    /// thisUpdate and nextUpdate of the last published CRLs.
    crl_window: (OffsetDateTime, OffsetDateTime),
    /// Validators for peers with their own trust stores or revocation
    /// policy, keyed by (extra trusted CAs, revocation checks); rebuilt
    /// with each publication.
    custom: BTreeMap<(Vec<String>, Checks), Arc<Validator>>,
    /// The issuing CA's key seed, for its OCSP responder.
    issuing_seed: zeroize::Zeroizing<[u8; 32]>,
    /// Who holds each certificate the issuing CA issued.
    issued: BTreeMap<Serial, String>,
    /// What each CA had revoked when its last complete CRL was published:
    /// a CRL says what was known at its thisUpdate, not what came later.
    published: BTreeMap<usize, Vec<RevokedEntry>>,
    /// Delta CRLs (RFC 5280 §5.2.4) published this often, if at all.
    delta_every: Option<Duration>,
    /// The last delta CRL: its number, thisUpdate and nextUpdate.
    delta: Option<(u64, OffsetDateTime, OffsetDateTime)>,
    /// The number of the last complete CRL.
    full_number: u64,
    /// The transparency log every certificate of the issuing CA goes into.
    pub(crate) log: tlog::SimLog,
    /// Who asked for each certificate the issuing CA issued, by its leaf
    /// hash: what a holder's own records say it requested.
    requested: BTreeMap<[u8; 32], String>,
}

impl std::fmt::Debug for SimPki {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimPki")
            .field("spec", &self.spec)
            .finish_non_exhaustive()
    }
}

pub(crate) fn serial(rng: &mut ChaCha20Rng) -> Serial {
    let mut bytes = [0u8; 20];
    rng.fill_bytes(&mut bytes);
    Serial::from_bytes(bytes)
}

pub(crate) fn ca_key(rng: &mut ChaCha20Rng) -> Result<CaKey, NetError> {
    Ok(CaKey::ed25519_from_seed(&ca_seed(rng))?)
}

fn ca_seed(rng: &mut ChaCha20Rng) -> zeroize::Zeroizing<[u8; 32]> {
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rng.fill_bytes(seed.as_mut());
    seed
}

impl SimPki {
    /// Creates the CAs (valid 20 years for roots, 10 for intermediates)
    /// and publishes the first CRLs.
    pub fn new(
        spec: PkiSpec,
        now: OffsetDateTime,
        rng: &mut ChaCha20Rng,
    ) -> Result<SimPki, NetError> {
        let root_serial = serial(rng);
        let mut issuing_seed = ca_seed(rng);
        let root = CertificateAuthority::new_root(
            &spec.root,
            CaKey::ed25519_from_seed(&issuing_seed)?,
            now,
            until(now, ROOT_LIFETIME),
            root_serial.clone(),
        )?;
        let mut chain = vec![root];
        let mut serials = vec![root_serial];
        for name in &spec.intermediates {
            let parent = chain.last().expect("the chain starts with the root");
            let ca_serial = serial(rng);
            issuing_seed = ca_seed(rng);
            let ca = parent.new_intermediate(
                name,
                CaKey::ed25519_from_seed(&issuing_seed)?,
                now,
                until(now, INTERMEDIATE_LIFETIME),
                None,
                ca_serial.clone(),
            )?;
            chain.push(ca);
            serials.push(ca_serial);
        }
        let mut rogue = Vec::new();
        for name in &spec.rogue {
            rogue.push(CertificateAuthority::new_root(
                name,
                ca_key(rng)?,
                now,
                until(now, ROOT_LIFETIME),
                serial(rng),
            )?);
        }
        let validator = Arc::new(Validator::new(vec![chain[0].certificate_der().to_vec()])?);
        let log = tlog::SimLog::new(&issuing_seed);
        let mut pki = SimPki {
            chain,
            rogue,
            revoked: BTreeMap::new(),
            crl_number: 0,
            validator,
            spec,
            serials,
            crl_window: (now, now),
            custom: BTreeMap::new(),
            issuing_seed,
            issued: BTreeMap::new(),
            published: BTreeMap::new(),
            delta_every: None,
            delta: None,
            full_number: 0,
            log,
            requested: BTreeMap::new(),
        };
        pki.publish_crl(now, None)?;
        Ok(pki)
    }

    /// The validator peers use now.
    pub fn validator(&self) -> Arc<Validator> {
        Arc::clone(&self.validator)
    }

    /// Names of the CAs nobody trusts by default.
    pub fn rogue_names(&self) -> Vec<String> {
        self.rogue.iter().map(|ca| ca.name().to_owned()).collect()
    }

    /// Subject of the issuing CA.
    pub fn issuing_name(&self) -> &str {
        self.issuing().name()
    }

    fn issuing(&self) -> &CertificateAuthority {
        self.chain.last().expect("the chain starts with the root")
    }

    /// Issues `identity` a certificate naming `name`, valid from
    /// `now + valid_from` for `validity` (default: the spec's), and logs
    /// it.
    pub fn certify(
        &mut self,
        identity: &mut Identity,
        name: &str,
        now: OffsetDateTime,
        valid_from: Duration,
        validity: Option<Duration>,
        rng: &mut ChaCha20Rng,
    ) -> Result<Serial, NetError> {
        let serial = self.issue_leaf(identity, name, until(now, valid_from), validity, rng)?;
        identity.inclusion_proof = Some(self.log.append(&identity.chain[0], false));
        self.issued.insert(serial.clone(), name.to_owned());
        self.record_request(&identity.chain[0], name);
        Ok(serial)
    }

    /// Issues the leaf and sets `identity`'s chain; returns its serial.
    fn issue_leaf(
        &mut self,
        identity: &mut Identity,
        name: &str,
        start: OffsetDateTime,
        validity: Option<Duration>,
        rng: &mut ChaCha20Rng,
    ) -> Result<Serial, NetError> {
        let request = LeafRequest::new(
            name,
            start,
            until(start, validity.unwrap_or(self.spec.certificate_validity)),
        );
        let issued =
            self.issuing()
                .issue(&request, &identity.public_key_spki_der(), serial(rng))?;
        identity.chain = std::iter::once(issued.der)
            .chain(
                self.chain[1..]
                    .iter()
                    .rev()
                    .map(|ca| ca.certificate_der().to_vec()),
            )
            .collect();
        Ok(issued.serial)
    }

    /// The issuing CA, compromised, issues `identity` (a key `holder`
    /// holds) a certificate naming `name`: appended to the log (`Some`;
    /// `Some(true)`: only to the split view a dishonest log shows some
    /// peers) or not (`None`). Returns its serial.
    pub fn certify_rogue_issuance(
        &mut self,
        identity: &mut Identity,
        name: &str,
        holder: &str,
        logged: Option<bool>,
        now: OffsetDateTime,
        rng: &mut ChaCha20Rng,
    ) -> Result<Serial, NetError> {
        let serial = self.issue_leaf(identity, name, now, None, rng)?;
        identity.inclusion_proof = logged.map(|hidden| self.log.append(&identity.chain[0], hidden));
        self.issued.insert(serial.clone(), holder.to_owned());
        self.record_request(&identity.chain[0], holder);
        Ok(serial)
    }

    fn record_request(&mut self, leaf: &[u8], requester: &str) {
        self.requested
            .insert(pkilab_tlog::merkle::leaf_hash(leaf), requester.to_owned());
    }

    /// Who asked for the certificate `leaf` (DER).
    pub fn requester(&self, leaf: &[u8]) -> Option<&str> {
        self.requested
            .get(&pkilab_tlog::merkle::leaf_hash(leaf))
            .map(String::as_str)
    }

    /// Whether the log keeps a split view.
    pub fn log_is_split(&self) -> bool {
        self.log.is_split()
    }

    /// The key that signs the log's checkpoints.
    pub fn log_key(&self) -> ed25519_dalek::VerifyingKey {
        self.log.verifying_key()
    }

    /// A certificate for `name` from a rogue CA (the first, or a default
    /// one made on the spot).
    pub fn certify_rogue(
        &mut self,
        identity: &mut Identity,
        name: &str,
        now: OffsetDateTime,
        rng: &mut ChaCha20Rng,
    ) -> Result<(), NetError> {
        if self.rogue.is_empty() {
            self.rogue.push(CertificateAuthority::new_root(
                "Rogue CA",
                ca_key(rng)?,
                now,
                until(now, ROOT_LIFETIME),
                serial(rng),
            )?);
        }
        let request = LeafRequest::new(name, now, until(now, self.spec.certificate_validity));
        let issued = self.rogue[0].issue(&request, &identity.public_key_spki_der(), serial(rng))?;
        identity.chain = vec![issued.der];
        Ok(())
    }

    /// Records a revocation by the issuing CA; it takes effect with the next
    /// published CRL.
    pub fn revoke(&mut self, serial: Serial, reason: RevocationReason, now: OffsetDateTime) {
        let issuing = self.chain.len() - 1;
        self.revoked.entry(issuing).or_default().push(RevokedEntry {
            serial,
            revoked_at: now,
            reason,
        });
    }

    /// Records the revocation of intermediate CA `name` by its parent; it
    /// takes effect with the next published CRL.
    pub fn revoke_ca(
        &mut self,
        name: &str,
        reason: RevocationReason,
        now: OffsetDateTime,
    ) -> Result<(), NetError> {
        let index = (1..self.chain.len())
            .find(|&i| self.chain[i].name() == name)
            .ok_or_else(|| NetError::Setup(format!("'{name}' is not an intermediate CA")))?;
        self.revoked
            .entry(index - 1)
            .or_default()
            .push(RevokedEntry {
                serial: self.serials[index].clone(),
                revoked_at: now,
                reason,
            });
        Ok(())
    }

    /// Publishes fresh CRLs of every CA and rebuilds the validator.
    pub fn publish_crl(
        &mut self,
        now: OffsetDateTime,
        validity: Option<Duration>,
    ) -> Result<(), NetError> {
        self.crl_number += 1;
        self.full_number = self.crl_number;
        self.delta = None;
        self.published = self.revoked.clone();
        let next = until(now, validity.unwrap_or(self.spec.crl_validity));
        self.crl_window = (now, next);
        self.rebuild()
    }

    fn rebuild(&mut self) -> Result<(), NetError> {
        self.custom.clear();
        self.validator = self.build(&[], Checks::Crls)?;
        Ok(())
    }

    fn build(&self, trusts: &[String], checks: Checks) -> Result<Arc<Validator>, NetError> {
        let (now, next) = self.crl_window;
        let trusted_rogue: Vec<&CertificateAuthority> = self
            .rogue
            .iter()
            .filter(|ca| trusts.iter().any(|t| t == ca.name()))
            .collect();
        let roots = std::iter::once(&self.chain[0])
            .chain(trusted_rogue.iter().copied())
            .map(|ca| ca.certificate_der().to_vec())
            .collect();
        let mut validator = Validator::new(roots)?;
        match checks {
            Checks::Crls => {
                for (i, ca) in self.chain.iter().enumerate() {
                    let revoked = self
                        .published
                        .get(&i)
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    validator.add_crl(&ca.crl(revoked, self.full_number, now, next)?)?;
                    if let Some(delta) = self.delta_crl(i, ca)? {
                        validator.add_crl(&delta)?;
                    }
                }
                for ca in &trusted_rogue {
                    validator.add_crl(&ca.crl(&[], self.full_number, now, next)?)?;
                }
                validator.set_revocation_policy(RevocationPolicy::RequireFresh);
            }
            Checks::Nothing => validator.set_revocation_policy(RevocationPolicy::IfPresent),
            Checks::LeafOcsp(required) => {
                // One response speaks for the leaf, as one staple does in
                // TLS; intermediates are not checked in these modes.
                validator.set_options(pkilab_verify::Options {
                    crl_scope: pkilab_verify::CrlScope::Leaf,
                    ..pkilab_verify::Options::default()
                });
                validator.set_revocation_policy(if required {
                    RevocationPolicy::RequireFresh
                } else {
                    RevocationPolicy::IfPresent
                });
            }
        }
        Ok(Arc::new(validator))
    }

    /// The validator of a peer that also trusts the rogue CAs `trusts`
    /// and treats revocation as `revocation`, at `now`.
    pub fn validator_with(
        &mut self,
        trusts: &[String],
        revocation: Revocation,
        now: OffsetDateTime,
    ) -> Arc<Validator> {
        let checks = match revocation {
            Revocation::Hard => Checks::Crls,
            Revocation::Soft if now >= self.crl_window.0 && now <= self.crl_window.1 => {
                Checks::Crls
            }
            Revocation::Soft | Revocation::None => Checks::Nothing,
            Revocation::Ocsp { soft_fail } | Revocation::OcspStaple { soft_fail } => {
                Checks::LeafOcsp(!soft_fail)
            }
        };
        if trusts.is_empty() && checks == Checks::Crls {
            return self.validator();
        }
        let key = (trusts.to_vec(), checks);
        if let Some(v) = self.custom.get(&key) {
            return Arc::clone(v);
        }
        // Building from CAs and CRLs that already built once cannot fail;
        // should it, the peer keeps the shared validator, which refuses more.
        let built = self
            .build(trusts, checks)
            .unwrap_or_else(|_| self.validator());
        self.custom.insert(key, Arc::clone(&built));
        built
    }
}
