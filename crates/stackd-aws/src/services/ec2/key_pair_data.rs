//! `data.aws_key_pair`: one key pair found by name, ID, tags or `filter`
//! blocks (one `DescribeKeyPairs` call), with its public key.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::key_pair::describe_key_pairs;
use super::{data_filters, exactly_one, filter_block};
use crate::args::s;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};
use crate::tags::tags_value;

/// `data.aws_key_pair`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_key_pair",
    schema,
    handler: &KeyPairData,
    grants: &[g(&["ec2:DescribeKeyPairs"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_key_pair")
        .doc("One EC2 key pair, found by its arguments.")
        .attr(AttrSchema::optional_computed("key_name", AttrType::String))
        .attr(AttrSchema::optional_computed("key_pair_id", AttrType::String))
        .attr(
            AttrSchema::optional("include_public_key", AttrType::Bool)
                .default(false)
                .doc("Also read the public key."),
        )
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
        .block(filter_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("fingerprint", AttrType::String))
        .attr(AttrSchema::computed("key_type", AttrType::String))
        .attr(AttrSchema::computed("public_key", AttrType::String))
        .attr(AttrSchema::computed("create_time", AttrType::String))
}

pub(crate) struct KeyPairData;

#[async_trait]
impl DataHandler for KeyPairData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let filters = data_filters(
            args,
            &[("key_name", "key-name"), ("key_pair_id", "key-pair-id")],
        );
        let key = exactly_one(
            describe_key_pairs(aws, filters).await?,
            "EC2 Key Pair",
            "DescribeKeyPairs",
        )?;
        let id = key.key_pair_id().unwrap_or_default();
        let include = args
            .get("include_public_key")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let account = aws.account_id().await.ok();
        let mut out = args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", s(Some(id))),
            ("key_pair_id", s(Some(id))),
            ("key_name", s(key.key_name())),
            (
                "arn",
                Value::from(aws.loc.ec2_arn(account.as_deref(), &format!("key-pair/{id}"))),
            ),
            ("fingerprint", s(key.key_fingerprint())),
            ("key_type", s(key.key_type().map(|t| t.as_str()))),
            (
                "public_key",
                if include {
                    s(key.public_key())
                } else {
                    Value::Null
                },
            ),
            (
                "create_time",
                s(key
                    .create_time()
                    .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                    .as_deref()),
            ),
            ("tags", tags_value(key.tags())),
        ] {
            out.insert(k.to_string(), v);
        }
        Ok(Value::Map(out))
    }
}
