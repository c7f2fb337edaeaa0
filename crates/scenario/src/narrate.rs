//! The narration: what happened at each step, and why it matters.

use pkilab_net::Network;
use pkilab_verify::rfc3339;

use crate::model::Outcome;
use crate::report::Observed;
use crate::script::{Action, Scenario, Step};

mod ocsp;
pub(crate) mod transparency;

/// One line naming the step.
pub fn title(action: &Action) -> String {
    match action {
        Action::Handshake {
            from,
            to,
            mode,
            cipher,
        } => match cipher {
            crate::model::CipherDoc::Aes256Gcm => {
                format!("{from} -> {to}: handshake ({})", mode_id(*mode))
            }
            crate::model::CipherDoc::Aes256CtrUnauthenticated => format!(
                "{from} -> {to}: handshake ({}, unauthenticated AES-256-CTR records)",
                mode_id(*mode)
            ),
        },
        Action::Send { from, to, .. } => format!("{from} -> {to}: message"),
        Action::Advance(by) => format!("the clock advances {by}"),
        Action::Issue {
            peer,
            keep_key: false,
            ..
        } => format!("the CA issues {peer} a new key and certificate"),
        Action::Issue { peer, .. } => {
            format!("the CA re-certifies {peer}'s existing key")
        }
        Action::Revoke { peer, reason } => {
            format!("the CA revokes {peer}'s certificate ({reason})")
        }
        Action::RevokeCa { ca, reason } => {
            format!("the parent CA revokes intermediate {ca} ({reason})")
        }
        Action::RemoveMember { key, peer } => {
            format!("{peer} leaves group key {key}")
        }
        Action::PublishCrl { .. } => "the CAs publish fresh CRLs".to_owned(),
        Action::Compromise { peer, to } => format!("{peer}'s long-term keys leak to {to}"),
        Action::DecryptRecorded { by, breaks } if breaks.is_empty() => {
            format!("{by} tries to decrypt what it recorded")
        }
        Action::DecryptRecorded { by, breaks } => format!(
            "{by}, assumed to break {}, tries to decrypt what it recorded",
            primitive_names(breaks)
        ),
        Action::Handshakes { count, mode, .. } => {
            format!("{count} handshakes ({})", mode_id(*mode))
        }
        Action::FetchKey { peer, key } => format!("{peer} asks the KMS for group key {key}"),
        Action::RotateKey { key } => format!("the KMS rotates group key {key}"),
        Action::Block { by } => format!("{by} makes the OCSP responder unreachable"),
        Action::ReadOcspLog { by } => format!("{by} reads the OCSP responder's log"),
        Action::RogueIssuance {
            victim,
            by,
            logged: true,
        } => format!("the compromised CA issues a logged certificate in {victim}'s name for {by}"),
        Action::RogueIssuance { victim, by, .. } => {
            format!("the compromised CA issues an unlogged certificate in {victim}'s name for {by}")
        }
        Action::RevokeUnrequested { peer, reason } => format!(
            "the CA revokes the certificates in {peer}'s name that {peer} did not request ({reason})"
        ),
        Action::SplitView { shown } => {
            format!("the log shows {} a tree of its own", shown.join(" and "))
        }
        Action::Gossip { a, b } => format!("{a} and {b} compare the log's checkpoints"),
    }
}

fn mode_id(mode: crate::model::Mode) -> &'static str {
    match mode {
        crate::model::Mode::SignedEphemeral => "signed-ephemeral",
        crate::model::Mode::Unauthenticated => "unauthenticated",
        crate::model::Mode::Static => "static",
        crate::model::Mode::Hybrid => "hybrid",
    }
}

