//! Tests of the state model, the file format and the local backend.

use std::fs::{self, OpenOptions};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::time::{Duration, Instant};

use stackd_spec::{Address, Value};

use super::*;

fn addr(s: &str) -> Address {
    s.parse().unwrap()
}

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn sample() -> State {
    let mut st = State::new("web");
    st.record(
        addr("aws_vpc.main"),
        ResourceState::new(
            "vpc-1",
            Value::map([
                ("id", Value::from("vpc-1")),
                ("cidr_block", Value::from("10.0.0.0/16")),
                ("enable_dns", Value::from(true)),
                ("tags", Value::map([("Name", Value::from("main"))])),
            ]),
        ),
    );
    for (key, id) in [("a", "subnet-a"), ("b", "subnet-b")] {
        st.record(
            Address {
                block: addr("aws_subnet.public").block,
                key: Some(stackd_spec::InstanceKey::Str(key.into())),
            },
            ResourceState {
                id: id.into(),
                attrs: Value::map([("id", Value::from(id)), ("az_index", Value::from(1.5))]),
                dependencies: vec![addr("aws_vpc.main")],
                create_before_destroy: true,
                tainted: false,
            },
        );
    }
    for i in [0, 2, 10] {
        st.record(
            addr(&format!("aws_subnet.private[{i}]")),
            ResourceState::new(format!("subnet-p{i}"), Value::map([("n", Value::from(i))])),
        );
    }
    st.record(
        addr("data.aws_ami.al2023"),
        ResourceState::new("ami-1", Value::map([("id", Value::from("ami-1"))])),
    );
    st.record(
        addr("module.net.aws_route_table.rt[0]"),
        ResourceState::new("rtb-1", Value::List(vec![Value::Null, Value::from(3)])),
    );
    // A for_each key that needs escaping.
    st.record(
        addr("aws_iam_role.r[\"x\"]")
            .block
            .instance(Some(stackd_spec::InstanceKey::Str("a\"b[c]".into()))),
        ResourceState::new("role-1", Value::Map(Default::default())),
    );
    st.outputs.insert(
        "vpc_id".into(),
        OutputState {
            value: Value::from("vpc-1"),
            sensitive: false,
        },
    );
    st.outputs.insert(
        "db_password".into(),
        OutputState {
            value: Value::from("hunter2"),
            sensitive: true,
        },
    );
    let token = st
        .begin_create(&addr("aws_instance.web[0]"), &Value::Null)
        .token
        .clone();
    assert_eq!(
        st.begin_create(&addr("aws_instance.web[0]"), &Value::Null)
            .token,
        token
    );
    st
}

