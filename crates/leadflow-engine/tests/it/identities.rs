//! A lead is reached through every identity it has: events, imports, upserts and tracking that
//! name it by a second email, another system's id or a phone find it, and never make a second
//! lead; who may change a lead may change its identities.

use std::sync::Arc;

use leadflow_core::{Actor, Email, EventShape, EventType, ExternalId, Identity, LeadRef, Profile, Role, Timestamp};
use leadflow_engine::{Engine, EngineError, EventInput, FixedClock, LeadInput, TrackOutcome};
use leadflow_sqlite::SqliteStore;
use leadflow_store::prelude::*;
use leadflow_store::{ChangeCause, ChangeOrigin};

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn identity(text: &str) -> Identity {
    Identity::parse(text).unwrap()
}

fn input(profile: Profile) -> LeadInput {
    LeadInput::of(profile)
}

fn event(lead: LeadRef, ts: &str) -> EventInput {
    EventInput { key: None, lead, ts: t(ts), shape: EventShape::new(EventType::parse("page_view").unwrap()) }
}

const ADMIN: Actor<'static> = Actor { role: Role::Admin, name: "" };

fn engine(dir: &tempfile::TempDir) -> Engine<SqliteStore> {
    let clock = Arc::new(FixedClock::new(t("2026-06-01T09:00:00Z")));
    let mut engine = Engine::new(SqliteStore::open(&dir.path().join("lf.db")).unwrap(), clock);
    engine.ensure_model().unwrap();
    engine
}

#[test]
fn every_way_in_finds_the_lead_through_any_of_its_identities() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&dir);
    let email = Email::parse("ana@acme.example").unwrap();
    let mut ana = Profile::new(email.clone());
    ana.company = Some("Acme".into());
    let id = engine.upsert_lead(input(ana)).unwrap().scored.lead;
    let ana = LeadRef::Id(id);
    for text in ["email:ana.home@example.net", "salesforce:00Q5g000004XyZ1", "phone:+442079460958", "external:CRM-7"] {
        assert!(engine.add_identity_as(&ADMIN, &ana, &identity(text)).unwrap(), "{text}");
    }
    assert!(!engine.add_identity_as(&ADMIN, &ana, &identity("email:ana.home@example.net")).unwrap(), "had it");

    // A single event, a batch and an import of events, by each of them.
    let by: Vec<LeadRef> = ["email:ana.home@example.net", "salesforce:00Q5g000004XyZ1", "phone:+442079460958"]
        .iter()
        .map(|text| identity(text).into())
        .collect();
    for (i, lead) in by.iter().enumerate() {
        match engine.track(event(lead.clone(), &format!("2026-05-0{}T10:00:00Z", i + 1))).unwrap() {
            TrackOutcome::Accepted { scored, created_lead } => assert!(scored.lead == id && !created_lead, "{lead}"),
            TrackOutcome::Duplicate { .. } => panic!("a new event"),
        }
    }
    let batch = engine.track_batch(by.iter().map(|l| event(l.clone(), "2026-05-10T10:00:00Z")).collect()).unwrap();
    assert_eq!(batch.items.len(), 3);
    let imported = engine.import_events(by.iter().map(|l| event(l.clone(), "2026-05-11T10:00:00Z")).collect()).unwrap();
    assert_eq!((imported.accepted, imported.created_leads, imported.rejected.len()), (3, 0, 0));
    assert_eq!(engine.store().stats().unwrap().leads, 1, "no second lead");
    assert_eq!(engine.store().events_of(id, 100).unwrap().len(), 9);

    // An unknown phone or system id creates nobody, and says why.
    let unknown = LeadRef::from(identity("phone:+14155552671"));
    let err = engine.track(event(unknown.clone(), "2026-05-12T10:00:00Z")).unwrap_err();
    assert!(matches!(err, EngineError::UnknownIdentity(_)), "{err}");
    let report = engine.import_events(vec![event(unknown, "2026-05-12T10:00:00Z")]).unwrap();
    assert_eq!((report.accepted, report.rejected.len()), (0, 1));
    assert!(report.rejected[0].1.contains("phone +14155552671"), "{}", report.rejected[0].1);

    // A CRM row naming the lead by its second email updates it and keeps its own email; one
    // naming it by its second external id too.
    let mut row = Profile::new(Email::parse("ana.home@example.net").unwrap());
    row.job_title = Some("CTO".into());
    let crm = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    let report = engine.import_leads(&[input(row)], &crm).unwrap();
    assert_eq!((report.created_leads, report.updated_leads), (0, 1));
    let mut row = Profile::with_external_id(ExternalId::parse("CRM-7").unwrap());
    row.city = Some("London".into());
    engine.upsert_lead(input(row)).unwrap();
    let lead = engine.store().lead(&ana).unwrap().unwrap();
    assert_eq!(lead.profile.email.as_ref(), Some(&email), "its own email is kept");
    let crm_7 = Some(ExternalId::parse("CRM-7").unwrap());
    assert_eq!(lead.profile.external_id, crm_7, "with no external id of its own, the one it is named by becomes it");
    assert_eq!((lead.profile.job_title.as_deref(), lead.profile.city.as_deref()), (Some("CTO"), Some("London")));
    assert_eq!(engine.store().stats().unwrap().leads, 1);

    // A new email by the lead's id becomes its own, and the old one still reaches it.
    let mut moved = Profile::new(Email::parse("ana@newco.example").unwrap());
    moved.company = Some("NewCo".into());
    engine.upsert_lead(LeadInput { id: Some(id), ..input(moved) }).unwrap();
    let listed = engine.identities(&LeadRef::Email(email.clone())).unwrap();
    let own: Vec<String> =
        listed.identities.iter().filter(|(_, own)| *own).map(|(i, _)| i.identity.to_string()).collect();
    assert_eq!(own, ["email:ana@newco.example", "external:CRM-7"]);
    // Given with its id, one of its second emails becomes its own again.
    engine.upsert_lead(LeadInput { id: Some(id), ..input(Profile::new(email.clone())) }).unwrap();
    assert_eq!(engine.store().lead(&ana).unwrap().unwrap().profile.email.as_ref(), Some(&email));
    assert_eq!(listed.identities.len(), 6);
    assert_eq!(engine.store().verify().unwrap(), Vec::<String>::new());
}

