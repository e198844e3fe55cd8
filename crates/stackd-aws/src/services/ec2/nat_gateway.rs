//! `aws_nat_gateway`: a NAT gateway in a subnet. Creation is idempotent
//! through EC2's `ClientToken` (the engine's idempotency token), and waits
//! until the gateway is `available`; deletion waits until it is `deleted`.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, ConnectivityType, Filter, NatGatewayState, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{ELASTIC_IP, NAT_GATEWAY, SUBNET, VPC};
use crate::args::{client_token, opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `aws_nat_gateway`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_nat_gateway",
    schema,
    handler: &NatGateway,
    grants: &[
        g(
            &[
                "ec2:DescribeAddresses",
                "ec2:DescribeNatGateways",
                "ec2:DescribeSubnets",
            ],
            ANY,
        ),
        g(
            &["ec2:CreateNatGateway"],
            &[NAT_GATEWAY, ELASTIC_IP, SUBNET, VPC],
        ),
        g(
            &["ec2:CreateTags", "ec2:DeleteNatGateway", "ec2:DeleteTags"],
            &[NAT_GATEWAY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_nat_gateway")
        .doc("A NAT gateway.")
        .attr(
            AttrSchema::optional("allocation_id", AttrType::String)
                .force_new()
                .doc("The Elastic IP allocation of a public NAT gateway."),
        )
        .attr(
            AttrSchema::required("subnet_id", AttrType::String)
                .force_new()
                .doc("The subnet the gateway is placed in (a public one, for a public gateway)."),
        )
        .attr(
            AttrSchema::optional("connectivity_type", AttrType::String)
                .default("public")
                .force_new()
                .check(Check::OneOf(vec!["public", "private"]))
                .doc("`public` (internet access through an Elastic IP) or `private`."),
        )
        .attr(
            AttrSchema::optional_computed("private_ip", AttrType::String)
                .force_new()
                .doc("The private IPv4 address; AWS picks one from the subnet when unset."),
        )
        .attr(
            AttrSchema::computed("association_id", AttrType::String)
                .doc("The Elastic IP association."),
        )
        .attr(
            AttrSchema::computed("network_interface_id", AttrType::String)
                .doc("The gateway's network interface."),
        )
        .attr(AttrSchema::computed("public_ip", AttrType::String).doc("The public IPv4 address."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 30 * 60,
        })
}

/// States in which a NAT gateway no longer counts as existing.
fn is_gone(nat: &types::NatGateway) -> bool {
    matches!(
        nat.state(),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting)
    )
}

fn nat_attrs(nat: &types::NatGateway) -> Value {
    let addresses = nat.nat_gateway_addresses();
    let primary = addresses
        .iter()
        .find(|a| a.is_primary() == Some(true))
        .or_else(|| addresses.first());
    Value::map([
        ("id", s(nat.nat_gateway_id())),
        ("allocation_id", s(primary.and_then(|a| a.allocation_id()))),
        ("subnet_id", s(nat.subnet_id())),
        (
            "connectivity_type",
            s(Some(
                nat.connectivity_type()
                    .map(ConnectivityType::as_str)
                    .unwrap_or("public"),
            )),
        ),
        ("private_ip", s(primary.and_then(|a| a.private_ip()))),
        (
            "association_id",
            s(primary.and_then(|a| a.association_id())),
        ),
        (
            "network_interface_id",
            s(primary.and_then(|a| a.network_interface_id())),
        ),
        ("public_ip", s(primary.and_then(|a| a.public_ip()))),
        ("tags_all", tags_value(nat.tags())),
    ])
}

async fn describe_nat_gateways(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::NatGateway>, ProviderError> {
    aws.ec2
        .describe_nat_gateways()
        .set_filter(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeNatGateways")
}

fn live(nats: Vec<types::NatGateway>, known: &[KnownResource]) -> Vec<LiveResource> {
    nats.into_iter()
        .filter(|n| !is_gone(n))
        .filter_map(|nat| {
            let id = nat.nat_gateway_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, nat.tags(), known),
                attrs: nat_attrs(&nat),
                id,
            })
        })
        .collect()
}

async fn describe_one(aws: &Aws, id: &str) -> Result<Option<types::NatGateway>, ProviderError> {
    Ok(
        describe_nat_gateways(aws, vec![filter("nat-gateway-id", [id])])
            .await?
            .into_iter()
            .next(),
    )
}

/// What a wait for `available` makes of the gateway's current state.
fn availability(nat: &types::NatGateway) -> Result<Option<Value>, ProviderError> {
    match nat.state() {
        Some(NatGatewayState::Available) => Ok(Some(nat_attrs(nat))),
        Some(NatGatewayState::Failed) => Err(invalid(
            "CreateNatGateway",
            format!(
                "NAT gateway {} failed: {} {}",
                nat.nat_gateway_id().unwrap_or_default(),
                nat.failure_code().unwrap_or_default(),
                nat.failure_message().unwrap_or_default()
            ),
        )
        .with_code(nat.failure_code().unwrap_or("Failed"))),
        Some(NatGatewayState::Deleted | NatGatewayState::Deleting) => Err(gone(
            "DescribeNatGateways",
            nat.nat_gateway_id().unwrap_or_default(),
        )),
        _ => Ok(None),
    }
}

/// The arguments `CreateNatGateway` sends.
const CREATE_ARGS: &[&str] = &[
    "subnet_id",
    "allocation_id",
    "connectivity_type",
    "private_ip",
    "tags_all",
];

/// `CreateNatGateway` for the spec (the create and its dry run send the
/// same).
fn create_call(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::create_nat_gateway::builders::CreateNatGatewayFluentBuilder,
    ProviderError,
> {
    Ok(aws
        .ec2
        .create_nat_gateway()
        .subnet_id(req_str(d, "subnet_id", "CreateNatGateway")?)
        .set_allocation_id(opt_str(d, "allocation_id").map(str::to_string))
        .connectivity_type(ConnectivityType::from(
            opt_str(d, "connectivity_type").unwrap_or("public"),
        ))
        .set_private_ip_address(opt_str(d, "private_ip").map(str::to_string))
        .client_token(token)
        .set_tag_specifications(
            tag_specification(ResourceType::Natgateway, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct NatGateway;

#[async_trait]
impl ResourceHandler for NatGateway {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let nats = find_owned(
            req,
            "nat-gateway-id",
            types::NatGateway::nat_gateway_id,
            |f| describe_nat_gateways(aws, f),
        )
        .await?;
        Ok(live(nats, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_nat_gateways(aws, f)).await?;
        Ok(found.and_then(|n| live(vec![n], &[]).pop().map(|l| l.attrs)))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let call = create_call(
            aws,
            d,
            client_token(&req.idempotency_token),
            Some(&req.idempotency_token),
        )?;
        // The client token makes a repeated create return the same gateway,
        // so retrying (a new subnet or EIP not visible yet) is safe.
        let out = retry(&deadline, || async {
            call.clone().send().await.ec2("CreateNatGateway")
        })
        .await?;
        let id = out
            .nat_gateway()
            .and_then(types::NatGateway::nat_gateway_id)
            .ok_or_else(|| invalid("CreateNatGateway", "the answer carries no NAT gateway ID"))?
            .to_string();
        until(
            &deadline,
            "DescribeNatGateways",
            &format!("{id} to be available"),
            || async {
                match describe_one(aws, &id).await? {
                    Some(nat) => availability(&nat),
                    None => Ok(None),
                }
            },
        )
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The subnet and the Elastic IP allocation are looked up;
    /// `CreateNatGateway` is sent with `DryRun=true` once its arguments are
    /// known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(subnet) = known_str(d, "subnet_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Subnet, &[subnet.to_string()]).await?;
        }
        if let Some(allocation) = known_str(d, "allocation_id") {
            let ids = [allocation.to_string()];
            check_ec2_refs(aws, &mut findings, Ec2Ref::ElasticIp, &ids).await?;
        }
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, dry_run_token(req), None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateNatGateway");
            findings.dry_run("ec2:CreateNatGateway", answer, |out| {
                out.nat_gateway()
                    .and_then(types::NatGateway::nat_gateway_id)
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
            .ok_or_else(|| invalid("CreateTags", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        reconcile(aws, id, &prior, &req.desired, &deadline).await?;
        describe_one(aws, id)
            .await?
            .filter(|n| !is_gone(n))
            .map(|n| nat_attrs(&n))
            .ok_or_else(|| gone("DescribeNatGateways", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        ignore_not_found(
            aws.ec2
                .delete_nat_gateway()
                .nat_gateway_id(&req.id)
                .send()
                .await
                .ec2("DeleteNatGateway")
                .map(|_| ()),
        )?;
        until(
            &deadline,
            "DescribeNatGateways",
            &format!("{} to be deleted", req.id),
            || async {
                Ok(match describe_one(aws, &req.id).await? {
                    Some(nat) if nat.state() != Some(&NatGatewayState::Deleted) => None,
                    _ => Some(()),
                })
            },
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::provider::ErrorKind;

    fn nat(state: NatGatewayState) -> types::NatGateway {
        types::NatGateway::builder()
            .nat_gateway_id("nat-1")
            .subnet_id("subnet-1")
            .state(state)
            .connectivity_type(ConnectivityType::Public)
            .nat_gateway_addresses(
                types::NatGatewayAddress::builder()
                    .allocation_id("eipalloc-1")
                    .network_interface_id("eni-1")
                    .private_ip("10.0.0.9")
                    .public_ip("54.0.0.1")
                    .association_id("eipassoc-1")
                    .is_primary(true)
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_gateway_reads_its_primary_address() {
        let v = nat_attrs(&nat(NatGatewayState::Available));
        assert_eq!(v.get("allocation_id"), Some(&Value::from("eipalloc-1")));
        assert_eq!(v.get("network_interface_id"), Some(&Value::from("eni-1")));
        assert_eq!(v.get("private_ip"), Some(&Value::from("10.0.0.9")));
        assert_eq!(v.get("public_ip"), Some(&Value::from("54.0.0.1")));
        assert_eq!(v.get("connectivity_type"), Some(&Value::from("public")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn deleted_gateways_are_not_live() {
        let live = live(
            vec![
                nat(NatGatewayState::Deleted),
                nat(NatGatewayState::Deleting),
            ],
            &[],
        );
        assert!(live.is_empty());
    }

    #[test]
    fn waiting_fails_with_the_failure_message() {
        let failed = types::NatGateway::builder()
            .nat_gateway_id("nat-1")
            .state(NatGatewayState::Failed)
            .failure_code("Gateway.NotAttached")
            .failure_message("Network vpc-1 has no Internet gateway attached")
            .build();
        let err = availability(&failed).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Permanent);
        assert!(
            err.message.contains("has no Internet gateway attached"),
            "{}",
            err.message
        );
        assert!(availability(&nat(NatGatewayState::Pending))
            .unwrap()
            .is_none());
        assert!(availability(&nat(NatGatewayState::Available))
            .unwrap()
            .is_some());
    }
}
