//! Stack state: what stackd has created, how it is written to disk, and the
//! backends that store it under a lock.
//!
//! The engine works on [`State`]; backends ([`StateBackend`]: [`LocalBackend`]
//! here, the S3 backend in `stackd-aws`) load and save it. On disk and in S3
//! state is the versioned JSON document described in [`file`](mod@file): the model is converted
//! explicitly to and from [`StateFileV1`], so the model can change without
//! changing the format by accident.

pub mod file;
pub mod journal;
mod local;
pub mod outputs;
pub mod terraform;
pub mod wal;

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use stackd_spec::{Address, Value};

pub use file::{decode, encode, StateFileV1, FORMAT_VERSION};
pub use journal::{JournalEntry, JournalResource};
pub use local::LocalBackend;
pub use outputs::{read_root_outputs, RootOutputs, StateFormat};

/// The default name of the local state file.
pub const STATE_FILE_NAME: &str = "stackd.state.json";

/// Everything stackd knows about one stack's resources.
#[derive(Clone, Debug, PartialEq)]
pub struct State {
    /// A UUID (v4) fixed for the life of a stack's state; two states with
    /// different lineages are different stacks' states.
    pub lineage: String,
    /// Incremented by every save ([`StateBackend::save`] does it).
    pub serial: u64,
    /// The stack name (as carried in the ownership tag).
    pub stack: String,
    /// Resource instances, managed and data, by address.
    pub resources: BTreeMap<Address, ResourceState>,
    /// Root module outputs by name.
    pub outputs: BTreeMap<String, OutputState>,
    /// Creates that were started but not yet recorded: written BEFORE the
    /// provider's create call so that a crash leaves a trace; the token is
    /// reused by the next run's create of the same address (idempotency
    /// token).
    pub pending: BTreeMap<Address, PendingCreate>,
    /// Objects the stack let go of (`stackd state rm`, `removed` blocks
    /// with `destroy = false`): they keep the stack's tags in the cloud, so
    /// refresh must know not to take them for leftovers to delete.
    pub released: Vec<Released>,
}

/// An object no longer managed by the stack, left in the cloud.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Released {
    /// Where it was recorded.
    pub address: Address,
    pub type_name: String,
    pub id: String,
}

/// One resource instance as last recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceState {
    /// The cloud's ID of the object.
    pub id: String,
    /// Attributes in schema shape, including `id`. Always wholly known
    /// ([`Value::Unknown`] would be written as `null`).
    pub attrs: Value,
    /// What this instance depended on when it was last applied; destroys
    /// run in reverse of these even after the spec no longer mentions them.
    /// Recorded as resource blocks (no instance key, as Terraform records
    /// them: see [`block_dependencies`]); states written before name
    /// instances, which [`ResourceState::depends_on`] reads as well.
    pub dependencies: Vec<Address>,
    /// Whether a replacement creates the new object before destroying this.
    pub create_before_destroy: bool,
    /// A creation-time provisioner failed: the object exists but is not
    /// trusted, and the next plan replaces it (Terraform's "tainted").
    pub tainted: bool,
}

/// One output value as last recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputState {
    pub value: Value,
    /// Hidden in plan and apply output (still stored in clear in state).
    pub sensitive: bool,
}

/// A create that was started but whose result is not yet recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingCreate {
    /// The idempotency token passed to the provider's create.
    pub token: String,
    /// When the create was first started, RFC 3339 UTC.
    pub started_at: String,
    /// The arguments it was sent with (the latest attempt's): what the
    /// next run needs to recognise the object as this stack's when the
    /// create is not tagged in the same call (a bucket's name).
    pub arguments: Value,
}

impl State {
    /// An empty state for `stack`, with a fresh lineage and serial 0.
    pub fn new(stack: &str) -> State {
        State {
            lineage: uuid::Uuid::new_v4().to_string(),
            serial: 0,
            stack: stack.to_string(),
            resources: BTreeMap::new(),
            outputs: BTreeMap::new(),
            pending: BTreeMap::new(),
            released: Vec::new(),
        }
    }

    /// Lets go of the instance at `address`: it leaves the state and its
    /// object is remembered as released (left alone by every later plan).
    pub fn release(&mut self, address: &Address) -> Option<ResourceState> {
        let r = self.forget(address)?;
        if address.block.mode == stackd_spec::Mode::Managed {
            self.released.push(Released {
                address: address.clone(),
                type_name: address.block.type_name.clone(),
                id: r.id.clone(),
            });
        }
        Some(r)
    }

