//! `aws_s3_bucket_lifecycle_configuration`: the lifecycle rules of a bucket
//! (expiration, transitions, multipart clean-up). Its ID is the bucket
//! name. The whole configuration is replaced on every change.
//!
//! S3 has no batch read: a refresh calls `GetBucketLifecycleConfiguration`
//! per known bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
//!
//! Not supported from Terraform's schema: `transition_default_minimum_object_size`.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleAndOperator, LifecycleRuleFilter,
    NoncurrentVersionExpiration, NoncurrentVersionTransition, Tag, Transition,
    TransitionStorageClass,
};
use aws_smithy_types::date_time::Format;
use aws_smithy_types::DateTime;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::BUCKET;
use crate::args::{blocks, num, opt_int, opt_str, s, sort_blocks, str_map};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    echo, found, ignore_gone, invalid, read_each, required, update_id, AwsResult,
};
use crate::policy::g;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

const OP: &str = "PutBucketLifecycleConfiguration";

fn n(name: &'static str) -> AttrSchema {
    AttrSchema::optional(name, AttrType::Number)
}

/// `aws_s3_bucket_lifecycle_configuration`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_lifecycle_configuration",
    schema,
    handler: &S3BucketLifecycleConfiguration,
    grants: &[g(
        &[
            "s3:GetLifecycleConfiguration",
            "s3:PutLifecycleConfiguration",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let filter = BlockSchema::new("filter", Nesting::Single)
        .attr(AttrSchema::optional("prefix", AttrType::String))
        .attr(n("object_size_greater_than"))
        .attr(n("object_size_less_than"))
        .block(
            BlockSchema::new("tag", Nesting::Single)
                .attr(AttrSchema::required("key", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String)),
        )
        .block(
            BlockSchema::new("and", Nesting::Single)
                .attr(AttrSchema::optional("prefix", AttrType::String))
                .attr(n("object_size_greater_than"))
                .attr(n("object_size_less_than"))
                .attr(AttrSchema::optional(
                    "tags",
                    AttrType::map_of(AttrType::String),
                )),
        );
    let rule = BlockSchema::new("rule", Nesting::List)
        .required()
        .attr(AttrSchema::required("id", AttrType::String))
        .attr(
            AttrSchema::required("status", AttrType::String)
                .check(Check::OneOf(vec!["Enabled", "Disabled"])),
        )
        .attr(AttrSchema::optional("prefix", AttrType::String).doc("Deprecated: use filter."))
        .block(filter)
        .block(
            BlockSchema::new("expiration", Nesting::Single)
                .attr(AttrSchema::optional("date", AttrType::String))
                .attr(n("days"))
                .attr(AttrSchema::optional_computed(
                    "expired_object_delete_marker",
                    AttrType::Bool,
                )),
        )
        .block(
            BlockSchema::new("noncurrent_version_expiration", Nesting::Single)
                .attr(n("newer_noncurrent_versions"))
                .attr(n("noncurrent_days")),
        )
        .block(
            BlockSchema::new("noncurrent_version_transition", Nesting::Set)
                .attr(n("newer_noncurrent_versions"))
                .attr(n("noncurrent_days"))
                .attr(AttrSchema::required("storage_class", AttrType::String)),
        )
        .block(
            BlockSchema::new("transition", Nesting::Set)
                .attr(AttrSchema::optional("date", AttrType::String))
                .attr(n("days"))
                .attr(AttrSchema::required("storage_class", AttrType::String)),
        )
        .block(
            BlockSchema::new("abort_incomplete_multipart_upload", Nesting::Single)
                .attr(n("days_after_initiation")),
        );
    ResourceSchema::resource("aws_s3_bucket_lifecycle_configuration")
        .doc("The lifecycle rules of an S3 bucket.")
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
        .block(rule)
}

// ---------------------------------------------------------------------------
// Desired value → SDK

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).map(|n| n as i32)
}

fn i64_of(v: &Value, key: &str) -> Option<i64> {
    opt_int(v, key).or_else(|| opt_str(v, key).and_then(|s| s.parse().ok()))
}

fn date(v: &Value, key: &str) -> Result<Option<DateTime>, ProviderError> {
    opt_str(v, key)
        .map(|d| {
            DateTime::from_str(d, Format::DateTime)
                .map_err(|e| invalid(S3, OP, format!("{key} {d:?} is not an RFC 3339 date: {e}")))
        })
        .transpose()
}

