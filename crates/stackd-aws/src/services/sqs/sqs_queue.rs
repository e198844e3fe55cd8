//! `aws_sqs_queue`: an SQS queue, standard or FIFO. Its ID is the queue URL,
//! as in Terraform (also the import ID).
//!
//! A refresh lists the known queues with one `ListQueues` chain (their
//! names' common prefix), then reads each one found with
//! `GetQueueAttributes` and `ListQueueTags`: SQS has no batch form of
//! either.
//!
//! `CreateQueue` is idempotent by name: for a queue that exists with the
//! same attributes it answers with that queue's URL. So the create first
//! looks the name up (`GetQueueUrl`) and takes a queue only when its
//! ownership tags say an earlier attempt of this create made it (the tags
//! go in the `CreateQueue` call itself); any other queue of that name is a
//! conflict, never adopted.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::types::QueueAttributeName;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{queue_attributes, queue_name, queue_tags, QUEUE, SQS};
use crate::args::{bool_or, common_prefix, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, canonical_policy, conflict, decode_policy, echo, fifo_name, found, gone,
    ignore_gone, invalid, live_tags, normalize_policy, ours, read_each, tags_attr, update_id,
    AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by};
use crate::wait::{retry, until, Deadline};

/// `aws_sqs_queue`: its schema, its handler, and the IAM grants of every
/// call it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_sqs_queue",
    schema,
    handler: &SqsQueue,
    grants: &[
        g(&["sqs:ListQueues"], ANY),
        g(
            &[
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:ListQueueTags",
                "sqs:SetQueueAttributes",
                "sqs:TagQueue",
                "sqs:UntagQueue",
            ],
            &[QUEUE],
        ),
    ],
    source: file!(),
};

/// SQS attribute changes may take this long to be seen by every reader.
const PROPAGATION: Duration = Duration::from_secs(60);

pub(crate) fn schema() -> ResourceSchema {
    let seconds = |name: &'static str, default: i64, max: i64, doc: &'static str| {
        AttrSchema::optional(name, AttrType::Number)
            .default(default)
            .check(Check::Range(if name == "message_retention_seconds" { 60 } else { 0 }, max))
            .doc(doc)
    };
    ResourceSchema::resource("aws_sqs_queue")
        .doc("An SQS queue.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The queue name (ending in `.fifo` for a FIFO queue); generated when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("fifo_queue", AttrType::Bool)
                .default(false)
                .force_new()
                .doc("A FIFO queue (ordered, exactly-once processing)."),
        )
        .attr(
            AttrSchema::optional("content_based_deduplication", AttrType::Bool)
                .default(false)
                .doc("FIFO queues: deduplicate by a hash of the message body."),
        )
        .attr(
            AttrSchema::optional_computed("deduplication_scope", AttrType::String)
                .check(Check::OneOf(vec!["messageGroup", "queue"]))
                .doc("FIFO queues: deduplicate per messageGroup or per queue."),
        )
        .attr(
            AttrSchema::optional_computed("fifo_throughput_limit", AttrType::String)
                .check(Check::OneOf(vec!["perQueue", "perMessageGroupId"]))
                .doc("FIFO queues: the throughput quota applies perQueue or perMessageGroupId."),
        )
        .attr(seconds(
            "delay_seconds",
            0,
            900,
            "Seconds every message is delayed (0-900).",
        ))
        .attr(
            AttrSchema::optional("max_message_size", AttrType::Number)
                .default(262_144)
                .check(Check::Range(1024, 262_144))
                .doc("The largest message in bytes (1024-262144)."),
        )
        .attr(seconds(
            "message_retention_seconds",
            345_600,
            1_209_600,
            "Seconds a message is kept (60-1209600; 4 days by default).",
        ))
        .attr(seconds(
            "receive_wait_time_seconds",
            0,
            20,
            "Seconds a receive waits for messages (long polling, 0-20).",
        ))
        .attr(seconds(
            "visibility_timeout_seconds",
            30,
            43_200,
            "Seconds a received message is hidden from other receivers (0-43200).",
        ))
        .attr(
            AttrSchema::optional_computed("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The access policy (JSON)."),
        )
        .attr(
            AttrSchema::optional_computed("redrive_policy", AttrType::Json)
                .doc("The dead-letter queue and maxReceiveCount (JSON)."),
        )
        .attr(
            AttrSchema::optional_computed("redrive_allow_policy", AttrType::Json)
                .doc("Which source queues may use this one as dead-letter queue (JSON)."),
        )
        .attr(
            AttrSchema::optional("kms_master_key_id", AttrType::String)
                .doc("The KMS key that encrypts messages (SSE-KMS)."),
        )
        .attr(
            AttrSchema::optional_computed("kms_data_key_reuse_period_seconds", AttrType::Number)
                .check(Check::Range(60, 86_400))
                .doc("Seconds a data key is reused before KMS is called again (60-86400)."),
        )
        .attr(
            AttrSchema::optional_computed("sqs_managed_sse_enabled", AttrType::Bool)
                .doc("Encryption with SQS-owned keys (SSE-SQS)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The queue's ARN."))
        .attr(AttrSchema::computed("url", AttrType::String).doc("The queue's URL (also its ID)."))
        .taggable()
}

