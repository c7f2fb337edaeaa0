//! An inclusion proof as a file: the entry's index, the proof hashes and
//! the signed checkpoint they lead to.
//!
//! ```text
//! pkilab tlog proof v1
//! index 41
//! <base64 hash>            one per line, leaf to root
//!
//! <signed checkpoint>
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::VerifyingKey;

use crate::merkle::{Hash, ProofError, leaf_hash, verify_inclusion};
use crate::note::{Checkpoint, NoteError, open};

const HEADER: &str = "pkilab tlog proof v1";

/// Why an entry is not shown to be logged.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NotLogged {
    /// The proof file does not parse.
    #[error("not an inclusion proof: {0}")]
    Malformed(String),
    /// The checkpoint is not the log's.
    #[error("the checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    /// The proof does not lead to the checkpoint's root.
    #[error("the proof: {0}")]
    Proof(#[from] ProofError),
}

/// An inclusion proof against a signed checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProof {
    /// The entry's index in the log.
    pub index: u64,
    /// The proof hashes, from the leaf up.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint the proof leads to.
    pub checkpoint: String,
}

impl InclusionProof {
    /// The file's text.
    pub fn encode(&self) -> String {
        let mut out = format!("{HEADER}\nindex {}\n", self.index);
        for hash in &self.hashes {
            out.push_str(&STANDARD.encode(hash));
            out.push('\n');
        }
        out.push('\n');
        out.push_str(&self.checkpoint);
        out
    }

    /// Parses a proof file.
    pub fn parse(text: &str) -> Result<InclusionProof, NotLogged> {
        let bad = |why: &str| NotLogged::Malformed(why.to_owned());
        let (head, checkpoint) = text
            .split_once("\n\n")
            .ok_or_else(|| bad("no blank line before the checkpoint"))?;
        let mut lines = head.lines();
        if lines.next() != Some(HEADER) {
            return Err(bad("the first line is not 'pkilab tlog proof v1'"));
        }
        let index = lines
            .next()
            .and_then(|l| l.strip_prefix("index "))
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| bad("no 'index N' line"))?;
        let hashes = lines
            .map(|l| {
                STANDARD
                    .decode(l)
                    .ok()
                    .and_then(|h| Hash::try_from(h).ok())
                    .ok_or_else(|| bad("a proof line is not a base64 SHA-256 hash"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if hashes.len() > 64 {
            return Err(bad("more than 64 proof hashes"));
        }
        Ok(InclusionProof {
            index,
            hashes,
            checkpoint: checkpoint.to_owned(),
        })
    }

    /// Checks that `entry` is in the log whose key is `key`: the checkpoint
    /// is signed by it and the proof leads from the entry to its root.
    pub fn verify(&self, entry: &[u8], key: &VerifyingKey) -> Result<Checkpoint, NotLogged> {
        let checkpoint = open(&self.checkpoint, key)?;
        verify_inclusion(
            &self.hashes,
            self.index,
            checkpoint.size,
            &leaf_hash(entry),
            &checkpoint.root,
        )?;
        Ok(checkpoint)
    }
}
