//! Numbers and dates as spreadsheets and CRMs write them, read right or rejected with the reason.
//!
//! A value is never guessed: `1.500` is fifteen hundred in Germany and one and a half in the
//! United States, `03/04/2026` is March 4 there and April 3 here. Each value says what it can
//! be ([`NumberHint`], [`DateHint`]); a file's values together settle its locale (see
//! `sniff`), or the user does (`--decimal-comma`, `--date-format`); a value that stays
//! ambiguous is rejected with the option that would settle it.

use chrono::{NaiveDate, NaiveTime};
use leadflow_core::Timestamp;

/// The character between a number's whole part and its fraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecimalMark {
    /// `1,500.50` (English).
    Point,
    /// `1.500,50` (most of continental Europe, Latin America).
    Comma,
}

impl DecimalMark {
    pub fn describe(self) -> &'static str {
        match self {
            DecimalMark::Point => "decimal point (1,500.50)",
            DecimalMark::Comma => "decimal comma (1.500,50)",
        }
    }
}

/// Which decimal mark numbers are read with: the one the user gave or the file's values
/// settled; `None` when nothing did, and then ambiguous values are rejected, with one
/// exception: in a comma-delimited file `1,500` is fifteen hundred, because writers whose
/// decimal mark is the comma delimit with semicolons (Excel does).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumberLocale {
    pub mark: Option<DecimalMark>,
    pub comma_delimited: bool,
}

/// What a text could be as a number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NumberHint {
    NotANumber,
    /// The same under either mark: `1500`, `-3`.
    Plain,
    /// Only under this mark: `25.5`, `2,500.50` (point); `25,5`, `2.500,50` (comma).
    Only(DecimalMark),
    /// One separator followed by exactly three digits: `1.500`, `1,500`.
    Ambiguous,
}

/// The digits of a number with its separators, after a sign and currency symbols are taken off.
fn number_body(s: &str) -> Option<(bool, String)> {
    let spaced: String = s.chars().filter(|c| !matches!(c, ' ' | '\u{a0}' | '\u{202f}')).collect();
    let t = spaced.trim_matches(['$', '€', '£', '¥']);
    let negative = t.starts_with('-');
    let body = t.trim_start_matches(['-', '+']).to_string();
    let ok = !body.is_empty()
        && body.starts_with(|c: char| c.is_ascii_digit())
        && body.ends_with(|c: char| c.is_ascii_digit())
        && body.chars().all(|c| c.is_ascii_digit() || c == '.' || c == ',');
    ok.then_some((negative, body))
}

/// Whether every group after the first separator has exactly three digits (`1,234,567`).
fn grouped_by_thousands(whole: &str, separator: char) -> bool {
    let mut groups = whole.split(separator);
    let first = groups.next().unwrap_or("");
    (1..=3).contains(&first.len()) && groups.all(|g| g.len() == 3)
}

pub fn number_hint(s: &str) -> NumberHint {
    let Some((_, body)) = number_body(s) else { return NumberHint::NotANumber };
    let (points, commas) = (body.matches('.').count(), body.matches(',').count());
    match (points, commas) {
        (0, 0) => NumberHint::Plain,
        (_, 0) | (0, _) => {
            let (sep, mark_if_decimal, other) = if commas == 0 {
                ('.', DecimalMark::Point, DecimalMark::Comma)
            } else {
                (',', DecimalMark::Comma, DecimalMark::Point)
            };
            let count = points + commas;
            if count > 1 {
                // Only thousands separators can repeat.
                if grouped_by_thousands(&body, sep) { NumberHint::Only(other) } else { NumberHint::NotANumber }
            } else if grouped_by_thousands(&body, sep) && !body.starts_with('0') {
                NumberHint::Ambiguous
            } else {
                NumberHint::Only(mark_if_decimal)
            }
        }
        _ => {
            // Both: the last one is the decimal mark, the other groups thousands.
            let (last_point, last_comma) = (body.rfind('.').unwrap_or(0), body.rfind(',').unwrap_or(0));
            let (mark, decimal, thousands) =
                if last_point > last_comma { (DecimalMark::Point, '.', ',') } else { (DecimalMark::Comma, ',', '.') };
            let (whole, _) = body.rsplit_once(decimal).unwrap_or((&body, ""));
            if body.matches(decimal).count() == 1 && grouped_by_thousands(whole, thousands) {
                NumberHint::Only(mark)
            } else {
                NumberHint::NotANumber
            }
        }
    }
}

