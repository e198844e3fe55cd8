//! `aws_codepipeline_webhook`: a webhook that starts a pipeline's source
//! action when a repository posts an event matching its filters. The ID
//! is the webhook's ARN, as with the Terraform provider (also the import
//! ID).
//!
//! A refresh lists every webhook with one `ListWebhooks` chain (the answer
//! carries definitions, URLs and tags): known ones are found by ARN, others
//! by their ownership tags. `PutWebhook` creates or replaces a webhook of
//! that name, so a create first looks for one: a webhook this address made
//! (its tags say so) is adopted, any other is refused rather than
//! overwritten. Everything but the filters and tags forces replacement, as
//! in Terraform.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_codepipeline::types::{
    ListWebhookItem, Tag, WebhookAuthConfiguration, WebhookAuthenticationType, WebhookDefinition,
    WebhookFilterRule,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest, ADDRESS_TAG,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::PIPELINE;
use crate::args::{blocks, opt_str, req_str, s, sort_blocks, str_map};
use crate::cicd_util::{CicdResult, CODEPIPELINE};
use crate::context::Aws;
use crate::error::ignore_not_found;
use crate::iam_util::{conflict, invalid, ours, tags_attr};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, Deadline};

/// `aws_codepipeline_webhook`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codepipeline_webhook",
    schema,
    handler: &CodepipelineWebhook,
    grants: &[
        // ListWebhooks takes no resource-level permissions.
        g(&["codepipeline:ListWebhooks"], ANY),
        g(
            &[
                "codepipeline:DeleteWebhook",
                "codepipeline:PutWebhook",
                "codepipeline:TagResource",
                "codepipeline:UntagResource",
            ],
            &[PIPELINE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let mut filter = BlockSchema::new("filter", Nesting::Set)
        .required()
        .attr(
            AttrSchema::required("json_path", AttrType::String)
                .doc("A JSONPath into the event's payload, e.g. `$.ref`."),
        )
        .attr(
            AttrSchema::required("match_equals", AttrType::String)
                .doc("The value it must equal, e.g. `refs/heads/{Branch}`."),
        );
    filter.max_items = Some(5);
    ResourceSchema::resource("aws_codepipeline_webhook")
        .doc("A webhook that starts a CodePipeline pipeline.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The webhook's name."),
        )
        .attr(
            AttrSchema::required("authentication", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec!["GITHUB_HMAC", "IP", "UNAUTHENTICATED"]))
                .doc("GITHUB_HMAC, IP or UNAUTHENTICATED."),
        )
        .block(
            crate::elbv2_ecs_util::at_most_one(BlockSchema::new(
                "authentication_configuration",
                Nesting::List,
            ))
            .force_new()
            .attr(
                AttrSchema::optional("secret_token", AttrType::String)
                    .force_new()
                    .sensitive()
                    .doc("The shared secret of GITHUB_HMAC."),
            )
            .attr(
                AttrSchema::optional("allowed_ip_range", AttrType::String)
                    .force_new()
                    .doc("The CIDR block events must come from, for IP."),
            ),
        )
        .block(filter)
        .attr(
            AttrSchema::required("target_action", AttrType::String)
                .force_new()
                .doc("The name of the pipeline's source action."),
        )
        .attr(
            AttrSchema::required("target_pipeline", AttrType::String)
                .force_new()
                .doc("The name of the pipeline."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("url", AttrType::String).doc("The URL events are posted to."))
        .taggable()
}

// ----- spec → API -----

fn build_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    invalid(CODEPIPELINE, "PutWebhook", format!("{what}: {e}"))
}

