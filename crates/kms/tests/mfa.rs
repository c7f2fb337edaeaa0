#![allow(clippy::panic)]
//! TOTP for destructive operations: a good code works once, a wrong or
//! reused one is refused, and only enrolled identities have codes.

mod common;

on_both!(
    a_totp_code_works_once,
    totp_survives_a_passphrase_change,
    a_code_sent_several_times_at_once_works_once,
    wrong_codes_lock_the_identity_out_with_backoff,
);

use common::{NOW, PASSPHRASE, Store};
use pkilab_kms::{ADMIN, FREE_FAILURES, Kms, LOCKOUT_BASE, TOTP_STEP, totp_code};
use time::Duration;

fn secret_of(uri: &str) -> Vec<u8> {
    let encoded = uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .expect("secret in the URI");
    let (mut out, mut buffer, mut bits) = (Vec::new(), 0u32, 0u32);
    for c in encoded.bytes() {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => panic!("not base32: {c}"),
        };
        buffer = (buffer << 5) | u32::from(value);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    out
}

async fn a_totp_code_works_once(s: Store) {
    let k = &s.kms;
    let uri = k.mfa_enroll(ADMIN, "alice", NOW).await.expect("enroll");
    assert!(
        uri.starts_with("otpauth://totp/pkilab:alice?secret="),
        "{}",
        *uri
    );
    let secret = secret_of(&uri);
    assert_eq!(secret.len(), 20);
    let step = NOW.unix_timestamp() / TOTP_STEP;
    let code = format!("{:06}", totp_code(&secret, step));
    let wrong = format!("{:06}", (totp_code(&secret, step) + 1) % 1_000_000);
    assert!(
        k.mfa_check("alice", &wrong, NOW)
            .await
            .expect_err("wrong")
            .to_string()
            .contains("wrong TOTP code")
    );
    k.mfa_check("alice", &code, NOW).await.expect("first use");
    let reused = k.mfa_check("alice", &code, NOW).await.expect_err("reused");
    assert!(reused.to_string().contains("already used"), "{reused}");
    // The next step's code works (one step of drift is allowed), once.
    let later = NOW + Duration::seconds(TOTP_STEP);
    let next = format!("{:06}", totp_code(&secret, step + 1));
    k.mfa_check("alice", &next, later).await.expect("next step");
    assert!(
        k.mfa_check("bob", &code, NOW)
            .await
            .expect_err("not enrolled")
            .to_string()
            .contains("not enrolled")
    );
    assert!(
        k.mfa_enroll("alice", "bob", NOW).await.is_err(),
        "only admin enrolls"
    );
}

/// A passphrase change keeps TOTP secrets usable.
async fn totp_survives_a_passphrase_change(mut s: Store) {
    let uri = s.kms.mfa_enroll(ADMIN, "carol", NOW).await.expect("enroll");
    let secret = secret_of(&uri);
    s.kms
        .change_passphrase(b"another passphrase", common::MEMORY_KIB, NOW)
        .await
        .expect("change");
    let reopened = pkilab_kms::Kms::open(&s.location, b"another passphrase")
        .await
        .expect("open");
    let code = format!(
        "{:06}",
        totp_code(&secret, NOW.unix_timestamp() / TOTP_STEP)
    );
    reopened
        .mfa_check("carol", &code, NOW)
        .await
        .expect("still valid");
}

/// Three processes send the same code at the same moment: one succeeds.
async fn a_code_sent_several_times_at_once_works_once(s: Store) {
    let uri = s.kms.mfa_enroll(ADMIN, "dave", NOW).await.expect("enroll");
    let code = format!(
        "{:06}",
        totp_code(&secret_of(&uri), NOW.unix_timestamp() / TOTP_STEP)
    );
    let mut servers = Vec::new();
    for _ in 0..3 {
        servers.push(Kms::open(&s.location, PASSPHRASE).await.expect("open"));
    }
    for round in 0..5 {
        let at = NOW + Duration::seconds(TOTP_STEP * 3 * round);
        let code = if round == 0 {
            code.clone()
        } else {
            format!(
                "{:06}",
                totp_code(&secret_of(&uri), at.unix_timestamp() / TOTP_STEP)
            )
        };
        let results =
            futures_util::future::join_all(servers.iter().map(|k| k.mfa_check("dave", &code, at)))
                .await;
        let accepted = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(accepted, 1, "round {round}: {results:?}");
        for refused in results.iter().filter_map(|r| r.as_ref().err()) {
            assert!(refused.to_string().contains("already used"), "{refused}");
        }
    }
}

async fn wrong_codes_lock_the_identity_out_with_backoff(s: Store) {
    let k = &s.kms;
    let secret = secret_of(&k.mfa_enroll(ADMIN, "erin", NOW).await.expect("enroll"));
    let step = NOW.unix_timestamp() / TOTP_STEP;
    let right = format!("{:06}", totp_code(&secret, step));
    let wrong = format!("{:06}", (totp_code(&secret, step) + 1) % 1_000_000);
    for _ in 0..FREE_FAILURES - 1 {
        k.mfa_check("erin", &wrong, NOW).await.expect_err("wrong");
    }
    let locked = k.mfa_check("erin", &wrong, NOW).await.expect_err("wrong");
    assert!(
        locked
            .to_string()
            .contains(&format!("locked out for {LOCKOUT_BASE} s")),
        "{locked}"
    );
    // Locked: even the right code is refused, and the refusal is audited.
    let refused = k.mfa_check("erin", &right, NOW).await.expect_err("locked");
    assert!(refused.to_string().contains("locked out"), "{refused}");
    // After the lockout the right code works.
    let later = NOW + Duration::seconds(LOCKOUT_BASE);
    let code = format!(
        "{:06}",
        totp_code(&secret, later.unix_timestamp() / TOTP_STEP)
    );
    k.mfa_check("erin", &code, later).await.expect("accepted");
    let log = k.audit_entries().await.expect("log");
    let refusals = log
        .iter()
        .filter(|e| e.operation == "mfa.check" && e.outcome.starts_with("refused"))
        .count();
    assert_eq!(refusals, usize::try_from(FREE_FAILURES).expect("small") + 1);
    assert!(log.iter().any(|e| e.outcome.contains("locked out for")));
}
