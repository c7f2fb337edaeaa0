//! RFC 5280 rules that an earlier validator got wrong, each mounted as the
//! attack or the false refusal that showed it: name-constraint bypasses,
//! signed serials, key-rollover CRLs, delta CRLs, CRL scopes, and
//! certificate policies.

mod common;

use common::*;
use pkilab_verify::{ExpectedName, Options, PolicyRequest, RevocationPolicy, Verdict};
use rcgen::{
    CrlDistributionPoint, DistinguishedName, DnType, DnValue, GeneralSubtree, NameConstraints,
    SanType, SerialNumber,
};

/// root → issuing (with `constraints`) → a leaf built by `leaf`.
fn constrained(constraints: NameConstraints, leaf: CertificateParams) -> Verdict {
    let root = root("Root");
    let mut params = ca_params("Issuing");
    params.name_constraints = Some(constraints);
    let issuing = issue(params, &root);
    let leaf = issue(leaf, &issuing);
    let mut request = ask("x");
    request.name = ExpectedName::Any;
    validator(&root).validate(&leaf.der, std::slice::from_ref(&issuing.der), &request)
}

use rcgen::CertificateParams;

fn excluded(subtree: GeneralSubtree) -> NameConstraints {
    NameConstraints {
        permitted_subtrees: Vec::new(),
        excluded_subtrees: vec![subtree],
    }
}

#[test]
fn a_quoted_at_sign_does_not_move_a_mailbox_out_of_an_excluded_domain() {
    let mut leaf = leaf_params("x.example");
    leaf.subject_alt_names = vec![SanType::Rfc822Name(
        "\"x@y\"@evil.com".try_into().expect("ia5"),
    )];
    let verdict = constrained(
        excluded(GeneralSubtree::Rfc822Name("evil.com".into())),
        leaf,
    );
    assert_eq!(reason(&verdict), "name-constraint-violation", "{verdict}");
}

#[test]
fn a_subject_email_address_without_a_san_is_constrained() {
    let mut leaf = CertificateParams::new(Vec::<String>::new()).expect("params");
    leaf.distinguished_name.push(DnType::CommonName, "x");
    leaf.distinguished_name.push(
        DnType::CustomDnType(vec![1, 2, 840, 113549, 1, 9, 1]),
        DnValue::Ia5String("x@evil.com".try_into().expect("ia5")),
    );
    leaf.not_before = NOW - time::Duration::days(1);
    leaf.not_after = NOW + time::Duration::days(9);
    leaf.use_authority_key_identifier_extension = true;
    let verdict = constrained(
        excluded(GeneralSubtree::Rfc822Name("evil.com".into())),
        leaf,
    );
    assert_eq!(reason(&verdict), "name-constraint-violation", "{verdict}");
}

#[test]
fn directory_names_are_compared_without_case_or_string_type() {
    let mut base = DistinguishedName::new();
    base.push(DnType::OrganizationName, DnValue::Utf8String("Evil".into()));
    let mut leaf = leaf_params("x.example");
    leaf.distinguished_name = DistinguishedName::new();
    leaf.distinguished_name.push(
        DnType::OrganizationName,
        DnValue::PrintableString("EVIL".try_into().expect("printable")),
    );
    let verdict = constrained(excluded(GeneralSubtree::DirectoryName(base)), leaf);
    assert_eq!(reason(&verdict), "name-constraint-violation", "{verdict}");
}

#[test]
fn names_chain_after_rfc_4518_preparation() {
    let root = root("Example Root");
    let mut issuing_params = ca_params("ignored");
    issuing_params.distinguished_name = DistinguishedName::new();
    issuing_params.distinguished_name.push(
        DnType::CommonName,
        DnValue::PrintableString("Example  Issuing CA".try_into().expect("printable")),
    );
    let issuing = issue(issuing_params, &root);
    // The leaf names its issuer in another case, spacing and string type.
    let mut named = ca_params("EXAMPLE ISSUING ca ");
    named.distinguished_name = DistinguishedName::new();
    named.distinguished_name.push(
        DnType::CommonName,
        DnValue::Utf8String("EXAMPLE ISSUING ca ".into()),
    );
    let alias = rcgen::Issuer::new(named, &issuing.key);
    let leaf_key = key();
    let leaf = leaf_params("alice.example")
        .signed_by(&leaf_key, &alias)
        .expect("leaf");
    let verdict = validator(&root).validate(
        leaf.der(),
        std::slice::from_ref(&issuing.der),
        &ask("alice.example"),
    );
    assert!(verdict.is_valid(), "{verdict}");
}

