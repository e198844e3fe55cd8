//! The commands: each loads what it needs, talks to the engine and turns
//! the outcome into output and an exit code.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::apply::{apply, ApplyInput, ApplyOutcome};
use stackd_engine::check::check_plan;
use stackd_engine::plan::{plan, Plan, PlanError, PlanInput, PlanMode};
use stackd_engine::planfile::{
    self, PlanContext, PlanFileV2, PriorStateV1, Secrets, SpecV1, VariableV1,
};
use stackd_engine::provider::{Provider, ProviderSet};
use stackd_engine::state::{rfc3339_now, LockInfo, State, StateBackend, StateError};
use stackd_engine::tree::{Node, NodeKind};
use stackd_local::LocalProvider;
use stackd_spec::diag::render_all;
use stackd_spec::validate::ConfigNode;
use stackd_spec::Value;

use crate::layout::Options;
use crate::out::{err, errln, out, outln};
use crate::progress::Progress;
use crate::workspace::{self, Reported, Workspace};
use crate::{backend, journal, render};
use crate::{
    exit, usage, ApplyArgs, Cli, Command, CommonArgs, DiffArgs, ForceUnlockArgs, Format,
    ImportTerraformArgs, OutputArgs, PolicyArgs, SpecArgs, StateCommand, UsageError, ValidateArgs,
};

/// Runs a command; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let view = Options {
        ownership_tags: cli.verbose > 0,
    };
    let result = match cli.command {
        Command::Init(a) => init_cmd(&a),
        Command::Import(a) => import_cmd(&a).await,
        Command::Validate(a) => validate(&a),
        Command::Diff(a) => diff(&a, view).await,
        Command::Apply(a) => apply_cmd(&a, PlanMode::Normal, view).await,
        Command::Destroy(a) => apply_cmd(&a, PlanMode::Destroy, view).await,
        Command::Output(a) => output(&a).await,
        Command::Graph(a) => graph(&a),
        Command::State(StateCommand::List(c)) => state_list(&c).await,
        Command::State(StateCommand::Rm { address, common }) => state_rm(&common, &address).await,
        Command::State(StateCommand::Mv {
            source,
            destination,
            common,
        }) => state_mv(&common, &source, &destination).await,
        Command::State(StateCommand::Show { address, common }) => {
            state_show(&common, &address).await
        }
        Command::State(StateCommand::Pull(c)) => state_pull(&c).await,
        Command::State(StateCommand::Push { file, common }) => state_push(&common, &file).await,
        Command::ForceUnlock(a) => force_unlock(&a).await,
        Command::Log(a) => journal::log(&a).await,
        Command::Policy(a) => policy(&a),
        Command::ImportTerraform(a) => import_terraform(&a).await,
    };
    match result {
        Ok(code) => code,
        Err(e) if e.downcast_ref::<Reported>().is_some() => exit::ERROR,
        Err(e) if e.downcast_ref::<UsageError>().is_some() => {
            errln!(
                "{} {e:#}\n\nFor more information, try '--help'.",
                render::error_label()
            );
            exit::USAGE
        }
        Err(e) => {
            errln!("{} {e:#}", render::error_label());
            exit::ERROR
        }
    }
}

fn validate(args: &ValidateArgs) -> Result<u8> {
    let unset = if args.without_inputs {
        workspace::Unset::Unknown
    } else {
        workspace::Unset::Error
    };
    if args.json {
        let checked = workspace::check(&args.spec, &schemas(), unset)?;
        let doc = stackd_spec::diag::to_json(&checked.diags, &checked.config.sources);
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(if checked.has_errors() {
            exit::ERROR
        } else {
            exit::OK
        });
    }
    let ws = workspace::load_with(&args.spec, &schemas(), unset)?;
    workspace::print_warnings(&ws);
    let count = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    let c = &ws.config;
    // Blocks are counted in the whole tree; variables and outputs are the
    // root's (the stack's inputs and outputs).
    let tree = c.tree();
    let blocks = |mode| {
        tree.iter()
            .flat_map(|(_, m)| &m.resources)
            .filter(|r| r.addr.mode == mode)
            .count()
    };
    let mut parts = vec![
        count(blocks(stackd_spec::Mode::Managed), "resource block"),
        count(blocks(stackd_spec::Mode::Data), "data block"),
        count(c.variables.len(), "variable"),
        count(c.outputs.len(), "output"),
    ];
    if !c.modules.is_empty() {
        let calls: usize = tree.iter().map(|(_, m)| m.modules.len()).sum();
        parts.push(count(calls, "module call"));
    }
    outln!("The spec is valid: {}.", parts.join(", "));
    Ok(exit::OK)
}

/// Every schema stackd serves: AWS and local resources.
fn schemas() -> stackd_spec::SchemaSet {
    let mut all = AwsProvider::schema_set();
    all.schemas.extend(LocalProvider::schema_set().schemas);
    all
}

/// The providers a spec is served by: AWS (kept apart too, for the caller
/// identity) and local (relative file paths read against the spec
/// directory, where Terraform would run).
struct Connected {
    aws: Arc<AwsProvider>,
    all: Arc<dyn Provider>,
}

fn aws_settings(ws: &Workspace) -> AwsSettings {
    AwsSettings {
        region: ws.region.clone(),
        profile: ws.profile.clone(),
        // As `path.root` gives it: absolute, so messages name the file.
        root_dir: Some(
            std::fs::canonicalize(&ws.config.dir).unwrap_or_else(|_| ws.config.dir.clone()),
        ),
    }
}

async fn connect(ws: &Workspace) -> Result<Connected> {
    let aws = Arc::new(
        AwsProvider::connect(aws_settings(ws))
            .await
            .map_err(|e| anyhow!("cannot set up the AWS provider: {e}"))?,
    );
    let all: Arc<dyn Provider> = Arc::new(ProviderSet::new(vec![
        aws.clone(),
        Arc::new(LocalProvider::in_dir(&ws.config.dir)),
    ]));
    Ok(Connected { aws, all })
}

