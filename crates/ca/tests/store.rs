//! The CA directory store: what it checks, and in which order.

use pkilab_ca::SigningAlgorithm;
use pkilab_ca::error::{Error, InputError};
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions, StoreError};
use time::OffsetDateTime;

const PASSPHRASE: &[u8] = b"correct horse battery staple";

fn init(dir: &std::path::Path) -> CaStore {
    let options = InitOptions {
        name: "Store Root".into(),
        intermediate: Some("Store Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 30,
        iterations: 1000,
    };
    CaStore::init(dir, &options, PASSPHRASE, OffsetDateTime::now_utc()).expect("init")
}

fn request(csr: Option<Vec<u8>>) -> IssueOptions {
    IssueOptions {
        name: "client".into(),
        dns: vec![],
        ips: vec![],
        client: true,
        server: false,
        days: 2,
        csr,
        iterations: 1000,
    }
}

#[test]
fn a_garbage_csr_is_refused_before_the_ca_key_is_opened() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = init(&dir.path().join("ca"));
    let before = store.issued().len();
    let garbage = b"-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    // A wrong passphrase would be the refusal if the key were opened first.
    let refusal = store
        .issue(
            &request(Some(garbage.to_vec())),
            b"wrong",
            OffsetDateTime::now_utc(),
        )
        .expect_err("garbage CSR");
    assert!(
        matches!(refusal, StoreError::Ca(Error::Input(InputError::Csr(_)))),
        "refused for the CSR, not the passphrase: {refusal:?}"
    );
    assert_eq!(store.issued().len(), before, "nothing recorded");
}

#[test]
fn a_good_request_with_a_wrong_passphrase_is_refused_for_the_passphrase() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store = init(&dir.path().join("ca"));
    let refusal = store
        .issue(&request(None), b"wrong", OffsetDateTime::now_utc())
        .expect_err("wrong passphrase");
    assert!(
        matches!(refusal, StoreError::WrongPassphrase(_)),
        "{refusal:?}"
    );
}

#[test]
fn every_issued_certificate_is_logged_before_it_is_handed_out() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca");
    let mut store = init(&ca);
    let issued = store
        .issue(&request(None), PASSPHRASE, OffsetDateTime::now_utc())
        .expect("issue");
    drop(store);
    let log = pkilab_ca::store::open_log(&ca).expect("log opens under log.pub");
    // The intermediate at init, then the leaf.
    assert_eq!(log.tree().size(), 2);
    let der = pem::parse(issued.certificate.as_bytes())
        .expect("PEM")
        .into_contents();
    assert_eq!(log.find(&der), Some(1));
    let key = pkilab_ca::store::read_log_key(&ca.join("log.pub")).expect("log.pub");
    let proof = log.prove(&der).expect("proof");
    let checkpoint = proof.verify(&der, &key).expect("verifies");
    assert_eq!(checkpoint.size, 2);
    assert!(proof.verify(b"another certificate", &key).is_err());
}

#[test]
fn a_log_whose_entries_were_edited_does_not_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ca = dir.path().join("ca");
    let mut store = init(&ca);
    store
        .issue(&request(None), PASSPHRASE, OffsetDateTime::now_utc())
        .expect("issue");
    drop(store);
    let leaves = ca.join("log/leaves");
    let mut bytes = std::fs::read(&leaves).expect("leaves");
    bytes[40] ^= 1;
    std::fs::write(&leaves, bytes).expect("write");
    let refusal = pkilab_ca::store::open_log(&ca).expect_err("tampered");
    assert!(refusal.to_string().contains("damaged log"), "{refusal}");
}
