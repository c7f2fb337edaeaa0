#![allow(clippy::panic)]
//! The CA through the real `pkilab` binary, judged by OpenSSL: for each
//! algorithm, a root → issuing → leaf chain that `openssl verify
//! -x509_strict -crl_check_all` accepts, a revoked leaf it refuses as
//! revoked, CRLs `openssl crl` parses and keys `openssl pkey` opens. Then
//! bad input: each gets exit 2, one line naming the culprit, no write.

mod common;

use common::{ok, s, text};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PASSPHRASE: &str = "correct horse battery staple";

fn pkilab(args: &[&str]) -> Output {
    common::run(args, PASSPHRASE)
}

fn openssl(args: &[&str], passphrase: &str) -> Output {
    Command::new("openssl")
        .args(args)
        .env("PKILAB_PASSPHRASE", passphrase)
        .output()
        .expect("openssl is installed")
}

struct Pki {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    root: PathBuf,
}

impl Pki {
    fn new(algorithm: &str) -> Pki {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("ca");
        ok(&pkilab(&[
            "ca",
            "init",
            "--dir",
            s(&dir),
            "--name",
            "Example Root CA",
            "--intermediate",
            "Example Issuing CA",
            "--algorithm",
            algorithm,
        ]));
        Pki {
            root: tmp.path().to_path_buf(),
            _tmp: tmp,
            dir,
        }
    }

    fn issue(&self, name: &str) -> PathBuf {
        let prefix = self.root.join(name);
        let dns = format!("{name}.example");
        ok(&pkilab(&[
            "ca",
            "issue",
            "--dir",
            s(&self.dir),
            "--name",
            name,
            "--dns",
            &dns,
            "--server",
            "--client",
            "--out",
            s(&prefix),
        ]));
        prefix
    }

    fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }
}

fn with(prefix: &Path, suffix: &str) -> PathBuf {
    PathBuf::from(format!("{}{suffix}", prefix.display()))
}

fn openssl_verify(pki: &Pki, leaf: &Path) -> Output {
    openssl(
        &[
            "verify",
            "-x509_strict",
            "-crl_check_all",
            "-CAfile",
            s(&pki.path("root.crt")),
            "-untrusted",
            s(&pki.path("issuing.crt")),
            "-CRLfile",
            s(&pki.path("crl.pem")),
            s(leaf),
        ],
        PASSPHRASE,
    )
}

fn crl_blocks(pem: &str) -> Vec<String> {
    pem.split_inclusive("-----END X509 CRL-----\n")
        .filter(|b| b.contains("BEGIN X509 CRL"))
        .map(str::to_owned)
        .collect()
}

fn interop(algorithm: &str) {
    let pki = Pki::new(algorithm);
    let alice = pki.issue("alice");
    let mallory = pki.issue("mallory");
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&pki.dir),
        "--cert",
        s(&with(&mallory, ".crt")),
        "--reason",
        "key-compromise",
    ]));
    ok(&pkilab(&["ca", "crl", "--dir", s(&pki.dir)]));

    let good = openssl_verify(&pki, &with(&alice, ".crt"));
    assert!(good.status.success(), "{algorithm}: {}", text(&good.stderr));
    assert!(
        text(&good.stdout).contains(": OK"),
        "{}",
        text(&good.stdout)
    );
    let revoked = openssl_verify(&pki, &with(&mallory, ".crt"));
    assert!(
        !revoked.status.success(),
        "{algorithm}: revoked leaf accepted"
    );
    let said = text(&revoked.stdout) + &text(&revoked.stderr);
    assert!(said.contains("certificate revoked"), "{algorithm}: {said}");

    let crls = std::fs::read_to_string(pki.path("crl.pem")).expect("crl.pem");
    let blocks = crl_blocks(&crls);
    assert_eq!(blocks.len(), 2, "one CRL per CA");
    for block in blocks {
        let file = pki.root.join("one.crl");
        std::fs::write(&file, block).expect("write");
        let parsed = ok(&openssl(
            &["crl", "-text", "-noout", "-in", s(&file)],
            PASSPHRASE,
        ));
        assert!(parsed.contains("X509v3 CRL Number"), "{parsed}");
        assert!(
            parsed.contains("X509v3 Authority Key Identifier"),
            "{parsed}"
        );
        assert!(parsed.contains("Next Update"), "{parsed}");
    }

    for key in [
        pki.path("root.key"),
        pki.path("issuing.key"),
        with(&alice, ".key"),
    ] {
        let opened = openssl(
            &[
                "pkey",
                "-in",
                s(&key),
                "-passin",
                "env:PKILAB_PASSPHRASE",
                "-noout",
            ],
            PASSPHRASE,
        );
        assert!(
            opened.status.success(),
            "{}: {}",
            key.display(),
            text(&opened.stderr)
        );
        let refused = openssl(
            &[
                "pkey",
                "-in",
                s(&key),
                "-passin",
                "env:PKILAB_PASSPHRASE",
                "-noout",
            ],
            "not the passphrase",
        );
        assert!(
            !refused.status.success(),
            "{} opened with a wrong passphrase",
            key.display()
        );
    }

    // Our own validator agrees with OpenSSL.
    let verify = |leaf: &Path, dns: &str| {
        pkilab(&[
            "verify",
            "--trust",
            s(&pki.path("root.crt")),
            "--untrusted",
            s(&pki.path("issuing.crt")),
            "--crl",
            s(&pki.path("crl.pem")),
            "--dns",
            dns,
            "--json",
            s(leaf),
        ])
    };
    let good = verify(&with(&alice, ".crt"), "alice.example");
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stdout));
    let bad = verify(&with(&mallory, ".crt"), "mallory.example");
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad.stdout).contains("\"reason\": \"revoked\""),
        "{}",
        text(&bad.stdout)
    );
}

