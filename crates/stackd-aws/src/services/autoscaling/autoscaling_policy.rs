//! `aws_autoscaling_policy`: a scaling policy of an EC2 Auto Scaling group:
//! simple scaling (adjust by a fixed amount when an alarm fires), step
//! scaling, or target tracking (keep a metric at a value). Its ID is its
//! name, as in Terraform; `stackd import` takes Terraform's import ID,
//! `GROUP_NAME/POLICY_NAME`.
//!
//! `PutScalingPolicy` both creates and changes a policy, and policies carry
//! no tags, so a create first looks the name up on the group: a policy the
//! stack's state does not know is refused, unless this create already ran
//! (its pending record is written: the earlier attempt made it). A refresh
//! is one `DescribePolicies` chain for every known policy (by names, 50 a
//! call, across groups), matched on group and name.

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    MetricType, PredefinedMetricSpecification, ScalingPolicy, StepAdjustment,
    TargetTrackingConfiguration,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{ignore_missing, AUTOSCALING, GROUP};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, sort_blocks};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{gone, invalid, required, AwsResult};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_autoscaling_policy`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_autoscaling_policy",
    schema,
    handler: &AutoscalingPolicy,
    grants: &[
        g(&["autoscaling:DescribePolicies"], ANY),
        g(
            &["autoscaling:DeletePolicy", "autoscaling:PutScalingPolicy"],
            &[GROUP],
        ),
    ],
    source: file!(),
};

fn target_tracking_block() -> BlockSchema {
    BlockSchema::new("target_tracking_configuration", Nesting::Single)
        .attr(AttrSchema::required("target_value", AttrType::Number))
        .attr(AttrSchema::optional("disable_scale_in", AttrType::Bool).default(false))
        .block(
            BlockSchema::new("predefined_metric_specification", Nesting::Single)
                .attr(
                    AttrSchema::required("predefined_metric_type", AttrType::String).check(
                        Check::OneOf(vec![
                            "ASGAverageCPUUtilization",
                            "ASGAverageNetworkIn",
                            "ASGAverageNetworkOut",
                            "ALBRequestCountPerTarget",
                        ]),
                    ),
                )
                .attr(AttrSchema::optional("resource_label", AttrType::String)),
        )
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_autoscaling_policy")
        .doc("An EC2 Auto Scaling policy: simple, step or target tracking scaling.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The policy name, unique per group."),
        )
        .attr(AttrSchema::required("autoscaling_group_name", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("policy_type", AttrType::String)
                .default("SimpleScaling")
                .check(Check::OneOf(vec![
                    "SimpleScaling",
                    "StepScaling",
                    "TargetTrackingScaling",
                    "PredictiveScaling",
                ])),
        )
        .attr(
            AttrSchema::optional("adjustment_type", AttrType::String).check(Check::OneOf(vec![
                "ChangeInCapacity",
                "ExactCapacity",
                "PercentChangeInCapacity",
            ])),
        )
        .attr(AttrSchema::optional("scaling_adjustment", AttrType::Number))
        .attr(AttrSchema::optional("cooldown", AttrType::Number))
        .attr(AttrSchema::optional("min_adjustment_magnitude", AttrType::Number))
        .attr(AttrSchema::optional_computed("metric_aggregation_type", AttrType::String))
        .attr(AttrSchema::optional("estimated_instance_warmup", AttrType::Number))
        .attr(AttrSchema::optional("enabled", AttrType::Bool).default(true))
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
        .block(target_tracking_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The policy's ARN."))
}

/// A bound of a step, as Terraform writes it: a string, null when open.
fn bound(b: Option<f64>) -> Value {
    b.map_or(Value::Null, |x| {
        Value::from(if x.fract() == 0.0 && x.abs() < 1e15 {
            format!("{}", x as i64)
        } else {
            format!("{x}")
        })
    })
}

fn opt_num(n: Option<i32>) -> Value {
    n.map_or(Value::Null, num)
}

fn policy_attrs(p: &ScalingPolicy) -> Value {
    let steps: Vec<Value> = p
        .step_adjustments()
        .iter()
        .map(|a| {
            Value::map([
                ("metric_interval_lower_bound", bound(a.metric_interval_lower_bound())),
                ("metric_interval_upper_bound", bound(a.metric_interval_upper_bound())),
                ("scaling_adjustment", opt_num(a.scaling_adjustment())),
            ])
        })
        .collect();
    let tracking = p.target_tracking_configuration().map(|c| {
        let predefined = c.predefined_metric_specification().map(|m| {
            Value::List(vec![Value::map([
                (
                    "predefined_metric_type",
                    s(m.predefined_metric_type().map(MetricType::as_str)),
                ),
                ("resource_label", s(m.resource_label())),
            ])])
        });
        Value::List(vec![Value::map([
            ("target_value", c.target_value().map_or(Value::Null, Value::Number)),
            ("disable_scale_in", Value::Bool(c.disable_scale_in().unwrap_or(false))),
            ("predefined_metric_specification", predefined.unwrap_or(Value::Null)),
        ])])
    });
    let name = p.policy_name().unwrap_or_default();
    Value::map([
        ("id", Value::from(name)),
        ("name", Value::from(name)),
        ("autoscaling_group_name", s(p.auto_scaling_group_name())),
        ("policy_type", s(p.policy_type())),
        ("adjustment_type", s(p.adjustment_type())),
        ("scaling_adjustment", opt_num(p.scaling_adjustment())),
        ("cooldown", opt_num(p.cooldown())),
        ("min_adjustment_magnitude", opt_num(p.min_adjustment_magnitude())),
        ("metric_aggregation_type", s(p.metric_aggregation_type())),
        ("estimated_instance_warmup", opt_num(p.estimated_instance_warmup())),
        // AWS answers Enabled always; a policy is enabled unless disabled.
        ("enabled", Value::Bool(p.enabled().unwrap_or(true))),
        (
            "step_adjustment",
            if steps.is_empty() {
                Value::Null
            } else {
                Value::List(sort_blocks(steps))
            },
        ),
        ("target_tracking_configuration", tracking.unwrap_or(Value::Null)),
        ("arn", s(p.policy_arn())),
    ])
}

/// What names a policy: its group and its name.
type Key = (String, String);

/// A known policy's key: from its recorded attributes, or from
/// Terraform's import ID `GROUP/NAME`.
fn key_of(k: &KnownResource) -> Option<Key> {
    // The recorded group and name; else the import ID `GROUP/NAME`. The
    // ID stays as it was recorded (the name after a create, `GROUP/NAME`
    // after an import).
    match opt_str(&k.attrs, "autoscaling_group_name") {
        Some(group) => Some((
            group.to_string(),
            opt_str(&k.attrs, "name").unwrap_or(&k.id).to_string(),
        )),
        None => k
            .id
            .split_once('/')
            .filter(|(g, n)| !g.is_empty() && !n.is_empty())
            .map(|(g, n)| (g.to_string(), n.to_string())),
    }
}

fn key_of_policy(p: &ScalingPolicy) -> Key {
    (
        p.auto_scaling_group_name().unwrap_or_default().to_string(),
        p.policy_name().unwrap_or_default().to_string(),
    )
}

/// Auto Scaling's limit on policy names per `DescribePolicies` call.
const MAX_NAMES: usize = 50;

/// Policies by name (of any group, or of `group`), 50 names a call.
async fn describe(
    aws: &Aws,
    group: Option<&str>,
    names: &[&str],
) -> Result<Vec<ScalingPolicy>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_NAMES) {
        let items = aws
            .autoscaling
            .describe_policies()
            .set_auto_scaling_group_name(group.map(str::to_string))
            .set_policy_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(AUTOSCALING, "DescribePolicies");
        match items {
            Ok(items) => out.extend(items),
            // The group itself is gone: so are its policies.
            Err(e) if super::is_missing(&e) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

async fn read_one(aws: &Aws, key: &Key) -> Result<Option<ScalingPolicy>, ProviderError> {
    Ok(describe(aws, Some(&key.0), &[key.1.as_str()])
        .await?
        .into_iter()
        .find(|p| key_of_policy(p) == *key))
}

fn desired_key(d: &Value, op: &str) -> Result<Key, ProviderError> {
    Ok((
        required(d, "autoscaling_group_name", AUTOSCALING, op)?.to_string(),
        required(d, "name", AUTOSCALING, op)?.to_string(),
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
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| invalid(AUTOSCALING, op, format!("{key} {s:?} is not a number"))),
        Some(other) => Err(invalid(
            AUTOSCALING,
            op,
            format!("{key} {other} is not a number"),
        )),
    }
}

fn steps(d: &Value, op: &str) -> Result<Vec<StepAdjustment>, ProviderError> {
    blocks(d, "step_adjustment")
        .iter()
        .map(|a| {
            Ok(StepAdjustment::builder()
                .set_metric_interval_lower_bound(parse_bound(a, "metric_interval_lower_bound", op)?)
                .set_metric_interval_upper_bound(parse_bound(a, "metric_interval_upper_bound", op)?)
                .set_scaling_adjustment(int(a, "scaling_adjustment"))
                .build())
        })
        .collect()
}

fn tracking(d: &Value) -> Option<TargetTrackingConfiguration> {
    let b = blocks(d, "target_tracking_configuration").first()?;
    let predefined = blocks(b, "predefined_metric_specification").first().map(|m| {
        PredefinedMetricSpecification::builder()
            .set_predefined_metric_type(opt_str(m, "predefined_metric_type").map(MetricType::from))
            .set_resource_label(opt_str(m, "resource_label").map(str::to_string))
            .build()
    });
    Some(
        TargetTrackingConfiguration::builder()
            .set_target_value(b.get("target_value").and_then(Value::as_f64))
            .disable_scale_in(bool_or(b, "disable_scale_in", false))
            .set_predefined_metric_specification(predefined)
            .build(),
    )
}

/// `PutScalingPolicy` with every argument of `d`. Which arguments a policy
/// type takes is AWS's to check (it names the one that does not belong).
async fn put(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutScalingPolicy";
    let (group, name) = desired_key(d, OP)?;
    let policy_type = opt_str(d, "policy_type").unwrap_or("SimpleScaling");
    let steps = steps(d, OP)?;
    let call = aws
        .autoscaling
        .put_scaling_policy()
        .auto_scaling_group_name(&group)
        .policy_name(&name)
        .policy_type(policy_type)
        .set_adjustment_type(opt_str(d, "adjustment_type").map(str::to_string))
        .set_scaling_adjustment(int(d, "scaling_adjustment"))
        .set_cooldown(int(d, "cooldown"))
        .set_min_adjustment_magnitude(int(d, "min_adjustment_magnitude"))
        .set_metric_aggregation_type(opt_str(d, "metric_aggregation_type").map(str::to_string))
        .set_estimated_instance_warmup(int(d, "estimated_instance_warmup"))
        .enabled(bool_or(d, "enabled", true))
        .set_step_adjustments((!steps.is_empty()).then_some(steps))
        .set_target_tracking_configuration(tracking(d));
    // The group created a moment ago may not be visible yet.
    retry(deadline, || async {
        call.clone()
            .send()
            .await
            .aws(AUTOSCALING, OP)
            .map_err(super::busy_is_transient)
    })
    .await
    .map(|_| ())
}

pub(crate) struct AutoscalingPolicy;

#[async_trait]
impl ResourceHandler for AutoscalingPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let wanted: Vec<(Key, &KnownResource)> = req
            .known
            .iter()
            .filter_map(|k| Some((key_of(k)?, k)))
            .collect();
        let mut names: Vec<&str> = wanted.iter().map(|(key, _)| key.1.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        Ok(describe(aws, None, &names)
            .await?
            .iter()
            .filter_map(|p| {
                let key = key_of_policy(p);
                let (_, k) = wanted.iter().find(|(w, _)| *w == key)?;
                Some(LiveResource {
                    address: Some(k.address.clone()),
                    id: k.id.clone(),
                    attrs: policy_attrs(p),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "PutScalingPolicy";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let key = desired_key(d, OP)?;
        // Policies carry no tags nor creation time: one the state does not
        // know is someone else's, unless this create ran before.
        if read_one(aws, &key).await?.is_some() && req.pending_since.is_none() {
            return Err(invalid(
                AUTOSCALING,
                OP,
                format!(
                    "scaling policy {:?} already exists on group {} and is not in this stack's \
                     state; `stackd import` it (ID {}/{}) or choose another name",
                    key.1, key.0, key.0, key.1
                ),
            ));
        }
        put(aws, d, &deadline).await?;
        until(
            &deadline,
            "DescribePolicies",
            &format!("scaling policy {} to be readable", key.1),
            || async { Ok(read_one(aws, &key).await?.map(|p| policy_attrs(&p))) },
        )
        .await
        .map_err(|e| after_create(&key.1, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        put(aws, d, &deadline).await?;
        let key = desired_key(d, "DescribePolicies")?;
        read_one(aws, &key)
            .await?
            .map(|p| policy_attrs(&p))
            .ok_or_else(|| gone(AUTOSCALING, "DescribePolicies", &key.1))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeletePolicy";
        let deadline = Deadline::after(req.timeout);
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let key = key_of(&known)
            .ok_or_else(|| invalid(AUTOSCALING, OP, "the policy's group is not known"))?;
        let deleted = retry(&deadline, || async {
            aws.autoscaling
                .delete_policy()
                .auto_scaling_group_name(&key.0)
                .policy_name(&key.1)
                .send()
                .await
                .aws(AUTOSCALING, OP)
                .map(|_| ())
        })
        .await;
        ignore_missing(deleted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_name_the_group_and_the_policy() {
        let k = KnownResource {
            address: "aws_autoscaling_policy.cpu".parse().unwrap(),
            id: "web/cpu".into(),
            attrs: Value::Null,
        };
        assert_eq!(key_of(&k), Some(("web".into(), "cpu".into())));
        let recorded = KnownResource {
            id: "cpu".into(),
            attrs: Value::map([("autoscaling_group_name", Value::from("web"))]),
            ..k
        };
        assert_eq!(key_of(&recorded), Some(("web".into(), "cpu".into())));
    }

    #[test]
    fn live_policy_is_in_schema_shape() {
        let p = ScalingPolicy::builder()
            .auto_scaling_group_name("web")
            .policy_name("cpu")
            .policy_type("TargetTrackingScaling")
            .target_tracking_configuration(
                TargetTrackingConfiguration::builder()
                    .predefined_metric_specification(
                        PredefinedMetricSpecification::builder()
                            .predefined_metric_type(MetricType::AsgAverageCpuUtilization)
                            .build(),
                    )
                    .target_value(50.0)
                    .build(),
            )
            .build();
        let v = policy_attrs(&p);
        assert_eq!(v.get("enabled"), Some(&Value::Bool(true)));
        let t = &blocks(&v, "target_tracking_configuration")[0];
        assert_eq!(t.get("target_value"), Some(&Value::Number(50.0)));
        assert_eq!(t.get("disable_scale_in"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        assert_eq!(bound(Some(0.0)), Value::from("0"));
    }
}