async fn make_plan(
    ws: &Workspace,
    state: &State,
    provider: Arc<dyn Provider>,
    mode: PlanMode,
) -> Result<Plan> {
    make_plan_refreshing(ws, state, provider, mode, true).await
}

/// [`make_plan`], reading the managed objects from the cloud or not
/// (`diff --refresh=false`).
async fn make_plan_refreshing(
    ws: &Workspace,
    state: &State,
    provider: Arc<dyn Provider>,
    mode: PlanMode,
    refresh: bool,
) -> Result<Plan> {
    let input = PlanInput {
        config: &ws.config,
        vars: &ws.vars,
        state,
        provider,
        settings: &ws.settings,
        mode,
        refresh,
    };
    match plan(&input).await {
        Ok(p) => {
            if !p.warnings.is_empty() {
                err!("{}", render_all(&p.warnings, &ws.config.sources));
            }
            Ok(p)
        }
        Err(PlanError::Spec(diags)) => {
            err!("{}", render_all(&diags, &ws.config.sources));
            Err(Reported.into())
        }
        Err(PlanError::Provider { type_name, error }) => {
            Err(anyhow!("refreshing {type_name}: {error}"))
        }
    }
}

fn operation_name(mode: PlanMode) -> &'static str {
    match mode {
        PlanMode::Normal => "apply",
        PlanMode::Destroy => "destroy",
    }
}

/// The plan as a document, bound to the state and spec it was made from.
fn plan_document(
    plan: &Plan,
    schemas: &stackd_spec::SchemaSet,
    ws: &Workspace,
    spec_dir: &Path,
    prior_state: PriorStateV1,
    secrets: Secrets,
    mode: PlanMode,
) -> PlanFileV2 {
    PlanFileV2::from_plan(
        plan,
        schemas,
        PlanContext {
            operation: operation_name(mode).to_string(),
            stack: ws.settings.stack.clone(),
            prior_state,
            secrets,
            spec: SpecV1 {
                dir: spec_dir.display().to_string(),
                digest: workspace::spec_digest(ws),
            },
        },
    )
}

/// The values a plan must not show: sensitive variables' values and the
/// sensitive attributes of data sources read while planning.
fn secrets(plan: &Plan, schemas: &stackd_spec::SchemaSet, ws: &Workspace) -> Secrets {
    let sensitive_vars = ws
        .config
        .variables
        .iter()
        .filter(|(_, v)| v.sensitive)
        .filter_map(|(name, _)| ws.vars.get(name));
    Secrets::new(plan, schemas, sensitive_vars)
}

/// What a plan records of the state it was made against; `stored` is
/// false when no state had been saved yet.
fn prior_state(backend: &dyn StateBackend, state: &State, stored: bool) -> PriorStateV1 {
    PriorStateV1 {
        backend: backend.describe(),
        lineage: stored.then(|| state.lineage.clone()),
        serial: state.serial,
    }
}

/// Loads the state (without locking), remembering whether any was stored.
async fn peek_state(backend: &dyn StateBackend, stack: &str) -> Result<(State, bool)> {
    let stored = backend.load().await?;
    let exists = stored.is_some();
    let state = stored.unwrap_or_else(|| State::new(stack));
    if state.stack != stack {
        bail!(
            "the state at {} belongs to stack \"{}\", not \"{stack}\"; pass --stack {} or another --state",
            backend.describe(),
            state.stack,
            state.stack
        );
    }
    Ok((state, exists))
}

async fn diff(args: &DiffArgs, view: Options) -> Result<u8> {
    let ws = workspace::load(&args.spec, &schemas())?;
    workspace::print_warnings(&ws);
    let choice = backend::choose(&args.spec.common, Some(&ws.config))?;
    let backend = choice.open(&aws_settings(&ws)).await?;
    let (state, stored) = peek_state(backend.as_ref(), &ws.settings.stack).await?;
    let providers = connect(&ws).await?;
    let mode = if args.destroy {
        PlanMode::Destroy
    } else {
        PlanMode::Normal
    };
    if !args.refresh && args.out.is_some() {
        bail!(
            "a plan saved with --out is applied against a fresh read of the cloud; \
             make it without --refresh=false"
        );
    }
    let plan = make_plan_refreshing(&ws, &state, providers.all.clone(), mode, args.refresh).await?;
    let schemas = providers.all.schemas();
    let hidden = secrets(&plan, schemas, &ws);
    let text =
        (args.format == Format::Text).then(|| render::plan_text(&plan, schemas, &hidden, view));
    let doc = plan_document(
        &plan,
        schemas,
        &ws,
        &args.spec.common.dir,
        prior_state(backend.as_ref(), &state, stored),
        hidden,
        mode,
    );
    match args.format {
        Format::Text => out!("{}", text.unwrap_or_default()),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&doc)?),
        Format::Markdown => out!("{}", render::plan_markdown(&doc)),
    }
    if let Some(out) = &args.out {
        write_plan(out, &doc.with_variables(&ws.vars))?;
        if args.format == Format::Text {
            outln!(
                "\nSaved the plan to {}; apply exactly it with `stackd apply {}`. It holds the \
                 variable values it was made with, secrets too: it is readable by you only.",
                out.display(),
                out.display()
            );
        }
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        exit::CHANGES
    } else {
        exit::OK
    })
}

/// Writes a plan document atomically (a reader never sees half of it),
/// readable by its owner only: it holds the variable values, secrets too.
fn write_plan(path: &Path, doc: &PlanFileV2) -> Result<()> {
    let mut json = serde_json::to_vec_pretty(doc)?;
    json.push(b'\n');
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let tmp = dir.join(format!(
        ".{}.{}.tmp",
        path.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "plan".into()),
        std::process::id()
    ));
    write_private(&tmp, &json).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| {
        let _ = std::fs::remove_file(&tmp);
        format!("cannot write the plan to {}", path.display())
    })
}

/// Writes a new file that only its owner can read (0600).
fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt;
    let _ = std::fs::remove_file(path);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// The variable values of a saved plan, handed to the spec loader as a
/// private `.tfvars.json` file in a private directory of its own; both
/// are removed once the spec is loaded (on drop).
struct SavedVariables {
    dir: PathBuf,
}

