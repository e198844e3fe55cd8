//! Shared helpers for the integration tests: they run the real `stackd`
//! binary against LocalStack and check the cloud with the AWS SDK directly.
//!
//! If LocalStack is not reachable the tests fail, saying how to start it.

#![allow(dead_code)]

pub mod fault_proxy;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Where the emulator listens; `STACKD_TEST_ENDPOINT` overrides it.
pub fn endpoint() -> String {
    std::env::var("STACKD_TEST_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:4566".into())
}

pub const REGION: &str = "us-east-1";

/// Panics with instructions unless LocalStack answers its health check.
pub fn require_localstack() {
    let ep = endpoint();
    let hostport = ep
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let fail = |why: String| -> ! {
        panic!(
            "\n\nLocalStack is not reachable at {ep} ({why}).\n\
             Integration tests need it. Start it with:\n\n    bash localstack/start.sh\n\n\
             (or run every test with `bash tests/run-all.sh`, which starts it).\n"
        )
    };
    let addr = match hostport.parse() {
        Ok(a) => a,
        Err(e) => fail(format!("bad endpoint: {e}")),
    };
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(3)) {
        Ok(s) => s,
        Err(e) => fail(e.to_string()),
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let req = format!("GET /_localstack/health HTTP/1.0\r\nHost: {hostport}\r\n\r\n");
    if let Err(e) = stream.write_all(req.as_bytes()) {
        fail(e.to_string());
    }
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    if !body.starts_with("HTTP/1.") || !body.contains("\"ec2\"") {
        fail(format!(
            "health check answered unexpectedly: {}",
            body.lines().next().unwrap_or("")
        ));
    }
}

