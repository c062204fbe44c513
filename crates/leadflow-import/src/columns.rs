//! A CSV file's columns: where each goes, and what its values are.
//!
//! Before its rows are read, a file is looked at whole (leads) or in its first rows (events,
//! whose files are large and whose only locale-dependent column is the time): its encoding,
//! its delimiter, the decimal mark its numbers use and the order of day and month in its dates
//! are settled by its values where the user did not say, and each custom column gets a type.
//! Inference is conservative: a column is a number only when every value is one (read the same
//! under the file's decimal mark), none has a leading zero or a plus sign, and its name does not
//! say it holds codes (ids, phone numbers, zip codes); a date or a boolean only when every value
//! is one; anything else stays text, as it was written.

use std::cell::RefCell;
use std::io::{Cursor, Read, Seek};
use std::rc::Rc;

use crate::lines::{self, LineIndex, LineTracking};
use crate::mapping::{ChangeTarget, ColumnMapping, EventTarget, LeadTarget, ValueType};
use crate::sniff::{self, TextEncoding};
use crate::values::{self, DateHint, DateOrder, DecimalMark, NumberHint, NumberLocale};
use crate::{ImportError, Parsed, ReadOptions, Row, rewind};
use leadflow_core::Field;

/// What was found out about a file before its rows were read.
#[derive(Clone, Debug, PartialEq)]
pub struct FileReport {
    pub encoding: TextEncoding,
    /// The first byte that is not UTF-8, when that is why the encoding is not UTF-8.
    pub not_utf8_at: Option<u64>,
    /// CSV only.
    pub delimiter: Option<u8>,
    /// The decimal mark numbers are read with; `None`: not settled, ambiguous values are rejected.
    pub decimal: Option<DecimalMark>,
    /// The order of day and month in dates; `None`: not settled, ambiguous dates are rejected.
    pub date_order: Option<DateOrder>,
    pub columns: Vec<ColumnReport>,
}

impl FileReport {
    pub(crate) fn json_lines() -> FileReport {
        FileReport {
            encoding: TextEncoding::Utf8,
            not_utf8_at: None,
            delimiter: None,
            decimal: None,
            date_order: None,
            columns: Vec::new(),
        }
    }

    /// The columns whose values go nowhere, with why.
    pub fn ignored(&self) -> impl Iterator<Item = &ColumnReport> {
        self.columns.iter().filter(|c| c.ignored.is_some())
    }
}

/// Where one column goes.
#[derive(Clone, Debug, PartialEq)]
pub struct ColumnReport {
    pub header: String,
    /// `email`, `custom.zip (text)`, `property.url`, ...
    pub target: String,
    /// Why the column is ignored, if it is.
    pub ignored: Option<String>,
}

/// How many of a column's values could be what.
#[derive(Default, Clone)]
struct ColumnStats {
    values: usize,
    numbers: usize,
    point_only: usize,
    comma_only: usize,
    ambiguous_numbers: usize,
    /// Of those, with a comma (`1,500`).
    ambiguous_commas: usize,
    dates: usize,
    month_first: usize,
    day_first: usize,
    ambiguous_dates: usize,
    bools: usize,
}

impl ColumnStats {
    fn add(&mut self, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        self.values += 1;
        let number = values::number_hint(value);
        match number {
            NumberHint::NotANumber => {}
            _ if leadflow_core::lead::must_stay_text(value) => {}
            hint => {
                self.numbers += 1;
                match hint {
                    NumberHint::Only(DecimalMark::Point) => self.point_only += 1,
                    NumberHint::Only(DecimalMark::Comma) => self.comma_only += 1,
                    NumberHint::Ambiguous => {
                        self.ambiguous_numbers += 1;
                        self.ambiguous_commas += usize::from(value.contains(','));
                    }
                    _ => {}
                }
            }
        }
        // A number is never a date (dates need their separators): the costlier parse is spared.
        let date = match number {
            NumberHint::NotANumber => values::date_hint(value),
            _ => DateHint::NotADate,
        };
        match date {
            DateHint::NotADate => {}
            hint => {
                self.dates += 1;
                match hint {
                    DateHint::Only(DateOrder::MonthFirst) => self.month_first += 1,
                    DateHint::Only(DateOrder::DayFirst) => self.day_first += 1,
                    DateHint::Ambiguous => self.ambiguous_dates += 1,
                    _ => {}
                }
            }
        }
        if values::parse_bool(value).is_some() {
            self.bools += 1;
        }
    }

