#![allow(clippy::panic)]
//! `scenario run --format junit`: one XML document a CI dashboard reads,
//! one testcase per scenario, failures and invalid files as JUnit marks
//! them.

mod common;

use std::path::PathBuf;

use common::{s, text};

fn library() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scenarios")
}

fn parse(xml: &str) -> roxmltree::Document<'_> {
    roxmltree::Document::parse(xml).unwrap_or_else(|e| panic!("not XML: {e}\n{xml}"))
}

#[test]
fn the_library_is_one_testcase_per_lesson_without_failures() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("junit.xml");
    let out = common::run(
        &[
            "scenario",
            "run",
            s(&library()),
            "--format",
            "junit",
            "--out",
            s(&file),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let xml = std::fs::read_to_string(&file).expect("junit.xml");
    let doc = parse(&xml);
    let lessons = std::fs::read_dir(library())
        .expect("library")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.path().extension().is_some_and(|x| x == "yaml"))
        })
        .count();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), lessons);
    assert!(
        cases.iter().all(|c| c.children().all(|k| !k.is_element())),
        "no failure or error"
    );
    let root = doc.root_element();
    assert_eq!(root.attribute("failures"), Some("0"));
    assert_eq!(root.attribute("tests"), Some(lessons.to_string().as_str()));
}

#[test]
fn a_failed_expectation_and_an_invalid_file_are_marked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let lesson = std::fs::read_to_string(library().join("07-revoked-peer.yaml")).expect("lesson");
    let flipped = lesson.replace("reason: revoked", "reason: expired");
    assert_ne!(lesson, flipped);
    std::fs::write(dir.path().join("flipped.yaml"), flipped).expect("write");
    std::fs::write(dir.path().join("broken.yaml"), "name: <x & y>\nsteps: [\n").expect("write");
    let out = common::run(&["scenario", "run", s(dir.path()), "--format", "junit"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "an invalid file makes the run exit 2"
    );
    let xml = text(&out.stdout);
    let doc = parse(&xml);
    let failure = doc
        .descendants()
        .find(|n| n.has_tag_name("failure"))
        .unwrap_or_else(|| panic!("a failure element: {xml}"));
    let message = failure.attribute("message").expect("message");
    assert!(
        message.contains("expected reason expired, got revoked"),
        "{message}"
    );
    assert!(message.contains("(line "), "{message}");
    let error = doc
        .descendants()
        .find(|n| n.has_tag_name("error"))
        .unwrap_or_else(|| panic!("an error element: {xml}"));
    assert!(
        error
            .attribute("message")
            .is_some_and(|m| m.contains("broken.yaml:")),
        "{xml}"
    );
    let root = doc.root_element();
    assert_eq!(
        (root.attribute("failures"), root.attribute("errors")),
        (Some("1"), Some("1"))
    );
}
