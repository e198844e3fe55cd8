//! A tree of modules in the shape of real configurations (network, alb and
//! ecs modules, a service module called with `for_each`, a nested module,
//! modules' outputs feeding others, a template and a `file()` read from
//! inside modules)
//! applied on LocalStack and checked with the SDK: state addresses and the
//! `stackd:address` tag carry the module path; a second diff is empty; a
//! module renamed with a `moved` block keeps its objects; destroy leaves
//! nothing. The nested module is served from a git repository the test
//! makes (a bare repository under a temp dir, a tag as the `ref`).

use std::collections::BTreeMap;

use crate::support::*;

/// Moves the fixture's `logs` module into a new bare git repository
/// (under `repos`) tagged v1.0.0, and points its call at it. Returns the
/// tagged commit.
fn serve_logs_module_from_git(spec: &std::path::Path, repos: &std::path::Path) -> String {
    let work = repos.join("work");
    let logs = spec.join("modules/service/modules/logs");
    std::fs::create_dir_all(work.join("modules")).expect("mkdir");
    std::fs::rename(&logs, work.join("modules/logs")).expect("move the module out");
    git(&work, &["init", "--quiet"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "--quiet", "-m", "logs module"]);
    git(&work, &["tag", "v1.0.0"]);
    let commit = git(&work, &["rev-parse", "HEAD"]);
    let bare = repos.join("modules.git");
    git(
        repos,
        &[
            "clone",
            "--quiet",
            "--bare",
            "work",
            bare.to_str().expect("utf-8"),
        ],
    );
    let service = spec.join("modules/service/main.tf");
    let text = std::fs::read_to_string(&service).expect("read").replace(
        "source = \"./modules/logs\"",
        &format!(
            "source = \"git::file://{}//modules/logs?ref=v1.0.0\"",
            bare.display()
        ),
    );
    assert!(text.contains("git::file://"), "{text}");
    std::fs::write(&service, text).expect("write");
    commit
}

