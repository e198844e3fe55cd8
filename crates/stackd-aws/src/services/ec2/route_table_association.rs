//! `aws_route_table_association`: ties a subnet (or an internet or virtual
//! private gateway) to a route table.
//!
//! Changing `route_table_id` uses `ReplaceRouteTableAssociation`, which gives
//! the association a new ID: an update returns the new `id`, as the
//! Terraform provider records it.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, RouteTableAssociationStateCode};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::route_table::describe_route_tables;
use super::{INTERNET_GATEWAY, ROUTE_TABLE, SUBNET, VPN_GATEWAY};
use crate::args::{opt_str, req_str, s};
use crate::context::Aws;
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result};
use crate::policy::{g, ANY};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `aws_route_table_association`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_route_table_association",
    schema,
    handler: &RouteTableAssociation,
    grants: &[
        g(&["ec2:DescribeRouteTables"], ANY),
        g(
            &[
                "ec2:AssociateRouteTable",
                "ec2:DisassociateRouteTable",
                "ec2:ReplaceRouteTableAssociation",
            ],
            &[ROUTE_TABLE, SUBNET, INTERNET_GATEWAY, VPN_GATEWAY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_route_table_association")
        .doc("An association of a subnet or gateway with a route table.")
        .attr(
            AttrSchema::optional("subnet_id", AttrType::String)
                .force_new()
                .doc("The subnet to associate."),
        )
        .attr(
            AttrSchema::optional("gateway_id", AttrType::String)
                .force_new()
                .doc("The internet or virtual private gateway to associate (edge association)."),
        )
        .attr(AttrSchema::required("route_table_id", AttrType::String).doc("The route table."))
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 2 * 60,
            delete_secs: 5 * 60,
        })
}

/// An association no longer counts once it is being removed.
fn is_current(assoc: &types::RouteTableAssociation) -> bool {
    !matches!(
        assoc.association_state().and_then(|s| s.state()),
        Some(
            RouteTableAssociationStateCode::Disassociated
                | RouteTableAssociationStateCode::Disassociating
                | RouteTableAssociationStateCode::Failed
        )
    )
}

fn association_attrs(assoc: &types::RouteTableAssociation) -> Value {
    Value::map([
        ("id", s(assoc.route_table_association_id())),
        ("subnet_id", s(assoc.subnet_id())),
        ("gateway_id", s(assoc.gateway_id())),
        ("route_table_id", s(assoc.route_table_id())),
    ])
}

/// Every current association in `tables`.
fn associations(
    tables: &[types::RouteTable],
) -> impl Iterator<Item = &types::RouteTableAssociation> {
    tables
        .iter()
        .flat_map(|t| t.associations())
        .filter(|a| is_current(a) && a.main() != Some(true))
}

async fn find(aws: &Aws, id: &str) -> Result<Option<types::RouteTableAssociation>, ProviderError> {
    let tables = describe_route_tables(
        aws,
        vec![filter("association.route-table-association-id", [id])],
    )
    .await?;
    let found = associations(&tables)
        .find(|a| a.route_table_association_id() == Some(id))
        .cloned();
    Ok(found)
}

/// Waits until the association is in place and returns its attributes.
async fn settled(aws: &Aws, id: &str, deadline: &Deadline) -> Result<Value, ProviderError> {
    until(
        deadline,
        "DescribeRouteTables",
        &format!("{id} to be associated"),
        || async {
            Ok(find(aws, id).await?.and_then(|a| {
                let state = a.association_state().and_then(|s| s.state());
                matches!(
                    state,
                    None | Some(RouteTableAssociationStateCode::Associated)
                )
                .then(|| association_attrs(&a))
            }))
        },
    )
    .await
}

/// Removes an association; one already gone is fine.
pub(crate) async fn disassociate(
    aws: &Aws,
    id: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    ignore_not_found(
        retry(deadline, || async {
            aws.ec2
                .disassociate_route_table()
                .association_id(id)
                .send()
                .await
                .ec2("DisassociateRouteTable")
        })
        .await
        .map(|_| ()),
    )
}

/// The existing association of the subnet or gateway `desired` names, after
/// `Resource.AlreadyAssociated`.
async fn existing(
    aws: &Aws,
    desired: &Value,
) -> Result<Option<types::RouteTableAssociation>, ProviderError> {
    let (filter_name, target) = match (
        opt_str(desired, "subnet_id"),
        opt_str(desired, "gateway_id"),
    ) {
        (Some(subnet), _) => ("association.subnet-id", subnet),
        (None, Some(gateway)) => ("association.gateway-id", gateway),
        (None, None) => return Ok(None),
    };
    let tables = describe_route_tables(aws, vec![filter(filter_name, [target])]).await?;
    let found = associations(&tables)
        .find(|a| a.subnet_id() == Some(target) || a.gateway_id() == Some(target))
        .cloned();
    Ok(found)
}

