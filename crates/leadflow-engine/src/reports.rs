//! Reports as use cases: which pipeline, as of when, over which funnel; the store streams every
//! lead's place history and the core folds it ([`leadflow_core::report`]).

use leadflow_core::report::{
    FunnelDimension, LeadContext, LeadPlaces, LeadScope, ModelReport, ModelReporter, Names, PipelineReport,
    PipelineReporter, ReportPeriod, ScorePoint,
};
use leadflow_core::team::UserRole;
use leadflow_core::{Actor, Role, Timestamp};
use leadflow_core::{LeadId, Pipeline};
use leadflow_store::{ScanScope, Store};
use rustc_hash::FxHashMap;

use crate::{Engine, EngineError, Progress};

/// What a pipeline report is asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PipelineReportRequest {
    /// The active pipeline to report on; may be left out when only one is active.
    pub pipeline: Option<String>,
    /// The funnel's stages, in order; by default the pipeline's open stages, then its won ones.
    pub funnel: Option<Vec<String>>,
    /// Now by default.
    pub as_of: Option<Timestamp>,
    /// Which leads count (a cohort, sources, owners); every lead by default.
    pub scope: LeadScope,
    /// Only leads owned by members of these teams (the sales users' `team`).
    pub teams: Option<Vec<String>>,
    /// Also split the funnel by this.
    pub by: Option<FunnelDimension>,
}

/// What a report on the model over time is asked for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ModelReportRequest {
    /// The active pipeline whose MQLs and wins count; may be left out when only one is active.
    pub pipeline: Option<String>,
    /// Now by default.
    pub as_of: Option<Timestamp>,
    /// By month or by quarter.
    pub period: ReportPeriod,
}

/// Leads between two ticks of a report's progress.
const PROGRESS_EVERY: u64 = 10_000;

impl<S: Store> Engine<S> {
    /// [`pipeline_report`](Self::pipeline_report), if `actor` may read reports.
    pub fn pipeline_report_as(
        &mut self,
        actor: &Actor<'_>,
        request: &PipelineReportRequest,
        progress: &dyn Progress,
    ) -> Result<PipelineReport, EngineError> {
        self.may_read_reports(actor)?;
        self.pipeline_report(request, progress)
    }

    /// Reports are for admin and marketing keys, and for sales keys of managers.
    pub(crate) fn may_read_reports(&self, actor: &Actor<'_>) -> Result<(), EngineError> {
        let is_manager = || -> Result<bool, EngineError> {
            let users = self.store.users()?;
            Ok(users.iter().any(|u| u.name().as_str() == actor.name && u.role() == UserRole::Manager && u.is_active()))
        };
        let is_manager = actor.role == Role::Sales && is_manager()?;
        Ok(actor.may_read_reports(is_manager)?)
    }

    /// The active pipeline a report is on: the one named, or the only one.
    pub(crate) fn report_pipeline(&mut self, name: Option<&str>) -> Result<Pipeline, EngineError> {
        let pipelines = self.active_pipelines()?;
        let active = || pipelines.all().iter().map(|p| p.name().to_string()).collect::<Vec<_>>();
        match (name, pipelines.all()) {
            (Some(name), _) => pipelines
                .named(name)
                .cloned()
                .ok_or_else(|| EngineError::NoSuchPipeline { name: name.to_string(), active: active() }),
            (None, [only]) => Ok(only.clone()),
            (None, _) => Err(EngineError::PipelineNeeded { active: active() }),
        }
    }

    /// [`model_report`](Self::model_report), if `actor` may read reports.
    pub fn model_report_as(
        &mut self,
        actor: &Actor<'_>,
        request: &ModelReportRequest,
        progress: &dyn Progress,
    ) -> Result<ModelReport, EngineError> {
        self.may_read_reports(actor)?;
        self.model_report(request, progress)
    }

    /// The model over time: each month's (or quarter's) MQLs by the bucket and grade they had
    /// as they qualified, and how many were won; the MQL rule's precision and recall; drift
    /// warnings.
    pub fn model_report(
        &mut self,
        request: &ModelReportRequest,
        progress: &dyn Progress,
    ) -> Result<ModelReport, EngineError> {
        let pipeline = self.report_pipeline(request.pipeline.as_deref())?;
        let (_, model) = self.active_model()?;
        let as_of = request.as_of.unwrap_or_else(|| self.now());
        let mut names = Names::default();
        let mut reporter = ModelReporter::new(&pipeline, &model, as_of, request.period, &mut names);
        // By lead, as the leads are scanned: each lead's run is found by walking along.
        let (leads, mut scores): (Vec<LeadId>, Vec<ScorePoint>) =
            self.store.score_points(&mut names)?.into_iter().unzip();
        let mut next = 0;
        self.scan_places(&mut names, progress, &mut |lead, _| {
            while next < leads.len() && leads[next] < lead.lead {
                next += 1;
            }
            let start = next;
            while next < leads.len() && leads[next] == lead.lead {
                next += 1;
            }
            // In time order (stable: a rescore as of an earlier instant is recorded after what
            // it precedes).
            let of_lead = &mut scores[start..next];
            of_lead.sort_by_key(|p| p.at);
            reporter.add(lead, of_lead);
        })?;
        Ok(reporter.finish(&names))
    }

