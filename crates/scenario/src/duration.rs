//! Durations as scenario files and command lines write them: `30s`, `15m`,
//! `12h`, `90d`, `2w`.

use std::fmt;

/// A span of simulated time, in whole seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct SimDuration(pub u64);

/// Why a duration did not parse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid duration '{text}': write a whole number followed by s, m, h, d or w (for example 90d)"
)]
pub struct DurationError {
    /// The text that was refused.
    pub text: String,
}

impl SimDuration {
    /// Parses `<digits><unit>` where unit is one of s, m, h, d, w.
    pub fn parse(text: &str) -> Result<Self, DurationError> {
        let error = || DurationError {
            text: text.to_owned(),
        };
        let trimmed = text.trim();
        let split = trimmed
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(error)?;
        let (digits, unit) = trimmed.split_at(split);
        let count: u64 = digits.parse().map_err(|_| error())?;
        let scale = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 604_800,
            _ => return Err(error()),
        };
        count.checked_mul(scale).map(SimDuration).ok_or_else(error)
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
    }

    #[test]
    fn refuses_malformed_text() {
        for bad in ["", "d", "10", "10x", "-5d", "1.5h", "99999999999999999999d"] {
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
