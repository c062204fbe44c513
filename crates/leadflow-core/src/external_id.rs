//! The id a lead has in another system (a CRM's `Lead ID`, `Prospect ID`, `00Q5g000004XyZ1`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A CRM's id for a lead, kept exactly as the CRM wrote it (trimmed): case matters, as
/// Salesforce ids differ by case alone, and leading zeros are part of it. With the email, one of
/// the two keys that name a lead from outside.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ExternalId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExternalIdError {
    #[error("external id is empty")]
    Empty,
    #[error("external id is longer than 255 characters")]
    TooLong,
    #[error("external id `{0}` has a control or direction character (an id is printed in terminals and CRMs)")]
    Unprintable(String),
}

impl ExternalId {
    pub fn parse(input: &str) -> Result<ExternalId, ExternalIdError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(ExternalIdError::Empty);
        }
        if s.chars().count() > 255 {
            return Err(ExternalIdError::TooLong);
        }
        if crate::text::printable(s) != s || s.chars().any(|c| matches!(c, '\u{200b}'..='\u{200d}' | '\u{feff}')) {
            return Err(ExternalIdError::Unprintable(crate::text::printable(s).into_owned()));
        }
        Ok(ExternalId(s.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ExternalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for ExternalId {
    type Error = ExternalIdError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ExternalId::parse(&s)
    }
}

impl From<ExternalId> for String {
    fn from(id: ExternalId) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_as_written() {
        assert_eq!(ExternalId::parse(" 00Q5g000004XyZ1 ").unwrap().as_str(), "00Q5g000004XyZ1");
        assert_ne!(ExternalId::parse("00q5g000004xyz1"), ExternalId::parse("00Q5g000004XyZ1"));
        assert_eq!(ExternalId::parse("007").unwrap().as_str(), "007");
        assert_eq!(ExternalId::parse("Straße-职位 7").unwrap().as_str(), "Straße-职位 7");
    }

    #[test]
    fn refuses_what_would_not_print_or_fit() {
        assert_eq!(ExternalId::parse("  "), Err(ExternalIdError::Empty));
        assert_eq!(ExternalId::parse(&"x".repeat(256)), Err(ExternalIdError::TooLong));
        for bad in ["a\u{1b}[31m", "a\u{0}b", "\u{202e}fdp", "a\nb", "a\u{200b}b"] {
            assert!(matches!(ExternalId::parse(bad), Err(ExternalIdError::Unprintable(_))), "{bad:?}");
        }
    }
}
