//! `aws_s3_object`: an object in a bucket, from `content`, `content_base64`
//! or a local file `source` (a path relative to the root module's
//! directory). Its ID is its key, as in Terraform; `stackd import` takes
//! Terraform's import IDs, `bucket/key` and `s3://bucket/key`.
//!
//! A change of the content or of its headers uploads the object again
//! (`PutObject`), a change of tags alone sets them (`PutObjectTagging`), as
//! the provider does; `bucket` and `key` force a new object. The ownership
//! tags go in the `PutObject` call itself: an object of the key that does
//! not carry this address's tags is refused, never overwritten. The content
//! is not read back: S3's ETag (the MD5 of an object uploaded in one part
//! without KMS) is compared with the MD5 of the recorded `content` or
//! `content_base64`, or of the `source` file as it is now, and a mismatch
//! (the object changed outside stackd, or the file changed) reads as the
//! argument being unset, so the plan uploads it again. Deleting the object
//! deletes every version of its key, as Terraform does.
//!
//! S3 has no batch read of objects: a refresh calls `HeadObject` and
//! `GetObjectTagging` per known object,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
//!
//! Not supported from Terraform's schema: `acl`, `bucket_key_enabled`,
//! `checksum_algorithm`, `object_lock_*`, `website_redirect`,
//! `override_provider`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    Delete, ObjectIdentifier, ServerSideEncryption, StorageClass, Tag, Tagging,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BUCKET, OBJECT};
use crate::args::{opt_str, s, str_map};
use crate::context::{Aws, Location};
use crate::error::{after_create, has_code};
use crate::iam_util::{
    bounded_all, conflict, echo, found, ignore_gone, invalid, ours, required, tags_attr,
    update_id, AwsResult,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::desired_tags;
use crate::wait::{retry, Deadline};

const OP: &str = "PutObject";

/// `aws_s3_object`: its schema, its handler, and the IAM grants of every
/// call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_object",
    schema,
    handler: &S3Object,
    grants: &[
        g(
            &[
                "s3:DeleteObject",
                "s3:DeleteObjectVersion",
                "s3:GetObject",
                "s3:GetObjectTagging",
                "s3:PutObject",
                "s3:PutObjectTagging",
            ],
            &[OBJECT],
        ),
        // The versions of the key, deleted with it.
        g(&["s3:ListBucketVersions"], &[BUCKET]),
    ],
    source: file!(),
};

/// Arguments whose change uploads the object again.
const CONTENT_ARGS: &[&str] = &[
    "content",
    "content_base64",
    "source",
    "source_hash",
    "etag",
    "content_type",
    "cache_control",
    "content_disposition",
    "content_encoding",
    "content_language",
    "metadata",
    "server_side_encryption",
    "kms_key_id",
    "storage_class",
];

