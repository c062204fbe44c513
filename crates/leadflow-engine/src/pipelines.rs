//! Sales pipelines in use: saving and activating pipeline files, and the active pipelines parsed
//! once and kept while they stay active.
//!
//! A new version of a pipeline takes over the leads of the old one by name, so activating it is
//! refused while leads are in a stage it no longer has: they would be in a stage nothing knows.

use std::sync::Arc;

use leadflow_core::Pipeline;
use leadflow_store::prelude::*;
use leadflow_store::{RuleFileKind, RuleFileRecord, RuleFileVersion};

use crate::rule_files::{SavedRuleFile, parse_stored};
use crate::{Engine, EngineError};

/// The active pipelines, parsed, by name; what they were parsed from, to tell when another
/// process activated other versions.
#[derive(Clone, Debug, Default)]
pub struct ActivePipelines {
    versions: Vec<RuleFileVersion>,
    pipelines: Arc<Vec<Pipeline>>,
}

impl ActivePipelines {
    /// The active pipelines, by name.
    pub fn all(&self) -> &[Pipeline] {
        &self.pipelines
    }

    /// The active pipeline with this name.
    pub fn named(&self, name: &str) -> Option<&Pipeline> {
        self.pipelines.iter().find(|p| p.name() == name)
    }

    /// The (pipeline, stage id) pairs whose leads are being worked: the open stages.
    pub fn open_stages(&self) -> Vec<(String, String)> {
        self.pipelines
            .iter()
            .flat_map(|p| {
                p.stages().iter().filter(|s| s.kind().is_active()).map(|s| (p.name().to_string(), s.id().to_string()))
            })
            .collect()
    }

    /// Whether any stage moves leads in on its own (`enter_when`): when none does, only an MQL
    /// moves a lead without a person.
    pub fn has_triggers(&self) -> bool {
        self.pipelines.iter().flat_map(|p| p.stages()).any(|s| !s.enter_when().is_empty())
    }
}

impl<S: Store> Engine<S> {
    /// Checks a pipeline file and stores it; with `activate`, makes it its name's active
    /// version (refused while leads are in a stage it lacks). A file stored before keeps its
    /// version.
    pub fn save_pipeline(&mut self, source: &str, activate: bool) -> Result<SavedRuleFile, EngineError> {
        let pipeline = Pipeline::parse(source)?;
        if activate {
            self.check_stages_kept(&pipeline)?;
        }
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_rule_file(RuleFileKind::Pipeline, pipeline.name(), source, now)?;
        if activate {
            tx.activate_rule_file(version, now)?;
        }
        tx.commit()?;
        Ok(SavedRuleFile { version, name: pipeline.name().to_string(), activated: activate })
    }

    /// Makes a stored version its name's active one (refused while leads are in a stage it
    /// lacks).
    pub fn activate_pipeline(&mut self, version: RuleFileVersion) -> Result<SavedRuleFile, EngineError> {
        let record = self
            .store
            .rule_files(RuleFileKind::Pipeline)?
            .into_iter()
            .find(|p| p.version == version)
            .ok_or(EngineError::NoSuchPipelineVersion(version.0))?;
        let pipeline = parse_stored(&record, Pipeline::parse)?;
        self.check_stages_kept(&pipeline)?;
        let mut tx = self.store.begin()?;
        tx.activate_rule_file(version, self.clock.now())?;
        tx.commit()?;
        Ok(SavedRuleFile { version, name: record.name, activated: true })
    }

    /// Makes no version of this pipeline active: no lead enters it any more, and the leads in
    /// it stay where they are until it is activated again. Whether it was active.
    pub fn deactivate_pipeline(&mut self, name: &str) -> Result<bool, EngineError> {
        let mut tx = self.store.begin()?;
        let was = tx.deactivate_rule_file(RuleFileKind::Pipeline, name)?;
        tx.commit()?;
        Ok(was)
    }

    /// Every stored pipeline version, oldest first.
    pub fn pipelines(&self) -> Result<Vec<RuleFileRecord>, EngineError> {
        Ok(self.store.rule_files(RuleFileKind::Pipeline)?)
    }

    /// How many leads are in each stage of the pipeline with this name, in the pipeline's
    /// order when it is active (stages it has that hold no lead count 0).
    pub fn stage_counts(&mut self, name: &str) -> Result<Vec<(String, u64)>, EngineError> {
        let counts = self.store.stage_counts(name)?;
        let active = self.active_pipelines()?;
        let Some(pipeline) = active.named(name) else {
            return Ok(counts);
        };
        let count_of = |id: &str| counts.iter().find(|(s, _)| s == id).map_or(0, |(_, n)| *n);
        let mut ordered: Vec<(String, u64)> =
            pipeline.stages().iter().map(|s| (s.id().to_string(), count_of(s.id()))).collect();
        ordered.extend(counts.iter().filter(|(s, _)| pipeline.stage(s).is_none()).cloned());
        Ok(ordered)
    }

    /// The active pipelines, parsed once per set of active versions.
    pub fn active_pipelines(&mut self) -> Result<ActivePipelines, EngineError> {
        let records = self.store.active_rule_files(RuleFileKind::Pipeline)?;
        let versions: Vec<RuleFileVersion> = records.iter().map(|r| r.version).collect();
        if self.pipelines.as_ref().is_none_or(|p| p.versions != versions) {
            let parsed = records.iter().map(|r| parse_stored(r, Pipeline::parse)).collect::<Result<Vec<_>, _>>()?;
            self.pipelines = Some(ActivePipelines { versions, pipelines: Arc::new(parsed) });
        }
        Ok(self.pipelines.clone().expect("just loaded"))
    }

    /// Refuses `pipeline` as its name's active version while leads are in stages it lacks.
    fn check_stages_kept(&self, pipeline: &Pipeline) -> Result<(), EngineError> {
        let orphaned: Vec<(String, u64)> = self
            .store
            .stage_counts(pipeline.name())?
            .into_iter()
            .filter(|(stage, _)| pipeline.stage(stage).is_none())
            .collect();
        if orphaned.is_empty() {
            Ok(())
        } else {
            Err(EngineError::StagesInUse { pipeline: pipeline.name().to_string(), stages: orphaned })
        }
    }
}
