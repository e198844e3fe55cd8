//! `data.aws_region`: the provider's region (or a named one), with its
//! EC2 endpoint and description. No API call: the names are known.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ErrorKind, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use crate::args::opt_str;
use crate::context::{Aws, Location};
use crate::services::DataHandler;
use crate::services::DataSource;

/// `aws_region`: its schema, its handler, and the IAM grants of every call
/// it makes (read, dry-run check, create, update, tag, delete).
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_region",
    schema,
    handler: &Region,
    // The provider's own region: no call.
    grants: &[],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_region")
        .doc("A region: the provider's unless one is named.")
        .attr(
            AttrSchema::optional_computed("name", AttrType::String)
                .doc("The region name (deprecated in Terraform 6 for `region`)."),
        )
        .attr(AttrSchema::optional_computed("region", AttrType::String).doc("The region name."))
        .attr(
            AttrSchema::optional_computed("endpoint", AttrType::String)
                .doc("The region's EC2 endpoint host name; selects the region when set."),
        )
        .attr(AttrSchema::computed("description", AttrType::String).doc("e.g. Europe (Ireland)."))
}

/// Region descriptions as the AWS endpoints metadata gives them.
const DESCRIPTIONS: &[(&str, &str)] = &[
    ("af-south-1", "Africa (Cape Town)"),
    ("ap-east-1", "Asia Pacific (Hong Kong)"),
    ("ap-northeast-1", "Asia Pacific (Tokyo)"),
    ("ap-northeast-2", "Asia Pacific (Seoul)"),
    ("ap-northeast-3", "Asia Pacific (Osaka)"),
    ("ap-south-1", "Asia Pacific (Mumbai)"),
    ("ap-south-2", "Asia Pacific (Hyderabad)"),
    ("ap-southeast-1", "Asia Pacific (Singapore)"),
    ("ap-southeast-2", "Asia Pacific (Sydney)"),
    ("ap-southeast-3", "Asia Pacific (Jakarta)"),
    ("ap-southeast-4", "Asia Pacific (Melbourne)"),
    ("ca-central-1", "Canada (Central)"),
    ("ca-west-1", "Canada West (Calgary)"),
    ("cn-north-1", "China (Beijing)"),
    ("cn-northwest-1", "China (Ningxia)"),
    ("eu-central-1", "Europe (Frankfurt)"),
    ("eu-central-2", "Europe (Zurich)"),
    ("eu-north-1", "Europe (Stockholm)"),
    ("eu-south-1", "Europe (Milan)"),
    ("eu-south-2", "Europe (Spain)"),
    ("eu-west-1", "Europe (Ireland)"),
    ("eu-west-2", "Europe (London)"),
    ("eu-west-3", "Europe (Paris)"),
    ("il-central-1", "Israel (Tel Aviv)"),
    ("me-central-1", "Middle East (UAE)"),
    ("me-south-1", "Middle East (Bahrain)"),
    ("sa-east-1", "South America (Sao Paulo)"),
    ("us-east-1", "US East (N. Virginia)"),
    ("us-east-2", "US East (Ohio)"),
    ("us-gov-east-1", "AWS GovCloud (US-East)"),
    ("us-gov-west-1", "AWS GovCloud (US-West)"),
    ("us-west-1", "US West (N. California)"),
    ("us-west-2", "US West (Oregon)"),
];

fn endpoint_of(region: &str) -> String {
    format!("ec2.{region}.{}", Location::new(region).dns_suffix())
}

/// The region the arguments select, or the provider's.
fn select(args: &Value, provider_region: &str) -> Result<String, String> {
    let named = opt_str(args, "region").or_else(|| opt_str(args, "name"));
    if let (Some(a), Some(b)) = (opt_str(args, "region"), opt_str(args, "name")) {
        if a != b {
            return Err(format!("region {a:?} and name {b:?} disagree"));
        }
    }
    let by_endpoint = match opt_str(args, "endpoint") {
        Some(ep) => {
            let host = ep.trim_start_matches("https://").trim_end_matches('/');
            let region = host
                .strip_prefix("ec2.")
                .and_then(|rest| rest.split_once('.'))
                .map(|(r, _)| r.to_string())
                .filter(|r| endpoint_of(r) == host)
                .ok_or_else(|| format!("no region has the EC2 endpoint {ep:?}"))?;
            Some(region)
        }
        None => None,
    };
    match (named, by_endpoint) {
        (Some(n), Some(e)) if n != e => Err(format!(
            "the endpoint of region {e:?} does not belong to region {n:?}"
        )),
        (Some(n), _) => Ok(n.to_string()),
        (None, Some(e)) => Ok(e),
        (None, None) => Ok(provider_region.to_string()),
    }
}

fn region_attrs(region: &str) -> Value {
    let description = DESCRIPTIONS
        .iter()
        .find(|(r, _)| *r == region)
        .map(|(_, d)| Value::from(*d))
        .unwrap_or(Value::Null);
    Value::map([
        ("id", Value::from(region)),
        ("name", Value::from(region)),
        ("region", Value::from(region)),
        ("endpoint", Value::from(endpoint_of(region))),
        ("description", description),
    ])
}

pub(crate) struct Region;

#[async_trait]
impl DataHandler for Region {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let region = select(&req.args, &aws.loc.region).map_err(|m| {
            ProviderError::new(
                ErrorKind::Permanent,
                "ec2",
                "aws_region",
                format!("{}: {m}", req.address),
            )
        })?;
        Ok(region_attrs(&region))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_provider_region_is_the_default() {
        let v = region_attrs(&select(&Value::Null, "eu-west-1").unwrap());
        assert_eq!(v.get("name"), Some(&Value::from("eu-west-1")));
        assert_eq!(v.get("id"), Some(&Value::from("eu-west-1")));
        assert_eq!(v.get("region"), Some(&Value::from("eu-west-1")));
        assert_eq!(
            v.get("endpoint"),
            Some(&Value::from("ec2.eu-west-1.amazonaws.com"))
        );
        assert_eq!(v.get("description"), Some(&Value::from("Europe (Ireland)")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }

    #[test]
    fn a_region_is_selected_by_name_or_endpoint() {
        let by_name = Value::map([("name", Value::from("us-west-2"))]);
        assert_eq!(select(&by_name, "eu-west-1").unwrap(), "us-west-2");
        let by_endpoint =
            Value::map([("endpoint", Value::from("ec2.cn-north-1.amazonaws.com.cn"))]);
        assert_eq!(select(&by_endpoint, "eu-west-1").unwrap(), "cn-north-1");
        let both = Value::map([
            ("region", Value::from("us-east-1")),
            ("endpoint", Value::from("ec2.us-west-2.amazonaws.com")),
        ]);
        assert!(select(&both, "eu-west-1").is_err());
    }
}