/// root → issuing → leaf with serial 255, and a validator with `crl`.
fn serial_255_against(entry: &[u8]) -> Verdict {
    let root = root("Root");
    let issuing = issue(ca_params("Issuing"), &root);
    let mut params = leaf_params("a.example");
    params.serial_number = Some(SerialNumber::from_slice(&[0xff]));
    let leaf = issue(params, &issuing);
    let mut v = validator(&root);
    v.add_crl(&crl(
        &issuing,
        &issuing,
        &[Entry {
            serial: entry,
            reason: None,
        }],
        1,
        &[],
    ))
    .expect("crl");
    v.add_crl(&crl(&root, &root, &[], 1, &[])).expect("crl");
    v.set_revocation_policy(RevocationPolicy::RequireFresh);
    v.validate(
        &leaf.der,
        std::slice::from_ref(&issuing.der),
        &ask("a.example"),
    )
}

#[test]
fn serial_minus_one_does_not_revoke_serial_255() {
    assert_eq!(reason(&serial_255_against(&[0xff])), "valid");
    assert_eq!(reason(&serial_255_against(&[0x00, 0xff])), "revoked");
}

struct Rollover {
    root: Ca,
    old: Ca,
    new: Ca,
    leaf: Ca,
}

fn rollover() -> Rollover {
    let root = root("Root");
    let old = issue(ca_params("Issuing"), &root);
    let new = issue(ca_params("Issuing"), &root);
    let leaf = issue(leaf_params("a.example"), &old);
    Rollover {
        root,
        old,
        new,
        leaf,
    }
}

#[test]
fn a_crl_signed_by_the_issuers_next_key_is_found_and_checked() {
    let r = rollover();
    let serial = x509_serial(&r.leaf.der);
    let revoking = crl(
        &r.new,
        &r.new,
        &[Entry {
            serial: &serial,
            reason: Some(1),
        }],
        2,
        &[],
    );
    let mut v = validator(&r.root);
    v.add_crl(&revoking).expect("crl");
    // The new key's certificate is checked in turn, against the root's CRL.
    v.add_crl(&crl(&r.root, &r.root, &[], 1, &[])).expect("crl");
    v.set_options(Options {
        crl_scope: pkilab_verify::CrlScope::Leaf,
        ..Options::default()
    });
    v.set_revocation_policy(RevocationPolicy::RequireFresh);
    let both = [r.old.der.clone(), r.new.der.clone()];
    let verdict = v.validate(&r.leaf.der, &both, &ask("a.example"));
    assert_eq!(reason(&verdict), "revoked", "{verdict}");
    // Without the new key's certificate nothing vouches for the CRL.
    let verdict = v.validate(
        &r.leaf.der,
        std::slice::from_ref(&r.old.der),
        &ask("a.example"),
    );
    assert_eq!(reason(&verdict), "revocation-unknown", "{verdict}");
    // A same-named certificate from another root cannot sign for it.
    let stranger_root = root("Root");
    let stranger = issue(ca_params("Issuing"), &stranger_root);
    let forged = crl(&stranger, &stranger, &[], 3, &[]);
    let mut w = validator(&r.root);
    w.add_crl(&forged).expect("crl");
    w.set_revocation_policy(RevocationPolicy::RequireFresh);
    w.set_options(Options {
        crl_scope: pkilab_verify::CrlScope::Leaf,
        ..Options::default()
    });
    let pool = [r.old.der.clone(), stranger.der.clone()];
    let verdict = w.validate(&r.leaf.der, &pool, &ask("a.example"));
    assert_eq!(reason(&verdict), "revocation-unknown", "{verdict}");
}

fn x509_serial(der: &[u8]) -> Vec<u8> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).expect("parses");
    cert.raw_serial().to_vec()
}

