//! The JSON leadflow speaks, as types, both ways. What clients send (`request.rs`) is read by
//! serde and parsed into the engine's inputs. What `GET /v1/leads/{lead}` answers and `leadflow
//! leads show --json` prints is one [`LeadView`], serialized once: a response type is built from
//! the engine's and the store's records (`From`), and its shape is the API's contract (a field
//! renamed here is renamed for every client, so none is renamed lightly).
//!
//! Numbers of points are given to a thousandth ([`points`]): scores are sums of decayed points,
//! whose last digits are noise.

mod batch;
mod change;
mod digest;
mod funnel;
mod identity;
mod lead;
mod model;
mod nurture;
mod outcome;
mod pipeline;
mod report;
mod request;
mod rule_file;
mod schema;
mod sequence;
mod sla;
mod status;
mod task;
mod team;
mod template;
mod webhook;

pub use batch::{BatchAnswer, BatchResult, ErrorBody, ItemOutcome};
pub use change::{LeadChange, LeadChanges, StageHistory, StageStretch};
pub use digest::{Digest, DigestWindow, OpenStage, ReasonFigure};
pub use funnel::{FunnelBreakdown, FunnelGroup, FunnelReport, FunnelStage};
pub use identity::{IdentityRequest, LeadIdentities, LeadIdentity, LeadVisitor};
pub use lead::LeadPage;
pub use lead::{CustomField, EngagementLine, Explanation, FitLine, HistoryEntry, InactivityLine, Lead, LeadView};
pub use lead::{Event, Prediction, Score, ScoreCard, Values};
pub use model::{ApplyReport, ModelCheck, ModelInfo, ModelList, ModelProblem, ModelSource, ModelWarning, Predicted};
pub use nurture::{
    DoNotContactEntry, DoNotContactList, DoNotContactListed, DoNotContactRequest, InboundReceived, NurtureMetrics,
    SendFigures, SequenceMetrics, StepFigures, TemplateMetrics,
};
pub use outcome::EventOutcome;
pub use pipeline::{
    PipelineCheck, PipelineInfo, PipelineList, PipelineRequest, PipelineStage, PipelineView, StageMoveRequest,
    StageMoveResult,
};
pub use report::{
    Attribution, AttributionFigures, Cohort, Conversion, Decile, Dropouts, ModelPeriod, ModelReport, MonthFigures,
    OwnerFigures, PipelineReport, ReasonCount, RepLine, RepsReport, ResponseFigures, SourceFigures, Split,
    StageFigures, TaskFigures, TeamLine, Touchpoint, TouchpointReport, VelocityMonth, VelocityStep,
};
pub use request::WebhookRequest;
pub use request::{BatchRequest, EventRequest, IdentityTokenRequest, LeadRequest, ModelRequest, Scalar, TrackingHit};
pub use rule_file::{RuleFileInfo, RuleFileRequest};
pub use schema::{ChangeCause, DeliveryStatus, FIELD_NAME_PATTERN, Grade, Stage, Topic, lead_ref_schema};
pub use sequence::{
    EnrollRequest, EnrollmentList, EnrollmentView, ExitRequest, SequenceCheck, SequenceList, SequenceStep, SequenceView,
};
pub use sla::{
    ComplianceCounts, ComplianceLine, ComplianceReport, DecisionKind, DecisionRequest, DecisionResult, SlaClock,
    SlaClockList, SlaPolicyCheck, SlaPolicyInfo, SlaPolicyRequest,
};
pub use status::{Health, IdentityToken, Job, JobCount, JobList, Ready};
pub use task::{MissingNextSteps, Queue, QueueEntry, Task, TaskChangeRequest, TaskList, TaskRequest};
pub use team::{
    AssignmentCheck, AssignmentInfo, AssignmentRequest, OwnerRequest, OwnerResult, UserInfo, UserList, UserRequest,
};
pub use template::{TemplateCheck, TemplateList, TemplatePreview, TemplatePreviewRequest};
pub use webhook::{
    Delivery, DeliveryList, Payload, PayloadAssignment, PayloadLead, PayloadSla, PayloadStage, PayloadTask, Webhook,
    WebhookList,
};

/// Points as leadflow gives them: to a thousandth (`49.99999999532019` is 50), never `-0`.
pub fn points(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0 + 0.0
}

#[cfg(test)]
mod tests {
    use super::points;

    #[test]
    fn points_drop_noise_and_negative_zero() {
        assert_eq!(points(49.99999999532019), 50.0);
        assert_eq!(points(-0.0000001).to_string(), "0");
        assert_eq!(points(12.3456), 12.346);
    }
}
