//! `aws_launch_template`: an EC2 launch template, what Auto Scaling groups
//! (and `RunInstances`) launch instances from. Its ID, and import ID, is the
//! template ID (`lt-…`).
//!
//! As in the Terraform provider, the arguments are the data of the
//! template's latest version: a change to any of them is a new version
//! (`CreateLaunchTemplateVersion`), made in place, and made the default
//! when `update_default_version` is set (else `default_version` says which
//! one is). `description` is the version's description; `user_data` is
//! base64, kept as given.
//!
//! A refresh is one `DescribeLaunchTemplates` chain (the stack's templates
//! by tag, then the known ones stackd did not tag, by ID) and one
//! `DescribeLaunchTemplateVersions` chain for their latest versions:
//! without a template ID, `Versions=$Latest` answers the latest version of
//! every template of the region, which is cheaper than one call per
//! template (a call naming a template takes several version numbers, but of
//! that one template only).

use std::collections::HashSet;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    self, Filter, InstanceType, LaunchTemplate, LaunchTemplateBlockDeviceMappingRequest,
    LaunchTemplateEbsBlockDeviceRequest, LaunchTemplateHttpTokensState,
    LaunchTemplateIamInstanceProfileSpecificationRequest,
    LaunchTemplateInstanceMetadataEndpointState, LaunchTemplateInstanceMetadataOptionsRequest,
    LaunchTemplateInstanceNetworkInterfaceSpecificationRequest,
    LaunchTemplateTagSpecificationRequest, LaunchTemplateVersion, LaunchTemplatesMonitoringRequest,
    RequestLaunchTemplateData, ResourceType, ResponseLaunchTemplateData, VolumeType,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::Nesting;
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::lookups::{check_ec2_refs, find_image, Ec2Ref};
use super::LAUNCH_TEMPLATE;
use crate::args::{blocks, bool_or, client_token, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, ignore_not_found, invalid, Ec2Result};
use crate::iam_util::{conflict, ours};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, ec2_tag_map, known_str, Findings};
use crate::refresh::{address_for, known_attrs, missing_ids, stack_filter, tagged_with_stack};
use crate::services::{ManagedType, ResourceHandler};
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, Deadline};

/// `aws_launch_template`: its schema, its handler, and the IAM grants of
/// every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_launch_template",
    schema,
    handler: &LaunchTemplateHandler,
    grants: &[
        g(
            &[
                "ec2:DescribeImages",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeLaunchTemplateVersions",
                "ec2:DescribeLaunchTemplates",
                "ec2:DescribeSecurityGroups",
            ],
            ANY,
        ),
        g(
            &[
                "ec2:CreateLaunchTemplate",
                "ec2:CreateLaunchTemplateVersion",
                "ec2:CreateTags",
                "ec2:DeleteLaunchTemplate",
                "ec2:DeleteTags",
                "ec2:ModifyLaunchTemplate",
            ],
            &[LAUNCH_TEMPLATE],
        ),
    ],
    source: file!(),
};

/// The arguments that are the template's data: a change to any is a new
/// version.
const DATA_ARGS: &[&str] = &[
    "description",
    "image_id",
    "instance_type",
    "key_name",
    "user_data",
    "vpc_security_group_ids",
    "iam_instance_profile",
    "network_interfaces",
    "block_device_mappings",
    "monitoring",
    "metadata_options",
    "tag_specifications",
];

/// Nullable booleans the Terraform provider takes as strings
/// (`"true"`, `"false"`, or unset).
fn string_bool(name: &'static str) -> AttrSchema {
    AttrSchema::optional(name, AttrType::String)
        .check(stackd_spec::schema::Check::OneOf(vec!["true", "false"]))
}

fn block_device_mappings_block() -> BlockSchema {
    BlockSchema::new("block_device_mappings", Nesting::List)
        .attr(AttrSchema::optional("device_name", AttrType::String))
        .attr(AttrSchema::optional("no_device", AttrType::String))
        .attr(AttrSchema::optional("virtual_name", AttrType::String))
        .block(
            BlockSchema::new("ebs", Nesting::Single)
                .attr(string_bool("delete_on_termination"))
                .attr(string_bool("encrypted"))
                .attr(AttrSchema::optional_computed("iops", AttrType::Number))
                .attr(AttrSchema::optional("kms_key_id", AttrType::String))
                .attr(AttrSchema::optional("snapshot_id", AttrType::String))
                .attr(AttrSchema::optional_computed("throughput", AttrType::Number))
                .attr(AttrSchema::optional_computed("volume_size", AttrType::Number))
                .attr(AttrSchema::optional_computed("volume_type", AttrType::String)),
        )
}