impl SavedVariables {
    const FILE: &'static str = "saved-plan.tfvars.json";

    fn write(values: &BTreeMap<String, VariableV1>) -> Result<SavedVariables> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let dir = std::env::temp_dir().join(format!("stackd-{}-{nanos}", std::process::id()));
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let saved = SavedVariables { dir };
        let json: serde_json::Map<String, serde_json::Value> = values
            .iter()
            .map(|(k, v)| (k.clone(), v.value.clone()))
            .collect();
        write_private(&saved.file(), &serde_json::to_vec(&json)?)
            .with_context(|| format!("cannot write {}", saved.file().display()))?;
        Ok(saved)
    }

    fn file(&self) -> PathBuf {
        self.dir.join(Self::FILE)
    }
}

impl Drop for SavedVariables {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Reads a plan saved by `stackd diff --out`.
fn read_plan(path: &Path) -> Result<PlanFileV2> {
    let spec_file = path
        .extension()
        .is_some_and(|e| e == "tf" || e == "hcl" || e == "tfvars");
    if spec_file {
        // `stackd apply main.tf`: a spec file, not a plan.
        workspace::check_spec_dir(path)?;
    }
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read plan {}", path.display()))?;
    Ok(PlanFileV2::parse(&bytes, &path.display().to_string())?)
}

async fn apply_cmd(args: &ApplyArgs, mode: PlanMode, view: Options) -> Result<u8> {
    let saved = if args.spec.common.dir.is_file() {
        if args.dry_run {
            return Err(usage(
                "--dry-run checks a fresh plan, not a saved one; run `stackd apply --dry-run DIR`",
            ));
        }
        Some(read_plan(&args.spec.common.dir)?)
    } else {
        None
    };
    let (spec_args, mode, saved_vars) = match &saved {
        Some(doc) => saved_plan_target(args, doc, mode)?,
        None => (args.spec.clone(), mode, None),
    };
    let ws = workspace::load(&spec_args, &schemas())?;
    drop(saved_vars);
    workspace::print_warnings(&ws);
    if let Some(doc) = &saved {
        if doc.spec.digest != workspace::spec_digest(&ws) {
            bail!(
                "the spec in {} or its variables changed since the plan {} was made; \
                 nothing was applied. Make a new plan with `stackd diff --out`",
                spec_args.common.dir.display(),
                args.spec.common.dir.display()
            );
        }
    }
    let choice = match &saved {
        Some(doc) => saved_plan_backend(&spec_args.common, &ws, doc)?,
        None => backend::choose(&spec_args.common, Some(&ws.config))?,
    };
    let backend = choice.open(&aws_settings(&ws)).await?;
    if args.dry_run {
        return dry_run(&ws, backend.as_ref(), mode, view).await;
    }
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if saved.is_none() && !args.auto_approve && !interactive {
        bail!("not on a terminal, so stackd cannot ask for approval; review with `stackd diff` and pass --auto-approve");
    }
    let providers = connect(&ws).await?;
    let identity = match providers.aws.caller_identity().await {
        Ok(id) => Some(id.arn),
        Err(e) => {
            errln!("warning: cannot tell which AWS identity runs stackd ({e}); the lock and journal will say \"unknown\"");
            None
        }
    };
    let holder = LockInfo::new(operation_name(mode)).with_identity(identity);
    let lock = backend.lock(holder.clone()).await?;
    // From here on an interrupt (Ctrl-C, or the SIGTERM a CI runner sends
    // on cancel) must still release the lock: it stops planning or the
    // prompt at once, and lets operations in flight finish during apply.
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    let signals = tokio::spawn(watch_signals(cancel_tx, backend.describe()));
    let result = apply_locked(LockedRun {
        args,
        ws: &ws,
        spec_args: &spec_args,
        backend: backend.as_ref(),
        providers: &providers,
        mode,
        saved: saved.as_ref(),
        holder: &holder,
        cancel: cancel_rx,
        view,
    })
    .await;
    if let Err(e) = lock.release().await {
        errln!(
            "{} cannot release the state lock: {e}; once no stackd runs, `stackd force-unlock` clears it",
            render::error_label()
        );
    }
    // Only now: a second interrupt while the lock is being released must
    // still end the process (the signal handler stays installed for good).
    signals.abort();
    result
}

/// Turns the first SIGINT or SIGTERM into a cancel request; a second one
/// abandons the run at once (the lock may then be left behind).
async fn watch_signals(cancel: tokio::sync::watch::Sender<bool>, state: String) {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        return;
    };
    let mut next = async || {
        tokio::select! {
            r = tokio::signal::ctrl_c() => r.is_ok(),
            r = term.recv() => r.is_some(),
        }
    };
    if !next().await {
        return;
    }
    errln!(
        "\nInterrupted: stopping; operations in flight finish and are recorded, then the lock is \
         released. Interrupt again to abandon them."
    );
    let _ = cancel.send(true);
    if next().await {
        errln!("Abandoned. If the lock on {state} is still there once no stackd runs, `stackd force-unlock` removes it.");
        std::process::exit(i32::from(crate::exit::ABANDONED));
    }
}

/// Resolves once a cancel is requested (never, if the sender is gone).
async fn cancelled(mut cancel: tokio::sync::watch::Receiver<bool>) {
    if cancel.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// Where a saved plan's state lives: the spec's own backend when it is the
/// one recorded in the plan (keeping its region and profile), else the
/// recorded location itself (the plan was made with `--backend` or
/// `--state`).
fn saved_plan_backend(
    common: &CommonArgs,
    ws: &Workspace,
    doc: &PlanFileV2,
) -> Result<backend::BackendChoice> {
    let recorded = &doc.prior_state.backend;
    let from_spec = backend::choose(common, Some(&ws.config))?;
    if &from_spec.describe() == recorded {
        return Ok(from_spec);
    }
    let url = if recorded.starts_with("s3://") {
        recorded.clone()
    } else {
        format!("file://{recorded}")
    };
    backend::choose(
        &CommonArgs {
            backend: Some(url),
            ..common.clone()
        },
        None,
    )
}

/// Everything an apply does while holding the state lock.
struct LockedRun<'a> {
    args: &'a ApplyArgs,
    ws: &'a Workspace,
    spec_args: &'a SpecArgs,
    backend: &'a dyn StateBackend,
    providers: &'a Connected,
    mode: PlanMode,
    saved: Option<&'a PlanFileV2>,
    holder: &'a LockInfo,
    cancel: tokio::sync::watch::Receiver<bool>,
    view: Options,
}

