//! `aws_ecrpublic_repository`: a repository in the ECR Public gallery. The
//! ID is the repository's name, as with the Terraform provider (also the
//! import ID).
//!
//! A refresh lists the registry's repositories with one
//! `DescribeRepositories` chain; each known repository's catalog data
//! (`GetRepositoryCatalogData`) and tags (`ListTagsForResource`) are read
//! one repository a call (the API has no batch form for either). The logo
//! is never read back (AWS answers a URL, not the image): the recorded
//! `logo_image_blob` stands. A create finding a repository of that name
//! adopts it only when its tags say this address made it. `force_destroy`
//! deletes a repository that still holds images.

use std::collections::BTreeMap;

use async_trait::async_trait;
use aws_sdk_ecrpublic::primitives::Blob;
use aws_sdk_ecrpublic::types::{Repository, RepositoryCatalogData, RepositoryCatalogDataInput, Tag};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{ECRPUBLIC, REPOSITORY};
use crate::args::{blocks, bool_or, opt_str, req_str, s, set_or_null, str_list, str_map};
use crate::context::Aws;
use crate::error::{has_code, ignore_not_found};
use crate::iam_util::{conflict, found, gone, invalid, ours, tags_attr, AwsResult};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{desired_tags, tag_changes};

/// `aws_ecrpublic_repository`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecrpublic_repository",
    schema,
    handler: &EcrpublicRepository,
    grants: &[
        // DescribeRepositories of the whole registry.
        g(&["ecr-public:DescribeRepositories"], ANY),
        g(
            &[
                "ecr-public:CreateRepository",
                "ecr-public:DeleteRepository",
                "ecr-public:GetRepositoryCatalogData",
                "ecr-public:ListTagsForResource",
                "ecr-public:PutRepositoryCatalogData",
                "ecr-public:TagResource",
                "ecr-public:UntagResource",
            ],
            &[REPOSITORY],
        ),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let mut catalog = BlockSchema::new("catalog_data", Nesting::List)
        .attr(AttrSchema::optional("about_text", AttrType::String))
        .attr(AttrSchema::optional(
            "architectures",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("description", AttrType::String))
        .attr(
            AttrSchema::optional("logo_image_blob", AttrType::String)
                .doc("The logo, base64-encoded (never read back)."),
        )
        .attr(AttrSchema::optional(
            "operating_systems",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("usage_text", AttrType::String));
    catalog.max_items = Some(1);
    ResourceSchema::resource("aws_ecrpublic_repository")
        .doc("A repository in the ECR Public gallery (its API is in us-east-1 only: stackd sends there whatever the provider's region).")
        .attr(
            AttrSchema::required("repository_name", AttrType::String)
                .force_new()
                .doc("The repository's name."),
        )
        .block(catalog)
        .attr(
            AttrSchema::optional("force_destroy", AttrType::Bool)
                .default(false)
                .doc("Delete the repository even when it holds images."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("registry_id", AttrType::String))
        .attr(AttrSchema::computed("repository_uri", AttrType::String))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 20 * 60,
        })
}

// ----- spec → API -----

fn catalog_input(d: &Value) -> Result<Option<RepositoryCatalogDataInput>, ProviderError> {
    let Some(c) = blocks(d, "catalog_data").first() else {
        return Ok(None);
    };
    let logo = match opt_str(c, "logo_image_blob") {
        Some(b64) => Some(Blob::new(decode_base64(b64).ok_or_else(|| {
            invalid(
                ECRPUBLIC,
                "CreateRepository",
                "catalog_data.logo_image_blob is not base64",
            )
        })?)),
        None => None,
    };
    Ok(Some(
        RepositoryCatalogDataInput::builder()
            .set_about_text(opt_str(c, "about_text").map(str::to_string))
            .set_usage_text(opt_str(c, "usage_text").map(str::to_string))
            .set_description(opt_str(c, "description").map(str::to_string))
            .set_architectures(Some(str_list(c, "architectures")).filter(|a| !a.is_empty()))
            .set_operating_systems(
                Some(str_list(c, "operating_systems")).filter(|o| !o.is_empty()),
            )
            .set_logo_image_blob(logo)
            .build(),
    ))
}

/// Standard base64 (with or without padding) to bytes.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut bits = 0u32;
    let mut nbits = 0;
    let mut out = Vec::new();
    for c in text.bytes().filter(|c| !c.is_ascii_whitespace()) {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => continue,
            _ => return None,
        };
        bits = (bits << 6) | u32::from(v);
        nbits += 6;
        if nbits >= 8 {
            nbits -= 8;
            out.push((bits >> nbits) as u8);
            bits &= (1 << nbits) - 1;
        }
    }
    Some(out)
}

