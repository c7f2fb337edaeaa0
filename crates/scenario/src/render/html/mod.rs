//! A self-contained HTML page per scenario, and an index: no network
//! request, no external file, no script except the quiz's, and a content
//! security policy that forbids loading anything.

mod facts;
mod frames;
mod keys;
mod svg;

use std::fmt::Write;

pub use facts::{SessionFacts, session_facts};
pub use frames::{Field, fields};

use crate::model::{AdversaryKind, Outcome};
use crate::report::{Fate, RunReport};
use crate::script::{Action, Scenario};

/// Escapes text for HTML content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = include_str!("page.css");
const QUIZ: &str = include_str!("quiz.js");

fn head(out: &mut String, title: &str, quiz: bool) {
    let script = if quiz {
        " script-src 'unsafe-inline';"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:;{script}\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{STYLE}</style></head><body>",
        escape(title)
    );
}

/// The index: every page with its pass/fail mark and summary. `pages` are
/// (file name, report).
pub fn index(pages: &[(String, &RunReport)]) -> String {
    let mut out = String::new();
    head(&mut out, "pkilab lessons", false);
    let passed = pages.iter().filter(|(_, r)| r.passed).count();
    let _ = write!(
        out,
        "<main><h1>pkilab lessons</h1><p>{passed} of {} lessons passed.</p><table class=\"index\"><tr><th></th><th>lesson</th><th>summary</th></tr>",
        pages.len()
    );
    for (file, report) in pages {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td></tr>",
            if report.passed { "good" } else { "bad" },
            if report.passed {
                "✓ pass"
            } else {
                "✗ FAIL"
            },
            escape(file),
            escape(&report.name),
            escape(&report.summary)
        );
    }
    out.push_str("</table></main></body></html>\n");
    out
}

/// One lesson's page. With `quiz`, each step's outcome stays hidden until
/// the reader has made a prediction for it.
pub fn page(report: &RunReport, quiz: bool) -> String {
    let mut out = String::new();
    head(&mut out, &report.name, quiz);
    let veil = |step: usize| {
        if quiz {
            format!(" veiled\" data-step=\"{step}")
        } else {
            String::new()
        }
    };
    let final_veil = if quiz { " veiled final" } else { "" };
    out.push_str("<main>");
    let _ = write!(
        out,
        "<p><a href=\"index.html\">← all lessons</a></p><h1>{}</h1><p class=\"summary\">{}</p>",
        escape(&report.name),
        escape(&report.summary)
    );
    let failed = report
        .steps
        .iter()
        .any(|s| s.checks.iter().any(|c| !c.held));
    let _ = write!(
        out,
        "<p class=\"verdict {}{final_veil}\">{}</p>",
        if failed { "bad" } else { "good" },
        if failed {
            "✗ An expectation FAILED: see the expectations below."
        } else {
            "✓ Every expectation held."
        }
    );
    if failed {
        let _ = write!(
            out,
            "<section class=\"failed-first{final_veil}\"><h2>Failed expectations</h2>{}</section>",
            facts::expectations(report)
        );
    }
    for paragraph in report
        .description
        .split("\n\n")
        .filter(|p| !p.trim().is_empty())
    {
        let _ = write!(out, "<p class=\"lesson\">{}</p>", escape(paragraph.trim()));
    }
    let _ = write!(
        out,
        "<p class=\"meta\">{} · seed {}</p>",
        escape(
            std::path::Path::new(&report.path)
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or(&report.path)
        ),
        report.seed
    );
    let scenario = report.scenario.as_deref();
    if let Some(scenario) = scenario {
        let _ = write!(
            out,
            "<section><h2>The PKI</h2>{}</section>",
            facts::pki_tree(scenario)
        );
    }
    let adversaries: Vec<String> = scenario
        .map(|s| s.adversaries.iter().map(|a| a.name.clone()).collect())
        .unwrap_or_default();
    if quiz {
        out.push_str("<p class=\"quiz-intro\">Quiz: for each step, say what you expect, then reveal what happened. The diagram, the frames and the tables fill in as you go.</p>");
    }
    let _ = write!(
        out,
        "<section><h2>Sequence</h2><p>Click a frame to see its bytes. Adversaries are drawn in red; ✗ marks where a frame was refused or lost.</p><div class=\"diagram\">{}</div></section>",
        svg::sequence(report, &adversaries, quiz)
    );
    steps(&mut out, report, scenario, quiz, &veil);
    frames_section(&mut out, report, scenario, &veil);
    keys::section(&mut out, report, &veil);
    if let Some(scenario) = scenario {
        let _ = write!(
            out,
            "<section class=\"{final_veil}\"><h2>Security of each session</h2><p>Computed from the run: the mode and cipher each handshake used, whom each side verified, and whether an adversary got the session's keys.</p>{}</section>",
            facts::security_table(scenario, report)
        );
        let _ = write!(
            out,
            "<section class=\"{final_veil}\"><h2>What each adversary learned</h2>{}</section>",
            facts::learned(scenario, report)
        );
    }
    let _ = write!(
        out,
        "<section class=\"{final_veil}\"><h2>Expectations</h2>{}</section>",
        facts::expectations(report)
    );
    if let Some(scenario) = scenario {
        out.push_str(&facts::exercises(scenario));
    }
    out.push_str("</main>");
    if quiz {
        let _ = write!(out, "<script>{QUIZ}</script>");
    }
    out.push_str("</body></html>\n");
    out
}

