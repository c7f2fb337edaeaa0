//! The transparency log end to end through the CLI: every issued
//! certificate is logged, proven, verified, required by relying parties,
//! and watched by a monitor that also catches a log showing two trees.

mod common;

use std::path::Path;

use common::ca::{Pki, pkilab, with};
use common::{ok, s, text};

fn prove(pki: &Pki, cert: &Path, out: &Path) {
    ok(&pkilab(&[
        "log",
        "prove",
        "--dir",
        s(&pki.dir),
        "--cert",
        s(cert),
        "--out",
        s(out),
    ]));
}

#[test]
fn an_issued_certificate_is_proven_in_the_log_and_a_relying_party_can_require_it() {
    let pki = Pki::new("ed25519");
    let bob = with(&pki.issue("bob"), ".crt");
    let proof = pki.root.join("bob.proof");
    prove(&pki, &bob, &proof);
    let key = pki.path("log.pub");
    let out = ok(&pkilab(&[
        "log",
        "verify",
        "--log-key",
        s(&key),
        "--cert",
        s(&bob),
        "--proof",
        s(&proof),
    ]));
    assert!(out.contains("logged: entry 1 of 2"), "{out}");

    let logged = pki.verify(
        &["--require-logged", s(&key), "--proof", s(&proof), "--json"],
        &bob,
    );
    assert_eq!(logged.status.code(), Some(0), "{}", text(&logged.stdout));

    // Without a proof, with another certificate's proof, or with a garbled
    // one: not-logged, exit 1.
    let alice = with(&pki.issue("alice"), ".crt");
    for extra in [vec![], vec!["--proof", s(&proof)]] {
        let mut args = vec!["--require-logged", s(&key), "--json"];
        args.extend(extra);
        let refused = pki.verify(&args, &alice);
        assert_eq!(refused.status.code(), Some(1));
        assert!(
            text(&refused.stdout).contains("\"not-logged\""),
            "{}",
            text(&refused.stdout)
        );
    }
    let garbled = pki.root.join("garbled.proof");
    std::fs::write(&garbled, "pkilab tlog proof v1\nindex x\n\n").expect("write");
    let refused = pki.verify(&["--require-logged", s(&key), "--proof", s(&garbled)], &bob);
    assert_eq!(refused.status.code(), Some(1), "{}", text(&refused.stdout));

    let out = pkilab(&[
        "log",
        "verify",
        "--log-key",
        s(&key),
        "--cert",
        s(&alice),
        "--proof",
        s(&proof),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("not-logged"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn checkpoints_are_consistent_as_the_log_grows() {
    let pki = Pki::new("ed25519");
    let old = pki.root.join("old.checkpoint");
    std::fs::copy(pki.path("log/checkpoint"), &old).expect("copy");
    pki.issue("carol");
    pki.issue("dave");
    let key = pki.path("log.pub");
    let out = ok(&pkilab(&[
        "log",
        "verify",
        "--log-key",
        s(&key),
        "--old",
        s(&old),
        "--new",
        s(&pki.path("log/checkpoint")),
        "--dir",
        s(&pki.dir),
    ]));
    assert!(out.contains("consistent: 1 entries extend to 3"), "{out}");
    // Old and new swapped: the log would have shrunk.
    let out = pkilab(&[
        "log",
        "verify",
        "--log-key",
        s(&key),
        "--old",
        s(&pki.path("log/checkpoint")),
        "--new",
        s(&old),
        "--dir",
        s(&pki.dir),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

#[test]
fn the_monitor_reports_certificates_in_its_name_and_a_split_view() {
    let pki = Pki::new("ed25519");
    let state = pki.root.join("bob.state");
    let monitor = |dir: &Path, gossip: &[&Path]| {
        let mut args = vec![
            "log",
            "monitor",
            "--dir",
            s(dir),
            "--name",
            "bob",
            "--state",
            s(&state),
        ];
        for g in gossip {
            args.extend(["--gossip", s(g)]);
        }
        pkilab(&args)
    };
    pki.issue("bob");
    pki.issue("alice");
    let first = ok(&monitor(&pki.dir, &[]));
    assert_eq!(first.matches("certificate for bob").count(), 1, "{first}");
    assert!(first.contains("checked entries 0 to 3"), "{first}");

    // A second log under the same key that has diverged: what it shows
    // another client cannot be reconciled with what this one sees.
    let fork = pki.root.join("fork");
    copy_dir(&pki.dir, &fork);
    ok(&pkilab(&[
        "ca",
        "issue",
        "--dir",
        s(&fork),
        "--name",
        "bob",
        "--client",
        "--out",
        s(&pki.root.join("rogue")),
    ]));
    pki.issue("bob");
    let second = ok(&monitor(&pki.dir, &[]));
    assert!(second.contains("certificate for bob: entry 3"), "{second}");
    assert!(second.contains("checked entries 3 to 4"), "{second}");

    let split = monitor(&pki.dir, &[&fork.join("log/checkpoint")]);
    assert_eq!(split.status.code(), Some(1), "{}", text(&split.stdout));
    let out = text(&split.stdout);
    assert!(out.contains("split view"), "{out}");
    assert_eq!(out.matches("evidence").count(), 2, "{out}");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else if entry.file_name() != ".lock" {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

/// GET `path` from the lab's server without a client certificate; returns
/// (status, headers, body bytes).
fn fetch(lab: &common::lab::Lab, path: &str) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (body, headers) = (dir.path().join("body"), dir.path().join("headers"));
    let out = std::process::Command::new("curl")
        .args(["-sS", "-w", "%{http_code}", "--cacert"])
        .arg(lab.ca().join("root.crt"))
        .arg("-o")
        .arg(&body)
        .arg("-D")
        .arg(&headers)
        .arg(lab.url(path))
        .output()
        .expect("curl");
    let status = text(&out.stdout).trim().parse().unwrap_or(0);
    (
        status,
        std::fs::read_to_string(&headers).unwrap_or_default(),
        std::fs::read(&body).unwrap_or_default(),
    )
}

#[test]
fn the_server_serves_the_checkpoint_and_immutable_tiles_to_anyone() {
    let lab = common::lab::Lab::start("");
    lab.client("alice");
    let leaves = std::fs::read(lab.ca().join("log/leaves")).expect("leaves");
    let size = leaves.len() / 32;
    assert!(size >= 1);

    let (status, headers, body) = fetch(&lab, "/log/checkpoint");
    assert_eq!(status, 200, "{headers}");
    let served = String::from_utf8(body).expect("text");
    assert_eq!(
        served,
        std::fs::read_to_string(lab.ca().join("log/checkpoint")).expect("checkpoint")
    );
    assert!(served.contains(&format!("\n{size}\n")), "{served}");

    let (status, headers, body) = fetch(&lab, &format!("/log/tile/0/000.p/{size}"));
    assert_eq!(status, 200, "{headers}");
    assert_eq!(body, leaves, "the level-0 tile is the leaf hashes");
    assert!(headers.to_lowercase().contains("immutable"), "{headers}");

    let (status, _, body) = fetch(&lab, &format!("/log/tile/entries/000.p/{size}"));
    assert_eq!(status, 200);
    let entries = pkilab_tlog::tiles::unbundle(&body).expect("a bundle");
    let alice = pem::parse(std::fs::read(lab.dir.path().join("alice.crt")).expect("crt"))
        .expect("PEM")
        .into_contents();
    assert_eq!(
        entries.last(),
        Some(&alice),
        "the last entry is alice's certificate"
    );

    for missing in [
        "/log/tile/0/000",
        "/log/tile/0/x001/000",
        "/log/tile/nonsense",
    ] {
        assert_eq!(fetch(&lab, missing).0, 404, "{missing}");
    }
}

#[test]
fn the_api_hands_out_the_inclusion_proof_and_a_server_can_require_logged_clients() {
    let lab = common::lab::Lab::start("totp-exempt: [alice]\nrequire-logged: true\n");
    let alice = lab.client("alice");
    // Logged (issued through the CA): served.
    let (status, body, ..) = lab.curl(Some(&alice), "GET", "/v1/keys", None, &[]);
    assert_eq!(status, 200, "{body}");

    // The API's answer carries the proof, which `pkilab log verify` accepts.
    let request = serde_json::json!({ "csr": common::probe::csr_for(&lab, "alice") }).to_string();
    let (status, body, ..) = lab.curl(Some(&alice), "POST", "/v1/certs", Some(&request), &[]);
    assert_eq!(status, 201, "{body}");
    let issued: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let cert = lab.dir.path().join("api.crt");
    let proof = lab.dir.path().join("api.proof");
    std::fs::write(&cert, issued["certificate"].as_str().expect("certificate")).expect("write");
    std::fs::write(&proof, issued["inclusion_proof"].as_str().expect("proof")).expect("write");
    let key = lab.ca().join("log.pub");
    let out = ok(&pkilab(&[
        "log",
        "verify",
        "--log-key",
        s(&key),
        "--cert",
        s(&cert),
        "--proof",
        s(&proof),
    ]));
    assert!(out.contains("logged"), "{out}");

    // A certificate the CA's key signed outside the log (a copy of the CA
    // without its log key): the chain is valid, the server refuses it.
    let copy = lab.dir.path().join("unlogged-ca");
    copy_dir(&lab.ca(), &copy);
    std::fs::remove_file(copy.join("log.key")).expect("remove log key");
    let prefix = lab.dir.path().join("ghost");
    let args = [
        "ca",
        "issue",
        "--dir",
        s(&copy),
        "--name",
        "ghost",
        "--client",
        "--out",
        s(&prefix),
    ];
    ok(&common::lab::pkilab(&args));
    let full = lab.dir.path().join("ghost.full.crt");
    let mut pem = std::fs::read_to_string(with(&prefix, ".crt")).expect("crt");
    pem.push_str(&std::fs::read_to_string(with(&prefix, ".chain.crt")).expect("chain"));
    std::fs::write(&full, pem).expect("write");
    let ghost = (full, with(&prefix, ".key"));
    let (status, ..) = lab.curl(Some(&ghost), "GET", "/v1/keys", None, &[]);
    assert_ne!(status, 200, "an unlogged client certificate was served");
}
