#![allow(clippy::panic)]
//! Every inclusion and consistency vector of transparency-dev/merkle
//! (`tests/tlog-vectors/`, as published, with their licence), plain and subtree: each proof verifies
//! exactly when the vector says it should.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use pkilab_tlog::merkle::{
    Hash, verify_consistency, verify_inclusion, verify_subtree_consistency,
    verify_subtree_inclusion,
};
use serde_json::Value;

fn vectors(kind: &str) -> Vec<(PathBuf, Value)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/tlog-vectors")
        .join(kind);
    let mut found = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).expect("read");
                found.push((path, serde_json::from_str(&text).expect("JSON")));
            }
        }
    }
    assert!(!found.is_empty(), "no vectors under {}", root.display());
    found
}

/// A hash field; `None` when it is not 32 bytes (such a vector must fail).
fn hash(v: &Value) -> Option<Hash> {
    let bytes = STANDARD.decode(v.as_str().unwrap_or_default()).ok()?;
    Hash::try_from(bytes).ok()
}

/// A root as the byte string it is (consistency proofs compare roots of
/// equal trees as given).
fn bytes(v: &Value) -> Vec<u8> {
    STANDARD
        .decode(v.as_str().unwrap_or_default())
        .unwrap_or_default()
}

fn proof(v: &Value) -> Option<Vec<Hash>> {
    v.as_array()
        .map_or(Some(Vec::new()), |a| a.iter().map(hash).collect())
}

fn number(v: &Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

fn check(kind: &str, verdict: impl Fn(&Value) -> bool) -> usize {
    let all = vectors(kind);
    for (path, v) in &all {
        let want_error = v["wantErr"].as_bool().expect("wantErr");
        assert_eq!(verdict(v), !want_error, "{}: {}", path.display(), v["desc"]);
    }
    all.len()
}

#[test]
fn inclusion_vectors() {
    let n = check("inclusion", |v| {
        let (Some(leaf), Some(root), Some(proof)) =
            (hash(&v["leafHash"]), hash(&v["root"]), proof(&v["proof"]))
        else {
            return false;
        };
        verify_inclusion(
            &proof,
            number(v, "leafIdx"),
            number(v, "treeSize"),
            &leaf,
            &root,
        )
        .is_ok()
    });
    assert!(n > 50, "{n}");
}

#[test]
fn consistency_vectors() {
    let n = check("consistency", |v| {
        let (root1, root2, Some(proof)) =
            (bytes(&v["root1"]), bytes(&v["root2"]), proof(&v["proof"]))
        else {
            return false;
        };
        verify_consistency(
            &proof,
            (number(v, "size1"), &root1),
            (number(v, "size2"), &root2),
        )
        .is_ok()
    });
    assert!(n > 50, "{n}");
}

#[test]
fn subtree_inclusion_vectors() {
    check("subtreeinclusion", |v| {
        let (Some(leaf), Some(root), Some(proof)) =
            (hash(&v["leafHash"]), hash(&v["root"]), proof(&v["proof"]))
        else {
            return false;
        };
        let range = (number(v, "start"), number(v, "end"));
        verify_subtree_inclusion(&proof, number(v, "leafIdx"), &leaf, range, &root).is_ok()
    });
}

#[test]
fn subtree_consistency_vectors() {
    check("subtreeconsistency", |v| {
        let (root1, root2, Some(proof)) =
            (bytes(&v["root1"]), bytes(&v["root2"]), proof(&v["proof"]))
        else {
            return false;
        };
        let range = (number(v, "start"), number(v, "end"));
        verify_subtree_consistency(&proof, range, number(v, "size"), &root1, &root2).is_ok()
    });
}
