//! One test per verdict: chains made by our CA, refused for exactly one
//! reason each, at the position that caused it.

// A test fails by panicking; the workspace lint is for library code.
#![allow(clippy::panic)]

use pkilab_ca::{
    CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use pkilab_verify::{
    ExpectedName, Reason, RevocationPolicy, Usage, ValidationRequest, Validator, Verdict,
};
use time::{Duration, OffsetDateTime, macros::datetime};

const NOW: OffsetDateTime = datetime!(2026-01-01 00:00 UTC);

struct Pki {
    root: CertificateAuthority,
    issuing: CertificateAuthority,
}

impl Pki {
    fn new() -> Pki {
        Pki::named("Root", "Issuing")
    }

    fn named(root: &str, issuing: &str) -> Pki {
        let root = CertificateAuthority::new_root(
            root,
            CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
            NOW,
            NOW + Duration::days(3650),
            Serial::random(),
        )
        .expect("root");
        let issuing = root
            .new_intermediate(
                issuing,
                CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
                NOW,
                NOW + Duration::days(1825),
                Some(0),
                Serial::random(),
            )
            .expect("issuing");
        Pki { root, issuing }
    }

    fn leaf(&self, request: &LeafRequest) -> pkilab_ca::IssuedCertificate {
        let key = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
        self.issuing
            .issue(request, &key.public_key_spki_der(), Serial::random())
            .expect("issue")
    }

    fn validator(&self, revoked: &[RevokedEntry], next_update: Duration) -> Validator {
        let mut v = Validator::new(vec![self.root.certificate_der().to_vec()]).expect("anchor");
        v.add_crl(&self.root.crl(&[], 1, NOW, NOW + next_update).expect("crl"))
            .expect("root crl");
        v.add_crl(
            &self
                .issuing
                .crl(revoked, 1, NOW, NOW + next_update)
                .expect("crl"),
        )
        .expect("issuing crl");
        v.set_revocation_policy(RevocationPolicy::RequireFresh);
        v
    }

    fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.issuing.certificate_der().to_vec()]
    }
}

fn request(name: &str) -> LeafRequest {
    LeafRequest::new(name, NOW, NOW + Duration::days(365))
}

fn ask(name: &str, at: OffsetDateTime) -> ValidationRequest {
    ValidationRequest {
        at,
        name: ExpectedName::Peer(name.into()),
        usage: Usage::Server,
    }
}

fn refused(verdict: &Verdict) -> (Reason, Option<usize>, String) {
    match verdict {
        Verdict::Invalid {
            reason,
            position,
            detail,
        } => (*reason, *position, detail.clone()),
        other => panic!("expected a refusal, got {other}"),
    }
}

#[test]
fn a_good_chain_is_valid_and_lists_its_subjects() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("alice"));
    let verdict = pki.validator(&[], Duration::days(7)).validate(
        &leaf.der,
        &pki.chain(),
        &ask("alice", NOW + Duration::hours(1)),
    );
    match verdict {
        Verdict::Valid {
            chain, revocation, ..
        } => {
            assert_eq!(chain, vec!["CN=alice", "CN=Issuing", "CN=Root"]);
            let kinds: Vec<_> = revocation.iter().map(|s| (s.position, s.kind)).collect();
            assert_eq!(kinds, vec![(0, "crl"), (1, "crl")]);
        }
        other => panic!("expected a valid chain, got {other}"),
    }
}

#[test]
fn a_revoked_leaf_is_refused_with_serial_and_reason() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("bob"));
    let revoked = [RevokedEntry {
        serial: leaf.serial.clone(),
        revoked_at: NOW,
        reason: RevocationReason::KeyCompromise,
    }];
    let verdict = pki.validator(&revoked, Duration::days(7)).validate(
        &leaf.der,
        &pki.chain(),
        &ask("bob", NOW + Duration::hours(1)),
    );
    let (reason, position, detail) = refused(&verdict);
    assert_eq!((reason, position), (Reason::Revoked, Some(0)));
    assert!(
        detail.contains(&leaf.serial.to_string()) && detail.contains("key-compromise"),
        "{detail}"
    );
}

