//! What the kit issues, read back with x509-parser and checked by
//! `openssl verify` as a second opinion: chains, names, usages, validity
//! periods, CRLs, PEM files, and the requests it refuses.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;

use pkilab_testkit::{
    Clock, Error, Misuse, Pki, RevocationReason, SigningAlgorithm, Usage, handshake,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer};
use time::{Duration, OffsetDateTime, macros::datetime};
use x509_parser::prelude::{CertificateRevocationList, FromDer, ReasonCode, X509Certificate};

const NOW: OffsetDateTime = datetime!(2026-03-01 09:30 UTC);

fn parse(der: &[u8]) -> X509Certificate<'_> {
    X509Certificate::from_der(der)
        .expect("certificate parses")
        .1
}

fn crl(der: &[u8]) -> CertificateRevocationList<'_> {
    CertificateRevocationList::from_der(der)
        .expect("CRL parses")
        .1
}

fn cn(cert: &X509Certificate<'_>, issuer: bool) -> String {
    let name = if issuer {
        cert.issuer()
    } else {
        cert.subject()
    };
    let cn = name.iter_common_name().next().expect("a CN");
    cn.as_str().expect("UTF-8").to_owned()
}

#[test]
fn a_chain_runs_from_the_leaf_through_each_intermediate_to_the_root() {
    let pki = Pki::builder()
        .root("Example Root")
        .intermediate("Example Policy CA")
        .intermediate("Example Issuing CA")
        .at(NOW)
        .build()
        .expect("PKI");
    let leaf = pki.server("api.example").issue().expect("leaf");
    let chain = leaf.chain();
    let names: Vec<(String, String)> = chain
        .iter()
        .map(|der| (cn(&parse(der), false), cn(&parse(der), true)))
        .collect();
    assert_eq!(
        names,
        [
            ("api.example".into(), "Example Issuing CA".into()),
            ("Example Issuing CA".into(), "Example Policy CA".into()),
            ("Example Policy CA".into(), "Example Root".into()),
        ]
    );
    let path_lens: Vec<Option<u32>> = chain[1..]
        .iter()
        .map(|der| {
            let cert = parse(der);
            let bc = cert.basic_constraints().expect("unique").expect("present");
            assert!(bc.value.ca);
            bc.value.path_len_constraint
        })
        .collect();
    assert_eq!(path_lens, [Some(0), Some(1)]);
    let root = parse(pki.root_cert().as_ref()).subject().to_string();
    assert_eq!(root, "CN=Example Root");

    // A three-deep chain passes rustls with CRLs for every CA.
    let alice = pki.client("alice").issue().expect("client");
    handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&leaf).expect("server config"),
        "api.example",
    )
    .expect("the chain validates");
}

#[test]
fn a_leaf_carries_its_names_and_the_usage_asked_for() {
    let pki = Pki::builder().at(NOW).build().expect("PKI");
    let leaf = pki
        .server("localhost")
        .dns("api.example")
        .ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .issue()
        .expect("leaf");
    let cert = parse(leaf.cert());
    let san = cert
        .subject_alternative_name()
        .expect("unique")
        .expect("SAN");
    let names: Vec<String> = san
        .value
        .general_names
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(
        names,
        [
            "DNSName(localhost)",
            "DNSName(api.example)",
            // x509-parser shows the address's octets in hex.
            "IPAddress(7f:00:00:01)"
        ]
    );
    let usages = |usage: Usage, wrong: bool| {
        let builder = pki.leaf("peer", usage);
        let builder = if wrong {
            builder.wrong_usage()
        } else {
            builder
        };
        let leaf = builder.issue().expect("leaf");
        let cert = parse(leaf.cert());
        let eku = cert.extended_key_usage().expect("unique").expect("EKU");
        (eku.value.server_auth, eku.value.client_auth)
    };
    assert_eq!(usages(Usage::Server, false), (true, false));
    assert_eq!(usages(Usage::Client, false), (false, true));
    assert_eq!(usages(Usage::Both, false), (true, true));
    assert_eq!(usages(Usage::Server, true), (false, true));
    assert_eq!(usages(Usage::Client, true), (true, false));
}

