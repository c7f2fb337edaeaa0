//! pkilab's HTTPS API: the CA and the KMS as a service.
//!
//! - TLS (rustls) asks every client for a certificate and checks it with
//!   `pkilab_verify` against our CA and its current CRL, reloaded when the
//!   CA publishes a new one: a revoked, expired or foreign certificate is
//!   refused in the handshake. A connection without one reaches only the
//!   public routes.
//! - A client is the one CN of its certificate and nothing more: the KMS
//!   decides access (the admin role, owners, grants, revoked identities).
//!   An open connection whose certificate stops validating (a new CRL) is
//!   closed.
//! - A token bucket per client and one for all anonymous requests, TOTP
//!   for destructive operations and certificate issuance, caps on
//!   connections per address and in total, deadlines for handshakes,
//!   headers, whole requests and idle connections.
//! - Every authenticated request is answered only after its audit entry is
//!   committed; anonymous and rate-limited requests are counted.
//! - The CA's publication point, open without a client certificate: an
//!   OCSP responder (RFC 6960, `POST /ocsp` and `GET /ocsp/{base64}`)
//!   answering from a bounded cache of pre-signed responses, refreshed
//!   before they expire and emptied when the CA's records change
//!   ([`OcspService`]); and the CRLs and CA certificates as DER at the URLs
//!   the CA writes into certificates (`/crl/…`, `/ca/…`).
//! - [`ocsp_client`]: the other side, which `pkilab verify --ocsp` uses.
//!
//! `pkilab serve` reads its settings from a YAML file; a setting that
//! cannot hold is refused with what to write instead:
//!
//! ```
//! use pkilab_server::Config;
//!
//! let config = Config::parse("admins: [ops]\nidle-timeout: 15s\ncert-quota: 2\n").unwrap();
//! assert!(config.admins.contains("ops"));
//! assert_eq!(config.idle_timeout.as_secs(), 15);
//! let refused = Config::parse("idle-timeout: 18446744073709551615s\n").unwrap_err();
//! assert!(refused.contains("idle-timeout"), "{refused}");
//! ```
#![forbid(unsafe_code)]

mod api;
mod ca_ops;
mod config;
mod conn;
mod errors;
mod idle;
mod key_ops;
mod keys_api;
mod limits;
mod log_api;
mod ocsp;
pub mod ocsp_client;
mod openapi;
mod published;
mod serve;
mod shared_limits;
mod tls;

pub use api::openapi_document;
pub use config::{Config, RateLimit};
pub use ocsp::OcspService;
pub use serve::{CaSource, Server, bind, bind_ca, bind_with};
pub use shared_limits::SharedBuckets;
pub use tls::{CaView, ClientVerifier};

/// What keeps the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A file or setting is unusable.
    #[error("{0}")]
    Setup(String),
    /// The CA directory.
    #[error(transparent)]
    Store(#[from] pkilab_ca::store::StoreError),
    /// The CA.
    #[error(transparent)]
    Ca(#[from] pkilab_ca::Error),
    /// A file write.
    #[error(transparent)]
    Io(#[from] pkilab_ca::disk::IoError),
    /// The validator's inputs.
    #[error(transparent)]
    Verify(#[from] pkilab_verify::Error),
    /// The key store.
    #[error(transparent)]
    Kms(#[from] pkilab_kms::KmsError),
}
