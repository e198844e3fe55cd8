//! The local state backend: a JSON file replaced atomically, with a backup
//! of the previous version, locked with `flock(2)` on a side lock file.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::Duration;

use async_trait::async_trait;

use stackd_spec::Address;

use super::wal::{self, WalRecord};
use super::{
    check_replaceable, decode, next_serial, JournalEntry, LockInfo, State, StateBackend,
    StateError, StateFileV1, StateLock, STATE_FILE_NAME,
};

/// State kept in a local file (by default [`STATE_FILE_NAME`]).
///
/// - `save` writes the new state to a temporary file (mode 0600) in the same
///   directory, fsyncs it, copies the current file to `<path>.backup` (also
///   0600, also via temp file and rename), renames the new file over `path`
///   and fsyncs the directory. A failure before the final rename leaves the
///   state file as it was. It then removes the log (below).
/// - `save_change` appends one record (fsynced) to `<path>.wal`, the state's
///   write-ahead log ([`wal`]), instead of rewriting the file; `load`
///   replays the log onto the file. The first change of a state that has
///   no file yet is a full save.
/// - `lock` takes `flock(LOCK_EX | LOCK_NB)` on `<path>.lock` for the guard's
///   lifetime and writes the holder's [`LockInfo`] into it. The kernel drops
///   the lock when the holder exits, even on SIGKILL; the lock file left
///   behind then no longer blocks anyone. `force_unlock` refuses while the
///   flock is held (its holder still runs); `break_lock` does not.
/// - When `path` is a symbolic link, every file is kept beside the file it
///   points to (followed through every link): the save replaces that file
///   and the link stays, and the lock, backup and journal are the same
///   whichever path names the state.
///
/// The file system calls are blocking; the files are small.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalBackend {
    /// The state file.
    pub path: PathBuf,
}

