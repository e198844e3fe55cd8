//! Every role of the account in two call chains, for refreshing many roles
//! and their policies at once: `ListRoles` (what `GetRole` answers but tags
//! and the permissions boundary) and `GetAccountAuthorizationDetails`
//! filtered to roles (tags, boundary, inline and attached policies).
//!
//! IAM has no call that reads a chosen set of roles, so reading the whole
//! account pays off only past a number of known roles: below
//! [`BATCH_FROM`], types read each role (`GetRole`, `GetRolePolicy`...),
//! above it they read the account once. IAM's request rates are low and
//! not published; per-role reads of a large stack are what throttles.

use std::collections::HashMap;
use std::sync::Arc;

use aws_sdk_iam::types::{EntityType, Role, RoleDetail};
use stackd_engine::provider::ProviderError;

use crate::context::Aws;
use crate::iam_util::{AwsResult, IAM};

/// Known instances from which a type reads the whole account's roles.
pub(crate) const BATCH_FROM: usize = 20;

/// The IAM actions of [`roles_with_details`].
pub(crate) const READ_ALL_ROLES: &[&str] = &["iam:GetAccountAuthorizationDetails", "iam:ListRoles"];

/// Every role's details (inline and attached policies, tags, boundary), by
/// role name: one `GetAccountAuthorizationDetails` chain, shared by the
/// types whose refreshes ask at once (roles, their policies and
/// attachments).
pub(crate) async fn role_details(
    aws: &Aws,
) -> Result<Arc<HashMap<String, RoleDetail>>, ProviderError> {
    aws.role_details.get(|| read_role_details(aws)).await
}

async fn read_role_details(aws: &Aws) -> Result<HashMap<String, RoleDetail>, ProviderError> {
    let pages = aws
        .iam
        .get_account_authorization_details()
        .filter(EntityType::Role)
        // The most a page holds (the default is 100).
        .max_items(1000)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(IAM, "GetAccountAuthorizationDetails")?;
    Ok(pages
        .into_iter()
        .flat_map(|page| page.role_detail_list.unwrap_or_default())
        .filter_map(|d| Some((d.role_name.clone()?, d)))
        .collect())
}

/// Every role as `GetRole` answers it (tags and boundary included), by
/// role name: one `ListRoles` chain and [`role_details`]' chain. Also
/// gives the details.
pub(crate) async fn roles_with_details(
    aws: &Aws,
) -> Result<(HashMap<String, Role>, Arc<HashMap<String, RoleDetail>>), ProviderError> {
    let (listed, details) = tokio::try_join!(
        async {
            aws.iam
                .list_roles()
                .into_paginator()
                .items()
                .send()
                .collect::<Result<Vec<_>, _>>()
                .await
                .aws(IAM, "ListRoles")
        },
        role_details(aws)
    )?;
    let roles = listed
        .into_iter()
        .map(|mut role| {
            // ListRoles leaves these out; the details carry them.
            if let Some(d) = details.get(&role.role_name) {
                role.tags = Some(d.tags().to_vec());
                role.permissions_boundary = d.permissions_boundary.clone();
            }
            (role.role_name.clone(), role)
        })
        .collect();
    Ok((roles, details))
}
