//! State in S3, against LocalStack: two runners at once (one proceeds, the
//! other fails at once naming the holder), a stale lock and force-unlock,
//! saved plans that are applied exactly or refused, the journal, and moving
//! a state between backends. The cloud and the bucket are checked with the
//! SDK directly.

use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};

use crate::support::*;

/// A VPC, three subnets and a step that holds the run for a few seconds
/// (so that a second runner started at the same moment meets the lock).
fn spec(dir: &Path, backend: Option<(&str, &str)>, extra: &str) {
    let backend = backend
        .map(|(bucket, key)| s3_backend(bucket, key))
        .unwrap_or_default();
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"{backend}
resource "aws_vpc" "main" {{
  cidr_block = "10.77.0.0/16"
}}
resource "aws_subnet" "s" {{
  count      = 3
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.77.${{count.index}}.0/24"
}}
resource "null_resource" "hold" {{
  triggers = {{ vpc = aws_vpc.main.id }}
  provisioner "local-exec" {{
    command = "sleep 4"
  }}
}}
{extra}"#
        ),
    )
    .expect("write spec");
}

/// Starts stackd without waiting, its output captured.
fn spawn_stackd(args: &[&str]) -> std::process::Child {
    stackd(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("start stackd")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

async fn state_doc(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> serde_json::Value {
    let bytes = get_object(s3, bucket, key)
        .await
        .expect("the state object exists");
    serde_json::from_slice(&bytes).expect("the state object is JSON")
}

async fn journal_lines(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<serde_json::Value> {
    let bytes = get_object(s3, bucket, &format!("{key}.journal.jsonl"))
        .await
        .unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .lines()
        .map(|l| serde_json::from_str(l).expect("journal lines are JSON"))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn two_applies_on_one_s3_stack_one_proceeds_the_other_fails_naming_the_holder() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("lock");
    let bucket = format!("{stack}-state");
    let key = "env/test/stackd.state.json";
    create_bucket(&s3, &bucket).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    spec(&dir, Some((&bucket, key)), "");
    let d = dir.to_str().expect("utf-8 path");
    let me = caller_arn().await;

    // Both started at the same moment.
    let args = ["apply", d, "--stack", &stack, "--auto-approve"];
    let start = Instant::now();
    let (a, b) = (spawn_stackd(&args), spawn_stackd(&args));
    let wait = |c: std::process::Child| {
        let out = c.wait_with_output().expect("wait for stackd");
        (out, start.elapsed())
    };
    let (ta, tb) = std::thread::scope(|s| {
        let ha = s.spawn(|| wait(a));
        let hb = s.spawn(|| wait(b));
        (ha.join().expect("join"), hb.join().expect("join"))
    });
    for (o, t) in [&ta, &tb] {
        eprintln!(
            "--- exit {:?} after {t:?}\n{}\n{}",
            o.status.code(),
            String::from_utf8_lossy(&o.stdout),
            stderr(o)
        );
    }
    let ((won, won_after), (lost, lost_after)) = if ta.0.status.success() {
        (ta, tb)
    } else {
        (tb, ta)
    };
    assert_eq!(won.status.code(), Some(0), "one run proceeds");
    assert_eq!(lost.status.code(), Some(1), "the other fails");
    let msg = stderr(&lost);
    assert!(msg.contains("state is locked"), "{msg}");
    assert!(
        msg.contains(&format!("as {me} for apply")),
        "names the holder's identity: {msg}"
    );
    assert!(
        lost_after < Duration::from_secs(10) && lost_after < won_after,
        "the loser fails at once ({lost_after:?}), not after the winner ({won_after:?})"
    );

    // One VPC, three subnets; state, journal and lock agree.
    assert_eq!(stack_vpcs(&stack).await, 1);
    assert_eq!(stack_subnets(&stack).await, 3);
    let state = state_doc(&s3, &bucket, key).await;
    let serial = state["serial"].as_u64().expect("serial");
    let resources = state["resources"].as_array().expect("resources").len();
    assert_eq!(resources, 5, "{state:#}");
    let journal = journal_lines(&s3, &bucket, key).await;
    assert_eq!(journal.len(), 1, "one run applied: {journal:#?}");
    assert_eq!(journal[0]["serial"].as_u64(), Some(serial));
    assert_eq!(journal[0]["caller_arn"].as_str(), Some(me.as_str()));
    assert!(
        get_object(&s3, &bucket, &format!("{key}.lock"))
            .await
            .is_none(),
        "the lock was released"
    );
    run_ok(&["diff", d, "--stack", &stack, "--detailed-exitcode"], 0);

    // A lock left by a runner that died: named, then cleared.
    let stale = serde_json::json!({
        "id": "11111111-2222-3333-4444-555555555555", "pid": 4242, "host": "ci-runner-7",
        "operation": "apply", "created_at": "2026-01-01T00:00:00Z", "who": "runner",
        "identity": "arn:aws:sts::000000000000:assumed-role/ci/run-9"
    });
    s3.put_object()
        .bucket(&bucket)
        .key(format!("{key}.lock"))
        .body(serde_json::to_vec(&stale).expect("json").into())
        .send()
        .await
        .expect("put stale lock");
    let out = run_ok(&["destroy", d, "--stack", &stack, "--auto-approve"], 1);
    let msg = stderr(&out);
    assert!(
        msg.contains(
            "runner@ci-runner-7 (pid 4242) as arn:aws:sts::000000000000:assumed-role/ci/run-9"
        ),
        "{msg}"
    );
    let out = run_ok(&["force-unlock", d], 0);
    assert!(stdout(&out).contains("ci-runner-7"), "{}", stdout(&out));

    run_ok(&["destroy", d, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
    assert_eq!(stack_subnets(&stack).await, 0);

    // The journal: one entry per apply and destroy, newest first, with who.
    let out = run_ok(&["log", d], 0);
    let table = stdout(&out);
    let rows: Vec<&str> = table.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{table}");
    assert!(
        rows[0].contains("destroy") && rows[0].contains("succeeded"),
        "{table}"
    );
    assert!(
        rows[1].contains("apply") && rows[1].contains("5 done"),
        "{table}"
    );
    assert!(rows.iter().all(|r| r.contains(&me)), "{table}");
    let out = run_ok(&["log", d, "--json"], 0);
    let entries: Vec<serde_json::Value> = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0]["operation"], "destroy");
    assert_eq!(journal_lines(&s3, &bucket, key).await.len(), 2);
    let destroyed: Vec<&str> = entries[0]["resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| r["outcome"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(destroyed, vec!["done"; 5]);

    delete_bucket(&s3, &bucket).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_plan_is_applied_exactly_and_refused_once_state_or_spec_moved() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("saved");
    let bucket = format!("{stack}-state");
    let key = "stackd.state.json";
    create_bucket(&s3, &bucket).await;
    let backend = format!("s3://{bucket}/{key}");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    spec(&dir, None, "");
    let d = dir.to_str().expect("utf-8 path");
    let plan = |name: &str| tmp.path().join(name).to_str().expect("utf-8").to_string();
    let common = ["--stack", stack.as_str(), "--backend", backend.as_str()];
    let with = |args: &[&str]| -> Vec<String> {
        args.iter()
            .chain(common.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let call = |args: &[&str], code: i32| {
        let v = with(args);
        run_ok(&v.iter().map(String::as_str).collect::<Vec<_>>(), code)
    };

    // Saved, then applied as saved: no prompt needed, no flags repeated.
    let p1 = plan("p1.json");
    call(&["diff", d, "--out", &p1], 0);
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&p1).expect("plan written")).expect("plan JSON");
    assert_eq!(doc["format_version"], 2);
    assert_eq!(doc["summary"]["add"], 5);
    assert_eq!(doc["prior_state"]["backend"], backend.as_str());
    run_ok(&["apply", &p1], 0);
    assert_eq!(stack_subnets(&stack).await, 3);

    // A plan made, then the state changed out of band: refused, nothing done.
    spec(
        &dir,
        None,
        "resource \"aws_subnet\" \"extra\" {\n  vpc_id     = aws_vpc.main.id\n  cidr_block = \"10.77.9.0/24\"\n}\n",
    );
    let p2 = plan("p2.json");
    call(&["diff", d, "--out", &p2, "--detailed-exitcode"], 2);
    let mut state = state_doc(&s3, &bucket, key).await;
    let serial = state["serial"].as_u64().expect("serial");
    state["serial"] = serde_json::json!(serial + 1);
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(serde_json::to_vec_pretty(&state).expect("json").into())
        .send()
        .await
        .expect("rewrite state out of band");
    let out = run_ok(&["apply", &p2], 1);
    let msg = stderr(&out);
    assert!(
        msg.contains("changed since the plan was made") && msg.contains("nothing was applied"),
        "{msg}"
    );
    assert_eq!(
        stack_subnets(&stack).await,
        3,
        "the refused plan created nothing"
    );

    // A plan made, then the spec edited: refused.
    let p3 = plan("p3.json");
    call(&["diff", d, "--out", &p3], 0);
    let main = dir.join("main.tf");
    let text = std::fs::read_to_string(&main).expect("read spec");
    std::fs::write(&main, text.replace("10.77.9.0/24", "10.77.8.0/24")).expect("edit spec");
    let out = run_ok(&["apply", &p3], 1);
    assert!(
        stderr(&out).contains("changed since the plan"),
        "{}",
        stderr(&out)
    );
    assert_eq!(stack_subnets(&stack).await, 3);

    // A plan made, then the cloud drifted: the re-plan differs, refused.
    let p4 = plan("p4.json");
    call(&["diff", d, "--out", &p4], 0);
    let ec2 = ec2().await;
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("describe subnets");
    let victim = subnets.subnets()[0].subnet_id().expect("id").to_string();
    ec2.delete_subnet()
        .subnet_id(&victim)
        .send()
        .await
        .expect("delete a subnet out of band");
    let out = run_ok(&["apply", &p4], 1);
    let msg = stderr(&out);
    assert!(msg.contains("no longer matches"), "{msg}");
    assert!(
        msg.contains("aws_subnet.s["),
        "names the drifted address: {msg}"
    );

    // A fresh plan goes through; the journal records its digest.
    let p5 = plan("p5.json");
    call(&["diff", d, "--out", &p5], 0);
    let digest = serde_json::from_slice::<serde_json::Value>(&std::fs::read(&p5).expect("p5"))
        .expect("json")["plan_digest"]
        .as_str()
        .expect("digest")
        .to_string();
    run_ok(&["apply", &p5], 0);
    assert_eq!(stack_subnets(&stack).await, 4);
    let journal = journal_lines(&s3, &bucket, key).await;
    assert_eq!(
        journal.last().expect("entry")["plan_digest"],
        digest.as_str()
    );

    // Moving the state to a local file and back keeps it whole.
    let pulled = tmp.path().join("pulled.json");
    let out = call(&["state", "pull", d], 0);
    std::fs::write(&pulled, &out.stdout).expect("save pulled state");
    let local = tmp.path().join("local.json");
    let local_url = format!("file://{}", local.display());
    run_ok(
        &[
            "state",
            "push",
            pulled.to_str().expect("utf-8"),
            "--backend",
            &local_url,
        ],
        0,
    );
    let list = |args: &[&str]| stdout(&run_ok(args, 0));
    assert_eq!(
        list(&["state", "list", d, "--backend", &local_url]),
        list(&["state", "list", d, "--backend", &backend])
    );
    // Pushing another lineage over it is refused.
    let other = tmp.path().join("other.json");
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&pulled).expect("pulled")).expect("json");
    doc["lineage"] = serde_json::json!("00000000-0000-0000-0000-000000000000");
    std::fs::write(&other, serde_json::to_vec(&doc).expect("json")).expect("write");
    let out = run_ok(
        &[
            "state",
            "push",
            other.to_str().expect("utf-8"),
            "--backend",
            &backend,
        ],
        1,
    );
    assert!(stderr(&out).contains("lineage"), "{}", stderr(&out));

    call(&["destroy", d, "--auto-approve"], 0);
    assert_eq!(stack_subnets(&stack).await, 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
    delete_bucket(&s3, &bucket).await;
}

/// Regression: a CI runner cancelling a job (SIGTERM) used to kill stackd
/// with its S3 lock still in place, blocking every later run. Now the
/// operations in flight finish, the state and journal are written and the
/// lock is released.
#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_run_releases_its_s3_lock() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("term");
    let bucket = format!("{stack}-state");
    let key = "stackd.state.json";
    create_bucket(&s3, &bucket).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    spec(&dir, Some((&bucket, key)), "");
    let d = dir.to_str().expect("utf-8 path");

    let child = spawn_stackd(&["apply", d, "--stack", &stack, "--auto-approve"]);
    // Well inside the 4-second provisioner, after the lock was taken.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        get_object(&s3, &bucket, &format!("{key}.lock"))
            .await
            .is_some(),
        "the run holds the lock"
    );
    let pid = child.id().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("send SIGTERM");
    assert!(killed.success());
    let out = child.wait_with_output().expect("wait for stackd");
    eprintln!(
        "--- exit {:?}\n{}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(stderr(&out).contains("Interrupted"), "{}", stderr(&out));
    assert!(
        get_object(&s3, &bucket, &format!("{key}.lock"))
            .await
            .is_none(),
        "the lock was released"
    );
    let journal = journal_lines(&s3, &bucket, key).await;
    assert_eq!(journal.len(), 1, "{journal:#?}");
    let state = state_doc(&s3, &bucket, key).await;
    assert_eq!(journal[0]["serial"], state["serial"]);

    // The next run picks up where it stopped and leaves nothing behind.
    run_ok(&["apply", d, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 1);
    run_ok(&["destroy", d, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
    delete_bucket(&s3, &bucket).await;
}

/// The S3 operations of one stackd run, from its call log.
fn s3_calls(args: &[&str], log: &Path) -> std::collections::BTreeMap<String, usize> {
    let _ = std::fs::remove_file(log);
    // LocalStack has no request limits: unpaced, the 110 parameters below
    // go in seconds.
    let out = stackd(args)
        .env("STACKD_AWS_CALL_LOG", log)
        .env("STACKD_AWS_RATE_LIMITS", "off")
        .output()
        .expect("run stackd");
    assert!(out.status.success(), "{}", stderr(&out));
    call_counts(log)
        .into_iter()
        .filter_map(|(op, n)| Some((op.strip_prefix("s3:")?.to_string(), n)))
        .collect()
}

/// How many times the state object itself was written (the bucket is
/// versioned): full writes, not change objects.
async fn state_versions(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> usize {
    let out = s3
        .list_object_versions()
        .bucket(bucket)
        .prefix(key)
        .send()
        .await
        .expect("ListObjectVersions");
    out.versions()
        .iter()
        .filter(|v| v.key() == Some(key))
        .count()
}

async fn change_objects(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> usize {
    s3.list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{key}.changes/"))
        .send()
        .await
        .expect("list change objects")
        .contents()
        .len()
}

fn parameters_spec(dir: &Path, bucket: &str, key: &str, stack: &str, n: usize, extra: &str) {
    let backend = s3_backend(bucket, key);
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"{backend}
resource "aws_ssm_parameter" "p" {{
  count = {n}
  name  = "/{stack}/p${{count.index}}"
  type  = "String"
  value = "v${{count.index}}"
}}
{extra}"#
        ),
    )
    .expect("write spec");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_apply_on_s3_state_writes_changes_not_states() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("s3w");
    let bucket = format!("{stack}-state");
    let key = "stackd.state.json";
    create_bucket(&s3, &bucket).await;
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            aws_sdk_s3::types::VersioningConfiguration::builder()
                .status(aws_sdk_s3::types::BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("versioning");
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    // 2N changes: past MAX_CHANGES (200), so once written whole midway.
    const N: usize = 110;
    parameters_spec(&dir, &bucket, key, &stack, N, "");
    let d = dir.to_str().expect("utf-8 path");
    let log = tmp.path().join("calls.jsonl");

    // Each change is a small change object; the state object is written
    // when there is none yet, after MAX_CHANGES changes, and at the end:
    // three times. Written per change, it would be 2N + 1 versions.
    let applied = s3_calls(&["apply", d, "--stack", &stack, "--auto-approve"], &log);
    eprintln!("apply: {applied:?}");
    let versions = state_versions(&s3, &bucket, key).await;
    assert!(
        (3..=4).contains(&versions),
        "the state object was written {versions} times for {N} creates"
    );
    assert_eq!(
        change_objects(&s3, &bucket, key).await,
        0,
        "the final write removed the change objects"
    );
    let doc = state_doc(&s3, &bucket, key).await;
    assert_eq!(doc["resources"].as_array().map(Vec::len), Some(N), "{doc}");

    let destroyed = s3_calls(&["destroy", d, "--stack", &stack, "--auto-approve"], &log);
    eprintln!("destroy: {destroyed:?}");
    let versions = state_versions(&s3, &bucket, key).await - versions;
    assert!(
        versions <= 2,
        "the state object was written {versions} times for {N} deletes"
    );
    let doc = state_doc(&s3, &bucket, key).await;
    assert_eq!(
        doc["resources"].as_array().map(Vec::len).unwrap_or(0),
        0,
        "{doc}"
    );
}

/// A runner whose state object was rewritten under it (it lost its lock)
/// stops before its next create call: its change objects cannot carry
/// `If-Match`, so it checks the state object after each pending create.
#[tokio::test(flavor = "multi_thread")]
async fn a_runner_whose_s3_state_was_rewritten_stops_before_its_next_create() {
    require_localstack();
    let s3 = s3().await;
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let stack = unique_stack("s3f");
    let bucket = format!("{stack}-state");
    let key = "stackd.state.json";
    create_bucket(&s3, &bucket).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    // The parameter waits for a step that holds the run for 6 s.
    parameters_spec(
        &dir,
        &bucket,
        key,
        &stack,
        0,
        &format!(
            r#"resource "null_resource" "hold" {{
  provisioner "local-exec" {{
    command = "sleep 6"
  }}
}}
resource "aws_ssm_parameter" "after" {{
  name       = "/{stack}/after"
  type       = "String"
  value      = "v"
  depends_on = [null_resource.hold]
}}
"#
        ),
    );
    let d = dir.to_str().expect("utf-8 path");
    let child = spawn_stackd(&["apply", d, "--stack", &stack, "--auto-approve"]);
    // Inside the hold (once the run has written the state object): another
    // run rewrites it.
    let started = Instant::now();
    while get_object(&s3, &bucket, key).await.is_none() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the run never wrote its state"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut doc = state_doc(&s3, &bucket, key).await;
    doc["serial"] = serde_json::json!(doc["serial"].as_u64().expect("serial") + 10);
    s3.put_object()
        .bucket(&bucket)
        .key(key)
        .body(serde_json::to_vec(&doc).expect("json").into())
        .send()
        .await
        .expect("rewrite the state");
    let out = child.wait_with_output().expect("wait for stackd");
    let err = stderr(&out);
    eprintln!("--- exit {:?}\n{err}", out.status.code());
    assert_ne!(out.status.code(), Some(0), "the run went on: {err}");
    assert!(err.contains("another run changed it"), "{err}");
    let after = ssm
        .get_parameter()
        .name(format!("/{stack}/after"))
        .send()
        .await;
    assert!(after.is_err(), "the parameter was created: {after:?}");
}
