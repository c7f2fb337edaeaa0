//! pkilab's certificate authority: root and intermediate CAs that issue
//! X.509 certificates and RFC 5280 CRLs.
//!
//! Describe, then sign: a [`LeafRequest`] says what a certificate should
//! contain, [`CertificateAuthority::issue`] signs it. Time and serial numbers
//! are always passed in, so seeded simulations are reproducible.
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
mod revocation;
pub mod serial;
pub mod store;

pub use authority::{
    CertificateAuthority, IssuedCertificate, LeafRequest, Locations, RevocationReason,
    RevokedEntry, is_dns_name, self_signed_leaf,
};
pub use crl::CrlRequest;
pub use error::{Error, InputError, RequestError, Result};
pub use key::{CaKey, SigningAlgorithm};
pub use serial::Serial;
