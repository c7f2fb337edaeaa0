//! What a scenario step does to the network, and what it observed.

use pkilab_peer::escrow::{Broken, Oracle};
use pkilab_peer::recorded::{attempt_decrypt, attempt_with_oracle};
use pkilab_peer::{Cipher, Identity, Mode};
use serde::Serialize;

use crate::error::NetError;
use crate::network::Network;
use crate::trace::Event;

/// The outcome of one handshake.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct HandshakeReport {
    /// Both ends established a session.
    pub established: bool,
    /// The first refusal: who refused, the reason id, and the detail.
    pub refused: Option<Refusal>,
    /// During this step an adversary completed a session with a peer that
    /// believes it talks to someone else, or a passive adversary's stolen
    /// keys recompute the session's keys: it reads what is sent over it.
    pub attacker_reads: bool,
    /// Whom the initiator authenticated (`Some("")`: an anonymous
    /// session; `None`: it established nothing).
    pub initiator_verified: Option<String>,
    /// Whom the responder authenticated, likewise.
    pub responder_verified: Option<String>,
    /// Refusals after the first, in order (the other end may refuse too).
    pub more_refusals: Vec<Refusal>,
}

/// A refusal seen during a step.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The node that refused.
    pub by: String,
    /// The reason id.
    pub reason: String,
    /// What exactly.
    pub detail: String,
    /// The validator refused a certificate chain (rather than a check of
    /// the handshake or a record failing).
    pub certificate: bool,
}

/// The outcome of one message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SendReport {
    /// The receiver's application got it (exactly once).
    pub delivered: bool,
    /// The first refusal of a frame during the step.
    pub refused: Option<Refusal>,
    /// An adversary read the plaintext.
    pub attacker_reads: bool,
    /// What the receiver got is exactly what was sent (`false` also when
    /// nothing arrived).
    pub intact: bool,
}

impl Network {
    /// The first refusal in the trace since event `since`.
    pub fn refusal_since(&self, since: usize) -> Option<Refusal> {
        self.first_refusal(since)
    }

    pub(crate) fn first_refusal(&self, since: usize) -> Option<Refusal> {
        self.refusals(since).into_iter().next()
    }

    /// Every refusal in the trace since event `since`, in order.
    pub(crate) fn refusals(&self, since: usize) -> Vec<Refusal> {
        self.trace[since..]
            .iter()
            .filter_map(|e| match e {
                Event::Refused {
                    node,
                    reason,
                    detail,
                    certificate,
                    ..
                } => Some(Refusal {
                    by: node.clone(),
                    reason: reason.clone(),
                    detail: detail.clone(),
                    certificate: *certificate,
                }),
                _ => None,
            })
            .collect()
    }

    fn established_by(&self, since: usize, node: &str) -> bool {
        self.verified_by(since, node).is_some()
    }

    /// Whom `node` authenticated in a handshake since `since` (`""` for an
    /// anonymous session).
    fn verified_by(&self, since: usize, node: &str) -> Option<String> {
        self.trace[since..].iter().rev().find_map(|e| match e {
            Event::Established {
                node: n, verified, ..
            } if n == node => Some(verified.clone().unwrap_or_default()),
            _ => None,
        })
    }

    /// Whether, since `since`, an adversary completed a session with one
    /// of `peers` that established a session believing it talks to someone
    /// other than that adversary.
    fn adversary_in_session(&self, since: usize, peers: [&str; 2]) -> bool {
        self.trace[since..].iter().any(|e| match e {
            Event::AttackerSession {
                adversary, with, ..
            } if peers.contains(&with.as_str()) => self
                .verified_by(since, with)
                .is_some_and(|believed| believed != *adversary),
            _ => false,
        })
    }

    /// `from` opens a handshake with `to`; both are configured for `mode`.
    pub fn handshake(
        &mut self,
        from: &str,
        to: &str,
        mode: Mode,
    ) -> Result<HandshakeReport, NetError> {
        self.handshake_with(from, to, mode, Cipher::Aes256Gcm)
    }