/// Arguments that are queue attributes, by SQS attribute name, and whether
/// only FIFO queues take them.
const ATTRIBUTES: &[(&str, &str, bool)] = &[
    ("delay_seconds", "DelaySeconds", false),
    ("max_message_size", "MaximumMessageSize", false),
    ("message_retention_seconds", "MessageRetentionPeriod", false),
    ("receive_wait_time_seconds", "ReceiveMessageWaitTimeSeconds", false),
    ("visibility_timeout_seconds", "VisibilityTimeout", false),
    ("policy", "Policy", false),
    ("redrive_policy", "RedrivePolicy", false),
    ("redrive_allow_policy", "RedriveAllowPolicy", false),
    ("kms_master_key_id", "KmsMasterKeyId", false),
    (
        "kms_data_key_reuse_period_seconds",
        "KmsDataKeyReusePeriodSeconds",
        false,
    ),
    ("sqs_managed_sse_enabled", "SqsManagedSseEnabled", false),
    ("content_based_deduplication", "ContentBasedDeduplication", true),
    ("deduplication_scope", "DeduplicationScope", true),
    ("fifo_throughput_limit", "FifoThroughputLimit", true),
];

/// Computed arguments: left as SQS has them when unset.
fn is_computed(key: &str) -> bool {
    matches!(
        key,
        "policy"
            | "redrive_policy"
            | "redrive_allow_policy"
            | "kms_data_key_reuse_period_seconds"
            | "sqs_managed_sse_enabled"
            | "deduplication_scope"
            | "fifo_throughput_limit"
    )
}

/// An argument as an SQS attribute value; `None` when unset.
fn attribute_value(d: &Value, key: &str) -> Option<String> {
    match d.get(key)? {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(_) => opt_int(d, key).map(|n| n.to_string()),
        _ => opt_str(d, key).map(str::to_string),
    }
}

/// The attributes to send for the arguments `wanted` accepts: set ones
/// with their value, unset ones (but computed ones) cleared with an empty
/// value when `clear`.
fn attributes_of(
    d: &Value,
    wanted: impl Fn(&str) -> bool,
    clear: bool,
) -> HashMap<QueueAttributeName, String> {
    let fifo = bool_or(d, "fifo_queue", false);
    ATTRIBUTES
        .iter()
        .filter(|(key, _, fifo_only)| wanted(key) && (fifo || !fifo_only))
        .filter_map(|(key, attr, _)| {
            let value = match attribute_value(d, key) {
                Some(v) => v,
                None if clear && !is_computed(key) => String::new(),
                None => return None,
            };
            Some((QueueAttributeName::from(*attr), value))
        })
        .collect()
}

