//! The types added service by service, each applied from a fixture under
//! `tests/fixtures/types-<service>/` against LocalStack and checked with
//! that service's SDK directly: create, change one argument (in place or by
//! replacement, as the Terraform provider does), an out-of-band change found
//! by `diff`, and destroy. One test per service keeps the suite fast.

use std::collections::BTreeMap;

use crate::support::*;

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
    // One chain per type, and the groups' tags in one more from the
    // Tagging API (Logs has no batch read of tags).
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("logs:DescribeLogGroups", 1),
            ("logs:ListTagsForResource", 0),
            ("tag:GetResources", 1),
            ("logs:DescribeLogStreams", 1),
        ],
    );

    // A tag added behind stackd's back shows through the batched read, and
    // one the stack's identity tag went from is read on its own.
    let arn = logs
        .describe_log_groups()
        .log_group_name_prefix(&group)
        .send()
        .await
        .expect("DescribeLogGroups")
        .log_groups()
        .first()
        .and_then(|g| g.log_group_arn())
        .expect("the group's ARN")
        .to_string();
    logs.tag_resource()
        .resource_arn(&arn)
        .tags("Drift", "yes")
        .send()
        .await
        .expect("TagResource");
    let plan = diff(&dir, &stack, &[], 2);
    assert!(plan.contains("Drift"), "{plan}");
    logs.untag_resource()
        .resource_arn(&arn)
        .tag_keys("stackd:stack-id")
        .send()
        .await
        .expect("UntagResource");
    let plan = diff(&dir, &stack, &[], 2);
    assert!(
        plan.contains("Drift") && plan.contains("stackd:stack-id"),
        "{plan}"
    );
    apply(&dir, &stack, &[]);
    diff(&dir, &stack, &[], 0);

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
    let placement = |svc: &aws_sdk_ecs::types::Service| {
        svc.placement_strategy()
            .iter()
            .map(|p| {
                format!(
                    "{}:{}",
                    p.r#type().map(|t| t.as_str()).unwrap_or(""),
                    p.field().unwrap_or("")
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        placement(&services.services()[0]),
        ["spread:host", "binpack:memory"]
    );
    assert_eq!(
        services.services()[0].placement_constraints()[0]
            .r#type()
            .map(|t| t.as_str()),
        Some("distinctInstance")
    );
    let ecs = aws_sdk_ecs::Client::new(&config);
    let exec_logging = || async {
        let out = ecs
            .describe_clusters()
            .clusters(format!("{name}-cluster"))
            .include(aws_sdk_ecs::types::ClusterField::Configurations)
            .send()
            .await
            .expect("DescribeClusters");
        let exec = out.clusters()[0]
            .configuration()
            .and_then(|c| c.execute_command_configuration())
            .cloned();
        exec.map(|e| {
            (
                e.logging().map(|l| l.as_str().to_string()),
                e.log_configuration()
                    .and_then(|l| l.cloud_watch_log_group_name())
                    .map(str::to_string),
            )
        })
    };
    assert_eq!(
        exec_logging().await,
        Some((Some("OVERRIDE".into()), Some(format!("/ecs/{name}/exec"))))
    );
    let scratch = || async {
        ecs.describe_task_definition()
            .task_definition(format!("{name}-batch"))
            .send()
            .await
            .expect("DescribeTaskDefinition")
            .task_definition()
            .and_then(|t| t.ephemeral_storage())
            .map(|e| e.size_in_gib())
    };
    assert_eq!(scratch().await, Some(30));
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
        "--var",
        "exec_logging=DEFAULT",
        "--var",
        "binpack_field=cpu",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(target().await, Some((2, 4)));
    let services = ecs
        .describe_services()
        .cluster(format!("{name}-cluster"))
        .services(format!("{name}-api"))
        .send()
        .await
        .expect("DescribeServices");
    assert_eq!(
        placement(&services.services()[0]),
        ["spread:host", "binpack:cpu"]
    );
    assert_eq!(
        exec_logging().await.and_then(|e| e.0).as_deref(),
        Some("DEFAULT")
    );
    // More scratch space is a new revision, as the provider does it.
    let bigger = [changed.as_slice(), &["--var", "scratch_gib=40"]].concat();
    let plan = diff(&dir, &stack, &bigger, 2);
    assert!(
        plan.contains("aws_ecs_task_definition.batch") && plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &bigger);
    assert_eq!(scratch().await, Some(40));
    apply(&dir, &stack, &changed);
    assert_eq!(scratch().await, Some(30));
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
    ecs.update_cluster()
        .cluster(format!("{name}-cluster"))
        .configuration(
            aws_sdk_ecs::types::ClusterConfiguration::builder()
                .execute_command_configuration(
                    aws_sdk_ecs::types::ExecuteCommandConfiguration::builder()
                        .logging(aws_sdk_ecs::types::ExecuteCommandLogging::None)
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateCluster");
    let plan = diff(&dir, &stack, &changed, 2);
    for word in ["min_capacity", "threshold", "alarm_actions", "NONE"] {
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
    // issues a second after the request: localstack/start.sh).
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
    // The certificate's tags come from the Tagging API's one chain; the
    // drift checks below read through it.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_eq!(calls.get("tag:GetResources"), Some(&1), "{calls:?}");
    // One ListTagsForCertificate: the data source's, of the certificate
    // it finds.
    assert_eq!(
        calls.get("acm:ListTagsForCertificate"),
        Some(&1),
        "{calls:?}"
    );

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
    // topic and its policy, the queue and its policy); the topic's tags from
    // the Tagging API's chain, the queue's on their own (LocalStack's SQS
    // tags are not in its Tagging API); one ListQueues chain.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("sns:GetTopicAttributes", 2),
            ("tag:GetResources", 1),
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

    // A second instance restored from a snapshot of the first; what the
    // restore cannot set (backup retention) is set after it.
    let snapshot = format!("{name}-snap");
    rds.create_db_snapshot()
        .db_instance_identifier(&name)
        .db_snapshot_identifier(&snapshot)
        .send()
        .await
        .expect("CreateDBSnapshot");
    let restore_from = format!("restore_from={snapshot}");
    let with_copy = [changed.as_slice(), &["--var", restore_from.as_str()]].concat();
    apply(&dir, &stack, &with_copy);
    let copy_id = format!("{name}-copy");
    let copy = || async {
        rds.describe_db_instances()
            .db_instance_identifier(&copy_id)
            .send()
            .await
            .ok()
            .and_then(|out| out.db_instances().first().cloned())
    };
    let restored = copy().await.expect("the restored instance");
    assert_eq!(restored.engine(), Some("postgres"), "from the snapshot");
    assert_eq!(restored.backup_retention_period(), Some(3));
    assert_eq!(
        restored
            .db_subnet_group()
            .and_then(|g| g.db_subnet_group_name()),
        Some(name.as_str())
    );
    diff(&dir, &stack, &with_copy, 0);

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&with_copy);
    run_ok(&destroy, 0);
    assert!(instance().await.is_none());
    assert!(copy().await.is_none());
    rds.delete_db_snapshot()
        .db_snapshot_identifier(&snapshot)
        .send()
        .await
        .expect("DeleteDBSnapshot");
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
    let inline = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("group-name")
                .values(format!("{name}-inline"))
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups")
        .security_groups()
        .first()
        .cloned()
        .expect("the group whose rules are arguments");
    let ingress = inline.ip_permissions();
    assert_eq!(ingress.len(), 1, "{ingress:?}");
    assert_eq!(ingress[0].from_port(), Some(8443));
    assert_eq!(ingress[0].ip_ranges()[0].cidr_ip(), Some("10.0.0.0/8"));
    assert!(
        inline.ip_permissions_egress().is_empty(),
        "egress = [] leaves no egress rule: {inline:?}"
    );
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    // One chain for the ingress rules, one for the egress rule.
    assert_calls(&calls, &[("ec2:DescribeSecurityGroupRules", 2)]);

    // A new description is changed in place, keeping the rule's ID: a
    // rule resource's, and a rule inside a group's arguments (updated, not
    // revoked and authorized again, which would leave a moment without it).
    let inline_rules = |ec2: aws_sdk_ec2::Client, group: String| async move {
        ec2.describe_security_group_rules()
            .filters(
                aws_sdk_ec2::types::Filter::builder()
                    .name("group-id")
                    .values(&group)
                    .build(),
            )
            .send()
            .await
            .expect("DescribeSecurityGroupRules")
            .security_group_rules()
            .iter()
            .map(|r| {
                (
                    r.security_group_rule_id().unwrap_or_default().to_string(),
                    r.description().unwrap_or_default().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    let inline_id = inline.group_id().expect("group ID").to_string();
    let before = inline_rules(ec2.clone(), inline_id.clone()).await;
    assert_eq!(before.len(), 1, "{before:?}");
    let changed = [
        "--var",
        "https_description=HTTPS from the internet",
        "--var",
        "admin_description=Administration",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_vpc_security_group_ingress_rule.https")
            && plan.contains("aws_security_group.inline")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = rule(ec2.clone(), id.clone()).await.expect("the same rule");
    assert_eq!(live.description(), Some("HTTPS from the internet"));
    let after = inline_rules(ec2.clone(), inline_id).await;
    assert_eq!(
        after,
        vec![(before[0].0.clone(), "Administration".to_string())],
        "the same rule, described anew"
    );
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
    // Whether a trail is logging: one trail per call.
    "cloudtrail:GetTrailStatus",
    // One attribute of one VPC per call (DNS support, DNS host names).
    "ec2:DescribeVpcAttribute",
    // One revision per call: ECS has no batch read of task definitions.
    "ecs:DescribeTaskDefinition",
    // One cluster's services per call (10 a call): one chain per cluster,
    // and the stack has three clusters with services.
    "ecs:DescribeServices",
    // One target group's attributes per call.
    "elasticloadbalancing:DescribeTargetGroupAttributes",
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
    "s3:GetBucketPolicy",
    "s3:GetBucketTagging",
    "s3:HeadBucket",
    "sns:GetSubscriptionAttributes",
    "sns:GetTopicAttributes",
    "sqs:GetQueueAttributes",
    "sqs:ListQueueTags",
    // A repository's tags (the iam fixture's repository, and its data
    // source, beside the ecr fixture's).
    "ecr:ListTagsForResource",
    "iam:GetOpenIDConnectProvider",
    "iam:ListEntitiesForPolicy",
    // Cloud Map has no batch form of its tag read.
    "servicediscovery:ListTagsForResource",
    // A dashboard's body: ListDashboards answers no bodies.
    "cloudwatch:GetDashboard",
    "events:ListTagsForResource",
    // A key's metadata, policy, rotation and tags: each call takes one key.
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListResourceTags",
    // CodeDeploy's batch reads carry no tags.
    "codedeploy:ListTagsForResource",
    // A connection's tags, a public repository's catalog and tags: each
    // call takes one resource.
    "codestar-connections:ListTagsForResource",
    "ecr-public:GetRepositoryCatalogData",
    "ecr-public:ListTagsForResource",
    // Targets are read one target group at a time.
    "elasticloadbalancing:DescribeTargetHealth",
    // Every bucket setting is one call per bucket; objects one per object.
    "s3:GetBucketAcl",
    "s3:GetBucketCors",
    "s3:GetBucketEncryption",
    "s3:GetBucketLogging",
    "s3:GetBucketOwnershipControls",
    "s3:GetBucketWebsite",
    "s3:GetObjectTagging",
    "s3:HeadObject",
];

/// Batched reads more than two types make, one chain each, with how many
/// types share them.
const SHARED_READS: &[(&str, usize)] = &[
    // Load balancers, target groups, listeners and listener rules each read
    // their tags with one DescribeTags chain.
    ("elasticloadbalancing:DescribeTags", 4),
    // One chain each for log groups, SSM parameters, ACM certificates and
    // SNS topics.
    ("tag:GetResources", 4),
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
        .filter(|(op, n)| {
            let limit = SHARED_READS
                .iter()
                .find(|(o, _)| *o == op.as_str())
                .map_or(2, |(_, types)| *types);
            !PER_INSTANCE_READS.contains(&op.as_str()) && **n > limit
        })
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
async fn launch_configurations_under_an_autoscaling_group() {
    require_localstack();
    let stack = unique_stack("tlc");
    let name = format!("lc{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-launch-configuration");
    let asg = aws_sdk_autoscaling::Client::new(&sdk_config().await);
    let configuration = |lc: String| {
        let asg = asg.clone();
        async move {
            asg.describe_launch_configurations()
                .launch_configuration_names(lc)
                .send()
                .await
                .expect("DescribeLaunchConfigurations")
                .launch_configurations()
                .first()
                .cloned()
        }
    };
    let group_lc = || async {
        asg.describe_auto_scaling_groups()
            .auto_scaling_group_names(&name)
            .send()
            .await
            .expect("DescribeAutoScalingGroups")
            .auto_scaling_groups()
            .first()
            .and_then(|g| g.launch_configuration_name().map(str::to_string))
    };
    let output = || {
        let args = [
            "output",
            dir.as_str(),
            "--stack",
            stack.as_str(),
            "--name",
            "launch_configuration",
        ];
        stdout(&run_ok(&args, 0)).trim().to_string()
    };

    apply(&dir, &stack, &[]);
    let first = output();
    assert!(first.starts_with(&format!("{name}-")), "{first}");
    let lc = configuration(first.clone())
        .await
        .expect("the launch configuration");
    assert_eq!(lc.instance_type(), Some("t3.micro"));
    assert_eq!(
        lc.instance_monitoring().and_then(|m| m.enabled()),
        Some(false)
    );
    let user_data = aws_smithy_types::base64::decode(lc.user_data().expect("user data"))
        .expect("base64 user data");
    assert_eq!(
        String::from_utf8_lossy(&user_data),
        format!("#!/bin/sh\necho ECS_CLUSTER={name} >> /etc/ecs/ecs.config\n")
    );
    assert_eq!(group_lc().await.as_deref(), Some(first.as_str()));
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(&calls, &[("autoscaling:DescribeLaunchConfigurations", 1)]);

    // A new instance type is a new configuration, made before the old one
    // goes; the group moves to it in place.
    let changed = ["--var", "instance_type=t3.small"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_launch_configuration.node") && plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let second = output();
    assert_ne!(second, first);
    assert_eq!(
        configuration(second.clone())
            .await
            .and_then(|c| c.instance_type().map(str::to_string))
            .as_deref(),
        Some("t3.small")
    );
    assert!(
        configuration(first.clone()).await.is_none(),
        "the old one is gone"
    );
    assert_eq!(group_lc().await.as_deref(), Some(second.as_str()));
    diff(&dir, &stack, &changed, 0);

    // Outside stackd: the group is moved to another configuration and
    // stackd's is deleted. The diff finds both.
    let stray = format!("{name}-stray");
    asg.create_launch_configuration()
        .launch_configuration_name(&stray)
        .image_id(lc.image_id().expect("image"))
        .instance_type("t3.nano")
        .send()
        .await
        .expect("CreateLaunchConfiguration");
    asg.update_auto_scaling_group()
        .auto_scaling_group_name(&name)
        .launch_configuration_name(&stray)
        .send()
        .await
        .expect("UpdateAutoScalingGroup");
    asg.delete_launch_configuration()
        .launch_configuration_name(&second)
        .send()
        .await
        .expect("DeleteLaunchConfiguration");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_launch_configuration.node") && plan.contains("launch_configuration"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let third = output();
    assert_eq!(group_lc().await.as_deref(), Some(third.as_str()));
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
    assert!(configuration(third).await.is_none());
    assert!(group_lc().await.is_none());
    asg.delete_launch_configuration()
        .launch_configuration_name(&stray)
        .send()
        .await
        .expect("DeleteLaunchConfiguration (the stray one)");
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_role_managed_policy_arns_and_inline_policies() {
    require_localstack();
    let stack = unique_stack("tirf");
    let name = format!("irf{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-iam-role-forms");
    let iam = aws_sdk_iam::Client::new(&sdk_config().await);
    let role = format!("{name}-task");
    let attached = || async {
        let mut arns: Vec<String> = iam
            .list_attached_role_policies()
            .role_name(&role)
            .send()
            .await
            .expect("ListAttachedRolePolicies")
            .attached_policies()
            .iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect();
        arns.sort();
        arns
    };
    let inline = || async {
        iam.list_role_policies()
            .role_name(&role)
            .send()
            .await
            .expect("ListRolePolicies")
            .policy_names()
            .to_vec()
    };
    let read_only = "arn:aws:iam::aws:policy/ReadOnlyAccess";
    let ecr_read = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly";

    // Deprecated, so a warning; applied as the provider applies them.
    let validated = run_ok(&["validate", &dir], 0);
    assert!(
        String::from_utf8_lossy(&validated.stderr)
            .contains("\"managed_policy_arns\" is deprecated"),
        "{validated:?}"
    );
    apply(&dir, &stack, &[]);
    assert_eq!(attached().await, [read_only]);
    assert_eq!(inline().await, ["logs"]);
    let document = iam
        .get_role_policy()
        .role_name(&role)
        .policy_name("logs")
        .send()
        .await
        .expect("GetRolePolicy")
        .policy_document()
        .to_string();
    assert!(document.contains("PutLogEvents"), "{document}");
    diff(&dir, &stack, &[], 0);

    // Exclusive: a policy attached and an inline policy put outside are
    // found and removed.
    iam.attach_role_policy()
        .role_name(&role)
        .policy_arn(ecr_read)
        .send()
        .await
        .expect("AttachRolePolicy");
    iam.put_role_policy()
        .role_name(&role)
        .policy_name("stray")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:ListAllMyBuckets","Resource":"*"}]}"#)
        .send()
        .await
        .expect("PutRolePolicy");
    let plan = diff(&dir, &stack, &[], 2);
    assert!(
        plan.contains("managed_policy_arns") && plan.contains("inline_policy"),
        "{plan}"
    );
    apply(&dir, &stack, &[]);
    assert_eq!(attached().await, [read_only]);
    assert_eq!(inline().await, ["logs"]);
    diff(&dir, &stack, &[], 0);

    // Changed in the spec: the lists follow, in place.
    let managed = format!("managed=[\"{ecr_read}\"]");
    let changed = [
        "--var",
        managed.as_str(),
        "--var",
        "log_actions=[\"logs:PutLogEvents\"]",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(attached().await, [ecr_read]);
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
    let gone = iam.get_role().role_name(&role).send().await;
    assert!(gone.is_err(), "{gone:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn cloudtrail_trail_into_a_bucket() {
    require_localstack();
    let stack = unique_stack("tct");
    let name = format!("tct{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-cloudtrail");
    let trails = aws_sdk_cloudtrail::Client::new(&sdk_config().await);
    let trail_name = format!("{name}-audit");
    let trail = || async {
        trails
            .describe_trails()
            .trail_name_list(&trail_name)
            .send()
            .await
            .expect("DescribeTrails")
            .trail_list()
            .first()
            .cloned()
    };
    let logging = || async {
        trails
            .get_trail_status()
            .name(&trail_name)
            .send()
            .await
            .expect("GetTrailStatus")
            .is_logging()
    };

    apply(&dir, &stack, &[]);
    let t = trail().await.expect("the trail");
    assert_eq!(t.s3_bucket_name(), Some(format!("{name}-trail").as_str()));
    assert_eq!(t.s3_key_prefix(), Some("audit"));
    assert_eq!(t.is_multi_region_trail(), Some(false));
    assert_eq!(t.log_file_validation_enabled(), Some(true));
    assert!(
        t.sns_topic_arn()
            .is_some_and(|a| a.ends_with(&format!(":{name}-trail"))),
        "{t:?}"
    );
    assert_eq!(logging().await, Some(true));
    let tags = trails
        .list_tags()
        .resource_id_list(t.trail_arn().expect("arn"))
        .send()
        .await
        .expect("ListTags");
    let tag = |k: &str| {
        tags.resource_tag_list()
            .iter()
            .flat_map(|r| r.tags_list())
            .find(|t| t.key() == k)
            .and_then(|t| t.value().map(str::to_string))
    };
    assert_eq!(tag("Team").as_deref(), Some("security"));
    assert_eq!(tag("stackd:stack").as_deref(), Some(stack.as_str()));
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[("cloudtrail:DescribeTrails", 1), ("cloudtrail:ListTags", 1)],
    );

    // Multi-region and logging change in place.
    let changed = ["--var", "multi_region=true", "--var", "logging=false"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(
        trail().await.and_then(|t| t.is_multi_region_trail()),
        Some(true)
    );
    assert_eq!(logging().await, Some(false));
    diff(&dir, &stack, &changed, 0);

    // Logging turned back on outside stackd: found.
    trails
        .start_logging()
        .name(&trail_name)
        .send()
        .await
        .expect("StartLogging");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("enable_logging"), "{plan}");
    apply(&dir, &stack, &changed);
    assert_eq!(logging().await, Some(false));

    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(trail().await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn ec2_network_endpoints_acls_defaults_and_flow_logs() {
    use aws_sdk_ec2::types::Filter;
    require_localstack();
    let stack = unique_stack("tnet");
    let name = format!("net{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-network");
    let ec2 = ec2().await;
    let output = |n: &str| {
        let out = run_ok(&["output", &dir, "--stack", &stack, "--name", n], 0);
        stdout(&out).trim().to_string()
    };
    let by = |name: &str, value: &str| Filter::builder().name(name).values(value).build();
    let endpoint = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_vpc_endpoints()
                .filters(Filter::builder().name("vpc-endpoint-id").values(id).build())
                .send()
                .await
                .expect("DescribeVpcEndpoints")
                .vpc_endpoints()
                .iter()
                .find(|e| e.state().map(|s| s.as_str()) != Some("deleted"))
                .cloned()
        }
    };
    let acl = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_network_acls()
                .filters(Filter::builder().name("network-acl-id").values(id).build())
                .send()
                .await
                .expect("DescribeNetworkAcls")
                .network_acls()
                .first()
                .cloned()
        }
    };
    let entry = |acl: &aws_sdk_ec2::types::NetworkAcl, number: i32, egress: bool| {
        acl.entries()
            .iter()
            .find(|e| e.rule_number() == Some(number) && e.egress() == Some(egress))
            .cloned()
    };
    let group = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_security_groups()
                .filters(Filter::builder().name("group-id").values(id).build())
                .send()
                .await
                .expect("DescribeSecurityGroups")
                .security_groups()
                .first()
                .cloned()
                .expect("the default group")
        }
    };
    let flow_log = |id: String| {
        let ec2 = ec2.clone();
        async move {
            ec2.describe_flow_logs()
                .filter(Filter::builder().name("flow-log-id").values(id).build())
                .send()
                .await
                .expect("DescribeFlowLogs")
                .flow_logs()
                .first()
                .cloned()
        }
    };
    let has_tag = |tags: &[aws_sdk_ec2::types::Tag], k: &str, v: &str| {
        tags.iter()
            .any(|t| t.key() == Some(k) && t.value() == Some(v))
    };

    apply(&dir, &stack, &[]);
    let vpc = output("vpc_id");
    let subnet = output("subnet_id");

    // Endpoints: a Gateway one with its policy and table, one whose table
    // comes from an association, an Interface one in the subnet.
    let s3 = endpoint(output("s3_endpoint_id"))
        .await
        .expect("s3 endpoint");
    assert_eq!(s3.vpc_id(), Some(vpc.as_str()));
    assert_eq!(s3.route_table_ids().len(), 1);
    assert!(s3
        .policy_document()
        .unwrap_or_default()
        .contains("s3:GetObject"));
    assert!(has_tag(s3.tags(), "Name", &format!("{name}-s3")));
    let dynamodb_id = output("dynamodb_endpoint_id");
    let extra_rtb = output("extra_route_table_id");
    let dynamodb = endpoint(dynamodb_id.clone())
        .await
        .expect("dynamodb endpoint");
    assert_eq!(dynamodb.route_table_ids(), std::slice::from_ref(&extra_rtb));
    let sqs = endpoint(output("sqs_endpoint_id"))
        .await
        .expect("sqs endpoint");
    assert_eq!(
        sqs.vpc_endpoint_type().map(|t| t.as_str()),
        Some("Interface")
    );
    assert_eq!(sqs.subnet_ids(), std::slice::from_ref(&subnet));
    assert_eq!(sqs.groups().len(), 1);

    // ACLs: inline rules and the subnet; standalone rules by number.
    let acl_id = output("acl_id");
    let main_acl = acl(acl_id.clone()).await.expect("the ACL");
    let http = entry(&main_acl, 100, false).expect("rule 100");
    assert_eq!(http.protocol(), Some("6"));
    assert_eq!(http.port_range().and_then(|p| p.from()), Some(80));
    assert!(entry(&main_acl, 100, true).is_some());
    assert!(main_acl
        .associations()
        .iter()
        .any(|a| a.subnet_id() == Some(subnet.as_str())));
    let rules_acl_id = output("rules_acl_id");
    let rules_acl = acl(rules_acl_id.clone()).await.expect("the rules ACL");
    let https = entry(&rules_acl, 200, false).expect("rule 200");
    assert_eq!(https.cidr_block(), Some("10.0.0.0/8"));
    let ping = entry(&rules_acl, 210, true).expect("rule 210");
    // moto keeps no ICMP type and code (localstack/README.md).
    assert_eq!(ping.protocol(), Some("1"));

    // The default group: only the spec's rule (EC2's allow-all egress is
    // revoked), with the spec's tags.
    let default_sg = output("default_sg_id");
    let g = group(default_sg.clone()).await;
    assert_eq!(g.group_name(), Some("default"));
    assert_eq!(g.vpc_id(), Some(vpc.as_str()));
    assert_eq!(g.ip_permissions().len(), 1);
    assert_eq!(g.ip_permissions()[0].from_port(), Some(443));
    assert!(g.ip_permissions_egress().is_empty(), "{g:?}");
    assert!(has_tag(g.tags(), "Name", &format!("{name}-default")));

    // The default route table: the VPC's main table, with the spec's route.
    let default_rtb = output("default_route_table_id");
    let main_tables = ec2
        .describe_route_tables()
        .filters(by("vpc-id", &vpc))
        .filters(by("association.main", "true"))
        .send()
        .await
        .expect("DescribeRouteTables");
    let main_table = main_tables.route_tables().first().expect("main table");
    assert_eq!(main_table.route_table_id(), Some(default_rtb.as_str()));
    assert!(main_table
        .routes()
        .iter()
        .any(|r| r.destination_cidr_block() == Some("0.0.0.0/0")
            && r.gateway_id().is_some_and(|g| g.starts_with("igw-"))));

    let flow_id = output("flow_log_id");
    let fl = flow_log(flow_id.clone()).await.expect("the flow log");
    assert_eq!(fl.resource_id(), Some(vpc.as_str()));
    assert_eq!(fl.traffic_type().map(|t| t.as_str()), Some("REJECT"));
    assert_eq!(fl.max_aggregation_interval(), Some(60));
    assert!(has_tag(fl.tags(), "Name", &format!("{name}-flow")));

    // One chain per type: the endpoint and association types, the ACL and
    // rule types, security group and default group, route table and
    // default table each share an operation.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("ec2:DescribeVpcEndpoints", 2),
            ("ec2:DescribePrefixLists", 1),
            ("ec2:DescribeNetworkAcls", 2),
            ("ec2:DescribeSecurityGroups", 2),
            ("ec2:DescribeRouteTables", 2),
            ("ec2:DescribeFlowLogs", 1),
        ],
    );

    // Changes: the endpoint policy, an inline ACL rule and the default
    // group's rule in place; the flow log's traffic type by replacement.
    let changed = [
        "--var",
        "endpoint_action=s3:*",
        "--var",
        "acl_http_port=8080",
        "--var",
        "default_sg_port=22",
        "--var",
        "flow_traffic_type=ALL",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_flow_log.vpc") && plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let s3 = endpoint(s3.vpc_endpoint_id().unwrap().to_string())
        .await
        .expect("the same endpoint");
    assert!(s3.policy_document().unwrap_or_default().contains("s3:*"));
    let main_acl = acl(acl_id.clone()).await.expect("the ACL");
    let http = entry(&main_acl, 100, false).expect("rule 100");
    assert_eq!(http.port_range().and_then(|p| p.from()), Some(8080));
    let g = group(default_sg.clone()).await;
    assert_eq!(g.ip_permissions().len(), 1);
    assert_eq!(g.ip_permissions()[0].from_port(), Some(22));
    let new_flow_id = output("flow_log_id");
    assert_ne!(new_flow_id, flow_id);
    assert!(flow_log(flow_id.clone()).await.is_none());
    let fl = flow_log(new_flow_id.clone())
        .await
        .expect("the new flow log");
    assert_eq!(fl.traffic_type().map(|t| t.as_str()), Some("ALL"));
    diff(&dir, &stack, &changed, 0);

    // Behind stackd's back: a standalone rule deleted, the association's
    // table removed from its endpoint, the default group's rule revoked.
    ec2.delete_network_acl_entry()
        .network_acl_id(&rules_acl_id)
        .rule_number(200)
        .egress(false)
        .send()
        .await
        .expect("DeleteNetworkAclEntry");
    ec2.modify_vpc_endpoint()
        .vpc_endpoint_id(&dynamodb_id)
        .remove_route_table_ids(&extra_rtb)
        .send()
        .await
        .expect("ModifyVpcEndpoint");
    ec2.revoke_security_group_ingress()
        .group_id(&default_sg)
        .set_ip_permissions(Some(g.ip_permissions().to_vec()))
        .send()
        .await
        .expect("RevokeSecurityGroupIngress");
    let plan = diff(&dir, &stack, &changed, 2);
    for address in [
        "aws_network_acl_rule.https",
        "aws_vpc_endpoint_route_table_association.dynamodb",
        "aws_default_security_group.main",
    ] {
        assert!(plan.contains(address), "{address} in {plan}");
    }
    apply(&dir, &stack, &changed);
    let rules_acl = acl(rules_acl_id.clone()).await.expect("the rules ACL");
    assert!(entry(&rules_acl, 200, false).is_some());
    let dynamodb = endpoint(dynamodb_id.clone())
        .await
        .expect("dynamodb endpoint");
    assert_eq!(dynamodb.route_table_ids(), std::slice::from_ref(&extra_rtb));
    diff(&dir, &stack, &changed, 0);

    // Forgotten, then imported back by Terraform's import IDs.
    for (address, id) in [
        (
            "aws_network_acl_rule.https",
            format!("{rules_acl_id}:200:tcp:false"),
        ),
        (
            "aws_vpc_endpoint_route_table_association.dynamodb",
            format!("{dynamodb_id}/{extra_rtb}"),
        ),
        // By its VPC's ID, as Terraform imports it: the main table is found.
        ("aws_default_route_table.main", vpc.clone()),
    ] {
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
        if address.starts_with("aws_default_route_table") {
            assert!(imported.contains(&format!("({default_rtb})")), "{imported}");
        }
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
    for id in [output_gone(&s3), dynamodb_id.clone()] {
        assert!(endpoint(id).await.is_none());
    }
    assert!(acl(acl_id).await.is_none());
    assert!(acl(rules_acl_id).await.is_none());
    assert!(flow_log(new_flow_id).await.is_none());
    let vpcs = ec2
        .describe_vpcs()
        .filters(by("vpc-id", &vpc))
        .send()
        .await
        .expect("DescribeVpcs");
    assert!(vpcs.vpcs().is_empty());
}

/// The ID of an endpoint the test read before destroying it.
fn output_gone(e: &aws_sdk_ec2::types::VpcEndpoint) -> String {
    e.vpc_endpoint_id().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn cloud_map_namespaces_and_services() {
    require_localstack();
    let stack = unique_stack("tsd");
    let name = format!("sd{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-cloudmap");
    let config = sdk_config().await;
    let sd = aws_sdk_servicediscovery::Client::new(&config);
    let ecs = aws_sdk_ecs::Client::new(&config);
    let route53 = aws_sdk_route53::Client::new(&config);
    let namespace = |id: String| {
        let sd = sd.clone();
        async move {
            match sd.get_namespace().id(&id).send().await {
                Ok(out) => out.namespace().cloned(),
                Err(e) => {
                    let code = aws_sdk_servicediscovery::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("NamespaceNotFound"), "{e:?}");
                    None
                }
            }
        }
    };
    let service = |id: String| {
        let sd = sd.clone();
        async move {
            match sd.get_service().id(&id).send().await {
                Ok(out) => out.service().cloned(),
                Err(e) => {
                    let code = aws_sdk_servicediscovery::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("ServiceNotFound"), "{e:?}");
                    None
                }
            }
        }
    };
    let ttl = |svc: &aws_sdk_servicediscovery::types::Service| {
        svc.dns_config().map(|c| c.dns_records()[0].ttl())
    };

    apply(&dir, &stack, &[]);
    let outputs = stdout(&run_ok(&["output", &dir, "--stack", &stack, "--json"], 0));
    let outputs: serde_json::Value = serde_json::from_str(&outputs).expect("outputs JSON");
    let ns_id = outputs["namespace_id"]["value"]
        .as_str()
        .expect("namespace_id")
        .to_string();
    let svc_id = outputs["service_id"]["value"]
        .as_str()
        .expect("service_id")
        .to_string();
    let ns = namespace(ns_id.clone()).await.expect("the namespace");
    assert_eq!(ns.name(), Some(format!("{name}.internal").as_str()));
    assert_eq!(ns.description(), Some("services of the app"));
    // The namespace made a private hosted zone, shown as `hosted_zone`.
    let zone = ns
        .properties()
        .and_then(|p| p.dns_properties())
        .and_then(|d| d.hosted_zone_id())
        .expect("a hosted zone")
        .to_string();
    assert_eq!(
        outputs["hosted_zone"]["value"].as_str(),
        Some(zone.as_str())
    );
    route53
        .get_hosted_zone()
        .id(&zone)
        .send()
        .await
        .expect("the namespace's hosted zone");
    let svc = service(svc_id.clone()).await.expect("the service");
    assert_eq!(svc.name(), Some("api"));
    assert_eq!(svc.namespace_id(), Some(ns_id.as_str()));
    assert_eq!(ttl(&svc), Some(10));
    let tags = sd
        .list_tags_for_resource()
        .resource_arn(svc.arn().expect("arn"))
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "Team" && t.value() == "web"),
        "{tags:?}"
    );
    // The ECS service registers its tasks in the Cloud Map service.
    let ecs_service = ecs
        .describe_services()
        .cluster(format!("{name}-cluster"))
        .services(format!("{name}-api"))
        .send()
        .await
        .expect("DescribeServices");
    let registries = ecs_service.services()[0].service_registries();
    assert_eq!(registries.len(), 1, "{ecs_service:?}");
    assert_eq!(registries[0].registry_arn(), svc.arn());

    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("servicediscovery:ListNamespaces", 1),
            ("servicediscovery:ListServices", 1),
            ("servicediscovery:ListTagsForResource", 2),
        ],
    );

    // The namespace's description and the records' TTL change in place.
    let changed = ["--var", "description=the app's services", "--var", "ttl=30"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_service_discovery_private_dns_namespace.main")
            && plan.contains("aws_service_discovery_service.api")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let ns = namespace(ns_id.clone()).await.expect("the namespace");
    assert_eq!(ns.description(), Some("the app's services"));
    let svc = service(svc_id.clone()).await.expect("the service");
    assert_eq!(ttl(&svc), Some(30));
    assert_eq!(svc.id(), Some(svc_id.as_str()), "updated, not replaced");
    diff(&dir, &stack, &changed, 0);

    // A TTL changed behind stackd's back is found, and put back.
    sd.update_service()
        .id(&svc_id)
        .service(
            aws_sdk_servicediscovery::types::ServiceChange::builder()
                .description("the API's tasks")
                .dns_config(
                    aws_sdk_servicediscovery::types::DnsConfigChange::builder()
                        .dns_records(
                            aws_sdk_servicediscovery::types::DnsRecord::builder()
                                .r#type(aws_sdk_servicediscovery::types::RecordType::A)
                                .ttl(300)
                                .build()
                                .expect("record"),
                        )
                        .build()
                        .expect("change"),
                )
                .build(),
        )
        .send()
        .await
        .expect("UpdateService");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(plan.contains("ttl"), "{plan}");
    apply(&dir, &stack, &changed);
    let svc = service(svc_id.clone()).await.expect("the service");
    assert_eq!(ttl(&svc), Some(30));
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
    assert!(service(svc_id).await.is_none());
    assert!(namespace(ns_id).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn iam_policy_attachments_oidc_providers_and_service_linked_roles() {
    require_localstack();
    let stack = unique_stack("tiam");
    let name = format!("iam{}", std::process::id());
    let (_spec, dir) = fixture(&name, "types-iam");
    let config = sdk_config().await;
    let iam = aws_sdk_iam::Client::new(&config);
    let ecr = aws_sdk_ecr::Client::new(&config);
    let linked_role = format!("AWSServiceRoleForAutoScaling_{name}");
    let attached_roles = |arn: String| {
        let iam = iam.clone();
        async move {
            match iam.list_entities_for_policy().policy_arn(&arn).send().await {
                Ok(out) => Some(
                    out.policy_roles()
                        .iter()
                        .filter_map(|r| r.role_name().map(str::to_string))
                        .collect::<Vec<_>>(),
                ),
                Err(e) => {
                    let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("NoSuchEntity"), "{e:?}");
                    None
                }
            }
        }
    };
    let oidc = |arn: String| {
        let iam = iam.clone();
        async move {
            match iam
                .get_open_id_connect_provider()
                .open_id_connect_provider_arn(&arn)
                .send()
                .await
            {
                Ok(out) => Some(out),
                Err(e) => {
                    let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("NoSuchEntity"), "{e:?}");
                    None
                }
            }
        }
    };
    let role = |role: String| {
        let iam = iam.clone();
        async move {
            match iam.get_role().role_name(&role).send().await {
                Ok(out) => out.role().cloned(),
                Err(e) => {
                    let code = aws_sdk_iam::error::ProvideErrorMetadata::code(&e);
                    assert_eq!(code, Some("NoSuchEntity"), "{e:?}");
                    None
                }
            }
        }
    };

    apply(&dir, &stack, &[]);
    let outputs = stdout(&run_ok(&["output", &dir, "--stack", &stack, "--json"], 0));
    let outputs: serde_json::Value = serde_json::from_str(&outputs).expect("outputs JSON");
    let policy_arn = outputs["policy_arn"]["value"]
        .as_str()
        .expect("policy")
        .to_string();
    let provider_arn = outputs["provider_arn"]["value"]
        .as_str()
        .expect("provider")
        .to_string();
    let mut roles = attached_roles(policy_arn.clone())
        .await
        .expect("the policy");
    roles.sort();
    assert_eq!(roles, [format!("{name}-app"), format!("{name}-worker")]);
    let provider = oidc(provider_arn.clone()).await.expect("the OIDC provider");
    assert_eq!(provider.client_id_list(), ["sts.amazonaws.com"]);
    assert_eq!(
        provider.thumbprint_list(),
        ["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"]
    );
    assert!(
        provider
            .tags()
            .iter()
            .any(|t| t.key() == "Purpose" && t.value() == "ci"),
        "{provider:?}"
    );
    let linked = role(linked_role.clone()).await.expect("the linked role");
    assert_eq!(
        linked.path(),
        "/aws-service-role/autoscaling.amazonaws.com/"
    );
    assert_eq!(linked.description(), Some("Auto Scaling for the web tier"));
    assert_eq!(
        outputs["linked_role_arn"]["value"].as_str(),
        Some(linked.arn())
    );
    assert!(
        linked.tags().iter().any(|t| t.key() == "Purpose"),
        "the ownership and spec tags follow the create: {linked:?}"
    );
    // The ECR repository, read back through the data source.
    let repo = ecr
        .describe_repositories()
        .repository_names(format!("{name}/app"))
        .send()
        .await
        .expect("DescribeRepositories");
    assert_eq!(
        outputs["repository_url"]["value"].as_str(),
        repo.repositories()[0].repository_uri()
    );
    assert_eq!(outputs["scan_on_push"]["value"], serde_json::json!(true));

    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("iam:ListEntitiesForPolicy", 1),
            ("iam:GetOpenIDConnectProvider", 1),
            // Two roles and the service-linked one.
            ("iam:GetRole", 3),
            ("ecr:DescribeImages", 1),
        ],
    );

    // One role fewer, a new thumbprint, a new description: all in place.
    let changed = [
        "--var",
        "attach_worker=false",
        "--var",
        "thumbprint=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "--var",
        "role_description=Auto Scaling of the web tier",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_iam_policy_attachment.read")
            && plan.contains("aws_iam_openid_connect_provider.ci")
            && plan.contains("aws_iam_service_linked_role.autoscaling")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(
        attached_roles(policy_arn.clone())
            .await
            .expect("the policy"),
        [format!("{name}-app")]
    );
    let provider = oidc(provider_arn.clone()).await.expect("the OIDC provider");
    assert_eq!(
        provider.thumbprint_list(),
        ["aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"]
    );
    let linked = role(linked_role.clone()).await.expect("the linked role");
    assert_eq!(linked.description(), Some("Auto Scaling of the web tier"));
    diff(&dir, &stack, &changed, 0);

    // Behind stackd's back: the policy attached to the worker again (the
    // attachment is exclusive: the plan takes it away), a thumbprint and a
    // description changed.
    iam.attach_role_policy()
        .role_name(format!("{name}-worker"))
        .policy_arn(&policy_arn)
        .send()
        .await
        .expect("AttachRolePolicy");
    iam.update_open_id_connect_provider_thumbprint()
        .open_id_connect_provider_arn(&provider_arn)
        .thumbprint_list("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")
        .send()
        .await
        .expect("UpdateOpenIDConnectProviderThumbprint");
    iam.update_role()
        .role_name(&linked_role)
        .description("changed by hand")
        .send()
        .await
        .expect("UpdateRole");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains(&format!("{name}-worker"))
            && plan.contains("thumbprint_list")
            && plan.contains("changed by hand"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(
        attached_roles(policy_arn.clone())
            .await
            .expect("the policy"),
        [format!("{name}-app")],
        "the attachment made elsewhere is detached"
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
    // moto lists no entities for a deleted policy instead of NoSuchEntity.
    assert!(attached_roles(policy_arn.clone())
        .await
        .unwrap_or_default()
        .is_empty());
    assert!(iam
        .get_policy()
        .policy_arn(&policy_arn)
        .send()
        .await
        .is_err());
    assert!(oidc(provider_arn).await.is_none());
    assert!(role(linked_role).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn kms_keys_and_aliases() {
    require_localstack();
    let stack = unique_stack("tkms");
    let name = format!("stackd-tkms-{}", std::process::id());
    let alias = format!("alias/{name}");
    let (_spec, dir) = fixture(&name, "types-kms");
    let kms = aws_sdk_kms::Client::new(&sdk_config().await);
    let key = |kms: aws_sdk_kms::Client, id: String| async move {
        kms.describe_key()
            .key_id(&id)
            .send()
            .await
            .expect("DescribeKey")
            .key_metadata
            .expect("key metadata")
    };
    let alias_target = |kms: aws_sdk_kms::Client, alias: String| async move {
        kms.list_aliases()
            .send()
            .await
            .expect("ListAliases")
            .aliases()
            .iter()
            .find(|a| a.alias_name() == Some(alias.as_str()))
            .and_then(|a| a.target_key_id().map(str::to_string))
    };
    let outputs = |dir: &str, stack: &str| {
        let out = stdout(&run_ok(&["output", dir, "--stack", stack, "--json"], 0));
        serde_json::from_str::<serde_json::Value>(&out).expect("outputs JSON")
    };

    apply(&dir, &stack, &[]);
    let out = outputs(&dir, &stack);
    let main_id = out["key_id"]["value"].as_str().expect("key_id").to_string();
    let other_id = out["other_key_id"]["value"]
        .as_str()
        .expect("other_key_id")
        .to_string();
    let main = key(kms.clone(), main_id.clone()).await;
    assert_eq!(main.description(), Some("stackd test key"));
    assert!(main.enabled());
    let rotation = kms
        .get_key_rotation_status()
        .key_id(&main_id)
        .send()
        .await
        .expect("GetKeyRotationStatus");
    assert!(rotation.key_rotation_enabled());
    let tags = kms
        .list_resource_tags()
        .key_id(&main_id)
        .send()
        .await
        .expect("ListResourceTags");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.tag_key() == "Purpose" && t.tag_value() == "test"),
        "{tags:?}"
    );
    assert_eq!(
        alias_target(kms.clone(), alias.clone()).await.as_deref(),
        Some(main_id.as_str())
    );
    assert_eq!(out["looked_up_arn"]["value"].as_str(), main.arn(), "{out}");

    // Keys are read one by one (four calls each; the data source's
    // DescribeKey is the third); aliases with one list.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("kms:DescribeKey", 3),
            ("kms:GetKeyPolicy", 2),
            ("kms:GetKeyRotationStatus", 2),
            ("kms:ListResourceTags", 2),
            ("kms:ListAliases", 1),
        ],
    );

    // The description changes in place; the alias is pointed at the other
    // key (by its ARN) in place.
    let changed = [
        "--var",
        "description=changed key",
        "--var",
        "alias_target=other",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_kms_key.main")
            && plan.contains("aws_kms_alias.main")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(
        key(kms.clone(), main_id.clone()).await.description(),
        Some("changed key")
    );
    assert_eq!(
        alias_target(kms.clone(), alias.clone()).await.as_deref(),
        Some(other_id.as_str())
    );
    diff(&dir, &stack, &changed, 0);

    // Disabled and re-pointed behind stackd's back: the diff finds both,
    // and apply puts them back.
    kms.disable_key()
        .key_id(&main_id)
        .send()
        .await
        .expect("DisableKey");
    kms.update_alias()
        .alias_name(&alias)
        .target_key_id(&main_id)
        .send()
        .await
        .expect("UpdateAlias");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("is_enabled") && plan.contains("aws_kms_alias.main"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert!(key(kms.clone(), main_id.clone()).await.enabled());
    assert_eq!(
        alias_target(kms.clone(), alias.clone()).await.as_deref(),
        Some(other_id.as_str())
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
    // KMS deletes no key at once: destroy schedules the deletion.
    for id in [&main_id, &other_id] {
        let m = key(kms.clone(), id.clone()).await;
        assert_eq!(
            m.key_state(),
            Some(&aws_sdk_kms::types::KeyState::PendingDeletion),
            "{m:?}"
        );
        // Deleted seven days on (`deletion_window_in_days`). LocalStack
        // answers no `PendingDeletionWindowInDays`: the date is checked.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs() as i64;
        let days = (m.deletion_date().expect("deletion date").secs() - now) as f64 / 86400.0;
        assert!((6.9..=7.1).contains(&days), "{days} days: {m:?}");
    }
    assert_eq!(alias_target(kms.clone(), alias.clone()).await, None);
}

#[tokio::test(flavor = "multi_thread")]
async fn eventbridge_rules_and_ecs_targets() {
    require_localstack();
    let stack = unique_stack("tevents");
    let name = format!("stackd-tev-{}", std::process::id());
    let nightly = format!("{name}-nightly");
    let (_spec, dir) = fixture(&name, "types-events");
    let events = aws_sdk_eventbridge::Client::new(&sdk_config().await);
    let rule = |events: aws_sdk_eventbridge::Client, name: String| async move {
        match events.describe_rule().name(&name).send().await {
            Ok(out) => Some(out),
            Err(e) => {
                let code = aws_sdk_eventbridge::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                None
            }
        }
    };
    let targets = |events: aws_sdk_eventbridge::Client, rule: String| async move {
        match events.list_targets_by_rule().rule(&rule).send().await {
            Ok(out) => out.targets().to_vec(),
            Err(e) => {
                let code = aws_sdk_eventbridge::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                Vec::new()
            }
        }
    };

    apply(&dir, &stack, &[]);
    let out = stdout(&run_ok(&["output", &dir, "--stack", &stack, "--json"], 0));
    let out: serde_json::Value = serde_json::from_str(&out).expect("outputs JSON");
    let deploys = out["deploys_rule"]["value"]
        .as_str()
        .expect("deploys_rule")
        .to_string();
    assert!(
        deploys.starts_with(&format!("{name}-deploys-")),
        "{deploys}"
    );
    let task_definition = out["task_definition_arn"]["value"]
        .as_str()
        .expect("task_definition_arn")
        .to_string();

    let live = rule(events.clone(), nightly.clone())
        .await
        .expect("the rule");
    assert_eq!(live.schedule_expression(), Some("rate(1 day)"));
    assert_eq!(live.description(), Some("runs the nightly job"));
    assert_eq!(live.state().map(|s| s.as_str()), Some("ENABLED"));
    let tags = events
        .list_tags_for_resource()
        .resource_arn(live.arn().expect("rule ARN"))
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "Purpose" && t.value() == "test"),
        "{tags:?}"
    );
    let job = targets(events.clone(), nightly.clone()).await;
    assert_eq!(job.len(), 1, "{job:?}");
    assert_eq!(job[0].id(), "run-job");
    let ecs = job[0].ecs_parameters().expect("ECS parameters");
    assert_eq!(ecs.task_definition_arn(), task_definition);
    assert_eq!(ecs.task_count(), Some(1));
    assert_eq!(ecs.launch_type().map(|l| l.as_str()), Some("FARGATE"));
    let vpc = ecs
        .network_configuration()
        .and_then(|n| n.awsvpc_configuration())
        .expect("awsvpc configuration");
    assert_eq!(vpc.subnets().len(), 1, "{vpc:?}");
    let deploys_rule = rule(events.clone(), deploys.clone())
        .await
        .expect("the rule");
    assert_eq!(deploys_rule.state().map(|s| s.as_str()), Some("DISABLED"));
    let pattern: serde_json::Value =
        serde_json::from_str(deploys_rule.event_pattern().expect("pattern")).expect("JSON");
    assert_eq!(pattern["source"], serde_json::json!(["aws.ecs"]));
    let queue = targets(events.clone(), deploys.clone()).await;
    assert_eq!(queue.len(), 1, "{queue:?}");
    assert_eq!(queue[0].input(), Some(r#"{"from":"stackd"}"#));

    // Rules with one list per bus (tags per rule); targets one list per rule.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("events:ListRules", 1),
            ("events:ListTagsForResource", 2),
            ("events:ListTargetsByRule", 2),
        ],
    );

    // The schedule and the task count change in place.
    let changed = ["--var", "schedule=rate(2 days)", "--var", "task_count=2"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_cloudwatch_event_rule.nightly")
            && plan.contains("aws_cloudwatch_event_target.job")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = rule(events.clone(), nightly.clone())
        .await
        .expect("the rule");
    assert_eq!(live.schedule_expression(), Some("rate(2 days)"));
    let job = targets(events.clone(), nightly.clone()).await;
    assert_eq!(
        job[0].ecs_parameters().and_then(|e| e.task_count()),
        Some(2)
    );
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: the rule's description and the task
    // count. The diff finds both; apply puts them back.
    events
        .put_rule()
        .name(&nightly)
        .schedule_expression("rate(2 days)")
        .description("edited in the console")
        .send()
        .await
        .expect("PutRule");
    let mut edited = job[0].clone();
    edited.ecs_parameters = Some(
        aws_sdk_eventbridge::types::EcsParameters::builder()
            .task_definition_arn(&task_definition)
            .task_count(5)
            .build()
            .expect("ECS parameters"),
    );
    events
        .put_targets()
        .rule(&nightly)
        .targets(edited)
        .send()
        .await
        .expect("PutTargets");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("description") && plan.contains("aws_cloudwatch_event_target.job"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = rule(events.clone(), nightly.clone())
        .await
        .expect("the rule");
    assert_eq!(live.description(), Some("runs the nightly job"));
    let job = targets(events.clone(), nightly.clone()).await;
    assert_eq!(
        job[0].ecs_parameters().and_then(|e| e.task_count()),
        Some(2)
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
    assert!(rule(events.clone(), nightly.clone()).await.is_none());
    assert!(rule(events.clone(), deploys.clone()).await.is_none());
    assert!(targets(events.clone(), nightly.clone()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_metric_filters_and_dashboards() {
    require_localstack();
    let stack = unique_stack("tobs");
    let name = format!("stackd-tobs-{}", std::process::id());
    let group = format!("/stackd-test/{name}");
    let filter = format!("{name}-errors");
    let dashboard = format!("{name}-main");
    let (_spec, dir) = fixture(&name, "types-observability");
    let config = sdk_config().await;
    let logs = aws_sdk_cloudwatchlogs::Client::new(&config);
    let cw = aws_sdk_cloudwatch::Client::new(&config);
    let filters = |logs: aws_sdk_cloudwatchlogs::Client, group: String| async move {
        match logs
            .describe_metric_filters()
            .log_group_name(&group)
            .send()
            .await
        {
            Ok(out) => out.metric_filters().to_vec(),
            Err(e) => {
                let code = aws_sdk_cloudwatchlogs::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFoundException"), "{e:?}");
                Vec::new()
            }
        }
    };
    let body = |cw: aws_sdk_cloudwatch::Client, name: String| async move {
        match cw.get_dashboard().dashboard_name(&name).send().await {
            Ok(out) => Some(
                serde_json::from_str::<serde_json::Value>(out.dashboard_body().expect("body"))
                    .expect("JSON body"),
            ),
            Err(e) => {
                let code = aws_sdk_cloudwatch::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ResourceNotFound"), "{e:?}");
                None
            }
        }
    };

    apply(&dir, &stack, &[]);
    let live = filters(logs.clone(), group.clone()).await;
    assert_eq!(live.len(), 1, "{live:?}");
    assert_eq!(live[0].filter_name(), Some(filter.as_str()));
    assert_eq!(live[0].filter_pattern(), Some("ERROR"));
    let t = &live[0].metric_transformations()[0];
    assert_eq!(t.metric_name(), "Errors");
    assert_eq!(t.metric_namespace(), format!("Stackd/{name}"));
    assert_eq!(t.default_value(), Some(0.0));
    let b = body(cw.clone(), dashboard.clone())
        .await
        .expect("the dashboard");
    assert_eq!(b["widgets"][0]["properties"]["period"], 300);

    // Filters with one chain per log group; dashboards one by one.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("logs:DescribeMetricFilters", 1),
            ("cloudwatch:GetDashboard", 1),
        ],
    );

    // The pattern and the dashboard's period change in place.
    let changed = ["--var", "pattern=\"FATAL\"", "--var", "period=60"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_cloudwatch_log_metric_filter.errors")
            && plan.contains("aws_cloudwatch_dashboard.main")
            && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = filters(logs.clone(), group.clone()).await;
    assert_eq!(live[0].filter_pattern(), Some("\"FATAL\""));
    let b = body(cw.clone(), dashboard.clone())
        .await
        .expect("the dashboard");
    assert_eq!(b["widgets"][0]["properties"]["period"], 60);
    diff(&dir, &stack, &changed, 0);

    // Changed behind stackd's back: the filter's metric and the dashboard's
    // widgets. The diff finds both; apply puts them back.
    logs.put_metric_filter()
        .log_group_name(&group)
        .filter_name(&filter)
        .filter_pattern("\"FATAL\"")
        .metric_transformations(
            aws_sdk_cloudwatchlogs::types::MetricTransformation::builder()
                .metric_name("Renamed")
                .metric_namespace(format!("Stackd/{name}"))
                .metric_value("1")
                .build()
                .expect("transformation"),
        )
        .send()
        .await
        .expect("PutMetricFilter");
    cw.put_dashboard()
        .dashboard_name(&dashboard)
        .dashboard_body(r#"{"widgets":[]}"#)
        .send()
        .await
        .expect("PutDashboard");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_cloudwatch_log_metric_filter.errors")
            && plan.contains("aws_cloudwatch_dashboard.main"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = filters(logs.clone(), group.clone()).await;
    assert_eq!(live[0].metric_transformations()[0].metric_name(), "Errors");
    let b = body(cw.clone(), dashboard.clone())
        .await
        .expect("the dashboard");
    assert_eq!(b["widgets"][0]["properties"]["period"], 60);
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
    assert!(filters(logs.clone(), group.clone()).await.is_empty());
    assert!(body(cw.clone(), dashboard.clone()).await.is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn target_group_attachments() {
    require_localstack();
    let stack = unique_stack("ttga");
    let name = format!("tga{}", std::process::id() % 100_000);
    let (_spec, dir) = fixture(&name, "types-lb-attachments");
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config().await);
    let output = |key: &str| {
        stdout(&run_ok(
            &["output", &dir, "--stack", &stack, "--name", key],
            0,
        ))
        .trim()
        .trim_matches('"')
        .to_string()
    };
    // The registered targets of a group, as (ID, port), draining ones left
    // out; none when the group is gone.
    let targets = |elb: aws_sdk_elasticloadbalancingv2::Client, arn: String| async move {
        match elb
            .describe_target_health()
            .target_group_arn(&arn)
            .send()
            .await
        {
            Ok(out) => {
                let mut ts: Vec<(String, i32)> = out
                    .target_health_descriptions()
                    .iter()
                    .filter(|d| {
                        d.target_health()
                            .and_then(|h| h.state())
                            .is_none_or(|s| s.as_str() != "draining")
                    })
                    .filter_map(|d| {
                        let t = d.target()?;
                        Some((t.id()?.to_string(), t.port()?))
                    })
                    .collect();
                ts.sort();
                ts
            }
            Err(e) => {
                let code = aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("TargetGroupNotFound"), "{e:?}");
                Vec::new()
            }
        }
    };

    apply(&dir, &stack, &[]);
    let web = output("web_group_arn");
    let api = output("api_group_arn");
    assert_eq!(
        targets(elb.clone(), web.clone()).await,
        vec![
            ("10.64.1.10".to_string(), 80),
            ("10.64.1.11".to_string(), 80)
        ]
    );
    assert_eq!(
        targets(elb.clone(), api.clone()).await,
        vec![("10.64.1.20".to_string(), 8080)]
    );
    // Targets are read group by group: one call per target group, whatever
    // the number of attachments in it.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(&calls, &[("elasticloadbalancing:DescribeTargetHealth", 2)]);

    // A new port replaces the attachment: the target is registered on the
    // new port and deregistered from the old.
    let changed = ["--var", "api_port=9090"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_lb_target_group_attachment.api") && plan.contains("replace"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    assert_eq!(
        targets(elb.clone(), api.clone()).await,
        vec![("10.64.1.20".to_string(), 9090)]
    );
    diff(&dir, &stack, &changed, 0);

    // Deregistered behind stackd's back: the diff registers it again.
    elb.deregister_targets()
        .target_group_arn(&web)
        .targets(
            aws_sdk_elasticloadbalancingv2::types::TargetDescription::builder()
                .id("10.64.1.11")
                .port(80)
                .build(),
        )
        .send()
        .await
        .expect("DeregisterTargets");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_lb_target_group_attachment.web[\"10.64.1.11\"]"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    // Every attachment goes before its group.
    let mut destroy = vec![
        "destroy",
        dir.as_str(),
        "--stack",
        stack.as_str(),
        "--auto-approve",
    ];
    destroy.extend_from_slice(&changed);
    run_ok(&destroy, 0);
    assert!(targets(elb.clone(), web.clone()).await.is_empty());
    assert!(targets(elb.clone(), api.clone()).await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn codedeploy_ecs_blue_green() {
    require_localstack();
    let stack = unique_stack("tcd");
    let name = format!("tcd{}", std::process::id() % 100_000);
    let (_spec, dir) = fixture(&name, "types-codedeploy");
    let cd = aws_sdk_codedeploy::Client::new(&sdk_config().await);
    let group_name = format!("{name}-bg");
    let group = |cd: aws_sdk_codedeploy::Client, app: String, group: String| async move {
        match cd
            .batch_get_deployment_groups()
            .application_name(&app)
            .deployment_group_names(&group)
            .send()
            .await
        {
            Ok(out) => out.deployment_groups_info().first().cloned(),
            Err(e) => {
                let code = aws_sdk_codedeploy::error::ProvideErrorMetadata::code(&e);
                assert_eq!(code, Some("ApplicationDoesNotExistException"), "{e:?}");
                None
            }
        }
    };
    let apps = |cd: aws_sdk_codedeploy::Client| async move {
        cd.list_applications()
            .send()
            .await
            .expect("ListApplications")
            .applications()
            .to_vec()
    };

    apply(&dir, &stack, &[]);
    let app = cd
        .batch_get_applications()
        .application_names(&name)
        .send()
        .await
        .expect("BatchGetApplications")
        .applications_info()[0]
        .clone();
    assert_eq!(
        app.compute_platform(),
        Some(&aws_sdk_codedeploy::types::ComputePlatform::Ecs)
    );
    let live = group(cd.clone(), name.clone(), group_name.clone())
        .await
        .expect("the deployment group");
    let id = stdout(&run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "deployment_group_id",
        ],
        0,
    ))
    .trim()
    .trim_matches('"')
    .to_string();
    assert_eq!(live.deployment_group_id(), Some(id.as_str()));
    let style = live.deployment_style().expect("deployment style");
    assert_eq!(
        style.deployment_type().map(|t| t.as_str()),
        Some("BLUE_GREEN")
    );
    assert_eq!(
        style.deployment_option().map(|o| o.as_str()),
        Some("WITH_TRAFFIC_CONTROL")
    );
    let ecs = &live.ecs_services()[0];
    assert_eq!(ecs.service_name(), Some(format!("{name}-web").as_str()));
    let pair = &live
        .load_balancer_info()
        .expect("load balancer info")
        .target_group_pair_info_list()[0];
    let tgs: Vec<_> = pair
        .target_groups()
        .iter()
        .filter_map(|t| t.name())
        .collect();
    assert_eq!(tgs, [format!("{name}-blue"), format!("{name}-green")]);
    assert_eq!(pair.prod_traffic_route().unwrap().listener_arns().len(), 1);
    let blue_wait = |g: &aws_sdk_codedeploy::types::DeploymentGroupInfo| {
        g.blue_green_deployment_configuration()
            .and_then(|b| b.terminate_blue_instances_on_deployment_success())
            .map(|t| t.termination_wait_time_in_minutes())
    };
    assert_eq!(blue_wait(&live), Some(5));
    let arn =
        format!("arn:aws:codedeploy:us-east-1:000000000000:deploymentgroup:{name}/{group_name}");
    let tags = cd
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tags().iter().any(|t| t.key() == Some("stackd:stack")),
        "{tags:?}"
    );
    // Applications read in one batch; groups in one batch per
    // application; tags one resource a call (CodeDeploy has no batch form).
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("codedeploy:BatchGetApplications", 1),
            ("codedeploy:BatchGetDeploymentGroups", 1),
            ("codedeploy:ListTagsForResource", 2),
        ],
    );

    // A new termination wait is changed in place, keeping the group's ID.
    let changed = ["--var", "termination_wait=30"];
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_codedeploy_deployment_group.web") && !plan.contains("must be replaced"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    let live = group(cd.clone(), name.clone(), group_name.clone())
        .await
        .expect("the same group");
    assert_eq!(live.deployment_group_id(), Some(id.as_str()));
    assert_eq!(blue_wait(&live), Some(30));
    diff(&dir, &stack, &changed, 0);

    // Tagged behind stackd's back: the diff takes the tag away again.
    let app_arn = format!("arn:aws:codedeploy:us-east-1:000000000000:application:{name}");
    cd.tag_resource()
        .resource_arn(&app_arn)
        .tags(
            aws_sdk_codedeploy::types::Tag::builder()
                .key("Rogue")
                .value("yes")
                .build(),
        )
        .send()
        .await
        .expect("TagResource");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_codedeploy_app.web") && plan.contains("Rogue"),
        "{plan}"
    );
    apply(&dir, &stack, &changed);
    diff(&dir, &stack, &changed, 0);

    // Deleted behind stackd's back: the diff creates the group again.
    cd.delete_deployment_group()
        .application_name(&name)
        .deployment_group_name(&group_name)
        .send()
        .await
        .expect("DeleteDeploymentGroup");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_codedeploy_deployment_group.web"),
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
    assert!(!apps(cd.clone()).await.contains(&name));
    assert!(group(cd.clone(), name.clone(), group_name.clone())
        .await
        .is_none());
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

#[tokio::test(flavor = "multi_thread")]
async fn delivery_hooks_connections_and_public_repositories() {
    // CodeBuild and CodePipeline webhooks, CodeStar connections and ECR
    // Public are served by the project's LocalStack plugin from memory
    // (neither LocalStack nor moto has them): see
    // localstack/plugin/stackd_localstack_moto_services/webhooks.py.
    require_localstack();
    let stack = unique_stack("thk");
    let name = format!("thk{}", std::process::id() % 100_000);
    let (_spec, dir) = fixture(&name, "types-delivery-hooks");
    let config = sdk_config().await;
    let cb = aws_sdk_codebuild::Client::new(&config);
    let cp = aws_sdk_codepipeline::Client::new(&config);
    let cs = aws_sdk_codestarconnections::Client::new(&config);
    let ep = aws_sdk_ecrpublic::Client::new(&config);
    let project = format!("{name}-app");
    let hook_name = format!("{name}-push");
    let repo = format!("{name}-base");

    let build_hook = |cb: aws_sdk_codebuild::Client, project: String| async move {
        cb.batch_get_projects()
            .names(&project)
            .send()
            .await
            .expect("BatchGetProjects")
            .projects()
            .first()
            .and_then(|p| p.webhook().cloned())
    };
    let head_ref = |w: &aws_sdk_codebuild::types::Webhook| {
        w.filter_groups()
            .iter()
            .flatten()
            .find(|f| f.r#type().as_str() == "HEAD_REF")
            .map(|f| f.pattern().to_string())
    };
    let pipeline_hook = |cp: aws_sdk_codepipeline::Client, name: String| async move {
        cp.list_webhooks()
            .send()
            .await
            .expect("ListWebhooks")
            .webhooks()
            .iter()
            .find(|w| w.definition().map(|d| d.name()) == Some(name.as_str()))
            .cloned()
    };
    let connection = |cs: aws_sdk_codestarconnections::Client, arn: String| async move {
        cs.list_connections()
            .send()
            .await
            .expect("ListConnections")
            .connections()
            .iter()
            .find(|c| c.connection_arn() == Some(arn.as_str()))
            .cloned()
    };
    let catalog = |ep: aws_sdk_ecrpublic::Client, repo: String| async move {
        ep.get_repository_catalog_data()
            .repository_name(&repo)
            .send()
            .await
            .ok()
            .and_then(|c| c.catalog_data().cloned())
    };

    apply(&dir, &stack, &[]);
    let hook = build_hook(cb.clone(), project.clone())
        .await
        .expect("the project's webhook");
    assert_eq!(head_ref(&hook).as_deref(), Some("^refs/heads/main$"));
    assert_eq!(hook.build_type().map(|t| t.as_str()), Some("BUILD"));
    let item = pipeline_hook(cp.clone(), hook_name.clone())
        .await
        .expect("the pipeline's webhook");
    let def = item.definition().expect("definition");
    assert_eq!(def.target_pipeline(), project);
    assert_eq!(def.filters()[0].match_equals(), Some("refs/heads/main"));
    let tag = |key: &str| {
        item.tags()
            .iter()
            .find(|t| t.key() == key)
            .map(|t| t.value().to_string())
    };
    assert_eq!(tag("Purpose").as_deref(), Some("push"));
    assert_eq!(tag("stackd:stack").as_deref(), Some(stack.as_str()));
    let arn = stdout(&run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "connection_arn",
        ],
        0,
    ))
    .trim()
    .trim_matches('"')
    .to_string();
    let conn = connection(cs.clone(), arn.clone())
        .await
        .expect("the connection");
    assert_eq!(
        conn.connection_name(),
        Some(format!("{name}-github").as_str())
    );
    assert_eq!(conn.provider_type().map(|p| p.as_str()), Some("GitHub"));
    let tags = cs
        .list_tags_for_resource()
        .resource_arn(&arn)
        .send()
        .await
        .expect("ListTagsForResource");
    assert!(
        tags.tags()
            .iter()
            .any(|t| t.key() == "stackd:stack" && t.value() == stack),
        "{tags:?}"
    );
    let repos = ep
        .describe_repositories()
        .repository_names(&repo)
        .send()
        .await
        .expect("DescribeRepositories");
    let uri = stdout(&run_ok(
        &[
            "output",
            &dir,
            "--stack",
            &stack,
            "--name",
            "repository_uri",
        ],
        0,
    ));
    assert_eq!(
        repos.repositories()[0].repository_uri(),
        Some(uri.trim().trim_matches('"'))
    );
    let data = catalog(ep.clone(), repo.clone())
        .await
        .expect("catalog data");
    assert_eq!(
        data.description(),
        Some("Base images of the web application")
    );
    let mut arch = data.architectures().to_vec();
    arch.sort();
    assert_eq!(arch, ["ARM 64", "x86-64"]);

    // One chain per type: the project and its webhook share
    // BatchGetProjects; connections and public repositories read their
    // tags one resource a call (neither API has a batch form), a public
    // repository its catalog data too.
    let calls = no_op_diff_calls(&dir, &stack, &[]);
    assert_calls(
        &calls,
        &[
            ("codebuild:BatchGetProjects", 2),
            ("codepipeline:ListWebhooks", 1),
            ("codestar-connections:ListConnections", 1),
            ("codestar-connections:ListTagsForResource", 1),
            ("ecr-public:DescribeRepositories", 1),
            ("ecr-public:GetRepositoryCatalogData", 1),
            ("ecr-public:ListTagsForResource", 1),
        ],
    );

    // A new branch and description are changed in place: the webhooks
    // keep their URLs, the repository its URI.
    let changed = [
        "--var",
        "branch=release",
        "--var",
        "description=Base images, mirrored",
    ];
    let plan = diff(&dir, &stack, &changed, 2);
    for address in [
        "aws_codebuild_webhook.app",
        "aws_codepipeline_webhook.app",
        "aws_ecrpublic_repository.base",
    ] {
        assert!(plan.contains(address), "{address} in {plan}");
    }
    assert!(!plan.contains("must be replaced"), "{plan}");
    apply(&dir, &stack, &changed);
    let after = build_hook(cb.clone(), project.clone())
        .await
        .expect("the same webhook");
    assert_eq!(head_ref(&after).as_deref(), Some("^refs/heads/release$"));
    assert_eq!(after.url(), hook.url());
    let after = pipeline_hook(cp.clone(), hook_name.clone())
        .await
        .expect("the same pipeline webhook");
    assert_eq!(after.url(), item.url());
    assert_eq!(
        after.definition().unwrap().filters()[0].match_equals(),
        Some("refs/heads/release")
    );
    let data = catalog(ep.clone(), repo.clone())
        .await
        .expect("catalog data");
    assert_eq!(data.description(), Some("Base images, mirrored"));
    diff(&dir, &stack, &changed, 0);

    // Behind stackd's back: the connection tagged, the build webhook
    // deleted, the repository's catalog rewritten. The diff finds all
    // three and the apply puts them back.
    cs.tag_resource()
        .resource_arn(&arn)
        .tags(
            aws_sdk_codestarconnections::types::Tag::builder()
                .key("Rogue")
                .value("yes")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("TagResource");
    cb.delete_webhook()
        .project_name(&project)
        .send()
        .await
        .expect("DeleteWebhook");
    ep.put_repository_catalog_data()
        .repository_name(&repo)
        .catalog_data(
            aws_sdk_ecrpublic::types::RepositoryCatalogDataInput::builder()
                .description("rewritten by hand")
                .build(),
        )
        .send()
        .await
        .expect("PutRepositoryCatalogData");
    let plan = diff(&dir, &stack, &changed, 2);
    assert!(
        plan.contains("aws_codestarconnections_connection.github") && plan.contains("Rogue"),
        "{plan}"
    );
    assert!(plan.contains("aws_codebuild_webhook.app"), "{plan}");
    assert!(plan.contains("rewritten by hand"), "{plan}");
    apply(&dir, &stack, &changed);
    assert!(build_hook(cb.clone(), project.clone()).await.is_some());
    let data = catalog(ep.clone(), repo.clone())
        .await
        .expect("catalog data");
    assert_eq!(data.description(), Some("Base images, mirrored"));
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
    assert!(pipeline_hook(cp.clone(), hook_name.clone()).await.is_none());
    assert!(connection(cs.clone(), arn.clone()).await.is_none());
    assert!(catalog(ep.clone(), repo.clone()).await.is_none());
    let projects = cb.list_projects().send().await.expect("ListProjects");
    assert!(!projects.projects().contains(&project));
}
