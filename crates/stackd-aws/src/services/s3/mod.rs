//! s3: the service definition, its ARN patterns, one module per type, and
//! what the bucket configuration types share: Terraform's ID of a bucket's
//! configuration (`bucket` or `bucket,expected_bucket_owner`), the refresh
//! of known configurations, the refusal of another stack's bucket, and the
//! one handler of every setting that is a put, a read and a removal
//! ([`BucketSetting`]).
//!
//! S3 has no read across buckets: every bucket setting (`GetBucketEncryption`,
//! `GetBucketOwnershipControls`, `GetBucketAcl`, `GetBucketCors`,
//! `GetBucketWebsite`, `GetBucketLogging`, ...) is one call per bucket, made
//! for the known instances [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::future::Future;
use std::marker::PhantomData;

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, Owner, ProviderError, RefreshRequest,
};
use stackd_spec::Value;

use crate::args::opt_str;
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{invalid, read_each, required, update_id};
use crate::policy::{arn, ArnPattern};
use crate::services::ResourceHandler;
use crate::services::Service;
use crate::wait::{retry, until, Deadline};

types! {
    managed: [
        s3_bucket,
        s3_bucket_versioning,
        s3_bucket_lifecycle_configuration,
        s3_bucket_public_access_block,
        s3_bucket_policy,
        s3_bucket_server_side_encryption_configuration,
        s3_bucket_ownership_controls,
        s3_bucket_acl,
        s3_bucket_cors_configuration,
        s3_bucket_website_configuration,
        s3_bucket_logging,
        s3_object,
    ],
    data: [
        terraform_remote_state,
        s3_bucket_data,
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
        "NoSuchKey",
        "NoSuchLifecycleConfiguration",
        "NoSuchPublicAccessBlockConfiguration",
        "ServerSideEncryptionConfigurationNotFoundError",
        "OwnershipControlsNotFoundError",
        "NoSuchCORSConfiguration",
        "NoSuchWebsiteConfiguration",
    ],
    arns: &[BUCKET, OBJECT],
};

pub(crate) const BUCKET: ArnPattern = arn("Bucket", "arn:${partition}:s3:::*");
pub(crate) const OBJECT: ArnPattern = arn("Object", "arn:${partition}:s3:::*/*");

/// Terraform's ID of a bucket's configuration: the bucket name, or
/// `bucket,expected_bucket_owner` when the owner is given.
pub(crate) fn config_id(bucket: &str, expected_owner: Option<&str>) -> String {
    match expected_owner {
        Some(owner) => format!("{bucket},{owner}"),
        None => bucket.to_string(),
    }
}

