//! Tools for mounting attacks on a running lab: raw TLS clients, bounded
//! waits, TOTP codes, CSRs, direct database edits.
#![allow(dead_code)]

use super::lab::{Lab, PASSPHRASE};
use super::{ok, s, text};
use std::process::Command;

pub fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

/// How many entries `audit verify` finds (and that it finds the log
/// intact).
pub fn audited(lab: &Lab) -> usize {
    let out = ok(&lab.kms(&["audit", "verify"]));
    out.split("intact: ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("not intact: {out}"))
}

/// curl asking for `count` URLs of `path` on one keep-alive connection,
/// without a certificate; returns the status codes.
pub fn anonymous_burst(lab: &Lab, path: &str, count: usize) -> Vec<u16> {
    let list = lab.dir.path().join("urls.txt");
    let lines: String = (0..count)
        .map(|_| format!("url = \"{}\"\noutput = \"/dev/null\"\n", lab.url(path)))
        .collect();
    std::fs::write(&list, lines).expect("write");
    let out = Command::new("curl")
        .args(["-sS", "-w", "%{http_code}\n", "--cacert"])
        .arg(lab.ca().join("root.crt"))
        .arg("--config")
        .arg(&list)
        .output()
        .expect("curl");
    text(&out.stdout)
        .lines()
        .map(|l| l.trim().parse().unwrap_or(0))
        .collect()
}

/// Stops the server with SIGTERM (it releases its lease) and waits.
pub fn stop(lab: &mut Lab) {
    let pid = lab.server.id().to_string();
    let out = Command::new("kill")
        .args(["-TERM", &pid])
        .output()
        .expect("kill");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let status = lab.server.wait().expect("the server exits");
    assert!(status.success(), "clean exit: {status:?}");
}

/// Repeats `attempt` until it returns `Some`, for at most ten seconds.
pub fn within_seconds<T>(mut attempt: impl FnMut() -> Option<T>) -> Option<T> {
    for _ in 0..100 {
        if let Some(done) = attempt() {
            return Some(done);
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    None
}

pub fn totp_secret(lab: &Lab, identity: &str) -> Vec<u8> {
    let uri = ok(&lab.kms(&["mfa", "enroll", identity]));
    let encoded = uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret");
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

/// The current TOTP code of `secret`, as a request header.
pub fn totp_header(secret: &[u8]) -> String {
    let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
    format!("x-pkilab-totp: {:06}", pkilab_kms::totp_code(secret, step))
}

/// `openssl s_client` as `client` (or anonymous), kept open: what it
/// prints arrives on the returned channel, line by line.
pub fn s_client(
    lab: &Lab,
    client: Option<&(std::path::PathBuf, std::path::PathBuf)>,
) -> (
    std::process::Child,
    std::process::ChildStdin,
    std::sync::mpsc::Receiver<String>,
) {
    use std::io::BufRead;
    let mut c = Command::new("openssl");
    c.args([
        "s_client",
        "-quiet",
        "-ign_eof",
        "-connect",
        &format!("127.0.0.1:{}", lab.port),
        "-CAfile",
    ])
    .arg(lab.ca().join("root.crt"));
    if let Some((cert, key)) = client {
        c.arg("-cert")
            .arg(cert)
            .arg("-key")
            .arg(key)
            .args(["-pass", &format!("pass:{PASSPHRASE}")]);
    }
    let mut child = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("openssl");
    let stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if send.send(line).is_err() {
                break;
            }
        }
    });
    (child, stdin, receive)
}

/// Waits (at most `seconds`) for a line containing `what`.
pub fn wait_for_line(lines: &std::sync::mpsc::Receiver<String>, what: &str, seconds: u64) -> bool {
    let until = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while let Some(left) = until.checked_duration_since(std::time::Instant::now()) {
        match lines.recv_timeout(left) {
            Ok(line) if line.contains(what) => return true,
            Ok(_) => {}
            Err(_) => return false,
        }
    }
    false
}

/// Waits (at most `seconds`) for `child` to exit.
pub fn exits_within(child: &mut std::process::Child, seconds: u64) -> bool {
    for _ in 0..seconds * 10 {
        if let Ok(Some(_)) = child.try_wait() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    false
}

/// A fresh Ed25519 key and a CSR for `cn`, as PEM.
pub fn csr_for(lab: &Lab, cn: &str) -> String {
    let key = lab.dir.path().join(format!("{cn}-new.key"));
    let csr = lab.dir.path().join(format!("{cn}-new.csr"));
    let out = Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out", s(&key)])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = Command::new("openssl")
        .args([
            "req",
            "-new",
            "-key",
            s(&key),
            "-subj",
            &format!("/CN={cn}"),
            "-out",
            s(&csr),
        ])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::read_to_string(&csr).expect("csr")
}

/// Runs SQL statements on the lab's key store, as someone with write
/// access to the database but not the passphrase.
pub fn tamper(lab: &Lab, statements: &[&str]) {
    use sqlx::Executor;
    let url = if lab.db.starts_with("postgres") {
        lab.db.clone()
    } else {
        format!("sqlite://{}", lab.db)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        sqlx::any::install_default_drivers();
        let pool = sqlx::AnyPool::connect(&url).await.expect("database");
        for statement in statements {
            pool.execute(*statement).await.expect(statement);
        }
        pool.close().await;
    });
}

/// A curl configuration file sending `count` encrypt requests with key
/// `key` as `client`, one per group (`next` resets the options between
/// groups), each printing its status on a line.
pub fn encrypt_load(
    lab: &Lab,
    client: &(std::path::PathBuf, std::path::PathBuf),
    key: &str,
    count: usize,
) -> std::path::PathBuf {
    let list = lab.dir.path().join(format!("load-{key}.txt"));
    let entry = format!(
        "url = \"{}\"\nrequest = \"POST\"\nheader = \"content-type: application/json\"\ndata = \"{{\\\"plaintext\\\":\\\"eA==\\\"}}\"\noutput = \"/dev/null\"\nwrite-out = \"%{{http_code}}\\n\"\ncacert = \"{}\"\ncert = \"{}\"\nkey = \"{}\"\npass = \"{PASSPHRASE}\"\nsilent\n",
        lab.url(&format!("/v1/keys/{key}/encrypt")),
        s(&lab.ca().join("root.crt")),
        s(&client.0),
        s(&client.1),
    );
    std::fs::write(&list, vec![entry; count].join("next\n")).expect("write");
    list
}
