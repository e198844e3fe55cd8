//! `aws_route_table`: a VPC route table with inline `route` blocks.
//!
//! `route` is a set of blocks that is computed when absent: with no `route`
//! blocks in the spec, the table's routes are not managed (so `aws_route`
//! resources can add them). Live routes are those the API reports with
//! origin `CreateRoute`, less the `local` route and VPC endpoint routes, as
//! in the Terraform provider. This module also holds the route helpers
//! `aws_route` uses.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Filter, ResourceType, RouteOrigin};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{INTERNET_GATEWAY, ROUTE_TABLE, SUBNET, VPC, VPN_GATEWAY};
use crate::args::{blocks, client_token, opt_str, req_str, s, set_or_null, sort_blocks, str_list};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, known_str, Findings};
use crate::refresh::{address_for, filter, find_by_token, find_owned};
use crate::services::ec2::lookups::{check_ec2_refs, Ec2Ref};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// Route target attributes, in the Terraform provider's order.
pub(crate) const TARGETS: [&str; 10] = [
    "carrier_gateway_id",
    "core_network_arn",
    "egress_only_gateway_id",
    "gateway_id",
    "local_gateway_id",
    "nat_gateway_id",
    "network_interface_id",
    "transit_gateway_id",
    "vpc_endpoint_id",
    "vpc_peering_connection_id",
];

/// The `route` block's destination attributes.
const BLOCK_DESTINATIONS: [&str; 3] = [
    "cidr_block",
    "ipv6_cidr_block",
    "destination_prefix_list_id",
];

/// `aws_route_table`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_route_table",
    schema,
    handler: &RouteTable,
    grants: &[
        g(&["ec2:DescribeRouteTables", "ec2:DescribeVpcs"], ANY),
        g(&["ec2:CreateRouteTable"], &[ROUTE_TABLE, VPC]),
        g(
            &[
                "ec2:CreateRoute",
                "ec2:CreateTags",
                "ec2:DeleteRoute",
                "ec2:DeleteRouteTable",
                "ec2:DeleteTags",
                "ec2:ReplaceRoute",
            ],
            &[ROUTE_TABLE],
        ),
        g(
            &[
                "ec2:DisableVgwRoutePropagation",
                "ec2:EnableVgwRoutePropagation",
            ],
            &[ROUTE_TABLE, VPN_GATEWAY],
        ),
        // Delete drops the table's associations first.
        g(
            &["ec2:DisassociateRouteTable"],
            &[ROUTE_TABLE, SUBNET, INTERNET_GATEWAY, VPN_GATEWAY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let mut route = BlockSchema::new("route", Nesting::Set).computed_when_absent();
    for d in BLOCK_DESTINATIONS {
        route = route.attr(AttrSchema::optional(d, AttrType::String));
    }
    for t in TARGETS {
        route = route.attr(AttrSchema::optional(t, AttrType::String));
    }
    ResourceSchema::resource("aws_route_table")
        .doc("A route table of a VPC.")
        .attr(
            AttrSchema::required("vpc_id", AttrType::String)
                .force_new()
                .doc("The VPC."),
        )
        .attr(
            AttrSchema::optional_computed("propagating_vgws", AttrType::set_of(AttrType::String))
                .doc("Virtual private gateways whose routes propagate into the table."),
        )
        .block(route)
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The route table's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 2 * 60,
            delete_secs: 5 * 60,
        })
}

/// Where a route goes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) enum Destination {
    Ipv4(String),
    Ipv6(String),
    PrefixList(String),
}

impl Destination {
    pub fn value(&self) -> &str {
        match self {
            Destination::Ipv4(v) | Destination::Ipv6(v) | Destination::PrefixList(v) => v,
        }
    }
}

/// What a route points at: the Terraform attribute naming the target kind,
/// and the target's ID.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Target {
    pub attr: &'static str,
    pub id: String,
}

/// One route, as the API takes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RouteSpec {
    pub destination: Destination,
    pub target: Target,
}

/// The destination of a live route.
pub(crate) fn live_destination(route: &types::Route) -> Option<Destination> {
    if let Some(v) = route.destination_cidr_block() {
        Some(Destination::Ipv4(v.to_string()))
    } else if let Some(v) = route.destination_ipv6_cidr_block() {
        Some(Destination::Ipv6(v.to_string()))
    } else {
        route
            .destination_prefix_list_id()
            .map(|v| Destination::PrefixList(v.to_string()))
    }
}

