#![allow(clippy::panic)]
//! Attacks on a running `pkilab serve` (on the loopback address) and its
//! key store, each mounted as an attacker or a careless operator would,
//! with the outcome that shows it fixed. PostgreSQL cases run against
//! `PKILAB_TEST_POSTGRES_URL` (CI starts one with `.ci/postgres`).

mod common;

use common::lab::{Lab, PASSPHRASE};
use common::probe::*;
use common::{ok, s, text};
use std::process::Command;

#[test]
fn anonymous_requests_are_counted_and_audited_fields_are_bounded_and_escaped() {
    let lab = Lab::start("rate-limit: { per-second: 10000, burst: 10000 }\n");
    let before = audited(&lab);
    // 8 KB paths without a certificate: each used to become an audit entry.
    let long = format!("/v1/{}", "a".repeat(8000));
    let statuses = anonymous_burst(&lab, &long, 200);
    assert_eq!(statuses.len(), 200);
    assert!(statuses.iter().all(|s| *s == 404), "{statuses:?}");
    assert_eq!(
        audited(&lab),
        before,
        "anonymous requests are counted, not audited one by one"
    );
    // A client puts a line break, a terminal escape and 8 KB into a key
    // name in the URL.
    let alice = lab.client("alice");
    let name = format!("evil%0Aforged%20entry%1B%5B31m{}", "b".repeat(8000));
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        &format!("/v1/keys/{name}/encrypt"),
        Some(r#"{"plaintext":""}"#),
        &[],
    );
    assert!(status == 400 || status == 404, "{status} {body}");
    let out = lab.kms(&["audit", "show"]);
    let log = ok(&out);
    assert!(
        !out.stdout.contains(&0x1b),
        "no raw escape reaches the terminal: {log}"
    );
    assert!(log.contains("evil\\nforged entry\\u{1b}[31m"), "{log}");
    assert!(
        !log.lines().any(|l| l.starts_with("forged")),
        "no forged line: {log}"
    );
    assert!(
        log.lines().all(|l| l.len() < 1500),
        "every field is bounded: {log}"
    );
    assert!(log.contains("more characters]"), "{log}");
}

