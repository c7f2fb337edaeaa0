//! Certificate chain and revocation validation with explainable verdicts.
//!
//! One validator decides: this crate's own RFC 5280 §6.1 implementation.
//! A path is accepted only when one complete path, from the leaf to a trust
//! anchor, passes every rule (signatures, validity, basic constraints,
//! pathLen, key usages, name constraints, certificate policies, critical
//! extensions, key strength, the RFC 5280 profile, and revocation by CRLs
//! as §6.3 describes); nothing composes two verdicts, so no check can turn
//! a refusal into an acceptance, and untrusted certificates added to the
//! pool can only add candidate paths (`path`). rustls-webpki is kept out of
//! the decision and serves in the tests as a differential oracle.
//!
//! Every refusal says why (`Reason::id`) and where in the chain.
//!
//! ```
//! use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, Serial, SigningAlgorithm};
//! use pkilab_verify::{ExpectedName, Usage, ValidationRequest, Validator};
//! use time::{Duration, OffsetDateTime};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let now = OffsetDateTime::now_utc();
//! let key = CaKey::generate(SigningAlgorithm::Ed25519)?;
//! let root = CertificateAuthority::new_root(
//!     "Example Root", key, now - Duration::days(1), now + Duration::days(30), Serial::random())?;
//! let alice = CaKey::generate(SigningAlgorithm::Ed25519)?;
//! let request = LeafRequest::new("alice", now - Duration::days(1), now + Duration::days(7));
//! let leaf = root.issue(&request, &alice.public_key_spki_der(), Serial::random())?;
//!
//! let validator = Validator::new(vec![root.certificate_der().to_vec()])?;
//! let ask = |name: &str| ValidationRequest {
//!     at: now,
//!     name: ExpectedName::Peer(name.into()),
//!     usage: Usage::Any,
//! };
//! assert!(validator.validate(&leaf.der, &[], &ask("alice")).is_valid());
//! let refused = validator.validate(&leaf.der, &[], &ask("bob"));
//! assert_eq!(refused.reason().map(|r| r.id()), Some("name-mismatch"));
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod cache;
mod constraints;
mod crl;
mod crl_der;
mod error;
mod leaf;
pub mod limbo;
mod logged;
mod names;
mod ocsp;
pub mod ocsp_request;
mod path;
pub mod pem_input;
mod policy;
mod process;
mod profile;
mod revocation;
mod signature;
mod validator;
mod verdict;

pub use crl::{IndexedCrl, Revocation};
pub use error::Error;
pub use logged::LogRequirement;
pub use ocsp::OcspEntry;
pub use policy::PolicyRequest;
pub use validator::{CrlScope, Options, Validator};
pub use verdict::{
    ExpectedName, Reason, RevocationPolicy, RevocationSource, Usage, ValidationRequest, Verdict,
    rfc3339,
};
