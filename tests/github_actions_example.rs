//! The example GitHub Actions workflow (examples/github-actions), run
//! against LocalStack: the same script the workflow's jobs call, in the
//! same order (pull request, merge to main, the next pull request), with
//! state in S3. The cloud is checked with the SDK.

use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;

/// Runs the workflow's script as a job would, with the emulator's
/// credentials in place of the OIDC role.
fn job(mode: &str, env: &[(&str, &str)]) -> Output {
    let script = root().join("examples/github-actions/stackd-ci.sh");
    let mut cmd = Command::new("bash");
    cmd.arg(&script)
        .arg(mode)
        .env("STACKD", env!("CARGO_BIN_EXE_stackd"));
    for_localstack(&mut cmd);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run stackd-ci.sh");
    eprintln!(
        "$ stackd-ci.sh {mode}\n--- exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn the_workflow_runs_the_script_in_each_job() {
    let workflow = read(&root().join("examples/github-actions/stackd.yml"));
    let plan_job = workflow
        .split("\n  apply:")
        .next()
        .expect("a plan job before the apply job");
    assert!(plan_job.contains("if: github.event_name == 'pull_request'"));
    assert!(plan_job.contains("bash examples/github-actions/stackd-ci.sh pr"));
    assert!(plan_job.contains("gh pr comment"));
    let apply_job = workflow.split("\n  apply:").nth(1).expect("an apply job");
    assert!(apply_job.contains("github.ref == 'refs/heads/main'"));
    assert!(apply_job.contains("bash examples/github-actions/stackd-ci.sh main"));
    assert!(workflow.contains("STACKD_BACKEND: ${{ vars.STACKD_STATE }}"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pull_request_then_merge_then_pull_request_against_localstack() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("gha");
    let bucket = format!("{stack}-state");
    create_bucket(&s3, &bucket).await;
    let spec = copy_spec(&root().join("specs/network"));
    let work = tempfile::tempdir().expect("temp dir");
    let comment = work.path().join("stackd-plan.md");
    let outputs = work.path().join("github-output");
    let backend = format!("s3://{bucket}/network/stackd.state.json");
    let env = [
        ("STACKD_SPEC", spec.path().to_str().expect("utf-8")),
        ("STACKD_BACKEND", backend.as_str()),
        ("STACKD_STACK", stack.as_str()),
        ("STACKD_COMMENT", comment.to_str().expect("utf-8")),
        ("GITHUB_OUTPUT", outputs.to_str().expect("utf-8")),
    ];

    // The pull request: the dry run passes, the comment shows the plan.
    let out = job("pr", &env);
    assert_eq!(out.status.code(), Some(0));
    let body = read(&comment);
    assert!(body.contains("### stackd plan:"), "{body}");
    assert!(
        body.contains("| Add | Change | Replace | Destroy |"),
        "{body}"
    );
    assert!(body.contains("<code>aws_vpc.main</code>"), "{body}");
    assert!(
        body.contains("Dry run: the plan would go through"),
        "{body}"
    );
    assert!(read(&outputs).contains("changes=true"));
    assert_eq!(
        stack_vpcs(&stack).await,
        0,
        "the pull request changed nothing"
    );
    assert!(
        get_object(&s3, &bucket, "network/stackd.state.json")
            .await
            .is_none(),
        "nor wrote any state"
    );

    // The merge: applied, state in S3.
    let out = job("main", &env);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stack_vpcs(&stack).await, 1);
    assert!(get_object(&s3, &bucket, "network/stackd.state.json")
        .await
        .is_some());

    // The next pull request, with nothing changed: "No changes".
    std::fs::remove_file(&outputs).expect("reset outputs");
    let out = job("pr", &env);
    assert_eq!(out.status.code(), Some(0));
    let body = read(&comment);
    assert!(body.contains("**No changes.**"), "{body}");
    assert!(read(&outputs).contains("changes=false"));

    // One journal entry: the merge's apply.
    let out = run_ok(&["log", "--backend", &backend, "--json"], 0);
    assert_eq!(stdout(&out).lines().count(), 1, "{}", stdout(&out));

    let d = spec.path().to_str().expect("utf-8");
    run_ok(
        &[
            "destroy",
            d,
            "--stack",
            &stack,
            "--backend",
            &backend,
            "--auto-approve",
        ],
        0,
    );
    assert!(tagged_resources(&ec2().await, &stack).await.is_empty());
    delete_bucket(&s3, &bucket).await;
}
