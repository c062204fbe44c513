//! The pipeline report: for one pipeline and an as-of instant, how many leads reached each
//! stage, how many went on from one funnel stage to the next, how long visits lasted, and the
//! owners', months', sources' and reasons' figures, folded one lead at a time.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use crate::Timestamp;
use crate::lead::LifecycleStage;
use crate::pipeline::{Pipeline, StageKind};

use super::attribution::{Attribution, Attributor};
use super::cohorts::{Cohort, Cohorts};
use super::funnel::{
    Conversion, FunnelBreakdown, FunnelDimension, FunnelSplit, FunnelTally, LeadFunnel, Reached, Whereabouts,
};
use super::interval::wilson;
use super::month::{month_name, month_of};
use super::names::{Name, Names};
use super::places::{LeadPlaces, Visit, visits};
use super::quantile::quantile;
use super::scope::{LeadContext, LeadScope, Scope};
use super::velocity::{Milestones, Velocity, VelocityStep};

const SECONDS_PER_DAY: f64 = 86_400.0;

/// The figures of one pipeline as of an instant.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineReport {
    pub pipeline: String,
    pub as_of: Timestamp,
    /// Leads that were in the pipeline at some time up to `as_of`.
    pub leads: u64,
    /// In the pipeline's order; then the stages its history names that its file no longer has.
    pub stages: Vec<StageFigures>,
    /// The funnel's stages in order, with the leads that reached each.
    pub funnel: Vec<Reached>,
    /// From each funnel stage to the next, and where the others went.
    pub conversion: Vec<Conversion>,
    /// The funnel split by a dimension, when asked for.
    pub breakdown: Option<FunnelBreakdown>,
    /// By owner (as the lead is owned now), by name; leads without an owner last.
    pub owners: Vec<OwnerFigures>,
    /// Every calendar month (UTC) from the first MQL to the last.
    pub months: Vec<MonthFigures>,
    /// By source, by name; leads without a source last.
    pub sources: Vec<SourceFigures>,
    /// By campaign, first and last touch, and landing page, from the leads' events.
    pub attribution: Attribution,
    /// Entries into lost and disqualified stages, by stage and reason.
    pub reasons: Vec<ReasonCount>,
    /// Days from creation to MQL, MQL to accepted, accepted to won.
    pub velocity: Vec<VelocityStep>,
    /// The leads created each month, qualified and won by each month since.
    pub cohorts: Vec<Cohort>,
    /// The pipeline now: leads in open stages, each weighted by its stage's win probability.
    pub weighted_open: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct StageFigures {
    pub stage: String,
    /// `None` for a stage the pipeline's file no longer has.
    pub kind: Option<StageKind>,
    /// Leads with at least one visit.
    pub reached: u64,
    /// Visits that ended by `as_of`, and those still going on.
    pub completed: u64,
    pub open: u64,
    /// Days of the completed visits: median, 75th and 90th percentiles (interpolated), mean.
    pub median_days: Option<f64>,
    pub p75_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub mean_days: Option<f64>,
    /// The leads there at `as_of` (its open visits): the median days they have been there, how
    /// many of them are rotting (longer than the stage's `rotting_days`), and their number
    /// weighted by the stage's win probability.
    pub open_median_age_days: Option<f64>,
    pub rotting: u64,
    pub weighted: f64,
}

