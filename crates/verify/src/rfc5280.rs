//! RFC 5280 §6.1 path building and processing, used as a second opinion
//! when rustls-webpki refuses a path for a reason where it is stricter than
//! RFC 5280 or cannot express it: self-issued certificates (exempt from
//! pathLen and name constraints), and directoryName and rfc822Name
//! constraints. A CA certificate as the leaf stays refused, as webpki and
//! CA/B Forum 7.1.2.7 have it.
//!
//! Every check webpki makes on a path is made here too (signatures,
//! validity, basic constraints, keyCertSign, EKU chaining, critical
//! extensions, name constraints), so falling back never loosens a rule.

use std::net::IpAddr;

use time::OffsetDateTime;
use x509_parser::extensions::{GeneralName, NameConstraints, ParsedExtension};
use x509_parser::oid_registry as oids;
use x509_parser::prelude::{X509Certificate, X509Name};

use crate::signature;
use crate::verdict::Usage;

/// Most intermediates a path may hold.
const MAX_INTERMEDIATES: usize = 8;
/// Most signature checks one path search may spend (a bound on adversarial
/// certificate sets).
const MAX_SIGNATURE_CHECKS: usize = 256;

/// A certificate offered for path building.
pub(crate) struct Offered<'a> {
    pub(crate) cert: X509Certificate<'a>,
    pub(crate) anchor: bool,
}

/// A path found: indices into the offered certificates, leaf's issuer
/// first, the anchor last.
pub(crate) type Found = Vec<usize>;

/// Searches for a path from `leaf` to an anchor among `offered` that RFC
/// 5280 §6.1 accepts at `at` for `usage`.
pub(crate) fn find_path(
    leaf: &X509Certificate<'_>,
    offered: &[Offered<'_>],
    at: OffsetDateTime,
    usage: Usage,
) -> Option<Found> {
    let mut search = Search {
        offered,
        at,
        usage,
        budget: MAX_SIGNATURE_CHECKS,
    };
    let mut path = Vec::new();
    search.extend(leaf, leaf, &mut path)
}

struct Search<'s, 'a> {
    offered: &'s [Offered<'a>],
    at: OffsetDateTime,
    usage: Usage,
    budget: usize,
}

impl Search<'_, '_> {
    fn extend(
        &mut self,
        leaf: &X509Certificate<'_>,
        current: &X509Certificate<'_>,
        path: &mut Vec<usize>,
    ) -> Option<Found> {
        let mut order: Vec<usize> = (0..self.offered.len()).collect();
        order.sort_by_key(|i| !self.offered[*i].anchor);
        for i in order {
            let candidate = &self.offered[i];
            if path.contains(&i) || candidate.cert.subject().as_raw() != current.issuer().as_raw() {
                continue;
            }
            if self.budget == 0 {
                return None;
            }
            self.budget -= 1;
            if !signed_by(current, &candidate.cert) {
                continue;
            }
            path.push(i);
            if candidate.anchor {
                let chain: Vec<&X509Certificate<'_>> = std::iter::once(leaf)
                    .chain(path.iter().map(|j| &self.offered[*j].cert))
                    .collect();
                if process(&chain, self.at, self.usage) {
                    return Some(path.clone());
                }
            } else if path.len() < MAX_INTERMEDIATES
                && let Some(found) = self.extend(leaf, &candidate.cert, path)
            {
                return Some(found);
            }
            path.pop();
        }
        None
    }
}

fn signed_by(cert: &X509Certificate<'_>, issuer: &X509Certificate<'_>) -> bool {
    cert.signature_algorithm == cert.tbs_certificate.signature
        && signature::verify(
            issuer.public_key().raw,
            &cert.signature_algorithm.algorithm,
            cert.tbs_certificate.as_ref(),
            &cert.signature_value.data,
        )
        .is_ok()
}

