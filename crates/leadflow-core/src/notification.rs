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
}

impl Topic {
    pub const ALL: [Topic; 3] = [Topic::LeadCreated, Topic::LeadMql, Topic::LeadBucketChanged];

    pub fn as_str(self) -> &'static str {
        match self {
            Topic::LeadCreated => "lead.created",
            Topic::LeadMql => "lead.mql",
            Topic::LeadBucketChanged => "lead.bucket_changed",
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
