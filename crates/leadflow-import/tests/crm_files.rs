//! Files as CRMs and spreadsheets really write them: each fixture is the bytes the tool named
//! writes (byte order marks, CRLF, quoting, encodings, delimiters, locales), and each test checks
//! that what goes in is what the file says, or a located reason why not.

use std::io::Cursor;

use leadflow_core::{CustomValue, LifecycleStage, Timestamp};
use leadflow_engine::LeadInput;
use leadflow_import::{
    ColumnMapping, DateOrder, DecimalMark, Format, Import, ReadOptions, Row, TextEncoding, read_events, read_leads,
};

fn leads_with(bytes: &[u8], mapping: &str, options: &ReadOptions) -> Import<LeadInput> {
    let mapping = ColumnMapping::parse(mapping).unwrap();
    read_leads(Cursor::new(bytes.to_vec()), Format::Csv, &mapping, options).unwrap()
}

fn leads(bytes: &[u8]) -> (leadflow_import::FileReport, Vec<Row<LeadInput>>) {
    let import = leads_with(bytes, "", &ReadOptions::default());
    (import.file, import.rows.collect())
}

fn ok(row: &Row<LeadInput>) -> &LeadInput {
    row.parsed.as_ref().unwrap_or_else(|e| panic!("line {}: {e}", row.line))
}

fn custom<'a>(lead: &'a LeadInput, name: &str) -> Option<&'a CustomValue> {
    lead.profile.custom.get(name)
}

fn text(s: &str) -> Option<CustomValue> {
    Some(CustomValue::Text(s.into()))
}

fn at(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

/// HubSpot's contact export: UTF-8 with a byte order mark, CRLF, every field quoted, US dates
/// with 12-hour times, lifecycle stage labels, a company-size range, codes that look like numbers.
const HUBSPOT: &[u8] = b"\xef\xbb\xbf\"First Name\",\"Last Name\",\"Email\",\"Company\",\"Job Title\",\"Lifecycle Stage\",\"Lead Status\",\"Create Date\",\"Number of Employees\",\"Postal Code\",\"Phone Number\",\"Annual Revenue\"\r\n\
\"Ana\",\"Ruiz\",\"ana@acme.example\",\"Globex, Inc.\",\"VP Sales\",\"Marketing Qualified Lead\",\"Open\",\"03/15/2026 09:30 AM\",\"51-200\",\"02134\",\"5551234567\",\"1,500,000\"\r\n\
\"Ben\",\"Ode\",\"ben@acme.example\",\"Initech\",\"Head of\nOperations\",\"Evangelist\",\"\",\"03/04/2026\",\"250\",\"10001\",\"+1 555 0100\",\"\"\r\n\
\"Gus\",\"Fring\",\"Gus Fring <gus@pollos.example>\",\"Los Pollos\",\"Owner\",\"Other\",\"\",\"3/21/2026 9:15 PM\",\"\",\"87101\",\"\",\"\"\r\n\
\"Bad\",\"Row\",\"not an email\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\",\"\"\r\n";

#[test]
fn hubspot_export() {
    let (file, rows) = leads(HUBSPOT);
    assert_eq!(file.encoding, TextEncoding::Utf8);
    assert_eq!(file.delimiter, Some(b','));
    assert_eq!(file.date_order, Some(DateOrder::MonthFirst), "03/15/2026 settles the order for 03/04/2026");
    assert_eq!(rows.len(), 4);
    // Exact lines with CRLF and a quoted newline (Ben's title spans lines 3 and 4).
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3, 5, 6]);

    let ana = ok(&rows[0]);
    assert_eq!(ana.profile.company.as_deref(), Some("Globex, Inc."));
    assert_eq!(ana.profile.stage, LifecycleStage::Mql);
    assert_eq!(ana.created_at, Some(at("2026-03-15T09:30:00Z")));
    assert_eq!(ana.profile.annual_revenue, Some(1_500_000.0));
    assert_eq!(custom(ana, "postal_code"), text("02134").as_ref(), "a leading zero keeps a code text");
    assert_eq!(custom(ana, "phone_number"), text("5551234567").as_ref(), "a phone column is text");
    assert_eq!(custom(ana, "lead_status"), text("Open").as_ref());
    // The range is not a number: that field is left out with the reason, the lead goes in.
    assert_eq!(ana.profile.employees, None);
    assert_eq!(rows[0].warnings.len(), 1, "{:?}", rows[0].warnings);
    assert!(rows[0].warnings[0].contains("employees: `51-200` is a range"), "{:?}", rows[0].warnings);

    let ben = ok(&rows[1]);
    assert_eq!(ben.profile.job_title.as_deref(), Some("Head of\nOperations"));
    assert_eq!(ben.profile.stage, LifecycleStage::Customer);
    assert_eq!(ben.created_at, Some(at("2026-03-04")));
    assert_eq!(custom(ben, "phone_number"), text("+1 555 0100").as_ref());

    let gus = ok(&rows[2]);
    assert_eq!(gus.profile.email.as_ref().map(|e| e.as_str()), Some("gus@pollos.example"));
    assert_eq!(gus.created_at, Some(at("2026-03-21T21:15:00Z")));
    assert!(rows[2].warnings[0].contains("stage: `Other`"), "{:?}", rows[2].warnings);

    assert!(rows[3].parsed.as_ref().unwrap_err().contains("not an email"));
}

