//! servicediscovery (AWS Cloud Map): private DNS namespaces and the
//! services ECS registers its tasks in, and what both types share (tags,
//! the wait for an asynchronous operation).
//!
//! Namespace changes are asynchronous: `CreatePrivateDnsNamespace`,
//! `UpdatePrivateDnsNamespace`, `DeleteNamespace` and `UpdateService`
//! answer an operation ID, polled with `GetOperation` until it succeeds or
//! fails. Both types refresh with one list chain (`ListNamespaces`,
//! `ListServices`); Cloud Map has no batch form of `ListTagsForResource`,
//! so tags are read per object,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::BTreeMap;

use aws_sdk_servicediscovery::types::{OperationStatus, OperationTargetType, Tag};
use stackd_engine::provider::{ErrorKind, ProviderError};
use stackd_spec::Value;

use crate::context::Aws;
use crate::iam_util::{invalid, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;
use crate::tags::{is_hidden_tag, reconcile_by};
use crate::wait::{until, Deadline};

types! {
    managed: [
        service_discovery_private_dns_namespace,
        service_discovery_service,
    ],
    data: [],
}

/// The service: the `Aws` client field `servicediscovery`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "servicediscovery",
    iam_prefix: "servicediscovery",
    // Cloud Map's codes for a namespace, service or operation that does not
    // exist are `NamespaceNotFound`, `ServiceNotFound`, `OperationNotFound`
    // (the `…NotFound` rule covers them).
    not_found: &[],
    arns: &[NAMESPACE, DISCOVERY_SERVICE],
};

/// The service name errors carry.
pub(crate) const SD: &str = "servicediscovery";

pub(crate) const NAMESPACE: ArnPattern = arn(
    "Namespace",
    "arn:${partition}:servicediscovery:${region}:${account}:namespace/*",
);
pub(crate) const DISCOVERY_SERVICE: ArnPattern = arn(
    "Service",
    "arn:${partition}:servicediscovery:${region}:${account}:service/*",
);

/// Cloud Map tags as a map, without the hidden ones.
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .filter(|(k, _)| !is_hidden_tag(k))
        .collect()
}

/// Tags for a Cloud Map request.
pub(crate) fn sdk_tags(
    tags: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(SD, operation, e.to_string()))
        })
        .collect()
}

/// The tags of the namespace or service with this ARN.
pub(crate) async fn tags_of(
    aws: &Aws,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .servicediscovery
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(SD, "ListTagsForResource")?;
    Ok(tag_map(out.tags()))
}

/// Brings the tags of `arn` from `prior`'s `tags_all` to `desired`'s.
pub(crate) async fn reconcile_tags(
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
            aws.servicediscovery
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(SD, "UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.servicediscovery
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sdk_tags(&tags, "TagResource")?))
                .send()
                .await
                .aws(SD, "TagResource")
                .map(|_| ())
        },
    )
    .await
}

/// Runs a delete until Cloud Map stops answering `ResourceInUse` (a
/// namespace whose services, or a service whose instances, were removed a
/// moment ago and are still counted), within the deadline. A delete of
/// something already gone answers `None`.
pub(crate) async fn delete_when_free<T, F, Fut>(
    deadline: &Deadline,
    what: &str,
    mut delete: F,
) -> Result<Option<T>, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    until(
        deadline,
        "Delete",
        &format!("{what} to be free to delete"),
        || {
            let sent = delete();
            async move {
                match sent.await {
                    Ok(out) => Ok(Some(Some(out))),
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(Some(None)),
                    Err(e) if crate::error::has_code(&e, "ResourceInUse") => {
                        tracing::debug!(error = %e, "{what} still in use");
                        Ok(None)
                    }
                    Err(e) => Err(e),
                }
            }
        },
    )
    .await
}

/// What an operation's status means: `Some(true)` done, `Some(false)`
/// still running, `None` failed.
fn operation_done(status: Option<&OperationStatus>) -> Option<bool> {
    match status {
        Some(OperationStatus::Success) => Some(true),
        Some(OperationStatus::Fail) => None,
        _ => Some(false),
    }
}

/// Waits until the asynchronous operation `id` succeeds; its target of
/// `target` type (the namespace an operation created), when it names one.
/// A failed operation is a permanent error with Cloud Map's message.
pub(crate) async fn wait_operation(
    aws: &Aws,
    id: &str,
    target: OperationTargetType,
    deadline: &Deadline,
) -> Result<Option<String>, ProviderError> {
    until(
        deadline,
        "GetOperation",
        &format!("Cloud Map operation {id} to succeed"),
        || async {
            let out = aws
                .servicediscovery
                .get_operation()
                .operation_id(id)
                .send()
                .await
                .aws(SD, "GetOperation")?;
            let Some(op) = out.operation() else {
                return Ok(None);
            };
            match operation_done(op.status()) {
                Some(true) => Ok(Some(op.targets().and_then(|t| t.get(&target)).cloned())),
                Some(false) => Ok(None),
                None => Err(ProviderError::new(
                    ErrorKind::Permanent,
                    SD,
                    "GetOperation",
                    format!(
                        "operation {id} failed: {} {}",
                        op.error_code().unwrap_or(""),
                        op.error_message().unwrap_or("")
                    ),
                )),
            }
        },
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operations_end_in_success_or_failure() {
        assert_eq!(operation_done(Some(&OperationStatus::Success)), Some(true));
        assert_eq!(operation_done(Some(&OperationStatus::Pending)), Some(false));
        assert_eq!(
            operation_done(Some(&OperationStatus::Submitted)),
            Some(false)
        );
        assert_eq!(operation_done(Some(&OperationStatus::Fail)), None);
        assert_eq!(operation_done(None), Some(false));
    }

    #[test]
    fn hidden_tags_are_left_out() {
        let tags = [
            Tag::builder().key("team").value("web").build().unwrap(),
            Tag::builder().key("aws:x").value("y").build().unwrap(),
        ];
        assert_eq!(
            tag_map(&tags),
            BTreeMap::from([("team".to_string(), "web".to_string())])
        );
    }
}
