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
    let mut seed = [0u8; 32];
    rng.fill_bytes(&mut seed);
    Ok(CaKey::ed25519_from_seed(&seed)?)
}

impl SimPki {
    /// Creates the CAs (valid 20 years for roots, 10 for intermediates)
    /// and publishes the first CRLs.
    pub fn new(
        spec: PkiSpec,
        now: OffsetDateTime,
        rng: &mut ChaCha20Rng,
    ) -> Result<SimPki, NetError> {
        let root = CertificateAuthority::new_root(
            &spec.root,
            ca_key(rng)?,
            now,
            now + Duration::days(7305),
            serial(rng),
        )?;
        let mut chain = vec![root];
        for name in &spec.intermediates {
            let parent = chain.last().expect("the chain starts with the root");
            let ca = parent.new_intermediate(
                name,
                ca_key(rng)?,
                now,
                now + Duration::days(3652),
                None,
                serial(rng),
            )?;
            chain.push(ca);
        }
        let mut rogue = Vec::new();
        for name in &spec.rogue {
            rogue.push(CertificateAuthority::new_root(
                name,
                ca_key(rng)?,
                now,
                now + Duration::days(7305),
                serial(rng),
            )?);
        }
        let validator = Arc::new(Validator::new(vec![chain[0].certificate_der().to_vec()])?);
        let mut pki = SimPki {
            chain,
            rogue,
            revoked: BTreeMap::new(),
            crl_number: 0,
            validator,
            spec,
        };
        pki.publish_crl(now, None)?;
        Ok(pki)
    }

    /// The validator peers use now.
    pub fn validator(&self) -> Arc<Validator> {
        Arc::clone(&self.validator)
    }

    /// Subject of the issuing CA.
    pub fn issuing_name(&self) -> &str {
        self.issuing().name()
    }

    fn issuing(&self) -> &CertificateAuthority {
        self.chain.last().expect("the chain starts with the root")
    }

    /// Issues `identity` a certificate naming `name`, valid from
    /// `now + valid_from` for `validity` (default: the spec's).
    pub fn certify(
        &self,
        identity: &mut Identity,
        name: &str,
        now: OffsetDateTime,
        valid_from: Duration,
        validity: Option<Duration>,
        rng: &mut ChaCha20Rng,
    ) -> Result<Serial, NetError> {
        let start = now + valid_from;
        let request = LeafRequest::new(
            name,
            start,
            start + validity.unwrap_or(self.spec.certificate_validity),
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
                now + Duration::days(7305),
                serial(rng),
            )?);
        }
        let request = LeafRequest::new(name, now, now + self.spec.certificate_validity);
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

    /// Publishes fresh CRLs of every CA and rebuilds the validator.
    pub fn publish_crl(
        &mut self,
        now: OffsetDateTime,
        validity: Option<Duration>,
    ) -> Result<(), NetError> {
        self.crl_number += 1;
        let next = now + validity.unwrap_or(self.spec.crl_validity);
        let mut validator = Validator::new(vec![self.chain[0].certificate_der().to_vec()])?;
        for (i, ca) in self.chain.iter().enumerate() {
            let revoked = self.revoked.get(&i).map(Vec::as_slice).unwrap_or_default();
            validator.add_crl(&ca.crl(revoked, self.crl_number, now, next)?)?;
        }
        validator.set_revocation_policy(RevocationPolicy::RequireFresh);
        self.validator = Arc::new(validator);
        Ok(())
    }
}
