//! Reading a template file (TOML) and its parts' `{{ ... }}` into a checked [`Template`], every
//! problem placed at its line in the file, as a model's are (`crate::model::parse`).
//!
//! A part's places are counted from where its string starts in the file: exact for the
//! multi-line strings templates are written in, and for one-line strings up to the first escape
//! sequence (`\n`, `\"`) before the problem, after which the column may be a few characters off.

use super::*;
use crate::lead::Field;
use crate::model::ModelProblem;
use crate::model::parse::{Ctx, Table, file_error, read_file};

/// One thing wrong with a template file, and where.
pub type TemplateProblem = ModelProblem;

file_error!(
    /// A rejected template file: every problem found, in file order.
    TemplateError,
    "the template has"
);

impl Template {
    /// Parses and checks a template file.
    pub fn parse(source: &str) -> Result<Template, TemplateError> {
        if source.len() > MAX_TEMPLATE_BYTES {
            let problem = ModelProblem {
                line: 1,
                column: 1,
                path: String::new(),
                message: format!("the file is {} bytes, over the limit of {MAX_TEMPLATE_BYTES}", source.len()),
            };
            return Err(TemplateError { problems: vec![problem] });
        }
        read_file(source, read_template).map_err(|problems| TemplateError { problems })
    }
}

fn read_template(ctx: &mut Ctx<'_>, root: &Table<'_, '_>) -> Template {
    root.check_keys(ctx, &["name", "description", "subject", "text", "html"]);
    let name = root.file_name(ctx);
    root.str(ctx, "description");
    let subject = read_part(ctx, root, "subject", true).unwrap_or(Part { pieces: Vec::new() });
    if subject.pieces.iter().any(|p| matches!(p, Piece::Text(t) if t.contains(['\n', '\r']))) {
        let at = root.get("subject").map_or(0, |v| v.span().start);
        ctx.problem(at, "subject", "a subject is one line: no line breaks");
    }
    let text = read_part(ctx, root, "text", true).unwrap_or(Part { pieces: Vec::new() });
    let html = read_part(ctx, root, "html", false);
    Template { name, subject, text, html }
}

/// The part under `key`, its `{{ ... }}` read; `None` when it is absent (reported when
/// `required`) or not a string.
fn read_part(ctx: &mut Ctx<'_>, root: &Table<'_, '_>, key: &str, required: bool) -> Option<Part> {
    let Some(value) = root.get(key) else {
        if required {
            ctx.problem(root.span.start, key, "missing (required)");
        }
        return None;
    };
    let (text, _) = root.str(ctx, key)?;
    if text.trim().is_empty() {
        ctx.problem(value.span().start, key, "must not be empty");
    }
    let start = content_start(ctx.source, value.span().start);
    Some(read_pieces(ctx, key, &text, start))
}

/// Where a TOML string's text starts in the file, given where its quotes do: after them, and
/// after the line break a multi-line string's opening quotes are followed by (TOML drops it).
fn content_start(source: &str, quote_at: usize) -> usize {
    let raw = &source[quote_at..];
    let quotes = if raw.starts_with("\"\"\"") || raw.starts_with("'''") { 3 } else { 1 };
    let after = &raw[quotes..];
    let newline =
        if quotes == 3 { if after.starts_with("\r\n") { 2 } else { usize::from(after.starts_with('\n')) } } else { 0 };
    quote_at + quotes + newline
}

/// A part's text split into what is written and what is filled in; `base` is where the text
/// starts in the file.
fn read_pieces(ctx: &mut Ctx<'_>, path: &str, text: &str, base: usize) -> Part {
    let mut pieces = Vec::new();
    let mut rest = 0;
    while let Some(open) = text[rest..].find("{{") {
        let open = rest + open;
        if open > rest {
            pieces.push(Piece::Text(text[rest..open].to_string()));
        }
        let inner_start = open + 2;
        let Some(close) = text[inner_start..].find("}}") else {
            ctx.problem(base + open, path, "`{{` is not closed by `}}`");
            return Part { pieces };
        };
        let inner = &text[inner_start..inner_start + close];
        if let Some(piece) = read_expression(ctx, path, inner, base + inner_start) {
            pieces.push(piece);
        }
        rest = inner_start + close + 2;
    }
    if rest < text.len() {
        pieces.push(Piece::Text(text[rest..].to_string()));
    }
    // Neighbouring text (around a literal) is one piece.
    let mut merged: Vec<Piece> = Vec::with_capacity(pieces.len());
    for piece in pieces {
        match (merged.last_mut(), piece) {
            (Some(Piece::Text(before)), Piece::Text(text)) => before.push_str(&text),
            (_, piece) => merged.push(piece),
        }
    }
    Part { pieces: merged }
}

/// What is between `{{` and `}}`: a variable, with `| default("...")` or not, or a string
/// (`{{ "{{" }}` writes the braces themselves). `at` is where it starts in the file.
fn read_expression(ctx: &mut Ctx<'_>, path: &str, inner: &str, at: usize) -> Option<Piece> {
    let trimmed = inner.trim();
    if trimmed.is_empty() {
        // At its `{{`.
        ctx.problem(at - 2, path, "an empty `{{ }}`: name a variable");
        return None;
    }
    let at = at + (inner.len() - inner.trim_start().len());
    if let Some(literal) = string_literal(trimmed) {
        return Some(Piece::Text(literal.to_string()));
    }
    let (name, filter) = match trimmed.find('|') {
        Some(bar) => (trimmed[..bar].trim_end(), Some((&trimmed[bar + 1..], at + bar + 1))),
        None => (trimmed, None),
    };
    let variable = Variable::parse(name);
    if variable.is_none() {
        ctx.problem(at, path, unknown_variable(name));
    }
    let fallback = match filter {
        None => None,
        Some((filter, filter_at)) => {
            let skipped = filter.len() - filter.trim_start().len();
            let fallback = default_filter(filter.trim());
            if fallback.is_none() {
                ctx.problem(
                    filter_at + skipped,
                    path,
                    format!("`{}` after `|`: only a fallback may follow, `default(\"...\")`", filter.trim()),
                );
            }
            Some(fallback?.to_string())
        }
    };
    Some(Piece::Value { variable: variable?, fallback })
}

fn unknown_variable(name: &str) -> String {
    let known = Field::ALL.iter().map(|f| format!("lead.{}", f.name())).collect::<Vec<_>>().join(", ");
    format!("unknown variable `{name}` (expected one of: {known}, lead.custom.<name>, {})", Variable::OTHERS.join(", "))
}

/// `default("...")` or `default('...')`: the fallback.
fn default_filter(filter: &str) -> Option<&str> {
    let args = filter.strip_prefix("default")?.trim_start().strip_prefix('(')?.strip_suffix(')')?;
    string_literal(args.trim())
}

/// `"..."` or `'...'`, without the quotes; the other quote may be inside, its own may not.
fn string_literal(s: &str) -> Option<&str> {
    let quote = s.chars().next().filter(|c| *c == '"' || *c == '\'')?;
    let inner = s.strip_prefix(quote)?.strip_suffix(quote)?;
    (!inner.contains(quote) && s.len() >= 2).then_some(inner)
}
