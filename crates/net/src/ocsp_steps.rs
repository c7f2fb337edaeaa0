//! Revocation status on the network: the OCSP responder node, peers that
//! ask it during a handshake, peers that staple its answer for their own
//! certificate, an adversary that makes it unreachable, an adversary that
//! reads its log, and delta CRLs on the CA's schedule.

use pkilab_peer::wire::{self, Message};
use pkilab_peer::{OcspConfig, PeerStatus};
use pkilab_verify::OcspEntry;
use rand_core::RngCore;
use time::Duration;

use crate::error::NetError;
use crate::intercept::Frame;
use crate::network::Network;
use crate::ocsp_node::{OcspNode, Query};
use crate::pki::Revocation;
use crate::trace::{Event, Fate};
use pkilab_ca::ocsp_request::{request_for, requested_serial, response_status};

/// A stapled response and its validity (Unix seconds).
#[derive(Clone, Debug)]
pub(crate) struct Staple {
    der: Vec<u8>,
    this_update: i64,
    next_update: Option<i64>,
}

/// The OCSP side of a peer's node for its revocation policy.
pub(crate) fn ocsp_config(revocation: Revocation) -> OcspConfig {
    match revocation {
        Revocation::Ocsp { soft_fail } => OcspConfig {
            staple: None,
            peer_status: PeerStatus::Fetched(None),
            soft_fail,
        },
        Revocation::OcspStaple { soft_fail } => OcspConfig {
            staple: None,
            peer_status: PeerStatus::Stapled,
            soft_fail,
        },
        Revocation::Hard | Revocation::Soft | Revocation::None => OcspConfig::default(),
    }
}

impl Network {
    /// Adds the OCSP responder node `name` for the issuing CA; its
    /// responses are valid for `validity`.
    pub fn add_ocsp_responder(&mut self, name: &str, validity: Duration) -> Result<(), NetError> {
        if self.ocsp.is_some() {
            return Err(NetError::Duplicate(format!(
                "{name} (a second OCSP responder)"
            )));
        }
        if self.peers.contains_key(name) || self.adversaries.iter().any(|a| a.name == name) {
            return Err(NetError::Duplicate(name.to_owned()));
        }
        let (issuer, key) = self.pki.responder_key()?;
        self.ocsp = Some(OcspNode::new(name, &issuer, key, validity)?);
        Ok(())
    }

    /// The CA publishes a delta CRL every `every` after each complete CRL.
    pub fn schedule_delta_crls(&mut self, every: Duration) {
        self.pki.schedule_delta_crls(every);
    }

    /// Publishes the delta CRL due now, if one is, and says so.
    pub(crate) fn publish_due_delta(&mut self) -> Result<(), NetError> {
        if let Some(at) = self.pki.publish_due_delta(self.now)? {
            self.trace.push(Event::Note {
                at: at.unix_timestamp(),
                text: format!(
                    "the CA published a delta CRL at {}",
                    pkilab_verify::rfc3339(at)
                ),
            });
        }
        Ok(())
    }

    /// Every query the OCSP responder answered, in order.
    pub fn ocsp_log(&self) -> &[Query] {
        self.ocsp.as_ref().map_or(&[], |o| o.log.as_slice())
    }

    /// `adversary` makes the OCSP responder unreachable: it drops every
    /// frame to and from it from now on.
    pub fn block_ocsp(&mut self, adversary: &str) -> Result<(), NetError> {
        self.adversary_mut(adversary)?;
        let at = self.now.unix_timestamp();
        let node = self.ocsp.as_mut().ok_or(NetError::NoOcspResponder)?;
        node.blocked_by = Some(adversary.to_owned());
        let name = node.name.clone();
        self.trace.push(Event::Note {
            at,
            text: format!("{adversary} drops every frame to and from {name}"),
        });
        Ok(())
    }

    /// `adversary` reads the OCSP responder's log; returns how many
    /// queries show one node asking about another's certificate (who
    /// talks to whom).
    pub fn read_ocsp_log(&mut self, adversary: &str) -> Result<usize, NetError> {
        self.adversary_mut(adversary)?;
        let at = self.now.unix_timestamp();
        let node = self.ocsp.as_ref().ok_or(NetError::NoOcspResponder)?;
        let revealing: Vec<String> = node
            .log
            .iter()
            .filter_map(|q| {
                let about = q.about.as_deref().filter(|about| *about != q.asker)?;
                let when = time::OffsetDateTime::from_unix_timestamp(q.at)
                    .map_or_else(|_| q.at.to_string(), pkilab_verify::rfc3339);
                Some(format!(
                    "{} asked about {about}'s certificate at {when}: {} is about to talk to {about}",
                    q.asker, q.asker
                ))
            })
            .collect();
        let count = revealing.len();
        let entries = node.log.len();
        for text in revealing {
            self.trace.push(Event::AttackerRead {
                at,
                adversary: adversary.to_owned(),
                text,
            });
        }
        self.trace.push(Event::Note {
            at,
            text: format!(
                "{adversary} read {entries} queries in the responder's log; {count} show who talks to whom"
            ),
        });
        Ok(count)
    }