/// True for a 12-digit AWS account ID.
pub(crate) fn is_account_id(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

/// The bucket and expected owner of a configuration ID (`bucket` or
/// `bucket,expected_bucket_owner`; bucket names hold no comma).
pub(crate) fn split_config_id(id: &str) -> (String, Option<String>) {
    match id.split_once(',') {
        Some((bucket, owner)) => (bucket.to_string(), Some(owner.to_string())),
        None => (id.to_string(), None),
    }
}

/// The bucket and expected owner of a known configuration: from its
/// recorded attributes, or from its ID after an import.
pub(crate) fn known_bucket(k: &KnownResource) -> (String, Option<String>) {
    match opt_str(&k.attrs, "bucket") {
        Some(bucket) => (
            bucket.to_string(),
            opt_str(&k.attrs, "expected_bucket_owner").map(str::to_string),
        ),
        None => split_config_id(&k.id),
    }
}

/// The expected owner of desired or recorded arguments.
pub(crate) fn expected_owner(d: &Value) -> Option<String> {
    opt_str(d, "expected_bucket_owner").map(str::to_string)
}

/// Refreshes known bucket configurations: `read(bucket, owner, recorded
/// attributes)` per instance (S3 has no read across buckets), at most
/// [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
pub(crate) async fn refresh_configs<'a, F, Fut>(
    known: &'a [KnownResource],
    read: F,
) -> Result<Vec<LiveResource>, ProviderError>
where
    F: Fn(String, Option<String>, &'a KnownResource) -> Fut,
    Fut: Future<Output = Result<Option<Value>, ProviderError>>,
{
    let read = &read;
    read_each(known, |k| async move {
        let (bucket, owner) = known_bucket(k);
        Ok(read(bucket, owner, k).await?.map(|attrs| LiveResource {
            id: k.id.clone(),
            address: Some(k.address.clone()),
            attrs,
        }))
    })
    .await
}

/// Refuses to configure a bucket tagged as another stack's: its settings
/// are not this stack's to set.
pub(crate) async fn refuse_foreign_bucket(
    aws: &Aws,
    bucket: &str,
    owner: &Owner,
    operation: &str,
) -> Result<(), ProviderError> {
    let tags = crate::iam_util::found(s3_bucket::bucket_tags(aws, bucket).await)?;
    let Some(tags) = tags else {
        return Ok(());
    };
    if !tags.contains_key(stackd_engine::provider::STACK_TAG) {
        return Ok(());
    }
    match owner.foreign_reason(|k| tags.get(k).map(String::as_str)) {
        Some(why) => Err(invalid(
            s3_bucket::S3,
            operation,
            format!("bucket {bucket:?} is not this stack's to configure: {why}"),
        )),
        None => Ok(()),
    }
}

/// A bucket setting managed as a type of its own (CORS, encryption,
/// website, logging, ownership controls): one put creates and updates it,
/// one call per bucket reads it, one call removes it. Its ID is the
/// bucket's name or `bucket,expected_bucket_owner`. Its type's handler is
/// [`SettingHandler`], so each such type writes only these three calls.
#[async_trait]
pub(crate) trait BucketSetting: Send + Sync + 'static {
    /// The put operation, named in errors.
    const PUT: &'static str;

    /// The setting of `bucket` as attributes; `None` when the bucket has
    /// none or is gone. `recorded` holds the arguments last recorded (or
    /// desired), for what S3 does not answer.
    async fn read(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        recorded: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError>;

    /// The read operation, named while waiting for a put to show.
    const GET: &'static str;
    /// What the setting is, for messages ("the CORS rules").
    const WHAT: &'static str;

    /// Sends one put of the desired setting, whole (the handler retries it).
    async fn send_put(aws: &Aws, bucket: &str, desired: &Value) -> Result<(), ProviderError>;

    /// True when `live`, as read back, shows the put of `desired`: S3's
    /// reads may lag a put.
    fn applied(desired: &Value, live: &Value) -> bool;

    /// Takes the setting off the bucket; a bucket already gone is done.
    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        deadline: &Deadline,
    ) -> Result<(), ProviderError>;
}

/// The handler of a [`BucketSetting`] type. Refresh reads each known
/// bucket; create refuses another stack's bucket, then puts (putting the
/// same setting again is harmless: no adoption needed); update puts;
/// delete removes. A put is retried while S3 refuses it for a moment, then
/// read until it shows.
pub(crate) struct SettingHandler<T>(PhantomData<T>);

impl<T: BucketSetting> SettingHandler<T> {
    pub(crate) const NEW: SettingHandler<T> = SettingHandler(PhantomData);

    async fn put(
        aws: &Aws,
        bucket: &str,
        desired: &Value,
        deadline: &Deadline,
    ) -> Result<Value, ProviderError> {
        retry(deadline, || T::send_put(aws, bucket, desired)).await?;
        until(
            deadline,
            T::GET,
            &format!("{} of {bucket} to apply", T::WHAT),
            || async {
                Ok(T::read(aws, bucket, expected_owner(desired), Some(desired))
                    .await?
                    .filter(|live| T::applied(desired, live)))
            },
        )
        .await
    }
}

#[async_trait]
impl<T: BucketSetting> ResourceHandler for SettingHandler<T> {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        refresh_configs(&req.known, |bucket, owner, k| async move {
            T::read(aws, &bucket, owner, Some(&k.attrs)).await
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = required(&req.desired, "bucket", s3_bucket::S3, T::PUT)?;
        refuse_foreign_bucket(aws, bucket, &req.owner, T::PUT).await?;
        Self::put(aws, bucket, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let (bucket, _) = split_config_id(update_id(req.id.as_deref(), s3_bucket::S3, T::PUT)?);
        Self::put(aws, &bucket, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let (bucket, owner) = split_config_id(&req.id);
        T::remove(aws, &bucket, owner, &deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configuration_ids_are_the_bucket_and_the_expected_owner() {
        assert_eq!(config_id("b", None), "b");
        assert_eq!(config_id("b", Some("123456789012")), "b,123456789012");
        assert_eq!(split_config_id("b"), ("b".to_string(), None));
        assert_eq!(
            split_config_id("b,123456789012"),
            ("b".to_string(), Some("123456789012".to_string()))
        );
        assert!(is_account_id("123456789012"));
        assert!(!is_account_id("private"));
    }
}
