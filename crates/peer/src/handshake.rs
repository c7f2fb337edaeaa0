//! The handshake as typed states. Each state is consumed by the step that
//! leaves it; a refused step returns nothing to continue from.
//!
//! ```text
//! M1 I→R  Hello      { mode, suites, key_share_I, nonce_I }
//! M2 R→I  HelloReply { key_share_R, nonce_R, AEAD_hs_r2i(Authentication_R) }
//! M3 I→R  Finish     { AEAD_hs_i2r(Authentication_I) }
//! ```
//!
//! In `hybrid` mode M1 is a [`HybridHello`] (the hello plus an ML-KEM-768
//! encapsulation key) and M2 a [`HybridReply`] (the reply plus the
//! ciphertext). Both are in the hello hash that salts the key schedule and
//! in the transcript each side signs, so stripping the ML-KEM part or
//! changing it is caught like any other change to the hellos.

use rand_core::CryptoRngCore;

use crate::auth::{Config, PeerIdentity, Role, check, prove};
use crate::escrow::Escrow;
use crate::key_schedule::{
    HandshakeSecrets, KeySchedule, hello_hash, open_block, open_block_in_place, seal_block,
};
use crate::key_share::{self, OurSecret};
use crate::refusal::{Refusal, RefusalReason};
use crate::session::Session;
use crate::transcript::Transcript;
use crate::wire::{self, Finish, Hello, HelloReply, HybridHello, HybridReply, Message, Mode};

const AUTH_R: &[u8] = b"pkilab/1 auth r";
const AUTH_I: &[u8] = b"pkilab/1 auth i";

fn nonce(rng: &mut impl CryptoRngCore) -> [u8; 32] {
    let mut nonce = [0u8; 32];
    rng.fill_bytes(&mut nonce);
    nonce
}

/// A session both sides agreed on, and who the peer is.
#[derive(Debug)]
pub struct Established {
    /// The AEAD session.
    pub session: Session,
    /// The peer, verified or anonymous.
    pub peer: PeerIdentity,
    /// What this side's key schedule produced (hashes, key fingerprints).
    pub keys: KeySchedule,
}

/// The initiator, after sending M1.
pub struct ExpectReply {
    config: Config,
    expected_peer: String,
    m1: Vec<u8>,
    secret: OurSecret,
}

impl std::fmt::Debug for ExpectReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectReply")
            .field("expected_peer", &self.expected_peer)
            .finish_non_exhaustive()
    }
}

/// Starts a handshake to `expected_peer`; returns the state and M1.
pub fn initiate(
    config: Config,
    expected_peer: &str,
    rng: &mut impl CryptoRngCore,
) -> (ExpectReply, Vec<u8>) {
    initiate_escrowed(config, expected_peer, rng, None)
}

/// [`initiate`], keeping the ephemeral secrets in `escrow` (the simulator's
/// model of an adversary who later breaks a primitive; see [`Escrow`]).
pub fn initiate_escrowed(
    config: Config,
    expected_peer: &str,
    rng: &mut impl CryptoRngCore,
    escrow: Option<&mut Escrow>,
) -> (ExpectReply, Vec<u8>) {
    let offer = key_share::offer(&config, rng, escrow);
    let hello = Hello {
        mode: config.mode,
        suites: vec![config.cipher.suite()],
        key_share: offer.share,
        nonce: nonce(rng),
    };
    let m1 = wire::encode(&match offer.ml_kem_key {
        Some(ml_kem_key) => Message::HybridHello(HybridHello { hello, ml_kem_key }),
        None => Message::Hello(hello),
    });
    (
        ExpectReply {
            config,
            expected_peer: expected_peer.to_owned(),
            m1: m1.clone(),
            secret: offer.secret,
        },
        m1,
    )
}

/// The responder's hello as the initiator expects it for its mode.
fn reply_for(mode: Mode, m2: &[u8]) -> Result<(HelloReply, Option<Vec<u8>>), Refusal> {
    match (wire::decode(m2)?, mode) {
        (Message::HybridReply(r), Mode::Hybrid) => Ok((r.reply, Some(r.ml_kem_ciphertext))),
        (Message::HelloReply(_), Mode::Hybrid) => Err(Refusal::new(
            RefusalReason::Downgrade,
            "we asked for hybrid, and the reply carries no ML-KEM ciphertext: the post-quantum part was stripped",
        )),
        (Message::HelloReply(reply), _) => Ok((reply, None)),
        _ => Err(Refusal::new(
            RefusalReason::UnexpectedMessage,
            "expected the responder's hello",
        )),
    }
}

impl ExpectReply {
    /// Handles M2; returns the session and M3.
    pub fn handle(self, m2: &[u8]) -> Result<(Established, Vec<u8>), Refusal> {
        self.open(m2)?.finish()
    }

