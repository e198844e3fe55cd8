//! `aws_cloudtrail`: a trail delivering the account's API activity to an S3
//! bucket, and optionally to a CloudWatch Logs group and an SNS topic. Its
//! ID, and import ID, is its name.
//!
//! A refresh is one `DescribeTrails` call for the known names and one
//! `ListTags` chain (20 trails a call); whether a trail is logging comes
//! from `GetTrailStatus`, one call per trail (no batch form). Event, data
//! and insight selectors are not served yet: a spec that writes them is an
//! error (unknown block), never silently ignored.
//!
//! A create right after the bucket's policy (or the topic's) is put may be
//! refused until the policy is visible to CloudTrail: those refusals are
//! retried within the create's timeout.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_cloudtrail::types::{Tag, Trail};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{CLOUDTRAIL, TRAIL};
use crate::args::{bool_or, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, conflict, found, gone, ignore_gone, invalid, ours, read_each, required, tags_attr,
    update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::pass_role;
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

/// `ListTags` takes at most 20 trails.
const TRAILS_PER_TAG_CALL: usize = 20;

/// `aws_cloudtrail`: its schema, its handler, and the IAM grants of every
/// call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_cloudtrail",
    schema,
    handler: &CloudTrail,
    grants: &[
        g(&["cloudtrail:DescribeTrails"], ANY),
        g(
            &[
                "cloudtrail:AddTags",
                "cloudtrail:CreateTrail",
                "cloudtrail:DeleteTrail",
                "cloudtrail:GetTrailStatus",
                "cloudtrail:ListTags",
                "cloudtrail:RemoveTags",
                "cloudtrail:StartLogging",
                "cloudtrail:StopLogging",
                "cloudtrail:UpdateTrail",
            ],
            &[TRAIL],
        ),
        // Delivering to CloudWatch Logs passes the role CloudTrail assumes.
        pass_role(&["cloudtrail.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    use AttrSchema as A;
    use AttrType::{Bool, String as Str};
    ResourceSchema::resource("aws_cloudtrail")
        .doc("A CloudTrail trail.")
        .attr(A::required("name", Str).force_new().doc("The trail's name (also its ID)."))
        .attr(A::required("s3_bucket_name", Str).doc("The bucket the log files go to."))
        .attr(A::optional("s3_key_prefix", Str))
        .attr(A::optional("include_global_service_events", Bool).default(true))
        .attr(A::optional("is_multi_region_trail", Bool).default(false))
        .attr(A::optional("is_organization_trail", Bool).default(false))
        .attr(A::optional("enable_log_file_validation", Bool).default(false))
        .attr(
            A::optional("enable_logging", Bool)
                .default(true)
                .doc("Whether the trail records (StartLogging / StopLogging)."),
        )
        .attr(A::optional("sns_topic_name", Str).doc("A topic told of each log file delivered."))
        .attr(A::optional("cloud_watch_logs_group_arn", Str).doc("The log group's ARN, ending in `:*`."))
        .attr(A::optional("cloud_watch_logs_role_arn", Str))
        .attr(A::optional("kms_key_id", Str).doc("The KMS key (ARN) that encrypts the log files."))
        .attr(A::computed("arn", Str))
        .attr(A::computed("home_region", Str))
        .attr(A::computed("sns_topic_arn", Str))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// A trail's attributes; `logging` from `GetTrailStatus`.
fn trail_attrs(t: &Trail, logging: bool, tags: &BTreeMap<String, String>) -> Value {
    let topic_name = t.sns_topic_arn().and_then(|a| a.rsplit(':').next());
    Value::map([
        ("id", s(t.name())),
        ("name", s(t.name())),
        ("arn", s(t.trail_arn())),
        ("home_region", s(t.home_region())),
        ("s3_bucket_name", s(t.s3_bucket_name())),
        ("s3_key_prefix", s(t.s3_key_prefix())),
        (
            "include_global_service_events",
            Value::Bool(t.include_global_service_events().unwrap_or(true)),
        ),
        (
            "is_multi_region_trail",
            Value::Bool(t.is_multi_region_trail().unwrap_or(false)),
        ),
        (
            "is_organization_trail",
            Value::Bool(t.is_organization_trail().unwrap_or(false)),
        ),
        (
            "enable_log_file_validation",
            Value::Bool(t.log_file_validation_enabled().unwrap_or(false)),
        ),
        ("enable_logging", Value::Bool(logging)),
        ("sns_topic_name", s(topic_name)),
        ("sns_topic_arn", s(t.sns_topic_arn())),
        ("cloud_watch_logs_group_arn", s(t.cloud_watch_logs_log_group_arn())),
        ("cloud_watch_logs_role_arn", s(t.cloud_watch_logs_role_arn())),
        ("kms_key_id", s(t.kms_key_id())),
        ("tags_all", tags_attr(tags.iter())),
    ])
}

/// The trails of these names (or ARNs) that exist in this region's view.
async fn describe(aws: &Aws, names: &[String]) -> Result<Vec<Trail>, ProviderError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let out = aws
        .cloudtrail
        .describe_trails()
        .set_trail_name_list(Some(names.to_vec()))
        .include_shadow_trails(false)
        .send()
        .await
        .aws(CLOUDTRAIL, "DescribeTrails")?;
    Ok(out.trail_list().to_vec())
}

/// The tags of these trails (by ARN).
async fn tags_of(
    aws: &Aws,
    arns: &[String],
) -> Result<BTreeMap<String, BTreeMap<String, String>>, ProviderError> {
    let mut out = BTreeMap::new();
    for chunk in arns.chunks(TRAILS_PER_TAG_CALL) {
        let pages = aws
            .cloudtrail
            .list_tags()
            .set_resource_id_list(Some(chunk.to_vec()))
            .into_paginator()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(CLOUDTRAIL, "ListTags")?;
        for page in pages {
            for r in page.resource_tag_list() {
                let tags: BTreeMap<String, String> = r
                    .tags_list()
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().unwrap_or("").to_string()))
                    .collect();
                if let Some(id) = r.resource_id() {
                    out.entry(id.to_string()).or_insert_with(BTreeMap::new).extend(tags);
                }
            }
        }
    }
    Ok(out)
}

async fn is_logging(aws: &Aws, name: &str) -> Result<bool, ProviderError> {
    let out = aws
        .cloudtrail
        .get_trail_status()
        .name(name)
        .send()
        .await
        .aws(CLOUDTRAIL, "GetTrailStatus")?;
    Ok(out.is_logging().unwrap_or(false))
}

/// One trail's attributes; `None` when it is gone.
async fn read(aws: &Aws, name: &str) -> Result<Option<Value>, ProviderError> {
    let Some(t) = describe(aws, &[name.to_string()])
        .await?
        .into_iter()
        .find(|t| t.name() == Some(name))
    else {
        return Ok(None);
    };
    let arn = t.trail_arn().unwrap_or_default().to_string();
    let tags = tags_of(aws, std::slice::from_ref(&arn))
        .await?
        .remove(&arn)
        .unwrap_or_default();
    let logging = is_logging(aws, name).await?;
    Ok(Some(trail_attrs(&t, logging, &tags)))
}

fn api_tags(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(CLOUDTRAIL, "AddTags", e.to_string()))
        })
        .collect()
}

