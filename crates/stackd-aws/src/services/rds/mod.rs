//! RDS: DB instances and the subnet and parameter groups they use. What
//! the three types share is here: RDS tags (by ARN, given in the create
//! call itself), the name a create adopts after a lost answer, and ARNs.

use std::collections::BTreeMap;

use aws_sdk_rds::types::Tag;
use stackd_engine::provider::{ChangeRequest, ProviderError};
use stackd_spec::Value;

use crate::context::Aws;
use crate::iam_util::{conflict, invalid, ours, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;
use crate::tags::{desired_tags, reconcile_by};
use crate::wait::Deadline;

types! {
    managed: [
        db_subnet_group,
        db_parameter_group,
        db_instance,
    ],
    data: [],
}

/// The service: the `Aws` client field `rds`, IAM prefix `rds`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "rds",
    iam_prefix: "rds",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["DBSubnetGroupNotFoundFault"],
    arns: &[DB, SUBNET_GROUP, PARAMETER_GROUP, SNAPSHOT],
};

/// The service name errors carry.
pub(crate) const RDS: &str = "rds";

pub(crate) const DB: ArnPattern = arn("Db", "arn:${partition}:rds:${region}:${account}:db:*");
/// A DB snapshot (an instance restored from one).
pub(crate) const SNAPSHOT: ArnPattern = arn(
    "Snapshot",
    "arn:${partition}:rds:${region}:${account}:snapshot:*",
);
pub(crate) const SUBNET_GROUP: ArnPattern = arn(
    "SubnetGroup",
    "arn:${partition}:rds:${region}:${account}:subgrp:*",
);
pub(crate) const PARAMETER_GROUP: ArnPattern = arn(
    "ParameterGroup",
    "arn:${partition}:rds:${region}:${account}:pg:*",
);

/// The tags a create gives the object (`tags_all`, ownership tags
/// included), in RDS's shape.
pub(crate) fn rds_tags(desired: &Value) -> Vec<Tag> {
    desired_tags(desired)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// RDS tags as a map.
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect()
}

/// One object's tags. Subnet and parameter group descriptions carry no
/// tags, so this is one call per group (DB instances carry theirs in
/// `TagList`).
pub(crate) async fn tags_of(
    aws: &Aws,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .rds
        .list_tags_for_resource()
        .resource_name(arn)
        .send()
        .await
        .aws(RDS, "ListTagsForResource")?;
    Ok(tag_map(out.tag_list()))
}

/// Brings an object's tags from `prior` to `desired`.
pub(crate) async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.rds
                .remove_tags_from_resource()
                .resource_name(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(RDS, "RemoveTagsFromResource")
                .map(|_| ())
        },
        |tags| async move {
            let tags = tags
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect();
            aws.rds
                .add_tags_to_resource()
                .resource_name(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .aws(RDS, "AddTagsToResource")
                .map(|_| ())
        },
    )
    .await
}

/// Whether a create whose name is taken (`…AlreadyExists`) may adopt the
/// existing object `live` (its attributes, `tags_all` included): only when
/// its tags say it was made for this address of this stack, and it already
/// is what the spec asks for in every argument that forces replacement
/// (else it is the old object of a replacement under the same name).
/// Names are unique per account and region, so the create itself is safe
/// to send again; this decides what its refusal means.
pub(crate) fn adoptable(
    req: &ChangeRequest,
    schema: &stackd_spec::ResourceSchema,
    live: &Value,
    operation: &str,
    what: &str,
    name: &str,
) -> Result<(), ProviderError> {
    let tags = crate::iam_util::live_tags(live);
    if !ours(&tags, &req.owner, &req.address) {
        return Err(invalid(
            RDS,
            operation,
            conflict(what, name, &tags, &req.owner),
        ));
    }
    crate::elbv2_ecs_util::check_adoptable(schema, &req.desired, live, operation, what)?;
    tracing::info!(
        name,
        "adopting the {what} an earlier attempt of this create made"
    );
    Ok(())
}

/// RDS's "not in a state for this yet" codes: an instance still creating,
/// modifying or backing up, a group still held by an instance being
/// deleted. They pass with time, so they are retried within the
/// operation's deadline.
const BUSY_CODES: &[&str] = &[
    "InvalidDBInstanceState",
    "InvalidDBSubnetGroupStateFault",
    "InvalidDBParameterGroupState",
];

/// An error whose code is one of [`BUSY_CODES`] made transient.
pub(crate) fn in_use_is_transient(mut e: ProviderError) -> ProviderError {
    if e.code.as_deref().is_some_and(|c| BUSY_CODES.contains(&c)) {
        e.kind = stackd_engine::provider::ErrorKind::Transient;
    }
    e
}
