//! What every resource handler works with: the service clients and where
//! they point (region, partition), for building ARNs and DNS names.

/// The region and its partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Location {
    pub region: String,
    /// `aws`, `aws-cn`, `aws-us-gov`...
    pub partition: &'static str,
}

impl Location {
    pub fn new(region: impl Into<String>) -> Location {
        let region = region.into();
        let partition = partition_of(&region);
        Location { region, partition }
    }

    /// `arn:<partition>:<service>:<region>:<account>:<resource>`.
    pub fn arn(&self, service: &str, account: &str, resource: &str) -> String {
        format!(
            "arn:{}:{service}:{}:{account}:{resource}",
            self.partition, self.region
        )
    }

    /// An EC2 ARN, or `None` when the owning account is not known.
    pub fn ec2_arn(&self, account: Option<&str>, resource: &str) -> Option<String> {
        account
            .filter(|a| !a.is_empty())
            .map(|account| self.arn("ec2", account, resource))
    }

    /// The partition's DNS suffix.
    pub fn dns_suffix(&self) -> &'static str {
        match self.partition {
            "aws-cn" => "amazonaws.com.cn",
            "aws-iso" => "c2s.ic.gov",
            "aws-iso-b" => "sc2s.sgov.gov",
            _ => "amazonaws.com",
        }
    }

    /// EC2's public DNS name for a public IP, as the Terraform provider
    /// computes it for `aws_eip.public_dns`.
    pub fn public_dns_for_ip(&self, ip: &str) -> String {
        let dashed = ip.replace('.', "-");
        if self.region == "us-east-1" {
            format!("ec2-{dashed}.compute-1.{}", self.dns_suffix())
        } else {
            format!("ec2-{dashed}.{}.compute.{}", self.region, self.dns_suffix())
        }
    }

    /// EC2's private DNS name for a private IP.
    pub fn private_dns_for_ip(&self, ip: &str) -> String {
        let dashed = ip.replace('.', "-");
        if self.region == "us-east-1" {
            format!("ip-{dashed}.ec2.internal")
        } else {
            format!("ip-{dashed}.{}.compute.internal", self.region)
        }
    }
}

fn partition_of(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else if region.starts_with("us-isob-") {
        "aws-iso-b"
    } else if region.starts_with("us-iso-") {
        "aws-iso"
    } else {
        "aws"
    }
}

/// The clients and location handlers use. Building a client makes no
/// network call.
#[derive(Clone, Debug)]
pub(crate) struct Aws {
    pub ec2: aws_sdk_ec2::Client,
    pub ecs: aws_sdk_ecs::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub ecr: aws_sdk_ecr::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub s3: aws_sdk_s3::Client,
    pub codebuild: aws_sdk_codebuild::Client,
    pub codepipeline: aws_sdk_codepipeline::Client,
    pub ssm: aws_sdk_ssm::Client,
    pub appautoscaling: aws_sdk_applicationautoscaling::Client,
    pub cloudwatch: aws_sdk_cloudwatch::Client,
    pub route53: aws_sdk_route53::Client,
    pub acm: aws_sdk_acm::Client,
    pub secretsmanager: aws_sdk_secretsmanager::Client,
    pub sns: aws_sdk_sns::Client,
    pub sqs: aws_sdk_sqs::Client,
    pub rds: aws_sdk_rds::Client,
    pub autoscaling: aws_sdk_autoscaling::Client,
    pub cloudtrail: aws_sdk_cloudtrail::Client,
    pub servicediscovery: aws_sdk_servicediscovery::Client,
    pub events: aws_sdk_eventbridge::Client,
    pub kms: aws_sdk_kms::Client,
    pub codedeploy: aws_sdk_codedeploy::Client,
    pub codestarconnections: aws_sdk_codestarconnections::Client,
    pub ecrpublic: aws_sdk_ecrpublic::Client,
    /// The Resource Groups Tagging API: the tags of many objects of a type
    /// in one call chain.
    pub tagging: aws_sdk_resourcegroupstagging::Client,
    pub loc: Location,
    /// The root module's directory, when the caller knows it: relative
    /// paths that reach the provider (`terraform_remote_state`'s local
    /// `path`) are read against it, never against the process's working
    /// directory.
    pub root_dir: Option<std::path::PathBuf>,
    /// The caller's identity (ARN, account ID), looked up once on first use
    /// (ARNs need the account; the lock and journal name the caller).
    identity: std::sync::Arc<tokio::sync::OnceCell<crate::CallerIdentity>>,
    /// Every IAM role's details, read once for the refreshes that ask at
    /// the same time ([`crate::services::iam::account::role_details`]).
    pub role_details: std::sync::Arc<
        crate::concurrent::SingleFlight<
            std::collections::HashMap<String, aws_sdk_iam::types::RoleDetail>,
        >,
    >,
}

