//! `data.aws_secretsmanager_secret`: a secret's metadata by ARN or name
//! (one `DescribeSecret` call); its value is
//! `data.aws_secretsmanager_secret_version`.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::secretsmanager_secret::entry_tags;
use super::{SECRET, SECRETS};
use crate::args::{opt_str, s};
use crate::context::Aws;
use crate::iam_util::{invalid, tags_attr, AwsResult};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};

/// `data.aws_secretsmanager_secret`: its schema, its handler and the IAM
/// grants of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_secretsmanager_secret",
    schema,
    handler: &SecretsmanagerSecretData,
    grants: &[g(&["secretsmanager:DescribeSecret"], &[SECRET])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_secretsmanager_secret")
        .doc("A Secrets Manager secret, by ARN or name.")
        .attr(AttrSchema::optional_computed("arn", AttrType::String).doc("The secret's ARN."))
        .attr(AttrSchema::optional_computed("name", AttrType::String).doc("The secret's name."))
        .attr(AttrSchema::computed("description", AttrType::String))
        .attr(AttrSchema::computed("kms_key_id", AttrType::String))
        .attr(AttrSchema::computed("tags", AttrType::map_of(AttrType::String)))
}

pub(crate) struct SecretsmanagerSecretData;

#[async_trait]
impl DataHandler for SecretsmanagerSecretData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let secret_id = match (opt_str(&req.args, "arn"), opt_str(&req.args, "name")) {
            (Some(id), None) | (None, Some(id)) => id,
            _ => {
                return Err(invalid(
                    SECRETS,
                    "DescribeSecret",
                    format!("{}: set exactly one of `arn` and `name`", req.address),
                ))
            }
        };
        let out = aws
            .secretsmanager
            .describe_secret()
            .secret_id(secret_id)
            .send()
            .await
            .aws(SECRETS, "DescribeSecret")
            .map_err(|mut e| {
                e.message = format!("{}: secret {secret_id:?}: {}", req.address, e.message);
                e
            })?;
        Ok(Value::map([
            ("id", s(out.arn())),
            ("arn", s(out.arn())),
            ("name", s(out.name())),
            ("description", s(out.description())),
            ("kms_key_id", s(out.kms_key_id())),
            ("tags", tags_attr(entry_tags(out.tags()))),
        ]))
    }
}
