//! A log on disk, in a directory the owner (the CA) locks while it writes:
//!
//! ```text
//! entries      each entry as a big-endian u32 length and its bytes, appended
//! leaves       each entry's leaf hash, 32 bytes, appended
//! checkpoint   the latest signed checkpoint, replaced atomically
//! ```
//!
//! An entry is appended before the checkpoint is replaced, so a crash
//! between the two leaves a log whose checkpoint covers a prefix: the next
//! append re-signs a checkpoint over everything. The signing key is the
//! caller's to keep (the CA keeps it encrypted beside its own).

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use ed25519_dalek::{SigningKey, VerifyingKey};

use crate::merkle::{Hash, leaf_hash};
use crate::note::{Checkpoint, NoteError, open, sign};
use crate::proof::InclusionProof;
use crate::tree::Tree;

/// What went wrong with a log directory.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The files disagree or are damaged.
    #[error("{}: damaged log ({detail}): restore it from a backup", path.display())]
    Corrupt {
        /// The directory.
        path: PathBuf,
        /// What is wrong.
        detail: String,
    },
    /// An entry longer than a tile bundle can hold.
    #[error("an entry of {0} bytes is longer than the 65,535 a log entry may be")]
    TooLong(usize),
    /// The entry was never logged.
    #[error("this entry is not in the log")]
    NotFound,
    /// The checkpoint is not signed by the given key.
    #[error(transparent)]
    Checkpoint(#[from] NoteError),
}

/// An opened log: its entries' hashes in memory, its files on disk.
#[derive(Debug)]
pub struct Log {
    dir: PathBuf,
    origin: String,
    tree: Tree,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LogError + '_ {
    move |source| LogError::Io {
        path: path.to_owned(),
        source,
    }
}

impl Log {
    /// Creates an empty log named `origin` in `dir` (made if missing), with
    /// a signed checkpoint of size 0.
    pub fn create(dir: &Path, origin: &str, key: &SigningKey) -> Result<Log, LogError> {
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        for file in ["entries", "leaves"] {
            let path = dir.join(file);
            File::create(&path).map_err(io(&path))?;
        }
        let log = Log {
            dir: dir.to_owned(),
            origin: origin.to_owned(),
            tree: Tree::new(),
        };
        log.write_checkpoint(key)?;
        Ok(log)
    }

    /// Opens the log in `dir`, checking its checkpoint against `key`.
    pub fn open(dir: &Path, key: &VerifyingKey) -> Result<Log, LogError> {
        let text = read_text(&dir.join("checkpoint"))?;
        let checkpoint = open(&text, key)?;
        let path = dir.join("leaves");
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io(&path))?;
        let corrupt = |detail: String| LogError::Corrupt {
            path: dir.to_owned(),
            detail,
        };
        if bytes.len() % 32 != 0 {
            return Err(corrupt("a partial leaf hash".into()));
        }
        let mut tree = Tree::new();
        for chunk in bytes.chunks_exact(32) {
            let mut leaf = [0u8; 32];
            leaf.copy_from_slice(chunk);
            tree.append_hash(leaf);
        }
        if tree.size() < checkpoint.size || tree.root(checkpoint.size) != Some(checkpoint.root) {
            return Err(corrupt(format!(
                "the entries do not match the signed checkpoint of size {}",
                checkpoint.size
            )));
        }
        Ok(Log {
            dir: dir.to_owned(),
            origin: checkpoint.origin,
            tree,
        })
    }

    /// The log's name.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The tree of every entry.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// Appends an entry and signs a checkpoint over it; returns its index.
    pub fn append(&mut self, entry: &[u8], key: &SigningKey) -> Result<u64, LogError> {
        let length = u32::try_from(entry.len())
            .ok()
            .filter(|l| *l <= u32::from(u16::MAX))
            .ok_or(LogError::TooLong(entry.len()))?;
        let leaf = leaf_hash(entry);
        let mut record = length.to_be_bytes().to_vec();
        record.extend_from_slice(entry);
        append_file(&self.dir.join("entries"), &record)?;
        append_file(&self.dir.join("leaves"), &leaf)?;
        let index = self.tree.append_hash(leaf);
        self.write_checkpoint(key)?;
        Ok(index)
    }

    /// The current checkpoint, unsigned.
    pub fn checkpoint(&self) -> Checkpoint {
        let size = self.tree.size();
        Checkpoint {
            origin: self.origin.clone(),
            size,
            root: self.tree.root(size).unwrap_or_default(),
        }
    }

    /// The current signed checkpoint's text.
    pub fn signed_checkpoint(&self) -> Result<String, LogError> {
        read_text(&self.dir.join("checkpoint"))
    }

    fn write_checkpoint(&self, key: &SigningKey) -> Result<(), LogError> {
        let text = sign(&self.checkpoint(), key);
        let path = self.dir.join("checkpoint");
        let temporary = self.dir.join("checkpoint.new");
        // Synced before the rename and the directory after it: a crash
        // leaves the old checkpoint or the new one, never a torn file.
        File::create(&temporary)
            .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
            .map_err(io(&temporary))?;
        std::fs::rename(&temporary, &path).map_err(io(&path))?;
        File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(io(&self.dir))
    }

    /// The index of an entry, by its leaf hash.
    pub fn find(&self, entry: &[u8]) -> Option<u64> {
        let leaf: Hash = leaf_hash(entry);
        (0..self.tree.size()).find(|&i| self.tree.leaf(i) == Some(&leaf))
    }

    /// An inclusion proof of `entry` against the current signed checkpoint.
    pub fn prove(&self, entry: &[u8]) -> Result<InclusionProof, LogError> {
        let index = self.find(entry).ok_or(LogError::NotFound)?;
        let size = self.tree.size();
        let hashes = self
            .tree
            .inclusion_proof(index, size)
            .ok_or(LogError::NotFound)?;
        Ok(InclusionProof {
            index,
            hashes,
            checkpoint: self.signed_checkpoint()?,
        })
    }

    /// Entries `[start, end)`, read from disk.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, LogError> {
        let path = self.dir.join("entries");
        let mut bytes = Vec::new();
        File::open(&path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io(&path))?;
        let mut entries = Vec::new();
        let mut rest = &bytes[..];
        let mut index = 0u64;
        while index < end {
            let corrupt = || LogError::Corrupt {
                path: self.dir.clone(),
                detail: format!("entry {index} is cut short"),
            };
            let (length, tail) = rest.split_at_checked(4).ok_or_else(corrupt)?;
            let length = u32::from_be_bytes([length[0], length[1], length[2], length[3]]);
            let (entry, tail) = tail.split_at_checked(length as usize).ok_or_else(corrupt)?;
            if index >= start {
                entries.push(entry.to_vec());
            }
            rest = tail;
            index += 1;
        }
        Ok(entries)
    }
}

fn read_text(path: &Path) -> Result<String, LogError> {
    std::fs::read_to_string(path).map_err(io(path))
}

fn append_file(path: &Path, bytes: &[u8]) -> Result<(), LogError> {
    let mut file = OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(io(path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_data())
        .map_err(io(path))
}
