//! `aws_kms_alias`: a name for a KMS key. Its ID is the alias name
//! (`alias/…`), as in Terraform (also the import ID).
//!
//! A refresh is one `ListAliases` chain for every alias of the account.
//! Aliases carry no tags: one that exists already is this create's only when
//! it was made after the create's pending record and names the key asked
//! for; any other is refused.

use async_trait::async_trait;
use aws_sdk_kms::types::AliasListEntry;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{check_alias_name, ALIAS, KEY, KMS};
use crate::args::{opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    gone, ignore_gone, invalid, made_by_this_create, name_or_generated, required, update_id,
    AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_kms_alias`: its schema, its handler, and the IAM grants of every
/// call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_kms_alias",
    schema,
    handler: &KmsAlias,
    grants: &[
        g(&["kms:ListAliases"], ANY),
        // Creating, repointing and deleting an alias is authorized on the
        // alias and on the keys it names.
        g(
            &["kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"],
            &[ALIAS, KEY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_kms_alias")
        .doc("A name (alias) for a KMS key.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The alias name, beginning with `alias/`; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix (itself beginning with `alias/`)."),
        )
        .attr(
            AttrSchema::required("target_key_id", AttrType::String)
                .doc("The key the alias names: its ID or ARN."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The alias's ARN."))
        .attr(AttrSchema::computed("target_key_arn", AttrType::String).doc("The ARN of the key."))
}

/// The key's ARN, from the alias's ARN (same account and region).
fn key_arn(alias_arn: &str, alias_name: &str, key_id: &str) -> Option<String> {
    let base = alias_arn.strip_suffix(alias_name)?;
    Some(format!("{base}key/{key_id}"))
}

/// True when `given` (a key ID or ARN, as written) names the key `key_id`.
fn names_key(given: &str, key_id: &str) -> bool {
    given == key_id || given.strip_suffix(key_id).is_some_and(|p| p.ends_with(":key/"))
}

fn alias_attrs(e: &AliasListEntry, args: Option<&Value>) -> Value {
    let name = e.alias_name().unwrap_or_default();
    let key_id = e.target_key_id().unwrap_or_default();
    // An ARN written for the key is kept as written when it names the live
    // key: KMS answers the ID.
    let written = args.and_then(|a| opt_str(a, "target_key_id"));
    let target = match written {
        Some(w) if names_key(w, key_id) => w.to_string(),
        _ => key_id.to_string(),
    };
    Value::map([
        ("id", Value::from(name)),
        ("name", Value::from(name)),
        (
            "name_prefix",
            args.and_then(|a| a.get("name_prefix"))
                .cloned()
                .unwrap_or(Value::Null),
        ),
        ("target_key_id", Value::from(target)),
        ("arn", s(e.alias_arn())),
        (
            "target_key_arn",
            s(e.alias_arn()
                .and_then(|arn| key_arn(arn, name, key_id))
                .as_deref()),
        ),
    ])
}

/// Every alias of the account, by name (one `ListAliases` chain).
async fn list_aliases(aws: &Aws) -> Result<Vec<AliasListEntry>, ProviderError> {
    aws.kms
        .list_aliases()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(KMS, "ListAliases")
}

async fn find_alias(aws: &Aws, name: &str) -> Result<Option<AliasListEntry>, ProviderError> {
    Ok(list_aliases(aws)
        .await?
        .into_iter()
        .find(|e| e.alias_name() == Some(name)))
}

pub(crate) struct KmsAlias;

#[async_trait]
impl ResourceHandler for KmsAlias {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.is_empty() {
            return Ok(Vec::new());
        }
        let aliases = list_aliases(aws).await?;
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let e = aliases
                    .iter()
                    .find(|e| e.alias_name() == Some(k.id.as_str()))?;
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: alias_attrs(e, Some(&k.attrs)),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateAlias";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "alias/");
        check_alias_name(&name).map_err(|m| invalid(KMS, OP, m))?;
        let target = required(d, "target_key_id", KMS, OP)?;
        let made = retry(&deadline, || async {
            aws.kms
                .create_alias()
                .alias_name(&name)
                .target_key_id(target)
                .send()
                .await
                .aws(KMS, OP)
        })
        .await;
        match made {
            Ok(_) => {}
            Err(e) if has_code(&e, "AlreadyExistsException") => {
                let existing = find_alias(aws, &name).await?.ok_or(e)?;
                // No tags: this create's alias was made after its pending
                // record, and names the key asked for.
                let mine = existing.target_key_id().is_some_and(|k| names_key(target, k))
                    && existing.creation_date().is_some_and(|t| {
                        made_by_this_create(t.secs(), req.pending_since.as_deref())
                    });
                if !mine {
                    return Err(invalid(
                        KMS,
                        OP,
                        format!(
                            "KMS alias {name:?} already exists and is not in this stack's state; \
                             `stackd import` it, or choose another name"
                        ),
                    ));
                }
                tracing::info!(alias = %name, "adopting the alias an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "ListAliases",
            &format!("KMS alias {name} to be listed"),
            || async { Ok(find_alias(aws, &name).await?.map(|e| alias_attrs(&e, Some(d)))) },
        )
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// An alias of the same (known) name must not exist.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "kms:ListAliases";
        let mut findings = Findings::new();
        if let Some(Some(_)) = findings.read(ACTION, find_alias(aws, name).await)? {
            findings.name_in_use(
                req,
                ACTION,
                "KMS alias",
                name,
                &std::collections::BTreeMap::new(),
            );
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "UpdateAlias";
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), KMS, OP)?;
        let d = &req.desired;
        let target = required(d, "target_key_id", KMS, OP)?;
        retry(&deadline, || async {
            aws.kms
                .update_alias()
                .alias_name(name)
                .target_key_id(target)
                .send()
                .await
                .aws(KMS, OP)
        })
        .await?;
        until(
            &deadline,
            "ListAliases",
            &format!("KMS alias {name} to name its new key"),
            || async {
                let e = find_alias(aws, name)
                    .await?
                    .ok_or_else(|| gone(KMS, "ListAliases", name))?;
                let moved = e.target_key_id().is_some_and(|k| names_key(target, k));
                Ok(moved.then(|| alias_attrs(&e, Some(d))))
            },
        )
        .await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.kms
                .delete_alias()
                .alias_name(&req.id)
                .send()
                .await
                .aws(KMS, "DeleteAlias"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_arn_names_the_same_key_as_its_id() {
        assert!(names_key("1234", "1234"));
        assert!(names_key("arn:aws:kms:us-east-1:1:key/1234", "1234"));
        assert!(!names_key("arn:aws:kms:us-east-1:1:key/91234", "1234"));
        assert!(!names_key("5678", "1234"));
    }

    #[test]
    fn the_key_arn_comes_from_the_alias_arn() {
        assert_eq!(
            key_arn("arn:aws:kms:us-east-1:1:alias/app", "alias/app", "k1").as_deref(),
            Some("arn:aws:kms:us-east-1:1:key/k1")
        );
    }

    #[test]
    fn a_listed_alias_keeps_the_key_arn_as_written() {
        let e = AliasListEntry::builder()
            .alias_name("alias/app")
            .alias_arn("arn:aws:kms:us-east-1:1:alias/app")
            .target_key_id("k1")
            .build();
        let args = Value::map([("target_key_id", Value::from("arn:aws:kms:us-east-1:1:key/k1"))]);
        let v = alias_attrs(&e, Some(&args));
        assert_eq!(
            v.get("target_key_id"),
            Some(&Value::from("arn:aws:kms:us-east-1:1:key/k1"))
        );
        let v = alias_attrs(&e, None);
        assert_eq!(v.get("target_key_id"), Some(&Value::from("k1")));
    }
}