#[derive(Clone, Debug, PartialEq)]
pub struct OwnerFigures {
    pub owner: Option<String>,
    pub leads: u64,
    /// Leads that reached a won stage, and a lost one.
    pub won: u64,
    pub lost: u64,
    /// `won / (won + lost)`.
    pub win_rate: Option<f64>,
    /// Median days from a won lead's creation to its first entry into a won stage.
    pub median_days_to_won: Option<f64>,
    /// Leads sent back to nurture (that reached a recycled stage).
    pub recycled: u64,
    /// Median days a closed lead's cycle lasted: from its first visit in the pipeline to its
    /// first entry into a won, lost or disqualified stage.
    pub median_cycle_days: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct MonthFigures {
    /// `YYYY-MM`, UTC.
    pub month: String,
    /// Entries into an MQL stage: a lead that qualifies again counts again.
    pub mqls: u64,
    /// Lead velocity rate: `(mqls - last month's) / last month's`; `None` for the first month
    /// and after a month without any.
    pub velocity_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct SourceFigures {
    pub source: Option<String>,
    pub leads: u64,
    /// Leads that qualified (entered an MQL stage).
    pub mqls: u64,
    pub won: u64,
    /// `won / leads`.
    pub conversion: f64,
    /// Its 95% Wilson interval.
    pub interval: Option<(f64, f64)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ReasonCount {
    pub stage: String,
    pub reason: Option<String>,
    pub count: u64,
}

/// What the report knows of a stage.
#[derive(Clone, Debug)]
struct StageInfo {
    id: String,
    kind: Option<StageKind>,
    lifecycle: Option<LifecycleStage>,
    probability: f64,
    rotting_days: Option<u32>,
}

impl StageInfo {
    /// Its leads are marketing-qualified (its lifecycle stage is `mql`).
    fn qualified(&self) -> bool {
        self.lifecycle == Some(LifecycleStage::Mql)
    }
}

#[derive(Clone, Copy, Debug, Default)]
struct Tally {
    leads: u64,
    mqls: u64,
    won: u64,
    lost: u64,
}

/// An owner's leads: counts, then seconds to won and seconds of closed cycles.
#[derive(Clone, Debug, Default)]
struct OwnerTally {
    tally: Tally,
    recycled: u64,
    to_won: Vec<f64>,
    cycles: Vec<f64>,
}

/// Folds leads into a [`PipelineReport`].
#[derive(Debug)]
pub struct PipelineReporter {
    name: String,
    pipeline: Name,
    as_of: Timestamp,
    scope: Scope,
    stages: Vec<StageInfo>,
    /// Stage index by [`Name::index`].
    stage_of: Vec<Option<usize>>,
    /// Stage indexes, in funnel order.
    funnel: Vec<usize>,
    leads: u64,
    reached: Vec<u64>,
    funnel_tally: FunnelTally,
    split: Option<FunnelSplit>,
    lead_funnel: LeadFunnel,
    /// Seconds of each completed visit, per stage.
    durations: Vec<Vec<f64>>,
    open: Vec<u64>,
    /// Seconds each open visit has lasted at `as_of`, per stage.
    ages: Vec<Vec<f64>>,
    rotting: Vec<u64>,
    owners: FxHashMap<Option<Name>, OwnerTally>,
    sources: FxHashMap<Option<Name>, Tally>,
    attribution: Attributor,
    /// MQLs per month, months counted from year 0.
    months: BTreeMap<i32, u64>,
    reasons: FxHashMap<(usize, Option<Name>), u64>,
    velocity: Velocity,
    cohorts: Cohorts,
    visits: Vec<Visit>,
    first_entry: Vec<Option<Timestamp>>,
}

impl PipelineReporter {
    /// A report on `pipeline` as of `as_of`, over `funnel` (stage ids; by default the open
    /// stages in the pipeline's order, then the won ones), of the leads in `scope`. The stage
    /// ids and the pipeline's name are interned in `names`, which the leads added must be read
    /// with. Refuses a funnel stage the pipeline does not have, naming it.
    pub fn new(
        pipeline: &Pipeline,
        funnel: Option<&[String]>,
        scope: &LeadScope,
        as_of: Timestamp,
        names: &mut Names,
    ) -> Result<PipelineReporter, String> {
        let mut reporter = PipelineReporter {
            name: pipeline.name().to_string(),
            pipeline: names.intern(pipeline.name()),
            as_of,
            scope: Scope::new(scope, names),
            stages: Vec::new(),
            stage_of: Vec::new(),
            funnel: Vec::new(),
            leads: 0,
            reached: Vec::new(),
            funnel_tally: FunnelTally::default(),
            split: None,
            lead_funnel: LeadFunnel::default(),
            durations: Vec::new(),
            open: Vec::new(),
            ages: Vec::new(),
            rotting: Vec::new(),
            owners: FxHashMap::default(),
            sources: FxHashMap::default(),
            attribution: Attributor::default(),
            months: BTreeMap::new(),
            reasons: FxHashMap::default(),
            velocity: Velocity::default(),
            cohorts: Cohorts::new(as_of),
            visits: Vec::new(),
            first_entry: Vec::new(),
        };
        for stage in pipeline.stages() {
            let info = StageInfo {
                id: stage.id().to_string(),
                kind: Some(stage.kind()),
                lifecycle: stage.lifecycle(),
                probability: stage.probability(),
                rotting_days: stage.rotting_days(),
            };
            reporter.add_stage(names.intern(stage.id()), info);
        }
        reporter.funnel = match funnel {
            Some(ids) => ids
                .iter()
                .map(|id| pipeline.stages().iter().position(|s| s.id() == id).ok_or_else(|| id.clone()))
                .collect::<Result<_, _>>()?,
            None => {
                let of_kind = |kind| pipeline.stages().iter().enumerate().filter(move |(_, s)| s.kind() == kind);
                of_kind(StageKind::Open).chain(of_kind(StageKind::Won)).map(|(i, _)| i).collect()
            }
        };
        Ok(reporter)
    }

    /// Also splits the funnel by `by`; `teams` holds each owner's team, for a split by team.
    pub fn split_by(&mut self, by: FunnelDimension, teams: &[(String, String)], names: &mut Names) {
        let teams = teams.iter().map(|(owner, team)| (names.intern(owner), names.intern(team))).collect();
        self.split = Some(FunnelSplit::new(by, teams));
    }

    fn add_stage(&mut self, name: Name, info: StageInfo) -> usize {
        let index = self.stages.len();
        if self.stage_of.len() <= name.index() {
            self.stage_of.resize(name.index() + 1, None);
        }
        self.stage_of[name.index()] = Some(index);
        self.stages.push(info);
        self.reached.push(0);
        self.durations.push(Vec::new());
        self.open.push(0);
        self.ages.push(Vec::new());
        self.rotting.push(0);
        index
    }

    /// The stage index of a visited stage, and what the report knows of it, adding a stage the
    /// file no longer has.
    fn stage(&mut self, name: Name, names: &Names) -> (usize, &StageInfo) {
        let index = self.stage_index(name, names);
        (index, &self.stages[index])
    }

    fn stage_index(&mut self, name: Name, names: &Names) -> usize {
        match self.stage_of.get(name.index()).copied().flatten() {
            Some(i) => i,
            None => {
                let info = StageInfo {
                    id: names.resolve(name).to_string(),
                    kind: None,
                    lifecycle: None,
                    probability: 0.0,
                    rotting_days: None,
                };
                self.add_stage(name, info)
            }
        }
    }

    /// Adds a lead (read with the `names` this report was made with), with what else is known
    /// of it.
    pub fn add(&mut self, lead: &LeadPlaces<'_>, context: &LeadContext, names: &Names) {
        if !self.scope.admits(lead.created_at, lead.source, lead.owner, context) {
            return;
        }
        let mut buffer = std::mem::take(&mut self.visits);
        visits(lead, self.pipeline, self.as_of, &mut buffer);
        if !buffer.is_empty() {
            let admitted = !self.scope.by_qualifying() || {
                let first = buffer.iter().find(|v| self.stage(v.stage, names).1.qualified()).map(|v| v.entered);
                self.scope.admits_qualified(first)
            };
            if admitted {
                self.add_visits(lead, context, &buffer, names);
            }
        }
        self.visits = buffer;
    }

    fn add_visits(&mut self, lead: &LeadPlaces<'_>, context: &LeadContext, visits: &[Visit], names: &Names) {
        self.leads += 1;
        self.first_entry.clear();
        let mut stages = Vec::with_capacity(visits.len());
        let mut was_qualified = false;
        let mut left_before = None;
        for visit in visits {
            let s = self.stage_index(visit.stage, names);
            stages.push(s);
            if self.first_entry.len() < self.stages.len() {
                self.first_entry.resize(self.stages.len(), None);
            }
            self.first_entry[s].get_or_insert(visit.entered);
            let info = &self.stages[s];
            match visit.left {
                Some(left) => self.durations[s].push((left.millis() - visit.entered.millis()) as f64 / 1000.0),
                None => {
                    self.open[s] += 1;
                    self.ages[s].push((self.as_of.millis() - visit.entered.millis()) as f64 / 1000.0);
                    let rotting = info.rotting_days.is_some_and(|days| {
                        self.as_of.millis() - visit.entered.millis() > i64::from(days) * 86_400_000
                    });
                    self.rotting[s] += u64::from(rotting);
                }
            }
            // Back in the pipeline after a stay elsewhere: it qualifies afresh.
            if left_before != Some(visit.entered) {
                was_qualified = false;
            }
            left_before = visit.left;
            if info.qualified() && !was_qualified {
                *self.months.entry(month_of(visit.entered)).or_default() += 1;
            }
            was_qualified = info.qualified();
            if matches!(info.kind, Some(StageKind::Lost | StageKind::Disqualified)) {
                *self.reasons.entry((s, visit.reason)).or_default() += 1;
            }
        }
        for (s, first) in self.first_entry.iter().enumerate() {
            if first.is_some() {
                self.reached[s] += 1;
            }
        }
        let first_of_kind = |kind: StageKind| {
            self.first_entry
                .iter()
                .zip(&self.stages)
                .filter(|(_, info)| info.kind == Some(kind))
                .filter_map(|(first, _)| *first)
                .min()
        };
        let won_at = first_of_kind(StageKind::Won);
        let lost = first_of_kind(StageKind::Lost).is_some();
        let recycled = first_of_kind(StageKind::Recycled).is_some();
        let closed_at =
            [StageKind::Won, StageKind::Lost, StageKind::Disqualified].into_iter().filter_map(first_of_kind).min();
        let owner = self.owners.entry(lead.owner).or_default();
        owner.tally.leads += 1;
        owner.tally.won += u64::from(won_at.is_some());
        owner.tally.lost += u64::from(lost);
        owner.recycled += u64::from(recycled);
        if let Some(at) = won_at {
            owner.to_won.push((at.millis() - lead.created_at.millis()) as f64 / 1000.0);
        }
        if let Some(at) = closed_at {
            owner.cycles.push((at.millis() - visits[0].entered.millis()) as f64 / 1000.0);
        }
        let qualified_at =
            visits.iter().zip(&stages).find(|&(_, &s)| self.stages[s].qualified()).map(|(v, _)| v.entered);
        let source = self.sources.entry(lead.source).or_default();
        source.leads += 1;
        source.mqls += u64::from(qualified_at.is_some());
        source.won += u64::from(won_at.is_some());
        self.attribution.add(&context.touches, qualified_at, won_at.is_some());
        self.add_funnel(lead, context, qualified_at, visits, &stages);
        let milestones = self.milestones(lead.created_at, visits, &stages);
        self.velocity.add(&milestones);
        self.cohorts.add(lead.created_at, milestones.mql, won_at);
    }

    /// The lead's way through the funnel, in the totals and under its value of the split.
    fn add_funnel(
        &mut self,
        lead: &LeadPlaces<'_>,
        context: &LeadContext,
        qualified_at: Option<Timestamp>,
        visits: &[Visit],
        stages: &[usize],
    ) {
        let mut funnel = std::mem::take(&mut self.lead_funnel);
        let first_entry = |s: usize| self.first_entry.get(s).copied().flatten();
        funnel.reached.clear();
        funnel.reached.extend(self.funnel.iter().map(|&s| first_entry(s).is_some()));
        funnel.converted.clear();
        funnel.converted.extend(self.funnel.windows(2).map(|pair| {
            first_entry(pair[0])
                .is_some_and(|from| visits.iter().zip(stages).any(|(v, &s)| s == pair[1] && v.entered >= from))
        }));
        let now = visits.iter().zip(stages).rfind(|(v, _)| v.left.is_none());
        funnel.whereabouts = match now {
            Some((visit, &s)) => Whereabouts::In(self.stages[s].kind, s, visit.reason),
            None => Whereabouts::Left,
        };
        // Stages are in the pipeline's order, those its file no longer has after them.
        funnel.past.clear();
        funnel.past.extend(self.funnel.windows(2).map(|pair| now.is_some_and(|(_, &s)| s > pair[1])));
        self.funnel_tally.add(&funnel);
        if let Some(split) = &mut self.split {
            split.add(lead, context, qualified_at, &funnel);
        }
        self.lead_funnel = funnel;
    }

    /// The lead's first MQL, its first acceptance after it, its first win after that.
    fn milestones(&self, created: Timestamp, visits: &[Visit], stages: &[usize]) -> Milestones {
        let first = |after: Option<Timestamp>, is: &dyn Fn(&StageInfo) -> bool| {
            let after = after?;
            visits
                .iter()
                .zip(stages)
                .filter(|(v, s)| v.entered >= after && is(&self.stages[**s]))
                .map(|(v, _)| v.entered)
                .min()
        };
        let mql = first(Some(created), &|s| s.qualified());
        let accepted = first(mql, &|s| s.lifecycle == Some(LifecycleStage::Sql));
        let won = first(accepted, &|s| s.kind == Some(StageKind::Won));
        Milestones { created: Some(created), mql, accepted, won }
    }

    /// The figures, names resolved in `names`.
    pub fn finish(mut self, names: &Names) -> PipelineReport {
        let days = |seconds: Option<f64>| seconds.map(|s| s / SECONDS_PER_DAY);
        let stages = self
            .stages
            .iter()
            .enumerate()
            .map(|(i, info)| {
                let durations = &mut self.durations[i];
                durations.sort_unstable_by(f64::total_cmp);
                let mean = (!durations.is_empty()).then(|| durations.iter().sum::<f64>() / durations.len() as f64);
                let ages = &mut self.ages[i];
                ages.sort_unstable_by(f64::total_cmp);
                let open = self.open[i];
                let weighted = if info.kind == Some(StageKind::Open) { open as f64 * info.probability } else { 0.0 };
                StageFigures {
                    stage: info.id.clone(),
                    kind: info.kind,
                    reached: self.reached[i],
                    completed: durations.len() as u64,
                    open: self.open[i],
                    median_days: days(quantile(durations, 0.5)),
                    p75_days: days(quantile(durations, 0.75)),
                    p90_days: days(quantile(durations, 0.9)),
                    mean_days: days(mean),
                    open_median_age_days: days(quantile(ages, 0.5)),
                    rotting: self.rotting[i],
                    weighted,
                }
            })
            .collect::<Vec<StageFigures>>();
        let weighted_open = stages.iter().map(|s| s.weighted).sum();
        let funnel: Vec<String> = self.funnel.iter().map(|&s| self.stages[s].id.clone()).collect();
        let stage_ids: Vec<String> = self.stages.iter().map(|s| s.id.clone()).collect();
        let (funnel_reached, conversion) = self.funnel_tally.finish(&funnel, &stage_ids, names);
        let breakdown = self.split.map(|split| split.finish(&funnel, &stage_ids, names));
        let name = |n: &Option<Name>| n.map(|n| names.resolve(n).to_string());
        let mut owners: Vec<OwnerFigures> = self
            .owners
            .into_iter()
            .map(|(owner, OwnerTally { tally, recycled, mut to_won, mut cycles })| {
                to_won.sort_unstable_by(f64::total_cmp);
                cycles.sort_unstable_by(f64::total_cmp);
                OwnerFigures {
                    owner: name(&owner),
                    leads: tally.leads,
                    won: tally.won,
                    lost: tally.lost,
                    win_rate: ratio(tally.won, tally.won + tally.lost),
                    median_days_to_won: days(quantile(&to_won, 0.5)),
                    recycled,
                    median_cycle_days: days(quantile(&cycles, 0.5)),
                }
            })
            .collect();
        owners.sort_by(|a, b| by_name(&a.owner, &b.owner));
        let mut sources: Vec<SourceFigures> = self
            .sources
            .into_iter()
            .map(|(source, tally)| SourceFigures {
                source: name(&source),
                leads: tally.leads,
                mqls: tally.mqls,
                won: tally.won,
                conversion: tally.won as f64 / tally.leads as f64,
                interval: wilson(tally.won, tally.leads),
            })
            .collect();
        sources.sort_by(|a, b| by_name(&a.source, &b.source));
        let mut reasons: Vec<ReasonCount> = self
            .reasons
            .into_iter()
            .map(|((s, reason), count)| ReasonCount { stage: self.stages[s].id.clone(), reason: name(&reason), count })
            .collect();
        reasons.sort_by(|a, b| a.stage.cmp(&b.stage).then_with(|| by_name(&a.reason, &b.reason)));
        PipelineReport {
            pipeline: self.name,
            as_of: self.as_of,
            leads: self.leads,
            stages,
            funnel: funnel_reached,
            conversion,
            breakdown,
            owners,
            months: months(&self.months),
            sources,
            attribution: self.attribution.finish(names),
            reasons,
            velocity: self.velocity.finish(),
            cohorts: self.cohorts.finish(),
            weighted_open,
        }
    }
}

fn ratio(part: u64, whole: u64) -> Option<f64> {
    (whole > 0).then(|| part as f64 / whole as f64)
}

/// Names in order, none last.
fn by_name(a: &Option<String>, b: &Option<String>) -> std::cmp::Ordering {
    match (a, b) {
        (Some(a), Some(b)) => a.cmp(b),
        (a, b) => a.is_none().cmp(&b.is_none()),
    }
}

/// Every month from the first counted to the last, with the rate of change from the one before.
fn months(counted: &BTreeMap<i32, u64>) -> Vec<MonthFigures> {
    let (Some((&first, _)), Some((&last, _))) = (counted.first_key_value(), counted.last_key_value()) else {
        return Vec::new();
    };
    let mut previous: Option<u64> = None;
    (first..=last)
        .map(|m| {
            let mqls = counted.get(&m).copied().unwrap_or(0);
            let velocity_rate = previous.filter(|&p| p > 0).map(|p| (mqls as f64 - p as f64) / p as f64);
            previous = Some(mqls);
            MonthFigures { month: month_name(m), mqls, velocity_rate }
        })
        .collect()
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

    /// A lead qualifies in `sales`, leaves for another pipeline, and comes back qualified: two MQLs.
    /// Going back from sql to mql inside the pipeline counts too; mql to mql is no stage change.
    #[test]
    fn a_lead_back_in_the_pipeline_qualifies_afresh() {
        let pipeline = Pipeline::parse(SALES).unwrap();
        let mut names = Names::default();
        let mut reporter = PipelineReporter::new(&pipeline, None, &LeadScope::default(), day(100), &mut names).unwrap();
        let mut n = |s: &str| Some(names.intern(s));
        let change = |at, field, old, new| PlaceChange { at: day(at), field, old, new, reason: None };
        let (sales, partner, mql, sql, new) = (n("sales"), n("partner"), n("mql"), n("sql"), n("new"));
        let registered = n("registered");
        let changes = [
            change(1, PlaceField::Stage, new, mql),
            change(2, PlaceField::Pipeline, sales, partner),
            change(2, PlaceField::Stage, mql, registered),
            change(3, PlaceField::Pipeline, partner, sales),
            change(3, PlaceField::Stage, registered, mql),
            change(4, PlaceField::Stage, mql, sql),
            change(5, PlaceField::Stage, sql, mql),
        ];
        let lead = LeadPlaces {
            lead: LeadId(1),
            created_at: day(0),
            owner: None,
            source: None,
            pipeline: sales,
            stage: mql,
            changes: &changes,
        };
        reporter.add(&lead, &LeadContext::default(), &names);
        let report = reporter.finish(&names);
        assert_eq!(report.months.iter().map(|m| m.mqls).sum::<u64>(), 3);
        let mql = report.stages.iter().find(|s| s.stage == "mql").unwrap();
        assert_eq!((mql.reached, mql.completed, mql.open), (1, 2, 1));
        assert_eq!(report.stages.iter().find(|s| s.stage == "new").unwrap().completed, 1);
    }

    /// Of eight leads through `new -> mql -> sql -> won`: where the ones that did not go on are
    /// (stalled, on in sql without qualifying, won without it, disqualified; lost, recycled, gone
    /// to another pipeline),
    /// why the lost went, and the same funnel by source.
    #[test]
    fn the_funnel_says_where_the_others_went_and_splits_by_source() {
        let pipeline = Pipeline::parse(SALES).unwrap();
        let mut names = Names::default();
        let funnel = ["new", "mql", "sql", "won"].map(String::from);
        let mut reporter =
            PipelineReporter::new(&pipeline, Some(&funnel), &LeadScope::default(), day(100), &mut names).unwrap();
        reporter.split_by(FunnelDimension::Source, &[], &mut names);
        let mut n = |s: &str| Some(names.intern(s));
        let (sales, partner, registered) = (n("sales"), n("partner"), n("registered"));
        let (new, mql, sql, won, lost, recycled, disqualified) =
            (n("new"), n("mql"), n("sql"), n("won"), n("lost"), n("recycled"), n("disqualified"));
        let (web, ads, budget, spam) = (n("web"), n("ads"), n("budget"), n("spam"));
        let stage = |at, old, new, reason| PlaceChange { at: day(at), field: PlaceField::Stage, old, new, reason };
        // Its source, the pipeline and stage it is in now, its changes.
        type Lead = (Option<Name>, Option<Name>, Option<Name>, Vec<PlaceChange>);
        let leads: Vec<Lead> = vec![
            (web, sales, won, vec![stage(1, new, mql, None), stage(2, mql, sql, None), stage(3, sql, won, None)]),
            (web, sales, lost, vec![stage(1, new, mql, None), stage(2, mql, lost, budget)]),
            (ads, sales, recycled, vec![stage(1, new, mql, None), stage(2, mql, recycled, None)]),
            (ads, sales, new, vec![]),
            (None, sales, won, vec![stage(1, new, won, None)]),
            (
                ads,
                partner,
                registered,
                vec![
                    stage(1, new, mql, None),
                    PlaceChange { at: day(2), field: PlaceField::Pipeline, old: sales, new: partner, reason: None },
                    stage(2, mql, registered, None),
                ],
            ),
            (web, sales, disqualified, vec![stage(1, new, disqualified, spam)]),
            (None, sales, sql, vec![stage(1, new, sql, None)]),
        ];
        for (i, (source, pipeline, stage, changes)) in leads.iter().enumerate() {
            let lead = LeadPlaces {
                lead: LeadId(i as i64 + 1),
                created_at: day(0),
                owner: None,
                source: *source,
                pipeline: *pipeline,
                stage: *stage,
                changes,
            };
            reporter.add(&lead, &LeadContext::default(), &names);
        }
        let report = reporter.finish(&names);
        let reached: Vec<(&str, u64)> = report.funnel.iter().map(|r| (r.stage.as_str(), r.reached)).collect();
        assert_eq!(reached, [("new", 8), ("mql", 4), ("sql", 2), ("won", 2)]);
        let steps = |conversion: &[Conversion]| {
            conversion
                .iter()
                .map(|c| {
                    let d = &c.dropped;
                    let elsewhere = [d.stalled, d.skipped, d.recycled, d.lost, d.disqualified, d.won, d.left];
                    (c.reached, c.converted, elsewhere)
                })
                .collect::<Vec<_>>()
        };
        assert_eq!(
            steps(&report.conversion),
            [(8, 4, [1, 1, 0, 0, 1, 1, 0]), (4, 1, [0, 0, 1, 1, 0, 0, 1]), (2, 1, [1, 0, 0, 0, 0, 0, 0])]
        );
        let reasons = |c: &Conversion| {
            c.dropped.reasons.iter().map(|x| (x.stage.clone(), x.reason.clone(), x.count)).collect::<Vec<_>>()
        };
        assert_eq!(reasons(&report.conversion[0]), [("disqualified".into(), Some("spam".into()), 1)]);
        assert_eq!(reasons(&report.conversion[1]), [("lost".into(), Some("budget".into()), 1)]);
        let breakdown = report.breakdown.unwrap();
        assert_eq!(breakdown.by, FunnelDimension::Source);
        let groups: Vec<(Option<&str>, u64, Vec<u64>)> = breakdown
            .groups
            .iter()
            .map(|g| (g.value.as_deref(), g.leads, g.reached.iter().map(|r| r.reached).collect()))
            .collect();
        assert_eq!(
            groups,
            [(Some("ads"), 3, vec![3, 2, 0, 0]), (Some("web"), 3, vec![3, 2, 1, 1]), (None, 2, vec![2, 0, 1, 1])]
        );
        assert_eq!(
            steps(&breakdown.groups[0].conversion),
            [(3, 2, [1, 0, 0, 0, 0, 0, 0]), (2, 0, [0, 0, 1, 0, 0, 0, 1]), (0, 0, [0; 7])]
        );
        assert_eq!(
            steps(&breakdown.groups[1].conversion),
            [(3, 2, [0, 0, 0, 0, 1, 0, 0]), (2, 1, [0, 0, 0, 1, 0, 0, 0]), (1, 1, [0; 7])]
        );
    }
}
