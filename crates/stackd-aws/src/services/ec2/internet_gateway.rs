//! `aws_internet_gateway`: a VPC's route to the internet. Attached to
//! `vpc_id` when set; changing `vpc_id` detaches and re-attaches in place.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, AttachmentStatus, Filter, ResourceType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{INTERNET_GATEWAY, VPC};
use crate::args::{opt_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `aws_internet_gateway`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_internet_gateway",
    schema,
    handler: &InternetGateway,
    grants: &[
        g(&["ec2:DescribeInternetGateways", "ec2:DescribeVpcs"], ANY),
        g(
            &["ec2:AttachInternetGateway", "ec2:DetachInternetGateway"],
            &[INTERNET_GATEWAY, VPC],
        ),
        g(
            &[
                "ec2:CreateInternetGateway",
                "ec2:CreateTags",
                "ec2:DeleteInternetGateway",
                "ec2:DeleteTags",
            ],
            &[INTERNET_GATEWAY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_internet_gateway")
        .doc("An internet gateway, optionally attached to a VPC.")
        .attr(
            AttrSchema::optional("vpc_id", AttrType::String)
                .doc("The VPC to attach to; changing it detaches and re-attaches the gateway."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The gateway's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 20 * 60,
            update_secs: 20 * 60,
            delete_secs: 20 * 60,
        })
}

/// The VPC a gateway is attached to or being attached to. EC2 reports an
/// attached internet gateway as `available`, a state the SDK's enum lacks.
fn attached_vpc(igw: &types::InternetGateway) -> Option<&str> {
    igw.attachments()
        .iter()
        .find(|a| {
            !matches!(
                a.state(),
                Some(AttachmentStatus::Detached | AttachmentStatus::Detaching)
            )
        })
        .and_then(|a| a.vpc_id())
}

fn igw_attrs(loc: &Location, igw: &types::InternetGateway) -> Value {
    let id = igw.internet_gateway_id().unwrap_or_default();
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(igw.owner_id(), &format!("internet-gateway/{id}"))),
        ),
        ("vpc_id", s(attached_vpc(igw))),
        ("owner_id", s(igw.owner_id())),
        ("tags_all", tags_value(igw.tags())),
    ])
}

async fn describe_igws(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::InternetGateway>, ProviderError> {
    aws.ec2
        .describe_internet_gateways()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeInternetGateways")
}

fn live(
    loc: &Location,
    igws: Vec<types::InternetGateway>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    igws.into_iter()
        .filter_map(|igw| {
            let id = igw.internet_gateway_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, igw.tags(), known),
                attrs: igw_attrs(loc, &igw),
                id,
            })
        })
        .collect()
}

async fn read(aws: &Aws, id: &str) -> Result<Option<Value>, ProviderError> {
    let igws = describe_igws(aws, vec![filter("internet-gateway-id", [id])]).await?;
    Ok(igws.first().map(|igw| igw_attrs(&aws.loc, igw)))
}

