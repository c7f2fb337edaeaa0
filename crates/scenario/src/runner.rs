//! Running a validated scenario on the simulated network.

use pkilab_ca::RevocationReason;
use pkilab_net::{
    AdversaryKind, MitmCertificate, NetError, Network, PeerPolicy, PkiSpec, ReplayPlan, Revocation,
};
use pkilab_peer::Mode as PeerMode;

use crate::diagram::{key_schedules, learned, messages, participants};
use crate::model::{self, Mode, Outcome};
use crate::narrate;
use crate::report::{Observed, RunReport, StepReport, compare};
use crate::script::{Action, Scenario, Step};

/// A run that could not be carried out (a setup the CA or network refused).
#[derive(Debug, thiserror::Error)]
#[error("{path}:{line}: {source}")]
pub struct RunError {
    /// The file.
    pub path: String,
    /// Line of the step (0: the setup).
    pub line: u64,
    /// What failed.
    #[source]
    pub source: NetError,
}

/// How to run.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Overrides the file's seed.
    pub seed: Option<u64>,
    /// Called during workloads with (done, total).
    pub progress: Option<&'a mut dyn FnMut(u64, u64)>,
}

impl std::fmt::Debug for RunOptions<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunOptions")
            .field("seed", &self.seed)
            .finish_non_exhaustive()
    }
}

fn peer_mode(mode: Mode) -> PeerMode {
    match mode {
        Mode::SignedEphemeral => PeerMode::SignedEphemeral,
        Mode::Unauthenticated => PeerMode::Unauthenticated,
        Mode::Static => PeerMode::Static,
        Mode::Hybrid => PeerMode::Hybrid,
    }
}

fn setup(scenario: &Scenario, seed: u64) -> Result<Network, NetError> {
    let spec = PkiSpec {
        root: scenario.root.clone(),
        intermediates: scenario.intermediates.clone(),
        rogue: scenario.rogue.clone(),
        crl_validity: scenario.crl_validity.to_time(),
        certificate_validity: scenario.certificate_validity.to_time(),
    };
    let mut network = Network::new(seed, scenario.clock, spec)?;
    for peer in &scenario.peers {
        network.add_peer(peer)?;
    }
    for (peer, setup) in &scenario.policies {
        network.configure_peer(
            peer,
            PeerPolicy {
                accept: setup.accept.clone(),
                modes: setup.modes.iter().map(|m| peer_mode(*m)).collect(),
                trusts: setup.trusts.clone(),
                revocation: revocation(setup),
                require_logged: setup.require_logged,
            },
        )?;
    }
    setup_kms(&mut network, scenario)?;
    if let Some(ocsp) = &scenario.ocsp {
        network.add_ocsp_responder(&ocsp.name, ocsp.validity.to_time())?;
    }
    for monitor in &scenario.monitors {
        network.add_monitor(&monitor.name, &monitor.watches, monitor.every.to_time())?;
    }
    if let Some(every) = scenario.delta_crl_every {
        network.schedule_delta_crls(every.to_time());
    }
    for a in &scenario.adversaries {
        let kind = match a.kind {
            model::AdversaryKind::Eavesdropper => AdversaryKind::Eavesdropper,
            model::AdversaryKind::Replayer => AdversaryKind::Replayer(ReplayPlan {
                delay: a.delay.map(|d| d.to_time()),
                next_session: a.into == model::ReplayInto::NextSession,
                records: a.records,
            }),
            model::AdversaryKind::Tamperer => AdversaryKind::Tamperer(a.records),
            model::AdversaryKind::Downgrader => AdversaryKind::Downgrader,
            model::AdversaryKind::Stripper => AdversaryKind::Stripper,
            model::AdversaryKind::Dropper => AdversaryKind::Dropper(a.records),
            model::AdversaryKind::Mitm => AdversaryKind::Mitm(match a.certificate {
                model::MitmCertificate::None => MitmCertificate::None,
                model::MitmCertificate::Own => MitmCertificate::Own,
                model::MitmCertificate::Stolen => MitmCertificate::Stolen,
                model::MitmCertificate::Forged => MitmCertificate::Forged,
                model::MitmCertificate::RogueCa => MitmCertificate::RogueCa,
            }),
        };
        network.add_adversary(&a.name, kind, &a.link.0, &a.link.1, &a.victim)?;
    }
    Ok(network)
}

