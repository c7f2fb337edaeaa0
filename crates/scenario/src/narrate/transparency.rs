//! Narration of certificate transparency: rogue issuance, monitors, split
//! views and gossip.

use crate::report::Observed;
use crate::script::Scenario;

/// Who requires inclusion proofs, for the story.
fn requiring(scenario: &Scenario) -> Vec<&str> {
    scenario
        .policies
        .iter()
        .filter(|(_, p)| p.require_logged)
        .map(|(name, _)| name.as_str())
        .collect()
}

pub(super) fn rogue_issuance(
    scenario: &Scenario,
    victim: &str,
    by: &str,
    logged: bool,
) -> Vec<String> {
    let mut lines = vec![format!(
        "The issuing CA, compromised, signs a certificate naming {victim} for a key {by} holds. It chains to the root every peer trusts: path validation alone cannot tell it from {victim}'s own."
    )];
    let requiring = requiring(scenario);
    lines.push(if logged {
        format!(
            "It is appended to the transparency log, so {by} gets a valid inclusion proof: peers that require one accept it. The price: anyone reading the log can see it."
        )
    } else if requiring.is_empty() {
        "It stays out of the transparency log; no peer here requires an inclusion proof, so nobody will miss one.".to_owned()
    } else {
        format!(
            "It stays out of the transparency log: {by} has no inclusion proof to send, and {} {} one.",
            requiring.join(" and "),
            if requiring.len() == 1 { "requires" } else { "require" }
        )
    });
    lines
}

pub(super) fn revoke_unrequested(peer: &str) -> Vec<String> {
    vec![format!(
        "{peer} shows the CA what its monitor found; the CA marks those certificates revoked, and {peer}'s own certificate stays good. Peers learn of it with the next CRL."
    )]
}

pub(super) fn split_view(shown: &[String]) -> Vec<String> {
    vec![format!(
        "The log now keeps two trees: {} {} shown one, everyone else the other. Each checkpoint is validly signed; only comparing them shows that they cannot both be the same append-only log.",
        shown.join(" and "),
        if shown.len() == 1 { "is" } else { "are" }
    )]
}

pub(super) fn gossip(a: &str, b: &str, observed: &Observed) -> Vec<String> {
    vec![if observed.detected == Some(true) {
        format!(
            "{a} and {b} hold checkpoints that no consistency proof joins: the log signed two histories. The two signed checkpoints are the evidence; either one alone looks honest."
        )
    } else {
        format!(
            "{a}'s and {b}'s checkpoints are consistent: one tree extends the other, as an append-only log's must."
        )
    }]
}

/// What monitors and gossip reported during a step, as narration.
pub(crate) fn findings(found: &[String]) -> Vec<String> {
    found.to_vec()
}
