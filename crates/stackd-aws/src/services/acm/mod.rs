//! ACM: public certificates for load balancers, validated by DNS.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        acm_certificate,
        acm_certificate_validation,
    ],
    data: [
        acm_certificate_data,
    ],
}

/// The service: the `Aws` client field `acm`, IAM prefix `acm`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "acm",
    iam_prefix: "acm",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[CERTIFICATE],
};

/// The service name errors carry.
pub(crate) const ACM: &str = "acm";

pub(crate) const CERTIFICATE: ArnPattern = arn(
    "Certificate",
    "arn:${partition}:acm:${region}:${account}:certificate/*",
);
