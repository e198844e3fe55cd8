//! codepipeline: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        pipeline,
        codepipeline_webhook,
    ],
    data: [],
}

/// The service: the `Aws` client field `codepipeline`, IAM prefix `codepipeline`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "codepipeline",
    iam_prefix: "codepipeline",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[PIPELINE, CODESTAR_CONNECTION, CODECONNECTIONS_CONNECTION],
};

/// A pipeline's ARN is its name right after the account.
pub(crate) const PIPELINE: ArnPattern = arn(
    "Pipeline",
    "arn:${partition}:codepipeline:${region}:${account}:*",
);
pub(crate) const CODESTAR_CONNECTION: ArnPattern = arn(
    "Connection",
    "arn:${partition}:codestar-connections:${region}:${account}:connection/*",
);
pub(crate) const CODECONNECTIONS_CONNECTION: ArnPattern = arn(
    "Connection",
    "arn:${partition}:codeconnections:${region}:${account}:connection/*",
);
