//! Wall-clock time in Unix seconds, its RFC 3339 form, and the times and durations a person
//! types (`--expires-at 2027-03-01`, `--expires-in 90d`).

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime};

pub fn now() -> i64 {
    OffsetDateTime::now_utc().unix_timestamp()
}

pub fn to_rfc3339(t: i64) -> String {
    OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|d| d.format(&Rfc3339).ok())
        .unwrap_or_else(|| t.to_string())
}

pub fn parse_rfc3339(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|d| d.unix_timestamp())
}

/// A typed time or duration that can't be read; the message names the accepted forms, since it
/// is what a person at the shell sees.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TimeInputError {
    #[error(
        "{0:?} is neither a date (2027-03-01, midnight UTC) nor an RFC 3339 time \
         (2027-03-01T12:00:00Z, 2027-03-01T12:00:00+02:00)"
    )]
    NotATime(String),
    #[error(
        "{0:?} is not a duration: a positive whole number and a unit, h (hours), d (days) or \
         w (weeks), such as 12h, 90d or 2w"
    )]
    NotADuration(String),
}

impl TimeInputError {
    /// The stable reason code.
    pub fn code(&self) -> &'static str {
        match self {
            TimeInputError::NotATime(_) => "bad_time",
            TimeInputError::NotADuration(_) => "bad_duration",
        }
    }
}

/// A date (`2027-03-01`, read as midnight UTC) or an RFC 3339 time, in Unix seconds.
pub fn parse_time(s: &str) -> Result<i64, TimeInputError> {
    parse_rfc3339(s)
        .or_else(|| parse_date(s))
        .ok_or_else(|| TimeInputError::NotATime(s.to_string()))
}

/// `YYYY-MM-DD` exactly, as midnight UTC.
fn parse_date(s: &str) -> Option<i64> {
    let mut parts = s.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    let digits = |p: &str, n: usize| p.len() == n && p.bytes().all(|b| b.is_ascii_digit());
    if parts.next().is_some() || !digits(y, 4) || !digits(m, 2) || !digits(d, 2) {
        return None;
    }
    let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
    let date = Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()?;
    Some(date.midnight().assume_utc().unix_timestamp())
}

/// A duration in hours, days or weeks (`12h`, `90d`, `2w`), in seconds.
pub fn parse_duration(s: &str) -> Result<i64, TimeInputError> {
    let bad = || TimeInputError::NotADuration(s.to_string());
    let split = s.len().checked_sub(1).ok_or_else(bad)?;
    let (n, unit) = (
        s.get(..split).ok_or_else(bad)?,
        s.get(split..).ok_or_else(bad)?,
    );
    let unit_secs: i64 = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(bad()),
    };
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = n.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    n.checked_mul(unit_secs).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        assert_eq!(
            super::parse_rfc3339("2026-01-01T00:00:00Z"),
            Some(1_767_225_600)
        );
        assert_eq!(super::to_rfc3339(1_767_225_600), "2026-01-01T00:00:00Z");
        assert_eq!(
            super::parse_rfc3339("2026-01-01T01:00:00+01:00"),
            Some(1_767_225_600)
        );
        assert_eq!(super::parse_rfc3339("tomorrow"), None);
    }

    #[test]
    fn times_are_dates_at_midnight_utc_or_rfc3339() {
        assert_eq!(parse_time("2026-01-01"), Ok(1_767_225_600));
        assert_eq!(parse_time("2026-01-01T01:00:00+01:00"), Ok(1_767_225_600));
        for bad in [
            "",
            "tomorrow",
            "2026-1-01",
            "2026-13-01",
            "2026-02-30",
            "2026-01-01-",
            "+2026-01-01",
            "2026-01-01T00:00",
        ] {
            assert_eq!(parse_time(bad), Err(TimeInputError::NotATime(bad.into())));
        }
    }

    #[test]
    fn durations_are_hours_days_or_weeks() {
        assert_eq!(parse_duration("12h"), Ok(12 * 3600));
        assert_eq!(parse_duration("90d"), Ok(90 * 86_400));
        assert_eq!(parse_duration("2w"), Ok(14 * 86_400));
        for bad in [
            "",
            "d",
            "90",
            "90m",
            "0d",
            "-1d",
            "+1d",
            " 1d",
            "1.5d",
            "99999999999999999w",
        ] {
            assert_eq!(
                parse_duration(bad),
                Err(TimeInputError::NotADuration(bad.into()))
            );
        }
    }
}
