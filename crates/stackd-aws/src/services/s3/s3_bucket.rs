//! `aws_s3_bucket`: an S3 bucket. Its ID is its (globally unique) name.
//!
//! Bucket names are global: before creating, the name is looked up
//! (`HeadBucket`); a bucket of ours (ownership tags) left by an earlier
//! attempt is adopted, anyone else's is a clear error. Outside us-east-1 the
//! region goes into `LocationConstraint`. S3 has no batch read: a refresh
//! reads each known bucket (`HeadBucket` for its region, `GetBucketTagging`)
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
//!
//! Of Terraform's deprecated inline arguments only `acl` (a canned ACL) is
//! read: it is set with the code of `aws_s3_bucket_acl`'s `acl`
//! ([`super::s3_bucket_acl::put_acl`]), and, as in the provider since 4.0,
//! not read back. The inline blocks (`versioning`, `lifecycle_rule`,
//! `server_side_encryption_configuration`, `cors_rule`, `website`,
//! `logging`, `grant`, `policy`, ...) are refused with the separate
//! `aws_s3_bucket_*` resource to use instead. `object_lock_enabled` is not
//! supported.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::types::{
    BucketLocationConstraint, CreateBucketConfiguration, Delete, ObjectIdentifier, Tag, Tagging,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{BUCKET, OBJECT};
use crate::args::bool_or;
use crate::context::{Aws, Location};
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, echo, found, ignore_gone, invalid, name_or_generated, ours, read_each,
    tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::desired_tags;
use crate::wait::{retry, until, Deadline};

pub(crate) const S3: &str = "s3";

