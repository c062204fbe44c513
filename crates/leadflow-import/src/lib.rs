//! Reading leads and events from files: CSV (any CRM export, with a column mapping where its
//! headers differ from ours) and JSON Lines.
//!
//! A reader yields one [`Row`] per record: the parsed input, or the reason it was rejected, with
//! its line number, and warnings about fields left out of an otherwise good record. Bad rows
//! never stop a file: the caller reports them and keeps the good ones. A problem of the whole
//! file (no column naming the lead, a mapping naming a column the file does not have) is one
//! [`ImportError`] before any row is read.
//!
//! What is stored is what the file says: a CSV file is first looked at whole (`columns`) to
//! learn its encoding, delimiter, decimal mark and date order and the type of each custom
//! column, so that a zip code column stays text and `1.500` is never silently one and a half.

mod columns;
mod history;
mod lines;
mod mapping;
mod sniff;
mod values;

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};

use leadflow_core::{
    CustomValue, Email, EventKey, EventShape, EventType, ExternalId, Field, Identity, LeadId, LeadRef, OutcomeKind,
    Profile,
};
use leadflow_engine::{EventInput, LeadInput};

pub use columns::{ColumnReport, FileReport};
pub use history::read_changes;
pub use mapping::{
    ChangeTarget, ColumnMapping, DEFAULT_STAGE_FIELDS, DEFAULT_STAGES, EventTarget, LeadTarget, MappingError,
    UnknownColumns, ValueType,
};
pub use sniff::{TextEncoding, describe_delimiter};
pub use values::{DateOrder, DecimalMark};

use values::NumberLocale;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {message}")]
    Header { line: u64, message: String },
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// How to read a file where looking at it is not enough, or not wanted.
#[derive(Clone, Debug, Default)]
pub struct ReadOptions {
    /// The text encoding; detected when not given (UTF-8, else Windows-1252).
    pub encoding: Option<TextEncoding>,
    /// The CSV delimiter; the one the header row uses when not given.
    pub delimiter: Option<u8>,
    /// The decimal mark of numbers; settled by the file's values when not given.
    pub decimal: Option<DecimalMark>,
    /// The order of day and month in dates; settled by the file's values when not given.
    pub date_order: Option<DateOrder>,
    /// Reject a record with any bad field, instead of leaving the field out with a warning.
    pub strict: bool,
}

/// A file opened for reading: what was found out about it, and its records.
pub struct Import<T> {
    pub file: FileReport,
    pub rows: Box<dyn Iterator<Item = Row<T>>>,
}

/// One record of the file, as the engine's imports take it.
pub use leadflow_engine::ImportRow as Row;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    JsonLines,
}

impl Format {
    /// By file name: `.jsonl` / `.ndjson` are JSON Lines, anything else CSV.
    pub fn from_path(path: &std::path::Path) -> Format {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("jsonl" | "ndjson") => Format::JsonLines,
            _ => Format::Csv,
        }
    }
}

/// How values are read: the file's locale, its stage names, and whether a bad field rejects
/// its record.
#[derive(Clone)]
struct Reading {
    mapping: ColumnMapping,
    numbers: NumberLocale,
    date_order: Option<DateOrder>,
    strict: bool,
}

/// A value as the file holds it: CSV has only text; JSON says what it sent.
#[derive(Clone, Copy)]
enum Cell<'a> {
    Text(&'a str),
    Number(f64),
    Bool(bool),
}

impl<'a> Cell<'a> {
    /// The value as text, trimmed: borrowed from the file for CSV (no allocation per cell).
    fn text(&self) -> std::borrow::Cow<'a, str> {
        match *self {
            Cell::Text(s) => s.trim().into(),
            Cell::Number(n) => n.to_string().into(),
            Cell::Bool(b) => b.to_string().into(),
        }
    }
}

