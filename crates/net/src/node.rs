//! A node: one identity, its handshakes in progress and its sessions.
//!
//! A session is bound to the identity the node verified at the other end
//! (an unauthenticated session only to the link end it was made on: that
//! is all the node knows). Frames still travel on links, so each session
//! also remembers its link; a new handshake on a link replaces the session
//! that link carried. A man-in-the-middle runs two of these, one facing
//! each victim.

use std::collections::BTreeMap;
use std::sync::Arc;

use pkilab_peer::wire::{self, Message};
use pkilab_peer::{
    Cipher, Config, ExpectFinish, ExpectReply, Identity, Mode, OcspConfig, PeerIdentity,
    PeerStatus, Refusal, RefusalReason, ReplyOpened, Session, initiate_escrowed, respond_escrowed,
};
use pkilab_verify::Validator;
use rand_chacha::ChaCha20Rng;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// What a node did with a frame.
#[derive(Debug)]
pub(crate) enum Output {
    /// A frame to send back to the link end it came from.
    Reply(Vec<u8>),
    /// A handshake completed, with what this side's key schedule produced.
    Established(PeerIdentity, Box<pkilab_peer::KeySchedule>),
    /// The frame or handshake was refused.
    Refused(Refusal),
    /// A record opened.
    Delivered(Zeroizing<Vec<u8>>),
    /// The node asks the OCSP responder about this chain's leaf before it
    /// goes on with the handshake (see [`Node::resume`]).
    NeedsStatus(Vec<Vec<u8>>),
}

/// What a node needs from the network to handle a frame.
pub(crate) struct Env<'a> {
    pub validator: &'a Arc<Validator>,
    pub at: OffsetDateTime,
    pub rng: &'a mut ChaCha20Rng,
    /// Where the simulator keeps ephemeral secrets (see
    /// `pkilab_peer::escrow`); `None` for the adversary's own handshakes
    /// and during workloads.
    pub escrow: Option<&'a mut pkilab_peer::escrow::Escrow>,
}

/// A handshake paused until the OCSP responder answers.
enum Awaiting {
    /// The initiator, M2 opened.
    Reply(Box<ReplyOpened>),
    /// The responder, with M3 still to handle.
    Finish(Box<ExpectFinish>, Vec<u8>),
}

/// A session and whom it is with.
struct Open {
    /// The link end its frames travel to.
    link: String,
    /// Who was verified at the other end.
    peer: PeerIdentity,
    session: Session,
    /// Order of establishment: the newest session with a name is used.
    order: u64,
}

/// The name a session is bound to: the verified name, or for an
/// unauthenticated session the link end it was made on.
pub(crate) fn bound_name<'a>(peer: &'a PeerIdentity, link: &'a str) -> &'a str {
    match peer {
        PeerIdentity::Verified(v) => v.name(),
        PeerIdentity::Anonymous => link,
    }
}

