//! logs: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        cloudwatch_log_group,
        cloudwatch_log_metric_filter,
        cloudwatch_log_stream,
    ],
    data: [],
}

/// The service: the `Aws` client field `logs`, IAM prefix `logs`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "logs",
    iam_prefix: "logs",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["ResourceNotFoundException"],
    arns: &[LOG_GROUP],
};

pub(crate) const LOG_GROUP: ArnPattern = arn(
    "LogGroup",
    "arn:${partition}:logs:${region}:${account}:log-group:*",
);