/// Reads leads from CSV or JSON Lines.
pub fn read_leads<R: Read + Seek + 'static>(
    input: R,
    format: Format,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<Import<LeadInput>, ImportError> {
    match format {
        Format::Csv => {
            let (plan, file, csv) = columns::plan_leads(input, mapping, options)?;
            let reading = Reading {
                mapping: mapping.clone(),
                numbers: NumberLocale { mark: file.decimal, comma_delimited: file.delimiter == Some(b',') },
                date_order: file.date_order,
                strict: options.strict,
            };
            let rows = csv.rows(move |rec| {
                lead_from_cells(plan.iter().zip(rec.iter()).map(|((t, ty), v)| (t, *ty, Cell::Text(v))), &reading)
            });
            Ok(Import { file, rows: Box::new(said_twice(rows)) })
        }
        Format::JsonLines => {
            let reading = json_reading(mapping, options);
            let mapping = mapping.clone();
            let rows = json_rows(input, move |obj| {
                let fields = match flatten(
                    obj,
                    "custom",
                    |name| LeadTarget::Custom(name.to_string()),
                    |k, i| mapping.lead_target(k, i),
                ) {
                    Ok(f) => f,
                    Err(e) => return (Err(e), Vec::new()),
                };
                lead_from_cells(fields.iter().map(|(t, v)| (t, None, v.cell())), &reading)
            });
            Ok(Import { file: FileReport::json_lines(), rows: Box::new(said_twice(rows)) })
        }
    }
}

/// Warns of a record naming a lead an earlier record of the file named too (CRM exports repeat
/// people): the later one's fields go onto the same lead, and the user should know.
fn said_twice(rows: impl Iterator<Item = Row<LeadInput>>) -> impl Iterator<Item = Row<LeadInput>> {
    let mut first_seen: std::collections::HashMap<LeadRef, u64> = std::collections::HashMap::new();
    rows.map(move |mut row| {
        if let Ok(lead) = &row.parsed {
            let p = &lead.profile;
            let keys = [p.external_id.clone().map(LeadRef::External), p.email.clone().map(LeadRef::Email)];
            let keys: Vec<LeadRef> = keys.into_iter().flatten().collect();
            if let Some((key, line)) = keys.iter().find_map(|k| first_seen.get(k).map(|line| (k, *line))) {
                let key = match key {
                    LeadRef::Email(e) => e.to_string(),
                    LeadRef::External(x) => format!("external id {x}"),
                    LeadRef::Id(id) => format!("id {id}"),
                    LeadRef::System(system, x) => format!("{system} id {x}"),
                    LeadRef::Phone(phone) => format!("phone {phone}"),
                };
                row.warnings.push(format!(
                    "names the same lead as line {line} ({}): its fields were merged onto that lead",
                    leadflow_core::text::printable(&key)
                ));
            }
            for key in keys {
                first_seen.entry(key).or_insert(row.line);
            }
        }
        row
    })
}

/// Reads events from CSV or JSON Lines.
pub fn read_events<R: Read + Seek + 'static>(
    input: R,
    format: Format,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<Import<EventInput>, ImportError> {
    match format {
        Format::Csv => {
            let (targets, file, csv) = columns::plan_events(input, mapping, options)?;
            let order = file.date_order;
            let rows = csv
                .rows(move |rec| (event_from_cells(targets.iter().zip(rec.iter().map(Cell::Text)), order), Vec::new()));
            Ok(Import { file, rows: Box::new(rows) })
        }
        Format::JsonLines => {
            let mapping = mapping.clone();
            let order = options.date_order;
            let rows = json_rows(input, move |obj| {
                let parsed = flatten(
                    obj,
                    "properties",
                    |name| EventTarget::Property(name.to_string()),
                    |k, i| mapping.event_target(k, i),
                )
                .and_then(|fields| event_from_cells(fields.iter().map(|(t, v)| (t, v.cell())), order));
                (parsed, Vec::new())
            });
            Ok(Import { file: FileReport::json_lines(), rows: Box::new(rows) })
        }
    }
}

fn json_reading(mapping: &ColumnMapping, options: &ReadOptions) -> Reading {
    Reading {
        mapping: mapping.clone(),
        numbers: NumberLocale { mark: options.decimal, comma_delimited: false },
        date_order: options.date_order,
        strict: options.strict,
    }
}

type Parsed<T> = (Result<T, String>, Vec<String>);

