//! `aws_ecr_repository_policy`: the policy of a private ECR repository
//! (who may pull or push). Its ID is the repository name, as in Terraform
//! (also the import ID).
//!
//! The policy compares by meaning, as Terraform compares it. ECR has no
//! batch read of repository policies: a refresh calls `GetRepositoryPolicy`
//! per known repository, [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::ecr_repository::ECR;
use super::REPOSITORY;
use crate::args::s;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{
    decode_policy, ignore_gone, normalize_policy, read_each, read_policy_when, required, update_id,
    AwsResult,
};
use crate::policy::g;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, Deadline};

/// `aws_ecr_repository_policy`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecr_repository_policy",
    schema,
    handler: &EcrRepositoryPolicy,
    grants: &[g(
        &[
            "ecr:DeleteRepositoryPolicy",
            "ecr:GetRepositoryPolicy",
            "ecr:SetRepositoryPolicy",
        ],
        &[REPOSITORY],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecr_repository_policy")
        .doc("The policy of a private ECR repository.")
        .attr(
            AttrSchema::required("repository", AttrType::String)
                .force_new()
                .doc("The repository name."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_policy)
                .doc("The policy document (JSON)."),
        )
        .attr(
            AttrSchema::computed("registry_id", AttrType::String).doc("The registry (account) ID."),
        )
}

/// "No policy" answers: the repository has none, or is gone.
fn is_absent(e: &ProviderError) -> bool {
    has_code(e, "RepositoryPolicyNotFoundException") || has_code(e, "RepositoryNotFoundException")
}

async fn read(aws: &Aws, repository: &str) -> Result<Option<Value>, ProviderError> {
    let answer = aws
        .ecr
        .get_repository_policy()
        .repository_name(repository)
        .send()
        .await
        .aws(ECR, "GetRepositoryPolicy");
    match answer {
        Ok(out) => Ok(out.policy_text().map(|p| {
            Value::map([
                ("id", Value::from(repository)),
                ("repository", Value::from(repository)),
                ("policy", Value::from(decode_policy(p))),
                ("registry_id", s(out.registry_id())),
            ])
        })),
        Err(e) if is_absent(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn put(
    aws: &Aws,
    repository: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let policy = required(d, "policy", ECR, "SetRepositoryPolicy")?;
    // A principal created a moment ago may not be accepted yet.
    retry(deadline, || async {
        aws.ecr
            .set_repository_policy()
            .repository_name(repository)
            .policy_text(policy)
            .send()
            .await
            .aws(ECR, "SetRepositoryPolicy")
    })
    .await
    .map(|_| ())
}

/// Reads until ECR returns the policy asked for.
async fn read_when(
    aws: &Aws,
    repository: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    read_policy_when(
        deadline,
        "GetRepositoryPolicy",
        &format!("the policy of repository {repository} to apply"),
        d,
        || read(aws, repository),
    )
    .await
}

pub(crate) struct EcrRepositoryPolicy;

#[async_trait]
impl ResourceHandler for EcrRepositoryPolicy {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        read_each(&req.known, |k| async move {
            Ok(read(aws, &k.id).await?.map(|attrs| LiveResource {
                id: k.id.clone(),
                address: Some(k.address.clone()),
                attrs,
            }))
        })
        .await
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let repository = required(&req.desired, "repository", ECR, "SetRepositoryPolicy")?;
        put(aws, repository, &req.desired, &deadline).await?;
        read_when(aws, repository, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(repository, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let repository = update_id(req.id.as_deref(), ECR, "SetRepositoryPolicy")?;
        put(aws, repository, &req.desired, &deadline).await?;
        read_when(aws, repository, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let answer = retry(&deadline, || async {
            aws.ecr
                .delete_repository_policy()
                .repository_name(&req.id)
                .send()
                .await
                .aws(ECR, "DeleteRepositoryPolicy")
        })
        .await;
        match answer {
            Err(e) if is_absent(&e) => Ok(()),
            other => ignore_gone(other),
        }
    }
}