#[test]
fn a_passphrase_change_is_refused_while_the_server_holds_the_store() {
    let mut lab = Lab::start("{}");
    let alice = lab.client("alice");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"orders","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201, "{body}");
    let mut change = common::command(&["kms", "--db", &lab.db(), "passphrase"], PASSPHRASE);
    change.env("PKILAB_NEW_PASSPHRASE", "a new passphrase");
    let refused = change.output().expect("pkilab");
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stderr).contains("holds this key store"),
        "{}",
        text(&refused.stderr)
    );
    // Everything the server acknowledges now stays readable.
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"later","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201, "{body}");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/later/encrypt",
        Some(r#"{"plaintext":"a2VwdA=="}"#),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let sealed = json(&body)["ciphertext"].as_str().expect("ct").to_owned();
    stop(&mut lab);
    let changed = change.output().expect("pkilab");
    assert_eq!(changed.status.code(), Some(0), "{}", text(&changed.stderr));
    let sealed_file = lab.dir.path().join("sealed.txt");
    std::fs::write(&sealed_file, sealed).expect("write");
    let opened = common::run(
        &["kms", "--db", &lab.db(), "decrypt", "-i", s(&sealed_file)],
        "a new passphrase",
    );
    assert_eq!(ok(&opened), "kept");
    // The server starts again with the CA's passphrase and the store's new
    // one, and serves what it acknowledged before.
    lab.restart(Some("a new passphrase"));
    let sealed = std::fs::read_to_string(&sealed_file).expect("read");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/later/decrypt",
        Some(&format!(r#"{{"ciphertext":"{sealed}"}}"#)),
        &[],
    );
    assert_eq!(
        (status, json(&body)["plaintext"].as_str()),
        (200, Some("a2VwdA==")),
        "{body}"
    );
}

#[test]
fn a_revoked_admin_is_refused_and_the_log_names_the_admin() {
    let lab = Lab::start("admins: [ops]\n");
    let alice = lab.client("alice");
    let ops = lab.client("ops");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"orders","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201, "{body}");
    let (_, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/orders/encrypt",
        Some(r#"{"plaintext":"cGF5"}"#),
        &[],
    );
    let sealed = json(&body)["ciphertext"].as_str().expect("ct").to_owned();
    let decrypt = format!(r#"{{"ciphertext":"{sealed}"}}"#);
    // The admin role reaches alice's key.
    let (status, body, ..) = lab.curl(
        Some(&ops),
        "POST",
        "/v1/keys/orders/decrypt",
        Some(&decrypt),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    ok(&lab.kms(&["revoke-identity", "ops"]));
    let refused = within_seconds(|| {
        let (status, body, ..) = lab.curl(
            Some(&ops),
            "POST",
            "/v1/keys/orders/decrypt",
            Some(&decrypt),
            &[],
        );
        (status != 200).then_some((status, body))
    })
    .expect("the revocation applies");
    assert_eq!(refused.0, 403, "{}", refused.1);
    assert!(
        refused.1.contains("identity 'ops' is revoked"),
        "{}",
        refused.1
    );
    let (status, body, ..) = lab.curl(
        Some(&ops),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"mine","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 403, "{body}");
    assert_eq!(lab.curl(Some(&ops), "GET", "/v1/keys", None, &[]).0, 403);
    // Every entry names ops, none the shared name.
    let log = ok(&lab.kms(&["audit", "show"]));
    let decrypts: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(" decrypt ") && l.contains("orders"))
        .collect();
    assert!(decrypts.len() >= 2, "{log}");
    assert!(
        decrypts.iter().all(|l| l.contains("  ops ")),
        "{decrypts:#?}"
    );
    assert!(
        !log.lines()
            .any(|l| l.contains("  admin ") && l.contains("http ")),
        "{log}"
    );
}

#[test]
fn on_postgresql_concurrent_clients_succeed_and_a_totp_code_works_once() {
    let Some(db) = common::lab::postgres_database() else {
        return;
    };
    let lab = Lab::start_on(
        "rate-limit: { per-second: 10000, burst: 10000 }\n",
        Some(db),
    );
    let alice = lab.client("alice");
    let statuses: Vec<(u16, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..8)
            .map(|w| {
                let (lab, alice) = (&lab, &alice);
                scope.spawn(move || {
                    (0..5)
                        .map(|i| {
                            let body = format!(r#"{{"name":"w{w}-k{i}","type":"aes-256-gcm"}}"#);
                            let (status, body, ..) =
                                lab.curl(Some(alice), "POST", "/v1/keys", Some(&body), &[]);
                            (status, body)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("worker"))
            .collect()
    });
    let failed: Vec<_> = statuses.iter().filter(|(s, _)| *s != 201).collect();
    assert!(failed.is_empty(), "{failed:?}");
    // One TOTP code, sent three times at once for three destructive
    // operations: exactly one goes through.
    for name in ["t0", "t1", "t2"] {
        let body = format!(r#"{{"name":"{name}","type":"aes-256-gcm"}}"#);
        assert_eq!(
            lab.curl(Some(&alice), "POST", "/v1/keys", Some(&body), &[])
                .0,
            201
        );
    }
    let secret = totp_secret(&lab, "alice");
    let header = totp_header(&secret);
    let answers: Vec<(u16, String)> = std::thread::scope(|scope| {
        let calls: Vec<_> = ["t0", "t1", "t2"]
            .iter()
            .map(|name| {
                let (lab, alice, header) = (&lab, &alice, &header);
                scope.spawn(move || {
                    let (status, body, ..) = lab.curl(
                        Some(alice),
                        "POST",
                        &format!("/v1/keys/{name}/revoke"),
                        Some("{}"),
                        &[header],
                    );
                    (status, body)
                })
            })
            .collect();
        calls.into_iter().map(|c| c.join().expect("call")).collect()
    });
    assert_eq!(
        answers.iter().filter(|(s, _)| *s == 200).count(),
        1,
        "{answers:?}"
    );
    assert_eq!(
        answers
            .iter()
            .filter(|(s, b)| *s == 403 && b.contains("already used"))
            .count(),
        2,
        "{answers:?}"
    );
    assert!(ok(&lab.kms(&["audit", "verify"])).contains("intact"));
}

#[test]
fn a_revoked_certificate_loses_its_open_keep_alive_connection() {
    use std::io::Write;
    let lab = Lab::start("idle-timeout: 1h\nrequest-timeout: 1h\n");
    let carol = lab.client("carol");
    let (mut child, mut stdin, lines) = s_client(&lab, Some(&carol));
    let request = b"GET /v1/keys HTTP/1.1\r\nHost: localhost\r\n\r\n";
    stdin.write_all(request).expect("write");
    assert!(wait_for_line(&lines, "HTTP/1.1 200", 20), "served before");
    ok(&common::lab::pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&lab.ca()),
        "--cert",
        &format!("{}/carol.crt", lab.dir.path().display()),
        "--reason",
        "key-compromise",
    ]));
    ok(&common::lab::pkilab(&["ca", "crl", "--dir", s(&lab.ca())]));
    let closed = exits_within(&mut child, 20);
    if !closed {
        let _ = child.kill();
    }
    assert!(closed, "the server closes carol's open connection");
}

#[test]
fn connections_are_capped_per_address_and_slow_clients_are_cut_off() {
    use std::io::{Read, Write};
    let lab = Lab::start(
        "max-connections-per-address: 4\nhandshake-timeout: 1h\nidle-timeout: 1h\nrequest-timeout: 2s\nheader-timeout: 2s\n",
    );
    // Four silent connections hold their slots (the handshake deadline is
    // an hour); the next six are closed at once.
    let held: Vec<std::net::TcpStream> = (0..4)
        .map(|_| std::net::TcpStream::connect(("127.0.0.1", lab.port)).expect("connect"))
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(300));
    for _ in 0..6 {
        let mut extra = std::net::TcpStream::connect(("127.0.0.1", lab.port)).expect("connect");
        extra
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("timeout");
        let mut buffer = [0u8; 8];
        match extra.read(&mut buffer) {
            Ok(0) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            other => panic!("a fifth connection from one address is closed: {other:?}"),
        }
    }
    drop(held);
    assert!(
        within_seconds(|| (lab.curl(None, "GET", "/v1/health", None, &[]).0 == 200).then_some(()))
            .is_some(),
        "slots come back"
    );
    // A body that trickles: the request deadline answers 408.
    let (mut child, mut stdin, lines) = s_client(&lab, None);
    stdin
        .write_all(b"POST /v1/keys HTTP/1.1\r\nHost: localhost\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"na")
        .expect("write");
    assert!(
        wait_for_line(&lines, "HTTP/1.1 408", 20),
        "408 for a stalled body"
    );
    let _ = child.kill();
    // Headers that never end: the connection is closed.
    let (mut child, mut stdin, _lines) = s_client(&lab, None);
    stdin
        .write_all(b"GET /v1/health HTTP/1.1\r\nHost: local")
        .expect("write");
    let closed = exits_within(&mut child, 20);
    if !closed {
        let _ = child.kill();
    }
    assert!(closed, "unfinished headers are cut off");
}

#[test]
fn self_issuance_needs_totp_a_quota_and_an_unrevoked_identity() {
    let lab = Lab::start("cert-quota: 2\n");
    let alice = lab.client("alice");
    let csr = serde_json::json!({ "csr": csr_for(&lab, "alice") }).to_string();
    // A stolen certificate alone mints nothing.
    let (status, body, ..) = lab.curl(Some(&alice), "POST", "/v1/certs", Some(&csr), &[]);
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (401, Some("totp-required")),
        "{body}"
    );
    let long = serde_json::json!({ "csr": csr_for(&lab, "alice"), "days": 825 }).to_string();
    assert_eq!(
        lab.curl(Some(&alice), "POST", "/v1/certs", Some(&long), &[])
            .0,
        400
    );
    let garbage = serde_json::json!({ "csr": "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n" }).to_string();
    let (status, body, ..) = lab.curl(Some(&alice), "POST", "/v1/certs", Some(&garbage), &[]);
    assert_eq!(status, 400, "{body}");
    let secret = totp_secret(&lab, "alice");
    let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
    let code = |step: i64| format!("x-pkilab-totp: {:06}", pkilab_kms::totp_code(&secret, step));
    // Alice's client certificate is one live certificate; the quota of two
    // allows one more.
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/certs",
        Some(&csr),
        &[&code(step)],
    );
    assert_eq!(status, 201, "{body}");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/certs",
        Some(&csr),
        &[&code(step + 1)],
    );
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (429, Some("quota")),
        "{body}"
    );
    // Once her identity is revoked in the KMS, nothing, with or without a
    // code.
    ok(&lab.kms(&["revoke-identity", "alice"]));
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/certs",
        Some(&csr),
        &[&code(step + 1)],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("identity 'alice' is revoked"), "{body}");
}

#[test]
fn guessing_totp_codes_locks_the_identity_out() {
    let lab = Lab::start("{}");
    let alice = lab.client("alice");
    let (status, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"old","type":"ed25519"}"#),
        &[],
    );
    assert_eq!(status, 201);
    let secret = totp_secret(&lab, "alice");
    let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
    let right = pkilab_kms::totp_code(&secret, step);
    let mut last = String::new();
    for guess in 1..=pkilab_kms::FREE_FAILURES {
        let wrong = format!("x-pkilab-totp: {:06}", (right + guess as u32) % 1_000_000);
        let (status, body, ..) = lab.curl(
            Some(&alice),
            "POST",
            "/v1/keys/old/revoke",
            Some("{}"),
            &[&wrong],
        );
        assert_eq!(status, 403, "{body}");
        last = body;
    }
    assert!(last.contains("locked out for"), "{last}");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/old/revoke",
        Some("{}"),
        &[&format!("x-pkilab-totp: {right:06}")],
    );
    assert_eq!(status, 403, "the right code waits out the lockout: {body}");
    assert!(body.contains("locked out"), "{body}");
    let log = ok(&lab.kms(&["audit", "show"]));
    assert!(
        log.contains("mfa.check") && log.contains("locked out for"),
        "{log}"
    );
}