    /// True when the object `id` was released. Compared by ID alone: a
    /// type may be recorded by an alias (`aws_alb`) and refreshed by its
    /// canonical name.
    pub fn is_released(&self, id: &str) -> bool {
        self.released.iter().any(|r| r.id == id)
    }

    /// True when nothing is recorded: no resources, outputs or pending creates.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty() && self.outputs.is_empty() && self.pending.is_empty()
    }

    /// The recorded instance at `address`.
    pub fn resource(&self, address: &Address) -> Option<&ResourceState> {
        self.resources.get(address)
    }

    /// Marks a create of `address` with `arguments` as started and returns
    /// its pending entry: the existing one when an earlier run crashed
    /// mid-create (so its idempotency token and start time are reused),
    /// else a new one. Save the state before calling the provider.
    pub fn begin_create(&mut self, address: &Address, arguments: &Value) -> &PendingCreate {
        let entry = self.pending.entry(address.clone()).or_default();
        entry.arguments = arguments.clone();
        entry
    }

    /// Records an instance (after a create, update or refresh) and clears any
    /// pending create of it. Returns what was recorded before.
    pub fn record(&mut self, address: Address, resource: ResourceState) -> Option<ResourceState> {
        self.pending.remove(&address);
        self.resources.insert(address, resource)
    }

    /// Forgets an instance (after a delete, or when it is found gone) and any
    /// pending create of it. Returns what was recorded.
    pub fn forget(&mut self, address: &Address) -> Option<ResourceState> {
        self.pending.remove(address);
        self.resources.remove(address)
    }
}

impl ResourceState {
    /// An instance with no recorded dependencies and `create_before_destroy`
    /// off.
    pub fn new(id: impl Into<String>, attrs: Value) -> ResourceState {
        ResourceState {
            id: id.into(),
            attrs,
            dependencies: Vec::new(),
            create_before_destroy: false,
            tainted: false,
        }
    }

    /// True when the instance at `address` is among what this one depended
    /// on: its block, or (in older states) the instance itself.
    pub fn depends_on(&self, address: &Address) -> bool {
        depends_on(&self.dependencies, address)
    }
}

/// True when recorded dependencies `deps` hold the instance at `address`:
/// its block, or (in older states) the instance itself.
pub fn depends_on(deps: &[Address], address: &Address) -> bool {
    deps.iter()
        .any(|d| d.block == address.block && (d.key.is_none() || d.key == address.key))
}

/// Dependencies as state records them: the blocks of the instances, each
/// once, in order. An instance of a `count` block using its own instance of
/// another (`g[count.index]`) depends, as far as the block graph can tell,
/// on every instance of it: recorded by instance, the state would grow with
/// the square of the stack.
pub fn block_dependencies<'a>(deps: impl IntoIterator<Item = &'a Address>) -> Vec<Address> {
    let blocks: std::collections::BTreeSet<&stackd_spec::BlockAddress> =
        deps.into_iter().map(|d| &d.block).collect();
    blocks
        .into_iter()
        .map(|b| Address {
            block: b.clone(),
            key: None,
        })
        .collect()
}

impl PendingCreate {
    /// A new pending create: a fresh UUID token, started now.
    pub fn new() -> PendingCreate {
        PendingCreate {
            token: uuid::Uuid::new_v4().to_string(),
            started_at: rfc3339_now(),
            arguments: Value::Null,
        }
    }
}

impl Default for PendingCreate {
    fn default() -> Self {
        PendingCreate::new()
    }
}

/// Stores one stack's state and serializes runs with a lock.
///
/// The expected sequence is `lock`, `load`, any number of `save`s, then drop
/// the lock guard. Backends are object-safe (`Box<dyn StateBackend>`).
#[async_trait]
pub trait StateBackend: Send + Sync {
    /// Where the state lives, for messages (a file path or an S3 URL).
    fn describe(&self) -> String;

    /// Reads the state; `Ok(None)` when none has been saved yet.
    async fn load(&self) -> Result<Option<State>, StateError>;

