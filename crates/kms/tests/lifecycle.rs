#![allow(clippy::panic)]
//! Lifecycle, rotation, access and audit through the KMS API, each refusal
//! with its reason.

mod common;

on_both!(
    encryption_survives_rotation_and_rewrap_moves_to_the_newest_version,
    each_illegal_transition_is_refused_with_its_states,
    each_state_refuses_what_it_must,
    keys_expire_and_rotate_by_the_clock,
    owners_grants_and_revoked_identities,
    a_wrong_passphrase_is_named_and_a_change_rewraps_everything,
    the_audit_chain_catches_edits_deletions_and_reordering,
);

use common::{NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, KeyType, Kms, KmsError, State};
use time::Duration;

fn refused<T: std::fmt::Debug>(result: Result<T, KmsError>) -> String {
    match result {
        Ok(v) => panic!("expected a refusal, got {v:?}"),
        Err(e) => e.to_string(),
    }
}

async fn encryption_survives_rotation_and_rewrap_moves_to_the_newest_version(s: Store) {
    let k = &s.kms;
    k.create("alice", &new_key("orders", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let v1 = k
        .encrypt("alice", "orders", b"ctx", b"pay bob 10", NOW)
        .await
        .expect("encrypt");
    assert!(v1.starts_with("pkilab:v1:orders:1:"), "{v1}");
    let info = k.rotate("alice", "orders", NOW).await.expect("rotate");
    assert_eq!(info.current_version, 2);
    let v2 = k
        .encrypt("alice", "orders", b"ctx", b"pay carol 20", NOW)
        .await
        .expect("encrypt");
    assert!(v2.starts_with("pkilab:v1:orders:2:"), "{v2}");
    assert_eq!(
        k.decrypt("alice", &v1, b"ctx", false, NOW)
            .await
            .expect("v1")
            .as_slice(),
        b"pay bob 10"
    );
    let moved = k.rewrap("alice", &v1, b"ctx", NOW).await.expect("rewrap");
    assert!(moved.starts_with("pkilab:v1:orders:2:"), "{moved}");
    assert_eq!(
        k.decrypt("alice", &moved, b"ctx", false, NOW)
            .await
            .expect("moved")
            .as_slice(),
        b"pay bob 10"
    );
    // Wrong associated data, a flipped byte, or a relabelled version fail.
    assert!(matches!(
        k.decrypt("alice", &v1, b"other", false, NOW).await,
        Err(KmsError::Unauthentic)
    ));
    let relabelled = v1.replacen(":1:", ":2:", 1);
    assert!(matches!(
        k.decrypt("alice", &relabelled, b"ctx", false, NOW).await,
        Err(KmsError::Unauthentic)
    ));
    // Retiring version 1 stops it decrypting.
    k.set_min_decrypt_version("alice", "orders", 2, NOW)
        .await
        .expect("min");
    let why = refused(k.decrypt("alice", &v1, b"ctx", false, NOW).await);
    assert!(why.contains("retired"), "{why}");
    assert_eq!(
        k.decrypt("alice", &v2, b"ctx", false, NOW)
            .await
            .expect("v2")
            .as_slice(),
        b"pay carol 20"
    );
}

async fn each_illegal_transition_is_refused_with_its_states(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("k", KeyType::Ed25519), NOW)
        .await
        .expect("create");
    let why = refused(k.transition(ADMIN, "k", State::PreActive, NOW).await);
    assert_eq!(why, "key 'k' cannot go from active to pre-active");
    let why = refused(k.schedule_destroy(ADMIN, "k", Duration::ZERO, NOW).await);
    assert_eq!(why, "key 'k' cannot go from active to destroyed");
    k.transition(ADMIN, "k", State::Deactivated, NOW)
        .await
        .expect("deactivate");
    let why = refused(k.transition(ADMIN, "k", State::Active, NOW).await);
    assert_eq!(why, "key 'k' cannot go from deactivated to active");
    k.transition(ADMIN, "k", State::Compromised, NOW)
        .await
        .expect("compromise");
    let why = refused(k.transition(ADMIN, "k", State::Deactivated, NOW).await);
    assert_eq!(why, "key 'k' cannot go from compromised to deactivated");
}

async fn each_state_refuses_what_it_must(s: Store) {
    let k = &s.kms;
    k.create(ADMIN, &new_key("s", KeyType::Ed25519), NOW)
        .await
        .expect("create");
    let sig = k.sign(ADMIN, "s", b"m", NOW).await.expect("sign");
    k.transition(ADMIN, "s", State::Suspended, NOW)
        .await
        .expect("suspend");
    assert!(refused(k.sign(ADMIN, "s", b"m", NOW).await).contains("suspended"));
    assert!(refused(k.verify(ADMIN, b"m", &sig, false, NOW).await).contains("suspended"));
    k.transition(ADMIN, "s", State::Active, NOW)
        .await
        .expect("resume");
    k.transition(ADMIN, "s", State::Deactivated, NOW)
        .await
        .expect("deactivate");
    assert!(refused(k.sign(ADMIN, "s", b"m", NOW).await).contains("deactivated"));
    assert!(
        k.verify(ADMIN, b"m", &sig, false, NOW)
            .await
            .expect("verify"),
        "deactivated keys verify"
    );
    assert!(
        !k.verify(ADMIN, b"n", &sig, false, NOW)
            .await
            .expect("verify")
    );
    k.transition(ADMIN, "s", State::Compromised, NOW)
        .await
        .expect("compromise");
    assert!(refused(k.verify(ADMIN, b"m", &sig, false, NOW).await).contains("override"));
    assert!(
        k.verify(ADMIN, b"m", &sig, true, NOW)
            .await
            .expect("override")
    );
    assert!(refused(k.sign(ADMIN, "s", b"m", NOW).await).contains("compromised"));
    // Destruction: scheduled, cancellable, then final.
    k.schedule_destroy(ADMIN, "s", Duration::hours(1), NOW)
        .await
        .expect("schedule");
    k.cancel_destroy(ADMIN, "s", NOW).await.expect("cancel");
    assert_eq!(
        k.show(ADMIN, "s", NOW + Duration::hours(2))
            .await
            .expect("show")
            .state,
        State::Compromised
    );
    k.schedule_destroy(ADMIN, "s", Duration::hours(1), NOW)
        .await
        .expect("schedule");
    let later = NOW + Duration::hours(2);
    assert_eq!(
        k.show(ADMIN, "s", later).await.expect("show").state,
        State::Destroyed
    );
    assert!(refused(k.verify(ADMIN, b"m", &sig, true, later).await).contains("destroyed"));
    assert!(refused(k.cancel_destroy(ADMIN, "s", later).await).contains("no destruction"));
}

async fn keys_expire_and_rotate_by_the_clock(s: Store) {
    let k = &s.kms;
    let mut spec = new_key("session", KeyType::Aes256Gcm);
    spec.expires_in = Some(Duration::days(1));
    spec.rotate_every = Some(Duration::hours(6));
    k.create(ADMIN, &spec, NOW).await.expect("create");
    let ct = k
        .encrypt(ADMIN, "session", b"", b"x", NOW)
        .await
        .expect("encrypt");
    assert!(
        k.rotate_due(ADMIN, NOW + Duration::hours(5))
            .await
            .expect("due")
            .is_empty()
    );
    assert_eq!(
        k.rotate_due(ADMIN, NOW + Duration::hours(7))
            .await
            .expect("due"),
        vec!["session"]
    );
    let tomorrow = NOW + Duration::days(1);
    assert_eq!(
        k.show(ADMIN, "session", tomorrow)
            .await
            .expect("show")
            .state,
        State::Deactivated
    );
    assert!(
        refused(k.encrypt(ADMIN, "session", b"", b"x", tomorrow).await).contains("deactivated")
    );
    assert_eq!(
        k.decrypt(ADMIN, &ct, b"", false, tomorrow)
            .await
            .expect("old data")
            .as_slice(),
        b"x"
    );
    let entries = k.audit_entries().await.expect("audit");
    assert!(
        entries
            .iter()
            .any(|e| e.operation == "key.expired" && e.actor == "kms")
    );
}

async fn owners_grants_and_revoked_identities(s: Store) {
    let k = &s.kms;
    k.create("alice", &new_key("team", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let ct = k
        .encrypt("alice", "team", b"", b"secret", NOW)
        .await
        .expect("encrypt");
    let why = refused(k.decrypt("bob", &ct, b"", false, NOW).await);
    assert!(
        why.contains("'bob' may not decrypt with key 'team'"),
        "{why}"
    );
    refused(k.grant("bob", "team", "bob", "decrypt", NOW).await);
    k.grant("alice", "team", "bob", "decrypt", NOW)
        .await
        .expect("grant");
    assert_eq!(
        k.decrypt("bob", &ct, b"", false, NOW)
            .await
            .expect("granted")
            .as_slice(),
        b"secret"
    );
    assert!(refused(k.encrypt("bob", "team", b"", b"x", NOW).await).contains("no encrypt grant"));
    k.revoke_identity(ADMIN, "bob", NOW).await.expect("revoke");
    assert!(refused(k.decrypt("bob", &ct, b"", false, NOW).await).contains("revoked"));
    assert!(
        refused(
            k.create("bob", &new_key("mine", KeyType::Aes256Gcm), NOW)
                .await
        )
        .contains("revoked")
    );
    assert!(
        refused(k.revoke_identity("alice", "carol", NOW).await)
            .contains("does not hold the admin role")
    );
}

async fn a_wrong_passphrase_is_named_and_a_change_rewraps_everything(mut s: Store) {
    s.kms
        .create(ADMIN, &new_key("a", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    s.kms
        .create(ADMIN, &new_key("r", KeyType::Rsa2048), NOW)
        .await
        .expect("create");
    let ct = s
        .kms
        .encrypt(ADMIN, "a", b"", b"kept", NOW)
        .await
        .expect("encrypt");
    let sig = s.kms.sign(ADMIN, "r", b"m", NOW).await.expect("sign");
    let wrong = Kms::open(&s.location, b"not it").await;
    assert!(matches!(wrong, Err(KmsError::WrongPassphrase)), "{wrong:?}");
    s.kms
        .change_passphrase(b"a new passphrase", common::MEMORY_KIB, NOW)
        .await
        .expect("change");
    assert!(matches!(
        Kms::open(&s.location, PASSPHRASE).await,
        Err(KmsError::WrongPassphrase)
    ));
    let reopened = Kms::open(&s.location, b"a new passphrase")
        .await
        .expect("open");
    assert_eq!(
        reopened
            .decrypt(ADMIN, &ct, b"", false, NOW)
            .await
            .expect("decrypt")
            .as_slice(),
        b"kept"
    );
    assert!(
        reopened
            .verify(ADMIN, b"m", &sig, false, NOW)
            .await
            .expect("verify")
    );
    assert_eq!(
        reopened.audit_verify().await.expect("audit"),
        reopened.audit_entries().await.expect("entries").len()
    );
}

async fn the_audit_chain_catches_edits_deletions_and_reordering(s: Store) {
    use sqlx::Executor;
    let k = &s.kms;
    k.create(ADMIN, &new_key("a", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    for _ in 0..3 {
        k.encrypt(ADMIN, "a", b"", b"secret plaintext", NOW)
            .await
            .expect("encrypt");
    }
    let _ = k
        .decrypt(ADMIN, "pkilab:v1:a:1:AAAA", b"", false, NOW)
        .await;
    assert_eq!(k.audit_verify().await.expect("intact"), 5);
    let entries = k.audit_entries().await.expect("entries");
    assert!(
        entries[4].outcome.starts_with("refused: "),
        "{:?}",
        entries[4]
    );
    let text = format!("{entries:?}");
    assert!(
        !text.contains("secret plaintext"),
        "the log holds no plaintext"
    );
    let pool = k.db().pool();
    // Blocks: [1] create, then one per encrypt and decrypt: each call
    // waits for its own commit, and nothing else was writing.
    let edit = |from: &'static str, to: &'static str| {
        format!("UPDATE audit SET entries = replace(entries, '{from}', '{to}') WHERE seq = 2")
    };
    pool.execute(edit("\"actor\":\"admin\"", "\"actor\":\"mallory\"").as_str())
        .await
        .expect("edit");
    assert!(refused(k.audit_verify().await).contains("entry 2 was edited"));
    pool.execute(edit("\"actor\":\"mallory\"", "\"actor\":\"admin\"").as_str())
        .await
        .expect("undo");
    assert_eq!(k.audit_verify().await.expect("restored"), 5);
    // Reorder: swap the first two blocks, renumbered to look in place.
    let swap = |a: &'static str, b: &'static str| async move {
        pool.execute(
            format!("UPDATE audit SET seq = 100, last_seq = 100 WHERE seq = {a}").as_str(),
        )
        .await
        .expect("a");
        pool.execute(
            format!("UPDATE audit SET seq = {a}, last_seq = {a} WHERE seq = {b}").as_str(),
        )
        .await
        .expect("b");
        pool.execute(
            format!("UPDATE audit SET seq = {b}, last_seq = {b} WHERE seq = 100").as_str(),
        )
        .await
        .expect("c");
    };
    swap("1", "2").await;
    assert!(refused(k.audit_verify().await).contains("moved"));
    swap("1", "2").await;
    assert_eq!(k.audit_verify().await.expect("restored"), 5);
    // Delete the last block, then the first.
    pool.execute("DELETE FROM audit WHERE seq = 5")
        .await
        .expect("delete the last block");
    assert!(
        refused(k.audit_verify().await)
            .contains("ends at entry 4 but its authenticated head is entry 5")
    );
    pool.execute("DELETE FROM audit WHERE seq = 1")
        .await
        .expect("delete the first block");
    assert!(refused(k.audit_verify().await).contains("entry 1 is missing"));
}
