#![allow(clippy::panic)]
//! Wycheproof vectors through the KMS's own key material functions:
//! RSA-OAEP-SHA256 decryption (2048 and 3072), RSA-PSS-SHA256 verification
//! (2048, 3072, 4096, salt 32) and AES-256-GCM.

use pkilab_kms::{KeyType, KmsError, Material, verify_with_spki};
use wycheproof::TestResult;

#[test]
fn rsa_oaep_sha256_decryption_matches_wycheproof() {
    use wycheproof::rsa_oaep::{TestName, TestSet};
    let mut checked = 0;
    for (name, key_type) in [
        (TestName::Rsa2048Sha256Mgf1Sha256, KeyType::Rsa2048),
        (TestName::Rsa3072Sha256Mgf1Sha256, KeyType::Rsa3072),
    ] {
        for group in TestSet::load(name).expect("vectors").test_groups {
            let material = Material::import(key_type, &group.pkcs8).expect("key imports");
            for test in group.tests {
                let result = material.decrypt(&test.label, &test.ct);
                match test.result {
                    TestResult::Valid => {
                        let pt = result.unwrap_or_else(|e| panic!("tc {}: {e}", test.tc_id));
                        assert_eq!(pt[..], test.pt[..], "tc {}", test.tc_id);
                    }
                    TestResult::Invalid => {
                        assert!(
                            matches!(result, Err(KmsError::Unauthentic)),
                            "tc {} {}",
                            test.tc_id,
                            test.comment
                        );
                    }
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn rsa_pss_sha256_verification_matches_wycheproof() {
    use wycheproof::rsa_pss_verify::{TestName, TestSet};
    let mut checked = 0;
    for (name, key_type) in [
        (TestName::RsaPss2048Sha256Mgf1SaltLen32, KeyType::Rsa2048),
        (TestName::RsaPss3072Sha256Mgf1SaltLen32, KeyType::Rsa3072),
        (TestName::RsaPss4096Sha256Mgf1SaltLen32, KeyType::Rsa4096),
    ] {
        for group in TestSet::load(name).expect("vectors").test_groups {
            for test in group.tests {
                let valid =
                    verify_with_spki(key_type, &group.der, &test.msg, &test.sig).expect("verifies");
                match test.result {
                    TestResult::Valid => assert!(valid, "tc {} {}", test.tc_id, test.comment),
                    TestResult::Invalid => assert!(!valid, "tc {} {}", test.tc_id, test.comment),
                    TestResult::Acceptable => {}
                }
                checked += 1;
            }
        }
    }
    assert!(checked > 50, "{checked}");
}

#[test]
fn aes_256_gcm_matches_wycheproof() {
    use wycheproof::aead::{TestName, TestSet};
    let mut checked = 0;
    for group in TestSet::load(TestName::AesGcm)
        .expect("vectors")
        .test_groups
    {
        if group.key_size != 256 || group.nonce_size != 96 || group.tag_size != 128 {
            continue;
        }
        for test in group.tests {
            let material = Material::import(KeyType::Aes256Gcm, &test.key).expect("key");
            let sealed = [&test.nonce[..], &test.ct[..], &test.tag[..]].concat();
            let result = material.decrypt(&test.aad, &sealed);
            match test.result {
                TestResult::Valid | TestResult::Acceptable => {
                    let pt = result.unwrap_or_else(|e| panic!("tc {}: {e}", test.tc_id));
                    assert_eq!(pt[..], test.pt[..], "tc {}", test.tc_id);
                    // Our own sealing round-trips (with its own random nonce).
                    let ours = material.encrypt(&test.aad, &test.pt).expect("seal");
                    assert_eq!(
                        material.decrypt(&test.aad, &ours).expect("open")[..],
                        test.pt[..]
                    );
                }
                TestResult::Invalid => {
                    assert!(
                        matches!(result, Err(KmsError::Unauthentic)),
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
