//! `aws_s3_bucket_logging`: where a bucket's server access logs go. Its ID
//! is the bucket name, or `bucket,expected_bucket_owner` (also the import
//! IDs, as in Terraform). Deleting it turns logging off (an empty
//! `BucketLoggingStatus`).
//!
//! S3 has no batch read: a refresh calls `GetBucketLogging` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
//!
//! Not supported from Terraform's schema: `target_grant` and
//! `target_object_key_format`.

use async_trait::async_trait;
use aws_sdk_s3::types::{BucketLoggingStatus, LoggingEnabled};
use stackd_engine::provider::ProviderError;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BucketSetting, SettingHandler, config_id, expected_owner, BUCKET};
use crate::args::opt_str;
use crate::context::Aws;
use crate::error::has_code;
use crate::iam_util::{echo, found, ignore_gone, invalid, required, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::wait::Deadline;

const OP: &str = "PutBucketLogging";

/// `aws_s3_bucket_logging`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_logging",
    schema,
    handler: &SettingHandler::<S3BucketLogging>::NEW,
    grants: &[g(
        &["s3:GetBucketLogging", "s3:GetBucketTagging", "s3:PutBucketLogging"],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket_logging")
        .doc("The server access logging of an S3 bucket.")
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
            AttrSchema::required("target_bucket", AttrType::String)
                .doc("The bucket the access logs are written to."),
        )
        .attr(
            AttrSchema::required("target_prefix", AttrType::String)
                .doc("The key prefix of the log objects."),
        )
}

fn logging_attrs(bucket: &str, l: &LoggingEnabled, args: Option<&Value>) -> Value {
    let owner = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    Value::map([
        ("id", Value::from(config_id(bucket, owner))),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        ("target_bucket", Value::from(l.target_bucket())),
        ("target_prefix", Value::from(l.target_prefix())),
    ])
}

/// The bucket's logging target; `None` when logging is off or the bucket
/// is gone.
async fn read(
    aws: &Aws,
    bucket: &str,
    owner: Option<String>,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_logging()
            .bucket(bucket)
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, "GetBucketLogging"),
    )?;
    Ok(out.and_then(|o| o.logging_enabled().map(|l| logging_attrs(bucket, l, args))))
}

fn target(v: &Value) -> (Option<String>, Option<String>) {
    (
        opt_str(v, "target_bucket").map(str::to_string),
        v.get("target_prefix")
            .and_then(Value::as_str)
            .map(str::to_string),
    )
}

pub(crate) struct S3BucketLogging;

#[async_trait]
impl BucketSetting for S3BucketLogging {
    const PUT: &'static str = OP;
    const GET: &'static str = "GetBucketLogging";
    const WHAT: &'static str = "the logging";

    async fn read(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        recorded: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        read(aws, bucket, owner, recorded).await
    }

    async fn send_put(aws: &Aws, bucket: &str, d: &Value) -> Result<(), ProviderError> {
        let enabled = LoggingEnabled::builder()
            .target_bucket(required(d, "target_bucket", S3, OP)?)
            .target_prefix(d.get("target_prefix").and_then(Value::as_str).unwrap_or(""))
            .build()
            .map_err(|e| invalid(S3, OP, e.to_string()))?;
        let call = aws
            .s3
            .put_bucket_logging()
            .bucket(bucket)
            .bucket_logging_status(
                BucketLoggingStatus::builder()
                    .logging_enabled(enabled)
                    .build(),
            )
            .set_expected_bucket_owner(expected_owner(d));
        // A target bucket created a moment ago may not be accepted yet:
        // the handler retries.
        call.send().await.aws(S3, OP).map(|_| ())
    }

    fn applied(desired: &Value, live: &Value) -> bool {
        target(live) == target(desired)
    }

    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        _deadline: &Deadline,
    ) -> Result<(), ProviderError> {
        let answer = aws
            .s3
            .put_bucket_logging()
            .bucket(bucket)
            .bucket_logging_status(BucketLoggingStatus::builder().build())
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, OP);
        match answer {
            // A put answers a missing bucket as one not visible yet.
            Err(e) if has_code(&e, "NoSuchBucket") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_target_reads_back_in_schema_shape() {
        let l = LoggingEnabled::builder()
            .target_bucket("logs")
            .target_prefix("access/")
            .build()
            .unwrap();
        let args = Value::map([("expected_bucket_owner", Value::from("123456789012"))]);
        let v = logging_attrs("b", &l, Some(&args));
        assert_eq!(v.get("id"), Some(&Value::from("b,123456789012")));
        assert_eq!(
            target(&v),
            (Some("logs".to_string()), Some("access/".to_string()))
        );
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
