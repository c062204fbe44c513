//! Email templates as the API gives them: stored versions, a check, a preview with a lead.

use leadflow_core::template::{Rendered, Template, TemplateError};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{ModelProblem, RuleFileInfo};

/// Every stored template version, oldest first.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TemplateList {
    pub templates: Vec<RuleFileInfo>,
}

/// A template file checked: valid, with what it fills in, or its problems, each at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TemplateCheck {
    pub valid: bool,
    /// The template's name, when valid.
    pub name: Option<String>,
    /// Whether it has an HTML part.
    pub html: bool,
    /// The variables it fills in (`lead.first_name`, `owner.name`, ...), each once.
    pub variables: Vec<String>,
    pub problems: Vec<ModelProblem>,
}

impl TemplateCheck {
    pub fn of(parsed: &Result<Template, TemplateError>) -> TemplateCheck {
        match parsed {
            Ok(t) => TemplateCheck {
                valid: true,
                name: Some(t.name().to_string()),
                html: t.has_html(),
                variables: t.variables().iter().map(|v| v.name()).collect(),
                problems: Vec::new(),
            },
            Err(e) => TemplateCheck {
                valid: false,
                name: None,
                html: false,
                variables: Vec::new(),
                problems: ModelProblem::list(&e.problems),
            },
        }
    }
}

/// A template to fill in for a lead: the active one of a name, or a file not stored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplatePreviewRequest {
    /// The lead: its id, email or external id.
    #[schema(schema_with = crate::lead_ref_schema)]
    pub lead: String,
    /// The active template of this name...
    pub name: Option<String>,
    /// ... or this template file (TOML), checked but not stored.
    pub source: Option<String>,
}

/// A template filled in for a lead, as its owner would send it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TemplatePreview {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

impl From<Rendered> for TemplatePreview {
    fn from(r: Rendered) -> TemplatePreview {
        TemplatePreview { subject: r.subject, text: r.text, html: r.html }
    }
}
