//! The traffic a run looks at: a span of whole UTC hours, so it is exactly a set of prediction-log partitions.

use serde::{Deserialize, Serialize};
use time::{Date, Duration, OffsetDateTime, Time, UtcOffset};

use fraudwatch_core::log_record::{partition_prefixes, PREDICTION_LOG_PREFIX};

/// The traffic a run looked at: `[start, end)`, whole UTC hours, so it is exactly a set of log partitions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Window {
    #[serde(with = "time::serde::rfc3339")]
    pub start: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub end: OffsetDateTime,
}

impl Window {
    /// The `hours` whole hours before the hour holding `at` (UTC): a run at 10:00:07 or a retry at 10:20
    /// both cover 09:00 back to `hours` earlier, and the partitions still being written are not read.
    pub fn hours_before(at: OffsetDateTime, hours: u32) -> Self {
        let at = at.to_offset(UtcOffset::UTC);
        let end = at.replace_time(Time::from_hms(at.hour(), 0, 0).expect("a valid hour"));
        Window { start: end - Duration::hours(i64::from(hours)), end }
    }

    /// One UTC day; `None` for the last day the calendar can represent (9999-12-31), whose end is not.
    pub fn day(date: Date) -> Option<Self> {
        let start = date.midnight().assume_utc();
        Some(Window { start, end: start.checked_add(Duration::DAY)? })
    }

    /// The `prediction-logs/dt=…/hour=…/` prefixes covering the window.
    pub fn partition_prefixes(&self) -> Vec<String> {
        partition_prefixes(self.start, self.end)
    }

    /// Seeds a run's samples, so a retry of the same window reads the same objects.
    pub fn seed(&self) -> u64 {
        self.start.unix_timestamp() as u64
    }
}

/// The prefixes to list for `[start, end)`: a day's `prediction-logs/dt=…/` when the window holds the whole UTC day
/// (one listing instead of 24, most of them for empty hours in a quiet deployment), else the hours' partitions.
/// A listed prefix can hold objects outside the window: readers leave them out by their names.
pub fn window_prefixes(start: OffsetDateTime, end: OffsetDateTime) -> Vec<String> {
    let mut prefixes: Vec<String> = Vec::new();
    for hour in partition_prefixes(start, end) {
        let day = &hour[..hour.len() - "hour=HH/".len()];
        let whole_day = partition_day(day).and_then(Window::day).is_some_and(|d| start <= d.start && d.end <= end);
        match prefixes.last() {
            Some(last) if whole_day && last == day => {}
            _ if whole_day => prefixes.push(day.to_string()),
            _ => prefixes.push(hour),
        }
    }
    prefixes
}

/// The UTC day of a `prediction-logs/dt=YYYY-MM-DD/…` key or prefix.
pub fn partition_day(key: &str) -> Option<Date> {
    let rest = key.strip_prefix(PREDICTION_LOG_PREFIX)?.strip_prefix("dt=")?;
    Date::parse(rest.get(..10)?, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn the_last_representable_day_has_no_window() {
        assert_eq!(Window::day(date!(9999 - 12 - 31)), None);
        let w = Window::day(date!(9999 - 12 - 30)).unwrap();
        assert_eq!(w.partition_prefixes().len(), 24);
    }
}
