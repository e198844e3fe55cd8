//! EC2 Auto Scaling: groups of instances launched from a launch template
//! or a launch configuration, and their scaling policies. What both types share is here: the ARNs,
//! the service's error codes, and its "not found" answers (it has no
//! `…NotFound` codes: a missing group or policy is a `ValidationError`
//! saying so).

use stackd_engine::provider::{ErrorKind, ProviderError};

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        autoscaling_group,
        autoscaling_policy,
        launch_configuration,
    ],
    data: [],
}

/// The service: the `Aws` client field `autoscaling`, IAM prefix
/// `autoscaling`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "autoscaling",
    iam_prefix: "autoscaling",
    not_found: &[],
    arns: &[GROUP, LAUNCH_CONFIGURATION],
};

/// The service name errors carry.
pub(crate) const AUTOSCALING: &str = "autoscaling";

/// A group; its policies are authorized on the group.
pub(crate) const GROUP: ArnPattern = arn(
    "AutoScalingGroup",
    "arn:${partition}:autoscaling:${region}:${account}:autoScalingGroup:*:autoScalingGroupName/*",
);

/// A launch configuration.
pub(crate) const LAUNCH_CONFIGURATION: ArnPattern = arn(
    "LaunchConfiguration",
    "arn:${partition}:autoscaling:${region}:${account}:launchConfiguration:*:launchConfigurationName/*",
);

/// True when `e` says the group or policy it names does not exist
/// (`ValidationError` "… not found").
pub(crate) fn is_missing(e: &ProviderError) -> bool {
    e.kind == ErrorKind::NotFound
        || (e.code.as_deref() == Some("ValidationError")
            && e.message.to_ascii_lowercase().contains("not found"))
}

/// "Not found" answers as success (the object is gone already).
pub(crate) fn ignore_missing(r: Result<(), ProviderError>) -> Result<(), ProviderError> {
    match r {
        Err(e) if is_missing(&e) => Ok(()),
        other => other,
    }
}

/// Auto Scaling's "busy" codes: a scaling activity or an update of the
/// same group in progress. They pass with time, so they are retried within
/// the operation's deadline.
pub(crate) fn busy_is_transient(mut e: ProviderError) -> ProviderError {
    if e.code.as_deref().is_some_and(|c| {
        matches!(
            c,
            "ScalingActivityInProgress" | "ResourceInUse" | "ResourceContention"
        )
    }) {
        e.kind = ErrorKind::Transient;
    }
    e
}
