//! `aws_sns_topic`: an SNS topic. Its ID is its ARN, as in Terraform (also
//! the import ID).
//!
//! A refresh calls `GetTopicAttributes` and `ListTagsForResource` per known
//! topic: SNS has no batch form of either, and `ListTopics` gives only ARNs.
//!
//! `CreateTopic` is idempotent by name: for a topic that already exists it
//! answers with that topic's ARN. So the create first looks for a topic of
//! its name and takes it only when its ownership tags say an earlier
//! attempt of this create made it (the tags go in the `CreateTopic` call
//! itself); any other topic of that name is a conflict, never adopted.

use std::collections::{BTreeMap, HashMap};

use async_trait::async_trait;
use aws_sdk_sns::types::Tag;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{attr_bool, attr_json, topic_attributes, topic_tags, SNS, TOPIC};
use crate::args::{bool_or, num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    address_of, conflict, decode_policy, echo, fifo_name, found, gone, ignore_gone, invalid,
    live_tags, normalize_policy, ours, read_each, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by, stack_tags_by_arn};
use crate::wait::{retry, until, Deadline};

/// `aws_sns_topic`: its schema, its handler, and the IAM grants of every
/// call it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_sns_topic",
    schema,
    handler: &SnsTopic,
    grants: &[
        // The topics' tags come in one chain from the Tagging API.
        g(&["tag:GetResources"], ANY),
        g(
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:ListTagsForResource",
                "sns:SetTopicAttributes",
                "sns:TagResource",
                "sns:UntagResource",
            ],
            &[TOPIC],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_sns_topic")
        .doc("An SNS topic.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The topic name (ending in `.fifo` for a FIFO topic); generated when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("fifo_topic", AttrType::Bool)
                .default(false)
                .force_new()
                .doc("A FIFO topic (ordered, exactly-once delivery)."),
        )
        .attr(
            AttrSchema::optional("content_based_deduplication", AttrType::Bool)
                .default(false)
                .doc("FIFO topics: deduplicate by a hash of the message body."),
        )
        .attr(
            AttrSchema::optional("display_name", AttrType::String)
                .doc("The display name (SMS sender name)."),
        )
        .attr(
            AttrSchema::optional_computed("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The access policy (JSON); SNS's default policy when unset."),
        )
        .attr(
            AttrSchema::optional("delivery_policy", AttrType::Json)
                .doc("The HTTP(S) delivery retry policy (JSON)."),
        )
        .attr(
            AttrSchema::optional("kms_master_key_id", AttrType::String)
                .doc("The KMS key that encrypts messages at rest."),
        )
        .attr(
            AttrSchema::optional_computed("signature_version", AttrType::Number)
                .check(Check::Range(1, 2))
                .doc("The signature of messages: 1 (SHA1) or 2 (SHA256)."),
        )
        .attr(
            AttrSchema::optional_computed("tracing_config", AttrType::String)
                .check(Check::OneOf(vec!["PassThrough", "Active"]))
                .doc("X-Ray tracing: PassThrough (the default) or Active."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The topic's ARN (also its ID)."))
        .attr(AttrSchema::computed("owner", AttrType::String).doc("The owning account's ID."))
        .taggable()
}

/// Arguments set with `SetTopicAttributes`, by SNS attribute name.
const SETTABLE: &[(&str, &str)] = &[
    ("display_name", "DisplayName"),
    ("policy", "Policy"),
    ("delivery_policy", "DeliveryPolicy"),
    ("kms_master_key_id", "KmsMasterKeyId"),
    ("signature_version", "SignatureVersion"),
    ("tracing_config", "TracingConfig"),
    ("content_based_deduplication", "ContentBasedDeduplication"),
];

/// An argument as an SNS attribute value; `None` when unset.
fn attribute_value(d: &Value, key: &str) -> Option<String> {
    match d.get(key)? {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(_) => opt_int(d, key).map(|n| n.to_string()),
        _ => opt_str(d, key).map(str::to_string),
    }
}

/// The attributes `CreateTopic` is sent with.
fn create_attributes(d: &Value) -> HashMap<String, String> {
    let fifo = bool_or(d, "fifo_topic", false);
    let mut out: HashMap<String, String> = SETTABLE
        .iter()
        // Only FIFO topics take a deduplication setting.
        .filter(|(key, _)| fifo || *key != "content_based_deduplication")
        .filter_map(|(key, attr)| Some((attr.to_string(), attribute_value(d, key)?)))
        .collect();
    if fifo {
        out.insert("FifoTopic".into(), "true".into());
    }
    out
}

fn topic_attrs(
    arn: &str,
    a: &HashMap<String, String>,
    tags: &std::collections::BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let name = arn.rsplit(':').next().unwrap_or_default();
    let get = |k: &str| a.get(k).map(String::as_str);
    Value::map([
        ("id", Value::from(arn)),
        ("arn", Value::from(arn)),
        ("name", Value::from(name)),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("fifo_topic", Value::Bool(attr_bool(a, "FifoTopic"))),
        (
            "content_based_deduplication",
            Value::Bool(attr_bool(a, "ContentBasedDeduplication")),
        ),
        ("display_name", s(get("DisplayName"))),
        (
            "policy",
            get("Policy").map_or(Value::Null, |p| Value::from(decode_policy(p))),
        ),
        ("delivery_policy", attr_json(a, "DeliveryPolicy")),
        ("kms_master_key_id", s(get("KmsMasterKeyId"))),
        (
            "signature_version",
            num(get("SignatureVersion")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(1)),
        ),
        (
            "tracing_config",
            Value::from(get("TracingConfig").unwrap_or("PassThrough")),
        ),
        ("owner", s(get("Owner"))),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// The topic's attributes in schema shape; `None` when it is gone.
async fn read(aws: &Aws, arn: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    read_with(aws, arn, args, None).await
}

/// A topic, its tags from `tagged` (the stack's topics' tags,
/// [`stack_tags_by_arn`]) where it has them, else read on their own.
async fn read_with(
    aws: &Aws,
    arn: &str,
    args: Option<&Value>,
    tagged: Option<&HashMap<String, BTreeMap<String, String>>>,
) -> Result<Option<Value>, ProviderError> {
    let Some(attributes) = topic_attributes(aws, arn).await? else {
        return Ok(None);
    };
    let tags = match tagged.and_then(|t| t.get(arn)) {
        Some(tags) => tags.clone(),
        None => match found(topic_tags(aws, arn).await)? {
            Some(tags) => tags,
            None => return Ok(None),
        },
    };
    Ok(Some(topic_attrs(arn, &attributes, &tags, args)))
}

/// The ARN a topic of this name has in the caller's account and region.
async fn arn_of(aws: &Aws, name: &str) -> Result<String, ProviderError> {
    let account = aws.account_id().await?;
    Ok(aws.loc.arn("sns", &account, name))
}

async fn set_attribute(
    aws: &Aws,
    arn: &str,
    attribute: &str,
    value: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        aws.sns
            .set_topic_attributes()
            .topic_arn(arn)
            .attribute_name(attribute)
            .attribute_value(value)
            .send()
            .await
            .aws(SNS, "SetTopicAttributes")
    })
    .await
    .map(|_| ())
}

/// Sets the arguments whose names `changed` accepts, one
/// `SetTopicAttributes` each (the call takes one attribute); an unset
/// argument is cleared with an empty value, except `policy`, which keeps
/// what SNS has when unset (it is computed).
async fn set_attributes(
    aws: &Aws,
    arn: &str,
    d: &Value,
    changed: impl Fn(&str) -> bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let fifo = bool_or(d, "fifo_topic", false);
    for (key, attribute) in SETTABLE {
        if !changed(key) || (!fifo && *key == "content_based_deduplication") {
            continue;
        }
        let value = match attribute_value(d, key) {
            Some(v) => v,
            None if matches!(*key, "policy" | "signature_version" | "tracing_config") => continue,
            None => String::new(),
        };
        set_attribute(aws, arn, attribute, &value, deadline).await?;
    }
    Ok(())
}

async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            aws.sns
                .untag_resource()
                .resource_arn(arn)
                .set_tag_keys(Some(keys))
                .send()
                .await
                .aws(SNS, "UntagResource")
                .map(|_| ())
        },
        |tags| async move {
            aws.sns
                .tag_resource()
                .resource_arn(arn)
                .set_tags(Some(sns_tags(&tags)?))
                .send()
                .await
                .aws(SNS, "TagResource")
                .map(|_| ())
        },
    )
    .await
}

