//! `data.aws_vpc`: one VPC found by ID, CIDR block, default flag, state,
//! tags or `filter` blocks (one `DescribeVpcs` call), with its main route
//! table (one `DescribeRouteTables` call).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::route_table::describe_route_tables;
use super::vpc::describe_vpcs;
use super::{data_filters, exactly_one, filter_block};
use crate::args::s;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::refresh::filter;
use crate::services::{DataHandler, DataSource};
use crate::tags::tags_value;

/// `data.aws_vpc`: its schema, its handler and the IAM grants of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_vpc",
    schema,
    handler: &VpcData,
    grants: &[g(&["ec2:DescribeRouteTables", "ec2:DescribeVpcs"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_vpc")
        .doc("One VPC, found by its arguments.")
        .attr(AttrSchema::optional_computed("id", AttrType::String))
        .attr(AttrSchema::optional_computed("cidr_block", AttrType::String))
        .attr(AttrSchema::optional_computed("default", AttrType::Bool))
        .attr(AttrSchema::optional_computed("dhcp_options_id", AttrType::String))
        .attr(AttrSchema::optional_computed("state", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .block(filter_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("instance_tenancy", AttrType::String))
        .attr(AttrSchema::computed("main_route_table_id", AttrType::String))
        .attr(AttrSchema::computed("owner_id", AttrType::String))
}

pub(crate) struct VpcData;

#[async_trait]
impl DataHandler for VpcData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let filters = data_filters(
            args,
            &[
                ("id", "vpc-id"),
                ("cidr_block", "cidr"),
                ("default", "is-default"),
                ("dhcp_options_id", "dhcp-options-id"),
                ("state", "state"),
            ],
        );
        let vpc = exactly_one(describe_vpcs(aws, filters).await?, "EC2 VPC", "DescribeVpcs")?;
        let id = vpc.vpc_id().unwrap_or_default();
        let tables = describe_route_tables(
            aws,
            vec![filter("vpc-id", [id]), filter("association.main", ["true"])],
        )
        .await?;
        let main = tables.first().and_then(|t| t.route_table_id());
        let mut out = args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", s(Some(id))),
            (
                "arn",
                Value::from(aws.loc.ec2_arn(vpc.owner_id(), &format!("vpc/{id}"))),
            ),
            ("cidr_block", s(vpc.cidr_block())),
            ("default", Value::Bool(vpc.is_default().unwrap_or(false))),
            ("dhcp_options_id", s(vpc.dhcp_options_id())),
            ("state", s(vpc.state().map(|st| st.as_str()))),
            (
                "instance_tenancy",
                s(Some(vpc.instance_tenancy().map_or("default", |t| t.as_str()))),
            ),
            ("main_route_table_id", s(main)),
            ("owner_id", s(vpc.owner_id())),
            ("tags", tags_value(vpc.tags())),
        ] {
            out.insert(k.to_string(), v);
        }
        Ok(Value::Map(out))
    }
}
