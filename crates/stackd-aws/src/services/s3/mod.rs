//! s3: the service definition, its ARN patterns, and one module per type.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        s3_bucket,
        s3_bucket_versioning,
        s3_bucket_lifecycle_configuration,
        s3_bucket_public_access_block,
        s3_bucket_policy,
    ],
    data: [
        terraform_remote_state,
    ],
}

/// The service: the `Aws` client field `s3`, IAM prefix `s3`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "s3",
    iam_prefix: "s3",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[
        "NoSuchBucket",
        "NotFound",
        "NoSuchLifecycleConfiguration",
        "NoSuchPublicAccessBlockConfiguration",
    ],
    arns: &[BUCKET, OBJECT],
};

pub(crate) const BUCKET: ArnPattern = arn("Bucket", "arn:${partition}:s3:::*");
pub(crate) const OBJECT: ArnPattern = arn("Object", "arn:${partition}:s3:::*/*");