/// RFC 5280 §6.1.3–6.1.5 over `chain` (leaf first, anchor last), whose
/// signatures are already verified. The anchor's own validity and profile
/// are checked by the caller.
fn process(chain: &[&X509Certificate<'_>], at: OffsetDateTime, usage: Usage) -> bool {
    let last = chain.len() - 1;
    if chain[0]
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca)
    {
        return false;
    }
    let mut remaining: Option<u32> = None;
    for i in (1..=last).rev() {
        let ca = chain[i];
        let Some(bc) = ca.basic_constraints().ok().flatten() else {
            return false;
        };
        if !bc.value.ca {
            return false;
        }
        if let Ok(Some(ku)) = ca.key_usage()
            && !ku.value.key_cert_sign()
        {
            return false;
        }
        if i != last && !self_issued(ca) {
            match remaining {
                Some(0) => return false,
                Some(n) => remaining = Some(n - 1),
                None => {}
            }
        }
        if let Some(limit) = bc.value.path_len_constraint {
            remaining = Some(remaining.map_or(limit, |r| r.min(limit)));
        }
        if let Some(nc) = name_constraints(ca)
            && !(0..i).all(|j| (j != 0 && self_issued(chain[j])) || permitted(chain[j], nc))
        {
            return false;
        }
    }
    chain[..last]
        .iter()
        .all(|cert| within(cert, at) && no_unknown_critical(cert) && eku_allows(cert, usage))
}

fn self_issued(cert: &X509Certificate<'_>) -> bool {
    cert.issuer().as_raw() == cert.subject().as_raw()
}

fn within(cert: &X509Certificate<'_>, at: OffsetDateTime) -> bool {
    let validity = cert.validity();
    validity.not_before.to_datetime() <= at && at <= validity.not_after.to_datetime()
}

fn no_unknown_critical(cert: &X509Certificate<'_>) -> bool {
    cert.extensions().iter().all(|e| {
        !e.critical
            || !matches!(
                e.parsed_extension(),
                ParsedExtension::UnsupportedExtension { .. } | ParsedExtension::ParseError { .. }
            )
    })
}

/// An EKU extension, where present, must include the usage; on CAs it
/// constrains what they issue, as webpki and browsers treat it.
fn eku_allows(cert: &X509Certificate<'_>, usage: Usage) -> bool {
    let Ok(Some(eku)) = cert.extended_key_usage() else {
        return cert.extended_key_usage().is_ok();
    };
    match usage {
        Usage::Server => eku.value.server_auth,
        Usage::Client => eku.value.client_auth,
        Usage::Any => true,
    }
}

fn name_constraints<'a>(cert: &'a X509Certificate<'a>) -> Option<&'a NameConstraints<'a>> {
    cert.extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::NameConstraints(nc) => Some(nc),
            _ => None,
        })
}

/// A name of the subject certificate that constraints apply to.
enum Subject<'a> {
    Dns(&'a str),
    Email(&'a str),
    Ip(IpAddr),
    Directory(&'a X509Name<'a>),
    Other,
}

fn names<'a>(cert: &'a X509Certificate<'a>) -> Vec<Subject<'a>> {
    let mut out = Vec::new();
    if cert.subject().iter().next().is_some() {
        out.push(Subject::Directory(cert.subject()));
    }
    for attr in cert.subject().iter_by_oid(&oids::OID_PKCS9_EMAIL_ADDRESS) {
        out.push(attr.as_str().map_or(Subject::Other, Subject::Email));
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            out.push(match name {
                GeneralName::DNSName(d) => Subject::Dns(d),
                GeneralName::RFC822Name(e) => Subject::Email(e),
                GeneralName::DirectoryName(n) => Subject::Directory(n),
                GeneralName::IPAddress(b) => ip(b).map_or(Subject::Other, Subject::Ip),
                _ => Subject::Other,
            });
        }
    }
    out
}

fn ip(bytes: &[u8]) -> Option<IpAddr> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes).ok().map(IpAddr::from),
        16 => <[u8; 16]>::try_from(bytes).ok().map(IpAddr::from),
        _ => None,
    }
}

/// Whether every name of `cert` is inside the permitted subtrees (of its
/// type, when any are given) and outside every excluded subtree.
fn permitted(cert: &X509Certificate<'_>, nc: &NameConstraints<'_>) -> bool {
    let permitted = nc.permitted_subtrees.as_deref().unwrap_or_default();
    let excluded = nc.excluded_subtrees.as_deref().unwrap_or_default();
    names(cert).iter().all(|name| {
        let of_type: Vec<_> = permitted
            .iter()
            .filter_map(|s| matches(name, &s.base))
            .collect();
        let inside = of_type.is_empty() || of_type.contains(&true);
        let excluded = excluded.iter().any(|s| match (name, &s.base) {
            (Subject::Dns(n), GeneralName::DNSName(c)) => dns_may_reach(n, c),
            _ => matches(name, &s.base).unwrap_or(false),
        });
        // A name type we cannot evaluate under a constraint is refused.
        let unknown = matches!(name, Subject::Other)
            && permitted
                .iter()
                .chain(excluded_iter(nc))
                .any(|s| !known_type(&s.base));
        inside && !excluded && !unknown
    })
}

