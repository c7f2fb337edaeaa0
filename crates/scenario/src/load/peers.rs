//! Checking `peers:`: names, generated counts, and each peer's own policy
//! (whom it accepts, which modes, which CAs it trusts, how it treats
//! revocation).

use std::collections::{BTreeMap, BTreeSet};

use serde_saphyr::{Location, Spanned};

use super::{Checked, Checker, MAX_GENERATED_PEERS, is_peer_name, list};
use crate::model::{PeerEntry, PeersDoc, RevocationDoc};
use crate::script::PeerSetup;

/// The peers' names in order, and the policies of those that have one.
pub(super) type Peers = (Vec<String>, BTreeMap<String, PeerSetup>);

impl Checker<'_> {
    pub(super) fn peers(
        &self,
        doc: &Spanned<PeersDoc>,
        rogue: &[String],
        ocsp: bool,
    ) -> Checked<Peers> {
        let at = doc.referenced;
        let mut policies = BTreeMap::new();
        let named: Vec<(Location, String)> = match &doc.value {
            PeersDoc::Named(entries) => {
                let mut names = Vec::with_capacity(entries.len());
                for entry in entries {
                    let at = entry.referenced;
                    match &entry.value {
                        PeerEntry::Name(name) => names.push((at, name.clone())),
                        PeerEntry::Boolean(value) => return Err(self.boolean_name(at, *value)),
                        PeerEntry::Full(p) => {
                            let setup = self.policy(at, &p.name, p, (rogue, ocsp))?;
                            policies.insert(p.name.clone(), setup);
                            names.push((at, p.name.clone()));
                        }
                    }
                }
                names
            }
            PeersDoc::Generated { count, prefix } => {
                if !(2..=u64::from(MAX_GENERATED_PEERS)).contains(count) {
                    return Err(self.err(
                        at,
                        format!("peers.count is {count}"),
                        format!("use between 2 and {MAX_GENERATED_PEERS} peers"),
                    ));
                }
                (0..*count).map(|i| (at, format!("{prefix}{i}"))).collect()
            }
        };
        let mut seen = BTreeSet::new();
        for (at, name) in &named {
            if !is_peer_name(name) {
                return Err(self.err(*at, format!("'{name}' is not a usable peer name"), "peer names are DNS labels: lowercase letters, digits and '-', not starting or ending with '-', at most 63 characters"));
            }
            if !seen.insert(name.as_str()) {
                return Err(self.err(
                    *at,
                    format!("peer '{name}' is listed twice"),
                    "give every peer a distinct name",
                ));
            }
        }
        if named.len() < 2 {
            return Err(self.err(
                at,
                "a scenario needs at least two peers",
                "list two or more names under `peers:`",
            ));
        }
        Ok((named.into_iter().map(|(_, n)| n).collect(), policies))
    }

    /// YAML 1.1 reads `y`, `n`, `yes`, `no`, `on` and `off` as booleans;
    /// a name written that way never reaches us as text.
    pub(super) fn boolean_name(&self, at: Location, value: bool) -> super::Invalid {
        let spelled = if value {
            "y, yes, on or true"
        } else {
            "n, no, off or false"
        };
        self.err(
            at,
            format!("a peer name here reads as the boolean {value}: YAML takes {spelled} for a yes/no value, not a name"),
            "quote the name (\"y\", \"on\") or choose another one",
        )
    }

    fn policy(
        &self,
        at: Location,
        name: &str,
        p: &crate::model::PeerDoc,
        (rogue, ocsp): (&[String], bool),
    ) -> Checked<PeerSetup> {
        if let Some(accept) = &p.accept {
            if accept.is_empty() {
                return Err(self.err(
                    at,
                    format!("peer '{name}' accepts nobody"),
                    "list at least one name under `accept:`, or leave it out to accept any name the trust anchors vouch for",
                ));
            }
            let usable = |n: &String| match n.strip_suffix('*') {
                Some(stem) => {
                    stem.len() < 63
                        && !stem.starts_with('-')
                        && stem
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                }
                None => is_peer_name(n),
            };
            if let Some(bad) = accept.iter().find(|n| !usable(n)) {
                return Err(self.err(
                    at,
                    format!("'{bad}' in the accept list of '{name}' is not a usable name or pattern"),
                    "write peer names (DNS labels: lowercase letters, digits and '-'), or a prefix ending in '*' such as node*",
                ));
            }
        }
        for ca in &p.trusts {
            if !rogue.contains(ca) {
                return Err(self.err(
                    at,
                    format!("peer '{name}' trusts '{ca}', which is not a rogue CA of this PKI"),
                    format!(
                        "declare it under pki.rogue (known: {}); the root is trusted already",
                        list(rogue.iter().map(String::as_str))
                    ),
                ));
            }
        }
        let (revocation, soft_fail) = self.revocation(name, p, ocsp)?;
        Ok(PeerSetup {
            accept: p.accept.clone(),
            modes: p.modes.clone(),
            trusts: p.trusts.clone(),
            revocation,
            soft_fail,
            require_logged: p.require_logged,
        })
    }

    /// A peer's revocation checking, with `soft-fail` folded in: `crl`
    /// becomes `hard` or `soft`; the OCSP modes need a responder.
    fn revocation(
        &self,
        name: &str,
        p: &crate::model::PeerDoc,
        ocsp: bool,
    ) -> Checked<(RevocationDoc, bool)> {
        let revocation = p
            .revocation
            .as_ref()
            .map_or(RevocationDoc::Hard, |r| r.value);
        let soft_fail = p.soft_fail.as_ref().map(|s| (s.referenced, s.value));
        match (revocation, soft_fail) {
            (RevocationDoc::Hard | RevocationDoc::Soft | RevocationDoc::None, Some((at, _))) => {
                Err(self.err(
                    at,
                    format!("peer '{name}' sets soft-fail with revocation {}", id(revocation)),
                    "soft-fail goes with revocation: crl, ocsp or ocsp-staple (hard and soft already say whether it fails soft; none checks nothing)",
                ))
            }
            (RevocationDoc::Ocsp | RevocationDoc::OcspStaple, _) if !ocsp => {
                let at = p.revocation.as_ref().map_or(Location::UNKNOWN, |r| r.referenced);
                Err(self.err(
                    at,
                    format!("peer '{name}' checks revocation by {} but the scenario has no OCSP responder", id(revocation)),
                    "declare one at the top level: ocsp: { validity: 1h }",
                ))
            }
            (RevocationDoc::Crl, soft) => Ok((
                if soft.is_some_and(|(_, s)| s) {
                    RevocationDoc::Soft
                } else {
                    RevocationDoc::Hard
                },
                false,
            )),
            (other, soft) => Ok((other, soft.is_some_and(|(_, s)| s))),
        }
    }
}

/// How a revocation setting is written.
fn id(revocation: RevocationDoc) -> &'static str {
    match revocation {
        RevocationDoc::Hard => "hard",
        RevocationDoc::Soft => "soft",
        RevocationDoc::None => "none",
        RevocationDoc::Crl => "crl",
        RevocationDoc::Ocsp => "ocsp",
        RevocationDoc::OcspStaple => "ocsp-staple",
    }
}
