//! A Mermaid sequence diagram of the run, attacker's messages included.

use std::fmt::Write;

use crate::report::{Fate, RunReport};

/// Renders the diagram.
pub fn mermaid(report: &RunReport) -> String {
    let mut out = String::from("sequenceDiagram\n");
    let _ = writeln!(out, "    title {}", escape(&report.name));
    for participant in &report.participants {
        let _ = writeln!(out, "    participant {participant}");
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
                message.from,
                message.to,
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

/// Notes span from the first to the last participant.
fn note_span(report: &RunReport) -> String {
    match (report.participants.first(), report.participants.last()) {
        (Some(first), Some(last)) if first != last => format!("{first},{last}"),
        (Some(only), _) => only.clone(),
        _ => "nobody".to_owned(),
    }
}

/// Mermaid ends a statement at ';' and starts an entity at '#'.
fn escape(text: &str) -> String {
    text.replace(';', ",")
        .replace('#', "no. ")
        .replace('\n', " ")
}
