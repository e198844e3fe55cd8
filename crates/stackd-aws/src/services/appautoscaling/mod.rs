//! Application Auto Scaling: scalable targets (an ECS service's desired
//! count, a DynamoDB table's capacity...), their scaling policies and
//! scheduled actions.
//!
//! A target is named by its service namespace, resource ID and scalable
//! dimension; policies and scheduled actions by those and their own name.
//! Every read is a `Describe*` of one namespace, filtered by resource IDs
//! (or names): a refresh is one paginated chain per namespace in the state.

use aws_sdk_applicationautoscaling::types::{ScalableDimension, ServiceNamespace};
use stackd_engine::provider::ProviderError;

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        appautoscaling_target,
        appautoscaling_policy,
        appautoscaling_scheduled_action,
    ],
    data: [],
}

/// The service: the `Aws` client field `appautoscaling`, IAM prefix
/// `application-autoscaling`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "appautoscaling",
    iam_prefix: "application-autoscaling",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["ObjectNotFoundException"],
    arns: &[SCALABLE_TARGET],
};

/// The service name errors carry.
pub(crate) const APPAUTOSCALING: &str = "application-autoscaling";

/// Scalable targets, whose IDs AWS generates.
pub(crate) const SCALABLE_TARGET: ArnPattern = arn(
    "ScalableTarget",
    "arn:${partition}:application-autoscaling:${region}:${account}:scalable-target/*",
);

/// The service namespace argument as the SDK's enum, refused when AWS does
/// not know it.
pub(crate) fn namespace(value: &str, operation: &str) -> Result<ServiceNamespace, ProviderError> {
    match ServiceNamespace::values().contains(&value) {
        false => Err(crate::iam_util::invalid(
            APPAUTOSCALING,
            operation,
            format!(
                "service_namespace {value:?} is not one of {}",
                ServiceNamespace::values().join(", ")
            ),
        )),
        true => Ok(ServiceNamespace::from(value)),
    }
}

/// The scalable dimension argument as the SDK's enum.
pub(crate) fn dimension(value: &str, operation: &str) -> Result<ScalableDimension, ProviderError> {
    match ScalableDimension::values().contains(&value) {
        false => Err(crate::iam_util::invalid(
            APPAUTOSCALING,
            operation,
            format!("scalable_dimension {value:?} is not one Application Auto Scaling knows"),
        )),
        true => Ok(ScalableDimension::from(value)),
    }
}

/// Splits Terraform's import ID `NAMESPACE/RESOURCE_ID/DIMENSION[/NAME]`:
/// the resource ID has slashes of its own (`service/cluster/app`), the
/// dimension none, and the namespace none.
pub(crate) fn split_import_id(id: &str, named: bool) -> Option<(String, String, String, String)> {
    let (namespace, rest) = id.split_once('/')?;
    let (rest, name) = if named {
        let (rest, name) = rest.rsplit_once('/')?;
        (rest, name.to_string())
    } else {
        (rest, String::new())
    };
    let (resource_id, dimension) = rest.rsplit_once('/')?;
    if namespace.is_empty() || resource_id.is_empty() || !dimension.contains(':') {
        return None;
    }
    Some((
        namespace.to_string(),
        resource_id.to_string(),
        dimension.to_string(),
        name,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_split_around_the_slashes_of_the_resource_id() {
        assert_eq!(
            split_import_id("ecs/service/prod/api/ecs:service:DesiredCount", false),
            Some((
                "ecs".into(),
                "service/prod/api".into(),
                "ecs:service:DesiredCount".into(),
                String::new()
            ))
        );
        assert_eq!(
            split_import_id("ecs/service/prod/api/ecs:service:DesiredCount/cpu", true),
            Some((
                "ecs".into(),
                "service/prod/api".into(),
                "ecs:service:DesiredCount".into(),
                "cpu".into()
            ))
        );
        assert_eq!(split_import_id("service/prod/api", false), None);
    }

    #[test]
    fn unknown_namespaces_are_refused_by_name() {
        assert!(namespace("ecs", "X").is_ok());
        let e = namespace("ecz", "X").unwrap_err();
        assert!(e.message.contains("\"ecz\""), "{}", e.message);
    }
}