fn network_interfaces_block() -> BlockSchema {
    BlockSchema::new("network_interfaces", Nesting::List)
        .attr(string_bool("associate_public_ip_address"))
        .attr(string_bool("delete_on_termination"))
        .attr(AttrSchema::optional("description", AttrType::String))
        .attr(AttrSchema::optional("device_index", AttrType::Number))
        .attr(AttrSchema::optional("network_interface_id", AttrType::String))
        .attr(AttrSchema::optional("private_ip_address", AttrType::String))
        .attr(AttrSchema::optional(
            "security_groups",
            AttrType::set_of(AttrType::String),
        ))
        .attr(AttrSchema::optional("subnet_id", AttrType::String))
}

fn metadata_options_block() -> BlockSchema {
    use stackd_spec::schema::Check;
    BlockSchema::new("metadata_options", Nesting::Single)
        .attr(
            AttrSchema::optional_computed("http_endpoint", AttrType::String)
                .check(Check::OneOf(vec!["enabled", "disabled"])),
        )
        .attr(
            AttrSchema::optional_computed("http_tokens", AttrType::String)
                .check(Check::OneOf(vec!["optional", "required"])),
        )
        .attr(AttrSchema::optional_computed(
            "http_put_response_hop_limit",
            AttrType::Number,
        ))
        .attr(
            AttrSchema::optional_computed("instance_metadata_tags", AttrType::String)
                .check(Check::OneOf(vec!["enabled", "disabled"])),
        )
        .computed_when_absent()
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_launch_template")
        .doc("An EC2 launch template; a changed argument is a new version of it.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The template's name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(
            AttrSchema::optional("description", AttrType::String)
                .doc("The description of the version each change makes."),
        )
        .attr(AttrSchema::optional("image_id", AttrType::String))
        .attr(AttrSchema::optional("instance_type", AttrType::String))
        .attr(AttrSchema::optional("key_name", AttrType::String))
        .attr(
            AttrSchema::optional("user_data", AttrType::String)
                .doc("Base64-encoded user data (`filebase64`, `base64encode`)."),
        )
        .attr(AttrSchema::optional(
            "vpc_security_group_ids",
            AttrType::set_of(AttrType::String),
        ))
        .attr(
            AttrSchema::optional("update_default_version", AttrType::Bool)
                .doc("Make each new version the default."),
        )
        .attr(
            AttrSchema::optional_computed("default_version", AttrType::Number)
                .doc("The version launches use when they name none."),
        )
        .block(
            BlockSchema::new("iam_instance_profile", Nesting::Single)
                .attr(AttrSchema::optional("arn", AttrType::String))
                .attr(AttrSchema::optional("name", AttrType::String)),
        )
        .block(network_interfaces_block())
        .block(block_device_mappings_block())
        .block(
            BlockSchema::new("monitoring", Nesting::Single)
                .attr(AttrSchema::optional("enabled", AttrType::Bool)),
        )
        .block(metadata_options_block())
        .block(
            BlockSchema::new("tag_specifications", Nesting::List)
                .attr(AttrSchema::optional("resource_type", AttrType::String))
                .attr(AttrSchema::optional(
                    "tags",
                    AttrType::map_of(AttrType::String),
                )),
        )
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(
            AttrSchema::computed("latest_version", AttrType::Number)
                .doc("The newest version's number."),
        )
        .taggable()
}

// ---------------------------------------------------------------------------
// Reading

fn bool_str(b: Option<bool>) -> Value {
    b.map_or(Value::Null, |b| Value::from(if b { "true" } else { "false" }))
}

fn opt_num(n: Option<i32>) -> Value {
    n.map_or(Value::Null, num)
}

fn one(v: Value) -> Value {
    Value::List(vec![v])
}

