//! `aws_default_security_group`: adopts the security group named `default`
//! that EC2 gives every VPC; it never creates or deletes a group.
//!
//! As in the Terraform provider, "create" finds the VPC's default group
//! (`vpc_id`, else the default VPC's), revokes every rule it has, then
//! authorizes the spec's `ingress` and `egress` blocks and sets its tags
//! (stackd's ownership tags among them). Its rules then change in place as
//! an `aws_security_group`'s do. "Destroy" only forgets the group: its rules
//! and user tags stay as they are (the provider's behaviour); stackd takes
//! its own ownership tags back off so the group does not read as a leftover
//! of the stack. A default group already tagged for another stack or
//! address is refused. The ID and import ID are the group's `sg-…` ID.
//! Refresh is the `aws_security_group` chain: one `DescribeSecurityGroups`
//! on the ownership tag, then known IDs by filter.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Tag};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
    ADDRESS_TAG, STACK_ID_TAG, STACK_TAG,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::security_group::{
    apply_rules, describe_one, describe_security_groups, group_attrs, update_rules_and_tags,
};
use super::{SECURITY_GROUP, SECURITY_GROUP_RULE};
use crate::args::{blocks, opt_str};
use crate::context::{Aws, Location};
use crate::error::{gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::refresh::{address_for, filter, find_owned, known_attrs};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tags_value};
use crate::wait::{retry, Deadline};

