#![allow(clippy::panic)]
//! `pkilab serve` with real clients: curl and openssl s_client, client
//! certificates from our own CA, revocation taking effect without a
//! restart, rate limits, TOTP, and bad input.

mod common;

use common::lab::{Lab, PASSPHRASE, pkilab};
use common::{ok, s, text};
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {body}"))
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn curl_creates_a_key_encrypts_and_decrypts_and_others_cannot() {
    let lab = Lab::start("{}");
    let alice = lab.client("alice");
    let bob = lab.client("bob");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name":"orders","type":"aes-256-gcm"}"#),
        &[],
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["owner"], "alice");
    let request = format!(
        r#"{{"plaintext":"{}","aad":"invoice-7"}}"#,
        b64(b"pay bob 10")
    );
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/orders/encrypt",
        Some(&request),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    let ciphertext = json(&body)["ciphertext"]
        .as_str()
        .expect("ciphertext")
        .to_owned();
    let request = format!(r#"{{"ciphertext":"{ciphertext}","aad":"invoice-7"}}"#);
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/orders/decrypt",
        Some(&request),
        &[],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["plaintext"], b64(b"pay bob 10"));
    // Bob holds a valid certificate but no grant: 403, with the reason.
    let (status, body, ..) = lab.curl(
        Some(&bob),
        "POST",
        "/v1/keys/orders/decrypt",
        Some(&request),
        &[],
    );
    assert_eq!(status, 403, "{body}");
    assert!(
        json(&body)["detail"]
            .as_str()
            .expect("detail")
            .contains("'bob' may not decrypt"),
        "{body}"
    );
    let (status, body, ..) = lab.curl(Some(&bob), "GET", "/v1/keys", None, &[]);
    assert_eq!(
        (status, json(&body)),
        (200, serde_json::json!([])),
        "bob sees none of alice's keys"
    );
    // The document is generated from the router: every path it lists is
    // served (none falls through to "no such route").
    let (status, body, ..) = lab.curl(Some(&alice), "GET", "/v1/openapi.json", None, &[]);
    assert_eq!(status, 200);
    let document = json(&body);
    let paths = document["paths"].as_object().expect("paths");
    // 18 API routes (export included), 2 of the transparency log and 4
    // publication routes (OCSP, CRLs, CA certificates).
    assert_eq!(paths.len(), 24, "{paths:?}");
    for (path, operations) in paths {
        let concrete = path
            .replace("{name}", "orders")
            .replace("{serial}", "01")
            .replace("{*path}", "0/000")
            .replace("{request}", "MAM%3D");
        for method in operations.as_object().expect("operations").keys() {
            let method = method.to_uppercase();
            let (_, answer, ..) = lab.curl(Some(&alice), &method, &concrete, Some("{}"), &[]);
            assert!(
                !answer.contains("no such route"),
                "{method} {path}: {answer}"
            );
        }
    }
    // Every request is in the audit log, with who, what and the outcome;
    // the plaintext is not.
    std::thread::sleep(Duration::from_millis(600));
    let log = ok(&pkilab(&["kms", "--db", &lab.db(), "audit", "show"]));
    let has = |actor: &str, what: &str, outcome: &str| {
        log.lines()
            .any(|l| l.contains(actor) && l.contains(what) && l.trim_end().ends_with(outcome))
    };
    assert!(
        has("alice", "http POST /v1/keys/orders/encrypt", "200"),
        "{log}"
    );
    assert!(
        has("bob", "http POST /v1/keys/orders/decrypt", "403"),
        "{log}"
    );
    assert!(!log.contains(&b64(b"pay bob 10")), "{log}");
    assert!(ok(&pkilab(&["kms", "--db", &lab.db(), "audit", "verify"])).contains("intact"));
}

#[test]
fn without_a_certificate_only_public_routes_answer() {
    let lab = Lab::start("{}");
    let (status, body, ..) = lab.curl(None, "GET", "/v1/health", None, &[]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["status"], "ok");
    assert_eq!(json(&body)["database"], "reachable");
    let (status, body, ..) = lab.curl(None, "GET", "/v1/ca/chain", None, &[]);
    assert_eq!(status, 200);
    assert_eq!(body.matches("BEGIN CERTIFICATE").count(), 2);
    let (status, body, ..) = lab.curl(None, "GET", "/v1/ca/crl", None, &[]);
    assert_eq!(status, 200);
    assert!(body.contains("BEGIN X509 CRL"));
    let (status, body, ..) = lab.curl(None, "GET", "/v1/keys", None, &[]);
    assert_eq!(status, 401, "{body}");
    assert_eq!(json(&body)["error"], "unauthenticated");
}

