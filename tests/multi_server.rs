//! Three `pkilab serve` processes on one PostgreSQL database, as behind a
//! load balancer: concurrent issuance gives distinct serials; revocations
//! interleaved with CRL publications from every server give CRL numbers
//! that never repeat or go back, and CRLs that list every acknowledged
//! revocation; concurrent encryptions and rotations leave one unbroken
//! audit chain; a server killed with SIGKILL mid-load loses no
//! acknowledged write while the others keep serving; a database restart
//! mid-load is survived. Rate limits and TOTP single use hold across
//! servers.
//!
//! Ignored unless asked for: `eval "$(bash .ci/postgres)"`, then
//! `cargo test -p pkilab --test multi_server -- --ignored postgres`.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use common::cluster::{self, Answer, Call, Node, drive, pkilab, when};
use common::probe::json;
use common::s;
use pkilab_ca::Serial;

const ISSUANCES: usize = 10_000;
const REVOCATIONS: usize = 1_000;
const ENCRYPTIONS: usize = 1_500;
const ROTATIONS: usize = 30;

/// The CA and key store in `db`, an admin identity that needs no TOTP
/// code, and three servers.
fn cluster(dir: &Path, db: &str, config: &str, servers: usize) -> Vec<Node> {
    pkilab(&[
        "ca",
        "init",
        "--db",
        db,
        "--name",
        "Cluster Root",
        "--intermediate",
        "Cluster Issuing",
    ]);
    pkilab(&["kms", "--db", db, "init"]);
    pkilab(&[
        "ca",
        "issue",
        "--db",
        db,
        "--name",
        "admin",
        "--client",
        "--out",
        s(&dir.join("admin")),
    ]);
    let config_path = dir.join("server.yaml");
    std::fs::write(&config_path, config).unwrap();
    let nodes: Vec<Node> = (0..servers)
        .map(|i| cluster::start(db, &config_path, &dir.join(format!("serve-{i}.log"))))
        .collect();
    let chain = std::process::Command::new("curl")
        .args(["-sSk", &format!("https://{}/v1/ca/chain", nodes[0].addr)])
        .output()
        .unwrap();
    std::fs::write(dir.join("chain.pem"), chain.stdout).unwrap();
    nodes
}

const LOAD_CONFIG: &str = "admins: [admin]\ntotp-exempt: [admin]\n\
    rate-limit: { per-second: 1000000, burst: 1000000 }\n\
    max-connections-per-address: 256\n";

fn csr(dir: &Path) -> String {
    let key = dir.join("leaf.key");
    let csr = dir.join("leaf.csr");
    for args in [
        vec!["genpkey", "-algorithm", "ed25519", "-out", s(&key)],
        vec![
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            "/CN=leaf",
            "-out",
            s(&csr),
        ],
    ] {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    std::fs::read_to_string(csr).unwrap()
}

/// Every serial the database holds.
fn stored_serials(db: &str) -> BTreeSet<String> {
    let listed = json(&pkilab(&["ca", "list", "--db", db, "--json"]));
    listed
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["serial"].as_str().unwrap().to_owned())
        .collect()
}

fn acknowledged(answers: &[Answer], status: u16) -> Vec<serde_json::Value> {
    answers
        .iter()
        .filter(|a| a.status == status)
        .map(|a| json(&a.body))
        .collect()
}

/// The cRLNumber and serials of each CRL in a PEM bundle.
fn crls(pem_text: &str) -> Vec<(u64, BTreeSet<Serial>)> {
    pem::parse_many(pem_text)
        .unwrap()
        .iter()
        .map(|block| {
            let (_, crl) = x509_parser::parse_x509_crl(block.contents()).unwrap();
            let number = crl
                .crl_number()
                .and_then(|n| n.to_u64_digits().first().copied());
            let serials = crl
                .iter_revoked_certificates()
                .map(|r| Serial::from_der_integer(r.raw_serial()))
                .collect();
            (number.unwrap_or(0), serials)
        })
        .collect()
}