fn queue_attrs(
    url: &str,
    a: &HashMap<String, String>,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let get = |k: &str| a.get(k).map(String::as_str);
    let int = |k: &str| {
        get(k)
            .and_then(|v| v.parse::<i64>().ok())
            .map_or(Value::Null, Value::from)
    };
    let flag = |k: &str| Value::Bool(get(k).is_some_and(|v| v.eq_ignore_ascii_case("true")));
    Value::map([
        ("id", Value::from(url)),
        ("url", Value::from(url)),
        ("arn", s(get("QueueArn"))),
        ("name", Value::from(queue_name(url))),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("fifo_queue", flag("FifoQueue")),
        ("content_based_deduplication", flag("ContentBasedDeduplication")),
        ("deduplication_scope", s(get("DeduplicationScope"))),
        ("fifo_throughput_limit", s(get("FifoThroughputLimit"))),
        ("delay_seconds", int("DelaySeconds")),
        ("max_message_size", int("MaximumMessageSize")),
        ("message_retention_seconds", int("MessageRetentionPeriod")),
        ("receive_wait_time_seconds", int("ReceiveMessageWaitTimeSeconds")),
        ("visibility_timeout_seconds", int("VisibilityTimeout")),
        (
            "policy",
            s(get("Policy")).as_str().map_or(Value::Null, |p| Value::from(decode_policy(p))),
        ),
        ("redrive_policy", s(get("RedrivePolicy"))),
        ("redrive_allow_policy", s(get("RedriveAllowPolicy"))),
        ("kms_master_key_id", s(get("KmsMasterKeyId"))),
        (
            "kms_data_key_reuse_period_seconds",
            int("KmsDataKeyReusePeriodSeconds"),
        ),
        ("sqs_managed_sse_enabled", flag("SqsManagedSseEnabled")),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// The queue's attributes in schema shape; `None` when it is gone.
async fn read(aws: &Aws, url: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let Some(attributes) = queue_attributes(aws, url).await? else {
        return Ok(None);
    };
    let Some(tags) = found(queue_tags(aws, url).await)? else {
        return Ok(None);
    };
    Ok(Some(queue_attrs(url, &attributes, &tags, args)))
}

/// The URL of the queue of this name, if there is one.
async fn url_of(aws: &Aws, name: &str) -> Result<Option<String>, ProviderError> {
    Ok(found(
        aws.sqs
            .get_queue_url()
            .queue_name(name)
            .send()
            .await
            .aws(SQS, "GetQueueUrl"),
    )?
    .and_then(|o| o.queue_url))
}

/// The URLs `ListQueues` gives for names beginning with `prefix`.
async fn list(aws: &Aws, prefix: &str) -> Result<Vec<String>, ProviderError> {
    let call = aws.sqs.list_queues().max_results(1000);
    let call = if prefix.is_empty() {
        call
    } else {
        call.queue_name_prefix(prefix)
    };
    call.into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SQS, "ListQueues")
}

/// True when a sent attribute value reads back the same (documents by
/// meaning; an empty value as absent).
fn reads_back(sent: &str, live: Option<&String>) -> bool {
    let live = live.map(String::as_str).unwrap_or_default();
    if sent.is_empty() || live.is_empty() {
        return sent == live;
    }
    match (canonical_policy(sent), canonical_policy(live)) {
        (Some(a), Some(b)) => a == b,
        _ => sent == live,
    }
}

/// Sends the attributes, then waits (at most [`PROPAGATION`]) until a read
/// shows them: SQS's attribute changes reach its readers with a delay.
async fn set_attributes(
    aws: &Aws,
    url: &str,
    attributes: HashMap<QueueAttributeName, String>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if attributes.is_empty() {
        return Ok(());
    }
    retry(deadline, || async {
        aws.sqs
            .set_queue_attributes()
            .queue_url(url)
            .set_attributes(Some(attributes.clone()))
            .send()
            .await
            .aws(SQS, "SetQueueAttributes")
    })
    .await?;
    let settled = until(
        &Deadline::after(PROPAGATION),
        "GetQueueAttributes",
        &format!("the attributes of queue {url} to apply"),
        || async {
            let live = queue_attributes(aws, url).await?.unwrap_or_default();
            Ok(attributes
                .iter()
                .all(|(k, v)| reads_back(v, live.get(k.as_str())))
                .then_some(()))
        },
    )
    .await;
    if let Err(e) = settled {
        // Not fatal: the next diff shows whatever did not apply.
        tracing::warn!(queue = %url, error = %e, "queue attributes not yet seen as set");
    }
    Ok(())
}

async fn reconcile_tags(
    aws: &Aws,
    url: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.sqs
                .untag_queue()
                .queue_url(url)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(SQS, "UntagQueue")
                .map(|_| ())
        },
        |tags| async move {
            aws.sqs
                .tag_queue()
                .queue_url(url)
                .set_tags(Some(tags.into_iter().collect()))
                .send()
                .await
                .aws(SQS, "TagQueue")
                .map(|_| ())
        },
    )
    .await
}

