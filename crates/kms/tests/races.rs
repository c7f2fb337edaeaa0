#![allow(clippy::panic)]
//! Writers that race for the same thing: one wins, the others get a
//! refusal that says why, never a storage error.

mod common;

on_both!(
    concurrent_creates_of_one_name_make_one_key_and_duplicates,
    concurrent_revocations_of_one_identity_all_hold,
    concurrent_rotations_each_add_a_version,
    concurrent_grants_of_one_permission_all_hold,
);

use common::{NOW, Store, new_key};
use pkilab_kms::{ADMIN, KeyType, KmsError};

async fn concurrent_creates_of_one_name_make_one_key_and_duplicates(s: Store) {
    let k = &s.kms;
    for round in 0..8 {
        let name = format!("shared-{round}");
        let key = new_key(&name, KeyType::Aes256Gcm);
        let results = tokio::join!(
            k.create("alice", &key, NOW),
            k.create("alice", &key, NOW),
            k.create("alice", &key, NOW),
            k.create("alice", &key, NOW),
        );
        let results = [results.0, results.1, results.2, results.3];
        let created = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(created, 1, "round {round}: {results:?}");
        for refusal in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(
                matches!(refusal, KmsError::Duplicate(n) if *n == name),
                "round {round}: {refusal:?}"
            );
        }
    }
    k.audit_verify().await.expect("audit intact");
}

async fn concurrent_revocations_of_one_identity_all_hold(s: Store) {
    let k = &s.kms;
    let results = tokio::join!(
        k.revoke_identity(ADMIN, "mallory", NOW),
        k.revoke_identity(ADMIN, "mallory", NOW),
        k.revoke_identity(ADMIN, "mallory", NOW),
        k.revoke_identity(ADMIN, "mallory", NOW),
    );
    for result in [results.0, results.1, results.2, results.3] {
        result.expect("revoking a revoked identity again is not an error");
    }
    let refusal = k
        .create("mallory", &new_key("m", KeyType::Aes256Gcm), NOW)
        .await
        .expect_err("revoked");
    assert!(
        matches!(refusal, KmsError::RevokedIdentity(ref n) if n == "mallory"),
        "{refusal:?}"
    );
    k.audit_verify().await.expect("audit intact");
}

async fn concurrent_rotations_each_add_a_version(s: Store) {
    let k = &s.kms;
    k.create("alice", &new_key("r", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let results = tokio::join!(
        k.rotate("alice", "r", NOW),
        k.rotate("alice", "r", NOW),
        k.rotate("alice", "r", NOW),
        k.rotate("alice", "r", NOW),
    );
    let mut versions: Vec<i64> = [results.0, results.1, results.2, results.3]
        .into_iter()
        .map(|r| r.expect("rotation").current_version)
        .collect();
    versions.sort_unstable();
    assert_eq!(versions, [2, 3, 4, 5]);
    k.audit_verify().await.expect("audit intact");
}

async fn concurrent_grants_of_one_permission_all_hold(s: Store) {
    let k = &s.kms;
    k.create("alice", &new_key("g", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let results = tokio::join!(
        k.grant("alice", "g", "bob", "encrypt", NOW),
        k.grant("alice", "g", "bob", "encrypt", NOW),
        k.grant("alice", "g", "bob", "encrypt", NOW),
    );
    for result in [results.0, results.1, results.2] {
        result.expect("granting twice is not an error");
    }
    k.encrypt("bob", "g", b"", b"hello", NOW)
        .await
        .expect("bob may encrypt");
    k.audit_verify().await.expect("audit intact");
}
