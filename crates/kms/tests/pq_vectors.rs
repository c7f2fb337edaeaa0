#![allow(clippy::panic)]
//! Post-quantum vectors through the KMS's own material functions: the
//! X-Wing authors' known-answer values (reference code, expanded 2464-byte
//! decapsulation keys) and Wycheproof's ML-KEM-768 vectors, from
//! `tests/pq-vectors/`, copied as published (`PKILAB_PQ_VECTORS`
//! overrides the directory).
//!
//! aws-lc-rs (the version in Cargo.lock) generates ML-KEM keys and
//! encapsulates only with its own generator: it has no key generation
//! from a seed and no encapsulation with given randomness. So the tests
//! check everything else those vectors fix: decapsulation with the given
//! keys, the X25519 half of X-Wing key generation and encapsulation with
//! the given randomness, the combiner, the keys' internal consistency,
//! and the refusal of every malformed key and ciphertext.

use std::collections::HashMap;
use std::path::PathBuf;

use pkilab_kms::xwing::{self, check_ml_kem_secret, ml_kem_decapsulate, ml_kem_encapsulate};
use pkilab_kms::{KeyType, KmsError, Material};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    std::env::var_os("PKILAB_PQ_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/pq-vectors"),
        PathBuf::from,
    )
}

fn read(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (set PKILAB_PQ_VECTORS)", path.display()))
}

/// The three byte strings of a `const unsigned char NAME[3][N] = {{…}, …};`.
fn c_array(header: &str, name: &str) -> Vec<Vec<u8>> {
    let start = header
        .find(&format!("{name}["))
        .unwrap_or_else(|| panic!("{name} in the header"));
    let body = &header[start..];
    let open = body.find("= {").expect("initializer") + 3;
    let close = body.find("};").expect("end of initializer");
    body[open..close]
        .split('}')
        .map(|row| {
            row.split(',')
                .filter_map(|t| t.trim().trim_start_matches('{').trim().strip_prefix("0x"))
                .map(|h| u8::from_str_radix(h, 16).expect("hex byte"))
                .collect::<Vec<u8>>()
        })
        .filter(|row| !row.is_empty())
        .collect()
}

struct XwingVector {
    seed: Vec<u8>,
    pk: Vec<u8>,
    sk: Vec<u8>,
    eseed: Vec<u8>,
    ct: Vec<u8>,
    ss: Vec<u8>,
}

fn xwing_vectors() -> Vec<XwingVector> {
    let h = read("xwing-test_vectors.h");
    let column = |n: &str| c_array(&h, n);
    let (seeds, pks, sks) = (
        column("XWING_SEED_TEST_VECTOR"),
        column("XWING_PUBLICKEY_TEST_VECTOR"),
        column("XWING_SECRETKEY_TEST_VECTOR"),
    );
    let (eseeds, cts, sss) = (
        column("XWING_ESEED_TEST_VECTOR"),
        column("XWING_CIPHERTEXT_TEST_VECTOR"),
        column("XWING_SHAREDKEY_TEST_VECTOR"),
    );
    let vectors: Vec<XwingVector> = (0..seeds.len())
        .map(|i| XwingVector {
            seed: seeds[i].clone(),
            pk: pks[i].clone(),
            sk: sks[i].clone(),
            eseed: eseeds[i].clone(),
            ct: cts[i].clone(),
            ss: sss[i].clone(),
        })
        .collect();
    assert_eq!(vectors.len(), 3);
    for v in &vectors {
        assert_eq!(
            (
                v.seed.len(),
                v.pk.len(),
                v.sk.len(),
                v.eseed.len(),
                v.ct.len(),
                v.ss.len()
            ),
            (96, 1216, 2464, 64, 1120, 32)
        );
    }
    vectors
}

fn a32(bytes: &[u8]) -> [u8; 32] {
    bytes.try_into().expect("32 bytes")
}

