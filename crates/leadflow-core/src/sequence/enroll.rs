//! Whom a sequence enrolls by rule: every criterion of its `[enroll]` holds for the lead as it
//! is now (its profile, its score, the events it had).

use super::{EnrollRule, EventInterest};
use crate::Timestamp;
use crate::event::EventType;
use crate::lead::Profile;
use crate::model::Grade;
use crate::outcome::OutcomeKind;

/// A lead as an enrollment rule looks at it.
#[derive(Clone, Copy, Debug)]
pub struct LeadSnapshot<'a> {
    pub profile: &'a Profile,
    pub created_at: Timestamp,
    /// How it ended, if it did.
    pub outcome: Option<OutcomeKind>,
    /// Its score now: total, bucket and grade; `None` for a lead not scored yet.
    pub score: Option<ScoreSeen<'a>>,
    /// Its events, in any order.
    pub events: &'a [EventSeen<'a>],
}

#[derive(Clone, Copy, Debug)]
pub struct ScoreSeen<'a> {
    pub total: f64,
    pub bucket: &'a str,
    pub grade: Grade,
}

/// One of a lead's events: when, what, and the page it names, if any.
#[derive(Clone, Copy, Debug)]
pub struct EventSeen<'a> {
    pub at: Timestamp,
    pub event: &'a EventType,
    pub url: Option<&'a str>,
}

impl EnrollRule {
    /// Whether the rule enrolls this lead at `now`.
    pub fn admits(&self, lead: &LeadSnapshot<'_>, now: Timestamp) -> bool {
        let score = lead.score;
        let listed = |list: &[String], value: Option<&str>| {
            list.is_empty() || value.is_some_and(|v| list.iter().any(|l| l == v))
        };
        listed(&self.stages, lead.profile.pipeline_stage.as_deref())
            && listed(&self.buckets, score.map(|s| s.bucket))
            && (self.grades.is_empty() || score.is_some_and(|s| self.grades.contains(&s.grade)))
            && self.score_at_least.is_none_or(|least| score.is_some_and(|s| s.total >= least))
            && self.when.iter().all(|c| c.matches(lead.profile))
            && self.events.iter().all(|interest| interest.shown_by(lead.events, now))
            && (self.outcomes.is_empty() || lead.outcome.is_some_and(|o| self.outcomes.contains(&o)))
            && self.quiet_days.is_none_or(|days| {
                let last = lead.events.iter().map(|e| e.at).filter(|&at| at <= now).max();
                last.unwrap_or(lead.created_at).max(lead.created_at) <= now.minus_days(days)
            })
    }
}

