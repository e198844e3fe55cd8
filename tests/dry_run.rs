//! `stackd apply --dry-run` against LocalStack: a spec whose bucket name is
//! already taken and whose instance names an AMI that does not exist. The
//! dry run reports both and exits 2; the call log (every AWS request stackd
//! sent, recorded by an SDK interceptor) shows only reads and EC2 calls sent
//! with DryRun=true; the cloud and the state are untouched.

use crate::support::*;

fn spec(dir: &std::path::Path, bucket: &str, with_instance: bool) {
    let instance = if with_instance {
        r#"
resource "aws_instance" "bastion" {
  ami           = "ami-0123456789abcdef0"
  instance_type = "t3.micro"
  subnet_id     = aws_subnet.a.id
}
"#
    } else {
        ""
    };
    std::fs::write(
        dir.join("main.tf"),
        format!(
            r#"
resource "aws_vpc" "main" {{
  cidr_block = "10.88.0.0/16"
}}
resource "aws_subnet" "a" {{
  vpc_id     = aws_vpc.main.id
  cidr_block = "10.88.1.0/24"
}}
resource "aws_s3_bucket" "assets" {{
  bucket = "{bucket}"
}}
{instance}"#
        ),
    )
    .expect("write spec");
}

/// True for a call that changes nothing: a read, or an EC2 dry run.
fn changes_nothing(line: &serde_json::Value) -> bool {
    let operation = line["operation"].as_str().unwrap_or_default();
    line["dry_run"] == true
        || ["Describe", "Get", "List", "Head"]
            .iter()
            .any(|p| operation.starts_with(p))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dry_run_reports_a_taken_bucket_and_a_missing_ami_and_changes_nothing() {
    require_localstack();
    let s3 = s3().await;
    let stack = unique_stack("dry");
    let taken = format!("{stack}-taken");
    create_bucket(&s3, &taken).await;
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("spec");
    std::fs::create_dir(&dir).expect("spec dir");
    spec(&dir, &taken, true);
    let d = dir.to_str().expect("utf-8");
    let log = tmp.path().join("calls.jsonl");

    let out = stackd(&["apply", d, "--stack", &stack, "--dry-run"])
        .env("STACKD_AWS_CALL_LOG", &log)
        .output()
        .expect("run stackd");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "exit 2: the plan would fail");
    let bucket_line = text
        .lines()
        .find(|l| l.contains("aws_s3_bucket.assets: name_taken"))
        .unwrap_or_else(|| panic!("reports the taken bucket: {text}"));
    assert!(bucket_line.contains(&taken), "{bucket_line}");
    let ami_line = text
        .lines()
        .find(|l| l.contains("aws_instance.bastion: not_found"))
        .unwrap_or_else(|| panic!("reports the missing AMI: {text}"));
    assert!(ami_line.contains("ami-0123456789abcdef0"), "{ami_line}");
    assert!(text.contains("The plan would fail"), "{text}");

    // Zero mutating calls.
    let calls: Vec<serde_json::Value> = std::fs::read_to_string(&log)
        .expect("the call log was written")
        .lines()
        .map(|l| serde_json::from_str(l).expect("call log lines are JSON"))
        .collect();
    assert!(calls.len() > 3, "{calls:#?}");
    let mutating: Vec<_> = calls.iter().filter(|c| !changes_nothing(c)).collect();
    assert!(mutating.is_empty(), "mutating calls: {mutating:#?}");
    assert!(
        calls
            .iter()
            .any(|c| c["operation"] == "CreateVpc" && c["dry_run"] == true),
        "the VPC's create was tried as a dry run: {calls:#?}"
    );

    // Nothing in the cloud, no state, no lock.
    assert!(tagged_resources(&ec2().await, &stack).await.is_empty());
    assert!(!dir.join("stackd.state.json").exists());
    assert!(!dir.join("stackd.state.json.lock").exists());
    assert!(!dir.join("stackd.state.json.journal.jsonl").exists());

    // Fixed: a fresh bucket name and no instance; the dry run passes.
    spec(&dir, &format!("{stack}-fresh"), false);
    let out = run_ok(&["apply", d, "--stack", &stack, "--dry-run"], 0);
    assert!(stdout(&out).contains("The plan would go through"));
    assert!(tagged_resources(&ec2().await, &stack).await.is_empty());

    let _ = s3.delete_bucket().bucket(&taken).send().await;
}
