#![allow(clippy::panic)]
//! The KMS through the real `pkilab` binary: round trips, OpenSSL opening
//! exported keys, a wrong passphrase named, and a SIGKILL in the middle of
//! a batch of writes that loses no acknowledged key and breaks no chain.

mod common;

use common::{ok, s, text};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

const PASSPHRASE: &str = "kms test passphrase";

fn pkilab(db: &Path, args: &[&str]) -> Output {
    pkilab_with(db, args, PASSPHRASE)
}

fn command(db: &Path, args: &[&str], passphrase: &str) -> Command {
    let mut full = vec!["kms", "--db", s(db)];
    full.extend_from_slice(args);
    common::command(&full, passphrase)
}

fn pkilab_with(db: &Path, args: &[&str], passphrase: &str) -> Output {
    command(db, args, passphrase).output().expect("pkilab runs")
}

fn store() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp");
    let db = dir.path().join("kms.db");
    ok(&pkilab(&db, &["init"]));
    (dir, db)
}

#[test]
fn encrypt_decrypt_sign_verify_and_audit_from_the_command_line() {
    let (dir, db) = store();
    ok(&pkilab(
        &db,
        &["key", "create", "files", "--type", "aes-256-gcm"],
    ));
    let plain = dir.path().join("plain.txt");
    let sealed = dir.path().join("sealed.txt");
    let opened = dir.path().join("opened.txt");
    std::fs::write(&plain, b"the quarterly numbers").expect("write");
    ok(&pkilab(
        &db,
        &[
            "encrypt",
            "files",
            "--aad",
            "q3",
            "-i",
            s(&plain),
            "-o",
            s(&sealed),
        ],
    ));
    ok(&pkilab(&db, &["key", "rotate", "files"]));
    ok(&pkilab(
        &db,
        &["decrypt", "--aad", "q3", "-i", s(&sealed), "-o", s(&opened)],
    ));
    assert_eq!(
        std::fs::read(&opened).expect("read"),
        b"the quarterly numbers"
    );
    let wrong_aad = pkilab(&db, &["decrypt", "--aad", "q4", "-i", s(&sealed)]);
    assert_eq!(wrong_aad.status.code(), Some(2));
    assert!(
        text(&wrong_aad.stderr).contains("does not authenticate"),
        "{}",
        text(&wrong_aad.stderr)
    );

    ok(&pkilab(
        &db,
        &["key", "create", "signer", "--type", "rsa-2048"],
    ));
    let signature = dir.path().join("sig.txt");
    ok(&pkilab(
        &db,
        &["sign", "signer", "-i", s(&plain), "-o", s(&signature)],
    ));
    let good = pkilab(
        &db,
        &["verify", "--signature", s(&signature), "-i", s(&plain)],
    );
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    let bad = pkilab(
        &db,
        &["verify", "--signature", s(&signature), "-i", s(&sealed)],
    );
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad.stderr));

    let datakey: serde_json::Value =
        serde_json::from_str(&ok(&pkilab(&db, &["datakey", "files"]))).expect("json");
    assert!(
        datakey["wrapped"]
            .as_str()
            .expect("wrapped")
            .starts_with("pkilab:v1:files:2:")
    );
    assert_eq!(
        datakey["plaintext"].as_str().expect("plain").len(),
        44,
        "32 bytes in base64"
    );

    let audit = ok(&pkilab(&db, &["audit", "verify"]));
    assert!(audit.contains("intact"), "{audit}");
    let log = ok(&pkilab(&db, &["audit", "show"]));
    assert!(
        !log.contains("quarterly"),
        "the audit log holds no plaintext"
    );
    assert!(
        log.contains("refused: the ciphertext does not authenticate"),
        "{log}"
    );
}

