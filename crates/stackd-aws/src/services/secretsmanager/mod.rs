//! Secrets Manager: secrets and their versions (a database password the
//! task definition reads), and the data sources that read them.
//!
//! `ListSecrets` answers every secret with its tags, description, KMS key
//! and version stages, so both managed types refresh with one list chain;
//! only the data source of a version's value calls per secret.

use std::collections::BTreeMap;

use aws_sdk_secretsmanager::types::{Filter, FilterNameStringType, SecretListEntry};
use stackd_engine::provider::ProviderError;

use crate::context::Aws;
use crate::iam_util::AwsResult;
use crate::policy::{arn, ArnPattern};
use crate::services::Service;

types! {
    managed: [
        secretsmanager_secret,
        secretsmanager_secret_version,
    ],
    data: [
        secretsmanager_secret_data,
        secretsmanager_secret_version_data,
    ],
}

/// The service: the `Aws` client field `secretsmanager`.
pub(crate) static SERVICE: Service = Service {
    managed: MANAGED,
    data: DATA,
    client: "secretsmanager",
    iam_prefix: "secretsmanager",
    not_found: &[],
    arns: &[SECRET],
};

/// The service name errors carry.
pub(crate) const SECRETS: &str = "secretsmanager";

pub(crate) const SECRET: ArnPattern = arn(
    "Secret",
    "arn:${partition}:secretsmanager:${region}:${account}:secret:*",
);

/// `ListSecrets` filters take at most ten values; more names are read by
/// listing every secret.
const MAX_FILTER_VALUES: usize = 10;

/// The secret name inside an ARN (`arn:…:secret:NAME-AbCdEf`): AWS appends
/// a hyphen and six random characters to the name.
pub(crate) fn name_from_arn(arn: &str) -> Option<&str> {
    let (_, rest) = arn.split_once(":secret:")?;
    let (name, suffix) = rest.rsplit_once('-')?;
    (suffix.len() == 6 && !name.is_empty()).then_some(name)
}

/// The secrets with these names (exact match; the `name` filter matches by
/// prefix), with one `ListSecrets` chain. Secrets scheduled for deletion are
/// left out, as AWS leaves them out: they are gone for a refresh.
pub(crate) async fn list_secrets(
    aws: &Aws,
    names: &[&str],
) -> Result<BTreeMap<String, SecretListEntry>, ProviderError> {
    let mut call = aws.secretsmanager.list_secrets();
    if names.len() <= MAX_FILTER_VALUES {
        call = call.filters(
            Filter::builder()
                .key(FilterNameStringType::Name)
                .set_values(Some(names.iter().map(|n| n.to_string()).collect()))
                .build(),
        );
    }
    let pages = call
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(SECRETS, "ListSecrets")?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.secret_list.unwrap_or_default())
        .filter(|e| e.name().is_some_and(|n| names.contains(&n)))
        .filter_map(|e| Some((e.arn()?.to_string(), e)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(
            name_from_arn("arn:aws:secretsmanager:us-east-1:1:secret:app/db-password-AbC123"),
            Some("app/db-password")
        );
        assert_eq!(
            name_from_arn("arn:aws:secretsmanager:us-east-1:1:secret:x"),
            None
        );
        assert_eq!(name_from_arn("not an arn"), None);
    }
}
