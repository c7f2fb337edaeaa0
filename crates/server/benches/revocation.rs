//! Revocation at scale, side by side in one run, for a CA holding
//! 1,000,000 revoked certificates (Ed25519):
//!
//! 1. its complete CRL, encoded and signed (target ≤ 5 s), and a delta CRL
//!    of 1,000 new entries (target ≤ 50 ms), by the CA itself, and the same
//!    through the CA store (records read, CRL files and state written);
//! 2. OCSP answers from the server's cache over real HTTPS keep-alive
//!    connections without client certificates, server and load client in
//!    one process on a two-worker runtime, so both share the 2 cores
//!    (target ≥ 20,000 requests/s), with latency percentiles.
//!
//! `cargo bench -p pkilab-server --bench revocation` (LOAD_SECONDS,
//! LOAD_CONNECTIONS override the 10 s and 32 connections, REVOKED_ENTRIES
//! the million, for a quick check of the harness itself). Prints the load
//! average before and after, since the machine may be shared.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use der::Decode;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions, IssuedRecord, Status};
use pkilab_ca::{
    CaKey, CertificateAuthority, CrlRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use pkilab_server::{Config, RateLimit};
use rustls_pki_types::{CertificateDer, ServerName};
use time::OffsetDateTime;
use zeroize::Zeroizing;

const PASSPHRASE: &str = "revocation bench";
const DELTA: usize = 1_000;
/// Distinct certificates the OCSP clients ask about.
const ASKED: usize = 1_000;
/// Of which leaves actually issued (the rest: revoked serials).
const GOOD: usize = 100;

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Revoked certificates of the CA.
fn revoked() -> usize {
    env("REVOKED_ENTRIES", 1_000_000) as usize
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn serial(i: usize, tag: u8) -> Serial {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&(i as u64).to_be_bytes());
    bytes[0] = tag;
    Serial::from_bytes(bytes)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn main() {
    println!("load average before: {}", load_average());
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
    crl_by_the_ca(now);
    let (issuing, good) = ca_with_revocations(&ca_dir, now);
    crl_through_the_store(&ca_dir, now);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(crl_through_the_database(&dir.path().join("ca.db"), now));
    runtime.block_on(ocsp_load(&ca_dir, &issuing, &good));
    println!("load average after: {}", load_average());
}

/// Encoding and signing only, as `crates/ca/benches/crl.rs` measures them.
fn crl_by_the_ca(now: OffsetDateTime) {
    let ca = CertificateAuthority::new_root(
        "Bench Root",
        CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
        now - time::Duration::days(1),
        now + time::Duration::days(3650),
        Serial::random(),
    )
    .unwrap();
    let entries = |n: usize, tag: u8| -> Vec<RevokedEntry> {
        (0..n)
            .map(|i| RevokedEntry {
                serial: serial(i, tag),
                revoked_at: now,
                reason: RevocationReason::KeyCompromise,
            })
            .collect()
    };
    let million = entries(revoked(), 0x22);
    let thousand = entries(DELTA, 0x33);
    let sign = |revoked: &[RevokedEntry], delta_base: Option<u64>| {
        let started = Instant::now();
        let der = ca
            .crl_with(&CrlRequest {
                revoked,
                number: 7,
                this_update: now,
                next_update: now + time::Duration::days(7),
                delta_base,
                scope: None,
                freshest: None,
            })
            .unwrap();
        (started.elapsed(), der.len())
    };
    let complete: Vec<(Duration, usize)> = (0..5).map(|_| sign(&million, None)).collect();
    let delta: Vec<(Duration, usize)> = (0..21).map(|_| sign(&thousand, Some(6))).collect();
    println!(
        "CA: complete CRL of {} entries ({} bytes): median {:?} of 5",
        revoked(),
        complete[0].1,
        median(complete.iter().map(|c| c.0).collect())
    );
    println!(
        "CA: delta CRL of {DELTA} entries ({} bytes): median {:?} of 21",
        delta[0].1,
        median(delta.iter().map(|c| c.0).collect())
    );
}

/// A CA store whose issuing CA issued `GOOD` leaves and has revoked
/// `revoked()` certificates (a million). The revocations are written into the store's
/// records directly (issuing and revoking a million certificates one call
/// at a time would rewrite the records a million times); returns the
/// issuing CA's certificate and the good leaves' serials.
fn ca_with_revocations(ca_dir: &Path, now: OffsetDateTime) -> (Vec<u8>, Vec<Serial>) {
    let init = InitOptions {
        name: "Bench Root".into(),
        intermediate: Some("Bench Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 30,
        iterations: 1000,
    };
    let mut store = CaStore::init(ca_dir, &init, PASSPHRASE.as_bytes(), now).unwrap();
    let options = IssueOptions {
        name: "leaf".into(),
        client: true,
        days: 2,
        iterations: 1000,
        ..IssueOptions::default()
    };
    let good: Vec<Serial> = (0..GOOD)
        .map(|_| {
            let leaf = options.clone();
            store
                .issue(&leaf, PASSPHRASE.as_bytes(), now)
                .unwrap()
                .serial
        })
        .collect();
    drop(store);
    add_revoked(ca_dir, revoked(), 0x22, now);
    let issuing = pem::parse(std::fs::read(ca_dir.join("issuing.crt")).unwrap())
        .unwrap()
        .into_contents();
    (issuing, good)
}

/// Writes `n` revoked certificates of the issuing CA into the store's
/// records (serials tagged `tag`), as if issued and revoked at `now`.
fn add_revoked(ca_dir: &Path, n: usize, tag: u8, now: OffsetDateTime) {
    let path = ca_dir.join("state.json");
    let mut state: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let issued = state["issued"].as_array_mut().unwrap();
    for i in 0..n {
        let record = IssuedRecord {
            serial: serial(i, tag).to_string(),
            subject: format!("revoked {i}"),
            not_after: (now + time::Duration::days(2)).unix_timestamp(),
            issuer: "issuing".into(),
            status: Status::Revoked,
            revoked_at: Some(now.unix_timestamp()),
            reason: Some(RevocationReason::KeyCompromise),
            in_complete_crl: None,
        };
        issued.push(serde_json::to_value(record).unwrap());
    }
    std::fs::write(&path, serde_json::to_vec(&state).unwrap()).unwrap();
}

/// `CaStore::publish_crl` and, after 1,000 more revocations,
/// `publish_delta_crl`: what `pkilab ca crl [--delta]` does, the store's
/// records read and written included.
fn crl_through_the_store(ca_dir: &Path, now: OffsetDateTime) {
    let started = Instant::now();
    let mut store = CaStore::open(ca_dir).unwrap();
    let opened = started.elapsed();
    let started = Instant::now();
    let pem = store
        .publish_crl(PASSPHRASE.as_bytes(), now, time::Duration::days(7))
        .unwrap();
    println!(
        "store: records of {} certificates read in {opened:?}; complete CRLs ({} bytes of PEM) published in {:?}",
        store.issued().len(),
        pem.len(),
        started.elapsed()
    );
    drop(store);
    add_revoked(ca_dir, DELTA, 0x33, now);
    let mut store = CaStore::open(ca_dir).unwrap();
    let started = Instant::now();
    let pem = store
        .publish_delta_crl(PASSPHRASE.as_bytes(), now, time::Duration::days(7))
        .unwrap();
    println!(
        "store: delta CRLs of {DELTA} new entries ({} bytes of PEM) published in {:?}, the rewrite of every record included",
        pem.len(),
        started.elapsed()
    );
}

/// The same two publications with the CA in a SQLite database
/// (`pkilab ca crl [--delta] --db FILE`): the million revoked rows are
/// written straight into its table, then the complete CRL marks them
/// listed, and the delta finds its 1,000 new rows through the index of
/// revocations no complete CRL has listed.
async fn crl_through_the_database(file: &Path, now: OffsetDateTime) {
    let init = InitOptions {
        name: "Bench Root".into(),
        intermediate: Some("Bench Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 30,
        iterations: 1000,
    };
    let location = file.to_str().unwrap();
    let db = pkilab_ca::sql::CaDb::init(location, &init, None, PASSPHRASE.as_bytes(), now)
        .await
        .unwrap();
    insert_revoked(&db, revoked(), 0x44, now).await;
    let started = Instant::now();
    db.publish_crl(PASSPHRASE.as_bytes(), now, time::Duration::days(7))
        .await
        .unwrap();
    println!(
        "database: complete CRLs of {} revoked certificates published in {:?}",
        revoked(),
        started.elapsed()
    );
    insert_revoked(&db, DELTA, 0x55, now).await;
    let mut times = Vec::new();
    for round in 0..5u8 {
        let started = Instant::now();
        db.publish_delta_crl(PASSPHRASE.as_bytes(), now, time::Duration::days(7))
            .await
            .unwrap();
        times.push(started.elapsed());
        if round == 0 {
            println!(
                "database: first delta CRL of {DELTA} new entries in {:?}",
                times[0]
            );
        }
    }
    println!(
        "database: delta CRL of {DELTA} new entries published in {:?} (median of 5; the CA keys opened, the rows read through the index, signed and stored)",
        median(times)
    );
}

/// Writes `n` revoked certificates of the issuing CA into the database's
/// table, in one transaction.
async fn insert_revoked(db: &pkilab_ca::sql::CaDb, n: usize, tag: u8, now: OffsetDateTime) {
    let mut tx = db.pool().begin().await.unwrap();
    for i in 0..n {
        sqlx::query(
            "INSERT INTO ca_certificates (serial, issuer, subject, issued_at, not_after, revoked_at, reason)
             VALUES ($1, 'issuing', $2, $3, $4, $3, 'key-compromise')",
        )
        .bind(serial(i, tag).to_string())
        .bind(format!("revoked {i}"))
        .bind(now.unix_timestamp())
        .bind((now + time::Duration::days(2)).unix_timestamp())
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();
}

async fn ocsp_load(ca_dir: &Path, issuing: &[u8], good: &[Serial]) {
    let config = Config {
        rate_limit: RateLimit {
            per_second: 1e9,
            burst: 1e9,
        },
        max_connections_per_address: 1024,
        ..Config::default()
    };
    let db = ca_dir
        .parent()
        .unwrap()
        .join("kms.db")
        .display()
        .to_string();
    let started = Instant::now();
    let server = pkilab_server::bind(
        ca_dir,
        &db,
        "127.0.0.1:0".parse().unwrap(),
        config,
        Zeroizing::new(PASSPHRASE.to_owned()),
        65_536,
    )
    .await
    .unwrap();
    println!(
        "server: bound in {:?} (CRLs and OCSP records loaded)",
        started.elapsed()
    );
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());

    let requests: Arc<Vec<(Bytes, bool)>> = Arc::new(
        (0..ASKED)
            .map(|i| {
                let (serial, revoked) = match good.get(i) {
                    Some(s) => (s.clone(), false),
                    None => (serial(i * 997 % revoked(), 0x22), true),
                };
                let der =
                    pkilab_verify::ocsp_request::for_serial(issuing, serial.as_bytes()).unwrap();
                (Bytes::from(der), revoked)
            })
            .collect(),
    );
    let root = pem::parse(std::fs::read(ca_dir.join("root.crt")).unwrap())
        .unwrap()
        .into_contents();
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(root)).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));
    let connect = || async {
        let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
        tcp.set_nodelay(true).unwrap();
        let tls = connector
            .connect(ServerName::try_from("localhost").unwrap(), tcp)
            .await
            .unwrap();
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .unwrap();
        tokio::spawn(connection);
        sender
    };
    let post = |body: Bytes| {
        Request::post("/ocsp")
            .header("host", "localhost")
            .header("content-type", "application/ocsp-request")
            .body(Full::new(body))
            .unwrap()
    };

    // Warm-up: every certificate asked once, so the cache holds its
    // answer, and each answer checked.
    let mut first = connect().await;
    for (der, revoked) in requests.iter() {
        first.ready().await.unwrap();
        let response = first.send_request(post(der.clone())).await.unwrap();
        assert_eq!(response.status(), 200);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(says_revoked(&body), *revoked);
    }

    let seconds = env("LOAD_SECONDS", 10);
    let connections = env("LOAD_CONNECTIONS", 32);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..connections {
        let mut sender = connect().await;
        let requests = Arc::clone(&requests);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut i = c as usize * 31;
            while Instant::now() < deadline {
                let (der, _) = &requests[i % requests.len()];
                i += 1;
                let t = Instant::now();
                sender.ready().await.unwrap();
                let response = sender.send_request(post(der.clone())).await.unwrap();
                assert_eq!(response.status(), 200);
                let _ = response.into_body().collect().await.unwrap();
                latencies.push(t.elapsed());
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "OCSP over HTTPS keep-alive, no client certificate, {ASKED} certificates asked about ({GOOD} good, the rest revoked), from the cache: {} requests in {elapsed:.1} s over {connections} connections = {:.0} requests/s; latency p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap()
    );
}

/// Whether a DER OCSPResponse says "revoked" for its one certificate.
fn says_revoked(der: &[u8]) -> bool {
    let response = x509_ocsp::OcspResponse::from_der(der).unwrap();
    let bytes = response.response_bytes.unwrap();
    let basic = x509_ocsp::BasicOcspResponse::from_der(bytes.response.as_bytes()).unwrap();
    matches!(
        basic.tbs_response_data.responses[0].cert_status,
        x509_ocsp::CertStatus::Revoked(_)
    )
}
