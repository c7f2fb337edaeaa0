//! The full mutual handshake (root → issuing → leaf chains on both sides),
//! the floor of the primitives it performs, and a rustls TLS 1.3
//! mutual-auth handshake in memory with the same kind of chains (Ed25519
//! certificates, X25519), on equal terms:
//! - `pkilab_no_revocation` / `rustls_no_revocation`: no CRLs, nothing
//!   cached between handshakes;
//! - `hybrid`: `pkilab_no_revocation` in `hybrid` mode (X25519 +
//!   ML-KEM-768); the frame sizes of both modes are printed once;
//! - `pkilab_crl_every_time` / `rustls_crl`: CRLs required, every CRL and
//!   certificate signature verified at every handshake;
//! - `pkilab_cached`: CRLs required, with the bounded caches a long-running
//!   peer keeps (verified CA-certificate and CRL signatures);
//! - `primitive_floor`: the public-key operations alone (the peer's
//!   Ed25519 key decoded from its bytes, as a received key must be).
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use aws_lc_rs::signature::{ED25519, UnparsedPublicKey};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::{SigningKey, VerifyingKey};
use pkilab_ca::{
    CaKey, CertificateAuthority, LeafRequest, RevocationReason, RevokedEntry, Serial,
    SigningAlgorithm,
};
use pkilab_peer::{Config, Identity, Mode, initiate, respond};
use pkilab_verify::{Options, RevocationPolicy, Validator};
use rand_chacha::ChaCha20Rng;
use rand_chacha::rand_core::SeedableRng;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, PrivateKeyDer, ServerName};
use time::{Duration, OffsetDateTime};
use x509_parser::prelude::{FromDer, X509Certificate};
use x25519_dalek::{EphemeralSecret, PublicKey};

struct Pki {
    root: CertificateAuthority,
    issuing: CertificateAuthority,
    crls: Vec<Vec<u8>>,
    now: OffsetDateTime,
}

impl Pki {
    fn new() -> Pki {
        let now = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap();
        let root = CertificateAuthority::new_root(
            "Bench Root",
            CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
            now - Duration::days(1),
            now + Duration::days(3650),
            Serial::random(),
        )
        .unwrap();
        let issuing = root
            .new_intermediate(
                "Bench Issuing",
                CaKey::generate(SigningAlgorithm::Ed25519).unwrap(),
                now - Duration::days(1),
                now + Duration::days(1825),
                Some(0),
                Serial::random(),
            )
            .unwrap();
        let revoked: Vec<RevokedEntry> = (0..100)
            .map(|_| RevokedEntry {
                serial: Serial::random(),
                revoked_at: now,
                reason: RevocationReason::KeyCompromise,
            })
            .collect();
        let crls = vec![
            root.crl(&[], 1, now - Duration::hours(1), now + Duration::days(7))
                .unwrap(),
            issuing
                .crl(
                    &revoked,
                    1,
                    now - Duration::hours(1),
                    now + Duration::days(7),
                )
                .unwrap(),
        ];
        Pki {
            root,
            issuing,
            crls,
            now,
        }
    }

    /// A leaf for `name` (also its dNSName) and its key.
    fn leaf(&self, name: &str, key: &CaKey) -> Vec<Vec<u8>> {
        let mut request = LeafRequest::new(
            name,
            self.now - Duration::days(1),
            self.now + Duration::days(365),
        );
        request.dns = vec![name.to_owned()];
        let issued = self
            .issuing
            .issue(&request, &key.public_key_spki_der(), Serial::random())
            .unwrap();
        vec![issued.der, self.issuing.certificate_der().to_vec()]
    }

    fn validator(&self, crls: bool, cache: bool) -> Arc<Validator> {
        let mut v = Validator::new(vec![self.root.certificate_der().to_vec()]).unwrap();
        v.set_options(Options {
            cache_signatures: cache,
            ..Options::default()
        });
        if crls {
            for crl in &self.crls {
                v.add_crl(crl).unwrap();
            }
            v.set_revocation_policy(RevocationPolicy::RequireFresh);
        }
        Arc::new(v)
    }
}