    /// Writes `state` as serial `state.serial + 1` and, once the new state is
    /// in place, sets `state.serial` to that: callers never bump the serial.
    /// On error `state.serial` is unchanged unless the new state did get
    /// written (then it is bumped, so a retry cannot look stale).
    ///
    /// Refuses ([`StateError::Conflict`]) to replace a stored state of
    /// another lineage, or one with a higher serial than `state.serial`
    /// (saved by someone else since `state` was loaded).
    async fn save(&self, state: &mut State) -> Result<(), StateError>;

    /// Makes durable what `state` now records for `address` (its instance
    /// and its pending create) and bumps `state.serial`; the rest of the
    /// state must be as last saved. An apply calls it after each change of
    /// one instance, then [`StateBackend::save`] once at the end. The local
    /// backend appends one record to the state's log ([`wal`]), which the
    /// next load replays and the next full save empties, so an apply writes
    /// O(N) bytes, not N states. By default, a full save.
    async fn save_change(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        let _ = address;
        self.save(state).await
    }

    /// Takes the lock as `holder` (see [`LockInfo::new`]), failing at once
    /// with [`StateError::Locked`] when someone else holds it. The lock is
    /// held until [`StateLock::release`] (or, as a fallback, until the guard
    /// is dropped).
    async fn lock(&self, holder: LockInfo) -> Result<Box<dyn StateLock>, StateError>;

    /// Removes a lock whose holder no longer runs, returning the holder
    /// that was removed; `Ok(None)` when there was no lock. Refuses with
    /// [`StateError::Locked`] when the backend can tell that the holder
    /// still runs (the local backend: its `flock` is still held); backends
    /// that cannot tell remove the lock.
    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError>;

    /// Removes the lock even when its holder still runs (`stackd
    /// force-unlock --force`); that holder and the next run may then both
    /// write the state. By default the same as [`StateBackend::force_unlock`].
    async fn break_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.force_unlock().await
    }

    /// Appends one entry to the journal kept beside the state. Call it while
    /// holding the lock.
    async fn append_journal(&self, entry: &JournalEntry) -> Result<(), StateError>;

    /// Every journal entry, oldest first; empty when there is no journal.
    async fn read_journal(&self) -> Result<Vec<JournalEntry>, StateError>;
}

/// A held state lock.
#[async_trait]
pub trait StateLock: Send + Sync {
    /// Who holds the lock (this process).
    fn info(&self) -> &LockInfo;

    /// Releases the lock. Backends whose release is a network call do it
    /// here; dropping an unreleased guard releases it on a best-effort basis
    /// only.
    async fn release(self: Box<Self>) -> Result<(), StateError>;
}

/// Who holds a state lock, as written into the lock.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockInfo {
    /// A UUID unique to this lock acquisition.
    pub id: String,
    pub pid: u32,
    pub host: String,
    /// What the holder is doing, e.g. `apply`.
    pub operation: String,
    /// When the lock was taken, RFC 3339 UTC.
    pub created_at: String,
    /// The user name from `$USER`, or `unknown`.
    pub who: String,
    /// The cloud identity running stackd (an STS caller ARN), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

impl LockInfo {
    /// Lock info for this process, taken now.
    pub fn new(operation: &str) -> LockInfo {
        LockInfo {
            identity: None,
            id: uuid::Uuid::new_v4().to_string(),
            pid: std::process::id(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            operation: operation.to_string(),
            created_at: rfc3339_now(),
            who: std::env::var("USER")
                .ok()
                .filter(|u| !u.is_empty())
                .unwrap_or_else(|| "unknown".to_string()),
        }
    }

    /// Stands for a holder whose lock carries no readable info (it was
    /// being written, or was damaged).
    pub fn unknown() -> LockInfo {
        let unknown = || "unknown".to_string();
        LockInfo {
            id: unknown(),
            pid: 0,
            host: unknown(),
            operation: unknown(),
            created_at: unknown(),
            who: unknown(),
            identity: None,
        }
    }

    /// The same, naming the cloud identity that holds it.
    pub fn with_identity(mut self, identity: Option<String>) -> LockInfo {
        self.identity = identity;
        self
    }
}

impl fmt::Display for LockInfo {
    /// `alice@build-1 (pid 4242) for apply since 2024-05-01T12:00:00Z, lock ID …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{} (pid {})", self.who, self.host, self.pid)?;
        if let Some(identity) = &self.identity {
            write!(f, " as {identity}")?;
        }
        write!(
            f,
            " for {} since {}, lock ID {}",
            self.operation, self.created_at, self.id
        )
    }
}

