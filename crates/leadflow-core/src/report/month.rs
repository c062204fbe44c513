//! Calendar months and quarters (UTC) as numbers: months (or quarters) since year 0, so that
//! consecutive ones differ by 1.

use chrono::{DateTime, Datelike};

use crate::Timestamp;

pub fn month_of(at: Timestamp) -> i32 {
    let date = DateTime::from_timestamp_millis(at.millis()).unwrap_or_default().date_naive();
    date.year() * 12 + date.month0() as i32
}

/// `YYYY-MM`.
pub fn month_name(month: i32) -> String {
    format!("{:04}-{:02}", month.div_euclid(12), month.rem_euclid(12) + 1)
}

/// The periods a report over time is by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReportPeriod {
    #[default]
    Month,
    Quarter,
}

impl ReportPeriod {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportPeriod::Month => "month",
            ReportPeriod::Quarter => "quarter",
        }
    }

    pub fn parse(s: &str) -> Option<ReportPeriod> {
        [ReportPeriod::Month, ReportPeriod::Quarter].into_iter().find(|p| p.as_str() == s)
    }

    /// The number of the period `at` is in.
    pub fn of(self, at: Timestamp) -> i32 {
        match self {
            ReportPeriod::Month => month_of(at),
            ReportPeriod::Quarter => month_of(at).div_euclid(3),
        }
    }

    /// `YYYY-MM`, or `YYYY-Qn`.
    pub fn name(self, period: i32) -> String {
        match self {
            ReportPeriod::Month => month_name(period),
            ReportPeriod::Quarter => format!("{:04}-Q{}", period.div_euclid(4), period.rem_euclid(4) + 1),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_count_on_across_years() {
        let dec = month_of(Timestamp::parse("2025-12-31T23:59:59Z").unwrap());
        let jan = month_of(Timestamp::parse("2026-01-01T00:00:00Z").unwrap());
        assert_eq!(jan - dec, 1);
        assert_eq!((month_name(dec), month_name(jan)), ("2025-12".to_string(), "2026-01".to_string()));
    }

    #[test]
    fn quarters_hold_three_months_and_count_on_across_years() {
        let q = ReportPeriod::Quarter;
        let at = |s: &str| q.of(Timestamp::parse(s).unwrap());
        assert_eq!(at("2026-01-01"), at("2026-03-31T23:59:59Z"));
        assert_eq!(at("2026-04-01") - at("2026-03-31T23:59:59Z"), 1);
        assert_eq!(at("2026-01-01") - at("2025-12-31T23:59:59Z"), 1);
        assert_eq!((q.name(at("2025-12-31")), q.name(at("2026-05-02"))), ("2025-Q4".into(), "2026-Q2".into()));
        assert_eq!(ReportPeriod::parse("quarter"), Some(q));
    }
}
