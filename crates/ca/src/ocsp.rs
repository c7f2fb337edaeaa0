//! An OCSP responder (RFC 6960) for the certificates one CA issued: good,
//! revoked with time and reason, or unknown; the request's nonce echoed;
//! thisUpdate and nextUpdate set; signed by the CA itself or by a delegated
//! OCSP signer (id-kp-OCSPSigning, §4.2.2.2). A request that does not parse
//! is answered `malformedRequest`, never an error.

use der::asn1::{GeneralizedTime, Null, OctetString};
use der::{DateTime, Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use time::{Duration, OffsetDateTime};
use x509_cert::ext::pkix::CrlReason;
use x509_ocsp::{
    BasicOcspResponse, CertId, CertStatus, OcspGeneralizedTime, OcspRequest, OcspResponse,
    ResponderId, ResponseData, RevokedInfo, SingleResponse, Version,
};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::authority::RevocationReason;
use crate::crl::algorithm_identifier;
use crate::error::{InputError, Result};
use crate::key::CaKey;
use crate::serial::Serial;

/// id-pkix-ocsp-nonce, 1.3.6.1.5.5.7.48.1.2.
const NONCE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-sha1 and id-sha256, the CertID hashes a responder must know.
const SHA1: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
const SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// What the CA knows of one serial.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CertificateState {
    /// Issued and not revoked.
    Good,
    /// Revoked at `at` for `reason`.
    Revoked {
        /// revocationTime.
        at: OffsetDateTime,
        /// CRLReason.
        reason: RevocationReason,
    },
    /// Not issued by this CA, as far as it knows.
    Unknown,
}

/// The serials a DER OCSPRequest asks about, in order (none when it does
/// not parse), for a responder that looks them up before answering.
pub fn requested_serials(request: &[u8]) -> Vec<Serial> {
    OcspRequest::from_der(request)
        .map(|r| {
            r.tbs_request
                .request_list
                .iter()
                .map(|one| Serial::from_der_integer(one.req_cert.serial_number.as_bytes()))
                .collect()
        })
        .unwrap_or_default()
}

/// A responder for one issuing CA.
pub struct Responder {
    issuer_name: Vec<u8>,
    issuer_key: Vec<u8>,
    signer_key: CaKey,
    signer_key_bits: Vec<u8>,
    /// The delegated signer's certificate, sent with each response.
    delegated: Option<x509_cert::Certificate>,
    lifetime: Duration,
}

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Responder")
            .field("delegated", &self.delegated.is_some())
            .field("lifetime", &self.lifetime)
            .finish_non_exhaustive()
    }
}

impl Responder {
    /// A responder for the CA whose certificate is `issuer_der`, signing
    /// with `signer_key`: the CA's own key, or (with `delegated_der`) the
    /// key of a delegated OCSP signer that CA issued. Responses are valid
    /// for `lifetime` after they are made.
    pub fn new(
        issuer_der: &[u8],
        signer_key: CaKey,
        delegated_der: Option<&[u8]>,
        lifetime: Duration,
    ) -> Result<Responder> {
        let (_, issuer) = X509Certificate::from_der(issuer_der)
            .map_err(|e| InputError::Certificate(e.to_string()))?;
        let signer_der = delegated_der.unwrap_or(issuer_der);
        let (_, signer) = X509Certificate::from_der(signer_der)
            .map_err(|e| InputError::Certificate(e.to_string()))?;
        let delegated = match delegated_der {
            Some(der) => Some(
                x509_cert::Certificate::from_der(der)
                    .map_err(|e| InputError::Certificate(e.to_string()))?,
            ),
            None => None,
        };
        Ok(Responder {
            issuer_name: issuer.subject().as_raw().to_vec(),
            issuer_key: issuer.public_key().subject_public_key.data.to_vec(),
            signer_key_bits: signer.public_key().subject_public_key.data.to_vec(),
            signer_key,
            delegated,
            lifetime,
        })
    }

    /// Answers the DER OCSPRequest `request` at `now`, asking `lookup` for
    /// the state of each serial. Always returns a DER OCSPResponse.
    pub fn respond(
        &self,
        request: &[u8],
        now: OffsetDateTime,
        lookup: &dyn Fn(&Serial) -> CertificateState,
    ) -> Vec<u8> {
        let answer = match OcspRequest::from_der(request) {
            Ok(request) if !request.tbs_request.request_list.is_empty() => {
                self.answer(&request, now, lookup)
            }
            _ => Ok(OcspResponse::malformed_request()),
        };
        answer
            .and_then(|response| {
                response
                    .to_der()
                    .map_err(|e| InputError::Certificate(e.to_string()).into())
            })
            .unwrap_or_else(|_| {
                OcspResponse::internal_error()
                    .to_der()
                    .unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
            })
    }