/// Reads a number under the file's locale; the error says why not and what would settle it.
pub fn parse_number(s: &str, locale: NumberLocale) -> Result<f64, String> {
    let s = s.trim();
    let hint = number_hint(s);
    let mark = match (hint, locale.mark) {
        (NumberHint::NotANumber, _) => return Err(format!("`{s}` is not a number")),
        (NumberHint::Plain, _) => DecimalMark::Point,
        (NumberHint::Only(m), None) => m,
        (NumberHint::Only(m), Some(expected)) if m == expected => m,
        (NumberHint::Only(m), Some(expected)) => {
            return Err(format!(
                "`{s}` is written with a {} but the file uses a {}",
                m.describe(),
                expected.describe()
            ));
        }
        (NumberHint::Ambiguous, Some(m)) => m,
        (NumberHint::Ambiguous, None) if locale.comma_delimited && s.contains(',') => DecimalMark::Point,
        (NumberHint::Ambiguous, None) => {
            return Err(format!(
                "`{s}` is ambiguous: one and a half thousand with a decimal comma, or a number with a \
                 fraction with a decimal point (say which with --decimal-comma or --decimal-point)"
            ));
        }
    };
    let (negative, body) = number_body(s).ok_or_else(|| format!("`{s}` is not a number"))?;
    let plain: String = match mark {
        DecimalMark::Point => body.chars().filter(|c| *c != ',').collect(),
        DecimalMark::Comma => body.chars().filter(|c| *c != '.').map(|c| if c == ',' { '.' } else { c }).collect(),
    };
    match plain.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(if negative { -n } else { n }),
        _ => Err(format!("`{s}` is not a number")),
    }
}

/// The order of day, month and year in dates that are not ISO 8601.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateOrder {
    /// `03/15/2026` (United States).
    MonthFirst,
    /// `15/03/2026`, `15.03.2026` (most of the world).
    DayFirst,
}

impl DateOrder {
    pub fn parse(s: &str) -> Option<DateOrder> {
        match s.trim().to_ascii_lowercase().as_str() {
            "mdy" | "us" | "month-first" | "mm/dd/yyyy" | "m/d/y" => Some(DateOrder::MonthFirst),
            "dmy" | "eu" | "day-first" | "dd/mm/yyyy" | "dd.mm.yyyy" | "d/m/y" => Some(DateOrder::DayFirst),
            _ => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            DateOrder::MonthFirst => "month/day/year",
            DateOrder::DayFirst => "day/month/year",
        }
    }
}

/// What a text could be as a date.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateHint {
    NotADate,
    /// ISO 8601, or a date that reads the same either way (`03/03/2026`).
    Plain,
    Only(DateOrder),
    Ambiguous,
}

/// A date with `/`, `.` or `-` between day, month and a four-digit year, and an optional time
/// (`9:15`, `09:15:30`, `9:15 AM`), split into its parts.
struct LocalDate {
    first: u32,
    second: u32,
    year: i32,
    dotted: bool,
    time: NaiveTime,
}

fn local_date(s: &str) -> Option<LocalDate> {
    let s = s.trim();
    let (date, time) = match s.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (s, None),
    };
    let separator = date.chars().find(|c| matches!(c, '/' | '.' | '-'))?;
    let parts: Vec<&str> = date.split(separator).collect();
    let [first, second, year] = parts[..] else { return None };
    if year.len() != 4 || first.is_empty() || first.len() > 2 || second.is_empty() || second.len() > 2 {
        return None;
    }
    let time = match time {
        None => NaiveTime::MIN,
        Some(t) => parse_time(t)?,
    };
    Some(LocalDate {
        first: first.parse().ok()?,
        second: second.parse().ok()?,
        year: year.parse().ok()?,
        dotted: separator == '.',
        time,
    })
}

