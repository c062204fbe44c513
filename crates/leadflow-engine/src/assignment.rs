//! Sales users and lead assignment: the users leads are owned by, the assignment rules file,
//! and giving a lead an owner, by the rules (as a lead is created or qualifies) or by hand.
//!
//! An assignment by the rules happens in the unit of work of what triggered it, and holds the
//! matched rule's rotation (`UserWrites::hold_assignment_cursor`) while it reads the users and
//! their open leads, picks, and writes the owner with the rule's new rotation: two leads that
//! qualify at once, on one server or two, take turns one after the other, never the same turn.
//! Rules only give leads that have no owner: a lead a rep owns (from a CRM, or by hand) stays
//! theirs.

use std::collections::HashMap;
use std::sync::Arc;

use leadflow_core::change::profile_changes;
use leadflow_core::team::{
    AssignContext, AssignTrigger, Assignment, AssignmentRules, LeadToAssign, UnknownName, User, UserName,
};
use leadflow_core::{Actor, LeadId, LeadRef, Timestamp, Topic};
use leadflow_store::prelude::*;
use leadflow_store::{
    ChangeCause, ChangeOrigin, LeadRecord, NotificationDetail, RuleFileKind, RuleFileVersion, StoreError,
};

use crate::news::tell;
use crate::pipelines::ActivePipelines;
use crate::sla::{ClockEvent, clocks_in};
use crate::stage_moves::{Tracking, hold};
use crate::{Engine, EngineError};

/// The active assignment rules, parsed, with the version they were parsed from.
#[derive(Clone, Debug)]
pub struct ActiveAssignment {
    version: RuleFileVersion,
    rules: Arc<AssignmentRules>,
    source: Arc<str>,
}

impl ActiveAssignment {
    pub fn rules(&self) -> &AssignmentRules {
        &self.rules
    }

    /// The file as stored.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What saving an assignment rules file did.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedAssignment {
    pub version: RuleFileVersion,
    pub name: String,
    pub activated: bool,
    /// Names the rules give that no stored user or team has: those candidates are skipped
    /// until they exist.
    pub unknown_names: Vec<UnknownName>,
}

/// An owner given.
#[derive(Clone, Debug, PartialEq)]
pub struct OwnerGiven {
    pub lead: LeadId,
    pub owner: UserName,
    pub previous: Option<String>,
    /// Why, in words: the rule, the strategy, who was skipped; or the reason given by hand.
    pub reason: String,
}

impl<S: Store> Engine<S> {
    /// Creates a user, or replaces the one of that name; whether it was new.
    pub fn put_user(&mut self, user: &User) -> Result<bool, EngineError> {
        let now = self.now();
        let mut tx = self.store.begin()?;
        let created = tx.put_user(user, now)?;
        tx.commit()?;
        Ok(created)
    }

    /// Every user, by name.
    pub fn users(&self) -> Result<Vec<User>, EngineError> {
        Ok(self.store.users()?)
    }

    /// Checks an assignment rules file and stores it; with `activate`, makes it the one in use
    /// (there is one at a time).
    pub fn save_assignment_rules(&mut self, source: &str, activate: bool) -> Result<SavedAssignment, EngineError> {
        let rules = AssignmentRules::parse(source)?;
        let unknown_names = rules.unknown_names(&self.store.users()?);
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_rule_file(RuleFileKind::Assignment, rules.name(), source, now)?;
        if activate {
            tx.activate_only_rule_file(version, now)?;
        }
        tx.commit()?;
        Ok(SavedAssignment { version, name: rules.name().to_string(), activated: activate, unknown_names })
    }

    /// The assignment rules in use, parsed once per version; `None` when no file is active.
    pub fn active_assignment(&mut self) -> Result<Option<ActiveAssignment>, EngineError> {
        let Some(record) = self.store.active_rule_files(RuleFileKind::Assignment)?.into_iter().next() else {
            self.assignment = None;
            return Ok(None);
        };
        if self.assignment.as_ref().is_none_or(|a| a.version != record.version) {
            let rules = AssignmentRules::parse(&record.source).map_err(|e| {
                StoreError::Corrupt(format!("the stored assignment rules {} no longer parse: {e}", record.version))
            })?;
            let source = Arc::from(record.source.as_str());
            self.assignment = Some(ActiveAssignment { version: record.version, rules: Arc::new(rules), source });
        }
        Ok(self.assignment.clone())
    }

