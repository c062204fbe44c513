//! Rule files as stored: sales pipelines, assignment rules, SLA policies, nurture sequences and
//! their email templates. Every version of every
//! file is kept, with which version of each name is active. Several pipelines are active at once
//! (inbound, partner, ...), one version of each name; an assignment file or an SLA policy is
//! one of its kind (the engine deactivates the others as it activates one). A lead names its
//! pipeline by name ([`leadflow_core::Profile::pipeline`]), so a new version takes over the leads
//! of the old one.
//!
//! Scoring models have a store of their own (`ModelReads`): activating one rescores every lead.

use leadflow_core::Timestamp;

use crate::StoreError;

/// What a rule file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RuleFileKind {
    Pipeline,
    Assignment,
    Sla,
    /// A nurture sequence: several are active at once, one version of each name.
    Sequence,
    /// An email template a sequence sends, by name, as sequences are.
    Template,
}

impl RuleFileKind {
    pub const ALL: [RuleFileKind; 5] = [
        RuleFileKind::Pipeline,
        RuleFileKind::Assignment,
        RuleFileKind::Sla,
        RuleFileKind::Sequence,
        RuleFileKind::Template,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RuleFileKind::Pipeline => "pipeline",
            RuleFileKind::Assignment => "assignment",
            RuleFileKind::Sla => "sla",
            RuleFileKind::Sequence => "sequence",
            RuleFileKind::Template => "template",
        }
    }

    pub fn parse(s: &str) -> Option<RuleFileKind> {
        RuleFileKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A stored rule file version: numbered across kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RuleFileVersion(pub i64);

impl std::fmt::Display for RuleFileVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "v{}", self.0)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct RuleFileRecord {
    pub version: RuleFileVersion,
    pub kind: RuleFileKind,
    /// The name the file gives itself.
    pub name: String,
    /// The file exactly as it was saved.
    pub source: String,
    pub created_at: Timestamp,
    /// When it was last made its name's active version.
    pub activated_at: Option<Timestamp>,
    pub active: bool,
}

pub trait RuleFileReads {
    /// Every stored version of this kind, oldest first.
    fn rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError>;
    /// The active version of each name of this kind, by name.
    fn active_rule_files(&self, kind: RuleFileKind) -> Result<Vec<RuleFileRecord>, StoreError>;
    /// Every active version of every kind, by kind then name, without their files: what a cache
    /// of the parsed files checks itself against, in one small read.
    fn active_rule_versions(&self) -> Result<Vec<(RuleFileKind, RuleFileVersion)>, StoreError>;
}

pub trait RuleFileWrites {
    /// A stored version, as this unit of work sees it: for a rule that outlived its file's
    /// activity (an SLA clock started under an older policy).
    fn rule_file_now(&mut self, version: RuleFileVersion) -> Result<Option<RuleFileRecord>, StoreError>;
    /// Stores a file under its kind and name; a file stored before keeps its version.
    fn save_rule_file(
        &mut self,
        kind: RuleFileKind,
        name: &str,
        source: &str,
        now: Timestamp,
    ) -> Result<RuleFileVersion, StoreError>;
    /// Makes this version the active one of its kind and name, in place of any other.
    fn activate_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError>;
    /// Makes this version the only active one of its kind (an assignment file, an SLA policy):
    /// every other name of the kind is deactivated in the same unit of work, and two at once
    /// leave one active, not both.
    fn activate_only_rule_file(&mut self, version: RuleFileVersion, now: Timestamp) -> Result<(), StoreError>;
    /// Makes no version of this kind and name active; whether one was.
    fn deactivate_rule_file(&mut self, kind: RuleFileKind, name: &str) -> Result<bool, StoreError>;
}
