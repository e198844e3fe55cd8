//! The whole reference architecture (specs/ecs-web-app) against LocalStack,
//! with a domain name in a zone the account has (HTTPS, certificate, alias):
//! apply → every part exists with the spec's attributes (checked with each
//! service's SDK directly) → no-op diff → change the back end's desired
//! count and image tag → exactly those updates → destroy → nothing left.

use std::path::Path;

use crate::support::*;

struct Clients {
    ec2: aws_sdk_ec2::Client,
    ecs: aws_sdk_ecs::Client,
    elb: aws_sdk_elasticloadbalancingv2::Client,
    ecr: aws_sdk_ecr::Client,
    iam: aws_sdk_iam::Client,
    s3: aws_sdk_s3::Client,
    logs: aws_sdk_cloudwatchlogs::Client,
    codebuild: aws_sdk_codebuild::Client,
    codepipeline: aws_sdk_codepipeline::Client,
    ssm: aws_sdk_ssm::Client,
}

async fn clients() -> Clients {
    let c = sdk_config().await;
    Clients {
        ec2: aws_sdk_ec2::Client::new(&c),
        ecs: aws_sdk_ecs::Client::new(&c),
        elb: aws_sdk_elasticloadbalancingv2::Client::new(&c),
        ecr: aws_sdk_ecr::Client::new(&c),
        iam: aws_sdk_iam::Client::new(&c),
        s3: aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&c)
                .force_path_style(true)
                .build(),
        ),
        logs: aws_sdk_cloudwatchlogs::Client::new(&c),
        codebuild: aws_sdk_codebuild::Client::new(&c),
        codepipeline: aws_sdk_codepipeline::Client::new(&c),
        ssm: aws_sdk_ssm::Client::new(&c),
    }
}

fn container_defs(
    td: &aws_sdk_ecs::types::TaskDefinition,
) -> Vec<&aws_sdk_ecs::types::ContainerDefinition> {
    td.container_definitions().iter().collect()
}

fn plan_changes(out: &std::process::Output) -> Vec<(String, String, Vec<String>)> {
    let plan: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON plan");
    plan["resource_changes"]
        .as_array()
        .expect("resource_changes")
        .iter()
        .filter(|c| c["action"] != "no-op" && c["action"] != "read")
        .map(|c| {
            let mut attrs: Vec<String> = c["changes"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|x| x["attribute"].as_str().unwrap_or("").to_string())
                        .collect()
                })
                .unwrap_or_default();
            attrs.sort();
            (
                c["address"].as_str().unwrap_or("").to_string(),
                c["action"].as_str().unwrap_or("").to_string(),
                attrs,
            )
        })
        .collect()
}

/// Edits the back end's desired count and image tag in settings.yaml.
fn change_backend(dir: &Path) {
    let path = dir.join("settings.yaml");
    let text = std::fs::read_to_string(&path).expect("settings.yaml");
    let (front, back) = text.split_once("  backend:").expect("backend section");
    let back = back
        .replacen("desired_count: 2", "desired_count: 3", 1)
        .replacen("image_tag: \"1.0.0\"", "image_tag: \"1.1.0\"", 1);
    std::fs::write(&path, format!("{front}  backend:{back}")).expect("write settings.yaml");
}

