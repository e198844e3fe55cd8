//! `aws_kms_key`: a customer managed KMS key. Its ID is the key ID, as in
//! Terraform (also the import ID).
//!
//! `CreateKey` makes a nameless object: it is tagged with the ownership
//! tags and the create's token in the call itself, and after a lost answer
//! `find_created` looks for the token (`ListKeys`, then `ListResourceTags`
//! per key). Destroy schedules the deletion (`ScheduleKeyDeletion`, with
//! `deletion_window_in_days`, 30 when unset), as the provider does: a key
//! pending deletion is gone for a refresh.
//!
//! A refresh reads each known key on its own: `DescribeKey`,
//! `GetKeyPolicy`, `GetKeyRotationStatus` and `ListResourceTags` all take
//! one key and KMS has no batch form of any of them (`ListKeys` answers IDs
//! only), so it makes four calls per key. Keys are found by their known IDs
//! only; a key tagged for the stack but missing from state (lost state)
//! is not looked for, since finding it means reading the tags of every key
//! of the account.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_kms::types::{KeyMetadata, KeySpec, KeyState, KeyUsageType};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{describe_key, key_tags, sdk_tags, KEY, KMS};
use crate::args::{bool_or, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    bounded_all, decode_policy, echo, found, gone, ignore_gone, invalid, normalize_policy, ours,
    read_each, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by, CREATE_TOKEN_TAG};
use crate::wait::{retry, until, Deadline};

