//! `aws_iam_policy`: a customer-managed IAM policy. Its ID is its ARN.
//!
//! A change of the document creates a new default version (IAM keeps at
//! most five: the oldest non-default one is deleted first). IAM has no
//! batch read: a refresh reads each known policy and its default version,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] policies at once.

use async_trait::async_trait;
use aws_sdk_iam::types::{Policy, PolicyVersion};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::IAM_POLICY;
use crate::args::{num, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, decode_policy, echo, found, gone, iam_tag_map, iam_tags, ignore_gone,
    invalid, live_tags, name_or_generated, normalize_policy, ours, read_each, required, tags_attr,
    update_id, AwsResult, IAM,
};
use crate::policy::g;
use crate::preflight::{creating, is_known, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

/// IAM keeps at most this many versions of a policy.
const MAX_VERSIONS: usize = 5;

/// `aws_iam_policy`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_policy",
    schema,
    handler: &IamPolicy,
    grants: &[g(
        &[
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:GetPolicy",
            "iam:GetPolicyVersion",
            "iam:ListPolicyTags",
            "iam:ListPolicyVersions",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ],
        &[IAM_POLICY],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_policy")
        .doc("A customer-managed IAM policy.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The policy name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("path", AttrType::String)
                .default("/")
                .force_new()
                .doc("The path of the policy."),
        )
        .attr(
            AttrSchema::optional("description", AttrType::String)
                .force_new()
                .doc("The policy's description."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The policy's ARN (also its ID)."))
        .attr(AttrSchema::computed("policy_id", AttrType::String).doc("The stable unique ID."))
        .attr(
            AttrSchema::computed("attachment_count", AttrType::Number)
                .doc("How many users, groups and roles the policy is attached to."),
        )
        .taggable()
}

fn policy_attrs(
    policy: &Policy,
    version: Option<&PolicyVersion>,
    tags: &std::collections::BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let document = version
        .and_then(PolicyVersion::document)
        .map(|d| Value::from(decode_policy(d)))
        .unwrap_or(Value::Null);
    Value::map([
        ("id", s(policy.arn())),
        ("arn", s(policy.arn())),
        ("name", s(policy.policy_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("path", Value::from(policy.path().unwrap_or("/"))),
        ("description", s(policy.description())),
        ("policy", document),
        ("policy_id", s(policy.policy_id())),
        (
            "attachment_count",
            num(policy.attachment_count().unwrap_or(0)),
        ),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// Reads a policy, its default version's document and its tags.
pub(crate) async fn read(aws: &Aws, arn: &str, args: Option<&Value>) -> Result<Value, ProviderError> {
    let policy = aws
        .iam
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .aws(IAM, "GetPolicy")?
        .policy
        .ok_or_else(|| gone(IAM, "GetPolicy", arn))?;
    let version_id = policy.default_version_id().unwrap_or("v1").to_string();
    let version = aws
        .iam
        .get_policy_version()
        .policy_arn(arn)
        .version_id(&version_id)
        .send()
        .await
        .aws(IAM, "GetPolicyVersion")?
        .policy_version;
    let mut tags = iam_tag_map(policy.tags());
    if tags.is_empty() {
        // Older servers leave tags out of GetPolicy.
        let out = aws
            .iam
            .list_policy_tags()
            .policy_arn(arn)
            .send()
            .await
            .aws(IAM, "ListPolicyTags")?;
        tags = iam_tag_map(out.tags());
    }
    Ok(policy_attrs(&policy, version.as_ref(), &tags, args))
}

/// The ARN IAM gives a policy of this path and name.
fn policy_arn(partition: &str, account: &str, path: &str, name: &str) -> String {
    format!("arn:{partition}:iam::{account}:policy{path}{name}")
}

/// The versions to delete so that one more fits: the oldest non-default
/// ones beyond IAM's limit.
fn versions_to_prune(mut versions: Vec<PolicyVersion>) -> Vec<String> {
    versions.retain(|v| !v.is_default_version());
    versions.sort_by_key(|v| v.create_date().map(|d| (d.secs(), d.subsec_nanos())));
    let excess = (versions.len() + 2).saturating_sub(MAX_VERSIONS);
    versions
        .into_iter()
        .take(excess)
        .filter_map(|v| v.version_id().map(str::to_string))
        .collect()
}

async fn list_versions(aws: &Aws, arn: &str) -> Result<Vec<PolicyVersion>, ProviderError> {
    aws.iam
        .list_policy_versions()
        .policy_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListPolicyVersions")
}

async fn delete_version(aws: &Aws, arn: &str, version: &str) -> Result<(), ProviderError> {
    ignore_gone(
        aws.iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version)
            .send()
            .await
            .aws(IAM, "DeletePolicyVersion"),
    )
}

async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&live_tags(prior), &desired_tags(desired));
    if !remove.is_empty() {
        retry(deadline, || async {
            aws.iam
                .untag_policy()
                .policy_arn(arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .aws(IAM, "UntagPolicy")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = iam_tags(&set, "TagPolicy")?;
        retry(deadline, || async {
            aws.iam
                .tag_policy()
                .policy_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .aws(IAM, "TagPolicy")
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct IamPolicy;

#[async_trait]
impl ResourceHandler for IamPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // No batch read: GetPolicy and GetPolicyVersion per known policy.
        read_each(&req.known, |k| async move {
            let attrs = found(read(aws, &k.id, Some(&k.attrs)).await)?;
            Ok(attrs.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: address_of(&k.id, &crate::iam_util::live_tags(&attrs), &req.known),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        let path = opt_str(d, "path").unwrap_or("/");
        let call = aws
            .iam
            .create_policy()
            .policy_name(&name)
            .path(path)
            .policy_document(required(d, "policy", IAM, "CreatePolicy")?)
            .set_description(opt_str(d, "description").map(str::to_string))
            .set_tags(Some(iam_tags(&desired_tags(d), "CreatePolicy")?));
        let created = retry(&deadline, || async {
            call.clone().send().await.aws(IAM, "CreatePolicy")
        })
        .await;
        let arn = match created {
            Ok(out) => out
                .policy()
                .and_then(Policy::arn)
                .map(str::to_string)
                .ok_or_else(|| invalid(IAM, "CreatePolicy", "the answer carries no policy ARN"))?,
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                let account = aws.account_id().await?;
                let arn = policy_arn(aws.loc.partition, &account, path, &name);
                let existing = read(aws, &arn, Some(d)).await?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        IAM,
                        "CreatePolicy",
                        conflict("IAM policy", &name, &live, &req.owner),
                    ));
                }
                tracing::info!(policy = %arn, "adopting the policy an earlier attempt created");
                return Ok(existing);
            }
            Err(e) => return Err(e),
        };
        until(
            &deadline,
            "GetPolicy",
            &format!("policy {arn} to be readable"),
            || async { found(read(aws, &arn, Some(d)).await) },
        )
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// A policy of the same (known) name and path is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let (Some(name), true) = (known_str(d, "name"), is_known(d, "path")) else {
            return Ok(Vec::new());
        };
        let path = known_str(d, "path").unwrap_or("/");
        let account = aws.account_id().await?;
        let arn = policy_arn(aws.loc.partition, &account, path, name);
        let mut findings = Findings::new();
        if let Some(Some(existing)) =
            findings.read("iam:GetPolicy", found(read(aws, &arn, Some(d)).await))?
        {
            let what = "IAM policy";
            findings.name_in_use(req, "iam:GetPolicy", what, name, &live_tags(&existing));
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), IAM, "CreatePolicyVersion")?;
        let d = &req.desired;
        if req.changed.iter().any(|c| c == "policy") {
            let document = required(d, "policy", IAM, "CreatePolicyVersion")?;
            for version in versions_to_prune(list_versions(aws, arn).await?) {
                delete_version(aws, arn, &version).await?;
            }
            retry(&deadline, || async {
                aws.iam
                    .create_policy_version()
                    .policy_arn(arn)
                    .policy_document(document)
                    .set_as_default(true)
                    .send()
                    .await
                    .aws(IAM, "CreatePolicyVersion")
            })
            .await?;
        }
        let prior = req.prior.clone().unwrap_or(Value::Null);
        reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, Some(d)).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let versions = match found(list_versions(aws, &req.id).await)? {
            Some(v) => v,
            None => return Ok(()),
        };
        for v in versions.iter().filter(|v| !v.is_default_version()) {
            if let Some(id) = v.version_id() {
                delete_version(aws, &req.id, id).await?;
            }
        }
        // DeleteConflict (attachments removed a moment ago) is transient.
        ignore_gone(
            aws.iam
                .delete_policy()
                .policy_arn(&req.id)
                .send()
                .await
                .aws(IAM, "DeletePolicy"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    fn version(id: &str, secs: i64, default: bool) -> PolicyVersion {
        PolicyVersion::builder()
            .version_id(id)
            .create_date(DateTime::from_secs(secs))
            .is_default_version(default)
            .build()
    }

    #[test]
    fn the_oldest_non_default_version_makes_room() {
        let versions = vec![
            version("v5", 50, true),
            version("v2", 20, false),
            version("v4", 40, false),
            version("v1", 10, false),
            version("v3", 30, false),
        ];
        assert_eq!(versions_to_prune(versions), vec!["v1".to_string()]);
        assert!(
            versions_to_prune(vec![version("v1", 1, true), version("v2", 2, false)]).is_empty()
        );
    }

    #[test]
    fn policy_arns_include_the_path() {
        assert_eq!(
            policy_arn("aws", "123", "/app/", "read"),
            "arn:aws:iam::123:policy/app/read"
        );
    }

    #[test]
    fn live_policy_is_in_schema_shape() {
        let policy = Policy::builder()
            .policy_name("read")
            .arn("arn:aws:iam::123:policy/read")
            .policy_id("ANPA1")
            .path("/")
            .default_version_id("v2")
            .attachment_count(1)
            .build();
        let v = policy_attrs(
            &policy,
            Some(&PolicyVersion::builder().document("%7B%7D").build()),
            &Default::default(),
            None,
        );
        assert_eq!(
            v.get("id"),
            Some(&Value::from("arn:aws:iam::123:policy/read"))
        );
        assert_eq!(v.get("policy"), Some(&Value::from("{}")));
        assert_eq!(v.get("attachment_count"), Some(&Value::from(1)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