/// German Excel's "CSV (Trennzeichen-getrennt)": Windows-1252, semicolons, decimal commas,
/// thousands points, day-first dotted dates, headers with letters beyond ASCII.
const EXCEL_DE: &[u8] = b"Vorname;Nachname;E-Mail;Firma;Stra\xdfe;Soci\xe9t\xe9;Mitarbeiter;Umsatz;Erstellt am\r\n\
J\xfcrgen;M\xfcller;juergen@firma.example;M\xfcller GmbH;Hauptstra\xdfe 5;Oui;1.500;2.500,50;15.03.2026\r\n\
Eva;Klein;eva@firma.example;Klein AG;Ring 1;Non;80;12,75;04.03.2026\r\n";

#[test]
fn excel_german_windows_1252() {
    let (file, rows) = leads(EXCEL_DE);
    assert_eq!(file.encoding, TextEncoding::Windows1252);
    assert_eq!(file.not_utf8_at, Some(34), "the ß of Straße");
    assert_eq!(file.delimiter, Some(b';'));
    assert_eq!(file.decimal, Some(DecimalMark::Comma));
    assert_eq!(file.date_order, Some(DateOrder::DayFirst));
    let j = ok(&rows[0]);
    assert!(rows[0].warnings.is_empty(), "{:?}", rows[0].warnings);
    assert_eq!(j.profile.first_name.as_deref(), Some("Jürgen"));
    assert_eq!(j.profile.company.as_deref(), Some("Müller GmbH"));
    assert_eq!(custom(j, "straße"), text("Hauptstraße 5").as_ref());
    assert_eq!(custom(j, "société"), text("Oui").as_ref(), "non-ASCII headers are kept");
    assert_eq!(custom(j, "mitarbeiter"), Some(&CustomValue::Number(1500.0)));
    assert_eq!(custom(j, "umsatz"), Some(&CustomValue::Number(2500.5)));
    assert_eq!(custom(j, "erstellt_am"), Some(&CustomValue::Date(at("2026-03-15"))));
    let e = ok(&rows[1]);
    assert_eq!(custom(e, "umsatz"), Some(&CustomValue::Number(12.75)));
    assert_eq!(custom(e, "erstellt_am"), Some(&CustomValue::Date(at("2026-03-04"))));
    assert!(file.columns.iter().any(|c| c.header == "Société" && c.target == "custom.société (text)"));
}

/// Excel's "Unicode text": UTF-16LE with a byte order mark, tab-delimited.
#[test]
fn excel_unicode_text() {
    let text16: Vec<u8> = "\u{feff}Email\tJob Title\t职位\r\nli@corp.example\tCTO\t首席技术官\r\n"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    let (file, rows) = leads(&text16);
    assert_eq!(file.encoding, TextEncoding::Utf16Le);
    assert_eq!(file.delimiter, Some(b'\t'));
    let li = ok(&rows[0]);
    assert_eq!(li.profile.job_title.as_deref(), Some("CTO"));
    assert_eq!(custom(li, "职位"), text("首席技术官").as_ref());
}