impl LocalBackend {
    /// A backend for the state file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> LocalBackend {
        LocalBackend { path: path.into() }
    }

    /// A backend for [`STATE_FILE_NAME`] in `dir`.
    pub fn in_dir(dir: impl AsRef<Path>) -> LocalBackend {
        LocalBackend::new(dir.as_ref().join(STATE_FILE_NAME))
    }

    /// The state file itself: `path`, or the file it links to.
    pub fn file_path(&self) -> PathBuf {
        resolve_links(&self.path)
    }

    /// `<state file>.backup`: the state as it was before the last save.
    pub fn backup_path(&self) -> PathBuf {
        with_suffix(&self.file_path(), ".backup")
    }

    /// `<state file>.lock`: the lock file.
    pub fn lock_path(&self) -> PathBuf {
        with_suffix(&self.file_path(), ".lock")
    }

    /// `<state file>.wal`: the changes saved since the last full save.
    pub fn wal_path(&self) -> PathBuf {
        with_suffix(&self.file_path(), ".wal")
    }

    fn load_blocking(&self) -> Result<Option<State>, StateError> {
        let mut state = match fs::read(&self.path) {
            Ok(bytes) => decode(&bytes, &self.path)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("read state file", &self.path, e)),
        };
        let wal = self.wal_path();
        match fs::read(&wal) {
            Ok(bytes) => {
                let applied = wal::replay(&mut state, &bytes, &wal)?;
                if applied > 0 {
                    tracing::debug!(applied, serial = state.serial, "replayed the state's log");
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(StateError::io("read state log", &wal, e)),
        }
        Ok(Some(state))
    }

    fn save_change_blocking(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        let path = self.file_path();
        if !path.exists() {
            return self.save_blocking(state);
        }
        let wal = self.wal_path();
        let serial = next_serial(state.serial, &path)?;
        let line = WalRecord::of(state, address, serial).to_line(&wal)?;
        let created = !wal.exists();
        // One write of a whole line with O_APPEND, then fsync: the change is
        // durable before the call that follows it.
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&wal)
            .map_err(|e| StateError::io("open state log", &wal, e))?;
        file.write_all(&line)
            .and_then(|()| file.sync_data())
            .map_err(|e| StateError::io("append to state log", &wal, e))?;
        if created {
            let dir = parent_dir(&path);
            File::open(&dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| StateError::io("sync directory", &dir, e))?;
        }
        state.serial = serial;
        Ok(())
    }

    fn save_blocking(&self, state: &mut State) -> Result<(), StateError> {
        let path = &self.file_path();
        let previous = match fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(StateError::io("read state file", path, e)),
        };
        if let Some(bytes) = &previous {
            check_replaceable(&decode(bytes, path)?, state, path)?;
        }

        let serial = next_serial(state.serial, path)?;
        let mut file = StateFileV1::from_state(state);
        file.serial = serial;
        let next = file.to_json(path)?;

        let dir = parent_dir(path);
        let tmp = write_temp(&dir, path, &next)?;
        if let Some(bytes) = &previous {
            let backup = self.backup_path();
            let result = write_temp(&dir, &backup, bytes).and_then(|btmp| {
                fs::rename(&btmp, &backup).map_err(|e| {
                    let _ = fs::remove_file(&btmp);
                    StateError::io("replace backup file", &backup, e)
                })
            });
            if let Err(e) = result {
                let _ = fs::remove_file(&tmp);
                return Err(e);
            }
        }
        if let Err(e) = fs::rename(&tmp, path) {
            let _ = fs::remove_file(&tmp);
            return Err(StateError::io("replace state file", path, e));
        }
        state.serial = serial;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| StateError::io("sync directory", &dir, e))?;
        // The file now holds every logged change. Should the removal not
        // last (a crash), the log's records are older than the file's
        // serial and a load skips them.
        let wal = self.wal_path();
        match fs::remove_file(&wal) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(StateError::io("remove state log", &wal, e)),
        }
    }

    /// `<state file>.journal.jsonl`: one JSON line per apply and destroy.
    pub fn journal_path(&self) -> PathBuf {
        with_suffix(&self.file_path(), ".journal.jsonl")
    }

    fn append_journal_blocking(&self, entry: &JournalEntry) -> Result<(), StateError> {
        let path = self.journal_path();
        let line = entry.to_line().map_err(|source| StateError::Encode {
            path: path.clone(),
            source,
        })?;
        // One write of a whole line with O_APPEND: entries never interleave.
        let mut file = OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| StateError::io("open journal", &path, e))?;
        file.write_all(line.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| StateError::io("append to journal", &path, e))
    }

    fn read_journal_blocking(&self) -> Result<Vec<JournalEntry>, StateError> {
        let path = self.journal_path();
        match fs::read(&path) {
            Ok(bytes) => JournalEntry::parse_lines(&bytes, &path),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(StateError::io("read journal", &path, e)),
        }
    }

    fn lock_blocking(&self, holder: LockInfo) -> Result<LocalLock, StateError> {
        let lock_path = self.lock_path();
        // The previous holder removes the file before unlocking; whoever
        // locked the removed file retries on the new one.
        for _ in 0..16 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .open(&lock_path)
                .map_err(|e| StateError::io("open lock file", &lock_path, e))?;
            // SAFETY: flock on a file descriptor owned by `file`, which
            // outlives the call.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EWOULDBLOCK) => {
                        return Err(StateError::Locked {
                            holder: Box::new(read_holder(&lock_path)),
                            path: lock_path,
                        })
                    }
                    Some(libc::EINTR) => continue,
                    _ => return Err(StateError::io("lock", &lock_path, err)),
                }
            }
            if !same_file(&file, &lock_path) {
                continue;
            }
            let lock = LocalLock {
                info: holder,
                file,
                path: lock_path,
            };
            lock.write_info()?;
            return Ok(lock);
        }
        Err(StateError::io(
            "lock",
            &lock_path,
            io::Error::other("the lock file kept being removed while locking it"),
        ))
    }

    /// Removes the lock file; unless `even_if_held`, only when nobody holds
    /// its flock (taking it first, so no one can take it meanwhile).
    fn force_unlock_blocking(&self, even_if_held: bool) -> Result<Option<LockInfo>, StateError> {
        let lock_path = self.lock_path();
        let file = match File::open(&lock_path) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(StateError::io("open lock file", &lock_path, e)),
        };
        let holder = read_holder(&lock_path);
        if !even_if_held {
            loop {
                // SAFETY: flock on a file descriptor owned by `file`, which
                // outlives the call.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if rc == 0 {
                    break;
                }
                let err = io::Error::last_os_error();
                match err.raw_os_error() {
                    Some(libc::EWOULDBLOCK) => {
                        return Err(StateError::Locked {
                            holder: Box::new(holder),
                            path: lock_path,
                        })
                    }
                    Some(libc::EINTR) => continue,
                    _ => return Err(StateError::io("lock", &lock_path, err)),
                }
            }
        }
        // Removed while `file` (and so, when taken, the flock) is still
        // open: whoever opened the old file retries on a new one.
        match fs::remove_file(&lock_path) {
            Ok(()) => Ok(Some(holder)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Some(holder)),
            Err(e) => Err(StateError::io("remove lock file", &lock_path, e)),
        }
    }
}