#[test]
fn openssl_agrees_with_an_ed25519_ca() {
    interop("ed25519");
}

#[test]
fn openssl_agrees_with_an_ecdsa_p256_ca() {
    interop("ecdsa-p256");
}

#[test]
fn openssl_agrees_with_an_rsa_3072_ca() {
    interop("rsa-3072");
}

/// Exit 2, one line on stderr that mentions `culprit`.
fn unusable(out: &Output, culprit: &str) {
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "stdout {} stderr {err}",
        text(&out.stdout)
    );
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(err.contains(culprit), "'{culprit}' not named in: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_one_line_exit_2_and_no_write() {
    let pki = Pki::new("ed25519");
    let alice = pki.issue("alice");
    let state = std::fs::read(pki.path("state.json")).expect("state");

    // A truncated PEM certificate.
    let pem = std::fs::read_to_string(with(&alice, ".crt")).expect("crt");
    let truncated = pki.root.join("truncated.crt");
    std::fs::write(&truncated, &pem[..pem.len() / 2]).expect("write");
    let out = pkilab(&["verify", "--trust", s(&pki.path("root.crt")), s(&truncated)]);
    unusable(&out, "truncated.crt");
    unusable(&pkilab(&["inspect", s(&truncated)]), "truncated.crt");

    // DER garbage.
    let garbage = pki.root.join("garbage.der");
    std::fs::write(&garbage, [0x30, 0x82, 0xff, 0x01, 0x02, 0x03]).expect("write");
    unusable(&pkilab(&["inspect", s(&garbage)]), "garbage.der");
    let out = pkilab(&["verify", "--trust", s(&garbage), s(&with(&alice, ".crt"))]);
    unusable(&out, "garbage.der");

    // A wrong passphrase: named, and nothing written.
    let out = Command::new(env!("CARGO_BIN_EXE_pkilab"))
        .args([
            "ca",
            "issue",
            "--dir",
            s(&pki.dir),
            "--name",
            "bob",
            "--out",
        ])
        .arg(pki.root.join("bob"))
        .env("PKILAB_PASSPHRASE", "wrong")
        .env("PKILAB_PBKDF2_ITERATIONS", "1000")
        .output()
        .expect("runs");
    unusable(&out, "wrong passphrase");
    assert!(!pki.root.join("bob.crt").exists());

    // A missing CA directory.
    let missing = pki.root.join("no-such-ca");
    unusable(&pkilab(&["ca", "list", "--dir", s(&missing)]), "no-such-ca");

    // An unknown serial, and one that is not hex.
    let unknown = "7f".repeat(20);
    let out = pkilab(&["ca", "revoke", "--dir", s(&pki.dir), "--serial", &unknown]);
    unusable(&out, &unknown);
    let out = pkilab(&["ca", "revoke", "--dir", s(&pki.dir), "--serial", "zz-top"]);
    unusable(&out, "zz-top");
    assert_eq!(std::fs::read(pki.path("state.json")).expect("state"), state);

    // Revoking twice.
    let cert = with(&alice, ".crt");
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&pki.dir),
        "--cert",
        s(&cert),
    ]));
    let after_first = std::fs::read(pki.path("state.json")).expect("state");
    let out = pkilab(&["ca", "revoke", "--dir", s(&pki.dir), "--cert", s(&cert)]);
    unusable(&out, "already revoked");
    assert_eq!(
        std::fs::read(pki.path("state.json")).expect("state"),
        after_first
    );

    // Not a limbo file.
    unusable(&pkilab(&["x509", "limbo", s(&garbage)]), "garbage.der");
}

