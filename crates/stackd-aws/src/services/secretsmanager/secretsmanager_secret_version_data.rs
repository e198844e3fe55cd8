//! `data.aws_secretsmanager_secret_version`: a secret's value (one
//! `GetSecretValue` call), by default the AWSCURRENT version. The value is
//! sensitive: plans and output hide it.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{SECRET, SECRETS};
use crate::args::{list, opt_str, s};
use crate::context::Aws;
use crate::iam_util::{iam_date, required, AwsResult};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};

/// `data.aws_secretsmanager_secret_version`: its schema, its handler and the
/// IAM grants of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_secretsmanager_secret_version",
    schema,
    handler: &SecretsmanagerSecretVersionData,
    grants: &[g(&["secretsmanager:GetSecretValue"], &[SECRET])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_secretsmanager_secret_version")
        .doc("A Secrets Manager secret's value.")
        .attr(AttrSchema::required("secret_id", AttrType::String).doc("The secret's ARN or name."))
        .attr(
            AttrSchema::optional_computed("version_id", AttrType::String)
                .doc("The version to read; the one in `version_stage` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("version_stage", AttrType::String)
                .doc("The stage to read (AWSCURRENT when neither it nor `version_id` is set)."),
        )
        .attr(
            AttrSchema::computed("secret_string", AttrType::String)
                .sensitive()
                .doc("The value as text."),
        )
        .attr(
            AttrSchema::computed("secret_binary", AttrType::String)
                .sensitive()
                .doc("The value as base64-encoded bytes."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed(
            "version_stages",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::computed("created_date", AttrType::String))
}

pub(crate) struct SecretsmanagerSecretVersionData;

#[async_trait]
impl DataHandler for SecretsmanagerSecretVersionData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let secret_id = required(&req.args, "secret_id", SECRETS, "GetSecretValue")?;
        let version_id = opt_str(&req.args, "version_id");
        let stage = opt_str(&req.args, "version_stage")
            .or(version_id.is_none().then_some("AWSCURRENT"));
        let out = aws
            .secretsmanager
            .get_secret_value()
            .secret_id(secret_id)
            .set_version_id(version_id.map(str::to_string))
            .set_version_stage(stage.map(str::to_string))
            .send()
            .await
            .aws(SECRETS, "GetSecretValue")
            .map_err(|mut e| {
                e.message = format!("{}: secret {secret_id:?}: {}", req.address, e.message);
                e
            })?;
        let binary = out
            .secret_binary()
            .map(|b| Value::from(aws_smithy_types::base64::encode(b.as_ref())))
            .unwrap_or(Value::Null);
        Ok(Value::map([
            (
                "id",
                Value::from(format!(
                    "{}|{}",
                    out.arn().unwrap_or(secret_id),
                    out.version_id().unwrap_or("")
                )),
            ),
            ("secret_id", Value::from(secret_id)),
            ("arn", s(out.arn())),
            ("version_id", s(out.version_id())),
            ("version_stage", s(stage)),
            ("secret_string", s(out.secret_string())),
            ("secret_binary", binary),
            ("version_stages", list(out.version_stages().to_vec())),
            ("created_date", iam_date(out.created_date())),
        ]))
    }
}
