//! `data.aws_caller_identity`: who the provider's credentials are
//! (STS `GetCallerIdentity`).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use crate::args::s;
use crate::context::Aws;
use crate::policy::{g, ANY};
use crate::services::DataHandler;
use crate::services::DataSource;

/// `aws_caller_identity`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_caller_identity",
    schema,
    handler: &CallerIdentity,
    grants: &[g(&["sts:GetCallerIdentity"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_caller_identity")
        .doc("The account, ARN and user ID of the caller.")
        .attr(AttrSchema::computed("account_id", AttrType::String).doc("The account ID."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The caller's ARN."))
        .attr(AttrSchema::computed("user_id", AttrType::String).doc("The caller's unique ID."))
}

fn identity_attrs(account: Option<&str>, arn: Option<&str>, user_id: Option<&str>) -> Value {
    Value::map([
        ("id", s(account)),
        ("account_id", s(account)),
        ("arn", s(arn)),
        ("user_id", s(user_id)),
    ])
}

pub(crate) struct CallerIdentity;

#[async_trait]
impl DataHandler for CallerIdentity {
    /// The identity looked up once per run and shared by every instance
    /// of this data source (and by the ARNs the provider builds).
    async fn read(&self, aws: &Aws, _req: &DataRequest) -> Result<Value, ProviderError> {
        let me = aws.identity().await?;
        Ok(identity_attrs(
            Some(&me.account),
            Some(&me.arn),
            Some(&me.user_id),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_id_is_the_account() {
        let v = identity_attrs(Some("123"), Some("arn:aws:iam::123:user/x"), Some("AID"));
        assert_eq!(v.get("id"), Some(&Value::from("123")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