/// `aws_s3_bucket`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket",
    schema,
    handler: &S3Bucket,
    grants: &[
        g(
            &[
                "s3:CreateBucket",
                "s3:DeleteBucket",
                "s3:GetBucketTagging",
                "s3:ListBucket",
                "s3:ListBucketVersions",
                "s3:PutBucketAcl",
                "s3:PutBucketTagging",
            ],
            &[BUCKET],
        ),
        // `force_destroy` empties the bucket, every version included.
        g(&["s3:DeleteObject", "s3:DeleteObjectVersion"], &[OBJECT]),
        // A bucket's creation date, to recognise one a create made
        // before its tags could be set.
        g(&["s3:ListAllMyBuckets"], ANY),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket")
        .doc("An S3 bucket.")
        .attr(
            AttrSchema::optional("acl", AttrType::String)
                .deprecated("an aws_s3_bucket_acl resource")
                .check(Check::OneOf(vec![
                    "private",
                    "public-read",
                    "public-read-write",
                    "aws-exec-read",
                    "authenticated-read",
                    "log-delivery-write",
                ]))
                .doc("Deprecated: the bucket's canned ACL, set with PutBucketAcl."),
        )
        .retired("policy", "use an aws_s3_bucket_policy resource")
        .retired("versioning", "use an aws_s3_bucket_versioning resource")
        .retired(
            "lifecycle_rule",
            "use an aws_s3_bucket_lifecycle_configuration resource",
        )
        .retired(
            "server_side_encryption_configuration",
            "use an aws_s3_bucket_server_side_encryption_configuration resource",
        )
        .retired("logging", "use an aws_s3_bucket_logging resource")
        .retired("website", "use an aws_s3_bucket_website_configuration resource")
        .retired("cors_rule", "use an aws_s3_bucket_cors_configuration resource")
        .retired(
            "replication_configuration",
            "use an aws_s3_bucket_replication_configuration resource",
        )
        .retired(
            "object_lock_configuration",
            "use object_lock_enabled = true and an aws_s3_bucket_object_lock_configuration resource",
        )
        .retired(
            "acceleration_status",
            "use an aws_s3_bucket_accelerate_configuration resource",
        )
        .retired(
            "request_payer",
            "use an aws_s3_bucket_request_payment_configuration resource",
        )
        .retired("grant", "use an aws_s3_bucket_acl resource with access_control_policy")
        .attr(
            AttrSchema::optional_computed("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name (global); generated from `bucket_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("bucket_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique bucket name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("force_destroy", AttrType::Bool)
                .default(false)
                .doc("On destroy, delete every object and object version first."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("arn:aws:s3:::bucket"))
        .attr(
            AttrSchema::computed("bucket_domain_name", AttrType::String)
                .doc("bucket.s3.amazonaws.com"),
        )
        .attr(
            AttrSchema::computed("bucket_regional_domain_name", AttrType::String)
                .doc("bucket.s3.region.amazonaws.com"),
        )
        .attr(AttrSchema::computed("region", AttrType::String).doc("The bucket's region."))
        .attr(
            AttrSchema::computed("hosted_zone_id", AttrType::String)
                .doc("The Route 53 hosted zone of the region's S3 website endpoint."),
        )
        .taggable()
}

/// The Route 53 hosted zone IDs of the S3 website endpoints.
const HOSTED_ZONES: &[(&str, &str)] = &[
    ("af-south-1", "Z83WF9RJE8B12"),
    ("ap-east-1", "ZNB98KWMFR0R6"),
    ("ap-northeast-1", "Z2M4EHUR26P7ZW"),
    ("ap-northeast-2", "Z3W03O7B5YMIYP"),
    ("ap-northeast-3", "Z2YQB5RD63NC85"),
    ("ap-south-1", "Z11RGJOFQNVJUP"),
    ("ap-southeast-1", "Z3O0J2DXBE1FTB"),
    ("ap-southeast-2", "Z1WCIGYICN2BYD"),
    ("ca-central-1", "Z1QDHH18159H29"),
    ("cn-north-1", "Z5CN8UMXT92WN"),
    ("cn-northwest-1", "Z282HJ1KT0DH03"),
    ("eu-central-1", "Z21DNDUVLTQW6Q"),
    ("eu-north-1", "Z3BAZG2TWCNX0D"),
    ("eu-south-1", "Z30OZKI7KPW7MI"),
    ("eu-west-1", "Z1BKCTXD74EZPE"),
    ("eu-west-2", "Z3GKZC51ZF0DB4"),
    ("eu-west-3", "Z3R1K369G5AVDG"),
    ("me-south-1", "Z1MPMWCPA7YB62"),
    ("sa-east-1", "Z7KQH4QJS55SO"),
    ("us-east-1", "Z3AQBSTGFYJSTF"),
    ("us-east-2", "Z2O1EMRO9K5GLX"),
    ("us-gov-east-1", "Z2NIFVYYW2VKV1"),
    ("us-gov-west-1", "Z31GFT0UA1I2HV"),
    ("us-west-1", "Z2F56UZL2M1ACD"),
    ("us-west-2", "Z3BJ6K6RIION7M"),
];

/// The Route 53 hosted zone of a region's S3 website endpoint (null for a
/// region not in the table).
pub(crate) fn hosted_zone_id(region: &str) -> Value {
    HOSTED_ZONES
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, z)| Value::from(*z))
        .unwrap_or(Value::Null)
}

