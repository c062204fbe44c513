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
//! "Zip" = { field = "custom.zip", type = "text" }   # a custom field's type: text, number, bool, date
//!
//! [stages]                        # a CRM's stage or status values, onto leadflow's stages
//! "Warm prospect" = "mql"
//! ```
//!
//! Every key of `[columns]` must name a column of the file: a typo is an error that lists the
//! headers, not a column silently left out. Custom fields found without a `type` get one from
//! their values (see `columns`).
//!
//! Stage values are matched ignoring case, spaces and punctuation. Besides leadflow's own names
//! (`subscriber`, `lead`, `mql`, `sql`, `opportunity`, `customer`, `recycled`, `disqualified`),
//! the defaults ([`DEFAULT_STAGES`]) read HubSpot's lifecycle stages (`Marketing Qualified
//! Lead`, `Evangelist`, ...) and lead statuses (`Open Deal`, `Unqualified`, `Bad Timing`, ...),
//! and Salesforce's lead statuses (`Open - Not Contacted`, `Closed - Converted`, ...).

use std::collections::HashMap;

use leadflow_core::{Field, LifecycleStage, PhoneRegion, System};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MappingError {
    #[error("mapping file: {0}")]
    File(String),
    #[error("column `{column}`: `{target}` is not somewhere a {kind} column can go ({expected})")]
    BadTarget { column: String, target: String, kind: &'static str, expected: String },
    #[error("column `{0}` is not known and the mapping says unknown_columns = \"error\"")]
    Unknown(String),
    #[error("the mapping names column `{column}`, which the file does not have (its columns: {headers})")]
    NoSuchColumn { column: String, headers: String },
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UnknownColumns {
    /// As custom fields (leads) or event properties (events).
    #[default]
    Keep,
    Ignore,
    Error,
}

/// The type a custom field's values are read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    Text,
    Number,
    Bool,
    Date,
}

impl ValueType {
    fn parse(s: &str) -> Option<ValueType> {
        Some(match s {
            "text" | "string" => ValueType::Text,
            "number" => ValueType::Number,
            "bool" | "boolean" => ValueType::Bool,
            "date" | "timestamp" => ValueType::Date,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            ValueType::Text => "text",
            ValueType::Number => "number",
            ValueType::Bool => "bool",
            ValueType::Date => "date",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
struct ColumnRule {
    target: String,
    value_type: Option<ValueType>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct ColumnMapping {
    columns: HashMap<String, ColumnRule>,
    unknown: UnknownColumns,
    /// Normalized stage value -> stage, over the defaults.
    stages: HashMap<String, LifecycleStage>,
    /// The country phone numbers written without their country code are in.
    phone_region: Option<PhoneRegion>,
    /// Normalized stage value -> a pipeline's stage id, for stage histories.
    pipeline_stages: HashMap<String, String>,
    /// Normalized names of the fields of a field history that hold the stage.
    stage_fields: Option<Vec<String>>,
}

/// Stage values of HubSpot and Salesforce exports, as leadflow reads them by default.
pub const DEFAULT_STAGES: &[(&str, LifecycleStage)] = {
    use LifecycleStage::*;
    &[
        // HubSpot lifecycle stages (labels and internal values normalize alike).
        ("marketingqualifiedlead", Mql),
        ("salesqualifiedlead", Sql),
        ("evangelist", Customer),
        // HubSpot lead statuses.
        ("new", Lead),
        ("open", Lead),
        ("inprogress", Lead),
        ("attemptedtocontact", Lead),
        ("connected", Lead),
        ("opendeal", Opportunity),
        ("unqualified", Disqualified),
        ("badtiming", Recycled),
        // Salesforce lead statuses.
        ("opennotcontacted", Lead),
        ("workingcontacted", Lead),
        ("closedconverted", Opportunity),
        ("closednotconverted", Disqualified),
        // Common words.
        ("marketingqualified", Mql),
        ("salesqualified", Sql),
        ("qualified", Sql),
        ("nurture", Recycled),
        ("nurturing", Recycled),
    ]
};

/// `Open - Not Contacted` -> `opennotcontacted`.
fn normalize_stage(s: &str) -> String {
    s.chars().filter(|c| c.is_alphanumeric()).flat_map(char::to_lowercase).collect()
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LeadTarget {
    Id,
    Field(Field),
    CreatedAt,
    /// Won or lost (converted, 1, yes / 0, no, ...).
    Outcome,
    /// When the outcome happened.
    OutcomeAt,
    /// More identities of the lead, of this kind (`email`, `phone`, `external` or a system's
    /// name), `;` between several: added to the lead the row names.
    Identity(String),
    Custom(String),
    Ignore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventTarget {
    Key,
    LeadId,
    /// The lead's id in a CRM (`Lead ID`, `Prospect ID`): names the lead by its external id.
    ExternalId,
    Email,
    /// Another identity of the lead, `kind:value` (`phone:+14155552671`, `salesforce:00Q5g...`).
    Identity,
    Type,
    Ts,
    Property(String),
    Ignore,
}

/// Where a column of a stage history (one row per change) goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChangeTarget {
    LeadId,
    ExternalId,
    Email,
    Identity,
    /// When the lead moved.
    At,
    /// The stage it left (Salesforce's `OldValue`); HubSpot's history gives only the new one.
    From,
    To,
    Reason,
    /// Which field changed, in a field history of every field (Salesforce's `Field`, HubSpot's
    /// property name): rows of other fields are passed over.
    Field,
    Ignore,
}

impl ChangeTarget {
    pub fn describe(&self) -> &'static str {
        match self {
            ChangeTarget::LeadId => "lead id",
            ChangeTarget::ExternalId => "external id",
            ChangeTarget::Email => "email",
            ChangeTarget::Identity => "identity",
            ChangeTarget::At => "at",
            ChangeTarget::From => "from",
            ChangeTarget::To => "to",
            ChangeTarget::Reason => "reason",
            ChangeTarget::Field => "field",
            ChangeTarget::Ignore => "ignored column",
        }
    }
}

impl LeadTarget {
    pub fn describe(&self) -> String {
        match self {
            LeadTarget::Id => "id".into(),
            LeadTarget::Field(f) => f.name().into(),
            LeadTarget::CreatedAt => "created_at".into(),
            LeadTarget::Outcome => "outcome".into(),
            LeadTarget::OutcomeAt => "outcome_at".into(),
            LeadTarget::Identity(kind) => format!("identity.{kind}"),
            LeadTarget::Custom(name) => format!("custom.{name}"),
            LeadTarget::Ignore => "ignored".into(),
        }
    }
}

impl EventTarget {
    pub fn describe(&self) -> &'static str {
        match self {
            EventTarget::Key => "id",
            EventTarget::LeadId => "lead id",
            EventTarget::ExternalId => "external id",
            EventTarget::Email => "email",
            EventTarget::Identity => "identity",
            EventTarget::Type => "type",
            EventTarget::Ts => "timestamp",
            EventTarget::Property(_) => "property",
            EventTarget::Ignore => "ignored column",
        }
    }
}

/// The name an unmapped column is kept under: its header normalized, cut to the 64 characters
/// a name may have; `column_<n>` for a header with no letter or digit.
fn kept_name(header: &str, position: usize) -> String {
    let n: String = normalize(header).chars().take(64).collect();
    let n = n.trim_end_matches('_').to_string();
    if n.is_empty() { format!("column_{}", position + 1) } else { n }
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
        // A CRM's own record id (`Lead ID`, `Prospect ID`, `Id`): text, case kept. Only a
        // column named exactly `lead_id` (leadflow's own name, see `lead_target`) or mapped to
        // `id` sets leadflow's internal id.
        "id" | "lead_id" | "leadid" | "prospect_id" | "contact_id" | "record_id" | "external_id" | "crm_id" => {
            F(Field::ExternalId)
        }
        "email" | "e_mail" | "email_address" | "e_mail_address" | "work_email" => F(Field::Email),
        "first_name" | "firstname" | "given_name" | "vorname" => F(Field::FirstName),
        "last_name" | "lastname" | "surname" | "family_name" | "nachname" => F(Field::LastName),
        "company" | "company_name" | "organization" | "organisation" | "account" | "account_name" | "firma" => {
            F(Field::Company)
        }
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
        "country" | "land" => F(Field::Country),
        "city" | "stadt" | "ort" => F(Field::City),
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
        "event_id" | "eventid" | "id" | "key" | "idempotency_key" | "activity_id" | "activityid" | "message_id"
        | "messageid" => EventTarget::Key,
        // As for leads: only a column named exactly `lead_id` (see `event_target`) holds
        // leadflow's id; a CRM's `Lead ID` is its own.
        "lead_id" | "leadid" | "prospect_id" | "contact_id" | "record_id" | "external_id" | "crm_id" => {
            EventTarget::ExternalId
        }
        "email" | "e_mail" | "email_address" => EventTarget::Email,
        "identity" | "lead_identity" => EventTarget::Identity,
        "type" | "event" | "event_type" | "activity_type" => EventTarget::Type,
        "ts" | "timestamp" | "time" | "occurred_at" | "date" | "activity_date" => EventTarget::Ts,
        _ => return None,
    })
}

fn change_alias(n: &str) -> Option<ChangeTarget> {
    Some(match n {
        // As for leads and events: only a column named exactly `lead_id` holds leadflow's id.
        "lead_id" | "leadid" | "prospect_id" | "contact_id" | "record_id" | "external_id" | "crm_id" | "deal_id"
        | "full_name_id" => ChangeTarget::ExternalId,
        "email" | "e_mail" | "email_address" => ChangeTarget::Email,
        "identity" | "lead_identity" => ChangeTarget::Identity,
        "at" | "time" | "timestamp" | "date" | "changed_at" | "change_date" | "createddate" | "created_date"
        | "edit_date" | "modified_time" | "updated_at" | "update_date" => ChangeTarget::At,
        "from" | "from_stage" | "old_value" | "oldvalue" | "old" | "previous_stage" | "stage_from" => {
            ChangeTarget::From
        }
        "to" | "to_stage" | "new_value" | "newvalue" | "new" | "value" | "moved_to" | "moved_to_s" | "stage_to" => {
            ChangeTarget::To
        }
        "reason" | "lost_reason" | "disqualified_reason" | "close_reason" => ChangeTarget::Reason,
        "field" | "field_event" | "changed_field" | "property" | "property_name" => ChangeTarget::Field,
        _ => return None,
    })
}

/// The fields of a field-history export that hold a lead's stage, normalized: Salesforce's
/// `Status` (the lead status), HubSpot's `hs_lead_status` and `lifecyclestage`, and the usual
/// names; a mapping's `stage_fields` replaces them. A file's stage is one field: the first of
/// these its rows name (see `history.rs`).
pub const DEFAULT_STAGE_FIELDS: &[&str] =
    &["status", "leadstatus", "hsleadstatus", "lifecyclestage", "stage", "pipelinestage", "dealstage"];

impl ColumnMapping {
    /// The country phone numbers without their country code are read in (`phone_region`).
    pub fn phone_region(&self) -> Option<PhoneRegion> {
        self.phone_region
    }

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
                ("phone_region", toml::Value::String(code)) => {
                    mapping.phone_region =
                        Some(PhoneRegion::parse(&code).map_err(|e| MappingError::File(format!("phone_region: {e}")))?);
                }
                ("columns", toml::Value::Table(columns)) => {
                    for (column, rule) in columns {
                        let rule = column_rule(&column, rule)?;
                        mapping.columns.insert(column, rule);
                    }
                }
                ("stages", toml::Value::Table(stages)) => {
                    for (value, stage) in stages {
                        let stage = stage.as_str().and_then(LifecycleStage::parse).ok_or_else(|| {
                            MappingError::File(format!(
                                "stages.`{value}`: expected one of subscriber, lead, mql, sql, opportunity, customer, recycled, disqualified"
                            ))
                        })?;
                        mapping.stages.insert(normalize_stage(&value), stage);
                    }
                }
                ("pipeline_stages", toml::Value::Table(stages)) => {
                    for (value, stage) in stages {
                        let stage = stage.as_str().ok_or_else(|| {
                            MappingError::File(format!("pipeline_stages.`{value}`: expected a stage id"))
                        })?;
                        mapping.pipeline_stages.insert(normalize_stage(&value), stage.to_string());
                    }
                }
                ("stage_fields", toml::Value::Array(fields)) => {
                    let fields = fields
                        .iter()
                        .map(|f| f.as_str().map(normalize_stage))
                        .collect::<Option<Vec<String>>>()
                        .ok_or_else(|| MappingError::File("stage_fields: expected a list of field names".into()))?;
                    mapping.stage_fields = Some(fields);
                }
                (other, _) => {
                    return Err(MappingError::File(format!(
                        "unexpected `{other}` (expected unknown_columns, phone_region, stage_fields, a [columns] table, a [stages] table and a [pipeline_stages] table)"
                    )));
                }
            }
        }
        Ok(mapping)
    }

    /// Every column the mapping names must be in the file.
    pub fn check_headers<'a>(&self, headers: impl Iterator<Item = &'a str> + Clone) -> Result<(), MappingError> {
        let mut missing: Vec<&String> =
            self.columns.keys().filter(|k| !headers.clone().any(|h| h.trim() == k.trim())).collect();
        missing.sort();
        match missing.first() {
            None => Ok(()),
            Some(column) => Err(MappingError::NoSuchColumn {
                column: column.to_string(),
                headers: headers.map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", "),
            }),
        }
    }

    /// Whether the mapping names this column.
    pub fn names(&self, header: &str) -> bool {
        self.columns.contains_key(header.trim())
    }

    /// The type the mapping gives a column, if it gives one.
    pub fn value_type(&self, header: &str) -> Option<ValueType> {
        self.columns.get(header.trim()).and_then(|r| r.value_type)
    }

    /// A stage as a CRM writes it: the mapping's `[stages]`, the defaults, leadflow's names.
    pub fn stage(&self, value: &str) -> Option<LifecycleStage> {
        let key = normalize_stage(value);
        self.stages
            .get(&key)
            .copied()
            .or_else(|| DEFAULT_STAGES.iter().find(|(k, _)| *k == key).map(|(_, s)| *s))
            .or_else(|| LifecycleStage::ALL.into_iter().find(|s| normalize_stage(s.name()) == key))
    }

    pub fn lead_target(&self, header: &str, position: usize) -> Result<LeadTarget, MappingError> {
        if let Some(ColumnRule { target, .. }) = self.columns.get(header.trim()) {
            let bad = || {
                MappingError::BadTarget {
                column: header.to_string(),
                target: target.clone(),
                kind: "lead",
                expected:
                    "id, external_id, a standard field, created_at, outcome, outcome_at, identity.<kind>, custom.<name> \
                           or ignore (pipeline and pipeline_stage change by stage moves, not imports)"
                        .into(),
            }
            };
            return match target.as_str() {
                "ignore" => Ok(LeadTarget::Ignore),
                "id" => Ok(LeadTarget::Id),
                "created_at" => Ok(LeadTarget::CreatedAt),
                "outcome" => Ok(LeadTarget::Outcome),
                "outcome_at" => Ok(LeadTarget::OutcomeAt),
                t => match (t.strip_prefix("custom."), t.strip_prefix("identity.")) {
                    (Some(name), _) if leadflow_core::lead::is_identifier(name) => {
                        Ok(LeadTarget::Custom(name.to_string()))
                    }
                    (_, Some(kind))
                        if matches!(kind, "email" | "phone" | "external") || System::parse(kind).is_ok() =>
                    {
                        Ok(LeadTarget::Identity(kind.to_string()))
                    }
                    (Some(_), _) | (_, Some(_)) => Err(bad()),
                    (None, None) => {
                        Field::from_name(t).filter(|f| !f.is_managed()).map(LeadTarget::Field).ok_or_else(bad)
                    }
                },
            };
        }
        if header.trim() == "lead_id" {
            return Ok(LeadTarget::Id);
        }
        let n = normalize(header);
        if let Some(t) = lead_alias(&n) {
            return Ok(t);
        }
        match self.unknown {
            UnknownColumns::Keep => Ok(LeadTarget::Custom(kept_name(header, position))),
            UnknownColumns::Ignore => Ok(LeadTarget::Ignore),
            UnknownColumns::Error => Err(MappingError::Unknown(header.to_string())),
        }
    }

    pub fn event_target(&self, header: &str, position: usize) -> Result<EventTarget, MappingError> {
        if let Some(ColumnRule { target, .. }) = self.columns.get(header.trim()) {
            let bad = || MappingError::BadTarget {
                column: header.to_string(),
                target: target.clone(),
                kind: "event",
                expected: "event_id, lead_id, external_id, email, identity, type, ts, property.<name> or ignore".into(),
            };
            return match target.as_str() {
                "ignore" => Ok(EventTarget::Ignore),
                "lead_id" => Ok(EventTarget::LeadId),
                t => match t.strip_prefix("property.") {
                    Some(name) if leadflow_core::lead::is_identifier(name) => {
                        Ok(EventTarget::Property(name.to_string()))
                    }
                    Some(_) => Err(bad()),
                    None => event_alias(t).ok_or_else(bad),
                },
            };
        }
        if header.trim() == "lead_id" {
            return Ok(EventTarget::LeadId);
        }
        let n = normalize(header);
        if let Some(t) = event_alias(&n) {
            return Ok(t);
        }
        match self.unknown {
            UnknownColumns::Keep => Ok(EventTarget::Property(kept_name(header, position))),
            UnknownColumns::Ignore => Ok(EventTarget::Ignore),
            UnknownColumns::Error => Err(MappingError::Unknown(header.to_string())),
        }
    }
}

