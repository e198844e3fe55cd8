//! `aws_codebuild_project`: a CodeBuild build project. The ID is the
//! project's ARN, as with the Terraform provider.
//!
//! Supported blocks: `environment` (with `environment_variable` and
//! `registry_credential`), `source` (with `git_submodules_config`),
//! `artifacts`, `cache`, `logs_config` and `vpc_config`. Secondary sources
//! and artifacts, batch builds, file systems and project visibility are not.
//!
//! For `CODEPIPELINE` (and `NO_SOURCE` / `NO_ARTIFACTS`) sources and
//! artifacts AWS ignores `location` and does not return it: a location the
//! spec sets there is kept from the spec rather than diffed against nothing.
//! Without one, none is sent.

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_codebuild::types::{
    self, ArtifactNamespace, ArtifactPackaging, ArtifactsType, BucketOwnerAccess, CacheMode,
    CacheType, CloudWatchLogsConfig, ComputeType, CredentialProviderType, EnvironmentType,
    EnvironmentVariable, EnvironmentVariableType, GitSubmodulesConfig, ImagePullCredentialsType,
    LogsConfig, LogsConfigStatusType, Project, ProjectArtifacts, ProjectCache, ProjectEnvironment,
    ProjectSource, RegistryCredential, S3LogsConfig, SourceType, VpcConfig,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, KnownResource, LiveResource,
    Owner, ProviderError, RefreshRequest, ADDRESS_TAG,
};
use stackd_spec::schema::{Check, Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::PROJECT;
use crate::args::{blocks, bool_or, num, opt_int, opt_str, req_str, s, set_or_null, str_list};
use crate::cicd_util::{CicdResult, CODEBUILD};
use crate::context::Aws;
use crate::error::{has_code, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::refresh::known_attrs;
use crate::services::ec2::lookups::{check_ec2_refs, check_network, Ec2Ref};
use crate::services::iam::lookups::check_role_arn;
use crate::services::iam::{pass_role, ROLE};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::desired_tags;
use crate::wait::{retry, Deadline};

/// BatchGetProjects takes at most 100 names or ARNs.
const BATCH_SIZE: usize = 100;

fn one_of(values: &'static [&'static str]) -> Check {
    Check::OneOf(values.to_vec())
}

fn environment_block() -> BlockSchema {
    BlockSchema::new("environment", Nesting::Single)
        .required()
        .attr(
            AttrSchema::required("compute_type", AttrType::String)
                .check(one_of(ComputeType::values()))
                .doc("The compute size, e.g. BUILD_GENERAL1_SMALL."),
        )
        .attr(AttrSchema::required("image", AttrType::String).doc("The build image."))
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(one_of(EnvironmentType::values()))
                .doc(
                    "LINUX_CONTAINER, ARM_CONTAINER, ...: must match the image's CPU architecture.",
                ),
        )
        .attr(AttrSchema::optional("certificate", AttrType::String))
        .attr(
            AttrSchema::optional("image_pull_credentials_type", AttrType::String)
                .default("CODEBUILD")
                .check(one_of(ImagePullCredentialsType::values())),
        )
        .attr(
            AttrSchema::optional("privileged_mode", AttrType::Bool)
                .default(false)
                .doc("Run the Docker daemon (needed to build images)."),
        )
        .block(
            BlockSchema::new("environment_variable", Nesting::List)
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String))
                .attr(
                    AttrSchema::optional("type", AttrType::String)
                        .default("PLAINTEXT")
                        .check(one_of(EnvironmentVariableType::values())),
                ),
        )
        .block(
            BlockSchema::new("registry_credential", Nesting::Single)
                .attr(AttrSchema::required("credential", AttrType::String))
                .attr(
                    AttrSchema::required("credential_provider", AttrType::String)
                        .check(one_of(CredentialProviderType::values())),
                ),
        )
}

fn source_block() -> BlockSchema {
    BlockSchema::new("source", Nesting::Single)
        .required()
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(one_of(SourceType::values()))
                .doc("CODEPIPELINE, GITHUB, NO_SOURCE, S3, ..."),
        )
        .attr(AttrSchema::optional("location", AttrType::String))
        .attr(AttrSchema::optional("buildspec", AttrType::String))
        .attr(AttrSchema::optional("git_clone_depth", AttrType::Number))
        .attr(AttrSchema::optional("insecure_ssl", AttrType::Bool))
        .attr(AttrSchema::optional("report_build_status", AttrType::Bool))
        .block(
            BlockSchema::new("git_submodules_config", Nesting::Single)
                .attr(AttrSchema::required("fetch_submodules", AttrType::Bool)),
        )
}

fn artifacts_block() -> BlockSchema {
    BlockSchema::new("artifacts", Nesting::Single)
        .required()
        .attr(
            AttrSchema::required("type", AttrType::String)
                .check(one_of(ArtifactsType::values()))
                .doc("CODEPIPELINE, NO_ARTIFACTS or S3."),
        )
        .attr(AttrSchema::optional("location", AttrType::String))
        .attr(AttrSchema::optional_computed("name", AttrType::String))
        .attr(
            AttrSchema::optional_computed("namespace_type", AttrType::String)
                .check(one_of(ArtifactNamespace::values())),
        )
        .attr(
            AttrSchema::optional_computed("packaging", AttrType::String)
                .check(one_of(ArtifactPackaging::values())),
        )
        .attr(AttrSchema::optional("path", AttrType::String))
        .attr(AttrSchema::optional("encryption_disabled", AttrType::Bool).default(false))
        .attr(AttrSchema::optional("override_artifact_name", AttrType::Bool).default(false))
        .attr(AttrSchema::optional(
            "artifact_identifier",
            AttrType::String,
        ))
        .attr(
            AttrSchema::optional("bucket_owner_access", AttrType::String)
                .check(one_of(BucketOwnerAccess::values())),
        )
}

