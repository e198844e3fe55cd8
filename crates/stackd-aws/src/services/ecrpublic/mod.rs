//! ecrpublic: the service definition, its ARN patterns, and one module per
//! type. ECR Public's API is served in us-east-1 only: the provider's
//! region must be that one, as with the Terraform provider.

use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        ecrpublic_repository,
    ],
    data: [],
}

/// The service: the `Aws` client field `ecrpublic`, IAM prefix `ecr-public`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "ecrpublic",
    iam_prefix: "ecr-public",
    // Error codes beyond `…NotFound` meaning the object does not exist
    // (`RepositoryNotFoundException` ends otherwise).
    not_found: &[
        "RepositoryNotFoundException",
        "RepositoryCatalogDataNotFoundException",
    ],
    arns: &[REPOSITORY],
};

/// The service name its errors carry.
pub(crate) const ECRPUBLIC: &str = "ecr-public";

pub(crate) const REPOSITORY: ArnPattern = arn(
    "Repository",
    "arn:${partition}:ecr-public::${account}:repository/*",
);
