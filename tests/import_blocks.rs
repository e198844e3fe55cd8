//! `import` blocks (with `for_each`) and `stackd import ADDRESS ID` on
//! LocalStack: objects made outside stackd (with the SDK) are taken into
//! state by ID, the plan shows imports and no create, apply adds the
//! ownership tags to the same objects (checked with the SDK).

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn import_blocks_and_the_import_command_take_existing_objects() {
    require_localstack();
    let stack = unique_stack("imports");
    let ec2 = ec2().await;
    let vpc_id = ec2
        .create_vpc()
        .cidr_block("10.93.0.0/16")
        .send()
        .await
        .expect("CreateVpc")
        .vpc()
        .and_then(|v| v.vpc_id())
        .expect("vpc id")
        .to_string();
    let mut subnet_ids = Vec::new();
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        subnet_ids.push(
            ec2.create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(format!("10.93.{i}.0/24"))
                .availability_zone(*az)
                .send()
                .await
                .expect("CreateSubnet")
                .subnet()
                .and_then(|s| s.subnet_id())
                .expect("subnet id")
                .to_string(),
        );
    }
    let group_id = ec2
        .create_security_group()
        .group_name(&stack)
        .description("made outside stackd")
        .vpc_id(&vpc_id)
        .send()
        .await
        .expect("CreateSecurityGroup")
        .group_id()
        .expect("group id")
        .to_string();

    let spec = tempfile::tempdir().expect("tempdir");
    let dir = spec.path().to_str().expect("utf-8");
    std::fs::write(
        spec.path().join("main.tf"),
        format!(
            r#"
locals {{
  subnets = {{ a = "{a}", b = "{b}" }}
}}

import {{
  to = aws_vpc.main
  id = "{vpc_id}"
}}

import {{
  for_each = local.subnets
  to       = aws_subnet.s[each.key]
  id       = each.value
}}

resource "aws_vpc" "main" {{
  cidr_block = "10.93.0.0/16"
}}

resource "aws_subnet" "s" {{
  for_each          = {{ a = 0, b = 1 }}
  vpc_id            = aws_vpc.main.id
  cidr_block        = "10.93.${{each.value}}.0/24"
  availability_zone = each.key == "a" ? "us-east-1a" : "us-east-1b"
}}

resource "aws_security_group" "web" {{
  name        = "{stack}"
  description = "made outside stackd"
  vpc_id      = aws_vpc.main.id
}}
"#,
            a = subnet_ids[0],
            b = subnet_ids[1],
        ),
    )
    .expect("write spec");

    // The security group by the command; the rest by import blocks.
    let imported = stdout(&run_ok(
        &[
            "import",
            "aws_security_group.web",
            &group_id,
            dir,
            "--stack",
            &stack,
        ],
        0,
    ));
    assert!(
        imported.contains("Imported aws_security_group.web"),
        "{imported}"
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        &["diff", dir, "--stack", &stack, "--format", "json"],
        0,
    )))
    .expect("plan JSON");
    assert_eq!(plan["summary"]["add"], 0, "{}", plan["summary"]);
    assert_eq!(plan["summary"]["destroy"], 0, "{}", plan["summary"]);
    assert_eq!(plan["summary"]["replace"], 0, "{}", plan["summary"]);
    let text = stdout(&run_ok(&["diff", dir, "--stack", &stack], 0));
    assert!(text.contains("imported by an import block"), "{text}");

    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    // The same objects, now carrying the stack's tags.
    let vpcs = ec2
        .describe_vpcs()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs().len(), 1);
    assert_eq!(vpcs.vpcs()[0].vpc_id(), Some(vpc_id.as_str()));
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeSubnets");
    let mut found: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    found.sort();
    let mut expected = subnet_ids.clone();
    expected.sort();
    assert_eq!(found, expected);
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);

    // An ID that does not exist is an error naming it.
    let missing = run(&[
        "import",
        "aws_vpc.other",
        "vpc-00000000",
        dir,
        "--stack",
        &stack,
    ]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&missing.stderr).contains("declares no resource aws_vpc.other"),
        "{}",
        String::from_utf8_lossy(&missing.stderr)
    );

    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
}
