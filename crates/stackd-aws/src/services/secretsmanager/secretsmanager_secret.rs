//! `aws_secretsmanager_secret`: a Secrets Manager secret (its metadata; the
//! value is `aws_secretsmanager_secret_version`). Its ID is its ARN, as in
//! Terraform (also the import ID).
//!
//! A refresh is one `ListSecrets` chain for every known secret: the list
//! answers tags, description and KMS key. Destroy schedules the deletion
//! with `recovery_window_in_days` (7 to 30 days), or deletes at once when it
//! is 0; a name scheduled for deletion cannot be used again until then, as
//! AWS says when a create is refused.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_secretsmanager::types::{SecretListEntry, Tag};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{list_secrets, name_from_arn, SECRET, SECRETS};
use crate::args::{opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, echo, gone, ignore_gone, invalid, live_tags, name_or_generated, ours,
    tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, is_hidden_tag, reconcile_by};
use crate::wait::{retry, until, Deadline};

/// `aws_secretsmanager_secret`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_secretsmanager_secret",
    schema,
    handler: &SecretsmanagerSecret,
    grants: &[
        g(&["secretsmanager:ListSecrets"], ANY),
        g(
            &[
                "secretsmanager:CreateSecret",
                "secretsmanager:DeleteSecret",
                "secretsmanager:TagResource",
                "secretsmanager:UntagResource",
                "secretsmanager:UpdateSecret",
            ],
            &[SECRET],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_secretsmanager_secret")
        .doc("A Secrets Manager secret (its value is a secret version).")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The secret name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(
            AttrSchema::optional("kms_key_id", AttrType::String)
                .doc("The KMS key that encrypts the value; AWS's `aws/secretsmanager` when unset."),
        )
        .attr(
            AttrSchema::optional("recovery_window_in_days", AttrType::Number)
                .default(30)
                .check(Check::Ranges(vec![(0, 0), (7, 30)]))
                .doc("Days AWS keeps a deleted secret recoverable: 0 (delete at once) or 7 to 30."),
        )
        .attr(
            AttrSchema::optional("force_overwrite_replica_secret", AttrType::Bool)
                .default(false)
                .doc("Overwrite a secret of the same name in a replica region."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The secret's ARN (also its ID)."))
        .taggable()
}

pub(crate) fn entry_tags(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .filter(|(k, _)| !is_hidden_tag(k))
        .collect()
}

fn secret_attrs(e: &SecretListEntry, args: Option<&Value>) -> Value {
    Value::map([
        ("id", s(e.arn())),
        ("arn", s(e.arn())),
        ("name", s(e.name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("description", s(e.description())),
        ("kms_key_id", s(e.kms_key_id())),
        (
            "recovery_window_in_days",
            echo(args, "recovery_window_in_days", Value::from(30)),
        ),
        (
            "force_overwrite_replica_secret",
            echo(args, "force_overwrite_replica_secret", Value::Bool(false)),
        ),
        ("tags_all", tags_attr(entry_tags(e.tags()))),
    ])
}

/// The secret's name: the known one, else the one in its ARN (import).
fn known_name<'a>(id: &'a str, attrs: &'a Value) -> Option<&'a str> {
    opt_str(attrs, "name").or_else(|| name_from_arn(id))
}

/// The secret with this exact name, if it exists and is not scheduled for
/// deletion.
async fn read_by_name(
    aws: &Aws,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    Ok(list_secrets(aws, &[name])
        .await?
        .values()
        .next()
        .map(|e| secret_attrs(e, args)))
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
            aws.secretsmanager
                .untag_resource()
                .secret_id(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(SECRETS, "UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.secretsmanager
                .tag_resource()
                .secret_id(arn)
                .set_tags(Some(sdk_tags(&tags)))
                .send()
                .await
                .aws(SECRETS, "TagResource")
                .map(|_| ())
        },
    )
    .await
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

pub(crate) struct SecretsmanagerSecret;

#[async_trait]
impl ResourceHandler for SecretsmanagerSecret {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<&str> = req
            .known
            .iter()
            .filter_map(|k| known_name(&k.id, &k.attrs))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let found = list_secrets(aws, &names).await?;
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let e = found.get(&k.id)?;
                let tags = entry_tags(e.tags());
                Some(LiveResource {
                    id: k.id.clone(),
                    address: address_of(&k.id, &tags, &req.known),
                    attrs: secret_attrs(e, Some(&k.attrs)),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        let call = aws
            .secretsmanager
            .create_secret()
            .name(&name)
            .set_description(opt_str(d, "description").map(str::to_string))
            .set_kms_key_id(opt_str(d, "kms_key_id").map(str::to_string))
            .force_overwrite_replica_secret(crate::args::bool_or(
                d,
                "force_overwrite_replica_secret",
                false,
            ))
            .set_tags(Some(sdk_tags(&desired_tags(d))));
        match retry(&deadline, || async {
            call.clone().send().await.aws(SECRETS, "CreateSecret")
        })
        .await
        {
            Ok(_) => {}
            Err(e) if has_code(&e, "ResourceExistsException") => {
                let existing = read_by_name(aws, &name, Some(d)).await?.ok_or(e)?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        SECRETS,
                        "CreateSecret",
                        conflict("secret", &name, &live, &req.owner),
                    ));
                }
                tracing::info!(secret = %name, "adopting the secret an earlier attempt created");
            }
            Err(mut e) if e.message.contains("scheduled for deletion") => {
                e.message = format!(
                    "{}: secret {name:?} is scheduled for deletion; restore it, or wait until \
                     AWS deletes it (set `recovery_window_in_days = 0` to delete at once next time)",
                    e.message
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "ListSecrets",
            &format!("secret {name} to be listed"),
            || read_by_name(aws, &name, Some(d)),
        )
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A secret of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "secretsmanager:ListSecrets";
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read_by_name(aws, name, Some(d)).await)?
        {
            let tags = live_tags(&existing);
            findings.name_in_use(req, ACTION, "secret", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), SECRETS, "UpdateSecret")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("description") || changed("kms_key_id") {
            // An unset description is cleared with an empty one, as
            // Terraform sends it; an unset key means AWS's default key.
            let call = aws
                .secretsmanager
                .update_secret()
                .secret_id(arn)
                .description(opt_str(d, "description").unwrap_or(""))
                .set_kms_key_id(
                    opt_str(d, "kms_key_id")
                        .or(changed("kms_key_id").then_some("alias/aws/secretsmanager"))
                        .map(str::to_string),
                );
            retry(&deadline, || async {
                call.clone().send().await.aws(SECRETS, "UpdateSecret")
            })
            .await?;
        }
        reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        let name = known_name(arn, &prior)
            .or_else(|| opt_str(d, "name"))
            .ok_or_else(|| gone(SECRETS, "ListSecrets", arn))?
            .to_string();
        let want_description = opt_str(d, "description").unwrap_or("").to_string();
        until(
            &deadline,
            "ListSecrets",
            &format!("secret {name} to show the update"),
            || async {
                let v = read_by_name(aws, &name, Some(d))
                    .await?
                    .ok_or_else(|| gone(SECRETS, "ListSecrets", arn))?;
                let shown = opt_str(&v, "description").unwrap_or("");
                Ok((shown == want_description).then_some(v))
            },
        )
        .await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let window = opt_int(&req.prior, "recovery_window_in_days").unwrap_or(30);
        let mut call = aws.secretsmanager.delete_secret().secret_id(&req.id);
        call = if window == 0 {
            call.force_delete_without_recovery(true)
        } else {
            call.recovery_window_in_days(window)
        };
        match call.send().await.aws(SECRETS, "DeleteSecret") {
            // Deleted before, out of band, and waiting out its window.
            Err(e) if e.message.contains("scheduled for deletion") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listed_secret_is_in_schema_shape() {
        let e = SecretListEntry::builder()
            .arn("arn:aws:secretsmanager:us-east-1:1:secret:db-AbC123")
            .name("db")
            .description("the database password")
            .tags(Tag::builder().key("team").value("web").build())
            .tags(Tag::builder().key("aws:cloudformation:stack-name").value("x").build())
            .build();
        let v = secret_attrs(&e, None);
        assert_eq!(v.get("name"), Some(&Value::from("db")));
        assert_eq!(v.get("recovery_window_in_days"), Some(&Value::from(30)));
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([("team", Value::from("web"))]))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