/// For `stackd apply plan.json`: the spec, state, stack and variable
/// values the plan was made with. (A plan saved by a stackd that did not
/// record variables takes them from this command line; they must match.)
fn saved_plan_target(
    args: &ApplyArgs,
    doc: &PlanFileV2,
    mode: PlanMode,
) -> Result<(SpecArgs, PlanMode, Option<SavedVariables>)> {
    let planned = match doc.operation.as_str() {
        "apply" => PlanMode::Normal,
        "destroy" => PlanMode::Destroy,
        other => bail!("the plan's operation \"{other}\" is neither apply nor destroy"),
    };
    if mode == PlanMode::Destroy && planned != PlanMode::Destroy {
        return Err(usage(format!(
            "{} is a plan to apply, not to destroy; run `stackd apply {}`",
            args.spec.common.dir.display(),
            args.spec.common.dir.display()
        )));
    }
    if args.spec.common.state.is_some()
        || args.spec.common.backend.is_some()
        || args.spec.common.stack.is_some()
    {
        return Err(usage(
            "a saved plan records its state and stack; --state, --backend and --stack cannot change them",
        ));
    }
    // The backend is chosen again from the spec (so a backend block's
    // region and profile still apply) and must be the recorded one; see
    // `saved_plan_backend`.
    let common = CommonArgs {
        dir: PathBuf::from(&doc.spec.dir),
        state: None,
        backend: None,
        stack: Some(doc.stack.clone()),
    };
    let Some(values) = &doc.variables else {
        let spec = SpecArgs {
            common,
            vars: args.spec.vars.clone(),
            var_files: args.spec.var_files.clone(),
        };
        return Ok((spec, planned, None));
    };
    if !args.spec.vars.is_empty() || !args.spec.var_files.is_empty() {
        return Err(usage(
            "a saved plan carries the variable values it was made with; --var and --var-file \
             cannot change them (make a new plan with `stackd diff --out` instead)",
        ));
    }
    let saved = SavedVariables::write(values)?;
    let spec = SpecArgs {
        common,
        vars: Vec::new(),
        var_files: vec![saved.file()],
    };
    Ok((spec, planned, Some(saved)))
}

async fn apply_locked(run: LockedRun<'_>) -> Result<u8> {
    let LockedRun {
        args,
        ws,
        spec_args,
        backend,
        providers,
        mode,
        saved,
        holder,
        cancel,
        view,
    } = run;
    const STOPPED: &str = "interrupted before any change was made";
    let started = std::time::Instant::now();
    let started_at = rfc3339_now();
    let (mut state, stored) = peek_state(backend, &ws.settings.stack).await?;
    if let Some(doc) = saved.filter(|d| !stored && !d.stack_id.is_empty()) {
        // A first apply of a saved plan: the new state takes the identity
        // the plan's ownership tags were planned with.
        state.lineage = doc.stack_id.clone();
    }
    if let Some(doc) = saved {
        let now_lineage = stored.then(|| state.lineage.clone());
        if doc.prior_state.lineage != now_lineage || doc.prior_state.serial != state.serial {
            bail!(
                "the state at {} changed since the plan was made (planned against serial {}, now serial {}{}); \
                 nothing was applied. Make a new plan with `stackd diff --out`",
                backend.describe(),
                doc.prior_state.serial,
                state.serial,
                if doc.prior_state.lineage != now_lineage { ", another lineage" } else { "" }
            );
        }
    }
    let provider = providers.all.clone();
    let plan = tokio::select! {
        plan = make_plan(ws, &state, provider.clone(), mode) => plan?,
        () = cancelled(cancel.clone()) => bail!(STOPPED),
    };
    let hidden = secrets(&plan, provider.schemas(), ws);
    let text = render::plan_text(&plan, provider.schemas(), &hidden, view);
    let doc = plan_document(
        &plan,
        provider.schemas(),
        ws,
        &spec_args.common.dir,
        prior_state(backend, &state, stored),
        hidden,
        mode,
    );
    if let Some(saved) = saved {
        if saved.plan_digest != doc.plan_digest {
            let mut msg = String::from(
                "the cloud no longer matches what the saved plan was made against; nothing was applied:\n",
            );
            for d in planfile::differences(saved, &doc) {
                msg.push_str(&format!("  - {d}\n"));
            }
            msg.push_str("Make a new plan with `stackd diff --out` and review it.");
            bail!(msg);
        }
    }
    out!("{text}");
    if plan.is_empty() {
        if mode == PlanMode::Normal {
            out!("{}", render::outputs_text(&state));
        }
        return Ok(exit::OK);
    }
    if saved.is_none() && !args.auto_approve {
        let answer = tokio::select! {
            a = ask_approval(mode) => a?,
            () = cancelled(cancel.clone()) => bail!(STOPPED),
        };
        if !answer {
            outln!("Cancelled; nothing was changed.");
            return Ok(exit::ERROR);
        }
    }
    if *cancel.borrow() {
        bail!(STOPPED);
    }
    let progress = Progress::new(render::planned_operations(&plan));
    let outcome = apply(
        &plan,
        &mut state,
        ApplyInput {
            config: &ws.config,
            vars: &ws.vars,
            settings: &ws.settings,
            provider,
            backend,
            parallelism: args.parallelism as usize,
            reporter: &progress,
            cancel,
        },
    )
    .await;
    progress.finish();
    let entry = journal::entry(
        journal::Run {
            operation: operation_name(mode),
            stack: &ws.settings.stack,
            started_at,
            duration: started.elapsed(),
            holder,
            plan_digest: &doc.plan_digest,
            serial: state.serial,
        },
        &plan,
        outcome.as_ref().ok(),
    );
    let journaled = backend.append_journal(&entry).await;
    if let Err(e) = &journaled {
        errln!(
            "{} the journal entry for this run could not be written: {e}",
            render::error_label()
        );
    }
    let outcome = outcome.context("apply stopped")?;
    let code = summarise(&outcome, &state, mode);
    Ok(if journaled.is_err() { 1 } else { code })
}

