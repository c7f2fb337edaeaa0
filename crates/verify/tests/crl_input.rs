#![allow(clippy::panic)]
//! Damaged CRLs: every truncation is refused, every single-byte change is
//! either refused or still indexes, and none panics.

use pkilab_ca::{
    CaKey, CertificateAuthority, RevocationReason, RevokedEntry, Serial, SigningAlgorithm,
};
use pkilab_verify::IndexedCrl;
use time::{Duration, OffsetDateTime};

fn crl() -> (Vec<u8>, Vec<Serial>) {
    let now = OffsetDateTime::from_unix_timestamp(1_800_000_000).expect("time");
    let ca = CertificateAuthority::new_root(
        "Damaged CRL CA",
        CaKey::generate(SigningAlgorithm::Ed25519).expect("key"),
        now - Duration::days(1),
        now + Duration::days(365),
        Serial::random(),
    )
    .expect("root");
    let serials: Vec<Serial> = (0..3).map(|_| Serial::random()).collect();
    let entries: Vec<RevokedEntry> = serials
        .iter()
        .map(|s| RevokedEntry {
            serial: s.clone(),
            revoked_at: now,
            reason: RevocationReason::KeyCompromise,
        })
        .collect();
    let der = ca
        .crl(&entries, 1, now, now + Duration::days(7))
        .expect("crl");
    (der, serials)
}

#[test]
fn a_good_crl_indexes_every_serial_with_its_reason() {
    let (der, serials) = crl();
    let index = IndexedCrl::from_der(&der).expect("indexes");
    assert_eq!(index.len(), 3);
    for serial in &serials {
        let hit = index.lookup(serial.as_bytes()).expect("listed");
        assert_eq!(hit.reason, 1, "keyCompromise");
    }
    assert!(index.lookup(Serial::random().as_bytes()).is_none());
}

#[test]
fn every_truncation_is_refused() {
    let (der, _) = crl();
    for len in 0..der.len() {
        assert!(
            IndexedCrl::from_der(&der[..len]).is_err(),
            "accepted {len} bytes"
        );
    }
}

#[test]
fn no_single_byte_change_panics() {
    let (der, _) = crl();
    for position in 0..der.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut damaged = der.clone();
            damaged[position] ^= flip;
            let _ = IndexedCrl::from_der(&damaged);
        }
    }
}
