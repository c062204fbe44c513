//! The walk over instants: UTC time cut into pieces in which the zone's offset is constant and
//! the local clock stays within one local date.
//!
//! Within a piece, local time is UTC plus a constant, so the working part of the piece is the
//! date's intervals shifted back by that constant and clipped to the piece. A gap (spring forward)
//! or a fold (fall back) is just where one piece ends and the next starts with another offset:
//! the skipped wall-clock times belong to no piece, the repeated ones to two.

use super::{MILLIS_PER_DAY, SUPPORTED_MS, WorkingCalendar, WorkingInterval};

/// `[start, end)` in UTC milliseconds, with one offset and one local date.
#[derive(Clone, Copy, Debug)]
pub(super) struct Piece<'a> {
    pub(super) start: i64,
    end: i64,
    /// Local minus UTC, in milliseconds.
    offset: i64,
    /// The local date's midnight, in local milliseconds since 1970-01-01T00:00.
    local_midnight: i64,
    /// The local date's intervals; none on a holiday.
    hours: &'a [WorkingInterval],
}

impl<'a> Piece<'a> {
    /// The working stretches of the piece as UTC `[start, end)`, in order.
    pub(super) fn working(self) -> impl Iterator<Item = (i64, i64)> + 'a {
        self.hours.iter().filter_map(move |interval| {
            let start = (self.local_midnight + interval.start_ms() - self.offset).max(self.start);
            let end = (self.local_midnight + interval.end_ms() - self.offset).min(self.end);
            (start < end).then_some((start, end))
        })
    }
}

pub(super) struct Pieces<'a> {
    calendar: &'a WorkingCalendar,
    cursor: i64,
    limit: i64,
}

impl WorkingCalendar {
    /// The pieces covering `[from, to)`, clipped to the supported years; none when the week has no
    /// working hours at all, which is what keeps an empty calendar from walking the horizon.
    pub(super) fn pieces(&self, from: i64, to: i64) -> Pieces<'_> {
        let cursor = from.max(SUPPORTED_MS.start);
        let limit = if self.week.duration_ms() > 0 { to.min(SUPPORTED_MS.end) } else { cursor };
        Pieces { calendar: self, cursor, limit }
    }

    /// The first instant in `(start, end)` whose offset differs from `offset` (the offset at
    /// `start`), or `end` if there is none. `end - start` is at most a day, within which a zone's
    /// offset changes at most once (see the module doc), so comparing the ends tells.
    fn offset_change_before(&self, start: i64, offset: i64, end: i64) -> i64 {
        if self.offset_ms(end - 1) == offset {
            return end;
        }
        let (mut same, mut changed) = (start, end - 1);
        while changed - same > 1 {
            let middle = same + (changed - same) / 2;
            if self.offset_ms(middle) == offset {
                same = middle;
            } else {
                changed = middle;
            }
        }
        changed
    }
}

impl<'a> Iterator for Pieces<'a> {
    type Item = Piece<'a>;

    fn next(&mut self) -> Option<Piece<'a>> {
        if self.cursor >= self.limit {
            return None;
        }
        let start = self.cursor;
        let offset = self.calendar.offset_ms(start);
        let day = (start + offset).div_euclid(MILLIS_PER_DAY);
        let local_midnight = day * MILLIS_PER_DAY;
        // Where the local clock would read the next midnight if the offset stayed as it is.
        let next_midnight = local_midnight + MILLIS_PER_DAY - offset;
        let end = self.calendar.offset_change_before(start, offset, next_midnight.min(self.limit));
        self.cursor = end;
        Some(Piece { start, end, offset, local_midnight, hours: self.calendar.hours_on(day) })
    }
}