    /// A handshake whose sessions protect records with `cipher` (both
    /// sides configured for it).
    pub fn handshake_with(
        &mut self,
        from: &str,
        to: &str,
        mode: Mode,
        cipher: Cipher,
    ) -> Result<HandshakeReport, NetError> {
        self.peer_mut(from)?.node.cipher = cipher;
        let responder = &mut self.peer_mut(to)?.node;
        responder.required_mode = mode;
        responder.cipher = cipher;
        let since = self.trace.len();
        self.refresh_staple(from)?;
        self.refresh_staple(to)?;
        let validator = self.validator_for(from);
        let at = self.now;
        let mut env = crate::node::Env {
            validator: &validator,
            at,
            rng: &mut self.rng,
            escrow: self.record_frames.then_some(&mut self.escrow),
        };
        let m1 = self
            .peers
            .get_mut(from)
            .ok_or_else(|| NetError::UnknownPeer(from.to_owned()))?
            .node
            .initiate(to, mode, &mut env);
        let recorded: Vec<usize> = self.adversaries.iter().map(|a| a.recording.len()).collect();
        self.send_frame(from, to, m1);
        self.run();
        let refused = self.first_refusal(since);
        let established =
            refused.is_none() && self.established_by(since, from) && self.established_by(since, to);
        let attacker_reads = self.adversary_in_session(since, [from, to])
            || (established && self.keys_recomputed(&recorded));
        Ok(HandshakeReport {
            established,
            refused,
            attacker_reads,
            initiator_verified: self.verified_by(since, from),
            responder_verified: self.verified_by(since, to),
            more_refusals: self.refusals(since).into_iter().skip(1).collect(),
        })
    }

    /// `from` sends `message` over its session with `to`.
    pub fn send(&mut self, from: &str, to: &str, message: &str) -> Result<SendReport, NetError> {
        self.peer(to)?;
        let since = self.trace.len();
        let Some((link, frame)) = self.peer_mut(from)?.node.seal_to(to, message.as_bytes()) else {
            let refused = Refusal {
                by: from.to_owned(),
                reason: "no-session".to_owned(),
                detail: self.no_session(from, to),
                certificate: false,
            };
            return Ok(SendReport {
                delivered: false,
                refused: Some(refused),
                attacker_reads: false,
                intact: false,
            });
        };
        self.send_frame(from, &link, frame);
        self.run();
        let digests: Vec<&str> = self.trace[since..]
            .iter()
            .filter_map(|e| match e {
                Event::Delivered { to: t, digest, .. } if *t == link => Some(digest.as_str()),
                _ => None,
            })
            .collect();
        let deliveries = digests.len();
        let intact = deliveries == 1 && digests[0] == crate::trace::digest(message.as_bytes());
        let attacker_reads = self.trace[since..]
            .iter()
            .any(|e| matches!(e, Event::AttackerRead { .. }));
        let mut refused = self.first_refusal(since);
        if deliveries == 0 && refused.is_none() {
            let by = self.trace[since..].iter().find_map(|e| match e {
                Event::Frame {
                    fate: crate::trace::Fate::Dropped,
                    by: Some(by),
                    ..
                } => Some(by.clone()),
                _ => None,
            });
            refused = by.map(|by| Refusal {
                by,
                reason: "dropped".to_owned(),
                detail: "the frame never arrived".to_owned(),
                certificate: false,
            });
        }
        Ok(SendReport {
            delivered: deliveries == 1,
            refused,
            attacker_reads,
            intact,
        })
    }