/// CloudTrail refuses a bucket, topic or key policy that it does not see
/// allowing it yet: right after the policy is put, that passes.
fn policy_not_visible_is_transient(mut e: ProviderError) -> ProviderError {
    if e.code.as_deref().is_some_and(|c| {
        matches!(
            c,
            "InsufficientS3BucketPolicyException"
                | "InsufficientSnsTopicPolicyException"
                | "InsufficientEncryptionPolicyException"
                | "InvalidCloudWatchLogsLogGroupArnException"
                | "InvalidCloudWatchLogsRoleArnException"
        )
    }) {
        e.kind = ErrorKind::Transient;
    }
    e
}

async fn set_logging(
    aws: &Aws,
    name: &str,
    on: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        if on {
            aws.cloudtrail
                .start_logging()
                .name(name)
                .send()
                .await
                .aws(CLOUDTRAIL, "StartLogging")
                .map(|_| ())
        } else {
            aws.cloudtrail
                .stop_logging()
                .name(name)
                .send()
                .await
                .aws(CLOUDTRAIL, "StopLogging")
                .map(|_| ())
        }
    })
    .await
}

async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&crate::iam_util::live_tags(prior), &desired_tags(desired));
    if !remove.is_empty() {
        let keys: Vec<Tag> = remove
            .iter()
            .filter_map(|k| Tag::builder().key(k).build().ok())
            .collect();
        retry(deadline, || async {
            aws.cloudtrail
                .remove_tags()
                .resource_id(arn)
                .set_tags_list(Some(keys.clone()))
                .send()
                .await
                .aws(CLOUDTRAIL, "RemoveTags")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = api_tags(&set)?;
        retry(deadline, || async {
            aws.cloudtrail
                .add_tags()
                .resource_id(arn)
                .set_tags_list(Some(tags.clone()))
                .send()
                .await
                .aws(CLOUDTRAIL, "AddTags")
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct CloudTrail;

#[async_trait]
impl ResourceHandler for CloudTrail {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<String> = req.known.iter().map(|k| k.id.clone()).collect();
        let trails = describe(aws, &names).await?;
        let arns: Vec<String> = trails
            .iter()
            .filter_map(|t| t.trail_arn().map(str::to_string))
            .collect();
        let tags = tags_of(aws, &arns).await?;
        let described: Vec<(String, Trail)> = trails
            .into_iter()
            .filter_map(|t| Some((t.name()?.to_string(), t)))
            .collect();
        read_each(&req.known, |k| {
            let trail = described.iter().find(|(n, _)| *n == k.id).map(|(_, t)| t);
            let tags = &tags;
            async move {
                let Some(t) = trail else {
                    return Ok(None);
                };
                // Gone between the describe and this call: gone.
                let Some(logging) = found(is_logging(aws, &k.id).await)? else {
                    return Ok(None);
                };
                let tags = t
                    .trail_arn()
                    .and_then(|a| tags.get(a))
                    .cloned()
                    .unwrap_or_default();
                Ok(Some(LiveResource {
                    id: k.id.clone(),
                    address: address_of(&k.id, &tags, &req.known),
                    attrs: trail_attrs(t, logging, &tags),
                }))
            }
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateTrail";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = required(d, "name", CLOUDTRAIL, OP)?;
        let text = |k: &str| opt_str(d, k).map(str::to_string);
        let call = aws
            .cloudtrail
            .create_trail()
            .name(name)
            .s3_bucket_name(required(d, "s3_bucket_name", CLOUDTRAIL, OP)?)
            .set_s3_key_prefix(text("s3_key_prefix"))
            .set_sns_topic_name(text("sns_topic_name"))
            .include_global_service_events(bool_or(d, "include_global_service_events", true))
            .is_multi_region_trail(bool_or(d, "is_multi_region_trail", false))
            .is_organization_trail(bool_or(d, "is_organization_trail", false))
            .enable_log_file_validation(bool_or(d, "enable_log_file_validation", false))
            .set_cloud_watch_logs_log_group_arn(text("cloud_watch_logs_group_arn"))
            .set_cloud_watch_logs_role_arn(text("cloud_watch_logs_role_arn"))
            .set_kms_key_id(text("kms_key_id"))
            .set_tags_list(Some(api_tags(&desired_tags(d))?));
        let sent = retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .aws(CLOUDTRAIL, OP)
                .map_err(policy_not_visible_is_transient)
        })
        .await;
        match sent {
            Ok(_) => {}
            Err(e) if has_code(&e, "TrailAlreadyExistsException") => {
                let live = read(aws, name).await?.ok_or(e)?;
                let tags = crate::iam_util::live_tags(&live);
                if !ours(&tags, &req.owner, &req.address) {
                    return Err(invalid(
                        CLOUDTRAIL,
                        OP,
                        conflict("CloudTrail trail", name, &tags, &req.owner),
                    ));
                }
                tracing::info!(trail = %name, "adopting the trail an earlier attempt created");
            }
            Err(e) => return Err(e),
        }
        async {
            set_logging(aws, name, bool_or(d, "enable_logging", true), &deadline).await?;
            until(
                &deadline,
                "DescribeTrails",
                &format!("trail {name} to be readable"),
                || read(aws, name),
            )
            .await
        }
        .await
        .map_err(|e| after_create(name, e))
    }

    /// A trail of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "cloudtrail:DescribeTrails";
        let mut findings = Findings::new();
        if let Some(Some(live)) = findings.read(ACTION, found(read(aws, name).await).map(Option::flatten))? {
            let tags = crate::iam_util::live_tags(&live);
            findings.name_in_use(req, ACTION, "CloudTrail trail", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "UpdateTrail";
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), CLOUDTRAIL, OP)?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        const TRAIL_ARGS: &[&str] = &[
            "s3_bucket_name",
            "s3_key_prefix",
            "sns_topic_name",
            "include_global_service_events",
            "is_multi_region_trail",
            "is_organization_trail",
            "enable_log_file_validation",
            "cloud_watch_logs_group_arn",
            "cloud_watch_logs_role_arn",
            "kms_key_id",
        ];
        if TRAIL_ARGS.iter().any(|k| changed(k)) {
            // Empty strings clear what the spec no longer sets.
            let text = |k: &str| Some(opt_str(d, k).unwrap_or("").to_string());
            let call = aws
                .cloudtrail
                .update_trail()
                .name(name)
                .set_s3_bucket_name(opt_str(d, "s3_bucket_name").map(str::to_string))
                .set_s3_key_prefix(text("s3_key_prefix"))
                .set_sns_topic_name(text("sns_topic_name"))
                .include_global_service_events(bool_or(d, "include_global_service_events", true))
                .is_multi_region_trail(bool_or(d, "is_multi_region_trail", false))
                .is_organization_trail(bool_or(d, "is_organization_trail", false))
                .enable_log_file_validation(bool_or(d, "enable_log_file_validation", false))
                .set_cloud_watch_logs_log_group_arn(text("cloud_watch_logs_group_arn"))
                .set_cloud_watch_logs_role_arn(text("cloud_watch_logs_role_arn"))
                .set_kms_key_id(opt_str(d, "kms_key_id").map(str::to_string));
            retry(&deadline, || async {
                call.clone()
                    .send()
                    .await
                    .aws(CLOUDTRAIL, OP)
                    .map_err(policy_not_visible_is_transient)
            })
            .await?;
        }
        if changed("enable_logging") {
            set_logging(aws, name, bool_or(d, "enable_logging", true), &deadline).await?;
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read(aws, name)
            .await?
            .ok_or_else(|| gone(CLOUDTRAIL, "DescribeTrails", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_gone(
            retry(&deadline, || async {
                aws.cloudtrail
                    .delete_trail()
                    .name(&req.id)
                    .send()
                    .await
                    .aws(CLOUDTRAIL, "DeleteTrail")
                    .map(|_| ())
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_trail_reads_back_in_schema_shape() {
        let t = Trail::builder()
            .name("audit")
            .trail_arn("arn:aws:cloudtrail:eu-west-1:123:trail/audit")
            .home_region("eu-west-1")
            .s3_bucket_name("logs")
            .sns_topic_arn("arn:aws:sns:eu-west-1:123:trail-events")
            .is_multi_region_trail(true)
            .log_file_validation_enabled(true)
            .build();
        let tags = BTreeMap::from([("Team".to_string(), "sec".to_string())]);
        let v = trail_attrs(&t, true, &tags);
        assert_eq!(v.get("sns_topic_name"), Some(&Value::from("trail-events")));
        assert_eq!(v.get("enable_logging"), Some(&Value::Bool(true)));
        assert_eq!(v.get("include_global_service_events"), Some(&Value::Bool(true)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
