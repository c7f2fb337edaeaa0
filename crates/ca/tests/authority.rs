//! Certificates and CRLs the CA signs, read back by x509-parser and checked
//! by `openssl verify` as a second opinion.

// A test fails by panicking; the workspace lint is for library code.
#![allow(clippy::panic)]

use std::path::Path;
use std::process::Command;

use pkilab_ca::{
    CaKey, CertificateAuthority, LeafRequest, RequestError, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_parser::prelude::{
    CertificateRevocationList, FromDer, ParsedExtension, ReasonCode, X509Certificate,
};

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

struct Pki {
    root: CertificateAuthority,
    issuing: CertificateAuthority,
}

fn pki(algorithm: SigningAlgorithm) -> Pki {
    let root_key = CaKey::generate(algorithm).expect("root key");
    let root = CertificateAuthority::new_root(
        "Test Root CA",
        root_key,
        NOW,
        NOW + Duration::days(3650),
        Serial::random(),
    )
    .expect("root");
    let issuing_key = CaKey::generate(algorithm).expect("issuing key");
    let issuing = root
        .new_intermediate(
            "Test Issuing CA",
            issuing_key,
            NOW,
            NOW + Duration::days(1825),
            Some(0),
            Serial::random(),
        )
        .expect("intermediate");
    Pki { root, issuing }
}

fn leaf(pki: &Pki, name: &str) -> (pkilab_ca::IssuedCertificate, CaKey) {
    let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("leaf key");
    let mut request = LeafRequest::new(name, NOW, NOW + Duration::days(365));
    request.dns.push(format!("{name}.example"));
    let issued = pki
        .issuing
        .issue(&request, &key.public_key_spki_der(), Serial::random())
        .expect("issue");
    (issued, key)
}

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der).expect("parses").1
}

fn key_id(cert: &X509Certificate<'_>, oid: &x509_parser::der_parser::Oid<'_>) -> Vec<u8> {
    let ext = cert
        .get_extension_unique(oid)
        .expect("unique")
        .expect("present");
    match ext.parsed_extension() {
        ParsedExtension::SubjectKeyIdentifier(id) => id.0.to_vec(),
        ParsedExtension::AuthorityKeyIdentifier(aki) => {
            aki.key_identifier.as_ref().expect("key id").0.to_vec()
        }
        other => panic!("unexpected extension {other:?}"),
    }
}

#[test]
fn ca_certificates_carry_the_rfc_5280_extensions() {
    for algorithm in SigningAlgorithm::ALL {
        let pki = pki(algorithm);
        let root = parse(pki.root.certificate_der());
        let issuing = parse(pki.issuing.certificate_der());
        for (cert, path_len) in [(&root, None), (&issuing, Some(0))] {
            let bc = cert.basic_constraints().expect("unique").expect("present");
            assert!(bc.critical && bc.value.ca, "{algorithm}");
            assert_eq!(bc.value.path_len_constraint, path_len);
            let ku = cert.key_usage().expect("unique").expect("present");
            assert!(ku.critical && ku.value.key_cert_sign() && ku.value.crl_sign());
            assert_eq!(cert.serial.to_bytes_be().len(), 20);
        }
        let root_ski = key_id(&root, &oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER);
        assert_eq!(
            root_ski,
            key_id(
                &issuing,
                &oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER
            )
        );
    }
}

#[test]
fn a_leaf_names_the_peer_as_a_dns_san_and_is_not_a_ca() {
    let pki = pki(SigningAlgorithm::Ed25519);
    let (issued, _) = leaf(&pki, "alice");
    let cert = parse(&issued.der);
    let san = cert
        .subject_alternative_name()
        .expect("unique")
        .expect("present");
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(|n| n.to_string())
        .collect();
    assert_eq!(names, ["DNSName(alice)", "DNSName(alice.example)"]);
    let bc = cert.basic_constraints().expect("unique").expect("present");
    assert!(bc.critical && !bc.value.ca);
    let eku = cert.extended_key_usage().expect("unique").expect("present");
    assert!(eku.value.client_auth && eku.value.server_auth);
    assert_eq!(
        key_id(&cert, &oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER),
        key_id(
            &parse(pki.issuing.certificate_der()),
            &oid_registry::OID_X509_EXT_SUBJECT_KEY_IDENTIFIER
        )
    );
}

