//! A Mermaid sequence diagram of the run, attacker's messages included.

use std::fmt::Write;

use crate::report::{Fate, RunReport};

/// Renders the diagram.
pub fn mermaid(report: &RunReport) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let _ = writeln!(out, "    title {}", escape(&report.name));
    // Every participant gets an alias (p1, p2, …) and its name only as a
    // label: a peer may be called `end`, `note`, `loop` or `box`, which
    // Mermaid would read as keywords.
    let alias = |name: &str| {
        report
            .participants
            .iter()
            .position(|p| p == name)
            .map_or_else(|| "unknown".to_owned(), |i| format!("p{}", i + 1))
    };
    for (i, participant) in report.participants.iter().enumerate() {
        let _ = writeln!(out, "    participant p{} as {}", i + 1, escape(participant));
    }
    let ends = note_span(report);
    for step in &report.steps {
        let _ = writeln!(
            out,
            "    Note over {ends}: {}. {}",
            step.index,
            escape(&step.title)
        );
        for message in report.messages.iter().filter(|m| m.step == step.index) {
            let (arrow, suffix) = match message.fate {
                Fate::Delivered => ("->>", ""),
                Fate::Dropped => ("-x", " (dropped)"),
                Fate::Altered => ("->>", " (altered)"),
                Fate::Relayed => ("->>", " (relayed)"),
                Fate::Injected => ("-->>", " (injected)"),
                Fate::Refused => ("--x", ""),
            };
            let _ = writeln!(
                out,
                "    {}{arrow}{}: {}{suffix}",
                alias(&message.from),
                alias(&message.to),
                escape(&message.label)
            );
        }
        let failed = step.checks.iter().any(|c| !c.held);
        if let Some(reason) = &step.observed.reason {
            let mark = if failed { "FAILED expectation, " } else { "" };
            let _ = writeln!(out, "    Note over {ends}: {mark}refused: {reason}");
        } else if failed {
            let _ = writeln!(out, "    Note over {ends}: FAILED expectation");
        }
    }
    out
}

/// Notes span from the first to the last participant (by alias).
fn note_span(report: &RunReport) -> String {
    match report.participants.len() {
        0 => {
            // A run with no frames still needs someone to hang notes on.
            "nobody".to_owned()
        }
        1 => "p1".to_owned(),
        n => format!("p1,p{n}"),
    }
}

/// Mermaid ends a statement at ';' and starts an entity at '#'.
fn escape(text: &str) -> String {
    text.replace(';', ",")
        .replace('#', "no. ")
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{MessageEvent, RunReport};

    #[test]
    fn keyword_names_are_aliased_participants() {
        let report = RunReport {
            name: "Keywords".into(),
            path: "k.yaml".into(),
            seed: 0,
            summary: String::new(),
            description: String::new(),
            participants: vec!["end".into(), "loop".into()],
            steps: Vec::new(),
            messages: vec![MessageEvent {
                step: 1,
                from: "end".into(),
                to: "loop".into(),
                label: "Hello".into(),
                fate: Fate::Delivered,
                bytes: Vec::new(),
            }],
            passed: true,
            learned: Vec::new(),
            key_schedules: Vec::new(),
            scenario: None,
        };
        let diagram = mermaid(&report);
        assert!(diagram.contains("    participant p1 as end\n"), "{diagram}");
        assert!(
            diagram.contains("    participant p2 as loop\n"),
            "{diagram}"
        );
        assert!(!diagram.contains("participant end"), "{diagram}");
        assert!(!diagram.contains("    end->>"), "{diagram}");
    }
}
