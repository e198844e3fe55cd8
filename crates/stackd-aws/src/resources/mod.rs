//! The resource types and data sources the provider serves: one module per
//! type, listed in the two tables below. Adding a type means one new file
//! and one line here.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DataRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{ResourceSchema, SchemaSet, Value};

use crate::context::Aws;

mod ami;
mod availability_zones;
mod caller_identity;
mod cloudwatch_log_group;
mod codebuild_project;
mod codepipeline;
mod ecr_lifecycle_policy;
mod ecr_repository;
mod ecs_cluster;
mod ecs_cluster_capacity_providers;
mod ecs_service;
mod ecs_task_definition;
pub(crate) mod eip;
mod iam_instance_profile;
mod iam_policy;
mod iam_policy_document;
mod iam_role;
mod iam_role_policy;
mod iam_role_policy_attachment;
mod instance;
mod internet_gateway;
pub(crate) mod key_pair;
mod lb;
mod lb_listener;
mod lb_listener_rule;
mod lb_target_group;
mod nat_gateway;
mod region;
mod route;
mod route_table;
mod route_table_association;
mod s3_bucket;
mod s3_bucket_lifecycle_configuration;
mod s3_bucket_public_access_block;
mod s3_bucket_versioning;
pub(crate) mod security_group;
mod security_group_rule;
mod ssm_parameter;
mod ssm_parameter_data;
pub(crate) mod subnet;
mod terraform_remote_state;
pub(crate) mod vpc;