fn bucket_attrs(
    bucket: &str,
    region: &str,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let loc = Location::new(region);
    let zone = hosted_zone_id(region);
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        ("bucket_prefix", echo(args, "bucket_prefix", Value::Null)),
        // Set, not read back (as the provider has it since 4.0).
        ("acl", echo(args, "acl", Value::Null)),
        (
            "force_destroy",
            echo(args, "force_destroy", Value::Bool(false)),
        ),
        (
            "arn",
            Value::from(format!("arn:{}:s3:::{bucket}", loc.partition)),
        ),
        (
            "bucket_domain_name",
            Value::from(format!("{bucket}.s3.{}", loc.dns_suffix())),
        ),
        (
            "bucket_regional_domain_name",
            Value::from(format!("{bucket}.s3.{region}.{}", loc.dns_suffix())),
        ),
        ("region", Value::from(region)),
        ("hosted_zone_id", zone),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// What `HeadBucket` says about a bucket name.
#[derive(Debug)]
pub(crate) enum BucketHead {
    /// No bucket has the name.
    Missing,
    /// The bucket exists and these credentials can read it; its region.
    Exists(String),
    /// The bucket exists but answers 403: most likely another account's.
    Forbidden(ProviderError),
    /// The bucket exists in another region (S3 answers 301 and names it).
    Elsewhere(Option<String>, ProviderError),
}

/// Asks `HeadBucket` about a bucket name. S3 answers a HEAD request
/// without a body, so a 403 carries no error code: it is told by its status.
pub(crate) async fn head_bucket(aws: &Aws, bucket: &str) -> Result<BucketHead, ProviderError> {
    let answer = aws.s3.head_bucket().bucket(bucket).send().await;
    let err = match answer {
        Ok(out) => {
            return Ok(BucketHead::Exists(
                out.bucket_region()
                    .map(str::to_string)
                    .unwrap_or_else(|| aws.loc.region.clone()),
            ))
        }
        Err(err) => err,
    };
    let status = err.raw_response().map(|r| r.status().as_u16());
    let moved_to = err
        .raw_response()
        .and_then(|r| r.headers().get("x-amz-bucket-region"))
        .map(str::to_string);
    let mut e = crate::iam_util::sdk_error(S3, "HeadBucket", err);
    if e.kind == ErrorKind::NotFound {
        Ok(BucketHead::Missing)
    } else if status == Some(301) {
        Ok(BucketHead::Elsewhere(moved_to, e))
    } else if status == Some(403) || has_code(&e, "Forbidden") {
        e.kind = ErrorKind::Permanent;
        e.message = format!(
            "bucket {bucket:?} exists but is not accessible to these credentials \
             (bucket names are global: it may belong to another account)"
        );
        Ok(BucketHead::Forbidden(e))
    } else {
        Err(e)
    }
}

/// The bucket's region, or `None` when there is no such bucket. A bucket
/// of another account answers 403: a permanent error naming the conflict.
pub(crate) async fn bucket_region(
    aws: &Aws,
    bucket: &str,
) -> Result<Option<String>, ProviderError> {
    match head_bucket(aws, bucket).await? {
        BucketHead::Missing => Ok(None),
        BucketHead::Exists(region) => Ok(Some(region)),
        BucketHead::Forbidden(e) | BucketHead::Elsewhere(_, e) => Err(e),
    }
}

/// Reports a bucket that already has the name and is not this resource's:
/// bucket names are global, so the create would fail.
async fn check_name(
    aws: &Aws,
    req: &CheckRequest,
    bucket: &str,
) -> Result<Vec<Finding>, ProviderError> {
    const HEAD: &str = "s3:HeadBucket";
    let mut findings = Findings::new();
    match findings.read(HEAD, head_bucket(aws, bucket).await)? {
        None | Some(BucketHead::Missing) => {}
        Some(BucketHead::Forbidden(_)) => findings.push(Finding::error(
            "name_taken",
            HEAD,
            format!(
                "bucket {bucket:?} already exists and is not this stack's (it is not \
                 accessible to these credentials; bucket names are global, so it likely \
                 belongs to another account)"
            ),
        )),
        Some(BucketHead::Elsewhere(region, _)) => findings.push(Finding::error(
            "name_taken",
            HEAD,
            format!(
                "bucket {bucket:?} already exists in region {} (bucket names are global)",
                region.as_deref().unwrap_or("another region")
            ),
        )),
        Some(BucketHead::Exists(_)) => {
            let tags = findings.read("s3:GetBucketTagging", bucket_tags(aws, bucket).await)?;
            if let Some(tags) = tags {
                findings.name_in_use(req, HEAD, "bucket", bucket, &tags);
            }
        }
    }
    Ok(findings.into_vec())
}

/// The bucket's tags (none when it has no tag set).
pub(crate) async fn bucket_tags(
    aws: &Aws,
    bucket: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    match aws
        .s3
        .get_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
        .aws(S3, "GetBucketTagging")
    {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) if has_code(&e, "NoSuchTagSet") || has_code(&e, "NoSuchTagSetError") => {
            Ok(BTreeMap::new())
        }
        Err(e) => Err(e),
    }
}

