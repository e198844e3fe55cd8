//! codebuild: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        codebuild_project,
        codebuild_webhook,
    ],
    data: [],
}

/// The service: the `Aws` client field `codebuild`, IAM prefix `codebuild`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "codebuild",
    iam_prefix: "codebuild",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[PROJECT],
};

pub(crate) const PROJECT: ArnPattern = arn(
    "Project",
    "arn:${partition}:codebuild:${region}:${account}:project/*",
);
