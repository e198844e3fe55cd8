//! `stackd state mv` and `stackd state rm` against LocalStack: a renamed
//! resource keeps its object (checked with the SDK); a removed instance's
//! object is left in the cloud, still tagged, and no later diff, apply or
//! destroy touches it.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn state_mv_keeps_the_object_and_state_rm_leaves_it_alone() {
    require_localstack();
    let stack = unique_stack("surgery");
    let spec = copy_spec(&root().join("tests/fixtures/small-net"));
    let dir = spec.path().to_str().expect("utf-8");
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    let ec2 = ec2().await;
    let group_ids = || async {
        ec2.describe_security_groups()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("tag:stackd:stack")
                    .values(&stack)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroups")
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect::<Vec<_>>()
    };
    let before = group_ids().await;
    assert_eq!(before.len(), 1);

    // Rename in the spec and in the state: no create, no destroy.
    let main = spec.path().join("main.tf");
    let text = std::fs::read_to_string(&main).expect("read").replace(
        "resource \"aws_security_group\" \"web\"",
        "resource \"aws_security_group\" \"app\"",
    );
    std::fs::write(&main, &text).expect("write");
    let moved = stdout(&run_ok(
        &[
            "state",
            "mv",
            "aws_security_group.web",
            "aws_security_group.app",
            dir,
            "--stack",
            &stack,
        ],
        0,
    ));
    assert!(
        moved.contains("Moved aws_security_group.web to aws_security_group.app."),
        "{moved}"
    );
    let plan: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        &["diff", dir, "--stack", &stack, "--format", "json"],
        0,
    )))
    .expect("plan JSON");
    for what in ["add", "replace", "destroy"] {
        assert_eq!(plan["summary"][what], 0, "{what}: {}", plan["summary"]);
    }
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(group_ids().await, before, "the same security group");

    // Let go of the second subnet: out of the state and the spec, its
    // object stays, and nothing plans to delete it.
    let removed = stdout(&run_ok(
        &["state", "rm", "aws_subnet.s[1]", dir, "--stack", &stack],
        0,
    ));
    assert!(
        removed.contains("Removed 1 instance from the state: aws_subnet.s[1]."),
        "{removed}"
    );
    std::fs::write(&main, text.replace("count      = 2", "count      = 1")).expect("write");
    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    let listed = stdout(&run_ok(&["state", "list", dir, "--stack", &stack], 0));
    assert!(!listed.contains("aws_subnet.s[1]"), "{listed}");
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeSubnets");
    assert_eq!(
        subnets.subnets().len(),
        2,
        "the released subnet is still there, still tagged"
    );
    let released: Vec<String> = subnets
        .subnets()
        .iter()
        .filter(|s| {
            s.tags()
                .iter()
                .any(|t| t.key() == Some("stackd:address") && t.value() == Some("aws_subnet.s/i:1"))
        })
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    assert_eq!(released.len(), 1);
    // Unknown addresses are an error, not a silent success.
    let out = run(&["state", "rm", "aws_subnet.nope", dir, "--stack", &stack]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("the state records nothing at aws_subnet.nope"));

    // The owner deletes the released subnet themselves; destroy removes the rest.
    ec2.delete_subnet()
        .subnet_id(&released[0])
        .send()
        .await
        .expect("DeleteSubnet");
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert_eq!(stack_vpcs(&stack).await, 0);
}
