//! The do-not-contact list's words: a channel a person may not be reached on, and why.
//!
//! An entry is kept by address, not by lead: it outlives the lead (deleted, merged, imported
//! again from a CRM) and holds for whoever has that address. Nothing is sent on a channel to
//! an address listed for it, whatever sequence, step or person asks.

use std::fmt;

/// How a person is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    Email,
    Phone,
}

impl Channel {
    pub const ALL: [Channel; 2] = [Channel::Email, Channel::Phone];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Phone => "phone",
        }
    }

    pub fn parse(s: &str) -> Option<Channel> {
        Channel::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why an address is on the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SuppressionReason {
    /// The person asked (a link, a one-click unsubscribe, a reply, a rep told).
    Unsubscribed,
    /// Mail to it bounced for good (the address does not exist).
    Bounced,
    /// The person marked a message as spam.
    Complained,
    /// Put there by hand, for a reason of its own (a note says which).
    Manual,
}

impl SuppressionReason {
    pub const ALL: [SuppressionReason; 4] = [
        SuppressionReason::Unsubscribed,
        SuppressionReason::Bounced,
        SuppressionReason::Complained,
        SuppressionReason::Manual,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SuppressionReason::Unsubscribed => "unsubscribed",
            SuppressionReason::Bounced => "bounced",
            SuppressionReason::Complained => "complained",
            SuppressionReason::Manual => "manual",
        }
    }

    pub fn parse(s: &str) -> Option<SuppressionReason> {
        SuppressionReason::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl fmt::Display for SuppressionReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
