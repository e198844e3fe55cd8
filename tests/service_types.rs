//! The types added service by service, each applied from a fixture under
//! `tests/fixtures/types-<service>/` against LocalStack and checked with
//! that service's SDK directly: create, change one argument (in place or by
//! replacement, as the Terraform provider does), an out-of-band change found
//! by `diff`, and destroy. One test per service keeps the suite fast.

mod support;

use std::collections::BTreeMap;

use support::*;

/// The AWS calls of a no-op `diff` (stackd's SDK call log), by
/// `service:Operation`. Fails when the diff finds a change.
fn no_op_diff_calls(dir: &str, stack: &str, extra: &[&str]) -> BTreeMap<String, usize> {
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
    let mut calls = BTreeMap::new();
    for line in std::fs::read_to_string(&log).expect("call log").lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
        let op = format!(
            "{}:{}",
            v["service"].as_str().unwrap_or("?"),
            v["operation"].as_str().unwrap_or("?")
        );
        *calls.entry(op).or_insert(0) += 1;
    }
    for op in calls.keys() {
        let name = op.split(':').nth(1).unwrap_or("");
        assert!(
            ["Describe", "List", "Get", "Head"]
                .iter()
                .any(|p| name.starts_with(p)),
            "a no-op diff made a mutating call: {op}"
        );
    }
    calls
}

/// Asserts each listed read was made exactly `n` times.
fn assert_calls(calls: &BTreeMap<String, usize>, expected: &[(&str, usize)]) {
    for (op, n) in expected {
        assert_eq!(
            calls.get(*op).copied().unwrap_or(0),
            *n,
            "{op} in {calls:#?}"
        );
    }
}

/// `diff --detailed-exitcode` of the fixture: 0 for no change, 2 for
/// changes, with the plan's text.
fn diff(dir: &str, stack: &str, extra: &[&str], code: i32) -> String {
    let mut args = vec!["diff", dir, "--stack", stack, "--detailed-exitcode"];
    args.extend_from_slice(extra);
    stdout(&run_ok(&args, code))
}

fn apply(dir: &str, stack: &str, extra: &[&str]) {
    let mut args = vec!["apply", dir, "--stack", stack, "--auto-approve"];
    args.extend_from_slice(extra);
    run_ok(&args, 0);
}

