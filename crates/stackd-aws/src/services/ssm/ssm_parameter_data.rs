//! `data.aws_ssm_parameter`: reads one parameter, e.g. the public
//! `/aws/service/ami-amazon-linux-latest/...` parameters that name the
//! latest Amazon Linux AMI.

use async_trait::async_trait;
use aws_sdk_ssm::types::{Parameter, ParameterType};
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::ssm_parameter::SSM;
use super::{AWS_PUBLIC_PARAMETER, PARAMETER};
use crate::args::{bool_or, num, s};
use crate::context::Aws;
use crate::iam_util::{invalid, required, AwsResult};
use crate::policy::g;
use crate::services::DataHandler;
use crate::services::DataSource;

/// `aws_ssm_parameter`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_ssm_parameter",
    schema,
    handler: &SsmParameterData,
    grants: &[g(&["ssm:GetParameter"], &[PARAMETER, AWS_PUBLIC_PARAMETER])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_ssm_parameter")
        .doc("One SSM parameter's value.")
        .attr(AttrSchema::required("name", AttrType::String).doc("The parameter name."))
        .attr(
            AttrSchema::optional("with_decryption", AttrType::Bool)
                .default(true)
                .doc("Decrypt SecureString values."),
        )
        .attr(
            AttrSchema::computed("value", AttrType::String)
                .sensitive()
                .doc("The value."),
        )
        .attr(
            AttrSchema::computed("insecure_value", AttrType::String)
                .doc("The value, unless it is a SecureString."),
        )
        .attr(
            AttrSchema::computed("type", AttrType::String)
                .doc("String, StringList or SecureString."),
        )
        .attr(AttrSchema::computed("version", AttrType::Number).doc("The value's version."))
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The parameter's ARN."))
}

fn parameter_value(args: &Value, p: &Parameter) -> Value {
    let secure = p.r#type() == Some(&ParameterType::SecureString);
    let mut out = args.as_map().cloned().unwrap_or_default();
    for (k, v) in [
        ("id", s(p.name())),
        ("name", s(p.name())),
        ("value", s(p.value())),
        (
            "insecure_value",
            if secure { Value::Null } else { s(p.value()) },
        ),
        ("type", s(p.r#type().map(ParameterType::as_str))),
        ("version", num(p.version())),
        ("arn", s(p.arn())),
        (
            "with_decryption",
            Value::Bool(bool_or(args, "with_decryption", true)),
        ),
    ] {
        out.insert(k.to_string(), v);
    }
    Value::Map(out)
}

pub(crate) struct SsmParameterData;

#[async_trait]
impl DataHandler for SsmParameterData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let name = required(&req.args, "name", SSM, "GetParameter")?;
        let out = aws
            .ssm
            .get_parameter()
            .name(name)
            .with_decryption(bool_or(&req.args, "with_decryption", true))
            .send()
            .await
            .aws(SSM, "GetParameter")
            .map_err(|mut e| {
                e.message = format!("{}: parameter {name:?}: {}", req.address, e.message);
                e
            })?;
        let p = out.parameter().ok_or_else(|| {
            invalid(
                SSM,
                "GetParameter",
                format!("no parameter {name:?} in the answer"),
            )
        })?;
        Ok(parameter_value(&req.args, p))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secure_values_are_not_shown_as_insecure() {
        let p = Parameter::builder()
            .name("/x")
            .r#type(ParameterType::SecureString)
            .value("s3cret")
            .version(1)
            .build();
        let v = parameter_value(&Value::map([("name", Value::from("/x"))]), &p);
        assert_eq!(v.get("value"), Some(&Value::from("s3cret")));
        assert_eq!(v.get("insecure_value"), Some(&Value::Null));
        assert_eq!(v.get("id"), Some(&Value::from("/x")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
        let p = Parameter::builder()
            .name("/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64")
            .r#type(ParameterType::String)
            .value("ami-123")
            .version(7)
            .build();
        let v = parameter_value(&Value::Null, &p);
        assert_eq!(v.get("insecure_value"), Some(&Value::from("ami-123")));
    }
}
