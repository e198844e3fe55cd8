//! `aws_lb`: an Application or Network Load Balancer (ELBv2).
//!
//! Create waits until the load balancer is `active` (it reports
//! `provisioning` first); delete waits until it is gone and, for a while,
//! for the network interfaces it leaves in its subnets (they block deleting
//! the subnets and security groups, as the Terraform provider knows).
//!
//! ELBv2 cannot filter on tags: refresh lists the region's load balancers
//! (one paginated chain), reads their tags 20 ARNs a call, and reads
//! `DescribeLoadBalancerAttributes` per owned load balancer (no batch form
//! exists), concurrently.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2::types::{
    self as elb, IpAddressType, LoadBalancerAttribute, LoadBalancerSchemeEnum,
    LoadBalancerStateEnum, LoadBalancerTypeEnum,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::LOAD_BALANCER;
use crate::args::{bool_or, hex_digest, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    address_for, check_adoptable, conflict, elbv2_describe_tags, elbv2_reconcile_tags, elbv2_tags,
    elbv2_tags_of, gone, in_service, invalid, is_owned, made_for, read_each, tags_value,
    SdkResultExt, TagMap, ELBV2,
};
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::ec2::lookups::check_network;
use crate::services::iam::ELB_SERVICE_LINKED_ROLE;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

const IDLE_TIMEOUT: &str = "idle_timeout.timeout_seconds";
const DELETION_PROTECTION: &str = "deletion_protection.enabled";
/// AWS's default idle timeout, reported when the attribute is absent.
const DEFAULT_IDLE_TIMEOUT: i64 = 60;