async fn read(
    aws: &Aws,
    bucket: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let Some(region) = bucket_region(aws, bucket).await? else {
        return Ok(None);
    };
    let tags = match found(bucket_tags(aws, bucket).await)? {
        Some(t) => t,
        None => return Ok(None),
    };
    Ok(Some(bucket_attrs(bucket, &region, &tags, args)))
}

fn s3_tagging(tags: &BTreeMap<String, String>) -> Result<Tagging, ProviderError> {
    let set = tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(S3, "PutBucketTagging", e.to_string()))?;
    Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| invalid(S3, "PutBucketTagging", e.to_string()))
}

/// Sets the deprecated inline `acl` (a canned ACL), when the spec has one,
/// as `aws_s3_bucket_acl` sets its `acl`.
async fn put_acl(
    aws: &Aws,
    bucket: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if d.get("acl").and_then(Value::as_str).is_none() {
        return Ok(());
    }
    let inline = Value::map([("acl", d.get("acl").cloned().unwrap_or(Value::Null))]);
    super::s3_bucket_acl::put_acl(aws, bucket, &inline, deadline).await
}

async fn put_tags(
    aws: &Aws,
    bucket: &str,
    tags: &BTreeMap<String, String>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if tags.is_empty() {
        return ignore_gone(
            aws.s3
                .delete_bucket_tagging()
                .bucket(bucket)
                .send()
                .await
                .aws(S3, "DeleteBucketTagging"),
        );
    }
    let tagging = s3_tagging(tags)?;
    retry(deadline, || async {
        aws.s3
            .put_bucket_tagging()
            .bucket(bucket)
            .tagging(tagging.clone())
            .send()
            .await
            .aws(S3, "PutBucketTagging")
    })
    .await
    .map(|_| ())
}

/// The `CreateBucketConfiguration` for a region: none in us-east-1 (S3
/// refuses `us-east-1` as a location constraint), the region elsewhere.
fn create_configuration(region: &str) -> Option<CreateBucketConfiguration> {
    (region != "us-east-1").then(|| {
        CreateBucketConfiguration::builder()
            .location_constraint(BucketLocationConstraint::from(region))
            .build()
    })
}

/// True when `bucket` (in this account) was created by the create whose
/// pending record was written at `since` (RFC 3339), by S3's clock
/// ([`crate::iam_util::made_by_this_create`]).
async fn created_since(aws: &Aws, bucket: &str, since: &str) -> Result<bool, ProviderError> {
    let mut next: Option<String> = None;
    loop {
        let out = aws
            .s3
            .list_buckets()
            .prefix(bucket)
            .set_continuation_token(next.take())
            .send()
            .await
            .aws(S3, "ListBuckets")?;
        // The prefix narrows the listing where S3 supports it; the name is
        // matched here either way.
        if let Some(b) = out.buckets().iter().find(|b| b.name() == Some(bucket)) {
            return Ok(b
                .creation_date()
                .is_some_and(|c| crate::iam_util::made_by_this_create(c.secs(), Some(since))));
        }
        match out.continuation_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => return Ok(false),
        }
    }
}

/// True when this create made `bucket` but could not tag it yet
/// (`CreateBucket` takes no tags: its answer was lost, or stackd stopped
/// before the tagging call). Only a bucket carrying no stackd tag at all,
/// created after the create's pending record was written, qualifies: an
/// older bucket of that name, or another stack's, never does.
async fn made_untagged(
    aws: &Aws,
    bucket: &str,
    tags: &BTreeMap<String, String>,
    req: &ChangeRequest,
) -> Result<bool, ProviderError> {
    if tags.keys().any(|k| k.starts_with("stackd:")) {
        return Ok(false);
    }
    let Some(since) = req.pending_since.as_deref() else {
        return Ok(false);
    };
    created_since(aws, bucket, since).await
}

