//! Certificate policy processing, RFC 5280 §6.1.2–6.1.5: the
//! valid_policy_tree with policy mapping, requireExplicitPolicy,
//! inhibitPolicyMapping and inhibitAnyPolicy (each honoured whether its
//! extension is critical or not).

use std::collections::BTreeSet;

use x509_parser::der_parser::Oid;
use x509_parser::extensions::ParsedExtension;
use x509_parser::oid_registry as oids;
use x509_parser::prelude::X509Certificate;

/// anyPolicy, 2.5.29.32.0.
pub(crate) const ANY_POLICY: &str = "2.5.29.32.0";
/// A bound on the tree, so that crafted mappings cannot make it explode.
const MAX_NODES: usize = 4096;

/// What the relying party asks of policies (RFC 5280 §6.1.1 c, e, f, g).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PolicyRequest {
    /// user-initial-policy-set as dotted OIDs; empty means anyPolicy.
    pub initial: Vec<String>,
    /// initial-explicit-policy.
    pub require_explicit: bool,
    /// initial-policy-mapping-inhibit.
    pub inhibit_mapping: bool,
    /// initial-any-policy-inhibit.
    pub inhibit_any: bool,
}

/// The extensions policy processing reads (RFC 5280 §6.1.3 d, §6.1.4).
const POLICY_EXTENSIONS: [Oid<'static>; 4] = [
    oids::OID_X509_EXT_CERTIFICATE_POLICIES,
    oids::OID_X509_EXT_POLICY_MAPPINGS,
    oids::OID_X509_EXT_POLICY_CONSTRAINTS,
    oids::OID_X509_EXT_INHIBIT_ANY_POLICY,
];

#[derive(Clone, Debug)]
struct Node {
    policy: String,
    expected: BTreeSet<String>,
    parent: usize,
}

/// The outcome: `Ok(set)` with the user-constrained policy set (`None`
/// when the tree is empty and no explicit policy was required), or `Err`
/// with why the path fails policy processing.
pub(crate) type PolicyResult = Result<Option<Vec<String>>, String>;

