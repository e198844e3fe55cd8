//! `aws_autoscaling_group`: an EC2 Auto Scaling group launching instances
//! from a launch template into subnets. Its ID, and import ID, is its name.
//!
//! Tags are Terraform's `tag` blocks (key, value, `propagate_at_launch`).
//! The type takes no `tags` map, so stackd's ownership tags are added to
//! the group by the create itself, never propagated to its instances (they
//! are the group's, not `aws_instance` objects of the stack), kept out of
//! the `tag` blocks, and shown with every other tag in the computed
//! `tags_all`.
//!
//! A create waits, as Terraform does, until the group has its desired (or
//! minimum) number of instances in service, at most
//! `wait_for_capacity_timeout` (`"0"` skips the wait). A delete with
//! `force_delete` terminates the instances with the group; without it the
//! group is first scaled to zero and its instances waited for. Either way
//! it waits until the group is gone.
//!
//! A refresh is one `DescribeAutoScalingGroups` chain (the stack's groups by
//! tag, with their tags and instances), and one call by name for known
//! groups that do not carry the stack's tags (imported).

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    AutoScalingGroup, Filter, LaunchTemplateSpecification, LifecycleState, Tag,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest, ADDRESS_TAG, STACK_ID_TAG, STACK_TAG,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{busy_is_transient, ignore_missing, AUTOSCALING, GROUP};
use crate::args::{blocks, bool_or, list_or_null, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, echo, gone, invalid, name_or_generated, ours, tags_attr, update_id,
    AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_list, known_str, Findings};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ec2::{
    IMAGE, INSTANCE, KEY_PAIR, LAUNCH_TEMPLATE, NETWORK_INTERFACE, SECURITY_GROUP, SUBNET, VOLUME,
};
use crate::services::iam::{pass_role, AUTOSCALING_SERVICE_LINKED_ROLE};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_autoscaling_group`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_autoscaling_group",
    schema,
    handler: &AutoscalingGroup,
    grants: &[
        // The service makes its service-linked role on first use in an
        // account.
        g(&["iam:CreateServiceLinkedRole"], &[AUTOSCALING_SERVICE_LINKED_ROLE]),
        g(
            &[
                "autoscaling:DescribeAutoScalingGroups",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeSubnets",
            ],
            ANY,
        ),
        g(
            &[
                "autoscaling:AttachLoadBalancerTargetGroups",
                "autoscaling:CreateAutoScalingGroup",
                "autoscaling:CreateOrUpdateTags",
                "autoscaling:DeleteAutoScalingGroup",
                "autoscaling:DeleteTags",
                "autoscaling:DetachLoadBalancerTargetGroups",
                "autoscaling:UpdateAutoScalingGroup",
            ],
            &[GROUP],
        ),
        // Creating or updating a group with a launch template launches in
        // the caller's name: it must be allowed to run the template's
        // instances and pass their role.
        g(
            &["ec2:RunInstances"],
            &[
                IMAGE,
                INSTANCE,
                KEY_PAIR,
                LAUNCH_TEMPLATE,
                NETWORK_INTERFACE,
                SECURITY_GROUP,
                SUBNET,
                VOLUME,
            ],
        ),
        g(&["ec2:CreateTags"], &[INSTANCE, VOLUME]),
        pass_role(&["ec2.amazonaws.com"]),
    ],
    source: file!(),
};

/// Terraform's default wait for capacity.
const DEFAULT_CAPACITY_WAIT: &str = "10m";

fn launch_template_block() -> BlockSchema {
    BlockSchema::new("launch_template", Nesting::Single)
        .attr(AttrSchema::optional_computed("id", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(
            AttrSchema::optional_computed("version", AttrType::String)
                .doc("A version number, `$Latest` or `$Default` (AWS's default)."),
        )
}

fn tag_block() -> BlockSchema {
    BlockSchema::new("tag", Nesting::Set)
        .attr(AttrSchema::required("key", AttrType::String))
        .attr(AttrSchema::required("value", AttrType::String))
        .attr(AttrSchema::required("propagate_at_launch", AttrType::Bool))
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_autoscaling_group")
        .doc("An EC2 Auto Scaling group.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The group's name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(AttrSchema::required("min_size", AttrType::Number))
        .attr(AttrSchema::required("max_size", AttrType::Number))
        .attr(AttrSchema::optional_computed(
            "desired_capacity",
            AttrType::Number,
        ))
        .attr(
            AttrSchema::optional_computed("vpc_zone_identifier", AttrType::set_of(AttrType::String))
                .doc("The subnets to launch instances in."),
        )
        .attr(AttrSchema::optional_computed(
            "availability_zones",
            AttrType::set_of(AttrType::String),
        ))
        .block(launch_template_block())
        .attr(
            AttrSchema::optional("launch_configuration", AttrType::String)
                .doc("The launch configuration's name (instead of a launch template)."),
        )
        .attr(AttrSchema::optional_computed("health_check_type", AttrType::String))
        .attr(AttrSchema::optional("health_check_grace_period", AttrType::Number).default(300))
        .attr(AttrSchema::optional_computed("default_cooldown", AttrType::Number))
        .attr(AttrSchema::optional_computed(
            "target_group_arns",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional_computed(
            "termination_policies",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("protect_from_scale_in", AttrType::Bool).default(false))
        .attr(AttrSchema::optional_computed("capacity_rebalance", AttrType::Bool))
        .attr(AttrSchema::optional_computed(
            "service_linked_role_arn",
            AttrType::String,
        ))
        .block(tag_block())
        .attr(
            AttrSchema::optional("force_delete", AttrType::Bool)
                .default(false)
                .doc("Delete the group without waiting for its instances to terminate."),
        )
        .attr(
            AttrSchema::optional("wait_for_capacity_timeout", AttrType::String)
                .default(DEFAULT_CAPACITY_WAIT)
                .doc("How long a create waits for the instances to be in service; \"0\" skips it."),
        )
        .attr(
            AttrSchema::optional("min_elb_capacity", AttrType::Number)
                .doc("Wait for this many instances in service at create (instead of the desired capacity)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(
            AttrSchema::computed("tags_all", AttrType::map_of(AttrType::String))
                .doc("Every tag of the group, stackd's ownership tags included (stackd's own attribute)."),
        )
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

/// stackd's ownership tag keys, kept out of the `tag` blocks.
fn is_ownership_tag(key: &str) -> bool {
    matches!(key, STACK_TAG | STACK_ID_TAG | ADDRESS_TAG) || key.starts_with("aws:")
}

fn tags_of(g: &AutoScalingGroup) -> BTreeMap<String, String> {
    g.tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

fn group_attrs(g: &AutoScalingGroup, recorded: Option<&Value>) -> Value {
    let name = g.auto_scaling_group_name().unwrap_or_default();
    let tag_blocks: Vec<Value> = g
        .tags()
        .iter()
        .filter(|t| t.key().is_some_and(|k| !is_ownership_tag(k)))
        .map(|t| {
            Value::map([
                ("key", s(t.key())),
                ("value", Value::from(t.value().unwrap_or(""))),
                ("propagate_at_launch", Value::Bool(t.propagate_at_launch().unwrap_or(false))),
            ])
        })
        .collect();
    let template = g.launch_template().map(|t| {
        Value::List(vec![Value::map([
            ("id", s(t.launch_template_id())),
            ("name", s(t.launch_template_name())),
            ("version", s(t.version())),
        ])])
    });
    let subnets = g
        .vpc_zone_identifier()
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    let prefix = recorded
        .and_then(|r| opt_str(r, "name_prefix"))
        .filter(|p| name.starts_with(p));
    let opt = |n: Option<i32>| n.map_or(Value::Null, num);
    Value::map([
        ("id", s(Some(name))),
        ("name", s(Some(name))),
        ("name_prefix", s(prefix)),
        ("arn", s(g.auto_scaling_group_arn())),
        ("min_size", opt(g.min_size())),
        ("max_size", opt(g.max_size())),
        ("desired_capacity", opt(g.desired_capacity())),
        ("vpc_zone_identifier", set_or_null(subnets)),
        ("availability_zones", set_or_null(g.availability_zones().to_vec())),
        ("launch_template", template.unwrap_or(Value::Null)),
        ("launch_configuration", s(g.launch_configuration_name())),
        ("health_check_type", s(g.health_check_type())),
        ("health_check_grace_period", opt(g.health_check_grace_period())),
        ("default_cooldown", opt(g.default_cooldown())),
        ("target_group_arns", set_or_null(g.target_group_arns().to_vec())),
        ("termination_policies", list_or_null(g.termination_policies().to_vec())),
        (
            "protect_from_scale_in",
            Value::Bool(g.new_instances_protected_from_scale_in().unwrap_or(false)),
        ),
        ("capacity_rebalance", Value::Bool(g.capacity_rebalance().unwrap_or(false))),
        ("service_linked_role_arn", s(g.service_linked_role_arn())),
        (
            "tag",
            if tag_blocks.is_empty() {
                Value::Null
            } else {
                Value::List(crate::args::sort_blocks(tag_blocks))
            },
        ),
        // What AWS does not keep: as recorded, else Terraform's defaults.
        ("force_delete", echo(recorded, "force_delete", Value::Bool(false))),
        (
            "wait_for_capacity_timeout",
            echo(recorded, "wait_for_capacity_timeout", Value::from(DEFAULT_CAPACITY_WAIT)),
        ),
        ("min_elb_capacity", echo(recorded, "min_elb_capacity", Value::Null)),
        ("tags_all", tags_attr(tags_of(g))),
    ])
}

/// Groups by filters or names (one paginated chain).
async fn describe(
    aws: &Aws,
    filters: Vec<Filter>,
    names: Vec<String>,
) -> Result<Vec<AutoScalingGroup>, ProviderError> {
    aws.autoscaling
        .describe_auto_scaling_groups()
        .set_filters((!filters.is_empty()).then_some(filters))
        .set_auto_scaling_group_names((!names.is_empty()).then_some(names))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(AUTOSCALING, "DescribeAutoScalingGroups")
}

/// One group by name; `None` when there is none (or it is being deleted).
async fn describe_one(aws: &Aws, name: &str) -> Result<Option<AutoScalingGroup>, ProviderError> {
    Ok(describe(aws, Vec::new(), vec![name.to_string()])
        .await?
        .into_iter()
        .find(|g| g.auto_scaling_group_name() == Some(name)))
}

fn is_deleting(g: &AutoScalingGroup) -> bool {
    g.status().is_some_and(|s| s.starts_with("Delete"))
}

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).and_then(|n| i32::try_from(n).ok())
}

/// The `launch_template` block as the API takes it.
fn template_spec(d: &Value) -> Option<LaunchTemplateSpecification> {
    let t = blocks(d, "launch_template").first()?;
    let id = opt_str(t, "id");
    Some(
        LaunchTemplateSpecification::builder()
            .set_launch_template_id(id.map(str::to_string))
            // Both may be known after a create: the ID wins, as AWS takes one.
            .set_launch_template_name(
                opt_str(t, "name").filter(|_| id.is_none()).map(str::to_string),
            )
            .set_version(opt_str(t, "version").map(str::to_string))
            .build(),
    )
}

/// The `tag` blocks as API tags of group `name`.
fn block_tags(d: &Value, name: &str) -> Vec<Tag> {
    blocks(d, "tag")
        .iter()
        .filter_map(|t| {
            Some(
                Tag::builder()
                    .resource_id(name)
                    .resource_type("auto-scaling-group")
                    .key(opt_str(t, "key")?)
                    .value(t.get("value").and_then(Value::as_str).unwrap_or(""))
                    .propagate_at_launch(bool_or(t, "propagate_at_launch", false))
                    .build(),
            )
        })
        .collect()
}

/// The tags a create gives the group: the `tag` blocks and stackd's
/// ownership tags (never propagated).
fn create_tags(req: &ChangeRequest, name: &str) -> Vec<Tag> {
    let mut tags = block_tags(&req.desired, name);
    let address = req.address.to_tag_value();
    for (k, v) in [
        (STACK_TAG, req.owner.name.as_str()),
        (STACK_ID_TAG, req.owner.id.as_str()),
        (ADDRESS_TAG, address.as_str()),
    ] {
        tags.retain(|t| t.key() != Some(k));
        tags.push(
            Tag::builder()
                .resource_id(name)
                .resource_type("auto-scaling-group")
                .key(k)
                .value(v)
                .propagate_at_launch(false)
                .build(),
        );
    }
    tags
}

/// The instances in service of a group.
fn in_service(g: &AutoScalingGroup) -> usize {
    g.instances()
        .iter()
        .filter(|i| i.lifecycle_state() == Some(&LifecycleState::InService))
        .count()
}

/// Waits, as Terraform does, until the group has `min_elb_capacity`, else
/// its desired capacity (else its minimum) of instances in service, at
/// most `wait_for_capacity_timeout` and the operation's deadline.
async fn wait_for_capacity(
    aws: &Aws,
    d: &Value,
    name: &str,
    op_timeout: Duration,
) -> Result<(), ProviderError> {
    let timeout = opt_str(d, "wait_for_capacity_timeout").unwrap_or(DEFAULT_CAPACITY_WAIT);
    let wait = stackd_engine::instance::parse_duration(timeout).map_err(|e| {
        invalid(
            AUTOSCALING,
            "DescribeAutoScalingGroups",
            format!("wait_for_capacity_timeout {timeout:?}: {e}"),
        )
    })?;
    if wait.is_zero() {
        return Ok(());
    }
    let wanted = opt_int(d, "min_elb_capacity")
        .or_else(|| opt_int(d, "desired_capacity"))
        .or_else(|| opt_int(d, "min_size"))
        .unwrap_or(0)
        .max(0) as usize;
    let deadline = Deadline::after(wait.min(op_timeout));
    until(
        &deadline,
        "DescribeAutoScalingGroups",
        &format!("{wanted} instances of group {name} to be in service"),
        || async {
            let g = describe_one(aws, name)
                .await?
                .ok_or_else(|| gone(AUTOSCALING, "DescribeAutoScalingGroups", name))?;
            Ok((in_service(&g) >= wanted).then_some(()))
        },
    )
    .await
}

/// Reads the group back in schema shape.
async fn read(aws: &Aws, name: &str, recorded: &Value) -> Result<Value, ProviderError> {
    describe_one(aws, name)
        .await?
        .map(|g| group_attrs(&g, Some(recorded)))
        .ok_or_else(|| gone(AUTOSCALING, "DescribeAutoScalingGroups", name))
}

/// A name already taken: adopted when the group carries this stack's tags
/// for this address and already is what the spec asks for in what forces
/// replacement; refused otherwise.
async fn adopt(aws: &Aws, req: &ChangeRequest, name: &str, e: ProviderError) -> Result<(), ProviderError> {
    const OP: &str = "CreateAutoScalingGroup";
    let Some(existing) = describe_one(aws, name).await? else {
        return Err(e);
    };
    let tags = tags_of(&existing);
    if !ours(&tags, &req.owner, &req.address) {
        return Err(invalid(AUTOSCALING, OP, conflict("Auto Scaling group", name, &tags, &req.owner)));
    }
    let live = group_attrs(&existing, Some(&req.desired));
    crate::elbv2_ecs_util::check_adoptable(&schema(), &req.desired, &live, OP, "Auto Scaling group")?;
    tracing::info!(name, "adopting the Auto Scaling group an earlier attempt made");
    Ok(())
}

pub(crate) struct AutoscalingGroup;

#[async_trait]
impl ResourceHandler for AutoscalingGroup {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let (key, value) = req.owner.filter_tag();
        let filter = Filter::builder()
            .name(format!("tag:{key}"))
            .values(value)
            .build();
        let mut groups = describe(aws, vec![filter], Vec::new()).await?;
        groups.retain(|g| req.owner.owns(|k| g.tags().iter().find(|t| t.key() == Some(k)).and_then(|t| t.value())));
        let seen: HashSet<String> = groups
            .iter()
            .filter_map(|g| g.auto_scaling_group_name().map(str::to_string))
            .collect();
        let missing = crate::refresh::missing_ids(&req.known, &seen);
        for chunk in missing.chunks(50) {
            groups.extend(describe(aws, Vec::new(), chunk.to_vec()).await?);
        }
        Ok(groups
            .iter()
            .filter(|g| !is_deleting(g))
            .filter_map(|g| {
                let id = g.auto_scaling_group_name()?.to_string();
                let known = req.known.iter().find(|k| k.id == id).map(|k: &KnownResource| &k.attrs);
                Some(LiveResource {
                    address: address_of(&id, &tags_of(g), &req.known),
                    attrs: group_attrs(g, known),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateAutoScalingGroup";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "terraform-");
        let subnets = str_list(d, "vpc_zone_identifier");
        let azs = str_list(d, "availability_zones");
        let targets = str_list(d, "target_group_arns");
        let policies = str_list(d, "termination_policies");
        let call = aws
            .autoscaling
            .create_auto_scaling_group()
            .auto_scaling_group_name(&name)
            .set_min_size(int(d, "min_size"))
            .set_max_size(int(d, "max_size"))
            .set_desired_capacity(int(d, "desired_capacity"))
            .set_vpc_zone_identifier((!subnets.is_empty()).then(|| subnets.join(",")))
            .set_availability_zones((!azs.is_empty()).then_some(azs))
            .set_launch_template(template_spec(d))
            .set_launch_configuration_name(opt_str(d, "launch_configuration").map(str::to_string))
            .set_health_check_type(opt_str(d, "health_check_type").map(str::to_string))
            .set_health_check_grace_period(int(d, "health_check_grace_period"))
            .set_default_cooldown(int(d, "default_cooldown"))
            .set_target_group_arns((!targets.is_empty()).then_some(targets))
            .set_termination_policies((!policies.is_empty()).then_some(policies))
            .new_instances_protected_from_scale_in(bool_or(d, "protect_from_scale_in", false))
            .set_capacity_rebalance(d.get("capacity_rebalance").and_then(Value::as_bool))
            .set_service_linked_role_arn(opt_str(d, "service_linked_role_arn").map(str::to_string))
            .set_tags(Some(create_tags(req, &name)));
        // A launch template or subnet made a moment ago may not be visible yet.
        let created = retry(&deadline, || async {
            call.clone().send().await.aws(AUTOSCALING, OP).map_err(busy_is_transient)
        })
        .await;
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "AlreadyExists") => adopt(aws, req, &name, e).await?,
            Err(e) => return Err(e),
        }
        async {
            wait_for_capacity(aws, d, &name, req.timeout).await?;
            read(aws, &name, d).await
        }
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A group of the same (known) name and the subnets are looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        const ACTION: &str = "autoscaling:DescribeAutoScalingGroups";
        if let Some(name) = known_str(d, "name") {
            if let Some(Some(g)) = findings.read(ACTION, describe_one(aws, name).await)? {
                findings.name_in_use(req, ACTION, "Auto Scaling group", name, &tags_of(&g));
            }
        }
        if let Some(subnets) = known_list(d, "vpc_zone_identifier") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Subnet, &subnets).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "UpdateAutoScalingGroup";
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), AUTOSCALING, OP)?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let when = |k: &str| changed(k).then_some(());
        let group_args = [
            "min_size",
            "max_size",
            "desired_capacity",
            "vpc_zone_identifier",
            "availability_zones",
            "launch_template",
            "launch_configuration",
            "health_check_type",
            "health_check_grace_period",
            "default_cooldown",
            "termination_policies",
            "protect_from_scale_in",
            "capacity_rebalance",
            "service_linked_role_arn",
        ];
        if group_args.iter().any(|k| changed(k)) {
            let subnets = str_list(d, "vpc_zone_identifier");
            let call = aws
                .autoscaling
                .update_auto_scaling_group()
                .auto_scaling_group_name(name)
                .set_min_size(when("min_size").and(int(d, "min_size")))
                .set_max_size(when("max_size").and(int(d, "max_size")))
                .set_desired_capacity(when("desired_capacity").and(int(d, "desired_capacity")))
                .set_vpc_zone_identifier(
                    when("vpc_zone_identifier").map(|_| subnets.join(",")),
                )
                .set_availability_zones(
                    when("availability_zones").map(|_| str_list(d, "availability_zones")),
                )
                .set_launch_template(when("launch_template").and(template_spec(d)))
                .set_launch_configuration_name(
                    when("launch_configuration")
                        .and(opt_str(d, "launch_configuration").map(str::to_string)),
                )
                .set_health_check_type(
                    when("health_check_type").and(opt_str(d, "health_check_type").map(str::to_string)),
                )
                .set_health_check_grace_period(
                    when("health_check_grace_period").and(int(d, "health_check_grace_period")),
                )
                .set_default_cooldown(when("default_cooldown").and(int(d, "default_cooldown")))
                .set_termination_policies(
                    when("termination_policies").map(|_| str_list(d, "termination_policies")),
                )
                .set_new_instances_protected_from_scale_in(
                    when("protect_from_scale_in").map(|_| bool_or(d, "protect_from_scale_in", false)),
                )
                .set_capacity_rebalance(
                    when("capacity_rebalance").and(d.get("capacity_rebalance").and_then(Value::as_bool)),
                )
                .set_service_linked_role_arn(
                    when("service_linked_role_arn")
                        .and(opt_str(d, "service_linked_role_arn").map(str::to_string)),
                );
            retry(&deadline, || async {
                call.clone().send().await.aws(AUTOSCALING, OP).map_err(busy_is_transient)
            })
            .await?;
        }
        if changed("target_group_arns") {
            update_target_groups(aws, name, &prior, d, &deadline).await?;
        }
        if changed("tag") {
            update_tags(aws, name, &prior, d, &deadline).await?;
        }
        read(aws, name, d).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteAutoScalingGroup";
        let deadline = Deadline::after(req.timeout);
        let name = req.id.as_str();
        let force = bool_or(&req.prior, "force_delete", false);
        if !force {
            // Scale to zero and let the instances go first, as Terraform
            // does: AWS refuses to delete a group that still has some.
            let drained = retry(&deadline, || async {
                aws.autoscaling
                    .update_auto_scaling_group()
                    .auto_scaling_group_name(name)
                    .min_size(0)
                    .max_size(0)
                    .desired_capacity(0)
                    .send()
                    .await
                    .aws(AUTOSCALING, "UpdateAutoScalingGroup")
                    .map_err(busy_is_transient)
                    .map(|_| ())
            })
            .await;
            ignore_missing(drained)?;
            until(
                &deadline,
                "DescribeAutoScalingGroups",
                &format!("the instances of group {name} to terminate"),
                || async {
                    Ok(match describe_one(aws, name).await? {
                        Some(g) if !g.instances().is_empty() => None,
                        _ => Some(()),
                    })
                },
            )
            .await?;
        }
        let deleted = retry(&deadline, || async {
            aws.autoscaling
                .delete_auto_scaling_group()
                .auto_scaling_group_name(name)
                .force_delete(force)
                .send()
                .await
                .aws(AUTOSCALING, OP)
                .map_err(busy_is_transient)
                .map(|_| ())
        })
        .await;
        ignore_missing(deleted)?;
        until(
            &deadline,
            "DescribeAutoScalingGroups",
            &format!("group {name} to be deleted"),
            || async { Ok(describe_one(aws, name).await?.is_none().then_some(())) },
        )
        .await
    }
}

/// Attaches and detaches target groups from `prior` to `desired`.
async fn update_target_groups(
    aws: &Aws,
    name: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let before: HashSet<String> = str_list(prior, "target_group_arns").into_iter().collect();
    let after: HashSet<String> = str_list(desired, "target_group_arns").into_iter().collect();
    let detach: Vec<String> = before.difference(&after).cloned().collect();
    let attach: Vec<String> = after.difference(&before).cloned().collect();
    if !detach.is_empty() {
        retry(deadline, || async {
            aws.autoscaling
                .detach_load_balancer_target_groups()
                .auto_scaling_group_name(name)
                .set_target_group_arns(Some(detach.clone()))
                .send()
                .await
                .aws(AUTOSCALING, "DetachLoadBalancerTargetGroups")
        })
        .await?;
    }
    if !attach.is_empty() {
        retry(deadline, || async {
            aws.autoscaling
                .attach_load_balancer_target_groups()
                .auto_scaling_group_name(name)
                .set_target_group_arns(Some(attach.clone()))
                .send()
                .await
                .aws(AUTOSCALING, "AttachLoadBalancerTargetGroups")
        })
        .await?;
    }
    Ok(())
}

/// Brings the `tag` blocks from `prior` to `desired`: dropped keys deleted,
/// new and changed ones set. Ownership tags are never touched.
async fn update_tags(
    aws: &Aws,
    name: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let before = block_tags(prior, name);
    let after = block_tags(desired, name);
    let removed: Vec<Tag> = before
        .iter()
        .filter(|t| !after.iter().any(|a| a.key() == t.key()))
        .filter(|t| t.key().is_some_and(|k| !is_ownership_tag(k)))
        .cloned()
        .collect();
    let set: Vec<Tag> = after
        .iter()
        .filter(|t| t.key().is_some_and(|k| !is_ownership_tag(k)))
        .filter(|t| !before.contains(t))
        .cloned()
        .collect();
    if !removed.is_empty() {
        retry(deadline, || async {
            aws.autoscaling
                .delete_tags()
                .set_tags(Some(removed.clone()))
                .send()
                .await
                .aws(AUTOSCALING, "DeleteTags")
        })
        .await?;
    }
    if !set.is_empty() {
        retry(deadline, || async {
            aws.autoscaling
                .create_or_update_tags()
                .set_tags(Some(set.clone()))
                .send()
                .await
                .aws(AUTOSCALING, "CreateOrUpdateTags")
        })
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_autoscaling::types::{Instance, TagDescription};

    fn tag(k: &str, v: &str, propagate: bool) -> TagDescription {
        TagDescription::builder()
            .key(k)
            .value(v)
            .propagate_at_launch(propagate)
            .build()
    }

    #[test]
    fn live_group_is_in_schema_shape_without_ownership_tags_in_tag_blocks() {
        let g = AutoScalingGroup::builder()
            .auto_scaling_group_name("web")
            .auto_scaling_group_arn("arn:aws:autoscaling:us-east-1:1:autoScalingGroup:x:autoScalingGroupName/web")
            .min_size(1)
            .max_size(3)
            .desired_capacity(2)
            .vpc_zone_identifier("subnet-b,subnet-a")
            .launch_template(
                LaunchTemplateSpecification::builder()
                    .launch_template_id("lt-1")
                    .launch_template_name("web")
                    .version("$Latest")
                    .build(),
            )
            .tags(tag("Team", "web", true))
            .tags(tag(STACK_ID_TAG, "id-1", false))
            .instances(
                Instance::builder()
                    .instance_id("i-1")
                    .lifecycle_state(LifecycleState::InService)
                    .build(),
            )
            .build();
        let v = group_attrs(&g, None);
        assert_eq!(
            v.get("vpc_zone_identifier"),
            Some(&Value::from(vec!["subnet-a", "subnet-b"]))
        );
        let tags = blocks(&v, "tag");
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].get("key"), Some(&Value::from("Team")));
        assert_eq!(
            v.get("tags_all").and_then(|t| t.get(STACK_ID_TAG)),
            Some(&Value::from("id-1"))
        );
        assert_eq!(v.get("wait_for_capacity_timeout"), Some(&Value::from("10m")));
        assert_eq!(in_service(&g), 1);
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn the_launch_template_is_named_by_id_when_both_are_known() {
        let d = Value::map([(
            "launch_template",
            Value::List(vec![Value::map([
                ("id", Value::from("lt-1")),
                ("name", Value::from("web")),
                ("version", Value::from("$Latest")),
            ])]),
        )]);
        let spec = template_spec(&d).expect("a template");
        assert_eq!(spec.launch_template_id(), Some("lt-1"));
        assert_eq!(spec.launch_template_name(), None);
        assert_eq!(spec.version(), Some("$Latest"));
    }
}
