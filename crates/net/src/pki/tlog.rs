//! The simulated CA's transparency log: every certificate the issuing CA
//! issues is appended to an RFC 9162 Merkle tree, and the holder gets an
//! inclusion proof against a checkpoint signed with the log's Ed25519 key
//! (derived from the issuing CA's seed, so from the scenario's seed).
//!
//! A dishonest log can keep a split view: from the moment it splits, the
//! peers it names are shown a tree of their own, in which it hides
//! entries from everyone else. Two peers that compare checkpoints
//! (gossip) catch it: no consistency proof joins the two trees.

use aws_lc_rs::digest::{SHA256, digest};
use ed25519_dalek::{SigningKey, VerifyingKey};
use pkilab_tlog::note::{Checkpoint, open, sign};
use pkilab_tlog::{InclusionProof, Tree};

/// The log's origin line in its checkpoints.
pub const ORIGIN: &str = "pkilab.sim/log";

/// One view of the log: its tree and the entries (DER) in order.
#[derive(Clone, Default)]
pub(crate) struct View {
    tree: Tree,
    entries: Vec<Vec<u8>>,
}

impl View {
    fn append(&mut self, der: &[u8]) -> u64 {
        self.entries.push(der.to_vec());
        self.tree.append(der)
    }

    /// Entries `from..` of this view.
    pub(crate) fn entries_since(&self, from: u64) -> &[Vec<u8>] {
        let from = usize::try_from(from).unwrap_or(usize::MAX);
        self.entries.get(from..).unwrap_or_default()
    }

    /// The consistency proof from size `old` to this view's size.
    pub(crate) fn consistency(&self, old: u64) -> Option<Vec<[u8; 32]>> {
        self.tree.consistency_proof(old, self.tree.size())
    }
}

/// The log: the view everyone sees, and a hidden one after a split.
pub(crate) struct SimLog {
    key: SigningKey,
    public: View,
    /// After a split: who is shown the other tree, and that tree.
    split: Option<(Vec<String>, View)>,
}

impl SimLog {
    /// A log whose key is derived from the issuing CA's seed.
    pub(crate) fn new(seed: &[u8; 32]) -> SimLog {
        let derived = digest(
            &SHA256,
            &[&b"pkilab sim transparency log key"[..], seed].concat(),
        );
        let mut bytes = zeroize::Zeroizing::new([0u8; 32]);
        bytes.copy_from_slice(derived.as_ref());
        SimLog {
            key: SigningKey::from_bytes(&bytes),
            public: View::default(),
            split: None,
        }
    }

    /// The key relying parties check checkpoints with.
    pub(crate) fn verifying_key(&self) -> VerifyingKey {
        self.key.verifying_key()
    }

    /// The view `peer` is shown.
    pub(crate) fn view_for(&self, peer: &str) -> &View {
        match &self.split {
            Some((shown, hidden)) if shown.iter().any(|s| s == peer) => hidden,
            _ => &self.public,
        }
    }

    /// Appends a certificate to every view (`hidden`: only to the split
    /// view, or to every view when there is none); returns its proof in
    /// the last view it went into, encoded.
    pub(crate) fn append(&mut self, der: &[u8], hidden: bool) -> Vec<u8> {
        let view = match (&mut self.split, hidden) {
            (Some((_, view)), true) => view,
            (Some((_, view)), false) => {
                view.append(der);
                &mut self.public
            }
            (None, _) => &mut self.public,
        };
        let index = view.append(der);
        let size = view.tree.size();
        let hashes = view.tree.inclusion_proof(index, size).unwrap_or_default();
        let checkpoint = signed(&self.key, &view.tree);
        InclusionProof {
            index,
            hashes,
            checkpoint,
        }
        .encode()
        .into_bytes()
    }

    /// From now on, `shown` see a tree of their own (a copy of the tree as
    /// it is now) and hidden entries go only into it.
    pub(crate) fn show_apart(&mut self, shown: Vec<String>) {
        self.split = Some((shown, self.public.clone()));
    }

    /// Whether the log keeps a split view.
    pub(crate) fn is_split(&self) -> bool {
        self.split.is_some()
    }

    /// The signed checkpoint `peer` is shown now.
    pub(crate) fn checkpoint_for(&self, peer: &str) -> String {
        signed(&self.key, &self.view_for(peer).tree)
    }

    /// Opens a checkpoint of this log.
    pub(crate) fn open(&self, note: &str) -> Option<Checkpoint> {
        open(note, &self.verifying_key()).ok()
    }
}

fn signed(key: &SigningKey, tree: &Tree) -> String {
    let size = tree.size();
    let root = tree
        .root(size)
        .unwrap_or_else(pkilab_tlog::merkle::empty_root);
    sign(
        &Checkpoint {
            origin: ORIGIN.to_owned(),
            size,
            root,
        },
        key,
    )
}
