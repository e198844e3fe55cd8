//! `aws_acm_certificate`: a public certificate ACM issues once its domains
//! are validated (by DNS records, see `domain_validation_options`, or by
//! email). Its ID is its ARN, as in Terraform (also the import ID).
//!
//! The request carries an idempotency token from the create's, so a
//! request retried after a lost answer returns the same certificate. The
//! create waits until ACM has published every domain's validation record,
//! as Terraform does; `aws_acm_certificate_validation` waits for the
//! issue. A refresh reads each known certificate and its tags
//! (`DescribeCertificate`, `ListTagsForCertificate`): ACM has no batch read
//! of either. Imported certificates (`private_key`, `certificate_body`) are
//! not served yet.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_acm::types::{
    CertificateDetail, KeyAlgorithm, Tag, ValidationMethod,
};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Check, Nesting};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{ACM, CERTIFICATE};
use crate::args::{hex_digest, list, opt_str, s, set_or_null, sort_blocks, str_list};
use crate::context::Aws;
use crate::error::after_create;
use crate::iam_util::{
    address_of, found, ignore_gone, invalid, read_each, required, tags_attr, update_id, AwsResult,
};
use crate::policy::{g, ANY};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, reconcile_by, stack_tags_by_arn};
use crate::wait::{retry, until, Deadline};

