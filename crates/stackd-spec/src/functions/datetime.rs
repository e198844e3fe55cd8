//! Timestamps as Terraform writes them (RFC 3339 strings) and the functions
//! over them: `timestamp`, `plantimestamp`, `formatdate`, `timeadd`, `timecmp`.
//!
//! Calendar arithmetic is done here on Unix seconds (proleptic Gregorian,
//! years 0000 to 9999, as RFC 3339 allows), so no date crate is needed.

use std::cmp::Ordering;
use std::fmt::Write as _;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use super::{Args, FuncResult, Value};

/// A moment, and the UTC offset it was written with (which `timeadd` and
/// `formatdate` keep).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Timestamp {
    /// Seconds since 1970-01-01T00:00:00Z.
    secs: i64,
    nanos: u32,
    /// Seconds east of UTC.
    offset: i32,
}

impl Timestamp {
    fn cmp_instant(&self, other: &Timestamp) -> Ordering {
        (self.secs, self.nanos).cmp(&(other.secs, other.nanos))
    }

    /// Year, month, day, hour, minute, second and weekday (0 is Sunday) on
    /// the wall clock of the timestamp's own offset.
    fn civil(&self) -> Civil {
        let local = self.secs + i64::from(self.offset);
        let days = local.div_euclid(86_400);
        let secs = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Civil {
            year,
            month,
            day,
            hour: (secs / 3600) as u32,
            minute: (secs / 60 % 60) as u32,
            second: (secs % 60) as u32,
            weekday: (days + 4).rem_euclid(7) as usize,
        }
    }
}

struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    weekday: usize,
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((month + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day number since 1970-01-01 (the inverse of
/// [`days_from_civil`]).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

pub fn days_in_month(year: i64, month: u32) -> u32 {
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// For providers that keep timestamps of their own (the time provider):
/// an RFC 3339 string as `(seconds since the epoch, UTC offset in
/// seconds)`, fractions of a second dropped.
pub fn parse_rfc3339(s: &str) -> Result<(i64, i32), String> {
    parse_timestamp(s).map(|t| (t.secs, t.offset))
}

/// The moment `unix` shown at UTC offset `offset`, as Go's `time.RFC3339`
/// layout writes it.
pub fn format_rfc3339_at(unix: i64, offset: i32) -> String {
    format_rfc3339(&Timestamp {
        secs: unix,
        nanos: 0,
        offset,
    })
}

/// A Go duration (`"1h30m"`, `"-1.5h"`, `"300ms"`) in nanoseconds.
pub fn parse_go_duration(s: &str) -> Result<i128, String> {
    parse_duration(s)
}

/// Parses `2006-01-02T15:04:05Z` or `2006-01-02T15:04:05.999-07:00`, as
/// Go's `time.Parse(time.RFC3339, ...)` does.
fn parse_timestamp(s: &str) -> Result<Timestamp, String> {
    let bad = |why: String| format!("not a valid RFC3339 timestamp: {why}");
    let mut p = Cursor { s, at: 0 };
    let year = p.digits(4, "year").map_err(bad)?;
    p.literal('-').map_err(bad)?;
    let month = p.digits(2, "month").map_err(bad)?;
    p.literal('-').map_err(bad)?;
    let day = p.digits(2, "day of month").map_err(bad)?;
    if p.peek() != Some('T') {
        return Err(bad("missing required time introducer 'T'".into()));
    }
    p.at += 1;
    let hour = p.digits(2, "hour").map_err(bad)?;
    p.literal(':').map_err(bad)?;
    let minute = p.digits(2, "minute").map_err(bad)?;
    p.literal(':').map_err(bad)?;
    let second = p.digits(2, "second").map_err(bad)?;
    let mut nanos = 0u32;
    if p.peek() == Some('.') {
        p.at += 1;
        let digits = p.rest().bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("cannot use \".\" as second".into()));
        }
        let frac = &p.rest()[..digits];
        for (i, b) in frac.bytes().take(9).enumerate() {
            nanos += u32::from(b - b'0') * 10u32.pow(8 - i as u32);
        }
        p.at += digits;
    }
    let offset = match p.peek() {
        Some('Z') => {
            p.at += 1;
            0
        }
        Some(sign @ ('+' | '-')) => {
            p.at += 1;
            let h = p.digits(2, "UTC offset").map_err(bad)?;
            p.literal(':').map_err(bad)?;
            let m = p.digits(2, "UTC offset").map_err(bad)?;
            if h > 23 || m > 59 {
                return Err(bad(format!("cannot use {s:?}: UTC offset out of range")));
            }
            let secs = (h * 3600 + m * 60) as i32;
            if sign == '-' {
                -secs
            } else {
                secs
            }
        }
        None => return Err(bad("end of string before UTC offset".into())),
        Some(_) => return Err(bad(format!("cannot use {:?} as UTC offset", p.rest()))),
    };
    if !p.rest().is_empty() {
        return Err(format!(
            "not a valid RFC3339 timestamp: extra text {:?} after the timestamp",
            p.rest()
        ));
    }
    let (year, month, day) = (i64::from(year), month, day);
    let out_of_range = |what: &str| {
        Err(format!(
            "not a valid RFC3339 timestamp: {what} out of range"
        ))
    };
    if !(1..=12).contains(&month) {
        return out_of_range("month");
    }
    if day < 1 || day > days_in_month(year, month) {
        return out_of_range("day");
    }
    if hour > 23 {
        return out_of_range("hour");
    }
    if minute > 59 {
        return out_of_range("minute");
    }
    if second > 59 {
        return out_of_range("second");
    }
    let local =
        days_from_civil(year, month, day) * 86_400 + i64::from(hour * 3600 + minute * 60 + second);
    Ok(Timestamp {
        secs: local - i64::from(offset),
        nanos,
        offset,
    })
}

struct Cursor<'s> {
    s: &'s str,
    at: usize,
}

impl<'s> Cursor<'s> {
    fn rest(&self) -> &'s str {
        self.s.get(self.at..).unwrap_or("")
    }

    fn peek(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn digits(&mut self, n: usize, what: &str) -> Result<u32, String> {
        let rest = self.rest();
        if rest.is_empty() {
            return Err(format!("end of string before {what}"));
        }
        match rest.get(..n) {
            Some(d) if d.bytes().all(|b| b.is_ascii_digit()) => {
                self.at += n;
                d.parse().map_err(|_| format!("cannot use {d:?} as {what}"))
            }
            _ => {
                let shown: String = rest.chars().take(n).collect();
                Err(format!("cannot use {shown:?} as {what}"))
            }
        }
    }

    fn literal(&mut self, c: char) -> Result<(), String> {
        match self.peek() {
            Some(got) if got == c => {
                self.at += c.len_utf8();
                Ok(())
            }
            Some(got) => Err(format!(
                "found {:?} where {:?} is expected",
                got.to_string(),
                c.to_string()
            )),
            None => Err(format!(
                "end of string where {:?} is expected",
                c.to_string()
            )),
        }
    }
}

/// RFC 3339 without fractional seconds, as Go's `time.RFC3339` layout
/// writes it: `Z` for a zero offset.
fn format_rfc3339(t: &Timestamp) -> String {
    let c = t.civil();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{}",
        c.year,
        c.month,
        c.day,
        c.hour,
        c.minute,
        c.second,
        offset_text(t.offset, true, "Z")
    )
}

