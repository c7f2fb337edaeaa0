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
use crate::pki::{PkiSpec, Revocation, SimPki};
use crate::trace::{Event, Fate};

pub(crate) struct Peer {
    pub node: Node,
    pub serial: Serial,
    /// Rogue CAs this peer trusts besides the root.
    pub trusts: Vec<String>,
    /// How it treats revocation.
    pub revocation: Revocation,
    /// The OCSP response it staples for its own certificate (`ocsp-staple`).
    pub staple: Option<crate::ocsp_steps::Staple>,
}

/// A peer's own policy: whom it accepts, which modes, which CAs it trusts
/// and how it treats revocation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerPolicy {
    /// Names accepted as a responder; `None`: any name the anchors vouch for.
    pub accept: Option<Vec<String>>,
    /// Modes accepted as a responder besides the one a handshake asks for.
    pub modes: Vec<pkilab_peer::Mode>,
    /// Rogue CAs it trusts as well as the root.
    pub trusts: Vec<String>,
    /// Revocation checking.
    pub revocation: Revocation,
    /// Refuses peers whose certificate comes without an inclusion proof in
    /// the CA's transparency log.
    pub require_logged: bool,
}

/// An adversary installed on a link, with what it recorded and stole.
pub(crate) struct Installed {
    pub name: String,
    pub link: (String, String),
    pub interceptor: Box<dyn Interceptor>,
    pub recording: Vec<Vec<u8>>,
    pub stolen: Vec<Identity>,
    /// Per stolen identity, how many plaintexts it has read live.
    pub live_read: Vec<usize>,
}

