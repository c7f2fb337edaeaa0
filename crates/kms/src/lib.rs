//! pkilab's key-management service: AES-256-GCM, Ed25519, X25519 and RSA
//! keys with owners, grants, versions and rotation, NIST SP 800-57
//! lifecycle states, envelope encryption at rest under an Argon2id
//! passphrase key, SQLite or PostgreSQL storage, and a hash-chained audit
//! log.
//!
//! Every operation is a transaction: it loads the key (applying expiry and
//! scheduled destruction that came due), checks access and state, acts,
//! and appends its audit entry before committing. A refused operation
//! rolls back and is audited on its own.
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod changes;
mod envelope;
mod error;
mod exports;
mod fast;
mod fence;
mod gcm;
mod integrity;
mod keys;
mod kms;
mod lifecycle;
mod material;
mod mfa;
mod operations;
mod roles;
mod store;

pub use audit::Entry as AuditEntry;
pub use audit::{FIELD_LIMIT, clean as clean_audit_field, printable as printable_audit_field};
pub use envelope::KdfParams;
pub use error::KmsError;
pub use fast::{FRESH_FOR, GROUP_LIMIT};
pub use fence::LEASE_FOR;
pub use gcm::{GCM_BLOCK, GCM_LIMIT};
pub use keys::KeyInfo;
pub use kms::{ADMIN, Kms, NewKey};
pub use lifecycle::{State, Use, permits};
pub use material::{KeyType, Material, verify_with_spki};
pub use mfa::{FREE_FAILURES, LOCKOUT_BASE, LOCKOUT_MAX, STEP as TOTP_STEP, totp_code};
pub use store::{Backend, Db};
