//! Email templates: what a sequence's send step sends, edited by marketing while leadflow runs.
//!
//! A template is a file (`examples/template-trial-welcome.toml`): a `name`, a `subject`, a
//! plain `text` part and optionally an `html` one. Their text may say `{{ lead.first_name }}`,
//! `{{ lead.custom.plan }}`, `{{ owner.name }}` (the sender: the lead's owner, or the team's
//! sender for a lead without one), `{{ owner.signature }}`, `{{ unsubscribe_url }}`, each with a
//! fallback for a lead that has no such value: `{{ lead.first_name | default("there") }}`. That
//! is the whole language: no code runs, no file is read, nothing loops, so a template can
//! neither hang a send nor reach past the lead it is rendered for.
//!
//! [`Template::parse`] reports every problem with its line in the file: an unknown variable, a
//! `{{` left open, a fallback that is no string. [`Template::render`] fills in one lead's values:
//! escaped for HTML in the `html` part, without line breaks in the subject (a value can never
//! add a header), within [`MAX_RENDERED_BYTES`].

mod links;
mod parse;

use crate::lead::{FieldRef, FieldValue, Profile};

pub use links::track_html;
pub use parse::{TemplateError, TemplateProblem};

/// The largest a template file may be.
pub const MAX_TEMPLATE_BYTES: usize = 256 * 1024;
/// The largest a rendered part may be.
pub const MAX_RENDERED_BYTES: usize = 1024 * 1024;

/// A checked template.
#[derive(Clone, Debug, PartialEq)]
pub struct Template {
    name: String,
    subject: Part,
    text: Part,
    html: Option<Part>,
}

/// One part's text, split into what is written and what is filled in.
#[derive(Clone, Debug, PartialEq)]
pub struct Part {
    pieces: Vec<Piece>,
}

#[derive(Clone, Debug, PartialEq)]
enum Piece {
    Text(String),
    Value { variable: Variable, fallback: Option<String> },
}

/// What a template can fill in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Variable {
    /// A field of the lead's profile (`lead.<field>`, `lead.custom.<name>`).
    Lead(FieldRef),
    /// The sender's name, address and signature (`owner.name`, ...).
    OwnerName,
    OwnerEmail,
    OwnerSignature,
    /// Where the lead unsubscribes with one click.
    UnsubscribeUrl,
}

impl Variable {
    /// The names a template may use besides `lead.<field>` and `lead.custom.<name>`.
    pub const OTHERS: [&'static str; 4] = ["owner.name", "owner.email", "owner.signature", "unsubscribe_url"];

    /// As a template writes it.
    pub fn name(&self) -> String {
        match self {
            Variable::Lead(field) => format!("lead.{field}"),
            Variable::OwnerName => "owner.name".into(),
            Variable::OwnerEmail => "owner.email".into(),
            Variable::OwnerSignature => "owner.signature".into(),
            Variable::UnsubscribeUrl => "unsubscribe_url".into(),
        }
    }

    pub fn parse(name: &str) -> Option<Variable> {
        match name {
            "owner.name" => Some(Variable::OwnerName),
            "owner.email" => Some(Variable::OwnerEmail),
            "owner.signature" => Some(Variable::OwnerSignature),
            "unsubscribe_url" => Some(Variable::UnsubscribeUrl),
            _ => FieldRef::parse(name.strip_prefix("lead.")?).map(Variable::Lead),
        }
    }
}

/// Who a send comes from, as a template shows it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Sender {
    pub name: String,
    pub email: String,
    pub signature: Option<String>,
}

/// What one render reads.
#[derive(Clone, Copy, Debug)]
pub struct RenderInput<'a> {
    pub profile: &'a Profile,
    pub sender: &'a Sender,
    pub unsubscribe_url: &'a str,
}

/// A template filled in for one lead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rendered {
    pub subject: String,
    pub text: String,
    pub html: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error("the rendered {part} would be {bytes} bytes, over the limit of {MAX_RENDERED_BYTES}")]
    TooLong { part: &'static str, bytes: usize },
}

/// How a part's filled-in values are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Escape {
    /// As they are, line breaks and all (the text part).
    None,
    /// `&`, `<`, `>`, `"` and `'` as entities (the HTML part).
    Html,
    /// On one line: each run of line breaks and tabs a space (the subject).
    Header,
}

impl Template {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn has_html(&self) -> bool {
        self.html.is_some()
    }

    /// The variables it fills in, each once, in the order they first appear.
    pub fn variables(&self) -> Vec<&Variable> {
        let mut out: Vec<&Variable> = Vec::new();
        for part in [Some(&self.subject), Some(&self.text), self.html.as_ref()].into_iter().flatten() {
            for piece in &part.pieces {
                if let Piece::Value { variable, .. } = piece
                    && !out.contains(&variable)
                {
                    out.push(variable);
                }
            }
        }
        out
    }

    /// The template filled in with one lead's values.
    pub fn render(&self, input: &RenderInput<'_>) -> Result<Rendered, RenderError> {
        Ok(Rendered {
            subject: render_part(&self.subject, input, Escape::Header, "subject")?.trim().to_string(),
            text: render_part(&self.text, input, Escape::None, "text")?,
            html: self.html.as_ref().map(|h| render_part(h, input, Escape::Html, "html")).transpose()?,
        })
    }
}

fn render_part(
    part: &Part,
    input: &RenderInput<'_>,
    escape: Escape,
    name: &'static str,
) -> Result<String, RenderError> {
    let mut out = String::new();
    for piece in &part.pieces {
        match piece {
            // What the template's author wrote is theirs: written as is, HTML included.
            Piece::Text(text) => out.push_str(text),
            Piece::Value { variable, fallback } => {
                let value = value_of(variable, input);
                let value = match value.as_deref() {
                    Some(v) if !v.trim().is_empty() => v,
                    _ => fallback.as_deref().unwrap_or(""),
                };
                write_escaped(&mut out, value, escape);
            }
        }
        if out.len() > MAX_RENDERED_BYTES {
            return Err(RenderError::TooLong { part: name, bytes: out.len() });
        }
    }
    Ok(out)
}

fn value_of(variable: &Variable, input: &RenderInput<'_>) -> Option<String> {
    match variable {
        Variable::Lead(field) => match input.profile.value(field) {
            FieldValue::Missing => None,
            FieldValue::Text(s) => Some(s.to_string()),
            FieldValue::Number(n) => Some(crate::model::format_number(n)),
            FieldValue::Bool(b) => Some(b.to_string()),
            FieldValue::Date(t) => Some(t.to_string()),
        },
        Variable::OwnerName => Some(input.sender.name.clone()),
        Variable::OwnerEmail => Some(input.sender.email.clone()),
        Variable::OwnerSignature => input.sender.signature.clone(),
        Variable::UnsubscribeUrl => Some(input.unsubscribe_url.to_string()),
    }
}

fn write_escaped(out: &mut String, value: &str, escape: Escape) {
    match escape {
        Escape::None => out.push_str(value),
        Escape::Html => {
            for c in value.chars() {
                match c {
                    '&' => out.push_str("&amp;"),
                    '<' => out.push_str("&lt;"),
                    '>' => out.push_str("&gt;"),
                    '"' => out.push_str("&quot;"),
                    '\'' => out.push_str("&#39;"),
                    c => out.push(c),
                }
            }
        }
        Escape::Header => {
            let mut breaking = false;
            for c in value.chars() {
                if c.is_control() {
                    if !breaking {
                        out.push(' ');
                    }
                    breaking = true;
                } else {
                    out.push(c);
                    breaking = false;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
