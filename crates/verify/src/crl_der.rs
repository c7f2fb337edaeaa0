//! A streaming walk over a CRL's DER, so that a CRL with a million
//! entries is indexed without first materialising a parsed entry per
//! serial (which costs several hundred bytes each).
//!
//! The walk splits the CertificateList into its header (everything but
//! `revokedCertificates`, re-encoded so x509-parser can check the profile)
//! and the entries, which are read one by one into a compact index.

use x509_parser::prelude::{ASN1Time, FromDer};

const SEQUENCE: u8 = 0x30;
const BIT_STRING: u8 = 0x03;
const INTEGER: u8 = 0x02;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
const OID: u8 = 0x06;
const ENUMERATED: u8 = 0x0a;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
/// id-ce-cRLReasons, 2.5.29.21, as encoded.
const REASON_CODE_OID: &[u8] = &[0x55, 0x1d, 0x15];
/// id-ce-certificateIssuer, 2.5.29.29, as encoded.
const CERTIFICATE_ISSUER_OID: &[u8] = &[0x55, 0x1d, 0x1d];
/// id-ce-invalidityDate, 2.5.29.24, as encoded.
const INVALIDITY_DATE_OID: &[u8] = &[0x55, 0x1d, 0x18];

/// One TLV: its tag, its content octets, and its whole encoding.
#[derive(Clone, Copy)]
pub(crate) struct Tlv<'a> {
    pub(crate) tag: u8,
    pub(crate) value: &'a [u8],
    pub(crate) raw: &'a [u8],
}

/// Reads one DER TLV (single-byte tags, definite lengths up to 4 bytes).
pub(crate) fn read(input: &[u8]) -> Result<(Tlv<'_>, &[u8]), String> {
    let (&tag, rest) = input.split_first().ok_or("truncated: expected a tag")?;
    if tag & 0x1f == 0x1f {
        return Err("multi-byte tags are not used in CRLs".into());
    }
    let (&first, rest) = rest.split_first().ok_or("truncated: expected a length")?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err("unsupported or truncated length".into());
        }
        let (bytes, rest) = rest.split_at(n);
        if bytes[0] == 0 || (n == 1 && bytes[0] < 0x80) {
            return Err("length not in minimal DER form".into());
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, rest)
    };
    if rest.len() < len {
        return Err("truncated: the content is shorter than its length".into());
    }
    let (value, after) = rest.split_at(len);
    let header = input.len() - rest.len();
    Ok((
        Tlv {
            tag,
            value,
            raw: &input[..header + len],
        },
        after,
    ))
}

fn expect<'a>(input: &'a [u8], tag: u8, what: &str) -> Result<(Tlv<'a>, &'a [u8]), String> {
    let (tlv, rest) = read(input).map_err(|e| format!("{what}: {e}"))?;
    if tlv.tag != tag {
        return Err(format!(
            "{what}: expected tag {tag:#04x}, found {:#04x}",
            tlv.tag
        ));
    }
    Ok((tlv, rest))
}

/// A CertificateList taken apart.
pub(crate) struct Split<'a> {
    /// The whole tbsCertList, as signed.
    pub(crate) tbs: &'a [u8],
    /// The CertificateList without revokedCertificates, for x509-parser.
    pub(crate) header: Vec<u8>,
    /// The content of revokedCertificates (empty when absent).
    pub(crate) entries: &'a [u8],
    /// Whether revokedCertificates is present (RFC 5280 §5.1.2.6: it
    /// MUST be absent rather than empty).
    pub(crate) entries_present: bool,
    /// The explicit version INTEGER's content, when present.
    pub(crate) version: Option<&'a [u8]>,
    /// Whether the outer signatureAlgorithm is, byte for byte, the
    /// tbsCertList's signature field (RFC 5280 §5.1.1.2). The outer one is
    /// not signed, so only an encoded comparison catches a changed byte
    /// that a lenient parser reads past.
    pub(crate) algorithms_alike: bool,
}

/// The to-be-signed part and the signatureAlgorithm of a signed object
/// (certificate or CRL) that is exactly SEQUENCE { tbs SEQUENCE,
/// AlgorithmIdentifier SEQUENCE, BIT STRING with no unused bits }, with
/// nothing after it: the bytes around the signed part are checked as
/// strictly as the signature checks the rest.
pub(crate) fn signed_parts(der: &[u8]) -> Result<(Tlv<'_>, Tlv<'_>), String> {
    let (outer, rest) = expect(der, SEQUENCE, "the signed object")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the signed object".into());
    }
    let (tbs, rest) = expect(outer.value, SEQUENCE, "the signed part")?;
    let (algorithm, rest) = expect(rest, SEQUENCE, "signatureAlgorithm")?;
    let (signature, rest) = expect(rest, BIT_STRING, "signatureValue")?;
    if signature.value.first() != Some(&0) {
        return Err("the signature BIT STRING has unused bits".into());
    }
    if !rest.is_empty() {
        return Err("fields after signatureValue".into());
    }
    Ok((tbs, algorithm))
}

