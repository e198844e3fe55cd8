//! `aws_launch_configuration`: the older, immutable way to tell an EC2
//! Auto Scaling group what to launch (AWS now steers users to launch
//! templates, but public roots still write these). Its ID, and import ID,
//! is its name.
//!
//! Every argument forces a new configuration: AWS cannot change one. As
//! with Terraform, a configuration in use by a group can only be replaced
//! create-first (`create_before_destroy` with `name_prefix`); a delete
//! while a group still uses it is retried until the deadline.
//!
//! `user_data` is recorded as its SHA-1 hex digest, as the provider does.
//!
//! Launch configurations take no tags, so ownership is the stack's state
//! alone; a name that exists already is this create's only when it was
//! made after the create's pending record was written. A refresh is one
//! `DescribeLaunchConfigurations` chain by the known names (50 a call).

use async_trait::async_trait;
use aws_sdk_autoscaling::types::{
    BlockDeviceMapping, Ebs, InstanceMetadataEndpointState, InstanceMetadataHttpTokensState,
    InstanceMetadataOptions, InstanceMonitoring, LaunchConfiguration,
};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::schema::{Nesting, Timeouts};
use stackd_spec::{AttrSchema, AttrType, BlockSchema, ResourceSchema, Value};

use super::{busy_is_transient, ignore_missing, AUTOSCALING, LAUNCH_CONFIGURATION};
use crate::args::{blocks, bool_or, num, opt_int, opt_str, s, set_or_null, str_list};
use crate::context::Aws;
use crate::error::{after_create, has_code};
use crate::iam_util::{gone, invalid, made_by_this_create, name_or_generated, AwsResult};
use crate::policy::{g, ANY};
use crate::preflight::{creating, known_list, known_str, Findings};
use crate::services::ec2::instance::{normalize_user_data, user_data_hash, user_data_input};
use crate::services::ec2::lookups::{check_ec2_refs, find_image, Ec2Ref};
use crate::services::iam::pass_role;
use crate::services::{ManagedType, ResourceHandler};
use crate::wait::{retry, until, Deadline};

/// `DescribeLaunchConfigurations` takes at most 50 names.
const NAMES_PER_CALL: usize = 50;

/// `aws_launch_configuration`: its schema, its handler, and the IAM grants
/// of every call it makes.
pub(crate) static TYPE: ManagedType = ManagedType {
    name: "aws_launch_configuration",
    schema,
    handler: &LaunchConfigurationType,
    grants: &[
        g(
            &[
                "autoscaling:DescribeLaunchConfigurations",
                // The dry-run check's look-ups.
                "ec2:DescribeImages",
                "ec2:DescribeKeyPairs",
                "ec2:DescribeSecurityGroups",
            ],
            ANY,
        ),
        g(
            &[
                "autoscaling:CreateLaunchConfiguration",
                "autoscaling:DeleteLaunchConfiguration",
            ],
            &[LAUNCH_CONFIGURATION],
        ),
        // The configuration names the instances' profile: creating it
        // passes the profile's role.
        pass_role(&["ec2.amazonaws.com"]),
    ],
    source: file!(),
};

fn root_block_device_block() -> BlockSchema {
    BlockSchema::new("root_block_device", Nesting::Single)
        .force_new()
        .computed_when_absent()
        .attr(AttrSchema::optional("delete_on_termination", AttrType::Bool).default(true))
        .attr(AttrSchema::optional_computed("encrypted", AttrType::Bool))
        .attr(AttrSchema::optional_computed("iops", AttrType::Number))
        .attr(AttrSchema::optional_computed("throughput", AttrType::Number))
        .attr(AttrSchema::optional_computed("volume_size", AttrType::Number))
        .attr(AttrSchema::optional_computed("volume_type", AttrType::String))
}

fn ebs_block_device_block() -> BlockSchema {
    BlockSchema::new("ebs_block_device", Nesting::Set)
        .force_new()
        .computed_when_absent()
        .attr(AttrSchema::required("device_name", AttrType::String))
        .attr(AttrSchema::optional("delete_on_termination", AttrType::Bool).default(true))
        .attr(AttrSchema::optional_computed("encrypted", AttrType::Bool))
        .attr(AttrSchema::optional_computed("iops", AttrType::Number))
        .attr(AttrSchema::optional("no_device", AttrType::Bool))
        .attr(AttrSchema::optional_computed("snapshot_id", AttrType::String))
        .attr(AttrSchema::optional_computed("throughput", AttrType::Number))
        .attr(AttrSchema::optional_computed("volume_size", AttrType::Number))
        .attr(AttrSchema::optional_computed("volume_type", AttrType::String))
}

