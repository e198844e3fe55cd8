//! The S3 state backend: the state, its lock and its journal as three
//! objects in one bucket, made safe for concurrent runners with S3
//! conditional writes alone (no DynamoDB table).
//!
//! - `<key>`: the state document ([`stackd_engine::state::StateFileV1`]).
//!   Every save is a `PutObject` with `If-Match: <ETag read>` (or
//!   `If-None-Match: *` when there was none), so a writer that lost its lock
//!   (it was force-unlocked, or paused past someone else's run) can never
//!   overwrite newer state: S3 answers 412 and nothing is written.
//! - `<key>.lock`: created with `If-None-Match: *`; it holds the holder's
//!   [`LockInfo`] (caller identity, host, pid, operation, time). A second
//!   runner's create fails with 412; it reads the object and fails at once
//!   naming the holder. Release deletes it if it is still ours.
//! - `<key>.journal.jsonl`: the apply journal, appended by read, append and
//!   conditional write (under the lock, retried on a lost race).
//!
//! - `<key>.changes/<serial>.json`: the state's change log, one object per
//!   change written between two full saves (a [`wal::WalRecord`], as the
//!   local backend appends to its `.wal`), created with `If-None-Match: *`.
//!   `load` replays them onto the state object; a full save removes them.
//!
//! An apply's changes are written as they happen, but not all the same
//! way. A pending create (recorded before its create call) must be in S3
//! before the call: it is one small change object, not the whole state.
//! Any other change (a create's result, an update, a delete, an adoption)
//! waits for the next full write of the state, made once [`DEFER_FOR`] has
//! passed since the last one, and at the apply's end. A run killed in
//! between loses only such deferred changes, and the next run recovers
//! each: the pending create's token finds the object it made
//! (`find_created`), and refresh reads what an update or delete did. So an
//! apply of N resources writes N small objects and the whole state about
//! once per [`DEFER_FOR`], not 2N whole states.
//!
//! Versioning on the bucket is recommended (it keeps every previous state);
//! stackd does not require it.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use stackd_engine::state::wal::{self, WalRecord};
use stackd_engine::state::{
    check_replaceable, decode, next_serial, JournalEntry, LockInfo, State, StateBackend,
    StateError, StateFileV1, StateLock,
};
use stackd_spec::Address;
use tokio::sync::Mutex;

use crate::AwsSettings;

/// How long a change that the next run can recover (see the module's
/// header) may wait for the next write of the state.
pub const DEFER_FOR: Duration = Duration::from_secs(5);

/// Change objects kept at most between two full writes: past this many, a
/// pending create is written with the whole state (a load after a crash
/// reads every change object).
const MAX_CHANGES: usize = 500;

/// Where a state lives in S3.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Location {
    pub bucket: String,
    pub key: String,
}

