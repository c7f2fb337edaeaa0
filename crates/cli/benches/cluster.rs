//! Throughput of one, two and three `pkilab serve` processes on one
//! PostgreSQL database, and where the CPU went: the servers, the database
//! or the load client (all on this machine).
//!
//! `eval "$(bash .ci/postgres)"; cargo bench -p pkilab --bench cluster`
//! (`CLUSTER_CONNECTIONS`, default 32, spread over the servers;
//! `CLUSTER_ENCRYPTIONS`, default 20000; `CLUSTER_ISSUANCES`, default 4000).
#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

#[path = "../../../tests/common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;
use std::time::Instant;

use common::cluster::{self, Call, Node, drive, pkilab};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Clock ticks of CPU time: busy and total over the machine, and of the
/// processes `pids`.
fn cpu(pids: &[u32]) -> (u64, u64, u64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap();
    let fields: Vec<u64> = stat
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    let total: u64 = fields.iter().sum();
    let idle = fields[3] + fields.get(4).copied().unwrap_or(0);
    let of_pids = pids
        .iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .map(|s| {
            let after = s.rsplit_once(')').map_or("", |(_, rest)| rest);
            let f: Vec<u64> = after
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            // utime and stime: fields 14 and 15 of the whole line.
            f.get(10).copied().unwrap_or(0) + f.get(11).copied().unwrap_or(0)
        })
        .sum();
    (total - idle, total, of_pids)
}

/// The PostgreSQL server's processes (the postmaster, from the data
/// directory beside the restart script `.ci/postgres` writes, and its
/// children: one backend per pooled connection).
fn postgres_pids() -> Vec<u32> {
    let Some(pid) = std::env::var("PKILAB_TEST_POSTGRES_RESTART")
        .ok()
        .and_then(|script| {
            let dir = std::path::Path::new(&script)
                .parent()?
                .join("data/postmaster.pid");
            std::fs::read_to_string(dir).ok()
        })
        .and_then(|text| text.lines().next()?.trim().parse::<u32>().ok())
    else {
        return Vec::new();
    };
    let mut pids = vec![pid];
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let parent = std::fs::read_to_string(format!("/proc/{child}/stat"))
            .ok()
            .and_then(|s| {
                let after = s.rsplit_once(')')?.1.to_owned();
                after.split_whitespace().nth(1)?.parse::<u32>().ok()
            });
        if parent == Some(pid) {
            pids.push(child);
        }
    }
    pids
}

fn setup(dir: &std::path::Path, servers: usize) -> (String, Vec<Node>) {
    let db = cluster::fresh_database();
    pkilab(&[
        "ca",
        "init",
        "--db",
        &db,
        "--name",
        "Bench Root",
        "--intermediate",
        "Bench Issuing",
    ]);
    pkilab(&["kms", "--db", &db, "init"]);
    let admin = dir.join("admin");
    pkilab(&[
        "ca",
        "issue",
        "--db",
        &db,
        "--name",
        "admin",
        "--client",
        "--out",
        common::s(&admin),
    ]);
    let config = dir.join("server.yaml");
    std::fs::write(
        &config,
        "admins: [admin]\ntotp-exempt: [admin]\nrate-limit: { per-second: 1000000, burst: 1000000 }\nmax-connections-per-address: 256\n",
    )
    .unwrap();
    let nodes: Vec<Node> = (0..servers)
        .map(|i| cluster::start(&db, &config, &dir.join(format!("serve-{i}.log"))))
        .collect();
    let chain = std::process::Command::new("curl")
        .args(["-sSk", &format!("https://{}/v1/ca/chain", nodes[0].addr)])
        .output()
        .unwrap();
    std::fs::write(dir.join("chain.pem"), chain.stdout).unwrap();
    (db, nodes)
}

