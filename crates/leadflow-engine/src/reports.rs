//! Reports as use cases: which pipeline, as of when, over which funnel; the store streams every
//! lead's place history and the core folds it ([`leadflow_core::report`]).

use leadflow_core::report::{LeadScope, Names, PipelineReport, PipelineReporter};
use leadflow_core::team::UserRole;
use leadflow_core::{Actor, Role, Timestamp};
use leadflow_store::{ScanScope, Store};

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
        let pipelines = self.active_pipelines()?;
        let active = || pipelines.all().iter().map(|p| p.name().to_string()).collect::<Vec<_>>();
        let pipeline = match (&request.pipeline, pipelines.all()) {
            (Some(name), _) => pipelines
                .named(name)
                .ok_or_else(|| EngineError::NoSuchPipeline { name: name.clone(), active: active() })?,
            (None, [only]) => only,
            (None, _) => return Err(EngineError::PipelineNeeded { active: active() }),
        };
        let as_of = request.as_of.unwrap_or_else(|| self.now());
        let scope = self.scope_with_teams(request)?;
        let mut names = Names::default();
        let mut reporter = PipelineReporter::new(pipeline, request.funnel.as_deref(), &scope, as_of, &mut names)
            .map_err(|stage| EngineError::NoSuchStage { pipeline: pipeline.name().to_string(), stage })?;
        progress.start(self.store.count_for_rescore(ScanScope::All)?);
        let mut read = 0u64;
        self.store.scan_places(&mut names, &mut |lead, names| {
            reporter.add(lead, names);
            read += 1;
            if read.is_multiple_of(PROGRESS_EVERY) {
                progress.advance(PROGRESS_EVERY);
            }
        })?;
        progress.advance(read % PROGRESS_EVERY);
        Ok(reporter.finish(&names))
    }
}