    fn all_numbers(&self) -> bool {
        self.values > 0 && self.numbers == self.values
    }

    fn all_dates(&self) -> bool {
        self.values > 0 && self.dates == self.values && self.numbers < self.values
    }

    fn numbers_read_under(&self, locale: NumberLocale) -> bool {
        let ambiguous = match locale.comma_delimited {
            true => self.ambiguous_numbers - self.ambiguous_commas,
            false => self.ambiguous_numbers,
        };
        match locale.mark {
            None => ambiguous == 0 && (self.point_only == 0 || self.comma_only == 0),
            Some(DecimalMark::Point) => self.comma_only == 0,
            Some(DecimalMark::Comma) => self.point_only == 0,
        }
    }

    fn dates_read_under(&self, order: Option<DateOrder>) -> bool {
        match order {
            None => self.ambiguous_dates == 0 && (self.month_first == 0 || self.day_first == 0),
            Some(DateOrder::MonthFirst) => self.day_first == 0,
            Some(DateOrder::DayFirst) => self.month_first == 0,
        }
    }
}

/// Headers that name codes, whose values are text even when they are all digits.
fn names_a_code(name: &str) -> bool {
    let name = name.to_lowercase();
    ["phone", "mobile", "fax", "zip", "postal", "postcode", "plz", "sku", "code"].iter().any(|w| name.contains(w))
        || name == "id"
        || name.ends_with("_id")
        || name.ends_with("_number")
}

/// Settles the decimal mark from the evidence of the file's numbers: one kind only, or a
/// semicolon-delimited file (Excel writes those where the comma is the decimal mark).
fn settle_decimal<'a>(stats: impl Iterator<Item = &'a ColumnStats>, delimiter: u8) -> Option<DecimalMark> {
    let (mut point, mut comma) = (0, 0);
    for s in stats.filter(|s| s.all_numbers()) {
        point += s.point_only;
        comma += s.comma_only;
    }
    match (point, comma) {
        (0, 0) if delimiter == b';' => Some(DecimalMark::Comma),
        (0, 0) => None,
        (_, 0) => Some(DecimalMark::Point),
        (0, _) => Some(DecimalMark::Comma),
        _ => None,
    }
}

fn settle_date_order<'a>(stats: impl Iterator<Item = &'a ColumnStats>) -> Option<DateOrder> {
    let (mut month_first, mut day_first) = (0, 0);
    for s in stats.filter(|s| s.all_dates()) {
        month_first += s.month_first;
        day_first += s.day_first;
    }
    match (month_first, day_first) {
        (0, 0) => None,
        (_, 0) => Some(DateOrder::MonthFirst),
        (0, _) => Some(DateOrder::DayFirst),
        _ => None,
    }
}

/// The records of a CSV file, with exact line numbers.
pub(crate) struct CsvSource<D: Read> {
    reader: csv::Reader<LineTracking<D>>,
    lines: Rc<RefCell<LineIndex>>,
    width: usize,
}

type Decoded<'a> = std::io::Chain<Cursor<Vec<u8>>, Box<dyn Read + 'a>>;

/// Decodes the file, finds its delimiter, and reads its header row.
fn open<'a, R: Read + 'a>(
    input: R,
    encoding: TextEncoding,
    delimiter: Option<u8>,
) -> Result<(CsvSource<Decoded<'a>>, Vec<String>, u8), ImportError> {
    let mut decoded = sniff::decode(input, encoding);
    // Enough of the file to hold its header row.
    let mut head = Vec::new();
    let mut chunk = [0u8; 8192];
    while head.len() < 64 * 1024 && !head.contains(&b'\n') {
        let n = decoded.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&chunk[..n]);
    }
    let delimiter = delimiter.unwrap_or_else(|| sniff::detect_delimiter(&String::from_utf8_lossy(&head)));
    let (tracking, lines) = LineTracking::new(Cursor::new(head).chain(decoded), delimiter);
    // Flexible: we check field counts ourselves, because blank lines come through as one-field
    // sentinel records (see `lines`).
    let mut reader = csv::ReaderBuilder::new().flexible(true).delimiter(delimiter).from_reader(tracking);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| ImportError::Header { line: 1, message: format!("cannot read the header row: {e}") })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let width = headers.len();
    Ok((CsvSource { reader, lines, width }, headers, delimiter))
}