/// A peer's revocation checking on the network.
fn revocation(setup: &crate::script::PeerSetup) -> Revocation {
    let soft_fail = setup.soft_fail;
    match setup.revocation {
        model::RevocationDoc::Hard | model::RevocationDoc::Crl => Revocation::Hard,
        model::RevocationDoc::Soft => Revocation::Soft,
        model::RevocationDoc::None => Revocation::None,
        model::RevocationDoc::Ocsp => Revocation::Ocsp { soft_fail },
        model::RevocationDoc::OcspStaple => Revocation::OcspStaple { soft_fail },
    }
}

fn setup_kms(network: &mut Network, scenario: &Scenario) -> Result<(), NetError> {
    if let Some(kms) = &scenario.kms {
        network.add_kms(&kms.name)?;
        for key in &kms.keys {
            network.create_group_key(
                &key.name,
                &key.members,
                key.expires_in.map(|d| d.to_time()),
            )?;
        }
    }
    Ok(())
}

/// Runs `scenario` and reports every step.
pub fn run(scenario: &Scenario, mut options: RunOptions<'_>) -> Result<RunReport, RunError> {
    let seed = options.seed.unwrap_or(scenario.seed);
    let fail = |line, source| RunError {
        path: scenario.path.clone(),
        line,
        source,
    };
    let mut network = setup(scenario, seed).map_err(|e| fail(0, e))?;
    let mut steps = Vec::with_capacity(scenario.steps.len());
    let mut trace_ranges = Vec::with_capacity(scenario.steps.len());
    for (index, step) in scenario.steps.iter().enumerate() {
        let since = network.trace().len();
        let found = network.detections();
        let observed = perform(&mut network, step, &mut options).map_err(|e| fail(step.line, e))?;
        let mut narration = narrate::step(scenario, &network, step, &observed);
        narration.extend(narrate::transparency::findings(
            &network.findings()[found..],
        ));
        if let Some(note) = &step.note {
            narration.push(note.clone());
        }
        let checks = compare(&step.expect, &observed);
        steps.push(StepReport {
            index: index + 1,
            line: step.line,
            action: step.action.keyword().to_owned(),
            title: narrate::title(&step.action),
            narration,
            observed,
            checks,
        });
        trace_ranges.push(since..network.trace().len());
    }
    let messages = messages(&network, &trace_ranges);
    let learned = learned(network.trace(), &trace_ranges);
    let key_schedules = key_schedules(&network, &trace_ranges);
    let passed = steps.iter().all(|s| s.checks.iter().all(|c| c.held));
    Ok(RunReport {
        name: scenario.name.clone(),
        path: scenario.path.clone(),
        seed,
        summary: scenario.summary.clone(),
        description: scenario.description.clone(),
        participants: participants(scenario, &messages),
        steps,
        messages,
        passed,
        learned,
        key_schedules,
        scenario: Some(Box::new(scenario.clone())),
    })
}

