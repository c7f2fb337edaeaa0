#![allow(clippy::panic)]
//! The CA through the real `pkilab` binary, judged by OpenSSL: for each
//! algorithm, a root → issuing → leaf chain that `openssl verify
//! -x509_strict -crl_check_all` accepts, a revoked leaf it refuses as
//! revoked, CRLs `openssl crl` parses and keys `openssl pkey` opens. Then
//! bad input: each gets exit 2, one line naming the culprit, no write.

mod common;

use common::ca::{PASSPHRASE, Pki, crl_blocks, openssl, pkilab, with};
use common::{ok, s, text};
use std::path::Path;
use std::process::{Command, Output};

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
    let crl = pki.path("crl.pem");
    let verify =
        |leaf: &Path, dns: &str| pki.verify(&["--crl", s(&crl), "--dns", dns, "--json"], leaf);
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

/// `openssl verify` of `leaf` against the chain and CRLs in `dir`.
fn verify_in(dir: &Path, leaf: &Path) -> Output {
    let chain = std::fs::read_to_string(dir.join("chain.pem")).expect("chain");
    let root_end = chain.find("-----END CERTIFICATE-----").expect("root") + 26;
    std::fs::write(dir.join("root.pem"), &chain[..root_end]).expect("root");
    openssl(
        &[
            "verify",
            "-x509_strict",
            "-crl_check_all",
            "-CAfile",
            s(&dir.join("root.pem")),
            "-untrusted",
            s(&dir.join("chain.pem")),
            "-CRLfile",
            s(&dir.join("crl.pem")),
            s(leaf),
        ],
        PASSPHRASE,
    )
}

#[test]
fn a_ca_in_a_database_and_one_migrated_from_a_directory_satisfy_openssl() {
    let dir = tempfile::tempdir().expect("temp");
    let d = |name: &str| dir.path().join(name);
    let db = d("ca.db");
    let run = |args: &[&str]| ok(&pkilab(args));
    run(&[
        "ca",
        "init",
        "--db",
        s(&db),
        "--name",
        "Db Root",
        "--intermediate",
        "Db Issuing",
    ]);
    run(&["ca", "chain", "--db", s(&db), "--out", s(&d("chain.pem"))]);
    run(&[
        "ca",
        "issue",
        "--db",
        s(&db),
        "--name",
        "alice",
        "--out",
        s(&d("alice")),
    ]);
    run(&[
        "ca",
        "issue",
        "--db",
        s(&db),
        "--name",
        "mallory",
        "--out",
        s(&d("mallory")),
    ]);
    run(&[
        "ca",
        "revoke",
        "--db",
        s(&db),
        "--cert",
        s(&d("mallory.crt")),
    ]);
    run(&["ca", "crl", "--db", s(&db), "--out", s(&d("crl.pem"))]);
    let good = verify_in(dir.path(), &d("alice.crt"));
    assert!(good.status.success(), "{}", text(&good.stdout));
    let revoked = verify_in(dir.path(), &d("mallory.crt"));
    let said = format!("{}{}", text(&revoked.stdout), text(&revoked.stderr));
    assert!(
        !revoked.status.success() && said.contains("certificate revoked"),
        "{said}"
    );
    // A directory CA moves across with its revocations and CRL numbers.
    let old = d("old");
    run(&[
        "ca",
        "init",
        "--dir",
        s(&old),
        "--name",
        "Dir Root",
        "--intermediate",
        "Dir Issuing",
    ]);
    run(&[
        "ca",
        "issue",
        "--dir",
        s(&old),
        "--name",
        "bob",
        "--out",
        s(&d("bob")),
    ]);
    run(&["ca", "revoke", "--dir", s(&old), "--cert", s(&d("bob.crt"))]);
    run(&["ca", "crl", "--dir", s(&old)]);
    let moved = d("moved.db");
    assert!(
        run(&["ca", "migrate", "--dir", s(&old), "--db", s(&moved)]).contains("2 certificates")
    );
    let again = pkilab(&["ca", "migrate", "--dir", s(&old), "--db", s(&moved)]);
    assert_eq!(again.status.code(), Some(2), "{}", text(&again.stderr));
    assert!(
        text(&again.stderr).contains("already holds a CA"),
        "{}",
        text(&again.stderr)
    );
    let published = run(&["ca", "crl", "--db", s(&moved), "--out", s(&d("crl.pem"))]);
    assert!(
        published.contains("issuing #2"),
        "numbers go on: {published}"
    );
    run(&[
        "ca",
        "chain",
        "--db",
        s(&moved),
        "--out",
        s(&d("chain.pem")),
    ]);
    let revoked = verify_in(dir.path(), &d("bob.crt"));
    let said = format!("{}{}", text(&revoked.stdout), text(&revoked.stderr));
    assert!(
        !revoked.status.success() && said.contains("certificate revoked"),
        "{said}"
    );
}
