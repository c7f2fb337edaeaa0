//! A KMS refusal during a key step is what the step observed, with its
//! reason, not a run that could not be carried out.

use pkilab_scenario::{RunOptions, load_str, run};

#[test]
fn rotating_an_expired_key_is_an_observed_key_state_refusal() {
    let text = "name: r\nsummary: s\nclock: 2026-01-01T00:00:00Z\npki: { root: R, intermediates: [I] }\npeers: [alice, bob]\nkms:\n  keys:\n    - { name: team, members: [alice, bob], expires-in: 1d }\nsteps:\n  - advance: 2d\n  - rotate-key: { key: team }\n    expect: { reason: key-state }\n  - remove-member: { key: team, peer: bob }\n";
    let scenario = load_str("r.yaml", text).expect("valid");
    let report = run(&scenario, RunOptions::default()).expect("the run is carried out");
    assert!(report.passed, "{:?}", report.steps[1].checks);
    assert_eq!(
        report.steps[1].observed.reason.as_deref(),
        Some("key-state")
    );
    assert_eq!(report.steps[1].observed.version, None);
    let removal = report.steps[2].narration.join(" ");
    assert!(
        removal.contains("no longer serves team to bob, but the key did not rotate"),
        "{removal}"
    );
}
