//! The sequence diagram as inline SVG: a lifeline per participant,
//! adversaries between the peers whose link they sit on, a row per frame,
//! refused and dropped frames marked where they stop.

use std::fmt::Write;

use super::escape;
use crate::report::{Fate, RunReport};

const COLUMN: usize = 170;
const MARGIN: usize = 100;
const TOP: usize = 50;
const ROW: usize = 30;
const NOTE: usize = 28;

/// The diagram; `adversaries` are drawn in their own colour. With `quiz`,
/// each step's frames stay hidden until the step is revealed, since where
/// a frame stops gives the outcome away.
pub fn sequence(report: &RunReport, adversaries: &[String], quiz: bool) -> String {
    let n = report.participants.len().max(1);
    let width = MARGIN * 2 + COLUMN * (n - 1);
    let x = |name: &str| {
        report
            .participants
            .iter()
            .position(|p| p == name)
            .map(|i| MARGIN + i * COLUMN)
    };
    let mut body = String::new();
    let mut y = TOP + 20;
    for step in &report.steps {
        let messages: Vec<(usize, _)> = report
            .messages
            .iter()
            .enumerate()
            .filter(|(_, m)| m.step == step.index)
            .collect();
        // In the quiz a failed expectation is not announced before the step.
        let failed = !quiz && step.checks.iter().any(|c| !c.held);
        let _ = write!(
            body,
            "<g class=\"step-note{}\" data-step=\"{}\"><rect x=\"10\" y=\"{}\" width=\"{}\" height=\"22\" rx=\"4\"/><text x=\"16\" y=\"{}\">{}. {}{}</text></g>",
            if failed { " failed" } else { "" },
            step.index,
            y,
            width - 20,
            y + 15,
            step.index,
            escape(&step.title),
            if failed {
                " — FAILED expectation"
            } else {
                ""
            }
        );
        y += NOTE;
        let _ = write!(
            body,
            "<g class=\"step-rows{}\" data-step=\"{}\">",
            if quiz { " veiled" } else { "" },
            step.index
        );
        for (i, m) in messages {
            let (Some(x1), Some(x2)) = (x(&m.from), x(&m.to)) else {
                continue;
            };
            let row_y = y + 18;
            let fate = match m.fate {
                Fate::Delivered => "delivered",
                Fate::Dropped => "dropped",
                Fate::Altered => "altered",
                Fate::Relayed => "relayed",
                Fate::Injected => "injected",
                Fate::Refused => "refused",
            };
            // A dropped frame stops halfway; a refusal is drawn at the node
            // that refused, a short stroke toward the link end it refused.
            let (x1, end, marker) = match m.fate {
                Fate::Dropped => (x1, (x1 + x2) / 2, "marker-end=\"url(#cross)\""),
                Fate::Refused => {
                    let toward = if x2 >= x1 {
                        x1 + COLUMN / 3
                    } else {
                        x1.saturating_sub(COLUMN / 3)
                    };
                    (x1, toward, "marker-start=\"url(#cross)\"")
                }
                _ => (x1, x2, "marker-end=\"url(#arrow)\""),
            };
            let label = match m.fate {
                Fate::Delivered => m.label.clone(),
                Fate::Refused => format!("{} {}", m.from, m.label),
                _ => format!("{} ({fate})", m.label),
            };
            let _ = write!(
                body,
                "<a href=\"#f{i}\"><g class=\"msg {fate}\" data-frame=\"{i}\"><line x1=\"{x1}\" y1=\"{row_y}\" x2=\"{end}\" y2=\"{row_y}\" {marker}/><text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                (x1 + end) / 2,
                row_y - 5,
                escape(&label)
            );
            body.push_str("</g></a>");
            y += ROW;
        }
        body.push_str("</g>");
        y += 6;
    }
    let height = y + 20;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg class=\"sequence\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"sequence diagram\">"
    );
    out.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\"/></marker><marker id=\"cross\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"12\" markerHeight=\"12\"><path d=\"M1,1 L9,9 M9,1 L1,9\" stroke=\"#c0392b\" stroke-width=\"2\"/></marker></defs>",
    );
    for (i, p) in report.participants.iter().enumerate() {
        let cx = MARGIN + i * COLUMN;
        let class = if adversaries.contains(p) {
            "participant adversary"
        } else {
            "participant"
        };
        let _ = write!(
            out,
            "<g class=\"{class}\"><rect x=\"{}\" y=\"8\" width=\"140\" height=\"30\" rx=\"5\"/><text x=\"{cx}\" y=\"28\" text-anchor=\"middle\">{}</text><line class=\"lifeline\" data-participant=\"{}\" x1=\"{cx}\" y1=\"{}\" x2=\"{cx}\" y2=\"{}\"/></g>",
            cx - 70,
            escape(p),
            escape(p),
            TOP - 12,
            height - 10
        );
    }
    out.push_str(&body);
    out.push_str("</svg>");
    out
}