impl S3Location {
    /// Parses `s3://bucket/key/with/slashes`.
    pub fn parse(url: &str) -> Result<S3Location, String> {
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| format!("{url:?} is not an S3 URL: expected s3://bucket/key"))?;
        let (bucket, key) = rest
            .split_once('/')
            .ok_or_else(|| format!("{url:?} names no key: expected s3://bucket/key"))?;
        if bucket.is_empty() || key.is_empty() || key.ends_with('/') {
            return Err(format!(
                "{url:?} needs a bucket and an object key: expected s3://bucket/key"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    pub fn url(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.key)
    }

    /// Another object in the same bucket, as a path for error messages.
    fn object_url(&self, key: &str) -> PathBuf {
        PathBuf::from(format!("s3://{}/{key}", self.bucket))
    }

    fn lock_key(&self) -> String {
        format!("{}.lock", self.key)
    }

    /// Where the state's change objects live.
    fn changes_prefix(&self) -> String {
        format!("{}.changes/", self.key)
    }

    fn journal_key(&self) -> String {
        format!("{}.journal.jsonl", self.key)
    }
}

/// State kept in S3 (see the module documentation for the protocol).
pub struct S3Backend {
    location: S3Location,
    s3: aws_sdk_s3::Client,
    /// The ETag of the state object as last read or written by this backend
    /// (`None`: not read yet, or no object existed).
    etag: Mutex<Option<String>>,
    /// Whether `load` ran (so `etag == None` means "no object").
    loaded: Mutex<bool>,
    /// When this backend last wrote the whole state.
    written_at: std::sync::Mutex<Option<Instant>>,
    /// Change objects that may be in S3 beyond the last full write: keys
    /// this backend wrote, and whether `load` found any (or has not run).
    changes: std::sync::Mutex<Changes>,
}

#[derive(Default)]
struct Changes {
    written: usize,
    maybe_more: bool,
}

impl S3Backend {
    /// A backend for `location`, with credentials and region from
    /// `settings` and the SDK's standard chain. Makes no network call.
    pub async fn connect(
        settings: &AwsSettings,
        location: S3Location,
    ) -> Result<S3Backend, stackd_engine::provider::ProviderError> {
        let config = crate::sdk_config(settings).await?;
        let mut builder = aws_sdk_s3::config::Builder::from(&config);
        if let Some(log) = crate::call_log::CallLog::from_env("s3") {
            builder = builder.interceptor(log);
        }
        builder = builder.interceptor(crate::pace::Tag("s3"));
        Ok(S3Backend::new(
            aws_sdk_s3::Client::from_conf(builder.build()),
            location,
        ))
    }

    /// A backend using an existing client.
    pub fn new(s3: aws_sdk_s3::Client, location: S3Location) -> S3Backend {
        S3Backend {
            location,
            s3,
            etag: Mutex::new(None),
            loaded: Mutex::new(false),
            written_at: std::sync::Mutex::new(None),
            changes: std::sync::Mutex::new(Changes {
                written: 0,
                maybe_more: true,
            }),
        }
    }

    pub fn location(&self) -> &S3Location {
        &self.location
    }

    /// The object's bytes as they are (a Terraform state to import, say),
    /// or `None` when there is none.
    pub async fn read_raw(&self) -> Result<Option<Vec<u8>>, StateError> {
        Ok(self
            .get(&self.location.key, "read object")
            .await?
            .map(|(bytes, _)| bytes))
    }

    fn place(&self) -> PathBuf {
        self.location.object_url(&self.location.key)
    }

    fn remote(&self, action: &'static str, key: &str, message: impl Into<String>) -> StateError {
        StateError::Remote {
            action,
            url: self.location.object_url(key).display().to_string(),
            message: message.into(),
        }
    }

    /// Reads an object: its bytes and ETag, or `None` when it does not
    /// exist.
    async fn get(
        &self,
        key: &str,
        action: &'static str,
    ) -> Result<Option<(Vec<u8>, Option<String>)>, StateError> {
        let out = match self
            .s3
            .get_object()
            .bucket(&self.location.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => out,
            Err(e) if is_missing(&e) => return Ok(None),
            Err(e) => return Err(self.remote(action, key, sdk_message(&e))),
        };
        let etag = out.e_tag().map(str::to_string);
        let bytes = out
            .body
            .collect()
            .await
            .map_err(|e| self.remote(action, key, e.to_string()))?
            .into_bytes()
            .to_vec();
        Ok(Some((bytes, etag)))
    }

    /// Writes an object only if its current ETag is `if_match`, or only if
    /// it does not exist when `if_match` is `None`. `Ok(None)` when the
    /// condition failed (someone else wrote first); else the new ETag.
    async fn put_conditional(
        &self,
        key: &str,
        body: Vec<u8>,
        if_match: Option<&str>,
        action: &'static str,
    ) -> Result<Option<Option<String>>, StateError> {
        let mut req = self
            .s3
            .put_object()
            .bucket(&self.location.bucket)
            .key(key)
            .content_type("application/json")
            .body(ByteStream::from(body));
        req = match if_match {
            Some(etag) => req.if_match(etag),
            None => req.if_none_match("*"),
        };
        match req.send().await {
            Ok(out) => Ok(Some(out.e_tag().map(str::to_string))),
            Err(e) if is_condition_failed(&e) => Ok(None),
            Err(e) => Err(self.remote(action, key, sdk_message(&e))),
        }
    }

    async fn read_lock(&self) -> Result<Option<(LockInfo, Option<String>)>, StateError> {
        let key = self.location.lock_key();
        Ok(self.get(&key, "read lock").await?.map(|(bytes, etag)| {
            (
                serde_json::from_slice(&bytes).unwrap_or_else(|_| LockInfo::unknown()),
                etag,
            )
        }))
    }

    async fn delete_lock(&self) -> Result<(), StateError> {
        let key = self.location.lock_key();
        self.s3
            .delete_object()
            .bucket(&self.location.bucket)
            .key(&key)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| self.remote("remove lock", &key, sdk_message(&e)))
    }

    /// The keys of the state's change objects, in serial order.
    async fn change_keys(&self) -> Result<Vec<String>, StateError> {
        let prefix = self.location.changes_prefix();
        let pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(&prefix)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut keys = Vec::new();
        for page in pages {
            let page =
                page.map_err(|e| self.remote("list state changes", &prefix, sdk_message(&e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        // Zero-padded serials: the names sort in serial order.
        keys.sort();
        Ok(keys)
    }

    /// Replays the change objects onto `state`, as read from the state
    /// object.
    async fn replay_changes(&self, state: &mut State, keys: &[String]) -> Result<(), StateError> {
        let mut log = Vec::new();
        for key in keys {
            if let Some((bytes, _)) = self.get(key, "read state change").await? {
                log.extend_from_slice(&bytes);
                if !bytes.ends_with(b"\n") {
                    log.push(b'\n');
                }
            }
        }
        wal::replay(state, &log, &self.place()).map(|_| ())
    }

    /// Removes every change object: the full write just made holds them.
    /// A failure is only logged: a change the state object already holds
    /// is skipped on load.
    async fn remove_changes(&self) {
        let keys = match self.change_keys().await {
            Ok(keys) => keys,
            Err(e) => {
                tracing::warn!(error = %e, "the state's change objects stay");
                return;
            }
        };
        for chunk in keys.chunks(1000) {
            let ids: Vec<_> = chunk
                .iter()
                .filter_map(|k| ObjectIdentifier::builder().key(k).build().ok())
                .collect();
            let Ok(delete) = Delete::builder().set_objects(Some(ids)).quiet(true).build() else {
                continue;
            };
            if let Err(e) = self
                .s3
                .delete_objects()
                .bucket(&self.location.bucket)
                .delete(delete)
                .send()
                .await
            {
                tracing::warn!(error = %sdk_message(&e), "the state's change objects stay");
                return;
            }
        }
        let mut changes = self.changes.lock().unwrap_or_else(|e| e.into_inner());
        *changes = Changes::default();
    }

    /// Writes the change of `address` as one change object.
    async fn write_change(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        let serial = next_serial(state.serial, &self.place())?;
        let body = WalRecord::of(state, address, serial).to_line(&self.place())?;
        let key = format!("{}{serial:020}.json", self.location.changes_prefix());
        let written = self
            .put_conditional(&key, body.clone(), None, "write state change")
            .await?;
        if written.is_none() {
            // Ours, from an attempt whose answer was lost; or another
            // run's change at the same serial.
            let ours = self
                .get(&key, "read state change")
                .await?
                .is_some_and(|(bytes, _)| bytes == body);
            if !ours {
                return Err(StateError::Conflict {
                    path: self.location.object_url(&key),
                    reason: format!(
                        "another run wrote change {serial} of this state since this run read it"
                    ),
                });
            }
        }
        state.serial = serial;
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .written += 1;
        Ok(())
    }

    /// Explains a failed conditional state write: someone else's state is
    /// there now, or (after a retried request whose first attempt did
    /// land) our own.
    async fn explain_lost_write(&self, state: &State, body: &[u8]) -> Result<String, StateError> {
        let key = &self.location.key;
        let Some((bytes, etag)) = self.get(key, "read state").await? else {
            return Err(StateError::Conflict {
                path: self.place(),
                reason: "the state object was deleted since it was read".into(),
            });
        };
        if bytes == body {
            return Ok(etag.unwrap_or_default());
        }
        let stored = decode(&bytes, &self.place())?;
        check_replaceable(&stored, state, &self.place())?;
        Err(StateError::Conflict {
            path: self.place(),
            reason: format!(
                "it was rewritten since this run read it (now serial {}); another run changed it",
                stored.serial
            ),
        })
    }
}

#[async_trait]
impl StateBackend for S3Backend {
    fn describe(&self) -> String {
        self.location.url()
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        let found = self.get(&self.location.key, "read state").await?;
        let mut etag = self.etag.lock().await;
        *self.loaded.lock().await = true;
        let keys = self.change_keys().await?;
        self.changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .maybe_more = !keys.is_empty();
        match found {
            Some((bytes, tag)) => {
                *etag = tag;
                let mut state = decode(&bytes, &self.place())?;
                self.replay_changes(&mut state, &keys).await?;
                Ok(Some(state))
            }
            None => {
                *etag = None;
                Ok(None)
            }
        }
    }

    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        let mut etag = self.etag.lock().await;
        let mut loaded = self.loaded.lock().await;
        if !*loaded {
            // Saving without loading (state push): check what is there.
            if let Some((bytes, tag)) = self.get(&self.location.key, "read state").await? {
                check_replaceable(&decode(&bytes, &self.place())?, state, &self.place())?;
                *etag = tag;
            }
            *loaded = true;
        }
        let serial = next_serial(state.serial, &self.place())?;
        let mut file = StateFileV1::from_state(state);
        file.serial = serial;
        let body = file.to_json(&self.place())?;
        let written = self
            .put_conditional(
                &self.location.key,
                body.clone(),
                etag.as_deref(),
                "write state",
            )
            .await?;
        let new_tag = match written {
            Some(tag) => tag,
            None => Some(self.explain_lost_write(state, &body).await?),
        };
        *etag = new_tag;
        state.serial = serial;
        *self.written_at.lock().unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
        let stale = {
            let c = self.changes.lock().unwrap_or_else(|e| e.into_inner());
            c.written > 0 || c.maybe_more
        };
        if stale {
            self.remove_changes().await;
        }
        Ok(())
    }

    /// A pending create is written at once, as a change object; any other
    /// change waits for the next full write, at most [`DEFER_FOR`] (see
    /// the module's header).
    async fn save_change(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        let written_at = *self.written_at.lock().unwrap_or_else(|e| e.into_inner());
        if can_wait(state, address, written_at, Instant::now()) {
            return Ok(());
        }
        let written = self
            .changes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .written;
        // A change object needs a state object of this lineage under it.
        let on_a_state = self.etag.lock().await.is_some();
        if state.pending.contains_key(address) && on_a_state && written < MAX_CHANGES {
            return self.write_change(state, address).await;
        }
        self.save(state).await
    }

    async fn lock(&self, holder: LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        let key = self.location.lock_key();
        let body = serde_json::to_vec_pretty(&holder).map_err(|source| StateError::Encode {
            path: self.location.object_url(&key),
            source,
        })?;
        // A lock deleted between our failed create and our read is retried.
        for _ in 0..3 {
            if self
                .put_conditional(&key, body.clone(), None, "take lock")
                .await?
                .is_some()
            {
                return Ok(Box::new(S3Lock::new(self, holder)));
            }
            if let Some((current, _)) = self.read_lock().await? {
                if current.id == holder.id {
                    // Our own create landed and its response was lost; the
                    // SDK's retry then found the object.
                    return Ok(Box::new(S3Lock::new(self, holder)));
                }
                return Err(StateError::Locked {
                    holder: Box::new(current),
                    path: self.location.object_url(&key),
                });
            }
        }
        Err(self.remote(
            "take lock",
            &key,
            "the lock object kept appearing and disappearing; try again",
        ))
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        let Some((holder, _)) = self.read_lock().await? else {
            return Ok(None);
        };
        self.delete_lock().await?;
        Ok(Some(holder))
    }

    async fn append_journal(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let key = self.location.journal_key();
        let line = entry.to_line().map_err(|source| StateError::Encode {
            path: self.location.object_url(&key),
            source,
        })?;
        // S3 has no append: read, append, write back on the ETag read. Runs
        // hold the state lock, so a lost race means a force-unlocked run
        // wrote meanwhile; read again and retry.
        for _ in 0..5 {
            let (mut bytes, etag) = self
                .get(&key, "read journal")
                .await?
                .unwrap_or((Vec::new(), None));
            bytes.extend_from_slice(line.as_bytes());
            if self
                .put_conditional(&key, bytes, etag.as_deref(), "append to journal")
                .await?
                .is_some()
            {
                return Ok(());
            }
        }
        Err(self.remote(
            "append to journal",
            &key,
            "it kept changing while being appended to",
        ))
    }

    async fn read_journal(&self) -> Result<Vec<JournalEntry>, StateError> {
        let key = self.location.journal_key();
        match self.get(&key, "read journal").await? {
            Some((bytes, _)) => JournalEntry::parse_lines(&bytes, &self.location.object_url(&key)),
            None => Ok(Vec::new()),
        }
    }
}

/// A held S3 lock. [`StateLock::release`] deletes the lock object if it is
/// still ours (a force-unlock may have replaced it).
struct S3Lock {
    info: LockInfo,
    location: S3Location,
    s3: aws_sdk_s3::Client,
    released: bool,
}

impl S3Lock {
    fn new(backend: &S3Backend, info: LockInfo) -> S3Lock {
        S3Lock {
            info,
            location: backend.location.clone(),
            s3: backend.s3.clone(),
            released: false,
        }
    }
}

#[async_trait]
impl StateLock for S3Lock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    async fn release(mut self: Box<Self>) -> Result<(), StateError> {
        self.released = true;
        let backend = S3Backend::new(self.s3.clone(), self.location.clone());
        match backend.read_lock().await? {
            Some((holder, _)) if holder.id == self.info.id => backend.delete_lock().await,
            Some((holder, _)) => {
                tracing::warn!(%holder, "the state lock was taken over by someone else; leaving theirs");
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl Drop for S3Lock {
    fn drop(&mut self) {
        if !self.released {
            tracing::warn!(
                lock = %format!("s3://{}/{}", self.location.bucket, self.location.lock_key()),
                lock_id = %self.info.id,
                "the state lock was not released; run `stackd force-unlock` once no stackd runs"
            );
        }
    }
}

/// Only a missing object (`NoSuchKey`) means "nothing stored yet": a
/// missing bucket (`NoSuchBucket`, also a 404) is an error, or a typo in the
/// bucket name would look like an empty state.
/// Whether the change of `address` may wait for a later write: it records
/// no pending create, and the last write was less than [`DEFER_FOR`] ago.
fn can_wait(state: &State, address: &Address, written_at: Option<Instant>, now: Instant) -> bool {
    !state.pending.contains_key(address)
        && written_at.is_some_and(|at| now.saturating_duration_since(at) < DEFER_FOR)
}

fn is_missing<E: ProvideErrorMetadata>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    e.code() == Some("NoSuchKey")
}

fn is_condition_failed<E: ProvideErrorMetadata>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> bool {
    // 412: the condition did not hold. 409 ConditionalRequestConflict: a
    // concurrent conditional write to the same key won.
    matches!(
        e.code(),
        Some("PreconditionFailed" | "ConditionalRequestConflict")
    ) || matches!(
        e.raw_response().map(|r| r.status().as_u16()),
        Some(412 | 409)
    )
}

fn sdk_message<E: ProvideErrorMetadata + std::error::Error + 'static>(
    e: &SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> String {
    match (e.code(), e.message()) {
        (Some(code), Some(msg)) => format!("{code}: {msg}"),
        (Some(code), None) => code.to_string(),
        _ => crate::error::failure_message("s3", e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_change_without_a_pending_create_waits_and_never_past_defer_for() {
        let mut state = State::new("s");
        let a: Address = "aws_vpc.main".parse().unwrap();
        let now = Instant::now();
        let just = Some(now);
        let long_ago = now.checked_sub(DEFER_FOR + Duration::from_secs(1));
        // Never written by this backend: written now.
        assert!(!can_wait(&state, &a, None, now));
        // A result, an update or a delete waits for the next write...
        assert!(can_wait(&state, &a, just, now));
        // ... but not past DEFER_FOR.
        if long_ago.is_some() {
            assert!(!can_wait(&state, &a, long_ago, now));
        }
        // A pending create is written at once.
        state.begin_create(&a, &stackd_spec::Value::Null);
        assert!(!can_wait(&state, &a, just, now));
    }

    #[test]
    fn s3_urls_need_a_bucket_and_a_key() {
        assert_eq!(
            S3Location::parse("s3://b/env/prod/stackd.state.json").unwrap(),
            S3Location {
                bucket: "b".into(),
                key: "env/prod/stackd.state.json".into()
            }
        );
        for bad in ["b/k", "s3://b", "s3:///k", "s3://b/", "s3://b/dir/"] {
            assert!(S3Location::parse(bad).is_err(), "{bad}");
        }
        let loc = S3Location::parse("s3://b/k").unwrap();
        assert_eq!(loc.lock_key(), "k.lock");
        assert_eq!(loc.journal_key(), "k.journal.jsonl");
        assert_eq!(loc.url(), "s3://b/k");
    }
}
