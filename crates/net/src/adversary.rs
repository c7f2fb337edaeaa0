//! The passive and blunt adversaries: eavesdropper, replayer, tamperer,
//! downgrader, dropper. (The man-in-the-middle has its own module.)

use pkilab_peer::Mode;
use pkilab_peer::wire::{self, Message};
use rand_core::RngCore;

use crate::intercept::{Context, Frame, Interceptor, Verdict};

/// Records everything, changes nothing. The network keeps the recording.
#[derive(Debug, Default)]
pub struct Eavesdropper;

impl Interceptor for Eavesdropper {
    fn intercept(&mut self, _: &Frame, _: &mut Context<'_>) -> Verdict {
        Verdict::Pass
    }
}

/// Delivers each data record, then delivers it again.
#[derive(Debug, Default)]
pub struct Replayer;

impl Interceptor for Replayer {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Record(_)) => Verdict::Inject {
                to_destination: vec![frame.bytes.clone(), frame.bytes.clone()],
                to_source: Vec::new(),
            },
            _ => Verdict::Pass,
        }
    }
}

/// Flips one bit of each data record's authentication tag (the last 16
/// bytes), at a position drawn from the run's seed.
#[derive(Debug, Default)]
pub struct Tamperer;

impl Interceptor for Tamperer {
    fn intercept(&mut self, frame: &Frame, ctx: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Record(_)) if frame.bytes.len() > 16 => {
                let mut bytes = frame.bytes.clone();
                let offset = bytes.len() - 1 - (ctx.rng.next_u32() as usize % 16);
                bytes[offset] ^= 1 << (ctx.rng.next_u32() % 8);
                Verdict::Replace(bytes)
            }
            _ => Verdict::Pass,
        }
    }
}

/// Rewrites the requested mode of every hello to `unauthenticated`.
#[derive(Debug, Default)]
pub struct Downgrader;

impl Interceptor for Downgrader {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Hello(mut hello)) if hello.mode != Mode::Unauthenticated => {
                hello.mode = Mode::Unauthenticated;
                Verdict::Replace(wire::encode(&Message::Hello(hello)))
            }
            _ => Verdict::Pass,
        }
    }
}

/// Drops every data record (handshakes pass): integrity without
/// availability.
#[derive(Debug, Default)]
pub struct Dropper;

impl Interceptor for Dropper {
    fn intercept(&mut self, frame: &Frame, _: &mut Context<'_>) -> Verdict {
        match wire::decode(&frame.bytes) {
            Ok(Message::Record(_)) => Verdict::Drop,
            _ => Verdict::Pass,
        }
    }
}
