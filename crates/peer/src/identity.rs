//! A peer's long-term identity: an Ed25519 signing key, a static X25519
//! key (used only by `static` mode), and its certificate chain.

use std::fmt;

use ed25519_dalek::SigningKey;
use rand_core::CryptoRngCore;
use x25519_dalek::StaticSecret;

/// Long-term keys and certificates. Zeroized on drop; `Debug` shows no key.
#[derive(Clone)]
pub struct Identity {
    /// The name this peer goes by (its certificate's dNSName).
    pub name: String,
    /// Signs handshake transcripts.
    pub signing: SigningKey,
    /// The long-term X25519 key of `static` mode.
    pub static_secret: StaticSecret,
    /// Certificate chain, leaf first, then intermediates (no root).
    pub chain: Vec<Vec<u8>>,
    /// The leaf's inclusion proof in the CA's transparency log, sent
    /// beside the chain (`None`: the leaf was not logged).
    pub inclusion_proof: Option<Vec<u8>>,
}

impl Identity {
    /// Fresh keys from `rng`, with no certificate yet.
    pub fn generate(name: &str, rng: &mut impl CryptoRngCore) -> Identity {
        Identity {
            name: name.to_owned(),
            signing: SigningKey::generate(rng),
            static_secret: StaticSecret::random_from_rng(rng),
            chain: Vec::new(),
            inclusion_proof: None,
        }
    }

    /// The Ed25519 public key as a DER SubjectPublicKeyInfo (RFC 8410), for
    /// a certificate request to the CA.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        use ed25519_dalek::pkcs8::EncodePublicKey;
        // Encoding 32 bytes into a fixed-shape structure cannot fail.
        self.signing
            .verifying_key()
            .to_public_key_der()
            .map(|d| d.into_vec())
            .unwrap_or_default()
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("name", &self.name)
            .field("keys", &"[redacted]")
            .field("chain", &self.chain.len())
            .field("logged", &self.inclusion_proof.is_some())
            .finish()
    }
}
