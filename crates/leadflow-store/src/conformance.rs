//! The behaviour every [`Store`] backend must have. A backend's tests expand
//! [`conformance_tests!`](crate::conformance_tests) with a function that makes a fresh, empty
//! store: one test per check.

use leadflow_core::{
    Email, EventKey, EventShape, EventType, ExternalId, Grade, Identity, LeadId, LeadRef, LifecycleStage, Outcome,
    OutcomeKind, Profile, Role, Timestamp, Topic, VisitorId,
};

use crate::*;

mod nurture;
pub use nurture::*;

/// One `#[test]` per check of this suite, each on a fresh store: `$fresh` makes one, as a pair
/// of the store and whatever must live as long as it (its temporary directory, say).
///
/// ```ignore
/// leadflow_store::conformance_tests!(|| { let dir = tempfile::tempdir().unwrap(); (open(dir.path()), dir) });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@checks $fresh;
            shapes_keep_only_the_properties_rules_read,
            leads_round_trip,
            unique_emails_and_ids,
            leads_named_by_external_ids,
            a_lead_is_reached_through_each_of_its_identities,
            an_identity_names_one_lead_whatever_its_place,
            batched_lookups_and_writes_agree_with_one_at_a_time,
            events_are_idempotent_and_ordered,
            dropped_transactions_leave_nothing,
            scores_states_and_staleness,
            history_and_mql,
            models_are_versioned,
            rule_files_are_versioned_per_kind_and_name,
            leads_keep_their_place_in_a_pipeline,
            reports_scan_every_lead_with_its_place_changes_in_time_order,
            touches_are_read_from_shapes_and_from_what_events_set_aside,
            history_entries_are_appended_at_their_times_and_read_back_by_lead,
            users_round_trip_and_assignment_keeps_its_rotation,
            tasks_are_listed_soonest_first_and_change_state,
            a_lead_is_in_a_sequence_once_at_a_time_and_its_exits_are_kept,
            due_enrollments_are_read_soonest_first_and_move_on_once_per_run,
            a_send_is_planned_once_per_run_and_kept_with_what_went_out,
            what_came_back_of_sends_is_counted_per_step_variant_and_template,
            the_do_not_contact_list_keeps_one_entry_per_address_and_channel,
            sla_clocks_run_until_met_or_stopped_and_count_compliance,
            listing_filters_and_orders,
            scans_visit_what_needs_rescoring,
            a_scan_write_leaves_alone_what_changed_since_the_scan,
            deleting_a_lead_erases_everything,
            bulk_inserts_join_per_lead_reads_when_finished,
            api_keys_are_found_by_hash_until_revoked,
            notifications_fan_out_to_subscribed_webhooks,
            claims_go_to_one_sender_until_their_lease_ends,
            jobs_are_queued_once_per_key_and_claimed_when_due,
            a_job_claimed_again_after_its_lease_cannot_be_finished_by_the_first_claimer,
            lanes_keep_their_order_and_pools_their_share,
            visitors_gather_events_until_identified,
            public_quota_is_per_lead_per_day_and_expires,
            outcomes_are_kept_replaced_and_erased,
            changes_are_logged_in_order_with_their_values,
            trained_models_and_predictions,
        );
    };
    (@checks $fresh:expr; $($check:ident,)*) => {
        $(
            #[test]
            fn $check() {
                let (mut store, _keep) = ($fresh)();
                $crate::conformance::$check(&mut store);
            }
        )*
    };
}

/// The store the checks' events (which have a `url`) need: one that keeps `url` in shapes, as
/// if a model's rules read it.
fn keeping_url<S: Store>(s: &mut S) {
    let mut tx = s.begin().unwrap();
    tx.keep_properties(&["url".to_string()].into()).unwrap();
    tx.commit().unwrap();
}

fn t(s: &str) -> Timestamp {
    Timestamp::parse(s).unwrap()
}

fn profile(email: &str) -> Profile {
    let mut p = Profile::new(Email::parse(email).unwrap());
    p.first_name = Some("Ana".into());
    p.job_title = Some("CTO".into());
    p.employees = Some(250.0);
    p.custom.insert("plan".into(), leadflow_core::CustomValue::Text("pro".into()));
    p.custom.insert("seats".into(), leadflow_core::CustomValue::Number(12.0));
    p
}

fn add_lead<S: Store>(s: &mut S, email: &str) -> LeadId {
    let mut tx = s.begin().unwrap();
    let id = tx.insert_lead(None, &profile(email), t("2026-01-01"), t("2026-01-02")).unwrap();
    tx.commit().unwrap();
    id
}

fn shape(kind: &str, url: &str) -> EventShape {
    EventShape::new(EventType::parse(kind).unwrap()).with_property("url", url).unwrap()
}

fn event(key: &str, lead: LeadId, ts: &str, kind: &str, url: &str) -> NewEvent {
    NewEvent { key: EventKey::parse(key).unwrap(), lead, ts: t(ts), shape: shape(kind, url) }
}

fn values(total: f64, bucket: &str) -> ScoreValues {
    ScoreValues { fit: 10.0, engagement: total - 10.0, total, bucket: bucket.into(), grade: Grade::C }
}

fn score_write(lead: LeadId, model: ModelVersion, total: f64, bucket: &str) -> ScoreWrite {
    ScoreWrite {
        lead,
        score: StoredScore {
            model_version: model,
            as_of: t("2026-07-01"),
            values: values(total, bucket),
            stale: false,
            recorded_total: None,
        },
        state: StateWrite::Set(vec![1, 2, 3]),
        history: None,
        mql_at: None,
        notifications: Vec::new(),
        changes: Vec::new(),
    }
}

/// Scores written as a unit of work does (an event's), holding the leads.
fn set_scores<S: Store>(s: &mut S, writes: &[ScoreWrite]) {
    let mut tx = s.begin().unwrap();
    tx.write_score_batch(writes).unwrap();
    tx.commit().unwrap();
}

/// What one scan of every lead reads of `lead`.
fn scanned<S: Store>(s: &mut S, lead: LeadId) -> RescoreItem {
    let mut found = None;
    let request = ScanRequest { scope: ScanScope::All, states_of: None, batch: 100 };
    s.scan_for_rescore(request, &mut |_, items| {
        found = found.take().or_else(|| items.into_iter().find(|i| i.id == lead));
        Ok(())
    })
    .unwrap();
    found.expect("the scan visits the lead")
}

pub fn leads_round_trip<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    let by_id = s.lead(&LeadRef::Id(id)).unwrap().expect("lead by id");
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.resolve_lead(&LeadRef::Id(id)).unwrap(), Some(id));
    assert_eq!(tx.resolve_lead(&LeadRef::Email(Email::parse("ana@example.com").unwrap())).unwrap(), Some(id));
    assert_eq!(tx.resolve_lead(&LeadRef::Id(LeadId(999_999))).unwrap(), None);
    drop(tx);
    let by_email = s.lead(&LeadRef::Email(Email::parse("ANA@example.com").unwrap())).unwrap().expect("lead by email");
    assert_eq!(by_id, by_email);
    assert_eq!(by_id.profile, profile("ana@example.com"));
    assert_eq!(by_id.created_at, t("2026-01-01"));
    assert_eq!(by_id.updated_at, t("2026-01-02"));
    assert_eq!(by_id.score, None, "a new lead has no score");
    assert_eq!(s.stats().unwrap().stale_leads, 1, "a new lead awaits its first score");
    assert_eq!(by_id.mql_at, None);

    let mut changed = by_id.profile.clone();
    changed.country = Some("DE".into());
    changed.stage = LifecycleStage::Sql;
    let mut tx = s.begin().unwrap();
    tx.update_profile(id, &changed, t("2026-02-01")).unwrap();
    tx.set_stage(id, LifecycleStage::Opportunity, t("2026-02-02")).unwrap();
    assert!(matches!(tx.update_profile(LeadId(999_999), &changed, t("2026-02-01")), Err(StoreError::NoSuchLead(_))));
    tx.commit().unwrap();
    let after = s.lead(&LeadRef::Id(id)).unwrap().unwrap();
    assert_eq!(after.profile.country.as_deref(), Some("DE"));
    assert_eq!(after.profile.stage, LifecycleStage::Opportunity);
    assert_eq!(after.updated_at, t("2026-02-02"));
    assert!(s.lead(&LeadRef::Id(LeadId(999_999))).unwrap().is_none());
    let mut tx = s.begin().unwrap();
    tx.set_created_at(id, t("2025-01-01")).unwrap();
    assert!(matches!(tx.set_created_at(LeadId(9_999), t("2025-01-01")), Err(StoreError::NoSuchLead(_))));
    tx.commit().unwrap();
    assert_eq!(s.lead(&LeadRef::Id(id)).unwrap().unwrap().created_at, t("2025-01-01"));
    assert_eq!(s.custom_field_names().unwrap().into_iter().collect::<Vec<_>>(), ["plan", "seats"]);
    let mut with_custom = Profile::new(Email::parse("cid@example.com").unwrap());
    with_custom.custom.insert("budget".into(), leadflow_core::CustomValue::Number(5.0));
    with_custom.custom.insert("société".into(), leadflow_core::CustomValue::Text("x".into()));
    let mut tx = s.begin().unwrap();
    tx.insert_lead(None, &with_custom, t("2026-01-01"), t("2026-01-01")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.custom_field_names().unwrap().into_iter().collect::<Vec<_>>(), ["budget", "plan", "seats", "société"]);
}

pub fn unique_emails_and_ids<S: Store>(s: &mut S) {
    keeping_url(s);
    // An id is never given again, even the highest one after its lead is deleted: webhooks
    // already sent, exports and CRMs hold it.
    let gone = add_lead(s, "gone@example.com");
    let mut tx = s.begin().unwrap();
    tx.delete_lead(gone).unwrap();
    tx.commit().unwrap();
    let id = add_lead(s, "ana@example.com");
    assert!(id > gone, "{id} after deleting {gone}");
    let mut tx = s.begin().unwrap();
    let err = tx.insert_lead(None, &profile("ana@example.com"), t("2026-01-01"), t("2026-01-01")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEmail(_)), "{err:?}");
    let err = tx.insert_lead(Some(id), &profile("ben@example.com"), t("2026-01-01"), t("2026-01-01")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateId(_)), "{err:?}");
    let chosen =
        tx.insert_lead(Some(LeadId(4242)), &profile("cid@example.com"), t("2026-01-01"), t("2026-01-01")).unwrap();
    assert_eq!(chosen, LeadId(4242));
    tx.commit().unwrap();
    assert_eq!(s.stats().unwrap().leads, 2);
    // A generated id after a chosen one never meets it.
    let next = add_lead(s, "dan@example.com");
    assert!(next > chosen, "{next} after the chosen {chosen}");
}

fn identity(text: &str) -> Identity {
    Identity::parse(text).unwrap()
}

/// Every identity of a lead, its profile's keys among them, names it in every lookup; a
/// profile's key that changes stays the lead's; deleting the lead frees them all.
pub fn a_lead_is_reached_through_each_of_its_identities<S: Store>(s: &mut S) {
    let ana = add_lead(s, "ana@example.com");
    let ben = add_lead(s, "ben@example.com");
    let mut tx = s.begin().unwrap();
    for (text, new) in [
        ("email:ana.private@example.net", true),
        ("salesforce:00Q5g000004XyZ1", true),
        ("hubspot:00Q5g000004XyZ1", true),
        ("phone:+442079460958", true),
        ("email:ana@example.com", false),
    ] {
        assert_eq!(tx.add_identity(ana, &identity(text), t("2026-02-01")).unwrap(), new, "{text}");
    }
    let err = tx.add_identity(LeadId(999_999), &identity("email:nobody@example.com"), t("2026-02-01")).unwrap_err();
    assert!(matches!(err, StoreError::NoSuchLead(_)), "{err:?}");
    tx.commit().unwrap();
    let refs: Vec<LeadRef> = [
        "email:ana.private@example.net",
        "salesforce:00Q5g000004XyZ1",
        "hubspot:00Q5g000004XyZ1",
        "phone:+442079460958",
        "email:ana@example.com",
        "salesforce:00q5g000004xyz1",
        "email:ben@example.com",
    ]
    .iter()
    .map(|text| identity(text).into())
    .collect();
    let expected = [Some(ana), Some(ana), Some(ana), Some(ana), Some(ana), None, Some(ben)];
    for (r, want) in refs.iter().zip(expected) {
        assert_eq!(s.lead(r).unwrap().map(|l| l.id), want, "{r}");
    }
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.resolve_leads(&refs).unwrap(), expected);
    let named: Vec<Option<LeadId>> = tx.leads_named(&refs).unwrap().into_iter().map(|l| l.map(|l| l.id)).collect();
    assert_eq!(named, expected);
    for (r, want) in refs.iter().zip(expected) {
        assert_eq!(tx.resolve_lead(r).unwrap(), want, "{r}");
        assert_eq!(LeadWrites::lead(&mut tx, r).unwrap().map(|l| l.id), want, "{r}");
    }
    drop(tx);
    let kinds: Vec<String> = s.identities_of(ana).unwrap().iter().map(|i| i.identity.to_string()).collect();
    assert_eq!(
        kinds,
        [
            "email:ana.private@example.net",
            "email:ana@example.com",
            "hubspot:00Q5g000004XyZ1",
            "phone:+442079460958",
            "salesforce:00Q5g000004XyZ1"
        ]
    );
    assert_eq!(s.identities_of(ana).unwrap()[0].added_at, t("2026-02-01"));
    // Free text finds a lead by any of its identities too.
    for (text, want) in [("ana.private", ana), ("2079460958", ana), ("00q5g000004", ana), ("ben@", ben)] {
        assert_eq!(listed(s, LeadQuery { text: Some(text.into()), ..LeadQuery::default() }), [want], "{text}");
    }

    // A new primary email: the lead keeps the old one, and is reached through both.
    let mut tx = s.begin().unwrap();
    let mut p = LeadWrites::lead(&mut tx, &LeadRef::Id(ana)).unwrap().unwrap().profile;
    p.email = Some(Email::parse("ana@acme.example").unwrap());
    p.external_id = Some(ExternalId::parse("CRM-1").unwrap());
    tx.update_profile(ana, &p, t("2026-03-01")).unwrap();
    tx.commit().unwrap();
    for text in ["email:ana@acme.example", "email:ana@example.com", "external:CRM-1"] {
        assert_eq!(s.lead(&identity(text).into()).unwrap().map(|l| l.id), Some(ana), "{text}");
    }
    assert_eq!(s.lead(&LeadRef::Id(ana)).unwrap().unwrap().profile.email, p.email);

    let mut tx = s.begin().unwrap();
    assert!(tx.remove_identity(ana, &identity("phone:+442079460958")).unwrap());
    assert!(!tx.remove_identity(ana, &identity("phone:+442079460958")).unwrap());
    assert!(!tx.remove_identity(ben, &identity("salesforce:00Q5g000004XyZ1")).unwrap(), "not ben's");
    tx.commit().unwrap();
    assert_eq!(s.lead(&identity("phone:+442079460958").into()).unwrap(), None);
    assert_eq!(s.verify().unwrap(), Vec::<String>::new());

    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert!(s.identities_of(ana).unwrap().is_empty());
    assert_eq!(s.verify().unwrap(), Vec::<String>::new(), "no identity of a deleted lead is left");
    let again = add_lead(s, "ana.private@example.net");
    let mut tx = s.begin().unwrap();
    assert!(tx.add_identity(again, &identity("salesforce:00Q5g000004XyZ1"), t("2026-04-01")).unwrap());
    tx.commit().unwrap();
}

