//! `aws_cloudwatch_metric_alarm`: an alarm on one metric or on a metric
//! math expression (`metric_query`). Its ID is its name, as in Terraform
//! (also the import ID).
//!
//! `PutMetricAlarm` both creates and changes an alarm, so a create first
//! looks the name up: an alarm carrying another stack's (or no) ownership
//! tags is refused, never overwritten. A refresh is one `DescribeAlarms`
//! chain for all known names (100 per call), then `ListTagsForResource`
//! per alarm: CloudWatch has no batch read of tags.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat,
    StandardUnit, Statistic, Tag,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::ALARM;
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, set_or_null, sort_blocks, str_list, str_map};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    address_of, bounded_all, conflict, found, ignore_gone, invalid, live_tags, ours, required,
    tags_attr, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by};
use crate::wait::{retry, until, Deadline};

const CLOUDWATCH: &str = "cloudwatch";

/// `aws_cloudwatch_metric_alarm`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_metric_alarm",
    schema,
    handler: &CloudwatchMetricAlarm,
    grants: &[
        g(&["cloudwatch:DescribeAlarms"], ANY),
        g(
            &[
                "cloudwatch:DeleteAlarms",
                "cloudwatch:ListTagsForResource",
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
            ],
            &[ALARM],
        ),
    ],
    source: file!(),
};

fn metric_query_block() -> BlockSchema {
    BlockSchema::new("metric_query", Nesting::Set)
        .attr(AttrSchema::required("id", AttrType::String))
        .attr(AttrSchema::optional("expression", AttrType::String))
        .attr(AttrSchema::optional("label", AttrType::String))
        .attr(AttrSchema::optional("return_data", AttrType::Bool).default(false))
        .attr(AttrSchema::optional("period", AttrType::Number))
        .attr(AttrSchema::optional("account_id", AttrType::String))
        .block(
            BlockSchema::new("metric", Nesting::Single)
                .attr(AttrSchema::required("metric_name", AttrType::String))
                .attr(AttrSchema::optional("namespace", AttrType::String))
                .attr(AttrSchema::required("period", AttrType::Number))
                .attr(AttrSchema::required("stat", AttrType::String))
                .attr(AttrSchema::optional("unit", AttrType::String))
                .attr(AttrSchema::optional(
                    "dimensions",
                    AttrType::map_of(AttrType::String),
                )),
        )
}