#[test]
fn audit_verification_agrees_with_itself_while_the_server_writes() {
    verify_while_writing(None);
}

#[test]
fn on_postgresql_audit_verification_agrees_with_itself_while_the_server_writes() {
    if let Some(db) = common::lab::postgres_database() {
        verify_while_writing(Some(db));
    }
}

fn verify_while_writing(db: Option<String>) {
    let lab = Lab::start_on("rate-limit: { per-second: 100000, burst: 100000 }\n", db);
    let alice = lab.client("alice");
    let (status, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"busy","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201);
    let list = encrypt_load(&lab, &alice, "busy", 1500);
    let load = Command::new("curl")
        .arg("--config")
        .arg(&list)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("curl");
    let mut verdicts = Vec::new();
    for _ in 0..6 {
        let out = lab.kms(&["audit", "verify"]);
        verdicts.push((out.status.code(), text(&out.stdout)));
    }
    let loaded = load.wait_with_output().expect("curl");
    let statuses = text(&loaded.stdout);
    assert_eq!(
        statuses.lines().filter(|l| *l == "200").count(),
        1500,
        "{statuses}"
    );
    for (code, said) in &verdicts {
        assert_eq!(*code, Some(0), "{said}");
        assert!(said.contains("intact"), "{said}");
    }
    // Every acknowledged request is in the log: two entries each (the
    // encryption and the request), plus the creation's two.
    assert_eq!(audited(&lab), 2 * 1500 + 2);
}

#[test]
fn database_edits_without_the_passphrase_are_caught() {
    let lab = Lab::start("{}");
    let alice = lab.client("alice");
    let mallory = lab.client("mallory");
    let (status, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"payroll","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201);
    let (_, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/payroll/encrypt",
        Some(r#"{"plaintext":"c2FsYXJpZXM="}"#),
        &[],
    );
    let decrypt = format!(
        r#"{{"ciphertext":"{}"}}"#,
        json(&body)["ciphertext"].as_str().expect("ct")
    );
    // Mallory makes herself the owner, in the database.
    tamper(
        &lab,
        &["UPDATE keys SET owner = 'mallory' WHERE name = 'payroll'"],
    );
    let refused = within_seconds(|| {
        let (status, body, ..) = lab.curl(
            Some(&mallory),
            "POST",
            "/v1/keys/payroll/decrypt",
            Some(&decrypt),
            &[],
        );
        (status != 403).then_some((status, body))
    })
    .expect("an answer other than the ownership refusal");
    assert_eq!(
        (refused.0, json(&refused.1)["error"].as_str()),
        (500, Some("tampered")),
        "{}",
        refused.1
    );
    assert!(!refused.1.contains("c2FsYXJpZXM="), "{}", refused.1);
    // Truncation: every entry and the head deleted, in a store with keys.
    tamper(
        &lab,
        &[
            "DELETE FROM audit",
            "DELETE FROM meta WHERE name = 'audit_head'",
        ],
    );
    let out = lab.kms(&["audit", "verify"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("BROKEN"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_sigkill_under_load_loses_no_acknowledged_operation_or_its_audit_entry() {
    use std::io::BufRead;
    let mut lab = Lab::start("rate-limit: { per-second: 100000, burst: 100000 }\n");
    let alice = lab.client("alice");
    let (status, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"hot","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201);
    let list = encrypt_load(&lab, &alice, "hot", 20_000);
    let mut load = Command::new("curl")
        .arg("--config")
        .arg(&list)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("curl");
    let mut acknowledged = 0usize;
    for line in std::io::BufReader::new(load.stdout.take().expect("stdout")).lines() {
        let Ok(line) = line else { break };
        if line == "200" {
            acknowledged += 1;
        }
        if acknowledged == 500 {
            // In the middle of the load: no clean shutdown, no flush.
            lab.server.kill().expect("SIGKILL");
            let _ = lab.server.wait();
            break;
        }
    }
    let _ = load.kill();
    let _ = load.wait();
    assert_eq!(acknowledged, 500, "the load ran");
    let log = ok(&lab.kms(&["audit", "show"]));
    let count = |operation: &str| {
        log.lines()
            .filter(|l| l.contains(operation) && l.contains("hot") && l.trim_end().ends_with(" ok"))
            .count()
    };
    let requests = log
        .lines()
        .filter(|l| l.contains("http POST /v1/keys/hot/encrypt") && l.trim_end().ends_with("200"))
        .count();
    assert!(
        count(" encrypt ") >= acknowledged,
        "{} encryptions audited",
        count(" encrypt ")
    );
    assert!(requests >= acknowledged, "{requests} requests audited");
    assert!(ok(&lab.kms(&["audit", "verify"])).contains("intact"));
}
