//! `aws_s3_bucket_ownership_controls`: who owns the objects written to a
//! bucket (`BucketOwnerEnforced` turns ACLs off). Its ID, and import ID, is
//! the bucket name, as in Terraform.
//!
//! S3 has no batch read: a refresh calls `GetBucketOwnershipControls` per
//! known bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::{ObjectOwnership, OwnershipControls, OwnershipControlsRule};
use stackd_engine::provider::ProviderError;
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BucketSetting, SettingHandler};
use super::BUCKET;
use crate::args::{blocks, opt_str};
use crate::context::Aws;
use crate::iam_util::{found, ignore_gone, invalid, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::wait::{retry, Deadline};

const OP: &str = "PutBucketOwnershipControls";

/// `aws_s3_bucket_ownership_controls`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_ownership_controls",
    schema,
    handler: &SettingHandler::<S3BucketOwnershipControls>::NEW,
    grants: &[g(
        &[
            "s3:GetBucketOwnershipControls",
            "s3:GetBucketTagging",
            "s3:PutBucketOwnershipControls",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket_ownership_controls")
        .doc("The object ownership setting of an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .block(
            BlockSchema::new("rule", Nesting::Single).required().attr(
                AttrSchema::required("object_ownership", AttrType::String).check(Check::OneOf(
                    vec!["BucketOwnerPreferred", "ObjectWriter", "BucketOwnerEnforced"],
                )),
            ),
        )
}

fn ownership(d: &Value) -> String {
    blocks(d, "rule")
        .first()
        .and_then(|r| opt_str(r, "object_ownership"))
        .unwrap_or("BucketOwnerEnforced")
        .to_string()
}

fn controls_attrs(bucket: &str, object_ownership: &str) -> Value {
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        (
            "rule",
            Value::List(vec![Value::map([(
                "object_ownership",
                Value::from(object_ownership),
            )])]),
        ),
    ])
}

/// The bucket's ownership controls; `None` when it has none or the bucket
/// is gone.
async fn read(aws: &Aws, bucket: &str) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_ownership_controls()
            .bucket(bucket)
            .send()
            .await
            .aws(S3, "GetBucketOwnershipControls"),
    )?;
    Ok(out.and_then(|o| {
        o.ownership_controls()
            .and_then(|c| c.rules().first())
            .map(|r| controls_attrs(bucket, r.object_ownership().as_str()))
    }))
}

pub(crate) struct S3BucketOwnershipControls;

#[async_trait]
impl BucketSetting for S3BucketOwnershipControls {
    const PUT: &'static str = OP;
    const GET: &'static str = "GetBucketOwnershipControls";
    const WHAT: &'static str = "the ownership controls";

    async fn read(
        aws: &Aws,
        bucket: &str,
        _owner: Option<String>,
        _recorded: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        read(aws, bucket).await
    }

    async fn send_put(aws: &Aws, bucket: &str, d: &Value) -> Result<(), ProviderError> {
        let rule = OwnershipControlsRule::builder()
            .object_ownership(ObjectOwnership::from(ownership(d).as_str()))
            .build()
            .map_err(|e| invalid(S3, OP, e.to_string()))?;
        let controls = OwnershipControls::builder()
            .rules(rule)
            .build()
            .map_err(|e| invalid(S3, OP, e.to_string()))?;
        let call = aws
            .s3
            .put_bucket_ownership_controls()
            .bucket(bucket)
            .ownership_controls(controls);
        call.send().await.aws(S3, OP).map(|_| ())
    }

    fn applied(desired: &Value, live: &Value) -> bool {
        ownership(live) == ownership(desired)
    }

    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        deadline: &Deadline,
    ) -> Result<(), ProviderError> {
        // S3 refuses a change to ownership controls while another bucket
        // operation is in progress (OperationAborted): retried.
        ignore_gone(
            retry(deadline, || async {
                aws.s3
                    .delete_bucket_ownership_controls()
                    .bucket(bucket)
                    .set_expected_bucket_owner(owner.clone())
                    .send()
                    .await
                    .aws(S3, "DeleteBucketOwnershipControls")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_reads_back_in_schema_shape() {
        let v = controls_attrs("b", "ObjectWriter");
        assert_eq!(ownership(&v), "ObjectWriter");
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
