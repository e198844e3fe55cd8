//! Terraform's time provider: `time_static` (a timestamp taken once and
//! kept), `time_sleep` (a wait at create and/or destroy) and
//! `time_rotating` (a timestamp that is made again once its rotation time
//! has passed: refresh reports it gone, and the plan creates it again), with
//! the provider's argument and attribute names. Timestamps are RFC 3339 as
//! Go formats them (whole seconds, `Z` for UTC, the offset they were given
//! with otherwise); durations are Go's (`"30s"`, `"1m30s"`, `"1.5h"`). The
//! calendar arithmetic is here (proleptic Gregorian, no time zones but
//! fixed offsets), as in the spec crate's date functions.

use std::collections::BTreeMap;
use std::time::Duration;

use stackd_spec::functions::datetime;
use stackd_spec::schema::{AttrSchema, AttrType, ResourceSchema, Timeouts};
use stackd_spec::Value;

/// The schemas of the types this module serves.
pub fn schemas() -> Vec<ResourceSchema> {
    let triggers = |what: &'static str| {
        AttrSchema::optional("triggers", AttrType::map_of(AttrType::String))
            .force_new()
            .doc(what)
    };
    let parts = |r: ResourceSchema| {
        r.attr(AttrSchema::computed("year", AttrType::Number))
            .attr(AttrSchema::computed("month", AttrType::Number))
            .attr(AttrSchema::computed("day", AttrType::Number))
            .attr(AttrSchema::computed("hour", AttrType::Number))
            .attr(AttrSchema::computed("minute", AttrType::Number))
            .attr(AttrSchema::computed("second", AttrType::Number))
            .attr(
                AttrSchema::computed("unix", AttrType::Number).doc("Seconds since the Unix epoch."),
            )
    };
    let rotation = |name: &'static str| {
        AttrSchema::optional(name, AttrType::Number)
            .doc("Added to the base timestamp to give the rotation time; at least one rotation_ argument is needed.")
    };
    vec![
        parts(
            ResourceSchema::resource("time_static")
                .attr(
                    AttrSchema::optional_computed("rfc3339", AttrType::String)
                        .force_new()
                        .doc("The timestamp (RFC 3339, e.g. 2024-01-31T12:00:00Z); the time of create when unset."),
                )
                .attr(triggers("Any change takes a new timestamp.")),
        )
        .doc("A UTC timestamp taken once at create and kept in state (timestamp() without the perpetual diff)."),
        ResourceSchema::resource("time_sleep")
            .attr(
                AttrSchema::optional("create_duration", AttrType::String)
                    .doc("How long create waits, as a Go duration (\"30s\", \"5m\"); changing it alone waits no more."),
            )
            .attr(
                AttrSchema::optional("destroy_duration", AttrType::String)
                    .doc("How long destroy waits, as a Go duration; it must be in state before the destroy."),
            )
            .attr(triggers("Any change replaces the resource, waiting again."))
            .timeouts(Timeouts {
                create_secs: 3600,
                update_secs: 600,
                delete_secs: 3600,
            })
            .doc("Waits at create and/or destroy (e.g. for IAM to propagate). A wait may not outlast the operation's timeout: one hour unless timeouts {} says otherwise."),
        parts(
            ResourceSchema::resource("time_rotating")
                .attr(
                    AttrSchema::optional_computed("rfc3339", AttrType::String)
                        .force_new()
                        .doc("The base timestamp (RFC 3339); the time of create when unset."),
                )
                .attr(rotation("rotation_years"))
                .attr(rotation("rotation_months"))
                .attr(rotation("rotation_days"))
                .attr(rotation("rotation_hours"))
                .attr(rotation("rotation_minutes"))
                .attr(
                    AttrSchema::optional_computed("rotation_rfc3339", AttrType::String)
                        .doc("The rotation time (RFC 3339), given or computed from the base and the rotation_ arguments."),
                )
                .attr(triggers("Any change takes a new base timestamp.")),
        )
        .doc("A timestamp made again once its rotation time has passed (when stackd next plans); year..unix are the rotation time's."),
    ]
}

