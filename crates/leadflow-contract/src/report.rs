//! Reports as JSON: the same figures the CLI prints as tables and CSV.

use leadflow_core::Timestamp;
use leadflow_core::report as core;
use serde::Serialize;
use utoipa::ToSchema;

use crate::FunnelBreakdown;

/// One pipeline's figures as of an instant: how far leads got, how long they stayed, who and
/// what brought the won ones, month by month. Definitions: `bench/pipeline/README.md`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct PipelineReport {
    pub pipeline: String,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// Leads that were in the pipeline at some time up to `as_of`.
    pub leads: u64,
    /// In the pipeline's order; then stages its history names that its file no longer has.
    pub stages: Vec<StageFigures>,
    /// From each funnel stage to the next, and where the others went.
    pub conversion: Vec<Conversion>,
    /// The funnel by a dimension's values, when `by` asks for it.
    pub breakdown: Option<FunnelBreakdown>,
    /// By owner (as leads are owned now); leads without one last, as `null`.
    pub owners: Vec<OwnerFigures>,
    /// Every month (UTC) from the first MQL to the last.
    pub months: Vec<MonthFigures>,
    /// By source; leads without one last, as `null`.
    pub sources: Vec<SourceFigures>,
    /// By campaign, first and last touch, and landing page, from the leads' events.
    pub attribution: Attribution,
    /// Entries into lost and disqualified stages, by stage and reason.
    pub reasons: Vec<ReasonCount>,
    /// Days from creation to the first MQL, from it to acceptance (the first entry after it into
    /// a stage whose lifecycle stage is `sql`), from acceptance to won.
    pub velocity: Vec<VelocityStep>,
    /// The leads created each month, and how many had qualified and been won by each month since.
    pub cohorts: Vec<Cohort>,
    /// The pipeline now: the leads in open stages, each weighted by its stage's win probability.
    pub weighted_open: f64,
}

/// How many leads reached a stage and how long their visits lasted, in days.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct StageFigures {
    pub stage: String,
    /// `open`, `won`, `lost`, `recycled` or `disqualified`; null for a stage the pipeline's
    /// file no longer has.
    pub kind: Option<&'static str>,
    /// Leads with at least one visit.
    pub reached: u64,
    /// Visits that ended by `as_of`.
    pub completed: u64,
    /// Visits still going on at `as_of`.
    pub open: u64,
    /// Of the completed visits (linear interpolation between ranks, as `percentile_cont`).
    pub median_days: Option<f64>,
    pub p75_days: Option<f64>,
    pub p90_days: Option<f64>,
    pub mean_days: Option<f64>,
    /// Of the leads there at `as_of`: the median days they have been there.
    pub open_median_age_days: Option<f64>,
    /// Of the leads there at `as_of`: those there longer than the stage's `rotting_days`.
    pub rotting: u64,
    /// The leads there at `as_of` times the stage's win probability (open stages only).
    pub weighted: f64,
}

/// One step of a lead's way, in days, of the leads that took it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct VelocityStep {
    /// `created`, `mql` or `accepted`.
    pub from: &'static str,
    /// `mql`, `accepted` or `won`.
    pub to: &'static str,
    pub leads: u64,
    pub median_days: Option<f64>,
    pub p75_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// By the month the step ended: the trend.
    pub by_month: Vec<VelocityMonth>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct VelocityMonth {
    /// `YYYY-MM`.
    pub month: String,
    pub leads: u64,
    pub median_days: Option<f64>,
}

/// The leads created in one month.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Cohort {
    /// `YYYY-MM`.
    pub month: String,
    pub leads: u64,
    /// `qualified[k]`: of them, those that had qualified by the end of the k-th month after
    /// (0: their creation month); one entry per month up to `as_of`'s.
    pub qualified: Vec<u64>,
    /// The same for won.
    pub won: Vec<u64>,
}

/// Of the `reached` leads that visited `from`, `converted` visited `to` at or after their first
/// visit to `from`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    pub reached: u64,
    pub converted: u64,
    /// `converted / reached`; null when none reached `from`.
    pub rate: Option<f64>,
    /// The 95% Wilson interval of the rate: where the true rate may be, wide where counts are
    /// small.
    pub rate_low: Option<f64>,
    pub rate_high: Option<f64>,
    /// Where the leads that reached `from` and did not go on to `to` are as of `as_of`.
    pub dropped: Dropouts,
}

