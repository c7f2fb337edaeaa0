#![allow(clippy::panic)]
//! `pkilab verify` through the binary: weak algorithms and keys made with
//! OpenSSL are refused with their own reasons and accepted, noted, under
//! `--allow-legacy-algorithms`; an unparseable CRL is the verdict
//! `crl-invalid`; options that do not parse are unusable input.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{s, text};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        text(&out.stderr)
    );
}

/// A root with an RSA key of `bits` and a leaf it signs with `digest`.
fn weak_chain(dir: &Path, bits: &str, digest: &str) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            &format!("rsa:{bits}"),
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.crt",
            "-subj",
            "/CN=Old Root",
            "-days",
            "30",
            "-sha256",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "leaf.key",
            "-out",
            "leaf.csr",
            "-subj",
            "/CN=leaf.example",
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=DNS:leaf.example\nbasicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid\n",
    )
    .expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "root.crt",
            "-CAkey",
            "root.key",
            "-CAcreateserial",
            "-out",
            "leaf.crt",
            "-days",
            "10",
            &format!("-{digest}"),
            "-extfile",
            "leaf.ext",
        ],
    );
}

fn verify(dir: &Path, extra: &[&str]) -> Output {
    let root = dir.join("root.crt");
    let leaf = dir.join("leaf.crt");
    let mut args = vec!["verify", "--trust", s(&root), "--dns", "leaf.example"];
    args.extend_from_slice(extra);
    args.push(s(&leaf));
    common::run(&args, "unused")
}

#[test]
fn a_short_rsa_key_is_weak_key_unless_legacy_is_allowed() {
    let dir = tempfile::tempdir().expect("dir");
    weak_chain(dir.path(), "1024", "sha256");
    let out = verify(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("(weak-key)"),
        "{}",
        text(&out.stdout)
    );
    let out = verify(dir.path(), &["--allow-legacy-algorithms"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("RSA-1024"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn sha1_is_weak_algorithm_not_bad_signature() {
    let dir = tempfile::tempdir().expect("dir");
    weak_chain(dir.path(), "2048", "sha1");
    let out = verify(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert!(
        text(&out.stdout).contains("(weak-algorithm)"),
        "{}",
        text(&out.stdout)
    );
    let out = verify(dir.path(), &["--allow-legacy-algorithms", "--json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("SHA-1"), "{}", text(&out.stdout));
}

#[test]
fn an_unparseable_crl_is_the_verdict_crl_invalid() {
    let dir = tempfile::tempdir().expect("dir");
    weak_chain(dir.path(), "2048", "sha256");
    let crl = dir.path().join("broken.crl");
    std::fs::write(&crl, b"\x30\x03\x02\x01").expect("write");
    let out = verify(dir.path(), &["--crl", s(&crl)]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("(crl-invalid)"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn options_that_do_not_parse_are_unusable_input() {
    let dir = tempfile::tempdir().expect("dir");
    weak_chain(dir.path(), "2048", "sha256");
    for bad in [
        &["--max-crl-age", "soon"][..],
        &["--crl-scope", "everything"],
        &["--policy", "not.an.oid"],
        &["--max-depth", "-1"],
    ] {
        let out = verify(dir.path(), bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}: {}", text(&out.stderr));
    }
}
