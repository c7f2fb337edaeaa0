#![allow(clippy::panic)]
//! The data path: a change made in this process applies at once; one made
//! by another process applies within `FRESH_FOR`; queued audit entries and
//! those of other processes form one valid chain.

mod common;

on_both!(changes_reach_the_data_path);

use common::{NOW, PASSPHRASE, Store, new_key};
use pkilab_kms::{ADMIN, FRESH_FOR, KeyType, Kms, State};

async fn changes_reach_the_data_path(s: Store) {
    let here = &s.kms;
    let elsewhere = Kms::open(&s.location, PASSPHRASE)
        .await
        .expect("second process");
    here.create(ADMIN, &new_key("hot", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    here.create(ADMIN, &new_key("warm", KeyType::Aes256Gcm), NOW)
        .await
        .expect("create");
    for key in ["hot", "warm"] {
        for _ in 0..3 {
            here.encrypt("alice", key, b"", b"x", NOW).await.err();
            here.encrypt(ADMIN, key, b"", b"x", NOW)
                .await
                .expect("encrypt");
        }
    }
    // In this process: at once.
    here.transition(ADMIN, "hot", State::Suspended, NOW)
        .await
        .expect("suspend");
    assert!(here.encrypt(ADMIN, "hot", b"", b"x", NOW).await.is_err());
    // From another process: within FRESH_FOR.
    elsewhere
        .transition(ADMIN, "warm", State::Compromised, NOW)
        .await
        .expect("compromise");
    elsewhere
        .revoke_identity(ADMIN, "carol", NOW)
        .await
        .expect("revoke");
    tokio::time::sleep(FRESH_FOR).await;
    let refused = here.encrypt(ADMIN, "warm", b"", b"x", NOW).await;
    assert!(
        refused
            .expect_err("compromised")
            .to_string()
            .contains("compromised")
    );
    let entries = here.audit_entries().await.expect("entries");
    assert_eq!(here.audit_verify().await.expect("chain"), entries.len());
    let data: Vec<_> = entries
        .iter()
        .filter(|e| e.operation == "encrypt")
        .collect();
    assert_eq!(
        data.len(),
        14,
        "every data-path call is audited, refusals too"
    );
    assert_eq!(
        data.iter()
            .filter(|e| e.outcome.starts_with("refused"))
            .count(),
        8
    );
}
