//! Interference on a link: each installed interceptor sees every frame, in
//! install order, and returns a verdict (turmoil-style rules).

use std::sync::Arc;

use pkilab_verify::Validator;
use rand_chacha::ChaCha20Rng;
use time::{Duration, OffsetDateTime};

/// A frame in flight.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Sender.
    pub from: String,
    /// Receiver.
    pub to: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// What an interceptor does with a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Let it through unchanged (later interceptors still see it).
    Pass,
    /// It never arrives.
    Drop,
    /// It arrives once the clock has advanced this much.
    Delay(Duration),
    /// Another frame arrives instead.
    Replace(Vec<u8>),
    /// The same plaintext arrives, re-encrypted by the adversary for the
    /// session it holds with the receiver.
    Relay(Vec<u8>),
    /// Let it through, and deliver these copies toward the destination
    /// once the clock has advanced this much.
    PassAndLater(Duration, Vec<Vec<u8>>),
    /// The original is consumed; these frames are sent instead, toward the
    /// frame's destination and back toward its source.
    Inject {
        /// Frames to the original receiver.
        to_destination: Vec<Vec<u8>>,
        /// Frames back to the original sender.
        to_source: Vec<Vec<u8>>,
    },
}

/// What an interceptor may use: the simulated time, the validator peers
/// trust, the run's seeded randomness, and a place to report what it read.
pub struct Context<'a> {
    /// Simulated now.
    pub at: OffsetDateTime,
    /// The validator peers currently use.
    pub validator: &'a Arc<Validator>,
    /// The run's random generator.
    pub rng: &'a mut ChaCha20Rng,
    /// Plaintexts read, to be reported in the trace.
    pub read: Vec<String>,
    /// Peers with which the interceptor completed a session of its own
    /// while handling this frame, with its side's key schedule.
    pub sessions: Vec<(String, pkilab_peer::KeySchedule)>,
}

/// An adversary (or any rule) on a link.
pub trait Interceptor: Send {
    /// Decides what becomes of `frame`.
    fn intercept(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict;

    /// The adversary now holds `identity` (stolen keys with the victim's
    /// current certificate). An active adversary presents it from now on.
    fn arm(&mut self, identity: &pkilab_peer::Identity) {
        let _ = identity;
    }

    /// Whether it only watches the link (and so reads live with stolen
    /// keys, where the mode lets them open the traffic). An active
    /// adversary reads through its own sessions instead.
    fn passive(&self) -> bool {
        true
    }
}
