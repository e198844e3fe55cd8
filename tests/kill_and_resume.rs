//! SIGKILL `stackd apply` part way through, run it again, and show every
//! resource exists exactly once: nothing duplicated, nothing untracked.

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::support::*;

const RESOURCES: usize = 1 + 10 + 1 + 10 + 6 + 6;

/// Starts an apply and kills it with SIGKILL once `kill_after` creates have
/// been started; returns the lines it printed.
fn apply_and_kill(dir: &str, stack: &str, kill_after: usize) -> Vec<String> {
    let mut child = stackd(&[
        "apply",
        dir,
        "--stack",
        stack,
        "--auto-approve",
        "--parallelism",
        "3",
    ])
    .stderr(Stdio::piped())
    .stdout(Stdio::null())
    .spawn()
    .expect("spawn stackd");
    let stderr = child.stderr.take().expect("stderr");
    let mut lines = Vec::new();
    let mut started = 0;
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.ends_with(": creating...") {
            started += 1;
        }
        lines.push(line);
        if started >= kill_after {
            child.kill().expect("SIGKILL stackd");
            break;
        }
    }
    let status = child.wait().expect("wait");
    assert!(
        !status.success(),
        "stackd was killed before it finished: {lines:?}"
    );
    lines
}

/// Kills an apply twice at different points (in the middle of subnets,
/// and later), running `after_each` after each kill.
fn kill_twice(dir: &str, stack: &str, after_each: impl Fn()) {
    for kill_after in [4, 15] {
        let lines = apply_and_kill(dir, stack, kill_after);
        eprintln!(
            "killed after {kill_after} creates started:\n{}",
            lines.join("\n")
        );
        after_each();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_apply_resumes_without_duplicates() {
    require_localstack();
    let spec = copy_spec(&root().join("tests/fixtures/many"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("kill");
    let ec2 = ec2().await;

    kill_twice(&dir, &stack, || {});
    let partial = tagged_resources(&ec2, &stack).await;
    assert!(!partial.is_empty(), "something was created before the kill");
    // The killed runs' changes are in the state's log, not yet compacted
    // into the file: the resume below reads them from there.
    let log = spec.path().join("stackd.state.json.wal");
    assert!(
        std::fs::read_to_string(&log).is_ok_and(|l| l.lines().count() > 0),
        "no state log at {}",
        log.display()
    );

    // Resume.
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(
        !log.exists(),
        "the log is compacted by the apply's last save"
    );

    assert_each_once(&ec2, &stack, &dir).await;

    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
    let left = tagged_resources(&ec2, &stack).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// Every resource of the `many` fixture exists exactly once, seen by the
/// SDK; the state tracks each, and the cloud matches it.
async fn assert_each_once(ec2: &aws_sdk_ec2::Client, stack: &str, dir: &str) {
    // Exactly once each, seen by the SDK.
    let all = tagged_resources(ec2, stack).await;
    let counts = count_by_kind(&all);
    assert_eq!(counts.get("vpc"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("subnet"), Some(&10), "{counts:?}");
    assert_eq!(counts.get("rtb"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("sg"), Some(&6), "{counts:?}");
    let rtb = &all.iter().find(|(k, _)| k == "rtb").expect("route table").1;
    let tables = ec2
        .describe_route_tables()
        .route_table_ids(rtb)
        .send()
        .await
        .unwrap();
    let assoc = tables.route_tables()[0]
        .associations()
        .iter()
        .filter(|a| a.subnet_id().is_some())
        .count();
    assert_eq!(assoc, 10, "each subnet associated once");
    let sg_ids: Vec<String> = all
        .iter()
        .filter(|(k, _)| k == "sg")
        .map(|(_, id)| id.clone())
        .collect();
    let rules = ec2
        .describe_security_group_rules()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-id")
                .set_values(Some(sg_ids))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let ingress = rules
        .security_group_rules()
        .iter()
        .filter(|r| r.is_egress() == Some(false))
        .count();
    assert_eq!(ingress, 6, "each rule once");

    // State tracks every resource, and the cloud matches it.
    let out = run_ok(&["state", "list", dir], 0);
    assert_eq!(stdout(&out).lines().count(), RESOURCES, "{}", stdout(&out));
    run_ok(&["diff", dir, "--stack", stack, "--detailed-exitcode"], 0);
}

/// The same with the state in S3: each change is a small change object
/// beside the state object, which the resume replays.
#[tokio::test(flavor = "multi_thread")]
async fn killed_apply_with_state_in_s3_resumes_without_duplicates() {
    require_localstack();
    let spec = copy_spec(&root().join("tests/fixtures/many"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("kills3");
    let s3 = s3().await;
    let bucket = format!("{stack}-state");
    let key = "stackd.state.json";
    create_bucket(&s3, &bucket).await;
    std::fs::write(spec.path().join("backend.tf"), s3_backend(&bucket, key))
        .expect("write backend");
    let ec2 = ec2().await;

    // A killed run leaves its lock in S3.
    kill_twice(&dir, &stack, || {
        run_ok(&["force-unlock", &dir], 0);
    });
    assert!(
        !tagged_resources(&ec2, &stack).await.is_empty(),
        "something was created before the kill"
    );
    assert!(
        get_object(&s3, &bucket, key).await.is_some(),
        "the first change wrote the state object"
    );
    // The pending creates since are small change objects beside it.
    let changes = change_objects(&s3, &bucket, key).await;
    assert!(!changes.is_empty(), "no change objects after the kills");
    for (name, size) in &changes {
        assert!(*size < 4096, "{name} holds {size} bytes: not one change");
    }

    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    assert_each_once(&ec2, &stack, &dir).await;
    assert_eq!(
        change_objects(&s3, &bucket, key).await,
        Vec::new(),
        "the apply's full save removes the change objects"
    );

    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
    let left = tagged_resources(&ec2, &stack).await;
    assert!(left.is_empty(), "left behind: {left:?}");
}

/// The state's change objects in S3 (`<key>.changes/`), with their sizes.
async fn change_objects(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<(String, i64)> {
    let out = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix(format!("{key}.changes/"))
        .send()
        .await
        .expect("list change objects");
    out.contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap_or_default().to_string(),
                o.size().unwrap_or(0),
            )
        })
        .collect()
}