#[test]
fn a_delta_crl_revokes_and_unrevokes_on_top_of_its_base() {
    let root = root("Root");
    let leaf = issue(leaf_params("a.example"), &root);
    let serial = x509_serial(&leaf.der);
    let delta = |entries: &[Entry<'_>]| {
        crl(
            &root,
            &root,
            entries,
            6,
            &[ext(DELTA_CRL_INDICATOR, true, &integer(&[5]))],
        )
    };
    let check = |complete: &[Entry<'_>], delta_entries: Option<&[Entry<'_>]>| {
        let mut v = validator(&root);
        v.add_crl(&crl(&root, &root, complete, 5, &[]))
            .expect("complete");
        if let Some(entries) = delta_entries {
            v.add_crl(&delta(entries)).expect("delta");
        }
        v.validate(&leaf.der, &[], &ask("a.example"))
    };
    let listed = [Entry {
        serial: &serial,
        reason: Some(1),
    }];
    let removed = [Entry {
        serial: &serial,
        reason: Some(8),
    }];
    assert_eq!(reason(&check(&[], None)), "valid");
    let verdict = check(&[], Some(&listed));
    assert_eq!(reason(&verdict), "revoked");
    assert!(verdict.to_string().contains("delta CRL"), "{verdict}");
    assert_eq!(
        reason(&check(
            &[Entry {
                serial: &serial,
                reason: Some(6)
            }],
            Some(&removed)
        )),
        "valid"
    );
    assert_eq!(
        reason(&check(
            &[Entry {
                serial: &serial,
                reason: Some(6)
            }],
            Some(&[])
        )),
        "revoked"
    );
}

/// An issuingDistributionPoint naming `uri`, with `flag` ([1] user certs
/// only, [2] CA certs only) when given.
fn idp(uri: &str, flag: Option<u8>) -> Vec<u8> {
    let full_name = tlv(0xa0, &tlv(0x86, uri.as_bytes()));
    let mut parts = vec![tlv(0xa0, &full_name)];
    if let Some(tag) = flag {
        parts.push(vec![tag, 0x01, 0xff]);
    }
    ext(ISSUING_DISTRIBUTION_POINT, true, &seq(&parts))
}

#[test]
fn a_crl_covers_only_the_certificates_in_its_scope() {
    let root = root("Root");
    let mut params = leaf_params("a.example");
    params.crl_distribution_points = vec![CrlDistributionPoint {
        uris: vec!["http://crl.example/users.crl".into()],
    }];
    let leaf = issue(params, &root);
    let serial = x509_serial(&leaf.der);
    let revoked = [Entry {
        serial: &serial,
        reason: Some(1),
    }];
    let verdict_with = |extension: Vec<u8>| {
        let mut v = validator(&root);
        v.set_revocation_policy(RevocationPolicy::RequireFresh);
        v.add_crl(&crl(&root, &root, &revoked, 1, &[extension]))
            .expect("crl");
        v.validate(&leaf.der, &[], &ask("a.example"))
    };
    assert_eq!(
        reason(&verdict_with(idp(
            "http://crl.example/users.crl",
            Some(0x81)
        ))),
        "revoked"
    );
    assert_eq!(
        reason(&verdict_with(idp(
            "http://crl.example/users.crl",
            Some(0x82)
        ))),
        "revocation-unknown",
        "a CA-only CRL does not speak for a leaf"
    );
    assert_eq!(
        reason(&verdict_with(idp("http://crl.example/other.crl", None))),
        "revocation-unknown",
        "a CRL of another distribution point does not speak for this one"
    );
}

const POLICY_P: &[u64] = &[1, 3, 6, 1, 4, 1, 99999, 1];
const POLICY_Q: &[u64] = &[1, 3, 6, 1, 4, 1, 99999, 2];
const CERTIFICATE_POLICIES: &[u64] = &[2, 5, 29, 32];
const POLICY_CONSTRAINTS: &[u64] = &[2, 5, 29, 36];
const POLICY_MAPPINGS: &[u64] = &[2, 5, 29, 33];

fn policies(ids: &[&[u64]]) -> Vec<u8> {
    seq(&ids.iter().map(|id| seq(&[oid(id)])).collect::<Vec<_>>())
}

/// root → issuing (policy P, requireExplicitPolicy 0) → leaf (`leaf_policy`).
fn explicit_policy(leaf_policy: Option<&[u64]>, options: Options) -> Verdict {
    let root = root("Root");
    let mut params = ca_params("Issuing");
    params.custom_extensions = vec![
        extension(CERTIFICATE_POLICIES, true, policies(&[POLICY_P])),
        extension(POLICY_CONSTRAINTS, true, seq(&[vec![0x80, 0x01, 0x00]])),
    ];
    let issuing = issue(params, &root);
    let mut leaf = leaf_params("a.example");
    if let Some(id) = leaf_policy {
        leaf.custom_extensions = vec![extension(CERTIFICATE_POLICIES, false, policies(&[id]))];
    }
    let leaf = issue(leaf, &issuing);
    let mut v = validator(&root);
    v.set_options(options);
    v.validate(
        &leaf.der,
        std::slice::from_ref(&issuing.der),
        &ask("a.example"),
    )
}

