//! The funnel, step by step: of the leads that reached a funnel stage, how many went on to the
//! next one, and where the others are as of the report (still being worked, recycled, lost and
//! why, won another way, gone from the pipeline); and the same split by one of the leads'
//! dimensions (source, owner, team, campaign, ...), a funnel for each of its values.

use rustc_hash::FxHashMap;

use crate::Timestamp;
use crate::model::Grade;
use crate::pipeline::StageKind;

use super::interval::wilson;
use super::month::{month_name, month_of};
use super::names::{Name, Names};
use super::pipeline::ReasonCount;
use super::places::LeadPlaces;
use super::scope::LeadContext;

/// What a funnel can be split by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FunnelDimension {
    Source,
    /// As the lead is owned now.
    Owner,
    /// The team of its owner now.
    Team,
    /// Its first-touch campaign (see [`super::Attribution`]).
    Campaign,
    /// The page of its first page view.
    LandingPage,
    /// As scored now.
    Bucket,
    Grade,
    /// The calendar month (UTC) it was created in, `YYYY-MM`.
    Month,
}

impl FunnelDimension {
    pub const ALL: [FunnelDimension; 8] = [
        FunnelDimension::Source,
        FunnelDimension::Owner,
        FunnelDimension::Team,
        FunnelDimension::Campaign,
        FunnelDimension::LandingPage,
        FunnelDimension::Bucket,
        FunnelDimension::Grade,
        FunnelDimension::Month,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FunnelDimension::Source => "source",
            FunnelDimension::Owner => "owner",
            FunnelDimension::Team => "team",
            FunnelDimension::Campaign => "campaign",
            FunnelDimension::LandingPage => "landing_page",
            FunnelDimension::Bucket => "bucket",
            FunnelDimension::Grade => "grade",
            FunnelDimension::Month => "month",
        }
    }

    pub fn parse(s: &str) -> Option<FunnelDimension> {
        FunnelDimension::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Whether its values come from the leads' scores, which are then read beside the history.
    pub fn by_score(self) -> bool {
        matches!(self, FunnelDimension::Bucket | FunnelDimension::Grade)
    }
}

/// Where the leads that reached a stage and did not go on to the next are as of the report.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Dropouts {
    /// In an open stage up to the next one in the pipeline's order (or in one the pipeline's
    /// file no longer has): stalled.
    pub stalled: u64,
    /// In an open stage after the next one, without having been through it.
    pub skipped: u64,
    pub recycled: u64,
    pub lost: u64,
    pub disqualified: u64,
    /// In a won stage without having been through the next one.
    pub won: u64,
    /// No longer in the pipeline.
    pub left: u64,
    /// The lost and disqualified ones by the stage they are in and the reason they went there.
    pub reasons: Vec<ReasonCount>,
}

/// A lead's funnel stage: how many of the leads reached it.
#[derive(Clone, Debug, PartialEq)]
pub struct Reached {
    pub stage: String,
    pub reached: u64,
}

/// `converted` of the `reached` leads that visited `from` visited `to` at or after their first
/// visit to `from`; `dropped` says where the others are.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    pub from: String,
    pub to: String,
    pub reached: u64,
    pub converted: u64,
    pub rate: Option<f64>,
    /// The 95% Wilson interval of the rate.
    pub interval: Option<(f64, f64)>,
    pub dropped: Dropouts,
}

/// The funnel of the leads with one value of the dimension.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelGroup {
    /// `None`: the leads without one.
    pub value: Option<String>,
    pub leads: u64,
    pub reached: Vec<Reached>,
    pub conversion: Vec<Conversion>,
}

/// The funnel split by a dimension: by leads, most first (then by value), none last.
#[derive(Clone, Debug, PartialEq)]
pub struct FunnelBreakdown {
    pub by: FunnelDimension,
    pub groups: Vec<FunnelGroup>,
}

/// The value of a dimension a lead has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum GroupValue {
    Name(Name),
    Grade(Grade),
    Month(i32),
}

