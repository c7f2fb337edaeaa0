//! Verifying a signature over raw bytes with an issuer's
//! SubjectPublicKeyInfo, for CRLs (webpki verifies certificate signatures).

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use x509_parser::oid_registry::{self as oids, Oid};
use x509_parser::prelude::FromDer;
use x509_parser::x509::SubjectPublicKeyInfo;

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The algorithm (or its pairing with the key) is not accepted.
    Unsupported(String),
    /// The signature does not verify.
    Invalid,
}

/// Verifies `signature` over `message` by the key in `issuer_spki_der`,
/// with the algorithm named by `algorithm` (the signatureAlgorithm OID).
pub fn verify(
    issuer_spki_der: &[u8],
    algorithm: &Oid<'_>,
    message: &[u8],
    signature: &[u8],
) -> Result<(), SignatureProblem> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(issuer_spki_der)
        .map_err(|e| SignatureProblem::Unsupported(format!("issuer key does not parse: {e}")))?;
    let key_oid = &spki.algorithm.algorithm;
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.as_oid().ok());
    let chosen: &'static dyn VerificationAlgorithm = pick(algorithm, key_oid, curve.as_ref())
        .ok_or_else(|| {
            SignatureProblem::Unsupported(format!(
                "signature algorithm {algorithm} with a {key_oid} key"
            ))
        })?;
    signature::UnparsedPublicKey::new(chosen, spki.subject_public_key.data.as_ref())
        .verify(message, signature)
        .map_err(|_| SignatureProblem::Invalid)
}

fn pick(
    algorithm: &Oid<'_>,
    key: &Oid<'_>,
    curve: Option<&Oid<'_>>,
) -> Option<&'static dyn VerificationAlgorithm> {
    let p256 = curve == Some(&oids::OID_EC_P256);
    let p384 = curve == Some(&oids::OID_NIST_EC_P384);
    let rsa = *key == oids::OID_PKCS1_RSAENCRYPTION;
    let ec = *key == oids::OID_KEY_TYPE_EC_PUBLIC_KEY;
    Some(match algorithm {
        a if *a == oids::OID_SIG_ED25519 && *key == oids::OID_SIG_ED25519 => &signature::ED25519,
        a if *a == oids::OID_SIG_ECDSA_WITH_SHA256 && ec && p256 => {
            &signature::ECDSA_P256_SHA256_ASN1
        }
        a if *a == oids::OID_SIG_ECDSA_WITH_SHA256 && ec && p384 => {
            &signature::ECDSA_P384_SHA256_ASN1
        }
        a if *a == oids::OID_SIG_ECDSA_WITH_SHA384 && ec && p256 => {
            &signature::ECDSA_P256_SHA384_ASN1
        }
        a if *a == oids::OID_SIG_ECDSA_WITH_SHA384 && ec && p384 => {
            &signature::ECDSA_P384_SHA384_ASN1
        }
        a if *a == oids::OID_PKCS1_SHA256WITHRSA && rsa => &signature::RSA_PKCS1_2048_8192_SHA256,
        a if *a == oids::OID_PKCS1_SHA384WITHRSA && rsa => &signature::RSA_PKCS1_2048_8192_SHA384,
        a if *a == oids::OID_PKCS1_SHA512WITHRSA && rsa => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => return None,
    })
}
