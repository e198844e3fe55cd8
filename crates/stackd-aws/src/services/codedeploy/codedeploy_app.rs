//! `aws_codedeploy_app`: a CodeDeploy application. The ID is
//! `application_id:name`, as with the Terraform provider; it imports by
//! that ID or by the name alone.
//!
//! A refresh reads the known applications with one `BatchGetApplications`
//! (100 names a call; a name that no longer exists fails the whole call, so
//! then one `ListApplications` chain narrows the names and the batch is sent
//! again). Its answer has no tags: `ListTagsForResource` is called per
//! application (CodeDeploy has no batch form). An application of this stack
//! that state does not know is found again by the next create, through its
//! ownership tags. A new `name` renames the application in place
//! (`UpdateApplication`), as Terraform does.

use std::collections::{BTreeMap, HashSet};

use async_trait::async_trait;
use aws_sdk_codedeploy::types::{ApplicationInfo, ComputePlatform};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{
    application_arn, reconcile_tags, sdk_tags, tags_of, CodedeployResult, APPLICATION, CODEDEPLOY,
};
use crate::args::{opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code, ignore_not_found};
use crate::iam_util::{conflict, found, invalid, ours, tags_attr};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// BatchGetApplications takes at most 100 names.
const BATCH_SIZE: usize = 100;

