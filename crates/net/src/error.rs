//! Errors in setting up or driving the simulation (not refusals: a refused
//! handshake is an outcome, reported in the trace).

/// What the caller asked that cannot be done.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// No such peer.
    #[error("unknown peer '{0}'")]
    UnknownPeer(String),
    /// No such adversary.
    #[error("unknown adversary '{0}'")]
    UnknownAdversary(String),
    /// A name used twice.
    #[error("the name '{0}' is already taken")]
    Duplicate(String),
    /// The CA refused.
    #[error(transparent)]
    Ca(#[from] pkilab_ca::Error),
    /// The key-management node refused a setup step.
    #[error("kms: {0}")]
    Kms(#[from] pkilab_kms::KmsError),
    /// A key-management step in a network without a KMS node.
    #[error("this network has no KMS node: declare one")]
    NoKms,
    /// An OCSP step in a network without an OCSP responder.
    #[error("this network has no OCSP responder: declare one")]
    NoOcspResponder,
    /// The simulation could not start what it needs.
    #[error("{0}")]
    Setup(String),
    /// The validator refused its inputs.
    #[error(transparent)]
    Verify(#[from] pkilab_verify::Error),
}
