//! `aws_secretsmanager_secret_version`: one value of a secret. Its ID is
//! `<secret ARN>|<version ID>`, as in Terraform (also the import ID).
//!
//! A version's value never changes, so a refresh does not read it: one
//! `ListSecrets` chain answers whether each known secret still exists and
//! which stages each version holds (`SecretVersionsToStages`). Only an
//! import reads the value (`GetSecretValue`). The value is sensitive: plans
//! and output hide it, and state keeps it as Terraform's does.
//!
//! The version ID is derived from the create's idempotency token, and
//! `PutSecretValue` with the same token and value is a no-op: a create whose
//! answer was lost, retried, never makes a second version.

use std::collections::{BTreeMap, BTreeSet};

use async_trait::async_trait;
use aws_sdk_secretsmanager::primitives::Blob;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, Owner, ProviderError, RefreshRequest, STACK_TAG,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::secretsmanager_secret::entry_tags;
use super::{list_secrets, name_from_arn, SECRET, SECRETS};
use crate::args::{hex_digest, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{echo, gone, invalid, required, update_id, AwsResult};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// The stage AWS gives a new version when none is asked for; it cannot be
/// taken away, only moved to another version.
const CURRENT: &str = "AWSCURRENT";

/// `aws_secretsmanager_secret_version`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_secretsmanager_secret_version",
    schema,
    handler: &SecretsmanagerSecretVersion,
    grants: &[
        g(&["secretsmanager:ListSecrets"], ANY),
        g(
            &[
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
                "secretsmanager:UpdateSecretVersionStage",
            ],
            &[SECRET],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_secretsmanager_secret_version")
        .doc("One value of a Secrets Manager secret.")
        .attr(
            AttrSchema::required("secret_id", AttrType::String)
                .force_new()
                .doc("The secret's ARN or name."),
        )
        .attr(
            AttrSchema::optional("secret_string", AttrType::String)
                .force_new()
                .sensitive()
                .doc("The value as text (hidden in plans)."),
        )
        .attr(
            AttrSchema::optional("secret_binary", AttrType::String)
                .force_new()
                .sensitive()
                .doc("The value as base64-encoded bytes (hidden in plans)."),
        )
        .attr(
            AttrSchema::optional_computed("version_stages", AttrType::set_of(AttrType::String))
                .doc("The stages this version holds; AWSCURRENT when unset."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The secret's ARN."))
        .attr(AttrSchema::computed("version_id", AttrType::String).doc("The version's ID."))
}

/// The version ID of a create: a UUID-shaped digest of its idempotency token
/// (Secrets Manager takes 32 to 64 characters).
fn version_id_for(token: &str) -> String {
    let h = hex_digest(token);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// `<secret ARN>|<version ID>`.
fn split_id(id: &str) -> Option<(&str, &str)> {
    id.split_once('|')
}

fn version_attrs(
    arn: &str,
    version: &str,
    stages: Vec<String>,
    secret_id: &Value,
    string: Value,
    binary: Value,
) -> Value {
    Value::map([
        ("id", Value::from(format!("{arn}|{version}"))),
        ("arn", Value::from(arn)),
        ("version_id", Value::from(version)),
        ("secret_id", secret_id.clone()),
        ("secret_string", string),
        ("secret_binary", binary),
        ("version_stages", set_or_null(stages)),
    ])
}

/// The stages of each version of each listed secret, by secret ARN.
type Stages = BTreeMap<String, BTreeMap<String, Vec<String>>>;

async fn stages_of(aws: &Aws, arns: &[&str]) -> Result<Stages, ProviderError> {
    let names: Vec<&str> = arns.iter().filter_map(|a| name_from_arn(a)).collect();
    if names.is_empty() {
        return Ok(Stages::new());
    }
    Ok(list_secrets(aws, &names)
        .await?
        .into_iter()
        .map(|(arn, e)| {
            let versions = e
                .secret_versions_to_stages()
                .map(|m| m.iter().map(|(v, s)| (v.clone(), s.clone())).collect())
                .unwrap_or_default();
            (arn, versions)
        })
        .collect())
}

/// The value of one version, for an import (the only read of a value).
async fn value_of(aws: &Aws, arn: &str, version: &str) -> Result<(Value, Value), ProviderError> {
    let out = aws
        .secretsmanager
        .get_secret_value()
        .secret_id(arn)
        .version_id(version)
        .send()
        .await
        .aws(SECRETS, "GetSecretValue")?;
    let binary = out
        .secret_binary()
        .map(|b| Value::from(aws_smithy_types::base64::encode(b.as_ref())));
    Ok((s(out.secret_string()), binary.unwrap_or(Value::Null)))
}

/// The ARN of the secret `secret_id` (an ARN or a name) names; a secret
/// tagged as another stack's is refused: its value is not this stack's to
/// set.
async fn secret_arn(aws: &Aws, secret_id: &str, owner: &Owner) -> Result<String, ProviderError> {
    let name = match secret_id.starts_with("arn:") {
        true => name_from_arn(secret_id).unwrap_or(secret_id),
        false => secret_id,
    };
    let found = list_secrets(aws, &[name]).await?;
    let (arn, entry) = found
        .iter()
        .find(|(arn, _)| !secret_id.starts_with("arn:") || *arn == secret_id)
        .ok_or_else(|| gone(SECRETS, "ListSecrets", secret_id))?;
    let tags = entry_tags(entry.tags());
    if tags.contains_key(STACK_TAG) {
        if let Some(why) = owner.foreign_reason(|k| tags.get(k).map(String::as_str)) {
            return Err(invalid(
                SECRETS,
                "PutSecretValue",
                format!("secret {name:?} is not this stack's to set a value of: {why}"),
            ));
        }
    }
    Ok(arn.clone())
}

/// Reads the version until `ListSecrets` shows it with every wanted stage
/// (the list may lag a put).
async fn read_when(
    aws: &Aws,
    arn: &str,
    version: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let wanted = wanted_stages(d);
    until(
        deadline,
        "ListSecrets",
        &format!("version {version} of {arn} to be listed"),
        || async {
            let all = stages_of(aws, &[arn]).await?;
            let Some(stages) = all.get(arn).and_then(|v| v.get(version)) else {
                return Ok(None);
            };
            let held: BTreeSet<&str> = stages.iter().map(String::as_str).collect();
            if !wanted.iter().all(|w| held.contains(w.as_str())) {
                return Ok(None);
            }
            Ok(Some(version_attrs(
                arn,
                version,
                stages.clone(),
                d.get("secret_id").unwrap_or(&Value::Null),
                d.get("secret_string").cloned().unwrap_or(Value::Null),
                d.get("secret_binary").cloned().unwrap_or(Value::Null),
            )))
        },
    )
    .await
}

/// The stages the spec asks for: AWSCURRENT when it names none.
fn wanted_stages(d: &Value) -> Vec<String> {
    let stages = str_list(d, "version_stages");
    if stages.is_empty() {
        vec![CURRENT.to_string()]
    } else {
        stages
    }
}

/// Moves `stage` onto `version` (from whichever version holds it), or takes
/// it off `version` when `attach` is false.
async fn move_stage(
    aws: &Aws,
    arn: &str,
    version: &str,
    stage: &str,
    attach: bool,
    holder: Option<&str>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let mut call = aws
        .secretsmanager
        .update_secret_version_stage()
        .secret_id(arn)
        .version_stage(stage);
    call = if attach {
        call.move_to_version_id(version)
            .set_remove_from_version_id(holder.filter(|h| *h != version).map(str::to_string))
    } else {
        call.remove_from_version_id(version)
    };
    match retry(deadline, || async {
        call.clone()
            .send()
            .await
            .aws(SECRETS, "UpdateSecretVersionStage")
    })
    .await
    {
        // Taken off already (AWS moves AWSPREVIOUS by itself when
        // AWSCURRENT moves, and the list may not show it yet).
        Err(e)
            if !attach
                && has_code(&e, "InvalidParameterException")
                && e.message.contains("not found in version") =>
        {
            Ok(())
        }
        other => other.map(|_| ()),
    }
}

pub(crate) struct SecretsmanagerSecretVersion;

#[async_trait]
impl ResourceHandler for SecretsmanagerSecretVersion {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let arns: Vec<&str> = req
            .known
            .iter()
            .filter_map(|k| split_id(&k.id).map(|(a, _)| a))
            .collect();
        let all = stages_of(aws, &arns).await?;
        let mut live = Vec::new();
        for k in &req.known {
            let Some((arn, version)) = split_id(&k.id) else {
                continue;
            };
            let Some(versions) = all.get(arn) else {
                continue;
            };
            // A version without stages is not listed; AWS keeps it until it
            // deprecates it, and the spec's stages say what to put back.
            let stages = versions.get(version).cloned().unwrap_or_default();
            let prior = Some(&k.attrs);
            let (string, binary) = if k.attrs.get("secret_string").is_some_and(|v| !v.is_null())
                || k.attrs.get("secret_binary").is_some_and(|v| !v.is_null())
            {
                (
                    echo(prior, "secret_string", Value::Null),
                    echo(prior, "secret_binary", Value::Null),
                )
            } else {
                value_of(aws, arn, version).await?
            };
            live.push(LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: version_attrs(
                    arn,
                    version,
                    stages,
                    &echo(prior, "secret_id", Value::from(arn)),
                    string,
                    binary,
                ),
            });
        }
        Ok(live)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let secret_id = required(d, "secret_id", SECRETS, "PutSecretValue")?;
        let arn = secret_arn(aws, secret_id, &req.owner).await?;
        let version = version_id_for(&req.idempotency_token);
        let binary = match opt_str(d, "secret_binary") {
            Some(b64) => {
                let bytes = aws_smithy_types::base64::decode(b64)
                    .map_err(|e| {
                        invalid(
                            SECRETS,
                            "PutSecretValue",
                            format!("{}: secret_binary is not base64: {e}", req.address),
                        )
                    })?;
                Some(Blob::new(bytes))
            }
            None => None,
        };
        let stages = str_list(d, "version_stages");
        let call = aws
            .secretsmanager
            .put_secret_value()
            .secret_id(&arn)
            .client_request_token(&version)
            .set_secret_string(opt_str(d, "secret_string").map(str::to_string))
            .set_secret_binary(binary)
            .set_version_stages((!stages.is_empty()).then_some(stages));
        retry(&deadline, || async {
            call.clone().send().await.aws(SECRETS, "PutSecretValue")
        })
        .await?;
        read_when(aws, &arn, &version, d, &deadline)
            .await
            .map_err(|e| after_create(&format!("{arn}|{version}"), e))
    }

    /// Only the stages change in place: each wanted stage is moved onto this
    /// version, each other stage it holds (never AWSCURRENT, which can only
    /// be moved) taken off.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = update_id(req.id.as_deref(), SECRETS, "UpdateSecretVersionStage")?;
        let (arn, version) = split_id(id)
            .ok_or_else(|| invalid(SECRETS, "UpdateSecretVersionStage", format!("bad ID {id:?}")))?;
        let all = stages_of(aws, &[arn]).await?;
        let versions = all
            .get(arn)
            .ok_or_else(|| gone(SECRETS, "ListSecrets", arn))?;
        let holder_of = |stage: &str| {
            versions
                .iter()
                .find(|(_, s)| s.iter().any(|x| x == stage))
                .map(|(v, _)| v.as_str())
        };
        let wanted = wanted_stages(&req.desired);
        let held = versions.get(version).cloned().unwrap_or_default();
        for stage in wanted.iter().filter(|w| !held.contains(w)) {
            move_stage(aws, arn, version, stage, true, holder_of(stage), &deadline).await?;
        }
        // Moving AWSCURRENT makes AWS move AWSPREVIOUS too: read again
        // before taking stages off.
        let held = stages_of(aws, &[arn])
            .await?
            .get(arn)
            .and_then(|v| v.get(version))
            .cloned()
            .unwrap_or_default();
        for stage in held.iter().filter(|h| !wanted.contains(h) && *h != CURRENT) {
            move_stage(aws, arn, version, stage, false, None, &deadline).await?;
        }
        read_when(aws, arn, version, &req.desired, &deadline).await
    }

    /// Secrets Manager cannot delete one version: as Terraform does, the
    /// version gives up its stages (but AWSCURRENT, which only a newer
    /// version can take) and AWS deprecates it.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let Some((arn, version)) = split_id(&req.id) else {
            return Ok(());
        };
        let all = stages_of(aws, &[arn]).await?;
        let Some(held) = all.get(arn).and_then(|v| v.get(version)) else {
            return Ok(());
        };
        for stage in held.iter().filter(|s| *s != CURRENT) {
            move_stage(aws, arn, version, stage, false, None, &deadline).await?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_ids_are_uuid_shaped_and_stable() {
        let a = version_id_for("token-1");
        assert_eq!(a.len(), 36);
        assert_eq!(a, version_id_for("token-1"));
        assert_ne!(a, version_id_for("token-2"));
        assert_eq!(a.matches('-').count(), 4);
    }

    #[test]
    fn ids_split_into_secret_and_version() {
        assert_eq!(
            split_id("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC123|v1"),
            Some(("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC123", "v1"))
        );
        assert_eq!(split_id("no-bar"), None);
    }

    #[test]
    fn unset_stages_mean_current() {
        assert_eq!(wanted_stages(&Value::Null), vec![CURRENT.to_string()]);
        let d = Value::map([(
            "version_stages",
            Value::List(vec![Value::from("AWSCURRENT"), Value::from("blue")]),
        )]);
        assert_eq!(wanted_stages(&d).len(), 2);
    }

    #[test]
    fn the_version_is_in_schema_shape() {
        let v = version_attrs(
            "arn:x",
            "v1",
            vec![CURRENT.into()],
            &Value::from("db"),
            Value::from("pw"),
            Value::Null,
        );
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        assert_eq!(v.get("id"), Some(&Value::from("arn:x|v1")));
    }
}
