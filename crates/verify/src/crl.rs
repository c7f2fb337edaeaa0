//! CRLs parsed once and indexed for membership checks that do not depend on
//! the CRL's size. The signature is checked against the issuer found in a
//! validated path, once per issuer key.

use std::sync::Mutex;

use time::OffsetDateTime;
use x509_parser::oid_registry as oids;
use x509_parser::prelude::{CertificateRevocationList, FromDer, ParsedExtension};

use crate::crl_der;
use crate::error::Error;
use crate::signature::{self, SignatureProblem};

/// One revoked serial: when and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// revocationDate, Unix seconds.
    pub at: i64,
    /// CRLReason code (RFC 5280 §5.3.1), 0 when absent.
    pub reason: u8,
}

/// A CRL, indexed.
#[derive(Debug)]
pub struct IndexedCrl {
    /// DER of the issuer Name.
    pub(crate) issuer: Vec<u8>,
    /// The issuer's name as text, for messages.
    pub(crate) issuer_text: String,
    /// authorityKeyIdentifier keyIdentifier, when present.
    pub(crate) key_id: Option<Vec<u8>>,
    pub(crate) this_update: OffsetDateTime,
    pub(crate) next_update: Option<OffsetDateTime>,
    /// An RFC 5280 §5 profile violation that makes the CRL unusable.
    pub(crate) defect: Option<String>,
    /// Sorted by serial: 40 bytes an entry, binary-searched.
    revoked: Vec<(SerialKey, Revocation)>,
    signed: SignedParts,
    /// SPKIs this CRL's signature has been checked against, and the result.
    checked: Mutex<Vec<CheckedSignature>>,
}

/// An issuer SPKI and whether the CRL's signature verified with it.
type CheckedSignature = (Vec<u8>, Result<(), SignatureProblem>);

#[derive(Debug)]
struct SignedParts {
    tbs: Vec<u8>,
    algorithm: Vec<u8>,
    signature: Vec<u8>,
}

impl IndexedCrl {
    /// Parses and indexes a DER CRL.
    pub fn from_der(der: &[u8]) -> Result<IndexedCrl, Error> {
        let parts = crl_der::split(der).map_err(|e| Error::Crl(format!("not a DER CRL: {e}")))?;
        let (rest, crl) = CertificateRevocationList::from_der(&parts.header)
            .map_err(|e| Error::Crl(format!("not a DER CRL: {e}")))?;
        if !rest.is_empty() {
            return Err(Error::Crl("trailing bytes after the CRL".into()));
        }
        let mut defect = profile_defect(&crl);
        let mut revoked = Vec::new();
        let mut input = parts.entries;
        while !input.is_empty() {
            let (entry, rest) = crl_der::next_entry(input).map_err(Error::Crl)?;
            let key = serial_key(entry.serial).ok_or_else(|| {
                Error::Crl("a revoked serial is longer than 20 octets (RFC 5280 §4.1.2.2)".into())
            })?;
            if entry.unknown_critical && defect.is_none() {
                defect = Some("a CRL entry has a critical extension we do not process".into());
            }
            revoked.push((
                key,
                Revocation {
                    at: entry.at,
                    reason: entry.reason,
                },
            ));
            input = rest;
        }
        revoked.sort_unstable_by_key(|entry| entry.0);
        revoked.dedup_by(|a, b| a.0 == b.0);
        revoked.shrink_to_fit();
        let tbs = &crl.tbs_cert_list;
        let key_id = tbs
            .extensions()
            .iter()
            .find_map(|ext| match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    aki.key_identifier.as_ref().map(|k| k.0.to_vec())
                }
                _ => None,
            });
        Ok(IndexedCrl {
            issuer: tbs.issuer.as_raw().to_vec(),
            issuer_text: tbs.issuer.to_string(),
            key_id,
            this_update: tbs.this_update.to_datetime(),
            next_update: tbs.next_update.map(|t| t.to_datetime()),
            defect,
            revoked,
            signed: SignedParts {
                tbs: parts.tbs.to_vec(),
                algorithm: crl.signature_algorithm.algorithm.as_bytes().to_vec(),
                signature: crl.signature_value.data.to_vec(),
            },
            checked: Mutex::new(Vec::new()),
        })
    }

    /// The revocation of `serial` (DER INTEGER content octets), if listed.
    pub fn lookup(&self, serial: &[u8]) -> Option<Revocation> {
        let key = serial_key(serial)?;
        self.revoked
            .binary_search_by(|(k, _)| k.cmp(&key))
            .ok()
            .map(|i| self.revoked[i].1)
    }

    /// How many serials the CRL lists.
    pub fn len(&self) -> usize {
        self.revoked.len()
    }

    /// Whether the CRL lists nothing.
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }

    /// Checks the CRL's signature with the issuer's key, once per key.
    pub(crate) fn signature_by(&self, issuer_spki: &[u8]) -> Result<(), SignatureProblem> {
        let mut checked = self
            .checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, result)) = checked.iter().find(|(spki, _)| spki == issuer_spki) {
            return result.clone();
        }
        let algorithm = x509_parser::der_parser::Oid::new(self.signed.algorithm.as_slice().into());
        let result = signature::verify(
            issuer_spki,
            &algorithm,
            &self.signed.tbs,
            &self.signed.signature,
        );
        checked.push((issuer_spki.to_vec(), result.clone()));
        result
    }
}

/// RFC 5280 §5.2: a conforming CRL is v2 with an authority key identifier
/// and a non-critical CRL number.
fn profile_defect(crl: &CertificateRevocationList<'_>) -> Option<String> {
    let extensions = crl.tbs_cert_list.extensions();
    let number = extensions
        .iter()
        .find(|e| e.oid == oids::OID_X509_EXT_CRL_NUMBER);
    match number {
        None => return Some("the CRL has no CRL number (RFC 5280 §5.2.3 requires one)".into()),
        Some(ext) if ext.critical => {
            return Some(
                "the CRL number extension is marked critical (RFC 5280 §5.2.3: it MUST NOT be)"
                    .into(),
            );
        }
        Some(_) => {}
    }
    if crl.signature_algorithm.algorithm != crl.tbs_cert_list.signature.algorithm {
        return Some("the outer and inner signature algorithms differ (RFC 5280 §5.1.1.2)".into());
    }
    for ext in extensions {
        let known = [
            oids::OID_X509_EXT_CRL_NUMBER,
            oids::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
            oids::OID_X509_EXT_ISSUER_ALT_NAME,
        ];
        if ext.critical && !known.contains(&ext.oid) {
            return Some(format!(
                "the CRL has a critical extension we do not process ({})",
                ext.oid
            ));
        }
    }
    None
}

/// A serial as a fixed-size key: leading zero octets dropped (they do not
/// change the integer), right-aligned in 20 bytes.
type SerialKey = [u8; 20];

fn serial_key(serial: &[u8]) -> Option<SerialKey> {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    let digits = &serial[start..];
    let mut key = [0u8; 20];
    let offset = key.len().checked_sub(digits.len())?;
    key[offset..].copy_from_slice(digits);
    Some(key)
}
