//! `aws_s3_bucket_public_access_block`: a bucket's public access block.
//! Its ID is the bucket name.
//!
//! S3 has no batch read: a refresh calls `GetPublicAccessBlock` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::PublicAccessBlockConfiguration;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::BUCKET;
use crate::args::bool_or;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{found, ignore_gone, read_each, required, update_id, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

const FLAGS: [&str; 4] = [
    "block_public_acls",
    "block_public_policy",
    "ignore_public_acls",
    "restrict_public_buckets",
];

/// `aws_s3_bucket_public_access_block`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_public_access_block",
    schema,
    handler: &S3BucketPublicAccessBlock,
    grants: &[g(
        &[
            "s3:GetBucketPublicAccessBlock",
            "s3:PutBucketPublicAccessBlock",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let flag = |name: &'static str, doc: &'static str| {
        AttrSchema::optional(name, AttrType::Bool)
            .default(false)
            .doc(doc)
    };
    ResourceSchema::resource("aws_s3_bucket_public_access_block")
        .doc("The public access block of an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .attr(flag(
            "block_public_acls",
            "Reject requests that add public ACLs.",
        ))
        .attr(flag(
            "block_public_policy",
            "Reject bucket policies that allow public access.",
        ))
        .attr(flag(
            "ignore_public_acls",
            "Ignore public ACLs on the bucket and its objects.",
        ))
        .attr(flag(
            "restrict_public_buckets",
            "Only the owner and AWS services may access a bucket with a public policy.",
        ))
}

fn configuration(d: &Value) -> PublicAccessBlockConfiguration {
    PublicAccessBlockConfiguration::builder()
        .block_public_acls(bool_or(d, "block_public_acls", false))
        .block_public_policy(bool_or(d, "block_public_policy", false))
        .ignore_public_acls(bool_or(d, "ignore_public_acls", false))
        .restrict_public_buckets(bool_or(d, "restrict_public_buckets", false))
        .build()
}

fn block_attrs(bucket: &str, c: &PublicAccessBlockConfiguration) -> Value {
    let values = [
        c.block_public_acls(),
        c.block_public_policy(),
        c.ignore_public_acls(),
        c.restrict_public_buckets(),
    ];
    let mut m = vec![("id", Value::from(bucket)), ("bucket", Value::from(bucket))];
    m.extend(
        FLAGS
            .iter()
            .zip(values)
            .map(|(k, v)| (*k, Value::Bool(v.unwrap_or(false)))),
    );
    Value::map(m)
}

async fn read(aws: &Aws, bucket: &str) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_public_access_block()
            .bucket(bucket)
            .send()
            .await
            .aws(S3, "GetPublicAccessBlock"),
    )?;
    Ok(out.and_then(|o| {
        o.public_access_block_configuration()
            .map(|c| block_attrs(bucket, c))
    }))
}

async fn put(aws: &Aws, bucket: &str, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    let config = configuration(d);
    retry(deadline, || async {
        aws.s3
            .put_public_access_block()
            .bucket(bucket)
            .public_access_block_configuration(config.clone())
            .send()
            .await
            .aws(S3, "PutPublicAccessBlock")
    })
    .await
    .map(|_| ())
}

/// Reads until S3 reports the flags asked for (its reads may lag a put).
async fn read_when(
    aws: &Aws,
    bucket: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let want = block_attrs(bucket, &configuration(d));
    until(
        deadline,
        "GetPublicAccessBlock",
        &format!("the public access block of {bucket} to apply"),
        || async { Ok(read(aws, bucket).await?.filter(|v| *v == want)) },
    )
    .await
}

pub(crate) struct S3BucketPublicAccessBlock;

#[async_trait]
impl ResourceHandler for S3BucketPublicAccessBlock {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            let attrs = match read(aws, &k.id).await {
                Err(e) if has_code(&e, "NoSuchBucket") => None,
                other => other?,
            };
            Ok(attrs.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = required(&req.desired, "bucket", S3, "PutPublicAccessBlock")?;
        put(aws, bucket, &req.desired, &deadline).await?;
        read_when(aws, bucket, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = update_id(req.id.as_deref(), S3, "PutPublicAccessBlock")?;
        put(aws, bucket, &req.desired, &deadline).await?;
        read_when(aws, bucket, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.s3
                .delete_public_access_block()
                .bucket(&req.id)
                .send()
                .await
                .aws(S3, "DeletePublicAccessBlock"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_map_both_ways() {
        let d = Value::map([
            ("bucket", Value::from("b")),
            ("block_public_acls", Value::Bool(true)),
            ("restrict_public_buckets", Value::Bool(true)),
        ]);
        let c = configuration(&d);
        assert_eq!(c.block_public_acls(), Some(true));
        assert_eq!(c.block_public_policy(), Some(false));
        let v = block_attrs("b", &c);
        assert_eq!(v.get("restrict_public_buckets"), Some(&Value::Bool(true)));
        assert_eq!(v.get("ignore_public_acls"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
