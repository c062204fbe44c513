//! Reading leads and events from files: CSV (any CRM export, with a column mapping where its
//! headers differ from ours) and JSON Lines.
//!
//! A reader yields one [`Row`] per record: the parsed input, or the reason it was rejected, with
//! its line number. Bad rows never stop a file: the caller reports them and keeps the good ones.

mod blank_lines;
mod mapping;

use std::io::{BufRead, BufReader, Read};

use leadflow_core::{
    CustomValue, Email, EventKey, EventShape, EventType, Field, LeadId, LeadRef, OutcomeKind, Profile, Timestamp,
};
use leadflow_engine::{EventInput, LeadInput};

pub use mapping::{ColumnMapping, EventTarget, LeadTarget, MappingError, UnknownColumns};

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("reading the file: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {message}")]
    Header { line: u64, message: String },
    #[error(transparent)]
    Mapping(#[from] MappingError),
}

/// One record of the file.
#[derive(Debug)]
pub struct Row<T> {
    /// 1-based line where the record starts.
    pub line: u64,
    /// Bytes of the file read so far (for progress).
    pub offset: u64,
    pub parsed: Result<T, String>,
}

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

/// Reads leads from CSV or JSON Lines.
pub fn read_leads<R: Read + 'static>(
    input: R,
    format: Format,
    mapping: &ColumnMapping,
) -> Result<Box<dyn Iterator<Item = Row<LeadInput>>>, ImportError> {
    let mapping = mapping.clone();
    match format {
        Format::Csv => {
            let (reader, targets) = csv_reader(input, |h| mapping.lead_target(h))?;
            Ok(Box::new(csv_rows(reader, move |rec| lead_from_fields(targets.iter().zip(rec.iter())))))
        }
        Format::JsonLines => Ok(Box::new(json_rows(input, move |obj| {
            let fields =
                flatten(obj, "custom", |name| LeadTarget::Custom(name.to_string()), |k| mapping.lead_target(k))?;
            lead_from_fields(fields.iter().map(|(t, v)| (t, v.as_str())))
        }))),
    }
}

/// Reads events from CSV or JSON Lines.
pub fn read_events<R: Read + 'static>(
    input: R,
    format: Format,
    mapping: &ColumnMapping,
) -> Result<Box<dyn Iterator<Item = Row<EventInput>>>, ImportError> {
    let mapping = mapping.clone();
    match format {
        Format::Csv => {
            let (reader, targets) = csv_reader(input, |h| mapping.event_target(h))?;
            for needed in [EventTarget::Type, EventTarget::Ts] {
                if !targets.contains(&needed) {
                    return Err(ImportError::Header {
                        line: 1,
                        message: format!(
                            "no column for the event's {} (map one with a mapping file)",
                            needed.describe()
                        ),
                    });
                }
            }
            if !targets.iter().any(|t| matches!(t, EventTarget::LeadId | EventTarget::Email)) {
                return Err(ImportError::Header {
                    line: 1,
                    message: "no column naming the lead (lead_id or email)".into(),
                });
            }
            Ok(Box::new(csv_rows(reader, move |rec| event_from_fields(targets.iter().zip(rec.iter())))))
        }
        Format::JsonLines => Ok(Box::new(json_rows(input, move |obj| {
            let fields = flatten(
                obj,
                "properties",
                |name| EventTarget::Property(name.to_string()),
                |k| mapping.event_target(k),
            )?;
            event_from_fields(fields.iter().map(|(t, v)| (t, v.as_str())))
        }))),
    }
}

type CsvReader<R> = csv::Reader<blank_lines::MarkBlankLines<R>>;

fn csv_reader<R: Read, T>(
    input: R,
    target: impl Fn(&str) -> Result<T, MappingError>,
) -> Result<(CsvReader<R>, Vec<T>), ImportError> {
    // Flexible: we check field counts ourselves, because blank lines come through as one-field
    // sentinel records (see `blank_lines`).
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(blank_lines::MarkBlankLines::new(input));
    let headers = reader
        .headers()
        .map_err(|e| ImportError::Header { line: 1, message: format!("cannot read the header row: {e}") })?;
    let targets = headers.iter().map(|h| target(h.trim_start_matches('\u{feff}'))).collect::<Result<Vec<T>, _>>()?;
    Ok((reader, targets))
}

