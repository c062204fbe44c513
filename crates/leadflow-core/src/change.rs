//! What changed in a lead's profile, field by field: the unit of the change log.
//!
//! A change names one field and its value before and after, typed as the profile holds it
//! (text stays text, a number a number, the stage its name). Changes are computed by comparing
//! two profiles, never described by hand, so the log cannot disagree with what was stored; and
//! they can be undone, so the profile as it was at any instant is today's profile with the later
//! changes undone, newest first.

use crate::lead::{CustomValue, Field, FieldError, FieldRef, FieldValue, LifecycleStage, Profile};
use crate::{Email, ExternalId, Timestamp};

/// One field's change: `None` is "not set".
#[derive(Clone, Debug, PartialEq)]
pub struct FieldChange {
    pub field: FieldRef,
    pub old: Option<CustomValue>,
    pub new: Option<CustomValue>,
}

/// The fields that differ between `before` and `after`, standard fields in their order, then
/// custom fields by name.
pub fn profile_changes(before: &Profile, after: &Profile) -> Vec<FieldChange> {
    let standard = Field::ALL.into_iter().map(FieldRef::Standard);
    let mut custom: Vec<&String> = before.custom.keys().chain(after.custom.keys()).collect();
    custom.sort();
    custom.dedup();
    standard
        .chain(custom.into_iter().map(|name| FieldRef::Custom(name.clone())))
        .filter_map(|field| {
            let (old, new) = (value_of(before, &field), value_of(after, &field));
            (old != new).then_some(FieldChange { field, old, new })
        })
        .collect()
}

/// A field's value as the change log records it: as rules see it ([`Profile::value`]), owned.
fn value_of(profile: &Profile, field: &FieldRef) -> Option<CustomValue> {
    match profile.value(field) {
        FieldValue::Missing => None,
        FieldValue::Text(s) => Some(CustomValue::Text(s.to_string())),
        FieldValue::Number(n) => Some(CustomValue::Number(n)),
        FieldValue::Bool(b) => Some(CustomValue::Bool(b)),
        FieldValue::Date(t) => Some(CustomValue::Date(t)),
    }
}

/// Why a recorded change cannot be undone on a profile: the log and the profile disagree (a
/// value of the wrong type for its field), which only a corrupt log gives.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UndoError {
    #[error("{field}: a recorded value of the wrong kind ({value:?})")]
    WrongKind { field: FieldRef, value: CustomValue },
    #[error(transparent)]
    Field(#[from] FieldError),
}

/// Sets each changed field back to its old value, last change first: `after` becomes the
/// profile the changes started from.
pub fn undo(after: &mut Profile, changes: &[FieldChange]) -> Result<(), UndoError> {
    changes.iter().rev().try_for_each(|c| put(after, &c.field, c.old.clone()))
}

/// The profile as it was at `at`: `now` with every change made after `at` undone. `log` is the
/// lead's recorded changes with their times, in the order they were made.
pub fn profile_at(now: &Profile, log: &[(Timestamp, FieldChange)], at: Timestamp) -> Result<Profile, UndoError> {
    let mut profile = now.clone();
    for (_, later) in log.iter().rev().take_while(|(t, _)| *t > at) {
        put(&mut profile, &later.field, later.old.clone())?;
    }
    Ok(profile)
}

/// The change of a lead's stage from `from` to `to`, as [`profile_changes`] would give it
/// (none when they are the same).
pub fn stage_move(from: LifecycleStage, to: LifecycleStage) -> Vec<FieldChange> {
    let stage = |s: LifecycleStage| Some(CustomValue::Text(s.name().to_string()));
    if from == to {
        return Vec::new();
    }
    vec![FieldChange { field: FieldRef::Standard(Field::Stage), old: stage(from), new: stage(to) }]
}

/// Sets one field to a recorded value (`None` clears it). Unlike an update, this may leave a
/// profile without either key for a moment: undoing a change of both keys sets them one by one.
fn put(profile: &mut Profile, field: &FieldRef, value: Option<CustomValue>) -> Result<(), UndoError> {
    let wrong = |value: CustomValue| UndoError::WrongKind { field: field.clone(), value };
    let f = match field {
        FieldRef::Custom(name) => {
            match value {
                Some(v) => profile.custom.insert(name.clone(), v),
                None => profile.custom.remove(name),
            };
            return Ok(());
        }
        FieldRef::Standard(f) => *f,
    };
    let text = match value {
        None => None,
        Some(CustomValue::Text(s)) => Some(s),
        Some(CustomValue::Number(n)) if f.is_numeric() => {
            match f {
                Field::Employees => profile.employees = Some(n),
                _ => profile.annual_revenue = Some(n),
            }
            return Ok(());
        }
        Some(other) => return Err(wrong(other)),
    };
    match (f, text) {
        (Field::Email, Some(s)) => profile.email = Some(Email::parse(&s).map_err(FieldError::Email)?),
        (Field::Email, None) => profile.email = None,
        (Field::ExternalId, Some(s)) => {
            profile.external_id = Some(ExternalId::parse(&s).map_err(FieldError::ExternalId)?)
        }
        (Field::ExternalId, None) => profile.external_id = None,
        (Field::Stage, Some(s)) => {
            profile.stage = LifecycleStage::parse(&s).ok_or(FieldError::UnknownStage(s))?;
        }
        (Field::Stage, None) => return Err(FieldError::Required(Field::Stage).into()),
        (f, Some(s)) if f.is_numeric() => return Err(wrong(CustomValue::Text(s))),
        (Field::Employees, None) => profile.employees = None,
        (Field::AnnualRevenue, None) => profile.annual_revenue = None,
        (f, text) => *text_field(profile, f) = text,
    }
    Ok(())
}

