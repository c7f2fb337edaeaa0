//! AES-256-GCM encryption of 1 KiB through the KMS API with the key's
//! material and metadata cached: one call at a time, each waiting for its
//! audit entry's commit (bounded by the disk's fsync), and in groups of
//! 1,000 whose entries share one commit (target: at least 200,000/s on one
//! core); and durable key creation (each committed to disk).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pkilab_kms::{ADMIN, KeyType, Kms, NewKey};
use time::OffsetDateTime;

fn new_key(name: String, key_type: KeyType) -> NewKey {
    NewKey {
        name,
        key_type,
        owner: None,
        expires_in: None,
        rotate_every: None,
        pre_active: false,
    }
}

fn kms(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("bench.db").display().to_string();
    let now = OffsetDateTime::now_utc();
    let kms = runtime.block_on(async {
        let kms = Kms::init(&location, b"bench passphrase", 65_536)
            .await
            .unwrap();
        kms.create(ADMIN, &new_key("data".into(), KeyType::Aes256Gcm), now)
            .await
            .unwrap();
        kms
    });
    let plaintext = vec![0x42u8; 1024];
    let aad = b"bench";
    // The first call loads and unwraps the key; later calls use the cache.
    runtime
        .block_on(kms.encrypt(ADMIN, "data", aad, &plaintext, now))
        .unwrap();

    let mut group = c.benchmark_group("kms");
    group.throughput(Throughput::Elements(1));
    group.sample_size(20);
    group.bench_function("encrypt_1kib_aes256gcm_cached_durable_each", |b| {
        b.iter(|| {
            runtime
                .block_on(kms.encrypt(ADMIN, "data", aad, &plaintext, now))
                .unwrap()
        });
    });
    group.throughput(Throughput::Elements(1000));
    group.bench_function("encrypt_1kib_aes256gcm_cached_1000_per_commit", |b| {
        b.iter(|| {
            runtime.block_on(async {
                Kms::deferring_audit(async {
                    for _ in 0..1000 {
                        kms.encrypt(ADMIN, "data", aad, &plaintext, now)
                            .await
                            .unwrap();
                    }
                })
                .await;
                kms.flush().await.unwrap();
            })
        });
    });
    group.throughput(Throughput::Elements(1));
    let ciphertext = runtime
        .block_on(kms.encrypt(ADMIN, "data", aad, &plaintext, now))
        .unwrap();
    group.bench_function("decrypt_1kib_aes256gcm_cached_durable_each", |b| {
        b.iter(|| {
            runtime
                .block_on(kms.decrypt(ADMIN, &ciphertext, aad, false, now))
                .unwrap()
        });
    });
    let counter = AtomicU64::new(0);
    group.bench_function("create_key_durable_sqlite", |b| {
        b.iter(|| {
            let name = format!("k{}", counter.fetch_add(1, Ordering::Relaxed));
            runtime
                .block_on(kms.create(ADMIN, &new_key(name, KeyType::Aes256Gcm), now))
                .unwrap()
        });
    });
    group.finish();
    runtime.block_on(kms.flush()).unwrap();
    assert!(runtime.block_on(kms.audit_verify()).unwrap() > 0);
}

criterion_group!(benches, kms);
criterion_main!(benches);
