//! A node: one identity, its handshakes in progress and its sessions, keyed
//! by the name at the other end of the link. A man-in-the-middle runs two
//! of these, one facing each victim.

use std::collections::BTreeMap;
use std::sync::Arc;

use pkilab_peer::wire::{self, Message};
use pkilab_peer::{
    Config, ExpectFinish, ExpectReply, Identity, Mode, PeerIdentity, Refusal, Session, initiate,
    respond,
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
    /// A handshake completed.
    Established(PeerIdentity),
    /// The frame or handshake was refused.
    Refused(Refusal),
    /// A record opened.
    Delivered(Zeroizing<Vec<u8>>),
}

/// What a node needs from the network to handle a frame.
pub(crate) struct Env<'a> {
    pub validator: &'a Arc<Validator>,
    pub at: OffsetDateTime,
    pub rng: &'a mut ChaCha20Rng,
}

/// A participant's protocol state.
pub(crate) struct Node {
    pub identity: Arc<Identity>,
    /// The mode this node requires when it answers a hello.
    pub required_mode: Mode,
    /// Whether sessions are kept after a handshake (off for workloads).
    pub keep_sessions: bool,
    initiating: BTreeMap<String, ExpectReply>,
    responding: BTreeMap<String, ExpectFinish>,
    sessions: BTreeMap<String, Session>,
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
        Node {
            identity: Arc::new(identity),
            required_mode: Mode::SignedEphemeral,
            keep_sessions: true,
            initiating: BTreeMap::new(),
            responding: BTreeMap::new(),
            sessions: BTreeMap::new(),
        }
    }

    fn config(&self, env: &Env<'_>, mode: Mode) -> Config {
        Config {
            identity: Arc::clone(&self.identity),
            validator: Arc::clone(env.validator),
            at: env.at,
            mode,
        }
    }

    /// Starts a handshake with `peer`; returns M1. A session with `peer`
    /// is closed first.
    pub fn initiate(&mut self, peer: &str, mode: Mode, env: &mut Env<'_>) -> Vec<u8> {
        self.sessions.remove(peer);
        let (state, m1) = initiate(self.config(env, mode), peer, env.rng);
        self.initiating.insert(peer.to_owned(), state);
        m1
    }

    /// Whether a session with `peer` is open.
    pub fn has_session(&self, peer: &str) -> bool {
        self.sessions.contains_key(peer)
    }

    /// Seals a message for `peer`, if a session is open.
    pub fn seal(&mut self, peer: &str, plaintext: &[u8]) -> Option<Vec<u8>> {
        self.sessions.get_mut(peer).map(|s| s.seal(plaintext))
    }

    /// Handles a frame from the link end `from`.
    pub fn receive(&mut self, from: &str, frame: &[u8], env: &mut Env<'_>) -> Vec<Output> {
        match wire::decode(frame) {
            Ok(Message::Hello(_)) => self.on_hello(from, frame, env),
            Ok(Message::HelloReply(_)) => match self.initiating.remove(from) {
                Some(state) => match state.handle(frame) {
                    Ok((established, m3)) => {
                        let peer = established.peer.clone();
                        self.keep(from, established.session);
                        vec![Output::Reply(m3), Output::Established(peer)]
                    }
                    Err(refusal) => vec![Output::Refused(refusal)],
                },
                None => vec![unexpected("a hello reply with no handshake in progress")],
            },
            Ok(Message::Finish(_)) => match self.responding.remove(from) {
                Some(state) => match state.handle(frame) {
                    Ok(established) => {
                        let peer = established.peer.clone();
                        self.keep(from, established.session);
                        vec![Output::Established(peer)]
                    }
                    Err(refusal) => vec![Output::Refused(refusal)],
                },
                None => vec![unexpected("a finish with no handshake in progress")],
            },
            Ok(Message::Record(_)) => match self.sessions.get_mut(from) {
                Some(session) => match session.open(frame) {
                    Ok(plaintext) => vec![Output::Delivered(plaintext)],
                    Err(refusal) => vec![Output::Refused(refusal)],
                },
                None => vec![unexpected("a record with no session")],
            },
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    fn on_hello(&mut self, from: &str, frame: &[u8], env: &mut Env<'_>) -> Vec<Output> {
        self.sessions.remove(from);
        match respond(self.config(env, self.required_mode), None, frame, env.rng) {
            Ok((state, m2)) => {
                self.responding.insert(from.to_owned(), state);
                vec![Output::Reply(m2)]
            }
            Err(refusal) => vec![Output::Refused(refusal)],
        }
    }

    fn keep(&mut self, peer: &str, session: Session) {
        if self.keep_sessions {
            self.sessions.insert(peer.to_owned(), session);
        }
    }
}

fn unexpected(detail: &str) -> Output {
    Output::Refused(Refusal::new(
        pkilab_peer::RefusalReason::UnexpectedMessage,
        detail,
    ))
}