/// One identity names one lead: a lead's primary email is no other lead's second one, and the
/// other way round, in single writes and in bulk; a refused write leaves nothing behind.
pub fn an_identity_names_one_lead_whatever_its_place<S: Store>(s: &mut S) {
    let ana = add_lead(s, "ana@example.com");
    let ben = add_lead(s, "ben@example.com");
    let mut tx = s.begin().unwrap();
    tx.add_identity(ana, &identity("email:shared@example.com"), t("2026-02-01")).unwrap();
    tx.add_identity(ana, &identity("salesforce:S-1"), t("2026-02-01")).unwrap();
    let err = tx.add_identity(ben, &identity("email:ana@example.com"), t("2026-02-01")).unwrap_err();
    assert!(matches!(&err, StoreError::IdentityTaken { lead, .. } if *lead == ana), "{err:?}");
    let err = tx.add_identity(ben, &identity("salesforce:S-1"), t("2026-02-01")).unwrap_err();
    assert!(matches!(&err, StoreError::IdentityTaken { lead, .. } if *lead == ana), "{err:?}");
    // Ana's second email is nobody's first.
    let err = tx.insert_lead(None, &profile("shared@example.com"), t("2026-02-01"), t("2026-02-01")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEmail(_)), "{err:?}");
    let mut p = LeadWrites::lead(&mut tx, &LeadRef::Id(ben)).unwrap().unwrap().profile;
    p.email = Some(Email::parse("shared@example.com").unwrap());
    let err = tx.update_profile(ben, &p, t("2026-02-01")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateEmail(_)), "{err:?}");
    // An external id free and an email taken: the write takes neither.
    let mut both = profile("shared@example.com");
    both.external_id = Some(ExternalId::parse("FREE-1").unwrap());
    assert!(tx.insert_lead(None, &both, t("2026-02-01"), t("2026-02-01")).is_err());
    let mut p = LeadWrites::lead(&mut tx, &LeadRef::Id(ben)).unwrap().unwrap().profile;
    p.external_id = Some(ExternalId::parse("FREE-2").unwrap());
    p.email = Some(Email::parse("shared@example.com").unwrap());
    assert!(tx.update_profile(ben, &p, t("2026-02-01")).is_err());
    // In bulk: the lead whose key is taken stays out, the others go in.
    let fresh = profile("cid@example.com");
    let taken = profile("shared@example.com");
    let mut half = profile("dan@example.com");
    half.external_id = Some(ExternalId::parse("FREE-3").unwrap());
    half.email = Some(Email::parse("ana@example.com").unwrap());
    let new: Vec<NewLead<'_>> = [&fresh, &taken, &half]
        .into_iter()
        .map(|p| NewLead { id: None, profile: p, created_at: t("2026-02-01") })
        .collect();
    let ids = tx.insert_leads(&new, t("2026-02-01")).unwrap();
    assert!(ids[0].is_some() && ids[1].is_none() && ids[2].is_none(), "{ids:?}");
    tx.commit().unwrap();
    for free in ["external:FREE-1", "external:FREE-2", "external:FREE-3"] {
        assert_eq!(s.lead(&identity(free).into()).unwrap(), None, "{free} was given back");
    }
    assert_eq!(s.lead(&identity("email:shared@example.com").into()).unwrap().map(|l| l.id), Some(ana));
    assert_eq!(s.lead(&LeadRef::Id(ben)).unwrap().unwrap().profile.email.unwrap().as_str(), "ben@example.com");
    assert_eq!(s.stats().unwrap().leads, 3);
    assert_eq!(s.verify().unwrap(), Vec::<String>::new());
    // Freed by its lead, an identity can name another.
    let mut tx = s.begin().unwrap();
    assert!(tx.remove_identity(ana, &identity("email:shared@example.com")).unwrap());
    let mut p = LeadWrites::lead(&mut tx, &LeadRef::Id(ben)).unwrap().unwrap().profile;
    p.email = Some(Email::parse("shared@example.com").unwrap());
    tx.update_profile(ben, &p, t("2026-02-02")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.lead(&identity("email:shared@example.com").into()).unwrap().map(|l| l.id), Some(ben));
    assert_eq!(s.lead(&identity("email:ben@example.com").into()).unwrap().map(|l| l.id), Some(ben));
}

/// What a batch looks up and writes together is what one call a row would give, in order, and
/// a lead whose key is taken is left out of a bulk insert without failing its transaction.
pub fn batched_lookups_and_writes_agree_with_one_at_a_time<S: Store>(s: &mut S) {
    keeping_url(s);
    let ana = add_lead(s, "ana@example.com");
    let crm = {
        let mut p = Profile::with_external_id(ExternalId::parse("00Q5gA").unwrap());
        p.company = Some("Acme".into());
        let mut tx = s.begin().unwrap();
        let id = tx.insert_lead(None, &p, t("2026-01-01"), t("2026-01-01")).unwrap();
        tx.commit().unwrap();
        id
    };
    let refs = [
        LeadRef::External(ExternalId::parse("00Q5gA").unwrap()),
        LeadRef::Email(Email::parse("nobody@example.com").unwrap()),
        LeadRef::Id(ana),
        LeadRef::External(ExternalId::parse("00q5ga").unwrap()),
        LeadRef::Email(Email::parse("ANA@example.com").unwrap()),
        LeadRef::Id(ana),
        LeadRef::Id(LeadId(999_999)),
    ];
    let mut tx = s.begin().unwrap();
    let one_by_one: Vec<_> = refs.iter().map(|r| tx.lead(r).unwrap()).collect();
    assert_eq!(tx.leads_named(&refs).unwrap(), one_by_one);
    let ids: Vec<_> = one_by_one.iter().map(|l| l.as_ref().map(|l| l.id)).collect();
    assert_eq!(ids, [Some(crm), None, Some(ana), None, Some(ana), Some(ana), None]);
    assert_eq!(tx.resolve_leads(&refs).unwrap(), ids);
    assert_eq!(tx.leads_named(&[]).unwrap(), []);

    // A bulk insert: new leads in order, each with its stale score row; a taken key is `None`.
    let (ben, taken, cid) = (profile("ben@example.com"), profile("ana@example.com"), {
        let mut p = Profile::with_external_id(ExternalId::parse("00Q5gC").unwrap());
        p.employees = Some(12.0);
        p.custom.insert("plan".into(), leadflow_core::CustomValue::Text("pro".into()));
        p
    });
    let new = [
        NewLead { id: None, profile: &ben, created_at: t("2025-05-05") },
        NewLead { id: None, profile: &taken, created_at: t("2025-05-05") },
        NewLead { id: None, profile: &cid, created_at: t("2025-06-06") },
    ];
    let inserted = tx.insert_leads(&new, t("2026-03-03")).unwrap();
    assert_eq!(inserted[1], None, "ana's email is taken");
    let (ben_id, cid_id) = (inserted[0].expect("ben went in"), inserted[2].expect("cid went in"));
    assert!(ben_id < cid_id && ben_id > crm, "ids in order: {inserted:?}");
    // The transaction goes on after a taken key, and the leads are as sent.
    tx.mark_stale(ana).unwrap();
    let stored = tx.lead(&LeadRef::Id(cid_id)).unwrap().unwrap();
    assert_eq!((stored.profile, stored.created_at, stored.updated_at), (cid, t("2025-06-06"), t("2026-03-03")));
    assert_eq!(tx.insert_leads(&[], t("2026-03-03")).unwrap(), []);
    // Chosen ids: a taken one is `None`, and a generated id after them never meets them.
    let (dan, eve, fay) = (profile("dan@example.com"), profile("eve@example.com"), profile("fay@example.com"));
    let chosen = tx
        .insert_leads(
            &[
                NewLead { id: Some(LeadId(7_000)), profile: &dan, created_at: t("2025-05-05") },
                NewLead { id: Some(ana), profile: &eve, created_at: t("2025-05-05") },
            ],
            t("2026-03-03"),
        )
        .unwrap();
    assert_eq!(chosen, [Some(LeadId(7_000)), None]);
    let after = tx.insert_leads(&[NewLead { id: None, profile: &fay, created_at: t("2025-05-05") }], t("2026-03-03"));
    assert!(after.unwrap()[0].expect("fay went in") > LeadId(7_000));

    // Score states and score writes of a batch.
    let v1 = ModelVersion(1);
    tx.write_score_batch(&[score_write(ana, v1, 42.0, "warm"), score_write(ben_id, v1, 7.0, "cold")]).unwrap();
    let leads = [ben_id, cid_id, ana];
    let one_by_one: Vec<_> = leads.iter().map(|l| tx.score_state(*l, v1).unwrap()).collect();
    assert_eq!(one_by_one, [Some(vec![1, 2, 3]), None, Some(vec![1, 2, 3])]);
    assert_eq!(tx.score_states(&leads, v1).unwrap(), one_by_one);
    assert_eq!(tx.score_states(&leads, ModelVersion(2)).unwrap(), [None, None, None]);
    assert!(matches!(
        tx.write_score_batch(&[score_write(LeadId(999_999), v1, 1.0, "cold")]),
        Err(StoreError::NoSuchLead(_))
    ));
    drop(tx);
    let mut tx = s.begin().unwrap();
    tx.insert_leads(&[NewLead { id: None, profile: &ben, created_at: t("2025-05-05") }], t("2026-03-03")).unwrap();
    tx.commit().unwrap();
    let stats = s.stats().unwrap();
    assert_eq!((stats.leads, stats.stale_leads), (3, 3), "a dropped bulk insert left nothing");
}

/// A CRM's lead without an email is stored without one, found by its external id, which is
/// unique and kept with its case: two ids that differ only by case are two leads.
pub fn leads_named_by_external_ids<S: Store>(s: &mut S) {
    keeping_url(s);
    let external = |id: &str| ExternalId::parse(id).unwrap();
    let only_id = |id: &str| {
        let mut p = Profile::with_external_id(external(id));
        p.company = Some("Acme".into());
        p
    };
    let mut tx = s.begin().unwrap();
    let upper = tx.insert_lead(None, &only_id("00Q5g000004XyZA"), t("2026-01-01"), t("2026-01-01")).unwrap();
    let lower = tx.insert_lead(None, &only_id("00Q5g000004XyZa"), t("2026-01-01"), t("2026-01-01")).unwrap();
    assert_ne!(upper, lower);
    let err = tx.insert_lead(None, &only_id("00Q5g000004XyZA"), t("2026-01-01"), t("2026-01-01")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateExternalId(ref x) if x == "00Q5g000004XyZA"), "{err:?}");
    let mut both = profile("ana@example.com");
    both.external_id = Some(external("0042"));
    let ana = tx.insert_lead(None, &both, t("2026-01-01"), t("2026-01-01")).unwrap();
    assert_eq!(tx.resolve_lead(&LeadRef::External(external("00Q5g000004XyZa"))).unwrap(), Some(lower));
    assert_eq!(tx.resolve_lead(&LeadRef::External(external("42"))).unwrap(), None, "ids are text, not numbers");
    let mut taken = only_id("00Q5g000004XyZa");
    taken.email = Some(Email::parse("ben@example.com").unwrap());
    let err = tx.update_profile(upper, &taken, t("2026-01-02")).unwrap_err();
    assert!(matches!(err, StoreError::DuplicateExternalId(_)), "{err:?}");
    tx.commit().unwrap();

    let found = s.lead(&LeadRef::External(external("00Q5g000004XyZA"))).unwrap().expect("by external id");
    assert_eq!((found.id, &found.profile), (upper, &only_id("00Q5g000004XyZA")));
    assert_eq!(found.profile.email, None);
    assert_eq!(s.lead(&LeadRef::Email(Email::parse("ana@example.com").unwrap())).unwrap().unwrap().id, ana);
    assert_eq!(s.lead(&LeadRef::External(external("0042"))).unwrap().unwrap().profile, both);
    let q = LeadQuery { text: Some("xyza".into()), ..LeadQuery::default() };
    assert_eq!(listed(s, q).len(), 2, "text search finds external ids");

    // Given an email later, the lead keeps its id and its external id.
    let mut named = only_id("00Q5g000004XyZA");
    named.email = Some(Email::parse("cid@example.com").unwrap());
    let mut tx = s.begin().unwrap();
    tx.update_profile(upper, &named, t("2026-01-03")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.lead(&LeadRef::Email(Email::parse("cid@example.com").unwrap())).unwrap().unwrap().id, upper);
}

/// A property no rule reads (a session id) stays out of shapes, so that one unique per event does
/// not make a shape of each; events keep it all the same, and `model check` knows it. Once a
/// model reads it, the events that have it are reshaped, their leads marked stale, and new
/// events keep it too; a rolled-back keep changes nothing.
pub fn shapes_keep_only_the_properties_rules_read<S: Store>(s: &mut S) {
    let lead = add_lead(s, "ana@example.com");
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.keep_properties(&["url".to_string()].into()).unwrap(), 0, "nothing to reshape yet");
    let now = t("2026-07-01");
    let visit = |key: &str, day: u32, session: &str| {
        let shape = shape("page_view", "/pricing").with_property("session_id", session).unwrap();
        NewEvent { key: EventKey::parse(key).unwrap(), lead, ts: t(&format!("2026-06-{day:02}")), shape }
    };
    for (i, session) in ["s-1", "s-2", "s-3"].iter().enumerate() {
        assert_eq!(tx.insert_event(&visit(&format!("v{i}"), i as u32 + 1, session), now).unwrap(), Inserted::New);
    }
    let visitor = VisitorId::parse("visitor-0001").unwrap();
    let anonymous = AnonymousEvent {
        key: EventKey::parse("anon-1").unwrap(),
        visitor: visitor.clone(),
        ts: t("2026-06-05"),
        shape: shape("page_view", "/docs").with_property("session_id", "s-9").unwrap(),
    };
    assert_eq!(tx.insert_anonymous(&anonymous, now).unwrap(), Inserted::New);
    tx.commit().unwrap();
    assert_eq!(s.shapes().unwrap().len(), 2, "one shape per url, whatever the sessions");
    assert!(s.activity(lead).unwrap().iter().all(|(_, sh)| *sh == shape("page_view", "/pricing")));
    let sent: Vec<Option<String>> =
        s.events_of(lead, 10).unwrap().iter().map(|e| e.shape.property("session_id").map(String::from)).collect();
    assert_eq!(sent, [Some("s-3".into()), Some("s-2".into()), Some("s-1".into())], "what was sent is kept");
    let known = s.event_properties().unwrap();
    assert_eq!(known["page_view"], ["session_id".to_string(), "url".to_string()].into());

    let mut tx = s.begin().unwrap();
    assert_eq!(tx.keep_properties(&["session_id".to_string()].into()).unwrap(), 4);
    drop(tx);
    assert_eq!(s.shapes().unwrap().len(), 2, "a rolled-back keep leaves the shapes as they were");

    let mut tx = s.begin().unwrap();
    tx.write_score(&score_write(lead, ModelVersion(1), 50.0, "warm")).unwrap();
    assert_eq!(tx.keep_properties(&["session_id".to_string(), "url".to_string()].into()).unwrap(), 4);
    assert_eq!(tx.keep_properties(&["session_id".to_string()].into()).unwrap(), 0, "kept already");
    let sessions: Vec<Option<String>> =
        tx.activity_of(lead).unwrap().iter().map(|(_, sh)| sh.property("session_id").map(String::from)).collect();
    assert_eq!(sessions, [Some("s-1".into()), Some("s-2".into()), Some("s-3".into())]);
    tx.insert_event(&visit("v9", 9, "s-4"), now).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.lead(&LeadRef::Id(lead)).unwrap().unwrap().score.map(|sc| sc.stale), Some(true));
    assert_eq!(s.activity(lead).unwrap()[3].1.property("session_id"), Some("s-4"));
    let mut tx = s.begin().unwrap();
    let gathered = tx.identify_visitor(&visitor, lead, now).unwrap();
    assert_eq!(gathered[0].shape.property("session_id"), Some("s-9"), "anonymous events were reshaped too");
    tx.commit().unwrap();
}

pub fn events_are_idempotent_and_ordered<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    let mut tx = s.begin().unwrap();
    let now = t("2026-07-01");
    assert_eq!(tx.insert_event(&event("e2", id, "2026-06-02", "page_view", "/pricing"), now).unwrap(), Inserted::New);
    assert_eq!(tx.insert_event(&event("e1", id, "2026-06-01", "page_view", "/pricing"), now).unwrap(), Inserted::New);
    assert_eq!(tx.insert_event(&event("e3", id, "2026-06-03", "email_open", ""), now).unwrap(), Inserted::New);
    // The same key again changes nothing, even with other contents; for another lead, it says so.
    assert_eq!(
        tx.insert_event(&event("e1", id, "2026-06-05", "demo_requested", ""), now).unwrap(),
        Inserted::Duplicate
    );
    let other = tx.insert_lead(None, &profile("ben@example.com"), t("2026-01-01"), t("2026-01-01")).unwrap();
    assert_eq!(
        tx.insert_event(&event("e1", other, "2026-06-01", "page_view", "/pricing"), now).unwrap(),
        Inserted::OtherLead(id)
    );
    assert_eq!(
        tx.insert_event(&event("e1", other, "2026-06-09", "email_open", ""), now).unwrap(),
        Inserted::OtherLead(id)
    );
    let activity = tx.activity_of(id).unwrap();
    assert_eq!(
        activity.iter().map(|(ts, _)| *ts).collect::<Vec<_>>(),
        [t("2026-06-01"), t("2026-06-02"), t("2026-06-03")]
    );
    assert_eq!(activity[0].1, shape("page_view", "/pricing"));
    tx.commit().unwrap();
    assert_eq!(s.activity(id).unwrap(), activity, "the same read outside a transaction, once committed");

    let events = s.events_of(id, 10).unwrap();
    assert_eq!(events.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["e3", "e2", "e1"], "newest first");
    assert_eq!(events[1].shape, shape("page_view", "/pricing"));
    assert_eq!(events[0].received_at, now);
    assert_eq!(s.events_of(id, 1).unwrap().len(), 1);
    // Two events of one shape share it.
    assert_eq!(s.shapes().unwrap().len(), 2);
    assert_eq!(s.stats().unwrap().events, 3);
}

pub fn dropped_transactions_leave_nothing<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    {
        let mut tx = s.begin().unwrap();
        tx.insert_lead(None, &profile("ghost@example.com"), t("2026-01-01"), t("2026-01-01")).unwrap();
        tx.insert_event(&event("x1", id, "2026-06-01", "webinar_attended", ""), t("2026-07-01")).unwrap();
        // Dropped without commit.
    }
    assert!(s.lead(&LeadRef::Email(Email::parse("ghost@example.com").unwrap())).unwrap().is_none());
    assert!(s.events_of(id, 10).unwrap().is_empty());
    assert!(s.shapes().unwrap().is_empty());
    // The shape the dropped transaction interned is interned again, for real.
    let mut tx = s.begin().unwrap();
    assert_eq!(
        tx.insert_event(&event("x1", id, "2026-06-01", "webinar_attended", ""), t("2026-07-01")).unwrap(),
        Inserted::New
    );
    tx.commit().unwrap();
    assert_eq!(s.shapes().unwrap().len(), 1);
    assert_eq!(s.events_of(id, 10).unwrap()[0].shape, shape("webinar_attended", ""));
}

