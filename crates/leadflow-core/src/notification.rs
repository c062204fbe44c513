//! What happens to a lead that other systems can subscribe to (webhooks).

use std::fmt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Topic {
    /// A lead was created by an event, an upsert or an identified website visitor. Imports do
    /// not send it: a CRM export of a million leads is not a million pieces of news.
    LeadCreated,
    /// A lead became marketing-qualified.
    LeadMql,
    /// A lead's score moved it to another bucket (hot, warm, cold, ...).
    LeadBucketChanged,
    /// A lead got an owner, or a new one: by the assignment rules, by hand, or by an SLA
    /// escalation.
    LeadAssigned,
    /// A lead moved to another stage of its pipeline, or entered one.
    LeadStageChanged,
    /// A lead went back to nurture (a recycled stage): its cycle ended, or sales rejected it.
    LeadRecycled,
    /// A task reached its due time, still to do.
    TaskDue,
    /// A task was still to do when its owner's day ended, the day it was due.
    TaskOverdue,
    /// An SLA clock passed its deadline unmet.
    SlaBreached,
    /// A lead reached a nurture sequence's `webhook` step.
    SequenceStep,
}

impl Topic {
    pub const ALL: [Topic; 10] = [
        Topic::LeadCreated,
        Topic::LeadMql,
        Topic::LeadBucketChanged,
        Topic::LeadAssigned,
        Topic::LeadStageChanged,
        Topic::LeadRecycled,
        Topic::TaskDue,
        Topic::TaskOverdue,
        Topic::SlaBreached,
        Topic::SequenceStep,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::LeadCreated => "lead.created",
            Topic::LeadMql => "lead.mql",
            Topic::LeadBucketChanged => "lead.bucket_changed",
            Topic::LeadAssigned => "lead.assigned",
            Topic::LeadStageChanged => "lead.stage_changed",
            Topic::LeadRecycled => "lead.recycled",
            Topic::TaskDue => "task.due",
            Topic::TaskOverdue => "task.overdue",
            Topic::SlaBreached => "sla.breached",
            Topic::SequenceStep => "sequence.step",
        }
    }

    pub fn parse(s: &str) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topics_round_trip_by_name() {
        for t in Topic::ALL {
            assert_eq!(Topic::parse(t.as_str()), Some(t));
        }
        assert_eq!(Topic::parse("lead.deleted"), None);
    }
}
