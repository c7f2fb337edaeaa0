//! The passive and blunt adversaries: eavesdropper, replayer, tamperer,
//! downgrader (and stripper), dropper. (The man-in-the-middle has its own module.)

use pkilab_peer::Mode;
use pkilab_peer::wire::{self, Message};
use rand_core::RngCore;
use time::Duration;

use crate::intercept::{Context, Frame, Interceptor, Verdict};

/// Records everything, changes nothing. The network keeps the recording.
#[derive(Debug, Default)]
pub struct Eavesdropper;

impl Interceptor for Eavesdropper {
    fn intercept(&mut self, _: &Frame, _: &mut Context<'_>) -> Verdict {
        Verdict::Pass
    }
}

/// Counts the data records an adversary acts on: all, or the first few.
#[derive(Debug, Default, Clone, Copy)]
pub struct Budget {
    limit: Option<u64>,
    used: u64,
}

impl Budget {
    /// Acts on the first `limit` records (`None`: all).
    pub fn new(limit: Option<u64>) -> Budget {
        Budget { limit, used: 0 }
    }

    /// Whether to act on one more record.
    fn take(&mut self) -> bool {
        if self.limit.is_some_and(|l| self.used >= l) {
            return false;
        }
        self.used += 1;
        true
    }
}

/// Where and when a replayer sends its copies.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReplayPlan {
    /// Copies arrive this much later (`None`: right after the original).
    pub delay: Option<Duration>,
    /// Copies go into the next session on the link, not the same one.
    pub next_session: bool,
    /// Acts on this many records only (`None`: all).
    pub records: Option<u64>,
}

/// Delivers each data record, then a copy of it: at once, later, or into
/// the next session on the link.
#[derive(Debug, Default)]
pub struct Replayer {
    plan: ReplayPlan,
    budget: Budget,
    /// Records from earlier sessions, for a cross-session replay.
    held: Vec<Vec<u8>>,
    /// Whether a new handshake has started since the records were held.
    new_session: bool,
}

impl Replayer {
    /// A replayer following `plan`.
    pub fn new(plan: ReplayPlan) -> Replayer {
        Replayer {
            plan,
            budget: Budget::new(plan.records),
            ..Replayer::default()
        }
    }
}

impl Interceptor for Replayer {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Hello(_)) => {
                self.new_session = !self.held.is_empty();
                Verdict::Pass
            }
            Ok(Message::Record(_)) if self.plan.next_session => {
                if self.new_session {
                    // Old records first, where the next ones are expected.
                    self.new_session = false;
                    let mut frames = std::mem::take(&mut self.held);
                    frames.push(frame.bytes.clone());
                    return Verdict::Inject {
                        to_destination: frames,
                        to_source: Vec::new(),
                    };
                }
                if self.budget.take() {
                    self.held.push(frame.bytes.clone());
                }
                Verdict::Pass
            }
            Ok(Message::Record(_)) if self.budget.take() => match self.plan.delay {
                Some(delay) => Verdict::PassAndLater(delay, vec![frame.bytes.clone()]),
                None => Verdict::Inject {
                    to_destination: vec![frame.bytes.clone(), frame.bytes.clone()],
                    to_source: Vec::new(),
                },
            },
            _ => Verdict::Pass,
        }
    }
}

/// Flips one bit of each data record's authentication tag (the last 16
/// bytes), at a position drawn from the run's seed.
#[derive(Debug, Default)]
pub struct Tamperer {
    budget: Budget,
}

impl Tamperer {
    /// A tamperer acting on the first `records` records (`None`: all).
    pub fn new(records: Option<u64>) -> Tamperer {
        Tamperer {
            budget: Budget::new(records),
        }
    }
}

impl Interceptor for Tamperer {
    fn intercept(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Record(_)) if frame.bytes.len() > 16 && self.budget.take() => {
                let mut bytes = frame.bytes.clone();
                let offset = bytes.len() - 1 - (ctx.rng.next_u32() as usize % 16);
                bytes[offset] ^= 1 << (ctx.rng.next_u32() % 8);
                Verdict::Replace(bytes)
            }
            _ => Verdict::Pass,
        }
    }
}

/// Rewrites the requested mode of hellos to a weaker one. The default
/// asks every hello for `unauthenticated`; [`Downgrader::stripper`] only
/// strips the ML-KEM key from `hybrid` hellos and asks for
/// `signed-ephemeral`, leaving X25519 alone, as an attacker who wants the
/// recording to fall to a future quantum computer would.
#[derive(Debug)]
pub struct Downgrader {
    to: Mode,
}

impl Default for Downgrader {
    fn default() -> Downgrader {
        Downgrader {
            to: Mode::Unauthenticated,
        }
    }
}

impl Downgrader {
    /// Strips the post-quantum part of hybrid hellos.
    pub fn stripper() -> Downgrader {
        Downgrader {
            to: Mode::SignedEphemeral,
        }
    }
}

impl Interceptor for Downgrader {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Hello(mut hello))
                if self.to == Mode::Unauthenticated && hello.mode != Mode::Unauthenticated =>
            {
                hello.mode = Mode::Unauthenticated;
                Verdict::Replace(wire::encode(&Message::Hello(hello)))
            }
            Ok(Message::HybridHello(h)) => {
                let mut hello = h.hello;
                hello.mode = self.to;
                Verdict::Replace(wire::encode(&Message::Hello(hello)))
            }
            _ => Verdict::Pass,
        }
    }
}

/// Drops data records (handshakes pass): integrity without availability.
#[derive(Debug, Default)]
pub struct Dropper {
    budget: Budget,
}

impl Dropper {
    /// A dropper acting on the first `records` records (`None`: all).
    pub fn new(records: Option<u64>) -> Dropper {
        Dropper {
            budget: Budget::new(records),
        }
    }
}

impl Interceptor for Dropper {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Record(_)) if self.budget.take() => Verdict::Drop,
            _ => Verdict::Pass,
        }
    }
}
