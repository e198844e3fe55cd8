//! `aws_cloudwatch_log_metric_filter`: a metric filter of a CloudWatch Logs
//! log group. Its ID is its name, as in Terraform; `stackd import` takes
//! Terraform's import ID, `LOG_GROUP:NAME`.
//!
//! Filters carry no tags, so ownership is the stack's state alone; a filter
//! of the same name found by a create is this create's only when it was made
//! after the create's pending record (`PutMetricFilter` would otherwise
//! overwrite someone else's). A refresh makes one `DescribeMetricFilters`
//! chain per log group of the known filters (filtered by their names'
//! common prefix): the prefix filter needs the group, so filters of several
//! groups are not read in one chain.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::{MetricFilter, MetricTransformation, StandardUnit};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::LOG_GROUP;
use crate::args::{blocks, common_prefix, opt_str, s, str_map};
use crate::context::Aws;
use crate::elbv2_ecs_util::at_most_one;
use crate::error::after_create;
use crate::iam_util::{
    bounded_all, found, gone, ignore_gone, invalid, made_by_this_create, required, AwsResult,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

const LOGS: &str = "logs";

/// `aws_cloudwatch_log_metric_filter`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_log_metric_filter",
    schema,
    handler: &CloudwatchLogMetricFilter,
    grants: &[g(
        &[
            "logs:DeleteMetricFilter",
            "logs:DescribeMetricFilters",
            "logs:PutMetricFilter",
        ],
        &[LOG_GROUP],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_log_metric_filter")
        .doc("A metric filter: log events matching a pattern become a CloudWatch metric.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The filter's name (no `:` or `*`)."),
        )
        .attr(
            AttrSchema::required("log_group_name", AttrType::String)
                .force_new()
                .doc("The log group the filter reads."),
        )
        .attr(
            AttrSchema::required("pattern", AttrType::String)
                .normalize(trimmed)
                .doc("The filter pattern; empty matches every event."),
        )
        .attr(
            AttrSchema::optional("apply_on_transformed_logs", AttrType::Bool)
                .default(false)
                .doc("Apply the filter to the transformed version of the log events."),
        )
        .block(
            at_most_one(BlockSchema::new("metric_transformation", Nesting::List))
                .required()
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::required("namespace", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String))
                .attr(AttrSchema::optional("default_value", AttrType::String))
                .attr(AttrSchema::optional("unit", AttrType::String).default("None"))
                .attr(AttrSchema::optional(
                    "dimensions",
                    AttrType::map_of(AttrType::String),
                )),
        )
}

/// Terraform trims the pattern it stores (its `StateFunc`).
fn trimmed(v: &Value) -> Value {
    v.as_str()
        .map_or_else(|| v.clone(), |p| Value::from(p.trim()))
}

/// A number as Terraform's `FormatFloat(f, 'f', -1, 64)` writes it.
fn float_text(f: f64) -> String {
    format!("{f}")
}

fn transformation_attrs(t: &MetricTransformation) -> Value {
    let dims = t.dimensions().filter(|d| !d.is_empty()).map_or(Value::Null, |d| {
        Value::Map(
            d.iter()
                .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                .collect(),
        )
    });
    Value::map([
        ("name", Value::from(t.metric_name())),
        ("namespace", Value::from(t.metric_namespace())),
        ("value", Value::from(t.metric_value())),
        (
            "default_value",
            t.default_value()
                .map_or(Value::Null, |f| Value::from(float_text(f))),
        ),
        (
            "unit",
            Value::from(t.unit().map_or("None", StandardUnit::as_str)),
        ),
        ("dimensions", dims),
    ])
}

fn filter_attrs(group: &str, f: &MetricFilter) -> Value {
    Value::map([
        ("id", s(f.filter_name())),
        ("name", s(f.filter_name())),
        ("log_group_name", Value::from(group)),
        (
            "pattern",
            Value::from(f.filter_pattern().unwrap_or("").trim()),
        ),
        (
            "apply_on_transformed_logs",
            Value::Bool(f.apply_on_transformed_logs()),
        ),
        (
            "metric_transformation",
            Value::List(
                f.metric_transformations()
                    .iter()
                    .map(transformation_attrs)
                    .collect(),
            ),
        ),
    ])
}

