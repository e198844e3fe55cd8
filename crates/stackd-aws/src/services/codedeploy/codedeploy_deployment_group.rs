//! `aws_codedeploy_deployment_group`: a CodeDeploy deployment group, e.g.
//! the blue/green deployments of an ECS service behind two target groups.
//! The ID is the group's `deployment_group_id`, as with the Terraform
//! provider; it imports by `app_name:deployment_group_name`.
//!
//! Supported: `deployment_style`, `blue_green_deployment_config`,
//! `ecs_service`, `load_balancer_info` (`elb_info`, `target_group_info`,
//! `target_group_pair_info`), `auto_rollback_configuration`,
//! `alarm_configuration`, `autoscaling_groups`,
//! `outdated_instances_strategy` and tags. Not supported: EC2 and
//! on-premises tag filters and sets, and `trigger_configuration`.
//! `app_name` forces replacement (the Terraform provider updates it in
//! place, which `UpdateDeploymentGroup` cannot do: it names the group's
//! current application); a new `deployment_group_name` renames the group.
//!
//! A refresh reads the known groups with one `BatchGetDeploymentGroups`
//! per distinct application (the call takes one application and up to 100
//! group names); tags come from `ListTagsForResource`, one group a call
//! (CodeDeploy has no batch form).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_codedeploy::types::{
    Alarm, AlarmConfiguration, AutoRollbackConfiguration, AutoRollbackEvent, AutoScalingGroup,
    BlueGreenDeploymentConfiguration, BlueInstanceTerminationOption, DeploymentGroupInfo,
    DeploymentOption, DeploymentReadyAction, DeploymentReadyOption, DeploymentStyle,
    DeploymentType, EcsService, ElbInfo, GreenFleetProvisioningAction,
    GreenFleetProvisioningOption, InstanceAction, LoadBalancerInfo, OutdatedInstancesStrategy,
    TargetGroupInfo, TargetGroupPairInfo, TrafficRoute,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{
    deployment_group_arn, reconcile_tags, sdk_tags, tags_of, CodedeployResult, APPLICATION,
    CODEDEPLOY, DEPLOYMENT_GROUP,
};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, req_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::at_most_one;
use crate::error::{after_create, has_code, ignore_not_found};
use crate::iam_util::{conflict, found, gone, invalid, live_tags, ours, tags_attr};
use crate::policy::g;
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::lookups::check_role_arn;
use crate::services::iam::{pass_role, ROLE};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// BatchGetDeploymentGroups takes at most 100 group names.
const BATCH_SIZE: usize = 100;

const DEFAULT_CONFIG: &str = "CodeDeployDefault.OneAtATime";

/// `aws_codedeploy_deployment_group`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codedeploy_deployment_group",
    schema,
    handler: &CodedeployDeploymentGroup,
    grants: &[
        g(
            &[
                "codedeploy:BatchGetDeploymentGroups",
                "codedeploy:CreateDeploymentGroup",
                "codedeploy:DeleteDeploymentGroup",
                "codedeploy:ListTagsForResource",
                "codedeploy:TagResource",
                "codedeploy:UntagResource",
                "codedeploy:UpdateDeploymentGroup",
            ],
            &[DEPLOYMENT_GROUP, APPLICATION],
        ),
        // The dry-run check looks the service role up.
        g(&["iam:GetRole"], &[ROLE]),
        pass_role(&["codedeploy.amazonaws.com"]),
    ],
    source: file!(),
};

fn one_of(values: &'static [&'static str]) -> Check {
    Check::OneOf(values.to_vec())
}

fn listener_route(name: &'static str) -> BlockSchema {
    at_most_one(BlockSchema::new(name, Nesting::List)).attr(AttrSchema::required(
        "listener_arns",
        AttrType::set_of(AttrType::String),
    ))
}

fn name_set(name: &'static str) -> BlockSchema {
    BlockSchema::new(name, Nesting::Set).attr(AttrSchema::optional("name", AttrType::String))
}

fn load_balancer_info_block() -> BlockSchema {
    let mut target_group = BlockSchema::new("target_group", Nesting::List)
        .required()
        .attr(AttrSchema::required("name", AttrType::String));
    target_group.max_items = Some(2);
    at_most_one(BlockSchema::new("load_balancer_info", Nesting::List))
        .block(name_set("elb_info"))
        .block(name_set("target_group_info"))
        .block(
            at_most_one(BlockSchema::new("target_group_pair_info", Nesting::List))
                .block(listener_route("prod_traffic_route").required())
                .block(target_group)
                .block(listener_route("test_traffic_route")),
        )
}