#[test]
fn identities_are_one_leads_and_changed_by_who_may_change_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&dir);
    let mut ana = Profile::new(Email::parse("ana@acme.example").unwrap());
    ana.owner = Some("sam".into());
    let ana = engine.upsert_lead(input(ana)).unwrap().scored.lead;
    let ben = engine.upsert_lead(input(Profile::new(Email::parse("ben@acme.example").unwrap()))).unwrap().scored.lead;
    let (ana, ben) = (LeadRef::Id(ana), LeadRef::Id(ben));

    let err = engine.add_identity_as(&ADMIN, &ben, &identity("email:ana@acme.example")).unwrap_err();
    assert!(err.to_string().contains("belongs to lead"), "{err}");
    assert!(matches!(err, EngineError::KeyTaken { .. }), "{err:?}");
    let err = engine.remove_identity_as(&ADMIN, &ana, &identity("email:ana@acme.example")).unwrap_err();
    assert!(matches!(err, EngineError::OwnIdentity(_)), "{err:?}");
    assert!(err.to_string().contains("change the lead's email"), "{err}");
    let err =
        engine.add_identity_as(&ADMIN, &LeadRef::Id(leadflow_core::LeadId(999)), &identity("phone:+442079460958"));
    assert!(matches!(err, Err(EngineError::NoSuchLead(_))), "{err:?}");

    // A rep changes the identities of their own leads only.
    let sam = Actor { role: Role::Sales, name: "sam" };
    assert!(engine.add_identity_as(&sam, &ana, &identity("phone:+442079460958")).unwrap());
    let err = engine.add_identity_as(&sam, &ben, &identity("phone:+14155552671")).unwrap_err();
    assert!(matches!(err, EngineError::Refused(_)), "{err:?}");
    let err = engine.remove_identity_as(&sam, &ben, &identity("email:ben@acme.example")).unwrap_err();
    assert!(matches!(err, EngineError::Refused(_)), "{err:?}");
    let ingest = Actor { role: Role::Ingest, name: "site" };
    assert!(engine.identities(&ana).is_ok(), "reads are the caller's to allow");
    assert!(matches!(engine.add_identity_as(&ingest, &ana, &identity("hubspot:1")), Err(EngineError::Refused(_))));
    assert!(engine.remove_identity_as(&sam, &ana, &identity("phone:+442079460958")).unwrap());
    assert!(!engine.remove_identity_as(&sam, &ana, &identity("phone:+442079460958")).unwrap());

    // A second email given up by one lead can be another's.
    assert!(engine.add_identity_as(&ADMIN, &ana, &identity("email:shared@acme.example")).unwrap());
    assert!(engine.add_identity_as(&ADMIN, &ben, &identity("email:shared@acme.example")).is_err());
    assert!(engine.remove_identity_as(&ADMIN, &ana, &identity("email:shared@acme.example")).unwrap());
    assert!(engine.add_identity_as(&ADMIN, &ben, &identity("email:shared@acme.example")).unwrap());
    let created = engine.upsert_lead(input(Profile::new(Email::parse("shared@acme.example").unwrap()))).unwrap();
    assert!(!created.created, "the address reaches ben, and makes no new lead");
    assert_eq!(LeadRef::Id(created.scored.lead), ben);
}

#[test]
fn an_import_gives_its_rows_identities_and_refuses_a_row_whose_identity_is_another_leads() {
    let dir = tempfile::tempdir().unwrap();
    let mut engine = engine(&dir);
    let row = |email: &str, identities: &[&str]| LeadInput {
        identities: identities.iter().map(|i| identity(i)).collect(),
        ..input(Profile::new(Email::parse(email).unwrap()))
    };
    let crm = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    let report = engine
        .import_leads(
            &[
                row("ana@acme.example", &["phone:+442079460958", "salesforce:S-1", "email:ana@acme.example"]),
                row("ben@acme.example", &[]),
                // Another lead's phone: the row is refused, and nothing of it is written.
                row("cid@acme.example", &["salesforce:S-3", "phone:+442079460958"]),
                // Ana again, by her phone's row: her identities grow.
                row("ana@acme.example", &["hubspot:7"]),
            ],
            &crm,
        )
        .unwrap();
    assert_eq!((report.created_leads, report.updated_leads), (2, 1), "{report:?}");
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    assert_eq!(report.rejected[0].0, 2);
    assert!(report.rejected[0].1.contains("phone:+442079460958 is lead 1's"), "{}", report.rejected[0].1);
    let store = engine.store();
    assert_eq!(store.lead(&identity("salesforce:S-3").into()).unwrap(), None, "the refused row left nothing");
    assert_eq!(store.lead(&identity("email:cid@acme.example").into()).unwrap(), None);
    let ana = store.lead(&identity("hubspot:7").into()).unwrap().unwrap();
    let listed: Vec<String> = store.identities_of(ana.id).unwrap().iter().map(|i| i.identity.to_string()).collect();
    assert_eq!(listed, ["email:ana@acme.example", "hubspot:7", "phone:+442079460958", "salesforce:S-1"]);
    assert_eq!(store.verify().unwrap(), Vec::<String>::new());
}