#[tokio::test]
async fn state_round_trips_through_local_backend() {
    let dir = tempfile::tempdir().unwrap();
    let backend: Box<dyn StateBackend> = Box::new(LocalBackend::in_dir(dir.path()));
    assert!(backend.describe().ends_with(STATE_FILE_NAME));
    assert!(backend.load().await.unwrap().is_none());

    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    assert_eq!(st.serial, 1);
    let loaded = backend.load().await.unwrap().unwrap();
    assert_eq!(loaded, st);

    // The wire shape.
    let json: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join(STATE_FILE_NAME)).unwrap()).unwrap();
    assert_eq!(json["format_version"], 1);
    assert_eq!(json["stackd_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(json["lineage"], st.lineage.as_str());
    assert_eq!(json["serial"], 1);
    assert_eq!(json["stack"], "web");
    let addresses: Vec<&str> = json["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["address"].as_str().unwrap())
        .collect();
    assert_eq!(
        addresses,
        [
            "aws_iam_role.r[\"a\\\"b[c]\"]",
            "aws_subnet.private[0]",
            "aws_subnet.private[2]",
            "aws_subnet.private[10]",
            "aws_subnet.public[\"a\"]",
            "aws_subnet.public[\"b\"]",
            "aws_vpc.main",
            "data.aws_ami.al2023",
            "module.net.aws_route_table.rt[0]",
        ]
    );
    let public_a = &json["resources"][4];
    assert_eq!(public_a["mode"], "managed");
    assert_eq!(public_a["type"], "aws_subnet");
    assert_eq!(public_a["name"], "public");
    assert_eq!(public_a["index_key"], "a");
    assert_eq!(public_a["id"], "subnet-a");
    assert_eq!(public_a["attributes"]["az_index"], 1.5);
    assert_eq!(
        public_a["dependencies"],
        serde_json::json!(["aws_vpc.main"])
    );
    assert_eq!(public_a["create_before_destroy"], true);
    assert_eq!(json["resources"][3]["index_key"], 10);
    assert_eq!(json["resources"][6]["index_key"], serde_json::Value::Null);
    assert_eq!(json["resources"][7]["mode"], "data");
    assert_eq!(
        json["outputs"]["db_password"],
        serde_json::json!({"value": "hunter2", "sensitive": true})
    );
    assert_eq!(json["pending"][0]["address"], "aws_instance.web[0]");
    assert_eq!(
        json["pending"][0]["token"],
        st.pending[&addr("aws_instance.web[0]")].token.as_str()
    );
}

#[test]
fn state_model_helpers_track_pending_creates() {
    let mut st = State::new("web");
    assert!(st.is_empty());
    assert_eq!(st.serial, 0);
    assert_eq!(
        uuid::Uuid::parse_str(&st.lineage)
            .unwrap()
            .get_version_num(),
        4
    );
    let a = addr("aws_vpc.main");
    let pending = st.begin_create(&a, &Value::Null).clone();
    assert!(pending.started_at.ends_with('Z'));
    assert_eq!(
        st.begin_create(&a, &Value::Null),
        &pending,
        "a retried create reuses its token"
    );
    st.record(a.clone(), ResourceState::new("vpc-1", Value::Null));
    assert!(st.pending.is_empty());
    assert_eq!(st.resource(&a).unwrap().id, "vpc-1");
    assert_ne!(st.begin_create(&a, &Value::Null).token, pending.token);
    assert!(st.forget(&a).is_some());
    assert!(st.is_empty());
}

#[tokio::test]
async fn state_save_is_atomic_keeps_backup_and_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    assert!(!backend.backup_path().exists(), "no backup of nothing");
    let first = fs::read(&backend.path).unwrap();

    st.outputs.clear();
    backend.save(&mut st).await.unwrap();
    assert_eq!(st.serial, 2);
    assert_eq!(fs::read(backend.backup_path()).unwrap(), first);
    assert_eq!(decode(&first, &backend.path).unwrap().serial, 1);
    assert_eq!(backend.load().await.unwrap().unwrap(), st);
    assert_eq!(mode_of(&backend.path), 0o600);
    assert_eq!(mode_of(&backend.backup_path()), 0o600);

    // A pre-existing world-readable state file does not stay so.
    fs::set_permissions(&backend.path, fs::Permissions::from_mode(0o644)).unwrap();
    backend.save(&mut st).await.unwrap();
    assert_eq!(mode_of(&backend.path), 0o600);

    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        ["stackd.state.json", "stackd.state.json.backup"],
        "no temporary files left"
    );
}

/// Drops this thread's file system uid to `nobody` (root only): file
/// permission checks then apply even when the tests run as root.
struct AsNobody;

impl AsNobody {
    const UID: u32 = 65534;
    fn enter() -> AsNobody {
        // SAFETY: setfsuid affects only this thread's file access checks.
        unsafe { libc::setfsuid(Self::UID) };
        AsNobody
    }
}

impl Drop for AsNobody {
    fn drop(&mut self) {
        // SAFETY: as above; back to root.
        unsafe { libc::setfsuid(0) };
    }
}

// `current_thread` (the default) keeps the test, and so `AsNobody`, on one thread.
#[tokio::test(flavor = "current_thread")]
async fn state_save_into_read_only_dir_fails_and_keeps_old_file() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("ro");
    fs::create_dir(&dir).unwrap();
    let backend = LocalBackend::in_dir(&dir);
    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    let before = fs::read(&backend.path).unwrap();

    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if root {
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::chown(&dir, Some(AsNobody::UID), None).unwrap();
        std::os::unix::fs::chown(&backend.path, Some(AsNobody::UID), None).unwrap();
    }
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o500)).unwrap();
    let result = {
        let _nobody = root.then(AsNobody::enter);
        assert!(
            fs::write(dir.join("probe"), b"").is_err(),
            "directory must be read-only for this test"
        );
        st.outputs.clear();
        backend.save(&mut st).await
    };
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700)).unwrap();

    let err = result.unwrap_err();
    assert!(matches!(err, StateError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains(dir.to_str().unwrap()), "{err}");
    assert_eq!(st.serial, 1, "serial not bumped by a failed save");
    assert_eq!(fs::read(&backend.path).unwrap(), before);
    assert_eq!(
        fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary files left"
    );
}