/// `aws_codedeploy_app`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codedeploy_app",
    schema,
    handler: &CodedeployApp,
    grants: &[
        // ListApplications takes no resource-level permissions.
        g(&["codedeploy:ListApplications"], ANY),
        g(
            &[
                "codedeploy:BatchGetApplications",
                "codedeploy:CreateApplication",
                "codedeploy:DeleteApplication",
                "codedeploy:ListTagsForResource",
                "codedeploy:TagResource",
                "codedeploy:UntagResource",
                "codedeploy:UpdateApplication",
            ],
            &[APPLICATION],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_codedeploy_app")
        .doc("A CodeDeploy application.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .doc("The application's name (1-100 characters); a new one renames it."),
        )
        .attr(
            AttrSchema::optional("compute_platform", AttrType::String)
                .default("Server")
                .force_new()
                .check(Check::OneOf(vec!["ECS", "Lambda", "Server"]))
                .doc("ECS, Lambda or Server."),
        )
        .attr(AttrSchema::computed("application_id", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("github_account_name", AttrType::String))
        .attr(AttrSchema::computed("linked_to_github", AttrType::Bool))
        .taggable()
}

/// The application name an ID stands for: `application_id:name` (an ID
/// is a UUID, without colons), or a bare name (an import ID).
pub(crate) fn name_of(id: &str) -> &str {
    match id.split_once(':') {
        Some((app_id, name)) if is_uuid(app_id) => name,
        _ => id,
    }
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.chars()
            .enumerate()
            .all(|(i, c)| matches!(i, 8 | 13 | 18 | 23) == (c == '-') && (c == '-' || c.is_ascii_hexdigit()))
}

fn app_attrs(app: &ApplicationInfo, arn: &str, tags: &BTreeMap<String, String>) -> Value {
    let name = app.application_name().unwrap_or_default();
    let app_id = app.application_id().unwrap_or_default();
    Value::map([
        ("id", Value::from(format!("{app_id}:{name}"))),
        ("name", Value::from(name)),
        ("application_id", Value::from(app_id)),
        ("arn", Value::from(arn)),
        (
            "compute_platform",
            s(app.compute_platform().map(ComputePlatform::as_str)),
        ),
        ("github_account_name", s(app.git_hub_account_name())),
        ("linked_to_github", Value::Bool(app.linked_to_git_hub())),
        ("tags_all", tags_attr(tags)),
    ])
}

async fn batch_get(aws: &Aws, names: &[String]) -> Result<Vec<ApplicationInfo>, ProviderError> {
    let mut found = Vec::new();
    for chunk in names.chunks(BATCH_SIZE) {
        let out = aws
            .codedeploy
            .batch_get_applications()
            .set_application_names(Some(chunk.to_vec()))
            .send()
            .await
            .codedeploy("BatchGetApplications")?;
        found.extend(out.applications_info().iter().cloned());
    }
    Ok(found)
}

async fn list_names(aws: &Aws) -> Result<HashSet<String>, ProviderError> {
    aws.codedeploy
        .list_applications()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .codedeploy("ListApplications")
        .map(|names| names.into_iter().collect())
}

/// The applications of these names that exist.
async fn existing(aws: &Aws, names: &[String]) -> Result<Vec<ApplicationInfo>, ProviderError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    match batch_get(aws, names).await {
        Err(e) if e.kind == ErrorKind::NotFound => {
            let listed = list_names(aws).await?;
            let names: Vec<String> = names
                .iter()
                .filter(|n| listed.contains(*n))
                .cloned()
                .collect();
            if names.is_empty() {
                return Ok(Vec::new());
            }
            batch_get(aws, &names).await
        }
        other => other,
    }
}

/// One application with its tags; `None` when it does not exist.
async fn read(aws: &Aws, name: &str) -> Result<Option<Value>, ProviderError> {
    let Some(app) = existing(aws, &[name.to_string()]).await?.into_iter().next() else {
        return Ok(None);
    };
    let arn = application_arn(aws, name).await?;
    let Some(tags) = found(tags_of(aws, &arn).await)? else {
        return Ok(None);
    };
    Ok(Some(app_attrs(&app, &arn, &tags)))
}

pub(crate) struct CodedeployApp;

#[async_trait]
impl ResourceHandler for CodedeployApp {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<String> = Vec::new();
        for k in &req.known {
            let name = opt_str(&k.attrs, "name").unwrap_or_else(|| name_of(&k.id));
            if !name.is_empty() && !names.iter().any(|n| n == name) {
                names.push(name.to_string());
            }
        }
        let apps = existing(aws, &names).await?;
        let reads = crate::concurrent::bounded_all(apps.iter().map(|app| async move {
            let name = app.application_name().unwrap_or_default();
            let arn = application_arn(aws, name).await?;
            Ok::<_, ProviderError>(found(tags_of(aws, &arn).await)?.map(|t| (arn, t)))
        }))
        .await;
        let mut out = Vec::new();
        for (app, read) in apps.iter().zip(reads) {
            let Some((arn, tags)) = read? else { continue };
            let name = app.application_name().unwrap_or_default();
            let Some(k) = req.known.iter().find(|k| {
                opt_str(&k.attrs, "name").unwrap_or_else(|| name_of(&k.id)) == name
            }) else {
                continue;
            };
            let attrs = app_attrs(app, &arn, &tags);
            out.push(LiveResource {
                id: opt_str(&attrs, "id").unwrap_or_default().to_string(),
                address: Some(k.address.clone()),
                attrs,
            });
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let d = &req.desired;
        let name = req_str(d, "name", "CreateApplication")?;
        let platform = opt_str(d, "compute_platform").unwrap_or("Server");
        let created = aws
            .codedeploy
            .create_application()
            .application_name(name)
            .compute_platform(ComputePlatform::from(platform))
            .set_tags(Some(sdk_tags(d)))
            .send()
            .await
            .codedeploy("CreateApplication");
        match created {
            Ok(_) => {}
            // Made by an earlier attempt whose answer was lost, or someone
            // else's: the ownership tags tell.
            Err(e) if has_code(&e, "ApplicationAlreadyExistsException") => {
                let arn = application_arn(aws, name).await?;
                let live = tags_of(aws, &arn).await?;
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        CODEDEPLOY,
                        "CreateApplication",
                        conflict("CodeDeploy application", name, &live, &req.owner),
                    )
                    .with_code("ApplicationAlreadyExistsException"));
                }
                tracing::info!(name, "adopting the CodeDeploy application an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        read(aws, name)
            .await?
            .ok_or_else(|| after_create(name, crate::iam_util::gone(CODEDEPLOY, "BatchGetApplications", name)))
    }

    /// An application of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "codedeploy:BatchGetApplications";
        let mut findings = Findings::new();
        if let Some(Some(attrs)) = findings.read(ACTION, read(aws, name).await)? {
            let tags = crate::iam_util::live_tags(&attrs);
            findings.name_in_use(req, ACTION, "CodeDeploy application", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let name = req_str(&req.desired, "name", "UpdateApplication")?;
        let old = opt_str(&prior, "name")
            .or_else(|| req.id.as_deref().map(name_of))
            .unwrap_or(name);
        if old != name {
            retry(&deadline, || async {
                aws.codedeploy
                    .update_application()
                    .application_name(old)
                    .new_application_name(name)
                    .send()
                    .await
                    .codedeploy("UpdateApplication")
            })
            .await?;
        }
        let arn = application_arn(aws, name).await?;
        reconcile_tags(aws, &arn, &prior, &req.desired, &deadline).await?;
        read(aws, name)
            .await?
            .ok_or_else(|| crate::iam_util::gone(CODEDEPLOY, "BatchGetApplications", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = opt_str(&req.prior, "name").unwrap_or_else(|| name_of(&req.id));
        ignore_not_found(
            aws.codedeploy
                .delete_application()
                .application_name(name)
                .send()
                .await
                .codedeploy("DeleteApplication")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_the_application_id_before_the_name() {
        assert_eq!(
            name_of("0c2a4c4e-7a8d-4e5a-9d8e-7a1b2c3d4e5f:my-app"),
            "my-app"
        );
        assert_eq!(name_of("my-app"), "my-app");
        // A name with a colon, imported bare, is not cut.
        assert_eq!(name_of("team:app"), "team:app");
        assert_eq!(
            name_of("0c2a4c4e-7a8d-4e5a-9d8e-7a1b2c3d4e5f:team:app"),
            "team:app"
        );
    }

    #[test]
    fn a_live_application_reads_back_as_its_arguments() {
        let app = ApplicationInfo::builder()
            .application_id("0c2a4c4e-7a8d-4e5a-9d8e-7a1b2c3d4e5f")
            .application_name("web")
            .compute_platform(ComputePlatform::Ecs)
            .build();
        let tags = BTreeMap::from([
            ("Team".to_string(), "web".to_string()),
            ("aws:cloudformation:stack-name".to_string(), "x".to_string()),
        ]);
        let v = app_attrs(&app, "arn:aws:codedeploy:us-east-1:1:application:web", &tags);
        assert_eq!(
            v.get("id"),
            Some(&Value::from("0c2a4c4e-7a8d-4e5a-9d8e-7a1b2c3d4e5f:web"))
        );
        assert_eq!(v.get("compute_platform"), Some(&Value::from("ECS")));
        assert_eq!(v.get("linked_to_github"), Some(&Value::Bool(false)));
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([("Team", Value::from("web"))]))
        );
    }
}