/// `apply --dry-run`: plan, check every change against the cloud, change
/// nothing. Exit 0 when the plan would go through, 2 when it would not.
async fn dry_run(
    ws: &Workspace,
    backend: &dyn StateBackend,
    mode: PlanMode,
    view: Options,
) -> Result<u8> {
    let (state, _) = peek_state(backend, &ws.settings.stack).await?;
    let providers = connect(ws).await?;
    let plan = make_plan(ws, &state, providers.all.clone(), mode).await?;
    let schemas = providers.all.schemas();
    out!(
        "{}",
        render::plan_text(&plan, schemas, &secrets(&plan, schemas, ws), view)
    );
    let report = check_plan(&plan, providers.all.clone()).await;
    out!("{}", render::check_report(&report));
    Ok(if report.passes() {
        exit::OK
    } else {
        exit::CHANGES
    })
}

/// Asks for approval on the terminal. Reading blocks, so it happens on a
/// thread of its own that nothing ever waits for (not tokio's blocking
/// pool, which the runtime waits for at exit): an interrupt at the prompt
/// ends the run at once instead of after the next Enter.
async fn ask_approval(mode: PlanMode) -> Result<bool> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("approval prompt".into())
        .spawn(move || {
            let _ = tx.send(confirm(mode));
        })
        .context("cannot start the approval prompt")?;
    rx.await
        .map_err(|_| anyhow!("the approval prompt ended without an answer"))?
}

fn confirm(mode: PlanMode) -> Result<bool> {
    let verb = if mode == PlanMode::Destroy {
        "destroy these resources"
    } else {
        "apply these changes"
    };
    out!("\nDo you want to {verb}? Only 'yes' will be accepted: ");
    crate::out::flush_stdout();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the answer")?;
    Ok(line.trim() == "yes")
}

fn summarise(outcome: &ApplyOutcome, state: &State, mode: PlanMode) -> u8 {
    outln!(
        "\n{}",
        render::apply_summary(outcome, mode == PlanMode::Destroy)
    );
    if outcome.is_success() {
        if mode == PlanMode::Normal {
            out!("{}", render::outputs_text(state));
        }
        return exit::OK;
    }
    for (addr, op, err) in &outcome.failed {
        outln!("  {} {addr} ({op}): {err}", render::error_label());
    }
    for (addr, why) in &outcome.skipped {
        outln!("  - {addr}: {why}");
    }
    outln!("State is saved; fix the cause and run the command again to continue.");
    exit::ERROR
}

/// Loads the state for a command that reads it without a spec (`output`,
/// `state list|show|pull`), warning when it belongs to another stack than
/// the current one (`--stack`, else the spec directory's name): the
/// commands that plan refuse such a state, these only read it.
async fn load_state(common: &CommonArgs, backend: &dyn StateBackend) -> Result<Option<State>> {
    let state = backend.load().await?;
    if let (Some(found), Ok(current)) = (&state, workspace::stack_name(common)) {
        if found.stack != current {
            errln!(
                "{} the state at {} belongs to stack \"{}\", not to \"{current}\" (named by \
                 --stack or, without it, by the spec directory); pass --stack {} if that is \
                 the one you mean",
                render::warning_label(),
                backend.describe(),
                found.stack,
                found.stack
            );
        }
    }
    Ok(state)
}

async fn output(args: &OutputArgs) -> Result<u8> {
    let backend = backend::open_for_dir(&args.common).await?;
    let Some(state) = load_state(&args.common, backend.as_ref()).await? else {
        bail!(
            "no state at {}: nothing has been applied yet",
            backend.describe()
        );
    };
    if let Some(name) = &args.name {
        let o = state.outputs.get(name).ok_or_else(|| {
            anyhow!(
                "no output named \"{name}\"; outputs are: {}",
                state.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
            )
        })?;
        match &o.value {
            stackd_spec::Value::String(s) => outln!("{s}"),
            v => outln!("{}", serde_json::to_string_pretty(&v.to_json())?),
        }
        return Ok(exit::OK);
    }
    if args.json {
        let map: serde_json::Map<String, serde_json::Value> = state
            .outputs
            .iter()
            .map(|(k, o)| {
                (
                    k.clone(),
                    serde_json::json!({"value": o.value.to_json(), "sensitive": o.sensitive}),
                )
            })
            .collect();
        outln!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        out!("{}", render::outputs_text(&state));
    }
    Ok(exit::OK)
}

fn init_cmd(args: &crate::InitArgs) -> Result<u8> {
    workspace::check_spec_dir(&args.dir)?;
    let fetched = crate::init::init(&args.dir, args.upgrade)?;
    if fetched.modules.is_empty() {
        outln!(
            "Every git module is fetched; nothing to do (stackd init -upgrade fetches them again)."
        );
    } else {
        for (key, source, commit) in &fetched.modules {
            outln!("module {key}: {source} at {commit}");
        }
        outln!(
            "Fetched {} git module(s) into {}; commits recorded in {}.",
            fetched.modules.len(),
            stackd_spec::modules::CACHE_DIR,
            stackd_spec::modules::LOCK_FILE
        );
    }
    Ok(exit::OK)
}

fn graph(args: &SpecArgs) -> Result<u8> {
    let ws = workspace::load(args, &schemas())?;
    // The whole tree's graph: nodes carry their module path
    // (`module.network.aws_vpc.this`, `module.network.var.cidr`).
    let graph = stackd_engine::tree::Graph::new(&ws.config);
    let root_output =
        |n: &Node| n.module.is_empty() && matches!(n.kind, NodeKind::Config(ConfigNode::Output(_)));
    outln!("digraph stackd {{\n  rankdir = \"RL\";\n  node [shape = box];");
    for (node, ds) in graph.edges() {
        if root_output(node) {
            continue;
        }
        outln!("  {:?};", node.to_string());
        for d in ds {
            outln!("  {:?} -> {:?};", node.to_string(), d.to_string());
        }
    }
    outln!("}}");
    Ok(exit::OK)
}

