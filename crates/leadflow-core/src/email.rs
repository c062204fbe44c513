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
        // Characters, not bytes: what a JSON Schema `maxLength` counts.
        if s.chars().count() > 254 {
            return Err(EmailError::TooLong);
        }
        let malformed = || EmailError::Malformed(crate::text::printable(input.trim()).into_owned());
        let (local, domain) = s.split_once('@').ok_or_else(malformed)?;
        let plausible_domain =
            domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.') && !domain.contains("..");
        if local.is_empty() || !plausible_domain || domain.contains('@') || s.chars().any(forbidden) {
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

/// Characters no address leadflow stores may hold: whitespace, control characters (NUL, ESC:
/// terminal escapes), the characters that reorder text on screen (bidirectional overrides and
/// isolates), and the specials that only quoted local parts may carry (which leadflow does not
/// take): an address read from a public form ends up in terminals, logs and CRMs.
fn forbidden(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || matches!(c, '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2060}'..='\u{2069}' | '\u{feff}' | '\u{061c}')
        || matches!(c, '<' | '>' | '(' | ')' | '[' | ']' | '\\' | ',' | ';' | ':' | '"')
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
        // What a hostile form sends: terminal escapes, NUL, text reordering, markup.
        for bad in [
            "a\u{0}b@x.example",
            "a\u{1b}[31m@x.example",
            "\u{1b}]0;pwned\u{7}\u{1b}[2J@evil.example",
            "\u{202e}gnp.exe@x.example",
            "a\u{2066}b@x.example",
            "<script>alert(1)</script>@x.example",
            "\"a b\"@x.example",
            "a@x.example\u{200b}",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?} should be rejected");
        }
        assert_eq!(Email::parse("Jürgen@Müller.de").unwrap().as_str(), "jürgen@müller.de");
        assert!(Email::parse("o'brien+tag@x.example").is_ok());
    }
}