/// True when this module serves `type_name`.
pub fn serves(type_name: &str) -> bool {
    matches!(type_name, "time_static" | "time_sleep" | "time_rotating")
}

/// Makes a new object of `type_name`; `time_sleep` waits its
/// `create_duration` first, at most `timeout`.
pub async fn create(type_name: &str, desired: &Value, timeout: Duration) -> Result<Value, String> {
    let Value::Map(args) = desired else {
        return Err("the arguments are not an object".into());
    };
    let mut out = args.clone();
    match type_name {
        "time_static" => {
            let (stamp, given) = base(args)?;
            out.insert("rfc3339".into(), Value::from(given));
            out.insert("id".into(), Value::from(stamp.format()));
            out.extend(stamp.parts());
        }
        "time_sleep" => {
            let create = duration_arg(args, "create_duration")?;
            let destroy = duration_arg(args, "destroy_duration")?;
            if create.is_none() && destroy.is_none() {
                return Err(
                    "at least one of create_duration and destroy_duration is needed".into(),
                );
            }
            if let Some(wait) = create {
                sleep_within("create_duration", wait, timeout, "create").await?;
            }
            out.insert("id".into(), Value::from(Stamp::now().format()));
        }
        "time_rotating" => {
            let (stamp, given) = base(args)?;
            out.insert("rfc3339".into(), Value::from(given));
            out.extend(rotation(args, stamp)?);
        }
        other => return Err(format!("the local provider has no type {other}")),
    }
    Ok(Value::Map(out))
}

/// An in-place update: `time_sleep`'s durations (no wait), `time_rotating`'s
/// rotation arguments (the rotation time computed again from the same
/// base). Everything else of these types replaces.
pub fn update(type_name: &str, prior: &Value, desired: &Value) -> Result<Value, String> {
    let Value::Map(args) = desired else {
        return Err("the arguments are not an object".into());
    };
    let mut out = args.clone();
    let id = prior.get("id").and_then(Value::as_str).unwrap_or_default();
    match type_name {
        "time_sleep" => {
            duration_arg(args, "create_duration")?;
            duration_arg(args, "destroy_duration")?;
            out.insert("id".into(), Value::from(id));
        }
        "time_rotating" => {
            let stamp = Stamp::parse(id).map_err(|e| format!("the recorded id: {e}"))?;
            let given = prior
                .get("rfc3339")
                .and_then(Value::as_str)
                .unwrap_or(id)
                .to_string();
            out.insert("rfc3339".into(), Value::from(given));
            out.extend(rotation(args, stamp)?);
        }
        other => return Err(format!("{other} is replaced, never updated")),
    }
    Ok(Value::Map(out))
}

/// `time_sleep`'s destroy: waits the recorded `destroy_duration`.
pub async fn delete(type_name: &str, prior: &Value, timeout: Duration) -> Result<(), String> {
    if type_name != "time_sleep" {
        return Ok(());
    }
    let Some(args) = prior.as_map() else {
        return Ok(());
    };
    if let Some(wait) = duration_arg(args, "destroy_duration")? {
        sleep_within("destroy_duration", wait, timeout, "delete").await?;
    }
    Ok(())
}

/// False for a `time_rotating` whose rotation time has passed: the next
/// plan makes it again. Every other object exists as recorded.
pub fn still_exists(type_name: &str, attrs: &Value) -> bool {
    if type_name != "time_rotating" {
        return true;
    }
    match attrs
        .get("rotation_rfc3339")
        .and_then(Value::as_str)
        .map(Stamp::parse)
    {
        Some(Ok(rotation)) => Stamp::now().unix <= rotation.unix,
        _ => true,
    }
}