    fn answer(
        &self,
        request: &OcspRequest,
        now: OffsetDateTime,
        lookup: &dyn Fn(&Serial) -> CertificateState,
    ) -> Result<OcspResponse> {
        let this_update = generalized(now)?;
        let next_update = generalized(now + self.lifetime)?;
        let mut responses = Vec::new();
        for one in &request.tbs_request.request_list {
            let id = &one.req_cert;
            let state = if self.is_issuer(id) {
                lookup(&Serial::from_der_integer(id.serial_number.as_bytes()))
            } else {
                CertificateState::Unknown
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status: status(state)?,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            });
        }
        let nonce = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == NONCE)
            .cloned();
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(octets(&sha1(&self.signer_key_bits))?),
            produced_at: this_update,
            responses,
            response_extensions: nonce.map(|n| vec![n]),
        };
        let tbs = data.to_der().map_err(der_error)?;
        let signature = rcgen::SigningKey::sign(&self.signer_key, &tbs)?;
        let algorithm =
            AlgorithmIdentifierOwned::from_der(&algorithm_identifier(self.signer_key.algorithm()))
                .map_err(der_error)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: algorithm,
            signature: der::asn1::BitString::from_bytes(&signature).map_err(der_error)?,
            certs: self.delegated.clone().map(|c| vec![c]),
        };
        OcspResponse::successful(basic).map_err(der_error)
    }

    /// Whether the DER OCSPRequest `request` asks (first) about a
    /// certificate of this responder's CA.
    pub fn answers(&self, request: &[u8]) -> bool {
        OcspRequest::from_der(request).is_ok_and(|r| {
            r.tbs_request
                .request_list
                .first()
                .is_some_and(|one| self.is_issuer(&one.req_cert))
        })
    }

    /// Whether a CertID names this responder's CA (SHA-1 or SHA-256).
    fn is_issuer(&self, id: &CertId) -> bool {
        let hash: fn(&[u8]) -> Vec<u8> = match id.hash_algorithm.oid {
            oid if oid == SHA1 => sha1,
            oid if oid == SHA256 => sha256,
            _ => return false,
        };
        id.issuer_name_hash.as_bytes() == hash(&self.issuer_name).as_slice()
            && id.issuer_key_hash.as_bytes() == hash(&self.issuer_key).as_slice()
    }
}

fn status(state: CertificateState) -> Result<CertStatus> {
    Ok(match state {
        CertificateState::Good => CertStatus::Good(Null),
        CertificateState::Unknown => CertStatus::Unknown(Null),
        CertificateState::Revoked { at, reason } => CertStatus::Revoked(RevokedInfo {
            revocation_time: generalized(at)?,
            revocation_reason: crl_reason(reason),
        }),
    })
}

fn crl_reason(reason: RevocationReason) -> Option<CrlReason> {
    Some(match reason {
        RevocationReason::Unspecified => return None,
        RevocationReason::KeyCompromise => CrlReason::KeyCompromise,
        RevocationReason::CaCompromise => CrlReason::CaCompromise,
        RevocationReason::AffiliationChanged => CrlReason::AffiliationChanged,
        RevocationReason::Superseded => CrlReason::Superseded,
        RevocationReason::CessationOfOperation => CrlReason::CessationOfOperation,
        RevocationReason::CertificateHold => CrlReason::CertificateHold,
        RevocationReason::PrivilegeWithdrawn => CrlReason::PrivilegeWithdrawn,
    })
}

fn generalized(at: OffsetDateTime) -> Result<OcspGeneralizedTime> {
    let seconds = u64::try_from(at.unix_timestamp())
        .map_err(|_| InputError::Certificate("a time before 1970".into()))?;
    let time =
        DateTime::from_unix_duration(std::time::Duration::from_secs(seconds)).map_err(der_error)?;
    Ok(OcspGeneralizedTime(GeneralizedTime::from_date_time(time)))
}

fn octets(bytes: &[u8]) -> Result<OctetString> {
    OctetString::new(bytes.to_vec()).map_err(der_error)
}

fn der_error(e: der::Error) -> crate::error::Error {
    InputError::Certificate(format!("OCSP encoding: {e}")).into()
}

pub(crate) fn sha1(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}
