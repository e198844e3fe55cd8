//! `aws_default_route_table`: adopts the route table EC2 made with a VPC
//! (its main table); it never creates or deletes a table.
//!
//! As in the Terraform provider, "create" takes the table named by
//! `default_route_table_id`, deletes every route it manages (not the
//! `local` route, propagated routes or VPC endpoint routes), turns off its
//! gateway propagations, then creates the spec's `route` blocks and
//! propagations and sets its tags (stackd's ownership tags among them).
//! Routes then change in place as an `aws_route_table`'s do. "Destroy"
//! only forgets the table: its routes and user tags stay (the provider's
//! behaviour); stackd takes its own ownership tags back off so the table
//! does not read as a leftover of the stack. A table already tagged for
//! another stack or address is refused.
//!
//! The ID is the table's `rtb-…` ID; the import ID is that or, as in
//! Terraform, the VPC's ID (its main table is imported). Refresh is one
//! `DescribeRouteTables` chain on the ownership tag, then known IDs by
//! filter (and VPC IDs of imports by `vpc-id` and `association.main`).

use async_trait::async_trait;
use aws_sdk_ec2::types;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::default_security_group::{check_not_taken, drop_ownership_tags};
use super::route_table::{
    apply_route_changes, describe_route_tables, route_changes, set_vgw_propagation, table_attrs,
};
use super::{ROUTE_TABLE, VPN_GATEWAY};
use crate::args::{blocks, req_str, str_list};
use crate::context::{Aws, Location};
use crate::error::{gone, invalid};
use crate::policy::{g, ANY};
use crate::refresh::{address_for, filter, find_owned};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tags_value};
use crate::wait::{retry, Deadline};

/// `aws_default_route_table`: its schema, its handler, and the IAM grants of every call
/// it makes (read, adopt, update, tag, forget).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_default_route_table",
    schema,
    handler: &DefaultRouteTable,
    grants: &[
        g(&["ec2:DescribeRouteTables"], ANY),
        g(
            &[
                "ec2:CreateRoute",
                "ec2:CreateTags",
                "ec2:DeleteRoute",
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
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let route: BlockSchema = super::route_table::schema()
        .body
        .blocks
        .into_iter()
        .find(|b| b.name == "route")
        .unwrap_or_else(|| BlockSchema::new("route", Nesting::Set));
    ResourceSchema::resource("aws_default_route_table")
        .doc("The default (main) route table of a VPC, adopted (never created or deleted).")
        .attr(
            AttrSchema::required("default_route_table_id", AttrType::String)
                .force_new()
                .doc("The table: the VPC's `default_route_table_id`."),
        )
        .attr(
            AttrSchema::optional_computed("propagating_vgws", AttrType::set_of(AttrType::String))
                .doc("Virtual private gateways whose routes propagate into the table."),
        )
        .block(route)
        .attr(AttrSchema::computed("vpc_id", AttrType::String).doc("The VPC."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The route table's ARN."))
        .attr(AttrSchema::computed("owner_id", AttrType::String).doc("The owning account."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 2 * 60,
            update_secs: 2 * 60,
            delete_secs: 2 * 60,
        })
}

fn attrs(loc: &Location, table: &types::RouteTable) -> Value {
    let mut v = table_attrs(loc, table);
    if let Value::Map(m) = &mut v {
        m.insert(
            "default_route_table_id".into(),
            Value::from(table.route_table_id().unwrap_or_default()),
        );
    }
    v
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
                attrs: attrs(loc, &t),
                id,
            })
        })
        .collect()
}

async fn describe_one(aws: &Aws, id: &str) -> Result<Option<types::RouteTable>, ProviderError> {
    Ok(
        describe_route_tables(aws, vec![filter("route-table-id", [id])])
            .await?
            .into_iter()
            .next(),
    )
}

async fn read(aws: &Aws, id: &str) -> Result<Value, ProviderError> {
    describe_one(aws, id)
        .await?
        .map(|t| attrs(&aws.loc, &t))
        .ok_or_else(|| gone("DescribeRouteTables", id))
}

pub(crate) struct DefaultRouteTable;

#[async_trait]
impl ResourceHandler for DefaultRouteTable {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // Terraform imports a default route table by its VPC's ID: a known
        // `vpc-…` ID (only an import has one) names that VPC's main table.
        let (by_vpc, by_table): (Vec<_>, Vec<_>) =
            req.known.iter().cloned().partition(|k| k.id.starts_with("vpc-"));
        let by_table = RefreshRequest {
            known: by_table,
            ..req.clone()
        };
        let tables = find_owned(
            &by_table,
            "route-table-id",
            types::RouteTable::route_table_id,
            |f| describe_route_tables(aws, f),
        )
        .await?;
        let mut out = live(&aws.loc, tables, &by_table.known);
        if !by_vpc.is_empty() {
            let vpcs: Vec<&str> = by_vpc.iter().map(|k| k.id.as_str()).collect();
            let main = describe_route_tables(
                aws,
                vec![filter("vpc-id", vpcs), filter("association.main", ["true"])],
            )
            .await?;
            for t in main {
                let (Some(id), Some(vpc)) = (t.route_table_id(), t.vpc_id()) else {
                    continue;
                };
                let Some(k) = by_vpc.iter().find(|k| k.id == vpc) else {
                    continue;
                };
                if out.iter().any(|l| l.id == id) {
                    continue;
                }
                out.push(LiveResource {
                    id: id.to_string(),
                    address: Some(k.address.clone()),
                    attrs: attrs(&aws.loc, &t),
                });
            }
        }
        Ok(out)
    }

    /// Adopts the table: its tags become the spec's, its routes and
    /// propagations are replaced by the spec's.
    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateRoute";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let id = req_str(d, "default_route_table_id", OP)?;
        // Validate the routes before anything changes.
        route_changes(&[], blocks(d, "route"))?;
        let table = describe_one(aws, id)
            .await?
            .ok_or_else(|| gone("DescribeRouteTables", id))?;
        check_not_taken(table.tags(), req, &format!("route table {id}"), OP)?;
        let prior_tags = Value::map([("tags_all", tags_value(table.tags()))]);
        reconcile(aws, id, &prior_tags, d, &deadline).await?;
        let current = attrs(&aws.loc, &table);
        for vgw in str_list(&current, "propagating_vgws") {
            set_vgw_propagation(aws, id, &vgw, false, &deadline).await?;
        }
        let changes = route_changes(blocks(&current, "route"), blocks(d, "route"))?;
        apply_route_changes(aws, id, &changes, &deadline).await?;
        for vgw in str_list(d, "propagating_vgws") {
            set_vgw_propagation(aws, id, &vgw, true, &deadline).await?;
        }
        read(aws, id).await
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
        read(aws, id).await
    }

    /// Forgets the table; its routes and user tags stay.
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let Some(table) = describe_one(aws, &req.id).await? else {
            return Ok(());
        };
        retry(&deadline, || drop_ownership_tags(aws, &req.id, table.tags())).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn live_table_has_every_attribute() {
        let t = types::RouteTable::builder()
            .route_table_id("rtb-1")
            .vpc_id("vpc-1")
            .owner_id("123456789012")
            .build();
        let v = attrs(&Location::new("us-east-1"), &t);
        assert_eq!(v.get("default_route_table_id"), Some(&Value::from("rtb-1")));
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }
}