fn csv_rows<R: Read, T>(
    mut reader: CsvReader<R>,
    parse: impl Fn(&csv::StringRecord) -> Result<T, String>,
) -> impl Iterator<Item = Row<T>> {
    let width = reader.headers().map_or(0, |h| h.len());
    let mut record = csv::StringRecord::new();
    std::iter::from_fn(move || {
        loop {
            let read = reader.read_record(&mut record);
            let offset = reader.position().byte();
            let line = record.position().map_or(0, |p| p.line());
            return match read {
                Ok(false) => None,
                Ok(true) if record.len() == 1 && &record[0] == blank_lines::SENTINEL => continue,
                Ok(true) if record.len() != width => Some(Row {
                    line,
                    offset,
                    parsed: Err(format!("has {} fields, the header has {width}", record.len())),
                }),
                Ok(true) => Some(Row { line, offset, parsed: parse(&record) }),
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    let message = match e.kind() {
                        csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8".to_string(),
                        _ => e.to_string(),
                    };
                    Some(Row { line, offset, parsed: Err(message) })
                }
            };
        }
    })
}

fn json_rows<R: Read, T>(
    input: R,
    parse: impl Fn(&serde_json::Map<String, serde_json::Value>) -> Result<T, String>,
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
                    return Some(Row { line: line_no, offset, parsed: Err(format!("unreadable: {e}")) });
                }
            };
            offset += n as u64;
            if buf.trim().is_empty() {
                continue;
            }
            let parsed = match serde_json::from_str::<serde_json::Value>(&buf) {
                Ok(serde_json::Value::Object(obj)) => parse(&obj),
                Ok(_) => Err("expected a JSON object".to_string()),
                Err(e) => Err(format!("invalid JSON: {e}")),
            };
            return Some(Row { line: line_no, offset, parsed });
        }
    })
}

/// A JSON Lines record as (target, text) pairs: its keys through `target`, and the keys of the
/// one nested object it may have (`nested`: custom fields, event properties) through `nested_target`.
fn flatten<T>(
    obj: &serde_json::Map<String, serde_json::Value>,
    nested: &str,
    nested_target: impl Fn(&str) -> T,
    target: impl Fn(&str) -> Result<T, MappingError>,
) -> Result<Vec<(T, String)>, String> {
    let mut fields = Vec::new();
    for (k, v) in obj {
        if k == nested {
            let serde_json::Value::Object(inner) = v else {
                return Err(format!("`{nested}` must be an object"));
            };
            for (name, value) in inner {
                fields.push((nested_target(name), json_scalar(name, value)?));
            }
        } else {
            fields.push((target(k).map_err(|e| e.to_string())?, json_scalar(k, v)?));
        }
    }
    Ok(fields)
}

fn json_scalar(key: &str, v: &serde_json::Value) -> Result<String, String> {
    match v {
        serde_json::Value::Null => Ok(String::new()),
        serde_json::Value::String(s) => Ok(s.clone()),
        serde_json::Value::Number(n) => Ok(n.to_string()),
        serde_json::Value::Bool(b) => Ok(b.to_string()),
        _ => Err(format!("`{key}` must be a string, number or boolean")),
    }
}