/// Phase 1: issuance over three servers; the third is SIGKILLed at 40 %.
async fn issue_all(nodes: &mut [Node], dir: &Path, db: &str) -> Vec<String> {
    let addrs = Arc::new(nodes.iter().map(|n| n.addr).collect::<Vec<_>>());
    let body = serde_json::json!({ "csr": csr(dir), "name": "leaf", "days": 30 }).to_string();
    let call: Arc<dyn Fn(usize) -> Call + Send + Sync> =
        Arc::new(move |_| ("POST".into(), "/v1/certs".into(), body.clone()));
    let progress = Arc::new(AtomicUsize::new(0));
    let load = tokio::spawn(drive(
        addrs,
        cluster::connector(dir, "admin"),
        12,
        ISSUANCES,
        call,
        Arc::clone(&progress),
    ));
    when(&progress, ISSUANCES * 4 / 10).await;
    nodes[2].child.kill().unwrap();
    nodes[2].child.wait().unwrap();
    let answers = load.await.unwrap();
    eprintln!(
        "issuance: {} answers, {} after retries",
        answers.len(),
        answers.iter().filter(|a| a.retries > 0).count()
    );
    assert!(
        answers.iter().all(|a| a.status == 201),
        "every issuance acknowledged"
    );
    let late: BTreeSet<usize> = answers
        .iter()
        .skip(ISSUANCES / 2)
        .map(|a| a.server)
        .collect();
    assert!(
        !late.contains(&2) && late.len() == 2,
        "the other two kept serving: {late:?}"
    );
    let issued = acknowledged(&answers, 201);
    let serials: Vec<String> = issued
        .iter()
        .map(|v| v["serial"].as_str().unwrap().to_owned())
        .collect();
    // The first (to be revoked) and the last (to stay good), for OCSP.
    for (name, answer) in [("first", &issued[0]), ("last", &issued[ISSUANCES - 1])] {
        let pem_text = answer["certificate"].as_str().unwrap();
        std::fs::write(dir.join(format!("{name}.crt")), pem_text).unwrap();
        std::fs::write(dir.join("issuing.crt"), answer["chain"].as_str().unwrap()).unwrap();
    }
    let distinct: BTreeSet<&String> = serials.iter().collect();
    assert_eq!(distinct.len(), ISSUANCES, "{ISSUANCES} distinct serials");
    let stored = stored_serials(db);
    assert!(
        serials.iter().all(|s| stored.contains(s)),
        "no acknowledged issuance was lost"
    );
    serials
}