fn s3_tag(key: &str, value: &str) -> Result<Tag, ProviderError> {
    Tag::builder()
        .key(key)
        .value(value)
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

fn filter_of(f: &Value) -> Result<LifecycleRuleFilter, ProviderError> {
    let tag = blocks(f, "tag")
        .first()
        .map(|t| {
            s3_tag(
                opt_str(t, "key").unwrap_or(""),
                opt_str(t, "value").unwrap_or(""),
            )
        })
        .transpose()?;
    let and = match blocks(f, "and").first() {
        Some(a) => Some(
            LifecycleRuleAndOperator::builder()
                .set_prefix(opt_str(a, "prefix").map(str::to_string))
                .set_object_size_greater_than(i64_of(a, "object_size_greater_than"))
                .set_object_size_less_than(i64_of(a, "object_size_less_than"))
                .set_tags(Some(
                    str_map(a, "tags")
                        .iter()
                        .map(|(k, v)| s3_tag(k, v))
                        .collect::<Result<_, _>>()?,
                ))
                .build(),
        ),
        None => None,
    };
    let built = LifecycleRuleFilter::builder()
        .set_tag(tag)
        .set_and(and)
        .set_object_size_greater_than(i64_of(f, "object_size_greater_than"))
        .set_object_size_less_than(i64_of(f, "object_size_less_than"))
        .set_prefix(opt_str(f, "prefix").map(str::to_string))
        .build();
    // An empty `filter {}` means every object: S3 wants an empty prefix.
    if is_empty_filter(&built) {
        return Ok(LifecycleRuleFilter::builder().prefix("").build());
    }
    Ok(built)
}

fn rule_of(r: &Value) -> Result<LifecycleRule, ProviderError> {
    let filter = match blocks(r, "filter").first() {
        Some(f) => Some(filter_of(f)?),
        // Neither filter nor prefix: the whole bucket, as Terraform sends it.
        None if opt_str(r, "prefix").is_none() => {
            Some(LifecycleRuleFilter::builder().prefix("").build())
        }
        None => None,
    };
    let expiration = match blocks(r, "expiration").first() {
        Some(e) => Some(
            LifecycleExpiration::builder()
                .set_date(date(e, "date")?)
                .set_days(int(e, "days"))
                .set_expired_object_delete_marker(
                    e.get("expired_object_delete_marker")
                        .and_then(Value::as_bool)
                        .filter(|b| *b),
                )
                .build(),
        ),
        None => None,
    };
    let transitions = blocks(r, "transition")
        .iter()
        .map(|t| {
            Ok(Transition::builder()
                .set_date(date(t, "date")?)
                .set_days(int(t, "days"))
                .set_storage_class(opt_str(t, "storage_class").map(TransitionStorageClass::from))
                .build())
        })
        .collect::<Result<Vec<_>, ProviderError>>()?;
    let noncurrent_transitions = blocks(r, "noncurrent_version_transition")
        .iter()
        .map(|t| {
            NoncurrentVersionTransition::builder()
                .set_noncurrent_days(int(t, "noncurrent_days"))
                .set_newer_noncurrent_versions(int(t, "newer_noncurrent_versions"))
                .set_storage_class(opt_str(t, "storage_class").map(TransitionStorageClass::from))
                .build()
        })
        .collect::<Vec<_>>();
    // `prefix` outside `filter` is deprecated in S3 as in Terraform, and
    // still honoured by both.
    #[allow(deprecated)]
    let builder = LifecycleRule::builder()
        .id(opt_str(r, "id").unwrap_or(""))
        .status(ExpirationStatus::from(
            opt_str(r, "status").unwrap_or("Enabled"),
        ))
        .set_prefix(opt_str(r, "prefix").map(str::to_string));
    builder
        .set_filter(filter)
        .set_expiration(expiration)
        .set_transitions((!transitions.is_empty()).then_some(transitions))
        .set_noncurrent_version_transitions(
            (!noncurrent_transitions.is_empty()).then_some(noncurrent_transitions),
        )
        .set_noncurrent_version_expiration(blocks(r, "noncurrent_version_expiration").first().map(
            |e| {
                NoncurrentVersionExpiration::builder()
                    .set_noncurrent_days(int(e, "noncurrent_days"))
                    .set_newer_noncurrent_versions(int(e, "newer_noncurrent_versions"))
                    .build()
            },
        ))
        .set_abort_incomplete_multipart_upload(
            blocks(r, "abort_incomplete_multipart_upload")
                .first()
                .map(|a| {
                    AbortIncompleteMultipartUpload::builder()
                        .set_days_after_initiation(int(a, "days_after_initiation"))
                        .build()
                }),
        )
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

fn configuration_of(d: &Value) -> Result<BucketLifecycleConfiguration, ProviderError> {
    let rules = blocks(d, "rule")
        .iter()
        .map(rule_of)
        .collect::<Result<Vec<_>, _>>()?;
    BucketLifecycleConfiguration::builder()
        .set_rules(Some(rules))
        .build()
        .map_err(|e| invalid(S3, OP, e.to_string()))
}

// ---------------------------------------------------------------------------
// SDK → attributes

fn opt_num(n: Option<i64>) -> Value {
    n.map(num).unwrap_or(Value::Null)
}

fn date_value(d: Option<&DateTime>) -> Value {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
        .unwrap_or(Value::Null)
}

fn is_empty_filter(f: &LifecycleRuleFilter) -> bool {
    f.prefix().unwrap_or("").is_empty()
        && f.tag().is_none()
        && f.and().is_none()
        && f.object_size_greater_than().is_none()
        && f.object_size_less_than().is_none()
}

/// The `filter` blocks of a live rule. A filter matching every object
/// (empty prefix) reads as an empty `filter {}` when the user wrote one and
/// as no block when they did not: S3 stores both the same way.
fn filter_value(f: Option<&LifecycleRuleFilter>, wrote_filter: bool) -> Value {
    let Some(f) = f else {
        return Value::List(vec![]);
    };
    if is_empty_filter(f) && !wrote_filter {
        return Value::List(vec![]);
    }
    let tag = f
        .tag()
        .map(|t| {
            vec![Value::map([
                ("key", Value::from(t.key())),
                ("value", Value::from(t.value())),
            ])]
        })
        .unwrap_or_default();
    let and = f
        .and()
        .map(|a| {
            vec![Value::map([
                ("prefix", s(a.prefix())),
                (
                    "object_size_greater_than",
                    opt_num(a.object_size_greater_than()),
                ),
                ("object_size_less_than", opt_num(a.object_size_less_than())),
                (
                    "tags",
                    if a.tags().is_empty() {
                        Value::Null
                    } else {
                        Value::Map(
                            a.tags()
                                .iter()
                                .map(|t| (t.key().to_string(), Value::from(t.value())))
                                .collect(),
                        )
                    },
                ),
            ])]
        })
        .unwrap_or_default();
    Value::List(vec![Value::map([
        ("prefix", s(f.prefix())),
        (
            "object_size_greater_than",
            opt_num(f.object_size_greater_than()),
        ),
        ("object_size_less_than", opt_num(f.object_size_less_than())),
        ("tag", Value::List(tag)),
        ("and", Value::List(and)),
    ])])
}

fn rule_value(r: &LifecycleRule, wrote_filter: bool) -> Value {
    #[allow(deprecated)] // Terraform's deprecated rule-level `prefix`.
    let prefix = s(r.prefix());
    let expiration = r
        .expiration()
        .map(|e| {
            vec![Value::map([
                ("date", date_value(e.date())),
                ("days", opt_num(e.days().map(i64::from))),
                (
                    "expired_object_delete_marker",
                    e.expired_object_delete_marker()
                        .map(Value::Bool)
                        .unwrap_or(Value::Null),
                ),
            ])]
        })
        .unwrap_or_default();
    let transitions = r
        .transitions()
        .iter()
        .map(|t| {
            Value::map([
                ("date", date_value(t.date())),
                ("days", opt_num(t.days().map(i64::from))),
                ("storage_class", s(t.storage_class().map(|c| c.as_str()))),
            ])
        })
        .collect();
    let noncurrent_transitions = r
        .noncurrent_version_transitions()
        .iter()
        .map(|t| {
            Value::map([
                (
                    "newer_noncurrent_versions",
                    opt_num(t.newer_noncurrent_versions().map(i64::from)),
                ),
                (
                    "noncurrent_days",
                    opt_num(t.noncurrent_days().map(i64::from)),
                ),
                ("storage_class", s(t.storage_class().map(|c| c.as_str()))),
            ])
        })
        .collect();
    let noncurrent_expiration = r
        .noncurrent_version_expiration()
        .map(|e| {
            vec![Value::map([
                (
                    "newer_noncurrent_versions",
                    opt_num(e.newer_noncurrent_versions().map(i64::from)),
                ),
                (
                    "noncurrent_days",
                    opt_num(e.noncurrent_days().map(i64::from)),
                ),
            ])]
        })
        .unwrap_or_default();
    let abort = r
        .abort_incomplete_multipart_upload()
        .map(|a| {
            vec![Value::map([(
                "days_after_initiation",
                opt_num(a.days_after_initiation().map(i64::from)),
            )])]
        })
        .unwrap_or_default();
    Value::map([
        ("id", s(r.id())),
        ("status", Value::from(r.status().as_str())),
        ("prefix", prefix),
        ("filter", filter_value(r.filter(), wrote_filter)),
        ("expiration", Value::List(expiration)),
        ("transition", Value::List(sort_blocks(transitions))),
        (
            "noncurrent_version_transition",
            Value::List(sort_blocks(noncurrent_transitions)),
        ),
        (
            "noncurrent_version_expiration",
            Value::List(noncurrent_expiration),
        ),
        ("abort_incomplete_multipart_upload", Value::List(abort)),
    ])
}

/// IDs of the rules that were written with a `filter` block.
fn rules_with_filter(args: Option<&Value>) -> Vec<String> {
    args.map(|a| {
        blocks(a, "rule")
            .iter()
            .filter(|r| !blocks(r, "filter").is_empty())
            .filter_map(|r| opt_str(r, "id").map(str::to_string))
            .collect()
    })
    .unwrap_or_default()
}

fn lifecycle_attrs(bucket: &str, rules: &[LifecycleRule], args: Option<&Value>) -> Value {
    let with_filter = rules_with_filter(args);
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        (
            "rule",
            Value::List(
                rules
                    .iter()
                    .map(|r| {
                        let wrote = r.id().is_some_and(|id| with_filter.iter().any(|w| w == id));
                        rule_value(r, wrote)
                    })
                    .collect(),
            ),
        ),
    ])
}

