//! A set of lead ids, held as ranges: which leads a learned model learned from.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::lead::LeadId;

/// Lead ids as sorted, disjoint ranges `(first, last)` of consecutive ids: a training set of a
/// hundred thousand leads imported together is a handful of ranges.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LeadIds(Vec<(i64, i64)>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a list of lead ids and ranges (expected e.g. \"1-500, 702, 800-900\")")]
pub struct BadLeadIds(String);

impl LeadIds {
    pub fn of(ids: impl IntoIterator<Item = LeadId>) -> LeadIds {
        LeadIds::of_ranges(ids.into_iter().map(|id| (id.0, id.0)).collect())
    }

    /// Sorted, with overlapping and adjacent ranges joined.
    fn of_ranges(mut ranges: Vec<(i64, i64)>) -> LeadIds {
        ranges.sort_unstable();
        let mut joined: Vec<(i64, i64)> = Vec::with_capacity(ranges.len());
        for (first, last) in ranges {
            match joined.last_mut() {
                Some((_, end)) if first <= end.saturating_add(1) => *end = last.max(*end),
                _ => joined.push((first, last)),
            }
        }
        LeadIds(joined)
    }

    pub fn contains(&self, id: LeadId) -> bool {
        let i = self.0.partition_point(|(_, last)| *last < id.0);
        self.0.get(i).is_some_and(|(first, _)| *first <= id.0)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Reads what [`Display`](fmt::Display) writes: `1-500,702,800-900`.
    pub fn parse(s: &str) -> Result<LeadIds, BadLeadIds> {
        let bad = || BadLeadIds(crate::text::printable(s).into_owned());
        let mut ranges = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (first, last) = part.split_once('-').unwrap_or((part, part));
            let (first, last): (i64, i64) =
                (first.trim().parse().map_err(|_| bad())?, last.trim().parse().map_err(|_| bad())?);
            if first > last {
                return Err(bad());
            }
            ranges.push((first, last));
        }
        Ok(LeadIds::of_ranges(ranges))
    }
}

impl fmt::Display for LeadIds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (first, last)) in self.0.iter().enumerate() {
            let sep = if i == 0 { "" } else { "," };
            if first == last { write!(f, "{sep}{first}")? } else { write!(f, "{sep}{first}-{last}")? }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_round_trip() {
        let ids = LeadIds::of([5, 1, 2, 3, 9, 10, 3].map(LeadId));
        assert_eq!(ids.to_string(), "1-3,5,9-10");
        assert_eq!(LeadIds::parse("1-3, 5,9-10").unwrap(), ids);
        assert!([1, 2, 3, 5, 9, 10].iter().all(|i| ids.contains(LeadId(*i))));
        assert!([0, 4, 6, 8, 11].iter().all(|i| !ids.contains(LeadId(*i))));
        assert!(LeadIds::parse("3-1").is_err());
        assert!(LeadIds::parse("a-b").is_err());
        assert!(LeadIds::parse("").unwrap().is_empty());
    }
}
