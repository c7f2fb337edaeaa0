//! The network: named peers, links with ordered interceptors, a simulated
//! clock that only the caller advances, and one seeded generator for every
//! random choice. Frames are processed from a single FIFO queue, so the
//! same seed always gives the same trace.

use std::collections::{BTreeMap, VecDeque};

use pkilab_ca::{RevocationReason, Serial};
use pkilab_peer::{Identity, PeerIdentity};
use rand_chacha::ChaCha20Rng;
use rand_core::SeedableRng;
use time::{Duration, OffsetDateTime};

use crate::error::NetError;
use crate::intercept::{Context, Frame, Interceptor, Verdict};
use crate::node::{Env, Node, Output};
use crate::pki::{PkiSpec, SimPki};
use crate::trace::{Event, Fate};

pub(crate) struct Peer {
    pub node: Node,
    pub serial: Serial,
}

/// An adversary installed on a link, with what it recorded and stole.
pub(crate) struct Installed {
    pub name: String,
    pub link: (String, String),
    pub interceptor: Box<dyn Interceptor>,
    pub recording: Vec<Vec<u8>>,
    pub stolen: Vec<Identity>,
}

/// A simulated network.
pub struct Network {
    pub(crate) now: OffsetDateTime,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) pki: SimPki,
    pub(crate) peers: BTreeMap<String, Peer>,
    pub(crate) adversaries: Vec<Installed>,
    pub(crate) trace: Vec<Event>,
    /// Per-frame events are skipped during workloads.
    pub(crate) record_frames: bool,
    queue: VecDeque<Frame>,
    delayed: Vec<(OffsetDateTime, Frame)>,
    /// The key-management node, if the network has one.
    pub(crate) kms: Option<crate::kms_node::KmsNode>,
}

impl std::fmt::Debug for Network {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Network")
            .field("now", &self.now)
            .field("peers", &self.peers.len())
            .finish_non_exhaustive()
    }
}

fn same_link(link: &(String, String), a: &str, b: &str) -> bool {
    (link.0 == a && link.1 == b) || (link.0 == b && link.1 == a)
}

impl Network {
    /// A network at `start` whose randomness all comes from `seed`.
    pub fn new(seed: u64, start: OffsetDateTime, pki: PkiSpec) -> Result<Network, NetError> {
        let mut rng = ChaCha20Rng::seed_from_u64(seed);
        let pki = SimPki::new(pki, start, &mut rng)?;
        Ok(Network {
            now: start,
            rng,
            pki,
            peers: BTreeMap::new(),
            adversaries: Vec::new(),
            trace: Vec::new(),
            record_frames: true,
            queue: VecDeque::new(),
            delayed: Vec::new(),
            kms: None,
        })
    }

    /// Simulated now.
    pub fn now(&self) -> OffsetDateTime {
        self.now
    }

    /// Every event so far.
    pub fn trace(&self) -> &[Event] {
        &self.trace
    }

    /// Adds a peer with fresh keys and a certificate from the issuing CA.
    pub fn add_peer(&mut self, name: &str) -> Result<(), NetError> {
        if self.peers.contains_key(name) || self.adversaries.iter().any(|a| a.name == name) {
            return Err(NetError::Duplicate(name.to_owned()));
        }
        let mut identity = Identity::generate(name, &mut self.rng);
        let serial = self.pki.certify(
            &mut identity,
            name,
            self.now,
            Duration::ZERO,
            None,
            &mut self.rng,
        )?;
        self.peers.insert(
            name.to_owned(),
            Peer {
                node: Node::new(identity),
                serial,
            },
        );
        Ok(())
    }

    /// Installs an interceptor on the link between `a` and `b`, after any
    /// already there.
    pub fn install(
        &mut self,
        name: &str,
        a: &str,
        b: &str,
        interceptor: Box<dyn Interceptor>,
    ) -> Result<(), NetError> {
        for end in [a, b] {
            self.peer(end)?;
        }
        if self.peers.contains_key(name) || self.adversaries.iter().any(|x| x.name == name) {
            return Err(NetError::Duplicate(name.to_owned()));
        }
        self.adversaries.push(Installed {
            name: name.to_owned(),
            link: (a.to_owned(), b.to_owned()),
            interceptor,
            recording: Vec::new(),
            stolen: Vec::new(),
        });
        Ok(())
    }

