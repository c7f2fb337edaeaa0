//! A test PKI as a test suite makes it: a root, an intermediate, 100 leaves
//! (each with its own key), ten of them revoked, and fresh CRLs (target:
//! well under a second).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, criterion_group, criterion_main};
use pkilab_testkit::{Pki, RevocationReason};

fn pki_with_100_leaves_and_crls() -> usize {
    let mut pki = Pki::builder()
        .intermediate("Bench Issuing CA")
        .build()
        .unwrap();
    let leaves: Vec<_> = (0..100)
        .map(|i| pki.server(&format!("leaf-{i}.example")).issue().unwrap())
        .collect();
    for leaf in leaves.iter().step_by(10) {
        pki.revoke(leaf, RevocationReason::KeyCompromise).unwrap();
    }
    let crls = pki.crls().unwrap();
    crls.iter().map(|crl| crl.len()).sum::<usize>() + leaves.len()
}

fn testkit(c: &mut Criterion) {
    let mut group = c.benchmark_group("testkit");
    group.sample_size(20);
    group.bench_function("root_intermediate_100_leaves_crls", |b| {
        b.iter(pki_with_100_leaves_and_crls);
    });
    group.finish();
}

criterion_group!(benches, testkit);
criterion_main!(benches);
