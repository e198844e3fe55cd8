//! `data.aws_availability_zones`: the availability zones of the region.

use async_trait::async_trait;
use aws_sdk_ec2::types::AvailabilityZone;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::schema::Check;
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::{filter_block, filters_from_blocks};
use crate::args::{bool_or, list, opt_str, set_or_null, str_list};
use crate::context::Aws;
use crate::error::Ec2Result;
use crate::policy::{g, ANY};
use crate::refresh::filter;
use crate::services::DataHandler;
use crate::services::DataSource;

/// `aws_availability_zones`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_availability_zones",
    schema,
    handler: &AvailabilityZones,
    grants: &[g(&["ec2:DescribeAvailabilityZones"], ANY)],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_availability_zones")
        .doc("The availability zones of the provider's region.")
        .attr(
            AttrSchema::optional("all_availability_zones", AttrType::Bool)
                .doc("Include Local Zones and Wavelength Zones whatever their opt-in status."),
        )
        .attr(
            AttrSchema::optional("exclude_names", AttrType::set_of(AttrType::String))
                .doc("Zone names to leave out."),
        )
        .attr(
            AttrSchema::optional("exclude_zone_ids", AttrType::set_of(AttrType::String))
                .doc("Zone IDs to leave out."),
        )
        .attr(
            AttrSchema::optional("state", AttrType::String)
                .check(Check::OneOf(vec![
                    "available",
                    "information",
                    "impaired",
                    "unavailable",
                ]))
                .doc("Only zones in this state."),
        )
        .block(filter_block())
        .attr(
            AttrSchema::computed("names", AttrType::list_of(AttrType::String))
                .doc("Zone names, sorted."),
        )
        .attr(
            AttrSchema::computed("zone_ids", AttrType::list_of(AttrType::String))
                .doc("Zone IDs, in the order of `names`."),
        )
        .attr(
            AttrSchema::computed("group_names", AttrType::set_of(AttrType::String))
                .doc("Zone group names."),
        )
}

/// The result attributes: zones sorted by name, exclusions applied.
fn zones_value(args: &Value, region: &str, mut zones: Vec<AvailabilityZone>) -> Value {
    let exclude_names = str_list(args, "exclude_names");
    let exclude_ids = str_list(args, "exclude_zone_ids");
    zones.retain(|z| {
        !z.zone_name()
            .is_some_and(|n| exclude_names.iter().any(|x| x == n))
            && !z
                .zone_id()
                .is_some_and(|i| exclude_ids.iter().any(|x| x == i))
    });
    zones.sort_by(|a, b| a.zone_name().cmp(&b.zone_name()));
    let names = zones
        .iter()
        .filter_map(|z| z.zone_name().map(str::to_string))
        .collect();
    let zone_ids = zones
        .iter()
        .filter_map(|z| z.zone_id().map(str::to_string))
        .collect();
    let groups = zones
        .iter()
        .filter_map(|z| z.group_name().map(str::to_string))
        .collect();
    let mut out = args.as_map().cloned().unwrap_or_default();
    out.insert("id".into(), Value::from(region));
    out.insert("names".into(), list(names));
    out.insert("zone_ids".into(), list(zone_ids));
    out.insert("group_names".into(), set_or_null(groups));
    Value::Map(out)
}

pub(crate) struct AvailabilityZones;

#[async_trait]
impl DataHandler for AvailabilityZones {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let args = &req.args;
        let mut filters = filters_from_blocks(args);
        if let Some(state) = opt_str(args, "state") {
            filters.push(filter("state", [state]));
        }
        let all = args
            .get("all_availability_zones")
            .is_some_and(|v| !v.is_null());
        let out = aws
            .ec2
            .describe_availability_zones()
            .set_all_availability_zones(all.then(|| bool_or(args, "all_availability_zones", false)))
            .set_filters((!filters.is_empty()).then_some(filters))
            .send()
            .await
            .ec2("DescribeAvailabilityZones")?;
        Ok(zones_value(
            args,
            &aws.loc.region,
            out.availability_zones().to_vec(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(name: &str, id: &str) -> AvailabilityZone {
        AvailabilityZone::builder()
            .zone_name(name)
            .zone_id(id)
            .group_name("eu-west-1")
            .build()
    }

    #[test]
    fn zones_are_sorted_by_name_and_exclusions_applied() {
        let args = Value::map([
            ("state", Value::from("available")),
            ("exclude_zone_ids", Value::from(vec!["euw1-az3"])),
        ]);
        let v = zones_value(
            &args,
            "eu-west-1",
            vec![
                zone("eu-west-1b", "euw1-az1"),
                zone("eu-west-1a", "euw1-az2"),
                zone("eu-west-1c", "euw1-az3"),
            ],
        );
        assert_eq!(v.get("id"), Some(&Value::from("eu-west-1")));
        assert_eq!(
            v.get("names"),
            Some(&Value::from(vec!["eu-west-1a", "eu-west-1b"]))
        );
        assert_eq!(
            v.get("zone_ids"),
            Some(&Value::from(vec!["euw1-az2", "euw1-az1"]))
        );
        assert_eq!(v.get("group_names"), Some(&Value::from(vec!["eu-west-1"])));
        assert_eq!(
            v.get("state"),
            Some(&Value::from("available")),
            "arguments are kept"
        );
    }
}