/// Why state could not be loaded, saved, locked or unlocked.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// A file system operation on a state, backup or lock file failed.
    #[error("cannot {action} {}", path.display())]
    Io {
        /// What was being done, e.g. `read state file`.
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The state file is not JSON, or not shaped like a state file.
    #[error(
        "state file {} is malformed at line {line}, column {column}",
        path.display()
    )]
    Malformed {
        path: PathBuf,
        line: usize,
        column: usize,
        #[source]
        source: serde_json::Error,
    },
    /// The state file has a format version this stackd does not know.
    #[error(
        "state file {} has format_version {found}: it was written by a newer stackd \
         (this is stackd {}, which reads format_version {supported}); upgrade stackd",
        path.display(),
        env!("CARGO_PKG_VERSION")
    )]
    TooNew {
        path: PathBuf,
        found: u64,
        supported: u32,
    },
    /// The state file is well-formed JSON but its content is inconsistent
    /// (an unparseable or duplicated address, an unsupported version).
    #[error("state file {} is invalid: {reason}", path.display())]
    Invalid { path: PathBuf, reason: String },
    /// Another process holds the state lock.
    #[error(
        "state is locked: {} is held by {holder}; if that process is no longer running, \
         `stackd force-unlock` clears a stale lock",
        path.display()
    )]
    Locked {
        /// Boxed to keep `StateError` small.
        holder: Box<LockInfo>,
        /// The lock file (or object).
        path: PathBuf,
    },
    /// Saving would overwrite a different or newer state.
    #[error("refusing to overwrite state file {}: {reason}", path.display())]
    Conflict { path: PathBuf, reason: String },
    /// A remote store (S3) refused or failed a request.
    #[error("cannot {action} {url}: {message}")]
    Remote {
        /// What was being done, e.g. `read state`.
        action: &'static str,
        /// The object, e.g. `s3://bucket/key`.
        url: String,
        message: String,
    },
    /// The serial is at its largest value: no save can follow it.
    #[error(
        "cannot save state to {}: its serial is {}, the largest there is, so no newer state \
         can follow it. Only an edited state gets there: lower `serial` where the state is \
         stored (keeping its lineage), then run again",
        path.display(),
        u64::MAX
    )]
    SerialExhausted { path: PathBuf },
    /// The state could not be serialized.
    #[error("cannot encode state for {}", path.display())]
    Encode {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl StateError {
    pub(crate) fn io(action: &'static str, path: &Path, source: std::io::Error) -> StateError {
        StateError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The serial a save of a state at `serial` writes: one more, or
/// [`StateError::SerialExhausted`] at the largest serial. Backends bump
/// serials only through this.
pub fn next_serial(serial: u64, place: &Path) -> Result<u64, StateError> {
    serial
        .checked_add(1)
        .ok_or_else(|| StateError::SerialExhausted {
            path: place.to_path_buf(),
        })
}

/// Refuses to replace `stored` with `state` when it is another lineage's
/// state or has a newer serial (saved by someone else since `state` was
/// loaded). `place` names where `stored` lives, for the message.
pub fn check_replaceable(stored: &State, state: &State, place: &Path) -> Result<(), StateError> {
    let conflict = |reason: String| StateError::Conflict {
        path: place.to_path_buf(),
        reason,
    };
    if stored.lineage != state.lineage {
        return Err(conflict(format!(
            "it holds state lineage {} of stack {:?}, not lineage {} of stack {:?}",
            stored.lineage, stored.stack, state.lineage, state.stack
        )));
    }
    if stored.serial > state.serial {
        return Err(conflict(format!(
            "it has serial {}, newer than serial {} of the state being saved; \
             another run saved it since this state was loaded",
            stored.serial, state.serial
        )));
    }
    Ok(())
}

/// The current time as RFC 3339 UTC with seconds, e.g.
/// `2024-05-01T12:00:00Z`.
pub fn rfc3339_now() -> String {
    let secs = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    };
    format_rfc3339(secs)
}

/// Formats seconds since the Unix epoch as RFC 3339 UTC.
fn format_rfc3339(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian (year, month, day), after
/// Howard Hinnant's `civil_from_days`.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
