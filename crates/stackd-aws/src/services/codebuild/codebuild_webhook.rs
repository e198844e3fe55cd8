//! `aws_codebuild_webhook`: the webhook that starts a CodeBuild project's
//! builds from its source repository's events. The ID is the project's
//! name, as with the Terraform provider (also the import ID).
//!
//! A refresh reads the known projects with `BatchGetProjects` (100 a call),
//! whose answer holds each project's webhook. The webhook's `secret` is
//! shown only when it is created (or rotated): it is kept from then on.
//! A webhook has no tags: one found on the project at create is taken as
//! an earlier attempt's only when its secret was made after the create's
//! pending record (then its secret is rotated, to be known again);
//! otherwise the create refuses it. `project_name` and `manual_creation`
//! force replacement; the filters and build type change in place.

use async_trait::async_trait;
use aws_sdk_codebuild::types::{Webhook, WebhookBuildType, WebhookFilter, WebhookFilterType};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, ErrorKind, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::PROJECT;
use crate::args::{blocks, bool_or, opt_str, req_str, s, sort_blocks};
use crate::cicd_util::{CicdResult, CODEBUILD};
use crate::context::Aws;
use crate::error::{has_code, ignore_not_found};
use crate::iam_util::{invalid, made_by_this_create};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// BatchGetProjects takes at most 100 names.
const BATCH_SIZE: usize = 100;

/// `aws_codebuild_webhook`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codebuild_webhook",
    schema,
    handler: &CodebuildWebhook,
    grants: &[g(
        &[
            "codebuild:BatchGetProjects",
            "codebuild:CreateWebhook",
            "codebuild:DeleteWebhook",
            "codebuild:UpdateWebhook",
        ],
        &[PROJECT],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let filter = BlockSchema::new("filter", Nesting::List)
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(Check::OneOf(WebhookFilterType::values().to_vec()))
                .doc("EVENT, HEAD_REF, BASE_REF, FILE_PATH, ACTOR_ACCOUNT_ID, ..."),
        )
        .attr(
            AttrSchema::required("pattern", AttrType::String)
                .doc("Events (for EVENT) or a regular expression."),
        )
        .attr(AttrSchema::optional("exclude_matched_pattern", AttrType::Bool).default(false));
    ResourceSchema::resource("aws_codebuild_webhook")
        .doc("The webhook of a CodeBuild project.")
        .attr(
            AttrSchema::required("project_name", AttrType::String)
                .force_new()
                .doc("The name of the project."),
        )
        .attr(
            AttrSchema::optional("build_type", AttrType::String)
                .check(Check::OneOf(WebhookBuildType::values().to_vec()))
                .doc("BUILD or BUILD_BATCH."),
        )
        .attr(
            AttrSchema::optional("branch_filter", AttrType::String)
                .doc("A regular expression of branches to build; `filter_group` is preferred."),
        )
        .attr(
            AttrSchema::optional("manual_creation", AttrType::Bool)
                .force_new()
                .doc("Create the webhook in the repository by hand (its URL and secret are given)."),
        )
        .block(BlockSchema::new("filter_group", Nesting::Set).block(filter))
        .attr(AttrSchema::computed("payload_url", AttrType::String))
        .attr(AttrSchema::computed("secret", AttrType::String).sensitive())
        .attr(AttrSchema::computed("url", AttrType::String))
}

// ----- spec → API -----

fn filter_groups(d: &Value) -> Result<Vec<Vec<WebhookFilter>>, ProviderError> {
    blocks(d, "filter_group")
        .iter()
        .map(|group| {
            blocks(group, "filter")
                .iter()
                .map(|f| {
                    WebhookFilter::builder()
                        .r#type(WebhookFilterType::from(opt_str(f, "type").unwrap_or_default()))
                        .pattern(opt_str(f, "pattern").unwrap_or_default())
                        .exclude_matched_pattern(bool_or(f, "exclude_matched_pattern", false))
                        .build()
                        .map_err(|e| invalid(CODEBUILD, "CreateWebhook", format!("filter: {e}")))
                })
                .collect()
        })
        .collect()
}

// ----- API → attributes -----

