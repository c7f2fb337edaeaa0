//! What the network keeps beside the trace, by trace index: each traced
//! frame's bytes (as sent, and as an adversary passed them on) and each
//! side's key schedule. Kept apart so the trace's serialization, which
//! tests pin byte for byte, does not change; reports decode them.

use crate::intercept::Frame;
use crate::network::Network;
use crate::trace::{Event, Fate};

impl Network {
    /// The bytes of the frame traced at `index`, if that event is a frame:
    /// as its sender sent them, and as they went on after any adversary's
    /// change (the same bytes when none changed them).
    pub fn frame_bytes(&self, index: usize) -> Option<(&[u8], &[u8])> {
        self.frame_bytes
            .get(&index)
            .map(|(sent, after)| (sent.as_slice(), after.as_slice()))
    }

    /// The key schedule of the session completed at the `Established` or
    /// `AttackerSession` event at `index`, as that side computed it.
    pub fn key_schedule(&self, index: usize) -> Option<&pkilab_peer::KeySchedule> {
        self.key_schedules.get(&index)
    }

    /// Keeps a key schedule for the event about to be traced; not during
    /// workloads, whose events are not kept either.
    pub(crate) fn keep_schedule(&mut self, keys: pkilab_peer::KeySchedule) {
        if self.record_frames {
            self.key_schedules.insert(self.trace.len(), keys);
        }
    }

    pub(crate) fn frame_event(&mut self, frame: &Frame, fate: Fate, by: Option<&str>) {
        self.frame_event_from(frame, None, fate, by);
    }

    /// Traces a frame; `sent` holds the bytes before an adversary changed them.
    pub(crate) fn frame_event_from(
        &mut self,
        frame: &Frame,
        sent: Option<Vec<u8>>,
        fate: Fate,
        by: Option<&str>,
    ) {
        if !self.record_frames {
            return;
        }
        let label = pkilab_peer::wire::decode(&frame.bytes).map_or_else(
            |_| "garbage".to_owned(),
            |m| self.ocsp_label(&m).unwrap_or_else(|| m.label()),
        );
        let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &frame.bytes);
        let sent = sent.unwrap_or_else(|| frame.bytes.clone());
        self.frame_bytes
            .insert(self.trace.len(), (sent, frame.bytes.clone()));
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
}