#[tokio::test(flavor = "multi_thread")]
async fn reference_architecture_round_trip() {
    require_localstack();
    let spec = copy_spec(&root().join("specs/ecs-web-app"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("web");
    let project = format!("t{}", &stack[stack.len() - 6..]);
    let known_hosts = spec.path().join("known_hosts");
    // The account's public zone, which the spec looks up (ACM validates
    // only through a zone the domain is delegated to, so the spec does not
    // make one).
    let route53 = aws_sdk_route53::Client::new(&sdk_config().await);
    let zone_name = format!("{project}.example.com");
    let domain = format!("app.{zone_name}");
    let zone_id = route53
        .create_hosted_zone()
        .name(&zone_name)
        .caller_reference(&stack)
        .send()
        .await
        .expect("CreateHostedZone")
        .hosted_zone()
        .map(|z| z.id().to_string())
        .expect("a zone");
    let vars = [
        format!("--var=project={project}"),
        format!("--var=bucket_suffix=-{}", stack.to_lowercase()),
        format!("--var=known_hosts_file={}", known_hosts.display()),
        format!("--var=domain_name={domain}"),
    ];
    // Every AWS request stackd sends is recorded (an SDK interceptor), to
    // check the generated IAM policy against at the end.
    let call_log = spec.path().join("aws-calls.jsonl");
    let call = |cmd: &str, extra: &[&str], code: i32| {
        let mut argv = vec![cmd, dir.as_str(), "--stack", stack.as_str()];
        argv.extend(vars.iter().map(String::as_str));
        argv.extend_from_slice(extra);
        let out = run_env(&argv, &[("STACKD_AWS_CALL_LOG", call_log.as_os_str())]);
        assert_eq!(out.status.code(), Some(code), "stackd {}", argv.join(" "));
        out
    };
    let name = format!("{project}-dev");
    let c = clients().await;

    // The dry run of a fresh stack finds nothing wrong.
    let out = call("apply", &["--dry-run"], 0);
    assert!(stdout(&out).contains("The plan would go through"));

    // Apply prints the outputs.
    let out = call("apply", &["--auto-approve"], 0);
    let text = stdout(&out);
    for o in ["alb_dns_name = ", "bastion_ip = ", "repository_urls = "] {
        assert!(text.contains(o), "missing output {o}: {text}");
    }
    // The plan line and the closing summary count the same thing: resources.
    let planned = text
        .lines()
        .find_map(|l| l.strip_prefix("Plan: "))
        .and_then(|l| l.split(' ').next())
        .expect("a plan line");
    assert!(
        text.contains(&format!(
            "Apply complete: {planned} added, 0 changed, 0 destroyed."
        )),
        "the summary counts the {planned} planned resources: {text}"
    );
    // The known_hosts step ran once the bastion had its address (whether the
    // host key could be read depends on SSH answering there).
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        log.contains("null_resource.known_hosts (local-exec): "),
        "the known_hosts provisioner ran: {log}"
    );
    call("diff", &["--detailed-exitcode"], 0);

    // Load balancer, listener, path rule, target groups.
    let lbs = c
        .elb
        .describe_load_balancers()
        .names(format!("{name}-alb"))
        .send()
        .await
        .unwrap();
    let lb = &lbs.load_balancers()[0];
    let tgs = c
        .elb
        .describe_target_groups()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await;
    let tgs = match tgs {
        Ok(t) if !t.target_groups().is_empty() => t,
        _ => c
            .elb
            .describe_target_groups()
            .names(format!("{name}-backend"))
            .names(format!("{name}-frontend"))
            .send()
            .await
            .unwrap(),
    };
    let tg = |svc: &str| {
        tgs.target_groups()
            .iter()
            .find(|t| t.target_group_name() == Some(&format!("{name}-{svc}")))
            .unwrap_or_else(|| panic!("target group {svc}"))
            .clone()
    };
    let (front_tg, back_tg) = (tg("frontend"), tg("backend"));
    assert_eq!(back_tg.health_check_path(), Some("/health"));
    assert_eq!(back_tg.target_type().map(|t| t.as_str()), Some("ip"));
    assert_eq!(back_tg.port(), Some(8080));
    let listeners = c
        .elb
        .describe_listeners()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .send()
        .await
        .unwrap();
    let on_port = |port: i32| {
        listeners
            .listeners()
            .iter()
            .find(|l| l.port() == Some(port))
            .unwrap_or_else(|| panic!("a listener on port {port}"))
    };
    let http = on_port(80);
    assert_eq!(
        http.default_actions()[0]
            .redirect_config()
            .map(|r| (r.protocol(), r.port())),
        Some((Some("HTTPS"), Some("443"))),
        "plain HTTP is redirected to HTTPS"
    );
    let listener = on_port(443);
    assert_eq!(
        listener.default_actions()[0].target_group_arn(),
        front_tg.target_group_arn(),
        "everything else goes to the front end"
    );
    // Its certificate is ACM's for the domain, issued through the zone.
    let certificate_arn = listener.certificates()[0]
        .certificate_arn()
        .expect("the listener's certificate")
        .to_string();
    let certificate = aws_sdk_acm::Client::new(&sdk_config().await)
        .describe_certificate()
        .certificate_arn(&certificate_arn)
        .send()
        .await
        .expect("DescribeCertificate");
    let certificate = certificate.certificate().expect("a certificate");
    assert_eq!(certificate.domain_name(), Some(domain.as_str()));
    assert_eq!(
        certificate.status().map(|s| s.as_str()),
        Some("ISSUED"),
        "{certificate:?}"
    );
    // The domain is an alias of the load balancer.
    let records = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .expect("ListResourceRecordSets");
    let alias = records
        .resource_record_sets()
        .iter()
        .find(|r| r.name() == format!("{domain}.") && r.r#type().as_str() == "A")
        .and_then(|r| r.alias_target())
        .expect("an A alias record for the domain");
    assert_eq!(
        alias.dns_name().trim_end_matches('.').to_lowercase(),
        lb.dns_name().unwrap().to_lowercase()
    );
    let rules = c
        .elb
        .describe_rules()
        .listener_arn(listener.listener_arn().unwrap())
        .send()
        .await
        .unwrap();
    let api = rules
        .rules()
        .iter()
        .find(|r| r.priority() == Some("10"))
        .expect("the /api/* rule");
    let patterns: Vec<String> = api
        .conditions()
        .iter()
        .flat_map(|c| {
            c.path_pattern_config()
                .map(|p| p.values().to_vec())
                .unwrap_or_else(|| c.values().to_vec())
        })
        .collect();
    assert_eq!(patterns, ["/api/*"]);
    assert_eq!(
        api.actions()[0].target_group_arn(),
        back_tg.target_group_arn()
    );

    // ECS: cluster, capacity providers, services, task definitions with the sidecar.
    let clusters = c
        .ecs
        .describe_clusters()
        .clusters(&name)
        .include(aws_sdk_ecs::types::ClusterField::Settings)
        .send()
        .await
        .unwrap();
    let cluster = &clusters.clusters()[0];
    assert_eq!(cluster.status(), Some("ACTIVE"));
    assert!(cluster
        .settings()
        .iter()
        .any(
            |s| s.name().map(|n| n.as_str()) == Some("containerInsights")
                && s.value() == Some("enabled")
        ));
    let mut providers = cluster.capacity_providers().to_vec();
    providers.sort();
    assert_eq!(providers, ["FARGATE", "FARGATE_SPOT"]);
    let services = c
        .ecs
        .describe_services()
        .cluster(&name)
        .services("backend")
        .services("frontend")
        .send()
        .await
        .unwrap();
    assert_eq!(services.services().len(), 2);
    let backend = services
        .services()
        .iter()
        .find(|s| s.service_name() == Some("backend"))
        .unwrap();
    assert_eq!(backend.desired_count(), 2);
    assert_eq!(
        backend.load_balancers()[0].target_group_arn(),
        back_tg.target_group_arn()
    );
    // The back end scales on CPU between 2 and 6 tasks, with an alarm.
    let scaling = aws_sdk_applicationautoscaling::Client::new(&sdk_config().await);
    let resource_id = format!("service/{name}/backend");
    let targets = scaling
        .describe_scalable_targets()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_ids(&resource_id)
        .send()
        .await
        .unwrap();
    let target = targets
        .scalable_targets()
        .first()
        .expect("the back end's scalable target");
    assert_eq!((target.min_capacity(), target.max_capacity()), (2, 6));
    let policies = scaling
        .describe_scaling_policies()
        .service_namespace(aws_sdk_applicationautoscaling::types::ServiceNamespace::Ecs)
        .resource_id(&resource_id)
        .send()
        .await
        .unwrap();
    let cpu = policies
        .scaling_policies()
        .iter()
        .find(|p| p.policy_name() == format!("{name}-backend-cpu"))
        .expect("the back end's CPU policy");
    assert_eq!(
        cpu.target_tracking_scaling_policy_configuration()
            .map(|c| c.target_value()),
        Some(60.0)
    );
    let alarms = aws_sdk_cloudwatch::Client::new(&sdk_config().await)
        .describe_alarms()
        .alarm_names(format!("{name}-backend-cpu-high"))
        .send()
        .await
        .unwrap();
    let alarm = alarms
        .metric_alarms()
        .first()
        .expect("the back end's CPU alarm");
    assert_eq!(alarm.threshold(), Some(85.0));
    assert_eq!(alarm.dimensions().len(), 2);
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(backend.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let td = td.task_definition().unwrap();
    assert_eq!(td.cpu(), Some("512"));
    assert_eq!(
        td.runtime_platform()
            .and_then(|r| r.cpu_architecture())
            .map(|a| a.as_str()),
        Some("ARM64")
    );
    let defs = container_defs(td);
    let app = defs
        .iter()
        .find(|d| d.name() == Some("backend"))
        .expect("app container");
    // The database password: a secret ECS hands the back end, never a value
    // in the task definition.
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk_config().await);
    let secret_name = format!("{name}/db-password");
    let password = secrets
        .get_secret_value()
        .secret_id(&secret_name)
        .send()
        .await
        .expect("GetSecretValue");
    assert_eq!(password.secret_string().map(str::len), Some(32));
    let given: Vec<(&str, &str)> = app
        .secrets()
        .iter()
        .map(|s| (s.name(), s.value_from()))
        .collect();
    assert_eq!(given, [("DB_PASSWORD", password.arn().unwrap())]);
    // The database: PostgreSQL in the private subnets, its address handed
    // to the back end.
    let rds = aws_sdk_rds::Client::new(&sdk_config().await);
    let dbs = rds
        .describe_db_instances()
        .db_instance_identifier(&name)
        .send()
        .await
        .expect("DescribeDBInstances");
    let db = dbs.db_instances().first().expect("the database");
    assert_eq!(db.engine(), Some("postgres"));
    assert_eq!(db.publicly_accessible(), Some(false));
    assert_eq!(
        db.db_subnet_group().and_then(|g| g.db_subnet_group_name()),
        Some(name.as_str())
    );
    let address = db
        .endpoint()
        .and_then(|e| e.address())
        .expect("an endpoint");
    assert!(
        app.environment()
            .iter()
            .any(|kv| kv.name() == Some("DB_HOST") && kv.value() == Some(address)),
        "{:?}",
        app.environment()
    );
    let task_json = format!("{td:?}");
    assert!(
        !task_json.contains(password.secret_string().unwrap()),
        "the password is not in the task definition"
    );
    let router = defs
        .iter()
        .find(|d| d.name() == Some("log-router"))
        .expect("sidecar");
    assert_eq!(
        app.log_configuration().map(|l| l.log_driver().as_str()),
        Some("awsfirelens"),
        "the app logs through FireLens"
    );
    assert_eq!(
        router.firelens_configuration().map(|f| f.r#type().as_str()),
        Some("fluentbit")
    );
    assert!(app.image().unwrap().ends_with(":1.0.0"));
    assert_eq!(
        app.health_check().map(|h| h.command().to_vec()),
        Some(vec![
            "CMD".to_string(),
            "node".into(),
            "healthcheck.js".into()
        ])
    );

    // ECR repositories.
    let repos = c.ecr.describe_repositories().send().await.unwrap();
    let ours: Vec<_> = repos
        .repositories()
        .iter()
        .filter_map(|r| r.repository_name())
        .filter(|n| n.starts_with(&format!("{name}/")))
        .collect();
    assert_eq!(ours.len(), 3, "{ours:?}");

    // CodeBuild: the environment type each service's image needs.
    let projects = c
        .codebuild
        .batch_get_projects()
        .names(format!("{name}-backend"))
        .names(format!("{name}-frontend"))
        .send()
        .await
        .unwrap();
    let env_type = |svc: &str| {
        projects
            .projects()
            .iter()
            .find(|p| p.name() == Some(&format!("{name}-{svc}")))
            .and_then(|p| p.environment())
            .map(|e| e.r#type().as_str().to_string())
    };
    assert_eq!(env_type("backend").as_deref(), Some("ARM_CONTAINER"));
    assert_eq!(env_type("frontend").as_deref(), Some("LINUX_CONTAINER"));

    // CodePipeline: source → build → deploy.
    let pipeline = c
        .codepipeline
        .get_pipeline()
        .name(format!("{name}-backend"))
        .send()
        .await
        .unwrap();
    let stages: Vec<_> = pipeline
        .pipeline()
        .unwrap()
        .stages()
        .iter()
        .map(|s| s.name().to_string())
        .collect();
    assert_eq!(stages, ["Source", "Build", "Deploy"]);

    // The bastion: a public subnet, its EIP, SSH only from the admin CIDR.
    let reservations = c
        .ec2
        .describe_instances()
        .filters(stack_filter(&stack))
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("running")
                .values("pending")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let instance = &reservations.reservations()[0].instances()[0];
    let subnet = c
        .ec2
        .describe_subnets()
        .subnet_ids(instance.subnet_id().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(
        subnet.subnets()[0].map_public_ip_on_launch(),
        Some(true),
        "bastion in a public subnet"
    );
    let eips = c
        .ec2
        .describe_addresses()
        .filters(stack_filter(&stack))
        .send()
        .await
        .unwrap();
    assert!(
        eips.addresses()
            .iter()
            .any(|a| a.instance_id() == instance.instance_id()),
        "the bastion has its EIP"
    );
    let bastion_sg = c
        .ec2
        .describe_security_groups()
        .group_ids(instance.security_groups()[0].group_id().unwrap())
        .send()
        .await
        .unwrap();
    let rules = bastion_sg.security_groups()[0].ip_permissions();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0].from_port(), Some(22));
    assert_eq!(rules[0].ip_ranges()[0].cidr_ip(), Some("203.0.113.10/32"));

    // IAM, S3, logs, SSM.
    c.iam
        .get_role()
        .role_name(format!("{name}-task-execution"))
        .send()
        .await
        .expect("execution role");
    c.s3.head_bucket()
        .bucket(format!("{name}-access-logs-{}", stack.to_lowercase()))
        .send()
        .await
        .expect("access log bucket");
    let groups = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{name}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        groups.log_groups().len(),
        3,
        "two error groups and the firelens group"
    );
    c.ssm
        .get_parameter()
        .name(format!("/{project}/dev/vpc_id"))
        .send()
        .await
        .expect("published VPC ID");

    // Change the back end's desired count and image tag: exactly those updates.
    change_backend(spec.path());
    let out = call("diff", &["--detailed-exitcode", "--format", "json"], 2);
    let mut changes = plan_changes(&out);
    changes.sort();
    assert_eq!(
        changes,
        vec![
            (
                "aws_ecs_service.service[\"backend\"]".to_string(),
                "update".to_string(),
                vec!["desired_count".to_string(), "task_definition".to_string()]
            ),
            (
                "aws_ecs_task_definition.service[\"backend\"]".to_string(),
                "replace".to_string(),
                vec!["container_definitions".to_string()]
            ),
        ]
    );
    call("apply", &["--auto-approve"], 0);
    call("diff", &["--detailed-exitcode"], 0);
    let services = c
        .ecs
        .describe_services()
        .cluster(&name)
        .services("backend")
        .send()
        .await
        .unwrap();
    let backend = &services.services()[0];
    assert_eq!(backend.desired_count(), 3);
    let td = c
        .ecs
        .describe_task_definition()
        .task_definition(backend.task_definition().unwrap())
        .send()
        .await
        .unwrap();
    let image = container_defs(td.task_definition().unwrap())
        .iter()
        .find(|d| d.name() == Some("backend"))
        .and_then(|d| d.image().map(str::to_string))
        .unwrap();
    assert!(image.ends_with(":1.1.0"), "{image}");

    // Destroy: nothing of the stack remains, by the SDKs' own listings.
    call("destroy", &["--auto-approve"], 0);
    let left = tagged_resources(&c.ec2, &stack).await;
    assert!(left.is_empty(), "EC2 left behind: {left:?}");
    let running = c
        .ec2
        .describe_instances()
        .filters(stack_filter(&stack))
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("instance-state-name")
                .values("running")
                .values("pending")
                .values("stopped")
                .build(),
        )
        .send()
        .await
        .unwrap();
    assert!(
        running
            .reservations()
            .iter()
            .all(|r| r.instances().is_empty()),
        "bastion terminated"
    );
    assert!(c
        .elb
        .describe_load_balancers()
        .names(format!("{name}-alb"))
        .send()
        .await
        .map(|r| r.load_balancers().is_empty())
        .unwrap_or(true));
    let clusters = c
        .ecs
        .describe_clusters()
        .clusters(&name)
        .send()
        .await
        .unwrap();
    assert!(
        clusters
            .clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE")),
        "cluster gone"
    );
    let repos = c.ecr.describe_repositories().send().await.unwrap();
    assert!(!repos
        .repositories()
        .iter()
        .filter_map(|r| r.repository_name())
        .any(|n| n.starts_with(&format!("{name}/"))));
    let projects = c
        .codebuild
        .batch_get_projects()
        .names(format!("{name}-backend"))
        .send()
        .await
        .unwrap();
    assert!(projects.projects().is_empty());
    assert!(c
        .codepipeline
        .get_pipeline()
        .name(format!("{name}-backend"))
        .send()
        .await
        .is_err());
    assert!(c
        .iam
        .get_role()
        .role_name(format!("{name}-task-execution"))
        .send()
        .await
        .is_err());
    assert!(c
        .s3
        .head_bucket()
        .bucket(format!("{name}-access-logs-{}", stack.to_lowercase()))
        .send()
        .await
        .is_err());
    let groups = c
        .logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/ecs/{name}/"))
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty());
    assert!(c
        .ssm
        .get_parameter()
        .name(format!("/{project}/dev/vpc_id"))
        .send()
        .await
        .is_err());

    match rds
        .describe_db_instances()
        .db_instance_identifier(&name)
        .send()
        .await
    {
        Ok(d) => assert!(d.db_instances().is_empty(), "the database is gone: {d:?}"),
        Err(e) => assert_eq!(
            aws_sdk_rds::error::ProvideErrorMetadata::code(&e),
            Some("DBInstanceNotFound"),
            "{e:?}"
        ),
    }
    // The password secret waits out its recovery window; the account's zone
    // is left as it was (SOA and NS only).
    match secrets
        .describe_secret()
        .secret_id(&secret_name)
        .send()
        .await
    {
        Ok(s) => assert!(s.deleted_date().is_some(), "scheduled for deletion: {s:?}"),
        Err(e) => assert_eq!(
            aws_sdk_secretsmanager::error::ProvideErrorMetadata::code(&e),
            Some("ResourceNotFoundException"),
            "{e:?}"
        ),
    }
    let records = route53
        .list_resource_record_sets()
        .hosted_zone_id(&zone_id)
        .send()
        .await
        .expect("ListResourceRecordSets");
    let kinds: Vec<&str> = records
        .resource_record_sets()
        .iter()
        .map(|r| r.r#type().as_str())
        .collect();
    assert_eq!(kinds.len(), 2, "{kinds:?}");
    route53
        .delete_hosted_zone()
        .id(&zone_id)
        .send()
        .await
        .expect("DeleteHostedZone");

    // The generated least-privilege policy allows every operation stackd
    // issued during the dry run, apply, diffs, update and destroy above.
    policy_covers_every_recorded_call(&call("policy", &[], 0), &call_log);
}

/// Each recorded call's IAM actions (stackd's documented operation→action
/// mapping, e.g. s3 HeadBucket → s3:ListBucket) must match an Allow
/// statement's actions, by IAM's wildcard rules, checked here
/// independently of stackd's own matcher.
fn policy_covers_every_recorded_call(policy: &std::process::Output, call_log: &Path) {
    let doc: serde_json::Value =
        serde_json::from_slice(&policy.stdout).expect("stackd policy prints JSON");
    let allowed: Vec<String> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .flat_map(|s| match &s["Action"] {
            serde_json::Value::String(a) => vec![a.clone()],
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    assert!(
        allowed.iter().all(|a| a != "*" && !a.ends_with(":*")),
        "no blanket actions: {allowed:?}"
    );
    let text = std::fs::read_to_string(call_log).expect("the call log was written");
    let mut operations = std::collections::BTreeSet::new();
    for line in text.lines() {
        let call: serde_json::Value = serde_json::from_str(line).expect("call log line");
        operations.insert((
            call["service"].as_str().unwrap_or_default().to_string(),
            call["operation"].as_str().unwrap_or_default().to_string(),
        ));
    }
    assert!(operations.len() > 40, "{operations:?}");
    let mut missing = Vec::new();
    for (service, operation) in &operations {
        for action in stackd_aws::policy::iam_actions(service, operation) {
            if !allowed.iter().any(|pattern| iam_match(pattern, &action)) {
                missing.push(format!("{service} {operation} needs {action}"));
            }
        }
    }
    eprintln!(
        "{} distinct operations recorded; all allowed: {}",
        operations.len(),
        missing.is_empty()
    );
    assert!(
        missing.is_empty(),
        "not allowed by the policy: {missing:#?}"
    );
}

/// IAM action matching: case-insensitive, `*` any run, `?` one character.
fn iam_match(pattern: &str, action: &str) -> bool {
    fn go(p: &[char], a: &[char]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y) && go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let a: Vec<char> = action.chars().collect();
    go(&p, &a)
}