pub(crate) struct RouteTableAssociation;

#[async_trait]
impl ResourceHandler for RouteTableAssociation {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let ids: Vec<String> = req
            .known
            .iter()
            .map(|k| k.id.clone())
            .filter(|id| !id.is_empty())
            .collect();
        let mut tables = Vec::new();
        for chunk in ids.chunks(MAX_FILTER_VALUES) {
            tables.extend(
                describe_route_tables(
                    aws,
                    vec![filter(
                        "association.route-table-association-id",
                        chunk.iter().cloned(),
                    )],
                )
                .await?,
            );
        }
        Ok(req
            .known
            .iter()
            .filter_map(|k| {
                let assoc = associations(&tables)
                    .find(|a| a.route_table_association_id() == Some(k.id.as_str()))?;
                Some(LiveResource {
                    id: k.id.clone(),
                    address: Some(k.address.clone()),
                    attrs: association_attrs(assoc),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let table = req_str(d, "route_table_id", "AssociateRouteTable")?;
        let subnet = opt_str(d, "subnet_id");
        let gateway = opt_str(d, "gateway_id");
        if subnet.is_some() == gateway.is_some() {
            return Err(invalid(
                "AssociateRouteTable",
                "exactly one of subnet_id and gateway_id must be set",
            ));
        }
        let call = aws
            .ec2
            .associate_route_table()
            .route_table_id(table)
            .set_subnet_id(subnet.map(str::to_string))
            .set_gateway_id(gateway.map(str::to_string));
        // The table, subnet or gateway may be too new to be visible yet.
        let id = match retry(&deadline, || async {
            call.clone().send().await.ec2("AssociateRouteTable")
        })
        .await
        {
            Ok(out) => out
                .association_id()
                .ok_or_else(|| {
                    invalid(
                        "AssociateRouteTable",
                        "the answer carries no association ID",
                    )
                })?
                .to_string(),
            // An association made by an earlier attempt that crashed before
            // recording it is adopted; one with another table is a conflict.
            Err(e) if has_code(&e, "Resource.AlreadyAssociated") => match existing(aws, d).await? {
                Some(a) if a.route_table_id() == Some(table) => a
                    .route_table_association_id()
                    .unwrap_or_default()
                    .to_string(),
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        settled(aws, &id, &deadline)
            .await
            .map_err(|e| after_create(&id, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("ReplaceRouteTableAssociation", "update without an ID"))?;
        let table = req_str(
            &req.desired,
            "route_table_id",
            "ReplaceRouteTableAssociation",
        )?;
        let out = retry(&deadline, || async {
            aws.ec2
                .replace_route_table_association()
                .association_id(id)
                .route_table_id(table)
                .send()
                .await
                .ec2("ReplaceRouteTableAssociation")
        })
        .await?;
        let new_id = out.new_association_id().unwrap_or(id).to_string();
        settled(aws, &new_id, &deadline).await.map_err(|e| {
            if e.kind == stackd_engine::provider::ErrorKind::NotFound {
                gone("DescribeRouteTables", &new_id)
            } else {
                e
            }
        })
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        disassociate(aws, &req.id, &deadline).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assoc(id: &str, state: RouteTableAssociationStateCode) -> types::RouteTableAssociation {
        types::RouteTableAssociation::builder()
            .route_table_association_id(id)
            .route_table_id("rtb-1")
            .subnet_id("subnet-1")
            .main(false)
            .association_state(
                types::RouteTableAssociationState::builder()
                    .state(state)
                    .build(),
            )
            .build()
    }

    #[test]
    fn live_association_is_in_schema_shape() {
        let v = association_attrs(&assoc(
            "rtbassoc-1",
            RouteTableAssociationStateCode::Associated,
        ));
        assert_eq!(
            v,
            Value::map([
                ("id", Value::from("rtbassoc-1")),
                ("subnet_id", Value::from("subnet-1")),
                ("gateway_id", Value::Null),
                ("route_table_id", Value::from("rtb-1")),
            ])
        );
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn disassociated_and_main_associations_are_skipped() {
        let table = types::RouteTable::builder()
            .route_table_id("rtb-1")
            .associations(assoc(
                "rtbassoc-1",
                RouteTableAssociationStateCode::Associated,
            ))
            .associations(assoc(
                "rtbassoc-2",
                RouteTableAssociationStateCode::Disassociated,
            ))
            .associations(
                types::RouteTableAssociation::builder()
                    .route_table_association_id("rtbassoc-main")
                    .main(true)
                    .build(),
            )
            .build();
        let tables = [table];
        let ids: Vec<_> = associations(&tables)
            .filter_map(|a| a.route_table_association_id())
            .collect();
        assert_eq!(ids, vec!["rtbassoc-1"]);
    }
}
