//! CA and leaf private keys. A key lives in memory as an rcgen key pair
//! backed by aws-lc-rs; its PKCS#8 encoding is zeroized when it is dropped.

use std::fmt;
use std::str::FromStr;

use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ED25519, PKCS_RSA_SHA256, SignatureAlgorithm};
use rustls_pki_types::PrivatePkcs8KeyDer;
use zeroize::{Zeroize, Zeroizing};

use crate::error::{Error, InputError, RequestError, Result};

/// Signature algorithms a CA or leaf key can use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SigningAlgorithm {
    /// Ed25519 (RFC 8410): the default.
    #[default]
    Ed25519,
    /// ECDSA on P-256 with SHA-256.
    EcdsaP256,
    /// RSA 3072 with PKCS#1 v1.5 SHA-256 signatures.
    Rsa3072,
}

impl SigningAlgorithm {
    /// Every algorithm, in the order the CLI lists them.
    pub const ALL: [SigningAlgorithm; 3] = [Self::Ed25519, Self::EcdsaP256, Self::Rsa3072];

    fn rcgen(self) -> &'static SignatureAlgorithm {
        match self {
            Self::Ed25519 => &PKCS_ED25519,
            Self::EcdsaP256 => &PKCS_ECDSA_P256_SHA256,
            Self::Rsa3072 => &PKCS_RSA_SHA256,
        }
    }
}

impl fmt::Display for SigningAlgorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::Rsa3072 => "rsa-3072",
        })
    }
}

impl FromStr for SigningAlgorithm {
    type Err = RequestError;

    fn from_str(text: &str) -> std::result::Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|a| a.to_string() == text)
            .ok_or_else(|| RequestError::UnknownAlgorithm(text.to_owned()))
    }
}

/// A private signing key. `Debug` never shows key material.
pub struct CaKey {
    pair: KeyPair,
    algorithm: SigningAlgorithm,
}

impl CaKey {
    /// A fresh random key.
    pub fn generate(algorithm: SigningAlgorithm) -> Result<CaKey> {
        let pair = match algorithm {
            // From a seed, so the key serializes as PKCS#8 v1 (RFC 8410):
            // OpenSSL 3.0 cannot read the v2 form with the public key.
            SigningAlgorithm::Ed25519 => {
                let mut seed = Zeroizing::new([0u8; 32]);
                aws_lc_rs::rand::fill(seed.as_mut()).expect("the system random generator works");
                return CaKey::ed25519_from_seed(&seed);
            }
            SigningAlgorithm::Rsa3072 => {
                KeyPair::generate_rsa_for(&PKCS_RSA_SHA256, rcgen::RsaKeySize::_3072)?
            }
            other => KeyPair::generate_for(other.rcgen())?,
        };
        Ok(CaKey { pair, algorithm })
    }

    /// A deterministic Ed25519 key from a 32-byte seed, for seeded
    /// simulations. The seed is the RFC 8032 private key.
    pub fn ed25519_from_seed(seed: &[u8; 32]) -> Result<CaKey> {
        use pkcs8::der::Encode;
        // RFC 8410 §7: PrivateKeyInfo v1 whose privateKey is the seed as a
        // CurvePrivateKey OCTET STRING; the parameters are absent.
        let curve_private_key = Zeroizing::new(
            pkcs8::der::asn1::OctetStringRef::new(seed)
                .and_then(|o| o.to_der())
                .map_err(|e| Error::Input(InputError::Key(e.to_string())))?,
        );
        let algorithm = pkcs8::AlgorithmIdentifierRef {
            oid: pkcs8::ObjectIdentifier::new_unwrap("1.3.101.112"),
            parameters: None,
        };
        let info = pkcs8::PrivateKeyInfo::new(algorithm, &curve_private_key);
        let der = pkcs8::SecretDocument::try_from(info)
            .map_err(|e| Error::Input(InputError::Key(e.to_string())))?;
        CaKey::from_pkcs8_der(der.as_bytes())
    }

    /// A key from unencrypted PKCS#8 DER; the algorithm is read from it.
    pub fn from_pkcs8_der(der: &[u8]) -> Result<CaKey> {
        let key = PrivatePkcs8KeyDer::from(der);
        for algorithm in SigningAlgorithm::ALL {
            if let Ok(pair) = KeyPair::from_pkcs8_der_and_sign_algo(&key, algorithm.rcgen()) {
                return Ok(CaKey { pair, algorithm });
            }
        }
        Err(Error::Input(InputError::Key(
            "PKCS#8 holds no Ed25519, P-256 or RSA key".into(),
        )))
    }

    /// The algorithm.
    pub fn algorithm(&self) -> SigningAlgorithm {
        self.algorithm
    }

    /// The unencrypted PKCS#8 DER, zeroized when dropped.
    pub fn to_pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.pair.serialize_der())
    }

    /// The public key as a DER SubjectPublicKeyInfo.
    pub fn public_key_spki_der(&self) -> Vec<u8> {
        rcgen::PublicKeyData::subject_public_key_info(&self.pair)
    }
}

/// The CA signs through rcgen's key trait, so a key held elsewhere (a KMS)
/// can stand in for an in-memory one.
impl rcgen::PublicKeyData for CaKey {
    fn der_bytes(&self) -> &[u8] {
        self.pair.der_bytes()
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        rcgen::PublicKeyData::algorithm(&self.pair)
    }
}

impl rcgen::SigningKey for CaKey {
    fn sign(&self, message: &[u8]) -> std::result::Result<Vec<u8>, rcgen::Error> {
        self.pair.sign(message)
    }
}

impl Drop for CaKey {
    fn drop(&mut self) {
        self.pair.zeroize();
    }
}

impl fmt::Debug for CaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaKey")
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_algorithm_generates_and_round_trips_through_pkcs8() {
        for algorithm in SigningAlgorithm::ALL {
            let key = CaKey::generate(algorithm).expect("generate");
            let again = CaKey::from_pkcs8_der(&key.to_pkcs8_der()).expect("parse");
            assert_eq!(again.algorithm(), algorithm);
            assert_eq!(again.public_key_spki_der(), key.public_key_spki_der());
        }
    }

    #[test]
    fn a_seed_gives_the_same_key_every_time() {
        let a = CaKey::ed25519_from_seed(&[7; 32]).expect("seed");
        let b = CaKey::ed25519_from_seed(&[7; 32]).expect("seed");
        let c = CaKey::ed25519_from_seed(&[8; 32]).expect("seed");
        assert_eq!(a.public_key_spki_der(), b.public_key_spki_der());
        assert_ne!(a.public_key_spki_der(), c.public_key_spki_der());
    }

    #[test]
    fn debug_hides_the_key() {
        let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("generate");
        let shown = format!("{key:?}");
        assert!(
            shown.contains("[redacted]") && !shown.contains("serialized"),
            "{shown}"
        );
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(
            CaKey::from_pkcs8_der(b"not a key"),
            Err(Error::Input(InputError::Key(_)))
        ));
    }

    #[test]
    fn algorithm_names_parse() {
        assert_eq!(
            "ecdsa-p256".parse::<SigningAlgorithm>().ok(),
            Some(SigningAlgorithm::EcdsaP256)
        );
        assert!("dsa".parse::<SigningAlgorithm>().is_err());
    }
}