/// The webhook's attributes; the secret is the one recorded when the
/// answer does not show it (`recorded`: state, or the create's answer).
fn webhook_attrs(project: &str, w: &Webhook, recorded: Option<&Value>) -> Value {
    let groups = w
        .filter_groups()
        .iter()
        .map(|group| {
            Value::map([(
                "filter",
                Value::List(
                    group
                        .iter()
                        .map(|f| {
                            Value::map([
                                ("type", Value::from(f.r#type().as_str())),
                                ("pattern", Value::from(f.pattern())),
                                (
                                    "exclude_matched_pattern",
                                    Value::Bool(f.exclude_matched_pattern().unwrap_or(false)),
                                ),
                            ])
                        })
                        .collect(),
                ),
            )])
        })
        .collect();
    let secret = w
        .secret()
        .filter(|s| !s.is_empty())
        .or_else(|| recorded.and_then(|r| opt_str(r, "secret")));
    Value::map([
        ("id", Value::from(project)),
        ("project_name", Value::from(project)),
        ("build_type", s(w.build_type().map(WebhookBuildType::as_str))),
        ("branch_filter", s(w.branch_filter())),
        (
            "manual_creation",
            w.manual_creation().map(Value::Bool).unwrap_or(Value::Null),
        ),
        ("filter_group", Value::List(sort_blocks(groups))),
        ("payload_url", s(w.payload_url())),
        ("secret", s(secret)),
        ("url", s(w.url())),
    ])
}

// ----- calls -----

/// The webhooks of these projects, by project name (a project gone or
/// without a webhook is left out).
async fn webhooks(aws: &Aws, names: &[String]) -> Result<Vec<(String, Webhook)>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(BATCH_SIZE) {
        let answer = aws
            .codebuild
            .batch_get_projects()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .codebuild("BatchGetProjects")?;
        for p in answer.projects() {
            if let (Some(name), Some(w)) = (p.name(), p.webhook()) {
                // A project without a webhook may answer an empty one.
                if w.url().is_some_and(|u| !u.is_empty()) || w.payload_url().is_some() {
                    out.push((name.to_string(), w.clone()));
                }
            }
        }
    }
    Ok(out)
}

async fn webhook_of(aws: &Aws, project: &str) -> Result<Option<Webhook>, ProviderError> {
    Ok(webhooks(aws, &[project.to_string()])
        .await?
        .into_iter()
        .next()
        .map(|(_, w)| w))
}

/// `UpdateWebhook` with the spec's filters and build type; `rotate`
/// renews the secret (the answer then shows it).
async fn update_webhook(
    aws: &Aws,
    project: &str,
    d: &Value,
    rotate: bool,
    deadline: &Deadline,
) -> Result<Option<Webhook>, ProviderError> {
    let call = aws
        .codebuild
        .update_webhook()
        .project_name(project)
        .set_build_type(opt_str(d, "build_type").map(WebhookBuildType::from))
        .set_branch_filter(opt_str(d, "branch_filter").map(str::to_string))
        .set_filter_groups(Some(filter_groups(d)?))
        .rotate_secret(rotate);
    let out = retry(deadline, || async {
        call.clone().send().await.codebuild("UpdateWebhook")
    })
    .await?;
    Ok(out.webhook().cloned())
}

pub(crate) struct CodebuildWebhook;

#[async_trait]
impl ResourceHandler for CodebuildWebhook {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<String> = Vec::new();
        for k in &req.known {
            let name = opt_str(&k.attrs, "project_name").unwrap_or(&k.id);
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let found = webhooks(aws, &names).await?;
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let name = opt_str(&k.attrs, "project_name").unwrap_or(&k.id);
                let (_, w) = found.iter().find(|(n, _)| n == name)?;
                Some(LiveResource {
                    id: name.to_string(),
                    address: Some(k.address.clone()),
                    attrs: webhook_attrs(name, w, Some(&k.attrs)),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let project = req_str(d, "project_name", "CreateWebhook")?;
        let call = aws
            .codebuild
            .create_webhook()
            .project_name(project)
            .set_build_type(opt_str(d, "build_type").map(WebhookBuildType::from))
            .set_branch_filter(opt_str(d, "branch_filter").map(str::to_string))
            .set_manual_creation(d.get("manual_creation").and_then(Value::as_bool))
            .set_filter_groups(Some(filter_groups(d)?));
        // A project created a moment ago may not be visible yet.
        let created = retry(&deadline, || async {
            call.clone().send().await.codebuild("CreateWebhook")
        })
        .await;
        let webhook = match created {
            Ok(out) => out.webhook().cloned(),
            Err(e) if has_code(&e, "ResourceAlreadyExistsException") => {
                let existing = webhook_of(aws, project).await?;
                let made_now = existing
                    .as_ref()
                    .and_then(Webhook::last_modified_secret)
                    .is_some_and(|t| made_by_this_create(t.secs(), req.pending_since.as_deref()));
                if !made_now {
                    return Err(invalid(
                        CODEBUILD,
                        "CreateWebhook",
                        format!(
                            "project {project:?} already has a webhook that {} did not make; \
                             delete it or import it",
                            req.address
                        ),
                    )
                    .with_code("ResourceAlreadyExistsException"));
                }
                tracing::info!(project, "adopting the webhook an earlier attempt created");
                update_webhook(aws, project, d, true, &deadline).await?
            }
            Err(e) => return Err(e),
        };
        let webhook = match webhook {
            Some(w) => w,
            None => webhook_of(aws, project).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    CODEBUILD,
                    "BatchGetProjects",
                    format!("the webhook of {project} no longer exists"),
                )
            })?,
        };
        Ok(webhook_attrs(project, &webhook, None))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let project = req_str(d, "project_name", "UpdateWebhook")?;
        update_webhook(aws, project, d, false, &deadline).await?;
        let w = webhook_of(aws, project).await?.ok_or_else(|| {
            crate::iam_util::gone(CODEBUILD, "BatchGetProjects", project)
        })?;
        Ok(webhook_attrs(project, &w, req.prior.as_ref()))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let project = opt_str(&req.prior, "project_name").unwrap_or(&req.id);
        ignore_not_found(
            aws.codebuild
                .delete_webhook()
                .project_name(project)
                .send()
                .await
                .codebuild("DeleteWebhook")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};

    fn filter(kind: &str, pattern: &str) -> Value {
        Value::map([
            ("type", Value::from(kind)),
            ("pattern", Value::from(pattern)),
            ("exclude_matched_pattern", Value::Bool(false)),
        ])
    }

    fn desired() -> Value {
        Value::map([
            ("project_name", Value::from("app")),
            ("build_type", Value::from("BUILD")),
            ("branch_filter", Value::Null),
            ("manual_creation", Value::Null),
            (
                "filter_group",
                Value::List(vec![Value::map([(
                    "filter",
                    Value::List(vec![
                        filter("EVENT", "PUSH"),
                        filter("HEAD_REF", "^refs/heads/main$"),
                    ]),
                )])]),
            ),
        ])
    }

    fn live(secret: Option<&str>) -> Webhook {
        Webhook::builder()
            .url("https://api.github.com/repos/o/r/hooks/1")
            .payload_url("https://codebuild.us-east-1.amazonaws.com/webhooks?t=x")
            .set_secret(secret.map(str::to_string))
            .build_type(WebhookBuildType::Build)
            .set_filter_groups(Some(filter_groups(&desired()).unwrap()))
            .build()
    }

    #[test]
    fn filters_keep_their_order_within_a_group() {
        let groups = filter_groups(&desired()).unwrap();
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0][0].r#type(), &WebhookFilterType::Event);
        assert_eq!(groups[0][1].pattern(), "^refs/heads/main$");
    }

    #[test]
    fn the_secret_shown_at_create_is_kept_when_reads_hide_it() {
        let created = webhook_attrs("app", &live(Some("abc")), None);
        assert_eq!(created.get("secret"), Some(&Value::from("abc")));
        let read = webhook_attrs("app", &live(None), Some(&created));
        assert_eq!(read.get("secret"), Some(&Value::from("abc")));
        let changes = diff(&schema(), &desired(), &read, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn a_changed_pattern_is_an_update_in_place() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert(
                "filter_group".into(),
                Value::List(vec![Value::map([(
                    "filter",
                    Value::List(vec![filter("EVENT", "PUSH, PULL_REQUEST_CREATED")]),
                )])]),
            );
        }
        let read = webhook_attrs("app", &live(None), None);
        let changes = diff(&schema(), &d, &read, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "filter_group");
        assert!(!changes[0].forces_replacement);
    }
}
