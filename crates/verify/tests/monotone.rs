//! The verdict is monotone and does not depend on the pool's order: adding
//! untrusted certificates (decoys named like the leaf's issuer with
//! garbage signatures, loops, duplicates, untrusted roots) never turns a
//! refusal into an acceptance, never changes the reason, and shuffling the
//! pool changes nothing. Each chain below was once accepted through a
//! decoy.

mod common;

use std::sync::OnceLock;

use common::*;
use pkilab_verify::Verdict;
use proptest::prelude::*;

struct Case {
    name: &'static str,
    root: Ca,
    leaf: Ca,
    intermediates: Vec<Vec<u8>>,
    /// What the chain alone gets.
    expected: &'static str,
}

/// root → `ints` intermediates (the last built by `last`) → leaf.
fn chain(
    name: &'static str,
    ints: usize,
    last: fn(&mut rcgen::CertificateParams),
    expected: &'static str,
) -> Case {
    let root = root("Root");
    let mut issuers: Vec<Ca> = Vec::new();
    for i in 0..ints {
        let mut params = ca_params(&format!("Issuing {i}"));
        if i + 1 == ints {
            last(&mut params);
        }
        let ca = issue(params, issuers.last().unwrap_or(&root));
        issuers.push(ca);
    }
    let leaf = issue(leaf_params("a.example"), issuers.last().unwrap_or(&root));
    Case {
        name,
        root,
        leaf,
        intermediates: issuers.iter().map(|c| c.der.clone()).collect(),
        expected,
    }
}

fn critical(oid: &'static [u64], content: Vec<u8>) -> impl Fn(&mut rcgen::CertificateParams) {
    move |p: &mut rcgen::CertificateParams| {
        p.custom_extensions
            .push(extension(oid, true, content.clone()))
    }
}

fn cases() -> &'static [(Case, Vec<Vec<u8>>)] {
    static CASES: OnceLock<Vec<(Case, Vec<Vec<u8>>)>> = OnceLock::new();
    CASES.get_or_init(|| {
        let cases = vec![
            chain("good", 1, |_| {}, "valid"),
            chain(
                "explicit policy, leaf without one",
                1,
                |p| {
                    critical(
                        &[2, 5, 29, 32],
                        seq(&[seq(&[oid(&[1, 3, 6, 1, 4, 1, 99999, 1])])]),
                    )(p);
                    critical(&[2, 5, 29, 36], seq(&[vec![0x80, 0x01, 0x00]]))(p);
                },
                "policy-violation",
            ),
            chain(
                "critical cRLNumber",
                1,
                |p| critical(&[2, 5, 29, 20], integer(&[1]))(p),
                "unsupported-critical-extension",
            ),
            chain(
                "empty extendedKeyUsage",
                1,
                |p| {
                    p.custom_extensions
                        .push(extension(&[2, 5, 29, 37], false, vec![0x30, 0x00]))
                },
                "malformed",
            ),
            chain("seven intermediates", 7, |_| {}, "path-too-long"),
            chain(
                "critical SIA",
                1,
                |p| critical(&[1, 3, 6, 1, 5, 5, 7, 1, 11], vec![0x30, 0x00])(p),
                "unsupported-critical-extension",
            ),
            chain(
                "critical AIA",
                1,
                |p| critical(&[1, 3, 6, 1, 5, 5, 7, 1, 1], vec![0x30, 0x00])(p),
                "unsupported-critical-extension",
            ),
            chain(
                "critical issuerAltName",
                1,
                |p| critical(&[2, 5, 29, 18], seq(&[tlv(0x82, b"ca.example")]))(p),
                "unsupported-critical-extension",
            ),
            chain(
                "critical issuingDistributionPoint",
                1,
                |p| critical(&[2, 5, 29, 28], vec![0x30, 0x00])(p),
                "unsupported-critical-extension",
            ),
            chain(
                "critical reasonCode",
                1,
                |p| critical(&[2, 5, 29, 21], tlv(0x0a, &[1]))(p),
                "unsupported-critical-extension",
            ),
        ];
        cases
            .into_iter()
            .map(|case| {
                let decoys = decoys(&case);
                (case, decoys)
            })
            .collect()
    })
}

/// Certificates an attacker may add to the pool of `case`.
fn decoys(case: &Case) -> Vec<Vec<u8>> {
    let (_, leaf) = <x509_parser::prelude::X509Certificate<'_> as x509_parser::prelude::FromDer<
        '_,
        _,
    >>::from_der(&case.leaf.der)
    .expect("leaf");
    let issuer_name = leaf
        .issuer()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .expect("cn")
        .to_owned();
    // Named as the leaf's issuer, "issued" by Root with an unrelated key.
    let impostor_root = root("Root");
    let impostor = issue(ca_params(&issuer_name), &impostor_root);
    // The real issuer with a garbage signature.
    let mut garbled = case
        .intermediates
        .last()
        .cloned()
        .unwrap_or_else(|| case.root.der.clone());
    let last = garbled.len() - 1;
    garbled[last] ^= 0x55;
    // Two CAs that sign each other; one has the leaf issuer's name.
    let loop_a_params = ca_params(&issuer_name);
    let loop_b = root("Loop B");
    let loop_a = issue(loop_a_params, &loop_b);
    let loop_b_again = issue(loop_b.params.clone(), &loop_a);
    // An untrusted self-signed CA of that name.
    let rogue = root(&issuer_name);
    let mut out = vec![
        impostor.der,
        garbled,
        loop_a.der,
        loop_b_again.der,
        rogue.der,
    ];
    out.extend(case.intermediates.iter().cloned());
    out
}

fn verdict(case: &Case, pool: &[Vec<u8>]) -> Verdict {
    validator(&case.root).validate(&case.leaf.der, pool, &ask("a.example"))
}

#[test]
fn each_chain_alone_gets_its_reason() {
    for (case, _) in cases() {
        let v = verdict(case, &case.intermediates);
        assert_eq!(reason(&v), case.expected, "{}: {v}", case.name);
    }
}

/// A deterministic shuffle (an LCG), so a failing case reproduces.
fn shuffle(items: &mut [Vec<u8>], mut seed: u64) {
    for i in (1..items.len()).rev() {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = (seed >> 33) as usize % (i + 1);
        items.swap(i, j);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]
    #[test]
    fn decoys_and_order_never_change_the_verdict(index in 0usize..10, mask in 0u32..64, seed in any::<u64>()) {
        let (case, decoys) = &cases()[index % cases().len()];
        let mut pool = case.intermediates.clone();
        for (bit, decoy) in decoys.iter().enumerate() {
            if mask & (1 << bit) != 0 {
                pool.push(decoy.clone());
            }
        }
        shuffle(&mut pool, seed);
        let v = verdict(case, &pool);
        prop_assert_eq!(reason(&v), case.expected, "{}: {}", case.name, v);
    }
}
