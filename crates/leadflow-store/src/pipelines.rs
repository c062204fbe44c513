//! Where leads are in their pipelines: the questions the pipeline use cases and the sweep ask
//! of the leads, and since when a lead is where it is. The pipeline files themselves are rule
//! files (`rule_files.rs`).

use leadflow_core::{LeadId, Timestamp};

use crate::{PipelineClock, StoreError};

pub trait PipelineReads {
    /// How many leads are in each stage of the pipeline with this name, by stage id.
    fn stage_counts(&self, pipeline: &str) -> Result<Vec<(String, u64)>, StoreError>;
    /// Marketing-qualified leads waiting to enter a pipeline, by id after `after`, at most
    /// `limit`: those in no pipeline, and those in one of the `waiting` stages (pipeline, stage
    /// id: a recycled lead that qualified again).
    fn mqls_to_route(
        &self,
        waiting: &[(String, String)],
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError>;
    /// The leads of `pipeline` in one of `stages` that entered the pipeline before
    /// `entered_before`, by id after `after`, at most `limit`.
    fn cycles_ended(
        &self,
        pipeline: &str,
        stages: &[String],
        entered_before: Timestamp,
        after: LeadId,
        limit: usize,
    ) -> Result<Vec<LeadId>, StoreError>;
}

pub trait PipelineWrites {
    /// Sets since when the lead is where it is in its pipeline (its profile says where).
    fn set_pipeline_clock(&mut self, lead: LeadId, clock: &PipelineClock) -> Result<(), StoreError>;
}