fn pkilab_handshake(c: &mut Criterion, pki: &Pki) {
    let mut rng = ChaCha20Rng::seed_from_u64(7);
    let mut identity = |name: &str| {
        let mut id = Identity::generate(name, &mut rng);
        let mut request = LeafRequest::new(
            name,
            pki.now - Duration::days(1),
            pki.now + Duration::days(365),
        );
        request.dns = vec![name.to_owned()];
        let issued = pki
            .issuing
            .issue(&request, &id.public_key_spki_der(), Serial::random())
            .unwrap();
        id.chain = vec![issued.der, pki.issuing.certificate_der().to_vec()];
        Arc::new(id)
    };
    let (alice, bob) = (identity("alice"), identity("bob"));
    let config = |id: &Arc<Identity>, validator: &Arc<Validator>, mode: Mode| Config {
        identity: Arc::clone(id),
        validator: Arc::clone(validator),
        at: pki.now,
        mode,
        cipher: Default::default(),
        ocsp: Default::default(),
        require_logged: None,
    };
    let mut rng = ChaCha20Rng::seed_from_u64(8);
    let rows = [
        (
            "pkilab_no_revocation",
            pki.validator(false, false),
            Mode::SignedEphemeral,
        ),
        ("hybrid", pki.validator(false, false), Mode::Hybrid),
        (
            "pkilab_crl_every_time",
            pki.validator(true, false),
            Mode::SignedEphemeral,
        ),
        (
            "pkilab_cached",
            pki.validator(true, true),
            Mode::SignedEphemeral,
        ),
    ];
    for (_, validator, mode) in &rows[..2] {
        let (reply, m1) = initiate(config(&alice, validator, *mode), "bob", &mut rng);
        let (finish, m2) =
            respond(config(&bob, validator, *mode), Some("alice"), &m1, &mut rng).unwrap();
        let (_, m3) = reply.handle(&m2).unwrap();
        finish.handle(&m3).unwrap();
        eprintln!(
            "frame sizes, {}: M1 {} bytes, M2 {} bytes, M3 {} bytes",
            mode.id(),
            m1.len(),
            m2.len(),
            m3.len()
        );
    }
    // The record path of an established session: seal on one side, open
    // on the other.
    let (reply, m1) = initiate(config(&alice, &rows[0].1, rows[0].2), "bob", &mut rng);
    let (finish, m2) = respond(
        config(&bob, &rows[0].1, rows[0].2),
        Some("alice"),
        &m1,
        &mut rng,
    )
    .unwrap();
    let (mut a, m3) = reply.handle(&m2).unwrap();
    let mut b = finish.handle(&m3).unwrap();
    let mut records = c.benchmark_group("record");
    for size in [16usize, 1024, 16 * 1024] {
        let plaintext = vec![0x42u8; size];
        records.throughput(Throughput::Bytes(size as u64));
        records.bench_function(format!("seal_open_{size}"), |bench| {
            bench.iter(|| b.session.open(&a.session.seal(&plaintext)).unwrap());
        });
    }
    records.finish();
    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    for (id, validator, mode) in &rows {
        group.bench_function(*id, |b| {
            b.iter(|| {
                let (reply, m1) = initiate(config(&alice, validator, *mode), "bob", &mut rng);
                let (finish, m2) =
                    respond(config(&bob, validator, *mode), Some("alice"), &m1, &mut rng).unwrap();
                let (a, m3) = reply.handle(&m2).unwrap();
                let b = finish.handle(&m3).unwrap();
                (a, b)
            });
        });
    }

    // The primitives one handshake performs: per side an X25519 key
    // generation and DH, an Ed25519 signature and a strict verification of
    // the peer's with its key decoded from the 32 bytes its certificate
    // carries (a point decompression, which aws-lc's certificate
    // verifications below also perform), and the two certificate
    // signatures of the peer's chain. The signature is made as the peer
    // makes it, with the key's SHA-512 expansion kept from the start.
    let signing = pkilab_peer::TranscriptSigner::from(SigningKey::from_bytes(&[9u8; 32]));
    let peer_key = signing.verifying_key().to_bytes();
    let message = [0x5au8; 47];
    let chain = &alice.chain;
    let parsed: Vec<X509Certificate<'_>> = chain
        .iter()
        .map(|d| X509Certificate::from_der(d).unwrap().1)
        .collect();
    let root_der = pki.root.certificate_der();
    let (_, root) = X509Certificate::from_der(root_der).unwrap();
    let checks = [(&parsed[0], &parsed[1]), (&parsed[1], &root)];
    group.bench_function("primitive_floor", |b| {
        b.iter(|| {
            for _ in 0..2 {
                let secret = EphemeralSecret::random_from_rng(&mut rng);
                let public = PublicKey::from(&secret);
                let shared = secret.diffie_hellman(&public);
                let signature = signing.sign(&message);
                let verifying = VerifyingKey::from_bytes(&peer_key).unwrap();
                verifying.verify_strict(&message, &signature).unwrap();
                for (cert, issuer) in checks {
                    UnparsedPublicKey::new(
                        &ED25519,
                        issuer.public_key().subject_public_key.as_ref(),
                    )
                    .verify(cert.tbs_certificate.as_ref(), cert.signature_value.as_ref())
                    .unwrap();
                }
                std::hint::black_box(shared);
            }
        });
    });
    group.finish();
}