/// Sentences explaining a step's outcome.
pub fn step(
    scenario: &Scenario,
    network: &Network,
    step: &Step,
    observed: &Observed,
) -> Vec<String> {
    let now = rfc3339(network.now());
    match &step.action {
        Action::Handshake { from, to, mode, .. } => handshake(scenario, from, to, *mode, observed),
        Action::Send { from, to, .. } => send(from, to, observed),
        Action::Advance(_) => {
            let mut lines = vec![format!("It is now {now}.")];
            lines.extend(ocsp::advanced(scenario, network));
            if let Some(reason) = &observed.reason {
                lines.push(format!(
                    "A frame held back until now arrived and was refused ({reason}): {}. {}",
                    observed.detail.as_deref().unwrap_or(""),
                    explain(reason)
                ));
            }
            lines
        }
        Action::Issue {
            peer,
            validity,
            valid_from,
            keep_key,
        } => issue(network, peer, *validity, *valid_from, *keep_key, observed),
        Action::Revoke { peer, reason } => {
            let mut lines = vec![format!(
                "The CA's records mark {peer}'s certificate revoked. Peers do not know yet: they check the CRL they hold, which says nothing until a new one is published."
            )];
            lines.extend(ocsp::revoked(scenario));
            if scenario.kms.is_some() {
                lines.push(if observed.identity_revoked {
                    format!("The KMS, beside the CA, stops serving {peer} at once: a revocation for {reason} says the identity itself can no longer be trusted.")
                } else {
                    format!("The KMS keeps serving {peer}'s identity: {reason} concerns this certificate, not who {peer} is. With a new certificate {peer} can fetch keys again.")
                });
            }
            lines
        }
        Action::RevokeCa { ca, .. } => vec![format!(
            "The parent CA lists {ca}'s certificate on its next CRL. From then on every chain through {ca} fails, whoever it issued: one revocation withdraws them all."
        )],
        Action::RemoveMember { .. } | Action::RotateKey { .. } if observed.reason.is_some() => {
            let reason = observed.reason.as_deref().unwrap_or("unknown");
            let mut lines = Vec::new();
            if let Action::RemoveMember { key, peer } = &step.action {
                lines.push(format!(
                    "The KMS node no longer serves {key} to {peer}, but the key did not rotate."
                ));
            }
            lines.push(format!(
                "Refused ({reason}): {}.",
                observed.detail.as_deref().unwrap_or("")
            ));
            lines.push(explain(reason).to_owned());
            lines
        }
        Action::RemoveMember { key, peer } => vec![format!(
            "The KMS node no longer serves {key} to {peer} and rotates it to version {}: what members protect from now on uses a key {peer} never received. What {peer} fetched before, it keeps.",
            observed.version.unwrap_or(0)
        )],
        Action::PublishCrl { validity } => vec![format!(
            "Every peer now checks against CRLs issued at {now} and valid until {}.",
            rfc3339(pkilab_net::pki::until(network.now(), validity.to_time()))
        )],
        Action::Compromise { peer, to } => vec![format!(
            "{to} now holds {peer}'s Ed25519 signing key, long-term X25519 key and current certificate. An active attacker can present them as {peer} until revocation reaches the peer checking them; a passive one opens what those keys open."
        )],
        Action::DecryptRecorded { by, breaks } if breaks.is_empty() => decrypt(by, observed),
        Action::DecryptRecorded { by, breaks } => decrypt_breaking(by, breaks, observed),
        Action::Handshakes { count, .. } => vec![format!(
            "{} of {count} handshakes among {} peers were established.",
            observed.established.unwrap_or(0),
            scenario.peers.len()
        )],
        Action::FetchKey { peer, key } => fetch(network, peer, key, observed),
        Action::Block { by } => ocsp::block(scenario, by),
        Action::ReadOcspLog { by } => ocsp::read_log(scenario, network, by, observed),
        Action::RogueIssuance { victim, by, logged } => {
            transparency::rogue_issuance(scenario, victim, by, *logged)
        }
        Action::RevokeUnrequested { peer, .. } => transparency::revoke_unrequested(peer),
        Action::SplitView { shown } => transparency::split_view(shown),
        Action::Gossip { a, b } => transparency::gossip(a, b, observed),
        Action::RotateKey { key } => vec![format!(
            "Group key {key} now has version {}. New data uses it; members must fetch it, and what was protected under earlier versions still opens with them.",
            observed.version.unwrap_or(0)
        )],
    }
}

