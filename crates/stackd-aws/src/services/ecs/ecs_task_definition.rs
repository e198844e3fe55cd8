//! `aws_ecs_task_definition`: one revision of an ECS task definition. Its
//! ID is the family, as in the Terraform provider; the revision is in `arn`.
//!
//! Every argument but the tags forces replacement: a changed definition
//! registers a new revision (the engine's create) and deregisters the old
//! one (its delete, by the recorded `arn`). `container_definitions` travels
//! as raw JSON both ways (see `elbv2_ecs_util::CaptureBody`), and is
//! compared after [`normalize_container_definitions`] puts the spec's and
//! ECS's echo into one canonical form.
//!
//! Refresh reads each known revision with `DescribeTaskDefinition`: ECS has
//! no batch read of task definitions, so these run concurrently (at most 8
//! at once). A revision of this stack that state does not know (a crash
//! right after registering it) is adopted by the next create, which first
//! looks at the family's latest revision.

use async_trait::async_trait;
use aws_sdk_ecs::types::{
    self as ecs, Compatibility, ContainerDefinition, EphemeralStorage, CpuArchitecture, HostVolumeProperties,
    NetworkMode, OsFamily, RuntimePlatform, SortOrder, TaskDefinitionField, TaskDefinitionStatus,
    Volume,
};
use serde_json::Value as Json;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::TASK_DEFINITION;
use crate::args::{blocks, bool_or, num, opt_int, opt_str, req_str, s, set_or_null, sort_blocks, str_list};
use crate::context::Aws;
use crate::elbv2_ecs_util::{
    at_most_one, ecs_reconcile_tags, ecs_tag_map, ecs_tags, gone, invalid, made_for, read_each,
    tags_value, with_container_definitions, CaptureBody, SdkResultExt, TagMap, ECS,
};
use crate::error::{after_create, ignore_not_found};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_str, Findings};
use crate::services::iam::lookups::check_role_arn;
use crate::services::iam::{pass_role, ROLE};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::wait::{retry, Deadline};

/// `aws_ecs_task_definition`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_ecs_task_definition",
    schema,
    handler: &EcsTaskDefinition,
    grants: &[
        g(
            &[
                "ecs:DeregisterTaskDefinition",
                "ecs:DescribeTaskDefinition",
                "ecs:ListTaskDefinitions",
            ],
            ANY,
        ),
        g(
            &[
                "ecs:RegisterTaskDefinition",
                "ecs:TagResource",
                "ecs:UntagResource",
            ],
            &[TASK_DEFINITION],
        ),
        // The task and execution roles: looked up by a dry run,
        // passed to ECS tasks.
        g(&["iam:GetRole"], &[ROLE]),
        pass_role(&["ecs-tasks.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_ecs_task_definition")
        .doc("A revision of an ECS task definition.")
        .attr(
            AttrSchema::required("family", AttrType::String)
                .force_new()
                .doc("The family (also the ID)."),
        )
        .attr(
            AttrSchema::required("container_definitions", AttrType::Json)
                .force_new()
                .normalize(normalize_container_definitions)
                .doc("The containers, as the JSON array ECS takes."),
        )
        .attr(
            AttrSchema::optional("cpu", AttrType::String)
                .force_new()
                .doc("Task CPU units, e.g. \"256\" (required on Fargate)."),
        )
        .attr(
            AttrSchema::optional("memory", AttrType::String)
                .force_new()
                .doc("Task memory in MiB, e.g. \"512\" (required on Fargate)."),
        )
        .attr(
            AttrSchema::optional_computed("network_mode", AttrType::String)
                .force_new()
                .doc("`awsvpc` (Fargate), `bridge`, `host` or `none`."),
        )
        .attr(
            AttrSchema::optional(
                "requires_compatibilities",
                AttrType::set_of(AttrType::String),
            )
            .force_new()
            .doc("Launch types it must be valid for: `FARGATE`, `EC2`."),
        )
        .attr(
            AttrSchema::optional("execution_role_arn", AttrType::String)
                .force_new()
                .doc("The role ECS uses to pull images and write logs."),
        )
        .attr(
            AttrSchema::optional("task_role_arn", AttrType::String)
                .force_new()
                .doc("The role the containers run as."),
        )
        .block(
            at_most_one(BlockSchema::new("runtime_platform", Nesting::List))
                .force_new()
                .attr(AttrSchema::optional(
                    "operating_system_family",
                    AttrType::String,
                ))
                .attr(AttrSchema::optional("cpu_architecture", AttrType::String)),
        )
        .block(
            at_most_one(BlockSchema::new("ephemeral_storage", Nesting::List))
                .force_new()
                .attr(
                    AttrSchema::required("size_in_gib", AttrType::Number)
                        .check(stackd_spec::schema::Check::Range(21, 200))
                        .doc("Fargate task storage in GiB (21-200; 20 when absent)."),
                ),
        )
        .block(
            BlockSchema::new("volume", Nesting::Set)
                .force_new()
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::optional("host_path", AttrType::String)),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("The revision's ARN."))
        .attr(
            AttrSchema::computed("arn_without_revision", AttrType::String)
                .doc("The ARN without the `:<revision>` suffix."),
        )
        .attr(AttrSchema::computed("revision", AttrType::Number).doc("The revision number."))
        .attr(
            AttrSchema::optional("skip_destroy", AttrType::Bool)
                .default(false)
                .doc("Leave the revision registered on destroy (only forget it)."),
        )
        .taggable()
        // Services move to the new revision before the old one goes.
        .replace_creates_first()
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 5 * 60,
        })
}

