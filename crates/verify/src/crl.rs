//! CRLs parsed once and indexed for membership checks that do not depend on
//! the CRL's size. The signature is checked against the signer found for a
//! validated path, once per signer key.

use std::sync::Mutex;

use time::OffsetDateTime;
use x509_parser::extensions::{DistributionPointName, GeneralName};
use x509_parser::oid_registry as oids;
use x509_parser::prelude::{
    AlgorithmIdentifier, CertificateRevocationList, FromDer, ParsedExtension, X509Name,
};

use crate::crl_der;
use crate::error::Error;
use crate::names::PreparedName;
use crate::signature::{self, Noted, SignatureProblem};

/// One revoked serial: when and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Revocation {
    /// revocationDate, Unix seconds.
    pub at: i64,
    /// CRLReason code (RFC 5280 §5.3.1), 0 when absent.
    pub reason: u8,
}

/// removeFromCRL (RFC 5280 §5.3.1): in a delta CRL, the entry is no
/// longer revoked.
pub(crate) const REMOVE_FROM_CRL: u8 = 8;

/// The issuingDistributionPoint of a CRL (RFC 5280 §5.2.5).
#[derive(Debug, Default)]
pub(crate) struct Scope {
    /// The distribution point's full names, when it names any.
    pub(crate) names: Vec<PointName>,
    pub(crate) only_user: bool,
    pub(crate) only_ca: bool,
    pub(crate) only_attribute: bool,
    /// onlySomeReasons as ReasonFlags bits; `None`: all reasons.
    pub(crate) reasons: Option<u16>,
    pub(crate) indirect: bool,
}

/// A distribution point or CRL issuer name, comparable.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PointName {
    Uri(String),
    Directory(PreparedName),
    Other(String),
}

impl PointName {
    pub(crate) fn of(name: &GeneralName<'_>) -> PointName {
        match name {
            GeneralName::URI(u) => PointName::Uri((*u).to_owned()),
            GeneralName::DirectoryName(n) => PointName::Directory(PreparedName::of(n)),
            other => PointName::Other(other.to_string()),
        }
    }
}

/// A CRL, indexed.
#[derive(Debug)]
pub struct IndexedCrl {
    /// The issuer name, prepared for comparison.
    pub(crate) issuer: PreparedName,
    /// The issuer's name as text, for messages.
    pub(crate) issuer_text: String,
    /// authorityKeyIdentifier keyIdentifier, when present.
    pub(crate) key_id: Option<Vec<u8>>,
    /// cRLNumber, big-endian without leading zeros.
    pub(crate) number: Option<Vec<u8>>,
    /// deltaCRLIndicator's BaseCRLNumber: this is a delta CRL.
    pub(crate) delta_base: Option<Vec<u8>>,
    pub(crate) this_update: OffsetDateTime,
    pub(crate) next_update: Option<OffsetDateTime>,
    pub(crate) scope: Scope,
    /// The raw issuingDistributionPoint value, to tell partitions apart.
    pub(crate) scope_der: Vec<u8>,
    /// An RFC 5280 §5 profile violation that makes the CRL unusable.
    pub(crate) defect: Option<String>,
    /// Certificate issuers of an indirect CRL's entries; group 0 is the
    /// CRL issuer itself.
    groups: Vec<PreparedName>,
    /// Sorted by (group, serial), binary-searched.
    revoked: Vec<(u16, SerialKey, Revocation)>,
    signed: SignedParts,
    /// SPKIs this CRL's signature has been checked against, and the result.
    checked: Mutex<Vec<CheckedSignature>>,
}

/// An issuer SPKI and whether the CRL's signature verified with it.
/// A signer's SPKI, whether legacy algorithms were allowed, the result,
/// and the validation time it was checked at.
type CheckedSignature = (
    Vec<u8>,
    bool,
    Result<Noted, SignatureProblem>,
    OffsetDateTime,
);