/// The version's data in schema shape (the data arguments only).
fn data_attrs(d: &ResponseLaunchTemplateData) -> Vec<(&'static str, Value)> {
    let profile = d.iam_instance_profile().map(|p| {
        one(Value::map([
            ("arn", s(p.arn())),
            ("name", s(p.name())),
        ]))
    });
    let interfaces: Vec<Value> = d
        .network_interfaces()
        .iter()
        .map(|n| {
            Value::map([
                ("associate_public_ip_address", bool_str(n.associate_public_ip_address())),
                ("delete_on_termination", bool_str(n.delete_on_termination())),
                ("description", s(n.description())),
                ("device_index", opt_num(n.device_index())),
                ("network_interface_id", s(n.network_interface_id())),
                ("private_ip_address", s(n.private_ip_address())),
                ("security_groups", set_or_null(n.groups().to_vec())),
                ("subnet_id", s(n.subnet_id())),
            ])
        })
        .collect();
    let devices: Vec<Value> = d
        .block_device_mappings()
        .iter()
        .map(|b| {
            let ebs = b.ebs().map(|e| {
                one(Value::map([
                    ("delete_on_termination", bool_str(e.delete_on_termination())),
                    ("encrypted", bool_str(e.encrypted())),
                    ("iops", opt_num(e.iops())),
                    ("kms_key_id", s(e.kms_key_id())),
                    ("snapshot_id", s(e.snapshot_id())),
                    ("throughput", opt_num(e.throughput())),
                    ("volume_size", opt_num(e.volume_size())),
                    ("volume_type", s(e.volume_type().map(VolumeType::as_str))),
                ]))
            });
            Value::map([
                ("device_name", s(b.device_name())),
                ("no_device", s(b.no_device())),
                ("virtual_name", s(b.virtual_name())),
                ("ebs", ebs.unwrap_or(Value::Null)),
            ])
        })
        .collect();
    let monitoring = d
        .monitoring()
        .map(|m| one(Value::map([("enabled", Value::from(m.enabled().unwrap_or(false)))])));
    let metadata = d.metadata_options().map(|m| {
        one(Value::map([
            ("http_endpoint", s(m.http_endpoint().map(|e| e.as_str()))),
            ("http_tokens", s(m.http_tokens().map(|t| t.as_str()))),
            ("http_put_response_hop_limit", opt_num(m.http_put_response_hop_limit())),
            (
                "instance_metadata_tags",
                s(m.instance_metadata_tags().map(|t| t.as_str())),
            ),
        ]))
    });
    let tag_specs: Vec<Value> = d
        .tag_specifications()
        .iter()
        .map(|t| {
            Value::map([
                ("resource_type", s(t.resource_type().map(ResourceType::as_str))),
                ("tags", tags_value(t.tags())),
            ])
        })
        .collect();
    let list = |items: Vec<Value>| {
        if items.is_empty() {
            Value::Null
        } else {
            Value::List(items)
        }
    };
    vec![
        ("image_id", s(d.image_id())),
        ("instance_type", s(d.instance_type().map(InstanceType::as_str))),
        ("key_name", s(d.key_name())),
        ("user_data", s(d.user_data())),
        ("vpc_security_group_ids", set_or_null(d.security_group_ids().to_vec())),
        ("iam_instance_profile", profile.unwrap_or(Value::Null)),
        ("network_interfaces", list(interfaces)),
        ("block_device_mappings", list(devices)),
        ("monitoring", monitoring.unwrap_or(Value::Null)),
        ("metadata_options", metadata.unwrap_or(Value::Null)),
        ("tag_specifications", list(tag_specs)),
    ]
}

