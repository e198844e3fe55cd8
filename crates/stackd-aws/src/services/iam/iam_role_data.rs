//! `data.aws_iam_role`: a role by name (one `GetRole` call), with the same
//! attributes as the managed `aws_iam_role` and its tags as `tags`.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::iam_role::{get_role, role_attrs};
use super::ROLE;
use crate::context::Aws;
use crate::iam_util::{required, IAM};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_iam_role`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_iam_role",
    schema,
    handler: &IamRoleData,
    grants: &[g(&["iam:GetRole"], &[ROLE])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_iam_role")
        .doc("An IAM role, by name.")
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("assume_role_policy", AttrType::Json))
        .attr(AttrSchema::computed("create_date", AttrType::String))
        .attr(AttrSchema::computed("description", AttrType::String))
        .attr(AttrSchema::computed("max_session_duration", AttrType::Number))
        .attr(AttrSchema::computed("path", AttrType::String))
        .attr(AttrSchema::computed("permissions_boundary", AttrType::String))
        .attr(AttrSchema::computed("unique_id", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
}

pub(crate) struct IamRoleData;

#[async_trait]
impl DataHandler for IamRoleData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let name = required(&req.args, "name", IAM, "GetRole")?;
        let role = get_role(aws, name).await?;
        Ok(as_data_tags(role_attrs(&role, None)))
    }
}
