//! The AEAD session: AES-256-GCM with a 64-bit counter per direction as the
//! nonce. A frame is accepted only with exactly the next counter, so a
//! replayed, dropped-then-reordered or tampered frame is never delivered.

use aws_lc_rs::aead::LessSafeKey;
use zeroize::Zeroizing;

use crate::key_schedule::nonce;
use crate::primitives::{aead_key, aead_open, aead_seal, ctr_apply};
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
        cipher: Cipher,
        (send, receive): (&[u8; 32], &[u8; 32]),
        send_label: &'static [u8],
        receive_label: &'static [u8],
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
        let sealed = match &self.send {
            RecordKey::Gcm(key) => aead_seal(
                key,
                nonce(counter),
                &aad(self.send_label, counter),
                plaintext,
            ),
            RecordKey::Ctr(key) => {
                let mut data = plaintext.to_vec();
                ctr_apply(key, nonce(counter), &mut data);
                data
            }
        };
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
        let plaintext = match &self.receive {
            RecordKey::Gcm(key) => open_record(key, self.receive_label, &record)?,
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