#[test]
fn openssl_opens_exported_keys() {
    let (dir, db) = store();
    for (name, key_type) in [("ed", "ed25519"), ("x", "x25519"), ("rsa", "rsa-2048")] {
        ok(&pkilab(&db, &["key", "create", name, "--type", key_type]));
        let public = dir.path().join(format!("{name}.pub.pem"));
        let private = dir.path().join(format!("{name}.key.pem"));
        ok(&pkilab(&db, &["export", name, "-o", s(&public)]));
        ok(&pkilab(
            &db,
            &["export", name, "--private", "-o", s(&private)],
        ));
        let out = Command::new("openssl")
            .args(["pkey", "-pubin", "-in", s(&public), "-noout", "-text"])
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{key_type}: {}", text(&out.stderr));
        let out = Command::new("openssl")
            .args([
                "pkey",
                "-in",
                s(&private),
                "-passin",
                "env:PKILAB_PASSPHRASE",
                "-pubout",
            ])
            .env("PKILAB_PASSPHRASE", PASSPHRASE)
            .output()
            .expect("openssl");
        assert!(out.status.success(), "{key_type}: {}", text(&out.stderr));
        let derived = text(&out.stdout);
        let exported = std::fs::read_to_string(&public).expect("pub");
        assert_eq!(
            derived.trim(),
            exported.trim(),
            "{key_type}: the private key matches its public key"
        );
    }
    let aes = pkilab(&db, &["key", "create", "sym", "--type", "aes-256-gcm"]);
    ok(&aes);
    let out = pkilab(&db, &["export", "sym", "--private"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn bad_input_is_named_with_exit_2() {
    let (dir, db) = store();
    let out = pkilab_with(&db, &["key", "list"], "not the passphrase");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("wrong passphrase"),
        "{}",
        text(&out.stderr)
    );
    let out = pkilab(&dir.path().join("missing.db"), &["key", "list"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("missing.db does not exist"),
        "{}",
        text(&out.stderr)
    );
    let out = pkilab(&db, &["key", "create", "k", "--type", "des"]);
    assert!(
        text(&out.stderr).contains("unknown key type 'des'"),
        "{}",
        text(&out.stderr)
    );
    let out = pkilab(
        &db,
        &[
            "key",
            "create",
            "k",
            "--type",
            "ed25519",
            "--expires-in",
            "soon",
        ],
    );
    assert!(
        text(&out.stderr).contains("invalid duration 'soon'"),
        "{}",
        text(&out.stderr)
    );
    ok(&pkilab(&db, &["key", "create", "k", "--type", "ed25519"]));
    let out = pkilab(&db, &["key", "destroy", "k"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("cannot go from active to destroyed"),
        "{}",
        text(&out.stderr)
    );
    let out = command(&db, &["decrypt"], PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .expect("runs");
    assert!(
        text(&out.stderr).contains("not a pkilab ciphertext"),
        "{}",
        text(&out.stderr)
    );
    let out = pkilab(&db, &["init"]);
    assert!(
        text(&out.stderr).contains("already holds a key store"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn sigkill_in_a_batch_loses_no_acknowledged_key() {
    let (_dir, db) = store();
    let mut child = command(
        &db,
        &["key", "create-many", "batch", "--count", "100000"],
        PASSPHRASE,
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut acknowledged = Vec::new();
    for line in BufReader::new(stdout).lines() {
        acknowledged.push(line.expect("line"));
        if acknowledged.len() == 40 {
            break;
        }
    }
    // SIGKILL, mid-batch: no destructor, no flush, no clean shutdown.
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let list: serde_json::Value =
        serde_json::from_str(&ok(&pkilab(&db, &["key", "list", "--json"]))).expect("json");
    let names: Vec<&str> = list
        .as_array()
        .expect("array")
        .iter()
        .map(|k| k["name"].as_str().expect("name"))
        .collect();
    assert!(names.len() >= acknowledged.len());
    for name in &acknowledged {
        assert!(
            names.contains(&name.as_str()),
            "{name} was acknowledged but is gone"
        );
    }
    let last = acknowledged.last().expect("some");
    let sealed = ok(&command(&db, &["encrypt", last], PASSPHRASE)
        .stdin(Stdio::null())
        .output()
        .expect("runs"));
    let mut decrypt = command(&db, &["decrypt"], PASSPHRASE)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("spawn");
    use std::io::Write;
    decrypt
        .stdin
        .take()
        .expect("stdin")
        .write_all(sealed.as_bytes())
        .expect("write");
    let out = decrypt.wait_with_output().expect("decrypt");
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty(), "the empty plaintext round-trips");
    let audit = ok(&pkilab(&db, &["audit", "verify"]));
    assert!(audit.contains("intact"), "{audit}");
}

#[test]
fn two_writers_on_one_sqlite_file_both_succeed() {
    let (_dir, db) = store();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&db).expect("store").permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the store is private to its owner");
    }
    let writers: Vec<_> = ["left", "right"]
        .iter()
        .map(|prefix| {
            command(
                &db,
                &["key", "create-many", prefix, "--count", "150"],
                PASSPHRASE,
            )
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
        })
        .collect();
    for writer in writers {
        let out = writer.wait_with_output().expect("writer");
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    }
    let list: serde_json::Value =
        serde_json::from_str(&ok(&pkilab(&db, &["key", "list", "--json"]))).expect("json");
    assert_eq!(list.as_array().expect("array").len(), 300);
    let audit = ok(&pkilab(&db, &["audit", "verify"]));
    assert!(audit.contains("intact: 300 entries"), "{audit}");
}

#[test]
fn a_head_kept_outside_catches_a_rollback_of_the_whole_file() {
    let (dir, db) = store();
    ok(&pkilab(
        &db,
        &["key", "create", "early", "--type", "aes-256-gcm"],
    ));
    let copy = |from: &Path, to: &Path| {
        for suffix in ["", "-wal", "-shm"] {
            let source = PathBuf::from(format!("{}{suffix}", from.display()));
            let target = PathBuf::from(format!("{}{suffix}", to.display()));
            let _ = std::fs::remove_file(&target);
            if source.exists() {
                std::fs::copy(&source, &target).expect("copy");
            }
        }
    };
    let old = dir.path().join("old.db");
    copy(&db, &old);
    ok(&pkilab(
        &db,
        &["key", "create", "later", "--type", "aes-256-gcm"],
    ));
    let kept = ok(&pkilab(&db, &["audit", "head"])).trim().to_owned();
    let said = ok(&pkilab(&db, &["audit", "verify", "--expect-head", &kept]));
    assert!(said.contains("intact: 2 entries"), "{said}");
    // The whole file goes back to its earlier copy: consistent in itself.
    copy(&old, &db);
    assert!(ok(&pkilab(&db, &["audit", "verify"])).contains("intact: 1 entries"));
    let rolled_back = pkilab(&db, &["audit", "verify", "--expect-head", &kept]);
    assert_eq!(rolled_back.status.code(), Some(1));
    assert!(
        text(&rolled_back.stdout).contains("rolled back"),
        "{}",
        text(&rolled_back.stdout)
    );
    // `audit show --json` is one JSON array of every entry.
    let entries: serde_json::Value =
        serde_json::from_str(&ok(&pkilab(&db, &["audit", "show", "--json"]))).expect("json");
    assert_eq!(entries.as_array().expect("array").len(), 1);
}

#[test]
fn an_xwing_key_encrypts_wraps_data_keys_and_exports_only_its_public_half() {
    let (dir, db) = store();
    ok(&pkilab(&db, &["key", "create", "vault", "--type", "xwing"]));
    let plain = dir.path().join("plain.txt");
    let sealed = dir.path().join("sealed.txt");
    std::fs::write(&plain, b"records to keep for 30 years").expect("write");
    ok(&pkilab(
        &db,
        &[
            "encrypt",
            "vault",
            "--aad",
            "r1",
            "-i",
            s(&plain),
            "-o",
            s(&sealed),
        ],
    ));
    let opened = ok(&pkilab(&db, &["decrypt", "--aad", "r1", "-i", s(&sealed)]));
    assert_eq!(opened, "records to keep for 30 years");
    let wrong_aad = pkilab(&db, &["decrypt", "--aad", "r2", "-i", s(&sealed)]);
    assert_eq!(
        wrong_aad.status.code(),
        Some(2),
        "{}",
        text(&wrong_aad.stderr)
    );

    let datakey: serde_json::Value =
        serde_json::from_str(&ok(&pkilab(&db, &["datakey", "--wrap-with", "vault"])))
            .expect("json");
    let wrapped = dir.path().join("wrapped.txt");
    std::fs::write(&wrapped, datakey["wrapped"].as_str().expect("wrapped")).expect("write");
    let unwrapped = pkilab(&db, &["decrypt", "-i", s(&wrapped)]);
    ok(&unwrapped);
    use base64::Engine;
    assert_eq!(
        base64::engine::general_purpose::STANDARD.encode(&unwrapped.stdout),
        datakey["plaintext"].as_str().expect("plain")
    );

    let public = ok(&pkilab(&db, &["export", "vault"]));
    assert!(public.starts_with("-----BEGIN PUBLIC KEY-----"), "{public}");
    let private = pkilab(&db, &["export", "vault", "--private"]);
    assert_eq!(private.status.code(), Some(2));
    assert!(
        text(&private.stderr).contains("not exported"),
        "{}",
        text(&private.stderr)
    );
}
