//! Email templates in use: saved, activated and retired as files; previewed with a lead.
//!
//! A sequence sends templates by name, so a sequence is refused activation while a template it
//! sends has no active version ([`Engine::save_sequence`]), and a template is refused retiring
//! while an active sequence sends it.

use leadflow_core::template::{RenderInput, Rendered, Sender, Template};
use leadflow_core::{Email, LeadRef};
use leadflow_store::prelude::*;
use leadflow_store::{RuleFileKind, RuleFileRecord, RuleFileVersion};

use crate::rule_files::{SavedRuleFile, parse_stored};
use crate::{Engine, EngineError};

/// Where a preview's unsubscribe link points: nowhere real, so that a preview sent on by hand
/// unsubscribes nobody.
pub const PREVIEW_UNSUBSCRIBE_URL: &str = "https://unsubscribe.invalid/preview";

impl<S: Store> Engine<S> {
    /// Checks a template file and stores it; with `activate`, makes it its name's active
    /// version, which later sends of every sequence use. A file stored before keeps its version.
    pub fn save_template(&mut self, source: &str, activate: bool) -> Result<SavedRuleFile, EngineError> {
        let template = Template::parse(source)?;
        let now = self.now();
        let mut tx = self.store.begin()?;
        let version = tx.save_rule_file(RuleFileKind::Template, template.name(), source, now)?;
        if activate {
            tx.activate_rule_file(version, now)?;
        }
        tx.commit()?;
        Ok(SavedRuleFile { version, name: template.name().to_string(), activated: activate })
    }

    /// Makes a stored version its name's active one.
    pub fn activate_template(&mut self, version: RuleFileVersion) -> Result<SavedRuleFile, EngineError> {
        let record = self
            .store
            .rule_files(RuleFileKind::Template)?
            .into_iter()
            .find(|t| t.version == version)
            .ok_or(EngineError::NoSuchTemplateVersion(version.0))?;
        parse_stored(&record, Template::parse)?;
        let mut tx = self.store.begin()?;
        tx.activate_rule_file(version, self.clock.now())?;
        tx.commit()?;
        Ok(SavedRuleFile { version, name: record.name, activated: true })
    }

    /// Retires a template: no version of it is active. Refused while an active sequence sends
    /// it; whether it was active.
    pub fn retire_template(&mut self, name: &str) -> Result<bool, EngineError> {
        let senders: Vec<String> = self
            .active_sequences()?
            .iter()
            .filter(|s| s.templates().contains(&name))
            .map(|s| s.name().to_string())
            .collect();
        if !senders.is_empty() {
            return Err(EngineError::TemplateInUse { template: name.to_string(), sequences: senders });
        }
        let mut tx = self.store.begin()?;
        let was = tx.deactivate_rule_file(RuleFileKind::Template, name)?;
        tx.commit()?;
        Ok(was)
    }

    /// Every stored template version, oldest first.
    pub fn templates(&self) -> Result<Vec<RuleFileRecord>, EngineError> {
        Ok(self.store.rule_files(RuleFileKind::Template)?)
    }

    /// The names of the active templates.
    pub(crate) fn active_template_names(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.store.active_rule_files(RuleFileKind::Template)?.into_iter().map(|r| r.name).collect())
    }

    /// The active template `name` (or `source`, a file not stored) filled in for a lead, as its
    /// owner would send it.
    pub fn preview_template(&self, template: TemplateToPreview<'_>, lead: &LeadRef) -> Result<Rendered, EngineError> {
        let template = match template {
            TemplateToPreview::Source(source) => Template::parse(source)?,
            TemplateToPreview::Active(name) => {
                let records = self.store.active_rule_files(RuleFileKind::Template)?;
                let record = records
                    .iter()
                    .find(|r| r.name == name)
                    .ok_or_else(|| EngineError::NoSuchTemplate(name.to_string()))?;
                parse_stored(record, Template::parse)?
            }
        };
        let record = self.store.lead(lead)?.ok_or_else(|| EngineError::NoSuchLead(lead.clone()))?;
        let sender = match record.profile.owner.as_deref() {
            // A user's name is often their address; a sender's own settings come with sending.
            Some(owner) => Sender {
                name: owner.to_string(),
                email: Email::parse(owner).map(|e| e.as_str().to_string()).unwrap_or_default(),
                signature: None,
            },
            None => Sender::default(),
        };
        let input = RenderInput { profile: &record.profile, sender: &sender, unsubscribe_url: PREVIEW_UNSUBSCRIBE_URL };
        Ok(template.render(&input)?)
    }
}

/// Which template a preview fills in.
#[derive(Clone, Copy, Debug)]
pub enum TemplateToPreview<'a> {
    /// The active version of this name.
    Active(&'a str),
    /// A file, checked but not stored.
    Source(&'a str),
}