fn cache_block() -> BlockSchema {
    BlockSchema::new("cache", Nesting::Single)
        .computed_when_absent()
        .attr(
            AttrSchema::optional("type", AttrType::String)
                .default("NO_CACHE")
                .check(one_of(CacheType::values())),
        )
        .attr(AttrSchema::optional("location", AttrType::String))
        .attr(AttrSchema::optional(
            "modes",
            AttrType::list_of(AttrType::String),
        ))
}

fn logs_config_block() -> BlockSchema {
    BlockSchema::new("logs_config", Nesting::Single)
        .computed_when_absent()
        .block(
            BlockSchema::new("cloudwatch_logs", Nesting::Single)
                .attr(
                    AttrSchema::optional("status", AttrType::String)
                        .default("ENABLED")
                        .check(one_of(LogsConfigStatusType::values())),
                )
                .attr(AttrSchema::optional("group_name", AttrType::String))
                .attr(AttrSchema::optional("stream_name", AttrType::String)),
        )
        .block(
            BlockSchema::new("s3_logs", Nesting::Single)
                .attr(
                    AttrSchema::optional("status", AttrType::String)
                        .default("DISABLED")
                        .check(one_of(LogsConfigStatusType::values())),
                )
                .attr(AttrSchema::optional("location", AttrType::String))
                .attr(AttrSchema::optional("encryption_disabled", AttrType::Bool).default(false))
                .attr(
                    AttrSchema::optional("bucket_owner_access", AttrType::String)
                        .check(one_of(BucketOwnerAccess::values())),
                ),
        )
}

fn vpc_config_block() -> BlockSchema {
    BlockSchema::new("vpc_config", Nesting::Single)
        .attr(AttrSchema::required("vpc_id", AttrType::String))
        .attr(AttrSchema::required(
            "subnets",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::required(
            "security_group_ids",
            AttrType::set_of(AttrType::String),
        ))
}

/// `aws_codebuild_project`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_codebuild_project",
    schema,
    handler: &CodebuildProject,
    grants: &[
        // `apply --dry-run` looks up the VPC, subnets and groups.
        g(
            &[
                "codebuild:ListProjects",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVpcs",
            ],
            ANY,
        ),
        g(
            &[
                "codebuild:BatchGetProjects",
                "codebuild:CreateProject",
                "codebuild:DeleteProject",
                "codebuild:UpdateProject",
            ],
            &[PROJECT],
        ),
        // `apply --dry-run` looks the service role up.
        g(&["iam:GetRole"], &[ROLE]),
        pass_role(&["codebuild.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_codebuild_project")
        .doc("A CodeBuild project.")
        .attr(
            AttrSchema::required("name", AttrType::String)
                .force_new()
                .doc("The project name, unique in the region."),
        )
        .attr(AttrSchema::optional_computed(
            "description",
            AttrType::String,
        ))
        .attr(
            AttrSchema::required("service_role", AttrType::String)
                .doc("The ARN of the IAM role CodeBuild assumes."),
        )
        .attr(
            AttrSchema::optional("build_timeout", AttrType::Number)
                .default(60)
                .check(Check::Range(5, 2160))
                .doc("Minutes a build may run."),
        )
        .attr(
            AttrSchema::optional("queued_timeout", AttrType::Number)
                .default(480)
                .check(Check::Range(5, 480))
                .doc("Minutes a build may wait in the queue."),
        )
        .attr(AttrSchema::optional("badge_enabled", AttrType::Bool).default(false))
        .attr(AttrSchema::optional(
            "concurrent_build_limit",
            AttrType::Number,
        ))
        .attr(
            AttrSchema::optional_computed("encryption_key", AttrType::String)
                .doc("The KMS key for build outputs; AWS's S3 key by default."),
        )
        .attr(AttrSchema::optional("source_version", AttrType::String))
        .block(environment_block())
        .block(source_block())
        .block(artifacts_block())
        .block(cache_block())
        .block(logs_config_block())
        .block(vpc_config_block())
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The project's ARN (also the ID)."))
        .attr(AttrSchema::computed("badge_url", AttrType::String))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 5 * 60,
        })
}

// ----- spec → API -----

fn first<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    blocks(v, key).first()
}

fn build_error(what: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        CODEBUILD,
        "CreateProject",
        format!("invalid {what}: {e}"),
    )
}

fn environment_input(d: &Value) -> Result<ProjectEnvironment, ProviderError> {
    let env = first(d, "environment").unwrap_or(&Value::Null);
    let variables = blocks(env, "environment_variable")
        .iter()
        .map(|v| {
            EnvironmentVariable::builder()
                .name(opt_str(v, "name").unwrap_or_default())
                .value(v.get("value").and_then(Value::as_str).unwrap_or_default())
                .r#type(EnvironmentVariableType::from(
                    opt_str(v, "type").unwrap_or("PLAINTEXT"),
                ))
                .build()
                .map_err(|e| build_error("environment_variable", e))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let registry = first(env, "registry_credential")
        .map(|r| {
            RegistryCredential::builder()
                .credential(opt_str(r, "credential").unwrap_or_default())
                .credential_provider(CredentialProviderType::from(
                    opt_str(r, "credential_provider").unwrap_or_default(),
                ))
                .build()
                .map_err(|e| build_error("registry_credential", e))
        })
        .transpose()?;
    ProjectEnvironment::builder()
        .r#type(EnvironmentType::from(
            opt_str(env, "type").unwrap_or_default(),
        ))
        .image(opt_str(env, "image").unwrap_or_default())
        .compute_type(ComputeType::from(
            opt_str(env, "compute_type").unwrap_or_default(),
        ))
        .set_certificate(opt_str(env, "certificate").map(str::to_string))
        .image_pull_credentials_type(ImagePullCredentialsType::from(
            opt_str(env, "image_pull_credentials_type").unwrap_or("CODEBUILD"),
        ))
        .privileged_mode(bool_or(env, "privileged_mode", false))
        .set_environment_variables((!variables.is_empty()).then_some(variables))
        .set_registry_credential(registry)
        .build()
        .map_err(|e| build_error("environment", e))
}

