//! Which leads a report counts: a cohort (created, or first qualified, in a period) and the
//! sources, owners, campaigns, buckets and grades to keep. Every lead by default.

use crate::Timestamp;
use crate::model::Grade;

use super::attribution::LeadTouches;
use super::names::{Name, Names};

/// From an instant on, before another, or both: `[from, to)`; a period that ends before it
/// starts holds nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Period {
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl Period {
    /// `None` when neither end is given: every instant.
    pub fn new(from: Option<Timestamp>, to: Option<Timestamp>) -> Option<Period> {
        (from.is_some() || to.is_some()).then_some(Period { from, to })
    }

    /// Whether `at` is in it.
    pub fn holds(&self, at: Timestamp) -> bool {
        self.from.is_none_or(|from| from <= at) && self.to.is_none_or(|to| at < to)
    }
}

/// What the caller asks for, by name.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadScope {
    /// Created then.
    pub created: Option<Period>,
    /// First qualified (entered an MQL stage) then.
    pub qualified: Option<Period>,
    /// With one of these sources.
    pub sources: Option<Vec<String>>,
    /// Owned by one of these.
    pub owners: Option<Vec<String>>,
    /// That touched one of these campaigns (see [`super::Attribution`]).
    pub campaigns: Option<Vec<String>>,
    /// In one of these buckets, and of one of these grades, as scored now.
    pub buckets: Option<Vec<String>>,
    pub grades: Option<Vec<Grade>>,
}

impl LeadScope {
    /// Whether it keeps leads by their score, which is then read beside their history.
    pub fn by_score(&self) -> bool {
        self.buckets.is_some() || self.grades.is_some()
    }
}

/// What a report knows of a lead beyond its place history: its touches, and its bucket and
/// grade as scored now (read only when a scope asks for them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LeadContext {
    pub touches: LeadTouches,
    pub bucket: Option<Name>,
    pub grade: Option<Grade>,
}

/// [`LeadScope`] with its names interned, as the fold checks it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Scope {
    created: Option<Period>,
    qualified: Option<Period>,
    sources: Option<Vec<Name>>,
    owners: Option<Vec<Name>>,
    campaigns: Option<Vec<Name>>,
    buckets: Option<Vec<Name>>,
    grades: Option<Vec<Grade>>,
}

impl Scope {
    pub(crate) fn new(scope: &LeadScope, names: &mut Names) -> Scope {
        let intern = |list: &Option<Vec<String>>, names: &mut Names| {
            list.as_ref().map(|l| l.iter().map(|s| names.intern(s)).collect())
        };
        Scope {
            created: scope.created,
            qualified: scope.qualified,
            sources: intern(&scope.sources, names),
            owners: intern(&scope.owners, names),
            campaigns: intern(&scope.campaigns, names),
            buckets: intern(&scope.buckets, names),
            grades: scope.grades.clone(),
        }
    }

    /// Whether a lead of this creation time, source, owner and context may count: what is known
    /// before its history is read.
    pub(crate) fn admits(
        &self,
        created: Timestamp,
        source: Option<Name>,
        owner: Option<Name>,
        context: &LeadContext,
    ) -> bool {
        let listed = |list: &Option<Vec<Name>>, name: Option<Name>| {
            list.as_ref().is_none_or(|l| name.is_some_and(|n| l.contains(&n)))
        };
        self.created.is_none_or(|period| period.holds(created))
            && listed(&self.sources, source)
            && listed(&self.owners, owner)
            && listed(&self.buckets, context.bucket)
            && self.grades.as_ref().is_none_or(|l| context.grade.is_some_and(|g| l.contains(&g)))
            && self.campaigns.as_ref().is_none_or(|c| context.touches.touched_any(c))
    }

    /// Whether the scope is a cohort of leads by when they first qualified: only then does a
    /// lead's first qualifying need finding before it is counted.
    pub(crate) fn by_qualifying(&self) -> bool {
        self.qualified.is_some()
    }

    /// Whether a lead first qualified then (`None`: never) counts.
    pub(crate) fn admits_qualified(&self, first_qualified: Option<Timestamp>) -> bool {
        self.qualified.is_none_or(|period| first_qualified.is_some_and(|at| period.holds(at)))
    }
}
