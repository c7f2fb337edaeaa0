//! pkilab's peer protocol: a SIGMA-I shaped handshake (signed ephemeral
//! X25519 by default), its key schedule, and the AEAD session that follows.
//!
//! Modules follow the protocol's objects: [`wire`] (frames), `key_share`
//! (X25519, and X25519 + ML-KEM-768 in `hybrid` mode), `key_schedule`
//! (HKDF labels), [`primitives`] (the only calls into X25519, ML-KEM,
//! Ed25519, HKDF and AES-GCM), [`handshake`] (typed states), [`session`]
//! (records), [`recorded`] (what an attacker can do with a recording and
//! stolen keys, or with a primitive it breaks), [`escrow`] (how the
//! simulation models that break).
//!
//! The `hybrid` mode is post-quantum for key exchange only: its session
//! keys stay secret as long as either X25519 or ML-KEM-768 holds. Its
//! signatures (Ed25519) and certificates are classical, so an adversary who
//! can break Ed25519 at the time of the handshake can still impersonate.
//!
//! The handshake's states are types that the network crate drives over
//! simulated links. Its primitives stand alone: a record sealed under one
//! key opens only under that key, nonce and associated data.
//!
//! ```
//! use pkilab_peer::primitives::{aead_key, aead_open, aead_seal};
//!
//! let key = aead_key(&[7u8; 32]);
//! let sealed = aead_seal(&key, [0u8; 12], b"record 0", b"hello bob");
//! assert_eq!(&aead_open(&key, [0u8; 12], b"record 0", &sealed).unwrap()[..], b"hello bob");
//! assert!(aead_open(&key, [0u8; 12], b"record 1", &sealed).is_err(), "another record number");
//! assert!(aead_open(&aead_key(&[8u8; 32]), [0u8; 12], b"record 0", &sealed).is_err());
//! ```
#![forbid(unsafe_code)]

mod auth;
pub mod escrow;
pub mod handshake;
mod identity;
mod key_schedule;
mod key_share;
pub mod primitives;
pub mod recorded;
mod refusal;
pub mod session;
mod status;
mod transcript;
pub mod wire;

pub use auth::{Config, PeerIdentity, VerifiedPeer};
pub use handshake::{
    Established, ExpectFinish, ExpectReply, ReplyOpened, initiate, initiate_escrowed, respond,
    respond_escrowed,
};
pub use identity::{Identity, TranscriptSigner};
pub use key_schedule::KeySchedule;
pub use refusal::{Refusal, RefusalReason};
pub use session::{Cipher, Session};
pub use status::{OcspConfig, PeerStatus};
pub use wire::Mode;