#[test]
fn require_explicit_policy_is_enforced_and_the_policy_set_reported() {
    let refused = explicit_policy(None, Options::default());
    assert_eq!(reason(&refused), "policy-violation", "{refused}");
    let accepted = explicit_policy(Some(POLICY_P), Options::default());
    match accepted {
        Verdict::Valid { policies, .. } => {
            assert_eq!(policies, Some(vec!["1.3.6.1.4.1.99999.1".to_owned()]));
        }
        other => panic!("expected a valid chain, got {other}"),
    }
    let wanted_q = Options {
        policy: PolicyRequest {
            initial: vec!["1.3.6.1.4.1.99999.2".into()],
            require_explicit: true,
            ..PolicyRequest::default()
        },
        ..Options::default()
    };
    assert_eq!(
        reason(&explicit_policy(Some(POLICY_P), wanted_q)),
        "policy-violation"
    );
}

#[test]
fn a_mapped_policy_reaches_the_leaf_unless_mapping_is_inhibited() {
    let root = root("Root");
    let mut params = ca_params("Issuing");
    let mapping = seq(&[seq(&[oid(POLICY_P), oid(POLICY_Q)])]);
    params.custom_extensions = vec![
        extension(CERTIFICATE_POLICIES, false, policies(&[POLICY_P])),
        extension(POLICY_MAPPINGS, true, mapping),
    ];
    let issuing = issue(params, &root);
    let mut leaf = leaf_params("a.example");
    leaf.custom_extensions = vec![extension(
        CERTIFICATE_POLICIES,
        false,
        policies(&[POLICY_Q]),
    )];
    let leaf = issue(leaf, &issuing);
    let ask_for_p = |inhibit: bool| {
        let mut v = validator(&root);
        v.set_options(Options {
            policy: PolicyRequest {
                initial: vec!["1.3.6.1.4.1.99999.1".into()],
                require_explicit: true,
                inhibit_mapping: inhibit,
                ..PolicyRequest::default()
            },
            ..Options::default()
        });
        v.validate(
            &leaf.der,
            std::slice::from_ref(&issuing.der),
            &ask("a.example"),
        )
    };
    assert_eq!(reason(&ask_for_p(false)), "valid");
    assert_eq!(reason(&ask_for_p(true)), "policy-violation");
}

/// root → leaf, with a CRL of the root made from `fields`, under `options`.
fn with_crl(edit: impl Fn(&mut Vec<Vec<u8>>), options: Options) -> Verdict {
    let root = root("Root");
    let leaf = issue(leaf_params("a.example"), &root);
    let mut fields = crl_fields(&root, &root, &[], 1, &[]);
    edit(&mut fields);
    let mut v = validator(&root);
    v.set_options(options);
    v.set_revocation_policy(RevocationPolicy::RequireFresh);
    v.add_crl(&sign_crl(&root, fields)).expect("parses");
    v.validate(&leaf.der, &[], &ask("a.example"))
}

#[test]
fn a_crl_without_next_update_needs_a_maximum_age() {
    let drop_next_update = |f: &mut Vec<Vec<u8>>| {
        f.remove(4);
    };
    let verdict = with_crl(drop_next_update, Options::default());
    assert_eq!(reason(&verdict), "crl-invalid", "{verdict}");
    let week = Options {
        max_crl_age: Some(std::time::Duration::from_secs(7 * 86_400)),
        ..Options::default()
    };
    assert_eq!(reason(&with_crl(drop_next_update, week.clone())), "valid");
    let hour = Options {
        max_crl_age: Some(std::time::Duration::from_secs(3_600)),
        ..Options::default()
    };
    assert_eq!(reason(&with_crl(drop_next_update, hour)), "crl-stale");
    assert_eq!(reason(&with_crl(|_| {}, week)), "valid");
}

#[test]
fn malformed_crls_are_refused() {
    type Edit = fn(&mut Vec<Vec<u8>>);
    let cases: [(&str, Edit); 3] = [
        ("empty revokedCertificates", |f| f.insert(5, seq(&[]))),
        ("unknown version", |f| f[0] = integer(&[2])),
        ("explicit v1 with extensions", |f| f[0] = integer(&[0])),
    ];
    for (what, edit) in cases {
        let verdict = with_crl(edit, Options::default());
        assert_eq!(reason(&verdict), "crl-invalid", "{what}: {verdict}");
    }
    let v1_with_extensions = with_crl(
        |f| {
            f.remove(0);
        },
        Options::default(),
    );
    assert_eq!(
        reason(&v1_with_extensions),
        "crl-invalid",
        "{v1_with_extensions}"
    );
}

