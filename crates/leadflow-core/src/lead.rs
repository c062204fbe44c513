//! Leads: identity, profile fields and custom fields.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::email::Email;
use crate::external_id::{ExternalId, ExternalIdError};
use crate::identity::{Identity, IdentityError, Phone, System};
use crate::time::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadId(pub i64);

impl fmt::Display for LeadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// How a caller names a lead: by leadflow's id, or by one of its identities
/// ([`Identity`]): an email, the id a CRM gave it, an id in another system, a phone number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LeadRef {
    Id(LeadId),
    Email(Email),
    External(ExternalId),
    System(System, ExternalId),
    Phone(Phone),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeadRefError {
    #[error(transparent)]
    Email(#[from] crate::email::EmailError),
    #[error(transparent)]
    External(#[from] ExternalIdError),
    #[error(transparent)]
    Identity(#[from] IdentityError),
}

impl LeadRef {
    /// A whole number is leadflow's id, `kind:value` an identity (`phone:+14155550100`,
    /// `salesforce:00Q5g...`, `external:` and a CRM id that is a number or has a colon), text
    /// with an `@` an email, and anything else an external id.
    pub fn parse(s: &str) -> Result<LeadRef, LeadRefError> {
        let s = s.trim();
        if let Some(id) = s.strip_prefix("external:") {
            return Ok(LeadRef::External(ExternalId::parse(id)?));
        }
        if let Ok(n) = s.parse::<i64>() {
            return Ok(LeadRef::Id(LeadId(n)));
        }
        // An email has no colon, so a kind before one is never part of an email. A system's
        // name with no id after it is an external id that has a colon, as it was before systems.
        if let Some((kind, id)) = s.split_once(':') {
            if matches!(kind, "email" | "phone") {
                return Ok(Identity::parse(s)?.into());
            }
            if let (Ok(system), Ok(id)) = (System::parse(kind), ExternalId::parse(id)) {
                return Ok(LeadRef::System(system, id));
            }
        }
        if s.contains('@') {
            return Ok(LeadRef::Email(Email::parse(s)?));
        }
        Ok(LeadRef::External(ExternalId::parse(s)?))
    }

    /// The identity that names the lead; `None` for leadflow's own id.
    pub fn identity(&self) -> Option<Identity> {
        match self {
            LeadRef::Id(_) => None,
            LeadRef::Email(e) => Some(Identity::Email(e.clone())),
            LeadRef::External(x) => Some(Identity::External(x.clone())),
            LeadRef::System(system, x) => Some(Identity::System(system.clone(), x.clone())),
            LeadRef::Phone(p) => Some(Identity::Phone(p.clone())),
        }
    }
}

impl From<Identity> for LeadRef {
    fn from(identity: Identity) -> LeadRef {
        match identity {
            Identity::Email(e) => LeadRef::Email(e),
            Identity::External(x) => LeadRef::External(x),
            Identity::System(system, x) => LeadRef::System(system, x),
            Identity::Phone(p) => LeadRef::Phone(p),
        }
    }
}

impl fmt::Display for LeadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LeadRef::Id(id) => write!(f, "lead {id}"),
            LeadRef::Email(e) => write!(f, "lead {e}"),
            LeadRef::External(x) => write!(f, "lead with external id {x}"),
            LeadRef::System(system, x) => write!(f, "lead with {system} id {x}"),
            LeadRef::Phone(p) => write!(f, "lead with phone {p}"),
        }
    }
}

/// The standard profile fields a model can test and an import can fill.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    Email,
    ExternalId,
    FirstName,
    LastName,
    Company,
    JobTitle,
    Department,
    Industry,
    Employees,
    AnnualRevenue,
    Country,
    City,
    CompanyType,
    Source,
    Owner,
    Stage,
    /// The sales pipeline the lead is in (a pipeline's name). Set by the pipeline use cases only.
    Pipeline,
    /// The lead's stage in its pipeline (a stage's id). Set by the pipeline use cases only.
    PipelineStage,
}

impl Field {
    pub const ALL: [Field; 18] = [
        Field::Email,
        Field::ExternalId,
        Field::FirstName,
        Field::LastName,
        Field::Company,
        Field::JobTitle,
        Field::Department,
        Field::Industry,
        Field::Employees,
        Field::AnnualRevenue,
        Field::Country,
        Field::City,
        Field::CompanyType,
        Field::Source,
        Field::Owner,
        Field::Stage,
        Field::Pipeline,
        Field::PipelineStage,
    ];