fn sns_tags(
    tags: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(SNS, "TagResource", e.to_string()))
        })
        .collect()
}

/// The topic of this name when an earlier attempt of this create made it
/// (its ownership tags name this stack and address); `Ok(None)` when there
/// is none; a conflict when one exists that is not this create's.
async fn earlier_attempt(
    aws: &Aws,
    req: &ChangeRequest,
    name: &str,
    arn: &str,
) -> Result<Option<Value>, ProviderError> {
    let Some(existing) = read(aws, arn, Some(&req.desired)).await? else {
        return Ok(None);
    };
    let live = live_tags(&existing);
    if !ours(&live, &req.owner, &req.address) {
        return Err(invalid(
            SNS,
            "CreateTopic",
            conflict("SNS topic", name, &live, &req.owner),
        ));
    }
    tracing::info!(topic = %arn, "adopting the topic an earlier attempt created");
    Ok(Some(existing))
}

pub(crate) struct SnsTopic;

#[async_trait]
impl ResourceHandler for SnsTopic {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.is_empty() {
            return Ok(Vec::new());
        }
        // The topics' tags in one chain (the type's second).
        let tagged = stack_tags_by_arn(aws, "sns", &req.owner).await?;
        let tagged = &tagged;
        read_each(&req.known, |k| async move {
            Ok(read_with(aws, &k.id, Some(&k.attrs), Some(tagged)).await?.map(|attrs| {
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
        let fifo = bool_or(d, "fifo_topic", false);
        let name = fifo_name(d, &req.idempotency_token, fifo, SNS, "CreateTopic")?;
        let expected_arn = arn_of(aws, &name).await?;
        if let Some(existing) = earlier_attempt(aws, req, &name, &expected_arn).await? {
            // Brought to the arguments asked for, as an update would.
            let prior = existing.clone();
            let differs = |k: &str| existing.get(k) != d.get(k);
            set_attributes(aws, &expected_arn, d, differs, &deadline).await?;
            reconcile_tags(aws, &expected_arn, &prior, d, &deadline).await?;
            return read(aws, &expected_arn, Some(d))
                .await?
                .ok_or_else(|| gone(SNS, "GetTopicAttributes", &expected_arn));
        }
        let call = aws
            .sns
            .create_topic()
            .name(&name)
            .set_attributes(Some(create_attributes(d)))
            .set_tags(Some(sns_tags(&desired_tags(d))?));
        let out = retry(&deadline, || async {
            call.clone().send().await.aws(SNS, "CreateTopic")
        })
        .await?;
        let arn = out.topic_arn().unwrap_or(&expected_arn).to_string();
        async {
            let made = until(
                &deadline,
                "GetTopicAttributes",
                &format!("topic {name} to be readable"),
                || read(aws, &arn, Some(d)),
            )
            .await?;
            // A topic of this name made by someone else between the look-up
            // and the create would have been answered with its ARN.
            let live = live_tags(&made);
            if !ours(&live, &req.owner, &req.address) {
                return Err(invalid(
                    SNS,
                    "CreateTopic",
                    conflict("SNS topic", &name, &live, &req.owner),
                ));
            }
            Ok(made)
        }
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// A topic of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "sns:GetTopicAttributes";
        let arn = arn_of(aws, name).await?;
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read(aws, &arn, Some(d)).await)? {
            let tags = live_tags(&existing);
            findings.name_in_use(req, ACTION, "SNS topic", name, &tags);
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), SNS, "SetTopicAttributes")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        set_attributes(aws, arn, d, changed, &deadline).await?;
        reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, Some(d))
            .await?
            .ok_or_else(|| gone(SNS, "GetTopicAttributes", arn))
    }

    /// `DeleteTopic` also deletes the topic's subscriptions.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_gone(
            retry(&deadline, || async {
                aws.sns
                    .delete_topic()
                    .topic_arn(&req.id)
                    .send()
                    .await
                    .aws(SNS, "DeleteTopic")
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_fifo_topics_send_deduplication() {
        let d = Value::map([
            ("display_name", Value::from("Alerts")),
            ("content_based_deduplication", Value::Bool(true)),
            ("signature_version", Value::from(2)),
        ]);
        let a = create_attributes(&d);
        assert_eq!(a.get("DisplayName").map(String::as_str), Some("Alerts"));
        assert_eq!(a.get("SignatureVersion").map(String::as_str), Some("2"));
        assert!(!a.contains_key("ContentBasedDeduplication"));
        assert!(!a.contains_key("FifoTopic"));
    }

    #[test]
    fn live_topic_is_in_schema_shape() {
        let arn = "arn:aws:sns:us-east-1:123456789012:alerts";
        let a: HashMap<String, String> = [
            ("DisplayName", "Alerts"),
            ("Owner", "123456789012"),
            ("Policy", r#"{"Version":"2012-10-17","Statement":[]}"#),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = topic_attrs(arn, &a, &Default::default(), None);
        assert_eq!(v.get("name"), Some(&Value::from("alerts")));
        assert_eq!(v.get("signature_version"), Some(&Value::from(1)));
        assert_eq!(v.get("tracing_config"), Some(&Value::from("PassThrough")));
        assert_eq!(v.get("fifo_topic"), Some(&Value::Bool(false)));
        for attr in &schema().body.attrs {
            if attr.name != "tags" {
                assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
            }
        }
    }
}
