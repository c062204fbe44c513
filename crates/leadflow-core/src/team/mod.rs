//! Sales users and lead assignment: who may own leads, and which of them gets a new or newly
//! qualified lead.
//!
//! A lead handed to sales is only worked once someone owns it, and a lead that waits for an
//! owner cools while it waits. So owners are given by rules, the moment a lead arrives
//! or qualifies, rather than picked by a manager who reads a queue: by region or segment
//! (HubSpot's and Salesforce's assignment rules), in turn or to whoever has the most room
//! (Pipedrive's and Close's round robin), passing over whoever is out of office or full.
//!
//! A [`User`] is a sales rep or manager: a name other records refer to, a working calendar (the
//! zone, week and holidays a hand-off SLA counts in), an absence, and a capacity of open leads.
//! [`User::build`] checks one given in plain strings, as the CLI and the API receive it; the
//! working week has a one-line form, `mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00`
//! ([`WorkingWeek`] documents the grammar).
//!
//! Assignment rules are a file for the reasons models and pipelines are: reviewed like code,
//! diffed, and checked before they run. [`AssignmentRules::parse`] checks everything it can and
//! reports every problem with its line. Which users exist it cannot know, since they are in the
//! store: a name no user has is skipped at pick time, with that reason, and
//! [`AssignmentRules::unknown_names`] lists such names for the engine to warn about when it loads
//! the file.
//!
//! Choosing is pure: [`AssignmentRules::pick`] is a function of the rules, the lead, the users,
//! their open-lead counts, each rule's stored [`Cursor`] and the time. The engine stores the
//! owner it gives and the rule's new cursor in one transaction, so that concurrent picks never
//! take the same turn. `assignment.rs`'s module doc says how each strategy chooses and what
//! happens to a rotation when its pool changes.
//!
//! # The file
//!
//! `examples/assignment-inbound.toml` shows every key.
//!
//! - Top level: `name` (an identifier), `description`, `[[rules]]` (at least one), tried in file
//!   order; the first that matches the lead decides who gets it.
//! - `[[rules]]`:
//!   - `id`: an identifier, unique in the file (the stored cursor is kept under it).
//!   - `on` (required): when the rule applies: `"created"` (a new lead), `"mql"` (a lead that
//!     became marketing-qualified) or `"any"`.
//!   - `when`: a list of conditions on profile fields, written as a pipeline's routing `when`
//!     (`field`, `op`, `value`/`values` or `min`/`max`, `not`), all of which must hold.
//!   - `pipeline`: the name of the pipeline the lead must be in.
//!   - `score_at_least`: the score total the lead must have reached (a lead without a score
//!     does not match).
//!   - `strategy`: `"round_robin"` (the default), `"least_busy"`, `"weighted"` or `"fixed"`.
//!   - `users` and `teams`: the candidates, user names and team names (a team stands for its
//!     active reps); at least one candidate in all. A `fixed` rule has exactly one user and no
//!     teams.
//!   - `fallback_owner`: the user who gets the lead when nobody in the pool can.
//!
//!   A rule that can never match is an error: one after a rule without `when`, `pipeline` and
//!   `score_at_least` on the same trigger (or after one `on = "any"`).

mod assignment;
mod parse;
mod user;
mod week;

pub use assignment::{
    AssignContext, AssignOn, AssignTrigger, Assigned, AssignedBy, Assignment, AssignmentRules, Cursor, LeadToAssign,
    NameKind, Rule, SkipReason, Skipped, Strategy, Unassigned, UnknownName,
};
pub use parse::{AssignmentError, AssignmentProblem};
pub use user::{MAX_DISPLAY_NAME, TeamName, User, UserError, UserName, UserRole, UserSpec};
pub use week::{DEFAULT_WEEK, WeekError, WorkingWeek};

/// The working time of an owner who is no user (a CRM's name, nobody): the default week in UTC.
pub fn default_calendar() -> crate::calendar::WorkingCalendar {
    let utc = crate::calendar::parse_zone("UTC").expect("UTC is a zone");
    crate::calendar::WorkingCalendar::new(utc, WorkingWeek::default().weekly_hours(), [])
}

/// The calendar of `owner` among `users`; the default one for an owner who is none of them.
pub fn calendar_of<'a>(
    users: &'a [User],
    owner: Option<&str>,
    default: &'a crate::calendar::WorkingCalendar,
) -> &'a crate::calendar::WorkingCalendar {
    owner.and_then(|o| users.iter().find(|u| u.name().as_str() == o)).map_or(default, User::calendar)
}

#[cfg(test)]
mod tests;
