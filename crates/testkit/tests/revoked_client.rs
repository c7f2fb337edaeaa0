//! Worked example: a rustls server set up the way an application sets up
//! its own (`WebPkiClientVerifier` with a root store and CRLs) refuses a
//! revoked client and accepts a good one. The handshakes are real TLS 1.3,
//! run in memory by `pkilab_testkit::handshake`.

use std::sync::Arc;

use pkilab_testkit::{Leaf, Pki, RevocationReason, handshake, provider};
use rustls::server::WebPkiClientVerifier;
use rustls::{AlertDescription, CertificateError, Error, ServerConfig};

/// The service under test: its TLS configuration, given the trust anchor
/// and CRLs it should use.
fn service(pki: &Pki, server: &Leaf) -> Arc<ServerConfig> {
    let verifier =
        WebPkiClientVerifier::builder_with_provider(Arc::new(pki.root_store()), provider())
            .with_crls(pki.crls().expect("fresh CRLs"))
            .build()
            .expect("client verifier");
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_client_cert_verifier(verifier)
        .with_single_cert(server.chain(), server.key())
        .expect("server certificate and key");
    Arc::new(config)
}

fn pki() -> Pki {
    Pki::builder()
        .intermediate("Example Issuing CA")
        .build()
        .expect("PKI")
}

#[test]
fn a_revoked_client_is_refused_with_the_certificate_revoked_alert() {
    let mut pki = pki();
    let server = pki.server("localhost").issue().expect("server leaf");
    let alice = pki.client("alice").issue().expect("client leaf");
    pki.revoke(&alice, RevocationReason::KeyCompromise)
        .expect("revoke");

    let refused = handshake(
        pki.client_config(&alice).expect("client config"),
        service(&pki, &server),
        "localhost",
    )
    .expect_err("a revoked client must be refused");
    assert_eq!(
        refused.server,
        Some(Error::InvalidCertificate(CertificateError::Revoked))
    );
    assert_eq!(
        refused.client,
        Some(Error::AlertReceived(AlertDescription::CertificateRevoked))
    );
}

#[test]
fn a_good_client_is_accepted_and_the_server_sees_its_certificate() {
    let mut pki = pki();
    let server = pki.server("localhost").issue().expect("server leaf");
    let alice = pki.client("alice").issue().expect("client leaf");
    let bob = pki.client("bob").issue().expect("client leaf");
    // Another client's revocation is on the CRL; alice's status is known good.
    pki.revoke(&bob, RevocationReason::Superseded)
        .expect("revoke");

    let established = handshake(
        pki.client_config(&alice).expect("client config"),
        service(&pki, &server),
        "localhost",
    )
    .expect("a good client is accepted");
    let presented = established
        .server
        .peer_certificates()
        .expect("the client presented a chain");
    assert_eq!(presented.len(), 2, "leaf and issuing CA");
    assert_eq!(&presented[0], alice.cert());
    assert_eq!(presented[1], pki.intermediates()[0]);
}

#[test]
fn a_revocation_applies_once_the_service_loads_the_new_crl() {
    let mut pki = pki();
    let server = pki.server("localhost").issue().expect("server leaf");
    let alice = pki.client("alice").issue().expect("client leaf");
    let before = service(&pki, &server);
    pki.revoke(&alice, RevocationReason::CessationOfOperation)
        .expect("revoke");
    let after = service(&pki, &server);
    let client = pki.client_config(&alice).expect("client config");

    handshake(client.clone(), before, "localhost").expect("the old CRL does not list alice yet");
    let refused = handshake(client, after, "localhost").expect_err("the new CRL lists alice");
    assert_eq!(
        refused.server,
        Some(Error::InvalidCertificate(CertificateError::Revoked))
    );
}

#[test]
fn clients_from_a_rogue_ca_or_self_signed_are_refused_as_forgeries() {
    let pki = pki();
    let server = pki.server("localhost").issue().expect("server leaf");
    let rogue = pki.client("alice").rogue().issue().expect("rogue leaf");
    let forged = pki
        .client("alice")
        .self_signed()
        .issue()
        .expect("self-signed");

    // The rogue chain names the real CAs, so only the signature betrays it.
    let refused = handshake(
        pki.client_config(&rogue).expect("client config"),
        service(&pki, &server),
        "localhost",
    )
    .expect_err("rogue CA");
    assert_eq!(
        refused.server,
        Some(Error::InvalidCertificate(CertificateError::BadSignature))
    );
    assert_eq!(
        refused.client,
        Some(Error::AlertReceived(AlertDescription::DecryptError))
    );

    let refused = handshake(
        pki.client_config(&forged).expect("client config"),
        service(&pki, &server),
        "localhost",
    )
    .expect_err("self-signed");
    assert_eq!(
        refused.server,
        Some(Error::InvalidCertificate(CertificateError::UnknownIssuer))
    );
    assert_eq!(
        refused.client,
        Some(Error::AlertReceived(AlertDescription::UnknownCA))
    );
}

#[test]
fn expired_not_yet_valid_and_server_only_clients_are_refused() {
    let pki = pki();
    let server = pki.server("localhost").issue().expect("server leaf");
    let expired = pki.client("alice").expired().issue().expect("leaf");
    let early = pki.client("alice").not_yet_valid().issue().expect("leaf");
    let server_only = pki.client("alice").wrong_usage().issue().expect("leaf");

    for (client, what) in [(&expired, "expired"), (&early, "not yet valid")] {
        let refused = handshake(
            pki.client_config(client).expect("client config"),
            service(&pki, &server),
            "localhost",
        )
        .expect_err(what);
        let expected_error = match what {
            "expired" => matches!(
                refused.server,
                Some(Error::InvalidCertificate(
                    CertificateError::ExpiredContext { .. }
                ))
            ),
            _ => matches!(
                refused.server,
                Some(Error::InvalidCertificate(
                    CertificateError::NotValidYetContext { .. }
                ))
            ),
        };
        assert!(expected_error, "{what}: {refused}");
        assert_eq!(
            refused.client,
            Some(Error::AlertReceived(AlertDescription::CertificateExpired)),
            "{what}"
        );
    }

    let refused = handshake(
        pki.client_config(&server_only).expect("client config"),
        service(&pki, &server),
        "localhost",
    )
    .expect_err("serverAuth only");
    assert!(
        matches!(
            refused.server,
            Some(Error::InvalidCertificate(
                CertificateError::InvalidPurposeContext { .. }
            ))
        ),
        "{refused}"
    );
    assert_eq!(
        refused.client,
        Some(Error::AlertReceived(
            AlertDescription::UnsupportedCertificate
        ))
    );
}
