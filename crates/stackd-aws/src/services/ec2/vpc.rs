//! `aws_vpc`: a virtual private cloud.
//!
//! Arguments as in the Terraform AWS provider: `cidr_block` (replaces),
//! `instance_tenancy` (replaces), `enable_dns_support`,
//! `enable_dns_hostnames`. The DNS attributes are not part of
//! `DescribeVpcs`: they are read with `DescribeVpcAttribute`, one attribute of
//! one VPC per call, and set with `ModifyVpcAttribute`, likewise one per call.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    self, AttributeBooleanValue, Filter, ResourceType, Tenancy, VpcAttributeName,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Timeouts};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::VPC;
use crate::args::{bool_or, opt_str, req_str, s};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, Findings};
use crate::refresh::{
    address_for, filter, find_by_token, find_owned, known_attrs, MAX_FILTER_VALUES,
};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `aws_vpc`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_vpc",
    schema,
    handler: &Vpc,
    grants: &[
        // Delete looks for the dependencies that block it.
        g(
            &[
                "ec2:DescribeRouteTables",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(
            &[
                "ec2:CreateTags",
                "ec2:CreateVpc",
                "ec2:DeleteTags",
                "ec2:DeleteVpc",
                "ec2:DescribeVpcAttribute",
                "ec2:ModifyVpcAttribute",
            ],
            &[VPC],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_vpc")
        .retired(
            "enable_classiclink",
            "remove it: EC2-Classic is retired (the provider removed it in 5.0)",
        )
        .retired(
            "enable_classiclink_dns_support",
            "remove it: EC2-Classic is retired (the provider removed it in 5.0)",
        )
        .doc("A VPC: an isolated IPv4 network.")
        .attr(
            AttrSchema::required("cidr_block", AttrType::String)
                .force_new()
                .check(Check::Ipv4Cidr)
                .doc("The IPv4 CIDR block of the VPC, e.g. 10.0.0.0/16."),
        )
        .attr(
            AttrSchema::optional("enable_dns_support", AttrType::Bool)
                .default(true)
                .doc("Whether the Amazon-provided DNS server resolves names in the VPC."),
        )
        .attr(
            AttrSchema::optional("enable_dns_hostnames", AttrType::Bool)
                .default(false)
                .doc("Whether instances get public DNS host names."),
        )
        .attr(
            AttrSchema::optional("instance_tenancy", AttrType::String)
                .default("default")
                .force_new()
                .check(Check::OneOf(vec!["default", "dedicated"]))
                .doc("Tenancy of instances launched into the VPC."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The VPC's ARN."))
        .attr(
            AttrSchema::computed("default_security_group_id", AttrType::String)
                .doc("The security group AWS created with the VPC."),
        )
        .attr(
            AttrSchema::computed("default_route_table_id", AttrType::String)
                .doc("The route table AWS created with the VPC (its main route table)."),
        )
        .attr(
            AttrSchema::computed("main_route_table_id", AttrType::String)
                .doc("The VPC's main route table."),
        )
        .attr(
            AttrSchema::computed("dhcp_options_id", AttrType::String)
                .doc("The DHCP options set in use."),
        )
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 20 * 60,
            update_secs: 10 * 60,
            delete_secs: 20 * 60,
        })
}

/// What `DescribeVpcs` does not say about a VPC.
#[derive(Clone, Debug, Default, PartialEq)]
struct VpcExtras {
    dns_support: bool,
    dns_hostnames: bool,
    main_route_table_id: Option<String>,
    default_security_group_id: Option<String>,
}

fn vpc_attrs(loc: &Location, vpc: &types::Vpc, extras: &VpcExtras) -> Value {
    let id = vpc.vpc_id().unwrap_or_default();
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(vpc.owner_id(), &format!("vpc/{id}"))),
        ),
        ("cidr_block", s(vpc.cidr_block())),
        ("enable_dns_support", Value::Bool(extras.dns_support)),
        ("enable_dns_hostnames", Value::Bool(extras.dns_hostnames)),
        (
            "instance_tenancy",
            s(Some(
                vpc.instance_tenancy()
                    .map(Tenancy::as_str)
                    .unwrap_or("default"),
            )),
        ),
        (
            "default_security_group_id",
            s(extras.default_security_group_id.as_deref()),
        ),
        (
            "default_route_table_id",
            s(extras.main_route_table_id.as_deref()),
        ),
        (
            "main_route_table_id",
            s(extras.main_route_table_id.as_deref()),
        ),
        ("dhcp_options_id", s(vpc.dhcp_options_id())),
        ("owner_id", s(vpc.owner_id())),
        ("tags_all", tags_value(vpc.tags())),
    ])
}

