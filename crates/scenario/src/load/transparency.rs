//! Checking monitors of the transparency log, and the steps that issue a
//! rogue certificate, split the log's view and compare checkpoints.

use std::collections::BTreeSet;

use serde_saphyr::{Location, Spanned};

use super::{Checked, Checker, is_peer_name};
use crate::model::{AdversaryKind, MonitorDoc, StepDoc};
use crate::script::{Action, Adversary, MonitorSetup};

impl Checker<'_> {
    /// A monitor: a usable name nobody else has, a known peer to watch and
    /// a positive interval.
    pub(super) fn monitor(
        &self,
        doc: &Spanned<MonitorDoc>,
        peers: &BTreeSet<&str>,
        taken: &mut BTreeSet<String>,
    ) -> Checked<MonitorSetup> {
        let at = doc.referenced;
        let m = &doc.value;
        if !is_peer_name(&m.name) {
            return Err(self.err(
                at,
                format!("'{}' is not a usable name for a monitor", m.name),
                "node names are DNS labels: lowercase letters, digits and '-', e.g. bob-monitor",
            ));
        }
        if !taken.insert(m.name.clone()) {
            return Err(self.err(
                at,
                format!("the name '{}' is already taken", m.name),
                "give the monitor a name no peer, node, adversary or other monitor has",
            ));
        }
        self.known_peer(at, &m.watches, peers)?;
        let every = self.duration(&m.every)?;
        if every.0 == 0 {
            return Err(self.err(
                m.every.referenced,
                format!("monitor '{}' would never read the log (every: 0s)", m.name),
                "give it an interval, for example every: 1h",
            ));
        }
        Ok(MonitorSetup {
            name: m.name.clone(),
            watches: m.watches.clone(),
            every,
        })
    }

    /// The `rogue-issuance`, `split-view` and `gossip` actions of a step.
    pub(super) fn transparency_actions(
        &self,
        at: Location,
        s: &StepDoc,
        peers: &BTreeSet<&str>,
        adversaries: &[Adversary],
    ) -> Checked<Vec<Action>> {
        let mut actions = Vec::new();
        if let Some(r) = &s.rogue_issuance {
            self.known_peer(at, &r.victim, peers)?;
            self.known_adversary(at, &r.by, adversaries)?;
            if adversaries
                .iter()
                .any(|a| a.name == r.by && a.kind != AdversaryKind::Mitm)
            {
                return Err(self.err(
                    at,
                    format!(
                        "'{}' is not a man-in-the-middle: it cannot present a certificate",
                        r.by
                    ),
                    "give rogue-issuance an adversary of kind mitm (by: mallory)",
                ));
            }
            actions.push(Action::RogueIssuance {
                victim: r.victim.clone(),
                by: r.by.clone(),
                logged: r.logged,
            });
        }
        if let Some(v) = &s.split_view {
            if v.shown.is_empty() {
                return Err(self.err(
                    at,
                    "split-view shows its other tree to nobody",
                    "name the peers that see it: split-view: { shown: [alice] }",
                ));
            }
            for peer in &v.shown {
                self.known_peer(at, peer, peers)?;
            }
            actions.push(Action::SplitView {
                shown: v.shown.clone(),
            });
        }
        if let Some(g) = &s.gossip {
            let between = &g.between.value;
            let [a, b] = between.as_slice() else {
                return Err(self.err(
                    g.between.referenced,
                    format!("gossip is between two peers, not {}", between.len()),
                    "write gossip: { between: [alice, carol] }",
                ));
            };
            self.known_peer(g.between.referenced, a, peers)?;
            self.known_peer(g.between.referenced, b, peers)?;
            if a == b {
                return Err(self.err(
                    g.between.referenced,
                    format!("'{a}' cannot compare checkpoints with itself"),
                    "name two different peers",
                ));
            }
            actions.push(Action::Gossip {
                a: a.clone(),
                b: b.clone(),
            });
        }
        Ok(actions)
    }
}
