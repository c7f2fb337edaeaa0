//! RFC 5280 §5 CRLs, encoded here in one pass rather than through rcgen,
//! so that a CA can publish delta CRLs (§5.2.4 deltaCRLIndicator, §5.2.6
//! freshestCRL) and CRLs scoped to a distribution point (§5.2.5
//! issuingDistributionPoint), and so that a million entries encode without
//! building a parameter object per entry.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::authority::{CertificateAuthority, RevocationReason, RevokedEntry};
use crate::error::{InputError, Result};
use crate::key::SigningAlgorithm;

/// What a CRL says.
#[derive(Clone, Debug)]
pub struct CrlRequest<'a> {
    /// The revoked certificates it lists.
    pub revoked: &'a [RevokedEntry],
    /// cRLNumber, strictly increasing per CA (complete and delta CRLs share
    /// the sequence).
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// For a delta CRL: the number of the complete CRL it extends.
    pub delta_base: Option<u64>,
    /// The distribution point (a URI) this CRL alone covers, written as its
    /// critical issuingDistributionPoint.
    pub scope: Option<String>,
    /// Where delta CRLs for this complete CRL are published (freshestCRL).
    pub freshest: Option<String>,
}

impl CertificateAuthority {
    /// Signs a CRL as `request` describes: v2, with authorityKeyIdentifier
    /// and cRLNumber, one entry per revoked certificate with its reason code
    /// (absent when unspecified, as RFC 5280 §5.3.1 prefers).
    pub fn crl_with(&self, request: &CrlRequest<'_>) -> Result<Vec<u8>> {
        let (_, cert) = X509Certificate::from_der(self.certificate_der())
            .map_err(|e| InputError::Certificate(e.to_string()))?;
        let algorithm = algorithm_identifier(self.key().algorithm());
        let mut extensions = vec![
            extension(AKI, false, &seq(&[tlv(0x80, self.key_id())])),
            extension(CRL_NUMBER, false, &integer_u64(request.number)),
        ];
        if let Some(base) = request.delta_base {
            extensions.push(extension(DELTA_CRL_INDICATOR, true, &integer_u64(base)));
        }
        if let Some(uri) = &request.scope {
            extensions.push(extension(
                ISSUING_DISTRIBUTION_POINT,
                true,
                &seq(&[point_name(uri)]),
            ));
        }
        if let Some(uri) = &request.freshest {
            extensions.push(extension(
                FRESHEST_CRL,
                false,
                &seq(&[seq(&[point_name(uri)])]),
            ));
        }
        let mut fields = vec![
            integer_u64(1),
            algorithm.clone(),
            cert.subject().as_raw().to_vec(),
            time(request.this_update),
            time(request.next_update),
        ];
        if !request.revoked.is_empty() {
            fields.push(entries(request.revoked));
        }
        fields.push(tlv(0xa0, &seq(&extensions)));
        let tbs = seq(&fields);
        let signature = rcgen::SigningKey::sign(self.key(), &tbs)?;
        let mut bits = Vec::with_capacity(signature.len() + 1);
        bits.push(0);
        bits.extend_from_slice(&signature);
        Ok(seq(&[tbs, algorithm, tlv(0x03, &bits)]))
    }
}

const AKI: &[u8] = &[0x55, 0x1d, 0x23];
const CRL_NUMBER: &[u8] = &[0x55, 0x1d, 0x14];
const DELTA_CRL_INDICATOR: &[u8] = &[0x55, 0x1d, 0x1b];
const ISSUING_DISTRIBUTION_POINT: &[u8] = &[0x55, 0x1d, 0x1c];
const FRESHEST_CRL: &[u8] = &[0x55, 0x1d, 0x2e];
const REASON_CODE: &[u8] = &[0x55, 0x1d, 0x15];

