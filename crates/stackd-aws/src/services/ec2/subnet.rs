//! `aws_subnet`: an IPv4 subnet of a VPC in one availability zone.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, AttributeBooleanValue, Filter, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{SUBNET, VPC};
use crate::args::{bool_or, opt_str, req_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `aws_subnet`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_subnet",
    schema,
    handler: &Subnet,
    grants: &[
        g(&["ec2:DescribeSubnets", "ec2:DescribeVpcs"], ANY),
        g(&["ec2:CreateSubnet"], &[SUBNET, VPC]),
        g(
            &[
                "ec2:CreateTags",
                "ec2:DeleteSubnet",
                "ec2:DeleteTags",
                "ec2:ModifySubnetAttribute",
            ],
            &[SUBNET],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_subnet")
        .doc("A subnet of a VPC.")
        .attr(
            AttrSchema::required("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC the subnet belongs to."),
        )
        .attr(
            AttrSchema::required("cidr_block", AttrType::String)
                .force_new()
                .check(Check::Ipv4Cidr)
                .doc("The IPv4 CIDR block, within the VPC's."),
        )
        .attr(
            AttrSchema::optional_computed("availability_zone", AttrType::String)
                .force_new()
                .doc("The availability zone name; AWS picks one when unset."),
        )
        .attr(
            AttrSchema::optional_computed("availability_zone_id", AttrType::String)
                .force_new()
                .doc("The availability zone ID (e.g. use1-az1), instead of its name."),
        )
        .attr(
            AttrSchema::optional("map_public_ip_on_launch", AttrType::Bool)
                .default(false)
                .doc("Whether instances launched here get a public IPv4 address."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The subnet's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 20 * 60,
        })
}

fn subnet_attrs(loc: &Location, subnet: &types::Subnet) -> Value {
    let id = subnet.subnet_id().unwrap_or_default();
    let arn = subnet
        .subnet_arn()
        .map(str::to_string)
        .or_else(|| loc.ec2_arn(subnet.owner_id(), &format!("subnet/{id}")));
    Value::map([
        ("id", s(Some(id))),
        ("arn", Value::from(arn)),
        ("vpc_id", s(subnet.vpc_id())),
        ("cidr_block", s(subnet.cidr_block())),
        ("availability_zone", s(subnet.availability_zone())),
        ("availability_zone_id", s(subnet.availability_zone_id())),
        (
            "map_public_ip_on_launch",
            Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
        ),
        ("owner_id", s(subnet.owner_id())),
        ("tags_all", tags_value(subnet.tags())),
    ])
}

pub(crate) async fn describe_subnets(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::Subnet>, ProviderError> {
    aws.ec2
        .describe_subnets()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeSubnets")
}

fn live(loc: &Location, subnets: Vec<types::Subnet>, known: &[KnownResource]) -> Vec<LiveResource> {
    subnets
        .into_iter()
        .filter_map(|subnet| {
            let id = subnet.subnet_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, subnet.tags(), known),
                attrs: subnet_attrs(loc, &subnet),
                id,
            })
        })
        .collect()
}

/// Reads one subnet once it is available.
async fn read(aws: &Aws, id: &str) -> Result<Option<Value>, ProviderError> {
    let subnets = describe_subnets(aws, vec![filter("subnet-id", [id])]).await?;
    Ok(subnets
        .iter()
        .find(|s| s.state() == Some(&types::SubnetState::Available))
        .map(|s| subnet_attrs(&aws.loc, s)))
}

async fn set_map_public_ip(
    aws: &Aws,
    id: &str,
    value: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        aws.ec2
            .modify_subnet_attribute()
            .subnet_id(id)
            .map_public_ip_on_launch(AttributeBooleanValue::builder().value(value).build())
            .send()
            .await
            .ec2("ModifySubnetAttribute")
    })
    .await
    .map(|_| ())
}

/// The arguments `CreateSubnet` sends.
const CREATE_ARGS: &[&str] = &[
    "vpc_id",
    "cidr_block",
    "availability_zone",
    "availability_zone_id",
    "tags_all",
];