fn json_rows<R: Read, T>(
    input: R,
    parse: impl Fn(&serde_json::Map<String, serde_json::Value>) -> Parsed<T>,
) -> impl Iterator<Item = Row<T>> {
    let mut lines = BufReader::new(input);
    let mut line_no = 0u64;
    let mut offset = 0u64;
    let mut buf = String::new();
    std::iter::from_fn(move || {
        loop {
            buf.clear();
            line_no += 1;
            let n = match lines.read_line(&mut buf) {
                Ok(0) => return None,
                Ok(n) => n,
                Err(e) => {
                    return Some(Row {
                        line: line_no,
                        offset,
                        parsed: Err(format!("unreadable: {e}")),
                        warnings: Vec::new(),
                    });
                }
            };
            offset += n as u64;
            let text = buf.trim().trim_start_matches('\u{feff}');
            if text.is_empty() {
                continue;
            }
            let (parsed, warnings) = match serde_json::from_str::<serde_json::Value>(text) {
                Ok(serde_json::Value::Object(obj)) => parse(&obj),
                Ok(_) => (Err("expected a JSON object".to_string()), Vec::new()),
                Err(e) => (Err(format!("invalid JSON: {e}")), Vec::new()),
            };
            return Some(Row { line: line_no, offset, parsed, warnings });
        }
    })
}

/// A JSON scalar, kept with its type.
enum JsonScalar {
    Null,
    Text(String),
    Number(f64),
    Bool(bool),
}

impl JsonScalar {
    fn cell(&self) -> Cell<'_> {
        match self {
            JsonScalar::Null => Cell::Text(""),
            JsonScalar::Text(s) => Cell::Text(s),
            JsonScalar::Number(n) => Cell::Number(*n),
            JsonScalar::Bool(b) => Cell::Bool(*b),
        }
    }
}

/// A JSON Lines record as (target, value) pairs: its keys through `target`, and the keys of the
/// one nested object it may have (`nested`: custom fields, event properties) through `nested_target`.
fn flatten<T>(
    obj: &serde_json::Map<String, serde_json::Value>,
    nested: &str,
    nested_target: impl Fn(&str) -> T,
    target: impl Fn(&str, usize) -> Result<T, MappingError>,
) -> Result<Vec<(T, JsonScalar)>, String> {
    let mut fields = Vec::new();
    for (i, (k, v)) in obj.iter().enumerate() {
        if k == nested {
            let serde_json::Value::Object(inner) = v else {
                return Err(format!("`{nested}` must be an object"));
            };
            for (name, value) in inner {
                fields.push((nested_target(name), json_scalar(&format!("{nested}.{name}"), value)?));
            }
        } else {
            fields.push((target(k, i).map_err(|e| e.to_string())?, json_scalar(k, v)?));
        }
    }
    Ok(fields)
}

fn json_scalar(key: &str, v: &serde_json::Value) -> Result<JsonScalar, String> {
    match v {
        serde_json::Value::Null => Ok(JsonScalar::Null),
        serde_json::Value::String(s) => Ok(JsonScalar::Text(s.clone())),
        serde_json::Value::Number(n) => n
            .as_f64()
            .filter(|f| f.is_finite())
            .map(JsonScalar::Number)
            .ok_or_else(|| format!("`{key}`: {n} is out of range")),
        serde_json::Value::Bool(b) => Ok(JsonScalar::Bool(*b)),
        _ => Err(format!("`{key}` must be a string, number or boolean")),
    }
}

/// `Gus Fring <gus@pollos.example>`, as mail clients and some CRMs write an address, or a bare one.
pub(crate) fn email_of(value: &str) -> Result<Email, String> {
    let value = value.trim();
    let address = match (value.rfind('<'), value.strip_suffix('>')) {
        (Some(open), Some(rest)) => &rest[open + 1..],
        _ => value,
    };
    Email::parse(address).map_err(|e| format!("email: {e}"))
}

