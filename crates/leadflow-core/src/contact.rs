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

/// The custom field that says whether a lead agreed to be emailed: a lead whose field says no
/// (`false`, `"no"`, `"false"`, `"0"`, `"opted_out"`) is sent nothing; a lead without it is, as
/// the lawful basis of a CRM's leads is the CRM's to keep.
pub const EMAIL_CONSENT_FIELD: &str = "email_consent";

/// Whether the lead's [`EMAIL_CONSENT_FIELD`] withholds consent.
pub fn email_consent_withheld(profile: &crate::Profile) -> bool {
    use crate::lead::{FieldRef, FieldValue};
    match profile.value(&FieldRef::Custom(EMAIL_CONSENT_FIELD.into())) {
        FieldValue::Bool(b) => !b,
        FieldValue::Number(n) => n == 0.0,
        FieldValue::Text(t) => {
            matches!(t.trim().to_ascii_lowercase().as_str(), "no" | "false" | "0" | "opted_out" | "opt_out" | "n")
        }
        FieldValue::Missing | FieldValue::Date(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CustomValue, Email, Profile};

    #[test]
    fn consent_is_withheld_only_when_the_field_says_no() {
        let mut p = Profile::new(Email::parse("ana@example.com").unwrap());
        assert!(!email_consent_withheld(&p), "no field: the CRM's basis stands");
        for (value, withheld) in [
            (CustomValue::Bool(false), true),
            (CustomValue::Bool(true), false),
            (CustomValue::Text(" No ".into()), true),
            (CustomValue::Text("opted_out".into()), true),
            (CustomValue::Text("yes".into()), false),
            (CustomValue::Number(0.0), true),
            (CustomValue::Number(1.0), false),
        ] {
            p.custom.insert(EMAIL_CONSENT_FIELD.into(), value.clone());
            assert_eq!(email_consent_withheld(&p), withheld, "{value:?}");
        }
    }

    #[test]
    fn channels_and_reasons_read_back_what_they_write() {
        for c in Channel::ALL {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
        for r in SuppressionReason::ALL {
            assert_eq!(SuppressionReason::parse(r.as_str()), Some(r));
        }
        assert_eq!(Channel::parse("fax"), None);
    }
}
