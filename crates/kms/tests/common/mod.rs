//! A key store in a temporary SQLite file, or in PostgreSQL when
//! `PKILAB_TEST_POSTGRES_URL` is set.
#![allow(dead_code, clippy::panic)]

use pkilab_kms::{KeyType, Kms, NewKey};
use time::{OffsetDateTime, macros::datetime};

pub const NOW: OffsetDateTime = datetime!(2026-06-01 12:00 UTC);
pub const PASSPHRASE: &[u8] = b"correct horse battery staple";
/// Argon2id memory for tests (KiB); production defaults to 65,536.
pub const MEMORY_KIB: u32 = 1024;

pub struct Store {
    pub kms: Kms,
    pub location: String,
    _dir: tempfile::TempDir,
}

/// A fresh SQLite key store.
pub async fn sqlite() -> Store {
    let dir = tempfile::tempdir().expect("temp dir");
    let location = dir.path().join("kms.db").display().to_string();
    let kms = Kms::init(&location, PASSPHRASE, MEMORY_KIB)
        .await
        .expect("init");
    Store {
        kms,
        location,
        _dir: dir,
    }
}

pub fn new_key(name: &str, key_type: KeyType) -> NewKey {
    NewKey {
        name: name.to_owned(),
        key_type,
        owner: None,
        expires_in: None,
        rotate_every: None,
        pre_active: false,
    }
}
