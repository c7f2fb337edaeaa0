//! Workloads: many handshakes between random distinct peers, for scale.
//!
//! Frames are not traced and sessions not kept, so memory stays flat. On a
//! network without adversaries the handshakes are independent, so they run
//! on every core: the pairs and a seed per handshake are drawn in order
//! from the network's generator first, and each handshake then uses only
//! its own seed, so the result does not depend on scheduling. With an
//! adversary installed, handshakes go through the links one at a time.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration as WallDuration;

use pkilab_peer::{Config, Identity, Mode, initiate, respond};
use pkilab_verify::Validator;
use rand_chacha::ChaCha20Rng;
use rand_core::{RngCore, SeedableRng};
use time::OffsetDateTime;

use crate::error::NetError;
use crate::network::Network;

#[derive(Debug)]
struct Job {
    from: usize,
    to: usize,
    seed: u64,
}

/// Jobs drawn and held at once: bounds a workload's memory whatever its
/// count.
const BATCH: u64 = 1 << 16;

/// How many of the `remaining` jobs the next batch holds.
fn batch_len(remaining: u64) -> u64 {
    remaining.min(BATCH)
}

/// The next `n` jobs among `peers` peers, drawn in order.
fn draw_jobs(rng: &mut ChaCha20Rng, peers: u64, n: u64) -> Vec<Job> {
    (0..n)
        .map(|_| {
            let from = (rng.next_u64() % peers) as usize;
            let to = ((from as u64 + 1 + rng.next_u64() % (peers - 1)) % peers) as usize;
            Job {
                from,
                to,
                seed: rng.next_u64(),
            }
        })
        .collect()
}

impl Network {
    /// `count` handshakes between random distinct peers; returns how many
    /// established. `progress` is called with the number done so far.
    pub fn workload(
        &mut self,
        count: u64,
        mode: Mode,
        mut progress: impl FnMut(u64),
    ) -> Result<u64, NetError> {
        let names: Vec<String> = self.peers.keys().cloned().collect();
        if names.len() < 2 {
            return Ok(0);
        }
        let mut established = 0;
        let mut done = 0;
        // Jobs are drawn a batch at a time, in order, so memory does not
        // grow with `count` and the draws do not depend on the batch size.
        while done < count {
            let batch = draw_jobs(&mut self.rng, names.len() as u64, batch_len(count - done));
            established += if self.adversaries.is_empty() {
                self.workload_in_parallel(&batch, mode, done, &mut progress)
            } else {
                self.workload_through_links(&names, &batch, mode, done, &mut progress)?
            };
            done += batch.len() as u64;
        }
        progress(count);
        Ok(established)
    }

    fn workload_in_parallel(
        &mut self,
        jobs: &[Job],
        mode: Mode,
        before: u64,
        progress: &mut impl FnMut(u64),
    ) -> u64 {
        let identities: Vec<Arc<Identity>> = self
            .peers
            .values()
            .map(|p| Arc::clone(&p.node.identity))
            .collect();
        let validator = self.pki.validator();
        let at = self.now;
        let done = AtomicU64::new(0);
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get().min(8));
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..workers)
                .map(|w| {
                    let (identities, validator, done) = (&identities, &validator, &done);
                    scope.spawn(move || {
                        let mut established = 0u64;
                        for job in jobs.iter().skip(w).step_by(workers) {
                            established +=
                                u64::from(handshake(identities, validator, at, mode, job));
                            done.fetch_add(1, Ordering::Relaxed);
                        }
                        established
                    })
                })
                .collect();
            while handles.iter().any(|h| !h.is_finished()) {
                progress(before + done.load(Ordering::Relaxed));
                std::thread::sleep(WallDuration::from_millis(50));
            }
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or(0))
                .sum::<u64>()
        })
    }

    fn workload_through_links(
        &mut self,
        names: &[String],
        jobs: &[Job],
        mode: Mode,
        before: u64,
        progress: &mut impl FnMut(u64),
    ) -> Result<u64, NetError> {
        self.record_frames = false;
        for peer in self.peers.values_mut() {
            peer.node.keep_sessions = false;
        }
        let mut established = 0;
        let mut result = Ok(());
        for (done, job) in jobs.iter().enumerate() {
            let since = self.trace.len();
            match self.handshake(&names[job.from], &names[job.to], mode) {
                Ok(report) => established += u64::from(report.established),
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
            self.trace.truncate(since);
            progress(before + done as u64 + 1);
        }
        for peer in self.peers.values_mut() {
            peer.node.keep_sessions = true;
        }
        self.record_frames = true;
        result.map(|()| established)
    }
}

/// One handshake between two peers, off the links, with its own seed.
fn handshake(
    identities: &[Arc<Identity>],
    validator: &Arc<Validator>,
    at: OffsetDateTime,
    mode: Mode,
    job: &Job,
) -> bool {
    let mut rng = ChaCha20Rng::seed_from_u64(job.seed);
    let config = |i: usize| Config {
        identity: Arc::clone(&identities[i]),
        validator: Arc::clone(validator),
        at,
        mode,
        cipher: Default::default(),
        ocsp: Default::default(),
        require_logged: None,
    };
    let responder = identities[job.to].name.clone();
    let (reply, m1) = initiate(config(job.from), &responder, &mut rng);
    let Ok((finish, m2)) = respond(config(job.to), None, &m1, &mut rng) else {
        return false;
    };
    let Ok((_, m3)) = reply.handle(&m2) else {
        return false;
    };
    finish.handle(&m3).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_never_holds_more_than_batch_jobs() {
        assert_eq!(batch_len(u64::MAX), BATCH);
        assert_eq!(batch_len(1_000_000_000), BATCH);
        assert_eq!(batch_len(5), 5);
        let mut rng = ChaCha20Rng::seed_from_u64(1);
        let jobs = draw_jobs(&mut rng, 10, batch_len(u64::MAX));
        assert_eq!(jobs.len() as u64, BATCH);
        assert!(
            jobs.iter()
                .all(|j| j.from != j.to && j.from < 10 && j.to < 10)
        );
    }

    #[test]
    fn a_workload_through_an_adversary_keeps_no_recording() {
        let spec = crate::PkiSpec {
            root: "Root".into(),
            intermediates: vec!["Issuing".into()],
            rogue: Vec::new(),
            crl_validity: time::Duration::days(7),
            certificate_validity: time::Duration::days(30),
        };
        let start = time::macros::datetime!(2026-01-01 00:00 UTC);
        let mut net = Network::new(3, start, spec).expect("network");
        for peer in ["a", "b", "c"] {
            net.add_peer(peer).expect("peer");
        }
        net.add_adversary("eve", crate::AdversaryKind::Eavesdropper, "a", "b", "b")
            .expect("adversary");
        let established = net
            .workload(40, Mode::SignedEphemeral, |_| {})
            .expect("runs");
        assert_eq!(established, 40);
        assert!(net.adversaries[0].recording.is_empty());
        assert!(net.trace().is_empty());
    }

    #[test]
    fn batches_draw_the_same_jobs_as_one_long_draw() {
        let mut one = ChaCha20Rng::seed_from_u64(9);
        let mut two = ChaCha20Rng::seed_from_u64(9);
        let whole = draw_jobs(&mut one, 7, 10);
        let mut split = draw_jobs(&mut two, 7, 4);
        split.extend(draw_jobs(&mut two, 7, 6));
        let key = |j: &Job| (j.from, j.to, j.seed);
        assert_eq!(
            whole.iter().map(key).collect::<Vec<_>>(),
            split.iter().map(key).collect::<Vec<_>>()
        );
    }
}