fn fetch(network: &Network, peer: &str, key: &str, observed: &Observed) -> Vec<String> {
    let mut lines = Vec::new();
    if observed.delivered == Some(true) {
        let fingerprint = network.trace().iter().rev().find_map(|e| match e {
            pkilab_net::Event::KeyDelivered {
                peer: p,
                key: k,
                fingerprint,
                ..
            } if p == peer && k == key => Some(fingerprint.clone()),
            _ => None,
        });
        lines.push(format!(
            "The KMS checked {peer}'s certificate again, now, against the current CRL, and its grant on {key}; it sent version {} inside their session, so only {peer} could open it (fingerprint {}).",
            observed.version.unwrap_or(0),
            fingerprint.unwrap_or_default()
        ));
    } else {
        let reason = observed.reason.as_deref().unwrap_or("unknown");
        let detail = observed.detail.as_deref().unwrap_or("no detail");
        lines.push(format!("{peer} got no key ({reason}): {detail}."));
        lines.push(if reason == "revoked" && detail.contains("identity '") {
            "The KMS sits next to the CA and learns of a revocation at once: it stops serving the identity before any CRL is published.".to_owned()
        } else {
            explain(reason).to_owned()
        });
    }
    if observed.attacker_reads == Some(true) {
        lines.push("An attacker read the exchange, key included.".to_owned());
    }
    lines
}

fn issue(
    network: &Network,
    peer: &str,
    validity: crate::SimDuration,
    valid_from: crate::SimDuration,
    keep_key: bool,
    observed: &Observed,
) -> Vec<String> {
    let start = rfc3339(pkilab_net::pki::until(network.now(), valid_from.to_time()));
    let holders = observed.key_holders.join(", ");
    if !keep_key {
        let mut lines = vec![format!(
            "{peer} now holds a fresh key and a certificate for it, valid from {start} for {validity}."
        )];
        if !holders.is_empty() {
            lines.push(format!("{holders} still holds the old key and its certificate, which stays valid until it expires or is revoked and the CRL says so."));
        }
        return lines;
    }
    let mut lines = vec![format!(
        "{peer} now holds a certificate valid from {start} for {validity}, for the key it already had."
    )];
    if !holders.is_empty() {
        lines.push(format!("This is a mistake: {holders} holds that key, sees the new certificate (certificates are public) and can present it. A compromised key needs a new key, not a new certificate."));
    }
    lines
}

fn responder_policy(scenario: &Scenario, to: &str) -> String {
    match scenario.policies.get(to).and_then(|p| p.accept.as_ref()) {
        Some(names) => format!("{to} accepts only {}", names.join(", ")),
        None => format!("{to} accepts any name its trust anchors vouch for"),
    }
}

fn handshake(
    scenario: &Scenario,
    from: &str,
    to: &str,
    mode: crate::model::Mode,
    observed: &Observed,
) -> Vec<String> {
    let mut lines = Vec::new();
    let adversary = scenario
        .adversaries
        .iter()
        .find(|a| (a.link.0 == from && a.link.1 == to) || (a.link.0 == to && a.link.1 == from));
    let iv = observed.initiator_verified.as_deref();
    let rv = observed.responder_verified.as_deref();
    match (observed.outcome, observed.attacker_reads) {
        (Some(Outcome::Established), Some(true))
            if adversary.is_some_and(|a| a.kind != crate::model::AdversaryKind::Mitm) =>
        {
            let who = adversary.map_or("an adversary", |a| a.name.as_str());
            lines.push(format!("The handshake succeeded and nothing on the wire was touched, but {who} recorded it and, with the stolen long-term key, recomputed this session's keys: it reads what passes, unseen."));
        }
        (Some(Outcome::Established), Some(true)) => {
            let who = adversary.map_or("an adversary", |a| a.name.as_str());
            lines.push(format!("Both sides believe the handshake succeeded, but {who} sits in the middle with a session on each side: it can read and change everything {from} sends."));
            if mode == crate::model::Mode::Unauthenticated {
                lines.push("Nothing in an unauthenticated exchange tells a peer who holds the other end of its key.".to_owned());
            } else {
                lines.push(format!("{from} accepted a server authenticated as {}, and {to} accepted a client authenticated as {}: the checks passed because the attacker holds real credentials.", iv.unwrap_or("?"), rv.unwrap_or("?")));
            }
        }
        (Some(Outcome::Established), _) => match mode {
            crate::model::Mode::Unauthenticated => lines.push(format!(
                "{from} and {to} agreed on a key, but neither knows who the other is."
            )),
            _ => {
                let revocation = ocsp::checks(scenario.policies.get(from));
                lines.push(format!("{from} verified {to}'s chain to a trusted root, {revocation}, and its signature over the transcript."));
                let client = match rv {
                    Some("") => "an anonymous client".to_owned(),
                    Some(name) => format!("its client as {name}"),
                    None => "nobody".to_owned(),
                };
                lines.push(format!("{to} authenticated {client} ({}). Each session is bound to the name its side verified.", responder_policy(scenario, to)));
            }
        },
        _ => {
            let reason = observed.reason.as_deref().unwrap_or("unknown");
            lines.push(format!(
                "Refused ({reason}): {}.",
                observed.detail.as_deref().unwrap_or("no detail")
            ));
            let detail = observed.detail.as_deref().unwrap_or("");
            lines.push(
                ocsp::explain_revoked(reason, detail)
                    .unwrap_or_else(|| explain_refusal(reason, observed.certificate_refused))
                    .to_owned(),
            );
            for other in &observed.also_refused {
                lines.push(format!("Also: {other}."));
            }
            if observed.attacker_reads == Some(true) {
                let who = adversary.map_or("an adversary", |a| a.name.as_str());
                lines.push(format!("Yet {who} completed a session with a peer that believes it talks to someone else: what that peer sends over it, {who} reads."));
            }
            if let Some(name) = rv.filter(|n| !n.is_empty() && *n != from) {
                lines.push(format!("Meanwhile {to} completed a handshake with a client it authenticated as {name}. That session is bound to {name}: nothing {to} means for {from} goes over it."));
            }
        }
    }
    lines
}

