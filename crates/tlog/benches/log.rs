//! Appending a million entries, and proving inclusion against the tree.
#![allow(missing_docs)]

use criterion::{Criterion, criterion_group, criterion_main};
use pkilab_tlog::Tree;
use std::hint::black_box;

fn million() -> Tree {
    let mut tree = Tree::new();
    for i in 0u32..1_000_000 {
        tree.append(&i.to_be_bytes());
    }
    tree
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("tlog");
    group.sample_size(10);
    group.bench_function("append_1m", |b| b.iter(|| black_box(million()).size()));
    let tree = million();
    let mut index = 0u64;
    group.sample_size(100);
    group.bench_function("inclusion_proof_1m", |b| {
        b.iter(|| {
            index = (index + 7919) % 1_000_000;
            black_box(tree.inclusion_proof(index, 1_000_000))
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
