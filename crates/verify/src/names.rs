//! Comparing names as RFC 5280 §7.1 asks: distinguished names after the
//! RFC 4518 string preparation (so `O=Evil`, `O=EVIL` and `O= evil ` are one
//! name, whatever string type encodes them), and the presented identifiers
//! of RFC 6125 (DNS-IDs, IP addresses, e-mail addresses).

use std::borrow::Cow;
use std::fmt;

use unicode_normalization::UnicodeNormalization;
use x509_parser::prelude::X509Name;

/// A distinguished name prepared for comparison: RDNs in order, each a
/// sorted set of (attribute type, prepared value).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct PreparedName(Vec<Vec<(Vec<u8>, Prepared)>>);

/// One attribute value, prepared.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Prepared {
    /// A string after RFC 4518 (case folded, NFKC, insignificant space).
    Text(String),
    /// A value that is not a string we can prepare: compared exactly,
    /// tag included.
    Exact(u32, Vec<u8>),
}

impl fmt::Debug for PreparedName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PreparedName({} RDNs)", self.0.len())
    }
}

impl PreparedName {
    /// Prepares `name`.
    pub(crate) fn of(name: &X509Name<'_>) -> PreparedName {
        PreparedName(
            name.iter()
                .map(|rdn| {
                    let mut attributes: Vec<(Vec<u8>, Prepared)> = rdn
                        .iter()
                        .map(|atv| {
                            let value = atv.attr_value();
                            (
                                atv.attr_type().as_bytes().to_vec(),
                                prepare(value.tag().0, value.data),
                            )
                        })
                        .collect();
                    attributes.sort();
                    attributes
                })
                .collect(),
        )
    }

    /// RFC 5280 §4.2.1.10: `self` is within the subtree `base` when the
    /// base's RDNs are the first RDNs of `self`.
    pub(crate) fn within(&self, base: &PreparedName) -> bool {
        base.0.len() <= self.0.len() && base.0.iter().zip(&self.0).all(|(b, n)| b == n)
    }
}

const UTF8_STRING: u32 = 12;
const PRINTABLE_STRING: u32 = 19;
const TELETEX_STRING: u32 = 20;
const IA5_STRING: u32 = 22;
const UNIVERSAL_STRING: u32 = 28;
const BMP_STRING: u32 = 30;
const NUMERIC_STRING: u32 = 18;
const VISIBLE_STRING: u32 = 26;

fn prepare(tag: u32, data: &[u8]) -> Prepared {
    let text: Option<Cow<'_, str>> = match tag {
        UTF8_STRING | PRINTABLE_STRING | IA5_STRING | NUMERIC_STRING | VISIBLE_STRING => {
            std::str::from_utf8(data).ok().map(Cow::Borrowed)
        }
        // T.61 in theory; in practice Latin-1, as OpenSSL reads it.
        TELETEX_STRING => Some(Cow::Owned(data.iter().map(|b| char::from(*b)).collect())),
        BMP_STRING => utf16(data).map(Cow::Owned),
        UNIVERSAL_STRING => utf32(data).map(Cow::Owned),
        _ => None,
    };
    match text {
        Some(text) => Prepared::Text(string_prep(&text)),
        None => Prepared::Exact(tag, data.to_vec()),
    }
}

