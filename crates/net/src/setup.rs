//! Building adversaries by kind, with the certificate a MITM presents.

use pkilab_peer::Identity;
use time::Duration;

use crate::adversary::{Downgrader, Dropper, Eavesdropper, ReplayPlan, Replayer, Tamperer};
use crate::error::NetError;
use crate::intercept::Interceptor;
use crate::mitm::Mitm;
use crate::network::Network;
use crate::pki::serial;
use rand_core::RngCore;

/// What an adversary does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AdversaryKind {
    /// Records frames.
    Eavesdropper,
    /// Runs its own handshake with each side.
    Mitm(MitmCertificate),
    /// Delivers records twice.
    Replayer(ReplayPlan),
    /// Flips a bit in records (the first N, or all).
    Tamperer(Option<u64>),
    /// Rewrites the mode of hellos.
    Downgrader,
    /// Strips the ML-KEM key from hybrid hellos (asks for signed-ephemeral).
    Stripper,
    /// Drops records (the first N, or all).
    Dropper(Option<u64>),
}

/// The certificate a man-in-the-middle presents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MitmCertificate {
    /// None.
    None,
    /// A valid one, from the real CA, in its own name.
    Own,
    /// The victim's, with the victim's key.
    Stolen,
    /// Self-signed, in the victim's name.
    Forged,
    /// In the victim's name, from a CA nobody trusts.
    RogueCa,
}

impl Network {
    /// Installs adversary `name` of `kind` on the link `a`–`b`; `victim` is
    /// whose identity a stolen, forged or rogue-CA certificate claims.
    pub fn add_adversary(
        &mut self,
        name: &str,
        kind: AdversaryKind,
        a: &str,
        b: &str,
        victim: &str,
    ) -> Result<(), NetError> {
        let interceptor: Box<dyn Interceptor> = match kind {
            AdversaryKind::Eavesdropper => Box::new(Eavesdropper),
            AdversaryKind::Replayer(plan) => Box::new(Replayer::new(plan)),
            AdversaryKind::Tamperer(records) => Box::new(Tamperer::new(records)),
            AdversaryKind::Downgrader => Box::new(Downgrader::default()),
            AdversaryKind::Stripper => Box::new(Downgrader::stripper()),
            AdversaryKind::Dropper(records) => Box::new(Dropper::new(records)),
            AdversaryKind::Mitm(certificate) => {
                Box::new(Mitm::new(self.mitm_identity(name, certificate, victim)?))
            }
        };
        self.install(name, a, b, interceptor)?;
        if kind == AdversaryKind::Mitm(MitmCertificate::Stolen) {
            // A stolen identity is held like one handed over by
            // `compromise`: a re-certified key reaches the adversary too.
            let identity = (*self.peer(victim)?.node.identity).clone();
            self.adversary_mut(name)?.stolen.push(identity);
        }
        Ok(())
    }

    fn mitm_identity(
        &mut self,
        name: &str,
        certificate: MitmCertificate,
        victim: &str,
    ) -> Result<Identity, NetError> {
        let now = self.now;
        let mut identity = Identity::generate(name, &mut self.rng);
        match certificate {
            MitmCertificate::None => {}
            MitmCertificate::Own => {
                self.pki.certify(
                    &mut identity,
                    name,
                    now,
                    Duration::ZERO,
                    None,
                    &mut self.rng,
                )?;
            }
            MitmCertificate::Stolen => identity = (*self.peer(victim)?.node.identity).clone(),
            MitmCertificate::Forged => {
                self.peer(victim)?;
                // One seed makes both the certificate key and the handshake
                // signing key: they are the same Ed25519 key.
                let mut seed = [0u8; 32];
                self.rng.fill_bytes(&mut seed);
                let key = pkilab_ca::CaKey::ed25519_from_seed(&seed)?;
                identity = Identity {
                    name: victim.to_owned(),
                    signing: ed25519_dalek::SigningKey::from_bytes(&seed).into(),
                    ..identity
                };
                let serial = serial(&mut self.rng);
                identity.chain = vec![pkilab_ca::self_signed_leaf(
                    victim,
                    &key,
                    now,
                    crate::pki::until(now, Duration::days(365)),
                    serial,
                )?];
            }
            MitmCertificate::RogueCa => {
                self.peer(victim)?;
                identity.name = victim.to_owned();
                self.pki
                    .certify_rogue(&mut identity, victim, now, &mut self.rng)?;
            }
        }
        Ok(identity)
    }
}
