//! Errors of the certificate authority.

/// Everything that can go wrong in the CA library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The caller asked for something the CA cannot do.
    #[error(transparent)]
    Request(#[from] RequestError),
    /// A key or certificate could not be read.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The signing backend failed.
    #[error("cannot sign: {0}")]
    Signing(String),
}

/// What the caller asked for that cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The requested validity ends after the issuer's.
    #[error(
        "the certificate would end {requested}, after its issuer '{issuer}' ends {issuer_ends}: ask for at most {max_days} days"
    )]
    OutlivesIssuer {
        /// Issuer subject.
        issuer: String,
        /// Requested notAfter.
        requested: String,
        /// Issuer's notAfter.
        issuer_ends: String,
        /// The longest validity still possible, in whole days.
        max_days: i64,
    },
    /// notBefore is not before notAfter.
    #[error(
        "the validity period is empty: notBefore {not_before} is not before notAfter {not_after}"
    )]
    EmptyValidity {
        /// Start.
        not_before: String,
        /// End.
        not_after: String,
    },
    /// A CRL's nextUpdate is not after its thisUpdate.
    #[error(
        "the CRL's nextUpdate {next_update} is not after its thisUpdate {this_update}: give it a positive lifetime"
    )]
    EmptyCrlPeriod {
        /// thisUpdate.
        this_update: String,
        /// nextUpdate.
        next_update: String,
    },
    /// A DNS name or other field is unusable.
    #[error("invalid name '{name}': {reason}")]
    InvalidName {
        /// The value.
        name: String,
        /// Why.
        reason: String,
    },
    /// An unknown algorithm name.
    #[error("unknown algorithm '{0}': use ed25519, ecdsa-p256 or rsa-3072")]
    UnknownAlgorithm(String),
    /// An unknown revocation reason.
    #[error("unknown revocation reason '{0}': use one of {list}", list = crate::authority::RevocationReason::NAMES.join(", "))]
    UnknownReason(String),
    /// A serial number that is not 1 to 20 bytes of hex.
    #[error("invalid serial '{0}': write 1 to 40 hexadecimal digits")]
    InvalidSerial(String),
}

/// Keys, certificates or requests that could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    /// The key bytes are not a usable private key.
    #[error("not a usable private key: {0}")]
    Key(String),
    /// The passphrase does not open the key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// A certificate that does not parse.
    #[error("not a usable certificate: {0}")]
    Certificate(String),
    /// A certificate signing request that does not parse or verify.
    #[error("not a usable certificate signing request: {0}")]
    Csr(String),
    /// A public key that does not parse.
    #[error("not a usable public key: {0}")]
    PublicKey(String),
}

/// The crate's result type.
pub type Result<T> = std::result::Result<T, Error>;

impl From<rcgen::Error> for Error {
    fn from(error: rcgen::Error) -> Self {
        Error::Signing(error.to_string())
    }
}
