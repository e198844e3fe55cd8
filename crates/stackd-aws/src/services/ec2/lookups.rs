//! Dry-run look-ups of EC2 objects a spec refers to by ID, with the
//! Describe helpers the EC2 types' refreshes use.

use aws_sdk_ec2::types::Image;
use stackd_engine::provider::ProviderError;
use stackd_spec::Value;

use super::{eip, key_pair, security_group, subnet, vpc};
use crate::context::Aws;
use crate::error::Ec2Result;
use crate::preflight::{known_list, Findings};
use crate::refresh::{filter, MAX_FILTER_VALUES};

/// Kinds of EC2 objects a spec refers to by ID (or, for key pairs, name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ec2Ref {
    Vpc,
    Subnet,
    SecurityGroup,
    ElasticIp,
    KeyPair,
}

impl Ec2Ref {
    fn what(self) -> &'static str {
        match self {
            Ec2Ref::Vpc => "VPC",
            Ec2Ref::Subnet => "subnet",
            Ec2Ref::SecurityGroup => "security group",
            Ec2Ref::ElasticIp => "Elastic IP allocation",
            Ec2Ref::KeyPair => "key pair",
        }
    }

    fn operation(self) -> &'static str {
        match self {
            Ec2Ref::Vpc => "DescribeVpcs",
            Ec2Ref::Subnet => "DescribeSubnets",
            Ec2Ref::SecurityGroup => "DescribeSecurityGroups",
            Ec2Ref::ElasticIp => "DescribeAddresses",
            Ec2Ref::KeyPair => "DescribeKeyPairs",
        }
    }

    /// The Describe filter selecting objects by the referenced ID.
    fn filter_name(self) -> &'static str {
        match self {
            Ec2Ref::Vpc => "vpc-id",
            Ec2Ref::Subnet => "subnet-id",
            Ec2Ref::SecurityGroup => "group-id",
            Ec2Ref::ElasticIp => "allocation-id",
            Ec2Ref::KeyPair => "key-name",
        }
    }
}

/// The IDs among `ids` that exist, by a Describe call with an ID *filter*
/// (which, unlike `VpcIds=`-style parameters, does not fail the whole call
/// for one missing ID).
async fn existing_ec2(
    aws: &Aws,
    kind: Ec2Ref,
    ids: &[String],
) -> Result<Vec<String>, ProviderError> {
    let mut found = Vec::new();
    for chunk in ids.chunks(MAX_FILTER_VALUES) {
        let filters = vec![filter(kind.filter_name(), chunk.iter().cloned())];
        // The resource modules' own Describe helpers, as refresh uses them.
        let ids: Vec<Option<String>> = match kind {
            Ec2Ref::Vpc => vpc::describe_vpcs(aws, filters)
                .await?
                .iter()
                .map(|v| v.vpc_id().map(str::to_string))
                .collect(),
            Ec2Ref::Subnet => subnet::describe_subnets(aws, filters)
                .await?
                .iter()
                .map(|s| s.subnet_id().map(str::to_string))
                .collect(),
            Ec2Ref::SecurityGroup => security_group::describe_security_groups(aws, filters)
                .await?
                .iter()
                .map(|g| g.group_id().map(str::to_string))
                .collect(),
            Ec2Ref::ElasticIp => eip::describe_addresses(aws, filters)
                .await?
                .iter()
                .map(|a| a.allocation_id().map(str::to_string))
                .collect(),
            Ec2Ref::KeyPair => key_pair::describe_key_pairs(aws, filters)
                .await?
                .iter()
                .map(|k| k.key_name().map(str::to_string))
                .collect(),
        };
        found.extend(ids.into_iter().flatten());
    }
    Ok(found)
}

/// Reports each of `ids` (known references of one kind) that does not
/// exist. One Describe call for all of them.
pub(crate) async fn check_ec2_refs(
    aws: &Aws,
    findings: &mut Findings,
    kind: Ec2Ref,
    ids: &[String],
) -> Result<(), ProviderError> {
    let mut wanted: Vec<String> = ids.iter().filter(|i| !i.is_empty()).cloned().collect();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Ok(());
    }
    let action = format!("ec2:{}", kind.operation());
    let Some(found) = findings.read(&action, existing_ec2(aws, kind, &wanted).await)? else {
        return Ok(());
    };
    for id in wanted.iter().filter(|id| !found.contains(id)) {
        findings.missing(&action, kind.what(), id, "");
    }
    Ok(())
}