/// Most signers' results a CRL keeps: a chain may offer any number of
/// certificates in the CRL issuer's name, each with its own key.
const CHECKED_CAPACITY: usize = 16;

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
        let mut defect = profile_defect(&crl, &parts);
        let issuer = PreparedName::of(crl.issuer());
        let mut groups = vec![issuer.clone()];
        let mut revoked = Vec::new();
        let mut group = 0u16;
        let mut input = parts.entries;
        while !input.is_empty() {
            let (entry, rest) = crl_der::next_entry(input).map_err(Error::Crl)?;
            let key = serial_key(entry.serial).ok_or_else(|| {
                Error::Crl("a revoked serial is longer than 20 octets (RFC 5280 §4.1.2.2)".into())
            })?;
            if entry.unknown_critical && defect.is_none() {
                defect = Some("a CRL entry has a critical extension we do not process".into());
            }
            if let Some(names) = entry.certificate_issuer {
                let name = directory_name(names).ok_or_else(|| {
                    Error::Crl("a certificateIssuer entry extension names no directory name".into())
                })?;
                group = match groups.iter().position(|g| *g == name) {
                    Some(i) => u16::try_from(i).unwrap_or(u16::MAX),
                    None => {
                        groups.push(name);
                        u16::try_from(groups.len() - 1)
                            .map_err(|_| Error::Crl("too many certificate issuers".into()))?
                    }
                };
            }
            revoked.push((
                group,
                key,
                Revocation {
                    at: entry.at,
                    reason: entry.reason,
                },
            ));
            input = rest;
        }
        revoked.sort_unstable_by_key(|entry| (entry.0, entry.1));
        revoked.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
        revoked.shrink_to_fit();
        let tbs = &crl.tbs_cert_list;
        let mut indexed = IndexedCrl {
            issuer,
            issuer_text: tbs.issuer.to_string(),
            key_id: None,
            number: None,
            delta_base: None,
            this_update: tbs.this_update.to_datetime(),
            next_update: tbs.next_update.map(|t| t.to_datetime()),
            scope: Scope::default(),
            scope_der: Vec::new(),
            defect,
            groups,
            revoked,
            signed: SignedParts {
                tbs: parts.tbs.to_vec(),
                algorithm: raw_algorithm(&crl),
                signature: crl.signature_value.data.to_vec(),
            },
            checked: Mutex::new(Vec::new()),
        };
        indexed.read_extensions(&crl);
        Ok(indexed)
    }

    fn read_extensions(&mut self, crl: &CertificateRevocationList<'_>) {
        for ext in crl.tbs_cert_list.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    self.key_id = aki.key_identifier.as_ref().map(|k| k.0.to_vec());
                }
                ParsedExtension::CRLNumber(n) => self.number = Some(n.to_bytes_be()),
                ParsedExtension::IssuingDistributionPoint(idp) => {
                    self.scope_der = ext.value.to_vec();
                    self.scope = Scope {
                        names: match &idp.distribution_point {
                            Some(DistributionPointName::FullName(names)) => {
                                names.iter().map(PointName::of).collect()
                            }
                            Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
                                vec![PointName::Other("a name relative to the CRL issuer".into())]
                            }
                            None => Vec::new(),
                        },
                        only_user: idp.only_contains_user_certs,
                        only_ca: idp.only_contains_ca_certs,
                        only_attribute: idp.only_contains_attribute_certs,
                        reasons: idp.only_some_reasons.as_ref().map(|r| r.flags),
                        indirect: idp.indirect_crl,
                    };
                }
                _ if ext.oid == oids::OID_X509_EXT_DELTA_CRL_INDICATOR => {
                    let base = crl_der::read(ext.value)
                        .ok()
                        .filter(|(t, rest)| t.tag == 0x02 && rest.is_empty())
                        .map(|(t, _)| {
                            let start = t
                                .value
                                .iter()
                                .position(|b| *b != 0)
                                .unwrap_or(t.value.len());
                            t.value[start..].to_vec()
                        });
                    match base {
                        Some(base) => self.delta_base = Some(base),
                        None if self.defect.is_none() => {
                            self.defect = Some("the deltaCRLIndicator does not parse".into());
                        }
                        None => {}
                    }
                }
                ParsedExtension::ParseError { error } if self.defect.is_none() => {
                    self.defect = Some(format!("extension {} does not parse: {error}", ext.oid));
                }
                _ => {}
            }
        }
        if self.delta_base.is_some() && self.number.is_none() && self.defect.is_none() {
            self.defect = Some("a delta CRL without a CRL number (RFC 5280 §5.2.4)".into());
        }
    }

    /// The revocation of `serial` (DER INTEGER content octets) issued by
    /// `issuer` (group 0 is the CRL issuer), if listed.
    pub(crate) fn lookup_for(&self, issuer: &PreparedName, serial: &[u8]) -> Option<Revocation> {
        let group = u16::try_from(self.groups.iter().position(|g| g == issuer)?).ok()?;
        let key = serial_key(serial)?;
        self.revoked
            .binary_search_by(|(g, k, _)| (*g, *k).cmp(&(group, key)))
            .ok()
            .map(|i| self.revoked[i].2)
    }

    /// The revocation of `serial` issued by the CRL issuer, if listed.
    pub fn lookup(&self, serial: &[u8]) -> Option<Revocation> {
        self.lookup_for(&self.groups[0], serial)
    }

    /// How many serials the CRL lists.
    pub fn len(&self) -> usize {
        self.revoked.len()
    }

    /// Whether the CRL lists nothing.
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }

    /// Checks the CRL's signature with a signer's key. With `cache` (the
    /// validation's time), a result is kept per key, at most
    /// [`CHECKED_CAPACITY`] of them and each for [`crate::cache::MAX_AGE`];
    /// without, the signature is checked at every call.
    pub(crate) fn signature_by(
        &self,
        signer_spki: &[u8],
        legacy: bool,
        cache: Option<OffsetDateTime>,
    ) -> Result<Noted, SignatureProblem> {
        let mut checked = self
            .checked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(at) = cache {
            checked.retain(|(_, _, _, when)| crate::cache::fresh(*when, at));
            if let Some((_, _, result, _)) = checked
                .iter()
                .find(|(spki, l, _, _)| *l == legacy && spki == signer_spki)
            {
                return result.clone();
            }
        }
        let result = match AlgorithmIdentifier::from_der(&self.signed.algorithm) {
            Ok((_, algorithm)) => signature::verify(
                signer_spki,
                &algorithm,
                &self.signed.tbs,
                &self.signed.signature,
                legacy,
            ),
            Err(e) => Err(SignatureProblem::Unsupported(format!(
                "signature algorithm: {e}"
            ))),
        };
        if let Some(at) = cache {
            if checked.len() >= CHECKED_CAPACITY {
                checked.clear();
            }
            checked.push((signer_spki.to_vec(), legacy, result.clone(), at));
        }
        result
    }
}

