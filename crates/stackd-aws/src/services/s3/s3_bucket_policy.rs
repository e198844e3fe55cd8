//! `aws_s3_bucket_policy`: the policy of a bucket. Its ID is the bucket
//! name, as in Terraform (also the import ID).
//!
//! The policy compares by meaning (statements, principals and condition
//! values as sets), as Terraform compares it. A bucket of another stack
//! (its `stackd:` tags say so) is refused: its policy is not this stack's to
//! set. S3 has no batch read: a refresh calls `GetBucketPolicy` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, Owner, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::s3_bucket::{bucket_tags, S3};
use super::BUCKET;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    decode_policy, ignore_gone, normalize_policy, read_each, read_policy_when,
    refuse_other_stacks, required, update_id, AwsResult,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_s3_bucket_policy`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_policy",
    schema,
    handler: &S3BucketPolicy,
    grants: &[g(
        &[
            "s3:DeleteBucketPolicy",
            "s3:GetBucketPolicy",
            "s3:GetBucketTagging",
            "s3:PutBucketPolicy",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket_policy")
        .doc("The policy of an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document (JSON)."),
        )
}

fn policy_attrs(bucket: &str, policy: &str) -> Value {
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        ("policy", Value::from(decode_policy(policy))),
    ])
}

/// The bucket's policy; `None` when it has none or the bucket is gone.
async fn read(aws: &Aws, bucket: &str) -> Result<Option<Value>, ProviderError> {
    let answer = aws
        .s3
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .aws(S3, "GetBucketPolicy");
    match answer {
        Ok(out) => Ok(out.policy().map(|p| policy_attrs(bucket, p))),
        Err(e) if has_code(&e, "NoSuchBucketPolicy") || has_code(&e, "NoSuchBucket") => Ok(None),
        Err(e) => Err(e),
    }
}

/// Refuses a bucket tagged as another stack's.
async fn check_bucket(aws: &Aws, bucket: &str, owner: &Owner) -> Result<(), ProviderError> {
    let tags = bucket_tags(aws, bucket).await?;
    refuse_other_stacks(
        &tags,
        owner,
        S3,
        "PutBucketPolicy",
        &format!("bucket {bucket:?}"),
    )
}

async fn put(aws: &Aws, bucket: &str, d: &Value, deadline: &Deadline) -> Result<(), ProviderError> {
    let policy = required(d, "policy", S3, "PutBucketPolicy")?;
    // A principal created a moment ago may not be accepted yet.
    retry(deadline, || async {
        aws.s3
            .put_bucket_policy()
            .bucket(bucket)
            .policy(policy)
            .send()
            .await
            .aws(S3, "PutBucketPolicy")
    })
    .await
    .map(|_| ())
}

/// Reads until S3 returns the policy asked for (its reads may lag a put).
async fn read_when(
    aws: &Aws,
    bucket: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    read_policy_when(
        deadline,
        "GetBucketPolicy",
        &format!("the policy of {bucket} to apply"),
        d,
        || read(aws, bucket),
    )
    .await
}

pub(crate) struct S3BucketPolicy;

#[async_trait]
impl ResourceHandler for S3BucketPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id).await?.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = required(&req.desired, "bucket", S3, "PutBucketPolicy")?;
        check_bucket(aws, bucket, &req.owner).await?;
        put(aws, bucket, &req.desired, &deadline).await?;
        read_when(aws, bucket, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = update_id(req.id.as_deref(), S3, "PutBucketPolicy")?;
        put(aws, bucket, &req.desired, &deadline).await?;
        read_when(aws, bucket, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let answer = retry(&deadline, || async {
            aws.s3
                .delete_bucket_policy()
                .bucket(&req.id)
                .send()
                .await
                .aws(S3, "DeleteBucketPolicy")
        })
        .await;
        match answer {
            Err(e) if has_code(&e, "NoSuchBucketPolicy") => Ok(()),
            other => ignore_gone(other),
        }
    }
}
