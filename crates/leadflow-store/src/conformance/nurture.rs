//! Checks of what nurture sequences keep: enrollments moving through their steps, the emails
//! they send, the do-not-contact list.

use leadflow_core::contact::{Channel, SuppressionReason};

use super::{add_lead, score_write, set_scores, t};
use crate::*;

fn enroll_at<S: Store>(s: &mut S, lead: LeadId, sequence: &str, due: &str) -> i64 {
    let new = NewEnrollment {
        lead,
        sequence,
        version: RuleFileVersion(1),
        step: "first",
        due_at: t(due),
        enrolled_by: "cli",
    };
    let mut tx = s.begin().unwrap();
    let id = tx.enroll(&new, t("2026-06-01")).unwrap().unwrap();
    tx.commit().unwrap();
    id
}

pub fn due_enrollments_are_read_soonest_first_and_move_on_once_per_run<S: Store>(s: &mut S) {
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let late = enroll_at(s, ana, "trial", "2026-06-03");
    let early = enroll_at(s, bo, "trial", "2026-06-02");
    let same_time = enroll_at(s, ana, "winback", "2026-06-02");
    let future = enroll_at(s, bo, "winback", "2026-07-01");
    let ids = |v: Vec<EnrollmentRecord>| v.into_iter().map(|e| e.id).collect::<Vec<_>>();
    let now = t("2026-06-10");
    assert_eq!(ids(s.due_enrollments(now, None, 10).unwrap()), [early, same_time, late], "soonest, then by id");
    let first = &s.due_enrollments(now, None, 1).unwrap()[0];
    assert_eq!((first.id, first.runs), (early, 0));
    let page = ids(s.due_enrollments(now, Some((first.due_at.unwrap(), first.id)), 10).unwrap());
    assert_eq!(page, [same_time, late], "after the page's last");
    assert!(ids(s.due_enrollments(t("2026-06-01"), None, 10).unwrap()).is_empty(), "none due yet");

    // It moves on once per run: a second mover of the same run finds it moved.
    let mut tx = s.begin().unwrap();
    assert!(tx.advance_enrollment(early, 0, "second", t("2026-06-20")).unwrap());
    assert!(!tx.advance_enrollment(early, 0, "elsewhere", t("2026-06-05")).unwrap(), "run 0 is over");
    assert!(tx.advance_enrollment(early, 1, "third", t("2026-06-21")).unwrap());
    tx.commit().unwrap();
    let moved = s.enrollments(&EnrollmentQuery { lead: Some(bo), sequence: Some("trial".into()), ..q(1) }).unwrap();
    assert_eq!((moved[0].step.as_deref(), moved[0].due_at, moved[0].runs), (Some("third"), Some(t("2026-06-21")), 2));
    assert_eq!(ids(s.due_enrollments(now, None, 10).unwrap()), [same_time, late]);
    assert_eq!(ids(s.due_enrollments(t("2026-07-02"), None, 10).unwrap()), [same_time, late, early, future]);

    // An exited enrollment is never due, and does not move.
    let mut tx = s.begin().unwrap();
    assert!(tx.exit_enrollment(late, "replied", t("2026-06-04")).unwrap());
    assert!(!tx.advance_enrollment(late, 0, "second", t("2026-06-05")).unwrap(), "exited");
    let all: Vec<i64> = tx.enrollments_now(ana, None).unwrap().into_iter().map(|e| e.id).collect();
    assert_eq!(all, [same_time, late], "every sequence's, newest first");
    tx.commit().unwrap();
    assert_eq!(ids(s.due_enrollments(now, None, 10).unwrap()), [same_time]);
}

fn q(limit: usize) -> EnrollmentQuery {
    EnrollmentQuery { limit, ..Default::default() }
}

