//! `aws_codepipeline`: a CodePipeline pipeline. The ID is the pipeline name.
//!
//! Supported: `artifact_store` (one, or one per region), `stage` blocks
//! with `action` blocks, `pipeline_type` and `execution_mode`. V2 pipeline
//! `variable` and `trigger` blocks are not supported yet.
//!
//! CodePipeline has no batch read: a refresh lists the pipelines, then reads
//! each known one (GetPipeline and ListTagsForResource) and the tags of each
//! other one (to find those carrying the stack tag), a few at a time.

use std::collections::{BTreeMap, HashMap, HashSet};

use async_trait::async_trait;
use aws_sdk_codepipeline::types::{
    ActionCategory, ActionDeclaration, ActionOwner, ActionTypeId, ArtifactStore, ArtifactStoreType,
    EncryptionKey, EncryptionKeyType, ExecutionMode, InputArtifact, OutputArtifact,
    PipelineDeclaration, PipelineType, StageDeclaration, Tag,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest, ADDRESS_TAG,
};
use stackd_spec::schema::{Check, Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{CODECONNECTIONS_CONNECTION, CODESTAR_CONNECTION, PIPELINE};
use crate::args::{blocks, list_or_null, num, opt_int, opt_str, req_str, s, str_list, str_map};
use crate::cicd_util::{read_concurrently, CicdResult, CODEPIPELINE};
use crate::context::Aws;
use crate::error::{after_create, has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::policy::{Condition, Grant};
use crate::preflight::{creating, known_str, Findings};
use crate::refresh::known_attrs;
use crate::services::iam::lookups::check_role_arn;
use crate::services::iam::{pass_role, ROLE};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{desired_tags, tag_changes};
use crate::wait::{retry, until, Deadline};

/// What CodePipeline shows instead of a secret action setting (a GitHub
/// version 1 source's `OAuthToken`).
const MASKED: &str = "****";
/// The API's defaults for pipelines created without these settings.
const DEFAULT_PIPELINE_TYPE: &str = "V1";
const DEFAULT_EXECUTION_MODE: &str = "SUPERSEDED";

fn one_of(values: &'static [&'static str]) -> Check {
    Check::OneOf(values.to_vec())
}

fn artifact_store_block() -> BlockSchema {
    let mut block = BlockSchema::new("artifact_store", Nesting::Set)
        .attr(
            AttrSchema::required("location", AttrType::String)
                .doc("The S3 bucket holding the pipeline's artifacts."),
        )
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(one_of(ArtifactStoreType::values())),
        )
        .attr(
            AttrSchema::optional_computed("region", AttrType::String).doc(
                "The region of this store; only for pipelines with actions in several regions.",
            ),
        )
        .block(
            BlockSchema::new("encryption_key", Nesting::Single)
                .attr(AttrSchema::required("id", AttrType::String))
                .attr(
                    AttrSchema::required("type", AttrType::String)
                        .check(one_of(EncryptionKeyType::values())),
                ),
        );
    block.min_items = 1;
    block
}

