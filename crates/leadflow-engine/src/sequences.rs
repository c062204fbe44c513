//! Nurture sequences in use: saving sequence files, activating and pausing them.
//!
//! A sequence names stages (whom it enrolls, what ends it, where a step moves a lead) by their
//! ids in the lead's pipeline, and templates by name, so activating it is refused while a stage
//! it names is in no active pipeline or a template it sends is not active: a typo would
//! otherwise enroll nobody, never let anybody go, or fail at its first send.

use leadflow_core::sequence::{BranchCondition, Sequence, StepAction};
use leadflow_store::prelude::*;
use leadflow_store::{RuleFileKind, RuleFileRecord, RuleFileVersion};

use crate::rule_files::{SavedRuleFile, parse_stored};
use crate::{Engine, EngineError};

impl<S: Store> Engine<S> {
    /// Checks a sequence file and stores it; with `activate`, makes it its name's active
    /// version (refused while it names a stage no active pipeline has, or sends a template that
    /// is not active). A file stored before keeps its version.
    pub fn save_sequence(&mut self, source: &str, activate: bool) -> Result<SavedRuleFile, EngineError> {
        let sequence = Sequence::parse(source)?;
        if activate {
            self.check_references(&sequence)?;
        }
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_rule_file(RuleFileKind::Sequence, sequence.name(), source, now)?;
        if activate {
            tx.activate_rule_file(version, now)?;
        }
        tx.commit()?;
        Ok(SavedRuleFile { version, name: sequence.name().to_string(), activated: activate })
    }

    /// Makes a stored version its name's active one (resuming it, if it was paused).
    pub fn activate_sequence(&mut self, version: RuleFileVersion) -> Result<SavedRuleFile, EngineError> {
        let record = self
            .store
            .rule_files(RuleFileKind::Sequence)?
            .into_iter()
            .find(|s| s.version == version)
            .ok_or(EngineError::NoSuchSequenceVersion(version.0))?;
        let sequence = parse_stored(&record, Sequence::parse)?;
        self.check_references(&sequence)?;
        let mut tx = self.store.begin()?;
        tx.activate_rule_file(version, self.clock.now())?;
        tx.commit()?;
        Ok(SavedRuleFile { version, name: record.name, activated: true })
    }

    /// Pauses a sequence: no version of it is active, so it enrolls nobody and sends nothing
    /// until a version is activated again. Whether it was active.
    pub fn pause_sequence(&mut self, name: &str) -> Result<bool, EngineError> {
        let mut tx = self.store.begin()?;
        let was = tx.deactivate_rule_file(RuleFileKind::Sequence, name)?;
        tx.commit()?;
        Ok(was)
    }

    /// Every stored sequence version, oldest first.
    pub fn sequences(&self) -> Result<Vec<RuleFileRecord>, EngineError> {
        Ok(self.store.rule_files(RuleFileKind::Sequence)?)
    }

    /// The active sequences, parsed, by name.
    pub fn active_sequences(&self) -> Result<Vec<Sequence>, EngineError> {
        self.store.active_rule_files(RuleFileKind::Sequence)?.iter().map(|r| parse_stored(r, Sequence::parse)).collect()
    }

    /// Refuses `sequence` while it names a stage that no active pipeline has, or sends a
    /// template that is not active.
    fn check_references(&mut self, sequence: &Sequence) -> Result<(), EngineError> {
        let pipelines = self.active_pipelines()?;
        let known = |id: &str| pipelines.all().iter().any(|p| p.stage(id).is_some());
        let mut unknown: Vec<String> = Vec::new();
        for id in stages_named(sequence) {
            if !known(id) && !unknown.iter().any(|u| u == id) {
                unknown.push(id.to_string());
            }
        }
        if !unknown.is_empty() {
            let active = pipelines.all().iter().map(|p| p.name().to_string()).collect();
            return Err(EngineError::SequenceStagesUnknown {
                sequence: sequence.name().to_string(),
                stages: unknown,
                active,
            });
        }
        let active = self.active_template_names()?;
        let missing: Vec<String> =
            sequence.templates().into_iter().filter(|t| !active.iter().any(|a| a == t)).map(String::from).collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(EngineError::SequenceTemplatesMissing { sequence: sequence.name().to_string(), templates: missing })
        }
    }
}

/// Every stage id a sequence names: whom it enrolls, what ends it, its branches and moves.
fn stages_named(sequence: &Sequence) -> Vec<&str> {
    let mut ids: Vec<&str> = Vec::new();
    if let Some(rule) = sequence.enroll_rule() {
        ids.extend(rule.stages.iter().map(String::as_str));
    }
    ids.extend(sequence.exits().stages.iter().map(String::as_str));
    for step in sequence.steps() {
        match step.action() {
            StepAction::Stage(id) => ids.push(id),
            StepAction::Branch(b) => {
                if let BranchCondition::Stages(stages) = &b.condition {
                    ids.extend(stages.iter().map(String::as_str));
                }
            }
            _ => {}
        }
    }
    ids
}