    pub(crate) fn peer(&self, name: &str) -> Result<&Peer, NetError> {
        self.peers
            .get(name)
            .ok_or_else(|| NetError::UnknownPeer(name.to_owned()))
    }

    pub(crate) fn peer_mut(&mut self, name: &str) -> Result<&mut Peer, NetError> {
        self.peers
            .get_mut(name)
            .ok_or_else(|| NetError::UnknownPeer(name.to_owned()))
    }

    pub(crate) fn adversary_mut(&mut self, name: &str) -> Result<&mut Installed, NetError> {
        self.adversaries
            .iter_mut()
            .find(|a| a.name == name)
            .ok_or_else(|| NetError::UnknownAdversary(name.to_owned()))
    }

    /// Moves the clock; frames delayed until then are delivered.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        let now = self.now;
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|(at, _)| *at <= now);
        self.delayed = later;
        for (_, frame) in due {
            self.deliver(frame);
        }
        self.run();
    }

    /// A node sends a frame onto the link toward `to`.
    pub(crate) fn send_frame(&mut self, from: &str, to: &str, bytes: Vec<u8>) {
        self.queue.push_back(Frame {
            from: from.to_owned(),
            to: to.to_owned(),
            bytes,
        });
    }

    /// Processes queued frames until none is left.
    pub(crate) fn run(&mut self) {
        while let Some(frame) = self.queue.pop_front() {
            self.cross_link(frame);
        }
    }

    pub(crate) fn event(&mut self, event: Event) {
        let is_frame = matches!(event, Event::Frame { .. });
        if self.record_frames || !is_frame {
            self.trace.push(event);
        }
    }

    fn frame_event(&mut self, frame: &Frame, fate: Fate, by: Option<&str>) {
        if !self.record_frames {
            return;
        }
        let label = pkilab_peer::wire::decode(&frame.bytes)
            .map_or_else(|_| "garbage".to_owned(), |m| m.label());
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &frame.bytes);
        self.event(Event::Frame {
            at: self.now.unix_timestamp(),
            from: frame.from.clone(),
            to: frame.to.clone(),
            label,
            digest: hex::encode(&hash.as_ref()[..8]),
            fate,
            by: by.map(str::to_owned),
        });
    }

    /// Runs the link's interceptors in install order, then delivers.
    fn cross_link(&mut self, frame: Frame) {
        let mut frame = frame;
        let mut replaced_by = None;
        for index in 0..self.adversaries.len() {
            if !same_link(&self.adversaries[index].link, &frame.from, &frame.to) {
                continue;
            }
            self.adversaries[index].recording.push(frame.bytes.clone());
            let validator = self.pki.validator();
            let mut ctx = Context {
                at: self.now,
                validator: &validator,
                rng: &mut self.rng,
                read: Vec::new(),
            };
            let verdict = self.adversaries[index]
                .interceptor
                .intercept(&frame, &mut ctx);
            let read = ctx.read;
            let name = self.adversaries[index].name.clone();
            for text in read {
                self.event(Event::AttackerRead {
                    at: self.now.unix_timestamp(),
                    adversary: name.clone(),
                    text,
                });
            }
            match verdict {
                Verdict::Pass => {}
                Verdict::Drop => return self.frame_event(&frame, Fate::Dropped, Some(&name)),
                Verdict::Delay(by) => {
                    self.frame_event(&frame, Fate::Delayed, Some(&name));
                    return self.delayed.push((self.now + by, frame));
                }
                Verdict::Replace(bytes) => {
                    frame.bytes = bytes;
                    replaced_by = Some(name);
                }
                Verdict::Inject {
                    to_destination,
                    to_source,
                } => {
                    self.frame_event(&frame, Fate::Intercepted, Some(&name));
                    for bytes in to_source {
                        self.inject(
                            &name,
                            Frame {
                                from: frame.to.clone(),
                                to: frame.from.clone(),
                                bytes,
                            },
                        );
                    }
                    for bytes in to_destination {
                        self.inject(
                            &name,
                            Frame {
                                from: frame.from.clone(),
                                to: frame.to.clone(),
                                bytes,
                            },
                        );
                    }
                    return;
                }
            }
        }
        let fate = if replaced_by.is_some() {
            Fate::Replaced
        } else {
            Fate::Delivered
        };
        self.frame_event(&frame, fate, replaced_by.as_deref());
        self.deliver(frame);
    }

    fn inject(&mut self, adversary: &str, frame: Frame) {
        self.frame_event(&frame, Fate::Injected, Some(adversary));
        self.deliver(frame);
    }

    /// Hands a frame to its receiver and queues what it answers.
    fn deliver(&mut self, frame: Frame) {
        let validator = self.pki.validator();
        let at = self.now;
        let Some(peer) = self.peers.get_mut(&frame.to) else {
            return;
        };
        let mut env = Env {
            validator: &validator,
            at,
            rng: &mut self.rng,
        };
        let outputs = peer.node.receive(&frame.from, &frame.bytes, &mut env);
        for output in outputs {
            let at = self.now.unix_timestamp();
            match output {
                Output::Reply(bytes) => self.send_frame(&frame.to, &frame.from, bytes),
                Output::Established(identity) => {
                    if let Some(kms) = self.kms.as_mut().filter(|k| k.name == frame.to) {
                        kms.sessions.insert(frame.from.clone(), identity.clone());
                    }
                    let authentication = match identity {
                        PeerIdentity::Anonymous => "anonymous".to_owned(),
                        PeerIdentity::Verified(v) => format!("verified as {}", v.name()),
                    };
                    self.event(Event::Established {
                        at,
                        node: frame.to.clone(),
                        peer: frame.from.clone(),
                        authentication,
                    });
                }
                Output::Refused(refusal) => {
                    self.event(Event::Refused {
                        at,
                        node: frame.to.clone(),
                        from: frame.from.clone(),
                        reason: refusal.id().to_owned(),
                        detail: refusal.detail,
                    });
                }
                Output::Delivered(plaintext) => {
                    self.event(Event::Delivered {
                        at,
                        from: frame.from.clone(),
                        to: frame.to.clone(),
                        bytes: plaintext.len(),
                    });
                    self.on_application(&frame.from, &frame.to, &plaintext);
                }
            }
        }
    }

    /// Issues `peer` a fresh certificate (same keys), valid from
    /// `now + valid_from` for `validity`.
    pub fn issue(
        &mut self,
        peer: &str,
        validity: Duration,
        valid_from: Duration,
    ) -> Result<(), NetError> {
        let mut identity = (*self.peer(peer)?.node.identity).clone();
        let serial = self.pki.certify(
            &mut identity,
            peer,
            self.now,
            valid_from,
            Some(validity),
            &mut self.rng,
        )?;
        let entry = self.peer_mut(peer)?;
        entry.node.identity = std::sync::Arc::new(identity);
        entry.serial = serial;
        Ok(())
    }

    /// The CA revokes `peer`'s current certificate; peers learn of it with
    /// the next CRL.
    pub fn revoke(&mut self, peer: &str, reason: RevocationReason) -> Result<(), NetError> {
        let serial = self.peer(peer)?.serial.clone();
        self.pki.revoke(serial, reason, self.now);
        if let Some(kms) = &self.kms {
            kms.revoke_identity(peer, self.now)?;
        }
        Ok(())
    }

    /// Publishes fresh CRLs; `validity` overrides the spec's lifetime.
    pub fn publish_crl(&mut self, validity: Option<Duration>) -> Result<(), NetError> {
        self.pki.publish_crl(self.now, validity)
    }
}
