//! pkilab peer crate.
#![forbid(unsafe_code)]
