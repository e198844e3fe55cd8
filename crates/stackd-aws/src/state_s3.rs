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
//! - `<key>.changes/<lineage>/<base>/<serial>.json`: the state's change
//!   log. Between two full writes, each change of one instance (a pending
//!   create before its create call, the object after it, an instance
//!   forgotten after its delete) is one small object, a [`wal::WalRecord`]
//!   as the local backend appends to its `.wal`, created with
//!   `If-None-Match: *` under the lineage and serial of the state object it
//!   follows (its base). `load` replays the changes of the object it read;
//!   a full write removes every change object. So an apply of N instances
//!   uploads about 2N small objects and the whole state once per
//!   [`MAX_CHANGES`] changes and at its end, not 2N whole states, and a
//!   kill at any point loses nothing that was acknowledged.
//!
//!   A change object cannot carry `If-Match` on the state, so after writing
//!   a pending create's change the backend checks (`HeadObject` with
//!   `If-Match`) that the state object is still the one it follows: a
//!   runner that lost its lock, and whose state was rewritten since, stops
//!   before its create call, as it would at a full write. Its change
//!   object follows a base no load reads again. A full write first takes
//!   the next change key of the base it replaces (a seal): a change
//!   another runner wrote there after this one read it makes the full
//!   write fail, rather than being removed with the base.
//!
//! Versioning on the bucket is recommended (it keeps every previous state);
//! stackd does not require it.

use std::path::PathBuf;

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

/// Change objects written at most between two full writes: past this
/// many, the change is written with the whole state (a load after a crash
/// reads every change object of its base).
pub const MAX_CHANGES: usize = 200;

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

    /// Where the change objects following serial `base` of `lineage` live.
    fn base_prefix(&self, lineage: &str, base: u64) -> String {
        format!("{}{lineage}/{base:020}/", self.changes_prefix())
    }

    /// The change object of `serial` following serial `base` of `lineage`.
    fn change_key(&self, lineage: &str, base: u64, serial: u64) -> String {
        format!("{}{serial:020}.json", self.base_prefix(lineage, base))
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
    /// The change log this backend writes to.
    changes: std::sync::Mutex<Changes>,
}

#[derive(Default)]
struct Changes {
    /// The lineage and serial of the state object this backend last read
    /// or wrote (`None`: no object, or not read yet): the base of the
    /// change objects it writes.
    base: Option<(String, u64)>,
    /// Change objects written on that base.
    written: usize,
    /// A change write failed without saying whether it landed: the next
    /// change goes with a full write, which covers it either way.
    uncertain: bool,
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
            changes: std::sync::Mutex::new(Changes::default()),
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