async fn sleep_within(
    name: &str,
    wait: Duration,
    timeout: Duration,
    operation: &str,
) -> Result<(), String> {
    if wait > timeout {
        return Err(format!(
            "{name} ({}s) is longer than the {operation} timeout ({}s); make it shorter or raise timeouts {{ {operation} = ... }}",
            wait.as_secs(),
            timeout.as_secs()
        ));
    }
    tokio::time::sleep(wait).await;
    Ok(())
}

fn duration_arg(args: &BTreeMap<String, Value>, name: &str) -> Result<Option<Duration>, String> {
    match args.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => parse_duration(s)
            .map(Some)
            .map_err(|e| format!("{name}: {e}")),
        Some(other) => Err(format!(
            "{name} must be a string, got a {}",
            other.type_name()
        )),
    }
}

/// The base timestamp: `rfc3339` as given (kept as written, so the next
/// plan finds it equal), or now.
fn base(args: &BTreeMap<String, Value>) -> Result<(Stamp, String), String> {
    match args.get("rfc3339").and_then(Value::as_str) {
        Some(given) => Stamp::parse(given)
            .map(|s| (s, given.to_string()))
            .map_err(|e| format!("rfc3339: {e}")),
        None => {
            let now = Stamp::now();
            Ok((now, now.format()))
        }
    }
}

/// `time_rotating`'s computed attributes for the base `stamp`, as the
/// provider computes them: the last rotation argument set in the order
/// days, hours, minutes, months, rfc3339, years decides.
fn rotation(args: &BTreeMap<String, Value>, stamp: Stamp) -> Result<Vec<(String, Value)>, String> {
    let count = |name: &str| -> Result<Option<i64>, String> {
        match args.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => {
                let n = v.as_f64().unwrap_or(f64::NAN);
                if n.fract() != 0.0 || !(1.0..=1_000_000.0).contains(&n) {
                    return Err(format!("{name} must be a whole number from 1, got {n}"));
                }
                Ok(Some(n as i64))
            }
        }
    };
    let mut rotation: Option<Stamp> = None;
    if let Some(d) = count("rotation_days")? {
        rotation = Some(stamp.add_date(0, 0, d)?);
    }
    if let Some(h) = count("rotation_hours")? {
        rotation = Some(stamp.add_seconds(h * 3600)?);
    }
    if let Some(m) = count("rotation_minutes")? {
        rotation = Some(stamp.add_seconds(m * 60)?);
    }
    if let Some(m) = count("rotation_months")? {
        rotation = Some(stamp.add_date(0, m, 0)?);
    }
    if let Some(s) = args.get("rotation_rfc3339").and_then(Value::as_str) {
        rotation = Some(Stamp::parse(s).map_err(|e| format!("rotation_rfc3339: {e}"))?);
    }
    if let Some(y) = count("rotation_years")? {
        rotation = Some(stamp.add_date(y, 0, 0)?);
    }
    let rotation = rotation.ok_or(
        "at least one of rotation_minutes, rotation_hours, rotation_days, rotation_months, \
         rotation_years and rotation_rfc3339 is needed",
    )?;
    let mut out = vec![
        ("id".to_string(), Value::from(stamp.format())),
        (
            "rotation_rfc3339".to_string(),
            // A given rotation time is kept as written.
            match args.get("rotation_rfc3339").and_then(Value::as_str) {
                Some(s) if count("rotation_years")?.is_none() => Value::from(s),
                _ => Value::from(rotation.format()),
            },
        ),
    ];
    out.extend(rotation.parts());
    Ok(out)
}

/// A moment as RFC 3339 writes it: seconds since the Unix epoch and the
/// offset from UTC it is shown in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Stamp {
    unix: i64,
    offset_secs: i64,
}

/// The years a timestamp may be in (four digits, as RFC 3339 writes them).
const YEARS: std::ops::RangeInclusive<i64> = 0..=9999;