/// Runs policy processing over `path`, ordered from the certificate after
/// the trust anchor down to the leaf (the anchor itself is not processed).
pub(crate) fn process(path: &[&X509Certificate<'_>], request: &PolicyRequest) -> PolicyResult {
    // Without any policy extension in the path the tree is empty after the
    // first certificate and nothing can make a policy explicit, so unless
    // the relying party asks for one the answer is "no policy applies":
    // known without building the tree.
    let no_policy_extensions = path.iter().all(|cert| {
        cert.extensions()
            .iter()
            .all(|e| !POLICY_EXTENSIONS.contains(&e.oid))
    });
    if no_policy_extensions && !request.require_explicit {
        return Ok(None);
    }
    let n = path.len();
    let start = n + 1;
    let mut explicit = if request.require_explicit { 0 } else { start };
    let mut mapping = if request.inhibit_mapping { 0 } else { start };
    let mut inhibit_any = if request.inhibit_any { 0 } else { start };
    let root = Node {
        policy: ANY_POLICY.into(),
        expected: [ANY_POLICY.to_owned()].into(),
        parent: 0,
    };
    let mut tree: Option<Vec<Vec<Node>>> = Some(vec![vec![root]]);
    for (index, cert) in path.iter().enumerate() {
        let i = index + 1;
        let facts = Facts::of(cert)?;
        let self_issued = cert.issuer().as_raw() == cert.subject().as_raw();
        tree = match (tree, &facts.policies) {
            (Some(levels), Some(policies)) => {
                let any_allowed = inhibit_any > 0 || (i < n && self_issued);
                grow(levels, policies, any_allowed)?
            }
            _ => None,
        };
        if explicit == 0 && tree.is_none() {
            return Err(format!(
                "certificate {} of the path leaves no valid policy while an explicit policy is required (RFC 5280 6.1.3 f)",
                n - index
            ));
        }
        if i == n {
            explicit = explicit.saturating_sub(1);
            if facts.require_explicit == Some(0) {
                explicit = 0;
            }
            break;
        }
        if let Some(levels) = tree.as_mut() {
            map(levels, &facts.mappings, mapping > 0)?;
            if levels.last().is_some_and(Vec::is_empty) {
                tree = None;
            }
        }
        if !self_issued {
            explicit = explicit.saturating_sub(1);
            mapping = mapping.saturating_sub(1);
            inhibit_any = inhibit_any.saturating_sub(1);
        }
        if let Some(r) = facts.require_explicit {
            explicit = explicit.min(r as usize);
        }
        if let Some(m) = facts.inhibit_mapping {
            mapping = mapping.min(m as usize);
        }
        if let Some(s) = facts.inhibit_any {
            inhibit_any = inhibit_any.min(s as usize);
        }
    }
    let constrained = tree.map(|levels| intersect(&levels, &request.initial));
    match constrained {
        Some(set) if !set.is_empty() => Ok(Some(set)),
        _ if explicit == 0 => Err(
            "no policy acceptable to the relying party is valid for the path, and an explicit policy is required (RFC 5280 6.1.5 g)"
                .into(),
        ),
        _ => Ok(None),
    }
}

struct Facts {
    policies: Option<Vec<String>>,
    mappings: Vec<(String, String)>,
    require_explicit: Option<u32>,
    inhibit_mapping: Option<u32>,
    inhibit_any: Option<u32>,
}

impl Facts {
    fn of(cert: &X509Certificate<'_>) -> Result<Facts, String> {
        let mut facts = Facts {
            policies: None,
            mappings: Vec::new(),
            require_explicit: None,
            inhibit_mapping: None,
            inhibit_any: None,
        };
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::CertificatePolicies(p) => {
                    let ids: Vec<String> = p.iter().map(|i| i.policy_id.to_id_string()).collect();
                    let unique: BTreeSet<&String> = ids.iter().collect();
                    if unique.len() != ids.len() {
                        return Err(
                            "certificatePolicies names a policy twice (RFC 5280 4.2.1.4)".into(),
                        );
                    }
                    facts.policies = Some(ids);
                }
                ParsedExtension::PolicyMappings(m) => {
                    for pair in &m.mappings {
                        let issuer = pair.issuer_domain_policy.to_id_string();
                        let subject = pair.subject_domain_policy.to_id_string();
                        if issuer == ANY_POLICY || subject == ANY_POLICY {
                            return Err("policyMappings maps anyPolicy (RFC 5280 6.1.4 a)".into());
                        }
                        facts.mappings.push((issuer, subject));
                    }
                }
                ParsedExtension::PolicyConstraints(pc) => {
                    if pc.require_explicit_policy.is_none() && pc.inhibit_policy_mapping.is_none() {
                        return Err("policyConstraints is empty (RFC 5280 4.2.1.11)".into());
                    }
                    facts.require_explicit = pc.require_explicit_policy;
                    facts.inhibit_mapping = pc.inhibit_policy_mapping;
                }
                ParsedExtension::InhibitAnyPolicy(ia) => facts.inhibit_any = Some(ia.skip_certs),
                _ => {}
            }
        }
        Ok(facts)
    }
}

/// §6.1.3 (d): adds the level of certificate `i`; `None` when it empties.
fn grow(
    mut levels: Vec<Vec<Node>>,
    policies: &[String],
    any_allowed: bool,
) -> Result<Option<Vec<Vec<Node>>>, String> {
    let parents = levels.last().cloned().unwrap_or_default();
    let mut level: Vec<Node> = Vec::new();
    for policy in policies.iter().filter(|p| *p != ANY_POLICY) {
        let mut matched = false;
        for (k, parent) in parents.iter().enumerate() {
            if parent.expected.contains(policy) {
                level.push(leaf(policy, k));
                matched = true;
            }
        }
        if !matched {
            for (k, parent) in parents.iter().enumerate() {
                if parent.policy == ANY_POLICY {
                    level.push(leaf(policy, k));
                }
            }
        }
    }
    if any_allowed && policies.iter().any(|p| p == ANY_POLICY) {
        for (k, parent) in parents.iter().enumerate() {
            for value in &parent.expected {
                let present = level.iter().any(|c| c.parent == k && &c.policy == value);
                if !present {
                    level.push(leaf(value, k));
                }
            }
        }
    }
    if levels.iter().map(Vec::len).sum::<usize>() + level.len() > MAX_NODES {
        return Err("the certificate policies of the path are too complex to evaluate".into());
    }
    levels.push(level);
    prune(&mut levels);
    Ok((!levels.last().is_some_and(Vec::is_empty)).then_some(levels))
}