fn send(from: &str, to: &str, observed: &Observed) -> Vec<String> {
    let mut lines = Vec::new();
    lines.push(if observed.delivered == Some(true) && observed.intact == Some(false) {
        format!("{to} accepted a message, but not the one {from} sent: it was changed on the way, and nothing in an unauthenticated cipher lets {to} notice.")
    } else if observed.delivered == Some(true) {
        format!("{to} received {from}'s message exactly once, as sent.")
    } else {
        format!("{to} did not receive the message.")
    });
    if observed.attacker_reads == Some(true) {
        lines.push("The attacker read the plaintext on the way.".to_owned());
    }
    if let Some(reason) = &observed.reason {
        let what = if reason == "no-session" {
            "Nothing was sent"
        } else {
            "A frame was refused"
        };
        lines.push(format!(
            "{what} ({reason}): {}. {}",
            observed.detail.as_deref().unwrap_or(""),
            explain(reason)
        ));
    }
    lines
}

/// Why a refusal matters; a bad signature on a certificate is not a bad
/// signature on the handshake.
pub fn explain_refusal(reason: &str, certificate: bool) -> &'static str {
    if certificate && reason == "bad-signature" {
        return "A signature in the certificate chain does not verify: the certificate was altered, or was not signed by the CA it names as its issuer.";
    }
    explain(reason)
}

fn decrypt(by: &str, observed: &Observed) -> Vec<String> {
    if observed.attacker_reads == Some(true) {
        vec![format!(
            "{by} recomputed a session key from the recording and the stolen long-term key, and read the traffic."
        )]
    } else {
        vec![format!(
            "{by} tried every recorded handshake with the stolen keys and recovered no session key."
        )]
    }
}

fn primitive_names(breaks: &[crate::model::Primitive]) -> String {
    let names: Vec<&str> = breaks
        .iter()
        .map(|p| match p {
            crate::model::Primitive::X25519 => "X25519",
            crate::model::Primitive::MlKem => "ML-KEM-768",
        })
        .collect();
    names.join(" and ")
}

/// The quantum adversary: how the simulation models it, and what it got.
fn decrypt_breaking(
    by: &str,
    breaks: &[crate::model::Primitive],
    observed: &Observed,
) -> Vec<String> {
    let names = primitive_names(breaks);
    let threat = match (
        breaks.contains(&crate::model::Primitive::X25519),
        breaks.contains(&crate::model::Primitive::MlKem),
    ) {
        (true, false) => "a future quantum computer (Shor's algorithm breaks X25519)",
        (false, _) => "a future break of ML-KEM (a flaw found in it or in its implementations)",
        (true, true) => {
            "a future quantum computer that breaks X25519, together with a break of ML-KEM"
        }
    };
    let model = format!(
        "No one can break {names} today, so this is how the simulation models {threat}: it hands {by} the secret keys of {names} from every handshake it recorded, as if {by} had computed them from the public keys on the wire. Everything else {by} does honestly: it recomputes the shared secret, runs the key schedule and tries the keys on the recorded handshake."
    );
    let result = if observed.attacker_reads == Some(true) {
        format!(
            "{by} recomputed a session key and read the recorded traffic: every secret that session's keys came from was in a broken primitive."
        )
    } else {
        format!(
            "{by} recovered no session key: each recorded session's keys also depend on a secret from a primitive that still holds (in a hybrid session, the ML-KEM secret and the X25519 result both enter the key schedule), and without it every key it derives is wrong."
        )
    };
    vec![model, result]
}

