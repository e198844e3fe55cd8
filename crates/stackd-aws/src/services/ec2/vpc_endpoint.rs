//! `aws_vpc_endpoint`: a Gateway or Interface VPC endpoint.
//!
//! `route_table_ids`, `subnet_ids` and `security_group_ids` are optional and
//! computed, as in the Terraform provider: left out of the spec they are not
//! managed (so `aws_vpc_endpoint_route_table_association` can add tables);
//! written, they are kept exactly with `ModifyVpcEndpoint`. `policy` is
//! optional and computed too (AWS gives a Gateway endpoint a full-access
//! policy); removing it from a spec that had one resets the policy.
//! `private_dns_enabled` changes in place on an Interface endpoint and
//! forces a replacement on any other type (the provider's CustomizeDiff;
//! here the update refuses it with a clear error).
//!
//! Refresh is one `DescribeVpcEndpoints` chain (ownership tag, then known
//! IDs by filter), plus, when some endpoint's service has an AWS prefix
//! list (S3, DynamoDB), one `DescribePrefixLists` for all their service
//! names, which gives `prefix_list_id` and `cidr_blocks`.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Filter, ResourceType, VpcEndpointType};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{ROUTE_TABLE, SECURITY_GROUP, SUBNET, VPC, VPC_ENDPOINT, VPC_ENDPOINT_SERVICE};
use crate::args::{client_token, opt_str, req_str, s, set_or_null, str_list};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::iam_util::decode_policy;
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, known_list, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// `aws_vpc_endpoint`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_vpc_endpoint",
    schema,
    handler: &VpcEndpoint,
    grants: &[
        g(
            &[
                "ec2:DescribePrefixLists",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcEndpointServices",
                "ec2:DescribeVpcEndpoints",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(
            &["ec2:AcceptVpcEndpointConnections"],
            &[VPC_ENDPOINT_SERVICE, VPC_ENDPOINT],
        ),
        g(
            &["ec2:CreateVpcEndpoint", "ec2:ModifyVpcEndpoint"],
            &[VPC_ENDPOINT, VPC, ROUTE_TABLE, SUBNET, SECURITY_GROUP],
        ),
        g(
            &["ec2:CreateTags", "ec2:DeleteTags", "ec2:DeleteVpcEndpoints"],
            &[VPC_ENDPOINT],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let dns_entry = BlockSchema::new("dns_entry", Nesting::List)
        .computed_when_absent()
        .attr(AttrSchema::computed("dns_name", AttrType::String))
        .attr(AttrSchema::computed("hosted_zone_id", AttrType::String));
    ResourceSchema::resource("aws_vpc_endpoint")
        .doc("A VPC endpoint (Gateway or Interface).")
        .attr(
            AttrSchema::required("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC."),
        )
        .attr(
            AttrSchema::required("service_name", AttrType::String)
                .force_new()
                .doc("The service, `com.amazonaws.<region>.<service>`."),
        )
        .attr(
            AttrSchema::optional("vpc_endpoint_type", AttrType::String)
                .default("Gateway")
                .force_new()
                .doc("`Gateway`, `Interface` or `GatewayLoadBalancer`."),
        )
        .attr(
            AttrSchema::optional_computed("route_table_ids", AttrType::set_of(AttrType::String))
                .doc("Route tables of a Gateway endpoint."),
        )
        .attr(
            AttrSchema::optional_computed("subnet_ids", AttrType::set_of(AttrType::String))
                .doc("Subnets of an Interface endpoint's network interfaces."),
        )
        .attr(
            AttrSchema::optional_computed(
                "security_group_ids",
                AttrType::set_of(AttrType::String),
            )
            .doc("Security groups of an Interface endpoint's network interfaces."),
        )
        .attr(
            AttrSchema::optional_computed("private_dns_enabled", AttrType::Bool)
                .doc("Associate a private hosted zone with the VPC (Interface endpoints)."),
        )
        .attr(
            AttrSchema::optional_computed("policy", AttrType::Json)
                .doc("The endpoint policy; AWS's full-access policy when unset."),
        )
        .attr(
            AttrSchema::optional("auto_accept", AttrType::Bool)
                .doc("Accept the endpoint (same-account services accept it themselves)."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The endpoint's ARN."))
        .attr(
            AttrSchema::computed("state", AttrType::String)
                .doc("`available`, `pendingAcceptance`..."),
        )
        .attr(
            AttrSchema::computed("prefix_list_id", AttrType::String)
                .doc("The AWS prefix list of a Gateway endpoint's service."),
        )
        .attr(
            AttrSchema::computed("cidr_blocks", AttrType::list_of(AttrType::String))
                .doc("The CIDR blocks of that prefix list."),
        )
        .attr(
            AttrSchema::computed(
                "network_interface_ids",
                AttrType::set_of(AttrType::String),
            )
            .doc("An Interface endpoint's network interfaces."),
        )
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .attr(
            AttrSchema::computed("requester_managed", AttrType::Bool)
                .doc("Whether an AWS service manages the endpoint."),
        )
        .block(dns_entry)
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 10 * 60,
        })
}

pub(crate) async fn describe_vpc_endpoints(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::VpcEndpoint>, ProviderError> {
    aws.ec2
        .describe_vpc_endpoints()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeVpcEndpoints")
}

/// One endpoint by ID; a deleted one counts as gone.
pub(crate) async fn describe_one(
    aws: &Aws,
    id: &str,
) -> Result<Option<types::VpcEndpoint>, ProviderError> {
    Ok(
        describe_vpc_endpoints(aws, vec![filter("vpc-endpoint-id", [id])])
            .await?
            .into_iter()
            .find(is_current),
    )
}

/// A deleted endpoint is still listed for a while.
pub(crate) fn is_current(e: &types::VpcEndpoint) -> bool {
    !matches!(
        e.state().map(|s| s.as_str().to_ascii_lowercase()).as_deref(),
        Some("deleted" | "deleting" | "rejected" | "failed")
    )
}

/// A prefix list of an AWS service: its ID and CIDR blocks.
type PrefixLists = BTreeMap<String, (String, Vec<String>)>;

/// The prefix lists of the endpoints' services (S3 and DynamoDB have one),
/// with one `DescribePrefixLists`; nothing when no endpoint is given.
async fn prefix_lists(
    aws: &Aws,
    endpoints: &[types::VpcEndpoint],
) -> Result<PrefixLists, ProviderError> {
    let mut names: Vec<String> = endpoints
        .iter()
        .filter_map(|e| e.service_name())
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(PrefixLists::new());
    }
    let lists = aws
        .ec2
        .describe_prefix_lists()
        .filters(filter("prefix-list-name", names))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribePrefixLists")?;
    Ok(lists
        .into_iter()
        .filter_map(|p| {
            Some((
                p.prefix_list_name()?.to_string(),
                (p.prefix_list_id()?.to_string(), p.cidrs().to_vec()),
            ))
        })
        .collect())
}

fn endpoint_attrs(loc: &Location, e: &types::VpcEndpoint, lists: &PrefixLists) -> Value {
    let id = e.vpc_endpoint_id().unwrap_or_default();
    let list = e.service_name().and_then(|n| lists.get(n));
    let groups: Vec<String> = e
        .groups()
        .iter()
        .filter_map(|g| g.group_id())
        .map(str::to_string)
        .collect();
    let dns: Vec<Value> = e
        .dns_entries()
        .iter()
        .map(|d| {
            Value::map([
                ("dns_name", s(d.dns_name())),
                ("hosted_zone_id", s(d.hosted_zone_id())),
            ])
        })
        .collect();
    let endpoint_type = e
        .vpc_endpoint_type()
        .map(|t| t.as_str())
        .filter(|t| !t.is_empty())
        .unwrap_or("Gateway");
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(e.owner_id(), &format!("vpc-endpoint/{id}"))),
        ),
        ("vpc_id", s(e.vpc_id())),
        ("service_name", s(e.service_name())),
        ("vpc_endpoint_type", Value::from(endpoint_type)),
        ("route_table_ids", set_or_null(e.route_table_ids().to_vec())),
        ("subnet_ids", set_or_null(e.subnet_ids().to_vec())),
        ("security_group_ids", set_or_null(groups)),
        (
            "private_dns_enabled",
            Value::Bool(e.private_dns_enabled().unwrap_or(false)),
        ),
        (
            "policy",
            e.policy_document()
                .map(|p| Value::from(decode_policy(p)))
                .unwrap_or(Value::Null),
        ),
        ("auto_accept", Value::Null),
        (
            "state",
            s(e.state().map(|st| st.as_str()).filter(|v| !v.is_empty())),
        ),
        ("prefix_list_id", s(list.map(|l| l.0.as_str()))),
        (
            "cidr_blocks",
            list.map(|l| Value::List(l.1.iter().map(|c| Value::from(c.as_str())).collect()))
                .unwrap_or(Value::Null),
        ),
        (
            "network_interface_ids",
            set_or_null(e.network_interface_ids().to_vec()),
        ),
        ("owner_id", s(e.owner_id())),
        (
            "requester_managed",
            Value::Bool(e.requester_managed().unwrap_or(false)),
        ),
        ("dns_entry", Value::List(dns)),
        ("tags_all", tags_value(e.tags())),
    ])
}