fn lead_from_cells<'a>(
    fields: impl Iterator<Item = (&'a LeadTarget, Option<ValueType>, Cell<'a>)>,
    reading: &Reading,
) -> Parsed<LeadInput> {
    let fields: Vec<(&LeadTarget, Option<ValueType>, Cell)> = fields.collect();
    let value_of = |target: &LeadTarget| {
        fields.iter().find(|(t, _, _)| *t == target).map(|(_, _, v)| v.text()).filter(|v| !v.is_empty())
    };
    let email = match value_of(&LeadTarget::Field(Field::Email)).map(|e| email_of(&e)).transpose() {
        Ok(email) => email,
        Err(e) => return (Err(e), Vec::new()),
    };
    let external_id = match value_of(&LeadTarget::Field(Field::ExternalId)).map(|x| ExternalId::parse(&x)).transpose() {
        Ok(id) => id,
        Err(e) => return (Err(format!("external_id: {e}")), Vec::new()),
    };
    let Some(profile) = Profile::named(email, external_id) else {
        return (Err("no email and no external id: nothing names this lead".into()), Vec::new());
    };
    let mut input = LeadInput::of(profile);
    let mut warnings = Vec::new();
    let mut outcome_at = None;
    for (target, value_type, cell) in fields {
        let value = cell.text();
        if value.is_empty() {
            continue;
        }
        let mut warn = |what: &str, problem: String| warnings.push(format!("{what}: {problem}; left out"));
        match target {
            LeadTarget::Field(Field::Email | Field::ExternalId) | LeadTarget::Ignore => {}
            LeadTarget::Identity(kind) => {
                for one in value.split(';').map(str::trim).filter(|v| !v.is_empty()) {
                    match Identity::parse_in(&format!("{kind}:{one}"), reading.mapping.phone_region()) {
                        Ok(identity) => input.identities.push(identity),
                        Err(e) => warn(&format!("identity.{kind}"), e.to_string()),
                    }
                }
            }
            LeadTarget::Field(Field::Stage) => match reading.mapping.stage(&value) {
                Some(stage) => input.profile.stage = stage,
                None => warn(
                    "stage",
                    format!("`{value}` is not a stage leadflow knows (name it in the mapping's [stages] table)"),
                ),
            },
            LeadTarget::Field(f) if f.is_numeric() => match number_cell(cell, reading.numbers) {
                Ok(n) => set_number(&mut input.profile, *f, n),
                Err(e) => warn(f.name(), e),
            },
            LeadTarget::Field(f) => {
                if let Err(e) = input.profile.set_text(*f, &value) {
                    warn(f.name(), e.to_string());
                }
            }
            LeadTarget::Id => match value.parse() {
                Ok(id) => input.id = Some(LeadId(id)),
                Err(_) => return (Err(format!("id: `{value}` is not a whole number")), warnings),
            },
            LeadTarget::CreatedAt => match values::parse_date(&value, reading.date_order) {
                Ok(t) => input.created_at = Some(t),
                Err(e) => warn("created_at", e),
            },
            LeadTarget::Custom(name) => match custom_value(cell, value_type, reading) {
                Ok(v) => {
                    input.profile.custom.insert(name.clone(), v);
                }
                Err(e) => warn(&format!("custom.{name}"), e),
            },
            LeadTarget::Outcome => match OutcomeKind::parse(&value) {
                Some(kind) => input.outcome = Some((kind, None)),
                None => warn("outcome", format!("`{value}` is neither won (converted, 1, yes) nor lost (0, no)")),
            },
            LeadTarget::OutcomeAt => match values::parse_date(&value, reading.date_order) {
                Ok(t) => outcome_at = Some(t),
                Err(e) => warn("outcome_at", e),
            },
        }
    }
    if let Some((_, at)) = &mut input.outcome {
        *at = outcome_at;
    }
    if reading.strict && !warnings.is_empty() {
        let reason = warnings.iter().map(|w| w.trim_end_matches("; left out")).collect::<Vec<_>>().join("; ");
        return (Err(format!("{reason} (--strict)")), Vec::new());
    }
    (Ok(input), warnings)
}

fn set_number(profile: &mut Profile, field: Field, n: f64) {
    match field {
        Field::Employees => profile.employees = Some(n),
        Field::AnnualRevenue => profile.annual_revenue = Some(n),
        _ => unreachable!("only employees and annual_revenue are numeric"),
    }
}

fn number_cell(cell: Cell, locale: NumberLocale) -> Result<f64, String> {
    match cell {
        Cell::Number(n) => Ok(n),
        Cell::Bool(b) => Err(format!("`{b}` is not a number")),
        Cell::Text(s) if is_range(s) => {
            Err(format!("`{}` is a range, not a number (map the column to custom.<name> to keep it as text)", s.trim()))
        }
        Cell::Text(s) => values::parse_number(s, locale),
    }
}

