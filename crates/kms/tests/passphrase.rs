#![allow(clippy::panic)]
//! A passphrase change with another process (a server) holding the store
//! open: refused while it holds a lease, and never able to make that
//! process acknowledge something wrapped under the old KEK.

mod common;

on_both!(
    a_lease_holder_blocks_a_passphrase_change,
    a_process_with_the_old_kek_refuses_to_wrap,
);

use common::{MEMORY_KIB, NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, KeyType, Kms, KmsError};

async fn a_lease_holder_blocks_a_passphrase_change(mut s: Store) {
    let server = Kms::open(&s.location, PASSPHRASE).await.expect("server");
    server.hold_lease("test server").await.expect("lease");
    let refused = s
        .kms
        .change_passphrase(b"new passphrase", MEMORY_KIB, NOW)
        .await
        .expect_err("a server holds the store");
    assert!(
        matches!(&refused, KmsError::InUse(m) if m.contains("'test server' holds this key store")),
        "{refused}"
    );
    server.release_lease("test server").await.expect("release");
    s.kms
        .change_passphrase(b"new passphrase", MEMORY_KIB, NOW)
        .await
        .expect("no lease: changed");
}

async fn a_process_with_the_old_kek_refuses_to_wrap(mut s: Store) {
    let server = Kms::open(&s.location, PASSPHRASE).await.expect("server");
    server
        .create(ADMIN, &new_key("before", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    let sealed = server
        .encrypt(ADMIN, "before", b"", b"kept", NOW)
        .await
        .expect("encrypt");
    // The lease lapsed (say, the server was paused): the change goes
    // through.
    s.kms
        .change_passphrase(b"new passphrase", MEMORY_KIB, NOW)
        .await
        .expect("changed");
    for refused in [
        server
            .create(ADMIN, &new_key("after", KeyType::Aes256Gcm), NOW)
            .await
            .map(|_| ()),
        server.rotate(ADMIN, "before", NOW).await.map(|_| ()),
        server.mfa_enroll(ADMIN, "alice", NOW).await.map(|_| ()),
        server.hold_lease("test server").await,
    ] {
        assert!(
            matches!(refused, Err(KmsError::PassphraseChanged)),
            "{refused:?}"
        );
    }
    // Encryption with material the server already holds still works, and
    // opens under the new passphrase.
    let later = server
        .encrypt(ADMIN, "before", b"", b"later", NOW)
        .await
        .expect("cached material");
    let reopened = Kms::open(&s.location, b"new passphrase")
        .await
        .expect("new passphrase");
    for (sealed, plain) in [(sealed, &b"kept"[..]), (later, &b"later"[..])] {
        let opened = reopened
            .decrypt(ADMIN, &sealed, b"", false, NOW)
            .await
            .expect("opens");
        assert_eq!(&opened[..], plain);
    }
    assert!(matches!(
        reopened.show(ADMIN, "after", NOW).await,
        Err(KmsError::UnknownKey(_))
    ));
    assert_eq!(
        reopened.audit_verify().await.expect("intact"),
        reopened.audit_entries().await.expect("entries").len()
    );
}
