//! Rate limits (GCRA token buckets from `governor`): one per client
//! identity (or, without a certificate, per address), so one client's
//! flood empties its own bucket only; and one that all requests without a
//! certificate share, of [`ANONYMOUS_SHARE`] times a client's rate, so many
//! addresses together cannot flood either.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, DefaultKeyedRateLimiter, Quota, RateLimiter};

use crate::config::RateLimit;

/// Buckets by client, and the shared anonymous one.
#[derive(Debug)]
pub struct Limiter {
    clients: DefaultKeyedRateLimiter<String>,
    anonymous: DefaultDirectRateLimiter,
    clock: DefaultClock,
}

/// Most client buckets kept; past it, those back to full are forgotten.
const MAX_BUCKETS: usize = 100_000;

/// The shared anonymous bucket, as a multiple of one client's.
pub const ANONYMOUS_SHARE: f64 = 4.0;

/// `per_second` tokens a second up to `burst`; the configuration checks
/// that both are positive, and extreme values are clamped, not trusted.
fn quota(limit: RateLimit) -> Quota {
    let period = Duration::from_secs_f64((1.0 / limit.per_second).clamp(1e-9, 86_400.0));
    let burst = NonZeroU32::new(limit.burst.clamp(1.0, f64::from(u32::MAX)) as u32)
        .unwrap_or(NonZeroU32::MIN);
    Quota::with_period(period)
        .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
        .allow_burst(burst)
}

impl Limiter {
    /// Buckets of `limit`.
    pub fn new(limit: RateLimit) -> Limiter {
        let shared = RateLimit {
            per_second: limit.per_second * ANONYMOUS_SHARE,
            burst: limit.burst * ANONYMOUS_SHARE,
        };
        Limiter {
            clients: RateLimiter::keyed(quota(limit)),
            anonymous: RateLimiter::direct(quota(shared)),
            clock: DefaultClock::default(),
        }
    }

    /// Takes a token for `client` (and, when `anonymous`, from the shared
    /// anonymous bucket too); `Err(seconds)` to wait when empty.
    pub fn take(&self, client: &str, anonymous: bool) -> Result<(), u64> {
        let wait = |until: governor::NotUntil<_>| {
            until
                .wait_time_from(self.clock.now())
                .as_secs_f64()
                .ceil()
                .max(1.0) as u64
        };
        if anonymous {
            self.anonymous.check().map_err(wait)?;
        }
        if self.clients.len() >= MAX_BUCKETS {
            self.clients.retain_recent();
            self.clients.shrink_to_fit();
        }
        self.clients.check_key(&client.to_owned()).map_err(wait)
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
