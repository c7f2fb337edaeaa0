//! What a run produced: per step, what was observed, which expectations
//! held, and the messages on the wire. Renderers turn it into text, JSON or
//! a Mermaid diagram.

use serde::Serialize;

use crate::model::Outcome;
use crate::script::Expectation;

/// The report of one scenario run. Field names are stable: the JSON output
/// is an interface.
#[derive(Debug, Clone, Serialize)]
pub struct RunReport {
    /// Scenario title.
    pub name: String,
    /// The file.
    pub path: String,
    /// Seed used.
    pub seed: u64,
    /// One line.
    pub summary: String,
    /// The lesson.
    pub description: String,
    /// Every participant: peers that appear in messages, then adversaries.
    pub participants: Vec<String>,
    /// Step by step.
    pub steps: Vec<StepReport>,
    /// Every frame event, in order.
    pub messages: Vec<MessageEvent>,
    /// True when every expectation held.
    pub passed: bool,
    /// Plaintexts adversaries read, with the step (kept out of the JSON,
    /// whose narration already tells it; the HTML page highlights them).
    #[serde(skip)]
    pub learned: Vec<Learned>,
    /// Each side's key schedule for every session completed, adversaries'
    /// included (kept out of the JSON; the HTML page shows them).
    #[serde(skip)]
    pub key_schedules: Vec<SideKeys>,
    /// The scenario that ran, for renderers that draw its PKI (HTML).
    #[serde(skip)]
    pub scenario: Option<Box<crate::Scenario>>,
}

/// One side's view of a completed session's key schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SideKeys {
    /// Step (1-based).
    pub step: usize,
    /// The side: a peer, or an adversary.
    pub node: String,
    /// The link end at the other side of the session.
    pub with: String,
    /// Whether `node` is an adversary.
    pub adversary: bool,
    /// What its key schedule produced.
    pub keys: pkilab_peer::KeySchedule,
}

/// A plaintext an adversary read during a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Learned {
    /// Step (1-based).
    pub step: usize,
    /// The adversary.
    pub adversary: String,
    /// What it read.
    pub text: String,
}

/// One step's report.
#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    /// 1-based position.
    pub index: usize,
    /// Line in the file.
    pub line: u64,
    /// The step's keyword.
    pub action: String,
    /// One-line title, e.g. "alice → bob: handshake (signed-ephemeral)".
    pub title: String,
    /// Sentences that explain what happened and why.
    pub narration: Vec<String>,
    /// What was observed.
    pub observed: Observed,
    /// Each expectation and whether it held.
    pub checks: Vec<Check>,
}

/// Facts observed after a step. `None`: not applicable to this step.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Observed {
    /// Handshake outcome.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// Refusal reason id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Refusal detail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether an adversary read plaintext.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attacker_reads: Option<bool>,
    /// Whether the message was delivered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delivered: Option<bool>,
    /// Workload: established count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub established: Option<u64>,
    /// Key steps: the version delivered or created.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<i64>,
    /// Handshakes: whom the initiator authenticated ("" for anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub initiator_verified: Option<String>,
    /// Handshakes: whom the responder authenticated ("" for anonymous).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub responder_verified: Option<String>,
    /// The refusal came from the certificate validator.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub certificate_refused: bool,
    /// `revoke`: the KMS also ended the identity.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub identity_revoked: bool,
    /// Send: what arrived is exactly what was sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub intact: Option<bool>,
    /// Advance, gossip: a monitor or a checkpoint comparison caught the log
    /// or a certificate in it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detected: Option<bool>,
    /// Handshakes: refusals after the first ("who refused (reason): detail").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also_refused: Vec<String>,
    /// `issue`: adversaries that held the peer's key before the step.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub key_holders: Vec<String>,
}

/// One expectation, compared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// The `expect` key.
    pub key: String,
    /// What the file expected.
    pub expected: String,
    /// What happened.
    pub actual: String,
    /// Whether they agree.
    pub held: bool,
}