/// Why a refusal reason matters, for someone learning PKI.
pub fn explain(reason: &str) -> &'static str {
    match reason {
        "name-mismatch" => {
            "The certificate is genuine, but it names someone other than the peer we meant to reach."
        }
        "unknown-issuer" => {
            "No chain leads from this certificate to a root we trust: anyone can sign a certificate."
        }
        "no-certificate" => {
            "An authenticated mode needs a certificate; without one there is nothing to check."
        }
        "revoked" => "The CA withdrew this certificate, and the current CRL says so.",
        "expired" => {
            "The certificate's validity period is over; its key may no longer be protected."
        }
        "not-yet-valid" => "The certificate's validity period has not begun.",
        "crl-stale" => {
            "The CRL is past its nextUpdate: it cannot vouch that nothing was revoked since."
        }
        "bad-signature" => {
            "The signature over the handshake transcript does not verify with the certificate's key."
        }
        "downgrade" => {
            "Someone asked for a weaker mode than the responder requires; the mode is part of the signed transcript, so the rewrite cannot go unnoticed."
        }
        "replay" => {
            "A record with a counter already used was refused: each record is accepted once."
        }
        "decrypt-failed" => {
            "The record's authentication tag does not verify: it was altered in transit."
        }
        "dropped" => "Encryption protects secrecy and integrity, not delivery.",
        "forbidden" => "The KMS hands a key only to its owner and to identities granted it.",
        "unknown-key" => "The KMS holds no key by that name.",
        "key-state" => {
            "The key's lifecycle state forbids it: an expired or deactivated key protects nothing new, and a suspended or compromised one is not handed out."
        }
        "unauthenticated" => {
            "Over an unauthenticated session the KMS cannot know who is asking, so it gives nothing."
        }
        "no-session" => {
            "A session is bound to the identity verified in its handshake; with no session bound to that name, nothing is sent."
        }
        "out-of-order" => {
            "A record arrived whose counter skips ahead: an earlier record is missing, and the receiver does not accept a later one in its place."
        }
        "mode-mismatch" => "The two sides were configured for different modes.",
        "revocation-unknown" => {
            "No source said whether the certificate was revoked (no current CRL, no answer from the OCSP responder), and this side fails hard: it refuses rather than guess."
        }
        "not-logged" => {
            "This side requires proof that the certificate is in the CA's transparency log, and none came that checks out: a certificate nobody can see in the log is one its subject's monitor could never find."
        }
        "staple-missing" => {
            "This side requires a stapled OCSP response (must-staple); without one an attacker holding a revoked certificate could simply leave the bad news out."
        }
        "staple-stale" => {
            "The stapled OCSP response is past its nextUpdate: it vouches for a moment that is over, and the certificate may have been revoked since."
        }
        "staple-invalid" => {
            "The stapled response does not vouch for this certificate: it is not signed by the certificate's issuer, names another certificate, or says unknown."
        }
        "transcript-mismatch" => {
            "The handshake keys are derived from everything both sides sent, mode included: what this side sent is not what the other side received, so their keys differ and nothing opens. The transcript caught the change."
        }
        "unexpected-message" => {
            "The receiver had no session for this frame: one side believes a handshake finished that the other refused."
        }
        _ => "The protocol refused to continue.",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_certificate_signature_is_not_blamed_on_the_transcript() {
        let chain = explain_refusal("bad-signature", true);
        assert!(chain.contains("certificate chain"), "{chain}");
        assert!(!chain.contains("transcript"), "{chain}");
        let transcript = explain_refusal("bad-signature", false);
        assert!(transcript.contains("transcript"), "{transcript}");
    }
}
