//! `data.aws_ecr_repository`: a private repository by name (and, for
//! another account's registry, `registry_id`): one `DescribeRepositories`
//! call, its tags, and `most_recent_image_tags`, the tags of the image
//! pushed last (one `DescribeImages` chain).

use async_trait::async_trait;
use aws_sdk_ecr::types::ImageDetail;
use stackd_engine::provider::{DataRequest, ErrorKind, ProviderError};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::ecr_repository::{repository_attrs, tags_of, ECR};
use super::REPOSITORY;
use crate::args::{list, opt_str};
use crate::context::Aws;
use crate::iam_util::{invalid, required, AwsResult};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};
use crate::tags::as_data_tags;

/// `data.aws_ecr_repository`: its schema, its handler and the IAM grants
/// of its calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_ecr_repository",
    schema,
    handler: &EcrRepositoryData,
    grants: &[g(
        &[
            "ecr:DescribeImages",
            "ecr:DescribeRepositories",
            "ecr:ListTagsForResource",
        ],
        &[REPOSITORY],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_ecr_repository")
        .doc("A private ECR repository, by name.")
        .attr(AttrSchema::required("name", AttrType::String).doc("The repository name."))
        .attr(
            AttrSchema::optional_computed("registry_id", AttrType::String)
                .doc("The registry (account) ID; the caller's when unset."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("repository_url", AttrType::String))
        .attr(AttrSchema::computed("image_tag_mutability", AttrType::String))
        .attr(AttrSchema::computed(
            "most_recent_image_tags",
            AttrType::list_of(AttrType::String),
        ))
        .block(
            BlockSchema::new("image_scanning_configuration", Nesting::List)
                .computed_when_absent()
                .attr(AttrSchema::computed("scan_on_push", AttrType::Bool)),
        )
        .block(
            BlockSchema::new("encryption_configuration", Nesting::List)
                .computed_when_absent()
                .attr(AttrSchema::computed("encryption_type", AttrType::String))
                .attr(AttrSchema::computed("kms_key", AttrType::String)),
        )
        .attr(AttrSchema::optional_computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
}

/// The tags of the image pushed last; empty when there is none.
fn most_recent_tags(images: &[ImageDetail]) -> Vec<String> {
    images
        .iter()
        .max_by_key(|i| i.image_pushed_at().map(|t| (t.secs(), t.subsec_nanos())))
        .map(|i| i.image_tags().to_vec())
        .unwrap_or_default()
}

pub(crate) struct EcrRepositoryData;

#[async_trait]
impl DataHandler for EcrRepositoryData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let name = required(&req.args, "name", ECR, "DescribeRepositories")?;
        let registry = opt_str(&req.args, "registry_id");
        let missing = || {
            invalid(
                ECR,
                "DescribeRepositories",
                format!("no ECR repository named {name:?} was found"),
            )
        };
        let repo = match aws
            .ecr
            .describe_repositories()
            .set_registry_id(registry.map(str::to_string))
            .repository_names(name)
            .send()
            .await
            .aws(ECR, "DescribeRepositories")
        {
            Ok(out) => out.repositories().first().cloned().ok_or_else(missing)?,
            Err(e) if e.kind == ErrorKind::NotFound => return Err(missing()),
            Err(e) => return Err(e),
        };
        let tags = match repo.repository_arn() {
            Some(arn) => tags_of(aws, arn).await?,
            None => Default::default(),
        };
        let images = aws
            .ecr
            .describe_images()
            .set_registry_id(registry.map(str::to_string))
            .repository_name(name)
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(ECR, "DescribeImages")?;
        let mut attrs = as_data_tags(repository_attrs(&repo, &tags, None));
        if let Value::Map(m) = &mut attrs {
            m.remove("force_delete");
            m.insert(
                "most_recent_image_tags".into(),
                list(most_recent_tags(&images)),
            );
        }
        Ok(attrs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_types::DateTime;

    #[test]
    fn the_last_pushed_image_gives_the_tags() {
        let image = |tag: &str, secs: i64| {
            ImageDetail::builder()
                .image_tags(tag)
                .image_pushed_at(DateTime::from_secs(secs))
                .build()
        };
        let images = [image("v1", 10), image("v3", 30), image("v2", 20)];
        assert_eq!(most_recent_tags(&images), vec!["v3".to_string()]);
        assert!(most_recent_tags(&[]).is_empty());
    }
}
