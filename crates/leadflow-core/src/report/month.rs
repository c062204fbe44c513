//! Calendar months (UTC) as numbers: months since year 0, so that consecutive months differ by 1.

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
}
