//! A small PKI built with rcgen, and CRLs built by hand (rcgen cannot write
//! delta CRLs, indirect CRLs or negative serials), for the validator tests.
#![allow(dead_code, clippy::panic)]

use aws_lc_rs::signature::Ed25519KeyPair;
use pkilab_verify::{ExpectedName, Usage, ValidationRequest, Validator, Verdict};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, PKCS_ED25519,
};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_parser::prelude::{FromDer, ParsedExtension, X509Certificate};

pub const NOW: OffsetDateTime = datetime!(2026-06-01 00:00:00 UTC);

/// A certificate with the key and parameters that made it.
pub struct Ca {
    pub der: Vec<u8>,
    pub key: KeyPair,
    pub params: CertificateParams,
}

impl Ca {
    pub fn issuer(&self) -> Issuer<'_, &KeyPair> {
        Issuer::new(self.params.clone(), &self.key)
    }

    pub fn subject_der(&self) -> Vec<u8> {
        let (_, cert) = X509Certificate::from_der(&self.der).expect("parses");
        cert.subject().as_raw().to_vec()
    }

    pub fn key_id(&self) -> Vec<u8> {
        let (_, cert) = X509Certificate::from_der(&self.der).expect("parses");
        cert.extensions()
            .iter()
            .find_map(|e| match e.parsed_extension() {
                ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
                _ => None,
            })
            .expect("ski")
    }
}

pub fn key() -> KeyPair {
    KeyPair::generate_for(&PKCS_ED25519).expect("key")
}

/// Parameters of a CA named `name`.
pub fn ca_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    params.not_before = NOW - Duration::days(30);
    params.not_after = NOW + Duration::days(365);
    params.use_authority_key_identifier_extension = true;
    params
}

/// Parameters of a leaf for the DNS name `name`.
pub fn leaf_params(name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(vec![name.to_owned()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.not_before = NOW - Duration::days(1);
    params.not_after = NOW + Duration::days(90);
    params.use_authority_key_identifier_extension = true;
    params
}

pub fn root(name: &str) -> Ca {
    let key = key();
    let mut params = ca_params(name);
    params.use_authority_key_identifier_extension = false;
    let der = params.self_signed(&key).expect("root").der().to_vec();
    Ca { der, key, params }
}

/// A certificate with `params`, signed by `issuer`.
pub fn issue(params: CertificateParams, issuer: &Ca) -> Ca {
    let key = key();
    let der = params
        .signed_by(&key, &issuer.issuer())
        .expect("signed")
        .der()
        .to_vec();
    Ca { der, key, params }
}

/// An extension with DER `content`.
pub fn extension(oid: &[u64], critical: bool, content: Vec<u8>) -> CustomExtension {
    let mut ext = CustomExtension::from_oid_content(oid, content);
    ext.set_criticality(critical);
    ext
}

pub fn ask(name: &str) -> ValidationRequest {
    ValidationRequest {
        at: NOW,
        name: ExpectedName::Dns(name.to_owned()),
        usage: Usage::Any,
    }
}

pub fn validator(root: &Ca) -> Validator {
    Validator::new(vec![root.der.clone()]).expect("anchor")
}

pub fn reason(verdict: &Verdict) -> &'static str {
    verdict.reason().map_or("valid", |r| r.id())
}

// DER, by hand.

pub fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

pub fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut body = vec![(arcs[0] * 40 + arcs[1]) as u8];
    for arc in &arcs[2..] {
        let mut stack = vec![(arc & 0x7f) as u8];
        let mut rest = arc >> 7;
        while rest > 0 {
            stack.push(0x80 | (rest & 0x7f) as u8);
            rest >>= 7;
        }
        body.extend(stack.iter().rev());
    }
    tlv(0x06, &body)
}

pub fn integer(content: &[u8]) -> Vec<u8> {
    tlv(0x02, content)
}

pub fn time(at: OffsetDateTime) -> Vec<u8> {
    let text = format!(
        "{:02}{:02}{:02}{:02}{:02}{:02}Z",
        at.year() % 100,
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    );
    tlv(0x17, text.as_bytes())
}

/// An extension: OID, criticality, value.
pub fn ext(arcs: &[u64], critical: bool, value: &[u8]) -> Vec<u8> {
    let mut parts = vec![oid(arcs)];
    if critical {
        parts.push(vec![0x01, 0x01, 0xff]);
    }
    parts.push(tlv(0x04, value));
    seq(&parts)
}

pub const CRL_NUMBER: &[u64] = &[2, 5, 29, 20];
pub const DELTA_CRL_INDICATOR: &[u64] = &[2, 5, 29, 27];
pub const ISSUING_DISTRIBUTION_POINT: &[u64] = &[2, 5, 29, 28];
pub const AUTHORITY_KEY_IDENTIFIER: &[u64] = &[2, 5, 29, 35];
pub const REASON_CODE: &[u64] = &[2, 5, 29, 21];