/// A template's attributes: the template, its latest version, and what
/// the last apply recorded of what AWS does not keep
/// (`name_prefix`, `update_default_version`).
fn template_attrs(
    loc: &Location,
    account: Option<&str>,
    t: &LaunchTemplate,
    latest: Option<&LaunchTemplateVersion>,
    recorded: Option<&Value>,
) -> Value {
    let id = t.launch_template_id().unwrap_or_default();
    let name = t.launch_template_name().unwrap_or_default();
    let recorded_str = |k: &str| recorded.and_then(|r| opt_str(r, k));
    let prefix = recorded_str("name_prefix").filter(|p| name.starts_with(p));
    let mut attrs = vec![
        ("id", s(Some(id))),
        ("name", s(Some(name))),
        ("name_prefix", s(prefix)),
        (
            "arn",
            Value::from(loc.ec2_arn(account, &format!("launch-template/{id}"))),
        ),
        ("default_version", t.default_version_number().map_or(Value::Null, num)),
        ("latest_version", t.latest_version_number().map_or(Value::Null, num)),
        (
            "update_default_version",
            recorded
                .and_then(|r| r.get("update_default_version"))
                .cloned()
                .unwrap_or(Value::Null),
        ),
        ("description", s(latest.and_then(|v| v.version_description()))),
        ("tags_all", tags_value(t.tags())),
    ];
    match latest.and_then(|v| v.launch_template_data()) {
        Some(d) => attrs.extend(data_attrs(d)),
        None => attrs.extend(DATA_ARGS.iter().skip(1).map(|k| (*k, Value::Null))),
    }
    Value::map(attrs)
}

/// Templates by filters (one paginated chain).
async fn describe_templates(
    aws: &Aws,
    filters: Vec<Filter>,
) -> Result<Vec<LaunchTemplate>, ProviderError> {
    aws.ec2
        .describe_launch_templates()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeLaunchTemplates")
}

/// The latest version of each template of `ids`: one chain for all of
/// them when there are several, else one call naming the template.
async fn latest_versions(
    aws: &Aws,
    ids: &[&str],
) -> Result<Vec<LaunchTemplateVersion>, ProviderError> {
    let call = aws
        .ec2
        .describe_launch_template_versions()
        .versions("$Latest");
    let call = match ids {
        [] => return Ok(Vec::new()),
        [one] => call.launch_template_id(*one),
        _ => call,
    };
    let wanted: HashSet<&str> = ids.iter().copied().collect();
    let found = call
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await;
    Ok(crate::iam_util::found(found.ec2("DescribeLaunchTemplateVersions"))?
        .unwrap_or_default()
        .into_iter()
        .filter(|v| v.launch_template_id().is_some_and(|id| wanted.contains(id)))
        .collect())
}

/// Templates with their latest versions, in schema shape.
async fn attrs_of<'a>(
    aws: &Aws,
    templates: &[LaunchTemplate],
    recorded: impl Fn(&str) -> Option<&'a Value>,
) -> Result<Vec<(String, Value)>, ProviderError> {
    if templates.is_empty() {
        return Ok(Vec::new());
    }
    let ids: Vec<&str> = templates
        .iter()
        .filter_map(LaunchTemplate::launch_template_id)
        .collect();
    let versions = latest_versions(aws, &ids).await?;
    let account = aws.account_id().await?;
    Ok(templates
        .iter()
        .filter_map(|t| {
            let id = t.launch_template_id()?;
            let latest = versions.iter().find(|v| {
                v.launch_template_id() == Some(id)
                    && v.version_number() == t.latest_version_number()
            });
            let attrs = template_attrs(&aws.loc, Some(&account), t, latest, recorded(id));
            Some((id.to_string(), attrs))
        })
        .collect())
}

/// One template by ID (`None` when there is none).
async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let found = describe_by(aws, "launch-template-id", id).await?;
    Ok(attrs_of(aws, &found, |_| Some(recorded))
        .await?
        .pop()
        .map(|(_, v)| v))
}

/// Templates whose `key` (`launch-template-id`, `launch-template-name`) is
/// `value`; a missing one is no error. By name with a filter (the
/// `LaunchTemplateNames` parameter fails the call with
/// `InvalidLaunchTemplateName.NotFoundException`); by ID as a parameter, as
/// EC2 has no ID filter for templates (a missing ID answers
/// `InvalidLaunchTemplateId.NotFound`).
async fn describe_by(
    aws: &Aws,
    key: &str,
    value: &str,
) -> Result<Vec<LaunchTemplate>, ProviderError> {
    let found = if key == "launch-template-id" {
        crate::iam_util::found(
            aws.ec2
                .describe_launch_templates()
                .launch_template_ids(value)
                .send()
                .await
                .ec2("DescribeLaunchTemplates"),
        )?
        .map(|o| o.launch_templates().to_vec())
        .unwrap_or_default()
    } else {
        describe_templates(aws, vec![crate::refresh::filter(key, [value])]).await?
    };
    Ok(found
        .into_iter()
        .filter(|t| match key {
            "launch-template-id" => t.launch_template_id() == Some(value),
            _ => t.launch_template_name() == Some(value),
        })
        .collect())
}

