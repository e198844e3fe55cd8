//! `aws_eip`: an Elastic IP address, optionally associated with an instance
//! (`instance`) or a network interface (`network_interface`). The ID is the
//! allocation ID.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, DomainType, Filter, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{ELASTIC_IP, INSTANCE, IPV4_POOL, NETWORK_INTERFACE};
use crate::args::{opt_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned, known_attrs};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `vpc = true` (deprecated in the AWS provider 5) is `domain = "vpc"`,
/// unless `domain` is set too.
fn vpc_as_domain(vpc: Value, args: &mut std::collections::BTreeMap<String, Value>) {
    let unset = args.get("domain").is_none_or(Value::is_null);
    if vpc == Value::Bool(true) && unset {
        args.insert("domain".into(), Value::from("vpc"));
    }
}

/// `aws_eip`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_eip",
    schema,
    handler: &Eip,
    grants: &[
        g(&["ec2:DescribeAddresses"], ANY),
        g(&["ec2:AllocateAddress"], &[ELASTIC_IP, IPV4_POOL]),
        g(
            &["ec2:AssociateAddress"],
            &[ELASTIC_IP, INSTANCE, NETWORK_INTERFACE],
        ),
        g(
            &["ec2:DisassociateAddress"],
            &[ELASTIC_IP, NETWORK_INTERFACE],
        ),
        g(
            &["ec2:CreateTags", "ec2:DeleteTags", "ec2:ReleaseAddress"],
            &[ELASTIC_IP],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_eip")
        .doc("An Elastic IP address.")
        .attr(
            AttrSchema::optional_computed("domain", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec!["vpc", "standard"]))
                .doc("`vpc` for an address used in a VPC."),
        )
        .upgrade(
            AttrSchema::optional("vpc", AttrType::Bool)
                .doc("Deprecated: `vpc = true` is `domain = \"vpc\"`."),
            "domain = \"vpc\"",
            vpc_as_domain,
        )
        .attr(
            AttrSchema::optional("instance", AttrType::String)
                .doc("The EC2 instance to associate the address with."),
        )
        .attr(
            AttrSchema::optional_computed("network_interface", AttrType::String)
                .doc("The network interface to associate the address with."),
        )
        .attr(
            AttrSchema::optional("associate_with_private_ip", AttrType::String)
                .doc("The private IP of the instance or interface to associate with."),
        )
        .attr(
            AttrSchema::optional_computed("public_ipv4_pool", AttrType::String)
                .force_new()
                .doc("The IPv4 pool to allocate from (`amazon` by default)."),
        )
        .attr(
            AttrSchema::computed("allocation_id", AttrType::String)
                .doc("The allocation ID (also the ID)."),
        )
        .attr(
            AttrSchema::computed("association_id", AttrType::String)
                .doc("The current association, if any."),
        )
        .attr(AttrSchema::computed("public_ip", AttrType::String).doc("The public IPv4 address."))
        .attr(
            AttrSchema::computed("public_dns", AttrType::String)
                .doc("The public DNS name of the address."),
        )
        .attr(
            AttrSchema::computed("private_ip", AttrType::String)
                .doc("The private IP it is associated with."),
        )
        .attr(
            AttrSchema::computed("private_dns", AttrType::String)
                .doc("The private DNS name of that IP."),
        )
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 5 * 60,
            delete_secs: 3 * 60,
        })
}

/// Live attributes. `associate_with_private_ip` is not reported by EC2: the
/// recorded value stands while the association's private IP matches it.
fn eip_attrs(loc: &Location, address: &types::Address, recorded: Option<&Value>) -> Value {
    let public_ip = address.public_ip();
    let private_ip = address.private_ip_address();
    let associate_with = recorded
        .and_then(|r| opt_str(r, "associate_with_private_ip"))
        .map(|want| {
            if private_ip == Some(want) {
                Some(want)
            } else {
                private_ip
            }
        })
        .unwrap_or(None);
    Value::map([
        ("id", s(address.allocation_id())),
        ("allocation_id", s(address.allocation_id())),
        ("association_id", s(address.association_id())),
        ("domain", s(address.domain().map(DomainType::as_str))),
        ("instance", s(address.instance_id())),
        ("network_interface", s(address.network_interface_id())),
        ("associate_with_private_ip", s(associate_with)),
        ("public_ipv4_pool", s(address.public_ipv4_pool())),
        ("public_ip", s(public_ip)),
        (
            "public_dns",
            Value::from(public_ip.map(|ip| loc.public_dns_for_ip(ip))),
        ),
        ("private_ip", s(private_ip)),
        (
            "private_dns",
            Value::from(private_ip.map(|ip| loc.private_dns_for_ip(ip))),
        ),
        ("tags_all", tags_value(address.tags())),
    ])
}

