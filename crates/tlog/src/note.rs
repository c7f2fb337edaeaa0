//! Checkpoints (c2sp.org/tlog-checkpoint) as signed notes
//! (c2sp.org/signed-note) under the log's Ed25519 key.
//!
//! ```text
//! ca.example/log          origin
//! 1024                    tree size
//! 3Vwz…=                  root hash, base64
//!
//! — ca.example/log Az3g…= key ID (4 bytes) ‖ Ed25519 signature, base64
//! ```

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};

use crate::merkle::Hash;

/// Why a checkpoint is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// The text is not a checkpoint.
    #[error("not a checkpoint: {0}")]
    Malformed(String),
    /// No signature by the log's key.
    #[error("no signature by the log's key '{0}'")]
    NotSigned(String),
    /// A signature line by the log's key that does not verify.
    #[error("the signature of '{0}' does not verify")]
    BadSignature(String),
}

/// A log's state: its origin, size and root hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// The log's name (`ca.example/log`).
    pub origin: String,
    /// Entries in the tree.
    pub size: u64,
    /// The tree's root hash.
    pub root: Hash,
}

impl Checkpoint {
    /// The note body: three lines, each ending in a newline.
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            STANDARD.encode(self.root)
        )
    }

    fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let bad = |why: &str| NoteError::Malformed(why.to_owned());
        let mut lines = body.split_terminator('\n');
        let origin = lines
            .next()
            .filter(|o| !o.is_empty())
            .ok_or_else(|| bad("no origin"))?;
        let size = lines
            .next()
            .filter(|s| {
                s.bytes().all(|b| b.is_ascii_digit()) && (s.len() == 1 || !s.starts_with('0'))
            })
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| bad("the size is not a decimal number"))?;
        let root = lines
            .next()
            .and_then(|r| STANDARD.decode(r).ok())
            .and_then(|r| Hash::try_from(r).ok())
            .ok_or_else(|| bad("the root is not a base64 SHA-256 hash"))?;
        Ok(Checkpoint {
            origin: origin.to_owned(),
            size,
            root,
        })
    }
}

/// The signed-note key ID of an Ed25519 key: the first four bytes of
/// SHA-256(name ‖ "\n" ‖ 0x01 ‖ public key).
pub fn key_id(name: &str, key: &VerifyingKey) -> [u8; 4] {
    let mut input = Vec::with_capacity(name.len() + 34);
    input.extend_from_slice(name.as_bytes());
    input.push(b'\n');
    input.push(0x01);
    input.extend_from_slice(key.as_bytes());
    let hash = digest(&SHA256, &input);
    let mut id = [0u8; 4];
    id.copy_from_slice(&hash.as_ref()[..4]);
    id
}

/// Signs a checkpoint with the log's key, named as its origin.
pub fn sign(checkpoint: &Checkpoint, key: &SigningKey) -> String {
    let body = checkpoint.body();
    let signature = key.sign(body.as_bytes());
    let mut blob = key_id(&checkpoint.origin, &key.verifying_key()).to_vec();
    blob.extend_from_slice(&signature.to_bytes());
    format!(
        "{body}\n\u{2014} {} {}\n",
        checkpoint.origin,
        STANDARD.encode(blob)
    )
}

/// Opens a signed checkpoint: the signature line of the key named as the
/// origin must verify under `key`; lines of other keys are ignored, as
/// signed-note asks of a verifier.
pub fn open(text: &str, key: &VerifyingKey) -> Result<Checkpoint, NoteError> {
    let (body, signatures) = text
        .split_once("\n\n")
        .ok_or_else(|| NoteError::Malformed("no blank line before the signatures".into()))?;
    let body = format!("{body}\n");
    let checkpoint = Checkpoint::parse_body(&body)?;
    let want = key_id(&checkpoint.origin, key);
    let mut found = false;
    for line in signatures.split_terminator('\n') {
        let Some(rest) = line.strip_prefix("\u{2014} ") else {
            return Err(NoteError::Malformed(format!(
                "not a signature line: {line}"
            )));
        };
        let (name, blob) = rest
            .split_once(' ')
            .ok_or_else(|| NoteError::Malformed(format!("not a signature line: {line}")))?;
        let blob = STANDARD
            .decode(blob)
            .map_err(|_| NoteError::Malformed(format!("signature not base64: {line}")))?;
        if name != checkpoint.origin || blob.len() != 68 || blob[..4] != want {
            continue;
        }
        found = true;
        let signature = ed25519_dalek::Signature::from_slice(&blob[4..])
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
        key.verify_strict(body.as_bytes(), &signature)
            .map_err(|_| NoteError::BadSignature(name.to_owned()))?;
    }
    if found {
        Ok(checkpoint)
    } else {
        Err(NoteError::NotSigned(checkpoint.origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_bytes(&[7u8; 32])
    }

    fn checkpoint() -> Checkpoint {
        Checkpoint {
            origin: "ca.example/log".into(),
            size: 1024,
            root: [9u8; 32],
        }
    }

    #[test]
    fn a_signed_checkpoint_opens_and_any_change_is_refused() {
        let note = sign(&checkpoint(), &key());
        let verifying = key().verifying_key();
        assert_eq!(open(&note, &verifying), Ok(checkpoint()));
        let grown = note.replacen("1024", "1025", 1);
        assert_eq!(
            open(&grown, &verifying),
            Err(NoteError::BadSignature("ca.example/log".into()))
        );
        let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
        assert_eq!(
            open(&note, &other),
            Err(NoteError::NotSigned("ca.example/log".into()))
        );
        assert!(open("garbage", &verifying).is_err());
        assert!(open("o\n01\nAAAA\n\n", &verifying).is_err());
    }
}