// ---------------------------------------------------------------------------
// Writing

fn int(v: &Value, key: &str) -> Option<i32> {
    opt_int(v, key).and_then(|n| i32::try_from(n).ok())
}

fn str_bool(v: &Value, key: &str) -> Option<bool> {
    match v.get(key) {
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(s)) => s.parse().ok(),
        _ => None,
    }
}

/// `Some` of a non-empty list: an empty one is not sent.
fn some<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

/// The template data the arguments ask for.
fn template_data(d: &Value) -> RequestLaunchTemplateData {
    let profile = blocks(d, "iam_instance_profile").first().map(|p| {
        LaunchTemplateIamInstanceProfileSpecificationRequest::builder()
            .set_arn(opt_str(p, "arn").map(str::to_string))
            .set_name(opt_str(p, "name").map(str::to_string))
            .build()
    });
    let interfaces = blocks(d, "network_interfaces")
        .iter()
        .map(|n| {
            let groups = str_list(n, "security_groups");
            LaunchTemplateInstanceNetworkInterfaceSpecificationRequest::builder()
                .set_associate_public_ip_address(str_bool(n, "associate_public_ip_address"))
                .set_delete_on_termination(str_bool(n, "delete_on_termination"))
                .set_description(opt_str(n, "description").map(str::to_string))
                .set_device_index(int(n, "device_index"))
                .set_network_interface_id(opt_str(n, "network_interface_id").map(str::to_string))
                .set_private_ip_address(opt_str(n, "private_ip_address").map(str::to_string))
                .set_groups((!groups.is_empty()).then_some(groups))
                .set_subnet_id(opt_str(n, "subnet_id").map(str::to_string))
                .build()
        })
        .collect::<Vec<_>>();
    let devices = blocks(d, "block_device_mappings")
        .iter()
        .map(|b| {
            let ebs = blocks(b, "ebs").first().map(|e| {
                LaunchTemplateEbsBlockDeviceRequest::builder()
                    .set_delete_on_termination(str_bool(e, "delete_on_termination"))
                    .set_encrypted(str_bool(e, "encrypted"))
                    .set_iops(int(e, "iops"))
                    .set_kms_key_id(opt_str(e, "kms_key_id").map(str::to_string))
                    .set_snapshot_id(opt_str(e, "snapshot_id").map(str::to_string))
                    .set_throughput(int(e, "throughput"))
                    .set_volume_size(int(e, "volume_size"))
                    .set_volume_type(opt_str(e, "volume_type").map(VolumeType::from))
                    .build()
            });
            LaunchTemplateBlockDeviceMappingRequest::builder()
                .set_device_name(opt_str(b, "device_name").map(str::to_string))
                .set_no_device(opt_str(b, "no_device").map(str::to_string))
                .set_virtual_name(opt_str(b, "virtual_name").map(str::to_string))
                .set_ebs(ebs)
                .build()
        })
        .collect::<Vec<_>>();
    let monitoring = blocks(d, "monitoring").first().map(|m| {
        LaunchTemplatesMonitoringRequest::builder()
            .enabled(bool_or(m, "enabled", false))
            .build()
    });
    let metadata = blocks(d, "metadata_options").first().map(|m| {
        LaunchTemplateInstanceMetadataOptionsRequest::builder()
            .set_http_endpoint(
                opt_str(m, "http_endpoint").map(LaunchTemplateInstanceMetadataEndpointState::from),
            )
            .set_http_tokens(opt_str(m, "http_tokens").map(LaunchTemplateHttpTokensState::from))
            .set_http_put_response_hop_limit(int(m, "http_put_response_hop_limit"))
            .set_instance_metadata_tags(
                opt_str(m, "instance_metadata_tags")
                    .map(types::LaunchTemplateInstanceMetadataTagsState::from),
            )
            .build()
    });
    let tag_specs = blocks(d, "tag_specifications")
        .iter()
        .map(|t| {
            let tags = crate::args::str_map(t, "tags")
                .into_iter()
                .map(|(k, v)| types::Tag::builder().key(k).value(v).build())
                .collect();
            LaunchTemplateTagSpecificationRequest::builder()
                .set_resource_type(opt_str(t, "resource_type").map(ResourceType::from))
                .set_tags(Some(tags))
                .build()
        })
        .collect::<Vec<_>>();
    let groups = str_list(d, "vpc_security_group_ids");
    RequestLaunchTemplateData::builder()
        .set_image_id(opt_str(d, "image_id").map(str::to_string))
        .set_instance_type(opt_str(d, "instance_type").map(InstanceType::from))
        .set_key_name(opt_str(d, "key_name").map(str::to_string))
        .set_user_data(opt_str(d, "user_data").map(str::to_string))
        .set_security_group_ids(some(groups))
        .set_iam_instance_profile(profile)
        .set_network_interfaces(some(interfaces))
        .set_block_device_mappings(some(devices))
        .set_monitoring(monitoring)
        .set_metadata_options(metadata)
        .set_tag_specifications(some(tag_specs))
        .build()
}