pub(crate) fn schema() -> ResourceSchema {
    let text = |name: &'static str, doc: &'static str| {
        AttrSchema::optional(name, AttrType::String).doc(doc)
    };
    ResourceSchema::resource("aws_s3_object")
        .doc("An object in an S3 bucket.")
        .attr(
            AttrSchema::required("bucket", AttrType::String)
                .force_new()
                .doc("The bucket name."),
        )
        .attr(
            AttrSchema::required("key", AttrType::String)
                .force_new()
                .doc("The object's key."),
        )
        .attr(text("content", "The object's content, as UTF-8 text."))
        .attr(text(
            "content_base64",
            "The object's content, base64-encoded (binary content).",
        ))
        .attr(text(
            "source",
            "A local file to upload, relative to the root module's directory.",
        ))
        .attr(text(
            "source_hash",
            "Any hash of the source file: a change uploads it again.",
        ))
        .attr(
            AttrSchema::optional_computed("content_type", AttrType::String)
                .doc("The MIME type (S3's default when unset)."),
        )
        .attr(text("cache_control", "The Cache-Control header."))
        .attr(text("content_disposition", "The Content-Disposition header."))
        .attr(text("content_encoding", "The Content-Encoding header."))
        .attr(text("content_language", "The Content-Language header."))
        .attr(
            AttrSchema::optional("metadata", AttrType::map_of(AttrType::String))
                .doc("User metadata (x-amz-meta-*); keys in lower case."),
        )
        .attr(
            AttrSchema::optional_computed("etag", AttrType::String)
                .doc("The ETag: the MD5 of the content for one-part uploads without KMS."),
        )
        .attr(
            AttrSchema::optional_computed("server_side_encryption", AttrType::String)
                .doc("AES256, aws:kms or aws:kms:dsse."),
        )
        .attr(
            AttrSchema::optional_computed("kms_key_id", AttrType::String)
                .doc("The KMS key ARN for aws:kms."),
        )
        .attr(
            AttrSchema::optional_computed("storage_class", AttrType::String)
                .doc("The storage class (STANDARD when unset)."),
        )
        .attr(
            AttrSchema::optional("force_destroy", AttrType::Bool)
                .default(false)
                .doc("Delete the object even under an object lock legal hold."),
        )
        .attr(AttrSchema::computed("version_id", AttrType::String).doc("The object's version."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("arn:aws:s3:::bucket/key"))
        .taggable()
}

/// The bucket and key of Terraform's import ID, `bucket/key` or
/// `s3://bucket/key`.
pub(crate) fn split_import_id(id: &str) -> Option<(String, String)> {
    let rest = id.strip_prefix("s3://").unwrap_or(id);
    let (bucket, key) = rest.split_once('/')?;
    (!bucket.is_empty() && !key.is_empty()).then(|| (bucket.to_string(), key.to_string()))
}

/// The bucket and key of a known object: its recorded attributes, or the
/// import ID.
fn bucket_and_key(k: &KnownResource) -> Option<(String, String)> {
    match opt_str(&k.attrs, "bucket") {
        Some(bucket) => Some((bucket.to_string(), k.id.clone())),
        None => split_import_id(&k.id),
    }
}

/// The bytes to upload: `content`, `content_base64`, or the `source` file.
fn body_of(aws: &Aws, d: &Value) -> Result<Vec<u8>, ProviderError> {
    let given = ["content", "content_base64", "source"]
        .iter()
        .filter(|k| d.get(k).and_then(Value::as_str).is_some())
        .count();
    if given > 1 {
        return Err(invalid(
            S3,
            OP,
            "content, content_base64 and source conflict: set one of them",
        ));
    }
    if let Some(text) = d.get("content").and_then(Value::as_str) {
        return Ok(text.as_bytes().to_vec());
    }
    if let Some(b64) = opt_str(d, "content_base64") {
        return aws_smithy_types::base64::decode(b64)
            .map_err(|e| invalid(S3, OP, format!("content_base64 is not base64: {e}")));
    }
    if let Some(path) = opt_str(d, "source") {
        let full = source_path(aws, path);
        return std::fs::read(&full)
            .map_err(|e| invalid(S3, OP, format!("source {}: {e}", full.display())));
    }
    Ok(Vec::new())
}

/// A `source` path against the root module's directory (never the
/// process's working directory).
fn source_path(aws: &Aws, path: &str) -> std::path::PathBuf {
    let p = std::path::Path::new(path);
    match &aws.root_dir {
        Some(root) if p.is_relative() => root.join(p),
        _ => p.to_path_buf(),
    }
}

/// The MD5 (hex) S3 would answer as the ETag of the recorded content, when
/// it can be told: `None` for KMS-encrypted objects (their ETag is no MD5)
/// and for a source file that cannot be read.
fn expected_etag(aws: &Aws, recorded: &Value) -> Option<String> {
    if opt_str(recorded, "server_side_encryption").is_some_and(|s| s.starts_with("aws:kms")) {
        return None;
    }
    body_of(aws, recorded)
        .ok()
        .map(|b| md5_hex(&b))
}

/// The MD5 of `data` in lowercase hex, as S3 answers it in an ETag.
fn md5_hex(data: &[u8]) -> String {
    use md5::{Digest, Md5};
    Md5::digest(data).iter().map(|b| format!("{b:02x}")).collect()
}

/// Encodes tags as the `x-amz-tagging` header wants them (a URL query).
fn tagging_query(tags: &BTreeMap<String, String>) -> String {
    fn enc(s: &str) -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    char::from(b).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    }
    tags.iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// What `HeadObject` and `GetObjectTagging` say about an object.
struct Head {
    etag: Option<String>,
    content_type: Option<String>,
    cache_control: Option<String>,
    content_disposition: Option<String>,
    content_encoding: Option<String>,
    content_language: Option<String>,
    metadata: BTreeMap<String, String>,
    server_side_encryption: Option<String>,
    kms_key_id: Option<String>,
    storage_class: Option<String>,
    version_id: Option<String>,
    tags: BTreeMap<String, String>,
}

/// The live attributes. The content arguments echo the recorded ones while
/// the ETag is the one they give (see the module doc).
fn object_attrs(
    bucket: &str,
    key: &str,
    region: &str,
    h: &Head,
    args: Option<&Value>,
    expected: Option<&str>,
) -> Value {
    let etag = h.etag.as_deref().map(|e| e.trim_matches('"').to_string());
    let unchanged = match (expected, etag.as_deref()) {
        (Some(want), Some(live)) if !live.contains('-') => want == live,
        _ => true,
    };
    let content = |k: &str| {
        if unchanged {
            echo(args, k, Value::Null)
        } else {
            Value::Null
        }
    };
    let loc = Location::new(region);
    Value::map([
        ("id", Value::from(key)),
        ("bucket", Value::from(bucket)),
        ("key", Value::from(key)),
        ("content", content("content")),
        ("content_base64", content("content_base64")),
        ("source", content("source")),
        ("source_hash", echo(args, "source_hash", Value::Null)),
        ("content_type", s(h.content_type.as_deref())),
        ("cache_control", s(h.cache_control.as_deref())),
        ("content_disposition", s(h.content_disposition.as_deref())),
        ("content_encoding", s(h.content_encoding.as_deref())),
        ("content_language", s(h.content_language.as_deref())),
        (
            "metadata",
            if h.metadata.is_empty() {
                Value::Null
            } else {
                Value::Map(
                    h.metadata
                        .iter()
                        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
                        .collect(),
                )
            },
        ),
        ("etag", s(etag.as_deref())),
        (
            "server_side_encryption",
            s(h.server_side_encryption.as_deref()),
        ),
        ("kms_key_id", s(h.kms_key_id.as_deref())),
        (
            "storage_class",
            Value::from(h.storage_class.as_deref().unwrap_or("STANDARD")),
        ),
        (
            "force_destroy",
            echo(args, "force_destroy", Value::Bool(false)),
        ),
        ("version_id", s(h.version_id.as_deref())),
        (
            "arn",
            Value::from(format!("arn:{}:s3:::{bucket}/{key}", loc.partition)),
        ),
        ("tags_all", tags_attr(h.tags.clone())),
    ])
}

async fn object_tags(
    aws: &Aws,
    bucket: &str,
    key: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .s3
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .aws(S3, "GetObjectTagging")?;
    Ok(out
        .tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// `HeadObject` and `GetObjectTagging`; `None` when the object (or its
/// bucket) is gone.
async fn head(aws: &Aws, bucket: &str, key: &str) -> Result<Option<Head>, ProviderError> {
    let Some(o) = found(
        aws.s3
            .head_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .aws(S3, "HeadObject"),
    )?
    else {
        return Ok(None);
    };
    let Some(tags) = found(object_tags(aws, bucket, key).await)? else {
        return Ok(None);
    };
    Ok(Some(Head {
        etag: o.e_tag().map(str::to_string),
        content_type: o.content_type().map(str::to_string),
        cache_control: o.cache_control().map(str::to_string),
        content_disposition: o.content_disposition().map(str::to_string),
        content_encoding: o.content_encoding().map(str::to_string),
        content_language: o.content_language().map(str::to_string),
        metadata: o
            .metadata()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default(),
        server_side_encryption: o.server_side_encryption().map(|e| e.as_str().to_string()),
        kms_key_id: o.ssekms_key_id().map(str::to_string),
        storage_class: o.storage_class().map(|c| c.as_str().to_string()),
        version_id: o.version_id().map(str::to_string),
        tags,
    }))
}

async fn read(
    aws: &Aws,
    bucket: &str,
    key: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let expected = args.and_then(|a| expected_etag(aws, a));
    Ok(head(aws, bucket, key).await?.map(|h| {
        object_attrs(bucket, key, &aws.loc.region, &h, args, expected.as_deref())
    }))
}

/// Uploads the object with its headers and tags (ownership tags included).
async fn put(
    aws: &Aws,
    bucket: &str,
    key: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let body = body_of(aws, d)?;
    let text = |k| opt_str(d, k).map(str::to_string);
    let metadata = str_map(d, "metadata");
    let tags = desired_tags(d);
    let tagging = (!tags.is_empty()).then(|| tagging_query(&tags));
    let metadata = (!metadata.is_empty()).then(|| metadata.into_iter().collect());
    // The request takes its body by value: built anew for each attempt.
    retry(deadline, || async {
        aws.s3
            .put_object()
            .bucket(bucket)
            .key(key)
            .set_content_type(text("content_type"))
            .set_cache_control(text("cache_control"))
            .set_content_disposition(text("content_disposition"))
            .set_content_encoding(text("content_encoding"))
            .set_content_language(text("content_language"))
            .set_metadata(metadata.clone())
            .set_server_side_encryption(
                opt_str(d, "server_side_encryption").map(ServerSideEncryption::from),
            )
            .set_ssekms_key_id(text("kms_key_id"))
            .set_storage_class(opt_str(d, "storage_class").map(StorageClass::from))
            .set_tagging(tagging.clone())
            .body(ByteStream::from(body.clone()))
            .send()
            .await
            .aws(S3, OP)
    })
    .await
    .map(|_| ())
}

async fn put_tags(
    aws: &Aws,
    bucket: &str,
    key: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let set = desired_tags(d)
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| invalid(S3, "PutObjectTagging", e.to_string()))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(set))
        .build()
        .map_err(|e| invalid(S3, "PutObjectTagging", e.to_string()))?;
    retry(deadline, || async {
        aws.s3
            .put_object_tagging()
            .bucket(bucket)
            .key(key)
            .tagging(tagging.clone())
            .send()
            .await
            .aws(S3, "PutObjectTagging")
    })
    .await
    .map(|_| ())
}

/// Reads the object back after a write.
async fn read_back(aws: &Aws, bucket: &str, key: &str, d: &Value) -> Result<Value, ProviderError> {
    read(aws, bucket, key, Some(d))
        .await?
        .ok_or_else(|| crate::iam_util::gone(S3, "HeadObject", &format!("s3://{bucket}/{key}")))
}

pub(crate) struct S3Object;

#[async_trait]
impl ResourceHandler for S3Object {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // Keys repeat across buckets: no de-duplication by ID here.
        let reads = req.known.iter().map(|k| async move {
            let Some((bucket, key)) = bucket_and_key(k) else {
                return Ok(None);
            };
            Ok(read(aws, &bucket, &key, Some(&k.attrs))
                .await?
                .map(|attrs| LiveResource {
                    id: key,
                    address: Some(k.address.clone()),
                    attrs,
                }))
        });
        let mut out = Vec::new();
        for r in bounded_all(reads).await {
            if let Some(Some(live)) = found(r)? {
                out.push(live);
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let bucket = required(d, "bucket", S3, OP)?;
        let key = required(d, "key", S3, OP)?;
        if let Some(existing) = head(aws, bucket, key).await? {
            if !ours(&existing.tags, &req.owner, &req.address) {
                return Err(invalid(
                    S3,
                    OP,
                    conflict(
                        "S3 object",
                        &format!("s3://{bucket}/{key}"),
                        &existing.tags,
                        &req.owner,
                    ),
                ));
            }
            tracing::info!(bucket, key, "adopting the object an earlier attempt put");
        }
        put(aws, bucket, key, d, &deadline).await?;
        read_back(aws, bucket, key, d)
            .await
            .map_err(|e| after_create(key, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let key = update_id(req.id.as_deref(), S3, OP)?;
        let bucket = required(d, "bucket", S3, OP)?;
        if req.changed.iter().any(|c| CONTENT_ARGS.contains(&c.as_str())) {
            put(aws, bucket, key, d, &deadline).await?;
        } else if req.changed.iter().any(|c| c == "tags" || c == "tags_all") {
            put_tags(aws, bucket, key, d, &deadline).await?;
        }
        read_back(aws, bucket, key, d).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let Some(bucket) = opt_str(&req.prior, "bucket") else {
            return Ok(());
        };
        let key = req.id.as_str();
        let listed = aws
            .s3
            .list_object_versions()
            .bucket(bucket)
            .prefix(key)
            .send()
            .await
            .aws(S3, "ListObjectVersions");
        let listed = match listed {
            Err(e) if has_code(&e, "NoSuchBucket") => return Ok(()),
            other => other?,
        };
        let ids: Vec<ObjectIdentifier> = listed
            .versions()
            .iter()
            .map(|v| (v.key(), v.version_id()))
            .chain(listed.delete_markers().iter().map(|m| (m.key(), m.version_id())))
            .filter(|(k, _)| *k == Some(key))
            .filter_map(|(k, version)| {
                ObjectIdentifier::builder()
                    .set_key(k.map(str::to_string))
                    .set_version_id(version.filter(|v| *v != "null").map(str::to_string))
                    .build()
                    .ok()
            })
            .collect();
        if ids.is_empty() {
            // No versions listed (an unversioned bucket may list its
            // object as version "null"): delete the key itself.
            return ignore_gone(
                aws.s3
                    .delete_object()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .aws(S3, "DeleteObject"),
            );
        }
        let delete = Delete::builder()
            .set_objects(Some(ids))
            .quiet(true)
            .build()
            .map_err(|e| invalid(S3, "DeleteObjects", e.to_string()))?;
        let out = aws
            .s3
            .delete_objects()
            .bucket(bucket)
            .delete(delete)
            // Sent only when asked for: S3 refuses the header (even
            // `false`) on a bucket without object lock.
            .set_bypass_governance_retention(bool_arg(&req.prior, "force_destroy").then_some(true))
            .send()
            .await
            .aws(S3, "DeleteObjects")?;
        match out.errors().first() {
            Some(err) => Err(invalid(
                S3,
                "DeleteObjects",
                format!(
                    "could not delete s3://{bucket}/{key}: {}",
                    err.message().unwrap_or_default()
                ),
            )),
            None => Ok(()),
        }
    }
}

fn bool_arg(v: &Value, key: &str) -> bool {
    crate::args::bool_or(v, key, false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn head(etag: &str) -> Head {
        Head {
            etag: Some(format!("\"{etag}\"")),
            content_type: Some("text/plain".into()),
            cache_control: None,
            content_disposition: None,
            content_encoding: None,
            content_language: None,
            metadata: BTreeMap::new(),
            server_side_encryption: Some("AES256".into()),
            kms_key_id: None,
            storage_class: None,
            version_id: None,
            tags: BTreeMap::new(),
        }
    }

    #[test]
    fn import_ids_give_bucket_and_key() {
        assert_eq!(
            split_import_id("b/dir/k.txt"),
            Some(("b".to_string(), "dir/k.txt".to_string()))
        );
        assert_eq!(
            split_import_id("s3://b/k"),
            Some(("b".to_string(), "k".to_string()))
        );
        assert_eq!(split_import_id("k"), None);
    }

    #[test]
    fn content_echoes_only_while_the_etag_matches() {
        let args = Value::map([
            ("bucket", Value::from("b")),
            ("key", Value::from("k")),
            ("content", Value::from("hello")),
        ]);
        let md5 = md5_hex(b"hello");
        assert_eq!(md5, "5d41402abc4b2a76b9719d911017c592");
        let v = object_attrs("b", "k", "us-east-1", &head(&md5), Some(&args), Some(&md5));
        assert_eq!(v.get("content"), Some(&Value::from("hello")));
        assert_eq!(v.get("etag"), Some(&Value::from(md5.as_str())));
        assert_eq!(v.get("storage_class"), Some(&Value::from("STANDARD")));
        assert_eq!(v.get("arn"), Some(&Value::from("arn:aws:s3:::b/k")));
        let v = object_attrs("b", "k", "us-east-1", &head("0000"), Some(&args), Some(&md5));
        assert_eq!(v.get("content"), Some(&Value::Null));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn tags_are_a_url_query() {
        let mut tags = BTreeMap::new();
        tags.insert("stackd:stack".to_string(), "a b".to_string());
        tags.insert("x".to_string(), "1".to_string());
        assert_eq!(tagging_query(&tags), "stackd%3Astack=a%20b&x=1");
    }
}
