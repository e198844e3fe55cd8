//! `Provider::check` (what `stackd apply --dry-run` runs for each planned
//! create) against LocalStack: a bucket name and a role name taken outside
//! the stack are reported, a free bucket name is not, a missing AMI and a
//! missing role ARN are reported once each, a VPC that could be created
//! gives no finding; and the call log proves the checks made only reads and
//! EC2 calls with `DryRun=true`.
//!
//! It talks to `STACKD_TEST_ENDPOINT` (default `http://127.0.0.1:4566`) and
//! fails, saying how to start LocalStack, when nothing answers there.

use crate::support;

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::{desired_args, use_localstack};
use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::provider::{CheckRequest, CheckedChange, Finding, Provider, Severity};
use stackd_spec::{Address, Value};

/// A create check of `addr` with `args`, in schema shape: every argument
/// present (its default or null), `tags_all` carrying the ownership tags.
fn create_check(
    provider: &AwsProvider,
    stack: &str,
    addr: &str,
    args: &[(&str, Value)],
) -> CheckRequest {
    let address: Address = addr.parse().expect("address");
    let desired = desired_args(provider, stack, &address, args);
    CheckRequest {
        type_name: address.block.type_name.clone(),
        address,
        owner: support::owner(stack),
        change: CheckedChange::Create,
        desired: Some(desired),
        prior: None,
        id: None,
        planned: Default::default(),
    }
}

async fn check(provider: &AwsProvider, req: &CheckRequest) -> Vec<Finding> {
    let findings = provider
        .check(req)
        .await
        .unwrap_or_else(|e| panic!("check {}: {e}", req.address));
    println!("{}: {findings:#?}", req.address);
    findings
}

/// True for a call that changes nothing: a read, or an EC2 dry run.
fn changes_nothing(line: &serde_json::Value) -> bool {
    let operation = line["operation"].as_str().unwrap_or_default();
    ["Describe", "Get", "List", "Head"]
        .iter()
        .any(|p| operation.starts_with(p))
        || line["dry_run"] == serde_json::Value::Bool(true)
}

#[tokio::test]
async fn dry_run_checks_find_taken_names_and_missing_amis_without_changing_anything() {
    use_localstack();
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    let stack = format!("dryrun-{nanos}");
    // The call log must be named before the provider builds its clients.
    let log: PathBuf = std::env::temp_dir().join(format!("stackd-dry-run-{nanos}.jsonl"));
    std::env::set_var(stackd_aws::CALL_LOG_ENV, &log);
    let provider = AwsProvider::connect(AwsSettings::default())
        .await
        .expect("connect");

    // An independent client (no call log) makes the bucket out of band.
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .load()
        .await;
    let s3 = aws_sdk_s3::Client::new(&sdk);
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let taken = format!("stackd-dry-run-taken-{nanos}");
    let free = format!("stackd-dry-run-free-{nanos}");
    s3.create_bucket()
        .bucket(&taken)
        .send()
        .await
        .expect("create the bucket out of band");
    let role = format!("stackd-dry-run-{nanos}");
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("create the role out of band");

    let on_taken = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_s3_bucket.taken",
            &[("bucket", Value::from(taken.as_str()))],
        ),
    )
    .await;
    let on_free = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_s3_bucket.free",
            &[("bucket", Value::from(free.as_str()))],
        ),
    )
    .await;
    let ami = "ami-0123456789abcdef0";
    let on_instance = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_instance.bastion",
            &[
                ("ami", Value::from(ami)),
                ("instance_type", Value::from("t3.micro")),
            ],
        ),
    )
    .await;
    let on_vpc = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_vpc.main",
            &[("cidr_block", Value::from("10.213.0.0/16"))],
        ),
    )
    .await;

    let on_role = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_iam_role.task",
            &[
                ("name", Value::from(role.as_str())),
                ("assume_role_policy", Value::from(trust)),
            ],
        ),
    )
    .await;
    let missing_role = format!("arn:aws:iam::000000000000:role/stackd-dry-run-missing-{nanos}");
    let on_task = check(
        &provider,
        &create_check(
            &provider,
            &stack,
            "aws_ecs_task_definition.app",
            &[
                ("family", Value::from("app")),
                ("container_definitions", Value::from("[]")),
                ("execution_role_arn", Value::from(missing_role.as_str())),
                ("task_role_arn", Value::Unknown),
            ],
        ),
    )
    .await;

    // Clean up before asserting, so a failure leaves nothing behind.
    s3.delete_bucket()
        .bucket(&taken)
        .send()
        .await
        .expect("delete the bucket");
    iam.delete_role()
        .role_name(&role)
        .send()
        .await
        .expect("delete the role");
    let calls = std::fs::read_to_string(&log).expect("read the call log");
    let _ = std::fs::remove_file(&log);

    assert_eq!(on_taken.len(), 1, "{on_taken:#?}");
    assert_eq!(on_taken[0].severity, Severity::Error);
    assert_eq!(on_taken[0].check, "name_taken");
    assert!(
        on_taken[0].message.contains(&taken),
        "{}",
        on_taken[0].message
    );

    assert!(on_free.is_empty(), "{on_free:#?}");

    assert_eq!(
        on_instance.len(),
        1,
        "one finding for the AMI: {on_instance:#?}"
    );
    assert_eq!(on_instance[0].severity, Severity::Error);
    assert_eq!(on_instance[0].check, "not_found");
    assert!(
        on_instance[0].message.contains(ami),
        "{}",
        on_instance[0].message
    );

    assert_eq!(on_role.len(), 1, "{on_role:#?}");
    assert_eq!(on_role[0].check, "name_taken");
    assert_eq!(on_role[0].operation, "iam:GetRole");
    assert!(on_role[0].message.contains(&role), "{}", on_role[0].message);

    // The account in the ARN is LocalStack's, so the role is looked up; the
    // unknown task role is skipped.
    assert_eq!(on_task.len(), 1, "{on_task:#?}");
    assert_eq!(on_task[0].check, "not_found");
    assert!(
        on_task[0].message.contains(&missing_role),
        "{}",
        on_task[0].message
    );

    // LocalStack 4.13.1 ignores DryRun on CreateVpc, CreateSubnet and
    // CreateRouteTable; localstack/plugin (dry_run.py) answers every EC2
    // dry run with DryRunOperation, as AWS does for an allowed caller.
    assert!(on_vpc.is_empty(), "{on_vpc:#?}");
    let made = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("cidr-block")
                .values("10.213.0.0/16")
                .build(),
        )
        .send()
        .await
        .expect("describe vpcs");
    assert!(made.vpcs().is_empty(), "the dry run made a VPC: {made:?}");

    let lines: Vec<serde_json::Value> = calls
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    println!("calls: {lines:#?}");
    let mutating: Vec<&serde_json::Value> = lines.iter().filter(|l| !changes_nothing(l)).collect();
    assert!(
        mutating.is_empty(),
        "calls that may change something: {mutating:#?}"
    );
    for (service, operation) in [
        ("s3", "HeadBucket"),
        ("ec2", "DescribeImages"),
        ("ec2", "RunInstances"),
        ("ec2", "CreateVpc"),
        ("iam", "GetRole"),
    ] {
        assert!(
            lines
                .iter()
                .any(|l| l["service"] == service && l["operation"] == operation),
            "no {service}:{operation} in the call log"
        );
    }
    assert!(lines
        .iter()
        .filter(|l| l["operation"] == "RunInstances" || l["operation"] == "CreateVpc")
        .all(|l| l["dry_run"] == serde_json::Value::Bool(true)));
}
