//! `data.aws_lb` (also `data.aws_alb`): a load balancer by ARN or name,
//! with the same attributes as the managed `aws_lb` and its tags as `tags`
//! (`DescribeLoadBalancers`, its attributes and its tags: three calls).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::lb::{describe_one, read_described};
use crate::args::opt_str;
use crate::context::Aws;
use crate::iam_util::invalid;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_lb`: its schema, its handler and the IAM grants of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_lb",
    schema,
    handler: &LbData,
    grants: &[
        g(
            &[
                "elasticloadbalancing:DescribeLoadBalancerAttributes",
                "elasticloadbalancing:DescribeLoadBalancers",
                "elasticloadbalancing:DescribeTags",
            ],
            ANY,
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let computed = |name| AttrSchema::computed(name, AttrType::String);
    ResourceSchema::data("aws_lb")
        .alias("aws_alb")
        .doc("A load balancer, by ARN or name.")
        .attr(AttrSchema::optional_computed("arn", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .attr(computed("arn_suffix"))
        .attr(computed("dns_name"))
        .attr(computed("zone_id"))
        .attr(computed("load_balancer_type"))
        .attr(computed("vpc_id"))
        .attr(computed("ip_address_type"))
        .attr(AttrSchema::computed("internal", AttrType::Bool))
        .attr(AttrSchema::computed(
            "security_groups",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::computed(
            "subnets",
            AttrType::set_of(AttrType::String),
        ))
}

pub(crate) struct LbData;

#[async_trait]
impl DataHandler for LbData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        const OP: &str = "DescribeLoadBalancers";
        let (arn, name) = (opt_str(&req.args, "arn"), opt_str(&req.args, "name"));
        if arn.is_none() && name.is_none() {
            return Err(invalid("elasticloadbalancing", OP, "set arn or name"));
        }
        let what = arn.or(name).unwrap_or_default();
        let not_found = || invalid("elasticloadbalancing", OP, format!("no load balancer {what:?}"));
        let lb = describe_one(aws, arn, name).await?.ok_or_else(not_found)?;
        let attrs = read_described(aws, &lb, &Value::Null)
            .await?
            .ok_or_else(not_found)?;
        Ok(as_data_tags(attrs))
    }
}
