//! A transparency log for the certificates a CA issues.
//!
//! - [`merkle`]: RFC 9162 hashing, inclusion and consistency proof
//!   verification (and their subtree forms), checked against the
//!   transparency-dev/merkle test vectors;
//! - [`tree`]: an append-only tree that keeps every complete subtree's hash
//!   and proves inclusion and consistency for any size;
//! - [`note`]: checkpoints (c2sp.org/tlog-checkpoint) signed as notes
//!   (c2sp.org/signed-note) with the log's Ed25519 key;
//! - [`tiles`]: the tree and its entries as c2sp.org/tlog-tiles files;
//! - [`proof`]: an inclusion proof as a file a relying party checks;
//! - [`log`]: the log on disk.
//!
//! ```
//! use pkilab_tlog::{merkle, tree::Tree};
//!
//! let mut tree = Tree::new();
//! for certificate in [&b"first"[..], b"second", b"third"] {
//!     tree.append(certificate);
//! }
//! let root = tree.root(3).expect("three entries");
//! let proof = tree.inclusion_proof(1, 3).expect("entry 1");
//! merkle::verify_inclusion(&proof, 1, 3, &merkle::leaf_hash(b"second"), &root)
//!     .expect("logged");
//! assert!(merkle::verify_inclusion(&proof, 1, 3, &merkle::leaf_hash(b"forged"), &root).is_err());
//! ```
#![forbid(unsafe_code)]

pub mod log;
pub mod merkle;
pub mod note;
pub mod proof;
pub mod tiles;
pub mod tree;

pub use log::{Log, LogError};
pub use note::Checkpoint;
pub use proof::{InclusionProof, NotLogged};
pub use tree::Tree;