pub(crate) async fn describe_vpcs(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::Vpc>, ProviderError> {
    aws.ec2
        .describe_vpcs()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeVpcs")
}

async fn dns_attribute(aws: &Aws, id: &str, name: VpcAttributeName) -> Result<bool, ProviderError> {
    let out = aws
        .ec2
        .describe_vpc_attribute()
        .vpc_id(id)
        .attribute(name.clone())
        .send()
        .await
        .ec2("DescribeVpcAttribute")?;
    let value = match name {
        VpcAttributeName::EnableDnsHostnames => out.enable_dns_hostnames(),
        _ => out.enable_dns_support(),
    };
    Ok(value
        .and_then(AttributeBooleanValue::value)
        .unwrap_or(false))
}

/// The main route table and default security group of each VPC, one
/// filtered Describe each for all the VPCs.
async fn lookup_defaults(
    aws: &Aws,
    vpc_ids: &[String],
) -> Result<(HashMap<String, String>, HashMap<String, String>), ProviderError> {
    let mut main_tables = HashMap::new();
    let mut default_groups = HashMap::new();
    for chunk in vpc_ids.chunks(MAX_FILTER_VALUES) {
        // Independent reads: both at once.
        let (tables, groups) = tokio::try_join!(
            super::route_table::describe_route_tables(
                aws,
                vec![
                    filter("vpc-id", chunk.iter().cloned()),
                    filter("association.main", ["true"]),
                ],
            ),
            super::security_group::describe_security_groups(
                aws,
                vec![
                    filter("vpc-id", chunk.iter().cloned()),
                    filter("group-name", ["default"]),
                ],
            ),
        )?;
        for t in tables {
            if let (Some(vpc), Some(id)) = (t.vpc_id(), t.route_table_id()) {
                main_tables.insert(vpc.to_string(), id.to_string());
            }
        }
        for g in groups {
            if let (Some(vpc), Some(id)) = (g.vpc_id(), g.group_id()) {
                default_groups.insert(vpc.to_string(), id.to_string());
            }
        }
    }
    Ok((main_tables, default_groups))
}

fn recorded(attrs: Option<&Value>, key: &str) -> Option<String> {
    attrs.and_then(|a| opt_str(a, key)).map(str::to_string)
}

/// Live attributes of `vpcs`.
///
/// The main route table and the default security group never change in a
/// VPC's life here (stackd has no `aws_main_route_table_association`), so the
/// IDs recorded in state are reused and only VPCs without them (new or
/// adopted ones) are looked up. The DNS attributes are the one per-resource
/// read of this provider: EC2 has no batch form of `DescribeVpcAttribute`,
/// so each VPC costs two calls (a stack rarely has more than one VPC).
/// What `DescribeVpcs` does not say of each of `ids`: the DNS attributes
/// (two reads per VPC) and, where the state has not recorded them, the main
/// route table and default security group. The reads run at once. A VPC
/// deleted (or not visible yet) between the reads is left out.
async fn extras(
    aws: &Aws,
    ids: &[String],
    known: &[KnownResource],
) -> Result<HashMap<String, VpcExtras>, ProviderError> {
    let unresolved: Vec<String> = ids
        .iter()
        .filter(|id| {
            let attrs = known_attrs(id, known);
            recorded(attrs, "main_route_table_id").is_none()
                || recorded(attrs, "default_security_group_id").is_none()
        })
        .cloned()
        .collect();
    let defaults = async {
        if unresolved.is_empty() {
            Ok(Default::default())
        } else {
            lookup_defaults(aws, &unresolved).await
        }
    };
    let dns = async {
        let mut out = Vec::new();
        for id in ids {
            let pair = tokio::try_join!(
                dns_attribute(aws, id, VpcAttributeName::EnableDnsSupport),
                dns_attribute(aws, id, VpcAttributeName::EnableDnsHostnames),
            );
            match pair {
                Ok(v) => out.push((id, v)),
                Err(e) if e.kind == stackd_engine::provider::ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    };
    let ((main_tables, default_groups), dns) = tokio::try_join!(defaults, dns)?;
    Ok(dns
        .into_iter()
        .map(|(id, (dns_support, dns_hostnames))| {
            let attrs = known_attrs(id, known);
            let extras = VpcExtras {
                dns_support,
                dns_hostnames,
                main_route_table_id: main_tables
                    .get(id)
                    .cloned()
                    .or_else(|| recorded(attrs, "main_route_table_id")),
                default_security_group_id: default_groups
                    .get(id)
                    .cloned()
                    .or_else(|| recorded(attrs, "default_security_group_id")),
            };
            (id.clone(), extras)
        })
        .collect())
}

fn live_with(
    loc: &Location,
    vpcs: Vec<types::Vpc>,
    mut extras: HashMap<String, VpcExtras>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    vpcs.into_iter()
        .filter_map(|vpc| {
            let id = vpc.vpc_id()?.to_string();
            let extras = extras.remove(&id)?;
            Some(LiveResource {
                address: address_for(&id, vpc.tags(), known),
                attrs: vpc_attrs(loc, &vpc, &extras),
                id,
            })
        })
        .collect()
}

async fn live(
    aws: &Aws,
    vpcs: Vec<types::Vpc>,
    known: &[KnownResource],
) -> Result<Vec<LiveResource>, ProviderError> {
    let ids: Vec<String> = vpcs
        .iter()
        .filter_map(types::Vpc::vpc_id)
        .map(str::to_string)
        .collect();
    let extras = extras(aws, &ids, known).await?;
    Ok(live_with(&aws.loc, vpcs, extras, known))
}

/// Reads one VPC; `None` when it does not exist (yet) or is not available.
/// Its ID is known, so every read goes out at once.
async fn read(
    aws: &Aws,
    id: &str,
    known: &[KnownResource],
) -> Result<Option<Value>, ProviderError> {
    let ids = [id.to_string()];
    let (vpcs, extras) = tokio::try_join!(
        describe_vpcs(aws, vec![filter("vpc-id", [id])]),
        extras(aws, &ids, known),
    )?;
    if vpcs
        .iter()
        .any(|v| v.state() != Some(&types::VpcState::Available))
    {
        return Ok(None);
    }
    Ok(live_with(&aws.loc, vpcs, extras, known)
        .into_iter()
        .next()
        .map(|l| l.attrs))
}

fn as_known(req: &ChangeRequest, id: &str) -> Vec<KnownResource> {
    vec![KnownResource {
        address: req.address.clone(),
        id: id.to_string(),
        attrs: req.prior.clone().unwrap_or(Value::Null),
    }]
}

async fn set_dns_attribute(
    aws: &Aws,
    id: &str,
    name: VpcAttributeName,
    value: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let v = AttributeBooleanValue::builder().value(value).build();
    retry(deadline, || async {
        let call = aws.ec2.modify_vpc_attribute().vpc_id(id);
        let call = match name {
            VpcAttributeName::EnableDnsHostnames => call.enable_dns_hostnames(v.clone()),
            _ => call.enable_dns_support(v.clone()),
        };
        call.send().await.ec2("ModifyVpcAttribute")
    })
    .await
    .map(|_| ())
}

/// The arguments `CreateVpc` sends.
const CREATE_ARGS: &[&str] = &["cidr_block", "instance_tenancy", "tags_all"];

/// `CreateVpc` for the spec (the create and its dry run send the same).
fn create_call(
    aws: &Aws,
    d: &Value,
    create_token: Option<&str>,
) -> Result<aws_sdk_ec2::operation::create_vpc::builders::CreateVpcFluentBuilder, ProviderError> {
    Ok(aws
        .ec2
        .create_vpc()
        .cidr_block(req_str(d, "cidr_block", "CreateVpc")?)
        .instance_tenancy(Tenancy::from(
            opt_str(d, "instance_tenancy").unwrap_or("default"),
        ))
        .set_tag_specifications(
            tag_specification(ResourceType::Vpc, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct Vpc;

#[async_trait]
impl ResourceHandler for Vpc {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let vpcs = find_owned(req, "vpc-id", types::Vpc::vpc_id, |f| describe_vpcs(aws, f)).await?;
        live(aws, vpcs, &req.known).await
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let Some(vpc) = find_by_token(req, |f| describe_vpcs(aws, f)).await? else {
            return Ok(None);
        };
        Ok(live(aws, vec![vpc], &[]).await?.pop().map(|l| l.attrs))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let out = create_call(aws, d, Some(&req.idempotency_token))?
            .send()
            .await
            .ec2("CreateVpc")?;
        let id = out
            .vpc()
            .and_then(types::Vpc::vpc_id)
            .ok_or_else(|| invalid("CreateVpc", "the answer carries no VPC ID"))?
            .to_string();
        // The answer says whether the VPC is available already; only a
        // pending one is waited for before its attributes are set.
        let available = out.vpc().and_then(types::Vpc::state) == Some(&types::VpcState::Available);
        async {
            // AWS's defaults are support on, host names off.
            let no_support = !bool_or(d, "enable_dns_support", true);
            let hostnames = bool_or(d, "enable_dns_hostnames", false);
            // A pending VPC is waited for before its attributes are set;
            // an available one no call touches is waited for until other
            // calls see it, before it is reported usable.
            if !available || !(no_support || hostnames) {
                let what = if available { "visible" } else { "available" };
                until(
                    &deadline,
                    "DescribeVpcs",
                    &format!("{id} to be {what}"),
                    || async {
                        let vpcs =
                            describe_vpcs(aws, vec![filter("vpc-id", [id.as_str()])]).await?;
                        Ok(vpcs
                            .iter()
                            .any(|v| available || v.state() == Some(&types::VpcState::Available))
                            .then_some(()))
                    },
                )
                .await?;
            }
            if no_support {
                set_dns_attribute(
                    aws,
                    &id,
                    VpcAttributeName::EnableDnsSupport,
                    false,
                    &deadline,
                )
                .await?;
            }
            if hostnames {
                set_dns_attribute(
                    aws,
                    &id,
                    VpcAttributeName::EnableDnsHostnames,
                    true,
                    &deadline,
                )
                .await?;
            }
            // Usable now, seen by other calls and its DNS settings made (an
            // interface endpoint with private DNS needs them); the
            // read-back is for state.
            if let Some(vpc) = out.vpc() {
                stackd_engine::provider::usable(
                    Value::map([
                        ("id", Value::from(id.as_str())),
                        (
                            "arn",
                            Value::from(aws.loc.ec2_arn(vpc.owner_id(), &format!("vpc/{id}"))),
                        ),
                        ("owner_id", Value::from(vpc.owner_id())),
                    ]),
                    &[],
                );
            }
            let known = as_known(req, &id);
            until(
                &deadline,
                "DescribeVpcs",
                &format!("{id} to be readable"),
                || read(aws, &id, &known),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// `CreateVpc` with `DryRun=true`, once its arguments are known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateVpc");
            findings.dry_run("ec2:CreateVpc", answer, |out| {
                out.vpc().and_then(types::Vpc::vpc_id).map(str::to_string)
            })?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("ModifyVpcAttribute", "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        for (key, name, default) in [
            (
                "enable_dns_support",
                VpcAttributeName::EnableDnsSupport,
                true,
            ),
            (
                "enable_dns_hostnames",
                VpcAttributeName::EnableDnsHostnames,
                false,
            ),
        ] {
            let want = bool_or(d, key, default);
            if prior.get(key).and_then(Value::as_bool) != Some(want) {
                set_dns_attribute(aws, id, name, want, &deadline).await?;
            }
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        read(aws, id, &as_known(req, id))
            .await?
            .ok_or_else(|| gone("DescribeVpcs", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        // DependencyViolation (subnets, gateways still going away) is
        // transient; the engine retries.
        ignore_not_found(
            aws.ec2
                .delete_vpc()
                .vpc_id(&req.id)
                .send()
                .await
                .ec2("DeleteVpc")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::preflight::fake;
    use stackd_engine::provider::CheckedChange;

    fn request(cidr: Value, change: CheckedChange) -> CheckRequest {
        CheckRequest {
            address: "aws_vpc.main".parse().unwrap(),
            type_name: "aws_vpc".into(),
            owner: stackd_engine::provider::Owner::new("prod", "prod"),
            change,
            desired: Some(Value::map([
                ("cidr_block", cidr),
                ("instance_tenancy", Value::from("default")),
                ("tags_all", Value::map([("Name", Value::from("main"))])),
            ])),
            prior: None,
            id: None,
            planned: Default::default(),
        }
    }

    #[tokio::test]
    async fn a_vpc_that_would_be_created_finds_nothing() {
        let (aws, requests) = fake::aws(|_| {
            (
                412,
                fake::ec2_error(
                    "DryRunOperation",
                    "Request would have succeeded, but DryRun flag is set.",
                ),
            )
        });
        let req = request(Value::from("10.0.0.0/16"), CheckedChange::Create);
        assert!(Vpc.check(&aws, &req).await.unwrap().is_empty());
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("Action=CreateVpc"), "{}", sent[0]);
        assert!(sent[0].contains("DryRun=true"), "{}", sent[0]);
    }

    #[tokio::test]
    async fn unknown_arguments_updates_and_deletes_send_nothing() {
        let (aws, requests) = fake::aws(|_| (500, String::new()));
        for req in [
            request(Value::Unknown, CheckedChange::Create),
            request(Value::from("10.0.0.0/16"), CheckedChange::Update),
            request(Value::from("10.0.0.0/16"), CheckedChange::Delete),
        ] {
            assert!(Vpc.check(&aws, &req).await.unwrap().is_empty());
        }
        assert!(fake::sent(&requests).is_empty());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_vpc() -> types::Vpc {
        types::Vpc::builder()
            .vpc_id("vpc-0abc")
            .cidr_block("10.0.0.0/16")
            .owner_id("123456789012")
            .instance_tenancy(Tenancy::Default)
            .dhcp_options_id("dopt-1")
            .state(types::VpcState::Available)
            .tags(types::Tag::builder().key("Name").value("main").build())
            .tags(
                types::Tag::builder()
                    .key("stackd:stack")
                    .value("prod")
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_vpc_is_in_schema_shape() {
        let extras = VpcExtras {
            dns_support: true,
            dns_hostnames: false,
            main_route_table_id: Some("rtb-1".into()),
            default_security_group_id: Some("sg-1".into()),
        };
        let v = vpc_attrs(&Location::new("eu-west-1"), &sample_vpc(), &extras);
        assert_eq!(v.get("id"), Some(&Value::from("vpc-0abc")));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0abc"
            ))
        );
        assert_eq!(v.get("enable_dns_support"), Some(&Value::Bool(true)));
        assert_eq!(v.get("enable_dns_hostnames"), Some(&Value::Bool(false)));
        assert_eq!(v.get("instance_tenancy"), Some(&Value::from("default")));
        assert_eq!(v.get("default_route_table_id"), Some(&Value::from("rtb-1")));
        assert_eq!(v.get("main_route_table_id"), Some(&Value::from("rtb-1")));
        assert_eq!(
            v.get("default_security_group_id"),
            Some(&Value::from("sg-1"))
        );
        assert_eq!(
            v.get("tags_all"),
            Some(&Value::map([
                ("Name", Value::from("main")),
                ("stackd:stack", Value::from("prod"))
            ]))
        );
        assert_eq!(v.get("tags"), None, "the engine sets tags");
    }

    #[test]
    fn every_schema_attribute_but_tags_is_read() {
        let v = vpc_attrs(
            &Location::new("us-east-1"),
            &sample_vpc(),
            &VpcExtras::default(),
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