fn action_block() -> BlockSchema {
    let mut block = BlockSchema::new("action", Nesting::List)
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(
            AttrSchema::required("category", AttrType::String)
                .check(one_of(ActionCategory::values())),
        )
        .attr(AttrSchema::required("owner", AttrType::String).check(one_of(ActionOwner::values())))
        .attr(
            AttrSchema::required("provider", AttrType::String)
                .doc("e.g. CodeStarSourceConnection, CodeBuild, ECS."),
        )
        .attr(AttrSchema::required("version", AttrType::String))
        .attr(AttrSchema::optional(
            "configuration",
            AttrType::map_of(AttrType::String),
        ))
        .attr(AttrSchema::optional(
            "input_artifacts",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::optional(
            "output_artifacts",
            AttrType::list_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("role_arn", AttrType::String))
        .attr(AttrSchema::optional_computed("run_order", AttrType::Number))
        .attr(AttrSchema::optional_computed("region", AttrType::String))
        .attr(AttrSchema::optional("namespace", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "timeout_in_minutes",
            AttrType::Number,
        ));
    block.min_items = 1;
    block
}

fn stage_block() -> BlockSchema {
    let mut block = BlockSchema::new("stage", Nesting::List)
        .attr(AttrSchema::required("name", AttrType::String))
        .block(action_block());
    block.min_items = 2;
    block
}

/// `aws_codepipeline`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codepipeline",
    schema,
    handler: &Codepipeline,
    grants: &[
        g(&["codepipeline:ListPipelines"], ANY),
        g(
            &[
                "codepipeline:CreatePipeline",
                "codepipeline:DeletePipeline",
                "codepipeline:GetPipeline",
                "codepipeline:ListTagsForResource",
                "codepipeline:TagResource",
                "codepipeline:UntagResource",
                "codepipeline:UpdatePipeline",
            ],
            &[PIPELINE],
        ),
        g(&["iam:GetRole"], &[ROLE]),
        pass_role(&["codepipeline.amazonaws.com"]),
        // A `CodeStarSourceConnection` source hands its connection to
        // CodePipeline; connections have two ARN prefixes.
        Grant {
            actions: &["codestar-connections:PassConnection"],
            resources: &[CODESTAR_CONNECTION],
            condition: Some(Condition {
                operator: "StringEquals",
                key: "codestar-connections:PassedToService",
                values: &["codepipeline.amazonaws.com"],
            }),
        },
        Grant {
            actions: &["codeconnections:PassConnection"],
            resources: &[CODECONNECTIONS_CONNECTION],
            condition: Some(Condition {
                operator: "StringEquals",
                key: "codeconnections:PassedToService",
                values: &["codepipeline.amazonaws.com"],
            }),
        },
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_codepipeline")
        .doc("A CodePipeline pipeline.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The pipeline name (also the ID)."),
        )
        .attr(
            AttrSchema::required("role_arn", AttrType::String)
                .doc("The IAM role CodePipeline assumes."),
        )
        .attr(
            AttrSchema::optional("pipeline_type", AttrType::String)
                .default(DEFAULT_PIPELINE_TYPE)
                .check(one_of(PipelineType::values())),
        )
        .attr(
            AttrSchema::optional("execution_mode", AttrType::String)
                .default(DEFAULT_EXECUTION_MODE)
                .check(one_of(ExecutionMode::values())),
        )
        .block(artifact_store_block())
        .block(stage_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The pipeline's ARN."))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 5 * 60,
        })
}

// ----- spec → API -----

fn invalid(operation: &str, message: impl Into<String>) -> ProviderError {
    ProviderError::new(ErrorKind::Permanent, CODEPIPELINE, operation, message)
}

fn build_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    invalid("CreatePipeline", format!("invalid {what}: {e}"))
}

fn artifact_store_input(b: &Value) -> Result<ArtifactStore, ProviderError> {
    let key = blocks(b, "encryption_key")
        .first()
        .map(|k| {
            EncryptionKey::builder()
                .id(opt_str(k, "id").unwrap_or_default())
                .r#type(EncryptionKeyType::from(opt_str(k, "type").unwrap_or("KMS")))
                .build()
                .map_err(|e| build_error("encryption_key", e))
        })
        .transpose()?;
    ArtifactStore::builder()
        .r#type(ArtifactStoreType::from(opt_str(b, "type").unwrap_or("S3")))
        .location(opt_str(b, "location").unwrap_or_default())
        .set_encryption_key(key)
        .build()
        .map_err(|e| build_error("artifact_store", e))
}

fn action_input(a: &Value) -> Result<ActionDeclaration, ProviderError> {
    let type_id = ActionTypeId::builder()
        .category(ActionCategory::from(
            opt_str(a, "category").unwrap_or_default(),
        ))
        .owner(ActionOwner::from(opt_str(a, "owner").unwrap_or_default()))
        .provider(opt_str(a, "provider").unwrap_or_default())
        .version(opt_str(a, "version").unwrap_or_default())
        .build()
        .map_err(|e| build_error("action", e))?;
    let configuration: HashMap<String, String> = str_map(a, "configuration").into_iter().collect();
    let inputs = str_list(a, "input_artifacts")
        .into_iter()
        .map(|n| InputArtifact::builder().name(n).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error("input_artifacts", e))?;
    let outputs = str_list(a, "output_artifacts")
        .into_iter()
        .map(|n| OutputArtifact::builder().name(n).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error("output_artifacts", e))?;
    ActionDeclaration::builder()
        .name(opt_str(a, "name").unwrap_or_default())
        .action_type_id(type_id)
        .set_configuration((!configuration.is_empty()).then_some(configuration))
        .set_input_artifacts((!inputs.is_empty()).then_some(inputs))
        .set_output_artifacts((!outputs.is_empty()).then_some(outputs))
        .set_role_arn(opt_str(a, "role_arn").map(str::to_string))
        .set_run_order(opt_int(a, "run_order").filter(|n| *n > 0).map(|n| n as i32))
        .set_region(opt_str(a, "region").map(str::to_string))
        .set_namespace(opt_str(a, "namespace").map(str::to_string))
        .set_timeout_in_minutes(opt_int(a, "timeout_in_minutes").map(|n| n as i32))
        .build()
        .map_err(|e| build_error("action", e))
}

