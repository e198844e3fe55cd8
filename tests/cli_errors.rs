//! Mistakes and surprises a new user meets, each answered with a clear
//! message: a lock whose holder still runs, a state of another stack, an
//! AWS endpoint or credentials that are not there, a saved plan applied
//! without its variables, files git should not see.

use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::process::{Command, Output};

use crate::support::*;
use stackd_engine::state::{LocalBackend, LockInfo};

/// Runs the binary with no AWS set up at all (nothing here reaches AWS).
fn offline(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackd"));
    cmd.args(args).env("NO_COLOR", "1");
    for (k, v) in env {
        cmd.env(k, v);
    }
    output_of(cmd, &format!("stackd {}", args.join(" ")))
}

fn stderr_of(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_state(path: &Path, stack: &str) {
    let doc = serde_json::json!({
        "format_version": 1,
        "stackd_version": "0.1.0",
        "lineage": "6f1c2d3e-0000-4000-8000-000000000002",
        "serial": 3,
        "stack": stack,
        "resources": [],
        "outputs": {"vpc_id": {"value": "vpc-0123", "sensitive": false}}
    });
    std::fs::write(path, serde_json::to_vec(&doc).expect("json")).expect("write state");
}

#[test]
fn force_unlock_refuses_a_lock_whose_holder_still_runs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path().to_str().expect("utf-8");
    let backend = LocalBackend::in_dir(dir.path());
    // A live holder: the flock taken on its own open file, its info written.
    let held = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(backend.lock_path())
        .expect("lock file");
    // SAFETY: flock on a descriptor owned by `held`.
    assert_eq!(
        unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let mut info = LockInfo::new("apply");
    info.pid = 4242;
    info.host = "build-7".into();
    info.who = "alice".into();
    std::fs::write(
        backend.lock_path(),
        serde_json::to_vec(&info).expect("json"),
    )
    .expect("lock info");

    let out = offline(&["force-unlock", d], &[]);
    let msg = stderr_of(&out);
    assert_eq!(out.status.code(), Some(1), "{msg}");
    for part in [
        "still running",
        "alice@build-7",
        "pid 4242",
        "apply",
        "--force",
    ] {
        assert!(msg.contains(part), "{part:?} not in {msg}");
    }
    assert!(backend.lock_path().exists(), "the live lock stays");

    let out = offline(&["force-unlock", d, "--force"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(stdout(&out).contains("pid 4242"), "{}", stdout(&out));
    assert!(!backend.lock_path().exists());
    drop(held);

    // A lock left by a process that is gone goes without --force.
    std::fs::write(
        backend.lock_path(),
        serde_json::to_vec(&info).expect("json"),
    )
    .expect("stale lock");
    let out = offline(&["force-unlock", d], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert!(!backend.lock_path().exists());
}

#[test]
fn reading_the_state_of_another_stack_warns() {
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("web");
    std::fs::create_dir(&spec).expect("spec dir");
    write_state(&spec.join("stackd.state.json"), "payments");
    let d = spec.to_str().expect("utf-8");
    for args in [
        vec!["state", "list", d],
        vec!["output", d],
        vec!["state", "pull", d],
    ] {
        let out = offline(&args, &[]);
        let msg = stderr_of(&out);
        assert_eq!(out.status.code(), Some(0), "{args:?}: {msg}");
        assert!(
            msg.contains("belongs to stack \"payments\", not to \"web\"")
                && msg.contains("--stack payments"),
            "{args:?}: {msg}"
        );
    }
    let out = offline(&["output", d, "--stack", "payments"], &[]);
    assert!(!stderr_of(&out).contains("warning"), "{}", stderr_of(&out));
}

#[test]
fn every_file_kept_beside_a_state_is_ignored_by_git() {
    let spec = root().join("specs/some-new-spec");
    let backend = LocalBackend::in_dir(&spec);
    let tmp = spec.join(".stackd.state.json.0123456789abcdef.tmp");
    let backup_tmp = spec.join(".stackd.state.json.backup.0123456789abcdef.tmp");
    for path in [
        backend.path.clone(),
        backend.backup_path(),
        backend.lock_path(),
        backend.journal_path(),
        tmp,
        backup_tmp,
    ] {
        let out = Command::new("git")
            .args(["check-ignore", "--no-index", "-q"])
            .arg(&path)
            .current_dir(root())
            .output()
            .expect("run git check-ignore");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{} is not ignored by .gitignore",
            path.display()
        );
    }
}

#[test]
fn aws_failures_are_one_line_and_a_hint() {
    let network = root().join("specs/network");
    let d = network.to_str().expect("utf-8");
    let home = tempfile::tempdir().expect("empty home");
    let h = home.path().to_str().expect("utf-8");
    type Env<'a> = &'a [(&'a str, &'a str)];
    let cases: [(Env, &str, &str); 2] = [
        (
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
                ("AWS_ACCESS_KEY_ID", "test"),
                ("AWS_SECRET_ACCESS_KEY", "test"),
            ],
            "cannot reach the ec2 endpoint http://127.0.0.1:9",
            "hint: AWS_ENDPOINT_URL",
        ),
        (
            &[
                ("AWS_ENDPOINT_URL", "http://127.0.0.1:9"),
                ("AWS_EC2_METADATA_DISABLED", "true"),
                ("AWS_CONFIG_FILE", "/nonexistent/config"),
                ("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"),
                ("HOME", h),
            ],
            "no AWS credentials found",
            "hint: configure them",
        ),
    ];
    for (env, cause, hint) in cases {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackd"));
        cmd.args(["diff", d, "--stack", "errors"])
            .env("NO_COLOR", "1")
            .env("AWS_REGION", "us-east-1")
            .env_remove("AWS_ACCESS_KEY_ID")
            .env_remove("AWS_SECRET_ACCESS_KEY")
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd.output().expect("run stackd");
        let msg = stderr_of(&out);
        assert_eq!(out.status.code(), Some(1), "{msg}");
        assert!(msg.contains(cause), "{cause:?} not in {msg}");
        assert!(msg.contains(hint), "{hint:?} not in {msg}");
        for dump in ["DispatchFailure(", "ConnectorError", "SdkBody", "Request {"] {
            assert!(!msg.contains(dump), "a Debug dump: {msg}");
        }
        let errors: Vec<&str> = msg.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "one error line: {msg}");
    }
}

#[test]
fn a_saved_plan_carries_its_variables_and_never_prints_them() {
    require_localstack();
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = dir.path().join("spec");
    std::fs::create_dir(&spec).expect("spec dir");
    std::fs::write(
        spec.join("main.tf"),
        "variable \"token\" {\n  type      = string\n  sensitive = true\n}\n\n\
         variable \"replicas\" {\n  type = number\n}\n\n\
         resource \"null_resource\" \"app\" {\n  triggers = {\n    token    = var.token\n    \
         replicas = var.replicas\n  }\n}\n",
    )
    .expect("write spec");
    let d = spec.to_str().expect("utf-8");
    let stack = unique_stack("vars");
    let plan = dir.path().join("plan.json");
    let p = plan.to_str().expect("utf-8");
    let secret = "s3cr3t-t0ken-value";
    let token = format!("--var=token={secret}");

    for format in ["text", "json", "markdown"] {
        let out = run_ok(
            &[
                "diff",
                d,
                "--stack",
                &stack,
                &token,
                "--var",
                "replicas=3",
                "--out",
                p,
                "--format",
                format,
            ],
            0,
        );
        assert!(!stdout(&out).contains(secret), "{format} shows the secret");
        assert!(!stderr_of(&out).contains(secret));
    }
    let meta = std::fs::metadata(&plan).expect("plan saved");
    assert_eq!(
        meta.permissions().mode() & 0o777,
        0o600,
        "the plan is private"
    );
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&plan).expect("read plan")).expect("json");
    assert_eq!(doc["variables"]["token"]["value"], secret);
    assert_eq!(doc["variables"]["replicas"]["value"], 3);

    // Applied as saved, without repeating the variables.
    let refused = run(&["apply", p, "--var", "replicas=4"]);
    assert_eq!(refused.status.code(), Some(64), "{}", stderr_of(&refused));
    let out = run_ok(&["apply", p], 0);
    assert!(!stdout(&out).contains(secret) && !stderr_of(&out).contains(secret));
    let state = std::fs::read_to_string(spec.join("stackd.state.json")).expect("state");
    assert!(state.contains("\"null_resource.app\""), "{state}");
    let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
        .expect("temp dir")
        .filter_map(|e| e.ok())
        .filter(|e| {
            std::fs::read_to_string(e.path().join("saved-plan.tfvars.json"))
                .is_ok_and(|text| text.contains(secret))
        })
        .collect();
    assert!(left.is_empty(), "the variables file was removed: {left:?}");
    run_ok(
        &[
            "destroy",
            d,
            "--stack",
            &stack,
            &token,
            "--var",
            "replicas=3",
            "--auto-approve",
        ],
        0,
    );
}
