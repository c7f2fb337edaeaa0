//! Merkle tree hashing and proof verification (RFC 9162 §2.1), in the
//! generalised form of subtrees that draft-ietf-plants-merkle-tree-certs
//! §4 gives: an ordinary inclusion proof is a subtree inclusion proof for
//! `[0, size)`, an ordinary consistency proof a subtree consistency proof
//! for `[0, old size)`.

use aws_lc_rs::digest::{Context, SHA256};

/// A SHA-256 tree node or leaf hash.
pub type Hash = [u8; 32];

/// Why a proof does not verify.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The interval is not a subtree of a Merkle tree (RFC 9162 trees only
    /// have subtrees of aligned power-of-two sizes, and a right edge).
    #[error("[{start}, {end}) is not a subtree")]
    NotASubtree {
        /// First entry.
        start: u64,
        /// One past the last entry.
        end: u64,
    },
    /// The entry is outside the tree or subtree.
    #[error("entry {index} is not in [{start}, {end})")]
    OutOfRange {
        /// The entry.
        index: u64,
        /// First entry.
        start: u64,
        /// One past the last entry.
        end: u64,
    },
    /// The subtree ends beyond the tree.
    #[error("the subtree ends at {end}, beyond the tree's {size} entries")]
    BeyondTree {
        /// One past the subtree's last entry.
        end: u64,
        /// The tree size.
        size: u64,
    },
    /// The proof has more or fewer hashes than the sizes call for.
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    /// The proof leads to another root (or subtree hash).
    #[error("the proof leads to another root")]
    Mismatch,
}

/// The hash of a leaf: SHA-256(0x00 ‖ entry) (RFC 9162 §2.1.1).
pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[0]);
    context.update(entry);
    finish(context)
}

/// The hash of an interior node: SHA-256(0x01 ‖ left ‖ right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(&[1]);
    context.update(left);
    context.update(right);
    finish(context)
}

/// The root of the empty tree: SHA-256 of the empty string.
pub fn empty_root() -> Hash {
    finish(Context::new(&SHA256))
}

fn finish(context: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Whether `[start, end)` is a subtree: non-empty, and `start` a multiple
/// of the smallest power of two not below its size.
pub fn is_valid_subtree(start: u64, end: u64) -> bool {
    start < end
        && (end - start)
            .checked_next_power_of_two()
            .is_some_and(|k| start.is_multiple_of(k))
}

/// The subtree hash an inclusion proof leads to, for the entry at `index`
/// (with hash `entry`) in the subtree `[start, end)`.
pub fn evaluate_subtree_inclusion(
    proof: &[Hash],
    index: u64,
    entry: &Hash,
    start: u64,
    end: u64,
) -> Result<Hash, ProofError> {
    if !is_valid_subtree(start, end) {
        return Err(ProofError::NotASubtree { start, end });
    }
    if !(start..end).contains(&index) {
        return Err(ProofError::OutOfRange { index, start, end });
    }
    let (mut f, mut s) = (index - start, end - start - 1);
    let mut r = *entry;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    Ok(r)
}

/// Checks an inclusion proof of `entry` at `index` in the subtree
/// `[start, end)` whose hash is `subtree`.
pub fn verify_subtree_inclusion(
    proof: &[Hash],
    index: u64,
    entry: &Hash,
    (start, end): (u64, u64),
    subtree: &Hash,
) -> Result<(), ProofError> {
    let computed = evaluate_subtree_inclusion(proof, index, entry, start, end)?;
    if computed == *subtree {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Checks an inclusion proof of `entry` at `index` in the tree of `size`
/// entries with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    proof: &[Hash],
    index: u64,
    size: u64,
    entry: &Hash,
    root: &Hash,
) -> Result<(), ProofError> {
    verify_subtree_inclusion(proof, index, entry, (0, size), root)
}

/// Checks that the subtree `[start, end)` with hash `subtree` is part of
/// the tree of `size` entries with root `root`. Hashes are byte strings:
/// a proof that needs no hashing compares them as they are. An empty
/// subtree is part of any tree it ends within, with the empty hash.
pub fn verify_subtree_consistency(
    proof: &[Hash],
    (start, end): (u64, u64),
    size: u64,
    subtree: &[u8],
    root: &[u8],
) -> Result<(), ProofError> {
    if start == end && end <= size {
        return if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else if subtree == empty_root() {
            Ok(())
        } else {
            Err(ProofError::Mismatch)
        };
    }
    if !is_valid_subtree(start, end) {
        return Err(ProofError::NotASubtree { start, end });
    }
    if end > size {
        return Err(ProofError::BeyondTree { end, size });
    }
    let (mut f, mut s, mut t) = (start, end - 1, size - 1);
    // Skip to the first node the proof starts from: the subtree itself
    // when it is the tree's right edge, else the lowest node where the
    // subtree's right edge turns.
    while f != s && (s == t || s & 1 == 1) {
        f >>= 1;
        s >>= 1;
        t >>= 1;
    }
    let mut hashes = proof.iter();
    let first = if f == s {
        if proof.is_empty() {
            // Nothing to hash: the subtree is the whole tree.
            return if t == 0 && subtree == root {
                Ok(())
            } else if t != 0 {
                Err(ProofError::WrongLength)
            } else {
                Err(ProofError::Mismatch)
            };
        }
        Hash::try_from(subtree).map_err(|_| ProofError::Mismatch)?
    } else {
        *hashes.next().ok_or(ProofError::WrongLength)?
    };
    let (mut fr, mut sr) = (first, first);
    for c in hashes {
        if t == 0 {
            return Err(ProofError::WrongLength);
        }
        if s & 1 == 1 || s == t {
            if f < s {
                fr = node_hash(c, &fr);
            }
            sr = node_hash(c, &sr);
            while s & 1 == 0 && s != 0 {
                f >>= 1;
                s >>= 1;
                t >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        f >>= 1;
        s >>= 1;
        t >>= 1;
    }
    if t != 0 {
        return Err(ProofError::WrongLength);
    }
    if fr[..] == *subtree && sr[..] == *root {
        Ok(())
    } else {
        Err(ProofError::Mismatch)
    }
}

/// Checks that the tree of `old_size` entries with root `old_root` is a
/// prefix of the tree of `new_size` entries with root `new_root` (RFC 9162
/// §2.1.4.2). A proof from the empty tree proves nothing and is refused.
pub fn verify_consistency(
    proof: &[Hash],
    (old_size, old_root): (u64, &[u8]),
    (new_size, new_root): (u64, &[u8]),
) -> Result<(), ProofError> {
    if old_size == 0 {
        return Err(ProofError::NotASubtree { start: 0, end: 0 });
    }
    verify_subtree_consistency(proof, (0, old_size), new_size, old_root, new_root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_are_aligned_powers_of_two_or_a_right_edge() {
        assert!(is_valid_subtree(0, 1));
        assert!(is_valid_subtree(4, 8));
        assert!(is_valid_subtree(8, 13));
        assert!(!is_valid_subtree(0, 0));
        assert!(!is_valid_subtree(2, 6));
        assert!(!is_valid_subtree(3, 5));
    }
}
