//! The AEAD session: AES-256-GCM with a 64-bit counter per direction as the
//! nonce. A frame is accepted only with exactly the next counter, so a
//! replayed, dropped-then-reordered or tampered frame is never delivered.

use aws_lc_rs::aead::LessSafeKey;
use zeroize::Zeroizing;

use crate::key_schedule::nonce;
use crate::primitives::{
    AEAD_TAG_LEN, aead_key, aead_open, aead_open_in_place, aead_seal_tail, ctr_apply,
};
use crate::refusal::{Refusal, RefusalReason};
use crate::wire::{self, Message, Record};

/// How records are protected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-256-GCM: every record is authenticated.
    #[default]
    Aes256Gcm,
    /// AES-256-CTR without a tag: insecure, for showing what the
    /// authentication tag prevents.
    Aes256CtrUnauthenticated,
}

impl Cipher {
    /// The suite id offered in the hello.
    pub fn suite(self) -> u16 {
        match self {
            Cipher::Aes256Gcm => crate::wire::SUITE_X25519_ED25519_AES256GCM_SHA256,
            Cipher::Aes256CtrUnauthenticated => {
                crate::wire::SUITE_X25519_ED25519_AES256CTR_SHA256_UNAUTHENTICATED
            }
        }
    }

    /// The id scenario files use.
    pub fn id(self) -> &'static str {
        match self {
            Cipher::Aes256Gcm => "aes-256-gcm",
            Cipher::Aes256CtrUnauthenticated => "aes-256-ctr-unauthenticated",
        }
    }
}

/// A direction's record key.
enum RecordKey {
    Gcm(LessSafeKey),
    Ctr(zeroize::Zeroizing<[u8; 32]>),
}

impl RecordKey {
    fn new(cipher: Cipher, key: &[u8; 32]) -> RecordKey {
        match cipher {
            Cipher::Aes256Gcm => RecordKey::Gcm(aead_key(key)),
            Cipher::Aes256CtrUnauthenticated => RecordKey::Ctr(zeroize::Zeroizing::new(*key)),
        }
    }
}

/// One side of an established session.
pub struct Session {
    send: RecordKey,
    receive: RecordKey,
    send_label: &'static Label,
    receive_label: &'static Label,
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

/// A direction's name: `i2r` or `r2i`.
pub(crate) type Label = [u8; 3];

/// A record's additional data: the direction's label, then the counter.
struct Aad([u8; 11]);

impl Aad {
    fn new(label: &Label, counter: u64) -> Aad {
        let mut bytes = [0u8; 11];
        bytes[..3].copy_from_slice(label);
        bytes[3..].copy_from_slice(&counter.to_be_bytes());
        Aad(bytes)
    }

    fn as_slice(&self) -> &[u8] {
        &self.0
    }
}

impl Session {
    pub(crate) fn new(
        cipher: Cipher,
        (send, receive): (&[u8; 32], &[u8; 32]),
        send_label: &'static Label,
        receive_label: &'static Label,
    ) -> Session {
        Session {
            send: RecordKey::new(cipher, send),
            receive: RecordKey::new(cipher, receive),
            send_label,
            receive_label,
            next_send: 0,
            next_receive: 0,
        }
    }

    /// Seals `plaintext` into a frame with the next counter.
    pub fn seal(&mut self, plaintext: &[u8]) -> Vec<u8> {
        let counter = self.next_send;
        self.next_send += 1;
        match &self.send {
            RecordKey::Gcm(key) => {
                // Sealed straight into the frame: no record to copy from.
                let mut frame = wire::record_frame_start(counter, plaintext.len() + AEAD_TAG_LEN);
                let start = frame.len();
                frame.extend_from_slice(plaintext);
                aead_seal_tail(
                    key,
                    nonce(counter),
                    Aad::new(self.send_label, counter).as_slice(),
                    &mut frame,
                    start,
                );
                frame
            }
            RecordKey::Ctr(key) => {
                let mut sealed = plaintext.to_vec();
                ctr_apply(key, nonce(counter), &mut sealed);
                wire::encode(&Message::Record(Record { counter, sealed }))
            }
        }
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
        let plaintext = match &self.receive {
            RecordKey::Gcm(key) => open_owned(key, self.receive_label, record)?,
            RecordKey::Ctr(key) => {
                let mut data = Zeroizing::new(record.sealed.clone());
                ctr_apply(key, nonce(record.counter), &mut data);
                data
            }
        };
        self.next_receive += 1;
        Ok(plaintext)
    }
}

/// Opens one record with a key (also used by an attacker who recomputed it).
pub(crate) fn open_record(
    key: &LessSafeKey,
    label: &Label,
    record: &Record,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    aead_open(
        key,
        nonce(record.counter),
        Aad::new(label, record.counter).as_slice(),
        &record.sealed,
    )
    .map_err(|_| undecryptable(record.counter))
}

/// Opens a received record in its own buffer, without copying it.
fn open_owned(
    key: &LessSafeKey,
    label: &Label,
    record: Record,
) -> Result<Zeroizing<Vec<u8>>, Refusal> {
    let counter = record.counter;
    aead_open_in_place(
        key,
        nonce(counter),
        Aad::new(label, counter).as_slice(),
        Zeroizing::new(record.sealed),
    )
    .map_err(|_| undecryptable(counter))
}

fn undecryptable(counter: u64) -> Refusal {
    Refusal::new(
        RefusalReason::DecryptFailed,
        format!("record #{counter} does not authenticate"),
    )
}
