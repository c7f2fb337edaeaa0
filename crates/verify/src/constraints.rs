//! Name constraints, RFC 5280 §4.2.1.10 and §6.1.3 (b, c): dNSName,
//! rfc822Name (SAN entries and the subject's emailAddress attributes),
//! iPAddress and directoryName (compared after RFC 4518 preparation). A
//! name of a type a constraint covers but we cannot evaluate (URI, other
//! names) is refused.

use std::net::IpAddr;

use x509_parser::extensions::{GeneralName, GeneralSubtree, NameConstraints};
use x509_parser::oid_registry as oids;
use x509_parser::prelude::X509Certificate;

use crate::names::{PreparedName, mailbox};

/// A name of the subject certificate that constraints apply to.
enum Subject<'a> {
    Dns(&'a str),
    Email(&'a str),
    Ip(IpAddr),
    Directory(PreparedName),
    /// A name whose type no constraint evaluation covers: URI, otherName,
    /// an IP address of the wrong length, a non-string emailAddress.
    Other(&'static str),
}

/// Most name-against-subtree comparisons one certificate may cost (a bound
/// on crafted certificates with thousands of names and constraints).
const MAX_COMPARISONS: usize = 1 << 16;

/// Checks every name of `cert` against `nc`; `Err` says which name fails.
pub(crate) fn check(cert: &X509Certificate<'_>, nc: &NameConstraints<'_>) -> Result<(), String> {
    let permitted = nc.permitted_subtrees.as_deref().unwrap_or_default();
    let excluded = nc.excluded_subtrees.as_deref().unwrap_or_default();
    let names = names(cert);
    if names.len().saturating_mul(permitted.len() + excluded.len()) > MAX_COMPARISONS {
        return Err(format!(
            "{} names against {} subtrees is more than this validator evaluates",
            names.len(),
            permitted.len() + excluded.len()
        ));
    }
    for name in names {
        let described = describe(&name);
        let of_type: Vec<bool> = permitted
            .iter()
            .filter_map(|s| matches(&name, &s.base))
            .collect();
        if !of_type.is_empty() && !of_type.contains(&true) {
            return Err(format!("{described} is outside every permitted subtree"));
        }
        if excluded.iter().any(|s| excludes(&name, &s.base)) {
            return Err(format!("{described} is in an excluded subtree"));
        }
        if let Subject::Other(what) = name
            && permitted
                .iter()
                .chain(excluded)
                .any(|s: &GeneralSubtree<'_>| !known_type(&s.base))
        {
            return Err(format!(
                "{what} cannot be checked against constraints of a type we do not evaluate"
            ));
        }
    }
    Ok(())
}

fn describe(name: &Subject<'_>) -> String {
    match name {
        Subject::Dns(d) => format!("dNSName '{d}'"),
        Subject::Email(e) => format!("e-mail address '{e}'"),
        Subject::Ip(ip) => format!("IP address {ip}"),
        Subject::Directory(_) => "the directory name".into(),
        Subject::Other(what) => (*what).into(),
    }
}

fn names<'a>(cert: &'a X509Certificate<'a>) -> Vec<Subject<'a>> {
    let mut out = Vec::new();
    if cert.subject().iter().next().is_some() {
        out.push(Subject::Directory(PreparedName::of(cert.subject())));
    }
    for attr in cert.subject().iter_by_oid(&oids::OID_PKCS9_EMAIL_ADDRESS) {
        out.push(
            attr.as_str()
                .map_or(Subject::Other("a non-text emailAddress"), Subject::Email),
        );
    }
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            out.push(match name {
                GeneralName::DNSName(d) => Subject::Dns(d),
                GeneralName::RFC822Name(e) => Subject::Email(e),
                GeneralName::DirectoryName(n) => Subject::Directory(PreparedName::of(n)),
                GeneralName::IPAddress(b) => {
                    ip(b).map_or(Subject::Other("a malformed IP address"), Subject::Ip)
                }
                GeneralName::URI(_) => Subject::Other("a URI"),
                _ => Subject::Other("a name of another type"),
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
        (Subject::Directory(n), GeneralName::DirectoryName(c)) => {
            Some(n.within(&PreparedName::of(c)))
        }
        _ => None,
    }
}

fn excludes(name: &Subject<'_>, constraint: &GeneralName<'_>) -> bool {
    match (name, constraint) {
        (Subject::Dns(n), GeneralName::DNSName(c)) => dns_may_reach(n, c),
        // A malformed address cannot be shown to be outside an exclusion.
        (Subject::Email(n), GeneralName::RFC822Name(c)) => {
            mailbox(n).is_none() || email_within(n, c)
        }
        _ => matches(name, constraint).unwrap_or(false),
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
/// period) all mailboxes in a domain. Local parts compare exactly; the
/// domain is what follows the last `@`.
fn email_within(name: &str, constraint: &str) -> bool {
    let Some((local, host)) = mailbox(name) else {
        return false;
    };
    match mailbox(constraint) {
        Some((c_local, c_host)) => local == c_local && host.eq_ignore_ascii_case(c_host),
        None if constraint.contains('@') => false,
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