/// `+hh:mm` (or `+hhmm` without the colon), or `zero` for a zero offset.
fn offset_text(offset: i32, colon: bool, zero: &str) -> String {
    if offset == 0 && !zero.is_empty() {
        return zero.to_string();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let abs = offset.unsigned_abs();
    let sep = if colon { ":" } else { "" };
    format!("{sign}{:02}{sep}{:02}", abs / 3600, abs / 60 % 60)
}

fn now() -> Timestamp {
    let since = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp {
        secs: i64::try_from(since.as_secs()).unwrap_or(0),
        nanos: 0,
        offset: 0,
    }
}

/// The current time in UTC. Terraform evaluates it only during apply (it is
/// "(known after apply)" in a plan); here it is unknown only when the caller
/// sets `Scope::impure_unknown` while planning. Otherwise the value is the
/// time of each evaluation: the plan shows the planning time, and apply,
/// which evaluates the arguments again, uses the time then.
pub(super) fn fn_timestamp(_: &Args) -> FuncResult {
    Ok(Value::String(format_rfc3339(&now())))
}

/// The time the run started planning: the time of the first call in this
/// process, the same for every call after it.
pub(super) fn fn_plantimestamp(_: &Args) -> FuncResult {
    static PLAN_TIME: OnceLock<String> = OnceLock::new();
    Ok(Value::String(
        PLAN_TIME.get_or_init(|| format_rfc3339(&now())).clone(),
    ))
}

fn timestamp_arg(a: &Args, i: usize) -> Result<Timestamp, super::FuncError> {
    parse_timestamp(&a.string(i)?).map_err(|m| a.arg_err(i, m))
}

pub(super) fn fn_timecmp(a: &Args) -> FuncResult {
    let x = timestamp_arg(a, 0)?;
    let y = timestamp_arg(a, 1)?;
    Ok(Value::Number(match x.cmp_instant(&y) {
        Ordering::Less => -1.0,
        Ordering::Equal => 0.0,
        Ordering::Greater => 1.0,
    }))
}

pub(super) fn fn_timeadd(a: &Args) -> FuncResult {
    let t = timestamp_arg(a, 0)?;
    let text = a.string(1)?;
    let nanos = parse_duration(&text).map_err(|m| a.arg_err(1, m))?;
    let total = i128::from(t.secs) * 1_000_000_000 + i128::from(t.nanos) + nanos;
    let sum = Timestamp {
        secs: total.div_euclid(1_000_000_000) as i64,
        nanos: total.rem_euclid(1_000_000_000) as u32,
        offset: t.offset,
    };
    let year = sum.civil().year;
    if !(0..=9999).contains(&year) {
        return Err(a.err(format!(
            "the result falls in the year {year}, outside the years 0000 to 9999 a timestamp \
             can show"
        )));
    }
    Ok(Value::String(format_rfc3339(&sum)))
}

/// A Go duration (`"1h30m"`, `"-1.5h"`, `"300ms"`) in nanoseconds, within
/// Go's range (about ±292 years).
fn parse_duration(s: &str) -> Result<i128, String> {
    let invalid = || format!("invalid duration {s:?}");
    let (negative, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: i128 = 0;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after) = rest.split_at(int_len);
        let (frac_part, after) = match after.strip_prefix('.') {
            Some(f) => {
                let n = f.bytes().take_while(u8::is_ascii_digit).count();
                f.split_at(n)
            }
            None => ("", after),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, after) = after.split_at(unit_len);
        let scale: i128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            "" => return Err(format!("missing unit in duration {s:?}")),
            other => return Err(format!("unknown unit {other:?} in duration {s:?}")),
        };
        // Digits beyond what an i64 of nanoseconds holds are an overflow.
        if int_part.len() > 19 {
            return Err(invalid());
        }
        let whole: i128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut part = whole * scale;
        let mut div = 1i128;
        for b in frac_part.bytes().take(18) {
            div *= 10;
            part += i128::from(b - b'0') * scale / div;
        }
        total += part;
        if total > i128::from(i64::MAX) {
            return Err(invalid());
        }
        rest = after;
    }
    Ok(if negative { -total } else { total })
}