/// `DescribeAddresses` is not paginated: it returns every match at once.
pub(crate) async fn describe_addresses(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::Address>, ProviderError> {
    let out = aws
        .ec2
        .describe_addresses()
        .set_filters(Some(filters))
        .send()
        .await
        .ec2("DescribeAddresses")?;
    Ok(out.addresses().to_vec())
}

fn live(
    loc: &Location,
    addresses: Vec<types::Address>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    addresses
        .into_iter()
        .filter_map(|a| {
            let id = a.allocation_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, a.tags(), known),
                attrs: eip_attrs(loc, &a, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let addresses = describe_addresses(aws, vec![filter("allocation-id", [id])]).await?;
    Ok(addresses
        .first()
        .map(|a| eip_attrs(&aws.loc, a, Some(recorded))))
}

/// Associates the address with the instance or interface `desired` names.
async fn associate(
    aws: &Aws,
    id: &str,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let instance = opt_str(desired, "instance");
    let eni = opt_str(desired, "network_interface");
    if instance.is_none() && eni.is_none() {
        return Ok(());
    }
    // A new instance or interface may not be visible, or running, yet.
    retry(deadline, || async {
        aws.ec2
            .associate_address()
            .allocation_id(id)
            .set_instance_id(instance.map(str::to_string))
            .set_network_interface_id(if instance.is_some() {
                None
            } else {
                eni.map(str::to_string)
            })
            .set_private_ip_address(
                opt_str(desired, "associate_with_private_ip").map(str::to_string),
            )
            .send()
            .await
            .ec2("AssociateAddress")
    })
    .await
    .map(|_| ())
}

async fn disassociate(
    aws: &Aws,
    association_id: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    ignore_not_found(
        retry(deadline, || async {
            aws.ec2
                .disassociate_address()
                .association_id(association_id)
                .send()
                .await
                .ec2("DisassociateAddress")
        })
        .await
        .map(|_| ()),
    )
}

/// The arguments `AllocateAddress` sends.
const ALLOCATE_ARGS: &[&str] = &["domain", "public_ipv4_pool", "tags_all"];

/// `AllocateAddress` for the spec (the create and its dry run send the
/// same).
fn allocate_call(
    aws: &Aws,
    d: &Value,
    create_token: Option<&str>,
) -> aws_sdk_ec2::operation::allocate_address::builders::AllocateAddressFluentBuilder {
    aws.ec2
        .allocate_address()
        .set_domain(opt_str(d, "domain").map(DomainType::from))
        .set_public_ipv4_pool(opt_str(d, "public_ipv4_pool").map(str::to_string))
        .set_tag_specifications(
            tag_specification(ResourceType::ElasticIp, d, create_token).map(|t| vec![t]),
        )
}

pub(crate) struct Eip;

#[async_trait]
impl ResourceHandler for Eip {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let addresses = find_owned(req, "allocation-id", types::Address::allocation_id, |f| {
            describe_addresses(aws, f)
        })
        .await?;
        Ok(live(&aws.loc, addresses, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_addresses(aws, f)).await?;
        Ok(found.and_then(|a| live(&aws.loc, vec![a], &[]).pop().map(|l| l.attrs)))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let out = allocate_call(aws, d, Some(&req.idempotency_token))
            .send()
            .await
            .ec2("AllocateAddress")?;
        let id = out
            .allocation_id()
            .ok_or_else(|| invalid("AllocateAddress", "the answer carries no allocation ID"))?
            .to_string();
        async {
            associate(aws, &id, d, &deadline).await?;
            until(
                &deadline,
                "DescribeAddresses",
                &format!("{id} to be readable"),
                || read(aws, &id, d),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// `AllocateAddress` with `DryRun=true`, once its arguments are known.
    /// The association needs the allocation ID and is not tried.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if all_known(d, ALLOCATE_ARGS) {
            let answer = allocate_call(aws, d, None)
                .dry_run(true)
                .send()
                .await
                .ec2("AllocateAddress");
            findings.dry_run("ec2:AllocateAddress", answer, |out| {
                out.allocation_id().map(str::to_string)
            })?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("AssociateAddress", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let d = &req.desired;
        let target = |v: &Value| {
            (
                opt_str(v, "instance").map(str::to_string),
                opt_str(v, "network_interface").map(str::to_string),
                opt_str(v, "associate_with_private_ip").map(str::to_string),
            )
        };
        let (want_instance, want_eni, want_ip) = target(d);
        let (had_instance, had_eni, had_ip) = target(&prior);
        // An unset network_interface is computed (it follows the instance).
        let eni_changed = want_eni.is_some() && want_eni != had_eni;
        if want_instance != had_instance || eni_changed || (want_ip.is_some() && want_ip != had_ip)
        {
            if let Some(association) = opt_str(&prior, "association_id") {
                disassociate(aws, association, &deadline).await?;
            }
            associate(aws, id, d, &deadline).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone("DescribeAddresses", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let addresses =
            describe_addresses(aws, vec![filter("allocation-id", [req.id.as_str()])]).await?;
        let Some(address) = addresses.first() else {
            return Ok(());
        };
        if let Some(association) = address.association_id() {
            disassociate(aws, association, &deadline).await?;
        }
        // InvalidIPAddress.InUse while the disassociation settles is transient.
        ignore_not_found(
            retry(&deadline, || async {
                aws.ec2
                    .release_address()
                    .allocation_id(&req.id)
                    .send()
                    .await
                    .ec2("ReleaseAddress")
            })
            .await
            .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn associated() -> types::Address {
        types::Address::builder()
            .allocation_id("eipalloc-1")
            .association_id("eipassoc-1")
            .domain(DomainType::Vpc)
            .instance_id("i-1")
            .network_interface_id("eni-1")
            .private_ip_address("10.0.0.5")
            .public_ip("54.1.2.3")
            .public_ipv4_pool("amazon")
            .tags(types::Tag::builder().key("Name").value("nat").build())
            .build()
    }

    #[test]
    fn associated_address_reads_instance_interface_and_dns_names() {
        let v = eip_attrs(&Location::new("eu-west-1"), &associated(), None);
        assert_eq!(v.get("id"), Some(&Value::from("eipalloc-1")));
        assert_eq!(v.get("allocation_id"), Some(&Value::from("eipalloc-1")));
        assert_eq!(v.get("domain"), Some(&Value::from("vpc")));
        assert_eq!(v.get("instance"), Some(&Value::from("i-1")));
        assert_eq!(v.get("network_interface"), Some(&Value::from("eni-1")));
        assert_eq!(
            v.get("public_dns"),
            Some(&Value::from("ec2-54-1-2-3.eu-west-1.compute.amazonaws.com"))
        );
        assert_eq!(
            v.get("private_dns"),
            Some(&Value::from("ip-10-0-0-5.eu-west-1.compute.internal"))
        );
        assert_eq!(v.get("associate_with_private_ip"), Some(&Value::Null));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn unassociated_address_has_nulls() {
        let a = types::Address::builder()
            .allocation_id("eipalloc-2")
            .domain(DomainType::Vpc)
            .public_ip("3.3.3.3")
            .build();
        let v = eip_attrs(&Location::new("us-east-1"), &a, None);
        assert_eq!(v.get("instance"), Some(&Value::Null));
        assert_eq!(v.get("association_id"), Some(&Value::Null));
        assert_eq!(v.get("private_dns"), Some(&Value::Null));
        assert_eq!(
            v.get("public_dns"),
            Some(&Value::from("ec2-3-3-3-3.compute-1.amazonaws.com"))
        );
    }

    #[test]
    fn the_recorded_private_ip_choice_stands_while_it_holds() {
        let recorded = Value::map([("associate_with_private_ip", Value::from("10.0.0.5"))]);
        let v = eip_attrs(&Location::new("us-east-1"), &associated(), Some(&recorded));
        assert_eq!(
            v.get("associate_with_private_ip"),
            Some(&Value::from("10.0.0.5"))
        );
        let recorded = Value::map([("associate_with_private_ip", Value::from("10.0.0.9"))]);
        let v = eip_attrs(&Location::new("us-east-1"), &associated(), Some(&recorded));
        assert_eq!(
            v.get("associate_with_private_ip"),
            Some(&Value::from("10.0.0.5"))
        );
    }
}
