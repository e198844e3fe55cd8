//! `aws_cloudwatch_event_target`: one target of an EventBridge rule; with
//! `ecs_target`, the scheduled ECS task. Its ID is Terraform's
//! `RULE-TARGET_ID` (`BUS-RULE-TARGET_ID` on another bus than the default
//! one), which cannot be parsed back: the rule, bus and target ID come from
//! the recorded arguments. `stackd import` takes Terraform's import ID,
//! `BUS/RULE/TARGET_ID` or `RULE/TARGET_ID`.
//!
//! A refresh is one `ListTargetsByRule` chain per rule of the known
//! targets. Targets carry no tags and no creation time: `PutTargets` would
//! overwrite a target of the same ID, so a create refuses one that exists,
//! unless an earlier attempt of this create (it has a pending record) left
//! one pointing at the same ARN.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_eventbridge::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, DeadLetterConfig,
    EcsParameters, InputTransformer, LaunchType, NetworkConfiguration, PlacementConstraint,
    PlacementConstraintType, PropagateTags, RetryPolicy, SqsParameters, Target,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{bus_or_default, sdk_tags, DEFAULT_BUS, EVENTS, RULE};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, set_or_null, sort_blocks, str_list, str_map};
use crate::context::Aws;
use crate::elbv2_ecs_util::at_most_one;
use crate::error::after_create;
use crate::iam_util::{
    bounded_all, found, gone, ignore_gone, invalid, name_or_generated, required, update_id,
    AwsResult,
};
use crate::policy::g;
use crate::services::iam::pass_role;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_cloudwatch_event_target`: its schema, its handler, and the IAM
/// grants of every call it makes. Handing `role_arn` to EventBridge needs
/// `iam:PassRole` too, as for every service given a role.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_event_target",
    schema,
    handler: &CloudwatchEventTarget,
    grants: &[
        g(
            &[
                "events:ListTargetsByRule",
                "events:PutTargets",
                "events:RemoveTargets",
            ],
            &[RULE],
        ),
        pass_role(&["events.amazonaws.com"]),
    ],
    source: file!(),
};

fn ecs_target_block() -> BlockSchema {
    let strings = || AttrType::set_of(AttrType::String);
    at_most_one(BlockSchema::new("ecs_target", Nesting::List))
        .attr(AttrSchema::required("task_definition_arn", AttrType::String))
        .attr(
            AttrSchema::optional("task_count", AttrType::Number)
                .default(1)
                .check(Check::Range(1, i64::from(i32::MAX))),
        )
        .attr(
            AttrSchema::optional("launch_type", AttrType::String)
                .check(Check::OneOf(vec!["EC2", "FARGATE", "EXTERNAL"])),
        )
        .attr(AttrSchema::optional("platform_version", AttrType::String))
        .attr(AttrSchema::optional("group", AttrType::String))
        .attr(AttrSchema::optional("enable_ecs_managed_tags", AttrType::Bool).default(false))
        .attr(AttrSchema::optional("enable_execute_command", AttrType::Bool).default(false))
        .attr(
            AttrSchema::optional("propagate_tags", AttrType::String)
                .check(Check::OneOf(vec!["TASK_DEFINITION"])),
        )
        .attr(AttrSchema::optional("tags", AttrType::map_of(AttrType::String)))
        .block(
            at_most_one(BlockSchema::new("network_configuration", Nesting::List))
                .attr(AttrSchema::required("subnets", strings()))
                .attr(AttrSchema::optional("security_groups", strings()))
                .attr(AttrSchema::optional("assign_public_ip", AttrType::Bool).default(false)),
        )
        .block(
            BlockSchema::new("placement_constraint", Nesting::Set)
                .attr(
                    AttrSchema::required("type", AttrType::String)
                        .check(Check::OneOf(vec!["distinctInstance", "memberOf"])),
                )
                .attr(AttrSchema::optional("expression", AttrType::String)),
        )
        .block(
            BlockSchema::new("capacity_provider_strategy", Nesting::Set)
                .attr(AttrSchema::required("capacity_provider", AttrType::String))
                .attr(AttrSchema::optional("weight", AttrType::Number))
                .attr(AttrSchema::optional("base", AttrType::Number)),
        )
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_event_target")
        .doc("A target of an EventBridge rule (an ECS task, a queue, a function...).")
        .attr(
            AttrSchema::required("rule", AttrType::String)
                .force_new()
                .doc("The rule's name."),
        )
        .attr(
            AttrSchema::optional("event_bus_name", AttrType::String)
                .default(DEFAULT_BUS)
                .force_new()
                .doc("The rule's event bus."),
        )
        .attr(
            AttrSchema::optional_computed("target_id", AttrType::String)
                .force_new()
                .doc("The target's ID in the rule; generated when unset."),
        )
        .attr(AttrSchema::required("arn", AttrType::String).doc("The target's ARN (an ECS cluster for a task)."))
        .attr(
            AttrSchema::optional("role_arn", AttrType::String)
                .doc("The role EventBridge uses to start the target (required for ECS tasks)."),
        )
        .attr(AttrSchema::optional("input", AttrType::String).doc("Fixed input (JSON) sent instead of the event."))
        .attr(AttrSchema::optional("input_path", AttrType::String).doc("The part of the event (JSONPath) sent."))
        .attr(AttrSchema::optional("force_destroy", AttrType::Bool).default(false).doc("Remove a target of a managed rule."))
        .block(
            at_most_one(BlockSchema::new("input_transformer", Nesting::List))
                .attr(AttrSchema::optional(
                    "input_paths",
                    AttrType::map_of(AttrType::String),
                ))
                .attr(AttrSchema::required("input_template", AttrType::String)),
        )
        .block(ecs_target_block())
        .block(
            at_most_one(BlockSchema::new("retry_policy", Nesting::List))
                .attr(AttrSchema::optional("maximum_event_age_in_seconds", AttrType::Number))
                .attr(AttrSchema::optional("maximum_retry_attempts", AttrType::Number)),
        )
        .block(
            at_most_one(BlockSchema::new("dead_letter_config", Nesting::List))
                .attr(AttrSchema::optional("arn", AttrType::String)),
        )
        .block(
            at_most_one(BlockSchema::new("sqs_target", Nesting::List))
                .attr(AttrSchema::optional("message_group_id", AttrType::String)),
        )
}

/// Where a target is: its bus, rule and target ID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Place {
    bus: String,
    rule: String,
    target_id: String,
}

/// Terraform's ID of a target (`RULE-TARGET_ID`, `BUS-RULE-TARGET_ID`).
fn target_id_of(p: &Place) -> String {
    if p.bus == DEFAULT_BUS {
        format!("{}-{}", p.rule, p.target_id)
    } else {
        format!("{}-{}-{}", p.bus, p.rule, p.target_id)
    }
}

/// Terraform's import ID, `BUS/RULE/TARGET_ID` or `RULE/TARGET_ID`.
fn parse_import_id(id: &str) -> Option<Place> {
    let parts: Vec<&str> = id.split('/').collect();
    let place = |bus: &str, rule: &str, target: &str| Place {
        bus: bus.to_string(),
        rule: rule.to_string(),
        target_id: target.to_string(),
    };
    match parts.as_slice() {
        [rule, target] if !rule.is_empty() && !target.is_empty() => {
            Some(place(DEFAULT_BUS, rule, target))
        }
        [bus, rule, target] if !bus.is_empty() && !rule.is_empty() && !target.is_empty() => {
            Some(place(bus, rule, target))
        }
        _ => None,
    }
}

/// The place of a known target: from its recorded arguments, else from
/// the import ID.
fn place_of(k: &KnownResource) -> Option<Place> {
    match (opt_str(&k.attrs, "rule"), opt_str(&k.attrs, "target_id")) {
        (Some(rule), Some(target)) => Some(Place {
            bus: bus_or_default(opt_str(&k.attrs, "event_bus_name")).to_string(),
            rule: rule.to_string(),
            target_id: target.to_string(),
        }),
        _ => parse_import_id(&k.id),
    }
}

fn opt_num(n: Option<i32>) -> Value {
    n.map_or(Value::Null, num)
}

fn one(v: Value) -> Value {
    Value::List(vec![v])
}

fn ecs_attrs(e: &EcsParameters) -> Value {
    let network = e
        .network_configuration()
        .and_then(NetworkConfiguration::awsvpc_configuration)
        .map(|n| {
            one(Value::map([
                ("subnets", set_or_null(n.subnets().to_vec())),
                ("security_groups", set_or_null(n.security_groups().to_vec())),
                (
                    "assign_public_ip",
                    Value::Bool(n.assign_public_ip() == Some(&AssignPublicIp::Enabled)),
                ),
            ]))
        })
        .unwrap_or(Value::Null);
    let constraints: Vec<Value> = e
        .placement_constraints()
        .iter()
        .map(|c| {
            Value::map([
                ("type", s(c.r#type().map(PlacementConstraintType::as_str))),
                ("expression", s(c.expression())),
            ])
        })
        .collect();
    let strategy: Vec<Value> = e
        .capacity_provider_strategy()
        .iter()
        .map(|c| {
            Value::map([
                ("capacity_provider", Value::from(c.capacity_provider())),
                ("weight", num(c.weight())),
                ("base", num(c.base())),
            ])
        })
        .collect();
    let tags: BTreeMap<&str, &str> = e.tags().iter().map(|t| (t.key(), t.value())).collect();
    let blocks_or_null = |items: Vec<Value>| {
        if items.is_empty() {
            Value::Null
        } else {
            Value::List(sort_blocks(items))
        }
    };
    one(Value::map([
        ("task_definition_arn", Value::from(e.task_definition_arn())),
        ("task_count", num(e.task_count().unwrap_or(1))),
        ("launch_type", s(e.launch_type().map(LaunchType::as_str))),
        ("platform_version", s(e.platform_version())),
        ("group", s(e.group())),
        ("enable_ecs_managed_tags", Value::Bool(e.enable_ecs_managed_tags())),
        ("enable_execute_command", Value::Bool(e.enable_execute_command())),
        ("propagate_tags", s(e.propagate_tags().map(PropagateTags::as_str))),
        (
            "tags",
            if tags.is_empty() {
                Value::Null
            } else {
                Value::Map(
                    tags.into_iter()
                        .map(|(k, v)| (k.to_string(), Value::from(v)))
                        .collect(),
                )
            },
        ),
        ("network_configuration", network),
        ("placement_constraint", blocks_or_null(constraints)),
        ("capacity_provider_strategy", blocks_or_null(strategy)),
    ]))
}

fn target_attrs(t: &Target, p: &Place, args: Option<&Value>) -> Value {
    let transformer = t.input_transformer().map(|x| {
        one(Value::map([
            (
                "input_paths",
                x.input_paths_map().filter(|m| !m.is_empty()).map_or(Value::Null, |m| {
                    Value::Map(
                        m.iter()
                            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                            .collect(),
                    )
                }),
            ),
            ("input_template", Value::from(x.input_template())),
        ]))
    });
    Value::map([
        ("id", Value::from(target_id_of(p))),
        ("rule", Value::from(p.rule.as_str())),
        ("event_bus_name", Value::from(p.bus.as_str())),
        ("target_id", Value::from(t.id())),
        ("arn", Value::from(t.arn())),
        ("role_arn", s(t.role_arn())),
        ("input", s(t.input())),
        ("input_path", s(t.input_path())),
        (
            "force_destroy",
            crate::iam_util::echo(args, "force_destroy", Value::Bool(false)),
        ),
        ("input_transformer", transformer.unwrap_or(Value::Null)),
        ("ecs_target", t.ecs_parameters().map_or(Value::Null, ecs_attrs)),
        (
            "retry_policy",
            t.retry_policy().map_or(Value::Null, |r| {
                one(Value::map([
                    (
                        "maximum_event_age_in_seconds",
                        opt_num(r.maximum_event_age_in_seconds()),
                    ),
                    ("maximum_retry_attempts", opt_num(r.maximum_retry_attempts())),
                ]))
            }),
        ),
        (
            "dead_letter_config",
            t.dead_letter_config()
                .map_or(Value::Null, |d| one(Value::map([("arn", s(d.arn()))]))),
        ),
        (
            "sqs_target",
            t.sqs_parameters().map_or(Value::Null, |q| {
                one(Value::map([("message_group_id", s(q.message_group_id()))]))
            }),
        ),
    ])
}

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).and_then(|n| i32::try_from(n).ok())
}

fn build_err(e: impl std::fmt::Display) -> ProviderError {
    invalid(EVENTS, "PutTargets", e.to_string())
}

fn sdk_ecs(e: &Value) -> Result<EcsParameters, ProviderError> {
    let network = blocks(e, "network_configuration")
        .first()
        .map(|n| {
            AwsVpcConfiguration::builder()
                .set_subnets(Some(str_list(n, "subnets")))
                .set_security_groups(Some(str_list(n, "security_groups")).filter(|g| !g.is_empty()))
                .assign_public_ip(if bool_or(n, "assign_public_ip", false) {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                })
                .build()
                .map(|c| NetworkConfiguration::builder().awsvpc_configuration(c).build())
                .map_err(build_err)
        })
        .transpose()?;
    let constraints = blocks(e, "placement_constraint")
        .iter()
        .map(|c| {
            PlacementConstraint::builder()
                .set_type(opt_str(c, "type").map(PlacementConstraintType::from))
                .set_expression(opt_str(c, "expression").map(str::to_string))
                .build()
        })
        .collect::<Vec<_>>();
    let strategy = blocks(e, "capacity_provider_strategy")
        .iter()
        .map(|c| {
            CapacityProviderStrategyItem::builder()
                .capacity_provider(opt_str(c, "capacity_provider").unwrap_or_default())
                .weight(int(c, "weight").unwrap_or(0))
                .base(int(c, "base").unwrap_or(0))
                .build()
                .map_err(build_err)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let tags = sdk_tags(&str_map(e, "tags"), "PutTargets")?;
    EcsParameters::builder()
        .task_definition_arn(opt_str(e, "task_definition_arn").unwrap_or_default())
        .task_count(int(e, "task_count").unwrap_or(1))
        .set_launch_type(opt_str(e, "launch_type").map(LaunchType::from))
        .set_platform_version(opt_str(e, "platform_version").map(str::to_string))
        .set_group(opt_str(e, "group").map(str::to_string))
        .enable_ecs_managed_tags(bool_or(e, "enable_ecs_managed_tags", false))
        .enable_execute_command(bool_or(e, "enable_execute_command", false))
        .set_propagate_tags(opt_str(e, "propagate_tags").map(PropagateTags::from))
        .set_network_configuration(network)
        .set_placement_constraints((!constraints.is_empty()).then_some(constraints))
        .set_capacity_provider_strategy((!strategy.is_empty()).then_some(strategy))
        .set_tags((!tags.is_empty()).then_some(tags))
        .build()
        .map_err(build_err)
}

/// The SDK target `d` asks for, with the ID `target_id`.
fn sdk_target(d: &Value, target_id: &str) -> Result<Target, ProviderError> {
    let transformer = blocks(d, "input_transformer")
        .first()
        .map(|x| {
            let paths: HashMap<String, String> = str_map(x, "input_paths").into_iter().collect();
            InputTransformer::builder()
                .set_input_paths_map((!paths.is_empty()).then_some(paths))
                .input_template(opt_str(x, "input_template").unwrap_or_default())
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let ecs = blocks(d, "ecs_target").first().map(sdk_ecs).transpose()?;
    let retry_policy = blocks(d, "retry_policy").first().map(|r| {
        RetryPolicy::builder()
            .set_maximum_event_age_in_seconds(int(r, "maximum_event_age_in_seconds"))
            .set_maximum_retry_attempts(int(r, "maximum_retry_attempts"))
            .build()
    });
    let dlq = blocks(d, "dead_letter_config").first().map(|x| {
        DeadLetterConfig::builder()
            .set_arn(opt_str(x, "arn").map(str::to_string))
            .build()
    });
    let sqs = blocks(d, "sqs_target").first().map(|x| {
        SqsParameters::builder()
            .set_message_group_id(opt_str(x, "message_group_id").map(str::to_string))
            .build()
    });
    Target::builder()
        .id(target_id)
        .arn(required(d, "arn", EVENTS, "PutTargets")?)
        .set_role_arn(opt_str(d, "role_arn").map(str::to_string))
        .set_input(opt_str(d, "input").map(str::to_string))
        .set_input_path(opt_str(d, "input_path").map(str::to_string))
        .set_input_transformer(transformer)
        .set_ecs_parameters(ecs)
        .set_retry_policy(retry_policy)
        .set_dead_letter_config(dlq)
        .set_sqs_parameters(sqs)
        .build()
        .map_err(build_err)
}

/// The targets of one rule (one `ListTargetsByRule` chain); empty when the
/// rule is gone.
async fn list_targets(aws: &Aws, bus: &str, rule: &str) -> Result<Vec<Target>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let call = aws
            .events
            .list_targets_by_rule()
            .rule(rule)
            .event_bus_name(bus)
            .set_next_token(next.take());
        let Some(page) = found(call.send().await.aws(EVENTS, "ListTargetsByRule"))? else {
            return Ok(Vec::new());
        };
        out.extend(page.targets().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(out)
}

async fn read_one(aws: &Aws, p: &Place, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    Ok(list_targets(aws, &p.bus, &p.rule)
        .await?
        .iter()
        .find(|t| t.id() == p.target_id)
        .map(|t| target_attrs(t, p, args)))
}

/// `PutTargets` of one target; its per-entry failure is an error.
async fn put(aws: &Aws, p: &Place, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutTargets";
    let target = sdk_target(d, &p.target_id)?;
    let call = aws
        .events
        .put_targets()
        .rule(&p.rule)
        .event_bus_name(&p.bus)
        .targets(target);
    // A rule or role created a moment ago may not be visible yet.
    let out = retry(deadline, || async { call.clone().send().await.aws(EVENTS, OP) }).await?;
    if let Some(failed) = out.failed_entries().first() {
        return Err(invalid(
            EVENTS,
            OP,
            format!(
                "target {} of rule {}: {}: {}",
                p.target_id,
                p.rule,
                failed.error_code().unwrap_or("failed"),
                failed.error_message().unwrap_or("")
            ),
        ));
    }
    Ok(())
}

/// Reads until the target shows the ARN `d` asks for.
async fn read_settled(
    aws: &Aws,
    p: &Place,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let arn = opt_str(d, "arn").unwrap_or_default().to_string();
    until(
        deadline,
        "ListTargetsByRule",
        &format!("target {} of rule {} to be listed", p.target_id, p.rule),
        || async {
            let v = read_one(aws, p, Some(d)).await?;
            Ok(v.filter(|v| opt_str(v, "arn") == Some(arn.as_str())))
        },
    )
    .await
}

fn place_of_desired(d: &Value, target_id: String) -> Result<Place, ProviderError> {
    Ok(Place {
        bus: bus_or_default(opt_str(d, "event_bus_name")).to_string(),
        rule: required(d, "rule", EVENTS, "PutTargets")?.to_string(),
        target_id,
    })
}

pub(crate) struct CloudwatchEventTarget;

#[async_trait]
impl ResourceHandler for CloudwatchEventTarget {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_rule: BTreeMap<(String, String), Vec<(Place, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            if let Some(p) = place_of(k) {
                by_rule
                    .entry((p.bus.clone(), p.rule.clone()))
                    .or_default()
                    .push((p, k));
            }
        }
        let reads = by_rule.iter().map(|((bus, rule), wanted)| async move {
            let targets = list_targets(aws, bus, rule).await?;
            let mut live = Vec::new();
            for (p, k) in wanted {
                if let Some(t) = targets.iter().find(|t| t.id() == p.target_id) {
                    live.push(LiveResource {
                        id: k.id.clone(),
                        address: Some(k.address.clone()),
                        attrs: target_attrs(t, p, Some(&k.attrs)),
                    });
                }
            }
            Ok::<_, ProviderError>(live)
        });
        let mut out = Vec::new();
        for r in bounded_all(reads).await {
            out.extend(r?);
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let target_id = name_or_generated(d, "target_id", "", &req.idempotency_token, "stackd-");
        let p = place_of_desired(d, target_id)?;
        // PutTargets would overwrite a target of this ID. Targets carry no
        // tags nor creation time: one is taken as this create's only when an
        // earlier attempt of it may have run (a pending record) and it
        // points at the ARN asked for.
        if let Some(existing) = read_one(aws, &p, Some(d)).await? {
            let same_arn = opt_str(&existing, "arn") == opt_str(d, "arn");
            if !(same_arn && req.pending_since.is_some()) {
                return Err(invalid(
                    EVENTS,
                    "PutTargets",
                    format!(
                        "rule {:?} already has a target {:?} that is not in this stack's state; \
                         `stackd import` it, or choose another target_id",
                        p.rule, p.target_id
                    ),
                ));
            }
            tracing::info!(target = %p.target_id, "adopting the event target an earlier attempt created");
        }
        put(aws, &p, d, &deadline).await?;
        read_settled(aws, &p, d, &deadline)
            .await
            .map_err(|e| after_create(&p.target_id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        update_id(req.id.as_deref(), EVENTS, "PutTargets")?;
        let d = &req.desired;
        let target_id = opt_str(d, "target_id")
            .or_else(|| req.prior.as_ref().and_then(|p| opt_str(p, "target_id")))
            .ok_or_else(|| gone(EVENTS, "ListTargetsByRule", req.id.as_deref().unwrap_or("")))?
            .to_string();
        let p = place_of_desired(d, target_id)?;
        put(aws, &p, d, &deadline).await?;
        read_settled(aws, &p, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let p = place_of(&known)
            .ok_or_else(|| invalid(EVENTS, "RemoveTargets", "the rule and target ID are not known"))?;
        let force = bool_or(&req.prior, "force_destroy", false);
        // Sent once: a rule already gone has no target left to remove.
        ignore_gone(
            aws.events
                .remove_targets()
                .rule(&p.rule)
                .event_bus_name(&p.bus)
                .ids(&p.target_id)
                .force(force)
                .send()
                .await
                .aws(EVENTS, "RemoveTargets"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_import_ids_are_terraforms() {
        let p = Place {
            bus: "default".into(),
            rule: "nightly".into(),
            target_id: "run-task".into(),
        };
        assert_eq!(target_id_of(&p), "nightly-run-task");
        assert_eq!(parse_import_id("nightly/run-task"), Some(p.clone()));
        let q = Place {
            bus: "orders".into(),
            ..p
        };
        assert_eq!(target_id_of(&q), "orders-nightly-run-task");
        assert_eq!(parse_import_id("orders/nightly/run-task"), Some(q));
        assert_eq!(parse_import_id("nightly-run-task"), None);
        assert_eq!(parse_import_id("a//b"), None);
    }

    #[test]
    fn an_ecs_target_round_trips_through_the_sdk_shape() {
        let d = Value::map([
            ("rule", Value::from("nightly")),
            ("arn", Value::from("arn:aws:ecs:us-east-1:1:cluster/app")),
            (
                "ecs_target",
                Value::List(vec![Value::map([
                    ("task_definition_arn", Value::from("arn:aws:ecs:us-east-1:1:task-definition/app:3")),
                    ("task_count", Value::from(2)),
                    ("launch_type", Value::from("FARGATE")),
                    (
                        "network_configuration",
                        Value::List(vec![Value::map([
                            ("subnets", Value::List(vec![Value::from("subnet-1")])),
                            ("assign_public_ip", Value::Bool(true)),
                        ])]),
                    ),
                ])]),
            ),
        ]);
        let t = sdk_target(&d, "run").unwrap();
        let p = Place {
            bus: "default".into(),
            rule: "nightly".into(),
            target_id: "run".into(),
        };
        let v = target_attrs(&t, &p, None);
        let ecs = &v.get("ecs_target").and_then(Value::as_list).unwrap()[0];
        assert_eq!(ecs.get("task_count"), Some(&Value::from(2)));
        assert_eq!(ecs.get("launch_type"), Some(&Value::from("FARGATE")));
        let net = &ecs.get("network_configuration").and_then(Value::as_list).unwrap()[0];
        assert_eq!(net.get("assign_public_ip"), Some(&Value::Bool(true)));
        assert_eq!(v.get("id"), Some(&Value::from("nightly-run")));
    }
}
