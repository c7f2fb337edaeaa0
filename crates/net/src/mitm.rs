//! The active man-in-the-middle. It answers each side's handshake with one
//! of its own, using a certificate of the chosen kind, and relays records
//! between the two sessions, reading each one on the way. With stolen
//! identities it presents, to each side, the one that side expects: the
//! responder's to the initiator, and the initiator's (if stolen, else the
//! one it shows the initiator) to the responder.

use std::collections::BTreeMap;

use pkilab_peer::wire::{self, HybridHello, Message};
use pkilab_peer::{Identity, Mode};

use crate::intercept::{Context, Frame, Interceptor, Verdict};
use crate::node::{Env, Node, Output};

/// A man-in-the-middle with one face per victim.
pub struct Mitm {
    identity: Identity,
    /// Identities handed over by `compromise` (key and current
    /// certificate), by name.
    stolen: BTreeMap<String, Identity>,
    /// Keyed by the victim a face talks to.
    faces: BTreeMap<String, Node>,
}

impl std::fmt::Debug for Mitm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mitm")
            .field("identity", &self.identity)
            .finish_non_exhaustive()
    }
}

impl Mitm {
    /// A MITM presenting `identity` (its chain decides what victims see).
    pub fn new(identity: Identity) -> Mitm {
        Mitm {
            identity,
            stolen: BTreeMap::new(),
            faces: BTreeMap::new(),
        }
    }

    /// The identity to present to a peer that expects `name`.
    fn presenting(&self, name: &str) -> &Identity {
        self.stolen.get(name).unwrap_or(&self.identity)
    }

    fn face(&mut self, victim: &str) -> &mut Node {
        let identity = self.identity.clone();
        self.faces
            .entry(victim.to_owned())
            .or_insert_with(|| Node::new(identity))
    }

    fn env<'a>(ctx: &'a mut Context<'_>) -> Env<'a> {
        Env {
            validator: ctx.validator,
            at: ctx.at,
            rng: ctx.rng,
            escrow: None,
        }
    }

    fn on_hello(&mut self, frame: &Frame, mode: Mode, ctx: &mut Context<'_>) -> Verdict {
        let as_responder = self.presenting(&frame.to).clone();
        let as_initiator = match self.stolen.get(&frame.from) {
            Some(initiator) => initiator.clone(),
            None => as_responder.clone(),
        };
        self.face(&frame.from).identity = std::sync::Arc::new(as_responder);
        self.face(&frame.to).identity = std::sync::Arc::new(as_initiator);
        // Answer the initiator as its intended responder...
        let toward_source = self.face(&frame.from);
        toward_source.required_mode = mode;
        let replies = toward_source.receive(&frame.from, &frame.bytes, &mut Self::env(ctx));
        let to_source: Vec<Vec<u8>> = replies.into_iter().filter_map(reply).collect();
        // ...and open a handshake of its own with the responder.
        let m1 = self
            .face(&frame.to)
            .initiate(&frame.to, mode, &mut Self::env(ctx));
        Verdict::Inject {
            to_destination: vec![m1],
            to_source,
        }
    }

    fn on_handshake(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict {
        // Replies come to the face that talks to the sender.
        let outputs =
            self.face(&frame.from)
                .receive(&frame.from, &frame.bytes, &mut Self::env(ctx));
        for output in &outputs {
            if let Output::Established(_, keys) = output {
                ctx.sessions.push((frame.from.clone(), (**keys).clone()));
            }
        }
        let to_source: Vec<Vec<u8>> = outputs.into_iter().filter_map(reply).collect();
        Verdict::Inject {
            to_destination: Vec::new(),
            to_source,
        }
    }

    fn on_record(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict {
        let outputs =
            self.face(&frame.from)
                .receive(&frame.from, &frame.bytes, &mut Self::env(ctx));
        for output in outputs {
            if let Output::Delivered(plaintext) = output {
                ctx.read
                    .push(String::from_utf8_lossy(&plaintext).into_owned());
                if let Some(relayed) = self.face(&frame.to).seal_on(&frame.to, &plaintext) {
                    return Verdict::Relay(relayed);
                }
            }
        }
        Verdict::Drop
    }
}

fn reply(output: Output) -> Option<Vec<u8>> {
    match output {
        Output::Reply(frame) => Some(frame),
        _ => None,
    }
}

impl Interceptor for Mitm {
    fn intercept(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Hello(hello) | Message::HybridHello(HybridHello { hello, .. })) => {
                // The adversary speaks whatever record protection the
                // initiator offers.
                let cipher = if hello.suites.contains(
                    &pkilab_peer::wire::SUITE_X25519_ED25519_AES256CTR_SHA256_UNAUTHENTICATED,
                ) {
                    pkilab_peer::Cipher::Aes256CtrUnauthenticated
                } else {
                    pkilab_peer::Cipher::Aes256Gcm
                };
                self.face(&frame.from).cipher = cipher;
                self.face(&frame.to).cipher = cipher;
                self.on_hello(frame, hello.mode, ctx)
            }
            Ok(Message::HelloReply(_) | Message::HybridReply(_) | Message::Finish(_)) => {
                self.on_handshake(frame, ctx)
            }
            Ok(Message::Record(_)) => self.on_record(frame, ctx),
            // OCSP goes to the responder, not over a peer link.
            Ok(Message::OcspRequest(_) | Message::OcspResponse(_)) => Verdict::Pass,
            Err(_) => Verdict::Drop,
        }
    }

    fn passive(&self) -> bool {
        false
    }

    fn arm(&mut self, identity: &Identity) {
        // Sessions already open stay as they are; new handshakes present
        // the stolen identity to whoever expects its name.
        self.stolen.insert(identity.name.clone(), identity.clone());
    }
}
