//! Choosing where a stack's state lives: `--backend s3://bucket/key`, else a
//! `backend "s3"` (or `"local"`) block in `terraform {}`, else a local file
//! (`--state`, default `stackd.state.json` in the spec directory).

use std::path::PathBuf;

use anyhow::{anyhow, Result};
use stackd_aws::state_s3::{S3Backend, S3Location};
use stackd_aws::AwsSettings;
use stackd_engine::state::{LocalBackend, StateBackend};
use stackd_spec::config::{Config, NestedBlock};
use stackd_spec::diag::{render_all, Diagnostic};
use stackd_spec::eval::{LocalCache, NothingKnown, Scope};
use stackd_spec::Value;

use crate::out::err;
use crate::workspace::{self, Reported};
use crate::{usage, CommonArgs};

/// Where the state lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BackendChoice {
    Local(PathBuf),
    S3 {
        location: S3Location,
        /// The bucket's region when the backend block names one.
        region: Option<String>,
        profile: Option<String>,
    },
}

impl BackendChoice {
    /// Opens the backend. `fallback_region` (the provider's) is used when
    /// the backend names none. Makes no network call.
    pub async fn open(&self, fallback: &AwsSettings) -> anyhow::Result<Box<dyn StateBackend>> {
        Ok(match self {
            BackendChoice::Local(path) => Box::new(LocalBackend::new(path.clone())),
            BackendChoice::S3 {
                location,
                region,
                profile,
            } => {
                let settings = AwsSettings {
                    region: region.clone().or_else(|| fallback.region.clone()),
                    profile: profile.clone().or_else(|| fallback.profile.clone()),
                    root_dir: None,
                };
                Box::new(S3Backend::connect(&settings, location.clone()).await?)
            }
        })
    }

    /// Where the state lives, as the backend describes itself.
    pub fn describe(&self) -> String {
        match self {
            BackendChoice::Local(path) => path.display().to_string(),
            BackendChoice::S3 { location, .. } => location.url(),
        }
    }

    /// The state bucket and key, for an S3 backend.
    pub fn s3_location(&self) -> Option<&S3Location> {
        match self {
            BackendChoice::S3 { location, .. } => Some(location),
            BackendChoice::Local(_) => None,
        }
    }
}

/// Decides the backend from the flags and, when given, the spec's
/// `terraform { backend ... }` block.
pub fn choose(common: &CommonArgs, config: Option<&Config>) -> Result<BackendChoice> {
    if let Some(url) = &common.backend {
        if common.state.is_some() {
            return Err(usage(
                "--state and --backend both name where the state lives; pass one",
            ));
        }
        if let Some(path) = url.strip_prefix("file://") {
            return Ok(BackendChoice::Local(PathBuf::from(path)));
        }
        let location = S3Location::parse(url).map_err(|e| usage(format!("--backend: {e}")))?;
        return Ok(BackendChoice::S3 {
            location,
            region: None,
            profile: None,
        });
    }
    if let Some(config) = config {
        if let Some(choice) = from_config(config)? {
            if common.state.is_some() {
                return Err(usage(
                    "--state names a local state file, but the spec's terraform block configures \
                     a backend; pass --backend file://PATH to override it",
                ));
            }
            return Ok(choice);
        }
    }
    Ok(BackendChoice::Local(workspace::state_path(common)))
}

