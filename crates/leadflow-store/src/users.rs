//! Sales users and what assignment keeps: each rule's rotation, and each owner's open leads.
//!
//! A user is stored as [`User`] gives it back (zone, week in its one-line form, holidays), so a
//! row that no longer builds a user is corruption, reported as such.

use std::collections::HashMap;

use leadflow_core::Timestamp;
use leadflow_core::team::{Cursor, User, UserName};

use crate::StoreError;

pub trait UserReads {
    /// Every user, by name.
    fn users(&self) -> Result<Vec<User>, StoreError>;
}

pub trait UserWrites {
    /// Creates the user, or replaces the one of that name; whether it was new.
    fn put_user(&mut self, user: &User, now: Timestamp) -> Result<bool, StoreError>;
    /// Every user, by name, as this unit of work sees them.
    fn users_now(&mut self) -> Result<Vec<User>, StoreError>;
    /// The rule's rotation, held by this unit of work until it ends: another assignment by the
    /// same rule, on any server, waits for this one and reads what it wrote. `None` for a rule
    /// that has given no lead yet.
    fn hold_assignment_cursor(&mut self, rule: &str) -> Result<Option<Cursor>, StoreError>;
    fn set_assignment_cursor(&mut self, rule: &str, cursor: &Cursor) -> Result<(), StoreError>;
    /// How many leads each owner has in one of the `open` stages (pipeline, stage id): the leads
    /// being worked, which a user's capacity bounds. Owners with none are left out.
    fn open_leads_by_owner(&mut self, open: &[(String, String)]) -> Result<HashMap<UserName, u32>, StoreError>;
}

/// A user's stored holidays: a JSON list of local dates.
pub fn encode_holidays(user: &User) -> String {
    let dates: Vec<String> = user.holidays().iter().map(ToString::to_string).collect();
    serde_json::to_string(&dates).expect("strings always serialize")
}

/// The columns of a user's row, as read back.
pub struct UserRow {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub team: Option<String>,
    pub role: String,
    pub zone: String,
    pub week: String,
    pub holidays: String,
    pub away_until: Option<i64>,
    pub capacity: Option<i64>,
    pub active: bool,
    pub signature: Option<String>,
}

impl UserRow {
    /// The user this row holds; a row no user can be built from is corruption.
    pub fn into_user(self) -> Result<User, StoreError> {
        let corrupt = |what: String| StoreError::Corrupt(format!("user `{}`: {what}", self.name));
        let holidays: Vec<String> =
            serde_json::from_str(&self.holidays).map_err(|e| corrupt(format!("holidays: {e}")))?;
        let holidays: Vec<&str> = holidays.iter().map(String::as_str).collect();
        let away_until = self.away_until.map(|t| Timestamp::from_millis(t).to_string());
        let capacity = self.capacity.map(u32::try_from).transpose().map_err(|e| corrupt(format!("capacity: {e}")))?;
        let spec = leadflow_core::team::UserSpec {
            name: &self.name,
            display_name: self.display_name.as_deref(),
            email: self.email.as_deref(),
            team: self.team.as_deref(),
            role: Some(&self.role),
            zone: &self.zone,
            hours: Some(&self.week),
            holidays: &holidays,
            away_until: away_until.as_deref(),
            capacity,
            active: self.active,
        };
        User::build(spec).and_then(|u| u.with_signature(self.signature.as_deref())).map_err(|e| corrupt(e.to_string()))
    }
}

/// A stored rotation; one naming no valid user is corruption.
pub fn read_cursor(rule: &str, last: &str, position: i64) -> Result<Cursor, StoreError> {
    let corrupt = || StoreError::Corrupt(format!("assignment cursor of rule `{rule}`: `{last}` at {position}"));
    let last = UserName::parse(last).map_err(|_| corrupt())?;
    Ok(Cursor { last, index: u32::try_from(position).map_err(|_| corrupt())? })
}
