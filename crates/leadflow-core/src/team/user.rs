//! Sales users: who may own leads, when they work, and how many open leads they take at once.
//!
//! A [`User`] is built only by [`User::build`], from the plain strings a CLI flag, an API body
//! or a stored row gives; once built, its name is a valid identifier, its email normalized, its
//! calendar a valid one, and its capacity at least 1.

use std::fmt;

use chrono::NaiveDate;

use crate::calendar::{CalendarError, WorkingCalendar, parse_zone};
use crate::email::{Email, EmailError};
use crate::lead::is_identifier;
use crate::text::printable;
use crate::time::{Timestamp, TimestampError};

use super::week::{WeekError, WorkingWeek};

/// The longest display name, in characters: what fits a column of a lead list.
pub const MAX_DISPLAY_NAME: usize = 128;
/// The longest email signature a user keeps, in characters.
pub const MAX_SIGNATURE: usize = 2_000;

/// A user's name: how rules, owners and the API refer to them (`ana`, `bob.smith`,
/// `ana@yourco.example`: a sign-in name may be an email). Case-sensitive, 1-64 letters, digits,
/// `_`, `.`, `-` or `@`.
///
/// It is the name a lead's `owner` holds and a sales API key has.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UserName(String);

impl UserName {
    /// Surrounding space is dropped; the case is kept.
    pub fn parse(input: &str) -> Result<UserName, UserError> {
        let s = input.trim();
        let valid = !s.is_empty()
            && s.chars().count() <= 64
            && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
        valid.then(|| UserName(s.to_string())).ok_or_else(|| UserError::Name(printable(s).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UserName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A team's name (`emea`, `enterprise-us`): an identifier, case-sensitive, as a user's name is.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TeamName(String);

impl TeamName {
    pub fn parse(input: &str) -> Result<TeamName, UserError> {
        identifier(input).map(TeamName).ok_or_else(|| UserError::Team(printable(input.trim()).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TeamName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn identifier(input: &str) -> Option<String> {
    let s = input.trim();
    is_identifier(s).then(|| s.to_string())
}

/// What a user does with leads. A team named in an assignment rule stands for its reps: a
/// manager gets leads only when a rule names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum UserRole {
    /// Works the leads they own.
    #[default]
    Rep,
    /// Leads a team; owns leads only by name (a fallback owner, a key account).
    Manager,
}

impl UserRole {
    pub const ALL: [UserRole; 2] = [UserRole::Rep, UserRole::Manager];

    pub fn as_str(self) -> &'static str {
        match self {
            UserRole::Rep => "rep",
            UserRole::Manager => "manager",
        }
    }

    /// Any case, surrounding space ignored.
    pub fn parse(s: &str) -> Option<UserRole> {
        UserRole::ALL.into_iter().find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UserError {
    #[error("`{0}` is not a user name (expected 1-64 letters, digits, `_`, `.`, `-` or `@`)")]
    Name(String),
    #[error("`{0}` is not a team name (expected 1-64 letters, digits, `_`, `.` or `-`)")]
    Team(String),
    #[error("`{0}` is not a role (expected rep or manager)")]
    Role(String),
    #[error("the display name is blank (leave it out to show the user's name)")]
    BlankDisplayName,
    #[error("the display name is longer than {MAX_DISPLAY_NAME} characters")]
    LongDisplayName,
    #[error("the signature is longer than {MAX_SIGNATURE} characters")]
    LongSignature,
    #[error("email: {0}")]
    Email(EmailError),
    #[error("hours: {0}")]
    Hours(WeekError),
    /// The zone or a holiday: the calendar's messages say which.
    #[error(transparent)]
    Calendar(CalendarError),
    #[error("away until: {0}")]
    AwayUntil(TimestampError),
    #[error("capacity must be at least 1 (to give a user no new leads, mark them away or inactive)")]
    ZeroCapacity,
}

/// A user as given from outside, in plain strings: what [`User::build`] checks. Start from
/// [`UserSpec::new`] and set what differs: `UserSpec { capacity: Some(20), ..UserSpec::new("ana",
/// "Europe/Berlin") }`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserSpec<'a> {
    pub name: &'a str,
    pub display_name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub team: Option<&'a str>,
    /// `rep` or `manager`; `None` is a rep.
    pub role: Option<&'a str>,
    /// An IANA time zone such as `Europe/Berlin`: the user's working hours are local to it.
    pub zone: &'a str,
    /// A [`WorkingWeek`] in its one-line form; `None` is [`super::week::DEFAULT_WEEK`].
    pub hours: Option<&'a str>,
    /// Local dates (`YYYY-MM-DD`) the user does not work.
    pub holidays: &'a [&'a str],
    /// Out of office until this instant (RFC 3339, or a date: its midnight UTC).
    pub away_until: Option<&'a str>,
    /// The most open leads the user owns at once; `None` for no limit.
    pub capacity: Option<u32>,
    /// Whether the user takes leads at all; `false` for someone who left.
    pub active: bool,
}

impl<'a> UserSpec<'a> {
    /// An active rep with the default week, no holidays, no absence and no limit.
    pub fn new(name: &'a str, zone: &'a str) -> UserSpec<'a> {
        UserSpec {
            name,
            display_name: None,
            email: None,
            team: None,
            role: None,
            zone,
            hours: None,
            holidays: &[],
            away_until: None,
            capacity: None,
            active: true,
        }
    }
}

/// A sales user who may own leads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    name: UserName,
    display_name: Option<String>,
    email: Option<Email>,
    team: Option<TeamName>,
    role: UserRole,
    week: WorkingWeek,
    /// Sorted, without repeats.
    holidays: Vec<NaiveDate>,
    /// Built from the zone, `week` and `holidays`, which are kept to give them back.
    calendar: WorkingCalendar,
    away_until: Option<Timestamp>,
    capacity: Option<u32>,
    active: bool,
    /// What ends the emails sequences send from this user (a blank one is none).
    signature: Option<String>,
}

impl User {
    /// Checks a user given in plain strings; the error names the first thing wrong.
    pub fn build(spec: UserSpec<'_>) -> Result<User, UserError> {
        let name = UserName::parse(spec.name)?;
        let display_name = match spec.display_name.map(str::trim) {
            Some("") => return Err(UserError::BlankDisplayName),
            Some(d) if d.chars().count() > MAX_DISPLAY_NAME => return Err(UserError::LongDisplayName),
            d => d.map(str::to_string),
        };
        let email = spec.email.map(Email::parse).transpose().map_err(UserError::Email)?;
        let team = spec.team.map(TeamName::parse).transpose()?;
        let role = match spec.role {
            None => UserRole::default(),
            Some(r) => UserRole::parse(r).ok_or_else(|| UserError::Role(printable(r.trim()).into_owned()))?,
        };
        let zone = parse_zone(spec.zone).map_err(UserError::Calendar)?;
        // Read here rather than by `WorkingCalendar::parse`, which keeps them to itself: a user
        // gives their week and holidays back, for the store and the CLI to show.
        let week =
            spec.hours.map_or_else(|| Ok(WorkingWeek::default()), WorkingWeek::parse).map_err(UserError::Hours)?;
        let mut holidays = spec
            .holidays
            .iter()
            .map(|h| {
                NaiveDate::parse_from_str(h.trim(), "%Y-%m-%d").map_err(|_| {
                    UserError::Calendar(CalendarError::BadHoliday { input: printable(h.trim()).into_owned() })
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        holidays.sort_unstable();
        holidays.dedup();
        let away_until = spec.away_until.map(Timestamp::parse).transpose().map_err(UserError::AwayUntil)?;
        if spec.capacity == Some(0) {
            return Err(UserError::ZeroCapacity);
        }
        let calendar = WorkingCalendar::new(zone, week.weekly_hours(), holidays.iter().copied());
        Ok(User {
            name,
            display_name,
            email,
            team,
            role,
            week,
            holidays,
            calendar,
            away_until,
            capacity: spec.capacity,
            active: spec.active,
            signature: None,
        })
    }

    /// The user with this email signature (trimmed; blank is none): what ends the nurture
    /// emails sent from them.
    pub fn with_signature(mut self, signature: Option<&str>) -> Result<User, UserError> {
        let signature = signature.map(str::trim).filter(|s| !s.is_empty());
        if signature.is_some_and(|s| s.chars().count() > MAX_SIGNATURE) {
            return Err(UserError::LongSignature);
        }
        self.signature = signature.map(str::to_string);
        Ok(self)
    }

    pub fn signature(&self) -> Option<&str> {
        self.signature.as_deref()
    }

    pub fn name(&self) -> &UserName {
        &self.name
    }

    /// The name people see, when one was given: [`Self::name`] otherwise.
    pub fn display_name(&self) -> Option<&str> {
        self.display_name.as_deref()
    }

    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    pub fn team(&self) -> Option<&TeamName> {
        self.team.as_ref()
    }

    pub fn role(&self) -> UserRole {
        self.role
    }

    /// The weekly hours; `Display` gives the one-line form back.
    pub fn week(&self) -> &WorkingWeek {
        &self.week
    }

    /// The holidays, sorted, each once.
    pub fn holidays(&self) -> &[NaiveDate] {
        &self.holidays
    }

    /// When the user works: their zone, week and holidays. What a hand-off SLA counts.
    pub fn calendar(&self) -> &WorkingCalendar {
        &self.calendar
    }

    /// Out of office until this instant.
    pub fn away_until(&self) -> Option<Timestamp> {
        self.away_until
    }

    /// The most open leads the user owns at once; `None` for no limit.
    pub fn capacity(&self) -> Option<u32> {
        self.capacity
    }

    pub fn is_active(&self) -> bool {
        self.active
    }

    /// Whether the user is out of office at `now`: before `away_until`. They are back at that
    /// very instant.
    pub fn is_away(&self, now: Timestamp) -> bool {
        self.away_until.is_some_and(|until| now < until)
    }

    /// Whether the user takes new leads at `now`: active, and not away.
    pub fn is_available(&self, now: Timestamp) -> bool {
        self.active && !self.is_away(now)
    }

    /// Whether a user who owns `open_leads` open leads may take one more: fewer than their
    /// capacity, or no capacity at all.
    pub fn has_room(&self, open_leads: u32) -> bool {
        self.capacity.is_none_or(|c| open_leads < c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_kept_trimmed_blank_is_none_and_long_is_refused() {
        let user = User::build(UserSpec::new("kim", "UTC")).unwrap();
        assert_eq!(user.clone().with_signature(Some("  Kim\nYourCo \n")).unwrap().signature(), Some("Kim\nYourCo"));
        assert_eq!(user.clone().with_signature(Some(" \n ")).unwrap().signature(), None);
        let long = "x".repeat(MAX_SIGNATURE + 1);
        assert!(matches!(user.with_signature(Some(&long)), Err(UserError::LongSignature)));
    }
}
