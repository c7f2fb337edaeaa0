//! What a long-running validator caches (verified CA-certificate and CRL
//! signatures) never stands in for validity or revocation: an intermediate
//! verified once is still refused when it expires or is revoked.

mod common;

use common::*;
use pkilab_verify::{Options, RevocationPolicy, Verdict};

fn validate(
    v: &pkilab_verify::Validator,
    leaf: &Ca,
    issuing: &Ca,
    at: time::OffsetDateTime,
) -> Verdict {
    let mut request = ask("a.example");
    request.at = at;
    v.validate(&leaf.der, std::slice::from_ref(&issuing.der), &request)
}

#[test]
fn a_cached_intermediate_is_refused_once_revoked() {
    let root = root("Root");
    let issuing = issue(ca_params("Issuing"), &root);
    let leaf = issue(leaf_params("a.example"), &issuing);
    let mut v = validator(&root);
    v.set_revocation_policy(RevocationPolicy::RequireFresh);
    v.add_crl(&crl(&root, &root, &[], 1, &[]))
        .expect("root crl");
    v.add_crl(&crl(&issuing, &issuing, &[], 1, &[]))
        .expect("issuing crl");
    for _ in 0..3 {
        assert_eq!(reason(&validate(&v, &leaf, &issuing, NOW)), "valid");
    }
    let serial = {
        use x509_parser::prelude::{FromDer, X509Certificate};
        X509Certificate::from_der(&issuing.der)
            .expect("parses")
            .1
            .raw_serial()
            .to_vec()
    };
    // A later root CRL revokes the intermediate whose signature is cached.
    let mut fields = crl_fields(
        &root,
        &root,
        &[Entry {
            serial: &serial,
            reason: Some(2),
        }],
        2,
        &[],
    );
    fields[3] = time(NOW - time::Duration::hours(1));
    v.add_crl(&sign_crl(&root, fields)).expect("newer root crl");
    let verdict = validate(&v, &leaf, &issuing, NOW);
    assert_eq!(
        (reason(&verdict), verdict.to_string().contains("position 1")),
        ("revoked", true),
        "{verdict}"
    );
}

#[test]
fn a_cached_intermediate_is_refused_once_expired() {
    let root = root("Root");
    let mut params = ca_params("Issuing");
    params.not_after = NOW + time::Duration::days(2);
    let issuing = issue(params, &root);
    let mut leaf = leaf_params("a.example");
    leaf.not_after = NOW + time::Duration::days(10);
    let leaf = issue(leaf, &issuing);
    let v = validator(&root);
    assert_eq!(reason(&validate(&v, &leaf, &issuing, NOW)), "valid");
    // Past the intermediate's notAfter, still within the leaf's.
    let later = NOW + time::Duration::days(3);
    let verdict = validate(&v, &leaf, &issuing, later);
    assert_eq!(reason(&verdict), "expired", "{verdict}");
    assert!(verdict.to_string().contains("position 1"), "{verdict}");
}

#[test]
fn a_garbled_certificate_is_not_served_a_cached_signature() {
    let root = root("Root");
    let issuing = issue(ca_params("Issuing"), &root);
    let leaf = issue(leaf_params("a.example"), &issuing);
    let v = validator(&root);
    assert_eq!(reason(&validate(&v, &leaf, &issuing, NOW)), "valid");
    let mut garbled = issuing.der.clone();
    let last = garbled.len() - 1;
    garbled[last] ^= 1;
    let verdict = v.validate(&leaf.der, &[garbled], &ask("a.example"));
    assert_eq!(reason(&verdict), "bad-signature", "{verdict}");
    // Without caching, the same answers.
    let mut w = validator(&root);
    w.set_options(Options {
        cache_signatures: false,
        ..Options::default()
    });
    assert_eq!(reason(&validate(&w, &leaf, &issuing, NOW)), "valid");
}
