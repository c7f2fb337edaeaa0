//! The client side of OCSP (RFC 6960): a request for one certificate, and
//! what a response says of it, for clients that ask a responder and for
//! tools that show the exchange.

use der::asn1::OctetString;
use der::{Decode, Encode};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::Extension;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspRequest, OcspResponse, Request, TbsRequest};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::serial::Serial;

/// id-sha256: the CertID hash requests use.
const SHA256: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-pkix-ocsp-nonce (RFC 6960 §4.4.1).
const NONCE: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");

/// A DER OCSPRequest (RFC 6960 §4.1.1) for `leaf` issued by `issuer`:
/// one CertID hashed with SHA-256, and a nonce.
pub fn request_for(leaf: &[u8], issuer: &[u8], nonce: [u8; 16]) -> Option<Vec<u8>> {
    let (_, leaf) = X509Certificate::from_der(leaf).ok()?;
    let (_, issuer) = X509Certificate::from_der(issuer).ok()?;
    let hash = |bytes: &[u8]| OctetString::new(sha256(bytes)).ok();
    let cert_id = x509_ocsp::CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA256,
            parameters: None,
        },
        issuer_name_hash: hash(issuer.subject().as_raw())?,
        issuer_key_hash: hash(issuer.public_key().subject_public_key.data.as_ref())?,
        serial_number: SerialNumber::new(leaf.raw_serial()).ok()?,
    };
    let nonce = Extension {
        extn_id: NONCE,
        critical: false,
        extn_value: OctetString::new(OctetString::new(nonce.to_vec()).ok()?.to_der().ok()?).ok()?,
    };
    OcspRequest {
        tbs_request: TbsRequest {
            request_list: vec![Request {
                req_cert: cert_id,
                single_request_extensions: None,
            }],
            request_extensions: Some(vec![nonce]),
            ..TbsRequest::default()
        },
        optional_signature: None,
    }
    .to_der()
    .ok()
}

/// The serial a DER OCSPRequest asks about first.
pub fn requested_serial(request: &[u8]) -> Option<Serial> {
    let request = OcspRequest::from_der(request).ok()?;
    let one = request.tbs_request.request_list.first()?;
    Some(Serial::from_der_integer(
        one.req_cert.serial_number.as_bytes(),
    ))
}

/// The status a DER OCSPResponse gives its first certificate, or what
/// went wrong at the responder.
pub fn response_status(response: &[u8]) -> Option<&'static str> {
    let response = OcspResponse::from_der(response).ok()?;
    let Some(bytes) = response.response_bytes else {
        return Some("an error");
    };
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).ok()?;
    Some(
        match basic.tbs_response_data.responses.first()?.cert_status {
            CertStatus::Good(_) => "good",
            CertStatus::Revoked(_) => "revoked",
            CertStatus::Unknown(_) => "unknown",
        },
    )
}

fn sha256(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .to_vec()
}