fn source_input(d: &Value) -> Result<ProjectSource, ProviderError> {
    let src = first(d, "source").unwrap_or(&Value::Null);
    let submodules = first(src, "git_submodules_config")
        .map(|g| {
            GitSubmodulesConfig::builder()
                .fetch_submodules(bool_or(g, "fetch_submodules", false))
                .build()
                .map_err(|e| build_error("git_submodules_config", e))
        })
        .transpose()?;
    ProjectSource::builder()
        .r#type(SourceType::from(opt_str(src, "type").unwrap_or_default()))
        .set_location(opt_str(src, "location").map(str::to_string))
        .set_buildspec(opt_str(src, "buildspec").map(str::to_string))
        .set_git_clone_depth(opt_int(src, "git_clone_depth").map(|n| n as i32))
        .set_insecure_ssl(src.get("insecure_ssl").and_then(Value::as_bool))
        .set_report_build_status(src.get("report_build_status").and_then(Value::as_bool))
        .set_git_submodules_config(submodules)
        .build()
        .map_err(|e| build_error("source", e))
}

fn artifacts_input(d: &Value) -> Result<ProjectArtifacts, ProviderError> {
    let art = first(d, "artifacts").unwrap_or(&Value::Null);
    let kind = opt_str(art, "type").unwrap_or_default();
    // AWS refuses encryptionDisabled for NO_ARTIFACTS.
    let encryption_disabled =
        matches!(kind, "S3" | "CODEPIPELINE").then(|| bool_or(art, "encryption_disabled", false));
    ProjectArtifacts::builder()
        .r#type(ArtifactsType::from(kind))
        .set_location(opt_str(art, "location").map(str::to_string))
        .set_name(opt_str(art, "name").map(str::to_string))
        .set_namespace_type(opt_str(art, "namespace_type").map(ArtifactNamespace::from))
        .set_packaging(opt_str(art, "packaging").map(ArtifactPackaging::from))
        .set_path(opt_str(art, "path").map(str::to_string))
        .set_encryption_disabled(encryption_disabled)
        .override_artifact_name(bool_or(art, "override_artifact_name", false))
        .set_artifact_identifier(opt_str(art, "artifact_identifier").map(str::to_string))
        .set_bucket_owner_access(opt_str(art, "bucket_owner_access").map(BucketOwnerAccess::from))
        .build()
        .map_err(|e| build_error("artifacts", e))
}

/// The cache; no block means no cache (so removing the block clears it).
fn cache_input(d: &Value) -> Result<ProjectCache, ProviderError> {
    let cache = first(d, "cache");
    let kind = cache.and_then(|c| opt_str(c, "type")).unwrap_or("NO_CACHE");
    let modes = cache
        .filter(|_| kind == "LOCAL")
        .map(|c| {
            str_list(c, "modes")
                .iter()
                .map(|m| CacheMode::from(m.as_str()))
                .collect::<Vec<_>>()
        })
        .filter(|m| !m.is_empty());
    ProjectCache::builder()
        .r#type(CacheType::from(kind))
        .set_location(
            cache
                .and_then(|c| opt_str(c, "location"))
                .map(str::to_string),
        )
        .set_modes(modes)
        .build()
        .map_err(|e| build_error("cache", e))
}

fn logs_config_input(d: &Value) -> Result<Option<LogsConfig>, ProviderError> {
    let Some(logs) = first(d, "logs_config") else {
        return Ok(None);
    };
    let cloudwatch = first(logs, "cloudwatch_logs")
        .map(|c| {
            CloudWatchLogsConfig::builder()
                .status(LogsConfigStatusType::from(
                    opt_str(c, "status").unwrap_or("ENABLED"),
                ))
                .set_group_name(opt_str(c, "group_name").map(str::to_string))
                .set_stream_name(opt_str(c, "stream_name").map(str::to_string))
                .build()
                .map_err(|e| build_error("cloudwatch_logs", e))
        })
        .transpose()?;
    let s3 = first(logs, "s3_logs")
        .map(|c| {
            S3LogsConfig::builder()
                .status(LogsConfigStatusType::from(
                    opt_str(c, "status").unwrap_or("DISABLED"),
                ))
                .set_location(opt_str(c, "location").map(str::to_string))
                .encryption_disabled(bool_or(c, "encryption_disabled", false))
                .set_bucket_owner_access(
                    opt_str(c, "bucket_owner_access").map(BucketOwnerAccess::from),
                )
                .build()
                .map_err(|e| build_error("s3_logs", e))
        })
        .transpose()?;
    Ok(Some(
        LogsConfig::builder()
            .set_cloud_watch_logs(cloudwatch)
            .set_s3_logs(s3)
            .build(),
    ))
}

/// The VPC configuration; an empty one (which removes it on update) when
/// the block is absent.
fn vpc_config_input(d: &Value) -> VpcConfig {
    match first(d, "vpc_config") {
        Some(v) => VpcConfig::builder()
            .set_vpc_id(opt_str(v, "vpc_id").map(str::to_string))
            .set_subnets(Some(str_list(v, "subnets")))
            .set_security_group_ids(Some(str_list(v, "security_group_ids")))
            .build(),
        None => VpcConfig::builder().build(),
    }
}

fn tags_input(d: &Value) -> Vec<types::Tag> {
    desired_tags(d)
        .into_iter()
        .map(|(k, v)| types::Tag::builder().key(k).value(v).build())
        .collect()
}

/// Every part of a project the spec describes, as the API takes it.
#[derive(Clone, Debug)]
struct ProjectInput {
    name: String,
    description: Option<String>,
    service_role: String,
    build_timeout: Option<i32>,
    queued_timeout: Option<i32>,
    badge_enabled: bool,
    concurrent_build_limit: Option<i32>,
    encryption_key: Option<String>,
    source_version: Option<String>,
    environment: ProjectEnvironment,
    source: ProjectSource,
    artifacts: ProjectArtifacts,
    cache: ProjectCache,
    logs_config: Option<LogsConfig>,
    vpc_config: VpcConfig,
    tags: Vec<types::Tag>,
}

