//! The scenario library, run through the real `pkilab` binary: every lesson
#![allow(clippy::panic)]
//! passes, a flipped expectation fails with exit 1, a malformed file fails
//! with exit 2 and a location, and the same seed gives the same JSON.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn pkilab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pkilab"))
        .args(args)
        .output()
        .expect("the pkilab binary runs")
}

fn library() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn library_files() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(library())
        .expect("scenarios/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_lesson_in_the_library_passes() {
    let files = library_files();
    assert!(files.len() >= 26, "the library has {} files", files.len());
    for file in files {
        let out = pkilab(&["scenario", "run", file.to_str().expect("utf-8 path")]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} failed:\n{}{}",
            file.display(),
            text(&out.stdout),
            text(&out.stderr)
        );
        assert!(text(&out.stdout).contains("PASS:"), "{}", text(&out.stdout));
    }
}

#[test]
fn a_flipped_expectation_fails_with_exit_1_and_says_where() {
    let dir = tempfile::tempdir().expect("temp dir");
    let original = std::fs::read_to_string(library().join("07-revoked-peer.yaml")).expect("lesson");
    let flipped = original.replace("reason: revoked", "reason: expired");
    assert_ne!(original, flipped, "the lesson still expects revoked");
    let path = dir.path().join("flipped.yaml");
    std::fs::write(&path, flipped).expect("write");
    let out = pkilab(&["scenario", "run", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("FAIL: 1 of"), "{report}");
    assert!(
        report.contains("expected reason = expired, got revoked"),
        "{report}"
    );
}

#[test]
fn a_malformed_file_fails_with_exit_2_and_a_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(
        &path,
        "name: x\nsummary: y\nclock: 2026-01-01T00:00:00Z\npki: { root: R }\npeers: [alice, bob]\nsteps:\n  - handshake: { from: alice, to: carol }\n",
    )
    .expect("write");
    let out = pkilab(&["scenario", "run", path.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:7:"), "{err}");
    assert!(err.contains("unknown peer 'carol'"), "{err}");
    assert!(out.stdout.is_empty(), "nothing runs before validation");
}

#[test]
fn the_same_seed_gives_byte_identical_json() {
    let file = library().join("06-stolen-key.yaml");
    let file = file.to_str().expect("utf-8");
    let first = pkilab(&["scenario", "run", file, "--format", "json", "--seed", "42"]);
    let second = pkilab(&["scenario", "run", file, "--format", "json", "--seed", "42"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(first.stdout, second.stdout);
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).expect("valid JSON");
    assert_eq!(json["runs"][0]["seed"], 42);
    assert_eq!(json["passed"], true);
}

#[test]
fn mermaid_output_is_a_sequence_diagram_with_the_attacker() {
    let file = library().join("01-unauthenticated-mitm.yaml");
    let out = pkilab(&[
        "scenario",
        "run",
        file.to_str().expect("utf-8"),
        "--format",
        "mermaid",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diagram = text(&out.stdout);
    assert!(diagram.starts_with("sequenceDiagram\n"), "{diagram}");
    assert!(diagram.contains("participant p2 as mallory"), "{diagram}");
    assert!(
        diagram.contains("p2->>p3") || diagram.contains("p2->>p1"),
        "{diagram}"
    );
    assert!(diagram.contains("(relayed)"), "{diagram}");
    assert!(
        !diagram.contains("(altered)"),
        "relayed is not altered: {diagram}"
    );
}

const KEYWORD_PEERS: &str = "name: Keyword names\nsummary: Peers named like Mermaid keywords.\nclock: 2026-01-01T00:00:00Z\npki: { root: R, intermediates: [I] }\npeers: [end, note, loop, box]\nsteps:\n  - handshake: { from: end, to: loop }\n    expect: { outcome: established }\n  - send: { from: end, to: loop, message: hi }\n    expect: { delivered: true }\n";

#[test]
fn mermaid_aliases_peers_named_like_keywords() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("keywords.yaml");
    std::fs::write(&path, KEYWORD_PEERS).expect("write");
    let out = pkilab(&[
        "scenario",
        "run",
        path.to_str().expect("utf-8"),
        "--format",
        "mermaid",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let diagram = text(&out.stdout);
    assert!(diagram.contains("participant p1 as end\n"), "{diagram}");
    assert!(diagram.contains("participant p2 as loop\n"), "{diagram}");
    for line in diagram.lines().skip(1) {
        let first = line.split_whitespace().next().unwrap_or("");
        assert!(!["end", "loop", "note", "box"].contains(&first), "{line}");
    }
}

#[test]
fn a_directory_run_goes_past_a_bad_file_and_ends_with_a_summary() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(
        library().join("03-mitm-own-certificate.yaml"),
        dir.path().join("a.yaml"),
    )
    .expect("copy");
    std::fs::write(
        dir.path().join("b.yaml"),
        KEYWORD_PEERS.replace("2026-01-01", "9999-12-31"),
    )
    .expect("write");
    std::fs::copy(library().join("11-replay.yaml"), dir.path().join("c.yaml")).expect("copy");
    let out = pkilab(&["scenario", "run", dir.path().to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert_eq!(report.matches("PASS:").count(), 2, "{report}");
    assert!(
        report.contains("2 of 3 scenarios passed, 1 invalid."),
        "{report}"
    );
    assert!(
        text(&out.stderr).contains("b.yaml:3:"),
        "{}",
        text(&out.stderr)
    );
    let check = pkilab(&["scenario", "check", dir.path().to_str().expect("utf-8")]);
    assert_eq!(check.status.code(), Some(2));
    assert!(
        text(&check.stdout).contains("2 of 3 files valid, 1 invalid."),
        "{}",
        text(&check.stdout)
    );
}

#[test]
fn json_of_several_paths_is_one_document() {
    let a = library().join("03-mitm-own-certificate.yaml");
    let b = library().join("11-replay.yaml");
    let out = pkilab(&[
        "scenario",
        "run",
        a.to_str().expect("utf-8"),
        b.to_str().expect("utf-8"),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    assert_eq!(json["scenarios"], 2);
    assert_eq!(json["runs"].as_array().map(Vec::len), Some(2));
    assert_eq!(json["passed"], true);
}

#[test]
fn the_whole_library_runs_as_one_directory() {
    let dir = library();
    let out = pkilab(&["scenario", "run", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let n = library_files().len();
    assert!(
        text(&out.stdout).contains(&format!("{n} of {n} scenarios passed.")),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_whole_library_repeats_byte_for_byte() {
    let dir = library();
    let dir = dir.to_str().expect("utf-8");
    let first = pkilab(&["scenario", "run", dir, "--format", "json"]);
    let second = pkilab(&["scenario", "run", dir, "--format", "json"]);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert_eq!(first.stdout, second.stdout);
    let json: serde_json::Value = serde_json::from_slice(&first.stdout).expect("one JSON document");
    assert_eq!(
        json["runs"].as_array().map(Vec::len),
        Some(library_files().len())
    );
}

#[test]
fn check_and_list_accept_the_whole_library() {
    let dir = library();
    let dir = dir.to_str().expect("utf-8");
    let check = pkilab(&["scenario", "check", dir]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    let list = pkilab(&["scenario", "list", dir]);
    assert!(
        text(&list.stdout).contains("06-stolen-key.yaml"),
        "{}",
        text(&list.stdout)
    );
}

#[test]
fn html_output_writes_a_page_per_lesson_and_an_index() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out_dir = dir.path().join("report");
    let library = library();
    let out = pkilab(&[
        "scenario",
        "run",
        library.to_str().expect("utf-8"),
        "--format",
        "html",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files = library_files();
    let index = std::fs::read_to_string(out_dir.join("index.html")).expect("index.html");
    assert_eq!(index.matches("✓ pass").count(), files.len(), "{index}");
    for file in &files {
        let stem = file.file_stem().and_then(|s| s.to_str()).expect("name");
        assert!(index.contains(&format!("href=\"{stem}.html\"")), "{stem}");
        let page = std::fs::read_to_string(out_dir.join(format!("{stem}.html"))).expect("page");
        assert!(page.starts_with("<!DOCTYPE html>"), "{stem}");
        assert!(page.contains("✓ Every expectation held."), "{stem}");
    }
}

#[test]
fn html_needs_an_out_directory_and_quiz_needs_html() {
    let file = library().join("01-unauthenticated-mitm.yaml");
    let file = file.to_str().expect("utf-8");
    let out = pkilab(&["scenario", "run", file, "--format", "html"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("give --out DIR"),
        "{}",
        text(&out.stderr)
    );
    let out = pkilab(&["scenario", "run", file, "--quiz"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("--format html"),
        "{}",
        text(&out.stderr)
    );
}
