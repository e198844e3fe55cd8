//! ssm: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        ssm_parameter,
    ],
    data: [
        ssm_parameter_data,
    ],
}

/// The service: the `Aws` client field `ssm`, IAM prefix `ssm`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "ssm",
    iam_prefix: "ssm",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["ParameterNotFound", "InvalidResourceId"],
    arns: &[PARAMETER, AWS_PUBLIC_PARAMETER],
};

pub(crate) const PARAMETER: ArnPattern = arn(
    "Parameter",
    "arn:${partition}:ssm:${region}:${account}:parameter/*",
);
/// AWS's public parameters (`/aws/service/ami-amazon-linux-latest/...`),
/// which have no account in their ARN.
pub(crate) const AWS_PUBLIC_PARAMETER: ArnPattern = arn(
    "AwsPublicParameter",
    "arn:${partition}:ssm:${region}::parameter/aws/service/*",
);