pub fn scores_states_and_staleness<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    let v1 = ModelVersion(1);
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.score_state(id, v1).unwrap(), None);
    tx.write_score(&score_write(id, v1, 42.0, "warm")).unwrap();
    assert_eq!(tx.score_state(id, v1).unwrap(), Some(vec![1, 2, 3]));
    assert_eq!(tx.score_state(id, ModelVersion(2)).unwrap(), None, "a state is only for its model");
    // A write can keep the state, or clear it.
    let mut keep = score_write(id, v1, 43.0, "warm");
    keep.state = StateWrite::Keep;
    tx.write_score(&keep).unwrap();
    assert_eq!(tx.score_state(id, v1).unwrap(), Some(vec![1, 2, 3]));
    let mut clear = keep.clone();
    clear.state = StateWrite::Clear;
    tx.write_score(&clear).unwrap();
    assert_eq!(tx.score_state(id, v1).unwrap(), None);
    tx.write_score(&score_write(id, v1, 43.0, "warm")).unwrap();
    assert!(matches!(tx.write_score(&score_write(LeadId(999_999), v1, 1.0, "cold")), Err(StoreError::NoSuchLead(_))));
    tx.commit().unwrap();

    let lead = s.lead(&LeadRef::Id(id)).unwrap().unwrap();
    let score = lead.score.unwrap();
    assert_eq!(score.values, values(43.0, "warm"));
    assert_eq!(score.model_version, v1);
    assert!(!score.stale);

    let mut tx = s.begin().unwrap();
    tx.mark_stale(id).unwrap();
    assert_eq!(tx.score_state(id, v1).unwrap(), None, "a stale state is not used");
    tx.commit().unwrap();
    assert!(s.lead(&LeadRef::Id(id)).unwrap().unwrap().score.unwrap().stale);
    assert_eq!(s.stats().unwrap().stale_leads, 1);

    let mut seen = Vec::new();
    s.for_each_score(&mut |lead, score| seen.push((lead, score.values.total))).unwrap();
    assert_eq!(seen, [(id, 43.0)]);
}

pub fn history_and_mql<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    let v1 = ModelVersion(1);
    let mut first = score_write(id, v1, 50.0, "warm");
    first.history = Some(HistoryEntry {
        at: t("2026-06-01"),
        cause: Cause::Import,
        model_version: v1,
        before: None,
        after: values(50.0, "warm"),
        became_mql: false,
    });
    let mut second = score_write(id, v1, 85.0, "hot");
    second.history = Some(HistoryEntry {
        at: t("2026-06-02"),
        cause: Cause::Event(EventKey::parse("demo-1").unwrap()),
        model_version: v1,
        before: Some(values(50.0, "warm")),
        after: values(85.0, "hot"),
        became_mql: true,
    });
    second.mql_at = Some(t("2026-06-02"));
    set_scores(s, &[first, second]);
    let history = s.history_of(id, 10).unwrap();
    assert_eq!(history.len(), 2);
    assert_eq!(history[0].cause, Cause::Event(EventKey::parse("demo-1").unwrap()), "newest first");
    assert_eq!(history[0].before, Some(values(50.0, "warm")));
    assert!(history[0].became_mql);
    assert_eq!(history[1].before, None);
    assert_eq!(s.lead(&LeadRef::Id(id)).unwrap().unwrap().mql_at, Some(t("2026-06-02")));
    // Every lead's recorded scores, as recorded, buckets as names: what reports read.
    let mut names = leadflow_core::report::Names::default();
    let points: Vec<(LeadId, Timestamp, f64, String)> = s
        .score_points(&mut names)
        .unwrap()
        .into_iter()
        .map(|(lead, p)| (lead, p.at, p.total, names.resolve(p.bucket).to_string()))
        .collect();
    assert_eq!(points, [(id, t("2026-06-01"), 50.0, "warm".into()), (id, t("2026-06-02"), 85.0, "hot".into())]);

    // MQL is recorded once: a later qualifying score does not move it.
    let mut again = score_write(id, v1, 90.0, "hot");
    again.mql_at = Some(t("2026-06-09"));
    set_scores(s, &[again]);
    assert_eq!(s.lead(&LeadRef::Id(id)).unwrap().unwrap().mql_at, Some(t("2026-06-02")));
    assert_eq!(s.stats().unwrap().mqls, 1);
    let mut tx = s.begin().unwrap();
    tx.clear_mql(id).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.lead(&LeadRef::Id(id)).unwrap().unwrap().mql_at, None);
}

/// What attribution reads of events: a page view's `url` and a campaign (`campaign` before
/// `utm_campaign`), kept in the shape or set aside, up to an instant, from ordinary and bulk
/// writes alike; other events are not touches.
pub fn touches_are_read_from_shapes_and_from_what_events_set_aside<S: Store>(s: &mut S) {
    use leadflow_core::report::Names;
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let with = |kind: &str, properties: &[(&str, &str)]| {
        let mut shape = EventShape::new(EventType::parse(kind).unwrap());
        for (name, value) in properties {
            shape.set_property(name, value).unwrap();
        }
        shape
    };
    let new =
        |key: &str, lead, ts: &str, shape| NewEvent { key: EventKey::parse(key).unwrap(), lead, ts: t(ts), shape };
    let mut tx = s.begin().unwrap();
    tx.insert_event(
        &new("a1", ana, "2026-03-01", with("page_view", &[("url", "/pricing"), ("utm_campaign", "spring")])),
        t("2026-03-01"),
    )
    .unwrap();
    tx.insert_event(
        &new("a2", ana, "2026-03-02", with("email_click", &[("campaign", "webinar"), ("utm_campaign", "no")])),
        t("2026-03-02"),
    )
    .unwrap();
    tx.insert_event(&new("a3", ana, "2026-03-03", with("demo_requested", &[("session", "x")])), t("2026-03-03"))
        .unwrap();
    tx.insert_event(&new("a4", ana, "2026-09-01", with("page_view", &[("url", "/later")])), t("2026-09-01")).unwrap();
    tx.commit().unwrap();
    // A model reads `campaign` from now on: the webinar click is reshaped, and so is what comes.
    let mut tx = s.begin().unwrap();
    tx.keep_properties(&["campaign".to_string()].into()).unwrap();
    tx.commit().unwrap();
    let mut tx = s.begin_bulk().unwrap();
    tx.insert_events(
        &[new("b1", bo, "2026-03-05", with("form_submitted", &[("campaign", "partner")]))],
        t("2026-03-05"),
    )
    .unwrap();
    tx.insert_events(&[new("b2", bo, "2026-03-06", with("page_view", &[]))], t("2026-03-06")).unwrap();
    tx.commit().unwrap();
    let mut names = Names::default();
    let mut touches = Vec::new();
    s.scan_touches(t("2026-06-01"), &mut names, &mut |lead, touch| touches.push((lead, *touch))).unwrap();
    let mut read: Vec<(LeadId, Timestamp, Option<String>, Option<String>)> = touches
        .iter()
        .map(|(lead, touch)| {
            let name = |n: Option<leadflow_core::report::Name>| n.map(|n| names.resolve(n).to_string());
            (*lead, touch.at, name(touch.page), name(touch.campaign))
        })
        .collect();
    read.sort_by_key(|(lead, at, ..)| (*lead, *at));
    let some = |s: &str| Some(s.to_string());
    assert_eq!(
        read,
        [
            (ana, t("2026-03-01"), some("/pricing"), some("spring")),
            (ana, t("2026-03-02"), None, some("webinar")),
            (bo, t("2026-03-05"), None, some("partner")),
        ]
    );
}

pub fn models_are_versioned<S: Store>(s: &mut S) {
    keeping_url(s);
    assert!(s.active_model().unwrap().is_none());
    let mut tx = s.begin().unwrap();
    let a = tx.save_model("a", "name = \"a\"", t("2026-01-01")).unwrap();
    let b = tx.save_model("b", "name = \"b\"", t("2026-01-02")).unwrap();
    assert_ne!(a, b);
    assert_eq!(tx.save_model("a", "name = \"a\"", t("2026-01-03")).unwrap(), a, "same source, same version");
    tx.activate_model(a, t("2026-01-04")).unwrap();
    assert!(matches!(tx.activate_model(ModelVersion(999), t("2026-01-04")), Err(StoreError::NoSuchModel(999))));
    tx.commit().unwrap();
    let active = s.active_model().unwrap().unwrap();
    assert_eq!((active.version, active.name.as_str(), active.active), (a, "a", true));
    assert_eq!(active.activated_at, Some(t("2026-01-04")));

    let mut tx = s.begin().unwrap();
    tx.activate_model(b, t("2026-01-05")).unwrap();
    tx.activate_model(a, t("2026-01-06")).unwrap();
    tx.commit().unwrap();
    let models = s.models().unwrap();
    assert_eq!(models.len(), 2);
    assert_eq!(models.iter().filter(|m| m.active).map(|m| m.version).collect::<Vec<_>>(), [a]);
    assert_eq!(models[1].source, "name = \"b\"");
}

pub fn rule_files_are_versioned_per_kind_and_name<S: Store>(s: &mut S) {
    use RuleFileKind::{Assignment, Pipeline};
    assert!(s.active_rule_files(Pipeline).unwrap().is_empty());
    let mut tx = s.begin().unwrap();
    let inbound1 = tx.save_rule_file(Pipeline, "inbound", "name = \"inbound\"", t("2026-01-01")).unwrap();
    let inbound2 = tx.save_rule_file(Pipeline, "inbound", "name = \"inbound\" # 2", t("2026-01-02")).unwrap();
    let partner = tx.save_rule_file(Pipeline, "partner", "name = \"partner\"", t("2026-01-03")).unwrap();
    let same = tx.save_rule_file(Pipeline, "inbound", "name = \"inbound\"", t("2026-01-04")).unwrap();
    assert_eq!(same, inbound1, "the same file keeps its version");
    // Another kind with the same name (and text) is another file.
    let rules = tx.save_rule_file(Assignment, "inbound", "name = \"inbound\"", t("2026-01-04")).unwrap();
    assert_ne!(rules, inbound1);
    tx.activate_rule_file(inbound1, t("2026-01-05")).unwrap();
    tx.activate_rule_file(partner, t("2026-01-05")).unwrap();
    tx.activate_rule_file(rules, t("2026-01-05")).unwrap();
    assert!(matches!(
        tx.activate_rule_file(RuleFileVersion(999), t("2026-01-05")),
        Err(StoreError::NoSuchRuleFile(999))
    ));
    tx.commit().unwrap();
    let active = |s: &S, kind| -> Vec<(String, RuleFileVersion)> {
        s.active_rule_files(kind).unwrap().into_iter().map(|p| (p.name, p.version)).collect()
    };
    assert_eq!(active(s, Pipeline), [("inbound".to_string(), inbound1), ("partner".to_string(), partner)]);
    assert_eq!(active(s, Assignment), [("inbound".to_string(), rules)], "each kind its own");

    let mut tx = s.begin().unwrap();
    tx.activate_rule_file(inbound2, t("2026-01-06")).unwrap();
    assert!(tx.deactivate_rule_file(Pipeline, "partner").unwrap());
    assert!(!tx.deactivate_rule_file(Pipeline, "partner").unwrap(), "already inactive");
    let old = tx.rule_file_now(inbound1).unwrap().unwrap();
    assert_eq!((old.name.as_str(), old.source.as_str(), old.active), ("inbound", "name = \"inbound\"", false));
    assert!(tx.rule_file_now(inbound2).unwrap().unwrap().active, "as this unit of work sees it");
    assert_eq!(tx.rule_file_now(RuleFileVersion(999)).unwrap(), None);
    tx.commit().unwrap();
    assert_eq!(active(s, Pipeline), [("inbound".to_string(), inbound2)], "a new version takes its name's place");
    assert_eq!(active(s, Assignment), [("inbound".to_string(), rules)]);
    let all = s.rule_files(Pipeline).unwrap();
    assert_eq!(
        all.iter().map(|p| (p.version, p.active)).collect::<Vec<_>>(),
        [(inbound1, false), (inbound2, true), (partner, false)]
    );
    assert_eq!((all[1].source.as_str(), all[1].kind), ("name = \"inbound\" # 2", Pipeline));
    assert_eq!(all[1].activated_at, Some(t("2026-01-06")));
    assert_eq!(all[2].activated_at, Some(t("2026-01-05")), "a deactivated version keeps when it was active");

    // One of its kind: the others of the kind go, whatever their names; other kinds stay.
    let mut tx = s.begin().unwrap();
    let other_rules = tx.save_rule_file(Assignment, "outbound", "name = \"outbound\"", t("2026-01-07")).unwrap();
    tx.activate_only_rule_file(other_rules, t("2026-01-07")).unwrap();
    assert!(matches!(
        tx.activate_only_rule_file(RuleFileVersion(999), t("2026-01-07")),
        Err(StoreError::NoSuchRuleFile(999))
    ));
    tx.commit().unwrap();
    assert_eq!(active(s, Assignment), [("outbound".to_string(), other_rules)]);
    assert_eq!(active(s, Pipeline), [("inbound".to_string(), inbound2)], "another kind's stay");
    assert_eq!(s.active_rule_versions().unwrap(), [(Assignment, other_rules), (Pipeline, inbound2)], "by kind");
}

pub fn leads_keep_their_place_in_a_pipeline<S: Store>(s: &mut S) {
    let (ana, bo, cy) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"), add_lead(s, "cy@example.com"));
    let fresh = s.lead(&LeadRef::Id(ana)).unwrap().unwrap();
    assert_eq!((fresh.profile.pipeline.as_deref(), fresh.pipeline_clock), (None, PipelineClock::default()));
    let mut tx = s.begin().unwrap();
    for (lead, stage) in [(ana, "new"), (bo, "new"), (cy, "meeting")] {
        let mut record = tx.lead(&LeadRef::Id(lead)).unwrap().unwrap();
        (record.profile.pipeline, record.profile.pipeline_stage) = (Some("inbound".into()), Some(stage.into()));
        tx.update_profile(lead, &record.profile, t("2026-02-01")).unwrap();
    }
    let clock =
        PipelineClock { entered_at: Some(t("2026-02-01")), stage_entered_at: Some(t("2026-02-03")), recycles: 2 };
    tx.set_pipeline_clock(cy, &clock).unwrap();
    assert!(matches!(tx.set_pipeline_clock(LeadId(999), &clock), Err(StoreError::NoSuchLead(LeadId(999)))));
    tx.commit().unwrap();

    let read = s.lead(&LeadRef::Id(cy)).unwrap().unwrap();
    assert_eq!(
        (read.profile.pipeline.as_deref(), read.profile.pipeline_stage.as_deref()),
        (Some("inbound"), Some("meeting"))
    );
    assert_eq!(read.pipeline_clock, clock);
    assert_eq!(s.stage_counts("inbound").unwrap(), [("meeting".to_string(), 1), ("new".to_string(), 2)]);
    assert!(s.stage_counts("partner").unwrap().is_empty());

    // The sweep's questions: which MQLs wait to enter a pipeline, whose cycle is over.
    let (dee, eve) = (add_lead(s, "dee@example.com"), add_lead(s, "eve@example.com"));
    let mut qualified = Vec::new();
    for lead in [ana, cy, dee] {
        let mut write = score_write(lead, ModelVersion(1), 90.0, "hot");
        write.mql_at = Some(t("2026-03-01"));
        qualified.push(write);
    }
    set_scores(s, &qualified);
    let recycled = [("inbound".to_string(), "meeting".to_string())];
    assert_eq!(s.mqls_to_route(&[], LeadId(0), 10).unwrap(), [dee], "in no pipeline: eve is no MQL, ana in one");
    assert_eq!(s.mqls_to_route(&recycled, LeadId(0), 10).unwrap(), [cy, dee], "or in a waiting stage");
    assert_eq!(s.mqls_to_route(&recycled, cy, 10).unwrap(), [dee], "after the cursor");
    assert_eq!(s.mqls_to_route(&recycled, LeadId(0), 1).unwrap(), [cy], "at most the limit");
    let _ = eve;

    let mut tx = s.begin().unwrap();
    for (lead, entered) in [(ana, "2026-02-01"), (bo, "2026-02-20")] {
        let clock = PipelineClock { entered_at: Some(t(entered)), stage_entered_at: Some(t(entered)), recycles: 0 };
        tx.set_pipeline_clock(lead, &clock).unwrap();
    }
    tx.commit().unwrap();
    let ended = |stages: &[&str], before: &str, after: LeadId| {
        let stages: Vec<String> = stages.iter().map(|s| s.to_string()).collect();
        s.cycles_ended("inbound", &stages, t(before), after, 10).unwrap()
    };
    assert_eq!(ended(&["new"], "2026-02-10", LeadId(0)), [ana]);
    assert_eq!(ended(&["new"], "2026-03-01", LeadId(0)), [ana, bo]);
    assert_eq!(ended(&["new", "meeting"], "2026-03-01", LeadId(0)), [ana, bo, cy]);
    assert_eq!(ended(&["new", "meeting"], "2026-03-01", ana), [bo, cy]);
    assert!(ended(&["won"], "2026-03-01", LeadId(0)).is_empty());
    assert!(s.cycles_ended("partner", &["new".to_string()], t("2026-03-01"), LeadId(0), 10).unwrap().is_empty());
}