#[test]
fn a_revoked_intermediate_is_refused_at_position_1() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("bob"));
    let mut v = Validator::new(vec![pki.root.certificate_der().to_vec()]).expect("anchor");
    let serial = x509_serial(pki.issuing.certificate_der());
    let entry = RevokedEntry {
        serial,
        revoked_at: NOW,
        reason: RevocationReason::CaCompromise,
    };
    v.add_crl(
        &pki.root
            .crl(&[entry], 2, NOW, NOW + Duration::days(7))
            .expect("crl"),
    )
    .expect("add");
    let (reason, position, _) = refused(&v.validate(&leaf.der, &pki.chain(), &ask("bob", NOW)));
    assert_eq!((reason, position), (Reason::Revoked, Some(1)));
}

fn x509_serial(der: &[u8]) -> Serial {
    use x509_parser::prelude::FromDer;
    let (_, cert) = x509_parser::certificate::X509Certificate::from_der(der).expect("parse");
    Serial::from_der_integer(cert.raw_serial())
}

#[test]
fn expiry_and_not_yet_valid_are_told_apart() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("carol"));
    let v = pki.validator(&[], Duration::days(3650));
    let (reason, position, _) = refused(&v.validate(
        &leaf.der,
        &pki.chain(),
        &ask("carol", NOW + Duration::days(366)),
    ));
    assert_eq!((reason, position), (Reason::Expired, Some(0)));
    let mut later = request("carol");
    later.not_before = NOW + Duration::days(10);
    let leaf = pki.leaf(&later);
    let (reason, position, _) = refused(&v.validate(
        &leaf.der,
        &pki.chain(),
        &ask("carol", NOW + Duration::days(1)),
    ));
    assert_eq!((reason, position), (Reason::NotYetValid, Some(0)));
}

#[test]
fn a_foreign_ca_is_an_unknown_issuer() {
    let pki = Pki::new();
    let other = Pki::named("Other Root", "Other Issuing");
    let leaf = other.leaf(&request("dave"));
    let (reason, _, _) = refused(&pki.validator(&[], Duration::days(7)).validate(
        &leaf.der,
        &other.chain(),
        &ask("dave", NOW),
    ));
    assert_eq!(reason, Reason::UnknownIssuer);
}

#[test]
fn the_wrong_name_is_a_name_mismatch_that_lists_the_names() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("mallory"));
    let (reason, position, detail) = refused(&pki.validator(&[], Duration::days(7)).validate(
        &leaf.der,
        &pki.chain(),
        &ask("bob", NOW),
    ));
    assert_eq!((reason, position), (Reason::NameMismatch, Some(0)));
    assert!(
        detail.contains("mallory") && detail.contains("'bob'"),
        "{detail}"
    );
}

#[test]
fn a_stale_crl_is_refused_and_a_missing_one_is_unknown_under_require_fresh() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("erin"));
    let v = pki.validator(&[], Duration::days(1));
    let (reason, _, detail) = refused(&v.validate(
        &leaf.der,
        &pki.chain(),
        &ask("erin", NOW + Duration::days(2)),
    ));
    assert_eq!(reason, Reason::CrlStale, "{detail}");
    let mut bare = Validator::new(vec![pki.root.certificate_der().to_vec()]).expect("anchor");
    bare.set_revocation_policy(RevocationPolicy::RequireFresh);
    let (reason, position, _) = refused(&bare.validate(&leaf.der, &pki.chain(), &ask("erin", NOW)));
    assert_eq!((reason, position), (Reason::RevocationUnknown, Some(0)));
    bare.set_revocation_policy(RevocationPolicy::IfPresent);
    assert!(
        bare.validate(&leaf.der, &pki.chain(), &ask("erin", NOW))
            .is_valid()
    );
}