impl Stamp {
    fn now() -> Stamp {
        let unix = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Stamp {
            unix,
            offset_secs: 0,
        }
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`, as Go's
    /// `time.Parse(time.RFC3339, ...)` does (the fraction is dropped).
    fn parse(s: &str) -> Result<Stamp, String> {
        let (unix, offset) = datetime::parse_rfc3339(s).map_err(|e| format!("{s:?}: {e}"))?;
        Ok(Stamp {
            unix,
            offset_secs: i64::from(offset),
        })
    }

    /// The local date and time: (year, month, day, hour, minute, second).
    fn civil(&self) -> (i64, i64, i64, i64, i64, i64) {
        let local = self.unix + self.offset_secs;
        let (days, secs) = (local.div_euclid(86_400), local.rem_euclid(86_400));
        let (y, m, d) = datetime::civil_from_days(days);
        (
            y,
            i64::from(m),
            i64::from(d),
            secs / 3600,
            secs % 3600 / 60,
            secs % 60,
        )
    }

    /// As Go's `Format(time.RFC3339)`: `Z` for a zero offset.
    fn format(&self) -> String {
        datetime::format_rfc3339_at(self.unix, self.offset_secs as i32)
    }

    /// `year` ... `second` and `unix`, as the provider's attributes.
    fn parts(&self) -> Vec<(String, Value)> {
        let (y, mo, d, h, mi, s) = self.civil();
        [
            ("year", y),
            ("month", mo),
            ("day", d),
            ("hour", h),
            ("minute", mi),
            ("second", s),
            ("unix", self.unix),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), Value::from(v)))
        .collect()
    }

    fn add_seconds(&self, secs: i64) -> Result<Stamp, String> {
        let unix = self
            .unix
            .checked_add(secs)
            .ok_or("the time is out of range")?;
        Stamp { unix, ..*self }.in_range()
    }

    /// As Go's `AddDate`: the fields added, then normalised (January 31
    /// plus one month is March 2 or 3).
    fn add_date(&self, years: i64, months: i64, days: i64) -> Result<Stamp, String> {
        let (y, mo, d, h, mi, s) = self.civil();
        let total_months = (y + years) * 12 + (mo - 1) + months;
        let (year, month) = (total_months.div_euclid(12), total_months.rem_euclid(12) + 1);
        if !YEARS.contains(&year) {
            return Err("the time is out of range".into());
        }
        let day_number = datetime::days_from_civil(year, month as u32, 1) + (d - 1) + days;
        let local = day_number * 86_400 + h * 3600 + mi * 60 + s;
        Stamp {
            unix: local - self.offset_secs,
            offset_secs: self.offset_secs,
        }
        .in_range()
    }

    fn in_range(self) -> Result<Stamp, String> {
        if YEARS.contains(&self.civil().0) {
            Ok(self)
        } else {
            Err("the time is out of range (years 0 to 9999)".into())
        }
    }
}

/// A Go duration (`time.ParseDuration`): a sequence of decimal numbers,
/// each with a unit (`ns`, `us`, `µs`, `ms`, `s`, `m`, `h`), such as
/// `"300ms"`, `"1.5h"` or `"2h45m"`. Negative durations are refused (they
/// are not waits).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let bad = || format!("{s:?} is not a duration such as \"30s\", \"5m\" or \"1h30m\"");
    if s.strip_prefix('+').unwrap_or(s).starts_with('-') {
        return Err(format!("{s:?} is negative"));
    }
    let nanos = datetime::parse_go_duration(s).map_err(|_| bad())?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    fn num(v: &Value, name: &str) -> i64 {
        v.get(name)
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("{name} in {v:?}"))
    }

    const HOUR: Duration = Duration::from_secs(3600);

    #[test]
    fn go_durations() {
        let ok = |s: &str| parse_duration(s).expect(s);
        assert_eq!(ok("30s"), Duration::from_secs(30));
        assert_eq!(ok("1m"), Duration::from_secs(60));
        assert_eq!(ok("1.5h"), Duration::from_secs(5400));
        assert_eq!(ok("2h45m"), Duration::from_secs(9900));
        assert_eq!(ok("300ms"), Duration::from_millis(300));
        assert_eq!(ok("1µs"), Duration::from_micros(1));
        assert_eq!(ok(".5s"), Duration::from_millis(500));
        assert_eq!(ok("0"), Duration::ZERO);
        for bad in [
            "",
            "30",
            "s",
            "1d",
            "-1s",
            "1.s.",
            "3x",
            "99999999999999999999999h",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_round_trips_as_go_formats_it() {
        let s = Stamp::parse("2020-02-12T06:36:13Z").expect("parses");
        assert_eq!(s.unix, 1_581_489_373);
        assert_eq!(s.format(), "2020-02-12T06:36:13Z");
        let s = Stamp::parse("2020-02-12T06:36:13.123+01:30").expect("parses");
        assert_eq!(s.unix, 1_581_489_373 - 5400);
        assert_eq!(s.format(), "2020-02-12T06:36:13+01:30");
        assert_eq!(s.civil(), (2020, 2, 12, 6, 36, 13));
        assert_eq!(Stamp::parse("1969-12-31T23:59:59Z").map(|s| s.unix), Ok(-1));
        for bad in [
            "2020-02-30T00:00:00Z",
            "2020-13-01T00:00:00Z",
            "2020-02-12 06:36:13Z",
            "2020-02-12T06:36:13",
            "2020-02-12T24:00:00Z",
            "2020-02-12T06:36:13+0100",
            "2020-02-12T06:36:13.Z",
            "⏰",
        ] {
            assert!(Stamp::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn add_date_normalises_as_go_does() {
        let s = Stamp::parse("2021-01-31T10:00:00Z").expect("parses");
        assert_eq!(
            s.add_date(0, 1, 0).map(|s| s.format()),
            Ok("2021-03-03T10:00:00Z".into())
        );
        assert_eq!(
            s.add_date(1, 0, 30).map(|s| s.format()),
            Ok("2022-03-02T10:00:00Z".into())
        );
        let leap = Stamp::parse("2024-02-29T00:00:00-05:00").expect("parses");
        assert_eq!(
            leap.add_date(1, 0, 0).map(|s| s.format()),
            Ok("2025-03-01T00:00:00-05:00".into())
        );
        assert!(s.add_date(9000, 0, 0).is_err());
    }

    #[tokio::test]
    async fn time_static_keeps_a_given_timestamp_as_written() {
        let v = create(
            "time_static",
            &args(&[("rfc3339", Value::from("2020-02-12T06:36:13+01:00"))]),
            HOUR,
        )
        .await
        .expect("creates");
        assert_eq!(
            v.get("rfc3339"),
            Some(&Value::from("2020-02-12T06:36:13+01:00"))
        );
        assert_eq!(v.get("id"), Some(&Value::from("2020-02-12T06:36:13+01:00")));
        assert_eq!(num(&v, "hour"), 6);
        assert_eq!(num(&v, "unix"), 1_581_485_773);
        assert_eq!(
            (num(&v, "year"), num(&v, "month"), num(&v, "day")),
            (2020, 2, 12)
        );
        let e = create(
            "time_static",
            &args(&[("rfc3339", Value::from("soon"))]),
            HOUR,
        )
        .await
        .expect_err("bad timestamp");
        assert!(e.starts_with("rfc3339: "), "{e}");
    }

    #[tokio::test]
    async fn time_static_without_a_timestamp_takes_now_in_utc() {
        let before = Stamp::now().unix;
        let v = create("time_static", &args(&[]), HOUR)
            .await
            .expect("creates");
        let unix = num(&v, "unix");
        assert!(unix >= before && unix <= Stamp::now().unix);
        let id = v.get("id").and_then(Value::as_str).expect("id");
        assert!(id.ends_with('Z') && id.len() == 20, "{id}");
        assert_eq!(v.get("rfc3339"), v.get("id"));
    }

    #[tokio::test(start_paused = true)]
    async fn time_sleep_waits_at_create_and_destroy_within_the_timeout() {
        let start = tokio::time::Instant::now();
        let v = create(
            "time_sleep",
            &args(&[
                ("create_duration", Value::from("90s")),
                ("destroy_duration", Value::from("1m")),
            ]),
            HOUR,
        )
        .await
        .expect("creates");
        assert_eq!(start.elapsed(), Duration::from_secs(90));
        assert!(v.get("id").and_then(Value::as_str).is_some());
        // Changing a duration updates in place, waiting nothing.
        let u = update(
            "time_sleep",
            &v,
            &args(&[
                ("create_duration", Value::from("2m")),
                ("destroy_duration", Value::from("1m")),
            ]),
        )
        .expect("updates");
        assert_eq!(u.get("id"), v.get("id"));
        let start = tokio::time::Instant::now();
        delete("time_sleep", &u, HOUR).await.expect("deletes");
        assert_eq!(start.elapsed(), Duration::from_secs(60));
        // A wait longer than the timeout is refused before waiting.
        let e = create(
            "time_sleep",
            &args(&[("create_duration", Value::from("2h"))]),
            HOUR,
        )
        .await
        .expect_err("too long");
        assert!(e.contains("longer than the create timeout"), "{e}");
        let e = create("time_sleep", &args(&[]), HOUR)
            .await
            .expect_err("nothing to wait");
        assert!(e.contains("at least one"), "{e}");
        let e = create(
            "time_sleep",
            &args(&[("create_duration", Value::from("30"))]),
            HOUR,
        )
        .await
        .expect_err("no unit");
        assert!(e.starts_with("create_duration: "), "{e}");
    }

    #[tokio::test]
    async fn time_rotating_computes_its_rotation_and_expires() {
        let v = create(
            "time_rotating",
            &args(&[
                ("rfc3339", Value::from("2020-01-31T00:00:00Z")),
                ("rotation_months", Value::from(1)),
            ]),
            HOUR,
        )
        .await
        .expect("creates");
        assert_eq!(
            v.get("rotation_rfc3339"),
            Some(&Value::from("2020-03-02T00:00:00Z"))
        );
        assert_eq!((num(&v, "month"), num(&v, "day")), (3, 2));
        assert_eq!(v.get("id"), Some(&Value::from("2020-01-31T00:00:00Z")));
        // Long past: refresh says it is gone, so the plan makes a new one.
        assert!(!still_exists("time_rotating", &v));
        assert!(still_exists("time_static", &v));
        // A changed rotation is an update from the same base.
        let u = update(
            "time_rotating",
            &v,
            &args(&[("rfc3339", Value::Null), ("rotation_days", Value::from(10))]),
        )
        .expect("updates");
        assert_eq!(
            u.get("rotation_rfc3339"),
            Some(&Value::from("2020-02-10T00:00:00Z"))
        );
        assert_eq!(u.get("rfc3339"), v.get("rfc3339"));
        let fresh = create(
            "time_rotating",
            &args(&[("rotation_years", Value::from(5))]),
            HOUR,
        )
        .await
        .expect("creates");
        assert!(still_exists("time_rotating", &fresh));
        let e = create("time_rotating", &args(&[]), HOUR)
            .await
            .expect_err("no rotation");
        assert!(e.contains("at least one of rotation_minutes"), "{e}");
        let e = create(
            "time_rotating",
            &args(&[("rotation_days", Value::from(0))]),
            HOUR,
        )
        .await
        .expect_err("zero");
        assert!(e.contains("rotation_days"), "{e}");
    }
}
