//! Injectable time: one clock drives what the kit issues and what the TLS
//! configurations it builds believe the time is.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use rustls::time_provider::TimeProvider;
use rustls_pki_types::UnixTime;
use time::{Duration, OffsetDateTime};

/// A clock that only the test moves, to the second (X.509 times have no
/// finer grain).
///
/// Clones share the time: advancing one advances all, so a TLS
/// configuration built from [`Pki::server_config`](crate::Pki::server_config)
/// sees a certificate expire when the test moves the clock past its
/// notAfter.
#[derive(Clone, Debug)]
pub struct Clock(Arc<AtomicI64>);

impl Clock {
    /// A clock stopped at `at` (truncated to the second).
    pub fn at(at: OffsetDateTime) -> Clock {
        Clock(Arc::new(AtomicI64::new(at.unix_timestamp())))
    }

    /// A clock stopped at the system's current time.
    pub fn system() -> Clock {
        Clock::at(OffsetDateTime::now_utc())
    }

    /// The time the clock shows.
    pub fn now(&self) -> OffsetDateTime {
        // Only `at`, `set` and `advance` store into the clock, each from a
        // valid `OffsetDateTime`.
        OffsetDateTime::from_unix_timestamp(self.0.load(Ordering::SeqCst))
            .expect("the clock holds a time that came from an OffsetDateTime")
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: OffsetDateTime) {
        self.0.store(at.unix_timestamp(), Ordering::SeqCst);
    }

    /// Moves the clock by `by` (backwards when negative).
    pub fn advance(&self, by: Duration) {
        self.set(self.now() + by);
    }
}

/// rustls reads the time through this, for certificate validity and CRLs.
impl TimeProvider for Clock {
    fn current_time(&self) -> Option<UnixTime> {
        let seconds = u64::try_from(self.0.load(Ordering::SeqCst)).ok()?;
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            seconds,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn clones_share_the_time_and_rustls_sees_it() {
        let clock = Clock::at(datetime!(2026-01-01 00:00:00.75 UTC));
        let seen_by_tls = clock.clone();
        clock.advance(Duration::days(1));
        assert_eq!(seen_by_tls.now(), datetime!(2026-01-02 00:00 UTC));
        let unix = seen_by_tls.current_time().expect("after 1970");
        assert_eq!(unix.as_secs(), 1_767_312_000);
    }

    #[test]
    fn a_time_before_1970_is_no_time_for_rustls() {
        let clock = Clock::at(datetime!(1969-12-31 23:59 UTC));
        assert_eq!(clock.current_time(), None);
    }
}
