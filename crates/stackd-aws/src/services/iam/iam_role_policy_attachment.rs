//! `aws_iam_role_policy_attachment`: a managed policy attached to a role.
//!
//! The ID is `role/policy_arn`, the form Terraform imports (Terraform's own
//! IDs are `role-<timestamp>`, which a retried create could not reproduce;
//! a role name cannot contain `/`, so the split is unambiguous).
//! `AttachRolePolicy` is idempotent, so creating again after a crash is
//! harmless. A refresh lists the attached policies once per distinct role
//! (`ListAttachedRolePolicies`; IAM has no batch form across roles),
//! [`crate::concurrent::MAX_CONCURRENT_READS`] roles at once.

use std::collections::BTreeSet;

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{account, ROLE};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{bounded_all, found, ignore_gone, invalid, required, AwsResult, IAM};
use crate::policy::{g, ANY};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `aws_iam_role_policy_attachment`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_role_policy_attachment",
    schema,
    handler: &IamRolePolicyAttachment,
    grants: &[
        g(
            &[
                "iam:AttachRolePolicy",
                "iam:DetachRolePolicy",
                "iam:ListAttachedRolePolicies",
            ],
            &[ROLE],
        ),
        // Many roles' attachments are read from the whole account at once.
        g(&["iam:GetAccountAuthorizationDetails"], ANY),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_role_policy_attachment")
        .doc("A managed IAM policy attached to a role.")
        .attr(
            AttrSchema::required("role", AttrType::String)
                .force_new()
                .doc("The name of the role."),
        )
        .attr(
            AttrSchema::required("policy_arn", AttrType::String)
                .force_new()
                .doc("The ARN of the policy to attach."),
        )
}

fn attachment_id(role: &str, policy_arn: &str) -> String {
    format!("{role}/{policy_arn}")
}

/// `role/policy_arn` split in two.
fn parse_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once('/')
        .filter(|(role, arn)| !role.is_empty() && !arn.is_empty())
        .ok_or_else(|| {
            invalid(
                IAM,
                "ListAttachedRolePolicies",
                format!("attachment ID {id:?} is not of the form role/policy_arn"),
            )
        })
}

fn attachment_attrs(role: &str, policy_arn: &str) -> Value {
    Value::map([
        ("id", Value::from(attachment_id(role, policy_arn))),
        ("role", Value::from(role)),
        ("policy_arn", Value::from(policy_arn)),
    ])
}

/// The ARNs of the policies attached to `role`; `None` when the role is gone.
async fn attached(aws: &Aws, role: &str) -> Result<Option<BTreeSet<String>>, ProviderError> {
    let policies = found(
        aws.iam
            .list_attached_role_policies()
            .role_name(role)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(IAM, "ListAttachedRolePolicies"),
    )?;
    Ok(policies.map(|ps| {
        ps.iter()
            .filter_map(|p| p.policy_arn().map(str::to_string))
            .collect()
    }))
}

pub(crate) struct IamRolePolicyAttachment;

#[async_trait]
impl ResourceHandler for IamRolePolicyAttachment {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut wanted = Vec::new();
        for k in &req.known {
            match parse_id(&k.id) {
                Ok((role, arn)) => wanted.push((k, role, arn)),
                // Not an ID this provider made: nothing to find for it.
                Err(e) => tracing::warn!(address = %k.address, error = %e, "skipping"),
            }
        }
        let roles: BTreeSet<&str> = wanted.iter().map(|(_, role, _)| *role).collect();
        let roles: Vec<&str> = roles.into_iter().collect();
        let mut by_role = std::collections::BTreeMap::new();
        if roles.len() >= account::BATCH_FROM {
            // Many roles: every role's attachments in one chain.
            let details = account::role_details(aws).await?;
            for role in &roles {
                let arns: BTreeSet<String> = details
                    .get(*role)
                    .into_iter()
                    .flat_map(|d| d.attached_managed_policies())
                    .filter_map(|p| p.policy_arn().map(str::to_string))
                    .collect();
                by_role.insert(*role, arns);
            }
        } else {
            let lists = bounded_all(roles.iter().map(|role| attached(aws, role))).await;
            for (role, list) in roles.iter().zip(lists) {
                by_role.insert(*role, list?.unwrap_or_default());
            }
        }
        Ok(wanted
            .into_iter()
            .filter(|(_, role, arn)| by_role.get(role).is_some_and(|set| set.contains(*arn)))
            .map(|(k, role, arn)| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: attachment_attrs(role, arn),
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let role = required(&req.desired, "role", IAM, "AttachRolePolicy")?;
        let arn = required(&req.desired, "policy_arn", IAM, "AttachRolePolicy")?;
        // A role or policy created a moment ago may not be visible yet.
        retry(&deadline, || async {
            aws.iam
                .attach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .aws(IAM, "AttachRolePolicy")
        })
        .await?;
        let id = attachment_id(role, arn);
        until(
            &deadline,
            "ListAttachedRolePolicies",
            &format!("{arn} to be listed as attached to {role}"),
            || async {
                Ok(attached(aws, role)
                    .await?
                    .filter(|set| set.contains(arn))
                    .map(|_| attachment_attrs(role, arn)))
            },
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, _aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Both arguments force replacement; nothing is updatable in place.
        let role = required(&req.desired, "role", IAM, "AttachRolePolicy")?;
        let arn = required(&req.desired, "policy_arn", IAM, "AttachRolePolicy")?;
        Ok(attachment_attrs(role, arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let (role, arn) = parse_id(&req.id)?;
        ignore_gone(
            aws.iam
                .detach_role_policy()
                .role_name(role)
                .policy_arn(arn)
                .send()
                .await
                .aws(IAM, "DetachRolePolicy"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_split_at_the_first_slash() {
        let arn = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
        let id = attachment_id("exec", arn);
        assert_eq!(parse_id(&id).unwrap(), ("exec", arn));
        assert!(parse_id("exec").is_err());
        assert!(parse_id("/arn").is_err());
    }

    #[test]
    fn live_attachment_is_in_schema_shape() {
        let v = attachment_attrs("exec", "arn:aws:iam::aws:policy/ReadOnlyAccess");
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