fn parse_time(t: &str) -> Option<NaiveTime> {
    let lower = t.to_ascii_lowercase();
    let (clock, meridiem) = match lower.strip_suffix("am").or_else(|| lower.strip_suffix("a.m.")) {
        Some(c) => (c.trim().to_string(), Some(false)),
        None => match lower.strip_suffix("pm").or_else(|| lower.strip_suffix("p.m.")) {
            Some(c) => (c.trim().to_string(), Some(true)),
            None => (lower.clone(), None),
        },
    };
    let parts: Vec<&str> = clock.split(':').collect();
    let (h, m, sec) = match parts[..] {
        [h, m] => (h, m, "0"),
        [h, m, s] => (h, m, s),
        _ => return None,
    };
    let (mut h, m, sec): (u32, u32, u32) = (h.parse().ok()?, m.parse().ok()?, sec.parse().ok()?);
    match meridiem {
        Some(_) if !(1..=12).contains(&h) => return None,
        Some(pm) => h = h % 12 + if pm { 12 } else { 0 },
        None => {}
    }
    NaiveTime::from_hms_opt(h, m, sec)
}

pub fn date_hint(s: &str) -> DateHint {
    if Timestamp::parse(s).is_ok() {
        return DateHint::Plain;
    }
    let Some(d) = local_date(s) else { return DateHint::NotADate };
    let day_first = NaiveDate::from_ymd_opt(d.year, d.second, d.first).is_some();
    let month_first = NaiveDate::from_ymd_opt(d.year, d.first, d.second).is_some() && !d.dotted;
    match (month_first, day_first) {
        _ if d.first == d.second && day_first => DateHint::Plain,
        (true, true) => DateHint::Ambiguous,
        (true, false) => DateHint::Only(DateOrder::MonthFirst),
        (false, true) => DateHint::Only(DateOrder::DayFirst),
        (false, false) => DateHint::NotADate,
    }
}

/// Reads a timestamp: ISO 8601 always; other dates in the file's order, or when the value
/// settles it by itself. Dates without an offset are read as UTC.
pub fn parse_date(s: &str, order: Option<DateOrder>) -> Result<Timestamp, String> {
    let s = s.trim();
    if let Ok(t) = Timestamp::parse(s) {
        return Ok(t);
    }
    let not_a_date = || {
        format!(
            "`{s}` is not a date (expected 2026-03-15, 2026-03-15T09:30:00Z, 03/15/2026, 15.03.2026 or with a time such as 3/15/2026 9:15 AM)"
        )
    };
    let d = local_date(s).ok_or_else(not_a_date)?;
    let order = match (date_hint(s), order) {
        (DateHint::NotADate, _) => return Err(not_a_date()),
        _ if d.dotted => DateOrder::DayFirst,
        (DateHint::Plain, _) => DateOrder::DayFirst,
        (DateHint::Only(found), Some(expected)) if found != expected => {
            return Err(format!("`{s}` is not a valid date as {}, the file's date order", expected.describe()));
        }
        (DateHint::Only(found), _) => found,
        (DateHint::Ambiguous, Some(expected)) => expected,
        (DateHint::Ambiguous, None) => {
            return Err(format!(
                "`{s}` is ambiguous: month/day/year or day/month/year (say which with --date-format mdy or dmy)"
            ));
        }
    };
    let (month, day) = match order {
        DateOrder::MonthFirst => (d.first, d.second),
        DateOrder::DayFirst => (d.second, d.first),
    };
    let date = NaiveDate::from_ymd_opt(d.year, month, day).ok_or_else(not_a_date)?;
    Ok(Timestamp::from_millis(date.and_time(d.time).and_utc().timestamp_millis()))
}