    /// Opens M2: agrees on the keys and opens the responder's sealed
    /// authentication, checking nothing in it yet. A side that asks the
    /// OCSP responder about the chain does so between `open` and
    /// [`ReplyOpened::finish`].
    pub fn open(self, m2: &[u8]) -> Result<ReplyOpened, Refusal> {
        let (mut reply, ciphertext) = reply_for(self.config.mode, m2)?;
        let shared = key_share::complete(
            &self.config,
            self.secret,
            &reply.key_share,
            ciphertext.as_deref(),
        )?;
        let ciphertext = ciphertext.unwrap_or_default();
        let salt = hello_hash(&self.m1, &reply.key_share, &reply.nonce, &ciphertext);
        let secrets = HandshakeSecrets::new(&shared, &salt);
        let opened =
            open_block_in_place(&secrets.hs_r2i, AUTH_R, std::mem::take(&mut reply.sealed))?;
        let auth_r = wire::decode_authentication(&opened)?;
        Ok(ReplyOpened {
            config: self.config,
            expected_peer: self.expected_peer,
            transcript: Transcript::of(&[&self.m1, &reply.key_share, &reply.nonce, &ciphertext]),
            salt,
            secrets,
            auth_r,
        })
    }
}

/// The initiator, with M2 opened and its authentication not yet checked.
pub struct ReplyOpened {
    config: Config,
    expected_peer: String,
    /// The hellos, as sent in the clear: where the running transcript
    /// starts.
    transcript: Transcript,
    salt: [u8; 32],
    secrets: HandshakeSecrets,
    auth_r: wire::Authentication,
}

impl std::fmt::Debug for ReplyOpened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyOpened")
            .field("expected_peer", &self.expected_peer)
            .finish_non_exhaustive()
    }
}

impl ReplyOpened {
    /// The chain the responder presents (leaf first), unchecked.
    pub fn presented_chain(&self) -> &[Vec<u8>] {
        &self.auth_r.chain
    }

    /// The status of the responder's certificate, as this side fetched
    /// it from the OCSP responder (`None`: no answer came back).
    pub fn set_peer_status(&mut self, response: Option<Vec<u8>>) {
        self.config.ocsp.peer_status = crate::status::PeerStatus::Fetched(response);
    }

    /// Checks the responder's authentication; returns the session and M3.
    pub fn finish(mut self) -> Result<(Established, Vec<u8>), Refusal> {
        let peer = check(
            &self.config,
            Role::Responder,
            &self.auth_r,
            &mut self.transcript,
            Some(&self.expected_peer),
            &self.secrets.finished_r,
        )?;
        let auth_i = prove(
            &self.config,
            Role::Initiator,
            &mut self.transcript,
            &self.expected_peer,
            &self.secrets.finished_i,
        );
        let sealed = seal_block(
            &self.secrets.hs_i2r,
            AUTH_I,
            wire::encode_authentication(&auth_i),
        );
        let m3 = wire::encode(&Message::Finish(Finish { sealed }));
        let transcript = self.transcript.finish();
        let (i2r, r2i) = self.secrets.traffic(&transcript);
        Ok((
            Established {
                session: Session::new(self.config.cipher, (&i2r, &r2i), b"i2r", b"r2i"),
                peer,
                keys: KeySchedule::of(
                    self.salt,
                    transcript,
                    &self.secrets,
                    (&i2r, &r2i),
                    self.auth_r,
                ),
            },
            m3,
        ))
    }
}

/// The responder, after sending M2.
pub struct ExpectFinish {
    config: Config,
    expected_peer: Option<String>,
    /// The running transcript, up to the responder's own block.
    transcript: Transcript,
    hello_hash: [u8; 32],
    secrets: HandshakeSecrets,
}

impl std::fmt::Debug for ExpectFinish {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExpectFinish")
            .field("expected_peer", &self.expected_peer)
            .finish_non_exhaustive()
    }
}

/// Answers M1. `expected_peer`: the initiator we expect, if we know.
pub fn respond(
    config: Config,
    expected_peer: Option<&str>,
    m1: &[u8],
    rng: &mut impl CryptoRngCore,
) -> Result<(ExpectFinish, Vec<u8>), Refusal> {
    respond_escrowed(config, expected_peer, m1, rng, None)
}

