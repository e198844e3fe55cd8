//! `aws_network_acl`: a network ACL with inline `ingress` and `egress`
//! rule blocks and the subnets it is associated with. This module also
//! holds the entry helpers `aws_network_acl_rule` uses.
//!
//! As in the Terraform provider, the rule blocks are computed when absent:
//! with no `ingress` (or `egress`) block written, those rules are not
//! managed, so `aws_network_acl_rule` resources can add them. Writing inline
//! blocks *and* `aws_network_acl_rule` resources for one ACL conflicts (the
//! provider's documented rule): each apply of the ACL removes the rules its
//! blocks do not name. The default deny rule (number 32767) is never shown.
//! Protocols are sent and stored as numbers (`tcp` is `6`, `all` is `-1`);
//! a block reads back with the spelling it was written with.
//!
//! `subnet_ids` is optional and computed. A subnet always has one ACL: one
//! added here is moved from its current ACL (`ReplaceNetworkAclAssociation`),
//! one removed, and every subnet on destroy, goes back to the VPC's default
//! ACL, as the provider does.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Filter, IcmpTypeCode, PortRange, ResourceType, RuleAction};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{NETWORK_ACL, SUBNET, VPC};
use crate::args::{blocks, client_token, num, opt_int, opt_str, req_str, s, set_or_null, sort_blocks, str_list};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, known_list, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned, known_attrs};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// The rule number of the default deny rule every ACL has.
const DEFAULT_DENY: i32 = 32767;

/// `aws_network_acl`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_network_acl",
    schema,
    handler: &NetworkAcl,
    grants: &[
        g(
            &["ec2:DescribeNetworkAcls", "ec2:DescribeSubnets", "ec2:DescribeVpcs"],
            ANY,
        ),
        g(&["ec2:CreateNetworkAcl"], &[NETWORK_ACL, VPC]),
        g(
            &[
                "ec2:CreateNetworkAclEntry",
                "ec2:CreateTags",
                "ec2:DeleteNetworkAcl",
                "ec2:DeleteNetworkAclEntry",
                "ec2:DeleteTags",
            ],
            &[NETWORK_ACL],
        ),
        g(
            &["ec2:ReplaceNetworkAclAssociation"],
            &[NETWORK_ACL, SUBNET],
        ),
    ],
    source: file!(),
};

fn rule_block(name: &'static str) -> BlockSchema {
    BlockSchema::new(name, Nesting::Set)
        .computed_when_absent()
        .attr(AttrSchema::required("action", AttrType::String))
        .attr(AttrSchema::optional("cidr_block", AttrType::String))
        .attr(AttrSchema::required("from_port", AttrType::Number))
        .attr(AttrSchema::optional("icmp_code", AttrType::Number))
        .attr(AttrSchema::optional("icmp_type", AttrType::Number))
        .attr(AttrSchema::optional("ipv6_cidr_block", AttrType::String))
        .attr(AttrSchema::required("protocol", AttrType::String))
        .attr(AttrSchema::required("rule_no", AttrType::Number))
        .attr(AttrSchema::required("to_port", AttrType::Number))
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_network_acl")
        .doc("A network ACL of a VPC.")
        .attr(
            AttrSchema::required("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC."),
        )
        .attr(
            AttrSchema::optional_computed("subnet_ids", AttrType::set_of(AttrType::String))
                .doc("Subnets to associate with the ACL."),
        )
        .block(rule_block("ingress"))
        .block(rule_block("egress"))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The ACL's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

// ---------------------------------------------------------------------------
// Entries (shared with `aws_network_acl_rule`)

/// A protocol as the API takes it: a number, `-1` for all. Terraform's
/// names (`tcp`, `udp`, `icmp`, `icmpv6`, `all`) are translated; anything
/// else is kept (EC2 judges it).
pub(crate) fn protocol_number(p: &str) -> String {
    match p.to_ascii_lowercase().as_str() {
        "all" | "-1" => "-1".into(),
        "icmp" => "1".into(),
        "tcp" => "6".into(),
        "udp" => "17".into(),
        "icmpv6" | "ipv6-icmp" => "58".into(),
        other => other.into(),
    }
}

/// One ACL entry as the API has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub egress: bool,
    pub rule_number: i32,
    /// As a number (`6`).
    pub protocol: String,
    /// `allow` or `deny`, lower case.
    pub action: String,
    pub cidr_block: Option<String>,
    pub ipv6_cidr_block: Option<String>,
    pub from_port: i32,
    pub to_port: i32,
    /// Type and code, for ICMP protocols only.
    pub icmp: Option<(i32, i32)>,
}