fn raw_algorithm(crl: &CertificateRevocationList<'_>) -> Vec<u8> {
    // The signatureAlgorithm follows tbsCertList in the outer SEQUENCE.
    let outer = crl_der::read(crl.as_raw()).ok().map(|(t, _)| t.value);
    outer
        .and_then(|body| crl_der::read(body).ok())
        .and_then(|(_, after_tbs)| crl_der::read(after_tbs).ok())
        .map(|(alg, _)| alg.raw.to_vec())
        .unwrap_or_default()
}

fn directory_name(general_names: &[u8]) -> Option<PreparedName> {
    let (list, _) = crl_der::read(general_names).ok()?;
    let mut input = list.value;
    while !input.is_empty() {
        let (name, rest) = crl_der::read(input).ok()?;
        // directoryName is [4], constructed and explicit.
        if name.tag == 0xa4 {
            let (_, parsed) = X509Name::from_der(name.value).ok()?;
            return Some(PreparedName::of(&parsed));
        }
        input = rest;
    }
    None
}

/// RFC 5280 §5: the profile a usable CRL keeps.
fn profile_defect(
    crl: &CertificateRevocationList<'_>,
    parts: &crl_der::Split<'_>,
) -> Option<String> {
    let extensions = crl.tbs_cert_list.extensions();
    match parts.version {
        None if !extensions.is_empty() => {
            return Some(
                "a version 1 CRL carries extensions (RFC 5280 §5.1.2.1: they need v2)".into(),
            );
        }
        Some([0]) => return Some("the CRL encodes the default version v1 explicitly".into()),
        Some([1]) | None => {}
        Some(other) => return Some(format!("unknown CRL version {}", hex::encode(other))),
    }
    if parts.entries_present && parts.entries.is_empty() {
        return Some(
            "revokedCertificates is present but empty (RFC 5280 §5.1.2.6: it MUST be absent)"
                .into(),
        );
    }
    if crl.signature_algorithm != crl.tbs_cert_list.signature || !parts.algorithms_alike {
        return Some("the outer and inner signature algorithms differ (RFC 5280 §5.1.1.2)".into());
    }
    let processed = [
        oids::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER,
        oids::OID_X509_EXT_ISSUER_ALT_NAME,
        oids::OID_X509_EXT_ISSUER_DISTRIBUTION_POINT,
        oids::OID_X509_EXT_DELTA_CRL_INDICATOR,
    ];
    if !extensions
        .iter()
        .any(|e| e.oid == oids::OID_X509_EXT_CRL_NUMBER)
    {
        return Some(
            "the CRL has no CRL number (RFC 5280 §5.2.3: conforming CRL issuers MUST include it)"
                .into(),
        );
    }
    for ext in extensions {
        if ext.oid == oids::OID_X509_EXT_CRL_NUMBER && ext.critical {
            return Some(
                "the CRL number extension is marked critical (RFC 5280 §5.2.3: it MUST NOT be)"
                    .into(),
            );
        }
        if ext.critical && !processed.contains(&ext.oid) && ext.oid != oids::OID_X509_EXT_CRL_NUMBER
        {
            return Some(format!(
                "the CRL has a critical extension we do not process ({})",
                ext.oid
            ));
        }
    }
    None
}

