//! The apply journal: one JSON line per `apply` and `destroy`, kept beside
//! the state (`<state>.journal.jsonl` locally, `<key>.journal.jsonl` in S3),
//! saying who changed what, when, from which plan, and how it went.
//!
//! The journal is append-only and is its own wire format: a line is a
//! [`JournalEntry`] with `format_version` 1. Readers skip nothing silently:
//! a line that does not parse is an error naming its line number.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::StateError;

/// The journal line format this stackd writes and reads.
pub const JOURNAL_FORMAT_VERSION: u32 = 1;

/// One apply or destroy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub format_version: u32,
    /// A UUID for this run (the ID of the lock it held).
    pub id: String,
    /// `apply` or `destroy`.
    pub operation: String,
    pub stack: String,
    /// When the run started and finished, RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: String,
    pub duration_ms: u64,
    /// The cloud identity that ran it (STS caller ARN), or `unknown`.
    pub caller_arn: String,
    /// The local user and host, as in a lock.
    pub user: String,
    pub host: String,
    /// The digest of the plan applied (the `plan_digest` of the JSON plan).
    pub plan_digest: String,
    /// `succeeded`, `failed` or `interrupted`.
    pub outcome: String,
    /// The state serial after the run.
    pub serial: u64,
    /// Each operation: what was planned and how it ended.
    pub resources: Vec<JournalResource>,
}

/// One resource instance's part in a run.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JournalResource {
    pub address: String,
    /// The planned action: `create`, `update`, `replace`, `delete`, `read`.
    pub action: String,
    /// `done`, `failed`, `skipped` (a dependency failed, or the run was
    /// interrupted), `unchanged` (the step found nothing to do) or `unknown`
    /// (apply stopped because state could not be saved).
    pub outcome: String,
    /// Why it failed or was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl JournalEntry {
    /// The entry as one JSON line, newline included.
    pub fn to_line(&self) -> Result<String, serde_json::Error> {
        let mut line = serde_json::to_string(self)?;
        line.push('\n');
        Ok(line)
    }

    /// Parses a journal's bytes (JSON lines; blank lines ignored). `place`
    /// names the journal in errors.
    pub fn parse_lines(bytes: &[u8], place: &Path) -> Result<Vec<JournalEntry>, StateError> {
        let text = String::from_utf8_lossy(bytes);
        let mut out = Vec::new();
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: JournalEntry =
                serde_json::from_str(line).map_err(|source| StateError::Malformed {
                    path: place.to_path_buf(),
                    line: n + 1,
                    column: source.column(),
                    source,
                })?;
            if entry.format_version > JOURNAL_FORMAT_VERSION {
                return Err(StateError::Invalid {
                    path: place.to_path_buf(),
                    reason: format!(
                        "journal line {} has format_version {}; this stackd reads {}; upgrade stackd",
                        n + 1,
                        entry.format_version,
                        JOURNAL_FORMAT_VERSION
                    ),
                });
            }
            out.push(entry);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(id: &str) -> JournalEntry {
        JournalEntry {
            format_version: JOURNAL_FORMAT_VERSION,
            id: id.into(),
            operation: "apply".into(),
            stack: "web".into(),
            started_at: "2026-01-01T00:00:00Z".into(),
            finished_at: "2026-01-01T00:00:05Z".into(),
            duration_ms: 5000,
            caller_arn: "arn:aws:iam::123456789012:user/ci".into(),
            user: "ci".into(),
            host: "runner-1".into(),
            plan_digest: "sha256:ab".into(),
            outcome: "succeeded".into(),
            serial: 3,
            resources: vec![JournalResource {
                address: "aws_vpc.main".into(),
                action: "create".into(),
                outcome: "done".into(),
                error: None,
            }],
        }
    }

    #[test]
    fn lines_round_trip() {
        let text = format!(
            "{}\n{}",
            entry("a").to_line().unwrap(),
            entry("b").to_line().unwrap()
        );
        let parsed = JournalEntry::parse_lines(text.as_bytes(), Path::new("j")).unwrap();
        assert_eq!(parsed, vec![entry("a"), entry("b")]);
    }

    #[test]
    fn a_damaged_line_is_an_error_naming_it() {
        let text = format!("{}{{not json\n", entry("a").to_line().unwrap());
        let err = JournalEntry::parse_lines(text.as_bytes(), Path::new("j")).unwrap_err();
        assert!(
            matches!(err, StateError::Malformed { line: 2, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn a_newer_format_is_refused() {
        let mut e = entry("a");
        e.format_version = 99;
        let text = e.to_line().unwrap();
        let err = JournalEntry::parse_lines(text.as_bytes(), Path::new("j")).unwrap_err();
        assert!(err.to_string().contains("upgrade stackd"), "{err}");
    }
}