impl EventInterest {
    /// Whether the events show this interest by `now`: so many of its type, on a page whose
    /// address holds `url_contains`, within the last `within_days`.
    fn shown_by(&self, events: &[EventSeen<'_>], now: Timestamp) -> bool {
        let since = self.within_days.map(|days| now.minus_days(days));
        let count = events
            .iter()
            .filter(|e| e.event == &self.event && e.at <= now && since.is_none_or(|since| e.at >= since))
            .filter(|e| self.url_contains.as_deref().is_none_or(|part| e.url.is_some_and(|url| url.contains(part))))
            .count();
        count >= self.at_least as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Email;
    use crate::sequence::Sequence;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    const TRIAL: &str = include_str!("../../../../examples/sequence-trial.toml");
    const WINBACK: &str = include_str!("../../../../examples/sequence-winback.toml");

    #[test]
    fn the_win_back_example_takes_lost_deals_gone_quiet_for_a_quarter() {
        let sequence = Sequence::parse(WINBACK).unwrap();
        let rule = sequence.enroll_rule().unwrap();
        assert_eq!((rule.outcomes.as_slice(), rule.quiet_days), ([OutcomeKind::Lost].as_slice(), Some(90)));
        assert_eq!(sequence.priority(), 1);
    }

    /// The example's rule: in new or working, warm or hot, grade A to C, 20 points, in DE/AT/CH,
    /// and two `/pricing` views in the last 30 days.
    #[test]
    fn every_criterion_of_the_rule_must_hold() {
        let sequence = Sequence::parse(TRIAL).unwrap();
        let rule = sequence.enroll_rule().unwrap();
        let mut profile = Profile::new(Email::parse("kim@acme.example").unwrap());
        profile.pipeline = Some("inbound-b2b".into());
        profile.pipeline_stage = Some("working".into());
        profile.country = Some("DE".into());
        let view = EventType::parse("page_view").unwrap();
        let now = t("2026-06-30T12:00:00Z");
        let events = [
            EventSeen { at: t("2026-06-10T00:00:00Z"), event: &view, url: Some("https://acme.example/pricing?x=1") },
            EventSeen { at: t("2026-06-20T00:00:00Z"), event: &view, url: Some("/pricing") },
            EventSeen { at: t("2026-06-21T00:00:00Z"), event: &view, url: Some("/blog") },
        ];
        let score = ScoreSeen { total: 35.0, bucket: "warm", grade: Grade::B };
        let created_at = t("2026-01-01");
        let lead = LeadSnapshot { profile: &profile, created_at, outcome: None, score: Some(score), events: &events };
        assert!(rule.admits(&lead, now));

        // Each criterion failing alone keeps the lead out.
        let out = |changed: &LeadSnapshot<'_>, at: Timestamp| !rule.admits(changed, at);
        assert!(out(&LeadSnapshot { score: Some(ScoreSeen { bucket: "cold", ..score }), ..lead }, now));
        assert!(out(&LeadSnapshot { score: Some(ScoreSeen { grade: Grade::D, ..score }), ..lead }, now));
        assert!(out(&LeadSnapshot { score: Some(ScoreSeen { total: 19.9, ..score }), ..lead }, now));
        assert!(out(&LeadSnapshot { score: None, ..lead }, now), "not scored yet");
        assert!(out(&LeadSnapshot { events: &events[1..], ..lead }, now), "one pricing view is not two");
        assert!(out(&lead, t("2026-07-11T00:00:00Z")), "the first view is over 30 days old by then");
        assert!(out(&lead, t("2026-06-15T00:00:00Z")), "the second view is still to come then");
        let mut elsewhere = profile.clone();
        elsewhere.country = Some("FR".into());
        assert!(out(&LeadSnapshot { profile: &elsewhere, ..lead }, now));
        let mut further = profile.clone();
        further.pipeline_stage = Some("meeting".into());
        assert!(out(&LeadSnapshot { profile: &further, ..lead }, now));
        further.pipeline_stage = None;
        assert!(out(&LeadSnapshot { profile: &further, ..lead }, now), "in no pipeline");
    }

    #[test]
    fn a_rule_of_one_criterion_asks_nothing_else() {
        let source = "name = \"n\"\n[enroll]\nscore_at_least = 10\n[[steps]]\nid = \"a\"\nsend = \"t\"\n";
        let sequence = Sequence::parse(source).unwrap();
        let rule = sequence.enroll_rule().unwrap();
        let profile = Profile::new(Email::parse("kim@acme.example").unwrap());
        let score = ScoreSeen { total: 10.0, bucket: "cold", grade: Grade::F };
        let created_at = t("2026-01-01");
        let lead = LeadSnapshot { profile: &profile, created_at, outcome: None, score: Some(score), events: &[] };
        assert!(rule.admits(&lead, t("2026-06-30")));
    }

    /// Past customers and lost deals gone quiet: by outcome and time since the last touch.
    #[test]
    fn a_re_engagement_rule_takes_leads_by_outcome_and_quiet_time() {
        let source =
            "name = \"n\"\n[enroll]\noutcomes = [\"lost\"]\nquiet_days = 90\n[[steps]]\nid = \"a\"\nsend = \"t\"\n";
        let sequence = Sequence::parse(source).unwrap();
        let rule = sequence.enroll_rule().unwrap();
        let profile = Profile::new(Email::parse("kim@acme.example").unwrap());
        let view = EventType::parse("page_view").unwrap();
        let events = [EventSeen { at: t("2026-03-01"), event: &view, url: None }];
        let lost = LeadSnapshot {
            profile: &profile,
            created_at: t("2026-01-01"),
            outcome: Some(OutcomeKind::Lost),
            score: None,
            events: &events,
        };
        assert!(rule.admits(&lost, t("2026-05-30")), "90 days after the last touch");
        assert!(!rule.admits(&lost, t("2026-05-29")), "89 days");
        assert!(!rule.admits(&LeadSnapshot { outcome: Some(OutcomeKind::Won), ..lost }, t("2026-06-30")));
        assert!(!rule.admits(&LeadSnapshot { outcome: None, ..lost }, t("2026-06-30")), "still open");
        let fresh = LeadSnapshot { created_at: t("2026-05-01"), events: &[], ..lost };
        assert!(!rule.admits(&fresh, t("2026-06-30")), "created 60 days ago: its creation is its last touch");
        let bad = "name = \"n\"\n[enroll]\noutcomes = [\"maybe\", \"lost\", \"lost\"]\nquiet_days = 0\n[[steps]]\nid = \"a\"\nsend = \"t\"\n";
        let problems: Vec<String> =
            Sequence::parse(bad).unwrap_err().problems.iter().map(|p| p.message.clone()).collect();
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].contains("`maybe` is not an outcome (won or lost)"), "{problems:?}");
        assert!(problems[1].contains("`lost` is listed twice"), "{problems:?}");
    }
}
