//! A frame's bytes, cut into labelled fields and decoded, after the wire
//! format in `pkilab_peer::wire`: a version byte, then a postcard-encoded
//! message (variant and lengths as LEB128 varints, fixed arrays raw).

use std::fmt::Write;

use super::escape;

/// One labelled run of bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// What it is.
    pub label: &'static str,
    /// Its bytes.
    pub bytes: Vec<u8>,
    /// What they mean.
    pub decoded: String,
}

/// Reads a frame field by field.
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
    fields: Vec<Field>,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let slice = self.bytes.get(self.at..end)?;
        self.at = end;
        Some(slice)
    }

    /// A LEB128 varint of at most ten bytes.
    fn varint(&mut self) -> Option<(u64, &'a [u8])> {
        let start = self.at;
        let mut value: u64 = 0;
        for shift in 0..10u32 {
            let byte = *self.take(1)?.first()?;
            value |= u64::from(byte & 0x7f).checked_shl(shift * 7)?;
            if byte & 0x80 == 0 {
                return Some((value, &self.bytes[start..self.at]));
            }
        }
        None
    }

    fn push(&mut self, label: &'static str, bytes: &[u8], decoded: String) {
        self.fields.push(Field {
            label,
            bytes: bytes.to_vec(),
            decoded,
        });
    }

    fn number(&mut self, label: &'static str, meaning: impl Fn(u64) -> String) -> Option<u64> {
        let (value, raw) = self.varint()?;
        self.push(label, raw, meaning(value));
        Some(value)
    }

    fn array(&mut self, label: &'static str, n: usize, meaning: &str) -> Option<()> {
        let raw = self.take(n)?;
        self.push(label, raw, meaning.to_owned());
        Some(())
    }

    /// A length-prefixed byte string.
    fn sealed(&mut self, label: &'static str, meaning: &str) -> Option<()> {
        let (len, raw) = self.varint()?;
        self.push("length", raw, format!("{len} bytes follow"));
        let body = self.take(usize::try_from(len).ok()?)?;
        self.push(label, body, meaning.to_owned());
        Some(())
    }
}

fn mode_name(value: u64) -> String {
    match value {
        0 => "signed-ephemeral".to_owned(),
        1 => "unauthenticated".to_owned(),
        2 => "static".to_owned(),
        3 => "hybrid (X25519 + ML-KEM-768)".to_owned(),
        other => format!("unknown mode {other}"),
    }
}

fn suite_name(value: u64) -> String {
    match value {
        1 => "1: X25519, Ed25519, AES-256-GCM, SHA-256".to_owned(),
        2 => "2: X25519, Ed25519, AES-256-CTR without a tag (insecure), SHA-256".to_owned(),
        other => format!("{other}: unknown suite"),
    }
}

/// The fields of a frame; `None` when the bytes are not a frame of this
/// wire format (an adversary's garbage), which the page then shows raw.
pub fn fields(bytes: &[u8]) -> Option<Vec<Field>> {
    let mut r = Reader {
        bytes,
        at: 0,
        fields: Vec::new(),
    };
    let version = *r.take(1)?.first()?;
    r.push("version", &[version], format!("wire version {version}"));
    let variant = r.number("message", |v| {
        match v {
            0 => "M1 Hello",
            1 => "M2 Hello reply + sealed authentication",
            2 => "M3 Finish: sealed authentication",
            3 => "data record",
            4 => "OCSP request (RFC 6960 §4.1), in the clear",
            5 => "OCSP response (RFC 6960 §4.2), in the clear",
            6 => "M1 Hello (hybrid) with an ML-KEM-768 encapsulation key",
            7 => "M2 Hello reply (hybrid) with an ML-KEM-768 ciphertext + sealed authentication",
            _ => "unknown message",
        }
        .to_owned()
    })?;
    match variant {
        0 => hello_fields(&mut r)?,
        1 => reply_fields(&mut r)?,
        6 => {
            hello_fields(&mut r)?;
            r.sealed(
                "ML-KEM key",
                "initiator's ephemeral ML-KEM-768 encapsulation key (public; 1184 bytes)",
            )?;
        }
        7 => {
            reply_fields(&mut r)?;
            r.sealed(
                "ML-KEM ciphertext",
                "ML-KEM-768 ciphertext encapsulated to the initiator's key (public; 1088 bytes): only the holder of the decapsulation key gets the secret inside",
            )?;
        }
        2 => r.sealed(
            "sealed",
            "AES-256-GCM under the initiator's handshake key: certificate chain, the name it believes the responder has, Ed25519 signature over the transcript, Finished MAC",
        )?,
        3 => {
            r.number("counter", |c| {
                format!("record counter {c}: the AEAD nonce; a repeat is a replay")
            })?;
            r.sealed("ciphertext", "the message under the traffic key, with its tag")?;
        }
        4 => r.sealed(
            "OCSPRequest",
            "DER: one CertID (SHA-256 of the issuer's name and key, the certificate's serial) and a nonce; anyone on the path reads which certificate is asked about",
        )?,
        5 => r.sealed(
            "OCSPResponse",
            "DER, signed by the issuing CA: the certificate's status (good, revoked with time and reason, or unknown), thisUpdate, nextUpdate, the nonce echoed",
        )?,
        _ => return None,
    }
    (r.at == bytes.len()).then_some(r.fields)
}