#[test]
fn validity_periods_follow_the_clock() {
    let pki = Pki::builder().at(NOW).build().expect("PKI");
    let period = |leaf: &pkilab_testkit::Leaf| {
        let cert = parse(leaf.cert());
        (
            cert.validity().not_before.to_datetime(),
            cert.validity().not_after.to_datetime(),
        )
    };
    let good = pki.client("a").issue().expect("leaf");
    assert_eq!(
        period(&good),
        (NOW - Duration::hours(1), NOW + Duration::days(365))
    );
    let expired = pki.client("a").expired().issue().expect("leaf");
    assert_eq!(
        period(&expired),
        (NOW - Duration::days(30), NOW - Duration::days(1))
    );
    assert_eq!(expired.not_after(), NOW - Duration::days(1));
    let early = pki.client("a").not_yet_valid().issue().expect("leaf");
    assert_eq!(
        period(&early),
        (NOW + Duration::days(1), NOW + Duration::days(30))
    );
    pki.clock().advance(Duration::days(10));
    let later = pki.client("a").issue().expect("leaf");
    assert_eq!(
        period(&later).0,
        NOW + Duration::days(10) - Duration::hours(1)
    );
}

#[test]
fn crls_list_revoked_leaves_with_reason_and_time_and_a_rising_number() {
    let clock = Clock::at(NOW);
    let mut pki = Pki::builder()
        .intermediate("Issuing")
        .clock(clock.clone())
        .crl_validity(Duration::hours(12))
        .build()
        .expect("PKI");
    let alice = pki.client("alice").issue().expect("leaf");
    let bob = pki.client("bob").issue().expect("leaf");
    clock.advance(Duration::minutes(5));
    pki.revoke(&alice, RevocationReason::KeyCompromise)
        .expect("revoke");
    pki.revoke(&alice, RevocationReason::Superseded)
        .expect("a second revocation keeps the first");
    assert_eq!(pki.revoked().len(), 1);

    let first = pki.crls().expect("CRLs");
    let second = pki.crls().expect("CRLs");
    assert_eq!(first.len(), 2, "one per CA");
    let (root_crl, issuing_crl) = (crl(&first[0]), crl(&first[1]));
    assert_eq!(cn_of_crl(&root_crl), "pkilab Test Root CA");
    assert_eq!(root_crl.iter_revoked_certificates().count(), 0);
    assert_eq!(cn_of_crl(&issuing_crl), "Issuing");
    let entries: Vec<_> = issuing_crl.iter_revoked_certificates().collect();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].raw_serial(), alice.serial().as_bytes());
    assert_ne!(entries[0].raw_serial(), bob.serial().as_bytes());
    assert_eq!(
        entries[0].reason_code().map(|r| r.1),
        Some(ReasonCode::KeyCompromise)
    );
    let at = NOW + Duration::minutes(5);
    assert_eq!(entries[0].revocation_date.to_datetime(), at);
    assert_eq!(issuing_crl.last_update().to_datetime(), at);
    assert_eq!(
        issuing_crl.next_update().map(|t| t.to_datetime()),
        Some(at + Duration::hours(12))
    );
    let number =
        |der: &CertificateRevocationListDer<'_>| crl(der).crl_number().map(|n| n.to_u64_digits());
    assert_eq!(number(&first[1]), Some(vec![1]));
    assert_eq!(number(&second[1]), Some(vec![2]));
}

fn cn_of_crl(crl: &CertificateRevocationList<'_>) -> String {
    let cn = crl.issuer().iter_common_name().next().expect("a CN");
    cn.as_str().expect("UTF-8").to_owned()
}

#[test]
fn rogue_and_self_signed_leaves_copy_names_not_keys() {
    let pki = Pki::builder()
        .intermediate("Issuing")
        .at(NOW)
        .build()
        .expect("PKI");
    let genuine = pki.client("alice").issue().expect("leaf");
    let rogue = pki.client("alice").rogue().issue().expect("leaf");
    let forged = pki.client("alice").self_signed().issue().expect("leaf");

    let (real_issuing, rogue_issuing) = (&genuine.chain()[1], &rogue.chain()[1]);
    assert_eq!(
        parse(real_issuing).subject().to_string(),
        parse(rogue_issuing).subject().to_string()
    );
    assert_ne!(
        parse(real_issuing).public_key().raw,
        parse(rogue_issuing).public_key().raw
    );
    let rogue_root = pki.rogue_root_cert().expect("rogue root");
    assert_eq!(
        parse(rogue_root.as_ref()).subject().to_string(),
        parse(pki.root_cert().as_ref()).subject().to_string()
    );
    assert_ne!(rogue_root, pki.root_cert());

    let forged_cert = parse(forged.cert());
    assert_eq!(forged.chain().len(), 1);
    assert_eq!(
        forged_cert.subject().to_string(),
        forged_cert.issuer().to_string()
    );
    let bc = forged_cert
        .basic_constraints()
        .expect("unique")
        .expect("present");
    assert!(!bc.value.ca, "an impostor's leaf, not a CA");
}