// ---------------------------------------------------------------------------
// Container definitions

/// Puts container definitions (a JSON array in a string) into one canonical
/// form, so that the spec's and ECS's echo compare equal: nulls, empty
/// strings, arrays and objects dropped; ECS's defaults filled in or
/// removed (`essential` true, health check interval 30 / retries 3 /
/// timeout 5, port mapping protocol `tcp`, host port 0 or equal to the
/// container port, container `cpu` 0); environment variables and secrets
/// sorted by name; containers sorted by name. Text that is not JSON is
/// left as it is.
///
/// A host port equal to the container port is dropped because `awsvpc`
/// tasks (Fargate) always echo one; the normalizer cannot see the network
/// mode, so in `bridge` mode writing `hostPort` equal to `containerPort` and
/// leaving it out also compare equal.
pub(crate) fn normalize_container_definitions(v: &Value) -> Value {
    let Some(text) = v.as_str() else {
        return v.clone();
    };
    let Ok(Json::Array(containers)) = serde_json::from_str::<Json>(text) else {
        return v.clone();
    };
    let mut containers: Vec<Json> = containers
        .into_iter()
        .filter_map(compact)
        .map(container_defaults)
        .filter_map(compact)
        .collect();
    containers.sort_by(|a, b| name_of(a).cmp(name_of(b)));
    Value::String(Json::Array(containers).to_string())
}

fn name_of(v: &Json) -> &str {
    v.get("name").and_then(Json::as_str).unwrap_or("")
}

/// Drops nulls, empty strings, empty arrays and empty objects (after
/// compacting what is inside them); `None` when nothing is left.
fn compact(v: Json) -> Option<Json> {
    match v {
        Json::Null => None,
        Json::String(s) if s.is_empty() => None,
        Json::Array(items) => {
            let items: Vec<Json> = items
                .into_iter()
                .filter_map(|i| match i {
                    // Strings inside lists (a command's arguments) keep
                    // their place even when empty.
                    Json::String(s) => Some(Json::String(s)),
                    other => compact(other),
                })
                .collect();
            (!items.is_empty()).then_some(Json::Array(items))
        }
        Json::Object(map) => {
            let map: serde_json::Map<String, Json> = map
                .into_iter()
                .filter_map(|(k, v)| compact(v).map(|v| (k, v)))
                .collect();
            (!map.is_empty()).then_some(Json::Object(map))
        }
        other => Some(other),
    }
}

/// The members of ECS's `ContainerDefinition`. Terraform's provider reads
/// `container_definitions` into that structure, so any other key (a
/// task-level `networkMode` written inside a container, a typo) is dropped
/// silently, neither sent nor compared; stackd does the same, so that such
/// a spec neither fails nor shows a change on every plan.
const CONTAINER_FIELDS: &[&str] = &[
    "command",
    "cpu",
    "credentialSpecs",
    "dependsOn",
    "disableNetworking",
    "dnsSearchDomains",
    "dnsServers",
    "dockerLabels",
    "dockerSecurityOptions",
    "entryPoint",
    "environment",
    "environmentFiles",
    "essential",
    "extraHosts",
    "firelensConfiguration",
    "healthCheck",
    "hostname",
    "image",
    "interactive",
    "links",
    "linuxParameters",
    "logConfiguration",
    "memory",
    "memoryReservation",
    "mountPoints",
    "name",
    "portMappings",
    "privileged",
    "pseudoTerminal",
    "readonlyRootFilesystem",
    "repositoryCredentials",
    "resourceRequirements",
    "restartPolicy",
    "secrets",
    "startTimeout",
    "stopTimeout",
    "systemControls",
    "ulimits",
    "user",
    "versionConsistency",
    "volumesFrom",
    "workingDirectory",
];

