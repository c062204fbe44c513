//! How fast leads move: the days from a lead's creation to its first MQL, from the MQL to its
//! acceptance by sales (its first entry after the MQL into a stage whose lifecycle stage is
//! `sql`), and from acceptance to won; overall and by the month each step ended.

use std::collections::BTreeMap;

use crate::Timestamp;

use super::month::{month_name, month_of};
use super::quantile::quantile;

/// The steps, in order: created to MQL, MQL to accepted, accepted to won.
pub const STEPS: [(&str, &str); 3] = [("created", "mql"), ("mql", "accepted"), ("accepted", "won")];

/// One step's days, of the leads that took it.
#[derive(Clone, Debug, PartialEq)]
pub struct VelocityStep {
    pub from: &'static str,
    pub to: &'static str,
    pub leads: u64,
    pub median_days: Option<f64>,
    pub p75_days: Option<f64>,
    pub p90_days: Option<f64>,
    /// By the month (UTC) the step ended, oldest first.
    pub by_month: Vec<VelocityMonth>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct VelocityMonth {
    pub month: String,
    pub leads: u64,
    pub median_days: Option<f64>,
}

/// A lead's milestones: when it was created, first qualified, accepted after that, won after that.
#[derive(Clone, Copy, Debug, Default)]
pub struct Milestones {
    pub created: Option<Timestamp>,
    pub mql: Option<Timestamp>,
    pub accepted: Option<Timestamp>,
    pub won: Option<Timestamp>,
}

#[derive(Debug, Default)]
pub struct Velocity {
    /// Per step: days, and days by the month the step ended.
    days: [Vec<f64>; 3],
    by_month: [BTreeMap<i32, Vec<f64>>; 3],
}

impl Velocity {
    pub fn add(&mut self, m: &Milestones) {
        let points = [m.created, m.mql, m.accepted, m.won];
        for step in 0..STEPS.len() {
            if let (Some(from), Some(to)) = (points[step], points[step + 1]) {
                let days = (to.millis() - from.millis()) as f64 / 86_400_000.0;
                self.days[step].push(days);
                self.by_month[step].entry(month_of(to)).or_default().push(days);
            }
        }
    }

    pub fn finish(self) -> Vec<VelocityStep> {
        let Velocity { days, by_month } = self;
        days.into_iter()
            .zip(by_month)
            .zip(STEPS)
            .map(|((mut days, by_month), (from, to))| {
                days.sort_unstable_by(f64::total_cmp);
                VelocityStep {
                    from,
                    to,
                    leads: days.len() as u64,
                    median_days: quantile(&days, 0.5),
                    p75_days: quantile(&days, 0.75),
                    p90_days: quantile(&days, 0.9),
                    by_month: by_month
                        .into_iter()
                        .map(|(month, mut days)| {
                            days.sort_unstable_by(f64::total_cmp);
                            VelocityMonth {
                                month: month_name(month),
                                leads: days.len() as u64,
                                median_days: quantile(&days, 0.5),
                            }
                        })
                        .collect(),
                }
            })
            .collect()
    }
}