fn lead_from_fields<'a>(fields: impl Iterator<Item = (&'a LeadTarget, &'a str)>) -> Result<LeadInput, String> {
    let fields: Vec<(&LeadTarget, &str)> = fields.collect();
    let email = fields.iter().find(|(t, _)| **t == LeadTarget::Field(Field::Email)).map(|(_, v)| *v);
    let external = fields.iter().find(|(t, _)| **t == LeadTarget::ExternalId).map(|(_, v)| v.trim());
    let email = match (email, external) {
        (Some(email), _) => Email::parse(email).map_err(|e| format!("email: {e}"))?,
        (None, Some(id)) if !id.is_empty() => {
            let local: String = id
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') { c } else { '_' })
                .collect();
            Email::parse(&format!("{local}@no-email.invalid")).map_err(|e| format!("external_id: {e}"))?
        }
        (None, Some(_)) => return Err("external_id: empty".into()),
        (None, None) => return Err("no email column (or a column mapped to external_id)".into()),
    };
    let mut input = LeadInput { id: None, profile: Profile::new(email), created_at: None, outcome: None };
    let mut outcome_at = None;
    for (target, value) in fields {
        let value = value.trim();
        match target {
            LeadTarget::Field(Field::Email) | LeadTarget::Ignore => {}
            LeadTarget::ExternalId if value.is_empty() => {}
            LeadTarget::ExternalId => {
                input.profile.custom.insert("external_id".into(), CustomValue::Text(value.to_string()));
            }
            LeadTarget::Field(f) => input.profile.set_text(*f, value).map_err(|e| e.to_string())?,
            LeadTarget::Id if value.is_empty() => {}
            LeadTarget::Id => {
                input.id = Some(LeadId(value.parse().map_err(|_| format!("id: `{value}` is not a whole number"))?));
            }
            LeadTarget::CreatedAt if value.is_empty() => {}
            LeadTarget::CreatedAt => {
                input.created_at = Some(Timestamp::parse(value).map_err(|e| format!("created_at: {e}"))?)
            }
            LeadTarget::Custom(name) => {
                if let Some(v) = CustomValue::infer(value) {
                    input.profile.custom.insert(name.clone(), v);
                }
            }
            LeadTarget::Outcome if value.is_empty() => {}
            LeadTarget::Outcome => {
                let kind = OutcomeKind::parse(value)
                    .ok_or_else(|| format!("outcome: `{value}` is neither won (converted, 1, yes) nor lost (0, no)"))?;
                input.outcome = Some((kind, None));
            }
            LeadTarget::OutcomeAt if value.is_empty() => {}
            LeadTarget::OutcomeAt => {
                outcome_at = Some(Timestamp::parse(value).map_err(|e| format!("outcome_at: {e}"))?);
            }
        }
    }
    if let Some((_, at)) = &mut input.outcome {
        *at = outcome_at;
    }
    Ok(input)
}

fn event_from_fields<'a>(fields: impl Iterator<Item = (&'a EventTarget, &'a str)>) -> Result<EventInput, String> {
    let mut key = None;
    let mut lead_id = None;
    let mut email = None;
    let mut event_type = None;
    let mut ts = None;
    let mut properties = Vec::new();
    for (target, value) in fields {
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        match target {
            EventTarget::Key => key = Some(EventKey::parse(value).map_err(|e| e.to_string())?),
            EventTarget::LeadId => {
                lead_id = Some(LeadId(value.parse().map_err(|_| format!("lead_id: `{value}` is not a whole number"))?))
            }
            EventTarget::Email => email = Some(Email::parse(value).map_err(|e| format!("email: {e}"))?),
            EventTarget::Type => event_type = Some(EventType::parse(value).map_err(|e| e.to_string())?),
            EventTarget::Ts => ts = Some(Timestamp::parse(value).map_err(|e| format!("ts: {e}"))?),
            EventTarget::Property(name) => properties.push((name.as_str(), value)),
            EventTarget::Ignore => {}
        }
    }
    let lead = match (lead_id, email) {
        (Some(id), _) => LeadRef::Id(id),
        (None, Some(e)) => LeadRef::Email(e),
        (None, None) => return Err("no lead: give lead_id or email".into()),
    };
    let mut shape = EventShape::new(event_type.ok_or("no event type")?);
    for (name, value) in properties {
        shape.set_property(name, value).map_err(|e| e.to_string())?;
    }
    Ok(EventInput { key, lead, ts: ts.ok_or("no timestamp")?, shape })
}

#[cfg(test)]
mod tests;
