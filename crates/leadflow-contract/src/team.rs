//! Sales users, assignment rules and owners, as the API and `--json` give them.

use leadflow_core::Timestamp;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Lead, ModelProblem};

/// A sales user: the name leads are owned under.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UserInfo {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub team: Option<String>,
    /// `rep` or `manager`.
    pub role: &'static str,
    /// The IANA time zone their working hours are local to.
    pub zone: String,
    /// Their working week, e.g. `mon-fri 09:00-17:00`.
    pub hours: String,
    /// Local dates they do not work.
    pub holidays: Vec<String>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub away_until: Option<Timestamp>,
    /// The most open leads they take at once; null: no limit.
    pub capacity: Option<u32>,
    pub active: bool,
    /// Active and not away now: assignment may give them leads.
    pub available: bool,
    /// What ends the nurture emails sent from them; null: their name and address.
    pub signature: Option<String>,
}

impl UserInfo {
    pub fn new(u: &leadflow_core::team::User, now: Timestamp) -> UserInfo {
        UserInfo {
            name: u.name().to_string(),
            display_name: u.display_name().map(str::to_string),
            email: u.email().map(ToString::to_string),
            team: u.team().map(ToString::to_string),
            role: u.role().as_str(),
            zone: u.calendar().zone().name().to_string(),
            hours: u.week().to_string(),
            holidays: u.holidays().iter().map(ToString::to_string).collect(),
            away_until: u.away_until(),
            capacity: u.capacity(),
            active: u.is_active(),
            available: u.is_available(now),
            signature: u.signature().map(str::to_string),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct UserList {
    pub users: Vec<UserInfo>,
}

/// A user to create or replace: every field as it is to be.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"zone": "Europe/Berlin", "hours": "mon-fri 09:00-17:00", "team": "emea", "capacity": 40}))]
pub struct UserRequest {
    /// An IANA time zone, such as `Europe/Berlin`.
    pub zone: String,
    /// The working week, e.g. `mon-fri 09:00-12:30,13:30-17:00; sat 10:00-14:00`; Monday to Friday
    /// 09:00-17:00 when left out.
    pub hours: Option<String>,
    /// Local dates (`YYYY-MM-DD`) they do not work.
    #[serde(default)]
    pub holidays: Vec<String>,
    pub team: Option<String>,
    /// `rep` (the default) or `manager`.
    pub role: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    /// Out of office until then: assignment passes them over.
    #[schema(format = DateTime)]
    pub away_until: Option<String>,
    /// The most open leads they take at once.
    #[schema(minimum = 1, maximum = 4294967295_u64, format = Int64)]
    pub capacity: Option<u32>,
    /// False for someone who takes no leads (who left).
    #[serde(default = "active")]
    #[schema(default = true)]
    pub active: bool,
    /// What ends the nurture emails sent from them (2,000 characters at most); their name and
    /// address when left out.
    #[schema(max_length = 2000)]
    pub signature: Option<String>,
}

fn active() -> bool {
    true
}

/// An assignment rules file to check or put in use.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignmentRequest {
    /// The rules file's text (TOML).
    pub source: String,
}

/// An assignment rules file checked: valid (with the names it gives that no user or team has
/// yet), or its problems, each at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AssignmentCheck {
    pub valid: bool,
    pub name: Option<String>,
    /// The rules' ids, in the order they are tried.
    pub rules: Vec<String>,
    pub problems: Vec<ModelProblem>,
    /// Names no stored user or team has: those candidates are skipped until they exist.
    pub unknown_names: Vec<String>,
}

impl AssignmentCheck {
    pub fn of(
        parsed: &Result<leadflow_core::team::AssignmentRules, leadflow_core::team::AssignmentError>,
        users: &[leadflow_core::team::User],
    ) -> AssignmentCheck {
        match parsed {
            Ok(r) => AssignmentCheck {
                valid: true,
                name: Some(r.name().to_string()),
                rules: r.rules().iter().map(|r| r.id().to_string()).collect(),
                problems: Vec::new(),
                unknown_names: r.unknown_names(users).iter().map(ToString::to_string).collect(),
            },
            Err(e) => AssignmentCheck {
                valid: false,
                name: None,
                rules: Vec::new(),
                problems: ModelProblem::list(&e.problems),
                unknown_names: Vec::new(),
            },
        }
    }
}

/// The assignment rules in use.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AssignmentInfo {
    pub version: i64,
    pub name: String,
    pub source: String,
}

/// An owner to give a lead.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"owner": "ana", "reason": "speaks German"}))]
pub struct OwnerRequest {
    /// A user's name; left out: whom the assignment rules pick, as if the lead had just qualified.
    pub owner: Option<String>,
    pub reason: Option<String>,
}

/// An owner given, and the lead after it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OwnerResult {
    pub owner: String,
    pub previous: Option<String>,
    /// Why: the reason given, or the rule, its strategy and whom it passed over.
    pub reason: String,
    pub lead: Lead,
}