async fn measure(
    label: &str,
    nodes: &[Node],
    dir: &std::path::Path,
    count: usize,
    call: Arc<dyn Fn(usize) -> Call + Send + Sync>,
) {
    let addrs = Arc::new(nodes.iter().map(|n| n.addr).collect::<Vec<_>>());
    let per_server = (env("CLUSTER_CONNECTIONS", 32) / nodes.len()).max(1);
    let pids: Vec<u32> = nodes.iter().map(|n| n.child.id()).collect();
    let client = [std::process::id()];
    let (busy0, total0, servers0) = cpu(&pids);
    let (_, _, client0) = cpu(&client);
    let (_, _, database0) = cpu(&postgres_pids());
    let started = Instant::now();
    let answers = drive(
        addrs,
        cluster::connector(dir, "admin"),
        per_server,
        count,
        call,
        Arc::new(AtomicUsize::new(0)),
    )
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    let (busy1, total1, servers1) = cpu(&pids);
    let (_, _, client1) = cpu(&client);
    // Backends present at the end; one that exited meanwhile is missed.
    let (_, _, database1) = cpu(&postgres_pids());
    let ok = answers.iter().filter(|a| a.status < 300).count();
    let share = |ticks: u64| 100.0 * ticks as f64 / (total1 - total0).max(1) as f64;
    let (servers, client, database) = (
        servers1 - servers0,
        client1 - client0,
        database1.saturating_sub(database0),
    );
    let other = (busy1 - busy0).saturating_sub(servers + client + database);
    println!(
        "{} server(s), {label}: {ok} of {count} in {elapsed:.1} s = {:.0}/s; of the 2 cores: servers {:.0} %, PostgreSQL {:.0} %, load client {:.0} %, other processes {:.0} %, idle {:.0} %",
        nodes.len(),
        ok as f64 / elapsed,
        share(servers),
        share(database),
        share(client),
        share(other),
        100.0 - share(busy1 - busy0),
    );
}

fn main() {
    if std::env::var("PKILAB_TEST_POSTGRES_URL").is_err() {
        println!(
            "cluster bench skipped: PKILAB_TEST_POSTGRES_URL is not set (eval \"$(bash .ci/postgres)\")"
        );
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    for servers in 1..=3 {
        let dir = tempfile::tempdir().unwrap();
        let (_db, nodes) = setup(dir.path(), servers);
        runtime.block_on(async {
            let create: Arc<dyn Fn(usize) -> Call + Send + Sync> = Arc::new(|_| {
                (
                    "POST".into(),
                    "/v1/keys".into(),
                    r#"{"name":"bench","type":"aes-256-gcm"}"#.into(),
                )
            });
            drive(
                Arc::new(vec![nodes[0].addr]),
                cluster::connector(dir.path(), "admin"),
                1,
                1,
                create,
                Default::default(),
            )
            .await;
            let plaintext = "QkJC".repeat(342);
            let body = format!(r#"{{"plaintext":"{plaintext}","aad":"YmVuY2g="}}"#);
            let encrypt: Arc<dyn Fn(usize) -> Call + Send + Sync> =
                Arc::new(move |_| ("POST".into(), "/v1/keys/bench/encrypt".into(), body.clone()));
            measure(
                "encrypt 1 KiB",
                &nodes,
                dir.path(),
                env("CLUSTER_ENCRYPTIONS", 20_000),
                encrypt,
            )
            .await;
            let request = bench_csr(dir.path());
            let body = format!(
                r#"{{"csr":{},"name":"leaf","days":30}}"#,
                serde_json::to_string(&request).unwrap()
            );
            let issue: Arc<dyn Fn(usize) -> Call + Send + Sync> =
                Arc::new(move |_| ("POST".into(), "/v1/certs".into(), body.clone()));
            measure(
                "issue (CSR)",
                &nodes,
                dir.path(),
                env("CLUSTER_ISSUANCES", 4_000),
                issue,
            )
            .await;
        });
    }
}

fn bench_csr(dir: &std::path::Path) -> String {
    let key = dir.join("leaf.key");
    let csr = dir.join("leaf.csr");
    for args in [
        vec!["genpkey", "-algorithm", "ed25519", "-out", common::s(&key)],
        vec![
            "req",
            "-new",
            "-key",
            common::s(&key),
            "-subj",
            "/CN=leaf",
            "-out",
            common::s(&csr),
        ],
    ] {
        let out = std::process::Command::new("openssl")
            .args(&args)
            .output()
            .unwrap();
        assert!(out.status.success());
    }
    std::fs::read_to_string(csr).unwrap()
}