pub fn users_round_trip_and_assignment_keeps_its_rotation<S: Store>(s: &mut S) {
    use leadflow_core::team::{Cursor, User, UserName, UserSpec};
    let ana = User::build(UserSpec {
        display_name: Some("Ana Lima"),
        email: Some("ana@yourco.example"),
        team: Some("emea"),
        role: Some("manager"),
        hours: Some("mon-thu 08:30-12:00,13:00-17:30; fri 08:30-13:00"),
        holidays: &["2026-12-25", "2026-12-24"],
        away_until: Some("2026-12-08T09:00:00Z"),
        capacity: Some(25),
        ..UserSpec::new("ana", "Europe/Lisbon")
    })
    .and_then(|u| u.with_signature(Some("Ana Costa\nAccount Executive, YourCo")))
    .unwrap();
    let bo = User::build(UserSpec { active: false, ..UserSpec::new("bo@yourco.example", "America/New_York") }).unwrap();
    assert!(s.users().unwrap().is_empty());
    let mut tx = s.begin().unwrap();
    assert!(tx.put_user(&ana, t("2026-01-01")).unwrap(), "new");
    assert!(tx.put_user(&bo, t("2026-01-01")).unwrap());
    tx.commit().unwrap();
    assert_eq!(s.users().unwrap(), [ana.clone(), bo.clone()], "every field as given, by name");
    assert_eq!(s.users().unwrap()[0].signature(), Some("Ana Costa\nAccount Executive, YourCo"));

    let back = User::build(UserSpec { away_until: None, ..UserSpec::new("ana", "Europe/Lisbon") }).unwrap();
    let mut tx = s.begin().unwrap();
    assert!(!tx.put_user(&back, t("2026-01-02")).unwrap(), "replaced");
    assert_eq!(tx.users_now().unwrap(), [back.clone(), bo.clone()], "the unit of work sees its own write");
    assert_eq!(tx.hold_assignment_cursor("emea").unwrap(), None, "no lead given yet");
    let cursor = Cursor { last: UserName::parse("ana").unwrap(), index: 2 };
    tx.set_assignment_cursor("emea", &cursor).unwrap();
    assert_eq!(tx.hold_assignment_cursor("emea").unwrap(), Some(cursor.clone()));
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.hold_assignment_cursor("emea").unwrap(), Some(cursor));
    assert_eq!(tx.hold_assignment_cursor("us").unwrap(), None, "each rule its own");
    drop(tx);

    // Open leads: owned, in one of the stages given.
    let leads: Vec<LeadId> =
        ["l1@x.example", "l2@x.example", "l3@x.example", "l4@x.example"].into_iter().map(|e| add_lead(s, e)).collect();
    let mut tx = s.begin().unwrap();
    for (lead, (owner, stage)) in
        leads.iter().zip([("ana", "new"), ("ana", "won"), ("bo@yourco.example", "new"), ("free text", "new")])
    {
        let mut record = tx.lead(&LeadRef::Id(*lead)).unwrap().unwrap();
        record.profile.owner = Some(owner.into());
        (record.profile.pipeline, record.profile.pipeline_stage) = (Some("inbound".into()), Some(stage.into()));
        tx.update_profile(*lead, &record.profile, t("2026-02-01")).unwrap();
    }
    let open = [("inbound".to_string(), "new".to_string()), ("inbound".to_string(), "working".to_string())];
    let counts = tx.open_leads_by_owner(&open).unwrap();
    let name = |n: &str| UserName::parse(n).unwrap();
    assert_eq!(counts, std::collections::HashMap::from([(name("ana"), 1), (name("bo@yourco.example"), 1)]));
}

pub fn a_lead_is_in_a_sequence_once_at_a_time_and_its_exits_are_kept<S: Store>(s: &mut S) {
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let enrollment = |lead, sequence, step| NewEnrollment {
        lead,
        sequence,
        version: RuleFileVersion(3),
        step,
        due_at: t("2026-06-02"),
        enrolled_by: "cli",
    };
    let mut tx = s.begin().unwrap();
    let first = tx.enroll(&enrollment(ana, "trial", "welcome"), t("2026-06-01")).unwrap().unwrap();
    assert_eq!(tx.enroll(&enrollment(ana, "trial", "other"), t("2026-06-01")).unwrap(), None, "never twice at once");
    let other = tx.enroll(&enrollment(ana, "winback", "hello"), t("2026-06-01")).unwrap().unwrap();
    let bos = tx.enroll(&enrollment(bo, "trial", "welcome"), t("2026-06-01")).unwrap().unwrap();
    tx.commit().unwrap();
    let all = |s: &S, q: EnrollmentQuery| -> Vec<i64> {
        s.enrollments(&EnrollmentQuery { limit: 100, ..q }).unwrap().iter().map(|e| e.id).collect()
    };
    assert_eq!(all(s, EnrollmentQuery { lead: Some(ana), ..Default::default() }), [other, first], "newest first");
    assert_eq!(all(s, EnrollmentQuery { sequence: Some("trial".into()), ..Default::default() }), [bos, first]);
    let read = &s.enrollments(&EnrollmentQuery { lead: Some(bo), limit: 10, ..Default::default() }).unwrap()[0];
    assert_eq!(
        (read.sequence.as_str(), read.version, read.step.as_deref(), read.due_at, read.enrolled_by.as_str()),
        ("trial", RuleFileVersion(3), Some("welcome"), Some(t("2026-06-02")), "cli")
    );
    assert_eq!((read.enrolled_at, read.exited_at, read.is_active()), (t("2026-06-01"), None, true));

    // Exited, it is kept with when and why, and the lead may be enrolled again.
    let mut tx = s.begin().unwrap();
    assert!(tx.exit_enrollment(first, "replied", t("2026-06-05")).unwrap());
    assert!(!tx.exit_enrollment(first, "again", t("2026-06-06")).unwrap(), "exited once");
    let again = tx.enroll(&enrollment(ana, "trial", "welcome"), t("2026-06-07")).unwrap().unwrap();
    let seen: Vec<(i64, Option<String>)> =
        tx.enrollments_now(ana, Some("trial")).unwrap().into_iter().map(|e| (e.id, e.exit_reason)).collect();
    assert_eq!(seen, [(again, None), (first, Some("replied".into()))], "this unit of work's view, newest first");
    tx.commit().unwrap();
    let exited = s.enrollments(&EnrollmentQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap();
    let exited = exited.iter().find(|e| e.id == first).unwrap();
    assert_eq!((exited.exited_at, exited.step.as_deref(), exited.due_at), (Some(t("2026-06-05")), None, None));
    let active = all(s, EnrollmentQuery { sequence: Some("trial".into()), active: true, ..Default::default() });
    assert_eq!(active, [again, bos]);
    let newest = s.enrollments(&EnrollmentQuery { lead: Some(ana), limit: 1, ..Default::default() }).unwrap();
    assert_eq!(newest.iter().map(|e| e.id).collect::<Vec<_>>(), [again], "at most the limit");

    // A lead deleted (merged into another) takes its enrollments with it.
    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert_eq!(all(s, EnrollmentQuery { lead: Some(ana), ..Default::default() }), Vec::<i64>::new());
    assert_eq!(all(s, EnrollmentQuery::default()), [bos], "the other lead's stays");
}

pub fn tasks_are_listed_soonest_first_and_change_state<S: Store>(s: &mut S) {
    use leadflow_core::task::{Priority, TaskKind, TaskStatus, TaskTitle};
    use leadflow_core::team::UserName;
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let (kim, lea) = (UserName::parse("kim").unwrap(), UserName::parse("lea").unwrap());
    let title = TaskTitle::parse("Call about the demo").unwrap();
    let task = |lead, owner, due: &str| NewTask {
        lead,
        kind: TaskKind::Call,
        title: &title,
        owner,
        priority: Priority::High,
        due_at: t(due),
        created_by: Some("cli"),
    };
    let mut tx = s.begin().unwrap();
    let late = tx.add_task(&task(ana, Some(&kim), "2026-06-03"), t("2026-06-01")).unwrap();
    let soon = tx.add_task(&task(ana, Some(&kim), "2026-06-02"), t("2026-06-01")).unwrap();
    let other = tx.add_task(&task(bo, Some(&lea), "2026-06-01T12:00:00Z"), t("2026-06-01")).unwrap();
    let unowned = tx.add_task(&task(bo, None, "2026-06-05"), t("2026-06-01")).unwrap();
    tx.commit().unwrap();
    fn ids<S: Store>(s: &S, q: TaskQuery) -> Vec<i64> {
        s.tasks(&TaskQuery { limit: 100, ..q }).unwrap().iter().map(|t| t.id).collect()
    }
    assert_eq!(ids(s, TaskQuery::default()), [other, soon, late, unowned], "soonest due first");
    assert_eq!(ids(s, TaskQuery { owner: Some(kim.clone()), ..Default::default() }), [soon, late]);
    assert_eq!(ids(s, TaskQuery { lead: Some(bo), ..Default::default() }), [other, unowned]);
    assert_eq!(ids(s, TaskQuery { due_before: Some(t("2026-06-02T12:00:00Z")), ..Default::default() }), [other, soon]);
    let read = s.task(soon).unwrap().unwrap();
    assert_eq!(
        (read.lead, read.kind, read.priority, read.owner.as_ref()),
        (ana, TaskKind::Call, Priority::High, Some(&kim))
    );
    assert_eq!((read.title.as_str(), read.created_by.as_deref()), ("Call about the demo", Some("cli")));
    assert_eq!(
        (read.state.status, read.state.due_at, read.created_at),
        (TaskStatus::Open, t("2026-06-02"), t("2026-06-01"))
    );

    // Snoozed: due at its snooze's end. Done: no longer pending.
    let mut tx = s.begin().unwrap();
    let mut state = tx.task_now(soon).unwrap().unwrap().state;
    state.snooze(t("2026-06-10"), t("2026-06-01")).unwrap();
    tx.set_task_state(soon, &state, t("2026-06-01")).unwrap();
    let mut done = tx.task_now(other).unwrap().unwrap().state;
    done.complete(Some("left a voicemail"), t("2026-06-01T13:00:00Z")).unwrap();
    tx.set_task_state(other, &done, t("2026-06-01T13:00:00Z")).unwrap();
    tx.commit().unwrap();
    assert_eq!(ids(s, TaskQuery { pending: true, ..Default::default() }), [late, unowned, soon]);
    assert_eq!(s.task(other).unwrap().unwrap().state, done);
    assert_eq!(s.task(soon).unwrap().unwrap().state.snoozed_until, Some(t("2026-06-10")));
    // Counted per owner: pending, overdue (a snoozed one at its snooze's end), done in a period
    // (and late: after it was due), nobody's last.
    let counts = |s: &S, from: &str| -> Vec<(Option<String>, u64, u64, u64, u64)> {
        let counts = s.task_counts(t(from), t("2026-06-04")).unwrap();
        counts.into_iter().map(|c| (c.owner, c.pending, c.overdue, c.done, c.done_late)).collect()
    };
    assert_eq!(
        counts(s, "2026-06-01"),
        [(Some("kim".into()), 2, 1, 0, 0), (Some("lea".into()), 0, 0, 1, 1), (None, 1, 0, 0, 0)]
    );
    assert_eq!(counts(s, "2026-06-02")[1], (Some("lea".into()), 0, 0, 0, 0), "done before the period");

    // Reminders: what is due by now and not told of yet, soonest due first, in pages.
    let remind = |s: &S, now: &str, after| -> Vec<i64> {
        s.tasks_to_remind(t(now), after, 10).unwrap().iter().map(|t| t.id).collect()
    };
    assert_eq!(s.task(late).unwrap().unwrap().reminded.next, Some(t("2026-06-03")), "due: its first reminder");
    assert_eq!(remind(s, "2026-06-03", None), [late], "done, snoozed past now and later tasks wait");
    assert_eq!(remind(s, "2026-06-10", None), [late, unowned, soon], "the snoozed one at its snooze's end");
    assert_eq!(remind(s, "2026-06-10", Some((t("2026-06-03"), late))), [unowned, soon]);
    let mut tx = s.begin().unwrap();
    let told = Reminded { due: Some(t("2026-06-03")), overdue: None, next: Some(t("2026-06-04")) };
    tx.set_task_reminded(late, &told).unwrap();
    tx.set_task_reminded(unowned, &Reminded { overdue: Some(t("2026-06-06")), next: None, ..told }).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.task(late).unwrap().unwrap().reminded, told);
    assert_eq!(remind(s, "2026-06-03T12:00:00Z", None), Vec::<i64>::new(), "its next is tomorrow");
    assert_eq!(remind(s, "2026-06-10", None), [late, soon], "told of as overdue: nothing left to tell");
    let mut tx = s.begin().unwrap();
    let mut state = tx.task_now(late).unwrap().unwrap().state;
    state.snooze(t("2026-06-20"), t("2026-06-10")).unwrap();
    tx.set_task_state(late, &state, t("2026-06-10")).unwrap();
    tx.commit().unwrap();
    let due_anew = Reminded { next: Some(t("2026-06-20")), ..Reminded::default() };
    assert_eq!(s.task(late).unwrap().unwrap().reminded, due_anew, "a snooze makes it due anew");

    // Handed over with its lead: nobody's and the previous owner's, not another's.
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.hand_over_tasks(bo, Some("lea"), &kim, t("2026-06-10")).unwrap(), 1, "the done one stays");
    tx.commit().unwrap();
    assert_eq!(s.task(unowned).unwrap().unwrap().owner.as_ref(), Some(&kim));
    assert_eq!(s.task(other).unwrap().unwrap().owner.as_ref(), Some(&lea), "done: stays whose it was");

    // Leads being worked with nothing to do next.
    let cy = add_lead(s, "cy@example.com");
    let mut tx = s.begin().unwrap();
    for lead in [ana, bo, cy] {
        let mut record = tx.lead(&LeadRef::Id(lead)).unwrap().unwrap();
        (record.profile.pipeline, record.profile.pipeline_stage) = (Some("inbound".into()), Some("new".into()));
        tx.update_profile(lead, &record.profile, t("2026-06-01")).unwrap();
    }
    tx.commit().unwrap();
    let open = [("inbound".to_string(), "new".to_string())];
    assert_eq!(s.leads_without_next_step(&open, 10).unwrap(), [cy], "ana and bo have pending tasks");

    // Closed: what was left to do is cancelled, saying why; what was done stays done.
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.cancel_pending_tasks(bo, "the lead was lost", t("2026-06-11")).unwrap(), 1);
    tx.commit().unwrap();
    let cancelled = s.task(unowned).unwrap().unwrap().state;
    assert_eq!(
        (cancelled.status, cancelled.outcome.as_deref(), cancelled.closed_at),
        (TaskStatus::Cancelled, Some("the lead was lost"), Some(t("2026-06-11")))
    );
    assert_eq!(s.task(other).unwrap().unwrap().state, done, "a done task stays done");
    assert_eq!(s.task(unowned).unwrap().unwrap().reminded.next, None, "nothing to remind of");
    assert_eq!(s.task(other).unwrap().unwrap().reminded.next, None, "done: nothing to remind of");

    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert!(s.task(late).unwrap().is_none(), "a lead's tasks go with it");
}

