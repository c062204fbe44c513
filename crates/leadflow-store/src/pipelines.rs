//! Sales pipelines as stored: every version of every pipeline file, and which version of each
//! pipeline is active. Several pipelines are active at once (inbound, partner, ...), one version
//! of each name; a lead names its pipeline by name ([`leadflow_core::Profile::pipeline`]), so a
//! new version takes over the leads of the old one.

use leadflow_core::{LeadId, Timestamp};

use crate::{PipelineClock, StoreError};

/// A stored pipeline version.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PipelineVersion(pub i64);

impl std::fmt::Display for PipelineVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct PipelineRecord {
    pub version: PipelineVersion,
    /// The pipeline's name, from its file.
    pub name: String,
    /// The file exactly as it was saved.
    pub source: String,
    pub created_at: Timestamp,
    /// When it was last made its name's active version.
    pub activated_at: Option<Timestamp>,
    pub active: bool,
}

pub trait PipelineReads {
    /// Every stored version, oldest first.
    fn pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError>;
    /// The active version of each pipeline, by name.
    fn active_pipelines(&self) -> Result<Vec<PipelineRecord>, StoreError>;
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
    /// Stores a pipeline file under its name; a file stored before keeps its version.
    fn save_pipeline(&mut self, name: &str, source: &str, now: Timestamp) -> Result<PipelineVersion, StoreError>;
    /// Makes this version the active one of its name, in place of any other.
    fn activate_pipeline(&mut self, version: PipelineVersion, now: Timestamp) -> Result<(), StoreError>;
    /// Makes no version of this name active; whether one was.
    fn deactivate_pipeline(&mut self, name: &str) -> Result<bool, StoreError>;
    /// Sets since when the lead is where it is in its pipeline (its profile says where).
    fn set_pipeline_clock(&mut self, lead: LeadId, clock: &PipelineClock) -> Result<(), StoreError>;
}