fn metadata_options_block() -> BlockSchema {
    BlockSchema::new("metadata_options", Nesting::Single)
        .force_new()
        .computed_when_absent()
        .attr(AttrSchema::optional_computed("http_endpoint", AttrType::String))
        .attr(AttrSchema::optional_computed("http_tokens", AttrType::String))
        .attr(AttrSchema::optional_computed(
            "http_put_response_hop_limit",
            AttrType::Number,
        ))
}

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::resource("aws_launch_configuration")
        .doc("An EC2 Auto Scaling launch configuration (immutable).")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .force_new()
                .doc("The name; generated from `name_prefix` when unset."),
        )
        .attr(
            AttrSchema::optional_computed("name_prefix", AttrType::String)
                .force_new()
                .doc("Creates a unique name beginning with this prefix."),
        )
        .attr(AttrSchema::required("image_id", AttrType::String).force_new())
        .attr(AttrSchema::required("instance_type", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("iam_instance_profile", AttrType::String)
                .force_new()
                .doc("The instance profile's name or ARN."),
        )
        .attr(AttrSchema::optional("key_name", AttrType::String).force_new())
        .attr(
            AttrSchema::optional("security_groups", AttrType::set_of(AttrType::String))
                .force_new(),
        )
        .attr(AttrSchema::optional("associate_public_ip_address", AttrType::Bool).force_new())
        .attr(
            AttrSchema::optional("user_data", AttrType::String)
                .force_new()
                .normalize(normalize_user_data)
                .doc("Recorded as its SHA-1 hex digest."),
        )
        .attr(
            AttrSchema::optional("user_data_base64", AttrType::String)
                .force_new()
                .doc("User data already base64-encoded (binary data)."),
        )
        .attr(
            AttrSchema::optional("enable_monitoring", AttrType::Bool)
                .force_new()
                .default(true)
                .doc("Detailed (one-minute) monitoring."),
        )
        .attr(AttrSchema::optional_computed("ebs_optimized", AttrType::Bool).force_new())
        .attr(AttrSchema::optional("placement_tenancy", AttrType::String).force_new())
        .attr(AttrSchema::optional("spot_price", AttrType::String).force_new())
        .block(root_block_device_block())
        .block(ebs_block_device_block())
        .block(metadata_options_block())
        .attr(AttrSchema::computed("arn", AttrType::String))
        .timeouts(Timeouts {
            create_secs: 5 * 60,
            update_secs: 5 * 60,
            delete_secs: 10 * 60,
        })
}

/// The configurations of these names that exist.
async fn describe(aws: &Aws, names: &[String]) -> Result<Vec<LaunchConfiguration>, ProviderError> {
    let mut out = Vec::new();
    for chunk in names.chunks(NAMES_PER_CALL) {
        let found = aws
            .autoscaling
            .describe_launch_configurations()
            .set_launch_configuration_names(Some(chunk.to_vec()))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .aws(AUTOSCALING, "DescribeLaunchConfigurations")?;
        out.extend(found);
    }
    Ok(out)
}

async fn describe_one(aws: &Aws, name: &str) -> Result<Option<LaunchConfiguration>, ProviderError> {
    Ok(describe(aws, &[name.to_string()])
        .await?
        .into_iter()
        .find(|c| c.launch_configuration_name() == Some(name)))
}

fn ebs_value(ebs: Option<&Ebs>, device: Option<(&str, Option<bool>)>) -> Value {
    let opt = |n: Option<i32>| n.map_or(Value::Null, num);
    let mut fields = vec![
        (
            "delete_on_termination",
            Value::Bool(ebs.and_then(Ebs::delete_on_termination).unwrap_or(true)),
        ),
        ("encrypted", ebs.and_then(Ebs::encrypted).map_or(Value::Null, Value::Bool)),
        ("iops", opt(ebs.and_then(Ebs::iops))),
        ("throughput", opt(ebs.and_then(Ebs::throughput))),
        ("volume_size", opt(ebs.and_then(Ebs::volume_size))),
        ("volume_type", s(ebs.and_then(Ebs::volume_type))),
    ];
    if let Some((name, no_device)) = device {
        fields.push(("device_name", Value::from(name)));
        fields.push(("snapshot_id", s(ebs.and_then(Ebs::snapshot_id))));
        fields.push(("no_device", no_device.map_or(Value::Null, Value::Bool)));
    }
    Value::map(fields)
}