/// Splits a DER CertificateList.
pub(crate) fn split(der: &[u8]) -> Result<Split<'_>, String> {
    let (outer, rest) = expect(der, SEQUENCE, "CertificateList")?;
    if !rest.is_empty() {
        return Err("trailing bytes after the CRL".into());
    }
    let (tbs, after_tbs) = expect(outer.value, SEQUENCE, "tbsCertList")?;
    let mut fields = Vec::new();
    let mut entries: &[u8] = &[];
    let mut entries_present = false;
    let mut version = None;
    let mut input = tbs.value;
    // version, signature, issuer, thisUpdate, nextUpdate are before the
    // entries; the first SEQUENCE after the times is revokedCertificates.
    let mut seen_time = false;
    while !input.is_empty() {
        let (field, rest) = read(input).map_err(|e| format!("tbsCertList: {e}"))?;
        let is_time = field.tag == UTC_TIME || field.tag == GENERALIZED_TIME;
        if fields.is_empty() && field.tag == INTEGER {
            version = Some(field.value);
        }
        if field.tag == SEQUENCE && seen_time && !entries_present {
            entries = field.value;
            entries_present = true;
        } else {
            fields.push(field.raw);
        }
        seen_time |= is_time;
        input = rest;
    }
    // The signature field is the first field after the optional version.
    let inner = fields.get(usize::from(version.is_some())).copied();
    let algorithms_alike = match (inner, signed_parts(der)) {
        (Some(inner), Ok((_, outer))) => outer.raw == inner,
        _ => false,
    };
    let header_tbs = encode(SEQUENCE, &fields);
    let header = encode(SEQUENCE, &[&header_tbs, after_tbs]);
    Ok(Split {
        tbs: tbs.raw,
        header,
        entries,
        entries_present,
        version,
        algorithms_alike,
    })
}

fn encode(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let mut out = Vec::with_capacity(len + 6);
    out.push(tag);
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

/// One revokedCertificates entry.
pub(crate) struct Entry<'a> {
    /// INTEGER content octets.
    pub(crate) serial: &'a [u8],
    /// revocationDate, Unix seconds.
    pub(crate) at: i64,
    /// CRLReason code, 0 when absent.
    pub(crate) reason: u8,
    /// Whether the entry has a critical extension we do not process.
    pub(crate) unknown_critical: bool,
    /// The certificateIssuer extension's GeneralNames (DER), for indirect
    /// CRLs: it names the issuer of this and the following entries.
    pub(crate) certificate_issuer: Option<&'a [u8]>,
}

/// Reads the next entry from the content of revokedCertificates.
pub(crate) fn next_entry(input: &[u8]) -> Result<(Entry<'_>, &[u8]), String> {
    let (entry, rest) = expect(input, SEQUENCE, "CRL entry")?;
    let (serial, after) = expect(entry.value, INTEGER, "CRL entry serial")?;
    let (date, after) = read(after).map_err(|e| format!("CRL entry date: {e}"))?;
    let (_, at) =
        ASN1Time::from_der(date.raw).map_err(|e| format!("CRL entry revocationDate: {e}"))?;
    let mut parsed = Entry {
        serial: serial.value,
        at: at.timestamp(),
        reason: 0,
        unknown_critical: false,
        certificate_issuer: None,
    };
    if !after.is_empty() {
        let (extensions, trailing) = expect(after, SEQUENCE, "CRL entry extensions")?;
        if !trailing.is_empty() {
            return Err("CRL entry: trailing bytes".into());
        }
        let mut list = extensions.value;
        while !list.is_empty() {
            let (ext, rest) = expect(list, SEQUENCE, "CRL entry extension")?;
            let (oid, mut body) = expect(ext.value, OID, "CRL entry extension id")?;
            let mut critical = false;
            if body.first() == Some(&BOOLEAN) {
                let (flag, rest) = read(body)?;
                critical = flag.value == [0xff];
                body = rest;
            }
            let (value, _) = expect(body, OCTET_STRING, "CRL entry extension value")?;
            if oid.value == REASON_CODE_OID {
                let (code, _) = expect(value.value, ENUMERATED, "CRLReason")?;
                parsed.reason = code.value.last().copied().unwrap_or(0);
            } else if oid.value == CERTIFICATE_ISSUER_OID {
                parsed.certificate_issuer = Some(value.value);
            } else if critical && oid.value != INVALIDITY_DATE_OID {
                parsed.unknown_critical = true;
            }
            list = rest;
        }
    }
    Ok((parsed, rest))
}
