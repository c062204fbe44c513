//! The reps' report: per owner and per team, what their leads did in the pipeline (owned, won,
//! lost, win rate, days to won, cycle length, sent back to nurture), how they kept the hand-off
//! SLA (clocks started in the period) and how fast they answered it in their working hours, and
//! their tasks (pending and overdue now, done in the period, late). One use case over three
//! reads: the pipeline's history, the SLA clocks, the tasks.

use std::collections::BTreeMap;

use leadflow_core::report::{OwnerFigures, ResponseTally, ResponseTimes};
use leadflow_core::sla::Compliance;
use leadflow_core::team::{calendar_of, default_calendar};
use leadflow_core::{Actor, Timestamp};
use leadflow_store::{ComplianceQuery, Store, TaskCounts};

use crate::{Engine, EngineError, PipelineReportRequest, Progress};

/// What the reps' report is asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RepsReportRequest {
    /// The pipeline and the leads whose figures count (as the pipeline report takes them).
    pub pipeline: PipelineReportRequest,
    /// The start of the period SLA clocks and done tasks are counted in (up to `as_of`); 30
    /// days before it by default.
    pub from: Option<Timestamp>,
}

/// One owner's line (`owner: None`: the leads and tasks of nobody).
#[derive(Clone, Debug, PartialEq)]
pub struct RepLine {
    pub owner: Option<String>,
    pub team: Option<String>,
    pub pipeline: OwnerFigures,
    pub sla: Compliance,
    /// How fast they met the clocks started in the period, in their working hours.
    pub response: ResponseTimes,
    pub tasks: TaskCounts,
}

/// A team's sums (`team: None`: owners in no team).
#[derive(Clone, Debug, PartialEq)]
pub struct TeamLine {
    pub team: Option<String>,
    pub reps: u64,
    pub leads: u64,
    pub won: u64,
    pub lost: u64,
    pub win_rate: Option<f64>,
    pub recycled: u64,
    pub sla: Compliance,
    pub response: ResponseTimes,
    pub tasks: TaskCounts,
}

#[derive(Clone, Debug, PartialEq)]
pub struct RepsReport {
    pub pipeline: String,
    pub from: Timestamp,
    pub as_of: Timestamp,
    pub reps: Vec<RepLine>,
    pub teams: Vec<TeamLine>,
}

impl<S: Store> Engine<S> {
    /// [`reps_report`](Self::reps_report), if `actor` may read reports.
    pub fn reps_report_as(
        &mut self,
        actor: &Actor<'_>,
        request: &RepsReportRequest,
        progress: &dyn Progress,
    ) -> Result<RepsReport, EngineError> {
        self.may_read_reports(actor)?;
        self.reps_report(request, progress)
    }

    pub fn reps_report(
        &mut self,
        request: &RepsReportRequest,
        progress: &dyn Progress,
    ) -> Result<RepsReport, EngineError> {
        let as_of = request.pipeline.as_of.unwrap_or_else(|| self.now());
        let from = request.from.unwrap_or(as_of.minus_days(30));
        let pipeline = PipelineReportRequest { as_of: Some(as_of), ..request.pipeline.clone() };
        let report = self.pipeline_report(&pipeline, progress)?;
        let compliance = self.sla_compliance(from, as_of)?;
        let tasks = self.store.task_counts(from, as_of)?;
        let responses = self.response_tallies(from, as_of)?;
        let users = self.store.users()?;
        let team_of = |owner: &Option<String>| {
            let user = users.iter().find(|u| Some(u.name().as_str()) == owner.as_deref())?;
            user.team().map(|t| t.as_str().to_string())
        };
        // Every owner any of the three knows, by name; nobody's last.
        let mut lines: Lines = BTreeMap::new();
        for figures in report.owners {
            let owner = figures.owner.clone();
            line(&mut lines, owner, &team_of).pipeline = figures;
        }
        // The SLA's and the tasks' owners count when the report keeps every owner.
        let scoped = request.pipeline.scope.owners.is_some() || request.pipeline.teams.is_some();
        let kept =
            |lines: &Lines, owner: &Option<String>| !scoped || lines.contains_key(&(owner.is_none(), owner.clone()));
        for c in compliance.owners {
            let owner = c.owner.map(|o| o.as_str().to_string());
            if kept(&lines, &owner) {
                line(&mut lines, owner, &team_of).sla = c.compliance;
            }
        }
        for (owner, tally) in &responses {
            let owner = Some(owner.clone());
            if kept(&lines, &owner) {
                let line = line(&mut lines, owner, &team_of);
                line.response = tally.finish();
            }
        }
        for t in tasks {
            if kept(&lines, &t.owner) {
                let owner = t.owner.clone();
                line(&mut lines, owner, &team_of).tasks = t;
            }
        }
        let reps: Vec<RepLine> = lines.into_values().collect();
        let teams = teams(&reps, &responses);
        Ok(RepsReport { pipeline: report.pipeline, from, as_of, teams, reps })
    }
}