/// Looks the AMI up by ID; `None`, with a `not_found` finding, when it does
/// not exist or is not visible to this account (EC2 answers `InvalidAMIID.*`
/// or an empty list).
pub(crate) async fn find_image(
    aws: &Aws,
    findings: &mut Findings,
    ami: &str,
) -> Result<Option<Image>, ProviderError> {
    const ACTION: &str = "ec2:DescribeImages";
    const DETAIL: &str = " (or is not shared with this account) in this region";
    let answer = aws
        .ec2
        .describe_images()
        .image_ids(ami)
        .send()
        .await
        .ec2("DescribeImages");
    let out = match answer {
        Err(e)
            if e.code
                .as_deref()
                .is_some_and(|c| c.starts_with("InvalidAMIID")) =>
        {
            findings.missing(ACTION, "AMI", ami, DETAIL);
            return Ok(None);
        }
        other => match findings.read(ACTION, other)? {
            Some(out) => out,
            None => return Ok(None),
        },
    };
    match out.images().iter().find(|i| i.image_id() == Some(ami)) {
        Some(image) => Ok(Some(image.clone())),
        None => {
            findings.missing(ACTION, "AMI", ami, DETAIL);
            Ok(None)
        }
    }
}

/// Checks the subnets and security groups of a `network_configuration` or
/// `vpc_config` style block (whichever of them are known).
pub(crate) async fn check_network(
    aws: &Aws,
    findings: &mut Findings,
    block: &Value,
    subnets_key: &str,
    groups_key: &str,
) -> Result<(), ProviderError> {
    if let Some(subnets) = known_list(block, subnets_key) {
        check_ec2_refs(aws, findings, Ec2Ref::Subnet, &subnets).await?;
    }
    if let Some(groups) = known_list(block, groups_key) {
        check_ec2_refs(aws, findings, Ec2Ref::SecurityGroup, &groups).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::preflight::fake;

    #[tokio::test]
    async fn a_missing_ami_is_one_not_found_finding() {
        let (aws, requests) = fake::aws(|_| {
            (
                400,
                fake::ec2_error(
                    "InvalidAMIID.NotFound",
                    "The image id '[ami-0123456789abcdef0]' does not exist",
                ),
            )
        });
        let mut f = Findings::new();
        let image = find_image(&aws, &mut f, "ami-0123456789abcdef0")
            .await
            .unwrap();
        assert!(image.is_none());
        let all = f.into_vec();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].check, "not_found");
        assert_eq!(all[0].operation, "ec2:DescribeImages");
        assert!(
            all[0]
                .message
                .starts_with("AMI ami-0123456789abcdef0 does not exist"),
            "{}",
            all[0].message
        );
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("Action=DescribeImages"), "{}", sent[0]);
    }

    #[tokio::test]
    async fn an_ami_missing_from_an_empty_answer_is_not_found_and_a_present_one_is_returned() {
        let (aws, _) = fake::aws(|_| {
            (
                200,
                "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>r</requestId><imagesSet/></DescribeImagesResponse>"
                    .into(),
            )
        });
        let mut f = Findings::new();
        assert!(find_image(&aws, &mut f, "ami-1").await.unwrap().is_none());
        assert_eq!(f.into_vec()[0].check, "not_found");

        let (aws, _) = fake::aws(|_| {
            (
                200,
                "<DescribeImagesResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>r</requestId><imagesSet><item><imageId>ami-1</imageId>\
                 <rootDeviceName>/dev/xvda</rootDeviceName></item></imagesSet>\
                 </DescribeImagesResponse>"
                    .into(),
            )
        });
        let mut f = Findings::new();
        let image = find_image(&aws, &mut f, "ami-1").await.unwrap().unwrap();
        assert_eq!(image.root_device_name(), Some("/dev/xvda"));
        assert!(f.into_vec().is_empty());
    }

    #[tokio::test]
    async fn missing_subnets_are_found_with_one_filtered_describe() {
        let (aws, requests) = fake::aws(|_| {
            (
                200,
                "<DescribeSubnetsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\">\
                 <requestId>r</requestId><subnetSet><item><subnetId>subnet-a</subnetId></item>\
                 </subnetSet></DescribeSubnetsResponse>"
                    .into(),
            )
        });
        let mut f = Findings::new();
        let ids = vec!["subnet-b".to_string(), "subnet-a".into(), "subnet-b".into()];
        check_ec2_refs(&aws, &mut f, Ec2Ref::Subnet, &ids)
            .await
            .unwrap();
        let all = f.into_vec();
        assert_eq!(all.len(), 1, "{all:?}");
        assert_eq!(all[0].message, "subnet subnet-b does not exist");
        assert_eq!(all[0].operation, "ec2:DescribeSubnets");
        let sent = fake::sent(&requests);
        assert_eq!(sent.len(), 1);
        assert!(sent[0].contains("Filter.1.Name=subnet-id"), "{}", sent[0]);
    }
}
