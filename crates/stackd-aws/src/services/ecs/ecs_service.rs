//! `aws_ecs_service`: an ECS service. Its ID is its ARN, as in the
//! Terraform provider.
//!
//! Create retries the "not yet" errors ECS gives while a role, a cluster or
//! a target group's listener is still settling, and waits until the service
//! is ACTIVE (or, with `wait_for_steady_state`, settled). Delete scales to
//! zero, deletes, and waits until the service is INACTIVE, so that its
//! cluster and target groups can go next.
//!
//! Steady state here means: the service is ACTIVE, it has exactly one
//! deployment, and that deployment's `rolloutState` is COMPLETED, or, where
//! ECS reports no rollout state, its running count equals its desired
//! count. A primary deployment whose rollout FAILED (the circuit breaker
//! tripped) ends the wait with an error. Emulators that run no containers
//! (moto behind LocalStack) report no rollout state and no running tasks,
//! so there a steady-state wait only ends for a desired count of zero.
//!
//! Refresh reads the known services with `DescribeServices`, per cluster,
//! 10 services a call (ECS's limit). Where ECS omits a deployment setting
//! (emulators keep none from CreateService), the recorded value is kept.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    self as ecs, AssignPublicIp, AwsVpcConfiguration, DeploymentCircuitBreaker,
    DeploymentConfiguration, DeploymentRolloutState, LaunchType, NetworkConfiguration,
    PropagateTags, SchedulingStrategy, ServiceField,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::ecs_cluster_capacity_providers::{strategy_blocks, strategy_items};
use super::ECS_SERVICE;
use crate::args::{
    blocks, bool_or, hex_digest, num, opt_int, opt_str, req_str, s, set_or_null, sort_blocks,
    str_list,
};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, at_most_one, check_adoptable, conflict, ecs_reconcile_tags, ecs_tag_map, ecs_tags,
    gone, in_service, invalid, made_for, read_each, tags_value, SdkResultExt, ECS,
};
use crate::error::after_create;
use crate::policy::{g, ANY};
use crate::preflight::{creating, Findings};
use crate::services::ec2::lookups::check_network;
use crate::services::iam::ECS_SERVICE_LINKED_ROLE;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `DescribeServices` takes at most 10 services.
const SERVICES_PER_CALL: usize = 10;

