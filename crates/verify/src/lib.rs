//! Certificate chain and revocation validation with explainable verdicts.
//!
//! rustls-webpki builds the path and checks signatures, names and usages;
//! this crate adds the RFC 5280 checks webpki leaves out (trust-anchor
//! validity, CRL profile and signatures, cRLSign, CRL freshness) and says,
//! for every refusal, why (`Reason::id`) and where in the chain.
#![forbid(unsafe_code)]

mod crl;
mod crl_der;
mod error;
mod explain;
pub mod limbo;
pub mod pem_input;
mod profile;
mod revocation;
mod rfc5280;
mod signature;
mod validator;
mod verdict;

pub use crl::{IndexedCrl, Revocation};
pub use error::Error;
pub use validator::Validator;
pub use verdict::{
    ExpectedName, Reason, RevocationPolicy, Usage, ValidationRequest, Verdict, rfc3339,
};
