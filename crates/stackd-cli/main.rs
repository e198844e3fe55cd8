//! The `stackd` command line: the only place that knows clap.

mod backend;
mod commands;
mod journal;
mod progress;
mod render;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// A native AWS provisioning engine for container web applications.
#[derive(Parser, Debug)]
#[command(name = "stackd", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log what stackd does (tracing); refine with STACKD_LOG, e.g. STACKD_LOG=stackd_aws=debug.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check a spec without touching the cloud.
    Validate(SpecArgs),
    /// Show what apply would change; save it with --out.
    Diff(DiffArgs),
    /// Make the cloud match the spec, or apply a plan saved by `stackd diff --out`.
    Apply(ApplyArgs),
    /// Delete everything the stack owns.
    Destroy(ApplyArgs),
    /// Print the stack's outputs.
    Output(OutputArgs),
    /// Print the spec's dependency graph in DOT.
    Graph(SpecArgs),
    /// Inspect the state file.
    #[command(subcommand)]
    State(StateCommand),
    /// Remove a stale lock left by a stackd that no longer runs.
    ForceUnlock(CommonArgs),
    /// Print the apply journal, newest first.
    Log(LogArgs),
    /// Print the least IAM policy that applying and destroying the spec needs.
    Policy(PolicyArgs),
}

#[derive(Subcommand, Debug)]
pub enum StateCommand {
    /// List the addresses in state.
    List(CommonArgs),
    /// Show one resource's recorded attributes.
    Show {
        /// A resource address, e.g. aws_subnet.public["a"].
        address: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Print the whole state document (to move it elsewhere with `state push`).
    Pull(CommonArgs),
    /// Replace the backend's state with a state document (e.g. one from `state pull`).
    Push {
        /// The state document to store.
        file: PathBuf,
        #[command(flatten)]
        common: CommonArgs,
    },
}

/// Options every command that reads a spec or its state takes.
#[derive(Args, Debug, Clone)]
pub struct CommonArgs {
    /// The spec directory (every *.tf and *.hcl in it); for apply, also a plan saved by `stackd diff --out`.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// The state file (default: stackd.state.json in the spec directory).
    #[arg(long, global = true)]
    pub state: Option<PathBuf>,
    /// Keep the state elsewhere: s3://bucket/key (overrides the spec's backend block) or file://path.
    #[arg(long, global = true, value_name = "URL")]
    pub backend: Option<String>,
    /// The stack name carried in the stackd:stack tag (default: the spec directory's name).
    #[arg(long, global = true)]
    pub stack: Option<String>,
}

#[derive(Args, Debug, Clone)]
pub struct SpecArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Set a variable: --var name=value (repeatable).
    #[arg(long = "var", value_name = "NAME=VALUE")]
    pub vars: Vec<String>,
    /// Read variables from a .tfvars or .tfvars.json file (repeatable).
    #[arg(long = "var-file", value_name = "FILE")]
    pub var_files: Vec<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    /// The versioned plan document (docs/plan-format.md).
    Json,
    /// A pull-request comment.
    Markdown,
}

#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Exit 0 when there are no changes, 2 when there are, 1 on error.
    #[arg(long)]
    pub detailed_exitcode: bool,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Also save the plan (JSON) here, for `stackd apply FILE`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Plan the destruction of everything the stack owns.
    #[arg(long)]
    pub destroy: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ApplyArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Apply without asking (required when not on a terminal).
    #[arg(long)]
    pub auto_approve: bool,
    /// How many operations run at once.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub parallelism: u16,
    /// Plan and check every change against the cloud without making it; exit 2 if it would fail.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Args, Debug, Clone)]
pub struct LogArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print JSON lines, as stored.
    #[arg(long)]
    pub json: bool,
    /// Show at most this many entries.
    #[arg(long)]
    pub limit: Option<usize>,
}

#[derive(Args, Debug, Clone)]
pub struct PolicyArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// The AWS account ID to put in resource ARNs (default: any account).
    #[arg(long)]
    pub account: Option<String>,
    /// Print a JSON array of documents, each small enough for one managed policy.
    #[arg(long)]
    pub split: bool,
}

#[derive(Args, Debug, Clone)]
pub struct OutputArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Print as JSON (sensitive values included, as Terraform does).
    #[arg(long)]
    pub json: bool,
    /// Print only this output, raw.
    #[arg(long)]
    pub name: Option<String>,
}

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("STACKD_LOG") {
        Ok(f) => EnvFilter::new(f),
        Err(_) => EnvFilter::new(match verbose {
            0 => "warn",
            1 => "info,aws_config=warn,aws_smithy_runtime=warn",
            _ => "debug,hyper=info,rustls=info",
        }),
    };
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(render::colours_on())
        .init();
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    ExitCode::from(code)
}
