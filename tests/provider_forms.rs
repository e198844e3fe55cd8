//! Forms real Terraform trees use that the AWS provider still accepts:
//! the `aws_alb*` names of the load balancer types, `aws_eip`'s
//! deprecated `vpc = true` and `aws_s3_bucket`'s inline `acl`. They apply as the provider applies them,
//! checked with the SDK, keep the names they were written with in state
//! and tags, re-diff to nothing and destroy.

use crate::support::*;

#[tokio::test(flavor = "multi_thread")]
async fn alb_aliases_and_a_vpc_eip_apply_as_the_provider_does() {
    require_localstack();
    let stack = unique_stack("forms");
    let name = format!("f{}", std::process::id() % 100_000);
    let spec = copy_spec(&root().join("tests/fixtures/provider-forms"));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    let dir = spec.path().to_str().expect("utf-8");

    let validate = run_ok(&["validate", dir, "--stack", &stack], 0);
    let warnings = String::from_utf8_lossy(&validate.stderr);
    assert!(
        warnings.contains("\"vpc\" is deprecated") && warnings.contains("domain = \"vpc\""),
        "the deprecated form is named with its modern one: {warnings}"
    );
    run_ok(&["apply", dir, "--stack", &stack, "--auto-approve"], 0);

    // The cloud, through the SDK.
    let config = sdk_config().await;
    let ec2 = ec2().await;
    let addresses = ec2
        .describe_addresses()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeAddresses");
    let eips = addresses.addresses();
    assert_eq!(eips.len(), 1, "{eips:?}");
    assert_eq!(
        eips[0].domain().map(|d| d.as_str()),
        Some("vpc"),
        "vpc = true is domain = \"vpc\""
    );
    let address_tag = eips[0]
        .tags()
        .iter()
        .find(|t| t.key() == Some("stackd:address"))
        .and_then(|t| t.value());
    assert_eq!(address_tag, Some("aws_eip.nat"));

    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let lbs = elb
        .describe_load_balancers()
        .names(format!("{name}-web"))
        .send()
        .await
        .expect("the load balancer exists");
    let lb_arn = lbs.load_balancers()[0]
        .load_balancer_arn()
        .expect("arn")
        .to_string();
    let tags = elb
        .describe_tags()
        .resource_arns(&lb_arn)
        .send()
        .await
        .expect("DescribeTags");
    let lb_address = tags
        .tag_descriptions()
        .iter()
        .flat_map(|d| d.tags())
        .find(|t| t.key() == Some("stackd:address"))
        .and_then(|t| t.value().map(str::to_string));
    assert_eq!(
        lb_address.as_deref(),
        Some("aws_alb.web"),
        "the address keeps the name it was written with"
    );
    let listeners = elb
        .describe_listeners()
        .load_balancer_arn(&lb_arn)
        .send()
        .await
        .expect("DescribeListeners");
    assert_eq!(listeners.listeners().len(), 1);
    let listener_arn = listeners.listeners()[0]
        .listener_arn()
        .expect("arn")
        .to_string();
    let rules = elb
        .describe_rules()
        .listener_arn(&listener_arn)
        .send()
        .await
        .expect("DescribeRules");
    assert!(
        rules.rules().iter().any(|r| r.priority() == Some("10")),
        "the aws_alb_listener_rule exists"
    );

    // The inline ACL, set on the bucket as the provider sets it.
    let s3 = s3().await;
    let acl = s3
        .get_bucket_acl()
        .bucket(format!("{name}-forms-logs"))
        .send()
        .await
        .expect("GetBucketAcl");
    let log_delivery: Vec<String> = acl
        .grants()
        .iter()
        .filter(|g| {
            g.grantee()
                .and_then(|e| e.uri())
                .is_some_and(|u| u.ends_with("/s3/LogDelivery"))
        })
        .filter_map(|g| g.permission().map(|p| p.as_str().to_string()))
        .collect();
    assert!(
        log_delivery.contains(&"WRITE".to_string()),
        "log-delivery-write grants the log delivery group WRITE: {acl:?}"
    );
    assert!(warnings.contains("\"acl\" is deprecated"), "{warnings}");

    let listed = stdout(&run_ok(&["state", "list", dir, "--stack", &stack], 0));
    for address in [
        "aws_alb.web",
        "aws_alb_listener.http",
        "aws_alb_listener_rule.api",
        "aws_alb_target_group.app",
    ] {
        assert!(listed.lines().any(|l| l == address), "{address}: {listed}");
    }

    run_ok(&["diff", dir, "--stack", &stack, "--detailed-exitcode"], 0);
    run_ok(&["destroy", dir, "--stack", &stack, "--auto-approve"], 0);
    assert!(
        elb.describe_load_balancers()
            .names(format!("{name}-web"))
            .send()
            .await
            .map(|o| o.load_balancers().is_empty())
            .unwrap_or(true),
        "the load balancer is gone"
    );
    let left = ec2
        .describe_addresses()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeAddresses");
    assert!(left.addresses().is_empty(), "the EIP is released");
}