impl GroupValue {
    fn resolve(self, names: &Names) -> String {
        match self {
            GroupValue::Name(name) => names.resolve(name).to_string(),
            GroupValue::Grade(grade) => grade.letter().to_string(),
            GroupValue::Month(month) => month_name(month),
        }
    }
}

/// Where a lead is as of the report, as the funnel sorts drop-outs.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) enum Whereabouts {
    /// In a stage of this kind (`None`: one the file no longer has), with its stage index and
    /// the reason it went there.
    In(Option<StageKind>, usize, Option<Name>),
    #[default]
    Left,
}

/// One lead's way through the funnel: which funnel stages it reached (by funnel position),
/// which steps it took, where it is.
#[derive(Debug, Default)]
pub(crate) struct LeadFunnel {
    pub(crate) reached: Vec<bool>,
    pub(crate) converted: Vec<bool>,
    /// By step: whether the stage it is in comes after the step's next stage.
    pub(crate) past: Vec<bool>,
    pub(crate) whereabouts: Whereabouts,
}

/// A funnel's counts over some leads.
#[derive(Clone, Debug, Default)]
pub(crate) struct FunnelTally {
    leads: u64,
    reached: Vec<u64>,
    converted: Vec<u64>,
    dropped: Vec<DropTally>,
}

#[derive(Clone, Debug, Default)]
struct DropTally {
    stalled: u64,
    skipped: u64,
    recycled: u64,
    lost: u64,
    disqualified: u64,
    won: u64,
    left: u64,
    reasons: FxHashMap<(usize, Option<Name>), u64>,
}

impl FunnelTally {
    pub(crate) fn add(&mut self, lead: &LeadFunnel) {
        if self.reached.is_empty() {
            self.reached = vec![0; lead.reached.len()];
            self.converted = vec![0; lead.converted.len()];
            self.dropped = vec![DropTally::default(); lead.converted.len()];
        }
        self.leads += 1;
        for (count, &reached) in self.reached.iter_mut().zip(&lead.reached) {
            *count += u64::from(reached);
        }
        for (step, &converted) in lead.converted.iter().enumerate() {
            if converted {
                self.converted[step] += 1;
            } else if lead.reached[step] {
                let dropped = &mut self.dropped[step];
                match lead.whereabouts {
                    Whereabouts::Left => dropped.left += 1,
                    Whereabouts::In(Some(StageKind::Open), _, _) if lead.past[step] => dropped.skipped += 1,
                    Whereabouts::In(None | Some(StageKind::Open), _, _) => dropped.stalled += 1,
                    Whereabouts::In(Some(StageKind::Recycled), _, _) => dropped.recycled += 1,
                    Whereabouts::In(Some(StageKind::Won), _, _) => dropped.won += 1,
                    Whereabouts::In(Some(StageKind::Lost), stage, reason) => {
                        dropped.lost += 1;
                        *dropped.reasons.entry((stage, reason)).or_default() += 1;
                    }
                    Whereabouts::In(Some(StageKind::Disqualified), stage, reason) => {
                        dropped.disqualified += 1;
                        *dropped.reasons.entry((stage, reason)).or_default() += 1;
                    }
                }
            }
        }
    }

    /// Its figures over `funnel` (the funnel's stage ids, in order), names resolved in `names`.
    pub(crate) fn finish(
        self,
        funnel: &[String],
        stage_ids: &[String],
        names: &Names,
    ) -> (Vec<Reached>, Vec<Conversion>) {
        let count = |list: &[u64], i: usize| list.get(i).copied().unwrap_or(0);
        let reached = funnel
            .iter()
            .enumerate()
            .map(|(i, stage)| Reached { stage: stage.clone(), reached: count(&self.reached, i) })
            .collect();
        let mut dropped = self.dropped.into_iter();
        let conversion = funnel
            .windows(2)
            .enumerate()
            .map(|(step, pair)| {
                let (reached, converted) = (count(&self.reached, step), count(&self.converted, step));
                Conversion {
                    from: pair[0].clone(),
                    to: pair[1].clone(),
                    reached,
                    converted,
                    rate: (reached > 0).then(|| converted as f64 / reached as f64),
                    interval: wilson(converted, reached),
                    dropped: dropped.next().map(|d| d.finish(stage_ids, names)).unwrap_or_default(),
                }
            })
            .collect();
        (reached, conversion)
    }
}

