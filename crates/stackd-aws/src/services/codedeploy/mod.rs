//! codedeploy: applications and deployment groups, and what the two types
//! share: error classification, ARNs, tags (read with
//! `ListTagsForResource`, one resource a call: CodeDeploy's batch reads
//! carry no tags) and the adoption of an object an earlier attempt made.

use std::collections::BTreeMap;

use aws_sdk_codedeploy::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_codedeploy::operation::RequestId;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use stackd_engine::provider::{ErrorKind, ProviderError};
use stackd_spec::Value;

use crate::context::Aws;
use crate::iam_util::sdk_error;
use crate::policy::{arn, ArnPattern};
use crate::services::Service;
use crate::tags::desired_tags;
use crate::wait::Deadline;

types! {
    managed: [
        codedeploy_app,
        codedeploy_deployment_group,
    ],
    data: [],
}

/// The service: the `Aws` client field `codedeploy`, IAM prefix `codedeploy`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "codedeploy",
    iam_prefix: "codedeploy",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[
        "ApplicationDoesNotExistException",
        "DeploymentGroupDoesNotExistException",
    ],
    arns: &[APPLICATION, DEPLOYMENT_GROUP],
};

/// The service name CodeDeploy errors carry.
pub(crate) const CODEDEPLOY: &str = "codedeploy";

pub(crate) const APPLICATION: ArnPattern = arn(
    "Application",
    "arn:${partition}:codedeploy:${region}:${account}:application:*",
);
pub(crate) const DEPLOYMENT_GROUP: ArnPattern = arn(
    "DeploymentGroup",
    "arn:${partition}:codedeploy:${region}:${account}:deploymentgroup:*",
);

/// `.codedeploy("CreateApplication")?` on the result of an SDK call.
pub(crate) trait CodedeployResult<T> {
    fn codedeploy(self, operation: &str) -> Result<T, ProviderError>;
}

impl<T, E> CodedeployResult<T> for Result<T, SdkError<E, HttpResponse>>
where
    E: ProvideErrorMetadata + RequestId + std::error::Error + Send + Sync + 'static,
{
    fn codedeploy(self, operation: &str) -> Result<T, ProviderError> {
        self.map_err(|e| reclassify(sdk_error(CODEDEPLOY, operation, e)))
    }
}

/// CodeDeploy's codes the shared table does not know: a batch read naming
/// an application that does not exist answers "does not exist" (gone, not
/// "not visible yet"); a service role created a moment ago is refused with
/// `InvalidRoleException` until IAM has propagated it (the Terraform
/// provider retries it too).
fn reclassify(mut err: ProviderError) -> ProviderError {
    let code = err.code.clone().unwrap_or_default();
    if err.operation.starts_with("BatchGet") && crate::services::is_not_found_code(&code) {
        err.kind = ErrorKind::NotFound;
    } else if code == "InvalidRoleException"
        && (err.operation.starts_with("Create") || err.operation.starts_with("Update"))
    {
        err.kind = ErrorKind::Transient;
    } else if crate::cicd_util::is_unimplemented(&err) {
        err.kind = ErrorKind::Permanent;
    }
    err
}

/// An application's ARN (`...:application:NAME`), as the Terraform
/// provider builds it.
pub(crate) async fn application_arn(aws: &Aws, name: &str) -> Result<String, ProviderError> {
    let account = aws.account_id().await?;
    Ok(aws
        .loc
        .arn("codedeploy", &account, &format!("application:{name}")))
}

/// A deployment group's ARN (`...:deploymentgroup:APP/GROUP`).
pub(crate) async fn deployment_group_arn(
    aws: &Aws,
    app: &str,
    group: &str,
) -> Result<String, ProviderError> {
    let account = aws.account_id().await?;
    Ok(aws.loc.arn(
        "codedeploy",
        &account,
        &format!("deploymentgroup:{app}/{group}"),
    ))
}

/// A resource's tags (`ListTagsForResource`, every page).
pub(crate) async fn tags_of(
    aws: &Aws,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut tags = BTreeMap::new();
    let mut token: Option<String> = None;
    loop {
        let out = aws
            .codedeploy
            .list_tags_for_resource()
            .resource_arn(arn)
            .set_next_token(token.clone())
            .send()
            .await
            .codedeploy("ListTagsForResource")?;
        for t in out.tags() {
            if let Some(k) = t.key() {
                tags.insert(k.to_string(), t.value().unwrap_or_default().to_string());
            }
        }
        match out.next_token() {
            Some(next) if !next.is_empty() && token.as_deref() != Some(next) => {
                token = Some(next.to_string())
            }
            _ => return Ok(tags),
        }
    }
}

/// The desired `tags_all` as the API takes them.
pub(crate) fn sdk_tags(desired: &Value) -> Vec<aws_sdk_codedeploy::types::Tag> {
    desired_tags(desired)
        .into_iter()
        .map(|(k, v)| {
            aws_sdk_codedeploy::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
        })
        .collect()
}

/// Brings a resource's tags from `prior` to `desired` (`UntagResource`,
/// then `TagResource`).
pub(crate) async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    crate::tags::reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.codedeploy
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .codedeploy("UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            let tags = tags
                .into_iter()
                .map(|(k, v)| {
                    aws_sdk_codedeploy::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                })
                .collect();
            aws.codedeploy
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .codedeploy("TagResource")
                .map(|_| ())
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(operation: &str, code: &str) -> ProviderError {
        ProviderError::new(ErrorKind::Permanent, CODEDEPLOY, operation, "x").with_code(code)
    }

    #[test]
    fn a_batch_read_of_a_missing_application_means_gone() {
        let e = reclassify(err(
            "BatchGetApplications",
            "ApplicationDoesNotExistException",
        ));
        assert_eq!(e.kind, ErrorKind::NotFound);
    }

    #[test]
    fn a_role_not_yet_assumable_is_retried_on_create_and_update_only() {
        let e = reclassify(err("CreateDeploymentGroup", "InvalidRoleException"));
        assert_eq!(e.kind, ErrorKind::Transient);
        let e = reclassify(err("DeleteDeploymentGroup", "InvalidRoleException"));
        assert_eq!(e.kind, ErrorKind::Permanent);
    }
}
