//! A change to a lead's profile, as callers send one: `job_title = "CTO"`, `country = null`,
//! `custom.plan = "pro"`. One parser for every adapter (the API's JSON, the CLI's `--set`), so
//! that a field means the same everywhere and says what is wrong with it the same way.

use leadflow_core::{CustomValue, Email, ExternalId, Field, FieldRef, LifecycleStage, OutcomeKind, Profile, Timestamp};

use crate::LeadInput;

/// A value as a caller sent it. Text stays text: `"02134"` is never a number.
#[derive(Clone, Debug, PartialEq)]
pub enum PatchValue {
    /// Empty the field.
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
    /// A date, where a caller typing values by hand wrote one (`--set custom.signed=2026-03-01`).
    Date(Timestamp),
    /// A value of another kind (a JSON array or object where a field goes), by its name.
    Other(&'static str),
}

/// The upsert that `fields` describe: `email` and `external_id` name the lead (one at least),
/// the others change it (`null` empties one); `custom.<name>` fields are custom fields, and
/// `stage`, `created_at`, `outcome` and `outcome_at` what they say. Errors name the field.
pub fn lead_input(fields: impl IntoIterator<Item = (String, PatchValue)>) -> Result<LeadInput, String> {
    let fields: Vec<(String, PatchValue)> = fields.into_iter().collect();
    let key = |name: &str| {
        fields.iter().find_map(|(n, v)| match v {
            PatchValue::Text(s) if n == name => Some(s.as_str()),
            _ => None,
        })
    };
    let email = key("email").map(Email::parse).transpose().map_err(|e| format!("email: {e}"))?;
    let external_id = key("external_id").map(ExternalId::parse).transpose().map_err(|e| format!("external_id: {e}"))?;
    let mut profile =
        Profile::named(email, external_id).ok_or("name the lead with `email` or `external_id` (a string), or both")?;
    let mut created_at = None;
    let mut clear = Vec::new();
    let (mut outcome, mut outcome_at) = (None, None);
    let timestamp = |name: &str, v: &PatchValue| match v {
        PatchValue::Text(s) => Timestamp::parse(s).map_err(|e| format!("{name}: {e}")),
        _ => Err(format!("{name}: expected a timestamp (a string)")),
    };
    for (name, value) in &fields {
        match name.as_str() {
            "outcome" => match value {
                PatchValue::Text(s) => {
                    outcome =
                        Some(OutcomeKind::parse(s).ok_or_else(|| format!("outcome: `{s}` is neither won nor lost"))?)
                }
                _ => return Err("outcome: expected \"won\" or \"lost\"".into()),
            },
            "outcome_at" => outcome_at = Some(timestamp(name, value)?),
            "created_at" => created_at = Some(timestamp(name, value)?),
            "stage" => match value {
                PatchValue::Text(s) => {
                    profile.stage = LifecycleStage::parse(s).ok_or_else(|| format!("stage: unknown stage `{s}`"))?
                }
                _ => return Err("stage: expected a stage name".into()),
            },
            name => match name.strip_prefix("custom.") {
                Some(custom) => {
                    if !leadflow_core::lead::is_identifier(custom) {
                        return Err(format!("{name}: not a field name (letters, digits, _ - .)"));
                    }
                    let value = match value {
                        PatchValue::Null => {
                            clear.push(FieldRef::Custom(custom.to_string()));
                            continue;
                        }
                        PatchValue::Text(s) if s.trim().is_empty() => continue,
                        PatchValue::Text(s) => CustomValue::Text(s.trim().to_string()),
                        PatchValue::Number(n) if n.is_finite() => CustomValue::Number(*n),
                        PatchValue::Number(n) => return Err(format!("{name}: {n} is out of range")),
                        PatchValue::Bool(b) => CustomValue::Bool(*b),
                        PatchValue::Date(t) => CustomValue::Date(*t),
                        PatchValue::Other(_) => {
                            return Err(format!("{name}: expected a string, number, boolean or null"));
                        }
                    };
                    profile.custom.insert(custom.to_string(), value);
                }
                None => {
                    let field = Field::from_name(name).ok_or_else(|| format!("unknown field `{name}`"))?;
                    if field.is_managed() {
                        return Err(leadflow_core::lead::FieldError::Managed(field).to_string());
                    }
                    let text = match value {
                        PatchValue::Text(s) => s.clone(),
                        PatchValue::Number(n) if field.is_numeric() => n.to_string(),
                        PatchValue::Null => {
                            clear.push(FieldRef::Standard(field));
                            continue;
                        }
                        _ if field.is_numeric() => return Err(format!("{name}: expected a number or null")),
                        _ => return Err(format!("{name}: expected a string or null")),
                    };
                    profile.set_text(field, &text).map_err(|e| e.to_string())?;
                }
            },
        }
    }
    if outcome.is_none() && outcome_at.is_some() {
        return Err("outcome_at: give the outcome too (won or lost)".into());
    }
    if let Some(n) = profile.employees.filter(|n| *n < 0.0) {
        return Err(format!("employees: {n} is below zero"));
    }
    if let Some(n) = profile.annual_revenue.filter(|n| *n < 0.0) {
        return Err(format!("annual_revenue: {n} is below zero"));
    }
    Ok(LeadInput {
        id: None,
        profile,
        created_at,
        outcome: outcome.map(|kind| (kind, outcome_at)),
        clear,
        identities: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> PatchValue {
        PatchValue::Text(s.into())
    }

    #[test]
    fn fields_are_read_as_sent_and_errors_name_them() {
        let input = lead_input([
            ("email".into(), text("Ana@Acme.example")),
            ("job_title".into(), text("CTO")),
            ("country".into(), PatchValue::Null),
            ("employees".into(), PatchValue::Number(250.0)),
            ("custom.zip".into(), text("02134")),
            ("custom.seats".into(), PatchValue::Number(12.0)),
            ("custom.old".into(), PatchValue::Null),
            ("outcome".into(), text("won")),
        ])
        .unwrap();
        assert_eq!(input.profile.email.as_ref().map(Email::as_str), Some("ana@acme.example"));
        assert_eq!(input.profile.custom.get("zip"), Some(&CustomValue::Text("02134".into())), "text stays text");
        assert_eq!(input.clear, [FieldRef::Standard(Field::Country), FieldRef::Custom("old".into())]);
        assert_eq!(input.outcome.map(|o| o.0), Some(OutcomeKind::Won));
        for (fields, needle) in [
            (vec![("job_title".to_string(), text("CTO"))], "name the lead"),
            (vec![("email".into(), text("a@b.co")), ("stage".into(), PatchValue::Null)], "stage"),
            (
                vec![("email".into(), text("a@b.co")), ("company".into(), PatchValue::Number(7.0))],
                "company: expected a string",
            ),
            (vec![("email".into(), text("a@b.co")), ("employees".into(), PatchValue::Number(-5.0))], "below zero"),
            (vec![("email".into(), text("a@b.co")), ("custom.x".into(), PatchValue::Other("array"))], "custom.x"),
            (vec![("email".into(), text("a@b.co")), ("jobtitle".into(), text("x"))], "unknown field `jobtitle`"),
            (vec![("email".into(), text("a@b.co")), ("outcome_at".into(), text("2026-01-01"))], "give the outcome"),
        ] {
            let err = lead_input(fields.clone()).unwrap_err();
            assert!(err.contains(needle), "{fields:?}: {err}");
        }
    }
}
