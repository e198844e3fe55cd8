//! `aws_cloudwatch_log_stream`: a stream of a CloudWatch Logs log group. Its
//! ID is its name, as in Terraform; `stackd import` also takes Terraform's
//! import ID, `LOG_GROUP:NAME`.
//!
//! Streams carry no tags, so ownership is the stack's state alone. A refresh
//! makes one `DescribeLogStreams` chain per log group of the known streams
//! (filtered by the streams' common name prefix): streams have no read
//! across groups.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::LogStream;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::LOG_GROUP;
use crate::args::{common_prefix, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    bounded_all, found, ignore_gone, invalid, made_by_this_create, required, AwsResult,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

const LOGS: &str = "logs";

/// `aws_cloudwatch_log_stream`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_log_stream",
    schema,
    handler: &CloudwatchLogStream,
    grants: &[g(
        &[
            "logs:CreateLogStream",
            "logs:DeleteLogStream",
            "logs:DescribeLogStreams",
        ],
        &[LOG_GROUP],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_log_stream")
        .doc("A log stream of a CloudWatch Logs log group.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The stream name (no `:` or `*`)."),
        )
        .attr(
            AttrSchema::required("log_group_name", AttrType::String)
                .force_new()
                .doc("The log group the stream belongs to."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The stream's ARN."))
}

fn stream_attrs(group: &str, st: &LogStream) -> Value {
    Value::map([
        ("id", s(st.log_stream_name())),
        ("name", s(st.log_stream_name())),
        ("log_group_name", Value::from(group)),
        ("arn", s(st.arn())),
    ])
}

/// The log group and name of a known stream: from its recorded arguments,
/// or from Terraform's import ID `GROUP:NAME`.
fn group_and_name(k: &KnownResource) -> Option<(String, String)> {
    if let Some(group) = opt_str(&k.attrs, "log_group_name") {
        return Some((group.to_string(), k.id.clone()));
    }
    let (group, name) = k.id.split_once(':')?;
    Some((group.to_string(), name.to_string()))
}

/// The streams of `group` whose names begin with `prefix`; `Ok(None)` when
/// the group is gone.
async fn describe(
    aws: &Aws,
    group: &str,
    prefix: &str,
) -> Result<Option<Vec<LogStream>>, ProviderError> {
    let call = aws.logs.describe_log_streams().log_group_name(group);
    let call = if prefix.is_empty() {
        call
    } else {
        call.log_stream_name_prefix(prefix)
    };
    found(
        call.into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(LOGS, "DescribeLogStreams"),
    )
}

async fn read_one(aws: &Aws, group: &str, name: &str) -> Result<Option<Value>, ProviderError> {
    let streams = describe(aws, group, name).await?.unwrap_or_default();
    Ok(streams
        .iter()
        .find(|st| st.log_stream_name() == Some(name))
        .map(|st| stream_attrs(group, st)))
}

/// True when the stream `group`/`name` was made by this create (after its
/// pending record was written).
async fn made_by_this_stream_create(
    aws: &Aws,
    group: &str,
    name: &str,
    req: &ChangeRequest,
) -> Result<bool, ProviderError> {
    let streams = describe(aws, group, name).await?.unwrap_or_default();
    Ok(streams.iter().any(|st| {
        st.log_stream_name() == Some(name)
            && st
                .creation_time()
                .is_some_and(|ms| made_by_this_create(ms / 1000, req.pending_since.as_deref()))
    }))
}

pub(crate) struct CloudwatchLogStream;

#[async_trait]
impl ResourceHandler for CloudwatchLogStream {
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
            let streams = describe(aws, group, &common_prefix(&names)).await?;
            let mut live = Vec::new();
            for st in streams.unwrap_or_default() {
                let Some((name, k)) = wanted
                    .iter()
                    .find(|(n, _)| Some(n.as_str()) == st.log_stream_name())
                else {
                    continue;
                };
                live.push(LiveResource {
                    address: Some(k.address.clone()),
                    id: name.clone(),
                    attrs: stream_attrs(group, &st),
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
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", LOGS, "CreateLogStream")?;
        let group = required(d, "log_group_name", LOGS, "CreateLogStream")?;
        if name.contains([':', '*']) {
            return Err(invalid(
                LOGS,
                "CreateLogStream",
                format!("log stream name {name:?} may not contain ':' or '*'"),
            ));
        }
        let made = retry(&deadline, || async {
            aws.logs
                .create_log_stream()
                .log_group_name(group)
                .log_stream_name(name)
                .send()
                .await
                .aws(LOGS, "CreateLogStream")
        })
        .await;
        match made {
            Ok(_) => {}
            // A stream carries no tags: one of this name is this create's
            // only when it was made after the create's pending record was
            // written (an answer lost, or stackd stopped, after AWS acted).
            Err(e) if has_code(&e, "ResourceAlreadyExistsException") => {
                if !made_by_this_stream_create(aws, group, name, req).await? {
                    return Err(invalid(
                        LOGS,
                        "CreateLogStream",
                        format!(
                            "log stream {name:?} already exists in log group {group:?} and is not \
                             in this stack's state; `stackd import` it, or choose another name"
                        ),
                    ));
                }
                tracing::info!(log_stream = %name, "adopting the log stream an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "DescribeLogStreams",
            &format!("log stream {group}:{name} to be readable"),
            || read_one(aws, group, name),
        )
        .await
        .map_err(|e| after_create(name, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces a new stream: nothing to change in place.
        let d = &req.desired;
        let name = required(d, "name", LOGS, "DescribeLogStreams")?;
        let group = required(d, "log_group_name", LOGS, "DescribeLogStreams")?;
        read_one(aws, group, name)
            .await?
            .ok_or_else(|| crate::iam_util::gone(LOGS, "DescribeLogStreams", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let group = opt_str(&req.prior, "log_group_name")
            .map(str::to_string)
            .or_else(|| req.id.split_once(':').map(|(g, _)| g.to_string()))
            .ok_or_else(|| invalid(LOGS, "DeleteLogStream", "the log group is not known"))?;
        let name = opt_str(&req.prior, "name").unwrap_or(&req.id);
        ignore_gone(
            retry(&deadline, || async {
                aws.logs
                    .delete_log_stream()
                    .log_group_name(&group)
                    .log_stream_name(name)
                    .send()
                    .await
                    .aws(LOGS, "DeleteLogStream")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_import_id_gives_group_and_name() {
        let k = KnownResource {
            address: "aws_cloudwatch_log_stream.s".parse().unwrap(),
            id: "/ecs/app:web-1".into(),
            attrs: Value::Null,
        };
        assert_eq!(
            group_and_name(&k),
            Some(("/ecs/app".to_string(), "web-1".to_string()))
        );
        let k = KnownResource {
            attrs: Value::map([("log_group_name", Value::from("/g"))]),
            id: "s:1".into(),
            ..k
        };
        assert_eq!(group_and_name(&k), Some(("/g".into(), "s:1".into())));
    }

    #[test]
    fn one_prefix_covers_the_names_of_a_group() {
        assert_eq!(common_prefix(&["web-1", "web-2", "web-10"]), "web-");
        assert_eq!(common_prefix(&["a"]), "a");
        assert_eq!(common_prefix(&["a", "b"]), "");
    }
}