    pub const fn name(self) -> &'static str {
        match self {
            Field::Email => "email",
            Field::ExternalId => "external_id",
            Field::FirstName => "first_name",
            Field::LastName => "last_name",
            Field::Company => "company",
            Field::JobTitle => "job_title",
            Field::Department => "department",
            Field::Industry => "industry",
            Field::Employees => "employees",
            Field::AnnualRevenue => "annual_revenue",
            Field::Country => "country",
            Field::City => "city",
            Field::CompanyType => "company_type",
            Field::Source => "source",
            Field::Owner => "owner",
            Field::Stage => "stage",
            Field::Pipeline => "pipeline",
            Field::PipelineStage => "pipeline_stage",
        }
    }

    pub fn from_name(name: &str) -> Option<Field> {
        Field::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn is_numeric(self) -> bool {
        matches!(self, Field::Employees | Field::AnnualRevenue)
    }

    /// Whether only leadflow sets this field: a lead's place in a pipeline changes by a stage
    /// move, which checks the pipeline's rules and records since when, never by a write of the
    /// profile (an upsert, an import, a patch), which would skip both.
    pub fn is_managed(self) -> bool {
        matches!(self, Field::Pipeline | Field::PipelineStage)
    }
}

/// A field a rule can test: a standard one, or a custom field by name (`custom.<name>`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum FieldRef {
    Standard(Field),
    Custom(String),
}

impl FieldRef {
    pub fn parse(s: &str) -> Option<FieldRef> {
        match s.strip_prefix("custom.") {
            Some(name) if is_identifier(name) => Some(FieldRef::Custom(name.to_string())),
            Some(_) => None,
            None => Field::from_name(s).map(FieldRef::Standard),
        }
    }
}

impl fmt::Display for FieldRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldRef::Standard(field) => f.write_str(field.name()),
            FieldRef::Custom(name) => write!(f, "custom.{name}"),
        }
    }
}

/// Names of custom fields and event properties: letters (of any script: `société`, `职位`),
/// digits, `_`, `-`, `.`; at most 64 characters.
pub fn is_identifier(s: &str) -> bool {
    !s.is_empty() && s.chars().count() <= 64 && s.chars().all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "snake_case")]
pub enum CustomValue {
    Text(String),
    Number(f64),
    Bool(bool),
    Date(Timestamp),
}

impl CustomValue {
    /// Reads one value typed by hand (`leads upsert --set custom.x=...`) as the most specific
    /// type it parses as: a number, a bool (`true`/`false`), an ISO date, or else text. A number
    /// is only a number if it would print back the same: a leading zero (`02134`), a plus sign
    /// or more digits than a float keeps exactly make it text. (Imports type whole columns.)
    pub fn infer(s: &str) -> Option<CustomValue> {
        let s = s.trim();
        if s.is_empty() {
            return None;
        }
        if !must_stay_text(s)
            && s.chars().all(|c| c.is_ascii_digit() || matches!(c, '-' | '.'))
            && let Ok(n) = s.parse::<f64>()
            && n.is_finite()
        {
            return Some(CustomValue::Number(n));
        }
        match s.to_ascii_lowercase().as_str() {
            "true" => return Some(CustomValue::Bool(true)),
            "false" => return Some(CustomValue::Bool(false)),
            _ => {}
        }
        if s.len() >= 10
            && s.as_bytes()[4] == b'-'
            && let Ok(t) = Timestamp::parse(s)
        {
            return Some(CustomValue::Date(t));
        }
        Some(CustomValue::Text(s.to_string()))
    }
}

/// A text that a number would not keep: a leading zero (`02134`), a plus sign (`+4930...`), or
/// more digits than a 64-bit float holds exactly.
pub fn must_stay_text(s: &str) -> bool {
    let s = s.trim();
    let digits = s.chars().filter(char::is_ascii_digit).count();
    let unsigned = s.trim_start_matches('-');
    s.starts_with('+')
        || digits > 15
        || (unsigned.len() > 1
            && unsigned.starts_with('0')
            && !unsigned.starts_with("0.")
            && !unsigned.starts_with("0,"))
}

