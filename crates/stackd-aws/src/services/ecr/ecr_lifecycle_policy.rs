//! `aws_ecr_lifecycle_policy`: the image expiry rules of a repository. Its
//! ID is the repository name.
//!
//! The policy compares in a canonical form (rules by priority, tag lists
//! sorted, empty descriptions and unknown fields dropped), as Terraform
//! compares it. ECR has no batch read of lifecycle policies: a refresh calls
//! `GetLifecyclePolicy` per known repository,
//! [`crate::concurrent::MAX_CONCURRENT_READS`] at once.

use async_trait::async_trait;
use serde_json::{Map, Value as Json};
use stackd_engine::provider::{
    ChangeRequest, DeleteRequest, LiveResource, ProviderError, RefreshRequest,
};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::ecr_repository::ECR;
use super::REPOSITORY;
use crate::args::s;
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{found, ignore_gone, read_each, required, update_id, AwsResult};
use crate::policy::g;
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, until, Deadline};

/// `aws_ecr_lifecycle_policy`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecr_lifecycle_policy",
    schema,
    handler: &EcrLifecyclePolicy,
    grants: &[g(
        &[
            "ecr:DeleteLifecyclePolicy",
            "ecr:GetLifecyclePolicy",
            "ecr:PutLifecyclePolicy",
        ],
        &[REPOSITORY],
    )],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecr_lifecycle_policy")
        .doc("The lifecycle policy of an ECR repository.")
        .attr(
            AttrSchema::required("repository", AttrType::String)
                .force_new()
                .doc("The repository name."),
        )
        .attr(
            AttrSchema::required("policy", AttrType::Json)
                .normalize(normalize_lifecycle_policy)
                .doc("The lifecycle policy document."),
        )
        .attr(
            AttrSchema::computed("registry_id", AttrType::String).doc("The registry (account) ID."),
        )
}

/// Keeps the listed fields of an object, dropping nulls and empty strings.
fn pick(m: &Map<String, Json>, keys: &[&str]) -> Map<String, Json> {
    keys.iter()
        .filter_map(|k| {
            let v = m.get(*k)?;
            match v {
                Json::Null => None,
                Json::String(s) if s.is_empty() => None,
                Json::Array(a) if a.is_empty() => None,
                _ => Some((k.to_string(), v.clone())),
            }
        })
        .collect()
}

/// The canonical form of a lifecycle policy, or `None` when it is not one.
fn canonical_lifecycle_policy(text: &str) -> Option<String> {
    let doc: Json = serde_json::from_str(text).ok()?;
    let rules = doc.get("rules")?.as_array()?;
    let mut out: Vec<Json> = rules
        .iter()
        .filter_map(Json::as_object)
        .map(|rule| {
            let mut r = pick(rule, &["rulePriority", "description"]);
            if let Some(Json::Object(sel)) = rule.get("selection") {
                let mut sel = pick(
                    sel,
                    &[
                        "tagStatus",
                        "tagPatternList",
                        "tagPrefixList",
                        "countType",
                        "countUnit",
                        "countNumber",
                    ],
                );
                for key in ["tagPatternList", "tagPrefixList"] {
                    if let Some(Json::Array(items)) = sel.get_mut(key) {
                        items.sort_by_key(|i| i.to_string());
                    }
                }
                r.insert("selection".into(), Json::Object(sel));
            }
            if let Some(Json::Object(action)) = rule.get("action") {
                r.insert("action".into(), Json::Object(pick(action, &["type"])));
            }
            Json::Object(r)
        })
        .collect();
    out.sort_by_key(|r| {
        r.get("rulePriority")
            .and_then(Json::as_i64)
            .unwrap_or(i64::MAX)
    });
    let mut m = Map::new();
    m.insert("rules".into(), Json::Array(out));
    serde_json::to_string(&crate::iam_util::sorted_json(&Json::Object(m))).ok()
}