pub fn a_send_is_planned_once_per_run_and_kept_with_what_went_out<S: Store>(s: &mut S) {
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let enrollment = enroll_at(s, ana, "trial", "2026-06-02");
    let other = enroll_at(s, bo, "trial", "2026-06-02");
    let send = |enrollment, run, lead, due| NewSend {
        enrollment,
        run,
        lead,
        sequence: "trial",
        step: "tips",
        variant: Some("short"),
        template: "tips-short",
        due_at: t(due),
    };
    let mut tx = s.begin().unwrap();
    let first = tx.schedule_send(&send(enrollment, 0, ana, "2026-06-02"), t("2026-06-01")).unwrap().unwrap();
    assert_eq!(tx.schedule_send(&send(enrollment, 0, ana, "2026-06-09"), t("2026-06-01")).unwrap(), None, "once");
    let second = tx.schedule_send(&send(enrollment, 3, ana, "2026-06-05"), t("2026-06-01")).unwrap().unwrap();
    let bos = tx.schedule_send(&send(other, 0, bo, "2026-06-02"), t("2026-06-01")).unwrap().unwrap();
    let planned = tx.send_now(first).unwrap().unwrap();
    assert_eq!(
        (planned.status, planned.run, planned.variant.as_deref(), planned.template.as_str(), planned.due_at),
        (SendStatus::Scheduled, 0, Some("short"), "tips-short", t("2026-06-02"))
    );
    assert_eq!((planned.to, planned.message_id, planned.sent_at), (None, None, None));

    // Sent: what went out is kept, and counts for the cap from when it went.
    let out = SentEmail {
        to: "ana@example.com",
        from: "Kim <kim@yourco.example>",
        message_id: "<send-1@yourco.example>",
        template_version: 7,
        at: t("2026-06-02T09:00:00Z"),
    };
    tx.mark_sent(first, &out).unwrap();
    tx.postpone_send(second, t("2026-06-08")).unwrap();
    let mut times = tx.lead_send_times(ana, t("2026-06-01")).unwrap();
    times.sort();
    assert_eq!(times, [t("2026-06-02T09:00:00Z"), t("2026-06-08")], "sent at, and planned for");
    assert_eq!(tx.lead_send_times(ana, t("2026-06-03")).unwrap(), [t("2026-06-08")], "since");
    assert!(!tx.end_send(first, SendStatus::Failed, "late").unwrap(), "a sent email stays sent");

    // Cancelled with its enrollment: no longer counted.
    assert_eq!(tx.cancel_sends(enrollment, "replied").unwrap(), 1);
    assert_eq!(tx.cancel_sends(enrollment, "again").unwrap(), 0);
    assert_eq!(tx.lead_send_times(ana, t("2026-06-01")).unwrap(), [t("2026-06-02T09:00:00Z")]);
    assert!(tx.end_send(bos, SendStatus::Failed, "550 no such user").unwrap());
    tx.commit().unwrap();

    let all = s.sends(&SendQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap();
    assert_eq!(all.iter().map(|x| x.id).collect::<Vec<_>>(), [second, first], "newest first");
    let sent = &all[1];
    assert_eq!(
        (sent.status, sent.to.as_deref(), sent.from.as_deref(), sent.message_id.as_deref()),
        (SendStatus::Sent, Some(out.to), Some(out.from), Some(out.message_id))
    );
    assert_eq!((sent.template_version, sent.sent_at), (Some(7), Some(out.at)));
    assert_eq!(
        (all[0].status, all[0].error.as_deref(), all[0].due_at),
        (SendStatus::Cancelled, Some("replied"), t("2026-06-08"))
    );
    let failed = s.sends(&SendQuery { enrollment: Some(other), limit: 10, ..Default::default() }).unwrap();
    assert_eq!((failed[0].status, failed[0].error.as_deref()), (SendStatus::Failed, Some("550 no such user")));
    let of_sequence = s.sends(&SendQuery { sequence: Some("trial".into()), limit: 2, ..Default::default() }).unwrap();
    assert_eq!(of_sequence.iter().map(|x| x.id).collect::<Vec<_>>(), [bos, second], "at most the limit");

    // A lead deleted takes its sends with it.
    let mut tx = s.begin().unwrap();
    tx.delete_lead(ana).unwrap();
    tx.commit().unwrap();
    assert!(s.sends(&SendQuery { lead: Some(ana), limit: 10, ..Default::default() }).unwrap().is_empty());
    assert_eq!(s.sends(&SendQuery { limit: 10, ..Default::default() }).unwrap().len(), 1, "the other lead's stay");
}

pub fn the_do_not_contact_list_keeps_one_entry_per_address_and_channel<S: Store>(s: &mut S) {
    let entry = |address, channel, reason, note| NewDoNotContact { address, channel, reason, note, created_by: "cli" };
    let mut tx = s.begin().unwrap();
    let unsubscribed = entry("ana@example.com", Channel::Email, SuppressionReason::Unsubscribed, None);
    assert!(tx.add_do_not_contact(&unsubscribed, t("2026-06-01")).unwrap());
    let bounced = entry("ana@example.com", Channel::Email, SuppressionReason::Bounced, Some("550"));
    assert!(!tx.add_do_not_contact(&bounced, t("2026-06-02")).unwrap(), "listed already: the first reason stays");
    let phone = entry("ana@example.com", Channel::Phone, SuppressionReason::Manual, Some("asked on a call"));
    assert!(tx.add_do_not_contact(&phone, t("2026-06-03")).unwrap(), "another channel");
    assert!(
        tx.add_do_not_contact(
            &entry("bo@example.com", Channel::Email, SuppressionReason::Complained, None),
            t("2026-06-04")
        )
        .unwrap()
    );
    let seen = tx.do_not_contact_now("ana@example.com", Channel::Email).unwrap().unwrap();
    assert_eq!((seen.reason, seen.created_at, seen.note), (SuppressionReason::Unsubscribed, t("2026-06-01"), None));
    assert_eq!(tx.do_not_contact_now("cy@example.com", Channel::Email).unwrap(), None);
    tx.commit().unwrap();

    let all = s.do_not_contact(&DoNotContactQuery { limit: 10, ..Default::default() }).unwrap();
    let listed: Vec<(&str, Channel, SuppressionReason)> =
        all.iter().map(|e| (e.address.as_str(), e.channel, e.reason)).collect();
    assert_eq!(
        listed,
        [
            ("ana@example.com", Channel::Email, SuppressionReason::Unsubscribed),
            ("ana@example.com", Channel::Phone, SuppressionReason::Manual),
            ("bo@example.com", Channel::Email, SuppressionReason::Complained),
        ],
        "in the order listed"
    );
    assert_eq!((all[1].note.as_deref(), all[1].created_by.as_str()), (Some("asked on a call"), "cli"));
    let anas = s.do_not_contact(&DoNotContactQuery {
        address: Some("ana@example.com".into()),
        limit: 10,
        ..Default::default()
    });
    assert_eq!(anas.unwrap().len(), 2, "every channel of one address");
    let page = s.do_not_contact(&DoNotContactQuery { after: Some(all[0].id), limit: 1, ..Default::default() }).unwrap();
    assert_eq!(page.iter().map(|e| e.id).collect::<Vec<_>>(), [all[1].id], "after an id, at most the limit");

    let mut tx = s.begin().unwrap();
    assert!(tx.remove_do_not_contact("ana@example.com", Channel::Email).unwrap());
    assert!(!tx.remove_do_not_contact("ana@example.com", Channel::Email).unwrap(), "gone already");
    assert_eq!(tx.do_not_contact_now("ana@example.com", Channel::Email).unwrap(), None);
    assert!(tx.do_not_contact_now("ana@example.com", Channel::Phone).unwrap().is_some(), "the other channel stays");
    tx.commit().unwrap();
}

pub fn what_came_back_of_sends_is_counted_per_step_variant_and_template<S: Store>(s: &mut S) {
    let (ana, bo) = (add_lead(s, "ana@example.com"), add_lead(s, "bo@example.com"));
    let (ana_in, bo_in) = (enroll_at(s, ana, "trial", "2026-06-02"), enroll_at(s, bo, "trial", "2026-06-02"));
    let other = enroll_at(s, ana, "winback", "2026-06-02");
    let plan = |enrollment, run, lead, step, variant, template| NewSend {
        enrollment,
        run,
        lead,
        sequence: if enrollment == other { "winback" } else { "trial" },
        step,
        variant,
        template,
        due_at: t("2026-06-02"),
    };
    let mut tx = s.begin().unwrap();
    let ids: Vec<i64> = [
        plan(ana_in, 0, ana, "welcome", None, "welcome"),
        plan(bo_in, 0, bo, "welcome", None, "welcome"),
        plan(ana_in, 2, ana, "tips", Some("short"), "tips-short"),
        plan(bo_in, 2, bo, "tips", Some("long"), "tips-long"),
        plan(other, 0, ana, "hello", None, "welcome"),
    ]
    .iter()
    .map(|new| tx.schedule_send(new, t("2026-06-01")).unwrap().unwrap())
    .collect();
    let sent =
        |to| SentEmail { to, from: "kim@yourco.example", message_id: "<m>", template_version: 1, at: t("2026-06-02") };
    for &id in &ids[..4] {
        tx.mark_sent(id, &sent(if id % 2 == 0 { "bo@example.com" } else { "ana@example.com" })).unwrap();
    }
    assert!(tx.mark_engagement(ids[0], Engagement::Opened, t("2026-06-03")).unwrap());
    assert!(!tx.mark_engagement(ids[0], Engagement::Opened, t("2026-06-04")).unwrap(), "the first open only");
    tx.mark_engagement(ids[0], Engagement::Clicked, t("2026-06-03")).unwrap();
    tx.mark_engagement(ids[1], Engagement::Bounced, t("2026-06-02")).unwrap();
    tx.mark_engagement(ids[2], Engagement::Replied, t("2026-06-05")).unwrap();
    tx.mark_engagement(ids[3], Engagement::Unsubscribed, t("2026-06-05")).unwrap();
    tx.mark_engagement(ids[3], Engagement::Complained, t("2026-06-05")).unwrap();
    tx.end_send(ids[4], SendStatus::Cancelled, "replied").unwrap();
    // Ana won after her emails went.
    tx.set_outcome(
        ana,
        Some(leadflow_core::Outcome { kind: leadflow_core::OutcomeKind::Won, at: t("2026-06-20") }),
        t("2026-06-20"),
    )
    .unwrap();
    tx.commit().unwrap();
    // Bo qualified after his went.
    let mut qualified = score_write(bo, ModelVersion(1), 80.0, "hot");
    qualified.mql_at = Some(t("2026-06-10"));
    set_scores(s, &[qualified]);
    let first = s.sends(&SendQuery { limit: 10, ..Default::default() }).unwrap();
    assert_eq!(first.iter().find(|x| x.id == ids[0]).unwrap().status, SendStatus::Sent);

    let counts = s.send_counts(Some("trial"), SendGrouping::Step).unwrap();
    let rows: Vec<(&str, Option<&str>, &str)> =
        counts.iter().map(|c| (c.step.as_str(), c.variant.as_deref(), c.template.as_str())).collect();
    assert_eq!(
        rows,
        [("welcome", None, "welcome"), ("tips", Some("short"), "tips-short"), ("tips", Some("long"), "tips-long")],
        "in the order each was first planned"
    );
    let welcome = &counts[0];
    assert_eq!((welcome.sent, welcome.opened, welcome.clicked, welcome.bounced), (2, 1, 1, 1));
    assert_eq!((welcome.mql_after, welcome.won_after), (1, 1), "bo qualified, ana won, both after");
    let (short, long) = (&counts[1], &counts[2]);
    assert_eq!((long.sent, long.unsubscribed, long.complained, long.replied), (1, 1, 1, 0));
    assert_eq!((short.sent, short.replied, short.won_after, short.mql_after), (1, 1, 1, 0));
    let all = s.send_counts(None, SendGrouping::Step).unwrap();
    assert_eq!(all.len(), 4, "every sequence's");
    let winback = all.iter().find(|c| c.sequence == "winback").unwrap();
    assert_eq!((winback.cancelled, winback.sent, winback.scheduled), (1, 0, 0));
    assert!(s.send_counts(Some("nothing"), SendGrouping::Step).unwrap().is_empty());
    // Per sequence, each lead once: ana won after two of trial's emails, and counts once.
    let per_sequence = s.send_counts(None, SendGrouping::Sequence).unwrap();
    let names: Vec<&str> = per_sequence.iter().map(|c| c.sequence.as_str()).collect();
    assert_eq!(names, ["trial", "winback"]);
    let trial = &per_sequence[0];
    assert_eq!((trial.sent, trial.opened, trial.won_after, trial.mql_after, trial.step.as_str()), (4, 1, 1, 1, ""));
    let per_template = s.send_counts(None, SendGrouping::Template).unwrap();
    let welcome = per_template.iter().find(|c| c.template == "welcome").unwrap();
    assert_eq!((welcome.sent, welcome.cancelled, welcome.sequence.as_str()), (2, 1, ""), "trial's and winback's");
    assert_eq!(per_template.len(), 3);
}