fn project_input(d: &Value) -> Result<ProjectInput, ProviderError> {
    Ok(ProjectInput {
        name: req_str(d, "name", "CreateProject")?.to_string(),
        description: opt_str(d, "description").map(str::to_string),
        service_role: req_str(d, "service_role", "CreateProject")?.to_string(),
        build_timeout: opt_int(d, "build_timeout").map(|n| n as i32),
        queued_timeout: opt_int(d, "queued_timeout").map(|n| n as i32),
        badge_enabled: bool_or(d, "badge_enabled", false),
        concurrent_build_limit: opt_int(d, "concurrent_build_limit").map(|n| n as i32),
        encryption_key: opt_str(d, "encryption_key").map(str::to_string),
        source_version: opt_str(d, "source_version").map(str::to_string),
        environment: environment_input(d)?,
        source: source_input(d)?,
        artifacts: artifacts_input(d)?,
        cache: cache_input(d)?,
        logs_config: logs_config_input(d)?,
        vpc_config: vpc_config_input(d),
        tags: tags_input(d),
    })
}

fn has_vpc(v: &VpcConfig) -> bool {
    v.vpc_id().is_some()
}

// ----- API → attributes -----

/// Tags as `tags_all`, without AWS's reserved `aws:` keys.
fn tags_value(tags: &[types::Tag]) -> Value {
    Value::Map(
        tags.iter()
            .filter_map(|t| Some((t.key()?, t.value().unwrap_or(""))))
            .filter(|(k, _)| !k.starts_with("aws:"))
            .map(|(k, v)| (k.to_string(), Value::from(v)))
            .collect(),
    )
}

fn tag<'a>(tags: &'a [types::Tag], key: &str) -> Option<&'a str> {
    tags.iter()
        .find(|t| t.key() == Some(key))
        .and_then(types::Tag::value)
}

fn single(item: Option<Value>) -> Value {
    Value::List(item.into_iter().collect())
}

/// A `location` AWS does not return for a source or artifact type that
/// ignores it: the recorded one stands.
fn location_value(live: Option<&str>, kind: &str, recorded: Option<&Value>) -> Value {
    match live {
        Some(l) if !l.is_empty() => Value::from(l),
        _ if kind.starts_with("CODEPIPELINE") || kind.starts_with("NO_") => {
            s(recorded.and_then(|r| opt_str(r, "location")))
        }
        _ => Value::Null,
    }
}

