//! Frames on the wire: a version byte, then a postcard-encoded message.
//! Length is checked before anything is decoded; every byte string decodes
//! to a message or a refusal, never a panic.

use serde::{Deserialize, Serialize};

use crate::refusal::{Refusal, RefusalReason};

/// The wire format version.
pub const VERSION: u8 = 1;
/// The largest frame accepted, in bytes.
pub const MAX_FRAME: usize = 64 * 1024;
/// The cipher suite: X25519, Ed25519, HKDF-SHA256, AES-256-GCM.
pub const SUITE_X25519_ED25519_AES256GCM_SHA256: u16 = 1;
/// An insecure suite kept for teaching: records encrypted with AES-256-CTR
/// and no authentication tag, so a changed bit changes the plaintext
/// unnoticed. Offered and accepted only when both sides are configured for
/// it.
pub const SUITE_X25519_ED25519_AES256CTR_SHA256_UNAUTHENTICATED: u16 = 2;

/// How the handshake authenticates and agrees on keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Mode {
    /// Ephemeral X25519, signed with the Ed25519 identities: forward secret.
    SignedEphemeral,
    /// Ephemeral X25519, unauthenticated: open to a man-in-the-middle.
    Unauthenticated,
    /// Long-term X25519 keys, signed: authenticated, not forward secret.
    Static,
    /// Ephemeral X25519 and ML-KEM-768 (FIPS 203), signed: forward secret,
    /// and the session keys stay secret unless both X25519 and ML-KEM are
    /// broken. Its hello and reply are [`HybridHello`] and [`HybridReply`].
    Hybrid,
}

impl Mode {
    /// The mode's id, as scenario files write it.
    pub fn id(self) -> &'static str {
        match self {
            Mode::SignedEphemeral => "signed-ephemeral",
            Mode::Unauthenticated => "unauthenticated",
            Mode::Static => "static",
            Mode::Hybrid => "hybrid",
        }
    }

    /// Whether the peers prove who they are.
    pub fn authenticated(self) -> bool {
        self != Mode::Unauthenticated
    }
}

/// M1, initiator to responder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hello {
    /// Requested mode.
    pub mode: Mode,
    /// Offered cipher suites.
    pub suites: Vec<u16>,
    /// The initiator's X25519 public key (ephemeral, or static in `Static`).
    pub key_share: [u8; 32],
    /// 32 random bytes.
    pub nonce: [u8; 32],
}

/// M2, responder to initiator: its key share in the clear, its
/// authentication sealed under the responder's handshake key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloReply {
    /// The responder's X25519 public key.
    pub key_share: [u8; 32],
    /// 32 random bytes.
    pub nonce: [u8; 32],
    /// AEAD-sealed [`Authentication`].
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
}

/// M1 of the `hybrid` mode: the classical hello (mode `Hybrid`) and an
/// ephemeral ML-KEM-768 encapsulation key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HybridHello {
    /// Mode, suites, X25519 key share and nonce.
    pub hello: Hello,
    /// The initiator's ML-KEM-768 encapsulation key (1184 bytes).
    #[serde(with = "serde_bytes")]
    pub ml_kem_key: Vec<u8>,
}

/// M2 of the `hybrid` mode: the classical reply and the ML-KEM-768
/// ciphertext encapsulated to the initiator's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HybridReply {
    /// X25519 key share, nonce and the sealed authentication.
    pub reply: HelloReply,
    /// The ML-KEM-768 ciphertext (1088 bytes).
    #[serde(with = "serde_bytes")]
    pub ml_kem_ciphertext: Vec<u8>,
}

/// M3, initiator to responder: its sealed authentication.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finish {
    /// AEAD-sealed [`Authentication`].
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
}

/// A session record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Per-direction counter; the AEAD nonce and part of the AAD.
    pub counter: u64,
    /// Ciphertext and tag.
    #[serde(with = "serde_bytes")]
    pub sealed: Vec<u8>,
}

/// What a side proves about itself, sealed inside M2 or M3.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Authentication {
    /// Certificate chain, leaf first (empty when unauthenticated).
    #[serde(with = "byte_strings")]
    pub chain: Vec<Vec<u8>>,
    /// The name the signer believes its peer has ("" when it does not know).
    pub believed_peer: String,
    /// Ed25519 signature over the transcript (empty when unauthenticated).
    #[serde(with = "serde_bytes")]
    pub signature: Vec<u8>,
    /// HMAC over the transcript with the sender's finished key.
    #[serde(with = "serde_bytes")]
    pub finished: Vec<u8>,
    /// A DER OCSPResponse (RFC 6960) for the sender's own certificate,
    /// stapled as a TLS server staples one (RFC 6066 §8); covered by the
    /// transcript the signature and the Finished MAC are over.
    #[serde(with = "serde_bytes")]
    pub staple: Option<Vec<u8>>,
    /// The sender's leaf's inclusion proof in the CA's transparency log
    /// (`pkilab tlog proof v1` text, as in RFC 9162 §8.1.4 a TLS server
    /// sends its SCTs); covered by the transcript like the staple.
    #[serde(with = "serde_bytes")]
    pub inclusion_proof: Option<Vec<u8>>,
}