/// `51-200`, `1,001-5,000`: how CRMs write company sizes.
fn is_range(s: &str) -> bool {
    let s = s.trim();
    s.split_once('-').is_some_and(|(a, b)| {
        let digits = |x: &str| {
            let x = x.trim();
            !x.is_empty() && x.chars().all(|c| c.is_ascii_digit() || c == ',' || c == '.')
        };
        digits(a) && digits(b)
    })
}

/// A custom field's value: of the column's type (CSV), or as JSON sent it.
fn custom_value(cell: Cell, value_type: Option<ValueType>, reading: &Reading) -> Result<CustomValue, String> {
    let text = cell.text();
    match (value_type, cell) {
        (None, Cell::Text(_)) | (Some(ValueType::Text), _) => Ok(CustomValue::Text(text.into_owned())),
        (None, Cell::Number(n)) => Ok(CustomValue::Number(n)),
        (None, Cell::Bool(b)) => Ok(CustomValue::Bool(b)),
        (Some(ValueType::Number), cell) => number_cell(cell, reading.numbers).map(CustomValue::Number),
        (Some(ValueType::Bool), Cell::Bool(b)) => Ok(CustomValue::Bool(b)),
        (Some(ValueType::Bool), _) => values::parse_bool(&text)
            .map(CustomValue::Bool)
            .ok_or_else(|| format!("`{text}` is not a boolean (true/false, yes/no)")),
        (Some(ValueType::Date), _) => values::parse_date(&text, reading.date_order).map(CustomValue::Date),
    }
}

fn event_from_cells<'a>(
    fields: impl Iterator<Item = (&'a EventTarget, Cell<'a>)>,
    date_order: Option<DateOrder>,
) -> Result<EventInput, String> {
    let mut key = None;
    let mut lead_id = None;
    let mut external_id = None;
    let mut email = None;
    let mut identity = None;
    let mut event_type = None;
    let mut ts = None;
    let mut properties = Vec::new();
    for (target, cell) in fields {
        let value = cell.text();
        if value.is_empty() {
            continue;
        }
        match target {
            EventTarget::Key => key = Some(EventKey::parse(&value).map_err(|e| e.to_string())?),
            EventTarget::LeadId => {
                lead_id = Some(LeadId(value.parse().map_err(|_| format!("lead_id: `{value}` is not a whole number"))?))
            }
            EventTarget::ExternalId => {
                external_id = Some(ExternalId::parse(&value).map_err(|e| format!("external_id: {e}"))?)
            }
            EventTarget::Email => email = Some(email_of(&value)?),
            EventTarget::Identity => identity = Some(Identity::parse(&value).map_err(|e| format!("identity: {e}"))?),
            EventTarget::Type => event_type = Some(EventType::parse(&value).map_err(|e| e.to_string())?),
            EventTarget::Ts => ts = Some(values::parse_date(&value, date_order).map_err(|e| format!("ts: {e}"))?),
            EventTarget::Property(name) => properties.push((name.as_str(), value.into_owned())),
            EventTarget::Ignore => {}
        }
    }
    let lead = match (lead_id, identity, external_id, email) {
        (Some(id), ..) => LeadRef::Id(id),
        (None, Some(i), ..) => LeadRef::from(i),
        (None, None, Some(x), _) => LeadRef::External(x),
        (None, None, None, Some(e)) => LeadRef::Email(e),
        (None, None, None, None) => return Err("no lead: give lead_id, identity, external_id or email".into()),
    };
    let mut shape = EventShape::new(event_type.ok_or("no event type")?);
    for (name, value) in properties {
        shape.set_property(name, &value).map_err(|e| e.to_string())?;
    }
    Ok(EventInput { key, lead, ts: ts.ok_or("no timestamp")?, shape })
}

/// Rewinds a file for another pass.
fn rewind<R: Seek>(input: &mut R) -> Result<(), ImportError> {
    input.seek(SeekFrom::Start(0))?;
    Ok(())
}

#[cfg(test)]
mod tests;
