//! pkilab's certificate authority: root and intermediate CAs that issue
//! X.509 certificates and RFC 5280 CRLs.
//!
//! Describe, then sign: a [`LeafRequest`] says what a certificate should
//! contain, [`CertificateAuthority::issue`] signs it. Time and serial numbers
//! are always passed in, so seeded simulations are reproducible.
//!
//! ```
//! use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry,
//!     Serial, SigningAlgorithm};
//! use time::{Duration, OffsetDateTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = OffsetDateTime::now_utc();
//! let root = CertificateAuthority::new_root("Example Root",
//!     CaKey::generate(SigningAlgorithm::Ed25519)?, now, now + Duration::days(365), Serial::random())?;
//! let key = CaKey::generate(SigningAlgorithm::EcdsaP256)?;
//! let mut request = LeafRequest::new("alice", now, now + Duration::days(30));
//! request.dns = vec!["alice.example".into()];
//! let leaf = root.issue(&request, &key.public_key_spki_der(), Serial::random())?;
//! let revoked = [RevokedEntry {
//!     serial: leaf.serial.clone(),
//!     revoked_at: now,
//!     reason: RevocationReason::KeyCompromise,
//! }];
//! let crl = root.crl(&revoked, 1, now, now + Duration::days(7))?;
//! assert!(!crl.is_empty());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

pub mod authority;
mod crl;
pub mod csr;
pub mod disk;
pub mod encrypted_key;
pub mod error;
pub mod inspect;
pub mod key;
pub mod ocsp;
pub mod ocsp_request;
mod revocation;
pub mod serial;
pub mod sql;
pub mod store;

pub use authority::{
    CertificateAuthority, IssuedCertificate, LeafRequest, Locations, RevocationReason,
    RevokedEntry, is_dns_name, self_signed_leaf,
};
pub use crl::CrlRequest;
pub use error::{Error, InputError, RequestError, Result};
pub use key::{CaKey, SigningAlgorithm};
pub use serial::Serial;
pub use sql::CaDb;
