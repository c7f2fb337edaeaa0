//! A peer's long-term identity: an Ed25519 signing key, a static X25519
//! key (used only by `static` mode), and its certificate chain.

use std::fmt;

use ed25519_dalek::hazmat::{ExpandedSecretKey, raw_sign};
use ed25519_dalek::{Sha512, Signature, SigningKey, VerifyingKey};
use rand_core::CryptoRngCore;
use x25519_dalek::StaticSecret;

/// An Ed25519 signing key kept with its expanded form (the scalar and nonce
/// prefix RFC 8032 §5.1.6 derives from the seed with SHA-512), derived once
/// rather than at every signature. Both halves come from one seed here and
/// nowhere else, so the expanded key always belongs to the verifying key it
/// signs with. Zeroized on drop; `Debug` shows only the public key.
pub struct TranscriptSigner {
    key: SigningKey,
    expanded: ExpandedSecretKey,
}

impl TranscriptSigner {
    /// The verifying (public) key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The signing key itself.
    pub fn signing_key(&self) -> &SigningKey {
        &self.key
    }

    /// An Ed25519 signature (RFC 8032, deterministic): the same bytes
    /// [`SigningKey`] gives, without expanding the seed again.
    pub fn sign(&self, message: &[u8]) -> Signature {
        raw_sign::<Sha512>(&self.expanded, message, &self.key.verifying_key())
    }
}

impl From<SigningKey> for TranscriptSigner {
    fn from(key: SigningKey) -> Self {
        let expanded = ExpandedSecretKey::from(key.as_bytes());
        TranscriptSigner { key, expanded }
    }
}

impl Clone for TranscriptSigner {
    fn clone(&self) -> Self {
        TranscriptSigner::from(self.key.clone())
    }
}

impl fmt::Debug for TranscriptSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TranscriptSigner")
            .field("verifying_key", &self.key.verifying_key())
            .finish_non_exhaustive()
    }
}

/// Long-term keys and certificates. Zeroized on drop; `Debug` shows no key.
#[derive(Clone)]
pub struct Identity {
    /// The name this peer goes by (its certificate's dNSName).
    pub name: String,
    /// Signs handshake transcripts.
    pub signing: TranscriptSigner,
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
            signing: SigningKey::generate(rng).into(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;
    use rand_chacha::ChaCha20Rng;
    use rand_chacha::rand_core::{RngCore, SeedableRng};

    /// Signing with the expanded key kept is RFC 8032 signing: the same
    /// bytes as `SigningKey::sign`, and they verify strictly.
    #[test]
    fn the_kept_expansion_signs_as_the_key_does() {
        let mut rng = ChaCha20Rng::seed_from_u64(11);
        for len in [0usize, 1, 60, 200, 1000] {
            let key = SigningKey::generate(&mut rng);
            let signer = TranscriptSigner::from(key.clone());
            let mut message = vec![0u8; len];
            rng.fill_bytes(&mut message);
            let signature = signer.sign(&message);
            assert_eq!(signature, key.sign(&message), "{len} bytes");
            assert!(
                key.verifying_key()
                    .verify_strict(&message, &signature)
                    .is_ok()
            );
            assert_eq!(signer.clone().sign(&message), signature);
        }
    }
}