    /// Whether a passive adversary's stolen keys recompute the keys of a
    /// handshake it recorded since its recording had `recorded[i]` frames.
    fn keys_recomputed(&self, recorded: &[usize]) -> bool {
        self.adversaries.iter().zip(recorded).any(|(a, &from)| {
            a.interceptor.passive()
                && a.stolen.iter().any(|id| {
                    attempt_decrypt(&a.recording[from.min(a.recording.len())..], id).opened > 0
                })
        })
    }

    /// Why `from` has no session bound to `to`.
    pub(crate) fn no_session(&self, from: &str, to: &str) -> String {
        let other = self
            .peers
            .get(from)
            .and_then(|p| p.node.bound_on(to))
            .filter(|name| *name != to);
        match other {
            Some(name) => format!(
                "{from} holds no session with a peer verified as {to}: its session on the link to {to} is with {name}, and {from} will not send {to}'s messages to {name}"
            ),
            None => format!(
                "{from} holds no session with {to}: its handshake was refused or never made"
            ),
        }
    }

    /// Hands `peer`'s long-term keys, with its current certificate, to
    /// `adversary`. An active adversary presents them from now on.
    pub fn compromise(&mut self, peer: &str, adversary: &str) -> Result<(), NetError> {
        let identity: Identity = (*self.peer(peer)?.node.identity).clone();
        let at = self.now.unix_timestamp();
        let installed = self.adversary_mut(adversary)?;
        installed.interceptor.arm(&identity);
        installed.stolen.push(identity);
        self.trace.push(Event::Note {
            at,
            text: format!("{adversary} now holds {peer}'s long-term keys"),
        });
        Ok(())
    }

    /// `adversary`, assumed to break the primitives in `broken` (a future
    /// quantum computer breaks X25519), tries to decrypt its recording. No
    /// such break exists, so the simulator hands it the secrets it keeps of
    /// the broken primitives (every peer's long-term X25519 key and the
    /// ephemeral secrets of the handshakes it ran); the adversary then
    /// recomputes keys honestly and reads what opens. Returns how many
    /// plaintexts it read.
    pub fn decrypt_recorded_breaking(
        &mut self,
        adversary: &str,
        broken: Broken,
    ) -> Result<usize, NetError> {
        let at = self.now.unix_timestamp();
        for peer in self.peers.values() {
            self.escrow.keep_static(&peer.node.identity);
        }
        let installed = self
            .adversaries
            .iter()
            .find(|a| a.name == adversary)
            .ok_or_else(|| NetError::UnknownAdversary(adversary.to_owned()))?;
        let recovered =
            attempt_with_oracle(&installed.recording, &Oracle::new(&self.escrow, broken));
        let name = installed.name.clone();
        self.trace.push(Event::Note {
            at,
            text: format!(
                "{name} is assumed to break {}: the simulator hands it those secrets of the {} recorded handshake(s), as a future quantum computer would compute them",
                broken.ids().join(" and "),
                recovered.handshakes
            ),
        });
        let count = recovered.plaintexts.len();
        for text in &recovered.plaintexts {
            self.trace.push(Event::AttackerRead {
                at,
                adversary: name.clone(),
                text: String::from_utf8_lossy(text).into_owned(),
            });
        }
        Ok(count)
    }

    /// `adversary` tries to decrypt its recording with every key it stole;
    /// returns how many plaintexts it read.
    pub fn decrypt_recorded(&mut self, adversary: &str) -> Result<usize, NetError> {
        let at = self.now.unix_timestamp();
        let installed = self.adversary_mut(adversary)?;
        let mut texts = Vec::new();
        for identity in &installed.stolen {
            let recovered = attempt_decrypt(&installed.recording, identity);
            texts.extend(
                recovered
                    .plaintexts
                    .iter()
                    .map(|p| String::from_utf8_lossy(p).into_owned()),
            );
        }
        let name = installed.name.clone();
        let count = texts.len();
        for text in texts {
            self.trace.push(Event::AttackerRead {
                at,
                adversary: name.clone(),
                text,
            });
        }
        Ok(count)
    }
}
