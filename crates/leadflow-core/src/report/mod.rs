//! Reports: what happened to leads, folded from their histories. Pure, like the rest of the
//! core: the store streams each lead's history (its place changes, with names interned in a
//! [`Names`]), a report folds them one lead at a time, and `finish` turns the totals into
//! figures. Nothing here reads a clock; the as-of instant is an argument.
//!
//! The definitions are those of `bench/pipeline/README.md` beside the project (a visit, reached,
//! conversion, time in stage, owners, MQLs per month and lead velocity, sources, reasons),
//! generalized from that workload's stage names to any pipeline through its stages' kinds and
//! lifecycle stages: "won" is a stage of kind won, an MQL is an entry into a stage whose
//! lifecycle stage is `mql` from one whose is not.

mod attribution;
mod closes;
mod cohorts;
mod digest;
mod funnel;
mod interval;
mod model;
mod month;
mod names;
mod pipeline;
mod places;
mod quantile;
mod responses;
mod scope;
mod touchpoints;
mod velocity;

pub use attribution::{Attribution, AttributionFigures, CAMPAIGN_PROPERTIES, LeadTouches, PAGE_VIEW, Touch};
pub use closes::PipelineCloses;
pub use cohorts::Cohort;
pub use digest::{DigestCounter, DigestCounts, DigestWindow};
pub use funnel::{Conversion, Dropouts, FunnelBreakdown, FunnelDimension, FunnelGroup, Reached};
pub use interval::wilson;
pub use model::{DRIFT_MIN_LEADS, Decile, ModelPeriod, ModelReport, ModelReporter, ScorePoint, Split};
pub use month::ReportPeriod;
pub use names::{Name, Names};
pub use pipeline::{
    MonthFigures, OwnerFigures, PipelineReport, PipelineReporter, ReasonCount, SourceFigures, StageFigures,
};
pub use places::{LeadPlaces, PlaceChange, PlaceField, Visit, visits};
pub use quantile::quantile;
pub use responses::{ResponseTally, ResponseTimes};
pub use scope::{LeadContext, LeadScope, Period};
pub use touchpoints::{SUGGESTION_MIN_LEADS, TouchKind, Touchpoint, TouchpointCounter, TouchpointReport};
pub use velocity::{VelocityMonth, VelocityStep};