    /// The request's scope, its teams' members among the owners it keeps.
    fn scope_with_teams(&self, request: &PipelineReportRequest) -> Result<LeadScope, EngineError> {
        let mut scope = request.scope.clone();
        if let Some(teams) = &request.teams {
            let members: Vec<String> = self
                .store
                .users()?
                .iter()
                .filter(|u| u.team().is_some_and(|t| teams.iter().any(|team| team == t.as_str())))
                .map(|u| u.name().as_str().to_string())
                .collect();
            scope.owners = Some(match scope.owners {
                Some(owners) => owners.into_iter().filter(|o| members.contains(o)).collect(),
                None => members,
            });
        }
        Ok(scope)
    }

    /// The pipeline report: every lead's history, one pass.
    pub fn pipeline_report(
        &mut self,
        request: &PipelineReportRequest,
        progress: &dyn Progress,
    ) -> Result<PipelineReport, EngineError> {
        Ok(self.pipeline_report_with(request, Names::default(), progress, &mut |_, _, _| {})?.0)
    }

    /// The pipeline report, each lead also given to `also` in the same pass, with its context
    /// (read with the names it returns, `names` among them).
    pub(crate) fn pipeline_report_with(
        &mut self,
        request: &PipelineReportRequest,
        mut names: Names,
        progress: &dyn Progress,
        also: &mut dyn FnMut(&LeadPlaces<'_>, &LeadContext, &Names),
    ) -> Result<(PipelineReport, Names), EngineError> {
        let pipeline = &self.report_pipeline(request.pipeline.as_deref())?;
        let as_of = request.as_of.unwrap_or_else(|| self.now());
        let scope = self.scope_with_teams(request)?;
        let mut reporter = PipelineReporter::new(pipeline, request.funnel.as_deref(), &scope, as_of, &mut names)
            .map_err(|stage| EngineError::NoSuchStage { pipeline: pipeline.name().to_string(), stage })?;
        if let Some(by) = request.by {
            let teams: Vec<(String, String)> = self
                .store
                .users()?
                .iter()
                .filter_map(|u| Some((u.name().as_str().to_string(), u.team()?.as_str().to_string())))
                .collect();
            reporter.split_by(by, &teams, &mut names);
        }
        let by_score = scope.by_score() || request.by.is_some_and(FunnelDimension::by_score);
        let contexts = self.lead_contexts(by_score, as_of, &mut names)?;
        let nothing = LeadContext::default();
        self.scan_places(&mut names, progress, &mut |lead, names| {
            let context = contexts.get(&lead.lead).unwrap_or(&nothing);
            reporter.add(lead, context, names);
            also(lead, context, names);
        })?;
        let report = reporter.finish(&names);
        Ok((report, names))
    }

    /// What the report knows of each lead beyond its places: the touches of its events up to
    /// `as_of`, and its bucket and grade when the report keeps or splits leads by them.
    fn lead_contexts(
        &self,
        by_score: bool,
        as_of: Timestamp,
        names: &mut Names,
    ) -> Result<FxHashMap<LeadId, LeadContext>, EngineError> {
        let mut contexts: FxHashMap<LeadId, LeadContext> = FxHashMap::default();
        self.store
            .scan_touches(as_of, names, &mut |lead, touch| contexts.entry(lead).or_default().touches.add(touch))?;
        for context in contexts.values_mut() {
            context.touches.sort();
        }
        if by_score {
            self.store.for_each_score(&mut |lead, score| {
                let context = contexts.entry(lead).or_default();
                context.bucket = Some(names.intern(&score.values.bucket));
                context.grade = Some(score.values.grade);
            })?;
        }
        Ok(contexts)
    }

    /// Every lead's place history through `each`, `progress` following the leads read.
    pub(crate) fn scan_places(
        &self,
        names: &mut Names,
        progress: &dyn Progress,
        each: &mut dyn FnMut(&LeadPlaces<'_>, &Names),
    ) -> Result<(), EngineError> {
        progress.start(self.store.count_for_rescore(ScanScope::All)?);
        let mut read = 0u64;
        self.store.scan_places(names, &mut |lead, names| {
            each(lead, names);
            read += 1;
            if read.is_multiple_of(PROGRESS_EVERY) {
                progress.advance(PROGRESS_EVERY);
            }
        })?;
        progress.advance(read % PROGRESS_EVERY);
        Ok(())
    }
}