#[test]
fn requests_the_kit_cannot_meet_are_refused_with_what_to_do() {
    let mut pki = Pki::builder().at(NOW).build().expect("PKI");
    let other = Pki::builder().at(NOW).build().expect("PKI");
    let rogue = pki.client("m").rogue().issue().expect("leaf");
    let forged = pki.client("m").self_signed().issue().expect("leaf");
    let foreign = other.client("m").issue().expect("leaf");
    for leaf in [&rogue, &forged, &foreign] {
        let error = pki
            .revoke(leaf, RevocationReason::KeyCompromise)
            .expect_err("not issued here");
        assert!(
            matches!(&error, Error::Misuse(Misuse::NotIssuedHere { name }) if name == "m"),
            "{error}"
        );
    }
    assert!(pki.revoked().is_empty());

    let error = pki
        .leaf("both", Usage::Both)
        .wrong_usage()
        .issue()
        .expect_err("no wrong usage");
    assert!(matches!(error, Error::Misuse(Misuse::NoWrongUsage { .. })));
    assert!(
        error
            .to_string()
            .contains("start from Pki::server or Pki::client")
    );

    let error = pki
        .client("m")
        .validity(NOW, NOW + Duration::days(20_000))
        .issue()
        .expect_err("outlives the CA");
    assert!(matches!(error, Error::Ca(_)), "{error}");
}

#[test]
fn ecdsa_p256_pkis_work_end_to_end() {
    let mut pki = Pki::builder()
        .algorithm(SigningAlgorithm::EcdsaP256)
        .intermediate("Issuing")
        .build()
        .expect("PKI");
    let server = pki.server("localhost").issue().expect("leaf");
    let alice = pki.client("alice").issue().expect("leaf");
    let algorithm = parse(alice.cert())
        .public_key()
        .algorithm
        .algorithm
        .to_id_string();
    assert_eq!(algorithm, "1.2.840.10045.2.1", "id-ecPublicKey");
    handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&server).expect("server config"),
        "localhost",
    )
    .expect("good client");
    pki.revoke(&alice, RevocationReason::Unspecified)
        .expect("revoke");
    let refused = handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&server).expect("server config"),
        "localhost",
    )
    .expect_err("revoked client");
    assert_eq!(
        refused.server,
        Some(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Revoked
        ))
    );
}

fn openssl_verify(files: &pkilab_testkit::PemFiles, leaf: &Path) -> (bool, String) {
    let out = Command::new("openssl")
        .args(["verify", "-x509_strict", "-crl_check_all", "-attime"])
        .arg((NOW + Duration::hours(1)).unix_timestamp().to_string())
        .arg("-CAfile")
        .arg(files.root())
        .arg("-untrusted")
        .arg(files.intermediates())
        .arg("-CRLfile")
        .arg(files.crl())
        .arg(leaf)
        .output()
        .expect("openssl is installed (CI installs it)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn pem_files_read_back_and_openssl_refuses_the_revoked_leaf_after_an_update() {
    let mut pki = Pki::builder()
        .intermediate("Example Issuing CA")
        .at(NOW)
        .build()
        .expect("PKI");
    let alice = pki.client("alice").issue().expect("leaf");
    let bob = pki.client("bob/2").issue().expect("leaf");
    let files = pki.pem_files().expect("PEM files");
    let alice_files = files.write_leaf(&alice).expect("write");
    let bob_files = files.write_leaf(&bob).expect("write");
    assert_eq!(bob_files.cert, files.dir().join("bob_2.crt"));

    let chain: Vec<CertificateDer<'_>> = CertificateDer::pem_file_iter(&alice_files.chain)
        .expect("open")
        .collect::<Result<_, _>>()
        .expect("PEM");
    assert_eq!(chain, alice.chain());
    let key = PrivateKeyDer::from_pem_file(&alice_files.key).expect("key PEM");
    assert_eq!(key.secret_der(), alice.key().secret_der());
    let crls: Vec<CertificateRevocationListDer<'_>> =
        CertificateRevocationListDer::pem_file_iter(files.crl())
            .expect("open")
            .collect::<Result<_, _>>()
            .expect("PEM");
    assert_eq!(crls.len(), 2);

    let (ok, text) = openssl_verify(&files, &alice_files.cert);
    assert!(ok, "{text}");
    let (ok, text) = openssl_verify(&files, &bob_files.cert);
    assert!(ok, "{text}");

    pki.revoke(&bob, RevocationReason::KeyCompromise)
        .expect("revoke");
    files.update_crl(&pki).expect("new CRLs");
    let (ok, text) = openssl_verify(&files, &bob_files.cert);
    assert!(!ok && text.contains("certificate revoked"), "{text}");
    let (ok, text) = openssl_verify(&files, &alice_files.cert);
    assert!(ok, "{text}");

    let dir = files.dir().to_path_buf();
    drop(files);
    assert!(!dir.exists(), "the directory goes with the value");
}
