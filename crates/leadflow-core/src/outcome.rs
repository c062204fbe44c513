//! How a lead ended: what scoring is judged against.

use std::fmt;

use crate::Timestamp;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OutcomeKind {
    /// Converted: became a customer (a won deal).
    Won,
    Lost,
}

impl OutcomeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Won => "won",
            OutcomeKind::Lost => "lost",
        }
    }

    /// `won` / `lost`, and the ways CRM exports say them (`converted`, `1`, `yes`, `closed won`,
    /// ...). Anything else is not an outcome.
    pub fn parse(s: &str) -> Option<OutcomeKind> {
        match s.trim().to_ascii_lowercase().as_str() {
            "won" | "win" | "converted" | "closed won" | "closed-won" | "1" | "yes" | "true" => Some(OutcomeKind::Won),
            "lost" | "loss" | "not converted" | "closed lost" | "closed-lost" | "0" | "no" | "false" => {
                Some(OutcomeKind::Lost)
            }
            _ => None,
        }
    }
}

impl fmt::Display for OutcomeKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A lead's outcome and when it happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Outcome {
    pub kind: OutcomeKind,
    pub at: Timestamp,
}

impl Outcome {
    pub fn converted(&self) -> bool {
        self.kind == OutcomeKind::Won
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_as_crms_write_them() {
        for won in ["won", "Converted", "1", "Closed Won", " yes "] {
            assert_eq!(OutcomeKind::parse(won), Some(OutcomeKind::Won), "{won}");
        }
        for lost in ["lost", "0", "closed-lost", "No"] {
            assert_eq!(OutcomeKind::parse(lost), Some(OutcomeKind::Lost), "{lost}");
        }
        assert_eq!(OutcomeKind::parse("open"), None);
    }
}