impl<D: Read> CsvSource<D> {
    /// Every record through `parse`; wrong field counts and unreadable records are rejected rows.
    pub(crate) fn rows<T>(
        self,
        parse: impl Fn(&csv::StringRecord) -> Parsed<T> + 'static,
    ) -> impl Iterator<Item = Row<T>> + 'static
    where
        D: 'static,
    {
        let CsvSource { mut reader, lines, width } = self;
        let mut record = csv::StringRecord::new();
        std::iter::from_fn(move || {
            loop {
                let read = reader.read_record(&mut record);
                let offset = reader.position().byte();
                let start = match &read {
                    Err(e) => e.position().map(|p| p.byte()),
                    Ok(_) => record.position().map(|p| p.byte()),
                };
                let line = start.map_or(0, |b| lines.borrow_mut().line_at(b));
                let row = |parsed, warnings| Some(Row { line, offset, parsed, warnings });
                return match read {
                    Ok(false) => None,
                    Ok(true) if lines::is_blank(&record) => continue,
                    Ok(true) if record.len() != width => {
                        row(Err(format!("has {} fields, the header has {width}", record.len())), Vec::new())
                    }
                    Ok(true) => {
                        let (parsed, warnings) = parse(&record);
                        row(parsed, warnings)
                    }
                    Err(e) => row(Err(e.to_string()), Vec::new()),
                };
            }
        })
    }

    /// Feeds the first `limit` records' values of the columns `watch` picks to their stats.
    fn survey(&mut self, stats: &mut [Option<ColumnStats>], limit: usize) {
        let mut record = csv::StringRecord::new();
        let mut seen = 0;
        while seen < limit {
            match self.reader.read_record(&mut record) {
                // A blank line: no values.
                Ok(true) if lines::is_blank(&record) => continue,
                Ok(true) => seen += 1,
                Ok(false) => break,
                // The rows pass reports it.
                Err(_) => continue,
            }
            for (value, stat) in record.iter().zip(stats.iter_mut()) {
                if let Some(stat) = stat {
                    stat.add(value);
                }
            }
        }
    }
}

/// The encoding the user gave, or the file's own.
fn encoding_of<R: Read + Seek>(
    input: &mut R,
    options: &ReadOptions,
) -> Result<(TextEncoding, Option<u64>), ImportError> {
    let found = match options.encoding {
        Some(e) => (e, None),
        None => sniff::detect_encoding(&mut *input)?,
    };
    rewind(input)?;
    Ok(found)
}

/// Two columns going to the same place would have one overwrite the other.
fn check_distinct<T: PartialEq>(
    headers: &[String],
    targets: &[T],
    is_ignored: impl Fn(&T) -> bool,
    describe: impl Fn(&T) -> String,
) -> Result<(), ImportError> {
    for (i, t) in targets.iter().enumerate() {
        if is_ignored(t) {
            continue;
        }
        if let Some(j) = targets[..i].iter().position(|u| u == t) {
            return Err(ImportError::Header {
                line: 1,
                message: format!(
                    "columns `{}` and `{}` both go to {}: map one of them elsewhere or to \"ignore\"",
                    headers[j],
                    headers[i],
                    describe(t)
                ),
            });
        }
    }
    Ok(())
}

fn header_list(headers: &[String]) -> String {
    headers.iter().map(|h| format!("`{h}`")).collect::<Vec<_>>().join(", ")
}

fn ignored_reason(mapping: &ColumnMapping, header: &str) -> String {
    if mapping.names(header) { "the mapping says so".into() } else { "unknown_columns = \"ignore\"".into() }
}

pub(crate) type LeadPlan = Vec<(LeadTarget, Option<ValueType>)>;