/// Phase 2: revocations from every server, each publishing a CRL, while
/// observers fetch CRLs; PostgreSQL restarts at 30 %.
async fn revoke_some(nodes: &[Node], dir: &Path, serials: &[String]) {
    let addrs = Arc::new(nodes.iter().map(|n| n.addr).collect::<Vec<_>>());
    let targets: Arc<Vec<String>> = Arc::new(serials[..REVOCATIONS].to_vec());
    let call: Arc<dyn Fn(usize) -> Call + Send + Sync> = Arc::new(move |i| {
        let path = format!("/v1/certs/{}/revoke", targets[i]);
        ("POST".into(), path, r#"{"reason":"key-compromise"}"#.into())
    });
    let progress = Arc::new(AtomicUsize::new(0));
    let observers: Vec<_> = nodes
        .iter()
        .map(|n| tokio::spawn(observe(n.addr, Arc::clone(&progress))))
        .collect();
    let load = tokio::spawn(drive(
        Arc::clone(&addrs),
        cluster::connector(dir, "admin"),
        4,
        REVOCATIONS,
        call,
        Arc::clone(&progress),
    ));
    when(&progress, REVOCATIONS * 3 / 10).await;
    restart_postgres().await;
    let answers = load.await.unwrap();
    eprintln!(
        "revocation: {} answers, {} after retries, {} found revoked on retry",
        answers.len(),
        answers.iter().filter(|a| a.retries > 0).count(),
        answers.iter().filter(|a| a.status == 409).count()
    );
    let mut numbers = Vec::new();
    for answer in &answers {
        match answer.status {
            200 => numbers.push(json(&answer.body)["crl_number"].as_u64().unwrap()),
            // Committed, but the answer was lost to the restart: the retry
            // finds it revoked.
            409 => assert!(answer.retries > 0, "{answer:?}"),
            other => panic!("revocation answered {other}: {}", answer.body),
        }
    }
    let distinct: BTreeSet<u64> = numbers.iter().copied().collect();
    assert_eq!(distinct.len(), numbers.len(), "a CRL number was used twice");
    for observer in observers {
        let seen = observer.await.unwrap();
        eprintln!(
            "an observer saw {} CRLs, numbers {:?} to {:?}",
            seen.len(),
            seen.first(),
            seen.last()
        );
        assert!(
            seen.windows(2).all(|w| w[0] <= w[1]),
            "a CRL number went back: {seen:?}"
        );
    }
    for node in nodes {
        assert_eq!(
            ocsp_status(dir, node.addr, "first"),
            "revoked",
            "OCSP from every server"
        );
        assert_eq!(ocsp_status(dir, node.addr, "last"), "good");
        let final_crls = fetch(node.addr, "/v1/ca/crl").await.expect("final CRL");
        let (number, listed) = crls(&final_crls).pop().unwrap();
        assert!(
            number >= *distinct.last().unwrap(),
            "the final CRL is the newest"
        );
        for serial in &serials[..REVOCATIONS] {
            assert!(
                listed.contains(&serial.parse().unwrap()),
                "{serial} missing from the final CRL"
            );
        }
    }
}

/// The OCSP status (`good`, `revoked`, …) `addr` gives for the leaf in
/// `dir/{leaf}.crt`, its response verified by openssl against the root.
fn ocsp_status(dir: &Path, addr: std::net::SocketAddr, leaf: &str) -> String {
    let (request, response) = (dir.join("ocsp.req"), dir.join(format!("{leaf}.ocsp")));
    let run = |program: &str, args: &[&str]| {
        let out = std::process::Command::new(program)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (issuing, cert) = (dir.join("issuing.crt"), dir.join(format!("{leaf}.crt")));
    run(
        "openssl",
        &[
            "ocsp",
            "-issuer",
            s(&issuing),
            "-cert",
            s(&cert),
            "-no_nonce",
            "-reqout",
            s(&request),
        ],
    );
    run(
        "curl",
        &[
            "-sSk",
            "--fail",
            "-H",
            "content-type: application/ocsp-request",
            "--data-binary",
            &format!("@{}", s(&request)),
            "-o",
            s(&response),
            &format!("https://{addr}/ocsp"),
        ],
    );
    let root = dir.join("root.pem");
    let chain = std::fs::read_to_string(dir.join("chain.pem")).unwrap();
    let end = chain.find("-----END CERTIFICATE-----").unwrap() + 26;
    std::fs::write(&root, &chain[..end]).unwrap();
    let said = run(
        "openssl",
        &[
            "ocsp",
            "-respin",
            s(&response),
            "-issuer",
            s(&issuing),
            "-cert",
            s(&cert),
            "-CAfile",
            s(&root),
            "-no_nonce",
        ],
    );
    said.lines()
        .find_map(|l| {
            l.split_once(": ")
                .map(|(_, status)| status.trim().to_owned())
        })
        .unwrap_or(said)
}

/// Fetches anonymously; `None` while the server or database is away.
async fn fetch(addr: std::net::SocketAddr, path: &str) -> Option<String> {
    let url = format!("https://{addr}{path}");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("curl")
            .args(["-sSk", "--max-time", "5", "-w", "\n%{http_code}", &url])
            .output()
    })
    .await
    .ok()?
    .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n')?;
    (status == "200").then(|| body.to_owned())
}