/// `CreateLaunchTemplate` for the spec (the create and its dry run send
/// the same). The client token makes a resent call return the template
/// the first one made.
fn create_call(
    aws: &Aws,
    d: &Value,
    name: &str,
    token: &str,
    create_token: Option<&str>,
) -> aws_sdk_ec2::operation::create_launch_template::builders::CreateLaunchTemplateFluentBuilder {
    aws.ec2
        .create_launch_template()
        .launch_template_name(name)
        .client_token(client_token(token))
        .set_version_description(opt_str(d, "description").map(str::to_string))
        .launch_template_data(template_data(d))
        .set_tag_specifications(
            tag_specification(ResourceType::LaunchTemplate, d, create_token).map(|t| vec![t]),
        )
}

/// The arguments `CreateLaunchTemplate` sends.
const CREATE_ARGS: &[&str] = &[
    "name",
    "name_prefix",
    "description",
    "image_id",
    "instance_type",
    "key_name",
    "user_data",
    "vpc_security_group_ids",
    "iam_instance_profile",
    "network_interfaces",
    "block_device_mappings",
    "monitoring",
    "metadata_options",
    "tag_specifications",
    "tags_all",
];

/// A name already taken: adopted when the template carries this stack's
/// tags for this address (an earlier attempt of this create made it),
/// refused otherwise.
async fn adopt(aws: &Aws, req: &ChangeRequest, name: &str) -> Result<String, ProviderError> {
    const OP: &str = "CreateLaunchTemplate";
    let existing = describe_by(aws, "launch-template-name", name).await?;
    let Some(t) = existing.first() else {
        return Err(invalid(OP, format!("launch template {name:?} already exists")));
    };
    let tags = ec2_tag_map(t.tags());
    if !ours(&tags, &req.owner, &req.address) {
        return Err(invalid(OP, conflict("launch template", name, &tags, &req.owner))
            .with_code("InvalidLaunchTemplateName.AlreadyExistsException"));
    }
    tracing::info!(name, "adopting the launch template an earlier attempt made");
    t.launch_template_id()
        .map(str::to_string)
        .ok_or_else(|| gone("DescribeLaunchTemplates", name))
}

/// Sets the template's default version.
async fn set_default(
    aws: &Aws,
    id: &str,
    version: i64,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        aws.ec2
            .modify_launch_template()
            .launch_template_id(id)
            .default_version(version.to_string())
            .send()
            .await
            .ec2("ModifyLaunchTemplate")
    })
    .await
    .map(|_| ())
}

pub(crate) struct LaunchTemplateHandler;