/// A container definition without the keys ECS's structure does not have.
fn known_fields_only(mut c: Json) -> Json {
    if let Some(obj) = c.as_object_mut() {
        obj.retain(|k, _| CONTAINER_FIELDS.contains(&k.as_str()));
    }
    c
}

fn container_defaults(c: Json) -> Json {
    let mut c = known_fields_only(c);
    let Some(obj) = c.as_object_mut() else {
        return c;
    };
    obj.entry("essential").or_insert(Json::Bool(true));
    if obj.get("cpu").and_then(Json::as_i64) == Some(0) {
        obj.remove("cpu");
    }
    if let Some(Json::Array(mappings)) = obj.get_mut("portMappings") {
        for m in mappings.iter_mut().filter_map(Json::as_object_mut) {
            if m.get("protocol")
                .and_then(Json::as_str)
                .is_some_and(|p| p.eq_ignore_ascii_case("tcp"))
            {
                m.remove("protocol");
            }
            let container_port = m.get("containerPort").and_then(Json::as_i64);
            let host_port = m.get("hostPort").and_then(Json::as_i64);
            if host_port == Some(0) || (host_port.is_some() && host_port == container_port) {
                m.remove("hostPort");
            }
        }
    }
    if let Some(Json::Object(hc)) = obj.get_mut("healthCheck") {
        hc.entry("interval").or_insert(Json::from(30));
        hc.entry("retries").or_insert(Json::from(3));
        hc.entry("timeout").or_insert(Json::from(5));
    }
    for key in ["environment", "secrets"] {
        if let Some(Json::Array(items)) = obj.get_mut(key) {
            items.sort_by(|a, b| name_of(a).cmp(name_of(b)));
        }
    }
    c
}

/// The spec's container definitions, parsed, with nulls dropped: what is
/// sent to ECS.
fn container_definitions_json(desired: &Value) -> Result<Json, ProviderError> {
    let text = req_str(desired, "container_definitions", "RegisterTaskDefinition")?;
    let parsed: Json = serde_json::from_str(text).map_err(|e| {
        invalid(
            ECS,
            "RegisterTaskDefinition",
            format!("container_definitions is not valid JSON: {e}"),
        )
    })?;
    let Json::Array(items) = parsed else {
        return Err(invalid(
            ECS,
            "RegisterTaskDefinition",
            "container_definitions must be a JSON array of container definitions",
        ));
    };
    for item in &items {
        if let Some(obj) = item.as_object() {
            let unknown: Vec<&str> = obj
                .keys()
                .map(String::as_str)
                .filter(|k| !CONTAINER_FIELDS.contains(k))
                .collect();
            if !unknown.is_empty() {
                tracing::warn!(
                    container = name_of(item),
                    keys = ?unknown,
                    "container definition keys ECS does not have are left out, as Terraform does"
                );
            }
        }
    }
    Ok(Json::Array(
        items
            .into_iter()
            .map(|c| drop_nulls(known_fields_only(c)))
            .collect(),
    ))
}

fn drop_nulls(v: Json) -> Json {
    match v {
        Json::Object(map) => Json::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, drop_nulls(v)))
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(drop_nulls).collect()),
        other => other,
    }
}

// ---------------------------------------------------------------------------
// Reading

/// A revision as ECS describes it: the typed definition, its container
/// definitions as raw JSON, and its tags.
pub(crate) struct Described {
    pub(crate) def: ecs::TaskDefinition,
    containers: Json,
    tags: TagMap,
}

/// `<arn>` without its `:<revision>` suffix.
fn without_revision(arn: &str) -> String {
    match arn.rsplit_once(':') {
        Some((head, rev)) if rev.chars().all(|c| c.is_ascii_digit()) => head.to_string(),
        _ => arn.to_string(),
    }
}

