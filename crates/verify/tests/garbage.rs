//! Bytes an attacker controls (certificates, CRLs, OCSP responses) never
//! panic the validator, and any change to a signed input is refused: every
//! byte of a certificate or CRL is signed or describes the signature.

mod common;

use std::sync::OnceLock;

use common::*;
use pkilab_verify::{IndexedCrl, OcspEntry};
use proptest::prelude::*;

struct Inputs {
    root: Ca,
    issuing: Ca,
    leaf: Ca,
    crl: Vec<u8>,
}

fn inputs() -> &'static Inputs {
    static INPUTS: OnceLock<Inputs> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let root = root("Root");
        let issuing = issue(ca_params("Issuing"), &root);
        let leaf = issue(leaf_params("a.example"), &issuing);
        let serial = [0x01, 0x02];
        let crl = crl(
            &issuing,
            &issuing,
            &[Entry {
                serial: &serial,
                reason: Some(1),
            }],
            3,
            &[],
        );
        Inputs {
            root,
            issuing,
            leaf,
            crl,
        }
    })
}

fn mutate(bytes: &[u8], edits: &[(usize, u8)], cut: usize) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (at, value) in edits {
        if !out.is_empty() {
            let i = at % out.len();
            out[i] = *value;
        }
    }
    out.truncate(out.len().saturating_sub(cut % 4));
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]
    #[test]
    fn mutated_inputs_never_panic(
        which in 0usize..4,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in any::<usize>(),
    ) {
        let i = inputs();
        let mut leaf = i.leaf.der.clone();
        let mut issuing = i.issuing.der.clone();
        let mut crl = i.crl.clone();
        match which {
            0 => leaf = mutate(&leaf, &edits, cut),
            1 => issuing = mutate(&issuing, &edits, cut),
            2 => crl = mutate(&crl, &edits, cut),
            _ => {
                let _ = OcspEntry::from_der(&mutate(&crl, &edits, cut));
            }
        }
        let _ = IndexedCrl::from_der(&crl);
        let mut v = validator(&i.root);
        // As `pkilab verify --crl` does: a CRL that no longer names the
        // leaf's issuer and key leaves it uncovered, so refused.
        v.set_revocation_policy(pkilab_verify::RevocationPolicy::RequireFresh);
        v.set_options(pkilab_verify::Options {
            crl_scope: pkilab_verify::CrlScope::Leaf,
            ..pkilab_verify::Options::default()
        });
        let _ = v.add_crl(&crl);
        let changed = leaf != i.leaf.der || issuing != i.issuing.der || crl != i.crl;
        let verdict = v.validate(&leaf, &[issuing], &ask("a.example"));
        prop_assert_eq!(verdict.is_valid(), !changed, "{}", verdict);
    }
}

/// The outer signatureAlgorithm is not signed: a parser that reads its
/// OID whatever the tag would let a changed byte through. Each altered
/// tag or length in it is refused.
#[test]
fn an_altered_outer_signature_algorithm_is_refused() {
    let i = inputs();
    let ed25519 = [0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70];
    let der = &i.issuing.der;
    let at = der
        .windows(ed25519.len())
        .rposition(|w| w == ed25519)
        .expect("the outer AlgorithmIdentifier");
    for (offset, value) in [(2, 0x80), (2, 0x16), (0, 0x31), (4, 0x2a)] {
        let mut issuing = der.clone();
        issuing[at + offset] = value;
        let verdict = validator(&i.root).validate(&i.leaf.der, &[issuing], &ask("a.example"));
        assert!(
            !verdict.is_valid(),
            "byte {offset} set to {value:#04x}: {verdict}"
        );
    }
    // The same for a CRL, which `pkilab verify --crl` would load.
    let at = i
        .crl
        .windows(ed25519.len())
        .rposition(|w| w == ed25519)
        .expect("the CRL's outer AlgorithmIdentifier");
    for (offset, value) in [(2, 0x80), (2, 0x16), (0, 0x31), (4, 0x2a)] {
        let mut crl = i.crl.clone();
        crl[at + offset] = value;
        let mut v = validator(&i.root);
        v.set_revocation_policy(pkilab_verify::RevocationPolicy::RequireFresh);
        v.set_options(pkilab_verify::Options {
            crl_scope: pkilab_verify::CrlScope::Leaf,
            ..pkilab_verify::Options::default()
        });
        let _ = v.add_crl(&crl);
        let verdict = v.validate(
            &i.leaf.der,
            std::slice::from_ref(&i.issuing.der),
            &ask("a.example"),
        );
        assert!(
            !verdict.is_valid(),
            "CRL byte {offset} set to {value:#04x}: {verdict}"
        );
    }
}
