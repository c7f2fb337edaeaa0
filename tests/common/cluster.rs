//! Several `pkilab serve` processes on one PostgreSQL database, and a
//! load driver: keep-alive mTLS connections spread over the servers, each
//! request retried (on another server when its own is gone) until it is
//! acknowledged, with every retry loop bounded.
#![allow(dead_code, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::{command, ok, s};

pub const PASSPHRASE: &str = "multi-server test passphrase";

/// `pkilab ARGS` with the cluster's passphrase; must succeed.
pub fn pkilab(args: &[&str]) -> String {
    ok(&super::run(args, PASSPHRASE))
}

/// A fresh database on the server `PKILAB_TEST_POSTGRES_URL` names.
pub fn fresh_database() -> String {
    let base = std::env::var("PKILAB_TEST_POSTGRES_URL").unwrap_or_else(|_| {
        panic!("PKILAB_TEST_POSTGRES_URL is not set: run `eval \"$(bash .ci/postgres)\"` first")
    });
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let made = MADE.fetch_add(1, Ordering::SeqCst);
    let name = format!("pkilab_cluster_{}_{made}", std::process::id());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        use sqlx::Executor;
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&base)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute(format!("DROP DATABASE IF EXISTS {name}").as_str())
            .await
            .expect("drop database");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        admin.close().await;
    });
    let (server, _) = base.rsplit_once('/').expect("URL with a database");
    format!("{server}/{name}")
}

/// One `pkilab serve --db URL` process.
pub struct Node {
    pub child: Child,
    pub addr: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `pkilab serve --db db --config config` on a free port and waits
/// until it listens.
pub fn start(db: &str, config: &Path, log: &Path) -> Node {
    let mut child = command(
        &[
            "serve",
            "--db",
            db,
            "--listen",
            "127.0.0.1:0",
            "--config",
            s(config),
        ],
        PASSPHRASE,
    )
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(log).expect("log file"))
    .spawn()
    .expect("serve starts");
    let mut line = String::new();
    let stdout = child.stdout.take().expect("stdout");
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("listening line");
    let addr = line
        .trim()
        .strip_prefix("listening on https://")
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("serve did not start: {line:?}; see {}", log.display()));
    Node { child, addr }
}

/// A client identity's TLS settings.
pub fn connector(dir: &Path, name: &str) -> tokio_rustls::TlsConnector {
    let pem_blocks = |path: PathBuf| -> Vec<CertificateDer<'static>> {
        pem::parse_many(std::fs::read(&path).expect("pem"))
            .expect("pem")
            .into_iter()
            .map(|p| CertificateDer::from(p.into_contents()))
            .collect()
    };
    let mut chain = pem_blocks(dir.join(format!("{name}.crt")));
    chain.extend(pem_blocks(dir.join(format!("{name}.chain.crt"))));
    let root = pem_blocks(dir.join("chain.pem")).remove(0);
    let key = pkilab_ca::encrypted_key::decrypt_pkcs8(
        &std::fs::read(dir.join(format!("{name}.key"))).expect("key"),
        PASSPHRASE.as_bytes(),
    )
    .expect("decrypt key");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(root).expect("root");
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("TLS versions")
        .with_root_certificates(roots)
        .with_client_auth_cert(chain, PrivateKeyDer::try_from(key.to_vec()).expect("key"))
        .expect("client auth");
    tokio_rustls::TlsConnector::from(Arc::new(tls))
}

type Sender = SendRequest<Full<Bytes>>;

async fn connect(connector: &tokio_rustls::TlsConnector, addr: SocketAddr) -> Option<Sender> {
    let tcp = tokio::net::TcpStream::connect(addr).await.ok()?;
    tcp.set_nodelay(true).ok()?;
    let name = ServerName::try_from("localhost").ok()?;
    let tls = connector.connect(name, tcp).await.ok()?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .ok()?;
    tokio::spawn(connection);
    Some(sender)
}

/// Sends one request; `None` when the connection failed.
pub async fn send(
    sender: &mut Sender,
    method: &str,
    path: &str,
    body: &str,
) -> Option<(u16, String)> {
    let request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", "localhost")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_owned())))
        .ok()?;
    sender.ready().await.ok()?;
    let response = sender.send_request(request).await.ok()?;
    let status = response.status().as_u16();
    let bytes = response.into_body().collect().await.ok()?.to_bytes();
    Some((status, String::from_utf8_lossy(&bytes).into_owned()))
}

/// A request: method, path, body.
pub type Call = (String, String, String);

/// What a driven request ended with.
#[derive(Clone, Debug)]
pub struct Answer {
    /// The item's index.
    pub index: usize,
    /// The final status (not 5xx).
    pub status: u16,
    /// Its body.
    pub body: String,
    /// Answers that were 5xx or lost connections before it.
    pub retries: usize,
    /// Which server answered.
    pub server: usize,
}

/// Attempts per item before the test gives up (each waits 50 to 200 ms
/// after a failure): about a minute.
const ATTEMPTS: usize = 600;

/// Sends `count` requests made by `call`, over `per_server` connections to
/// each server in `addrs`, and returns every answer that is not 5xx. A
/// failed connection moves to the next server; a 5xx (503 while the
/// database is away) is retried. `progress` counts answered items.
pub async fn drive(
    addrs: Arc<Vec<SocketAddr>>,
    connector: tokio_rustls::TlsConnector,
    per_server: usize,
    count: usize,
    call: Arc<dyn Fn(usize) -> Call + Send + Sync>,
    progress: Arc<AtomicUsize>,
) -> Vec<Answer> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for worker in 0..per_server * addrs.len() {
        let (addrs, connector, call) = (Arc::clone(&addrs), connector.clone(), Arc::clone(&call));
        let (next, progress) = (Arc::clone(&next), Arc::clone(&progress));
        workers.push(tokio::spawn(async move {
            let mut server = worker % addrs.len();
            let mut sender: Option<Sender> = None;
            let mut answers = Vec::new();
            loop {
                let index = next.fetch_add(1, Ordering::SeqCst);
                if index >= count {
                    return answers;
                }
                let (method, path, body) = call(index);
                let mut retries = 0;
                let answer = loop {
                    assert!(
                        retries < ATTEMPTS,
                        "{method} {path}: no answer after {ATTEMPTS} tries"
                    );
                    if sender.is_none() {
                        sender = connect(&connector, addrs[server]).await;
                    }
                    let Some(open) = sender.as_mut() else {
                        server = (server + 1) % addrs.len();
                        retries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    match send(open, &method, &path, &body).await {
                        Some((status, body)) if status < 500 => break (status, body),
                        Some(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                        None => {
                            sender = None;
                            server = (server + 1) % addrs.len();
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    }
                    retries += 1;
                };
                progress.fetch_add(1, Ordering::SeqCst);
                answers.push(Answer {
                    index,
                    status: answer.0,
                    body: answer.1,
                    retries,
                    server,
                });
            }
        }));
    }
    let mut answers = Vec::new();
    for worker in workers {
        answers.extend(worker.await.expect("worker"));
    }
    answers.sort_by_key(|a| a.index);
    answers
}

/// Waits (at most a minute) until `progress` reaches `at`.
pub async fn when(progress: &AtomicUsize, at: usize) {
    for _ in 0..6000 {
        if progress.load(Ordering::SeqCst) >= at {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the load never reached {at} answers");
}
