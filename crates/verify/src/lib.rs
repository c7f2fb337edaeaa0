//! pkilab verify crate.
#![forbid(unsafe_code)]
