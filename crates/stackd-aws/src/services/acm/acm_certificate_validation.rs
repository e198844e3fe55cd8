//! `aws_acm_certificate_validation`: no object of its own, the wait until
//! ACM has issued a certificate (its validation records in place). Resources
//! that need an issued certificate (an HTTPS listener) depend on it. Its ID
//! is the time the certificate was issued, as in Terraform.
//!
//! Refresh finds it while the certificate is issued; delete changes
//! nothing in the cloud.

use async_trait::async_trait;
use aws_sdk_acm::types::CertificateStatus;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::Timeouts;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{ACM, CERTIFICATE};
use crate::args::{opt_str, set_or_null, str_list};
use crate::context::Aws;
use crate::iam_util::{found, invalid, read_each, required, AwsResult};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{until, Deadline};

/// `aws_acm_certificate_validation`: its schema, its handler, and the IAM
/// grants of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_acm_certificate_validation",
    schema,
    handler: &AcmCertificateValidation,
    grants: &[g(&["acm:DescribeCertificate"], &[CERTIFICATE])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_acm_certificate_validation")
        .doc("Waits until an ACM certificate is issued.")
        .attr(
            AttrSchema::required("certificate_arn", AttrType::String)
                .force_new()
                .doc("The certificate to wait for."),
        )
        .attr(
            AttrSchema::optional(
                "validation_record_fqdns",
                AttrType::set_of(AttrType::String),
            )
            .force_new()
            .doc("The validation records made for it (checked by ACM, not here)."),
        )
        .timeouts(Timeouts {
            create_secs: 75 * 60,
            update_secs: 75 * 60,
            delete_secs: 60,
        })
}

/// The certificate's issue time, when it is issued; an error when ACM gave
/// up on it.
async fn issued_at(aws: &Aws, arn: &str) -> Result<Option<String>, ProviderError> {
    let Some(out) = found(
        aws.acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .aws(ACM, "DescribeCertificate"),
    )?
    else {
        return Ok(None);
    };
    let Some(c) = out.certificate() else {
        return Ok(None);
    };
    match c.status() {
        Some(CertificateStatus::Issued) => Ok(Some(
            c.issued_at()
                .and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
                .unwrap_or_else(|| "issued".to_string()),
        )),
        Some(
            st @ (CertificateStatus::Failed
            | CertificateStatus::ValidationTimedOut
            | CertificateStatus::Revoked
            | CertificateStatus::Expired),
        ) => Err(invalid(
            ACM,
            "DescribeCertificate",
            format!(
                "certificate {arn} is {}; it will not be issued{}",
                st.as_str(),
                c.failure_reason()
                    .map(|r| format!(" ({})", r.as_str()))
                    .unwrap_or_default()
            ),
        )),
        _ => Ok(None),
    }
}

fn validation_attrs(arn: &str, issued: &str, args: &Value) -> Value {
    Value::map([
        ("id", Value::from(issued)),
        ("certificate_arn", Value::from(arn)),
        (
            "validation_record_fqdns",
            set_or_null(str_list(args, "validation_record_fqdns")),
        ),
    ])
}

pub(crate) struct AcmCertificateValidation;

#[async_trait]
impl ResourceHandler for AcmCertificateValidation {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            let Some(arn) = opt_str(&k.attrs, "certificate_arn") else {
                return Ok(None);
            };
            Ok(found(issued_at(aws, arn).await)?
                .flatten()
                .map(|issued| LiveResource {
                    address: Some(k.address.clone()),
                    id: k.id.clone(),
                    attrs: validation_attrs(arn, &issued, &k.attrs),
                }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = required(&req.desired, "certificate_arn", ACM, "DescribeCertificate")?;
        let issued = until(
            &deadline,
            "DescribeCertificate",
            &format!("certificate {arn} to be issued"),
            || issued_at(aws, arn),
        )
        .await?;
        Ok(validation_attrs(arn, &issued, &req.desired))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces a new wait.
        self.create(aws, req).await
    }

    async fn delete(&self, _aws: &Aws, _req: &DeleteRequest) -> Result<(), ProviderError> {
        Ok(())
    }
}
