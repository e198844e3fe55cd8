//! `data.aws_s3_bucket`: a bucket by name (one `HeadBucket` call, which
//! answers its region), with the attributes Terraform computes from the
//! name and region: domain names, hosted zone and website endpoint.

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use super::s3_bucket::{bucket_region, hosted_zone_id, S3};
use super::s3_bucket_website_configuration::website_endpoint_and_domain;
use super::BUCKET;
use crate::context::{Aws, Location};
use crate::iam_util::{invalid, required};
use crate::policy::g;
use crate::services::{DataHandler, DataSource};

/// `data.aws_s3_bucket`: its schema, its handler and the IAM grants of its
/// calls.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_s3_bucket",
    schema,
    handler: &S3BucketData,
    grants: &[g(&["s3:ListBucket"], &[BUCKET])],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_s3_bucket")
        .doc("An S3 bucket, by name.")
        .attr(AttrSchema::required("bucket", AttrType::String))
        .attr(AttrSchema::computed("arn", AttrType::String))
        .attr(AttrSchema::computed("bucket_domain_name", AttrType::String))
        .attr(AttrSchema::computed(
            "bucket_regional_domain_name",
            AttrType::String,
        ))
        .attr(AttrSchema::computed("hosted_zone_id", AttrType::String))
        .attr(AttrSchema::computed("region", AttrType::String))
        .attr(AttrSchema::computed("website_endpoint", AttrType::String))
        .attr(AttrSchema::computed("website_domain", AttrType::String))
}

/// The attributes of a bucket in a region.
fn data_attrs(bucket: &str, region: &str) -> Value {
    let loc = Location::new(region);
    let (endpoint, domain) = website_endpoint_and_domain(bucket, region);
    Value::map([
        ("id", Value::from(bucket)),
        ("bucket", Value::from(bucket)),
        (
            "arn",
            Value::from(format!("arn:{}:s3:::{bucket}", loc.partition)),
        ),
        (
            "bucket_domain_name",
            Value::from(format!("{bucket}.s3.{}", loc.dns_suffix())),
        ),
        (
            "bucket_regional_domain_name",
            Value::from(format!("{bucket}.s3.{region}.{}", loc.dns_suffix())),
        ),
        ("hosted_zone_id", hosted_zone_id(region)),
        ("region", Value::from(region)),
        ("website_endpoint", Value::from(endpoint)),
        ("website_domain", Value::from(domain)),
    ])
}

pub(crate) struct S3BucketData;

#[async_trait]
impl DataHandler for S3BucketData {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let bucket = required(&req.args, "bucket", S3, "HeadBucket")?;
        match bucket_region(aws, bucket).await? {
            Some(region) => Ok(data_attrs(bucket, &region)),
            None => Err(invalid(
                S3,
                "HeadBucket",
                format!("no S3 bucket named {bucket:?} (or it is not visible to these credentials)"),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_follow_the_region() {
        let v = data_attrs("assets", "eu-west-1");
        assert_eq!(
            v.get("bucket_regional_domain_name"),
            Some(&Value::from("assets.s3.eu-west-1.amazonaws.com"))
        );
        assert_eq!(
            v.get("website_endpoint"),
            Some(&Value::from("assets.s3-website-eu-west-1.amazonaws.com"))
        );
        assert_eq!(v.get("hosted_zone_id"), Some(&Value::from("Z1BKCTXD74EZPE")));
        for a in &schema().body.attrs {
            assert!(v.get(a.name).is_some(), "{} missing", a.name);
        }
    }
}