impl ColumnMapping {
    pub fn change_target(&self, header: &str) -> Result<ChangeTarget, MappingError> {
        if let Some(ColumnRule { target, .. }) = self.columns.get(header.trim()) {
            return match target.as_str() {
                "ignore" => Ok(ChangeTarget::Ignore),
                "lead_id" => Ok(ChangeTarget::LeadId),
                t => change_alias(t).ok_or_else(|| MappingError::BadTarget {
                    column: header.to_string(),
                    target: target.clone(),
                    kind: "stage history",
                    expected: "lead_id, external_id, email, identity, at, from, to, reason, field or ignore".into(),
                }),
            };
        }
        if header.trim() == "lead_id" {
            return Ok(ChangeTarget::LeadId);
        }
        match change_alias(&normalize(header)) {
            Some(t) => Ok(t),
            // A history export carries more than the change (who made it, the record's name): the
            // rest is not asked for, and goes nowhere unless the mapping says to refuse it.
            None if self.unknown == UnknownColumns::Error => Err(MappingError::Unknown(header.to_string())),
            None => Ok(ChangeTarget::Ignore),
        }
    }

    /// The pipeline stage a CRM's stage value stands for, by the mapping's `[pipeline_stages]`.
    pub fn pipeline_stage(&self, value: &str) -> Option<&str> {
        self.pipeline_stages.get(&normalize_stage(value)).map(String::as_str)
    }