/// The target attributes of a live route, as the Terraform provider reads
/// them: a `vpce-` gateway is a `vpc_endpoint_id`.
pub(crate) fn live_targets(route: &types::Route) -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    let mut put = |k: &'static str, v: Option<&str>| {
        if let Some(v) = v.filter(|v| !v.is_empty()) {
            out.insert(k, v.to_string());
        }
    };
    put("carrier_gateway_id", route.carrier_gateway_id());
    put("core_network_arn", route.core_network_arn());
    put(
        "egress_only_gateway_id",
        route.egress_only_internet_gateway_id(),
    );
    match route.gateway_id() {
        Some(g) if g.starts_with("vpce-") => put("vpc_endpoint_id", Some(g)),
        g => put("gateway_id", g),
    }
    put("local_gateway_id", route.local_gateway_id());
    put("nat_gateway_id", route.nat_gateway_id());
    put("network_interface_id", route.network_interface_id());
    put("transit_gateway_id", route.transit_gateway_id());
    put(
        "vpc_peering_connection_id",
        route.vpc_peering_connection_id(),
    );
    out
}

/// The one target a live route is compared by (the first in [`TARGETS`]
/// order; a NAT gateway's interface is incidental).
pub(crate) fn live_target(route: &types::Route) -> Option<Target> {
    let targets = live_targets(route);
    TARGETS.iter().find_map(|k| {
        targets.get(k).map(|id| Target {
            attr: k,
            id: id.clone(),
        })
    })
}

/// Routes a route table manages: not the `local` route, not propagated
/// ones, not VPC endpoint routes (owned by `aws_vpc_endpoint`).
pub(crate) fn is_managed_route(route: &types::Route) -> bool {
    let gateway = route.gateway_id().unwrap_or_default();
    if gateway == "local" || gateway == "VpcLattice" {
        return false;
    }
    if matches!(route.origin(), Some(o) if *o != RouteOrigin::CreateRoute) {
        return false;
    }
    !(route.destination_prefix_list_id().is_some() && gateway.starts_with("vpce-"))
}

/// A route as a `route` block: every attribute present, unset ones null.
fn route_block(route: &types::Route) -> Value {
    let targets = live_targets(route);
    let mut m: BTreeMap<String, Value> = BTreeMap::new();
    m.insert("cidr_block".into(), s(route.destination_cidr_block()));
    m.insert(
        "ipv6_cidr_block".into(),
        s(route.destination_ipv6_cidr_block()),
    );
    m.insert(
        "destination_prefix_list_id".into(),
        s(route.destination_prefix_list_id()),
    );
    for t in TARGETS {
        m.insert(t.into(), s(targets.get(t).map(String::as_str)));
    }
    // EC2 reports a NAT gateway route's interface too; the spec names only
    // the gateway.
    if targets.contains_key("nat_gateway_id") {
        m.insert("network_interface_id".into(), Value::Null);
    }
    Value::Map(m)
}

/// Reads the destination and target out of a `route` block.
fn block_spec(block: &Value, operation: &str) -> Result<RouteSpec, ProviderError> {
    let destinations: Vec<Destination> = [
        opt_str(block, "cidr_block").map(|v| Destination::Ipv4(v.into())),
        opt_str(block, "ipv6_cidr_block").map(|v| Destination::Ipv6(v.into())),
        opt_str(block, "destination_prefix_list_id").map(|v| Destination::PrefixList(v.into())),
    ]
    .into_iter()
    .flatten()
    .collect();
    let targets: Vec<Target> = TARGETS
        .iter()
        .filter_map(|k| {
            opt_str(block, k).map(|id| Target {
                attr: k,
                id: id.to_string(),
            })
        })
        .collect();
    match (destinations.as_slice(), targets.as_slice()) {
        ([d], [t, ..]) => Ok(RouteSpec {
            destination: d.clone(),
            target: t.clone(),
        }),
        _ => Err(invalid(
            operation,
            format!(
                "a route needs exactly one of {} and one target ({}): {block}",
                BLOCK_DESTINATIONS.join(", "),
                TARGETS.join(", ")
            ),
        )),
    }
}

