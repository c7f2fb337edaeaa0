//! Stored OCSP responses (RFC 6960) as a revocation source beside CRLs. A
//! response speaks for a certificate when one of its SingleResponses names
//! it (CertID: issuer name and key hashes, serial), when it is signed by
//! the certificate's issuer or by a delegated signer that issuer certified
//! for id-kp-OCSPSigning (§4.2.2.2), and when it is fresh at the time asked.

use der::{Decode, Encode};
use time::OffsetDateTime;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};
use x509_parser::prelude::{AlgorithmIdentifier, FromDer, X509Certificate};

use crate::error::Error;
use crate::path::Candidate;
use crate::signature::{self, Noted};

/// What a response says of one certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Status {
    Good,
    Revoked { at: i64, reason: Option<u8> },
    Unknown,
}

#[derive(Debug)]
struct Single {
    sha256: bool,
    name_hash: Vec<u8>,
    key_hash: Vec<u8>,
    serial: Vec<u8>,
    status: Status,
    this_update: i64,
    next_update: Option<i64>,
}

/// One OCSP response, parsed.
#[derive(Debug)]
pub struct OcspEntry {
    singles: Vec<Single>,
    tbs: Vec<u8>,
    algorithm: Vec<u8>,
    signature: Vec<u8>,
    /// Certificates sent with the response (a delegated signer).
    certs: Vec<Vec<u8>>,
}

/// What the check concluded, for the revocation step.
pub(crate) struct Answer {
    pub(crate) status: Status,
    pub(crate) this_update: i64,
    pub(crate) next_update: Option<i64>,
    pub(crate) note: Noted,
}

const OCSP_SIGNING: &str = "1.3.6.1.5.5.7.3.9";

impl OcspEntry {
    /// Parses a DER OCSPResponse; only a successful basic response is
    /// usable.
    pub fn from_der(der: &[u8]) -> Result<OcspEntry, Error> {
        let bad = |what: String| Error::Ocsp(what);
        let response = OcspResponse::from_der(der)
            .map_err(|e| bad(format!("not a DER OCSP response: {e}")))?;
        if response.response_status != OcspResponseStatus::Successful {
            return Err(bad(format!(
                "the responder answered {:?}",
                response.response_status
            )));
        }
        let bytes = response
            .response_bytes
            .ok_or_else(|| bad("a successful response without a body".into()))?;
        let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
            .map_err(|e| bad(format!("not a basic OCSP response: {e}")))?;
        let singles = basic
            .tbs_response_data
            .responses
            .iter()
            .map(|single| Single {
                sha256: single.cert_id.hash_algorithm.oid.to_string() == "2.16.840.1.101.3.4.2.1",
                name_hash: single.cert_id.issuer_name_hash.as_bytes().to_vec(),
                key_hash: single.cert_id.issuer_key_hash.as_bytes().to_vec(),
                serial: single.cert_id.serial_number.as_bytes().to_vec(),
                status: match &single.cert_status {
                    CertStatus::Good(_) => Status::Good,
                    CertStatus::Unknown(_) => Status::Unknown,
                    CertStatus::Revoked(info) => Status::Revoked {
                        at: seconds(&info.revocation_time.0),
                        reason: info.revocation_reason.map(|r| r as u8),
                    },
                },
                this_update: seconds(&single.this_update.0),
                next_update: single.next_update.map(|t| seconds(&t.0)),
            })
            .collect();
        let encode = |e: der::Error| bad(format!("re-encoding the response: {e}"));
        Ok(OcspEntry {
            singles,
            tbs: basic.tbs_response_data.to_der().map_err(encode)?,
            algorithm: basic.signature_algorithm.to_der().map_err(encode)?,
            signature: basic.signature.raw_bytes().to_vec(),
            certs: basic
                .certs
                .iter()
                .flatten()
                .map(|c| c.to_der())
                .collect::<Result<_, _>>()
                .map_err(encode)?,
        })
    }

    /// thisUpdate and nextUpdate (Unix seconds) of its first
    /// SingleResponse (RFC 6960 §4.2.2.1): what a stapled response's
    /// freshness is judged by.
    pub fn validity(&self) -> Option<(i64, Option<i64>)> {
        self.singles.first().map(|s| (s.this_update, s.next_update))
    }

    /// What this response says of `cert` issued by `issuer`, if it names
    /// it and its signature is the issuer's or a delegate's.
    pub(crate) fn answer(
        &self,
        cert: &Candidate<'_>,
        issuer: &Candidate<'_>,
        legacy: bool,
        at: OffsetDateTime,
    ) -> Option<Answer> {
        let name = issuer.cert.subject().as_raw();
        let key = issuer.cert.public_key().subject_public_key.data.as_ref();
        let serial = crate::crl::serial_key(cert.cert.raw_serial())?;
        let single = self.singles.iter().find(|s| {
            let hash = |b: &[u8]| if s.sha256 { sha256(b) } else { sha1(b) };
            s.name_hash == hash(name)
                && s.key_hash == hash(key)
                && crate::crl::serial_key(&s.serial) == Some(serial)
        })?;
        let note = self.signed_by_issuer_or_delegate(issuer, legacy, at)?;
        Some(Answer {
            status: single.status,
            this_update: single.this_update,
            next_update: single.next_update,
            note,
        })
    }

    fn signed_by_issuer_or_delegate(
        &self,
        issuer: &Candidate<'_>,
        legacy: bool,
        at: OffsetDateTime,
    ) -> Option<Noted> {
        let (_, algorithm) = AlgorithmIdentifier::from_der(&self.algorithm).ok()?;
        let by = |spki: &[u8]| {
            signature::verify(spki, &algorithm, &self.tbs, &self.signature, legacy).ok()
        };
        if let Some(note) = by(issuer.cert.public_key().raw) {
            return Some(note);
        }
        self.certs.iter().find_map(|der| {
            let (_, delegate) = X509Certificate::from_der(der).ok()?;
            let certified =
                crate::path::verify_certificate(&delegate, issuer.cert.public_key(), legacy)
                    .is_ok()
                    && delegate.issuer().as_raw() == issuer.cert.subject().as_raw();
            let for_ocsp = delegate
                .extended_key_usage()
                .ok()
                .flatten()
                .is_some_and(|eku| {
                    eku.value.ocsp_signing
                        || eku
                            .value
                            .other
                            .iter()
                            .any(|o| o.to_id_string() == OCSP_SIGNING)
                });
            (certified && for_ocsp && within(&delegate, at))
                .then(|| by(delegate.public_key().raw))
                .flatten()
        })
    }
}

fn within(cert: &X509Certificate<'_>, at: OffsetDateTime) -> bool {
    cert.validity().not_before.to_datetime() <= at && at <= cert.validity().not_after.to_datetime()
}

fn seconds(time: &der::asn1::GeneralizedTime) -> i64 {
    i64::try_from(time.to_unix_duration().as_secs()).unwrap_or(i64::MAX)
}

fn sha1(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}