/// A list of byte strings, each written as bytes: what postcard writes for
/// a sequence of `u8` (a varint length, then the bytes), without visiting
/// every byte.
mod byte_strings {
    use serde::{Deserialize, Deserializer, Serializer};
    use serde_bytes::{ByteBuf, Bytes};

    pub(super) fn serialize<S: Serializer>(list: &[Vec<u8>], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(list.iter().map(|b| Bytes::new(b)))
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Vec<u8>>, D::Error> {
        let list = Vec::<ByteBuf>::deserialize(d)?;
        Ok(list.into_iter().map(ByteBuf::into_vec).collect())
    }
}

/// Every message of the protocol.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Message {
    /// M1.
    Hello(Hello),
    /// M2.
    HelloReply(HelloReply),
    /// M3.
    Finish(Finish),
    /// Session data.
    Record(Record),
    /// A DER OCSPRequest (RFC 6960 §4.1) to the OCSP responder, in the
    /// clear as OCSP over HTTP is.
    OcspRequest(#[serde(with = "serde_bytes")] Vec<u8>),
    /// The responder's DER OCSPResponse (RFC 6960 §4.2).
    OcspResponse(#[serde(with = "serde_bytes")] Vec<u8>),
    /// M1 in `hybrid` mode.
    HybridHello(HybridHello),
    /// M2 in `hybrid` mode.
    HybridReply(HybridReply),
}

impl Message {
    /// A short label for traces and diagrams.
    pub fn label(&self) -> String {
        match self {
            Message::Hello(h) => format!("Hello ({})", h.mode.id()),
            Message::HelloReply(_) => "Hello + Auth".to_owned(),
            Message::Finish(_) => "Finished".to_owned(),
            Message::Record(r) => format!("Data #{}", r.counter),
            Message::OcspRequest(_) => "OCSP request".to_owned(),
            Message::OcspResponse(_) => "OCSP response".to_owned(),
            Message::HybridHello(h) => format!("Hello ({}) + ML-KEM key", h.hello.mode.id()),
            Message::HybridReply(_) => "Hello + ML-KEM ciphertext + Auth".to_owned(),
        }
    }
}

/// The bytes a message's variable-length fields take, plus room for the
/// fixed ones: enough that encoding allocates once.
fn size_hint(message: &Message) -> usize {
    96 + match message {
        Message::Hello(_) => 0,
        Message::HelloReply(r) => r.sealed.len(),
        Message::Finish(f) => f.sealed.len(),
        Message::Record(r) => r.sealed.len(),
        Message::OcspRequest(b) | Message::OcspResponse(b) => b.len(),
        Message::HybridHello(h) => h.ml_kem_key.len(),
        Message::HybridReply(r) => r.reply.sealed.len() + r.ml_kem_ciphertext.len(),
    }
}

/// `n` as postcard writes integers and lengths: LEB128, seven bits a
/// byte, least significant first (the bytes, and how many there are).
pub(crate) fn varint(mut n: u64) -> ([u8; 10], usize) {
    let mut bytes = [0u8; 10];
    let mut len = 0;
    loop {
        let low = (n & 0x7f) as u8;
        n >>= 7;
        bytes[len] = if n == 0 { low } else { low | 0x80 };
        len += 1;
        if n == 0 {
            return (bytes, len);
        }
    }
}

fn push_varint(out: &mut Vec<u8>, n: u64) {
    let (bytes, len) = varint(n);
    out.extend_from_slice(&bytes[..len]);
}

/// `Message::Record`'s index among the variants, as the frame carries it.
const RECORD_VARIANT: u64 = 3;

/// The start of a record's frame, for `sealed_len` sealed bytes that the
/// caller appends: with them, what [`encode`] gives for the record, built
/// without a record to copy the bytes out of.
pub(crate) fn record_frame_start(counter: u64, sealed_len: usize) -> Vec<u8> {
    let mut frame = Vec::with_capacity(sealed_len + 24);
    frame.push(VERSION);
    push_varint(&mut frame, RECORD_VARIANT);
    push_varint(&mut frame, counter);
    push_varint(&mut frame, sealed_len as u64);
    frame
}

/// Encodes a message as a frame.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut frame = Vec::with_capacity(size_hint(message));
    frame.push(VERSION);
    // Encoding plain data into a Vec cannot fail.
    postcard::to_extend(message, frame).expect("postcard encodes protocol messages")
}

/// Decodes a frame, checking its length first.
pub fn decode(frame: &[u8]) -> Result<Message, Refusal> {
    if frame.len() > MAX_FRAME {
        return Err(Refusal::new(
            RefusalReason::FrameTooLarge,
            format!("{} bytes, at most {MAX_FRAME}", frame.len()),
        ));
    }
    let Some((&version, body)) = frame.split_first() else {
        return Err(Refusal::new(RefusalReason::Malformed, "empty frame"));
    };
    if version != VERSION {
        return Err(Refusal::new(
            RefusalReason::Malformed,
            format!("wire version {version}, expected {VERSION}"),
        ));
    }
    match postcard::take_from_bytes::<Message>(body) {
        Ok((message, [])) => Ok(message),
        Ok((_, rest)) => Err(Refusal::new(
            RefusalReason::Malformed,
            format!("{} trailing bytes", rest.len()),
        )),
        Err(e) => Err(Refusal::new(
            RefusalReason::Malformed,
            format!("does not decode: {e}"),
        )),
    }
}

/// Encodes an authentication block (sealed before sending).
pub(crate) fn encode_authentication(auth: &Authentication) -> Vec<u8> {
    let optional = |o: &Option<Vec<u8>>| o.as_ref().map_or(0, Vec::len);
    let size = 64
        + auth.chain.iter().map(|c| c.len() + 4).sum::<usize>()
        + auth.believed_peer.len()
        + auth.signature.len()
        + auth.finished.len()
        + optional(&auth.staple)
        + optional(&auth.inclusion_proof)
        // and the AEAD tag it is sealed with.
        + 16;
    postcard::to_extend(auth, Vec::with_capacity(size)).expect("postcard encodes protocol messages")
}

/// Decodes an opened authentication block.
pub(crate) fn decode_authentication(bytes: &[u8]) -> Result<Authentication, Refusal> {
    match postcard::take_from_bytes::<Authentication>(bytes) {
        Ok((auth, [])) => Ok(auth),
        _ => Err(Refusal::new(
            RefusalReason::Malformed,
            "the authentication block does not decode",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip() {
        let message = Message::Record(Record {
            counter: 7,
            sealed: vec![1, 2, 3],
        });
        assert_eq!(decode(&encode(&message)), Ok(message));
    }

    /// The byte fields are written as postcard writes a sequence of `u8`,
    /// so the wire format is the one a plain `Vec<u8>` field gives.
    #[test]
    fn byte_fields_keep_the_sequence_encoding() {
        #[derive(Serialize)]
        struct PlainAuthentication {
            chain: Vec<Vec<u8>>,
            believed_peer: String,
            signature: Vec<u8>,
            finished: Vec<u8>,
            staple: Option<Vec<u8>>,
            inclusion_proof: Option<Vec<u8>>,
        }
        #[derive(Serialize)]
        struct PlainRecord {
            counter: u64,
            sealed: Vec<u8>,
        }
        let long = vec![0xa5u8; 300];
        let auth = Authentication {
            chain: vec![long.clone(), vec![1, 2, 3], Vec::new()],
            believed_peer: "bob".to_owned(),
            signature: vec![7; 64],
            finished: vec![8; 32],
            staple: Some(long.clone()),
            inclusion_proof: None,
        };
        let plain = PlainAuthentication {
            chain: auth.chain.clone(),
            believed_peer: auth.believed_peer.clone(),
            signature: auth.signature.clone(),
            finished: auth.finished.clone(),
            staple: auth.staple.clone(),
            inclusion_proof: None,
        };
        let plain_bytes = postcard::to_allocvec(&plain).expect("encodes");
        assert_eq!(encode_authentication(&auth), plain_bytes);
        assert_eq!(decode_authentication(&plain_bytes), Ok(auth));
        // A frame: the version, the variant's index, then its fields.
        let frame = |variant: u8, body: Vec<u8>| [vec![VERSION, variant], body].concat();
        let record = Message::Record(Record {
            counter: 300,
            sealed: long.clone(),
        });
        let plain = PlainRecord {
            counter: 300,
            sealed: long.clone(),
        };
        let record_frame = frame(3, postcard::to_allocvec(&plain).expect("encodes"));
        assert_eq!(encode(&record), record_frame);
        assert_eq!(decode(&record_frame), Ok(record));
        let request_frame = frame(4, postcard::to_allocvec(&long).expect("encodes"));
        assert_eq!(decode(&request_frame), Ok(Message::OcspRequest(long)));
    }

    #[test]
    fn a_record_frame_built_in_place_is_the_encoded_record() {
        for (counter, len) in [
            (0u64, 0usize),
            (1, 16),
            (127, 1024),
            (128, 20_000),
            (u64::MAX, 3),
        ] {
            let sealed = vec![0x5c; len];
            let mut frame = record_frame_start(counter, len);
            frame.extend_from_slice(&sealed);
            let record = Message::Record(Record { counter, sealed });
            assert_eq!(frame, encode(&record), "counter {counter}, {len} bytes");
            assert_eq!(decode(&frame), Ok(record));
        }
    }

    #[test]
    fn oversized_frames_are_refused_before_decoding() {
        let frame = vec![VERSION; MAX_FRAME + 1];
        assert_eq!(
            decode(&frame).map_err(|r| r.reason),
            Err(RefusalReason::FrameTooLarge)
        );
    }

    #[test]
    fn wrong_version_empty_and_trailing_bytes_are_malformed() {
        let mut frame = encode(&Message::Finish(Finish { sealed: vec![9] }));
        frame.push(0);
        for bad in [vec![], vec![2, 0], frame] {
            assert_eq!(
                decode(&bad).map_err(|r| r.reason),
                Err(RefusalReason::Malformed)
            );
        }
    }
}
