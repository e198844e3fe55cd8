//! `aws_lb_target_group`: an ELBv2 target group (for ECS on Fargate, of
//! target type `ip`).
//!
//! Refresh lists the region's target groups (one paginated chain), reads
//! their tags 20 ARNs a call, and reads `DescribeTargetGroupAttributes` per
//! owned target group (no batch form exists), concurrently.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::operation::create_target_group::builders::CreateTargetGroupFluentBuilder;
use aws_sdk_elasticloadbalancingv2::operation::modify_target_group::builders::ModifyTargetGroupFluentBuilder;
use aws_sdk_elasticloadbalancingv2::types::{
    self as elb, Matcher, ProtocolEnum, TargetGroupAttribute, TargetGroupIpAddressTypeEnum,
    TargetTypeEnum,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::TARGET_GROUP;
use crate::args::{blocks, bool_or, hex_digest, num, opt_int, opt_str, s, set_or_null};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, at_most_one, check_adoptable, conflict, elbv2_describe_tags, elbv2_reconcile_tags,
    elbv2_tags, elbv2_tags_of, gone, invalid, is_owned, made_for, read_each, tags_value,
    SdkResultExt, TagMap, ELBV2,
};
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, Deadline};

const DEREGISTRATION_DELAY: &str = "deregistration_delay.timeout_seconds";
const DEFAULT_DEREGISTRATION_DELAY: i64 = 300;

fn health_check_block() -> BlockSchema {
    at_most_one(BlockSchema::new("health_check", Nesting::List))
        .computed_when_absent()
        .attr(AttrSchema::optional("enabled", AttrType::Bool).default(true))
        .attr(AttrSchema::optional("healthy_threshold", AttrType::Number).default(3))
        .attr(AttrSchema::optional("interval", AttrType::Number).default(30))
        .attr(AttrSchema::optional_computed("matcher", AttrType::String))
        .attr(AttrSchema::optional_computed("path", AttrType::String))
        .attr(AttrSchema::optional("port", AttrType::String).default("traffic-port"))
        .attr(AttrSchema::optional("protocol", AttrType::String).default("HTTP"))
        .attr(AttrSchema::optional_computed("timeout", AttrType::Number))
        .attr(AttrSchema::optional("unhealthy_threshold", AttrType::Number).default(3))
}

