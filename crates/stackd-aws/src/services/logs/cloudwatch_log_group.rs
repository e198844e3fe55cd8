//! `aws_cloudwatch_log_group`: a CloudWatch Logs log group. Its ID is its
//! name; `arn` has no trailing `:*`, as in Terraform.
//!
//! A refresh describes the known groups with as few `DescribeLogGroups`
//! chains as their names allow (one per common name prefix, e.g. `/ecs/app-`),
//! then reads each found group's tags with `ListTagsForResource` (Logs has
//! no batch tag read), [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_cloudwatchlogs::types::{LogGroup, LogGroupClass};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::LOG_GROUP;
use crate::args::{bool_or, common_prefix, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, conflict, echo, found, gone, ignore_gone, invalid, live_tags,
    name_or_generated, ours, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, reconcile_by, stack_tags_by_arn};
use crate::wait::{retry, until, Deadline};

const LOGS: &str = "logs";

/// `aws_cloudwatch_log_group`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudwatch_log_group",
    schema,
    handler: &CloudwatchLogGroup,
    grants: &[
        // The groups' tags come in one chain from the Tagging API.
        g(&["logs:DescribeLogGroups", "tag:GetResources"], ANY),
        g(
            &[
                "logs:AssociateKmsKey",
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
                "logs:ListTagsForResource",
                "logs:PutRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
            ],
            &[LOG_GROUP],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_cloudwatch_log_group")
        .doc("A CloudWatch Logs log group.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The log group name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("retention_in_days", AttrType::Number)
                .default(0)
                .doc("Days to keep events; 0 keeps them forever."),
        )
        .attr(
            AttrSchema::optional("kms_key_id", AttrType::String)
                .doc("ARN of the KMS key that encrypts the log data."),
        )
        .attr(
            AttrSchema::optional_computed("log_group_class", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec![
                    "STANDARD",
                    "INFREQUENT_ACCESS",
                    "DELIVERY",
                ]))
                .doc("STANDARD (the default), INFREQUENT_ACCESS or DELIVERY."),
        )
        .attr(
            AttrSchema::optional("skip_destroy", AttrType::Bool)
                .default(false)
                .doc("Leave the log group in place on destroy (only forget it)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ARN, without `:*`."))
        .taggable()
}

/// The log group's ARN without the `:*` DescribeLogGroups appends.
fn group_arn(g: &LogGroup) -> Option<String> {
    g.log_group_arn()
        .map(str::to_string)
        .or_else(|| g.arn().map(|a| a.trim_end_matches(":*").to_string()))
}