#[test]
fn the_limbo_harness_prints_the_result_format() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("../verify/tests/x509-limbo/crl.json");
    let out = pkilab(&["x509", "limbo", s(&file)]);
    let json: serde_json::Value = serde_json::from_str(&ok(&out)).expect("json");
    assert_eq!(json["version"], 1);
    let results = json["results"].as_array().expect("results");
    assert_eq!(results.len(), 8);
    for r in results {
        assert!(r["id"].is_string());
        assert!(["SUCCESS", "FAILURE"].contains(&r["actual_result"].as_str().expect("str")));
    }
    assert!(
        text(&out.stderr).contains("0 disagreements"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_delta_crl_carries_revocations_since_the_last_complete_one() {
    let pki = Pki::new("ed25519");
    let alice = pki.issue("alice");
    let bob = pki.issue("bob");
    let dir = s(&pki.dir);
    let early = pkilab(&["ca", "crl", "--dir", dir, "--delta"]);
    assert_eq!(early.status.code(), Some(2), "{}", text(&early.stderr));
    assert!(
        text(&early.stderr).contains("no complete CRL"),
        "{}",
        text(&early.stderr)
    );
    ok(&pkilab(&["ca", "crl", "--dir", dir]));
    let bob_crt = with(&bob, ".crt");
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        dir,
        "--cert",
        s(&bob_crt),
        "--reason",
        "key-compromise",
    ]));
    ok(&pkilab(&["ca", "crl", "--dir", dir, "--delta"]));
    let delta = std::fs::read_to_string(pki.path("delta.pem")).expect("delta.pem");
    let issuing_delta = crl_blocks(&delta).pop().expect("a delta CRL per CA");
    let parsed = ok(&openssl_stdin(&["crl", "-noout", "-text"], &issuing_delta));
    assert!(parsed.contains("Delta CRL Indicator"), "{parsed}");
    assert!(parsed.contains("Key Compromise"), "{parsed}");
    let verify = |leaf: &Path| {
        pkilab(&[
            "verify",
            "--trust",
            s(&pki.path("root.crt")),
            "--untrusted",
            s(&pki.path("issuing.crt")),
            "--crl",
            s(&pki.path("crl.pem")),
            "--crl",
            s(&pki.path("delta.pem")),
            s(leaf),
        ])
    };
    let refused = verify(&bob_crt);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));
    assert!(
        text(&refused.stdout).contains("(revoked)"),
        "{}",
        text(&refused.stdout)
    );
    assert!(
        text(&refused.stdout).contains("delta CRL"),
        "{}",
        text(&refused.stdout)
    );
    ok(&verify(&with(&alice, ".crt")));
}

fn openssl_stdin(args: &[&str], input: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("openssl is installed");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    child.wait_with_output().expect("openssl runs")
}

/// `openssl ocsp` asks about `leaf`; pkilab answers; openssl judges the
/// response and prints the status.
fn ocsp_status(pki: &Pki, leaf: &Path) -> String {
    let request = pki.root.join("req.der");
    let response = pki.root.join("resp.der");
    let issuing = pki.path("issuing.crt");
    ok(&openssl(
        &[
            "ocsp",
            "-issuer",
            s(&issuing),
            "-cert",
            s(leaf),
            "-reqout",
            s(&request),
        ],
        PASSPHRASE,
    ));
    ok(&pkilab(&[
        "ca",
        "ocsp",
        "--dir",
        s(&pki.dir),
        "--request",
        s(&request),
        "--out",
        s(&response),
    ]));
    let judged = openssl(
        &[
            "ocsp",
            "-respin",
            s(&response),
            "-issuer",
            s(&issuing),
            "-cert",
            s(leaf),
            "-CAfile",
            s(&pki.path("root.crt")),
            "-verify_other",
            s(&issuing),
            "-no_nonce",
        ],
        PASSPHRASE,
    );
    let all = format!("{}{}", text(&judged.stdout), text(&judged.stderr));
    assert!(all.contains("Response verify OK"), "{all}");
    all
}

