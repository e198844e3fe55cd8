//! CloudTrail: trails, which deliver the account's API activity to an S3
//! bucket (and optionally CloudWatch Logs).

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        cloudtrail,
    ],
    data: [],
}

/// The service: the `Aws` client field `cloudtrail`, IAM prefix
/// `cloudtrail`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "cloudtrail",
    iam_prefix: "cloudtrail",
    not_found: &["TrailNotFoundException"],
    arns: &[TRAIL],
};

/// The service name errors carry.
pub(crate) const CLOUDTRAIL: &str = "cloudtrail";

pub(crate) const TRAIL: ArnPattern = arn(
    "Trail",
    "arn:${partition}:cloudtrail:${region}:${account}:trail/*",
);
