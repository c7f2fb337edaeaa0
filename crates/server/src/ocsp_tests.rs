//! The responder's cache: its bound, nonces, malformed bodies and reloads.

use super::*;
use der::asn1::OctetString;
use pkilab_ca::RevocationReason;
use pkilab_ca::SigningAlgorithm;
use pkilab_ca::store::{InitOptions, IssueOptions};
use x509_ocsp::{BasicOcspResponse, CertStatus};

const PASSPHRASE: &str = "ocsp cache test";

struct Ca {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    issuing: Vec<u8>,
    leaves: Vec<(Serial, Vec<u8>)>,
}

fn der(pem_text: &str) -> Vec<u8> {
    pem::parse(pem_text).expect("pem").into_contents()
}

fn ca(leaves: usize) -> Ca {
    let tmp = tempfile::tempdir().expect("tmp");
    let dir = tmp.path().join("ca");
    let now = OffsetDateTime::now_utc();
    let init = InitOptions {
        name: "Cache Root".into(),
        intermediate: Some("Cache Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 30,
        iterations: 1000,
    };
    let mut store = CaStore::init(&dir, &init, PASSPHRASE.as_bytes(), now).expect("init");
    let leaves = (0..leaves)
        .map(|i| {
            let options = IssueOptions {
                name: format!("leaf{i}"),
                client: true,
                days: 2,
                iterations: 1000,
                ..IssueOptions::default()
            };
            let issued = store
                .issue(&options, PASSPHRASE.as_bytes(), now)
                .expect("issue");
            (issued.serial, der(&issued.certificate))
        })
        .collect();
    let issuing = der(&std::fs::read_to_string(dir.join("issuing.crt")).expect("crt"));
    Ca {
        _tmp: tmp,
        dir,
        issuing,
        leaves,
    }
}

fn service(ca: &Ca, capacity: usize) -> Arc<OcspService> {
    Arc::new(
        OcspService::open(
            &ca.dir,
            Zeroizing::new(PASSPHRASE.to_owned()),
            std::time::Duration::from_secs(3600),
            capacity,
        )
        .expect("open"),
    )
}

fn request(ca: &Ca, leaf: usize) -> Vec<u8> {
    pkilab_verify::ocsp_request::for_certificate(&ca.leaves[leaf].1, &ca.issuing).expect("request")
}

fn with_nonce(request: &[u8], nonce: &[u8]) -> Vec<u8> {
    let mut parsed = OcspRequest::from_der(request).expect("request");
    let value = OctetString::new(nonce.to_vec()).expect("nonce");
    parsed.tbs_request.request_extensions = Some(vec![x509_cert::ext::Extension {
        extn_id: NONCE,
        critical: false,
        extn_value: OctetString::new(value.to_der().expect("der")).expect("octets"),
    }]);
    parsed.to_der().expect("der")
}

fn status(response: &[u8]) -> CertStatus {
    let response = OcspResponse::from_der(response).expect("response");
    let bytes = response.response_bytes.expect("successful");
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).expect("basic");
    basic.tbs_response_data.responses[0].cert_status
}

#[tokio::test]
async fn the_cache_holds_at_most_its_capacity_and_answers_repeats_from_it() {
    let ca = ca(3);
    let ocsp = service(&ca, 2);
    let first = ocsp.answer(&request(&ca, 0)).await;
    assert!(matches!(status(&first), CertStatus::Good(_)));
    assert_eq!(ocsp.answer(&request(&ca, 0)).await, first, "from the cache");
    for leaf in 1..3 {
        ocsp.answer(&request(&ca, leaf)).await;
    }
    assert_eq!(ocsp.cached_count(), 2, "the oldest entry left");
}

#[tokio::test]
async fn answers_about_serials_the_ca_never_issued_are_not_cached() {
    let ca = ca(1);
    let ocsp = service(&ca, 10);
    for i in 0..5u8 {
        let made_up =
            pkilab_verify::ocsp_request::for_serial(&ca.issuing, &[0x42, i]).expect("request");
        assert!(matches!(
            status(&ocsp.answer(&made_up).await),
            CertStatus::Unknown(_)
        ));
    }
    assert_eq!(ocsp.cached_count(), 0);
}

#[tokio::test]
async fn a_nonce_gets_a_fresh_response_that_echoes_it_and_garbage_is_malformed() {
    let ca = ca(1);
    let ocsp = service(&ca, 10);
    let nonce = [0x5a; 16];
    let answer = ocsp.answer(&with_nonce(&request(&ca, 0), &nonce)).await;
    assert!(
        answer.windows(nonce.len()).any(|w| w == nonce),
        "the nonce is echoed"
    );
    assert_eq!(ocsp.cached_count(), 0, "nonced answers are not cached");
    assert_eq!(ocsp.answer(b"not an OCSP request").await, malformed());
    assert_eq!(ocsp.answer(&[]).await, malformed());
}

#[tokio::test]
async fn a_revocation_empties_the_cache_once_the_records_change() {
    let ca = ca(1);
    let ocsp = service(&ca, 10);
    let asked = request(&ca, 0);
    assert!(matches!(
        status(&ocsp.answer(&asked).await),
        CertStatus::Good(_)
    ));
    let mut store = CaStore::open(&ca.dir).expect("open");
    store
        .revoke(
            &ca.leaves[0].0,
            RevocationReason::KeyCompromise,
            OffsetDateTime::now_utc(),
        )
        .expect("revoke");
    drop(store);
    ocsp.refresh().expect("refresh");
    assert!(matches!(
        status(&ocsp.answer(&asked).await),
        CertStatus::Revoked(_)
    ));
}

#[tokio::test]
async fn the_refresh_pass_signs_again_what_was_asked_for_and_drops_the_rest() {
    let ca = ca(2);
    let lifetime = std::time::Duration::from_millis(40);
    let ocsp = Arc::new(
        OcspService::open(&ca.dir, Zeroizing::new(PASSPHRASE.to_owned()), lifetime, 10)
            .expect("open"),
    );
    let first = ocsp.answer(&request(&ca, 0)).await;
    ocsp.answer(&request(&ca, 1)).await;
    std::thread::sleep(lifetime);
    // Both were asked for since they were signed: both are signed again.
    assert_eq!(ocsp.refresh_cache(), 2);
    assert_eq!(ocsp.cached_count(), 2);
    std::thread::sleep(lifetime);
    // Nobody asked since: both leave.
    assert_eq!(ocsp.refresh_cache(), 0);
    assert_eq!(ocsp.cached_count(), 0);
    // Asked again, it is signed and cached anew (with whole-second times
    // and a deterministic signature, possibly the same bytes).
    assert!(matches!(
        status(&ocsp.answer(&request(&ca, 0)).await),
        CertStatus::Good(_)
    ));
    assert!(matches!(status(&first), CertStatus::Good(_)));
    assert_eq!(ocsp.cached_count(), 1);
}
