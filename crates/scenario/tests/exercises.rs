//! Every lesson carries at least one exercise, and each exercise's change,
//! applied to its file, makes the named step observe what the answer says.
#![allow(clippy::panic)]

use std::path::{Path, PathBuf};

use pkilab_scenario::load::apply;
use pkilab_scenario::report::compare;
use pkilab_scenario::{RunOptions, load_str, run};

fn library_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_exercise_answer_is_what_its_change_produces() {
    let files = library_files();
    assert!(files.len() >= 26);
    let mut checked = 0;
    let mut wrong = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read");
        let path = file.display().to_string();
        let scenario = load_str(&path, &text).expect("the lesson loads");
        assert!(!scenario.exercises.is_empty(), "{path} has no exercise");
        for exercise in &scenario.exercises {
            let changed = apply(&text, exercise);
            assert_ne!(
                changed,
                pkilab_scenario::load::without_exercises(&text),
                "{path}: the change changes nothing"
            );
            let after = load_str(&path, &changed).expect("the changed file loads");
            assert!(after.exercises.is_empty());
            let report = run(&after, RunOptions::default()).expect("runs");
            let step = &report.steps[exercise.step - 1];
            let checks = compare(&exercise.expect, &step.observed);
            assert!(!checks.is_empty(), "{path}: the answer checks something");
            for check in checks.iter().filter(|c| !c.held) {
                wrong.push(format!(
                    "{path}, exercise at line {} ({}): step {} {}: the answer says {}, the run gives {} ({:?})",
                    exercise.line,
                    exercise.question,
                    exercise.step,
                    check.key,
                    check.expected,
                    check.actual,
                    step.observed
                ));
            }
            checked += 1;
        }
    }
    assert_eq!(wrong, Vec::<String>::new());
    assert!(checked >= 31, "{checked} exercises");
}

const BASE: &str = "name: x\nsummary: y\nclock: 2026-01-01T00:00:00Z\npki: { root: R }\npeers: [alice, bob]\nsteps:\n  - handshake: { from: alice, to: bob }\n";

fn with_exercise(exercise: &str) -> String {
    format!("{BASE}exercises:\n{exercise}")
}

#[test]
fn a_change_must_name_text_of_the_file() {
    let text = with_exercise(
        "  - question: q\n    change: [{ replace: \"to: carol\", with: \"to: bob\" }]\n    answer: { step: 1, expect: { outcome: rejected } }\n",
    );
    let err = load_str("x.yaml", &text).expect_err("refused");
    assert_eq!(err.line, 9);
    assert!(
        err.message
            .contains("'to: carol', which the file does not contain"),
        "{}",
        err.message
    );
}

#[test]
fn the_answer_names_a_step_of_the_changed_file_with_fitting_keys() {
    let text = with_exercise(
        "  - question: q\n    change: [{ replace: \"from: alice, to: bob\", with: \"from: bob, to: alice\" }]\n    answer: { step: 2, expect: { outcome: rejected } }\n",
    );
    let err = load_str("x.yaml", &text).expect_err("refused");
    assert!(
        err.message
            .contains("names step 2, and the changed file has 1 steps"),
        "{}",
        err.message
    );
    let text = with_exercise(
        "  - question: q\n    change: [{ replace: \"from: alice, to: bob\", with: \"from: bob, to: alice\" }]\n    answer: { step: 1, expect: { delivered: true } }\n",
    );
    let err = load_str("x.yaml", &text).expect_err("refused");
    assert!(
        err.message
            .contains("`delivered` cannot be expected of a handshake step"),
        "{}",
        err.message
    );
}

#[test]
fn a_change_that_breaks_the_file_is_refused_with_where() {
    let text = with_exercise(
        "  - question: q\n    change: [{ replace: \"to: bob\", with: \"to: carol\" }]\n    answer: { step: 1, expect: { outcome: rejected } }\n",
    );
    let err = load_str("x.yaml", &text).expect_err("refused");
    assert_eq!(err.line, 9);
    assert!(
        err.message
            .contains("the change leaves a file that is invalid at its line 7"),
        "{}",
        err.message
    );
    assert!(err.message.contains("carol"), "{}", err.message);
}

#[test]
fn a_change_cannot_write_exercises_of_its_own() {
    let text = with_exercise(
        "  - question: q\n    change: [{ replace: \"steps:\", with: \"exercises: []\\nsteps:\" }]\n    answer: { step: 1, expect: { outcome: rejected } }\n",
    );
    let err = load_str("x.yaml", &text).expect_err("refused");
    assert!(
        err.message.contains("writes an exercises: section"),
        "{}",
        err.message
    );
}
