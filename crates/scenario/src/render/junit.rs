//! JUnit XML, the format every CI dashboard reads: one `<testcase>` per
//! scenario; a failed expectation is a `<failure>` naming the step, its
//! line and what differed; a file that cannot run is an `<error>`.

use std::fmt::Write as _;

use crate::load::Invalid;
use crate::report::RunReport;

/// The JUnit document for one invocation.
pub fn junit(reports: &[RunReport], invalid: &[Invalid]) -> String {
    let failures = reports.iter().filter(|r| !r.passed).count();
    let tests = reports.len() + invalid.len();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"pkilab scenarios\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\">",
        invalid.len()
    );
    let _ = writeln!(
        out,
        "  <testsuite name=\"scenarios\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{}\" skipped=\"0\">",
        invalid.len()
    );
    for report in reports {
        let _ = write!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\"",
            escape(&classname(&report.path)),
            escape(&report.name),
            escape(&report.path)
        );
        if report.passed {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        for step in &report.steps {
            for check in step.checks.iter().filter(|c| !c.held) {
                let message = format!(
                    "step {} (line {}) {}: expected {} {}, got {}",
                    step.index + 1,
                    step.line,
                    step.title,
                    check.key,
                    check.expected,
                    check.actual
                );
                let _ = writeln!(
                    out,
                    "      <failure message=\"{}\" type=\"expectation\">{}</failure>",
                    escape(&message),
                    escape(&message)
                );
            }
        }
        out.push_str("    </testcase>\n");
    }
    for bad in invalid {
        let message = bad.to_string();
        let _ = writeln!(
            out,
            "    <testcase classname=\"{}\" name=\"{}\" file=\"{}\">\n      <error message=\"{}\" type=\"invalid-scenario\">{}</error>\n    </testcase>",
            escape(&classname(&bad.path)),
            escape(&bad.path),
            escape(&bad.path),
            escape(&message),
            escape(&message)
        );
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

/// `scenarios/06-mitm.yaml` → `scenarios.06-mitm`.
fn classname(path: &str) -> String {
    let trimmed = path.strip_suffix(".yaml").unwrap_or(path);
    trimmed.replace(['/', '\\'], ".")
}

/// XML text and attribute escaping; control characters other than tab and
/// newline, which XML 1.0 cannot carry, become U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            c if c.is_control() => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_and_controls_are_escaped() {
        assert_eq!(
            escape("a<b & \"c\"\u{1b}"),
            "a&lt;b &amp; &quot;c&quot;\u{FFFD}"
        );
        assert_eq!(classname("scenarios/06-mitm.yaml"), "scenarios.06-mitm");
    }
}
