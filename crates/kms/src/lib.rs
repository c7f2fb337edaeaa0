//! pkilab kms crate.
#![forbid(unsafe_code)]
