//! Certificate transparency in the simulation: rogue issuance by the
//! compromised CA, logged or not; monitors on the simulated clock; a log
//! that keeps a split view; and peers that compare checkpoints (gossip).

use pkilab_peer::Identity;
use pkilab_tlog::merkle::verify_consistency;
use time::Duration;

use crate::error::NetError;
use crate::monitor::{Finding, Monitor};
use crate::network::Network;
use crate::trace::Event;

/// What comparing two peers' checkpoints showed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GossipReport {
    /// The two checkpoints are of one append-only tree.
    pub consistent: bool,
    /// The checkpoints compared, as each peer holds it.
    pub checkpoints: [String; 2],
}

impl Network {
    /// The compromised issuing CA issues a certificate naming `victim` for
    /// a key `adversary` holds; `logged`: appended to the log (to the
    /// split view only, if the log keeps one). An active adversary
    /// presents it to whoever expects `victim` from now on.
    pub fn rogue_issuance(
        &mut self,
        victim: &str,
        adversary: &str,
        logged: bool,
    ) -> Result<(), NetError> {
        self.peer(victim)?;
        self.adversary_mut(adversary)?;
        let mut identity = Identity::generate(victim, &mut self.rng);
        let hidden = self.pki.log_is_split();
        self.pki.certify_rogue_issuance(
            &mut identity,
            victim,
            adversary,
            logged.then_some(hidden),
            self.now,
            &mut self.rng,
        )?;
        let at = self.now.unix_timestamp();
        let where_ = match (logged, hidden) {
            (false, _) => "and kept it out of the transparency log",
            (true, false) => "and appended it to the transparency log",
            (true, true) => "and appended it only to the tree the log shows some peers",
        };
        self.adversary_mut(adversary)?.interceptor.arm(&identity);
        self.trace.push(Event::Note {
            at,
            text: format!(
                "the compromised CA issued a certificate in {victim}'s name for {adversary}'s key {where_}"
            ),
        });
        Ok(())
    }

    /// Starts monitor `name`, which reads the log every `every` for
    /// certificates naming `watches`.
    pub fn add_monitor(
        &mut self,
        name: &str,
        watches: &str,
        every: Duration,
    ) -> Result<(), NetError> {
        self.peer(watches)?;
        if !every.is_positive() {
            return Err(NetError::Setup(format!(
                "monitor '{name}' must poll at a positive interval"
            )));
        }
        self.monitors
            .push(Monitor::new(name, watches, every, self.now));
        Ok(())
    }

    /// Runs every monitor poll due by now, in time order; returns how many
    /// findings they reported.
    pub(crate) fn poll_monitors(&mut self) -> usize {
        let mut found = 0;
        for i in 0..self.monitors.len() {
            while self.monitors[i].next <= self.now {
                let at = self.monitors[i].next;
                let findings = self.monitors[i].poll(&self.pki);
                self.monitors[i].next = at + self.monitors[i].every;
                found += findings.len();
                for finding in findings {
                    if let Finding::Unrequested { serial, .. } = &finding {
                        let watches = self.monitors[i].watches.clone();
                        self.unrequested.push((watches, serial.clone()));
                    }
                    let text = describe(&self.monitors[i], &finding);
                    self.findings.push(text.clone());
                    self.trace.push(Event::Note {
                        at: at.unix_timestamp(),
                        text,
                    });
                }
            }
        }
        found
    }

    /// Whether no monitor reads the log.
    pub fn monitors_are_idle(&self) -> bool {
        self.monitors.is_empty()
    }

    /// How many findings monitors and gossip reported so far.
    pub fn detections(&self) -> usize {
        self.findings.len()
    }

    /// What monitors and gossip reported so far, in order.
    pub fn findings(&self) -> &[String] {
        &self.findings
    }

    /// `peer` asks the CA to revoke every certificate in its name that a
    /// monitor reported as unrequested, for `reason`; returns how many.
    /// They are listed from the next CRL on.
    pub fn revoke_unrequested(
        &mut self,
        peer: &str,
        reason: pkilab_ca::RevocationReason,
    ) -> Result<usize, NetError> {
        self.peer(peer)?;
        let (theirs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.unrequested)
            .into_iter()
            .partition(|(watches, _)| watches == peer);
        self.unrequested = others;
        for (_, serial) in &theirs {
            self.pki.revoke(
                pkilab_ca::Serial::from_der_integer(serial),
                reason,
                self.now,
            );
        }
        Ok(theirs.len())
    }

    /// The log splits: from now on `shown` see a tree of their own, and
    /// certificates it logs in secret go only into that tree.
    pub fn split_view(&mut self, shown: &[String]) -> Result<(), NetError> {
        for peer in shown {
            self.peer(peer)?;
        }
        self.pki.log.show_apart(shown.to_vec());
        self.trace.push(Event::Note {
            at: self.now.unix_timestamp(),
            text: format!(
                "the log now shows {} a tree of its own",
                shown.join(" and ")
            ),
        });
        Ok(())
    }

    /// Peers `a` and `b` exchange the checkpoints the log shows them and
    /// check that one tree extends the other.
    pub fn gossip(&mut self, a: &str, b: &str) -> Result<GossipReport, NetError> {
        self.peer(a)?;
        self.peer(b)?;
        let notes = [
            self.pki.log.checkpoint_for(a),
            self.pki.log.checkpoint_for(b),
        ];
        let opened = [self.pki.log.open(&notes[0]), self.pki.log.open(&notes[1])];
        let [Some(first), Some(second)] = opened else {
            return Err(NetError::Setup(
                "the log signed a checkpoint it cannot open".into(),
            ));
        };
        // The larger tree's holder asks the log for a proof from the
        // smaller size; an honest log always has one.
        let (small, large, holder) = if first.size <= second.size {
            (&first, &second, b)
        } else {
            (&second, &first, a)
        };
        let consistent = if small.size == large.size {
            small.root == large.root
        } else {
            small.size == 0
                || self
                    .pki
                    .log
                    .view_for(holder)
                    .consistency(small.size)
                    .is_some_and(|proof| {
                        verify_consistency(
                            &proof,
                            (small.size, &small.root),
                            (large.size, &large.root),
                        )
                        .is_ok()
                    })
        };
        let at = self.now.unix_timestamp();
        let text = if consistent {
            format!(
                "{a} and {b} compared checkpoints (sizes {} and {}): one tree extends the other",
                first.size, second.size
            )
        } else {
            format!(
                "{a} and {b} compared checkpoints and caught a split view: no consistency proof joins them. {a}'s checkpoint:\n{}{b}'s checkpoint:\n{}",
                notes[0], notes[1]
            )
        };
        if !consistent {
            self.findings.push(text.clone());
        }
        self.trace.push(Event::Note { at, text });
        Ok(GossipReport {
            consistent,
            checkpoints: notes,
        })
    }
}

fn describe(monitor: &Monitor, finding: &Finding) -> String {
    match finding {
        Finding::Unrequested {
            index, requester, ..
        } => format!(
            "{} found a certificate naming {} that {} did not request, at log index {index}{}",
            monitor.name,
            monitor.watches,
            monitor.watches,
            requester
                .as_ref()
                .map(|r| format!(" (issued for {r}'s key)"))
                .unwrap_or_default()
        ),
        Finding::Inconsistent { old, new } => format!(
            "{}: the log's new checkpoint does not extend the one it saw last. Before:\n{old}Now:\n{new}",
            monitor.name
        ),
    }
}