fn hello_fields(r: &mut Reader<'_>) -> Option<()> {
    r.number("mode", mode_name)?;
    let count = r.number("suites", |n| format!("{n} suite(s) offered"))?;
    for _ in 0..count.min(64) {
        r.number("suite", suite_name)?;
    }
    r.array("key share", 32, "initiator's X25519 public key (public)")?;
    r.array("nonce", 32, "initiator's 32 random bytes (public)")
}

fn reply_fields(r: &mut Reader<'_>) -> Option<()> {
    r.array("key share", 32, "responder's X25519 public key (public)")?;
    r.array("nonce", 32, "responder's 32 random bytes (public)")?;
    r.sealed(
        "sealed",
        "AES-256-GCM under the responder's handshake key: certificate chain, the name it believes the initiator has, Ed25519 signature over the transcript, Finished MAC",
    )
}

/// Hex with a space every byte and a line break every 32.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(if i % 32 == 0 { '\n' } else { ' ' });
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// The decoded-fields table of a frame.
pub fn table(bytes: &[u8]) -> String {
    let mut out = String::new();
    match fields(bytes) {
        Some(fields) => {
            out.push_str(
                "<table class=\"fields\"><tr><th>field</th><th>bytes</th><th>meaning</th></tr>",
            );
            for field in fields {
                let _ = write!(
                    out,
                    "<tr class=\"field\"><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                    escape(field.label),
                    escape(&hex(&field.bytes)),
                    escape(&field.decoded)
                );
            }
            out.push_str("</table>");
        }
        None => {
            let _ = write!(
                out,
                "<p>These {} bytes are not a frame of the wire format: the receiver refuses them as malformed.</p><pre>{}</pre>",
                bytes.len(),
                escape(&hex(bytes))
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use pkilab_peer::wire::{Hello, Message, Mode, Record, encode};

    #[test]
    fn a_hello_is_cut_into_its_fields() {
        let frame = encode(&Message::Hello(Hello {
            mode: Mode::Static,
            suites: vec![1, 2],
            key_share: [7; 32],
            nonce: [9; 32],
        }));
        let fields = fields(&frame).expect("a hello decodes");
        let labels: Vec<&str> = fields.iter().map(|f| f.label).collect();
        assert_eq!(
            labels,
            [
                "version",
                "message",
                "mode",
                "suites",
                "suite",
                "suite",
                "key share",
                "nonce"
            ]
        );
        assert_eq!(fields[2].decoded, "static");
        assert_eq!(fields[6].bytes, [7; 32]);
        assert_eq!(
            fields.iter().map(|f| f.bytes.len()).sum::<usize>(),
            frame.len()
        );
    }

    #[test]
    fn hybrid_frames_show_the_ml_kem_key_and_ciphertext() {
        use pkilab_peer::wire::{HelloReply, HybridHello, HybridReply};
        let hello = encode(&Message::HybridHello(HybridHello {
            hello: Hello {
                mode: Mode::Hybrid,
                suites: vec![1],
                key_share: [7; 32],
                nonce: [9; 32],
            },
            ml_kem_key: vec![3; 1184],
        }));
        let cut = fields(&hello).expect("a hybrid hello decodes");
        assert_eq!(cut[2].decoded, "hybrid (X25519 + ML-KEM-768)");
        let last = cut.last().expect("fields");
        assert_eq!((last.label, last.bytes.len()), ("ML-KEM key", 1184));
        let reply = encode(&Message::HybridReply(HybridReply {
            reply: HelloReply {
                key_share: [1; 32],
                nonce: [2; 32],
                sealed: vec![4; 100],
            },
            ml_kem_ciphertext: vec![5; 1088],
        }));
        let cut = fields(&reply).expect("a hybrid reply decodes");
        let last = cut.last().expect("fields");
        assert_eq!((last.label, last.bytes.len()), ("ML-KEM ciphertext", 1088));
        assert_eq!(
            cut.iter().map(|f| f.bytes.len()).sum::<usize>(),
            reply.len()
        );
    }

    #[test]
    fn a_record_shows_its_counter_and_ciphertext() {
        let frame = encode(&Message::Record(Record {
            counter: 300,
            sealed: vec![1, 2, 3],
        }));
        let fields = fields(&frame).expect("a record decodes");
        assert_eq!(fields[2].label, "counter");
        assert!(fields[2].decoded.starts_with("record counter 300"));
        assert_eq!(fields[4].bytes, [1, 2, 3]);
    }

    #[test]
    fn an_ocsp_request_shows_its_der() {
        let frame = encode(&Message::OcspRequest(vec![0x30, 0x03, 0x02, 0x01, 0x07]));
        let fields = fields(&frame).expect("an OCSP request decodes");
        assert!(fields[1].decoded.starts_with("OCSP request"), "{fields:?}");
        assert_eq!(fields[3].label, "OCSPRequest");
        assert_eq!(fields[3].bytes, [0x30, 0x03, 0x02, 0x01, 0x07]);
        let frame = encode(&Message::OcspResponse(vec![0x30, 0x00]));
        assert_eq!(fields_of(&frame), "OCSPResponse");
    }

    fn fields_of(frame: &[u8]) -> &'static str {
        fields(frame).expect("decodes")[3].label
    }

    #[test]
    fn garbage_and_truncations_are_not_fields_and_do_not_panic() {
        let frame = encode(&Message::Record(Record {
            counter: 1,
            sealed: vec![5; 40],
        }));
        for end in 0..frame.len() {
            assert_eq!(fields(&frame[..end]), None, "{end}");
        }
        assert_eq!(
            fields(&[
                1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff
            ]),
            None
        );
        assert!(table(&[1, 9]).contains("not a frame"));
    }
}