fn leaf(policy: &str, parent: usize) -> Node {
    Node {
        policy: policy.to_owned(),
        expected: [policy.to_owned()].into(),
        parent,
    }
}

/// Removes nodes (above the deepest level) that have no child.
fn prune(levels: &mut [Vec<Node>]) {
    for depth in (0..levels.len().saturating_sub(1)).rev() {
        let (upper, lower) = levels.split_at_mut(depth + 1);
        let children = &mut lower[0];
        let kept: Vec<usize> = (0..upper[depth].len())
            .filter(|k| children.iter().any(|c| c.parent == *k))
            .collect();
        let renumber = |old: usize| kept.iter().position(|k| *k == old).unwrap_or(0);
        for child in children.iter_mut() {
            child.parent = renumber(child.parent);
        }
        let nodes = std::mem::take(&mut upper[depth]);
        upper[depth] = nodes
            .into_iter()
            .enumerate()
            .filter(|(k, _)| kept.contains(k))
            .map(|(_, n)| n)
            .collect();
    }
}

/// §6.1.4 (b): applies the mappings of certificate `i` to its level.
fn map(
    levels: &mut [Vec<Node>],
    mappings: &[(String, String)],
    allowed: bool,
) -> Result<(), String> {
    let issuer_policies: BTreeSet<&String> = mappings.iter().map(|(i, _)| i).collect();
    let depth = levels.len() - 1;
    for id in issuer_policies {
        let targets: BTreeSet<String> = mappings
            .iter()
            .filter(|(i, _)| i == id)
            .map(|(_, s)| s.clone())
            .collect();
        if !allowed {
            levels[depth].retain(|node| &node.policy != id);
            continue;
        }
        let level = &mut levels[depth];
        let mut found = false;
        for node in level.iter_mut().filter(|node| &node.policy == id) {
            node.expected = targets.clone();
            found = true;
        }
        if !found && let Some(any) = level.iter().find(|node| node.policy == ANY_POLICY) {
            let parent = any.parent;
            level.push(Node {
                policy: id.clone(),
                expected: targets,
                parent,
            });
        }
    }
    prune(levels);
    Ok(())
}

/// §6.1.5 (g): the policies, named in the trust anchor's domain (the
/// node where each first leaves anyPolicy), that reach the leaf and that
/// the relying party accepts.
fn intersect(levels: &[Vec<Node>], initial: &[String]) -> Vec<String> {
    let Some(last) = levels.last() else {
        return Vec::new();
    };
    let any_requested = initial.is_empty() || initial.iter().any(|p| p == ANY_POLICY);
    let mut out = BTreeSet::new();
    for (k, _) in last.iter().enumerate() {
        let mut authority = ANY_POLICY;
        let mut index = k;
        for depth in (1..levels.len()).rev() {
            let node = &levels[depth][index];
            if node.policy != ANY_POLICY {
                authority = &node.policy;
            }
            index = node.parent;
        }
        match (any_requested, authority == ANY_POLICY) {
            (true, _) => {
                out.insert(authority.to_owned());
            }
            (false, true) => out.extend(initial.iter().cloned()),
            (false, false) if initial.iter().any(|p| p == authority) => {
                out.insert(authority.to_owned());
            }
            _ => {}
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use x509_parser::prelude::FromDer;

    /// A path without policy extensions: no policy applies, unless the
    /// relying party requires an explicit one, which then fails.
    #[test]
    fn a_path_without_policy_extensions() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let root = pkilab_ca::CertificateAuthority::new_root(
            "Policy Root",
            pkilab_ca::CaKey::ed25519_from_seed(&[6; 32]).expect("key"),
            at,
            at + time::Duration::days(30),
            pkilab_ca::Serial::from_bytes([1; 20]),
        )
        .expect("root");
        let (_, cert) = X509Certificate::from_der(root.certificate_der()).expect("parses");
        let path = [&cert, &cert];
        for initial in [Vec::new(), vec!["1.3.6.1.4.1.99999.1".to_owned()]] {
            let request = PolicyRequest {
                initial: initial.clone(),
                ..PolicyRequest::default()
            };
            assert_eq!(process(&path, &request), Ok(None));
            let required = PolicyRequest {
                initial,
                require_explicit: true,
                ..PolicyRequest::default()
            };
            assert!(process(&path, &required).is_err());
        }
    }
}
