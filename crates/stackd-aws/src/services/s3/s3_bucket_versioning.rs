//! `aws_s3_bucket_versioning`: a bucket's versioning state. Its ID is the
//! bucket name. Deleting it suspends versioning (S3 cannot make a bucket
//! unversioned again).
//!
//! S3 has no batch read: a refresh calls `GetBucketVersioning` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketVersioningStatus, MfaDelete, VersioningConfiguration};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::{bucket_region, S3};
use super::BUCKET;
use crate::args::{blocks, opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    echo, found, ignore_gone, invalid, read_each, required, update_id, AwsResult,
};
use crate::policy::g;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `aws_s3_bucket_versioning`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_versioning",
    schema,
    handler: &S3BucketVersioning,
    grants: &[g(
        &[
            "s3:GetBucketVersioning",
            "s3:ListBucket",
            "s3:PutBucketVersioning",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket_versioning")
        .doc("The versioning state of an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .attr(
            AttrSchema::optional("expected_bucket_owner", AttrType::String)
                .force_new()
                .doc("The account ID expected to own the bucket."),
        )
        .attr(
            AttrSchema::optional("mfa", AttrType::String)
                .doc("The MFA device serial number and code, space separated."),
        )
        .block(
            BlockSchema::new("versioning_configuration", Nesting::Single)
                .required()
                .attr(
                    AttrSchema::required("status", AttrType::String).check(Check::OneOf(vec![
                        "Enabled",
                        "Suspended",
                        "Disabled",
                    ])),
                )
                .attr(
                    AttrSchema::optional_computed("mfa_delete", AttrType::String)
                        .check(Check::OneOf(vec!["Enabled", "Disabled"])),
                ),
        )
}

/// The desired `status` and `mfa_delete`.
fn desired_config(d: &Value) -> (String, Option<String>) {
    let block = blocks(d, "versioning_configuration").first();
    let status = block
        .and_then(|b| opt_str(b, "status"))
        .unwrap_or("Disabled")
        .to_string();
    let mfa_delete = block
        .and_then(|b| opt_str(b, "mfa_delete"))
        .map(str::to_string);
    (status, mfa_delete)
}

fn versioning_attrs(
    bucket: &str,
    status: Option<&BucketVersioningStatus>,
    mfa_delete: Option<&str>,
    args: Option<&Value>,
) -> Value {
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        ("mfa", echo(args, "mfa", Value::Null)),
        (
            "versioning_configuration",
            Value::List(vec![Value::map([
                (
                    "status",
                    Value::from(
                        status
                            .map(BucketVersioningStatus::as_str)
                            .unwrap_or("Disabled"),
                    ),
                ),
                ("mfa_delete", s(Some(mfa_delete.unwrap_or("Disabled")))),
            ])]),
        ),
    ])
}

async fn read(
    aws: &Aws,
    bucket: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    if bucket_region(aws, bucket).await?.is_none() {
        return Ok(None);
    }
    let out = found(
        aws.s3
            .get_bucket_versioning()
            .bucket(bucket)
            .set_expected_bucket_owner(
                args.and_then(|a| opt_str(a, "expected_bucket_owner"))
                    .map(str::to_string),
            )
            .send()
            .await
            .aws(S3, "GetBucketVersioning"),
    )?;
    Ok(out.map(|o| versioning_attrs(bucket, o.status(), o.mfa_delete().map(|m| m.as_str()), args)))
}

async fn put(
    aws: &Aws,
    bucket: &str,
    status: &str,
    mfa_delete: Option<&str>,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let config = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::from(status))
        .set_mfa_delete(mfa_delete.map(MfaDelete::from))
        .build();
    let call = aws
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(config)
        .set_mfa(opt_str(d, "mfa").map(str::to_string))
        .set_expected_bucket_owner(opt_str(d, "expected_bucket_owner").map(str::to_string));
    retry(deadline, || async {
        call.clone().send().await.aws(S3, "PutBucketVersioning")
    })
    .await
    .map(|_| ())
}

/// Reads until S3 reports the status asked for (its reads may lag a put).
async fn read_when(
    aws: &Aws,
    bucket: &str,
    status: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    until(
        deadline,
        "GetBucketVersioning",
        &format!("versioning of {bucket} to be {status}"),
        || async {
            Ok(read(aws, bucket, Some(d)).await?.filter(|v| {
                blocks(v, "versioning_configuration")
                    .first()
                    .and_then(|b| opt_str(b, "status"))
                    == Some(status)
            }))
        },
    )
    .await
}

pub(crate) struct S3BucketVersioning;

#[async_trait]
impl ResourceHandler for S3BucketVersioning {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id, Some(&k.attrs))
                .await?
                .map(|attrs| LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs,
                }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let bucket = required(d, "bucket", S3, "PutBucketVersioning")?;
        let (status, mfa_delete) = desired_config(d);
        if status != "Disabled" {
            put(aws, bucket, &status, mfa_delete.as_deref(), d, &deadline).await?;
        }
        read_when(aws, bucket, &status, d, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = update_id(req.id.as_deref(), S3, "PutBucketVersioning")?;
        let d = &req.desired;
        let (status, mfa_delete) = desired_config(d);
        if status == "Disabled" {
            return Err(invalid(
                S3,
                "PutBucketVersioning",
                format!(
                    "versioning of bucket {bucket} cannot go back to Disabled once enabled \
                     (S3 has no such operation); use Suspended"
                ),
            ));
        }
        put(aws, bucket, &status, mfa_delete.as_deref(), d, &deadline).await?;
        read_when(aws, bucket, &status, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let Some(live) = read(aws, &req.id, Some(&req.prior)).await? else {
            return Ok(());
        };
        let status = blocks(&live, "versioning_configuration")
            .first()
            .and_then(|b| opt_str(b, "status"))
            .unwrap_or("Disabled")
            .to_string();
        if status != "Enabled" {
            return Ok(());
        }
        ignore_gone(put(aws, &req.id, "Suspended", None, &req.prior, &deadline).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unversioned_bucket_reads_as_disabled() {
        let v = versioning_attrs("b", None, None, None);
        let block = &blocks(&v, "versioning_configuration")[0];
        assert_eq!(block.get("status"), Some(&Value::from("Disabled")));
        assert_eq!(block.get("mfa_delete"), Some(&Value::from("Disabled")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn the_block_gives_status_and_mfa_delete() {
        let d = Value::map([(
            "versioning_configuration",
            Value::List(vec![Value::map([("status", Value::from("Enabled"))])]),
        )]);
        assert_eq!(desired_config(&d), ("Enabled".to_string(), None));
        let v = versioning_attrs(
            "b",
            Some(&BucketVersioningStatus::Enabled),
            Some("Enabled"),
            Some(&d),
        );
        let block = &blocks(&v, "versioning_configuration")[0];
        assert_eq!(block.get("status"), Some(&Value::from("Enabled")));
        assert_eq!(block.get("mfa_delete"), Some(&Value::from("Enabled")));
    }
}