fn ocsp_interop(algorithm: &str) {
    let pki = Pki::new(algorithm);
    let alice = with(&pki.issue("alice"), ".crt");
    let bob = with(&pki.issue("bob"), ".crt");
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&pki.dir),
        "--cert",
        s(&bob),
        "--reason",
        "superseded",
    ]));
    let good = ocsp_status(&pki, &alice);
    assert!(good.contains(": good"), "{good}");
    let revoked = ocsp_status(&pki, &bob);
    assert!(revoked.contains(": revoked"), "{revoked}");
    assert!(revoked.contains("Reason: superseded"), "{revoked}");
    // A certificate of another CA with the same issuer name is unknown.
    let stranger = Pki::new(algorithm);
    let foreign = with(&stranger.issue("carol"), ".crt");
    let unknown = ocsp_status(&pki, &foreign);
    assert!(unknown.contains(": unknown"), "{unknown}");
}

#[test]
fn openssl_accepts_ocsp_responses_of_an_ed25519_ca() {
    ocsp_interop("ed25519");
}

#[test]
fn openssl_accepts_responses_of_a_delegated_ocsp_signer() {
    let pki = Pki::new("ecdsa-p256");
    ok(&pkilab(&["ca", "ocsp-signer", "--dir", s(&pki.dir)]));
    let signer = ok(&openssl(
        &[
            "x509",
            "-in",
            s(&pki.path("ocsp-signer.crt")),
            "-noout",
            "-text",
        ],
        PASSPHRASE,
    ));
    assert!(signer.contains("OCSP Signing"), "{signer}");
    assert!(signer.contains("OCSP No Check"), "{signer}");
    let alice = with(&pki.issue("alice"), ".crt");
    let good = ocsp_status(&pki, &alice);
    assert!(good.contains(": good"), "{good}");
    // The response carries the signer's certificate and is signed by it.
    let response = pki.root.join("resp.der");
    let shown = ok(&openssl(
        &["ocsp", "-respin", s(&response), "-resp_text", "-noverify"],
        PASSPHRASE,
    ));
    assert!(shown.contains("OCSP Signer"), "{shown}");
    // pkilab verify accepts the delegate's word too.
    let verified = pkilab(&[
        "verify",
        "--trust",
        s(&pki.path("root.crt")),
        "--untrusted",
        s(&pki.path("issuing.crt")),
        "--crl-scope",
        "leaf",
        "--ocsp-response",
        s(&response),
        s(&alice),
    ]);
    assert_eq!(
        verified.status.code(),
        Some(0),
        "{}",
        text(&verified.stdout)
    );
}

#[test]
fn openssl_accepts_ocsp_responses_of_a_p256_ca() {
    ocsp_interop("ecdsa-p256");
}

#[test]
fn openssl_accepts_ocsp_responses_of_an_rsa_ca() {
    ocsp_interop("rsa-3072");
}

#[test]
fn a_malformed_ocsp_request_is_answered_malformed_request() {
    let pki = Pki::new("ed25519");
    let request = pki.root.join("junk.der");
    std::fs::write(&request, b"\x30\x03\x01\x01\xff").expect("write");
    let response = pki.root.join("resp.der");
    ok(&pkilab(&[
        "ca",
        "ocsp",
        "--dir",
        s(&pki.dir),
        "--request",
        s(&request),
        "--out",
        s(&response),
    ]));
    let judged = openssl(
        &["ocsp", "-respin", s(&response), "-resp_text", "-noverify"],
        PASSPHRASE,
    );
    let all = format!("{}{}", text(&judged.stdout), text(&judged.stderr));
    assert!(
        all.contains("malformedrequest") || all.contains("malformedRequest"),
        "{all}"
    );
}

#[test]
fn verify_takes_stored_ocsp_responses_as_a_revocation_source() {
    let pki = Pki::new("ed25519");
    let alice = with(&pki.issue("alice"), ".crt");
    let bob = with(&pki.issue("bob"), ".crt");
    ok(&pkilab(&[
        "ca",
        "revoke",
        "--dir",
        s(&pki.dir),
        "--cert",
        s(&bob),
        "--reason",
        "key-compromise",
    ]));
    let respond = |leaf: &Path, ca: &Pki, name: &str| {
        let request = pki.root.join(format!("{name}.req"));
        let response = pki.root.join(format!("{name}.resp"));
        ok(&openssl(
            &[
                "ocsp",
                "-issuer",
                s(&ca.path("issuing.crt")),
                "-cert",
                s(leaf),
                "-reqout",
                s(&request),
            ],
            PASSPHRASE,
        ));
        ok(&pkilab(&[
            "ca",
            "ocsp",
            "--dir",
            s(&ca.dir),
            "--request",
            s(&request),
            "--out",
            s(&response),
        ]));
        response
    };
    let verify = |leaf: &Path, response: &Path| {
        pkilab(&[
            "verify",
            "--trust",
            s(&pki.path("root.crt")),
            "--untrusted",
            s(&pki.path("issuing.crt")),
            "--crl-scope",
            "leaf",
            "--ocsp-response",
            s(response),
            s(leaf),
        ])
    };
    let good = respond(&alice, &pki, "alice");
    ok(&verify(&alice, &good));
    let revoked = verify(&bob, &respond(&bob, &pki, "bob"));
    assert_eq!(revoked.status.code(), Some(1), "{}", text(&revoked.stdout));
    assert!(
        text(&revoked.stdout).contains("(revoked)"),
        "{}",
        text(&revoked.stdout)
    );
    assert!(
        text(&revoked.stdout).contains("OCSP"),
        "{}",
        text(&revoked.stdout)
    );
    // A response about alice does not speak for bob.
    let other = verify(&bob, &good);
    assert!(
        text(&other.stdout).contains("(revocation-unknown)"),
        "{}",
        text(&other.stdout)
    );
    // A same-named CA's responder does not speak for this one.
    let stranger = Pki::new("ed25519");
    let forged = respond(&alice, &stranger, "forged");
    let other = verify(&alice, &forged);
    assert!(
        text(&other.stdout).contains("(revocation-unknown)"),
        "{}",
        text(&other.stdout)
    );
}

