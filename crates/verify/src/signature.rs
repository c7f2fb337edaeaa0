//! Verifying a signature over raw bytes with an issuer's
//! SubjectPublicKeyInfo, for certificates and CRLs, and judging the
//! strength of keys and algorithms.
//!
//! Accepted: Ed25519; ECDSA on P-256, P-384 and P-521 with SHA-2; RSA
//! (2048 to 8192 bits) with PKCS#1 v1.5 or PSS and SHA-2. Legacy, accepted
//! only when the caller allows it and then noted: SHA-1, and RSA keys of
//! 1024 to 2047 bits. DSA and MD5 signatures cannot be verified here at all
//! (`weak-algorithm` even with legacy allowed); a DSA key in a leaf, which
//! signs nothing we check, is accepted with legacy allowed.

use aws_lc_rs::signature::{self, VerificationAlgorithm};
use x509_parser::oid_registry::{self as oids, Oid};
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::signature_algorithm::SignatureAlgorithm;
use x509_parser::x509::{AlgorithmIdentifier, SubjectPublicKeyInfo};

/// Why a signature was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureProblem {
    /// The algorithm (or its pairing with the key) is not supported.
    Unsupported(String),
    /// A weak algorithm (SHA-1, MD5, DSA), refused by policy.
    WeakAlgorithm(String),
    /// A key too short to trust (RSA below 2048 bits).
    WeakKey(String),
    /// The signature does not verify.
    Invalid,
}

/// A weakness that was accepted because legacy algorithms are allowed.
pub type Noted = Option<String>;

/// Verifies `signature` over `message` by the key in `issuer_spki_der`
/// with `algorithm`. With `legacy`, SHA-1 and short RSA keys verify and the
/// weakness is returned as a note.
pub fn verify(
    issuer_spki_der: &[u8],
    algorithm: &AlgorithmIdentifier<'_>,
    message: &[u8],
    signature: &[u8],
    legacy: bool,
) -> Result<Noted, SignatureProblem> {
    let (_, spki) = SubjectPublicKeyInfo::from_der(issuer_spki_der)
        .map_err(|e| SignatureProblem::Unsupported(format!("issuer key does not parse: {e}")))?;
    verify_with(&spki, algorithm, message, signature, legacy)
}

/// [`verify`] with the issuer's key already parsed (from its certificate).
pub(crate) fn verify_with(
    spki: &SubjectPublicKeyInfo<'_>,
    algorithm: &AlgorithmIdentifier<'_>,
    message: &[u8],
    signature: &[u8],
    legacy: bool,
) -> Result<Noted, SignatureProblem> {
    let (chosen, weakness) = pick(algorithm, spki)?;
    if let Some(weak) = &weakness
        && !legacy
    {
        return Err(weak.clone());
    }
    signature::UnparsedPublicKey::new(chosen, spki.subject_public_key.data.as_ref())
        .verify(message, signature)
        .map_err(|_| SignatureProblem::Invalid)?;
    Ok(weakness.map(|w| match w {
        SignatureProblem::WeakAlgorithm(s) | SignatureProblem::WeakKey(s) => s,
        _ => String::new(),
    }))
}

/// ecdsa-with-SHA1, 1.2.840.10045.4.1 (not in the OID registry).
const ECDSA_WITH_SHA1: Oid<'static> = x509_parser::der_parser::oid!(1.2.840.10045.4.1);