fn sdk_tags(tags: &BTreeMap<String, String>) -> Vec<Tag> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

// ----- API → attributes -----

/// The catalog data as `catalog_data`: none when AWS has none to show;
/// the logo is the recorded one.
fn catalog_value(c: Option<&RepositoryCatalogData>, recorded: Option<&Value>) -> Value {
    let logo = recorded
        .and_then(|r| blocks(r, "catalog_data").first())
        .and_then(|c| opt_str(c, "logo_image_blob"));
    let Some(c) = c.filter(|c| {
        c.description().is_some_and(|d| !d.is_empty())
            || c.about_text().is_some_and(|t| !t.is_empty())
            || c.usage_text().is_some_and(|t| !t.is_empty())
            || !c.architectures().is_empty()
            || !c.operating_systems().is_empty()
            || c.logo_url().is_some_and(|u| !u.is_empty())
    }) else {
        return Value::List(Vec::new());
    };
    Value::List(vec![Value::map([
        ("about_text", s(c.about_text())),
        ("usage_text", s(c.usage_text())),
        ("description", s(c.description())),
        ("architectures", set_or_null(c.architectures().to_vec())),
        ("operating_systems", set_or_null(c.operating_systems().to_vec())),
        ("logo_image_blob", s(logo)),
    ])])
}

fn repository_attrs(
    r: &Repository,
    catalog: Option<&RepositoryCatalogData>,
    tags: &BTreeMap<String, String>,
    recorded: Option<&Value>,
) -> Value {
    Value::map([
        ("id", s(r.repository_name())),
        ("repository_name", s(r.repository_name())),
        ("arn", s(r.repository_arn())),
        ("registry_id", s(r.registry_id())),
        ("repository_uri", s(r.repository_uri())),
        ("catalog_data", catalog_value(catalog, recorded)),
        (
            "force_destroy",
            Value::Bool(recorded.is_some_and(|r| bool_or(r, "force_destroy", false))),
        ),
        ("tags_all", tags_attr(tags)),
    ])
}

// ----- calls -----

/// Every repository of the registry (one `DescribeRepositories` chain).
async fn list_all(aws: &Aws) -> Result<Vec<Repository>, ProviderError> {
    aws.ecrpublic
        .describe_repositories()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .aws(ECRPUBLIC, "DescribeRepositories")
}

/// A repository's catalog data and tags; `None` when it is gone.
async fn details(
    aws: &Aws,
    r: &Repository,
) -> Result<Option<(Option<RepositoryCatalogData>, BTreeMap<String, String>)>, ProviderError> {
    let name = r.repository_name().unwrap_or_default();
    let Some(catalog) = found(
        aws.ecrpublic
            .get_repository_catalog_data()
            .repository_name(name)
            .send()
            .await
            .aws(ECRPUBLIC, "GetRepositoryCatalogData"),
    )?
    else {
        return Ok(None);
    };
    let Some(tags) = found(
        aws.ecrpublic
            .list_tags_for_resource()
            .resource_arn(r.repository_arn().unwrap_or_default())
            .send()
            .await
            .aws(ECRPUBLIC, "ListTagsForResource"),
    )?
    else {
        return Ok(None);
    };
    let tags = tags
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or_default().to_string())))
        .collect();
    Ok(Some((catalog.catalog_data().cloned(), tags)))
}