fn stage_input(st: &Value) -> Result<StageDeclaration, ProviderError> {
    let actions = blocks(st, "action")
        .iter()
        .map(action_input)
        .collect::<Result<Vec<_>, _>>()?;
    StageDeclaration::builder()
        .name(opt_str(st, "name").unwrap_or_default())
        .set_actions(Some(actions))
        .build()
        .map_err(|e| build_error("stage", e))
}

/// The pipeline declaration the spec describes. One artifact store goes in
/// `artifactStore`; several (a cross-region pipeline) go in
/// `artifactStores`, keyed by their `region`.
fn pipeline_input(d: &Value) -> Result<PipelineDeclaration, ProviderError> {
    let stores = blocks(d, "artifact_store");
    let mut builder = PipelineDeclaration::builder()
        .name(req_str(d, "name", "CreatePipeline")?)
        .role_arn(req_str(d, "role_arn", "CreatePipeline")?)
        .pipeline_type(PipelineType::from(
            opt_str(d, "pipeline_type").unwrap_or(DEFAULT_PIPELINE_TYPE),
        ))
        .execution_mode(ExecutionMode::from(
            opt_str(d, "execution_mode").unwrap_or(DEFAULT_EXECUTION_MODE),
        ))
        .set_stages(Some(
            blocks(d, "stage")
                .iter()
                .map(stage_input)
                .collect::<Result<Vec<_>, _>>()?,
        ));
    match stores {
        [] => {
            return Err(invalid(
                "CreatePipeline",
                "an artifact_store block is required",
            ))
        }
        [one] if opt_str(one, "region").is_none() => {
            builder = builder.artifact_store(artifact_store_input(one)?);
        }
        [_] => {
            return Err(invalid(
                "CreatePipeline",
                "region cannot be set for a single-region pipeline's artifact_store",
            ))
        }
        many => {
            for b in many {
                let region = opt_str(b, "region").ok_or_else(|| {
                    invalid(
                        "CreatePipeline",
                        "region must be set on every artifact_store of a cross-region pipeline",
                    )
                })?;
                builder = builder.artifact_stores(region, artifact_store_input(b)?);
            }
        }
    }
    builder.build().map_err(|e| build_error("pipeline", e))
}

fn tags_input(tags: &BTreeMap<String, String>) -> Result<Vec<Tag>, ProviderError> {
    tags.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| build_error("tags", e))
}

// ----- API → attributes -----

/// Everything one pipeline read gives.
#[derive(Clone, Debug)]
struct LivePipeline {
    pipeline: PipelineDeclaration,
    arn: String,
    tags: Vec<Tag>,
}

fn tag<'a>(tags: &'a [Tag], key: &str) -> Option<&'a str> {
    tags.iter().find(|t| t.key() == key).map(Tag::value)
}

fn tags_value(tags: &[Tag]) -> Value {
    Value::Map(
        tags.iter()
            .filter(|t| !t.key().starts_with("aws:"))
            .map(|t| (t.key().to_string(), Value::from(t.value())))
            .collect(),
    )
}

