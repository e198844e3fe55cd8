//! `aws_sns_topic_subscription`: a subscription of an endpoint (an SQS
//! queue, a Lambda function, an HTTPS URL...) to an SNS topic. Its ID is
//! the subscription's ARN, as in Terraform (also the import ID).
//!
//! A refresh calls `GetSubscriptionAttributes` per known subscription (SNS
//! has no batch read). Subscriptions carry no tags, and SNS keeps one
//! subscription per topic, protocol and endpoint: `Subscribe` answers with
//! the existing one's ARN. So the create first lists the topic's
//! subscriptions: an identical one is taken as an earlier attempt's only
//! on a topic of this stack (its ownership tags say so); on any other
//! topic it is refused (`stackd import` it), never adopted.

use std::collections::HashMap;

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{attr_bool, attr_json, topic_attributes, topic_tags, SNS, TOPIC};
use crate::args::{bool_or, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    echo, found, gone, ignore_gone, invalid, read_each, required, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `aws_sns_topic_subscription`: its schema, its handler, and the IAM
/// grants of every call it makes. The subscription actions take no
/// resource type in IAM (`*`).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_sns_topic_subscription",
    schema,
    handler: &SnsTopicSubscription,
    grants: &[
        g(
            &[
                "sns:GetSubscriptionAttributes",
                "sns:SetSubscriptionAttributes",
                "sns:Unsubscribe",
            ],
            ANY,
        ),
        g(
            &[
                "sns:GetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:ListTagsForResource",
                "sns:Subscribe",
            ],
            &[TOPIC],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_sns_topic_subscription")
        .doc("A subscription of an endpoint to an SNS topic.")
        .attr(
            AttrSchema::required("topic_arn", AttrType::String)
                .force_new()
                .doc("The topic's ARN."),
        )
        .attr(
            AttrSchema::required("protocol", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec![
                    "application",
                    "email",
                    "email-json",
                    "firehose",
                    "http",
                    "https",
                    "lambda",
                    "sms",
                    "sqs",
                ]))
                .doc("sqs, lambda, firehose, application, sms, http(s) or email(-json)."),
        )
        .attr(
            AttrSchema::required("endpoint", AttrType::String)
                .force_new()
                .doc("Where messages go: a queue or function ARN, a URL, an address."),
        )
        .attr(
            AttrSchema::optional("raw_message_delivery", AttrType::Bool)
                .default(false)
                .doc("Deliver the message body alone, without SNS's JSON envelope."),
        )
        .attr(
            AttrSchema::optional("filter_policy", AttrType::Json)
                .doc("Which messages are delivered (JSON)."),
        )
        .attr(
            AttrSchema::optional_computed("filter_policy_scope", AttrType::String)
                .check(Check::OneOf(vec!["MessageAttributes", "MessageBody"]))
                .doc("What the filter policy applies to: MessageAttributes or MessageBody."),
        )
        .attr(
            AttrSchema::optional("redrive_policy", AttrType::Json)
                .doc("The dead-letter queue of undeliverable messages (JSON)."),
        )
        .attr(
            AttrSchema::optional("endpoint_auto_confirms", AttrType::Bool)
                .default(false)
                .doc("HTTP(S) endpoints: the endpoint confirms by itself; the create waits."),
        )
        .attr(
            AttrSchema::optional("confirmation_timeout_in_minutes", AttrType::Number)
                .default(1)
                .doc("How long to wait for an auto-confirming endpoint."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The subscription's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The subscriber's account ID."))
        .attr(
            AttrSchema::computed("pending_confirmation", AttrType::Bool)
                .doc("True until the endpoint confirms the subscription."),
        )
}

/// Arguments that are subscription attributes, by SNS attribute name.
const ATTRIBUTES: &[(&str, &str)] = &[
    ("raw_message_delivery", "RawMessageDelivery"),
    ("filter_policy", "FilterPolicy"),
    ("filter_policy_scope", "FilterPolicyScope"),
    ("redrive_policy", "RedrivePolicy"),
];

/// An argument as an SNS attribute value; `None` when unset.
fn attribute_value(d: &Value, key: &str) -> Option<String> {
    match d.get(key)? {
        Value::Bool(b) => Some(b.to_string()),
        _ => opt_str(d, key).map(str::to_string),
    }
}

fn subscription_attrs(arn: &str, a: &HashMap<String, String>, args: Option<&Value>) -> Value {
    let get = |k: &str| a.get(k).map(String::as_str);
    Value::map([
        ("id", Value::from(arn)),
        ("arn", Value::from(arn)),
        ("topic_arn", s(get("TopicArn"))),
        ("protocol", s(get("Protocol"))),
        ("endpoint", s(get("Endpoint"))),
        (
            "raw_message_delivery",
            Value::Bool(attr_bool(a, "RawMessageDelivery")),
        ),
        ("filter_policy", attr_json(a, "FilterPolicy")),
        ("filter_policy_scope", s(get("FilterPolicyScope"))),
        ("redrive_policy", attr_json(a, "RedrivePolicy")),
        (
            "endpoint_auto_confirms",
            echo(args, "endpoint_auto_confirms", Value::Bool(false)),
        ),
        (
            "confirmation_timeout_in_minutes",
            echo(args, "confirmation_timeout_in_minutes", Value::from(1)),
        ),
        ("owner_id", s(get("Owner"))),
        (
            "pending_confirmation",
            Value::Bool(attr_bool(a, "PendingConfirmation")),
        ),
    ])
}

/// The subscription's attributes in schema shape; `None` when it is gone.
async fn read(aws: &Aws, arn: &str, args: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.sns
            .get_subscription_attributes()
            .subscription_arn(arn)
            .send()
            .await
            .aws(SNS, "GetSubscriptionAttributes"),
    )?;
    Ok(out
        .and_then(|o| o.attributes)
        .map(|a| subscription_attrs(arn, &a, args)))
}

/// The ARN of the topic's confirmed subscription of `endpoint` by
/// `protocol`, if there is one.
async fn existing(
    aws: &Aws,
    topic_arn: &str,
    protocol: &str,
    endpoint: &str,
) -> Result<Option<String>, ProviderError> {
    let subscriptions = aws
        .sns
        .list_subscriptions_by_topic()
        .topic_arn(topic_arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SNS, "ListSubscriptionsByTopic")?;
    Ok(subscriptions
        .into_iter()
        .filter(|x| x.protocol() == Some(protocol) && x.endpoint() == Some(endpoint))
        .filter_map(|x| x.subscription_arn().map(str::to_string))
        .find(|arn| arn.starts_with("arn:")))
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
            .set_subscription_attributes()
            .subscription_arn(arn)
            .attribute_name(attribute)
            .attribute_value(value)
            .send()
            .await
            .aws(SNS, "SetSubscriptionAttributes")
    })
    .await
    .map(|_| ())
}

