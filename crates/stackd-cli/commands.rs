//! The commands: each loads what it needs, talks to the engine and turns
//! the outcome into output and an exit code.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use stackd_aws::{AwsProvider, AwsSettings};
use stackd_engine::apply::{apply, ApplyInput, ApplyOutcome};
use stackd_engine::plan::{plan, Plan, PlanError, PlanInput, PlanMode};
use stackd_engine::provider::{Provider, ProviderSet};
use stackd_engine::state::{State, StateBackend, StateError};
use stackd_local::LocalProvider;
use stackd_spec::diag::render_all;
use stackd_spec::validate::{config_dependencies, ConfigNode};

use crate::progress::Progress;
use crate::render;
use crate::workspace::{self, Reported, Workspace};
use crate::{
    ApplyArgs, Cli, Command, CommonArgs, DiffArgs, Format, OutputArgs, SpecArgs, StateCommand,
};

/// Runs a command; returns the process exit code.
pub async fn run(cli: Cli) -> u8 {
    let result = match cli.command {
        Command::Validate(a) => validate(&a),
        Command::Diff(a) => diff(&a).await,
        Command::Apply(a) => apply_cmd(&a, PlanMode::Normal).await,
        Command::Destroy(a) => apply_cmd(&a, PlanMode::Destroy).await,
        Command::Output(a) => output(&a).await,
        Command::Graph(a) => graph(&a),
        Command::State(StateCommand::List(c)) => state_list(&c).await,
        Command::State(StateCommand::Show { address, common }) => {
            state_show(&common, &address).await
        }
        Command::ForceUnlock(c) => force_unlock(&c).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            if e.downcast_ref::<Reported>().is_none() {
                eprintln!("{} {e:#}", render::error_label());
            }
            1
        }
    }
}

fn validate(args: &SpecArgs) -> Result<u8> {
    let ws = workspace::load(args, &schemas())?;
    workspace::print_warnings(&ws);
    println!(
        "The spec is valid: {} resource blocks, {} variables, {} outputs.",
        ws.config.resources.len(),
        ws.config.variables.len(),
        ws.config.outputs.len()
    );
    Ok(0)
}

/// Every schema stackd serves: AWS and local resources.
fn schemas() -> stackd_spec::SchemaSet {
    let mut all = AwsProvider::schema_set();
    all.schemas.extend(LocalProvider::schema_set().schemas);
    all
}

async fn connect(ws: &Workspace) -> Result<Arc<dyn Provider>> {
    let aws = AwsProvider::connect(AwsSettings {
        region: ws.region.clone(),
        profile: ws.profile.clone(),
    })
    .await
    .map_err(|e| anyhow!("cannot set up the AWS provider: {e}"))?;
    Ok(Arc::new(ProviderSet::new(vec![
        Arc::new(aws),
        Arc::new(LocalProvider::default()),
    ])))
}

async fn load_state(backend: &dyn StateBackend, stack: &str) -> Result<State> {
    let state = backend.load().await?.unwrap_or_else(|| State::new(stack));
    if state.stack != stack {
        bail!(
            "the state at {} belongs to stack \"{}\", not \"{stack}\"; pass --stack {} or another --state",
            backend.describe(),
            state.stack,
            state.stack
        );
    }
    Ok(state)
}

async fn make_plan(
    ws: &Workspace,
    state: &State,
    provider: Arc<dyn Provider>,
    mode: PlanMode,
) -> Result<Plan> {
    let input = PlanInput {
        config: &ws.config,
        vars: &ws.vars,
        state,
        provider,
        settings: &ws.settings,
        mode,
    };
    match plan(&input).await {
        Ok(p) => Ok(p),
        Err(PlanError::Spec(diags)) => {
            eprint!("{}", render_all(&diags, &ws.config.sources));
            Err(Reported.into())
        }
        Err(PlanError::Provider { type_name, error }) => {
            Err(anyhow!("refreshing {type_name}: {error}"))
        }
    }
}

async fn diff(args: &DiffArgs) -> Result<u8> {
    let ws = workspace::load(&args.spec, &schemas())?;
    workspace::print_warnings(&ws);
    let backend = workspace::backend(&args.spec.common);
    let state = load_state(&backend, &ws.settings.stack).await?;
    let provider = connect(&ws).await?;
    let plan = make_plan(&ws, &state, provider.clone(), PlanMode::Normal).await?;
    match args.format {
        Format::Text => print!("{}", render::plan_text(&plan, provider.schemas())),
        Format::Json => println!("{}", render::plan_json(&plan, provider.schemas())),
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() {
        2
    } else {
        0
    })
}

