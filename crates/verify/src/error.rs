//! Errors in the validator's inputs (not verdicts: a refused certificate is
//! a `Verdict`, not an error).

/// An input the validator cannot use.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A trust anchor that does not parse or is unusable.
    #[error("unusable trust anchor: {0}")]
    Anchor(String),
    /// A CRL that does not parse.
    #[error("unusable CRL: {0}")]
    Crl(String),
    /// An OCSP response that does not parse or is not a successful basic
    /// response.
    #[error("unusable OCSP response: {0}")]
    Ocsp(String),
    /// A PEM file that holds nothing of the expected kind.
    #[error("{0}")]
    Pem(String),
}
