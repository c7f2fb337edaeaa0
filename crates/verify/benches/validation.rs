//! Chain validation with CRLs (target: at least 5,000/s on one core) and a
//! CRL of 1,000,000 revoked serials (targets: indexed in at most 2 s, a
//! membership check in at most 1 µs, at most 200 MB resident).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pkilab_ca::{
    CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use pkilab_verify::{
    ExpectedName, IndexedCrl, Options, RevocationPolicy, Usage, ValidationRequest, Validator,
};
use time::{Duration, OffsetDateTime};

fn revoked(n: usize, at: OffsetDateTime) -> Vec<RevokedEntry> {
    (0..n)
        .map(|i| {
            let mut bytes = [0u8; 20];
            bytes[12..].copy_from_slice(&(i as u64).to_be_bytes());
            bytes[0] = 0x11;
            RevokedEntry {
                serial: Serial::from_bytes(bytes),
                revoked_at: at,
                reason: RevocationReason::KeyCompromise,
            }
        })
        .collect()
}

fn chain_with_crl(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let year = Duration::days(365);
    let root = CertificateAuthority::new_root(
        "Bench Root",
        CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
        now - Duration::days(1),
        now + 10 * year,
        Serial::random(),
    )
    .unwrap();
    let issuing = root
        .new_intermediate(
            "Bench Issuing",
            CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
            now - Duration::days(1),
            now + 5 * year,
            Some(0),
            Serial::random(),
        )
        .unwrap();
    let leaf_key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
    let mut request = LeafRequest::new("alice", now - Duration::days(1), now + year);
    request.dns = vec!["alice.example".to_owned()];
    let leaf = issuing
        .issue(&request, &leaf_key.public_key_spki_der(), Serial::random())
        .unwrap();
    let root_crl = root
        .crl(&[], 1, now - Duration::hours(1), now + Duration::days(7))
        .unwrap();
    let issuing_crl = issuing
        .crl(
            &revoked(1_000, now),
            1,
            now - Duration::hours(1),
            now + Duration::days(7),
        )
        .unwrap();
    let mut validator = Validator::new(vec![root.certificate_der().to_vec()]).unwrap();
    validator.add_crl(&root_crl).unwrap();
    validator.add_crl(&issuing_crl).unwrap();
    validator.set_revocation_policy(RevocationPolicy::RequireFresh);
    let intermediates = vec![issuing.certificate_der().to_vec()];
    let request = ValidationRequest {
        at: now,
        name: ExpectedName::Dns("alice.example".to_owned()),
        usage: Usage::Server,
    };
    assert!(
        validator
            .validate(&leaf.der, &intermediates, &request)
            .is_valid()
    );

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("root_issuing_leaf_with_crls", |b| {
        b.iter(|| validator.validate(&leaf.der, &intermediates, &request));
    });
    // Every certificate and CRL signature verified at each validation.
    validator.set_options(Options {
        cache_signatures: false,
        ..Options::default()
    });
    group.bench_function("root_issuing_leaf_with_crls_uncached", |b| {
        b.iter(|| validator.validate(&leaf.der, &intermediates, &request));
    });
    group.finish();
}

/// A `/proc/self/status` field in KiB (Linux).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn million_serial_crl(c: &mut Criterion) {
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    let ca = CertificateAuthority::new_root(
        "Busy CA",
        CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
        now - Duration::days(1),
        now + Duration::days(3650),
        Serial::random(),
    )
    .unwrap();
    let entries = revoked(1_000_000, now);
    let der = ca
        .crl(
            &entries,
            7,
            now - Duration::hours(1),
            now + Duration::days(7),
        )
        .unwrap();
    drop(entries);
    // Reset the peak-RSS mark (Linux), so the peak below is the load's.
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let before = status_kib("VmRSS:");
    let started = std::time::Instant::now();
    let crl = IndexedCrl::from_der(&der).unwrap();
    let took = started.elapsed();
    let peak = status_kib("VmHWM:");
    eprintln!(
        "1M-serial CRL: {} MB of DER held by the caller; loading took {took:?}, \
         resident before {} MB, peak during load {} MB (+{} MB)",
        der.len() / 1_000_000,
        before / 1024,
        peak / 1024,
        peak.saturating_sub(before) / 1024
    );
    assert_eq!(crl.len(), 1_000_000);
    let mut present = [0u8; 20];
    present[0] = 0x11;
    present[12..].copy_from_slice(&777_777u64.to_be_bytes());
    let absent = [0x22u8; 20];
    assert!(crl.lookup(&present).is_some());
    assert!(crl.lookup(&absent).is_none());

    let mut group = c.benchmark_group("crl_1m");
    group.sample_size(10);
    group.bench_function("load_and_index", |b| {
        b.iter(|| IndexedCrl::from_der(&der).unwrap());
    });
    group.bench_function("lookup_present", |b| b.iter(|| crl.lookup(&present)));
    group.bench_function("lookup_absent", |b| b.iter(|| crl.lookup(&absent)));
    group.finish();
}

criterion_group!(benches, chain_with_crl, million_serial_crl);
criterion_main!(benches);
