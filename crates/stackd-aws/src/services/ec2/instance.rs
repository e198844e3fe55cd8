//! `aws_instance`: one EC2 instance (the bastion host of the reference
//! architecture). The ID is the instance ID.
//!
//! As with the Terraform provider, `user_data` is recorded as the SHA-1 hex
//! digest of the (base64-decoded) data, and desired and live values are
//! compared through the same digest. `instance_type` changes in place (the
//! instance is stopped, changed and started again); the security groups,
//! the instance profile, `source_dest_check`, the root volume's size and
//! type and the tags change in place too; the rest replaces the instance.
//!
//! A refresh costs one DescribeInstances chain, one DescribeVolumes call for
//! the root volumes, and one DescribeInstanceAttribute (userData) per
//! instance: EC2 has no batch read of user data.

use std::collections::HashMap;

use async_trait::async_trait;
use aws_sdk_ec2::types::{
    self, AttributeBooleanValue, AttributeValue, BlockDeviceMapping, EbsBlockDevice,
    EbsInstanceBlockDeviceSpecification, Filter, IamInstanceProfileSpecification,
    InstanceAttributeName, InstanceBlockDeviceMappingSpecification,
    InstanceNetworkInterfaceSpecification, InstanceStateName, InstanceType, Placement,
    ResourceType, VolumeType,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, ErrorKind, Finding, KnownResource, LiveResource,
    ProviderError, RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{IMAGE, INSTANCE, KEY_PAIR, NETWORK_INTERFACE, SECURITY_GROUP, SUBNET, VOLUME};
use crate::args::{
    blocks, bool_or, client_token, num, opt_int, opt_str, req_str, s, set_or_null, str_list,
};
use crate::cicd_util::{read_concurrently, sha1_hex};
use crate::context::{Aws, Location};
use crate::error::{after_create, gone, has_code, invalid, Ec2Result, EC2};
use crate::policy::{g, ANY};
use crate::preflight::{all_known, creating, dry_run_token, known_list, known_str, Findings};
use crate::refresh::{
    address_for, filter, find_by_token, find_owned, known_attrs, Tagged, MAX_FILTER_VALUES,
};
use crate::services::ec2::lookups::{check_ec2_refs, find_image, Ec2Ref};
use crate::services::iam::lookups::check_instance_profile;
use crate::services::iam::{pass_role, INSTANCE_PROFILE};
use crate::services::ManagedType;
use crate::services::ResourceHandler;
use crate::tags::{reconcile, tag_specification, tags_value};
use crate::wait::{retry, until, Deadline};

/// States of an instance that still exists for the engine's purposes.
const LIVE_STATES: [&str; 4] = ["pending", "running", "stopping", "stopped"];

/// The SHA-1 hex digest the Terraform provider records for user data: of
/// the decoded bytes when the data is base64, else of the text itself.
pub(crate) fn user_data_hash(data: &str) -> String {
    match aws_smithy_types::base64::decode(data) {
        Ok(bytes) => sha1_hex(&bytes),
        Err(_) => sha1_hex(data.as_bytes()),
    }
}

fn is_digest(s: &str) -> bool {
    s.len() == 40
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Desired user data (text or base64) and live user data (already a
/// digest) both as the digest.
pub(crate) fn normalize_user_data(v: &Value) -> Value {
    match v.as_str() {
        Some("") => Value::Null,
        Some(s) if is_digest(s) => v.clone(),
        Some(s) => Value::from(user_data_hash(s)),
        None => v.clone(),
    }
}

/// User data as RunInstances takes it: base64, unless it already is (as
/// the Terraform provider does, so data encoded by `base64encode()` is not
/// encoded twice).
pub(crate) fn user_data_input(data: &str) -> String {
    if aws_smithy_types::base64::decode(data).is_ok() {
        data.to_string()
    } else {
        aws_smithy_types::base64::encode(data.as_bytes())
    }
}

fn root_block_device_block() -> BlockSchema {
    BlockSchema::new("root_block_device", Nesting::Single)
        .computed_when_absent()
        .attr(AttrSchema::optional("delete_on_termination", AttrType::Bool).default(true))
        .attr(AttrSchema::optional_computed("encrypted", AttrType::Bool))
        .attr(AttrSchema::optional_computed("iops", AttrType::Number))
        .attr(AttrSchema::optional_computed(
            "throughput",
            AttrType::Number,
        ))
        .attr(AttrSchema::optional_computed(
            "volume_size",
            AttrType::Number,
        ))
        .attr(AttrSchema::optional_computed(
            "volume_type",
            AttrType::String,
        ))
        .attr(AttrSchema::computed("device_name", AttrType::String))
        .attr(AttrSchema::computed("volume_id", AttrType::String))
}

/// `aws_instance`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_instance",
    schema,
    handler: &Instance,
    grants: &[
        g(
            &[
                "ec2:DescribeIamInstanceProfileAssociations",
                "ec2:DescribeImages",
                "ec2:DescribeInstances",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeSecurityGroups",
                "ec2:DescribeSubnets",
                "ec2:DescribeVolumes",
            ],
            ANY,
        ),
        g(
            &["ec2:RunInstances"],
            &[
                IMAGE,
                INSTANCE,
                KEY_PAIR,
                NETWORK_INTERFACE,
                SECURITY_GROUP,
                SUBNET,
                VOLUME,
            ],
        ),
        // The instance and its volumes are tagged at launch.
        g(&["ec2:CreateTags", "ec2:DeleteTags"], &[INSTANCE, VOLUME]),
        g(
            &["ec2:ModifyInstanceAttribute"],
            &[INSTANCE, SECURITY_GROUP, VOLUME],
        ),
        g(
            &[
                "ec2:AssociateIamInstanceProfile",
                "ec2:DescribeInstanceAttribute",
                "ec2:DisassociateIamInstanceProfile",
                "ec2:ReplaceIamInstanceProfileAssociation",
                "ec2:StartInstances",
                "ec2:StopInstances",
                "ec2:TerminateInstances",
            ],
            &[INSTANCE],
        ),
        g(&["ec2:ModifyVolume"], &[VOLUME]),
        // `apply --dry-run` looks the instance profile up.
        g(&["iam:GetInstanceProfile"], &[INSTANCE_PROFILE]),
        // The instance profile's role goes to EC2.
        pass_role(&["ec2.amazonaws.com"]),
    ],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_instance")
        .retired("cpu_core_count", "use cpu_options { core_count = N }")
        .retired("cpu_threads_per_core", "use cpu_options { threads_per_core = N }")
        .doc("An EC2 instance.")
        .attr(
            AttrSchema::required("ami", AttrType::String)
                .force_new()
                .doc("The AMI to launch (e.g. from data.aws_ami)."),
        )
        .attr(
            AttrSchema::required("instance_type", AttrType::String)
                .doc("The instance type; changing it stops and restarts the instance."),
        )
        .attr(
            AttrSchema::optional_computed("subnet_id", AttrType::String)
                .force_new()
                .doc("The subnet to launch in."),
        )
        .attr(
            AttrSchema::optional_computed(
                "vpc_security_group_ids",
                AttrType::set_of(AttrType::String),
            )
            .doc("The security groups; the VPC's default group when unset."),
        )
        .attr(AttrSchema::optional_computed("key_name", AttrType::String).force_new())
        .attr(
            AttrSchema::optional_computed("associate_public_ip_address", AttrType::Bool)
                .force_new()
                .doc("Whether to give the instance a public IPv4 address; the subnet decides when unset."),
        )
        .attr(AttrSchema::optional_computed("private_ip", AttrType::String).force_new())
        .attr(AttrSchema::optional_computed("availability_zone", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("user_data", AttrType::String)
                .force_new()
                .normalize(normalize_user_data)
                .doc("Data for cloud-init; recorded as its SHA-1 digest."),
        )
        .attr(
            AttrSchema::optional("iam_instance_profile", AttrType::String)
                .doc("The name of the IAM instance profile."),
        )
        .attr(AttrSchema::optional("source_dest_check", AttrType::Bool).default(true))
        .block(root_block_device_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(
            AttrSchema::computed("instance_state", AttrType::String)
                .doc("pending, running, stopping or stopped."),
        )
        .attr(AttrSchema::computed("public_ip", AttrType::String))
        .attr(AttrSchema::computed("public_dns", AttrType::String))
        .attr(AttrSchema::computed("private_dns", AttrType::String))
        .attr(AttrSchema::computed("primary_network_interface_id", AttrType::String))
        .taggable()
        .timeouts(Timeouts {
            create_secs: 10 * 60,
            update_secs: 10 * 60,
            delete_secs: 20 * 60,
        })
}

// ----- live objects -----

/// An instance with the account that owns its reservation (for its ARN).
#[derive(Clone, Debug)]
struct Found {
    instance: types::Instance,
    owner: Option<String>,
}

impl Found {
    fn id(&self) -> Option<&str> {
        self.instance.instance_id()
    }
}

impl Tagged for Found {
    fn tag_list(&self) -> &[types::Tag] {
        self.instance.tags()
    }
}

/// What a read adds to DescribeInstances: the root volume and user data.
#[derive(Clone, Debug, Default)]
struct Extras {
    root_volume: Option<types::Volume>,
    /// Base64, as DescribeInstanceAttribute answers.
    user_data: Option<String>,
}

fn state_of(i: &types::Instance) -> Option<&InstanceStateName> {
    i.state().and_then(|s| s.name())
}

/// The root device's mapping: the one on the root device name, or, when
/// none matches (an emulator attaching the root volume elsewhere), the only
/// EBS mapping.
fn root_mapping(i: &types::Instance) -> Option<&types::InstanceBlockDeviceMapping> {
    let mappings = i.block_device_mappings();
    let only = match mappings {
        [only] => Some(only),
        _ => None,
    };
    mappings
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == i.root_device_name())
        .or(only)
}

fn root_volume_id(i: &types::Instance) -> Option<&str> {
    root_mapping(i)
        .and_then(|m| m.ebs())
        .and_then(|e| e.volume_id())
}

fn primary_interface(i: &types::Instance) -> Option<&types::InstanceNetworkInterface> {
    i.network_interfaces()
        .iter()
        .find(|n| n.attachment().and_then(|a| a.device_index()) == Some(0))
}

/// Whether the instance got a public address at launch. An address owned by
/// `amazon` was; none means it was not; an address the account owns is an
/// Elastic IP, which hides the launch setting: the recorded value stands.
fn launched_with_public_ip(i: &types::Instance, recorded: Option<&Value>) -> bool {
    let association = primary_interface(i)
        .and_then(|n| n.association())
        .filter(|a| a.public_ip().is_some_and(|ip| !ip.is_empty()));
    match association {
        None => i.public_ip_address().is_some_and(|ip| !ip.is_empty()),
        Some(a) if a.ip_owner_id() == Some("amazon") => true,
        Some(_) => recorded
            .and_then(|r| r.get("associate_public_ip_address"))
            .and_then(Value::as_bool)
            .unwrap_or(true),
    }
}

/// The profile name from its ARN (`arn:...:instance-profile/path/name`).
fn profile_name(arn: &str) -> &str {
    arn.rsplit('/').next().unwrap_or(arn)
}

fn root_block_device_value(i: &types::Instance, volume: Option<&types::Volume>) -> Value {
    let Some(mapping) = root_mapping(i) else {
        return Value::List(Vec::new());
    };
    let ebs = mapping.ebs();
    Value::List(vec![Value::map([
        ("device_name", s(mapping.device_name())),
        ("volume_id", s(ebs.and_then(|e| e.volume_id()))),
        (
            "delete_on_termination",
            Value::Bool(ebs.and_then(|e| e.delete_on_termination()).unwrap_or(true)),
        ),
        (
            "encrypted",
            volume
                .and_then(|v| v.encrypted())
                .map(Value::Bool)
                .unwrap_or(Value::Null),
        ),
        (
            "iops",
            volume
                .and_then(|v| v.iops())
                .map(num)
                .unwrap_or(Value::Null),
        ),
        (
            "throughput",
            volume
                .and_then(|v| v.throughput())
                .map(num)
                .unwrap_or(Value::Null),
        ),
        (
            "volume_size",
            volume
                .and_then(|v| v.size())
                .map(num)
                .unwrap_or(Value::Null),
        ),
        (
            "volume_type",
            s(volume.and_then(|v| v.volume_type()).map(|t| t.as_str())),
        ),
    ])])
}

/// Live attributes in schema shape. `recorded` (state, or the spec just
/// applied) decides `associate_public_ip_address` when an Elastic IP hides it.
fn instance_attrs(
    loc: &Location,
    found: &Found,
    extras: &Extras,
    recorded: Option<&Value>,
) -> Value {
    let i = &found.instance;
    let id = i.instance_id().unwrap_or_default();
    let groups: Vec<String> = i
        .security_groups()
        .iter()
        .filter_map(|g| g.group_id())
        .map(str::to_string)
        .collect();
    let user_data = extras
        .user_data
        .as_deref()
        .filter(|d| !d.is_empty())
        .map(user_data_hash);
    Value::map([
        ("id", s(Some(id))),
        (
            "arn",
            Value::from(loc.ec2_arn(found.owner.as_deref(), &format!("instance/{id}"))),
        ),
        ("ami", s(i.image_id())),
        ("instance_type", s(i.instance_type().map(|t| t.as_str()))),
        ("subnet_id", s(i.subnet_id())),
        ("vpc_security_group_ids", set_or_null(groups)),
        ("key_name", s(i.key_name())),
        (
            "associate_public_ip_address",
            Value::Bool(launched_with_public_ip(i, recorded)),
        ),
        ("private_ip", s(i.private_ip_address())),
        (
            "availability_zone",
            s(i.placement().and_then(|p| p.availability_zone())),
        ),
        ("user_data", Value::from(user_data)),
        (
            "iam_instance_profile",
            s(i.iam_instance_profile()
                .and_then(|p| p.arn())
                .map(profile_name)),
        ),
        (
            "source_dest_check",
            Value::Bool(i.source_dest_check().unwrap_or(true)),
        ),
        (
            "root_block_device",
            root_block_device_value(i, extras.root_volume.as_ref()),
        ),
        ("instance_state", s(state_of(i).map(|s| s.as_str()))),
        ("public_ip", s(i.public_ip_address())),
        ("public_dns", s(i.public_dns_name())),
        ("private_dns", s(i.private_dns_name())),
        (
            "primary_network_interface_id",
            s(primary_interface(i).and_then(|n| n.network_interface_id())),
        ),
        ("tags_all", tags_value(i.tags())),
    ])
}

// ----- reads -----

/// One DescribeInstances chain; `filters` plus a filter on the states that
/// count as existing (terminated instances stay visible for a while).
async fn describe_instances(
    aws: &Aws,
    mut filters: Vec<Filter>,
) -> Result<Vec<Found>, ProviderError> {
    filters.push(filter("instance-state-name", LIVE_STATES));
    let reservations = aws
        .ec2
        .describe_instances()
        .set_filters(Some(filters))
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .ec2("DescribeInstances")?;
    Ok(reservations
        .iter()
        .flat_map(|r| {
            r.instances().iter().map(|i| Found {
                instance: i.clone(),
                owner: r.owner_id().map(str::to_string),
            })
        })
        .filter(|f| state_of(&f.instance).is_some_and(|s| LIVE_STATES.contains(&s.as_str())))
        .collect())
}

async fn describe_one(aws: &Aws, id: &str) -> Result<Option<Found>, ProviderError> {
    Ok(describe_instances(aws, vec![filter("instance-id", [id])])
        .await?
        .into_iter()
        .find(|f| f.id() == Some(id)))
}

/// The volumes with these IDs (one DescribeVolumes call per 200).
async fn describe_volumes(
    aws: &Aws,
    ids: Vec<String>,
) -> Result<HashMap<String, types::Volume>, ProviderError> {
    let mut out = HashMap::new();
    for chunk in ids.chunks(MAX_FILTER_VALUES) {
        let volumes = aws
            .ec2
            .describe_volumes()
            .set_filters(Some(vec![filter("volume-id", chunk.iter().cloned())]))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ec2("DescribeVolumes")?;
        for v in volumes {
            if let Some(id) = v.volume_id() {
                out.insert(id.to_string(), v.clone());
            }
        }
    }
    Ok(out)
}

/// An instance's user data (base64); `None` when it has none or is gone.
async fn user_data(aws: &Aws, id: &str) -> Result<Option<String>, ProviderError> {
    match aws
        .ec2
        .describe_instance_attribute()
        .instance_id(id)
        .attribute(InstanceAttributeName::UserData)
        .send()
        .await
        .ec2("DescribeInstanceAttribute")
    {
        Ok(out) => Ok(out.user_data().and_then(|d| d.value()).map(str::to_string)),
        Err(e) if e.kind == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// The root volumes and user data of `found`, in its order.
async fn extras_for(aws: &Aws, found: &[Found]) -> Result<Vec<Extras>, ProviderError> {
    let volume_ids: Vec<String> = found
        .iter()
        .filter_map(|f| root_volume_id(&f.instance))
        .map(str::to_string)
        .collect();
    let mut volumes = if volume_ids.is_empty() {
        HashMap::new()
    } else {
        describe_volumes(aws, volume_ids).await?
    };
    let ids: Vec<String> = found
        .iter()
        .filter_map(Found::id)
        .map(str::to_string)
        .collect();
    // No batch form: one DescribeInstanceAttribute per instance, a few at once.
    let data = read_concurrently(ids, |id| {
        let aws = aws.clone();
        async move { user_data(&aws, &id).await }
    })
    .await?;
    Ok(found
        .iter()
        .zip(data)
        .map(|(f, user_data)| Extras {
            root_volume: root_volume_id(&f.instance).and_then(|v| volumes.remove(v)),
            user_data,
        })
        .collect())
}

/// Reads one instance with everything its attributes need.
async fn read(aws: &Aws, id: &str, recorded: &Value) -> Result<Option<Value>, ProviderError> {
    let Some(found) = describe_one(aws, id).await? else {
        return Ok(None);
    };
    let extras = extras_for(aws, std::slice::from_ref(&found)).await?;
    Ok(Some(instance_attrs(
        &aws.loc,
        &found,
        extras.first().unwrap_or(&Extras::default()),
        Some(recorded),
    )))
}

/// Waits until the instance is in `state`; an instance that ends up
/// terminated instead (a failed launch) is an error.
async fn wait_for_state(
    aws: &Aws,
    id: &str,
    state: InstanceStateName,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    until(
        deadline,
        "DescribeInstances",
        &format!("{id} to be {}", state.as_str()),
        || async {
            let out = aws
                .ec2
                .describe_instances()
                .filters(filter("instance-id", [id]))
                .send()
                .await
                .ec2("DescribeInstances")?;
            let instance = out
                .reservations()
                .iter()
                .flat_map(|r| r.instances())
                .find(|i| i.instance_id() == Some(id));
            match instance.and_then(state_of) {
                Some(s) if *s == state => Ok(Some(())),
                Some(InstanceStateName::Terminated | InstanceStateName::ShuttingDown) => {
                    let reason = instance
                        .and_then(|i| i.state_reason())
                        .and_then(|r| r.message())
                        .unwrap_or("no reason given");
                    Err(ProviderError::new(
                        ErrorKind::Permanent,
                        EC2,
                        "DescribeInstances",
                        format!("{id} was terminated: {reason}"),
                    ))
                }
                // Not visible yet, or still on its way.
                _ => Ok(None),
            }
        },
    )
    .await
}

// ----- spec → API -----

/// The root device mapping the spec asks for, on the AMI's root device.
fn root_mapping_input(desired: &Value, root_device: &str) -> Option<BlockDeviceMapping> {
    let root = blocks(desired, "root_block_device").first()?;
    let ebs = EbsBlockDevice::builder()
        .delete_on_termination(bool_or(root, "delete_on_termination", true))
        .set_encrypted(root.get("encrypted").and_then(Value::as_bool))
        .set_iops(opt_int(root, "iops").map(|n| n as i32))
        .set_throughput(opt_int(root, "throughput").map(|n| n as i32))
        .set_volume_size(opt_int(root, "volume_size").map(|n| n as i32))
        .set_volume_type(opt_str(root, "volume_type").map(VolumeType::from))
        .build();
    Some(
        BlockDeviceMapping::builder()
            .device_name(root_device)
            .ebs(ebs)
            .build(),
    )
}

/// The AMI's root device name (needed to size the root volume).
async fn ami_root_device(aws: &Aws, ami: &str) -> Result<String, ProviderError> {
    let out = aws
        .ec2
        .describe_images()
        .image_ids(ami)
        .send()
        .await
        .ec2("DescribeImages")?;
    out.images()
        .first()
        .and_then(|i| i.root_device_name())
        .map(str::to_string)
        .ok_or_else(|| {
            invalid(
                "DescribeImages",
                format!("AMI {ami} has no root device name"),
            )
        })
}

/// RunInstances for the spec, with `ClientToken` so a retry after a crash
/// returns the instance the first attempt launched.
fn run_instances_input(
    aws: &Aws,
    d: &Value,
    token: String,
    create_token: Option<&str>,
    root_device: Option<&str>,
) -> Result<aws_sdk_ec2::operation::run_instances::builders::RunInstancesFluentBuilder, ProviderError>
{
    let subnet = opt_str(d, "subnet_id").map(str::to_string);
    let groups = str_list(d, "vpc_security_group_ids");
    let private_ip = opt_str(d, "private_ip").map(str::to_string);
    let public_ip = d
        .get("associate_public_ip_address")
        .and_then(Value::as_bool);
    let mut call = aws
        .ec2
        .run_instances()
        .image_id(req_str(d, "ami", "RunInstances")?)
        .instance_type(InstanceType::from(req_str(
            d,
            "instance_type",
            "RunInstances",
        )?))
        .min_count(1)
        .max_count(1)
        .client_token(token)
        .set_key_name(opt_str(d, "key_name").map(str::to_string))
        .set_user_data(opt_str(d, "user_data").map(user_data_input))
        .set_iam_instance_profile(opt_str(d, "iam_instance_profile").map(|name| {
            IamInstanceProfileSpecification::builder()
                .name(name)
                .build()
        }))
        .set_placement(
            opt_str(d, "availability_zone")
                .map(|az| Placement::builder().availability_zone(az).build()),
        )
        .set_block_device_mappings(
            root_device
                .and_then(|dev| root_mapping_input(d, dev))
                .map(|m| vec![m]),
        )
        .set_tag_specifications(Some(
            [ResourceType::Instance, ResourceType::Volume]
                .into_iter()
                .filter_map(|t| tag_specification(t, d, create_token))
                .collect(),
        ));
    // A public-address choice can only be made on the network interface,
    // which then carries the subnet, groups and private address too.
    if let Some(public_ip) = public_ip {
        call = call.network_interfaces(
            InstanceNetworkInterfaceSpecification::builder()
                .device_index(0)
                .associate_public_ip_address(public_ip)
                .delete_on_termination(true)
                .set_subnet_id(subnet)
                .set_groups((!groups.is_empty()).then_some(groups))
                .set_private_ip_address(private_ip)
                .build(),
        );
    } else {
        call = call
            .set_subnet_id(subnet)
            .set_security_group_ids((!groups.is_empty()).then_some(groups))
            .set_private_ip_address(private_ip);
    }
    Ok(call)
}

/// The arguments `RunInstances` sends.
const RUN_ARGS: &[&str] = &[
    "ami",
    "instance_type",
    "subnet_id",
    "vpc_security_group_ids",
    "key_name",
    "associate_public_ip_address",
    "private_ip",
    "availability_zone",
    "user_data",
    "iam_instance_profile",
    "root_block_device",
    "tags_all",
];

/// Looks up what the spec refers to (AMI, subnet, security groups, key
/// pair, instance profile) and sends `RunInstances` with `DryRun=true`
/// once its arguments are known.
async fn check_create(
    aws: &Aws,
    req: &CheckRequest,
    d: &Value,
) -> Result<Vec<Finding>, ProviderError> {
    let mut findings = Findings::new();
    let image = match known_str(d, "ami") {
        Some(ami) => find_image(aws, &mut findings, ami).await?,
        None => None,
    };
    if let Some(subnet) = known_str(d, "subnet_id") {
        check_ec2_refs(aws, &mut findings, Ec2Ref::Subnet, &[subnet.to_string()]).await?;
    }
    if let Some(groups) = known_list(d, "vpc_security_group_ids") {
        check_ec2_refs(aws, &mut findings, Ec2Ref::SecurityGroup, &groups).await?;
    }
    // A key pair or instance profile this plan creates does not exist yet:
    // neither it nor a launch naming it can be checked now.
    let key = known_str(d, "key_name");
    let key_planned = key.is_some_and(|k| req.plans("aws_key_pair", "key_name", k));
    if let Some(key) = key.filter(|_| !key_planned) {
        check_ec2_refs(aws, &mut findings, Ec2Ref::KeyPair, &[key.to_string()]).await?;
    }
    let profile = known_str(d, "iam_instance_profile");
    let profile_planned = profile.is_some_and(|p| req.plans("aws_iam_instance_profile", "name", p));
    if let Some(profile) = profile.filter(|_| !profile_planned) {
        check_instance_profile(aws, &mut findings, profile).await?;
    }
    if !all_known(d, RUN_ARGS) || key_planned || profile_planned {
        return Ok(findings.into_vec());
    }
    // The root volume is sized on the AMI's root device: without the AMI
    // (reported above) there is no request to try.
    let root_device = if blocks(d, "root_block_device").is_empty() {
        None
    } else {
        match image.as_ref().and_then(|i| i.root_device_name()) {
            Some(device) => Some(device.to_string()),
            None => return Ok(findings.into_vec()),
        }
    };
    let answer = run_instances_input(aws, d, dry_run_token(req), None, root_device.as_deref())?
        .dry_run(true)
        .send()
        .await
        .ec2("RunInstances");
    findings.dry_run("ec2:RunInstances", answer, |out| {
        out.instances()
            .first()
            .and_then(|i| i.instance_id())
            .map(str::to_string)
    })?;
    Ok(findings.into_vec())
}

/// RunInstances errors worth retrying within the create: an instance
/// profile, key pair, subnet or group made a moment ago and not yet visible
/// to EC2. A missing AMI is not (it will not appear).
fn classify_run_error(mut e: ProviderError) -> ProviderError {
    let code = e.code.as_deref().unwrap_or_default();
    let message = e.message.to_ascii_lowercase();
    if code.starts_with("InvalidAMIID") {
        e.kind = ErrorKind::Permanent;
    } else if code == "InvalidParameterValue"
        && (message.contains("iaminstanceprofile") || message.contains("instance profile"))
    {
        e.kind = ErrorKind::Transient;
    }
    e
}

// ----- in-place changes -----

async fn modify_attribute(
    deadline: &Deadline,
    build: impl Fn() -> aws_sdk_ec2::operation::modify_instance_attribute::builders::ModifyInstanceAttributeFluentBuilder,
) -> Result<(), ProviderError> {
    retry(deadline, || async {
        build()
            .send()
            .await
            .ec2("ModifyInstanceAttribute")
            .map(|_| ())
    })
    .await
}

/// Stops the instance, changes its type and starts it again.
async fn change_instance_type(
    aws: &Aws,
    id: &str,
    instance_type: &str,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    aws.ec2
        .stop_instances()
        .instance_ids(id)
        .send()
        .await
        .ec2("StopInstances")?;
    wait_for_state(aws, id, InstanceStateName::Stopped, deadline).await?;
    modify_attribute(deadline, || {
        aws.ec2
            .modify_instance_attribute()
            .instance_id(id)
            .instance_type(AttributeValue::builder().value(instance_type).build())
    })
    .await?;
    aws.ec2
        .start_instances()
        .instance_ids(id)
        .send()
        .await
        .ec2("StartInstances")?;
    wait_for_state(aws, id, InstanceStateName::Running, deadline).await
}

/// Associates, replaces or removes the instance profile.
async fn set_instance_profile(
    aws: &Aws,
    id: &str,
    name: Option<&str>,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let out = aws
        .ec2
        .describe_iam_instance_profile_associations()
        .filters(filter("instance-id", [id]))
        .filters(filter("state", ["associating", "associated"]))
        .send()
        .await
        .ec2("DescribeIamInstanceProfileAssociations")?;
    let current = out
        .iam_instance_profile_associations()
        .first()
        .and_then(|a| a.association_id())
        .map(str::to_string);
    let spec = |name: &str| {
        IamInstanceProfileSpecification::builder()
            .name(name)
            .build()
    };
    // A profile made a moment ago may not be visible to EC2 yet:
    // classify_run_error makes that transient.
    match (current, name) {
        (None, None) => Ok(()),
        (Some(association), None) => aws
            .ec2
            .disassociate_iam_instance_profile()
            .association_id(association)
            .send()
            .await
            .ec2("DisassociateIamInstanceProfile")
            .map(|_| ()),
        (None, Some(name)) => {
            retry(deadline, || async {
                aws.ec2
                    .associate_iam_instance_profile()
                    .instance_id(id)
                    .iam_instance_profile(spec(name))
                    .send()
                    .await
                    .ec2("AssociateIamInstanceProfile")
                    .map_err(classify_run_error)
                    .map(|_| ())
            })
            .await
        }
        (Some(association), Some(name)) => {
            retry(deadline, || async {
                aws.ec2
                    .replace_iam_instance_profile_association()
                    .association_id(&association)
                    .iam_instance_profile(spec(name))
                    .send()
                    .await
                    .ec2("ReplaceIamInstanceProfileAssociation")
                    .map_err(classify_run_error)
                    .map(|_| ())
            })
            .await
        }
    }
}

/// Brings the root volume to the desired size, type and performance, and
/// its delete-on-termination flag to the desired value.
async fn change_root_volume(
    aws: &Aws,
    id: &str,
    prior: &Value,
    desired: &Value,
    deadline: &Deadline,
) -> Result<(), ProviderError> {
    let (Some(want), Some(had)) = (
        blocks(desired, "root_block_device").first(),
        blocks(prior, "root_block_device").first(),
    ) else {
        return Ok(());
    };
    let differs = |k: &str| {
        let w = want.get(k).filter(|v| !v.is_null());
        w.is_some() && w != had.get(k)
    };
    if differs("encrypted") {
        return Err(invalid(
            "ModifyVolume",
            "root_block_device.encrypted cannot change in place; replace the instance \
             (e.g. `stackd apply -replace`)",
        ));
    }
    let volume = opt_str(had, "volume_id");
    if let Some(volume) = volume.filter(|_| {
        ["volume_size", "volume_type", "iops", "throughput"]
            .iter()
            .any(|k| differs(k))
    }) {
        let as_i32 = |k: &str| {
            differs(k)
                .then(|| opt_int(want, k))
                .flatten()
                .map(|n| n as i32)
        };
        retry(deadline, || async {
            aws.ec2
                .modify_volume()
                .volume_id(volume)
                .set_size(as_i32("volume_size"))
                .set_volume_type(
                    differs("volume_type")
                        .then(|| opt_str(want, "volume_type"))
                        .flatten()
                        .map(VolumeType::from),
                )
                .set_iops(as_i32("iops"))
                .set_throughput(as_i32("throughput"))
                .send()
                .await
                .ec2("ModifyVolume")
                .map(|_| ())
        })
        .await?;
    }
    let want_delete = bool_or(want, "delete_on_termination", true);
    if had.get("delete_on_termination").and_then(Value::as_bool) != Some(want_delete) {
        let device = opt_str(had, "device_name").unwrap_or_default().to_string();
        modify_attribute(deadline, || {
            aws.ec2
                .modify_instance_attribute()
                .instance_id(id)
                .block_device_mappings(
                    InstanceBlockDeviceMappingSpecification::builder()
                        .device_name(&device)
                        .ebs(
                            EbsInstanceBlockDeviceSpecification::builder()
                                .delete_on_termination(want_delete)
                                .build(),
                        )
                        .build(),
                )
        })
        .await?;
    }
    Ok(())
}

pub(crate) struct Instance;

#[async_trait]
impl ResourceHandler for Instance {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let found = find_owned(req, "instance-id", Found::id, |f| {
            describe_instances(aws, f)
        })
        .await?;
        let extras = extras_for(aws, &found).await?;
        Ok(live(&aws.loc, found, extras, &req.known))
    }

    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let Some(found) = find_by_token(req, |f| describe_instances(aws, f)).await? else {
            return Ok(None);
        };
        let found = vec![found];
        let extras = extras_for(aws, &found).await?;
        Ok(live(&aws.loc, found, extras, &[]).pop().map(|l| l.attrs))
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let root_device = if blocks(d, "root_block_device").is_empty() {
            None
        } else {
            Some(ami_root_device(aws, req_str(d, "ami", "RunInstances")?).await?)
        };
        let call = run_instances_input(
            aws,
            d,
            client_token(&req.idempotency_token),
            Some(&req.idempotency_token),
            root_device.as_deref(),
        )?;
        let out = retry(&deadline, || async {
            call.clone()
                .send()
                .await
                .ec2("RunInstances")
                .map_err(classify_run_error)
        })
        .await?;
        let id = out
            .instances()
            .first()
            .and_then(|i| i.instance_id())
            .ok_or_else(|| invalid("RunInstances", "the answer carries no instance ID"))?
            .to_string();
        async {
            wait_for_state(aws, &id, InstanceStateName::Running, &deadline).await?;
            if !bool_or(d, "source_dest_check", true) {
                modify_attribute(&deadline, || {
                    aws.ec2
                        .modify_instance_attribute()
                        .instance_id(&id)
                        .source_dest_check(AttributeBooleanValue::builder().value(false).build())
                })
                .await?;
            }
            until(
                &deadline,
                "DescribeInstances",
                &format!("{id} to be readable"),
                || read(aws, &id, d),
            )
            .await
        }
        .await
        .map_err(|e| after_create(&id, e))
    }

    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        match creating(req) {
            Some(d) => check_create(aws, req, d).await,
            None => Ok(Vec::new()),
        }
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let deadline = Deadline::after(req.timeout);
        let id = req
            .id
            .as_deref()
            .ok_or_else(|| invalid("ModifyInstanceAttribute", "update without an ID"))?;
        let prior = req.prior.clone().unwrap_or(Value::Null);
        let d = &req.desired;
        let changed = |k: &str| req.changed.iter().any(|c| c == k);
        if changed("instance_type") {
            change_instance_type(
                aws,
                id,
                req_str(d, "instance_type", "ModifyInstanceAttribute")?,
                &deadline,
            )
            .await?;
        }
        let groups = str_list(d, "vpc_security_group_ids");
        if changed("vpc_security_group_ids") && !groups.is_empty() {
            modify_attribute(&deadline, || {
                aws.ec2
                    .modify_instance_attribute()
                    .instance_id(id)
                    .set_groups(Some(groups.clone()))
            })
            .await?;
        }
        if changed("source_dest_check") {
            let value = bool_or(d, "source_dest_check", true);
            modify_attribute(&deadline, || {
                aws.ec2
                    .modify_instance_attribute()
                    .instance_id(id)
                    .source_dest_check(AttributeBooleanValue::builder().value(value).build())
            })
            .await?;
        }
        if changed("iam_instance_profile") {
            set_instance_profile(aws, id, opt_str(d, "iam_instance_profile"), &deadline).await?;
        }
        if changed("root_block_device") {
            change_root_volume(aws, id, &prior, d, &deadline).await?;
        }
        reconcile(aws, id, &prior, d, &deadline).await?;
        if let Some(volume) = blocks(&prior, "root_block_device")
            .first()
            .and_then(|r| opt_str(r, "volume_id"))
        {
            // The root volume was tagged like the instance at launch.
            reconcile(aws, volume, &prior, d, &deadline).await?;
        }
        read(aws, id, d)
            .await?
            .ok_or_else(|| gone("DescribeInstances", id))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // An instance already terminated (or terminating) is gone: asking
        // again is pointless, and some endpoints then fail on its interfaces.
        if describe_one(aws, &req.id).await?.is_none() {
            return Ok(());
        }
        match aws
            .ec2
            .terminate_instances()
            .instance_ids(&req.id)
            .send()
            .await
            .ec2("TerminateInstances")
        {
            Ok(_) => {}
            Err(e) if has_code(&e, "InvalidInstanceID.NotFound") => return Ok(()),
            Err(e) => return Err(e),
        }
        match wait_for_state(aws, &req.id, InstanceStateName::Terminated, &deadline).await {
            // "was terminated" is what we wait for here.
            Err(e) if e.kind == ErrorKind::Permanent && e.message.contains("was terminated") => {
                Ok(())
            }
            other => other,
        }
    }
}

fn live(
    loc: &Location,
    found: Vec<Found>,
    extras: Vec<Extras>,
    known: &[KnownResource],
) -> Vec<LiveResource> {
    found
        .into_iter()
        .zip(extras)
        .filter_map(|(f, x)| {
            let id = f.id()?.to_string();
            Some(LiveResource {
                address: address_for(&id, f.instance.tags(), known),
                attrs: instance_attrs(loc, &f, &x, known_attrs(&id, known)),
                id,
            })
        })
        .collect()
}

#[cfg(test)]
mod check_tests {
    use super::*;
    use crate::preflight::fake;
    use stackd_engine::provider::{CheckedChange, Severity};

    const AMI: &str = "ami-0123456789abcdef0";

    fn request(args: &[(&str, Value)]) -> CheckRequest {
        let mut desired: std::collections::BTreeMap<String, Value> = RUN_ARGS
            .iter()
            .map(|k| (k.to_string(), Value::Null))
            .collect();
        desired.insert("ami".into(), Value::from(AMI));
        desired.insert("instance_type".into(), Value::from("t3.micro"));
        for (k, v) in args {
            desired.insert(k.to_string(), v.clone());
        }
        CheckRequest {
            address: "aws_instance.bastion".parse().unwrap(),
            type_name: "aws_instance".into(),
            owner: stackd_engine::provider::Owner::new("prod", "prod"),
            change: CheckedChange::Create,
            desired: Some(Value::Map(desired)),
            prior: None,
            id: None,
            planned: Default::default(),
        }
    }

    fn missing_ami(r: &str) -> (u16, String) {
        if r.contains("Action=DescribeImages") || r.contains("Action=RunInstances") {
            (
                400,
                fake::ec2_error(
                    "InvalidAMIID.NotFound",
                    "The image id '[ami-0123456789abcdef0]' does not exist",
                ),
            )
        } else {
            (500, String::new())
        }
    }

    #[tokio::test]
    async fn a_missing_ami_is_reported_once_and_run_instances_is_only_a_dry_run() {
        let (aws, requests) = fake::aws(missing_ami);
        let findings = Instance.check(&aws, &request(&[])).await.unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].check, "not_found");
        assert_eq!(findings[0].operation, "ec2:DescribeImages");
        assert!(findings[0].message.contains(AMI));
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 2, "{sent:#?}");
        assert!(sent[1].contains("Action=RunInstances"), "{}", sent[1]);
        assert!(sent[1].contains("DryRun=true"), "{}", sent[1]);
    }

    #[tokio::test]
    async fn a_denied_launch_is_a_permission_finding() {
        let (aws, requests) = fake::aws(|r| {
            if r.contains("Action=DescribeImages") {
                (
                    200,
                    "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                     <requestId>r</requestId><imagesSet><item>\
                     <imageId>ami-0123456789abcdef0</imageId></item></imagesSet>\
                     </DescribeImagesResponse>"
                        .into(),
                )
            } else {
                (
                    403,
                    fake::ec2_error(
                        "UnauthorizedOperation",
                        "You are not authorized to perform this operation.",
                    ),
                )
            }
        });
        let findings = Instance.check(&aws, &request(&[])).await.unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        assert_eq!(findings[0].severity, Severity::Error);
        assert_eq!(findings[0].check, "permission_denied");
        assert_eq!(findings[0].operation, "ec2:RunInstances");
        assert_eq!(fake::sent(&requests).len(), 2);
    }

    /// Regression: the reference architecture's bastion names its key pair
    /// and instance profile, which the same plan creates; the dry run
    /// reported both as missing.
    #[tokio::test]
    async fn a_key_pair_and_profile_this_plan_creates_are_not_looked_up() {
        let (aws, requests) = fake::aws(missing_ami);
        let mut req = request(&[
            ("key_name", Value::from("bastion")),
            ("iam_instance_profile", Value::from("bastion")),
        ]);
        let planned = |type_name: &str, attr: &str| stackd_engine::provider::PlannedObject {
            address: format!("{type_name}.x").parse().unwrap(),
            type_name: type_name.into(),
            desired: Value::Map([(attr.to_string(), Value::from("bastion"))].into()),
        };
        req.planned = vec![
            planned("aws_key_pair", "key_name"),
            planned("aws_iam_instance_profile", "name"),
        ]
        .into();
        let findings = Instance.check(&aws, &req).await.unwrap();
        assert_eq!(findings.len(), 1, "only the AMI: {findings:#?}");
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert!(sent[0].contains("Action=DescribeImages"));
    }

    #[tokio::test]
    async fn an_unknown_subnet_skips_the_dry_run_but_not_the_ami_look_up() {
        let (aws, requests) = fake::aws(missing_ami);
        let findings = Instance
            .check(&aws, &request(&[("subnet_id", Value::Unknown)]))
            .await
            .unwrap();
        assert_eq!(findings.len(), 1, "{findings:#?}");
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 1, "{sent:#?}");
        assert!(sent[0].contains("Action=DescribeImages"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_engine::diff::{diff, IgnoreChanges};
    use stackd_engine::provider::{ADDRESS_TAG, STACK_ID_TAG};

    const USER_DATA: &str = "#!/bin/bash\nyum install -y nc\n";

    fn desired() -> Value {
        Value::map([
            ("ami", Value::from("ami-123")),
            ("instance_type", Value::from("t3.micro")),
            ("subnet_id", Value::from("subnet-1")),
            ("vpc_security_group_ids", Value::from(vec!["sg-1"])),
            ("key_name", Value::from("bastion")),
            ("associate_public_ip_address", Value::Bool(true)),
            ("private_ip", Value::Null),
            ("availability_zone", Value::Null),
            ("user_data", Value::from(USER_DATA)),
            ("iam_instance_profile", Value::Null),
            ("source_dest_check", Value::Bool(true)),
            (
                "root_block_device",
                Value::List(vec![Value::map([
                    ("delete_on_termination", Value::Bool(true)),
                    ("encrypted", Value::Null),
                    ("iops", Value::Null),
                    ("throughput", Value::Null),
                    ("volume_size", Value::from(16)),
                    ("volume_type", Value::from("gp3")),
                ])]),
            ),
            (
                "tags_all",
                Value::map([
                    (STACK_ID_TAG, Value::from("prod")),
                    (ADDRESS_TAG, Value::from("aws_instance.bastion")),
                ]),
            ),
        ])
    }

    fn live_instance(ip_owner: &str) -> Found {
        let instance = types::Instance::builder()
            .instance_id("i-1")
            .image_id("ami-123")
            .instance_type(InstanceType::T3Micro)
            .subnet_id("subnet-1")
            .key_name("bastion")
            .security_groups(types::GroupIdentifier::builder().group_id("sg-1").build())
            .private_ip_address("10.0.1.5")
            .public_ip_address("54.1.2.3")
            .public_dns_name("ec2-54-1-2-3.compute-1.amazonaws.com")
            .private_dns_name("ip-10-0-1-5.ec2.internal")
            .placement(Placement::builder().availability_zone("us-east-1a").build())
            .source_dest_check(true)
            .root_device_name("/dev/xvda")
            .block_device_mappings(
                types::InstanceBlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        types::EbsInstanceBlockDevice::builder()
                            .volume_id("vol-1")
                            .delete_on_termination(true)
                            .build(),
                    )
                    .build(),
            )
            .network_interfaces(
                types::InstanceNetworkInterface::builder()
                    .network_interface_id("eni-1")
                    .attachment(
                        types::InstanceNetworkInterfaceAttachment::builder()
                            .device_index(0)
                            .build(),
                    )
                    .association(
                        types::InstanceNetworkInterfaceAssociation::builder()
                            .public_ip("54.1.2.3")
                            .ip_owner_id(ip_owner)
                            .build(),
                    )
                    .build(),
            )
            .state(
                types::InstanceState::builder()
                    .name(InstanceStateName::Running)
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
                    .value("aws_instance.bastion")
                    .build(),
            )
            .build();
        Found {
            instance,
            owner: Some("123".into()),
        }
    }

    fn extras() -> Extras {
        Extras {
            root_volume: Some(
                types::Volume::builder()
                    .volume_id("vol-1")
                    .size(16)
                    .volume_type(VolumeType::Gp3)
                    .iops(3000)
                    .throughput(125)
                    .encrypted(false)
                    .build(),
            ),
            user_data: Some(aws_smithy_types::base64::encode(USER_DATA)),
        }
    }

    #[test]
    fn user_data_is_recorded_as_terraforms_digest() {
        let hash = user_data_hash(USER_DATA);
        assert_eq!(hash, sha1_hex(USER_DATA.as_bytes()));
        // Base64 input is hashed decoded, as the Terraform provider does.
        assert_eq!(
            user_data_hash(&aws_smithy_types::base64::encode(USER_DATA)),
            hash
        );
        assert_eq!(
            normalize_user_data(&Value::from(USER_DATA)),
            Value::from(hash.clone())
        );
        assert_eq!(
            normalize_user_data(&Value::from(hash.clone())),
            Value::from(hash)
        );
        assert_eq!(normalize_user_data(&Value::Null), Value::Null);
        assert_eq!(normalize_user_data(&Value::from("")), Value::Null);
    }

    #[test]
    fn user_data_is_sent_in_base64_once() {
        let encoded = user_data_input(USER_DATA);
        assert_eq!(
            aws_smithy_types::base64::decode(&encoded).unwrap(),
            USER_DATA.as_bytes()
        );
        assert_eq!(user_data_input(&encoded), encoded);
    }

    #[test]
    fn a_live_instance_reads_back_as_a_no_op() {
        let d = desired();
        let v = instance_attrs(
            &Location::new("us-east-1"),
            &live_instance("amazon"),
            &extras(),
            Some(&d),
        );
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert!(changes.is_empty(), "{changes:?}");
        assert_eq!(
            v.get("user_data"),
            Some(&Value::from(user_data_hash(USER_DATA)))
        );
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:ec2:us-east-1:123:instance/i-1"))
        );
        assert_eq!(v.get("instance_state"), Some(&Value::from("running")));
        assert_eq!(
            v.get("primary_network_interface_id"),
            Some(&Value::from("eni-1"))
        );
        for a in &schema().body.attrs {
            if a.name != "tags" {
                assert!(v.get(a.name).is_some(), "{} missing", a.name);
            }
        }
    }

    #[test]
    fn other_user_data_forces_replacement() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert("user_data".into(), Value::from("#!/bin/sh\n"));
        }
        let v = instance_attrs(
            &Location::new("us-east-1"),
            &live_instance("amazon"),
            &extras(),
            Some(&d),
        );
        let changes = diff(&schema(), &d, &v, &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].name, "user_data");
        assert!(changes[0].forces_replacement);
    }

    #[test]
    fn an_elastic_ip_does_not_flip_the_public_address_setting() {
        let mut recorded = desired();
        if let Value::Map(m) = &mut recorded {
            m.insert("associate_public_ip_address".into(), Value::Bool(false));
        }
        // The EIP (owned by the account) hides the launch setting.
        let i = live_instance("123");
        assert!(!launched_with_public_ip(&i.instance, Some(&recorded)));
        assert!(launched_with_public_ip(&i.instance, None));
        assert!(launched_with_public_ip(
            &live_instance("amazon").instance,
            Some(&recorded)
        ));
    }

    #[test]
    fn the_root_volume_is_found_even_off_the_root_device_name() {
        let mut f = live_instance("amazon");
        f.instance = types::Instance::builder()
            .root_device_name("/dev/xvda")
            .block_device_mappings(
                types::InstanceBlockDeviceMapping::builder()
                    .device_name("/dev/sda1")
                    .ebs(
                        types::EbsInstanceBlockDevice::builder()
                            .volume_id("vol-9")
                            .build(),
                    )
                    .build(),
            )
            .build();
        assert_eq!(root_volume_id(&f.instance), Some("vol-9"));
    }

    #[test]
    fn instance_profile_names_come_from_their_arn() {
        assert_eq!(
            profile_name("arn:aws:iam::123:instance-profile/ops/bastion"),
            "bastion"
        );
    }

    #[test]
    fn a_missing_instance_profile_is_retried_and_a_missing_ami_is_not() {
        let e = ProviderError::new(
            ErrorKind::Permanent,
            EC2,
            "RunInstances",
            "Value (bastion) for parameter iamInstanceProfile.name is invalid. Invalid IAM Instance Profile name",
        )
        .with_code("InvalidParameterValue");
        assert_eq!(classify_run_error(e).kind, ErrorKind::Transient);
        let e = ProviderError::new(ErrorKind::Transient, EC2, "RunInstances", "no such AMI")
            .with_code("InvalidAMIID.NotFound");
        assert_eq!(classify_run_error(e).kind, ErrorKind::Permanent);
    }

    #[test]
    fn the_root_device_mapping_is_built_from_the_spec() {
        let m = root_mapping_input(&desired(), "/dev/xvda").unwrap();
        assert_eq!(m.device_name(), Some("/dev/xvda"));
        let ebs = m.ebs().unwrap();
        assert_eq!(ebs.volume_size(), Some(16));
        assert_eq!(ebs.volume_type(), Some(&VolumeType::Gp3));
        assert_eq!(ebs.delete_on_termination(), Some(true));
        assert_eq!(ebs.encrypted(), None);
    }
}
