//! The digest: a pipeline's last days against the days before (leads created, MQLs, accepted,
//! won, lost and why), where it stands at the end (open leads by stage, rotting, weighted), how
//! the hand-off SLA was kept and answered, and which campaigns brought the new leads. One pass
//! over every lead's history beside the pipeline report; what a manager reads on Monday morning,
//! and what the scheduled digest job hands to its sink every week.

use leadflow_core::report::{
    AttributionFigures, DigestCounter, DigestWindow, Names, ResponseTally, ResponseTimes, StageFigures,
};
use leadflow_core::sla::Compliance;
use leadflow_core::{Actor, Timestamp};
use leadflow_store::Store;

use crate::{Engine, EngineError, PipelineReportRequest, Progress};

/// What a digest is asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct DigestRequest {
    /// The active pipeline; may be left out when only one is active.
    pub pipeline: Option<String>,
    /// The end of its period; now by default.
    pub as_of: Option<Timestamp>,
    /// How many days it covers (and how many before them it compares with).
    pub days: u32,
}

impl Default for DigestRequest {
    fn default() -> Self {
        DigestRequest { pipeline: None, as_of: None, days: 7 }
    }
}

/// How many campaigns a digest names.
const TOP_CAMPAIGNS: usize = 5;

#[derive(Clone, Debug, PartialEq)]
pub struct Digest {
    pub pipeline: String,
    pub as_of: Timestamp,
    pub days: u32,
    pub current: DigestWindow,
    pub previous: DigestWindow,
    /// The current window's losses by reason, most first.
    pub lost_reasons: Vec<(Option<String>, u64)>,
    /// At `as_of`: the open stages with their leads, how many rotting, and the pipeline's
    /// weighted value.
    pub open_stages: Vec<StageFigures>,
    pub weighted_open: f64,
    /// The SLA clocks started in the current window, and how fast they were met.
    pub sla: Compliance,
    pub response: ResponseTimes,
    /// The first touches of the leads created in the current window, most leads first.
    pub campaigns: Vec<AttributionFigures>,
}

impl<S: Store> Engine<S> {
    /// [`digest`](Self::digest), if `actor` may read reports.
    pub fn digest_as(
        &mut self,
        actor: &Actor<'_>,
        request: &DigestRequest,
        progress: &dyn Progress,
    ) -> Result<Digest, EngineError> {
        self.may_read_reports(actor)?;
        self.digest(request, progress)
    }

    pub fn digest(&mut self, request: &DigestRequest, progress: &dyn Progress) -> Result<Digest, EngineError> {
        let pipeline = self.report_pipeline(request.pipeline.as_deref())?;
        let as_of = request.as_of.unwrap_or_else(|| self.now());
        let mut names = Names::default();
        let mut counter = DigestCounter::new(&pipeline, as_of, request.days, &mut names);
        let from = as_of.minus_days(request.days);
        let report_request = PipelineReportRequest {
            pipeline: Some(pipeline.name().to_string()),
            as_of: Some(as_of),
            ..Default::default()
        };
        let (now, names) = self.pipeline_report_with(&report_request, names, progress, &mut |lead, context, _| {
            counter.add(lead, &context.touches)
        })?;
        let mut counts = counter.finish(&names);
        counts.campaigns.truncate(TOP_CAMPAIGNS);
        let sla = self.sla_compliance(from, as_of)?.total;
        let mut pooled = ResponseTally::default();
        for tally in self.response_tallies(from, as_of)?.values() {
            pooled.merge(tally);
        }
        Ok(Digest {
            pipeline: pipeline.name().to_string(),
            as_of,
            days: request.days,
            current: counts.current,
            previous: counts.previous,
            lost_reasons: counts.lost_reasons,
            open_stages: now
                .stages
                .into_iter()
                .filter(|s| s.kind == Some(leadflow_core::pipeline::StageKind::Open))
                .collect(),
            weighted_open: now.weighted_open,
            sla,
            response: pooled.finish(),
            campaigns: counts.campaigns,
        })
    }
}
