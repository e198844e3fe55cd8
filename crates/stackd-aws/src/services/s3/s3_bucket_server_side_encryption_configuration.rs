//! `aws_s3_bucket_server_side_encryption_configuration`: a bucket's default
//! encryption. Its ID is the bucket name, or `bucket,expected_bucket_owner`
//! (also the import IDs, as in Terraform). The whole configuration is
//! replaced on every change; deleting it returns the bucket to S3's default
//! (SSE-S3, which S3 applies to every bucket since 2023).
//!
//! S3 has no batch read: a refresh calls `GetBucketEncryption` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
    ServerSideEncryptionRule,
};
use stackd_engine::provider::ProviderError;
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BucketSetting, SettingHandler, config_id, expected_owner, BUCKET};
use crate::args::{blocks, opt_str, s};
use crate::context::Aws;
use crate::iam_util::{echo, found, ignore_gone, invalid, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::wait::Deadline;

const OP: &str = "PutBucketEncryption";

/// `aws_s3_bucket_server_side_encryption_configuration`: its schema, its
/// handler, and the IAM grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_server_side_encryption_configuration",
    schema,
    handler: &SettingHandler::<S3BucketSseConfiguration>::NEW,
    // Get/Put/DeleteBucketEncryption are all authorised by these two.
    grants: &[g(
        &[
            "s3:GetBucketTagging",
            "s3:GetEncryptionConfiguration",
            "s3:PutEncryptionConfiguration",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_s3_bucket_server_side_encryption_configuration")
        .doc("The default server-side encryption of an S3 bucket.")
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
        .block(
            BlockSchema::new("rule", Nesting::Set)
                .required()
                .block(
                    BlockSchema::new("apply_server_side_encryption_by_default", Nesting::Single)
                        .attr(
                            AttrSchema::required("sse_algorithm", AttrType::String)
                                .check(Check::OneOf(vec!["AES256", "aws:kms", "aws:kms:dsse"])),
                        )
                        .attr(
                            AttrSchema::optional("kms_master_key_id", AttrType::String)
                                .doc("The KMS key for aws:kms (default: the aws/s3 key)."),
                        ),
                )
                .attr(
                    AttrSchema::optional("bucket_key_enabled", AttrType::Bool)
                        .doc("Use an S3 Bucket Key for SSE-KMS."),
                ),
        )
}

fn configuration_of(d: &Value) -> Result<ServerSideEncryptionConfiguration, ProviderError> {
    let rules = blocks(d, "rule")
        .iter()
        .map(|r| {
            let default = blocks(r, "apply_server_side_encryption_by_default")
                .first()
                .map(|b| {
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::from(
                            opt_str(b, "sse_algorithm").unwrap_or("AES256"),
                        ))
                        .set_kms_master_key_id(opt_str(b, "kms_master_key_id").map(str::to_string))
                        .build()
                        .map_err(|e| invalid(S3, OP, e.to_string()))
                })
                .transpose()?;
            Ok(ServerSideEncryptionRule::builder()
                .set_apply_server_side_encryption_by_default(default)
                .set_bucket_key_enabled(r.get("bucket_key_enabled").and_then(Value::as_bool))
                .build())
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    ServerSideEncryptionConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

fn rule_value(r: &ServerSideEncryptionRule) -> Value {
    let default = r
        .apply_server_side_encryption_by_default()
        .map(|b| {
            vec![Value::map([
                ("sse_algorithm", Value::from(b.sse_algorithm().as_str())),
                ("kms_master_key_id", s(b.kms_master_key_id())),
            ])]
        })
        .unwrap_or_default();
    Value::map([
        (
            "apply_server_side_encryption_by_default",
            Value::List(default),
        ),
        (
            "bucket_key_enabled",
            r.bucket_key_enabled().map(Value::Bool).unwrap_or(Value::Null),
        ),
    ])
}

fn sse_attrs(bucket: &str, rules: &[ServerSideEncryptionRule], args: Option<&Value>) -> Value {
    let owner = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    Value::map([
        ("id", Value::from(config_id(bucket, owner))),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        ("rule", Value::List(rules.iter().map(rule_value).collect())),
    ])
}

/// The bucket's encryption configuration; `None` when it has none or the
/// bucket is gone.
async fn read(
    aws: &Aws,
    bucket: &str,
    owner: Option<String>,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_encryption()
            .bucket(bucket)
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, "GetBucketEncryption"),
    )?;
    // A configuration without rules (as LocalStack answers after a delete)
    // is none.
    Ok(out.and_then(|o| {
        o.server_side_encryption_configuration()
            .filter(|c| !c.rules().is_empty())
            .map(|c| sse_attrs(bucket, c.rules(), args))
    }))
}

/// The algorithms of the rules, to recognise the configuration asked for.
fn algorithms(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = blocks(v, "rule")
        .iter()
        .flat_map(|r| blocks(r, "apply_server_side_encryption_by_default"))
        .filter_map(|b| opt_str(b, "sse_algorithm").map(str::to_string))
        .collect();
    out.sort();
    out
}

pub(crate) struct S3BucketSseConfiguration;

#[async_trait]
impl BucketSetting for S3BucketSseConfiguration {
    const PUT: &'static str = OP;
    const GET: &'static str = "GetBucketEncryption";
    const WHAT: &'static str = "the encryption";

    async fn read(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        recorded: Option<&Value>,
    ) -> Result<Option<Value>, ProviderError> {
        read(aws, bucket, owner, recorded).await
    }

    async fn send_put(aws: &Aws, bucket: &str, d: &Value) -> Result<(), ProviderError> {
        let call = aws
            .s3
            .put_bucket_encryption()
            .bucket(bucket)
            .server_side_encryption_configuration(configuration_of(d)?)
            .set_expected_bucket_owner(expected_owner(d));
        call.send().await.aws(S3, OP).map(|_| ())
    }

    fn applied(desired: &Value, live: &Value) -> bool {
        algorithms(live) == algorithms(desired)
    }

    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        _deadline: &Deadline,
    ) -> Result<(), ProviderError> {
        ignore_gone(
            aws.s3
                .delete_bucket_encryption()
                .bucket(bucket)
                .set_expected_bucket_owner(owner)
                .send()
                .await
                .aws(S3, "DeleteBucketEncryption"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_maps_both_ways() {
        let d = Value::map([
            ("bucket", Value::from("b")),
            (
                "rule",
                Value::List(vec![Value::map([
                    (
                        "apply_server_side_encryption_by_default",
                        Value::List(vec![Value::map([
                            ("sse_algorithm", Value::from("aws:kms")),
                            ("kms_master_key_id", Value::from("alias/k")),
                        ])]),
                    ),
                    ("bucket_key_enabled", Value::Bool(true)),
                ])]),
            ),
        ]);
        let c = configuration_of(&d).unwrap();
        let v = sse_attrs("b", c.rules(), Some(&d));
        assert_eq!(v.get("id"), Some(&Value::from("b")));
        assert_eq!(v.get("rule"), d.get("rule"));
        assert_eq!(algorithms(&v), vec!["aws:kms".to_string()]);
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
