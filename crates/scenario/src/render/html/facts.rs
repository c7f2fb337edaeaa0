//! What the page states about a run: the PKI as a tree, a security table
//! per session computed from the run, what each adversary learned, and the
//! expectations.

use std::fmt::Write;

use super::escape;
use crate::model::{AdversaryKind, CipherDoc, MitmCertificate, Mode, Outcome};
use crate::report::{RunReport, StepReport};
use crate::script::{Action, Scenario};

/// Revocations and compromises of a name, with their steps.
fn events_of(scenario: &Scenario, name: &str) -> String {
    let mut out = String::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let mark = match &step.action {
            Action::Revoke { peer, reason } if peer == name => {
                format!("revoked at step {} ({reason})", i + 1)
            }
            Action::RevokeCa { ca, reason } if ca == name => {
                format!("revoked at step {} ({reason})", i + 1)
            }
            Action::Issue { peer, .. } if peer == name => {
                format!("re-certified at step {}", i + 1)
            }
            Action::Compromise { peer, to } if peer == name => {
                format!("key stolen by {to} at step {}", i + 1)
            }
            _ => continue,
        };
        let class = if mark.starts_with("revoked") || mark.starts_with("key stolen") {
            "bad"
        } else {
            "note"
        };
        let _ = write!(out, " <span class=\"{class}\">{}</span>", escape(&mark));
    }
    out
}

fn trust_of(scenario: &Scenario, peer: &str) -> String {
    let mut anchors = vec![scenario.root.clone()];
    if let Some(policy) = scenario.policies.get(peer) {
        anchors.extend(policy.trusts.iter().cloned());
    }
    format!(
        " <span class=\"trust\">trusts: {}</span>",
        escape(&anchors.join(", "))
    )
}

/// The PKI as nested lists: the root, each intermediate under the one
/// before, the peers under the issuing CA; rogue CAs beside; each
/// adversary's certificate where it hangs.
pub fn pki_tree(scenario: &Scenario) -> String {
    let mut out = String::from("<ul class=\"tree\">");
    let _ = write!(
        out,
        "<li><span class=\"ca root\">{}</span> <span class=\"tag\">root, trust anchor</span>",
        escape(&scenario.root)
    );
    for ca in &scenario.intermediates {
        let _ = write!(
            out,
            "<ul><li><span class=\"ca\">{}</span> <span class=\"tag\">intermediate</span>{}",
            escape(ca),
            events_of(scenario, ca)
        );
    }
    out.push_str("<ul>");
    let kms = scenario.kms.iter().map(|k| &k.name);
    for peer in scenario.peers.iter().take(50).chain(kms) {
        let _ = write!(
            out,
            "<li><span class=\"leaf\">{}</span>{}{}</li>",
            escape(peer),
            trust_of(scenario, peer),
            events_of(scenario, peer)
        );
    }
    if scenario.peers.len() > 50 {
        let _ = write!(
            out,
            "<li>… and {} more peers</li>",
            scenario.peers.len() - 50
        );
    }
    for a in &scenario.adversaries {
        if a.kind == AdversaryKind::Mitm && a.certificate == MitmCertificate::Own {
            let _ = write!(
                out,
                "<li><span class=\"leaf adversary\">{}</span> <span class=\"tag\">a valid certificate in its own name</span></li>",
                escape(&a.name)
            );
        }
    }
    out.push_str("</ul>");
    for _ in &scenario.intermediates {
        out.push_str("</li></ul>");
    }
    out.push_str("</li>");
    for rogue in &scenario.rogue {
        let trusted_by: Vec<&str> = scenario
            .policies
            .iter()
            .filter(|(_, p)| p.trusts.contains(rogue))
            .map(|(n, _)| n.as_str())
            .collect();
        let trust = if trusted_by.is_empty() {
            "trusted by nobody".to_owned()
        } else {
            format!("trusted by {}", trusted_by.join(", "))
        };
        let _ = write!(
            out,
            "<li><span class=\"ca rogue\">{}</span> <span class=\"tag bad\">rogue CA, {}</span>",
            escape(rogue),
            escape(&trust)
        );
        for a in scenario
            .adversaries
            .iter()
            .filter(|a| a.certificate == MitmCertificate::RogueCa)
        {
            let _ = write!(
                out,
                "<ul><li><span class=\"leaf adversary\">{}</span> <span class=\"tag\">certificate naming {}</span></li></ul>",
                escape(&a.name),
                escape(&a.victim)
            );
        }
        out.push_str("</li>");
    }
    for a in &scenario.adversaries {
        let what = match (a.kind, a.certificate) {
            (AdversaryKind::Mitm, MitmCertificate::Forged) => {
                format!(
                    "self-signed certificate naming {}, chained to no anchor",
                    a.victim
                )
            }
            (AdversaryKind::Mitm, MitmCertificate::Stolen) => {
                format!("presents {}'s stolen key and certificate", a.victim)
            }
            (AdversaryKind::Mitm, MitmCertificate::None) => "no certificate".to_owned(),
            _ => continue,
        };
        let _ = write!(
            out,
            "<li><span class=\"leaf adversary\">{}</span> <span class=\"tag bad\">{}</span></li>",
            escape(&a.name),
            escape(&what)
        );
    }
    out.push_str("</ul>");
    out
}