async fn read(aws: &Aws, name: &str, recorded: Option<&Value>) -> Result<Option<Value>, ProviderError> {
    let Some(r) = list_all(aws)
        .await?
        .into_iter()
        .find(|r| r.repository_name() == Some(name))
    else {
        return Ok(None);
    };
    Ok(details(aws, &r)
        .await?
        .map(|(c, tags)| repository_attrs(&r, c.as_ref(), &tags, recorded)))
}

pub(crate) struct EcrpublicRepository;

#[async_trait]
impl ResourceHandler for EcrpublicRepository {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        if req.known.is_empty() {
            return Ok(Vec::new());
        }
        let all = list_all(aws).await?;
        let known: Vec<_> = req
            .known
            .iter()
            .filter_map(|k| {
                let name = opt_str(&k.attrs, "repository_name").unwrap_or(&k.id);
                let r = all.iter().find(|r| r.repository_name() == Some(name))?;
                Some((k, r))
            })
            .collect();
        let reads =
            crate::concurrent::bounded_all(known.iter().map(|(_, r)| details(aws, r))).await;
        let mut out = Vec::new();
        for ((k, r), read) in known.into_iter().zip(reads) {
            if let Some((catalog, tags)) = read? {
                out.push(LiveResource {
                    id: r.repository_name().unwrap_or_default().to_string(),
                    address: Some(k.address.clone()),
                    attrs: repository_attrs(r, catalog.as_ref(), &tags, Some(&k.attrs)),
                });
            }
        }
        Ok(out)
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let d = &req.desired;
        let name = req_str(d, "repository_name", "CreateRepository")?;
        let tags = sdk_tags(&desired_tags(d));
        let created = aws
            .ecrpublic
            .create_repository()
            .repository_name(name)
            .set_catalog_data(catalog_input(d)?)
            .set_tags(Some(tags).filter(|t| !t.is_empty()))
            .send()
            .await
            .aws(ECRPUBLIC, "CreateRepository");
        match created {
            Ok(_) => {}
            Err(e) if has_code(&e, "RepositoryAlreadyExistsException") => {
                let existing = read(aws, name, Some(d))
                    .await?
                    .ok_or_else(|| gone(ECRPUBLIC, "DescribeRepositories", name))?;
                let live = str_map(&existing, "tags_all");
                if !ours(&live, &req.owner, &req.address) {
                    return Err(invalid(
                        ECRPUBLIC,
                        "CreateRepository",
                        conflict("ECR Public repository", name, &live, &req.owner),
                    ));
                }
                tracing::info!(name, "adopting the repository an earlier attempt created");
                if let Some(catalog) = catalog_input(d)? {
                    aws.ecrpublic
                        .put_repository_catalog_data()
                        .repository_name(name)
                        .catalog_data(catalog)
                        .send()
                        .await
                        .aws(ECRPUBLIC, "PutRepositoryCatalogData")?;
                }
            }
            Err(e) => return Err(e),
        }
        read(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(ECRPUBLIC, "DescribeRepositories", name))
    }

    /// A repository of the same (known) name is looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(name) = creating(req).and_then(|d| known_str(d, "repository_name")) else {
            return Ok(Vec::new());
        };
        const ACTION: &str = "ecr-public:DescribeRepositories";
        let mut findings = Findings::new();
        if let Some(Some(attrs)) = findings.read(ACTION, read(aws, name, None).await)? {
            let tags = str_map(&attrs, "tags_all");
            findings.name_in_use(req, ACTION, "ECR Public repository", name, &tags);
        }
        Ok(findings.into_vec())
    }

    /// Catalog data is put again (an empty one when the block was removed);
    /// tags are reconciled by ARN; `force_destroy` is only recorded.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let name = req_str(d, "repository_name", "PutRepositoryCatalogData")?;
        if req.changed.iter().any(|c| c == "catalog_data") {
            let catalog = catalog_input(d)?
                .unwrap_or_else(|| RepositoryCatalogDataInput::builder().build());
            aws.ecrpublic
                .put_repository_catalog_data()
                .repository_name(name)
                .catalog_data(catalog)
                .send()
                .await
                .aws(ECRPUBLIC, "PutRepositoryCatalogData")?;
        }
        let (set, remove) = tag_changes(&str_map(&prior, "tags_all"), &desired_tags(d));
        if !set.is_empty() || !remove.is_empty() {
            let arn = opt_str(&prior, "arn")
                .ok_or_else(|| invalid(ECRPUBLIC, "TagResource", "no ARN recorded"))?;
            if !remove.is_empty() {
                aws.ecrpublic
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .aws(ECRPUBLIC, "UntagResource")?;
            }
            if !set.is_empty() {
                aws.ecrpublic
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(sdk_tags(&set)))
                    .send()
                    .await
                    .aws(ECRPUBLIC, "TagResource")?;
            }
        }
        read(aws, name, Some(d))
            .await?
            .ok_or_else(|| gone(ECRPUBLIC, "DescribeRepositories", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = opt_str(&req.prior, "repository_name").unwrap_or(&req.id);
        ignore_not_found(
            aws.ecrpublic
                .delete_repository()
                .repository_name(name)
                .force(bool_or(&req.prior, "force_destroy", false))
                .send()
                .await
                .aws(ECRPUBLIC, "DeleteRepository")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};

    fn desired() -> Value {
        Value::map([
            ("repository_name", Value::from("tools")),
            ("force_destroy", Value::Bool(true)),
            (
                "catalog_data",
                Value::List(vec![Value::map([
                    ("about_text", Value::from("About")),
                    ("usage_text", Value::Null),
                    ("description", Value::from("Build tools")),
                    (
                        "architectures",
                        Value::List(vec![Value::from("ARM 64"), Value::from("x86-64")]),
                    ),
                    ("operating_systems", Value::List(vec![Value::from("Linux")])),
                    ("logo_image_blob", Value::from("iVBORw0KGgo=")),
                ])]),
            ),
            ("tags_all", Value::map([("Team", Value::from("web"))])),
        ])
    }

    #[test]
    fn base64_decodes_with_and_without_padding() {
        assert_eq!(decode_base64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(decode_base64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(decode_base64("iVBORw0KGgo=").unwrap(), b"\x89PNG\r\n\x1a\n");
        assert!(decode_base64("not base64!").is_none());
    }

    #[test]
    fn a_live_repository_reads_back_as_its_arguments_logo_included() {
        let r = Repository::builder()
            .repository_name("tools")
            .repository_arn("arn:aws:ecr-public::1:repository/tools")
            .registry_id("1")
            .repository_uri("public.ecr.aws/x1y2/tools")
            .build();
        let c = RepositoryCatalogData::builder()
            .about_text("About")
            .description("Build tools")
            .architectures("x86-64")
            .architectures("ARM 64")
            .operating_systems("Linux")
            .logo_url("https://cdn.example/logo.png")
            .build();
        let tags = BTreeMap::from([("Team".to_string(), "web".to_string())]);
        let live = repository_attrs(&r, Some(&c), &tags, Some(&desired()));
        let changes = diff(&schema(), &desired(), &live, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            live.get("repository_uri"),
            Some(&Value::from("public.ecr.aws/x1y2/tools"))
        );
        let input = catalog_input(&desired()).unwrap().unwrap();
        assert_eq!(input.logo_image_blob().unwrap().as_ref(), b"\x89PNG\r\n\x1a\n");
    }
}