/// Where the leads that did not go on are as of the report; the counts add up to
/// `reached - converted`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Dropouts {
    /// In an open stage up to `to` in the pipeline's order (or in one the pipeline's file no
    /// longer has): stalled.
    pub stalled: u64,
    /// In an open stage after `to`, without having been through it.
    pub skipped: u64,
    /// In a recycled stage: back with marketing.
    pub recycled: u64,
    pub lost: u64,
    pub disqualified: u64,
    /// In a won stage without having been through `to`.
    pub won: u64,
    /// No longer in the pipeline.
    pub left: u64,
    /// The lost and disqualified ones by the stage they are in and why they went there, most
    /// first.
    pub reasons: Vec<ReasonCount>,
}

impl From<&core::Dropouts> for Dropouts {
    fn from(d: &core::Dropouts) -> Dropouts {
        Dropouts {
            stalled: d.stalled,
            skipped: d.skipped,
            recycled: d.recycled,
            lost: d.lost,
            disqualified: d.disqualified,
            won: d.won,
            left: d.left,
            reasons: d.reasons.iter().map(ReasonCount::from).collect(),
        }
    }
}

impl From<&core::Conversion> for Conversion {
    fn from(c: &core::Conversion) -> Conversion {
        Conversion {
            from: c.from.clone(),
            to: c.to.clone(),
            reached: c.reached,
            converted: c.converted,
            rate: c.rate,
            rate_low: c.interval.map(|i| i.0),
            rate_high: c.interval.map(|i| i.1),
            dropped: Dropouts::from(&c.dropped),
        }
    }
}