fn excluded_iter<'a>(
    nc: &'a NameConstraints<'a>,
) -> impl Iterator<Item = &'a x509_parser::extensions::GeneralSubtree<'a>> {
    nc.excluded_subtrees.iter().flatten()
}

fn known_type(name: &GeneralName<'_>) -> bool {
    matches!(
        name,
        GeneralName::DNSName(_)
            | GeneralName::RFC822Name(_)
            | GeneralName::IPAddress(_)
            | GeneralName::DirectoryName(_)
    )
}

/// `None` when the constraint is of another type than the name.
fn matches(name: &Subject<'_>, constraint: &GeneralName<'_>) -> Option<bool> {
    match (name, constraint) {
        (Subject::Dns(n), GeneralName::DNSName(c)) => Some(dns_within(n, c)),
        (Subject::Email(n), GeneralName::RFC822Name(c)) => Some(email_within(n, c)),
        (Subject::Ip(n), GeneralName::IPAddress(c)) => Some(ip_within(*n, c)),
        (Subject::Directory(n), GeneralName::DirectoryName(c)) => Some(dn_within(n, c)),
        _ => None,
    }
}

fn dns_within(name: &str, constraint: &str) -> bool {
    let name = name.to_ascii_lowercase();
    let constraint = constraint.to_ascii_lowercase();
    constraint.is_empty()
        || name == constraint
        || name
            .strip_suffix(&constraint)
            .is_some_and(|head| head.ends_with('.'))
}

/// Whether a presented DNS name could stand for a name inside the
/// constraint: for a wildcard, any single label in its place (so
/// `*.example.com` reaches an excluded `bar.example.com`, CVE-2025-61727).
fn dns_may_reach(name: &str, constraint: &str) -> bool {
    if dns_within(name, constraint) {
        return true;
    }
    match name.strip_prefix("*.") {
        Some(rest) => {
            dns_within(rest, constraint)
                || constraint.split_once('.').is_some_and(|(label, parent)| {
                    !label.is_empty() && parent.eq_ignore_ascii_case(rest)
                })
        }
        None => false,
    }
}

/// RFC 5280 §4.2.1.10: a mailbox, all mailboxes on a host, or (leading
/// period) all mailboxes in a domain. Local parts compare exactly.
fn email_within(name: &str, constraint: &str) -> bool {
    let Some((local, host)) = name.split_once('@') else {
        return false;
    };
    if local.is_empty() || host.is_empty() || host.contains('@') {
        return false;
    }
    match constraint.rsplit_once('@') {
        Some((c_local, c_host)) => local == c_local && host.eq_ignore_ascii_case(c_host),
        None if constraint.starts_with('.') => {
            host.len() > constraint.len()
                && host
                    .to_ascii_lowercase()
                    .ends_with(&constraint.to_ascii_lowercase())
        }
        None => host.eq_ignore_ascii_case(constraint),
    }
}

fn ip_within(name: IpAddr, constraint: &[u8]) -> bool {
    let octets: Vec<u8> = match name {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    if constraint.len() != octets.len() * 2 {
        return false;
    }
    let (network, mask) = constraint.split_at(octets.len());
    octets
        .iter()
        .zip(network)
        .zip(mask)
        .all(|((a, n), m)| a & m == n & m)
}

/// A directory name is within a constraint when the constraint's RDNs are
/// a prefix of its RDNs (compared as encoded).
fn dn_within(name: &X509Name<'_>, constraint: &X509Name<'_>) -> bool {
    let name_rdns: Vec<_> = name.iter().collect();
    let constraint_rdns: Vec<_> = constraint.iter().collect();
    constraint_rdns.len() <= name_rdns.len()
        && constraint_rdns.iter().zip(&name_rdns).all(|(c, n)| {
            let c: Vec<_> = c
                .iter()
                .map(|a| (a.attr_type(), a.attr_value().data))
                .collect();
            let n: Vec<_> = n
                .iter()
                .map(|a| (a.attr_type(), a.attr_value().data))
                .collect();
            c == n
        })
}
