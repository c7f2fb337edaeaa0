//! What `run` would refuse about time, found before it runs: a clock the
//! calendar cannot hold, a CRL with no lifetime, a leaf certificate that
//! outlives the CA that issues it, a clock moved past the year 9999.

use serde_saphyr::Location;
use time::{Duration, OffsetDateTime};

use super::{Checked, Checker};
use crate::duration::SimDuration;
use crate::script::{Action, Step};

/// The earliest start a scenario may have.
const EARLIEST: OffsetDateTime = time::macros::datetime!(1950-01-01 00:00 UTC);

/// The simulated PKI's issuing CA and how long it lives.
pub(super) struct Timeline {
    pub start: OffsetDateTime,
    pub issuer: String,
    pub issuer_ends: OffsetDateTime,
}

fn later(at: OffsetDateTime, by: SimDuration) -> Option<OffsetDateTime> {
    at.checked_add(Duration::seconds(i64::try_from(by.0).ok()?))
        .filter(|t| *t <= pkilab_net::pki::LATEST)
}

impl Checker<'_> {
    pub(super) fn clock_in_range(&self, at: Location, clock: OffsetDateTime) -> Checked<()> {
        if clock < EARLIEST || clock.year() > 9998 {
            return Err(self.err(
                at,
                format!(
                    "clock {clock} is outside the years the simulation can sign certificates for"
                ),
                "start between 1950 and 9998, for example 2026-01-01T00:00:00Z",
            ));
        }
        Ok(())
    }

    pub(super) fn positive(&self, at: Location, what: &str, d: SimDuration) -> Checked<()> {
        if d.0 == 0 {
            return Err(self.err(
                at,
                format!("{what} is 0s: nothing would ever be valid"),
                "give it a lifetime, for example 1h or 7d",
            ));
        }
        Ok(())
    }

    /// A certificate for `validity` from `start + valid_from` must end
    /// before the issuing CA does.
    pub(super) fn leaf_fits(
        &self,
        at: Location,
        t: &Timeline,
        now: OffsetDateTime,
        valid_from: SimDuration,
        validity: SimDuration,
    ) -> Checked<()> {
        let ends = later(now, valid_from).and_then(|s| later(s, validity));
        match ends {
            Some(ends) if ends <= t.issuer_ends => Ok(()),
            _ => {
                let left = (t.issuer_ends - now).whole_days();
                let help = if left > 0 {
                    format!("the CA signs nothing that outlives it: ask for at most {left}d here")
                } else {
                    "the issuing CA has expired by this point of the story: issue earlier, or advance the clock less".to_owned()
                };
                Err(self.err(
                    at,
                    format!(
                        "a certificate valid for {validity} from here would outlive its issuer '{}', which ends {}",
                        t.issuer,
                        pkilab_verify::rfc3339(t.issuer_ends)
                    ),
                    help,
                ))
            }
        }
    }

    /// `now + by` must stay within the calendar.
    pub(super) fn before_the_end(
        &self,
        at: Location,
        now: OffsetDateTime,
        by: SimDuration,
        what: &str,
    ) -> Checked<()> {
        if later(now, by).is_none() {
            return Err(self.err(
                at,
                format!(
                    "{what} would last {by} from {}, past the end of the year 9999",
                    pkilab_verify::rfc3339(now)
                ),
                "give it a shorter lifetime",
            ));
        }
        Ok(())
    }

    /// Walks the steps' clock and checks each instant they reach.
    pub(super) fn timeline(&self, t: &Timeline, steps: &[(Location, &Step)]) -> Checked<()> {
        let mut now = t.start;
        for (at, step) in steps {
            match &step.action {
                Action::Advance(by) => {
                    now = later(now, *by).ok_or_else(|| {
                        self.err(
                            *at,
                            format!(
                                "advancing {by} from {} passes the end of the year 9999",
                                pkilab_verify::rfc3339(now)
                            ),
                            "advance by less: the simulated calendar ends with the year 9999",
                        )
                    })?;
                }
                Action::Issue {
                    validity,
                    valid_from,
                    ..
                } => self.leaf_fits(*at, t, now, *valid_from, *validity)?,
                Action::PublishCrl { validity } => {
                    self.positive(*at, "the CRL's validity", *validity)?;
                    self.before_the_end(*at, now, *validity, "the CRL")?;
                }
                _ => {}
            }
        }
        Ok(())
    }
}
