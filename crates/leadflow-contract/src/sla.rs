//! SLA policies, clocks, compliance and sales' decisions on leads, as the API and `--json` give
//! them.

use leadflow_core::Timestamp;
use leadflow_core::sla::Compliance;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Lead, ModelProblem};

/// An SLA policy file to check or put in use.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlaPolicyRequest {
    /// The policy file's text (TOML).
    pub source: String,
}

/// An SLA policy checked: valid, or its problems, each at its place.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SlaPolicyCheck {
    pub valid: bool,
    pub name: Option<String>,
    /// The rules' ids, in file order.
    pub rules: Vec<String>,
    pub problems: Vec<ModelProblem>,
}

impl SlaPolicyCheck {
    pub fn of(parsed: &Result<leadflow_core::sla::SlaPolicy, leadflow_core::sla::SlaError>) -> SlaPolicyCheck {
        match parsed {
            Ok(p) => SlaPolicyCheck {
                valid: true,
                name: Some(p.name().to_string()),
                rules: p.rules().iter().map(|r| r.id().to_string()).collect(),
                problems: Vec::new(),
            },
            Err(e) => SlaPolicyCheck {
                valid: false,
                name: None,
                rules: Vec::new(),
                problems: ModelProblem::list(&e.problems),
            },
        }
    }
}

/// The SLA policy in use.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SlaPolicyInfo {
    pub version: i64,
    pub name: String,
    pub source: String,
}

/// One lead's clock for one rule.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SlaClock {
    pub id: i64,
    pub lead: i64,
    /// The rule's id, and its name as people see it.
    pub rule: String,
    pub rule_name: String,
    /// The SLA policy version the rule is read from.
    pub policy_version: i64,
    /// Whose working time it counts in; null while the lead waits for an owner.
    pub owner: Option<String>,
    /// `waiting` (for an owner), `no_deadline` (the owner's calendar has no working time),
    /// `pending`, `met_on_time`, `met_late`, `breached` (unmet past its deadline, now or when it
    /// stopped) or `stopped` (the lead closed or changed hands in time).
    pub state: &'static str,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub started_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<Timestamp>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub met_at: Option<Timestamp>,
    /// How: `accepted`, `rejected`, `touched` or `stage_left`.
    pub met_by: Option<&'static str>,
    /// When the sweep found it past due.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub breached_at: Option<Timestamp>,
    /// The escalation steps run (indices into the rule's `escalate`), in the order they ran.
    pub escalations_done: Vec<usize>,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub stopped_at: Option<Timestamp>,
    pub stopped_why: Option<String>,
}

impl From<&leadflow_engine::SlaClock> for SlaClock {
    fn from(c: &leadflow_engine::SlaClock) -> SlaClock {
        let r = &c.record;
        SlaClock {
            id: r.id,
            lead: r.lead.0,
            rule: r.rule.clone(),
            rule_name: c.rule_name.clone(),
            policy_version: r.policy.0,
            owner: r.owner.as_ref().map(ToString::to_string),
            state: c.state.as_str(),
            started_at: r.started_at,
            due_at: r.due_at,
            met_at: r.met.map(|(at, _)| at),
            met_by: r.met.map(|(_, how)| how.as_str()),
            breached_at: r.breached_at,
            escalations_done: r.escalations_done.clone(),
            stopped_at: r.stopped.as_ref().map(|(at, _)| *at),
            stopped_why: r.stopped.as_ref().map(|(_, why)| why.clone()),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct SlaClockList {
    pub clocks: Vec<SlaClock>,
}

/// How a set of clocks went.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ComplianceCounts {
    pub met_on_time: u64,
    pub met_late: u64,
    /// Unmet and past due.
    pub breached: u64,
    /// Running and not yet due: counted in neither way.
    pub pending: u64,
    /// The share, 0 to 1, of decided clocks (met, or past due) met on time; null when none is
    /// decided.
    pub rate: Option<f64>,
}

impl From<Compliance> for ComplianceCounts {
    fn from(c: Compliance) -> ComplianceCounts {
        ComplianceCounts {
            met_on_time: c.met_on_time,
            met_late: c.met_late,
            breached: c.breached,
            pending: c.pending,
            rate: c.rate(),
        }
    }
}

/// One line of a compliance report: an owner's clocks of one rule, an owner's, or a team's.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ComplianceLine {
    pub owner: Option<String>,
    /// The owner's team today; null for owners in none.
    pub team: Option<String>,
    /// Null on the per-owner and per-team lines.
    pub rule: Option<String>,
    #[serde(flatten)]
    pub counts: ComplianceCounts,
}

impl From<&leadflow_engine::ComplianceLine> for ComplianceLine {
    fn from(l: &leadflow_engine::ComplianceLine) -> ComplianceLine {
        ComplianceLine {
            owner: l.owner.as_ref().map(ToString::to_string),
            team: l.team.clone(),
            rule: l.rule.clone(),
            counts: l.compliance.into(),
        }
    }
}

/// How the clocks started in `[from, to)` went, as of now.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct ComplianceReport {
    #[schema(value_type = String, format = DateTime)]
    pub from: Timestamp,
    #[schema(value_type = String, format = DateTime)]
    pub to: Timestamp,
    pub total: ComplianceCounts,
    pub teams: Vec<ComplianceLine>,
    pub owners: Vec<ComplianceLine>,
    /// Per owner and rule.
    pub rules: Vec<ComplianceLine>,
}

impl ComplianceReport {
    pub fn new(from: Timestamp, to: Timestamp, r: &leadflow_engine::ComplianceReport) -> ComplianceReport {
        let lines = |ls: &[leadflow_engine::ComplianceLine]| ls.iter().map(ComplianceLine::from).collect();
        ComplianceReport {
            from,
            to,
            total: r.total.into(),
            teams: lines(&r.teams),
            owners: lines(&r.owners),
            rules: lines(&r.rows),
        }
    }
}

/// Sales' answer to a lead marketing handed over.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"decision": "reject", "reason": "not a fit"}))]
pub struct DecisionRequest {
    pub decision: DecisionKind,
    /// Why, for a rejection: one of the SLA policy's `reject_reasons` when it lists some.
    pub reason: Option<String>,
}

/// `accept` (its lifecycle stage becomes `sql`) or `reject` (back to nurture, its MQL mark
/// cleared).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Accept,
    Reject,
}

/// A decision taken, and the lead after it.
#[derive(Clone, Debug, PartialEq, Serialize, ToSchema)]
pub struct DecisionResult {
    /// `accepted` or `rejected`.
    pub decision: &'static str,
    /// The reason as stored (the policy's spelling).
    pub reason: Option<String>,
    /// The SLA clocks it met.
    pub clocks_met: usize,
    /// The stage it went back to, when its pipeline has a recycled stage.
    pub moved_to: Option<String>,
    pub lead: Lead,
}

impl DecisionResult {
    pub fn new(d: &leadflow_engine::Decided, lead: &leadflow_store::LeadRecord) -> DecisionResult {
        let (decision, reason) = match &d.decision {
            leadflow_engine::Decision::Accept => ("accepted", None),
            leadflow_engine::Decision::Reject { reason } => ("rejected", Some(reason.clone())),
        };
        DecisionResult {
            decision,
            reason,
            clocks_met: d.clocks_met,
            moved_to: d.moved.as_ref().map(|m| m.to.clone()),
            lead: lead.into(),
        }
    }
}