    /// Gives a lead an owner by hand (`to`), or by the assignment rules as if it had just
    /// qualified (`None`), as `actor` (who must be allowed to give the lead to that owner).
    pub fn assign_lead(
        &mut self,
        actor: &Actor<'_>,
        origin: &ChangeOrigin,
        lead: &LeadRef,
        to: Option<&UserName>,
        reason: Option<&str>,
    ) -> Result<OwnerGiven, EngineError> {
        let tracking = self.tracking()?;
        let held = self.held_version()?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let record = hold(&mut tx, lead, held)?;
        let given = match to {
            Some(owner) => {
                let users = tx.users_now()?;
                let user =
                    users.iter().find(|u| u.name() == owner).ok_or_else(|| EngineError::NoSuchUser(owner.clone()))?;
                if !user.is_active() {
                    return Err(EngineError::UserInactive(owner.clone()));
                }
                actor.may_write_lead(Some(record.profile.owner.as_deref()), Some(owner.as_str()))?;
                let reason = reason.map(str::trim).filter(|r| !r.is_empty()).unwrap_or("given by hand").to_string();
                let origin = origin.clone().because(Some(reason.clone()));
                give(&mut tx, &tracking, &record, owner, &origin, reason, now)?
            }
            None => {
                actor.may_write_lead(Some(record.profile.owner.as_deref()), None)?;
                let assignment = tracking.assignment.as_ref().ok_or(EngineError::NoAssignmentRules)?;
                let mut unowned = record.clone();
                unowned.profile.owner = None;
                let pipelines = &tracking.pipelines;
                match pick_in(&mut tx, assignment.rules(), pipelines, &unowned, AssignTrigger::BecameMql, None, now)? {
                    Picked::Owner { owner, reason, cursor } => {
                        if let Some((rule, cursor)) = cursor {
                            tx.set_assignment_cursor(&rule, &cursor)?;
                        }
                        let origin = origin.clone().because(Some(reason.clone()));
                        give(&mut tx, &tracking, &record, &owner, &origin, reason, now)?
                    }
                    Picked::Nobody(why) => return Err(EngineError::NobodyToAssign(why)),
                }
            }
        };
        tx.commit()?;
        Ok(given)
    }
}

/// What a pick came to.
enum Picked {
    /// The owner, why, and the rule's rotation to store.
    Owner { owner: UserName, reason: String, cursor: Option<(String, leadflow_core::team::Cursor)> },
    /// Nobody could take it: why.
    Nobody(String),
}

/// Who the rules give the lead to, holding the matched rule's rotation until `tx` ends;
/// never `excluding` (the owner an escalation takes it from).
fn pick_in<T: Transaction>(
    tx: &mut T,
    rules: &AssignmentRules,
    pipelines: &ActivePipelines,
    record: &LeadRecord,
    trigger: AssignTrigger,
    excluding: Option<&UserName>,
    now: Timestamp,
) -> Result<Picked, EngineError> {
    let lead = LeadToAssign {
        profile: &record.profile,
        trigger,
        pipeline: record.profile.pipeline.as_deref(),
        score: record.score.as_ref().map(|s| s.values.total),
    };
    let Some(rule) = rules.rule_for(&lead) else {
        return Ok(Picked::Nobody(Assignment::NoRuleMatched.to_string()));
    };
    let mut cursors = HashMap::new();
    if let Some(cursor) = tx.hold_assignment_cursor(rule.id())? {
        cursors.insert(rule.id().to_string(), cursor);
    }
    let mut users = tx.users_now()?;
    users.retain(|u| Some(u.name()) != excluding);
    let open_leads = tx.open_leads_by_owner(&pipelines.open_stages())?;
    let picked = rules.pick(&AssignContext { lead, users: &users, open_leads: &open_leads, cursors: &cursors, now });
    Ok(match picked.owner() {
        Some(owner) => Picked::Owner {
            owner: owner.clone(),
            reason: picked.to_string(),
            cursor: picked.new_cursor().map(|c| (rule.id().to_string(), c.clone())),
        },
        None => Picked::Nobody(picked.to_string()),
    })
}

