//! `aws_ecr_repository`: a private ECR image repository. Its ID is its name.
//!
//! A refresh describes every known repository in one `DescribeRepositories`
//! call per 100 names; when one of them is gone (the call then fails as a
//! whole) it lists the registry's repositories instead. Tags need
//! `ListTagsForResource` per repository (no batch form),
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use aws_sdk_ecr::types::{
    EncryptionConfiguration, EncryptionType, ImageScanningConfiguration, ImageTagMutability,
    Repository, Tag,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::REPOSITORY;
use crate::args::{blocks, bool_or, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, conflict, echo, found, gone, ignore_gone, invalid, live_tags, ours,
    required, tags_attr, update_id, AwsResult,
};
use crate::policy::g;
use crate::preflight::{creating, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

pub(crate) const ECR: &str = "ecr";

/// DescribeRepositories takes at most this many names.
const MAX_NAMES: usize = 100;

/// `aws_ecr_repository`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecr_repository",
    schema,
    handler: &EcrRepository,
    grants: &[g(
        &[
            "ecr:CreateRepository",
            "ecr:DeleteRepository",
            "ecr:DescribeRepositories",
            "ecr:ListTagsForResource",
            "ecr:PutImageScanningConfiguration",
            "ecr:PutImageTagMutability",
            "ecr:TagResource",
            "ecr:UntagResource",
        ],
        &[REPOSITORY],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecr_repository")
        .doc("A private ECR repository.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The repository name."),
        )
        .attr(
            AttrSchema::optional("image_tag_mutability", AttrType::String)
                .default("MUTABLE")
                .check(Check::OneOf(vec![
                    "MUTABLE",
                    "IMMUTABLE",
                    "MUTABLE_WITH_EXCLUSION",
                    "IMMUTABLE_WITH_EXCLUSION",
                ]))
                .doc("Whether image tags can be overwritten."),
        )
        .attr(
            AttrSchema::optional("force_delete", AttrType::Bool)
                .default(false)
                .doc("Delete the repository even if it contains images."),
        )
        .block(
            BlockSchema::new("image_scanning_configuration", Nesting::Single)
                .computed_when_absent()
                .attr(AttrSchema::required("scan_on_push", AttrType::Bool)),
        )
        .block(
            BlockSchema::new("encryption_configuration", Nesting::Single)
                .computed_when_absent()
                .force_new()
                .attr(
                    AttrSchema::optional("encryption_type", AttrType::String)
                        .default("AES256")
                        .check(Check::OneOf(vec!["AES256", "KMS", "KMS_DSSE"])),
                )
                .attr(AttrSchema::optional_computed("kms_key", AttrType::String)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The repository's ARN."))
        .attr(
            AttrSchema::computed("registry_id", AttrType::String).doc("The registry (account) ID."),
        )
        .attr(
            AttrSchema::computed("repository_url", AttrType::String)
                .doc("account.dkr.ecr.region.amazonaws.com/name"),
        )
        .taggable()
}

pub(crate) fn repository_attrs(
    r: &Repository,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let scanning = Value::List(vec![Value::map([(
        "scan_on_push",
        Value::Bool(
            r.image_scanning_configuration()
                .map(ImageScanningConfiguration::scan_on_push)
                .unwrap_or(false),
        ),
    )])]);
    let encryption = Value::List(vec![Value::map([
        (
            "encryption_type",
            Value::from(
                r.encryption_configuration()
                    .map(|e| e.encryption_type().as_str())
                    .unwrap_or("AES256"),
            ),
        ),
        (
            "kms_key",
            s(r.encryption_configuration()
                .and_then(EncryptionConfiguration::kms_key)),
        ),
    ])]);
    Value::map([
        ("id", s(r.repository_name())),
        ("name", s(r.repository_name())),
        (
            "image_tag_mutability",
            Value::from(
                r.image_tag_mutability()
                    .map(|m| m.as_str())
                    .unwrap_or("MUTABLE"),
            ),
        ),
        (
            "force_delete",
            echo(args, "force_delete", Value::Bool(false)),
        ),
        ("image_scanning_configuration", scanning),
        ("encryption_configuration", encryption),
        ("arn", s(r.repository_arn())),
        ("registry_id", s(r.registry_id())),
        ("repository_url", s(r.repository_uri())),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

fn ecr_tags(tags: &BTreeMap<String, String>, operation: &str) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(ECR, operation, e.to_string()))
        })
        .collect()
}

async fn describe(aws: &Aws, names: Option<Vec<String>>) -> Result<Vec<Repository>, ProviderError> {
    aws.ecr
        .describe_repositories()
        .set_repository_names(names)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(ECR, "DescribeRepositories")
}

/// The repositories with these names that exist: by name in batches; when
/// a batch fails because one is gone, by listing the registry.
async fn describe_named(aws: &Aws, names: &[String]) -> Result<Vec<Repository>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(MAX_NAMES) {
        match describe(aws, Some(chunk.to_vec())).await {
            Ok(repos) => out.extend(repos),
            Err(e) if e.kind == ErrorKind::NotFound => {
                let wanted: HashSet<&str> = names.iter().map(String::as_str).collect();
                let mut all = describe(aws, None).await?;
                all.retain(|r| r.repository_name().is_some_and(|n| wanted.contains(n)));
                return Ok(all);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(out)
}

pub(crate) async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .ecr
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(ECR, "ListTagsForResource")?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

async fn with_tags(
    aws: &Aws,
    repos: Vec<Repository>,
) -> Result<Vec<(Repository, BTreeMap<String, String>)>, ProviderError> {
    let tags = bounded_all(repos.iter().map(|r| async move {
        match r.repository_arn() {
            Some(arn) => found(tags_of(aws, arn).await).map(Option::unwrap_or_default),
            None => Ok(BTreeMap::new()),
        }
    }))
    .await;
    repos
        .into_iter()
        .zip(tags)
        .map(|(r, t)| Ok((r, t?)))
        .collect()
}

async fn read(aws: &Aws, name: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let repos = describe_named(aws, &[name.to_string()]).await?;
    Ok(with_tags(aws, repos)
        .await?
        .first()
        .map(|(r, tags)| repository_attrs(r, tags, args)))
}

fn scanning_of(d: &Value) -> Option<ImageScanningConfiguration> {
    blocks(d, "image_scanning_configuration").first().map(|b| {
        ImageScanningConfiguration::builder()
            .scan_on_push(bool_or(b, "scan_on_push", false))
            .build()
    })
}

fn encryption_of(d: &Value) -> Result<Option<EncryptionConfiguration>, ProviderError> {
    blocks(d, "encryption_configuration")
        .first()
        .map(|b| {
            EncryptionConfiguration::builder()
                .encryption_type(EncryptionType::from(
                    opt_str(b, "encryption_type").unwrap_or("AES256"),
                ))
                .set_kms_key(opt_str(b, "kms_key").map(str::to_string))
                .build()
                .map_err(|e| invalid(ECR, "CreateRepository", e.to_string()))
        })
        .transpose()
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
            aws.ecr
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(remove.clone()))
                .send()
                .await
                .aws(ECR, "UntagResource")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = ecr_tags(&set, "TagResource")?;
        retry(deadline, || async {
            aws.ecr
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .aws(ECR, "TagResource")
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct EcrRepository;

#[async_trait]
impl ResourceHandler for EcrRepository {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<String> = req
            .known
            .iter()
            .map(|k| k.id.clone())
            .filter(|id| !id.is_empty())
            .collect();
        names.sort();
        names.dedup();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let repos = describe_named(aws, &names).await?;
        Ok(with_tags(aws, repos)
            .await?
            .into_iter()
            .filter_map(|(r, tags)| {
                let id = r.repository_name()?.to_string();
                let known = req.known.iter().find(|k| k.id == id).map(|k| &k.attrs);
                Some(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: repository_attrs(&r, &tags, known),
                    id,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", ECR, "CreateRepository")?;
        let call = aws
            .ecr
            .create_repository()
            .repository_name(name)
            .image_tag_mutability(ImageTagMutability::from(
                opt_str(d, "image_tag_mutability").unwrap_or("MUTABLE"),
            ))
            .set_image_scanning_configuration(scanning_of(d))
            .set_encryption_configuration(encryption_of(d)?)
            .set_tags(Some(ecr_tags(&desired_tags(d), "CreateRepository")?));
        match retry(&deadline, || async {
            call.clone().send().await.aws(ECR, "CreateRepository")
        })
        .await
        {
            Ok(_) => {}
            Err(e) if has_code(&e, "RepositoryAlreadyExistsException") => {
                let existing = read(aws, name, Some(d)).await?.ok_or(e)?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        ECR,
                        "CreateRepository",
                        conflict("ECR repository", name, &live, &req.owner),
                    ));
                }
                tracing::info!(
                    repository = name,
                    "adopting the repository an earlier attempt created"
                );
                return Ok(existing);
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "DescribeRepositories",
            &format!("repository {name} to be readable"),
            || read(aws, name, Some(d)),
        )
        .await
        .map_err(|e| after_create(name, e))
    }

    /// A repository of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "ecr:DescribeRepositories";
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read(aws, name, Some(d)).await)? {
            let tags = live_tags(&existing);
            findings.name_in_use(req, ACTION, "ECR repository", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), ECR, "PutImageTagMutability")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("image_tag_mutability") {
            aws.ecr
                .put_image_tag_mutability()
                .repository_name(name)
                .image_tag_mutability(ImageTagMutability::from(
                    opt_str(d, "image_tag_mutability").unwrap_or("MUTABLE"),
                ))
                .send()
                .await
                .aws(ECR, "PutImageTagMutability")?;
        }
        if changed("image_scanning_configuration") {
            if let Some(scanning) = scanning_of(d) {
                aws.ecr
                    .put_image_scanning_configuration()
                    .repository_name(name)
                    .image_scanning_configuration(scanning)
                    .send()
                    .await
                    .aws(ECR, "PutImageScanningConfiguration")?;
            }
        }
        if let Some(arn) = prior.get("arn").and_then(Value::as_str) {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(ECR, "DescribeRepositories", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let force = bool_or(&req.prior, "force_delete", false);
        match aws
            .ecr
            .delete_repository()
            .repository_name(&req.id)
            .force(force)
            .send()
            .await
            .aws(ECR, "DeleteRepository")
        {
            Err(mut e) if has_code(&e, "RepositoryNotEmptyException") => {
                e.kind = ErrorKind::Permanent;
                e.message = format!(
                    "{} (set force_delete = true to delete the images with the repository)",
                    e.message
                );
                Err(e)
            }
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_repository_is_in_schema_shape() {
        let r = Repository::builder()
            .repository_name("app/backend")
            .repository_arn("arn:aws:ecr:us-east-1:1:repository/app/backend")
            .registry_id("1")
            .repository_uri("1.dkr.ecr.us-east-1.amazonaws.com/app/backend")
            .image_tag_mutability(ImageTagMutability::Immutable)
            .image_scanning_configuration(
                ImageScanningConfiguration::builder()
                    .scan_on_push(true)
                    .build(),
            )
            .build();
        let v = repository_attrs(&r, &BTreeMap::new(), None);
        assert_eq!(
            v.get("image_tag_mutability"),
            Some(&Value::from("IMMUTABLE"))
        );
        assert_eq!(
            blocks(&v, "image_scanning_configuration")[0].get("scan_on_push"),
            Some(&Value::Bool(true))
        );
        assert_eq!(
            blocks(&v, "encryption_configuration")[0].get("encryption_type"),
            Some(&Value::from("AES256"))
        );
        assert_eq!(v.get("force_delete"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn blocks_map_to_the_sdk() {
        let d = Value::map([
            (
                "image_scanning_configuration",
                Value::List(vec![Value::map([("scan_on_push", Value::Bool(true))])]),
            ),
            (
                "encryption_configuration",
                Value::List(vec![Value::map([
                    ("encryption_type", Value::from("KMS")),
                    ("kms_key", Value::from("arn:aws:kms:us-east-1:1:key/k")),
                ])]),
            ),
        ]);
        assert!(scanning_of(&d).unwrap().scan_on_push());
        let e = encryption_of(&d).unwrap().unwrap();
        assert_eq!(e.encryption_type(), &EncryptionType::Kms);
        assert_eq!(e.kms_key(), Some("arn:aws:kms:us-east-1:1:key/k"));
        assert!(encryption_of(&Value::Null).unwrap().is_none());
    }
}
