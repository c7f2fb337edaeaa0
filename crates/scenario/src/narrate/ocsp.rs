//! Narration of revocation status beyond CRLs: OCSP, stapling, the
//! responder's log, delta CRLs.

use pkilab_net::Network;
use pkilab_verify::rfc3339;

use crate::model::RevocationDoc;
use crate::report::Observed;
use crate::script::{PeerSetup, Scenario};

/// The responder's name in the story.
fn responder(scenario: &Scenario) -> &str {
    scenario
        .ocsp
        .as_ref()
        .map_or("the OCSP responder", |o| o.name.as_str())
}

pub(super) fn block(scenario: &Scenario, by: &str) -> Vec<String> {
    vec![format!(
        "From now on {by} drops every frame to and from {}: no peer can ask it about a certificate, and no stapling peer can refresh its staple. A peer that fails soft goes ahead without a status; one that fails hard refuses.",
        responder(scenario)
    )]
}

pub(super) fn read_log(
    scenario: &Scenario,
    network: &Network,
    by: &str,
    observed: &Observed,
) -> Vec<String> {
    let log = network.ocsp_log();
    let mut lines = vec![format!(
        "{by} reads {}'s log: {} queries, each with who asked, about whose certificate, and when.",
        responder(scenario),
        log.len()
    )];
    for q in log {
        let about = q.about.as_deref().unwrap_or("an unknown");
        let when = time::OffsetDateTime::from_unix_timestamp(q.at)
            .map_or_else(|_| q.at.to_string(), rfc3339);
        lines.push(format!(
            "{when}: {} asked about {about}'s certificate ({}).",
            q.asker, q.status
        ));
    }
    lines.push(if observed.attacker_reads == Some(true) {
        "A client asks about the certificate of the server it is about to talk to: the log is a record of who talks to whom, kept by a third party.".to_owned()
    } else {
        "Every query is a peer asking about its own certificate, to staple the answer: the log says nothing about whom they talk to.".to_owned()
    });
    lines
}

/// How `setup` checks revocation, for the handshake narration.
pub(super) fn checks(setup: Option<&PeerSetup>) -> &'static str {
    let Some(setup) = setup else {
        return "its revocation status against a current CRL";
    };
    match (setup.revocation, setup.soft_fail) {
        (RevocationDoc::None, _) => "not its revocation status (its policy skips it)",
        (RevocationDoc::Soft, _) => {
            "its revocation status only if a current CRL was at hand (soft-fail)"
        }
        (RevocationDoc::Ocsp, false) => "its revocation status by asking the OCSP responder",
        (RevocationDoc::Ocsp, true) => {
            "its revocation status by asking the OCSP responder, going ahead had no answer come (soft-fail)"
        }
        (RevocationDoc::OcspStaple, false) => {
            "the fresh, good OCSP response stapled to it (must-staple)"
        }
        (RevocationDoc::OcspStaple, true) => "the OCSP response stapled to it, if any (soft-fail)",
        (RevocationDoc::Hard | RevocationDoc::Crl, _) => {
            "its revocation status against a current CRL"
        }
    }
}

/// After a revocation: who learns of it, and when.
pub(super) fn revoked(scenario: &Scenario) -> Option<String> {
    let ocsp = scenario.ocsp.as_ref().map(|o| {
        format!(
            "{} answers from the CA's records, so it says revoked from now on.",
            o.name
        )
    });
    let delta = scenario
        .delta_crl_every
        .map(|every| format!("The next delta CRL, due within {every}, will list it."));
    match (ocsp, delta) {
        (None, None) => None,
        (Some(a), None) | (None, Some(a)) => Some(a),
        (Some(a), Some(b)) => Some(format!("{a} {b}")),
    }
}

/// After the clock moves: the delta CRL peers now hold.
pub(super) fn advanced(scenario: &Scenario, network: &Network) -> Option<String> {
    scenario.delta_crl_every?;
    let (this, next) = network.delta_crl_window()?;
    Some(format!(
        "The CAs' latest delta CRL was issued at {} and is valid until {}: it lists what was revoked since the last complete CRL.",
        rfc3339(this),
        rfc3339(next)
    ))
}

/// A revocation learned from OCSP or a delta CRL, not from the CRL.
pub(super) fn explain_revoked(reason: &str, detail: &str) -> Option<&'static str> {
    if reason != "revoked" {
        return None;
    }
    if detail.contains("by an OCSP response") {
        Some(
            "The CA withdrew this certificate, and an OCSP response signed by its issuer says so: the responder answers from the CA's records, without waiting for a CRL.",
        )
    } else if detail.contains("by the delta CRL") {
        Some(
            "The CA withdrew this certificate, and the latest delta CRL lists it: a small list of what changed since the complete CRL, published often.",
        )
    } else {
        None
    }
}
