//! pkilab ca crate.
#![forbid(unsafe_code)]
