//! Tags: applied at creation (so an object never exists untagged), read
//! back into `tags_all`, and reconciled on update.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_ec2::types::{ResourceType, Tag, TagSpecification};
use stackd_engine::provider::{Owner, ProviderError, ADDRESS_TAG, STACK_ID_TAG, STACK_TAG};
use stackd_spec::{Address, Value};

use crate::args::str_map;
use crate::context::Aws;
use crate::error::Ec2Result;
use crate::iam_util::AwsResult;
use crate::wait::{retry, Deadline};

/// Tag carrying the idempotency token of the create that made an object,
/// set in the create call itself (`TagSpecifications`): after a lost answer
/// or a crash, the object is found by it (`find_created`) instead of being
/// made twice. It is not part of `tags_all` and is never removed.
pub(crate) const CREATE_TOKEN_TAG: &str = "stackd:create-token";

/// Tags stackd neither shows in `tags_all` nor removes: AWS's reserved
/// `aws:` ones and the create token.
pub(crate) fn is_hidden_tag(key: &str) -> bool {
    key.starts_with("aws:") || key == CREATE_TOKEN_TAG
}

/// The merged tags the engine asks for (`tags_all`).
pub(crate) fn desired_tags(desired: &Value) -> BTreeMap<String, String> {
    str_map(desired, "tags_all")
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

/// The `TagSpecifications` entry tagging an object as it is created, with
/// the create's token when there is one (a dry run has none).
pub(crate) fn tag_specification(
    resource_type: ResourceType,
    desired: &Value,
    token: Option<&str>,
) -> Option<TagSpecification> {
    let mut tags = desired_tags(desired);
    if let Some(token) = token.filter(|t| !t.is_empty()) {
        tags.insert(CREATE_TOKEN_TAG.to_string(), token.to_string());
    }
    if tags.is_empty() {
        return None;
    }
    Some(
        TagSpecification::builder()
            .resource_type(resource_type)
            .set_tags(Some(sdk_tags(&tags)))
            .build(),
    )
}

/// Live tags as `tags_all`: every tag but AWS's reserved `aws:` ones.
pub(crate) fn tags_value(tags: &[Tag]) -> Value {
    Value::Map(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or(""))))
            .filter(|(k, _)| !is_hidden_tag(k))
            .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
            .collect(),
    )
}

/// A managed type's attributes as its data source shows them: the live
/// tags (`tags_all`) under `tags`, as Terraform's data sources name them.
pub(crate) fn as_data_tags(attrs: Value) -> Value {
    match attrs {
        Value::Map(mut m) => {
            if let Some(tags) = m.remove("tags_all") {
                m.insert("tags".into(), tags);
            }
            Value::Map(m)
        }
        other => other,
    }
}

/// One tag's value.
pub(crate) fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(|t| t.value())
}

/// The address an object's ownership tag names, if it parses.
pub(crate) fn tagged_address(tags: &[Tag]) -> Option<Address> {
    tag(tags, ADDRESS_TAG).and_then(|a| a.parse().ok())
}

/// True when the object's tags say it is `owner`'s.
pub(crate) fn owned_by(tags: &[Tag], owner: &Owner) -> bool {
    owner.owns(|k| tag(tags, k))
}

/// Tags to set (added or changed) and keys to remove, from `prior` to
/// `desired`. Reserved `aws:` keys are never touched.
pub(crate) fn tag_changes(
    prior: &BTreeMap<String, String>,
    desired: &BTreeMap<String, String>,
) -> (BTreeMap<String, String>, Vec<String>) {
    let set = desired
        .iter()
        .filter(|(k, v)| prior.get(*k) != Some(*v))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let remove = prior
        .keys()
        .filter(|k| !desired.contains_key(*k) && !is_hidden_tag(k))
        .cloned()
        .collect();
    (set, remove)
}

/// Brings an object's tags from `prior` (live attributes) to `desired`
/// (the arguments asked for) with the service's own calls: `untag` with the
/// keys to remove, then `tag` with the tags to set, each at most once and
/// retried within `deadline`. Every service that tags by resource ARN or
/// name (Logs, CloudWatch, SNS, ...) uses this one.
pub(crate) async fn reconcile_by<U, UF, T, TF>(
    prior: &Value,
    desired: &Value,
    deadline: &crate::wait::Deadline,
    untag: U,
    tag: T,
) -> Result<(), ProviderError>
where
    U: Fn(Vec<String>) -> UF,
    UF: std::future::Future<Output = Result<(), ProviderError>>,
    T: Fn(BTreeMap<String, String>) -> TF,
    TF: std::future::Future<Output = Result<(), ProviderError>>,
{
    let (set, remove) = tag_changes(&str_map(prior, "tags_all"), &desired_tags(desired));
    if !remove.is_empty() {
        crate::wait::retry(deadline, || untag(remove.clone())).await?;
    }
    if !set.is_empty() {
        crate::wait::retry(deadline, || tag(set.clone())).await?;
    }
    Ok(())
}