async fn state_list(common: &CommonArgs) -> Result<u8> {
    let backend = backend::open_for_dir(common).await?;
    if let Some(state) = load_state(common, backend.as_ref()).await? {
        for addr in state.resources.keys() {
            outln!("{addr}");
        }
    }
    Ok(exit::OK)
}

async fn state_show(common: &CommonArgs, address: &str) -> Result<u8> {
    let backend = backend::open_for_dir(common).await?;
    let addr: stackd_spec::Address = address.parse()?;
    let state = load_state(common, backend.as_ref())
        .await?
        .ok_or_else(|| anyhow!("no state at {}", backend.describe()))?;
    let r = state
        .resources
        .get(&addr)
        .ok_or_else(|| anyhow!("{addr} is not in the state at {}", backend.describe()))?;
    // Secrets are shown as Terraform's `state show` does: "(sensitive
    // value)" for sensitive attributes and for any value holding a secret
    // the state or the spec knows of (an SSM parameter's value copied into
    // a tag).
    let schemas = schemas();
    let secrets = Secrets::of_state(
        &state,
        &schemas,
        &workspace::sensitive_values_quietly(&common.dir),
    );
    let schema = schemas.get(addr.block.mode, &addr.block.type_name);
    let mut shown = serde_json::Map::new();
    if let Value::Map(attrs) = &r.attrs {
        for (name, v) in attrs {
            let sensitive = schema
                .and_then(|s| s.body.attrs.iter().find(|a| a.name == name))
                .is_some_and(|a| a.sensitive);
            let json = if sensitive && !v.is_null() {
                serde_json::Value::String(SENSITIVE_SHOWN.into())
            } else {
                redacted_json(v, &secrets)
            };
            shown.insert(name.clone(), json);
        }
    }
    outln!("# {addr}\nid = {:?}", r.id);
    outln!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(exit::OK)
}

/// What stands for a value that is not shown.
const SENSITIVE_SHOWN: &str = "(sensitive value)";

/// `v` as JSON with every value that holds a secret replaced by
/// [`SENSITIVE_SHOWN`], map by map and item by item.
fn redacted_json(v: &Value, secrets: &Secrets) -> serde_json::Value {
    match v {
        Value::Map(m) => m
            .iter()
            .map(|(k, v)| (k.clone(), redacted_json(v, secrets)))
            .collect::<serde_json::Map<_, _>>()
            .into(),
        Value::List(items) => items
            .iter()
            .map(|i| redacted_json(i, secrets))
            .collect::<Vec<_>>()
            .into(),
        leaf if secrets.hides(leaf) => serde_json::Value::String(SENSITIVE_SHOWN.into()),
        leaf => leaf.to_json(),
    }
}

async fn state_pull(common: &CommonArgs) -> Result<u8> {
    let backend = backend::open_for_dir(common).await?;
    let state = load_state(common, backend.as_ref())
        .await?
        .ok_or_else(|| anyhow!("no state at {}", backend.describe()))?;
    let place = PathBuf::from(backend.describe());
    let json = stackd_engine::state::StateFileV1::from_state(&state).to_json(&place)?;
    crate::out::stdout_bytes(&json);
    Ok(exit::OK)
}

/// What `state rm` and `state mv` are given: a module, a whole resource
/// (every instance) or one instance.
#[derive(Clone, Debug, PartialEq)]
enum StateTarget {
    Module(Vec<stackd_spec::ModuleStep>),
    Resource(stackd_spec::BlockAddress),
    Instance(stackd_spec::Address),
}

impl StateTarget {
    fn parse(text: &str) -> Result<StateTarget> {
        if let Ok(a) = text.parse::<stackd_spec::Address>() {
            return Ok(match a.key {
                Some(_) => StateTarget::Instance(a),
                None => StateTarget::Resource(a.block),
            });
        }
        if text.starts_with("module.") {
            if let Ok(a) = format!("{text}.x_y.z").parse::<stackd_spec::Address>() {
                return Ok(StateTarget::Module(a.block.module));
            }
        }
        bail!("{text:?} is not an address: write aws_subnet.a, aws_subnet.a[\"x\"] or module.net")
    }

    fn matches(&self, a: &stackd_spec::Address) -> bool {
        match self {
            StateTarget::Module(m) => a.block.module.starts_with(m),
            StateTarget::Resource(b) => &a.block == b,
            StateTarget::Instance(i) => a == i,
        }
    }

    /// Where `a` (which this matches) goes when this is moved to `to`.
    fn moved(&self, to: &StateTarget, a: &stackd_spec::Address) -> Option<stackd_spec::Address> {
        match (self, to) {
            (StateTarget::Module(from), StateTarget::Module(to)) => {
                let mut out = a.clone();
                out.block.module = to.clone();
                out.block
                    .module
                    .extend_from_slice(&a.block.module[from.len()..]);
                Some(out)
            }
            (StateTarget::Resource(_), StateTarget::Resource(to)) => {
                Some(to.instance(a.key.clone()))
            }
            (StateTarget::Instance(_), StateTarget::Instance(to)) => Some(to.clone()),
            _ => None,
        }
    }
}

/// Runs `change` on the state under its lock and saves it when it says so.
async fn with_locked_state<F>(common: &CommonArgs, what: &str, change: F) -> Result<String>
where
    F: FnOnce(&mut State) -> Result<Option<String>>,
{
    let backend = backend::open_for_dir(common).await?;
    let lock = backend.lock(LockInfo::new(what)).await?;
    let result = async {
        let Some(mut state) = backend.load().await? else {
            bail!("{} holds no state: nothing to change", backend.describe());
        };
        match change(&mut state)? {
            Some(message) => {
                backend.save(&mut state).await?;
                Ok(message)
            }
            None => Ok(String::new()),
        }
    }
    .await;
    let released = lock.release().await;
    let message = result?;
    released.context("the state was changed, but its lock could not be released")?;
    Ok(message)
}

