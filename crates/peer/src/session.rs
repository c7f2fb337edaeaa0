//! The AEAD session: AES-256-GCM with a 64-bit counter per direction as the
//! nonce. A frame is accepted only with exactly the next counter, so a
//! replayed, dropped-then-reordered or tampered frame is never delivered.

use aws_lc_rs::aead::LessSafeKey;
use zeroize::Zeroizing;

use crate::key_schedule::nonce;
use crate::primitives::{aead_key, aead_open, aead_seal};
use crate::refusal::{Refusal, RefusalReason};
use crate::wire::{self, Message, Record};

/// One side of an established session.
pub struct Session {
    send: LessSafeKey,
    receive: LessSafeKey,
    send_label: &'static [u8],
    receive_label: &'static [u8],
    next_send: u64,
    next_receive: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("next_send", &self.next_send)
            .field("next_receive", &self.next_receive)
            .finish_non_exhaustive()
    }
}

fn aad(label: &[u8], counter: u64) -> Vec<u8> {
    [label, &counter.to_be_bytes()].concat()
}

impl Session {
    pub(crate) fn new(
        send: &[u8; 32],
        receive: &[u8; 32],
        send_label: &'static [u8],
        receive_label: &'static [u8],
    ) -> Session {
        Session {
            send: aead_key(send),
            receive: aead_key(receive),
            send_label,
            receive_label,
            next_send: 0,
            next_receive: 0,
        }
    }

    /// Seals `plaintext` into a frame with the next counter.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let counter = self.next_send;
        let sealed = aead_seal(
            &self.send,
            nonce(counter),
            &aad(self.send_label, counter),
            plaintext,
        );
        self.next_send += 1;
        wire::encode(&Message::Record(Record { counter, sealed }))
    }

    /// Opens a frame. On refusal the session is unchanged.
    pub fn open(&mut self, frame: &[u8]) -> Result<Zeroizing<Vec<u8>>, Refusal> {
        let Message::Record(record) = wire::decode(frame)? else {
            return Err(Refusal::new(
                RefusalReason::UnexpectedMessage,
                "expected a data record",
            ));
        };
        if record.counter < self.next_receive {
            return Err(Refusal::new(
                RefusalReason::Replay,
                format!(
                    "record #{} was already received (next is #{})",
                    record.counter, self.next_receive
                ),
            ));
        }
        if record.counter > self.next_receive {
            return Err(Refusal::new(
                RefusalReason::OutOfOrder,
                format!(
                    "record #{} arrived, #{} expected",
                    record.counter, self.next_receive
                ),
            ));
        }
        let plaintext = open_record(&self.receive, self.receive_label, &record)?;
        self.next_receive += 1;
        Ok(plaintext)
    }
}

/// Opens one record with a key (also used by an attacker who recomputed it).
pub(crate) fn open_record(
    key: &LessSafeKey,
    label: &[u8],
    record: &Record,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    aead_open(
        key,
        nonce(record.counter),
        &aad(label, record.counter),
        &record.sealed,
    )
    .map_err(|_| {
        Refusal::new(
            RefusalReason::DecryptFailed,
            format!("record #{} does not authenticate", record.counter),
        )
    })
}
