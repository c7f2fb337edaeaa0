//! Test PKIs in a few lines, for tests that must show a service refuses a
//! revoked, expired or foreign certificate.
//!
//! A [`Pki`] is a root, optional intermediates, and the revocations made so
//! far, built on pkilab's certificate authority. Leaves come good or bad:
//! expired, not yet valid, with the wrong usage, from a rogue CA that copies
//! the real CA's names, or self-signed. Everything comes out in the types
//! rustls and tokio-rustls take ([`CertificateDer`], [`PrivateKeyDer`],
//! [`CertificateRevocationListDer`]), and as PEM files in a temporary
//! directory ([`Pki::pem_files`]) for tests that drive other programs.
//!
//! Time is injected: a [`Clock`] sets every validity period and CRL, and the
//! TLS configurations the kit builds ([`Pki::server_config`],
//! [`Pki::client_config`]) read the time from it too. They use the aws-lc-rs
//! provider explicitly ([`provider`]).
//!
//! # Example
//!
//! A server whose rustls `WebPkiClientVerifier` has the kit's CRLs refuses
//! a revoked client, and tells it why:
//!
//! ```
//! use pkilab_testkit::{Pki, RevocationReason, handshake};
//! use rustls::{AlertDescription, CertificateError, Error};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut pki = Pki::builder().intermediate("Example Issuing CA").build()?;
//! let server = pki.server("localhost").issue()?;
//! let alice = pki.client("alice").issue()?;
//! pki.revoke(&alice, RevocationReason::KeyCompromise)?;
//!
//! let refused = handshake(pki.client_config(&alice)?, pki.server_config(&server)?, "localhost")
//!     .expect_err("a revoked client is refused");
//! assert_eq!(refused.server, Some(Error::InvalidCertificate(CertificateError::Revoked)));
//! assert_eq!(refused.client, Some(Error::AlertReceived(AlertDescription::CertificateRevoked)));
//! # Ok(())
//! # }
//! ```
//!
//! The tests in `tests/` are worked examples: a rustls server built by hand
//! around `WebPkiClientVerifier`, a client refusing an expired server, and an
//! axum app behind the kit's mutual-TLS configuration.
//!
//! [`CertificateDer`]: rustls_pki_types::CertificateDer
//! [`PrivateKeyDer`]: rustls_pki_types::PrivateKeyDer
//! [`CertificateRevocationListDer`]: rustls_pki_types::CertificateRevocationListDer
#![forbid(unsafe_code)]

mod clock;
mod error;
mod files;
mod leaf;
mod pki;
mod tls;

pub use clock::Clock;
pub use error::{Error, Misuse, Result};
pub use files::{LeafFiles, PemFiles};
pub use leaf::{Leaf, LeafBuilder, Usage};
pub use pki::{Pki, PkiBuilder, SigningAlgorithm};
pub use pkilab_ca::{RevocationReason, RevokedEntry, Serial};
pub use tls::{Established, Refused, handshake, provider};

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExample;
