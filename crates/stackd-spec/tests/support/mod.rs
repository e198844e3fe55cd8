//! Shared by the spec crate's integration tests: a small schema set and a
//! pipeline that runs a spec through parsing, variables and validation the
//! way `stackd validate` does.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use stackd_spec::config::Config;
use stackd_spec::diag::{render_all, Diagnostic};
use stackd_spec::schema::{AttrSchema as A, AttrType as T, BlockSchema, Check, Nesting};
use stackd_spec::vars::VarInputs;
use stackd_spec::{ResourceSchema, SchemaSet, Value};

/// A few resource types shaped like the AWS provider's.
pub fn schemas() -> SchemaSet {
    SchemaSet::new(vec![
        ResourceSchema::resource("aws_vpc")
            .attr(
                A::required("cidr_block", T::String)
                    .force_new()
                    .check(Check::Ipv4Cidr),
            )
            .attr(A::optional("enable_dns_hostnames", T::Bool).default(false))
            .taggable(),
        ResourceSchema::resource("aws_subnet")
            .attr(A::required("vpc_id", T::String).force_new())
            .attr(
                A::required("cidr_block", T::String)
                    .force_new()
                    .check(Check::Ipv4Cidr),
            )
            .attr(A::optional_computed("availability_zone", T::String))
            .taggable(),
        ResourceSchema::resource("aws_security_group")
            .attr(A::optional("vpc_id", T::String))
            .attr(A::optional_computed("name", T::String))
            .attr(A::optional("description", T::String))
            .block(
                BlockSchema::new("ingress", Nesting::Set)
                    .attr(A::required("from_port", T::Number))
                    .attr(A::required("to_port", T::Number))
                    .attr(A::optional("cidr_blocks", T::list_of(T::String))),
            ),
        ResourceSchema::data("aws_availability_zones")
            .attr(A::computed("names", T::list_of(T::String))),
    ])
}

/// What `stackd validate` would report.
pub struct Report {
    pub diags: Vec<Diagnostic>,
    /// Each diagnostic rendered with its location and source line.
    pub rendered: Vec<String>,
    /// All of them, as `stackd validate` prints them.
    pub text: String,
    pub errors: usize,
    pub vars: BTreeMap<String, Value>,
}

impl Report {
    /// True when one diagnostic's rendering contains all of `needles`.
    pub fn has(&self, needles: &[&str]) -> bool {
        self.rendered
            .iter()
            .any(|d| needles.iter().all(|n| d.contains(n)))
    }
}

/// Parses, resolves variables and validates, as the CLI does.
pub fn check_config(mut config: Config, diags: Vec<Diagnostic>, inputs: &VarInputs) -> Report {
    let (vars, diags) =
        stackd_spec::validate::resolve_and_validate(&mut config, diags, inputs, &schemas());
    let text = render_all(&diags, &config.sources);
    let rendered = diags.iter().map(|d| d.render(&config.sources)).collect();
    let errors = diags.iter().filter(|d| d.is_error()).count();
    Report {
        diags,
        rendered,
        text,
        errors,
        vars,
    }
}

/// One `main.tf` held in memory (no files on disk).
pub fn check_text(src: &str) -> Report {
    check_sources(vec![("spec/main.tf".into(), src.to_string())])
}

pub fn check_sources(files: Vec<(PathBuf, String)>) -> Report {
    let (config, diags) = Config::from_sources(Path::new("spec"), files);
    check_config(config, diags, &VarInputs::default())
}

/// A spec directory written to disk (for templatefile, tfvars, BOMs read
/// from files), checked with `inputs`.
pub fn check_dir(files: &[(&str, &[u8])], inputs: VarInputs) -> (tempfile::TempDir, Report) {
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, bytes) in files {
        std::fs::write(dir.path().join(name), bytes).expect("write spec file");
    }
    let (config, diags) = Config::load_dir(dir.path()).expect("read spec dir");
    let report = check_config(config, diags, &inputs);
    (dir, report)
}

/// `--var` assignments as the CLI passes them.
pub fn cli_vars(assignments: &[&str]) -> VarInputs {
    VarInputs {
        assignments: assignments.iter().map(|a| a.to_string()).collect(),
        ..VarInputs::default()
    }
}