/// Reads `terraform { backend "s3" { bucket key region profile } }` or
/// `backend "local" { path }`. As in Terraform, the values must be literals.
fn from_config(config: &Config) -> Result<Option<BackendChoice>> {
    let blocks: Vec<&NestedBlock> = config
        .terraform
        .iter()
        .flat_map(|b| b.blocks.iter())
        .filter(|b| b.kind == "backend")
        .collect();
    let Some(block) = blocks.first() else {
        return Ok(None);
    };
    let mut diags = Vec::new();
    if blocks.len() > 1 {
        diags.push(Diagnostic::error(
            "more than one backend block; a stack's state lives in one place",
            Some(blocks[1].span),
        ));
    }
    let vars = Default::default();
    let locals = LocalCache::default();
    let scope = Scope::new(config, &vars, &NothingKnown, &locals);
    let mut get = |name: &str| -> Option<String> {
        let attr = block.body.attr(name)?;
        match scope.eval(&attr.expr) {
            Ok(Value::String(s)) => Some(s),
            Ok(other) => {
                diags.push(Diagnostic::error(
                    format!(
                        "backend argument \"{name}\" must be a literal string, got {}",
                        other.type_name()
                    ),
                    Some(attr.expr.span),
                ));
                None
            }
            Err(_) => {
                diags.push(Diagnostic::error(
                    format!(
                        "backend argument \"{name}\" must be a literal string: backends are \
                         set up before variables are read, so variables cannot be used here"
                    ),
                    Some(attr.expr.span),
                ));
                None
            }
        }
    };
    let kind = block.labels.first().map(String::as_str).unwrap_or("");
    let choice = match kind {
        "s3" => {
            let bucket = get("bucket");
            let key = get("key");
            let region = get("region");
            let profile = get("profile");
            match (bucket, key) {
                (Some(bucket), Some(key)) => {
                    match S3Location::parse(&format!("s3://{bucket}/{key}")) {
                        Ok(location) => Some(BackendChoice::S3 {
                            location,
                            region,
                            profile,
                        }),
                        Err(e) => {
                            diags.push(Diagnostic::error(e, Some(block.span)));
                            None
                        }
                    }
                }
                _ => {
                    diags.push(Diagnostic::error(
                        "backend \"s3\" needs both \"bucket\" and \"key\"",
                        Some(block.span),
                    ));
                    None
                }
            }
        }
        "local" => Some(BackendChoice::Local(
            get("path")
                .map(|p| config.dir.join(p))
                .unwrap_or_else(|| config.dir.join(stackd_engine::state::STATE_FILE_NAME)),
        )),
        other => {
            diags.push(Diagnostic::error(
                format!("backend \"{other}\" is not supported; stackd keeps state in \"s3\" or \"local\""),
                Some(block.span),
            ));
            None
        }
    };
    if diags.iter().any(Diagnostic::is_error) {
        err!("{}", render_all(&diags, &config.sources));
        return Err(Reported.into());
    }
    Ok(choice)
}

/// The backend for a command that reads no spec values (`output`, `state`,
/// `log`, `force-unlock`): the spec directory is parsed only for its
/// backend block and the provider's literal region and profile, which the
/// backend falls back on as `apply` does.
pub fn choose_for_dir(common: &CommonArgs) -> Result<(BackendChoice, AwsSettings)> {
    if common.dir.is_file() {
        workspace::check_spec_dir(&common.dir)?;
    }
    if !common.dir.is_dir() {
        return Ok((choose(common, None)?, AwsSettings::default()));
    }
    let (config, _) = Config::load_dir(&common.dir).map_err(|e| {
        anyhow!(
            "cannot read spec directory {} for its backend block: {e}",
            common.dir.display()
        )
    })?;
    Ok((
        choose(common, Some(&config))?,
        literal_provider_settings(&config),
    ))
}

/// The AWS settings a command that reads no spec values uses (the
/// provider block's literal region and profile).
pub fn settings_for_dir(common: &CommonArgs) -> AwsSettings {
    match Config::load_dir(&common.dir) {
        Ok((config, _)) if common.dir.is_dir() => literal_provider_settings(&config),
        _ => AwsSettings::default(),
    }
}

/// The opened backend of a command that reads no spec values.
pub async fn open_for_dir(common: &CommonArgs) -> Result<Box<dyn StateBackend>> {
    let (choice, settings) = choose_for_dir(common)?;
    choice.open(&settings).await
}

/// `provider "aws" { region profile }` when they are literals (variables
/// are not resolved here).
fn literal_provider_settings(config: &Config) -> AwsSettings {
    let vars = Default::default();
    let locals = LocalCache::default();
    let scope = Scope::new(config, &vars, &NothingKnown, &locals);
    let literal = |name: &str| {
        config
            .providers
            .iter()
            .filter(|p| p.name == "aws")
            .find_map(|p| p.body.attr(name))
            .and_then(|a| match scope.eval(&a.expr) {
                Ok(Value::String(s)) => Some(s),
                _ => None,
            })
    };
    AwsSettings {
        region: literal("region"),
        profile: literal("profile"),
        root_dir: None,
    }
}