/// Salesforce's lead report: `Lead ID` is the CRM's id (case matters), `Lead Status` mapped
/// onto leadflow's stages with the default table.
#[test]
fn salesforce_report() {
    let csv = b"Lead ID,First Name,Company,Lead Status\r\n00Q5g000001AbCd,Ana,Acme,Closed - Converted\r\n00Q5g000001ABCD,Ben,Initech,Open - Not Contacted\r\n00Q5g000001xyz1,Cid,Hooli,Closed - Not Converted\r\n";
    let import = leads_with(csv, "[columns]\n\"Lead Status\" = \"stage\"\n", &ReadOptions::default());
    let rows: Vec<_> = import.rows.collect();
    let ids: Vec<_> = rows.iter().map(|r| ok(r).profile.external_id.as_ref().map(|x| x.as_str())).collect();
    assert_eq!(ids, [Some("00Q5g000001AbCd"), Some("00Q5g000001ABCD"), Some("00Q5g000001xyz1")]);
    assert!(rows.iter().all(|r| ok(r).profile.email.is_none()), "no address is made up for a lead without one");
    assert!(rows.iter().all(|r| ok(r).id.is_none()), "a CRM's id is never leadflow's internal id");
    let stages: Vec<_> = rows.iter().map(|r| ok(r).profile.stage).collect();
    assert_eq!(stages, [LifecycleStage::Opportunity, LifecycleStage::Lead, LifecycleStage::Disqualified]);
}

#[test]
fn custom_columns_are_typed_by_all_their_values() {
    let csv = b"email,budget,mixed,zip,sku,active,seen,version\n\
                a@x.example,25000,12,02134,1001,yes,2026-01-02,1.2.3\n\
                b@x.example,\"1,500\",abc,10001,1002,no,2026-02-03,2.0\n\
                c@x.example,,7,,,,,\n";
    let (_, rows) = leads(csv);
    let a = ok(&rows[0]);
    assert_eq!(custom(a, "budget"), Some(&CustomValue::Number(25000.0)));
    assert_eq!(custom(ok(&rows[1]), "budget"), Some(&CustomValue::Number(1500.0)));
    assert_eq!(custom(a, "mixed"), text("12").as_ref(), "one text value makes the column text");
    assert_eq!(custom(ok(&rows[2]), "mixed"), text("7").as_ref());
    assert_eq!(custom(a, "zip"), text("02134").as_ref());
    assert_eq!(custom(ok(&rows[1]), "zip"), text("10001").as_ref(), "one leading zero keeps the column text");
    assert_eq!(custom(a, "sku"), text("1001").as_ref(), "codes stay text");
    assert_eq!(custom(a, "active"), Some(&CustomValue::Bool(true)));
    assert_eq!(custom(a, "seen"), Some(&CustomValue::Date(at("2026-01-02"))));
    assert_eq!(custom(a, "version"), text("1.2.3").as_ref());
    assert!(custom(ok(&rows[2]), "budget").is_none(), "empty is absent");
}

#[test]
fn a_mapping_names_a_columns_type() {
    let mapping = "[columns]\n\"Zip\" = { field = \"custom.zip\", type = \"text\" }\n\"Seats\" = { field = \"custom.seats\", type = \"number\" }\n\"Renewal\" = { field = \"custom.renewal\", type = \"date\" }\n";
    let import = leads_with(
        b"email,Zip,Seats,Renewal\na@x.example,2134,12,03/15/2026\nb@x.example,99501,a dozen,soon\n",
        mapping,
        &ReadOptions::default(),
    );
    let rows: Vec<_> = import.rows.collect();
    assert_eq!(custom(ok(&rows[0]), "zip"), text("2134").as_ref());
    assert_eq!(custom(ok(&rows[0]), "seats"), Some(&CustomValue::Number(12.0)));
    assert_eq!(custom(ok(&rows[0]), "renewal"), Some(&CustomValue::Date(at("2026-03-15"))));
    let b = &rows[1];
    assert_eq!(b.warnings.len(), 2, "{:?}", b.warnings);
    assert!(b.warnings[0].starts_with("custom.seats: `a dozen` is not a number"), "{:?}", b.warnings);
    assert!(b.warnings[1].starts_with("custom.renewal: `soon` is not a date"), "{:?}", b.warnings);
    assert!(ColumnMapping::parse("[columns]\n\"Zip\" = { field = \"custom.zip\", type = \"zipcode\" }\n").is_err());
    assert!(ColumnMapping::parse("[columns]\n\"Zip\" = { field = \"city\", type = \"text\" }\n").is_err());
}

#[test]
fn strict_rejects_the_row_instead() {
    let csv = b"email,employees\na@x.example,many\nb@x.example,12\n";
    let import = leads_with(csv, "", &ReadOptions { strict: true, ..ReadOptions::default() });
    let rows: Vec<_> = import.rows.collect();
    let err = rows[0].parsed.as_ref().unwrap_err();
    assert!(err.contains("employees: `many` is not a number") && err.ends_with("(--strict)"), "{err}");
    assert_eq!(ok(&rows[1]).profile.employees, Some(12.0));
}

