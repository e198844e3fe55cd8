//! sts: the service definition, its ARN patterns, and one module per type.

use crate::services::Service;

types! {
    managed: [],
    data: [
        caller_identity,
        region,
        partition,
    ],
}

/// The service: the `Aws` client field `sts`, IAM prefix `sts`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "sts",
    iam_prefix: "sts",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[],
};