#[tokio::test]
async fn state_save_failing_at_backup_keeps_old_file() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    let before = fs::read(&backend.path).unwrap();
    // A non-empty directory where the backup goes: its rename fails.
    fs::create_dir_all(backend.backup_path().join("x")).unwrap();

    let err = backend.save(&mut st).await.unwrap_err();
    assert!(err.to_string().contains("backup"), "{err}");
    assert_eq!(st.serial, 1);
    assert_eq!(fs::read(&backend.path).unwrap(), before);
    assert_eq!(
        fs::read_dir(dir.path()).unwrap().count(),
        2,
        "no temporary files left"
    );
}

#[tokio::test]
async fn state_save_refuses_other_lineage_or_newer_serial() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = sample();
    backend.save(&mut st).await.unwrap();

    let mut other = State::new("web");
    let err = backend.save(&mut other).await.unwrap_err();
    assert!(matches!(err, StateError::Conflict { .. }), "{err:?}");
    assert!(err.to_string().contains("lineage"), "{err}");

    let mut stale = st.clone();
    backend.save(&mut st).await.unwrap();
    let err = backend.save(&mut stale).await.unwrap_err();
    assert!(err.to_string().contains("serial 2"), "{err}");
    assert_eq!(backend.load().await.unwrap().unwrap().serial, 2);
}

#[tokio::test]
async fn state_malformed_file_names_path_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    fs::write(&backend.path, "{\n  \"format_version\": 1,\n  oops\n}\n").unwrap();
    let err = backend.load().await.unwrap_err();
    let StateError::Malformed { line, column, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!((*line, *column), (3, 3));
    let msg = err.to_string();
    assert!(msg.contains(backend.path.to_str().unwrap()), "{msg}");
    assert!(msg.contains("line 3, column 3"), "{msg}");

    // Right syntax, wrong shape.
    fs::write(&backend.path, r#"{"format_version": 1, "lineage": 5}"#).unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(matches!(err, StateError::Malformed { .. }), "{err:?}");

    for bad in [
        b"".as_slice(),
        b"[]",
        b"\xff\xfe",
        b"{\"format_version\": -1}",
    ] {
        fs::write(&backend.path, bad).unwrap();
        assert!(backend.load().await.is_err());
    }
}

#[tokio::test]
async fn state_inconsistent_content_is_invalid() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = State::new("web");
    st.record(
        addr("aws_vpc.main"),
        ResourceState::new("vpc-1", Value::Null),
    );
    let mut json: serde_json::Value =
        serde_json::from_slice(&encode(&st, &backend.path).unwrap()).unwrap();

    json["resources"][0]["name"] = "other".into();
    fs::write(&backend.path, json.to_string()).unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(matches!(err, StateError::Invalid { .. }), "{err:?}");
    assert!(err.to_string().contains("aws_vpc.other"), "{err}");

    json["resources"][0]["name"] = "main".into();
    json["resources"][0]["dependencies"] = serde_json::json!(["nope"]);
    fs::write(&backend.path, json.to_string()).unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");

    json["resources"][0]["dependencies"] = serde_json::json!([]);
    let dup = json["resources"][0].clone();
    json["resources"].as_array_mut().unwrap().push(dup);
    fs::write(&backend.path, json.to_string()).unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(err.to_string().contains("twice"), "{err}");
}

#[tokio::test]
async fn state_future_format_version_is_rejected_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    fs::write(
        &backend.path,
        r#"{"format_version": 3, "resources": {"some": "new shape"}}"#,
    )
    .unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(
        matches!(
            err,
            StateError::TooNew {
                found: 3,
                supported: 2,
                ..
            }
        ),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("written by a newer stackd"), "{msg}");
    assert!(msg.contains(backend.path.to_str().unwrap()), "{msg}");

    fs::write(&backend.path, r#"{"format_version": 0, "lineage": "l", "serial": 0, "stackd_version": "0", "stack": "s"}"#).unwrap();
    let err = backend.load().await.unwrap_err();
    assert!(matches!(err, StateError::Invalid { .. }), "{err:?}");
}

