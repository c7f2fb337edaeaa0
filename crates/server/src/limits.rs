//! A token bucket per client identity (or, without a certificate, per
//! address): one client's flood empties its own bucket only. Requests
//! without a certificate also share one bucket of [`ANONYMOUS_SHARE`]
//! times the per-client rate, so many addresses together cannot flood.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::RateLimit;

/// Buckets by client.
#[derive(Debug)]
pub struct Limiter {
    limit: RateLimit,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Most buckets kept; past it, full (idle) buckets are forgotten.
const MAX_BUCKETS: usize = 100_000;

/// The shared anonymous bucket, as a multiple of one client's.
pub const ANONYMOUS_SHARE: f64 = 4.0;

/// The key of the bucket all anonymous requests share (not a valid CN
/// for a client to collide with: it holds a space).
const ALL_ANONYMOUS: &str = "all anonymous";

impl Limiter {
    /// Buckets of `limit`.
    pub fn new(limit: RateLimit) -> Limiter {
        Limiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token for `client` (and, when `anonymous`, from the shared
    /// anonymous bucket too); `Err(seconds)` to wait when empty.
    pub fn take(&self, client: &str, anonymous: bool) -> Result<(), u64> {
        if anonymous {
            let share = RateLimit {
                per_second: self.limit.per_second * ANONYMOUS_SHARE,
                burst: self.limit.burst * ANONYMOUS_SHARE,
            };
            self.take_from(ALL_ANONYMOUS, share)?;
        }
        self.take_from(client, self.limit)
    }

    fn take_from(&self, client: &str, limit: RateLimit) -> Result<(), u64> {
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() >= MAX_BUCKETS {
            let (rate, burst) = (self.limit.per_second, self.limit.burst);
            buckets.retain(|_, (tokens, at)| *tokens + at.elapsed().as_secs_f64() * rate < burst);
        }
        let (tokens, at) = buckets
            .entry(client.to_owned())
            .or_insert((limit.burst, now));
        *tokens =
            (*tokens + now.duration_since(*at).as_secs_f64() * limit.per_second).min(limit.burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - *tokens) / limit.per_second).ceil().max(1.0) as u64)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_capped_per_client() {
        let limiter = Limiter::new(RateLimit {
            per_second: 1.0,
            burst: 3.0,
        });
        for _ in 0..3 {
            assert!(limiter.take("mallory", false).is_ok());
        }
        assert_eq!(limiter.take("mallory", false), Err(1));
        assert!(
            limiter.take("alice", false).is_ok(),
            "another client is unaffected"
        );
    }

    #[test]
    fn many_anonymous_addresses_share_one_bucket() {
        let limiter = Limiter::new(RateLimit {
            per_second: 1.0,
            burst: 2.0,
        });
        let served = (0..100)
            .filter(|i| limiter.take(&format!("anonymous@10.0.0.{i}"), true).is_ok())
            .count();
        assert_eq!(served, (2.0 * ANONYMOUS_SHARE) as usize);
        assert!(
            limiter.take("alice", false).is_ok(),
            "clients are unaffected"
        );
    }
}
