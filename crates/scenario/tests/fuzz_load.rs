//! A bounded fuzz of scenario loading: the library's lessons, mutated at
//! random (bytes cut, inserted or swapped, values replaced by extreme
//! ones), must load or be refused with a position, never panic; what
//! loads and is small enough also runs, without panicking and without a
//! refusal that `check` should have found.

use std::path::Path;

use pkilab_scenario::{Action, RunOptions, load_str, run};
use proptest::prelude::*;

fn lessons() -> Vec<String> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut texts: Vec<String> = std::fs::read_dir(dir)
        .expect("scenarios/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();
    texts.sort();
    texts
}

/// Values that have broken loaders before: huge, negative, empty, YAML
/// booleans, calendar edges.
const EXTREMES: &[&str] = &[
    "3000000d",
    "0s",
    "18446744073709551615",
    "18446744073709551616",
    "-1",
    "9999-12-31T00:00:00Z",
    "0000-01-01T00:00:00Z",
    "y",
    "off",
    "~",
    "[]",
    "{}",
    "\"\"",
    "end",
    "1000000000",
    "Key Server",
    "UPPER",
    "a.b",
    "-",
    "2w",
    "1s",
    "40000d",
];

#[derive(Debug, Clone)]
enum Mutation {
    Cut(usize, usize),
    Insert(usize, String),
    Swap(usize, usize),
    Extreme(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..40).prop_map(|(a, n)| Mutation::Cut(a, n)),
        (any::<usize>(), "[ -~\n]{1,12}").prop_map(|(a, s)| Mutation::Insert(a, s)),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::Swap(a, b)),
        (any::<usize>(), 0..EXTREMES.len()).prop_map(|(a, i)| Mutation::Extreme(a, i)),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(text: &str, m: &Mutation) -> String {
    let mut t = text.to_owned();
    match m {
        Mutation::Cut(a, n) => {
            let start = boundary(&t, *a);
            let end = boundary(&t, start.saturating_add(*n).min(t.len()));
            t.replace_range(start..end.max(start), "");
        }
        Mutation::Insert(a, s) => {
            let at = boundary(&t, *a);
            t.insert_str(at, s);
        }
        Mutation::Swap(a, b) => {
            let lines: Vec<&str> = t.lines().collect();
            if !lines.is_empty() {
                let mut lines: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
                let (i, j) = (a % lines.len(), b % lines.len());
                lines.swap(i, j);
                t = lines.join("\n");
            }
        }
        Mutation::Extreme(a, i) => {
            // Replace the value after the n-th ": " with an extreme one.
            let spots: Vec<usize> = t.match_indices(": ").map(|(k, _)| k + 2).collect();
            if let Some(&start) = spots.get(a % spots.len().max(1)) {
                let end = t[start..]
                    .find([',', '}', '\n'])
                    .map_or(t.len(), |k| start + k);
                t.replace_range(start..end, EXTREMES[*i]);
            }
        }
    }
    t
}

fn small(s: &pkilab_scenario::Scenario) -> bool {
    s.peers.len() <= 8
        && s.steps.len() <= 16
        && s.steps.iter().all(|step| match &step.action {
            Action::Handshakes { count, .. } => *count <= 20,
            _ => true,
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_lessons_load_or_are_refused_with_a_position(
        pick in any::<usize>(),
        mutations in proptest::collection::vec(mutation(), 1..4),
    ) {
        let texts = lessons();
        let mut text = texts[pick % texts.len()].clone();
        for m in &mutations {
            text = apply(&text, m);
        }
        match load_str("fuzz.yaml", &text) {
            Ok(scenario) => {
                if small(&scenario) {
                    // What loads runs: `check` finds everything `run`
                    // would refuse, so a run error here is a gap.
                    let result = run(&scenario, RunOptions::default());
                    prop_assert!(result.is_ok(), "{}\n{}", text, result.err().map(|e| e.to_string()).unwrap_or_default());
                }
            }
            Err(invalid) => {
                prop_assert!(!invalid.message.is_empty());
                prop_assert!(!invalid.message.contains("untagged enum"), "{}", invalid);
                prop_assert!(!invalid.message.contains("DuplicateKeyPolicy"), "{}", invalid);
            }
        }
    }
}
