//! `aws_appautoscaling_policy`: a scaling policy of a scalable target,
//! target tracking (keep a metric at a value) or step scaling (adjust by
//! steps when an alarm fires). Its ID is its name, as in Terraform;
//! `stackd import` takes Terraform's import ID,
//! `NAMESPACE/RESOURCE_ID/DIMENSION/NAME`.
//!
//! `PutScalingPolicy` both creates and changes a policy, so a create first
//! looks the name up on the target: a policy made before this create's
//! pending record was written is refused, never overwritten. A refresh is
//! one `DescribeScalingPolicies` chain per namespace, by policy names.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{
    AdjustmentType, CustomizedMetricSpecification, MetricAggregationType, MetricDimension,
    MetricStatistic, MetricType, PolicyType, PredefinedMetricSpecification, ScalingPolicy,
    StepAdjustment, StepScalingPolicyConfiguration, TargetTrackingScalingPolicyConfiguration,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{dimension, namespace, split_import_id, APPAUTOSCALING, SCALABLE_TARGET};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, sort_blocks};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{ignore_gone, invalid, made_by_this_create, required, AwsResult};
use crate::policy::{g, ANY};
use crate::services::cloudwatch::ALARM;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_appautoscaling_policy`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_appautoscaling_policy",
    schema,
    handler: &AppautoscalingPolicy,
    grants: &[
        g(&["application-autoscaling:DescribeScalingPolicies"], ANY),
        g(
            &[
                "application-autoscaling:DeleteScalingPolicy",
                "application-autoscaling:PutScalingPolicy",
            ],
            &[SCALABLE_TARGET],
        ),
        // A target tracking policy's alarms are made and removed in the
        // caller's name.
        g(&["cloudwatch:DescribeAlarms"], ANY),
        g(
            &["cloudwatch:DeleteAlarms", "cloudwatch:PutMetricAlarm"],
            &[ALARM],
        ),
    ],
    source: file!(),
};

fn step_scaling_block() -> BlockSchema {
    BlockSchema::new("step_scaling_policy_configuration", Nesting::Single)
        .attr(
            AttrSchema::optional("adjustment_type", AttrType::String).check(Check::OneOf(vec![
                "ChangeInCapacity",
                "ExactCapacity",
                "PercentChangeInCapacity",
            ])),
        )
        .attr(AttrSchema::optional("cooldown", AttrType::Number))
        .attr(
            AttrSchema::optional("metric_aggregation_type", AttrType::String)
                .check(Check::OneOf(vec!["Average", "Minimum", "Maximum"])),
        )
        .attr(AttrSchema::optional("min_adjustment_magnitude", AttrType::Number))
        .block(
            BlockSchema::new("step_adjustment", Nesting::Set)
                .attr(AttrSchema::optional(
                    "metric_interval_lower_bound",
                    AttrType::String,
                ))
                .attr(AttrSchema::optional(
                    "metric_interval_upper_bound",
                    AttrType::String,
                ))
                .attr(AttrSchema::required("scaling_adjustment", AttrType::Number)),
        )
}

fn target_tracking_block() -> BlockSchema {
    BlockSchema::new("target_tracking_scaling_policy_configuration", Nesting::Single)
        .attr(AttrSchema::required("target_value", AttrType::Number))
        .attr(AttrSchema::optional("disable_scale_in", AttrType::Bool).default(false))
        .attr(AttrSchema::optional("scale_in_cooldown", AttrType::Number))
        .attr(AttrSchema::optional("scale_out_cooldown", AttrType::Number))
        .block(
            BlockSchema::new("predefined_metric_specification", Nesting::Single)
                .attr(AttrSchema::required("predefined_metric_type", AttrType::String))
                .attr(AttrSchema::optional("resource_label", AttrType::String)),
        )
        .block(
            BlockSchema::new("customized_metric_specification", Nesting::Single)
                .attr(AttrSchema::optional("metric_name", AttrType::String))
                .attr(AttrSchema::optional("namespace", AttrType::String))
                .attr(AttrSchema::optional("statistic", AttrType::String))
                .attr(AttrSchema::optional("unit", AttrType::String))
                .block(
                    BlockSchema::new("dimensions", Nesting::Set)
                        .attr(AttrSchema::required("name", AttrType::String))
                        .attr(AttrSchema::required("value", AttrType::String)),
                ),
        )
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_appautoscaling_policy")
        .doc("An Application Auto Scaling policy: target tracking or step scaling.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The policy name, unique per scalable target."),
        )
        .attr(AttrSchema::required("service_namespace", AttrType::String).force_new())
        .attr(AttrSchema::required("resource_id", AttrType::String).force_new())
        .attr(AttrSchema::required("scalable_dimension", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("policy_type", AttrType::String)
                .default("StepScaling")
                .check(Check::OneOf(vec![
                    "StepScaling",
                    "TargetTrackingScaling",
                ])),
        )
        .block(step_scaling_block())
        .block(target_tracking_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The policy's ARN."))
        .attr(
            AttrSchema::computed("alarm_arns", AttrType::list_of(AttrType::String))
                .doc("The CloudWatch alarms of a target tracking policy."),
        )
}

/// A bound of a step, as Terraform writes it: a string, empty when open.
fn bound(b: Option<f64>) -> Value {
    b.map_or(Value::Null, |x| Value::from(format_number(x)))
}

fn format_number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        format!("{x}")
    }
}

fn opt_num(n: Option<i32>) -> Value {
    n.map_or(Value::Null, num)
}

fn policy_attrs(p: &ScalingPolicy) -> Value {
    let step = p.step_scaling_policy_configuration().map(|c| {
        let steps = c
            .step_adjustments()
            .iter()
            .map(|a| {
                Value::map([
                    ("metric_interval_lower_bound", bound(a.metric_interval_lower_bound())),
                    ("metric_interval_upper_bound", bound(a.metric_interval_upper_bound())),
                    ("scaling_adjustment", num(a.scaling_adjustment())),
                ])
            })
            .collect();
        Value::List(vec![Value::map([
            ("adjustment_type", s(c.adjustment_type().map(AdjustmentType::as_str))),
            ("cooldown", opt_num(c.cooldown())),
            (
                "metric_aggregation_type",
                s(c.metric_aggregation_type().map(MetricAggregationType::as_str)),
            ),
            ("min_adjustment_magnitude", opt_num(c.min_adjustment_magnitude())),
            ("step_adjustment", Value::List(sort_blocks(steps))),
        ])])
    });
    let tracking = p.target_tracking_scaling_policy_configuration().map(|c| {
        let predefined = c.predefined_metric_specification().map(|m| {
            Value::List(vec![Value::map([
                ("predefined_metric_type", Value::from(m.predefined_metric_type().as_str())),
                ("resource_label", s(m.resource_label())),
            ])])
        });
        let customized = c.customized_metric_specification().map(|m| {
            let dims = m
                .dimensions()
                .iter()
                .map(|d| Value::map([("name", Value::from(d.name())), ("value", Value::from(d.value()))]))
                .collect();
            Value::List(vec![Value::map([
                ("metric_name", s(m.metric_name())),
                ("namespace", s(m.namespace())),
                ("statistic", s(m.statistic().map(MetricStatistic::as_str))),
                ("unit", s(m.unit())),
                ("dimensions", Value::List(sort_blocks(dims))),
            ])])
        });
        Value::List(vec![Value::map([
            ("target_value", Value::Number(c.target_value())),
            ("disable_scale_in", Value::Bool(c.disable_scale_in().unwrap_or(false))),
            ("scale_in_cooldown", opt_num(c.scale_in_cooldown())),
            ("scale_out_cooldown", opt_num(c.scale_out_cooldown())),
            ("predefined_metric_specification", predefined.unwrap_or(Value::Null)),
            ("customized_metric_specification", customized.unwrap_or(Value::Null)),
        ])])
    });
    Value::map([
        ("id", Value::from(p.policy_name())),
        ("name", Value::from(p.policy_name())),
        ("service_namespace", Value::from(p.service_namespace().as_str())),
        ("resource_id", Value::from(p.resource_id())),
        ("scalable_dimension", Value::from(p.scalable_dimension().as_str())),
        ("policy_type", Value::from(p.policy_type().as_str())),
        ("step_scaling_policy_configuration", step.unwrap_or(Value::Null)),
        (
            "target_tracking_scaling_policy_configuration",
            tracking.unwrap_or(Value::Null),
        ),
        ("arn", Value::from(p.policy_arn())),
        (
            "alarm_arns",
            Value::List(p.alarms().iter().map(|a| Value::from(a.alarm_arn())).collect()),
        ),
    ])
}

/// What names a policy: namespace, resource ID, dimension, name.
type Key = (String, String, String, String);

fn key_of(k: &KnownResource) -> Option<Key> {
    let a = &k.attrs;
    match (
        opt_str(a, "service_namespace"),
        opt_str(a, "resource_id"),
        opt_str(a, "scalable_dimension"),
    ) {
        (Some(ns), Some(id), Some(dim)) => Some((
            ns.into(),
            id.into(),
            dim.into(),
            opt_str(a, "name").unwrap_or(&k.id).to_string(),
        )),
        _ => split_import_id(&k.id, true),
    }
}

fn key_of_policy(p: &ScalingPolicy) -> Key {
    (
        p.service_namespace().as_str().to_string(),
        p.resource_id().to_string(),
        p.scalable_dimension().as_str().to_string(),
        p.policy_name().to_string(),
    )
}

/// Application Auto Scaling's limit on policy names per describe call.
const MAX_NAMES: usize = 50;

async fn describe(
    aws: &Aws,
    ns: &str,
    names: &[&str],
) -> Result<Vec<ScalingPolicy>, ProviderError> {
    let ns = namespace(ns, "DescribeScalingPolicies")?;
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_NAMES) {
        let items = aws
            .appautoscaling
            .describe_scaling_policies()
            .service_namespace(ns.clone())
            .set_policy_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(APPAUTOSCALING, "DescribeScalingPolicies")?;
        out.extend(items);
    }
    Ok(out)
}

async fn read_one(aws: &Aws, key: &Key) -> Result<Option<ScalingPolicy>, ProviderError> {
    Ok(describe(aws, &key.0, &[key.3.as_str()])
        .await?
        .into_iter()
        .find(|p| key_of_policy(p) == *key))
}

fn desired_key(d: &Value, op: &str) -> Result<Key, ProviderError> {
    Ok((
        required(d, "service_namespace", APPAUTOSCALING, op)?.to_string(),
        required(d, "resource_id", APPAUTOSCALING, op)?.to_string(),
        required(d, "scalable_dimension", APPAUTOSCALING, op)?.to_string(),
        required(d, "name", APPAUTOSCALING, op)?.to_string(),
    ))
}

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).and_then(|n| i32::try_from(n).ok())
}

/// A step bound written as a string (`"0"`, `""` for open).
fn parse_bound(v: &Value, key: &str, op: &str) -> Result<Option<f64>, ProviderError> {
    match v.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => Ok(Some(*n)),
        Some(Value::String(s)) if s.is_empty() => Ok(None),
        Some(Value::String(s)) => s.parse().map(Some).map_err(|_| {
            invalid(APPAUTOSCALING, op, format!("{key} {s:?} is not a number"))
        }),
        Some(other) => Err(invalid(APPAUTOSCALING, op, format!("{key} {other} is not a number"))),
    }
}

fn built<T>(r: Result<T, aws_smithy_types::error::operation::BuildError>, op: &str) -> Result<T, ProviderError> {
    r.map_err(|e| invalid(APPAUTOSCALING, op, e.to_string()))
}

fn step_configuration(b: &Value, op: &str) -> Result<StepScalingPolicyConfiguration, ProviderError> {
    let mut steps = Vec::new();
    for a in blocks(b, "step_adjustment") {
        let adjustment = int(a, "scaling_adjustment")
            .ok_or_else(|| invalid(APPAUTOSCALING, op, "scaling_adjustment must be a whole number"))?;
        steps.push(built(
            StepAdjustment::builder()
                .set_metric_interval_lower_bound(parse_bound(a, "metric_interval_lower_bound", op)?)
                .set_metric_interval_upper_bound(parse_bound(a, "metric_interval_upper_bound", op)?)
                .scaling_adjustment(adjustment)
                .build(),
            op,
        )?);
    }
    Ok(StepScalingPolicyConfiguration::builder()
        .set_adjustment_type(opt_str(b, "adjustment_type").map(AdjustmentType::from))
        .set_cooldown(int(b, "cooldown"))
        .set_metric_aggregation_type(opt_str(b, "metric_aggregation_type").map(MetricAggregationType::from))
        .set_min_adjustment_magnitude(int(b, "min_adjustment_magnitude"))
        .set_step_adjustments(Some(steps))
        .build())
}

fn tracking_configuration(
    b: &Value,
    op: &str,
) -> Result<TargetTrackingScalingPolicyConfiguration, ProviderError> {
    let target = b
        .get("target_value")
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid(APPAUTOSCALING, op, "target_value is required"))?;
    let predefined = match blocks(b, "predefined_metric_specification").first() {
        Some(m) => Some(built(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::from(
                    required(m, "predefined_metric_type", APPAUTOSCALING, op)?,
                ))
                .set_resource_label(opt_str(m, "resource_label").map(str::to_string))
                .build(),
            op,
        )?),
        None => None,
    };
    let customized = match blocks(b, "customized_metric_specification").first() {
        Some(m) => {
            let mut dims = Vec::new();
            for d in blocks(m, "dimensions") {
                dims.push(built(
                    MetricDimension::builder()
                        .name(required(d, "name", APPAUTOSCALING, op)?)
                        .value(required(d, "value", APPAUTOSCALING, op)?)
                        .build(),
                    op,
                )?);
            }
            Some(
                CustomizedMetricSpecification::builder()
                    .set_metric_name(opt_str(m, "metric_name").map(str::to_string))
                    .set_namespace(opt_str(m, "namespace").map(str::to_string))
                    .set_statistic(opt_str(m, "statistic").map(MetricStatistic::from))
                    .set_unit(opt_str(m, "unit").map(str::to_string))
                    .set_dimensions((!dims.is_empty()).then_some(dims))
                    .build(),
            )
        }
        None => None,
    };
    built(
        TargetTrackingScalingPolicyConfiguration::builder()
            .target_value(target)
            .disable_scale_in(bool_or(b, "disable_scale_in", false))
            .set_scale_in_cooldown(int(b, "scale_in_cooldown"))
            .set_scale_out_cooldown(int(b, "scale_out_cooldown"))
            .set_predefined_metric_specification(predefined)
            .set_customized_metric_specification(customized)
            .build(),
        op,
    )
}

/// `PutScalingPolicy` with every argument of `d`.
async fn put(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutScalingPolicy";
    let (ns, resource_id, dim, name) = desired_key(d, OP)?;
    let policy_type = opt_str(d, "policy_type").unwrap_or("StepScaling");
    let step = blocks(d, "step_scaling_policy_configuration").first();
    let tracking = blocks(d, "target_tracking_scaling_policy_configuration").first();
    let (step, tracking) = match policy_type {
        "StepScaling" if tracking.is_some() => {
            return Err(invalid(
                APPAUTOSCALING,
                OP,
                "target_tracking_scaling_policy_configuration needs policy_type = \"TargetTrackingScaling\"",
            ))
        }
        "TargetTrackingScaling" if step.is_some() => {
            return Err(invalid(
                APPAUTOSCALING,
                OP,
                "step_scaling_policy_configuration needs policy_type = \"StepScaling\"",
            ))
        }
        _ => (
            step.map(|b| step_configuration(b, OP)).transpose()?,
            tracking.map(|b| tracking_configuration(b, OP)).transpose()?,
        ),
    };
    let call = aws
        .appautoscaling
        .put_scaling_policy()
        .policy_name(&name)
        .service_namespace(namespace(&ns, OP)?)
        .resource_id(&resource_id)
        .scalable_dimension(dimension(&dim, OP)?)
        .policy_type(PolicyType::from(policy_type))
        .set_step_scaling_policy_configuration(step)
        .set_target_tracking_scaling_policy_configuration(tracking);
    // The target registered a moment ago may not be visible yet.
    retry(deadline, || async {
        call.clone().send().await.aws(APPAUTOSCALING, OP)
    })
    .await
    .map(|_| ())
}

pub(crate) struct AppautoscalingPolicy;

#[async_trait]
impl ResourceHandler for AppautoscalingPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_ns: BTreeMap<String, Vec<(Key, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            if let Some(key) = key_of(k) {
                by_ns.entry(key.0.clone()).or_default().push((key, k));
            }
        }
        let mut out = Vec::new();
        for (ns, wanted) in &by_ns {
            let mut names: Vec<&str> = wanted.iter().map(|(key, _)| key.3.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for p in describe(aws, ns, &names).await? {
                let key = key_of_policy(&p);
                if let Some((_, k)) = wanted.iter().find(|(w, _)| *w == key) {
                    out.push(LiveResource {
                        address: Some(k.address.clone()),
                        id: k.id.clone(),
                        attrs: policy_attrs(&p),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "PutScalingPolicy";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let key = desired_key(d, OP)?;
        if let Some(existing) = read_one(aws, &key).await? {
            if !made_by_this_create(existing.creation_time().secs(), req.pending_since.as_deref()) {
                return Err(invalid(
                    APPAUTOSCALING,
                    OP,
                    format!(
                        "scaling policy {:?} already exists on {} and is not in this stack's \
                         state; `stackd import` it (ID {}/{}/{}/{}) or choose another name",
                        key.3, key.1, key.0, key.1, key.2, key.3
                    ),
                ));
            }
        }
        put(aws, d, &deadline).await?;
        until(
            &deadline,
            "DescribeScalingPolicies",
            &format!("scaling policy {} to be readable", key.3),
            || async { Ok(read_one(aws, &key).await?.map(|p| policy_attrs(&p))) },
        )
        .await
        .map_err(|e| after_create(&key.3, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        put(aws, d, &deadline).await?;
        let key = desired_key(d, "DescribeScalingPolicies")?;
        read_one(aws, &key)
            .await?
            .map(|p| policy_attrs(&p))
            .ok_or_else(|| crate::iam_util::gone(APPAUTOSCALING, "DescribeScalingPolicies", &key.3))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteScalingPolicy";
        let deadline = Deadline::after(req.timeout);
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let key = key_of(&known)
            .ok_or_else(|| invalid(APPAUTOSCALING, OP, "the policy's target is not known"))?;
        if read_one(aws, &key).await?.is_none() {
            return Ok(());
        }
        let (ns, dim) = (namespace(&key.0, OP)?, dimension(&key.2, OP)?);
        ignore_gone(
            retry(&deadline, || async {
                aws.appautoscaling
                    .delete_scaling_policy()
                    .policy_name(&key.3)
                    .service_namespace(ns.clone())
                    .resource_id(&key.1)
                    .scalable_dimension(dim.clone())
                    .send()
                    .await
                    .aws(APPAUTOSCALING, OP)
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn step_bounds_read_as_terraform_writes_them() {
        assert_eq!(bound(Some(0.0)), Value::from("0"));
        assert_eq!(bound(Some(12.5)), Value::from("12.5"));
        assert_eq!(bound(None), Value::Null);
        let step = Value::map([
            ("metric_interval_lower_bound", Value::from("")),
            ("metric_interval_upper_bound", Value::from("10")),
        ]);
        assert_eq!(parse_bound(&step, "metric_interval_lower_bound", "X").unwrap(), None);
        assert_eq!(parse_bound(&step, "metric_interval_upper_bound", "X").unwrap(), Some(10.0));
        let bad = Value::map([("metric_interval_lower_bound", Value::from("ten"))]);
        assert!(parse_bound(&bad, "metric_interval_lower_bound", "X").is_err());
    }

    #[test]
    fn a_configuration_of_the_other_type_is_refused() {
        let d = Value::map([
            ("service_namespace", Value::from("ecs")),
            ("resource_id", Value::from("service/c/s")),
            ("scalable_dimension", Value::from("ecs:service:DesiredCount")),
            ("name", Value::from("cpu")),
            (
                "target_tracking_scaling_policy_configuration",
                Value::List(vec![Value::map([("target_value", Value::Number(50.0))])]),
            ),
        ]);
        let aws = crate::preflight::fake::aws(|_| (500, String::new())).0;
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let e = rt
            .block_on(put(&aws, &d, &Deadline::after(std::time::Duration::from_secs(1))))
            .unwrap_err();
        assert!(e.message.contains("TargetTrackingScaling"), "{}", e.message);
    }
}
