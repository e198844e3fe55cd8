//! `aws_appautoscaling_target`: a scalable target, e.g. an ECS service's
//! desired count between `min_capacity` and `max_capacity`. Its ID is the
//! resource ID, as in Terraform; `stackd import` takes Terraform's import
//! ID, `NAMESPACE/RESOURCE_ID/DIMENSION`.
//!
//! `RegisterScalableTarget` both creates and changes a target, so a create
//! first looks the target up: one registered before this create's pending
//! record was written belongs to someone else and is refused, never taken
//! over. Targets are not tagged by stackd (see `tags` below).

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableTarget, SuspendedState};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{dimension, namespace, split_import_id, APPAUTOSCALING, SCALABLE_TARGET};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{ignore_gone, invalid, made_by_this_create, required, AwsResult};
use crate::policy::{g, ANY};
use crate::services::ecs::ECS_SERVICE;
use crate::services::iam::{pass_role, APPAUTOSCALING_ECS_SERVICE_LINKED_ROLE};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_appautoscaling_target`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_appautoscaling_target",
    schema,
    handler: &AppautoscalingTarget,
    grants: &[
        g(&["application-autoscaling:DescribeScalableTargets"], ANY),
        g(
            &[
                "application-autoscaling:DeregisterScalableTarget",
                "application-autoscaling:RegisterScalableTarget",
            ],
            &[SCALABLE_TARGET],
        ),
        // Registering an ECS service reads and updates it, and creates
        // Application Auto Scaling's service-linked role on first use.
        g(&["ecs:DescribeServices", "ecs:UpdateService"], &[ECS_SERVICE]),
        g(
            &["iam:CreateServiceLinkedRole"],
            &[APPAUTOSCALING_ECS_SERVICE_LINKED_ROLE],
        ),
        pass_role(&["application-autoscaling.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_appautoscaling_target")
        .doc("An Application Auto Scaling scalable target.")
        .attr(
            AttrSchema::required("service_namespace", AttrType::String)
                .force_new()
                .doc("The AWS service: ecs, dynamodb, rds, ..."),
        )
        .attr(
            AttrSchema::required("resource_id", AttrType::String)
                .force_new()
                .doc("The scaled resource, e.g. service/CLUSTER/SERVICE."),
        )
        .attr(
            AttrSchema::required("scalable_dimension", AttrType::String)
                .force_new()
                .doc("What is scaled, e.g. ecs:service:DesiredCount."),
        )
        .attr(
            AttrSchema::required("min_capacity", AttrType::Number)
                .doc("The lowest capacity scaling may set."),
        )
        .attr(
            AttrSchema::required("max_capacity", AttrType::Number)
                .doc("The highest capacity scaling may set."),
        )
        .attr(
            AttrSchema::optional_computed("role_arn", AttrType::String)
                .doc("The role Application Auto Scaling uses; its service-linked role when unset."),
        )
        .block(
            BlockSchema::new("suspended_state", Nesting::Single)
                // AWS reports the three flags whether or not they were set.
                .computed_when_absent()
                .attr(AttrSchema::optional("dynamic_scaling_in_suspended", AttrType::Bool).default(false))
                .attr(AttrSchema::optional("dynamic_scaling_out_suspended", AttrType::Bool).default(false))
                .attr(AttrSchema::optional("scheduled_scaling_suspended", AttrType::Bool).default(false)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The scalable target's ARN."))
}

fn target_attrs(t: &ScalableTarget) -> Value {
    let suspended = t.suspended_state().map(|st| {
        Value::List(vec![Value::map([
            (
                "dynamic_scaling_in_suspended",
                Value::Bool(st.dynamic_scaling_in_suspended().unwrap_or(false)),
            ),
            (
                "dynamic_scaling_out_suspended",
                Value::Bool(st.dynamic_scaling_out_suspended().unwrap_or(false)),
            ),
            (
                "scheduled_scaling_suspended",
                Value::Bool(st.scheduled_scaling_suspended().unwrap_or(false)),
            ),
        ])])
    });
    Value::map([
        ("id", Value::from(t.resource_id())),
        ("service_namespace", Value::from(t.service_namespace().as_str())),
        ("resource_id", Value::from(t.resource_id())),
        ("scalable_dimension", Value::from(t.scalable_dimension().as_str())),
        ("min_capacity", num(t.min_capacity())),
        ("max_capacity", num(t.max_capacity())),
        ("role_arn", s(Some(t.role_arn()))),
        ("suspended_state", suspended.unwrap_or(Value::Null)),
        ("arn", s(t.scalable_target_arn())),
    ])
}

/// Namespace, resource ID and dimension of a known target: its recorded
/// arguments, or Terraform's import ID.
fn key_of(k: &KnownResource) -> Option<(String, String, String)> {
    match (
        opt_str(&k.attrs, "service_namespace"),
        opt_str(&k.attrs, "scalable_dimension"),
    ) {
        (Some(ns), Some(dim)) => Some((ns.to_string(), k.id.clone(), dim.to_string())),
        _ => split_import_id(&k.id, false).map(|(ns, id, dim, _)| (ns, id, dim)),
    }
}

/// Application Auto Scaling's limit on resource IDs per describe call.
const MAX_IDS: usize = 50;

/// The targets of `ns` with these resource IDs (every dimension).
pub(crate) async fn describe_targets(
    aws: &Aws,
    ns: &str,
    resource_ids: &[&str],
) -> Result<Vec<ScalableTarget>, ProviderError> {
    let ns = namespace(ns, "DescribeScalableTargets")?;
    let mut out = Vec::new();
    for chunk in resource_ids.chunks(MAX_IDS) {
        let pages = aws
            .appautoscaling
            .describe_scalable_targets()
            .service_namespace(ns.clone())
            .set_resource_ids(Some(chunk.iter().map(|s| s.to_string()).collect()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(APPAUTOSCALING, "DescribeScalableTargets")?;
        out.extend(pages);
    }
    Ok(out)
}

async fn read_one(
    aws: &Aws,
    ns: &str,
    resource_id: &str,
    dim: &str,
) -> Result<Option<ScalableTarget>, ProviderError> {
    Ok(describe_targets(aws, ns, &[resource_id])
        .await?
        .into_iter()
        .find(|t| t.resource_id() == resource_id && t.scalable_dimension().as_str() == dim))
}

fn suspended_state(d: &Value) -> Option<SuspendedState> {
    let b = blocks(d, "suspended_state").first()?;
    Some(
        SuspendedState::builder()
            .dynamic_scaling_in_suspended(bool_or(b, "dynamic_scaling_in_suspended", false))
            .dynamic_scaling_out_suspended(bool_or(b, "dynamic_scaling_out_suspended", false))
            .scheduled_scaling_suspended(bool_or(b, "scheduled_scaling_suspended", false))
            .build(),
    )
}

/// `RegisterScalableTarget` with every argument of `d`.
async fn register(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "RegisterScalableTarget";
    let ns = namespace(required(d, "service_namespace", APPAUTOSCALING, OP)?, OP)?;
    let dim = dimension(required(d, "scalable_dimension", APPAUTOSCALING, OP)?, OP)?;
    let resource_id = required(d, "resource_id", APPAUTOSCALING, OP)?;
    let capacity = |key: &str| {
        opt_int(d, key)
            .and_then(|n| i32::try_from(n).ok())
            .ok_or_else(|| invalid(APPAUTOSCALING, OP, format!("{key} must be a whole number")))
    };
    let (min, max) = (capacity("min_capacity")?, capacity("max_capacity")?);
    if min > max {
        return Err(invalid(
            APPAUTOSCALING,
            OP,
            format!("min_capacity {min} is above max_capacity {max}"),
        ));
    }
    let call = aws
        .appautoscaling
        .register_scalable_target()
        .service_namespace(ns)
        .scalable_dimension(dim)
        .resource_id(resource_id)
        .min_capacity(min)
        .max_capacity(max)
        .set_role_arn(opt_str(d, "role_arn").map(str::to_string))
        .set_suspended_state(suspended_state(d));
    // A service just created, or a role just made, may not be visible yet
    // (Application Auto Scaling answers ValidationException): retried.
    retry(deadline, || async {
        call.clone().send().await.aws(APPAUTOSCALING, OP)
    })
    .await
    .map(|_| ())
}

pub(crate) struct AppautoscalingTarget;

#[async_trait]
impl ResourceHandler for AppautoscalingTarget {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_ns: BTreeMap<String, Vec<(String, String, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            if let Some((ns, id, dim)) = key_of(k) {
                by_ns.entry(ns).or_default().push((id, dim, k));
            }
        }
        let mut out = Vec::new();
        for (ns, wanted) in &by_ns {
            let ids: Vec<&str> = wanted.iter().map(|(id, _, _)| id.as_str()).collect();
            for t in describe_targets(aws, ns, &ids).await? {
                let hit = wanted.iter().find(|(id, dim, _)| {
                    t.resource_id() == id && t.scalable_dimension().as_str() == dim
                });
                if let Some((id, _, k)) = hit {
                    out.push(LiveResource {
                        address: Some(k.address.clone()),
                        id: id.clone(),
                        attrs: target_attrs(&t),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "RegisterScalableTarget";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let ns = required(d, "service_namespace", APPAUTOSCALING, OP)?;
        let resource_id = required(d, "resource_id", APPAUTOSCALING, OP)?;
        let dim = required(d, "scalable_dimension", APPAUTOSCALING, OP)?;
        if let Some(existing) = read_one(aws, ns, resource_id, dim).await? {
            if !made_by_this_create(existing.creation_time().secs(), req.pending_since.as_deref()) {
                return Err(invalid(
                    APPAUTOSCALING,
                    OP,
                    format!(
                        "{resource_id} ({dim}) is already a scalable target, registered outside \
                         this stack's state; `stackd import` it \
                         (ID {ns}/{resource_id}/{dim}) rather than take it over"
                    ),
                ));
            }
            tracing::info!(resource_id, "updating the target an earlier attempt registered");
        }
        register(aws, d, &deadline).await?;
        until(
            &deadline,
            "DescribeScalableTargets",
            &format!("scalable target {resource_id} to be readable"),
            || async {
                Ok(read_one(aws, ns, resource_id, dim)
                    .await?
                    .map(|t| target_attrs(&t)))
            },
        )
        .await
        .map_err(|e| after_create(resource_id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        register(aws, d, &deadline).await?;
        const OP: &str = "DescribeScalableTargets";
        let ns = required(d, "service_namespace", APPAUTOSCALING, OP)?;
        let resource_id = required(d, "resource_id", APPAUTOSCALING, OP)?;
        let dim = required(d, "scalable_dimension", APPAUTOSCALING, OP)?;
        read_one(aws, ns, resource_id, dim)
            .await?
            .map(|t| target_attrs(&t))
            .ok_or_else(|| crate::iam_util::gone(APPAUTOSCALING, OP, resource_id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeregisterScalableTarget";
        let deadline = Deadline::after(req.timeout);
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let (ns, resource_id, dim) = key_of(&known)
            .ok_or_else(|| invalid(APPAUTOSCALING, OP, "the target's namespace is not known"))?;
        if read_one(aws, &ns, &resource_id, &dim).await?.is_none() {
            return Ok(());
        }
        let (ns, dim) = (namespace(&ns, OP)?, dimension(&dim, OP)?);
        ignore_gone(
            retry(&deadline, || async {
                aws.appautoscaling
                    .deregister_scalable_target()
                    .service_namespace(ns.clone())
                    .scalable_dimension(dim.clone())
                    .resource_id(&resource_id)
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
    fn known_targets_are_keyed_by_their_arguments_or_the_import_id() {
        let k = KnownResource {
            address: "aws_appautoscaling_target.t".parse().unwrap(),
            id: "service/c/s".into(),
            attrs: Value::map([
                ("service_namespace", Value::from("ecs")),
                ("scalable_dimension", Value::from("ecs:service:DesiredCount")),
            ]),
        };
        assert_eq!(
            key_of(&k),
            Some((
                "ecs".into(),
                "service/c/s".into(),
                "ecs:service:DesiredCount".into()
            ))
        );
        let imported = KnownResource {
            id: "ecs/service/c/s/ecs:service:DesiredCount".into(),
            attrs: Value::Null,
            ..k.clone()
        };
        assert_eq!(key_of(&imported), key_of(&k));
    }
}
