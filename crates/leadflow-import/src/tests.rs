use super::*;
use leadflow_core::Timestamp;

fn leads(csv: &str, mapping: &ColumnMapping) -> Vec<Row<LeadInput>> {
    read_leads(std::io::Cursor::new(csv.to_string()), Format::Csv, mapping, &ReadOptions::default())
        .unwrap()
        .rows
        .collect()
}

#[test]
fn crm_headers_and_bad_rows() {
    let csv = "Lead ID,E-mail Address,First Name,Job Title,No. of Employees,Lead Source,Budget,Created Date\n\
               7,Ana@Example.com,Ana,CTO,\"1,200\",webinar,5000,2026-01-02\n\
               8,not-an-email,Ben,,,,,\n\
               9,cid@example.com,Cid,,many,,,\n\
               10,dee@example.com,Dee\n\
               \n\
               11,eve@example.com,Eve,Intern,3,,,2026-02-03T04:05:06Z\n";
    let rows = leads(csv, &ColumnMapping::default());
    assert_eq!(rows.len(), 5);
    let ana = rows[0].parsed.as_ref().unwrap();
    assert_eq!(ana.id, None);
    assert_eq!(ana.profile.external_id.as_ref().map(|x| x.as_str()), Some("7"));
    assert_eq!(ana.profile.email.as_ref().map(|e| e.as_str()), Some("ana@example.com"));
    assert_eq!(ana.profile.employees, Some(1200.0));
    assert_eq!(ana.profile.source.as_deref(), Some("webinar"));
    assert_eq!(ana.profile.custom.get("budget"), Some(&CustomValue::Number(5000.0)));
    assert_eq!(ana.created_at, Some(Timestamp::parse("2026-01-02").unwrap()));
    let errors: Vec<(u64, String)> =
        rows.iter().filter_map(|r| r.parsed.as_ref().err().map(|e| (r.line, e.clone()))).collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, 3);
    assert!(errors[0].1.contains("not-an-email"), "{errors:?}");
    assert_eq!(errors[1].0, 5);
    assert!(errors[1].1.contains("fields"), "{errors:?}");
    // A bad field leaves that field out, with a warning; the lead goes in.
    let cid = &rows[2];
    assert_eq!(cid.line, 4);
    assert_eq!(cid.parsed.as_ref().unwrap().profile.employees, None);
    assert!(cid.warnings[0].contains("employees: `many` is not a number"), "{:?}", cid.warnings);
    assert_eq!(rows[4].line, 7);
    assert!(rows[4].parsed.is_ok());
}

#[test]
fn mapping_files() {
    let m = ColumnMapping::parse(
        "unknown_columns = \"error\"\n[columns]\n\"Contact\" = \"email\"\n\"Seats\" = \"custom.seats\"\n\"Notes\" = \"ignore\"\n",
    )
    .unwrap();
    let rows = leads("Contact,Seats,Notes\nx@y.co,12,hello\n", &m);
    let lead = rows[0].parsed.as_ref().unwrap();
    assert_eq!(lead.profile.custom.get("seats"), Some(&CustomValue::Number(12.0)));
    assert_eq!(lead.profile.custom.len(), 1);
    let err = read_leads(std::io::Cursor::new("Contact,Seats,Notes,Other\n"), Format::Csv, &m, &ReadOptions::default())
        .err()
        .unwrap();
    assert!(err.to_string().contains("`Other`"), "{err}");
    assert!(ColumnMapping::parse("[columns]\nx = 1\n").is_err());
    assert!(ColumnMapping::parse("unknown_columns = \"maybe\"\n").is_err());
    let bad = ColumnMapping::parse("[columns]\n\"A\" = \"jobtitle\"\n").unwrap();
    assert!(bad.lead_target("A", 0).is_err());
}

#[test]
fn events_from_csv_and_json_lines() {
    let csv = "event_id,lead_id,type,url,ts\n1,899,page_view,/pricing,2025-07-01T00:02:35Z\n2,,page_view,/,2025-07-01T00:00:00Z\n3,5,Bad Type,,2025-07-01\n";
    let rows: Vec<_> =
        read_events(std::io::Cursor::new(csv), Format::Csv, &ColumnMapping::default(), &ReadOptions::default())
            .unwrap()
            .rows
            .collect();
    let e = rows[0].parsed.as_ref().unwrap();
    assert_eq!(e.key.as_ref().unwrap().as_str(), "1");
    assert_eq!(e.lead, LeadRef::Id(LeadId(899)));
    assert_eq!(e.shape.property("url"), Some("/pricing"));
    assert!(rows[1].parsed.as_ref().unwrap_err().contains("no lead"));
    assert!(rows[2].parsed.as_ref().unwrap_err().contains("event type"));

    let jsonl = "{\"email\":\"A@b.co\",\"type\":\"email_click\",\"ts\":\"2026-01-01T00:00:00Z\",\"properties\":{\"campaign\":\"spring\",\"n\":3}}\n\
                 \n\
                 not json\n\
                 {\"email\":\"a@b.co\",\"type\":\"form_submitted\",\"ts\":\"2026-01-01\",\"properties\":{\"deep\":{\"x\":1}}}\n";
    let rows: Vec<_> =
        read_events(std::io::Cursor::new(jsonl), Format::JsonLines, &ColumnMapping::default(), &ReadOptions::default())
            .unwrap()
            .rows
            .collect();
    assert_eq!(rows.len(), 3);
    let e = rows[0].parsed.as_ref().unwrap();
    assert_eq!(e.key, None);
    assert_eq!(e.shape.property("campaign"), Some("spring"));
    assert_eq!(e.shape.property("n"), Some("3"));
    assert_eq!(rows[1].line, 3);
    assert!(rows[1].parsed.as_ref().unwrap_err().contains("invalid JSON"));
    assert!(rows[2].parsed.as_ref().unwrap_err().contains("`properties.deep`"));
}

