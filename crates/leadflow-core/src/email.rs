//! Email addresses, normalized once at the edge.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically plausible email address, trimmed and lower-cased: the lead's natural key.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("email is empty")]
    Empty,
    #[error("`{0}` is not an email address (expected local@domain.tld)")]
    Malformed(String),
    #[error("email is longer than 254 characters")]
    TooLong,
}

impl Email {
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let s = input.trim().to_lowercase();
        if s.is_empty() {
            return Err(EmailError::Empty);
        }
        if s.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let malformed = || EmailError::Malformed(input.trim().to_string());
        let (local, domain) = s.split_once('@').ok_or_else(malformed)?;
        let plausible_domain =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
        if local.is_empty() || !plausible_domain || s.chars().any(char::is_whitespace) || domain.contains('@') {
            return Err(malformed());
        }
        Ok(Email(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or("")
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Email::parse(&s)
    }
}

impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_rejects() {
        assert_eq!(Email::parse("  Ana.Smith@Example.COM ").unwrap().as_str(), "ana.smith@example.com");
        assert_eq!(Email::parse("a@b.co").unwrap().domain(), "b.co");
        for bad in ["", "  ", "ana", "ana@", "@x.com", "ana@localhost", "a b@x.com", "a@x..com", "a@b@c.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}
