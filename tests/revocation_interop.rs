#![allow(clippy::panic)]
//! Revocation through the real `pkilab` binary, judged by OpenSSL where it
//! can: delta CRLs, partitioned CRLs with their distribution points, and
//! OCSP responses (the CA's own and a delegated signer's), as `openssl`
//! and `pkilab verify` read them.

mod common;

use common::ca::{PASSPHRASE, Pki, crl_blocks, openssl, openssl_stdin, pkilab, with};
use common::{ok, s, text};
use std::path::{Path, PathBuf};

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
    let crl = pki.path("crl.pem");
    let delta = pki.path("delta.pem");
    let verify = |leaf: &Path| pki.verify(&["--crl", s(&crl), "--crl", s(&delta)], leaf);
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
    // The valid verdict names the sources that spoke, with their freshness.
    let json = ok(&pki.verify(
        &["--json", "--crl", s(&crl), "--crl", s(&delta)],
        &with(&alice, ".crt"),
    ));
    let value: serde_json::Value = serde_json::from_str(&json).expect("json");
    let leaf_sources: Vec<&str> = value["revocation"]
        .as_array()
        .expect("sources")
        .iter()
        .filter(|source| source["position"] == 0)
        .map(|source| source["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(leaf_sources, ["crl", "delta-crl"], "{json}");
    assert!(value["revocation"][0]["next_update"].is_string(), "{json}");
}

/// `openssl ocsp` asks about `leaf`; pkilab answers; openssl judges the
/// response and prints the status.
fn ocsp_status(pki: &Pki, leaf: &Path) -> String {
    let response = pki.ocsp_response(leaf, "status", &pki.root);
    let issuing = pki.path("issuing.crt");
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
    let response = pki.root.join("status.resp");
    let shown = ok(&openssl(
        &["ocsp", "-respin", s(&response), "-resp_text", "-noverify"],
        PASSPHRASE,
    ));
    assert!(shown.contains("OCSP Signer"), "{shown}");
    // pkilab verify accepts the delegate's word too.
    let verified = pki.verify(
        &["--crl-scope", "leaf", "--ocsp-response", s(&response)],
        &alice,
    );
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
    let response = pki.root.join("status.resp");
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
    let respond = |leaf: &Path, ca: &Pki, name: &str| ca.ocsp_response(leaf, name, &pki.root);
    let verify = |leaf: &Path, response: &Path| {
        pki.verify(
            &["--crl-scope", "leaf", "--ocsp-response", s(response)],
            leaf,
        )
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
