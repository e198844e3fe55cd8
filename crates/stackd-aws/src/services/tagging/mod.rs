//! tag: the Resource Groups Tagging API. It serves no type of its own: types
//! read the tags of many of their objects through it in one call chain
//! (`tags::stack_tags_by_arn`) instead of one tags call per object.

use crate::services::Service;

types! {
    managed: [],
    data: [],
}

/// The service: the `Aws` client field `tagging`, IAM prefix `tag`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "tagging",
    iam_prefix: "tag",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &[],
    arns: &[],
};
