//! Checks of the end-entity certificate that do not depend on the path:
//! validity, that it is not a CA, its key, the name asked for (RFC 6125:
//! subjectAltName only, never the CN), and its key usages.

use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::X509Certificate;

use crate::names::{dns_matches, email_matches};
use crate::process::within_validity;
use crate::signature::{SignatureProblem, key_strength};
use crate::validator::{Options, Refusal, refuse};
use crate::verdict::{ExpectedName, Reason, Usage, ValidationRequest};

/// Checks the leaf; returns a legacy weakness of its key, if accepted.
pub(crate) fn check(
    leaf: &X509Certificate<'_>,
    request: &ValidationRequest,
    at: OffsetDateTime,
    options: &Options,
) -> Result<Option<String>, Refusal> {
    within_validity(leaf, at, 0)?;
    if leaf
        .basic_constraints()
        .ok()
        .flatten()
        .is_some_and(|bc| bc.value.ca)
    {
        return Err(refuse(
            Reason::CaUsedAsEndEntity,
            format!(
                "'{}' is a CA certificate (cA=TRUE) presented as the end entity",
                leaf.subject()
            ),
            Some(0),
        ));
    }
    let note = match key_strength(leaf.public_key(), options.allow_legacy_algorithms) {
        Ok(note) => note,
        Err(SignatureProblem::WeakAlgorithm(what)) => {
            return Err(refuse(
                Reason::WeakAlgorithm,
                format!("the leaf holds {what}"),
                Some(0),
            ));
        }
        Err(problem) => {
            let what = match problem {
                SignatureProblem::WeakKey(w) | SignatureProblem::Unsupported(w) => w,
                _ => String::new(),
            };
            return Err(refuse(
                Reason::WeakKey,
                format!("the leaf holds {what}"),
                Some(0),
            ));
        }
    };
    name(leaf, &request.name)?;
    usage(leaf, request.usage, options.require_digital_signature)?;
    Ok(note)
}

fn sans<'a>(leaf: &'a X509Certificate<'a>) -> Vec<&'a GeneralName<'a>> {
    leaf.subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| san.value.general_names.iter().collect())
        .unwrap_or_default()
}

fn name(leaf: &X509Certificate<'_>, expected: &ExpectedName) -> Result<(), Refusal> {
    let names = sans(leaf);
    let (found, wanted) = match expected {
        ExpectedName::Any => return Ok(()),
        ExpectedName::Dns(dns) | ExpectedName::Peer(dns) => {
            if dns.parse::<std::net::IpAddr>().is_ok()
                || !crate::profile::preferred_name_syntax(dns)
                || dns.contains('*')
            {
                return Err(refuse(
                    Reason::NameMismatch,
                    format!("'{dns}' is not a valid DNS name to look for"),
                    Some(0),
                ));
            }
            let found = names
                .iter()
                .any(|n| matches!(n, GeneralName::DNSName(p) if dns_matches(p, dns)));
            (found, dns.clone())
        }
        ExpectedName::Ip(ip) => {
            let octets: Vec<u8> = match ip {
                std::net::IpAddr::V4(v4) => v4.octets().to_vec(),
                std::net::IpAddr::V6(v6) => v6.octets().to_vec(),
            };
            let found = names
                .iter()
                .any(|n| matches!(n, GeneralName::IPAddress(b) if *b == octets.as_slice()));
            (found, ip.to_string())
        }
        ExpectedName::Email(address) => {
            let found = names
                .iter()
                .any(|n| matches!(n, GeneralName::RFC822Name(p) if email_matches(p, address)));
            (found, address.clone())
        }
    };
    if found {
        Ok(())
    } else {
        Err(refuse(
            Reason::NameMismatch,
            format!("the certificate names {}, not '{wanted}'", san_list(&names)),
            Some(0),
        ))
    }
}

fn san_list(names: &[&GeneralName<'_>]) -> String {
    if names.is_empty() {
        return "no subject alternative names".into();
    }
    names
        .iter()
        .map(|n| match n {
            GeneralName::DNSName(d) => (*d).to_owned(),
            GeneralName::RFC822Name(e) => (*e).to_owned(),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// RFC 5280 §4.2.1.12: an EKU, when present, must name the usage (for a
/// TLS server, anyExtendedKeyUsage does not, as CA/B Forum 7.1.2.7.10 and
/// webpki have it); a keyUsage, when present and asked for, must assert
/// digitalSignature.
fn usage(leaf: &X509Certificate<'_>, usage: Usage, digital_signature: bool) -> Result<(), Refusal> {
    let mismatch = |detail: &str| refuse(Reason::UsageMismatch, detail.to_owned(), Some(0));
    match leaf.extended_key_usage() {
        Ok(Some(eku)) => {
            let eku = eku.value;
            let allowed = match usage {
                Usage::Server => eku.server_auth,
                Usage::Client => eku.client_auth || eku.any,
                Usage::Any => true,
            };
            let empty = !eku.any
                && !eku.server_auth
                && !eku.client_auth
                && !eku.code_signing
                && !eku.email_protection
                && !eku.time_stamping
                && !eku.ocsp_signing
                && eku.other.is_empty();
            if empty {
                return Err(mismatch(
                    "the extendedKeyUsage extension is empty (RFC 5280 4.2.1.12)",
                ));
            }
            if !allowed {
                return Err(mismatch("the extended key usage does not allow this use"));
            }
        }
        Ok(None) => {}
        Err(e) => {
            return Err(refuse(
                Reason::Malformed,
                format!("extendedKeyUsage: {e}"),
                Some(0),
            ));
        }
    }
    if digital_signature
        && let Ok(Some(ku)) = leaf.key_usage()
        && !ku.value.digital_signature()
    {
        return Err(mismatch("the keyUsage does not assert digitalSignature"));
    }
    Ok(())
}
