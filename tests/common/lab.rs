//! A running `pkilab serve` on the loopback address with its CA and key
//! store in a temporary directory, and curl as its client.

use super::{ok, s, text};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};

pub const PASSPHRASE: &str = "server test passphrase";

/// `pkilab` with the lab's passphrase.
pub fn pkilab(args: &[&str]) -> Output {
    super::run(args, PASSPHRASE)
}

pub struct Lab {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub server: Child,
    /// The key store: the SQLite file, or a PostgreSQL URL.
    pub db: String,
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

impl Lab {
    /// A CA, and `pkilab serve` with `config` over a SQLite key store.
    pub fn start(config: &str) -> Lab {
        Lab::start_on(config, None)
    }

    /// The same over the key store `db` (a PostgreSQL URL, initialised
    /// here), when given.
    pub fn start_on(config: &str, db: Option<String>) -> Lab {
        let dir = tempfile::tempdir().expect("temp");
        let ca = dir.path().join("ca");
        ok(&pkilab(&[
            "ca",
            "init",
            "--dir",
            s(&ca),
            "--name",
            "Test Root",
            "--intermediate",
            "Test Issuing",
        ]));
        let config_path = dir.path().join("server.yaml");
        std::fs::write(&config_path, config).expect("config");
        let db = match db {
            Some(url) => {
                ok(&pkilab(&["kms", "--db", &url, "init"]));
                url
            }
            None => s(&dir.path().join("kms.db")).to_owned(),
        };
        let (server, port) = serve(&ca, &db, &config_path, None, 0);
        Lab {
            dir,
            port,
            server,
            db,
        }
    }

    /// A CA of `algorithm` that publishes at `https://127.0.0.1:PORT`
    /// (`ca init --url`, with `init_args` added), its first CRLs
    /// published, and `pkilab serve` on that port with a certificate for
    /// 127.0.0.1, so clients reach what the CA's certificates name.
    pub fn start_published(algorithm: &str, init_args: &[&str]) -> Lab {
        let dir = tempfile::tempdir().expect("temp");
        let ca = dir.path().join("ca");
        // A free port, named in the certificates before the server binds it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let url = format!("https://127.0.0.1:{port}");
        let mut init = vec![
            "ca",
            "init",
            "--dir",
            s(&ca),
            "--name",
            "Test Root",
            "--intermediate",
            "Test Issuing",
            "--algorithm",
            algorithm,
            "--url",
            &url,
        ];
        init.extend_from_slice(init_args);
        ok(&pkilab(&init));
        ok(&pkilab(&["ca", "crl", "--dir", s(&ca)]));
        let config_path = dir.path().join("server.yaml");
        std::fs::write(&config_path, "server-name: 127.0.0.1\n").expect("config");
        let db = s(&dir.path().join("kms.db")).to_owned();
        let (server, port) = serve(&ca, &db, &config_path, None, port);
        Lab {
            dir,
            port,
            server,
            db,
        }
    }

    /// Stops the server (if it still runs) and starts it again on the same
    /// port, with `kms_passphrase` for the key store when given.
    pub fn restart(&mut self, kms_passphrase: Option<&str>) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let config = self.dir.path().join("server.yaml");
        let (server, _) = serve(&self.ca(), &self.db, &config, kms_passphrase, self.port);
        self.server = server;
    }

    /// `pkilab kms --db DB ARGS` with the lab's passphrase.
    pub fn kms(&self, args: &[&str]) -> Output {
        let mut full = vec!["kms", "--db", self.db.as_str()];
        full.extend_from_slice(args);
        pkilab(&full)
    }

    pub fn ca(&self) -> PathBuf {
        self.dir.path().join("ca")
    }

    pub fn db(&self) -> String {
        self.db.clone()
    }