/// `aws_kms_key`: its schema, its handler, and the IAM grants of every call
/// it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_kms_key",
    schema,
    handler: &KmsKey,
    grants: &[
        g(&["kms:CreateKey", "kms:ListKeys"], ANY),
        g(
            &[
                "kms:DescribeKey",
                "kms:DisableKey",
                "kms:DisableKeyRotation",
                "kms:EnableKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
            &[KEY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_kms_key")
        .doc("A customer managed KMS key.")
        .attr(AttrSchema::optional_computed("description", AttrType::String).doc("A description."))
        .attr(
            AttrSchema::optional("key_usage", AttrType::String)
                .default("ENCRYPT_DECRYPT")
                .force_new()
                .check(Check::OneOf(vec![
                    "ENCRYPT_DECRYPT",
                    "SIGN_VERIFY",
                    "GENERATE_VERIFY_MAC",
                    "KEY_AGREEMENT",
                ]))
                .doc("What the key is for."),
        )
        .attr(
            AttrSchema::optional("customer_master_key_spec", AttrType::String)
                .default("SYMMETRIC_DEFAULT")
                .force_new()
                .doc("The key's type: symmetric (default), RSA, ECC or HMAC."),
        )
        .attr(
            AttrSchema::optional("custom_key_store_id", AttrType::String)
                .force_new()
                .doc("The custom key store that holds the key."),
        )
        .attr(
            AttrSchema::optional_computed("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The key policy (JSON); AWS's default policy when unset."),
        )
        .attr(
            AttrSchema::optional("bypass_policy_lockout_safety_check", AttrType::Bool)
                .default(false)
                .doc("Skip KMS's check that the policy does not lock the caller out."),
        )
        .attr(
            AttrSchema::optional("deletion_window_in_days", AttrType::Number)
                .check(Check::Range(7, 30))
                .doc("Days before a destroyed key is deleted (7 to 30; 30 when unset)."),
        )
        .attr(
            AttrSchema::optional("is_enabled", AttrType::Bool)
                .default(true)
                .doc("Whether the key is enabled."),
        )
        .attr(
            AttrSchema::optional("enable_key_rotation", AttrType::Bool)
                .default(false)
                .doc("Whether KMS rotates the key material."),
        )
        .attr(
            AttrSchema::optional_computed("rotation_period_in_days", AttrType::Number)
                .check(Check::Range(90, 2560))
                .doc("Days between automatic rotations (90 to 2560)."),
        )
        .attr(
            AttrSchema::optional_computed("multi_region", AttrType::Bool)
                .force_new()
                .doc("Whether the key is a multi-Region primary key."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The key's ARN."))
        .attr(AttrSchema::computed("key_id", AttrType::String).doc("The key's ID."))
        .taggable()
}

/// What a read of one key found, besides its metadata.
struct KeyExtras {
    policy: Option<String>,
    rotation: bool,
    rotation_period: Option<i32>,
    tags: BTreeMap<String, String>,
}

/// True for the states in which a key is on its way out: gone, for
/// Terraform and stackd.
fn is_deleted(m: &KeyMetadata) -> bool {
    matches!(
        m.key_state(),
        Some(KeyState::PendingDeletion | KeyState::PendingReplicaDeletion)
    )
}

fn key_attrs(m: &KeyMetadata, x: &KeyExtras, args: Option<&Value>) -> Value {
    Value::map([
        ("id", Value::from(m.key_id())),
        ("key_id", Value::from(m.key_id())),
        ("arn", s(m.arn())),
        ("description", Value::from(m.description().unwrap_or(""))),
        ("key_usage", s(m.key_usage().map(KeyUsageType::as_str))),
        (
            "customer_master_key_spec",
            s(m.key_spec().map(KeySpec::as_str)),
        ),
        ("custom_key_store_id", s(m.custom_key_store_id())),
        (
            "policy",
            x.policy
                .as_deref()
                .map_or(Value::Null, |p| Value::from(decode_policy(p))),
        ),
        (
            "bypass_policy_lockout_safety_check",
            echo(args, "bypass_policy_lockout_safety_check", Value::Bool(false)),
        ),
        (
            "deletion_window_in_days",
            echo(args, "deletion_window_in_days", Value::Null),
        ),
        ("is_enabled", Value::Bool(m.enabled())),
        ("enable_key_rotation", Value::Bool(x.rotation)),
        (
            "rotation_period_in_days",
            x.rotation_period.map_or(Value::Null, num),
        ),
        ("multi_region", Value::Bool(m.multi_region().unwrap_or(false))),
        ("tags_all", tags_attr(x.tags.clone())),
    ])
}

/// The key's policy, rotation and tags.
async fn extras(aws: &Aws, m: &KeyMetadata) -> Result<KeyExtras, ProviderError> {
    let id = m.key_id();
    let policy = aws
        .kms
        .get_key_policy()
        .key_id(id)
        .policy_name("default")
        .send()
        .await
        .aws(KMS, "GetKeyPolicy")?
        .policy()
        .map(str::to_string);
    // Only symmetric encryption keys rotate; KMS refuses to answer for the
    // others.
    let symmetric = m.key_spec() == Some(&KeySpec::SymmetricDefault);
    let (rotation, rotation_period) = if symmetric && m.custom_key_store_id().is_none() {
        let out = aws
            .kms
            .get_key_rotation_status()
            .key_id(id)
            .send()
            .await
            .aws(KMS, "GetKeyRotationStatus")?;
        (out.key_rotation_enabled(), out.rotation_period_in_days())
    } else {
        (false, None)
    };
    let tags = key_tags(aws, id).await?;
    Ok(KeyExtras {
        policy,
        rotation,
        rotation_period,
        tags,
    })
}

/// The key's attributes; `None` when it is gone or pending deletion.
async fn read(aws: &Aws, key_id: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let Some(m) = describe_key(aws, key_id).await? else {
        return Ok(None);
    };
    if is_deleted(&m) {
        return Ok(None);
    }
    let Some(x) = found(extras(aws, &m).await)? else {
        return Ok(None);
    };
    Ok(Some(key_attrs(&m, &x, args)))
}

async fn set_rotation(
    aws: &Aws,
    key_id: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if bool_or(d, "enable_key_rotation", false) {
        let period = opt_int(d, "rotation_period_in_days").and_then(|n| i32::try_from(n).ok());
        retry(deadline, || async {
            aws.kms
                .enable_key_rotation()
                .key_id(key_id)
                .set_rotation_period_in_days(period)
                .send()
                .await
                .aws(KMS, "EnableKeyRotation")
        })
        .await?;
    } else {
        retry(deadline, || async {
            aws.kms
                .disable_key_rotation()
                .key_id(key_id)
                .send()
                .await
                .aws(KMS, "DisableKeyRotation")
        })
        .await?;
    }
    Ok(())
}

async fn set_enabled(
    aws: &Aws,
    key_id: &str,
    enabled: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if enabled {
        retry(deadline, || async {
            aws.kms.enable_key().key_id(key_id).send().await.aws(KMS, "EnableKey")
        })
        .await?;
    } else {
        retry(deadline, || async {
            aws.kms.disable_key().key_id(key_id).send().await.aws(KMS, "DisableKey")
        })
        .await?;
    }
    Ok(())
}

/// Reads the key until it shows what `d` asks for of its enabled state
/// and rotation (KMS's reads may lag its writes).
async fn read_settled(
    aws: &Aws,
    key_id: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let enabled = bool_or(d, "is_enabled", true);
    let rotation = bool_or(d, "enable_key_rotation", false);
    until(
        deadline,
        "DescribeKey",
        &format!("KMS key {key_id} to show its settings"),
        || async {
            let v = read(aws, key_id, Some(d)).await?;
            Ok(v.filter(|v| {
                bool_or(v, "is_enabled", true) == enabled
                    && bool_or(v, "enable_key_rotation", false) == rotation
            }))
        },
    )
    .await
}

/// The key an earlier attempt of this create made: tagged with its token.
async fn find_by_token(aws: &Aws, req: &ChangeRequest) -> Result<Option<String>, ProviderError> {
    let token = req.idempotency_token.as_str();
    if token.is_empty() {
        return Ok(None);
    }
    let keys: Vec<String> = aws
        .kms
        .list_keys()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(KMS, "ListKeys")?
        .into_iter()
        .filter_map(|k| k.key_id().map(str::to_string))
        .collect();
    let tagged = bounded_all(keys.iter().map(|id| async move {
        // The hidden token tag is read raw: `key_tags` leaves it out.
        let out = found(
            aws.kms
                .list_resource_tags()
                .key_id(id)
                .send()
                .await
                .aws(KMS, "ListResourceTags"),
        )?;
        let tags: BTreeMap<String, String> = out
            .map(|o| {
                o.tags()
                    .iter()
                    .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let mine = tags.get(CREATE_TOKEN_TAG).map(String::as_str) == Some(token)
            && ours(&tags, &req.owner, &req.address);
        Ok::<_, ProviderError>(mine.then(|| id.clone()))
    }))
    .await;
    for r in tagged {
        if let Some(id) = r? {
            return Ok(Some(id));
        }
    }
    Ok(None)
}

/// Brings a made key to the rotation and enabled state `d` asks for.
async fn settle_new_key(
    aws: &Aws,
    key_id: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    if bool_or(d, "enable_key_rotation", false) {
        set_rotation(aws, key_id, d, deadline).await?;
    }
    if !bool_or(d, "is_enabled", true) {
        set_enabled(aws, key_id, false, deadline).await?;
    }
    read_settled(aws, key_id, d, deadline).await
}

pub(crate) struct KmsKey;

#[async_trait]
impl ResourceHandler for KmsKey {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id, Some(&k.attrs))
                .await?
                .map(|attrs| LiveResource {
                    id: opt_str(&attrs, "key_id").unwrap_or(&k.id).to_string(),
                    address: Some(k.address.clone()),
                    attrs,
                }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateKey";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let mut tags = desired_tags(d);
        if !req.idempotency_token.is_empty() {
            tags.insert(CREATE_TOKEN_TAG.to_string(), req.idempotency_token.clone());
        }
        let call = aws
            .kms
            .create_key()
            .set_description(opt_str(d, "description").map(str::to_string))
            .key_usage(KeyUsageType::from(
                opt_str(d, "key_usage").unwrap_or("ENCRYPT_DECRYPT"),
            ))
            // KMS's `KeySpec`: `CustomerMasterKeySpec` is its deprecated name.
            .key_spec(KeySpec::from(
                opt_str(d, "customer_master_key_spec").unwrap_or("SYMMETRIC_DEFAULT"),
            ))
            .set_custom_key_store_id(opt_str(d, "custom_key_store_id").map(str::to_string))
            .set_policy(opt_str(d, "policy").map(str::to_string))
            .bypass_policy_lockout_safety_check(bool_or(
                d,
                "bypass_policy_lockout_safety_check",
                false,
            ))
            .set_multi_region(d.get("multi_region").and_then(Value::as_bool))
            .set_tags(Some(sdk_tags(&tags, OP)?));
        // A principal in the policy created a moment ago may not be
        // accepted yet (MalformedPolicyDocument): retried within the
        // deadline. The SDK never resends a CreateKey whose answer was lost
        // (an anonymous create); the engine asks `find_created` first.
        let out = retry(&deadline, || async { call.clone().send().await.aws(KMS, OP) }).await?;
        let key_id = out
            .key_metadata()
            .map(|m| m.key_id().to_string())
            .ok_or_else(|| invalid(KMS, OP, "CreateKey answered no key ID"))?;
        settle_new_key(aws, &key_id, d, &deadline)
            .await
            .map_err(|e| after_create(&key_id, e))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let Some(key_id) = find_by_token(aws, req).await? else {
            return Ok(None);
        };
        let deadline = Deadline::after(req.timeout);
        settle_new_key(aws, &key_id, &req.desired, &deadline)
            .await
            .map(Some)
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let key_id = update_id(req.id.as_deref(), KMS, "UpdateKeyDescription")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let enable = bool_or(d, "is_enabled", true);
        // A disabled key takes no other change: enable it first, disable
        // it last.
        if changed("is_enabled") && enable {
            set_enabled(aws, key_id, true, &deadline).await?;
        }
        if changed("description") {
            let description = opt_str(d, "description").unwrap_or("");
            retry(&deadline, || async {
                aws.kms
                    .update_key_description()
                    .key_id(key_id)
                    .description(description)
                    .send()
                    .await
                    .aws(KMS, "UpdateKeyDescription")
            })
            .await?;
        }
        if changed("policy") {
            if let Some(policy) = opt_str(d, "policy") {
                let bypass = bool_or(d, "bypass_policy_lockout_safety_check", false);
                retry(&deadline, || async {
                    aws.kms
                        .put_key_policy()
                        .key_id(key_id)
                        .policy_name("default")
                        .policy(policy)
                        .bypass_policy_lockout_safety_check(bypass)
                        .send()
                        .await
                        .aws(KMS, "PutKeyPolicy")
                })
                .await?;
            }
        }
        if changed("enable_key_rotation") || changed("rotation_period_in_days") {
            set_rotation(aws, key_id, d, &deadline).await?;
        }
        reconcile_by(
            &prior,
            d,
            &deadline,
            |keys| async move {
                aws.kms
                    .untag_resource()
                    .key_id(key_id)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .aws(KMS, "UntagResource")
                    .map(|_| ())
            },
            |tags| async move {
                aws.kms
                    .tag_resource()
                    .key_id(key_id)
                    .set_tags(Some(sdk_tags(&tags, "TagResource")?))
                    .send()
                    .await
                    .aws(KMS, "TagResource")
                    .map(|_| ())
            },
        )
        .await?;
        if changed("is_enabled") && !enable {
            set_enabled(aws, key_id, false, &deadline).await?;
        }
        let want_description = opt_str(d, "description").unwrap_or("").to_string();
        until(
            &deadline,
            "DescribeKey",
            &format!("KMS key {key_id} to show the update"),
            || async {
                let v = read(aws, key_id, Some(d))
                    .await?
                    .ok_or_else(|| gone(KMS, "DescribeKey", key_id))?;
                let settled = bool_or(&v, "is_enabled", true) == enable
                    && bool_or(&v, "enable_key_rotation", false)
                        == bool_or(d, "enable_key_rotation", false)
                    && (!changed("description")
                        || opt_str(&v, "description").unwrap_or("") == want_description);
                Ok(settled.then_some(v))
            },
        )
        .await
    }

    /// Schedules the key's deletion, as the provider does: KMS deletes no
    /// key at once.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let window = opt_int(&req.prior, "deletion_window_in_days")
            .and_then(|n| i32::try_from(n).ok())
            .unwrap_or(30);
        let answer = aws
            .kms
            .schedule_key_deletion()
            .key_id(&req.id)
            .pending_window_in_days(window)
            .send()
            .await
            .aws(KMS, "ScheduleKeyDeletion")
            .map(|_| ());
        match answer {
            // Already scheduled, out of band or by an earlier attempt.
            Err(e) if has_code(&e, "KMSInvalidStateException") && e.message.contains("pending") => {
                Ok(())
            }
            // Deleted by then (a write's "not found" is otherwise taken for
            // a key not visible yet).
            Err(e) if has_code(&e, "NotFoundException") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_described_key_is_in_schema_shape() {
        let m = KeyMetadata::builder()
            .key_id("1234abcd")
            .arn("arn:aws:kms:us-east-1:1:key/1234abcd")
            .enabled(true)
            .key_usage(KeyUsageType::EncryptDecrypt)
            .key_spec(KeySpec::SymmetricDefault)
            .build()
            .unwrap();
        let x = KeyExtras {
            policy: Some(r#"{"Version":"2012-10-17","Statement":[]}"#.into()),
            rotation: true,
            rotation_period: Some(365),
            tags: BTreeMap::from([("team".into(), "web".into())]),
        };
        let v = key_attrs(&m, &x, None);
        assert_eq!(v.get("id"), Some(&Value::from("1234abcd")));
        assert_eq!(v.get("description"), Some(&Value::from("")));
        assert_eq!(v.get("enable_key_rotation"), Some(&Value::Bool(true)));
        assert_eq!(v.get("rotation_period_in_days"), Some(&Value::from(365)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn a_key_pending_deletion_is_gone() {
        let m = |state| {
            KeyMetadata::builder()
                .key_id("k")
                .key_state(state)
                .build()
                .unwrap()
        };
        assert!(is_deleted(&m(KeyState::PendingDeletion)));
        assert!(!is_deleted(&m(KeyState::Enabled)));
        assert!(!is_deleted(&m(KeyState::Disabled)));
    }
}