/// Live objects, with `auto_accept` (an argument AWS does not keep) taken
/// from what was recorded.
fn live(
    loc: &Location,
    endpoints: Vec<types::VpcEndpoint>,
    lists: &PrefixLists,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    endpoints
        .into_iter()
        .filter(is_current)
        .filter_map(|e| {
            let id = e.vpc_endpoint_id()?.to_string();
            let mut attrs = endpoint_attrs(loc, &e, lists);
            if let (Some(recorded), Value::Map(m)) =
                (crate::refresh::known_attrs(&id, known), &mut attrs)
            {
                if let Some(v) = recorded.get("auto_accept") {
                    m.insert("auto_accept".into(), v.clone());
                }
            }
            Some(LiveResource {
                address: address_for(&id, e.tags(), known),
                attrs,
                id,
            })
        })
        .collect()
}

/// Reads one endpoint, with `auto_accept` as the spec has it.
async fn read(aws: &Aws, id: &str, desired: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(e) = describe_one(aws, id).await? else {
        return Ok(None);
    };
    let lists = prefix_lists(aws, std::slice::from_ref(&e)).await?;
    let mut attrs = endpoint_attrs(&aws.loc, &e, &lists);
    if let Value::Map(m) = &mut attrs {
        m.insert(
            "auto_accept".into(),
            desired.get("auto_accept").cloned().unwrap_or(Value::Null),
        );
    }
    Ok(Some(attrs))
}

