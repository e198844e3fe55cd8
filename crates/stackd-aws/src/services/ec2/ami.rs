//! `data.aws_ami`: looks up one AMI by owners, filters and a name pattern.
//!
//! As with the Terraform provider, more than one match is an error unless
//! `most_recent` picks the newest by creation date.

use async_trait::async_trait;
use aws_sdk_ec2::types::{self, Image};
use stackd_engine::provider::{DataRequest, ErrorKind, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{filter_block, filters_from_blocks};
use crate::args::{bool_or, opt_str, s, str_list};
use crate::context::{Aws, Location};
use crate::error::{Ec2Result, EC2};
use crate::policy::{g, ANY};
use crate::services::DataHandler;
use crate::services::DataSource;
use crate::tags::tags_value;

/// String attributes read from the image, by name.
const STRING_ATTRS: [&str; 26] = [
    "architecture",
    "arn",
    "boot_mode",
    "creation_date",
    "deprecation_time",
    "description",
    "hypervisor",
    "image_id",
    "image_location",
    "image_owner_alias",
    "image_type",
    "imds_support",
    "kernel_id",
    "name",
    "owner_id",
    "platform",
    "platform_details",
    "ramdisk_id",
    "root_device_name",
    "root_device_type",
    "root_snapshot_id",
    "sriov_net_support",
    "state",
    "tpm_support",
    "usage_operation",
    "virtualization_type",
];

/// `aws_ami`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_ami",
    schema,
    handler: &Ami,
    grants: &[g(&["ec2:DescribeImages"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    let mut schema = ResourceSchema::data("aws_ami")
        .doc("An Amazon Machine Image.")
        .attr(
            AttrSchema::optional("most_recent", AttrType::Bool)
                .default(false)
                .doc("Pick the newest match when several match."),
        )
        .attr(
            AttrSchema::optional("owners", AttrType::list_of(AttrType::String))
                .doc("Owner account IDs or aliases (`self`, `amazon`, `aws-marketplace`)."),
        )
        .attr(
            AttrSchema::optional("executable_users", AttrType::list_of(AttrType::String))
                .doc("Only images these accounts may launch (`self` for yours)."),
        )
        .attr(
            AttrSchema::optional("name_regex", AttrType::String)
                .doc("A regular expression names must match."),
        )
        .attr(
            AttrSchema::optional("include_deprecated", AttrType::Bool)
                .default(false)
                .doc("Include deprecated images."),
        )
        .block(filter_block());
    for name in STRING_ATTRS {
        schema = schema.attr(AttrSchema::computed(name, AttrType::String));
    }
    schema
        .attr(AttrSchema::computed("ena_support", AttrType::Bool))
        .attr(AttrSchema::computed("public", AttrType::Bool))
        .attr(AttrSchema::computed(
            "tags",
            AttrType::map_of(AttrType::String),
        ))
}

fn image_attrs(loc: &Location, args: &Value, image: &Image) -> Value {
    let id = image.image_id().unwrap_or_default();
    // The snapshot behind the root device, as the Terraform provider finds it.
    let root_snapshot = image
        .block_device_mappings()
        .iter()
        .find(|m| m.device_name().is_some() && m.device_name() == image.root_device_name())
        .and_then(|m| m.ebs())
        .and_then(|e| e.snapshot_id());
    let mut out = args.as_map().cloned().unwrap_or_default();
    let mut put = |k: &str, v: Value| {
        out.insert(k.to_string(), v);
    };
    put("id", s(Some(id)));
    put("image_id", s(Some(id)));
    put(
        "arn",
        Value::from(loc.arn("ec2", "", &format!("image/{id}"))),
    );
    put(
        "architecture",
        s(image.architecture().map(types::ArchitectureValues::as_str)),
    );
    put(
        "boot_mode",
        s(image.boot_mode().map(types::BootModeValues::as_str)),
    );
    put("creation_date", s(image.creation_date()));
    put("deprecation_time", s(image.deprecation_time()));
    put("description", s(image.description()));
    put(
        "hypervisor",
        s(image.hypervisor().map(types::HypervisorType::as_str)),
    );
    put("image_location", s(image.image_location()));
    put("image_owner_alias", s(image.image_owner_alias()));
    put(
        "image_type",
        s(image.image_type().map(types::ImageTypeValues::as_str)),
    );
    put(
        "imds_support",
        s(image.imds_support().map(types::ImdsSupportValues::as_str)),
    );
    put("kernel_id", s(image.kernel_id()));
    put("name", s(image.name()));
    put("owner_id", s(image.owner_id()));
    put(
        "platform",
        s(image.platform().map(types::PlatformValues::as_str)),
    );
    put("platform_details", s(image.platform_details()));
    put("ramdisk_id", s(image.ramdisk_id()));
    put("root_device_name", s(image.root_device_name()));
    put(
        "root_device_type",
        s(image.root_device_type().map(types::DeviceType::as_str)),
    );
    put("root_snapshot_id", s(root_snapshot));
    put("sriov_net_support", s(image.sriov_net_support()));
    put("state", s(image.state().map(types::ImageState::as_str)));
    put(
        "tpm_support",
        s(image.tpm_support().map(types::TpmSupportValues::as_str)),
    );
    put("usage_operation", s(image.usage_operation()));
    put(
        "virtualization_type",
        s(image
            .virtualization_type()
            .map(types::VirtualizationType::as_str)),
    );
    put(
        "ena_support",
        Value::Bool(image.ena_support().unwrap_or(false)),
    );
    put("public", Value::Bool(image.public().unwrap_or(false)));
    put("tags", tags_value(image.tags()));
    Value::Map(out)
}

fn no_match(message: &str) -> ProviderError {
    ProviderError::new(ErrorKind::Permanent, EC2, "DescribeImages", message)
}

/// Applies `name_regex` and `most_recent` to the images found.
fn choose(args: &Value, mut images: Vec<Image>) -> Result<Image, ProviderError> {
    if let Some(pattern) = opt_str(args, "name_regex") {
        let re = regex_lite::Regex::new(pattern).map_err(|e| {
            no_match(&format!(
                "name_regex {pattern:?} is not a valid regular expression: {e}"
            ))
        })?;
        images.retain(|i| i.name().is_some_and(|n| re.is_match(n)));
    }
    if images.is_empty() {
        return Err(no_match(
            "Your query returned no results. Please change your search criteria and try again.",
        ));
    }
    if images.len() > 1 && !bool_or(args, "most_recent", false) {
        return Err(no_match(
            "Your query returned more than one result. Please try more specific search criteria, \
             or set `most_recent` attribute to true.",
        ));
    }
    // Creation dates are ISO 8601 timestamps, so they sort as strings.
    images.sort_by(|a, b| b.creation_date().cmp(&a.creation_date()));
    Ok(images.swap_remove(0))
}

pub(crate) struct Ami;

#[async_trait]
impl DataHandler for Ami {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let filters = filters_from_blocks(args);
        let owners = str_list(args, "owners");
        let users = str_list(args, "executable_users");
        let images = aws
            .ec2
            .describe_images()
            .set_owners((!owners.is_empty()).then_some(owners))
            .set_executable_users((!users.is_empty()).then_some(users))
            .set_filters((!filters.is_empty()).then_some(filters))
            .include_deprecated(bool_or(args, "include_deprecated", false))
            .into_paginator()
            .items()
            .send()
            .collect::<Result<Vec<_>, _>>()
            .await
            .ec2("DescribeImages")?;
        let image = choose(args, images)?;
        Ok(image_attrs(&aws.loc, args, &image))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, name: &str, created: &str) -> Image {
        Image::builder()
            .image_id(id)
            .name(name)
            .creation_date(created)
            .architecture(types::ArchitectureValues::X8664)
            .root_device_name("/dev/xvda")
            .root_device_type(types::DeviceType::Ebs)
            .virtualization_type(types::VirtualizationType::Hvm)
            .owner_id("137112412989")
            .public(true)
            .ena_support(true)
            .block_device_mappings(
                types::BlockDeviceMapping::builder()
                    .device_name("/dev/xvda")
                    .ebs(
                        types::EbsBlockDevice::builder()
                            .snapshot_id("snap-1")
                            .build(),
                    )
                    .build(),
            )
            .build()
    }

    fn args(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().cloned())
    }

    #[test]
    fn most_recent_picks_the_newest_name_match() {
        let images = vec![
            image("ami-1", "al2023-ami-2023.1", "2023-01-01T00:00:00.000Z"),
            image("ami-2", "al2023-ami-2023.3", "2023-03-01T00:00:00.000Z"),
            image("ami-3", "other-2024", "2024-01-01T00:00:00.000Z"),
        ];
        let a = args(&[
            ("most_recent", Value::Bool(true)),
            ("name_regex", Value::from("^al2023-ami-")),
        ]);
        assert_eq!(choose(&a, images).unwrap().image_id(), Some("ami-2"));
    }

    #[test]
    fn ambiguous_or_empty_results_are_errors() {
        let two = vec![
            image("ami-1", "a", "2023-01-01T00:00:00.000Z"),
            image("ami-2", "b", "2023-02-01T00:00:00.000Z"),
        ];
        let err = choose(&args(&[]), two).unwrap_err();
        assert!(
            err.message.contains("more than one result"),
            "{}",
            err.message
        );
        let err = choose(&args(&[]), vec![]).unwrap_err();
        assert!(err.message.contains("no results"), "{}", err.message);
        assert_eq!(err.kind, ErrorKind::Permanent);
    }

    #[test]
    fn image_attributes_are_in_schema_shape() {
        let a = args(&[("owners", Value::from(vec!["amazon"]))]);
        let v = image_attrs(
            &Location::new("us-east-1"),
            &a,
            &image("ami-1", "al2023", "2023-01-01T00:00:00.000Z"),
        );
        assert_eq!(v.get("id"), Some(&Value::from("ami-1")));
        assert_eq!(
            v.get("arn"),
            Some(&Value::from("arn:aws:ec2:us-east-1::image/ami-1"))
        );
        assert_eq!(v.get("architecture"), Some(&Value::from("x86_64")));
        assert_eq!(v.get("root_snapshot_id"), Some(&Value::from("snap-1")));
        assert_eq!(v.get("public"), Some(&Value::Bool(true)));
        assert_eq!(v.get("owners"), Some(&Value::from(vec!["amazon"])));
        for attr in &schema().body.attrs {
            if !attr.is_argument() {
                assert!(v.get(attr.name).is_some(), "{} missing", attr.name);
            }
        }
    }
}