#[tokio::test]
async fn state_lock_conflict_fails_at_once_naming_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let guard = backend.lock(LockInfo::new("apply")).await.unwrap();
    assert_eq!(guard.info().pid, std::process::id());
    assert_eq!(guard.info().operation, "apply");
    assert_eq!(mode_of(&backend.lock_path()), 0o600);
    let on_disk: LockInfo =
        serde_json::from_slice(&fs::read(backend.lock_path()).unwrap()).unwrap();
    assert_eq!(&on_disk, guard.info());

    let started = Instant::now();
    let err = backend.lock(LockInfo::new("plan")).await.err().unwrap();
    assert!(started.elapsed() < Duration::from_secs(1));
    let StateError::Locked { holder, path } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(&**holder, guard.info());
    assert_eq!(path, &backend.lock_path());
    let msg = err.to_string();
    for part in [
        format!("pid {}", std::process::id()),
        holder.host.clone(),
        holder.who.clone(),
        "apply".to_string(),
        holder.created_at.clone(),
        "stackd force-unlock".to_string(),
        backend.lock_path().display().to_string(),
    ] {
        assert!(msg.contains(&part), "{part:?} not in {msg}");
    }

    drop(guard);
    assert!(!backend.lock_path().exists(), "lock file removed on drop");
    let again = backend.lock(LockInfo::new("plan")).await.unwrap();
    assert_eq!(again.info().operation, "plan");
}

#[tokio::test]
async fn state_lock_left_by_a_dead_process_is_reclaimable() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    // Another "process": its own open file description with the flock held,
    // and its info written, as `lock` does.
    let other = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(backend.lock_path())
        .unwrap();
    // SAFETY: flock on a descriptor owned by `other`.
    let rc = unsafe { libc::flock(other.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    assert_eq!(rc, 0);
    let mut info = LockInfo::new("apply");
    info.pid = 999_999;
    info.host = "elsewhere".into();
    fs::write(backend.lock_path(), serde_json::to_vec(&info).unwrap()).unwrap();

    let err = backend.lock(LockInfo::new("plan")).await.err().unwrap();
    assert!(matches!(&err, StateError::Locked { holder, .. } if holder.pid == 999_999));
    assert!(err.to_string().contains("pid 999999"), "{err}");

    // It dies without cleaning up (as on SIGKILL): the kernel drops the
    // flock, the file stays.
    drop(other);
    assert!(backend.lock_path().exists());
    let guard = backend.lock(LockInfo::new("plan")).await.unwrap();
    assert_eq!(guard.info().pid, std::process::id());
    let on_disk: LockInfo =
        serde_json::from_slice(&fs::read(backend.lock_path()).unwrap()).unwrap();
    assert_eq!(&on_disk, guard.info());
}

#[tokio::test]
async fn force_unlock_refuses_while_the_holder_lives_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let live = backend.lock(LockInfo::new("apply")).await.unwrap();
    let err = backend.force_unlock().await.unwrap_err();
    let StateError::Locked { holder, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(&**holder, live.info());
    assert!(backend.lock_path().exists(), "the live lock stays");
    assert!(
        backend.lock(LockInfo::new("plan")).await.is_err(),
        "and still locks others out"
    );
    drop(live);

    // Its holder gone (the flock released, the file left as after SIGKILL):
    // removed.
    let mut info = LockInfo::new("apply");
    info.pid = 999_999;
    fs::write(backend.lock_path(), serde_json::to_vec(&info).unwrap()).unwrap();
    assert_eq!(backend.force_unlock().await.unwrap(), Some(info));
    assert!(!backend.lock_path().exists());
}

#[tokio::test]
async fn state_break_lock_returns_the_holder() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    assert_eq!(backend.break_lock().await.unwrap(), None);
    assert_eq!(backend.force_unlock().await.unwrap(), None);

    let stale = backend.lock(LockInfo::new("apply")).await.unwrap();
    let removed = backend.break_lock().await.unwrap();
    assert_eq!(removed.as_ref(), Some(stale.info()));
    assert!(!backend.lock_path().exists());

    // The next run can lock, and the stale guard going away later does not
    // remove the new holder's lock.
    let fresh = backend.lock(LockInfo::new("plan")).await.unwrap();
    let fresh_ino = fs::metadata(backend.lock_path()).unwrap().ino();
    drop(stale);
    assert_eq!(fs::metadata(backend.lock_path()).unwrap().ino(), fresh_ino);
    assert!(backend.lock(LockInfo::new("destroy")).await.is_err());
    drop(fresh);

    // A lock file with no readable holder is still removed.
    fs::write(backend.lock_path(), "garbage").unwrap();
    assert_eq!(
        backend.force_unlock().await.unwrap(),
        Some(LockInfo::unknown())
    );
    assert!(!backend.lock_path().exists());
}