/// Builds one service client from the shared SDK configuration, with the
/// call log interceptor when `STACKD_AWS_CALL_LOG` is set.
macro_rules! client {
    ($sdk:ident, $config:expr, $service:literal) => {{
        let mut builder = $sdk::config::Builder::from($config);
        if let Some(log) = crate::call_log::CallLog::from_env($service) {
            builder = builder.interceptor(log);
        }
        builder = builder.interceptor(crate::transport::NoBlindResend);
        builder = builder.interceptor(crate::pace::Tag($service));
        crate::transport::record_endpoint(
            $service,
            $config.endpoint_url(),
            $config.region().map(|r| r.as_ref()).unwrap_or("us-east-1"),
        );
        $sdk::Client::from_conf(builder.build())
    }};
    // A service whose API lives in one region only, whatever the provider's.
    ($sdk:ident, $config:expr, $service:literal, region = $region:literal) => {{
        let mut builder = $sdk::config::Builder::from($config);
        builder = builder.region($sdk::config::Region::new($region));
        if let Some(log) = crate::call_log::CallLog::from_env($service) {
            builder = builder.interceptor(log);
        }
        builder = builder.interceptor(crate::transport::NoBlindResend);
        builder = builder.interceptor(crate::pace::Tag($service));
        crate::transport::record_endpoint($service, $config.endpoint_url(), $region);
        $sdk::Client::from_conf(builder.build())
    }};
}

impl Aws {
    pub fn new(config: &aws_config::SdkConfig, region: String) -> Aws {
        Aws {
            ec2: client!(aws_sdk_ec2, config, "ec2"),
            ecs: client!(aws_sdk_ecs, config, "ecs"),
            elbv2: client!(
                aws_sdk_elasticloadbalancingv2,
                config,
                "elasticloadbalancing"
            ),
            ecr: client!(aws_sdk_ecr, config, "ecr"),
            iam: client!(aws_sdk_iam, config, "iam"),
            sts: client!(aws_sdk_sts, config, "sts"),
            logs: client!(aws_sdk_cloudwatchlogs, config, "logs"),
            s3: client!(aws_sdk_s3, config, "s3"),
            codebuild: client!(aws_sdk_codebuild, config, "codebuild"),
            codepipeline: client!(aws_sdk_codepipeline, config, "codepipeline"),
            ssm: client!(aws_sdk_ssm, config, "ssm"),
            appautoscaling: client!(
                aws_sdk_applicationautoscaling,
                config,
                "application-autoscaling"
            ),
            cloudwatch: client!(aws_sdk_cloudwatch, config, "cloudwatch"),
            route53: client!(aws_sdk_route53, config, "route53"),
            acm: client!(aws_sdk_acm, config, "acm"),
            secretsmanager: client!(aws_sdk_secretsmanager, config, "secretsmanager"),
            sns: client!(aws_sdk_sns, config, "sns"),
            sqs: client!(aws_sdk_sqs, config, "sqs"),
            rds: client!(aws_sdk_rds, config, "rds"),
            autoscaling: client!(aws_sdk_autoscaling, config, "autoscaling"),
            cloudtrail: client!(aws_sdk_cloudtrail, config, "cloudtrail"),
            servicediscovery: client!(aws_sdk_servicediscovery, config, "servicediscovery"),
            events: client!(aws_sdk_eventbridge, config, "events"),
            kms: client!(aws_sdk_kms, config, "kms"),
            codedeploy: client!(aws_sdk_codedeploy, config, "codedeploy"),
            codestarconnections: client!(
                aws_sdk_codestarconnections,
                config,
                "codestar-connections"
            ),
            // ECR Public's API is served from us-east-1 only (its
            // repositories are global); Terraform users point a provider
            // alias there, stackd sends there whatever the stack's region.
            ecrpublic: client!(
                aws_sdk_ecrpublic,
                config,
                "ecr-public",
                region = "us-east-1"
            ),
            tagging: client!(aws_sdk_resourcegroupstagging, config, "tag"),
            loc: Location::new(region),
            root_dir: None,
            identity: std::sync::Arc::new(tokio::sync::OnceCell::new()),
            role_details: std::sync::Arc::default(),
        }
    }

