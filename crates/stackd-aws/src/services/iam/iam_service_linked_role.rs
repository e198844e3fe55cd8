//! `aws_iam_service_linked_role`: the role an AWS service assumes for the
//! account (`AWSServiceRoleForAutoScaling_suffix`), made by IAM for the
//! service named. Its ID is its ARN, as in Terraform (also the import ID).
//!
//! `CreateServiceLinkedRole` takes no tags: the ownership tags follow with
//! `TagRole`, so a role found already there is this create's when it carries
//! them, or, untagged, when it was created after the create's pending
//! record (an answer lost before the tags went on); any other is refused
//! (import it instead). Delete is asynchronous: `DeleteServiceLinkedRole`
//! answers a deletion task, polled with
//! `GetServiceLinkedRoleDeletionStatus` until it succeeds (AWS refuses while
//! resources of the service still use the role: the task fails, with the
//! reason). IAM has no batch read: a refresh calls `GetRole` per known role,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_iam::types::{DeletionTaskStatusType, Role};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, ErrorKind, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::iam_role::get_role;
use super::ROLE;
use crate::args::{opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    address_of, conflict, found, iam_date, iam_tag_map, iam_tags, invalid, live_tags,
    made_by_this_create, ours, read_each, required, tags_attr, update_id, AwsResult, IAM,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::reconcile_by;
use crate::wait::{retry, until, Deadline};

/// `aws_iam_service_linked_role`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_iam_service_linked_role",
    schema,
    handler: &ServiceLinkedRole,
    grants: &[g(
        &[
            "iam:CreateServiceLinkedRole",
            "iam:DeleteServiceLinkedRole",
            "iam:GetRole",
            "iam:GetServiceLinkedRoleDeletionStatus",
            "iam:ListRoles",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateRole",
        ],
        &[ROLE],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_iam_service_linked_role")
        .doc("An IAM service-linked role, made by IAM for an AWS service.")
        .attr(
            AttrSchema::required("aws_service_name", AttrType::String)
                .force_new()
                .doc("The service's principal (`autoscaling.amazonaws.com`)."),
        )
        .attr(
            AttrSchema::optional("custom_suffix", AttrType::String)
                .force_new()
                .doc("Appended to the role name after `_`, where the service allows several roles."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("The role's description."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The role's ARN (also its ID)."))
        .attr(AttrSchema::computed("name", AttrType::String).doc("The role's name."))
        .attr(AttrSchema::computed("path", AttrType::String).doc("The role's path."))
        .attr(AttrSchema::computed("unique_id", AttrType::String).doc("The stable unique ID."))
        .attr(
            AttrSchema::computed("create_date", AttrType::String).doc("Creation time (RFC 3339)."),
        )
        .taggable()
}

/// The role name at the end of a role ARN
/// (`arn:aws:iam::1:role/aws-service-role/SERVICE/NAME`).
fn role_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

/// The service and suffix of a service-linked role's path and name:
/// `/aws-service-role/SERVICE/` and `NAME_SUFFIX`.
fn service_and_suffix(role: &Role) -> (Option<&str>, Option<&str>) {
    let service = role
        .path()
        .strip_prefix("/aws-service-role/")
        .map(|p| p.trim_end_matches('/'));
    let suffix = role.role_name().split_once('_').map(|(_, s)| s);
    (service, suffix)
}

fn role_attrs(role: &Role) -> Value {
    let (service, suffix) = service_and_suffix(role);
    Value::map([
        ("id", Value::from(role.arn())),
        ("arn", Value::from(role.arn())),
        ("name", Value::from(role.role_name())),
        ("path", Value::from(role.path())),
        ("aws_service_name", s(service)),
        ("custom_suffix", s(suffix)),
        ("description", s(role.description())),
        ("unique_id", Value::from(role.role_id())),
        ("create_date", iam_date(Some(role.create_date()))),
        ("tags_all", tags_attr(iam_tag_map(role.tags()))),
    ])
}

/// The service's linked role with this suffix, if there is one (found by
/// its path: IAM names the role after the service in its own way).
async fn find(
    aws: &Aws,
    service: &str,
    suffix: Option<&str>,
) -> Result<Option<Role>, ProviderError> {
    let roles = aws
        .iam
        .list_roles()
        .path_prefix(format!("/aws-service-role/{service}/"))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "ListRoles")?;
    let Some(listed) = roles.into_iter().find(|r| {
        let (of, with) = service_and_suffix(r);
        of == Some(service) && with == suffix
    }) else {
        return Ok(None);
    };
    // ListRoles leaves tags out.
    found(get_role(aws, listed.role_name()).await)
}

async fn reconcile_tags(
    aws: &Aws,
    name: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.iam
                .untag_role()
                .role_name(name)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(IAM, "UntagRole")
                .map(|_| ())
        },
        |tags| async move {
            aws.iam
                .tag_role()
                .role_name(name)
                .set_tags(Some(iam_tags(&tags, "TagRole")?))
                .send()
                .await
                .aws(IAM, "TagRole")
                .map(|_| ())
        },
    )
    .await
}

/// What a deletion task's status means: `Some(true)` done, `Some(false)`
/// still running, `None` failed.
fn deletion_done(status: &DeletionTaskStatusType) -> Option<bool> {
    match status {
        DeletionTaskStatusType::Succeeded => Some(true),
        DeletionTaskStatusType::Failed => None,
        _ => Some(false),
    }
}

pub(crate) struct ServiceLinkedRole;

#[async_trait]
impl ResourceHandler for ServiceLinkedRole {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // No batch read: one GetRole per known role.
        read_each(&req.known, |k| async move {
            let role = found(get_role(aws, role_name(&k.id)).await)?;
            Ok(role.map(|role| {
                let attrs = role_attrs(&role);
                LiveResource {
                    id: k.id.clone(),
                    address: address_of(&k.id, &live_tags(&attrs), &req.known),
                    attrs,
                }
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let service = required(d, "aws_service_name", IAM, "CreateServiceLinkedRole")?;
        let suffix = opt_str(d, "custom_suffix");
        let call = aws
            .iam
            .create_service_linked_role()
            .aws_service_name(service)
            .set_custom_suffix(suffix.map(str::to_string))
            .set_description(opt_str(d, "description").map(str::to_string));
        let role = match retry(&deadline, || async {
            call.clone().send().await.aws(IAM, "CreateServiceLinkedRole")
        })
        .await
        {
            Ok(out) => out.role().cloned().ok_or_else(|| {
                invalid(IAM, "CreateServiceLinkedRole", "the answer carries no role")
            })?,
            // IAM answers InvalidInput "has been taken" for a role that
            // exists: look for it.
            Err(e) if e.message.contains("taken") || e.message.contains("exists") => {
                let existing = find(aws, service, suffix).await?.ok_or(e)?;
                let live = iam_tag_map(existing.tags());
                let untagged_and_new = !live.keys().any(|k| k.starts_with("stackd:"))
                    && made_by_this_create(
                        existing.create_date().secs(),
                        req.pending_since.as_deref(),
                    );
                if !ours(&live, &req.owner, &req.address) && !untagged_and_new {
                    return Err(invalid(
                        IAM,
                        "CreateServiceLinkedRole",
                        conflict(
                            "service-linked role",
                            existing.role_name(),
                            &live,
                            &req.owner,
                        ) + " (import it by its ARN)",
                    ));
                }
                tracing::info!(role = existing.role_name(), "adopting the role an earlier attempt created");
                existing
            }
            Err(e) => return Err(e),
        };
        let name = role.role_name().to_string();
        let arn = role.arn().to_string();
        // The create takes no tags: they follow.
        reconcile_tags(aws, &name, &role_attrs(&role), d, &deadline)
            .await
            .map_err(|e| after_create(&arn, e))?;
        until(
            &deadline,
            "GetRole",
            &format!("role {name} to be readable"),
            || async { found(get_role(aws, &name).await) },
        )
        .await
        .map(|role| role_attrs(&role))
        .map_err(|e| after_create(&arn, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), IAM, "UpdateRole")?;
        let name = role_name(arn);
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req.changed.iter().any(|c| c == "description") {
            aws.iam
                .update_role()
                .role_name(name)
                .description(opt_str(d, "description").unwrap_or(""))
                .send()
                .await
                .aws(IAM, "UpdateRole")?;
        }
        reconcile_tags(aws, name, &prior, d, &deadline).await?;
        Ok(role_attrs(&get_role(aws, name).await?))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let sent = found(
            aws.iam
                .delete_service_linked_role()
                .role_name(role_name(&req.id))
                .send()
                .await
                .aws(IAM, "DeleteServiceLinkedRole"),
        )?;
        let Some(out) = sent else {
            return Ok(());
        };
        let task = out.deletion_task_id();
        until(
            &deadline,
            "GetServiceLinkedRoleDeletionStatus",
            &format!("deletion task {task} to succeed"),
            || async {
                let status = aws
                    .iam
                    .get_service_linked_role_deletion_status()
                    .deletion_task_id(task)
                    .send()
                    .await
                    .aws(IAM, "GetServiceLinkedRoleDeletionStatus")?;
                match deletion_done(status.status()) {
                    Some(done) => Ok(done.then_some(())),
                    None => {
                        let reason = status
                            .reason()
                            .and_then(|r| r.reason())
                            .unwrap_or("no reason given");
                        Err(ProviderError::new(
                            ErrorKind::Permanent,
                            IAM,
                            "GetServiceLinkedRoleDeletionStatus",
                            format!(
                                "deleting {} failed: {reason} (resources of the service still \
                                 use the role: delete them first)",
                                req.id
                            ),
                        ))
                    }
                }
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    fn role(name: &str) -> Role {
        Role::builder()
            .role_name(name)
            .path("/aws-service-role/autoscaling.amazonaws.com/")
            .role_id("AROA1")
            .arn(format!(
                "arn:aws:iam::1:role/aws-service-role/autoscaling.amazonaws.com/{name}"
            ))
            .create_date(DateTime::from_secs(1_700_000_000))
            .build()
            .unwrap()
    }

    #[test]
    fn the_service_and_suffix_come_from_path_and_name() {
        let v = role_attrs(&role("AWSServiceRoleForAutoScaling_web"));
        assert_eq!(
            v.get("aws_service_name"),
            Some(&Value::from("autoscaling.amazonaws.com"))
        );
        assert_eq!(v.get("custom_suffix"), Some(&Value::from("web")));
        let v = role_attrs(&role("AWSServiceRoleForAutoScaling"));
        assert_eq!(v.get("custom_suffix"), Some(&Value::Null));
        assert_eq!(
            role_name("arn:aws:iam::1:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX"),
            "AWSServiceRoleForX"
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn deletion_tasks_end_in_success_or_failure() {
        assert_eq!(deletion_done(&DeletionTaskStatusType::Succeeded), Some(true));
        assert_eq!(deletion_done(&DeletionTaskStatusType::InProgress), Some(false));
        assert_eq!(deletion_done(&DeletionTaskStatusType::NotStarted), Some(false));
        assert_eq!(deletion_done(&DeletionTaskStatusType::Failed), None);
    }
}
