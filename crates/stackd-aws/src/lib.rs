//! The AWS provider for stackd: the only crate that knows AWS SDK types.
//!
//! [`AwsProvider`] implements the engine's [`Provider`] trait. Each resource
//! type and data source is one file under `services/<service>/` exporting one
//! descriptor, listed in the registry in `services/mod.rs`. Shared pieces: SDK error mapping and
//! classification ([`error`]), waits and retries (`wait`), tags and the
//! ownership-tag refresh (`tags`, `refresh`), argument access (`args`),
//! security group rule shapes (`ip_permissions`) and the call log
//! interceptor ([`call_log`]).
//!
//! Nothing here knows about emulators: endpoints come from the SDK's own
//! configuration chain (`AWS_ENDPOINT_URL` and friends).

// `ProviderError` is the engine's error type for every provider call (it
// carries service, operation, code, message and request ID); boxing it in
// this crate's helpers would only add conversions at every `?`.
#![allow(clippy::result_large_err)]

pub mod call_log;
mod concurrent;
pub mod error;

mod args;
mod cicd_util;
mod context;
mod elbv2_ecs_util;
mod iam_util;
mod ip_permissions;
pub mod pace;
pub mod policy;
mod preflight;
mod refresh;
mod services;
pub mod state_s3;
mod tags;
#[cfg(test)]
mod test_support;
pub mod transport;
mod wait;

use async_trait::async_trait;
use aws_config::{BehaviorVersion, Region};
use stackd_engine::provider::{
    ChangeRequest, CheckRequest, DataRequest, DeleteRequest, ErrorKind, Finding, LiveResource,
    Provider, ProviderError, RefreshRequest,
};
use stackd_spec::{Mode, SchemaSet, Value};
use tracing::Instrument;

pub use call_log::CALL_LOG_ENV;
use context::Aws;

/// Where and as whom to reach AWS. Unset fields fall back to the SDK's
/// standard chain (environment, shared config files, instance metadata).
#[derive(Clone, Debug, Default)]
pub struct AwsSettings {
    /// The region, e.g. `eu-west-1`; otherwise `AWS_REGION` or the profile's.
    pub region: Option<String>,
    /// A named profile from `~/.aws/config`.
    pub profile: Option<String>,
    /// The root module's directory, against which relative paths in data
    /// sources are read (`terraform_remote_state`'s local `path`). Without
    /// it such a path must be absolute.
    pub root_dir: Option<std::path::PathBuf>,
}

/// The AWS provider: EC2 networking resources and data sources.
pub struct AwsProvider {
    aws: Aws,
    schemas: SchemaSet,
    /// The call pacing of this provider's region and profile, summed up
    /// in the log when the provider is dropped.
    pacer: std::sync::Arc<pace::Pacer>,
}

impl Drop for AwsProvider {
    fn drop(&mut self) {
        // Providers of one region share the pacer: the first to go says
        // it, once (they go together, at the end of the command).
        self.pacer.log_summary();
    }
}

impl AwsProvider {
    /// Loads credentials and region through the SDK's standard chain and
    /// builds the service clients. Makes no network call.
    pub async fn connect(settings: AwsSettings) -> Result<AwsProvider, ProviderError> {
        let sdk_config = sdk_config(&settings).await?;
        let region = sdk_config.region().map(|r| r.to_string()).ok_or_else(|| {
            ProviderError::new(
                ErrorKind::Permanent,
                "aws",
                "configure",
                "no AWS region is configured: set `region` in the provider block, \
                 AWS_REGION in the environment, or a region in the AWS profile",
            )
        })?;
        let pacer = pace::shared(&region, settings.profile.as_deref())
            .map_err(|e| ProviderError::new(ErrorKind::Permanent, "aws", "configure", e))?;
        let mut aws = Aws::new(&sdk_config, region);
        aws.root_dir = settings.root_dir;
        Ok(AwsProvider {
            aws,
            schemas: Self::schema_set(),
            pacer,
        })
    }