/// Sets the attributes whose argument names `changed` accepts, one call
/// each (the call takes one); unset ones are cleared with an empty value,
/// but an unset `filter_policy_scope` is left as SNS has it (computed).
async fn set_attributes(
    aws: &Aws,
    arn: &str,
    d: &Value,
    changed: impl Fn(&str) -> bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for (key, attribute) in ATTRIBUTES {
        if !changed(key) {
            continue;
        }
        let value = match attribute_value(d, key) {
            Some(v) => v,
            None if *key == "filter_policy_scope" => continue,
            None => String::new(),
        };
        set_attribute(aws, arn, attribute, &value, deadline).await?;
    }
    Ok(())
}

/// Waits for an auto-confirming HTTP(S) endpoint to confirm, within
/// `confirmation_timeout_in_minutes`; every other subscription is read once.
async fn read_confirmed(aws: &Aws, arn: &str, d: &Value) -> Result<Value, ProviderError> {
    let protocol = opt_str(d, "protocol").unwrap_or_default();
    let waits = bool_or(d, "endpoint_auto_confirms", false) && protocol.starts_with("http");
    if !waits {
        return read(aws, arn, Some(d))
            .await?
            .ok_or_else(|| gone(SNS, "GetSubscriptionAttributes", arn));
    }
    let minutes = opt_int(d, "confirmation_timeout_in_minutes").unwrap_or(1).max(1) as u64;
    let deadline = Deadline::after(std::time::Duration::from_secs(minutes * 60));
    until(
        &deadline,
        "GetSubscriptionAttributes",
        &format!("subscription {arn} to be confirmed"),
        || async {
            Ok(read(aws, arn, Some(d)).await?.filter(|v| {
                v.get("pending_confirmation").and_then(Value::as_bool) == Some(false)
            }))
        },
    )
    .await
}

pub(crate) struct SnsTopicSubscription;