pub(crate) fn plan_leads<R: Read + Seek + 'static>(
    mut input: R,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<(LeadPlan, FileReport, CsvSource<Decoded<'static>>), ImportError> {
    let (encoding, not_utf8_at) = encoding_of(&mut input, options)?;
    let (mut survey, headers, delimiter) = open(&mut input, encoding, options.delimiter)?;
    mapping.check_headers(headers.iter().map(String::as_str))?;
    let targets =
        headers.iter().enumerate().map(|(i, h)| mapping.lead_target(h, i)).collect::<Result<Vec<LeadTarget>, _>>()?;
    check_distinct(&headers, &targets, |t| *t == LeadTarget::Ignore, LeadTarget::describe)?;
    if !targets.iter().any(|t| matches!(t, LeadTarget::Field(Field::Email | Field::ExternalId))) {
        return Err(ImportError::Header {
            line: 1,
            message: format!(
                "no column names the lead: an email, or the lead's id in your CRM (map one with \
                 `\"Column\" = \"email\"` or `= \"external_id\"`); the file's columns: {}",
                header_list(&headers)
            ),
        });
    }
    let watched = |t: &LeadTarget, h: &str| match t {
        LeadTarget::Field(f) => f.is_numeric(),
        LeadTarget::CreatedAt | LeadTarget::OutcomeAt => true,
        LeadTarget::Custom(_) => mapping.value_type(h).is_none(),
        _ => false,
    };
    let mut stats: Vec<Option<ColumnStats>> =
        targets.iter().zip(&headers).map(|(t, h)| watched(t, h).then(ColumnStats::default)).collect();
    survey.survey(&mut stats, usize::MAX);
    drop(survey);

    let evidence = |keep: fn(&LeadTarget) -> bool| {
        targets.iter().zip(&stats).filter(move |(t, _)| keep(t)).filter_map(|(_, s)| s.as_ref())
    };
    let decimal = options
        .decimal
        .or_else(|| settle_decimal(evidence(|t| matches!(t, LeadTarget::Field(_) | LeadTarget::Custom(_))), delimiter));
    let date_order = options.date_order.or_else(|| settle_date_order(evidence(|_| true)));
    let numbers = NumberLocale { mark: decimal, comma_delimited: delimiter == b',' };

    let mut plan = Vec::with_capacity(targets.len());
    let mut columns = Vec::with_capacity(targets.len());
    for ((target, header), stat) in targets.into_iter().zip(&headers).zip(&stats) {
        let value_type = match &target {
            LeadTarget::Custom(name) => Some(mapping.value_type(header).unwrap_or_else(|| {
                infer(stat.as_ref().expect("custom columns without a type are surveyed"), name, numbers, date_order)
            })),
            _ => None,
        };
        columns.push(ColumnReport {
            header: header.clone(),
            target: match value_type {
                Some(ty) => format!("{} ({})", target.describe(), ty.name()),
                None => target.describe(),
            },
            ignored: (target == LeadTarget::Ignore).then(|| ignored_reason(mapping, header)),
        });
        plan.push((target, value_type));
    }
    rewind(&mut input)?;
    let (source, _, _) = open(input, encoding, Some(delimiter))?;
    let file = FileReport { encoding, not_utf8_at, delimiter: Some(delimiter), decimal, date_order, columns };
    Ok((plan, file, source))
}

fn infer(stats: &ColumnStats, name: &str, decimal: NumberLocale, order: Option<DateOrder>) -> ValueType {
    if stats.values == 0 || names_a_code(name) {
        ValueType::Text
    } else if stats.all_numbers() && stats.numbers_read_under(decimal) {
        ValueType::Number
    } else if stats.bools == stats.values {
        ValueType::Bool
    } else if stats.all_dates() && stats.dates_read_under(order) {
        ValueType::Date
    } else {
        ValueType::Text
    }
}

/// How many rows of an events file settle its date order.
const EVENT_SURVEY_ROWS: usize = 100_000;

pub(crate) fn plan_events<R: Read + Seek + 'static>(
    input: R,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<(Vec<EventTarget>, FileReport, CsvSource<Decoded<'static>>), ImportError> {
    let columns = DatedColumns {
        target: |h: &str, i| mapping.event_target(h, i),
        ignored: |t: &EventTarget| *t == EventTarget::Ignore,
        describe: |t: &EventTarget| match t {
            EventTarget::Property(name) => format!("property.{name}"),
            other => other.describe().to_string(),
        },
        needed: &[(EventTarget::Type, "the event's type"), (EventTarget::Ts, "the event's timestamp")],
        dated: |t: &EventTarget| *t == EventTarget::Ts,
        names_lead: |t: &EventTarget| {
            matches!(t, EventTarget::LeadId | EventTarget::ExternalId | EventTarget::Email | EventTarget::Identity)
        },
    };
    plan_dated(input, mapping, options, columns)
}