#[test]
fn ambiguous_numbers_and_dates_need_a_word() {
    // Tab-delimited, nothing else in the file to settle `1.500` or `03/04/2026`.
    let csv = b"email\temployees\tcreated_at\na@x.example\t1.500\t03/04/2026\n";
    let (file, rows) = leads(csv);
    assert_eq!((file.decimal, file.date_order), (None, None));
    let w = &rows[0].warnings;
    assert!(w[0].contains("`1.500` is ambiguous") && w[0].contains("--decimal-comma"), "{w:?}");
    assert!(w[1].contains("`03/04/2026` is ambiguous") && w[1].contains("--date-format"), "{w:?}");
    let options = ReadOptions {
        decimal: Some(DecimalMark::Comma),
        date_order: Some(DateOrder::DayFirst),
        ..ReadOptions::default()
    };
    let rows: Vec<_> = leads_with(csv, "", &options).rows.collect();
    assert!(rows[0].warnings.is_empty(), "{:?}", rows[0].warnings);
    assert_eq!(ok(&rows[0]).profile.employees, Some(1500.0));
    assert_eq!(ok(&rows[0]).created_at, Some(at("2026-04-03")));
    // Told a decimal point, a decimal-comma value is refused with the reason, never misread.
    let options = ReadOptions { decimal: Some(DecimalMark::Point), ..ReadOptions::default() };
    let rows: Vec<_> = leads_with(b"email;annual_revenue\na@x.example;2.500,50\n", "", &options).rows.collect();
    assert!(rows[0].warnings[0].contains("decimal comma"), "{:?}", rows[0].warnings);
    // The probe's file: `2.500,50` settles the comma, and so `1.500` is fifteen hundred.
    let (file, rows) =
        leads(b"Email,Job Title,Number of Employees,Annual Revenue\nzed@x.example,CEO,\"1.500\",\"2.500,50\"\n");
    assert_eq!(file.decimal, Some(DecimalMark::Comma));
    assert_eq!(ok(&rows[0]).profile.employees, Some(1500.0));
    assert_eq!(ok(&rows[0]).profile.annual_revenue, Some(2500.5));
}

#[test]
fn file_problems_are_one_error_before_any_row() {
    let err = |csv: &[u8], mapping: &str| {
        let mapping = ColumnMapping::parse(mapping).unwrap();
        read_leads(Cursor::new(csv.to_vec()), Format::Csv, &mapping, &ReadOptions::default()).err().unwrap().to_string()
    };
    let e = err(b"First Name;Last Name\nAna;Ruiz\n", "");
    assert!(e.contains("no column names the lead") && e.contains("`First Name`, `Last Name`"), "{e}");
    let e = err(b"Work Email,Zip\na@x.example,1\n", "[columns]\n\"Work Emial\" = \"email\"\n");
    assert!(e.contains("`Work Emial`") && e.contains("`Work Email`, `Zip`"), "{e}");
    let e = err(b"Email,E-mail Address\na@x.example,b@x.example\n", "");
    assert!(e.contains("`Email` and `E-mail Address` both go to email"), "{e}");
}

#[test]
fn every_column_is_kept_or_reported() {
    let csv = b"email,Internal notes,,###,Budget (USD)\na@x.example,secret,x,y,10\n";
    let import = leads_with(csv, "[columns]\n\"Internal notes\" = \"ignore\"\n", &ReadOptions::default());
    let ignored: Vec<_> = import.file.ignored().map(|c| (c.header.clone(), c.ignored.clone().unwrap())).collect();
    assert_eq!(ignored, [("Internal notes".to_string(), "the mapping says so".to_string())]);
    let rows: Vec<_> = import.rows.collect();
    let a = ok(&rows[0]);
    assert_eq!(custom(a, "column_3"), text("x").as_ref());
    assert_eq!(custom(a, "column_4"), text("y").as_ref());
    assert_eq!(custom(a, "budget_usd"), Some(&CustomValue::Number(10.0)));
    let import = leads_with(csv, "unknown_columns = \"ignore\"\n", &ReadOptions::default());
    assert_eq!(import.file.ignored().count(), 4);
}