type Chosen = (&'static dyn VerificationAlgorithm, Option<SignatureProblem>);

fn pick(
    algorithm: &AlgorithmIdentifier<'_>,
    spki: &SubjectPublicKeyInfo<'_>,
) -> Result<Chosen, SignatureProblem> {
    let oid = &algorithm.algorithm;
    let unsupported = || {
        SignatureProblem::Unsupported(format!(
            "signature algorithm {oid} with a {} key",
            spki.algorithm.algorithm
        ))
    };
    if *oid == oids::OID_PKCS1_MD5WITHRSAENC
        || *oid == oids::OID_SIG_DSA_WITH_SHA1
        || spki.algorithm.algorithm == oids::OID_KEY_TYPE_DSA
    {
        return Err(SignatureProblem::WeakAlgorithm(format!(
            "signature algorithm {oid} (MD5 or DSA) is broken or obsolete and cannot be verified"
        )));
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => rsa_algorithm(algorithm, rsa_bits(rsa.modulus)),
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .ok_or_else(unsupported)?;
            ecdsa_algorithm(oid, &curve).ok_or_else(unsupported)
        }
        _ if spki.algorithm.algorithm == oids::OID_SIG_ED25519 && *oid == oids::OID_SIG_ED25519 => {
            if algorithm.parameters.is_some() {
                return Err(unsupported());
            }
            Ok((&signature::ED25519, None))
        }
        _ => Err(unsupported()),
    }
}

fn ecdsa_algorithm(oid: &Oid<'_>, curve: &Oid<'_>) -> Option<Chosen> {
    let p256 = *curve == oids::OID_EC_P256;
    let p384 = *curve == oids::OID_NIST_EC_P384;
    let p521 = *curve == oids::OID_NIST_EC_P521;
    let sha1 = *oid == ECDSA_WITH_SHA1;
    let weak = || Some(SignatureProblem::WeakAlgorithm("ECDSA with SHA-1".into()));
    let chosen: &'static dyn VerificationAlgorithm = match () {
        _ if sha1 && p256 => &signature::ECDSA_P256_SHA1_ASN1,
        _ if sha1 && p521 => &signature::ECDSA_P521_SHA1_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA256 && p256 => &signature::ECDSA_P256_SHA256_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA384 && p256 => &signature::ECDSA_P256_SHA384_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA512 && p256 => &signature::ECDSA_P256_SHA512_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA256 && p384 => &signature::ECDSA_P384_SHA256_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA384 && p384 => &signature::ECDSA_P384_SHA384_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA512 && p384 => &signature::ECDSA_P384_SHA512_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA256 && p521 => &signature::ECDSA_P521_SHA256_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA384 && p521 => &signature::ECDSA_P521_SHA384_ASN1,
        _ if *oid == oids::OID_SIG_ECDSA_WITH_SHA512 && p521 => &signature::ECDSA_P521_SHA512_ASN1,
        _ => return None,
    };
    Some((chosen, if sha1 { weak() } else { None }))
}

fn rsa_algorithm(
    algorithm: &AlgorithmIdentifier<'_>,
    bits: usize,
) -> Result<Chosen, SignatureProblem> {
    let oid = &algorithm.algorithm;
    let unsupported = || SignatureProblem::Unsupported(format!("RSA signature algorithm {oid}"));
    if bits > 8192 {
        return Err(SignatureProblem::Unsupported(format!(
            "an RSA-{bits} key (at most 8192 bits)"
        )));
    }
    let short = bits < 2048;
    if bits < 1024 {
        return Err(SignatureProblem::WeakKey(format!("an RSA-{bits} key")));
    }
    let weak_key =
        short.then(|| SignatureProblem::WeakKey(format!("an RSA-{bits} key (below 2048 bits)")));
    if *oid == oids::OID_PKCS1_SHA1WITHRSA || *oid == oids::OID_SHA1_WITH_RSA {
        let weak = SignatureProblem::WeakAlgorithm(if short {
            format!("SHA-1 with an RSA-{bits} key")
        } else {
            "RSA with SHA-1".into()
        });
        return Ok((
            &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY,
            Some(weak),
        ));
    }
    let pkcs1: Option<&'static dyn VerificationAlgorithm> = match () {
        _ if *oid == oids::OID_PKCS1_SHA256WITHRSA && short => {
            Some(&signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
        }
        _ if *oid == oids::OID_PKCS1_SHA512WITHRSA && short => {
            Some(&signature::RSA_PKCS1_1024_8192_SHA512_FOR_LEGACY_USE_ONLY)
        }
        _ if *oid == oids::OID_PKCS1_SHA256WITHRSA => Some(&signature::RSA_PKCS1_2048_8192_SHA256),
        _ if *oid == oids::OID_PKCS1_SHA384WITHRSA && !short => {
            Some(&signature::RSA_PKCS1_2048_8192_SHA384)
        }
        _ if *oid == oids::OID_PKCS1_SHA512WITHRSA => Some(&signature::RSA_PKCS1_2048_8192_SHA512),
        _ => None,
    };
    if let Some(chosen) = pkcs1 {
        return Ok((chosen, weak_key));
    }
    if *oid != oids::OID_PKCS1_RSASSAPSS || short {
        return Err(weak_key.unwrap_or_else(unsupported));
    }
    let Ok(SignatureAlgorithm::RSASSA_PSS(params)) = SignatureAlgorithm::try_from(algorithm) else {
        return Err(unsupported());
    };
    let hash = params.hash_algorithm_oid();
    let mgf_hash = params.mask_gen_algorithm().map(|m| m.hash.to_owned()).ok();
    let (chosen, salt): (&'static dyn VerificationAlgorithm, u32) = match () {
        _ if *hash == oids::OID_NIST_HASH_SHA256 => (&signature::RSA_PSS_2048_8192_SHA256, 32),
        _ if *hash == oids::OID_NIST_HASH_SHA384 => (&signature::RSA_PSS_2048_8192_SHA384, 48),
        _ if *hash == oids::OID_NIST_HASH_SHA512 => (&signature::RSA_PSS_2048_8192_SHA512, 64),
        _ => return Err(unsupported()),
    };
    if mgf_hash.as_ref() != Some(hash)
        || params.salt_length() != salt
        || params.trailer_field() != 1
    {
        return Err(unsupported());
    }
    Ok((chosen, None))
}

