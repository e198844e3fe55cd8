//! ecr: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        ecr_repository,
        ecr_lifecycle_policy,
        ecr_repository_policy,
    ],
    data: [
        ecr_repository_data,
    ],
}

/// The service: the `Aws` client field `ecr`, IAM prefix `ecr`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "ecr",
    iam_prefix: "ecr",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[
        "RepositoryNotFoundException",
        "LifecyclePolicyNotFoundException",
    ],
    arns: &[REPOSITORY],
};

pub(crate) const REPOSITORY: ArnPattern = arn(
    "Repository",
    "arn:${partition}:ecr:${region}:${account}:repository/*",
);
