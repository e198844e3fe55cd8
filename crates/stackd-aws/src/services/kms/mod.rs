//! KMS: customer managed keys, their aliases, and the key data source.
//!
//! KMS has no batch read of a key: `DescribeKey`, `GetKeyPolicy`,
//! `GetKeyRotationStatus` and `ListResourceTags` each take one key, so a
//! key's refresh is four calls per known key (at most
//! [`crate::concurrent::MAX_CONCURRENT_READS`] keys at once), and tags
//! cannot find a key in a batch either. Aliases are one `ListAliases` chain
//! for every alias of the account.

use std::collections::BTreeMap;

use aws_sdk_kms::types::{KeyMetadata, Tag};
use stackd_engine::provider::ProviderError;

use crate::context::Aws;
use crate::iam_util::{found, invalid, AwsResult};
use crate::policy::{arn, ArnPattern};
use crate::services::Service;
use crate::tags::is_hidden_tag;

types! {
    managed: [
        kms_key,
        kms_alias,
    ],
    data: [
        kms_key_data,
    ],
}

/// The service: the `Aws` client field `kms`, IAM prefix `kms`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "kms",
    iam_prefix: "kms",
    // Error codes beyond `…NotFound` meaning the object does not exist.
    not_found: &["NotFoundException"],
    arns: &[KEY, ALIAS],
};

/// The service name errors carry.
pub(crate) const KMS: &str = "kms";

/// Keys, by ID.
pub(crate) const KEY: ArnPattern = arn("Key", "arn:${partition}:kms:${region}:${account}:key/*");

/// Aliases, by name.
pub(crate) const ALIAS: ArnPattern =
    arn("Alias", "arn:${partition}:kms:${region}:${account}:alias/*");

/// A key's metadata by ID, ARN, alias name or alias ARN; `None` when
/// there is no such key.
pub(crate) async fn describe_key(
    aws: &Aws,
    key: &str,
) -> Result<Option<KeyMetadata>, ProviderError> {
    let out = found(
        aws.kms
            .describe_key()
            .key_id(key)
            .send()
            .await
            .aws(KMS, "DescribeKey"),
    )?;
    Ok(out.and_then(|o| o.key_metadata))
}

/// A key's tags (every page), without the hidden ones.
pub(crate) async fn key_tags(
    aws: &Aws,
    key_id: &str,
) -> Result<BTreeMap<String, String>, ProviderError> {
    let mut tags = BTreeMap::new();
    let mut marker: Option<String> = None;
    loop {
        let page = aws
            .kms
            .list_resource_tags()
            .key_id(key_id)
            .set_marker(marker.take())
            .send()
            .await
            .aws(KMS, "ListResourceTags")?;
        tags.extend(tag_map(page.tags()));
        match page.next_marker() {
            Some(m) if page.truncated() && !m.is_empty() => marker = Some(m.to_string()),
            _ => break,
        }
    }
    Ok(tags)
}

/// KMS tags as a map, without the hidden ones.
pub(crate) fn tag_map(tags: &[Tag]) -> BTreeMap<String, String> {
    tags.iter()
        .map(|t| (t.tag_key().to_string(), t.tag_value().to_string()))
        .filter(|(k, _)| !is_hidden_tag(k))
        .collect()
}

/// Tags for a KMS request.
pub(crate) fn sdk_tags(
    tags: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| {
            Tag::builder()
                .tag_key(k)
                .tag_value(v)
                .build()
                .map_err(|e| invalid(KMS, operation, e.to_string()))
        })
        .collect()
}

/// An alias name as KMS wants it: `alias/` and a name not in AWS's
/// reserved `alias/aws/` space.
pub(crate) fn check_alias_name(name: &str) -> Result<(), String> {
    if !name.starts_with("alias/") || name.len() <= "alias/".len() {
        return Err(format!("alias name {name:?} must begin with \"alias/\""));
    }
    if name.starts_with("alias/aws/") {
        return Err(format!(
            "alias name {name:?} is in the \"alias/aws/\" space AWS reserves"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alias_names_begin_with_alias_and_avoid_the_aws_space() {
        assert!(check_alias_name("alias/app").is_ok());
        assert!(check_alias_name("app").is_err());
        assert!(check_alias_name("alias/").is_err());
        assert!(check_alias_name("alias/aws/s3").is_err());
    }

    #[test]
    fn hidden_tags_are_left_out() {
        let tags = [
            Tag::builder()
                .tag_key("team")
                .tag_value("web")
                .build()
                .unwrap(),
            Tag::builder()
                .tag_key(crate::tags::CREATE_TOKEN_TAG)
                .tag_value("t")
                .build()
                .unwrap(),
        ];
        assert_eq!(
            tag_map(&tags),
            BTreeMap::from([("team".to_string(), "web".to_string())])
        );
    }
}