/// A change to a table's routes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RouteChange {
    Create(RouteSpec),
    Replace(RouteSpec),
    Delete(Destination),
}

/// What turns the `prior` routes into the `desired` ones, keyed by
/// destination: new destinations are created, changed targets replaced,
/// dropped destinations deleted (creates and replaces first).
pub(crate) fn route_changes(prior: &[Value], desired: &[Value]) -> Result<Vec<RouteChange>, ProviderError> {
    let prior: Vec<RouteSpec> = prior
        .iter()
        .filter_map(|b| block_spec(b, "CreateRoute").ok())
        .collect();
    let desired: Vec<RouteSpec> = desired
        .iter()
        .map(|b| block_spec(b, "CreateRoute"))
        .collect::<Result<_, _>>()?;
    let mut changes = Vec::new();
    for want in &desired {
        match prior.iter().find(|p| p.destination == want.destination) {
            None => changes.push(RouteChange::Create(want.clone())),
            Some(had) if had.target != want.target => {
                changes.push(RouteChange::Replace(want.clone()))
            }
            Some(_) => {}
        }
    }
    for had in &prior {
        if !desired.iter().any(|w| w.destination == had.destination) {
            changes.push(RouteChange::Delete(had.destination.clone()));
        }
    }
    Ok(changes)
}

/// Sets a route's destination and target on a CreateRoute or ReplaceRoute
/// builder (the two have the same setters).
macro_rules! route_call {
    ($call:expr, $spec:expr) => {{
        let spec: &RouteSpec = $spec;
        let call = match &spec.destination {
            Destination::Ipv4(v) => $call.destination_cidr_block(v),
            Destination::Ipv6(v) => $call.destination_ipv6_cidr_block(v),
            Destination::PrefixList(v) => $call.destination_prefix_list_id(v),
        };
        let id = spec.target.id.as_str();
        match spec.target.attr {
            "carrier_gateway_id" => call.carrier_gateway_id(id),
            "core_network_arn" => call.core_network_arn(id),
            "egress_only_gateway_id" => call.egress_only_internet_gateway_id(id),
            "local_gateway_id" => call.local_gateway_id(id),
            "nat_gateway_id" => call.nat_gateway_id(id),
            "network_interface_id" => call.network_interface_id(id),
            "transit_gateway_id" => call.transit_gateway_id(id),
            "vpc_endpoint_id" => call.vpc_endpoint_id(id),
            "vpc_peering_connection_id" => call.vpc_peering_connection_id(id),
            _ => call.gateway_id(id),
        }
    }};
}

/// Creates a route, retrying while the table or the target is too new to
/// be visible. A route to the same destination and target that exists
/// already (an earlier attempt's answer was lost, or it crashed before
/// recording it) is success; one to another target is a conflict.
pub(crate) async fn create_route(
    aws: &Aws,
    table: &str,
    spec: &RouteSpec,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let call = route_call!(aws.ec2.create_route().route_table_id(table), spec);
    let result = retry(deadline, || async {
        call.clone().send().await.ec2("CreateRoute")
    })
    .await;
    match result {
        Ok(_) => Ok(()),
        Err(e) if crate::error::has_code(&e, "RouteAlreadyExists") => {
            let tables =
                describe_route_tables(aws, vec![filter("route-table-id", [table])]).await?;
            let same = tables
                .iter()
                .flat_map(|t| t.routes())
                .find(|r| live_destination(r).as_ref() == Some(&spec.destination))
                .and_then(live_target)
                == Some(spec.target.clone());
            if same {
                Ok(())
            } else {
                Err(e)
            }
        }
        Err(e) => Err(e),
    }
}

pub(crate) async fn replace_route(
    aws: &Aws,
    table: &str,
    spec: &RouteSpec,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let call = route_call!(aws.ec2.replace_route().route_table_id(table), spec);
    retry(deadline, || async {
        call.clone().send().await.ec2("ReplaceRoute")
    })
    .await
    .map(|_| ())
}

