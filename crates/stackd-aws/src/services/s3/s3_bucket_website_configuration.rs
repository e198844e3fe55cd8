//! `aws_s3_bucket_website_configuration`: a bucket's static website
//! (index and error documents, or a redirect of every request, and routing
//! rules). Its ID is the bucket name, or `bucket,expected_bucket_owner`
//! (also the import IDs, as in Terraform). `website_endpoint` and
//! `website_domain` are computed from the provider's region as Terraform
//! computes them. The whole configuration is replaced on every change.
//!
//! S3 has no batch read: a refresh calls `GetBucketWebsite` per known
//! bucket, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.
//!
//! Not supported from Terraform's schema: `routing_rules` (the JSON form of
//! `routing_rule`); use `routing_rule` blocks.

use async_trait::async_trait;
use aws_sdk_s3::types::{
    Condition, ErrorDocument, IndexDocument, Protocol, Redirect, RedirectAllRequestsTo,
    RoutingRule, WebsiteConfiguration,
};
use stackd_engine::provider::ProviderError;
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::s3_bucket::S3;
use super::{BucketSetting, SettingHandler, config_id, expected_owner, BUCKET};
use crate::args::{blocks, opt_str, s};
use crate::context::{Aws, Location};
use crate::iam_util::{echo, found, ignore_gone, invalid, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::wait::Deadline;

const OP: &str = "PutBucketWebsite";

/// `aws_s3_bucket_website_configuration`: its schema, its handler, and the
/// IAM grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_s3_bucket_website_configuration",
    schema,
    handler: &SettingHandler::<S3BucketWebsiteConfiguration>::NEW,
    grants: &[g(
        &[
            "s3:DeleteBucketWebsite",
            "s3:GetBucketTagging",
            "s3:GetBucketWebsite",
            "s3:PutBucketWebsite",
        ],
        &[BUCKET],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let protocol = || {
        AttrSchema::optional("protocol", AttrType::String)
            .check(Check::OneOf(vec!["http", "https"]))
    };
    let routing_rule = BlockSchema::new("routing_rule", Nesting::List)
        .block(
            BlockSchema::new("condition", Nesting::Single)
                .attr(AttrSchema::optional(
                    "http_error_code_returned_equals",
                    AttrType::String,
                ))
                .attr(AttrSchema::optional("key_prefix_equals", AttrType::String)),
        )
        .block(
            BlockSchema::new("redirect", Nesting::Single)
                .required()
                .attr(AttrSchema::optional("host_name", AttrType::String))
                .attr(AttrSchema::optional("http_redirect_code", AttrType::String))
                .attr(protocol())
                .attr(AttrSchema::optional(
                    "replace_key_prefix_with",
                    AttrType::String,
                ))
                .attr(AttrSchema::optional("replace_key_with", AttrType::String)),
        );
    ResourceSchema::resource("aws_s3_bucket_website_configuration")
        .doc("The static website configuration of an S3 bucket.")
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
        .retired("routing_rules", "use routing_rule blocks")
        .block(
            BlockSchema::new("index_document", Nesting::Single)
                .attr(AttrSchema::required("suffix", AttrType::String)),
        )
        .block(
            BlockSchema::new("error_document", Nesting::Single)
                .attr(AttrSchema::required("key", AttrType::String)),
        )
        .block(
            BlockSchema::new("redirect_all_requests_to", Nesting::Single)
                .attr(AttrSchema::required("host_name", AttrType::String))
                .attr(protocol()),
        )
        .block(routing_rule)
        .attr(
            AttrSchema::computed("website_endpoint", AttrType::String)
                .doc("bucket.s3-website-region.amazonaws.com"),
        )
        .attr(
            AttrSchema::computed("website_domain", AttrType::String)
                .doc("s3-website-region.amazonaws.com, for Route 53 alias records"),
        )
}

/// The regions whose website endpoints put a dash before the region.
const DASHED_REGIONS: &[&str] = &[
    "ap-northeast-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "eu-west-1",
    "sa-east-1",
    "us-east-1",
    "us-gov-west-1",
    "us-west-1",
    "us-west-2",
];

/// A bucket's website endpoint and domain in a region, as Terraform
/// computes them.
pub(crate) fn website_endpoint_and_domain(bucket: &str, region: &str) -> (String, String) {
    let loc = Location::new(region);
    let domain = if DASHED_REGIONS.contains(&region) {
        format!("s3-website-{region}.{}", loc.dns_suffix())
    } else {
        format!("s3-website.{region}.{}", loc.dns_suffix())
    };
    (format!("{bucket}.{domain}"), domain)
}

fn routing_rule_of(r: &Value) -> Result<RoutingRule, ProviderError> {
    let condition = blocks(r, "condition").first().map(|c| {
        Condition::builder()
            .set_http_error_code_returned_equals(
                opt_str(c, "http_error_code_returned_equals").map(str::to_string),
            )
            .set_key_prefix_equals(opt_str(c, "key_prefix_equals").map(str::to_string))
            .build()
    });
    let redirect = blocks(r, "redirect").first().map(|t| {
        let text = |k| opt_str(t, k).map(str::to_string);
        Redirect::builder()
            .set_host_name(text("host_name"))
            .set_http_redirect_code(text("http_redirect_code"))
            .set_protocol(opt_str(t, "protocol").map(Protocol::from))
            .set_replace_key_prefix_with(text("replace_key_prefix_with"))
            .set_replace_key_with(text("replace_key_with"))
            .build()
    });
    Ok(RoutingRule::builder()
        .set_condition(condition)
        .set_redirect(redirect)
        .build())
}

fn configuration_of(d: &Value) -> Result<WebsiteConfiguration, ProviderError> {
    let build_err = |e: aws_sdk_s3::error::BuildError| invalid(S3, OP, e.to_string());
    let index = blocks(d, "index_document")
        .first()
        .map(|i| {
            IndexDocument::builder()
                .suffix(opt_str(i, "suffix").unwrap_or(""))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let error = blocks(d, "error_document")
        .first()
        .map(|e| {
            ErrorDocument::builder()
                .key(opt_str(e, "key").unwrap_or(""))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    let redirect_all = blocks(d, "redirect_all_requests_to")
        .first()
        .map(|r| {
            RedirectAllRequestsTo::builder()
                .host_name(opt_str(r, "host_name").unwrap_or(""))
                .set_protocol(opt_str(r, "protocol").map(Protocol::from))
                .build()
                .map_err(build_err)
        })
        .transpose()?;
    if redirect_all.is_some() && (index.is_some() || error.is_some()) {
        return Err(invalid(
            S3,
            OP,
            "redirect_all_requests_to conflicts with index_document and error_document",
        ));
    }
    if redirect_all.is_none() && index.is_none() {
        return Err(invalid(
            S3,
            OP,
            "one of index_document or redirect_all_requests_to is required",
        ));
    }
    let rules = blocks(d, "routing_rule")
        .iter()
        .map(routing_rule_of)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(WebsiteConfiguration::builder()
        .set_index_document(index)
        .set_error_document(error)
        .set_redirect_all_requests_to(redirect_all)
        .set_routing_rules((!rules.is_empty()).then_some(rules))
        .build())
}

fn one(v: Option<Value>) -> Value {
    Value::List(v.into_iter().collect())
}

fn routing_rule_value(r: &RoutingRule) -> Value {
    let condition = r.condition().map(|c| {
        Value::map([
            (
                "http_error_code_returned_equals",
                s(c.http_error_code_returned_equals()),
            ),
            ("key_prefix_equals", s(c.key_prefix_equals())),
        ])
    });
    let redirect = r.redirect().map(|t| {
        Value::map([
            ("host_name", s(t.host_name())),
            ("http_redirect_code", s(t.http_redirect_code())),
            ("protocol", s(t.protocol().map(|p| p.as_str()))),
            ("replace_key_prefix_with", s(t.replace_key_prefix_with())),
            ("replace_key_with", s(t.replace_key_with())),
        ])
    });
    Value::map([("condition", one(condition)), ("redirect", one(redirect))])
}

/// The live attributes, from `GetBucketWebsite`'s answer.
struct Website<'a> {
    index: Option<&'a IndexDocument>,
    error: Option<&'a ErrorDocument>,
    redirect_all: Option<&'a RedirectAllRequestsTo>,
    rules: &'a [RoutingRule],
}

fn website_attrs(bucket: &str, region: &str, w: &Website<'_>, args: Option<&Value>) -> Value {
    let owner = args.and_then(|a| opt_str(a, "expected_bucket_owner"));
    let (endpoint, domain) = website_endpoint_and_domain(bucket, region);
    Value::map([
        ("id", Value::from(config_id(bucket, owner))),
        ("bucket", Value::from(bucket)),
        (
            "expected_bucket_owner",
            echo(args, "expected_bucket_owner", Value::Null),
        ),
        (
            "index_document",
            one(w
                .index
                .map(|i| Value::map([("suffix", Value::from(i.suffix()))]))),
        ),
        (
            "error_document",
            one(w.error.map(|e| Value::map([("key", Value::from(e.key()))]))),
        ),
        (
            "redirect_all_requests_to",
            one(w.redirect_all.map(|r| {
                Value::map([
                    ("host_name", Value::from(r.host_name())),
                    ("protocol", s(r.protocol().map(|p| p.as_str()))),
                ])
            })),
        ),
        (
            "routing_rule",
            Value::List(w.rules.iter().map(routing_rule_value).collect()),
        ),
        ("website_endpoint", Value::from(endpoint)),
        ("website_domain", Value::from(domain)),
    ])
}

/// The bucket's website configuration; `None` when it has none or the
/// bucket is gone.
async fn read(
    aws: &Aws,
    bucket: &str,
    owner: Option<String>,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.s3
            .get_bucket_website()
            .bucket(bucket)
            .set_expected_bucket_owner(owner)
            .send()
            .await
            .aws(S3, "GetBucketWebsite"),
    )?;
    Ok(out.map(|o| {
        let w = Website {
            index: o.index_document(),
            error: o.error_document(),
            redirect_all: o.redirect_all_requests_to(),
            rules: o.routing_rules(),
        };
        website_attrs(bucket, &aws.loc.region, &w, args)
    }))
}

/// What identifies a configuration: its index suffix, error key and
/// redirect host.
fn signature(v: &Value) -> (Option<String>, Option<String>, Option<String>) {
    let first = |block: &str, key: &str| {
        blocks(v, block)
            .first()
            .and_then(|b| opt_str(b, key))
            .map(str::to_string)
    };
    (
        first("index_document", "suffix"),
        first("error_document", "key"),
        first("redirect_all_requests_to", "host_name"),
    )
}

pub(crate) struct S3BucketWebsiteConfiguration;

#[async_trait]
impl BucketSetting for S3BucketWebsiteConfiguration {
    const PUT: &'static str = OP;
    const GET: &'static str = "GetBucketWebsite";
    const WHAT: &'static str = "the website configuration";

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
            .put_bucket_website()
            .bucket(bucket)
            .website_configuration(configuration_of(d)?)
            .set_expected_bucket_owner(expected_owner(d));
        call.send().await.aws(S3, OP).map(|_| ())
    }

    fn applied(desired: &Value, live: &Value) -> bool {
        signature(live) == signature(desired)
    }

    async fn remove(
        aws: &Aws,
        bucket: &str,
        owner: Option<String>,
        _deadline: &Deadline,
    ) -> Result<(), ProviderError> {
        ignore_gone(
            aws.s3
                .delete_bucket_website()
                .bucket(bucket)
                .set_expected_bucket_owner(owner)
                .send()
                .await
                .aws(S3, "DeleteBucketWebsite"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn website_endpoints_follow_the_region_style() {
        assert_eq!(
            website_endpoint_and_domain("b", "us-east-1"),
            (
                "b.s3-website-us-east-1.amazonaws.com".to_string(),
                "s3-website-us-east-1.amazonaws.com".to_string()
            )
        );
        assert_eq!(
            website_endpoint_and_domain("b", "eu-central-1").0,
            "b.s3-website.eu-central-1.amazonaws.com"
        );
    }

    #[test]
    fn documents_and_rules_map_both_ways() {
        let d = Value::map([
            ("bucket", Value::from("b")),
            (
                "index_document",
                Value::List(vec![Value::map([("suffix", Value::from("index.html"))])]),
            ),
            (
                "routing_rule",
                Value::List(vec![Value::map([
                    (
                        "condition",
                        Value::List(vec![Value::map([(
                            "key_prefix_equals",
                            Value::from("docs/"),
                        )])]),
                    ),
                    (
                        "redirect",
                        Value::List(vec![Value::map([(
                            "replace_key_prefix_with",
                            Value::from("documents/"),
                        )])]),
                    ),
                ])]),
            ),
        ]);
        let c = configuration_of(&d).unwrap();
        let w = Website {
            index: c.index_document(),
            error: c.error_document(),
            redirect_all: c.redirect_all_requests_to(),
            rules: c.routing_rules(),
        };
        let v = website_attrs("b", "us-east-1", &w, Some(&d));
        assert_eq!(signature(&v), (Some("index.html".into()), None, None));
        let rule = &blocks(&v, "routing_rule")[0];
        assert_eq!(
            blocks(rule, "redirect")[0].get("replace_key_prefix_with"),
            Some(&Value::from("documents/"))
        );
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        let both = Value::map([
            ("index_document", d.get("index_document").cloned().unwrap()),
            (
                "redirect_all_requests_to",
                Value::List(vec![Value::map([("host_name", Value::from("x"))])]),
            ),
        ]);
        assert!(configuration_of(&both).is_err());
    }
}
