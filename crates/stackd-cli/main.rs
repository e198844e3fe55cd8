//! The `stackd` command line: the only place that knows clap.

// Printing goes through `out`'s macros, which never panic on a closed pipe.
#![warn(clippy::print_stdout, clippy::print_stderr)]

mod out;

mod backend;
mod commands;
mod init;
mod journal;
mod layout;
mod progress;
mod render;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The process exit codes (listed in `--help` and the README).
pub mod exit {
    /// Success; for `diff --detailed-exitcode`, success with no changes.
    pub const OK: u8 = 0;
    /// An error; the message says what went wrong.
    pub const ERROR: u8 = 1;
    /// `diff --detailed-exitcode`: changes are present; `apply --dry-run`:
    /// the plan would fail.
    pub const CHANGES: u8 = 2;
    /// The command line is wrong: an unknown command or flag, a bad value,
    /// flags that cannot go together (`EX_USAGE` of sysexits.h).
    pub const USAGE: u8 = 64;
    /// Interrupted a second time: stackd stopped without waiting for the
    /// operations in flight (128 + SIGINT, as shells report it).
    pub const ABANDONED: u8 = 130;
}

/// A command line that cannot work although clap accepted it (flags that
/// do not go together, a value stackd refuses): exits [`exit::USAGE`], as
/// clap's own usage errors do.
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A [`UsageError`] as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    UsageError(message.into()).into()
}

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0    success (diff --detailed-exitcode: no changes)
  1    error
  2    diff --detailed-exitcode: changes present; apply --dry-run: the plan would fail
  64   usage error: unknown command or flag, bad value, flags that do not go together
  130  interrupted twice: stopped without waiting for the operations in flight";

/// A native AWS provisioning engine for container web applications.
#[derive(Parser, Debug)]
#[command(
    name = "stackd",
    version,
    about,
    propagate_version = true,
    after_help = EXIT_CODES_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log what stackd does (tracing); refine with STACKD_LOG, e.g. STACKD_LOG=stackd_aws=debug.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Fetch the git modules the spec calls into .stackd/modules and lock their commits.
    Init(InitArgs),
    /// Check a spec without touching the cloud.
    Validate(ValidateArgs),
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
    ForceUnlock(ForceUnlockArgs),
    /// Print the apply journal, newest first.
    Log(LogArgs),
    /// Print the least IAM policy that applying and destroying the spec needs.
    Policy(PolicyArgs),
    /// Take an existing object into state at ADDRESS by its cloud ID (nothing
    /// in the cloud changes; the next apply adds the ownership tags).
    Import(ImportArgs),
    /// Start this stack's state from a Terraform state (format 4): every
    /// resource of a type stackd serves is taken over by its ID, nothing is
    /// created or destroyed.
    ImportTerraform(ImportTerraformArgs),
}