fn blue_green_block() -> BlockSchema {
    at_most_one(BlockSchema::new("blue_green_deployment_config", Nesting::List))
        .computed_when_absent()
        .block(
            at_most_one(BlockSchema::new("deployment_ready_option", Nesting::List))
                .attr(
                    AttrSchema::optional("action_on_timeout", AttrType::String)
                        .check(one_of(&["CONTINUE_DEPLOYMENT", "STOP_DEPLOYMENT"])),
                )
                // AWS reads an unset wait back as 0: the default makes the
                // two the same, as Terraform's SDK does.
                .attr(AttrSchema::optional("wait_time_in_minutes", AttrType::Number).default(0)),
        )
        .block(
            at_most_one(BlockSchema::new(
                "green_fleet_provisioning_option",
                Nesting::List,
            ))
            .computed_when_absent()
            .attr(
                AttrSchema::optional("action", AttrType::String)
                    .check(one_of(&["DISCOVER_EXISTING", "COPY_AUTO_SCALING_GROUP"])),
            ),
        )
        .block(
            at_most_one(BlockSchema::new(
                "terminate_blue_instances_on_deployment_success",
                Nesting::List,
            ))
            .attr(
                AttrSchema::optional("action", AttrType::String)
                    .check(one_of(&["TERMINATE", "KEEP_ALIVE"])),
            )
            .attr(
                AttrSchema::optional("termination_wait_time_in_minutes", AttrType::Number)
                    .default(0)
                    .check(Check::Range(0, 2880)),
            ),
        )
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_codedeploy_deployment_group")
        .doc("A CodeDeploy deployment group.")
        .attr(
            AttrSchema::required("app_name", AttrType::String)
                .force_new()
                .doc("The name of the application."),
        )
        .attr(
            AttrSchema::required("deployment_group_name", AttrType::String)
                .doc("The group's name; a new one renames it."),
        )
        .attr(
            AttrSchema::required("service_role_arn", AttrType::String)
                .doc("The ARN of the role CodeDeploy acts with."),
        )
        .attr(
            AttrSchema::optional("deployment_config_name", AttrType::String)
                .default(DEFAULT_CONFIG)
                .doc("e.g. CodeDeployDefault.ECSAllAtOnce."),
        )
        .attr(
            AttrSchema::optional("autoscaling_groups", AttrType::set_of(AttrType::String))
                .doc("Auto Scaling groups of an EC2 group."),
        )
        .attr(
            AttrSchema::optional("outdated_instances_strategy", AttrType::String)
                .default("UPDATE")
                .check(one_of(&["UPDATE", "IGNORE"])),
        )
        .block(
            at_most_one(BlockSchema::new("deployment_style", Nesting::List))
                // AWS reports IN_PLACE / WITHOUT_TRAFFIC_CONTROL when none
                // was asked for.
                .computed_when_absent()
                .attr(
                    AttrSchema::optional("deployment_option", AttrType::String)
                        .default("WITHOUT_TRAFFIC_CONTROL")
                        .check(one_of(&["WITH_TRAFFIC_CONTROL", "WITHOUT_TRAFFIC_CONTROL"])),
                )
                .attr(
                    AttrSchema::optional("deployment_type", AttrType::String)
                        .default("IN_PLACE")
                        .check(one_of(&["IN_PLACE", "BLUE_GREEN"])),
                ),
        )
        .block(blue_green_block())
        .block(
            at_most_one(BlockSchema::new("ecs_service", Nesting::List))
                .attr(AttrSchema::required("cluster_name", AttrType::String))
                .attr(AttrSchema::required("service_name", AttrType::String)),
        )
        .block(load_balancer_info_block())
        .block(
            at_most_one(BlockSchema::new("auto_rollback_configuration", Nesting::List))
                .attr(AttrSchema::optional("enabled", AttrType::Bool))
                .attr(AttrSchema::optional("events", AttrType::set_of(AttrType::String))),
        )
        .block(
            at_most_one(BlockSchema::new("alarm_configuration", Nesting::List))
                .attr(AttrSchema::optional("alarms", AttrType::set_of(AttrType::String)))
                .attr(AttrSchema::optional("enabled", AttrType::Bool))
                .attr(AttrSchema::optional("ignore_poll_alarm_failure", AttrType::Bool).default(false)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("compute_platform", AttrType::String))
        .attr(AttrSchema::computed("deployment_group_id", AttrType::String))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

// ----- spec → API -----

fn first<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    blocks(v, key).first()
}

fn deployment_style(d: &Value) -> Option<DeploymentStyle> {
    let b = first(d, "deployment_style")?;
    Some(
        DeploymentStyle::builder()
            .deployment_option(DeploymentOption::from(
                opt_str(b, "deployment_option").unwrap_or("WITHOUT_TRAFFIC_CONTROL"),
            ))
            .deployment_type(DeploymentType::from(
                opt_str(b, "deployment_type").unwrap_or("IN_PLACE"),
            ))
            .build(),
    )
}

fn blue_green(d: &Value) -> Option<BlueGreenDeploymentConfiguration> {
    let b = first(d, "blue_green_deployment_config")?;
    let ready = first(b, "deployment_ready_option").map(|r| {
        DeploymentReadyOption::builder()
            .set_action_on_timeout(opt_str(r, "action_on_timeout").map(DeploymentReadyAction::from))
            .set_wait_time_in_minutes(opt_int(r, "wait_time_in_minutes").map(|n| n as i32))
            .build()
    });
    let green = first(b, "green_fleet_provisioning_option").map(|r| {
        GreenFleetProvisioningOption::builder()
            .set_action(opt_str(r, "action").map(GreenFleetProvisioningAction::from))
            .build()
    });
    let blue = first(b, "terminate_blue_instances_on_deployment_success").map(|r| {
        BlueInstanceTerminationOption::builder()
            .set_action(opt_str(r, "action").map(InstanceAction::from))
            .set_termination_wait_time_in_minutes(
                opt_int(r, "termination_wait_time_in_minutes").map(|n| n as i32),
            )
            .build()
    });
    Some(
        BlueGreenDeploymentConfiguration::builder()
            .set_deployment_ready_option(ready)
            .set_green_fleet_provisioning_option(green)
            .set_terminate_blue_instances_on_deployment_success(blue)
            .build(),
    )
}

fn ecs_services(d: &Value) -> Vec<EcsService> {
    blocks(d, "ecs_service")
        .iter()
        .map(|b| {
            EcsService::builder()
                .set_cluster_name(opt_str(b, "cluster_name").map(str::to_string))
                .set_service_name(opt_str(b, "service_name").map(str::to_string))
                .build()
        })
        .collect()
}

fn route(b: &Value, key: &str) -> Option<TrafficRoute> {
    first(b, key).map(|r| {
        TrafficRoute::builder()
            .set_listener_arns(Some(str_list(r, "listener_arns")))
            .build()
    })
}

/// The load balancers of the spec; an empty one when it names none (an
/// update so clears them).
fn load_balancer_info(d: &Value) -> LoadBalancerInfo {
    let Some(b) = first(d, "load_balancer_info") else {
        return LoadBalancerInfo::builder().build();
    };
    let names = |key: &str| -> Vec<String> {
        blocks(b, key)
            .iter()
            .filter_map(|n| opt_str(n, "name").map(str::to_string))
            .collect()
    };
    let pairs = blocks(b, "target_group_pair_info")
        .iter()
        .map(|p| {
            TargetGroupPairInfo::builder()
                .set_target_groups(Some(
                    blocks(p, "target_group")
                        .iter()
                        .filter_map(|t| opt_str(t, "name"))
                        .map(|n| TargetGroupInfo::builder().name(n).build())
                        .collect(),
                ))
                .set_prod_traffic_route(route(p, "prod_traffic_route"))
                .set_test_traffic_route(route(p, "test_traffic_route"))
                .build()
        })
        .collect();
    LoadBalancerInfo::builder()
        .set_elb_info_list(Some(
            names("elb_info")
                .into_iter()
                .map(|n| ElbInfo::builder().name(n).build())
                .collect(),
        ))
        .set_target_group_info_list(Some(
            names("target_group_info")
                .into_iter()
                .map(|n| TargetGroupInfo::builder().name(n).build())
                .collect(),
        ))
        .set_target_group_pair_info_list(Some(pairs))
        .build()
}

/// The rollback settings; disabled with no events when the spec has none,
/// as the Terraform provider sends to clear them.
fn auto_rollback(d: &Value) -> AutoRollbackConfiguration {
    let b = first(d, "auto_rollback_configuration");
    AutoRollbackConfiguration::builder()
        .enabled(b.is_some_and(|b| bool_or(b, "enabled", false)))
        .set_events(Some(
            b.map(|b| str_list(b, "events"))
                .unwrap_or_default()
                .into_iter()
                .map(|e| AutoRollbackEvent::from(e.as_str()))
                .collect(),
        ))
        .build()
}

fn alarms(d: &Value) -> AlarmConfiguration {
    let b = first(d, "alarm_configuration");
    AlarmConfiguration::builder()
        .enabled(b.is_some_and(|b| bool_or(b, "enabled", false)))
        .ignore_poll_alarm_failure(b.is_some_and(|b| bool_or(b, "ignore_poll_alarm_failure", false)))
        .set_alarms(Some(
            b.map(|b| str_list(b, "alarms"))
                .unwrap_or_default()
                .into_iter()
                .map(|n| Alarm::builder().name(n).build())
                .collect(),
        ))
        .build()
}

fn autoscaling_groups(d: &Value) -> Vec<String> {
    str_list(d, "autoscaling_groups")
}

// ----- API → attributes -----

fn single(item: Option<Value>) -> Value {
    Value::List(item.into_iter().collect())
}

fn style_value(st: Option<&DeploymentStyle>) -> Value {
    single(st.map(|st| {
        Value::map([
            (
                "deployment_option",
                s(st.deployment_option().map(DeploymentOption::as_str)),
            ),
            (
                "deployment_type",
                s(st.deployment_type().map(DeploymentType::as_str)),
            ),
        ])
    }))
}

fn blue_green_value(bg: Option<&BlueGreenDeploymentConfiguration>) -> Value {
    single(bg.map(|bg| {
        let ready = bg.deployment_ready_option().map(|r| {
            Value::map([
                (
                    "action_on_timeout",
                    s(r.action_on_timeout().map(DeploymentReadyAction::as_str)),
                ),
                ("wait_time_in_minutes", num(r.wait_time_in_minutes())),
            ])
        });
        let green = bg.green_fleet_provisioning_option().map(|g| {
            Value::map([(
                "action",
                s(g.action().map(GreenFleetProvisioningAction::as_str)),
            )])
        });
        let blue = bg.terminate_blue_instances_on_deployment_success().map(|b| {
            Value::map([
                ("action", s(b.action().map(InstanceAction::as_str))),
                (
                    "termination_wait_time_in_minutes",
                    num(b.termination_wait_time_in_minutes()),
                ),
            ])
        });
        Value::map([
            ("deployment_ready_option", single(ready)),
            ("green_fleet_provisioning_option", single(green)),
            ("terminate_blue_instances_on_deployment_success", single(blue)),
        ])
    }))
}

fn route_value(r: Option<&TrafficRoute>) -> Value {
    single(r.map(|r| {
        Value::map([(
            "listener_arns",
            set_or_null(r.listener_arns().to_vec()),
        )])
    }))
}

fn load_balancer_value(lb: Option<&LoadBalancerInfo>) -> Value {
    let Some(lb) = lb.filter(|lb| {
        !lb.elb_info_list().is_empty()
            || !lb.target_group_info_list().is_empty()
            || !lb.target_group_pair_info_list().is_empty()
    }) else {
        return Value::List(Vec::new());
    };
    let names = |names: Vec<Option<&str>>| {
        let mut items: Vec<Value> = names
            .into_iter()
            .flatten()
            .map(|n| Value::map([("name", Value::from(n))]))
            .collect();
        items.sort_by_cached_key(|v| v.to_string());
        Value::List(items)
    };
    let pairs = lb
        .target_group_pair_info_list()
        .iter()
        .map(|p| {
            Value::map([
                ("prod_traffic_route", route_value(p.prod_traffic_route())),
                ("test_traffic_route", route_value(p.test_traffic_route())),
                (
                    "target_group",
                    Value::List(
                        p.target_groups()
                            .iter()
                            .map(|t| Value::map([("name", s(t.name()))]))
                            .collect(),
                    ),
                ),
            ])
        })
        .collect();
    single(Some(Value::map([
        (
            "elb_info",
            names(lb.elb_info_list().iter().map(ElbInfo::name).collect()),
        ),
        (
            "target_group_info",
            names(
                lb.target_group_info_list()
                    .iter()
                    .map(TargetGroupInfo::name)
                    .collect(),
            ),
        ),
        ("target_group_pair_info", Value::List(pairs)),
    ])))
}

/// Rollback settings as Terraform shows them: none when disabled without
/// events (what AWS reports for a group that never had any).
fn auto_rollback_value(r: Option<&AutoRollbackConfiguration>) -> Value {
    single(
        r.filter(|r| r.enabled() || !r.events().is_empty())
            .map(|r| {
                Value::map([
                    ("enabled", Value::Bool(r.enabled())),
                    (
                        "events",
                        set_or_null(r.events().iter().map(|e| e.as_str().to_string()).collect()),
                    ),
                ])
            }),
    )
}

fn alarm_value(a: Option<&AlarmConfiguration>) -> Value {
    single(
        a.filter(|a| a.enabled() || !a.alarms().is_empty())
            .map(|a| {
                Value::map([
                    ("enabled", Value::Bool(a.enabled())),
                    (
                        "ignore_poll_alarm_failure",
                        Value::Bool(a.ignore_poll_alarm_failure()),
                    ),
                    (
                        "alarms",
                        set_or_null(
                            a.alarms()
                                .iter()
                                .filter_map(|x| x.name().map(str::to_string))
                                .collect(),
                        ),
                    ),
                ])
            }),
    )
}

fn group_attrs(g: &DeploymentGroupInfo, arn: &str, tags: &BTreeMap<String, String>) -> Value {
    Value::map([
        ("id", s(g.deployment_group_id())),
        ("deployment_group_id", s(g.deployment_group_id())),
        ("arn", Value::from(arn)),
        ("app_name", s(g.application_name())),
        ("deployment_group_name", s(g.deployment_group_name())),
        ("service_role_arn", s(g.service_role_arn())),
        ("deployment_config_name", s(g.deployment_config_name())),
        (
            "compute_platform",
            s(g.compute_platform().map(|p| p.as_str())),
        ),
        (
            "outdated_instances_strategy",
            s(g.outdated_instances_strategy()
                .map(OutdatedInstancesStrategy::as_str)),
        ),
        (
            "autoscaling_groups",
            set_or_null(
                g.auto_scaling_groups()
                    .iter()
                    .filter_map(AutoScalingGroup::name)
                    .map(str::to_string)
                    .collect(),
            ),
        ),
        ("deployment_style", style_value(g.deployment_style())),
        (
            "blue_green_deployment_config",
            blue_green_value(g.blue_green_deployment_configuration()),
        ),
        (
            "ecs_service",
            Value::List(
                g.ecs_services()
                    .iter()
                    .map(|e| {
                        Value::map([
                            ("cluster_name", s(e.cluster_name())),
                            ("service_name", s(e.service_name())),
                        ])
                    })
                    .collect(),
            ),
        ),
        ("load_balancer_info", load_balancer_value(g.load_balancer_info())),
        (
            "auto_rollback_configuration",
            auto_rollback_value(g.auto_rollback_configuration()),
        ),
        ("alarm_configuration", alarm_value(g.alarm_configuration())),
        ("tags_all", tags_attr(tags)),
    ])
}

// ----- calls -----

/// `app_name:deployment_group_name`, the import ID, split in two.
fn parse_import_id(id: &str) -> Option<(&str, &str)> {
    id.split_once(':')
        .filter(|(app, group)| !app.is_empty() && !group.is_empty())
}

/// The groups of `app` among `names` that exist; none when the application
/// is gone.
async fn batch_get(
    aws: &Aws,
    app: &str,
    names: &[String],
) -> Result<Vec<DeploymentGroupInfo>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(BATCH_SIZE) {
        let answer = found(
            aws.codedeploy
                .batch_get_deployment_groups()
                .application_name(app)
                .set_deployment_group_names(Some(chunk.to_vec()))
                .send()
                .await
                .codedeploy("BatchGetDeploymentGroups"),
        )?;
        if let Some(answer) = answer {
            out.extend(answer.deployment_groups_info().iter().cloned());
        }
    }
    Ok(out)
}

