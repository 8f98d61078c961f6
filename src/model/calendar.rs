//! Calendar arithmetic: civil dates <-> days since 1970-01-01 (Arrow `date32`).
//!
//! The model never reads the wall clock; every date is derived from the model's start date
//! and the tick number.

use std::fmt;

/// A civil (proleptic Gregorian) date, stored as days since 1970-01-01.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(pub i32);

impl Date {
    /// Builds a date from year, month (1–12) and day (1–31); `None` if it does not exist.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Date> {
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        // Howard Hinnant's days_from_civil.
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy as i32;
        Some(Date(era * 146_097 + doe - 719_468))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.trim().splitn(3, '-');
        let y: i32 = it.next()?.parse().ok()?;
        let m: u32 = it.next()?.parse().ok()?;
        let d: u32 = it.next()?.parse().ok()?;
        if s.trim().len() != 10 {
            return None;
        }
        Date::from_ymd(y, m, d)
    }

    /// (year, month, day) of this date.
    pub fn ymd(self) -> (i32, u32, u32) {
        let z = self.0 + 719_468;
        let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let y = yoe + era * 400;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        (if m <= 2 { y + 1 } else { y }, m, d)
    }

    /// The date `days` later (saturating at the ends of the `i32` day range).
    pub fn plus_days(self, days: i32) -> Date {
        Date(self.0.saturating_add(days))
    }
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

/// Monday = 0 ... Sunday = 6.
pub fn weekday(d: Date) -> i32 {
    (d.0 + 3).rem_euclid(7)
}

/// The date `n` working days (Monday to Friday) after `d`, in constant time: whole weeks of
/// five working days are seven calendar days, and the rest steps over one weekend at most.
/// A date beyond the calendar's range saturates at its last day.
pub fn add_working_days(d: Date, n: u32) -> Date {
    if n == 0 {
        return d;
    }
    // From a Saturday or Sunday, the same working days follow as from the Friday before.
    let w = weekday(d);
    let (from, w) = if w >= 5 {
        (i64::from(d.0) - i64::from(w - 4), 4)
    } else {
        (i64::from(d.0), w)
    };
    let (weeks, rest) = (i64::from(n / 5), i64::from(n % 5));
    let weekend = if rest > 0 && i64::from(w) + rest > 4 { 2 } else { 0 };
    let day = from + 7 * weeks + rest + weekend;
    Date(day.clamp(i64::from(i32::MIN), i64::from(i32::MAX)) as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_days_skip_weekends() {
        let fri = Date::parse("2025-04-04").unwrap(); // a Friday
        assert_eq!(weekday(fri), 4);
        assert_eq!(add_working_days(fri, 0), fri);
        assert_eq!(add_working_days(fri, 1).to_string(), "2025-04-07");
        assert_eq!(add_working_days(fri, 5).to_string(), "2025-04-11");
        assert_eq!(add_working_days(fri, 45).to_string(), "2025-06-06");
    }

    /// The day-by-day count the constant-time rule replaces.
    fn by_counting(d: Date, n: u32) -> Date {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = day.plus_days(1);
            if weekday(day) < 5 {
                left -= 1;
            }
        }
        day
    }

    proptest::proptest! {
        #[test]
        fn working_days_in_constant_time_match_counting_day_by_day(start in -800_000i32..800_000, n in 0u32..2_000) {
            let d = Date(start);
            proptest::prop_assert_eq!(add_working_days(d, n), by_counting(d, n), "from {} ({}), n = {}", d, weekday(d), n);
        }
    }

    #[test]
    fn every_weekday_and_remainder_matches_counting() {
        // A Monday, then each day of two weeks, with n across several weeks.
        let monday = Date::parse("2025-04-07").unwrap();
        for k in 0..14 {
            let d = monday.plus_days(k);
            for n in 0..40 {
                assert_eq!(add_working_days(d, n), by_counting(d, n), "from {d}, n = {n}");
            }
        }
    }

    #[test]
    fn epoch_and_round_trip() {
        assert_eq!(Date::parse("1970-01-01"), Some(Date(0)));
        assert_eq!(Date::parse("2025-01-01"), Some(Date(20_089)));
        for n in [-600_000, -1, 0, 59, 60, 20_089, 30_000, 2_000_000] {
            let d = Date(n);
            assert_eq!(Date::parse(&d.to_string()), Some(d), "{d}");
        }
        assert_eq!(Date::parse("2024-02-30"), None);
        assert_eq!(Date::parse("2025-1-01"), None);
        assert_eq!(Date::parse("2024-02-29").unwrap().plus_days(1).to_string(), "2024-03-01");
    }
}
