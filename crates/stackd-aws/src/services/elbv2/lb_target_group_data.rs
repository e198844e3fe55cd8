//! `data.aws_lb_target_group` (also `data.aws_alb_target_group`): a target
//! group by ARN or name, with the same attributes as the managed type and
//! its tags as `tags`.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::lb_target_group::{describe, read_described};
use crate::args::opt_str;
use crate::context::Aws;
use crate::iam_util::invalid;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_lb_target_group`: its schema, its handler and the IAM grants
/// of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_lb_target_group",
    schema,
    handler: &LbTargetGroupData,
    grants: &[
        g(
            &[
                "elasticloadbalancing:DescribeTags",
                "elasticloadbalancing:DescribeTargetGroupAttributes",
                "elasticloadbalancing:DescribeTargetGroups",
            ],
            ANY,
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let computed = |name| AttrSchema::computed(name, AttrType::String);
    ResourceSchema::data("aws_lb_target_group")
        .alias("aws_alb_target_group")
        .doc("A target group, by ARN or name.")
        .attr(AttrSchema::optional_computed("arn", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .attr(computed("arn_suffix"))
        .attr(computed("protocol"))
        .attr(computed("target_type"))
        .attr(computed("vpc_id"))
        .attr(AttrSchema::computed("port", AttrType::Number))
}

pub(crate) struct LbTargetGroupData;

#[async_trait]
impl DataHandler for LbTargetGroupData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        const OP: &str = "DescribeTargetGroups";
        let (arn, name) = (opt_str(&req.args, "arn"), opt_str(&req.args, "name"));
        if arn.is_none() && name.is_none() {
            return Err(invalid("elasticloadbalancing", OP, "set arn or name"));
        }
        let what = arn.or(name).unwrap_or_default();
        let not_found = || invalid("elasticloadbalancing", OP, format!("no target group {what:?}"));
        let found = describe(
            aws,
            arn.map(|a| vec![a.to_string()]),
            name.map(|n| vec![n.to_string()]),
        )
        .await?;
        let tg = found.first().ok_or_else(not_found)?;
        let attrs = read_described(aws, tg, &Value::Null)
            .await?
            .ok_or_else(not_found)?;
        Ok(as_data_tags(attrs))
    }
}
