//! `data.aws_elb_service_account`: the account Elastic Load Balancing
//! writes access logs from in a region, for S3 bucket policies. No API
//! call: AWS publishes the accounts (load balancer access logs guide).

use async_trait::async_trait;
use stackd_engine::provider::{DataRequest, ProviderError};
use stackd_spec::{AttrSchema, AttrType, ResourceSchema, Value};

use crate::args::opt_str;
use crate::context::{Aws, Location};
use crate::iam_util::invalid;
use crate::services::{DataHandler, DataSource};

/// `data.aws_elb_service_account`: its schema and handler; no call.
pub(crate) static DATA: DataSource = DataSource {
    name: "aws_elb_service_account",
    schema,
    handler: &ElbServiceAccount,
    grants: &[],
    source: file!(),
};

pub(crate) fn schema() -> ResourceSchema {
    ResourceSchema::data("aws_elb_service_account")
        .doc("The Elastic Load Balancing account of a region, for access log bucket policies.")
        .attr(
            AttrSchema::optional("region", AttrType::String)
                .doc("The region; the provider's when unset."),
        )
        .attr(AttrSchema::computed("arn", AttrType::String).doc("arn:…:iam::ACCOUNT:root."))
}

/// Regions and their Elastic Load Balancing account, as AWS publishes them.
/// Regions opened after August 2022 have none: their log buckets grant the
/// `logdelivery.elasticloadbalancing.amazonaws.com` service instead.
const ACCOUNTS: &[(&str, &str)] = &[
    ("af-south-1", "098369216593"),
    ("ap-east-1", "754344448648"),
    ("ap-northeast-1", "582318560864"),
    ("ap-northeast-2", "600734575887"),
    ("ap-northeast-3", "383597477331"),
    ("ap-south-1", "718504428378"),
    ("ap-southeast-1", "114774131450"),
    ("ap-southeast-2", "783225319266"),
    ("ap-southeast-3", "589379963580"),
    ("ca-central-1", "985666609251"),
    ("cn-north-1", "638102146993"),
    ("cn-northwest-1", "037604701340"),
    ("eu-central-1", "054676820928"),
    ("eu-north-1", "897822967062"),
    ("eu-south-1", "635631232127"),
    ("eu-west-1", "156460612806"),
    ("eu-west-2", "652711504416"),
    ("eu-west-3", "009996457667"),
    ("me-south-1", "076674570225"),
    ("sa-east-1", "507241528517"),
    ("us-east-1", "127311923021"),
    ("us-east-2", "033677994240"),
    ("us-gov-east-1", "190560391635"),
    ("us-gov-west-1", "048591011584"),
    ("us-west-1", "027434742980"),
    ("us-west-2", "797873946194"),
];

fn account_attrs(region: &str) -> Option<Value> {
    let (_, account) = ACCOUNTS.iter().find(|(r, _)| *r == region)?;
    let partition = Location::new(region).partition;
    Some(Value::map([
        ("id", Value::from(*account)),
        ("region", Value::from(region)),
        ("arn", Value::from(format!("arn:{partition}:iam::{account}:root"))),
    ]))
}

pub(crate) struct ElbServiceAccount;

#[async_trait]
impl DataHandler for ElbServiceAccount {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError> {
        let region = opt_str(&req.args, "region").unwrap_or(&aws.loc.region);
        account_attrs(region).ok_or_else(|| {
            invalid(
                "elasticloadbalancing",
                "ElbServiceAccount",
                format!(
                    "region {region:?} has no Elastic Load Balancing account: grant the \
                     logdelivery.elasticloadbalancing.amazonaws.com service in the bucket policy"
                ),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_iam_roots_in_the_regions_partition() {
        let v = account_attrs("us-east-1").unwrap();
        assert_eq!(v.get("arn"), Some(&Value::from("arn:aws:iam::127311923021:root")));
        let cn = account_attrs("cn-north-1").unwrap();
        assert_eq!(cn.get("arn"), Some(&Value::from("arn:aws-cn:iam::638102146993:root")));
        assert!(account_attrs("eu-central-2").is_none());
    }
}