impl Entry {
    /// The entry the arguments describe, with the keys of a `ingress` block
    /// (`rule_no`, `action`) or of `aws_network_acl_rule` (`rule_number`,
    /// `rule_action`).
    pub fn from_args(v: &Value, egress: bool, operation: &str) -> Result<Entry, ProviderError> {
        let number = opt_int(v, "rule_no")
            .or_else(|| opt_int(v, "rule_number"))
            .ok_or_else(|| invalid(operation, "a network ACL rule needs a rule number"))?;
        let action = opt_str(v, "action")
            .or_else(|| opt_str(v, "rule_action"))
            .ok_or_else(|| invalid(operation, "a network ACL rule needs an action"))?;
        let protocol = protocol_number(req_str(v, "protocol", operation)?);
        let icmp = matches!(protocol.as_str(), "1" | "58").then(|| {
            (
                opt_int(v, "icmp_type").unwrap_or(0) as i32,
                opt_int(v, "icmp_code").unwrap_or(0) as i32,
            )
        });
        Ok(Entry {
            egress,
            rule_number: number as i32,
            protocol,
            action: action.to_ascii_lowercase(),
            cidr_block: opt_str(v, "cidr_block").map(str::to_string),
            ipv6_cidr_block: opt_str(v, "ipv6_cidr_block").map(str::to_string),
            from_port: opt_int(v, "from_port").unwrap_or(0) as i32,
            to_port: opt_int(v, "to_port").unwrap_or(0) as i32,
            icmp,
        })
    }

