//! Checking steps: each resolves to exactly one action whose names exist,
//! whose expectation fits it, and which can happen at that point.

use std::collections::BTreeSet;

use serde_saphyr::{Location, Spanned};

use super::{Checked, Checker, REASON_IDS, REVOCATION_REASONS, pair};
use crate::duration::SimDuration;
use crate::model::{CipherDoc, ExpectDoc, Outcome, StepDoc};
use crate::script::{Action, Adversary, Expectation, KmsSetup, Step};

impl Checker<'_> {
    pub(super) fn step(
        &self,
        doc: &Spanned<StepDoc>,
        peers: &BTreeSet<&str>,
        adversaries: &[Adversary],
        kms: Option<&KmsSetup>,
        (cert_validity, crl_validity): (SimDuration, SimDuration),
        cas: &[&str],
    ) -> Checked<Step> {
        let at = doc.referenced;
        let s = &doc.value;
        let mut actions = Vec::new();
        if let Some(h) = &s.handshake {
            self.known_peer(at, &h.from, peers)?;
            self.known_peer(at, &h.to, peers)?;
            self.distinct(at, &h.from, &h.to)?;
            if h.cipher == CipherDoc::Aes256CtrUnauthenticated && !self.allow_insecure_cipher {
                return Err(self.err(
                    at,
                    "cipher aes-256-ctr-unauthenticated does not authenticate records: anyone on the path can change them unnoticed",
                    "if showing that is the point of the lesson, set `allow-insecure-cipher: true` at the top of the file",
                ));
            }
            actions.push(Action::Handshake {
                from: h.from.clone(),
                to: h.to.clone(),
                mode: h.mode,
                cipher: h.cipher,
            });
        }
        if let Some(m) = &s.send {
            self.known_peer(at, &m.from, peers)?;
            self.known_peer(at, &m.to, peers)?;
            self.distinct(at, &m.from, &m.to)?;
            actions.push(Action::Send {
                from: m.from.clone(),
                to: m.to.clone(),
                message: m.message.clone(),
            });
        }
        if let Some(d) = &s.advance {
            actions.push(Action::Advance(self.duration(d)?));
        }
        if let Some(i) = &s.issue {
            self.known_peer(at, &i.peer, peers)?;
            let validity = self.optional_duration(i.validity.as_ref(), cert_validity)?;
            let valid_from = self.optional_duration(i.valid_from.as_ref(), SimDuration(0))?;
            self.positive(at, "the certificate's validity", validity)?;
            actions.push(Action::Issue {
                peer: i.peer.clone(),
                validity,
                valid_from,
                keep_key: i.keep_key,
            });
        }
        if let Some(r) = &s.revoke {
            let reason = r.reason.clone().unwrap_or_else(|| "unspecified".into());
            if !REVOCATION_REASONS.contains(&reason.as_str()) {
                return Err(self.err(
                    at,
                    format!("unknown revocation reason '{reason}'"),
                    format!("use one of: {}", REVOCATION_REASONS.join(", ")),
                ));
            }
            match (&r.peer, &r.ca) {
                (Some(peer), None) if r.unrequested => {
                    self.known_peer(at, peer, peers)?;
                    actions.push(Action::RevokeUnrequested {
                        peer: peer.clone(),
                        reason,
                    });
                }
                (None, Some(_)) if r.unrequested => {
                    return Err(self.err(
                        at,
                        "`unrequested` goes with `peer`, not with `ca`",
                        "write revoke: { peer: bob, unrequested: true }",
                    ));
                }
                (Some(peer), None) => {
                    self.known_peer(at, peer, peers)?;
                    actions.push(Action::Revoke {
                        peer: peer.clone(),
                        reason,
                    });
                }
                (None, Some(ca)) if cas.contains(&ca.as_str()) => {
                    actions.push(Action::RevokeCa {
                        ca: ca.clone(),
                        reason,
                    });
                }
                (None, Some(ca)) => {
                    return Err(self.err(
                        at,
                        format!("'{ca}' is not an intermediate CA of this PKI"),
                        format!(
                            "name one of pki.intermediates (known: {}); the root has no issuer to revoke it",
                            super::list(cas.iter().copied())
                        ),
                    ));
                }
                _ => {
                    return Err(self.err(
                        at,
                        "revoke names both or neither of `peer` and `ca`",
                        "write revoke: { peer: bob } or revoke: { ca: Example Issuing CA }",
                    ));
                }
            }
        }
        if let Some(p) = &s.publish_crl {
            actions.push(Action::PublishCrl {
                validity: self.optional_duration(p.validity.as_ref(), crl_validity)?,
            });
        }
        if let Some(c) = &s.compromise {
            self.known_peer(at, &c.peer, peers)?;
            self.known_adversary(at, &c.to, adversaries)?;
            actions.push(Action::Compromise {
                peer: c.peer.clone(),
                to: c.to.clone(),
            });
        }
        if let Some(d) = &s.decrypt_recorded {
            self.known_adversary(at, &d.by, adversaries)?;
            actions.push(Action::DecryptRecorded {
                by: d.by.clone(),
                breaks: d.breaks.clone(),
            });
        }
        if let Some(w) = &s.handshakes {
            if !(1..=super::MAX_HANDSHAKES).contains(&w.count.value) {
                return Err(self.err(
                    w.count.referenced,
                    format!("handshakes.count is {}", w.count.value),
                    format!("ask for between 1 and {} handshakes", super::MAX_HANDSHAKES),
                ));
            }
            actions.push(Action::Handshakes {
                count: w.count.value,
                pairs: w.pairs,
                mode: w.mode,
            });
        }
        if let Some(f) = &s.fetch_key {
            let kms = self.kms_for(at, kms, &f.key)?;
            self.known_peer(at, &f.peer, peers)?;
            if f.peer == kms.name {
                return Err(self.err(at, "the KMS node cannot fetch from itself", "name a peer"));
            }
            actions.push(Action::FetchKey {
                peer: f.peer.clone(),
                key: f.key.clone(),
            });
        }
        if let Some(r) = &s.rotate_key {
            self.kms_for(at, kms, &r.key)?;
            actions.push(Action::RotateKey { key: r.key.clone() });
        }
        if let Some(r) = &s.remove_member {
            let kms = self.kms_for(at, kms, &r.key)?;
            self.known_peer(at, &r.peer, peers)?;
            let members = kms
                .keys
                .iter()
                .find(|k| k.name == r.key)
                .map(|k| k.members.as_slice())
                .unwrap_or_default();
            if !members.contains(&r.peer) {
                return Err(self.err(
                    at,
                    format!("'{}' is not a member of key '{}'", r.peer, r.key),
                    format!(
                        "members: {}",
                        super::list(members.iter().map(String::as_str))
                    ),
                ));
            }
            actions.push(Action::RemoveMember {
                key: r.key.clone(),
                peer: r.peer.clone(),
            });
        }
        actions.extend(self.ocsp_actions(at, s, adversaries)?);
        actions.extend(self.transparency_actions(at, s, peers, adversaries)?);
        let action = match actions.len() {
            1 => actions.remove(0),
            0 => return Err(self.err(at, "this step does nothing", "give it one action: handshake, send, advance, issue, revoke, publish-crl, compromise, decrypt-recorded, handshakes, fetch-key, rotate-key, remove-member, block, read-ocsp-log, rogue-issuance, split-view or gossip (write `publish-crl: {}` when it takes no options)")),
            _ => return Err(self.err(at, format!("this step has {} actions", actions.len()), "split it: one action per step")),
        };
        let expect = match &s.expect {
            Some(e) => self.expectation(e, &action)?,
            None => Expectation::default(),
        };
        Ok(Step {
            line: at.line(),
            action,
            expect,
            note: s.note.clone(),
        })
    }

    /// The KMS node, which must exist and hold `key`.
    fn kms_for<'k>(
        &self,
        at: Location,
        kms: Option<&'k KmsSetup>,
        key: &str,
    ) -> Checked<&'k KmsSetup> {
        let Some(kms) = kms else {
            return Err(self.err(
                at,
                "a key step needs a KMS node",
                "declare one: kms: { keys: [{ name: team, members: [alice, bob] }] }",
            ));
        };
        if !kms.keys.iter().any(|k| k.name == key) {
            let names: Vec<&str> = kms.keys.iter().map(|k| k.name.as_str()).collect();
            return Err(self.err(
                at,
                format!("unknown group key '{key}'"),
                format!(
                    "declare it under kms.keys (known: {})",
                    super::list(names.into_iter())
                ),
            ));
        }
        Ok(kms)
    }

    fn distinct(&self, at: Location, from: &str, to: &str) -> Checked<()> {
        if from == to {
            return Err(self.err(
                at,
                format!("'{from}' cannot talk to itself"),
                "name two different peers",
            ));
        }
        Ok(())
    }

    pub(super) fn expectation(
        &self,
        doc: &Spanned<ExpectDoc>,
        action: &Action,
    ) -> Checked<Expectation> {
        let at = doc.referenced;
        let e = &doc.value;
        let allowed: &[&str] = match action {
            Action::Handshake { .. } => &["outcome", "reason", "attacker_reads"],
            Action::Send { .. } => &["delivered", "reason", "attacker_reads", "intact"],
            Action::DecryptRecorded { .. } => &["attacker_reads"],
            Action::Handshakes { .. } => &["established"],
            Action::FetchKey { .. } => &["delivered", "reason", "attacker_reads", "version"],
            Action::RotateKey { .. } | Action::RemoveMember { .. } => &["version", "reason"],
            Action::Advance(_) => &["reason", "detected"],
            Action::Gossip { .. } => &["detected"],
            Action::ReadOcspLog { .. } => &["attacker_reads"],
            _ => &[],
        };
        let given = [
            ("outcome", e.outcome.is_some()),
            ("reason", e.reason.is_some()),
            ("attacker_reads", e.attacker_reads.is_some()),
            ("delivered", e.delivered.is_some()),
            ("established", e.established.is_some()),
            ("version", e.version.is_some()),
            ("intact", e.intact.is_some()),
            ("detected", e.detected.is_some()),
        ];
        for (key, present) in given {
            if present && !allowed.contains(&key) {
                let help = if allowed.is_empty() {
                    "this kind of step has nothing to expect: remove `expect:`".to_owned()
                } else {
                    format!(
                        "a {} step can expect: {}",
                        action.keyword(),
                        allowed.join(", ")
                    )
                };
                return Err(self.err(
                    at,
                    format!("`{key}` cannot be expected of a {} step", action.keyword()),
                    help,
                ));
            }
        }
        if let Some(reason) = &e.reason {
            if !REASON_IDS.contains(&reason.as_str()) {
                return Err(self.err(
                    at,
                    format!("unknown reason '{reason}'"),
                    format!("use one of: {}", REASON_IDS.join(", ")),
                ));
            }
            // A send may be delivered while a copy is refused (a replay), so
            // only an established handshake rules a reason out.
            if e.outcome == Some(Outcome::Established) {
                return Err(self.err(
                    at,
                    format!("reason '{reason}' contradicts `outcome: established`"),
                    "a handshake reason goes with `outcome: rejected`",
                ));
            }
        }
        Ok(Expectation {
            outcome: e.outcome,
            reason: e.reason.clone(),
            attacker_reads: e.attacker_reads,
            delivered: e.delivered,
            established: e.established,
            version: e.version,
            intact: e.intact,
            detected: e.detected,
        })
    }

    /// Steps that cannot happen in this order: a message before any
    /// handshake between the two peers, a key fetch before any handshake
    /// with the KMS node.
    pub(super) fn possible(
        &self,
        at: Location,
        action: &Action,
        kms: Option<&KmsSetup>,
        sessions: &mut BTreeSet<(String, String)>,
    ) -> Checked<()> {
        if let (Action::FetchKey { peer, .. }, Some(kms)) = (action, kms)
            && !sessions.contains(&pair(peer, &kms.name))
        {
            return Err(self.err(
                at,
                format!(
                    "'{peer}' fetches a key before any handshake with '{}'",
                    kms.name
                ),
                format!(
                    "add a handshake step: handshake: {{ from: {peer}, to: {} }}",
                    kms.name
                ),
            ));
        }
        match action {
            Action::Handshake { from, to, .. } => {
                sessions.insert(pair(from, to));
            }
            Action::Send { from, to, .. } if !sessions.contains(&pair(from, to)) => {
                return Err(self.err(
                    at,
                    format!("'{from}' sends to '{to}' before any handshake between them"),
                    "add a handshake step between them first",
                ));
            }
            _ => {}
        }
        Ok(())
    }
}
