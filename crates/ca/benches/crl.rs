//! CRL publication at scale (targets: a complete CRL of 1,000,000 revoked
//! certificates in at most 5 s; a delta CRL of 1,000 new entries in at most
//! 50 ms), Ed25519 CA, encoding and signature included.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pkilab_ca::{
    CaKey, CertificateAuthority, CrlRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use time::{Duration, OffsetDateTime};

fn revoked(n: usize, at: OffsetDateTime) -> Vec<RevokedEntry> {
    (0..n)
        .map(|i| {
            let mut bytes = [0u8; 20];
            bytes[12..].copy_from_slice(&(i as u64).to_be_bytes());
            bytes[0] = 0x22;
            RevokedEntry {
                serial: Serial::from_bytes(bytes),
                revoked_at: at,
                reason: RevocationReason::KeyCompromise,
            }
        })
        .collect()
}

fn publication(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let ca = CertificateAuthority::new_root(
        "Bench Root",
        CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
        now - Duration::days(1),
        now + Duration::days(3650),
        Serial::random(),
    )
    .unwrap();
    let million = revoked(1_000_000, now);
    let thousand = revoked(1_000, now);
    let request = |entries: &[RevokedEntry], delta_base: Option<u64>| {
        ca.crl_with(&CrlRequest {
            revoked: entries,
            number: 7,
            this_update: now,
            next_update: now + Duration::days(7),
            delta_base,
            scope: None,
            freshest: None,
        })
        .unwrap()
    };
    let mut group = c.benchmark_group("crl_publish");
    group.sample_size(10);
    group.bench_function("complete_1m_entries", |b| {
        b.iter(|| request(&million, None));
    });
    group.bench_function("delta_1k_entries", |b| {
        b.iter(|| request(&thousand, Some(6)));
    });
    group.finish();
}

criterion_group!(benches, publication);
criterion_main!(benches);