/// A copy of `tests/fixtures/<fixture>` with `name` set, and its path.
fn fixture(name: &str, fixture: &str) -> (tempfile::TempDir, String) {
    let spec = copy_spec(&root().join("tests/fixtures").join(fixture));
    std::fs::write(
        spec.path().join("terraform.tfvars"),
        format!("name = \"{name}\"\n"),
    )
    .expect("tfvars");
    let dir = spec.path().to_str().expect("utf-8").to_string();
    (spec, dir)
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_group_and_stream() {
    require_localstack();
    let stack = unique_stack("tlogs");
    let name = format!("l{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-logs");
    let group = format!("/stackd-test/{name}");
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let streams = |logs: aws_sdk_cloudwatchlogs::Client, group: String| async move {
        let out = logs
            .describe_log_streams()
            .log_group_name(&group)
            .send()
            .await;
        match out {
            Ok(out) => out
                .log_streams()
                .iter()
                .filter_map(|s| s.log_stream_name().map(str::to_string))
                .collect::<Vec<_>>(),
            Err(e) => {
                let code = aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                Vec::new()
            }
        }
    };

    apply(&dir, &stack, &[]);
    assert_eq!(streams(logs.clone(), group.clone()).await, vec!["web-1"]);
    // One chain per type; Logs has no batch read of tags (one per group).
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("logs:DescribeLogGroups", 1),
            ("logs:ListTagsForResource", 1),
            ("logs:DescribeLogStreams", 1),
        ],
    );

    // A new name replaces the stream.
    let plan = diff(&dir, &stack, &["--var", "stream=web-2"], 2);
    assert!(
        plan.contains("must be replaced") || plan.contains("replace"),
        "{plan}"
    );
    apply(&dir, &stack, &["--var", "stream=web-2"]);
    assert_eq!(streams(logs.clone(), group.clone()).await, vec!["web-2"]);
    diff(&dir, &stack, &["--var", "stream=web-2"], 0);

    // Deleted behind stackd's back: the diff creates it again.
    logs.delete_log_stream()
        .log_group_name(&group)
        .log_stream_name("web-2")
        .send()
        .await
        .expect("DeleteLogStream");
    let plan = diff(&dir, &stack, &["--var", "stream=web-2"], 2);
    assert!(plan.contains("aws_cloudwatch_log_stream.web"), "{plan}");

    run_ok(
        &[
            "destroy",
            &dir,
            "--stack",
            &stack,
            "--auto-approve",
            "--var",
            "stream=web-2",
        ],
        0,
    );
    assert!(streams(logs.clone(), group.clone()).await.is_empty());
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .expect("DescribeLogGroups");
    assert!(groups.log_groups().is_empty(), "{groups:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn autoscaling_policies_schedules_and_alarms_on_an_ecs_service() {
    require_localstack();
    let stack = unique_stack("tscale");
    let name = format!("a{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-autoscaling");
    let config = sdk_config().await;
    let scaling = aws_sdk_applicationautoscaling::Client::new(&config);
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
    let resource_id = format!("service/{name}-cluster/{name}-api");
    let dimension = ScalableDimension::EcsServiceDesiredCount;
    let target = || async {
        let out = scaling
            .describe_scalable_targets()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_ids(&resource_id)
            .send()
            .await
            .expect("DescribeScalableTargets");
        out.scalable_targets()
            .first()
            .map(|t| (t.min_capacity(), t.max_capacity()))
    };
    let policies = || async {
        let out = scaling
            .describe_scaling_policies()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource_id)
            .send()
            .await
            .expect("DescribeScalingPolicies");
        out.scaling_policies()
            .iter()
            .filter(|p| p.resource_id() == resource_id)
            .cloned()
            .collect::<Vec<_>>()
    };
    let alarm_name = format!("{name}-cpu-high");
    let alarm = || async {
        let out = cloudwatch
            .describe_alarms()
            .alarm_names(&alarm_name)
            .send()
            .await
            .expect("DescribeAlarms");
        out.metric_alarms().first().cloned()
    };

    apply(&dir, &stack, &[]);
    assert_eq!(target().await, Some((1, 4)));
    let services = aws_sdk_ecs::Client::new(&config)
        .describe_services()
        .cluster(format!("{name}-cluster"))
        .services(format!("{name}-api"))
        .send()
        .await
        .expect("DescribeServices");
    assert_eq!(
        services.services()[0]
            .deployment_controller()
            .map(|c| c.r#type().as_str()),
        Some("ECS")
    );
    let found = policies().await;
    let cpu = found
        .iter()
        .find(|p| p.policy_name() == format!("{name}-cpu"))
        .expect("the target tracking policy");
    let tracking = cpu
        .target_tracking_scaling_policy_configuration()
        .expect("target tracking configuration");
    assert_eq!(tracking.target_value(), 50.0);
    let step = found
        .iter()
        .find(|p| p.policy_name() == format!("{name}-step-up"))
        .expect("the step policy");
    let a = alarm().await.expect("the alarm");
    assert_eq!(a.threshold(), Some(80.0));
    assert_eq!(a.alarm_actions(), [step.policy_arn().to_string()]);
    let tags = cloudwatch
        .list_tags_for_resource()
        .resource_arn(a.alarm_arn().expect("arn"))
        .send()
        .await
        .expect("ListTagsForResource");
    let tag = |k: &str| {
        tags.tags()
            .iter()
            .find(|t| t.key() == Some(k))
            .and_then(|t| t.value())
            .map(str::to_string)
    };
    assert_eq!(tag("Team").as_deref(), Some("web"));
    assert_eq!(
        tag("stackd:address").as_deref(),
        Some("aws_cloudwatch_metric_alarm.cpu_high")
    );
    let actions = scaling
        .describe_scheduled_actions()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await
        .expect("DescribeScheduledActions");
    let night = actions.scheduled_actions();
    assert_eq!(night.len(), 1, "{night:?}");
    assert_eq!(night[0].schedule(), "cron(0 20 * * ? *)");
    // One chain per type and namespace; CloudWatch has no batch read of
    // tags (one per alarm).
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("application-autoscaling:DescribeScalableTargets", 1),
            ("application-autoscaling:DescribeScalingPolicies", 1),
            ("application-autoscaling:DescribeScheduledActions", 1),
            ("cloudwatch:DescribeAlarms", 1),
            ("cloudwatch:ListTagsForResource", 1),
        ],
    );

    // Changes in place: capacity, target value, threshold.
    let changed = [
        "--var",
        "min_capacity=2",
        "--var",
        "cpu_target=60",
        "--var",
        "alarm_threshold=90",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(target().await, Some((2, 4)));
    let cpu_now = policies()
        .await
        .into_iter()
        .find(|p| p.policy_name() == format!("{name}-cpu"))
        .expect("cpu policy");
    assert_eq!(
        cpu_now
            .target_tracking_scaling_policy_configuration()
            .map(|c| c.target_value()),
        Some(60.0)
    );
    assert_eq!(alarm().await.and_then(|a| a.threshold()), Some(90.0));
    diff(&dir, &stack, &changed, 0);

    // Out-of-band changes are found, attribute by attribute.
    scaling
        .register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .scalable_dimension(dimension.clone())
        .min_capacity(3)
        .max_capacity(4)
        .send()
        .await
        .expect("RegisterScalableTarget");
    cloudwatch
        .put_metric_alarm()
        .alarm_name(&alarm_name)
        .comparison_operator(
            aws_sdk_cloudwatch::types::ComparisonOperator::GreaterThanOrEqualToThreshold,
        )
        .evaluation_periods(2)
        .metric_name("CPUUtilization")
        .namespace("AWS/ECS")
        .period(60)
        .statistic(aws_sdk_cloudwatch::types::Statistic::Average)
        .threshold(10.0)
        .send()
        .await
        .expect("PutMetricAlarm");
    let plan = diff(&dir, &stack, &changed, 2);
    for word in ["min_capacity", "threshold", "alarm_actions"] {
        assert!(plan.contains(word), "{word} in {plan}");
    }
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert_eq!(target().await, None);
    assert!(policies().await.is_empty());
    assert!(alarm().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn data_sources_find_another_stacks_objects() {
    require_localstack();
    let name = format!("d{}", std::process::id());
    let base_stack = unique_stack("tdbase");
    let read_stack = unique_stack("tdread");
    let (_base, base) = fixture(&name, "types-data/base");
    let (_read, read) = fixture(&name, "types-data/read");
    apply(&base, &base_stack, &[]);

    apply(&read, &read_stack, &[]);
    let out = run_ok(
        &["output", &read, "--stack", &read_stack, "--name", "found"],
        0,
    );
    let found: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("JSON output");
    let field = |k: &str| found[k].as_str().unwrap_or_default().to_string();

    // Each value, checked against the service's own answer.
    let config = sdk_config().await;
    let ec2 = ec2().await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:Name")
                .values(&name)
                .build(),
        )
        .send()
        .await
        .expect("DescribeVpcs");
    let vpc = &vpcs.vpcs()[0];
    assert_eq!(field("vpc_id"), vpc.vpc_id().unwrap_or_default());
    assert_eq!(field("vpc_cidr"), "10.61.0.0/16");
    assert!(field("main_route_table").starts_with("rtb-"), "{found}");
    assert_eq!(field("partition"), "aws");
    assert_eq!(field("dns_suffix"), "amazonaws.com");
    assert_eq!(field("elb_account"), "arn:aws:iam::127311923021:root");
    let subnets = ec2
        .describe_subnets()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("vpc-id")
                .values(vpc.vpc_id().unwrap_or_default())
                .build(),
        )
        .send()
        .await
        .expect("DescribeSubnets");
    let mut ids: Vec<String> = subnets
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    ids.sort();
    assert_eq!(found["subnet_ids"], serde_json::json!(ids));
    let a = subnets
        .subnets()
        .iter()
        .find(|s| s.availability_zone() == Some("us-east-1a"))
        .expect("subnet a");
    assert_eq!(field("subnet_a"), a.subnet_id().unwrap_or_default());
    assert_eq!(field("subnet_a_cidr"), "10.61.1.0/24");
    assert!(field("security_group_id").starts_with("sg-"), "{found}");
    let role = aws_sdk_iam::Client::new(&config)
        .get_role()
        .role_name(format!("{name}-task"))
        .send()
        .await
        .expect("GetRole");
    assert_eq!(
        field("role_arn"),
        role.role().map(|r| r.arn()).unwrap_or_default()
    );
    let clusters = aws_sdk_ecs::Client::new(&config)
        .describe_clusters()
        .clusters(format!("{name}-cluster"))
        .send()
        .await
        .expect("DescribeClusters");
    assert_eq!(
        field("cluster_arn"),
        clusters.clusters()[0].cluster_arn().unwrap_or_default()
    );
    assert_eq!(field("cluster_status"), "ACTIVE");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&config);
    let lbs = elb
        .describe_load_balancers()
        .names(format!("{name}-web"))
        .send()
        .await
        .expect("DescribeLoadBalancers");
    let lb = &lbs.load_balancers()[0];
    assert_eq!(field("lb_arn"), lb.load_balancer_arn().unwrap_or_default());
    assert_eq!(field("lb_dns_name"), lb.dns_name().unwrap_or_default());
    let tgs = elb
        .describe_target_groups()
        .names(format!("{name}-web"))
        .send()
        .await
        .expect("DescribeTargetGroups");
    assert_eq!(
        field("target_group_arn"),
        tgs.target_groups()[0]
            .target_group_arn()
            .unwrap_or_default()
    );

    assert_eq!(
        field("policy_arn"),
        format!("arn:aws:iam::000000000000:policy/{name}-read-logs")
    );
    assert_eq!(field("policy_action"), "logs:GetLogEvents");
    assert_eq!(field("managed_policy"), "AmazonECSTaskExecutionRolePolicy");
    let keys = ec2
        .describe_key_pairs()
        .key_names(format!("{name}-deploy"))
        .include_public_key(true)
        .send()
        .await
        .expect("DescribeKeyPairs");
    let key = &keys.key_pairs()[0];
    assert_eq!(field("key_pair_id"), key.key_pair_id().unwrap_or_default());
    assert!(field("key_public").starts_with("ssh-ed25519 "), "{found}");
    let ecs = aws_sdk_ecs::Client::new(&config);
    let family = format!("{name}-app");
    let revision = ecs
        .describe_task_definition()
        .task_definition(&family)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let revision_arn = revision
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .expect("a revision")
        .to_string();
    assert_eq!(field("task_definition"), revision_arn);
    assert_eq!(field("task_family"), family);

    // A data source that matches nothing is an error naming the source.
    run_ok(
        &["destroy", &read, "--stack", &read_stack, "--auto-approve"],
        0,
    );
    run_ok(
        &["destroy", &base, "--stack", &base_stack, "--auto-approve"],
        0,
    );
    // skip_destroy left the revision registered.
    let kept = ecs
        .describe_task_definition()
        .task_definition(&revision_arn)
        .send()
        .await
        .expect("DescribeTaskDefinition");
    assert_eq!(
        kept.task_definition()
            .and_then(|t| t.status())
            .map(|s| s.as_str()),
        Some("ACTIVE")
    );
    ecs.deregister_task_definition()
        .task_definition(&revision_arn)
        .send()
        .await
        .expect("DeregisterTaskDefinition");
    let out = stackd(&["diff", &read, "--stack", &read_stack])
        .output()
        .expect("run stackd");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("data.aws_vpc.main") && err.contains("no matching EC2 VPC found"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_bucket_policy() {
    require_localstack();
    let stack = unique_stack("ts3");
    let name = format!("stackd-ts3-{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-s3");
    let s3 = s3().await;
    let policy = |s3: aws_sdk_s3::Client, bucket: String| async move {
        match s3.get_bucket_policy().bucket(&bucket).send().await {
            Ok(out) => out
                .policy()
                .map(|p| serde_json::from_str::<serde_json::Value>(p).expect("policy JSON")),
            Err(e) => {
                let code = aws_sdk_s3::error::ProvideErrorMetadata::code(&e);
                assert!(
                    matches!(code, Some("NoSuchBucketPolicy" | "NoSuchBucket")),
                    "{e:?}"
                );
                None
            }
        }
    };
    let resource = |p: &serde_json::Value| p["Statement"][0]["Resource"].clone();

    apply(&dir, &stack, &[]);
    let live = policy(s3.clone(), name.clone())
        .await
        .expect("a bucket policy");
    assert_eq!(
        resource(&live),
        serde_json::json!(format!("arn:aws:s3:::{name}/alb/AWSLogs/000000000000/*"))
    );
    assert_eq!(
        live["Statement"][0]["Principal"]["AWS"],
        serde_json::json!("arn:aws:iam::127311923021:root")
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // S3 has no batch read of bucket policies: one per bucket.
    assert_calls(&calls, &[("s3:GetBucketPolicy", 1)]);

    // A new prefix changes the policy in place.
    let changed = ["--var", "log_prefix=lb"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_s3_bucket_policy.logs") && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = policy(s3.clone(), name.clone())
        .await
        .expect("a bucket policy");
    assert_eq!(
        resource(&live),
        serde_json::json!(format!("arn:aws:s3:::{name}/lb/AWSLogs/000000000000/*"))
    );
    diff(&dir, &stack, &changed, 0);

    // Removed behind stackd's back: the diff puts it back.
    s3.delete_bucket_policy()
        .bucket(&name)
        .send()
        .await
        .expect("DeleteBucketPolicy");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("aws_s3_bucket_policy.logs"), "{plan}");

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(policy(s3.clone(), name.clone()).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn ecr_repository_policy() {
    require_localstack();
    let stack = unique_stack("tecr");
    let name = format!("stackd-tecr-{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-ecr");
    let ecr = aws_sdk_ecr::Client::new(&sdk_config().await);
    let principal = |ecr: aws_sdk_ecr::Client, name: String| async move {
        match ecr
            .get_repository_policy()
            .repository_name(&name)
            .send()
            .await
        {
            Ok(out) => out.policy_text().map(|p| {
                let doc: serde_json::Value = serde_json::from_str(p).expect("policy JSON");
                doc["Statement"][0]["Principal"]["Service"].clone()
            }),
            Err(e) => {
                let code = aws_sdk_ecr::error::ProvideErrorMetadata::code(&e);
                assert!(
                    matches!(
                        code,
                        Some("RepositoryPolicyNotFoundException" | "RepositoryNotFoundException")
                    ),
                    "{e:?}"
                );
                None
            }
        }
    };

    apply(&dir, &stack, &[]);
    assert_eq!(
        principal(ecr.clone(), name.clone()).await,
        Some(serde_json::json!("ecs-tasks.amazonaws.com"))
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // ECR has no batch read of repository policies: one per repository.
    assert_calls(&calls, &[("ecr:GetRepositoryPolicy", 1)]);

    let changed = ["--var", "pull_principal=codebuild.amazonaws.com"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(
        principal(ecr.clone(), name.clone()).await,
        Some(serde_json::json!("codebuild.amazonaws.com"))
    );
    diff(&dir, &stack, &changed, 0);

    ecr.delete_repository_policy()
        .repository_name(&name)
        .send()
        .await
        .expect("DeleteRepositoryPolicy");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("aws_ecr_repository_policy.app"), "{plan}");

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(principal(ecr.clone(), name.clone()).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn load_balancer_attributes() {
    require_localstack();
    let stack = unique_stack("telb");
    let name = format!("stackd-telb-{}", std::process::id() % 100_000);
    let (_spec, dir) = fixture(&name, "types-elbv2");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config().await);
    let lbs = || async {
        match elb.describe_load_balancers().names(&name).send().await {
            Ok(out) => out.load_balancers().to_vec(),
            // Gone: the only error an emptied name may answer.
            Err(e) => {
                let code = aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("LoadBalancerNotFound"), "{e:?}");
                Vec::new()
            }
        }
    };
    let attributes = |arn: String| {
        let elb = elb.clone();
        async move {
            elb.describe_load_balancer_attributes()
                .load_balancer_arn(arn)
                .send()
                .await
                .expect("DescribeLoadBalancerAttributes")
                .attributes()
                .iter()
                .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
                .collect::<BTreeMap<String, String>>()
        }
    };

    apply(&dir, &stack, &[]);
    let arn = lbs().await[0].load_balancer_arn().expect("arn").to_string();
    let live = attributes(arn.clone()).await;
    let get = |m: &BTreeMap<String, String>, k: &str| m.get(k).cloned().unwrap_or_default();
    assert_eq!(
        get(&live, "routing.http.drop_invalid_header_fields.enabled"),
        "true"
    );
    assert_eq!(get(&live, "access_logs.s3.enabled"), "true");
    assert_eq!(get(&live, "access_logs.s3.bucket"), format!("{name}-logs"));
    assert_eq!(get(&live, "access_logs.s3.prefix"), "alb");
    let tg_attributes = |elb: aws_sdk_elasticloadbalancingv2::Client, name: String| async move {
        let tgs = elb
            .describe_target_groups()
            .names(name)
            .send()
            .await
            .expect("DescribeTargetGroups");
        let arn = tgs.target_groups()[0]
            .target_group_arn()
            .expect("arn")
            .to_string();
        elb.describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .expect("DescribeTargetGroupAttributes")
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_string(), a.value()?.to_string())))
            .collect::<BTreeMap<String, String>>()
    };
    let tg = tg_attributes(elb.clone(), name.clone()).await;
    assert_eq!(get(&tg, "slow_start.duration_seconds"), "30");
    assert_eq!(get(&tg, "stickiness.enabled"), "true");
    assert_eq!(get(&tg, "stickiness.type"), "lb_cookie");
    assert_eq!(get(&tg, "stickiness.lb_cookie.duration_seconds"), "3600");
    diff(&dir, &stack, &[], 0);

    let changed = ["--var", "desync_mode=strictest", "--var", "slow_start=60"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("desync_mitigation_mode") && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = attributes(arn.clone()).await;
    assert_eq!(
        get(&live, "routing.http.desync_mitigation_mode"),
        "strictest"
    );
    let tg = tg_attributes(elb.clone(), name.clone()).await;
    assert_eq!(get(&tg, "slow_start.duration_seconds"), "60");
    diff(&dir, &stack, &changed, 0);

    elb.modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(
            aws_sdk_elasticloadbalancingv2::types::LoadBalancerAttribute::builder()
                .key("routing.http.drop_invalid_header_fields.enabled")
                .value("false")
                .build(),
        )
        .send()
        .await
        .expect("ModifyLoadBalancerAttributes");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("drop_invalid_header_fields"), "{plan}");
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(lbs().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn route53_zone_records_and_lookup() {
    require_localstack();
    let stack = unique_stack("tr53");
    let name = format!("r{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-route53");
    let r53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zone_name = format!("{name}.example.com.");
    let zone_id = || async {
        let out = r53
            .list_hosted_zones_by_name()
            .dns_name(&zone_name)
            .send()
            .await
            .expect("ListHostedZonesByName");
        out.hosted_zones()
            .iter()
            .find(|z| z.name() == zone_name)
            .map(|z| z.id().trim_start_matches("/hostedzone/").to_string())
    };
    let records = |id: String| {
        let r53 = r53.clone();
        async move {
            r53.list_resource_record_sets()
                .hosted_zone_id(id)
                .send()
                .await
                .expect("ListResourceRecordSets")
                .resource_record_sets()
                .to_vec()
        }
    };

    apply(&dir, &stack, &[]);
    let id = zone_id().await.expect("the zone");
    let sets = records(id.clone()).await;
    let app = sets
        .iter()
        .find(|r| r.name() == format!("app.{zone_name}"))
        .expect("the alias record");
    assert_eq!(
        app.alias_target().map(|a| a.hosted_zone_id()),
        Some("Z35SXDOTRQ7X7K")
    );
    let www = sets
        .iter()
        .find(|r| r.name() == format!("www.{zone_name}"))
        .expect("the CNAME");
    assert_eq!(www.ttl(), Some(300));
    let tags = r53
        .list_tags_for_resource()
        .resource_type(aws_sdk_route53::types::TagResourceType::Hostedzone)
        .resource_id(&id)
        .send()
        .await
        .expect("ListTagsForResource");
    let team = tags.resource_tag_set().map(|s| {
        s.tags()
            .iter()
            .any(|t| t.key() == Some("Team") && t.value() == Some("web"))
    });
    assert_eq!(team, Some(true), "{tags:?}");
    let out = run_ok(
        &["output", &dir, "--stack", &stack, "--name", "found_zone_id"],
        0,
    );
    assert_eq!(stdout(&out).trim(), id);
    // One chain per zone for the records.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(&calls, &[("route53:ListResourceRecordSets", 1)]);

    // A TTL changes in place.
    let changed = ["--var", "ttl=60"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("ttl") && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let www = records(id.clone())
        .await
        .into_iter()
        .find(|r| r.name() == format!("www.{zone_name}"))
        .expect("the CNAME");
    assert_eq!(www.ttl(), Some(60));
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: found, and put back.
    let edited = aws_sdk_route53::types::ResourceRecordSet::builder()
        .name(format!("www.{zone_name}"))
        .r#type(aws_sdk_route53::types::RrType::Cname)
        .ttl(60)
        .resource_records(
            aws_sdk_route53::types::ResourceRecord::builder()
                .value("elsewhere.example.org")
                .build()
                .expect("record"),
        )
        .build()
        .expect("record set");
    r53.change_resource_record_sets()
        .hosted_zone_id(&id)
        .change_batch(
            aws_sdk_route53::types::ChangeBatch::builder()
                .changes(
                    aws_sdk_route53::types::Change::builder()
                        .action(aws_sdk_route53::types::ChangeAction::Upsert)
                        .resource_record_set(edited)
                        .build()
                        .expect("change"),
                )
                .build()
                .expect("batch"),
        )
        .send()
        .await
        .expect("ChangeResourceRecordSets");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("elsewhere.example.org"), "{plan}");
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert_eq!(zone_id().await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn acm_certificate_validated_through_route53() {
    require_localstack();
    let stack = unique_stack("tacm");
    let name = format!("c{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-acm");
    let acm = aws_sdk_acm::Client::new(&sdk_config().await);

    // The validation waits until ACM issues the certificate (LocalStack
    // issues after about ten seconds).
    apply(&dir, &stack, &[]);
    let out = run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "certificate_arn",
        ],
        0,
    );
    let arn = stdout(&out).trim().to_string();
    // data.aws_acm_certificate finds it by its domain.
    let found = run_ok(
        &["output", &dir, "--stack", &stack, "--name", "found_arn"],
        0,
    );
    assert_eq!(stdout(&found).trim(), arn);
    let described = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await
        .expect("DescribeCertificate");
    let cert = described.certificate().expect("certificate");
    assert_eq!(
        cert.domain_name(),
        Some(format!("app.{name}.example.com").as_str())
    );
    assert_eq!(
        cert.status(),
        Some(&aws_sdk_acm::types::CertificateStatus::Issued)
    );
    let tags = |acm: aws_sdk_acm::Client, arn: String| async move {
        acm.list_tags_for_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .expect("ListTagsForCertificate")
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect::<BTreeMap<String, String>>()
    };
    assert_eq!(
        tags(acm.clone(), arn.clone())
            .await
            .get("Team")
            .map(String::as_str),
        Some("web")
    );
    diff(&dir, &stack, &[], 0);

    // Tags change in place.
    let changed = ["--var", "team=platform"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(
        tags(acm.clone(), arn.clone())
            .await
            .get("Team")
            .map(String::as_str),
        Some("platform")
    );

    // A tag removed behind stackd's back is found.
    acm.remove_tags_from_certificate()
        .certificate_arn(&arn)
        .tags(
            aws_sdk_acm::types::Tag::builder()
                .key("Team")
                .build()
                .expect("tag"),
        )
        .send()
        .await
        .expect("RemoveTagsFromCertificate");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_acm_certificate.web") && plan.contains("Team"),
        "{plan}"
    );

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    let gone = acm
        .describe_certificate()
        .certificate_arn(&arn)
        .send()
        .await;
    assert!(gone.is_err(), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn secrets_manager_secret_version_and_lookups() {
    require_localstack();
    let stack = unique_stack("tsm");
    let name = format!("stackd-tsm-{}", std::process::id());
    let secret_name = format!("{name}/db-password");
    let (_spec, dir) = fixture(&name, "types-secrets");
    let sm = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let describe = |sm: aws_sdk_secretsmanager::Client, id: String| async move {
        match sm.describe_secret().secret_id(&id).send().await {
            Ok(out) if out.deleted_date().is_none() => Some(out),
            Ok(_) => None,
            Err(e) => {
                let code = aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                None
            }
        }
    };
    let current = |sm: aws_sdk_secretsmanager::Client, id: String| async move {
        sm.get_secret_value()
            .secret_id(&id)
            .send()
            .await
            .expect("GetSecretValue")
    };

    let out = stdout(&run_ok(
        &["apply", &dir, "--stack", &stack, "--auto-approve"],
        0,
    ));
    assert!(
        !out.contains("first-password-1"),
        "the value was shown: {out}"
    );
    let live = describe(sm.clone(), secret_name.clone())
        .await
        .expect("the secret");
    assert_eq!(live.description(), Some("database password"));
    assert!(
        live.tags()
            .iter()
            .any(|t| t.key() == Some("Purpose") && t.value() == Some("database")),
        "{live:?}"
    );
    let value = current(sm.clone(), secret_name.clone()).await;
    assert_eq!(value.secret_string(), Some("first-password-1"));
    let first_version = value.version_id().expect("a version").to_string();
    let outputs = stdout(&run_ok(&["output", &dir, "--stack", &stack, "--json"], 0));
    let outputs: serde_json::Value = serde_json::from_str(&outputs).expect("outputs JSON");
    assert_eq!(
        outputs["read_back_matches"]["value"],
        serde_json::json!(true)
    );
    assert_eq!(
        outputs["secret_arn"]["value"].as_str(),
        live.arn(),
        "{outputs}"
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // One list chain serves both managed types; the data sources read once each.
    assert_calls(
        &calls,
        &[
            ("secretsmanager:ListSecrets", 2),
            ("secretsmanager:DescribeSecret", 1),
            ("secretsmanager:GetSecretValue", 1),
        ],
    );

    // The description changes in place; a new password is a new version.
    let changed = ["--var", "description=the database password"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_secretsmanager_secret.db") && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = describe(sm.clone(), secret_name.clone())
        .await
        .expect("the secret");
    assert_eq!(live.description(), Some("the database password"));
    let rotated = [
        "--var",
        "description=the database password",
        "--var",
        "password=second-password-2",
    ];
    let plan = diff(&dir, &stack, &rotated, 2);
    assert!(
        plan.contains("aws_secretsmanager_secret_version.db")
            && !plan.contains("second-password-2"),
        "{plan}"
    );
    apply(&dir, &stack, &rotated);
    let value = current(sm.clone(), secret_name.clone()).await;
    assert_eq!(value.secret_string(), Some("second-password-2"));
    assert_ne!(value.version_id(), Some(first_version.as_str()));
    diff(&dir, &stack, &rotated, 0);

    // A value put behind stackd's back takes AWSCURRENT from the spec's
    // version: the diff finds it, and apply moves the stage back.
    sm.put_secret_value()
        .secret_id(&secret_name)
        .secret_string("out-of-band")
        .send()
        .await
        .expect("PutSecretValue");
    let plan = diff(&dir, &stack, &rotated, 2);
    assert!(plan.contains("version_stages"), "{plan}");
    apply(&dir, &stack, &rotated);
    let value = current(sm.clone(), secret_name.clone()).await;
    assert_eq!(value.secret_string(), Some("second-password-2"));
    diff(&dir, &stack, &rotated, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&rotated);
    run_ok(&destroy, 0);
    assert!(describe(sm.clone(), secret_name.clone()).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn sns_topics_subscriptions_and_sqs_queues() {
    require_localstack();
    let stack = unique_stack("tmsg");
    let name = format!("m{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-messaging");
    let config = sdk_config().await;
    let sns = aws_sdk_sns::Client::new(&config);
    let sqs = aws_sdk_sqs::Client::new(&config);
    let output = |n: &str| {
        let out = run_ok(&["output", &dir, "--stack", &stack, "--name", n], 0);
        stdout(&out).trim().to_string()
    };
    let topic_attrs = |arn: String| {
        let sns = sns.clone();
        async move {
            sns.get_topic_attributes()
                .topic_arn(arn)
                .send()
                .await
                .expect("GetTopicAttributes")
                .attributes
                .unwrap_or_default()
        }
    };
    let queue_attrs = |url: String| {
        let sqs = sqs.clone();
        async move {
            sqs.get_queue_attributes()
                .queue_url(url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
                .send()
                .await
                .expect("GetQueueAttributes")
                .attributes
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k.as_str().to_string(), v))
                .collect::<BTreeMap<String, String>>()
        }
    };

    apply(&dir, &stack, &[]);
    let topic_arn = output("topic_arn");
    let queue_url = output("queue_url");
    let subscription_arn = output("subscription_arn");
    let topic = topic_attrs(topic_arn.clone()).await;
    assert_eq!(topic.get("DisplayName").map(String::as_str), Some("Orders"));
    assert!(
        topic
            .get("Policy")
            .is_some_and(|p| p.contains("AccountPublishes")),
        "{topic:?}"
    );
    let topic_tags = sns
        .list_tags_for_resource()
        .resource_arn(&topic_arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        topic_tags
            .tags()
            .iter()
            .any(|t| t.key() == "Team" && t.value() == "shop"),
        "{topic_tags:?}"
    );
    let queue = queue_attrs(queue_url.clone()).await;
    assert_eq!(
        queue.get("VisibilityTimeout").map(String::as_str),
        Some("30")
    );
    assert_eq!(
        queue.get("MessageRetentionPeriod").map(String::as_str),
        Some("86400")
    );
    assert!(
        queue
            .get("Policy")
            .is_some_and(|p| p.contains("sns.amazonaws.com")),
        "{queue:?}"
    );
    let queue_tags = sqs
        .list_queue_tags()
        .queue_url(&queue_url)
        .send()
        .await
        .expect("ListQueueTags");
    assert_eq!(
        queue_tags
            .tags()
            .and_then(|t| t.get("Team"))
            .map(String::as_str),
        Some("shop")
    );
    let subscription = sns
        .get_subscription_attributes()
        .subscription_arn(&subscription_arn)
        .send()
        .await
        .expect("GetSubscriptionAttributes")
        .attributes
        .unwrap_or_default();
    assert_eq!(
        subscription.get("Endpoint"),
        queue.get("QueueArn"),
        "{subscription:?}"
    );
    assert_eq!(
        subscription.get("RawMessageDelivery").map(String::as_str),
        Some("true")
    );
    // The subscription delivers: a message published reaches the queue.
    sns.publish()
        .topic_arn(&topic_arn)
        .message("order 1")
        .send()
        .await
        .expect("Publish");
    let received = sqs
        .receive_message()
        .queue_url(&queue_url)
        .wait_time_seconds(10)
        .send()
        .await
        .expect("ReceiveMessage");
    assert_eq!(
        received.messages().first().and_then(|m| m.body()),
        Some("order 1"),
        "{received:?}"
    );

    // SNS and SQS have no batch reads: one attribute read per object (the
    // topic and its policy, the queue and its policy), tags per tagged one,
    // one ListQueues chain.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("sns:GetTopicAttributes", 2),
            ("sns:ListTagsForResource", 1),
            ("sns:GetSubscriptionAttributes", 1),
            ("sqs:ListQueues", 1),
            ("sqs:GetQueueAttributes", 2),
            ("sqs:ListQueueTags", 1),
        ],
    );

    // The visibility timeout and the display name change in place.
    let changed = [
        "--var",
        "visibility_timeout=45",
        "--var",
        "display_name=Orders EU",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("visibility_timeout_seconds")
            && plan.contains("display_name")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(output("queue_url"), queue_url);
    assert_eq!(output("topic_arn"), topic_arn);
    assert_eq!(
        queue_attrs(queue_url.clone())
            .await
            .get("VisibilityTimeout")
            .map(String::as_str),
        Some("45")
    );
    assert_eq!(
        topic_attrs(topic_arn.clone())
            .await
            .get("DisplayName")
            .map(String::as_str),
        Some("Orders EU")
    );
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: found, named, and put back.
    sqs.set_queue_attributes()
        .queue_url(&queue_url)
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "90",
        )
        .send()
        .await
        .expect("SetQueueAttributes");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_sqs_queue.orders") && plan.contains("visibility_timeout_seconds"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    // Forgotten, then imported back by Terraform's import IDs (the
    // subscription's ARN, the queue URL): nothing to change.
    for (address, id) in [
        ("aws_sns_topic_subscription.orders", &subscription_arn),
        ("aws_sqs_queue_policy.orders", &queue_url),
    ] {
        run_ok(&["state", "rm", address, &dir, "--stack", &stack], 0);
        let imported = stdout(&run_ok(
            &["import", address, id, &dir, "--stack", &stack],
            0,
        ));
        assert!(
            imported.contains(&format!("Imported {address}")),
            "{imported}"
        );
    }
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    let topic = sns
        .get_topic_attributes()
        .topic_arn(&topic_arn)
        .send()
        .await;
    assert!(topic.is_err(), "{topic:?}");
    let queue = sqs
        .get_queue_url()
        .queue_name(format!("{name}-orders"))
        .send()
        .await;
    assert!(queue.is_err(), "{queue:?}");
    let subscription = sns
        .get_subscription_attributes()
        .subscription_arn(&subscription_arn)
        .send()
        .await;
    assert!(subscription.is_err(), "{subscription:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn rds_subnet_group_parameter_group_and_instance() {
    require_localstack();
    let stack = unique_stack("trds");
    let name = format!("rds{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-rds");
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    let instance = || async {
        match rds
            .describe_db_instances()
            .db_instance_identifier(&name)
            .send()
            .await
        {
            Ok(out) => out.db_instances().first().cloned(),
            Err(e) => {
                let code = aws_sdk_rds::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("DBInstanceNotFound"), "{e:?}");
                None
            }
        }
    };
    let user_params = || async {
        rds.describe_db_parameters()
            .db_parameter_group_name(&name)
            .source("user")
            .send()
            .await
            .expect("DescribeDBParameters")
            .parameters()
            .iter()
            .filter_map(|p| {
                Some((
                    p.parameter_name()?.to_string(),
                    p.parameter_value()?.to_string(),
                ))
            })
            .collect::<BTreeMap<String, String>>()
    };
    let tag = |db: &aws_sdk_rds::types::DbInstance, key: &str| {
        db.tag_list()
            .iter()
            .find(|t| t.key() == Some(key))
            .and_then(|t| t.value().map(str::to_string))
    };

    apply(&dir, &stack, &[]);
    let db = instance().await.expect("the DB instance");
    assert_eq!(db.db_instance_status(), Some("available"));
    assert_eq!(db.engine(), Some("postgres"));
    assert_eq!(db.backup_retention_period(), Some(1));
    assert_eq!(
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(name.as_str())
    );
    assert_eq!(
        db.db_parameter_groups()
            .first()
            .and_then(|g| g.db_parameter_group_name()),
        Some(name.as_str())
    );
    assert_eq!(tag(&db, "Team").as_deref(), Some("data"));
    assert_eq!(tag(&db, "stackd:stack").as_deref(), Some(stack.as_str()));
    let group = rds
        .describe_db_subnet_groups()
        .db_subnet_group_name(&name)
        .send()
        .await
        .expect("DescribeDBSubnetGroups");
    let group = group.db_subnet_groups().first().expect("the subnet group");
    assert_eq!(group.subnets().len(), 2, "{group:?}");
    assert_eq!(
        group.db_subnet_group_description(),
        Some("Managed by Terraform")
    );
    let params = user_params().await;
    assert_eq!(
        params.get("log_min_duration_statement").map(String::as_str),
        Some("500")
    );
    assert_eq!(
        params.get("shared_preload_libraries").map(String::as_str),
        Some("pg_stat_statements")
    );
    let endpoint = run_ok(
        &["output", &dir, "--stack", &stack, "--name", "endpoint"],
        0,
    );
    let address = db.endpoint().and_then(|e| e.address()).expect("address");
    assert_eq!(stdout(&endpoint).trim(), format!("{address}:5432"));
    let same_vpc = run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "subnet_group_vpc",
        ],
        0,
    );
    assert_eq!(stdout(&same_vpc).trim(), "true");

    // One Describe chain per type; the groups' tags and parameters are
    // read per group (no batch form), the instance's tags come with it.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("rds:DescribeDBInstances", 1),
            ("rds:DescribeDBSubnetGroups", 1),
            ("rds:DescribeDBParameterGroups", 1),
            ("rds:DescribeDBParameters", 1),
            ("rds:ListTagsForResource", 2),
        ],
    );

    // A parameter, the backup retention, a tag and the password change in
    // place; the password is never shown.
    let changed = [
        "--var",
        "slow_query_ms=250",
        "--var",
        "backup_days=7",
        "--var",
        "team=platform",
        "--var",
        "password=second-Passw0rd",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_db_parameter_group.pg")
            && plan.contains("backup_retention_period")
            && plan.contains("password")
            && !plan.contains("second-Passw0rd")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let db = instance().await.expect("the DB instance");
    assert_eq!(db.backup_retention_period(), Some(7));
    assert_eq!(tag(&db, "Team").as_deref(), Some("platform"));
    assert_eq!(
        user_params()
            .await
            .get("log_min_duration_statement")
            .map(String::as_str),
        Some("250")
    );
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: found, named, and put back.
    rds.modify_db_instance()
        .db_instance_identifier(&name)
        .backup_retention_period(3)
        .apply_immediately(true)
        .send()
        .await
        .expect("ModifyDBInstance");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_db_instance.app") && plan.contains("backup_retention_period"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(
        instance().await.and_then(|db| db.backup_retention_period()),
        Some(7)
    );
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(instance().await.is_none());
    let groups = rds
        .describe_db_subnet_groups()
        .send()
        .await
        .expect("DescribeDBSubnetGroups");
    assert!(
        !groups
            .db_subnet_groups()
            .iter()
            .any(|g| g.db_subnet_group_name() == Some(name.as_str())),
        "{groups:?}"
    );
    let parameter_groups = rds
        .describe_db_parameter_groups()
        .send()
        .await
        .expect("DescribeDBParameterGroups");
    assert!(
        !parameter_groups
            .db_parameter_groups()
            .iter()
            .any(|g| g.db_parameter_group_name() == Some(name.as_str())),
        "{parameter_groups:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn vpc_security_group_ingress_and_egress_rules() {
    require_localstack();
    let stack = unique_stack("tsgr");
    let name = format!("stackd-tsgr-{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-ec2-rules");
    let ec2 = ec2().await;
    let rule = |ec2: aws_sdk_ec2::Client, id: String| async move {
        ec2.describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("security-group-rule-id")
                    .values(&id)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroupRules")
            .security_group_rules()
            .first()
            .cloned()
    };

    apply(&dir, &stack, &[]);
    let id = stdout(&run_ok(
        &["output", &dir, "--stack", &stack, "--name", "https_rule_id"],
        0,
    ))
    .trim()
    .to_string();
    assert!(id.starts_with("sgr-"), "{id}");
    let live = rule(ec2.clone(), id.clone()).await.expect("the HTTPS rule");
    assert_eq!(live.is_egress(), Some(false));
    assert_eq!((live.from_port(), live.to_port()), (Some(443), Some(443)));
    assert_eq!(live.cidr_ipv4(), Some("0.0.0.0/0"));
    assert_eq!(live.description(), Some("HTTPS from anywhere"));
    assert!(
        live.tags()
            .iter()
            .any(|t| t.key() == Some("Name") && t.value() == Some(&format!("{name}-https"))),
        "{live:?}"
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // One chain for the ingress rules, one for the egress rule.
    assert_calls(&calls, &[("ec2:DescribeSecurityGroupRules", 2)]);

    // A new description is changed in place, keeping the rule's ID.
    let changed = ["--var", "https_description=HTTPS from the internet"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_vpc_security_group_ingress_rule.https")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = rule(ec2.clone(), id.clone()).await.expect("the same rule");
    assert_eq!(live.description(), Some("HTTPS from the internet"));
    diff(&dir, &stack, &changed, 0);

    // Forgotten, then imported back by its ID: nothing to change.
    let address = "aws_vpc_security_group_ingress_rule.https";
    run_ok(&["state", "rm", address, &dir, "--stack", &stack], 0);
    let mut import = vec![
        "import",
        address,
        id.as_str(),
        dir.as_str(),
        "--stack",
        stack.as_str(),
    ];
    import.extend_from_slice(&changed);
    let imported = stdout(&run_ok(&import, 0));
    assert!(
        imported.contains(&format!("Imported {address}")),
        "{imported}"
    );
    diff(&dir, &stack, &changed, 0);

    // Revoked behind stackd's back: the diff finds it missing.
    ec2.revoke_security_group_ingress()
        .group_id(live.group_id().unwrap())
        .security_group_rule_ids(&id)
        .send()
        .await
        .expect("RevokeSecurityGroupIngress");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_vpc_security_group_ingress_rule.https"),
        "{plan}"
    );

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(format!("{name}-app"))
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups");
    assert!(groups.security_groups().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn launch_templates_autoscaling_groups_and_policies() {
    require_localstack();
    let stack = unique_stack("tasg");
    let name = format!("asg{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-autoscaling-groups");
    let config = sdk_config().await;
    let asg = aws_sdk_autoscaling::Client::new(&config);
    let ec2 = aws_sdk_ec2::Client::new(&config);
    let group = || async {
        asg.describe_auto_scaling_groups()
            .auto_scaling_group_names(&name)
            .send()
            .await
            .expect("DescribeAutoScalingGroups")
            .auto_scaling_groups()
            .first()
            .cloned()
    };
    let template = || async {
        ec2.describe_launch_templates()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("launch-template-name")
                    .values(&name)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeLaunchTemplates")
            .launch_templates()
            .first()
            .cloned()
    };
    let latest_data = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_launch_template_versions()
                .launch_template_id(id)
                .versions("$Latest")
                .send()
                .await
                .expect("DescribeLaunchTemplateVersions")
                .launch_template_versions()
                .first()
                .and_then(|v| v.launch_template_data().cloned())
                .expect("the latest version's data")
        }
    };
    let policies = || async {
        asg.describe_policies()
            .auto_scaling_group_name(&name)
            .send()
            .await
            .expect("DescribePolicies")
            .scaling_policies()
            .to_vec()
    };

    apply(&dir, &stack, &[]);
    let lt = template().await.expect("the launch template");
    let lt_id = lt.launch_template_id().expect("an ID").to_string();
    assert_eq!(lt.latest_version_number(), Some(1));
    assert!(
        lt.tags()
            .iter()
            .any(|t| t.key() == Some("stackd:stack") && t.value() == Some(stack.as_str())),
        "{lt:?}"
    );
    let data = latest_data(lt_id.clone()).await;
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.micro"));
    assert_eq!(
        data.metadata_options()
            .and_then(|m| m.http_tokens())
            .map(|t| t.as_str()),
        Some("required")
    );
    let ebs = data.block_device_mappings()[0].ebs().expect("ebs");
    assert_eq!((ebs.volume_size(), ebs.encrypted()), (Some(20), Some(true)));
    assert_eq!(data.tag_specifications().len(), 1, "{data:?}");

    let g = group().await.expect("the group");
    assert_eq!((g.min_size(), g.max_size()), (Some(1), Some(2)));
    assert_eq!(
        g.launch_template().and_then(|t| t.launch_template_id()),
        Some(lt_id.as_str())
    );
    assert_eq!(
        g.vpc_zone_identifier().map(|v| v.split(',').count()),
        Some(2)
    );
    let tag = |g: &aws_sdk_autoscaling::types::AutoScalingGroup, key: &str| {
        g.tags()
            .iter()
            .find(|t| t.key() == Some(key))
            .map(|t| (t.value().unwrap_or("").to_string(), t.propagate_at_launch()))
    };
    assert_eq!(tag(&g, "Team"), Some(("web".into(), Some(true))));
    assert_eq!(tag(&g, "stackd:stack"), Some((stack.clone(), Some(false))));
    let found = policies().await;
    let policy = |name: String| {
        found
            .iter()
            .find(|p| p.policy_name() == Some(&name))
            .cloned()
    };
    let cpu = policy(format!("{name}-cpu")).expect("the target tracking policy");
    assert_eq!(cpu.policy_type(), Some("TargetTrackingScaling"));
    assert_eq!(
        cpu.target_tracking_configuration()
            .and_then(|c| c.target_value()),
        Some(50.0)
    );
    let up = policy(format!("{name}-up")).expect("the simple policy");
    assert_eq!(
        (up.scaling_adjustment(), up.cooldown()),
        (Some(1), Some(120))
    );

    // One chain per type: templates by tag with their latest versions, the
    // groups by tag (tags and instances included), the policies by name.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("ec2:DescribeLaunchTemplates", 1),
            ("ec2:DescribeLaunchTemplateVersions", 1),
            ("autoscaling:DescribeAutoScalingGroups", 1),
            ("autoscaling:DescribePolicies", 1),
            ("ecs:DescribeCapacityProviders", 1),
        ],
    );
    let ecs = aws_sdk_ecs::Client::new(&config);
    let capacity = |ecs: aws_sdk_ecs::Client, name: String| async move {
        ecs.describe_capacity_providers()
            .capacity_providers(format!("{name}-cp"))
            .send()
            .await
            .expect("DescribeCapacityProviders")
            .capacity_providers()
            .iter()
            .find(|p| p.status().map(|s| s.as_str()) == Some("ACTIVE"))
            .and_then(|p| p.auto_scaling_group_provider())
            .and_then(|a| a.managed_scaling())
            .and_then(|m| m.target_capacity())
    };
    assert_eq!(capacity(ecs.clone(), name.clone()).await, Some(100));

    // The group's size and the template's instance type change in place:
    // the type is a new version of the same template.
    let changed = [
        "--var",
        "max_size=4",
        "--var",
        "instance_type=t3.small",
        "--var",
        "target_capacity=80",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_autoscaling_group.web")
            && plan.contains("max_size")
            && plan.contains("aws_launch_template.web")
            && plan.contains("instance_type")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let lt = template().await.expect("the launch template");
    assert_eq!(lt.launch_template_id(), Some(lt_id.as_str()));
    assert_eq!(lt.latest_version_number(), Some(2));
    assert_eq!(lt.default_version_number(), Some(2));
    let data = latest_data(lt_id.clone()).await;
    assert_eq!(data.instance_type().map(|t| t.as_str()), Some("t3.small"));
    assert_eq!(group().await.and_then(|g| g.max_size()), Some(4));
    assert_eq!(capacity(ecs.clone(), name.clone()).await, Some(80));
    let version = run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "template_version",
        ],
        0,
    );
    assert_eq!(stdout(&version).trim(), "2");
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: found, named, and put back.
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .max_size(3)
        .send()
        .await
        .expect("UpdateAutoScalingGroup");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_autoscaling_group.web") && plan.contains("max_size"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(group().await.and_then(|g| g.max_size()), Some(4));
    diff(&dir, &stack, &changed, 0);

    // Forgotten, then imported back by Terraform's import ID (GROUP/NAME):
    // nothing to change.
    let address = "aws_autoscaling_policy.cpu";
    run_ok(&["state", "rm", address, &dir, "--stack", &stack], 0);
    let mut import = vec!["import", address];
    let id = format!("{name}/{name}-cpu");
    import.push(&id);
    import.extend_from_slice(&[dir.as_str(), "--stack", stack.as_str()]);
    import.extend_from_slice(&changed);
    let imported = stdout(&run_ok(&import, 0));
    assert!(
        imported.contains(&format!("Imported {address}")),
        "{imported}"
    );
    diff(&dir, &stack, &changed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(group().await.is_none());
    assert!(template().await.is_none());
    assert!(policies().await.is_empty());
    assert_eq!(capacity(ecs.clone(), name.clone()).await, None);
}

/// Reads whose API has no batch form: each is made once per instance (see
/// ARCHITECTURE.md, "Refresh reads each type with one Describe/List
/// chain").
const PER_INSTANCE_READS: &[&str] = &[
    "acm:DescribeCertificate",
    "acm:ListTagsForCertificate",
    // One attribute of one VPC per call (DNS support, DNS host names).
    "ec2:DescribeVpcAttribute",
    "iam:GetRole",
    "iam:GetRolePolicy",
    "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies",
    "iam:ListRoleTags",
    "logs:ListTagsForResource",
    // A zone's name servers and VPCs; records are listed zone by zone.
    "route53:GetHostedZone",
    "route53:ListResourceRecordSets",
    "rds:DescribeDBParameters",
    "rds:ListTagsForResource",
    // Every bucket setting is one call per bucket; objects one per object.
    "s3:GetBucketAcl",
    "s3:GetBucketCors",
    "s3:GetBucketEncryption",
    "s3:GetBucketLogging",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketPolicy",
    "s3:GetBucketTagging",
    "s3:GetBucketWebsite",
    "s3:GetObjectTagging",
    "s3:HeadBucket",
    "s3:HeadObject",
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sns:ListTagsForResource",
    "sqs:GetQueueAttributes",
    "sqs:ListQueueTags",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_type_refreshes_with_one_chain_in_one_stack() {
    require_localstack();
    let stack = unique_stack("tall");
    let name = format!("all{}", std::process::id());
    // The fixtures call each other as modules: copy them all.
    let fixtures = copy_spec(&root().join("tests/fixtures"));
    let dir = fixtures.path().join("types-all");
    std::fs::write(dir.join("terraform.tfvars"), format!("name = \"{name}\"\n")).expect("tfvars");
    let dir = dir.to_str().expect("utf-8").to_string();

    apply(&dir, &stack, &[]);
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    println!("no-op diff of every service fixture in one stack:");
    for (op, n) in &calls {
        println!("  {n:>3}  {op}");
    }
    // A type with a batch form is read with one chain whatever the number
    // of its instances (several VPCs, groups, subnets and rules come from
    // different modules here); at most two types of the stack share an
    // operation (the secret and its versions both list secrets; ingress and
    // egress rules both describe rules).
    let over: Vec<_> = calls
        .iter()
        .filter(|(op, n)| !PER_INSTANCE_READS.contains(&op.as_str()) && **n > 2)
        .collect();
    assert!(over.is_empty(), "batched reads made per instance: {over:?}");

    run_ok(
        &[
            "destroy",
            dir.as_str(),
            "--stack",
            stack.as_str(),
            "--auto-approve",
        ],
        0,
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn s3_bucket_configuration_types() {
    require_localstack();
    let stack = unique_stack("ts3c");
    let name = format!("stackd-ts3c-{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-s3-config");
    let s3 = s3().await;
    let changed = ["--var", "changed=true"];

    /// What S3 says about every configuration of the bucket, read with
    /// the SDK (`None` where it has none).
    #[derive(Debug, PartialEq)]
    struct S3ConfigLive {
        sse: Option<String>,
        ownership: Option<String>,
        public_read: bool,
        cors_methods: Option<Vec<String>>,
        error_document: Option<String>,
        log_prefix: Option<String>,
        index: Option<String>,
        index_tags: Vec<(String, String)>,
        page: Option<String>,
    }
    async fn s3_config_live(s3: &aws_sdk_s3::Client, bucket: &str) -> S3ConfigLive {
        let sse = s3
            .get_bucket_encryption()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.server_side_encryption_configuration()
                    .and_then(|c| c.rules().first())
                    .and_then(|r| r.apply_server_side_encryption_by_default())
                    .map(|d| d.sse_algorithm().as_str().to_string())
            });
        let ownership = s3
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| {
                o.ownership_controls()
                    .and_then(|c| c.rules().first())
                    .map(|r| r.object_ownership().as_str().to_string())
            });
        let public_read = s3
            .get_bucket_acl()
            .bucket(bucket)
            .send()
            .await
            .map(|o| {
                o.grants().iter().any(|g| {
                    g.grantee()
                        .and_then(|w| w.uri())
                        .is_some_and(|u| u.ends_with("/AllUsers"))
                })
            })
            .unwrap_or(false);
        let cors_methods = s3
            .get_bucket_cors()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.cors_rules().first().map(|r| r.allowed_methods().to_vec()));
        let error_document = s3
            .get_bucket_website()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.error_document().map(|e| e.key().to_string()));
        let log_prefix = s3
            .get_bucket_logging()
            .bucket(bucket)
            .send()
            .await
            .ok()
            .and_then(|o| o.logging_enabled().map(|l| l.target_prefix().to_string()));
        let text = |b: Option<Vec<u8>>| b.map(|b| String::from_utf8_lossy(&b).into_owned());
        let index = text(get_object(s3, bucket, "index.html").await);
        let index_tags = match s3
            .get_object_tagging()
            .bucket(bucket)
            .key("index.html")
            .send()
            .await
        {
            Ok(o) => o
                .tag_set()
                .iter()
                .filter(|t| t.key() == "Role")
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        let page = text(get_object(s3, bucket, "pages/about.txt").await);
        S3ConfigLive {
            sse,
            ownership,
            public_read,
            cors_methods,
            error_document,
            log_prefix,
            index,
            index_tags,
            page,
        }
    }
    let output = |extra: &[&str]| {
        let mut args = vec!["output", dir.as_str(), "--stack", stack.as_str(), "--json"];
        args.extend_from_slice(extra);
        let out = run_ok(&args, 0);
        serde_json::from_str::<serde_json::Value>(&stdout(&out)).expect("output JSON")
    };

    apply(&dir, &stack, &[]);
    let live = s3_config_live(&s3, &name).await;
    assert_eq!(
        live,
        S3ConfigLive {
            sse: Some("AES256".into()),
            ownership: Some("BucketOwnerPreferred".into()),
            public_read: false,
            cors_methods: Some(vec!["GET".into()]),
            error_document: Some("error.html".into()),
            log_prefix: Some("log/".into()),
            index: Some("<h1>v1</h1>".into()),
            index_tags: vec![("Role".into(), "index".into())],
            page: Some("About this site.\n".into()),
        }
    );
    let outputs = output(&[]);
    let endpoint = format!("{name}.s3-website-us-east-1.amazonaws.com");
    let value = |o: &serde_json::Value, k: &str| {
        let v = &o[k];
        v.get("value").unwrap_or(v).clone()
    };
    assert_eq!(
        value(&outputs, "website_endpoint"),
        serde_json::json!(endpoint)
    );
    assert_eq!(
        value(&outputs, "data_website_endpoint"),
        serde_json::json!(endpoint)
    );
    assert_eq!(
        value(&outputs, "data_arn"),
        serde_json::json!(format!("arn:aws:s3:::{name}"))
    );
    assert_eq!(
        value(&outputs, "data_regional_domain_name"),
        serde_json::json!(format!("{name}.s3.us-east-1.amazonaws.com"))
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // S3 has no read across buckets: one call per bucket and per object.
    assert_calls(
        &calls,
        &[
            ("s3:GetBucketEncryption", 1),
            ("s3:GetBucketOwnershipControls", 1),
            ("s3:GetBucketAcl", 1),
            ("s3:GetBucketCors", 1),
            ("s3:GetBucketWebsite", 1),
            ("s3:GetBucketLogging", 1),
            ("s3:HeadObject", 2),
            ("s3:GetObjectTagging", 2),
        ],
    );

    // One argument of each changes: in place, as the provider does.
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    for address in [
        "aws_s3_bucket_server_side_encryption_configuration.site",
        "aws_s3_bucket_ownership_controls.site",
        "aws_s3_bucket_acl.site",
        "aws_s3_bucket_cors_configuration.site",
        "aws_s3_bucket_website_configuration.site",
        "aws_s3_bucket_logging.site",
        "aws_s3_object.index",
    ] {
        assert!(plan.contains(address), "{address} not in {plan}");
    }
    apply(&dir, &stack, &changed);
    let live = s3_config_live(&s3, &name).await;
    assert_eq!(
        live,
        S3ConfigLive {
            sse: Some("aws:kms".into()),
            ownership: Some("ObjectWriter".into()),
            public_read: true,
            cors_methods: Some(vec!["GET".into(), "HEAD".into()]),
            error_document: Some("404.html".into()),
            log_prefix: Some("access/".into()),
            index: Some("<h1>v2</h1>".into()),
            index_tags: vec![("Role".into(), "index".into())],
            page: Some("About this site.\n".into()),
        }
    );
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back, one at a time: each diff finds it.
    let drifted = |address: &'static str| {
        let plan = diff(&dir, &stack, &changed, 2);
        assert!(plan.contains(address), "{address} not in {plan}");
        apply(&dir, &stack, &changed);
        diff(&dir, &stack, &changed, 0);
    };
    s3.delete_bucket_encryption()
        .bucket(&name)
        .send()
        .await
        .expect("DeleteBucketEncryption");
    drifted("aws_s3_bucket_server_side_encryption_configuration.site");
    s3.put_bucket_ownership_controls()
        .bucket(&name)
        .ownership_controls(
            aws_sdk_s3::types::OwnershipControls::builder()
                .rules(
                    aws_sdk_s3::types::OwnershipControlsRule::builder()
                        .object_ownership(aws_sdk_s3::types::ObjectOwnership::BucketOwnerPreferred)
                        .build()
                        .expect("rule"),
                )
                .build()
                .expect("controls"),
        )
        .send()
        .await
        .expect("PutBucketOwnershipControls");
    drifted("aws_s3_bucket_ownership_controls.site");
    s3.put_bucket_acl()
        .bucket(&name)
        .acl(aws_sdk_s3::types::BucketCannedAcl::Private)
        .send()
        .await
        .expect("PutBucketAcl");
    drifted("aws_s3_bucket_acl.site");
    s3.delete_bucket_cors()
        .bucket(&name)
        .send()
        .await
        .expect("DeleteBucketCors");
    drifted("aws_s3_bucket_cors_configuration.site");
    s3.delete_bucket_website()
        .bucket(&name)
        .send()
        .await
        .expect("DeleteBucketWebsite");
    drifted("aws_s3_bucket_website_configuration.site");
    s3.put_bucket_logging()
        .bucket(&name)
        .bucket_logging_status(aws_sdk_s3::types::BucketLoggingStatus::builder().build())
        .send()
        .await
        .expect("PutBucketLogging");
    drifted("aws_s3_bucket_logging.site");
    s3.put_object()
        .bucket(&name)
        .key("index.html")
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"defaced"))
        .send()
        .await
        .expect("PutObject");
    drifted("aws_s3_object.index");
    assert_eq!(
        s3_config_live(&s3, &name).await.index.as_deref(),
        Some("<h1>v2</h1>")
    );
    // The source file changed locally: the object is uploaded again.
    std::fs::write(
        std::path::Path::new(&dir).join("about.txt"),
        "About this site, revised.\n",
    )
    .expect("write about.txt");
    drifted("aws_s3_object.page");
    assert_eq!(
        s3_config_live(&s3, &name).await.page.as_deref(),
        Some("About this site, revised.\n")
    );

    // Every configuration destroyed, the buckets kept: each is gone. S3
    // encrypts every bucket with SSE-S3 when it has no configuration; a
    // bucket always has an ACL, left as it is (as Terraform leaves it).
    let removed = ["--var", "changed=true", "--var", "configured=false"];
    apply(&dir, &stack, &removed);
    let live = s3_config_live(&s3, &name).await;
    assert_ne!(live.sse.as_deref(), Some("aws:kms"), "{live:?}");
    assert_eq!(
        live,
        S3ConfigLive {
            sse: live.sse.clone(),
            ownership: None,
            public_read: true,
            cors_methods: None,
            error_document: None,
            log_prefix: None,
            index: None,
            index_tags: vec![],
            page: None,
        }
    );
    diff(&dir, &stack, &removed, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&removed);
    run_ok(&destroy, 0);
    // Gone with their buckets, every setting and object with them.
    let logs = format!("{name}-logs");
    assert!(
        s3.head_bucket().bucket(&logs).send().await.is_err(),
        "bucket {logs} still exists"
    );
    let gone = s3.head_bucket().bucket(&name).send().await;
    assert!(gone.is_err(), "bucket {name} still exists");
}