    pub fn from_live(e: &types::NetworkAclEntry) -> Entry {
        let ports = e.port_range();
        Entry {
            egress: e.egress().unwrap_or(false),
            rule_number: e.rule_number().unwrap_or_default(),
            protocol: protocol_number(e.protocol().unwrap_or("-1")),
            action: e
                .rule_action()
                .map(|a| a.as_str().to_ascii_lowercase())
                .unwrap_or_default(),
            cidr_block: e.cidr_block().filter(|c| !c.is_empty()).map(str::to_string),
            ipv6_cidr_block: e
                .ipv6_cidr_block()
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            from_port: ports.and_then(|p| p.from()).unwrap_or(0),
            to_port: ports.and_then(|p| p.to()).unwrap_or(0),
            icmp: e
                .icmp_type_code()
                .map(|i| (i.r#type().unwrap_or(0), i.code().unwrap_or(0))),
        }
    }

    /// The same traffic and action. Ports of protocols without ports, and
    /// ICMP fields of other protocols, do not count (EC2 drops them).
    pub fn same_as(&self, other: &Entry) -> bool {
        let ports = matches!(self.protocol.as_str(), "6" | "17");
        self.egress == other.egress
            && self.rule_number == other.rule_number
            && self.protocol == other.protocol
            && self.action == other.action
            && self.cidr_block == other.cidr_block
            && self.ipv6_cidr_block == other.ipv6_cidr_block
            && (!ports || (self.from_port, self.to_port) == (other.from_port, other.to_port))
            && self.icmp == other.icmp
    }
}

/// Creates an entry. One with the same number that exists already is
/// success when it is the same rule (an attempt whose answer was lost),
/// a conflict otherwise.
pub(crate) async fn create_entry(
    aws: &Aws,
    acl: &str,
    entry: &Entry,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let ports = matches!(entry.protocol.as_str(), "6" | "17");
    let call = aws
        .ec2
        .create_network_acl_entry()
        .network_acl_id(acl)
        .egress(entry.egress)
        .rule_number(entry.rule_number)
        .protocol(&entry.protocol)
        .rule_action(RuleAction::from(entry.action.as_str()))
        .set_cidr_block(entry.cidr_block.clone())
        .set_ipv6_cidr_block(entry.ipv6_cidr_block.clone())
        .set_port_range(ports.then(|| {
            PortRange::builder()
                .from(entry.from_port)
                .to(entry.to_port)
                .build()
        }))
        .set_icmp_type_code(
            entry
                .icmp
                .map(|(t, c)| IcmpTypeCode::builder().r#type(t).code(c).build()),
        );
    match retry(deadline, || async {
        call.clone().send().await.ec2("CreateNetworkAclEntry")
    })
    .await
    {
        Ok(_) => Ok(()),
        Err(e) if has_code(&e, "NetworkAclEntryAlreadyExists") => {
            match find_entry(aws, acl, entry.egress, entry.rule_number).await? {
                Some(live) if live.same_as(entry) => Ok(()),
                _ => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}

/// Deletes an entry; one already gone is fine.
pub(crate) async fn delete_entry(
    aws: &Aws,
    acl: &str,
    egress: bool,
    rule_number: i32,
) -> Result<(), ProviderError> {
    ignore_not_found(
        aws.ec2
            .delete_network_acl_entry()
            .network_acl_id(acl)
            .egress(egress)
            .rule_number(rule_number)
            .send()
            .await
            .ec2("DeleteNetworkAclEntry")
            .map(|_| ()),
    )
}

/// One entry of an ACL by direction and number.
pub(crate) async fn find_entry(
    aws: &Aws,
    acl: &str,
    egress: bool,
    rule_number: i32,
) -> Result<Option<Entry>, ProviderError> {
    Ok(describe_one(aws, acl).await?.and_then(|a| {
        a.entries()
            .iter()
            .map(Entry::from_live)
            .find(|e| e.egress == egress && e.rule_number == rule_number)
    }))
}

pub(crate) async fn describe_network_acls(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::NetworkAcl>, ProviderError> {
    aws.ec2
        .describe_network_acls()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeNetworkAcls")
}

pub(crate) async fn describe_one(
    aws: &Aws,
    id: &str,
) -> Result<Option<types::NetworkAcl>, ProviderError> {
    Ok(
        describe_network_acls(aws, vec![filter("network-acl-id", [id])])
            .await?
            .into_iter()
            .next(),
    )
}

// ---------------------------------------------------------------------------
// The ACL

/// An entry as a rule block; `recorded` blocks of the same rule give the
/// protocol and action their written spelling.
fn entry_block(entry: &Entry, recorded: &[Value]) -> Value {
    let spelled = recorded.iter().find(|b| {
        Entry::from_args(b, entry.egress, "DescribeNetworkAcls").is_ok_and(|r| r.same_as(entry))
    });
    let protocol = spelled
        .and_then(|b| opt_str(b, "protocol"))
        .unwrap_or(&entry.protocol);
    let action = spelled
        .and_then(|b| opt_str(b, "action"))
        .unwrap_or(&entry.action);
    let (icmp_type, icmp_code) = match entry.icmp {
        Some((t, c)) => (num(t), num(c)),
        None => (Value::Null, Value::Null),
    };
    Value::map([
        ("action", Value::from(action)),
        ("cidr_block", s(entry.cidr_block.as_deref())),
        ("from_port", num(entry.from_port)),
        ("icmp_code", icmp_code),
        ("icmp_type", icmp_type),
        ("ipv6_cidr_block", s(entry.ipv6_cidr_block.as_deref())),
        ("protocol", Value::from(protocol)),
        ("rule_no", num(entry.rule_number)),
        ("to_port", num(entry.to_port)),
    ])
}

/// The ACL's rules of one direction as blocks, without the default deny.
fn rule_blocks(acl: &types::NetworkAcl, egress: bool, recorded: &[Value]) -> Value {
    let items = acl
        .entries()
        .iter()
        .map(Entry::from_live)
        .filter(|e| e.egress == egress && e.rule_number != DEFAULT_DENY)
        .map(|e| entry_block(&e, recorded))
        .collect();
    Value::List(sort_blocks(items))
}

fn acl_attrs(loc: &Location, acl: &types::NetworkAcl, recorded: Option<&Value>) -> Value {
    let id = acl.network_acl_id().unwrap_or_default();
    let recorded_blocks = |key: &str| recorded.map(|r| blocks(r, key)).unwrap_or(&[]);
    let subnets: Vec<String> = acl
        .associations()
        .iter()
        .filter_map(|a| a.subnet_id())
        .map(str::to_string)
        .collect();
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(acl.owner_id(), &format!("network-acl/{id}"))),
        ),
        ("vpc_id", s(acl.vpc_id())),
        ("subnet_ids", set_or_null(subnets)),
        ("ingress", rule_blocks(acl, false, recorded_blocks("ingress"))),
        ("egress", rule_blocks(acl, true, recorded_blocks("egress"))),
        ("owner_id", s(acl.owner_id())),
        ("tags_all", tags_value(acl.tags())),
    ])
}

fn live(
    loc: &Location,
    acls: Vec<types::NetworkAcl>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    acls.into_iter()
        .filter_map(|a| {
            let id = a.network_acl_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, a.tags(), known),
                attrs: acl_attrs(loc, &a, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    Ok(describe_one(aws, id)
        .await?
        .map(|a| acl_attrs(&aws.loc, &a, Some(recorded))))
}

/// What turns the `prior` blocks of one direction into the `desired` ones:
/// entries to delete (by number), then entries to create.
fn entry_changes(
    prior: &[Value],
    desired: &[Value],
    egress: bool,
) -> Result<(Vec<i32>, Vec<Entry>), ProviderError> {
    const OP: &str = "CreateNetworkAclEntry";
    let prior: Vec<Entry> = prior
        .iter()
        .filter_map(|b| Entry::from_args(b, egress, OP).ok())
        .collect();
    let desired: Vec<Entry> = desired
        .iter()
        .map(|b| Entry::from_args(b, egress, OP))
        .collect::<Result<_, _>>()?;
    let delete = prior
        .iter()
        .filter(|p| !desired.iter().any(|d| d.same_as(p)))
        .map(|p| p.rule_number)
        .collect();
    let create = desired
        .iter()
        .filter(|d| !prior.iter().any(|p| p.same_as(d)))
        .cloned()
        .collect();
    Ok((delete, create))
}

async fn apply_entries(
    aws: &Aws,
    id: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for (key, egress) in [("ingress", false), ("egress", true)] {
        let (delete, create) = entry_changes(blocks(prior, key), blocks(desired, key), egress)?;
        for number in delete {
            delete_entry(aws, id, egress, number).await?;
        }
        for entry in &create {
            create_entry(aws, id, entry, deadline).await?;
        }
    }
    Ok(())
}

/// The VPC's default ACL.
async fn default_acl(aws: &Aws, vpc: &str) -> Result<String, ProviderError> {
    describe_network_acls(
        aws,
        vec![filter("vpc-id", [vpc]), filter("default", ["true"])],
    )
    .await?
    .iter()
    .find(|a| a.is_default() == Some(true))
    .and_then(|a| a.network_acl_id())
    .map(str::to_string)
    .ok_or_else(|| gone("DescribeNetworkAcls", &format!("the default network ACL of {vpc}")))
}

/// Moves each subnet's association to the ACL `to`.
async fn move_subnets(
    aws: &Aws,
    subnets: &[String],
    to: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for subnet in subnets {
        // A subnet too new to be visible has no association yet.
        let association = until(
            deadline,
            "DescribeNetworkAcls",
            &format!("the network ACL association of {subnet}"),
            || async {
                let acls =
                    describe_network_acls(aws, vec![filter("association.subnet-id", [subnet])])
                        .await?;
                Ok(acls
                    .iter()
                    .flat_map(|a| a.associations())
                    .find(|a| a.subnet_id() == Some(subnet.as_str()))
                    .map(|a| {
                        (
                            a.network_acl_association_id().unwrap_or_default().to_string(),
                            a.network_acl_id().unwrap_or_default().to_string(),
                        )
                    }))
            },
        )
        .await?;
        if association.1 == to {
            continue;
        }
        retry(deadline, || async {
            aws.ec2
                .replace_network_acl_association()
                .association_id(&association.0)
                .network_acl_id(to)
                .send()
                .await
                .ec2("ReplaceNetworkAclAssociation")
        })
        .await?;
    }
    Ok(())
}

/// The arguments `CreateNetworkAcl` sends.
const CREATE_ARGS: &[&str] = &["vpc_id", "tags_all"];

fn create_call(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::create_network_acl::builders::CreateNetworkAclFluentBuilder,
    ProviderError,
> {
    Ok(aws
        .ec2
        .create_network_acl()
        .vpc_id(req_str(d, "vpc_id", "CreateNetworkAcl")?)
        .client_token(token)
        .set_tag_specifications(
            tag_specification(ResourceType::NetworkAcl, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct NetworkAcl;

#[async_trait]
impl ResourceHandler for NetworkAcl {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let acls = find_owned(
            req,
            "network-acl-id",
            types::NetworkAcl::network_acl_id,
            |f| describe_network_acls(aws, f),
        )
        .await?;
        Ok(live(&aws.loc, acls, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_network_acls(aws, f)).await?;
        Ok(found.map(|a| acl_attrs(&aws.loc, &a, Some(&req.desired))))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        // Validate the rules before anything exists.
        entry_changes(&[], blocks(d, "ingress"), false)?;
        entry_changes(&[], blocks(d, "egress"), true)?;
        let call = create_call(
            aws,
            d,
            client_token(&req.idempotency_token),
            Some(&req.idempotency_token),
        )?;
        let out = retry(&deadline, || async {
            call.clone().send().await.ec2("CreateNetworkAcl")
        })
        .await?;
        let id = out
            .network_acl()
            .and_then(types::NetworkAcl::network_acl_id)
            .ok_or_else(|| invalid("CreateNetworkAcl", "the answer carries no ACL ID"))?
            .to_string();
        async {
            // Compared with what exists (the default deny rules, or the
            // rules of an attempt whose answer was lost).
            let acl = until(
                &deadline,
                "DescribeNetworkAcls",
                &format!("{id} to be visible"),
                || describe_one(aws, &id),
            )
            .await?;
            let current = acl_attrs(&aws.loc, &acl, None);
            apply_entries(aws, &id, &current, d, &deadline).await?;
            move_subnets(aws, &str_list(d, "subnet_ids"), &id, &deadline).await?;
            read(aws, &id, d)
                .await?
                .ok_or_else(|| gone("DescribeNetworkAcls", &id))
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC and subnets are looked up; `CreateNetworkAcl` is sent with
    /// `DryRun=true` once its arguments are known. The rules and
    /// associations need the ACL's ID and are not tried.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        if let Some(subnets) = known_list(d, "subnet_ids") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Subnet, &subnets).await?;
        }
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, dry_run_token(req), None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateNetworkAcl");
            findings.dry_run("ec2:CreateNetworkAcl", answer, |out| {
                out.network_acl()
                    .and_then(types::NetworkAcl::network_acl_id)
                    .map(str::to_string)
            })?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("CreateNetworkAclEntry", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let d = &req.desired;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("ingress") || changed("egress") {
            let mut from = prior.clone();
            // An unchanged direction is left alone.
            if let Value::Map(m) = &mut from {
                for key in ["ingress", "egress"] {
                    if !changed(key) {
                        m.insert(key.into(), d.get(key).cloned().unwrap_or(Value::Null));
                    }
                }
            }
            apply_entries(aws, id, &from, d, &deadline).await?;
        }
        if changed("subnet_ids") {
            let had = str_list(&prior, "subnet_ids");
            let want = str_list(d, "subnet_ids");
            let removed: Vec<String> = had.iter().filter(|s| !want.contains(s)).cloned().collect();
            if !removed.is_empty() {
                let vpc = req_str(d, "vpc_id", "ReplaceNetworkAclAssociation")?;
                let default = default_acl(aws, vpc).await?;
                move_subnets(aws, &removed, &default, &deadline).await?;
            }
            move_subnets(aws, &want, id, &deadline).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone("DescribeNetworkAcls", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let Some(acl) = describe_one(aws, &req.id).await? else {
            return Ok(());
        };
        let subnets: Vec<String> = acl
            .associations()
            .iter()
            .filter_map(|a| a.subnet_id())
            .map(str::to_string)
            .collect();
        if !subnets.is_empty() {
            let vpc = acl.vpc_id().unwrap_or_default();
            let default = default_acl(aws, vpc).await?;
            move_subnets(aws, &subnets, &default, &deadline).await?;
        }
        // DependencyViolation (an association still being moved) is
        // transient; the engine retries.
        ignore_not_found(
            aws.ec2
                .delete_network_acl()
                .network_acl_id(&req.id)
                .send()
                .await
                .ec2("DeleteNetworkAcl")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live_entry(number: i32, egress: bool, protocol: &str, ports: Option<(i32, i32)>) -> types::NetworkAclEntry {
        types::NetworkAclEntry::builder()
            .rule_number(number)
            .egress(egress)
            .protocol(protocol)
            .rule_action(RuleAction::Allow)
            .cidr_block("10.0.0.0/16")
            .set_port_range(ports.map(|(f, t)| PortRange::builder().from(f).to(t).build()))
            .build()
    }

    fn block(number: i64, protocol: &str, from: i64, to: i64) -> Value {
        Value::map([
            ("action", Value::from("allow")),
            ("cidr_block", Value::from("10.0.0.0/16")),
            ("from_port", num(from)),
            ("icmp_code", Value::Null),
            ("icmp_type", Value::Null),
            ("ipv6_cidr_block", Value::Null),
            ("protocol", Value::from(protocol)),
            ("rule_no", num(number)),
            ("to_port", num(to)),
        ])
    }

    #[test]
    fn protocol_names_are_numbers_to_the_api() {
        assert_eq!(protocol_number("tcp"), "6");
        assert_eq!(protocol_number("ALL"), "-1");
        assert_eq!(protocol_number("17"), "17");
    }

    #[test]
    fn live_rules_read_back_as_written_without_the_default_deny() {
        let acl = types::NetworkAcl::builder()
            .network_acl_id("acl-1")
            .owner_id("123456789012")
            .entries(live_entry(100, false, "6", Some((443, 443))))
            .entries(live_entry(200, false, "-1", None))
            .entries(
                types::NetworkAclEntry::builder()
                    .rule_number(DEFAULT_DENY)
                    .egress(false)
                    .protocol("-1")
                    .rule_action(RuleAction::Deny)
                    .cidr_block("0.0.0.0/0")
                    .build(),
            )
            .build();
        let recorded = Value::map([(
            "ingress",
            Value::List(vec![block(100, "tcp", 443, 443), block(200, "-1", 0, 0)]),
        )]);
        let v = acl_attrs(&Location::new("us-east-1"), &acl, Some(&recorded));
        assert_eq!(
            v.get("ingress"),
            Some(&Value::List(sort_blocks(vec![
                block(100, "tcp", 443, 443),
                block(200, "-1", 0, 0)
            ])))
        );
        assert_eq!(v.get("egress"), Some(&Value::List(vec![])));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:us-east-1:123456789012:network-acl/acl-1"
            ))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn changed_rules_are_deleted_then_created() {
        let prior = [block(100, "tcp", 443, 443), block(110, "tcp", 80, 80)];
        let desired = [block(100, "6", 443, 443), block(110, "tcp", 8080, 8080)];
        let (delete, create) = entry_changes(&prior, &desired, false).unwrap();
        assert_eq!(delete, vec![110]);
        assert_eq!(create.len(), 1);
        assert_eq!(create[0].from_port, 8080);
    }
}
