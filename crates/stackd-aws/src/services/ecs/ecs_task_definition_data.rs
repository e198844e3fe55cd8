//! `data.aws_ecs_task_definition`: a task definition revision by family
//! (its latest active revision), `family:revision` or ARN, with one
//! `DescribeTaskDefinition` call; e.g. to deploy the revision a pipeline
//! registered outside the stack.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::ecs_task_definition::{describe, td_attrs};
use super::TASK_DEFINITION;
use crate::context::Aws;
use crate::iam_util::{invalid, required};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};

/// `data.aws_ecs_task_definition`: its schema, its handler and the IAM
/// grants of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_ecs_task_definition",
    schema,
    handler: &EcsTaskDefinitionData,
    grants: &[g(&["ecs:DescribeTaskDefinition"], &[TASK_DEFINITION])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_ecs_task_definition")
        .doc("An ECS task definition revision.")
        .attr(
            AttrSchema::required("task_definition", AttrType::String)
                .doc("A family (its latest active revision), `family:revision` or an ARN."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("arn_without_revision", AttrType::String))
        .attr(AttrSchema::computed("family", AttrType::String))
        .attr(AttrSchema::computed("revision", AttrType::Number))
        .attr(AttrSchema::computed("status", AttrType::String))
        .attr(AttrSchema::computed("network_mode", AttrType::String))
        .attr(AttrSchema::computed("execution_role_arn", AttrType::String))
        .attr(AttrSchema::computed("task_role_arn", AttrType::String))
        .attr(AttrSchema::computed("cpu", AttrType::String))
        .attr(AttrSchema::computed("memory", AttrType::String))
        .attr(AttrSchema::computed("container_definitions", AttrType::String))
}

pub(crate) struct EcsTaskDefinitionData;

#[async_trait]
impl DataHandler for EcsTaskDefinitionData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let which = required(&req.args, "task_definition", "ecs", "DescribeTaskDefinition")?;
        let found = describe(aws, which).await?.ok_or_else(|| {
            invalid(
                "ecs",
                "DescribeTaskDefinition",
                format!("{}: no task definition {which:?}", req.address),
            )
        })?;
        let status = found.def.status().map(|s| s.as_str().to_string());
        let all = td_attrs(&found);
        let mut out = req.args.as_map().cloned().unwrap_or_default();
        for key in [
            "arn",
            "arn_without_revision",
            "family",
            "revision",
            "network_mode",
            "execution_role_arn",
            "task_role_arn",
            "cpu",
            "memory",
            "container_definitions",
        ] {
            out.insert(key.into(), all.get(key).cloned().unwrap_or(Value::Null));
        }
        out.insert(
            "id".into(),
            all.get("arn").cloned().unwrap_or(Value::Null),
        );
        out.insert("status".into(), Value::from(status));
        Ok(Value::Map(out))
    }
}