#[test]
fn state_timestamps_are_rfc3339_utc() {
    assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    assert_eq!(format_rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    assert_eq!(format_rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    assert_eq!(format_rfc3339(-1), "1969-12-31T23:59:59Z");
    let now = rfc3339_now();
    assert_eq!(now.len(), 20);
    assert!(now.starts_with("20") && now.ends_with('Z'), "{now}");
}

#[tokio::test]
async fn the_local_journal_appends_one_private_line_per_entry() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    assert!(backend.read_journal().await.unwrap().is_empty());
    let entry = |id: &str| JournalEntry {
        format_version: 1,
        id: id.into(),
        operation: "apply".into(),
        stack: "s".into(),
        started_at: "2026-01-01T00:00:00Z".into(),
        finished_at: "2026-01-01T00:00:01Z".into(),
        duration_ms: 1000,
        caller_arn: "arn:aws:iam::000000000000:root".into(),
        user: "u".into(),
        host: "h".into(),
        plan_digest: "sha256:00".into(),
        outcome: "succeeded".into(),
        serial: 1,
        resources: Vec::new(),
    };
    backend.append_journal(&entry("first")).await.unwrap();
    backend.append_journal(&entry("second")).await.unwrap();
    let read = backend.read_journal().await.unwrap();
    assert_eq!(read, vec![entry("first"), entry("second")]);
    assert_eq!(mode_of(&backend.journal_path()), 0o600);
    let text = fs::read_to_string(backend.journal_path()).unwrap();
    assert_eq!(text.lines().count(), 2);
}

#[test]
fn a_lock_held_by_a_cloud_identity_names_it() {
    let info = LockInfo::new("apply").with_identity(Some("arn:aws:iam::1:user/ci".into()));
    assert!(
        info.to_string()
            .contains("as arn:aws:iam::1:user/ci for apply"),
        "{info}"
    );
}

#[tokio::test]
async fn saving_at_the_largest_serial_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut state = sample();
    state.serial = u64::MAX;
    let err = backend.save(&mut state).await.unwrap_err();
    assert!(matches!(err, StateError::SerialExhausted { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains(&u64::MAX.to_string()), "{msg}");
    assert!(msg.contains(backend.path.to_str().unwrap()), "{msg}");
    assert_eq!(state.serial, u64::MAX);
    assert!(!backend.path.exists(), "nothing written");
    assert_eq!(next_serial(41, &backend.path).unwrap(), 42);
}

#[tokio::test]
async fn saving_through_a_symlinked_state_path_writes_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("shared");
    fs::create_dir(&shared).unwrap();
    let real = LocalBackend::new(shared.join("prod.json"));
    let mut state = sample();
    real.save(&mut state).await.unwrap();

    // spec/stackd.state.json -> ../shared/prod.json (a relative link).
    let spec = dir.path().join("spec");
    fs::create_dir(&spec).unwrap();
    let link = spec.join(STATE_FILE_NAME);
    std::os::unix::fs::symlink("../shared/prod.json", &link).unwrap();
    let linked = LocalBackend::new(&link);
    let mut loaded = linked.load().await.unwrap().unwrap();
    assert_eq!(loaded.serial, 1);
    linked.save(&mut loaded).await.unwrap();

    assert!(
        fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "the link is still a link"
    );
    assert_eq!(real.load().await.unwrap().unwrap().serial, 2);
    assert_eq!(mode_of(&real.path), 0o600);
    let same = |a: &Path, b: &Path| {
        a.file_name() == b.file_name()
            && fs::canonicalize(a.parent().unwrap()).unwrap()
                == fs::canonicalize(b.parent().unwrap()).unwrap()
    };
    assert!(
        real.backup_path().exists(),
        "the backup is beside the target"
    );
    assert!(same(&linked.backup_path(), &real.backup_path()));
    assert!(same(&linked.journal_path(), &real.journal_path()));
    assert!(same(&linked.lock_path(), &real.lock_path()));
    // One lock, whichever path names the state.
    let guard = linked.lock(LockInfo::new("apply")).await.unwrap();
    assert!(real.lock(LockInfo::new("plan")).await.is_err());
    drop(guard);
    let leftovers: Vec<_> = fs::read_dir(&spec).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "nothing but the link beside it");
}