/// Where a lead is in its life with us. Later stages never move back on their own.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LifecycleStage {
    Subscriber,
    #[default]
    Lead,
    Mql,
    Sql,
    Opportunity,
    Customer,
    Recycled,
    Disqualified,
}

impl LifecycleStage {
    pub const ALL: [LifecycleStage; 8] = [
        LifecycleStage::Subscriber,
        LifecycleStage::Lead,
        LifecycleStage::Mql,
        LifecycleStage::Sql,
        LifecycleStage::Opportunity,
        LifecycleStage::Customer,
        LifecycleStage::Recycled,
        LifecycleStage::Disqualified,
    ];

    pub fn name(self) -> &'static str {
        match self {
            LifecycleStage::Subscriber => "subscriber",
            LifecycleStage::Lead => "lead",
            LifecycleStage::Mql => "mql",
            LifecycleStage::Sql => "sql",
            LifecycleStage::Opportunity => "opportunity",
            LifecycleStage::Customer => "customer",
            LifecycleStage::Recycled => "recycled",
            LifecycleStage::Disqualified => "disqualified",
        }
    }

    /// Whether a lead at this stage moves to mql as it qualifies (an earlier stage): the rule the
    /// stores apply as they record an MQL time (`stage IN ('subscriber', 'lead', 'recycled')`).
    pub fn moves_to_mql_on_qualifying(self) -> bool {
        matches!(self, LifecycleStage::Subscriber | LifecycleStage::Lead | LifecycleStage::Recycled)
    }

    pub fn parse(s: &str) -> Option<LifecycleStage> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        LifecycleStage::ALL.into_iter().find(|st| st.name() == s)
    }
}

impl fmt::Display for LifecycleStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What we know about a lead. Empty strings are never stored: absent is `None`. A lead has an
/// email, an external id or both ([`Profile::clear`] keeps it so): a CRM's lead without an email is
/// a lead like any other, named by its id.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub email: Option<Email>,
    pub external_id: Option<ExternalId>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub company: Option<String>,
    pub job_title: Option<String>,
    pub department: Option<String>,
    pub industry: Option<String>,
    pub employees: Option<f64>,
    pub annual_revenue: Option<f64>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub company_type: Option<String>,
    pub source: Option<String>,
    pub owner: Option<String>,
    pub stage: LifecycleStage,
    /// See [`Field::Pipeline`]; `None` until the lead enters a pipeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<String>,
    /// See [`Field::PipelineStage`]; set exactly when `pipeline` is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline_stage: Option<String>,
    pub custom: BTreeMap<String, CustomValue>,
}

/// A field's value as rules see it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum FieldValue<'a> {
    Missing,
    Text(&'a str),
    Number(f64),
    Bool(bool),
    Date(Timestamp),
}

impl Profile {
    pub fn new(email: Email) -> Profile {
        Profile { email: Some(email), ..Profile::unnamed() }
    }

    /// A lead a CRM knows by its id alone.
    pub fn with_external_id(id: ExternalId) -> Profile {
        Profile { external_id: Some(id), ..Profile::unnamed() }
    }

    /// A lead named by either key or both; `None` when neither is given, as there would be
    /// nothing to find it by.
    pub fn named(email: Option<Email>, external_id: Option<ExternalId>) -> Option<Profile> {
        (email.is_some() || external_id.is_some()).then(|| Profile { email, external_id, ..Profile::unnamed() })
    }

    /// How the lead is named from outside, email first: what a reference, a webhook or an export
    /// row shows.
    pub fn key(&self) -> LeadRef {
        match (&self.email, &self.external_id) {
            (Some(email), _) => LeadRef::Email(email.clone()),
            (None, Some(id)) => LeadRef::External(id.clone()),
            (None, None) => unreachable!("a profile always has an email or an external id"),
        }
    }

    /// The email, else the external id, for people to read.
    pub fn name(&self) -> &str {
        match (&self.email, &self.external_id) {
            (Some(email), _) => email.as_str(),
            (None, Some(id)) => id.as_str(),
            (None, None) => "",
        }
    }