fn refused_in_handshake(lab: &Lab, client: &(PathBuf, PathBuf), alert: &str) {
    let (status, _, code, stderr) = lab.curl(Some(client), "GET", "/v1/keys", None, &[]);
    assert_eq!(status, 0, "no HTTP answer");
    assert_ne!(code, 0);
    assert!(stderr.contains(alert), "curl: {stderr}");
    let mut s_client = Command::new("openssl")
        .args([
            "s_client",
            "-ign_eof",
            "-connect",
            &format!("127.0.0.1:{}", lab.port),
            "-CAfile",
        ])
        .arg(lab.ca().join("root.crt"))
        .arg("-cert")
        .arg(&client.0)
        .arg("-key")
        .arg(&client.1)
        .args(["-pass", &format!("pass:{PASSPHRASE}")])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    {
        use std::io::Write;
        let mut stdin = s_client.stdin.take().expect("stdin");
        let _ = stdin.write_all(b"GET /v1/keys HTTP/1.1\r\nHost: localhost\r\n\r\n");
    }
    let out = s_client.wait_with_output().expect("s_client");
    let said = text(&out.stdout) + &text(&out.stderr);
    assert!(said.contains(alert), "openssl s_client: {said}");
}

#[test]
fn revoked_expired_and_foreign_certificates_are_refused_in_the_handshake() {
    let lab = Lab::start("{}");
    let carol = lab.client("carol");
    assert_eq!(lab.curl(Some(&carol), "GET", "/v1/keys", None, &[]).0, 200);
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&lab.ca()),
        "--cert",
        &format!("{}/carol.crt", lab.dir.path().display()),
        "--reason",
        "key-compromise",
    ]));
    ok(&pkilab(&["ca", "crl", "--dir", s(&lab.ca())]));
    refused_in_handshake(&lab, &carol, "certificate revoked");

    // A certificate from another CA.
    let other = lab.dir.path().join("other");
    ok(&pkilab(&[
        "ca",
        "init",
        "--dir",
        s(&other),
        "--name",
        "Other Root",
    ]));
    let prefix = lab.dir.path().join("stranger");
    ok(&pkilab(&[
        "ca",
        "issue",
        "--dir",
        s(&other),
        "--name",
        "stranger",
        "--client",
        "--out",
        s(&prefix),
    ]));
    let stranger = (
        PathBuf::from(format!("{}.crt", prefix.display())),
        PathBuf::from(format!("{}.key", prefix.display())),
    );
    refused_in_handshake(&lab, &stranger, "unknown ca");

    // An expired one: valid for one second from the issuing CA's start.
    let expired = expired_client(&lab);
    refused_in_handshake(&lab, &expired, "certificate expired");
}

fn expired_client(lab: &Lab) -> (PathBuf, PathBuf) {
    use pkilab_ca::{CaKey, CertificateAuthority, LeafRequest, Serial, SigningAlgorithm};
    let issuing_pem = std::fs::read(lab.ca().join("issuing.crt")).expect("issuing");
    let issuing_der = pem::parse(&issuing_pem).expect("pem").into_contents();
    let key = CaKey::from_encrypted(
        &std::fs::read(lab.ca().join("issuing.key")).expect("key"),
        PASSPHRASE.as_bytes(),
    )
    .expect("key opens");
    let issuing = CertificateAuthority::from_parts(issuing_der, key).expect("issuing CA");
    let (_, parsed) =
        x509_parser::parse_x509_certificate(issuing.certificate_der()).expect("parse");
    let start = parsed.validity().not_before.to_datetime();
    let leaf_key = CaKey::generate(SigningAlgorithm::Ed25519).expect("key");
    let mut request = LeafRequest::new("dave", start, start + time::Duration::seconds(1));
    request.client = true;
    std::thread::sleep(Duration::from_secs(2));
    let issued = issuing
        .issue(&request, &leaf_key.public_key_spki_der(), Serial::random())
        .expect("issue");
    let cert = lab.dir.path().join("dave.crt");
    let key = lab.dir.path().join("dave.key");
    std::fs::write(
        &cert,
        pem::encode(&pem::Pem::new("CERTIFICATE", issued.der)),
    )
    .expect("write");
    std::fs::write(
        &key,
        leaf_key
            .to_encrypted_pem(PASSPHRASE.as_bytes(), 1000)
            .expect("pem"),
    )
    .expect("write");
    (cert, key)
}