/// One group with its tags; `None` when it does not exist.
async fn read(aws: &Aws, app: &str, name: &str) -> Result<Option<Value>, ProviderError> {
    let Some(g) = batch_get(aws, app, &[name.to_string()])
        .await?
        .into_iter()
        .find(|g| g.deployment_group_name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = deployment_group_arn(aws, app, name).await?;
    Ok(found(tags_of(aws, &arn).await)?.map(|tags| group_attrs(&g, &arn, &tags)))
}

/// `app_name` and `deployment_group_name` of a known group: its recorded
/// attributes, else its import ID.
fn known_key(k: &stackd_engine::provider::KnownResource) -> Option<(String, String)> {
    match (opt_str(&k.attrs, "app_name"), opt_str(&k.attrs, "deployment_group_name")) {
        (Some(app), Some(group)) => Some((app.to_string(), group.to_string())),
        _ => parse_import_id(&k.id).map(|(a, g)| (a.to_string(), g.to_string())),
    }
}

pub(crate) struct CodedeployDeploymentGroup;

#[async_trait]
impl ResourceHandler for CodedeployDeploymentGroup {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_app: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut wanted = Vec::new();
        for k in &req.known {
            let Some((app, group)) = known_key(k) else {
                tracing::warn!(address = %k.address, id = %k.id, "no application and group name to read it by");
                continue;
            };
            let names = by_app.entry(app.clone()).or_default();
            if !names.contains(&group) {
                names.push(group.clone());
            }
            wanted.push((k, app, group));
        }
        let apps: Vec<(&String, &Vec<String>)> = by_app.iter().collect();
        let answers = crate::concurrent::bounded_all(
            apps.iter().map(|(app, names)| batch_get(aws, app, names)),
        )
        .await;
        let mut groups = Vec::new();
        for answer in answers {
            groups.extend(answer?);
        }
        let reads = crate::concurrent::bounded_all(groups.iter().map(|g| async move {
            let app = g.application_name().unwrap_or_default();
            let name = g.deployment_group_name().unwrap_or_default();
            let arn = deployment_group_arn(aws, app, name).await?;
            Ok::<_, ProviderError>(found(tags_of(aws, &arn).await)?.map(|t| group_attrs(g, &arn, &t)))
        }))
        .await;
        let mut out = Vec::new();
        for read in reads {
            let Some(attrs) = read? else { continue };
            let app = opt_str(&attrs, "app_name").unwrap_or_default();
            let name = opt_str(&attrs, "deployment_group_name").unwrap_or_default();
            if let Some((k, _, _)) = wanted.iter().find(|(_, a, g)| a == app && g == name) {
                out.push(LiveResource {
                    id: opt_str(&attrs, "id").unwrap_or_default().to_string(),
                    address: Some(k.address.clone()),
                    attrs,
                });
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let app = req_str(d, "app_name", "CreateDeploymentGroup")?;
        let name = req_str(d, "deployment_group_name", "CreateDeploymentGroup")?;
        let call = aws
            .codedeploy
            .create_deployment_group()
            .application_name(app)
            .deployment_group_name(name)
            .service_role_arn(req_str(d, "service_role_arn", "CreateDeploymentGroup")?)
            .deployment_config_name(opt_str(d, "deployment_config_name").unwrap_or(DEFAULT_CONFIG))
            .outdated_instances_strategy(OutdatedInstancesStrategy::from(
                opt_str(d, "outdated_instances_strategy").unwrap_or("UPDATE"),
            ))
            .set_auto_scaling_groups(Some(autoscaling_groups(d)).filter(|g| !g.is_empty()))
            .set_deployment_style(deployment_style(d))
            .set_blue_green_deployment_configuration(blue_green(d))
            .set_ecs_services(Some(ecs_services(d)).filter(|e| !e.is_empty()))
            .set_load_balancer_info(
                first(d, "load_balancer_info").map(|_| load_balancer_info(d)),
            )
            .set_auto_rollback_configuration(
                first(d, "auto_rollback_configuration").map(|_| auto_rollback(d)),
            )
            .set_alarm_configuration(first(d, "alarm_configuration").map(|_| alarms(d)))
            .set_tags(Some(sdk_tags(d)));
        // A role or application created a moment ago may not be visible.
        let created = retry(&deadline, || async {
            call.clone().send().await.codedeploy("CreateDeploymentGroup")
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "DeploymentGroupAlreadyExistsException") => {
                let arn = deployment_group_arn(aws, app, name).await?;
                let live = tags_of(aws, &arn).await?;
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        CODEDEPLOY,
                        "CreateDeploymentGroup",
                        conflict("CodeDeploy deployment group", name, &live, &req.owner),
                    )
                    .with_code("DeploymentGroupAlreadyExistsException"));
                }
                tracing::info!(app, name, "adopting the deployment group an earlier attempt created");
                // Brought to the spec's settings, which an earlier attempt
                // may not have had.
                update_group(aws, req, app, name, None, &deadline).await?;
            }
            Err(e) => return Err(e),
        }
        let key = format!("{app}:{name}");
        read(aws, app, name)
            .await?
            .ok_or_else(|| after_create(&key, gone(CODEDEPLOY, "BatchGetDeploymentGroups", &key)))
    }

    /// The application must exist and the group's name be free; the
    /// service role is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let (Some(app), Some(name)) = (
            known_str(d, "app_name"),
            known_str(d, "deployment_group_name"),
        ) {
            const ACTION: &str = "codedeploy:BatchGetDeploymentGroups";
            if let Some(Some(attrs)) = findings.read(ACTION, read(aws, app, name).await)? {
                let tags = live_tags(&attrs);
                findings.name_in_use(req, ACTION, "CodeDeploy deployment group", name, &tags);
            }
        }
        if let Some(role) = known_str(d, "service_role_arn") {
            check_role_arn(aws, req, &mut findings, role).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let app = req_str(d, "app_name", "UpdateDeploymentGroup")?;
        let name = req_str(d, "deployment_group_name", "UpdateDeploymentGroup")?;
        let current = opt_str(&prior, "deployment_group_name").unwrap_or(name);
        let only_tags = req.changed.iter().all(|c| c == "tags" || c == "tags_all");
        if !only_tags {
            update_group(aws, req, app, current, Some(name), &deadline).await?;
        }
        let arn = deployment_group_arn(aws, app, name).await?;
        reconcile_tags(aws, &arn, &prior, d, &deadline).await?;
        let key = format!("{app}:{name}");
        read(aws, app, name)
            .await?
            .ok_or_else(|| gone(CODEDEPLOY, "BatchGetDeploymentGroups", &key))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let (app, name) = match (
            opt_str(&req.prior, "app_name"),
            opt_str(&req.prior, "deployment_group_name"),
        ) {
            (Some(app), Some(name)) => (app, name),
            _ => parse_import_id(&req.id).ok_or_else(|| {
                invalid(
                    CODEDEPLOY,
                    "DeleteDeploymentGroup",
                    format!("no application and group name recorded for {}", req.id),
                )
            })?,
        };
        let answer = aws
            .codedeploy
            .delete_deployment_group()
            .application_name(app)
            .deployment_group_name(name)
            .send()
            .await
            .codedeploy("DeleteDeploymentGroup");
        match answer {
            Ok(out) if !out.hooks_not_cleaned_up().is_empty() => {
                tracing::warn!(app, name, "deployment group deleted; some Auto Scaling lifecycle hooks were not removed");
                Ok(())
            }
            other => ignore_not_found(other.map(|_| ())),
        }
    }
}