/// The queue at `url` when an earlier attempt of this create made it (its
/// ownership tags name this stack and address), brought to the desired
/// arguments; a conflict otherwise.
async fn adopt(
    aws: &Aws,
    req: &ChangeRequest,
    name: &str,
    url: &str,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let d = &req.desired;
    let existing = read(aws, url, Some(d))
        .await?
        .ok_or_else(|| gone(SQS, "GetQueueAttributes", url))?;
    let live = live_tags(&existing);
    if !ours(&live, &req.owner, &req.address) {
        return Err(invalid(
            SQS,
            "CreateQueue",
            conflict("SQS queue", name, &live, &req.owner),
        ));
    }
    tracing::info!(queue = %url, "adopting the queue an earlier attempt created");
    let differs = |k: &str| existing.get(k) != d.get(k);
    set_attributes(aws, url, attributes_of(d, differs, true), deadline).await?;
    reconcile_tags(aws, url, &existing, d, deadline).await?;
    read(aws, url, Some(d))
        .await?
        .ok_or_else(|| gone(SQS, "GetQueueAttributes", url))
}

/// `QueueDeletedRecently`: a queue of this name was deleted less than a
/// minute ago (a replacement); the create waits it out.
fn deleted_recently(mut e: ProviderError) -> ProviderError {
    if has_code(&e, "QueueDeletedRecently")
        || has_code(&e, "AWS.SimpleQueueService.QueueDeletedRecently")
    {
        e.kind = ErrorKind::Transient;
    }
    e
}

pub(crate) struct SqsQueue;