fn definition(d: &Value) -> Result<WebhookDefinition, ProviderError> {
    let authentication = req_str(d, "authentication", "PutWebhook")?;
    let auth = blocks(d, "authentication_configuration").first();
    // Only the setting of the chosen authentication is sent, as the
    // Terraform provider does; the API wants the structure even when empty.
    let config = WebhookAuthConfiguration::builder()
        .set_secret_token(
            auth.filter(|_| authentication == "GITHUB_HMAC")
                .and_then(|a| opt_str(a, "secret_token"))
                .map(str::to_string),
        )
        .set_allowed_ip_range(
            auth.filter(|_| authentication == "IP")
                .and_then(|a| opt_str(a, "allowed_ip_range"))
                .map(str::to_string),
        )
        .build();
    let filters = blocks(d, "filter")
        .iter()
        .map(|f| {
            WebhookFilterRule::builder()
                .json_path(opt_str(f, "json_path").unwrap_or_default())
                .set_match_equals(opt_str(f, "match_equals").map(str::to_string))
                .build()
                .map_err(|e| build_error("filter", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    WebhookDefinition::builder()
        .name(req_str(d, "name", "PutWebhook")?)
        .target_pipeline(req_str(d, "target_pipeline", "PutWebhook")?)
        .target_action(req_str(d, "target_action", "PutWebhook")?)
        .authentication(WebhookAuthenticationType::from(authentication))
        .authentication_configuration(config)
        .set_filters(Some(filters))
        .build()
        .map_err(|e| build_error("webhook", e))
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error("tags", e))
}

// ----- API → attributes -----

fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

/// A webhook's attributes. The secret token, when AWS does not show it,
/// is the one recorded (`recorded`: state or the arguments just applied).
fn webhook_attrs(item: &ListWebhookItem, recorded: Option<&Value>) -> Value {
    let def = item.definition();
    let recorded_secret = recorded
        .and_then(|r| blocks(r, "authentication_configuration").first())
        .and_then(|a| opt_str(a, "secret_token"));
    let auth = def
        .and_then(WebhookDefinition::authentication_configuration)
        .map(|a| {
            (
                a.secret_token()
                    .filter(|t| !t.is_empty() && !t.chars().all(|c| c == '*'))
                    .or(recorded_secret),
                a.allowed_ip_range(),
            )
        })
        .filter(|(secret, range)| secret.is_some() || range.is_some())
        .map(|(secret, range)| {
            Value::map([
                ("secret_token", s(secret)),
                ("allowed_ip_range", s(range)),
            ])
        });
    let filters = def
        .map(|d| {
            d.filters()
                .iter()
                .map(|f| {
                    Value::map([
                        ("json_path", Value::from(f.json_path())),
                        ("match_equals", s(f.match_equals())),
                    ])
                })
                .collect()
        })
        .unwrap_or_default();
    Value::map([
        ("id", s(item.arn())),
        ("arn", s(item.arn())),
        ("url", s(Some(item.url()))),
        ("name", s(def.map(WebhookDefinition::name))),
        (
            "authentication",
            s(def.map(|d| d.authentication().as_str())),
        ),
        ("authentication_configuration", Value::List(auth.into_iter().collect())),
        ("filter", Value::List(sort_blocks(filters))),
        ("target_action", s(def.map(WebhookDefinition::target_action))),
        ("target_pipeline", s(def.map(WebhookDefinition::target_pipeline))),
        ("tags_all", tags_attr(tag_map(item.tags()))),
    ])
}

// ----- calls -----

async fn list_all(aws: &Aws) -> Result<Vec<ListWebhookItem>, ProviderError> {
    aws.codepipeline
        .list_webhooks()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .codepipeline("ListWebhooks")
}

async fn by_name(aws: &Aws, name: &str) -> Result<Option<ListWebhookItem>, ProviderError> {
    Ok(list_all(aws)
        .await?
        .into_iter()
        .find(|w| w.definition().map(WebhookDefinition::name) == Some(name)))
}

async fn put(
    aws: &Aws,
    d: &Value,
    tags: Option<Vec<Tag>>,
    deadline: &Deadline,
) -> Result<ListWebhookItem, ProviderError> {
    let def = definition(d)?;
    // A pipeline created a moment ago may not be visible yet.
    let out = retry(deadline, || async {
        aws.codepipeline
            .put_webhook()
            .webhook(def.clone())
            .set_tags(tags.clone())
            .send()
            .await
            .codepipeline("PutWebhook")
    })
    .await?;
    out.webhook()
        .cloned()
        .ok_or_else(|| invalid(CODEPIPELINE, "PutWebhook", "the answer carries no webhook"))
}

pub(crate) struct CodepipelineWebhook;

#[async_trait]
impl ResourceHandler for CodepipelineWebhook {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        Ok(list_all(aws)
            .await?
            .into_iter()
            .filter_map(|w| {
                let arn = w.arn()?.to_string();
                let tags = tag_map(w.tags());
                let known = req.known.iter().find(|k| k.id == arn);
                if known.is_none() && !req.owner.owns(|k| tags.get(k).map(String::as_str)) {
                    return None;
                }
                let address = known
                    .map(|k| k.address.clone())
                    .or_else(|| tags.get(ADDRESS_TAG).and_then(|a| a.parse().ok()));
                Some(LiveResource {
                    attrs: webhook_attrs(&w, known.map(|k| &k.attrs)),
                    address,
                    id: arn,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = req_str(d, "name", "PutWebhook")?;
        // PutWebhook replaces a webhook of the same name: look first.
        if let Some(existing) = by_name(aws, name).await? {
            let live = tag_map(existing.tags());
            if !ours(&live, &req.owner, &req.address) {
                return Err(invalid(
                    CODEPIPELINE,
                    "PutWebhook",
                    conflict("CodePipeline webhook", name, &live, &req.owner),
                ));
            }
            tracing::info!(name, "adopting the webhook an earlier attempt created");
        }
        let tags = sdk_tags(&desired_tags(d))?;
        let item = put(aws, d, Some(tags).filter(|t| !t.is_empty()), &deadline).await?;
        Ok(webhook_attrs(&item, Some(d)))
    }

    /// A webhook of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "codepipeline:ListWebhooks";
        let mut findings = Findings::new();
        if let Some(Some(w)) = findings.read(ACTION, by_name(aws, name).await)? {
            findings.name_in_use(req, ACTION, "CodePipeline webhook", name, &tag_map(w.tags()));
        }
        Ok(findings.into_vec())
    }

    /// New filters are put again (PutWebhook, without tags, keeps them);
    /// tags are reconciled by ARN.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let mut item = None;
        if req.changed.iter().any(|c| c != "tags" && c != "tags_all") {
            item = Some(put(aws, d, None, &deadline).await?);
        }
        let arn = opt_str(&prior, "arn")
            .or(req.id.as_deref())
            .ok_or_else(|| invalid(CODEPIPELINE, "TagResource", "update without an ARN"))?
            .to_string();
        let (set, remove) = tag_changes(&str_map(&prior, "tags_all"), &desired_tags(d));
        if !remove.is_empty() {
            aws.codepipeline
                .untag_resource()
                .resource_arn(&arn)
                .set_tag_keys(Some(remove))
                .send()
                .await
                .codepipeline("UntagResource")?;
        }
        if !set.is_empty() {
            aws.codepipeline
                .tag_resource()
                .resource_arn(&arn)
                .set_tags(Some(sdk_tags(&set)?))
                .send()
                .await
                .codepipeline("TagResource")?;
        }
        let name = req_str(d, "name", "ListWebhooks")?;
        let live = match by_name(aws, name).await? {
            Some(w) => w,
            None => item.ok_or_else(|| crate::iam_util::gone(CODEPIPELINE, "ListWebhooks", name))?,
        };
        Ok(webhook_attrs(&live, Some(d)))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = opt_str(&req.prior, "name")
            .map(str::to_string)
            .or_else(|| req.id.rsplit_once(":webhook:").map(|(_, n)| n.to_string()))
            .ok_or_else(|| {
                invalid(
                    CODEPIPELINE,
                    "DeleteWebhook",
                    format!("no webhook name in {:?}", req.id),
                )
            })?;
        ignore_not_found(
            aws.codepipeline
                .delete_webhook()
                .name(&name)
                .send()
                .await
                .codepipeline("DeleteWebhook")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};

    fn desired() -> Value {
        Value::map([
            ("name", Value::from("app-push")),
            ("authentication", Value::from("GITHUB_HMAC")),
            (
                "authentication_configuration",
                Value::List(vec![Value::map([
                    ("secret_token", Value::from("s3cr3t")),
                    ("allowed_ip_range", Value::Null),
                ])]),
            ),
            (
                "filter",
                Value::List(vec![Value::map([
                    ("json_path", Value::from("$.ref")),
                    ("match_equals", Value::from("refs/heads/{Branch}")),
                ])]),
            ),
            ("target_action", Value::from("Source")),
            ("target_pipeline", Value::from("app")),
            ("tags_all", Value::map([("Team", Value::from("web"))])),
        ])
    }

    fn live_item(secret_shown: Option<&str>) -> ListWebhookItem {
        let mut def = definition(&desired()).unwrap();
        def.authentication_configuration = Some(
            WebhookAuthConfiguration::builder()
                .set_secret_token(secret_shown.map(str::to_string))
                .build(),
        );
        ListWebhookItem::builder()
            .definition(def)
            .url("https://webhooks.example/trigger?t=abc")
            .arn("arn:aws:codepipeline:us-east-1:1:webhook:app-push")
            .tags(Tag::builder().key("Team").value("web").build().unwrap())
            .build()
            .unwrap()
    }

    #[test]
    fn only_the_chosen_authentications_setting_is_sent() {
        let def = definition(&desired()).unwrap();
        let auth = def.authentication_configuration().unwrap();
        assert_eq!(auth.secret_token(), Some("s3cr3t"));
        assert_eq!(auth.allowed_ip_range(), None);
        assert_eq!(def.filters()[0].json_path(), "$.ref");
    }

    #[test]
    fn a_live_webhook_reads_back_as_a_no_op_whether_or_not_the_secret_is_shown() {
        for shown in [Some("s3cr3t"), None, Some("****")] {
            let live = webhook_attrs(&live_item(shown), Some(&desired()));
            let changes = diff(&schema(), &desired(), &live, &IgnoreChanges::default());
            assert!(changes.is_empty(), "{shown:?}: {changes:?}");
        }
    }

    #[test]
    fn a_changed_filter_is_an_update_in_place() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert(
                "filter".into(),
                Value::List(vec![Value::map([
                    ("json_path", Value::from("$.ref")),
                    ("match_equals", Value::from("refs/heads/main")),
                ])]),
            );
        }
        let live = webhook_attrs(&live_item(None), Some(&desired()));
        let changes = diff(&schema(), &d, &live, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "filter");
        assert!(!changes[0].forces_replacement);
    }
}