impl From<&core::ReasonCount> for ReasonCount {
    fn from(x: &core::ReasonCount) -> ReasonCount {
        ReasonCount { stage: x.stage.clone(), reason: x.reason.clone(), count: x.count }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct OwnerFigures {
    pub owner: Option<String>,
    pub leads: u64,
    /// Leads that reached a won stage; a lost one.
    pub won: u64,
    pub lost: u64,
    /// `won / (won + lost)`.
    pub win_rate: Option<f64>,
    /// Median days from a won lead's creation to its first entry into a won stage.
    pub median_days_to_won: Option<f64>,
    /// Leads sent back to nurture (that reached a recycled stage).
    pub recycled: u64,
    /// Median days of a closed lead's cycle: from its first visit in the pipeline to its first
    /// entry into a won, lost or disqualified stage.
    pub median_cycle_days: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct MonthFigures {
    /// `YYYY-MM`.
    pub month: String,
    /// Entries into an MQL stage (one whose lifecycle stage is `mql`) from one that is not: a
    /// lead that qualifies again counts again.
    pub mqls: u64,
    /// Lead velocity rate: `(mqls - last month's) / last month's`; null for the first month and
    /// after a month without any.
    pub velocity_rate: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SourceFigures {
    pub source: Option<String>,
    pub leads: u64,
    /// Leads that qualified (entered an MQL stage).
    pub mqls: u64,
    pub won: u64,
    /// `won / leads`.
    pub conversion: f64,
    /// Its 95% Wilson interval.
    pub conversion_low: f64,
    pub conversion_high: f64,
}

/// Which campaigns and pages brought the leads. A touch is an event naming a campaign (its
/// `campaign` property, or `utm_campaign` as the website snippet sends it); of a lead's touches
/// before it first qualified (before `as_of` if it never did), its first touch is the earliest,
/// its last touch the latest, and it counts once under each campaign among them. Its landing page
/// is the `url` of its first page view. Each list by leads, most first; leads without one last,
/// as `null`.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Attribution {
    pub campaigns: Vec<AttributionFigures>,
    pub first_touch: Vec<AttributionFigures>,
    pub last_touch: Vec<AttributionFigures>,
    pub landing_pages: Vec<AttributionFigures>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct AttributionFigures {
    pub value: Option<String>,
    pub leads: u64,
    /// Leads that qualified.
    pub mqls: u64,
    pub won: u64,
    /// `won / leads`, and its 95% Wilson interval.
    pub conversion: f64,
    pub conversion_low: f64,
    pub conversion_high: f64,
}

impl From<&core::AttributionFigures> for AttributionFigures {
    fn from(f: &core::AttributionFigures) -> AttributionFigures {
        // A line has at least one lead: it has an interval.
        let (low, high) = f.interval.unwrap_or((0.0, 1.0));
        AttributionFigures {
            value: f.value.clone(),
            leads: f.leads,
            mqls: f.mqls,
            won: f.won,
            conversion: f.conversion,
            conversion_low: low,
            conversion_high: high,
        }
    }
}

impl From<&core::Attribution> for Attribution {
    fn from(a: &core::Attribution) -> Attribution {
        let list = |l: &[core::AttributionFigures]| l.iter().map(AttributionFigures::from).collect();
        Attribution {
            campaigns: list(&a.campaigns),
            first_touch: list(&a.first_touch),
            last_touch: list(&a.last_touch),
            landing_pages: list(&a.landing_pages),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ReasonCount {
    pub stage: String,
    pub reason: Option<String>,
    pub count: u64,
}

impl From<&core::PipelineReport> for PipelineReport {
    fn from(r: &core::PipelineReport) -> PipelineReport {
        PipelineReport {
            pipeline: r.pipeline.clone(),
            as_of: r.as_of,
            leads: r.leads,
            stages: r
                .stages
                .iter()
                .map(|s| StageFigures {
                    stage: s.stage.clone(),
                    kind: s.kind.map(|k| k.as_str()),
                    reached: s.reached,
                    completed: s.completed,
                    open: s.open,
                    median_days: s.median_days,
                    p75_days: s.p75_days,
                    p90_days: s.p90_days,
                    mean_days: s.mean_days,
                    open_median_age_days: s.open_median_age_days,
                    rotting: s.rotting,
                    weighted: s.weighted,
                })
                .collect(),
            conversion: r.conversion.iter().map(Conversion::from).collect(),
            breakdown: r.breakdown.as_ref().map(FunnelBreakdown::from),
            owners: r.owners.iter().map(OwnerFigures::from).collect(),
            months: r
                .months
                .iter()
                .map(|m| MonthFigures { month: m.month.clone(), mqls: m.mqls, velocity_rate: m.velocity_rate })
                .collect(),
            sources: r
                .sources
                .iter()
                .map(|s| {
                    // A source has at least one lead: it has an interval.
                    let (low, high) = s.interval.unwrap_or((0.0, 1.0));
                    SourceFigures {
                        source: s.source.clone(),
                        leads: s.leads,
                        mqls: s.mqls,
                        won: s.won,
                        conversion: s.conversion,
                        conversion_low: low,
                        conversion_high: high,
                    }
                })
                .collect(),
            attribution: Attribution::from(&r.attribution),
            reasons: r.reasons.iter().map(ReasonCount::from).collect(),
            velocity: r
                .velocity
                .iter()
                .map(|v| VelocityStep {
                    from: v.from,
                    to: v.to,
                    leads: v.leads,
                    median_days: v.median_days,
                    p75_days: v.p75_days,
                    p90_days: v.p90_days,
                    by_month: v
                        .by_month
                        .iter()
                        .map(|m| VelocityMonth { month: m.month.clone(), leads: m.leads, median_days: m.median_days })
                        .collect(),
                })
                .collect(),
            cohorts: r
                .cohorts
                .iter()
                .map(|c| Cohort {
                    month: c.month.clone(),
                    leads: c.leads,
                    qualified: c.qualified.clone(),
                    won: c.won.clone(),
                })
                .collect(),
            weighted_open: r.weighted_open,
        }
    }
}

impl From<&core::OwnerFigures> for OwnerFigures {
    fn from(o: &core::OwnerFigures) -> OwnerFigures {
        OwnerFigures {
            owner: o.owner.clone(),
            leads: o.leads,
            won: o.won,
            lost: o.lost,
            win_rate: o.win_rate,
            median_days_to_won: o.median_days_to_won,
            recycled: o.recycled,
            median_cycle_days: o.median_cycle_days,
        }
    }
}

/// The reps' report: per owner and per team, their leads' figures in the pipeline, their
/// hand-off SLA (clocks started in `[from, as_of)`) and their tasks.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RepsReport {
    pub pipeline: String,
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// By owner; `owner: null` (the leads and tasks of nobody) last.
    pub reps: Vec<RepLine>,
    /// By team; owners in no team (`team: null`) last.
    pub teams: Vec<TeamLine>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct RepLine {
    pub owner: Option<String>,
    pub team: Option<String>,
    /// Their leads in the pipeline (as leads are owned now).
    pub pipeline: OwnerFigures,
    pub sla: crate::ComplianceCounts,
    pub response: ResponseFigures,
    pub tasks: TaskFigures,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TeamLine {
    pub team: Option<String>,
    pub reps: u64,
    pub leads: u64,
    pub won: u64,
    pub lost: u64,
    pub win_rate: Option<f64>,
    pub recycled: u64,
    pub sla: crate::ComplianceCounts,
    /// The reps' clocks pooled.
    pub response: ResponseFigures,
    pub tasks: TaskFigures,
}

/// How fast the SLA clocks started in the period were met, in the owner's working hours (their
/// calendar: zone, hours, holidays): a lead handed over on Friday night and answered on Monday
/// at the start of the day took no working time.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ResponseFigures {
    /// Clocks started in the period; of those, met by `as_of` and still waiting then (the rest
    /// stopped unanswered: the lead closed or changed hands first).
    pub clocks: u64,
    pub responded: u64,
    pub waiting: u64,
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub mean_hours: Option<f64>,
}

impl From<&core::ResponseTimes> for ResponseFigures {
    fn from(r: &core::ResponseTimes) -> ResponseFigures {
        ResponseFigures {
            clocks: r.clocks,
            responded: r.responded,
            waiting: r.waiting,
            median_hours: r.median_hours,
            p90_hours: r.p90_hours,
            mean_hours: r.mean_hours,
        }
    }
}

/// Tasks: pending and overdue at `as_of`, done in the period and how many of those late.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TaskFigures {
    pub pending: u64,
    pub overdue: u64,
    pub done: u64,
    pub done_late: u64,
}

impl From<&leadflow_store::TaskCounts> for TaskFigures {
    fn from(t: &leadflow_store::TaskCounts) -> TaskFigures {
        TaskFigures { pending: t.pending, overdue: t.overdue, done: t.done, done_late: t.done_late }
    }
}

impl From<&leadflow_engine::RepsReport> for RepsReport {
    fn from(r: &leadflow_engine::RepsReport) -> RepsReport {
        RepsReport {
            pipeline: r.pipeline.clone(),
            from: r.from,
            as_of: r.as_of,
            reps: r
                .reps
                .iter()
                .map(|l| RepLine {
                    owner: l.owner.clone(),
                    team: l.team.clone(),
                    pipeline: OwnerFigures::from(&l.pipeline),
                    sla: l.sla.into(),
                    response: ResponseFigures::from(&l.response),
                    tasks: TaskFigures::from(&l.tasks),
                })
                .collect(),
            teams: r
                .teams
                .iter()
                .map(|t| TeamLine {
                    team: t.team.clone(),
                    reps: t.reps,
                    leads: t.leads,
                    won: t.won,
                    lost: t.lost,
                    win_rate: t.win_rate,
                    recycled: t.recycled,
                    sla: t.sla.into(),
                    response: ResponseFigures::from(&t.response),
                    tasks: TaskFigures::from(&t.tasks),
                })
                .collect(),
        }
    }
}

/// The model over time: for the leads that first qualified each month (or quarter), the bucket
/// and grade their score had as they qualified and how many were won; the MQL rule's precision
/// and recall; warnings where a bucket or grade converted no better than the one below it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelReport {
    pub pipeline: String,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// `month` or `quarter`.
    #[schema(pattern = "^(month|quarter)$")]
    pub period: &'static str,
    /// Every period from the first MQL to the last.
    pub periods: Vec<ModelPeriod>,
    /// All periods together.
    pub buckets: Vec<Split>,
    pub grades: Vec<Split>,
    /// The scored MQLs in ten equal groups by their total as they qualified, lowest first.
    pub deciles: Vec<Decile>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Decile {
    /// 1 (the lowest totals) to 10.
    pub decile: u32,
    pub min_total: f64,
    pub max_total: f64,
    pub leads: u64,
    pub won: u64,
    pub rate: Option<f64>,
    pub rate_low: Option<f64>,
    pub rate_high: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ModelPeriod {
    /// `YYYY-MM`, or `YYYY-Qn`.
    pub period: String,
    /// Leads that first qualified in the period, and of them those won by `as_of`.
    pub mqls: u64,
    pub won: u64,
    /// `won / mqls`: the MQL rule's precision.
    pub precision: Option<f64>,
    /// Leads won in the period, and of them those that had qualified before.
    pub won_in_period: u64,
    pub won_after_mql: u64,
    /// `won_after_mql / won_in_period`: the MQL rule's recall.
    pub recall: Option<f64>,
    /// By the bucket at the MQL, the model's order (best first), `unscored` last.
    pub buckets: Vec<Split>,
    /// By the grade at the MQL, A to F, `unscored` last.
    pub grades: Vec<Split>,
}

/// A bucket's or grade's leads, those won, the rate and its 95% Wilson interval.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Split {
    pub name: String,
    pub leads: u64,
    pub won: u64,
    pub rate: Option<f64>,
    pub rate_low: Option<f64>,
    pub rate_high: Option<f64>,
}

impl From<&core::Split> for Split {
    fn from(s: &core::Split) -> Split {
        Split {
            name: s.name.clone(),
            leads: s.leads,
            won: s.won,
            rate: s.rate,
            rate_low: s.interval.map(|i| i.0),
            rate_high: s.interval.map(|i| i.1),
        }
    }
}

impl From<&core::ModelReport> for ModelReport {
    fn from(r: &core::ModelReport) -> ModelReport {
        let splits = |list: &[core::Split]| list.iter().map(Split::from).collect();
        ModelReport {
            pipeline: r.pipeline.clone(),
            as_of: r.as_of,
            period: r.period.as_str(),
            periods: r
                .periods
                .iter()
                .map(|m| ModelPeriod {
                    period: m.period.clone(),
                    mqls: m.mqls,
                    won: m.won,
                    precision: m.precision,
                    won_in_period: m.won_in_period,
                    won_after_mql: m.won_after_mql,
                    recall: m.recall,
                    buckets: splits(&m.buckets),
                    grades: splits(&m.grades),
                })
                .collect(),
            buckets: splits(&r.buckets),
            grades: splits(&r.grades),
            deciles: r
                .deciles
                .iter()
                .map(|d| Decile {
                    decile: d.decile,
                    min_total: d.min_total,
                    max_total: d.max_total,
                    leads: d.leads,
                    won: d.won,
                    rate: d.rate,
                    rate_low: d.interval.map(|i| i.0),
                    rate_high: d.interval.map(|i| i.1),
                })
                .collect(),
            warnings: r.warnings.clone(),
        }
    }
}

/// Touchpoints that precede conversion, over the leads with an outcome (the lab's), each seen as
/// of its cutoff.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct TouchpointReport {
    pub leads: u64,
    pub converted: u64,
    /// By lift, highest first.
    pub touchpoints: Vec<Touchpoint>,
    /// Where the model's points disagree with the evidence: changes to backtest in the lab.
    pub suggestions: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct Touchpoint {
    /// `event` (an event type), `engagement` or `fit` (a rule of the active model).
    pub kind: &'static str,
    pub name: String,
    /// The model's points for a rule.
    pub points: Option<f64>,
    pub with_leads: u64,
    pub with_converted: u64,
    pub without_leads: u64,
    pub without_converted: u64,
    pub rate_with: Option<f64>,
    pub rate_without: Option<f64>,
    /// `rate_with / rate_without`, and a conservative 95% range.
    pub lift: Option<f64>,
    pub lift_low: Option<f64>,
    pub lift_high: Option<f64>,
}

impl From<&core::TouchpointReport> for TouchpointReport {
    fn from(r: &core::TouchpointReport) -> TouchpointReport {
        TouchpointReport {
            leads: r.leads,
            converted: r.converted,
            touchpoints: r
                .touchpoints
                .iter()
                .map(|t| Touchpoint {
                    kind: t.kind.as_str(),
                    name: t.name.clone(),
                    points: t.points,
                    with_leads: t.with_leads,
                    with_converted: t.with_converted,
                    without_leads: t.without_leads,
                    without_converted: t.without_converted,
                    rate_with: t.rate_with,
                    rate_without: t.rate_without,
                    lift: t.lift,
                    lift_low: t.lift_low,
                    lift_high: t.lift_high,
                })
                .collect(),
            suggestions: r.suggestions.clone(),
        }
    }
}
