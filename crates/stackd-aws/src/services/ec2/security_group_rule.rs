//! `aws_security_group_rule`: one rule (possibly several CIDRs, so several
//! EC2 rules) added to a security group.
//!
//! The ID is the Terraform provider's `sgrule-<crc32>` computed from the
//! group, type, protocol, ports and sources, so IDs carried over from
//! Terraform state stay valid; one resource can stand for several EC2
//! rules, so EC2's own `sgr-…` ID cannot be the resource ID. It is reported
//! as `security_group_rule_id` when the resource is exactly one EC2 rule
//! (known from the authorize call that made it).
//!
//! A refresh costs one `DescribeSecurityGroups` chain for all groups holding
//! known rules, filtered by `group-id`. Not `DescribeSecurityGroupRules`:
//! LocalStack leaves rule descriptions and `GroupOwnerId` out of that one,
//! while the groups' `IpPermissions` carry everything on AWS and emulators
//! alike.

use std::collections::BTreeSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{SecurityGroup, SecurityGroupRule as Ec2Rule};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{SECURITY_GROUP, SECURITY_GROUP_RULE};
use crate::args::{bool_or, opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code, ignore_not_found, invalid, Ec2Result};
use crate::ip_permissions::{
    permission_grants, spec_grants, terraform_rule_id, to_permissions, Grant,
};
use crate::policy::{g, ANY};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// Every argument, in the order attributes are listed.
const ARGUMENTS: [&str; 11] = [
    "type",
    "security_group_id",
    "from_port",
    "to_port",
    "protocol",
    "cidr_blocks",
    "ipv6_cidr_blocks",
    "prefix_list_ids",
    "source_security_group_id",
    "self",
    "description",
];

