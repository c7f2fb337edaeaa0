//! What can go wrong while building a test PKI.

/// An error from the kit.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The certificate authority refused a request (an empty name, a
    /// validity outside the issuer's, a name that is not a DNS name).
    #[error("certificate authority: {0}")]
    Ca(#[from] pkilab_ca::Error),
    /// Signing a self-signed leaf failed.
    #[error("self-signed leaf: {0}")]
    SelfSigned(#[from] rcgen::Error),
    /// The caller asked for something the kit cannot do.
    #[error(transparent)]
    Misuse(#[from] Misuse),
    /// rustls refused the configuration (a key that does not match its
    /// certificate, a CRL it cannot parse).
    #[error("TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
    /// rustls refused to build a certificate verifier.
    #[error("certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    /// Writing PEM files failed.
    #[error("writing PEM files: {0}")]
    Io(#[from] std::io::Error),
}

/// A request that cannot be met, with what to do instead.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Misuse {
    /// `wrong_usage()` on a leaf for both usages.
    #[error(
        "leaf {name:?} is for both server and client use, so it has no wrong usage; start from Pki::server or Pki::client"
    )]
    NoWrongUsage {
        /// The leaf's name.
        name: String,
    },
    /// `revoke` of a leaf this PKI did not issue (a rogue or self-signed
    /// leaf, or one from another `Pki`).
    #[error(
        "leaf {name:?} was not issued by this PKI's issuing CA, so its CRL cannot list it; revoke genuine leaves of the same Pki"
    )]
    NotIssuedHere {
        /// The leaf's name.
        name: String,
    },
}

/// The kit's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