    /// A client certificate (leaf + chain in one file) and its key.
    pub fn client(&self, name: &str) -> (PathBuf, PathBuf) {
        let prefix = self.dir.path().join(name);
        ok(&pkilab(&[
            "ca",
            "issue",
            "--dir",
            s(&self.ca()),
            "--name",
            name,
            "--client",
            "--out",
            s(&prefix),
        ]));
        let full = self.dir.path().join(format!("{name}.full.crt"));
        let mut pem = std::fs::read_to_string(format!("{}.crt", prefix.display())).expect("crt");
        pem.push_str(
            &std::fs::read_to_string(format!("{}.chain.crt", prefix.display())).expect("chain"),
        );
        std::fs::write(&full, pem).expect("write");
        (full, PathBuf::from(format!("{}.key", prefix.display())))
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    /// curl as `client` (or anonymously); returns (status, body, curl's
    /// exit code and stderr).
    pub fn curl(
        &self,
        client: Option<&(PathBuf, PathBuf)>,
        method: &str,
        path: &str,
        body: Option<&str>,
        headers: &[&str],
    ) -> (u16, String, i32, String) {
        let mut c = Command::new("curl");
        c.args(["-sS", "-o", "-", "-w", "\n%{http_code}", "--cacert"])
            .arg(self.ca().join("root.crt"))
            .args(["-X", method, &self.url(path)]);
        if let Some((cert, key)) = client {
            c.arg("--cert")
                .arg(cert)
                .arg("--key")
                .arg(key)
                .args(["--pass", PASSPHRASE]);
        }
        if let Some(body) = body {
            c.args([
                "-H",
                "content-type: application/json",
                "--data-binary",
                body,
            ]);
        }
        for h in headers {
            c.args(["-H", h]);
        }
        let out = c.output().expect("curl");
        let stdout = text(&out.stdout);
        let (body, status) = stdout.rsplit_once('\n').unwrap_or(("", "0"));
        (
            status.trim().parse().unwrap_or(0),
            body.to_owned(),
            out.status.code().unwrap_or(-1),
            text(&out.stderr),
        )
    }
}

/// Starts `pkilab serve` and waits for the line naming its address.
fn serve(
    ca: &std::path::Path,
    db: &str,
    config: &std::path::Path,
    kms_passphrase: Option<&str>,
    port: u16,
) -> (Child, u16) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pkilab"));
    if let Some(kms_passphrase) = kms_passphrase {
        command.env("PKILAB_KMS_PASSPHRASE", kms_passphrase);
    }
    let mut server = command
        .args(["serve", "--ca-dir", s(ca), "--db", db])
        .args([
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--config",
            s(config),
        ])
        .env("PKILAB_PASSPHRASE", PASSPHRASE)
        .env("PKILAB_PBKDF2_ITERATIONS", "1000")
        .env("PKILAB_ARGON2_MEMORY_KIB", "1024")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a line");
    let port = line
        .trim()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("no address in '{line}'"));
    (server, port)
}

/// A fresh, empty PostgreSQL database for a key store, when
/// `PKILAB_TEST_POSTGRES_URL` names a server; with `PKILAB_REQUIRE_POSTGRES`
/// set (as CI sets it) a missing server fails the test.
pub fn postgres_database() -> Option<String> {
    use sqlx::Executor;
    let Ok(base) = std::env::var("PKILAB_TEST_POSTGRES_URL") else {
        assert!(
            std::env::var("PKILAB_REQUIRE_POSTGRES").is_err(),
            "PKILAB_REQUIRE_POSTGRES is set but PKILAB_TEST_POSTGRES_URL is not: run `eval \"$(bash .ci/postgres)\"`"
        );
        eprintln!("PKILAB_TEST_POSTGRES_URL is unset: the PostgreSQL case is skipped");
        return None;
    };
    let name = format!(
        "pkilab_e2e_{}_{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let admin = sqlx::AnyPool::connect(&base)
            .await
            .expect("PostgreSQL reachable");
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        admin.close().await;
    });
    let (server, _) = base.rsplit_once('/').expect("URL with a database");
    Some(format!("{server}/{name}"))
}