#[test]
fn an_encoding_can_be_forced() {
    let options = ReadOptions { encoding: Some(TextEncoding::Windows1252), ..ReadOptions::default() };
    // Valid UTF-8 too, but the user knows better: "Ã©" is what UTF-8 "é" reads as in Windows-1252.
    let rows: Vec<_> = leads_with("email,city\na@x.example,Orléans\n".as_bytes(), "", &options).rows.collect();
    assert_eq!(ok(&rows[0]).profile.city.as_deref(), Some("OrlÃ©ans"));
}

#[test]
fn json_lines_keep_the_types_they_were_sent_with() {
    let jsonl = "{\"email\":\"a@x.example\",\"employees\":\"1,200\",\"custom\":{\"zip\":\"02134\",\"seats\":12,\"vip\":true}}\n";
    let rows: Vec<_> =
        read_leads(Cursor::new(jsonl), Format::JsonLines, &ColumnMapping::default(), &ReadOptions::default())
            .unwrap()
            .rows
            .collect();
    let a = ok(&rows[0]);
    assert_eq!(custom(a, "zip"), text("02134").as_ref());
    assert_eq!(custom(a, "seats"), Some(&CustomValue::Number(12.0)));
    assert_eq!(custom(a, "vip"), Some(&CustomValue::Bool(true)));
    assert!(rows[0].warnings[0].contains("`1,200` is ambiguous"), "{:?}", rows[0].warnings);
}

#[test]
fn event_exports_with_crm_headers_and_local_dates() {
    let csv = b"Activity ID,Email,Activity Type,Activity Date,Page\r\nA-1,ana@acme.example,page_view,15/03/2026 10:00,/pricing\r\nA-2,ana@acme.example,page_view,04/03/2026 11:00,/\r\n";
    let import =
        read_events(Cursor::new(csv.to_vec()), Format::Csv, &ColumnMapping::default(), &ReadOptions::default())
            .unwrap();
    assert_eq!(import.file.date_order, Some(DateOrder::DayFirst));
    let rows: Vec<_> = import.rows.collect();
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 3]);
    let e = rows[1].parsed.as_ref().unwrap();
    assert_eq!(e.key.as_ref().unwrap().as_str(), "A-2", "an activity id is the event's idempotency key");
    assert_eq!(e.ts, at("2026-03-04T11:00:00Z"));
    assert_eq!(e.shape.property("page"), Some("/"));
}

/// A CRM export that names one person twice (in another case): both rows go onto one lead, and
/// the second says so.
#[test]
fn a_person_named_twice_is_said() {
    let (_, rows) = leads(b"Email,First Name,Job Title\nDana.White@Hooli.example,Dana,CTO\ndana.white@hooli.example,Eve,Intern\nben@hooli.example,Ben,\n");
    assert!(rows[0].warnings.is_empty() && rows[2].warnings.is_empty());
    assert_eq!(
        rows[1].warnings,
        ["names the same lead as line 2 (dana.white@hooli.example): its fields were merged onto that lead"]
    );
    // By the CRM's id too, whose case matters; and by either key when a row has both.
    let (_, rows) = leads(
        b"Lead ID,Email
00Q5gA,
00Q5ga,
00Q5gA,dana@hooli.example
,dana@hooli.example
",
    );
    let warned: Vec<bool> = rows.iter().map(|r| !r.warnings.is_empty()).collect();
    assert_eq!(warned, [false, false, true, true]);
    assert!(rows[2].warnings[0].contains("line 2 (external id 00Q5gA)"), "{:?}", rows[2].warnings);
    assert!(rows[3].warnings[0].contains("line 4 (dana@hooli.example)"), "{:?}", rows[3].warnings);
}

/// Blank lines anywhere (before the header, between rows, at the end), a quote inside an
/// unquoted value: the types, the header and every line number stay right.
#[test]
fn blank_lines_and_stray_quotes() {
    let csv = b"\r\n\r\nDeal Size,email,Monitor\r\n1500,a@x.example,27\" wide\r\n\r\n2000,b@x.example,24\" wide\r\n\r\n3000,bad,x\r\n\r\n";
    let (_, rows) = leads(csv);
    assert_eq!(rows.iter().map(|r| r.line).collect::<Vec<_>>(), [4, 6, 8]);
    assert_eq!(custom(ok(&rows[0]), "deal_size"), Some(&CustomValue::Number(1500.0)), "blank lines are no values");
    assert_eq!(custom(ok(&rows[1]), "monitor"), text("24\" wide").as_ref());
    assert!(rows[2].parsed.is_err());
}