#[derive(Args, Debug, Clone)]
pub struct InitArgs {
    /// The spec directory.
    #[arg(default_value = ".")]
    pub dir: PathBuf,
    /// Fetch every git module again at the source the spec names now (a changed ref).
    #[arg(long)]
    pub upgrade: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ValidateArgs {
    #[command(flatten)]
    pub spec: SpecArgs,
    /// Print the diagnostics as JSON (the shape of `terraform validate -json`).
    #[arg(long)]
    pub json: bool,
    /// Check the spec without its inputs, as `terraform validate` does: a
    /// variable given no value is unknown instead of an error (a pull
    /// request check that has no tfvars).
    #[arg(long)]
    pub without_inputs: bool,
}

#[derive(Args, Debug, Clone)]
pub struct ImportArgs {
    /// Where the object goes, e.g. aws_vpc.main or module.net.aws_subnet.s["a"].
    pub address: String,
    /// Its cloud ID, e.g. vpc-0abc.
    pub id: String,
    #[command(flatten)]
    pub spec: SpecArgs,
}

#[derive(Args, Debug, Clone)]
pub struct ImportTerraformArgs {
    /// The Terraform state: a file (terraform.tfstate, or what `terraform state pull` printed) or s3://bucket/key.
    pub tfstate: PathBuf,
    #[command(flatten)]
    pub common: CommonArgs,
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
    /// Stop managing a resource, instance or module: drop it from state and
    /// leave its objects in the cloud (stackd leaves them alone afterwards).
    Rm {
        /// aws_subnet.a (every instance), aws_subnet.a["x"], or module.net.
        address: String,
        #[command(flatten)]
        common: CommonArgs,
    },
    /// Rename a resource, instance or module in state (its objects are kept).
    Mv {
        /// What state records now: aws_subnet.a, aws_subnet.a["x"] or module.net.
        source: String,
        /// Its new address, of the same kind.
        destination: String,
        #[command(flatten)]
        common: CommonArgs,
    },
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
    /// The spec directory (every *.tf in it); for apply, also a plan saved by `stackd diff --out`.
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
    /// `--refresh=false`: take the managed objects as state recorded them,
    /// without reading the cloud (only data sources are read; drift goes
    /// unseen). A fast plan of what the spec changes.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, value_name = "BOOL")]
    pub refresh: bool,
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
pub struct ForceUnlockArgs {
    #[command(flatten)]
    pub common: CommonArgs,
    /// Remove a local lock even though the stackd holding it still runs
    /// (both runs may then write the state).
    #[arg(long)]
    pub force: bool,
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

/// Crates that at trace level log HTTP requests and answers whole: bodies
/// that hold secrets (an SSM parameter's value, a task definition's
/// environment), headers with a session token. They are held at debug
/// whatever `STACKD_LOG` says, unless [`LOG_BODIES_ENV`] is set.
const WIRE_TARGETS: &[&str] = &[
    "aws_config",
    "aws_credential_types",
    "aws_runtime",
    "aws_sigv4",
    "aws_smithy_http",
    "aws_smithy_http_client",
    "aws_smithy_json",
    "aws_smithy_query",
    "aws_smithy_runtime",
    "aws_smithy_runtime_api",
    "aws_smithy_types",
    "aws_smithy_xml",
    "aws_sdk_cloudwatchlogs",
    "aws_sdk_codebuild",
    "aws_sdk_codepipeline",
    "aws_sdk_ec2",
    "aws_sdk_ecr",
    "aws_sdk_ecs",
    "aws_sdk_elasticloadbalancingv2",
    "aws_sdk_iam",
    "aws_sdk_s3",
    "aws_sdk_ssm",
    "aws_sdk_sts",
    "h2",
    "hyper",
    "hyper_util",
    "rustls",
    "tower",
];

/// The SDK's endpoint resolution, which logs the credentials' access key
/// ID at debug level.
const ENDPOINT_RESOLUTION: &str = "aws_smithy_runtime::client::orchestrator::endpoints";

/// Set to 1 to let `STACKD_LOG=trace` log every request and answer whole,
/// secrets included (for debugging the wire; stackd warns when it is on).
const LOG_BODIES_ENV: &str = "STACKD_LOG_BODIES";

fn init_tracing(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let user = std::env::var("STACKD_LOG").ok();
    let mut filter = match &user {
        Some(f) => EnvFilter::new(f),
        None => EnvFilter::new(match verbose {
            // aws-config warns once per client about every credential
            // provider it tried, as Debug dumps; the error stackd prints
            // says what is missing and how to fix it.
            0 => "warn,aws_config=off",
            1 => "info,aws_config=warn,aws_smithy_runtime=warn",
            _ => "debug,hyper=info,rustls=info",
        }),
    };
    let bodies = std::env::var(LOG_BODIES_ENV).is_ok_and(|v| v == "1" || v == "true");
    if bodies {
        out::errln!(
            "warning: {LOG_BODIES_ENV} is set: trace logging shows every AWS request and answer \
             whole, secrets and access key IDs included; do not share this log"
        );
    } else {
        // Only STACKD_LOG can ask for trace; the -v levels stop at debug.
        if let Some(user) = user.filter(|u| u.to_lowercase().contains("trace")) {
            for d in wire_caps(&user) {
                filter = filter.add_directive(d);
            }
        }
        // At debug, endpoint resolution prints the credentials' access key
        // ID (the secret key redacted): never in stackd's log.
        if let Ok(d) = format!("{ENDPOINT_RESOLUTION}=info").parse() {
            filter = filter.add_directive(d);
        }
    }
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| out::QuietStderr)
        .with_ansi(render::colours_on())
        .init();
}

/// `target=debug` for each of [`WIRE_TARGETS`] that `STACKD_LOG` does not
/// set to a level below trace itself (a directive for the same target
/// replaces the user's; a specific target beats a global `trace`).
fn wire_caps(user: &str) -> Vec<tracing_subscriber::filter::Directive> {
    let lowered: Vec<&str> = user
        .split(',')
        .filter_map(|d| d.split_once('='))
        .filter(|(_, level)| !level.trim().eq_ignore_ascii_case("trace"))
        .map(|(target, _)| target.trim())
        .collect();
    WIRE_TARGETS
        .iter()
        .filter(|t| !lowered.contains(t))
        .filter_map(|t| format!("{t}=debug").parse().ok())
        .collect()
}

/// `auto-approve`, `upgrade`: a word of lowercase letters and dashes, not
/// a run of one short flag (`vv` is `-v -v`).
fn is_terraform_long_flag(name: &str) -> bool {
    let first = name.chars().next();
    name.len() > 1
        && name.chars().all(|c| c.is_ascii_lowercase() || c == '-')
        && !name.chars().all(|c| Some(c) == first)
}

/// Terraform's single-dash long flags (`-auto-approve`, `-upgrade`,
/// `-var=x=1`), as orchestrators and users pass them, read as `--` flags.
/// Single letters (`-v`) and values (`x=-1`) are left alone.
fn terraform_style_args() -> Vec<std::ffi::OsString> {
    std::env::args_os()
        .map(|a| match a.to_str() {
            Some(s)
                if s.len() > 2
                    && s.starts_with('-')
                    && !s.starts_with("--")
                    && s[1..].split('=').next().is_some_and(is_terraform_long_flag) =>
            {
                format!("-{s}").into()
            }
            _ => a,
        })
        .collect()
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse_from(terraform_style_args()) {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout and succeed; anything else is a
            // usage error. Printing ignores a closed pipe.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            });
        }
    };
    init_tracing(cli.verbose);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            out::errln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(exit::ERROR);
        }
    };
    let code = runtime.block_on(commands::run(cli));
    // Everything that matters (state, lock, journal) was awaited above; a
    // thread still blocked on reading the terminal (an interrupted prompt)
    // or on a DNS lookup must not keep the process alive.
    runtime.shutdown_background();
    ExitCode::from(out::finish(code))
}