/// A configuration's attributes; `recorded` is what the last apply wrote
/// (AWS keeps no `name_prefix`, and answers `user_data` base64-encoded).
fn config_attrs(c: &LaunchConfiguration, recorded: Option<&Value>) -> Value {
    let name = c.launch_configuration_name().unwrap_or_default();
    let recorded_str = |k: &str| recorded.and_then(|r| opt_str(r, k));
    let prefix = recorded_str("name_prefix").filter(|p| name.starts_with(p));
    // The root device is the one whose name the image gives; AWS does not
    // say which, so a mapping without a device name would be it. Mappings
    // here all name their device: the root one is the recorded root's, if
    // any, else none.
    let mut root = Vec::new();
    let mut devices = Vec::new();
    for m in c.block_device_mappings() {
        let Some(device) = m.device_name() else {
            continue;
        };
        if m.virtual_name().is_some() {
            continue;
        }
        if is_root_device(device) {
            root.push(ebs_value(m.ebs(), None));
        } else {
            devices.push(ebs_value(m.ebs(), Some((device, m.no_device()))));
        }
    }
    let user_data = c.user_data().filter(|u| !u.is_empty());
    let (user_data, user_data_base64) = if recorded_str("user_data_base64").is_some() {
        (Value::Null, s(user_data))
    } else {
        (user_data.map_or(Value::Null, |u| Value::from(user_data_hash(u))), Value::Null)
    };
    let metadata = c.metadata_options().map(|m| {
        Value::List(vec![Value::map([
            ("http_endpoint", s(m.http_endpoint().map(|e| e.as_str()))),
            ("http_tokens", s(m.http_tokens().map(|t| t.as_str()))),
            (
                "http_put_response_hop_limit",
                m.http_put_response_hop_limit().map_or(Value::Null, num),
            ),
        ])])
    });
    Value::map([
        ("id", s(Some(name))),
        ("name", s(Some(name))),
        ("name_prefix", s(prefix)),
        ("arn", s(c.launch_configuration_arn())),
        ("image_id", s(c.image_id())),
        ("instance_type", s(c.instance_type())),
        ("iam_instance_profile", s(c.iam_instance_profile())),
        ("key_name", s(c.key_name().filter(|k| !k.is_empty()))),
        ("security_groups", set_or_null(c.security_groups().to_vec())),
        (
            "associate_public_ip_address",
            c.associate_public_ip_address().map_or(Value::Null, Value::Bool),
        ),
        ("user_data", user_data),
        ("user_data_base64", user_data_base64),
        (
            "enable_monitoring",
            Value::Bool(
                c.instance_monitoring()
                    .and_then(InstanceMonitoring::enabled)
                    .unwrap_or(true),
            ),
        ),
        ("ebs_optimized", c.ebs_optimized().map_or(Value::Null, Value::Bool)),
        ("placement_tenancy", s(c.placement_tenancy())),
        ("spot_price", s(c.spot_price())),
        ("root_block_device", Value::List(root)),
        ("ebs_block_device", Value::List(devices)),
        ("metadata_options", metadata.unwrap_or(Value::Null)),
    ])
}

/// The root device names AMIs use (`/dev/xvda` for Amazon Linux, `/dev/sda1`
/// for Ubuntu and Windows).
fn is_root_device(device: &str) -> bool {
    matches!(device, "/dev/xvda" | "/dev/sda1" | "/dev/sda")
}

fn ebs_input(b: &Value) -> Ebs {
    let int = |k: &str| opt_int(b, k).and_then(|n| i32::try_from(n).ok());
    Ebs::builder()
        .delete_on_termination(bool_or(b, "delete_on_termination", true))
        .set_encrypted(b.get("encrypted").and_then(Value::as_bool))
        .set_iops(int("iops"))
        .set_throughput(int("throughput"))
        .set_volume_size(int("volume_size"))
        .set_volume_type(opt_str(b, "volume_type").map(str::to_string))
        .set_snapshot_id(opt_str(b, "snapshot_id").map(str::to_string))
        .build()
}

/// The block device mappings the spec asks for. The root device's name is
/// the image's; `/dev/xvda` is assumed, as for Amazon Linux (the ECS
/// optimized images).
fn block_devices(d: &Value) -> Option<Vec<BlockDeviceMapping>> {
    let mut out = Vec::new();
    if let Some(root) = blocks(d, "root_block_device").first() {
        out.push(
            BlockDeviceMapping::builder()
                .device_name("/dev/xvda")
                .ebs(ebs_input(root))
                .build(),
        );
    }
    for b in blocks(d, "ebs_block_device") {
        let no_device = b.get("no_device").and_then(Value::as_bool);
        out.push(
            BlockDeviceMapping::builder()
                .set_device_name(opt_str(b, "device_name").map(str::to_string))
                .set_no_device(no_device)
                .set_ebs((no_device != Some(true)).then(|| ebs_input(b)))
                .build(),
        );
    }
    (!out.is_empty()).then_some(out)
}