#[async_trait]
impl ResourceHandler for LaunchTemplateHandler {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        // The stack's templates by tag (checked on the answer too), then
        // known ones that do not carry the stack's tags (imported), by ID:
        // EC2 has no ID filter for templates.
        let mut templates = describe_templates(aws, vec![stack_filter(&req.owner)]).await?;
        templates.retain(|t| tagged_with_stack(t.tags(), &req.owner));
        let seen: HashSet<String> = templates
            .iter()
            .filter_map(|t| t.launch_template_id().map(str::to_string))
            .collect();
        for id in missing_ids(&req.known, &seen) {
            templates.extend(describe_by(aws, "launch-template-id", &id).await?);
        }
        let attrs = attrs_of(aws, &templates, |id| known_attrs(id, &req.known)).await?;
        Ok(templates
            .iter()
            .zip(attrs)
            .map(|(t, (id, attrs))| LiveResource {
                address: address_for(&id, t.tags(), &req.known),
                attrs,
                id,
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let d = &req.desired;
        let name = crate::iam_util::name_or_generated(
            d,
            "name",
            "name_prefix",
            &req.idempotency_token,
            "terraform-",
        );
        let created = create_call(aws, d, &name, &req.idempotency_token, None)
            .send()
            .await
            .ec2("CreateLaunchTemplate");
        let id = match created {
            Ok(out) => out
                .launch_template()
                .and_then(|t| t.launch_template_id())
                .map(str::to_string)
                .ok_or_else(|| gone("CreateLaunchTemplate", &name))?,
            Err(e) if has_code(&e, "InvalidLaunchTemplateName.AlreadyExistsException") => {
                adopt(aws, req, &name).await?
            }
            Err(e) => return Err(e),
        };
        let deadline = Deadline::after(req.timeout);
        if let Some(v) = opt_int(d, "default_version").filter(|v| *v > 1) {
            set_default(aws, &id, v, &deadline).await?;
        }
        read(aws, &id, &with_name(d, &name))
            .await
            .and_then(|v| v.ok_or_else(|| gone("DescribeLaunchTemplates", &id)))
            .map_err(|e| after_create(&id, e))
    }

    /// A template of the same (known) name, the AMI, key pair and security
    /// groups are looked up; `CreateLaunchTemplate` is sent with
    /// `DryRun=true` once its arguments are known.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        const ACTION: &str = "ec2:DescribeLaunchTemplates";
        if let Some(name) = known_str(d, "name") {
            let existing = findings.read(ACTION, describe_by(aws, "launch-template-name", name).await)?;
            if let Some(t) = existing.and_then(|e| e.into_iter().next()) {
                findings.name_in_use(req, ACTION, "launch template", name, &ec2_tag_map(t.tags()));
            }
        }
        if let Some(ami) = known_str(d, "image_id") {
            find_image(aws, &mut findings, ami).await?;
        }
        if let Some(groups) = crate::preflight::known_list(d, "vpc_security_group_ids") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::SecurityGroup, &groups).await?;
        }
        let key = known_str(d, "key_name")
            .filter(|k| !req.plans("aws_key_pair", "key_name", k));
        if let Some(key) = key {
            check_ec2_refs(aws, &mut findings, Ec2Ref::KeyPair, &[key.to_string()]).await?;
        }
        if all_known(d, CREATE_ARGS) {
            let token = dry_run_token(req);
            let name = crate::iam_util::name_or_generated(d, "name", "name_prefix", &token, "terraform-");
            let answer = create_call(aws, d, &name, &token, None)
                .dry_run(true)
                .send()
                .await
                .ec2("CreateLaunchTemplate");
            findings.dry_run("ec2:CreateLaunchTemplate", answer, |out| {
                out.launch_template()
                    .and_then(|t| t.launch_template_id())
                    .map(|id| format!("launch template {id}"))
            })?;
        }
        Ok(findings.into_vec())
    }

    /// A change to the data is a new version (the default one when
    /// `update_default_version`); `default_version` and tags change on the
    /// template itself.
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateLaunchTemplateVersion";
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(OP, "update without an ID"))?;
        let d = &req.desired;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        let mut default = opt_int(d, "default_version").filter(|_| changed("default_version"));
        if DATA_ARGS.iter().any(|k| changed(k)) {
            // A version per attempt: the token is the update's and the
            // prior latest version's, so a resent call makes no second one.
            let token = format!(
                "{}:v{}",
                req.idempotency_token,
                opt_int(&prior, "latest_version").unwrap_or_default()
            );
            let call = aws
                .ec2
                .create_launch_template_version()
                .launch_template_id(id)
                .client_token(client_token(&token))
                .set_version_description(opt_str(d, "description").map(str::to_string))
                .launch_template_data(template_data(d));
            let out = retry(&deadline, || async { call.clone().send().await.ec2(OP) }).await?;
            let version = out
                .launch_template_version()
                .and_then(|v| v.version_number());
            if bool_or(d, "update_default_version", false) {
                default = version;
            }
        }
        if let Some(v) = default {
            set_default(aws, id, v, &deadline).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone("DescribeLaunchTemplates", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let result = aws
            .ec2
            .delete_launch_template()
            .launch_template_id(&req.id)
            .send()
            .await
            .ec2("DeleteLaunchTemplate")
            .map(|_| ());
        ignore_not_found(result)
    }
}

