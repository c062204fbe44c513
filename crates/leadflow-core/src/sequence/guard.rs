//! The guard rails every sequence's sends keep to together: at most so many emails to a lead in
//! a rolling window (a send over the cap waits for a slot, it is not dropped), and only in the
//! send hours of the lead's own time zone (quiet hours and weekends wait for the next opening).

use chrono_tz::Tz;

use crate::Timestamp;
use crate::calendar::{WeeklyHours, WorkingCalendar};

/// At most `max` emails to one lead in any `days` days, from every sequence together.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrequencyCap {
    pub max: u32,
    pub days: u32,
}

impl FrequencyCap {
    /// The first instant at or after `at` at which one more email keeps within the cap, given
    /// the lead's sends (sent, or planned for later; in any order): the instant at which no
    /// window of `days` around it would hold more than `max`. That is `at` itself, or the
    /// instant some send leaves a window (`days` after it), whichever comes first and fits.
    pub fn next_slot(&self, at: Timestamp, sent: &[Timestamp]) -> Timestamp {
        if self.max == 0 {
            return Timestamp::from_millis(i64::MAX);
        }
        let window = i64::from(self.days) * 86_400_000;
        let mut times: Vec<i64> = sent.iter().map(|t| t.millis()).collect();
        times.sort_unstable();
        let fits = |candidate: i64| {
            // Sends within a window's reach of the candidate, on either side.
            let near: Vec<i64> =
                times.iter().copied().filter(|&t| t > candidate - window && t < candidate + window).collect();
            // Any `max` of them spanning less than a window together with the candidate make
            // `max + 1` in one window.
            let max = self.max as usize;
            near.len() < max
                || near.windows(max).all(|group| {
                    let (first, last) = (group[0].min(candidate), group[max - 1].max(candidate));
                    last - first >= window
                })
        };
        let candidates = std::iter::once(at.millis())
            .chain(times.iter().map(|t| t.saturating_add(window)).filter(|&t| t > at.millis()));
        let mut candidates: Vec<i64> = candidates.collect();
        candidates.sort_unstable();
        let found = candidates.into_iter().find(|&c| fits(c));
        // The instant after every send's window has room, always.
        Timestamp::from_millis(found.unwrap_or_else(|| times.last().map_or(at.millis(), |t| t + window)))
    }
}

/// The rules a send waits for: the cap, and the send hours (local wall-clock intervals per
/// weekday, Monday first, in the lead's zone).
#[derive(Clone, Debug, PartialEq)]
pub struct SendPolicy {
    pub cap: FrequencyCap,
    pub hours: WeeklyHours,
}

impl SendPolicy {
    /// When a send due at `due` may go to a lead in `zone` who was sent `sent`: the first instant
    /// at or after `due` in the send hours with a slot under the cap; `None` when the send hours
    /// have no opening within a year (a week without hours).
    pub fn send_at(&self, due: Timestamp, zone: Tz, sent: &[Timestamp]) -> Option<Timestamp> {
        let calendar = WorkingCalendar::new(zone, self.hours.clone(), []);
        let mut at = due;
        // Each turn moves forward to an opening, then to a slot; it ends where both hold. A slot
        // is a send's time plus the window, later each turn: at most one turn per send.
        for _ in 0..=sent.len() + 1 {
            let open = calendar.next_working_instant(at)?;
            let slot = self.cap.next_slot(open, sent);
            if slot == open {
                return Some(open);
            }
            at = slot;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        Timestamp::parse(s).unwrap()
    }

    fn weekdays(hours: &str) -> WeeklyHours {
        WeeklyHours::parse([hours, hours, hours, hours, hours, "", ""]).unwrap()
    }

    #[test]
    fn a_full_cap_waits_for_the_oldest_send_to_leave_the_window() {
        let cap = FrequencyCap { max: 3, days: 7 };
        let sent = [t("2026-06-01T10:00:00Z"), t("2026-06-03T10:00:00Z"), t("2026-06-04T10:00:00Z")];
        assert_eq!(cap.next_slot(t("2026-06-05T10:00:00Z"), &sent), t("2026-06-08T10:00:00Z"));
        assert_eq!(cap.next_slot(t("2026-06-09T00:00:00Z"), &sent), t("2026-06-09T00:00:00Z"), "one left the window");
        assert_eq!(cap.next_slot(t("2026-06-05T10:00:00Z"), &sent[1..]), t("2026-06-05T10:00:00Z"));
    }

    /// A send planned for later counts too: one more now must not crowd the week it goes in.
    #[test]
    fn sends_planned_for_later_count_in_the_windows_they_share() {
        let cap = FrequencyCap { max: 2, days: 7 };
        let planned = [t("2026-06-05T10:00:00Z"), t("2026-06-06T10:00:00Z")];
        // On the 1st, the week up to the 6th would hold three; anything before the 12th shares
        // a week with both. The 12th, a week after the 5th, has only the 6th beside it.
        assert_eq!(cap.next_slot(t("2026-06-01T10:00:00Z"), &planned), t("2026-06-12T10:00:00Z"));
        // One planned: room beside it.
        assert_eq!(cap.next_slot(t("2026-06-01T10:00:00Z"), &planned[..1]), t("2026-06-01T10:00:00Z"));
        let single = FrequencyCap { max: 1, days: 7 };
        // A week before a planned send is far enough.
        assert_eq!(single.next_slot(t("2026-05-29T10:00:00Z"), &planned[..1]), t("2026-05-29T10:00:00Z"));
        assert_eq!(single.next_slot(t("2026-05-29T10:00:01Z"), &planned[..1]), t("2026-06-12T10:00:00Z"));
    }

    /// Two sequences' sends count together: the third one of the week waits for the next
    /// opening after a slot frees, in the lead's zone.
    #[test]
    fn a_send_waits_for_the_send_hours_and_the_cap() {
        let policy = SendPolicy { cap: FrequencyCap { max: 2, days: 7 }, hours: weekdays("09:00-17:00") };
        let berlin = chrono_tz::Europe::Berlin;
        // Due Saturday: Monday 09:00 Berlin (07:00Z in summer).
        assert_eq!(policy.send_at(t("2026-06-06T12:00:00Z"), berlin, &[]), Some(t("2026-06-08T07:00:00Z")));
        // Due at 22:00 Tuesday: 09:00 Wednesday.
        assert_eq!(policy.send_at(t("2026-06-09T20:00:00Z"), berlin, &[]), Some(t("2026-06-10T07:00:00Z")));
        // Two sent (one by each sequence) on Monday 10:00 and Tuesday 10:00: the next waits
        // until Monday 10:00 a week on, within the hours.
        let sent = [t("2026-06-08T08:00:00Z"), t("2026-06-09T08:00:00Z")];
        assert_eq!(policy.send_at(t("2026-06-10T08:00:00Z"), berlin, &sent), Some(t("2026-06-15T08:00:00Z")));
        let closed = SendPolicy { hours: WeeklyHours::parse(["", "", "", "", "", "", ""]).unwrap(), ..policy };
        assert_eq!(closed.send_at(t("2026-06-10T08:00:00Z"), berlin, &[]), None);
    }
}
