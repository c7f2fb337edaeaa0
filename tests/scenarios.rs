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
    assert!(files.len() >= 12, "the library has {} files", files.len());
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
    assert_eq!(json["seed"], 42);
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
    assert!(diagram.contains("participant mallory"), "{diagram}");
    assert!(
        diagram.contains("mallory->>bob") || diagram.contains("mallory->>alice"),
        "{diagram}"
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
