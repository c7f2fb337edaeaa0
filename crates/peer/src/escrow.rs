//! How the simulation models an adversary who breaks a primitive later (a
//! future quantum computer that solves discrete logarithms, or a flaw found
//! in ML-KEM). Nobody can compute a secret key from a public one today, so
//! the simulator keeps the ephemeral secrets of every handshake it runs in
//! an [`Escrow`], and hands an adversary, through an [`Oracle`], exactly
//! the secrets of the primitives it is assumed to break. Everything else
//! the adversary does honestly: it recomputes the shared secret from what
//! it holds and what it recorded, runs the key schedule, and keeps the keys
//! only if the recorded handshake block opens under them
//! ([`crate::recorded::attempt_with_oracle`]).

use std::collections::HashMap;

use aws_lc_rs::kem::{DecapsulationKey, ML_KEM_768};
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use crate::identity::Identity;

/// At most this many secrets of each kind are kept: a simulation of a few
/// lessons never gets near it, and a long run cannot grow it without bound.
pub const ESCROW_CAPACITY: usize = 4096;

/// The simulator's copy of ephemeral secrets, by public key. Zeroized on
/// drop (both kinds of value are); `Debug` shows only counts.
#[derive(Default)]
pub struct Escrow {
    x25519: HashMap<[u8; 32], StaticSecret>,
    ml_kem: HashMap<Vec<u8>, Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Escrow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Escrow")
            .field("x25519", &self.x25519.len())
            .field("ml_kem", &self.ml_kem.len())
            .finish()
    }
}

impl Escrow {
    /// An empty escrow.
    pub fn new() -> Escrow {
        Escrow::default()
    }

    /// Keeps an X25519 secret (ephemeral, or a long-term one).
    pub(crate) fn keep_x25519(&mut self, secret: &StaticSecret) {
        if self.x25519.len() < ESCROW_CAPACITY {
            let public = PublicKey::from(secret).to_bytes();
            self.x25519
                .insert(public, StaticSecret::from(secret.to_bytes()));
        }
    }

    /// Keeps an ML-KEM-768 decapsulation key under its encapsulation key.
    pub(crate) fn keep_ml_kem(&mut self, encapsulation_key: &[u8], dk: &DecapsulationKey) {
        if self.ml_kem.len() < ESCROW_CAPACITY
            && let Ok(bytes) = dk.key_bytes()
        {
            self.ml_kem.insert(
                encapsulation_key.to_vec(),
                Zeroizing::new(bytes.as_ref().to_vec()),
            );
        }
    }

    /// Keeps a peer's long-term X25519 key (of `static` mode): a discrete
    /// logarithm solver breaks long-term keys as well as ephemeral ones.
    pub fn keep_static(&mut self, identity: &Identity) {
        self.keep_x25519(&identity.static_secret);
    }

    /// How many X25519 and ML-KEM secrets are kept.
    pub fn len(&self) -> (usize, usize) {
        (self.x25519.len(), self.ml_kem.len())
    }

    /// Whether nothing is kept.
    pub fn is_empty(&self) -> bool {
        self.x25519.is_empty() && self.ml_kem.is_empty()
    }
}

/// The primitives an adversary is assumed to break.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Broken {
    /// X25519: the adversary computes a secret key from its public key.
    pub x25519: bool,
    /// ML-KEM-768: the adversary computes a decapsulation key from its
    /// encapsulation key.
    pub ml_kem: bool,
}

impl Broken {
    /// The ids of the broken primitives, as scenario files write them.
    pub fn ids(self) -> Vec<&'static str> {
        let mut ids = Vec::new();
        if self.x25519 {
            ids.push("x25519");
        }
        if self.ml_kem {
            ids.push("ml-kem");
        }
        ids
    }
}

/// What an adversary who breaks [`Broken`] can learn: the secret behind a
/// public key of a broken primitive, and nothing else.
pub struct Oracle<'a> {
    escrow: &'a Escrow,
    broken: Broken,
}

impl std::fmt::Debug for Oracle<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Oracle")
            .field("broken", &self.broken)
            .finish_non_exhaustive()
    }
}

impl<'a> Oracle<'a> {
    /// An oracle that breaks `broken`, answering from `escrow`.
    pub fn new(escrow: &'a Escrow, broken: Broken) -> Oracle<'a> {
        Oracle { escrow, broken }
    }

    /// The X25519 secret behind `public`, if X25519 is broken.
    pub fn x25519_secret(&self, public: &[u8; 32]) -> Option<&StaticSecret> {
        self.broken
            .x25519
            .then(|| self.escrow.x25519.get(public))
            .flatten()
    }

    /// The ML-KEM-768 decapsulation key behind `encapsulation_key`, if
    /// ML-KEM is broken.
    pub fn ml_kem_key(&self, encapsulation_key: &[u8]) -> Option<DecapsulationKey> {
        if !self.broken.ml_kem {
            return None;
        }
        let bytes = self.escrow.ml_kem.get(encapsulation_key)?;
        DecapsulationKey::new(&ML_KEM_768, bytes).ok()
    }
}
