//! `aws_iam_role_policy`: an inline policy embedded in a role. Its ID is
//! `role:name`, as in Terraform.
//!
//! `PutRolePolicy` creates or replaces, so creating again after a crash is
//! harmless. IAM has no batch read of inline policies: a refresh reads each
//! known one with `GetRolePolicy`, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{account, ROLE};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    decode_policy, echo, found, ignore_gone, invalid, name_or_generated, normalize_policy,
    read_each, required, AwsResult, IAM,
};
use crate::policy::{g, ANY};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `aws_iam_role_policy`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_role_policy",
    schema,
    handler: &IamRolePolicy,
    grants: &[
        g(
            &[
                "iam:DeleteRolePolicy",
                "iam:GetRolePolicy",
                "iam:PutRolePolicy",
            ],
            &[ROLE],
        ),
        // Many policies are read from the whole account at once.
        g(&["iam:GetAccountAuthorizationDetails"], ANY),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_role_policy")
        .doc("An inline policy of an IAM role.")
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
            AttrSchema::required("role", AttrType::String)
                .force_new()
                .doc("The name of the role."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document."),
        )
}

/// `role:name` split in two.
fn parse_id(id: &str) -> Result<(&str, &str), ProviderError> {
    id.split_once(':').ok_or_else(|| {
        invalid(
            IAM,
            "GetRolePolicy",
            format!("role policy ID {id:?} is not of the form role:name"),
        )
    })
}

fn policy_attrs(role: &str, name: &str, document: &str, args: Option<&Value>) -> Value {
    Value::map([
        ("id", Value::from(format!("{role}:{name}"))),
        ("name", Value::from(name)),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("role", Value::from(role)),
        ("policy", Value::from(decode_policy(document))),
    ])
}

async fn read(
    aws: &Aws,
    role: &str,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.iam
            .get_role_policy()
            .role_name(role)
            .policy_name(name)
            .send()
            .await
            .aws(IAM, "GetRolePolicy"),
    )?;
    Ok(out.map(|o| policy_attrs(o.role_name(), o.policy_name(), o.policy_document(), args)))
}

async fn put(
    aws: &Aws,
    role: &str,
    name: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let document = required(d, "policy", IAM, "PutRolePolicy")?;
    // A role created a moment ago may not be visible yet (NoSuchEntity is
    // transient for a put).
    retry(deadline, || async {
        aws.iam
            .put_role_policy()
            .role_name(role)
            .policy_name(name)
            .policy_document(document)
            .send()
            .await
            .aws(IAM, "PutRolePolicy")
    })
    .await
    .map(|_| ())
}

pub(crate) struct IamRolePolicy;

#[async_trait]
impl ResourceHandler for IamRolePolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // Many policies: every role's inline policies in one chain.
        if req.known.len() >= account::BATCH_FROM {
            let details = account::role_details(aws).await?;
            let mut live = Vec::new();
            for k in &req.known {
                let (role, name) = parse_id(&k.id)?;
                let document = details
                    .get(role)
                    .into_iter()
                    .flat_map(|d| d.role_policy_list())
                    .find(|p| p.policy_name() == Some(name))
                    .and_then(|p| p.policy_document());
                if let Some(document) = document {
                    live.push(LiveResource {
                        id: k.id.clone(),
                        address: Some(k.address.clone()),
                        attrs: policy_attrs(role, name, document, Some(&k.attrs)),
                    });
                }
            }
            return Ok(live);
        }
        read_each(&req.known, |k| async move {
            let (role, name) = parse_id(&k.id)?;
            Ok(read(aws, role, name, Some(&k.attrs))
                .await?
                .map(|attrs| LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs,
                }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let role = required(d, "role", IAM, "PutRolePolicy")?;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "stackd-");
        put(aws, role, &name, d, &deadline).await?;
        until(
            &deadline,
            "GetRolePolicy",
            &format!("policy {name} of role {role} to be readable"),
            || read(aws, role, &name, Some(d)),
        )
        .await
        .map_err(|e| after_create(&format!("{role}:{name}"), e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(IAM, "PutRolePolicy", "update without an ID"))?;
        let (role, name) = parse_id(id)?;
        put(aws, role, name, &req.desired, &deadline).await?;
        read(aws, role, name, Some(&req.desired))
            .await?
            .ok_or_else(|| crate::iam_util::gone(IAM, "GetRolePolicy", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let (role, name) = parse_id(&req.id)?;
        ignore_gone(
            aws.iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
                .aws(IAM, "DeleteRolePolicy"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_role_colon_name() {
        assert_eq!(parse_id("app:logs").unwrap(), ("app", "logs"));
        assert!(parse_id("nocolon").is_err());
    }

    #[test]
    fn live_policy_is_in_schema_shape_and_decoded() {
        let v = policy_attrs("app", "logs", "%7B%22Statement%22%3A%5B%5D%7D", None);
        assert_eq!(v.get("id"), Some(&Value::from("app:logs")));
        assert_eq!(v.get("policy"), Some(&Value::from(r#"{"Statement":[]}"#)));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
