//! `aws_flow_log`: a flow log of a VPC, subnet, network interface or
//! transit gateway (attachment), delivered to CloudWatch Logs, S3 or
//! Kinesis Data Firehose.
//!
//! Every argument but `tags` forces a replacement, as in the Terraform
//! provider. `log_destination`, `log_group_name` and `log_format` are
//! optional and computed: AWS fills in the log group's ARN, the group name
//! and its default format. Refresh is one `DescribeFlowLogs` chain
//! (ownership tag, then known IDs by filter).

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    self, DestinationOptionsRequest, FlowLogsResourceType, LogDestinationType, ResourceType,
    TrafficType,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{NETWORK_INTERFACE, SUBNET, VPC, VPC_FLOW_LOG};
use crate::args::{blocks, bool_or, client_token, num, opt_int, opt_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::iam::pass_role;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// The attributes naming what is logged, with the ID prefix of each and
/// the resource type `CreateFlowLogs` takes. (`tgw-attach-` before `tgw-`.)
const SOURCES: [(&str, &str, &str); 5] = [
    ("vpc_id", "vpc-", "VPC"),
    ("subnet_id", "subnet-", "Subnet"),
    ("eni_id", "eni-", "NetworkInterface"),
    ("transit_gateway_attachment_id", "tgw-attach-", "TransitGatewayAttachment"),
    ("transit_gateway_id", "tgw-", "TransitGateway"),
];

/// The aggregation interval the provider defaults to, in seconds.
const DEFAULT_AGGREGATION: i64 = 600;

/// `aws_flow_log`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_flow_log",
    schema,
    handler: &FlowLog,
    grants: &[
        g(&["ec2:DescribeFlowLogs"], ANY),
        g(
            &["ec2:CreateFlowLogs"],
            &[VPC_FLOW_LOG, VPC, SUBNET, NETWORK_INTERFACE],
        ),
        g(
            &["ec2:CreateTags", "ec2:DeleteFlowLogs", "ec2:DeleteTags"],
            &[VPC_FLOW_LOG],
        ),
        // AWS checks these on the caller for S3 and Firehose destinations.
        g(&["logs:CreateLogDelivery", "logs:DeleteLogDelivery"], ANY),
        pass_role(&["vpc-flow-logs.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let new_opt = |name: &'static str, doc: &'static str| {
        AttrSchema::optional(name, AttrType::String)
            .force_new()
            .doc(doc)
    };
    let destination_options = BlockSchema::new("destination_options", Nesting::Single)
        .attr(AttrSchema::optional("file_format", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("hive_compatible_partitions", AttrType::Bool)
                .default(false)
                .force_new(),
        )
        .attr(
            AttrSchema::optional("per_hour_partition", AttrType::Bool)
                .default(false)
                .force_new(),
        );
    ResourceSchema::resource("aws_flow_log")
        .doc("A VPC flow log.")
        .attr(new_opt("vpc_id", "The VPC to log."))
        .attr(new_opt("subnet_id", "The subnet to log."))
        .attr(new_opt("eni_id", "The network interface to log."))
        .attr(new_opt("transit_gateway_id", "The transit gateway to log."))
        .attr(new_opt(
            "transit_gateway_attachment_id",
            "The transit gateway attachment to log.",
        ))
        .attr(new_opt(
            "traffic_type",
            "`ACCEPT`, `REJECT` or `ALL` (required but for transit gateways).",
        ))
        .attr(
            AttrSchema::optional("log_destination_type", AttrType::String)
                .default("cloud-watch-logs")
                .force_new()
                .doc("`cloud-watch-logs`, `s3` or `kinesis-data-firehose`."),
        )
        .attr(
            AttrSchema::optional_computed("log_destination", AttrType::String)
                .force_new()
                .doc("The ARN of the log group, bucket (and prefix) or delivery stream."),
        )
        .attr(
            AttrSchema::optional_computed("log_group_name", AttrType::String)
                .force_new()
                .doc("Deprecated: the log group (use `log_destination`)."),
        )
        .attr(new_opt(
            "iam_role_arn",
            "The role that publishes to CloudWatch Logs.",
        ))
        .attr(new_opt(
            "deliver_cross_account_role",
            "The role that publishes across accounts.",
        ))
        .attr(
            AttrSchema::optional("max_aggregation_interval", AttrType::Number)
                .default(DEFAULT_AGGREGATION)
                .force_new()
                .doc("Seconds a record aggregates: 60 or 600."),
        )
        .attr(
            AttrSchema::optional_computed("log_format", AttrType::String)
                .force_new()
                .doc("The record fields; AWS's default format when unset."),
        )
        .block(destination_options)
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The flow log's ARN."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

pub(crate) async fn describe_flow_logs(
    aws: &Aws,
    filters: Vec<types::Filter>,
) -> Result<Vec<types::FlowLog>, ProviderError> {
    aws.ec2
        .describe_flow_logs()
        .set_filter(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeFlowLogs")
}

async fn describe_one(aws: &Aws, id: &str) -> Result<Option<types::FlowLog>, ProviderError> {
    Ok(describe_flow_logs(aws, vec![filter("flow-log-id", [id])])
        .await?
        .into_iter()
        .next())
}

/// The attribute a logged resource's ID belongs in.
fn source_attr(resource_id: &str) -> Option<&'static str> {
    SOURCES
        .iter()
        .find(|(_, prefix, _)| resource_id.starts_with(prefix))
        .map(|(attr, _, _)| *attr)
}

/// Live attributes; `recorded` gives `destination_options`, which
/// `DescribeFlowLogs` answers only for S3 destinations.
fn flow_log_attrs(loc: &Location, fl: &types::FlowLog, recorded: Option<&Value>) -> Value {
    let id = fl.flow_log_id().unwrap_or_default();
    let resource = fl.resource_id().unwrap_or_default();
    let mut pairs: Vec<(&str, Value)> = SOURCES
        .iter()
        .map(|(attr, _, _)| {
            let v = if source_attr(resource) == Some(attr) {
                Value::from(resource)
            } else {
                Value::Null
            };
            (*attr, v)
        })
        .collect();
    let options = match fl.destination_options() {
        Some(o) => Value::List(vec![Value::map([
            ("file_format", s(o.file_format().map(|f| f.as_str()))),
            (
                "hive_compatible_partitions",
                Value::Bool(o.hive_compatible_partitions().unwrap_or(false)),
            ),
            (
                "per_hour_partition",
                Value::Bool(o.per_hour_partition().unwrap_or(false)),
            ),
        ])]),
        None => recorded
            .and_then(|r| r.get("destination_options"))
            .cloned()
            .unwrap_or(Value::Null),
    };
    pairs.extend([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(Some(account_of(fl)), &format!("vpc-flow-log/{id}"))),
        ),
        ("traffic_type", s(fl.traffic_type().map(|t| t.as_str()))),
        (
            "log_destination_type",
            Value::from(
                fl.log_destination_type()
                    .map(|t| t.as_str())
                    .unwrap_or("cloud-watch-logs"),
            ),
        ),
        ("log_destination", s(fl.log_destination())),
        ("log_group_name", s(fl.log_group_name())),
        ("iam_role_arn", s(fl.deliver_logs_permission_arn())),
        (
            "deliver_cross_account_role",
            s(fl.deliver_cross_account_role()),
        ),
        (
            "max_aggregation_interval",
            num(fl
                .max_aggregation_interval()
                .map(i64::from)
                .unwrap_or(DEFAULT_AGGREGATION)),
        ),
        ("log_format", s(fl.log_format())),
        ("destination_options", options),
        ("tags_all", tags_value(fl.tags())),
    ]);
    Value::map(pairs)
}

/// The account of a flow log: from its role or destination ARN, as
/// `DescribeFlowLogs` names no owner.
pub(crate) fn account_of(fl: &types::FlowLog) -> &str {
    [fl.deliver_logs_permission_arn(), fl.log_destination()]
        .into_iter()
        .flatten()
        .filter_map(|arn| arn.split(':').nth(4))
        .find(|a| !a.is_empty())
        .unwrap_or_default()
}

fn live(
    loc: &Location,
    logs: Vec<types::FlowLog>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    logs.into_iter()
        .filter_map(|fl| {
            let id = fl.flow_log_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, fl.tags(), known),
                attrs: flow_log_attrs(loc, &fl, crate::refresh::known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

/// The logged resource: its ID and `CreateFlowLogs` resource type.
fn source(d: &Value) -> Result<(String, &'static str), ProviderError> {
    let set: Vec<(String, &'static str)> = SOURCES
        .iter()
        .filter_map(|(attr, _, kind)| opt_str(d, attr).map(|id| (id.to_string(), *kind)))
        .collect();
    match set.as_slice() {
        [one] => Ok(one.clone()),
        _ => Err(invalid(
            "CreateFlowLogs",
            "exactly one of vpc_id, subnet_id, eni_id, transit_gateway_id and \
             transit_gateway_attachment_id must be set",
        )),
    }
}

/// The arguments `CreateFlowLogs` sends.
const CREATE_ARGS: &[&str] = &[
    "vpc_id",
    "subnet_id",
    "eni_id",
    "transit_gateway_id",
    "transit_gateway_attachment_id",
    "traffic_type",
    "log_destination_type",
    "log_destination",
    "log_group_name",
    "iam_role_arn",
    "deliver_cross_account_role",
    "max_aggregation_interval",
    "log_format",
    "destination_options",
    "tags_all",
];

fn create_call(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::create_flow_logs::builders::CreateFlowLogsFluentBuilder,
    ProviderError,
> {
    let (resource, kind) = source(d)?;
    let options = blocks(d, "destination_options").first().map(|o| {
        DestinationOptionsRequest::builder()
            .set_file_format(opt_str(o, "file_format").map(Into::into))
            .hive_compatible_partitions(bool_or(o, "hive_compatible_partitions", false))
            .per_hour_partition(bool_or(o, "per_hour_partition", false))
            .build()
    });
    Ok(aws
        .ec2
        .create_flow_logs()
        .resource_ids(resource)
        .resource_type(FlowLogsResourceType::from(kind))
        .set_traffic_type(opt_str(d, "traffic_type").map(TrafficType::from))
        .log_destination_type(LogDestinationType::from(
            opt_str(d, "log_destination_type").unwrap_or("cloud-watch-logs"),
        ))
        .set_log_destination(opt_str(d, "log_destination").map(str::to_string))
        .set_log_group_name(opt_str(d, "log_group_name").map(str::to_string))
        .set_deliver_logs_permission_arn(opt_str(d, "iam_role_arn").map(str::to_string))
        .set_deliver_cross_account_role(
            opt_str(d, "deliver_cross_account_role").map(str::to_string),
        )
        .max_aggregation_interval(
            opt_int(d, "max_aggregation_interval").unwrap_or(DEFAULT_AGGREGATION) as i32,
        )
        .set_log_format(opt_str(d, "log_format").map(str::to_string))
        .set_destination_options(options)
        .client_token(token)
        .set_tag_specifications(
            tag_specification(ResourceType::VpcFlowLog, d, create_token).map(|t| vec![t]),
        ))
}

/// The error of an item `CreateFlowLogs` or `DeleteFlowLogs` could not
/// process.
fn unsuccessful(operation: &str, items: &[types::UnsuccessfulItem]) -> Option<ProviderError> {
    let item = items.first()?;
    let error = item.error();
    let code = error.and_then(|e| e.code()).unwrap_or_default();
    let message = error.and_then(|e| e.message()).unwrap_or_default();
    Some(invalid(
        operation,
        format!(
            "{}: {code}: {message}",
            item.resource_id().unwrap_or_default()
        ),
    ))
}

pub(crate) struct FlowLog;

#[async_trait]
impl ResourceHandler for FlowLog {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let logs = find_owned(req, "flow-log-id", types::FlowLog::flow_log_id, |f| {
            describe_flow_logs(aws, f)
        })
        .await?;
        Ok(live(&aws.loc, logs, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_flow_logs(aws, f)).await?;
        Ok(found.map(|fl| flow_log_attrs(&aws.loc, &fl, Some(&req.desired))))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateFlowLogs";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let call = create_call(
            aws,
            d,
            client_token(&req.idempotency_token),
            Some(&req.idempotency_token),
        )?;
        // The client token makes retrying safe (a VPC or role too new to be
        // visible yet).
        let out = retry(&deadline, || async { call.clone().send().await.ec2(OP) }).await?;
        if let Some(e) = unsuccessful(OP, out.unsuccessful()) {
            return Err(e);
        }
        let id = out
            .flow_log_ids()
            .first()
            .ok_or_else(|| invalid(OP, "the answer carries no flow log ID"))?
            .to_string();
        until(
            &deadline,
            "DescribeFlowLogs",
            &format!("{id} to be visible"),
            || async {
                Ok(describe_one(aws, &id)
                    .await?
                    .map(|fl| flow_log_attrs(&aws.loc, &fl, Some(d))))
            },
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// `CreateFlowLogs` is sent with `DryRun=true` once its arguments are
    /// known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, dry_run_token(req), None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateFlowLogs");
            findings.dry_run("ec2:CreateFlowLogs", answer, |out| {
                out.flow_log_ids().first().cloned()
            })?;
        }
        Ok(findings.into_vec())
    }

    /// Only tags change in place.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("CreateTags", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        reconcile(aws, id, &prior, &req.desired, &deadline).await?;
        describe_one(aws, id)
            .await?
            .map(|fl| flow_log_attrs(&aws.loc, &fl, Some(&req.desired)))
            .ok_or_else(|| gone("DescribeFlowLogs", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteFlowLogs";
        let out = aws
            .ec2
            .delete_flow_logs()
            .flow_log_ids(&req.id)
            .send()
            .await
            .ec2(OP);
        ignore_not_found(out.and_then(|o| {
            match unsuccessful(OP, o.unsuccessful()) {
                // A flow log already gone is fine.
                Some(e) if e.to_string().contains("NotFound") => Ok(()),
                Some(e) => Err(e),
                None => Ok(()),
            }
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flow_log() -> types::FlowLog {
        types::FlowLog::builder()
            .flow_log_id("fl-1")
            .resource_id("subnet-1")
            .traffic_type(TrafficType::Reject)
            .log_destination_type(LogDestinationType::S3)
            .log_destination("arn:aws:s3:::bucket/prefix/")
            .max_aggregation_interval(60)
            .build()
    }

    #[test]
    fn the_logged_resource_reads_into_its_attribute() {
        assert_eq!(source_attr("tgw-attach-1"), Some("transit_gateway_attachment_id"));
        assert_eq!(source_attr("tgw-1"), Some("transit_gateway_id"));
        assert_eq!(source_attr("eni-1"), Some("eni_id"));
        let v = flow_log_attrs(&Location::new("us-east-1"), &flow_log(), None);
        assert_eq!(v.get("subnet_id"), Some(&Value::from("subnet-1")));
        assert_eq!(v.get("vpc_id"), Some(&Value::Null));
        assert_eq!(v.get("max_aggregation_interval"), Some(&num(60)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn exactly_one_source_is_taken() {
        let both = Value::map([
            ("vpc_id", Value::from("vpc-1")),
            ("subnet_id", Value::from("subnet-1")),
        ]);
        assert!(source(&both).is_err());
        let one = Value::map([("eni_id", Value::from("eni-1"))]);
        assert_eq!(source(&one).unwrap(), ("eni-1".to_string(), "NetworkInterface"));
    }
}
