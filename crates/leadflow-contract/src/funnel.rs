//! The funnel report as JSON: how far a cohort got, where the others went, and the same for each
//! value of a dimension.

use leadflow_core::Timestamp;
use leadflow_core::report as core;
use serde::Serialize;
use utoipa::ToSchema;

use crate::Conversion;

/// A pipeline's funnel as of an instant, over the leads its scope keeps: how many reached each
/// funnel stage, how many went on from one to the next and where the others are; split by a
/// dimension when asked.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FunnelReport {
    pub pipeline: String,
    #[schema(value_type = String, format = DateTime)]
    pub as_of: Timestamp,
    /// Leads that were in the pipeline at some time up to `as_of`.
    pub leads: u64,
    /// The funnel's stages in order, with the leads that reached each.
    pub reached: Vec<FunnelStage>,
    pub conversion: Vec<Conversion>,
    /// The same by a dimension's values, when `by` asks for it.
    pub breakdown: Option<FunnelBreakdown>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FunnelStage {
    pub stage: String,
    pub reached: u64,
}

/// The funnel by a dimension's values.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FunnelBreakdown {
    /// `source`, `owner` (now), `team` (the owner's), `campaign` (the first touch before
    /// qualifying), `landing_page`, `bucket` or `grade` (as scored now), `month` (created).
    pub by: &'static str,
    /// One funnel per value, most leads first; the leads without one last, as `null`.
    pub groups: Vec<FunnelGroup>,
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct FunnelGroup {
    pub value: Option<String>,
    pub leads: u64,
    pub reached: Vec<FunnelStage>,
    pub conversion: Vec<Conversion>,
}

fn stages(reached: &[core::Reached]) -> Vec<FunnelStage> {
    reached.iter().map(|r| FunnelStage { stage: r.stage.clone(), reached: r.reached }).collect()
}

impl From<&core::FunnelBreakdown> for FunnelBreakdown {
    fn from(b: &core::FunnelBreakdown) -> FunnelBreakdown {
        FunnelBreakdown {
            by: b.by.as_str(),
            groups: b
                .groups
                .iter()
                .map(|g| FunnelGroup {
                    value: g.value.clone(),
                    leads: g.leads,
                    reached: stages(&g.reached),
                    conversion: g.conversion.iter().map(Conversion::from).collect(),
                })
                .collect(),
        }
    }
}

impl From<&core::PipelineReport> for FunnelReport {
    fn from(r: &core::PipelineReport) -> FunnelReport {
        FunnelReport {
            pipeline: r.pipeline.clone(),
            as_of: r.as_of,
            leads: r.leads,
            reached: stages(&r.funnel),
            conversion: r.conversion.iter().map(Conversion::from).collect(),
            breakdown: r.breakdown.as_ref().map(FunnelBreakdown::from),
        }
    }
}