    /// Every schema this provider serves, without connecting (for
    /// validation and docs).
    pub fn schema_set() -> SchemaSet {
        services::schema_set()
    }

    /// The region the provider works in.
    pub fn region(&self) -> &str {
        &self.aws.loc.region
    }

    /// Who the provider acts as (STS GetCallerIdentity, shared with the
    /// account ID that ARNs need: one call per process).
    pub async fn caller_identity(&self) -> Result<CallerIdentity, ProviderError> {
        self.aws.identity().await.cloned()
    }
}

/// The identity AWS sees for stackd's calls.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallerIdentity {
    /// e.g. `arn:aws:sts::123456789012:assumed-role/ci/session`.
    pub arn: String,
    pub account: String,
    /// The caller's unique ID (`AIDA…`, or `AROA…:session`).
    pub user_id: String,
}

/// The SDK configuration for `settings`: explicit region and profile, then
/// the SDK's standard chain. Makes no network call.
pub(crate) async fn sdk_config(
    settings: &AwsSettings,
) -> Result<aws_config::SdkConfig, ProviderError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .timeout_config(transport::timeouts())
        .retry_config(transport::retries());
    if let Some(region) = &settings.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(profile) = &settings.profile {
        loader = loader.profile_name(profile);
    }
    let config = loader.load().await;
    let region = config.region().map(|r| r.to_string()).unwrap_or_default();
    let pacer = pace::shared(&region, settings.profile.as_deref())
        .map_err(|e| ProviderError::new(ErrorKind::Permanent, "aws", "configure", e))?;
    Ok(config.to_builder().http_client(pace::client(pacer)).build())
}

fn unknown_type(type_name: &str, mode: &str) -> ProviderError {
    ProviderError::new(
        ErrorKind::Permanent,
        "aws",
        "dispatch",
        format!("the AWS provider has no {mode} named {type_name}"),
    )
}

#[async_trait]
impl Provider for AwsProvider {
    fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }

    async fn refresh(&self, req: &RefreshRequest) -> Result<Vec<LiveResource>, ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("refresh", type_name = %req.type_name, stack = %req.owner, known = req.known.len());
        entry.handler.refresh(&self.aws, req).instrument(span).await
    }

    fn modelled_duration(
        &self,
        type_name: &str,
        change: stackd_engine::provider::CheckedChange,
    ) -> std::time::Duration {
        services::durations::modelled(self.schemas.canonical(Mode::Managed, type_name), change)
    }

    async fn read_data(&self, req: &DataRequest) -> Result<Value, ProviderError> {
        let entry = services::data_source(self.schemas.canonical(Mode::Data, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "data source"))?;
        let span = tracing::info_span!("read_data", address = %req.address);
        entry.handler.read(&self.aws, req).instrument(span).await
    }

    async fn create(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("create", address = %req.address);
        entry.handler.create(&self.aws, req).instrument(span).await
    }

    async fn update(&self, req: &ChangeRequest) -> Result<Value, ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("update", address = %req.address, id = req.id.as_deref().unwrap_or(""));
        entry.handler.update(&self.aws, req).instrument(span).await
    }

    async fn delete(&self, req: &DeleteRequest) -> Result<(), ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("delete", address = %req.address, id = %req.id);
        error::deleting(entry.handler.delete(&self.aws, req))
            .instrument(span)
            .await
    }

    async fn find_created(&self, req: &ChangeRequest) -> Result<Option<Value>, ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("find_created", address = %req.address);
        entry
            .handler
            .find_created(&self.aws, req)
            .instrument(span)
            .await
    }

    async fn check(&self, req: &CheckRequest) -> Result<Vec<Finding>, ProviderError> {
        let entry = services::resource(self.schemas.canonical(Mode::Managed, &req.type_name))
            .ok_or_else(|| unknown_type(&req.type_name, "resource type"))?;
        let span = tracing::info_span!("check", address = %req.address);
        entry.handler.check(&self.aws, req).instrument(span).await
    }
}
