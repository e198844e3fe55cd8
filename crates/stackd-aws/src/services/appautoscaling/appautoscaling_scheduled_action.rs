//! `aws_appautoscaling_scheduled_action`: a change of a scalable target's
//! capacity bounds on a schedule (`cron(...)`, `rate(...)`, `at(...)`). Its
//! ID is `NAME-NAMESPACE-RESOURCE_ID`, as Terraform writes it.
//!
//! `PutScheduledAction` both creates and changes an action, so a create
//! first looks the name up on the target: an action made before this
//! create's pending record was written is refused, never overwritten. A
//! refresh is one `DescribeScheduledActions` chain per namespace, by names.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_applicationautoscaling::types::{ScalableTargetAction, ScheduledAction};
use aws_smithy_types::date_time::{DateTime, Format};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{dimension, namespace, APPAUTOSCALING, SCALABLE_TARGET};
use crate::args::{blocks, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{ignore_gone, invalid, made_by_this_create, required, AwsResult};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_appautoscaling_scheduled_action`: its schema, its handler, and the
/// IAM grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_appautoscaling_scheduled_action",
    schema,
    handler: &AppautoscalingScheduledAction,
    grants: &[
        g(&["application-autoscaling:DescribeScheduledActions"], ANY),
        g(
            &[
                "application-autoscaling:DeleteScheduledAction",
                "application-autoscaling:PutScheduledAction",
            ],
            &[SCALABLE_TARGET],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_appautoscaling_scheduled_action")
        .doc("A scheduled change of an Application Auto Scaling target's capacity.")
        .attr(AttrSchema::required("name", AttrType::String).force_new())
        .attr(AttrSchema::required("service_namespace", AttrType::String).force_new())
        .attr(AttrSchema::required("resource_id", AttrType::String).force_new())
        .attr(AttrSchema::required("scalable_dimension", AttrType::String).force_new())
        .attr(
            AttrSchema::required("schedule", AttrType::String)
                .doc("at(yyyy-mm-ddThh:mm:ss), rate(value unit) or cron(fields)."),
        )
        .attr(AttrSchema::optional("timezone", AttrType::String).default("UTC"))
        .attr(
            AttrSchema::optional("start_time", AttrType::String)
                .doc("When the schedule begins, RFC 3339."),
        )
        .attr(
            AttrSchema::optional("end_time", AttrType::String)
                .doc("When the schedule ends, RFC 3339."),
        )
        .block(
            BlockSchema::new("scalable_target_action", Nesting::Single)
                .required()
                .attr(AttrSchema::optional("min_capacity", AttrType::Number))
                .attr(AttrSchema::optional("max_capacity", AttrType::Number)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
}

fn terraform_id(name: &str, ns: &str, resource_id: &str) -> String {
    format!("{name}-{ns}-{resource_id}")
}

fn time_attr(t: Option<&DateTime>) -> Value {
    s(t.and_then(|t| t.fmt(Format::DateTime).ok()).as_deref())
}

fn action_attrs(a: &ScheduledAction) -> Value {
    let ns = a.service_namespace().as_str();
    let target = a.scalable_target_action().map(|t| {
        Value::List(vec![Value::map([
            ("min_capacity", t.min_capacity().map_or(Value::Null, num)),
            ("max_capacity", t.max_capacity().map_or(Value::Null, num)),
        ])])
    });
    Value::map([
        (
            "id",
            Value::from(terraform_id(a.scheduled_action_name(), ns, a.resource_id())),
        ),
        ("name", Value::from(a.scheduled_action_name())),
        ("service_namespace", Value::from(ns)),
        ("resource_id", Value::from(a.resource_id())),
        (
            "scalable_dimension",
            s(a.scalable_dimension().map(|d| d.as_str())),
        ),
        ("schedule", Value::from(a.schedule())),
        ("timezone", Value::from(a.timezone().unwrap_or("UTC"))),
        ("start_time", time_attr(a.start_time())),
        ("end_time", time_attr(a.end_time())),
        ("scalable_target_action", target.unwrap_or(Value::Null)),
        ("arn", Value::from(a.scheduled_action_arn())),
    ])
}

/// Namespace, resource ID, dimension and name.
type Key = (String, String, String, String);

fn key_of_action(a: &ScheduledAction) -> Key {
    (
        a.service_namespace().as_str().to_string(),
        a.resource_id().to_string(),
        a.scalable_dimension()
            .map(|d| d.as_str().to_string())
            .unwrap_or_default(),
        a.scheduled_action_name().to_string(),
    )
}

fn key_of(attrs: &Value, op: &str) -> Result<Key, ProviderError> {
    Ok((
        required(attrs, "service_namespace", APPAUTOSCALING, op)?.to_string(),
        required(attrs, "resource_id", APPAUTOSCALING, op)?.to_string(),
        required(attrs, "scalable_dimension", APPAUTOSCALING, op)?.to_string(),
        required(attrs, "name", APPAUTOSCALING, op)?.to_string(),
    ))
}

/// Application Auto Scaling's limit on action names per describe call.
const MAX_NAMES: usize = 200;

async fn describe(
    aws: &Aws,
    ns: &str,
    names: &[&str],
) -> Result<Vec<ScheduledAction>, ProviderError> {
    let ns = namespace(ns, "DescribeScheduledActions")?;
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_NAMES) {
        let items = aws
            .appautoscaling
            .describe_scheduled_actions()
            .service_namespace(ns.clone())
            .set_scheduled_action_names(Some(chunk.iter().map(|s| s.to_string()).collect()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(APPAUTOSCALING, "DescribeScheduledActions")?;
        out.extend(items);
    }
    Ok(out)
}

async fn read_one(aws: &Aws, key: &Key) -> Result<Option<ScheduledAction>, ProviderError> {
    Ok(describe(aws, &key.0, &[key.3.as_str()])
        .await?
        .into_iter()
        .find(|a| key_of_action(a) == *key))
}

fn parse_time(d: &Value, key: &str, op: &str) -> Result<Option<DateTime>, ProviderError> {
    match opt_str(d, key) {
        None => Ok(None),
        Some(text) => DateTime::from_str(text, Format::DateTime).map(Some).map_err(|_| {
            invalid(
                APPAUTOSCALING,
                op,
                format!("{key} {text:?} is not an RFC 3339 time (2026-12-01T00:00:00Z)"),
            )
        }),
    }
}

async fn put(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutScheduledAction";
    let (ns, resource_id, dim, name) = key_of(d, OP)?;
    let action = blocks(d, "scalable_target_action").first().map(|b| {
        ScalableTargetAction::builder()
            .set_min_capacity(opt_int(b, "min_capacity").and_then(|n| i32::try_from(n).ok()))
            .set_max_capacity(opt_int(b, "max_capacity").and_then(|n| i32::try_from(n).ok()))
            .build()
    });
    let call = aws
        .appautoscaling
        .put_scheduled_action()
        .scheduled_action_name(&name)
        .service_namespace(namespace(&ns, OP)?)
        .resource_id(&resource_id)
        .scalable_dimension(dimension(&dim, OP)?)
        .schedule(required(d, "schedule", APPAUTOSCALING, OP)?)
        .set_timezone(opt_str(d, "timezone").map(str::to_string))
        .set_start_time(parse_time(d, "start_time", OP)?)
        .set_end_time(parse_time(d, "end_time", OP)?)
        .set_scalable_target_action(action);
    retry(deadline, || async {
        call.clone().send().await.aws(APPAUTOSCALING, OP)
    })
    .await
    .map(|_| ())
}

pub(crate) struct AppautoscalingScheduledAction;

#[async_trait]
impl ResourceHandler for AppautoscalingScheduledAction {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut by_ns: BTreeMap<String, Vec<(Key, &KnownResource)>> = BTreeMap::new();
        for k in &req.known {
            if let Ok(key) = key_of(&k.attrs, "DescribeScheduledActions") {
                by_ns.entry(key.0.clone()).or_default().push((key, k));
            }
        }
        let mut out = Vec::new();
        for (ns, wanted) in &by_ns {
            let mut names: Vec<&str> = wanted.iter().map(|(key, _)| key.3.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            for a in describe(aws, ns, &names).await? {
                let key = key_of_action(&a);
                if let Some((_, k)) = wanted.iter().find(|(w, _)| *w == key) {
                    out.push(LiveResource {
                        address: Some(k.address.clone()),
                        id: k.id.clone(),
                        attrs: action_attrs(&a),
                    });
                }
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "PutScheduledAction";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let key = key_of(d, OP)?;
        if let Some(existing) = read_one(aws, &key).await? {
            if !made_by_this_create(existing.creation_time().secs(), req.pending_since.as_deref()) {
                return Err(invalid(
                    APPAUTOSCALING,
                    OP,
                    format!(
                        "scheduled action {:?} already exists on {} and is not in this \
                         stack's state; choose another name, or delete the existing one",
                        key.3, key.1
                    ),
                ));
            }
        }
        put(aws, d, &deadline).await?;
        until(
            &deadline,
            "DescribeScheduledActions",
            &format!("scheduled action {} to be readable", key.3),
            || async { Ok(read_one(aws, &key).await?.map(|a| action_attrs(&a))) },
        )
        .await
        .map_err(|e| after_create(&key.3, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        put(aws, d, &deadline).await?;
        let key = key_of(d, "DescribeScheduledActions")?;
        read_one(aws, &key)
            .await?
            .map(|a| action_attrs(&a))
            .ok_or_else(|| {
                crate::iam_util::gone(APPAUTOSCALING, "DescribeScheduledActions", &key.3)
            })
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        const OP: &str = "DeleteScheduledAction";
        let deadline = Deadline::after(req.timeout);
        let key = key_of(&req.prior, OP)?;
        if read_one(aws, &key).await?.is_none() {
            return Ok(());
        }
        let (ns, dim) = (namespace(&key.0, OP)?, dimension(&key.2, OP)?);
        ignore_gone(
            retry(&deadline, || async {
                aws.appautoscaling
                    .delete_scheduled_action()
                    .scheduled_action_name(&key.3)
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
    fn the_id_is_terraforms_and_times_must_be_rfc_3339() {
        assert_eq!(
            terraform_id("night", "ecs", "service/prod/api"),
            "night-ecs-service/prod/api"
        );
        let d = Value::map([
            ("start_time", Value::from("2026-12-01T00:00:00Z")),
            ("end_time", Value::from("tomorrow")),
        ]);
        assert!(parse_time(&d, "start_time", "X").unwrap().is_some());
        assert!(parse_time(&d, "end_time", "X").is_err());
        assert_eq!(parse_time(&d, "missing", "X").unwrap(), None);
    }
}
