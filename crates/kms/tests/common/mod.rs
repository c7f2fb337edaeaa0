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

/// A fresh key store in its own PostgreSQL database on the server
/// `PKILAB_TEST_POSTGRES_URL` names. The PostgreSQL tests are ignored
/// unless asked for (`-- --ignored postgres`); asked for without a
/// server, they fail.
pub async fn postgres() -> Option<Store> {
    use sqlx::Executor;
    let Ok(base) = std::env::var("PKILAB_TEST_POSTGRES_URL") else {
        panic!("PKILAB_TEST_POSTGRES_URL is not set: run `eval \"$(bash .ci/postgres)\"` first");
    };
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("PostgreSQL reachable");
    let name = format!("pkilab_{}", hex::encode(rand_bytes()));
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    admin.close().await;
    let (server, _) = base.rsplit_once('/').expect("URL with a database");
    let location = format!("{server}/{name}");
    let kms = Kms::init(&location, PASSPHRASE, MEMORY_KIB)
        .await
        .expect("init");
    let dir = tempfile::tempdir().expect("temp dir");
    Some(Store {
        kms,
        location,
        _dir: dir,
    })
}

fn rand_bytes() -> [u8; 8] {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new()
        .hash_one(std::time::SystemTime::now())
        .to_be_bytes()
}

/// Runs each named test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both {
    ($($body:ident),* $(,)?) => {
        $(
            mod $body {
                #[tokio::test]
                async fn sqlite() {
                    super::$body(super::common::sqlite().await).await;
                }
                #[tokio::test]
                #[ignore = "needs PostgreSQL: eval \"$(bash .ci/postgres)\", then cargo test -p pkilab-kms -- --ignored postgres"]
                async fn postgres() {
                    if let Some(store) = super::common::postgres().await {
                        super::$body(store).await;
                    }
                }
            }
        )*
    };
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
