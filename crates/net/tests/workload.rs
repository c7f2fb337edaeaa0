//! Workloads: every core is used, yet the result depends only on the seed,
//! and revocation still holds inside a workload.
#![allow(clippy::panic)]

use pkilab_ca::RevocationReason;
use pkilab_net::{AdversaryKind, MitmCertificate, Network, PkiSpec};
use pkilab_peer::Mode;
use time::{Duration, macros::datetime};

fn network(seed: u64, peers: usize) -> Network {
    let spec = PkiSpec {
        root: "Example Root CA".into(),
        intermediates: vec!["Example Issuing CA".into()],
        rogue: vec![],
        crl_validity: Duration::days(7),
        certificate_validity: Duration::days(365),
    };
    let mut net = Network::new(seed, datetime!(2026-01-01 00:00 UTC), spec).expect("network");
    for i in 0..peers {
        net.add_peer(&format!("node{i}")).expect("peer");
    }
    net
}

#[test]
fn a_clean_workload_establishes_every_handshake() {
    let mut net = network(5, 20);
    let mut last = 0;
    let established = net
        .workload(300, Mode::SignedEphemeral, |done| last = done)
        .expect("runs");
    assert_eq!((established, last), (300, 300));
}

#[test]
fn the_same_seed_gives_the_same_outcome_with_a_revoked_peer() {
    let run = |seed| {
        let mut net = network(seed, 12);
        net.revoke("node3", RevocationReason::KeyCompromise)
            .expect("revoke");
        net.publish_crl(None).expect("crl");
        let established = net
            .workload(400, Mode::SignedEphemeral, |_| {})
            .expect("runs");
        // After the workload the network goes on deterministically too.
        let next = net
            .handshake("node1", "node2", Mode::SignedEphemeral)
            .expect("runs");
        (established, next.established, format!("{:?}", net.trace()))
    };
    let first = run(9);
    assert!(first.0 < 400 && first.0 > 250, "{} established", first.0);
    assert!(first.1);
    assert_eq!(first, run(9));
}

#[test]
fn a_workload_with_an_adversary_goes_through_the_links() {
    let mut net = network(3, 2);
    net.add_adversary(
        "mallory",
        AdversaryKind::Mitm(MitmCertificate::Own),
        "node0",
        "node1",
        "node1",
    )
    .expect("adversary");
    let established = net
        .workload(10, Mode::SignedEphemeral, |_| {})
        .expect("runs");
    assert_eq!(
        established, 0,
        "the MITM breaks every handshake on its link"
    );
}
