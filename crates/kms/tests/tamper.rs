#![allow(clippy::panic)]
//! Metadata changed in the database without the passphrase: a new owner,
//! a deleted revocation, a new state, grant or minimum version. Each is
//! refused as tampering.

mod common;

on_both!(
    a_changed_owner_or_grant_is_refused,
    a_deleted_revocation_is_refused,
    state_and_versions_are_bound,
    concurrent_edits_of_one_key_stay_sealed,
);

use common::{NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, KeyType, Kms, KmsError};
use sqlx::Executor;

fn tampered<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    match result {
        Err(KmsError::Tampered(why)) => why,
        other => panic!("expected tampering, got {other:?}"),
    }
}

/// A second process (no cached metadata) on the same store.
async fn fresh(s: &Store) -> Kms {
    Kms::open(&s.location, PASSPHRASE).await.expect("open")
}

async fn a_changed_owner_or_grant_is_refused(s: Store) {
    let mut alice = new_key("payroll", KeyType::Aes256Gcm);
    alice.owner = Some("alice".into());
    s.kms.create(ADMIN, &alice, NOW).await.expect("create");
    let sealed = s
        .kms
        .encrypt("alice", "payroll", b"", b"salaries", NOW)
        .await
        .expect("encrypt");
    let pool = s.kms.db().pool();
    pool.execute("UPDATE keys SET owner = 'mallory' WHERE name = 'payroll'")
        .await
        .expect("tamper");
    let why = tampered(
        fresh(&s)
            .await
            .decrypt("mallory", &sealed, b"", false, NOW)
            .await,
    );
    assert!(why.contains("key 'payroll'"), "{why}");
    pool.execute("UPDATE keys SET owner = 'alice' WHERE name = 'payroll'")
        .await
        .expect("undo");
    fresh(&s)
        .await
        .decrypt("alice", &sealed, b"", false, NOW)
        .await
        .expect("restored");
    pool.execute(
        "INSERT INTO grants (key_name, identity, operation) VALUES ('payroll', 'mallory', 'decrypt')",
    )
    .await
    .expect("tamper");
    tampered(
        fresh(&s)
            .await
            .decrypt("mallory", &sealed, b"", false, NOW)
            .await,
    );
    tampered(fresh(&s).await.list(ADMIN, NOW).await);
}

async fn a_deleted_revocation_is_refused(s: Store) {
    let mut bob = new_key("bobs", KeyType::Aes256Gcm);
    bob.owner = Some("bob".into());
    s.kms.create(ADMIN, &bob, NOW).await.expect("create");
    s.kms
        .revoke_identity(ADMIN, "bob", NOW)
        .await
        .expect("revoke");
    assert!(matches!(
        fresh(&s).await.encrypt("bob", "bobs", b"", b"x", NOW).await,
        Err(KmsError::RevokedIdentity(_))
    ));
    s.kms
        .db()
        .pool()
        .execute("DELETE FROM identities WHERE name = 'bob'")
        .await
        .expect("tamper");
    let why = tampered(fresh(&s).await.encrypt("bob", "bobs", b"", b"x", NOW).await);
    assert!(why.contains("revoked identities"), "{why}");
}

async fn state_and_versions_are_bound(s: Store) {
    s.kms
        .create(ADMIN, &new_key("k", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    s.kms.rotate(ADMIN, "k", NOW).await.expect("rotate");
    s.kms
        .set_min_decrypt_version(ADMIN, "k", 2, NOW)
        .await
        .expect("retire v1");
    s.kms
        .transition(ADMIN, "k", pkilab_kms::State::Compromised, NOW)
        .await
        .expect("compromise");
    let pool = s.kms.db().pool();
    for (tamper, undo) in [
        (
            "UPDATE keys SET state = 'active' WHERE name = 'k'",
            "UPDATE keys SET state = 'compromised' WHERE name = 'k'",
        ),
        (
            "UPDATE keys SET min_decrypt_version = 1 WHERE name = 'k'",
            "UPDATE keys SET min_decrypt_version = 2 WHERE name = 'k'",
        ),
        ("UPDATE keys SET mac = NULL WHERE name = 'k'", "SELECT 1"),
    ] {
        pool.execute(tamper).await.expect("tamper");
        tampered(fresh(&s).await.show(ADMIN, "k", NOW).await);
        pool.execute(undo).await.expect("undo");
    }
}

/// Four processes edit one key at once (rotations, grants, revocations):
/// each edit is sealed over the other's, so nothing reads as tampering.
async fn concurrent_edits_of_one_key_stay_sealed(s: Store) {
    s.kms
        .create(ADMIN, &new_key("shared", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let mut writers = Vec::new();
    for _ in 0..4 {
        writers.push(fresh(&s).await);
    }
    let results =
        futures_util::future::join_all(writers.iter().enumerate().map(|(w, k)| async move {
            let mut out = Vec::new();
            for i in 0..4 {
                out.push(k.rotate(ADMIN, "shared", NOW).await.map(|_| ()));
                let who = format!("user{w}-{i}");
                out.push(k.grant(ADMIN, "shared", &who, "decrypt", NOW).await);
                out.push(k.revoke_identity(ADMIN, &format!("gone{w}-{i}"), NOW).await);
            }
            out
        }))
        .await;
    let failed: Vec<_> = results.iter().flatten().filter(|r| r.is_err()).collect();
    assert!(failed.is_empty(), "{failed:?}");
    let key = fresh(&s)
        .await
        .show(ADMIN, "shared", NOW)
        .await
        .expect("sealed");
    assert_eq!(key.current_version, 17);
    assert_eq!(key.grants.len(), 16);
    assert!(matches!(
        fresh(&s)
            .await
            .encrypt("gone0-0", "shared", b"", b"x", NOW)
            .await,
        Err(KmsError::RevokedIdentity(_))
    ));
}
