//! A no-op diff of a 50-resource stack makes at most one Describe/List
//! chain per resource type (counted by stackd's SDK call log), and no
//! mutating call at all.

mod support;

use std::collections::BTreeMap;

use support::*;

#[tokio::test(flavor = "multi_thread")]
async fn no_op_diff_reads_once_per_type() {
    require_localstack();
    let spec = copy_spec(&root().join("tests/fixtures/fifty"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("fifty");
    run_ok(&["apply", &dir, "--stack", &stack, "--auto-approve"], 0);
    let state = run_ok(&["state", "list", &dir], 0);
    let resources = stdout(&state).lines().count();
    assert_eq!(resources, 50);

    let log = spec.path().join("calls.jsonl");
    let out = stackd(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"])
        .env("STACKD_AWS_CALL_LOG", &log)
        .output()
        .expect("run stackd");
    eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    let mut calls: BTreeMap<String, usize> = BTreeMap::new();
    for line in std::fs::read_to_string(&log)
        .expect("call log written")
        .lines()
    {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let op = format!(
            "{}:{}",
            v["service"].as_str().unwrap_or("?"),
            v["operation"].as_str().unwrap_or("?")
        );
        *calls.entry(op).or_insert(0) += 1;
    }
    let total: usize = calls.values().sum();
    println!("no-op diff of {resources} resources over 8 types: {total} AWS calls");
    for (op, n) in &calls {
        println!("  {n:>3}  {op}");
    }
    let types = 8;
    let reads: usize = calls
        .iter()
        .filter(|(op, _)| !op.ends_with("DescribeVpcAttribute"))
        .map(|(_, n)| n)
        .sum();
    assert!(
        reads <= types,
        "{reads} Describe/List calls for {types} resource types: {calls:?}"
    );
    // EC2 has no batch form of DescribeVpcAttribute: two per VPC, one VPC here.
    assert!(calls.get("ec2:DescribeVpcAttribute").copied().unwrap_or(0) <= 2);
    let mutating: Vec<_> = calls
        .keys()
        .filter(|op| !op.contains(":Describe") && !op.contains(":List") && !op.contains(":Get"))
        .collect();
    assert!(
        mutating.is_empty(),
        "a diff must not change anything: {mutating:?}"
    );

    // `--refresh=false` reads no managed object: state's record is taken as
    // it is, so a spec change still shows and drift does not.
    let _ = std::fs::remove_file(&log);
    let out = stackd(&[
        "diff",
        &dir,
        "--stack",
        &stack,
        "--detailed-exitcode",
        "--refresh=false",
    ])
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
    let reads: Vec<String> = std::fs::read_to_string(&log)
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("JSON line");
            format!("{}:{}", v["service"], v["operation"])
        })
        .filter(|op| !op.contains("GetCallerIdentity"))
        .collect();
    assert!(
        reads.is_empty(),
        "--refresh=false read the cloud: {reads:?}"
    );
    let ec2 = ec2().await;
    let vpc_id = tagged_resources(&ec2, &stack)
        .await
        .into_iter()
        .flat_map(|(a, b)| [a, b])
        .find(|id| id.starts_with("vpc-"))
        .expect("the stack's VPC");
    ec2.create_tags()
        .resources(&vpc_id)
        .tags(
            aws_sdk_ec2::types::Tag::builder()
                .key("Drift")
                .value("yes")
                .build(),
        )
        .send()
        .await
        .expect("CreateTags");
    let unseen = run_ok(
        &[
            "diff",
            &dir,
            "--stack",
            &stack,
            "--detailed-exitcode",
            "--refresh=false",
        ],
        0,
    );
    assert!(!stdout(&unseen).contains("Drift"), "{}", stdout(&unseen));
    let seen = run_ok(&["diff", &dir, "--stack", &stack, "--detailed-exitcode"], 2);
    assert!(stdout(&seen).contains("Drift"), "{}", stdout(&seen));

    run_ok(&["destroy", &dir, "--stack", &stack, "--auto-approve"], 0);
}