/// A simulated network.
pub struct Network {
    pub(crate) now: OffsetDateTime,
    pub(crate) rng: ChaCha20Rng,
    pub(crate) pki: SimPki,
    pub(crate) peers: BTreeMap<String, Peer>,
    pub(crate) adversaries: Vec<Installed>,
    pub(crate) trace: Vec<Event>,
    /// The bytes of each traced frame, by its index in the trace. Kept
    /// beside the trace, not in it, so the trace's serialization does not
    /// change; reports decode them.
    pub(crate) frame_bytes: BTreeMap<usize, (Vec<u8>, Vec<u8>)>,
    /// What the key schedule produced, by the index of the `Established`
    /// or `AttackerSession` event it belongs to (beside the trace too).
    pub(crate) key_schedules: BTreeMap<usize, pkilab_peer::KeySchedule>,
    /// Per-frame events are skipped during workloads.
    pub(crate) record_frames: bool,
    queue: VecDeque<Frame>,
    /// Frames an adversary holds back: when they are due, and who.
    delayed: Vec<(OffsetDateTime, Frame, String)>,
    /// The key-management node, if the network has one.
    pub(crate) kms: Option<crate::kms_node::KmsNode>,
    /// The OCSP responder node, if the network has one.
    pub(crate) ocsp: Option<crate::ocsp_node::OcspNode>,
    /// Ephemeral secrets of the handshakes run (not during workloads), for
    /// modelling an adversary who breaks a primitive later.
    pub(crate) escrow: pkilab_peer::escrow::Escrow,
    /// Monitors reading the transparency log on the simulated clock.
    pub(crate) monitors: Vec<crate::monitor::Monitor>,
    /// Findings of monitors and gossip so far, as the trace words them.
    pub(crate) findings: Vec<String>,
    /// Certificates monitors reported as unrequested: (whose name, serial).
    pub(crate) unrequested: Vec<(String, Vec<u8>)>,
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
            frame_bytes: BTreeMap::new(),
            key_schedules: BTreeMap::new(),
            record_frames: true,
            queue: VecDeque::new(),
            delayed: Vec::new(),
            kms: None,
            ocsp: None,
            escrow: pkilab_peer::escrow::Escrow::new(),
            monitors: Vec::new(),
            findings: Vec::new(),
            unrequested: Vec::new(),
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
                trusts: Vec::new(),
                revocation: Revocation::Hard,
                staple: None,
            },
        );
        Ok(())
    }

    /// Sets `peer`'s own policy.
    pub fn configure_peer(&mut self, peer: &str, policy: PeerPolicy) -> Result<(), NetError> {
        let log_key = self.pki.log_key();
        let entry = self.peer_mut(peer)?;
        entry.node.accept = policy.accept;
        entry.node.also_accepts = policy.modes;
        entry.trusts = policy.trusts;
        entry.revocation = policy.revocation;
        entry.node.ocsp = crate::ocsp_steps::ocsp_config(policy.revocation);
        entry.node.require_logged = policy.require_logged.then_some(log_key);
        Ok(())
    }

    /// The validator `name` uses now (the shared one for adversaries and
    /// for peers without their own policy).
    pub(crate) fn validator_for(&mut self, name: &str) -> std::sync::Arc<pkilab_verify::Validator> {
        match self.peers.get(name) {
            Some(p) if !p.trusts.is_empty() || p.revocation != Revocation::Hard => {
                let (trusts, revocation) = (p.trusts.clone(), p.revocation);
                self.pki.validator_with(&trusts, revocation, self.now)
            }
            _ => self.pki.validator(),
        }
    }

    /// An adversary checks certificates only as far as the protocol makes
    /// it: it trusts every CA it knows of and ignores revocation.
    fn adversary_validator(&mut self) -> std::sync::Arc<pkilab_verify::Validator> {
        let all = self.pki.rogue_names();
        self.pki.validator_with(&all, Revocation::None, self.now)
    }

    /// What a passive adversary holding stolen keys reads from the frame
    /// it just recorded (only what the handshake's mode lets those keys
    /// open: static mode, not signed-ephemeral).
    fn read_live(&mut self, index: usize) -> Vec<String> {
        let installed = &mut self.adversaries[index];
        if installed.stolen.is_empty() || !installed.interceptor.passive() {
            return Vec::new();
        }
        let is_record = installed.recording.last().is_some_and(|f| {
            matches!(
                pkilab_peer::wire::decode(f),
                Ok(pkilab_peer::wire::Message::Record(_))
            )
        });
        if !is_record {
            return Vec::new();
        }
        installed.live_read.resize(installed.stolen.len(), 0);
        let mut read = Vec::new();
        for (identity, seen) in installed.stolen.iter().zip(installed.live_read.iter_mut()) {
            let recovered = pkilab_peer::recorded::attempt_decrypt(&installed.recording, identity);
            for plaintext in recovered.plaintexts.iter().skip(*seen) {
                read.push(String::from_utf8_lossy(plaintext).into_owned());
            }
            *seen = recovered.plaintexts.len().max(*seen);
        }
        read
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
            live_read: Vec::new(),
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

    /// Moves the clock; frames delayed until then are delivered. A move
    /// past the last instant the calendar holds is refused.
    pub fn advance(&mut self, by: Duration) -> Result<(), NetError> {
        self.now = self
            .now
            .checked_add(by)
            .filter(|t| *t <= crate::pki::LATEST)
            .ok_or_else(|| {
                NetError::Setup(format!("the clock cannot move {by} past the year 9999"))
            })?;
        let now = self.now;
        self.publish_due_delta()?;
        self.poll_monitors();
        let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut self.delayed)
            .into_iter()
            .partition(|(at, _, _)| *at <= now);
        self.delayed = later;
        for (_, frame, by) in due {
            self.inject(&by, frame);
        }
        self.run();
        Ok(())
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

    /// Runs the link's interceptors in install order, then delivers.
    fn cross_link(&mut self, frame: Frame) {
        let sent = self.record_frames.then(|| frame.bytes.clone());
        let mut frame = frame;
        let mut replaced_by = None;
        for index in 0..self.adversaries.len() {
            if !same_link(&self.adversaries[index].link, &frame.from, &frame.to) {
                continue;
            }
            // A workload's frames are not kept (nor traced): a recording
            // that grew with the handshake count would be unbounded.
            if self.record_frames {
                self.adversaries[index].recording.push(frame.bytes.clone());
            }
            let validator = self.adversary_validator();
            let mut ctx = Context {
                at: self.now,
                validator: &validator,
                rng: &mut self.rng,
                read: Vec::new(),
                sessions: Vec::new(),
            };
            let verdict = self.adversaries[index]
                .interceptor
                .intercept(&frame, &mut ctx);
            let (mut read, sessions) = (ctx.read, ctx.sessions);
            read.extend(self.read_live(index));
            let name = self.adversaries[index].name.clone();
            for (with, keys) in sessions {
                self.keep_schedule(keys);
                self.event(Event::AttackerSession {
                    at: self.now.unix_timestamp(),
                    adversary: name.clone(),
                    with,
                });
            }
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
                    let due = self.now.checked_add(by).unwrap_or(crate::pki::LATEST);
                    return self.delayed.push((due, frame, name));
                }
                Verdict::Replace(bytes) => {
                    frame.bytes = bytes;
                    replaced_by = Some((name, Fate::Replaced));
                }
                Verdict::Relay(bytes) => {
                    frame.bytes = bytes;
                    replaced_by = Some((name, Fate::Relayed));
                }
                Verdict::PassAndLater(after, copies) => {
                    let due = self.now.checked_add(after).unwrap_or(crate::pki::LATEST);
                    for bytes in copies {
                        self.delayed.push((
                            due,
                            Frame {
                                from: frame.from.clone(),
                                to: frame.to.clone(),
                                bytes,
                            },
                            name.clone(),
                        ));
                    }
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
        match replaced_by {
            Some((by, fate)) => self.frame_event_from(&frame, sent, fate, Some(&by)),
            None => self.frame_event(&frame, Fate::Delivered, None),
        }
        self.deliver(frame);
    }

    fn inject(&mut self, adversary: &str, frame: Frame) {
        self.frame_event(&frame, Fate::Injected, Some(adversary));
        self.deliver(frame);
    }

    /// Hands a frame to its receiver and queues what it answers.
    fn deliver(&mut self, frame: Frame) {
        let validator = self.validator_for(&frame.to);
        let at = self.now;
        let Some(peer) = self.peers.get_mut(&frame.to) else {
            return;
        };
        let mut env = Env {
            validator: &validator,
            at,
            rng: &mut self.rng,
            escrow: self.record_frames.then_some(&mut self.escrow),
        };
        let outputs = peer.node.receive(&frame.from, &frame.bytes, &mut env);
        self.outputs(&frame, outputs);
    }

    /// What a receiver made of `frame`: replies queued, outcomes traced.
    pub(crate) fn outputs(&mut self, frame: &Frame, outputs: Vec<Output>) {
        for output in outputs {
            let at = self.now.unix_timestamp();
            match output {
                Output::Reply(bytes) => self.send_frame(&frame.to, &frame.from, bytes),
                Output::Established(identity, keys) => {
                    self.keep_schedule(*keys);
                    if let Some(kms) = self.kms.as_mut().filter(|k| k.name == frame.to) {
                        kms.sessions.insert(frame.from.clone(), identity.clone());
                    }
                    let (authentication, verified) = match identity {
                        PeerIdentity::Anonymous => ("anonymous".to_owned(), None),
                        PeerIdentity::Verified(v) => (
                            format!("verified as {}", v.name()),
                            Some(v.name().to_owned()),
                        ),
                    };
                    self.event(Event::Established {
                        at,
                        node: frame.to.clone(),
                        peer: frame.from.clone(),
                        authentication,
                        verified,
                    });
                }
                Output::Refused(refusal) => {
                    self.event(Event::Refused {
                        at,
                        node: frame.to.clone(),
                        from: frame.from.clone(),
                        reason: refusal.id().to_owned(),
                        certificate: matches!(
                            refusal.reason,
                            pkilab_peer::RefusalReason::Certificate(_)
                        ),
                        detail: refusal.detail,
                    });
                }
                Output::Delivered(plaintext) => {
                    self.event(Event::Delivered {
                        at,
                        from: frame.from.clone(),
                        to: frame.to.clone(),
                        bytes: plaintext.len(),
                        digest: crate::trace::digest(&plaintext),
                    });
                    self.on_application(&frame.from, &frame.to, &plaintext);
                }
                Output::NeedsStatus(chain) => self.ask_responder(frame, &chain),
            }
        }
    }

    /// Issues `peer` a new certificate valid from `now + valid_from` for
    /// `validity`: for fresh keys, or with `keep_key` for the keys it has.
    /// Certificates are public: an adversary holding the re-certified key
    /// sees the new certificate and presents it from now on.
    pub fn issue(
        &mut self,
        peer: &str,
        validity: Duration,
        valid_from: Duration,
        keep_key: bool,
    ) -> Result<(), NetError> {
        let mut identity = if keep_key {
            (*self.peer(peer)?.node.identity).clone()
        } else {
            self.peer(peer)?;
            Identity::generate(peer, &mut self.rng)
        };
        let serial = self.pki.certify(
            &mut identity,
            peer,
            self.now,
            valid_from,
            Some(validity),
            &mut self.rng,
        )?;
        let key = identity.signing.verifying_key();
        for installed in &mut self.adversaries {
            for stolen in &mut installed.stolen {
                if stolen.signing.verifying_key() == key {
                    stolen.chain = identity.chain.clone();
                    installed.interceptor.arm(stolen);
                }
            }
        }
        let entry = self.peer_mut(peer)?;
        entry.node.identity = std::sync::Arc::new(identity);
        entry.serial = serial;
        // A staple speaks for the certificate it names, not the new one.
        entry.staple = None;
        entry.node.ocsp.staple = None;
        Ok(())
    }

    /// Which adversaries hold `peer`'s current signing key.
    pub fn holders_of_key(&self, peer: &str) -> Vec<String> {
        let Ok(p) = self.peer(peer) else {
            return Vec::new();
        };
        let key = p.node.identity.signing.verifying_key();
        self.adversaries
            .iter()
            .filter(|a| a.stolen.iter().any(|s| s.signing.verifying_key() == key))
            .map(|a| a.name.clone())
            .collect()
    }

    /// The CA revokes `peer`'s current certificate; peers learn of it with
    /// the next CRL. The KMS, beside the CA, also stops serving the
    /// identity at once when the reason says the identity itself is no
    /// longer to be trusted (see [`revokes_identity`]); returns whether it
    /// did.
    pub fn revoke(&mut self, peer: &str, reason: RevocationReason) -> Result<bool, NetError> {
        let serial = self.peer(peer)?.serial.clone();
        self.pki.revoke(serial, reason, self.now);
        let revoked = revokes_identity(reason);
        if let Some(kms) = self.kms.as_ref().filter(|_| revoked) {
            kms.revoke_identity(peer, self.now)?;
        }
        Ok(revoked && self.kms.is_some())
    }

    /// The parent CA revokes intermediate CA `ca`; every chain through it
    /// fails from the next CRL on.
    pub fn revoke_ca(&mut self, ca: &str, reason: RevocationReason) -> Result<(), NetError> {
        self.pki.revoke_ca(ca, reason, self.now)
    }

    /// Publishes fresh CRLs; `validity` overrides the spec's lifetime.
    pub fn publish_crl(&mut self, validity: Option<Duration>) -> Result<(), NetError> {
        self.pki.publish_crl(self.now, validity)
    }
}

/// Whether a certificate revoked for `reason` also ends the holder's
/// identity in the KMS. A compromised key, a compromised CA, withdrawn
/// privileges or no stated reason mean the holder may not be who it says;
/// a superseded certificate, a changed affiliation, ceased operation or a
/// hold concern the certificate only, and the holder keeps its grants.
pub fn revokes_identity(reason: RevocationReason) -> bool {
    matches!(
        reason,
        RevocationReason::Unspecified
            | RevocationReason::KeyCompromise
            | RevocationReason::CaCompromise
            | RevocationReason::PrivilegeWithdrawn
    )
}
