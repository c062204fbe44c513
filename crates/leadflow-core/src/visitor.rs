//! Anonymous website visitors, known by the id the tracking snippet keeps in a cookie.

use std::fmt;

/// A visitor id: 8 to 64 characters of `A-Z a-z 0-9 - _` (what the snippet generates is a
/// random 32-character hex string; anything else a page could send is refused).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VisitorId(String);

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("a visitor id is 8 to 64 characters of A-Z, a-z, 0-9, - and _")]
pub struct BadVisitorId;

impl VisitorId {
    pub fn parse(s: &str) -> Result<VisitorId, BadVisitorId> {
        let ok = (8..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if ok { Ok(VisitorId(s.to_string())) } else { Err(BadVisitorId) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for VisitorId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_ids_parse() {
        assert!(VisitorId::parse("3f2a9c0e4b1d4e7f8a6b5c4d3e2f1a0b").is_ok());
        assert!(VisitorId::parse("short").is_err());
        assert!(VisitorId::parse("has space in it").is_err());
        assert!(VisitorId::parse("<script>alert(1)</script>").is_err());
        assert!(VisitorId::parse(&"a".repeat(65)).is_err());
    }
}