#[test]
fn a_v1_certificate_serves_as_a_trust_anchor() {
    let root_key = key();
    let root = Handmade {
        version: None,
        issuer: "V1 Root",
        subject: "V1 Root",
        not_before: time(NOW - time::Duration::days(10)),
        not_after: time(NOW + time::Duration::days(10)),
        key: &root_key,
        tail: Vec::new(),
    }
    .signed_by(&root_key);
    let issuer = rcgen::Issuer::new(ca_params("V1 Root"), &root_key);
    let leaf_key = key();
    let leaf = leaf_params("a.example")
        .signed_by(&leaf_key, &issuer)
        .expect("leaf");
    let v = pkilab_verify::Validator::new(vec![root]).expect("a v1 anchor parses");
    let verdict = v.validate(leaf.der(), &[], &ask("a.example"));
    assert!(verdict.is_valid(), "{verdict}");
}

#[test]
fn utctime_from_1950_and_unique_identifiers_parse() {
    let root = root("Root");
    let leaf_key = key();
    let leaf = Handmade {
        version: Some(1),
        issuer: "Root",
        subject: "Old Leaf",
        not_before: tlv(0x17, b"500101000000Z"),
        not_after: tlv(0x17, b"491231235959Z"),
        key: &leaf_key,
        tail: vec![tlv(0x81, &[0x00, 0x01, 0x02]), tlv(0x82, &[0x00, 0x03])],
    }
    .signed_by(&root.key);
    let mut request = ask("a.example");
    request.name = ExpectedName::Any;
    let verdict = validator(&root).validate(&leaf, &[], &request);
    assert!(verdict.is_valid(), "{verdict}");
    let before = time::macros::datetime!(1949-12-31 00:00:00 UTC);
    request.at = before;
    assert_eq!(
        reason(&validator(&root).validate(&leaf, &[], &request)),
        "not-yet-valid"
    );
}

#[test]
fn an_indirect_crl_from_a_delegated_authority_is_followed() {
    let root = root("Root");
    let issuing = issue(ca_params("Issuing"), &root);
    let mut authority_params = ca_params("CRL Authority");
    authority_params.is_ca = rcgen::IsCa::ExplicitNoCa;
    authority_params.key_usages = vec![rcgen::KeyUsagePurpose::CrlSign];
    let authority = issue(authority_params, &root);
    // cRLDistributionPoints: one point whose cRLIssuer is the authority.
    let crl_issuer = tlv(0xa2, &tlv(0xa4, &authority.subject_der()));
    let mut params = leaf_params("a.example");
    params.custom_extensions = vec![extension(
        &[2, 5, 29, 31],
        false,
        seq(&[seq(&[crl_issuer])]),
    )];
    let leaf = issue(params, &issuing);
    let serial = x509_serial(&leaf.der);
    let entry = seq(&[
        integer(&serial),
        time(NOW - time::Duration::days(1)),
        seq(&[ext(
            &[2, 5, 29, 29],
            true,
            &seq(&[tlv(0xa4, &issuing.subject_der())]),
        )]),
    ]);
    let indirect = ext(
        ISSUING_DISTRIBUTION_POINT,
        true,
        &seq(&[vec![0x84, 0x01, 0xff]]),
    );
    let mut fields = crl_fields(&authority, &authority, &[], 1, &[indirect]);
    fields.insert(5, seq(&[entry]));
    let indirect_crl = sign_crl(&authority, fields);
    let verdict_with = |pool: &[Vec<u8>]| {
        let mut v = validator(&root);
        v.set_options(Options {
            crl_scope: pkilab_verify::CrlScope::Leaf,
            ..Options::default()
        });
        v.set_revocation_policy(RevocationPolicy::RequireFresh);
        v.add_crl(&indirect_crl).expect("crl");
        v.add_crl(&crl(&root, &root, &[], 1, &[]))
            .expect("root crl");
        v.validate(&leaf.der, pool, &ask("a.example"))
    };
    let verdict = verdict_with(&[issuing.der.clone(), authority.der.clone()]);
    assert_eq!(reason(&verdict), "revoked", "{verdict}");
    // Without the authority's certificate nothing vouches for its CRL, so
    // no CRL covers the leaf.
    let verdict = verdict_with(std::slice::from_ref(&issuing.der));
    assert_eq!(reason(&verdict), "revocation-unknown", "{verdict}");
}
