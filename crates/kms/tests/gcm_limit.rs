#![allow(clippy::panic)]
//! The AES-GCM usage limit per key version: counted in the store, shared
//! by processes, refused at the bound, reset by rotation.

mod common;

on_both!(a_version_at_its_gcm_limit_refuses_until_rotated);

use common::{NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, GCM_BLOCK, GCM_LIMIT, KeyType, Kms, KmsError};
use sqlx::Row;

async fn a_version_at_its_gcm_limit_refuses_until_rotated(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("busy", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let first = k
        .encrypt(ADMIN, "busy", b"", b"x", NOW)
        .await
        .expect("encrypt");
    let pool = k.db().pool();
    let used: i64 =
        sqlx::query("SELECT invocations FROM versions WHERE key_name = 'busy' AND version = 1")
            .fetch_one(pool)
            .await
            .expect("row")
            .try_get(0)
            .expect("count");
    assert_eq!(used, GCM_BLOCK, "a block is reserved in the store");
    // Another process finds the version nearly used up (as if 2^32 minus
    // a little had been encrypted): its next block would pass the bound.
    sqlx::query("UPDATE versions SET invocations = $1 WHERE key_name = 'busy' AND version = 1")
        .bind(GCM_LIMIT - GCM_BLOCK + 1)
        .execute(pool)
        .await
        .expect("set");
    let other = Kms::open(&s.location, PASSPHRASE).await.expect("open");
    match other.encrypt(ADMIN, "busy", b"", b"x", NOW).await {
        Err(KmsError::KeyState(why)) => assert!(why.contains("rotate the key"), "{why}"),
        other => panic!("refused at the limit: {other:?}"),
    }
    // Old data still decrypts; after a rotation the new version encrypts.
    other
        .decrypt(ADMIN, &first, b"", false, NOW)
        .await
        .expect("decrypts");
    other.rotate(ADMIN, "busy", NOW).await.expect("rotate");
    let fresh = other
        .encrypt(ADMIN, "busy", b"", b"x", NOW)
        .await
        .expect("new version");
    assert!(fresh.starts_with("pkilab:v1:busy:2:"), "{fresh}");
}