/// `aws_default_security_group`: its schema, its handler, and the IAM grants of every call
/// it makes (read, adopt, update, tag, forget).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_default_security_group",
    schema,
    handler: &DefaultSecurityGroup,
    grants: &[
        g(
            &[
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(
            &[
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
                "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            ],
            &[SECURITY_GROUP, SECURITY_GROUP_RULE],
        ),
        g(&["ec2:CreateTags", "ec2:DeleteTags"], &[SECURITY_GROUP]),
    ],
    source: file!(),
};

fn rule_block(name: &'static str) -> BlockSchema {
    // The `aws_security_group` rule block.
    let full = super::security_group::schema();
    let mut block = full
        .body
        .blocks
        .into_iter()
        .find(|b| b.name == name)
        .unwrap_or_else(|| BlockSchema::new(name, Nesting::Set));
    block.name = name;
    block
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_default_security_group")
        .doc("The default security group of a VPC, adopted (never created or deleted).")
        .attr(
            AttrSchema::optional_computed("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC; the default VPC when unset."),
        )
        .block(rule_block("ingress"))
        .block(rule_block("egress"))
        .attr(
            AttrSchema::optional("revoke_rules_on_delete", AttrType::Bool)
                .default(false)
                .doc("Not used (as in the Terraform provider)."),
        )
        .attr(AttrSchema::computed("name", AttrType::String).doc("`default`."))
        .attr(AttrSchema::computed("name_prefix", AttrType::String).doc("Always empty."))
        .attr(AttrSchema::computed("description", AttrType::String).doc("EC2's description."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The group's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

/// The group's attributes with `revoke_rules_on_delete` as recorded.
fn attrs(loc: &Location, group: &types::SecurityGroup, recorded: Option<&Value>) -> Value {
    group_attrs(loc, group, recorded)
}

fn live(
    loc: &Location,
    groups: Vec<types::SecurityGroup>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    groups
        .into_iter()
        .filter_map(|g| {
            let id = g.group_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, g.tags(), known),
                attrs: attrs(loc, &g, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

/// The VPC's default group (the default VPC's when `vpc_id` is unset).
async fn find_default(
    aws: &Aws,
    desired: &Value,
) -> Result<types::SecurityGroup, ProviderError> {
    let mut filters = vec![filter("group-name", ["default"])];
    let what = match opt_str(desired, "vpc_id") {
        Some(vpc) => {
            filters.push(filter("vpc-id", [vpc]));
            format!("the default security group of {vpc}")
        }
        None => {
            let vpcs = super::vpc::describe_vpcs(aws, vec![filter("is-default", ["true"])]).await?;
            let vpc = vpcs
                .first()
                .and_then(|v| v.vpc_id())
                .ok_or_else(|| gone("DescribeVpcs", "the default VPC"))?;
            filters.push(filter("vpc-id", [vpc]));
            format!("the default security group of the default VPC {vpc}")
        }
    };
    describe_security_groups(aws, filters)
        .await?
        .into_iter()
        .find(|g| g.group_name() == Some("default"))
        .ok_or_else(|| gone("DescribeSecurityGroups", &what))
}

/// Refuses a group another stack, or another resource of this one, has
/// adopted.
pub(crate) fn check_not_taken(
    tags: &[Tag],
    req: &ChangeRequest,
    what: &str,
    operation: &str,
) -> Result<(), ProviderError> {
    let tag = |k: &str| crate::tags::tag(tags, k);
    let tagged = tag(STACK_TAG).is_some() || tag(STACK_ID_TAG).is_some();
    if !tagged || req.owner.made(tag, &req.address) {
        return Ok(());
    }
    Err(invalid(
        operation,
        format!(
            "{what} is already managed by {} of stack {}; remove it there first",
            tag(ADDRESS_TAG).unwrap_or("another resource"),
            tag(STACK_TAG).unwrap_or("(unknown)")
        ),
    ))
}

/// Removes stackd's own tags from an object that is let go of.
pub(crate) async fn drop_ownership_tags(
    aws: &Aws,
    id: &str,
    tags: &[Tag],
) -> Result<(), ProviderError> {
    let keys: Vec<Tag> = tags
        .iter()
        .filter_map(|t| t.key())
        .filter(|k| k.starts_with("stackd:"))
        .map(|k| Tag::builder().key(k).build())
        .collect();
    if keys.is_empty() {
        return Ok(());
    }
    ignore_not_found(
        aws.ec2
            .delete_tags()
            .resources(id)
            .set_tags(Some(keys))
            .send()
            .await
            .ec2("DeleteTags")
            .map(|_| ()),
    )
}

pub(crate) struct DefaultSecurityGroup;

#[async_trait]
impl ResourceHandler for DefaultSecurityGroup {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let groups = find_owned(req, "group-id", types::SecurityGroup::group_id, |f| {
            describe_security_groups(aws, f)
        })
        .await?;
        Ok(live(&aws.loc, groups, &req.known))
    }

    /// Adopts the default group: its tags become the spec's, every rule it
    /// has is revoked and the spec's are authorized.
    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "AuthorizeSecurityGroupIngress";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let group = find_default(aws, d).await?;
        let id = group
            .group_id()
            .ok_or_else(|| invalid(OP, "the default group has no ID"))?
            .to_string();
        check_not_taken(group.tags(), req, &format!("security group {id}"), OP)?;
        let current = group_attrs(&aws.loc, &group, None);
        // Tags first: the ownership tags say whose the group is before any
        // rule changes (a crash in between leaves it recognisably ours).
        let prior_tags = Value::map([("tags_all", tags_value(group.tags()))]);
        reconcile(aws, &id, &prior_tags, d, &deadline).await?;
        for (key, egress) in [("ingress", false), ("egress", true)] {
            apply_rules(
                aws,
                &id,
                egress,
                blocks(&current, key),
                blocks(d, key),
                &deadline,
            )
            .await?;
        }
        describe_one(aws, &id)
            .await?
            .map(|g| attrs(&aws.loc, &g, Some(d)))
            .ok_or_else(|| gone("DescribeSecurityGroups", &id))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let id = update_rules_and_tags(aws, req).await?;
        let d = &req.desired;
        describe_one(aws, id)
            .await?
            .map(|g| attrs(&aws.loc, &g, Some(d)))
            .ok_or_else(|| gone("DescribeSecurityGroups", id))
    }

    /// Forgets the group; its rules and user tags stay.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let Some(group) = describe_one(aws, &req.id).await? else {
            return Ok(());
        };
        retry(&deadline, || drop_ownership_tags(aws, &req.id, group.tags())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rule_blocks_are_the_security_groups() {
        let s = schema();
        let ingress = s.body.blocks.iter().find(|b| b.name == "ingress").unwrap();
        assert!(ingress.attrs.iter().any(|a| a.name == "from_port"));
        assert!(s.body.blocks.iter().any(|b| b.name == "egress"));
    }

    #[test]
    fn live_group_has_every_attribute() {
        let g = types::SecurityGroup::builder()
            .group_id("sg-1")
            .group_name("default")
            .description("default VPC security group")
            .vpc_id("vpc-1")
            .owner_id("123456789012")
            .build();
        let v = attrs(&Location::new("us-east-1"), &g, None);
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