    /// A node paused a handshake to ask the responder about `chain`'s
    /// leaf: it asks, then goes on with the answer.
    pub(crate) fn ask_responder(&mut self, frame: &Frame, chain: &[Vec<u8>]) {
        let response = self.exchange(&frame.to, chain);
        let outputs = match self.peers.get_mut(&frame.to) {
            Some(peer) => peer.node.resume(&frame.from, response),
            None => return,
        };
        self.outputs(frame, outputs);
    }

    /// `asker` sends an OCSP request about `chain`'s leaf to the responder
    /// and gets its answer back, both across the link (a blocked responder
    /// answers nothing).
    fn exchange(&mut self, asker: &str, chain: &[Vec<u8>]) -> Option<Vec<u8>> {
        let responder = self.ocsp.as_ref()?.name.clone();
        let leaf = chain.first()?;
        let issuer = chain
            .get(1)
            .cloned()
            .unwrap_or_else(|| self.pki.issuing_certificate().to_vec());
        let mut nonce = [0u8; 16];
        self.rng.fill_bytes(&mut nonce);
        let request = request_for(leaf, &issuer, nonce)?;
        let bytes = wire::encode(&Message::OcspRequest(request.clone()));
        self.ocsp_hop(asker, &responder, bytes)?;
        let (now, pki) = (self.now, &self.pki);
        let node = self.ocsp.as_mut()?;
        let lookup = |serial: &pkilab_ca::Serial| pki.state_of(serial, now);
        let holder = |serial: &pkilab_ca::Serial| pki.holder_of(serial);
        let response = node.answer(asker, &request, now, &lookup, &holder);
        let bytes = wire::encode(&Message::OcspResponse(response.clone()));
        self.ocsp_hop(&responder, asker, bytes)?;
        Some(response)
    }

    /// One frame to or from the responder: traced, and dropped when an
    /// adversary blocks the responder.
    fn ocsp_hop(&mut self, from: &str, to: &str, bytes: Vec<u8>) -> Option<()> {
        let frame = Frame {
            from: from.to_owned(),
            to: to.to_owned(),
            bytes,
        };
        let blocked_by = self.ocsp.as_ref()?.blocked_by.clone();
        match blocked_by {
            Some(by) => {
                self.frame_event(&frame, Fate::Dropped, Some(&by));
                None
            }
            None => {
                self.frame_event(&frame, Fate::Delivered, None);
                Some(())
            }
        }
    }

    /// A stapling peer fetches a fresh response for its own certificate
    /// when it has none, or when the one it has is past half its validity
    /// (as servers refresh their staples ahead of expiry). Failing that,
    /// it keeps what it has.
    pub(crate) fn refresh_staple(&mut self, peer: &str) -> Result<(), NetError> {
        let p = self.peer(peer)?;
        if !matches!(p.revocation, Revocation::OcspStaple { .. }) || self.ocsp.is_none() {
            return Ok(());
        }
        let now = self.now.unix_timestamp();
        let fresh = p.staple.as_ref().is_some_and(|s| match s.next_update {
            Some(next) => now < s.this_update + (next - s.this_update) / 2,
            None => false,
        });
        if fresh {
            return Ok(());
        }
        let chain = p.node.identity.chain.clone();
        let Some(der) = self.exchange(peer, &chain) else {
            return Ok(());
        };
        let Some((this_update, next_update)) =
            OcspEntry::from_der(&der).ok().and_then(|e| e.validity())
        else {
            return Ok(());
        };
        let entry = self.peer_mut(peer)?;
        entry.node.ocsp.staple = Some(der.clone());
        entry.staple = Some(Staple {
            der,
            this_update,
            next_update,
        });
        Ok(())
    }

    /// A short label for an OCSP frame: whose certificate, which status.
    pub(crate) fn ocsp_label(&self, message: &Message) -> Option<String> {
        match message {
            Message::OcspRequest(der) => {
                let about = requested_serial(der).and_then(|s| self.pki.holder_of(&s));
                Some(match about {
                    Some(name) => format!("OCSP request: {name}'s certificate?"),
                    None => "OCSP request".to_owned(),
                })
            }
            Message::OcspResponse(der) => Some(format!(
                "OCSP response: {}",
                response_status(der).unwrap_or("unreadable")
            )),
            _ => None,
        }
    }

    /// The staple `peer` holds (DER), if any.
    pub fn staple_of(&self, peer: &str) -> Option<&[u8]> {
        self.peers
            .get(peer)?
            .staple
            .as_ref()
            .map(|s| s.der.as_slice())
    }
}

impl Network {
    /// The latest delta CRL's thisUpdate and nextUpdate, if one was
    /// published since the last complete CRL.
    pub fn delta_crl_window(&self) -> Option<(time::OffsetDateTime, time::OffsetDateTime)> {
        self.pki.delta_window()
    }
}