fn environment_value(env: &ProjectEnvironment) -> Value {
    let variables = env
        .environment_variables()
        .iter()
        .map(|v| {
            Value::map([
                ("name", Value::from(v.name())),
                ("value", Value::from(v.value())),
                (
                    "type",
                    Value::from(v.r#type().map(|t| t.as_str()).unwrap_or("PLAINTEXT")),
                ),
            ])
        })
        .collect();
    let registry = env.registry_credential().map(|r| {
        Value::map([
            ("credential", Value::from(r.credential())),
            (
                "credential_provider",
                Value::from(r.credential_provider().as_str()),
            ),
        ])
    });
    Value::map([
        ("compute_type", Value::from(env.compute_type().as_str())),
        ("image", Value::from(env.image())),
        ("type", Value::from(env.r#type().as_str())),
        ("certificate", s(env.certificate())),
        (
            "image_pull_credentials_type",
            s(env.image_pull_credentials_type().map(|t| t.as_str())),
        ),
        (
            "privileged_mode",
            Value::Bool(env.privileged_mode().unwrap_or(false)),
        ),
        ("environment_variable", Value::List(variables)),
        ("registry_credential", single(registry)),
    ])
}

fn source_value(src: &ProjectSource, recorded: Option<&Value>) -> Value {
    let kind = src.r#type().as_str();
    let submodules = src
        .git_submodules_config()
        .map(|g| Value::map([("fetch_submodules", Value::Bool(g.fetch_submodules()))]));
    Value::map([
        ("type", Value::from(kind)),
        ("location", location_value(src.location(), kind, recorded)),
        ("buildspec", s(src.buildspec())),
        (
            "git_clone_depth",
            src.git_clone_depth().map(num).unwrap_or(Value::Null),
        ),
        (
            "insecure_ssl",
            Value::Bool(src.insecure_ssl().unwrap_or(false)),
        ),
        (
            "report_build_status",
            Value::Bool(src.report_build_status().unwrap_or(false)),
        ),
        ("git_submodules_config", single(submodules)),
    ])
}

fn artifacts_value(art: &ProjectArtifacts, recorded: Option<&Value>) -> Value {
    let kind = art.r#type().as_str();
    Value::map([
        ("type", Value::from(kind)),
        ("location", location_value(art.location(), kind, recorded)),
        ("name", s(art.name())),
        (
            "namespace_type",
            s(art.namespace_type().map(|n| n.as_str())),
        ),
        ("packaging", s(art.packaging().map(|p| p.as_str()))),
        ("path", s(art.path())),
        (
            "encryption_disabled",
            Value::Bool(art.encryption_disabled().unwrap_or(false)),
        ),
        (
            "override_artifact_name",
            Value::Bool(art.override_artifact_name().unwrap_or(false)),
        ),
        ("artifact_identifier", s(art.artifact_identifier())),
        (
            "bucket_owner_access",
            s(art.bucket_owner_access().map(|b| b.as_str())),
        ),
    ])
}

fn cache_value(cache: &ProjectCache) -> Value {
    let modes: Vec<String> = cache
        .modes()
        .iter()
        .map(|m| m.as_str().to_string())
        .collect();
    Value::map([
        ("type", Value::from(cache.r#type().as_str())),
        ("location", s(cache.location())),
        ("modes", crate::args::list_or_null(modes)),
    ])
}

/// The log settings. AWS reports both destinations whatever was asked;
/// one in its default state (CloudWatch on with no names, S3 off) is left
/// out unless the recorded settings name it, so a spec writing only
/// `cloudwatch_logs` reads back as written.
fn logs_config_value(logs: Option<&LogsConfig>, recorded: Option<&Value>) -> Value {
    let Some(logs) = logs else {
        return Value::List(Vec::new());
    };
    let recorded_logs = recorded.and_then(|r| first(r, "logs_config"));
    let recorded_has = |key: &str| recorded_logs.is_some_and(|l| first(l, key).is_some());
    let cloudwatch = logs
        .cloud_watch_logs()
        .filter(|c| {
            recorded_has("cloudwatch_logs")
                || c.status() != &LogsConfigStatusType::Enabled
                || c.group_name().is_some_and(|g| !g.is_empty())
                || c.stream_name().is_some_and(|g| !g.is_empty())
        })
        .map(|c| {
            Value::map([
                ("status", Value::from(c.status().as_str())),
                ("group_name", s(c.group_name())),
                ("stream_name", s(c.stream_name())),
            ])
        });
    let s3 = logs
        .s3_logs()
        .filter(|c| {
            recorded_has("s3_logs")
                || c.status() != &LogsConfigStatusType::Disabled
                || c.location().is_some_and(|l| !l.is_empty())
        })
        .map(|c| {
            Value::map([
                ("status", Value::from(c.status().as_str())),
                ("location", s(c.location())),
                (
                    "encryption_disabled",
                    Value::Bool(c.encryption_disabled().unwrap_or(false)),
                ),
                (
                    "bucket_owner_access",
                    s(c.bucket_owner_access().map(|b| b.as_str())),
                ),
            ])
        });
    if cloudwatch.is_none() && s3.is_none() && recorded_logs.is_none() {
        return Value::List(Vec::new());
    }
    single(Some(Value::map([
        ("cloudwatch_logs", single(cloudwatch)),
        ("s3_logs", single(s3)),
    ])))
}

fn vpc_config_value(vpc: Option<&VpcConfig>) -> Value {
    single(vpc.filter(|v| has_vpc(v)).map(|v| {
        Value::map([
            ("vpc_id", s(v.vpc_id())),
            ("subnets", set_or_null(v.subnets().to_vec())),
            (
                "security_group_ids",
                set_or_null(v.security_group_ids().to_vec()),
            ),
        ])
    }))
}

/// Live attributes in schema shape. `recorded` (state, or the spec just
/// applied) supplies what AWS leaves out (see [`location_value`],
/// [`logs_config_value`]).
fn project_attrs(p: &Project, recorded: Option<&Value>) -> Value {
    let recorded_block = |key: &str| recorded.and_then(|r| first(r, key));
    let opt_num = |n: Option<i32>| n.map(num).unwrap_or(Value::Null);
    Value::map([
        ("id", s(p.arn())),
        ("arn", s(p.arn())),
        ("name", s(p.name())),
        ("description", s(p.description())),
        ("service_role", s(p.service_role())),
        ("build_timeout", opt_num(p.timeout_in_minutes())),
        ("queued_timeout", opt_num(p.queued_timeout_in_minutes())),
        (
            "badge_enabled",
            Value::Bool(p.badge().is_some_and(|b| b.badge_enabled())),
        ),
        (
            "badge_url",
            s(p.badge().and_then(|b| b.badge_request_url())),
        ),
        (
            "concurrent_build_limit",
            opt_num(p.concurrent_build_limit()),
        ),
        ("encryption_key", s(p.encryption_key())),
        ("source_version", s(p.source_version())),
        (
            "environment",
            single(p.environment().map(environment_value)),
        ),
        (
            "source",
            single(
                p.source()
                    .map(|src| source_value(src, recorded_block("source"))),
            ),
        ),
        (
            "artifacts",
            single(
                p.artifacts()
                    .map(|a| artifacts_value(a, recorded_block("artifacts"))),
            ),
        ),
        ("cache", single(p.cache().map(cache_value))),
        ("logs_config", logs_config_value(p.logs_config(), recorded)),
        ("vpc_config", vpc_config_value(p.vpc_config())),
        ("tags_all", tags_value(p.tags())),
    ])
}

// ----- calls -----

/// The project name an ID (an ARN, `...:project/NAME`) or a name stands for.
fn name_of(id: &str) -> &str {
    id.rsplit_once(":project/").map_or(id, |(_, name)| name)
}

async fn batch_get(aws: &Aws, names: &[String]) -> Result<Vec<Project>, ProviderError> {
    let mut found = Vec::new();
    for chunk in names.chunks(BATCH_SIZE) {
        let out = aws
            .codebuild
            .batch_get_projects()
            .set_names(Some(chunk.to_vec()))
            .send()
            .await
            .codebuild("BatchGetProjects")?;
        found.extend(out.projects().iter().cloned());
    }
    Ok(found)
}

async fn get_one(aws: &Aws, name: &str) -> Result<Option<Project>, ProviderError> {
    Ok(batch_get(aws, &[name.to_string()])
        .await?
        .into_iter()
        .next())
}

async fn list_names(aws: &Aws) -> Result<Vec<String>, ProviderError> {
    aws.codebuild
        .list_projects()
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .codebuild("ListProjects")
}

/// A project left by an earlier attempt of this create (crash between
/// create and state write) carries this stack's and address's tags: it is
/// adopted. Any other project of that name is a conflict.
async fn adopt(aws: &Aws, req: &ChangeRequest, name: &str) -> Result<Project, ProviderError> {
    let existing = get_one(aws, name).await?;
    match existing {
        Some(p) if req.owner.made(|k| tag(p.tags(), k), &req.address) => {
            tracing::info!(
                name,
                "adopting the CodeBuild project an earlier attempt created"
            );
            Ok(p)
        }
        _ => Err(ProviderError::new(
            ErrorKind::Permanent,
            CODEBUILD,
            "CreateProject",
            format!(
                "a CodeBuild project named {name:?} already exists and is not {} of stack {:?}; \
                 rename the project or import it",
                req.address, req.owner.name
            ),
        )
        .with_code("ResourceAlreadyExistsException")),
    }
}

pub(crate) struct CodebuildProject;

#[async_trait]
impl ResourceHandler for CodebuildProject {
    /// One chain: ListProjects for the names, then BatchGetProjects (100 at
    /// a time) for the known ones and every project carrying the stack tag.
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let mut names: Vec<String> = req
            .known
            .iter()
            .map(|k| name_of(&k.id).to_string())
            .collect();
        let known_names: HashSet<String> = names.iter().cloned().collect();
        names.extend(
            list_names(aws)
                .await?
                .into_iter()
                .filter(|n| !known_names.contains(n)),
        );
        let projects = batch_get(aws, &names).await?;
        Ok(live(projects, &req.known, &req.owner))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let input = project_input(&req.desired)?;
        let call = aws
            .codebuild
            .create_project()
            .name(&input.name)
            .set_description(input.description.clone())
            .service_role(&input.service_role)
            .set_timeout_in_minutes(input.build_timeout)
            .set_queued_timeout_in_minutes(input.queued_timeout)
            .badge_enabled(input.badge_enabled)
            .set_concurrent_build_limit(input.concurrent_build_limit)
            .set_encryption_key(input.encryption_key.clone())
            .set_source_version(input.source_version.clone())
            .environment(input.environment.clone())
            .source(input.source.clone())
            .artifacts(input.artifacts.clone())
            .cache(input.cache.clone())
            .set_logs_config(input.logs_config.clone())
            .set_vpc_config(has_vpc(&input.vpc_config).then(|| input.vpc_config.clone()))
            .set_tags(Some(input.tags.clone()));
        // A service role created a moment ago may not be assumable yet.
        let created = retry(&deadline, || async {
            call.clone().send().await.codebuild("CreateProject")
        })
        .await;
        let project = match created {
            Ok(out) => out.project().cloned().ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::Permanent,
                    CODEBUILD,
                    "CreateProject",
                    "the answer carries no project",
                )
            })?,
            Err(e) if has_code(&e, "ResourceAlreadyExistsException") => {
                adopt(aws, req, &input.name).await?
            }
            Err(e) => return Err(e),
        };
        Ok(project_attrs(&project, Some(&req.desired)))
    }

    /// A project of the same (known) name is looked up, the service role,
    /// and the VPC, subnets and security groups of `vpc_config`.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        if let Some(name) = known_str(d, "name") {
            const ACTION: &str = "codebuild:BatchGetProjects";
            if let Some(Some(p)) = findings.read(ACTION, get_one(aws, name).await)? {
                let tags = p
                    .tags()
                    .iter()
                    .filter_map(|t| Some((t.key()?.to_string(), t.value()?.to_string())))
                    .collect();
                findings.name_in_use(req, ACTION, "CodeBuild project", name, &tags);
            }
        }
        if let Some(role) = known_str(d, "service_role") {
            check_role_arn(aws, req, &mut findings, role).await?;
        }
        if let Some(vpc_config) = first(d, "vpc_config") {
            if let Some(vpc) = known_str(vpc_config, "vpc_id") {
                check_ec2_refs(aws, &mut findings, Ec2Ref::Vpc, &[vpc.to_string()]).await?;
            }
            check_network(
                aws,
                &mut findings,
                vpc_config,
                "subnets",
                "security_group_ids",
            )
            .await?;
        }
        Ok(findings.into_vec())
    }

    /// UpdateProject replaces every setting sent, tags included, in one call.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let input = project_input(&req.desired)?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |key: &str| req.changed.iter().any(|c| c == key);
        // Settings removed from the spec are cleared the way the API allows:
        // an empty source version, -1 for no build limit, an empty VPC config.
        let source_version = input
            .source_version
            .clone()
            .or_else(|| changed("source_version").then(String::new));
        let build_limit = input
            .concurrent_build_limit
            .or_else(|| changed("concurrent_build_limit").then_some(-1));
        let vpc = (has_vpc(&input.vpc_config) || !blocks(&prior, "vpc_config").is_empty())
            .then(|| input.vpc_config.clone());
        let call = aws
            .codebuild
            .update_project()
            .name(&input.name)
            .set_description(input.description.clone())
            .service_role(&input.service_role)
            .set_timeout_in_minutes(input.build_timeout)
            .set_queued_timeout_in_minutes(input.queued_timeout)
            .badge_enabled(input.badge_enabled)
            .set_concurrent_build_limit(build_limit)
            .set_encryption_key(input.encryption_key.clone())
            .set_source_version(source_version)
            .environment(input.environment.clone())
            .source(input.source.clone())
            .artifacts(input.artifacts.clone())
            .cache(input.cache.clone())
            .set_logs_config(input.logs_config.clone())
            .set_vpc_config(vpc)
            .set_tags(Some(input.tags.clone()));
        let out = retry(&deadline, || async {
            call.clone().send().await.codebuild("UpdateProject")
        })
        .await?;
        let project = match out.project() {
            Some(p) => p.clone(),
            None => get_one(aws, &input.name).await?.ok_or_else(|| {
                ProviderError::new(
                    ErrorKind::NotFound,
                    CODEBUILD,
                    "BatchGetProjects",
                    format!("{} no longer exists", input.name),
                )
            })?,
        };
        Ok(project_attrs(&project, Some(&req.desired)))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let name = opt_str(&req.prior, "name").unwrap_or_else(|| name_of(&req.id));
        ignore_not_found(
            aws.codebuild
                .delete_project()
                .name(name)
                .send()
                .await
                .codebuild("DeleteProject")
                .map(|_| ()),
        )
    }
}

