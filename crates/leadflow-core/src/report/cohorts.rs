//! Cohorts: the leads created in each month, and how many of them had qualified and had been
//! won by each month since (0: the month they were created in), up to the as-of month; the
//! cohort heatmap's numbers.

use std::collections::BTreeMap;

use crate::Timestamp;

use super::month::{month_name, month_of};

#[derive(Clone, Debug, PartialEq)]
pub struct Cohort {
    /// The month its leads were created, `YYYY-MM`.
    pub month: String,
    pub leads: u64,
    /// `qualified[k]`: leads that had qualified by the end of the k-th month after their
    /// creation month (cumulative); as many months as the as-of instant has seen.
    pub qualified: Vec<u64>,
    /// The same for won.
    pub won: Vec<u64>,
}

#[derive(Debug)]
pub struct Cohorts {
    as_of: i32,
    /// Per creation month: leads, and the month offsets at which they qualified and were won.
    months: BTreeMap<i32, (u64, Vec<u64>, Vec<u64>)>,
}

impl Cohorts {
    pub fn new(as_of: Timestamp) -> Cohorts {
        // The last month with time observed: as of a month's first instant, that month has none.
        Cohorts { as_of: month_of(Timestamp::from_millis(as_of.millis() - 1)), months: BTreeMap::new() }
    }

    pub fn add(&mut self, created: Timestamp, qualified: Option<Timestamp>, won: Option<Timestamp>) {
        let month = month_of(created);
        let span = (self.as_of - month).max(0) as usize + 1;
        let (leads, q, w) = self.months.entry(month).or_insert_with(|| (0, vec![0; span], vec![0; span]));
        *leads += 1;
        let offset = |at: Timestamp| ((month_of(at) - month).max(0) as usize).min(span - 1);
        if let Some(at) = qualified {
            q[offset(at)] += 1;
        }
        if let Some(at) = won {
            w[offset(at)] += 1;
        }
    }

    pub fn finish(self) -> Vec<Cohort> {
        let running = |counts: Vec<u64>| {
            counts
                .into_iter()
                .scan(0, |total, n| {
                    *total += n;
                    Some(*total)
                })
                .collect()
        };
        self.months
            .into_iter()
            .map(|(month, (leads, qualified, won))| Cohort {
                month: month_name(month),
                leads,
                qualified: running(qualified),
                won: running(won),
            })
            .collect()
    }
}