/// One row of the security table, computed from a handshake step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionFacts {
    /// "step N: a → b".
    pub session: String,
    /// Mode and cipher.
    pub protection: String,
    /// Whom the initiator authenticated.
    pub initiator_authenticated: String,
    /// Whom the responder authenticated.
    pub responder_authenticated: String,
    /// Against an eavesdropper.
    pub passive: String,
    /// Against an active attacker.
    pub active: String,
    /// Forward secrecy.
    pub forward_secrecy: String,
    /// Replayed records refused.
    pub replay: String,
    /// Downgrade of the mode refused.
    pub downgrade: String,
}

fn who(verified: Option<&String>, expected: &str) -> String {
    match verified.map(String::as_str) {
        None => "—".to_owned(),
        Some("") => "nobody (anonymous)".to_owned(),
        Some(name) if name == expected => format!("{name} ✓"),
        Some(name) => format!("{name} ✗ (expected {expected})"),
    }
}

/// The facts of a handshake step, or `None` for other steps.
pub fn session_facts(action: &Action, step: &StepReport) -> Option<SessionFacts> {
    let Action::Handshake {
        from,
        to,
        mode,
        cipher,
    } = action
    else {
        return None;
    };
    let o = &step.observed;
    let established = o.outcome == Some(Outcome::Established);
    let read = o.attacker_reads == Some(true);
    let authenticated = *mode != Mode::Unauthenticated;
    let tagged = *cipher == CipherDoc::Aes256Gcm;
    let both_right = o.initiator_verified.as_deref() == Some(to.as_str())
        && o.responder_verified.as_deref() == Some(from.as_str());
    let no = |why: &str| format!("no: {why}");
    let passive = if !established {
        "— (no session)".to_owned()
    } else if *mode == Mode::Static {
        "yes, until a long-term key leaks".to_owned()
    } else {
        "yes: X25519 ephemeral keys".to_owned()
    };
    let active = if !established {
        "— (no session)".to_owned()
    } else if read {
        no("an adversary holds this session's keys")
    } else if !authenticated {
        no("nothing is authenticated")
    } else if !tagged {
        no("records carry no tag: bits can be flipped")
    } else if both_right {
        "yes".to_owned()
    } else {
        "partly: one side did not verify the expected name".to_owned()
    };
    Some(SessionFacts {
        session: format!("step {}: {from} → {to}", step.index),
        protection: format!(
            "{} / {}",
            match mode {
                Mode::SignedEphemeral => "signed-ephemeral",
                Mode::Unauthenticated => "unauthenticated",
                Mode::Static => "static",
                Mode::Hybrid => "hybrid (X25519 + ML-KEM-768)",
            },
            if tagged {
                "aes-256-gcm"
            } else {
                "aes-256-ctr, no tag"
            }
        ),
        initiator_authenticated: who(o.initiator_verified.as_ref(), to),
        responder_authenticated: who(o.responder_verified.as_ref(), from),
        passive,
        active,
        forward_secrecy: match mode {
            Mode::Static => no("long-term X25519 keys open recordings later"),
            _ => "yes: the ephemeral keys are gone after the handshake".to_owned(),
        },
        replay: if tagged {
            "yes: per-direction record counters".to_owned()
        } else {
            "counters only: contents are not authenticated".to_owned()
        },
        downgrade: if authenticated {
            "yes: the mode is in the signed transcript".to_owned()
        } else {
            no("nothing signs the mode")
        },
    })
}