#[async_trait]
impl ResourceHandler for SqsQueue {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<&str> = req
            .known
            .iter()
            .filter(|k| !k.id.is_empty())
            .map(|k| queue_name(&k.id))
            .collect();
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let listed = list(aws, &common_prefix(&names)).await?;
        let listed: HashSet<&str> = listed.iter().map(|u| queue_name(u)).collect();
        let present: Vec<KnownResource> = req
            .known
            .iter()
            .filter(|k| listed.contains(queue_name(&k.id)))
            .cloned()
            .collect();
        read_each(&present, |k| async move {
            Ok(read(aws, &k.id, Some(&k.attrs)).await?.map(|attrs| {
                let tags = live_tags(&attrs);
                LiveResource {
                    id: k.id.clone(),
                    address: address_of(&k.id, &tags, &req.known),
                    attrs,
                }
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let fifo = bool_or(d, "fifo_queue", false);
        let name = fifo_name(d, &req.idempotency_token, fifo, SQS, "CreateQueue")?;
        if let Some(url) = url_of(aws, &name).await? {
            return adopt(aws, req, &name, &url, &deadline).await;
        }
        let mut attributes = attributes_of(d, |_| true, false);
        if fifo {
            attributes.insert(QueueAttributeName::FifoQueue, "true".into());
        }
        let call = aws
            .sqs
            .create_queue()
            .queue_name(&name)
            .set_attributes(Some(attributes))
            .set_tags(Some(desired_tags(d).into_iter().collect()));
        let made = retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .aws(SQS, "CreateQueue")
                .map_err(deleted_recently)
        })
        .await;
        let url = match made {
            Ok(out) => out.queue_url.unwrap_or_default(),
            // A queue of this name appeared since the look-up, with other
            // attributes.
            Err(e) if has_code(&e, "QueueAlreadyExists") || has_code(&e, "QueueNameExists") => {
                let url = url_of(aws, &name).await?.ok_or(e)?;
                return adopt(aws, req, &name, &url, &deadline).await;
            }
            Err(e) => return Err(e),
        };
        if url.is_empty() {
            return Err(invalid(SQS, "CreateQueue", "the answer named no queue URL"));
        }
        async {
            let made = until(
                &deadline,
                "GetQueueAttributes",
                &format!("queue {name} to be readable"),
                || read(aws, &url, Some(d)),
            )
            .await?;
            // A queue of this name and the same attributes made by someone
            // else since the look-up would have been answered with its URL.
            let live = live_tags(&made);
            if !ours(&live, &req.owner, &req.address) {
                return Err(invalid(
                    SQS,
                    "CreateQueue",
                    conflict("SQS queue", &name, &live, &req.owner),
                ));
            }
            Ok(made)
        }
        .await
        .map_err(|e| after_create(&url, e))
    }

    /// A queue of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "sqs:GetQueueUrl";
        let mut findings = Findings::new();
        if let Some(Some(url)) = findings.read(ACTION, url_of(aws, name).await)? {
            let tags = found(queue_tags(aws, &url).await)?.unwrap_or_default();
            findings.name_in_use(req, ACTION, "SQS queue", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let url = update_id(req.id.as_deref(), SQS, "SetQueueAttributes")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        set_attributes(aws, url, attributes_of(d, changed, true), &deadline).await?;
        reconcile_tags(aws, url, &prior, d, &deadline).await?;
        read(aws, url, Some(d))
            .await?
            .ok_or_else(|| gone(SQS, "GetQueueAttributes", url))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_gone(
            retry(&deadline, || async {
                aws.sqs
                    .delete_queue()
                    .queue_url(&req.id)
                    .send()
                    .await
                    .aws(SQS, "DeleteQueue")
            })
            .await,
        )?;
        until(
            &deadline,
            "GetQueueAttributes",
            &format!("queue {} to be deleted", req.id),
            || async { Ok(queue_attributes(aws, &req.id).await?.is_none().then_some(())) },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_attributes_go_only_to_fifo_queues() {
        let d = Value::map([
            ("visibility_timeout_seconds", Value::from(45)),
            ("content_based_deduplication", Value::Bool(true)),
        ]);
        let a = attributes_of(&d, |_| true, false);
        assert_eq!(
            a.get(&QueueAttributeName::VisibilityTimeout).map(String::as_str),
            Some("45")
        );
        assert!(!a.contains_key(&QueueAttributeName::ContentBasedDeduplication));
        let fifo = Value::map([
            ("fifo_queue", Value::Bool(true)),
            ("content_based_deduplication", Value::Bool(true)),
        ]);
        let a = attributes_of(&fifo, |_| true, false);
        assert_eq!(
            a.get(&QueueAttributeName::ContentBasedDeduplication).map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn unset_arguments_are_cleared_but_computed_ones_are_kept() {
        let a = attributes_of(&Value::Null, |_| true, true);
        assert_eq!(
            a.get(&QueueAttributeName::KmsMasterKeyId).map(String::as_str),
            Some("")
        );
        assert!(!a.contains_key(&QueueAttributeName::Policy));
    }

    #[test]
    fn documents_read_back_by_meaning() {
        let live = r#"{"Statement":[{"Action":"sqs:SendMessage","Effect":"Allow"}]}"#.to_string();
        assert!(reads_back(
            r#"{"Statement":{"Effect":"Allow","Action":["sqs:SendMessage"]}}"#,
            Some(&live)
        ));
        assert!(reads_back("", None));
        assert!(!reads_back("30", Some(&"45".to_string())));
    }

    #[test]
    fn live_queue_is_in_schema_shape() {
        let a: HashMap<String, String> = [
            ("QueueArn", "arn:aws:sqs:us-east-1:1:jobs"),
            ("VisibilityTimeout", "30"),
            ("DelaySeconds", "0"),
            ("SqsManagedSseEnabled", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = queue_attrs("https://sqs/1/jobs", &a, &BTreeMap::new(), None);
        assert_eq!(v.get("name"), Some(&Value::from("jobs")));
        assert_eq!(v.get("visibility_timeout_seconds"), Some(&Value::from(30)));
        assert_eq!(v.get("sqs_managed_sse_enabled"), Some(&Value::Bool(true)));
        for attr in &schema().body.attrs {
            if attr.name != "tags" {
                assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
            }
        }
    }
}
