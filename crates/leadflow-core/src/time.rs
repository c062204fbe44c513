//! Instants in UTC with millisecond precision.

use std::fmt;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

const MILLIS_PER_DAY: i64 = 86_400_000;

/// An instant in UTC, counted in milliseconds since the Unix epoch.
///
/// Milliseconds rather than a chrono type because scoring does arithmetic on millions of them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Timestamp(i64);

impl From<Timestamp> for String {
    fn from(t: Timestamp) -> String {
        t.to_string()
    }
}

impl TryFrom<String> for Timestamp {
    type Error = TimestampError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Timestamp::parse(&s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{input}` is not a timestamp (expected RFC 3339 such as 2026-07-01T09:30:00Z, or a date such as 2026-07-01)")]
pub struct TimestampError {
    input: String,
}

impl Timestamp {
    pub const fn from_millis(millis: i64) -> Self {
        Timestamp(millis)
    }

    pub const fn from_secs(secs: i64) -> Self {
        Timestamp(secs * 1000)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Accepts RFC 3339 (`2026-07-01T09:30:00Z`, `2026-07-01T11:30:00+02:00`), the same with a
    /// space instead of `T` and no offset (read as UTC, as CRM exports often write it), and a
    /// bare date (midnight UTC).
    pub fn parse(input: &str) -> Result<Self, TimestampError> {
        let s = input.trim();
        let err = || TimestampError { input: input.to_string() };
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Ok(Timestamp(t.timestamp_millis()));
        }
        // An offset without its colon, as Salesforce's API writes times (`...T07:49:16.000+0000`).
        if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f%z") {
            return Ok(Timestamp(t.timestamp_millis()));
        }
        for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, format) {
                return Ok(Timestamp(t.and_utc().timestamp_millis()));
            }
        }
        if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            let t = d.and_hms_opt(0, 0, 0).ok_or_else(err)?;
            return Ok(Timestamp(t.and_utc().timestamp_millis()));
        }
        Err(err())
    }

    /// Days from `earlier` to `self`, fractional; negative when `earlier` is later.
    pub fn days_since(self, earlier: Timestamp) -> f64 {
        (self.0 - earlier.0) as f64 / MILLIS_PER_DAY as f64
    }

    pub fn minus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0 - i64::from(days) * MILLIS_PER_DAY)
    }

    pub fn plus_days(self, days: u32) -> Timestamp {
        Timestamp(self.0 + i64::from(days) * MILLIS_PER_DAY)
    }

    /// `millis` later, saturating at the ends of the range.
    pub fn plus_millis(self, millis: i64) -> Timestamp {
        Timestamp(self.0.saturating_add(millis))
    }

    /// Index of the UTC calendar day.
    pub fn day_index(self) -> i64 {
        self.0.div_euclid(MILLIS_PER_DAY)
    }

    /// Index of the ISO week (weeks start on Monday; 1970-01-01 was a Thursday).
    pub fn week_index(self) -> i64 {
        (self.day_index() + 3).div_euclid(7)
    }

    /// The calendar month, 1 to 12 (UTC).
    pub fn month(self) -> u32 {
        self.to_chrono().month()
    }

    /// The day of the week (UTC): `Mon` to `Sun`.
    pub fn weekday(self) -> &'static str {
        ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"][self.to_chrono().weekday().num_days_from_monday() as usize]
    }

    /// Index of the UTC calendar month (year * 12 + month0).
    pub fn month_index(self) -> i64 {
        let t = self.to_chrono();
        i64::from(t.year()) * 12 + i64::from(t.month0())
    }

    fn to_chrono(self) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(self.0).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, with milliseconds only when there are some.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::{Datelike, Timelike};
        // Written field by field: chrono's `format` parses its pattern on every call, which shows
        // in API responses that carry hundreds of timestamps.
        let t = self.to_chrono();
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.year(),
            t.month(),
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        )?;
        match self.0.rem_euclid(1000) {
            0 => f.write_str("Z"),
            millis => write!(f, ".{millis:03}Z"),
        }
    }
}

impl std::str::FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Timestamp::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_crm_exports_use() {
        let z = Timestamp::parse("2026-07-01T00:00:00Z").unwrap();
        assert_eq!(Timestamp::parse("2026-07-01").unwrap(), z);
        assert_eq!(Timestamp::parse("2026-07-01 00:00:00").unwrap(), z);
        assert_eq!(Timestamp::parse("2026-07-01T02:00:00+02:00").unwrap(), z);
        // Salesforce's API: milliseconds and an offset without its colon.
        assert_eq!(Timestamp::parse("2026-07-01T00:00:00.000+0000").unwrap(), z);
        assert_eq!(Timestamp::parse("2026-06-30T19:00:00.000-0500").unwrap(), z);
        assert_eq!(z.to_string(), "2026-07-01T00:00:00Z");
        let ms = Timestamp::parse("2026-07-01T00:00:00.250Z").unwrap();
        assert_eq!(ms.millis() - z.millis(), 250);
        assert_eq!(ms.to_string(), "2026-07-01T00:00:00.250Z");
        assert!(Timestamp::parse("yesterday").is_err());
        assert!(Timestamp::parse("2026-13-01").is_err());
    }

    proptest::proptest! {
        #[test]
        fn written_as_rfc3339_and_read_back(millis in 0i64..8_000_000_000_000) {
            let t = Timestamp::from_millis(millis);
            let written = t.to_string();
            let chrono = t.to_chrono().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            proptest::prop_assert_eq!(written.trim_end_matches('Z'), chrono.trim_end_matches(".000Z").trim_end_matches('Z'));
            proptest::prop_assert_eq!(Timestamp::parse(&written).unwrap(), t);
        }
    }

    #[test]
    fn calendar_periods() {
        let mon = Timestamp::parse("2026-06-29T00:00:00Z").unwrap();
        let sun = Timestamp::parse("2026-07-05T23:59:59Z").unwrap();
        let next_mon = Timestamp::parse("2026-07-06T00:00:00Z").unwrap();
        assert_eq!(mon.week_index(), sun.week_index());
        assert_eq!(mon.week_index() + 1, next_mon.week_index());
        assert_eq!(mon.month_index() + 1, sun.month_index());
        assert_eq!(sun.day_index() + 1, next_mon.day_index());
    }
}