/// A revoked entry: serial content octets, and a reason code.
pub struct Entry<'a> {
    pub serial: &'a [u8],
    pub reason: Option<u8>,
}

/// A v2 CRL by `signer` under the issuer name of `issuer_name_of`, with
/// `entries`, a CRL number and `extra` extensions, signed with Ed25519.
pub fn crl(
    issuer_name_of: &Ca,
    signer: &Ca,
    entries: &[Entry<'_>],
    number: u8,
    extra: &[Vec<u8>],
) -> Vec<u8> {
    sign_crl(
        signer,
        crl_fields(issuer_name_of, signer, entries, number, extra),
    )
}

/// The fields of a tbsCertList: version, signature, issuer, thisUpdate,
/// nextUpdate, [revokedCertificates,] extensions.
pub fn crl_fields(
    issuer_name_of: &Ca,
    signer: &Ca,
    entries: &[Entry<'_>],
    number: u8,
    extra: &[Vec<u8>],
) -> Vec<Vec<u8>> {
    let revoked: Vec<Vec<u8>> = entries
        .iter()
        .map(|e| {
            let mut parts = vec![integer(e.serial), time(NOW - Duration::days(1))];
            if let Some(code) = e.reason {
                parts.push(seq(&[ext(REASON_CODE, false, &tlv(0x0a, &[code]))]));
            }
            seq(&parts)
        })
        .collect();
    let aki = seq(&[tlv(0x80, &signer.key_id())]);
    let mut extensions = vec![
        ext(AUTHORITY_KEY_IDENTIFIER, false, &aki),
        ext(CRL_NUMBER, false, &integer(&[number])),
    ];
    extensions.extend(extra.iter().cloned());
    let mut tbs = vec![
        integer(&[1]),
        ed25519(),
        issuer_name_of.subject_der(),
        time(NOW - Duration::days(1)),
        time(NOW + Duration::days(7)),
    ];
    if !revoked.is_empty() {
        tbs.push(seq(&revoked));
    }
    tbs.push(tlv(0xa0, &seq(&extensions)));
    tbs
}

fn ed25519() -> Vec<u8> {
    seq(&[oid(&[1, 3, 101, 112])])
}

/// Signs the tbsCertList `fields` with `signer`'s Ed25519 key.
pub fn sign_crl(signer: &Ca, fields: Vec<Vec<u8>>) -> Vec<u8> {
    let tbs = seq(&fields);
    let pair =
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(&signer.key.serialize_der()).expect("ed25519");
    let signature = pair.sign(&tbs);
    let mut bits = vec![0];
    bits.extend_from_slice(signature.as_ref());
    seq(&[tbs, ed25519(), tlv(0x03, &bits)])
}

/// A Name of one CN, as UTF8String.
pub fn name_der(cn: &str) -> Vec<u8> {
    seq(&[tlv(
        0x31,
        &seq(&[oid(&[2, 5, 4, 3]), tlv(0x0c, cn.as_bytes())]),
    )])
}

/// A certificate built field by field, for what rcgen does not write
/// (v1 and v2 certificates, unique identifiers, 1950s UTCTime), signed
/// with `signer`'s Ed25519 key.
pub struct Handmade<'a> {
    /// The version INTEGER (0 = v1, omitted), when written.
    pub version: Option<u8>,
    pub issuer: &'a str,
    pub subject: &'a str,
    pub not_before: Vec<u8>,
    pub not_after: Vec<u8>,
    pub key: &'a KeyPair,
    /// Fields after subjectPublicKeyInfo: unique IDs, extensions.
    pub tail: Vec<Vec<u8>>,
}

impl Handmade<'_> {
    pub fn signed_by(&self, signer: &KeyPair) -> Vec<u8> {
        let mut tbs = Vec::new();
        if let Some(v) = self.version {
            tbs.push(tlv(0xa0, &integer(&[v])));
        }
        tbs.extend([
            integer(&[0x01, 0x23]),
            ed25519(),
            name_der(self.issuer),
            seq(&[self.not_before.clone(), self.not_after.clone()]),
            name_der(self.subject),
            ed25519_spki(self.key),
        ]);
        tbs.extend(self.tail.iter().cloned());
        let tbs = seq(&tbs);
        let pair =
            Ed25519KeyPair::from_pkcs8_maybe_unchecked(&signer.serialize_der()).expect("ed25519");
        let mut bits = vec![0];
        bits.extend_from_slice(pair.sign(&tbs).as_ref());
        seq(&[tbs, ed25519(), tlv(0x03, &bits)])
    }
}

fn ed25519_spki(key: &KeyPair) -> Vec<u8> {
    use rcgen::PublicKeyData;
    let mut bits = vec![0];
    bits.extend_from_slice(key.der_bytes());
    seq(&[ed25519(), tlv(0x03, &bits)])
}