/// The prediction a reader can make for a step, as (value, label) choices.
fn choices(action: Option<&Action>) -> &'static [(&'static str, &'static str)] {
    match action {
        Some(Action::Handshake { .. }) => &[
            ("established", "the handshake is established"),
            ("rejected", "the handshake is refused"),
        ],
        Some(Action::Send { .. } | Action::FetchKey { .. }) => &[
            ("true", "it is delivered"),
            ("false", "it is not delivered"),
        ],
        _ => &[("any", "I have made my prediction")],
    }
}

fn steps(
    out: &mut String,
    report: &RunReport,
    scenario: Option<&Scenario>,
    quiz: bool,
    veil: &dyn Fn(usize) -> String,
) {
    out.push_str("<section><h2>Steps</h2><ol class=\"steps\">");
    for step in &report.steps {
        let _ = write!(
            out,
            "<li id=\"s{}\"><h3>{}</h3>",
            step.index,
            escape(&step.title)
        );
        if quiz {
            let action = scenario
                .and_then(|s| s.steps.get(step.index - 1))
                .map(|s| &s.action);
            let truth = match (step.observed.outcome, step.observed.delivered) {
                (Some(Outcome::Established), _) => "established",
                (Some(Outcome::Rejected), _) => "rejected",
                (None, Some(true)) => "true",
                (None, Some(false)) => "false",
                _ => "any",
            };
            let _ = write!(
                out,
                "<form class=\"quiz\" data-step=\"{}\" data-truth=\"{truth}\"><span>Your prediction:</span>",
                step.index
            );
            for (value, label) in choices(action) {
                let _ = write!(
                    out,
                    "<label><input type=\"radio\" name=\"p{}\" value=\"{value}\"> {label}</label>",
                    step.index
                );
            }
            out.push_str("<button type=\"button\" class=\"reveal\" disabled>Reveal</button><span class=\"judgement\"></span></form>");
        }
        let _ = write!(out, "<div class=\"outcome{}\">", veil(step.index));
        for sentence in &step.narration {
            let _ = write!(out, "<p>{}</p>", escape(sentence));
        }
        for c in &step.checks {
            let _ = write!(
                out,
                "<p class=\"{}\">expect {}: {} — observed {}</p>",
                if c.held { "good" } else { "bad" },
                escape(&c.key),
                escape(&c.expected),
                escape(&c.actual)
            );
        }
        out.push_str("</div></li>");
    }
    out.push_str("</ol></section>");
}

