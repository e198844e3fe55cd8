//! `aws_s3_bucket_cors_configuration`: a bucket's CORS rules. Its ID is the
//! bucket name, or `bucket,expected_bucket_owner` (also the import IDs, as
//! in Terraform). The whole configuration is replaced on every change.
//!
//! S3 has no batch read: a refresh calls `GetBucketCors` per known bucket,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use aws_sdk_s3::types::{CorsConfiguration, CorsRule};
use stackd_engine::provider::ProviderError;
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BucketSetting, SettingHandler, config_id, expected_owner, BUCKET};
use crate::args::{blocks, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::iam_util::{echo, found, ignore_gone, invalid, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::wait::Deadline;

const OP: &str = "PutBucketCors";

/// `aws_s3_bucket_cors_configuration`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_cors_configuration",
    schema,
    handler: &SettingHandler::<S3BucketCorsConfiguration>::NEW,
    // Get/Put/DeleteBucketCors are authorised by these two.
    grants: &[g(
        &["s3:GetBucketCORS", "s3:GetBucketTagging", "s3:PutBucketCORS"],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let strings = || AttrType::set_of(AttrType::String);
    ResourceSchema::resource("aws_s3_bucket_cors_configuration")
        .doc("The CORS rules of an S3 bucket.")
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
            BlockSchema::new("cors_rule", Nesting::Set)
                .required()
                .attr(AttrSchema::optional("allowed_headers", strings()))
                .attr(AttrSchema::required("allowed_methods", strings()))
                .attr(AttrSchema::required("allowed_origins", strings()))
                .attr(AttrSchema::optional("expose_headers", strings()))
                .attr(AttrSchema::optional("id", AttrType::String))
                .attr(AttrSchema::optional("max_age_seconds", AttrType::Number)),
        )
}

fn rule_of(r: &Value) -> Result<CorsRule, ProviderError> {
    let opt_list = |key| Some(str_list(r, key)).filter(|l| !l.is_empty());
    CorsRule::builder()
        .set_id(opt_str(r, "id").map(str::to_string))
        .set_allowed_headers(opt_list("allowed_headers"))
        .set_allowed_methods(Some(str_list(r, "allowed_methods")))
        .set_allowed_origins(Some(str_list(r, "allowed_origins")))
        .set_expose_headers(opt_list("expose_headers"))
        .set_max_age_seconds(opt_int(r, "max_age_seconds").map(|n| n as i32))
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

fn configuration_of(d: &Value) -> Result<CorsConfiguration, ProviderError> {
    let rules = blocks(d, "cors_rule")
        .iter()
        .map(rule_of)
        .collect::<Result<Vec<_>, _>>()?;
    CorsConfiguration::builder()
        .set_cors_rules(Some(rules))
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

fn rule_value(r: &CorsRule) -> Value {
    let set = |items: &[String]| set_or_null(items.to_vec());
    Value::map([
        ("allowed_headers", set(r.allowed_headers())),
        ("allowed_methods", set(r.allowed_methods())),
        ("allowed_origins", set(r.allowed_origins())),
        ("expose_headers", set(r.expose_headers())),
        ("id", s(r.id())),
        (
            "max_age_seconds",
            r.max_age_seconds().map(num).unwrap_or(Value::Null),
        ),
    ])
}

fn cors_attrs(bucket: &str, rules: &[CorsRule], args: Option<&Value>) -> Value {
    let owner = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    Value::map([
        ("id", Value::from(config_id(bucket, owner))),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        (
            "cors_rule",
            Value::List(rules.iter().map(rule_value).collect()),
        ),
    ])
}

/// The bucket's CORS rules; `None` when it has none or the bucket is gone.
async fn read(
    aws: &Aws,
    bucket: &str,
    owner: Option<String>,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_cors()
            .bucket(bucket)
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, "GetBucketCors"),
    )?;
    Ok(out.map(|o| cors_attrs(bucket, o.cors_rules(), args)))
}

/// The origins of every rule, to recognise the configuration asked for.
fn origins(v: &Value) -> Vec<String> {
    let mut out: Vec<String> = blocks(v, "cors_rule")
        .iter()
        .flat_map(|r| str_list(r, "allowed_origins"))
        .collect();
    out.sort();
    out
}

pub(crate) struct S3BucketCorsConfiguration;

#[async_trait]
impl BucketSetting for S3BucketCorsConfiguration {
    const PUT: &'static str = OP;
    const GET: &'static str = "GetBucketCors";
    const WHAT: &'static str = "the CORS rules";

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
            .put_bucket_cors()
            .bucket(bucket)
            .cors_configuration(configuration_of(d)?)
            .set_expected_bucket_owner(expected_owner(d));
        call.send().await.aws(S3, OP).map(|_| ())
    }

    fn applied(desired: &Value, live: &Value) -> bool {
        origins(live) == origins(desired)
    }

    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        _deadline: &Deadline,
    ) -> Result<(), ProviderError> {
        ignore_gone(
            aws.s3
                .delete_bucket_cors()
                .bucket(bucket)
                .set_expected_bucket_owner(owner)
                .send()
                .await
                .aws(S3, "DeleteBucketCors"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_maps_both_ways() {
        let list = |items: &[&str]| Value::List(items.iter().map(|s| Value::from(*s)).collect());
        let rule = Value::map([
            ("allowed_headers", list(&["*"])),
            ("allowed_methods", list(&["GET", "PUT"])),
            ("allowed_origins", list(&["https://example.com"])),
            ("expose_headers", Value::Null),
            ("id", Value::from("r1")),
            ("max_age_seconds", num(3000)),
        ]);
        let d = Value::map([
            ("bucket", Value::from("b")),
            ("cors_rule", Value::List(vec![rule.clone()])),
        ]);
        let c = configuration_of(&d).unwrap();
        let v = cors_attrs("b", c.cors_rules(), Some(&d));
        assert_eq!(blocks(&v, "cors_rule"), &[rule]);
        assert_eq!(origins(&v), vec!["https://example.com".to_string()]);
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
