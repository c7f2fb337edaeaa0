//! The trace: every frame and every outcome, in order, with simulated time.
//! Serialized with stable field names; the same seed gives the same bytes.

use serde::Serialize;

/// What became of a frame on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fate {
    /// Delivered as sent.
    Delivered,
    /// Dropped by an adversary.
    Dropped,
    /// Taken off the link by an adversary that answers in its place.
    Intercepted,
    /// Replaced by an adversary.
    Replaced,
    /// Re-encrypted by an adversary holding a session on each side: the
    /// same plaintext, under other keys.
    Relayed,
    /// Sent by an adversary.
    Injected,
    /// Held back by an adversary until the clock moves.
    Delayed,
}

/// One thing that happened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// A frame crossed (or failed to cross) a link.
    Frame {
        /// Simulated Unix time.
        at: i64,
        /// Sender as the receiver sees it.
        from: String,
        /// Receiver.
        to: String,
        /// What it is.
        label: String,
        /// First 8 bytes of SHA-256 of the frame, hex: pins the exact bytes.
        digest: String,
        /// What became of it.
        fate: Fate,
        /// The adversary that acted on it, if any.
        by: Option<String>,
    },
    /// A node finished a handshake.
    Established {
        /// Simulated Unix time.
        at: i64,
        /// The node.
        node: String,
        /// Who it believes it talks to.
        peer: String,
        /// "verified as NAME" or "anonymous".
        authentication: String,
        /// The name it verified at the other end, if any: the session is
        /// bound to it.
        verified: Option<String>,
    },
    /// An adversary completed a handshake of its own with a peer.
    AttackerSession {
        /// Simulated Unix time.
        at: i64,
        /// The adversary.
        adversary: String,
        /// The peer at the other end of that session.
        with: String,
    },
    /// A node refused a frame or a handshake.
    Refused {
        /// Simulated Unix time.
        at: i64,
        /// The node that refused.
        node: String,
        /// The link end it came from.
        from: String,
        /// Reason id.
        reason: String,
        /// What exactly.
        detail: String,
        /// The validator refused a certificate chain.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        certificate: bool,
    },
    /// A message reached its application.
    Delivered {
        /// Simulated Unix time.
        at: i64,
        /// Sender.
        from: String,
        /// Receiver.
        to: String,
        /// Plaintext length.
        bytes: usize,
        /// First 8 bytes of SHA-256 of the plaintext, hex: shows whether
        /// what arrived is what was sent, without showing it.
        digest: String,
    },
    /// An adversary read plaintext.
    AttackerRead {
        /// Simulated Unix time.
        at: i64,
        /// The adversary.
        adversary: String,
        /// What it read.
        text: String,
    },
    /// A peer received a group key from the KMS node.
    KeyDelivered {
        /// Simulated Unix time.
        at: i64,
        /// The peer.
        peer: String,
        /// The key's name.
        key: String,
        /// Its version.
        version: i64,
        /// First 4 bytes of SHA-256 of the key, hex: shows who holds the
        /// same key without showing the key.
        fingerprint: String,
    },
    /// Something the narration should say.
    Note {
        /// Simulated Unix time.
        at: i64,
        /// The sentence.
        text: String,
    },
}

impl Event {
    /// The refusal reason id, for refusals.
    pub fn refusal(&self) -> Option<(&str, &str, &str)> {
        match self {
            Event::Refused {
                node,
                reason,
                detail,
                ..
            } => Some((node, reason, detail)),
            _ => None,
        }
    }
}

/// First 8 bytes of SHA-256 of `bytes`, hex.
pub fn digest(bytes: &[u8]) -> String {
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    hex::encode(&hash.as_ref()[..8])
}