#[test]
fn a_flood_is_limited_per_client() {
    let lab = Lab::start("rate-limit: { per-second: 1, burst: 5 }\n");
    let mallory = lab.client("mallory");
    let alice = lab.client("alice");
    let mut statuses = Vec::new();
    let mut retry_after = false;
    for _ in 0..10 {
        let out = Command::new("curl")
            .args(["-sS", "-D", "-", "-o", "/dev/null", "--cacert"])
            .arg(lab.ca().join("root.crt"))
            .arg("--cert")
            .arg(&mallory.0)
            .arg("--key")
            .arg(&mallory.1)
            .args(["--pass", PASSPHRASE])
            .arg(lab.url("/v1/keys"))
            .output()
            .expect("curl");
        let head = text(&out.stdout);
        let status: u16 = head
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        retry_after |= status == 429 && head.to_ascii_lowercase().contains("retry-after:");
        statuses.push(status);
    }
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 4,
        "{statuses:?}"
    );
    assert!(retry_after, "429 carries Retry-After");
    assert_eq!(
        lab.curl(Some(&alice), "GET", "/v1/keys", None, &[]).0,
        200,
        "alice is still served"
    );
}

fn totp_for(lab: &Lab, identity: &str) -> Vec<u8> {
    let uri = ok(&pkilab(&[
        "kms",
        "--db",
        &lab.db(),
        "mfa",
        "enroll",
        identity,
    ]));
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

#[test]
fn destructive_operations_need_a_fresh_totp_code() {
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
    let (status, body, ..) = lab.curl(Some(&alice), "POST", "/v1/keys/old/revoke", Some("{}"), &[]);
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (401, Some("totp-required")),
        "{body}"
    );
    let secret = totp_for(&lab, "alice");
    let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
    let code = pkilab_kms::totp_code(&secret, step);
    let wrong = format!("x-pkilab-totp: {:06}", (code + 1) % 1_000_000);
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/old/revoke",
        Some("{}"),
        &[&wrong],
    );
    assert_eq!(status, 403, "{body}");
    let right = format!("x-pkilab-totp: {code:06}");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/old/revoke",
        Some("{}"),
        &[&right],
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(json(&body)["state"], "deactivated");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys/old/destroy",
        Some("{}"),
        &[&right],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("already used"), "{body}");
}

#[test]
fn bad_input_gets_precise_answers_and_idle_clients_are_dropped() {
    let lab = Lab::start("body-limit: 1024\nidle-timeout: 1s\nhandshake-timeout: 2s\n");
    let alice = lab.client("alice");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name": "k", "type": }"#),
        &[],
    );
    assert_eq!(status, 400, "{body}");
    assert!(
        json(&body)["detail"]
            .as_str()
            .expect("detail")
            .contains("JSON"),
        "{body}"
    );
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/keys",
        Some(r#"{"name": "k", "type": "des"}"#),
        &[],
    );
    assert_eq!(status, 400, "{body}");
    let big = format!(r#"{{"plaintext":"{}"}}"#, "A".repeat(4096));
    let (status, body, ..) = lab.curl(Some(&alice), "POST", "/v1/keys/k/encrypt", Some(&big), &[]);
    assert_eq!(status, 413, "{body}");
    let (status, body, ..) = lab.curl(Some(&alice), "GET", "/v1/nothing-here", None, &[]);
    assert_eq!(
        (status, json(&body)["error"].as_str()),
        (404, Some("not-found"))
    );
    // A client that connects and says nothing is cut off.
    let mut idle = std::net::TcpStream::connect(("127.0.0.1", lab.port)).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(15)))
        .expect("timeout");
    let mut buffer = [0u8; 16];
    match idle.read(&mut buffer) {
        // The server closed the connection (or reset it).
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("the server should have closed the idle connection: {other:?}"),
    }
    // The server is still there.
    assert_eq!(lab.curl(None, "GET", "/v1/health", None, &[]).0, 200);
}