async fn get_rules(
    aws: &Aws,
    bucket: &str,
    owner: Option<&str>,
) -> Result<Option<Vec<LifecycleRule>>, ProviderError> {
    let out = aws
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .set_expected_bucket_owner(owner.map(str::to_string))
        .send()
        .await
        .aws(S3, "GetBucketLifecycleConfiguration");
    match out {
        Ok(o) => Ok(Some(o.rules().to_vec())),
        Err(e) if has_code(&e, "NoSuchLifecycleConfiguration") => Ok(None),
        Err(e) => found(Err(e)),
    }
}

async fn read(
    aws: &Aws,
    bucket: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let owner = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    Ok(get_rules(aws, bucket, owner)
        .await?
        .map(|rules| lifecycle_attrs(bucket, &rules, args)))
}

/// Puts the configuration and waits until S3 reads back its rules (reads
/// may lag a put for a while).
async fn put(
    aws: &Aws,
    bucket: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let config = configuration_of(d)?;
    let want: Vec<String> = blocks(d, "rule")
        .iter()
        .filter_map(|r| opt_str(r, "id").map(str::to_string))
        .collect();
    let call = aws
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .set_expected_bucket_owner(opt_str(d, "expected_bucket_owner").map(str::to_string));
    retry(deadline, || async { call.clone().send().await.aws(S3, OP) }).await?;
    until(
        deadline,
        "GetBucketLifecycleConfiguration",
        &format!("the lifecycle rules of {bucket} to apply"),
        || async {
            Ok(read(aws, bucket, Some(d)).await?.filter(|v| {
                let ids: Vec<String> = blocks(v, "rule")
                    .iter()
                    .filter_map(|r| opt_str(r, "id").map(str::to_string))
                    .collect();
                ids == want
            }))
        },
    )
    .await
}