    fn unnamed() -> Profile {
        Profile {
            email: None,
            external_id: None,
            first_name: None,
            last_name: None,
            company: None,
            job_title: None,
            department: None,
            industry: None,
            employees: None,
            annual_revenue: None,
            country: None,
            city: None,
            company_type: None,
            source: None,
            owner: None,
            stage: LifecycleStage::default(),
            pipeline: None,
            pipeline_stage: None,
            custom: BTreeMap::new(),
        }
    }

    pub fn value(&self, field: &FieldRef) -> FieldValue<'_> {
        match field {
            FieldRef::Standard(f) => self.standard(*f),
            FieldRef::Custom(name) => match self.custom.get(name) {
                None => FieldValue::Missing,
                Some(CustomValue::Text(s)) => FieldValue::Text(s),
                Some(CustomValue::Number(n)) => FieldValue::Number(*n),
                Some(CustomValue::Bool(b)) => FieldValue::Bool(*b),
                Some(CustomValue::Date(t)) => FieldValue::Date(*t),
            },
        }
    }

    fn standard(&self, field: Field) -> FieldValue<'_> {
        fn text(v: &Option<String>) -> FieldValue<'_> {
            v.as_deref().map_or(FieldValue::Missing, FieldValue::Text)
        }
        let number = |v: Option<f64>| v.map_or(FieldValue::Missing, FieldValue::Number);
        match field {
            Field::Email => self.email.as_ref().map_or(FieldValue::Missing, |e| FieldValue::Text(e.as_str())),
            Field::ExternalId => {
                self.external_id.as_ref().map_or(FieldValue::Missing, |x| FieldValue::Text(x.as_str()))
            }
            Field::FirstName => text(&self.first_name),
            Field::LastName => text(&self.last_name),
            Field::Company => text(&self.company),
            Field::JobTitle => text(&self.job_title),
            Field::Department => text(&self.department),
            Field::Industry => text(&self.industry),
            Field::Employees => number(self.employees),
            Field::AnnualRevenue => number(self.annual_revenue),
            Field::Country => text(&self.country),
            Field::City => text(&self.city),
            Field::CompanyType => text(&self.company_type),
            Field::Source => text(&self.source),
            Field::Owner => text(&self.owner),
            Field::Stage => FieldValue::Text(self.stage.name()),
            Field::Pipeline => text(&self.pipeline),
            Field::PipelineStage => text(&self.pipeline_stage),
        }
    }

    /// Sets a standard field from text, as an import or the API receives it. Empty clears.
    /// [Managed](Field::is_managed) fields are refused: a stage move sets them.
    pub fn set_text(&mut self, field: Field, value: &str) -> Result<(), FieldError> {
        if field.is_managed() {
            return Err(FieldError::Managed(field));
        }
        let v = value.trim();
        if v.is_empty() && matches!(field, Field::Email | Field::ExternalId) {
            return self.clear(&FieldRef::Standard(field));
        }
        let opt = (!v.is_empty()).then(|| v.to_string());
        let number = |v: &str| -> Result<Option<f64>, FieldError> {
            if v.is_empty() {
                return Ok(None);
            }
            let cleaned: String = v.chars().filter(|c| !matches!(c, ',' | '_' | '$')).collect();
            match cleaned.parse::<f64>() {
                Ok(n) if n.is_finite() => Ok(Some(n)),
                _ => Err(FieldError::NotANumber { field, value: v.to_string() }),
            }
        };
        match field {
            Field::Email => self.email = Some(Email::parse(v).map_err(FieldError::Email)?),
            Field::ExternalId => self.external_id = Some(ExternalId::parse(v).map_err(FieldError::ExternalId)?),
            Field::FirstName => self.first_name = opt,
            Field::LastName => self.last_name = opt,
            Field::Company => self.company = opt,
            Field::JobTitle => self.job_title = opt,
            Field::Department => self.department = opt,
            Field::Industry => self.industry = opt,
            Field::Employees => self.employees = number(v)?,
            Field::AnnualRevenue => self.annual_revenue = number(v)?,
            Field::Country => self.country = opt,
            Field::City => self.city = opt,
            Field::CompanyType => self.company_type = opt,
            Field::Source => self.source = opt,
            Field::Owner => self.owner = opt,
            Field::Stage => {
                if !v.is_empty() {
                    self.stage = LifecycleStage::parse(v).ok_or_else(|| FieldError::UnknownStage(v.to_string()))?;
                }
            }
            Field::Pipeline | Field::PipelineStage => unreachable!("managed fields are refused above"),
        }
        Ok(())
    }

    /// Empties a field (an API `null`). The stage always has a value, and the email and the
    /// external id can each go only while the other names the lead.
    pub fn clear(&mut self, field: &FieldRef) -> Result<(), FieldError> {
        match field {
            FieldRef::Custom(name) => {
                self.custom.remove(name);
            }
            FieldRef::Standard(Field::Stage) => return Err(FieldError::Required(Field::Stage)),
            FieldRef::Standard(Field::Email) if self.external_id.is_some() => self.email = None,
            FieldRef::Standard(Field::ExternalId) if self.email.is_some() => self.external_id = None,
            FieldRef::Standard(f @ (Field::Email | Field::ExternalId)) => return Err(FieldError::LastKey(*f)),
            FieldRef::Standard(f) => self.set_text(*f, "")?,
        }
        Ok(())
    }

    /// Overlays the fields `newer` has onto `self`: an upsert never erases what it was not told.
    pub fn merge_from(&mut self, newer: &Profile) {
        fn take<T: Clone>(dst: &mut Option<T>, src: &Option<T>) {
            if src.is_some() {
                dst.clone_from(src);
            }
        }
        take(&mut self.email, &newer.email);
        take(&mut self.external_id, &newer.external_id);
        take(&mut self.first_name, &newer.first_name);
        take(&mut self.last_name, &newer.last_name);
        take(&mut self.company, &newer.company);
        take(&mut self.job_title, &newer.job_title);
        take(&mut self.department, &newer.department);
        take(&mut self.industry, &newer.industry);
        take(&mut self.employees, &newer.employees);
        take(&mut self.annual_revenue, &newer.annual_revenue);
        take(&mut self.country, &newer.country);
        take(&mut self.city, &newer.city);
        take(&mut self.company_type, &newer.company_type);
        take(&mut self.source, &newer.source);
        take(&mut self.owner, &newer.owner);
        if newer.stage != LifecycleStage::default() {
            self.stage = newer.stage;
        }
        // The pipeline fields are not overlaid: only a stage move changes them.
        for (k, v) in &newer.custom {
            self.custom.insert(k.clone(), v.clone());
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FieldError {
    #[error("{}: `{value}` is not a number", field.name())]
    NotANumber { field: Field, value: String },
    #[error(
        "stage: `{0}` is not a lifecycle stage (expected one of subscriber, lead, mql, sql, opportunity, customer, recycled, disqualified)"
    )]
    UnknownStage(String),
    #[error("email: {0}")]
    Email(crate::email::EmailError),
    #[error("external_id: {0}")]
    ExternalId(ExternalIdError),
    #[error("{}: always has a value; it cannot be cleared", .0.name())]
    Required(Field),
    #[error("{}: a lead keeps an email or an external id, and this is its only one; it cannot be cleared", .0.name())]
    LastKey(Field),
    #[error("{}: set by moving the lead through its pipeline (`leadflow leads move`, `POST /v1/leads/{{lead}}/stage`), not by writing it", .0.name())]
    Managed(Field),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_refs() {
        assert_eq!(FieldRef::parse("job_title"), Some(FieldRef::Standard(Field::JobTitle)));
        assert_eq!(FieldRef::parse("custom.budget"), Some(FieldRef::Custom("budget".into())));
        assert_eq!(FieldRef::parse("custom."), None);
        assert_eq!(FieldRef::parse("jobtitle"), None);
    }

    #[test]
    fn lead_refs() {
        assert_eq!(LeadRef::parse(" 42 "), Ok(LeadRef::Id(LeadId(42))));
        assert_eq!(LeadRef::parse("Ana@Acme.example"), Ok(LeadRef::Email(Email::parse("ana@acme.example").unwrap())));
        assert_eq!(
            LeadRef::parse("00Q5g000004XyZ1"),
            Ok(LeadRef::External(ExternalId::parse("00Q5g000004XyZ1").unwrap()))
        );
        assert_eq!(LeadRef::parse("external:0042"), Ok(LeadRef::External(ExternalId::parse("0042").unwrap())));
        assert!(LeadRef::parse("ana@").is_err());
        assert!(LeadRef::parse("").is_err());
        let sf = LeadRef::parse("salesforce:00Q5g000004XyZ1").unwrap();
        assert_eq!(sf.identity().unwrap().to_string(), "salesforce:00Q5g000004XyZ1");
        assert_eq!(LeadRef::parse("phone:+44 20 7946 0958").unwrap().to_string(), "lead with phone +442079460958");
        assert_eq!(LeadRef::parse("email:Ana@Acme.example"), LeadRef::parse("ana@acme.example"));
        assert!(LeadRef::parse("phone:12").is_err(), "a bad phone is an error, not an external id");
        assert!(LeadRef::parse("email:ana").is_err());
        // What is not a system's name and an id stays an external id with a colon.
        for flat in ["Urn:x", "a:", "9z:1"] {
            assert_eq!(LeadRef::parse(flat), Ok(LeadRef::External(ExternalId::parse(flat).unwrap())), "{flat}");
        }
        for identity in ["email:ana@acme.example", "external:42", "hubspot:7", "phone:+14155552671"] {
            let parsed = Identity::parse(identity).unwrap();
            assert_eq!(LeadRef::parse(identity).unwrap().identity(), Some(parsed.clone()));
            assert_eq!(LeadRef::from(parsed).identity().unwrap().to_string(), identity);
        }
    }

    #[test]
    fn a_lead_keeps_one_key_at_least() {
        let email = Email::parse("ana@acme.example").unwrap();
        let id = ExternalId::parse("00Q5g").unwrap();
        let mut p = Profile::new(email.clone());
        assert_eq!(p.clear(&FieldRef::Standard(Field::Email)), Err(FieldError::LastKey(Field::Email)));
        p.set_text(Field::ExternalId, "00Q5g").unwrap();
        p.clear(&FieldRef::Standard(Field::Email)).unwrap();
        assert_eq!((p.email.as_ref(), p.key()), (None, LeadRef::External(id.clone())));
        assert_eq!(p.set_text(Field::ExternalId, ""), Err(FieldError::LastKey(Field::ExternalId)));
        assert_eq!(p.value(&FieldRef::Standard(Field::Email)), FieldValue::Missing);
        let mut only_id = Profile::with_external_id(id);
        only_id.merge_from(&Profile::new(email.clone()));
        assert_eq!((only_id.key(), only_id.name()), (LeadRef::Email(email), "ana@acme.example"));
    }

    #[test]
    fn set_and_merge() {
        let mut p = Profile::new(Email::parse("a@b.co").unwrap());
        p.set_text(Field::Employees, "1,200").unwrap();
        assert_eq!(p.employees, Some(1200.0));
        assert!(p.set_text(Field::Employees, "many").is_err());
        p.set_text(Field::JobTitle, "CTO").unwrap();
        let mut newer = Profile::new(p.email.clone().unwrap());
        newer.set_text(Field::Country, "DE").unwrap();
        p.merge_from(&newer);
        assert_eq!(p.job_title.as_deref(), Some("CTO"));
        assert_eq!(p.country.as_deref(), Some("DE"));
    }

    #[test]
    fn infers_custom_types() {
        assert_eq!(CustomValue::infer("42"), Some(CustomValue::Number(42.0)));
        assert_eq!(CustomValue::infer("-0.5"), Some(CustomValue::Number(-0.5)));
        for text in ["02134", "+4930123", "1e5", "inf", "NaN", "12345678901234567"] {
            assert_eq!(CustomValue::infer(text), Some(CustomValue::Text(text.into())), "{text}");
        }
        assert_eq!(CustomValue::infer("TRUE"), Some(CustomValue::Bool(true)));
        assert!(matches!(CustomValue::infer("2026-01-02"), Some(CustomValue::Date(_))));
        assert_eq!(CustomValue::infer(" x "), Some(CustomValue::Text("x".into())));
        assert_eq!(CustomValue::infer(""), None);
    }

    #[test]
    fn what_must_stay_text() {
        for s in ["02134", "+49 30 1234", "00123", "12345678901234567", "-007"] {
            assert!(must_stay_text(s), "{s}");
        }
        for s in ["0", "0.5", "0,75", "2134", "-3", "1,500"] {
            assert!(!must_stay_text(s), "{s}");
        }
    }
}
