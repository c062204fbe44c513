//! What ends an enrollment: what the lead did or became, against what the sequence's `[exit]`
//! says, and what always does.

use super::{ExitTrigger, Exits};

/// Something that happened to a lead in a sequence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitCause<'a> {
    /// It replied (an automatic reply, such as an out-of-office, is not one).
    Replied,
    MeetingBooked,
    BecameMql,
    Won,
    Lost,
    /// It entered this stage of its pipeline.
    EnteredStage(&'a str),
    /// It unsubscribed, an email to it bounced for good, or it complained (marked one as
    /// spam): every sequence ends, whatever its file says.
    Unsubscribed,
    HardBounce,
    Complained,
    /// It was enrolled in a sequence of higher priority.
    HigherPriority,
}

impl ExitCause<'_> {
    /// The reason an exit keeps.
    pub fn reason(&self) -> String {
        match self {
            ExitCause::Replied => "replied".into(),
            ExitCause::MeetingBooked => "booked a meeting".into(),
            ExitCause::BecameMql => "became an MQL".into(),
            ExitCause::Won => "won".into(),
            ExitCause::Lost => "lost".into(),
            ExitCause::EnteredStage(stage) => format!("entered stage {stage}"),
            ExitCause::Unsubscribed => "unsubscribed".into(),
            ExitCause::HardBounce => "hard bounce".into(),
            ExitCause::Complained => "complained".into(),
            ExitCause::HigherPriority => "enrolled in a sequence of higher priority".into(),
        }
    }
}

impl ExitCause<'static> {
    /// What ends an enrollment whose lead's address is on the do-not-contact list for `reason`.
    pub fn listed(reason: crate::contact::SuppressionReason) -> ExitCause<'static> {
        use crate::contact::SuppressionReason;
        match reason {
            SuppressionReason::Bounced => ExitCause::HardBounce,
            SuppressionReason::Complained => ExitCause::Complained,
            SuppressionReason::Unsubscribed | SuppressionReason::Manual => ExitCause::Unsubscribed,
        }
    }
}

impl Exits {
    /// Whether `cause` ends an enrollment in a sequence with these exits.
    pub fn ends_on(&self, cause: &ExitCause<'_>) -> bool {
        let trigger = match cause {
            ExitCause::Unsubscribed | ExitCause::HardBounce | ExitCause::Complained | ExitCause::HigherPriority => {
                return true;
            }
            ExitCause::EnteredStage(stage) => return self.stages.iter().any(|s| s == stage),
            ExitCause::Replied => ExitTrigger::Reply,
            ExitCause::MeetingBooked => ExitTrigger::Meeting,
            ExitCause::BecameMql => ExitTrigger::Mql,
            ExitCause::Won => ExitTrigger::Won,
            ExitCause::Lost => ExitTrigger::Lost,
        };
        self.on.contains(&trigger)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sequence::Sequence;

    #[test]
    fn a_sequence_ends_on_what_its_file_says_and_on_what_always_does() {
        let source = "name = \"n\"\n[exit]\non = [\"reply\", \"won\"]\nstages = [\"meeting\"]\n[[steps]]\nid = \"a\"\nsend = \"t\"\n";
        let exits = Sequence::parse(source).unwrap().exits().clone();
        for cause in [ExitCause::Replied, ExitCause::Won, ExitCause::EnteredStage("meeting")] {
            assert!(exits.ends_on(&cause), "{cause:?}");
        }
        for cause in [ExitCause::Lost, ExitCause::BecameMql, ExitCause::MeetingBooked, ExitCause::EnteredStage("new")] {
            assert!(!exits.ends_on(&cause), "{cause:?}");
        }
        for cause in [ExitCause::Unsubscribed, ExitCause::HardBounce, ExitCause::Complained, ExitCause::HigherPriority]
        {
            assert!(exits.ends_on(&cause), "always: {cause:?}");
        }
        let everything = Sequence::parse("name = \"n\"\n[[steps]]\nid = \"a\"\nsend = \"t\"\n").unwrap();
        assert!(everything.exits().ends_on(&ExitCause::BecameMql), "every exit by default");
        assert_eq!(ExitCause::EnteredStage("sql").reason(), "entered stage sql");
    }
}
