#![allow(clippy::panic)]
//! Truncation and rollback of the audit log: what the chain alone cannot
//! see, the head's count, the keys' creation entries and a head kept
//! outside the database can.

mod common;

on_both!(
    emptying_the_log_of_a_store_with_keys_is_caught,
    restoring_an_earlier_head_is_caught_by_an_unaudited_key,
    a_head_kept_outside_catches_a_rollback_of_the_whole_store,
    concurrent_writers_all_succeed_and_chain_in_one_log,
);

use common::{NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, KeyType, Kms};
use sqlx::{Executor, Row};

async fn emptying_the_log_of_a_store_with_keys_is_caught(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("a", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let pool = k.db().pool();
    pool.execute("DELETE FROM audit").await.expect("delete");
    pool.execute("DELETE FROM meta WHERE name = 'audit_head'")
        .await
        .expect("delete head");
    let error = k.audit_verify().await.expect_err("broken").to_string();
    assert!(error.contains("head is missing"), "{error}");
}

async fn restoring_an_earlier_head_is_caught_by_an_unaudited_key(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("a", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let pool = k.db().pool();
    let saved: String = sqlx::query("SELECT value FROM meta WHERE name = 'audit_head'")
        .fetch_one(pool)
        .await
        .expect("head")
        .try_get(0)
        .expect("text");
    k.create(ADMIN, &new_key("b", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    assert_eq!(k.audit_verify().await.expect("intact"), 2);
    // Someone with write access to the database removes the entry that
    // created "b" and puts the saved (authentic) head back.
    pool.execute("DELETE FROM audit WHERE seq = 2")
        .await
        .expect("delete");
    sqlx::query("UPDATE meta SET value = $1 WHERE name = 'audit_head'")
        .bind(saved)
        .execute(pool)
        .await
        .expect("restore head");
    let error = k.audit_verify().await.expect_err("broken").to_string();
    assert!(error.contains("key 'b' has no key.create entry"), "{error}");
}

async fn a_head_kept_outside_catches_a_rollback_of_the_whole_store(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("a", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let early = k.audit_head().await.expect("head");
    assert!(early.starts_with("1:"), "{early}");
    k.create(ADMIN, &new_key("b", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let kept = k.audit_head().await.expect("head");
    assert!(k.audit_contains(&kept).await.expect("check"));
    assert!(k.audit_contains(&early).await.expect("check"));
    // The whole store goes back to its state after "a" (simulated by
    // removing what came later, key and entry alike, and the head).
    let pool = k.db().pool();
    for statement in [
        "DELETE FROM audit WHERE seq = 2",
        "DELETE FROM versions WHERE key_name = 'b'",
        "DELETE FROM keys WHERE name = 'b'",
    ] {
        pool.execute(statement).await.expect("roll back");
    }
    assert!(
        !k.audit_contains(&kept).await.expect("check"),
        "the kept head is gone from the rolled-back log"
    );
    assert!(k.audit_contains("0:00").await.is_ok());
    assert!(k.audit_contains("nonsense").await.is_err());
}

/// Eight processes create keys at once: every creation succeeds (the head
/// is updated in place, so a writer waiting for its lock finds it), and
/// the log holds them all, in one chain.
async fn concurrent_writers_all_succeed_and_chain_in_one_log(s: Store) {
    let mut writers = Vec::new();
    for _ in 0..8 {
        writers.push(Kms::open(&s.location, PASSPHRASE).await.expect("open"));
    }
    let results =
        futures_util::future::join_all(writers.iter().enumerate().map(|(w, k)| async move {
            let mut out = Vec::new();
            for i in 0..5 {
                let name = format!("w{w}-k{i}");
                let new = new_key(&name, KeyType::Aes256Gcm);
                out.push(k.create(ADMIN, &new, NOW).await.map(|_| ()));
                out.push(k.encrypt(ADMIN, &name, b"", b"x", NOW).await.map(|_| ()));
            }
            out
        }))
        .await;
    let failed: Vec<_> = results.iter().flatten().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(s.kms.audit_verify().await.expect("intact"), 80);
}
