//! SQS: queues and their policies, and the look-ups both types share (a
//! queue's attributes and tags).
//!
//! SQS has no batch read of attributes: `GetQueueAttributes` and
//! `ListQueueTags` answer for one queue each. A refresh lists the known
//! queues' names with one `ListQueues` chain (by their common prefix), then
//! reads each queue found, [`crate::concurrent::MAX_CONCURRENT_READS`] at
//! once.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_sqs::types::QueueAttributeName;
use stackd_engine::provider::{Owner, ProviderError};

use crate::context::Aws;
use crate::iam_util::{found, refuse_other_stacks, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        sqs_queue,
        sqs_queue_policy,
    ],
    data: [],
}

/// The service: the `Aws` client field `sqs`, IAM prefix `sqs`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "sqs",
    iam_prefix: "sqs",
    // The JSON protocol's code and the query protocol's, which the SDK
    // reports when the service sends it.
    not_found: &[
        "QueueDoesNotExist",
        "AWS.SimpleQueueService.NonExistentQueue",
    ],
    arns: &[QUEUE],
};

/// The service name errors carry.
pub(crate) const SQS: &str = "sqs";

pub(crate) const QUEUE: ArnPattern = arn("Queue", "arn:${partition}:sqs:${region}:${account}:*");

/// The queue name at the end of a queue URL.
pub(crate) fn queue_name(url: &str) -> &str {
    url.trim_end_matches('/').rsplit('/').next().unwrap_or(url)
}

/// Every attribute of a queue (`GetQueueAttributes` with `All`), by SQS
/// attribute name; `None` when the queue is gone.
pub(crate) async fn queue_attributes(
    aws: &Aws,
    url: &str,
) -> Result<Option<HashMap<String, String>>, ProviderError> {
    let out = found(
        aws.sqs
            .get_queue_attributes()
            .queue_url(url)
            .attribute_names(QueueAttributeName::All)
            .send()
            .await
            .aws(SQS, "GetQueueAttributes"),
    )?;
    Ok(out.map(|o| {
        o.attributes
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k.as_str().to_string(), v))
            .collect()
    }))
}

/// A queue's tags (`ListQueueTags`).
pub(crate) async fn queue_tags(
    aws: &Aws,
    url: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .sqs
        .list_queue_tags()
        .queue_url(url)
        .send()
        .await
        .aws(SQS, "ListQueueTags")?;
    Ok(out.tags.unwrap_or_default().into_iter().collect())
}

/// Refuses a queue tagged as another stack's: its policy is not this
/// stack's to set.
pub(crate) async fn refuse_other_stacks_queue(
    aws: &Aws,
    url: &str,
    owner: &Owner,
    operation: &str,
) -> Result<(), ProviderError> {
    let tags = found(queue_tags(aws, url).await)?.unwrap_or_default();
    refuse_other_stacks(&tags, owner, SQS, operation, &format!("queue {url:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_is_the_last_segment_of_the_url() {
        assert_eq!(
            queue_name("https://sqs.eu-west-1.amazonaws.com/123456789012/jobs.fifo"),
            "jobs.fifo"
        );
        assert_eq!(queue_name("http://localhost:4566/000000000000/q/"), "q");
    }
}
