//! The AWS provider's services and the types they serve.
//!
//! Each service is a directory: its `mod.rs` holds the [`Service`]
//! definition (which `Aws` client it calls, its IAM prefix, its ARN
//! patterns), and each resource type or data source is one file exporting one
//! descriptor ([`ManagedType`] or [`DataSource`]) with everything about the
//! type: Terraform's schema, the handler, and the IAM grants of every call
//! it makes. The registry is the `types!` line of each service's
//! `mod.rs`, one name per type. Adding a type to a service is one file and
//! its name there; a new service is one directory,
//! a client field in `context.rs` and its SDK crate in the Cargo files.

use async_trait::async_trait;
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DataRequest, DeleteRequest, Finding, LiveResource, ProviderError,
    RefreshRequest,
};
use stackd_spec::{ResourceSchema, SchemaSet, Value};

use crate::context::Aws;
use crate::policy::{ArnPattern, Grant};

/// Declares a service's types, one line each: their modules, and the
/// `MANAGED` and `DATA` lists its [`Service`] definition holds.
macro_rules! types {
    (managed: [$($m:ident),* $(,)?], data: [$($d:ident),* $(,)?] $(,)?) => {
        $(pub(crate) mod $m;)*
        $(pub(crate) mod $d;)*
        /// The service's managed resource types.
        pub(crate) static MANAGED: &[&crate::services::ManagedType] = &[$(&$m::TYPE),*];
        /// The service's data sources.
        pub(crate) static DATA: &[&crate::services::DataSource] = &[$(&$d::DATA),*];
    };
}

pub(crate) mod acm;
pub(crate) mod appautoscaling;
pub(crate) mod autoscaling;
pub(crate) mod cloudtrail;
pub(crate) mod cloudwatch;
pub(crate) mod codebuild;
pub(crate) mod codedeploy;
pub(crate) mod codepipeline;
pub(crate) mod codestarconnections;
pub(crate) mod durations;
pub(crate) mod ec2;
pub(crate) mod ecr;
pub(crate) mod ecrpublic;
pub(crate) mod ecs;
pub(crate) mod elbv2;
pub(crate) mod events;
pub(crate) mod iam;
pub(crate) mod kms;
pub(crate) mod logs;
pub(crate) mod rds;
pub(crate) mod route53;
pub(crate) mod s3;
pub(crate) mod secretsmanager;
pub(crate) mod servicediscovery;
pub(crate) mod sns;
pub(crate) mod sqs;
pub(crate) mod ssm;
pub(crate) mod sts;
pub(crate) mod tagging;

/// An AWS service as the provider uses it. The policy tests read `client`,
/// `iam_prefix` and `arns`.
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) struct Service {
    /// Its resource types, declared with `types!` in its `mod.rs`.
    pub managed: &'static [&'static ManagedType],
    /// Its data sources.
    pub data: &'static [&'static DataSource],
    /// The field of [`Aws`] holding its SDK client (`elbv2`).
    pub client: &'static str,
    /// The service prefix of its IAM actions (`elasticloadbalancing`).
    pub iam_prefix: &'static str,
    /// Error codes it answers for an object that does not exist, beyond
    /// the `…NotFound` codes every service uses.
    pub not_found: &'static [&'static str],
    /// The ARN patterns its types' grants use.
    pub arns: &'static [ArnPattern],
}

/// True when some service answers `code` for an object that does not
/// exist (`NoSuchEntity`, `ParameterNotFound`).
pub(crate) fn is_not_found_code(code: &str) -> bool {
    SERVICES.iter().any(|s| s.not_found.contains(&code))
}

/// Every service, in the order of their directories.
pub(crate) static SERVICES: &[&Service] = &[
    &acm::SERVICE,
    &appautoscaling::SERVICE,
    &autoscaling::SERVICE,
    &cloudtrail::SERVICE,
    &cloudwatch::SERVICE,
    &codebuild::SERVICE,
    &codedeploy::SERVICE,
    &codepipeline::SERVICE,
    &codestarconnections::SERVICE,
    &ec2::SERVICE,
    &ecr::SERVICE,
    &ecrpublic::SERVICE,
    &ecs::SERVICE,
    &elbv2::SERVICE,
    &events::SERVICE,
    &iam::SERVICE,
    &kms::SERVICE,
    &logs::SERVICE,
    &rds::SERVICE,
    &route53::SERVICE,
    &s3::SERVICE,
    &secretsmanager::SERVICE,
    &servicediscovery::SERVICE,
    &sns::SERVICE,
    &sqs::SERVICE,
    &ssm::SERVICE,
    &sts::SERVICE,
    &tagging::SERVICE,
];

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

/// A managed resource type: everything the provider knows about it.
pub(crate) struct ManagedType {
    /// Terraform's type name (`aws_vpc`).
    pub name: &'static str,
    /// Arguments and attributes as Terraform names them; its doc line.
    pub schema: fn() -> ResourceSchema,
    /// Refresh, create, update, delete and the dry-run check.
    pub handler: &'static dyn ResourceHandler,
    /// The IAM actions of every call the handler makes, with the narrowest
    /// ARN patterns the service allows (see [`crate::policy`]).
    pub grants: &'static [Grant],
    /// The file that defines it, so that the policy test reads the calls
    /// it makes.
    #[cfg_attr(not(test), allow(dead_code))]
    pub source: &'static str,
}

/// A data source: everything the provider knows about it.
pub(crate) struct DataSource {
    /// Terraform's type name (`aws_ami`).
    pub name: &'static str,
    pub schema: fn() -> ResourceSchema,
    pub handler: &'static dyn DataHandler,
    /// The IAM actions of every call the read makes.
    pub grants: &'static [Grant],
    /// The file that defines it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub source: &'static str,
}

/// Every managed resource type, service by service.
pub(crate) fn resources() -> impl Iterator<Item = &'static ManagedType> {
    SERVICES.iter().flat_map(|s| s.managed.iter().copied())
}

/// Every data source, service by service.
pub(crate) fn data_sources() -> impl Iterator<Item = &'static DataSource> {
    SERVICES.iter().flat_map(|s| s.data.iter().copied())
}

pub(crate) fn resource(name: &str) -> Option<&'static ManagedType> {
    resources().find(|r| r.name == name)
}

pub(crate) fn data_source(name: &str) -> Option<&'static DataSource> {
    data_sources().find(|d| d.name == name)
}

/// The schemas of every type in the tables.
pub(crate) fn schema_set() -> SchemaSet {
    SchemaSet::new(
        resources()
            .map(|r| (r.schema)())
            .chain(data_sources().map(|d| (d.schema)()))
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
        for r in resources() {
            let s = (r.schema)();
            assert_eq!(s.type_name, r.name);
            assert_eq!(s.mode, Mode::Managed, "{}", r.name);
        }
        for d in data_sources() {
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