#[async_trait]
impl StateBackend for LocalBackend {
    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    async fn load(&self) -> Result<Option<State>, StateError> {
        self.load_blocking()
    }

    async fn save(&self, state: &mut State) -> Result<(), StateError> {
        self.save_blocking(state)
    }

    async fn save_change(&self, state: &mut State, address: &Address) -> Result<(), StateError> {
        self.save_change_blocking(state, address)
    }

    async fn lock(&self, holder: LockInfo) -> Result<Box<dyn StateLock>, StateError> {
        Ok(Box::new(self.lock_blocking(holder)?))
    }

    async fn force_unlock(&self) -> Result<Option<LockInfo>, StateError> {
        self.force_unlock_blocking(false)
    }

    async fn break_lock(&self) -> Result<Option<LockInfo>, StateError> {
        self.force_unlock_blocking(true)
    }

    async fn append_journal(&self, entry: &JournalEntry) -> Result<(), StateError> {
        self.append_journal_blocking(entry)
    }

    async fn read_journal(&self) -> Result<Vec<JournalEntry>, StateError> {
        self.read_journal_blocking()
    }
}

/// A held `flock` on the lock file. Dropping it removes the lock file (when
/// it is still ours) and closes it, which releases the lock.
#[derive(Debug)]
struct LocalLock {
    info: LockInfo,
    file: File,
    path: PathBuf,
}

impl LocalLock {
    fn write_info(&self) -> Result<(), StateError> {
        let mut json =
            serde_json::to_vec_pretty(&self.info).map_err(|source| StateError::Encode {
                path: self.path.clone(),
                source,
            })?;
        json.push(b'\n');
        self.file
            .set_len(0)
            .and_then(|()| self.file.write_all_at(&json, 0))
            .and_then(|()| self.file.sync_all())
            .map_err(|e| StateError::io("write lock file", &self.path, e))
    }
}

#[async_trait]
impl StateLock for LocalLock {
    fn info(&self) -> &LockInfo {
        &self.info
    }

    async fn release(self: Box<Self>) -> Result<(), StateError> {
        drop(self);
        Ok(())
    }
}

impl Drop for LocalLock {
    fn drop(&mut self) {
        // After a force-unlock the path may name someone else's lock file.
        if same_file(&self.file, &self.path) {
            let _ = fs::remove_file(&self.path);
        }
        // Closing `file` releases the flock.
    }
}

/// Reads the holder from a lock file, allowing a moment for a holder that
/// has just taken the lock to write it.
fn read_holder(lock_path: &Path) -> LockInfo {
    for attempt in 0..3 {
        if attempt > 0 {
            std::thread::sleep(Duration::from_millis(20));
        }
        if let Ok(bytes) = fs::read(lock_path) {
            if let Ok(info) = serde_json::from_slice(&bytes) {
                return info;
            }
        }
    }
    LockInfo::unknown()
}

/// True when `path` still names the open `file`.
fn same_file(file: &File, path: &Path) -> bool {
    match (file.metadata(), fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

/// Writes `bytes` to a new 0600 temporary file next to `target` and fsyncs
/// it; returns its path. Removes it again on failure.
fn write_temp(dir: &Path, target: &Path, bytes: &[u8]) -> Result<PathBuf, StateError> {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| STATE_FILE_NAME.to_string());
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| StateError::io("create temporary file", &tmp, e))?;
    if let Err(e) = file.write_all(bytes).and_then(|()| file.sync_all()) {
        drop(file);
        let _ = fs::remove_file(&tmp);
        return Err(StateError::io("write temporary file", &tmp, e));
    }
    Ok(tmp)
}

/// `path` with every symbolic link along its last component followed
/// (relative links from the link's own directory); `path` itself when it
/// is no link. Stops after 40 links, as the kernel does.
fn resolve_links(path: &Path) -> PathBuf {
    let mut path = path.to_path_buf();
    for _ in 0..40 {
        match fs::read_link(&path) {
            Ok(target) if target.is_absolute() => path = target,
            Ok(target) => path = parent_dir(&path).join(target),
            Err(_) => break,
        }
    }
    path
}

/// The directory holding `path` (`.` for a bare file name).
fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = OsString::from(path.as_os_str());
    s.push(suffix);
    PathBuf::from(s)
}