fn frames_section(
    out: &mut String,
    report: &RunReport,
    scenario: Option<&Scenario>,
    veil: &dyn Fn(usize) -> String,
) {
    out.push_str("<section><h2>Frames</h2><p class=\"secrets\">Which values are secret: every byte below crossed the wire, so any eavesdropper sees it: key shares, nonces, ciphertexts are public. Secret, and never shown: each side's X25519 private key, the X25519 result, the HKDF pseudo-random key, the handshake and traffic keys derived from it (<code>hello_hash = SHA-256(\"pkilab/1 hello\" ‖ M1 ‖ key_share_R ‖ nonce_R)</code>, <code>prk = HKDF-Extract(hello_hash, X25519 result)</code>, then labelled keys per direction), and the Ed25519 signing keys. The plaintexts under “What each adversary learned” were secret: they are shown because the adversary recovered them.</p>");
    for (i, m) in report.messages.iter().enumerate() {
        let fate = match m.fate {
            Fate::Delivered => "",
            Fate::Dropped => " (dropped)",
            Fate::Altered => " (altered)",
            Fate::Relayed => " (relayed)",
            Fate::Injected => " (injected)",
            Fate::Refused => "",
        };
        let _ = write!(
            out,
            "<details class=\"frame{}\" id=\"f{i}\"><summary>step {} · {} → {} · {}{fate}{}</summary>",
            veil(m.step),
            m.step,
            escape(&m.from),
            escape(&m.to),
            escape(&m.label),
            if m.bytes.is_empty() {
                String::new()
            } else {
                format!(" · {} bytes", m.bytes.len())
            }
        );
        if m.fate == Fate::Refused {
            out.push_str("<p>A refusal notice: the receiver closed the exchange. It carries no bytes of the protocol.</p>");
        } else if m.bytes.is_empty() {
            out.push_str("<p>The bytes of this hop were not kept.</p>");
        } else {
            out.push_str(&frames::table(&m.bytes));
            let completes = matches!(m.label.as_str(), "Hello + Auth" | "Finished");
            // The sealed block, as its receiver opened it (when the
            // handshake completed there).
            if let Some(side) = report
                .key_schedules
                .iter()
                .find(|k| completes && k.step == m.step && k.node == m.to && k.with == m.from)
            {
                keys::opened(out, side);
            }
            if completes && report.key_schedules.iter().any(|k| k.step == m.step) {
                let _ = write!(
                    out,
                    "<p>The keys each side derived from this exchange: <a href=\"#k{}\">key schedule, step {}</a>.</p>",
                    m.step, m.step
                );
            }
        }
        out.push_str("</details>");
    }
    if let Some(scenario) = scenario {
        for a in scenario
            .adversaries
            .iter()
            .filter(|a| a.kind == AdversaryKind::Mitm)
        {
            mitm_sessions(out, report, &a.name, &a.link);
        }
    }
    out.push_str("</section>");
}

/// A MITM's two sessions side by side: the key shares each side saw.
fn mitm_sessions(out: &mut String, report: &RunReport, mitm: &str, link: &(String, String)) {
    let column = |peer: &str| {
        let mut col = String::new();
        for m in report
            .messages
            .iter()
            .filter(|m| (m.from == mitm && m.to == peer) || (m.from == peer && m.to == mitm))
        {
            let share = fields(&m.bytes)
                .and_then(|f| f.into_iter().find(|f| f.label == "key share"))
                .map(|f| frames::hex(&f.bytes))
                .unwrap_or_default();
            let _ = write!(
                col,
                "<li>step {}: {} → {}: {}{}</li>",
                m.step,
                escape(&m.from),
                escape(&m.to),
                escape(&m.label),
                if share.is_empty() {
                    String::new()
                } else {
                    format!("<br>key share <code>{}</code>", escape(&share))
                }
            );
        }
        col
    };
    let keys = |peer: &str| {
        keys::adversary_keys(report, mitm, peer)
            .iter()
            .map(|k| format!("<li class=\"bad\">{}</li>", escape(k)))
            .collect::<String>()
    };
    let (left, right) = (
        column(&link.0) + &keys(&link.0),
        column(&link.1) + &keys(&link.1),
    );
    if left.is_empty() && right.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<h3>{m}'s two sessions</h3><p>{m} runs one handshake with {a} and another with {b}. Each side's key share differs, so the X25519 results differ and so does every key derived from them: what {a} encrypts, only {m} can open, and {m} encrypts it again for {b}.</p><div class=\"sides\"><div><h4>{a} ↔ {m}</h4><ul>{left}</ul></div><div><h4>{m} ↔ {b}</h4><ul>{right}</ul></div></div>",
        m = escape(mitm),
        a = escape(&link.0),
        b = escape(&link.1),
    );
}