/// The revision's attributes with `skip_destroy`, which lives only in the
/// spec and state, taken from `args`.
fn td_attrs_with(d: &Described, args: &Value) -> Value {
    let mut v = td_attrs(d);
    if let Value::Map(m) = &mut v {
        m.insert(
            "skip_destroy".into(),
            Value::Bool(bool_or(args, "skip_destroy", false)),
        );
    }
    v
}

pub(crate) fn td_attrs(d: &Described) -> Value {
    let def = &d.def;
    let arn = def.task_definition_arn().unwrap_or_default();
    let runtime = def
        .runtime_platform()
        .map(|r| {
            vec![Value::map([
                (
                    "operating_system_family",
                    s(r.operating_system_family().map(OsFamily::as_str)),
                ),
                (
                    "cpu_architecture",
                    s(r.cpu_architecture().map(CpuArchitecture::as_str)),
                ),
            ])]
        })
        .unwrap_or_default();
    let volumes = def
        .volumes()
        .iter()
        .map(|v| {
            Value::map([
                ("name", s(v.name())),
                ("host_path", s(v.host().and_then(|h| h.source_path()))),
            ])
        })
        .collect();
    Value::map([
        ("id", s(def.family())),
        ("family", s(def.family())),
        (
            "container_definitions",
            Value::String(d.containers.to_string()),
        ),
        ("cpu", s(def.cpu())),
        ("memory", s(def.memory())),
        (
            "network_mode",
            s(def.network_mode().map(NetworkMode::as_str)),
        ),
        (
            "requires_compatibilities",
            set_or_null(
                def.requires_compatibilities()
                    .iter()
                    .map(|c| c.as_str().to_string())
                    .collect(),
            ),
        ),
        ("execution_role_arn", s(def.execution_role_arn())),
        ("task_role_arn", s(def.task_role_arn())),
        ("runtime_platform", Value::List(runtime)),
        (
            "ephemeral_storage",
            Value::List(
                def.ephemeral_storage()
                    .map(|e| Value::map([("size_in_gib", num(e.size_in_gib()))]))
                    .into_iter()
                    .collect(),
            ),
        ),
        ("volume", Value::List(sort_blocks(volumes))),
        ("arn", s(Some(arn))),
        ("arn_without_revision", Value::from(without_revision(arn))),
        ("revision", num(def.revision())),
        ("tags_all", tags_value(&d.tags)),
    ])
}

/// The container definitions of an ECS answer body (`taskDefinition` of
/// Describe and Register answers).
fn raw_containers(body: &Json) -> Json {
    body.get("taskDefinition")
        .and_then(|t| t.get("containerDefinitions"))
        .cloned()
        .unwrap_or(Json::Array(Vec::new()))
}