/// An existing bucket with this name: ours to adopt (tagged for this
/// address, or made untagged by this create), or a conflict.
async fn adopt(aws: &Aws, bucket: &str, req: &ChangeRequest) -> Result<Value, ProviderError> {
    let d = &req.desired;
    let tags = bucket_tags(aws, bucket).await?;
    if !ours(&tags, &req.owner, &req.address) {
        if !made_untagged(aws, bucket, &tags, req).await? {
            return Err(invalid(
                S3,
                "CreateBucket",
                conflict("S3 bucket", bucket, &tags, &req.owner),
            ));
        }
        tracing::info!(
            bucket,
            "tagging the bucket this create made before its answer was lost"
        );
        let deadline = Deadline::after(req.timeout);
        put_tags(aws, bucket, &desired_tags(d), &deadline).await?;
        put_acl(aws, bucket, d, &deadline).await?;
    } else {
        tracing::info!(bucket, "adopting the bucket an earlier attempt created");
    }
    read(aws, bucket, Some(d))
        .await?
        .ok_or_else(|| crate::iam_util::gone(S3, "HeadBucket", bucket))
}

/// Deletes every object version and delete marker (force_destroy).
async fn empty_bucket(aws: &Aws, bucket: &str) -> Result<(), ProviderError> {
    loop {
        let out = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(1000)
            .send()
            .await
            .aws(S3, "ListObjectVersions")?;
        let ids = out
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(
                out.delete_markers()
                    .iter()
                    .map(|m| (m.key(), m.version_id())),
            )
            .filter_map(|(key, version)| {
                ObjectIdentifier::builder()
                    .set_key(key.map(str::to_string))
                    .set_version_id(version.map(str::to_string))
                    .build()
                    .ok()
            })
            .collect::<Vec<_>>();
        if ids.is_empty() {
            return Ok(());
        }
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| invalid(S3, "DeleteObjects", e.to_string()))?;
        let result = aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            .send()
            .await
            .aws(S3, "DeleteObjects")?;
        if let Some(err) = result.errors().first() {
            return Err(ProviderError::new(
                ErrorKind::Transient,
                S3,
                "DeleteObjects",
                format!(
                    "could not delete {:?} from {bucket}: {}",
                    err.key().unwrap_or_default(),
                    err.message().unwrap_or_default()
                ),
            ));
        }
    }
}

pub(crate) struct S3Bucket;

