//! Checking `exercises:` and applying an exercise's change. A change
//! replaces text in the file outside the `exercises:` section (which is
//! dropped from the changed file, since its own `replace:` lines would
//! otherwise be changed too); its answer names a step and what it observes.

use serde_saphyr::Spanned;

use super::{Checked, Checker};
use crate::model::ExerciseDoc;
use crate::script::Exercise;

/// The file without its top-level `exercises:` section.
pub fn without_exercises(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut inside = false;
    for line in text.split_inclusive('\n') {
        let top_level = line.starts_with(|c: char| !c.is_whitespace() && c != '-' && c != '#');
        if top_level {
            inside = line.starts_with("exercises:");
        }
        if !inside {
            out.push_str(line);
        }
    }
    out
}

/// The file as the exercise's change leaves it (without its exercises).
pub fn apply(text: &str, exercise: &Exercise) -> String {
    changed(text, &exercise.change)
}

fn changed(text: &str, change: &[(String, String)]) -> String {
    let mut out = without_exercises(text);
    for (replace, with) in change {
        out = out.replace(replace.as_str(), with);
    }
    out
}

pub(super) fn check(
    checker: &Checker<'_>,
    docs: &[Spanned<ExerciseDoc>],
    text: &str,
) -> Checked<Vec<Exercise>> {
    let body = without_exercises(text);
    let mut out = Vec::with_capacity(docs.len());
    for doc in docs {
        let at = doc.referenced;
        let e = &doc.value;
        if e.question.trim().is_empty() {
            return Err(checker.err(
                at,
                "an exercise has no question",
                "write the question the reader should answer",
            ));
        }
        if e.change.is_empty() {
            return Err(checker.err(
                at,
                "an exercise has no change",
                "give the change that answers it: change: [{ replace: TEXT, with: TEXT }]",
            ));
        }
        for change in &e.change {
            if change.replace.is_empty() || !body.contains(&change.replace) {
                return Err(checker.err(
                    at,
                    format!("the change replaces '{}', which the file does not contain (outside exercises:)", change.replace),
                    "copy the text to replace from the file exactly",
                ));
            }
        }
        let change: Vec<(String, String)> = e
            .change
            .iter()
            .map(|c| (c.replace.clone(), c.with.clone()))
            .collect();
        // The answer's step is a step of the changed file, which must be
        // valid in its turn. It may hold no exercises, so this goes one
        // deep: a change that writes an `exercises:` section is refused.
        let after_text = changed(text, &change);
        if without_exercises(&after_text) != after_text {
            return Err(checker.err(
                at,
                "the change writes an exercises: section into the file",
                "a change may alter the scenario, not add exercises",
            ));
        }
        let after = super::load_str(checker.path, &after_text).map_err(|invalid| {
            checker.err(
                at,
                format!(
                    "the change leaves a file that is invalid at its line {}: {}",
                    invalid.line, invalid.message
                ),
                "fix the change so that the changed file is a valid scenario",
            )
        })?;
        let Some(step) = e
            .answer
            .step
            .checked_sub(1)
            .and_then(|i| after.steps.get(i))
        else {
            return Err(checker.err(
                at,
                format!(
                    "the answer names step {}, and the changed file has {} steps",
                    e.answer.step,
                    after.steps.len()
                ),
                "steps are counted from 1",
            ));
        };
        let expect = checker.expectation(&e.answer.expect, &step.action)?;
        if expect == crate::script::Expectation::default() {
            return Err(checker.err(
                e.answer.expect.referenced,
                "the answer expects nothing",
                "say what the step observes, as in expect: { outcome: rejected }",
            ));
        }
        out.push(Exercise {
            line: at.line(),
            question: e.question.clone(),
            hint: e.hint.clone(),
            change,
            step: e.answer.step,
            expect,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "name: x\nsteps:\n  - handshake: { from: a, to: b }\nexercises:\n  - question: q\n    change:\n      - { replace: \"to: b\", with: \"to: c\" }\nseed: 1\n";

    #[test]
    fn the_exercises_section_is_dropped_and_the_rest_kept() {
        assert_eq!(
            without_exercises(FILE),
            "name: x\nsteps:\n  - handshake: { from: a, to: b }\nseed: 1\n"
        );
    }

    #[test]
    fn a_change_replaces_outside_the_exercises() {
        let exercise = Exercise {
            line: 4,
            question: "q".into(),
            hint: String::new(),
            change: vec![("to: b".into(), "to: c".into())],
            step: 1,
            expect: crate::script::Expectation::default(),
        };
        assert_eq!(
            apply(FILE, &exercise),
            "name: x\nsteps:\n  - handshake: { from: a, to: c }\nseed: 1\n"
        );
    }
}