/// A serial as a fixed-size key: its length, then the minimal two's
/// complement content octets, so that the sign is kept (serial −1 is
/// `ff`, 255 is `00 ff`).
type SerialKey = [u8; 22];

pub(crate) fn serial_key(serial: &[u8]) -> Option<SerialKey> {
    let mut digits = serial;
    while digits.len() > 1
        && ((digits[0] == 0 && digits[1] < 0x80) || (digits[0] == 0xff && digits[1] >= 0x80))
    {
        digits = &digits[1..];
    }
    let mut key = [0u8; 22];
    if digits.len() > 21 {
        return None;
    }
    key[0] = u8::try_from(digits.len()).ok()?;
    key[1..=digits.len()].copy_from_slice(digits);
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The signature results a CRL keeps are bounded in number and in
    /// validation time.
    #[test]
    fn checked_signers_are_bounded_in_number_and_age() {
        let at = time::macros::datetime!(2026-01-01 00:00 UTC);
        let root = pkilab_ca::CertificateAuthority::new_root(
            "CRL Root",
            pkilab_ca::CaKey::ed25519_from_seed(&[4; 32]).expect("key"),
            at - time::Duration::days(1),
            at + time::Duration::days(30),
            pkilab_ca::Serial::from_bytes([1; 20]),
        )
        .expect("root");
        let der = root
            .crl(
                &[],
                1,
                at - time::Duration::hours(1),
                at + time::Duration::days(7),
            )
            .expect("crl");
        let crl = IndexedCrl::from_der(&der).expect("indexed");
        let count = || crl.checked.lock().expect("lock").len();
        for i in 0..40u8 {
            // Keys that do not even parse: refused, and the refusal kept.
            assert!(crl.signature_by(&[i; 12], false, Some(at)).is_err());
            assert!(count() <= CHECKED_CAPACITY, "{} kept", count());
        }
        let later = at + crate::cache::MAX_AGE + time::Duration::SECOND;
        assert!(crl.signature_by(&[200; 12], false, Some(later)).is_err());
        assert_eq!(count(), 1, "what was checked an hour before is dropped");
        // Without caching nothing is kept.
        assert!(crl.signature_by(&[201; 12], false, None).is_err());
        assert_eq!(count(), 1);
    }

    #[test]
    fn a_serial_keeps_its_sign() {
        assert_ne!(serial_key(&[0xff]), serial_key(&[0x00, 0xff]));
        assert_eq!(serial_key(&[0x00, 0x7f]), serial_key(&[0x7f]));
        assert_eq!(serial_key(&[0xff, 0x80]), serial_key(&[0x80]));
    }
}