/// Brings an object's tags from `prior` (live `tags_all`) to `desired`
/// (`tags_all` asked for), with one `DeleteTags` and one `CreateTags` at most.
pub(crate) async fn reconcile(
    aws: &Aws,
    id: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (set, remove) = tag_changes(&str_map(prior, "tags_all"), &desired_tags(desired));
    if !remove.is_empty() {
        let keys: Vec<Tag> = remove
            .iter()
            .map(|k| Tag::builder().key(k).build())
            .collect();
        retry(deadline, || async {
            aws.ec2
                .delete_tags()
                .resources(id)
                .set_tags(Some(keys.clone()))
                .send()
                .await
                .ec2("DeleteTags")
        })
        .await?;
    }
    if !set.is_empty() {
        let tags = sdk_tags(&set);
        retry(deadline, || async {
            aws.ec2
                .create_tags()
                .resources(id)
                .set_tags(Some(tags.clone()))
                .send()
                .await
                .ec2("CreateTags")
        })
        .await?;
    }
    Ok(())
}

/// The tags of this stack's objects of one Resource Groups Tagging API
/// resource type (`logs:log-group`, `ssm:parameter`), by ARN: one
/// `GetResources` chain for every object of the type that carries the
/// stack's identity tag, instead of a tags call per object.
///
/// An object missing from the answer has lost the stack's tags since, or
/// is not in the API's index yet (it is eventually consistent): callers
/// read such objects' tags on their own, so the answer is exact for every
/// object but ones whose tags changed moments ago.
pub(crate) async fn stack_tags_by_arn(
    aws: &Aws,
    resource_type: &str,
    owner: &Owner,
) -> Result<HashMap<String, BTreeMap<String, String>>, ProviderError> {
    use aws_sdk_resourcegroupstagging::types::TagFilter;
    let filter = if owner.by_name {
        TagFilter::builder().key(STACK_TAG).values(&owner.name)
    } else {
        TagFilter::builder().key(STACK_ID_TAG).values(&owner.id)
    };
    let pages = aws
        .tagging
        .get_resources()
        .resource_type_filters(resource_type)
        .tag_filters(filter.build())
        // The most a page holds (the default is 50): fewer calls in the chain.
        .resources_per_page(100)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws("tag", "GetResources")?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.resource_tag_mapping_list.unwrap_or_default())
        .filter_map(|m| {
            let tags = m
                .tags()
                .iter()
                .map(|t| (t.key().to_string(), t.value().to_string()))
                .collect();
            Some((m.resource_arn?, tags))
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str, v: &str) -> Tag {
        Tag::builder().key(k).value(v).build()
    }

    fn m(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn live_tags_skip_reserved_keys() {
        let v = tags_value(&[t("Name", "main"), t("aws:cloudformation:stack-name", "x")]);
        assert_eq!(v, Value::map([("Name", Value::from("main"))]));
    }

    #[test]
    fn tag_changes_set_new_and_changed_and_remove_dropped() {
        let (set, remove) = tag_changes(
            &m(&[("a", "1"), ("b", "2"), ("c", "3")]),
            &m(&[("a", "1"), ("b", "20"), ("d", "4")]),
        );
        assert_eq!(set, m(&[("b", "20"), ("d", "4")]));
        assert_eq!(remove, vec!["c".to_string()]);
    }

    #[test]
    fn ownership_tags_give_the_address() {
        use stackd_engine::provider::{STACK_ID_TAG, STACK_TAG};
        let tags = [
            t(STACK_TAG, "prod"),
            t(STACK_ID_TAG, "id-prod"),
            t(ADDRESS_TAG, "aws_subnet.public[\"a\"]"),
        ];
        assert!(owned_by(&tags, &Owner::new("prod", "id-prod")));
        assert!(!owned_by(&tags, &Owner::new("prod", "id-copy")));
        assert!(!owned_by(&tags, &Owner::new("dev", "id-dev")));
        let lost = Owner {
            by_name: true,
            ..Owner::new("prod", "id-new")
        };
        assert!(owned_by(&tags, &lost), "a lost state adopts by name");
        assert_eq!(
            tagged_address(&tags).map(|a| a.to_string()).as_deref(),
            Some("aws_subnet.public[\"a\"]")
        );
        assert_eq!(tagged_address(&[t(ADDRESS_TAG, "nonsense")]), None);
    }

    #[test]
    fn no_tag_specification_without_tags() {
        assert!(tag_specification(
            ResourceType::Vpc,
            &Value::map([("tags_all", Value::Null)]),
            None
        )
        .is_none());
        let spec = tag_specification(
            ResourceType::Vpc,
            &Value::map([("tags_all", Value::map([("Name", Value::from("x"))]))]),
            None,
        )
        .unwrap();
        assert_eq!(spec.resource_type(), Some(&ResourceType::Vpc));
        assert_eq!(spec.tags(), &[t("Name", "x")]);
    }

    #[test]
    fn a_create_is_tagged_with_its_token_which_tags_all_never_shows() {
        let spec = tag_specification(
            ResourceType::Vpc,
            &Value::map([("tags_all", Value::map([("Name", Value::from("x"))]))]),
            Some("tok-1"),
        )
        .unwrap();
        assert_eq!(spec.tags(), &[t("Name", "x"), t(CREATE_TOKEN_TAG, "tok-1")]);
        let shown = tags_value(spec.tags());
        assert_eq!(shown.as_map().map(|m| m.len()), Some(1), "{shown:?}");
        let (_, remove) = tag_changes(
            &[(CREATE_TOKEN_TAG.to_string(), "tok-1".to_string())].into(),
            &BTreeMap::new(),
        );
        assert!(remove.is_empty(), "the token is never removed");
    }
}