#[test]
fn xwing_decapsulation_matches_the_known_answers() {
    for (i, v) in xwing_vectors().iter().enumerate() {
        let material = Material::import(KeyType::Xwing, &v.sk).expect("the key imports");
        let ss = material.xwing_decapsulate(&v.ct).expect("decapsulates");
        assert_eq!(&ss[..], &v.ss[..], "vector {i}");
        let spki = material.public_spki().expect("public key");
        assert_eq!(&spki[spki.len() - 1216..], &v.pk[..], "vector {i}");
    }
}

#[test]
fn xwing_encapsulation_with_the_given_x25519_randomness_matches() {
    for (i, v) in xwing_vectors().iter().enumerate() {
        // ML-KEM's share of the ciphertext cannot be recomputed from the
        // vector's randomness; its secret comes from decapsulation instead.
        let ss_m = ml_kem_decapsulate(&v.sk[..2400], &v.ct[..1088]).expect("ML-KEM");
        let (ct_x, ss) =
            xwing::encapsulate_x25519(&a32(&v.eseed[32..]), &a32(&v.pk[1184..]), &ss_m);
        assert_eq!(
            (&ct_x[..], &ss[..]),
            (&v.ct[1088..], &v.ss[..]),
            "vector {i}"
        );
    }
}

#[test]
fn xwing_key_generation_x25519_half_and_layout_match() {
    for (i, v) in xwing_vectors().iter().enumerate() {
        // The seed's last 32 bytes are the X25519 secret key.
        assert_eq!(&v.sk[2400..2432], &v.seed[64..], "vector {i}");
        assert_eq!(
            xwing::public_key(&v.sk).expect("valid key"),
            v.pk,
            "vector {i}"
        );
    }
}

#[test]
fn xwing_encrypts_to_its_public_key_and_refuses_altered_or_malformed_input() {
    let material = Material::generate(KeyType::Xwing).expect("generate");
    let sealed = material
        .encrypt(b"key xw v1", b"harvest me if you can")
        .expect("seal");
    assert_eq!(sealed.len(), 1120 + 12 + 21 + 16);
    let opened = material.decrypt(b"key xw v1", &sealed).expect("open");
    assert_eq!(&opened[..], b"harvest me if you can");
    for at in [0, 1100, 1130, sealed.len() - 1] {
        let mut altered = sealed.clone();
        altered[at] ^= 1;
        assert!(
            matches!(
                material.decrypt(b"key xw v1", &altered),
                Err(KmsError::Unauthentic)
            ),
            "a bit flipped at {at} was accepted"
        );
    }
    assert!(matches!(
        material.decrypt(b"key xw v2", &sealed),
        Err(KmsError::Unauthentic)
    ));
    assert!(matches!(
        material.decrypt(b"", &sealed[..1119]),
        Err(KmsError::Unauthentic)
    ));
    let (ct, ss) = material.xwing_encapsulate().expect("encapsulate");
    assert_eq!(
        &material.xwing_decapsulate(&ct).expect("decapsulate")[..],
        &ss[..]
    );
}

#[test]
fn xwing_import_refuses_inconsistent_keys() {
    let v = &xwing_vectors()[0];
    let mut wrong_pk_x = v.sk.clone();
    wrong_pk_x[2463] ^= 1;
    let mut wrong_hash = v.sk.clone();
    wrong_hash[2340] ^= 1;
    for bad in [&v.sk[..2463], &wrong_pk_x[..], &wrong_hash[..]] {
        assert!(
            matches!(
                Material::import(KeyType::Xwing, bad),
                Err(KmsError::Malformed(_))
            ),
            "accepted a bad key of {} bytes",
            bad.len()
        );
    }
}

fn hex(test: &Value, field: &str) -> Vec<u8> {
    hex::decode(test[field].as_str().unwrap_or_default()).expect("hex field")
}

