//! Which column of a file goes where.
//!
//! Without a mapping file, headers are recognized by their usual names in CRM exports
//! ("E-mail Address", "Job Title", "Lead Source", ...). A mapping file names the rest:
//!
//! ```toml
//! unknown_columns = "keep"        # keep (custom fields / event properties), ignore, or error
//! [columns]
//! "Work Email" = "email"
//! "Budget (USD)" = "custom.budget"
//! "Internal notes" = "ignore"
//! "Page" = "property.url"         # events
//! ```

use std::collections::HashMap;

use leadflow_core::Field;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file: {0}")]
    File(String),
    #[error("column `{column}`: `{target}` is not somewhere a {kind} column can go ({expected})")]
    BadTarget { column: String, target: String, kind: &'static str, expected: String },
    #[error("column `{0}` is not known and the mapping says unknown_columns = \"error\"")]
    Unknown(String),
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownColumns {
    /// As custom fields (leads) or event properties (events).
    #[default]
    Keep,
    Ignore,
    Error,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnMapping {
    columns: HashMap<String, String>,
    unknown: UnknownColumns,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadTarget {
    Id,
    Field(Field),
    CreatedAt,
    /// Names a lead that has no email (a CRM's own id): the lead gets the address
    /// `<id>@no-email.invalid`, which is never deliverable, and keeps the id as `custom.external_id`.
    ExternalId,
    /// Won or lost (converted, 1, yes / 0, no, ...).
    Outcome,
    /// When the outcome happened.
    OutcomeAt,
    Custom(String),
    Ignore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventTarget {
    Key,
    LeadId,
    Email,
    Type,
    Ts,
    Property(String),
    Ignore,
}

impl EventTarget {
    pub fn describe(&self) -> &'static str {
        match self {
            EventTarget::Key => "id",
            EventTarget::LeadId => "lead id",
            EventTarget::Email => "email",
            EventTarget::Type => "type",
            EventTarget::Ts => "timestamp",
            EventTarget::Property(_) => "property",
            EventTarget::Ignore => "ignored column",
        }
    }
}

/// `Job Title` -> `job_title`, `E-mail Address` -> `e_mail_address`.
fn normalize(header: &str) -> String {
    let mut out = String::with_capacity(header.len());
    for c in header.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

fn lead_alias(n: &str) -> Option<LeadTarget> {
    use LeadTarget::Field as F;
    Some(match n {
        "id" | "lead_id" | "leadid" => LeadTarget::Id,
        "email" | "e_mail" | "email_address" | "e_mail_address" | "work_email" => F(Field::Email),
        "first_name" | "firstname" | "given_name" => F(Field::FirstName),
        "last_name" | "lastname" | "surname" | "family_name" => F(Field::LastName),
        "company" | "company_name" | "organization" | "organisation" | "account" | "account_name" => F(Field::Company),
        "job_title" | "jobtitle" | "title" | "position" => F(Field::JobTitle),
        "department" => F(Field::Department),
        "industry" => F(Field::Industry),
        "employees"
        | "employee_count"
        | "number_of_employees"
        | "no_of_employees"
        | "num_employees"
        | "company_size" => F(Field::Employees),
        "annual_revenue" | "revenue" => F(Field::AnnualRevenue),
        "country" => F(Field::Country),
        "city" => F(Field::City),
        "company_type" => F(Field::CompanyType),
        "source" | "lead_source" | "channel" => F(Field::Source),
        "owner" | "lead_owner" => F(Field::Owner),
        "stage" | "lifecycle_stage" => F(Field::Stage),
        "created_at" | "created" | "created_date" | "create_date" | "created_time" => LeadTarget::CreatedAt,
        "outcome" | "converted" | "won" | "deal_outcome" => LeadTarget::Outcome,
        "outcome_at" | "converted_at" | "closed_at" | "close_date" | "won_at" | "outcome_date" => LeadTarget::OutcomeAt,
        _ => return None,
    })
}

fn event_alias(n: &str) -> Option<EventTarget> {
    Some(match n {
        "event_id" | "id" | "key" | "idempotency_key" => EventTarget::Key,
        "lead_id" | "leadid" => EventTarget::LeadId,
        "email" | "e_mail" | "email_address" => EventTarget::Email,
        "type" | "event" | "event_type" | "activity_type" => EventTarget::Type,
        "ts" | "timestamp" | "time" | "occurred_at" | "date" | "activity_date" => EventTarget::Ts,
        _ => return None,
    })
}

impl ColumnMapping {
    pub fn parse(source: &str) -> Result<ColumnMapping, MappingError> {
        let table: toml::Table = toml::from_str(source).map_err(|e| MappingError::File(e.to_string()))?;
        let mut mapping = ColumnMapping::default();
        for (key, value) in table {
            match (key.as_str(), value) {
                ("unknown_columns", toml::Value::String(s)) => {
                    mapping.unknown = match s.as_str() {
                        "keep" => UnknownColumns::Keep,
                        "ignore" => UnknownColumns::Ignore,
                        "error" => UnknownColumns::Error,
                        _ => {
                            return Err(MappingError::File(format!(
                                "unknown_columns: `{s}` (expected keep, ignore or error)"
                            )));
                        }
                    }
                }
                ("columns", toml::Value::Table(columns)) => {
                    for (column, target) in columns {
                        let toml::Value::String(target) = target else {
                            return Err(MappingError::File(format!("columns.`{column}`: expected a string")));
                        };
                        mapping.columns.insert(column, target);
                    }
                }
                (other, _) => {
                    return Err(MappingError::File(format!(
                        "unexpected `{other}` (expected unknown_columns and a [columns] table)"
                    )));
                }
            }
        }
        Ok(mapping)
    }

    pub fn lead_target(&self, header: &str) -> Result<LeadTarget, MappingError> {
        if let Some(target) = self.columns.get(header) {
            let bad = || MappingError::BadTarget {
                column: header.to_string(),
                target: target.clone(),
                kind: "lead",
                expected: "id, external_id, a standard field, created_at, outcome, outcome_at, custom.<name> or ignore"
                    .into(),
            };
            return match target.as_str() {
                "ignore" => Ok(LeadTarget::Ignore),
                "id" => Ok(LeadTarget::Id),
                "created_at" => Ok(LeadTarget::CreatedAt),
                "outcome" => Ok(LeadTarget::Outcome),
                "external_id" => Ok(LeadTarget::ExternalId),
                "outcome_at" => Ok(LeadTarget::OutcomeAt),
                t => match t.strip_prefix("custom.") {
                    Some(name) if leadflow_core::lead::is_identifier(name) => Ok(LeadTarget::Custom(name.to_string())),
                    Some(_) => Err(bad()),
                    None => Field::from_name(t).map(LeadTarget::Field).ok_or_else(bad),
                },
            };
        }
        let n = normalize(header);
        if let Some(t) = lead_alias(&n) {
            return Ok(t);
        }
        match self.unknown {
            UnknownColumns::Keep if leadflow_core::lead::is_identifier(&n) => Ok(LeadTarget::Custom(n)),
            UnknownColumns::Keep | UnknownColumns::Ignore => Ok(LeadTarget::Ignore),
            UnknownColumns::Error => Err(MappingError::Unknown(header.to_string())),
        }
    }

    pub fn event_target(&self, header: &str) -> Result<EventTarget, MappingError> {
        if let Some(target) = self.columns.get(header) {
            let bad = || MappingError::BadTarget {
                column: header.to_string(),
                target: target.clone(),
                kind: "event",
                expected: "event_id, lead_id, email, type, ts, property.<name> or ignore".into(),
            };
            return match target.as_str() {
                "ignore" => Ok(EventTarget::Ignore),
                t => match t.strip_prefix("property.") {
                    Some(name) if leadflow_core::lead::is_identifier(name) => {
                        Ok(EventTarget::Property(name.to_string()))
                    }
                    Some(_) => Err(bad()),
                    None => event_alias(t).ok_or_else(bad),
                },
            };
        }
        let n = normalize(header);
        if let Some(t) = event_alias(&n) {
            return Ok(t);
        }
        match self.unknown {
            UnknownColumns::Keep if leadflow_core::lead::is_identifier(&n) => Ok(EventTarget::Property(n)),
            UnknownColumns::Keep | UnknownColumns::Ignore => Ok(EventTarget::Ignore),
            UnknownColumns::Error => Err(MappingError::Unknown(header.to_string())),
        }
    }
}
