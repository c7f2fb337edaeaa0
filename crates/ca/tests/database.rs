//! The CA in a database: the same operations as the directory store, with
//! serials unique by constraint, CRL numbers from one counter, and
//! revocations seen by the next CRL and OCSP answer of any process. The
//! PostgreSQL tests are ignored unless asked for (`-- --ignored postgres`).
#![allow(clippy::panic, clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::sync::Arc;

use pkilab_ca::store::{CaStore, InitOptions, IssueOptions, StoreError};
use pkilab_ca::{CaDb, RevocationReason, Serial, SigningAlgorithm};
use time::{Duration, OffsetDateTime};

const PASSPHRASE: &[u8] = b"database test passphrase";

fn init_options() -> InitOptions {
    InitOptions {
        name: "Db Root".into(),
        intermediate: Some("Db Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 365,
        iterations: 1_000,
    }
}

fn leaf(name: &str) -> IssueOptions {
    IssueOptions {
        name: name.into(),
        client: true,
        days: 30,
        iterations: 1_000,
        ..IssueOptions::default()
    }
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().replace_nanosecond(0).unwrap()
}

/// The serials a DER CRL lists.
fn crl_serials(der: &[u8]) -> BTreeSet<Serial> {
    let (_, crl) = x509_parser::parse_x509_crl(der).unwrap();
    crl.iter_revoked_certificates()
        .map(|r| Serial::from_der_integer(r.raw_serial()))
        .collect()
}

async fn sqlite_ca(dir: &tempfile::TempDir) -> (CaDb, String) {
    let location = dir.path().join("ca.db").display().to_string();
    let db = CaDb::init(&location, &init_options(), None, PASSPHRASE, now())
        .await
        .unwrap();
    (db, location)
}

#[tokio::test]
async fn issue_revoke_and_publish_in_sqlite_seen_by_another_process() {
    let dir = tempfile::tempdir().unwrap();
    let (db, location) = sqlite_ca(&dir).await;
    let issued = db.issue(&leaf("alice"), PASSPHRASE, now()).await.unwrap();
    assert!(issued.key.is_some() && !issued.chain.is_empty());
    let first = db
        .publish_crl(PASSPHRASE, now(), Duration::days(7))
        .await
        .unwrap();
    let published = db
        .revoke_and_publish(
            &issued.serial,
            RevocationReason::KeyCompromise,
            PASSPHRASE,
            now(),
            Duration::days(7),
        )
        .await
        .unwrap();
    assert_eq!(
        published.numbers,
        vec![("root".into(), 2), ("issuing".into(), 2)]
    );
    assert_eq!(first.numbers[1].1, 1);
    // Another process opening the same file sees the revocation.
    let other = CaDb::open(&location).await.unwrap();
    let current = other.current_crls().await.unwrap();
    assert_eq!(current[1].number, 2);
    assert!(crl_serials(&current[1].der[0]).contains(&issued.serial));
    let again = other
        .revoke(&issued.serial, RevocationReason::Superseded, now())
        .await;
    assert!(
        matches!(again, Err(StoreError::AlreadyRevoked(_))),
        "{again:?}"
    );
    let unknown = other
        .revoke(&Serial::random(), RevocationReason::Superseded, now())
        .await;
    assert!(
        matches!(unknown, Err(StoreError::UnknownSerial(_))),
        "{unknown:?}"
    );
    let record = other.find(&issued.serial).await.unwrap().unwrap();
    assert_eq!(record.reason, Some(RevocationReason::KeyCompromise));
    assert_eq!(record.in_complete_crl, Some(2));
}

#[tokio::test]
async fn a_serial_collision_signs_again_with_a_fresh_serial() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = sqlite_ca(&dir).await;
    let taken = db
        .issue(&leaf("alice"), PASSPHRASE, now())
        .await
        .unwrap()
        .serial;
    let fresh = Serial::random();
    let mut offered = vec![fresh.clone(), taken.clone()];
    let issued = db
        .issue_with_serials(&leaf("bob"), PASSPHRASE, now(), || offered.pop().unwrap())
        .await
        .unwrap();
    assert_eq!(issued.serial, fresh, "the taken serial was skipped");
    assert_eq!(db.find(&taken).await.unwrap().unwrap().subject, "alice");
    assert_eq!(db.find(&fresh).await.unwrap().unwrap().subject, "bob");
    let stuck = db
        .issue_with_serials(&leaf("carol"), PASSPHRASE, now(), || taken.clone())
        .await;
    assert!(
        matches!(stuck, Err(StoreError::Database(ref m)) if m.contains("random generator")),
        "{stuck:?}"
    );
}

