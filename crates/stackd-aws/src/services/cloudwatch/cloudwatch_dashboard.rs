//! `aws_cloudwatch_dashboard`: a CloudWatch dashboard. Its ID is its name,
//! as in Terraform (also the import ID). The body compares by meaning (JSON
//! with keys in any order), as the provider normalises it.
//!
//! Dashboards carry no tags here (Terraform's type takes none): a create
//! that finds one of the same name takes it for its own only when it was
//! last modified after the create's pending record; otherwise it refuses
//! (`PutDashboard` would overwrite it). A refresh calls `GetDashboard` per
//! known dashboard: `ListDashboards` answers names and sizes, never
//! bodies, and there is no batch read of bodies.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::DASHBOARD;
use crate::args::s;
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    found, ignore_gone, invalid, made_by_this_create, read_each, required, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

const CLOUDWATCH: &str = "cloudwatch";

/// `aws_cloudwatch_dashboard`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_dashboard",
    schema,
    handler: &CloudwatchDashboard,
    grants: &[
        g(&["cloudwatch:ListDashboards"], ANY),
        g(
            &[
                "cloudwatch:DeleteDashboards",
                "cloudwatch:GetDashboard",
                "cloudwatch:PutDashboard",
            ],
            &[DASHBOARD],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_dashboard")
        .doc("A CloudWatch dashboard.")
        .attr(
            AttrSchema::required("dashboard_name", AttrType::String)
                .force_new()
                .doc("The dashboard's name."),
        )
        .attr(
            AttrSchema::required("dashboard_body", AttrType::Json)
                .doc("The dashboard's widgets (JSON), compared by meaning."),
        )
        .attr(AttrSchema::computed("dashboard_arn", AttrType::String).doc("The dashboard's ARN."))
}

/// The dashboard's attributes; `None` when it does not exist.
async fn read(aws: &Aws, name: &str) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.cloudwatch
            .get_dashboard()
            .dashboard_name(name)
            .send()
            .await
            .aws(CLOUDWATCH, "GetDashboard"),
    )?;
    Ok(out.map(|o| {
        Value::map([
            ("id", Value::from(o.dashboard_name().unwrap_or(name))),
            ("dashboard_name", Value::from(o.dashboard_name().unwrap_or(name))),
            ("dashboard_body", s(o.dashboard_body())),
            ("dashboard_arn", s(o.dashboard_arn())),
        ])
    }))
}

/// True when the dashboard `name` was last modified after `pending_since`:
/// an earlier attempt of this create made it.
async fn modified_since(
    aws: &Aws,
    name: &str,
    pending_since: Option<&str>,
) -> Result<bool, ProviderError> {
    let entries = aws
        .cloudwatch
        .list_dashboards()
        .dashboard_name_prefix(name)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(CLOUDWATCH, "ListDashboards")?;
    Ok(entries.iter().any(|e| {
        e.dashboard_name() == Some(name)
            && e.last_modified()
                .is_some_and(|t| made_by_this_create(t.secs(), pending_since))
    }))
}

async fn put(aws: &Aws, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    const OP: &str = "PutDashboard";
    let name = required(d, "dashboard_name", CLOUDWATCH, OP)?;
    let body = required(d, "dashboard_body", CLOUDWATCH, OP)?;
    let out = retry(deadline, || async {
        aws.cloudwatch
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body)
            .send()
            .await
            .aws(CLOUDWATCH, OP)
    })
    .await?;
    // Validation messages are warnings: the dashboard was saved.
    for m in out.dashboard_validation_messages() {
        tracing::warn!(dashboard = %name, message = ?m.message(), "CloudWatch validated the dashboard body");
    }
    Ok(())
}

/// Reads until the dashboard's body means what `d` asks for.
async fn read_settled(
    aws: &Aws,
    name: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let want = d
        .get("dashboard_body")
        .and_then(Value::as_str)
        .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
    until(
        deadline,
        "GetDashboard",
        &format!("dashboard {name} to show its body"),
        || async {
            let v = read(aws, name).await?;
            Ok(v.filter(|v| {
                let live = v
                    .get("dashboard_body")
                    .and_then(Value::as_str)
                    .and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
                want.is_none() || live == want
            }))
        },
    )
    .await
}

pub(crate) struct CloudwatchDashboard;

#[async_trait]
impl ResourceHandler for CloudwatchDashboard {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id).await?.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "dashboard_name", CLOUDWATCH, "PutDashboard")?;
        if read(aws, name).await?.is_some()
            && !modified_since(aws, name, req.pending_since.as_deref()).await?
        {
            return Err(invalid(
                CLOUDWATCH,
                "PutDashboard",
                format!(
                    "dashboard {name:?} already exists and is not in this stack's state; \
                     `stackd import` it, or choose another name"
                ),
            ));
        }
        put(aws, d, &deadline).await?;
        read_settled(aws, name, d, &deadline)
            .await
            .map_err(|e| after_create(name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), CLOUDWATCH, "PutDashboard")?;
        put(aws, &req.desired, &deadline).await?;
        read_settled(aws, name, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.cloudwatch
                .delete_dashboards()
                .dashboard_names(&req.id)
                .send()
                .await
                .aws(CLOUDWATCH, "DeleteDashboards"),
        )
    }
}