async fn apply_cmd(args: &ApplyArgs, mode: PlanMode) -> Result<u8> {
    let ws = workspace::load(&args.spec, &schemas())?;
    workspace::print_warnings(&ws);
    let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
    if !args.auto_approve && !interactive {
        bail!("not on a terminal, so stackd cannot ask for approval; review with `stackd diff` and pass --auto-approve");
    }
    let backend = workspace::backend(&args.spec.common);
    let operation = if mode == PlanMode::Destroy {
        "destroy"
    } else {
        "apply"
    };
    let _lock = backend.lock(operation).await?;
    let mut state = load_state(&backend, &ws.settings.stack).await?;
    let provider = connect(&ws).await?;
    let plan = make_plan(&ws, &state, provider.clone(), mode).await?;
    print!("{}", render::plan_text(&plan, provider.schemas()));
    if plan.is_empty() {
        if mode == PlanMode::Normal {
            print!("{}", render::outputs_text(&state));
        }
        return Ok(0);
    }
    if !args.auto_approve && !confirm(mode)? {
        println!("Cancelled; nothing was changed.");
        return Ok(1);
    }
    let (cancel_tx, cancel_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("\nInterrupted: finishing the operations in flight and saving state; press Ctrl-C again to abandon them.");
            let _ = cancel_tx.send(true);
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    let progress = Progress::new(plan.entries.len());
    let outcome = apply(
        &plan,
        &mut state,
        ApplyInput {
            config: &ws.config,
            vars: &ws.vars,
            settings: &ws.settings,
            provider,
            backend: &backend,
            parallelism: args.parallelism as usize,
            reporter: &progress,
            cancel: cancel_rx,
        },
    )
    .await;
    progress.finish();
    let outcome = outcome.context("apply stopped")?;
    Ok(summarise(&outcome, &state, mode))
}

fn confirm(mode: PlanMode) -> Result<bool> {
    let verb = if mode == PlanMode::Destroy {
        "destroy these resources"
    } else {
        "apply these changes"
    };
    print!("\nDo you want to {verb}? Only 'yes' will be accepted: ");
    std::io::stdout().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim() == "yes")
}

fn summarise(outcome: &ApplyOutcome, state: &State, mode: PlanMode) -> u8 {
    let verb = if mode == PlanMode::Destroy {
        "Destroy"
    } else {
        "Apply"
    };
    if outcome.is_success() {
        println!("\n{verb} complete: {} operations done.", outcome.done.len());
        if mode == PlanMode::Normal {
            print!("{}", render::outputs_text(state));
        }
        return 0;
    }
    println!(
        "\n{verb} {}: {} done, {} failed, {} not started.",
        if outcome.interrupted {
            "interrupted"
        } else {
            "failed"
        },
        outcome.done.len(),
        outcome.failed.len(),
        outcome.skipped.len()
    );
    for (addr, op, err) in &outcome.failed {
        println!("  {} {addr} ({op}): {err}", render::error_label());
    }
    for (addr, why) in &outcome.skipped {
        println!("  - {addr}: {why}");
    }
    println!("State is saved; fix the cause and run the command again to continue.");
    1
}

async fn output(args: &OutputArgs) -> Result<u8> {
    let backend = workspace::backend(&args.common);
    let Some(state) = backend.load().await? else {
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
            stackd_spec::Value::String(s) => println!("{s}"),
            v => println!("{}", serde_json::to_string_pretty(&v.to_json())?),
        }
        return Ok(0);
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
        println!("{}", serde_json::to_string_pretty(&map)?);
    } else {
        print!("{}", render::outputs_text(&state));
    }
    Ok(0)
}

fn graph(args: &SpecArgs) -> Result<u8> {
    let ws = workspace::load(args, &schemas())?;
    let deps = config_dependencies(&ws.config);
    let name = |n: &ConfigNode| format!("{n}");
    println!("digraph stackd {{\n  rankdir = \"RL\";\n  node [shape = box];");
    for (node, ds) in &deps {
        if matches!(node, ConfigNode::Output(_)) {
            continue;
        }
        println!("  {:?};", name(node));
        let mut seen = std::collections::BTreeSet::new();
        for (d, _) in ds {
            if seen.insert(d.clone()) {
                println!("  {:?} -> {:?};", name(node), name(d));
            }
        }
    }
    println!("}}");
    Ok(0)
}

async fn state_list(common: &CommonArgs) -> Result<u8> {
    let backend = workspace::backend(common);
    if let Some(state) = backend.load().await? {
        for addr in state.resources.keys() {
            println!("{addr}");
        }
    }
    Ok(0)
}

async fn state_show(common: &CommonArgs, address: &str) -> Result<u8> {
    let backend = workspace::backend(common);
    let addr: stackd_spec::Address = address.parse()?;
    let state = backend
        .load()
        .await?
        .ok_or_else(|| anyhow!("no state at {}", backend.describe()))?;
    let r = state
        .resources
        .get(&addr)
        .ok_or_else(|| anyhow!("{addr} is not in the state at {}", backend.describe()))?;
    println!("# {addr}\nid = {:?}", r.id);
    println!("{}", serde_json::to_string_pretty(&r.attrs.to_json())?);
    Ok(0)
}

async fn force_unlock(common: &CommonArgs) -> Result<u8> {
    let backend = workspace::backend(common);
    match backend.force_unlock().await {
        Ok(Some(holder)) => println!("Removed the lock held by {holder}."),
        Ok(None) => println!("{} is not locked.", backend.describe()),
        Err(StateError::Locked { holder, .. }) => {
            bail!("the lock is held by a running stackd: {holder}")
        }
        Err(e) => return Err(e.into()),
    }
    Ok(0)
}