pub fn sla_clocks_run_until_met_or_stopped_and_count_compliance<S: Store>(s: &mut S) {
    use leadflow_core::team::UserName;
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let (kim, lea) = (UserName::parse("kim").unwrap(), UserName::parse("lea@yourco.example").unwrap());
    let policy = RuleFileVersion(7);
    let clock = |lead, rule, owner, start: Option<&str>, due: Option<&str>| NewSlaClock {
        lead,
        policy,
        rule,
        owner,
        started_at: start.map(t),
        due_at: due.map(t),
        check_at: due.map(t),
    };
    let mut tx = s.begin().unwrap();
    let accept = tx
        .start_sla_clock(&clock(ana, "accept", Some(&kim), Some("2026-06-01"), Some("2026-06-02")), t("2026-06-01"))
        .unwrap();
    let touch = tx
        .start_sla_clock(&clock(ana, "touch", Some(&kim), Some("2026-06-01"), Some("2026-06-03")), t("2026-06-01"))
        .unwrap();
    let late = tx
        .start_sla_clock(
            &clock(bo, "accept", Some(&lea), Some("2026-06-01"), Some("2026-06-01T04:00:00Z")),
            t("2026-06-01"),
        )
        .unwrap();
    let waiting = tx.start_sla_clock(&clock(bo, "touch", None, None, None), t("2026-06-01")).unwrap();
    let running: Vec<i64> = tx.running_sla_clocks(ana).unwrap().iter().map(|c| c.id).collect();
    assert_eq!(running, [accept, touch], "oldest first, as the unit of work sees them");
    tx.commit().unwrap();

    let read = s.sla_clocks(&SlaClockQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(read.iter().map(|c| c.id).collect::<Vec<_>>(), [touch, accept], "newest first");
    let first = &read[1];
    assert_eq!(
        (first.lead, first.policy, first.rule.as_str(), first.owner.as_ref()),
        (ana, policy, "accept", Some(&kim))
    );
    assert_eq!(
        (first.started_at, first.due_at, first.check_at),
        (Some(t("2026-06-01")), Some(t("2026-06-02")), Some(t("2026-06-02")))
    );
    assert!(first.is_running() && first.met.is_none() && first.escalations_done.is_empty());
    let w = s.sla_clocks(&SlaClockQuery { lead: Some(bo), running: true, limit: 10, ..Default::default() }).unwrap();
    assert_eq!(
        w.iter().map(|c| (c.id, c.owner.is_none(), c.started_at)).collect::<Vec<_>>(),
        [(waiting, true, None), (late, false, Some(t("2026-06-01")))]
    );

    // What the sweep is to look at: due to be checked, running, soonest first, in pages.
    let to_check = |now: &str, after| -> Vec<i64> {
        s.sla_clocks_to_check(t(now), after, 10).unwrap().iter().map(|c| c.id).collect()
    };
    assert_eq!(to_check("2026-06-02", None), [late, accept], "the waiting clock has nothing to check");
    assert_eq!(to_check("2026-06-02", Some((t("2026-06-01T04:00:00Z"), late))), [accept]);

    // Met on time, breached with an escalation run, stopped, started.
    let mut tx = s.begin().unwrap();
    let mut a = tx.sla_clock_now(accept).unwrap().unwrap();
    (a.met, a.check_at) = (Some((t("2026-06-01T10:00:00Z"), SlaMet::Accepted)), None);
    tx.update_sla_clock(&a).unwrap();
    let mut l = tx.sla_clock_now(late).unwrap().unwrap();
    (l.breached_at, l.escalations_done, l.check_at) =
        (Some(t("2026-06-01T05:00:00Z")), vec![1, 0], Some(t("2026-06-01T08:00:00Z")));
    tx.update_sla_clock(&l).unwrap();
    let mut wt = tx.sla_clock_now(waiting).unwrap().unwrap();
    (wt.owner, wt.started_at, wt.due_at, wt.check_at) =
        (Some(lea.clone()), Some(t("2026-06-01T06:00:00Z")), Some(t("2026-06-05")), Some(t("2026-06-05")));
    tx.update_sla_clock(&wt).unwrap();
    let mut th = tx.sla_clock_now(touch).unwrap().unwrap();
    th.stopped = Some((t("2026-06-01T12:00:00Z"), "the lead was won".into()));
    tx.update_sla_clock(&th).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.sla_clocks(&SlaClockQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap()[1], a);
    let read_l = s.sla_clocks(&SlaClockQuery { lead: Some(bo), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(read_l[1], l, "the steps keep the order they ran in");
    assert_eq!(read_l[0], wt);
    assert!(
        s.sla_clocks(&SlaClockQuery { lead: Some(ana), running: true, limit: 10, ..Default::default() })
            .unwrap()
            .is_empty()
    );
    let breached = |now: &str| -> Vec<i64> {
        s.sla_clocks(&SlaClockQuery { breached_as_of: Some(t(now)), limit: 10, ..Default::default() })
            .unwrap()
            .iter()
            .map(|c| c.id)
            .collect()
    };
    assert_eq!(breached("2026-06-04"), [late], "met and stopped-before-due clocks are no breach");
    assert_eq!(breached("2026-06-06"), [waiting, late]);
    let kims = s.sla_clocks(&SlaClockQuery { owner: Some(kim.clone()), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(kims.len(), 2);
    let soonest = SlaClockQuery { soonest_due_first: true, limit: 10, ..Default::default() };
    let by_due: Vec<i64> = s.sla_clocks(&soonest).unwrap().iter().map(|c| c.id).collect();
    assert_eq!(by_due, [late, accept, touch, waiting], "soonest deadline first");

    // Compliance: per owner and rule, as of an instant, over the clocks started in a period.
    let june = |now: &str| ComplianceQuery { from: t("2026-06-01"), to: t("2026-07-01"), now: t(now) };
    let row = |owner: &UserName, rule: &str, counts: [u64; 4]| ComplianceRow {
        owner: owner.clone(),
        rule: rule.into(),
        met_on_time: counts[0],
        met_late: counts[1],
        breached: counts[2],
        pending: counts[3],
    };
    assert_eq!(
        s.sla_compliance(&june("2026-06-04")).unwrap(),
        [
            row(&kim, "accept", [1, 0, 0, 0]),
            row(&kim, "touch", [0, 0, 0, 0]),
            row(&lea, "accept", [0, 0, 1, 0]),
            row(&lea, "touch", [0, 0, 0, 1])
        ]
    );
    assert_eq!(s.sla_compliance(&june("2026-06-06")).unwrap()[3], row(&lea, "touch", [0, 0, 1, 0]));
    let may = ComplianceQuery { from: t("2026-05-01"), to: t("2026-06-01"), now: t("2026-06-06") };
    assert!(s.sla_compliance(&may).unwrap().is_empty(), "the period is by start, its end excluded");

    // Met late.
    let mut tx = s.begin().unwrap();
    let mut wt = tx.sla_clock_now(waiting).unwrap().unwrap();
    wt.met = Some((t("2026-06-05T00:00:00.001Z"), SlaMet::Touched));
    tx.update_sla_clock(&wt).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.sla_compliance(&june("2026-06-06")).unwrap()[3], row(&lea, "touch", [0, 1, 0, 0]));

    // Responses: every clock started in the period, when it was met by then, by owner and start.
    let responses = |now: &str| -> Vec<(String, String, Timestamp, Option<Timestamp>, bool)> {
        s.sla_responses(&june(now))
            .unwrap()
            .into_iter()
            .map(|r| (r.owner.as_str().to_string(), r.rule, r.started_at, r.met_at, r.stopped))
            .collect()
    };
    let (k, l) = ("kim".to_string(), "lea@yourco.example".to_string());
    assert_eq!(
        responses("2026-06-06"),
        [
            (k.clone(), "accept".into(), t("2026-06-01"), Some(t("2026-06-01T10:00:00Z")), false),
            (k.clone(), "touch".into(), t("2026-06-01"), None, true),
            (l.clone(), "accept".into(), t("2026-06-01"), None, false),
            (l.clone(), "touch".into(), t("2026-06-01T06:00:00Z"), Some(t("2026-06-05T00:00:00.001Z")), false),
        ]
    );
    assert_eq!(responses("2026-06-04")[3].3, None, "not met yet as of then");
    assert!(!responses("2026-06-01T11:00:00Z")[1].4, "not stopped yet as of then");

    // The MQLs without a clock of the policy's MQL rules since they qualified.
    let cy = add_lead(s, "cy@example.com");
    let mut qualified = Vec::new();
    for (lead, at) in [(ana, "2026-06-01"), (bo, "2026-06-02"), (cy, "2026-06-03")] {
        let mut write = score_write(lead, ModelVersion(1), 90.0, "hot");
        write.mql_at = Some(t(at));
        qualified.push(write);
    }
    set_scores(s, &qualified);
    let without = |s: &S, policy, rule: &str, since: &str, after: LeadId| {
        s.mqls_without_clock(policy, &[rule.to_string()], t(since), after, 10).unwrap()
    };
    assert_eq!(
        without(s, policy, "accept", "2026-05-01", LeadId(0)),
        [bo, cy],
        "ana's started as she qualified, bo's before"
    );
    assert_eq!(without(s, policy, "touch", "2026-05-01", LeadId(0)), [bo, cy]);
    assert_eq!(without(s, policy, "accept", "2026-06-03", LeadId(0)), [cy], "qualified before `since`");
    assert_eq!(without(s, policy, "accept", "2026-05-01", bo), [cy], "after the cursor");
    assert_eq!(
        without(s, RuleFileVersion(8), "accept", "2026-05-01", LeadId(0)),
        [ana, bo, cy],
        "another policy's do not count"
    );

    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert!(
        s.sla_clocks(&SlaClockQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap().is_empty(),
        "a lead's clocks go with it"
    );
}

fn listed<S: Store>(s: &S, q: LeadQuery) -> Vec<LeadId> {
    s.list_leads(&LeadQuery { limit: 100, ..q }).unwrap().iter().map(|l| l.id).collect()
}

pub fn listing_filters_and_orders<S: Store>(s: &mut S) {
    keeping_url(s);
    let v1 = ModelVersion(1);
    let ids: Vec<LeadId> = (0..5).map(|i| add_lead(s, &format!("l{i}@example.com"))).collect();
    let mut tx = s.begin().unwrap();
    let mut p = profile("l0@example.com");
    p.owner = Some("sam".into());
    tx.update_profile(ids[0], &p, t("2026-03-01")).unwrap();
    tx.commit().unwrap();
    set_scores(
        s,
        &[
            score_write(ids[0], v1, 90.0, "hot"),
            score_write(ids[1], v1, 20.0, "cold"),
            score_write(ids[2], v1, 50.0, "warm"),
            score_write(ids[3], v1, 85.0, "hot"),
        ],
    );
    assert_eq!(listed(s, LeadQuery::default()), [ids[0], ids[3], ids[2], ids[1], ids[4]], "by score, unscored last");
    assert_eq!(
        listed(s, LeadQuery { order: LeadOrder::ScoreAsc, ..Default::default() }),
        [ids[1], ids[2], ids[3], ids[0], ids[4]]
    );
    assert_eq!(listed(s, LeadQuery { bucket: Some("hot".into()), ..Default::default() }), [ids[0], ids[3]]);
    assert_eq!(listed(s, LeadQuery { owner: Some("sam".into()), ..Default::default() }), [ids[0]]);
    assert_eq!(
        listed(s, LeadQuery { min_total: Some(40.0), max_total: Some(86.0), ..Default::default() }),
        [ids[3], ids[2]]
    );
    assert_eq!(listed(s, LeadQuery { grade: Some(Grade::C), ..Default::default() }).len(), 4);
    assert_eq!(listed(s, LeadQuery { grade: Some(Grade::A), ..Default::default() }).len(), 0);
    assert_eq!(listed(s, LeadQuery { stage: Some(LifecycleStage::Lead), ..Default::default() }).len(), 5);
    assert_eq!(listed(s, LeadQuery { order: LeadOrder::RecentlyUpdated, ..Default::default() })[0], ids[0]);
    let page = s.list_leads(&LeadQuery { limit: 2, offset: 1, ..Default::default() }).unwrap();
    assert_eq!(page.iter().map(|l| l.id).collect::<Vec<_>>(), [ids[3], ids[2]]);
    let stats = s.stats().unwrap();
    assert_eq!(stats.buckets, [("hot".to_string(), 2), ("cold".to_string(), 1), ("warm".to_string(), 1)]);

    // Free text: every word, in name, email or company, ignoring case; LIKE's wildcards are literal.
    let mut tx = s.begin().unwrap();
    let mut p = profile("l2@example.com");
    (p.first_name, p.last_name, p.company) = (Some("Bea".into()), Some("Kovács".into()), Some("Acme_Corp 100%".into()));
    tx.update_profile(ids[2], &p, t("2026-03-02")).unwrap();
    tx.commit().unwrap();
    let text = |s: &S, q: &str| listed(s, LeadQuery { text: Some(q.into()), ..Default::default() });
    assert_eq!(text(s, "bea ACME"), [ids[2]]);
    assert_eq!(text(s, "l3@example"), [ids[3]]);
    assert_eq!(text(s, "kovács"), [ids[2]]);
    assert_eq!(text(s, "acme_corp"), [ids[2]]);
    assert_eq!(text(s, "100%"), [ids[2]]);
    assert!(text(s, "acme%corp").is_empty(), "% is a character, not a wildcard");
    assert!(text(s, "bea nobody").is_empty());

    // Created and updated ranges: from inclusive, until exclusive.
    assert_eq!(listed(s, LeadQuery { updated_from: Some(t("2026-03-01")), ..Default::default() }), [ids[0], ids[2]]);
    assert_eq!(listed(s, LeadQuery { updated_until: Some(t("2026-03-01")), ..Default::default() }).len(), 3);
    assert_eq!(listed(s, LeadQuery { created_from: Some(t("2026-01-02")), ..Default::default() }).len(), 0);
    assert_eq!(listed(s, LeadQuery { created_until: Some(t("2026-01-02")), ..Default::default() }).len(), 5);

    // Cursor pages: a lead whose score did not change is never skipped nor repeated, while
    // others move between pages.
    let page = |s: &S, after: Option<Cursor>| -> Vec<LeadRecord> {
        s.list_leads(&LeadQuery { limit: 2, after, ..Default::default() }).unwrap()
    };
    let first = page(s, None);
    assert_eq!(first.iter().map(|l| l.id).collect::<Vec<_>>(), [ids[0], ids[3]]);
    let last = first.last().unwrap();
    let cursor = Cursor { key: LeadOrder::ScoreDesc.key_of(last), id: last.id };
    set_scores(s, &[score_write(ids[2], v1, 99.0, "hot"), score_write(ids[1], v1, 84.0, "hot")]);
    let second = page(s, Some(cursor));
    assert_eq!(
        second.iter().map(|l| l.id).collect::<Vec<_>>(),
        [ids[1], ids[4]],
        "ids[2] moved up, ids[4] unscored last"
    );
    let last = second.last().unwrap();
    let cursor = Cursor { key: LeadOrder::ScoreDesc.key_of(last), id: last.id };
    assert!(page(s, Some(cursor)).is_empty());
    let newest = |after| s.list_leads(&LeadQuery { order: LeadOrder::Newest, limit: 3, after, ..Default::default() });
    let first = newest(None).unwrap();
    let last = first.last().unwrap();
    let rest = newest(Some(Cursor { key: LeadOrder::Newest.key_of(last), id: last.id })).unwrap();
    let mut all: Vec<LeadId> = first.iter().chain(&rest).map(|l| l.id).collect();
    all.sort();
    assert_eq!(all, ids, "every lead once, across pages of equal creation times");
    let mismatched = Cursor { key: SortKey::Time(t("2026-01-01")), id: ids[0] };
    assert!(matches!(
        s.list_leads(&LeadQuery { after: Some(mismatched), ..Default::default() }),
        Err(StoreError::InvalidQuery(_))
    ));
}

pub fn scans_visit_what_needs_rescoring<S: Store>(s: &mut S) {
    keeping_url(s);
    let v1 = ModelVersion(1);
    let ids: Vec<LeadId> = (0..7).map(|i| add_lead(s, &format!("l{i}@example.com"))).collect();
    let mut tx = s.begin().unwrap();
    for (i, id) in ids.iter().enumerate() {
        for k in 0..i {
            let e = event(&format!("{i}-{k}"), *id, &format!("2026-06-0{}", 1 + (7 - k) % 9), "page_view", "/");
            tx.insert_event(&e, t("2026-07-01")).unwrap();
        }
    }
    tx.commit().unwrap();
    // Leads 0-2 scored by v1 (usable state), 3 stale, 4 by another model, 5-6 never scored.
    set_scores(
        s,
        &[
            score_write(ids[0], v1, 1.0, "cold"),
            score_write(ids[1], v1, 1.0, "cold"),
            score_write(ids[2], v1, 1.0, "cold"),
            score_write(ids[3], v1, 1.0, "cold"),
            score_write(ids[4], ModelVersion(2), 1.0, "cold"),
        ],
    );
    let mut tx = s.begin().unwrap();
    tx.mark_stale(ids[3]).unwrap();
    tx.commit().unwrap();

    assert_eq!(s.count_for_rescore(ScanScope::All).unwrap(), 7);
    assert_eq!(s.count_for_rescore(ScanScope::NeedingRescore(v1)).unwrap(), 4, "stale, other model, never scored");
    let mut seen = Vec::new();
    let mut batches = 0;
    let request = ScanRequest { scope: ScanScope::All, states_of: Some(v1), batch: 3 };
    s.scan_for_rescore(request, &mut |store, items| {
        batches += 1;
        assert!(items.len() <= 3);
        // The visitor may write between batches.
        let writes: Vec<ScanWrite> =
            items.iter().map(|i| ScanWrite { write: score_write(i.id, v1, 2.0, "cold"), read: i.revision }).collect();
        assert_eq!(store.write_scores(&writes)?, vec![], "nothing changed them since the scan");
        seen.extend(items);
        Ok(())
    })
    .unwrap();
    assert_eq!(batches, 3);
    assert_eq!(seen.iter().map(|i| i.id).collect::<Vec<_>>(), ids, "every lead, in id order");
    for (i, item) in seen.iter().enumerate() {
        if i < 3 {
            assert_eq!(item.state.as_deref(), Some(&[1u8, 2, 3][..]), "lead {i} has a usable state");
            assert!(item.activity.is_empty(), "lead {i} needs no events");
        } else {
            assert_eq!(item.state, None, "lead {i} has no usable state");
            assert_eq!(item.activity.len(), i, "lead {i}'s events");
            assert!(item.activity.windows(2).all(|w| w[0].0 <= w[1].0), "oldest first");
        }
    }
    assert_eq!(seen[1].profile, profile("l1@example.com"));

    // Everything was just rewritten by v1: nothing needs a rescore but what we make stale.
    let mut tx = s.begin().unwrap();
    tx.mark_stale(ids[5]).unwrap();
    tx.commit().unwrap();
    let mut needing = Vec::new();
    let needing_request = ScanRequest { scope: ScanScope::NeedingRescore(v1), batch: 100, ..request };
    s.scan_for_rescore(needing_request, &mut |_, items| {
        needing.extend(items.into_iter().map(|i| (i.id, i.activity.len())));
        Ok(())
    })
    .unwrap();
    assert_eq!(needing, [(ids[5], 5)]);

    // Without states, every lead comes with its events.
    let mut with_events = Vec::new();
    let full = ScanRequest { states_of: None, ..request };
    s.scan_for_rescore(full, &mut |_, items| {
        with_events.extend(items.into_iter().map(|i| (i.state.is_none(), i.activity.len())));
        Ok(())
    })
    .unwrap();
    assert_eq!(with_events, (0..7).map(|i| (true, i)).collect::<Vec<_>>());
}

/// A rescore scans without locks; whatever an event, an import or a merge did to a lead after
/// the scan read it wins over the rescore's result, history and notifications included.
pub fn a_scan_write_leaves_alone_what_changed_since_the_scan<S: Store>(s: &mut S) {
    let v1 = ModelVersion(1);
    let (scored, staled, untouched, deleted) = (
        add_lead(s, "s@example.com"),
        add_lead(s, "t@example.com"),
        add_lead(s, "u@example.com"),
        add_lead(s, "d@example.com"),
    );
    set_scores(s, &[score_write(scored, v1, 10.0, "cold"), score_write(staled, v1, 10.0, "cold")]);
    let read: Vec<RescoreItem> = [scored, staled, untouched, deleted].map(|id| scanned(s, id)).into();

    // After the scan: an event scores one lead, an import marks another stale, one is deleted.
    set_scores(s, &[score_write(scored, v1, 70.0, "warm")]);
    let mut tx = s.begin().unwrap();
    tx.mark_stale(staled).unwrap();
    tx.delete_lead(deleted).unwrap();
    tx.commit().unwrap();

    let rescored = |item: &RescoreItem| {
        let mut write = score_write(item.id, v1, 1.0, "cold");
        write.history = Some(HistoryEntry {
            at: t("2026-07-01"),
            cause: Cause::Decay,
            model_version: v1,
            before: None,
            after: values(1.0, "cold"),
            became_mql: false,
        });
        ScanWrite { write, read: item.revision }
    };
    let writes: Vec<ScanWrite> = read.iter().map(rescored).collect();
    let mut left = s.write_scores(&writes).unwrap();
    left.sort();
    let mut expected = vec![scored, staled, deleted];
    expected.sort();
    assert_eq!(left, expected, "only the untouched lead takes the rescore's result");
    let total = |s: &mut S, id| s.lead(&LeadRef::Id(id)).unwrap().unwrap().score.map(|sc| (sc.values.total, sc.stale));
    assert_eq!(total(s, scored), Some((70.0, false)), "the event's score stands");
    assert_eq!(total(s, staled).map(|(_, stale)| stale), Some(true), "still stale, for the next rescore");
    assert_eq!(total(s, untouched), Some((1.0, false)));
    assert!(s.history_of(scored, 10).unwrap().is_empty(), "no history for a write left alone");
    assert_eq!(s.history_of(untouched, 10).unwrap().len(), 1);

    // A scan read after the changes writes as usual.
    let again: Vec<ScanWrite> = [scored, staled].map(|id| rescored(&scanned(s, id))).into();
    assert_eq!(s.write_scores(&again).unwrap(), vec![]);
    assert_eq!(total(s, scored), Some((1.0, false)));
    assert_eq!(total(s, staled), Some((1.0, false)));
}

/// The change log keeps each change's field and typed values, who made it and when, newest
/// first; a rolled-back unit of work leaves none, and deleting the lead erases its log.
pub fn changes_are_logged_in_order_with_their_values<S: Store>(s: &mut S) {
    use leadflow_core::change::FieldChange;
    use leadflow_core::lead::{CustomValue, Field, FieldRef};
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let text = |v: &str| Some(CustomValue::Text(v.into()));
    let stage = FieldChange { field: FieldRef::Standard(Field::Stage), old: text("lead"), new: text("mql") };
    let zip = FieldChange { field: FieldRef::Custom("zip".into()), old: None, new: text("02134") };
    let seats = FieldChange { field: FieldRef::Custom("seats".into()), old: Some(CustomValue::Number(3.0)), new: None };
    let import = ChangeOrigin::new(ChangeCause::Import, "crm.csv");
    let rule = ChangeOrigin::of(ChangeCause::Rule).because(Some("no budget this year".into()));

    let mut tx = s.begin().unwrap();
    tx.record_changes(ana, t("2026-06-01"), &import, &[zip.clone(), seats.clone()]).unwrap();
    tx.record_changes(bo, t("2026-06-01"), &import, std::slice::from_ref(&zip)).unwrap();
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    tx.record_changes(ana, t("2026-06-02"), &rule, std::slice::from_ref(&stage)).unwrap();
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    tx.record_changes(ana, t("2026-06-03"), &rule, std::slice::from_ref(&stage)).unwrap();
    drop(tx);

    let log = s.changes_of(ana, 10).unwrap();
    let seen: Vec<(&FieldChange, Timestamp, &ChangeOrigin)> =
        log.iter().map(|c| (&c.change, c.at, &c.origin)).collect();
    assert_eq!(
        seen,
        [(&stage, t("2026-06-02"), &rule), (&seats, t("2026-06-01"), &import), (&zip, t("2026-06-01"), &import)],
        "newest first, the rolled-back one not at all"
    );
    assert!(log[0].id > log[1].id && log[1].id > log[2].id);
    assert_eq!(s.changes_of(ana, 1).unwrap().len(), 1);
    assert_eq!(s.changes_of(bo, 10).unwrap().len(), 1, "each lead its own");

    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert!(s.changes_of(ana, 10).unwrap().is_empty());
}

/// A place change as a test reads it: when, which field, old, new, reason.
type SeenPlace = (Timestamp, leadflow_core::report::PlaceField, Option<String>, Option<String>, Option<String>);

/// A report's scan gives every lead in id order, with its current place, owner and source, and
/// its pipeline and stage changes only, oldest first by time (however they were logged), their
/// values and reasons as names.
pub fn reports_scan_every_lead_with_its_place_changes_in_time_order<S: Store>(s: &mut S) {
    use leadflow_core::change::FieldChange;
    use leadflow_core::lead::{CustomValue, Field, FieldRef};
    use leadflow_core::report::{Names, PlaceField};
    let (ana, bo, cy) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"), add_lead(s, "cy@example.com"));
    let text = |v: &str| Some(CustomValue::Text(v.into()));
    let place = |field: Field, old: Option<&str>, new: Option<&str>| FieldChange {
        field: FieldRef::Standard(field),
        old: old.and_then(text),
        new: new.and_then(text),
    };
    let import = ChangeOrigin::new(ChangeCause::Import, "history.csv");
    let mut tx = s.begin().unwrap();
    let mut placed = profile("bo@example.com");
    placed.pipeline = Some("sales".into());
    placed.pipeline_stage = Some("lost".into());
    placed.owner = Some("rep@yourco.example".into());
    placed.source = Some("webinar".into());
    tx.update_profile(bo, &placed, t("2026-03-01")).unwrap();
    // Logged newest first: the scan orders by time.
    let lost = import.clone().because(Some("price".into()));
    tx.record_changes(bo, t("2026-02-01"), &lost, &[place(Field::PipelineStage, Some("mql"), Some("lost"))]).unwrap();
    tx.record_changes(bo, t("2026-01-10"), &import, &[place(Field::PipelineStage, Some("new"), Some("mql"))]).unwrap();
    // Not a place field: not in the scan.
    tx.record_changes(bo, t("2026-01-05"), &import, &[place(Field::Company, None, Some("Acme"))]).unwrap();
    tx.record_changes(cy, t("2026-01-03"), &import, &[place(Field::Pipeline, None, Some("sales"))]).unwrap();
    tx.commit().unwrap();

    let mut names = Names::default();
    let mut seen = Vec::new();
    s.scan_places(&mut names, &mut |lead, names| {
        let name = |n: Option<leadflow_core::report::Name>| n.map(|n| names.resolve(n).to_string());
        let changes: Vec<SeenPlace> =
            lead.changes.iter().map(|c| (c.at, c.field, name(c.old), name(c.new), name(c.reason))).collect();
        seen.push((
            lead.lead,
            lead.created_at,
            name(lead.owner),
            name(lead.source),
            name(lead.pipeline),
            name(lead.stage),
            changes,
        ));
    })
    .unwrap();
    let s_ = |v: &str| Some(v.to_string());
    assert_eq!(seen.len(), 3, "every lead, moved or not");
    assert_eq!(seen[0], (ana, t("2026-01-01"), None, None, None, None, vec![]));
    assert_eq!(
        seen[1],
        (
            bo,
            t("2026-01-01"),
            s_("rep@yourco.example"),
            s_("webinar"),
            s_("sales"),
            s_("lost"),
            vec![
                (t("2026-01-10"), PlaceField::Stage, s_("new"), s_("mql"), None),
                (t("2026-02-01"), PlaceField::Stage, s_("mql"), s_("lost"), s_("price")),
            ]
        )
    );
    assert_eq!(seen[2].6, vec![(t("2026-01-03"), PlaceField::Pipeline, None, s_("sales"), None)]);
    assert!(seen[0].0 < seen[1].0 && seen[1].0 < seen[2].0, "in id order");
}

/// A history import appends changes of several leads at their own times, in the order given,
/// and reads a batch's logged place changes back by lead, oldest first (by time, then as
/// logged), only of place fields; a lead with none, or erased, has none.
pub fn history_entries_are_appended_at_their_times_and_read_back_by_lead<S: Store>(s: &mut S) {
    use leadflow_core::change::FieldChange;
    use leadflow_core::lead::{CustomValue, Field, FieldRef};
    use leadflow_core::report::PlaceField;
    let (ana, bo, cy) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"), add_lead(s, "cy@example.com"));
    let text = |v: &str| Some(CustomValue::Text(v.into()));
    let change = |field: Field, old: &str, new: &str| FieldChange {
        field: FieldRef::Standard(field),
        old: text(old),
        new: text(new),
    };
    let (enter, to_mql, to_sql) = (
        change(Field::Pipeline, "partner", "sales"),
        change(Field::PipelineStage, "new", "mql"),
        change(Field::PipelineStage, "mql", "sql"),
    );
    let company = change(Field::Company, "Acme", "Acme Corp");
    let import = ChangeOrigin::new(ChangeCause::Import, "history.csv");
    let lost = import.clone().because(Some("price".into()));
    let mut tx = s.begin().unwrap();
    tx.record_change_entries(&[
        ChangeEntry { lead: bo, at: t("2026-02-01"), origin: &import, change: &to_sql },
        ChangeEntry { lead: ana, at: t("2026-01-05"), origin: &import, change: &enter },
        ChangeEntry { lead: ana, at: t("2026-01-05"), origin: &import, change: &to_mql },
        ChangeEntry { lead: bo, at: t("2026-01-10"), origin: &lost, change: &to_mql },
        ChangeEntry { lead: bo, at: t("2026-01-11"), origin: &import, change: &company },
    ])
    .unwrap();
    let logged = tx.place_changes_of(&[bo, cy, ana]).unwrap();
    tx.commit().unwrap();
    let seen: Vec<(LeadId, Timestamp, PlaceField, Option<&str>)> =
        logged.iter().map(|c| (c.lead, c.at, c.field, c.new.as_deref())).collect();
    assert_eq!(
        seen,
        [
            (bo, t("2026-01-10"), PlaceField::Stage, Some("mql")),
            (bo, t("2026-02-01"), PlaceField::Stage, Some("sql")),
            (ana, t("2026-01-05"), PlaceField::Pipeline, Some("sales")),
            (ana, t("2026-01-05"), PlaceField::Stage, Some("mql")),
        ],
        "by lead as asked, each oldest first, place fields only"
    );
    assert_eq!(logged[2].old.as_deref(), Some("partner"));
    // The log has each with its own time and reason, newest first.
    let log = s.changes_of(bo, 10).unwrap();
    let times: Vec<(Timestamp, Option<&str>)> = log.iter().map(|c| (c.at, c.origin.reason.as_deref())).collect();
    assert_eq!(times, [(t("2026-02-01"), None), (t("2026-01-11"), None), (t("2026-01-10"), Some("price"))]);
    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    assert!(tx.place_changes_of(&[ana]).unwrap().is_empty(), "an erased lead's log goes with it");
    tx.commit().unwrap();
}

pub fn deleting_a_lead_erases_everything<S: Store>(s: &mut S) {
    keeping_url(s);
    let id = add_lead(s, "ana@example.com");
    let other = add_lead(s, "ben@example.com");
    let mut tx = s.begin().unwrap();
    tx.insert_event(&event("a1", id, "2026-06-01", "page_view", "/"), t("2026-07-01")).unwrap();
    tx.insert_event(&event("b1", other, "2026-06-01", "page_view", "/"), t("2026-07-01")).unwrap();
    let mut w = score_write(id, ModelVersion(1), 5.0, "cold");
    w.history = Some(HistoryEntry {
        at: t("2026-06-01"),
        cause: Cause::Profile,
        model_version: ModelVersion(1),
        before: None,
        after: values(5.0, "cold"),
        became_mql: false,
    });
    tx.write_score(&w).unwrap();
    tx.commit().unwrap();

    let mut tx = s.begin().unwrap();
    assert!(tx.delete_lead(id).unwrap());
    assert!(!tx.delete_lead(id).unwrap());
    tx.commit().unwrap();
    assert!(s.lead(&LeadRef::Id(id)).unwrap().is_none());
    assert!(s.events_of(id, 10).unwrap().is_empty());
    assert!(s.history_of(id, 10).unwrap().is_empty());
    assert_eq!(s.stats().unwrap().events, 1, "other leads keep their events");
    assert_eq!(s.list_leads(&LeadQuery { limit: 10, ..Default::default() }).unwrap().len(), 1);
    assert_eq!(s.verify().unwrap(), Vec::<String>::new(), "nothing of the lead is left behind");
}

pub fn bulk_inserts_join_per_lead_reads_when_finished<S: Store>(s: &mut S) {
    keeping_url(s);
    let a = add_lead(s, "ana@example.com");
    let b = add_lead(s, "ben@example.com");
    let v1 = ModelVersion(1);
    set_scores(s, &[score_write(a, v1, 1.0, "cold"), score_write(b, v1, 1.0, "cold")]);
    let now = t("2026-07-01");
    let mut tx = s.begin().unwrap();
    tx.insert_event(&event("e1", a, "2026-06-01", "page_view", "/"), now).unwrap();
    tx.commit().unwrap();

    let mut tx = s.begin_bulk().unwrap();
    assert_eq!(tx.insert_event(&event("e3", a, "2026-06-03", "email_open", ""), now).unwrap(), Inserted::New);
    assert_eq!(tx.insert_event(&event("e2", a, "2026-06-02", "page_view", "/x"), now).unwrap(), Inserted::New);
    assert_eq!(tx.insert_event(&event("e4", b, "2026-06-04", "page_view", "/"), now).unwrap(), Inserted::New);
    assert_eq!(tx.insert_event(&event("e1", a, "2026-06-09", "page_view", "/"), now).unwrap(), Inserted::Duplicate);
    tx.commit().unwrap();
    assert_eq!(s.stats().unwrap().events, 4, "bulk events are stored when the transaction commits");
    assert_eq!(s.verify().unwrap(), Vec::<String>::new(), "deferred events are no inconsistency");

    // A dropped bulk transaction leaves nothing to finish.
    let mut tx = s.begin_bulk().unwrap();
    tx.insert_event(&event("e5", b, "2026-06-05", "page_view", "/"), now).unwrap();
    drop(tx);

    // Reads see the deferred events before anything finishes them (another process's import,
    // or one that crashed, is visible to a running server at once).
    let keys = |s: &S, lead| s.events_of(lead, 10).unwrap().iter().map(|e| e.key.to_string()).collect::<Vec<_>>();
    assert_eq!(keys(s, a), ["e3", "e2", "e1"]);
    assert_eq!(s.activity(a).unwrap().len(), 3);
    assert_eq!(keys(s, b), ["e4"]);
    let request = ScanRequest { scope: ScanScope::NeedingRescore(v1), states_of: Some(v1), batch: 10 };
    let mut seen = Vec::new();
    s.scan_for_rescore(request, &mut |_, items| {
        seen.extend(items.into_iter().map(|i| (i.id, i.activity.len())));
        Ok(())
    })
    .unwrap();
    assert_eq!(seen, [(a, 3), (b, 1)], "their leads await a rescore, with every event");
    assert_eq!(keys(s, a), ["e3", "e2", "e1"], "the same after the scan");

    // The next ordinary unit of work finishes what a bulk transaction deferred, and sees it.
    let mut tx = s.begin_bulk().unwrap();
    tx.insert_event(&event("e6", b, "2026-06-06", "email_open", ""), now).unwrap();
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.activity_of(b).unwrap().len(), 2);
    tx.commit().unwrap();
    assert_eq!(s.activity(b).unwrap().len(), 2);
    assert_eq!(s.stats().unwrap().deferred_events, 0, "an ordinary unit of work finished them");
    assert_eq!(s.verify().unwrap(), Vec::<String>::new());

    // A batch says of each event what inserting it alone would.
    let other = add_lead(s, "other@example.com");
    let mut tx = s.begin_bulk().unwrap();
    let batch = [
        event("e7", b, "2026-06-07", "page_view", "/batch"),
        event("e4", b, "2026-06-04", "page_view", "/"),
        event("e1", other, "2026-06-01", "demo_requested", ""),
    ];
    let inserted = tx.insert_events(&batch, now).unwrap();
    assert_eq!(inserted, [Inserted::New, Inserted::Duplicate, Inserted::OtherLead(a)]);
    drop(tx);
    assert!(
        !s.shapes().unwrap().iter().any(|(_, shape)| shape.event_type.as_str() == "demo_requested"),
        "a taken key leaves no shape behind"
    );
}

pub fn api_keys_are_found_by_hash_until_revoked<S: Store>(s: &mut S) {
    keeping_url(s);
    let mut tx = s.begin().unwrap();
    let a = tx.create_api_key("website", Role::Ingest, "hash-a", "lf_1234", t("2026-01-01")).unwrap();
    let b = tx.create_api_key("ops", Role::Admin, "hash-b", "lf_5678", t("2026-01-02")).unwrap();
    tx.commit().unwrap();
    let found = s.api_key_by_hash("hash-a").unwrap().expect("live key");
    assert_eq!(
        (found.id, found.name.as_str(), found.role, found.prefix.as_str()),
        (a, "website", Role::Ingest, "lf_1234")
    );
    assert!(s.api_key_by_hash("nope").unwrap().is_none());
    let mut tx = s.begin().unwrap();
    assert!(tx.revoke_api_key(a, t("2026-02-01")).unwrap());
    assert!(!tx.revoke_api_key(a, t("2026-02-02")).unwrap(), "already revoked");
    tx.commit().unwrap();
    assert!(s.api_key_by_hash("hash-a").unwrap().is_none(), "a revoked key opens nothing");
    let keys = s.api_keys().unwrap();
    assert_eq!(keys.iter().map(|k| k.id).collect::<Vec<_>>(), [a, b]);
    assert_eq!(keys[0].revoked_at, Some(t("2026-02-01")));
    assert_eq!(keys[1].role, Role::Admin);
}

fn notification(lead: LeadId, topic: Topic, at: &str) -> Notification {
    Notification {
        topic,
        lead,
        email: Some(Email::parse("ana@example.com").unwrap()),
        external_id: Some(ExternalId::parse("00Q5g000004XyZA").unwrap()),
        at: t(at),
        score: Some(values(85.0, "hot")),
        previous_bucket: Some("warm".into()),
        detail: None,
    }
}

/// What is due at `at`, claimed with a lease that ends at once (a later claim may take it again).
fn claim_due<S: Store>(s: &mut S, at: &str) -> Vec<ClaimedDelivery> {
    let claim = DeliveryClaim { now: t(at), lease_until: t(at), per_webhook: 10, limit: 10 };
    s.claim_deliveries(&claim).unwrap()
}

fn record<S: Store>(s: &mut S, claimed: &ClaimedDelivery, outcome: &AttemptOutcome, at: &str) -> bool {
    s.record_attempt(claimed.ticket, claimed.delivery.id, outcome, t(at)).unwrap()
}

fn delivery_jobs<S: Store>(s: &S) -> Vec<JobRecord> {
    s.jobs(&JobQuery { kind: Some(DELIVERY_JOB.into()), status: None, limit: 100 }).unwrap()
}

pub fn notifications_fan_out_to_subscribed_webhooks<S: Store>(s: &mut S) {
    keeping_url(s);
    let lead = add_lead(s, "ana@example.com");
    let mut tx = s.begin().unwrap();
    let all = tx.create_webhook("https://a.example/hook", "sa", &Topic::ALL, t("2026-03-01")).unwrap();
    let mql = tx.create_webhook("https://b.example/hook", "sb", &[Topic::LeadMql], t("2026-03-01")).unwrap();
    tx.commit().unwrap();
    assert_eq!(
        s.webhooks().unwrap().iter().map(|w| (w.id, w.topics.len())).collect::<Vec<_>>(),
        [(all, Topic::ALL.len()), (mql, 1)]
    );

    // Notifications land with the score that caused them, or not at all.
    let mut write = score_write(lead, ModelVersion(1), 85.0, "hot");
    write.notifications = vec![notification(lead, Topic::LeadBucketChanged, "2026-03-02")];
    let mut tx = s.begin().unwrap();
    tx.write_score(&write).unwrap();
    drop(tx);
    assert_eq!(s.count_pending_deliveries().unwrap(), 0);
    assert!(delivery_jobs(s).is_empty());
    let mut tx = s.begin().unwrap();
    tx.write_score(&write).unwrap();
    tx.notify(&notification(lead, Topic::LeadMql, "2026-03-03")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.count_pending_deliveries().unwrap(), 3, "bucket change to one webhook, MQL to both");

    // Each delivery is a job of the queue: due when it happened, in its webhook's pool and in the
    // lane of its webhook and lead.
    let jobs = delivery_jobs(s);
    let history = s.deliveries(all, 10).unwrap();
    let bucket_job = jobs.iter().find(|j| j.key == history[1].id.to_string()).expect("the bucket change's job");
    assert_eq!((bucket_job.status, bucket_job.due_at), (JobStatus::Pending, t("2026-03-02")));
    assert_eq!(bucket_job.pool.as_deref(), Some(format!("webhook:{all}").as_str()));
    assert_eq!(bucket_job.lane.as_deref(), Some(format!("webhook:{all}:lead:{}", lead.0).as_str()));
    assert_eq!(bucket_job.payload, format!("{{\"webhook\":{all},\"topic\":\"lead.bucket_changed\"}}"));
    assert_eq!(bucket_job.max_attempts, DELIVERY_MAX_ATTEMPTS);

    assert!(claim_due(s, "2026-03-01").is_empty(), "nothing is due before it happened");
    let due = claim_due(s, "2026-03-04");
    let seen: Vec<(i64, Topic)> = due.iter().map(|c| (c.webhook.id, c.delivery.notification.topic)).collect();
    // One lead's deliveries to one webhook go in order: its MQL waits for its bucket change.
    assert_eq!(seen, [(all, Topic::LeadBucketChanged), (mql, Topic::LeadMql)]);
    let first = &due[0];
    assert_eq!(first.delivery.notification, notification(lead, Topic::LeadBucketChanged, "2026-03-02"));
    assert_eq!((first.webhook.url.as_str(), first.webhook.secret.as_str()), ("https://a.example/hook", "sa"));
    assert_eq!((first.delivery.attempts, first.ticket.attempt), (1, 1), "the running attempt counts");

    let retry = AttemptOutcome::Retry { status: Some(503), error: "busy".into(), next_attempt_at: t("2026-03-10") };
    assert!(record(s, first, &retry, "2026-03-04"));
    assert!(!record(s, first, &retry, "2026-03-04"), "an attempt is recorded once");
    let failed = AttemptOutcome::Failed { status: None, error: "connection refused".into() };
    assert!(record(s, &due[1], &failed, "2026-03-04"));
    assert!(claim_due(s, "2026-03-09").is_empty(), "the retry waits for its time, the MQL for it");
    let retried = &s.deliveries(all, 10).unwrap()[1];
    assert_eq!(
        (retried.status, retried.next_attempt_at, retried.last_status),
        (DeliveryStatus::Pending, t("2026-03-10"), Some(503))
    );
    assert_eq!(retried.last_error.as_deref(), Some("busy"));
    let due = claim_due(s, "2026-03-10");
    assert_eq!(due.iter().map(|c| c.delivery.notification.topic).collect::<Vec<_>>(), [Topic::LeadBucketChanged]);
    assert!(record(s, &due[0], &AttemptOutcome::Delivered { status: 200 }, "2026-03-10"));
    let due = claim_due(s, "2026-03-10");
    assert_eq!(due.iter().map(|c| c.delivery.notification.topic).collect::<Vec<_>>(), [Topic::LeadMql], "then the MQL");

    let history = s.deliveries(all, 10).unwrap();
    assert_eq!(history.len(), 2);
    let (mql_one, bucket_one) = (&history[0], &history[1]);
    assert_eq!((mql_one.status, mql_one.attempts, mql_one.last_status), (DeliveryStatus::Pending, 1, None));
    assert_eq!(
        (bucket_one.status, bucket_one.attempts, bucket_one.last_status, bucket_one.last_error.as_deref()),
        (DeliveryStatus::Delivered, 2, Some(200), None)
    );
    assert_eq!(bucket_one.delivered_at, Some(t("2026-03-10")));
    let given_up = &s.deliveries(mql, 10).unwrap()[0];
    assert_eq!((given_up.status, given_up.delivered_at), (DeliveryStatus::Failed, None));
    assert_eq!(given_up.last_error.as_deref(), Some("connection refused"));

    let mut tx = s.begin().unwrap();
    assert!(tx.delete_webhook(all, t("2026-03-05")).unwrap());
    assert!(!tx.delete_webhook(all, t("2026-03-05")).unwrap());
    tx.notify(&notification(lead, Topic::LeadMql, "2026-03-06")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.deliveries(all, 10).unwrap()[0].status, DeliveryStatus::Cancelled, "the pending MQL");
    assert!(!record(s, &due[0], &AttemptOutcome::Delivered { status: 200 }, "2026-03-06"), "its sender's answer");
    assert_eq!(s.count_pending_deliveries().unwrap(), 1, "only the live webhook hears of later news");
    assert_eq!(s.webhooks().unwrap().len(), 1);

    // Tracking news: of a lead not scored yet, with what happened.
    let mut tx = s.begin().unwrap();
    let tracking = tx
        .create_webhook("https://c.example/hook", "sc", &[Topic::LeadAssigned, Topic::SlaBreached], t("2026-03-06"))
        .unwrap();
    let assigned = Notification {
        topic: Topic::LeadAssigned,
        score: None,
        detail: Some(NotificationDetail::Assigned {
            owner: "ana".into(),
            previous_owner: None,
            reason: "round robin in rule `emea` (1 of 3)".into(),
        }),
        ..notification(lead, Topic::LeadAssigned, "2026-03-07")
    };
    let breached = Notification {
        topic: Topic::SlaBreached,
        detail: Some(NotificationDetail::SlaBreached {
            clock: 7,
            rule: "accept-mql".into(),
            rule_name: "Accept or reject an MQL".into(),
            owner: Some("ana".into()),
            due_at: Some(t("2026-03-07T13:00:00Z")),
        }),
        ..notification(lead, Topic::SlaBreached, "2026-03-08")
    };
    tx.notify(&assigned).unwrap();
    tx.notify(&breached).unwrap();
    tx.commit().unwrap();
    let news: Vec<Notification> = s.deliveries(tracking, 10).unwrap().into_iter().map(|d| d.notification).collect();
    assert_eq!(news, [breached, assigned], "newest first, as sent");

    // Finished deliveries go with their jobs when those are pruned; pending ones stay.
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.prune_jobs(t("2026-03-11"), 2).unwrap(), 2, "the oldest finished: the failed and the cancelled");
    tx.commit().unwrap();
    let kept: Vec<DeliveryStatus> = s.deliveries(all, 10).unwrap().iter().map(|d| d.status).collect();
    assert_eq!(kept, [DeliveryStatus::Delivered], "the one finished last");
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.prune_jobs(t("2026-03-11"), 100).unwrap(), 1, "then the delivered one");
    tx.commit().unwrap();
    assert!(s.deliveries(all, 10).unwrap().is_empty());
    assert_eq!(s.deliveries(mql, 10).unwrap().len(), 1, "the MQL of 2026-03-06, still pending");
    assert_eq!(s.deliveries(tracking, 10).unwrap().len(), 2);
    assert_eq!(delivery_jobs(s).len(), 3);
    assert_eq!(s.verify().unwrap(), Vec::<String>::new(), "every delivery has its job, and every job its delivery");

    // Erasing the lead erases the deliveries that name it, and their jobs.
    let mut tx = s.begin().unwrap();
    tx.delete_lead(lead).unwrap();
    tx.commit().unwrap();
    assert!(s.deliveries(mql, 10).unwrap().is_empty());
    assert!(s.deliveries(tracking, 10).unwrap().is_empty());
    assert!(delivery_jobs(s).is_empty());
    assert_eq!(s.count_pending_deliveries().unwrap(), 0);
    assert_eq!(s.verify().unwrap(), Vec::<String>::new());
}

/// Each due delivery goes to one claimer until its lease ends: a second claim at the same time
/// gets none of the first's, a receiver's share counts every claim it holds, one lead's later
/// delivery to a webhook waits for the earlier one, and a lease that ends (its sender died) lets
/// another claim the delivery again, after which the first sender's answer is not recorded.
pub fn claims_go_to_one_sender_until_their_lease_ends<S: Store>(s: &mut S) {
    keeping_url(s);
    let (ana, ben, cid) =
        (add_lead(s, "ana@example.com"), add_lead(s, "ben@example.com"), add_lead(s, "cid@example.com"));
    let mut tx = s.begin().unwrap();
    let hook = tx
        .create_webhook("https://a.example/hook", "sa", &[Topic::LeadMql, Topic::LeadCreated], t("2026-03-01"))
        .unwrap();
    for lead in [ana, ben, cid] {
        tx.notify(&notification(lead, Topic::LeadCreated, "2026-03-02")).unwrap();
    }
    tx.notify(&notification(ana, Topic::LeadMql, "2026-03-02")).unwrap();
    tx.commit().unwrap();
    let claim = |s: &mut S, now: &str, lease: &str, per_webhook: usize| -> Vec<ClaimedDelivery> {
        let claim = DeliveryClaim { now: t(now), lease_until: t(lease), per_webhook, limit: 10 };
        s.claim_deliveries(&claim).unwrap()
    };
    let named = |claimed: &[ClaimedDelivery]| -> Vec<(LeadId, Topic)> {
        claimed.iter().map(|c| (c.delivery.notification.lead, c.delivery.notification.topic)).collect()
    };
    let first = claim(s, "2026-03-03", "2026-03-04", 2);
    assert_eq!(
        named(&first),
        [(ana, Topic::LeadCreated), (ben, Topic::LeadCreated)],
        "the receiver's share: two at a time"
    );
    assert_eq!(named(&claim(s, "2026-03-03", "2026-03-04", 2)), [], "the share is taken, by whoever claimed it");
    let third = claim(s, "2026-03-03", "2026-03-04", 3);
    assert_eq!(named(&third), [(cid, Topic::LeadCreated)], "ana's MQL waits for ana's creation, which is claimed");
    // Ana's is answered; ben's sender dies; the lease ends.
    assert!(record(s, &first[0], &AttemptOutcome::Delivered { status: 204 }, "2026-03-03"));
    assert_eq!(named(&claim(s, "2026-03-03", "2026-03-04", 3)), [(ana, Topic::LeadMql)], "then ana's MQL");
    let again = claim(s, "2026-03-05", "2026-03-06", 10);
    assert_eq!(again.len(), 3, "every lease ended: ben's, cid's and ana's MQL go to a new sender: {:?}", named(&again));
    assert!(named(&again).contains(&(ben, Topic::LeadCreated)));
    assert!(again.iter().all(|c| c.delivery.attempts == 2), "the lost attempts count");
    // Ben's first sender answers at last: too late, the second sender's claim holds it.
    assert!(!record(s, &first[1], &AttemptOutcome::Delivered { status: 200 }, "2026-03-05"));
    let bens = again.iter().find(|c| c.delivery.notification.lead == ben).unwrap();
    assert!(record(s, bens, &AttemptOutcome::Delivered { status: 202 }, "2026-03-05"));
    let ben_delivery = s.deliveries(hook, 10).unwrap().into_iter().find(|d| d.id == bens.delivery.id).unwrap();
    assert_eq!((ben_delivery.status, ben_delivery.last_status), (DeliveryStatus::Delivered, Some(202)));
}

fn job<'a>(kind: &'a str, key: &'a str, due: &str) -> NewJob<'a> {
    NewJob::new(kind, key, t(due), "{\"n\":1}", 2)
}

fn claim_jobs<S: Store>(s: &mut S, now: &str, lease_until: &str, kinds: &[&str]) -> Vec<JobRecord> {
    s.claim_jobs(&JobClaim { now: t(now), lease_until: t(lease_until), kinds, limit: 10, per_pool: None }).unwrap()
}

fn enqueue<S: Store>(s: &mut S, job: &NewJob<'_>) -> Enqueued {
    let mut tx = s.begin().unwrap();
    let queued = tx.enqueue_job(job, t("2026-07-01")).unwrap();
    tx.commit().unwrap();
    queued
}

fn finish<S: Store>(s: &mut S, job: &JobRecord, outcome: JobOutcome, at: &str) -> bool {
    let mut tx = s.begin().unwrap();
    let finished = tx.finish_job(job.ticket(), &outcome, t(at)).unwrap();
    tx.commit().unwrap();
    finished
}

pub fn jobs_are_queued_once_per_key_and_claimed_when_due<S: Store>(s: &mut S) {
    let first = enqueue(s, &job("sweep", "1", "2026-07-01T10:00:00Z"));
    assert!(matches!(first, Enqueued::New(_)));
    assert_eq!(enqueue(s, &job("sweep", "1", "2026-07-01T11:00:00Z")), Enqueued::Existing(first.id()), "same key");
    let other_kind = enqueue(s, &job("rescore", "1", "2026-07-01T09:00:00Z"));
    assert!(matches!(other_kind, Enqueued::New(_)), "keys are per kind");
    enqueue(s, &job("sweep", "2", "2026-07-01T12:00:00Z"));
    {
        // Queued in a unit of work that does not commit: nothing.
        let mut tx = s.begin().unwrap();
        tx.enqueue_job(&job("sweep", "3", "2026-07-01T09:00:00Z"), t("2026-07-01")).unwrap();
    }
    assert!(claim_jobs(s, "2026-07-01T09:59:59Z", "2026-07-01T10:05:00Z", &["sweep"]).is_empty(), "not due yet");
    let claimed = claim_jobs(s, "2026-07-01T12:00:00Z", "2026-07-01T12:05:00Z", &["sweep"]);
    let keys: Vec<&str> = claimed.iter().map(|j| j.key.as_str()).collect();
    assert_eq!(keys, ["1", "2"], "due ones of the kinds asked for, soonest due first");
    let one = &claimed[0];
    assert_eq!((one.kind.as_str(), one.payload.as_str(), one.attempts), ("sweep", "{\"n\":1}", 1));
    assert_eq!(one.claimed_until, Some(t("2026-07-01T12:05:00Z")));
    assert_eq!(one.due_at, t("2026-07-01T10:00:00Z"), "the first queueing's due time stands");
    assert!(claim_jobs(s, "2026-07-01T12:01:00Z", "2026-07-01T12:06:00Z", &["sweep"]).is_empty(), "leased");

    assert!(finish(s, one, JobOutcome::Done, "2026-07-01T12:01:00Z"));
    assert!(!finish(s, one, JobOutcome::Done, "2026-07-01T12:01:00Z"), "finished already");
    assert_eq!(enqueue(s, &job("sweep", "1", "2026-07-02")), Enqueued::Existing(first.id()), "done keys stay taken");
    let retry = JobOutcome::Retry { error: "receiver down".into(), at: t("2026-07-01T13:00:00Z") };
    assert!(finish(s, &claimed[1], retry, "2026-07-01T12:01:00Z"));
    assert!(claim_jobs(s, "2026-07-01T12:30:00Z", "2026-07-01T12:35:00Z", &["sweep"]).is_empty(), "retry later");
    let again = claim_jobs(s, "2026-07-01T13:00:00Z", "2026-07-01T13:05:00Z", &["sweep"]);
    assert_eq!((again.len(), again[0].attempts), (1, 2));
    assert_eq!(again[0].last_error.as_deref(), Some("receiver down"));
    let failed = JobOutcome::Failed { error: "still down".into() };
    assert!(finish(s, &again[0], failed, "2026-07-01T13:01:00Z"));

    let listed = s.jobs(&JobQuery { kind: Some("sweep".into()), status: None, limit: 10 }).unwrap();
    let statuses: Vec<(&str, JobStatus)> = listed.iter().map(|j| (j.key.as_str(), j.status)).collect();
    assert_eq!(statuses, [("2", JobStatus::Failed), ("1", JobStatus::Done)], "newest first");
    assert_eq!(listed[1].finished_at, Some(t("2026-07-01T12:01:00Z")));
    let counts: Vec<(String, JobStatus, u64)> =
        s.job_counts().unwrap().into_iter().map(|c| (c.kind, c.status, c.count)).collect();
    assert_eq!(
        counts,
        [
            ("rescore".to_string(), JobStatus::Pending, 1),
            ("sweep".to_string(), JobStatus::Done, 1),
            ("sweep".to_string(), JobStatus::Failed, 1)
        ]
    );

    let mut tx = s.begin().unwrap();
    assert!(tx.cancel_job("rescore", "1", t("2026-07-01T14:00:00Z")).unwrap());
    assert!(!tx.cancel_job("rescore", "1", t("2026-07-01T14:00:00Z")).unwrap(), "cancelled already");
    assert_eq!(tx.prune_jobs(t("2026-07-01T13:00:00Z"), 100).unwrap(), 1, "what finished before then");
    tx.commit().unwrap();
    assert!(claim_jobs(s, "2026-07-02", "2026-07-03", &["rescore"]).is_empty(), "cancelled jobs are not claimed");
    assert!(matches!(enqueue(s, &job("sweep", "1", "2026-07-02")), Enqueued::New(_)), "a pruned key is free");
}

pub fn a_job_claimed_again_after_its_lease_cannot_be_finished_by_the_first_claimer<S: Store>(s: &mut S) {
    enqueue(s, &job("sweep", "1", "2026-07-01T10:00:00Z"));
    let first = claim_jobs(s, "2026-07-01T10:00:00Z", "2026-07-01T10:05:00Z", &["sweep"]).remove(0);
    // The first claimer is gone (or slow) past its lease: another takes the job.
    let second = claim_jobs(s, "2026-07-01T10:05:00Z", "2026-07-01T10:10:00Z", &["sweep"]).remove(0);
    assert_eq!((second.id, second.attempts), (first.id, 2));
    assert!(!finish(s, &first, JobOutcome::Done, "2026-07-01T10:06:00Z"), "the first claim no longer holds it");
    let pending = s.jobs(&JobQuery { kind: None, status: Some(JobStatus::Pending), limit: 10 }).unwrap();
    assert_eq!(pending.len(), 1, "nothing changed");
    // Its every attempt (two) ran out its lease: given up, not claimed a third time.
    assert!(claim_jobs(s, "2026-07-01T10:10:00Z", "2026-07-01T10:15:00Z", &["sweep"]).is_empty());
    let failed = s.jobs(&JobQuery { kind: None, status: Some(JobStatus::Failed), limit: 10 }).unwrap();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].last_error.as_deref().unwrap().contains("lease"), "{:?}", failed[0].last_error);
    assert!(!finish(s, &second, JobOutcome::Done, "2026-07-01T10:16:00Z"), "nor can the second, once given up");
}