/// `aws_lb`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_lb",
    schema,
    handler: &Lb,
    grants: &[
        g(
            &[
                // Delete waits for the load balancer's interfaces to go;
                // `apply --dry-run` looks up its subnets and groups.
                "ec2:DescribeNetworkInterfaces",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTags",
            ],
            ANY,
        ),
        g(
            &[
                "elasticloadbalancing:AddTags",
                "elasticloadbalancing:CreateLoadBalancer",
                "elasticloadbalancing:DeleteLoadBalancer",
                "elasticloadbalancing:ModifyLoadBalancerAttributes",
                "elasticloadbalancing:RemoveTags",
                "elasticloadbalancing:SetIpAddressType",
                "elasticloadbalancing:SetSecurityGroups",
                "elasticloadbalancing:SetSubnets",
            ],
            &[LOAD_BALANCER],
        ),
        g(&["iam:CreateServiceLinkedRole"], &[ELB_SERVICE_LINKED_ROLE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_lb")
        .alias("aws_alb")
        .doc("An Application or Network Load Balancer.")
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
            AttrSchema::optional_computed("internal", AttrType::Bool)
                .force_new()
                .doc("Internal (private addresses only) rather than internet-facing."),
        )
        .attr(
            AttrSchema::optional("load_balancer_type", AttrType::String)
                .default("application")
                .force_new()
                .doc("`application`, `network` or `gateway`."),
        )
        .attr(
            AttrSchema::optional_computed("security_groups", AttrType::set_of(AttrType::String))
                .doc("Security group IDs."),
        )
        .attr(
            AttrSchema::optional_computed("subnets", AttrType::set_of(AttrType::String))
                .doc("Subnet IDs, at least two availability zones for an ALB."),
        )
        .attr(
            AttrSchema::optional("idle_timeout", AttrType::Number)
                .default(DEFAULT_IDLE_TIMEOUT)
                .doc("Seconds a connection may idle (application load balancers)."),
        )
        .attr(
            AttrSchema::optional("enable_deletion_protection", AttrType::Bool)
                .default(false)
                .doc("Refuse deletion through the API."),
        )
        .attr(
            AttrSchema::optional_computed("ip_address_type", AttrType::String)
                .doc("`ipv4` or `dualstack`."),
        )
        .attr(
            AttrSchema::optional("drop_invalid_header_fields", AttrType::Bool)
                .default(false)
                .doc("Drop HTTP headers with invalid names (application load balancers)."),
        )
        .attr(
            AttrSchema::optional("enable_http2", AttrType::Bool)
                .default(true)
                .doc("Serve HTTP/2 (application load balancers)."),
        )
        .attr(
            AttrSchema::optional("desync_mitigation_mode", AttrType::String)
                .default("defensive")
                .doc("`monitor`, `defensive` or `strictest` (application load balancers)."),
        )
        .attr(
            AttrSchema::optional("preserve_host_header", AttrType::Bool)
                .default(false)
                .doc("Pass the Host header on unchanged (application load balancers)."),
        )
        .attr(
            AttrSchema::optional("enable_waf_fail_open", AttrType::Bool)
                .default(false)
                .doc("Route requests when WAF cannot be reached (application load balancers)."),
        )
        .attr(
            AttrSchema::optional_computed("enable_cross_zone_load_balancing", AttrType::Bool)
                .doc("Balance across zones (network and gateway load balancers; always on for ALBs)."),
        )
        .block(
            stackd_spec::BlockSchema::new("access_logs", stackd_spec::schema::Nesting::Single)
                .attr(AttrSchema::required("bucket", AttrType::String))
                .attr(AttrSchema::optional("prefix", AttrType::String))
                .attr(AttrSchema::optional("enabled", AttrType::Bool).default(false)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN (also the ID)."))
        .attr(
            AttrSchema::computed("arn_suffix", AttrType::String)
                .doc("The ARN's suffix, for CloudWatch metrics."),
        )
        .attr(AttrSchema::computed("dns_name", AttrType::String).doc("The DNS name."))
        .attr(
            AttrSchema::computed("zone_id", AttrType::String)
                .doc("The canonical hosted zone ID, for Route 53 aliases."),
        )
        .attr(AttrSchema::computed("vpc_id", AttrType::String).doc("The VPC."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

/// Arguments that are load balancer attributes of application load
/// balancers: (argument, attribute key, default as the attribute reads).
const ALB_ATTRIBUTES: &[(&str, &str, &str)] = &[
    (
        "drop_invalid_header_fields",
        "routing.http.drop_invalid_header_fields.enabled",
        "false",
    ),
    ("enable_http2", "routing.http2.enabled", "true"),
    (
        "desync_mitigation_mode",
        "routing.http.desync_mitigation_mode",
        "defensive",
    ),
    (
        "preserve_host_header",
        "routing.http.preserve_host_header.enabled",
        "false",
    ),
    ("enable_waf_fail_open", "waf.fail_open.enabled", "false"),
];

const CROSS_ZONE: &str = "load_balancing.cross_zone.enabled";
const ACCESS_LOGS_ENABLED: &str = "access_logs.s3.enabled";
const ACCESS_LOGS_BUCKET: &str = "access_logs.s3.bucket";
const ACCESS_LOGS_PREFIX: &str = "access_logs.s3.prefix";

/// An argument's value as an attribute value (`true`, `"defensive"`).
fn attribute_text(v: &Value) -> Option<String> {
    match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The arguments the attributes say, for `lb_attrs`.
fn attribute_args(lb_type: &str, attributes: &Attributes) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    for (arg, key, default) in ALB_ATTRIBUTES {
        let text = match attributes.get(*key) {
            Some(v) if lb_type == "application" && !v.is_empty() => v.as_str(),
            _ => default,
        };
        let value = match text {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            other => Value::from(other),
        };
        out.push((*arg, value));
    }
    let cross_zone = match attributes.get(CROSS_ZONE).map(String::as_str) {
        Some("true") => true,
        Some("false") => false,
        // Always on for application load balancers.
        _ => lb_type == "application",
    };
    out.push(("enable_cross_zone_load_balancing", Value::Bool(cross_zone)));
    let logs = match attributes.get(ACCESS_LOGS_BUCKET) {
        Some(bucket) if !bucket.is_empty() => Value::List(vec![Value::map([
            ("bucket", Value::from(bucket.as_str())),
            (
                "prefix",
                s(attributes.get(ACCESS_LOGS_PREFIX).map(String::as_str)),
            ),
            (
                "enabled",
                Value::Bool(attributes.get(ACCESS_LOGS_ENABLED).map(String::as_str) == Some("true")),
            ),
        ])]),
        _ => Value::Null,
    };
    out.push(("access_logs", logs));
    out
}

/// The part of a load balancer ARN after `:loadbalancer/`
/// (`app/<name>/<id>`), as CloudWatch dimensions want it.
pub(crate) fn lb_arn_suffix(arn: &str) -> Option<String> {
    arn.split_once(":loadbalancer/")
        .map(|(_, rest)| rest.to_string())
}

/// Load balancer attributes as a map.
type Attributes = HashMap<String, String>;

fn lb_attrs(lb: &elb::LoadBalancer, attributes: &Attributes, tags: &TagMap) -> Value {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let name = lb.load_balancer_name().unwrap_or_default();
    let lb_type = lb
        .r#type()
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|| "application".into());
    let idle_timeout = if lb_type == "application" {
        attributes
            .get(IDLE_TIMEOUT)
            .and_then(|v| v.parse::<i64>().ok())
            .unwrap_or(DEFAULT_IDLE_TIMEOUT)
    } else {
        // Not an attribute of network or gateway load balancers; the
        // Terraform schema default stands.
        DEFAULT_IDLE_TIMEOUT
    };
    let subnets: Vec<String> = lb
        .availability_zones()
        .iter()
        .filter_map(|z| z.subnet_id().map(str::to_string))
        .collect();
    let mut out = Value::map([
        ("id", s(Some(arn))),
        ("arn", s(Some(arn))),
        ("arn_suffix", Value::from(lb_arn_suffix(arn))),
        ("name", s(Some(name))),
        ("name_prefix", Value::Null),
        (
            "internal",
            Value::Bool(lb.scheme() == Some(&LoadBalancerSchemeEnum::Internal)),
        ),
        ("load_balancer_type", Value::from(lb_type.as_str())),
        (
            "security_groups",
            set_or_null(lb.security_groups().to_vec()),
        ),
        ("subnets", set_or_null(subnets)),
        ("idle_timeout", Value::from(idle_timeout)),
        (
            "enable_deletion_protection",
            Value::Bool(attributes.get(DELETION_PROTECTION).map(String::as_str) == Some("true")),
        ),
        (
            "ip_address_type",
            s(lb.ip_address_type().map(IpAddressType::as_str)),
        ),
        ("dns_name", s(lb.dns_name())),
        ("zone_id", s(lb.canonical_hosted_zone_id())),
        ("vpc_id", s(lb.vpc_id())),
        ("tags_all", tags_value(tags)),
    ]);
    if let Value::Map(m) = &mut out {
        for (k, v) in attribute_args(&lb_type, attributes) {
            m.insert(k.to_string(), v);
        }
    }
    out
}

/// `name_prefix` is not kept by AWS: it is echoed from what was recorded
/// when the name still starts with it.
fn with_name_prefix(mut attrs: Value, recorded: Option<&Value>) -> Value {
    let prefix = recorded
        .and_then(|r| opt_str(r, "name_prefix"))
        .map(str::to_string);
    if let (Some(prefix), Value::Map(m)) = (prefix, &mut attrs) {
        let matches = m
            .get("name")
            .and_then(Value::as_str)
            .is_some_and(|n| n.starts_with(&prefix));
        if matches {
            m.insert("name_prefix".into(), Value::String(prefix));
        }
    }
    attrs
}

async fn describe_all(aws: &Aws) -> Result<Vec<elb::LoadBalancer>, ProviderError> {
    aws.elbv2
        .describe_load_balancers()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .elbv2("DescribeLoadBalancers")
}

/// One load balancer by ARN or name; `None` when it does not exist.
pub(crate) async fn describe_one(
    aws: &Aws,
    arn: Option<&str>,
    name: Option<&str>,
) -> Result<Option<elb::LoadBalancer>, ProviderError> {
    let result = aws
        .elbv2
        .describe_load_balancers()
        .set_load_balancer_arns(arn.map(|a| vec![a.to_string()]))
        .set_names(name.map(|n| vec![n.to_string()]))
        .send()
        .await
        .elbv2("DescribeLoadBalancers");
    match result {
        Ok(out) => Ok(out
            .load_balancers()
            .iter()
            .find(|lb| {
                arn.is_none_or(|a| lb.load_balancer_arn() == Some(a))
                    && name.is_none_or(|n| lb.load_balancer_name() == Some(n))
            })
            .cloned()),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

async fn describe_attributes(aws: &Aws, arn: &str) -> Result<Attributes, ProviderError> {
    let out = aws
        .elbv2
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn)
        .send()
        .await
        .elbv2("DescribeLoadBalancerAttributes")?;
    Ok(out
        .attributes()
        .iter()
        .filter_map(|a| Some((a.key()?.to_string(), a.value().unwrap_or("").to_string())))
        .collect())
}

/// Reads one load balancer, its attributes and tags; `None` when gone.
async fn read(aws: &Aws, arn: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(lb) = describe_one(aws, Some(arn), None).await? else {
        return Ok(None);
    };
    read_described(aws, &lb, recorded).await
}

/// A described load balancer with its attributes and tags; `None` when it
/// went away meanwhile.
pub(crate) async fn read_described(
    aws: &Aws,
    lb: &elb::LoadBalancer,
    recorded: &Value,
) -> Result<Option<Value>, ProviderError> {
    let arn = lb.load_balancer_arn().unwrap_or_default();
    let attributes = match describe_attributes(aws, arn).await {
        Ok(a) => a,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let tags = elbv2_tags_of(aws, arn).await?;
    Ok(Some(with_name_prefix(
        lb_attrs(lb, &attributes, &tags),
        Some(recorded),
    )))
}

/// The name: `name`, else `name_prefix` (or `tf-lb-`) and a suffix derived
/// from the idempotency token, so that a create retried after a crash asks
/// for the same name and finds what it made.
fn lb_name(desired: &Value, token: &str) -> String {
    match opt_str(desired, "name") {
        Some(name) => name.to_string(),
        None => {
            let prefix = opt_str(desired, "name_prefix").unwrap_or("tf-lb-");
            let room = 32usize.saturating_sub(prefix.len()).max(1);
            format!("{prefix}{}", &hex_digest(token)[..room.min(26)])
        }
    }
}

/// The attributes the spec sets, as `ModifyLoadBalancerAttributes` takes them.
fn desired_attributes(desired: &Value) -> Vec<LoadBalancerAttribute> {
    let attr = |k: &str, v: String| LoadBalancerAttribute::builder().key(k).value(v).build();
    let mut out = vec![attr(
        DELETION_PROTECTION,
        bool_or(desired, "enable_deletion_protection", false).to_string(),
    )];
    let application = opt_str(desired, "load_balancer_type").unwrap_or("application") == "application";
    if application {
        out.push(attr(
            IDLE_TIMEOUT,
            opt_int(desired, "idle_timeout")
                .unwrap_or(DEFAULT_IDLE_TIMEOUT)
                .to_string(),
        ));
        // Only what the spec sets: the others keep AWS's defaults, which are
        // the schema's.
        for (arg, key, _) in ALB_ATTRIBUTES {
            if let Some(text) = desired.get(arg).and_then(attribute_text) {
                out.push(attr(key, text));
            }
        }
    } else if let Some(b) = desired.get("enable_cross_zone_load_balancing").and_then(Value::as_bool) {
        out.push(attr(CROSS_ZONE, b.to_string()));
    }
    match crate::args::blocks(desired, "access_logs").first() {
        Some(logs) => {
            out.push(attr(ACCESS_LOGS_ENABLED, bool_or(logs, "enabled", false).to_string()));
            out.push(attr(ACCESS_LOGS_BUCKET, opt_str(logs, "bucket").unwrap_or("").to_string()));
            out.push(attr(ACCESS_LOGS_PREFIX, opt_str(logs, "prefix").unwrap_or("").to_string()));
        }
        None => out.push(attr(ACCESS_LOGS_ENABLED, "false".to_string())),
    }
    out
}

fn create_input(
    aws: &Aws,
    desired: &Value,
    name: &str,
) -> aws_sdk_elasticloadbalancingv2::operation::create_load_balancer::builders::CreateLoadBalancerFluentBuilder
{
    let subnets = str_list(desired, "subnets");
    let groups = str_list(desired, "security_groups");
    aws.elbv2
        .create_load_balancer()
        .name(name)
        .set_subnets((!subnets.is_empty()).then_some(subnets))
        .set_security_groups((!groups.is_empty()).then_some(groups))
        .scheme(if bool_or(desired, "internal", false) {
            LoadBalancerSchemeEnum::Internal
        } else {
            LoadBalancerSchemeEnum::InternetFacing
        })
        .r#type(LoadBalancerTypeEnum::from(
            opt_str(desired, "load_balancer_type").unwrap_or("application"),
        ))
        .set_ip_address_type(opt_str(desired, "ip_address_type").map(IpAddressType::from))
        .set_tags(elbv2_tags(desired))
}

/// A load balancer with this name made by this address earlier (a create
/// retried after a crash); an error when the name belongs to something
/// else.
async fn adoptable(
    aws: &Aws,
    req: &ChangeRequest,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let Some(lb) = describe_one(aws, None, Some(name)).await? else {
        return Ok(None);
    };
    let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
    let tags = elbv2_tags_of(aws, &arn).await?;
    if made_for(&tags, &req.owner, &req.address) {
        let attributes = describe_attributes(aws, &arn).await?;
        let live = with_name_prefix(lb_attrs(&lb, &attributes, &tags), Some(&req.desired));
        let what = format!("load balancer {name:?}");
        check_adoptable(&schema(), &req.desired, &live, "CreateLoadBalancer", &what)?;
        Ok(Some(arn))
    } else {
        Err(conflict(
            ELBV2,
            "CreateLoadBalancer",
            &format!("load balancer {name:?}"),
            &req.address,
            &req.owner,
            &tags,
        ))
    }
}

async fn modify_attributes(
    aws: &Aws,
    arn: &str,
    attributes: Vec<LoadBalancerAttribute>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        aws.elbv2
            .modify_load_balancer_attributes()
            .load_balancer_arn(arn)
            .set_attributes(Some(attributes.clone()))
            .send()
            .await
            .elbv2("ModifyLoadBalancerAttributes")
    })
    .await
    .map(|_| ())
}

/// Waits until the load balancer is `active`; `failed` ends the wait.
async fn wait_active(aws: &Aws, arn: &str, deadline: &Deadline) -> Result<(), ProviderError> {
    until(
        deadline,
        "DescribeLoadBalancers",
        &format!("{arn} to be active"),
        || async {
            let lb = describe_one(aws, Some(arn), None).await?;
            match lb.as_ref().and_then(|lb| lb.state()).and_then(|s| s.code()) {
                Some(LoadBalancerStateEnum::Active) => Ok(Some(())),
                Some(LoadBalancerStateEnum::Failed) => Err(invalid(
                    ELBV2,
                    "DescribeLoadBalancers",
                    format!(
                        "{arn} failed to provision: {}",
                        lb.as_ref()
                            .and_then(|lb| lb.state())
                            .and_then(|s| s.reason())
                            .unwrap_or("no reason given")
                    ),
                )),
                // Not visible yet, or still provisioning.
                _ => Ok(None),
            }
        },
    )
    .await
    .map_err(|e| in_service(ELBV2, e))
}

/// Waits until the network interfaces an application load balancer leaves
/// behind are gone. They block deleting its subnets and security groups;
/// the engine would retry those anyway, so running out of time here is
/// only logged.
async fn wait_interfaces_gone(aws: &Aws, prior: &Value, deadline: &Deadline) {
    let Some(suffix) = prior.get("arn_suffix").and_then(Value::as_str) else {
        return;
    };
    let description = format!("ELB {suffix}");
    let result = until(
        deadline,
        "DescribeNetworkInterfaces",
        &format!("the network interfaces of {suffix} to be released"),
        || async {
            let out = aws
                .ec2
                .describe_network_interfaces()
                .filters(crate::refresh::filter(
                    "description",
                    [description.as_str()],
                ))
                .send()
                .await
                .map_err(|e| crate::error::from_sdk("ec2", "DescribeNetworkInterfaces", e))?;
            Ok(out.network_interfaces().is_empty().then_some(()))
        },
    )
    .await;
    if let Err(e) = result {
        tracing::warn!(error = %e, "load balancer deleted; its network interfaces linger");
    }
}

pub(crate) struct Lb;

#[async_trait]
impl ResourceHandler for Lb {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let all = describe_all(aws).await?;
        let arns: Vec<String> = all
            .iter()
            .filter_map(|lb| lb.load_balancer_arn().map(str::to_string))
            .collect();
        let mut tags = elbv2_describe_tags(aws, &arns).await?;
        let owned: Vec<(elb::LoadBalancer, TagMap)> = all
            .into_iter()
            .filter_map(|lb| {
                let arn = lb.load_balancer_arn()?.to_string();
                let t = tags.remove(&arn).unwrap_or_default();
                is_owned(&arn, &t, &req.known, &req.owner).then_some((lb, t))
            })
            .collect();
        // No batch form of DescribeLoadBalancerAttributes exists.
        let with_attributes = read_each(aws, owned, |aws, (lb, tags)| async move {
            let arn = lb.load_balancer_arn().unwrap_or_default().to_string();
            match describe_attributes(&aws, &arn).await {
                Ok(a) => Ok(Some((lb, a, tags))),
                Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                Err(e) => Err(e),
            }
        })
        .await?;
        Ok(with_attributes
            .into_iter()
            .flatten()
            .map(|(lb, attributes, tags)| {
                let id = lb.load_balancer_arn().unwrap_or_default().to_string();
                let recorded = req.known.iter().find(|k| k.id == id).map(|k| &k.attrs);
                LiveResource {
                    address: address_for(&id, &tags, &req.known),
                    attrs: with_name_prefix(lb_attrs(&lb, &attributes, &tags), recorded),
                    id,
                }
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = lb_name(d, &req.idempotency_token);
        let arn = match adoptable(aws, req, &name).await? {
            Some(arn) => arn,
            None => {
                let call = create_input(aws, d, &name);
                // Subnets and security groups created a moment ago may not
                // be visible yet.
                let created = retry(&deadline, || async {
                    call.clone().send().await.elbv2("CreateLoadBalancer")
                })
                .await;
                match created {
                    Ok(out) => out
                        .load_balancers()
                        .first()
                        .and_then(|lb| lb.load_balancer_arn())
                        .ok_or_else(|| {
                            invalid(ELBV2, "CreateLoadBalancer", "the answer carries no ARN")
                        })?
                        .to_string(),
                    Err(e) if has_code(&e, "DuplicateLoadBalancerName") => {
                        adoptable(aws, req, &name).await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        async {
            modify_attributes(aws, &arn, desired_attributes(d), &deadline).await?;
            wait_active(aws, &arn, &deadline).await?;
            read(aws, &arn, d)
                .await?
                .ok_or_else(|| gone(ELBV2, "DescribeLoadBalancers", &arn))
        }
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// A load balancer of the same (known) name is looked up, and the
    /// subnets and security groups.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "name") {
            const ACTION: &str = "elasticloadbalancing:DescribeLoadBalancers";
            let existing = findings.read(ACTION, describe_one(aws, None, Some(name)).await)?;
            if let Some(arn) = existing.flatten().and_then(|lb| lb.load_balancer_arn) {
                const TAGS: &str = "elasticloadbalancing:DescribeTags";
                if let Some(tags) = findings.read(TAGS, elbv2_tags_of(aws, &arn).await)? {
                    findings.name_in_use(req, ACTION, "load balancer", name, &tags);
                }
            }
        }
        check_network(aws, &mut findings, d, "subnets", "security_groups").await?;
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = req.id.as_deref().ok_or_else(|| {
            invalid(
                ELBV2,
                "ModifyLoadBalancerAttributes",
                "update without an ID",
            )
        })?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |name: &str| req.changed.iter().any(|c| c == name);
        if changed("security_groups") {
            let groups = str_list(d, "security_groups");
            retry(&deadline, || async {
                aws.elbv2
                    .set_security_groups()
                    .load_balancer_arn(arn)
                    .set_security_groups(Some(groups.clone()))
                    .send()
                    .await
                    .elbv2("SetSecurityGroups")
            })
            .await?;
        }
        if changed("subnets") {
            let subnets = str_list(d, "subnets");
            retry(&deadline, || async {
                aws.elbv2
                    .set_subnets()
                    .load_balancer_arn(arn)
                    .set_subnets(Some(subnets.clone()))
                    .send()
                    .await
                    .elbv2("SetSubnets")
            })
            .await?;
        }
        if changed("ip_address_type") {
            if let Some(t) = opt_str(d, "ip_address_type") {
                aws.elbv2
                    .set_ip_address_type()
                    .load_balancer_arn(arn)
                    .ip_address_type(IpAddressType::from(t))
                    .send()
                    .await
                    .elbv2("SetIpAddressType")?;
            }
        }
        let attribute_args = ["idle_timeout", "enable_deletion_protection", "access_logs"]
            .into_iter()
            .chain(ALB_ATTRIBUTES.iter().map(|(arg, _, _)| *arg))
            .chain(["enable_cross_zone_load_balancing"]);
        if attribute_args.into_iter().any(&changed) {
            modify_attributes(aws, arn, desired_attributes(d), &deadline).await?;
        }
        elbv2_reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, d)
            .await?
            .ok_or_else(|| gone(ELBV2, "DescribeLoadBalancers", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // With deletion protection on, AWS answers OperationNotPermitted:
        // permanent, and its message says why.
        ignore_not_found(
            aws.elbv2
                .delete_load_balancer()
                .load_balancer_arn(&req.id)
                .send()
                .await
                .elbv2("DeleteLoadBalancer")
                .map(|_| ()),
        )?;
        until(
            &deadline,
            "DescribeLoadBalancers",
            &format!("{} to be deleted", req.id),
            || async {
                Ok(describe_one(aws, Some(&req.id), None)
                    .await?
                    .is_none()
                    .then_some(()))
            },
        )
        .await
        .map_err(|e| in_service(ELBV2, e))?;
        wait_interfaces_gone(aws, &req.prior, &deadline).await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use elb::{AvailabilityZone, LoadBalancerState};

    const ARN: &str =
        "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188";

    fn sample() -> elb::LoadBalancer {
        elb::LoadBalancer::builder()
            .load_balancer_arn(ARN)
            .load_balancer_name("web")
            .dns_name("web-1.eu-west-1.elb.amazonaws.com")
            .canonical_hosted_zone_id("Z32O12XQLNTSW2")
            .scheme(LoadBalancerSchemeEnum::InternetFacing)
            .r#type(LoadBalancerTypeEnum::Application)
            .vpc_id("vpc-1")
            .security_groups("sg-2")
            .security_groups("sg-1")
            .availability_zones(AvailabilityZone::builder().subnet_id("subnet-b").build())
            .availability_zones(AvailabilityZone::builder().subnet_id("subnet-a").build())
            .ip_address_type(IpAddressType::Ipv4)
            .state(
                LoadBalancerState::builder()
                    .code(LoadBalancerStateEnum::Active)
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_load_balancer_is_in_schema_shape() {
        let attributes: Attributes = [
            (DELETION_PROTECTION.to_string(), "true".to_string()),
            (IDLE_TIMEOUT.to_string(), "120".to_string()),
        ]
        .into();
        let tags: TagMap = [("Name".to_string(), "web".to_string())].into();
        let v = lb_attrs(&sample(), &attributes, &tags);
        assert_eq!(v.get("id"), Some(&Value::from(ARN)));
        assert_eq!(
            v.get("arn_suffix"),
            Some(&Value::from("app/web/50dc6c495c0c9188"))
        );
        assert_eq!(v.get("internal"), Some(&Value::Bool(false)));
        assert_eq!(
            v.get("subnets"),
            Some(&Value::from(vec!["subnet-a", "subnet-b"]))
        );
        assert_eq!(
            v.get("security_groups"),
            Some(&Value::from(vec!["sg-1", "sg-2"]))
        );
        assert_eq!(v.get("idle_timeout"), Some(&Value::from(120)));
        assert_eq!(
            v.get("enable_deletion_protection"),
            Some(&Value::Bool(true))
        );
        assert_eq!(v.get("zone_id"), Some(&Value::from("Z32O12XQLNTSW2")));
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([("Name", Value::from("web"))]))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn absent_attributes_read_as_aws_defaults() {
        let v = lb_attrs(&sample(), &Attributes::new(), &TagMap::new());
        assert_eq!(v.get("idle_timeout"), Some(&Value::from(60)));
        assert_eq!(
            v.get("enable_deletion_protection"),
            Some(&Value::Bool(false))
        );
    }

    #[test]
    fn desired_attributes_follow_the_spec() {
        let d = Value::map([
            ("load_balancer_type", Value::from("application")),
            ("idle_timeout", Value::from(30)),
            ("enable_deletion_protection", Value::Bool(true)),
        ]);
        let attrs = desired_attributes(&d);
        let pairs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|a| (a.key().unwrap(), a.value().unwrap()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                (DELETION_PROTECTION, "true"),
                (IDLE_TIMEOUT, "30"),
                (ACCESS_LOGS_ENABLED, "false")
            ]
        );
        let nlb = Value::map([("load_balancer_type", Value::from("network"))]);
        assert_eq!(desired_attributes(&nlb).len(), 2);
        let hardened = Value::map([
            ("drop_invalid_header_fields", Value::Bool(true)),
            ("desync_mitigation_mode", Value::from("strictest")),
            (
                "access_logs",
                Value::List(vec![Value::map([
                    ("bucket", Value::from("logs")),
                    ("prefix", Value::from("alb")),
                    ("enabled", Value::Bool(true)),
                ])]),
            ),
        ]);
        let attrs = desired_attributes(&hardened);
        let pairs: Vec<(&str, &str)> = attrs
            .iter()
            .map(|a| (a.key().unwrap(), a.value().unwrap()))
            .collect();
        for pair in [
            ("routing.http.drop_invalid_header_fields.enabled", "true"),
            ("routing.http.desync_mitigation_mode", "strictest"),
            (ACCESS_LOGS_ENABLED, "true"),
            (ACCESS_LOGS_BUCKET, "logs"),
            (ACCESS_LOGS_PREFIX, "alb"),
        ] {
            assert!(pairs.contains(&pair), "{pair:?} in {pairs:?}");
        }
        // What AWS reports reads back as the same arguments.
        let live: Attributes = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let args: std::collections::BTreeMap<_, _> =
            attribute_args("application", &live).into_iter().collect();
        assert_eq!(args["drop_invalid_header_fields"], Value::Bool(true));
        assert_eq!(args["enable_http2"], Value::Bool(true));
        assert_eq!(args["desync_mitigation_mode"], Value::from("strictest"));
        assert_eq!(args["access_logs"], hardened.get("access_logs").cloned().unwrap());
    }

    #[test]
    fn generated_names_fit_and_are_stable() {
        let d = Value::map([("name", Value::Null)]);
        let a = lb_name(&d, "token-1");
        assert!(a.starts_with("tf-lb-") && a.len() == 32, "{a}");
        assert_eq!(a, lb_name(&d, "token-1"));
        let p = Value::map([("name_prefix", Value::from("web-"))]);
        assert!(lb_name(&p, "t").starts_with("web-"));
        assert!(lb_name(&p, "t").len() <= 32);
        let n = Value::map([("name", Value::from("main"))]);
        assert_eq!(lb_name(&n, "t"), "main");
    }

    #[test]
    fn create_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("internal", Value::Bool(true)),
            ("load_balancer_type", Value::from("application")),
            ("subnets", Value::from(vec!["subnet-a", "subnet-b"])),
            ("security_groups", Value::from(vec!["sg-1"])),
            ("ip_address_type", Value::from("ipv4")),
            (
                "tags_all",
                Value::map([("stackd:stack", Value::from("prod"))]),
            ),
        ]);
        let call = create_input(&aws, &d, "web");
        let input = call.as_input();
        assert_eq!(input.get_name().as_deref(), Some("web"));
        assert_eq!(input.get_scheme(), &Some(LoadBalancerSchemeEnum::Internal));
        assert_eq!(input.get_type(), &Some(LoadBalancerTypeEnum::Application));
        assert_eq!(
            input.get_subnets(),
            &Some(vec!["subnet-a".to_string(), "subnet-b".to_string()])
        );
        assert_eq!(input.get_tags().as_ref().map(Vec::len), Some(1));
    }
}