fn group_attrs(g: &LogGroup, tags: &BTreeMap<String, String>, args: Option<&Value>) -> Value {
    Value::map([
        ("id", s(g.log_group_name())),
        ("name", s(g.log_group_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("retention_in_days", num(g.retention_in_days().unwrap_or(0))),
        ("kms_key_id", s(g.kms_key_id())),
        (
            "log_group_class",
            Value::from(
                g.log_group_class()
                    .map(LogGroupClass::as_str)
                    .unwrap_or("STANDARD"),
            ),
        ),
        (
            "skip_destroy",
            echo(args, "skip_destroy", Value::Bool(false)),
        ),
        ("arn", Value::from(group_arn(g))),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// The attributes of a log group just made from `d`: what the create
/// sent, with AWS's defaults.
async fn created_attrs(aws: &Aws, name: &str, d: &Value) -> Result<Value, ProviderError> {
    let account = aws.account_id().await?;
    Ok(Value::map([
        ("id", Value::from(name)),
        ("name", Value::from(name)),
        ("name_prefix", echo(Some(d), "name_prefix", Value::Null)),
        (
            "retention_in_days",
            num(opt_int(d, "retention_in_days").unwrap_or(0)),
        ),
        ("kms_key_id", s(opt_str(d, "kms_key_id"))),
        (
            "log_group_class",
            Value::from(opt_str(d, "log_group_class").unwrap_or("STANDARD")),
        ),
        ("skip_destroy", echo(Some(d), "skip_destroy", Value::Bool(false))),
        (
            "arn",
            Value::from(aws.loc.arn("logs", &account, &format!("log-group:{name}"))),
        ),
        ("tags_all", tags_attr(desired_tags(d))),
    ]))
}

/// Name prefixes covering `names` with few `DescribeLogGroups` chains:
/// names are grouped by their first path segment (`/ecs/`, `/aws/`, or the
/// part before the first `/`), each group described by its longest common
/// prefix.
fn covering_prefixes(names: &[&str]) -> Vec<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for name in names {
        let skip = usize::from(name.starts_with('/'));
        let key = match name[skip..].find('/') {
            Some(i) => &name[..skip + i + 1],
            None => name,
        };
        groups.entry(key).or_default().push(name);
    }
    groups
        .into_values()
        .map(|members| common_prefix(&members))
        .collect()
}

async fn describe(aws: &Aws, prefix: &str) -> Result<Vec<LogGroup>, ProviderError> {
    aws.logs
        .describe_log_groups()
        .log_group_name_prefix(prefix)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(LOGS, "DescribeLogGroups")
}

async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .logs
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(LOGS, "ListTagsForResource")?;
    Ok(out
        .tags()
        .map(|t| t.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default())
}

/// The log groups with these exact names, with their tags: from `tagged`
/// (the stack's groups' tags by ARN, [`stack_tags_by_arn`]) where it has
/// them, else one `ListTagsForResource` per group.
async fn read_groups(
    aws: &Aws,
    names: &[&str],
    tagged: Option<&HashMap<String, BTreeMap<String, String>>>,
) -> Result<Vec<(LogGroup, BTreeMap<String, String>)>, ProviderError> {
    let mut wanted: HashSet<&str> = names.iter().copied().collect();
    let mut groups = Vec::new();
    for prefix in covering_prefixes(names) {
        for g in describe(aws, &prefix).await? {
            // Each wanted name once (prefixes may overlap).
            if g.log_group_name().is_some_and(|n| wanted.remove(n)) {
                groups.push(g);
            }
        }
    }
    let tags = bounded_all(groups.iter().map(|g| async move {
        let arn = group_arn(g);
        if let Some(tags) = arn.as_ref().and_then(|a| tagged?.get(a)) {
            return Ok(tags.clone());
        }
        match arn {
            Some(arn) => found(tags_of(aws, &arn).await).map(Option::unwrap_or_default),
            None => Ok(BTreeMap::new()),
        }
    }))
    .await;
    groups
        .into_iter()
        .zip(tags)
        .map(|(g, t)| Ok((g, t?)))
        .collect()
}

async fn read_one(
    aws: &Aws,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    Ok(read_groups(aws, &[name], None)
        .await?
        .first()
        .map(|(g, tags)| group_attrs(g, tags, args)))
}

async fn set_retention(
    aws: &Aws,
    name: &str,
    days: i64,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if days > 0 {
        retry(deadline, || async {
            aws.logs
                .put_retention_policy()
                .log_group_name(name)
                .retention_in_days(days as i32)
                .send()
                .await
                .aws(LOGS, "PutRetentionPolicy")
        })
        .await
        .map(|_| ())
    } else {
        ignore_gone(
            aws.logs
                .delete_retention_policy()
                .log_group_name(name)
                .send()
                .await
                .aws(LOGS, "DeleteRetentionPolicy"),
        )
    }
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
            aws.logs
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(LOGS, "UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.logs
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags.into_iter().collect()))
                .send()
                .await
                .aws(LOGS, "TagResource")
                .map(|_| ())
        },
    )
    .await
}

pub(crate) struct CloudwatchLogGroup;

#[async_trait]
impl ResourceHandler for CloudwatchLogGroup {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<&str> = req
            .known
            .iter()
            .map(|k| k.id.as_str())
            .filter(|id| !id.is_empty())
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        // The groups' tags in one chain (the second of the type's two).
        let tagged = stack_tags_by_arn(aws, "logs:log-group", &req.owner).await?;
        let known_attrs: HashMap<&str, &Value> = req
            .known
            .iter()
            .map(|k| (k.id.as_str(), &k.attrs))
            .collect();
        Ok(read_groups(aws, &names, Some(&tagged))
            .await?
            .into_iter()
            .filter_map(|(g, tags)| {
                let id = g.log_group_name()?.to_string();
                let known = known_attrs.get(id.as_str()).copied();
                Some(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: group_attrs(&g, &tags, known),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        let call = aws
            .logs
            .create_log_group()
            .log_group_name(&name)
            .set_kms_key_id(opt_str(d, "kms_key_id").map(str::to_string))
            .set_log_group_class(opt_str(d, "log_group_class").map(LogGroupClass::from))
            .set_tags(Some(desired_tags(d).into_iter().collect()));
        match retry(&deadline, || async {
            call.clone().send().await.aws(LOGS, "CreateLogGroup")
        })
        .await
        {
            Ok(_) => {
                // Made as asked: every attribute is known from the request
                // (the ARN from the account, read once per process), so no
                // read-back sits on the apply's critical path.
                let days = opt_int(d, "retention_in_days").unwrap_or(0);
                if days > 0 {
                    set_retention(aws, &name, days, &deadline)
                        .await
                        .map_err(|e| after_create(&name, e))?;
                }
                return created_attrs(aws, &name, d).await;
            }
            Err(e) if has_code(&e, "ResourceAlreadyExistsException") => {
                let existing = read_one(aws, &name, Some(d)).await?.ok_or(e)?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        LOGS,
                        "CreateLogGroup",
                        conflict("log group", &name, &live, &req.owner),
                    ));
                }
                tracing::info!(log_group = %name, "adopting the log group an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        async {
            let days = opt_int(d, "retention_in_days").unwrap_or(0);
            if days > 0 {
                set_retention(aws, &name, days, &deadline).await?;
            }
            until(
                &deadline,
                "DescribeLogGroups",
                &format!("log group {name} to be readable"),
                || read_one(aws, &name, Some(d)),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A log group of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "logs:DescribeLogGroups";
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read_one(aws, name, Some(d)).await)? {
            let tags = live_tags(&existing);
            findings.name_in_use(req, ACTION, "log group", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), LOGS, "PutRetentionPolicy")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("retention_in_days") {
            set_retention(
                aws,
                name,
                opt_int(d, "retention_in_days").unwrap_or(0),
                &deadline,
            )
            .await?;
        }
        if changed("kms_key_id") {
            match opt_str(d, "kms_key_id") {
                Some(key) => {
                    aws.logs
                        .associate_kms_key()
                        .log_group_name(name)
                        .kms_key_id(key)
                        .send()
                        .await
                        .aws(LOGS, "AssociateKmsKey")?;
                }
                None => {
                    aws.logs
                        .disassociate_kms_key()
                        .log_group_name(name)
                        .send()
                        .await
                        .aws(LOGS, "DisassociateKmsKey")?;
                }
            }
        }
        let arn = match prior.get("arn").and_then(Value::as_str) {
            Some(arn) => arn.to_string(),
            None => {
                let account = aws.account_id().await?;
                aws.loc.arn("logs", &account, &format!("log-group:{name}"))
            }
        };
        reconcile_tags(aws, &arn, &prior, d, &deadline).await?;
        read_one(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(LOGS, "DescribeLogGroups", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        if bool_or(&req.prior, "skip_destroy", false) {
            tracing::info!(log_group = %req.id, "skip_destroy: leaving the log group in place");
            return Ok(());
        }
        ignore_gone(
            aws.logs
                .delete_log_group()
                .log_group_name(&req.id)
                .send()
                .await
                .aws(LOGS, "DeleteLogGroup"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_cover_names_with_few_calls() {
        let mut p = covering_prefixes(&[
            "/ecs/app-frontend",
            "/ecs/app-backend",
            "/aws/codebuild/app",
        ]);
        p.sort();
        assert_eq!(
            p,
            vec!["/aws/codebuild/app".to_string(), "/ecs/app-".to_string()]
        );
        assert_eq!(covering_prefixes(&["plain"]), vec!["plain".to_string()]);
        assert_eq!(covering_prefixes(&["svc/a", "svc/b", "other"]).len(), 2);
        for names in [vec!["/x/ab", "/x/ac", "/x/a"], vec!["/é/ü1", "/é/ü2"]] {
            for p in covering_prefixes(&names) {
                assert!(names.iter().any(|n| n.starts_with(&p)), "{p}");
            }
        }
    }

    #[test]
    fn live_group_is_in_schema_shape_with_a_plain_arn() {
        let g = LogGroup::builder()
            .log_group_name("/ecs/app")
            .arn("arn:aws:logs:us-east-1:1:log-group:/ecs/app:*")
            .retention_in_days(14)
            .build();
        let v = group_attrs(&g, &BTreeMap::new(), None);
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:logs:us-east-1:1:log-group:/ecs/app"))
        );
        assert_eq!(v.get("retention_in_days"), Some(&Value::from(14)));
        assert_eq!(v.get("log_group_class"), Some(&Value::from("STANDARD")));
        assert_eq!(v.get("skip_destroy"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn unset_retention_reads_as_zero() {
        let g = LogGroup::builder().log_group_name("x").build();
        assert_eq!(
            group_attrs(&g, &BTreeMap::new(), None).get("retention_in_days"),
            Some(&Value::from(0))
        );
    }
}