/// The arguments `CreateVpcEndpoint` sends.
const CREATE_ARGS: &[&str] = &[
    "vpc_id",
    "service_name",
    "vpc_endpoint_type",
    "route_table_ids",
    "subnet_ids",
    "security_group_ids",
    "private_dns_enabled",
    "policy",
    "tags_all",
];

/// `CreateVpcEndpoint` for the spec (the create and its dry run send the
/// same).
fn create_call(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::create_vpc_endpoint::builders::CreateVpcEndpointFluentBuilder,
    ProviderError,
> {
    const OP: &str = "CreateVpcEndpoint";
    let endpoint_type = opt_str(d, "vpc_endpoint_type").unwrap_or("Gateway");
    let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    Ok(aws
        .ec2
        .create_vpc_endpoint()
        .vpc_id(req_str(d, "vpc_id", OP)?)
        .service_name(req_str(d, "service_name", OP)?)
        .vpc_endpoint_type(VpcEndpointType::from(endpoint_type))
        .set_route_table_ids(non_empty(str_list(d, "route_table_ids")))
        .set_subnet_ids(non_empty(str_list(d, "subnet_ids")))
        .set_security_group_ids(non_empty(str_list(d, "security_group_ids")))
        .set_policy_document(opt_str(d, "policy").map(str::to_string))
        // Terraform sends `false` when unset, which is also AWS's default
        // for every type but Interface.
        .set_private_dns_enabled(
            (endpoint_type == "Interface")
                .then(|| d.get("private_dns_enabled").and_then(Value::as_bool))
                .flatten(),
        )
        .client_token(token)
        .set_tag_specifications(
            tag_specification(ResourceType::VpcEndpoint, d, create_token).map(|t| vec![t]),
        ))
}

/// Waits until the endpoint is usable: `available`, or `pendingAcceptance`
/// when the service's owner must accept it and `auto_accept` is not set.
async fn settled(
    aws: &Aws,
    id: &str,
    desired: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    until(
        deadline,
        "DescribeVpcEndpoints",
        &format!("{id} to be available"),
        || async {
            let Some(v) = read(aws, id, desired).await? else {
                return Ok(None);
            };
            let state = opt_str(&v, "state").unwrap_or("available").to_string();
            match state.to_ascii_lowercase().as_str() {
                "available" | "pendingacceptance" => Ok(Some(v)),
                "pending" => Ok(None),
                other => Err(invalid(
                    "CreateVpcEndpoint",
                    format!("endpoint {id} is {other}"),
                )),
            }
        },
    )
    .await
}

/// Items added and removed between two sets of strings.
fn set_changes(prior: &[String], desired: &[String]) -> (Vec<String>, Vec<String>) {
    let add = desired
        .iter()
        .filter(|d| !prior.contains(d))
        .cloned()
        .collect();
    let remove = prior
        .iter()
        .filter(|p| !desired.contains(p))
        .cloned()
        .collect();
    (add, remove)
}

/// Adds and removes route tables of an endpoint (also what
/// `aws_vpc_endpoint_route_table_association` does).
pub(crate) async fn modify_route_tables(
    aws: &Aws,
    id: &str,
    add: Vec<String>,
    remove: Vec<String>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    if add.is_empty() && remove.is_empty() {
        return Ok(());
    }
    let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
    let call = aws
        .ec2
        .modify_vpc_endpoint()
        .vpc_endpoint_id(id)
        .set_add_route_table_ids(non_empty(add))
        .set_remove_route_table_ids(non_empty(remove));
    retry(deadline, || async {
        call.clone().send().await.ec2("ModifyVpcEndpoint")
    })
    .await
    .map(|_| ())
}

pub(crate) struct VpcEndpoint;

#[async_trait]
impl ResourceHandler for VpcEndpoint {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let endpoints = find_owned(
            req,
            "vpc-endpoint-id",
            types::VpcEndpoint::vpc_endpoint_id,
            |f| describe_vpc_endpoints(aws, f),
        )
        .await?;
        let lists = prefix_lists(aws, &endpoints).await?;
        Ok(live(&aws.loc, endpoints, &lists, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_vpc_endpoints(aws, f)).await?;
        match found.and_then(|e| e.vpc_endpoint_id().map(str::to_string)) {
            Some(id) => read(aws, &id, &req.desired).await,
            None => Ok(None),
        }
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
        // The client token makes retrying safe (a VPC, table or subnet too
        // new to be visible yet).
        let out = retry(&deadline, || async {
            call.clone().send().await.ec2("CreateVpcEndpoint")
        })
        .await?;
        let endpoint = out.vpc_endpoint();
        let id = endpoint
            .and_then(types::VpcEndpoint::vpc_endpoint_id)
            .ok_or_else(|| invalid("CreateVpcEndpoint", "the answer carries no endpoint ID"))?
            .to_string();
        async {
            let pending = endpoint
                .and_then(|e| e.state())
                .is_some_and(|s| s.as_str().eq_ignore_ascii_case("pendingAcceptance"));
            if pending && d.get("auto_accept").and_then(Value::as_bool) == Some(true) {
                let service = endpoint
                    .and_then(|e| e.service_name())
                    .or_else(|| opt_str(d, "service_name"))
                    .unwrap_or_default();
                let service_id = aws
                    .ec2
                    .describe_vpc_endpoint_services()
                    .service_names(service)
                    .send()
                    .await
                    .ec2("DescribeVpcEndpointServices")?
                    .service_details()
                    .first()
                    .and_then(|s| s.service_id())
                    .map(str::to_string)
                    .ok_or_else(|| gone("DescribeVpcEndpointServices", service))?;
                aws.ec2
                    .accept_vpc_endpoint_connections()
                    .service_id(service_id)
                    .vpc_endpoint_ids(&id)
                    .send()
                    .await
                    .ec2("AcceptVpcEndpointConnections")?;
            }
            settled(aws, &id, d, &deadline).await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC, route tables, subnets and security groups are looked up;
    /// `CreateVpcEndpoint` is sent with `DryRun=true` once its arguments
    /// are known.
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
        if let Some(groups) = known_list(d, "security_group_ids") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::SecurityGroup, &groups).await?;
        }
        if all_known(d, CREATE_ARGS) {
            let answer = create_call(aws, d, dry_run_token(req), None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateVpcEndpoint");
            findings.dry_run("ec2:CreateVpcEndpoint", answer, |out| {
                out.vpc_endpoint()
                    .and_then(types::VpcEndpoint::vpc_endpoint_id)
                    .map(str::to_string)
            })?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ModifyVpcEndpoint";
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(OP, "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let d = &req.desired;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let non_empty = |v: Vec<String>| (!v.is_empty()).then_some(v);
        let mut call = aws.ec2.modify_vpc_endpoint().vpc_endpoint_id(id);
        let mut modify = false;
        if changed("route_table_ids") {
            let (add, remove) = set_changes(
                &str_list(&prior, "route_table_ids"),
                &str_list(d, "route_table_ids"),
            );
            call = call
                .set_add_route_table_ids(non_empty(add))
                .set_remove_route_table_ids(non_empty(remove));
            modify = true;
        }
        if changed("subnet_ids") {
            let (add, remove) =
                set_changes(&str_list(&prior, "subnet_ids"), &str_list(d, "subnet_ids"));
            call = call
                .set_add_subnet_ids(non_empty(add))
                .set_remove_subnet_ids(non_empty(remove));
            modify = true;
        }
        if changed("security_group_ids") {
            let (add, remove) = set_changes(
                &str_list(&prior, "security_group_ids"),
                &str_list(d, "security_group_ids"),
            );
            call = call
                .set_add_security_group_ids(non_empty(add))
                .set_remove_security_group_ids(non_empty(remove));
            modify = true;
        }
        if changed("policy") {
            call = match opt_str(d, "policy") {
                Some(p) => call.policy_document(p),
                None => call.reset_policy(true),
            };
            modify = true;
        }
        if changed("private_dns_enabled") {
            if opt_str(d, "vpc_endpoint_type").unwrap_or("Gateway") != "Interface" {
                return Err(invalid(
                    OP,
                    "private_dns_enabled changes only on an Interface endpoint; \
                     replace the endpoint to change it",
                ));
            }
            call = call.private_dns_enabled(bool_arg(d, "private_dns_enabled"));
            modify = true;
        }
        if modify {
            retry(&deadline, || async { call.clone().send().await.ec2(OP) }).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        settled(aws, id, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let out = aws
            .ec2
            .delete_vpc_endpoints()
            .vpc_endpoint_ids(&req.id)
            .send()
            .await
            .ec2("DeleteVpcEndpoints");
        ignore_not_found(out.and_then(|o| match o.unsuccessful().first() {
            Some(u) => {
                let error = u.error();
                let code = error.and_then(|e| e.code()).unwrap_or_default();
                if code.contains("NotFound") {
                    Ok(())
                } else {
                    Err(invalid(
                        "DeleteVpcEndpoints",
                        format!(
                            "{}: {code}: {}",
                            req.id,
                            error.and_then(|e| e.message()).unwrap_or_default()
                        ),
                    ))
                }
            }
            None => Ok(()),
        }))?;
        until(
            &deadline,
            "DescribeVpcEndpoints",
            &format!("{} to be deleted", req.id),
            || async { Ok(describe_one(aws, &req.id).await?.is_none().then_some(())) },
        )
        .await
    }
}

fn bool_arg(d: &Value, key: &str) -> bool {
    d.get(key).and_then(Value::as_bool).unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint() -> types::VpcEndpoint {
        types::VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-1")
            .vpc_endpoint_type(VpcEndpointType::Gateway)
            .vpc_id("vpc-1")
            .service_name("com.amazonaws.us-east-1.s3")
            .state(types::State::from("available"))
            .route_table_ids("rtb-1")
            .policy_document("{\"Version\":\"2012-10-17\"}")
            .owner_id("123456789012")
            .build()
    }

    #[test]
    fn live_endpoint_is_in_schema_shape_with_its_prefix_list() {
        let lists: PrefixLists = [(
            "com.amazonaws.us-east-1.s3".to_string(),
            ("pl-63a5400a".to_string(), vec!["52.216.0.0/15".to_string()]),
        )]
        .into();
        let v = endpoint_attrs(&Location::new("us-east-1"), &endpoint(), &lists);
        assert_eq!(v.get("prefix_list_id"), Some(&Value::from("pl-63a5400a")));
        assert_eq!(
            v.get("cidr_blocks"),
            Some(&Value::List(vec![Value::from("52.216.0.0/15")]))
        );
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:us-east-1:123456789012:vpc-endpoint/vpce-1"
            ))
        );
        assert_eq!(v.get("state"), Some(&Value::from("available")));
        assert_eq!(v.get("subnet_ids"), Some(&Value::Null));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn deleted_endpoints_are_not_current() {
        let e = types::VpcEndpoint::builder()
            .vpc_endpoint_id("vpce-2")
            .state(types::State::from("deleted"))
            .build();
        assert!(!is_current(&e));
        assert!(is_current(&endpoint()));
    }

    #[test]
    fn set_changes_add_and_remove() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            set_changes(&s(&["a", "b"]), &s(&["b", "c"])),
            (s(&["c"]), s(&["a"]))
        );
    }
}