/// `formatdate("DD MMM YYYY hh:mm ZZZ", ts)`: runs of one letter are
/// fields, `'...'` is literal text (`''` is a quote), anything else is
/// copied.
pub(super) fn fn_formatdate(a: &Args) -> FuncResult {
    let spec = a.string(0)?;
    let t = timestamp_arg(a, 1)?;
    let c = t.civil();
    let mut out = String::new();
    let chars: Vec<char> = spec.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let ch = chars[i];
        if ch == '\'' {
            // A quoted literal; `''` is a quote, inside or outside one.
            if chars.get(i + 1) == Some(&'\'') {
                out.push('\'');
                i += 2;
                continue;
            }
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(a.arg_err(0, "unterminated literal '"));
                    }
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        out.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(&other) => {
                        out.push(other);
                        i += 1;
                    }
                }
            }
            continue;
        }
        if !ch.is_ascii_alphabetic() {
            out.push(ch);
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|c| **c == ch).count();
        let token: String = chars[i..i + run].iter().collect();
        i += run;
        let bad = |what: &str| a.arg_err(0, format!("invalid date format verb {token:?}: {what}"));
        let hour12 = if c.hour % 12 == 0 { 12 } else { c.hour % 12 };
        let _ = match (ch, run) {
            ('Y', 4) => write!(out, "{:04}", c.year),
            ('Y', 2) => write!(out, "{:02}", c.year % 100),
            ('Y', _) => return Err(bad("year must either be \"YY\" or \"YYYY\"")),
            ('M', 1) => write!(out, "{}", c.month),
            ('M', 2) => write!(out, "{:02}", c.month),
            ('M', 3) => write!(out, "{}", &MONTHS[c.month as usize - 1][..3]),
            ('M', 4) => write!(out, "{}", MONTHS[c.month as usize - 1]),
            ('M', _) => return Err(bad("month must be \"M\", \"MM\", \"MMM\", or \"MMMM\"")),
            ('D', 1) => write!(out, "{}", c.day),
            ('D', 2) => write!(out, "{:02}", c.day),
            ('D', _) => return Err(bad("day of month must either be \"D\" or \"DD\"")),
            ('E', 3) => write!(out, "{}", &WEEKDAYS[c.weekday][..3]),
            ('E', 4) => write!(out, "{}", WEEKDAYS[c.weekday]),
            ('E', _) => return Err(bad("day of week must either be \"EEE\" or \"EEEE\"")),
            ('h', 1) => write!(out, "{}", c.hour),
            ('h', 2) => write!(out, "{:02}", c.hour),
            ('H', 1) => write!(out, "{hour12}"),
            ('H', 2) => write!(out, "{hour12:02}"),
            ('h' | 'H', _) => return Err(bad("hour must either be \"hh\" or \"h\"")),
            ('A', 2) => write!(out, "{}", if c.hour < 12 { "AM" } else { "PM" }),
            ('a', 2) => write!(out, "{}", if c.hour < 12 { "am" } else { "pm" }),
            ('A' | 'a', _) => return Err(bad("must be \"AA\" or \"aa\"")),
            ('m', 1) => write!(out, "{}", c.minute),
            ('m', 2) => write!(out, "{:02}", c.minute),
            ('m', _) => return Err(bad("minute must either be \"mm\" or \"m\"")),
            ('s', 1) => write!(out, "{}", c.second),
            ('s', 2) => write!(out, "{:02}", c.second),
            ('s', _) => return Err(bad("second must either be \"ss\" or \"s\"")),
            ('Z', 1) => write!(out, "{}", offset_text(t.offset, true, "Z")),
            ('Z', 3) => write!(out, "{}", offset_text(t.offset, false, "UTC")),
            ('Z', 4) => write!(out, "{}", offset_text(t.offset, false, "")),
            ('Z', 5) => write!(out, "{}", offset_text(t.offset, true, "")),
            ('Z', _) => return Err(bad("timezone must be Z, ZZZZ, or ZZZZZ")),
            _ => {
                return Err(bad(
                    "unrecognized date format sequence; quote literal letters",
                ))
            }
        };
    }
    super::check_len(a, out.len())?;
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip_through_days() {
        for days in [-719_528, -1, 0, 1, 59, 60, 365, 10_957, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn timestamps_parse_with_offsets_and_fractions() {
        let t = parse_timestamp("2017-11-22T01:00:00Z").unwrap();
        let u = parse_timestamp("2017-11-22T00:00:00-01:00").unwrap();
        assert_eq!(t.cmp_instant(&u), Ordering::Equal);
        let f = parse_timestamp("2017-11-22T00:00:00.25+05:30").unwrap();
        assert_eq!(f.nanos, 250_000_000);
        assert_eq!(f.offset, 5 * 3600 + 1800);
        for bad in [
            "2017-11-22",
            "2017-11-22 00:00:00Z",
            "2017-13-01T00:00:00Z",
            "2017-02-29T00:00:00Z",
            "2017-11-22T24:00:00Z",
            "2017-11-22T00:00:00",
            "2017-11-22T00:00:00Zjunk",
            "17-11-22T00:00:00Z",
            "２017-11-22T00:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_follow_go() {
        assert_eq!(parse_duration("10m"), Ok(600_000_000_000));
        assert_eq!(parse_duration("-1.5h"), Ok(-5_400_000_000_000));
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_duration("0"), Ok(0));
        assert_eq!(parse_duration(".5s"), Ok(500_000_000));
        assert_eq!(parse_duration("1µs"), Ok(1_000));
        assert!(parse_duration("").is_err());
        assert!(parse_duration("1").is_err());
        assert!(parse_duration("1d").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("3000000h").is_err());
        assert!(parse_duration("99999999999999999999999999h").is_err());
    }
}