#[test]
fn events_name_their_lead_by_an_identity_column() {
    let csv = "identity,email,type,ts\n\
               salesforce:00Q5g000004XyZ1,ana@acme.example,call,2026-01-01T00:00:00Z\n\
               phone:+44 20 7946 0958,,call,2026-01-01T00:00:00Z\n\
               ,ben@acme.example,call,2026-01-01T00:00:00Z\n\
               phone:12,,call,2026-01-01T00:00:00Z\n\
               00Q5g,,call,2026-01-01T00:00:00Z\n";
    let rows: Vec<_> =
        read_events(std::io::Cursor::new(csv), Format::Csv, &ColumnMapping::default(), &ReadOptions::default())
            .unwrap()
            .rows
            .collect();
    let lead = |i: usize| rows[i].parsed.as_ref().map(|e| e.lead.to_string());
    assert_eq!(lead(0).unwrap(), "lead with salesforce id 00Q5g000004XyZ1", "an identity is stronger than an email");
    assert_eq!(lead(1).unwrap(), "lead with phone +442079460958");
    assert_eq!(lead(2).unwrap(), "lead ben@acme.example");
    assert!(lead(3).unwrap_err().starts_with("identity: `12` is not a phone number"), "{:?}", lead(3));
    assert!(lead(4).unwrap_err().contains("kind:value"), "{:?}", lead(4));
    let mapped = ColumnMapping::parse("[columns]\n\"Phone\" = \"identity\"\n").unwrap();
    let rows: Vec<_> = read_events(
        std::io::Cursor::new("Phone,type,ts\nphone:+14155552671,call,2026-01-01\n"),
        Format::Csv,
        &mapped,
        &ReadOptions::default(),
    )
    .unwrap()
    .rows
    .collect();
    assert_eq!(rows[0].parsed.as_ref().unwrap().lead.to_string(), "lead with phone +14155552671");
}

#[test]
fn identity_columns_give_a_lead_more_identities_and_warn_of_bad_ones() {
    let mapping = ColumnMapping::parse(
        "phone_region = \"GB\"\n[columns]\n\"Mobile\" = \"identity.phone\"\n\"Other emails\" = \"identity.email\"\n\"SFDC\" = \"identity.salesforce\"\n",
    )
    .unwrap();
    let csv = "Email,Mobile,Other emails,SFDC\n\
               ana@acme.example,020 7946 0958,ana@home.example; a.b@old.example ,00Q5g000004XyZ1\n\
               ben@acme.example,12,not-an-email,\n";
    let rows: Vec<_> =
        read_leads(std::io::Cursor::new(csv), Format::Csv, &mapping, &ReadOptions::default()).unwrap().rows.collect();
    let ana = rows[0].parsed.as_ref().unwrap();
    let given: Vec<String> = ana.identities.iter().map(ToString::to_string).collect();
    assert_eq!(
        given,
        ["phone:+442079460958", "email:ana@home.example", "email:a.b@old.example", "salesforce:00Q5g000004XyZ1"]
    );
    assert!(rows[0].warnings.is_empty(), "{:?}", rows[0].warnings);
    let ben = rows[1].parsed.as_ref().unwrap();
    assert!(ben.identities.is_empty(), "the lead goes in without them");
    assert_eq!(rows[1].warnings.len(), 2, "{:?}", rows[1].warnings);
    assert!(rows[1].warnings[0].starts_with("identity.phone: `12` is not a phone number"), "{:?}", rows[1].warnings);
    for bad in ["[columns]\nx = \"identity.Salesforce\"\n", "[columns]\nx = \"identity.visitor\"\n"] {
        assert!(ColumnMapping::parse(bad).unwrap().lead_target("x", 0).is_err(), "{bad}");
    }
    assert!(ColumnMapping::parse("phone_region = \"XX\"\n").is_err());
}

#[test]
fn events_need_type_time_and_lead_columns() {
    let err = read_events(
        std::io::Cursor::new("email,ts\n"),
        Format::Csv,
        &ColumnMapping::default(),
        &ReadOptions::default(),
    )
    .err()
    .unwrap();
    assert!(err.to_string().contains("type"), "{err}");
    let err =
        read_events(std::io::Cursor::new("type,ts\n"), Format::Csv, &ColumnMapping::default(), &ReadOptions::default())
            .err()
            .unwrap();
    assert!(err.to_string().contains("no column naming the lead"), "{err}");
}
