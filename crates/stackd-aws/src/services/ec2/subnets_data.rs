//! `data.aws_subnets`: the IDs of the subnets matching tags and `filter`
//! blocks (one `DescribeSubnets` chain), sorted; none is not an error.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::subnet::describe_subnets;
use super::{data_filters, filter_block};
use crate::args::list;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};

/// `data.aws_subnets`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_subnets",
    schema,
    handler: &SubnetsData,
    grants: &[g(&["ec2:DescribeSubnets"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_subnets")
        .doc("The IDs of the subnets matching tags and filters.")
        .attr(AttrSchema::optional(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .block(filter_block())
        .attr(AttrSchema::computed(
            "ids",
            AttrType::list_of(AttrType::String),
        ))
}

pub(crate) struct SubnetsData;

#[async_trait]
impl DataHandler for SubnetsData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let mut ids: Vec<String> = describe_subnets(aws, data_filters(args, &[]))
            .await?
            .iter()
            .filter_map(|s| s.subnet_id().map(str::to_string))
            .collect();
        ids.sort();
        let mut out = args.as_map().cloned().unwrap_or_default();
        out.insert("id".into(), Value::from(aws.loc.region.as_str()));
        out.insert("ids".into(), list(ids));
        Ok(Value::Map(out))
    }
}