    /// The stage ids `[pipeline_stages]` maps values onto, for checking against the pipeline.
    pub fn pipeline_stage_targets(&self) -> impl Iterator<Item = &str> {
        self.pipeline_stages.values().map(String::as_str)
    }

    /// Whether a field history's `field` holds the lead's stage: the mapping's `stage_fields`,
    /// or else [`DEFAULT_STAGE_FIELDS`].
    pub fn is_stage_field(&self, field: &str) -> bool {
        let field = normalize_stage(field);
        match &self.stage_fields {
            Some(fields) => fields.contains(&field),
            None => DEFAULT_STAGE_FIELDS.contains(&field.as_str()),
        }
    }
}

/// `Open - Not Contacted` -> `opennotcontacted`: how stage values and ids are compared.
pub fn stage_key(s: &str) -> String {
    normalize_stage(s)
}

/// `"Zip" = "custom.zip"` or `"Zip" = { field = "custom.zip", type = "text" }`.
fn column_rule(column: &str, rule: toml::Value) -> Result<ColumnRule, MappingError> {
    let expected = || {
        MappingError::File(format!("columns.`{column}`: expected a target or {{ field = \"...\", type = \"...\" }}"))
    };
    match rule {
        toml::Value::String(target) => Ok(ColumnRule { target, value_type: None }),
        toml::Value::Table(table) => {
            let mut rule = ColumnRule { target: String::new(), value_type: None };
            for (key, value) in table {
                let text = value.as_str().ok_or_else(expected)?;
                match key.as_str() {
                    "field" => rule.target = text.to_string(),
                    "type" => {
                        rule.value_type = Some(ValueType::parse(text).ok_or_else(|| {
                            MappingError::File(format!(
                                "columns.`{column}`.type: `{text}` (expected text, number, bool or date)"
                            ))
                        })?)
                    }
                    _ => return Err(expected()),
                }
            }
            if rule.target.is_empty() {
                return Err(expected());
            }
            if rule.value_type.is_some() && !rule.target.starts_with("custom.") {
                return Err(MappingError::File(format!(
                    "columns.`{column}`: a type can be given to custom fields only (custom.<name>)"
                )));
            }
            Ok(rule)
        }
        _ => Err(expected()),
    }
}
