//! Wall-clock time in Unix seconds and its RFC 3339 form.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

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

#[cfg(test)]
mod tests {
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
}