/// Gives an unowned lead the owner the rules pick for `trigger`, in `tx`; `None` when it has an
/// owner already, no rule matches, or nobody in the rule's pool can take it.
pub(crate) fn assign_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    trigger: AssignTrigger,
    now: Timestamp,
) -> Result<Option<OwnerGiven>, EngineError> {
    if record.profile.owner.is_some() {
        return Ok(None);
    }
    by_rules_in(tx, tracking, record, trigger, None, now)
}

/// Takes the lead from `from` and gives it to whom the rules pick among the others, as an SLA
/// escalation does; `None` when there are no rules or nobody else can take it.
pub(crate) fn reassign_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    from: &UserName,
    now: Timestamp,
) -> Result<Option<OwnerGiven>, EngineError> {
    by_rules_in(tx, tracking, record, AssignTrigger::BecameMql, Some(from), now)
}

fn by_rules_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    trigger: AssignTrigger,
    excluding: Option<&UserName>,
    now: Timestamp,
) -> Result<Option<OwnerGiven>, EngineError> {
    let Some(assignment) = &tracking.assignment else {
        return Ok(None);
    };
    let mut unowned = record.clone();
    unowned.profile.owner = None;
    match pick_in(tx, assignment.rules(), &tracking.pipelines, &unowned, trigger, excluding, now)? {
        Picked::Owner { owner, reason, cursor } => {
            let rule = cursor.as_ref().map(|(rule, _)| rule.clone());
            if let Some((rule, cursor)) = cursor {
                tx.set_assignment_cursor(&rule, &cursor)?;
            }
            let actor = rule.map_or_else(|| "assignment".to_string(), |r| format!("assignment:{r}"));
            let origin = ChangeOrigin::new(ChangeCause::Rule, actor).because(Some(reason.clone()));
            Ok(Some(give(tx, tracking, record, &owner, &origin, reason, now)?))
        }
        Picked::Nobody(_) => Ok(None),
    }
}

/// Writes the lead's new owner and logs it; its open tasks (its previous owner's and nobody's)
/// and its SLA clocks follow.
fn give<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    record: &LeadRecord,
    owner: &UserName,
    origin: &ChangeOrigin,
    reason: String,
    now: Timestamp,
) -> Result<OwnerGiven, EngineError> {
    let mut after = record.profile.clone();
    after.owner = Some(owner.as_str().to_string());
    tx.update_profile(record.id, &after, now)?;
    // Rules may read the owner: the next score is computed afresh.
    tx.mark_stale(record.id)?;
    tx.record_changes(record.id, now, origin, &profile_changes(&record.profile, &after))?;
    let given = LeadRecord { profile: after, ..record.clone() };
    owner_changed_in(tx, tracking, record.profile.owner.as_deref(), &given, &reason, now)?;
    Ok(OwnerGiven { lead: record.id, owner: owner.clone(), previous: record.profile.owner.clone(), reason })
}

/// What follows a lead changing hands, in `tx`, which wrote the new owner already (`given` is
/// the lead as it is after): its open tasks (its previous owner's and nobody's) go to the new
/// owner, its SLA clocks follow, and webhooks hear of it. For an owner given by the rules or by
/// hand, and one set by an upsert or a patch.
pub(crate) fn owner_changed_in<T: Transaction>(
    tx: &mut T,
    tracking: &Tracking,
    previous: Option<&str>,
    given: &LeadRecord,
    reason: &str,
    now: Timestamp,
) -> Result<(), EngineError> {
    let owner = given.profile.owner.as_deref().and_then(|o| UserName::parse(o).ok());
    if let Some(owner) = &owner {
        tx.hand_over_tasks(given.id, previous, owner, now)?;
    }
    clocks_in(tx, tracking.sla.as_ref(), given, &ClockEvent::Assigned, now)?;
    if let Some(owner) = given.profile.owner.as_deref() {
        let detail = NotificationDetail::Assigned {
            owner: owner.to_string(),
            previous_owner: previous.map(str::to_string),
            reason: reason.to_string(),
        };
        tell(tx, given, Topic::LeadAssigned, detail, now)?;
    }
    Ok(())
}
