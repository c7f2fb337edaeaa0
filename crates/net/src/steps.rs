//! What a scenario step does to the network, and what it observed.

use pkilab_peer::recorded::attempt_decrypt;
use pkilab_peer::{Identity, Mode};
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
    /// An adversary holds session keys with the initiator: it will read
    /// what the initiator sends.
    pub attacker_reads: bool,
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
}

impl Network {
    fn first_refusal(&self, since: usize) -> Option<Refusal> {
        self.trace[since..].iter().find_map(|e| {
            e.refusal().map(|(by, reason, detail)| Refusal {
                by: by.to_owned(),
                reason: reason.to_owned(),
                detail: detail.to_owned(),
            })
        })
    }

    fn established_by(&self, since: usize, node: &str) -> bool {
        self.trace[since..]
            .iter()
            .any(|e| matches!(e, Event::Established { node: n, .. } if n == node))
    }

    /// `from` opens a handshake with `to`; both are configured for `mode`.
    pub fn handshake(
        &mut self,
        from: &str,
        to: &str,
        mode: Mode,
    ) -> Result<HandshakeReport, NetError> {
        self.peer(from)?;
        self.peer_mut(to)?.node.required_mode = mode;
        let since = self.trace.len();
        let validator = self.pki.validator();
        let at = self.now;
        let mut env = crate::node::Env {
            validator: &validator,
            at,
            rng: &mut self.rng,
        };
        let m1 = self
            .peers
            .get_mut(from)
            .ok_or_else(|| NetError::UnknownPeer(from.to_owned()))?
            .node
            .initiate(to, mode, &mut env);
        self.send_frame(from, to, m1);
        self.run();
        let refused = self.first_refusal(since);
        let established =
            refused.is_none() && self.established_by(since, from) && self.established_by(since, to);
        let attacker_reads = self
            .adversaries
            .iter()
            .any(|a| a.interceptor.holds_session_with(from));
        Ok(HandshakeReport {
            established,
            refused,
            attacker_reads,
        })
    }

    /// `from` sends `message` over its session with `to`.
    pub fn send(&mut self, from: &str, to: &str, message: &str) -> Result<SendReport, NetError> {
        self.peer(to)?;
        let since = self.trace.len();
        let Some(frame) = self.peer_mut(from)?.node.seal(to, message.as_bytes()) else {
            let refused = Refusal {
                by: from.to_owned(),
                reason: "no-session".to_owned(),
                detail: format!("{from} has no session with {to}"),
            };
            return Ok(SendReport {
                delivered: false,
                refused: Some(refused),
                attacker_reads: false,
            });
        };
        self.send_frame(from, to, frame);
        self.run();
        let deliveries = self.trace[since..]
            .iter()
            .filter(|e| matches!(e, Event::Delivered { to: t, .. } if t == to))
            .count();
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
            });
        }
        Ok(SendReport {
            delivered: deliveries == 1,
            refused,
            attacker_reads,
        })
    }

    /// Hands `peer`'s long-term keys to `adversary`.
    pub fn compromise(&mut self, peer: &str, adversary: &str) -> Result<(), NetError> {
        let identity: Identity = (*self.peer(peer)?.node.identity).clone();
        let at = self.now.unix_timestamp();
        self.adversary_mut(adversary)?.stolen.push(identity);
        self.trace.push(Event::Note {
            at,
            text: format!("{adversary} now holds {peer}'s long-term keys"),
        });
        Ok(())
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
