//! Moving a lead between stages: by hand ([`Pipeline::check_move`]) and on its own
//! ([`Pipeline::auto_move`]).
//!
//! Both go through the same rules, so that whatever moved a lead, the pipeline's `to`,
//! `requires` and `reasons` held; a refusal names the rule it broke in words a sales rep reads
//! and with a stable code an API client can branch on.

use crate::event::EventType;
use crate::lead::{FieldRef, Profile};
use crate::model::Grade;
use crate::outcome::OutcomeKind;
use crate::text::printable;

use super::{Pipeline, Stage};

/// Why a lead may not make a move.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MoveRefusal {
    /// A stage the pipeline does not have (`known`: the ones it has).
    #[error("there is no stage `{}` (the stages are {})", printable(stage), list(known))]
    UnknownStage { stage: String, known: Vec<String> },
    #[error("the lead is already in `{stage}`")]
    SameStage { stage: String },
    /// `from`'s `to` does not list `to`.
    #[error("`{from}` cannot move to `{to}`: {}", allowed_from(from, allowed))]
    NotAllowedFrom { from: String, to: String, allowed: Vec<String> },
    /// The fields of `stage`'s `requires` that the lead has not set.
    #[error("a lead enters `{stage}` only with {} set", and_list(fields))]
    MissingFields { stage: String, fields: Vec<FieldRef> },
    #[error("a move to `{stage}` needs a reason: one of {}", list(reasons))]
    ReasonRequired { stage: String, reasons: Vec<String> },
    #[error("`{}` is not a reason for `{stage}`: give one of {}", printable(reason), list(reasons))]
    UnknownReason { stage: String, reason: String, reasons: Vec<String> },
}

impl MoveRefusal {
    /// A stable, snake_case name of the rule broken, for API errors.
    pub fn code(&self) -> &'static str {
        match self {
            MoveRefusal::UnknownStage { .. } => "unknown_stage",
            MoveRefusal::SameStage { .. } => "same_stage",
            MoveRefusal::NotAllowedFrom { .. } => "move_not_allowed",
            MoveRefusal::MissingFields { .. } => "missing_fields",
            MoveRefusal::ReasonRequired { .. } => "reason_required",
            MoveRefusal::UnknownReason { .. } => "unknown_reason",
        }
    }
}

fn list(items: &[String]) -> String {
    items.iter().map(|i| format!("`{i}`")).collect::<Vec<_>>().join(", ")
}

fn and_list(fields: &[FieldRef]) -> String {
    let names: Vec<String> = fields.iter().map(|f| format!("`{f}`")).collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

fn allowed_from(from: &str, allowed: &[String]) -> String {
    if allowed.is_empty() {
        format!("`{from}` is final, a lead in it moves nowhere")
    } else {
        format!("from `{from}` a lead may move to {}", list(allowed))
    }
}

/// Something that happened to a lead, which may move it on its own (`enter_when`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Trigger<'a> {
    /// It became marketing-qualified.
    BecameMql,
    /// It was scored: fires `score_at_least` and `grade_at_least`.
    Scored { total: f64, grade: Grade },
    /// It did something.
    Event(&'a EventType),
    /// Its outcome was recorded.
    Outcome(OutcomeKind),
}

impl Pipeline {
    /// Whether a lead with this profile may move from stage `from` to stage `to`; `from: None`
    /// is entering the pipeline, at any stage. The rules, in the order they are checked: both
    /// stages exist; `to` is another stage than `from`; `from`'s `to` lists it; the lead has
    /// every field of `to`'s `requires` set; and, when `to` lists `reasons`, `reason` is one of
    /// them (ignoring case; [`Stage::reason`] gives the spelling to store). A reason given for a
    /// stage without a list is a free note and always accepted.
    pub fn check_move(
        &self,
        from: Option<&str>,
        to: &str,
        profile: &Profile,
        reason: Option<&str>,
    ) -> Result<(), MoveRefusal> {
        let target = self.stage(to).ok_or_else(|| self.unknown(to))?;
        if let Some(from) = from {
            let source = self.stage(from).ok_or_else(|| self.unknown(from))?;
            if source.id == target.id {
                return Err(MoveRefusal::SameStage { stage: target.id.clone() });
            }
            if !source.allows_move_to(&target.id) {
                return Err(MoveRefusal::NotAllowedFrom {
                    from: source.id.clone(),
                    to: target.id.clone(),
                    allowed: source.to.clone().unwrap_or_default(),
                });
            }
        }
        let fields = target.missing_fields(profile);
        if !fields.is_empty() {
            return Err(MoveRefusal::MissingFields { stage: target.id.clone(), fields });
        }
        if !target.reasons.is_empty() {
            match reason.map(str::trim).filter(|r| !r.is_empty()) {
                None => {
                    return Err(MoveRefusal::ReasonRequired {
                        stage: target.id.clone(),
                        reasons: target.reasons.clone(),
                    });
                }
                Some(r) if target.reason(r).is_none() => {
                    return Err(MoveRefusal::UnknownReason {
                        stage: target.id.clone(),
                        reason: r.to_string(),
                        reasons: target.reasons.clone(),
                    });
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    fn unknown(&self, stage: &str) -> MoveRefusal {
        MoveRefusal::UnknownStage {
            stage: stage.to_string(),
            known: self.stages.iter().map(|s| s.id.clone()).collect(),
        }
    }

    /// The stage `trigger` moves a lead in stage `current` to, if any.
    ///
    /// The rules, chosen so that an automatic move never surprises the rep who owns the lead:
    ///
    /// - Only forward: to a stage later in the file than `current`. A demo request never drags
    ///   a lead in negotiation back to `meeting`, and a lead a rep moved back stays there until
    ///   something new happens.
    /// - Never out of a closed stage (won, lost, disqualified): that was a decision, and only a
    ///   rep undoes it.
    /// - Among the later stages with an `enter_when` entry that fires, the latest one that
    ///   [`Self::check_move`] allows from `current` (with no reason): the trigger says how far
    ///   the lead got, and skipping stages it plainly passed saves the rep the clicks. A stage
    ///   the rules refuse (not in `current`'s `to`, a required field unset) is passed over for
    ///   an earlier one that fires, so an automatic move never breaks the pipeline's rules.
    ///   (Parsing refuses `enter_when` on a stage with `reasons`, which no automatic move could
    ///   enter.)
    ///
    /// `None` when `current` is not a stage of this pipeline or nothing moves.
    pub fn auto_move(&self, current: &str, trigger: &Trigger<'_>, profile: &Profile) -> Option<&Stage> {
        let at = self.position(current)?;
        if self.stages[at].kind.is_closed() {
            return None;
        }
        self.stages[at + 1..].iter().rev().find(|s| {
            s.enter_when.iter().any(|w| w.fires(trigger))
                && self.check_move(Some(current), &s.id, profile, None).is_ok()
        })
    }
}
