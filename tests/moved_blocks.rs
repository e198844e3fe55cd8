//! `moved` blocks: a resource renamed in the spec keeps its object. The
//! plan shows the move and no create or destroy; apply renames the state
//! first; the cloud keeps the same IDs (checked with the SDK).

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn a_renamed_resource_with_a_moved_block_keeps_its_object() {
    require_localstack();
    let stack = unique_stack("moved");
    let spec = copy_spec(&root().join("tests/fixtures/small-net"));
    let dir = spec.path().to_str().expect("utf-8");
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let ec2 = ec2().await;
    let vpc_ids = |v: &aws_sdk_ec2::operation::describe_vpcs::DescribeVpcsOutput| -> Vec<String> {
        v.vpcs()
            .iter()
            .filter_map(|v| v.vpc_id().map(str::to_string))
            .collect()
    };
    let before = vpc_ids(
        &ec2.describe_vpcs()
            .filters(stack_filter(&stack))
            .send()
            .await
            .expect("DescribeVpcs"),
    );
    assert_eq!(before.len(), 1);
    let subnets_before = stack_subnets(&stack).await;

    // Rename the VPC and the subnets (every instance, keys kept).
    let main = spec.path().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("read");
    let text = text
        .replace(
            "resource \"aws_vpc\" \"main\"",
            "resource \"aws_vpc\" \"core\"",
        )
        .replace("aws_vpc.main.id", "aws_vpc.core.id")
        .replace(
            "resource \"aws_subnet\" \"s\"",
            "resource \"aws_subnet\" \"sub\"",
        );
    std::fs::write(
        &main,
        format!(
            "{text}\nmoved {{\n  from = aws_vpc.main\n  to   = aws_vpc.core\n}}\n\n\
             moved {{\n  from = aws_subnet.s\n  to   = aws_subnet.sub\n}}\n"
        ),
    )
    .expect("write");

    let text_plan = stdout(&run_ok(&["diff", dir, "--stack", &stack], 0));
    assert!(
        text_plan.contains("# aws_vpc.main has moved to aws_vpc.core"),
        "{text_plan}"
    );
    assert!(
        text_plan.contains("# aws_subnet.s[1] has moved to aws_subnet.sub[1]"),
        "{text_plan}"
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        &["diff", dir, "--stack", &stack, "--format", "json"],
        0,
    )))
    .expect("plan JSON");
    for what in ["add", "replace", "destroy"] {
        assert_eq!(plan["summary"][what], 0, "{what}: {}", plan["summary"]);
    }
    assert_eq!(
        plan["moved"].as_array().map(Vec::len),
        Some(3),
        "{}",
        plan["moved"]
    );
    assert_eq!(plan["summary"]["changes"], true);

    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let listed = stdout(&run_ok(&["state", "list", dir, "--stack", &stack], 0));
    assert!(listed.lines().any(|l| l == "aws_vpc.core"), "{listed}");
    assert!(!listed.lines().any(|l| l == "aws_vpc.main"), "{listed}");
    let after = vpc_ids(
        &ec2.describe_vpcs()
            .filters(stack_filter(&stack))
            .send()
            .await
            .expect("DescribeVpcs"),
    );
    assert_eq!(after, before, "the same VPC");
    assert_eq!(stack_subnets(&stack).await, subnets_before);

    // The moved blocks stay in the spec and are done: nothing left to do.
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
}
