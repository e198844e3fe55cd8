//! `aws_db_subnet_group`: the subnets (of one VPC, in at least two
//! availability zones) a DB instance may be placed in. Its ID, and import
//! ID, is its name. Changed in place with `ModifyDBSubnetGroup`.
//!
//! A refresh is one `DescribeDBSubnetGroups` chain for the type, then one
//! `ListTagsForResource` per known group: a subnet group's description
//! carries no tags and RDS has no batch tag read.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_rds::types::DbSubnetGroup;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{adoptable, rds_tags, reconcile_tags, tags_of, RDS, SUBNET_GROUP};
use crate::args::{list, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    address_of, bounded_all, echo, found, gone, ignore_gone, live_tags, name_or_generated,
    tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::RDS_SERVICE_LINKED_ROLE;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_db_subnet_group`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_db_subnet_group",
    schema,
    handler: &DbSubnetGroupHandler,
    grants: &[
        // The service makes its service-linked role on first use in an
        // account.
        g(&["iam:CreateServiceLinkedRole"], &[RDS_SERVICE_LINKED_ROLE]),
        g(
            &["rds:DescribeDBSubnetGroups", "rds:ListTagsForResource"],
            ANY,
        ),
        g(
            &[
                "rds:AddTagsToResource",
                "rds:CreateDBSubnetGroup",
                "rds:DeleteDBSubnetGroup",
                "rds:ModifyDBSubnetGroup",
                "rds:RemoveTagsFromResource",
            ],
            &[SUBNET_GROUP],
        ),
    ],
    source: file!(),
};

/// Terraform's description when none is given.
pub(crate) const MANAGED_BY: &str = "Managed by Terraform";

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_db_subnet_group")
        .doc("An RDS DB subnet group.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The group's name (lower case); generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).default(MANAGED_BY))
        .attr(
            AttrSchema::required("subnet_ids", AttrType::set_of(AttrType::String))
                .doc("Subnets in at least two availability zones."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("vpc_id", AttrType::String))
        .attr(AttrSchema::computed(
            "supported_network_types",
            AttrType::set_of(AttrType::String),
        ))
        .taggable()
}

fn group_attrs(g: &DbSubnetGroup, tags: &BTreeMap<String, String>, args: Option<&Value>) -> Value {
    let subnets = g
        .subnets()
        .iter()
        .filter_map(|s| s.subnet_identifier().map(str::to_string))
        .collect();
    Value::map([
        ("id", s(g.db_subnet_group_name())),
        ("name", s(g.db_subnet_group_name())),
        ("name_prefix", echo(args, "name_prefix", Value::Null)),
        ("description", s(g.db_subnet_group_description())),
        ("subnet_ids", set_or_null(subnets)),
        ("arn", s(g.db_subnet_group_arn())),
        ("vpc_id", s(g.vpc_id())),
        (
            "supported_network_types",
            list(g.supported_network_types().to_vec()),
        ),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

/// Every subnet group of the account and region (one paginated chain).
async fn describe_all(aws: &Aws) -> Result<Vec<DbSubnetGroup>, ProviderError> {
    aws.rds
        .describe_db_subnet_groups()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(RDS, "DescribeDBSubnetGroups")
}

/// One group by name, with its tags; `None` when there is none.
async fn read_one(
    aws: &Aws,
    name: &str,
    args: Option<&Value>,
) -> Result<Option<Value>, ProviderError> {
    let out = found(
        aws.rds
            .describe_db_subnet_groups()
            .db_subnet_group_name(name)
            .send()
            .await
            .aws(RDS, "DescribeDBSubnetGroups"),
    )?;
    let Some(g) = out.and_then(|o| o.db_subnet_groups().first().cloned()) else {
        return Ok(None);
    };
    let tags = match g.db_subnet_group_arn() {
        Some(arn) => found(tags_of(aws, arn).await)?.unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Some(group_attrs(&g, &tags, args)))
}

pub(crate) struct DbSubnetGroupHandler;

#[async_trait]
impl ResourceHandler for DbSubnetGroupHandler {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.iter().all(|k| k.id.is_empty()) {
            return Ok(Vec::new());
        }
        let groups: Vec<DbSubnetGroup> = describe_all(aws)
            .await?
            .into_iter()
            .filter(|g| {
                g.db_subnet_group_name()
                    .is_some_and(|n| req.known.iter().any(|k| k.id == n))
            })
            .collect();
        let tags = bounded_all(groups.iter().map(|g| async move {
            match g.db_subnet_group_arn() {
                Some(arn) => found(tags_of(aws, arn).await).map(Option::unwrap_or_default),
                None => Ok(BTreeMap::new()),
            }
        }))
        .await;
        groups
            .iter()
            .zip(tags)
            .map(|(g, tags)| {
                let tags = tags?;
                let id = g.db_subnet_group_name().unwrap_or_default().to_string();
                let known = req.known.iter().find(|k| k.id == id).map(|k| &k.attrs);
                Ok(LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: group_attrs(g, &tags, known),
                    id,
                })
            })
            .collect()
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateDBSubnetGroup";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "terraform-");
        let call = aws
            .rds
            .create_db_subnet_group()
            .db_subnet_group_name(&name)
            .db_subnet_group_description(opt_str(d, "description").unwrap_or(MANAGED_BY))
            .set_subnet_ids(Some(str_list(d, "subnet_ids")))
            .set_tags(Some(rds_tags(d)));
        // Subnets created a moment ago may not be visible yet.
        match retry(&deadline, || async { call.clone().send().await.aws(RDS, OP) }).await {
            Ok(_) => {}
            Err(e) if has_code(&e, "DBSubnetGroupAlreadyExists") => {
                let live = read_one(aws, &name, Some(d)).await?.ok_or(e)?;
                adoptable(req, &schema(), &live, OP, "DB subnet group", &name)?;
            }
            Err(e) => return Err(e),
        }
        read_one(aws, &name, Some(d))
            .await
            .and_then(|v| v.ok_or_else(|| gone(RDS, "DescribeDBSubnetGroups", &name)))
            .map_err(|e| after_create(&name, e))
    }

    /// A subnet group of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let Some(name) = known_str(d, "name") else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "rds:DescribeDBSubnetGroups";
        let mut findings = Findings::new();
        if let Some(Some(existing)) = findings.read(ACTION, read_one(aws, name, Some(d)).await)? {
            findings.name_in_use(req, ACTION, "DB subnet group", name, &live_tags(&existing));
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ModifyDBSubnetGroup";
        let deadline = Deadline::after(req.timeout);
        let name = update_id(req.id.as_deref(), RDS, OP)?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        if req
            .changed
            .iter()
            .any(|c| c == "description" || c == "subnet_ids")
        {
            let call = aws
                .rds
                .modify_db_subnet_group()
                .db_subnet_group_name(name)
                .db_subnet_group_description(opt_str(d, "description").unwrap_or(MANAGED_BY))
                .set_subnet_ids(Some(str_list(d, "subnet_ids")));
            retry(&deadline, || async { call.clone().send().await.aws(RDS, OP) }).await?;
        }
        if let Some(arn) = opt_str(&prior, "arn") {
            reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        }
        read_one(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(RDS, "DescribeDBSubnetGroups", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // A DB instance deleted a moment ago may still hold the group
        // (InvalidDBSubnetGroupStateFault), retried as AWS's own state.
        ignore_gone(
            retry(&deadline, || async {
                aws.rds
                    .delete_db_subnet_group()
                    .db_subnet_group_name(&req.id)
                    .send()
                    .await
                    .aws(RDS, "DeleteDBSubnetGroup")
                    .map_err(super::in_use_is_transient)
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_rds::types::Subnet;

    #[test]
    fn live_group_is_in_schema_shape() {
        let g = DbSubnetGroup::builder()
            .db_subnet_group_name("db")
            .db_subnet_group_description("Managed by Terraform")
            .vpc_id("vpc-1")
            .subnets(Subnet::builder().subnet_identifier("subnet-b").build())
            .subnets(Subnet::builder().subnet_identifier("subnet-a").build())
            .db_subnet_group_arn("arn:aws:rds:us-east-1:1:subgrp:db")
            .supported_network_types("IPV4")
            .build();
        let v = group_attrs(&g, &BTreeMap::new(), None);
        assert_eq!(v.get("id"), Some(&Value::from("db")));
        assert_eq!(
            v.get("subnet_ids"),
            Some(&Value::from(vec!["subnet-a", "subnet-b"]))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
