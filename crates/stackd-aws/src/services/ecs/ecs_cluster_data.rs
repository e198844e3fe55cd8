//! `data.aws_ecs_cluster`: a cluster by name (one `DescribeClusters`
//! call), with its settings and tags.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::ecs_cluster::{cluster_attrs, describe_one};
use super::CLUSTER;
use crate::context::Aws;
use crate::iam_util::{invalid, required};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_ecs_cluster`: its schema, its handler and the IAM grants of
/// its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_ecs_cluster",
    schema,
    handler: &EcsClusterData,
    grants: &[g(&["ecs:DescribeClusters"], &[CLUSTER])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_ecs_cluster")
        .doc("An ECS cluster, by name.")
        .attr(AttrSchema::required("cluster_name", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("status", AttrType::String))
        .attr(AttrSchema::computed("pending_tasks_count", AttrType::Number))
        .attr(AttrSchema::computed("running_tasks_count", AttrType::Number))
        .attr(AttrSchema::computed(
            "registered_container_instances_count",
            AttrType::Number,
        ))
        .block(
            BlockSchema::new("setting", Nesting::Set)
                .computed_when_absent()
                .attr(AttrSchema::computed("name", AttrType::String))
                .attr(AttrSchema::computed("value", AttrType::String)),
        )
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
}

pub(crate) struct EcsClusterData;

#[async_trait]
impl DataHandler for EcsClusterData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let name = required(&req.args, "cluster_name", "ecs", "DescribeClusters")?;
        let cluster = describe_one(aws, name).await?.ok_or_else(|| {
            invalid("ecs", "DescribeClusters", format!("no ECS cluster named {name:?} is active"))
        })?;
        let mut attrs = as_data_tags(cluster_attrs(&cluster));
        if let Value::Map(m) = &mut attrs {
            m.insert("cluster_name".into(), Value::from(name));
            m.insert("status".into(), Value::from(cluster.status()));
            for (key, n) in [
                ("pending_tasks_count", cluster.pending_tasks_count()),
                ("running_tasks_count", cluster.running_tasks_count()),
                (
                    "registered_container_instances_count",
                    cluster.registered_container_instances_count(),
                ),
            ] {
                m.insert(key.into(), Value::Number(f64::from(n)));
            }
        }
        Ok(attrs)
    }
}