/// How one managed resource type is read and changed. Mirrors the engine's
/// [`stackd_engine::provider::Provider`] methods for a single type.
#[async_trait]
pub(crate) trait ResourceHandler: Send + Sync {
    async fn refresh(
        &self,
        aws: &Aws,
        req: &RefreshRequest,
    ) -> Result<Vec<LiveResource>, ProviderError>;
    async fn create(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError>;
    async fn update(&self, aws: &Aws, req: &ChangeRequest) -> Result<Value, ProviderError>;
    async fn delete(&self, aws: &Aws, req: &DeleteRequest) -> Result<(), ProviderError>;
    /// Finds the object an earlier attempt of this create made (see
    /// [`stackd_engine::provider::Provider::find_created`]). Every type whose
    /// create is an anonymous create ([`crate::transport::is_anonymous_create`])
    /// must implement it; the default finds nothing.
    async fn find_created(
        &self,
        aws: &Aws,
        req: &ChangeRequest,
    ) -> Result<Option<Value>, ProviderError> {
        let _ = (aws, req);
        Ok(None)
    }
    /// Checks a planned change without making it (`apply --dry-run`): only
    /// reads and EC2 `DryRun=true` calls. The default checks nothing.
    async fn check(&self, aws: &Aws, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let _ = (aws, req);
        Ok(Vec::new())
    }
}

/// How one data source is read.
#[async_trait]
pub(crate) trait DataHandler: Send + Sync {
    async fn read(&self, aws: &Aws, req: &DataRequest) -> Result<Value, ProviderError>;
}

/// A managed resource type.
pub(crate) struct ResourceType {
    pub name: &'static str,
    pub schema: fn() -> ResourceSchema,
    pub handler: &'static dyn ResourceHandler,
}

/// A data source.
pub(crate) struct DataSource {
    pub name: &'static str,
    pub schema: fn() -> ResourceSchema,
    pub handler: &'static dyn DataHandler,
}

/// Every managed resource type.
pub(crate) static RESOURCES: &[ResourceType] = &[
    ResourceType {
        name: "aws_lb",
        schema: lb::schema,
        handler: &lb::Lb,
    },
    ResourceType {
        name: "aws_lb_target_group",
        schema: lb_target_group::schema,
        handler: &lb_target_group::LbTargetGroup,
    },
    ResourceType {
        name: "aws_lb_listener",
        schema: lb_listener::schema,
        handler: &lb_listener::LbListener,
    },
    ResourceType {
        name: "aws_lb_listener_rule",
        schema: lb_listener_rule::schema,
        handler: &lb_listener_rule::LbListenerRule,
    },
    ResourceType {
        name: "aws_ecs_cluster",
        schema: ecs_cluster::schema,
        handler: &ecs_cluster::EcsCluster,
    },
    ResourceType {
        name: "aws_ecs_cluster_capacity_providers",
        schema: ecs_cluster_capacity_providers::schema,
        handler: &ecs_cluster_capacity_providers::EcsClusterCapacityProviders,
    },
    ResourceType {
        name: "aws_ecs_task_definition",
        schema: ecs_task_definition::schema,
        handler: &ecs_task_definition::EcsTaskDefinition,
    },
    ResourceType {
        name: "aws_ecs_service",
        schema: ecs_service::schema,
        handler: &ecs_service::EcsService,
    },
    ResourceType {
        name: "aws_vpc",
        schema: vpc::schema,
        handler: &vpc::Vpc,
    },
    ResourceType {
        name: "aws_subnet",
        schema: subnet::schema,
        handler: &subnet::Subnet,
    },
    ResourceType {
        name: "aws_internet_gateway",
        schema: internet_gateway::schema,
        handler: &internet_gateway::InternetGateway,
    },
    ResourceType {
        name: "aws_eip",
        schema: eip::schema,
        handler: &eip::Eip,
    },
    ResourceType {
        name: "aws_nat_gateway",
        schema: nat_gateway::schema,
        handler: &nat_gateway::NatGateway,
    },
    ResourceType {
        name: "aws_route_table",
        schema: route_table::schema,
        handler: &route_table::RouteTable,
    },
    ResourceType {
        name: "aws_route",
        schema: route::schema,
        handler: &route::Route,
    },
    ResourceType {
        name: "aws_route_table_association",
        schema: route_table_association::schema,
        handler: &route_table_association::RouteTableAssociation,
    },
    ResourceType {
        name: "aws_security_group",
        schema: security_group::schema,
        handler: &security_group::SecurityGroup,
    },
    ResourceType {
        name: "aws_security_group_rule",
        schema: security_group_rule::schema,
        handler: &security_group_rule::SecurityGroupRule,
    },
    ResourceType {
        name: "aws_codebuild_project",
        schema: codebuild_project::schema,
        handler: &codebuild_project::CodebuildProject,
    },
    ResourceType {
        name: "aws_iam_role",
        schema: iam_role::schema,
        handler: &iam_role::IamRole,
    },
    ResourceType {
        name: "aws_iam_role_policy",
        schema: iam_role_policy::schema,
        handler: &iam_role_policy::IamRolePolicy,
    },
    ResourceType {
        name: "aws_iam_role_policy_attachment",
        schema: iam_role_policy_attachment::schema,
        handler: &iam_role_policy_attachment::IamRolePolicyAttachment,
    },
    ResourceType {
        name: "aws_iam_policy",
        schema: iam_policy::schema,
        handler: &iam_policy::IamPolicy,
    },
    ResourceType {
        name: "aws_iam_instance_profile",
        schema: iam_instance_profile::schema,
        handler: &iam_instance_profile::IamInstanceProfile,
    },
    ResourceType {
        name: "aws_codepipeline",
        schema: codepipeline::schema,
        handler: &codepipeline::Codepipeline,
    },
    ResourceType {
        name: "aws_key_pair",
        schema: key_pair::schema,
        handler: &key_pair::KeyPair,
    },
    ResourceType {
        name: "aws_instance",
        schema: instance::schema,
        handler: &instance::Instance,
    },
    ResourceType {
        name: "aws_cloudwatch_log_group",
        schema: cloudwatch_log_group::schema,
        handler: &cloudwatch_log_group::CloudwatchLogGroup,
    },
    ResourceType {
        name: "aws_s3_bucket",
        schema: s3_bucket::schema,
        handler: &s3_bucket::S3Bucket,
    },
    ResourceType {
        name: "aws_s3_bucket_versioning",
        schema: s3_bucket_versioning::schema,
        handler: &s3_bucket_versioning::S3BucketVersioning,
    },
    ResourceType {
        name: "aws_s3_bucket_lifecycle_configuration",
        schema: s3_bucket_lifecycle_configuration::schema,
        handler: &s3_bucket_lifecycle_configuration::S3BucketLifecycleConfiguration,
    },
    ResourceType {
        name: "aws_s3_bucket_public_access_block",
        schema: s3_bucket_public_access_block::schema,
        handler: &s3_bucket_public_access_block::S3BucketPublicAccessBlock,
    },
    ResourceType {
        name: "aws_ecr_repository",
        schema: ecr_repository::schema,
        handler: &ecr_repository::EcrRepository,
    },
    ResourceType {
        name: "aws_ecr_lifecycle_policy",
        schema: ecr_lifecycle_policy::schema,
        handler: &ecr_lifecycle_policy::EcrLifecyclePolicy,
    },
    ResourceType {
        name: "aws_ssm_parameter",
        schema: ssm_parameter::schema,
        handler: &ssm_parameter::SsmParameter,
    },
];

/// Every data source.
pub(crate) static DATA_SOURCES: &[DataSource] = &[
    DataSource {
        name: "aws_availability_zones",
        schema: availability_zones::schema,
        handler: &availability_zones::AvailabilityZones,
    },
    DataSource {
        name: "aws_ami",
        schema: ami::schema,
        handler: &ami::Ami,
    },
    DataSource {
        name: "aws_iam_policy_document",
        schema: iam_policy_document::schema,
        handler: &iam_policy_document::IamPolicyDocument,
    },
    DataSource {
        name: "aws_caller_identity",
        schema: caller_identity::schema,
        handler: &caller_identity::CallerIdentity,
    },
    DataSource {
        name: "aws_region",
        schema: region::schema,
        handler: &region::Region,
    },
    DataSource {
        name: "aws_ssm_parameter",
        schema: ssm_parameter_data::schema,
        handler: &ssm_parameter_data::SsmParameterData,
    },
    DataSource {
        name: "terraform_remote_state",
        schema: terraform_remote_state::schema,
        handler: &terraform_remote_state::TerraformRemoteState,
    },
];

pub(crate) fn resource(name: &str) -> Option<&'static ResourceType> {
    RESOURCES.iter().find(|r| r.name == name)
}

