//! Public and private key encodings of the Curve25519 key types (and the
//! X-Wing public key), through the `spki` and `pkcs8` crates (RFC 5280
//! §4.1.2.7, RFC 5958, RFC 8410).

use pkcs8::der::Encode;
use pkcs8::der::asn1::{BitStringRef, OctetStringRef};
use pkcs8::spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoRef};
use pkcs8::{ObjectIdentifier, PrivateKeyInfo, SecretDocument};
use zeroize::Zeroizing;

use crate::error::KmsError;

/// id-Ed25519 (RFC 8410 §3).
pub(crate) const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");
/// id-X25519 (RFC 8410 §3).
pub(crate) const X25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.110");
/// id-XWing (draft-connolly-cfrg-xwing-kem), with absent parameters too.
pub(crate) const XWING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.62253.25722");

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierRef<'static> {
    // RFC 8410 §3: the parameters MUST be absent.
    AlgorithmIdentifierRef {
        oid,
        parameters: None,
    }
}

fn encoding(what: &str, e: impl std::fmt::Display) -> KmsError {
    KmsError::Crypto(format!("{what}: {e}"))
}

/// SubjectPublicKeyInfo DER of a public key (32 bytes for the Curve25519
/// types, 1216 for X-Wing).
pub(crate) fn spki(oid: ObjectIdentifier, key: &[u8]) -> Result<Vec<u8>, KmsError> {
    let subject_public_key =
        BitStringRef::from_bytes(key).map_err(|e| encoding("public key", e))?;
    SubjectPublicKeyInfoRef {
        algorithm: algorithm(oid),
        subject_public_key,
    }
    .to_der()
    .map_err(|e| encoding("public key", e))
}

/// PKCS#8 v1 PrivateKeyInfo DER of a 32-byte private key, whose
/// privateKey is the CurvePrivateKey OCTET STRING (RFC 8410 §7).
pub(crate) fn pkcs8(oid: ObjectIdentifier, key: &[u8; 32]) -> Result<Zeroizing<Vec<u8>>, KmsError> {
    let curve_private_key = Zeroizing::new(
        OctetStringRef::new(key)
            .and_then(|o| o.to_der())
            .map_err(|e| encoding("private key", e))?,
    );
    let info = PrivateKeyInfo::new(algorithm(oid), &curve_private_key);
    // A SecretDocument zeroizes its buffer when dropped.
    let document = SecretDocument::try_from(info).map_err(|e| encoding("private key", e))?;
    Ok(Zeroizing::new(document.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 8410 §10.1 and §10.3: the example Ed25519 public key and private key.
    const PUBLIC: &str =
        "302a300506032b657003210019bf44096984cdfe8541bac167dc3b96c85086aa30b6b6cb0c5c38ad703166e1";
    const PRIVATE: &str = "302e020100300506032b657004220420d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842";

    fn bytes(hex_text: &str, from: usize) -> [u8; 32] {
        hex::decode(hex_text).expect("hex")[from..]
            .try_into()
            .expect("32 bytes")
    }

    #[test]
    fn encodes_the_rfc_8410_examples() {
        let public = bytes(PUBLIC, 12);
        assert_eq!(hex::encode(spki(ED25519, &public).expect("spki")), PUBLIC);
        let private = bytes(PRIVATE, 16);
        assert_eq!(
            hex::encode(&*pkcs8(ED25519, &private).expect("pkcs8")),
            PRIVATE
        );
    }

    #[test]
    fn an_xwing_public_key_gets_the_id_xwing_oid() {
        let der = spki(XWING, &[7u8; 1216]).expect("spki");
        // SEQUENCE, AlgorithmIdentifier { OID 1.3.6.1.4.1.62253.25722 }, BIT STRING.
        assert_eq!(
            hex::encode(&der[..24]),
            "308204d4300d060b2b0601040183e62d81c87a038204c100"
        );
        assert_eq!(der.len(), 4 + 1236);
        assert_eq!(&der[24..], &[7u8; 1216][..]);
    }
}
