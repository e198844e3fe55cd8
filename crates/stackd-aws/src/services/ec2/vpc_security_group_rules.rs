//! The shared implementation of `aws_vpc_security_group_ingress_rule` and
//! `aws_vpc_security_group_egress_rule`: one rule (one protocol, one port
//! range, one source or destination) with its own ID (`sgr-…`), tags and
//! in-place updates, as the provider's newer rule types have.
//!
//! A refresh is one `DescribeSecurityGroupRules` chain over the known
//! rules' groups (`group-id` filter, so a deleted rule is simply absent).
//! The create tags the rule in the authorize call itself, with the create's
//! token; an authorize retried after a lost answer meets
//! `InvalidPermission.Duplicate`, and the rule is then taken only when its
//! tags say this create made it.

use aws_sdk_ec2::types::{
    IpPermission, IpRange, Ipv6Range, PrefixListId, ResourceType, SecurityGroupRule,
    SecurityGroupRuleRequest, SecurityGroupRuleUpdate, TagSpecification, UserIdGroupPair,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::security_group_rule::describe_rules;
use crate::args::{num, opt_int, opt_str, s};
use crate::context::Aws;
use crate::error::{after_create, has_code, ignore_not_found, invalid, Ec2Result};
use crate::iam_util::{address_of, gone, update_id};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::tags::{reconcile, tag, tag_specification, tags_value, CREATE_TOKEN_TAG};
use crate::wait::{retry, until, Deadline};

/// The schema both types share; `doc` says which direction.
pub(crate) fn rule_schema(type_name: &'static str, doc: &'static str) -> ResourceSchema {
    ResourceSchema::resource(type_name)
        .doc(doc)
        .attr(
            AttrSchema::required("security_group_id", AttrType::String)
                .force_new()
                .doc("The group the rule belongs to."),
        )
        .attr(
            AttrSchema::required("ip_protocol", AttrType::String)
                .normalize(normalize_protocol)
                .doc("tcp, udp, icmp, icmpv6, a protocol number, or -1 for all."),
        )
        .attr(
            AttrSchema::optional("from_port", AttrType::Number)
                .doc("First port (or ICMP type); not set when ip_protocol is -1."),
        )
        .attr(
            AttrSchema::optional("to_port", AttrType::Number)
                .doc("Last port (or ICMP code); not set when ip_protocol is -1."),
        )
        .attr(AttrSchema::optional("cidr_ipv4", AttrType::String).doc("An IPv4 CIDR block."))
        .attr(AttrSchema::optional("cidr_ipv6", AttrType::String).doc("An IPv6 CIDR block."))
        .attr(AttrSchema::optional("prefix_list_id", AttrType::String).doc("A prefix list."))
        .attr(
            AttrSchema::optional("referenced_security_group_id", AttrType::String)
                .doc("Another security group."),
        )
        .attr(AttrSchema::optional("description", AttrType::String).doc("A description."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The rule's ARN."))
        .attr(
            AttrSchema::computed("security_group_rule_id", AttrType::String)
                .doc("The rule's ID (also `id`)."),
        )
        .taggable()
}

/// Protocols as EC2 answers them: names for the numbers it names, `-1`
/// for all (Terraform accepts `all` too).
fn normalize_protocol(v: &Value) -> Value {
    match v.as_str().map(str::to_ascii_lowercase).as_deref() {
        Some("6") => Value::from("tcp"),
        Some("17") => Value::from("udp"),
        Some("1") => Value::from("icmp"),
        Some("58") => Value::from("icmpv6"),
        Some("all") => Value::from("-1"),
        Some(p) => Value::from(p),
        None => v.clone(),
    }
}

fn all_protocols(d: &Value) -> bool {
    opt_str(d, "ip_protocol").map(|p| normalize_protocol(&Value::from(p)))
        == Some(Value::from("-1"))
}

/// Checks Terraform's rules for one rule: exactly one source, ports only
/// for a protocol that has them.
fn validate(d: &Value, address: &str, operation: &str) -> Result<(), ProviderError> {
    let sources = [
        "cidr_ipv4",
        "cidr_ipv6",
        "prefix_list_id",
        "referenced_security_group_id",
    ];
    let set = sources.iter().filter(|k| opt_str(d, k).is_some()).count();
    if set != 1 {
        return Err(invalid(
            operation,
            format!("{address}: set exactly one of {}", sources.join(", ")),
        ));
    }
    if all_protocols(d) && (opt_int(d, "from_port").is_some() || opt_int(d, "to_port").is_some()) {
        return Err(invalid(
            operation,
            format!("{address}: from_port and to_port cannot be set when ip_protocol is -1"),
        ));
    }
    Ok(())
}

/// The rule as the authorize call takes it.
fn permission(d: &Value) -> IpPermission {
    let description = opt_str(d, "description").map(str::to_string);
    let mut p = IpPermission::builder()
        .ip_protocol(
            normalize_protocol(&d.get("ip_protocol").cloned().unwrap_or(Value::Null))
                .as_str()
                .unwrap_or("-1"),
        )
        .set_from_port(opt_int(d, "from_port").map(|n| n as i32))
        .set_to_port(opt_int(d, "to_port").map(|n| n as i32));
    if let Some(c) = opt_str(d, "cidr_ipv4") {
        p = p.ip_ranges(
            IpRange::builder()
                .cidr_ip(c)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(c) = opt_str(d, "cidr_ipv6") {
        p = p.ipv6_ranges(
            Ipv6Range::builder()
                .cidr_ipv6(c)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(pl) = opt_str(d, "prefix_list_id") {
        p = p.prefix_list_ids(
            PrefixListId::builder()
                .prefix_list_id(pl)
                .set_description(description.clone())
                .build(),
        );
    }
    if let Some(g) = opt_str(d, "referenced_security_group_id") {
        p = p.user_id_group_pairs(
            UserIdGroupPair::builder()
                .group_id(g)
                .set_description(description)
                .build(),
        );
    }
    p.build()
}

/// The rule as the modify call takes it.
fn rule_request(d: &Value) -> SecurityGroupRuleRequest {
    SecurityGroupRuleRequest::builder()
        .ip_protocol(
            normalize_protocol(&d.get("ip_protocol").cloned().unwrap_or(Value::Null))
                .as_str()
                .unwrap_or("-1"),
        )
        .from_port(opt_int(d, "from_port").unwrap_or(-1) as i32)
        .to_port(opt_int(d, "to_port").unwrap_or(-1) as i32)
        .set_cidr_ipv4(opt_str(d, "cidr_ipv4").map(str::to_string))
        .set_cidr_ipv6(opt_str(d, "cidr_ipv6").map(str::to_string))
        .set_prefix_list_id(opt_str(d, "prefix_list_id").map(str::to_string))
        .set_referenced_group_id(opt_str(d, "referenced_security_group_id").map(str::to_string))
        .set_description(opt_str(d, "description").map(str::to_string))
        .build()
}

fn port(r: &SecurityGroupRule, n: Option<i32>) -> Value {
    match (r.ip_protocol(), n) {
        (Some("-1"), _) | (_, None) => Value::Null,
        (_, Some(n)) => num(n),
    }
}

/// A live rule in the schema's shape.
fn rule_attrs(aws: &Aws, account: &str, r: &SecurityGroupRule) -> Value {
    let id = r.security_group_rule_id().unwrap_or_default();
    Value::map([
        ("id", Value::from(id)),
        ("security_group_rule_id", Value::from(id)),
        (
            "arn",
            Value::from(
                aws.loc
                    .arn("ec2", account, &format!("security-group-rule/{id}")),
            ),
        ),
        ("security_group_id", s(r.group_id())),
        ("ip_protocol", s(r.ip_protocol())),
        ("from_port", port(r, r.from_port())),
        ("to_port", port(r, r.to_port())),
        ("cidr_ipv4", s(r.cidr_ipv4())),
        ("cidr_ipv6", s(r.cidr_ipv6())),
        ("prefix_list_id", s(r.prefix_list_id())),
        (
            "referenced_security_group_id",
            s(r.referenced_group_info().and_then(|g| g.group_id())),
        ),
        ("description", s(r.description())),
        ("tags_all", tags_value(r.tags())),
    ])
}

/// The known rules of one direction, with one describe chain over their
/// groups.
pub(crate) async fn refresh_rules(
    aws: &Aws,
    req: &RefreshRequest,
    egress: bool,
) -> Result<Vec<LiveResource>, ProviderError> {
    let mut groups: Vec<String> = req
        .known
        .iter()
        .filter_map(|k| opt_str(&k.attrs, "security_group_id").map(str::to_string))
        .collect();
    groups.sort();
    groups.dedup();
    // Rules known by ID only (an import): looked up by ID, with a filter,
    // which answers nothing for an ID that does not exist.
    let by_id: Vec<String> = req
        .known
        .iter()
        .filter(|k| opt_str(&k.attrs, "security_group_id").is_none())
        .map(|k| k.id.clone())
        .collect();
    if groups.is_empty() && by_id.is_empty() {
        return Ok(Vec::new());
    }
    let mut rules = describe_rules(aws, &groups).await?;
    for chunk in by_id.chunks(MAX_FILTER_VALUES) {
        let found = aws
            .ec2
            .describe_security_group_rules()
            .filters(filter("security-group-rule-id", chunk.iter().cloned()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ec2("DescribeSecurityGroupRules")?;
        rules.extend(found);
    }
    let account = aws.account_id().await?;
    Ok(rules
        .iter()
        .filter(|r| r.is_egress() == Some(egress))
        .filter_map(|r| {
            let id = r.security_group_rule_id()?.to_string();
            let known = req.known.iter().any(|k| k.id == id);
            known.then(|| {
                let tags = crate::preflight::ec2_tag_map(r.tags());
                LiveResource {
                    address: address_of(&id, &tags, &req.known),
                    attrs: rule_attrs(aws, &account, r),
                    id,
                }
            })
        })
        .collect())
}

/// One rule of the group by its ID.
async fn read_rule(
    aws: &Aws,
    group: &str,
    id: &str,
) -> Result<Option<SecurityGroupRule>, ProviderError> {
    Ok(describe_rules(aws, &[group.to_string()])
        .await?
        .into_iter()
        .find(|r| r.security_group_rule_id() == Some(id)))
}

/// The rule an earlier attempt of this create made: same direction, tagged
/// with this create's token.
async fn made_by_this_create(
    aws: &Aws,
    group: &str,
    egress: bool,
    token: &str,
) -> Result<Option<SecurityGroupRule>, ProviderError> {
    if token.is_empty() {
        return Ok(None);
    }
    Ok(describe_rules(aws, &[group.to_string()])
        .await?
        .into_iter()
        .find(|r| r.is_egress() == Some(egress) && tag(r.tags(), CREATE_TOKEN_TAG) == Some(token)))
}

/// Creates the rule with `authorize` (the direction's authorize call).
pub(crate) async fn create_rule<F, Fut>(
    aws: &Aws,
    req: &ChangeRequest,
    egress: bool,
    authorize: F,
) -> Result<Value, ProviderError>
where
    F: Fn(String, IpPermission, Option<TagSpecification>) -> Fut,
    Fut: std::future::Future<Output = Result<Vec<SecurityGroupRule>, ProviderError>>,
{
    let deadline = Deadline::after(req.timeout);
    let d = &req.desired;
    let operation = if egress {
        "AuthorizeSecurityGroupEgress"
    } else {
        "AuthorizeSecurityGroupIngress"
    };
    validate(d, &req.address.to_string(), operation)?;
    let group = opt_str(d, "security_group_id")
        .ok_or_else(|| invalid(operation, format!("{}: no security_group_id", req.address)))?;
    let spec = tag_specification(
        ResourceType::SecurityGroupRule,
        d,
        Some(req.idempotency_token.as_str()),
    );
    let perm = permission(d);
    let answer = retry(&deadline, || {
        authorize(group.to_string(), perm.clone(), spec.clone())
    })
    .await;
    let id = match answer {
        Ok(rules) => rules
            .first()
            .and_then(|r| r.security_group_rule_id())
            .map(str::to_string),
        Err(e) if has_code(&e, "InvalidPermission.Duplicate") => {
            match made_by_this_create(aws, group, egress, &req.idempotency_token).await? {
                Some(r) => r.security_group_rule_id().map(str::to_string),
                None => {
                    return Err(invalid(
                        operation,
                        format!(
                            "{}: the group already has this rule, made outside this resource; \
                             import it (`stackd import {} sgr-…`) or remove it",
                            req.address, req.address
                        ),
                    ))
                }
            }
        }
        Err(e) => return Err(e),
    };
    let id = id.ok_or_else(|| invalid(operation, "the answer names no security group rule"))?;
    let account = aws.account_id().await?;
    until(
        &deadline,
        "DescribeSecurityGroupRules",
        &format!("security group rule {id} to be readable"),
        || async {
            Ok(read_rule(aws, group, &id)
                .await?
                .map(|r| rule_attrs(aws, &account, &r)))
        },
    )
    .await
    .map_err(|e| after_create(&id, e))
}

/// Every argument but the group changes in place (`ModifySecurityGroupRules`);
/// tags with `CreateTags`/`DeleteTags`.
pub(crate) async fn update_rule(aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
    const OP: &str = "ModifySecurityGroupRules";
    let deadline = Deadline::after(req.timeout);
    let id = update_id(req.id.as_deref(), "ec2", OP)?;
    let d = &req.desired;
    validate(d, &req.address.to_string(), OP)?;
    let group = opt_str(d, "security_group_id")
        .ok_or_else(|| invalid(OP, format!("{}: no security_group_id", req.address)))?;
    let prior = req.prior.clone().unwrap_or(Value::Null);
    if req.changed.iter().any(|c| c != "tags" && c != "tags_all") {
        let update = SecurityGroupRuleUpdate::builder()
            .security_group_rule_id(id)
            .security_group_rule(rule_request(d))
            .build();
        retry(&deadline, || async {
            aws.ec2
                .modify_security_group_rules()
                .group_id(group)
                .security_group_rules(update.clone())
                .send()
                .await
                .ec2(OP)
        })
        .await?;
    }
    reconcile(aws, id, &prior, d, &deadline).await?;
    let account = aws.account_id().await?;
    read_rule(aws, group, id)
        .await?
        .map(|r| rule_attrs(aws, &account, &r))
        .ok_or_else(|| gone("ec2", "DescribeSecurityGroupRules", id))
}

/// Revokes the rule with `revoke` (the direction's revoke call); a rule
/// already gone is success.
pub(crate) async fn delete_rule<F, Fut>(req: &DeleteRequest, revoke: F) -> Result<(), ProviderError>
where
    F: FnOnce(String, String) -> Fut,
    Fut: std::future::Future<Output = Result<(), ProviderError>>,
{
    let Some(group) = opt_str(&req.prior, "security_group_id") else {
        return Ok(());
    };
    match revoke(group.to_string(), req.id.clone()).await {
        Err(e) if has_code(&e, "InvalidSecurityGroupRuleId.NotFound") => Ok(()),
        other => ignore_not_found(other),
    }
}

pub(crate) async fn authorize_ingress(
    aws: &Aws,
    group: String,
    perm: IpPermission,
    spec: Option<TagSpecification>,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    aws.ec2
        .authorize_security_group_ingress()
        .group_id(group)
        .ip_permissions(perm)
        .set_tag_specifications(spec.map(|s| vec![s]))
        .send()
        .await
        .ec2("AuthorizeSecurityGroupIngress")
        .map(|o| o.security_group_rules().to_vec())
}

pub(crate) async fn authorize_egress(
    aws: &Aws,
    group: String,
    perm: IpPermission,
    spec: Option<TagSpecification>,
) -> Result<Vec<SecurityGroupRule>, ProviderError> {
    aws.ec2
        .authorize_security_group_egress()
        .group_id(group)
        .ip_permissions(perm)
        .set_tag_specifications(spec.map(|s| vec![s]))
        .send()
        .await
        .ec2("AuthorizeSecurityGroupEgress")
        .map(|o| o.security_group_rules().to_vec())
}

pub(crate) async fn revoke_ingress(
    aws: &Aws,
    group: String,
    id: String,
) -> Result<(), ProviderError> {
    aws.ec2
        .revoke_security_group_ingress()
        .group_id(group)
        .security_group_rule_ids(id)
        .send()
        .await
        .ec2("RevokeSecurityGroupIngress")
        .map(|_| ())
}

pub(crate) async fn revoke_egress(
    aws: &Aws,
    group: String,
    id: String,
) -> Result<(), ProviderError> {
    aws.ec2
        .revoke_security_group_egress()
        .group_id(group)
        .security_group_rule_ids(id)
        .send()
        .await
        .ec2("RevokeSecurityGroupEgress")
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_read_as_ec2_answers_them() {
        assert_eq!(normalize_protocol(&Value::from("6")), Value::from("tcp"));
        assert_eq!(normalize_protocol(&Value::from("all")), Value::from("-1"));
        assert_eq!(normalize_protocol(&Value::from("TCP")), Value::from("tcp"));
    }

    #[test]
    fn one_source_and_no_ports_for_all_protocols() {
        let ok = Value::map([
            ("ip_protocol", Value::from("tcp")),
            ("from_port", Value::from(443)),
            ("to_port", Value::from(443)),
            ("cidr_ipv4", Value::from("0.0.0.0/0")),
        ]);
        assert!(validate(&ok, "r", "op").is_ok());
        let two = Value::map([
            ("ip_protocol", Value::from("tcp")),
            ("cidr_ipv4", Value::from("0.0.0.0/0")),
            ("cidr_ipv6", Value::from("::/0")),
        ]);
        assert!(validate(&two, "r", "op").is_err());
        let ports = Value::map([
            ("ip_protocol", Value::from("-1")),
            ("from_port", Value::from(0)),
            ("cidr_ipv4", Value::from("0.0.0.0/0")),
        ]);
        assert!(validate(&ports, "r", "op").is_err());
    }

    #[test]
    fn a_live_rule_is_in_schema_shape() {
        let r = SecurityGroupRule::builder()
            .security_group_rule_id("sgr-1")
            .group_id("sg-1")
            .is_egress(false)
            .ip_protocol("-1")
            .from_port(-1)
            .to_port(-1)
            .cidr_ipv4("10.0.0.0/16")
            .build();
        let (aws, _) = crate::preflight::fake::aws(|_| (200, String::new()));
        let v = rule_attrs(&aws, "1", &r);
        assert_eq!(v.get("from_port"), Some(&Value::Null));
        for a in &rule_schema("t", "d").body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