pub(crate) struct S3BucketLifecycleConfiguration;

#[async_trait]
impl ResourceHandler for S3BucketLifecycleConfiguration {
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
        let bucket = required(&req.desired, "bucket", S3, OP)?;
        // Putting the same configuration again is harmless: no adoption needed.
        put(aws, bucket, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(bucket, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let bucket = update_id(req.id.as_deref(), S3, OP)?;
        put(aws, bucket, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_gone(
            aws.s3
                .delete_bucket_lifecycle()
                .bucket(&req.id)
                .set_expected_bucket_owner(
                    opt_str(&req.prior, "expected_bucket_owner").map(str::to_string),
                )
                .send()
                .await
                .aws(S3, "DeleteBucketLifecycle"),
        )
    }
}

/// Every attribute and block name the schema knows, per block.
#[cfg(test)]
fn schema_keys(b: &BlockSchema) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut out = std::collections::BTreeMap::new();
    out.insert(
        b.name.to_string(),
        b.attrs
            .iter()
            .map(|a| a.name.to_string())
            .chain(b.blocks.iter().map(|x| x.name.to_string()))
            .collect(),
    );
    for x in &b.blocks {
        out.extend(schema_keys(x));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(pairs: Vec<(&str, Value)>) -> Value {
        Value::map(pairs)
    }

    fn desired() -> Value {
        Value::map([
            ("bucket", Value::from("logs")),
            (
                "rule",
                Value::List(vec![
                    rule(vec![
                        ("id", Value::from("expire-logs")),
                        ("status", Value::from("Enabled")),
                        (
                            "filter",
                            Value::List(vec![Value::map([("prefix", Value::from("access/"))])]),
                        ),
                        (
                            "expiration",
                            Value::List(vec![Value::map([("days", Value::from(90))])]),
                        ),
                        (
                            "transition",
                            Value::List(vec![Value::map([
                                ("days", Value::from(30)),
                                ("storage_class", Value::from("STANDARD_IA")),
                            ])]),
                        ),
                        (
                            "noncurrent_version_expiration",
                            Value::List(vec![Value::map([("noncurrent_days", Value::from(7))])]),
                        ),
                    ]),
                    rule(vec![
                        ("id", Value::from("uploads")),
                        ("status", Value::from("Disabled")),
                        (
                            "abort_incomplete_multipart_upload",
                            Value::List(vec![Value::map([(
                                "days_after_initiation",
                                Value::from(3),
                            )])]),
                        ),
                    ]),
                ]),
            ),
        ])
    }

    #[test]
    fn rules_map_to_the_sdk() {
        let c = configuration_of(&desired()).unwrap();
        let r = &c.rules()[0];
        assert_eq!(r.id(), Some("expire-logs"));
        assert_eq!(r.filter().and_then(|f| f.prefix()), Some("access/"));
        assert_eq!(r.expiration().and_then(|e| e.days()), Some(90));
        assert_eq!(
            r.transitions()[0].storage_class(),
            Some(&TransitionStorageClass::StandardIa)
        );
        let r = &c.rules()[1];
        assert_eq!(r.status(), &ExpirationStatus::Disabled);
        // No filter and no prefix: the whole bucket.
        assert_eq!(r.filter().and_then(|f| f.prefix()), Some(""));
        assert_eq!(
            r.abort_incomplete_multipart_upload()
                .and_then(|a| a.days_after_initiation()),
            Some(3)
        );
    }

    #[test]
    fn a_round_trip_reads_back_what_was_written() {
        let d = desired();
        let c = configuration_of(&d).unwrap();
        let v = lifecycle_attrs("logs", c.rules(), Some(&d));
        let rules = blocks(&v, "rule");
        assert_eq!(rules.len(), 2);
        assert_eq!(
            blocks(&rules[0], "filter")[0].get("prefix"),
            Some(&Value::from("access/"))
        );
        // The implicit whole-bucket filter of the second rule is not shown.
        assert!(blocks(&rules[1], "filter").is_empty());
        assert_eq!(
            blocks(&rules[0], "expiration")[0].get("days"),
            Some(&Value::from(90))
        );
        // Every key the schema knows is present, at every level.
        let keys = schema_keys(&schema().body);
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        for k in &keys["rule"] {
            assert!(rules[0].get(k).is_some(), "rule.{k} missing");
        }
        for k in &keys["filter"] {
            assert!(
                blocks(&rules[0], "filter")[0].get(k).is_some(),
                "filter.{k} missing"
            );
        }
    }

    #[test]
    fn an_empty_filter_block_reads_back_as_one() {
        let d = Value::map([(
            "rule",
            Value::List(vec![rule(vec![
                ("id", Value::from("all")),
                ("status", Value::from("Enabled")),
                ("filter", Value::List(vec![Value::map::<&str>([])])),
            ])]),
        )]);
        let c = configuration_of(&d).unwrap();
        assert_eq!(c.rules()[0].filter().and_then(|f| f.prefix()), Some(""));
        let v = lifecycle_attrs("b", c.rules(), Some(&d));
        assert_eq!(blocks(&blocks(&v, "rule")[0], "filter").len(), 1);
    }

    #[test]
    fn dates_must_be_rfc3339() {
        let d = Value::map([("date", Value::from("2030-01-01T00:00:00Z"))]);
        assert!(date(&d, "date").unwrap().is_some());
        assert!(date(&Value::map([("date", Value::from("tomorrow"))]), "date").is_err());
    }
}