/// [`respond`], keeping the ephemeral secrets in `escrow` (see [`Escrow`]).
pub fn respond_escrowed(
    config: Config,
    expected_peer: Option<&str>,
    m1: &[u8],
    rng: &mut impl CryptoRngCore,
    escrow: Option<&mut Escrow>,
) -> Result<(ExpectFinish, Vec<u8>), Refusal> {
    let (hello, ml_kem_key) = match wire::decode(m1)? {
        Message::Hello(hello) => (hello, None),
        Message::HybridHello(h) => (h.hello, Some(h.ml_kem_key)),
        _ => {
            return Err(Refusal::new(
                RefusalReason::UnexpectedMessage,
                "expected a hello",
            ));
        }
    };
    check_offer(&config, &hello, ml_kem_key.is_some())?;
    let answer = key_share::answer(
        &config,
        rng,
        &hello.key_share,
        ml_kem_key.as_deref(),
        escrow,
    )?;
    let nonce_r = nonce(rng);
    let ciphertext = answer.ml_kem_ciphertext;
    let salt = hello_hash(m1, &answer.share, &nonce_r, &ciphertext);
    let secrets = HandshakeSecrets::new(&answer.shared, &salt);
    let believed = expected_peer.unwrap_or("");
    let mut transcript = Transcript::of(&[m1, &answer.share, &nonce_r, &ciphertext]);
    let auth_r = prove(
        &config,
        Role::Responder,
        &mut transcript,
        believed,
        &secrets.finished_r,
    );
    let sealed = seal_block(
        &secrets.hs_r2i,
        AUTH_R,
        wire::encode_authentication(&auth_r),
    );
    let reply = HelloReply {
        key_share: answer.share,
        nonce: nonce_r,
        sealed,
    };
    let m2 = wire::encode(&if config.mode == Mode::Hybrid {
        Message::HybridReply(HybridReply {
            reply,
            ml_kem_ciphertext: ciphertext,
        })
    } else {
        Message::HelloReply(reply)
    });
    let state = ExpectFinish {
        config,
        expected_peer: expected_peer.map(str::to_owned),
        transcript,
        hello_hash: salt,
        secrets,
    };
    Ok((state, m2))
}

fn check_offer(config: &Config, hello: &Hello, has_ml_kem_key: bool) -> Result<(), Refusal> {
    if hello.mode != config.mode {
        // Asking for less than hybrid when hybrid is required strips the
        // post-quantum protection: a downgrade, like dropping authentication.
        let reason = if hello.mode.authenticated() && config.mode != Mode::Hybrid {
            RefusalReason::ModeMismatch
        } else {
            RefusalReason::Downgrade
        };
        return Err(Refusal::new(
            reason,
            format!(
                "the initiator asked for {} but {} is required",
                hello.mode.id(),
                config.mode.id()
            ),
        ));
    }
    if (hello.mode == Mode::Hybrid) != has_ml_kem_key {
        return Err(Refusal::new(
            RefusalReason::Malformed,
            "a hybrid hello must carry an ML-KEM key, and no other hello may",
        ));
    }
    if !hello.suites.contains(&config.cipher.suite()) {
        return Err(Refusal::new(
            RefusalReason::NoCommonSuite,
            format!(
                "offered suites {:?}, but {} is required",
                hello.suites,
                config.cipher.id()
            ),
        ));
    }
    Ok(())
}

impl ExpectFinish {
    /// The chain the initiator presents in M3, opened without leaving
    /// this state and unchecked: what a side that asks the OCSP responder
    /// asks about before it handles M3. `None` when M3 does not open.
    pub fn presented_chain(&self, m3: &[u8]) -> Option<Vec<Vec<u8>>> {
        let Ok(Message::Finish(finish)) = wire::decode(m3) else {
            return None;
        };
        let opened = open_block(&self.secrets.hs_i2r, AUTH_I, &finish.sealed).ok()?;
        wire::decode_authentication(&opened).ok().map(|a| a.chain)
    }

    /// The status of the initiator's certificate, as this side fetched it
    /// from the OCSP responder (`None`: no answer came back).
    pub fn set_peer_status(&mut self, response: Option<Vec<u8>>) {
        self.config.ocsp.peer_status = crate::status::PeerStatus::Fetched(response);
    }

    /// Handles M3; returns the session.
    pub fn handle(mut self, m3: &[u8]) -> Result<Established, Refusal> {
        let Message::Finish(finish) = wire::decode(m3)? else {
            return Err(Refusal::new(
                RefusalReason::UnexpectedMessage,
                "expected the initiator's finish",
            ));
        };
        let opened = open_block_in_place(&self.secrets.hs_i2r, AUTH_I, finish.sealed)?;
        let auth_i = wire::decode_authentication(&opened)?;
        let peer = check(
            &self.config,
            Role::Initiator,
            &auth_i,
            &mut self.transcript,
            self.expected_peer.as_deref(),
            &self.secrets.finished_i,
        )?;
        let transcript = self.transcript.finish();
        let (i2r, r2i) = self.secrets.traffic(&transcript);
        Ok(Established {
            session: Session::new(self.config.cipher, (&r2i, &i2r), b"r2i", b"i2r"),
            peer,
            keys: KeySchedule::of(
                self.hello_hash,
                transcript,
                &self.secrets,
                (&i2r, &r2i),
                auth_i,
            ),
        })
    }
}
