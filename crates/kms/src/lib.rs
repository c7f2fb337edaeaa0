//! pkilab's key-management service: AES-256-GCM, Ed25519, X25519, RSA and
//! X-Wing (X25519 + ML-KEM-768, post-quantum public-key encryption) keys
//! with owners, grants, versions and rotation, NIST SP 800-57
//! lifecycle states, envelope encryption at rest under an Argon2id
//! passphrase key, SQLite or PostgreSQL storage, and a hash-chained audit
//! log.
//!
//! Every operation is a transaction: it loads the key (applying expiry and
//! scheduled destruction that came due), checks access and state, acts,
//! and appends its audit entry before committing. A refused operation
//! rolls back and is audited on its own.
//!
//! ```
//! use pkilab_kms::{KeyType, Kms, NewKey};
//! use time::OffsetDateTime;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! let db = dir.path().join("keys.db").display().to_string();
//! let kms = Kms::init(&db, b"a long passphrase", 8 * 1024).await?;
//! let now = OffsetDateTime::now_utc();
//! let orders = NewKey {
//!     name: "orders".into(),
//!     key_type: KeyType::Aes256Gcm,
//!     owner: None,
//!     expires_in: None,
//!     rotate_every: None,
//!     pre_active: false,
//! };
//! kms.create("alice", &orders, now).await?;
//! let sealed = kms.encrypt("alice", "orders", b"invoice-7", b"42 widgets", now).await?;
//! let opened = kms.decrypt("alice", &sealed, b"invoice-7", false, now).await?;
//! assert_eq!(&opened[..], b"42 widgets");
//! // Another identity holds no grant on alice's key.
//! assert!(kms.decrypt("mallory", &sealed, b"invoice-7", false, now).await.is_err());
//! # Ok(()) }
//! ```
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod cache;
mod changes;
mod encoding;
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
pub mod xwing;

pub use audit::Entry as AuditEntry;
pub use audit::{FIELD_LIMIT, clean as clean_audit_field, printable as printable_audit_field};
pub use cache::{MATERIAL_ENTRIES, MATERIAL_FOR};
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
