//! Scenarios from Rust: one call runs a lesson (or a user's own file) and
//! gives a report a test can assert on, with a readable failure.

use std::path::PathBuf;

use pkilab_scenario::{FileError, run_file};

fn lesson(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../scenarios")
        .join(name)
}

#[test]
fn a_lesson_runs_and_passes_in_one_line() {
    run_file(lesson("07-revoked-peer.yaml"))
        .expect("runs")
        .assert_passed();
}

#[test]
fn a_failed_expectation_is_told_with_file_line_and_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(lesson("07-revoked-peer.yaml")).expect("lesson");
    let path = dir.path().join("flipped.yaml");
    std::fs::write(&path, text.replace("reason: revoked", "reason: expired")).expect("write");
    let report = run_file(&path).expect("runs");
    assert!(!report.passed);
    let failures = report.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].starts_with(&format!("{}:", path.display())),
        "{}",
        failures[0]
    );
    assert!(
        failures[0].contains("expected reason expired, got revoked"),
        "{}",
        failures[0]
    );
    let panic =
        std::panic::catch_unwind(|| report.assert_passed()).expect_err("assert_passed panics");
    let message = panic.downcast_ref::<String>().expect("a message");
    assert!(
        message.contains("expected reason expired, got revoked"),
        "{message}"
    );
}

#[test]
fn an_invalid_file_is_an_error_with_its_location() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, "name: x\nsteps: [\n").expect("write");
    match run_file(&path) {
        Err(FileError::Invalid(invalid)) => {
            assert!(invalid.to_string().contains("bad.yaml:"), "{invalid}");
        }
        other => panic!("expected an invalid file, got {other:?}"),
    }
}
