//! Durations as scenario files and command lines write them: `30s`, `15m`,
//! `12h`, `90d`, `2w`, `1h30m`. One grammar for the whole project: the
//! `humantime` crate's, which the server's configuration and API use too.

use std::fmt;

/// A span of simulated time, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimDuration(pub u64);

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration '{text}' ({why}): write a number of whole seconds with a unit, such as 90d, 12h, 15m, 30s or 1h30m"
)]
pub struct DurationError {
    /// The text that was refused.
    pub text: String,
    /// What is wrong with it.
    pub why: String,
}

impl SimDuration {
    /// Parses a duration (units s, m, h, d, w and their long forms); a
    /// fraction of a second is refused, since simulated time counts
    /// seconds.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let error = |why: String| DurationError {
            text: text.to_owned(),
            why,
        };
        let parsed = humantime::parse_duration(text.trim()).map_err(|e| error(e.to_string()))?;
        if parsed.subsec_nanos() != 0 {
            return Err(error("a fraction of a second".into()));
        }
        Ok(SimDuration(parsed.as_secs()))
    }

    /// The duration as a `time::Duration`.
    pub fn to_time(self) -> time::Duration {
        time::Duration::seconds(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = [(604_800, "w"), (86_400, "d"), (3_600, "h"), (60, "m")];
        for (scale, unit) in units {
            if self.0 >= scale && self.0.is_multiple_of(scale) {
                return write!(f, "{}{unit}", self.0 / scale);
            }
        }
        write!(f, "{}s", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_unit() {
        assert_eq!(SimDuration::parse("30s"), Ok(SimDuration(30)));
        assert_eq!(SimDuration::parse("15m"), Ok(SimDuration(900)));
        assert_eq!(SimDuration::parse("12h"), Ok(SimDuration(43_200)));
        assert_eq!(SimDuration::parse("90d"), Ok(SimDuration(7_776_000)));
        assert_eq!(SimDuration::parse("2w"), Ok(SimDuration(1_209_600)));
        assert_eq!(SimDuration::parse("1h30m"), Ok(SimDuration(5_400)));
        assert_eq!(SimDuration::parse("1.5h"), Ok(SimDuration(5_400)));
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in [
            "",
            "d",
            "10",
            "10x",
            "-5d",
            "500ms",
            "99999999999999999999d",
        ] {
            assert!(SimDuration::parse(bad).is_err(), "{bad} should be refused");
        }
    }

    #[test]
    fn displays_in_the_largest_exact_unit() {
        assert_eq!(SimDuration(7_776_000).to_string(), "90d");
        assert_eq!(SimDuration(90).to_string(), "90s");
        assert_eq!(SimDuration(3_600).to_string(), "1h");
    }
}
