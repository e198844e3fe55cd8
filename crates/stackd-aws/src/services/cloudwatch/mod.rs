//! CloudWatch (metrics): alarms and dashboards.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        cloudwatch_dashboard,
        cloudwatch_metric_alarm,
    ],
    data: [],
}

/// The service: the `Aws` client field `cloudwatch`, IAM prefix
/// `cloudwatch`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "cloudwatch",
    iam_prefix: "cloudwatch",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["ResourceNotFound"],
    arns: &[ALARM, DASHBOARD],
};

/// Metric alarms, by name.
pub(crate) const ALARM: ArnPattern = arn(
    "Alarm",
    "arn:${partition}:cloudwatch:${region}:${account}:alarm:*",
);

/// Dashboards, by name (a global resource: no region in its ARN).
pub(crate) const DASHBOARD: ArnPattern = arn(
    "Dashboard",
    "arn:${partition}:cloudwatch::${account}:dashboard/*",
);