#[async_trait]
impl ResourceHandler for SnsTopicSubscription {
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
        let d = &req.desired;
        let topic_arn = required(d, "topic_arn", SNS, "Subscribe")?;
        let protocol = required(d, "protocol", SNS, "Subscribe")?;
        let endpoint = required(d, "endpoint", SNS, "Subscribe")?;
        if let Some(arn) = existing(aws, topic_arn, protocol, endpoint).await? {
            // Subscriptions carry no tags: only an earlier attempt of this
            // create (its pending record exists) may have made this one,
            // and only on a topic of this stack.
            let tags = found(topic_tags(aws, topic_arn).await)?.unwrap_or_default();
            if req.pending_since.is_none() {
                return Err(invalid(
                    SNS,
                    "Subscribe",
                    format!(
                        "topic {topic_arn:?} already has a {protocol} subscription of \
                         {endpoint:?} ({arn}), made outside this resource; \
                         `stackd import` the subscription, or remove it"
                    ),
                ));
            }
            if !req.owner.owns(|k| tags.get(k).map(String::as_str)) {
                return Err(invalid(
                    SNS,
                    "Subscribe",
                    format!(
                        "topic {topic_arn:?} already has a {protocol} subscription of \
                         {endpoint:?} ({arn}), and the topic is not this stack's; \
                         `stackd import` the subscription, or remove it"
                    ),
                ));
            }
            tracing::info!(subscription = %arn, "adopting the subscription an earlier attempt made");
            let prior = read(aws, &arn, Some(d)).await?.unwrap_or(Value::Null);
            let differs = |k: &str| prior.get(k) != d.get(k);
            set_attributes(aws, &arn, d, differs, &deadline).await?;
            return read_confirmed(aws, &arn, d).await;
        }
        let attributes: HashMap<String, String> = ATTRIBUTES
            .iter()
            .filter_map(|(key, attr)| Some((attr.to_string(), attribute_value(d, key)?)))
            .collect();
        let out = retry(&deadline, || async {
            aws.sns
                .subscribe()
                .topic_arn(topic_arn)
                .protocol(protocol)
                .endpoint(endpoint)
                .set_attributes(Some(attributes.clone()))
                .return_subscription_arn(true)
                .send()
                .await
                .aws(SNS, "Subscribe")
        })
        .await?;
        let arn = out
            .subscription_arn()
            .filter(|a| a.starts_with("arn:"))
            .ok_or_else(|| invalid(SNS, "Subscribe", "the answer named no subscription ARN"))?
            .to_string();
        read_confirmed(aws, &arn, d)
            .await
            .map_err(|e| after_create(&arn, e))
    }

    /// The topic, when its ARN is known now, must exist.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(topic_arn) = creating(req).and_then(|d| known_str(d, "topic_arn")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "sns:GetTopicAttributes";
        let mut findings = Findings::new();
        if let Some(None) = findings.read(ACTION, topic_attributes(aws, topic_arn).await)? {
            findings.missing(ACTION, "SNS topic", topic_arn, "");
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), SNS, "SetSubscriptionAttributes")?;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        set_attributes(aws, arn, &req.desired, changed, &deadline).await?;
        read(aws, arn, Some(&req.desired))
            .await?
            .ok_or_else(|| gone(SNS, "GetSubscriptionAttributes", arn))
    }

    /// A subscription still pending confirmation cannot be removed; SNS
    /// deletes it after three days, so it is forgotten, as in Terraform.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let answer = retry(&deadline, || async {
            aws.sns
                .unsubscribe()
                .subscription_arn(&req.id)
                .send()
                .await
                .aws(SNS, "Unsubscribe")
        })
        .await;
        let pending = bool_or(&req.prior, "pending_confirmation", false);
        match answer {
            Err(e) if pending && has_code(&e, "InvalidParameter") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_subscription_is_in_schema_shape() {
        let a: HashMap<String, String> = [
            ("TopicArn", "arn:aws:sns:us-east-1:1:t"),
            ("Protocol", "sqs"),
            ("Endpoint", "arn:aws:sqs:us-east-1:1:q"),
            ("Owner", "1"),
            ("PendingConfirmation", "false"),
            ("RawMessageDelivery", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = subscription_attrs("arn:aws:sns:us-east-1:1:t:abc", &a, None);
        assert_eq!(v.get("raw_message_delivery"), Some(&Value::Bool(true)));
        assert_eq!(v.get("pending_confirmation"), Some(&Value::Bool(false)));
        assert_eq!(v.get("confirmation_timeout_in_minutes"), Some(&Value::from(1)));
        for attr in &schema().body.attrs {
            assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
        }
    }

    #[test]
    fn booleans_are_sent_as_words() {
        let d = Value::map([("raw_message_delivery", Value::Bool(false))]);
        assert_eq!(attribute_value(&d, "raw_message_delivery").as_deref(), Some("false"));
        assert_eq!(attribute_value(&d, "filter_policy"), None);
    }
}
