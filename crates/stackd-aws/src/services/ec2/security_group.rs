//! `aws_security_group`: a security group with inline `ingress` and
//! `egress` rule blocks.
//!
//! As with the Terraform provider, a new group keeps exactly the rules in
//! the spec: the allow-all egress rule EC2 adds is revoked unless an
//! `egress` block asks for it. The rule blocks are computed when absent:
//! with no `ingress` (or `egress`) blocks written, those rules are not
//! managed, so `aws_security_group_rule` resources can add them.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Filter, IpPermission, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{SECURITY_GROUP, SECURITY_GROUP_RULE, VPC};
use crate::args::{blocks, bool_or, hex_digest, opt_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result};
use crate::ip_permissions::{
    description_changes, permission_grants, read_rules, rule_changes, to_permissions, Grant,
};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, ec2_tag_map, known_str, Findings};
use crate::refresh::{address_for, filter, find_owned, known_attrs};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// The description the Terraform provider defaults to.
const DEFAULT_DESCRIPTION: &str = "Managed by Terraform";
/// The prefix of generated names, as the Terraform provider's.
const DEFAULT_NAME_PREFIX: &str = "terraform-";

fn rule_block(name: &'static str) -> BlockSchema {
    BlockSchema::new(name, Nesting::Set)
        .computed_when_absent()
        .attr(AttrSchema::optional(
            "cidr_blocks",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("description", AttrType::String))
        .attr(AttrSchema::required("from_port", AttrType::Number))
        .attr(AttrSchema::optional(
            "ipv6_cidr_blocks",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::optional(
            "prefix_list_ids",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::required("protocol", AttrType::String))
        .attr(AttrSchema::optional(
            "security_groups",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("self", AttrType::Bool).default(false))
        .attr(AttrSchema::required("to_port", AttrType::Number))
}

/// `aws_security_group`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_security_group",
    schema,
    handler: &SecurityGroup,
    grants: &[
        g(
            &[
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(&["ec2:CreateSecurityGroup"], &[SECURITY_GROUP, VPC]),
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
        g(
            &[
                "ec2:CreateTags",
                "ec2:DeleteSecurityGroup",
                "ec2:DeleteTags",
            ],
            &[SECURITY_GROUP],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_security_group")
        .doc("A security group.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The group name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("A prefix for a generated unique name."),
        )
        .attr(
            AttrSchema::optional("description", AttrType::String)
                .default(DEFAULT_DESCRIPTION)
                .force_new()
                .doc("The group description."),
        )
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
                .doc("Revoke the group's rules, and rules of related groups naming it, before deleting it."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The group's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 15 * 60,
        })
}

/// The live grants of a group, ingress then egress.
fn live_grants(group: &types::SecurityGroup) -> (Vec<Grant>, Vec<Grant>) {
    let own = group.group_id().unwrap_or_default();
    let owner = group.owner_id();
    let collect = |perms: &[IpPermission]| -> Vec<Grant> {
        perms
            .iter()
            .flat_map(|p| permission_grants(p, own, owner))
            .collect()
    };
    (
        collect(group.ip_permissions()),
        collect(group.ip_permissions_egress()),
    )
}

/// Live attributes; `recorded` (state, or the spec just applied) decides
/// how rules are grouped into blocks and supplies the arguments EC2 does not
/// keep (`name_prefix`, `revoke_rules_on_delete`).
pub(crate) fn group_attrs(loc: &Location, group: &types::SecurityGroup, recorded: Option<&Value>) -> Value {
    let id = group.group_id().unwrap_or_default();
    let name = group.group_name().unwrap_or_default();
    let (ingress, egress) = live_grants(group);
    let recorded_blocks = |key: &str| recorded.map(|r| blocks(r, key)).unwrap_or(&[]);
    let name_prefix = recorded
        .and_then(|r| opt_str(r, "name_prefix"))
        .filter(|p| name.starts_with(p));
    let arn = group
        .security_group_arn()
        .map(str::to_string)
        .or_else(|| loc.ec2_arn(group.owner_id(), &format!("security-group/{id}")));
    Value::map([
        ("id", s(Some(id))),
        ("arn", Value::from(arn)),
        ("name", s(Some(name))),
        ("name_prefix", s(name_prefix)),
        ("description", s(group.description())),
        ("vpc_id", s(group.vpc_id())),
        (
            "ingress",
            Value::List(read_rules(recorded_blocks("ingress"), &ingress, id)),
        ),
        (
            "egress",
            Value::List(read_rules(recorded_blocks("egress"), &egress, id)),
        ),
        (
            "revoke_rules_on_delete",
            Value::Bool(recorded.is_some_and(|r| bool_or(r, "revoke_rules_on_delete", false))),
        ),
        ("owner_id", s(group.owner_id())),
        ("tags_all", tags_value(group.tags())),
    ])
}

pub(crate) async fn describe_security_groups(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::SecurityGroup>, ProviderError> {
    aws.ec2
        .describe_security_groups()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeSecurityGroups")
}

pub(crate) async fn describe_one(aws: &Aws, id: &str) -> Result<Option<types::SecurityGroup>, ProviderError> {
    Ok(
        describe_security_groups(aws, vec![filter("group-id", [id])])
            .await?
            .into_iter()
            .next(),
    )
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
                attrs: group_attrs(loc, &g, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

/// The group name: `name`, else `name_prefix` (or `terraform-`) and a
/// suffix derived from the idempotency token, so a create retried after a
/// crash asks for the same name and finds the group it made.
fn group_name(desired: &Value, idempotency_token: &str) -> (String, bool) {
    match opt_str(desired, "name") {
        Some(name) => (name.to_string(), false),
        None => {
            let prefix = opt_str(desired, "name_prefix").unwrap_or(DEFAULT_NAME_PREFIX);
            (
                format!("{prefix}{}", &hex_digest(idempotency_token)[..26]),
                true,
            )
        }
    }
}

async fn authorize(
    aws: &Aws,
    id: &str,
    egress: bool,
    grants: &[Grant],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if grants.is_empty() {
        return Ok(());
    }
    match authorize_once(aws, id, egress, grants, deadline).await {
        // Some exist already (an attempt whose answer was lost, or one that
        // crashed before recording them): add only what is missing.
        Err(e) if has_code(&e, "InvalidPermission.Duplicate") => {
            let Some(group) = describe_one(aws, id).await? else {
                return Err(e);
            };
            let (ingress, egress_live) = live_grants(&group);
            let live = if egress { egress_live } else { ingress };
            let missing: Vec<Grant> = grants
                .iter()
                .filter(|g| !live.iter().any(|l| same_rule(l, g)))
                .cloned()
                .collect();
            match authorize_once(aws, id, egress, &missing, deadline).await {
                Err(e) if has_code(&e, "InvalidPermission.Duplicate") => Ok(()),
                other => other,
            }
        }
        other => other,
    }
}

/// Two grants allow the same traffic (EC2 refuses the second as a
/// duplicate whatever its description).
fn same_rule(a: &Grant, b: &Grant) -> bool {
    a.protocol == b.protocol
        && a.from_port == b.from_port
        && a.to_port == b.to_port
        && a.source == b.source
}

async fn authorize_once(
    aws: &Aws,
    id: &str,
    egress: bool,
    grants: &[Grant],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if grants.is_empty() {
        return Ok(());
    }
    let perms = to_permissions(grants, id);
    // A group a rule names may be too new to be visible yet.
    retry(deadline, || async {
        if egress {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(id)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("AuthorizeSecurityGroupEgress")
                .map(|_| ())
        } else {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(id)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("AuthorizeSecurityGroupIngress")
                .map(|_| ())
        }
    })
    .await
}

pub(crate) async fn revoke(
    aws: &Aws,
    id: &str,
    egress: bool,
    perms: Vec<IpPermission>,
) -> Result<(), ProviderError> {
    if perms.is_empty() {
        return Ok(());
    }
    let result = if egress {
        aws.ec2
            .revoke_security_group_egress()
            .group_id(id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .ec2("RevokeSecurityGroupEgress")
            .map(|_| ())
    } else {
        aws.ec2
            .revoke_security_group_ingress()
            .group_id(id)
            .set_ip_permissions(Some(perms))
            .send()
            .await
            .ec2("RevokeSecurityGroupIngress")
            .map(|_| ())
    };
    ignore_not_found(result)
}

/// The update a security group and the default security group share: the
/// changed rule blocks, then the tags. Answers the group's ID.
pub(super) async fn update_rules_and_tags<'r>(
    aws: &Aws,
    req: &'r ChangeRequest,
) -> Result<&'r str, ProviderError> {
    let deadline = Deadline::after(req.timeout);
    let id = req
        .id
        .as_deref()
        .ok_or_else(|| invalid("AuthorizeSecurityGroupIngress", "update without an ID"))?;
    let prior = req.prior.as_ref().unwrap_or(&Value::Null);
    let d = &req.desired;
    for (key, egress) in [("ingress", false), ("egress", true)] {
        if req.changed.iter().any(|c| c == key) {
            apply_rules(aws, id, egress, blocks(prior, key), blocks(d, key), &deadline).await?;
        }
    }
    reconcile(aws, id, prior, d, &deadline).await?;
    Ok(id)
}

/// Brings one direction's rules from `prior` blocks to `desired` blocks:
/// revokes first, then authorizes (as the Terraform provider does).
pub(crate) async fn apply_rules(
    aws: &Aws,
    id: &str,
    egress: bool,
    prior: &[Value],
    desired: &[Value],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (to_revoke, to_authorize) = rule_changes(prior, desired, id);
    let (redescribe, to_revoke, to_authorize) = description_changes(to_revoke, to_authorize);
    update_descriptions(aws, id, egress, &redescribe, deadline).await?;
    revoke(aws, id, egress, to_permissions(&to_revoke, id)).await?;
    authorize(aws, id, egress, &to_authorize, deadline).await
}

/// Gives rules that exist new descriptions (one call).
pub(crate) async fn update_descriptions(
    aws: &Aws,
    id: &str,
    egress: bool,
    grants: &[Grant],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if grants.is_empty() {
        return Ok(());
    }
    let perms = to_permissions(grants, id);
    retry(deadline, || async {
        if egress {
            aws.ec2
                .update_security_group_rule_descriptions_egress()
                .group_id(id)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("UpdateSecurityGroupRuleDescriptionsEgress")
                .map(|_| ())
        } else {
            aws.ec2
                .update_security_group_rule_descriptions_ingress()
                .group_id(id)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("UpdateSecurityGroupRuleDescriptionsIngress")
                .map(|_| ())
        }
    })
    .await
}

/// The group created by an earlier attempt of this create: the same name
/// in the same VPC, tagged (in the create call) for this address of this
/// stack.
async fn adopt(
    aws: &Aws,
    req: &ChangeRequest,
    name: &str,
) -> Result<Option<String>, ProviderError> {
    let mut filters = vec![filter("group-name", [name])];
    if let Some(vpc) = opt_str(&req.desired, "vpc_id") {
        filters.push(filter("vpc-id", [vpc]));
    }
    let groups = describe_security_groups(aws, filters).await?;
    Ok(groups
        .iter()
        .find(|g| {
            req.owner
                .made(|k| crate::tags::tag(g.tags(), k), &req.address)
        })
        .and_then(|g| g.group_id())
        .map(str::to_string))
}

/// Reads one group, its rules grouped as `recorded` groups them.
async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    Ok(describe_one(aws, id)
        .await?
        .map(|g| group_attrs(&aws.loc, &g, Some(recorded))))
}

/// Revokes the group's own rules and the rules of related groups (those its
/// rules name) that name it: what blocks deleting groups that reference
/// each other.
async fn revoke_all_rules(aws: &Aws, group: &types::SecurityGroup) -> Result<(), ProviderError> {
    let id = group.group_id().unwrap_or_default();
    revoke(aws, id, false, group.ip_permissions().to_vec()).await?;
    revoke(aws, id, true, group.ip_permissions_egress().to_vec()).await?;
    let related: Vec<String> = group
        .ip_permissions()
        .iter()
        .chain(group.ip_permissions_egress())
        .flat_map(|p| p.user_id_group_pairs())
        .filter_map(|p| p.group_id())
        .filter(|g| *g != id)
        .map(str::to_string)
        .collect();
    if related.is_empty() {
        return Ok(());
    }
    let rules = super::security_group_rule::describe_rules(aws, &related).await?;
    for rule in rules
        .iter()
        .filter(|r| r.referenced_group_info().and_then(|g| g.group_id()) == Some(id))
    {
        let (Some(group_id), Some(rule_id)) = (rule.group_id(), rule.security_group_rule_id())
        else {
            continue;
        };
        let result = if rule.is_egress() == Some(true) {
            aws.ec2
                .revoke_security_group_egress()
                .group_id(group_id)
                .security_group_rule_ids(rule_id)
                .send()
                .await
                .ec2("RevokeSecurityGroupEgress")
                .map(|_| ())
        } else {
            aws.ec2
                .revoke_security_group_ingress()
                .group_id(group_id)
                .security_group_rule_ids(rule_id)
                .send()
                .await
                .ec2("RevokeSecurityGroupIngress")
                .map(|_| ())
        };
        ignore_not_found(result)?;
    }
    Ok(())
}

/// The arguments `CreateSecurityGroup` sends.
const CREATE_ARGS: &[&str] = &["name", "name_prefix", "description", "vpc_id", "tags_all"];

/// `CreateSecurityGroup` for the spec (the create and its dry run send the
/// same).
fn create_call(
    aws: &Aws,
    d: &Value,
    name: &str,
    create_token: Option<&str>,
) -> aws_sdk_ec2::operation::create_security_group::builders::CreateSecurityGroupFluentBuilder {
    aws.ec2
        .create_security_group()
        .group_name(name)
        .description(opt_str(d, "description").unwrap_or(DEFAULT_DESCRIPTION))
        .set_vpc_id(opt_str(d, "vpc_id").map(str::to_string))
        .set_tag_specifications(
            tag_specification(ResourceType::SecurityGroup, d, create_token).map(|t| vec![t]),
        )
}

/// Reports a group with the spec's (explicit) name already in its VPC.
async fn check_name(
    aws: &Aws,
    req: &CheckRequest,
    d: &Value,
    findings: &mut Findings,
) -> Result<(), ProviderError> {
    let (Some(name), Some(vpc)) = (known_str(d, "name"), known_str(d, "vpc_id")) else {
        return Ok(());
    };
    const ACTION: &str = "ec2:DescribeSecurityGroups";
    let filters = vec![filter("group-name", [name]), filter("vpc-id", [vpc])];
    let Some(groups) = findings.read(ACTION, describe_security_groups(aws, filters).await)? else {
        return Ok(());
    };
    if let Some(g) = groups.first() {
        let what = format!("security group (in {vpc})");
        findings.name_in_use(req, ACTION, &what, name, &ec2_tag_map(g.tags()));
    }
    Ok(())
}

pub(crate) struct SecurityGroup;

#[async_trait]
impl ResourceHandler for SecurityGroup {
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

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let (name, _) = group_name(d, &req.idempotency_token);
        let call = create_call(aws, d, &name, Some(&req.idempotency_token));
        // The name is unique per VPC, so retrying cannot make a second group.
        let id = match retry(&deadline, || async {
            call.clone().send().await.ec2("CreateSecurityGroup")
        })
        .await
        {
            Ok(out) => out
                .group_id()
                .ok_or_else(|| invalid("CreateSecurityGroup", "the answer carries no group ID"))?
                .to_string(),
            // The name is taken: by this create's earlier attempt (its
            // answer was lost, or stackd stopped before recording it) it is
            // adopted; by anything else, the error stands.
            Err(e) if has_code(&e, "InvalidGroup.Duplicate") => {
                match adopt(aws, req, &name).await? {
                    Some(id) => id,
                    None => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        async {
            let group = until(
                &deadline,
                "DescribeSecurityGroups",
                &format!("{id} to be visible"),
                || describe_one(aws, &id),
            )
            .await?;
            // The group is visible: what refers to it (a load balancer, a
            // service, a database) needs only its ID, not its rules. Rule
            // resources wait for the whole create: one allowing all egress
            // would collide with the default egress rule it revokes.
            let known = group_attrs(&aws.loc, &group, None);
            stackd_engine::provider::usable(
                Value::map(
                    ["id", "arn", "name", "owner_id"]
                        .map(|k| (k, known.get(k).cloned().unwrap_or(Value::Null))),
                ),
                &[
                    "aws_security_group_rule",
                    "aws_vpc_security_group_ingress_rule",
                    "aws_vpc_security_group_egress_rule",
                ],
            );
            // Compare with what exists (EC2's default egress rule, or the
            // rules of an adopted group) so the group ends with exactly the
            // spec's rules.
            // Ingress and egress rules are independent: set both at once
            // (fewer sequential calls on the apply's critical path).
            let current = group_attrs(&aws.loc, &group, None);
            let rules = |key: &'static str, egress: bool| {
                let (prior, desired) = (blocks(&current, key), blocks(d, key));
                let id = &id;
                let deadline = &deadline;
                async move { apply_rules(aws, id, egress, prior, desired, deadline).await }
            };
            tokio::try_join!(rules("ingress", false), rules("egress", true))?;
            read(aws, &id, d)
                .await?
                .ok_or_else(|| gone("DescribeSecurityGroups", &id))
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC is looked up, and a group of the same name in it;
    /// `CreateSecurityGroup` is sent with `DryRun=true` once its arguments
    /// are known. The rules need the group's ID and are not tried.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        check_name(aws, req, d, &mut findings).await?;
        if all_known(d, CREATE_ARGS) {
            let (name, _) = group_name(d, &dry_run_token(req));
            let answer = create_call(aws, d, &name, None)
                .dry_run(true)
                .send()
                .await
                .ec2("CreateSecurityGroup");
            findings.dry_run("ec2:CreateSecurityGroup", answer, |out| {
                out.group_id().map(str::to_string)
            })?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let id = update_rules_and_tags(aws, req).await?;
        let d = &req.desired;
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone("DescribeSecurityGroups", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        if bool_or(&req.prior, "revoke_rules_on_delete", false) {
            match describe_one(aws, &req.id).await? {
                Some(group) => revoke_all_rules(aws, &group).await?,
                None => return Ok(()),
            }
        }
        // DependencyViolation and InvalidGroup.InUse (instances, interfaces
        // or other groups' rules still using it) are transient; the engine
        // retries.
        ignore_not_found(
            aws.ec2
                .delete_security_group()
                .group_id(&req.id)
                .send()
                .await
                .ec2("DeleteSecurityGroup")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::{list_or_null, num};
    use aws_sdk_ec2::types::{IpRange, UserIdGroupPair};

    fn rule(
        protocol: &str,
        from: i64,
        to: i64,
        cidrs: &[&str],
        groups: &[&str],
        self_ref: bool,
    ) -> Value {
        Value::map([
            (
                "cidr_blocks",
                list_or_null(cidrs.iter().map(|s| s.to_string()).collect()),
            ),
            ("description", Value::Null),
            ("from_port", num(from)),
            ("ipv6_cidr_blocks", Value::Null),
            ("prefix_list_ids", Value::Null),
            ("protocol", Value::from(protocol)),
            (
                "security_groups",
                list_or_null(groups.iter().map(|s| s.to_string()).collect()),
            ),
            ("self", Value::Bool(self_ref)),
            ("to_port", num(to)),
        ])
    }

    fn group() -> types::SecurityGroup {
        types::SecurityGroup::builder()
            .group_id("sg-web")
            .group_name("web")
            .description("Managed by Terraform")
            .vpc_id("vpc-1")
            .owner_id("111")
            .ip_permissions(
                IpPermission::builder()
                    .ip_protocol("tcp")
                    .from_port(443)
                    .to_port(443)
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .user_id_group_pairs(
                        UserIdGroupPair::builder()
                            .group_id("sg-lb")
                            .user_id("111")
                            .build(),
                    )
                    .build(),
            )
            .ip_permissions_egress(
                IpPermission::builder()
                    .ip_protocol("-1")
                    .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_group_without_recorded_rules_groups_them_like_terraform() {
        let v = group_attrs(&Location::new("us-east-1"), &group(), None);
        assert_eq!(
            v.get("ingress"),
            Some(&Value::List(vec![rule(
                "tcp",
                443,
                443,
                &["0.0.0.0/0"],
                &["sg-lb"],
                false
            )]))
        );
        assert_eq!(
            v.get("egress"),
            Some(&Value::List(vec![rule(
                "-1",
                0,
                0,
                &["0.0.0.0/0"],
                &[],
                false
            )]))
        );
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:us-east-1:111:security-group/sg-web"
            ))
        );
        assert_eq!(v.get("revoke_rules_on_delete"), Some(&Value::Bool(false)));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn live_group_reads_rules_as_the_spec_wrote_them() {
        let spec = Value::map([
            (
                "ingress",
                Value::List(vec![
                    rule("6", 443, 443, &["0.0.0.0/0"], &[], false),
                    rule("tcp", 443, 443, &[], &["sg-lb"], false),
                ]),
            ),
            (
                "egress",
                Value::List(vec![rule("all", 0, 0, &["0.0.0.0/0"], &[], false)]),
            ),
            ("name_prefix", Value::from("we")),
            ("revoke_rules_on_delete", Value::Bool(true)),
        ]);
        let v = group_attrs(&Location::new("us-east-1"), &group(), Some(&spec));
        assert_eq!(
            v.get("ingress"),
            Some(&Value::List(crate::args::sort_blocks(
                blocks(&spec, "ingress").to_vec()
            )))
        );
        assert_eq!(v.get("egress"), spec.get("egress"));
        assert_eq!(v.get("name_prefix"), Some(&Value::from("we")));
        assert_eq!(v.get("revoke_rules_on_delete"), Some(&Value::Bool(true)));
    }

    #[test]
    fn creating_revokes_the_default_egress_unless_the_spec_keeps_it() {
        let current = group_attrs(&Location::new("us-east-1"), &group(), None);
        let (revoke, authorize) = rule_changes(blocks(&current, "egress"), &[], "sg-web");
        assert_eq!((revoke.len(), authorize.len()), (1, 0));
        let keep = [rule("-1", 0, 0, &["0.0.0.0/0"], &[], false)];
        let (revoke, authorize) = rule_changes(blocks(&current, "egress"), &keep, "sg-web");
        assert_eq!((revoke.len(), authorize.len()), (0, 0));
    }

    #[test]
    fn generated_names_are_stable_per_token() {
        let none = Value::map([("name", Value::Null)]);
        let (a, generated) = group_name(&none, "token-1");
        assert!(generated);
        assert!(a.starts_with("terraform-"));
        assert_eq!(a.len(), "terraform-".len() + 26);
        assert_eq!(group_name(&none, "token-1").0, a);
        assert_ne!(group_name(&none, "token-2").0, a);
        let prefixed = Value::map([("name_prefix", Value::from("web-"))]);
        assert!(group_name(&prefixed, "t").0.starts_with("web-"));
        let named = Value::map([("name", Value::from("web"))]);
        assert_eq!(group_name(&named, "t"), ("web".to_string(), false));
    }
}