fn live(projects: Vec<Project>, known: &[KnownResource], owner: &Owner) -> Vec<LiveResource> {
    let mut seen = HashSet::new();
    projects
        .into_iter()
        .filter_map(|p| {
            let arn = p.arn()?.to_string();
            let recorded = known_attrs(&arn, known);
            let known_address = known
                .iter()
                .find(|k| k.id == arn || name_of(&k.id) == p.name().unwrap_or_default())
                .map(|k| k.address.clone());
            if known_address.is_none() && !owner.owns(|k| tag(p.tags(), k)) {
                return None;
            }
            if !seen.insert(arn.clone()) {
                return None;
            }
            let address =
                known_address.or_else(|| tag(p.tags(), ADDRESS_TAG).and_then(|a| a.parse().ok()));
            Some(LiveResource {
                address,
                attrs: project_attrs(&p, recorded),
                id: arn,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};
    use stackd_engine::provider::STACK_ID_TAG;

    fn env_var(name: &str, value: &str) -> Value {
        Value::map([
            ("name", Value::from(name)),
            ("value", Value::from(value)),
            ("type", Value::from("PLAINTEXT")),
        ])
    }

    /// A desired value as the spec evaluator builds it: every argument,
    /// defaults filled in, unwritten blocks empty.
    fn desired() -> Value {
        Value::map([
            ("name", Value::from("app-build")),
            ("description", Value::Null),
            ("service_role", Value::from("arn:aws:iam::123:role/cb")),
            ("build_timeout", Value::from(60)),
            ("queued_timeout", Value::from(480)),
            ("badge_enabled", Value::Bool(false)),
            ("concurrent_build_limit", Value::Null),
            ("encryption_key", Value::Null),
            ("source_version", Value::Null),
            (
                "environment",
                Value::List(vec![Value::map([
                    ("compute_type", Value::from("BUILD_GENERAL1_SMALL")),
                    (
                        "image",
                        Value::from("aws/codebuild/amazonlinux2-aarch64-standard:3.0"),
                    ),
                    ("type", Value::from("ARM_CONTAINER")),
                    ("certificate", Value::Null),
                    ("image_pull_credentials_type", Value::from("CODEBUILD")),
                    ("privileged_mode", Value::Bool(true)),
                    (
                        "environment_variable",
                        Value::List(vec![env_var("REPO", "app"), env_var("TAG", "latest")]),
                    ),
                    ("registry_credential", Value::List(vec![])),
                ])]),
            ),
            (
                "source",
                Value::List(vec![Value::map([
                    ("type", Value::from("CODEPIPELINE")),
                    ("location", Value::Null),
                    ("buildspec", Value::from("buildspec.yml")),
                    ("git_clone_depth", Value::Null),
                    ("insecure_ssl", Value::Null),
                    ("report_build_status", Value::Null),
                    ("git_submodules_config", Value::List(vec![])),
                ])]),
            ),
            (
                "artifacts",
                Value::List(vec![Value::map([
                    ("type", Value::from("CODEPIPELINE")),
                    ("location", Value::Null),
                    ("name", Value::Null),
                    ("namespace_type", Value::Null),
                    ("packaging", Value::Null),
                    ("path", Value::Null),
                    ("encryption_disabled", Value::Bool(false)),
                    ("override_artifact_name", Value::Bool(false)),
                    ("artifact_identifier", Value::Null),
                    ("bucket_owner_access", Value::Null),
                ])]),
            ),
            ("cache", Value::Null),
            (
                "logs_config",
                Value::List(vec![Value::map([
                    (
                        "cloudwatch_logs",
                        Value::List(vec![Value::map([
                            ("status", Value::from("ENABLED")),
                            ("group_name", Value::from("/codebuild/app")),
                            ("stream_name", Value::Null),
                        ])]),
                    ),
                    ("s3_logs", Value::List(vec![])),
                ])]),
            ),
            ("vpc_config", Value::List(vec![])),
            (
                "tags_all",
                Value::map([
                    (STACK_ID_TAG, Value::from("prod")),
                    (ADDRESS_TAG, Value::from("aws_codebuild_project.app")),
                ]),
            ),
        ])
    }

    #[test]
    fn arguments_map_to_the_api_input() {
        let input = project_input(&desired()).unwrap();
        assert_eq!(input.name, "app-build");
        assert_eq!(input.build_timeout, Some(60));
        assert_eq!(input.environment.r#type(), &EnvironmentType::ArmContainer);
        assert_eq!(input.environment.privileged_mode(), Some(true));
        assert_eq!(
            input.environment.image_pull_credentials_type(),
            Some(&ImagePullCredentialsType::Codebuild)
        );
        let vars: Vec<_> = input
            .environment
            .environment_variables()
            .iter()
            .map(|v| (v.name(), v.value(), v.r#type().map(|t| t.as_str())))
            .collect();
        assert_eq!(
            vars,
            [
                ("REPO", "app", Some("PLAINTEXT")),
                ("TAG", "latest", Some("PLAINTEXT"))
            ]
        );
        // No location for CODEPIPELINE: none is sent.
        assert_eq!(input.source.location(), None);
        assert_eq!(input.source.buildspec(), Some("buildspec.yml"));
        assert_eq!(input.artifacts.location(), None);
        assert_eq!(input.artifacts.encryption_disabled(), Some(false));
        assert_eq!(input.cache.r#type(), &CacheType::NoCache);
        let logs = input.logs_config.unwrap();
        assert_eq!(
            logs.cloud_watch_logs().and_then(|c| c.group_name()),
            Some("/codebuild/app")
        );
        assert!(logs.s3_logs().is_none());
        assert!(!has_vpc(&input.vpc_config));
        assert_eq!(input.tags.len(), 2);
    }

    #[test]
    fn no_artifacts_get_no_encryption_setting() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert(
                "artifacts".into(),
                Value::List(vec![Value::map([("type", Value::from("NO_ARTIFACTS"))])]),
            );
        }
        let input = project_input(&d).unwrap();
        assert_eq!(input.artifacts.encryption_disabled(), None);
    }

    /// What AWS answers for the project [`desired`] creates: names and
    /// packaging filled in, both log destinations reported, no locations.
    fn live_project() -> Project {
        Project::builder()
            .name("app-build")
            .arn("arn:aws:codebuild:eu-west-1:123:project/app-build")
            .service_role("arn:aws:iam::123:role/cb")
            .timeout_in_minutes(60)
            .queued_timeout_in_minutes(480)
            .encryption_key("arn:aws:kms:eu-west-1:123:alias/aws/s3")
            .badge(types::ProjectBadge::builder().badge_enabled(false).build())
            .environment(
                ProjectEnvironment::builder()
                    .r#type(EnvironmentType::ArmContainer)
                    .image("aws/codebuild/amazonlinux2-aarch64-standard:3.0")
                    .compute_type(ComputeType::BuildGeneral1Small)
                    .privileged_mode(true)
                    .image_pull_credentials_type(ImagePullCredentialsType::Codebuild)
                    .environment_variables(
                        EnvironmentVariable::builder()
                            .name("REPO")
                            .value("app")
                            .r#type(EnvironmentVariableType::Plaintext)
                            .build()
                            .unwrap(),
                    )
                    .environment_variables(
                        EnvironmentVariable::builder()
                            .name("TAG")
                            .value("latest")
                            .r#type(EnvironmentVariableType::Plaintext)
                            .build()
                            .unwrap(),
                    )
                    .build()
                    .unwrap(),
            )
            .source(
                ProjectSource::builder()
                    .r#type(SourceType::Codepipeline)
                    .buildspec("buildspec.yml")
                    .insecure_ssl(false)
                    .build()
                    .unwrap(),
            )
            .artifacts(
                ProjectArtifacts::builder()
                    .r#type(ArtifactsType::Codepipeline)
                    .name("app-build")
                    .packaging(ArtifactPackaging::None)
                    .encryption_disabled(false)
                    .build()
                    .unwrap(),
            )
            .cache(
                ProjectCache::builder()
                    .r#type(CacheType::NoCache)
                    .build()
                    .unwrap(),
            )
            .logs_config(
                LogsConfig::builder()
                    .cloud_watch_logs(
                        CloudWatchLogsConfig::builder()
                            .status(LogsConfigStatusType::Enabled)
                            .group_name("/codebuild/app")
                            .build()
                            .unwrap(),
                    )
                    .s3_logs(
                        S3LogsConfig::builder()
                            .status(LogsConfigStatusType::Disabled)
                            .encryption_disabled(false)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .tags(
                types::Tag::builder()
                    .key(STACK_ID_TAG)
                    .value("prod")
                    .build(),
            )
            .tags(
                types::Tag::builder()
                    .key(ADDRESS_TAG)
                    .value("aws_codebuild_project.app")
                    .build(),
            )
            .tags(types::Tag::builder().key("aws:reserved").value("x").build())
            .build()
    }

    #[test]
    fn a_live_project_reads_back_as_a_no_op() {
        let d = desired();
        let v = project_attrs(&live_project(), Some(&d));
        assert_eq!(
            v.get("id"),
            Some(&Value::from(
                "arn:aws:codebuild:eu-west-1:123:project/app-build"
            ))
        );
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
        // Every schema attribute is present.
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
        for b in &schema().body.blocks {
            assert!(v.get(b.name).is_some(), "{} missing", b.name);
        }
    }

    #[test]
    fn a_changed_setting_shows_in_the_diff() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert("build_timeout".into(), Value::from(30));
        }
        let v = project_attrs(&live_project(), Some(&d));
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "build_timeout");
    }

    #[test]
    fn an_ignored_location_is_kept_from_the_spec() {
        let recorded = Value::map([("location", Value::from("ignored"))]);
        assert_eq!(
            location_value(None, "CODEPIPELINE", Some(&recorded)),
            Value::from("ignored")
        );
        assert_eq!(location_value(None, "S3", Some(&recorded)), Value::Null);
        assert_eq!(
            location_value(Some("bucket"), "S3", Some(&recorded)),
            Value::from("bucket")
        );
    }

    #[test]
    fn default_log_destinations_are_left_out_unless_asked_for() {
        let p = live_project();
        let v = logs_config_value(p.logs_config(), None);
        let logs = first_block_value(&v);
        assert_eq!(blocks(&logs, "cloudwatch_logs").len(), 1);
        assert!(blocks(&logs, "s3_logs").is_empty());
        let recorded = Value::map([(
            "logs_config",
            Value::List(vec![Value::map([(
                "s3_logs",
                Value::List(vec![Value::map([("status", Value::from("DISABLED"))])]),
            )])]),
        )]);
        let v = logs_config_value(p.logs_config(), Some(&recorded));
        assert_eq!(blocks(&first_block_value(&v), "s3_logs").len(), 1);
    }

    fn first_block_value(v: &Value) -> Value {
        v.as_list()
            .and_then(|l| l.first())
            .cloned()
            .unwrap_or(Value::Null)
    }

    #[test]
    fn ids_are_arns_and_names_are_found_in_them() {
        assert_eq!(
            name_of("arn:aws:codebuild:eu-west-1:123:project/app-build"),
            "app-build"
        );
        assert_eq!(name_of("app-build"), "app-build");
    }

    #[test]
    fn refresh_keeps_known_and_stack_tagged_projects_only() {
        let mine = live_project();
        let theirs = Project::builder()
            .name("other")
            .arn("arn:aws:codebuild:eu-west-1:123:project/other")
            .tags(types::Tag::builder().key(STACK_ID_TAG).value("dev").build())
            .build();
        let found = live(vec![mine, theirs], &[], &Owner::new("prod", "prod"));
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].address.as_ref().map(|a| a.to_string()).as_deref(),
            Some("aws_codebuild_project.app")
        );
    }
}
