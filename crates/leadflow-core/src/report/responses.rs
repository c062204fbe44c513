//! Response times: how long owners took to answer the hand-off, in their own working hours. An
//! SLA clock starts when a lead is handed to its owner (as it becomes an MQL, or enters a stage)
//! and is met when the owner accepts, rejects or touches it or moves it on; its response time is
//! the working time between, in the owner's calendar, so that a lead handed over on Friday night
//! and answered on Monday at nine took no time at all.

use super::quantile::quantile;

const MILLIS_PER_HOUR: f64 = 3_600_000.0;

/// The response times of some clocks (one owner's, a team's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ResponseTimes {
    /// Clocks started in the period.
    pub clocks: u64,
    /// Of those, met by the as-of instant, and still waiting then; the rest were stopped
    /// unanswered (the lead closed or changed hands first).
    pub responded: u64,
    pub waiting: u64,
    /// Working hours to respond: median, 90th percentile (interpolated), mean.
    pub median_hours: Option<f64>,
    pub p90_hours: Option<f64>,
    pub mean_hours: Option<f64>,
}

/// Gathers clocks into [`ResponseTimes`].
#[derive(Clone, Debug, Default)]
pub struct ResponseTally {
    hours: Vec<f64>,
    clocks: u64,
    waiting: u64,
}

impl ResponseTally {
    /// A clock met after `working_ms` of its owner's working time.
    pub fn met(&mut self, working_ms: i64) {
        self.clocks += 1;
        self.hours.push(working_ms as f64 / MILLIS_PER_HOUR);
    }

    /// A clock not met yet.
    pub fn waiting(&mut self) {
        self.clocks += 1;
        self.waiting += 1;
    }

    /// A clock stopped before anyone answered.
    pub fn stopped(&mut self) {
        self.clocks += 1;
    }

    /// Another's clocks too (a team's of its reps').
    pub fn merge(&mut self, other: &ResponseTally) {
        self.hours.extend_from_slice(&other.hours);
        self.clocks += other.clocks;
        self.waiting += other.waiting;
    }

    pub fn finish(&self) -> ResponseTimes {
        let mut hours = self.hours.clone();
        hours.sort_unstable_by(f64::total_cmp);
        ResponseTimes {
            clocks: self.clocks,
            responded: hours.len() as u64,
            waiting: self.waiting,
            median_hours: quantile(&hours, 0.5),
            p90_hours: quantile(&hours, 0.9),
            mean_hours: (!hours.is_empty()).then(|| hours.iter().sum::<f64>() / hours.len() as f64),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_in_hours_and_every_clock_counts_once() {
        let mut kim = ResponseTally::default();
        for hours in [1, 2, 3, 10] {
            kim.met(hours * 3_600_000);
        }
        kim.waiting();
        kim.stopped();
        let mut team = ResponseTally::default();
        team.met(30 * 60_000);
        team.merge(&kim);
        let times = kim.finish();
        assert_eq!((times.clocks, times.responded, times.waiting), (6, 4, 1));
        assert_eq!((times.median_hours, times.mean_hours), (Some(2.5), Some(4.0)));
        assert!((times.p90_hours.unwrap() - 7.9).abs() < 1e-9, "{:?}", times.p90_hours);
        let team = team.finish();
        assert_eq!((team.clocks, team.responded, team.median_hours), (7, 5, Some(2.0)));
        assert_eq!(ResponseTally::default().finish().median_hours, None);
    }
}
