//! Report renderers: a narration for people, JSON for programs, Mermaid for
//! diagrams.

mod mermaid;
mod text;

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
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            "mermaid" => Ok(Format::Mermaid),
            other => Err(format!(
                "unknown format '{other}': use text, json or mermaid"
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
        }
    }
}

/// Renders a report in a format.
pub fn render(report: &RunReport, format: Format) -> String {
    match format {
        Format::Text => text(report),
        Format::Json => json(report),
        Format::Mermaid => mermaid(report),
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