/// The security table of every handshake in the run.
pub fn security_table(scenario: &Scenario, report: &RunReport) -> String {
    let rows: Vec<SessionFacts> = scenario
        .steps
        .iter()
        .zip(&report.steps)
        .filter_map(|(s, r)| session_facts(&s.action, r))
        .collect();
    if rows.is_empty() {
        return "<p>No handshake in this lesson.</p>".to_owned();
    }
    let mut out = String::from(
        "<table class=\"security\"><tr><th>session</th><th>mode / cipher</th><th>initiator authenticated</th><th>responder authenticated</th><th>confidential vs passive</th><th>confidential vs active</th><th>forward secrecy</th><th>replay prevented</th><th>downgrade prevented</th></tr>",
    );
    for r in rows {
        out.push_str("<tr>");
        for cell in [
            &r.session,
            &r.protection,
            &r.initiator_authenticated,
            &r.responder_authenticated,
            &r.passive,
            &r.active,
            &r.forward_secrecy,
            &r.replay,
            &r.downgrade,
        ] {
            let class = if cell.starts_with("no") || cell.contains('✗') {
                " class=\"bad\""
            } else if cell.starts_with("yes") || cell.ends_with('✓') {
                " class=\"good\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(cell));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}

/// What each adversary read, highlighted, with the step.
pub fn learned(scenario: &Scenario, report: &RunReport) -> String {
    let mut out = String::new();
    for a in &scenario.adversaries {
        let reads: Vec<_> = report
            .learned
            .iter()
            .filter(|l| l.adversary == a.name)
            .collect();
        let _ = write!(out, "<h3>{}</h3>", escape(&a.name));
        if reads.is_empty() {
            out.push_str("<p class=\"good\">Read no plaintext.</p>");
            continue;
        }
        out.push_str("<ul class=\"learned\">");
        for l in reads {
            let _ = write!(
                out,
                "<li>step {}: <mark>{}</mark></li>",
                l.step,
                escape(&l.text)
            );
        }
        out.push_str("</ul>");
    }
    if scenario.adversaries.is_empty() {
        out.push_str("<p>No adversary in this lesson.</p>");
    }
    out
}

/// Every expectation with its result; failed ones first.
pub fn expectations(report: &RunReport) -> String {
    let mut rows: Vec<(bool, String)> = Vec::new();
    for step in &report.steps {
        for c in &step.checks {
            rows.push((
                c.held,
                format!(
                    "<tr class=\"{}\"><td>step {} (line {})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    if c.held { "good" } else { "bad failed" },
                    step.index,
                    step.line,
                    escape(&c.key),
                    escape(&c.expected),
                    escape(&c.actual),
                    if c.held { "held" } else { "FAILED" }
                ),
            ));
        }
    }
    if rows.is_empty() {
        return "<p>This lesson states no expectation.</p>".to_owned();
    }
    rows.sort_by_key(|(held, _)| *held);
    let mut out = String::from(
        "<table class=\"checks\"><tr><th>where</th><th>expect</th><th>expected</th><th>observed</th><th>result</th></tr>",
    );
    for (_, row) in rows {
        out.push_str(&row);
    }
    out.push_str("</table>");
    out
}

/// The lesson's exercises: each question, its hint and its answer folded.
pub fn exercises(scenario: &Scenario) -> String {
    if scenario.exercises.is_empty() {
        return String::new();
    }
    let mut out = String::from("<section><h2>Exercises</h2><ol class=\"exercises\">");
    for e in &scenario.exercises {
        let _ = write!(out, "<li class=\"exercise\"><p>{}</p>", escape(&e.question));
        if !e.hint.is_empty() {
            let _ = write!(
                out,
                "<details class=\"hint\"><summary>Hint</summary><p>{}</p></details>",
                escape(&e.hint)
            );
        }
        out.push_str(
            "<details class=\"answer\"><summary>Answer</summary><p>Change the file:</p><ul>",
        );
        for (replace, with) in &e.change {
            let _ = write!(
                out,
                "<li><code>{}</code> → <code>{}</code></li>",
                escape(replace),
                escape(with)
            );
        }
        let _ = write!(out, "</ul><p>Then step {} observes:", e.step);
        let observed = crate::report::compare(&e.expect, &crate::report::Observed::default());
        for check in observed {
            let _ = write!(
                out,
                " <code>{}: {}</code>",
                escape(&check.key),
                escape(&check.expected)
            );
        }
        out.push_str(
            ". Try it: <code>pkilab scenario run</code> on the changed file.</p></details></li>",
        );
    }
    out.push_str("</ol></section>");
    out
}