impl DropTally {
    fn finish(self, stage_ids: &[String], names: &Names) -> Dropouts {
        let mut reasons: Vec<ReasonCount> = self
            .reasons
            .into_iter()
            .map(|((stage, reason), count)| ReasonCount {
                stage: stage_ids[stage].clone(),
                reason: reason.map(|r| names.resolve(r).to_string()),
                count,
            })
            .collect();
        reasons.sort_by(|a, b| {
            (std::cmp::Reverse(a.count), &a.stage, a.reason.is_none(), &a.reason).cmp(&(
                std::cmp::Reverse(b.count),
                &b.stage,
                b.reason.is_none(),
                &b.reason,
            ))
        });
        Dropouts {
            stalled: self.stalled,
            skipped: self.skipped,
            recycled: self.recycled,
            lost: self.lost,
            disqualified: self.disqualified,
            won: self.won,
            left: self.left,
            reasons,
        }
    }
}

/// The funnel's tallies by a dimension's value.
#[derive(Debug)]
pub(crate) struct FunnelSplit {
    pub(crate) by: FunnelDimension,
    /// The team of each owner, for [`FunnelDimension::Team`].
    pub(crate) teams: FxHashMap<Name, Name>,
    pub(crate) groups: FxHashMap<Option<GroupValue>, FunnelTally>,
}

impl FunnelSplit {
    pub(crate) fn new(by: FunnelDimension, teams: FxHashMap<Name, Name>) -> FunnelSplit {
        FunnelSplit { by, teams, groups: FxHashMap::default() }
    }

    /// Counts a lead's way through the funnel under its value of the dimension.
    pub(crate) fn add(
        &mut self,
        lead: &LeadPlaces<'_>,
        context: &LeadContext,
        qualified_at: Option<Timestamp>,
        funnel: &LeadFunnel,
    ) {
        let value = match self.by {
            FunnelDimension::Source => lead.source.map(GroupValue::Name),
            FunnelDimension::Owner => lead.owner.map(GroupValue::Name),
            FunnelDimension::Team => lead.owner.and_then(|o| self.teams.get(&o)).copied().map(GroupValue::Name),
            FunnelDimension::Campaign => context.touches.first_campaign(qualified_at).map(GroupValue::Name),
            FunnelDimension::LandingPage => context.touches.landing_page().map(GroupValue::Name),
            FunnelDimension::Bucket => context.bucket.map(GroupValue::Name),
            FunnelDimension::Grade => context.grade.map(GroupValue::Grade),
            FunnelDimension::Month => Some(GroupValue::Month(month_of(lead.created_at))),
        };
        self.groups.entry(value).or_default().add(funnel);
    }

    pub(crate) fn finish(self, funnel: &[String], stage_ids: &[String], names: &Names) -> FunnelBreakdown {
        let mut groups: Vec<(Option<String>, FunnelGroup)> = self
            .groups
            .into_iter()
            .map(|(value, tally)| {
                let leads = tally.leads;
                let (reached, conversion) = tally.finish(funnel, stage_ids, names);
                let value = value.map(|v| v.resolve(names));
                (value.clone(), FunnelGroup { value, leads, reached, conversion })
            })
            .collect();
        groups.sort_by(|(a, ga), (b, gb)| {
            (a.is_none(), std::cmp::Reverse(ga.leads), a).cmp(&(b.is_none(), std::cmp::Reverse(gb.leads), b))
        });
        FunnelBreakdown { by: self.by, groups: groups.into_iter().map(|(_, g)| g).collect() }
    }
}