#[tokio::test]
async fn a_wrong_passphrase_is_refused_before_and_after_unlocking() {
    let dir = tempfile::tempdir().unwrap();
    let (db, location) = sqlite_ca(&dir).await;
    let wrong = db.issue(&leaf("alice"), b"not it", now()).await;
    assert!(
        matches!(wrong, Err(StoreError::WrongPassphrase(_))),
        "{wrong:?}"
    );
    db.issue(&leaf("alice"), PASSPHRASE, now()).await.unwrap();
    let wrong = db.publish_crl(b"not it", now(), Duration::days(1)).await;
    assert!(
        matches!(wrong, Err(StoreError::WrongPassphrase(_))),
        "{wrong:?}"
    );
    let twice = CaDb::init(&location, &init_options(), None, PASSPHRASE, now()).await;
    assert!(
        matches!(twice, Err(StoreError::DbAlreadyHolds(_))),
        "{twice:?}"
    );
}

#[tokio::test]
async fn a_directory_ca_migrates_with_its_records_and_crl_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let mut store = CaStore::init(&ca_dir, &init_options(), PASSPHRASE, now()).unwrap();
    let kept = store
        .issue(&leaf("alice"), PASSPHRASE, now())
        .unwrap()
        .serial;
    let revoked = store.issue(&leaf("bob"), PASSPHRASE, now()).unwrap().serial;
    store
        .revoke(&revoked, RevocationReason::KeyCompromise, now())
        .unwrap();
    store
        .publish_crl(PASSPHRASE, now(), Duration::days(7))
        .unwrap();
    let location = dir.path().join("ca.db").display().to_string();
    let db = CaDb::migrate_from(&store, &location).await.unwrap();
    assert_eq!(db.issued().await.unwrap(), store.issued());
    assert_eq!(db.chain_pem().matches("BEGIN CERTIFICATE").count(), 2);
    // The keys moved wrapped: the passphrase opens them, numbers go on.
    let published = db
        .publish_crl(PASSPHRASE, now(), Duration::days(7))
        .await
        .unwrap();
    assert_eq!(published.numbers[1], ("issuing".into(), 2));
    let current = db.current_crls().await.unwrap();
    let listed = crl_serials(&current[1].der[0]);
    assert!(listed.contains(&revoked) && !listed.contains(&kept));
    let again = CaDb::migrate_from(&store, &location).await;
    assert!(
        matches!(again, Err(StoreError::DbAlreadyHolds(_))),
        "{again:?}"
    );
}

/// A fresh database on the server `PKILAB_TEST_POSTGRES_URL` names.
async fn postgres_location() -> String {
    use sqlx::Executor;
    let Ok(base) = std::env::var("PKILAB_TEST_POSTGRES_URL") else {
        panic!("PKILAB_TEST_POSTGRES_URL is not set: run `eval \"$(bash .ci/postgres)\"` first");
    };
    sqlx::any::install_default_drivers();
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("PostgreSQL reachable");
    let name = format!(
        "pkilab_ca_{}",
        Serial::random().to_string().get(..16).unwrap_or("0")
    );
    admin
        .execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    admin.close().await;
    let (server, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{server}/{name}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: eval \"$(bash .ci/postgres)\", then cargo test -p pkilab-ca -- --ignored postgres"]
async fn postgres_three_processes_issue_distinct_serials_and_number_crls_in_order() {
    let location = postgres_location().await;
    CaDb::init(&location, &init_options(), None, PASSPHRASE, now())
        .await
        .unwrap();
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(Arc::new(CaDb::open(&location).await.unwrap()));
    }
    let mut tasks = Vec::new();
    for i in 0..300 {
        let db = Arc::clone(&servers[i % 3]);
        tasks.push(tokio::spawn(async move {
            db.issue(&leaf(&format!("c{i}")), PASSPHRASE, now())
                .await
                .unwrap()
                .serial
        }));
    }
    let mut serials = Vec::new();
    for task in tasks {
        serials.push(task.await.unwrap());
    }
    assert_eq!(serials.iter().collect::<BTreeSet<_>>().len(), 300);
    let mut tasks = Vec::new();
    for (i, serial) in serials.iter().take(90).enumerate() {
        let (db, serial) = (Arc::clone(&servers[i % 3]), serial.clone());
        tasks.push(tokio::spawn(async move {
            db.revoke_and_publish(
                &serial,
                RevocationReason::KeyCompromise,
                PASSPHRASE,
                now(),
                Duration::days(7),
            )
            .await
            .unwrap()
            .numbers[1]
                .1
        }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(
        distinct.len(),
        90,
        "no CRL number was used twice: {numbers:?}"
    );
    let current = servers[2].current_crls().await.unwrap();
    assert_eq!(current[1].number, *distinct.last().unwrap());
    let listed = crl_serials(&current[1].der[0]);
    assert!(serials.iter().take(90).all(|s| listed.contains(s)));
    assert!(!listed.contains(&serials[90]));
}
