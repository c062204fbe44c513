//! The digest's counts: what happened in a pipeline in the last days and in as many days before
//! them (leads created, MQLs, acceptances, wins, losses with their reasons), folded one lead at a
//! time beside a pipeline report, which says where the pipeline stands at the end.

use rustc_hash::FxHashMap;

use crate::Timestamp;
use crate::lead::LifecycleStage;
use crate::pipeline::{Pipeline, StageKind};

use super::attribution::{AttributionFigures, Attributor, LeadTouches};
use super::names::{Name, Names};
use super::places::{LeadPlaces, Visit, visits};

/// What happened in `[from, to)`. Entries count as the pipeline report's MQLs do: a lead that
/// qualifies again counts again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DigestWindow {
    pub from: Timestamp,
    pub to: Timestamp,
    /// Leads created then that were in the pipeline by `to`.
    pub created: u64,
    /// Entries into an MQL stage from one that is not, and into a sales-accepted (`sql`) stage
    /// from one that is not.
    pub mqls: u64,
    pub accepted: u64,
    /// Entries into a won stage, and into a lost or disqualified one.
    pub won: u64,
    pub lost: u64,
}

impl DigestWindow {
    fn empty(from: Timestamp, to: Timestamp) -> DigestWindow {
        DigestWindow { from, to, created: 0, mqls: 0, accepted: 0, won: 0, lost: 0 }
    }
}

/// The digest's counts.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestCounts {
    /// The last days, up to the digest's instant.
    pub current: DigestWindow,
    /// As many days before them.
    pub previous: DigestWindow,
    /// The reasons of the current window's losses, most first (then by name), none last.
    pub lost_reasons: Vec<(Option<String>, u64)>,
    /// The first touches of the leads created in the current window, most leads first; those
    /// without one left out.
    pub campaigns: Vec<AttributionFigures>,
}

/// What entering a stage means to the digest.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Meaning {
    qualified: bool,
    accepted: bool,
    won: bool,
    lost: bool,
}

/// Folds leads into [`DigestCounts`].
#[derive(Debug)]
pub struct DigestCounter {
    pipeline: Name,
    /// By [`Name::index`] of a stage id.
    meanings: Vec<Meaning>,
    current: DigestWindow,
    previous: DigestWindow,
    reasons: FxHashMap<Option<Name>, u64>,
    new_leads: Attributor,
    visits: Vec<Visit>,
}

impl DigestCounter {
    /// The `days` up to `to` and as many before them, on `pipeline`; names interned in `names`,
    /// which the leads must be read with.
    pub fn new(pipeline: &Pipeline, to: Timestamp, days: u32, names: &mut Names) -> DigestCounter {
        let mut meanings = Vec::new();
        for stage in pipeline.stages() {
            let name = names.intern(stage.id());
            if meanings.len() <= name.index() {
                meanings.resize(name.index() + 1, Meaning::default());
            }
            meanings[name.index()] = Meaning {
                qualified: stage.lifecycle() == Some(LifecycleStage::Mql),
                accepted: stage.lifecycle() == Some(LifecycleStage::Sql),
                won: stage.kind() == StageKind::Won,
                lost: matches!(stage.kind(), StageKind::Lost | StageKind::Disqualified),
            };
        }
        let from = to.minus_days(days);
        DigestCounter {
            pipeline: names.intern(pipeline.name()),
            meanings,
            current: DigestWindow::empty(from, to),
            previous: DigestWindow::empty(from.minus_days(days), from),
            reasons: FxHashMap::default(),
            new_leads: Attributor::default(),
            visits: Vec::new(),
        }
    }

    fn meaning(&self, stage: Name) -> Meaning {
        self.meanings.get(stage.index()).copied().unwrap_or_default()
    }