/// The desired arguments with the name actually used.
fn with_name(desired: &Value, name: &str) -> Value {
    let mut v = desired.clone();
    if let Value::Map(m) = &mut v {
        m.insert("name".into(), Value::from(name));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_ec2::types::{
        LaunchTemplateBlockDeviceMapping, LaunchTemplateEbsBlockDevice,
        LaunchTemplateInstanceMetadataOptions,
    };

    #[test]
    fn the_latest_version_is_read_in_schema_shape() {
        let t = LaunchTemplate::builder()
            .launch_template_id("lt-1")
            .launch_template_name("web")
            .default_version_number(1)
            .latest_version_number(2)
            .build();
        let data = ResponseLaunchTemplateData::builder()
            .image_id("ami-1")
            .instance_type(InstanceType::T3Micro)
            .user_data("aGVsbG8=")
            .security_group_ids("sg-2")
            .security_group_ids("sg-1")
            .block_device_mappings(
                LaunchTemplateBlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        LaunchTemplateEbsBlockDevice::builder()
                            .volume_size(8)
                            .encrypted(true)
                            .build(),
                    )
                    .build(),
            )
            .metadata_options(
                LaunchTemplateInstanceMetadataOptions::builder()
                    .http_tokens(LaunchTemplateHttpTokensState::Required)
                    .build(),
            )
            .build();
        let v = LaunchTemplateVersion::builder()
            .launch_template_id("lt-1")
            .version_number(2)
            .version_description("second")
            .launch_template_data(data)
            .build();
        let loc = Location::new("us-east-1");
        let a = template_attrs(&loc, Some("123"), &t, Some(&v), None);
        assert_eq!(a.get("latest_version"), Some(&Value::Number(2.0)));
        assert_eq!(a.get("default_version"), Some(&Value::Number(1.0)));
        assert_eq!(a.get("description"), Some(&Value::from("second")));
        assert_eq!(
            a.get("vpc_security_group_ids"),
            Some(&Value::from(vec!["sg-1", "sg-2"]))
        );
        assert_eq!(
            a.get("arn"),
            Some(&Value::from("arn:aws:ec2:us-east-1:123:launch-template/lt-1"))
        );
        let ebs = &blocks(&blocks(&a, "block_device_mappings")[0], "ebs")[0];
        assert_eq!(ebs.get("encrypted"), Some(&Value::from("true")));
        assert_eq!(ebs.get("volume_size"), Some(&Value::Number(8.0)));
        for attr in &schema().body.attrs {
            if attr.name != "tags" {
                assert!(a.get(attr.name).is_some(), "{} missing", attr.name);
            }
        }
        for block in &schema().body.blocks {
            assert!(a.get(block.name).is_some(), "{} missing", block.name);
        }
    }

    #[test]
    fn string_booleans_are_sent_as_booleans() {
        let d = Value::map([(
            "block_device_mappings",
            Value::List(vec![Value::map([
                ("device_name", Value::from("/dev/xvda")),
                (
                    "ebs",
                    Value::List(vec![Value::map([
                        ("encrypted", Value::from("true")),
                        ("volume_size", Value::Number(20.0)),
                    ])]),
                ),
            ])]),
        )]);
        let data = template_data(&d);
        let ebs = data.block_device_mappings()[0].ebs().expect("ebs");
        assert_eq!(ebs.encrypted(), Some(true));
        assert_eq!(ebs.volume_size(), Some(20));
        assert!(data.security_group_ids().is_empty());
    }
}
