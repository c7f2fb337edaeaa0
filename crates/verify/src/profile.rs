//! RFC 5280 profile checks on a built path, the ones rustls-webpki does not
//! make: extension criticality and presence (AKI, SKI, basic constraints,
//! name constraints, SAN), the keyCertSign/cA coupling, DNS name syntax,
//! the trust anchor's own extensions, and (for server certificates) the
//! CA/Browser Forum rule that a CN copies a SAN entry.

use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::X509Certificate;

use crate::validator::{Refusal, refuse};
use crate::verdict::{Reason, Usage};

/// Checks every certificate of `path` (leaf first, trust anchor last).
pub(crate) fn check_path(path: &[&X509Certificate<'_>], usage: Usage) -> Result<(), Refusal> {
    let last = path.len().saturating_sub(1);
    for (position, cert) in path.iter().enumerate() {
        let role = Role {
            leaf: position == 0,
            anchor: position == last,
        };
        check_certificate(cert, role).map_err(|detail| {
            let (reason, detail) = detail;
            refuse(
                reason,
                format!("'{}': {detail}", cert.subject()),
                Some(position),
            )
        })?;
    }
    if usage == Usage::Server
        && let Some(leaf) = path.first()
    {
        common_name_copies_san(leaf)
            .map_err(|detail| refuse(Reason::Malformed, detail, Some(0)))?;
        server_eku_profile(leaf, path[last])?;
    }
    Ok(())
}

#[derive(Clone, Copy)]
struct Role {
    leaf: bool,
    anchor: bool,
}

type Problem = (Reason, String);

fn malformed(detail: impl Into<String>) -> Problem {
    (Reason::Malformed, detail.into())
}

fn check_certificate(cert: &X509Certificate<'_>, role: Role) -> Result<(), Problem> {
    if !role.anchor {
        serial_number(cert.raw_serial()).map_err(malformed)?;
    }
    let self_issued = cert.issuer().as_raw() == cert.subject().as_raw();
    let subject_empty = cert.subject().iter().next().is_none();
    let mut is_ca = false;
    let mut basic_constraints_critical = None;
    let mut key_cert_sign = None;
    let mut ski = None;
    let mut aki_key = None;
    let mut has_aki = false;
    for ext in cert.extensions() {
        match ext.parsed_extension() {
            ParsedExtension::ParseError { error } => {
                return Err(malformed(format!(
                    "extension {} does not parse: {error}",
                    ext.oid.to_id_string()
                )));
            }
            ParsedExtension::UnsupportedExtension { .. } if ext.critical && role.anchor => {
                return Err((
                    Reason::UnsupportedCriticalExtension,
                    format!(
                        "the trust anchor has critical extension {}, which we do not process",
                        ext.oid.to_id_string()
                    ),
                ));
            }
            ParsedExtension::BasicConstraints(bc) => {
                is_ca = bc.ca;
                basic_constraints_critical = Some(ext.critical);
            }
            ParsedExtension::KeyUsage(ku) => key_cert_sign = Some(ku.key_cert_sign()),
            ParsedExtension::SubjectKeyIdentifier(id) => {
                if ext.critical {
                    return Err(malformed(
                        "subjectKeyIdentifier is critical (RFC 5280 4.2.1.2: MUST NOT)",
                    ));
                }
                ski = Some(id.0);
            }
            ParsedExtension::AuthorityKeyIdentifier(aki) => {
                if ext.critical {
                    return Err(malformed(
                        "authorityKeyIdentifier is critical (RFC 5280 4.2.1.1: MUST NOT)",
                    ));
                }
                has_aki = true;
                aki_key = aki.key_identifier.as_ref().map(|k| k.0);
                if aki_key.is_none() {
                    return Err(malformed(
                        "authorityKeyIdentifier has no keyIdentifier (RFC 5280 4.2.1.1)",
                    ));
                }
                if role.anchor
                    && (aki.authority_cert_issuer.is_some() || aki.authority_cert_serial.is_some())
                {
                    return Err(malformed(
                        "the trust anchor's authorityKeyIdentifier names an issuer or serial; a root's may only hold its own keyIdentifier",
                    ));
                }
            }
            ParsedExtension::NameConstraints(nc) => {
                if role.leaf && !role.anchor {
                    return Err(malformed(
                        "an end-entity certificate carries name constraints (RFC 5280 4.2.1.10: CAs only)",
                    ));
                }
                if !ext.critical {
                    return Err(malformed(
                        "nameConstraints is not critical (RFC 5280 4.2.1.10: MUST be)",
                    ));
                }
                let permitted = nc.permitted_subtrees.as_ref().map_or(0, Vec::len);
                let excluded = nc.excluded_subtrees.as_ref().map_or(0, Vec::len);
                if permitted + excluded == 0 {
                    return Err(malformed(
                        "nameConstraints has neither permitted nor excluded subtrees (RFC 5280 4.2.1.10)",
                    ));
                }
                let subtrees = nc
                    .permitted_subtrees
                    .iter()
                    .chain(nc.excluded_subtrees.iter())
                    .flatten();
                for subtree in subtrees {
                    if let GeneralName::DNSName(d) = subtree.base
                        && d.starts_with('.')
                    {
                        return Err(malformed(format!(
                            "name constraint dNSName '{d}' has a leading period, which RFC 5280 4.2.1.10 allows for URIs only"
                        )));
                    }
                }
            }
            ParsedExtension::SubjectAlternativeName(san) => {
                if subject_empty && !ext.critical {
                    return Err(malformed(
                        "the subject is empty and subjectAltName is not critical (RFC 5280 4.2.1.6: MUST be)",
                    ));
                }
                if !subject_empty && ext.critical {
                    return Err(malformed(
                        "subjectAltName is critical while the subject is not empty (RFC 5280 4.2.1.6)",
                    ));
                }
                for name in &san.general_names {
                    match name {
                        GeneralName::DNSName(d) => dns_name(d).map_err(malformed)?,
                        GeneralName::IPAddress(ip) if ip.len() != 4 && ip.len() != 16 => {
                            return Err(malformed(format!(
                                "an iPAddress SAN of {} octets (RFC 5280 4.2.1.6: 4 or 16)",
                                ip.len()
                            )));
                        }
                        _ => {}
                    }
                }
            }
            ParsedExtension::PolicyConstraints(_) if !ext.critical => {
                return Err(malformed(
                    "policyConstraints is not critical (RFC 5280 4.2.1.11: MUST be)",
                ));
            }
            ParsedExtension::AuthorityInfoAccess(aia) if aia.accessdescs.is_empty() => {
                return Err(malformed("authorityInfoAccess holds no access description"));
            }
            _ => {}
        }
    }
    // A v1 trust anchor is a CA by being trusted (RFC 5280 6.1.1 d).
    if role.anchor && cert.version().0 == 2 {
        match basic_constraints_critical {
            None => {
                return Err((
                    Reason::NotACa,
                    "the trust anchor has no basicConstraints".into(),
                ));
            }
            Some(false) => {
                return Err(malformed(
                    "the trust anchor's basicConstraints is not critical (RFC 5280 4.2.1.9)",
                ));
            }
            Some(true) if !is_ca => {
                return Err((
                    Reason::NotACa,
                    "the trust anchor's basicConstraints says cA=FALSE".into(),
                ));
            }
            Some(true) => {}
        }
        if self_issued
            && let (Some(aki), Some(ski)) = (aki_key, ski)
            && aki != ski
        {
            return Err(malformed(
                "the self-signed trust anchor's authorityKeyIdentifier differs from its subjectKeyIdentifier",
            ));
        }
    }
    if key_cert_sign == Some(true) && !is_ca {
        return Err(malformed(
            "keyUsage asserts keyCertSign but basicConstraints cA is not set (RFC 5280 4.2.1.3)",
        ));
    }
    if is_ca && key_cert_sign == Some(false) {
        return Err(malformed(
            "a CA certificate whose keyUsage lacks keyCertSign (RFC 5280 4.2.1.9)",
        ));
    }
    if is_ca && subject_empty {
        return Err(malformed(
            "a CA certificate with an empty subject (RFC 5280 4.1.2.6)",
        ));
    }
    if is_ca && ski.is_none() {
        return Err(malformed(
            "a CA certificate without subjectKeyIdentifier (RFC 5280 4.2.1.2: MUST)",
        ));
    }
    // RFC 5280 4.2.1.1 binds conforming CAs issuing v3 certificates; v1
    // and v2 certificates cannot carry extensions at all.
    if !self_issued && !has_aki && !role.anchor && cert.version().0 == 2 {
        return Err(malformed(
            "no authorityKeyIdentifier on a certificate that is not self-signed (RFC 5280 4.2.1.1: MUST)",
        ));
    }
    Ok(())
}

/// RFC 5280 §4.1.2.2: a positive integer of at most 20 octets.
fn serial_number(serial: &[u8]) -> Result<(), String> {
    if serial.first().is_some_and(|b| *b >= 0x80) {
        return Err("the serial number is negative (RFC 5280 4.1.2.2: MUST be positive)".into());
    }
    if serial.iter().all(|b| *b == 0) {
        return Err("the serial number is zero (RFC 5280 4.1.2.2: MUST be positive)".into());
    }
    let significant = serial.iter().skip_while(|b| **b == 0).count();
    if significant > 20 {
        return Err(format!(
            "the serial number has {significant} octets (RFC 5280 4.1.2.2: at most 20)"
        ));
    }
    Ok(())
}

/// A dNSName SAN: preferred name syntax, not an IP address in disguise,
/// and no wildcard over a public suffix (CA/B Forum BR 3.2.2.6).
fn dns_name(name: &str) -> Result<(), String> {
    if !preferred_name_syntax(name) {
        return Err(format!(
            "dNSName '{name}' is not in preferred name syntax (RFC 5280 4.2.1.6, RFC 1034 3.5)"
        ));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(format!(
            "dNSName '{name}' is an IP address; it belongs in an iPAddress SAN"
        ));
    }
    if name == "*" {
        return Err("the dNSName '*' is a wildcard over everything".into());
    }
    if let Some(rest) = name.strip_prefix("*.")
        && is_public_suffix(rest)
    {
        return Err(format!(
            "dNSName '{name}' is a wildcard over the public suffix '{rest}' (CA/B Forum BR 3.2.2.6)"
        ));
    }
    Ok(())
}

/// Whether `name` is itself a public suffix of the Public Suffix List's
/// ICANN section. The private section (`s3.amazonaws.com`, …) is not
/// enforced: deployed certificates carry wildcards under such names.
pub(crate) fn is_public_suffix(name: &str) -> bool {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    if !lower.contains('.') {
        return true;
    }
    match psl::suffix(lower.as_bytes()) {
        Some(suffix) => {
            suffix.as_bytes() == lower.as_bytes() && suffix.typ() == Some(psl::Type::Icann)
        }
        None => false,
    }
}

/// CA/B Forum BR 7.1.2.7.6 and 7.1.2.1.2 for TLS servers: the leaf's
/// extKeyUsage is not critical, and the root carries none.
fn server_eku_profile(
    leaf: &X509Certificate<'_>,
    anchor: &X509Certificate<'_>,
) -> Result<(), Refusal> {
    if let Ok(Some(eku)) = leaf.extended_key_usage() {
        if eku.critical {
            return Err(refuse(
                Reason::Malformed,
                "the server certificate's extKeyUsage is critical (CA/B Forum BR 7.1.2.7.6)",
                Some(0),
            ));
        }
        if eku.value.any {
            return Err(refuse(
                Reason::UsageMismatch,
                "the server certificate's extKeyUsage holds anyExtendedKeyUsage (CA/B Forum BR 7.1.2.7.10)",
                Some(0),
            ));
        }
    }
    if matches!(anchor.extended_key_usage(), Ok(Some(_))) {
        return Err(refuse(
            Reason::Malformed,
            format!(
                "the trust anchor '{}' carries extKeyUsage, which a root must not (CA/B Forum BR 7.1.2.1.2)",
                anchor.subject()
            ),
            None,
        ));
    }
    Ok(())
}

/// RFC 1034 3.5 as relaxed by RFC 1123 2.1 (labels may start with a
/// digit), with a wildcard allowed as the whole leftmost label.
pub(crate) fn preferred_name_syntax(name: &str) -> bool {
    if name.is_empty() || name.len() > 253 {
        return false;
    }
    name.split('.').enumerate().all(|(i, label)| {
        (i == 0 && label == "*")
            || (!label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
                && !label.ends_with('-'))
    })
}

/// CA/B Forum BR 7.1.4.3 asks that a server certificate's CN copy a SAN
/// entry character for character. Clients that still read the CN compare
/// it in their own way, so a CN that another parser could take for a
/// different name is refused: a case variant of a SAN, an IP address in a
/// non-canonical form (hex, leading zeros, upper case, uncompressed IPv6),
/// an internationalised name (U-label or `xn--` A-label) that is not a
/// SAN, or another host name where the SAN lists host names. A CN that
/// names the domain the SAN entries sit in (`example.com` beside
/// `*.example.com`), one beside a SAN of IP addresses only, or one that is
/// not a host name is tolerated, since RFC 5280 does not tie the CN to the
/// SAN.
fn common_name_copies_san(leaf: &X509Certificate<'_>) -> Result<(), String> {
    let sans: Vec<String> = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    GeneralName::DNSName(d) => Some((*d).to_owned()),
                    GeneralName::IPAddress(bytes) => ip_text(bytes),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    let has_dns_san = leaf
        .subject_alternative_name()
        .ok()
        .flatten()
        .is_some_and(|san| {
            san.value
                .general_names
                .iter()
                .any(|n| matches!(n, GeneralName::DNSName(_)))
        });
    for cn in leaf.subject().iter_common_name() {
        let Ok(cn) = cn.as_str() else {
            return Err("the subject CN is not a string".into());
        };
        if sans.iter().any(|s| s == cn) {
            continue;
        }
        let case_variant = sans.iter().any(|s| s.eq_ignore_ascii_case(cn));
        let parent_of_san = sans.iter().any(|s| {
            s.len() > cn.len() && s.ends_with(cn) && s[..s.len() - cn.len()].ends_with('.')
        });
        let another_host = has_dns_san
            && !parent_of_san
            && cn.contains('.')
            && preferred_name_syntax(cn)
            && cn.parse::<std::net::IpAddr>().is_err();
        let ip_like = cn.contains(':')
            || (cn.starts_with(|c: char| c.is_ascii_digit())
                && cn
                    .chars()
                    .all(|c| c.is_ascii_hexdigit() || c == '.' || c == 'x' || c == 'X'));
        let international = !cn.is_ascii()
            || cn
                .split('.')
                .any(|label| label.len() >= 4 && label[..4].eq_ignore_ascii_case("xn--"));
        if case_variant || ip_like || international || another_host {
            return Err(format!(
                "the subject CN '{cn}' is not a character-for-character copy of a subjectAltName entry, and clients that read the CN could take it for another name (CA/B Forum BR 7.1.4.3)"
            ));
        }
    }
    Ok(())
}

fn ip_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => <[u8; 4]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv4Addr::from(b).to_string()),
        16 => <[u8; 16]>::try_from(bytes)
            .ok()
            .map(|b| std::net::Ipv6Addr::from(b).to_string()),
        _ => None,
    }
}