#[test]
fn a_csr_becomes_a_certificate_and_its_revocation_applies_at_once() {
    let lab = Lab::start("{}");
    let alice = lab.client("alice");
    let key = lab.dir.path().join("alice2.key");
    let csr = lab.dir.path().join("alice2.csr");
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
            "/CN=alice",
            "-out",
            s(&csr),
        ])
        .output()
        .expect("openssl");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let pem = std::fs::read_to_string(&csr).expect("csr");
    let request = serde_json::json!({ "csr": pem }).to_string();
    // Issuance needs a TOTP code: this one, then the next step's.
    let secret = totp_for(&lab, "alice");
    let step = time::OffsetDateTime::now_utc().unix_timestamp() / pkilab_kms::TOTP_STEP;
    let totp = |step: i64| format!("x-pkilab-totp: {:06}", pkilab_kms::totp_code(&secret, step));
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        "/v1/certs",
        Some(&request),
        &[&totp(step)],
    );
    assert_eq!(status, 201, "{body}");
    let issued = json(&body);
    let cert = lab.dir.path().join("alice2.full.crt");
    let chain = format!(
        "{}{}",
        issued["certificate"].as_str().expect("certificate"),
        issued["chain"].as_str().expect("chain")
    );
    std::fs::write(&cert, chain).expect("write");
    let alice2 = (cert, key);
    assert_eq!(lab.curl(Some(&alice2), "GET", "/v1/keys", None, &[]).0, 200);
    // Someone else's name is refused.
    let other = serde_json::json!({ "csr": pem, "name": "bob" }).to_string();
    assert_eq!(
        lab.curl(Some(&alice), "POST", "/v1/certs", Some(&other), &[])
            .0,
        403
    );
    // Alice revokes her new certificate (with a TOTP code); the server
    // publishes the CRL and refuses it from the next connection.
    let totp = totp(step + 1);
    let serial = issued["serial"].as_str().expect("serial");
    let path = format!("/v1/certs/{serial}/revoke");
    let (status, body, ..) = lab.curl(
        Some(&alice),
        "POST",
        &path,
        Some(r#"{"reason":"superseded"}"#),
        &[&totp],
    );
    assert_eq!(status, 200, "{body}");
    refused_in_handshake(&lab, &alice2, "certificate revoked");
    assert_eq!(
        lab.curl(Some(&alice), "GET", "/v1/keys", None, &[]).0,
        200,
        "her first certificate still works"
    );
}

#[test]
fn a_certificate_with_two_common_names_names_no_one() {
    let lab = Lab::start("{}");
    let dir = lab.dir.path();
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{}", text(&out.stderr));
    };
    run(&["genpkey", "-algorithm", "ed25519", "-out", "two.key"]);
    run(&[
        "req",
        "-new",
        "-key",
        "two.key",
        "-subj",
        "/CN=alice/CN=admin",
        "-out",
        "two.csr",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    let issuing = lab.ca().join("issuing");
    run(&[
        "x509",
        "-req",
        "-in",
        "two.csr",
        "-CA",
        &format!("{}.crt", issuing.display()),
        "-CAkey",
        &format!("{}.key", issuing.display()),
        "-passin",
        &format!("pass:{PASSPHRASE}"),
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
        "-set_serial",
        "0x5a17e0c3b2a1f00d",
        "-out",
        "two.crt",
    ]);
    let chain = std::fs::read_to_string(dir.join("two.crt")).expect("crt")
        + &std::fs::read_to_string(format!("{}.crt", issuing.display())).expect("issuing");
    std::fs::write(dir.join("two.full.crt"), chain).expect("write");
    let two = (dir.join("two.full.crt"), dir.join("two.key"));
    // The chain is valid, but which of the two names would it prove?
    let (status, body, ..) = lab.curl(Some(&two), "GET", "/v1/keys", None, &[]);
    assert_eq!(status, 401, "{body}");
    assert_eq!(json(&body)["error"], "unauthenticated");
}

#[test]
fn curl_uses_an_xwing_key_to_encrypt_wrap_data_keys_and_export_its_public_key() {
    let lab = Lab::start("{}");
    let alice = lab.client("alice");
    let call = |path: &str, body: &str| {
        let (status, body, ..) = lab.curl(Some(&alice), "POST", path, Some(body), &[]);
        assert_eq!(status / 100, 2, "{path}: {body}");
        json(&body)
    };
    let created = call("/v1/keys", r#"{"name":"vault","type":"xwing"}"#);
    assert_eq!(created["type"], "xwing", "{created}");
    let request = format!(r#"{{"plaintext":"{}","aad":"rec-1"}}"#, b64(b"harvest me"));
    let sealed = call("/v1/keys/vault/encrypt", &request);
    let ciphertext = sealed["ciphertext"].as_str().expect("ciphertext");
    let opened = call(
        "/v1/keys/vault/decrypt",
        &format!(r#"{{"ciphertext":"{ciphertext}","aad":"rec-1"}}"#),
    );
    assert_eq!(opened["plaintext"], b64(b"harvest me"));
    let datakey = call("/v1/keys/vault/datakey", "{}");
    let wrapped = datakey["wrapped"].as_str().expect("wrapped");
    let unwrapped = call(
        "/v1/keys/vault/decrypt",
        &format!(r#"{{"ciphertext":"{wrapped}"}}"#),
    );
    assert_eq!(unwrapped["plaintext"], datakey["plaintext"]);
    let exported = call("/v1/keys/vault/export", "{}");
    let pem = exported["public_key"].as_str().expect("PEM");
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"), "{pem}");
}
