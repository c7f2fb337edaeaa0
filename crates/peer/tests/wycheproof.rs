#![allow(clippy::panic)]
//! Wycheproof vectors through `pkilab_peer::primitives`, the functions the
//! handshake and session call.

use ed25519_dalek::VerifyingKey;
use pkilab_peer::primitives::{
    PrimitiveError, aead_key, aead_open, aead_seal, ed25519_verify, hkdf_expand, hkdf_extract,
    x25519,
};
use wycheproof::TestResult;
use x25519_dalek::StaticSecret;

#[test]
fn x25519_matches_wycheproof_and_refuses_zero_secrets() {
    let set = wycheproof::xdh::TestSet::load(wycheproof::xdh::TestName::X25519).expect("x25519");
    let (mut agreed, mut refused) = (0, 0);
    for group in set.test_groups {
        for test in group.tests {
            let secret: [u8; 32] = test.private_key[..].try_into().expect("32-byte scalar");
            let Ok(public) = <[u8; 32]>::try_from(&test.public_key[..]) else {
                // Wrong-length public keys cannot reach x25519: the wire
                // type is [u8; 32].
                assert_eq!(test.result, TestResult::Invalid, "tc {}", test.tc_id);
                continue;
            };
            let secret = StaticSecret::from(secret);
            let zero = test.shared_secret.iter().all(|b| *b == 0);
            match x25519(|p| secret.diffie_hellman(p), &public) {
                Ok(shared) => {
                    assert!(!zero, "tc {}: an all-zero secret was accepted", test.tc_id);
                    assert_ne!(test.result, TestResult::Invalid, "tc {}", test.tc_id);
                    assert_eq!(
                        shared.as_bytes()[..],
                        test.shared_secret[..],
                        "tc {}",
                        test.tc_id
                    );
                    agreed += 1;
                }
                Err(e) => {
                    assert_eq!(e, PrimitiveError::NonContributory);
                    assert!(zero, "tc {}: refused a contributory secret", test.tc_id);
                    refused += 1;
                }
            }
        }
    }
    assert!(
        agreed > 400 && refused > 5,
        "{agreed} agreed, {refused} refused"
    );
}

#[test]
fn ed25519_verify_strict_matches_wycheproof() {
    let set =
        wycheproof::eddsa::TestSet::load(wycheproof::eddsa::TestName::Ed25519).expect("ed25519");
    let mut checked = 0;
    for group in set.test_groups {
        let key: [u8; 32] = group.key.pk[..].try_into().expect("32-byte key");
        let key = VerifyingKey::from_bytes(&key);
        for test in group.tests {
            let verdict = match &key {
                Ok(key) => ed25519_verify(key, &test.msg, &test.sig),
                Err(_) => Err(PrimitiveError::BadSignature),
            };
            match test.result {
                TestResult::Valid => assert!(verdict.is_ok(), "tc {} {}", test.tc_id, test.comment),
                TestResult::Invalid => {
                    assert!(verdict.is_err(), "tc {} {}", test.tc_id, test.comment);
                }
                TestResult::Acceptable => {}
            }
            checked += 1;
        }
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn hkdf_sha256_matches_wycheproof() {
    let set =
        wycheproof::hkdf::TestSet::load(wycheproof::hkdf::TestName::HkdfSha256).expect("hkdf");
    let mut checked = 0;
    for group in set.test_groups {
        for test in group.tests {
            let prk = hkdf_extract(&test.salt, &test.ikm);
            let mut out = vec![0u8; test.size];
            let result = hkdf_expand(&prk, &[&test.info], &mut out);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert!(result.is_ok(), "tc {}", test.tc_id);
                    assert_eq!(out[..], test.okm[..], "tc {}", test.tc_id);
                }
                TestResult::Invalid => {
                    assert_eq!(
                        result,
                        Err(PrimitiveError::OutputTooLong),
                        "tc {}",
                        test.tc_id
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn aes_256_gcm_matches_wycheproof() {
    let set = wycheproof::aead::TestSet::load(wycheproof::aead::TestName::AesGcm).expect("gcm");
    let mut checked = 0;
    for group in set.test_groups {
        // The protocol uses 256-bit keys, 96-bit nonces and 128-bit tags.
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for test in group.tests {
            let key: [u8; 32] = test.key[..].try_into().expect("32-byte key");
            let nonce: [u8; 12] = test.nonce[..].try_into().expect("12-byte nonce");
            let key = aead_key(&key);
            let sealed = [&test.ct[..], &test.tag[..]].concat();
            let opened = aead_open(&key, nonce, &test.aad, &sealed);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    let plaintext = opened.expect("a valid vector opens");
                    assert_eq!(plaintext[..], test.pt[..], "tc {}", test.tc_id);
                    assert_eq!(
                        aead_seal(&key, nonce, &test.aad, &test.pt),
                        sealed,
                        "tc {}",
                        test.tc_id
                    );
                }
                TestResult::Invalid => {
                    assert_eq!(
                        opened.err(),
                        Some(PrimitiveError::Unauthentic),
                        "tc {}",
                        test.tc_id
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked > 50, "{checked}");
}