/// `UpdateDeploymentGroup` with every setting of the spec (settings the
/// spec dropped are sent empty or disabled, which clears them), renaming
/// the group from `current` to `new_name` when they differ.
async fn update_group(
    aws: &Aws,
    req: &ChangeRequest,
    app: &str,
    current: &str,
    new_name: Option<&str>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let d = &req.desired;
    let call = aws
        .codedeploy
        .update_deployment_group()
        .application_name(app)
        .current_deployment_group_name(current)
        .set_new_deployment_group_name(
            new_name.filter(|n| *n != current).map(str::to_string),
        )
        .service_role_arn(req_str(d, "service_role_arn", "UpdateDeploymentGroup")?)
        .deployment_config_name(opt_str(d, "deployment_config_name").unwrap_or(DEFAULT_CONFIG))
        .outdated_instances_strategy(OutdatedInstancesStrategy::from(
            opt_str(d, "outdated_instances_strategy").unwrap_or("UPDATE"),
        ))
        .set_auto_scaling_groups(Some(autoscaling_groups(d)))
        .set_deployment_style(deployment_style(d))
        .set_blue_green_deployment_configuration(blue_green(d))
        .set_ecs_services(Some(ecs_services(d)).filter(|e| !e.is_empty()))
        .load_balancer_info(load_balancer_info(d))
        .auto_rollback_configuration(auto_rollback(d))
        .alarm_configuration(alarms(d));
    retry(deadline, || async {
        call.clone().send().await.codedeploy("UpdateDeploymentGroup")
    })
    .await
    .map(|_| ())
    .map_err(|e| {
        if e.kind == ErrorKind::NotFound {
            gone(CODEDEPLOY, "UpdateDeploymentGroup", &format!("{app}:{current}"))
        } else {
            e
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};

    fn list(items: &[&str]) -> Value {
        Value::List(items.iter().map(|s| Value::from(*s)).collect())
    }

    fn desired() -> Value {
        Value::map([
            ("app_name", Value::from("web")),
            ("deployment_group_name", Value::from("web-blue-green")),
            ("service_role_arn", Value::from("arn:aws:iam::1:role/cd")),
            ("deployment_config_name", Value::from("CodeDeployDefault.ECSAllAtOnce")),
            ("outdated_instances_strategy", Value::from("UPDATE")),
            (
                "deployment_style",
                Value::List(vec![Value::map([
                    ("deployment_option", Value::from("WITH_TRAFFIC_CONTROL")),
                    ("deployment_type", Value::from("BLUE_GREEN")),
                ])]),
            ),
            (
                "blue_green_deployment_config",
                Value::List(vec![Value::map([
                    (
                        "deployment_ready_option",
                        Value::List(vec![Value::map([
                            ("action_on_timeout", Value::from("CONTINUE_DEPLOYMENT")),
                            ("wait_time_in_minutes", num(0)),
                        ])]),
                    ),
                    ("green_fleet_provisioning_option", Value::Null),
                    (
                        "terminate_blue_instances_on_deployment_success",
                        Value::List(vec![Value::map([
                            ("action", Value::from("TERMINATE")),
                            ("termination_wait_time_in_minutes", num(5)),
                        ])]),
                    ),
                ])]),
            ),
            (
                "ecs_service",
                Value::List(vec![Value::map([
                    ("cluster_name", Value::from("c")),
                    ("service_name", Value::from("s")),
                ])]),
            ),
            (
                "load_balancer_info",
                Value::List(vec![Value::map([
                    ("elb_info", Value::List(vec![])),
                    ("target_group_info", Value::List(vec![])),
                    (
                        "target_group_pair_info",
                        Value::List(vec![Value::map([
                            (
                                "prod_traffic_route",
                                Value::List(vec![Value::map([(
                                    "listener_arns",
                                    list(&["arn:aws:elasticloadbalancing:l/1"]),
                                )])]),
                            ),
                            ("test_traffic_route", Value::List(vec![])),
                            (
                                "target_group",
                                Value::List(vec![
                                    Value::map([("name", Value::from("blue"))]),
                                    Value::map([("name", Value::from("green"))]),
                                ]),
                            ),
                        ])]),
                    ),
                ])]),
            ),
            (
                "auto_rollback_configuration",
                Value::List(vec![Value::map([
                    ("enabled", Value::Bool(true)),
                    ("events", list(&["DEPLOYMENT_FAILURE"])),
                ])]),
            ),
            ("alarm_configuration", Value::List(vec![])),
            ("autoscaling_groups", Value::Null),
            ("tags_all", Value::map([("Team", Value::from("web"))])),
        ])
    }

    /// What AWS answers for the group `desired` describes.
    fn live_group() -> DeploymentGroupInfo {
        let d = desired();
        DeploymentGroupInfo::builder()
            .application_name("web")
            .deployment_group_id("5a0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d")
            .deployment_group_name("web-blue-green")
            .service_role_arn("arn:aws:iam::1:role/cd")
            .deployment_config_name("CodeDeployDefault.ECSAllAtOnce")
            .outdated_instances_strategy(OutdatedInstancesStrategy::Update)
            .compute_platform(aws_sdk_codedeploy::types::ComputePlatform::Ecs)
            .set_deployment_style(deployment_style(&d))
            .set_blue_green_deployment_configuration(blue_green(&d))
            .set_ecs_services(Some(ecs_services(&d)))
            .load_balancer_info(load_balancer_info(&d))
            .auto_rollback_configuration(auto_rollback(&d))
            // Never configured: AWS reports it disabled and empty.
            .alarm_configuration(alarms(&Value::Null))
            .build()
    }

    fn changes(live: &Value) -> Vec<String> {
        diff(&schema(), &desired(), live, &IgnoreChanges::default())
            .into_iter()
            .map(|c| c.name)
            .collect()
    }

    #[test]
    fn a_live_group_reads_back_as_a_no_op() {
        let tags = BTreeMap::from([("Team".to_string(), "web".to_string())]);
        let live = group_attrs(&live_group(), "arn:aws:codedeploy:x", &tags);
        assert_eq!(changes(&live), Vec::<String>::new(), "{live:#?}");
        assert_eq!(
            live.get("id"),
            Some(&Value::from("5a0c1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d"))
        );
    }

    #[test]
    fn a_changed_termination_wait_shows_in_the_diff() {
        let tags = BTreeMap::from([("Team".to_string(), "web".to_string())]);
        let mut g = live_group();
        g.blue_green_deployment_configuration = Some(
            BlueGreenDeploymentConfiguration::builder()
                .deployment_ready_option(
                    DeploymentReadyOption::builder()
                        .action_on_timeout(DeploymentReadyAction::ContinueDeployment)
                        .wait_time_in_minutes(0)
                        .build(),
                )
                .terminate_blue_instances_on_deployment_success(
                    BlueInstanceTerminationOption::builder()
                        .action(InstanceAction::Terminate)
                        .termination_wait_time_in_minutes(60)
                        .build(),
                )
                .build(),
        );
        let live = group_attrs(&g, "arn", &tags);
        assert_eq!(changes(&live), vec!["blue_green_deployment_config"]);
    }

    #[test]
    fn cleared_settings_are_sent_disabled_and_empty() {
        let r = auto_rollback(&Value::Null);
        assert!(!r.enabled() && r.events().is_empty());
        assert_eq!(auto_rollback_value(Some(&r)), Value::List(vec![]));
        let lb = load_balancer_info(&Value::Null);
        assert_eq!(load_balancer_value(Some(&lb)), Value::List(vec![]));
    }

    #[test]
    fn import_ids_name_the_application_and_the_group() {
        assert_eq!(parse_import_id("web:blue-green"), Some(("web", "blue-green")));
        assert_eq!(parse_import_id("5a0c1d2e-3f40"), None);
        assert_eq!(parse_import_id(":g"), None);
    }
}
