//! pkilab's peer protocol: a SIGMA-I shaped handshake (signed ephemeral
//! X25519 by default), its key schedule, and the AEAD session that follows.
//!
//! Modules follow the protocol's objects: [`wire`] (frames), `key_schedule`
//! (HKDF labels), [`primitives`] (the only calls into X25519, Ed25519, HKDF
//! and AES-GCM), [`handshake`] (typed states), [`session`] (records),
//! [`recorded`] (what an attacker can do with a recording and stolen keys).
#![forbid(unsafe_code)]

mod auth;
pub mod handshake;
mod identity;
mod key_schedule;
pub mod primitives;
pub mod recorded;
mod refusal;
pub mod session;
pub mod wire;

pub use auth::{Config, PeerIdentity, VerifiedPeer};
pub use handshake::{Established, ExpectFinish, ExpectReply, initiate, respond};
pub use identity::Identity;
pub use key_schedule::KeySchedule;
pub use refusal::{Refusal, RefusalReason};
pub use session::{Cipher, Session};
pub use wire::Mode;
