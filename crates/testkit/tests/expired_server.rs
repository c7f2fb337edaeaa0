//! Worked example: a client refuses a server whose certificate expired,
//! whether it expired before the test began or because the test moved the
//! clock past its notAfter.

// A test fails by panicking; the workspace lint is for library code.
#![allow(clippy::panic)]

use std::sync::Arc;

use pkilab_testkit::{Clock, Pki, RevocationReason, handshake, provider};
use rustls::{AlertDescription, CertificateError, ClientConfig, Error};
use time::{Duration, macros::datetime};

/// The client under test: its own configuration, trusting the PKI's root.
fn application_client(pki: &Pki) -> Arc<ClientConfig> {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_root_certificates(pki.root_store())
        .with_no_client_auth();
    Arc::new(config)
}

fn assert_expired(error: &Option<Error>) {
    assert!(
        matches!(
            error,
            Some(Error::InvalidCertificate(
                CertificateError::ExpiredContext { .. }
            ))
        ),
        "expected an expired certificate, got {error:?}"
    );
}

#[test]
fn a_client_refuses_a_server_whose_certificate_expired() {
    let pki = Pki::new().expect("PKI");
    let server = pki.server("localhost").expired().issue().expect("leaf");

    let refused = handshake(
        application_client(&pki),
        pki.server_config(&server).expect("server config"),
        "localhost",
    )
    .expect_err("an expired server must be refused");
    assert_expired(&refused.client);
    assert_eq!(
        refused.server,
        Some(Error::AlertReceived(AlertDescription::CertificateExpired))
    );
}

#[test]
fn moving_the_clock_past_not_after_makes_the_same_server_expire() {
    let clock = Clock::at(datetime!(2030-06-01 12:00 UTC));
    let pki = Pki::builder().clock(clock.clone()).build().expect("PKI");
    let start = clock.now();
    let server = pki
        .server("api.example")
        .validity(start - Duration::hours(1), start + Duration::days(1))
        .issue()
        .expect("leaf");
    let alice = pki.client("alice").issue().expect("client leaf");

    handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&server).expect("server config"),
        "api.example",
    )
    .expect("valid on the first day");

    clock.advance(Duration::days(2));
    let refused = handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&server).expect("server config"),
        "api.example",
    )
    .expect_err("expired on the third day");
    assert_expired(&refused.client);
    match refused.client {
        Some(Error::InvalidCertificate(CertificateError::ExpiredContext { time, not_after })) => {
            let seconds =
                |at: time::OffsetDateTime| u64::try_from(at.unix_timestamp()).expect("after 1970");
            assert_eq!(time.as_secs(), seconds(start + Duration::days(2)));
            assert_eq!(not_after.as_secs(), seconds(start + Duration::days(1)));
        }
        other => panic!("expected the expiry with its times, got {other:?}"),
    }
}

#[test]
fn a_client_refuses_a_server_with_a_client_only_certificate_or_the_wrong_name() {
    let pki = Pki::new().expect("PKI");
    let client_only = pki.server("localhost").wrong_usage().issue().expect("leaf");
    let other_name = pki.server("other.example").issue().expect("leaf");

    let refused = handshake(
        application_client(&pki),
        pki.server_config(&client_only).expect("server config"),
        "localhost",
    )
    .expect_err("clientAuth only");
    assert!(
        matches!(
            refused.client,
            Some(Error::InvalidCertificate(
                CertificateError::InvalidPurposeContext { .. }
            ))
        ),
        "{refused}"
    );

    let refused = handshake(
        application_client(&pki),
        pki.server_config(&other_name).expect("server config"),
        "localhost",
    )
    .expect_err("wrong name");
    assert!(
        matches!(
            refused.client,
            Some(Error::InvalidCertificate(
                CertificateError::NotValidForNameContext { .. }
            ))
        ),
        "{refused}"
    );
    assert_eq!(
        refused.server,
        Some(Error::AlertReceived(AlertDescription::BadCertificate))
    );
}

#[test]
fn the_kits_client_refuses_a_revoked_or_not_yet_valid_server() {
    let mut pki = Pki::builder()
        .intermediate("Example Issuing CA")
        .build()
        .expect("PKI");
    let revoked = pki.server("localhost").issue().expect("leaf");
    let early = pki
        .server("localhost")
        .not_yet_valid()
        .issue()
        .expect("leaf");
    let alice = pki.client("alice").issue().expect("client leaf");
    pki.revoke(&revoked, RevocationReason::KeyCompromise)
        .expect("revoke");

    let refused = handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&revoked).expect("server config"),
        "localhost",
    )
    .expect_err("the client checks the server against the CRLs");
    assert_eq!(
        refused.client,
        Some(Error::InvalidCertificate(CertificateError::Revoked))
    );
    assert_eq!(
        refused.server,
        Some(Error::AlertReceived(AlertDescription::CertificateRevoked))
    );

    let refused = handshake(
        pki.client_config(&alice).expect("client config"),
        pki.server_config(&early).expect("server config"),
        "localhost",
    )
    .expect_err("not yet valid");
    assert!(
        matches!(
            refused.client,
            Some(Error::InvalidCertificate(
                CertificateError::NotValidYetContext { .. }
            ))
        ),
        "{refused}"
    );
}