pub(crate) fn schema() -> ResourceSchema {
    let strings = || AttrType::set_of(AttrType::String);
    ResourceSchema::resource("aws_cloudwatch_metric_alarm")
        .doc("A CloudWatch metric alarm.")
        .attr(
            AttrSchema::required("alarm_name", AttrType::String)
                .force_new()
                .doc("The alarm's name, unique in the region."),
        )
        .attr(
            AttrSchema::required("comparison_operator", AttrType::String).check(Check::OneOf(
                vec![
                    "GreaterThanOrEqualToThreshold",
                    "GreaterThanThreshold",
                    "LessThanThreshold",
                    "LessThanOrEqualToThreshold",
                    "LessThanLowerOrGreaterThanUpperThreshold",
                    "LessThanLowerThreshold",
                    "GreaterThanUpperThreshold",
                ],
            )),
        )
        .attr(AttrSchema::required("evaluation_periods", AttrType::Number))
        .attr(AttrSchema::optional("metric_name", AttrType::String))
        .attr(AttrSchema::optional("namespace", AttrType::String))
        .attr(AttrSchema::optional("period", AttrType::Number))
        .attr(AttrSchema::optional("statistic", AttrType::String).check(Check::OneOf(vec![
            "SampleCount",
            "Average",
            "Sum",
            "Minimum",
            "Maximum",
        ])))
        .attr(AttrSchema::optional("extended_statistic", AttrType::String))
        .attr(AttrSchema::optional("threshold", AttrType::Number))
        .attr(AttrSchema::optional("threshold_metric_id", AttrType::String))
        .attr(AttrSchema::optional("actions_enabled", AttrType::Bool).default(true))
        .attr(AttrSchema::optional("alarm_actions", strings()))
        .attr(AttrSchema::optional("ok_actions", strings()))
        .attr(AttrSchema::optional("insufficient_data_actions", strings()))
        .attr(AttrSchema::optional("alarm_description", AttrType::String))
        .attr(AttrSchema::optional("datapoints_to_alarm", AttrType::Number))
        .attr(AttrSchema::optional(
            "dimensions",
            AttrType::map_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("unit", AttrType::String))
        .attr(
            AttrSchema::optional("treat_missing_data", AttrType::String)
                .default("missing")
                .check(Check::OneOf(vec!["missing", "ignore", "breaching", "notBreaching"])),
        )
        .attr(AttrSchema::optional_computed(
            "evaluate_low_sample_count_percentiles",
            AttrType::String,
        ))
        .block(metric_query_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The alarm's ARN."))
        .taggable()
}

fn dimensions_map(dims: &[Dimension]) -> Value {
    if dims.is_empty() {
        return Value::Null;
    }
    Value::Map(
        dims.iter()
            .filter_map(|d| Some((d.name()?.to_string(), Value::from(d.value()?))))
            .collect(),
    )
}

fn opt_num(n: Option<i32>) -> Value {
    n.map_or(Value::Null, num)
}

fn query_attrs(q: &MetricDataQuery) -> Value {
    let metric = q.metric_stat().map(|st| {
        let m = st.metric();
        Value::List(vec![Value::map([
            ("metric_name", s(m.and_then(Metric::metric_name))),
            ("namespace", s(m.and_then(Metric::namespace))),
            ("period", opt_num(st.period())),
            ("stat", s(st.stat())),
            ("unit", s(st.unit().map(StandardUnit::as_str))),
            (
                "dimensions",
                m.map_or(Value::Null, |m| dimensions_map(m.dimensions())),
            ),
        ])])
    });
    Value::map([
        ("id", s(q.id())),
        ("expression", s(q.expression())),
        ("label", s(q.label())),
        ("return_data", Value::Bool(q.return_data().unwrap_or(false))),
        ("period", opt_num(q.period())),
        ("account_id", s(q.account_id())),
        ("metric", metric.unwrap_or(Value::Null)),
    ])
}

fn alarm_attrs(a: &MetricAlarm, tags: &BTreeMap<String, String>) -> Value {
    let strings = |items: &[String]| set_or_null(items.to_vec());
    let queries: Vec<Value> = a.metrics().iter().map(query_attrs).collect();
    Value::map([
        ("id", s(a.alarm_name())),
        ("alarm_name", s(a.alarm_name())),
        (
            "comparison_operator",
            s(a.comparison_operator().map(ComparisonOperator::as_str)),
        ),
        ("evaluation_periods", opt_num(a.evaluation_periods())),
        ("metric_name", s(a.metric_name())),
        ("namespace", s(a.namespace())),
        ("period", opt_num(a.period())),
        ("statistic", s(a.statistic().map(Statistic::as_str))),
        ("extended_statistic", s(a.extended_statistic())),
        ("threshold", a.threshold().map_or(Value::Null, Value::Number)),
        ("threshold_metric_id", s(a.threshold_metric_id())),
        ("actions_enabled", Value::Bool(a.actions_enabled().unwrap_or(true))),
        ("alarm_actions", strings(a.alarm_actions())),
        ("ok_actions", strings(a.ok_actions())),
        ("insufficient_data_actions", strings(a.insufficient_data_actions())),
        ("alarm_description", s(a.alarm_description())),
        ("datapoints_to_alarm", opt_num(a.datapoints_to_alarm())),
        ("dimensions", dimensions_map(a.dimensions())),
        ("unit", s(a.unit().map(StandardUnit::as_str))),
        (
            "treat_missing_data",
            Value::from(a.treat_missing_data().unwrap_or("missing")),
        ),
        (
            "evaluate_low_sample_count_percentiles",
            s(a.evaluate_low_sample_count_percentile()),
        ),
        (
            "metric_query",
            if queries.is_empty() {
                Value::Null
            } else {
                Value::List(sort_blocks(queries))
            },
        ),
        ("arn", s(a.alarm_arn())),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// CloudWatch's limit on alarm names per `DescribeAlarms` call.
const MAX_NAMES: usize = 100;

async fn describe(aws: &Aws, names: &[&str]) -> Result<Vec<MetricAlarm>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_NAMES) {
        let mut next: Option<String> = None;
        loop {
            let page = aws
                .cloudwatch
                .describe_alarms()
                .set_alarm_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
                .set_next_token(next.take())
                .send()
                .await
                .aws(CLOUDWATCH, "DescribeAlarms")?;
            out.extend(page.metric_alarms().iter().cloned());
            match page.next_token() {
                Some(t) if !t.is_empty() => next = Some(t.to_string()),
                _ => break,
            }
        }
    }
    Ok(out)
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .cloudwatch
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(CLOUDWATCH, "ListTagsForResource")?;
    Ok(out
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
        .collect())
}

/// The alarms with these names, with their tags.
async fn read_alarms(
    aws: &Aws,
    names: &[&str],
) -> Result<Vec<(MetricAlarm, BTreeMap<String, String>)>, ProviderError> {
    let alarms = describe(aws, names).await?;
    let tags = bounded_all(alarms.iter().map(|a| async move {
        match a.alarm_arn() {
            Some(arn) => found(tags_of(aws, arn).await).map(Option::unwrap_or_default),
            None => Ok(BTreeMap::new()),
        }
    }))
    .await;
    alarms
        .into_iter()
        .zip(tags)
        .map(|(a, t)| Ok((a, t?)))
        .collect()
}

async fn read_one(aws: &Aws, name: &str) -> Result<Option<Value>, ProviderError> {
    Ok(read_alarms(aws, &[name])
        .await?
        .into_iter()
        .find(|(a, _)| a.alarm_name() == Some(name))
        .map(|(a, tags)| alarm_attrs(&a, &tags)))
}

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).and_then(|n| i32::try_from(n).ok())
}

fn sdk_dimensions(v: &Value, key: &str) -> Option<Vec<Dimension>> {
    let dims: Vec<Dimension> = str_map(v, key)
        .into_iter()
        .map(|(k, v)| Dimension::builder().name(k).value(v).build())
        .collect();
    (!dims.is_empty()).then_some(dims)
}

fn sdk_queries(d: &Value) -> Option<Vec<MetricDataQuery>> {
    let queries: Vec<MetricDataQuery> = blocks(d, "metric_query")
        .iter()
        .map(|q| {
            let stat = blocks(q, "metric").first().map(|m| {
                MetricStat::builder()
                    .metric(
                        Metric::builder()
                            .set_metric_name(opt_str(m, "metric_name").map(str::to_string))
                            .set_namespace(opt_str(m, "namespace").map(str::to_string))
                            .set_dimensions(sdk_dimensions(m, "dimensions"))
                            .build(),
                    )
                    .set_period(int(m, "period"))
                    .set_stat(opt_str(m, "stat").map(str::to_string))
                    .set_unit(opt_str(m, "unit").map(StandardUnit::from))
                    .build()
            });
            MetricDataQuery::builder()
                .set_id(opt_str(q, "id").map(str::to_string))
                .set_expression(opt_str(q, "expression").map(str::to_string))
                .set_label(opt_str(q, "label").map(str::to_string))
                .return_data(bool_or(q, "return_data", false))
                .set_period(int(q, "period"))
                .set_account_id(opt_str(q, "account_id").map(str::to_string))
                .set_metric_stat(stat)
                .build()
        })
        .collect();
    (!queries.is_empty()).then_some(queries)
}

fn nonempty(items: Vec<String>) -> Option<Vec<String>> {
    (!items.is_empty()).then_some(items)
}

/// `PutMetricAlarm` with every argument of `d`; `tags` only on a create
/// (CloudWatch ignores them for an alarm that exists).
async fn put(
    aws: &Aws,
    d: &Value,
    with_tags: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    const OP: &str = "PutMetricAlarm";
    let name = required(d, "alarm_name", CLOUDWATCH, OP)?;
    let periods = int(d, "evaluation_periods")
        .ok_or_else(|| invalid(CLOUDWATCH, OP, "evaluation_periods must be a whole number"))?;
    let tags = with_tags.then(|| {
        desired_tags(d)
            .into_iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect()
    });
    let call = aws
        .cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .comparison_operator(ComparisonOperator::from(required(
            d,
            "comparison_operator",
            CLOUDWATCH,
            OP,
        )?))
        .evaluation_periods(periods)
        .set_metric_name(opt_str(d, "metric_name").map(str::to_string))
        .set_namespace(opt_str(d, "namespace").map(str::to_string))
        .set_period(int(d, "period"))
        .set_statistic(opt_str(d, "statistic").map(Statistic::from))
        .set_extended_statistic(opt_str(d, "extended_statistic").map(str::to_string))
        .set_threshold(d.get("threshold").and_then(Value::as_f64))
        .set_threshold_metric_id(opt_str(d, "threshold_metric_id").map(str::to_string))
        .actions_enabled(bool_or(d, "actions_enabled", true))
        .set_alarm_actions(nonempty(str_list(d, "alarm_actions")))
        .set_ok_actions(nonempty(str_list(d, "ok_actions")))
        .set_insufficient_data_actions(nonempty(str_list(d, "insufficient_data_actions")))
        .set_alarm_description(opt_str(d, "alarm_description").map(str::to_string))
        .set_datapoints_to_alarm(int(d, "datapoints_to_alarm"))
        .set_dimensions(sdk_dimensions(d, "dimensions"))
        .set_unit(opt_str(d, "unit").map(StandardUnit::from))
        .set_treat_missing_data(opt_str(d, "treat_missing_data").map(str::to_string))
        .set_evaluate_low_sample_count_percentile(
            opt_str(d, "evaluate_low_sample_count_percentiles").map(str::to_string),
        )
        .set_metrics(sdk_queries(d))
        .set_tags(tags);
    retry(deadline, || async { call.clone().send().await.aws(CLOUDWATCH, OP) })
        .await
        .map(|_| ())
}

async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.cloudwatch
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(CLOUDWATCH, "UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.cloudwatch
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(
                    tags.into_iter()
                        .map(|(k, v)| Tag::builder().key(k).value(v).build())
                        .collect(),
                ))
                .send()
                .await
                .aws(CLOUDWATCH, "TagResource")
                .map(|_| ())
        },
    )
    .await
}