pub(crate) fn data_source(name: &str) -> Option<&'static DataSource> {
    DATA_SOURCES.iter().find(|d| d.name == name)
}

/// The `filter { name = ..., values = [...] }` block of EC2 data sources.
pub(crate) fn filter_block() -> stackd_spec::BlockSchema {
    use stackd_spec::schema::Nesting;
    use stackd_spec::{AttrSchema, AttrType, BlockSchema};
    BlockSchema::new("filter", Nesting::Set)
        .attr(AttrSchema::required("name", AttrType::String))
        .attr(AttrSchema::required(
            "values",
            AttrType::set_of(AttrType::String),
        ))
}

/// The `filter` blocks of data source arguments as EC2 filters.
pub(crate) fn filters_from_blocks(args: &Value) -> Vec<aws_sdk_ec2::types::Filter> {
    crate::args::blocks(args, "filter")
        .iter()
        .filter_map(|b| {
            let name = crate::args::opt_str(b, "name")?;
            Some(crate::refresh::filter(
                name,
                crate::args::str_list(b, "values"),
            ))
        })
        .collect()
}

/// The schemas of every type in the tables.
pub(crate) fn schema_set() -> SchemaSet {
    SchemaSet::new(
        RESOURCES
            .iter()
            .map(|r| (r.schema)())
            .chain(DATA_SOURCES.iter().map(|d| (d.schema)()))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_spec::schema::Nesting;
    use stackd_spec::Mode;

    #[test]
    fn table_names_match_schema_names_and_modes() {
        for r in RESOURCES {
            let s = (r.schema)();
            assert_eq!(s.type_name, r.name);
            assert_eq!(s.mode, Mode::Managed, "{}", r.name);
        }
        for d in DATA_SOURCES {
            let s = (d.schema)();
            assert_eq!(s.type_name, d.name);
            assert_eq!(s.mode, Mode::Data, "{}", d.name);
        }
    }

    #[test]
    fn no_schema_declares_an_attribute_twice() {
        fn check(block: &stackd_spec::BlockSchema, path: &str) {
            let mut names: Vec<&str> = block.attrs.iter().map(|a| a.name).collect();
            names.extend(block.blocks.iter().map(|b| b.name));
            let mut sorted = names.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(
                sorted.len(),
                names.len(),
                "duplicate names in {path}: {names:?}"
            );
            for b in &block.blocks {
                assert!(b.nesting != Nesting::Single || b.max_items == Some(1));
                check(b, &format!("{path}.{}", b.name));
            }
        }
        for s in schema_set().schemas {
            check(&s.body, s.type_name);
        }
    }

    #[test]
    fn every_argument_default_has_the_attribute_type() {
        for s in schema_set().schemas {
            for a in &s.body.attrs {
                if let Some(d) = &a.default {
                    let ok = matches!(
                        (&a.ty, d),
                        (stackd_spec::AttrType::Bool, Value::Bool(_))
                            | (stackd_spec::AttrType::String, Value::String(_))
                            | (stackd_spec::AttrType::Number, Value::Number(_))
                    );
                    assert!(ok, "{}.{} default {d}", s.type_name, a.name);
                }
            }
        }
    }
}