/// The log group and name of a known filter: from its recorded arguments,
/// or from Terraform's import ID `GROUP:NAME`.
fn group_and_name(k: &KnownResource) -> Option<(String, String)> {
    if let Some(group) = opt_str(&k.attrs, "log_group_name") {
        return Some((group.to_string(), k.id.clone()));
    }
    let (group, name) = k.id.split_once(':')?;
    Some((group.to_string(), name.to_string()))
}

/// The filters of `group` whose names begin with `prefix`; `Ok(None)` when
/// the group is gone.
async fn describe(
    aws: &Aws,
    group: &str,
    prefix: &str,
) -> Result<Option<Vec<MetricFilter>>, ProviderError> {
    let call = aws
        .logs
        .describe_metric_filters()
        .log_group_name(group)
        .set_filter_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()));
    found(
        call.into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(LOGS, "DescribeMetricFilters"),
    )
}

async fn find_one(aws: &Aws, group: &str, name: &str) -> Result<Option<MetricFilter>, ProviderError> {
    Ok(describe(aws, group, name)
        .await?
        .unwrap_or_default()
        .into_iter()
        .find(|f| f.filter_name() == Some(name)))
}

/// `PutMetricFilter` with every argument of `d`.
async fn put(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutMetricFilter";
    let name = required(d, "name", LOGS, OP)?;
    let group = required(d, "log_group_name", LOGS, OP)?;
    let pattern = d.get("pattern").and_then(Value::as_str).unwrap_or("").trim();
    let transformations = blocks(d, "metric_transformation")
        .iter()
        .map(|t| {
            let default_value = match opt_str(t, "default_value") {
                Some(text) => Some(text.trim().parse::<f64>().map_err(|_| {
                    invalid(
                        LOGS,
                        OP,
                        format!("metric_transformation.default_value {text:?} is not a number"),
                    )
                })?),
                None => None,
            };
            let dims: std::collections::HashMap<String, String> =
                str_map(t, "dimensions").into_iter().collect();
            MetricTransformation::builder()
                .metric_name(opt_str(t, "name").unwrap_or_default())
                .metric_namespace(opt_str(t, "namespace").unwrap_or_default())
                .metric_value(opt_str(t, "value").unwrap_or_default())
                .set_default_value(default_value)
                .set_unit(opt_str(t, "unit").map(StandardUnit::from))
                .set_dimensions((!dims.is_empty()).then_some(dims))
                .build()
                .map_err(|e| invalid(LOGS, OP, e.to_string()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let call = aws
        .logs
        .put_metric_filter()
        .log_group_name(group)
        .filter_name(name)
        .filter_pattern(pattern)
        .set_apply_on_transformed_logs(d.get("apply_on_transformed_logs").and_then(Value::as_bool))
        .set_metric_transformations(Some(transformations));
    // The log group created a moment ago may not be visible yet.
    retry(deadline, || async { call.clone().send().await.aws(LOGS, OP) })
        .await
        .map(|_| ())
}

/// Reads until the filter shows the pattern `d` asks for.
async fn read_settled(
    aws: &Aws,
    group: &str,
    name: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let pattern = d
        .get("pattern")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    until(
        deadline,
        "DescribeMetricFilters",
        &format!("metric filter {group}:{name} to be readable"),
        || async {
            Ok(find_one(aws, group, name)
                .await?
                .map(|f| filter_attrs(group, &f))
                .filter(|v| v.get("pattern").and_then(Value::as_str) == Some(pattern.as_str())))
        },
    )
    .await
}

pub(crate) struct CloudwatchLogMetricFilter;

#[async_trait]
impl ResourceHandler for CloudwatchLogMetricFilter {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_group: BTreeMap<String, Vec<(String, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            if let Some((group, name)) = group_and_name(k) {
                by_group.entry(group).or_default().push((name, k));
            }
        }
        let reads = by_group.iter().map(|(group, wanted)| async move {
            let names: Vec<&str> = wanted.iter().map(|(n, _)| n.as_str()).collect();
            let filters = describe(aws, group, &common_prefix(&names)).await?;
            let mut live = Vec::new();
            for f in filters.unwrap_or_default() {
                let Some((name, k)) = wanted
                    .iter()
                    .find(|(n, _)| Some(n.as_str()) == f.filter_name())
                else {
                    continue;
                };
                live.push(LiveResource {
                    address: Some(k.address.clone()),
                    id: name.clone(),
                    attrs: filter_attrs(group, &f),
                });
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
        const OP: &str = "PutMetricFilter";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", LOGS, OP)?;
        let group = required(d, "log_group_name", LOGS, OP)?;
        if name.contains([':', '*']) {
            return Err(invalid(
                LOGS,
                OP,
                format!("metric filter name {name:?} may not contain ':' or '*'"),
            ));
        }
        // PutMetricFilter overwrites a filter of the same name: only one
        // made after this create's pending record is taken for its own.
        if let Some(existing) = find_one(aws, group, name).await? {
            let mine = existing
                .creation_time()
                .is_some_and(|ms| made_by_this_create(ms / 1000, req.pending_since.as_deref()));
            if !mine {
                return Err(invalid(
                    LOGS,
                    OP,
                    format!(
                        "metric filter {name:?} already exists in log group {group:?} and is not \
                         in this stack's state; `stackd import` it, or choose another name"
                    ),
                ));
            }
            tracing::info!(metric_filter = %name, "adopting the metric filter an earlier attempt created");
        }
        put(aws, d, &deadline).await?;
        read_settled(aws, group, name, d, &deadline)
            .await
            .map_err(|e| after_create(name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", LOGS, "PutMetricFilter")?;
        let group = required(d, "log_group_name", LOGS, "PutMetricFilter")?;
        if find_one(aws, group, name).await?.is_none() {
            return Err(gone(LOGS, "DescribeMetricFilters", name));
        }
        put(aws, d, &deadline).await?;
        read_settled(aws, group, name, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let (group, name) = group_and_name(&known)
            .ok_or_else(|| invalid(LOGS, "DeleteMetricFilter", "the log group is not known"))?;
        // Sent once: a group already gone has no filter left to delete.
        ignore_gone(
            aws.logs
                .delete_metric_filter()
                .log_group_name(&group)
                .filter_name(&name)
                .send()
                .await
                .aws(LOGS, "DeleteMetricFilter"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_id_gives_group_and_name() {
        let k = KnownResource {
            address: "aws_cloudwatch_log_metric_filter.f".parse().unwrap(),
            id: "/ecs/app:errors".into(),
            attrs: Value::Null,
        };
        assert_eq!(
            group_and_name(&k),
            Some(("/ecs/app".to_string(), "errors".to_string()))
        );
    }

    #[test]
    fn a_described_filter_is_in_schema_shape() {
        let f = MetricFilter::builder()
            .filter_name("errors")
            .filter_pattern(" ERROR ")
            .metric_transformations(
                MetricTransformation::builder()
                    .metric_name("Errors")
                    .metric_namespace("App")
                    .metric_value("1")
                    .default_value(0.0)
                    .build()
                    .unwrap(),
            )
            .build();
        let v = filter_attrs("/g", &f);
        assert_eq!(v.get("pattern"), Some(&Value::from("ERROR")));
        let t = &v.get("metric_transformation").and_then(Value::as_list).unwrap()[0];
        assert_eq!(t.get("default_value"), Some(&Value::from("0")));
        assert_eq!(t.get("unit"), Some(&Value::from("None")));
        assert_eq!(float_text(1.5), "1.5");
    }
}
