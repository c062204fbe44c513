//! Touchpoints that precede conversion, on the leads with an outcome (recorded for the lab, or
//! how they closed in a pipeline), each seen as of the cutoff (its events up to then; its
//! profile as it is, profiles keep no history).

use leadflow_core::report::{Names, Period, PipelineCloses, TouchKind, TouchpointCounter, TouchpointReport};
use leadflow_core::{Actor, LeadId, Model, Outcome};
use leadflow_store::Store;
use rustc_hash::FxHashMap;

use crate::lab::Cutoff;
use crate::rescore::shape_matches;
use crate::{Engine, EngineError, Progress, Quiet};

/// Which outcomes the touchpoints report judges by.
#[derive(Clone, Debug, Default, PartialEq)]
pub enum OutcomeSource {
    /// Those recorded for the lab (`leadflow outcomes import`, `PUT /v1/leads/{lead}/outcome`).
    #[default]
    Recorded,
    /// How leads closed in a pipeline by now (the only active one when `None`): won at their
    /// first entry into a won stage, else lost at their first into a lost or disqualified one.
    Pipeline(Option<String>),
}

/// What a touchpoints report is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct TouchpointRequest {
    pub cutoff: Cutoff,
    pub outcomes: OutcomeSource,
    /// Only the leads whose outcome came in this period.
    pub closed: Option<Period>,
}

impl<S: Store> Engine<S> {
    /// [`touchpoints`](Self::touchpoints), if `actor` may read reports.
    pub fn touchpoints_as(
        &mut self,
        actor: &Actor<'_>,
        request: &TouchpointRequest,
        progress: &dyn Progress,
    ) -> Result<TouchpointReport, EngineError> {
        self.may_read_reports(actor)?;
        let (_, model) = self.active_model()?;
        self.touchpoints(&model, request, progress)
    }

    /// For each event type, and each engagement and fit rule of `model`, the conversion of the
    /// leads that had it before the cutoff against those that did not, and suggestions where the
    /// model's points disagree.
    pub fn touchpoints(
        &mut self,
        model: &Model,
        request: &TouchpointRequest,
        progress: &dyn Progress,
    ) -> Result<TouchpointReport, EngineError> {
        self.keep_properties_of(model)?;
        let mut outcomes: FxHashMap<LeadId, Outcome> = match &request.outcomes {
            OutcomeSource::Recorded => self.store.outcomes()?.into_iter().collect(),
            OutcomeSource::Pipeline(name) => self.pipeline_outcomes(name.as_deref())?,
        };
        if let Some(period) = request.closed {
            outcomes.retain(|_, outcome| period.holds(outcome.at));
        }
        let shapes = self.store.shapes()?;
        let matches = shape_matches(model, &shapes);
        // Features: the event types there are, then the engagement rules, then the fit rules.
        let mut types: Vec<String> = shapes.iter().map(|(_, s)| s.event_type.as_str().to_string()).collect();
        types.sort();
        types.dedup();
        let type_of: Vec<Option<usize>> = {
            let mut table = vec![None; matches.len()];
            for (id, shape) in &shapes {
                table[*id as usize] = types.binary_search_by(|t| t.as_str().cmp(shape.event_type.as_str())).ok();
            }
            table
        };
        let (events, engagement) = (types.len(), model.engagement.rules.len());
        let mut features: Vec<(TouchKind, String, Option<f64>)> =
            types.into_iter().map(|t| (TouchKind::Event, t, None)).collect();
        features.extend(model.engagement.rules.iter().map(|r| (TouchKind::Engagement, r.id.clone(), Some(r.points))));
        features.extend(model.fit.rules.iter().map(|r| (TouchKind::Fit, r.id.clone(), Some(r.points))));
        let mut counter = TouchpointCounter::new(features);
        let mut had = vec![false; events + engagement + model.fit.rules.len()];
        // Counted as they are read: a million cases need not be held.
        self.for_each_case(&outcomes, request.cutoff, progress, &mut |case| {
            had.iter_mut().for_each(|h| *h = false);
            for (_, shape) in case.item.activity.iter().filter(|(ts, _)| *ts <= case.scored_at) {
                if let Some(Some(t)) = type_of.get(*shape as usize) {
                    had[*t] = true;
                }
                if let Some(Some(m)) = matches.get(*shape as usize) {
                    (0..engagement).filter(|r| m.rules & (1 << r) != 0).for_each(|r| had[events + r] = true);
                }
            }
            for (r, rule) in model.fit.rules.iter().enumerate() {
                had[events + engagement + r] = rule.condition.matches(case.item.profile.value(&rule.field));
            }
            counter.add(case.outcome.converted(), had.iter().enumerate().filter(|(_, h)| **h).map(|(i, _)| i));
        })?;
        Ok(counter.finish())
    }

    /// How each lead closed in the pipeline by now.
    fn pipeline_outcomes(&mut self, pipeline: Option<&str>) -> Result<FxHashMap<LeadId, Outcome>, EngineError> {
        let pipeline = self.report_pipeline(pipeline)?;
        let mut names = Names::default();
        let mut closes = PipelineCloses::new(&pipeline, self.now(), &mut names);
        let mut outcomes = FxHashMap::default();
        self.scan_places(&mut names, &Quiet, &mut |lead, _| {
            if let Some(outcome) = closes.outcome(lead) {
                outcomes.insert(lead.lead, outcome);
            }
        })?;
        Ok(outcomes)
    }
}