    /// A copy whose S3 client sends to `region` (a bucket outside the
    /// provider's region); every other client and setting is kept.
    pub fn with_s3_region(&self, region: &str) -> Aws {
        let mut out = self.clone();
        if self.s3.config().region().map(|r| r.as_ref()) != Some(region) {
            let config = self
                .s3
                .config()
                .to_builder()
                .region(aws_sdk_s3::config::Region::new(region.to_string()))
                .build();
            out.s3 = aws_sdk_s3::Client::from_conf(config);
        }
        out
    }

    /// Who the caller is (STS GetCallerIdentity, once per process).
    pub async fn identity(
        &self,
    ) -> Result<&crate::CallerIdentity, stackd_engine::provider::ProviderError> {
        self.identity
            .get_or_try_init(|| async {
                let out = self
                    .sts
                    .get_caller_identity()
                    .send()
                    .await
                    .map_err(|e| crate::error::from_sdk("sts", "GetCallerIdentity", e))?;
                Ok(crate::CallerIdentity {
                    arn: out.arn().unwrap_or_default().to_string(),
                    account: out.account().unwrap_or_default().to_string(),
                    user_id: out.user_id().unwrap_or_default().to_string(),
                })
            })
            .await
    }

    /// The account ID of the caller.
    pub async fn account_id(&self) -> Result<String, stackd_engine::provider::ProviderError> {
        Ok(self.identity().await?.account.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_follow_the_partition() {
        assert_eq!(
            Location::new("eu-west-1").arn("ec2", "123", "vpc/vpc-1"),
            "arn:aws:ec2:eu-west-1:123:vpc/vpc-1"
        );
        assert_eq!(Location::new("cn-north-1").partition, "aws-cn");
        assert_eq!(Location::new("us-gov-west-1").partition, "aws-us-gov");
        assert_eq!(Location::new("us-east-1").ec2_arn(None, "vpc/x"), None);
    }

    #[test]
    fn dns_names_match_ec2s() {
        let us = Location::new("us-east-1");
        assert_eq!(
            us.public_dns_for_ip("1.2.3.4"),
            "ec2-1-2-3-4.compute-1.amazonaws.com"
        );
        assert_eq!(
            us.private_dns_for_ip("10.0.0.5"),
            "ip-10-0-0-5.ec2.internal"
        );
        let eu = Location::new("eu-west-1");
        assert_eq!(
            eu.public_dns_for_ip("1.2.3.4"),
            "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com"
        );
        assert_eq!(
            eu.private_dns_for_ip("10.0.0.5"),
            "ip-10-0-0-5.eu-west-1.compute.internal"
        );
    }
}