#[tokio::test]
async fn released_objects_round_trip_and_make_the_file_format_2() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut state = State::new("s");
    let addr: Address = "module.net[\"a\"].aws_subnet.s[1]".parse().unwrap();
    state.record(
        addr.clone(),
        ResourceState::new("subnet-1".to_string(), Value::Null),
    );
    backend.save(&mut state).await.unwrap();
    let text = fs::read_to_string(&backend.path).unwrap();
    assert!(text.contains("\"format_version\": 1"), "{text}");
    state.release(&addr);
    backend.save(&mut state).await.unwrap();
    let text = fs::read_to_string(&backend.path).unwrap();
    assert!(text.contains("\"format_version\": 2"), "{text}");
    let loaded = backend.load().await.unwrap().unwrap();
    assert!(loaded.resources.is_empty());
    assert_eq!(loaded.released, state.released);
    assert!(loaded.is_released("subnet-1"));
}

#[tokio::test]
async fn changes_saved_one_by_one_are_logged_replayed_and_compacted() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    let base = fs::read(backend.file_path()).unwrap();

    // A pending create, its object, a forgotten instance: one line each,
    // the file untouched.
    let bucket = addr("aws_s3_bucket.logs");
    st.begin_create(&bucket, &Value::map([("bucket", Value::from("logs"))]));
    backend.save_change(&mut st, &bucket).await.unwrap();
    st.record(bucket.clone(), ResourceState::new("logs", Value::Null));
    backend.save_change(&mut st, &bucket).await.unwrap();
    st.forget(&addr("aws_vpc.main"));
    backend
        .save_change(&mut st, &addr("aws_vpc.main"))
        .await
        .unwrap();
    assert_eq!(fs::read(backend.file_path()).unwrap(), base);
    let log = fs::read_to_string(backend.wal_path()).unwrap();
    assert_eq!(log.lines().count(), 3, "{log}");
    assert_eq!(mode_of(&backend.wal_path()), 0o600);

    // A load (after a crash, or by another command) sees every change.
    let loaded = backend.load().await.unwrap().unwrap();
    assert_eq!(loaded, st);

    // A full save holds them all and empties the log.
    backend.save(&mut st).await.unwrap();
    assert!(!backend.wal_path().exists());
    assert_eq!(backend.load().await.unwrap().unwrap(), st);

    // A log the crash kept after its full save: its records are older than
    // the file, and skipped.
    fs::write(backend.wal_path(), &log).unwrap();
    assert_eq!(backend.load().await.unwrap().unwrap(), st);
}

#[tokio::test]
async fn a_log_line_cut_short_is_dropped_a_gap_or_other_lineage_refused() {
    let dir = tempfile::tempdir().unwrap();
    let backend = LocalBackend::in_dir(dir.path());
    let mut st = sample();
    backend.save(&mut st).await.unwrap();
    let saved = st.clone();
    let one = addr("aws_s3_bucket.one");
    st.record(one.clone(), ResourceState::new("one", Value::Null));
    backend.save_change(&mut st, &one).await.unwrap();
    let after_one = st.clone();
    let two = addr("aws_s3_bucket.two");
    st.record(two.clone(), ResourceState::new("two", Value::Null));
    backend.save_change(&mut st, &two).await.unwrap();
    let log = fs::read_to_string(backend.wal_path()).unwrap();
    let lines: Vec<&str> = log.lines().collect();

    // The second write cut short by a crash: only the first change holds.
    fs::write(
        backend.wal_path(),
        format!("{}\n{}", lines[0], &lines[1][..lines[1].len() / 2]),
    )
    .unwrap();
    assert_eq!(backend.load().await.unwrap().unwrap(), after_one);

    // A missing record is an error naming the line, not a guess.
    fs::write(backend.wal_path(), format!("{}\n", lines[1])).unwrap();
    let err = backend.load().await.unwrap_err().to_string();
    assert!(
        err.contains("line 1") && err.contains("changes are missing"),
        "{err}"
    );

    // Another state's log is refused.
    let other = lines[0].replace(&saved.lineage, "another-lineage");
    fs::write(backend.wal_path(), format!("{other}\n")).unwrap();
    let err = backend.load().await.unwrap_err().to_string();
    assert!(err.contains("another-lineage"), "{err}");

    // Without a log, the file as saved.
    fs::remove_file(backend.wal_path()).unwrap();
    assert_eq!(backend.load().await.unwrap().unwrap(), saved);
}