/// A frame on the wire, as a sequence diagram shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageEvent {
    /// Step it belongs to (1-based).
    pub step: usize,
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// What it is, e.g. "Hello (signed-ephemeral)".
    pub label: String,
    /// What happened to it on the way.
    pub fate: Fate,
    /// The frame's bytes on this hop (empty for refusal notices). Kept out
    /// of the JSON; the HTML page decodes them.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

/// What became of a frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Arrived as sent.
    Delivered,
    /// Lost on the way.
    Dropped,
    /// Arrived altered.
    Altered,
    /// Re-encrypted by an adversary with a session on each side: the same
    /// plaintext under other keys.
    Relayed,
    /// Sent by an adversary.
    Injected,
    /// A refusal notice: the receiver closed the exchange.
    Refused,
}

/// Compares what was expected with what was observed. Keys are checked in a
/// fixed order so reports are stable.
pub fn compare(expect: &Expectation, observed: &Observed) -> Vec<Check> {
    let mut checks = Vec::new();
    let mut check = |key: &str, expected: Option<String>, actual: Option<String>| {
        if let Some(expected) = expected {
            let actual = actual.unwrap_or_else(|| "nothing".to_owned());
            checks.push(Check {
                key: key.to_owned(),
                held: expected == actual,
                expected,
                actual,
            });
        }
    };
    check(
        "outcome",
        expect.outcome.map(outcome_id),
        observed.outcome.map(outcome_id),
    );
    check("reason", expect.reason.clone(), observed.reason.clone());
    check(
        "delivered",
        expect.delivered.map(|b| b.to_string()),
        observed.delivered.map(|b| b.to_string()),
    );
    check(
        "attacker_reads",
        expect.attacker_reads.map(|b| b.to_string()),
        observed.attacker_reads.map(|b| b.to_string()),
    );
    check(
        "established",
        expect.established.map(|n| n.to_string()),
        observed.established.map(|n| n.to_string()),
    );
    check(
        "version",
        expect.version.map(|n| n.to_string()),
        observed.version.map(|n| n.to_string()),
    );
    check(
        "intact",
        expect.intact.map(|b| b.to_string()),
        observed.intact.map(|b| b.to_string()),
    );
    check(
        "detected",
        expect.detected.map(|b| b.to_string()),
        observed.detected.map(|b| b.to_string()),
    );
    checks
}

/// The id of an outcome as scenario files write it.
pub fn outcome_id(outcome: Outcome) -> String {
    match outcome {
        Outcome::Established => "established",
        Outcome::Rejected => "rejected",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_matching_observation_holds() {
        let expect = Expectation {
            outcome: Some(Outcome::Rejected),
            reason: Some("revoked".into()),
            ..Default::default()
        };
        let observed = Observed {
            outcome: Some(Outcome::Rejected),
            reason: Some("revoked".into()),
            ..Default::default()
        };
        let checks = compare(&expect, &observed);
        assert_eq!(checks.len(), 2);
        assert!(checks.iter().all(|c| c.held));
    }

    #[test]
    fn a_different_reason_fails_and_says_what_happened() {
        let expect = Expectation {
            reason: Some("revoked".into()),
            ..Default::default()
        };
        let observed = Observed {
            outcome: Some(Outcome::Rejected),
            reason: Some("expired".into()),
            ..Default::default()
        };
        let checks = compare(&expect, &observed);
        assert_eq!(
            checks,
            [Check {
                key: "reason".into(),
                expected: "revoked".into(),
                actual: "expired".into(),
                held: false
            }]
        );
    }

    #[test]
    fn a_missing_observation_is_nothing() {
        let expect = Expectation {
            attacker_reads: Some(false),
            ..Default::default()
        };
        let checks = compare(&expect, &Observed::default());
        assert_eq!(checks[0].actual, "nothing");
        assert!(!checks[0].held);
    }
}
