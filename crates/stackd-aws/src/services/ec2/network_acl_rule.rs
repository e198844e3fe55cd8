//! `aws_network_acl_rule`: one entry of a network ACL, managed on its own.
//!
//! Entries have no ID or tags in EC2. The ID is
//! `<network_acl_id>:<rule_number>:<protocol>:<egress>`, the form
//! `terraform import` takes (the Terraform provider stores a hash instead);
//! a refresh finds known entries through their ACLs, with one
//! `DescribeNetworkAcls` filtered on every ACL holding a known entry. Every
//! argument forces a replacement, as in the provider. As there, a rule with
//! the same number and direction already in the ACL is an error (unless it
//! is this very rule, made by an attempt whose answer was lost), and the
//! protocol reads back as written when it names the same number (`tcp` and
//! `6`; an imported rule, as its import ID spells it). Do not combine these with inline `ingress`/`egress` blocks on the
//! same `aws_network_acl`: the ACL would remove them (see `network_acl`).

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::network_acl::{
    create_entry, delete_entry, describe_network_acls, find_entry, protocol_number, Entry,
};
use super::NETWORK_ACL;
use crate::args::{bool_or, num, opt_int, opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, invalid};
use crate::policy::{g, ANY};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{until, Deadline};

/// `aws_network_acl_rule`: its schema, its handler, and the IAM grants of every call
/// it makes (read, create, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_network_acl_rule",
    schema,
    handler: &NetworkAclRule,
    grants: &[
        g(&["ec2:DescribeNetworkAcls"], ANY),
        g(
            &["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAclEntry"],
            &[NETWORK_ACL],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let opt_new = |name: &'static str, ty: AttrType, doc: &'static str| {
        AttrSchema::optional(name, ty).force_new().doc(doc)
    };
    ResourceSchema::resource("aws_network_acl_rule")
        .doc("One rule of a network ACL.")
        .attr(
            AttrSchema::required("network_acl_id", AttrType::String)
                .force_new()
                .doc("The network ACL."),
        )
        .attr(
            AttrSchema::required("rule_number", AttrType::Number)
                .force_new()
                .doc("The rule's number; rules are evaluated in ascending order."),
        )
        .attr(
            AttrSchema::optional("egress", AttrType::Bool)
                .default(false)
                .force_new()
                .doc("An outbound rule (else inbound)."),
        )
        .attr(
            AttrSchema::required("protocol", AttrType::String)
                .force_new()
                .doc("A protocol number or name (`tcp`, `udp`, `icmp`, `-1` for all)."),
        )
        .attr(
            AttrSchema::required("rule_action", AttrType::String)
                .force_new()
                .doc("`allow` or `deny`."),
        )
        .attr(opt_new(
            "cidr_block",
            AttrType::String,
            "The IPv4 range (exactly one of this and `ipv6_cidr_block`).",
        ))
        .attr(opt_new(
            "ipv6_cidr_block",
            AttrType::String,
            "The IPv6 range.",
        ))
        .attr(opt_new("from_port", AttrType::Number, "The first port."))
        .attr(opt_new("to_port", AttrType::Number, "The last port."))
        .attr(opt_new("icmp_type", AttrType::Number, "The ICMP type."))
        .attr(opt_new("icmp_code", AttrType::Number, "The ICMP code."))
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// The resource ID of a rule.
fn rule_id(acl: &str, number: i64, protocol: &str, egress: bool) -> String {
    format!("{acl}:{number}:{protocol}:{egress}")
}

/// The ACL, number and direction of a known rule: from its recorded
/// attributes, else its ID (an import).
fn locate(known: &KnownResource) -> Option<(String, i32, bool)> {
    let recorded = (
        opt_str(&known.attrs, "network_acl_id"),
        opt_int(&known.attrs, "rule_number"),
    );
    match recorded {
        (Some(acl), Some(number)) => Some((
            acl.to_string(),
            number as i32,
            bool_or(&known.attrs, "egress", false),
        )),
        _ => parse_id(&known.id),
    }
}

/// `acl-…:100:tcp:false` as the ACL, number and direction.
fn parse_id(id: &str) -> Option<(String, i32, bool)> {
    let parts: Vec<&str> = id.split(':').collect();
    let [acl, number, protocol, egress] = parts.as_slice() else {
        return None;
    };
    if acl.is_empty() || protocol.is_empty() {
        return None;
    }
    Some((
        acl.to_string(),
        number.parse().ok()?,
        egress.parse().ok()?,
    ))
}

/// A live entry as the rule's attributes; `recorded` gives the protocol and
/// action the spelling they were written with, when they mean the same.
fn rule_attrs(acl: &str, entry: &Entry, id: &str, recorded: &Value) -> Value {
    let protocol = opt_str(recorded, "protocol")
        .filter(|p| protocol_number(p) == entry.protocol)
        .unwrap_or(&entry.protocol);
    let action = opt_str(recorded, "rule_action")
        .filter(|a| a.eq_ignore_ascii_case(&entry.action))
        .unwrap_or(&entry.action);
    let ports = matches!(entry.protocol.as_str(), "6" | "17");
    let (from, to) = if ports {
        (num(entry.from_port), num(entry.to_port))
    } else {
        // EC2 keeps no ports for other protocols; the written ones stand.
        (
            recorded.get("from_port").cloned().unwrap_or(Value::Null),
            recorded.get("to_port").cloned().unwrap_or(Value::Null),
        )
    };
    let (icmp_type, icmp_code) = match entry.icmp {
        Some((t, c)) => (num(t), num(c)),
        None => (
            recorded.get("icmp_type").cloned().unwrap_or(Value::Null),
            recorded.get("icmp_code").cloned().unwrap_or(Value::Null),
        ),
    };
    Value::map([
        ("id", Value::from(id)),
        ("network_acl_id", Value::from(acl)),
        ("rule_number", num(entry.rule_number)),
        ("egress", Value::Bool(entry.egress)),
        ("protocol", Value::from(protocol)),
        ("rule_action", Value::from(action)),
        ("cidr_block", s(entry.cidr_block.as_deref())),
        ("ipv6_cidr_block", s(entry.ipv6_cidr_block.as_deref())),
        ("from_port", from),
        ("to_port", to),
        ("icmp_type", icmp_type),
        ("icmp_code", icmp_code),
    ])
}

pub(crate) struct NetworkAclRule;

#[async_trait]
impl ResourceHandler for NetworkAclRule {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let located: Vec<(&KnownResource, (String, i32, bool))> = req
            .known
            .iter()
            .filter_map(|k| locate(k).map(|l| (k, l)))
            .collect();
        let mut acl_ids: Vec<String> = located.iter().map(|(_, l)| l.0.clone()).collect();
        acl_ids.sort();
        acl_ids.dedup();
        let mut acls = Vec::new();
        for chunk in acl_ids.chunks(MAX_FILTER_VALUES) {
            acls.extend(
                describe_network_acls(aws, vec![filter("network-acl-id", chunk.iter().cloned())])
                    .await?,
            );
        }
        Ok(located
            .into_iter()
            .filter_map(|(k, (acl, number, egress))| {
                let entry = acls
                    .iter()
                    .filter(|a| a.network_acl_id() == Some(acl.as_str()))
                    .flat_map(|a| a.entries())
                    .map(Entry::from_live)
                    .find(|e| e.egress == egress && e.rule_number == number)?;
                // An import records nothing yet: the protocol as its ID
                // spells it.
                let recorded = if k.attrs.get("protocol").is_some() {
                    k.attrs.clone()
                } else {
                    let protocol = k.id.split(':').nth(2).unwrap_or_default();
                    Value::map([("protocol", Value::from(protocol))])
                };
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: rule_attrs(&acl, &entry, &k.id, &recorded),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateNetworkAclEntry";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let acl = req_str(d, "network_acl_id", OP)?;
        let egress = bool_or(d, "egress", false);
        let entry = Entry::from_args(d, egress, OP)?;
        if entry.cidr_block.is_some() == entry.ipv6_cidr_block.is_some() {
            return Err(invalid(
                OP,
                "exactly one of cidr_block and ipv6_cidr_block must be set",
            ));
        }
        // As the provider: a rule of this number is there already. Ours
        // (an attempt whose answer was lost) is kept; another is an error.
        if let Some(live) = find_entry(aws, acl, egress, entry.rule_number).await? {
            if !live.same_as(&entry) {
                return Err(invalid(
                    OP,
                    format!(
                        "network ACL {acl} already has an {} rule number {}; \
                         import it or choose another rule_number",
                        if egress { "egress" } else { "ingress" },
                        entry.rule_number
                    ),
                ));
            }
        } else {
            create_entry(aws, acl, &entry, &deadline).await?;
        }
        let id = rule_id(
            acl,
            entry.rule_number.into(),
            req_str(d, "protocol", OP)?,
            egress,
        );
        let live = until(
            &deadline,
            "DescribeNetworkAcls",
            &format!("rule {} of {acl} to be visible", entry.rule_number),
            || find_entry(aws, acl, egress, entry.rule_number),
        )
        .await
        .map_err(|e| after_create(&id, e))?;
        Ok(rule_attrs(acl, &live, &id, d))
    }

    async fn update(&self, _aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces a replacement.
        Err(invalid(
            "CreateNetworkAclEntry",
            format!("{} has no argument that changes in place", req.address),
        ))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let Some((acl, number, egress)) = locate(&known) else {
            return Err(invalid(
                "DeleteNetworkAclEntry",
                format!(
                    "{:?} is not a <network_acl_id>:<rule_number>:<protocol>:<egress> ID",
                    req.id
                ),
            ));
        };
        delete_entry(aws, &acl, egress, number).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_name_the_acl_number_and_direction() {
        assert_eq!(
            parse_id("acl-7aaabd18:100:tcp:false"),
            Some(("acl-7aaabd18".into(), 100, false))
        );
        assert_eq!(
            parse_id("acl-1:200:-1:true"),
            Some(("acl-1".into(), 200, true))
        );
        assert_eq!(parse_id("acl-1:x:tcp:false"), None);
        assert_eq!(parse_id("acl-1:100:tcp"), None);
        assert_eq!(rule_id("acl-1", 100, "tcp", false), "acl-1:100:tcp:false");
    }

    #[test]
    fn the_protocol_reads_back_as_written() {
        let entry = Entry {
            egress: false,
            rule_number: 100,
            protocol: "6".into(),
            action: "allow".into(),
            cidr_block: Some("0.0.0.0/0".into()),
            ipv6_cidr_block: None,
            from_port: 443,
            to_port: 443,
            icmp: None,
        };
        let recorded = Value::map([
            ("rule_number", num(100)),
            ("protocol", Value::from("tcp")),
            ("rule_action", Value::from("Allow")),
        ]);
        let v = rule_attrs("acl-1", &entry, "acl-1:100:tcp:false", &recorded);
        assert_eq!(v.get("protocol"), Some(&Value::from("tcp")));
        assert_eq!(v.get("rule_action"), Some(&Value::from("Allow")));
        assert_eq!(v.get("from_port"), Some(&num(443)));
        // Nothing recorded: the API's spelling.
        let v = rule_attrs("acl-1", &entry, "acl-1:100:tcp:false", &Value::Null);
        assert_eq!(v.get("protocol"), Some(&Value::from("6")));
        let other = Value::map([("protocol", Value::from("udp"))]);
        let v2 = rule_attrs("acl-1", &entry, "acl-1:100:udp:false", &other);
        assert_eq!(v2.get("protocol"), Some(&Value::from("6")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