/// `aws_ecs_service`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecs_service",
    schema,
    handler: &EcsService,
    grants: &[
        // `apply --dry-run` looks up the awsvpc subnets and groups.
        g(&["ec2:DescribeSecurityGroups", "ec2:DescribeSubnets"], ANY),
        g(
            &[
                "ecs:CreateService",
                "ecs:DeleteService",
                "ecs:DescribeServices",
                "ecs:TagResource",
                "ecs:UntagResource",
                "ecs:UpdateService",
            ],
            &[ECS_SERVICE],
        ),
        g(&["iam:CreateServiceLinkedRole"], &[ECS_SERVICE_LINKED_ROLE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecs_service")
        .retired(
            "placement_strategy",
            "use ordered_placement_strategy { type, field } (the provider removed placement_strategy in 2.0)",
        )
        .doc("An ECS service.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The service name."),
        )
        .attr(
            AttrSchema::optional_computed("cluster", AttrType::String)
                .force_new()
                .normalize(cluster_name)
                .doc("The cluster (name or ARN); `default` when unset."),
        )
        .attr(
            AttrSchema::optional("task_definition", AttrType::String)
                .normalize(task_definition_revision)
                .doc("The task definition: `family:revision` or its ARN."),
        )
        .attr(
            AttrSchema::optional("desired_count", AttrType::Number)
                .default(0)
                .doc("How many tasks to keep running."),
        )
        .attr(
            AttrSchema::optional_computed("launch_type", AttrType::String)
                .force_new()
                .doc("`FARGATE`, `EC2` or `EXTERNAL`."),
        )
        .attr(
            AttrSchema::optional_computed("platform_version", AttrType::String)
                .doc("The Fargate platform version, e.g. `LATEST`."),
        )
        .attr(
            AttrSchema::optional("scheduling_strategy", AttrType::String)
                .default("REPLICA")
                .force_new()
                .doc("`REPLICA` or `DAEMON`."),
        )
        .block(
            BlockSchema::new("capacity_provider_strategy", Nesting::Set)
                .computed_when_absent()
                .attr(AttrSchema::required("capacity_provider", AttrType::String))
                .attr(AttrSchema::optional("weight", AttrType::Number).default(0))
                .attr(AttrSchema::optional("base", AttrType::Number).default(0)),
        )
        .block(
            at_most_one(BlockSchema::new("network_configuration", Nesting::List))
                .attr(AttrSchema::required("subnets", AttrType::set_of(AttrType::String)))
                .attr(AttrSchema::optional(
                    "security_groups",
                    AttrType::set_of(AttrType::String),
                ))
                .attr(AttrSchema::optional("assign_public_ip", AttrType::Bool).default(false)),
        )
        .block(
            BlockSchema::new("load_balancer", Nesting::Set)
                .attr(AttrSchema::optional("target_group_arn", AttrType::String))
                .attr(AttrSchema::optional("elb_name", AttrType::String))
                .attr(AttrSchema::required("container_name", AttrType::String))
                .attr(AttrSchema::required("container_port", AttrType::Number)),
        )
        .block({
            // Applied in order; ECS takes at most five.
            let mut b = BlockSchema::new("ordered_placement_strategy", Nesting::List)
                .attr(
                    AttrSchema::required("type", AttrType::String)
                        .check(Check::OneOf(vec!["binpack", "random", "spread"])),
                )
                .attr(
                    AttrSchema::optional("field", AttrType::String)
                        // ECS answers `host` as `instanceId`, and fields in
                        // its own case.
                        .normalize(placement_field)
                        .doc("memory or cpu (binpack), instanceId/host or an attribute (spread)."),
                );
            b.max_items = Some(5);
            b
        })
        .block({
            let mut b = BlockSchema::new("placement_constraints", Nesting::Set)
                .attr(
                    AttrSchema::required("type", AttrType::String)
                        .check(Check::OneOf(vec!["distinctInstance", "memberOf"])),
                )
                .attr(
                    AttrSchema::optional("expression", AttrType::String)
                        .doc("A cluster query language expression (memberOf)."),
                );
            b.max_items = Some(10);
            b
        })
        .block(
            at_most_one(BlockSchema::new("service_registries", Nesting::List))
                .attr(AttrSchema::required("registry_arn", AttrType::String))
                .attr(AttrSchema::optional("port", AttrType::Number))
                .attr(AttrSchema::optional("container_name", AttrType::String))
                .attr(AttrSchema::optional("container_port", AttrType::Number)),
        )
        .block(
            at_most_one(BlockSchema::new("deployment_controller", Nesting::List))
                // ECS reports ECS when none was asked for.
                .computed_when_absent()
                .force_new()
                .attr(
                    AttrSchema::optional("type", AttrType::String)
                        .default("ECS")
                        .check(Check::OneOf(vec!["ECS", "CODE_DEPLOY", "EXTERNAL"])),
                ),
        )
        .block(
            at_most_one(BlockSchema::new("deployment_circuit_breaker", Nesting::List))
                .computed_when_absent()
                .attr(AttrSchema::required("enable", AttrType::Bool))
                .attr(AttrSchema::required("rollback", AttrType::Bool)),
        )
        .attr(
            AttrSchema::optional("deployment_minimum_healthy_percent", AttrType::Number)
                .default(100)
                .doc("Lower bound of running tasks during a deployment, in percent."),
        )
        .attr(
            AttrSchema::optional("deployment_maximum_percent", AttrType::Number)
                .default(200)
                .doc("Upper bound of tasks during a deployment, in percent."),
        )
        .attr(
            AttrSchema::optional_computed("health_check_grace_period_seconds", AttrType::Number)
                .doc("Seconds to ignore load balancer health checks of new tasks."),
        )
        .attr(
            AttrSchema::optional("enable_execute_command", AttrType::Bool)
                .default(false)
                .doc("Allow ECS Exec into the tasks."),
        )
        .attr(
            AttrSchema::optional("enable_ecs_managed_tags", AttrType::Bool)
                .default(false)
                .doc("Have ECS tag the tasks with the cluster and service names."),
        )
        .attr(
            AttrSchema::optional("propagate_tags", AttrType::String)
                .normalize(none_as_null)
                .doc("Copy tags to the tasks from `SERVICE` or `TASK_DEFINITION`."),
        )
        .attr(
            AttrSchema::optional("force_new_deployment", AttrType::Bool)
                .doc("Start a new deployment on every update (also needed to change the capacity provider strategy)."),
        )
        .attr(
            AttrSchema::optional("wait_for_steady_state", AttrType::Bool)
                .default(false)
                .doc("Wait until the deployment settles (see the module docs for what that means)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 20 * 60,
            update_secs: 20 * 60,
            delete_secs: 20 * 60,
        })
}

// ---------------------------------------------------------------------------
// Normalizers

/// A cluster ARN as its name, so that a spec naming the cluster by name or
/// by ARN compares equal to ECS's ARN.
pub(crate) fn cluster_name(v: &Value) -> Value {
    match v.as_str() {
        Some(text) => Value::from(text.rsplit_once(":cluster/").map_or(text, |(_, n)| n)),
        None => v.clone(),
    }
}

/// A task definition ARN as `family:revision`.
pub(crate) fn task_definition_revision(v: &Value) -> Value {
    match v.as_str() {
        Some(text) => Value::from(
            text.rsplit_once(":task-definition/")
                .map_or(text, |(_, rest)| rest),
        ),
        None => v.clone(),
    }
}

/// ECS reports an unset `propagateTags` as `NONE`.
fn none_as_null(v: &Value) -> Value {
    match v.as_str() {
        Some("NONE") | Some("") => Value::Null,
        _ => v.clone(),
    }
}

// ---------------------------------------------------------------------------
// Reading

/// The cluster a service is in: recorded, else the long ARN format's
/// `service/<cluster>/<name>`, else `default`.
fn cluster_of(id: &str, recorded: &Value) -> String {
    if let Some(c) = opt_str(recorded, "cluster") {
        return c.to_string();
    }
    id.split_once(":service/")
        .and_then(|(_, rest)| rest.split_once('/'))
        .map(|(cluster, _)| cluster.to_string())
        .unwrap_or_else(|| "default".to_string())
}

fn network_value(n: Option<&NetworkConfiguration>) -> Value {
    let Some(vpc) = n.and_then(|n| n.awsvpc_configuration()) else {
        return Value::List(Vec::new());
    };
    Value::List(vec![Value::map([
        ("subnets", set_or_null(vpc.subnets().to_vec())),
        (
            "security_groups",
            set_or_null(vpc.security_groups().to_vec()),
        ),
        (
            "assign_public_ip",
            Value::Bool(vpc.assign_public_ip() == Some(&AssignPublicIp::Enabled)),
        ),
    ])])
}

fn load_balancer_blocks(lbs: &[ecs::LoadBalancer]) -> Value {
    Value::List(sort_blocks(
        lbs.iter()
            .map(|lb| {
                Value::map([
                    ("target_group_arn", s(lb.target_group_arn())),
                    ("elb_name", s(lb.load_balancer_name())),
                    ("container_name", s(lb.container_name())),
                    (
                        "container_port",
                        lb.container_port().map(num).unwrap_or(Value::Null),
                    ),
                ])
            })
            .collect(),
    ))
}

/// The Cloud Map service the tasks are registered in (`service_registries`).
fn registry_blocks(registries: &[ecs::ServiceRegistry]) -> Value {
    Value::List(
        registries
            .iter()
            .map(|r| {
                Value::map([
                    ("registry_arn", s(r.registry_arn())),
                    ("port", r.port().map(num).unwrap_or(Value::Null)),
                    ("container_name", s(r.container_name())),
                    (
                        "container_port",
                        r.container_port().map(num).unwrap_or(Value::Null),
                    ),
                ])
            })
            .collect(),
    )
}

/// A placement strategy's field as compared: `host` is ECS's `instanceId`,
/// and ECS answers fields in its own case (as the Terraform provider
/// suppresses such diffs).
fn placement_field(v: &Value) -> Value {
    match v.as_str() {
        Some(f) if f.eq_ignore_ascii_case("host") => Value::from("instanceid"),
        Some(f) => Value::from(f.to_ascii_lowercase()),
        None => v.clone(),
    }
}

fn placement_strategy_blocks(strategy: &[ecs::PlacementStrategy]) -> Value {
    Value::List(
        strategy
            .iter()
            .map(|p| {
                Value::map([
                    ("type", s(p.r#type().map(|t| t.as_str()))),
                    // ECS answers no field for `random`.
                    ("field", s(p.field())),
                ])
            })
            .collect(),
    )
}

fn placement_strategy(desired: &Value) -> Vec<ecs::PlacementStrategy> {
    blocks(desired, "ordered_placement_strategy")
        .iter()
        .map(|b| {
            ecs::PlacementStrategy::builder()
                .set_type(opt_str(b, "type").map(ecs::PlacementStrategyType::from))
                .set_field(opt_str(b, "field").map(str::to_string))
                .build()
        })
        .collect()
}

fn placement_constraint_blocks(constraints: &[ecs::PlacementConstraint]) -> Value {
    Value::List(
        constraints
            .iter()
            .map(|c| {
                Value::map([
                    ("type", s(c.r#type().map(|t| t.as_str()))),
                    ("expression", s(c.expression())),
                ])
            })
            .collect(),
    )
}

fn placement_constraints(desired: &Value) -> Vec<ecs::PlacementConstraint> {
    blocks(desired, "placement_constraints")
        .iter()
        .map(|b| {
            ecs::PlacementConstraint::builder()
                .set_type(opt_str(b, "type").map(ecs::PlacementConstraintType::from))
                .set_expression(opt_str(b, "expression").map(str::to_string))
                .build()
        })
        .collect()
}

fn service_registries(desired: &Value) -> Vec<ecs::ServiceRegistry> {
    blocks(desired, "service_registries")
        .iter()
        .map(|b| {
            ecs::ServiceRegistry::builder()
                .set_registry_arn(opt_str(b, "registry_arn").map(str::to_string))
                .set_port(opt_int(b, "port").map(|p| p as i32))
                .set_container_name(opt_str(b, "container_name").map(str::to_string))
                .set_container_port(opt_int(b, "container_port").map(|p| p as i32))
                .build()
        })
        .collect()
}

/// Live attributes. `recorded` (state, or the spec just applied) supplies
/// the arguments ECS does not keep (`force_new_deployment`,
/// `wait_for_steady_state`) and the deployment settings it omits.
fn service_attrs(svc: &ecs::Service, recorded: &Value) -> Value {
    let arn = svc.service_arn().unwrap_or_default();
    let kept = |k: &str| recorded.get(k).cloned().unwrap_or(Value::Null);
    let deployment = svc.deployment_configuration();
    let percent = |v: Option<i32>, k: &str| v.map(num).unwrap_or_else(|| kept(k));
    let breaker = match deployment {
        Some(d) => d
            .deployment_circuit_breaker()
            .map(|b| {
                Value::List(vec![Value::map([
                    ("enable", Value::Bool(b.enable())),
                    ("rollback", Value::Bool(b.rollback())),
                ])])
            })
            .unwrap_or(Value::List(Vec::new())),
        None => kept("deployment_circuit_breaker"),
    };
    let grace = svc
        .health_check_grace_period_seconds()
        .map(num)
        .unwrap_or_else(|| kept("health_check_grace_period_seconds"));
    Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("name", s(svc.service_name())),
        ("cluster", s(svc.cluster_arn())),
        ("task_definition", s(svc.task_definition())),
        ("desired_count", num(svc.desired_count())),
        ("launch_type", s(svc.launch_type().map(LaunchType::as_str))),
        ("platform_version", s(svc.platform_version())),
        (
            "scheduling_strategy",
            s(Some(
                svc.scheduling_strategy()
                    .map(SchedulingStrategy::as_str)
                    .unwrap_or("REPLICA"),
            )),
        ),
        (
            "capacity_provider_strategy",
            strategy_blocks(svc.capacity_provider_strategy()),
        ),
        (
            "network_configuration",
            network_value(svc.network_configuration()),
        ),
        ("load_balancer", load_balancer_blocks(svc.load_balancers())),
        (
            "ordered_placement_strategy",
            placement_strategy_blocks(svc.placement_strategy()),
        ),
        (
            "placement_constraints",
            placement_constraint_blocks(svc.placement_constraints()),
        ),
        (
            "service_registries",
            registry_blocks(svc.service_registries()),
        ),
        ("deployment_circuit_breaker", breaker),
        (
            "deployment_controller",
            Value::List(vec![Value::map([(
                "type",
                Value::from(
                    svc.deployment_controller()
                        .map(|c| c.r#type().as_str())
                        .unwrap_or("ECS"),
                ),
            )])]),
        ),
        (
            "deployment_minimum_healthy_percent",
            percent(
                deployment.and_then(|d| d.minimum_healthy_percent()),
                "deployment_minimum_healthy_percent",
            ),
        ),
        (
            "deployment_maximum_percent",
            percent(
                deployment.and_then(|d| d.maximum_percent()),
                "deployment_maximum_percent",
            ),
        ),
        ("health_check_grace_period_seconds", grace),
        (
            "enable_execute_command",
            Value::Bool(svc.enable_execute_command()),
        ),
        (
            "enable_ecs_managed_tags",
            Value::Bool(svc.enable_ecs_managed_tags()),
        ),
        (
            "propagate_tags",
            none_as_null(&s(svc.propagate_tags().map(PropagateTags::as_str))),
        ),
        ("force_new_deployment", kept("force_new_deployment")),
        (
            "wait_for_steady_state",
            Value::Bool(bool_or(recorded, "wait_for_steady_state", false)),
        ),
        ("tags_all", tags_value(&ecs_tag_map(svc.tags()))),
    ])
}

/// Services of one cluster by name or ARN, with tags, 10 a call; missing
/// ones are left out (ECS reports them as failures), and so is everything
/// when the cluster is gone.
async fn describe_services(
    aws: &Aws,
    cluster: &str,
    services: &[String],
) -> Result<Vec<ecs::Service>, ProviderError> {
    let mut out = Vec::new();
    for chunk in services.chunks(SERVICES_PER_CALL) {
        let result = aws
            .ecs
            .describe_services()
            .cluster(cluster)
            .set_services(Some(chunk.to_vec()))
            .include(ServiceField::Tags)
            .send()
            .await
            .ecs("DescribeServices");
        match result {
            Ok(answer) => out.extend(answer.services().iter().cloned()),
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

/// One service, whatever its status; `None` when ECS does not know it.
async fn describe_one(
    aws: &Aws,
    cluster: &str,
    service: &str,
) -> Result<Option<ecs::Service>, ProviderError> {
    Ok(describe_services(aws, cluster, &[service.to_string()])
        .await?
        .into_iter()
        .next())
}

fn is_live(svc: &ecs::Service) -> bool {
    !matches!(svc.status(), Some("INACTIVE") | None)
}

async fn read(
    aws: &Aws,
    cluster: &str,
    arn: &str,
    recorded: &Value,
) -> Result<Option<Value>, ProviderError> {
    Ok(describe_one(aws, cluster, arn)
        .await?
        .filter(is_live)
        .map(|svc| service_attrs(&svc, recorded)))
}

// ---------------------------------------------------------------------------
// Steady state

/// Whether the service has settled; an error when its deployment failed.
fn settled(svc: &ecs::Service) -> Result<bool, ProviderError> {
    if svc.status() != Some("ACTIVE") {
        return Ok(false);
    }
    let deployments = svc.deployments();
    if let Some(primary) = deployments.iter().find(|d| d.status() == Some("PRIMARY")) {
        if primary.rollout_state() == Some(&DeploymentRolloutState::Failed) {
            return Err(invalid(
                ECS,
                "DescribeServices",
                format!(
                    "the deployment of {} failed: {}",
                    svc.service_name().unwrap_or_default(),
                    primary.rollout_state_reason().unwrap_or("no reason given")
                ),
            ));
        }
    }
    let [only] = deployments else {
        return Ok(false);
    };
    Ok(match only.rollout_state() {
        Some(DeploymentRolloutState::Completed) => true,
        Some(_) => false,
        None => svc.running_count() == svc.desired_count(),
    })
}

/// Waits until the service is ACTIVE, or settled when the spec asks for
/// it.
async fn wait_ready(
    aws: &Aws,
    cluster: &str,
    arn: &str,
    steady: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let what = if steady {
        format!("{arn} to reach a steady state")
    } else {
        format!("{arn} to be active")
    };
    until(deadline, "DescribeServices", &what, || async {
        let Some(svc) = describe_one(aws, cluster, arn).await? else {
            return Ok(None);
        };
        let ready = if steady {
            settled(&svc)?
        } else {
            svc.status() == Some("ACTIVE")
        };
        Ok(ready.then_some(()))
    })
    .await
    .map_err(|e| in_service(ECS, e))
}

// ---------------------------------------------------------------------------
// Arguments

fn network_configuration(desired: &Value) -> Result<Option<NetworkConfiguration>, ProviderError> {
    let Some(b) = blocks(desired, "network_configuration").first() else {
        return Ok(None);
    };
    let vpc = AwsVpcConfiguration::builder()
        .set_subnets(Some(str_list(b, "subnets")))
        .set_security_groups(Some(str_list(b, "security_groups")).filter(|g| !g.is_empty()))
        .assign_public_ip(if bool_or(b, "assign_public_ip", false) {
            AssignPublicIp::Enabled
        } else {
            AssignPublicIp::Disabled
        })
        .build()
        .map_err(|e| invalid(ECS, "CreateService", e.to_string()))?;
    Ok(Some(
        NetworkConfiguration::builder()
            .awsvpc_configuration(vpc)
            .build(),
    ))
}

fn load_balancers(desired: &Value) -> Vec<ecs::LoadBalancer> {
    blocks(desired, "load_balancer")
        .iter()
        .map(|b| {
            ecs::LoadBalancer::builder()
                .set_target_group_arn(opt_str(b, "target_group_arn").map(str::to_string))
                .set_load_balancer_name(opt_str(b, "elb_name").map(str::to_string))
                .set_container_name(opt_str(b, "container_name").map(str::to_string))
                .set_container_port(opt_int(b, "container_port").map(|p| p as i32))
                .build()
        })
        .collect()
}

fn deployment_configuration(desired: &Value) -> DeploymentConfiguration {
    let breaker = blocks(desired, "deployment_circuit_breaker")
        .first()
        .map(|b| {
            DeploymentCircuitBreaker::builder()
                .enable(bool_or(b, "enable", false))
                .rollback(bool_or(b, "rollback", false))
                .build()
        });
    DeploymentConfiguration::builder()
        .minimum_healthy_percent(
            opt_int(desired, "deployment_minimum_healthy_percent").unwrap_or(100) as i32,
        )
        .maximum_percent(opt_int(desired, "deployment_maximum_percent").unwrap_or(200) as i32)
        .set_deployment_circuit_breaker(breaker)
        .build()
}

fn is_replica(desired: &Value) -> bool {
    opt_str(desired, "scheduling_strategy").unwrap_or("REPLICA") == "REPLICA"
}

fn create_input(
    aws: &Aws,
    desired: &Value,
    cluster: &str,
    token: &str,
) -> Result<
    aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder,
    ProviderError,
> {
    let name = req_str(desired, "name", "CreateService")?;
    let strategy = strategy_items(blocks(desired, "capacity_provider_strategy"))?;
    let lbs = load_balancers(desired);
    let registries = service_registries(desired);
    let strategy_rules = placement_strategy(desired);
    let constraints = placement_constraints(desired);
    Ok(aws
        .ecs
        .create_service()
        .cluster(cluster)
        .service_name(name)
        // ECS takes at most 36 characters.
        .client_token(&hex_digest(token)[..32])
        .set_task_definition(opt_str(desired, "task_definition").map(str::to_string))
        .set_desired_count(
            is_replica(desired).then(|| opt_int(desired, "desired_count").unwrap_or(0) as i32),
        )
        .set_launch_type(opt_str(desired, "launch_type").map(LaunchType::from))
        .set_platform_version(opt_str(desired, "platform_version").map(str::to_string))
        .scheduling_strategy(SchedulingStrategy::from(
            opt_str(desired, "scheduling_strategy").unwrap_or("REPLICA"),
        ))
        .set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy))
        .set_network_configuration(network_configuration(desired)?)
        .set_load_balancers((!lbs.is_empty()).then_some(lbs))
        .set_service_registries((!registries.is_empty()).then_some(registries))
        .set_placement_strategy((!strategy_rules.is_empty()).then_some(strategy_rules))
        .set_placement_constraints((!constraints.is_empty()).then_some(constraints))
        .deployment_configuration(deployment_configuration(desired))
        .set_deployment_controller(deployment_controller(desired)?)
        .set_health_check_grace_period_seconds(
            opt_int(desired, "health_check_grace_period_seconds").map(|g| g as i32),
        )
        .enable_execute_command(bool_or(desired, "enable_execute_command", false))
        .enable_ecs_managed_tags(bool_or(desired, "enable_ecs_managed_tags", false))
        .set_propagate_tags(opt_str(desired, "propagate_tags").map(PropagateTags::from))
        .set_tags(ecs_tags(desired)))
}

/// The `deployment_controller` block, when the spec has one.
fn deployment_controller(
    desired: &Value,
) -> Result<Option<aws_sdk_ecs::types::DeploymentController>, ProviderError> {
    let Some(b) = blocks(desired, "deployment_controller").first() else {
        return Ok(None);
    };
    let kind = opt_str(b, "type").unwrap_or("ECS");
    aws_sdk_ecs::types::DeploymentController::builder()
        .r#type(aws_sdk_ecs::types::DeploymentControllerType::from(kind))
        .build()
        .map(Some)
        .map_err(|e| crate::elbv2_ecs_util::invalid("ecs", "CreateService", e.to_string()))
}

/// UpdateService with the changed settings; `None` when none changed.
fn update_input(
    aws: &Aws,
    desired: &Value,
    cluster: &str,
    arn: &str,
    changed: &[String],
) -> Result<
    Option<aws_sdk_ecs::operation::update_service::builders::UpdateServiceFluentBuilder>,
    ProviderError,
> {
    let has = |name: &str| changed.iter().any(|c| c == name);
    let mut call = aws.ecs.update_service().cluster(cluster).service(arn);
    let mut any = false;
    if has("task_definition") {
        call = call.set_task_definition(opt_str(desired, "task_definition").map(str::to_string));
        any = true;
    }
    if has("desired_count") && is_replica(desired) {
        call = call.desired_count(opt_int(desired, "desired_count").unwrap_or(0) as i32);
        any = true;
    }
    if has("capacity_provider_strategy") {
        call = call.set_capacity_provider_strategy(Some(strategy_items(blocks(
            desired,
            "capacity_provider_strategy",
        ))?));
        any = true;
    }
    if has("network_configuration") {
        call = call.set_network_configuration(network_configuration(desired)?);
        any = true;
    }
    if has("load_balancer") {
        call = call.set_load_balancers(Some(load_balancers(desired)));
        any = true;
    }
    if has("service_registries") {
        call = call.set_service_registries(Some(service_registries(desired)));
        any = true;
    }
    // An empty list takes every strategy or constraint away.
    if has("ordered_placement_strategy") {
        call = call.set_placement_strategy(Some(placement_strategy(desired)));
        any = true;
    }
    if has("placement_constraints") {
        call = call.set_placement_constraints(Some(placement_constraints(desired)));
        any = true;
    }
    if has("deployment_circuit_breaker")
        || has("deployment_minimum_healthy_percent")
        || has("deployment_maximum_percent")
    {
        call = call.deployment_configuration(deployment_configuration(desired));
        any = true;
    }
    if has("health_check_grace_period_seconds") {
        call = call.set_health_check_grace_period_seconds(
            opt_int(desired, "health_check_grace_period_seconds").map(|g| g as i32),
        );
        any = true;
    }
    if has("platform_version") {
        call = call.set_platform_version(opt_str(desired, "platform_version").map(str::to_string));
        any = true;
    }
    if has("enable_execute_command") {
        call = call.enable_execute_command(bool_or(desired, "enable_execute_command", false));
        any = true;
    }
    if has("enable_ecs_managed_tags") {
        call = call.enable_ecs_managed_tags(bool_or(desired, "enable_ecs_managed_tags", false));
        any = true;
    }
    if has("propagate_tags") {
        call = call.propagate_tags(PropagateTags::from(
            opt_str(desired, "propagate_tags").unwrap_or("NONE"),
        ));
        any = true;
    }
    // A changed strategy needs a new deployment; `force_new_deployment`
    // asks for one on every update.
    let forced =
        (any || has("force_new_deployment")) && bool_or(desired, "force_new_deployment", false);
    if forced || has("capacity_provider_strategy") {
        call = call.force_new_deployment(true);
        any = true;
    }
    Ok(any.then_some(call))
}

/// The updatable settings in which `live` differs from the spec.
fn settings_missed(desired: &Value, live: &Value) -> Vec<String> {
    stackd_engine::diff::diff(
        &schema(),
        desired,
        live,
        &stackd_engine::diff::IgnoreChanges::default(),
    )
    .into_iter()
    .filter(|c| !c.forces_replacement && c.name != "tags_all")
    .map(|c| c.name)
    .collect()
}

/// A service of this name that this address made earlier (a create
/// retried after a crash); an error when the name belongs to another
/// service, or while an earlier one of the name is still draining.
async fn adoptable(
    aws: &Aws,
    req: &ChangeRequest,
    cluster: &str,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let Some(svc) = describe_one(aws, cluster, name).await?.filter(is_live) else {
        return Ok(None);
    };
    let arn = svc.service_arn().unwrap_or_default().to_string();
    if svc.status() == Some("DRAINING") {
        return Err(ProviderError::new(
            ErrorKind::Transient,
            ECS,
            "CreateService",
            format!("{arn} is still draining after a delete"),
        ));
    }
    let tags = ecs_tag_map(svc.tags());
    if made_for(&tags, &req.owner, &req.address) {
        let live = service_attrs(&svc, &req.desired);
        let what = format!("ECS service {name:?}");
        check_adoptable(&schema(), &req.desired, &live, "CreateService", &what)?;
        Ok(Some(arn))
    } else {
        Err(conflict(
            ECS,
            "CreateService",
            &format!("ECS service {name:?} in cluster {cluster:?}"),
            &req.address,
            &req.owner,
            &tags,
        ))
    }
}

pub(crate) struct EcsService;

#[async_trait]
impl ResourceHandler for EcsService {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_cluster: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for k in &req.known {
            by_cluster
                .entry(cluster_of(&k.id, &k.attrs))
                .or_default()
                .push(k.id.clone());
        }
        let listed = read_each(
            aws,
            by_cluster.into_iter().collect(),
            |aws, (cluster, ids)| async move { describe_services(&aws, &cluster, &ids).await },
        )
        .await?;
        Ok(listed
            .into_iter()
            .flatten()
            .filter(is_live)
            .filter_map(|svc| {
                let id = svc.service_arn()?.to_string();
                let known = req.known.iter().find(|k| k.id == id)?;
                let tags = ecs_tag_map(svc.tags());
                Some(LiveResource {
                    address: address_for(&id, &tags, &req.known),
                    attrs: service_attrs(&svc, &known.attrs),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let cluster = opt_str(d, "cluster").unwrap_or("default");
        let name = req_str(d, "name", "CreateService")?;
        let arn = match adoptable(aws, req, cluster, name).await? {
            Some(arn) => arn,
            None => {
                let call = create_input(aws, d, cluster, &req.idempotency_token)?;
                // Roles, the cluster or a target group's listener created a
                // moment ago may not be usable yet (classified transient).
                let out = retry(&deadline, || async {
                    call.clone().send().await.ecs("CreateService")
                })
                .await?;
                out.service()
                    .and_then(|svc| svc.service_arn())
                    .ok_or_else(|| invalid(ECS, "CreateService", "the answer carries no ARN"))?
                    .to_string()
            }
        };
        async {
            let steady = bool_or(d, "wait_for_steady_state", false);
            wait_ready(aws, cluster, &arn, steady, &deadline).await?;
            let live = read(aws, cluster, &arn, d)
                .await?
                .ok_or_else(|| gone(ECS, "DescribeServices", &arn))?;
            // Settings the service did not take at creation (an adopted
            // service made from an older spec; an implementation that keeps
            // only part of CreateService) are applied as an update.
            let missed = settings_missed(d, &live);
            let Some(call) = update_input(aws, d, cluster, &arn, &missed)? else {
                return Ok(live);
            };
            retry(&deadline, || async {
                call.clone().send().await.ecs("UpdateService")
            })
            .await?;
            wait_ready(aws, cluster, &arn, steady, &deadline).await?;
            read(aws, cluster, &arn, d)
                .await?
                .ok_or_else(|| gone(ECS, "DescribeServices", &arn))
        }
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// The subnets and security groups of `network_configuration` are
    /// looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(network) = blocks(d, "network_configuration").first() {
            check_network(aws, &mut findings, network, "subnets", "security_groups").await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(ECS, "UpdateService", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let cluster = opt_str(d, "cluster")
            .map(str::to_string)
            .unwrap_or_else(|| cluster_of(arn, &prior));
        if let Some(call) = update_input(aws, d, &cluster, arn, &req.changed)? {
            retry(&deadline, || async {
                call.clone().send().await.ecs("UpdateService")
            })
            .await?;
        }
        ecs_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        wait_ready(
            aws,
            &cluster,
            arn,
            bool_or(d, "wait_for_steady_state", false),
            &deadline,
        )
        .await?;
        read(aws, &cluster, arn, d)
            .await?
            .ok_or_else(|| gone(ECS, "DescribeServices", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let cluster = cluster_of(&req.id, &req.prior);
        let Some(svc) = describe_one(aws, &cluster, &req.id).await?.filter(is_live) else {
            return Ok(());
        };
        let daemon = svc.scheduling_strategy() == Some(&SchedulingStrategy::Daemon);
        if !daemon && svc.desired_count() > 0 {
            let scaled = retry(&deadline, || async {
                aws.ecs
                    .update_service()
                    .cluster(&cluster)
                    .service(&req.id)
                    .desired_count(0)
                    .send()
                    .await
                    .ecs("UpdateService")
            })
            .await;
            match scaled {
                Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
                other => other.map(|_| ())?,
            }
        }
        let deleted = retry(&deadline, || async {
            aws.ecs
                .delete_service()
                .cluster(&cluster)
                .service(&req.id)
                .force(daemon)
                .send()
                .await
                .ecs("DeleteService")
        })
        .await;
        match deleted {
            Err(e) if e.kind == ErrorKind::NotFound => return Ok(()),
            other => other.map(|_| ())?,
        }
        until(
            &deadline,
            "DescribeServices",
            &format!("{} to be inactive", req.id),
            || async {
                let svc = describe_one(aws, &cluster, &req.id).await?;
                Ok(svc.filter(is_live).is_none().then_some(()))
            },
        )
        .await
        .map_err(|e| in_service(ECS, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ecs::{Deployment, Tag};

    const ARN: &str = "arn:aws:ecs:eu-west-1:123:service/main/api";

    #[test]
    fn a_spread_on_host_is_ecs_spread_on_instance_id() {
        let live = ecs::Service::builder()
            .service_arn(ARN)
            .placement_strategy(
                ecs::PlacementStrategy::builder()
                    .r#type(ecs::PlacementStrategyType::Spread)
                    .field("instanceId")
                    .build(),
            )
            .placement_strategy(
                ecs::PlacementStrategy::builder()
                    .r#type(ecs::PlacementStrategyType::Binpack)
                    .field("MEMORY")
                    .build(),
            )
            .build();
        let live = service_attrs(&live, &Value::Null);
        let strategy = |field: &str| {
            Value::List(vec![
                Value::map([("type", Value::from("spread")), ("field", Value::from("host"))]),
                Value::map([("type", Value::from("binpack")), ("field", Value::from(field))]),
            ])
        };
        let desired = |field: &str| {
            let mut d = live.clone();
            if let Value::Map(m) = &mut d {
                m.insert("ordered_placement_strategy".into(), strategy(field));
            }
            d
        };
        assert!(settings_missed(&desired("memory"), &live).is_empty());
        assert_eq!(
            settings_missed(&desired("cpu"), &live),
            ["ordered_placement_strategy"]
        );
    }

    fn sample() -> ecs::Service {
        ecs::Service::builder()
            .service_arn(ARN)
            .service_name("api")
            .cluster_arn("arn:aws:ecs:eu-west-1:123:cluster/main")
            .status("ACTIVE")
            .task_definition("arn:aws:ecs:eu-west-1:123:task-definition/api:3")
            .desired_count(2)
            .running_count(2)
            .launch_type(LaunchType::Fargate)
            .platform_version("LATEST")
            .scheduling_strategy(SchedulingStrategy::Replica)
            .network_configuration(
                NetworkConfiguration::builder()
                    .awsvpc_configuration(
                        AwsVpcConfiguration::builder()
                            .subnets("subnet-b")
                            .subnets("subnet-a")
                            .security_groups("sg-1")
                            .assign_public_ip(AssignPublicIp::Disabled)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .load_balancers(
                ecs::LoadBalancer::builder()
                    .target_group_arn("arn:tg")
                    .container_name("api")
                    .container_port(3000)
                    .build(),
            )
            .deployment_configuration(
                DeploymentConfiguration::builder()
                    .minimum_healthy_percent(50)
                    .maximum_percent(200)
                    .deployment_circuit_breaker(
                        DeploymentCircuitBreaker::builder()
                            .enable(true)
                            .rollback(true)
                            .build(),
                    )
                    .build(),
            )
            .propagate_tags(PropagateTags::None)
            .tags(Tag::builder().key("Name").value("api").build())
            .build()
    }

    #[test]
    fn live_service_is_in_schema_shape() {
        let v = service_attrs(&sample(), &Value::Null);
        assert_eq!(v.get("id"), Some(&Value::from(ARN)));
        assert_eq!(v.get("desired_count"), Some(&Value::from(2)));
        assert_eq!(
            v.get("deployment_minimum_healthy_percent"),
            Some(&Value::from(50))
        );
        assert_eq!(v.get("propagate_tags"), Some(&Value::Null));
        let net = &blocks(&v, "network_configuration")[0];
        assert_eq!(
            net.get("subnets"),
            Some(&Value::from(vec!["subnet-a", "subnet-b"]))
        );
        assert_eq!(net.get("assign_public_ip"), Some(&Value::Bool(false)));
        assert_eq!(
            blocks(&v, "deployment_circuit_breaker")[0].get("rollback"),
            Some(&Value::Bool(true))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn omitted_deployment_settings_keep_the_recorded_values() {
        let svc = ecs::Service::builder()
            .service_arn(ARN)
            .status("ACTIVE")
            .build();
        let recorded = Value::map([
            ("deployment_minimum_healthy_percent", Value::from(50)),
            ("deployment_maximum_percent", Value::from(150)),
            ("health_check_grace_period_seconds", Value::from(60)),
            ("force_new_deployment", Value::Bool(true)),
            ("wait_for_steady_state", Value::Bool(true)),
        ]);
        let v = service_attrs(&svc, &recorded);
        assert_eq!(
            v.get("deployment_minimum_healthy_percent"),
            Some(&Value::from(50))
        );
        assert_eq!(v.get("deployment_maximum_percent"), Some(&Value::from(150)));
        assert_eq!(
            v.get("health_check_grace_period_seconds"),
            Some(&Value::from(60))
        );
        assert_eq!(v.get("force_new_deployment"), Some(&Value::Bool(true)));
        assert_eq!(v.get("wait_for_steady_state"), Some(&Value::Bool(true)));
    }

    #[test]
    fn names_and_arns_compare_equal() {
        assert_eq!(
            cluster_name(&Value::from("arn:aws:ecs:eu-west-1:1:cluster/main")),
            Value::from("main")
        );
        assert_eq!(cluster_name(&Value::from("main")), Value::from("main"));
        assert_eq!(
            task_definition_revision(&Value::from(
                "arn:aws:ecs:eu-west-1:1:task-definition/api:3"
            )),
            Value::from("api:3")
        );
        assert_eq!(none_as_null(&Value::from("NONE")), Value::Null);
        assert_eq!(
            none_as_null(&Value::from("SERVICE")),
            Value::from("SERVICE")
        );
    }

    #[test]
    fn the_cluster_comes_from_state_or_the_long_arn() {
        assert_eq!(cluster_of(ARN, &Value::Null), "main");
        assert_eq!(
            cluster_of(ARN, &Value::map([("cluster", Value::from("arn:c"))])),
            "arn:c"
        );
        assert_eq!(
            cluster_of("arn:aws:ecs:eu-west-1:1:service/api", &Value::Null),
            "default"
        );
    }

    #[test]
    fn steady_means_one_settled_deployment() {
        let with = |deployments: Vec<Deployment>, running: i32, desired: i32| {
            ecs::Service::builder()
                .status("ACTIVE")
                .running_count(running)
                .desired_count(desired)
                .set_deployments(Some(deployments))
                .build()
        };
        let d = |status: &str, rollout: Option<DeploymentRolloutState>| {
            Deployment::builder()
                .status(status)
                .set_rollout_state(rollout)
                .build()
        };
        assert!(settled(&with(
            vec![d("PRIMARY", Some(DeploymentRolloutState::Completed))],
            0,
            2
        ))
        .unwrap());
        assert!(!settled(&with(
            vec![d("PRIMARY", Some(DeploymentRolloutState::InProgress))],
            2,
            2
        ))
        .unwrap());
        assert!(!settled(&with(
            vec![
                d("PRIMARY", Some(DeploymentRolloutState::Completed)),
                d("ACTIVE", None)
            ],
            2,
            2
        ))
        .unwrap());
        // No rollout state reported: running tasks must match.
        assert!(settled(&with(vec![d("PRIMARY", None)], 0, 0)).unwrap());
        assert!(!settled(&with(vec![d("PRIMARY", None)], 0, 1)).unwrap());
        let failed = settled(&with(
            vec![d("PRIMARY", Some(DeploymentRolloutState::Failed))],
            0,
            1,
        ));
        assert_eq!(failed.unwrap_err().kind, ErrorKind::Permanent);
    }

    #[test]
    fn create_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("name", Value::from("api")),
            ("task_definition", Value::from("api:3")),
            ("desired_count", Value::from(2)),
            ("launch_type", Value::from("FARGATE")),
            (
                "network_configuration",
                Value::List(vec![Value::map([
                    ("subnets", Value::from(vec!["subnet-a"])),
                    ("assign_public_ip", Value::Bool(true)),
                ])]),
            ),
            (
                "load_balancer",
                Value::List(vec![Value::map([
                    ("target_group_arn", Value::from("arn:tg")),
                    ("container_name", Value::from("api")),
                    ("container_port", Value::from(3000)),
                ])]),
            ),
            (
                "deployment_circuit_breaker",
                Value::List(vec![Value::map([
                    ("enable", Value::Bool(true)),
                    ("rollback", Value::Bool(true)),
                ])]),
            ),
        ]);
        let call = create_input(&aws, &d, "main", "token").unwrap();
        let i = call.as_input();
        assert_eq!(i.get_cluster().as_deref(), Some("main"));
        assert_eq!(i.get_desired_count(), &Some(2));
        assert_eq!(i.get_launch_type(), &Some(LaunchType::Fargate));
        assert_eq!(i.get_client_token().as_ref().map(String::len), Some(32));
        let vpc = i
            .get_network_configuration()
            .as_ref()
            .and_then(|n| n.awsvpc_configuration())
            .unwrap();
        assert_eq!(vpc.assign_public_ip(), Some(&AssignPublicIp::Enabled));
        let dc = i.get_deployment_configuration().as_ref().unwrap();
        assert_eq!(dc.minimum_healthy_percent(), Some(100));
        assert!(dc.deployment_circuit_breaker().unwrap().rollback());
    }

    #[test]
    fn settings_the_service_did_not_take_are_found() {
        let live = service_attrs(&sample(), &Value::Null);
        let mut desired = live.clone();
        if let Value::Map(m) = &mut desired {
            m.insert("enable_execute_command".into(), Value::Bool(true));
            m.insert("tags_all".into(), Value::map([("Other", Value::from("x"))]));
        }
        assert_eq!(
            settings_missed(&desired, &live),
            vec!["enable_execute_command"]
        );
        assert!(settings_missed(&live, &live).is_empty());
    }

    #[test]
    fn updates_send_only_what_changed() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("task_definition", Value::from("api:4")),
            ("desired_count", Value::from(3)),
        ]);
        let call = update_input(&aws, &d, "main", ARN, &["desired_count".to_string()])
            .unwrap()
            .unwrap();
        let i = call.as_input();
        assert_eq!(i.get_desired_count(), &Some(3));
        assert_eq!(i.get_task_definition(), &None);
        assert_eq!(i.get_force_new_deployment(), &None);
        assert!(update_input(&aws, &d, "main", ARN, &["tags".to_string()])
            .unwrap()
            .is_none());
    }
}