/// Jobs of one lane are claimed one at a time in the order queued, whenever each is due; jobs of
/// one pool at most `per_pool` at a time, every running lease counted; jobs in neither are held
/// back by nothing.
pub fn lanes_keep_their_order_and_pools_their_share<S: Store>(s: &mut S) {
    let lane_job = |key: &'static str, due: &str, lane: &'static str, pool: &'static str| NewJob {
        lane: Some(lane),
        pool: Some(pool),
        ..job("send", key, due)
    };
    // Lane `a`: a1 is due after a2, but was queued first.
    enqueue(s, &lane_job("a1", "2026-07-01T10:05:00Z", "a", "p"));
    enqueue(s, &lane_job("a2", "2026-07-01T10:00:00Z", "a", "p"));
    enqueue(s, &lane_job("b1", "2026-07-01T10:00:00Z", "b", "p"));
    enqueue(s, &lane_job("c1", "2026-07-01T10:00:00Z", "c", "p"));
    enqueue(s, &lane_job("d1", "2026-07-01T10:00:00Z", "d", "q"));
    enqueue(s, &job("send", "free", "2026-07-01T10:00:00Z"));
    let claim = |s: &mut S, now: &str, per_pool: usize| -> Vec<JobRecord> {
        let claim = JobClaim {
            now: t(now),
            lease_until: t("2026-07-01T11:00:00Z"),
            kinds: &["send"],
            limit: 10,
            per_pool: Some(per_pool),
        };
        s.claim_jobs(&claim).unwrap()
    };
    let keys = |jobs: &[JobRecord]| -> Vec<String> { jobs.iter().map(|j| j.key.clone()).collect() };
    let first = claim(s, "2026-07-01T10:01:00Z", 1);
    assert_eq!(keys(&first), ["b1", "d1", "free"], "a2 waits for a1 (not due); one of pool p, one of q, the free one");
    assert_eq!((first[0].lane.as_deref(), first[0].pool.as_deref()), (Some("b"), Some("p")));
    assert!(claim(s, "2026-07-01T10:06:00Z", 1).is_empty(), "pool p's one place is b1's");
    let second = claim(s, "2026-07-01T10:06:00Z", 3);
    assert_eq!(keys(&second), ["c1", "a1"], "two more places: soonest due first");
    assert!(claim(s, "2026-07-01T10:06:00Z", 5).is_empty(), "a2 waits for a1, which is claimed");
    let retry = JobOutcome::Retry { error: "later".into(), at: t("2026-07-01T12:00:00Z") };
    assert!(finish(s, &second[1], retry, "2026-07-01T10:07:00Z"));
    for done in first.iter().chain(&second[..1]) {
        assert!(finish(s, done, JobOutcome::Done, "2026-07-01T10:07:00Z"));
    }
    assert!(claim(s, "2026-07-01T10:08:00Z", 5).is_empty(), "a2 waits for a1's retry too");
    let retried = claim(s, "2026-07-01T12:00:00Z", 5);
    assert_eq!(keys(&retried), ["a1"], "its retry, while a2 waits still");
    assert!(finish(s, &retried[0], JobOutcome::Done, "2026-07-01T12:00:00Z"));
    assert_eq!(keys(&claim(s, "2026-07-01T12:00:00Z", 5)), ["a2"], "then a2");

    // A retry asked of a job with no attempt left fails it, so that its lane moves on.
    enqueue(s, &NewJob { max_attempts: 1, lane: Some("z"), ..job("solo", "z1", "2026-07-01T10:00:00Z") });
    enqueue(s, &NewJob { lane: Some("z"), ..job("solo", "z2", "2026-07-01T10:00:00Z") });
    let z1 = claim_jobs(s, "2026-07-01T10:00:00Z", "2026-07-01T10:05:00Z", &["solo"]);
    assert_eq!(keys(&z1), ["z1"]);
    let retry = JobOutcome::Retry { error: "receiver down".into(), at: t("2026-07-01T10:10:00Z") };
    assert!(finish(s, &z1[0], retry, "2026-07-01T10:01:00Z"));
    let z1 = s.jobs(&JobQuery { kind: Some("solo".into()), status: Some(JobStatus::Failed), limit: 10 }).unwrap();
    assert_eq!((keys(&z1), z1[0].last_error.as_deref()), (vec!["z1".to_string()], Some("receiver down")));
    assert_eq!(z1[0].finished_at, Some(t("2026-07-01T10:01:00Z")));
    assert_eq!(keys(&claim_jobs(s, "2026-07-01T10:01:00Z", "2026-07-01T10:05:00Z", &["solo"])), ["z2"]);

    // A pool's share holds across the kinds one claim asks for; a kind named twice counts once.
    enqueue(s, &NewJob { pool: Some("shared"), ..job("mail", "m1", "2026-07-01T10:00:00Z") });
    enqueue(s, &NewJob { pool: Some("shared"), ..job("sms", "s1", "2026-07-01T10:00:00Z") });
    let kinds = ["sms", "mail", "sms"];
    let shared = JobClaim {
        now: t("2026-07-01T10:00:00Z"),
        lease_until: t("2026-07-01T10:05:00Z"),
        kinds: &kinds,
        limit: 10,
        per_pool: Some(1),
    };
    let both = s.claim_jobs(&shared).unwrap();
    assert_eq!((keys(&both), both[0].attempts), (vec!["m1".to_string()], 1), "the sooner queued, once");
    assert!(s.claim_jobs(&shared).unwrap().is_empty(), "the pool's one place is taken");
}

