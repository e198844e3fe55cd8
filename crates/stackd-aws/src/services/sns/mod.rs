//! SNS: topics, their policies and their subscriptions, and the look-ups
//! the three types share (a topic's attributes and tags).
//!
//! SNS has no batch read: `GetTopicAttributes` answers for one topic (and
//! `ListTopics` lists only ARNs, no attributes), `ListTagsForResource` for
//! one resource, `GetSubscriptionAttributes` for one subscription. A
//! refresh reads each known object,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use std::collections::{BTreeMap, HashMap};

use stackd_engine::provider::{Owner, ProviderError};

use crate::context::Aws;
use crate::iam_util::{found, refuse_other_stacks, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        sns_topic,
        sns_topic_policy,
        sns_topic_subscription,
    ],
    data: [],
}

/// The service: the `Aws` client field `sns`, IAM prefix `sns`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "sns",
    iam_prefix: "sns",
    // SNS answers `NotFound` (a `…NotFound` code) for a missing topic or
    // subscription.
    not_found: &[],
    arns: &[TOPIC],
};

/// The service name errors carry.
pub(crate) const SNS: &str = "sns";

pub(crate) const TOPIC: ArnPattern = arn("Topic", "arn:${partition}:sns:${region}:${account}:*");

/// A topic's attributes (`GetTopicAttributes`); `None` when it is gone.
pub(crate) async fn topic_attributes(
    aws: &Aws,
    topic_arn: &str,
) -> Result<Option<HashMap<String, String>>, ProviderError> {
    found(
        aws.sns
            .get_topic_attributes()
            .topic_arn(topic_arn)
            .send()
            .await
            .aws(SNS, "GetTopicAttributes"),
    )
    .map(|out| out.and_then(|o| o.attributes))
}

/// A topic's or subscription's tags (`ListTagsForResource`).
pub(crate) async fn topic_tags(
    aws: &Aws,
    resource_arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .sns
        .list_tags_for_resource()
        .resource_arn(resource_arn)
        .send()
        .await
        .aws(SNS, "ListTagsForResource")?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect())
}

/// Refuses a topic tagged as another stack's: its policy is not this
/// stack's to set.
pub(crate) async fn refuse_other_stacks_topic(
    aws: &Aws,
    topic_arn: &str,
    owner: &Owner,
    operation: &str,
) -> Result<(), ProviderError> {
    let tags = found(topic_tags(aws, topic_arn).await)?.unwrap_or_default();
    refuse_other_stacks(
        &tags,
        owner,
        SNS,
        operation,
        &format!("topic {topic_arn:?}"),
    )
}

/// The account part of an SNS ARN (`arn:aws:sns:REGION:ACCOUNT:NAME...`).
pub(crate) fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// An SNS boolean attribute (`"true"`/`"false"`).
pub(crate) fn attr_bool(attrs: &HashMap<String, String>, key: &str) -> bool {
    attrs
        .get(key)
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// A JSON attribute as stored: null when absent or empty.
pub(crate) fn attr_json(attrs: &HashMap<String, String>, key: &str) -> stackd_spec::Value {
    crate::args::s(attrs.get(key).map(String::as_str))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_is_the_fifth_field_of_the_arn() {
        assert_eq!(
            arn_account("arn:aws:sns:eu-west-1:123456789012:t:sub-1"),
            Some("123456789012")
        );
        assert_eq!(arn_account("nonsense"), None);
    }
}