/// Deletes a route; one already gone is fine.
pub(crate) async fn delete_route(
    aws: &Aws,
    table: &str,
    destination: &Destination,
) -> Result<(), ProviderError> {
    let call = aws.ec2.delete_route().route_table_id(table);
    let call = match destination {
        Destination::Ipv4(v) => call.destination_cidr_block(v),
        Destination::Ipv6(v) => call.destination_ipv6_cidr_block(v),
        Destination::PrefixList(v) => call.destination_prefix_list_id(v),
    };
    ignore_not_found(call.send().await.ec2("DeleteRoute").map(|_| ()))
}

pub(crate) async fn describe_route_tables(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<types::RouteTable>, ProviderError> {
    aws.ec2
        .describe_route_tables()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeRouteTables")
}

pub(crate) fn table_attrs(loc: &Location, table: &types::RouteTable) -> Value {
    let id = table.route_table_id().unwrap_or_default();
    let routes: Vec<Value> = table
        .routes()
        .iter()
        .filter(|r| is_managed_route(r))
        .map(route_block)
        .collect();
    let vgws: Vec<String> = table
        .propagating_vgws()
        .iter()
        .filter_map(|v| v.gateway_id())
        .map(str::to_string)
        .collect();
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(table.owner_id(), &format!("route-table/{id}"))),
        ),
        ("vpc_id", s(table.vpc_id())),
        ("propagating_vgws", set_or_null(vgws)),
        ("route", Value::List(sort_blocks(routes))),
        ("owner_id", s(table.owner_id())),
        ("tags_all", tags_value(table.tags())),
    ])
}

fn live(
    loc: &Location,
    tables: Vec<types::RouteTable>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    tables
        .into_iter()
        .filter_map(|t| {
            let id = t.route_table_id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, t.tags(), known),
                attrs: table_attrs(loc, &t),
                id,
            })
        })
        .collect()
}

async fn read(aws: &Aws, id: &str) -> Result<Option<Value>, ProviderError> {
    let tables = describe_route_tables(aws, vec![filter("route-table-id", [id])]).await?;
    Ok(tables.first().map(|t| table_attrs(&aws.loc, t)))
}

pub(crate) async fn set_vgw_propagation(
    aws: &Aws,
    table: &str,
    vgw: &str,
    on: bool,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        if on {
            aws.ec2
                .enable_vgw_route_propagation()
                .route_table_id(table)
                .gateway_id(vgw)
                .send()
                .await
                .ec2("EnableVgwRoutePropagation")
                .map(|_| ())
        } else {
            ignore_not_found(
                aws.ec2
                    .disable_vgw_route_propagation()
                    .route_table_id(table)
                    .gateway_id(vgw)
                    .send()
                    .await
                    .ec2("DisableVgwRoutePropagation")
                    .map(|_| ()),
            )
        }
    })
    .await
}

pub(crate) async fn apply_route_changes(
    aws: &Aws,
    table: &str,
    changes: &[RouteChange],
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    for change in changes {
        match change {
            RouteChange::Create(spec) => create_route(aws, table, spec, deadline).await?,
            RouteChange::Replace(spec) => replace_route(aws, table, spec, deadline).await?,
            RouteChange::Delete(dest) => delete_route(aws, table, dest).await?,
        }
    }
    Ok(())
}