pub fn visitors_gather_events_until_identified<S: Store>(s: &mut S) {
    keeping_url(s);
    let visitor = VisitorId::parse("visitor-0001").unwrap();
    let anonymous = |key: &str, ts: &str, url: &str| AnonymousEvent {
        key: EventKey::parse(key).unwrap(),
        visitor: visitor.clone(),
        ts: t(ts),
        shape: shape("page_view", url),
    };
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.visitor_lead(&visitor).unwrap(), None);
    let new_shape = anonymous("v2", "2026-02-02", "/a-page-never-seen");
    assert_eq!(tx.insert_anonymous(&new_shape, t("2026-02-02")).unwrap(), Inserted::New);
    assert_eq!(
        tx.insert_anonymous(&anonymous("v1", "2026-02-01", "/pricing"), t("2026-02-02")).unwrap(),
        Inserted::New
    );
    assert_eq!(
        tx.insert_anonymous(&anonymous("v1", "2026-02-01", "/pricing"), t("2026-02-02")).unwrap(),
        Inserted::Duplicate
    );
    tx.commit().unwrap();

    let lead = add_lead(s, "ana@example.com");
    let mut tx = s.begin().unwrap();
    let handed = tx.identify_visitor(&visitor, lead, t("2026-02-03")).unwrap();
    assert_eq!(handed, [anonymous("v1", "2026-02-01", "/pricing"), new_shape]);
    assert_eq!(tx.visitor_lead(&visitor).unwrap(), Some(lead));
    assert!(tx.identify_visitor(&visitor, lead, t("2026-02-04")).unwrap().is_empty(), "handed over once");
    tx.commit().unwrap();

    let mut tx = s.begin().unwrap();
    tx.delete_lead(lead).unwrap();
    assert_eq!(tx.visitor_lead(&visitor).unwrap(), None, "erasing the lead forgets its visitors");
    tx.commit().unwrap();
}