/// The bit length of an RSA modulus.
pub(crate) fn rsa_bits(modulus: &[u8]) -> usize {
    let trimmed: &[u8] = match modulus.iter().position(|b| *b != 0) {
        Some(i) => &modulus[i..],
        None => &[],
    };
    match trimmed.first() {
        Some(first) => trimmed.len() * 8 - first.leading_zeros() as usize,
        None => 0,
    }
}

/// Judges a subject public key: `Err` for a key that is refused (with
/// whether legacy use could allow it), `Ok(note)` otherwise.
pub(crate) fn key_strength(
    spki: &SubjectPublicKeyInfo<'_>,
    legacy: bool,
) -> Result<Noted, SignatureProblem> {
    let algorithm = &spki.algorithm.algorithm;
    if *algorithm == oids::OID_KEY_TYPE_DSA {
        let what = "a DSA key (DSA is obsolete: FIPS 186-5)".to_owned();
        return if legacy {
            Ok(Some(what))
        } else {
            Err(SignatureProblem::WeakAlgorithm(what))
        };
    }
    match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa_bits(rsa.modulus);
            match bits {
                0..1024 => Err(SignatureProblem::WeakKey(format!("an RSA-{bits} key"))),
                1024..2048 if legacy => Ok(Some(format!("an RSA-{bits} key (below 2048 bits)"))),
                1024..2048 => Err(SignatureProblem::WeakKey(format!(
                    "an RSA-{bits} key (below 2048 bits)"
                ))),
                _ if !bits.is_multiple_of(8) => Err(SignatureProblem::WeakKey(format!(
                    "an RSA-{bits} key: the modulus is not a whole number of bytes"
                ))),
                _ => Ok(None),
            }
        }
        Ok(PublicKey::EC(_)) => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok());
            let known = [
                oids::OID_EC_P256,
                oids::OID_NIST_EC_P384,
                oids::OID_NIST_EC_P521,
            ];
            match curve {
                Some(c) if known.contains(&c) => Ok(None),
                Some(c) => Err(SignatureProblem::WeakKey(format!(
                    "an elliptic-curve key on curve {c}, which is not P-256, P-384 or P-521"
                ))),
                None => Err(SignatureProblem::WeakKey(
                    "an elliptic-curve key without a named curve".into(),
                )),
            }
        }
        _ => Ok(None),
    }
}