pub(crate) fn algorithm_identifier(algorithm: SigningAlgorithm) -> Vec<u8> {
    match algorithm {
        // id-Ed25519, parameters absent (RFC 8410 §3).
        SigningAlgorithm::Ed25519 => seq(&[tlv(0x06, &[0x2b, 0x65, 0x70])]),
        // ecdsa-with-SHA256, parameters absent (RFC 5758 §3.2).
        SigningAlgorithm::EcdsaP256 => {
            seq(&[tlv(0x06, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02])])
        }
        // sha256WithRSAEncryption, NULL parameters (RFC 4055 §5).
        SigningAlgorithm::Rsa3072 => seq(&[
            tlv(
                0x06,
                &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b],
            ),
            vec![0x05, 0x00],
        ]),
    }
}

/// revokedCertificates, written straight into one buffer.
fn entries(revoked: &[RevokedEntry]) -> Vec<u8> {
    let mut body = Vec::with_capacity(revoked.len() * 48);
    for entry in revoked {
        let mut fields = vec![integer(entry.serial.as_bytes()), time(entry.revoked_at)];
        if entry.reason != RevocationReason::Unspecified {
            let code = tlv(0x0a, &[entry.reason.code()]);
            fields.push(seq(&[extension(REASON_CODE, false, &code)]));
        }
        body.extend_from_slice(&seq(&fields));
    }
    tlv(0x30, &body)
}

/// A DistributionPointName of one URI: `[0] { fullName [0] { [6] uri } }`.
fn point_name(uri: &str) -> Vec<u8> {
    tlv(0xa0, &tlv(0xa0, &tlv(0x86, uri.as_bytes())))
}

fn extension(oid: &[u8], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![tlv(0x06, oid)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, value));
    seq(&parts)
}

/// A positive INTEGER from big-endian magnitude octets.
fn integer(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(magnitude.len().saturating_sub(1));
    let digits = &magnitude[start..];
    let mut content = Vec::with_capacity(digits.len() + 1);
    if digits.first().is_none_or(|b| *b >= 0x80) {
        content.push(0);
    }
    content.extend_from_slice(digits);
    if content.len() > 1 && content[0] == 0 && content[1] < 0x80 {
        content.remove(0);
    }
    tlv(0x02, &content)
}

fn integer_u64(n: u64) -> Vec<u8> {
    integer(&n.to_be_bytes())
}

/// UTCTime for 1950–2049, GeneralizedTime otherwise (RFC 5280 §5.1.2.4).
fn time(at: OffsetDateTime) -> Vec<u8> {
    let at = at.to_offset(time::UtcOffset::UTC);
    let year = at.year();
    let rest = format!(
        "{:02}{:02}{:02}{:02}{:02}Z",
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    if (1950..2050).contains(&year) {
        tlv(0x17, format!("{:02}{rest}", year % 100).as_bytes())
    } else {
        tlv(0x18, format!("{year:04}{rest}").as_bytes())
    }
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    let len = parts.iter().map(Vec::len).sum();
    let mut out = header(0x30, len);
    for part in parts {
        out.extend_from_slice(part);
    }
    out
}

fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = header(tag, content.len());
    out.extend_from_slice(content);
    out
}

fn header(tag: u8, len: usize) -> Vec<u8> {
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
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_minimal_and_positive() {
        assert_eq!(integer(&[0, 0, 5]), vec![0x02, 0x01, 0x05]);
        assert_eq!(integer(&[0x80]), vec![0x02, 0x02, 0x00, 0x80]);
        assert_eq!(integer(&[0]), vec![0x02, 0x01, 0x00]);
    }

    #[test]
    fn times_switch_to_generalized_in_2050() {
        let t = time::macros::datetime!(2049-12-31 23:59:59 UTC);
        assert_eq!(time(t)[0], 0x17);
        let t = time::macros::datetime!(2050-01-01 00:00:00 UTC);
        assert_eq!(time(t), tlv(0x18, b"20500101000000Z"));
    }
}
