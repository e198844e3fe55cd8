//! `data.aws_subnet`: one subnet found by ID, VPC, zone, CIDR block, tags
//! or `filter` blocks (one `DescribeSubnets` call).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::subnet::describe_subnets;
use super::{data_filters, exactly_one, filter_block};
use crate::args::s;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::tags_value;

/// `data.aws_subnet`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_subnet",
    schema,
    handler: &SubnetData,
    grants: &[g(&["ec2:DescribeSubnets"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_subnet")
        .doc("One subnet, found by its arguments.")
        .attr(AttrSchema::optional_computed("id", AttrType::String))
        .attr(AttrSchema::optional_computed("vpc_id", AttrType::String))
        .attr(AttrSchema::optional_computed("availability_zone", AttrType::String))
        .attr(AttrSchema::optional_computed("availability_zone_id", AttrType::String))
        .attr(AttrSchema::optional_computed("cidr_block", AttrType::String))
        .attr(AttrSchema::optional_computed("default_for_az", AttrType::Bool))
        .attr(AttrSchema::optional_computed("state", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .block(filter_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("map_public_ip_on_launch", AttrType::Bool))
        .attr(AttrSchema::computed("available_ip_address_count", AttrType::Number))
        .attr(AttrSchema::computed("owner_id", AttrType::String))
}

pub(crate) struct SubnetData;

#[async_trait]
impl DataHandler for SubnetData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let filters = data_filters(
            args,
            &[
                ("id", "subnet-id"),
                ("vpc_id", "vpc-id"),
                ("availability_zone", "availability-zone"),
                ("availability_zone_id", "availability-zone-id"),
                ("cidr_block", "cidr-block"),
                ("default_for_az", "default-for-az"),
                ("state", "state"),
            ],
        );
        let subnet = exactly_one(
            describe_subnets(aws, filters).await?,
            "EC2 Subnet",
            "DescribeSubnets",
        )?;
        let id = subnet.subnet_id().unwrap_or_default();
        let arn = subnet
            .subnet_arn()
            .map(str::to_string)
            .or_else(|| aws.loc.ec2_arn(subnet.owner_id(), &format!("subnet/{id}")));
        let mut out = args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", s(Some(id))),
            ("arn", Value::from(arn)),
            ("vpc_id", s(subnet.vpc_id())),
            ("availability_zone", s(subnet.availability_zone())),
            ("availability_zone_id", s(subnet.availability_zone_id())),
            ("cidr_block", s(subnet.cidr_block())),
            (
                "default_for_az",
                Value::Bool(subnet.default_for_az().unwrap_or(false)),
            ),
            ("state", s(subnet.state().map(|st| st.as_str()))),
            (
                "map_public_ip_on_launch",
                Value::Bool(subnet.map_public_ip_on_launch().unwrap_or(false)),
            ),
            (
                "available_ip_address_count",
                subnet
                    .available_ip_address_count()
                    .map_or(Value::Null, |n| Value::Number(f64::from(n))),
            ),
            ("owner_id", s(subnet.owner_id())),
            ("tags", tags_value(subnet.tags())),
        ] {
            out.insert(k.to_string(), v);
        }
        Ok(Value::Map(out))
    }
}