    fn changes(&self) -> std::sync::MutexGuard<'_, Changes> {
        self.changes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The keys of the objects under `prefix`, sorted (zero-padded serials
    /// sort in serial order).
    async fn keys_under(&self, prefix: &str) -> Result<Vec<String>, StateError> {
        let pages = self
            .s3
            .list_objects_v2()
            .bucket(&self.location.bucket)
            .prefix(prefix)
            .into_paginator()
            .send()
            .collect::<Vec<_>>()
            .await;
        let mut keys = Vec::new();
        for page in pages {
            let page =
                page.map_err(|e| self.remote("list state changes", prefix, sdk_message(&e)))?;
            keys.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key().map(str::to_string)),
            );
        }
        keys.sort();
        Ok(keys)
    }

    /// Replays the change objects following `state` (as read from the
    /// state object) onto it.
    async fn replay_changes(&self, state: &mut State) -> Result<usize, StateError> {
        let keys = self
            .keys_under(&self.location.base_prefix(&state.lineage, state.serial))
            .await?;
        let mut log = Vec::new();
        for key in &keys {
            let Some((bytes, _)) = self.get(key, "read state change").await? else {
                // Removed by a full write since it was listed.
                return Err(StateError::Invalid {
                    path: self.location.object_url(key),
                    reason: "the change was removed while the state was read".into(),
                });
            };
            log.extend_from_slice(&bytes);
            if !bytes.ends_with(b"\n") {
                log.push(b'\n');
            }
        }
        wal::replay(state, &log, &self.place())?;
        Ok(keys.len())
    }

    /// Removes every change object (of any base). A failure is logged, not
    /// returned: changes of an older base are never read again.
    async fn remove_changes(&self) {
        let removed = match self.keys_under(&self.location.changes_prefix()).await {
            Ok(keys) => self.delete_keys(&keys).await,
            Err(e) => Err(e),
        };
        if let Err(e) = removed {
            tracing::warn!(error = %e, "the state's change objects stay");
        }
    }

    /// Removes the change objects on one base; fails unless it is empty.
    async fn clear_base(&self, lineage: &str, base: u64) -> Result<(), StateError> {
        let keys = self
            .keys_under(&self.location.base_prefix(lineage, base))
            .await?;
        self.delete_keys(&keys).await
    }

    /// Deletes `keys`, a thousand per `DeleteObjects`; fails if any stays.
    async fn delete_keys(&self, keys: &[String]) -> Result<(), StateError> {
        let prefix = self.location.changes_prefix();
        for chunk in keys.chunks(1000) {
            let ids = chunk
                .iter()
                .map(|k| ObjectIdentifier::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| self.remote("remove state changes", &prefix, e.to_string()))?;
            let delete = Delete::builder()
                .set_objects(Some(ids))
                .quiet(true)
                .build()
                .map_err(|e| self.remote("remove state changes", &prefix, e.to_string()))?;
            let out = self
                .s3
                .delete_objects()
                .bucket(&self.location.bucket)
                .delete(delete)
                .send()
                .await
                .map_err(|e| self.remote("remove state changes", &prefix, sdk_message(&e)))?;
            if !out.errors().is_empty() {
                return Err(self.remote(
                    "remove state changes",
                    &prefix,
                    format!("{} of them could not be deleted", out.errors().len()),
                ));
            }
        }
        Ok(())
    }

    /// Creates the change object of `serial` on `base` holding what
    /// `state` now records for `address`. Fails with
    /// [`StateError::Conflict`] when another run wrote that key first (an
    /// attempt of ours whose answer was lost counts as written).
    async fn put_change(
        &self,
        state: &State,
        address: &Address,
        base: u64,
        serial: u64,
        action: &'static str,
    ) -> Result<(), StateError> {
        let body = WalRecord::of(state, address, serial).to_line(&self.place())?;
        let key = self.location.change_key(&state.lineage, base, serial);
        if self
            .put_conditional(&key, body.clone(), None, action)
            .await?
            .is_some()
        {
            return Ok(());
        }
        let ours = self
            .get(&key, "read state change")
            .await?
            .is_some_and(|(bytes, _)| bytes == body);
        if ours {
            return Ok(());
        }
        Err(StateError::Conflict {
            path: self.location.object_url(&key),
            reason: format!(
                "another run wrote change {serial} of this state since this run read it; \
                 it lost its lock or still runs"
            ),
        })
    }

    /// Writes the change of `address` as one change object on `base`.
    async fn write_change(
        &self,
        state: &mut State,
        address: &Address,
        base: u64,
    ) -> Result<(), StateError> {
        let serial = next_serial(state.serial, &self.place())?;
        match self
            .put_change(state, address, base, serial, "write state change")
            .await
        {
            Ok(()) => {}
            Err(e @ StateError::Conflict { .. }) => return Err(e),
            // It may have landed: the next change goes with a full write.
            Err(e) => {
                self.changes().uncertain = true;
                return Err(e);
            }
        }
        // Written: the state is at this serial whatever follows.
        state.serial = serial;
        self.changes().written += 1;
        if state.pending.contains_key(address) {
            // Its create call comes next: only while the state object is
            // still the one this change follows.
            if let Err(e) = self.check_not_rewritten().await {
                self.changes().uncertain = true;
                return Err(e);
            }
        }
        Ok(())
    }

    /// Takes the next change key of the base this backend follows before
    /// a full write replaces that base, so that a change another runner
    /// wrote there since this one read it (it lost its lock) is found, not
    /// removed with the base: the full write then fails. The seal is a
    /// change record like any other (it restates one instance as it now
    /// is), so a full write that fails after it leaves a log that replays.
    async fn seal_base(&self, state: &State) -> Result<(), StateError> {
        let base = {
            let c = self.changes();
            match &c.base {
                Some((lineage, serial)) if *lineage == state.lineage && !c.uncertain => *serial,
                _ => return Ok(()),
            }
        };
        let serial = next_serial(state.serial, &self.place())?;
        let address = state
            .resources
            .keys()
            .chain(state.pending.keys())
            .next()
            .cloned()
            .unwrap_or_else(sealed_address);
        self.put_change(state, &address, base, serial, "seal state changes")
            .await
    }

    /// Fails with [`StateError::Conflict`] when the state object is no
    /// longer the one this backend last read or wrote.
    async fn check_not_rewritten(&self) -> Result<(), StateError> {
        let etag = self.etag.lock().await.clone();
        let key = &self.location.key;
        let mut head = self.s3.head_object().bucket(&self.location.bucket).key(key);
        if let Some(etag) = &etag {
            head = head.if_match(etag);
        }
        match head.send().await {
            Ok(_) => Ok(()),
            Err(e)
                if is_condition_failed(&e)
                    || is_missing(&e)
                    || e.raw_response().map(|r| r.status().as_u16()) == Some(404) =>
            {
                Err(StateError::Conflict {
                    path: self.place(),
                    reason: "it was rewritten since this run read it; another run changed it"
                        .into(),
                })
            }
            Err(e) => Err(self.remote("check state", key, sdk_message(&e))),
        }
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
        let key = &self.location.key;
        // A full write between reading the object and listing its changes
        // removes them: the object is read again when it changed meanwhile.
        let mut found = self.get(key, "read state").await?;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let Some((bytes, tag)) = found else {
                *self.etag.lock().await = None;
                *self.loaded.lock().await = true;
                *self.changes() = Changes::default();
                return Ok(None);
            };
            let mut state = decode(&bytes, &self.place())?;
            let base = (state.lineage.clone(), state.serial);
            match self.replay_changes(&mut state).await {
                Ok(replayed) => {
                    *self.etag.lock().await = tag;
                    *self.loaded.lock().await = true;
                    *self.changes() = Changes {
                        base: Some(base),
                        written: replayed,
                        uncertain: false,
                    };
                    return Ok(Some(state));
                }
                Err(e) if attempt < 3 => {
                    found = self.get(key, "read state").await?;
                    if found.as_ref().map(|(_, t)| t) == Some(&tag) {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        let mut etag = self.etag.lock().await;
        let mut loaded = self.loaded.lock().await;
        if !*loaded {
            // Saving without loading (state push): check what is there.
            if let Some((bytes, tag)) = self.get(&self.location.key, "read state").await? {
                // The stored state is the object with the changes a stopped
                // run left on it.
                let mut stored = decode(&bytes, &self.place())?;
                let base = (stored.lineage.clone(), stored.serial);
                let replayed = self.replay_changes(&mut stored).await?;
                *self.changes() = Changes {
                    base: Some(base),
                    written: replayed,
                    uncertain: false,
                };
                check_replaceable(&stored, state, &self.place())?;
                if state.lineage == stored.lineage && state.serial < stored.serial {
                    // A state pulled before those changes: they would go.
                    return Err(StateError::Conflict {
                        path: self.place(),
                        reason: format!(
                            "it is at serial {} with the changes a stopped run left on it, \
                             newer than this one ({}); pull it again",
                            stored.serial, state.serial
                        ),
                    });
                }
                *etag = tag;
            }
            *loaded = true;
        }
        let serial = next_serial(state.serial, &self.place())?;
        if etag.is_none() {
            // A new state object: change objects a deleted state left at
            // the very lineage and serial it gets must not follow it.
            self.clear_base(&state.lineage, serial).await?;
        } else {
            self.seal_base(state).await?;
        }
        let mut file = StateFileV1::from_state(state);
        file.serial = serial;
        let body = file.to_json(&self.place())?;
        let written = match self
            .put_conditional(
                &self.location.key,
                body.clone(),
                etag.as_deref(),
                "write state",
            )
            .await
        {
            Ok(written) => written,
            // The write may have landed with its answer lost: ours if the
            // object now holds exactly this body.
            Err(e) => match self.get(&self.location.key, "read state").await {
                Ok(Some((bytes, tag))) if bytes == body => Some(tag),
                _ => return Err(e),
            },
        };
        let new_tag = match written {
            Some(tag) => tag,
            None => Some(self.explain_lost_write(state, &body).await?),
        };
        *etag = new_tag;
        state.serial = serial;
        *self.changes() = Changes {
            base: Some((state.lineage.clone(), serial)),
            written: 0,
            uncertain: false,
        };
        // The object now holds every change written before it.
        self.remove_changes().await;
        Ok(())
    }

    /// One change object on the state object last read or written; the
    /// whole state when there is none yet, after [`MAX_CHANGES`], or when
    /// a change write's outcome is unknown.
    async fn save_change(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        let base = {
            let c = self.changes();
            match &c.base {
                Some((lineage, serial))
                    if *lineage == state.lineage && !c.uncertain && c.written < MAX_CHANGES =>
                {
                    Some(*serial)
                }
                _ => None,
            }
        };
        match base {
            Some(base) => self.write_change(state, address, base).await,
            None => self.save(state).await,
        }
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

/// The address a seal names when the state holds no instance at all: a
/// record of it with no resource and no pending create changes nothing.
fn sealed_address() -> Address {
    "terraform_data.stackd_full_write"
        .parse()
        .expect("a valid address")
}

/// Only a missing object (`NoSuchKey`) means "nothing stored yet": a
/// missing bucket (`NoSuchBucket`, also a 404) is an error, or a typo in the
/// bucket name would look like an empty state.
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
    fn a_seal_of_an_empty_state_names_an_address_it_changes_nothing_of() {
        let state = State::new("s");
        let address = sealed_address();
        let record = WalRecord::of(&state, &address, 1);
        assert!(record.resource.is_none() && record.pending.is_none());
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