impl<S: Store> Engine<S> {
    /// Per owner, by name: how fast they met the SLA clocks started in `[from, as_of)`, in their
    /// working hours, as of `as_of`.
    pub(crate) fn response_tallies(
        &self,
        from: Timestamp,
        as_of: Timestamp,
    ) -> Result<BTreeMap<String, ResponseTally>, EngineError> {
        let clocks = self.store.sla_responses(&ComplianceQuery { from, to: as_of, now: as_of })?;
        let users = self.store.users()?;
        let default = default_calendar();
        let mut responses: BTreeMap<String, ResponseTally> = BTreeMap::new();
        for clock in clocks {
            let tally = responses.entry(clock.owner.as_str().to_string()).or_default();
            match clock.met_at {
                Some(met) => {
                    let calendar = calendar_of(&users, Some(clock.owner.as_str()), &default);
                    tally.met(calendar.working_between(clock.started_at, met));
                }
                None if clock.stopped => tally.stopped(),
                None => tally.waiting(),
            }
        }
        Ok(responses)
    }
}

/// Lines by (nobody, owner): owners by name, nobody's last.
type Lines = BTreeMap<(bool, Option<String>), RepLine>;

/// The owner's line, begun with nothing if it is new.
fn line<'a>(
    lines: &'a mut Lines,
    owner: Option<String>,
    team_of: &dyn Fn(&Option<String>) -> Option<String>,
) -> &'a mut RepLine {
    lines.entry((owner.is_none(), owner.clone())).or_insert_with(|| RepLine {
        team: team_of(&owner),
        pipeline: OwnerFigures { owner: owner.clone(), ..no_leads() },
        owner,
        sla: Compliance::default(),
        response: ResponseTimes::default(),
        tasks: TaskCounts::default(),
    })
}

fn no_leads() -> OwnerFigures {
    OwnerFigures {
        owner: None,
        leads: 0,
        won: 0,
        lost: 0,
        win_rate: None,
        median_days_to_won: None,
        recycled: 0,
        median_cycle_days: None,
    }
}

/// Each team's reps summed (their response times pooled), by name; owners in no team last.
fn teams(reps: &[RepLine], responses: &BTreeMap<String, ResponseTally>) -> Vec<TeamLine> {
    let mut teams: BTreeMap<(bool, Option<String>), TeamLine> = BTreeMap::new();
    let mut pooled: BTreeMap<(bool, Option<String>), ResponseTally> = BTreeMap::new();
    for rep in reps.iter().filter(|r| r.owner.is_some()) {
        let team = teams.entry((rep.team.is_none(), rep.team.clone())).or_insert_with(|| TeamLine {
            team: rep.team.clone(),
            reps: 0,
            leads: 0,
            won: 0,
            lost: 0,
            win_rate: None,
            recycled: 0,
            sla: Compliance::default(),
            response: ResponseTimes::default(),
            tasks: TaskCounts::default(),
        });
        if let Some(tally) = rep.owner.as_ref().and_then(|o| responses.get(o)) {
            pooled.entry((rep.team.is_none(), rep.team.clone())).or_default().merge(tally);
        }
        team.reps += 1;
        team.leads += rep.pipeline.leads;
        team.won += rep.pipeline.won;
        team.lost += rep.pipeline.lost;
        team.recycled += rep.pipeline.recycled;
        team.sla = team.sla.merge(rep.sla);
        team.tasks.pending += rep.tasks.pending;
        team.tasks.overdue += rep.tasks.overdue;
        team.tasks.done += rep.tasks.done;
        team.tasks.done_late += rep.tasks.done_late;
    }
    teams
        .into_iter()
        .map(|(key, mut t)| {
            t.win_rate = (t.won + t.lost > 0).then(|| t.won as f64 / (t.won + t.lost) as f64);
            t.response = pooled.get(&key).map(ResponseTally::finish).unwrap_or_default();
            t
        })
        .collect()
}