async fn attach(aws: &Aws, id: &str, vpc: &str, deadline: &Deadline) -> Result<(), ProviderError> {
    // Both the gateway and the VPC may be too new to be visible yet.
    let attached = retry(deadline, || async {
        aws.ec2
            .attach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send()
            .await
            .ec2("AttachInternetGateway")
    })
    .await;
    match attached {
        Ok(_) => {}
        // Attached already: to this VPC (an attempt whose answer was lost)
        // it is done; to another, the error stands.
        Err(e) if has_code(&e, "Resource.AlreadyAssociated") => {
            let igws = describe_igws(aws, vec![filter("internet-gateway-id", [id])]).await?;
            if !igws.iter().any(|g| attached_vpc(g) == Some(vpc)) {
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    until(
        deadline,
        "DescribeInternetGateways",
        &format!("{id} to attach to {vpc}"),
        || async {
            let igws = describe_igws(aws, vec![filter("internet-gateway-id", [id])]).await?;
            Ok(igws
                .iter()
                .any(|g| attached_vpc(g) == Some(vpc))
                .then_some(()))
        },
    )
    .await
}

/// Detaches; a gateway that is no longer attached (or gone) is fine.
/// `DependencyViolation` (public IPs still mapped in the VPC) is transient:
/// retried here until the deadline, then left to the engine.
async fn detach(aws: &Aws, id: &str, vpc: &str, deadline: &Deadline) -> Result<(), ProviderError> {
    let result = retry(deadline, || async {
        aws.ec2
            .detach_internet_gateway()
            .internet_gateway_id(id)
            .vpc_id(vpc)
            .send()
            .await
            .ec2("DetachInternetGateway")
    })
    .await;
    match result {
        Err(e) if has_code(&e, "Gateway.NotAttached") => Ok(()),
        other => ignore_not_found(other.map(|_| ())),
    }
}

pub(crate) struct InternetGateway;

/// `CreateInternetGateway` for the spec (the create and its dry run send
/// the same).
fn create_call(
    aws: &Aws,
    d: &Value,
    create_token: Option<&str>,
) -> aws_sdk_ec2::operation::create_internet_gateway::builders::CreateInternetGatewayFluentBuilder {
    aws.ec2.create_internet_gateway().set_tag_specifications(
        tag_specification(ResourceType::InternetGateway, d, create_token).map(|t| vec![t]),
    )
}

#[async_trait]
impl ResourceHandler for InternetGateway {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let igws = find_owned(
            req,
            "internet-gateway-id",
            types::InternetGateway::internet_gateway_id,
            |f| describe_igws(aws, f),
        )
        .await?;
        Ok(live(&aws.loc, igws, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_igws(aws, f)).await?;
        Ok(found.and_then(|g| live(&aws.loc, vec![g], &[]).pop().map(|l| l.attrs)))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let out = create_call(aws, d, Some(&req.idempotency_token))
            .send()
            .await
            .ec2("CreateInternetGateway")?;
        let id = out
            .internet_gateway()
            .and_then(types::InternetGateway::internet_gateway_id)
            .ok_or_else(|| invalid("CreateInternetGateway", "the answer carries no gateway ID"))?
            .to_string();
        async {
            if let Some(vpc) = opt_str(d, "vpc_id") {
                attach(aws, &id, vpc, &deadline).await?;
            }
            until(
                &deadline,
                "DescribeInternetGateways",
                &format!("{id} to be readable"),
                || read(aws, &id),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC is looked up; `CreateInternetGateway` is sent with
    /// `DryRun=true` once the tags are known. The attachment needs the
    /// gateway's ID and is not tried.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        if all_known(d, &["tags_all"]) {
            let answer = create_call(aws, d, None)
                .dry_run(true)
                .send()
                .await
                .ec2("CreateInternetGateway");
            findings.dry_run("ec2:CreateInternetGateway", answer, |out| {
                out.internet_gateway()
                    .and_then(types::InternetGateway::internet_gateway_id)
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
            .ok_or_else(|| invalid("AttachInternetGateway", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let old_vpc = opt_str(&prior, "vpc_id");
        let new_vpc = opt_str(&req.desired, "vpc_id");
        if old_vpc != new_vpc {
            if let Some(vpc) = old_vpc {
                detach(aws, id, vpc, &deadline).await?;
            }
            if let Some(vpc) = new_vpc {
                attach(aws, id, vpc, &deadline).await?;
            }
        }
        reconcile(aws, id, &prior, &req.desired, &deadline).await?;
        read(aws, id)
            .await?
            .ok_or_else(|| gone("DescribeInternetGateways", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // Detach from whatever VPC it is attached to now, not only the
        // recorded one.
        let igws =
            describe_igws(aws, vec![filter("internet-gateway-id", [req.id.as_str()])]).await?;
        let Some(igw) = igws.first() else {
            return Ok(());
        };
        for vpc in igw.attachments().iter().filter_map(|a| a.vpc_id()) {
            detach(aws, &req.id, vpc, &deadline).await?;
        }
        ignore_not_found(
            retry(&deadline, || async {
                aws.ec2
                    .delete_internet_gateway()
                    .internet_gateway_id(&req.id)
                    .send()
                    .await
                    .ec2("DeleteInternetGateway")
            })
            .await
            .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn igw(state: AttachmentStatus) -> types::InternetGateway {
        types::InternetGateway::builder()
            .internet_gateway_id("igw-1")
            .owner_id("123456789012")
            .attachments(
                types::InternetGatewayAttachment::builder()
                    .vpc_id("vpc-1")
                    .state(state)
                    .build(),
            )
            .build()
    }

    #[test]
    fn attached_gateway_reads_its_vpc() {
        let v = igw_attrs(
            &Location::new("us-east-1"),
            &igw(AttachmentStatus::from("available")),
        );
        assert_eq!(v.get("vpc_id"), Some(&Value::from("vpc-1")));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:us-east-1:123456789012:internet-gateway/igw-1"
            ))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn detached_gateway_has_no_vpc() {
        let v = igw_attrs(
            &Location::new("us-east-1"),
            &igw(AttachmentStatus::Detached),
        );
        assert_eq!(v.get("vpc_id"), Some(&Value::Null));
        let v = igw_attrs(
            &Location::new("us-east-1"),
            &igw(AttachmentStatus::Detaching),
        );
        assert_eq!(v.get("vpc_id"), Some(&Value::Null));
    }
}