    /// Adds a lead with the touches of its events.
    pub fn add(&mut self, lead: &LeadPlaces<'_>, touches: &LeadTouches) {
        let mut buffer = std::mem::take(&mut self.visits);
        visits(lead, self.pipeline, self.current.to, &mut buffer);
        if !buffer.is_empty() {
            for window in [&mut self.current, &mut self.previous] {
                window.created += u64::from(window.from <= lead.created_at && lead.created_at < window.to);
            }
            if self.current.from <= lead.created_at {
                let qualified = buffer.iter().find(|v| self.meaning(v.stage).qualified).map(|v| v.entered);
                let won = buffer.iter().any(|v| self.meaning(v.stage).won);
                self.new_leads.add(touches, qualified, won);
            }
            let mut before: Option<(Meaning, Option<Timestamp>)> = None;
            for visit in &buffer {
                let now = self.meaning(visit.stage);
                // The stage it came from, when it came straight from one in the pipeline.
                let came_from = before.filter(|(_, left)| *left == Some(visit.entered)).map(|(m, _)| m);
                let entered = |flag: fn(&Meaning) -> bool| flag(&now) && !came_from.as_ref().is_some_and(flag);
                let (mql, accepted) = (entered(|m| m.qualified), entered(|m| m.accepted));
                let current = self.current.from <= visit.entered;
                let window = if current { &mut self.current } else { &mut self.previous };
                if window.from <= visit.entered && visit.entered < window.to {
                    window.mqls += u64::from(mql);
                    window.accepted += u64::from(accepted);
                    window.won += u64::from(now.won);
                    window.lost += u64::from(now.lost);
                    if current && now.lost {
                        *self.reasons.entry(visit.reason).or_default() += 1;
                    }
                }
                before = Some((now, visit.left));
            }
        }
        self.visits = buffer;
    }

    pub fn finish(self, names: &Names) -> DigestCounts {
        let mut lost_reasons: Vec<(Option<String>, u64)> =
            self.reasons.into_iter().map(|(reason, n)| (reason.map(|r| names.resolve(r).to_string()), n)).collect();
        lost_reasons.sort_by(|a, b| {
            (a.0.is_none(), std::cmp::Reverse(a.1), &a.0).cmp(&(b.0.is_none(), std::cmp::Reverse(b.1), &b.0))
        });
        let mut campaigns = self.new_leads.finish(names).first_touch;
        campaigns.retain(|c| c.value.is_some());
        DigestCounts { current: self.current, previous: self.previous, lost_reasons, campaigns }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lead::LeadId;
    use crate::report::{PlaceChange, PlaceField};

    const SALES: &str = include_str!("../../../../bench/pipeline/sales.toml");

    fn day(d: i64) -> Timestamp {
        Timestamp::from_millis(d * 86_400_000)
    }

    /// Days 0-6 are the previous week, 7-13 the current one (the digest is at day 14).
    #[test]
    fn entries_count_in_the_window_they_happened_in() {
        let pipeline = Pipeline::parse(SALES).unwrap();
        let mut names = Names::default();
        let mut counter = DigestCounter::new(&pipeline, day(14), 7, &mut names);
        let mut n = |s: &str| Some(names.intern(s));
        let (sales, new, mql, sql, lost, won, budget) =
            (n("sales"), n("new"), n("mql"), n("sql"), n("lost"), n("won"), n("budget"));
        let stage = |at, old, new, reason| PlaceChange { at: day(at), field: PlaceField::Stage, old, new, reason };
        // Created in the previous week, qualified then; accepted, sent back and accepted again,
        // then won, this week.
        let ana = [
            stage(3, new, mql, None),
            stage(8, mql, sql, None),
            stage(9, sql, mql, None),
            stage(10, mql, sql, None),
            stage(12, sql, won, None),
        ];
        // Created this week, qualified and lost for budget; a change after the digest unseen.
        let bo = [stage(9, new, mql, None), stage(11, mql, lost, budget), stage(20, lost, mql, None)];
        let mut lead = |created: i64, changes: &[PlaceChange], stage| {
            let places = LeadPlaces {
                lead: LeadId(1),
                created_at: day(created),
                owner: None,
                source: None,
                pipeline: sales,
                stage,
                changes,
            };
            counter.add(&places, &LeadTouches::default());
        };
        lead(2, &ana, won);
        lead(8, &bo, mql);
        let counts = counter.finish(&names);
        let c = counts.current;
        assert_eq!((c.from, c.to), (day(7), day(14)));
        assert_eq!((c.created, c.mqls, c.accepted, c.won, c.lost), (1, 2, 2, 1, 1), "bo's and ana's second MQL");
        let p = counts.previous;
        assert_eq!((p.from, p.created, p.mqls, p.accepted, p.won, p.lost), (day(0), 1, 1, 0, 0, 0));
        assert_eq!(counts.lost_reasons, [(Some("budget".to_string()), 1)]);
    }
}
