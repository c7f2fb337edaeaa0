#![allow(clippy::panic)]
//! x509-limbo conformance: every disagreement with `expected_result` must
//! be listed, with its reason, in `x509-limbo/exceptions.txt`.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pkilab_verify::limbo::Limbo;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/x509-limbo")
}

fn exceptions() -> BTreeSet<String> {
    let text = std::fs::read_to_string(dir().join("exceptions.txt")).expect("exceptions.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (id, reason) = l.split_once(": ").expect("'<id>: <reason>'");
            assert!(!reason.trim().is_empty(), "{id} has no reason");
            id.to_owned()
        })
        .collect()
}

fn disagreements(file: &str) -> (usize, BTreeSet<String>) {
    let text = std::fs::read_to_string(dir().join(file)).expect("limbo file");
    let limbo = Limbo::from_json(&text).expect("limbo json");
    let report = limbo.run();
    assert_eq!(report.results.len(), limbo.testcases.len());
    let found = report
        .disagreements(&limbo)
        .into_iter()
        .map(|d| d.id)
        .collect();
    (report.skipped(), found)
}

fn check(file: &str, at_most: usize) {
    let allowed = exceptions();
    let (skipped, found) = disagreements(file);
    assert_eq!(skipped, 0, "{file}: every case runs");
    let unexpected: Vec<_> = found.difference(&allowed).collect();
    assert!(
        unexpected.is_empty(),
        "{file}: new disagreements {unexpected:?}"
    );
    assert!(
        found.len() <= at_most,
        "{file}: {} disagreements",
        found.len()
    );
}

#[test]
fn core_ed25519_disagreements_are_all_explained() {
    check("core-private-ca-ed25519.json", 5);
}

#[test]
fn core_ecdsa_disagreements_are_all_explained() {
    check("core-private-ca-ecdsa.json", 5);
}

#[test]
fn every_crl_case_agrees() {
    check("crl.json", 0);
    check("crl-ed25519.json", 0);
}

#[test]
fn every_listed_exception_still_disagrees() {
    let (_, ed) = disagreements("core-private-ca-ed25519.json");
    let (_, ec) = disagreements("core-private-ca-ecdsa.json");
    for id in exceptions() {
        assert!(
            ed.contains(&id) || ec.contains(&id),
            "{id} agrees now: remove it from exceptions.txt"
        );
    }
}