/// A participant's protocol state.
pub(crate) struct Node {
    pub identity: Arc<Identity>,
    /// The mode this node requires when it answers a hello.
    pub required_mode: Mode,
    /// The record protection this node uses (set per handshake).
    pub cipher: Cipher,
    /// Further modes it accepts as a responder (besides `required_mode`).
    pub also_accepts: Vec<Mode>,
    /// Names it accepts as a responder; `None`: any name its trust anchors
    /// vouch for.
    pub accept: Option<Vec<String>>,
    /// Whether sessions are kept after a handshake (off for workloads).
    pub keep_sessions: bool,
    /// OCSP: the staple it sends, and how it learns its peers' status.
    pub ocsp: OcspConfig,
    /// The transparency log key whose inclusion proofs this node requires
    /// of its peers' certificates (`None`: not required).
    pub require_logged: Option<ed25519_dalek::VerifyingKey>,
    initiating: BTreeMap<String, ExpectReply>,
    responding: BTreeMap<String, ExpectFinish>,
    /// Handshakes waiting for the OCSP responder's answer, by link.
    awaiting: BTreeMap<String, Awaiting>,
    sessions: BTreeMap<String, Open>,
    established: u64,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("identity", &self.identity)
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl Node {
    pub fn new(identity: Identity) -> Node {
        Node::sharing(Arc::new(identity))
    }

    pub fn sharing(identity: Arc<Identity>) -> Node {
        Node {
            identity,
            required_mode: Mode::SignedEphemeral,
            cipher: Cipher::Aes256Gcm,
            also_accepts: Vec::new(),
            accept: None,
            keep_sessions: true,
            ocsp: OcspConfig::default(),
            require_logged: None,
            initiating: BTreeMap::new(),
            responding: BTreeMap::new(),
            awaiting: BTreeMap::new(),
            sessions: BTreeMap::new(),
            established: 0,
        }
    }

    fn config(&self, env: &Env<'_>, mode: Mode) -> Config {
        Config {
            identity: Arc::clone(&self.identity),
            validator: Arc::clone(env.validator),
            at: env.at,
            mode,
            cipher: self.cipher,
            ocsp: self.ocsp.clone(),
            require_logged: self.require_logged,
        }
    }

    /// Starts a handshake over the link to `peer`, expecting `peer` at the
    /// other end; returns M1. The session on that link is closed first.
    pub fn initiate(&mut self, peer: &str, mode: Mode, env: &mut Env<'_>) -> Vec<u8> {
        self.sessions.remove(peer);
        let config = self.config(env, mode);
        let (state, m1) = initiate_escrowed(config, peer, env.rng, env.escrow.as_deref_mut());
        self.initiating.insert(peer.to_owned(), state);
        m1
    }

    /// The link of the newest session bound to `name`.
    pub fn link_to(&self, name: &str) -> Option<&str> {
        self.sessions
            .values()
            .filter(|open| bound_name(&open.peer, &open.link) == name)
            .max_by_key(|open| open.order)
            .map(|open| open.link.as_str())
    }

    /// Whom the session on `link` is bound to, if one is open.
    pub fn bound_on(&self, link: &str) -> Option<&str> {
        self.sessions
            .get(link)
            .map(|open| bound_name(&open.peer, &open.link))
    }

    /// Seals a message for the peer verified as `name`; returns the link
    /// it travels on and the frame. `None`: no session is bound to `name`.
    pub fn seal_to(&mut self, name: &str, plaintext: &[u8]) -> Option<(String, Vec<u8>)> {
        let link = self.link_to(name)?.to_owned();
        let frame = self.seal_on(&link, plaintext)?;
        Some((link, frame))
    }

    /// Seals a message on the session carried by `link`.
    pub fn seal_on(&mut self, link: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
        self.sessions
            .get_mut(link)
            .map(|open| open.session.seal(plaintext))
    }

    /// Handles a frame from the link end `from`.
    pub fn receive(&mut self, from: &str, frame: &[u8], env: &mut Env<'_>) -> Vec<Output> {
        match wire::decode(frame) {
            Ok(Message::Hello(hello)) => self.on_hello(from, hello.mode, frame, env),
            Ok(Message::HybridHello(h)) => self.on_hello(from, h.hello.mode, frame, env),
            Ok(Message::HelloReply(_) | Message::HybridReply(_)) => {
                match self.initiating.remove(from) {
                    Some(state) if self.fetches_status() => match state.open(frame) {
                        Ok(opened) => {
                            let chain = opened.presented_chain().to_vec();
                            self.awaiting
                                .insert(from.to_owned(), Awaiting::Reply(Box::new(opened)));
                            vec![Output::NeedsStatus(chain)]
                        }
                        Err(refusal) => vec![Output::Refused(refusal)],
                    },
                    Some(state) => self.on_reply(from, state.handle(frame)),
                    None => vec![unexpected("a hello reply with no handshake in progress")],
                }
            }
            Ok(Message::Finish(_)) => match self.responding.remove(from) {
                Some(state) if self.fetches_status() => match state.presented_chain(frame) {
                    Some(chain) => {
                        let waiting = Awaiting::Finish(Box::new(state), frame.to_vec());
                        self.awaiting.insert(from.to_owned(), waiting);
                        vec![Output::NeedsStatus(chain)]
                    }
                    None => self.on_finish(from, state.handle(frame)),
                },
                Some(state) => self.on_finish(from, state.handle(frame)),
                None => vec![unexpected("a finish with no handshake in progress")],
            },
            Ok(Message::Record(_)) => match self.sessions.get_mut(from) {
                Some(open) => match open.session.open(frame) {
                    Ok(plaintext) => vec![Output::Delivered(plaintext)],
                    Err(refusal) => vec![Output::Refused(refusal)],
                },
                None => vec![unexpected("a record with no session")],
            },
            Ok(Message::OcspRequest(_) | Message::OcspResponse(_)) => {
                vec![unexpected("an OCSP message on a peer link")]
            }
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    fn fetches_status(&self) -> bool {
        matches!(self.ocsp.peer_status, PeerStatus::Fetched(_))
    }

    fn on_reply(
        &mut self,
        from: &str,
        handled: Result<(pkilab_peer::Established, Vec<u8>), Refusal>,
    ) -> Vec<Output> {
        match handled {
            Ok((established, m3)) => {
                let peer = established.peer.clone();
                self.keep(from, peer.clone(), established.session);
                vec![
                    Output::Reply(m3),
                    Output::Established(peer, Box::new(established.keys)),
                ]
            }
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    fn on_finish(
        &mut self,
        from: &str,
        handled: Result<pkilab_peer::Established, Refusal>,
    ) -> Vec<Output> {
        match handled {
            Ok(established) => match self.admit(&established.peer, from) {
                Ok(()) => {
                    let peer = established.peer.clone();
                    self.keep(from, peer.clone(), established.session);
                    vec![Output::Established(peer, Box::new(established.keys))]
                }
                Err(refusal) => vec![Output::Refused(refusal)],
            },
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    /// Goes on with the handshake on the link from `from` that waited for
    /// the OCSP responder, with its answer (`None`: none came back).
    pub fn resume(&mut self, from: &str, response: Option<Vec<u8>>) -> Vec<Output> {
        match self.awaiting.remove(from) {
            Some(Awaiting::Reply(mut opened)) => {
                opened.set_peer_status(response);
                self.on_reply(from, opened.finish())
            }
            Some(Awaiting::Finish(mut state, m3)) => {
                state.set_peer_status(response);
                self.on_finish(from, state.handle(&m3))
            }
            None => vec![unexpected(
                "an OCSP answer with no handshake waiting for it",
            )],
        }
    }

    /// A responder's own policy on whom it talks to, applied after the
    /// chain and the signature verified.
    fn admit(&self, peer: &PeerIdentity, link: &str) -> Result<(), Refusal> {
        let Some(accept) = &self.accept else {
            return Ok(());
        };
        let me = &self.identity.name;
        match peer {
            PeerIdentity::Verified(v) if accept.iter().any(|a| accepts(a, v.name())) => Ok(()),
            PeerIdentity::Verified(v) => Err(Refusal::new(
                RefusalReason::Certificate(pkilab_verify::Reason::NameMismatch),
                format!(
                    "the client on the link from {link} authenticated as {}, and {me} accepts only {}",
                    v.name(),
                    accept.join(", ")
                ),
            )),
            PeerIdentity::Anonymous => Err(Refusal::new(
                RefusalReason::Certificate(pkilab_verify::Reason::NameMismatch),
                format!(
                    "an unauthenticated client has no name, and {me} accepts only {}",
                    accept.join(", ")
                ),
            )),
        }
    }

    fn on_hello(
        &mut self,
        from: &str,
        asked: Mode,
        frame: &[u8],
        env: &mut Env<'_>,
    ) -> Vec<Output> {
        self.sessions.remove(from);
        let mode = if self.also_accepts.contains(&asked) {
            asked
        } else {
            self.required_mode
        };
        let config = self.config(env, mode);
        match respond_escrowed(config, None, frame, env.rng, env.escrow.as_deref_mut()) {
            Ok((state, m2)) => {
                self.responding.insert(from.to_owned(), state);
                vec![Output::Reply(m2)]
            }
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    fn keep(&mut self, link: &str, peer: PeerIdentity, session: Session) {
        if self.keep_sessions {
            self.established += 1;
            self.sessions.insert(
                link.to_owned(),
                Open {
                    link: link.to_owned(),
                    peer,
                    session,
                    order: self.established,
                },
            );
        }
    }
}

fn unexpected(detail: &str) -> Output {
    Output::Refused(Refusal::new(RefusalReason::UnexpectedMessage, detail))
}

/// Whether an accept-list entry admits `name`: the name itself, or a
/// prefix followed by `*` (`node*` admits node0, node1, …).
pub(crate) fn accepts(entry: &str, name: &str) -> bool {
    match entry.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => entry == name,
    }
}

#[cfg(test)]
mod tests {
    use super::accepts;

    #[test]
    fn an_entry_is_a_name_or_a_prefix_pattern() {
        assert!(accepts("alice", "alice"));
        assert!(!accepts("alice", "alicia"));
        assert!(accepts("node*", "node17"));
        assert!(!accepts("node*", "mallory"));
        assert!(accepts("*", "anyone"));
    }
}
