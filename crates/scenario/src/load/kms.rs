//! Checking the `kms:` section: the node's name is free, each group key has
//! a usable name, known members and a valid lifetime.

use std::collections::BTreeSet;

use serde_saphyr::Spanned;

use super::{Checked, Checker, list};
use crate::model::KmsDoc;
use crate::script::{GroupKey, KmsSetup};

impl Checker<'_> {
    pub(super) fn kms(&self, doc: &Spanned<KmsDoc>, peers: &BTreeSet<&str>) -> Checked<KmsSetup> {
        let at = doc.referenced;
        let name = doc.value.name.clone().unwrap_or_else(|| "kms".into());
        if !super::is_peer_name(&name) {
            return Err(self.err(
                at,
                format!("'{name}' is not a usable name for the KMS node"),
                "the KMS node is a node like the peers: its name is a DNS label (lowercase letters, digits and '-')",
            ));
        }
        if peers.contains(name.as_str()) {
            return Err(self.err(
                at,
                format!("the KMS node's name '{name}' is also a peer"),
                "give the KMS node its own name: kms: { name: keyserver }",
            ));
        }
        let mut keys = Vec::new();
        let mut seen = BTreeSet::new();
        for key in &doc.value.keys {
            let at = key.referenced;
            let k = &key.value;
            let usable = !k.name.is_empty()
                && k.name.len() <= 64
                && k.name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !usable {
                return Err(self.err(
                    at,
                    format!("'{}' is not a usable key name", k.name),
                    "use 1 to 64 letters, digits, '.', '_' or '-'",
                ));
            }
            if !seen.insert(k.name.as_str()) {
                return Err(self.err(
                    at,
                    format!("key '{}' is declared twice", k.name),
                    "give each group key its own name",
                ));
            }
            for member in &k.members {
                if !peers.contains(member.as_str()) {
                    return Err(self.err(
                        at,
                        format!("member '{member}' of key '{}' is not a peer", k.name),
                        format!("members are peers (known: {})", list(peers.iter().copied())),
                    ));
                }
            }
            keys.push(GroupKey {
                name: k.name.clone(),
                members: k.members.clone(),
                expires_in: k
                    .expires_in
                    .as_ref()
                    .map(|d| self.duration(d))
                    .transpose()?,
            });
        }
        Ok(KmsSetup { name, keys })
    }
}
