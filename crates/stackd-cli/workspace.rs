//! Loading what a command works on: the spec, its variables, validation,
//! provider settings and the state backend. Everything here happens before
//! any network call.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use stackd_engine::instance::StackSettings;
use stackd_engine::state::STATE_FILE_NAME;
use stackd_spec::config::Config;
use stackd_spec::diag::{render_all, Diagnostic};
use stackd_spec::eval::{LocalCache, NothingKnown, Scope};
use stackd_spec::vars::{resolve_vars, VarInputs};
use stackd_spec::{SchemaSet, Value};

use crate::out::{err, errln};
use crate::{usage, CommonArgs, SpecArgs};

/// A spec that parsed, resolved and validated.
pub struct Workspace {
    pub config: Config,
    pub vars: BTreeMap<String, Value>,
    pub settings: StackSettings,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub warnings: Vec<Diagnostic>,
}

/// An error whose diagnostics were already printed.
#[derive(Debug)]
pub struct Reported;

impl std::fmt::Display for Reported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the spec has errors (see above)")
    }
}

impl std::error::Error for Reported {}

/// The stack name: `--stack`, else the spec directory's name; refused
/// when AWS tags cannot hold it (see [`check_stack_name`]).
pub fn stack_name(common: &CommonArgs) -> Result<String> {
    if let Some(s) = &common.stack {
        check_stack_name(s).map_err(|why| usage(format!("--stack {s:?}: {why}")))?;
        return Ok(s.clone());
    }
    let dir = std::fs::canonicalize(&common.dir)
        .with_context(|| format!("cannot open spec directory {}", common.dir.display()))?;
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(str::to_string)
        .ok_or_else(|| {
            anyhow!(
                "cannot derive a stack name from {}; pass --stack NAME",
                dir.display()
            )
        })?;
    check_stack_name(&name).map_err(|why| {
        anyhow!(
            "the stack name {name:?} (the spec directory's name) cannot be used: {why}; \
             pass --stack NAME"
        )
    })?;
    Ok(name)
}

/// The longest tag value every service stackd tags accepts (EC2, ELBv2,
/// ECS, S3, IAM: 256 Unicode characters).
const STACK_NAME_MAX_CHARS: usize = 256;

/// Whether the `stackd:stack` tag can hold `name`: not empty, at most 256
/// characters, and only characters every service accepts in a tag value
/// (the intersection of EC2's, ELBv2's, ECS's, S3's and IAM's rules:
/// letters, digits, spaces and `_ . : / = + - @`).
pub fn check_stack_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("a stack needs a name, which stackd tags every resource with".into());
    }
    let len = name.chars().count();
    if len > STACK_NAME_MAX_CHARS {
        return Err(format!(
            "it is {len} characters long; AWS tag values hold at most {STACK_NAME_MAX_CHARS}"
        ));
    }
    let allowed = regex::Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$")
        .map_err(|e| format!("internal error: {e}"))?;
    if !allowed.is_match(name) {
        let bad: String = name
            .chars()
            .filter(|c| !allowed.is_match(&c.to_string()))
            .collect::<std::collections::BTreeSet<char>>()
            .into_iter()
            .map(|c| format!("{c:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(format!(
            "AWS tags cannot hold {bad}; use letters, digits, spaces and _ . : / = + - @"
        ));
    }
    Ok(())
}

pub fn state_path(common: &CommonArgs) -> PathBuf {
    common
        .state
        .clone()
        .unwrap_or_else(|| common.dir.join(STATE_FILE_NAME))
}

/// `sha256:<hex>` over the spec's source files (by path relative to the
/// spec directory) and its resolved variable values: what a saved plan was
/// made from.
pub fn spec_digest(ws: &Workspace) -> String {
    let mut files: Vec<(String, &str)> = ws
        .config
        .sources
        .files()
        .map(|(_, f)| {
            let rel = f
                .path
                .strip_prefix(&ws.config.dir)
                .unwrap_or(&f.path)
                .display()
                .to_string();
            (rel, f.text.as_str())
        })
        .collect();
    files.sort();
    let vars: serde_json::Map<String, serde_json::Value> = ws
        .vars
        .iter()
        .map(|(k, v)| (k.clone(), v.to_json()))
        .collect();
    let doc = serde_json::json!({"files": files, "vars": vars});
    stackd_engine::planfile::sha256_hex(doc.to_string().as_bytes())
}

/// Fails unless `dir` is a directory, saying what it is instead.
pub fn check_spec_dir(dir: &std::path::Path) -> Result<()> {
    match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => Ok(()),
        Ok(_) => {
            let parent = match dir.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.display().to_string(),
                _ => ".".to_string(),
            };
            Err(anyhow!(
                "{} is a file, not a directory: stackd reads a spec directory (every .tf and \
                 .hcl file in it); pass its directory, e.g. {parent}",
                dir.display()
            ))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(anyhow!("spec directory {} does not exist", dir.display()))
        }
        Err(e) => Err(anyhow!("cannot open spec directory {}: {e}", dir.display())),
    }
}

/// A spec read and checked, with every diagnostic found (errors and
/// warnings, sorted by file and line), before anything is printed.
pub struct Checked {
    pub config: Config,
    pub vars: BTreeMap<String, Value>,
    pub diags: Vec<Diagnostic>,
    region: Option<String>,
    profile: Option<String>,
    default_tags: BTreeMap<String, String>,
}

impl Checked {
    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }
}

/// How variables with no value are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unset {
    /// An error: planning needs every value.
    Error,
    /// Unknown, as `terraform validate` takes them: the spec is checked
    /// without its inputs.
    Unknown,
}