/// Describes a revision (ARN, `family:revision` or family for the latest
/// active one) with its tags; `None` when it does not exist.
pub(crate) async fn describe(
    aws: &Aws,
    which: &str,
) -> Result<Option<Described>, ProviderError> {
    let capture = CaptureBody::default();
    let result = aws
        .ecs
        .describe_task_definition()
        .task_definition(which)
        .include(TaskDefinitionField::Tags)
        .customize()
        .interceptor(capture.clone())
        .send()
        .await
        .ecs("DescribeTaskDefinition");
    let out = match result {
        Ok(out) => out,
        Err(e) if e.kind == ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let Some(def) = out.task_definition().cloned() else {
        return Ok(None);
    };
    Ok(Some(Described {
        def,
        containers: raw_containers(&capture.json()),
        tags: ecs_tag_map(out.tags()),
    }))
}

/// An active revision; `None` when it is gone or deregistered.
async fn read_active(aws: &Aws, which: &str) -> Result<Option<Described>, ProviderError> {
    Ok(describe(aws, which)
        .await?
        .filter(|d| d.def.status() != Some(&TaskDefinitionStatus::Inactive)))
}

/// The revision a known instance stands for: its recorded ARN, else its
/// family (the latest revision).
fn recorded_arn<'a>(id: &'a str, attrs: &'a Value) -> &'a str {
    opt_str(attrs, "arn").unwrap_or(id)
}

// ---------------------------------------------------------------------------
// Registering

fn register_input(
    aws: &Aws,
    desired: &Value,
    create_token: Option<&str>,
) -> Result<
    aws_sdk_ecs::operation::register_task_definition::builders::RegisterTaskDefinitionFluentBuilder,
    ProviderError,
> {
    let family = req_str(desired, "family", "RegisterTaskDefinition")?;
    let compat = str_list(desired, "requires_compatibilities");
    let runtime = blocks(desired, "runtime_platform").first().map(|r| {
        RuntimePlatform::builder()
            .set_operating_system_family(opt_str(r, "operating_system_family").map(OsFamily::from))
            .set_cpu_architecture(opt_str(r, "cpu_architecture").map(CpuArchitecture::from))
            .build()
    });
    let volumes: Vec<Volume> = blocks(desired, "volume")
        .iter()
        .map(|v| {
            Volume::builder()
                .set_name(opt_str(v, "name").map(str::to_string))
                .set_host(
                    opt_str(v, "host_path")
                        .map(|p| HostVolumeProperties::builder().source_path(p).build()),
                )
                .build()
        })
        .collect();
    Ok(aws
        .ecs
        .register_task_definition()
        .family(family)
        // A placeholder: the request's containerDefinitions are replaced by
        // the spec's JSON before signing.
        .container_definitions(ContainerDefinition::builder().name("placeholder").build())
        .set_cpu(opt_str(desired, "cpu").map(str::to_string))
        .set_memory(opt_str(desired, "memory").map(str::to_string))
        .set_network_mode(opt_str(desired, "network_mode").map(NetworkMode::from))
        .set_requires_compatibilities((!compat.is_empty()).then(|| {
            compat
                .iter()
                .map(|c| Compatibility::from(c.as_str()))
                .collect()
        }))
        .set_execution_role_arn(opt_str(desired, "execution_role_arn").map(str::to_string))
        .set_task_role_arn(opt_str(desired, "task_role_arn").map(str::to_string))
        .set_runtime_platform(runtime)
        .set_ephemeral_storage(
            blocks(desired, "ephemeral_storage")
                .first()
                .and_then(|e| opt_int(e, "size_in_gib"))
                .and_then(|n| i32::try_from(n).ok())
                .map(|n| EphemeralStorage::builder().size_in_gib(n).build()),
        )
        .set_volumes((!volumes.is_empty()).then_some(volumes))
        .set_tags(with_create_token(ecs_tags(desired), create_token)))
}

/// The tags a revision is registered with, plus the create token that
/// finds it again after a lost answer.
fn with_create_token(
    tags: Option<Vec<aws_sdk_ecs::types::Tag>>,
    token: Option<&str>,
) -> Option<Vec<aws_sdk_ecs::types::Tag>> {
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        return tags;
    };
    let mut tags = tags.unwrap_or_default();
    tags.push(
        aws_sdk_ecs::types::Tag::builder()
            .key(crate::tags::CREATE_TOKEN_TAG)
            .value(token)
            .build(),
    );
    Some(tags)
}

/// ACTIVE revisions of a family, newest first (at most `limit`).
async fn active_revisions(
    aws: &Aws,
    family: &str,
    limit: i32,
) -> Result<Vec<String>, ProviderError> {
    let out = aws
        .ecs
        .list_task_definitions()
        .family_prefix(family)
        .status(TaskDefinitionStatus::Active)
        .sort(SortOrder::Desc)
        .max_results(limit)
        .send()
        .await
        .ecs("ListTaskDefinitions")?;
    // Sorted here too (not every implementation sorts).
    let mut arns: Vec<String> = out
        .task_definition_arns()
        .iter()
        .filter(|arn| without_revision(arn).ends_with(&format!("/{family}")))
        .cloned()
        .collect();
    arns.sort_by_key(|arn| {
        std::cmp::Reverse(
            arn.rsplit_once(':')
                .and_then(|(_, r)| r.parse::<i64>().ok())
                .unwrap_or(0),
        )
    });
    Ok(arns)
}

async fn register(aws: &Aws, req: &ChangeRequest) -> Result<Described, ProviderError> {
    let desired = &req.desired;
    let containers = container_definitions_json(desired)?;
    let capture = CaptureBody::default();
    let out = register_input(aws, desired, Some(&req.idempotency_token))?
        .customize()
        .map_request(move |request| with_container_definitions(request, &containers))
        .interceptor(capture.clone())
        .send()
        .await
        .ecs("RegisterTaskDefinition")?;
    let def = out.task_definition().cloned().ok_or_else(|| {
        invalid(
            ECS,
            "RegisterTaskDefinition",
            "the answer carries no task definition",
        )
    })?;
    Ok(Described {
        def,
        containers: raw_containers(&capture.json()),
        tags: ecs_tag_map(out.tags()),
    })
}

