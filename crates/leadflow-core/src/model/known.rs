//! Rules that can never match what a database holds: a misspelled event type (`page_veiw`), a
//! property no event of that type has had (`ulr`), a custom field no lead has. The model is
//! valid (the data may come later), so these are warnings, each naming what there is.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::Model;
use crate::lead::FieldRef;

/// What a database has seen: event types with the property names their events had, and the
/// custom fields its leads have. Empty parts mean "nothing to compare with".
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Known {
    pub events: BTreeMap<String, BTreeSet<String>>,
    pub custom_fields: BTreeSet<String>,
}

/// A rule that cannot match anything the database holds.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelWarning {
    /// 1-based line of the rule's `id`, when the source has it.
    pub line: Option<usize>,
    pub path: String,
    pub message: String,
}

impl fmt::Display for ModelWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "line {line}: {}: {}", self.path, self.message),
            None => write!(f, "{}: {}", self.path, self.message),
        }
    }
}

fn list(names: impl Iterator<Item = impl AsRef<str>>) -> String {
    let names: Vec<String> = names.map(|n| n.as_ref().to_string()).collect();
    if names.is_empty() { "none".into() } else { names.join(", ") }
}

/// The line of the rule with this id: where `id = "<id>"` is written.
fn line_of(source: &str, id: &str) -> Option<usize> {
    let quoted = [format!("\"{id}\""), format!("'{id}'")];
    source
        .lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with("id") && l[2..].trim_start().starts_with('=') && quoted.iter().any(|q| l.contains(q.as_str()))
        })
        .map(|i| i + 1)
}

impl Model {
    /// The rules of this model (parsed from `source`) that can match nothing `known` holds.
    pub fn warnings(&self, source: &str, known: &Known) -> Vec<ModelWarning> {
        let mut out = Vec::new();
        let mut warn = |id: &str, path: String, message: String| {
            out.push(ModelWarning { line: line_of(source, id), path, message })
        };
        if !known.events.is_empty() {
            for (i, rule) in self.engagement.rules.iter().enumerate() {
                let path = format!("engagement.rules[{i}]");
                match known.events.get(rule.event.as_str()) {
                    None => warn(
                        &rule.id,
                        format!("{path}.event"),
                        format!(
                            "no event has had type `{}` (the types there are: {})",
                            rule.event,
                            list(known.events.keys())
                        ),
                    ),
                    Some(properties) => {
                        for (j, c) in rule.conditions.iter().enumerate() {
                            if !properties.contains(&c.property) {
                                warn(
                                    &rule.id,
                                    format!("{path}.where[{j}].property"),
                                    format!(
                                        "no `{}` event has had property `{}` (its properties: {})",
                                        rule.event,
                                        c.property,
                                        list(properties.iter())
                                    ),
                                );
                            }
                        }
                    }
                }
            }
            for (i, rule) in self.engagement.inactivity.iter().enumerate() {
                if let Some(event) = rule.event.as_ref().filter(|e| !known.events.contains_key(e.as_str())) {
                    warn(
                        &rule.id,
                        format!("engagement.inactivity[{i}].event"),
                        format!("no event has had type `{event}` (the types there are: {})", list(known.events.keys())),
                    );
                }
            }
        }
        if !known.custom_fields.is_empty() {
            for (i, rule) in self.fit.rules.iter().enumerate() {
                if let FieldRef::Custom(name) = &rule.field
                    && !known.custom_fields.contains(name)
                {
                    warn(
                        &rule.id,
                        format!("fit.rules[{i}].field"),
                        format!(
                            "no lead has custom field `{name}` (the custom fields there are: {})",
                            list(known.custom_fields.iter())
                        ),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MODEL: &str = r#"
name = "m"
[fit]
min = 0
max = 40
[[fit.rules]]
id = "budget"
field = "custom.budgte"
op = "between"
min = 10000
points = 10
[engagement]
[[engagement.rules]]
id = "pricing"
event = "page_veiw"
points = 10
[[engagement.rules]]
id = "pricing_url"
event = "page_view"
where = [{ property = "ulr", op = "contains", value = "/pricing" }]
points = 10
[[engagement.inactivity]]
id = "quiet"
event = "email_opne"
days = 30
points = -5
"#;

    #[test]
    fn rules_that_match_nothing_there_is_are_named() {
        let model = Model::parse(MODEL).unwrap();
        let known = Known {
            events: [
                ("page_view".to_string(), ["url".to_string()].into()),
                ("email_open".to_string(), BTreeSet::new()),
            ]
            .into(),
            custom_fields: ["budget".to_string()].into(),
        };
        let w: Vec<String> = model.warnings(MODEL, &known).iter().map(|w| w.to_string()).collect();
        assert_eq!(w.len(), 4, "{w:#?}");
        assert!(w[0].starts_with("line 14: engagement.rules[0].event: no event has had type `page_veiw`"), "{}", w[0]);
        assert!(w[0].contains("email_open, page_view"), "{}", w[0]);
        assert!(w[1].contains("where[0].property: no `page_view` event has had property `ulr` (its properties: url)"));
        assert!(w[2].contains("engagement.inactivity[0].event") && w[2].contains("email_opne"), "{}", w[2]);
        assert!(w[3].starts_with("line 7: fit.rules[0].field: no lead has custom field `budgte`"), "{}", w[3]);
        assert!(model.warnings(MODEL, &Known::default()).is_empty(), "an empty database says nothing");
    }
}