/// `CreateSubnet` for the spec (the create and its dry run send the same).
fn create_call(
    aws: &Aws,
    d: &Value,
    create_token: Option<&str>,
) -> Result<aws_sdk_ec2::operation::create_subnet::builders::CreateSubnetFluentBuilder, ProviderError>
{
    Ok(aws
        .ec2
        .create_subnet()
        .vpc_id(req_str(d, "vpc_id", "CreateSubnet")?)
        .cidr_block(req_str(d, "cidr_block", "CreateSubnet")?)
        .set_availability_zone(opt_str(d, "availability_zone").map(str::to_string))
        .set_availability_zone_id(opt_str(d, "availability_zone_id").map(str::to_string))
        .set_tag_specifications(
            tag_specification(ResourceType::Subnet, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct Subnet;

#[async_trait]
impl ResourceHandler for Subnet {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let subnets = find_owned(req, "subnet-id", types::Subnet::subnet_id, |f| {
            describe_subnets(aws, f)
        })
        .await?;
        Ok(live(&aws.loc, subnets, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_subnets(aws, f)).await?;
        Ok(found.and_then(|s| live(&aws.loc, vec![s], &[]).pop().map(|l| l.attrs)))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let call = create_call(aws, d, Some(&req.idempotency_token))?;
        // A VPC created a moment ago may not be visible yet.
        let out = retry(&deadline, || async {
            call.clone().send().await.ec2("CreateSubnet")
        })
        .await?;
        let id = out
            .subnet()
            .and_then(types::Subnet::subnet_id)
            .ok_or_else(|| invalid("CreateSubnet", "the answer carries no subnet ID"))?
            .to_string();
        async {
            until(
                &deadline,
                "DescribeSubnets",
                &format!("{id} to be available"),
                || read(aws, &id),
            )
            .await?;
            if bool_or(d, "map_public_ip_on_launch", false) {
                set_map_public_ip(aws, &id, true, &deadline).await?;
            }
            until(
                &deadline,
                "DescribeSubnets",
                &format!("{id} to be readable"),
                || read(aws, &id),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC is looked up; `CreateSubnet` is sent with `DryRun=true` once
    /// its arguments are known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateSubnet");
            findings.dry_run("ec2:CreateSubnet", answer, |out| {
                out.subnet()
                    .and_then(types::Subnet::subnet_id)
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
            .ok_or_else(|| invalid("ModifySubnetAttribute", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let want = bool_or(&req.desired, "map_public_ip_on_launch", false);
        if prior
            .get("map_public_ip_on_launch")
            .and_then(Value::as_bool)
            != Some(want)
        {
            set_map_public_ip(aws, id, want, &deadline).await?;
        }
        reconcile(aws, id, &prior, &req.desired, &deadline).await?;
        read(aws, id)
            .await?
            .ok_or_else(|| gone("DescribeSubnets", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        // DependencyViolation (ENIs of a NAT gateway or load balancer still
        // being removed) is transient; the engine retries.
        ignore_not_found(
            aws.ec2
                .delete_subnet()
                .subnet_id(&req.id)
                .send()
                .await
                .ec2("DeleteSubnet")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_subnet_is_in_schema_shape() {
        let subnet = types::Subnet::builder()
            .subnet_id("subnet-1")
            .vpc_id("vpc-1")
            .cidr_block("10.0.1.0/24")
            .availability_zone("eu-west-1a")
            .availability_zone_id("euw1-az1")
            .map_public_ip_on_launch(true)
            .owner_id("123456789012")
            .subnet_arn("arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1")
            .build();
        let v = subnet_attrs(&Location::new("eu-west-1"), &subnet);
        assert_eq!(v.get("map_public_ip_on_launch"), Some(&Value::Bool(true)));
        assert_eq!(v.get("availability_zone"), Some(&Value::from("eu-west-1a")));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-1"
            ))
        );
        assert_eq!(v.get("tags_all"), Some(&Value::Map(Default::default())));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn the_arn_is_built_when_ec2_omits_it() {
        let subnet = types::Subnet::builder()
            .subnet_id("subnet-1")
            .owner_id("1")
            .build();
        let v = subnet_attrs(&Location::new("us-east-1"), &subnet);
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:ec2:us-east-1:1:subnet/subnet-1"))
        );
        assert_eq!(v.get("map_public_ip_on_launch"), Some(&Value::Bool(false)));
    }
}