#[async_trait]
impl ResourceHandler for S3Bucket {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // No batch read: HeadBucket and GetBucketTagging per known bucket.
        read_each(&req.known, |k| async move {
            let attrs = read(aws, &k.id, Some(&k.attrs)).await?;
            Ok(attrs.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: address_of(&k.id, &crate::iam_util::live_tags(&attrs), &req.known),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let bucket = name_or_generated(
            d,
            "bucket",
            "bucket_prefix",
            &req.idempotency_token,
            "stackd-",
        );
        if bucket_region(aws, &bucket).await?.is_some() {
            return adopt(aws, &bucket, req).await;
        }
        let call = aws
            .s3
            .create_bucket()
            .bucket(&bucket)
            .set_create_bucket_configuration(create_configuration(&aws.loc.region));
        match retry(&deadline, || async {
            call.clone().send().await.aws(S3, "CreateBucket")
        })
        .await
        {
            Ok(_) => {}
            Err(e) if has_code(&e, "BucketAlreadyOwnedByYou") => {
                return adopt(aws, &bucket, req).await
            }
            Err(mut e) if has_code(&e, "BucketAlreadyExists") => {
                e.message = format!(
                    "bucket name {bucket:?} is taken (bucket names are global across all \
                     AWS accounts): {}",
                    e.message
                );
                return Err(e);
            }
            Err(e) => return Err(e),
        }
        async {
            // CreateBucket takes no tags: tag at once after.
            put_tags(aws, &bucket, &desired_tags(d), &deadline).await?;
            put_acl(aws, &bucket, d, &deadline).await?;
            until(
                &deadline,
                "HeadBucket",
                &format!("bucket {bucket} to be readable"),
                || read(aws, &bucket, Some(d)),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&bucket, e))
    }

    /// A bucket the create made: tagged for this address, or untagged and
    /// created after the create's pending record (see [`made_untagged`]).
    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let bucket = name_or_generated(
            &req.desired,
            "bucket",
            "bucket_prefix",
            &req.idempotency_token,
            "stackd-",
        );
        if !matches!(head_bucket(aws, &bucket).await?, BucketHead::Exists(_)) {
            return Ok(None);
        }
        let tags = bucket_tags(aws, &bucket).await?;
        if ours(&tags, &req.owner, &req.address) || made_untagged(aws, &bucket, &tags, req).await? {
            return read(aws, &bucket, Some(&req.desired)).await;
        }
        Ok(None)
    }

    /// A bucket of the same (known) name is looked up: `HeadBucket`, then
    /// its tags. A generated name (`bucket_prefix`) is not checked.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        match creating(req).and_then(|d| known_str(d, "bucket")) {
            Some(bucket) => check_name(aws, req, bucket).await,
            None => Ok(Vec::new()),
        }
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = update_id(req.id.as_deref(), S3, "PutBucketTagging")?;
        let d = &req.desired;
        let prior = crate::iam_util::live_tags(req.prior.as_ref().unwrap_or(&Value::Null));
        let want = desired_tags(d);
        if prior != want {
            put_tags(aws, bucket, &want, &deadline).await?;
        }
        if req.changed.iter().any(|c| c == "acl") {
            put_acl(aws, bucket, d, &deadline).await?;
        }
        read(aws, bucket, Some(d))
            .await?
            .ok_or_else(|| crate::iam_util::gone(S3, "HeadBucket", bucket))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        if bool_or(&req.prior, "force_destroy", false) {
            ignore_gone(empty_bucket(aws, &req.id).await)?;
        }
        match aws
            .s3
            .delete_bucket()
            .bucket(&req.id)
            .send()
            .await
            .aws(S3, "DeleteBucket")
        {
            Err(mut e) if has_code(&e, "BucketNotEmpty") => {
                e.kind = ErrorKind::Permanent;
                e.message = format!(
                    "{} (set force_destroy = true to delete the objects with the bucket)",
                    e.message
                );
                Err(e)
            }
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn us_east_1_sends_no_location_constraint() {
        assert!(create_configuration("us-east-1").is_none());
        let c = create_configuration("eu-west-1").unwrap();
        assert_eq!(
            c.location_constraint(),
            Some(&BucketLocationConstraint::EuWest1)
        );
    }

    #[test]
    fn live_bucket_is_in_schema_shape() {
        let mut tags = BTreeMap::new();
        tags.insert("Name".to_string(), "artifacts".to_string());
        let v = bucket_attrs("my-artifacts", "eu-west-1", &tags, None);
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:s3:::my-artifacts"))
        );
        assert_eq!(
            v.get("bucket_domain_name"),
            Some(&Value::from("my-artifacts.s3.amazonaws.com"))
        );
        assert_eq!(
            v.get("bucket_regional_domain_name"),
            Some(&Value::from("my-artifacts.s3.eu-west-1.amazonaws.com"))
        );
        assert_eq!(
            v.get("hosted_zone_id"),
            Some(&Value::from("Z1BKCTXD74EZPE"))
        );
        assert_eq!(v.get("force_destroy"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    mod check {
        use super::super::*;
        use crate::preflight::fake;
        use stackd_engine::provider::{CheckedChange, Severity, ADDRESS_TAG, STACK_ID_TAG};

        fn request(bucket: Value) -> CheckRequest {
            CheckRequest {
                address: "aws_s3_bucket.assets".parse().unwrap(),
                type_name: "aws_s3_bucket".into(),
                owner: stackd_engine::provider::Owner::new("prod", "prod"),
                change: CheckedChange::Create,
                desired: Some(Value::map([
                    ("bucket", bucket),
                    ("bucket_prefix", Value::Null),
                    ("force_destroy", Value::Bool(false)),
                ])),
                prior: None,
                id: None,
                planned: Default::default(),
            }
        }

        fn tagging(stack: &str, address: &str) -> String {
            format!(
                "<Tagging xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><TagSet>\
                 <Tag><Key>{STACK_ID_TAG}</Key><Value>{stack}</Value></Tag>\
                 <Tag><Key>{ADDRESS_TAG}</Key><Value>{address}</Value></Tag>\
                 </TagSet></Tagging>"
            )
        }

        /// Every request is a read.
        fn only_reads(sent: &[String]) {
            for r in sent {
                assert!(r.starts_with("HEAD ") || r.starts_with("GET "), "{r}");
            }
        }

        async fn check(respond: fake::Respond, bucket: Value) -> (Vec<Finding>, Vec<String>) {
            let (aws, requests) = fake::aws(respond);
            let findings = S3Bucket.check(&aws, &request(bucket)).await.unwrap();
            let sent = fake::sent(&requests);
            only_reads(&sent);
            (findings, sent)
        }

        #[tokio::test]
        async fn a_free_name_finds_nothing() {
            let (findings, sent) = check(|_| (404, String::new()), Value::from("free")).await;
            assert!(findings.is_empty(), "{findings:?}");
            assert_eq!(sent.len(), 1);
        }

        #[tokio::test]
        async fn another_accounts_bucket_is_taken() {
            let (findings, _) = check(|_| (403, String::new()), Value::from("theirs")).await;
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(findings[0].severity, Severity::Error);
            assert_eq!(findings[0].check, "name_taken");
            assert_eq!(findings[0].operation, "s3:HeadBucket");
            assert!(
                findings[0].message.contains("\"theirs\""),
                "{}",
                findings[0].message
            );
        }

        #[tokio::test]
        async fn an_untagged_bucket_of_this_account_is_taken() {
            let (findings, sent) = check(
                |r| {
                    if r.starts_with("HEAD ") {
                        (200, String::new())
                    } else {
                        (
                            404,
                            "<Error><Code>NoSuchTagSet</Code><Message>The TagSet does not \
                             exist</Message></Error>"
                                .into(),
                        )
                    }
                },
                Value::from("mine"),
            )
            .await;
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(
                findings[0].message,
                "bucket \"mine\" already exists and is not this stack's"
            );
            assert!(sent[1].contains("tagging"), "{}", sent[1]);
        }

        #[tokio::test]
        async fn this_resources_own_bucket_is_adopted_not_reported() {
            let (findings, _) = check(
                |r| {
                    if r.starts_with("HEAD ") {
                        (200, String::new())
                    } else {
                        (200, tagging("prod", "aws_s3_bucket.assets"))
                    }
                },
                Value::from("ours"),
            )
            .await;
            assert!(findings.is_empty(), "{findings:?}");
        }

        #[tokio::test]
        async fn another_stacks_bucket_is_taken() {
            let (findings, _) = check(
                |r| {
                    if r.starts_with("HEAD ") {
                        (200, String::new())
                    } else {
                        (200, tagging("dev", "aws_s3_bucket.assets"))
                    }
                },
                Value::from("shared"),
            )
            .await;
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(findings[0].check, "name_taken");
        }

        #[tokio::test]
        async fn a_bucket_in_another_region_is_taken() {
            let (findings, _) = check(|_| (301, String::new()), Value::from("moved")).await;
            assert_eq!(findings.len(), 1, "{findings:?}");
            assert_eq!(findings[0].check, "name_taken");
        }

        #[tokio::test]
        async fn an_unknown_or_generated_name_is_not_checked() {
            for bucket in [Value::Unknown, Value::Null] {
                let (findings, sent) = check(|_| (500, String::new()), bucket).await;
                assert!(findings.is_empty());
                assert!(sent.is_empty(), "{sent:?}");
            }
        }
    }

    #[test]
    fn tags_become_an_s3_tag_set() {
        let mut tags = BTreeMap::new();
        tags.insert("a".to_string(), "1".to_string());
        let t = s3_tagging(&tags).unwrap();
        assert_eq!(t.tag_set().len(), 1);
        assert_eq!(t.tag_set()[0].key(), "a");
    }
}