/// `aws_acm_certificate`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_acm_certificate",
    schema,
    handler: &AcmCertificate,
    grants: &[
        g(&["acm:RequestCertificate"], &[CERTIFICATE]),
        // The certificates' tags come in one chain from the Tagging API.
        g(&["tag:GetResources"], ANY),
        g(
            &[
                "acm:AddTagsToCertificate",
                "acm:DeleteCertificate",
                "acm:DescribeCertificate",
                "acm:ListTagsForCertificate",
                "acm:RemoveTagsFromCertificate",
            ],
            &[CERTIFICATE],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_acm_certificate")
        .doc("A public ACM certificate, validated by DNS or email.")
        .attr(
            AttrSchema::required("domain_name", AttrType::String)
                .force_new()
                .doc("The certificate's domain, e.g. example.com or *.example.com."),
        )
        .attr(
            AttrSchema::optional_computed(
                "subject_alternative_names",
                AttrType::set_of(AttrType::String),
            )
            .force_new()
            .doc("More domains the certificate covers."),
        )
        .attr(
            AttrSchema::optional_computed("validation_method", AttrType::String)
                .force_new()
                .check(Check::OneOf(vec!["DNS", "EMAIL"])),
        )
        .attr(
            AttrSchema::optional_computed("key_algorithm", AttrType::String)
                .force_new()
                .doc("RSA_2048 (the default), EC_prime256v1, EC_secp384r1, ..."),
        )
        .block(
            BlockSchema::new("options", Nesting::Single)
                .computed_when_absent()
                .attr(
                    AttrSchema::optional(
                        "certificate_transparency_logging_preference",
                        AttrType::String,
                    )
                    .default("ENABLED")
                    .check(Check::OneOf(vec!["ENABLED", "DISABLED"]))
                    .deprecated(
                        "nothing: AWS no longer lets a certificate opt out of \
                         transparency logging, so stackd sends no preference",
                    ),
                ),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("status", AttrType::String))
        .attr(AttrSchema::computed("type", AttrType::String))
        .attr(AttrSchema::computed("not_after", AttrType::String))
        .attr(AttrSchema::computed("not_before", AttrType::String))
        .attr(AttrSchema::computed(
            "validation_emails",
            AttrType::list_of(AttrType::String),
        ))
        .block(
            BlockSchema::new("domain_validation_options", Nesting::Set)
                .computed_when_absent()
                .attr(AttrSchema::computed("domain_name", AttrType::String))
                .attr(AttrSchema::computed("resource_record_name", AttrType::String))
                .attr(AttrSchema::computed("resource_record_type", AttrType::String))
                .attr(AttrSchema::computed("resource_record_value", AttrType::String)),
        )
        .taggable()
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Value {
    s(t.and_then(|t| t.fmt(aws_smithy_types::date_time::Format::DateTime).ok())
        .as_deref())
}

fn certificate_attrs(
    c: &CertificateDetail,
    tags: &BTreeMap<String, String>,
    args: Option<&Value>,
) -> Value {
    let arn = c.certificate_arn().unwrap_or_default();
    let validations: Vec<Value> = c
        .domain_validation_options()
        .iter()
        .filter_map(|o| {
            let r = o.resource_record()?;
            Some(Value::map([
                ("domain_name", Value::from(o.domain_name())),
                ("resource_record_name", Value::from(r.name())),
                ("resource_record_type", Value::from(r.r#type().as_str())),
                ("resource_record_value", Value::from(r.value())),
            ]))
        })
        .collect();
    let emails: Vec<String> = c
        .domain_validation_options()
        .iter()
        .flat_map(|o| o.validation_emails().iter().cloned())
        .collect();
    let method = c
        .domain_validation_options()
        .iter()
        .find_map(|o| o.validation_method())
        .map(ValidationMethod::as_str);
    // ACM lists the domain name among the alternative names; Terraform
    // leaves it out.
    let domain = c.domain_name().unwrap_or_default();
    let sans: Vec<String> = c
        .subject_alternative_names()
        .iter()
        .filter(|n| *n != domain)
        .cloned()
        .collect();
    // Echoed: AWS no longer takes a preference (see the schema).
    let options = args
        .and_then(|a| a.get("options"))
        .filter(|v| !v.is_null())
        .cloned()
        .unwrap_or(Value::Null);
    Value::map([
        ("id", Value::from(arn)),
        ("arn", Value::from(arn)),
        ("domain_name", Value::from(domain)),
        ("subject_alternative_names", set_or_null(sans)),
        ("validation_method", s(method)),
        ("key_algorithm", s(c.key_algorithm().map(KeyAlgorithm::as_str))),
        ("options", options),
        ("status", s(c.status().map(|st| st.as_str()))),
        ("type", s(c.r#type().map(|t| t.as_str()))),
        ("not_after", time(c.not_after())),
        ("not_before", time(c.not_before())),
        ("validation_emails", list(emails)),
        ("domain_validation_options", Value::List(sort_blocks(validations))),
        ("tags_all", tags_attr(tags.clone())),
    ])
}

async fn describe(aws: &Aws, arn: &str) -> Result<Option<CertificateDetail>, ProviderError> {
    Ok(found(
        aws.acm
            .describe_certificate()
            .certificate_arn(arn)
            .send()
            .await
            .aws(ACM, "DescribeCertificate"),
    )?
    .and_then(|out| out.certificate().cloned()))
}

pub(crate) async fn tags_of(aws: &Aws, arn: &str) -> Result<BTreeMap<String, String>, ProviderError> {
    let out = aws
        .acm
        .list_tags_for_certificate()
        .certificate_arn(arn)
        .send()
        .await
        .aws(ACM, "ListTagsForCertificate")?;
    Ok(out
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().unwrap_or_default().to_string()))
        .collect())
}

async fn read(aws: &Aws, arn: &str, args: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(c) = describe(aws, arn).await? else {
        return Ok(None);
    };
    let tags = found(tags_of(aws, arn).await)?.unwrap_or_default();
    Ok(Some(certificate_attrs(&c, &tags, Some(args))))
}

/// True when every DNS-validated domain has its validation record.
fn records_published(c: &CertificateDetail) -> bool {
    c.domain_validation_options().iter().all(|o| {
        o.validation_method() != Some(&ValidationMethod::Dns) || o.resource_record().is_some()
    })
}

fn sdk_tags(d: &Value) -> Result<Vec<Tag>, ProviderError> {
    desired_tags(d)
        .into_iter()
        .map(|(k, v)| {
            Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| invalid(ACM, "RequestCertificate", e.to_string()))
        })
        .collect()
}

async fn reconcile_tags(
    aws: &Aws,
    arn: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    reconcile_by(
        prior,
        desired,
        deadline,
        |keys| async move {
            let tags = keys
                .into_iter()
                .map(|k| Tag::builder().key(k).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(ACM, "RemoveTagsFromCertificate", e.to_string()))?;
            aws.acm
                .remove_tags_from_certificate()
                .certificate_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .aws(ACM, "RemoveTagsFromCertificate")
                .map(|_| ())
        },
        |tags| async move {
            let tags = tags
                .into_iter()
                .map(|(k, v)| Tag::builder().key(k).value(v).build())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(ACM, "AddTagsToCertificate", e.to_string()))?;
            aws.acm
                .add_tags_to_certificate()
                .certificate_arn(arn)
                .set_tags(Some(tags))
                .send()
                .await
                .aws(ACM, "AddTagsToCertificate")
                .map(|_| ())
        },
    )
    .await
}

pub(crate) struct AcmCertificate;

#[async_trait]
impl ResourceHandler for AcmCertificate {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.is_empty() {
            return Ok(Vec::new());
        }
        // The certificates' tags in one chain (the type's second); one
        // missing from it (its stack tags removed, or not indexed yet) is
        // read on its own.
        let tagged = stack_tags_by_arn(aws, "acm", &req.owner).await?;
        let tagged = &tagged;
        read_each(&req.known, |k| async move {
            let Some(c) = describe(aws, &k.id).await? else {
                return Ok(None);
            };
            let tags = match tagged.get(&k.id) {
                Some(tags) => tags.clone(),
                None => found(tags_of(aws, &k.id).await)?.unwrap_or_default(),
            };
            Ok(Some(LiveResource {
                address: address_of(&k.id, &tags, &req.known),
                attrs: certificate_attrs(&c, &tags, Some(&k.attrs)),
                id: k.id.clone(),
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "RequestCertificate";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let domain = required(d, "domain_name", ACM, OP)?;
        let sans = str_list(d, "subject_alternative_names");
        let call = aws
            .acm
            .request_certificate()
            .domain_name(domain)
            .set_subject_alternative_names((!sans.is_empty()).then_some(sans))
            .validation_method(ValidationMethod::from(
                opt_str(d, "validation_method").unwrap_or("DNS"),
            ))
            .set_key_algorithm(opt_str(d, "key_algorithm").map(KeyAlgorithm::from))
            // At most 32 word characters; the same for a retried create.
            .idempotency_token(&hex_digest(&req.idempotency_token)[..32])
            .set_tags(Some(sdk_tags(d)?));
        let out = retry(&deadline, || async { call.clone().send().await.aws(ACM, OP) }).await?;
        let arn = out
            .certificate_arn()
            .ok_or_else(|| invalid(ACM, OP, "the answer carries no certificate ARN"))?
            .to_string();
        until(
            &deadline,
            "DescribeCertificate",
            &format!("certificate {arn} to publish its validation records"),
            || async {
                Ok(match describe(aws, &arn).await? {
                    Some(c) if records_published(&c) => read(aws, &arn, d).await?,
                    _ => None,
                })
            },
        )
        .await
        .map_err(|e| after_create(&arn, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let arn = update_id(req.id.as_deref(), ACM, "AddTagsToCertificate")?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        reconcile_tags(aws, arn, &prior, d, &deadline).await?;
        read(aws, arn, d)
            .await?
            .ok_or_else(|| crate::iam_util::gone(ACM, "DescribeCertificate", arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // A listener that used the certificate, deleted a moment ago, may
        // still hold it (ResourceInUseException, retried).
        ignore_gone(
            retry(&deadline, || async {
                aws.acm
                    .delete_certificate()
                    .certificate_arn(&req.id)
                    .send()
                    .await
                    .aws(ACM, "DeleteCertificate")
            })
            .await,
        )
    }
}
