//! The state's write-ahead log: what an apply records between two full
//! saves, one JSON line per change, appended and fsynced beside the state
//! file (`<state>.wal`).
//!
//! A full save writes the whole state and empties the log; between two, each
//! change of one instance (a pending create recorded before its create call,
//! the object recorded after it, an instance forgotten after its delete) is
//! one [`WalRecord`]: the instance and its pending create *as they now are*
//! (absent: no longer there), stamped with the state's lineage and the
//! serial the change gives the state. So an apply of N instances writes
//! O(N) bytes of log instead of N whole states.
//!
//! Loading replays the log onto the state file: records whose serial the
//! file already has are skipped (a full save that crashed before emptying
//! the log), the others must follow on one by one (serial + 1 each);
//! another lineage or a gap is an error, never a guess. A last line without
//! its newline is a write a crash cut short: the change it carried had not
//! been acknowledged (the call after it never ran), so it is dropped.
//!
//! Record format (`format_version` 1), one per line:
//!
//! ```json
//! {"format_version":1,"lineage":"…","serial":8,"address":"aws_vpc.main",
//!  "resource":{…a state file resource entry…},"pending":null}
//! ```

use std::path::Path;

use serde::{Deserialize, Serialize};
use stackd_spec::Address;

use super::file::{PendingV1, ResourceV1};
use super::{State, StateError};

/// The log record format this stackd writes and reads.
pub const WAL_FORMAT_VERSION: u32 = 1;

/// One change of one instance.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WalRecord {
    pub format_version: u32,
    /// The lineage of the state the record belongs to.
    pub lineage: String,
    /// The state's serial once this change is made.
    pub serial: u64,
    /// The instance changed.
    pub address: String,
    /// The instance as recorded now; `None` when it is not recorded.
    pub resource: Option<ResourceV1>,
    /// Its pending create; `None` when there is none.
    pub pending: Option<PendingV1>,
}

impl WalRecord {
    /// The record of what `state` now holds for `address`, at `serial`.
    pub fn of(state: &State, address: &Address, serial: u64) -> WalRecord {
        WalRecord {
            format_version: WAL_FORMAT_VERSION,
            lineage: state.lineage.clone(),
            serial,
            address: address.to_string(),
            resource: state
                .resources
                .get(address)
                .map(|r| ResourceV1::from_entry(address, r)),
            pending: state
                .pending
                .get(address)
                .map(|p| PendingV1::from_entry(address, p)),
        }
    }

    /// The record as one JSON line, newline included.
    pub fn to_line(&self, place: &Path) -> Result<Vec<u8>, StateError> {
        let mut line = serde_json::to_vec(self).map_err(|source| StateError::Encode {
            path: place.to_path_buf(),
            source,
        })?;
        line.push(b'\n');
        Ok(line)
    }

    /// Makes the change on `state`.
    fn apply_to(self, state: &mut State) -> Result<(), String> {
        let address = self
            .address
            .parse::<Address>()
            .map_err(|e| format!("address {:?}: {e}", self.address))?;
        match self.resource {
            Some(r) => {
                let (at, resource) = r.into_entry()?;
                if at != address {
                    return Err(format!("a record of {address} holds {at}"));
                }
                state.resources.insert(address.clone(), resource);
            }
            None => {
                state.resources.remove(&address);
            }
        }
        match self.pending {
            Some(p) => {
                let (at, pending) = p.into_entry()?;
                if at != address {
                    return Err(format!("a record of {address} holds a pending {at}"));
                }
                state.pending.insert(address, pending);
            }
            None => {
                state.pending.remove(&address);
            }
        }
        state.serial = self.serial;
        Ok(())
    }
}

/// Replays the log `bytes` (read from `place`) onto `state`, as loaded
/// from the state file. Answers how many records were applied.
pub fn replay(state: &mut State, bytes: &[u8], place: &Path) -> Result<usize, StateError> {
    let invalid = |line: usize, reason: String| StateError::Invalid {
        path: place.to_path_buf(),
        reason: format!("line {line}: {reason}"),
    };
    // Only whole lines: a last line without its newline was cut short.
    let whole = match bytes.iter().rposition(|b| *b == b'\n') {
        Some(end) => &bytes[..=end],
        None => &[][..],
    };
    let mut applied = 0;
    for (n, line) in whole.split(|b| *b == b'\n').enumerate() {
        let line_no = n + 1;
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let record: WalRecord =
            serde_json::from_slice(line).map_err(|e| invalid(line_no, e.to_string()))?;
        if record.format_version != WAL_FORMAT_VERSION {
            return Err(invalid(
                line_no,
                format!(
                    "format_version {} (this stackd reads {WAL_FORMAT_VERSION})",
                    record.format_version
                ),
            ));
        }
        if record.lineage != state.lineage {
            return Err(invalid(
                line_no,
                format!(
                    "a change of state lineage {}, not of this state's {}",
                    record.lineage, state.lineage
                ),
            ));
        }
        if record.serial <= state.serial {
            // Already in the state file (its full save crashed before the
            // log was emptied).
            continue;
        }
        if record.serial != state.serial + 1 {
            return Err(invalid(
                line_no,
                format!(
                    "serial {} does not follow serial {}: changes are missing",
                    record.serial, state.serial
                ),
            ));
        }
        record
            .apply_to(state)
            .map_err(|why| invalid(line_no, why))?;
        applied += 1;
    }
    Ok(applied)
}
