//! `aws_vpc_endpoint_route_table_association`: a route table of a Gateway
//! VPC endpoint, managed on its own.
//!
//! EC2 has no object for it: it is a member of the endpoint's
//! `RouteTableIds`, added and removed with `ModifyVpcEndpoint`. The ID is
//! `<vpc_endpoint_id>/<route_table_id>`, the form `terraform import` takes
//! (the Terraform provider stores a hash instead). Refresh is one
//! `DescribeVpcEndpoints` chain filtered on the known endpoints' IDs. Do not
//! also list the table in that endpoint's `route_table_ids`: the two would
//! undo each other, as in Terraform.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, KnownResource, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::vpc_endpoint::{describe_one, describe_vpc_endpoints, is_current, modify_route_tables};
use super::{ROUTE_TABLE, VPC_ENDPOINT};
use crate::args::{opt_str, req_str};
use crate::context::Aws;
use crate::error::{after_create, ignore_not_found, invalid};
use crate::policy::{g, ANY};
use crate::refresh::{filter, MAX_FILTER_VALUES};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{until, Deadline};

/// `aws_vpc_endpoint_route_table_association`: its schema, its handler, and the IAM grants of every call
/// it makes (read, create, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_vpc_endpoint_route_table_association",
    schema,
    handler: &VpcEndpointRouteTableAssociation,
    grants: &[
        g(&["ec2:DescribeVpcEndpoints"], ANY),
        g(&["ec2:ModifyVpcEndpoint"], &[VPC_ENDPOINT, ROUTE_TABLE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_vpc_endpoint_route_table_association")
        .doc("A route table of a Gateway VPC endpoint.")
        .attr(
            AttrSchema::required("vpc_endpoint_id", AttrType::String)
                .force_new()
                .doc("The endpoint."),
        )
        .attr(
            AttrSchema::required("route_table_id", AttrType::String)
                .force_new()
                .doc("The route table."),
        )
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

/// The ID of an association.
fn association_id(endpoint: &str, table: &str) -> String {
    format!("{endpoint}/{table}")
}

/// The endpoint and table of a known association: from its recorded
/// attributes, else its ID (an import).
fn locate(known: &KnownResource) -> Option<(String, String)> {
    match (
        opt_str(&known.attrs, "vpc_endpoint_id"),
        opt_str(&known.attrs, "route_table_id"),
    ) {
        (Some(e), Some(t)) => Some((e.to_string(), t.to_string())),
        _ => parse_id(&known.id),
    }
}

/// `vpce-…/rtb-…` as its two IDs.
fn parse_id(id: &str) -> Option<(String, String)> {
    let (e, t) = id.split_once('/')?;
    (e.starts_with("vpce-") && t.starts_with("rtb-")).then(|| (e.to_string(), t.to_string()))
}

fn attrs(endpoint: &str, table: &str) -> Value {
    Value::map([
        ("id", Value::from(association_id(endpoint, table))),
        ("vpc_endpoint_id", Value::from(endpoint)),
        ("route_table_id", Value::from(table)),
    ])
}

/// True when the endpoint exists and lists the table.
async fn is_associated(aws: &Aws, endpoint: &str, table: &str) -> Result<bool, ProviderError> {
    Ok(describe_one(aws, endpoint)
        .await?
        .is_some_and(|e| e.route_table_ids().iter().any(|t| t == table)))
}

pub(crate) struct VpcEndpointRouteTableAssociation;

#[async_trait]
impl ResourceHandler for VpcEndpointRouteTableAssociation {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let located: Vec<(&KnownResource, (String, String))> = req
            .known
            .iter()
            .filter_map(|k| locate(k).map(|l| (k, l)))
            .collect();
        let mut ids: Vec<String> = located.iter().map(|(_, (e, _))| e.clone()).collect();
        ids.sort();
        ids.dedup();
        let mut endpoints = Vec::new();
        for chunk in ids.chunks(MAX_FILTER_VALUES) {
            endpoints.extend(
                describe_vpc_endpoints(aws, vec![filter("vpc-endpoint-id", chunk.iter().cloned())])
                    .await?,
            );
        }
        endpoints.retain(is_current);
        Ok(located
            .into_iter()
            .filter(|(_, (e, t))| {
                endpoints.iter().any(|x| {
                    x.vpc_endpoint_id() == Some(e.as_str())
                        && x.route_table_ids().iter().any(|r| r == t)
                })
            })
            .map(|(k, (e, t))| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs: attrs(&e, &t),
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "ModifyVpcEndpoint";
        let deadline = Deadline::after(req.timeout);
        let endpoint = req_str(&req.desired, "vpc_endpoint_id", OP)?;
        let table = req_str(&req.desired, "route_table_id", OP)?;
        // Already there (an attempt whose answer was lost): nothing to add.
        if !is_associated(aws, endpoint, table).await? {
            modify_route_tables(aws, endpoint, vec![table.to_string()], vec![], &deadline)
                .await?;
        }
        let id = association_id(endpoint, table);
        until(
            &deadline,
            "DescribeVpcEndpoints",
            &format!("{table} to be associated with {endpoint}"),
            || async { Ok(is_associated(aws, endpoint, table).await?.then_some(())) },
        )
        .await
        .map_err(|e| after_create(&id, e))?;
        Ok(attrs(endpoint, table))
    }

    async fn update(&self, _aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces a replacement.
        Err(invalid(
            "ModifyVpcEndpoint",
            format!("{} has no argument that changes in place", req.address),
        ))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let known = KnownResource {
            address: req.address.clone(),
            id: req.id.clone(),
            attrs: req.prior.clone(),
        };
        let Some((endpoint, table)) = locate(&known) else {
            return Err(invalid(
                "ModifyVpcEndpoint",
                format!("{:?} is not a <vpc_endpoint_id>/<route_table_id> ID", req.id),
            ));
        };
        if !is_associated(aws, &endpoint, &table).await? {
            return Ok(());
        }
        ignore_not_found(modify_route_tables(aws, &endpoint, vec![], vec![table], &deadline).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn import_ids_name_the_endpoint_and_the_table() {
        assert_eq!(
            parse_id("vpce-1a2b/rtb-3c4d"),
            Some(("vpce-1a2b".into(), "rtb-3c4d".into()))
        );
        assert_eq!(parse_id("rtb-3c4d/vpce-1a2b"), None);
        assert_eq!(parse_id("vpce-1a2b"), None);
        assert_eq!(
            attrs("vpce-1", "rtb-1").get("id"),
            Some(&Value::from("vpce-1/rtb-1"))
        );
    }
}
