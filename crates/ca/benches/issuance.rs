//! Ed25519 leaf issuance in memory (target: at least 10,000/s).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, Serial, SigningAlgorithm};
use time::{Duration, OffsetDateTime};

fn issuance(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let root_key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
    let root = CertificateAuthority::new_root(
        "Bench Root",
        root_key,
        now,
        now + Duration::days(3650),
        Serial::random(),
    )
    .unwrap();
    let leaf_key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
    let spki = leaf_key.public_key_spki_der();
    let mut request = LeafRequest::new("alice", now, now + Duration::days(30));
    request.dns = vec!["alice.example".to_owned()];

    let mut group = c.benchmark_group("ca");
    group.throughput(Throughput::Elements(1));
    group.bench_function("issue_ed25519_leaf", |b| {
        b.iter(|| root.issue(&request, &spki, Serial::random()).unwrap());
    });
    group.bench_function("keygen_and_issue_ed25519_leaf", |b| {
        b.iter(|| {
            let key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
            root.issue(&request, &key.public_key_spki_der(), Serial::random())
                .unwrap()
        });
    });
    group.finish();
}

criterion_group!(benches, issuance);
criterion_main!(benches);