/// The tags of an EC2 object, as a map.
fn tag_map(tags: &[aws_sdk_ec2::types::Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| {
            (
                t.key().unwrap_or_default().to_string(),
                t.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_module_tree_applies_rediffs_to_nothing_moves_and_destroys() {
    require_localstack();
    let stack = unique_stack("modtree");
    let spec = copy_spec(&root().join("tests/fixtures/modules-tree"));
    let repos = tempfile::tempdir().expect("tempdir");
    let commit = serve_logs_module_from_git(spec.path(), repos.path());
    let dir = spec.path().to_str().expect("utf-8");
    let name = format!("name={stack}");
    let apply = |extra: &[&str]| {
        let mut args = vec!["apply", dir, "--stack", &stack, "--var", &name];
        args.extend_from_slice(extra);
        args.push("--auto-approve");
        run_ok(&args, 0)
    };
    // The first apply fetches the git module (it was never fetched) and
    // locks the commit its tag resolved to.
    let first = apply(&[]);
    assert!(
        String::from_utf8_lossy(&first.stderr).contains("running `stackd init`"),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let lock: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(spec.path().join(".stackd/modules.lock.json")).expect("lock file"),
    )
    .expect("lock JSON");
    assert_eq!(lock["modules"][0]["key"], "service.logs", "{lock}");
    assert_eq!(lock["modules"][0]["commit"], commit.as_str(), "{lock}");

    // The network module's objects, tagged with their module addresses.
    let ec2 = ec2().await;
    let vpcs = ec2
        .describe_vpcs()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeVpcs");
    assert_eq!(vpcs.vpcs().len(), 1);
    let vpc = &vpcs.vpcs()[0];
    let vpc_id = vpc.vpc_id().expect("id").to_string();
    let tags = tag_map(vpc.tags());
    assert_eq!(tags["stackd:address"], "module.network.aws_vpc.this");
    assert_eq!(tags["Name"], stack);
    let subnets = ec2
        .describe_subnets()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeSubnets");
    let mut subnet_ids: Vec<(String, String)> = subnets
        .subnets()
        .iter()
        .map(|s| {
            (
                tag_map(s.tags())["stackd:address"].clone(),
                s.subnet_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    subnet_ids.sort();
    assert_eq!(
        subnet_ids
            .iter()
            .map(|(a, _)| a.as_str())
            .collect::<Vec<_>>(),
        [
            "module.network.aws_subnet.private/i:0",
            "module.network.aws_subnet.private/i:1"
        ]
    );
    for s in subnets.subnets() {
        assert_eq!(
            s.vpc_id(),
            Some(vpc_id.as_str()),
            "subnets in the module's VPC"
        );
    }

    // One service per for_each key: its security group in the network
    // module's VPC, tagged with the nested logs module's output.
    let groups = ec2
        .describe_security_groups()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("tag:stackd:stack")
                .values(&stack)
                .build(),
        )
        .send()
        .await
        .expect("DescribeSecurityGroups");
    let mut seen = Vec::new();
    for g in groups.security_groups() {
        let tags = tag_map(g.tags());
        let key = g
            .group_name()
            .and_then(|n| n.strip_prefix(&format!("{stack}-")))
            .expect("group named NAME-KEY")
            .to_string();
        assert_eq!(g.vpc_id(), Some(vpc_id.as_str()));
        assert_eq!(tags["LogGroup"], format!("/app/{stack}-{key}"));
        assert_eq!(
            tags["stackd:address"],
            format!("module.service@5B@22{key}@22@5D.aws_security_group.this"),
            "module instance keys in the address tag, escaped"
        );
        seen.push(key);
    }
    seen.sort();
    assert_eq!(seen, ["api", "web"]);

    // The template inside the module, rendered with the network's subnets.
    let ssm = aws_sdk_ssm::Client::new(&sdk_config().await);
    let param = ssm
        .get_parameter()
        .name(format!("/{stack}-api/config"))
        .send()
        .await
        .expect("GetParameter");
    let expected: String = subnet_ids.iter().map(|(_, id)| format!("{id},")).collect();
    assert_eq!(
        param.parameter().and_then(|p| p.value()),
        Some(format!("subnets={expected}\n").as_str())
    );
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk_config().await);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/app/{stack}-"))
        .send()
        .await
        .expect("DescribeLogGroups");
    assert_eq!(groups.log_groups().len(), 2);

    // The ALB module's target group is the one the ECS module's service
    // uses; the task definition's containers come from a file read from
    // inside the module by a root-relative path.
    let elb = aws_sdk_elasticloadbalancingv2::Client::new(&sdk_config().await);
    let tgs = elb
        .describe_target_groups()
        .names(&stack)
        .send()
        .await
        .expect("DescribeTargetGroups");
    let tg_arn = tgs.target_groups()[0]
        .target_group_arn()
        .expect("arn")
        .to_string();
    assert_eq!(tgs.target_groups()[0].vpc_id(), Some(vpc_id.as_str()));
    let ecs = aws_sdk_ecs::Client::new(&sdk_config().await);
    let services = ecs
        .describe_services()
        .cluster(&stack)
        .services(&stack)
        .send()
        .await
        .expect("DescribeServices");
    let service = &services.services()[0];
    assert_eq!(
        service.load_balancers()[0].target_group_arn(),
        Some(tg_arn.as_str())
    );
    let task = ecs
        .describe_task_definition()
        .task_definition(service.task_definition().expect("task definition"))
        .send()
        .await
        .expect("DescribeTaskDefinition");
    let container = &task.task_definition().expect("td").container_definitions()[0];
    assert_eq!(
        container.image(),
        Some(format!("public.ecr.aws/nginx/nginx:{stack}").as_str())
    );
    assert_eq!(container.port_mappings()[0].container_port(), Some(8080));

    let listed = stdout(&run_ok(&["state", "list", dir, "--stack", &stack], 0));
    for address in [
        "module.network.aws_vpc.this",
        "module.network.aws_subnet.private[1]",
        "module.service[\"api\"].aws_security_group.this",
        "module.service[\"web\"].module.logs.aws_cloudwatch_log_group.this",
        "module.ecs.aws_ecs_service.app",
        "module.alb.aws_lb_listener.http",
    ] {
        assert!(
            listed.lines().any(|l| l == address),
            "{address} in:\n{listed}"
        );
    }
    run_ok(
        &[
            "diff",
            dir,
            "--stack",
            &stack,
            "--var",
            &name,
            "--detailed-exitcode",
        ],
        0,
    );

    // Rename the network module: a move of every object in it, no create
    // or destroy, the same VPC afterwards.
    let main = spec.path().join("main.tf");
    let text = std::fs::read_to_string(&main)
        .expect("read")
        .replace("module \"network\"", "module \"net\"")
        .replace("module.network.", "module.net.");
    std::fs::write(
        &main,
        format!("{text}\nmoved {{\n  from = module.network\n  to   = module.net\n}}\n"),
    )
    .expect("write");
    let plan: serde_json::Value = serde_json::from_str(&stdout(&run_ok(
        &[
            "diff", dir, "--stack", &stack, "--var", &name, "--format", "json",
        ],
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
    apply(&[]);
    let after = ec2
        .describe_vpcs()
        .filters(stack_filter(&stack))
        .send()
        .await
        .expect("DescribeVpcs");
    assert_eq!(after.vpcs().len(), 1);
    assert_eq!(
        after.vpcs()[0].vpc_id(),
        Some(vpc_id.as_str()),
        "the same VPC"
    );
    assert_eq!(
        tag_map(after.vpcs()[0].tags())["stackd:address"],
        "module.net.aws_vpc.this"
    );
    run_ok(
        &[
            "diff",
            dir,
            "--stack",
            &stack,
            "--var",
            &name,
            "--detailed-exitcode",
        ],
        0,
    );

    run_ok(
        &[
            "destroy",
            dir,
            "--stack",
            &stack,
            "--var",
            &name,
            "--auto-approve",
        ],
        0,
    );
    assert_eq!(stack_vpcs(&stack).await, 0);
    let left = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/app/{stack}-"))
        .send()
        .await
        .expect("DescribeLogGroups");
    assert!(left.log_groups().is_empty());
}
