//! `data.aws_security_group`: one security group found by ID, name, VPC,
//! tags or `filter` blocks (one `DescribeSecurityGroups` call).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::security_group::describe_security_groups;
use super::{data_filters, exactly_one, filter_block};
use crate::args::s;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::tags_value;

/// `data.aws_security_group`: its schema, its handler and the IAM grants
/// of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_security_group",
    schema,
    handler: &SecurityGroupData,
    grants: &[g(&["ec2:DescribeSecurityGroups"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_security_group")
        .doc("One security group, found by its arguments.")
        .attr(AttrSchema::optional_computed("id", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(AttrSchema::optional_computed("vpc_id", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .block(filter_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("description", AttrType::String))
}

pub(crate) struct SecurityGroupData;

#[async_trait]
impl DataHandler for SecurityGroupData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let filters = data_filters(
            args,
            &[("id", "group-id"), ("name", "group-name"), ("vpc_id", "vpc-id")],
        );
        let group = exactly_one(
            describe_security_groups(aws, filters).await?,
            "EC2 Security Group",
            "DescribeSecurityGroups",
        )?;
        let id = group.group_id().unwrap_or_default();
        let arn = group
            .security_group_arn()
            .map(str::to_string)
            .or_else(|| aws.loc.ec2_arn(group.owner_id(), &format!("security-group/{id}")));
        let mut out = args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", s(Some(id))),
            ("arn", Value::from(arn)),
            ("name", s(group.group_name())),
            ("vpc_id", s(group.vpc_id())),
            ("description", s(group.description())),
            ("tags", tags_value(group.tags())),
        ] {
            out.insert(k.to_string(), v);
        }
        Ok(Value::Map(out))
    }
}