/// `aws_lb_target_group`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_lb_target_group",
    schema,
    handler: &LbTargetGroup,
    grants: &[
        g(
            &[
                "ec2:DescribeVpcs",
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
            ],
            ANY,
        ),
        g(
            &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateTargetGroup",
                "elasticloadbalancing:DeleteTargetGroup",
                "elasticloadbalancing:ModifyTargetGroup",
                "elasticloadbalancing:ModifyTargetGroupAttributes",
                "elasticloadbalancing:RemoveTags",
            ],
            &[TARGET_GROUP],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_lb_target_group")
        .alias("aws_alb_target_group")
        .doc("A target group of a load balancer.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The name (at most 32 characters); generated when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("A prefix for a generated unique name."),
        )
        .attr(
            AttrSchema::optional("port", AttrType::Number)
                .force_new()
                .doc("The port targets receive traffic on."),
        )
        .attr(
            AttrSchema::optional("protocol", AttrType::String)
                .force_new()
                .doc("`HTTP`, `HTTPS`, `TCP`, ..."),
        )
        .attr(
            AttrSchema::optional_computed("protocol_version", AttrType::String)
                .force_new()
                .doc("`HTTP1`, `HTTP2` or `GRPC` (HTTP/HTTPS only)."),
        )
        .attr(
            AttrSchema::optional("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC of the targets."),
        )
        .attr(
            AttrSchema::optional("target_type", AttrType::String)
                .default("instance")
                .force_new()
                .doc("`instance`, `ip` (Fargate tasks), `lambda` or `alb`."),
        )
        .attr(
            AttrSchema::optional_computed("ip_address_type", AttrType::String)
                .force_new()
                .doc("`ipv4` or `ipv6`."),
        )
        .attr(
            AttrSchema::optional("deregistration_delay", AttrType::Number)
                .default(DEFAULT_DEREGISTRATION_DELAY)
                .doc("Seconds to drain a deregistering target."),
        )
        .attr(
            AttrSchema::optional("slow_start", AttrType::Number)
                .default(0)
                .doc("Seconds a new target ramps up before a full share (0 is off)."),
        )
        .block(
            at_most_one(BlockSchema::new("stickiness", Nesting::List))
                .computed_when_absent()
                .attr(AttrSchema::required("type", AttrType::String).check(
                    stackd_spec::schema::Check::OneOf(vec![
                        "lb_cookie",
                        "app_cookie",
                        "source_ip",
                        "source_ip_dest_ip",
                        "source_ip_dest_ip_proto",
                    ]),
                ))
                .attr(AttrSchema::optional("enabled", AttrType::Bool).default(true))
                .attr(AttrSchema::optional("cookie_duration", AttrType::Number).default(86400))
                .attr(AttrSchema::optional("cookie_name", AttrType::String)),
        )
        .block(health_check_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .attr(
            AttrSchema::computed("arn_suffix", AttrType::String)
                .doc("`targetgroup/<name>/<id>`, for CloudWatch metrics."),
        )
        .attr(
            AttrSchema::computed("load_balancer_arns", AttrType::set_of(AttrType::String))
                .doc("The load balancers routing to this group."),
        )
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

/// `targetgroup/<name>/<id>`: the ARN from its resource type on.
pub(crate) fn tg_arn_suffix(arn: &str) -> Option<String> {
    arn.find(":targetgroup/").map(|i| arn[i + 1..].to_string())
}

type Attributes = HashMap<String, String>;

fn health_check_value(tg: &elb::TargetGroup) -> Value {
    let n = |v: Option<i32>| v.map(num).unwrap_or(Value::Null);
    Value::map([
        (
            "enabled",
            Value::Bool(tg.health_check_enabled().unwrap_or(true)),
        ),
        ("healthy_threshold", n(tg.healthy_threshold_count())),
        ("interval", n(tg.health_check_interval_seconds())),
        (
            "matcher",
            s(tg.matcher().and_then(|m| m.http_code().or(m.grpc_code()))),
        ),
        ("path", s(tg.health_check_path())),
        ("port", s(tg.health_check_port())),
        (
            "protocol",
            s(tg.health_check_protocol().map(ProtocolEnum::as_str)),
        ),
        ("timeout", n(tg.health_check_timeout_seconds())),
        ("unhealthy_threshold", n(tg.unhealthy_threshold_count())),
    ])
}

fn tg_attrs(
    tg: &elb::TargetGroup,
    attributes: &Attributes,
    tags: &TagMap,
    recorded: &Value,
) -> Value {
    let arn = tg.target_group_arn().unwrap_or_default();
    let name = tg.target_group_name().unwrap_or_default();
    let name_prefix = opt_str(recorded, "name_prefix").filter(|p| name.starts_with(p));
    Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("arn_suffix", Value::from(tg_arn_suffix(arn))),
        ("name", s(Some(name))),
        ("name_prefix", s(name_prefix)),
        ("port", tg.port().map(num).unwrap_or(Value::Null)),
        ("protocol", s(tg.protocol().map(ProtocolEnum::as_str))),
        ("protocol_version", s(tg.protocol_version())),
        ("vpc_id", s(tg.vpc_id())),
        (
            "target_type",
            s(Some(
                tg.target_type()
                    .map(TargetTypeEnum::as_str)
                    .unwrap_or("instance"),
            )),
        ),
        (
            "ip_address_type",
            s(tg.ip_address_type()
                .map(TargetGroupIpAddressTypeEnum::as_str)),
        ),
        (
            "deregistration_delay",
            Value::from(
                attributes
                    .get(DEREGISTRATION_DELAY)
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(DEFAULT_DEREGISTRATION_DELAY),
            ),
        ),
        (
            "slow_start",
            Value::from(
                attributes
                    .get(SLOW_START)
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(0),
            ),
        ),
        ("stickiness", stickiness_value(attributes)),
        ("health_check", Value::List(vec![health_check_value(tg)])),
        (
            "load_balancer_arns",
            set_or_null(tg.load_balancer_arns().to_vec()),
        ),
        ("tags_all", tags_value(tags)),
    ])
}

