//! `aws_iam_openid_connect_provider`: an IAM OIDC identity provider (the
//! trust that lets GitHub Actions or an EKS cluster assume roles). Its ID
//! is its ARN, as in Terraform (also the import ID).
//!
//! IAM answers the URL without its `https://`; both forms compare equal.
//! `thumbprint_list` is optional (AWS now verifies the well-known providers
//! itself) and computed: left out, whatever IAM keeps is accepted. IAM
//! cannot clear the thumbprints once set (an update needs at least one),
//! so an emptied list is left as it is, as in Terraform. IAM has no batch
//! read: a refresh calls `GetOpenIDConnectProvider` (which answers the
//! tags too) per known provider,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_iam::operation::get_open_id_connect_provider::GetOpenIdConnectProviderOutput;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::OIDC_PROVIDER;
use crate::args::{list_or_null, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, found, iam_tag_map, iam_tags, ignore_gone, invalid, live_tags, ours,
    read_each, required, tags_attr, update_id, AwsResult, IAM,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by};
use crate::wait::{retry, until, Deadline};

/// `aws_iam_openid_connect_provider`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_openid_connect_provider",
    schema,
    handler: &OpenIdConnectProvider,
    grants: &[g(
        &[
            "iam:AddClientIDToOpenIDConnectProvider",
            "iam:CreateOpenIDConnectProvider",
            "iam:DeleteOpenIDConnectProvider",
            "iam:GetOpenIDConnectProvider",
            "iam:RemoveClientIDFromOpenIDConnectProvider",
            "iam:TagOpenIDConnectProvider",
            "iam:UntagOpenIDConnectProvider",
            "iam:UpdateOpenIDConnectProviderThumbprint",
        ],
        &[OIDC_PROVIDER],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_openid_connect_provider")
        .doc("An IAM OpenID Connect identity provider.")
        .attr(
            AttrSchema::required("url", AttrType::String)
                .force_new()
                .normalize(without_scheme)
                .doc("The issuer URL (`https://token.actions.githubusercontent.com`)."),
        )
        .attr(
            AttrSchema::required("client_id_list", AttrType::set_of(AttrType::String))
                .doc("The audiences (client IDs) the provider accepts."),
        )
        .attr(
            AttrSchema::optional_computed("thumbprint_list", AttrType::list_of(AttrType::String))
                .doc("SHA-1 thumbprints of the issuer's certificates (optional)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The provider's ARN (also its ID)."))
        .taggable()
}

/// A URL as IAM keeps it: without `https://`.
fn without_scheme(v: &Value) -> Value {
    match v {
        Value::String(url) => Value::from(url.strip_prefix("https://").unwrap_or(url)),
        other => other.clone(),
    }
}

/// The ARN IAM gives the provider of this URL.
fn provider_arn(partition: &str, account: &str, url: &str) -> String {
    let host_path = url.strip_prefix("https://").unwrap_or(url);
    format!("arn:{partition}:iam::{account}:oidc-provider/{host_path}")
}

fn provider_attrs(arn: &str, out: &GetOpenIdConnectProviderOutput) -> Value {
    let url = out.url().unwrap_or_default();
    Value::map([
        ("id", Value::from(arn)),
        ("arn", Value::from(arn)),
        // Shown as the spec writes it most often; the normalizer makes
        // both forms equal.
        ("url", Value::from(format!("https://{}", url.trim_start_matches("https://")))),
        ("client_id_list", set_or_null(out.client_id_list().to_vec())),
        ("thumbprint_list", list_or_null(out.thumbprint_list().to_vec())),
        ("tags_all", tags_attr(iam_tag_map(out.tags()))),
    ])
}

async fn read(aws: &Aws, arn: &str) -> Result<Value, ProviderError> {
    let out = aws
        .iam
        .get_open_id_connect_provider()
        .open_id_connect_provider_arn(arn)
        .send()
        .await
        .aws(IAM, "GetOpenIDConnectProvider")?;
    Ok(provider_attrs(arn, &out))
}

pub(crate) struct OpenIdConnectProvider;

#[async_trait]
impl ResourceHandler for OpenIdConnectProvider {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // No batch read: one GetOpenIDConnectProvider per known provider.
        read_each(&req.known, |k| async move {
            let attrs = found(read(aws, &k.id).await)?;
            Ok(attrs.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: address_of(&k.id, &live_tags(&attrs), &req.known),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let url = required(d, "url", IAM, "CreateOpenIDConnectProvider")?;
        let thumbprints = str_list(d, "thumbprint_list");
        let call = aws
            .iam
            .create_open_id_connect_provider()
            .url(url)
            .set_client_id_list(Some(str_list(d, "client_id_list")))
            .set_thumbprint_list((!thumbprints.is_empty()).then_some(thumbprints))
            .set_tags(Some(iam_tags(&desired_tags(d), "CreateOpenIDConnectProvider")?));
        let arn = match retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .aws(IAM, "CreateOpenIDConnectProvider")
        })
        .await
        {
            Ok(out) => out
                .open_id_connect_provider_arn()
                .map(str::to_string)
                .ok_or_else(|| {
                    invalid(IAM, "CreateOpenIDConnectProvider", "the answer carries no ARN")
                })?,
            Err(e) if has_code(&e, "EntityAlreadyExists") => {
                let account = aws.account_id().await?;
                let arn = provider_arn(aws.loc.partition, &account, url);
                let existing = read(aws, &arn).await?;
                let live = live_tags(&existing);
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        IAM,
                        "CreateOpenIDConnectProvider",
                        conflict("OIDC provider", url, &live, &req.owner),
                    ));
                }
                tracing::info!(provider = %arn, "adopting the provider an earlier attempt created");
                return Ok(existing);
            }
            Err(e) => return Err(e),
        };
        until(
            &deadline,
            "GetOpenIDConnectProvider",
            &format!("OIDC provider {arn} to be readable"),
            || async { found(read(aws, &arn).await) },
        )
        .await
        .map_err(|e| after_create(&arn, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), IAM, "UpdateOpenIDConnectProviderThumbprint")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let thumbprints = str_list(d, "thumbprint_list");
        if changed("thumbprint_list") && !thumbprints.is_empty() {
            aws.iam
                .update_open_id_connect_provider_thumbprint()
                .open_id_connect_provider_arn(arn)
                .set_thumbprint_list(Some(thumbprints))
                .send()
                .await
                .aws(IAM, "UpdateOpenIDConnectProviderThumbprint")?;
        }
        if changed("client_id_list") {
            let have: BTreeSet<String> = str_list(&prior, "client_id_list").into_iter().collect();
            let want: BTreeSet<String> = str_list(d, "client_id_list").into_iter().collect();
            for id in want.difference(&have) {
                aws.iam
                    .add_client_id_to_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .aws(IAM, "AddClientIDToOpenIDConnectProvider")?;
            }
            for id in have.difference(&want) {
                aws.iam
                    .remove_client_id_from_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .client_id(id)
                    .send()
                    .await
                    .aws(IAM, "RemoveClientIDFromOpenIDConnectProvider")?;
            }
        }
        reconcile_by(
            &prior,
            d,
            &deadline,
            |keys| async move {
                aws.iam
                    .untag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tag_keys(Some(keys))
                    .send()
                    .await
                    .aws(IAM, "UntagOpenIDConnectProvider")
                    .map(|_| ())
            },
            |tags| async move {
                aws.iam
                    .tag_open_id_connect_provider()
                    .open_id_connect_provider_arn(arn)
                    .set_tags(Some(iam_tags(&tags, "TagOpenIDConnectProvider")?))
                    .send()
                    .await
                    .aws(IAM, "TagOpenIDConnectProvider")
                    .map(|_| ())
            },
        )
        .await?;
        read(aws, arn).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.iam
                .delete_open_id_connect_provider()
                .open_id_connect_provider_arn(&req.id)
                .send()
                .await
                .aws(IAM, "DeleteOpenIDConnectProvider"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_compare_without_the_scheme() {
        let n = schema().find_attr("url").unwrap().normalize.unwrap().0;
        assert_eq!(
            n(&Value::from("https://token.actions.githubusercontent.com")),
            n(&Value::from("token.actions.githubusercontent.com"))
        );
        assert_eq!(
            provider_arn("aws", "123", "https://oidc.example.com/id/AB"),
            "arn:aws:iam::123:oidc-provider/oidc.example.com/id/AB"
        );
    }

    #[test]
    fn live_provider_is_in_schema_shape() {
        let out = GetOpenIdConnectProviderOutput::builder()
            .url("oidc.example.com")
            .client_id_list("sts.amazonaws.com")
            .build();
        let v = provider_attrs("arn:aws:iam::1:oidc-provider/oidc.example.com", &out);
        assert_eq!(v.get("url"), Some(&Value::from("https://oidc.example.com")));
        assert_eq!(v.get("thumbprint_list"), Some(&Value::Null));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