pub(crate) struct CloudwatchMetricAlarm;

#[async_trait]
impl ResourceHandler for CloudwatchMetricAlarm {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<&str> = req
            .known
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        Ok(read_alarms(aws, &names)
            .await?
            .into_iter()
            .filter_map(|(a, tags)| {
                let id = a.alarm_name()?.to_string();
                Some(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: alarm_attrs(&a, &tags),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "alarm_name", CLOUDWATCH, "PutMetricAlarm")?;
        if let Some(existing) = read_one(aws, name).await? {
            let live = live_tags(&existing);
            if !ours(&live, &req.owner, &req.address) {
                return Err(invalid(
                    CLOUDWATCH,
                    "PutMetricAlarm",
                    conflict("metric alarm", name, &live, &req.owner),
                ));
            }
            tracing::info!(alarm = %name, "updating the alarm an earlier attempt created");
        }
        put(aws, d, true, &deadline).await?;
        until(
            &deadline,
            "DescribeAlarms",
            &format!("metric alarm {name} to be readable"),
            || read_one(aws, name),
        )
        .await
        .map_err(|e| after_create(name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "alarm_name", CLOUDWATCH, "PutMetricAlarm")?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req.changed.iter().any(|c| c != "tags_all" && c != "tags") {
            put(aws, d, false, &deadline).await?;
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read_one(aws, name)
            .await?
            .ok_or_else(|| crate::iam_util::gone(CLOUDWATCH, "DescribeAlarms", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_gone(
            retry(&deadline, || async {
                aws.cloudwatch
                    .delete_alarms()
                    .alarm_names(&req.id)
                    .send()
                    .await
                    .aws(CLOUDWATCH, "DeleteAlarms")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dimensions_read_back_as_the_map_written() {
        let d = Value::map([(
            "dimensions",
            Value::map([
                ("ClusterName", Value::from("prod")),
                ("ServiceName", Value::from("api")),
            ]),
        )]);
        let dims = sdk_dimensions(&d, "dimensions").unwrap();
        assert_eq!(dims.len(), 2);
        assert_eq!(dimensions_map(&dims), d.get("dimensions").cloned().unwrap());
        assert_eq!(dimensions_map(&[]), Value::Null);
    }
}
