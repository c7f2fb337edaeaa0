#![allow(clippy::panic)]
//! rustls-webpki as a differential oracle. On every x509-limbo TLS-server
//! case, where pkilab-verify and webpki disagree, limbo's expected result
//! must side with pkilab-verify (or the case is a documented exception):
//! we accept more than webpki only where RFC 5280 and limbo accept, and
//! refuse more only where limbo refuses.

use std::path::PathBuf;
use std::time::Duration;

use pkilab_verify::limbo::{Limbo, Testcase};
use pkilab_verify::pem_input::blocks;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use webpki::{EndEntityCert, KeyUsage};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/x509-limbo")
}

fn ders(pems: &[String]) -> Vec<Vec<u8>> {
    pems.iter()
        .flat_map(|p| blocks(p.as_bytes(), "CERTIFICATE").unwrap_or_default())
        .collect()
}

/// webpki's answer for a server case without CRLs, or `None` when the
/// case is out of its reach.
fn webpki_accepts(case: &Testcase) -> Option<bool> {
    if case.validation_kind != "SERVER" || !case.crls.is_empty() {
        return None;
    }
    let server_name = match &case.expected_peer_name {
        Some(name) => Some(ServerName::try_from(name.value.as_str()).ok()?),
        None => None,
    };
    let at = match case.validation_time.as_deref() {
        Some(t) => OffsetDateTime::parse(t, &Rfc3339).ok()?,
        None => OffsetDateTime::now_utc(),
    };
    let time = UnixTime::since_unix_epoch(Duration::from_secs(
        u64::try_from(at.unix_timestamp()).ok()?,
    ));
    let roots = ders(&case.trusted_certs);
    let anchors: Vec<_> = roots
        .iter()
        .filter_map(|d| {
            webpki::anchor_from_trusted_cert(&CertificateDer::from(d.as_slice()))
                .ok()
                .map(|a| a.to_owned())
        })
        .collect();
    let intermediates: Vec<CertificateDer<'_>> = ders(&case.untrusted_intermediates)
        .into_iter()
        .map(CertificateDer::from)
        .collect();
    let leaf = ders(std::slice::from_ref(&case.peer_certificate)).pop()?;
    let leaf = CertificateDer::from(leaf);
    let Ok(end_entity) = EndEntityCert::try_from(&leaf) else {
        return Some(false);
    };
    let path = end_entity.verify_for_usage(
        webpki::ALL_VERIFICATION_ALGS,
        &anchors,
        &intermediates,
        time,
        KeyUsage::server_auth(),
        None,
        None,
    );
    let named =
        server_name.is_none_or(|name| end_entity.verify_is_valid_for_subject_name(&name).is_ok());
    Some(path.is_ok() && named)
}

#[test]
fn where_webpki_and_we_differ_limbo_sides_with_us() {
    let text = std::fs::read_to_string(dir().join("full-no-bettertls.json")).expect("limbo");
    let limbo = Limbo::from_json(&text).expect("json");
    let exceptions = std::fs::read_to_string(dir().join("exceptions.txt")).expect("exceptions");
    let report = limbo.run();
    let mut compared = 0;
    let mut we_refuse_more = 0;
    let mut we_accept_more = 0;
    for (case, ours) in limbo.testcases.iter().zip(&report.results) {
        let Some(theirs) = webpki_accepts(case) else {
            continue;
        };
        compared += 1;
        let we_accept = ours.actual_result == "SUCCESS";
        if we_accept == theirs {
            continue;
        }
        let listed = exceptions
            .lines()
            .any(|l| l.starts_with(&format!("{}:", case.id)));
        if we_accept {
            we_accept_more += 1;
            assert!(
                case.expected_result == "SUCCESS" || listed,
                "{}: we accept, webpki refuses, limbo refuses",
                case.id
            );
        } else {
            we_refuse_more += 1;
            assert!(
                case.expected_result == "FAILURE" || listed,
                "{}: we refuse ({}), webpki accepts, limbo accepts",
                case.id,
                ours.context
            );
        }
    }
    println!(
        "compared {compared}: we accept {we_accept_more} that webpki refuses, refuse {we_refuse_more} that it accepts"
    );
    assert!(compared > 150, "only {compared} cases compared");
    // Both directions happen: the oracle is not vacuous.
    assert!(
        we_accept_more > 0 && we_refuse_more > 0,
        "{we_accept_more} {we_refuse_more}"
    );
}