/// The family's latest active revision, when this address registered it
/// (its ownership tags say so) and it is what the spec asks for: a create
/// retried after a crash between registering and recording.
async fn adoptable(aws: &Aws, req: &ChangeRequest) -> Result<Option<Described>, ProviderError> {
    let family = req_str(&req.desired, "family", "ListTaskDefinitions")?;
    let revisions = active_revisions(aws, family, 10).await?;
    let Some(latest) = revisions.first() else {
        return Ok(None);
    };
    let Some(found) = read_active(aws, latest).await? else {
        return Ok(None);
    };
    if !made_for(&found.tags, &req.owner, &req.address) {
        return Ok(None);
    }
    let live = td_attrs_with(&found, &req.desired);
    let changes = stackd_engine::diff::diff(
        &schema(),
        &req.desired,
        &live,
        &stackd_engine::diff::IgnoreChanges::default(),
    );
    Ok(changes
        .iter()
        .all(|c| !c.forces_replacement)
        .then_some(found))
}

pub(crate) struct EcsTaskDefinition;

#[async_trait]
impl ResourceHandler for EcsTaskDefinition {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let wanted: Vec<(String, String, stackd_spec::Address, bool)> = req
            .known
            .iter()
            .map(|k| {
                (
                    k.id.clone(),
                    recorded_arn(&k.id, &k.attrs).to_string(),
                    k.address.clone(),
                    bool_or(&k.attrs, "skip_destroy", false),
                )
            })
            .collect();
        // No batch read of task definitions exists.
        let found = read_each(aws, wanted, |aws, (id, arn, address, skip)| async move {
            let args = Value::map([("skip_destroy", Value::Bool(skip))]);
            Ok(read_active(&aws, &arn).await?.map(|d| LiveResource {
                id,
                address: Some(address),
                attrs: td_attrs_with(&d, &args),
            }))
        })
        .await?;
        Ok(found.into_iter().flatten().collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // Each attempt looks for a revision an earlier attempt registered
        // (a timeout may hide a success), so retries do not pile up
        // revisions.
        let described = retry(&deadline, || async {
            match adoptable(aws, req).await? {
                Some(found) => Ok((found, true)),
                None => Ok((register(aws, req).await?, false)),
            }
        })
        .await?;
        let (described, adopted) = described;
        let arn = described
            .def
            .task_definition_arn()
            .unwrap_or_default()
            .to_string();
        let echoes_tags = !described.tags.is_empty() || ecs_tags(&req.desired).is_none();
        if !adopted && echoes_tags {
            return Ok(td_attrs_with(&described, &req.desired));
        }
        // Adopted (its tags may lag the spec), or registered but answered
        // without its tags (not every implementation echoes them): read
        // the revision back.
        async {
            if adopted {
                let prior = td_attrs_with(&described, &req.desired);
                ecs_reconcile_tags(aws, &arn, &prior, &req.desired, &deadline).await?;
            }
            read_active(aws, &arn)
                .await?
                .map(|d| td_attrs_with(&d, &req.desired))
                .ok_or_else(|| gone(ECS, "DescribeTaskDefinition", &arn))
        }
        .await
        .map_err(|e| after_create(&arn, e))
    }

