//! An append-only Merkle tree that keeps every complete subtree's hash, so
//! roots and proofs for any size cost O(log n) hashes.

use crate::merkle::{Hash, empty_root, leaf_hash, node_hash};

/// The tree. `levels[l][i]` is the hash of the complete subtree of `2^l`
/// entries starting at entry `i · 2^l` (the "stored hashes" of
/// c2sp.org/tlog-tiles, level by level).
#[derive(Clone, Debug, Default)]
pub struct Tree {
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    /// An empty tree.
    pub fn new() -> Tree {
        Tree::default()
    }

    /// The number of entries.
    pub fn size(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Appends an entry; returns its index.
    pub fn append(&mut self, entry: &[u8]) -> u64 {
        self.append_hash(leaf_hash(entry))
    }

    /// Appends an entry by its leaf hash; returns its index.
    pub fn append_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.size();
        let mut hash = leaf;
        let mut level = 0;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(hash);
            let n = row.len();
            if n % 2 == 1 {
                break;
            }
            hash = node_hash(&row[n - 2], &row[n - 1]);
            level += 1;
        }
        index
    }

    /// The stored hash of the complete subtree at `level`, `index`.
    pub fn stored(&self, level: usize, index: u64) -> Option<&Hash> {
        self.levels.get(level)?.get(usize::try_from(index).ok()?)
    }

    /// The leaf hash of entry `index`.
    pub fn leaf(&self, index: u64) -> Option<&Hash> {
        self.stored(0, index)
    }

    /// The hash of entries `[start, end)`, which must lie within the tree;
    /// `start` must be a multiple of the largest power of two below the
    /// size, as every range in RFC 9162's recursion is.
    fn range_hash(&self, start: u64, end: u64) -> Hash {
        let size = end - start;
        if size.is_power_of_two() {
            let level = size.trailing_zeros() as usize;
            return self.levels[level][(start >> level) as usize];
        }
        let k = split(size);
        node_hash(
            &self.range_hash(start, start + k),
            &self.range_hash(start + k, end),
        )
    }

    /// The root of the tree's first `size` entries (MTH, RFC 9162 §2.1.1).
    pub fn root(&self, size: u64) -> Option<Hash> {
        match size {
            0 => Some(empty_root()),
            n if n <= self.size() => Some(self.range_hash(0, n)),
            _ => None,
        }
    }

    /// The inclusion proof of entry `index` in the tree of the first
    /// `size` entries (PATH, RFC 9162 §2.1.3.1).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Option<Vec<Hash>> {
        if index >= size || size > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        self.path(index, 0, size, &mut proof);
        Some(proof)
    }

    fn path(&self, index: u64, start: u64, end: u64, proof: &mut Vec<Hash>) {
        let size = end - start;
        if size <= 1 {
            return;
        }
        let k = split(size);
        if index < start + k {
            self.path(index, start, start + k, proof);
            proof.push(self.range_hash(start + k, end));
        } else {
            self.path(index, start + k, end, proof);
            proof.push(self.range_hash(start, start + k));
        }
    }

    /// The consistency proof from the first `old` entries to the first
    /// `new` (PROOF, RFC 9162 §2.1.4.1).
    pub fn consistency_proof(&self, old: u64, new: u64) -> Option<Vec<Hash>> {
        if old == 0 || old > new || new > self.size() {
            return None;
        }
        let mut proof = Vec::new();
        self.subproof(old, 0, new, true, &mut proof);
        Some(proof)
    }

    fn subproof(&self, m: u64, start: u64, end: u64, whole: bool, proof: &mut Vec<Hash>) {
        let n = end - start;
        if m == n {
            if !whole {
                proof.push(self.range_hash(start, end));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, start + k, whole, proof);
            proof.push(self.range_hash(start + k, end));
        } else {
            self.subproof(m - k, start + k, end, false, proof);
            proof.push(self.range_hash(start, start + k));
        }
    }
}

/// The largest power of two below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{verify_consistency, verify_inclusion};

    fn naive_root(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => empty_root(),
            1 => leaves[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&naive_root(&leaves[..k]), &naive_root(&leaves[k..]))
            }
        }
    }

    #[test]
    fn roots_and_proofs_agree_with_the_definitions_for_every_small_size() {
        let mut tree = Tree::new();
        let mut leaves = Vec::new();
        for i in 0u32..70 {
            tree.append(&i.to_be_bytes());
            leaves.push(leaf_hash(&i.to_be_bytes()));
        }
        for size in 1..=70u64 {
            let root = tree.root(size).expect("root");
            assert_eq!(root, naive_root(&leaves[..size as usize]), "size {size}");
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).expect("proof");
                verify_inclusion(&proof, index, size, &leaves[index as usize], &root)
                    .unwrap_or_else(|e| panic!("{index} in {size}: {e}"));
            }
            for old in 1..=size {
                let proof = tree.consistency_proof(old, size).expect("proof");
                let old_root = tree.root(old).expect("old root");
                verify_consistency(&proof, (old, &old_root[..]), (size, &root[..]))
                    .unwrap_or_else(|e| panic!("{old} → {size}: {e}"));
            }
        }
        assert_eq!(tree.root(0), Some(empty_root()));
        assert_eq!(tree.root(71), None);
        assert_eq!(tree.inclusion_proof(70, 70), None);
    }
}