/// `aws_security_group_rule`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_security_group_rule",
    schema,
    handler: &SecurityGroupRule,
    grants: &[
        g(
            &[
                "ec2:DescribeSecurityGroupRules",
                "ec2:DescribeSecurityGroups",
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
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_security_group_rule")
        .doc("A rule of a security group, managed apart from the group.")
        .attr(
            AttrSchema::required("type", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec!["ingress", "egress"]))
                .doc("`ingress` or `egress`."),
        )
        .attr(
            AttrSchema::required("security_group_id", AttrType::String)
                .force_new()
                .doc("The group the rule belongs to."),
        )
        .attr(
            AttrSchema::required("from_port", AttrType::Number)
                .force_new()
                .doc("Start of the port range (ICMP type)."),
        )
        .attr(
            AttrSchema::required("to_port", AttrType::Number)
                .force_new()
                .doc("End of the port range (ICMP code)."),
        )
        .attr(
            AttrSchema::required("protocol", AttrType::String)
                .force_new()
                .doc("`tcp`, `udp`, `icmp`, `icmpv6`, `all`/`-1` or a protocol number."),
        )
        .attr(
            AttrSchema::optional("cidr_blocks", AttrType::list_of(AttrType::String))
                .force_new()
                .doc("IPv4 sources."),
        )
        .attr(
            AttrSchema::optional("ipv6_cidr_blocks", AttrType::list_of(AttrType::String))
                .force_new()
                .doc("IPv6 sources."),
        )
        .attr(
            AttrSchema::optional("prefix_list_ids", AttrType::list_of(AttrType::String))
                .force_new()
                .doc("Prefix list sources."),
        )
        .attr(
            AttrSchema::optional_computed("source_security_group_id", AttrType::String)
                .force_new()
                .doc("A security group source (`sg-…` or `account/sg-…`)."),
        )
        .attr(
            AttrSchema::optional("self", AttrType::Bool)
                .default(false)
                .force_new()
                .doc("The group itself as source."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("The rule description."))
        .attr(
            AttrSchema::computed("security_group_rule_id", AttrType::String)
                .doc("EC2's rule ID, when the resource is one EC2 rule."),
        )
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

fn is_egress(args: &Value) -> bool {
    opt_str(args, "type") == Some("egress")
}

/// Every EC2 rule of the groups, one paginated chain per 200 groups.
pub(crate) async fn describe_rules(
    aws: &Aws,
    group_ids: &[String],
) -> Result<Vec<Ec2Rule>, ProviderError> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(MAX_FILTER_VALUES) {
        let rules = aws
            .ec2
            .describe_security_group_rules()
            .filters(filter("group-id", chunk.iter().cloned()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ec2("DescribeSecurityGroupRules")?;
        out.extend(rules);
    }
    Ok(out)
}

/// The groups holding rules, one paginated chain per 200 groups.
async fn describe_groups(
    aws: &Aws,
    group_ids: &[String],
) -> Result<Vec<SecurityGroup>, ProviderError> {
    let mut out = Vec::new();
    for chunk in group_ids.chunks(MAX_FILTER_VALUES) {
        out.extend(
            super::security_group::describe_security_groups(
                aws,
                vec![filter("group-id", chunk.iter().cloned())],
            )
            .await?,
        );
    }
    Ok(out)
}

/// The live grants in the direction `args` names, of the group it names.
fn live_grants(args: &Value, groups: &[SecurityGroup]) -> Option<Vec<Grant>> {
    let group_id = opt_str(args, "security_group_id")?;
    let group = groups.iter().find(|g| g.group_id() == Some(group_id))?;
    let perms = if is_egress(args) {
        group.ip_permissions_egress()
    } else {
        group.ip_permissions()
    };
    Some(
        perms
            .iter()
            .flat_map(|p| permission_grants(p, group_id, group.owner_id()))
            .collect(),
    )
}

/// The live state of the rule `args` describes: present only if every
/// grant is (as the Terraform provider decides). Matching ignores
/// descriptions; the description read is the first non-empty one of the
/// matched grants. `security_group_rule_id` is kept from `args`.
fn live_attrs(args: &Value, id: &str, groups: &[SecurityGroup]) -> Option<Value> {
    let group = opt_str(args, "security_group_id")?;
    let wanted = spec_grants(args, group);
    if wanted.is_empty() {
        return None;
    }
    let live = live_grants(args, groups)?;
    let mut matched = Vec::new();
    for w in &wanted {
        matched.push(live.iter().find(|g| g.key() == w.key())?);
    }
    let description = matched
        .iter()
        .map(|g| g.description.as_str())
        .find(|d| !d.is_empty());
    let mut m = args.as_map().cloned().unwrap_or_default();
    for key in ARGUMENTS {
        m.entry(key.to_string()).or_insert(Value::Null);
    }
    m.insert("self".into(), Value::Bool(bool_or(args, "self", false)));
    m.insert("description".into(), s(description));
    m.insert("id".into(), Value::from(id));
    m.insert(
        "security_group_rule_id".into(),
        s(opt_str(args, "security_group_rule_id")),
    );
    Some(Value::Map(m))
}

/// Arguments with the EC2 rule ID to record.
fn with_rule_id(args: &Value, rule_id: Option<&str>) -> Value {
    let mut m = args.as_map().cloned().unwrap_or_default();
    m.insert("security_group_rule_id".into(), s(rule_id));
    Value::Map(m)
}

/// The wanted grants that no live grant of the group matches.
fn missing_grants(args: &Value, groups: &[SecurityGroup]) -> Vec<Grant> {
    let group = opt_str(args, "security_group_id").unwrap_or_default();
    let have = live_grants(args, groups).unwrap_or_default();
    spec_grants(args, group)
        .into_iter()
        .filter(|w| !have.iter().any(|h| h.key() == w.key()))
        .collect()
}

/// The resource ID of the rule `args` describes.
fn rule_id(args: &Value, operation: &str) -> Result<String, ProviderError> {
    let group = req_str(args, "security_group_id", operation)?;
    let rule_type = req_str(args, "type", operation)?;
    Ok(terraform_rule_id(
        group,
        rule_type,
        &spec_grants(args, group),
    ))
}

/// Authorizes the grants; returns the EC2 rules made.
async fn authorize(
    aws: &Aws,
    group: &str,
    egress: bool,
    grants: &[Grant],
    deadline: &Deadline,
) -> Result<Vec<Ec2Rule>, ProviderError> {
    let perms = to_permissions(grants, group);
    // The group, or a group the rule names, may be too new to be visible.
    retry(deadline, || async {
        if egress {
            aws.ec2
                .authorize_security_group_egress()
                .group_id(group)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("AuthorizeSecurityGroupEgress")
                .map(|o| o.security_group_rules().to_vec())
        } else {
            aws.ec2
                .authorize_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(perms.clone()))
                .send()
                .await
                .ec2("AuthorizeSecurityGroupIngress")
                .map(|o| o.security_group_rules().to_vec())
        }
    })
    .await
}

pub(crate) struct SecurityGroupRule;

#[async_trait]
impl ResourceHandler for SecurityGroupRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let groups: Vec<String> = req
            .known
            .iter()
            .filter_map(|k| opt_str(&k.attrs, "security_group_id").map(str::to_string))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if groups.is_empty() {
            return Ok(Vec::new());
        }
        let live = describe_groups(aws, &groups).await?;
        Ok(req
            .known
            .iter()
            .filter_map(|k: &KnownResource| {
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: live_attrs(&k.attrs, &k.id, &live)?,
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let group = req_str(d, "security_group_id", "AuthorizeSecurityGroupIngress")?;
        let id = rule_id(d, "AuthorizeSecurityGroupIngress")?;
        let grants = spec_grants(d, group);
        if grants.is_empty() {
            return Err(invalid(
                "AuthorizeSecurityGroupIngress",
                "a rule needs one of cidr_blocks, ipv6_cidr_blocks, prefix_list_ids, source_security_group_id or self",
            ));
        }
        let made = match authorize(aws, group, is_egress(d), &grants, &deadline).await {
            Ok(rules) => rules,
            // Some or all of it exists already (an earlier attempt that
            // crashed before recording it): add what is missing.
            Err(e) if has_code(&e, "InvalidPermission.Duplicate") => {
                let live = describe_groups(aws, &[group.to_string()]).await?;
                let missing = missing_grants(d, &live);
                if missing.is_empty() {
                    Vec::new()
                } else {
                    authorize(aws, group, is_egress(d), &missing, &deadline).await?
                }
            }
            Err(e) => return Err(e),
        };
        let rule_id = match (grants.len(), made.as_slice()) {
            (1, [rule]) => rule.security_group_rule_id(),
            _ => None,
        };
        let recorded = with_rule_id(d, rule_id);
        until(
            &deadline,
            "DescribeSecurityGroups",
            &format!("rule {id} to be visible"),
            || async {
                let live = describe_groups(aws, &[group.to_string()]).await?;
                Ok(live_attrs(&recorded, &id, &live))
            },
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let group = req_str(
            d,
            "security_group_id",
            "UpdateSecurityGroupRuleDescriptionsIngress",
        )?;
        let id = req
            .id
            .clone()
            .unwrap_or(rule_id(d, "UpdateSecurityGroupRuleDescriptionsIngress")?);
        // Only the description is updatable; an empty one clears it.
        let mut grants = spec_grants(d, group);
        for g in &mut grants {
            g.description = opt_str(d, "description").unwrap_or_default().to_string();
        }
        super::security_group::update_descriptions(aws, group, is_egress(d), &grants, &deadline)
            .await?;
        let recorded = with_rule_id(
            d,
            req.prior
                .as_ref()
                .and_then(|p| opt_str(p, "security_group_rule_id")),
        );
        let live = describe_groups(aws, &[group.to_string()]).await?;
        live_attrs(&recorded, &id, &live)
            .ok_or_else(|| crate::error::gone("DescribeSecurityGroups", &id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let p = &req.prior;
        let Some(group) = opt_str(p, "security_group_id") else {
            return Err(invalid(
                "RevokeSecurityGroupIngress",
                format!("no recorded security_group_id for {}", req.id),
            ));
        };
        let perms = to_permissions(&spec_grants(p, group), group);
        if perms.is_empty() {
            return Ok(());
        }
        let result = if is_egress(p) {
            aws.ec2
                .revoke_security_group_egress()
                .group_id(group)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .ec2("RevokeSecurityGroupEgress")
                .map(|_| ())
        } else {
            aws.ec2
                .revoke_security_group_ingress()
                .group_id(group)
                .set_ip_permissions(Some(perms))
                .send()
                .await
                .ec2("RevokeSecurityGroupIngress")
                .map(|_| ())
        };
        ignore_not_found(result)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::num;
    use aws_sdk_ec2::types::{IpPermission, IpRange, UserIdGroupPair};

    fn args(protocol: &str, cidrs: &[&str], source: Option<&str>) -> Value {
        Value::map([
            ("type", Value::from("ingress")),
            ("security_group_id", Value::from("sg-db")),
            ("from_port", num(5432)),
            ("to_port", num(5432)),
            ("protocol", Value::from(protocol)),
            (
                "cidr_blocks",
                if cidrs.is_empty() {
                    Value::Null
                } else {
                    Value::from(cidrs.to_vec())
                },
            ),
            ("ipv6_cidr_blocks", Value::Null),
            ("prefix_list_ids", Value::Null),
            ("source_security_group_id", Value::from(source)),
            ("self", Value::Bool(false)),
            ("description", Value::Null),
        ])
    }

    fn group(perms: Vec<IpPermission>) -> SecurityGroup {
        SecurityGroup::builder()
            .group_id("sg-db")
            .owner_id("111")
            .set_ip_permissions(Some(perms))
            .build()
    }

    fn postgres(ranges: &[(&str, Option<&str>)]) -> IpPermission {
        let mut p = IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(5432)
            .to_port(5432);
        for (cidr, desc) in ranges {
            p = p.ip_ranges(
                IpRange::builder()
                    .cidr_ip(*cidr)
                    .set_description(desc.map(str::to_string))
                    .build(),
            );
        }
        p.build()
    }

    #[test]
    fn a_rule_is_live_when_all_its_grants_are() {
        let a = args("6", &["10.0.0.0/16", "10.1.0.0/16"], None);
        let live = [group(vec![postgres(&[
            ("10.0.0.0/16", None),
            ("10.1.0.0/16", Some("app")),
            ("10.2.0.0/16", None),
        ])])];
        let v = live_attrs(&a, "sgrule-1", &live).unwrap();
        assert_eq!(
            v.get("protocol"),
            Some(&Value::from("6")),
            "kept as written"
        );
        assert_eq!(v.get("description"), Some(&Value::from("app")));
        assert_eq!(v.get("security_group_rule_id"), Some(&Value::Null));
        assert_eq!(v.get("id"), Some(&Value::from("sgrule-1")));
        for attr in &schema().body.attrs {
            assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
        }
        let partial = [group(vec![postgres(&[("10.0.0.0/16", None)])])];
        assert!(live_attrs(&a, "sgrule-1", &partial).is_none());
    }

    #[test]
    fn a_group_source_matches_with_or_without_its_account() {
        // LocalStack names the account of a same-account group.
        let live = [group(vec![IpPermission::builder()
            .ip_protocol("tcp")
            .from_port(5432)
            .to_port(5432)
            .user_id_group_pairs(
                UserIdGroupPair::builder()
                    .group_id("sg-app")
                    .user_id("000000000000")
                    .build(),
            )
            .build()])];
        let recorded = with_rule_id(&args("tcp", &[], Some("sg-app")), Some("sgr-9"));
        let v = live_attrs(&recorded, "x", &live).unwrap();
        assert_eq!(v.get("security_group_rule_id"), Some(&Value::from("sgr-9")));
        assert_eq!(
            v.get("source_security_group_id"),
            Some(&Value::from("sg-app"))
        );
        // An egress rule of the same shape is another rule.
        let mut egress = args("tcp", &[], Some("sg-app"));
        if let Value::Map(m) = &mut egress {
            m.insert("type".into(), Value::from("egress"));
        }
        assert!(live_attrs(&egress, "x", &live).is_none());
    }

    #[test]
    fn only_missing_grants_are_added_after_a_duplicate() {
        let a = args("tcp", &["10.0.0.0/16", "10.1.0.0/16"], None);
        let missing = missing_grants(&a, &[group(vec![postgres(&[("10.0.0.0/16", None)])])]);
        assert_eq!(missing.len(), 1);
        assert_eq!(
            missing[0].source,
            crate::ip_permissions::Source::Cidr("10.1.0.0/16".into())
        );
    }

    #[test]
    fn ids_follow_the_terraform_provider() {
        let id = rule_id(&args("tcp", &["10.0.0.0/8"], None), "x").unwrap();
        assert!(id.starts_with("sgrule-"));
        assert_eq!(id, rule_id(&args("6", &["10.0.0.0/8"], None), "x").unwrap());
    }
}