/// The text fields' storage, for the fields that are plain text.
fn text_field(profile: &mut Profile, field: Field) -> &mut Option<String> {
    match field {
        Field::FirstName => &mut profile.first_name,
        Field::LastName => &mut profile.last_name,
        Field::Company => &mut profile.company,
        Field::JobTitle => &mut profile.job_title,
        Field::Department => &mut profile.department,
        Field::Industry => &mut profile.industry,
        Field::Country => &mut profile.country,
        Field::City => &mut profile.city,
        Field::CompanyType => &mut profile.company_type,
        Field::Source => &mut profile.source,
        Field::Owner => &mut profile.owner,
        Field::Pipeline => &mut profile.pipeline,
        Field::PipelineStage => &mut profile.pipeline_stage,
        Field::Email | Field::ExternalId | Field::Employees | Field::AnnualRevenue | Field::Stage => {
            unreachable!("{} is not a plain text field", field.name())
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Profiles over a few values per field, so that two of them often share some.
    fn profiles() -> impl Strategy<Value = Profile> {
        let text = || proptest::option::of(prop::sample::select(vec!["a".to_string(), "b".into(), "Ünïcode".into()]));
        let number = || proptest::option::of(prop::sample::select(vec![0.0, 12.5, 1e9]));
        let custom = prop::collection::btree_map(
            prop::sample::select(vec!["plan".to_string(), "seats".into(), "zip".into()]),
            prop_oneof![
                Just(CustomValue::Text("02134".into())),
                Just(CustomValue::Number(2134.0)),
                Just(CustomValue::Bool(true)),
                Just(CustomValue::Date(Timestamp::parse("2026-07-01").unwrap())),
            ],
            0..3,
        );
        let keys = prop_oneof![
            Just((Some("ana@acme.example"), None)),
            Just((Some("bo@acme.example"), Some("sf:00Q5g"))),
            Just((None, Some("hubspot:42"))),
        ];
        (
            keys,
            [text(), text(), text(), text(), text(), text(), text()],
            [number(), number()],
            prop::sample::select(LifecycleStage::ALL.to_vec()),
            custom,
        )
            .prop_map(|((email, external), texts, numbers, stage, custom)| {
                let mut p = Profile::named(
                    email.map(|e| Email::parse(e).unwrap()),
                    external.map(|x| ExternalId::parse(x).unwrap()),
                )
                .unwrap();
                let [first_name, company, job_title, country, owner, pipeline, pipeline_stage] = texts;
                (p.first_name, p.company, p.job_title, p.country, p.owner) =
                    (first_name, company, job_title, country, owner);
                (p.pipeline, p.pipeline_stage) = (pipeline, pipeline_stage);
                (p.employees, p.annual_revenue) = (numbers[0], numbers[1]);
                p.stage = stage;
                p.custom = custom;
                p
            })
    }

    proptest! {
        /// Undoing the changes from one profile to another gives the first back, whatever the
        /// two are: the change log loses nothing.
        #[test]
        fn undoing_the_changes_gives_the_profile_before(before in profiles(), after in profiles()) {
            let changes = profile_changes(&before, &after);
            let mut undone = after.clone();
            undo(&mut undone, &changes).unwrap();
            prop_assert_eq!(undone, before.clone());
            prop_assert_eq!(changes.is_empty(), before == after);
        }

        /// The profile at any instant is what it was after the changes made until then.
        #[test]
        fn the_profile_at_an_instant_replays_the_log(steps in prop::collection::vec(profiles(), 1..6), pick in 0usize..6) {
            let times: Vec<Timestamp> = (0..steps.len()).map(|i| Timestamp::from_millis(1_000 * (i as i64 + 1))).collect();
            let log: Vec<(Timestamp, FieldChange)> = steps
                .windows(2)
                .zip(&times[1..])
                .flat_map(|(pair, t)| profile_changes(&pair[0], &pair[1]).into_iter().map(|c| (*t, c)))
                .collect();
            let now = steps.last().unwrap();
            let pick = pick % steps.len();
            prop_assert_eq!(&profile_at(now, &log, times[pick]).unwrap(), &steps[pick]);
            prop_assert_eq!(&profile_at(now, &log, Timestamp::from_millis(0)).unwrap(), &steps[0], "before every change");
        }
    }

    #[test]
    fn a_change_keeps_the_kind_of_its_value() {
        let mut before = Profile::new(Email::parse("ana@acme.example").unwrap());
        before.custom.insert("zip".into(), CustomValue::Text("02134".into()));
        let mut after = before.clone();
        after.stage = LifecycleStage::Mql;
        after.employees = Some(250.0);
        after.custom.insert("zip".into(), CustomValue::Number(2134.0));
        let changes = profile_changes(&before, &after);
        let fields: Vec<String> = changes.iter().map(|c| c.field.to_string()).collect();
        assert_eq!(fields, ["employees", "stage", "custom.zip"]);
        assert_eq!(changes[0].new, Some(CustomValue::Number(250.0)));
        assert_eq!(changes[1].old, Some(CustomValue::Text("lead".into())));
        assert_eq!(changes[2].old, Some(CustomValue::Text("02134".into())), "text stays text");
    }

    #[test]
    fn a_value_of_the_wrong_kind_is_refused() {
        let mut p = Profile::new(Email::parse("ana@acme.example").unwrap());
        let change = FieldChange {
            field: FieldRef::Standard(Field::Employees),
            old: Some(CustomValue::Bool(true)),
            new: Some(CustomValue::Number(3.0)),
        };
        assert!(matches!(undo(&mut p, &[change]), Err(UndoError::WrongKind { .. })));
    }
}
