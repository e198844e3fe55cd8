//! `data.aws_iam_policy`: a managed policy by ARN, or by name (and
//! `path_prefix`), with its default version's document, as the managed
//! `aws_iam_policy` reads it. AWS managed policies (`arn:aws:iam::aws:...`)
//! are found by ARN; by name, the account's own are searched first.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::iam_policy::read;
use super::{AWS_MANAGED_POLICY, IAM_POLICY};
use crate::args::opt_str;
use crate::context::Aws;
use crate::iam_util::{invalid, AwsResult, IAM};
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_iam_policy`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_iam_policy",
    schema,
    handler: &IamPolicyData,
    grants: &[
        g(&["iam:ListPolicies"], ANY),
        g(
            &["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyTags"],
            &[IAM_POLICY, AWS_MANAGED_POLICY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_iam_policy")
        .doc("A managed IAM policy, by ARN or name.")
        .attr(AttrSchema::optional_computed("arn", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(AttrSchema::optional("path_prefix", AttrType::String))
        .attr(AttrSchema::computed("path", AttrType::String))
        .attr(AttrSchema::computed("description", AttrType::String))
        .attr(AttrSchema::computed("policy", AttrType::Json))
        .attr(AttrSchema::computed("policy_id", AttrType::String))
        .attr(AttrSchema::computed("attachment_count", AttrType::Number))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
}

/// The ARN of the one policy named `name` under `path_prefix`: the
/// account's own first, then AWS's.
async fn find(aws: &Aws, name: &str, path_prefix: Option<&str>) -> Result<String, ProviderError> {
    use aws_sdk_iam::types::PolicyScopeType;
    for scope in [PolicyScopeType::Local, PolicyScopeType::Aws] {
        let policies = aws
            .iam
            .list_policies()
            .scope(scope)
            .set_path_prefix(path_prefix.map(str::to_string))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(IAM, "ListPolicies")?;
        let mut found: Vec<String> = policies
            .iter()
            .filter(|p| p.policy_name() == Some(name))
            .filter_map(|p| p.arn().map(str::to_string))
            .collect();
        match found.len() {
            0 => continue,
            1 => return Ok(found.remove(0)),
            n => {
                return Err(invalid(
                    IAM,
                    "ListPolicies",
                    format!("{n} policies are named {name:?}; give arn or path_prefix"),
                ))
            }
        }
    }
    Err(invalid(IAM, "ListPolicies", format!("no IAM policy named {name:?}")))
}

pub(crate) struct IamPolicyData;

#[async_trait]
impl DataHandler for IamPolicyData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let arn = match (opt_str(args, "arn"), opt_str(args, "name")) {
            (Some(arn), _) => arn.to_string(),
            (None, Some(name)) => find(aws, name, opt_str(args, "path_prefix")).await?,
            (None, None) => return Err(invalid(IAM, "GetPolicy", "set arn or name")),
        };
        let mut attrs = as_data_tags(read(aws, &arn, None).await?);
        if let (Value::Map(m), Some(prefix)) = (&mut attrs, opt_str(args, "path_prefix")) {
            m.insert("path_prefix".into(), Value::from(prefix));
        }
        Ok(attrs)
    }
}