fn metadata_input(d: &Value) -> Option<InstanceMetadataOptions> {
    let m = blocks(d, "metadata_options").first()?;
    Some(
        InstanceMetadataOptions::builder()
            .set_http_endpoint(opt_str(m, "http_endpoint").map(InstanceMetadataEndpointState::from))
            .set_http_tokens(opt_str(m, "http_tokens").map(InstanceMetadataHttpTokensState::from))
            .set_http_put_response_hop_limit(
                opt_int(m, "http_put_response_hop_limit").and_then(|n| i32::try_from(n).ok()),
            )
            .build(),
    )
}

pub(crate) struct LaunchConfigurationType;

#[async_trait]
impl ResourceHandler for LaunchConfigurationType {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError> {
        let names: Vec<String> = req.known.iter().map(|k| k.id.clone()).collect();
        let configs = describe(aws, &names).await?;
        let known: std::collections::HashMap<&str, _> =
            req.known.iter().map(|k| (k.id.as_str(), k)).collect();
        Ok(configs
            .iter()
            .filter_map(|c| {
                let name = c.launch_configuration_name()?;
                let known = known.get(name)?;
                Some(LiveResource {
                    address: Some(known.address.clone()),
                    id: name.to_string(),
                    attrs: config_attrs(c, Some(&known.attrs)),
                })
            })
            .collect())
    }

    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        const OP: &str = "CreateLaunchConfiguration";
        let deadline = Deadline::after(req.timeout);
        let d = &req.desired;
        let name = name_or_generated(d, "name", "name_prefix", &req.idempotency_token, "terraform-");
        let user_data = match (opt_str(d, "user_data"), opt_str(d, "user_data_base64")) {
            (Some(_), Some(_)) => {
                return Err(invalid(
                    AUTOSCALING,
                    OP,
                    "user_data and user_data_base64 cannot both be set",
                ))
            }
            (Some(u), None) => Some(user_data_input(u)),
            (None, b64) => b64.map(str::to_string),
        };
        let groups = str_list(d, "security_groups");
        let call = aws
            .autoscaling
            .create_launch_configuration()
            .launch_configuration_name(&name)
            .set_image_id(opt_str(d, "image_id").map(str::to_string))
            .set_instance_type(opt_str(d, "instance_type").map(str::to_string))
            .set_iam_instance_profile(opt_str(d, "iam_instance_profile").map(str::to_string))
            .set_key_name(opt_str(d, "key_name").map(str::to_string))
            .set_security_groups((!groups.is_empty()).then_some(groups))
            .set_associate_public_ip_address(
                d.get("associate_public_ip_address").and_then(Value::as_bool),
            )
            .set_user_data(user_data)
            .instance_monitoring(
                InstanceMonitoring::builder()
                    .enabled(bool_or(d, "enable_monitoring", true))
                    .build(),
            )
            .set_ebs_optimized(d.get("ebs_optimized").and_then(Value::as_bool))
            .set_placement_tenancy(opt_str(d, "placement_tenancy").map(str::to_string))
            .set_spot_price(opt_str(d, "spot_price").map(str::to_string))
            .set_block_device_mappings(block_devices(d))
            .set_metadata_options(metadata_input(d));
        // An instance profile made a moment ago may not be usable yet.
        let made = retry(&deadline, || async {
            call.clone().send().await.aws(AUTOSCALING, OP).map_err(busy_is_transient)
        })
        .await;
        match made {
            Ok(_) => {}
            // No tags: one of this name is this create's only when it was
            // made after the create's pending record was written.
            Err(e) if has_code(&e, "AlreadyExists") => {
                let existing = describe_one(aws, &name).await?;
                let ours = existing
                    .as_ref()
                    .and_then(|c| c.created_time())
                    .is_some_and(|t| made_by_this_create(t.secs(), req.pending_since.as_deref()));
                if !ours {
                    return Err(invalid(
                        AUTOSCALING,
                        OP,
                        format!(
                            "launch configuration {name:?} already exists and is not in this \
                             stack's state; `stackd import` it, or choose another name \
                             (name_prefix makes a unique one)"
                        ),
                    ));
                }
                tracing::info!(name, "adopting the launch configuration an earlier attempt made");
            }
            Err(e) => return Err(e),
        }
        until(
            &deadline,
            "DescribeLaunchConfigurations",
            &format!("launch configuration {name} to be readable"),
            || async { Ok(describe_one(aws, &name).await?.map(|c| config_attrs(&c, Some(d)))) },
        )
        .await
        .map_err(|e| after_create(&name, e))
    }

    /// A configuration of the same (known) name, the image, the security
    /// groups and the key pair are looked up.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let Some(d) = creating(req) else {
            return Ok(Vec::new());
        };
        let mut findings = Findings::new();
        const ACTION: &str = "autoscaling:DescribeLaunchConfigurations";
        if let Some(name) = known_str(d, "name") {
            if let Some(Some(_)) = findings.read(ACTION, describe_one(aws, name).await)? {
                // No tags: whoever made it, the create would fail.
                findings.name_in_use(
                    req,
                    ACTION,
                    "launch configuration",
                    name,
                    &Default::default(),
                );
            }
        }
        if let Some(ami) = known_str(d, "image_id") {
            find_image(aws, &mut findings, ami).await?;
        }
        if let Some(groups) = known_list(d, "security_groups") {
            check_ec2_refs(aws, &mut findings, Ec2Ref::SecurityGroup, &groups).await?;
        }
        let key = known_str(d, "key_name").filter(|k| !req.plans("aws_key_pair", "key_name", k));
        if let Some(key) = key {
            check_ec2_refs(aws, &mut findings, Ec2Ref::KeyPair, &[key.to_string()]).await?;
        }
        Ok(findings.into_vec())
    }

    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError> {
        // Every argument forces a new configuration: nothing changes in
        // place (a `timeouts` change lands here).
        let name = req
            .id
            .as_deref()
            .ok_or_else(|| invalid(AUTOSCALING, "DescribeLaunchConfigurations", "update without an ID"))?;
        describe_one(aws, name)
            .await?
            .map(|c| config_attrs(&c, Some(&req.desired)))
            .ok_or_else(|| gone(AUTOSCALING, "DescribeLaunchConfigurations", name))
    }

    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError> {
        let deadline = Deadline::after(req.timeout);
        // A group still using it answers ResourceInUse until the group
        // moves to its replacement or goes.
        ignore_missing(
            retry(&deadline, || async {
                aws.autoscaling
                    .delete_launch_configuration()
                    .launch_configuration_name(&req.id)
                    .send()
                    .await
                    .aws(AUTOSCALING, "DeleteLaunchConfiguration")
                    .map(|_| ())
                    .map_err(busy_is_transient)
            })
            .await,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configuration_reads_back_in_schema_shape() {
        let c = LaunchConfiguration::builder()
            .launch_configuration_name("web-20260101")
            .launch_configuration_arn("arn:aws:autoscaling:eu-west-1:1:launchConfiguration:x:launchConfigurationName/web-20260101")
            .image_id("ami-1")
            .instance_type("t3.micro")
            .user_data(aws_smithy_types::base64::encode("#!/bin/sh\necho hi\n"))
            .security_groups("sg-1")
            .block_device_mappings(
                BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(Ebs::builder().volume_size(30).volume_type("gp3").build())
                    .build(),
            )
            .instance_monitoring(InstanceMonitoring::builder().enabled(false).build())
            .build();
        let recorded = Value::map([("name_prefix", Value::from("web-"))]);
        let v = config_attrs(&c, Some(&recorded));
        assert_eq!(v.get("name_prefix"), Some(&Value::from("web-")));
        assert_eq!(
            v.get("user_data"),
            Some(&Value::from(user_data_hash("#!/bin/sh\necho hi\n"))),
            "recorded as the provider does: a digest"
        );
        assert_eq!(v.get("enable_monitoring"), Some(&Value::Bool(false)));
        let root = blocks(&v, "root_block_device");
        assert_eq!(root.len(), 1);
        assert_eq!(root[0].get("volume_size"), Some(&num(30)));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn block_devices_put_the_root_at_the_image_root() {
        let d = Value::map([
            (
                "root_block_device",
                Value::List(vec![Value::map([("volume_size", num(40))])]),
            ),
            (
                "ebs_block_device",
                Value::List(vec![Value::map([
                    ("device_name", Value::from("/dev/sdf")),
                    ("no_device", Value::Bool(true)),
                ])]),
            ),
        ]);
        let m = block_devices(&d).expect("mappings");
        assert_eq!(m[0].device_name(), Some("/dev/xvda"));
        assert_eq!(m[0].ebs().and_then(Ebs::volume_size), Some(40));
        assert_eq!(m[1].no_device(), Some(true));
        assert!(m[1].ebs().is_none());
        assert!(block_devices(&Value::map([("root_block_device", Value::List(vec![]))])).is_none());
    }
}