fn utf16(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(2) {
        return None;
    }
    let units = data
        .chunks_exact(2)
        .map(|c| u16::from_be_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .collect::<Result<String, _>>()
        .ok()
}

fn utf32(data: &[u8]) -> Option<String> {
    if !data.len().is_multiple_of(4) {
        return None;
    }
    data.chunks_exact(4)
        .map(|c| char::from_u32(u32::from_be_bytes([c[0], c[1], c[2], c[3]])))
        .collect()
}

/// RFC 4518 §2 for caseIgnoreMatch: map (case fold, drop controls and
/// zero-width characters), normalise (NFKC), and reduce insignificant
/// space (trim, collapse inner runs to one space).
fn string_prep(text: &str) -> String {
    if text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        // ASCII needs no normalisation: fold case and spaces only.
        let mut out = String::with_capacity(text.len());
        for word in text.split(' ').filter(|w| !w.is_empty()) {
            if !out.is_empty() {
                out.push(' ');
            }
            out.extend(word.chars().map(|c| c.to_ascii_lowercase()));
        }
        return out;
    }
    let mapped: String = text
        .chars()
        .filter(|c| !matches!(c, '\u{00AD}' | '\u{200B}' | '\u{FEFF}' | '\u{2060}'))
        .map(|c| if c.is_whitespace() { ' ' } else { c })
        .filter(|c| !c.is_control())
        .flat_map(char::to_lowercase)
        .collect();
    let normalised: String = mapped.nfkc().flat_map(char::to_lowercase).collect();
    normalised
        .split(' ')
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

/// RFC 6125 §6.4: whether the dNSName `presented` (maybe a wildcard in
/// the whole leftmost label) stands for the reference name `reference`.
pub(crate) fn dns_matches(presented: &str, reference: &str) -> bool {
    let presented = presented.trim_end_matches('.');
    let reference = reference.trim_end_matches('.');
    if presented.eq_ignore_ascii_case(reference) {
        return true;
    }
    let Some(rest) = presented.strip_prefix("*.") else {
        return false;
    };
    // A wildcard covers one label, never a public suffix, and never an
    // internationalised label's parent alone.
    if rest.split('.').count() < 2 || crate::profile::is_public_suffix(rest) {
        return false;
    }
    match reference.split_once('.') {
        Some((label, parent)) => {
            !label.is_empty() && label != "*" && parent.eq_ignore_ascii_case(rest)
        }
        None => false,
    }
}

/// An e-mail address split into local part and domain (RFC 5321 §4.1.2):
/// the domain follows the last `@`, and an `@` or `"` in the local part is
/// allowed only inside a quoted string. `None` for a malformed address.
pub(crate) fn mailbox(address: &str) -> Option<(&str, &str)> {
    let (local, domain) = address.rsplit_once('@')?;
    let quoted = local.len() >= 2 && local.starts_with('"') && local.ends_with('"');
    let plain = !local.contains(['@', '"', ' ']);
    (!local.is_empty() && !domain.is_empty() && (quoted || plain) && !domain.contains('"'))
        .then_some((local, domain))
}

/// Whether the rfc822Name `presented` is the mailbox `reference`: local
/// parts exactly, domains without case.
pub(crate) fn email_matches(presented: &str, reference: &str) -> bool {
    match (mailbox(presented), mailbox(reference)) {
        (Some((pl, pd)), Some((rl, rd))) => pl == rl && pd.eq_ignore_ascii_case(rd),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_space_and_string_type_do_not_matter() {
        assert_eq!(
            prepare(PRINTABLE_STRING, b"Evil  Corp "),
            prepare(UTF8_STRING, b"EVIL CORP")
        );
        let bmp: Vec<u8> = "evil corp"
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect();
        assert_eq!(
            prepare(BMP_STRING, &bmp),
            prepare(UTF8_STRING, b"Evil Corp")
        );
        assert_ne!(prepare(UTF8_STRING, b"Evil"), prepare(UTF8_STRING, b"Evi1"));
    }

    #[test]
    fn ascii_is_folded_and_its_spaces_reduced() {
        assert_eq!(string_prep("  Evil   CORP  Ltd "), "evil corp ltd");
        assert_eq!(string_prep("   "), "");
        assert_eq!(string_prep("A"), "a");
        // The same text outside ASCII's fast path prepares alike.
        assert_eq!(string_prep("  Evil   CORP\u{200B}  Ltd "), "evil corp ltd");
    }

    #[test]
    fn wildcards_cover_one_label_only() {
        assert!(dns_matches("*.example.com", "a.example.com"));
        assert!(dns_matches("Example.COM", "example.com"));
        assert!(!dns_matches("*.example.com", "a.b.example.com"));
        assert!(!dns_matches("*.example.com", "example.com"));
        assert!(!dns_matches("*.com", "example.com"));
        assert!(!dns_matches("*.co.uk", "example.co.uk"));
    }

    #[test]
    fn the_domain_of_a_mailbox_follows_the_last_at() {
        assert_eq!(mailbox("\"x@y\"@evil.com"), Some(("\"x@y\"", "evil.com")));
        assert!(email_matches("a@Example.com", "a@example.COM"));
        assert!(!email_matches("A@example.com", "a@example.com"));
        assert_eq!(mailbox("invalid@address@example.com"), None);
    }
}