pub(crate) fn plan_changes<R: Read + Seek + 'static>(
    input: R,
    mapping: &ColumnMapping,
    options: &ReadOptions,
) -> Result<(Vec<ChangeTarget>, FileReport, CsvSource<Decoded<'static>>), ImportError> {
    let columns = DatedColumns {
        target: |h: &str, _| mapping.change_target(h),
        ignored: |t: &ChangeTarget| *t == ChangeTarget::Ignore,
        describe: |t: &ChangeTarget| t.describe().to_string(),
        needed: &[(ChangeTarget::At, "the change's time"), (ChangeTarget::To, "the stage the lead moved to")],
        dated: |t: &ChangeTarget| *t == ChangeTarget::At,
        names_lead: |t: &ChangeTarget| {
            matches!(t, ChangeTarget::LeadId | ChangeTarget::ExternalId | ChangeTarget::Email | ChangeTarget::Identity)
        },
    };
    plan_dated(input, mapping, options, columns)
}

/// How a file of dated records (events, stage changes) maps its columns.
struct DatedColumns<'n, T, F, I, D, A, L> {
    target: F,
    ignored: I,
    describe: D,
    /// Targets a column must go to, with how an error names them.
    needed: &'n [(T, &'static str)],
    /// The column whose dates settle the file's date order.
    dated: A,
    /// Targets that name the lead; one column must go to one.
    names_lead: L,
}

/// The columns of a file of dated records, its first rows surveyed for the order of day and
/// month in its dates.
fn plan_dated<R: Read + Seek + 'static, T: PartialEq>(
    mut input: R,
    mapping: &ColumnMapping,
    options: &ReadOptions,
    columns: DatedColumns<
        '_,
        T,
        impl Fn(&str, usize) -> Result<T, crate::MappingError>,
        impl Fn(&T) -> bool,
        impl Fn(&T) -> String,
        impl Fn(&T) -> bool,
        impl Fn(&T) -> bool,
    >,
) -> Result<(Vec<T>, FileReport, CsvSource<Decoded<'static>>), ImportError> {
    let (encoding, not_utf8_at) = encoding_of(&mut input, options)?;
    let (mut survey, headers, delimiter) = open(&mut input, encoding, options.delimiter)?;
    mapping.check_headers(headers.iter().map(String::as_str))?;
    let targets = headers.iter().enumerate().map(|(i, h)| (columns.target)(h, i)).collect::<Result<Vec<T>, _>>()?;
    check_distinct(&headers, &targets, &columns.ignored, &columns.describe)?;
    for (needed, what) in columns.needed {
        if !targets.contains(needed) {
            return Err(ImportError::Header {
                line: 1,
                message: format!(
                    "no column for {what} (map one with a mapping file); the file's columns: {}",
                    header_list(&headers)
                ),
            });
        }
    }
    if !targets.iter().any(&columns.names_lead) {
        return Err(ImportError::Header {
            line: 1,
            message: format!(
                "no column naming the lead (lead_id, the lead's id in your CRM, email, or identity); the file's columns: {}",
                header_list(&headers)
            ),
        });
    }
    let mut stats: Vec<Option<ColumnStats>> =
        targets.iter().map(|t| (columns.dated)(t).then(ColumnStats::default)).collect();
    let date_order = match options.date_order {
        Some(order) => Some(order),
        None => {
            survey.survey(&mut stats, EVENT_SURVEY_ROWS);
            settle_date_order(stats.iter().flatten())
        }
    };
    drop(survey);
    let columns = targets
        .iter()
        .zip(&headers)
        .map(|(t, h)| ColumnReport {
            header: h.clone(),
            target: (columns.describe)(t),
            ignored: (columns.ignored)(t).then(|| ignored_reason(mapping, h)),
        })
        .collect();
    rewind(&mut input)?;
    let (source, _, _) = open(input, encoding, Some(delimiter))?;
    let file = FileReport { encoding, not_utf8_at, delimiter: Some(delimiter), decimal: None, date_order, columns };
    Ok((targets, file, source))
}