#[test]
fn nothing_is_issued_past_the_issuer() {
    let pki = pki(SigningAlgorithm::Ed25519);
    let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
    let request = LeafRequest::new("bob", NOW, NOW + Duration::days(2000));
    let error = pki
        .issuing
        .issue(&request, &key.public_key_spki_der(), Serial::random())
        .expect_err("outlives");
    match error {
        pkilab_ca::Error::Request(RequestError::OutlivesIssuer { max_days, .. }) => {
            assert_eq!(max_days, 1825)
        }
        other => panic!("unexpected {other}"),
    }
}

#[test]
fn a_crl_has_number_aki_dates_and_reasons() {
    let pki = pki(SigningAlgorithm::EcdsaP256);
    let (issued, _) = leaf(&pki, "bob");
    let entry = RevokedEntry {
        serial: issued.serial.clone(),
        revoked_at: NOW,
        reason: RevocationReason::KeyCompromise,
    };
    let der = pki
        .issuing
        .crl(&[entry], 7, NOW, NOW + Duration::days(7))
        .expect("crl");
    let (_, crl) = CertificateRevocationList::from_der(&der).expect("parses");
    assert_eq!(crl.crl_number().map(|n| n.to_u64_digits()), Some(vec![7]));
    assert_eq!(
        crl.next_update().map(|t| t.to_datetime()),
        Some(NOW + Duration::days(7))
    );
    let revoked: Vec<_> = crl.iter_revoked_certificates().collect();
    assert_eq!(revoked.len(), 1);
    assert_eq!(revoked[0].raw_serial(), issued.serial.as_bytes());
    assert_eq!(
        revoked[0].reason_code().map(|r| r.1),
        Some(ReasonCode::KeyCompromise)
    );
    assert!(
        crl.extensions()
            .iter()
            .any(|e| e.oid == oid_registry::OID_X509_EXT_AUTHORITY_KEY_IDENTIFIER)
    );
}

#[test]
fn a_ca_rebuilt_from_its_parts_keeps_signing_compatibly() {
    let pki = pki(SigningAlgorithm::Ed25519);
    let der = pki.issuing.certificate_der().to_vec();
    let key = CaKey::from_pkcs8_der(&pki.issuing.key().to_pkcs8_der()).expect("key");
    let again = CertificateAuthority::from_parts(der.clone(), key).expect("rebuild");
    assert_eq!(again.name(), "Test Issuing CA");
    let wrong = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
    assert!(CertificateAuthority::from_parts(der, wrong).is_err());
}

fn pem(label: &str, der: &[u8]) -> String {
    ::pem::encode(&::pem::Pem::new(label, der.to_vec()))
}

fn openssl_verify(dir: &Path, leaf: &str) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-crl_check_all", "-attime"])
        .arg((NOW + Duration::days(1)).unix_timestamp().to_string())
        .arg("-CAfile")
        .arg(dir.join("root.pem"))
        .arg("-untrusted")
        .arg(dir.join("issuing.pem"))
        .arg("-CRLfile")
        .arg(dir.join("crl.pem"))
        .arg(dir.join(leaf))
        .output()
        .expect("openssl is installed (CI installs it)");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn openssl_accepts_a_good_leaf_and_refuses_a_revoked_one() {
    for algorithm in SigningAlgorithm::ALL {
        let pki = pki(algorithm);
        let (good, _) = leaf(&pki, "alice");
        let (bad, _) = leaf(&pki, "bob");
        let dir = tempfile::tempdir().expect("tempdir");
        let revoked = [RevokedEntry {
            serial: bad.serial.clone(),
            revoked_at: NOW,
            reason: RevocationReason::KeyCompromise,
        }];
        let crls = pem(
            "X509 CRL",
            &pki.root
                .crl(&[], 1, NOW, NOW + Duration::days(7))
                .expect("root crl"),
        ) + &pem(
            "X509 CRL",
            &pki.issuing
                .crl(&revoked, 1, NOW, NOW + Duration::days(7))
                .expect("crl"),
        );
        for (name, body) in [
            ("root.pem", pem("CERTIFICATE", pki.root.certificate_der())),
            (
                "issuing.pem",
                pem("CERTIFICATE", pki.issuing.certificate_der()),
            ),
            ("crl.pem", crls),
            ("good.pem", pem("CERTIFICATE", &good.der)),
            ("bad.pem", pem("CERTIFICATE", &bad.der)),
        ] {
            std::fs::write(dir.path().join(name), body).expect("write");
        }
        let (ok, text) = openssl_verify(dir.path(), "good.pem");
        assert!(ok, "{algorithm}: {text}");
        let (ok, text) = openssl_verify(dir.path(), "bad.pem");
        assert!(
            !ok && text.contains("certificate revoked"),
            "{algorithm}: {text}"
        );
    }
}
