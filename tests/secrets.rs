//! No secret printed: every command is run on a spec whose sensitive
//! variable flows into a SecureString parameter, one of its tags and a
//! sensitive output, with distinctive AWS credentials and with trace
//! logging on. The value may appear only in the state file (and its
//! backup) and where the user asked for it: `output NAME`, `output --json`
//! (Terraform's contract for orchestrators) and `state pull` (the state
//! document itself). The credentials appear nowhere. The cloud is checked
//! with the SDK: the parameter really holds the value.

use std::path::Path;
use std::process::Output;

use crate::support::*;

/// Distinctive enough that a match is never a coincidence.
const SECRET: &str = "Zx9-stackd-secret-Qv7";
/// Not AKIA-shaped: LocalStack maps such key IDs to its default account.
const KEY_ID: &str = "STACKDKEYIDQ7W3";
const SECRET_KEY: &str = "stackdSecretAccessKeyR4t8";
const SESSION_TOKEN: &str = "stackdSessionTokenM2p6";

struct Run {
    what: String,
    out: Output,
}

impl Run {
    fn text(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.out.stdout),
            String::from_utf8_lossy(&self.out.stderr)
        )
    }
}

/// Runs stackd with the distinctive credentials (and `env`).
fn run_with(args: &[&str], env: &[(&str, &str)]) -> Run {
    let mut cmd = stackd(args);
    cmd.env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        .env("AWS_SESSION_TOKEN", SESSION_TOKEN);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let what = format!(
        "{} stackd {}",
        env.iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
        args.join(" ")
    );
    let out = output_of(cmd, &what);
    Run { what, out }
}

fn args(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn assert_exit(run: &Run, code: i32) {
    assert_eq!(run.out.status.code(), Some(code), "{}", run.what);
}

fn files_in(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_in(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_sensitive_value_and_the_aws_credentials_are_printed_nowhere() {
    require_localstack();
    let spec = copy_spec(&root().join("tests/fixtures/secret-param"));
    let dir = spec.path().to_str().expect("utf-8");
    let plans = tempfile::tempdir().expect("temp dir");
    let plan_file = plans.path().join("plan.json");
    let plan_file = plan_file.to_str().expect("utf-8");
    let stack = unique_stack("secrets");
    let prefix = format!("prefix={stack}");
    let secret = format!("db_password={SECRET}");
    let vars = ["--var", &prefix, "--var", &secret];
    let with = |head: &[&str]| -> Vec<String> {
        head.iter()
            .chain(["--stack", &stack].iter())
            .chain(vars.iter())
            .map(|s| s.to_string())
            .collect()
    };
    let trace = [("STACKD_LOG", "trace")];

    // Runs that must not show the value.
    let mut quiet: Vec<Run> = Vec::new();
    // Runs where the user asked for it.
    let mut asked: Vec<Run> = Vec::new();

    for head in [
        vec!["validate", dir],
        vec!["graph", dir],
        vec!["diff", dir],
        vec!["diff", dir, "--format", "json"],
        vec!["diff", dir, "--format", "markdown"],
        vec!["diff", dir, "--out", plan_file],
        vec!["policy", dir],
    ] {
        let v = with(&head);
        let r = run_with(&args(&v), &[]);
        assert_exit(&r, 0);
        quiet.push(r);
    }
    let r = run_with(&["apply", plan_file], &trace);
    assert_exit(&r, 0);
    quiet.push(r);

    // The cloud holds the value: checked with the SDK, not through stackd.
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let name = format!("/{stack}/db/password");
    let got = ssm
        .get_parameter()
        .name(&name)
        .with_decryption(true)
        .send()
        .await
        .expect("the parameter exists");
    assert_eq!(
        got.parameter().and_then(|p| p.value()),
        Some(SECRET),
        "the parameter holds the secret"
    );

    // A no-op apply and diff with trace logging, then the reading commands.
    for head in [
        vec!["apply", dir, "--auto-approve"],
        vec!["apply", dir, "--dry-run"],
        vec!["diff", dir, "--detailed-exitcode"],
    ] {
        let v = with(&head);
        let r = run_with(&args(&v), &trace);
        assert_exit(&r, 0);
        quiet.push(r);
    }
    // -vv logs at debug, where the SDK would print the access key ID.
    let v = with(&["diff", dir, "-vv"]);
    let r = run_with(&args(&v), &[]);
    assert_exit(&r, 0);
    quiet.push(r);
    for head in [
        vec!["output", dir, "--stack", &stack],
        vec!["output", dir, "--stack", &stack, "--name", "parameter_name"],
        vec!["state", "list", dir, "--stack", &stack],
        vec![
            "state",
            "show",
            "aws_ssm_parameter.db_password",
            dir,
            "--stack",
            &stack,
        ],
        vec!["log", dir, "--stack", &stack],
    ] {
        let r = run_with(&head, &trace);
        assert_exit(&r, 0);
        quiet.push(r);
    }
    for head in [
        vec!["output", dir, "--stack", &stack, "--name", "db_password"],
        vec!["output", dir, "--stack", &stack, "--json"],
        vec!["state", "pull", dir, "--stack", &stack],
    ] {
        let r = run_with(&head, &[]);
        assert_exit(&r, 0);
        asked.push(r);
    }
    assert!(
        files_beside_the_state_hold_no_secret(spec.path()) >= 1,
        "the state holds the value it recorded"
    );
    let v = with(&["destroy", dir, "--auto-approve"]);
    let r = run_with(&args(&v), &trace);
    assert_exit(&r, 0);
    quiet.push(r);

    // The checks can fail: where the value was asked for, it is there.
    for r in &asked {
        assert!(r.text().contains(SECRET), "{} shows the value", r.what);
    }
    let show = quiet
        .iter()
        .find(|r| r.what.contains("state show"))
        .expect("state show ran");
    assert!(
        show.text().contains("(sensitive value)"),
        "state show hides the value and its copy in a tag: {}",
        show.text()
    );
    assert!(
        quiet.iter().any(|r| r
            .text()
            .contains("aws_smithy_runtime::client::orchestrator")),
        "the SDK's logging was on"
    );
    for r in quiet.iter().chain(asked.iter()) {
        let text = r.text();
        for (what, s) in [
            ("the access key ID", KEY_ID),
            ("the secret access key", SECRET_KEY),
            ("the session token", SESSION_TOKEN),
        ] {
            assert!(!text.contains(s), "{} printed {what}", r.what);
        }
    }
    for r in &quiet {
        assert!(
            !r.text().contains(SECRET),
            "{} printed the secret:\n{}",
            r.what,
            r.text()
        );
    }

    files_beside_the_state_hold_no_secret(spec.path());
}

/// Asserts that no file under `dir` but the state and its backup holds the
/// secret, and none a credential; returns how many state files hold it.
fn files_beside_the_state_hold_no_secret(dir: &Path) -> usize {
    let mut state_files = 0;
    for path in files_in(dir) {
        let bytes = std::fs::read(&path).expect("read file");
        let text = String::from_utf8_lossy(&bytes);
        for s in [KEY_ID, SECRET_KEY, SESSION_TOKEN] {
            assert!(!text.contains(s), "{} holds a credential", path.display());
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "stackd.state.json" || name == "stackd.state.json.backup" {
            state_files += usize::from(text.contains(SECRET));
        } else {
            assert!(
                !text.contains(SECRET),
                "{} holds the secret",
                path.display()
            );
        }
    }
    state_files
}