pub fn public_quota_is_per_lead_per_day_and_expires<S: Store>(s: &mut S) {
    keeping_url(s);
    let (a, b) = (add_lead(s, "ana@example.com"), add_lead(s, "ben@example.com"));
    let day = t("2026-02-02").day_index();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.take_public_quota(a, day, 3, 5).unwrap(), 3);
    assert_eq!(tx.take_public_quota(a, day, 3, 5).unwrap(), 2, "what is left of the day's 5");
    assert_eq!(tx.take_public_quota(a, day, 1, 5).unwrap(), 0);
    assert_eq!(tx.take_public_quota(b, day, 4, 5).unwrap(), 4, "per lead");
    assert_eq!(tx.take_public_quota(a, day + 1, 5, 5).unwrap(), 5, "per day");
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    assert_eq!(tx.take_public_quota(a, day, 1, 5).unwrap(), 0, "counted durably");
    drop(tx);

    let visitor = VisitorId::parse("visitor-0002").unwrap();
    let anonymous = |key: &str| AnonymousEvent {
        key: EventKey::parse(key).unwrap(),
        visitor: visitor.clone(),
        ts: t("2026-02-01"),
        shape: shape("page_view", "/"),
    };
    let mut tx = s.begin().unwrap();
    tx.insert_anonymous(&anonymous("old"), t("2026-01-01")).unwrap();
    tx.insert_anonymous(&anonymous("new"), t("2026-02-01")).unwrap();
    assert_eq!(tx.expire_anonymous(t("2026-01-15")).unwrap(), 1);
    let kept: Vec<String> =
        tx.identify_visitor(&visitor, a, t("2026-02-03")).unwrap().into_iter().map(|e| e.key.to_string()).collect();
    assert_eq!(kept, ["new"]);
    tx.commit().unwrap();
    let mut tx = s.begin().unwrap();
    tx.expire_anonymous(t("2026-02-05")).unwrap();
    assert_eq!(tx.take_public_quota(a, day, 1, 5).unwrap(), 1, "a day's count goes once the day is over");
    tx.delete_lead(b).unwrap();
    assert_eq!(tx.take_public_quota(b, day + 10, 5, 5).unwrap(), 5);
    tx.commit().unwrap();
}

pub fn outcomes_are_kept_replaced_and_erased<S: Store>(s: &mut S) {
    keeping_url(s);
    let (a, b) = (add_lead(s, "ana@example.com"), add_lead(s, "ben@example.com"));
    let won = Outcome { kind: OutcomeKind::Won, at: t("2026-05-01") };
    let lost = Outcome { kind: OutcomeKind::Lost, at: t("2026-05-02") };
    let mut tx = s.begin().unwrap();
    tx.set_outcome(b, Some(lost), t("2026-05-03")).unwrap();
    tx.set_outcome(a, Some(lost), t("2026-05-03")).unwrap();
    tx.set_outcome(a, Some(won), t("2026-05-04")).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.outcomes().unwrap(), [(a, won), (b, lost)], "by lead, the latest");
    let mut tx = s.begin().unwrap();
    tx.set_outcome(b, None, t("2026-05-05")).unwrap();
    tx.delete_lead(a).unwrap();
    tx.commit().unwrap();
    assert!(s.outcomes().unwrap().is_empty(), "cleared, and erased with its lead");
}

pub fn trained_models_and_predictions<S: Store>(s: &mut S) {
    keeping_url(s);
    let (a, b) = (add_lead(s, "ana@example.com"), add_lead(s, "ben@example.com"));
    let mut tx = s.begin().unwrap();
    let v1 = tx.save_trained("first", b"\x00artifact one", t("2026-06-01")).unwrap();
    let v2 = tx.save_trained("second", b"two", t("2026-06-02")).unwrap();
    tx.activate_trained(v1, t("2026-06-03")).unwrap();
    tx.activate_trained(v2, t("2026-06-04")).unwrap();
    assert!(matches!(tx.activate_trained(999, t("2026-06-04")), Err(StoreError::NoSuchModel(999))));
    tx.commit().unwrap();
    let models = s.trained_models().unwrap();
    assert_eq!(models.iter().map(|m| (m.version, m.active)).collect::<Vec<_>>(), [(v1, false), (v2, true)]);
    assert_eq!(models[0].artifact, b"\x00artifact one", "bytes kept as given");

    s.write_predictions(v1, t("2026-06-05"), &[(a, 0.25), (b, 0.5)]).unwrap();
    s.write_predictions(v2, t("2026-06-06"), &[(a, 0.75)]).unwrap();
    let p = s.prediction(a).unwrap().unwrap();
    assert_eq!((p.version, p.probability, p.at), (v2, 0.75, t("2026-06-06")));
    assert_eq!(s.prediction(b).unwrap().unwrap().version, v1);
    let mut tx = s.begin().unwrap();
    tx.delete_lead(a).unwrap();
    tx.commit().unwrap();
    assert_eq!(s.prediction(a).unwrap(), None, "erased with its lead");
}

#[cfg(test)]
mod tests {
    /// A check written but not listed in `conformance_tests!` would run on no backend.
    #[test]
    fn every_check_is_listed() {
        let source = include_str!("conformance.rs");
        let (listed, body) = source.split_once("(@checks $fresh:expr;").expect("the macro's second arm");
        let listed: std::collections::BTreeSet<&str> = listed
            .rsplit_once("(@checks $fresh;")
            .expect("the macro's first arm")
            .1
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty() && !name.contains(')'))
            .collect();
        let checks: std::collections::BTreeSet<&str> = [body, include_str!("conformance/nurture.rs")]
            .into_iter()
            .flat_map(str::lines)
            .filter_map(|l| l.strip_prefix("pub fn "))
            .filter(|l| l.contains("<S: Store>(s: &mut S)"))
            .map(|l| &l[..l.find('<').unwrap()])
            .collect();
        assert_eq!(listed, checks);
    }
}
