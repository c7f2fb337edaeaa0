#![allow(clippy::panic)]
//! `pkilab serve` as the CA's publication point: its OCSP responder asked
//! by `openssl ocsp` over HTTPS without a client certificate (POST and
//! GET), revocations reaching the next answer, `pkilab verify --ocsp`
//! against it, and the CRLs and CA certificates at the URLs the
//! certificates name, read by openssl.

mod common;

use common::lab::{Lab, pkilab};
use common::{ok, s, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl is installed")
}

/// Issues a server+client certificate `name` from the lab's CA.
fn issue(lab: &Lab, name: &str) -> PathBuf {
    let prefix = lab.dir.path().join(name);
    ok(&pkilab(&[
        "ca",
        "issue",
        "--dir",
        s(&lab.ca()),
        "--name",
        name,
        "--client",
        "--out",
        s(&prefix),
    ]));
    PathBuf::from(format!("{}.crt", prefix.display()))
}

/// `openssl ocsp` asks the server about `cert` over HTTPS, with no client
/// certificate, and judges the answer against the lab's root; its output.
fn ask(lab: &Lab, cert: &Path) -> String {
    let out = openssl(&[
        "ocsp",
        "-issuer",
        s(&lab.ca().join("issuing.crt")),
        "-cert",
        s(cert),
        "-url",
        &format!("https://127.0.0.1:{}/ocsp", lab.port),
        "-CAfile",
        s(&lab.ca().join("root.crt")),
        "-verify_other",
        s(&lab.ca().join("issuing.crt")),
    ]);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// Asks until the answer contains `expected` (the server notices a change
/// made beside it within a second); the last answer.
fn ask_until(lab: &Lab, cert: &Path, expected: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let answer = ask(lab, cert);
        if answer.contains(expected) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn good_revoked_and_unknown(algorithm: &str) {
    let lab = Lab::start_published(algorithm, &[]);
    let alice = issue(&lab, "alice");
    let bob = issue(&lab, "bob");
    let good = ask_until(&lab, &alice, ": good");
    assert!(good.contains("Response verify OK"), "{good}");
    assert!(good.contains(": good"), "{good}");
    // Revoked beside the running server: its next answers say so.
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&lab.ca()),
        "--cert",
        s(&bob),
        "--reason",
        "key-compromise",
    ]));
    let revoked = ask_until(&lab, &bob, ": revoked");
    assert!(revoked.contains("Response verify OK"), "{revoked}");
    assert!(revoked.contains(": revoked"), "{revoked}");
    assert!(revoked.contains("Reason: keyCompromise"), "{revoked}");
    // A certificate of another CA with the same names is unknown.
    let other = tempfile::tempdir().expect("temp");
    let stranger = other.path().join("ca");
    ok(&pkilab(&[
        "ca",
        "init",
        "--dir",
        s(&stranger),
        "--name",
        "Test Root",
        "--intermediate",
        "Test Issuing",
        "--algorithm",
        algorithm,
    ]));
    let carol = other.path().join("carol");
    ok(&pkilab(&[
        "ca",
        "issue",
        "--dir",
        s(&stranger),
        "--name",
        "carol",
        "--out",
        s(&carol),
    ]));
    let unknown = ask(&lab, &PathBuf::from(format!("{}.crt", carol.display())));
    assert!(unknown.contains("Response verify OK"), "{unknown}");
    assert!(unknown.contains(": unknown"), "{unknown}");
}

#[test]
fn openssl_ocsp_over_https_gives_good_revoked_and_unknown_for_an_ed25519_ca() {
    good_revoked_and_unknown("ed25519");
}

#[test]
fn openssl_ocsp_over_https_gives_good_revoked_and_unknown_for_a_p256_ca() {
    good_revoked_and_unknown("ecdsa-p256");
}

#[test]
fn openssl_ocsp_over_https_gives_good_revoked_and_unknown_for_an_rsa_ca() {
    good_revoked_and_unknown("rsa-3072");
}

