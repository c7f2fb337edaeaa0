//! The client side of OCSP (RFC 6960): which responders a certificate
//! names, and the request to send them. A request carries one CertID with
//! SHA-1 hashes, the form every responder must accept (RFC 5019 §2.1.1),
//! no nonce (so a responder may answer from its cache) and no signature.

use der::Encode;
use der::asn1::{Null, OctetString};
use spki::AlgorithmIdentifierOwned;
use x509_cert::serial_number::SerialNumber;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest, Version};
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::error::Error;

/// id-ad-ocsp, 1.3.6.1.5.5.7.48.1.
const AD_OCSP: &str = "1.3.6.1.5.5.7.48.1";
/// id-sha1.
const SHA1: der::asn1::ObjectIdentifier = der::asn1::ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

fn certificate(der: &[u8]) -> Result<X509Certificate<'_>, Error> {
    X509Certificate::from_der(der)
        .map(|(_, cert)| cert)
        .map_err(|e| Error::Ocsp(format!("not a DER certificate: {e}")))
}

/// The OCSP responder URIs in the certificate's authorityInfoAccess
/// (RFC 5280 §4.2.2.1, access method id-ad-ocsp), in order.
pub fn responder_urls(cert_der: &[u8]) -> Result<Vec<String>, Error> {
    let cert = certificate(cert_der)?;
    let mut urls = Vec::new();
    for extension in cert.extensions() {
        if let ParsedExtension::AuthorityInfoAccess(aia) = extension.parsed_extension() {
            for description in &aia.accessdescs {
                if description.access_method.to_id_string() == AD_OCSP
                    && let GeneralName::URI(uri) = &description.access_location
                {
                    urls.push((*uri).to_owned());
                }
            }
        }
    }
    Ok(urls)
}

/// A DER OCSPRequest about `cert_der`, issued by `issuer_der`.
pub fn for_certificate(cert_der: &[u8], issuer_der: &[u8]) -> Result<Vec<u8>, Error> {
    let cert = certificate(cert_der)?;
    for_serial(issuer_der, cert.raw_serial())
}

/// A DER OCSPRequest about serial `serial` (the certificate's INTEGER
/// content octets) of the CA whose certificate is `issuer_der`.
pub fn for_serial(issuer_der: &[u8], serial: &[u8]) -> Result<Vec<u8>, Error> {
    let issuer = certificate(issuer_der)?;
    let bad = |e: der::Error| Error::Ocsp(format!("cannot encode the request: {e}"));
    let digits = match serial {
        [0, rest @ ..] if !rest.is_empty() => rest,
        all => all,
    };
    let id = CertId {
        hash_algorithm: AlgorithmIdentifierOwned {
            oid: SHA1,
            parameters: Some(Null.into()),
        },
        issuer_name_hash: OctetString::new(sha1(issuer.subject().as_raw())).map_err(bad)?,
        issuer_key_hash: OctetString::new(sha1(&issuer.public_key().subject_public_key.data))
            .map_err(bad)?,
        serial_number: SerialNumber::new(digits).map_err(bad)?,
    };
    single(id).to_der().map_err(bad)
}

/// An unsigned request for one certificate, without nonce or other
/// extensions: the form a responder caches its answers by.
pub fn single(id: CertId) -> OcspRequest {
    OcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![Request {
                req_cert: id,
                single_request_extensions: None,
            }],
            request_extensions: None,
        },
        optional_signature: None,
    }
}

fn sha1(bytes: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes)
        .as_ref()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use pkilab_ca::{
        CaKey, CertificateAuthority, LeafRequest, Locations, Serial, SigningAlgorithm,
    };
    use time::{Duration, OffsetDateTime};

    #[test]
    fn a_request_names_the_issuer_and_serial_and_the_urls_come_from_the_aia() {
        let now = OffsetDateTime::now_utc();
        let ca = CertificateAuthority::new_root(
            "Example Root",
            CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
            now,
            now + Duration::days(30),
            Serial::random(),
        )
        .expect("root");
        let mut leaf = LeafRequest::new("alice", now, now + Duration::days(1));
        leaf.locations = Some(Locations {
            crl: "https://ca.example/crl/root.crl".into(),
            ocsp: Some("https://ca.example/ocsp".into()),
            ca_issuers: None,
        });
        let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
        let serial = Serial::random();
        let issued = ca
            .issue(&leaf, &key.public_key_spki_der(), serial.clone())
            .expect("leaf");
        assert_eq!(
            responder_urls(&issued.der).expect("urls"),
            ["https://ca.example/ocsp"]
        );
        assert!(
            responder_urls(ca.certificate_der())
                .expect("urls")
                .is_empty()
        );
        let der = for_certificate(&issued.der, ca.certificate_der()).expect("request");
        let request = OcspRequest::from_der(&der).expect("parses");
        let id = &request.tbs_request.request_list[0].req_cert;
        assert_eq!(
            Serial::from_der_integer(id.serial_number.as_bytes()),
            serial
        );
        let (_, root) = X509Certificate::from_der(ca.certificate_der()).expect("root");
        assert_eq!(
            id.issuer_name_hash.as_bytes(),
            sha1(root.subject().as_raw())
        );
        assert!(request.tbs_request.request_extensions.is_none(), "no nonce");
    }
}
