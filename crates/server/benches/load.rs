//! Keep-alive mTLS encrypt requests (1 KiB) from a load client in the same
//! process, server and client sharing the machine's cores (target: at
//! least 10,000 requests/s on 2 cores, client included). Prints requests/s
//! and latency percentiles.
//!
//! `cargo bench -p pkilab-server --bench load` (LOAD_SECONDS, LOAD_CONNECTIONS
//! override the 10 s and 32 connections).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use pkilab_ca::SigningAlgorithm;
use pkilab_ca::store::{CaStore, InitOptions, IssueOptions};
use pkilab_server::{Config, RateLimit};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use time::OffsetDateTime;
use zeroize::Zeroizing;

const PASSPHRASE: &str = "load test";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn pem_blocks(text: &str) -> Vec<CertificateDer<'static>> {
    pem::parse_many(text)
        .unwrap()
        .into_iter()
        .map(|p| CertificateDer::from(p.into_contents()))
        .collect()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let dir = tempfile::tempdir().unwrap();
    let ca_dir = dir.path().join("ca");
    let now = OffsetDateTime::now_utc();
    let init = InitOptions {
        name: "Load Root".into(),
        intermediate: Some("Load Issuing".into()),
        algorithm: SigningAlgorithm::Ed25519,
        days: 30,
        iterations: 1000,
    };
    let mut store = CaStore::init(&ca_dir, &init, PASSPHRASE.as_bytes(), now).unwrap();
    let issue = IssueOptions {
        name: "loader".into(),
        dns: vec![],
        ips: vec![],
        client: true,
        server: false,
        days: 2,
        csr: None,
        iterations: 1000,
    };
    let issued = store.issue(&issue, PASSPHRASE.as_bytes(), now).unwrap();
    drop(store);
    let key = pkilab_ca::encrypted_key::decrypt_pkcs8(
        issued.key.unwrap().as_bytes(),
        PASSPHRASE.as_bytes(),
    )
    .unwrap();
    let mut chain = pem_blocks(&issued.certificate);
    chain.extend(pem_blocks(&issued.chain));
    let root = pem_blocks(&std::fs::read_to_string(ca_dir.join("root.crt")).unwrap());

    let config = Config {
        rate_limit: RateLimit {
            per_second: 1e9,
            burst: 1e9,
        },
        // Every load connection comes from the loopback address.
        max_connections_per_address: 1024,
        ..Config::default()
    };
    let db = dir.path().join("kms.db").display().to_string();
    let server = pkilab_server::bind(
        &ca_dir,
        &db,
        "127.0.0.1:0".parse().unwrap(),
        config,
        Zeroizing::new(PASSPHRASE.to_owned()),
        65_536,
    )
    .await
    .unwrap();
    let addr = server.local_addr().unwrap();
    tokio::spawn(server.run());

    let mut roots = rustls::RootCertStore::empty();
    roots.add(root[0].clone()).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, PrivateKeyDer::try_from(key.to_vec()).unwrap())
        .unwrap();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(tls));

    // One connection creates the key; then every connection encrypts.
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
    let post = |path: &str, body: String| {
        Request::post(path)
            .header("host", "localhost")
            .header("content-type", "application/json")
            .body(Full::new(Bytes::from(body)))
            .unwrap()
    };
    let mut first = connect().await;
    let created = first
        .send_request(post(
            "/v1/keys",
            r#"{"name":"load","type":"aes-256-gcm"}"#.into(),
        ))
        .await
        .unwrap();
    assert_eq!(created.status(), 201);

    let seconds = env("LOAD_SECONDS", 10);
    let connections = env("LOAD_CONNECTIONS", 32);
    let plaintext = base64::engine::general_purpose::STANDARD.encode([0x42u8; 1024]);
    let body = format!(r#"{{"plaintext":"{plaintext}","aad":"load"}}"#);
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..connections {
        let mut sender = connect().await;
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let t = Instant::now();
                let response = sender
                    .send_request(post("/v1/keys/load/encrypt", body.clone()))
                    .await
                    .unwrap();
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
        "mTLS keep-alive encrypt (1 KiB): {} requests in {elapsed:.1} s over {connections} connections = {:.0} requests/s; latency p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        latencies.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        latencies.last().unwrap()
    );
}