pub(crate) async fn describe(
    aws: &Aws,
    arns: Option<Vec<String>>,
    names: Option<Vec<String>>,
) -> Result<Vec<elb::TargetGroup>, ProviderError> {
    let result = aws
        .elbv2
        .describe_target_groups()
        .set_target_group_arns(arns)
        .set_names(names)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .elbv2("DescribeTargetGroups");
    match result {
        Err(e) if e.kind == ErrorKind::NotFound => Ok(Vec::new()),
        other => other,
    }
}

async fn describe_attributes(aws: &Aws, arn: &str) -> Result<Attributes, ProviderError> {
    let out = aws
        .elbv2
        .describe_target_group_attributes()
        .target_group_arn(arn)
        .send()
        .await
        .elbv2("DescribeTargetGroupAttributes")?;
    Ok(out
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_string(), a.value().unwrap_or("").to_string())))
        .collect())
}

/// Reads one target group, its attributes and tags; `None` when gone.
async fn read(aws: &Aws, arn: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(tg) = describe(aws, Some(vec![arn.to_string()]), None)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    read_described(aws, &tg, recorded).await
}

/// A described target group with its attributes and tags; `None` when it
/// went away meanwhile.
pub(crate) async fn read_described(
    aws: &Aws,
    tg: &elb::TargetGroup,
    recorded: &Value,
) -> Result<Option<Value>, ProviderError> {
    let arn = tg.target_group_arn().unwrap_or_default();
    let attributes = match describe_attributes(aws, arn).await {
        Ok(a) => a,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let tags = elbv2_tags_of(aws, arn).await?;
    Ok(Some(tg_attrs(tg, &attributes, &tags, recorded)))
}

/// The name: `name`, else `name_prefix` (or `tf-`) and a suffix derived
/// from the idempotency token (stable across a retry after a crash).
fn tg_name(desired: &Value, token: &str) -> String {
    match opt_str(desired, "name") {
        Some(name) => name.to_string(),
        None => {
            let prefix = opt_str(desired, "name_prefix").unwrap_or("tf-");
            let room = 32usize.saturating_sub(prefix.len()).clamp(1, 26);
            format!("{prefix}{}", &hex_digest(token)[..room])
        }
    }
}

/// The spec's `health_check` block, if written.
fn health_check(desired: &Value) -> Option<&Value> {
    blocks(desired, "health_check").first()
}

/// The health check settings both `CreateTargetGroup` and
/// `ModifyTargetGroup` take, as the Terraform provider sends them: no path
/// or matcher for TCP checks, a timeout only when set.
struct HealthCheck {
    enabled: bool,
    interval: Option<i32>,
    healthy: Option<i32>,
    unhealthy: Option<i32>,
    timeout: Option<i32>,
    path: Option<String>,
    matcher: Option<Matcher>,
    port: Option<String>,
    protocol: Option<ProtocolEnum>,
}

fn health_check_settings(block: &Value, desired: &Value) -> HealthCheck {
    let int = |k: &str| opt_int(block, k).map(|v| v as i32);
    let protocol = opt_str(block, "protocol")
        .unwrap_or("HTTP")
        .to_ascii_uppercase();
    let http = protocol != "TCP";
    let lambda = opt_str(desired, "target_type") == Some("lambda");
    let matcher = opt_str(block, "matcher").filter(|_| http).map(|m| {
        if opt_str(desired, "protocol_version").is_some_and(|v| v.eq_ignore_ascii_case("GRPC")) {
            Matcher::builder().grpc_code(m).build()
        } else {
            Matcher::builder().http_code(m).build()
        }
    });
    HealthCheck {
        // The schema's defaults, should a caller leave them out.
        enabled: bool_or(block, "enabled", true),
        interval: int("interval").or(Some(30)),
        healthy: int("healthy_threshold").or(Some(3)),
        unhealthy: int("unhealthy_threshold").or(Some(3)),
        timeout: int("timeout").filter(|t| *t != 0),
        path: opt_str(block, "path").filter(|_| http).map(str::to_string),
        matcher,
        port: (!lambda).then(|| opt_str(block, "port").unwrap_or("traffic-port").to_string()),
        protocol: (!lambda).then(|| ProtocolEnum::from(protocol.as_str())),
    }
}

fn create_input(aws: &Aws, desired: &Value, name: &str) -> CreateTargetGroupFluentBuilder {
    let target_type = opt_str(desired, "target_type").unwrap_or("instance");
    let mut call = aws
        .elbv2
        .create_target_group()
        .name(name)
        .target_type(TargetTypeEnum::from(target_type))
        .set_tags(elbv2_tags(desired));
    if target_type != "lambda" {
        let protocol = opt_str(desired, "protocol");
        call = call
            .set_port(opt_int(desired, "port").map(|p| p as i32))
            .set_protocol(protocol.map(ProtocolEnum::from))
            .set_vpc_id(opt_str(desired, "vpc_id").map(str::to_string))
            .set_ip_address_type(
                opt_str(desired, "ip_address_type").map(TargetGroupIpAddressTypeEnum::from),
            );
        if matches!(protocol, Some("HTTP" | "HTTPS")) {
            call =
                call.set_protocol_version(opt_str(desired, "protocol_version").map(str::to_string));
        }
    }
    if let Some(block) = health_check(desired) {
        let hc = health_check_settings(block, desired);
        call = call
            .health_check_enabled(hc.enabled)
            .set_health_check_interval_seconds(hc.interval)
            .set_healthy_threshold_count(hc.healthy)
            .set_unhealthy_threshold_count(hc.unhealthy)
            .set_health_check_timeout_seconds(hc.timeout)
            .set_health_check_path(hc.path)
            .set_matcher(hc.matcher)
            .set_health_check_port(hc.port)
            .set_health_check_protocol(hc.protocol);
    }
    call
}

fn modify_input(
    aws: &Aws,
    arn: &str,
    block: &Value,
    desired: &Value,
) -> ModifyTargetGroupFluentBuilder {
    let hc = health_check_settings(block, desired);
    aws.elbv2
        .modify_target_group()
        .target_group_arn(arn)
        .health_check_enabled(hc.enabled)
        .set_health_check_interval_seconds(hc.interval)
        .set_healthy_threshold_count(hc.healthy)
        .set_unhealthy_threshold_count(hc.unhealthy)
        .set_health_check_timeout_seconds(hc.timeout)
        .set_health_check_path(hc.path)
        .set_matcher(hc.matcher)
        .set_health_check_port(hc.port)
        .set_health_check_protocol(hc.protocol)
}

const SLOW_START: &str = "slow_start.duration_seconds";
const STICKINESS_ENABLED: &str = "stickiness.enabled";
const STICKINESS_TYPE: &str = "stickiness.type";
const STICKINESS_LB_COOKIE_DURATION: &str = "stickiness.lb_cookie.duration_seconds";
const STICKINESS_APP_COOKIE_DURATION: &str = "stickiness.app_cookie.duration_seconds";
const STICKINESS_APP_COOKIE_NAME: &str = "stickiness.app_cookie.cookie_name";

/// The `stickiness` block the attributes say; none when AWS reports no
/// stickiness type (a block the spec does not write is not compared).
fn stickiness_value(attributes: &Attributes) -> Value {
    let Some(kind) = attributes.get(STICKINESS_TYPE).filter(|k| !k.is_empty()) else {
        return Value::Null;
    };
    let duration_key = if kind == "app_cookie" {
        STICKINESS_APP_COOKIE_DURATION
    } else {
        STICKINESS_LB_COOKIE_DURATION
    };
    Value::List(vec![Value::map([
        ("type", Value::from(kind.as_str())),
        (
            "enabled",
            Value::Bool(attributes.get(STICKINESS_ENABLED).map(String::as_str) == Some("true")),
        ),
        (
            "cookie_duration",
            Value::from(
                attributes
                    .get(duration_key)
                    .and_then(|v| v.parse::<i64>().ok())
                    .unwrap_or(86400),
            ),
        ),
        (
            "cookie_name",
            s(attributes.get(STICKINESS_APP_COOKIE_NAME).map(String::as_str)),
        ),
    ])])
}

/// The attributes the spec sets (only instance and IP target groups have a
/// deregistration delay and slow start).
fn desired_attributes(desired: &Value) -> Vec<TargetGroupAttribute> {
    let attr = |k: &str, v: String| TargetGroupAttribute::builder().key(k).value(v).build();
    let mut out = Vec::new();
    if matches!(
        opt_str(desired, "target_type").unwrap_or("instance"),
        "instance" | "ip"
    ) {
        out.push(attr(
            DEREGISTRATION_DELAY,
            opt_int(desired, "deregistration_delay")
                .unwrap_or(DEFAULT_DEREGISTRATION_DELAY)
                .to_string(),
        ));
        if let Some(secs) = opt_int(desired, "slow_start") {
            out.push(attr(SLOW_START, secs.to_string()));
        }
    }
    if let Some(b) = crate::args::blocks(desired, "stickiness").first() {
        let kind = opt_str(b, "type").unwrap_or("lb_cookie");
        out.push(attr(STICKINESS_ENABLED, crate::args::bool_or(b, "enabled", true).to_string()));
        out.push(attr(STICKINESS_TYPE, kind.to_string()));
        let duration = opt_int(b, "cookie_duration").unwrap_or(86400).to_string();
        match kind {
            "lb_cookie" => out.push(attr(STICKINESS_LB_COOKIE_DURATION, duration)),
            "app_cookie" => {
                out.push(attr(STICKINESS_APP_COOKIE_DURATION, duration));
                if let Some(name) = opt_str(b, "cookie_name") {
                    out.push(attr(STICKINESS_APP_COOKIE_NAME, name.to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

async fn modify_attributes(
    aws: &Aws,
    arn: &str,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let attributes = desired_attributes(desired);
    if attributes.is_empty() {
        return Ok(());
    }
    retry(deadline, || async {
        aws.elbv2
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attributes.clone()))
            .send()
            .await
            .elbv2("ModifyTargetGroupAttributes")
    })
    .await
    .map(|_| ())
}

/// A target group with this name made by this address earlier; an error
/// when the name belongs to something else.
async fn adoptable(
    aws: &Aws,
    req: &ChangeRequest,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let Some(tg) = describe(aws, None, Some(vec![name.to_string()]))
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    let arn = tg.target_group_arn().unwrap_or_default().to_string();
    let tags = elbv2_tags_of(aws, &arn).await?;
    if made_for(&tags, &req.owner, &req.address) {
        let attributes = describe_attributes(aws, &arn).await?;
        let live = tg_attrs(&tg, &attributes, &tags, &req.desired);
        let what = format!("target group {name:?}");
        check_adoptable(&schema(), &req.desired, &live, "CreateTargetGroup", &what)?;
        Ok(Some(arn))
    } else {
        Err(conflict(
            ELBV2,
            "CreateTargetGroup",
            &format!("target group {name:?}"),
            &req.address,
            &req.owner,
            &tags,
        ))
    }
}

pub(crate) struct LbTargetGroup;

#[async_trait]
impl ResourceHandler for LbTargetGroup {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let all = describe(aws, None, None).await?;
        let arns: Vec<String> = all
            .iter()
            .filter_map(|tg| tg.target_group_arn().map(str::to_string))
            .collect();
        let mut tags = elbv2_describe_tags(aws, &arns).await?;
        let owned: Vec<(elb::TargetGroup, TagMap)> = all
            .into_iter()
            .filter_map(|tg| {
                let arn = tg.target_group_arn()?.to_string();
                let t = tags.remove(&arn).unwrap_or_default();
                is_owned(&arn, &t, &req.known, &req.owner).then_some((tg, t))
            })
            .collect();
        // No batch form of DescribeTargetGroupAttributes exists.
        let read = read_each(aws, owned, |aws, (tg, tags)| async move {
            let arn = tg.target_group_arn().unwrap_or_default().to_string();
            match describe_attributes(&aws, &arn).await {
                Ok(a) => Ok(Some((tg, a, tags))),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(read
            .into_iter()
            .flatten()
            .map(|(tg, attributes, tags)| {
                let id = tg.target_group_arn().unwrap_or_default().to_string();
                let recorded = req
                    .known
                    .iter()
                    .find(|k| k.id == id)
                    .map(|k| k.attrs.clone())
                    .unwrap_or(Value::Null);
                LiveResource {
                    address: address_for(&id, &tags, &req.known),
                    attrs: tg_attrs(&tg, &attributes, &tags, &recorded),
                    id,
                }
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = tg_name(d, &req.idempotency_token);
        let arn = match adoptable(aws, req, &name).await? {
            Some(arn) => arn,
            None => {
                let call = create_input(aws, d, &name);
                // A VPC created a moment ago may not be visible yet.
                match retry(&deadline, || async {
                    call.clone().send().await.elbv2("CreateTargetGroup")
                })
                .await
                {
                    Ok(out) => out
                        .target_groups()
                        .first()
                        .and_then(|tg| tg.target_group_arn())
                        .ok_or_else(|| {
                            invalid(ELBV2, "CreateTargetGroup", "the answer carries no ARN")
                        })?
                        .to_string(),
                    Err(e) if has_code(&e, "DuplicateTargetGroupName") => {
                        adoptable(aws, req, &name).await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        async {
            modify_attributes(aws, &arn, d, &deadline).await?;
            // New target groups are sometimes not readable at once.
            retry(&deadline, || async {
                read(aws, &arn, d).await?.ok_or_else(|| {
                    let mut e = gone(ELBV2, "DescribeTargetGroups", &arn);
                    e.kind = ErrorKind::Transient;
                    e
                })
            })
            .await
        }
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// A target group of the same (known) name is looked up, and the VPC.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "name") {
            const ACTION: &str = "elasticloadbalancing:DescribeTargetGroups";
            let existing = findings.read(
                ACTION,
                describe(aws, None, Some(vec![name.to_string()])).await,
            )?;
            let arn = existing
                .unwrap_or_default()
                .into_iter()
                .find(|tg| tg.target_group_name() == Some(name))
                .and_then(|tg| tg.target_group_arn);
            if let Some(arn) = arn {
                const TAGS: &str = "elasticloadbalancing:DescribeTags";
                if let Some(tags) = findings.read(TAGS, elbv2_tags_of(aws, &arn).await)? {
                    findings.name_in_use(req, ACTION, "target group", name, &tags);
                }
            }
        }
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(ELBV2, "ModifyTargetGroup", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |name: &str| req.changed.iter().any(|c| c == name);
        if changed("health_check") {
            if let Some(block) = health_check(d) {
                modify_input(aws, arn, block, d)
                    .send()
                    .await
                    .elbv2("ModifyTargetGroup")?;
            }
        }
        if ["deregistration_delay", "slow_start", "stickiness"]
            .into_iter()
            .any(changed)
        {
            modify_attributes(aws, arn, d, &deadline).await?;
        }
        elbv2_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, d)
            .await?
            .ok_or_else(|| gone(ELBV2, "DescribeTargetGroups", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // ResourceInUse while a listener or rule naming it is being deleted
        // is transient: retried here, then by the engine.
        ignore_not_found(
            retry(&deadline, || async {
                aws.elbv2
                    .delete_target_group()
                    .target_group_arn(&req.id)
                    .send()
                    .await
                    .elbv2("DeleteTargetGroup")
                    .map(|_| ())
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ARN: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/73e2d6bc24d8a067";

    fn sample() -> elb::TargetGroup {
        elb::TargetGroup::builder()
            .target_group_arn(ARN)
            .target_group_name("api")
            .protocol(ProtocolEnum::Http)
            .protocol_version("HTTP1")
            .port(8080)
            .vpc_id("vpc-1")
            .target_type(TargetTypeEnum::Ip)
            .ip_address_type(TargetGroupIpAddressTypeEnum::Ipv4)
            .health_check_enabled(true)
            .health_check_protocol(ProtocolEnum::Http)
            .health_check_port("traffic-port")
            .health_check_path("/health")
            .health_check_interval_seconds(30)
            .health_check_timeout_seconds(5)
            .healthy_threshold_count(3)
            .unhealthy_threshold_count(3)
            .matcher(Matcher::builder().http_code("200-299").build())
            .load_balancer_arns("arn:lb")
            .build()
    }

    #[test]
    fn live_target_group_is_in_schema_shape() {
        let attributes: Attributes = [(DEREGISTRATION_DELAY.to_string(), "30".to_string())].into();
        let v = tg_attrs(&sample(), &attributes, &TagMap::new(), &Value::Null);
        assert_eq!(
            v.get("arn_suffix"),
            Some(&Value::from("targetgroup/api/73e2d6bc24d8a067"))
        );
        assert_eq!(v.get("port"), Some(&Value::from(8080)));
        assert_eq!(v.get("target_type"), Some(&Value::from("ip")));
        assert_eq!(v.get("deregistration_delay"), Some(&Value::from(30)));
        let hc = &blocks(&v, "health_check")[0];
        assert_eq!(hc.get("path"), Some(&Value::from("/health")));
        assert_eq!(hc.get("matcher"), Some(&Value::from("200-299")));
        assert_eq!(hc.get("healthy_threshold"), Some(&Value::from(3)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn a_written_health_check_diffs_clean_against_the_live_one() {
        let schema = schema();
        let block = schema.body.find_block("health_check").unwrap();
        let desired = Value::List(vec![Value::map([
            ("path", Value::from("/health")),
            ("matcher", Value::from("200-299")),
            ("timeout", Value::Null),
        ])]);
        let live = tg_attrs(&sample(), &Attributes::new(), &TagMap::new(), &Value::Null);
        let live_hc = live.get("health_check").cloned().unwrap();
        let d = stackd_engine::diff::normalize_blocks(block, &desired);
        let l = stackd_engine::diff::normalize_blocks(block, &live_hc);
        // `timeout` is optional+computed: unset in the spec, not compared.
        let strip = |v: Value| match v {
            Value::List(items) => Value::List(
                items
                    .into_iter()
                    .map(|mut i| {
                        if let Value::Map(m) = &mut i {
                            m.remove("timeout");
                        }
                        i
                    })
                    .collect(),
            ),
            other => other,
        };
        assert_eq!(strip(d), strip(l));
    }

    #[test]
    fn health_check_settings_follow_the_terraform_provider() {
        let desired = Value::map([("target_type", Value::from("ip"))]);
        let block = Value::map([
            ("enabled", Value::Bool(true)),
            ("protocol", Value::from("TCP")),
            ("path", Value::from("/ignored")),
            ("matcher", Value::from("200")),
            ("timeout", Value::from(0)),
            ("interval", Value::from(10)),
        ]);
        let hc = health_check_settings(&block, &desired);
        assert_eq!(hc.path, None);
        assert!(hc.matcher.is_none());
        assert_eq!(hc.timeout, None);
        assert_eq!(hc.interval, Some(10));
        assert_eq!(hc.port.as_deref(), Some("traffic-port"));
        assert_eq!(hc.protocol, Some(ProtocolEnum::Tcp));
    }

    #[test]
    fn create_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("port", Value::from(8080)),
            ("protocol", Value::from("HTTP")),
            ("vpc_id", Value::from("vpc-1")),
            ("target_type", Value::from("ip")),
            (
                "health_check",
                Value::List(vec![Value::map([
                    ("path", Value::from("/health")),
                    ("healthy_threshold", Value::from(3)),
                ])]),
            ),
        ]);
        let call = create_input(&aws, &d, "api");
        let i = call.as_input();
        assert_eq!(i.get_port(), &Some(8080));
        assert_eq!(i.get_target_type(), &Some(TargetTypeEnum::Ip));
        assert_eq!(i.get_health_check_path().as_deref(), Some("/health"));
        assert_eq!(i.get_healthy_threshold_count(), &Some(3));
        assert_eq!(i.get_health_check_protocol(), &Some(ProtocolEnum::Http));
        assert_eq!(desired_attributes(&d)[0].value(), Some("300"));
    }

    #[test]
    fn stickiness_and_slow_start_read_back_as_written() {
        let d = Value::map([
            ("target_type", Value::from("ip")),
            ("slow_start", Value::from(45)),
            (
                "stickiness",
                Value::List(vec![Value::map([
                    ("type", Value::from("app_cookie")),
                    ("cookie_name", Value::from("session")),
                    ("cookie_duration", Value::from(600)),
                    ("enabled", Value::Bool(true)),
                ])]),
            ),
        ]);
        let live: Attributes = desired_attributes(&d)
            .iter()
            .map(|a| {
                (
                    a.key().unwrap_or_default().to_string(),
                    a.value().unwrap_or_default().to_string(),
                )
            })
            .collect();
        assert_eq!(live.get(SLOW_START).map(String::as_str), Some("45"));
        assert_eq!(stickiness_value(&live), d.get("stickiness").cloned().unwrap());
        assert_eq!(stickiness_value(&Attributes::new()), Value::Null);
    }

    #[test]
    fn generated_names_fit() {
        let n = tg_name(&Value::Null, "tok");
        assert!(n.starts_with("tf-") && n.len() <= 32, "{n}");
    }
}
