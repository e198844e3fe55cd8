//! `data.aws_acm_certificate`: an issued certificate by domain, e.g. one
//! another stack or the console made, for a listener. One
//! `ListCertificates` chain finds the candidates (the summaries carry type,
//! key algorithm and dates); tags are read only when the spec filters on
//! them, and for the certificate found.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_acm::types::{CertificateStatus, CertificateSummary, Filters, KeyAlgorithm};
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::acm_certificate::tags_of;
use super::{ACM, CERTIFICATE};
use crate::args::{bool_or, opt_str, s, str_list, str_map};
use crate::context::Aws;
use crate::iam_util::{invalid, tags_attr, AwsResult};
use crate::policy::{g, ANY};
use crate::services::{DataHandler, DataSource};

/// `data.aws_acm_certificate`: its schema, its handler and the IAM grants
/// of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_acm_certificate",
    schema,
    handler: &AcmCertificateData,
    grants: &[
        g(&["acm:ListCertificates"], ANY),
        g(&["acm:ListTagsForCertificate"], &[CERTIFICATE]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_acm_certificate")
        .doc("An ACM certificate, by domain.")
        .attr(
            AttrSchema::optional("domain", AttrType::String)
                .doc("The certificate's domain name (its first name)."),
        )
        .attr(
            AttrSchema::optional("statuses", AttrType::list_of(AttrType::String))
                .doc("Statuses to match; ISSUED when unset."),
        )
        .attr(
            AttrSchema::optional("types", AttrType::list_of(AttrType::String))
                .doc("AMAZON_ISSUED, IMPORTED or PRIVATE."),
        )
        .attr(
            AttrSchema::optional("key_types", AttrType::set_of(AttrType::String))
                .doc("Key algorithms to match (RSA_2048 when unset, as ACM lists)."),
        )
        .attr(
            AttrSchema::optional("most_recent", AttrType::Bool)
                .default(false)
                .doc("Take the newest of several matches instead of failing."),
        )
        .attr(
            AttrSchema::optional_computed("tags", AttrType::map_of(AttrType::String))
                .doc("Tags the certificate must have; its tags once found."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("status", AttrType::String))
}

/// When the certificate was issued, imported or requested, for
/// `most_recent`.
fn issued_secs(c: &CertificateSummary) -> i64 {
    c.issued_at()
        .or(c.imported_at())
        .or(c.created_at())
        .map(|t| t.secs())
        .unwrap_or(0)
}

async fn list(aws: &Aws, args: &Value) -> Result<Vec<CertificateSummary>, ProviderError> {
    let mut statuses = str_list(args, "statuses");
    if statuses.is_empty() {
        statuses.push("ISSUED".into());
    }
    let key_types = str_list(args, "key_types");
    let includes = (!key_types.is_empty()).then(|| {
        Filters::builder()
            .set_key_types(Some(
                key_types.iter().map(|k| KeyAlgorithm::from(k.as_str())).collect(),
            ))
            .build()
    });
    let pages = aws
        .acm
        .list_certificates()
        .set_certificate_statuses(Some(
            statuses
                .iter()
                .map(|st| CertificateStatus::from(st.as_str()))
                .collect(),
        ))
        .set_includes(includes)
        .into_paginator()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(ACM, "ListCertificates")?;
    Ok(pages
        .into_iter()
        .flat_map(|p| p.certificate_summary_list.unwrap_or_default())
        .collect())
}

pub(crate) struct AcmCertificateData;

#[async_trait]
impl DataHandler for AcmCertificateData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let domain = opt_str(args, "domain");
        let types = str_list(args, "types");
        let want_tags = str_map(args, "tags");
        let mut found = Vec::new();
        for c in list(aws, args).await? {
            if domain.is_some_and(|d| c.domain_name() != Some(d)) {
                continue;
            }
            if !types.is_empty()
                && !c.r#type().is_some_and(|t| types.iter().any(|x| x == t.as_str()))
            {
                continue;
            }
            let arn = c.certificate_arn().unwrap_or_default().to_string();
            let tags = match want_tags.is_empty() {
                true => None,
                false => Some(tags_of(aws, &arn).await?),
            };
            if let Some(tags) = &tags {
                if !want_tags.iter().all(|(k, v)| tags.get(k) == Some(v)) {
                    continue;
                }
            }
            found.push((c, tags));
        }
        if found.len() > 1 && !bool_or(args, "most_recent", false) {
            return Err(invalid(
                ACM,
                "ListCertificates",
                format!(
                    "{}: {} certificates match; narrow the search or set `most_recent = true`",
                    req.address,
                    found.len()
                ),
            ));
        }
        let (c, tags) = found
            .into_iter()
            .max_by_key(|(c, _)| issued_secs(c))
            .ok_or_else(|| {
                invalid(
                    ACM,
                    "ListCertificates",
                    format!(
                        "{}: no certificate matches{}",
                        req.address,
                        domain.map(|d| format!(" domain {d:?}")).unwrap_or_default()
                    ),
                )
            })?;
        let arn = c.certificate_arn().unwrap_or_default().to_string();
        let tags: BTreeMap<String, String> = match tags {
            Some(t) => t,
            None => tags_of(aws, &arn).await?,
        };
        let mut out = args.as_map().cloned().unwrap_or_default();
        for (k, v) in [
            ("id", Value::from(arn.as_str())),
            ("arn", Value::from(arn.as_str())),
            ("domain", s(c.domain_name())),
            ("status", s(c.status().map(|st| st.as_str()))),
            ("most_recent", Value::Bool(bool_or(args, "most_recent", false))),
            ("tags", tags_attr(tags)),
        ] {
            out.insert(k.to_string(), v);
        }
        Ok(Value::Map(out))
    }
}
