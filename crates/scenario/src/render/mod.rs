//! Report renderers: a narration for people, JSON for programs, Mermaid for
//! diagrams, HTML for illustrated lessons.

pub mod html;
mod junit;
mod mermaid;
mod text;

pub use junit::junit;
pub use mermaid::mermaid;
pub use text::text;

use crate::report::RunReport;

/// Output formats of `scenario run`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Narrated text.
    Text,
    /// Machine-readable JSON.
    Json,
    /// A Mermaid sequence diagram.
    Mermaid,
    /// JUnit XML for the whole run.
    Junit,
    /// A self-contained HTML page (with `--out`, plus an index).
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "mermaid" => Ok(Format::Mermaid),
            "junit" => Ok(Format::Junit),
            "html" => Ok(Format::Html),
            other => Err(format!(
                "unknown format '{other}': use text, json, mermaid, junit or html"
            )),
        }
    }
}

impl Format {
    /// File extension for `--out`.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Text => "txt",
            Format::Json => "json",
            Format::Mermaid => "mmd",
            Format::Junit => "xml",
            Format::Html => "html",
        }
    }
}

/// Renders a report in a format.
pub fn render(report: &RunReport, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
        Format::Mermaid => mermaid(report),
        Format::Junit => junit(std::slice::from_ref(report), &[]),
        Format::Html => html::page(report, false),
    }
}

/// Pretty JSON with a trailing newline. Serializing plain data with string
/// keys cannot fail; the fallback keeps the signature total.
pub fn json(report: &RunReport) -> String {
    let mut out = serde_json::to_string_pretty(report)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize report: {e}\"}}"));
    out.push('\n');
    out
}

/// The one JSON document `scenario run --format json` prints for a whole
/// invocation, whatever the number of files: `passed` (every file valid
/// and every expectation held), `scenarios` (files seen), `failed` (paths
/// with a failed expectation), `invalid` (each with path, line, column,
/// message and help) and `runs` (one report per scenario that ran).
pub fn json_run(reports: &[RunReport], invalid: &[crate::Invalid], scenarios: usize) -> String {
    #[derive(serde::Serialize)]
    struct Invalid<'a> {
        path: &'a str,
        line: u64,
        column: u64,
        message: &'a str,
        help: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Run<'a> {
        passed: bool,
        scenarios: usize,
        failed: Vec<&'a str>,
        invalid: Vec<Invalid<'a>>,
        runs: &'a [RunReport],
    }
    let failed: Vec<&str> = reports
        .iter()
        .filter(|r| !r.passed)
        .map(|r| r.path.as_str())
        .collect();
    let document = Run {
        passed: failed.is_empty() && invalid.is_empty(),
        scenarios,
        failed,
        invalid: invalid
            .iter()
            .map(|i| Invalid {
                path: &i.path,
                line: i.line,
                column: i.column,
                message: &i.message,
                help: i.help.as_deref(),
            })
            .collect(),
        runs: reports,
    };
    let mut out = serde_json::to_string_pretty(&document)
        .unwrap_or_else(|e| format!("{{\"error\": \"cannot serialize the run: {e}\"}}"));
    out.push('\n');
    out
}
