//! The apply journal as the CLI writes and shows it: one entry per apply
//! or destroy (`stackd log`, newest first).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Duration;

use anyhow::Result;
use stackd_engine::apply::ApplyOutcome;
use stackd_engine::plan::{Action, Plan};
use stackd_engine::planfile::action_name;
use stackd_engine::state::journal::JOURNAL_FORMAT_VERSION;
use stackd_engine::state::{rfc3339_now, JournalEntry, JournalResource, LockInfo};
use stackd_spec::Address;

use crate::out::out;
use crate::LogArgs;

/// What the journal says about a run besides its per-resource outcomes.
pub struct Run<'a> {
    pub operation: &'a str,
    pub stack: &'a str,
    pub started_at: String,
    pub duration: Duration,
    /// The lock holder: who, where, and the cloud identity.
    pub holder: &'a LockInfo,
    pub plan_digest: &'a str,
    pub serial: u64,
}

/// The journal entry for a run; `outcome` is `None` when apply stopped
/// because state could not be saved.
pub fn entry(run: Run<'_>, plan: &Plan, outcome: Option<&ApplyOutcome>) -> JournalEntry {
    let mut failed: BTreeMap<&Address, String> = BTreeMap::new();
    let mut skipped: BTreeMap<&Address, String> = BTreeMap::new();
    let mut done: BTreeMap<&Address, ()> = BTreeMap::new();
    if let Some(o) = outcome {
        for (a, op, e) in &o.failed {
            failed.insert(a, format!("{op}: {e}"));
        }
        for (a, why) in &o.skipped {
            skipped.insert(a, why.clone());
        }
        for (a, _) in &o.done {
            done.insert(a, ());
        }
    }
    let resources = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::NoOp)
        .map(|e| {
            let (result, error) = if let Some(err) = failed.get(&e.address) {
                ("failed", Some(err.clone()))
            } else if let Some(why) = skipped.get(&e.address) {
                ("skipped", Some(why.clone()))
            } else if done.contains_key(&e.address) {
                ("done", None)
            } else if outcome.is_some() {
                ("unchanged", None)
            } else {
                ("unknown", None)
            };
            JournalResource {
                address: e.address.to_string(),
                action: action_name(e.action).to_string(),
                outcome: result.to_string(),
                error,
            }
        })
        .collect();
    let result = match outcome {
        Some(o) if o.is_success() => "succeeded",
        Some(o) if o.interrupted => "interrupted",
        _ => "failed",
    };
    JournalEntry {
        format_version: JOURNAL_FORMAT_VERSION,
        // The lock ID is unique to this run and ties the entry to its lock.
        id: run.holder.id.clone(),
        operation: run.operation.to_string(),
        stack: run.stack.to_string(),
        started_at: run.started_at,
        finished_at: rfc3339_now(),
        duration_ms: u64::try_from(run.duration.as_millis()).unwrap_or(u64::MAX),
        caller_arn: run
            .holder
            .identity
            .clone()
            .unwrap_or_else(|| "unknown".to_string()),
        user: run.holder.who.clone(),
        host: run.holder.host.clone(),
        plan_digest: run.plan_digest.to_string(),
        outcome: result.to_string(),
        serial: run.serial,
        resources,
    }
}

/// `stackd log`.
pub async fn log(args: &LogArgs) -> Result<u8> {
    let backend = crate::backend::open_for_dir(&args.common).await?;
    let mut entries = backend.read_journal().await?;
    entries.reverse();
    if let Some(limit) = args.limit {
        entries.truncate(limit);
    }
    if args.json {
        for e in &entries {
            out!("{}", e.to_line()?);
        }
    } else {
        out!("{}", table(&entries, &backend.describe()));
    }
    Ok(crate::exit::OK)
}

/// The journal as a table, newest first.
pub fn table(entries: &[JournalEntry], place: &str) -> String {
    if entries.is_empty() {
        return format!("No applies or destroys are recorded for the state at {place}.\n");
    }
    let rows: Vec<[String; 7]> = entries
        .iter()
        .map(|e| {
            let count = |o: &str| e.resources.iter().filter(|r| r.outcome == o).count();
            [
                e.finished_at.clone(),
                e.operation.clone(),
                e.outcome.clone(),
                format!(
                    "{} done, {} failed, {} skipped",
                    count("done"),
                    count("failed"),
                    count("skipped")
                ),
                format!("{:.1}s", e.duration_ms as f64 / 1000.0),
                e.caller_arn.clone(),
                e.plan_digest
                    .strip_prefix("sha256:")
                    .unwrap_or(&e.plan_digest)
                    .chars()
                    .take(12)
                    .collect(),
            ]
        })
        .collect();
    let header = [
        "FINISHED",
        "OPERATION",
        "OUTCOME",
        "CHANGES",
        "TOOK",
        "WHO",
        "PLAN",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    let line = |cells: Vec<&str>, out: &mut String| {
        let mut l = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == cells.len() {
                l.push_str(c);
            } else {
                let _ = write!(l, "{c:<w$}  ");
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec(), &mut out);
    for r in &rows {
        line(r.iter().map(String::as_str).collect(), &mut out);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_shows_who_did_what_newest_first_as_given() {
        let e = |id: &str, when: &str, op: &str| JournalEntry {
            format_version: 1,
            id: id.into(),
            operation: op.into(),
            stack: "s".into(),
            started_at: when.into(),
            finished_at: when.into(),
            duration_ms: 1500,
            caller_arn: "arn:aws:iam::000000000000:root".into(),
            user: "u".into(),
            host: "h".into(),
            plan_digest: "sha256:0123456789abcdef".into(),
            outcome: "succeeded".into(),
            serial: 2,
            resources: vec![JournalResource {
                address: "aws_vpc.main".into(),
                action: "create".into(),
                outcome: "done".into(),
                error: None,
            }],
        };
        let text = table(
            &[
                e("b", "2026-01-02T00:00:00Z", "destroy"),
                e("a", "2026-01-01T00:00:00Z", "apply"),
            ],
            "x",
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("FINISHED"), "{text}");
        assert!(
            lines[1].contains("destroy") && lines[2].contains("apply"),
            "{text}"
        );
        assert!(
            lines[1].contains("arn:aws:iam::000000000000:root"),
            "{text}"
        );
        assert!(
            lines[1].contains("1 done, 0 failed") && lines[1].contains("1.5s"),
            "{text}"
        );
        assert!(lines[1].ends_with("0123456789ab"), "{text}");
        assert!(table(&[], "x").starts_with("No applies"));
    }
}
