#![allow(clippy::panic)]
//! x509-limbo conformance: every disagreement with `expected_result` must
//! be listed, with its reason, in `x509-limbo/exceptions.txt`, and none may
//! accept what limbo refuses unless the case is pedantic.

use std::collections::BTreeSet;
use std::path::PathBuf;

use pkilab_verify::limbo::{Disagreement, Limbo};

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

fn disagreements(file: &str) -> (usize, Vec<Disagreement>) {
    let text = std::fs::read_to_string(dir().join(file)).expect("limbo file");
    let limbo = Limbo::from_json(&text).expect("limbo json");
    let report = limbo.run();
    assert_eq!(report.results.len(), limbo.testcases.len());
    (report.skipped(), report.disagreements(&limbo))
}

fn check(file: &str, at_most: usize) -> BTreeSet<String> {
    let allowed = exceptions();
    let (skipped, found) = disagreements(file);
    assert_eq!(skipped, 0, "{file}: every case runs");
    for d in &found {
        assert!(allowed.contains(&d.id), "{file}: new disagreement {d:?}");
        let pedantic = d.features.iter().any(|f| f.starts_with("pedantic-"));
        assert!(
            d.actual != "SUCCESS" || pedantic,
            "{file}: {} is accepted although limbo refuses it",
            d.id
        );
    }
    assert!(
        found.len() <= at_most,
        "{file}: {} disagreements",
        found.len()
    );
    found.into_iter().map(|d| d.id).collect()
}

#[test]
fn full_suite_disagreements_are_all_explained() {
    let found = check("full-no-bettertls.json", 5);
    for id in exceptions() {
        assert!(
            found.contains(&id),
            "{id} agrees now: remove it from exceptions.txt"
        );
    }
}

#[test]
fn core_ed25519_disagreements_are_all_explained() {
    check("core-private-ca-ed25519.json", 3);
}

#[test]
fn core_ecdsa_disagreements_are_all_explained() {
    check("core-private-ca-ecdsa.json", 3);
}

#[test]
fn every_crl_case_agrees() {
    check("crl.json", 0);
    check("crl-ed25519.json", 0);
}