/// `CreateRouteTable` for the spec (the create and its dry run send the
/// same).
fn create_call(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ec2::operation::create_route_table::builders::CreateRouteTableFluentBuilder,
    ProviderError,
> {
    Ok(aws
        .ec2
        .create_route_table()
        .vpc_id(req_str(d, "vpc_id", "CreateRouteTable")?)
        .client_token(token)
        .set_tag_specifications(
            tag_specification(ResourceType::RouteTable, d, create_token).map(|t| vec![t]),
        ))
}

pub(crate) struct RouteTable;

#[async_trait]
impl ResourceHandler for RouteTable {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let tables = find_owned(
            req,
            "route-table-id",
            types::RouteTable::route_table_id,
            |f| describe_route_tables(aws, f),
        )
        .await?;
        Ok(live(&aws.loc, tables, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let found = find_by_token(req, |f| describe_route_tables(aws, f)).await?;
        Ok(found.and_then(|t| live(&aws.loc, vec![t], &[]).pop().map(|l| l.attrs)))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        // Validate the routes before anything exists.
        let changes = route_changes(&[], blocks(d, "route"))?;
        let call = create_call(
            aws,
            d,
            client_token(&req.idempotency_token),
            Some(&req.idempotency_token),
        )?;
        // Retrying is safe with the client token (a new VPC not visible yet).
        let out = retry(&deadline, || async {
            call.clone().send().await.ec2("CreateRouteTable")
        })
        .await?;
        let id = out
            .route_table()
            .and_then(types::RouteTable::route_table_id)
            .ok_or_else(|| invalid("CreateRouteTable", "the answer carries no route table ID"))?
            .to_string();
        async {
            until(
                &deadline,
                "DescribeRouteTables",
                &format!("{id} to be visible"),
                || read(aws, &id),
            )
            .await?;
            for vgw in str_list(d, "propagating_vgws") {
                set_vgw_propagation(aws, &id, &vgw, true, &deadline).await?;
            }
            apply_route_changes(aws, &id, &changes, &deadline).await?;
            read(aws, &id)
                .await?
                .ok_or_else(|| gone("DescribeRouteTables", &id))
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    /// The VPC is looked up; `CreateRouteTable` is sent with `DryRun=true`
    /// once its arguments are known. The inline routes and gateway
    /// propagations need the table's ID and are not tried.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(vpc) = known_str(d, "vpc_id") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
        }
        if all_known(d, &["vpc_id", "tags_all"]) {
            let answer = create_call(aws, d, dry_run_token(req), None)?
                .dry_run(true)
                .send()
                .await
                .ec2("CreateRouteTable");
            findings.dry_run("ec2:CreateRouteTable", answer, |out| {
                out.route_table()
                    .and_then(types::RouteTable::route_table_id)
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
            .ok_or_else(|| invalid("CreateRoute", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let d = &req.desired;
        if req.changed.iter().any(|c| c == "propagating_vgws") {
            let had = str_list(&prior, "propagating_vgws");
            let want = str_list(d, "propagating_vgws");
            for vgw in had.iter().filter(|v| !want.contains(v)) {
                set_vgw_propagation(aws, id, vgw, false, &deadline).await?;
            }
            for vgw in want.iter().filter(|v| !had.contains(v)) {
                set_vgw_propagation(aws, id, vgw, true, &deadline).await?;
            }
        }
        if req.changed.iter().any(|c| c == "route") {
            let changes = route_changes(blocks(&prior, "route"), blocks(d, "route"))?;
            apply_route_changes(aws, id, &changes, &deadline).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        read(aws, id)
            .await?
            .ok_or_else(|| gone("DescribeRouteTables", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let tables =
            describe_route_tables(aws, vec![filter("route-table-id", [req.id.as_str()])]).await?;
        let Some(table) = tables.first() else {
            return Ok(());
        };
        // As the Terraform provider does: drop remaining subnet and gateway
        // associations, which would otherwise block the delete.
        for assoc in table
            .associations()
            .iter()
            .filter(|a| a.main() != Some(true))
        {
            if let Some(assoc_id) = assoc.route_table_association_id() {
                super::route_table_association::disassociate(aws, assoc_id, &deadline).await?;
            }
        }
        // DependencyViolation (a route or association going away) is
        // transient; the engine retries.
        ignore_not_found(
            aws.ec2
                .delete_route_table()
                .route_table_id(&req.id)
                .send()
                .await
                .ec2("DeleteRouteTable")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(
        dest: &str,
        gateway: Option<&str>,
        nat: Option<&str>,
        origin: RouteOrigin,
    ) -> types::Route {
        types::Route::builder()
            .destination_cidr_block(dest)
            .set_gateway_id(gateway.map(str::to_string))
            .set_nat_gateway_id(nat.map(str::to_string))
            .set_network_interface_id(nat.map(|_| "eni-nat".to_string()))
            .origin(origin)
            .state(types::RouteState::Active)
            .build()
    }

    fn block(pairs: &[(&str, &str)]) -> Value {
        let mut m: BTreeMap<String, Value> = BLOCK_DESTINATIONS
            .iter()
            .chain(TARGETS.iter())
            .map(|k| (k.to_string(), Value::Null))
            .collect();
        for (k, v) in pairs {
            m.insert(k.to_string(), Value::from(*v));
        }
        Value::Map(m)
    }

    fn table() -> types::RouteTable {
        types::RouteTable::builder()
            .route_table_id("rtb-1")
            .vpc_id("vpc-1")
            .owner_id("123456789012")
            .routes(route(
                "10.0.0.0/16",
                Some("local"),
                None,
                RouteOrigin::CreateRouteTable,
            ))
            .routes(route(
                "0.0.0.0/0",
                Some("igw-1"),
                None,
                RouteOrigin::CreateRoute,
            ))
            .routes(route(
                "10.9.0.0/16",
                None,
                Some("nat-1"),
                RouteOrigin::CreateRoute,
            ))
            .routes(route(
                "172.16.0.0/12",
                Some("vgw-1"),
                None,
                RouteOrigin::EnableVgwRoutePropagation,
            ))
            .routes(
                types::Route::builder()
                    .destination_prefix_list_id("pl-1")
                    .gateway_id("vpce-1")
                    .origin(RouteOrigin::CreateRoute)
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_routes_skip_local_propagated_and_endpoint_routes() {
        let v = table_attrs(&Location::new("us-east-1"), &table());
        let routes = v.get("route").and_then(Value::as_list).unwrap();
        assert_eq!(
            routes,
            &[
                block(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", "igw-1")]),
                block(&[("cidr_block", "10.9.0.0/16"), ("nat_gateway_id", "nat-1")]),
            ]
        );
        assert_eq!(
            v.get("arn"),
            Some(&Value::from(
                "arn:aws:ec2:us-east-1:123456789012:route-table/rtb-1"
            ))
        );
        assert_eq!(v.get("propagating_vgws"), Some(&Value::Null));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn a_vpce_gateway_reads_as_a_vpc_endpoint() {
        let r = types::Route::builder()
            .destination_cidr_block("10.1.0.0/16")
            .gateway_id("vpce-9")
            .build();
        assert_eq!(
            live_target(&r),
            Some(Target {
                attr: "vpc_endpoint_id",
                id: "vpce-9".into()
            })
        );
    }

    #[test]
    fn route_changes_create_replace_and_delete_by_destination() {
        let prior = [
            block(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", "igw-1")]),
            block(&[("cidr_block", "10.1.0.0/16"), ("nat_gateway_id", "nat-1")]),
            block(&[("cidr_block", "10.2.0.0/16"), ("nat_gateway_id", "nat-1")]),
        ];
        let desired = [
            block(&[("cidr_block", "0.0.0.0/0"), ("gateway_id", "igw-1")]),
            block(&[("cidr_block", "10.1.0.0/16"), ("nat_gateway_id", "nat-2")]),
            block(&[
                ("ipv6_cidr_block", "::/0"),
                ("egress_only_gateway_id", "eigw-1"),
            ]),
        ];
        let changes = route_changes(&prior, &desired).unwrap();
        assert_eq!(
            changes,
            vec![
                RouteChange::Replace(RouteSpec {
                    destination: Destination::Ipv4("10.1.0.0/16".into()),
                    target: Target {
                        attr: "nat_gateway_id",
                        id: "nat-2".into()
                    },
                }),
                RouteChange::Create(RouteSpec {
                    destination: Destination::Ipv6("::/0".into()),
                    target: Target {
                        attr: "egress_only_gateway_id",
                        id: "eigw-1".into()
                    },
                }),
                RouteChange::Delete(Destination::Ipv4("10.2.0.0/16".into())),
            ]
        );
    }

    #[test]
    fn a_route_without_target_is_rejected() {
        let err = route_changes(&[], &[block(&[("cidr_block", "0.0.0.0/0")])]).unwrap_err();
        assert_eq!(err.kind, stackd_engine::provider::ErrorKind::Permanent);
    }

    #[test]
    fn live_routes_read_back_as_the_blocks_that_made_them() {
        let desired = block(&[("cidr_block", "10.9.0.0/16"), ("nat_gateway_id", "nat-1")]);
        let live = route_block(&route(
            "10.9.0.0/16",
            None,
            Some("nat-1"),
            RouteOrigin::CreateRoute,
        ));
        assert_eq!(live, desired);
    }
}
