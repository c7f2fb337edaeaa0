//! A small PKI and peers for protocol tests.
#![allow(dead_code, clippy::panic)]

use std::sync::Arc;

use pkilab_ca::{
    CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use pkilab_peer::{Config, Established, Identity, Mode, Refusal, initiate, respond};
use pkilab_verify::{RevocationPolicy, Validator};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use time::{Duration, OffsetDateTime, macros::datetime};

pub const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

pub fn rng(seed: u64) -> ChaCha20Rng {
    ChaCha20Rng::seed_from_u64(seed)
}

pub struct Pki {
    pub root: CertificateAuthority,
    pub issuing: CertificateAuthority,
}

impl Pki {
    pub fn new(prefix: &str) -> Pki {
        let root = CertificateAuthority::new_root(
            &format!("{prefix} Root"),
            CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
            NOW,
            NOW + Duration::days(3650),
            Serial::random(),
        )
        .expect("root");
        let issuing = root
            .new_intermediate(
                &format!("{prefix} Issuing"),
                CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
                NOW,
                NOW + Duration::days(1825),
                Some(0),
                Serial::random(),
            )
            .expect("issuing");
        Pki { root, issuing }
    }

    /// An identity named `name` with a certificate naming `cert_name`.
    pub fn identity(
        &self,
        name: &str,
        cert_name: &str,
        seed: u64,
        days: i64,
    ) -> (Identity, Serial) {
        let mut identity = Identity::generate(name, &mut rng(seed));
        let request = LeafRequest::new(cert_name, NOW, NOW + Duration::days(days));
        let issued = self
            .issuing
            .issue(&request, &identity.public_key_spki_der(), Serial::random())
            .expect("issue");
        identity.chain = vec![issued.der, self.issuing.certificate_der().to_vec()];
        (identity, issued.serial)
    }

    pub fn validator(&self, revoked: &[Serial], crl_days: i64) -> Arc<Validator> {
        let mut v = Validator::new(vec![self.root.certificate_der().to_vec()]).expect("anchor");
        let entries: Vec<RevokedEntry> = revoked
            .iter()
            .map(|s| RevokedEntry {
                serial: s.clone(),
                revoked_at: NOW,
                reason: RevocationReason::KeyCompromise,
            })
            .collect();
        v.add_crl(
            &self
                .root
                .crl(&[], 1, NOW, NOW + Duration::days(crl_days))
                .expect("crl"),
        )
        .expect("add");
        v.add_crl(
            &self
                .issuing
                .crl(&entries, 1, NOW, NOW + Duration::days(crl_days))
                .expect("crl"),
        )
        .expect("add");
        v.set_revocation_policy(RevocationPolicy::RequireFresh);
        Arc::new(v)
    }
}

pub fn config(
    identity: Identity,
    validator: &Arc<Validator>,
    mode: Mode,
    at: OffsetDateTime,
) -> Config {
    Config {
        identity: Arc::new(identity),
        validator: Arc::clone(validator),
        at,
        mode,
        cipher: Default::default(),
        ocsp: Default::default(),
        require_logged: None,
    }
}

/// Which side refused, and why.
#[derive(Debug)]
pub enum Failure {
    Responder(Refusal),
    Initiator(Refusal),
    ResponderAtFinish(Refusal),
}

impl Failure {
    pub fn id(&self) -> &'static str {
        match self {
            Failure::Responder(r) | Failure::Initiator(r) | Failure::ResponderAtFinish(r) => r.id(),
        }
    }
}

/// Runs a whole handshake in memory.
pub fn run(
    initiator: Config,
    dial: &str,
    responder: Config,
    expect: Option<&str>,
    seed: u64,
) -> Result<(Established, Established), Failure> {
    let mut r = rng(seed);
    let (state_i, m1) = initiate(initiator, dial, &mut r);
    let (state_r, m2) = respond(responder, expect, &m1, &mut r).map_err(Failure::Responder)?;
    let (established_i, m3) = state_i.handle(&m2).map_err(Failure::Initiator)?;
    let established_r = state_r.handle(&m3).map_err(Failure::ResponderAtFinish)?;
    Ok((established_i, established_r))
}