#[test]
fn partitioned_crls_each_cover_their_own_leaves() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("ca");
    ok(&pkilab(&[
        "ca",
        "init",
        "--dir",
        s(&dir),
        "--name",
        "Part Root",
        "--intermediate",
        "Part Issuing",
        "--url",
        "https://ca.example",
        "--crl-partitions",
        "4",
    ]));
    let issue = |name: &str| {
        let prefix = tmp.path().join(name);
        ok(&pkilab(&[
            "ca",
            "issue",
            "--dir",
            s(&dir),
            "--name",
            name,
            "--out",
            s(&prefix),
        ]));
        with(&prefix, ".crt")
    };
    let leaves: Vec<PathBuf> = (0..8).map(|i| issue(&format!("peer{i}"))).collect();
    let text_of = |cert: &Path| {
        ok(&openssl(
            &["x509", "-in", s(cert), "-noout", "-text"],
            PASSPHRASE,
        ))
    };
    let shown = text_of(&leaves[0]);
    assert!(
        shown.contains("URI:https://ca.example/crl/issuing-"),
        "{shown}"
    );
    assert!(
        shown.contains("OCSP - URI:https://ca.example/ocsp"),
        "{shown}"
    );
    assert!(
        shown.contains("CA Issuers - URI:https://ca.example/ca/issuing.crt"),
        "{shown}"
    );
    for revoked in &leaves[..3] {
        ok(&pkilab(&[
            "ca",
            "revoke",
            "--dir",
            s(&dir),
            "--cert",
            s(revoked),
        ]));
    }
    ok(&pkilab(&["ca", "crl", "--dir", s(&dir)]));
    let pem = std::fs::read_to_string(dir.join("crl.pem")).expect("crl.pem");
    assert_eq!(
        crl_blocks(&pem).len(),
        5,
        "the root's CRL and four partitions"
    );
    for k in 0..4 {
        assert!(
            dir.join(format!("crl/issuing-{k}.crl")).is_file(),
            "partition {k} is written for serving"
        );
    }
    let verify = |leaf: &Path, crl: &Path| {
        pkilab(&[
            "verify",
            "--trust",
            s(&dir.join("root.crt")),
            "--untrusted",
            s(&dir.join("issuing.crt")),
            "--crl",
            s(crl),
            s(leaf),
        ])
    };
    for (i, leaf) in leaves.iter().enumerate() {
        let out = verify(leaf, &dir.join("crl.pem"));
        let expected = if i < 3 { 1 } else { 0 };
        assert_eq!(
            out.status.code(),
            Some(expected),
            "peer{i}: {}",
            text(&out.stdout)
        );
    }
    // A partition's CRL alone does not speak for leaves of another.
    let shown = text_of(&leaves[3]);
    let own = (0..4)
        .find(|k| shown.contains(&format!("issuing-{k}.crl")))
        .expect("a partition");
    let other = dir.join(format!("crl/issuing-{}.crl", (own + 1) % 4));
    let root_crl = dir.join("crl/root.crl");
    let out = pkilab(&[
        "verify",
        "--trust",
        s(&dir.join("root.crt")),
        "--untrusted",
        s(&dir.join("issuing.crt")),
        "--crl",
        s(&other),
        "--crl",
        s(&root_crl),
        s(&leaves[3]),
    ]);
    assert!(
        text(&out.stdout).contains("(revocation-unknown)"),
        "{}",
        text(&out.stdout)
    );
}
