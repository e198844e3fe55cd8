//! EventBridge (CloudWatch Events): rules and their targets, e.g. the
//! schedule that runs an ECS task.
//!
//! Rules are read with one `ListRules` chain per event bus (filtered by
//! the known names' common prefix), then `ListTagsForResource` per rule:
//! EventBridge has no batch read of tags. Targets are read with one
//! `ListTargetsByRule` chain per rule.

use std::collections::BTreeMap;

use aws_sdk_eventbridge::types::{Rule, Tag};
use stackd_engine::provider::ProviderError;

use crate::context::Aws;
use crate::iam_util::{invalid, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;
use crate::tags::is_hidden_tag;

types! {
    managed: [
        cloudwatch_event_rule,
        cloudwatch_event_target,
    ],
    data: [],
}

/// The service: the `Aws` client field `events`, IAM prefix `events`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "events",
    iam_prefix: "events",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["ResourceNotFoundException"],
    arns: &[RULE],
};

/// The service name errors carry.
pub(crate) const EVENTS: &str = "events";

/// The default event bus, which Terraform leaves out of IDs.
pub(crate) const DEFAULT_BUS: &str = "default";

/// Rules, on any bus (`rule/NAME` on the default bus, `rule/BUS/NAME` on
/// others).
pub(crate) const RULE: ArnPattern = arn(
    "Rule",
    "arn:${partition}:events:${region}:${account}:rule/*",
);

/// The rules of `bus` whose names begin with `prefix` (one `ListRules`
/// chain); `None` when the bus does not exist.
pub(crate) async fn list_rules(
    aws: &Aws,
    bus: &str,
    prefix: &str,
) -> Result<Option<Vec<Rule>>, ProviderError> {
    let mut out = Vec::new();
    let mut next: Option<String> = None;
    loop {
        let call = aws
            .events
            .list_rules()
            .event_bus_name(bus)
            .set_name_prefix((!prefix.is_empty()).then(|| prefix.to_string()))
            .set_next_token(next.take());
        let page = match crate::iam_util::found(call.send().await.aws(EVENTS, "ListRules"))? {
            Some(page) => page,
            None => return Ok(None),
        };
        out.extend(page.rules().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => next = Some(t.to_string()),
            _ => break,
        }
    }
    Ok(Some(out))
}

/// A rule's tags, without the hidden ones.
pub(crate) async fn rule_tags(
    aws: &Aws,
    arn: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .events
        .list_tags_for_resource()
        .resource_arn(arn)
        .send()
        .await
        .aws(EVENTS, "ListTagsForResource")?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .filter(|(k, _)| !is_hidden_tag(k))
        .collect())
}

/// Tags for an EventBridge request.
pub(crate) fn sdk_tags(
    tags: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(EVENTS, operation, e.to_string()))
        })
        .collect()
}

/// The bus as Terraform records it: the default bus is `default`.
pub(crate) fn bus_or_default(bus: Option<&str>) -> &str {
    bus.filter(|b| !b.is_empty()).unwrap_or(DEFAULT_BUS)
}