    /// The revision a lost `RegisterTaskDefinition` answer registered:
    /// among the family's newest ACTIVE revisions, the one tagged with this
    /// create's token.
    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let Some(family) = opt_str(&req.desired, "family") else {
            return Ok(None);
        };
        let token = req.idempotency_token.as_str();
        for arn in active_revisions(aws, family, 10).await? {
            let Some(found) = read_active(aws, &arn).await? else {
                continue;
            };
            let mine = found
                .tags
                .get(crate::tags::CREATE_TOKEN_TAG)
                .map(String::as_str)
                == Some(token);
            if !token.is_empty() && mine && made_for(&found.tags, &req.owner, &req.address) {
                return Ok(Some(td_attrs_with(&found, &req.desired)));
            }
        }
        Ok(None)
    }

    /// The execution and task roles are looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        for key in ["execution_role_arn", "task_role_arn"] {
            if let Some(arn) = known_str(d, key) {
                check_role_arn(aws, req, &mut findings, arn).await?;
            }
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Only the tags change in place.
        let deadline = Deadline::after(req.timeout);
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let id = req.id.as_deref().unwrap_or_default();
        let arn = recorded_arn(id, &prior).to_string();
        ecs_reconcile_tags(aws, &arn, &prior, &req.desired, &deadline).await?;
        read_active(aws, &arn)
            .await?
            .map(|d| td_attrs_with(&d, &req.desired))
            .ok_or_else(|| gone(ECS, "DescribeTaskDefinition", &arn))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        if bool_or(&req.prior, "skip_destroy", false) {
            tracing::info!(task_definition = %req.id, "skip_destroy: leaving the revision registered");
            return Ok(());
        }
        // The recorded revision, never the family's latest: on replacement
        // the latest is the new one.
        let Some(arn) = opt_str(&req.prior, "arn") else {
            return Err(invalid(
                ECS,
                "DeregisterTaskDefinition",
                format!(
                    "{} has no recorded revision ARN; deregister the revision by hand",
                    req.id
                ),
            ));
        };
        ignore_not_found(
            aws.ecs
                .deregister_task_definition()
                .task_definition(arn)
                .send()
                .await
                .ecs("DeregisterTaskDefinition")
                .map(|_| ()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(text: &str) -> Json {
        let v = normalize_container_definitions(&Value::from(text));
        serde_json::from_str(v.as_str().unwrap()).unwrap()
    }

    const SPEC: &str = r#"[
      {
        "name": "api",
        "image": "123.dkr.ecr.eu-west-1.amazonaws.com/api:latest",
        "portMappings": [{"containerPort": 3000}],
        "environment": [{"name": "Z", "value": "1"}, {"name": "A", "value": "2"}],
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/ || exit 1"]},
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api"}},
        "mountPoints": null
      },
      {"name": "sidecar", "image": "fluent-bit", "essential": false, "firelensConfiguration": {"type": "fluentbit"}}
    ]"#;

    const ECHO: &str = r#"[
      {"name": "sidecar", "image": "fluent-bit", "cpu": 0, "essential": false, "portMappings": [],
       "environment": [], "mountPoints": [], "volumesFrom": [], "systemControls": [],
       "firelensConfiguration": {"type": "fluentbit", "options": {}}},
      {
        "name": "api", "image": "123.dkr.ecr.eu-west-1.amazonaws.com/api:latest", "cpu": 0,
        "portMappings": [{"containerPort": 3000, "hostPort": 3000, "protocol": "tcp"}],
        "essential": true,
        "environment": [{"name": "A", "value": "2"}, {"name": "Z", "value": "1"}],
        "mountPoints": [], "volumesFrom": [],
        "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/api"}, "secretOptions": []},
        "healthCheck": {"command": ["CMD-SHELL", "curl -f http://localhost:3000/ || exit 1"], "interval": 30, "timeout": 5, "retries": 3},
        "systemControls": []
      }
    ]"#;

    #[test]
    fn the_spec_and_ecs_echo_normalize_alike() {
        assert_eq!(norm(SPEC), norm(ECHO));
        let n = norm(SPEC);
        assert_eq!(n[0]["name"], "api");
        assert_eq!(n[0]["essential"], true);
        assert_eq!(n[0]["environment"][0]["name"], "A");
        assert_eq!(n[0]["healthCheck"]["retries"], 3);
        assert!(n[0].get("mountPoints").is_none());
        assert!(n[0]["portMappings"][0].get("hostPort").is_none());
    }

    #[test]
    fn real_differences_survive_normalizing() {
        let changed = SPEC.replace("api:latest", "api:v2");
        assert_ne!(norm(SPEC), norm(&changed));
        let other_port = SPEC.replace(
            r#""containerPort": 3000}"#,
            r#""containerPort": 3000, "hostPort": 8080}"#,
        );
        assert_ne!(norm(SPEC), norm(&other_port));
        let not_essential = SPEC.replacen(
            r#""name": "api","#,
            r#""name": "api", "essential": false,"#,
            1,
        );
        assert_ne!(norm(SPEC), norm(&not_essential));
    }

    #[test]
    fn text_that_is_not_a_json_array_is_left_alone() {
        assert_eq!(
            normalize_container_definitions(&Value::from("not json")),
            Value::from("not json")
        );
        assert_eq!(normalize_container_definitions(&Value::Null), Value::Null);
    }

    #[test]
    fn the_engine_diff_sees_no_change_between_spec_and_echo() {
        let schema = schema();
        let desired = Value::map([
            ("family", Value::from("api")),
            ("container_definitions", Value::from(SPEC)),
        ]);
        let live = Value::map([
            ("family", Value::from("api")),
            ("container_definitions", Value::from(ECHO)),
        ]);
        let changes = stackd_engine::diff::diff(
            &schema,
            &desired,
            &live,
            &stackd_engine::diff::IgnoreChanges::default(),
        );
        assert!(changes.is_empty(), "{changes:?}");
    }

    #[test]
    fn container_definitions_must_be_a_json_array() {
        let d = Value::map([("container_definitions", Value::from(r#"{"name":"x"}"#))]);
        assert!(container_definitions_json(&d).is_err());
        let d = Value::map([(
            "container_definitions",
            Value::from(r#"[{"name":"x","cpu":null}]"#),
        )]);
        assert_eq!(
            container_definitions_json(&d).unwrap(),
            serde_json::json!([{"name": "x"}])
        );
    }

    #[test]
    fn live_revision_is_in_schema_shape() {
        let def = ecs::TaskDefinition::builder()
            .task_definition_arn("arn:aws:ecs:eu-west-1:1:task-definition/api:7")
            .family("api")
            .revision(7)
            .cpu("256")
            .memory("512")
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .execution_role_arn("arn:role")
            .runtime_platform(
                RuntimePlatform::builder()
                    .operating_system_family(OsFamily::Linux)
                    .cpu_architecture(CpuArchitecture::Arm64)
                    .build(),
            )
            .status(TaskDefinitionStatus::Active)
            .build();
        let d = Described {
            def,
            containers: serde_json::json!([{"name": "api", "image": "x"}]),
            tags: TagMap::new(),
        };
        let v = td_attrs_with(&d, &Value::Null);
        assert_eq!(v.get("id"), Some(&Value::from("api")));
        assert_eq!(v.get("revision"), Some(&Value::from(7)));
        assert_eq!(
            v.get("arn_without_revision"),
            Some(&Value::from("arn:aws:ecs:eu-west-1:1:task-definition/api"))
        );
        assert_eq!(
            v.get("requires_compatibilities"),
            Some(&Value::from(vec!["FARGATE"]))
        );
        assert_eq!(
            blocks(&v, "runtime_platform")[0].get("cpu_architecture"),
            Some(&Value::from("ARM64"))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn register_input_maps_the_arguments() {
        let aws = crate::elbv2_ecs_util::offline_aws();
        let d = Value::map([
            ("family", Value::from("api")),
            ("cpu", Value::from("256")),
            ("memory", Value::from("512")),
            ("network_mode", Value::from("awsvpc")),
            ("requires_compatibilities", Value::from(vec!["FARGATE"])),
            (
                "volume",
                Value::List(vec![Value::map([
                    ("name", Value::from("data")),
                    ("host_path", Value::Null),
                ])]),
            ),
        ]);
        let call = register_input(&aws, &d, None).unwrap();
        let i = call.as_input();
        assert_eq!(i.get_family().as_deref(), Some("api"));
        assert_eq!(i.get_network_mode(), &Some(NetworkMode::Awsvpc));
        assert_eq!(
            i.get_requires_compatibilities(),
            &Some(vec![Compatibility::Fargate])
        );
        assert_eq!(i.get_volumes().as_ref().map(Vec::len), Some(1));
    }

    #[test]
    fn the_revision_is_cut_from_the_arn() {
        assert_eq!(
            without_revision("arn:aws:ecs:r:1:task-definition/web:12"),
            "arn:aws:ecs:r:1:task-definition/web"
        );
        assert_eq!(without_revision("web"), "web");
    }

    #[test]
    fn keys_ecs_does_not_have_are_neither_sent_nor_compared() {
        let spec = Value::from(
            r#"[{"name":"app","image":"nginx","networkMode":"awsvpc","essential":true}]"#,
        );
        let echo = Value::from(r#"[{"name":"app","image":"nginx","essential":true}]"#);
        assert_eq!(
            normalize_container_definitions(&spec),
            normalize_container_definitions(&echo)
        );
        let sent = container_definitions_json(&Value::map([("container_definitions", spec)]))
            .expect("valid");
        assert!(sent[0].get("networkMode").is_none(), "{sent}");
    }

}
