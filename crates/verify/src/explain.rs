//! Turning webpki's errors into our reasons.

use webpki::{Error, ExtendedKeyUsageValidator, KeyPurposeIdIter};

use crate::verdict::{Reason, Verdict};

/// Accepts any extended key usage.
pub(crate) struct AnyUsage;

impl ExtendedKeyUsageValidator for AnyUsage {
    fn validate(&self, iter: KeyPurposeIdIter<'_, '_>) -> Result<(), Error> {
        // A malformed EKU extension is still an error.
        for purpose in iter {
            purpose?;
        }
        Ok(())
    }
}

/// The reason and a sentence for a webpki error.
pub(crate) fn from_webpki(error: &Error, position: Option<usize>) -> Box<Verdict> {
    let (reason, detail) = match error {
        Error::CertExpired { .. } => (Reason::Expired, "a certificate of the path has expired"),
        Error::CertNotValidYet { .. } => (
            Reason::NotYetValid,
            "a certificate of the path is not yet valid",
        ),
        Error::UnknownIssuer | Error::CertDistrusted => {
            (Reason::UnknownIssuer, "no path leads to a trusted root")
        }
        Error::MaximumSignatureChecksExceeded | Error::MaximumPathBuildCallsExceeded => (
            Reason::UnknownIssuer,
            "path building gave up before finding a path to a trusted root",
        ),
        Error::InvalidSignatureForPublicKey | Error::SignatureAlgorithmMismatch => (
            Reason::BadSignature,
            "a signature in the path does not verify",
        ),
        Error::UnsupportedSignatureAlgorithmContext(_)
        | Error::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => (
            Reason::BadSignature,
            "a certificate is signed with an algorithm we do not accept",
        ),
        Error::CaUsedAsEndEntity => (Reason::CaUsedAsEndEntity, "the leaf is a CA certificate"),
        Error::EndEntityUsedAsCa => (
            Reason::NotACa,
            "a certificate in an issuer position is not a CA",
        ),
        Error::PathLenConstraintViolated | Error::MaximumPathDepthExceeded => (
            Reason::PathTooLong,
            "the path is longer than a pathLenConstraint or our depth limit allows",
        ),
        Error::RequiredEkuNotFoundContext(_) | Error::EmptyEkuExtension => (
            Reason::UsageMismatch,
            "the extended key usage does not allow this use",
        ),
        Error::NameConstraintViolation => (
            Reason::NameConstraintViolation,
            "an issuer's name constraints exclude a name in the path",
        ),
        Error::CertNotValidForName(_) => (
            Reason::NameMismatch,
            "the certificate is not valid for the expected name",
        ),
        Error::UnsupportedCriticalExtension => (
            Reason::UnsupportedCriticalExtension,
            "a certificate has a critical extension we do not process",
        ),
        _ => (
            Reason::Malformed,
            "a certificate breaks DER or the RFC 5280 profile",
        ),
    };
    Box::new(Verdict::invalid(
        reason,
        format!("{detail} ({error:?})"),
        position,
    ))
}
