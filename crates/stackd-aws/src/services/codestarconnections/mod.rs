//! codestarconnections: the service definition, its ARN patterns, and one
//! module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        codestarconnections_connection,
    ],
    data: [],
}

/// The service: the `Aws` client field `codestarconnections`, IAM prefix
/// `codestar-connections`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "codestarconnections",
    iam_prefix: "codestar-connections",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[CONNECTION],
};

/// The service name its errors carry.
pub(crate) const CODESTAR: &str = "codestar-connections";

pub(crate) const CONNECTION: ArnPattern = arn(
    "Connection",
    "arn:${partition}:codestar-connections:${region}:${account}:connection/*",
);