/// A unique stack name per test run, so tests can share one LocalStack.
pub fn unique_stack(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{prefix}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copies a spec directory (with its module directories, without any
/// state or `.stackd` cache) into a fresh temporary directory.
pub fn copy_spec(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    copy_tree(src, dir.path());
    dir
}

fn copy_tree(src: &Path, dst: &Path) {
    for entry in std::fs::read_dir(src).expect("read spec dir") {
        let entry = entry.expect("dir entry");
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != ".stackd" && name != ".terraform" {
            std::fs::create_dir_all(dst.join(&name)).expect("mkdir");
            copy_tree(&path, &dst.join(&name));
        } else if path.is_file() && !path.to_string_lossy().contains("stackd.state") {
            std::fs::copy(&path, dst.join(&name)).expect("copy spec file");
        }
    }
}

/// `stackd` configured for the emulator.
pub fn stackd(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackd"));
    cmd.args(args);
    for_localstack(&mut cmd);
    cmd
}

/// Points a command's AWS clients at the emulator, with its dummy keys.
pub fn for_localstack(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", REGION)
        .env("NO_COLOR", "1")
        .env_remove("AWS_PROFILE")
}

/// Runs stackd and returns its output, printing it for the test log.
pub fn run(args: &[&str]) -> Output {
    run_env(args, &[])
}

/// [`run`] with more environment variables.
pub fn run_env(args: &[&str], env: &[(&str, &std::ffi::OsStr)]) -> Output {
    let mut cmd = stackd(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    output_of(cmd, &format!("stackd {}", args.join(" ")))
}

/// Runs `cmd` and returns its output, printing it for the test log under
/// `label` (the command as a person would type it).
pub fn output_of(mut cmd: Command, label: &str) -> Output {
    let out = cmd.output().expect("run stackd");
    eprintln!(
        "$ {label}\n--- exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Runs stackd and asserts it exits with `code`.
pub fn run_ok(args: &[&str], code: i32) -> Output {
    let out = run(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "stackd {} exited {:?}",
        args.join(" "),
        out.status.code()
    );
    out
}

/// An EC2 client talking to the emulator, independent of stackd.
pub async fn ec2() -> aws_sdk_ec2::Client {
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await;
    aws_sdk_ec2::Client::new(&config)
}

/// How many VPCs carry the stack's tag.
pub async fn stack_vpcs(stack: &str) -> usize {
    ec2()
        .await
        .describe_vpcs()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("describe vpcs")
        .vpcs()
        .len()
}

/// How many subnets carry the stack's tag.
pub async fn stack_subnets(stack: &str) -> usize {
    ec2()
        .await
        .describe_subnets()
        .filters(stack_filter(stack))
        .send()
        .await
        .expect("describe subnets")
        .subnets()
        .len()
}

/// EC2 filter on the stack's ownership tag.
pub fn stack_filter(stack: &str) -> aws_sdk_ec2::types::Filter {
    aws_sdk_ec2::types::Filter::builder()
        .name("tag:stackd:stack")
        .values(stack)
        .build()
}

/// Everything EC2 holds that carries the stack's tag, as (kind, id) pairs.
pub async fn tagged_resources(client: &aws_sdk_ec2::Client, stack: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let f = || stack_filter(stack);
    for v in client
        .describe_vpcs()
        .filters(f())
        .send()
        .await
        .expect("describe vpcs")
        .vpcs()
    {
        out.push(("vpc".into(), v.vpc_id().unwrap_or_default().into()));
    }
    for s in client
        .describe_subnets()
        .filters(f())
        .send()
        .await
        .expect("describe subnets")
        .subnets()
    {
        out.push(("subnet".into(), s.subnet_id().unwrap_or_default().into()));
    }
    for g in client
        .describe_internet_gateways()
        .filters(f())
        .send()
        .await
        .expect("igws")
        .internet_gateways()
    {
        out.push((
            "igw".into(),
            g.internet_gateway_id().unwrap_or_default().into(),
        ));
    }
    for a in client
        .describe_addresses()
        .filters(f())
        .send()
        .await
        .expect("addresses")
        .addresses()
    {
        out.push(("eip".into(), a.allocation_id().unwrap_or_default().into()));
    }
    // LocalStack quirk: DescribeNatGateways ignores its filters and returns
    // every NAT gateway, so the stack tag is checked here as well.
    for n in client
        .describe_nat_gateways()
        .filter(f())
        .send()
        .await
        .expect("nats")
        .nat_gateways()
    {
        let state = n
            .state()
            .map(|s| s.as_str().to_string())
            .unwrap_or_default();
        let ours = n
            .tags()
            .iter()
            .any(|t| t.key() == Some("stackd:stack") && t.value() == Some(stack));
        if ours && state != "deleted" && state != "deleting" {
            out.push(("nat".into(), n.nat_gateway_id().unwrap_or_default().into()));
        }
    }
    for r in client
        .describe_route_tables()
        .filters(f())
        .send()
        .await
        .expect("rtbs")
        .route_tables()
    {
        out.push(("rtb".into(), r.route_table_id().unwrap_or_default().into()));
    }
    for g in client
        .describe_security_groups()
        .filters(f())
        .send()
        .await
        .expect("sgs")
        .security_groups()
    {
        out.push(("sg".into(), g.group_id().unwrap_or_default().into()));
    }
    out.sort();
    out
}

/// Counts (kind → number) of tagged resources.
pub fn count_by_kind(items: &[(String, String)]) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for (k, _) in items {
        *m.entry(k.clone()).or_insert(0) += 1;
    }
    m
}

/// The stack's NAT gateways that are not deleted. LocalStack quirk:
/// DescribeNatGateways ignores filters, so ownership is checked here.
pub async fn stack_nat_gateways(
    client: &aws_sdk_ec2::Client,
    stack: &str,
) -> Vec<aws_sdk_ec2::types::NatGateway> {
    client
        .describe_nat_gateways()
        .filter(stack_filter(stack))
        .send()
        .await
        .expect("describe nat gateways")
        .nat_gateways()
        .iter()
        .filter(|n| {
            n.tags()
                .iter()
                .any(|t| t.key() == Some("stackd:stack") && t.value() == Some(stack))
        })
        .filter(|n| !matches!(n.state().map(|s| s.as_str()), Some("deleted" | "deleting")))
        .cloned()
        .collect()
}

/// The shared SDK configuration for the emulator, for any service client.
pub async fn sdk_config() -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .region(aws_config::Region::new(REGION))
        .credentials_provider(aws_sdk_ec2::config::Credentials::new(
            "test", "test", None, None, "tests",
        ))
        .load()
        .await
}

/// An S3 client talking to the emulator, independent of stackd.
pub async fn s3() -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::new(&sdk_config().await)
}

/// Creates a bucket for a test (state buckets exist before stackd runs, as
/// with Terraform's S3 backend).
pub async fn create_bucket(s3: &aws_sdk_s3::Client, name: &str) {
    s3.create_bucket()
        .bucket(name)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create bucket {name}: {e:?}"));
}

/// An object's bytes, or `None` when it does not exist.
pub async fn get_object(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Option<Vec<u8>> {
    match s3.get_object().bucket(bucket).key(key).send().await {
        Ok(out) => Some(
            out.body
                .collect()
                .await
                .expect("read object body")
                .into_bytes()
                .to_vec(),
        ),
        Err(e) if e.as_service_error().is_some_and(|s| s.is_no_such_key()) => None,
        Err(e) => panic!("get s3://{bucket}/{key}: {e:?}"),
    }
}

/// Deletes every object in a bucket, then the bucket.
pub async fn delete_bucket(s3: &aws_sdk_s3::Client, bucket: &str) {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .send()
        .await
        .expect("list objects");
    for o in listed.contents() {
        if let Some(key) = o.key() {
            let _ = s3.delete_object().bucket(bucket).key(key).send().await;
        }
    }
    let _ = s3.delete_bucket().bucket(bucket).send().await;
}

/// The ARN the emulator reports for the test credentials (STS, asked
/// directly).
pub async fn caller_arn() -> String {
    aws_sdk_sts::Client::new(&sdk_config().await)
        .get_caller_identity()
        .send()
        .await
        .expect("sts get-caller-identity")
        .arn()
        .unwrap_or_default()
        .to_string()
}

/// Runs git in `dir` with a fixed author, failing the test with git's own
/// message; returns its trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The AWS calls of a no-op `diff` (stackd's SDK call log), by
/// `service:Operation`. Fails when the diff finds a change.
/// The calls a call log (`STACKD_AWS_CALL_LOG`) holds, counted by
/// `service:operation`.
pub fn call_counts(log: &std::path::Path) -> std::collections::BTreeMap<String, usize> {
    let mut calls = std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(log).expect("call log").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let op = format!(
            "{}:{}",
            v["service"].as_str().unwrap_or("?"),
            v["operation"].as_str().unwrap_or("?")
        );
        *calls.entry(op).or_insert(0) += 1;
    }
    calls
}

/// A `terraform` block keeping the state in S3 (LocalStack's region).
pub fn s3_backend(bucket: &str, key: &str) -> String {
    format!(
        "terraform {{\n  backend \"s3\" {{\n    bucket = \"{bucket}\"\n    key    = \"{key}\"\n    region = \"{REGION}\"\n  }}\n}}\n"
    )
}

pub fn no_op_diff_calls(
    dir: &str,
    stack: &str,
    extra: &[&str],
) -> std::collections::BTreeMap<String, usize> {
    let log = std::path::Path::new(dir).join("calls.jsonl");
    let _ = std::fs::remove_file(&log);
    let mut args = vec!["diff", dir, "--stack", stack, "--detailed-exitcode"];
    args.extend_from_slice(extra);
    let out = stackd(&args)
        .env("STACKD_AWS_CALL_LOG", &log)
        .output()
        .expect("run stackd");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = call_counts(&log);
    for op in calls.keys() {
        let name = op.split(':').nth(1).unwrap_or("");
        assert!(
            ["Describe", "List", "Get", "BatchGet", "Head"]
                .iter()
                .any(|p| name.starts_with(p)),
            "a no-op diff made a mutating call: {op}"
        );
    }
    calls
}