/// The issuing CA's CRL numbers one server serves, in the order fetched,
/// until the revocations are done.
async fn observe(addr: std::net::SocketAddr, progress: Arc<AtomicUsize>) -> Vec<u64> {
    let mut seen = Vec::new();
    while progress.load(std::sync::atomic::Ordering::SeqCst) < REVOCATIONS && seen.len() < 2_000 {
        if let Some(pem_text) = fetch(addr, "/v1/ca/crl").await
            && let Some((number, _)) = crls(&pem_text).pop()
        {
            seen.push(number);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    seen
}

async fn restart_postgres() {
    let script = std::env::var("PKILAB_TEST_POSTGRES_RESTART").unwrap_or_else(|_| {
        panic!("PKILAB_TEST_POSTGRES_RESTART is not set: use `eval \"$(bash .ci/postgres)\"`")
    });
    let out =
        tokio::task::spawn_blocking(move || std::process::Command::new("sh").arg(&script).output())
            .await
            .unwrap()
            .unwrap();
    assert!(
        out.status.success(),
        "restart: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Phase 3: encryptions and rotations of one key from every server, with
/// audit verifications running meanwhile.
async fn encrypt_and_rotate(nodes: &[Node], dir: &Path, db: &str) {
    let addrs = Arc::new(nodes.iter().map(|n| n.addr).collect::<Vec<_>>());
    let connector = cluster::connector(dir, "admin");
    let create: Arc<dyn Fn(usize) -> Call + Send + Sync> = Arc::new(|_| {
        (
            "POST".into(),
            "/v1/keys".into(),
            r#"{"name":"orders","type":"aes-256-gcm"}"#.into(),
        )
    });
    let created = drive(
        Arc::clone(&addrs),
        connector.clone(),
        1,
        1,
        create,
        Default::default(),
    )
    .await;
    assert_eq!(created[0].status, 201, "{}", created[0].body);
    let call: Arc<dyn Fn(usize) -> Call + Send + Sync> = Arc::new(|i| {
        if i % (ENCRYPTIONS / ROTATIONS) == 0 {
            ("POST".into(), "/v1/keys/orders/rotate".into(), "{}".into())
        } else {
            let body = format!(r#"{{"plaintext":"{}","aad":"b3JkZXJz"}}"#, base64_of(i));
            ("POST".into(), "/v1/keys/orders/encrypt".into(), body)
        }
    });
    let db_owned = db.to_owned();
    let verifier = tokio::task::spawn_blocking(move || {
        (0..3)
            .map(|_| pkilab(&["kms", "--db", &db_owned, "audit", "verify"]))
            .collect::<Vec<_>>()
    });
    let answers = drive(addrs, connector, 6, ENCRYPTIONS, call, Default::default()).await;
    assert!(
        answers.iter().all(|a| a.status == 200),
        "{:?}",
        answers.iter().find(|a| a.status != 200)
    );
    for report in verifier.await.unwrap() {
        assert!(report.contains("audit log intact"), "{report}");
    }
    let rotations = answers
        .iter()
        .filter(|a| a.index % (ENCRYPTIONS / ROTATIONS) == 0)
        .count();
    let shown = json(&pkilab(&[
        "kms", "--db", db, "key", "show", "orders", "--json",
    ]));
    let version = shown["current_version"].as_i64().unwrap_or(0) as usize;
    assert!(
        version > rotations,
        "every acknowledged rotation is stored: {shown}"
    );
    let versions: BTreeMap<i64, usize> = answers
        .iter()
        .filter_map(|a| json(&a.body)["ciphertext"].as_str().map(str::to_owned))
        .filter_map(|c| c.split(':').nth(3).and_then(|v| v.parse().ok()))
        .fold(BTreeMap::new(), |mut m, v| {
            *m.entry(v).or_default() += 1;
            m
        });
    assert!(
        versions.len() > 1,
        "encryptions used several versions: {versions:?}"
    );
    let report = pkilab(&["kms", "--db", db, "audit", "verify"]);
    assert!(
        report.contains("audit log intact"),
        "one unbroken chain: {report}"
    );
}

fn base64_of(i: usize) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(format!("order {i}"))
}

#[test]
#[ignore = "needs PostgreSQL: eval \"$(bash .ci/postgres)\", then cargo test -p pkilab --test multi_server -- --ignored postgres"]
fn postgres_three_servers_share_one_ca_and_key_store_through_a_kill_and_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let db = cluster::fresh_database();
    let mut nodes = cluster(dir.path(), &db, LOAD_CONFIG, 3);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let serials = issue_all(&mut nodes, dir.path(), &db).await;
        // A replacement joins with nothing but the database URL.
        nodes[2] = cluster::start(
            &db,
            &dir.path().join("server.yaml"),
            &dir.path().join("serve-2b.log"),
        );
        revoke_some(&nodes, dir.path(), &serials).await;
        encrypt_and_rotate(&nodes, dir.path(), &db).await;
    });
}

/// Sends `method path body` as `connector`'s identity to `addr`, with
/// extra `header` when given.
async fn once(
    connector: &tokio_rustls::TlsConnector,
    addr: std::net::SocketAddr,
    (method, path, body): (&str, &str, &str),
    header: Option<(&str, String)>,
) -> (u16, String) {
    use http_body_util::{BodyExt, Full};
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls_pki_types::ServerName::try_from("localhost").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(tls))
            .await
            .unwrap();
    tokio::spawn(connection);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json");
    if let Some((name, value)) = header {
        request = request.header(name, value);
    }
    let request = request
        .body(Full::new(hyper::body::Bytes::from(body.to_owned())))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// The secret of a TOTP enrolment URI (`secret=BASE32&…`).
fn totp_secret(uri: &str) -> Vec<u8> {
    let encoded = uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap();
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in encoded.bytes() {
        let v = if c.is_ascii_uppercase() {
            c - b'A'
        } else {
            c - b'2' + 26
        };
        buffer = (buffer << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

#[test]
#[ignore = "needs PostgreSQL: eval \"$(bash .ci/postgres)\", then cargo test -p pkilab --test multi_server -- --ignored postgres"]
fn postgres_rate_limits_and_totp_codes_hold_across_servers() {
    let dir = tempfile::tempdir().unwrap();
    let db = cluster::fresh_database();
    let config = "admins: [admin]\nrate-limit: { per-second: 0.05, burst: 4 }\n";
    let nodes = cluster(dir.path(), &db, config, 2);
    pkilab(&[
        "ca",
        "issue",
        "--db",
        &db,
        "--name",
        "alice",
        "--client",
        "--out",
        s(&dir.path().join("alice")),
    ]);
    let secret = totp_secret(&pkilab(&["kms", "--db", &db, "mfa", "enroll", "alice"]));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // One code, sent to both servers: it works once.
        let alice = cluster::connector(dir.path(), "alice");
        let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
        let code = format!("{:06}", pkilab_kms::totp_code(&secret, step));
        let body =
            serde_json::json!({ "csr": csr(dir.path()), "name": "alice", "days": 1 }).to_string();
        let mut statuses = Vec::new();
        for node in &nodes {
            let header = Some(("x-pkilab-totp", code.clone()));
            let (status, answer) =
                once(&alice, node.addr, ("POST", "/v1/certs", &body), header).await;
            statuses.push((status, json(&answer)["error"].as_str().map(str::to_owned)));
        }
        statuses.sort();
        assert_eq!(statuses[0].0, 201, "{statuses:?}");
        assert_eq!(
            statuses[1],
            (403, Some("totp-refused".into())),
            "the code was used once"
        );
        // A burst of 4 in all, however the requests are spread.
        let admin = cluster::connector(dir.path(), "admin");
        let mut limited = 0;
        for i in 0..6 {
            let (status, _) = once(&admin, nodes[i % 2].addr, ("GET", "/v1/keys", ""), None).await;
            assert!(status == 200 || status == 429, "{status}");
            limited += usize::from(status == 429);
        }
        assert_eq!(limited, 2, "4 of 6 requests served across both servers");
    });
}