/// `true`/`false`, `yes`/`no`, as spreadsheets and CRMs write booleans.
pub fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const UNSETTLED: NumberLocale = NumberLocale { mark: None, comma_delimited: false };
    const COMMA_DELIMITED: NumberLocale = NumberLocale { mark: None, comma_delimited: true };
    const POINT: NumberLocale = NumberLocale { mark: Some(DecimalMark::Point), comma_delimited: false };
    const COMMA: NumberLocale = NumberLocale { mark: Some(DecimalMark::Comma), comma_delimited: false };

    #[test]
    fn numbers_by_locale() {
        for (s, n) in [("1500", 1500.0), ("-3", -3.0), ("$1,500,000", 1.5e6), ("2,500.50", 2500.5), ("25.5", 25.5)] {
            assert_eq!(parse_number(s, UNSETTLED), Ok(n), "{s}");
            assert_eq!(parse_number(s, POINT), Ok(n), "{s}");
        }
        for (s, n) in [("2.500,50", 2500.5), ("25,5", 25.5), ("1.000.000", 1e6), ("0,75 €", 0.75)] {
            assert_eq!(parse_number(s, UNSETTLED), Ok(n), "{s}");
            assert_eq!(parse_number(s, COMMA), Ok(n), "{s}");
            assert!(parse_number(s, POINT).unwrap_err().contains("decimal comma"), "{s}");
        }
        assert_eq!(parse_number("1.500", COMMA), Ok(1500.0));
        assert_eq!(parse_number("1.500", POINT), Ok(1.5));
        assert_eq!(parse_number("1,500", POINT), Ok(1500.0));
        for s in ["1.500", "1,500", "250.000", "$1,500"] {
            assert!(parse_number(s, UNSETTLED).unwrap_err().contains("--decimal-comma"), "{s}");
        }
        assert_eq!(parse_number("$1,500", COMMA_DELIMITED), Ok(1500.0));
        assert!(parse_number("1.500", COMMA_DELIMITED).is_err());
        for s in ["51-200", "many", "1.2.3,4.5", "1,5,0", "", "1e5", "12 345x"] {
            assert!(parse_number(s, UNSETTLED).is_err(), "{s}");
        }
        assert_eq!(parse_number("12 345,5", COMMA), Ok(12345.5));
    }

    #[test]
    fn dates_by_order() {
        let at = |s: &str| Timestamp::parse(s).unwrap();
        assert_eq!(parse_date("03/15/2026", None), Ok(at("2026-03-15")));
        assert_eq!(parse_date("15/03/2026", None), Ok(at("2026-03-15")));
        assert_eq!(parse_date("15.03.2026", None), Ok(at("2026-03-15")));
        assert_eq!(parse_date("03/03/2026", None), Ok(at("2026-03-03")));
        assert_eq!(parse_date("3/21/2026 9:15 AM", None), Ok(at("2026-03-21T09:15:00Z")));
        assert_eq!(parse_date("3/21/2026 12:05 AM", None), Ok(at("2026-03-21T00:05:00Z")));
        assert_eq!(parse_date("21/3/2026 17:45:10", None), Ok(at("2026-03-21T17:45:10Z")));
        assert_eq!(parse_date("03/04/2026", Some(DateOrder::MonthFirst)), Ok(at("2026-03-04")));
        assert_eq!(parse_date("03/04/2026", Some(DateOrder::DayFirst)), Ok(at("2026-04-03")));
        assert!(parse_date("03/04/2026", None).unwrap_err().contains("--date-format"));
        assert!(parse_date("15/03/2026", Some(DateOrder::MonthFirst)).unwrap_err().contains("month/day/year"));
        for s in ["13/13/2026", "02/30/2026", "3/4/26", "2026-02-30", "yesterday", "3/4/2026 25:00"] {
            assert!(parse_date(s, None).is_err(), "{s}");
        }
        assert_eq!(date_hint("2026-03-15T10:00:00Z"), DateHint::Plain);
        assert_eq!(date_hint("04.03.2026"), DateHint::Only(DateOrder::DayFirst));
    }
}