fn artifact_store_value(store: &ArtifactStore, region: Option<&str>) -> Value {
    let key = store.encryption_key().map(|k| {
        Value::map([
            ("id", Value::from(k.id())),
            ("type", Value::from(k.r#type().as_str())),
        ])
    });
    Value::map([
        ("location", Value::from(store.location())),
        ("type", Value::from(store.r#type().as_str())),
        ("region", s(region)),
        ("encryption_key", Value::List(key.into_iter().collect())),
    ])
}

/// The recorded action of the same stage and name, for masked settings.
fn recorded_action<'a>(
    recorded: Option<&'a Value>,
    stage: &str,
    action: &str,
) -> Option<&'a Value> {
    blocks(recorded?, "stage")
        .iter()
        .find(|st| opt_str(st, "name") == Some(stage))
        .and_then(|st| {
            blocks(st, "action")
                .iter()
                .find(|a| opt_str(a, "name") == Some(action))
        })
}

fn action_value(a: &ActionDeclaration, recorded: Option<&Value>) -> Value {
    let type_id = a.action_type_id();
    let configuration: BTreeMap<String, Value> = a
        .configuration()
        .map(|c| {
            c.iter()
                .map(|(k, v)| {
                    let v = if v == MASKED {
                        recorded
                            .and_then(|r| r.get("configuration"))
                            .and_then(|c| c.get(k))
                            .and_then(Value::as_str)
                            .unwrap_or(v)
                    } else {
                        v
                    };
                    (k.clone(), Value::from(v))
                })
                .collect()
        })
        .unwrap_or_default();
    let names = |items: Vec<String>| list_or_null(items);
    Value::map([
        ("name", Value::from(a.name())),
        (
            "category",
            Value::from(type_id.map(|t| t.category().as_str()).unwrap_or_default()),
        ),
        (
            "owner",
            Value::from(type_id.map(|t| t.owner().as_str()).unwrap_or_default()),
        ),
        (
            "provider",
            Value::from(type_id.map(|t| t.provider()).unwrap_or_default()),
        ),
        (
            "version",
            Value::from(type_id.map(|t| t.version()).unwrap_or_default()),
        ),
        (
            "configuration",
            if configuration.is_empty() {
                Value::Null
            } else {
                Value::Map(configuration)
            },
        ),
        (
            "input_artifacts",
            names(
                a.input_artifacts()
                    .iter()
                    .map(|i| i.name().to_string())
                    .collect(),
            ),
        ),
        (
            "output_artifacts",
            names(
                a.output_artifacts()
                    .iter()
                    .map(|o| o.name().to_string())
                    .collect(),
            ),
        ),
        ("role_arn", s(a.role_arn())),
        ("run_order", a.run_order().map(num).unwrap_or(Value::Null)),
        ("region", s(a.region())),
        ("namespace", s(a.namespace())),
        (
            "timeout_in_minutes",
            a.timeout_in_minutes().map(num).unwrap_or(Value::Null),
        ),
    ])
}

/// Live attributes in schema shape; `recorded` (state or the spec just
/// applied) fills in masked action settings.
fn pipeline_attrs(live: &LivePipeline, recorded: Option<&Value>) -> Value {
    let p = &live.pipeline;
    let mut stores: Vec<Value> = match (p.artifact_store(), p.artifact_stores()) {
        (Some(store), _) => vec![artifact_store_value(store, None)],
        (None, Some(by_region)) => by_region
            .iter()
            .map(|(region, store)| artifact_store_value(store, Some(region)))
            .collect(),
        (None, None) => Vec::new(),
    };
    stores = crate::args::sort_blocks(stores);
    let stages = p
        .stages()
        .iter()
        .map(|st| {
            let actions = st
                .actions()
                .iter()
                .map(|a| action_value(a, recorded_action(recorded, st.name(), a.name())))
                .collect();
            Value::map([
                ("name", Value::from(st.name())),
                ("action", Value::List(actions)),
            ])
        })
        .collect();
    Value::map([
        ("id", Value::from(p.name())),
        ("name", Value::from(p.name())),
        ("arn", Value::from(live.arn.as_str())),
        ("role_arn", Value::from(p.role_arn())),
        (
            "pipeline_type",
            Value::from(
                p.pipeline_type()
                    .map(|t| t.as_str())
                    .unwrap_or(DEFAULT_PIPELINE_TYPE),
            ),
        ),
        (
            "execution_mode",
            Value::from(
                p.execution_mode()
                    .map(|m| m.as_str())
                    .unwrap_or(DEFAULT_EXECUTION_MODE),
            ),
        ),
        ("artifact_store", Value::List(stores)),
        ("stage", Value::List(stages)),
        ("tags_all", tags_value(&live.tags)),
    ])
}

// ----- calls -----

async fn arn_of(aws: &Aws, name: &str) -> Result<String, ProviderError> {
    let account = aws.account_id().await?;
    Ok(aws.loc.arn("codepipeline", &account, name))
}

async fn list_tags(aws: &Aws, arn: &str) -> Result<Vec<Tag>, ProviderError> {
    aws.codepipeline
        .list_tags_for_resource()
        .resource_arn(arn)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .codepipeline("ListTagsForResource")
}

/// Reads one pipeline and its tags; `None` when it does not exist.
async fn read(aws: &Aws, name: &str) -> Result<Option<LivePipeline>, ProviderError> {
    let out = match aws
        .codepipeline
        .get_pipeline()
        .name(name)
        .send()
        .await
        .codepipeline("GetPipeline")
    {
        Ok(out) => out,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(pipeline) = out.pipeline().cloned() else {
        return Ok(None);
    };
    let arn = match out.metadata().and_then(|m| m.pipeline_arn()) {
        Some(arn) => arn.to_string(),
        None => arn_of(aws, name).await?,
    };
    let tags = match list_tags(aws, &arn).await {
        Ok(tags) => tags,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(LivePipeline {
        pipeline,
        arn,
        tags,
    }))
}

async fn list_names(aws: &Aws) -> Result<Vec<String>, ProviderError> {
    let summaries = aws
        .codepipeline
        .list_pipelines()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .codepipeline("ListPipelines")?;
    Ok(summaries
        .iter()
        .filter_map(|p| p.name())
        .map(str::to_string)
        .collect())
}

/// True when the error says the pipeline name is taken.
fn name_taken(e: &ProviderError) -> bool {
    has_code(e, "PipelineNameInUseException")
        || (has_code(e, "InvalidStructureException") && e.message.contains("already exists"))
}

/// A pipeline an earlier attempt of this create made (its tags name this
/// stack and address) is adopted; any other is a conflict.
async fn adopt(aws: &Aws, req: &ChangeRequest, name: &str) -> Result<(), ProviderError> {
    let tags = list_tags(aws, &arn_of(aws, name).await?).await?;
    if req.owner.made(|k| tag(&tags, k), &req.address) {
        tracing::info!(name, "adopting the pipeline an earlier attempt created");
        return Ok(());
    }
    Err(invalid(
        "CreatePipeline",
        format!(
            "a pipeline named {name:?} already exists and is not {} of stack {:?}; \
             rename the pipeline or import it",
            req.address, req.owner.name
        ),
    )
    .with_code("PipelineNameInUseException"))
}

async fn read_after_change(
    aws: &Aws,
    name: &str,
    desired: &Value,
    deadline: &Deadline,
) -> Result<Value, ProviderError> {
    let live = until(
        deadline,
        "GetPipeline",
        &format!("pipeline {name} to be readable"),
        || read(aws, name),
    )
    .await?;
    Ok(pipeline_attrs(&live, Some(desired)))
}

pub(crate) struct Codepipeline;

#[async_trait]
impl ResourceHandler for Codepipeline {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let known: HashSet<&str> = req.known.iter().map(|k| k.id.as_str()).collect();
        let listed = list_names(aws).await?;
        // Pipelines not in state are ours only if tagged so: read their tags.
        let others: Vec<String> = listed
            .into_iter()
            .filter(|n| !known.contains(n.as_str()))
            .collect();
        let account = if others.is_empty() {
            String::new()
        } else {
            aws.account_id().await?
        };
        let other_tags = read_concurrently(others.clone(), |name| {
            let aws = aws.clone();
            let arn = aws.loc.arn("codepipeline", &account, &name);
            async move {
                match list_tags(&aws, &arn).await {
                    Ok(tags) => Ok(Some(tags)),
                    Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
                    Err(e) => Err(e),
                }
            }
        })
        .await?;
        let mut wanted: Vec<String> = req.known.iter().map(|k| k.id.clone()).collect();
        wanted.dedup();
        wanted.extend(
            others
                .into_iter()
                .zip(other_tags)
                .filter(|(_, tags)| {
                    tags.as_deref()
                        .is_some_and(|t| req.owner.owns(|k| tag(t, k)))
                })
                .map(|(name, _)| name),
        );
        let pipelines = read_concurrently(wanted, |name| {
            let aws = aws.clone();
            async move { read(&aws, &name).await }
        })
        .await?;
        Ok(live(pipelines.into_iter().flatten().collect(), &req.known))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let pipeline = pipeline_input(d)?;
        let name = pipeline.name().to_string();
        let tags = tags_input(&desired_tags(d))?;
        let call = aws
            .codepipeline
            .create_pipeline()
            .pipeline(pipeline)
            .set_tags((!tags.is_empty()).then_some(tags));
        // The role may be too new to be assumable: retried until the deadline.
        match retry(&deadline, || async {
            call.clone().send().await.codepipeline("CreatePipeline")
        })
        .await
        {
            Ok(_) => {}
            Err(e) if name_taken(&e) => adopt(aws, req, &name).await?,
            Err(e) => return Err(e),
        }
        read_after_change(aws, &name, d, &deadline)
            .await
            .map_err(|e| after_create(&name, e))
    }

    /// A pipeline of the same (known) name is looked up, and the role.
    /// Connection ARNs (CodeStar Connections) are not checked: this build
    /// has no client for that service.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "name") {
            const ACTION: &str = "codepipeline:GetPipeline";
            if let Some(Some(live)) = findings.read(ACTION, read(aws, name).await)? {
                let tags = live
                    .tags
                    .iter()
                    .map(|t| (t.key().to_string(), t.value().to_string()))
                    .collect();
                findings.name_in_use(req, ACTION, "pipeline", name, &tags);
            }
        }
        if let Some(role) = known_str(d, "role_arn") {
            check_role_arn(aws, req, &mut findings, role).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let name = req_str(d, "name", "UpdatePipeline")?.to_string();
        let declaration_changed =
            req.changed.is_empty() || req.changed.iter().any(|c| c != "tags" && c != "tags_all");
        if declaration_changed {
            let pipeline = pipeline_input(d)?;
            retry(&deadline, || async {
                aws.codepipeline
                    .update_pipeline()
                    .pipeline(pipeline.clone())
                    .send()
                    .await
                    .codepipeline("UpdatePipeline")
            })
            .await?;
        }
        let (set, remove) = tag_changes(&str_map(&prior, "tags_all"), &desired_tags(d));
        if !set.is_empty() || !remove.is_empty() {
            let arn = match opt_str(&prior, "arn") {
                Some(arn) => arn.to_string(),
                None => arn_of(aws, &name).await?,
            };
            if !remove.is_empty() {
                aws.codepipeline
                    .untag_resource()
                    .resource_arn(&arn)
                    .set_tag_keys(Some(remove))
                    .send()
                    .await
                    .codepipeline("UntagResource")?;
            }
            if !set.is_empty() {
                aws.codepipeline
                    .tag_resource()
                    .resource_arn(&arn)
                    .set_tags(Some(tags_input(&set)?))
                    .send()
                    .await
                    .codepipeline("TagResource")?;
            }
        }
        read_after_change(aws, &name, d, &deadline).await
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        ignore_not_found(
            aws.codepipeline
                .delete_pipeline()
                .name(&req.id)
                .send()
                .await
                .codepipeline("DeletePipeline")
                .map(|_| ()),
        )
    }
}

fn live(pipelines: Vec<LivePipeline>, known: &[KnownResource]) -> Vec<LiveResource> {
    let mut seen = HashSet::new();
    pipelines
        .into_iter()
        .filter(|p| seen.insert(p.pipeline.name().to_string()))
        .map(|p| {
            let id = p.pipeline.name().to_string();
            let address = known
                .iter()
                .find(|k| k.id == id)
                .map(|k| k.address.clone())
                .or_else(|| tag(&p.tags, ADDRESS_TAG).and_then(|a| a.parse().ok()));
            LiveResource {
                address,
                attrs: pipeline_attrs(&p, known_attrs(&id, known)),
                id,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};
    use stackd_engine::provider::STACK_ID_TAG;

    fn action(
        name: &str,
        category: &str,
        owner: &str,
        provider: &str,
        config: &[(&str, &str)],
        inputs: &[&str],
        outputs: &[&str],
    ) -> Value {
        let list = |xs: &[&str]| {
            if xs.is_empty() {
                Value::Null
            } else {
                Value::from(xs.to_vec())
            }
        };
        Value::map([
            ("name", Value::from(name)),
            ("category", Value::from(category)),
            ("owner", Value::from(owner)),
            ("provider", Value::from(provider)),
            ("version", Value::from("1")),
            (
                "configuration",
                Value::map(config.iter().map(|(k, v)| (*k, Value::from(*v)))),
            ),
            ("input_artifacts", list(inputs)),
            ("output_artifacts", list(outputs)),
            ("role_arn", Value::Null),
            ("run_order", Value::Null),
            ("region", Value::Null),
            ("namespace", Value::Null),
            ("timeout_in_minutes", Value::Null),
        ])
    }

    fn stage(name: &str, action: Value) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("action", Value::List(vec![action])),
        ])
    }

    /// The reference architecture's pipeline: source, build, deploy.
    fn desired() -> Value {
        Value::map([
            ("name", Value::from("app")),
            ("role_arn", Value::from("arn:aws:iam::123:role/cp")),
            ("pipeline_type", Value::from("V1")),
            ("execution_mode", Value::from("SUPERSEDED")),
            (
                "artifact_store",
                Value::List(vec![Value::map([
                    ("location", Value::from("artifacts-bucket")),
                    ("type", Value::from("S3")),
                    ("region", Value::Null),
                    ("encryption_key", Value::List(vec![])),
                ])]),
            ),
            (
                "stage",
                Value::List(vec![
                    stage(
                        "Source",
                        action(
                            "Source",
                            "Source",
                            "AWS",
                            "CodeStarSourceConnection",
                            &[
                                (
                                    "ConnectionArn",
                                    "arn:aws:codestar-connections:eu-west-1:123:connection/x",
                                ),
                                ("FullRepositoryId", "me/app"),
                                ("BranchName", "main"),
                                ("OutputArtifactFormat", "CODE_ZIP"),
                            ],
                            &[],
                            &["source_output"],
                        ),
                    ),
                    stage(
                        "Build",
                        action(
                            "Build",
                            "Build",
                            "AWS",
                            "CodeBuild",
                            &[("ProjectName", "app-build")],
                            &["source_output"],
                            &["build_output"],
                        ),
                    ),
                    stage(
                        "Deploy",
                        action(
                            "Deploy",
                            "Deploy",
                            "AWS",
                            "ECS",
                            &[
                                ("ClusterName", "main"),
                                ("ServiceName", "app"),
                                ("FileName", "imagedefinitions.json"),
                            ],
                            &["build_output"],
                            &[],
                        ),
                    ),
                ]),
            ),
            (
                "tags_all",
                Value::map([
                    (STACK_ID_TAG, Value::from("prod")),
                    (ADDRESS_TAG, Value::from("aws_codepipeline.app")),
                ]),
            ),
        ])
    }

    #[test]
    fn arguments_map_to_the_pipeline_declaration() {
        let p = pipeline_input(&desired()).unwrap();
        assert_eq!(p.name(), "app");
        assert_eq!(p.pipeline_type(), Some(&PipelineType::V1));
        assert_eq!(
            p.artifact_store().map(|s| s.location()),
            Some("artifacts-bucket")
        );
        assert!(p.artifact_stores().is_none());
        assert_eq!(p.stages().len(), 3);
        let source = &p.stages()[0].actions()[0];
        assert_eq!(
            source.action_type_id().map(|t| t.provider()),
            Some("CodeStarSourceConnection")
        );
        assert_eq!(
            source
                .configuration()
                .and_then(|c| c.get("BranchName"))
                .map(String::as_str),
            Some("main")
        );
        assert_eq!(source.output_artifacts()[0].name(), "source_output");
        assert!(source.input_artifacts().is_empty());
        assert_eq!(source.run_order(), None);
        let deploy = &p.stages()[2].actions()[0];
        assert_eq!(deploy.input_artifacts()[0].name(), "build_output");
    }

    #[test]
    fn a_region_on_a_single_artifact_store_is_refused() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert(
                "artifact_store".into(),
                Value::List(vec![Value::map([
                    ("location", Value::from("b")),
                    ("type", Value::from("S3")),
                    ("region", Value::from("eu-west-1")),
                ])]),
            );
        }
        assert!(pipeline_input(&d).is_err());
    }

    /// What GetPipeline answers for [`desired`]: run orders filled in, the
    /// type and mode settings and masked secrets as AWS reports them.
    fn live_pipeline(declaration: PipelineDeclaration) -> LivePipeline {
        LivePipeline {
            pipeline: declaration,
            arn: "arn:aws:codepipeline:eu-west-1:123:app".into(),
            tags: vec![
                Tag::builder()
                    .key(STACK_ID_TAG)
                    .value("prod")
                    .build()
                    .unwrap(),
                Tag::builder()
                    .key(ADDRESS_TAG)
                    .value("aws_codepipeline.app")
                    .build()
                    .unwrap(),
            ],
        }
    }

    fn as_aws_reports_it(p: PipelineDeclaration) -> PipelineDeclaration {
        let stages = p
            .stages()
            .iter()
            .map(|st| {
                let actions = st
                    .actions()
                    .iter()
                    .map(|a| {
                        ActionDeclaration::builder()
                            .name(a.name())
                            .set_action_type_id(a.action_type_id().cloned())
                            .set_configuration(a.configuration().cloned())
                            .set_input_artifacts(Some(a.input_artifacts().to_vec()))
                            .set_output_artifacts(Some(a.output_artifacts().to_vec()))
                            .run_order(1)
                            .build()
                            .unwrap()
                    })
                    .collect();
                StageDeclaration::builder()
                    .name(st.name())
                    .set_actions(Some(actions))
                    .build()
                    .unwrap()
            })
            .collect();
        PipelineDeclaration::builder()
            .name(p.name())
            .role_arn(p.role_arn())
            .set_artifact_store(p.artifact_store().cloned())
            .set_stages(Some(stages))
            .version(1)
            .build()
            .unwrap()
    }

    #[test]
    fn a_live_pipeline_reads_back_as_a_no_op() {
        let d = desired();
        // Without pipelineType/executionMode in the answer, AWS's defaults apply.
        let live = live_pipeline(as_aws_reports_it(pipeline_input(&d).unwrap()));
        let v = pipeline_attrs(&live, Some(&d));
        assert_eq!(v.get("id"), Some(&Value::from("app")));
        assert_eq!(v.get("pipeline_type"), Some(&Value::from("V1")));
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn a_changed_action_setting_shows_in_the_diff() {
        let d = desired();
        let live = live_pipeline(as_aws_reports_it(pipeline_input(&d).unwrap()));
        let mut d2 = d.clone();
        if let Value::Map(m) = &mut d2 {
            let mut stages = blocks(&d, "stage").to_vec();
            stages[1] = stage(
                "Build",
                action(
                    "Build",
                    "Build",
                    "AWS",
                    "CodeBuild",
                    &[("ProjectName", "other")],
                    &["source_output"],
                    &["build_output"],
                ),
            );
            m.insert("stage".into(), Value::List(stages));
        }
        let v = pipeline_attrs(&live, Some(&d));
        let changes = diff(&schema(), &d2, &v, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1, "{changes:?}");
        assert_eq!(changes[0].name, "stage");
    }

    #[test]
    fn masked_secrets_keep_the_recorded_value() {
        let a = ActionDeclaration::builder()
            .name("Source")
            .action_type_id(
                ActionTypeId::builder()
                    .category(ActionCategory::Source)
                    .owner(ActionOwner::ThirdParty)
                    .provider("GitHub")
                    .version("1")
                    .build()
                    .unwrap(),
            )
            .configuration("OAuthToken", MASKED)
            .configuration("Repo", "app")
            .build()
            .unwrap();
        let recorded = Value::map([(
            "configuration",
            Value::map([("OAuthToken", Value::from("secret"))]),
        )]);
        let v = action_value(&a, Some(&recorded));
        assert_eq!(
            v.get("configuration").and_then(|c| c.get("OAuthToken")),
            Some(&Value::from("secret"))
        );
    }

    #[test]
    fn a_taken_name_is_recognised_in_both_forms() {
        let e = invalid(
            "CreatePipeline",
            "A pipeline with the name 'app' already exists in account '1'",
        )
        .with_code("InvalidStructureException");
        assert!(name_taken(&e));
        let e = invalid("CreatePipeline", "x").with_code("PipelineNameInUseException");
        assert!(name_taken(&e));
        let e = invalid("CreatePipeline", "not authorized").with_code("InvalidStructureException");
        assert!(!name_taken(&e));
    }
}