/// curl, anonymous, writing the body to `out`; (status, content type).
fn curl_to(lab: &Lab, method: &str, path: &str, body: Option<&Path>, out: &Path) -> (u16, String) {
    let mut c = Command::new("curl");
    c.args(["-sS", "-o", s(out), "-w", "%{http_code} %{content_type}"])
        .arg("--cacert")
        .arg(lab.ca().join("root.crt"))
        .args([
            "-X",
            method,
            &format!("https://127.0.0.1:{}{path}", lab.port),
        ]);
    if let Some(body) = body {
        c.args(["-H", "content-type: application/ocsp-request"])
            .arg("--data-binary")
            .arg(format!("@{}", body.display()));
    }
    let done = c.output().expect("curl");
    let line = text(&done.stdout);
    let (status, kind) = line.split_once(' ').unwrap_or((&line, ""));
    (status.parse().unwrap_or(0), kind.trim().to_owned())
}

#[test]
fn the_get_form_works_and_garbage_gets_malformed_request() {
    let lab = Lab::start_published("ed25519", &[]);
    let alice = issue(&lab, "alice");
    assert!(ask_until(&lab, &alice, ": good").contains(": good"));
    let dir = lab.dir.path();
    let request = dir.join("alice.req");
    ok(&openssl(&[
        "ocsp",
        "-issuer",
        s(&lab.ca().join("issuing.crt")),
        "-cert",
        s(&alice),
        "-no_nonce",
        "-reqout",
        s(&request),
    ]));
    use base64::Engine;
    let encoded = base64::engine::general_purpose::STANDARD
        .encode(std::fs::read(&request).expect("request"))
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let response = dir.join("alice.resp");
    let (status, kind) = curl_to(&lab, "GET", &format!("/ocsp/{encoded}"), None, &response);
    assert_eq!((status, kind.as_str()), (200, "application/ocsp-response"));
    let judged = openssl(&[
        "ocsp",
        "-respin",
        s(&response),
        "-issuer",
        s(&lab.ca().join("issuing.crt")),
        "-cert",
        s(&alice),
        "-CAfile",
        s(&lab.ca().join("root.crt")),
        "-verify_other",
        s(&lab.ca().join("issuing.crt")),
        "-no_nonce",
    ]);
    let all = format!("{}{}", text(&judged.stdout), text(&judged.stderr));
    assert!(
        all.contains("Response verify OK") && all.contains(": good"),
        "{all}"
    );
    // Garbage, by POST and by GET: malformedRequest (RFC 6960 §4.2.1), not
    // an HTTP error.
    let garbage = dir.join("garbage");
    std::fs::write(&garbage, b"this is not an OCSP request").expect("write");
    let answer = dir.join("garbage.resp");
    let (status, kind) = curl_to(&lab, "POST", "/ocsp", Some(&garbage), &answer);
    assert_eq!((status, kind.as_str()), (200, "application/ocsp-response"));
    assert_eq!(
        std::fs::read(&answer).expect("answer"),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    let (status, _) = curl_to(&lab, "GET", "/ocsp/not%20base64!", None, &answer);
    assert_eq!(status, 200);
    assert_eq!(
        std::fs::read(&answer).expect("answer"),
        [0x30, 0x03, 0x0a, 0x01, 0x01]
    );
    let parsed = openssl(&["ocsp", "-respin", s(&answer), "-resp_text", "-noverify"]);
    assert!(
        text(&parsed.stdout).contains("malformedrequest"),
        "{}{}",
        text(&parsed.stdout),
        text(&parsed.stderr)
    );
}

/// The serial of a certificate file, as `openssl x509 -serial` prints it.
fn serial_of(cert: &Path) -> String {
    let out = ok(&openssl(&["x509", "-noout", "-serial", "-in", s(cert)]));
    out.trim().trim_start_matches("serial=").to_lowercase()
}

#[test]
fn a_revocation_through_the_api_is_in_the_next_ocsp_answer() {
    let lab = Lab::start_published("ecdsa-p256", &[]);
    let admin = lab.client("admin");
    let dave = issue(&lab, "dave");
    // Issued beside the server: known to it within a second.
    let first = ask_until(&lab, &dave, ": good");
    assert!(first.contains(": good"), "{first}");
    let secret = common::probe::totp_secret(&lab, "admin");
    let path = format!("/v1/certs/{}/revoke", serial_of(&dave));
    let (cert, key) = admin;
    let out = Command::new("curl")
        .args(["-sS", "-w", "\n%{http_code}", "--cacert"])
        .arg(lab.ca().join("root.crt"))
        .arg("--cert")
        .arg(cert)
        .arg("--key")
        .arg(key)
        .args(["--pass", common::lab::PASSPHRASE])
        .args(["-H", &common::probe::totp_header(&secret)])
        .args(["-H", "content-type: application/json"])
        .args(["--data-binary", r#"{"reason":"superseded"}"#])
        .arg(format!("https://127.0.0.1:{}{path}", lab.port))
        .output()
        .expect("curl");
    let answer = text(&out.stdout);
    assert!(answer.ends_with("\n200"), "{answer}{}", text(&out.stderr));
    // No waiting: the answer to the API call left after the responder
    // reloaded the CA's records.
    let next = ask(&lab, &dave);
    assert!(next.contains(": revoked"), "{next}");
    assert!(next.contains("Reason: superseded"), "{next}");
}

fn verify_ocsp(lab: &Lab, extra: &[&str], cert: &Path) -> Output {
    let root = lab.ca().join("root.crt");
    let issuing = lab.ca().join("issuing.crt");
    let mut args = vec![
        "verify",
        "--trust",
        s(&root),
        "--untrusted",
        s(&issuing),
        "--ocsp",
        "--ocsp-ca",
        s(&root),
        "--json",
    ];
    args.extend_from_slice(extra);
    args.push(s(cert));
    pkilab(&args)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn pkilab_verify_asks_the_responder_its_certificates_name() {
    let mut lab = Lab::start_published("ed25519", &[]);
    let alice = issue(&lab, "alice");
    let bob = issue(&lab, "bob");
    // Issued beside the server: known to it within a second.
    assert!(ask_until(&lab, &alice, ": good").contains(": good"));
    // The leaf by OCSP alone.
    let valid = verify_ocsp(&lab, &["--crl-scope", "leaf"], &alice);
    let value = json(&valid);
    assert_eq!(valid.status.code(), Some(0), "{value}");
    assert_eq!(value["revocation"][0]["kind"], "ocsp", "{value}");
    assert!(value["revocation"][0]["next_update"].is_string(), "{value}");
    assert_eq!(value["ocsp"][0]["answered"], true, "{value}");
    assert_eq!(
        value["ocsp"][0]["url"],
        format!("https://127.0.0.1:{}/ocsp", lab.port)
    );
    // With the CRLs too: the intermediate (which names no responder) by
    // its CRL, the leaf by both.
    let crl = lab.ca().join("crl.pem");
    let both = verify_ocsp(&lab, &["--crl", s(&crl)], &alice);
    let value = json(&both);
    assert_eq!(both.status.code(), Some(0), "{value}");
    let kinds: Vec<(i64, &str)> = value["revocation"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|r| {
            (
                r["position"].as_i64().expect("position"),
                r["kind"].as_str().expect("kind"),
            )
        })
        .collect();
    assert!(
        kinds.contains(&(0, "ocsp")) && kinds.contains(&(0, "crl")),
        "{value}"
    );
    assert!(kinds.contains(&(1, "crl")), "{value}");
    // Revoked: refused, and the OCSP response is named as the source.
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&lab.ca()),
        "--cert",
        s(&bob),
        "--reason",
        "key-compromise",
    ]));
    let deadline = Instant::now() + Duration::from_secs(20);
    let refused = loop {
        let out = verify_ocsp(&lab, &["--crl-scope", "leaf"], &bob);
        if out.status.code() == Some(1) || Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let value = json(&refused);
    assert_eq!(value["reason"], "revoked", "{value}");
    assert!(
        value["detail"]
            .as_str()
            .expect("detail")
            .contains("by an OCSP response"),
        "{value}"
    );
    // The responder gone: revocation cannot be decided, and the verdict
    // says which responder did not answer.
    let _ = lab.server.kill();
    let _ = lab.server.wait();
    let unreachable = verify_ocsp(&lab, &["--crl-scope", "leaf"], &alice);
    let value = json(&unreachable);
    assert_eq!(unreachable.status.code(), Some(1), "{value}");
    assert_eq!(value["reason"], "revocation-unknown", "{value}");
    let detail = value["detail"].as_str().expect("detail");
    assert!(detail.contains("could not be reached"), "{value}");
    assert!(
        detail.contains(&format!("127.0.0.1:{}", lab.port)),
        "{value}"
    );
    assert_eq!(value["ocsp"][0]["answered"], false, "{value}");
}

/// The URIs of `kind` ("CRL Distribution Points", "Authority Information
/// Access") in a certificate, as openssl prints them.
fn uris(cert: &Path, method: &str) -> Vec<String> {
    let printed = ok(&openssl(&["x509", "-noout", "-text", "-in", s(cert)]));
    printed
        .lines()
        .filter(|line| line.contains(method))
        .filter_map(|line| line.split("URI:").nth(1))
        .map(|uri| uri.trim().to_owned())
        .collect()
}

/// Fetches `url` (on the lab's server) anonymously into a file; the file
/// and the content type.
fn fetch(lab: &Lab, url: &str, name: &str) -> (PathBuf, String) {
    let prefix = format!("https://127.0.0.1:{}", lab.port);
    let path = url
        .strip_prefix(&prefix)
        .unwrap_or_else(|| panic!("{url} is not the lab's"));
    let out = lab.dir.path().join(name);
    let (status, kind) = curl_to(lab, "GET", path, None, &out);
    assert_eq!(
        status,
        200,
        "{url}: {}",
        text(&std::fs::read(&out).unwrap_or_default())
    );
    (out, kind)
}

#[test]
fn crls_and_issuer_certificates_are_served_where_the_certificates_point() {
    let lab = Lab::start_published("ed25519", &["--crl-partitions", "4"]);
    let alice = issue(&lab, "alice");
    ok(&pkilab(&["ca", "crl", "--dir", s(&lab.ca())]));
    ok(&pkilab(&["ca", "crl", "--dir", s(&lab.ca()), "--delta"]));
    let points = uris(&alice, "URI:");
    let crl_url = points
        .iter()
        .find(|u| u.contains("/crl/issuing-"))
        .unwrap_or_else(|| panic!("no partition CRL in {points:?}"));
    let (crl, kind) = fetch(&lab, crl_url, "partition.crl");
    assert_eq!(kind, "application/pkix-crl");
    let printed = ok(&openssl(&[
        "crl",
        "-inform",
        "DER",
        "-noout",
        "-text",
        "-in",
        s(&crl),
    ]));
    assert!(printed.contains("Issuing Distribution Point"), "{printed}");
    assert!(printed.contains(crl_url.as_str()), "{printed}");
    // The base CRL names its delta (freshestCRL); the delta is served too.
    let delta_url = crl_url.replace(".crl", "-delta.crl");
    assert!(printed.contains(&delta_url), "{printed}");
    let (delta, _) = fetch(&lab, &delta_url, "partition-delta.crl");
    let printed = ok(&openssl(&[
        "crl",
        "-inform",
        "DER",
        "-noout",
        "-text",
        "-in",
        s(&delta),
    ]));
    assert!(printed.contains("Delta CRL Indicator"), "{printed}");
    let issuer_url = points
        .iter()
        .find(|u| u.ends_with("/ca/issuing.crt"))
        .unwrap_or_else(|| panic!("no caIssuers in {points:?}"));
    let (issuer, kind) = fetch(&lab, issuer_url, "issuing.der");
    assert_eq!(kind, "application/pkix-cert");
    let subject = ok(&openssl(&[
        "x509",
        "-inform",
        "DER",
        "-noout",
        "-subject",
        "-in",
        s(&issuer),
    ]));
    assert!(subject.contains("Test Issuing"), "{subject}");
    // The root's CRL, and nothing outside the published files.
    let (root_crl, _) = fetch(
        &lab,
        &format!("https://127.0.0.1:{}/crl/root.crl", lab.port),
        "root.crl",
    );
    let printed = ok(&openssl(&[
        "crl",
        "-inform",
        "DER",
        "-noout",
        "-issuer",
        "-in",
        s(&root_crl),
    ]));
    assert!(printed.contains("Test Root"), "{printed}");
    let out = lab.dir.path().join("nothing");
    for path in ["/crl/..%2Fstate.json", "/crl/missing.crl", "/ca/server.crt"] {
        let (status, _) = curl_to(&lab, "GET", path, None, &out);
        assert_eq!(status, 404, "{path}");
    }
}