/// Loads, resolves and validates a spec; prints nothing.
pub fn check(args: &SpecArgs, schemas: &SchemaSet, unset: Unset) -> Result<Checked> {
    let dir = &args.common.dir;
    check_spec_dir(dir)?;
    let (mut config, diags) = Config::load_dir(dir)
        .with_context(|| format!("cannot read spec directory {}", dir.display()))?;
    let inputs = VarInputs {
        files: args.var_files.clone(),
        assignments: args.vars.clone(),
        env: std::env::vars().collect(),
        unset_is_unknown: unset == Unset::Unknown,
    };
    let (vars, mut diags) =
        stackd_spec::validate::resolve_and_validate(&mut config, diags, &inputs, schemas);
    let (region, profile, default_tags) = provider_settings(&config, &vars, &mut diags);
    Ok(Checked {
        config,
        vars,
        diags,
        region,
        profile,
        default_tags,
    })
}

/// Loads, resolves and validates a spec, printing every problem found.
pub fn load(args: &SpecArgs, schemas: &SchemaSet) -> Result<Workspace> {
    load_with(args, schemas, Unset::Error)
}

/// [`load`], taking variables with no value as `unset` says.
pub fn load_with(args: &SpecArgs, schemas: &SchemaSet, unset: Unset) -> Result<Workspace> {
    // Git modules never fetched: fetch them now, once, and say so. A
    // module fetched before is never fetched again here (a changed ref is
    // an error asking for `stackd init -upgrade`).
    let dir = &args.common.dir;
    if dir.is_dir() && crate::init::needed(dir) {
        errln!("Some git modules are not fetched yet: running `stackd init`.");
        crate::init::init(dir, false)?;
    }
    let checked = check(args, schemas, unset)?;
    if checked.has_errors() {
        err!("{}", render_all(&checked.diags, &checked.config.sources));
        return Err(Reported.into());
    }
    let stack = stack_name(&args.common)?;
    Ok(Workspace {
        settings: StackSettings {
            stack,
            explicit_stack: args.common.stack.is_some(),
            default_tags: checked.default_tags,
        },
        config: checked.config,
        vars: checked.vars,
        region: checked.region,
        profile: checked.profile,
        warnings: checked.diags,
    })
}

/// The values of the sensitive variables of the spec in `dir` that can be
/// known without flags (defaults, `terraform.tfvars`, `*.auto.tfvars`,
/// `STACKD_VAR_*`), for commands that show the state without planning.
/// Prints nothing: a spec that does not load gives none.
pub fn sensitive_values_quietly(dir: &Path) -> Vec<Value> {
    if !dir.is_dir() {
        return Vec::new();
    }
    let Ok((mut config, _)) = Config::load_dir(dir) else {
        return Vec::new();
    };
    let inputs = VarInputs {
        files: Vec::new(),
        assignments: Vec::new(),
        env: std::env::vars().collect(),
        unset_is_unknown: false,
    };
    let Ok(vars) = resolve_vars(&mut config, &inputs) else {
        return Vec::new();
    };
    config
        .variables
        .values()
        .filter(|v| v.sensitive)
        .filter_map(|v| vars.get(&v.name).cloned())
        .collect()
}

/// Reads `provider "aws" { region, profile, default_tags { tags } }`.
fn provider_settings(
    config: &Config,
    vars: &BTreeMap<String, Value>,
    diags: &mut Vec<Diagnostic>,
) -> (Option<String>, Option<String>, BTreeMap<String, String>) {
    let mut region = None;
    let mut profile = None;
    let mut tags = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(config, vars, &NothingKnown, &locals);
    for p in &config.providers {
        if p.name != "aws" {
            diags.push(Diagnostic::warning(
                format!(
                    "provider \"{}\" is not one stackd serves; its block is ignored",
                    p.name
                ),
                Some(p.span),
            ));
            continue;
        }
        for a in &p.body.attrs {
            let value = match scope.eval(&a.expr) {
                Ok(v) => v,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            match a.name.as_str() {
                "region" => region = value.as_str().map(str::to_string),
                "profile" => profile = value.as_str().map(str::to_string),
                // Accepted for Terraform compatibility; stackd reads the
                // endpoint and credentials from aws-config's standard chain.
                "alias"
                | "access_key"
                | "secret_key"
                | "token"
                | "shared_config_files"
                | "shared_credentials_files"
                | "skip_credentials_validation"
                | "skip_metadata_api_check"
                | "skip_requesting_account_id"
                | "skip_region_validation"
                | "s3_use_path_style"
                | "max_retries"
                | "allowed_account_ids" => {}
                other => diags.push(Diagnostic::warning(
                    format!("provider \"aws\" argument \"{other}\" is not used by stackd"),
                    Some(a.name_span),
                )),
            }
        }
        for b in &p.body.blocks {
            if b.kind != "default_tags" {
                continue;
            }
            if let Some(a) = b.body.attr("tags") {
                match scope.eval(&a.expr) {
                    Ok(Value::Map(m)) => {
                        for (k, v) in m {
                            tags.insert(k, v.to_template_string().unwrap_or_default());
                        }
                    }
                    Ok(other) => diags.push(Diagnostic::error(
                        format!(
                            "default_tags.tags must be a map of strings, got {}",
                            other.type_name()
                        ),
                        Some(a.expr.span),
                    )),
                    Err(d) => diags.push(d),
                }
            }
        }
    }
    (region, profile, tags)
}

/// Prints warnings, if any.
pub fn print_warnings(ws: &Workspace) {
    if !ws.warnings.is_empty() {
        err!("{}", render_all(&ws.warnings, &ws.config.sources));
    }
}