async fn state_rm(common: &CommonArgs, address: &str) -> Result<u8> {
    let target = StateTarget::parse(address)?;
    let message = with_locked_state(common, "state rm", |state| {
        let gone: Vec<stackd_spec::Address> = state
            .resources
            .keys()
            .filter(|a| target.matches(a))
            .cloned()
            .collect();
        if gone.is_empty() {
            bail!("the state records nothing at {address}");
        }
        for a in &gone {
            state.release(a);
        }
        Ok(Some(format!(
            "Removed {} from the state: {}.\nTheir objects are left in the cloud, still tagged; \
             stackd no longer manages them and will not delete them. Remove the blocks from the \
             spec too, or the next apply creates them again.",
            if gone.len() == 1 {
                "1 instance".to_string()
            } else {
                format!("{} instances", gone.len())
            },
            gone.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )))
    })
    .await?;
    outln!("{message}");
    Ok(exit::OK)
}

async fn state_mv(common: &CommonArgs, source: &str, destination: &str) -> Result<u8> {
    let from = StateTarget::parse(source)?;
    let to = StateTarget::parse(destination)?;
    let message = with_locked_state(common, "state mv", |state| {
        let pairs: Vec<(stackd_spec::Address, stackd_spec::Address)> = state
            .resources
            .keys()
            .filter(|a| from.matches(a))
            .map(|a| {
                from.moved(&to, a).map(|b| (a.clone(), b)).ok_or_else(|| {
                    anyhow!(
                        "cannot move {source} to {destination}: a module moves to a module, a \
                             resource to a resource, an instance to an instance"
                    )
                })
            })
            .collect::<Result<_>>()?;
        if pairs.is_empty() {
            bail!("the state records nothing at {source}");
        }
        for (a, b) in &pairs {
            if state.resources.contains_key(b) {
                bail!("the state already records {b}: nothing was moved");
            }
            if b.block.type_name != a.block.type_name {
                bail!(
                    "{a} is a {}, {b} a {}: a move keeps the type",
                    a.block.type_name,
                    b.block.type_name
                );
            }
        }
        for (a, b) in &pairs {
            stackd_engine::plan::rename(state, a, b);
        }
        Ok(Some(
            pairs
                .iter()
                .map(|(a, b)| format!("Moved {a} to {b}."))
                .collect::<Vec<_>>()
                .join("\n"),
        ))
    })
    .await?;
    outln!("{message}");
    Ok(exit::OK)
}

async fn state_push(common: &CommonArgs, file: &Path) -> Result<u8> {
    let bytes =
        std::fs::read(file).with_context(|| format!("cannot read state {}", file.display()))?;
    let mut state = stackd_engine::state::decode(&bytes, file)?;
    let backend = backend::open_for_dir(common).await?;
    let lock = backend.lock(LockInfo::new("state push")).await?;
    let pushed = backend.save(&mut state).await;
    let released = lock.release().await;
    pushed?;
    released.context("the state was pushed, but its lock could not be released")?;
    outln!(
        "Pushed stack \"{}\" ({} resources) to {} as serial {}.",
        state.stack,
        state.resources.len(),
        backend.describe(),
        state.serial
    );
    Ok(exit::OK)
}

/// `stackd import ADDRESS ID [DIR]`: records an existing object at an
/// address of the spec, read by its ID. The cloud is not changed.
async fn import_cmd(args: &crate::ImportArgs) -> Result<u8> {
    let ws = workspace::load(&args.spec, &schemas())?;
    workspace::print_warnings(&ws);
    let address: stackd_spec::Address = args.address.parse().map_err(|e| anyhow!("{e}"))?;
    if address.block.mode != stackd_spec::Mode::Managed
        || ws.config.block_at(&address.block).is_none()
    {
        bail!(
            "the spec declares no resource {}: add its block before importing",
            address.block
        );
    }
    let choice = backend::choose(&args.spec.common, Some(&ws.config))?;
    let backend = choice.open(&aws_settings(&ws)).await?;
    let providers = connect(&ws).await?;
    let lock = backend.lock(LockInfo::new("import")).await?;
    let result = async {
        let (mut state, _) = peek_state(backend.as_ref(), &ws.settings.stack).await?;
        if let Some(r) = state.resources.get(&address) {
            bail!(
                "the state already records {address} (ID {}); nothing was imported",
                r.id
            );
        }
        let schemas = providers.all.schemas();
        let req = stackd_engine::provider::RefreshRequest {
            type_name: schemas
                .canonical(stackd_spec::Mode::Managed, &address.block.type_name)
                .to_string(),
            owner: ws.settings.owner(&state),
            known: vec![stackd_engine::provider::KnownResource {
                address: address.clone(),
                id: args.id.clone(),
                attrs: Value::Null,
            }],
        };
        let live = providers
            .all
            .refresh(&req)
            .await
            .map_err(|e| anyhow!("reading {} {}: {e}", address.block.type_name, args.id))?;
        // The object with the ID given, or the one found for the address
        // under another ID (an import ID need not be the object's: a default
        // route table is imported by its VPC's ID, as in Terraform).
        let mut live = live;
        let index = live.iter().position(|l| l.id == args.id).or_else(|| {
            live.iter()
                .position(|l| l.address.as_ref() == Some(&address))
        });
        let Some(object) = index.map(|i| live.swap_remove(i)) else {
            bail!(
                "no {} with ID {:?} was found",
                address.block.type_name,
                args.id
            );
        };
        state.released.retain(|r| r.id != object.id);
        // What it depends on by the spec, as an apply would record it: a
        // destroy before the next apply deletes it in order.
        let dependencies = stackd_engine::tree::Graph::new(&ws.config)
            .recorded_deps(&address, state.resources.keys());
        let mut recorded =
            stackd_engine::state::ResourceState::new(object.id.clone(), object.attrs);
        recorded.dependencies = dependencies;
        state.record(address.clone(), recorded);
        backend.save(&mut state).await?;
        Ok(object.id)
    }
    .await;
    let released = lock.release().await;
    let id = result?;
    released.context("the object was imported, but the state's lock could not be released")?;
    outln!(
        "Imported {address} ({id}). Nothing in the cloud changed; run `stackd diff` to see what \
         the next apply changes (at least the ownership tags)."
    );
    Ok(exit::OK)
}