#[test]
fn crls_from_other_keys_are_not_used() {
    let pki = Pki::new();
    let impostor = Pki::new();
    let leaf = pki.leaf(&request("frank"));
    let mut v = Validator::new(vec![pki.root.certificate_der().to_vec()]).expect("anchor");
    // Same issuer name and key id are not enough: the signature must verify.
    let forged = CertificateAuthority::from_parts(
        pki.issuing.certificate_der().to_vec(),
        CaKey::from_pkcs8_der(&pki.issuing.key().to_pkcs8_der()).expect("key"),
    )
    .expect("rebuild");
    v.add_crl(
        &impostor
            .issuing
            .crl(&[], 1, NOW, NOW + Duration::days(7))
            .expect("crl"),
    )
    .expect("add");
    v.add_crl(
        &forged
            .crl(&[], 1, NOW, NOW + Duration::days(7))
            .expect("crl"),
    )
    .expect("add");
    assert!(
        v.validate(&leaf.der, &pki.chain(), &ask("frank", NOW))
            .is_valid(),
        "the genuine CRL is used"
    );
    let mut w = Validator::new(vec![
        impostor.root.certificate_der().to_vec(),
        pki.root.certificate_der().to_vec(),
    ])
    .expect("anchors");
    let cross = impostor
        .root
        .crl(&[], 1, NOW, NOW + Duration::days(7))
        .expect("crl");
    w.add_crl(&cross).expect("add");
    assert!(
        w.validate(&leaf.der, &pki.chain(), &ask("frank", NOW))
            .is_valid(),
        "an unrelated CRL is ignored"
    );
}

#[test]
fn a_same_named_ca_with_another_key_is_a_bad_signature() {
    let pki = Pki::new();
    let twin = Pki::new();
    let leaf = twin.leaf(&request("dave"));
    let (reason, _, _) = refused(&pki.validator(&[], Duration::days(7)).validate(
        &leaf.der,
        &twin.chain(),
        &ask("dave", NOW),
    ));
    assert_eq!(reason, Reason::BadSignature);
}

#[test]
fn a_client_only_certificate_cannot_serve() {
    let pki = Pki::new();
    let mut client = request("grace");
    client.client = true;
    let leaf = pki.leaf(&client);
    let (reason, _, _) = refused(&pki.validator(&[], Duration::days(7)).validate(
        &leaf.der,
        &pki.chain(),
        &ask("grace", NOW),
    ));
    assert_eq!(reason, Reason::UsageMismatch);
}

#[test]
fn an_expired_trust_anchor_is_refused_at_the_top() {
    // Our CA never issues past its own notAfter, so build the offending
    // chain with rcgen directly: a root that ends before its leaf does.
    let root_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    let mut root_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    root_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "Short Root");
    root_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    root_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    root_params.not_before = NOW;
    root_params.not_after = NOW + Duration::days(30);
    let root = root_params.self_signed(&root_key).expect("root");
    let issuer = rcgen::Issuer::new(root_params, root_key);
    let leaf_key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ED25519).expect("key");
    let mut leaf_params = rcgen::CertificateParams::new(vec!["heidi".to_owned()]).expect("params");
    leaf_params.not_before = NOW;
    leaf_params.not_after = NOW + Duration::days(60);
    // RFC 5280 4.2.1.1: a certificate that is not self-signed names its
    // issuer's key.
    leaf_params.use_authority_key_identifier_extension = true;
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
    let v = Validator::new(vec![root.der().to_vec()]).expect("anchor");
    let early = v.validate(leaf.der(), &[], &ask("heidi", NOW + Duration::days(29)));
    assert!(early.is_valid(), "{early:?}");
    let (reason, position, detail) =
        refused(&v.validate(leaf.der(), &[], &ask("heidi", NOW + Duration::days(40))));
    assert_eq!((reason, position), (Reason::Expired, Some(1)), "{detail}");
    assert!(detail.contains("trust anchor"), "{detail}");
}

#[test]
fn a_crl_whose_signature_does_not_verify_is_invalid() {
    let pki = Pki::new();
    let leaf = pki.leaf(&request("ivan"));
    let mut crl = pki
        .issuing
        .crl(&[], 1, NOW, NOW + Duration::days(7))
        .expect("crl");
    let last = crl.len() - 1;
    crl[last] ^= 0x01;
    let mut v = Validator::new(vec![pki.root.certificate_der().to_vec()]).expect("anchor");
    v.add_crl(&crl).expect("still DER");
    let (reason, position, detail) =
        refused(&v.validate(&leaf.der, &pki.chain(), &ask("ivan", NOW)));
    assert_eq!((reason, position), (Reason::CrlInvalid, Some(0)));
    assert!(detail.contains("not signed by the issuer"), "{detail}");
}

#[test]
fn garbage_is_malformed() {
    let pki = Pki::new();
    let (reason, position, _) = refused(&pki.validator(&[], Duration::days(7)).validate(
        b"\x30\x03garbage",
        &[],
        &ask("x", NOW),
    ));
    assert_eq!((reason, position), (Reason::Malformed, Some(0)));
}
