//! The narration: a lesson a person can follow step by step.

use std::fmt::Write;

use crate::report::{Check, RunReport};

/// Renders the narration.
pub fn text(report: &RunReport) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "== {} ==", report.name);
    let _ = writeln!(out, "{} (seed {})", report.path, report.seed);
    let _ = writeln!(out, "{}", report.summary);
    if !report.description.trim().is_empty() {
        out.push('\n');
        for line in report.description.trim_end().lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    for step in &report.steps {
        let _ = writeln!(
            out,
            "\nStep {} (line {}): {}",
            step.index, step.line, step.title
        );
        for sentence in &step.narration {
            let _ = writeln!(out, "  {sentence}");
        }
        for check in &step.checks {
            let _ = writeln!(out, "  {}", check_line(check));
        }
    }
    out.push('\n');
    out.push_str(&verdict(report));
    out.push('\n');
    out
}

fn check_line(check: &Check) -> String {
    if check.held {
        format!("[ok] expected {} = {}", check.key, check.expected)
    } else {
        format!(
            "[FAILED] expected {} = {}, but it was {}",
            check.key, check.expected, check.actual
        )
    }
}

/// The closing line: PASS, or FAIL with every failed expectation located.
pub fn verdict(report: &RunReport) -> String {
    let total: usize = report.steps.iter().map(|s| s.checks.len()).sum();
    let failed: Vec<String> = report
        .steps
        .iter()
        .flat_map(|step| {
            step.checks.iter().filter(|c| !c.held).map(move |c| {
                format!(
                    "{}:{}: step {} expected {} = {}, got {}",
                    report.path, step.line, step.index, c.key, c.expected, c.actual
                )
            })
        })
        .collect();
    if failed.is_empty() {
        format!("PASS: {total} expectation(s) held.")
    } else {
        let mut line = format!("FAIL: {} of {total} expectation(s) failed.", failed.len());
        for f in failed {
            line.push_str("\n  ");
            line.push_str(&f);
        }
        line
    }
}