/// `stackd import-terraform TFSTATE [DIR]`: a new state for this stack
/// from a Terraform state. Refuses to replace a state that exists; lists
/// what it does not take, and what it takes that the spec does not name
/// (the next plan would destroy those).
async fn import_terraform(args: &ImportTerraformArgs) -> Result<u8> {
    let common = &args.common;
    let source = args.tfstate.to_string_lossy().into_owned();
    let bytes = if source.starts_with("s3://") {
        // A Terraform state in its S3 backend: read as it is, with the
        // spec's provider settings (region, profile) or the SDK's chain.
        let location = stackd_aws::state_s3::S3Location::parse(&source).map_err(|e| anyhow!(e))?;
        let s3 =
            stackd_aws::state_s3::S3Backend::connect(&backend::settings_for_dir(common), location)
                .await?;
        s3.read_raw()
            .await?
            .ok_or_else(|| anyhow!("there is no Terraform state at {source}"))?
    } else {
        std::fs::read(&args.tfstate).with_context(|| {
            format!("cannot read the Terraform state {}", args.tfstate.display())
        })?
    };
    let stack = workspace::stack_name(common)?;
    let schemas = schemas();
    let imported =
        stackd_engine::state::terraform::import_v4(&bytes, &args.tfstate, &stack, &schemas)?;
    let mut state = imported.state;
    let backend = backend::open_for_dir(common).await?;
    let lock = backend.lock(LockInfo::new("import-terraform")).await?;
    let result = async {
        if let Some(existing) = backend.load().await? {
            bail!(
                "{} already holds stack \"{}\"'s state ({} resources); import-terraform starts a \
                 state and never replaces one",
                backend.describe(),
                existing.stack,
                existing.resources.len()
            );
        }
        backend.save(&mut state).await?;
        Ok(())
    }
    .await;
    let released = lock.release().await;
    result?;
    released.context("the state was written, but its lock could not be released")?;
    for s in &imported.skipped {
        errln!(
            "{} not imported: {}: {}",
            render::warning_label(),
            s.address,
            s.why
        );
    }
    if let Ok((config, _)) = stackd_spec::config::Config::load_dir(&common.dir) {
        let in_spec: std::collections::BTreeSet<(String, String)> = config
            .resources
            .iter()
            .filter(|r| r.addr.mode == stackd_spec::Mode::Managed)
            .map(|r| (r.addr.type_name.clone(), r.addr.name.clone()))
            .collect();
        for address in state.resources.keys() {
            let block = (address.block.type_name.clone(), address.block.name.clone());
            if !in_spec.contains(&block) {
                errln!(
                    "{} {address} is not in the spec at {}: the next plan would destroy it",
                    render::warning_label(),
                    common.dir.display()
                );
            }
        }
    }
    outln!(
        "Imported {} resources from {} into stack \"{}\" at {}; {} not imported. Run `stackd \
         diff` to see what the next apply changes (at least the ownership tags).",
        state.resources.len(),
        args.tfstate.display(),
        state.stack,
        backend.describe(),
        imported.skipped.len()
    );
    Ok(exit::OK)
}

/// `stackd policy`: the IAM policy that applying, planning, checking and
/// destroying this spec needs, from the resource types it uses (and the
/// state bucket when the state lives in S3). Makes no network call.
fn policy(args: &PolicyArgs) -> Result<u8> {
    use stackd_aws::policy::{
        policy_document, policy_size, split_document, PolicyContext, MANAGED_POLICY_MAX_CHARS,
    };
    let schemas = schemas();
    let ws = workspace::load(&args.spec, &schemas)?;
    workspace::print_warnings(&ws);
    // By the type each block is (`aws_alb` is `aws_lb`).
    let types: std::collections::BTreeSet<String> = ws
        .config
        .resources
        .iter()
        .map(|r| {
            let name = schemas.canonical(r.addr.mode, &r.addr.type_name);
            match r.addr.mode {
                stackd_spec::Mode::Data => format!("data.{name}"),
                stackd_spec::Mode::Managed => name.to_string(),
            }
        })
        .collect();
    let region = ws
        .region
        .clone()
        .or_else(|| std::env::var("AWS_REGION").ok());
    let ctx = PolicyContext::new(region.as_deref(), args.account.as_deref());
    let choice = backend::choose(&args.spec.common, Some(&ws.config))?;
    let state_bucket = choice
        .s3_location()
        .map(|l| (l.bucket.as_str(), l.key.as_str()));
    let doc = policy_document(&types, &ctx, state_bucket);
    let size = policy_size(&doc);
    if args.split {
        let docs = split_document(&doc, MANAGED_POLICY_MAX_CHARS);
        outln!("{}", serde_json::to_string_pretty(&docs)?);
    } else {
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        if size > MANAGED_POLICY_MAX_CHARS {
            errln!(
                "note: this policy is {size} characters; one managed policy holds {MANAGED_POLICY_MAX_CHARS}. \
                 `stackd policy --split` prints it as {} managed policies to attach together.",
                split_document(&doc, MANAGED_POLICY_MAX_CHARS).len()
            );
        }
    }
    Ok(exit::OK)
}

async fn force_unlock(args: &ForceUnlockArgs) -> Result<u8> {
    let backend = backend::open_for_dir(&args.common).await?;
    let removed = if args.force {
        backend.break_lock().await
    } else {
        backend.force_unlock().await
    };
    match removed {
        Ok(Some(holder)) => outln!("Removed the lock held by {holder}."),
        Ok(None) => outln!("{} is not locked.", backend.describe()),
        Err(StateError::Locked { holder, .. }) => bail!(
            "the lock on {} is held by a stackd that is still running: {holder}.\n\
             Let it finish, or stop it (pid {} on {}); `stackd force-unlock --force` removes \
             the lock anyway, and both runs may then write the state",
            backend.describe(),
            holder.pid,
            holder.host
        ),
        Err(e) => return Err(e.into()),
    }
    Ok(exit::OK)
}
