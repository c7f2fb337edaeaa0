//! pkilab net crate.
#![forbid(unsafe_code)]