/// Normalizer of `policy`.
pub(crate) fn normalize_lifecycle_policy(v: &Value) -> Value {
    v.as_str()
        .and_then(canonical_lifecycle_policy)
        .map(Value::String)
        .unwrap_or_else(|| v.clone())
}

fn policy_attrs(repository: &str, registry: Option<&str>, text: Option<&str>) -> Value {
    Value::map([
        ("id", Value::from(repository)),
        ("repository", Value::from(repository)),
        ("policy", s(text)),
        ("registry_id", s(registry)),
    ])
}

async fn read(aws: &Aws, repository: &str) -> Result<Option<Value>, ProviderError> {
    match aws
        .ecr
        .get_lifecycle_policy()
        .repository_name(repository)
        .send()
        .await
        .aws(ECR, "GetLifecyclePolicy")
    {
        Ok(o) => Ok(Some(policy_attrs(
            repository,
            o.registry_id(),
            o.lifecycle_policy_text(),
        ))),
        Err(e) => found(Err(e)),
    }
}

async fn put(
    aws: &Aws,
    repository: &str,
    d: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let text = required(d, "policy", ECR, "PutLifecyclePolicy")?;
    // A repository created a moment ago may not be visible yet.
    retry(deadline, || async {
        aws.ecr
            .put_lifecycle_policy()
            .repository_name(repository)
            .lifecycle_policy_text(text)
            .send()
            .await
            .aws(ECR, "PutLifecyclePolicy")
    })
    .await?;
    until(
        deadline,
        "GetLifecyclePolicy",
        &format!("the lifecycle policy of {repository} to be readable"),
        || read(aws, repository),
    )
    .await
}

pub(crate) struct EcrLifecyclePolicy;

#[async_trait]
impl ResourceHandler for EcrLifecyclePolicy {
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
        let repository = required(&req.desired, "repository", ECR, "PutLifecyclePolicy")?;
        // PutLifecyclePolicy replaces: creating again after a crash is harmless.
        put(aws, repository, &req.desired, &deadline)
            .await
            .map_err(|e| after_create(repository, e))
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let repository = update_id(req.id.as_deref(), ECR, "PutLifecyclePolicy")?;
        put(aws, repository, &req.desired, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        match aws
            .ecr
            .delete_lifecycle_policy()
            .repository_name(&req.id)
            .send()
            .await
            .aws(ECR, "DeleteLifecyclePolicy")
        {
            Err(e) if has_code(&e, "RepositoryNotFoundException") => Ok(()),
            other => ignore_gone(other),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echoed_policies_compare_equal() {
        let written = r#"{"rules":[
            {"rulePriority":2,"description":"","selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30},"action":{"type":"expire"}},
            {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v2","v1"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}}]}"#;
        let echoed = r#"{"rules":[
            {"rulePriority":1,"description":null,"selection":{"tagStatus":"tagged","tagPrefixList":["v1","v2"],"countType":"sinceImagePushed","countUnit":"days","countNumber":14},"action":{"type":"expire"}},
            {"rulePriority":2,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":30,"tagPrefixList":[]},"action":{"type":"expire"}}]}"#;
        assert_eq!(
            normalize_lifecycle_policy(&Value::from(written)),
            normalize_lifecycle_policy(&Value::from(echoed))
        );
        let other = echoed.replace("\"countNumber\":30", "\"countNumber\":31");
        assert_ne!(
            normalize_lifecycle_policy(&Value::from(written)),
            normalize_lifecycle_policy(&Value::from(other))
        );
    }

    #[test]
    fn not_a_policy_is_left_alone() {
        assert_eq!(
            normalize_lifecycle_policy(&Value::from("x")),
            Value::from("x")
        );
        assert_eq!(normalize_lifecycle_policy(&Value::Null), Value::Null);
    }

    #[test]
    fn live_policy_is_in_schema_shape() {
        let v = policy_attrs("app", Some("1"), Some("{\"rules\":[]}"));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