fn perform(
    network: &mut Network,
    step: &Step,
    options: &mut RunOptions<'_>,
) -> Result<Observed, NetError> {
    let mut observed = Observed::default();
    match &step.action {
        Action::Handshake {
            from,
            to,
            mode,
            cipher,
        } => {
            let cipher = match cipher {
                model::CipherDoc::Aes256Gcm => pkilab_peer::Cipher::Aes256Gcm,
                model::CipherDoc::Aes256CtrUnauthenticated => {
                    pkilab_peer::Cipher::Aes256CtrUnauthenticated
                }
            };
            let report = network.handshake_with(from, to, peer_mode(*mode), cipher)?;
            observed.outcome = Some(if report.established {
                Outcome::Established
            } else {
                Outcome::Rejected
            });
            observed.attacker_reads = Some(report.attacker_reads);
            observed.also_refused = report
                .more_refusals
                .iter()
                .map(|r| format!("{} refused ({}): {}", r.by, r.reason, r.detail))
                .collect();
            observed.initiator_verified = report.initiator_verified;
            observed.responder_verified = report.responder_verified;
            if let Some(refusal) = report.refused {
                observed.reason = Some(refusal.reason);
                observed.certificate_refused = refusal.certificate;
                observed.detail = Some(format!("{} refused: {}", refusal.by, refusal.detail));
            } else if !report.established {
                observed.reason = Some("dropped".into());
                observed.detail =
                    Some("the handshake did not complete: a frame never arrived".into());
            }
        }
        Action::Send { from, to, message } => {
            let report = network.send(from, to, message)?;
            observed.delivered = Some(report.delivered);
            observed.intact = Some(report.intact);
            observed.attacker_reads = Some(report.attacker_reads);
            if let Some(refusal) = report.refused {
                observed.detail = Some(if refusal.reason == "no-session" {
                    refusal.detail
                } else {
                    format!("{} refused: {}", refusal.by, refusal.detail)
                });
                observed.reason = Some(refusal.reason);
                observed.certificate_refused = refusal.certificate;
            }
        }
        Action::Advance(by) => {
            let since = network.trace().len();
            let detections = network.detections();
            network.advance(by.to_time())?;
            if !network.monitors_are_idle() {
                observed.detected = Some(network.detections() > detections);
            }
            if let Some(refusal) = network.refusal_since(since) {
                observed.reason = Some(refusal.reason);
                observed.detail = Some(format!("{} refused: {}", refusal.by, refusal.detail));
            }
        }
        Action::Issue {
            peer,
            validity,
            valid_from,
            keep_key,
        } => {
            observed.key_holders = network.holders_of_key(peer);
            network.issue(peer, validity.to_time(), valid_from.to_time(), *keep_key)?;
        }
        Action::RevokeCa { ca, reason } => {
            network.revoke_ca(ca, reason.parse().unwrap_or(RevocationReason::Unspecified))?
        }
        Action::RemoveMember { key, peer } => {
            let result = network.remove_member(key, peer);
            observed.version = kms_outcome(result, &mut observed)?;
        }
        Action::Revoke { peer, reason } => {
            observed.identity_revoked = network.revoke(
                peer,
                reason.parse().unwrap_or(RevocationReason::Unspecified),
            )?;
        }
        Action::PublishCrl { validity } => network.publish_crl(Some(validity.to_time()))?,
        Action::Compromise { peer, to } => network.compromise(peer, to)?,
        Action::DecryptRecorded { by, breaks } if breaks.is_empty() => {
            observed.attacker_reads = Some(network.decrypt_recorded(by)? > 0)
        }
        Action::DecryptRecorded { by, breaks } => {
            let broken = pkilab_peer::escrow::Broken {
                x25519: breaks.contains(&model::Primitive::X25519),
                ml_kem: breaks.contains(&model::Primitive::MlKem),
            };
            observed.attacker_reads = Some(network.decrypt_recorded_breaking(by, broken)? > 0)
        }
        Action::FetchKey { peer, key } => {
            let report = network.fetch_key(peer, key)?;
            observed.delivered = Some(report.delivered);
            observed.version = report.version;
            observed.attacker_reads = Some(report.attacker_reads);
            if let Some(refusal) = report.refused {
                observed.reason = Some(refusal.reason);
                observed.detail = Some(format!("{} refused: {}", refusal.by, refusal.detail));
            }
        }
        Action::RotateKey { key } => {
            let result = network.rotate_group_key(key);
            observed.version = kms_outcome(result, &mut observed)?;
        }
        Action::Block { by } => network.block_ocsp(by)?,
        Action::RogueIssuance { victim, by, logged } => {
            network.rogue_issuance(victim, by, *logged)?
        }
        Action::RevokeUnrequested { peer, reason } => {
            network.revoke_unrequested(
                peer,
                reason.parse().unwrap_or(RevocationReason::Unspecified),
            )?;
        }
        Action::SplitView { shown } => network.split_view(shown)?,
        Action::Gossip { a, b } => {
            observed.detected = Some(!network.gossip(a, b)?.consistent);
        }
        Action::ReadOcspLog { by } => {
            observed.attacker_reads = Some(network.read_ocsp_log(by)? > 0)
        }
        Action::Handshakes { count, mode, .. } => {
            let total = *count;
            let progress = &mut options.progress;
            let established = network.workload(total, peer_mode(*mode), |done| {
                if let Some(report) = progress.as_mut() {
                    report(done, total);
                }
            })?;
            observed.established = Some(established);
        }
    }
    Ok(observed)
}

/// A KMS refusal (an expired key does not rotate) is what the step
/// observed, not a failed run.
fn kms_outcome(
    result: Result<i64, NetError>,
    observed: &mut Observed,
) -> Result<Option<i64>, NetError> {
    match result {
        Ok(version) => Ok(Some(version)),
        Err(NetError::Kms(e)) => {
            // The KMS refuses a rotation only for the key's lifecycle state
            // (only an active key rotates), under its generic id.
            let id = match e.id() {
                "refused" => "key-state",
                other => other,
            };
            observed.reason = Some(id.to_owned());
            observed.detail = Some(format!("the KMS refused: {e}"));
            Ok(None)
        }
        Err(other) => Err(other),
    }
}
