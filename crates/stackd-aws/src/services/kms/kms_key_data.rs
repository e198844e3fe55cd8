//! `data.aws_kms_key`: a KMS key's metadata by key ID, key ARN, alias name
//! or alias ARN (one `DescribeKey` call, which takes all four).

use async_trait::async_trait;
use aws_sdk_kms::types::{
    ExpirationModelType, KeyManagerType, KeySpec, KeyState, KeyUsageType,
    OriginType,
};
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{describe_key, KEY, KMS};
use crate::args::{num, s};
use crate::context::Aws;
use crate::iam_util::{iam_date, invalid, required};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};

/// `data.aws_kms_key`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_kms_key",
    schema,
    handler: &KmsKeyData,
    grants: &[g(&["kms:DescribeKey"], &[KEY])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let computed = |name| AttrSchema::computed(name, AttrType::String);
    ResourceSchema::data("aws_kms_key")
        .doc("A KMS key, by key ID, key ARN, alias name or alias ARN.")
        .attr(
            AttrSchema::required("key_id", AttrType::String)
                .doc("The key's ID or ARN, or an alias name (`alias/…`) or ARN."),
        )
        .attr(
            AttrSchema::optional("grant_tokens", AttrType::list_of(AttrType::String))
                .doc("Grant tokens (not sent: DescribeKey needs none)."),
        )
        .attr(computed("arn"))
        .attr(computed("aws_account_id"))
        .attr(computed("cloud_hsm_cluster_id"))
        .attr(computed("creation_date"))
        .attr(computed("custom_key_store_id"))
        .attr(computed("customer_master_key_spec"))
        .attr(computed("deletion_date"))
        .attr(computed("description"))
        .attr(AttrSchema::computed("enabled", AttrType::Bool))
        .attr(computed("expiration_model"))
        .attr(computed("key_manager"))
        .attr(computed("key_spec"))
        .attr(computed("key_state"))
        .attr(computed("key_usage"))
        .attr(AttrSchema::computed("multi_region", AttrType::Bool))
        .attr(computed("origin"))
        .attr(AttrSchema::computed(
            "pending_deletion_window_in_days",
            AttrType::Number,
        ))
        .attr(computed("valid_to"))
}

pub(crate) struct KmsKeyData;

#[async_trait]
impl DataHandler for KmsKeyData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let key = required(&req.args, "key_id", KMS, "DescribeKey")?;
        let m = describe_key(aws, key)
            .await
            .map_err(|mut e| {
                e.message = format!("{}: KMS key {key:?}: {}", req.address, e.message);
                e
            })?
            .ok_or_else(|| {
                invalid(
                    KMS,
                    "DescribeKey",
                    format!("{}: no KMS key {key:?}", req.address),
                )
            })?;
        Ok(Value::map([
            ("id", Value::from(m.key_id())),
            ("key_id", Value::from(key)),
            (
                "grant_tokens",
                req.args.get("grant_tokens").cloned().unwrap_or(Value::Null),
            ),
            ("arn", s(m.arn())),
            ("aws_account_id", s(m.aws_account_id())),
            ("cloud_hsm_cluster_id", s(m.cloud_hsm_cluster_id())),
            ("creation_date", iam_date(m.creation_date())),
            ("custom_key_store_id", s(m.custom_key_store_id())),
            (
                "customer_master_key_spec",
                s(m.key_spec().map(KeySpec::as_str)),
            ),
            ("deletion_date", iam_date(m.deletion_date())),
            ("description", s(m.description())),
            ("enabled", Value::Bool(m.enabled())),
            (
                "expiration_model",
                s(m.expiration_model().map(ExpirationModelType::as_str)),
            ),
            ("key_manager", s(m.key_manager().map(KeyManagerType::as_str))),
            ("key_spec", s(m.key_spec().map(KeySpec::as_str))),
            ("key_state", s(m.key_state().map(KeyState::as_str))),
            ("key_usage", s(m.key_usage().map(KeyUsageType::as_str))),
            ("multi_region", Value::Bool(m.multi_region().unwrap_or(false))),
            ("origin", s(m.origin().map(OriginType::as_str))),
            (
                "pending_deletion_window_in_days",
                m.pending_deletion_window_in_days().map_or(Value::Null, num),
            ),
            ("valid_to", iam_date(m.valid_to())),
        ]))
    }
}