fn tests_of(file: &str) -> Vec<Value> {
    let set: Value = serde_json::from_str(&read(file)).expect("JSON");
    set["testGroups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["tests"].as_array().expect("tests").clone())
        .collect()
}

/// Decapsulation keys by another byte string (seed or encapsulation key).
type KeysBy = HashMap<Vec<u8>, Vec<u8>>;

/// Key generation vectors: decapsulation keys by seed and by ek.
fn keygen() -> (KeysBy, KeysBy) {
    let mut by_seed = HashMap::new();
    let mut by_ek = HashMap::new();
    for test in tests_of("wycheproof-mlkem_768_keygen_seed_test.json") {
        by_seed.insert(hex(&test, "seed"), hex(&test, "dk"));
        by_ek.insert(hex(&test, "ek"), hex(&test, "dk"));
    }
    (by_seed, by_ek)
}

#[test]
fn wycheproof_ml_kem_768_key_generation_vectors_are_consistent_keys() {
    let tests = tests_of("wycheproof-mlkem_768_keygen_seed_test.json");
    assert_eq!(tests.len(), 100);
    for test in &tests {
        let (ek, dk) = (hex(test, "ek"), hex(test, "dk"));
        let id = &test["tcId"];
        check_ml_kem_secret(&dk).unwrap_or_else(|e| panic!("tc {id}: {e}"));
        assert_eq!(&dk[1152..2336], &ek[..], "tc {id}: the dk carries its ek");
        let (ct, ss) = ml_kem_encapsulate(&ek).unwrap_or_else(|e| panic!("tc {id}: {e}"));
        assert_eq!(
            &ml_kem_decapsulate(&dk, &ct).expect("decapsulates")[..],
            &ss[..],
            "tc {id}"
        );
    }
}

#[test]
fn wycheproof_ml_kem_768_decapsulation() {
    let (by_seed, _) = keygen();
    let any_dk = by_seed.values().next().expect("a key").clone();
    let (mut decapsulated, mut refused, mut no_key) = (0, 0, 0);
    for test in tests_of("wycheproof-mlkem_768_test.json") {
        let (id, c, k) = (&test["tcId"], hex(&test, "c"), hex(&test, "K"));
        let valid = test["result"] == "valid";
        match by_seed.get(&hex(&test, "seed")) {
            Some(dk) if valid => {
                let got = ml_kem_decapsulate(dk, &c).unwrap_or_else(|e| panic!("tc {id}: {e}"));
                assert_eq!(&got[..], &k[..], "tc {id}");
                decapsulated += 1;
            }
            // A ciphertext of the wrong length is refused whatever the key.
            _ if !valid && c.len() != 1088 => {
                let got = ml_kem_decapsulate(&any_dk, &c);
                assert!(matches!(got, Err(KmsError::Unauthentic)), "tc {id}");
                refused += 1;
            }
            // A decapsulation key is needed, and it exists only as a seed
            // (no key generation from a seed in aws-lc-rs).
            _ => no_key += 1,
        }
    }
    assert_eq!((decapsulated, refused, no_key), (100, 20, 73));
}

#[test]
fn wycheproof_ml_kem_768_encapsulation() {
    let (_, by_ek) = keygen();
    let (mut known, mut accepted, mut refused) = (0, 0, 0);
    for test in tests_of("wycheproof-mlkem_768_encaps_test.json") {
        let (id, ek) = (&test["tcId"], hex(&test, "ek"));
        let result = ml_kem_encapsulate(&ek);
        if test["result"] != "valid" {
            assert!(
                matches!(result, Err(KmsError::Malformed(_))),
                "tc {id}: {:?}",
                test["comment"]
            );
            refused += 1;
            continue;
        }
        let (ct, ss) = result.unwrap_or_else(|e| panic!("tc {id}: {e}"));
        accepted += 1;
        // With the matching decapsulation key, the vector's ciphertext
        // gives its secret, and ours gives ours.
        if let Some(dk) = by_ek.get(&ek) {
            let expected = ml_kem_decapsulate(dk, &hex(&test, "c")).expect("decapsulates");
            assert_eq!(&expected[..], &hex(&test, "K")[..], "tc {id}");
            assert_eq!(
                &ml_kem_decapsulate(dk, &ct).expect("ours")[..],
                &ss[..],
                "tc {id}"
            );
            known += 1;
        }
    }
    assert_eq!((accepted, known, refused), (133, 100, 132));
}
