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