fn rustls_handshake(c: &mut Criterion, pki: &Pki) {
    use rustls::client::WebPkiServerVerifier;
    use rustls::server::WebPkiClientVerifier;
    use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConfig, ServerConnection};

    let mut provider = rustls::crypto::aws_lc_rs::default_provider();
    provider.kx_groups = vec![rustls::crypto::aws_lc_rs::kx_group::X25519];
    let provider = Arc::new(provider);
    let mut roots = RootCertStore::empty();
    roots
        .add(CertificateDer::from(pki.root.certificate_der().to_vec()))
        .unwrap();
    let roots = Arc::new(roots);
    let crls: Vec<CertificateRevocationListDer<'static>> = pki
        .crls
        .iter()
        .map(|c| CertificateRevocationListDer::from(c.clone()))
        .collect();
    let cert_chain = |chain: Vec<Vec<u8>>| -> Vec<CertificateDer<'static>> {
        chain.into_iter().map(CertificateDer::from).collect()
    };
    let server_key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
    let client_key = CaKey::generate(SigningAlgorithm::Ed25519).unwrap();
    let key_der = |k: &CaKey| PrivateKeyDer::try_from(k.to_pkcs8_der().to_vec()).unwrap();

    let mut group = c.benchmark_group("handshake");
    group.throughput(Throughput::Elements(1));
    let server_chain = cert_chain(pki.leaf("bob.example", &server_key));
    let client_chain = cert_chain(pki.leaf("alice", &client_key));
    for (id, with_crls) in [("rustls_no_revocation", false), ("rustls_crl", true)] {
        let crls = if with_crls { crls.clone() } else { Vec::new() };
        let client_verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .with_crls(crls.clone())
                .build()
                .unwrap();
        let mut server_config = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_client_cert_verifier(client_verifier)
            .with_single_cert(server_chain.clone(), key_der(&server_key))
            .unwrap();
        server_config.send_tls13_tickets = 0;
        server_config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
        let server_config = Arc::new(server_config);
        let server_verifier =
            WebPkiServerVerifier::builder_with_provider(Arc::clone(&roots), Arc::clone(&provider))
                .with_crls(crls)
                .build()
                .unwrap();
        let mut client_config = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .unwrap()
            .with_webpki_verifier(server_verifier)
            .with_client_auth_cert(client_chain.clone(), key_der(&client_key))
            .unwrap();
        client_config.resumption = rustls::client::Resumption::disabled();
        let client_config = Arc::new(client_config);
        let name = ServerName::try_from("bob.example").unwrap();
        group.bench_function(id, |b| {
            b.iter(|| {
                let mut client =
                    ClientConnection::new(Arc::clone(&client_config), name.clone()).unwrap();
                let mut server = ServerConnection::new(Arc::clone(&server_config)).unwrap();
                let mut buffer = Vec::with_capacity(4096);
                while client.is_handshaking() || server.is_handshaking() {
                    let mut moved = false;
                    while client.wants_write() {
                        buffer.clear();
                        client.write_tls(&mut buffer).unwrap();
                        server.read_tls(&mut buffer.as_slice()).unwrap();
                        server.process_new_packets().unwrap();
                        moved = true;
                    }
                    while server.wants_write() {
                        buffer.clear();
                        server.write_tls(&mut buffer).unwrap();
                        client.read_tls(&mut buffer.as_slice()).unwrap();
                        client.process_new_packets().unwrap();
                        moved = true;
                    }
                    assert!(moved, "the handshake stalled");
                }
                (client, server)
            });
        });
    }
    group.finish();
}

fn handshakes(c: &mut Criterion) {
    let pki = Pki::new();
    pkilab_handshake(c, &pki);
    rustls_handshake(c, &pki);
}

criterion_group!(benches, handshakes);
criterion_main!(benches);
