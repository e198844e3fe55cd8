//! Applies a plan: a graph of steps run concurrently in dependency order,
//! longest chain first, at most `parallelism` at a time. State is saved
//! after every operation. A failure stops only the steps that depend on
//! it; work in flight is always finished and recorded, even when stopping.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::Direction;
use stackd_spec::config::{Config, ResourceBlock};
use stackd_spec::diag::Diagnostic;
use stackd_spec::{Address, Mode, Value};
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::diff::diff;
use crate::instance::{self, InstanceConfig, StackSettings};
use crate::plan::{Action, Plan, PlanEntry};
use crate::provider::{
    ChangeRequest, CheckedChange, DataRequest, DeleteRequest, ErrorKind, Owner, Provider,
    ProviderError, Slot, UsableSink,
};
use crate::retry::{decide, with_retries, RetryDecision};
use crate::state::{OutputState, ResourceState, State, StateBackend, StateError};
use crate::tree::Tree;
use crate::values::Values;

/// One unit of work in the apply graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Step {
    /// Create, update, adopt or read the entry's instance.
    Apply(usize),
    /// Delete the entry's prior object.
    Delete(usize),
}

/// The operation a running step performs, for reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Create,
    Update,
    Delete,
    Read,
}

impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
            Op::Read => "read",
        })
    }
}

/// Progress events, for the terminal or the log.
#[derive(Clone, Debug)]
pub enum Event {
    Started {
        address: Address,
        op: Op,
    },
    Retrying {
        address: Address,
        op: Op,
        error: String,
        delay: Duration,
    },
    Finished {
        address: Address,
        op: Op,
        elapsed: Duration,
        id: Option<String>,
    },
    Failed {
        address: Address,
        op: Op,
        elapsed: Duration,
        error: String,
    },
    Skipped {
        address: Address,
        why: String,
    },
    /// A line a provisioner printed.
    Output {
        address: Address,
        line: String,
    },
}

/// Receives progress events.
pub trait Reporter: Send + Sync {
    fn event(&self, event: &Event);
}

/// A reporter that drops everything.
pub struct Silent;

impl Reporter for Silent {
    fn event(&self, _: &Event) {}
}

/// Why a step failed.
#[derive(Clone, Debug)]
pub enum StepError {
    Provider(ProviderError),
    /// The configuration could not be evaluated with the values now known.
    Spec(Vec<Diagnostic>),
    /// The object was created but a provisioner failed; it is tainted.
    Provisioner(String),
}

impl std::fmt::Display for StepError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StepError::Provider(e) => write!(f, "{e}"),
            StepError::Provisioner(e) => {
                write!(f, "{e} (the resource is tainted and will be replaced)")
            }
            StepError::Spec(d) => write!(
                f,
                "{}",
                d.iter()
                    .map(|d| d.message.clone())
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
        }
    }
}

/// What happened, per instance.
#[derive(Debug, Default)]
pub struct ApplyOutcome {
    /// Operations performed.
    pub done: Vec<(Address, Op)>,
    /// Steps that found nothing to do.
    pub unchanged: Vec<Address>,
    pub failed: Vec<(Address, Op, StepError)>,
    /// Not run because a dependency failed, or because the run was interrupted.
    pub skipped: Vec<(Address, String)>,
    pub interrupted: bool,
}

impl ApplyOutcome {
    pub fn is_success(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && !self.interrupted
    }
}

/// Why apply could not go on at all.
#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The state could not be saved; stopping is the only safe thing.
    #[error("saving state failed; stopped after the operations in flight finished")]
    State(#[source] StateError),
    /// The plan's steps depend on each other in a circle.
    #[error("the plan's changes depend on each other in a cycle: {0}")]
    Cycle(String),
    /// The plan was made for another state than the one given to apply.
    #[error("the plan was made for stack identity {planned:?}, but the state's is {state:?}; nothing was applied")]
    OtherStack { planned: String, state: String },
}

/// Everything apply needs besides the plan and the state.
pub struct ApplyInput<'a> {
    pub config: &'a Config,
    pub vars: &'a BTreeMap<String, Value>,
    pub settings: &'a StackSettings,
    pub provider: Arc<dyn Provider>,
    pub backend: &'a dyn StateBackend,
    pub parallelism: usize,
    pub reporter: &'a dyn Reporter,
    /// Set (e.g. on Ctrl-C) to stop starting new steps.
    pub cancel: tokio::sync::watch::Receiver<bool>,
}

/// The step graph of a plan: an edge a → b means a must finish before b starts.
pub fn build_graph(plan: &Plan) -> Result<DiGraph<Step, ()>, ApplyError> {
    let mut g = DiGraph::new();
    let mut apply_idx: HashMap<&Address, NodeIndex> = HashMap::new();
    let mut delete_idx: HashMap<&Address, NodeIndex> = HashMap::new();
    for (i, e) in plan.entries.iter().enumerate() {
        if e.action != Action::Delete {
            apply_idx.insert(&e.address, g.add_node(Step::Apply(i)));
        }
        if matches!(e.action, Action::Delete | Action::Replace) {
            delete_idx.insert(&e.address, g.add_node(Step::Delete(i)));
        }
    }
    for e in &plan.entries {
        if let Some(&a) = apply_idx.get(&e.address) {
            for d in &e.dependencies {
                if let Some(&da) = apply_idx.get(d) {
                    g.update_edge(da, a, ());
                }
            }
        }
        if e.action == Action::Replace {
            let (a, d) = (apply_idx[&e.address], delete_idx[&e.address]);
            if e.create_before_destroy {
                g.update_edge(a, d, ());
            } else {
                g.update_edge(d, a, ());
            }
        }
    }
    // An old object goes only after everything that used it has let go:
    // dependents being deleted first, dependents moving elsewhere first,
    // and with create_before_destroy, dependents moved to the new object.
    // The entries that used or use each block, so each delete looks only
    // at those.
    let mut by_block: HashMap<&stackd_spec::BlockAddress, Vec<usize>> = HashMap::new();
    for (i, y) in plan.entries.iter().enumerate() {
        let prior = y.prior.iter().flat_map(|p| &p.dependencies);
        for d in prior.chain(&y.dependencies) {
            let users = by_block.entry(&d.block).or_default();
            if users.last() != Some(&i) {
                users.push(i);
            }
        }
    }
    for x in &plan.entries {
        let Some(&dx) = delete_idx.get(&x.address) else {
            continue;
        };
        let mut users: Vec<usize> = by_block.get(&x.address.block).cloned().unwrap_or_default();
        users.sort_unstable();
        users.dedup();
        for y in users.into_iter().map(|i| &plan.entries[i]) {
            if y.address == x.address {
                continue;
            }
            let used_x = y
                .prior
                .as_ref()
                .is_some_and(|p| crate::state::depends_on(&p.dependencies, &x.address));
            let uses_x = y.dependencies.contains(&x.address);
            if used_x {
                if let Some(&dy) = delete_idx.get(&y.address) {
                    g.update_edge(dy, dx, ());
                }
            }
            if (used_x && !uses_x) || (uses_x && x.create_before_destroy) {
                if let Some(&ay) = apply_idx.get(&y.address) {
                    g.update_edge(ay, dx, ());
                }
            }
        }
    }
    if let Err(cycle) = petgraph::algo::toposort(&g, None) {
        let step = g[cycle.node_id()];
        let addr = match step {
            Step::Apply(i) | Step::Delete(i) => plan.entries[i].address.to_string(),
        };
        return Err(ApplyError::Cycle(format!("{addr} ({step:?})")));
    }
    Ok(g)
}

/// The weight of the heaviest chain of steps starting at each node, each
/// step weighing `weight(step)`, so the scheduler can start the longest
/// chain first.
pub fn chain_weights(
    g: &DiGraph<Step, ()>,
    weight: impl Fn(Step) -> u64,
) -> HashMap<NodeIndex, u64> {
    let order = petgraph::algo::toposort(g, None).unwrap_or_default();
    let mut len: HashMap<NodeIndex, u64> = HashMap::new();
    for n in order.into_iter().rev() {
        let longest = g
            .neighbors_directed(n, Direction::Outgoing)
            .map(|m| len[&m])
            .max()
            .unwrap_or(0);
        len.insert(n, longest + weight(g[n]));
    }
    len
}

/// What a step is modelled to take on the real cloud, in milliseconds
/// (the provider's [`Provider::modelled_duration`] of its change).
fn modelled_ms(plan: &Plan, provider: &dyn Provider, step: Step) -> u64 {
    let (i, change) = match step {
        Step::Delete(i) => (i, CheckedChange::Delete),
        Step::Apply(i) => match plan.entries[i].action {
            Action::Create | Action::Replace => (i, CheckedChange::Create),
            Action::Update => (i, CheckedChange::Update),
            // Reads, adoptions and no-ops make one call or none.
            _ => return 1,
        },
    };
    let type_name = &plan.entries[i].address.block.type_name;
    let ms = provider.modelled_duration(type_name, change).as_millis();
    u64::try_from(ms).unwrap_or(u64::MAX).max(1)
}

struct Done {
    node: NodeIndex,
    op: Op,
    started: Instant,
    result: Result<Option<(String, Value)>, StepError>,
    desired: Option<InstanceConfig>,
    /// Lines provisioners printed.
    output: Vec<String>,
    /// A provisioner failed after the object was created: it is recorded
    /// as tainted and the step counts as failed.
    provision_error: Option<String>,
}

/// Runs the plan. Returns what happened; `Err` only when the state could
/// not be saved (after in-flight work finished) or the plan is cyclic.
pub async fn apply(
    plan: &Plan,
    state: &mut State,
    input: ApplyInput<'_>,
) -> Result<ApplyOutcome, ApplyError> {
    if plan.owner.id != state.lineage {
        return Err(ApplyError::OtherStack {
            planned: plan.owner.id.clone(),
            state: state.lineage.clone(),
        });
    }
    // The module instances, built once: every step's evaluation, the
    // postconditions and the outputs use them.
    let (tree, _) = Tree::expand(input.config, input.vars);
    // `moved` blocks first: the plan's entries are at the new addresses.
    if !plan.moves.is_empty() {
        for (from, to) in &plan.moves {
            crate::plan::rename(state, from, to);
        }
        input.backend.save(state).await.map_err(ApplyError::State)?;
    }
    // `removed` blocks with `destroy = false`: out of the state, the
    // objects left in the cloud and remembered as released.
    if !plan.forgets.is_empty() {
        for address in &plan.forgets {
            state.release(address);
        }
        input.backend.save(state).await.map_err(ApplyError::State)?;
    }
    let graph = build_graph(plan)?;
    // Longest chain first, by how long its steps are modelled to take (a
    // NAT gateway weighs more than a route), not by their count.
    let provider = input.provider.clone();
    let priority = chain_weights(&graph, |step| modelled_ms(plan, provider.as_ref(), step));
    if let Some(critical) = priority.values().max() {
        tracing::info!(
            steps = graph.node_count(),
            "apply: the longest chain of steps is modelled to take {:.1} s on the cloud",
            *critical as f64 / 1000.0
        );
    }
    let mut waiting: HashMap<NodeIndex, usize> = graph
        .node_indices()
        .map(|n| (n, graph.neighbors_directed(n, Direction::Incoming).count()))
        .collect();
    let mut ready: BinaryHeap<(u64, std::cmp::Reverse<usize>, NodeIndex)> = BinaryHeap::new();
    let push = |ready: &mut BinaryHeap<_>, n: NodeIndex| {
        ready.push((priority[&n], std::cmp::Reverse(n.index()), n));
    };
    for (&n, &w) in &waiting {
        if w == 0 {
            push(&mut ready, n);
        }
    }
    let mut values = seed_values(plan, state);
    // Creates report their object usable before they finish
    // (`provider::usable`); dependents that need nothing more start then.
    let (usable_tx, mut usable_rx) = tokio::sync::mpsc::unbounded_channel::<Usable>();
    let mut early = Early::new(&graph, plan, input.config);
    let mut started: HashSet<NodeIndex> = HashSet::new();
    let mut outcome = ApplyOutcome::default();
    let mut running: JoinSet<Done> = JoinSet::new();
    let mut blocked: HashSet<NodeIndex> = HashSet::new();
    let mut cancel = input.cancel.clone();
    let mut save_error: Option<StateError> = None;
    // `--parallelism` slots: a step holds one while it makes calls and
    // gives it up while it only waits for the cloud (`provider::idle`), so
    // more steps than slots may be in flight, never more calls.
    let slots = Arc::new(tokio::sync::Semaphore::new(input.parallelism.max(1)));
    let mut spare: Option<tokio::sync::OwnedSemaphorePermit> = None;

    // No `?` in this loop: an early return would abandon operations in flight.
    loop {
        let stopping = *cancel.borrow() || save_error.is_some();
        while !stopping && !ready.is_empty() {
            let Some(permit) = spare
                .take()
                .or_else(|| slots.clone().try_acquire_owned().ok())
            else {
                break;
            };
            let Some((_, _, node)) = ready.pop() else {
                break;
            };
            // Started early already, or pushed early and then held back
            // by a failure.
            if started.contains(&node) || blocked.contains(&node) {
                spare = Some(permit);
                continue;
            }
            let before_deps = waiting[&node] > 0;
            let step = StepContext {
                node,
                early: before_deps,
                usable: &usable_tx,
            };
            let started_step =
                start_step(plan, state, &graph, step, &mut values, &tree, &input).await;
            if !matches!(started_step, Ok(Started::NotYet)) {
                started.insert(node);
            }
            match started_step {
                Ok(Started::NotYet) => {
                    // Needs more than its dependencies reported usable:
                    // it starts when they finish.
                    spare = Some(permit);
                }
                Ok(Started::Spawned(fut)) => {
                    running.spawn(Slot::new(slots.clone(), permit).hold(fut));
                }
                Ok(Started::Unchanged) => {
                    // Nothing to do (unchanged, or adopted as it was).
                    outcome
                        .unchanged
                        .push(step_address(plan, graph[node]).clone());
                    release(
                        &graph,
                        node,
                        &mut waiting,
                        &mut early,
                        &blocked,
                        &mut ready,
                        &push,
                    );
                }
                Err(err) => {
                    let addr = step_address(plan, graph[node]).clone();
                    input.reporter.event(&Event::Failed {
                        address: addr.clone(),
                        op: Op::Create,
                        elapsed: Duration::ZERO,
                        error: err.to_string(),
                    });
                    outcome.failed.push((addr, Op::Create, err));
                    block_dependents(
                        plan,
                        &graph,
                        node,
                        (&mut blocked, &started),
                        &mut outcome,
                        input.reporter,
                    );
                }
            }
        }
        if running.is_empty() {
            break;
        }
        let want_slot = !stopping && !ready.is_empty() && spare.is_none();
        let done = tokio::select! {
            // A report sent before a step finished is read before its end.
            biased;
            Some(report) = usable_rx.recv() => {
                let node = report.node;
                // The first report counts; a step reports once.
                if !early.ended.contains(&node) && !early.reported.contains(&node) {
                    early.record_usable(report, plan, &graph, &mut values);
                    for next in early.count(&graph, node, false, false, &waiting, &blocked) {
                        push(&mut ready, next);
                    }
                }
                continue;
            }
            // A step gave its slot up to wait: start another with it.
            permit = slots.clone().acquire_owned(), if want_slot => {
                spare = permit.ok();
                continue;
            }
            joined = running.join_next() => match joined {
                Some(Ok(done)) => done,
                Some(Err(join_error)) => {
                    // A panicking provider task: nothing to record but the failure.
                    tracing::error!(%join_error, "a provider task panicked");
                    continue;
                }
                None => continue,
            },
            changed = cancel.changed(), if !*cancel.borrow() => {
                if changed.is_ok() {
                    tracing::warn!("interrupt: finishing operations in flight, starting no new ones");
                }
                continue;
            }
        };
        let addr = step_address(plan, graph[done.node]).clone();
        let elapsed = done.started.elapsed();
        early.ended.insert(done.node);
        for line in &done.output {
            input.reporter.event(&Event::Output {
                address: addr.clone(),
                line: line.clone(),
            });
        }
        let failure = match done.result {
            Ok(result) => {
                record(
                    plan,
                    state,
                    graph[done.node],
                    result.clone(),
                    done.desired.as_ref(),
                    &mut values,
                );
                // Created, but its provisioner failed: kept, tainted.
                let provision_failed = result.is_some() && done.provision_error.is_some();
                if provision_failed {
                    if let Some(r) = state.resources.get_mut(&addr) {
                        r.tainted = true;
                    }
                }
                if let Err(e) = input.backend.save_change(state, &addr).await {
                    save_error.get_or_insert(e);
                }
                // The object exists and is recorded; a failed provisioner
                // or postcondition fails the step so its dependents wait.
                let failed_checks = match (&result, graph[done.node]) {
                    (Some((_, attrs)), Step::Apply(i)) if !provision_failed => {
                        check_postconditions(&plan.entries[i], attrs, &values, &tree, &input)
                    }
                    _ => Vec::new(),
                };
                if provision_failed {
                    done.provision_error.map(StepError::Provisioner)
                } else if !failed_checks.is_empty() {
                    Some(StepError::Spec(failed_checks))
                } else {
                    input.reporter.event(&Event::Finished {
                        address: addr.clone(),
                        op: done.op,
                        elapsed,
                        id: result.map(|(id, _)| id),
                    });
                    outcome.done.push((addr.clone(), done.op));
                    early.check_id(done.node, &addr, state);
                    release(
                        &graph,
                        done.node,
                        &mut waiting,
                        &mut early,
                        &blocked,
                        &mut ready,
                        &push,
                    );
                    None
                }
            }
            Err(err) => Some(err),
        };
        if let Some(err) = failure {
            input.reporter.event(&Event::Failed {
                address: addr.clone(),
                op: done.op,
                elapsed,
                error: err.to_string(),
            });
            outcome.failed.push((addr, done.op, err));
            block_dependents(
                plan,
                &graph,
                done.node,
                (&mut blocked, &started),
                &mut outcome,
                input.reporter,
            );
        }
    }
    if let Some(e) = save_error {
        return Err(ApplyError::State(e));
    }
    let finished: HashSet<&Address> = outcome
        .done
        .iter()
        .map(|(a, _)| a)
        .chain(outcome.unchanged.iter())
        .collect();
    let unstarted: Vec<NodeIndex> = graph
        .node_indices()
        .filter(|n| !blocked.contains(n) && !finished.contains(step_address(plan, graph[*n])))
        .filter(|n| {
            !outcome
                .failed
                .iter()
                .any(|(a, _, _)| a == step_address(plan, graph[*n]))
        })
        .collect();
    if !unstarted.is_empty() {
        outcome.interrupted = *cancel.borrow();
        for n in unstarted {
            outcome.skipped.push((
                step_address(plan, graph[n]).clone(),
                "not started: apply was interrupted".into(),
            ));
        }
    }
    if outcome.failed.is_empty() && !outcome.interrupted {
        update_outputs(plan, state, &values, &tree, &input);
    }
    // Whatever happened, one full save: the outputs of a run that went
    // through, and the changes saved one by one compacted into the file.
    if let Err(e) = input.backend.save(state).await {
        return Err(ApplyError::State(e));
    }
    Ok(outcome)
}

fn step_address(plan: &Plan, step: Step) -> &Address {
    match step {
        Step::Apply(i) | Step::Delete(i) => &plan.entries[i].address,
    }
}

/// A step finished: its dependents whose dependencies have all finished
/// are ready, and so (to try early) are those whose other dependencies
/// are at least usable. A step that started early and finished before
/// some of its own dependencies is released only once they have all
/// finished (`deferred`): whatever waits for it in full (`depends_on`, a
/// data source) also waits for what it depends on, as it always did.
fn release(
    graph: &DiGraph<Step, ()>,
    node: NodeIndex,
    waiting: &mut HashMap<NodeIndex, usize>,
    early: &mut Early,
    blocked: &HashSet<NodeIndex>,
    ready: &mut BinaryHeap<(u64, std::cmp::Reverse<usize>, NodeIndex)>,
    push: &impl Fn(&mut BinaryHeap<(u64, std::cmp::Reverse<usize>, NodeIndex)>, NodeIndex),
) {
    let defer = waiting.get(&node).is_some_and(|w| *w > 0);
    for next in early.count(graph, node, true, !defer, waiting, blocked) {
        push(ready, next);
    }
    if defer {
        early.deferred.insert(node);
        return;
    }
    let mut finished = vec![node];
    while let Some(node) = finished.pop() {
        for next in graph.neighbors_directed(node, Direction::Outgoing) {
            let Some(w) = waiting.get_mut(&next) else {
                continue;
            };
            *w -= 1;
            if *w == 0 && !blocked.contains(&next) {
                if early.deferred.remove(&next) {
                    finished.push(next);
                } else {
                    push(ready, next);
                }
            }
        }
    }
}

/// A report from a running create that its object is usable.
struct Usable {
    node: NodeIndex,
    /// The object's value: configured arguments and reported attributes.
    attrs: Value,
    /// Dependent types that still wait for the whole create.
    hold: &'static [&'static str],
}

/// Which steps may start before their dependencies finish: those whose
/// dependencies are all finished or usable ([`crate::provider::usable`])
/// and whose configuration is wholly known with the attributes reported
/// so far. Only managed resources without `depends_on` (theirs or their
/// module call's), provisioners or conditions: those promise to wait for
/// the whole of what they depend on.
struct Early {
    /// Per step, its dependencies neither finished nor usable to it yet.
    waiting: HashMap<NodeIndex, usize>,
    /// Steps reported usable (edges to dependents not held counted).
    reported: HashSet<NodeIndex>,
    /// Steps finished (every edge counted).
    counted: HashSet<NodeIndex>,
    /// Edges whose dependent waits for the whole create although the
    /// dependency was reported usable.
    held: HashSet<(NodeIndex, NodeIndex)>,
    /// Steps that may start early.
    eligible: HashSet<NodeIndex>,
    /// The ID each step reported usable, checked against its result.
    ids: HashMap<NodeIndex, String>,
    /// Steps whose end apply has seen (a late report is ignored).
    ended: HashSet<NodeIndex>,
    /// Steps finished but not released: a dependency of theirs still runs.
    deferred: HashSet<NodeIndex>,
}

impl Early {
    fn new(graph: &DiGraph<Step, ()>, plan: &Plan, config: &Config) -> Early {
        Early {
            waiting: graph
                .node_indices()
                .map(|n| (n, graph.neighbors_directed(n, Direction::Incoming).count()))
                .collect(),
            reported: HashSet::new(),
            counted: HashSet::new(),
            held: HashSet::new(),
            eligible: graph
                .node_indices()
                .filter(|n| match graph[*n] {
                    Step::Apply(i) => may_start_early(config, &plan.entries[i]),
                    Step::Delete(_) => false,
                })
                .collect(),
            ids: HashMap::new(),
            ended: HashSet::new(),
            deferred: HashSet::new(),
        }
    }

    /// A running create reported its object usable.
    fn record_usable(
        &mut self,
        report: Usable,
        plan: &Plan,
        graph: &DiGraph<Step, ()>,
        values: &mut Values,
    ) {
        let node = report.node;
        if let Some(id) = report.attrs.get("id").and_then(Value::as_str) {
            self.ids.insert(node, id.to_string());
        }
        for next in graph.neighbors_directed(node, Direction::Outgoing) {
            let type_name = step_address(plan, graph[next]).block.type_name.as_str();
            if report.hold.contains(&type_name) {
                self.held.insert((node, next));
            }
        }
        let address = step_address(plan, graph[node]);
        tracing::debug!(%address, "usable before its create finished");
        values.set(address.clone(), report.attrs);
    }

    /// `node` was reported usable (`finished` false) or finished: its
    /// dependents that may now start early, each edge counted once (a held
    /// edge only when the dependency finishes). Not those whose
    /// dependencies have all finished: [`release`] starts those.
    fn count(
        &mut self,
        graph: &DiGraph<Step, ()>,
        node: NodeIndex,
        finished: bool,
        released: bool,
        waiting: &HashMap<NodeIndex, usize>,
        blocked: &HashSet<NodeIndex>,
    ) -> Vec<NodeIndex> {
        if self.counted.contains(&node) {
            return Vec::new();
        }
        let was_reported = self.reported.contains(&node);
        if finished {
            self.counted.insert(node);
        } else if !self.reported.insert(node) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for next in graph.neighbors_directed(node, Direction::Outgoing) {
            let held = self.held.contains(&(node, next));
            let count_now = if finished {
                !was_reported || held
            } else {
                !held
            };
            if !count_now {
                continue;
            }
            let Some(w) = self.waiting.get_mut(&next) else {
                continue;
            };
            *w = w.saturating_sub(1);
            // Still waiting for a step that has not finished (or is not
            // released yet): the rest start as usual.
            let unfinished = waiting
                .get(&next)
                .is_some_and(|w| *w > usize::from(released));
            if *w == 0 && self.eligible.contains(&next) && !blocked.contains(&next) && unfinished {
                out.push(next);
            }
        }
        out
    }

    /// Dependents started with the ID a create reported usable: the object
    /// it finally recorded must be that one.
    fn check_id(&self, node: NodeIndex, address: &Address, state: &State) {
        let (Some(early), Some(recorded)) = (self.ids.get(&node), state.resources.get(address))
        else {
            return;
        };
        if *early != recorded.id {
            tracing::error!(
                %address,
                reported = %early,
                recorded = %recorded.id,
                "a create reported one object usable and recorded another: \
                 dependents started early refer to the first"
            );
        }
    }
}

/// Whether an instance may start before what it depends on has finished.
fn may_start_early(config: &Config, e: &PlanEntry) -> bool {
    if e.address.block.mode != Mode::Managed || e.action == Action::Delete {
        return false;
    }
    let Some(block) = config.block_at(&e.address.block) else {
        return false;
    };
    if !block.depends_on.is_empty()
        || !block.provisioners.is_empty()
        || !block.lifecycle.preconditions.is_empty()
        || !block.lifecycle.postconditions.is_empty()
    {
        return false;
    }
    // A module call's `depends_on` holds back everything inside it.
    let mut c = config;
    for name in e.address.block.module_names() {
        let Some(call) = c.modules.get(&name) else {
            return false;
        };
        let Some(child) = call.child.as_deref() else {
            return false;
        };
        if !call.depends_on.is_empty() {
            return false;
        }
        c = child;
    }
    true
}

/// Marks every step depending on `failed` as skipped, but those already
/// started (early, on its report that the object was usable): they finish
/// and are recorded; what depends on them is skipped.
fn block_dependents(
    plan: &Plan,
    graph: &DiGraph<Step, ()>,
    failed: NodeIndex,
    (blocked, started): (&mut HashSet<NodeIndex>, &HashSet<NodeIndex>),
    outcome: &mut ApplyOutcome,
    reporter: &dyn Reporter,
) {
    let failed_addr = step_address(plan, graph[failed]).clone();
    let mut stack: Vec<NodeIndex> = graph
        .neighbors_directed(failed, Direction::Outgoing)
        .collect();
    while let Some(n) = stack.pop() {
        if started.contains(&n) {
            stack.extend(graph.neighbors_directed(n, Direction::Outgoing));
            continue;
        }
        if !blocked.insert(n) {
            continue;
        }
        let address = step_address(plan, graph[n]).clone();
        let why = format!("not started: depends on {failed_addr}, which failed");
        reporter.event(&Event::Skipped {
            address: address.clone(),
            why: why.clone(),
        });
        outcome.skipped.push((address, why));
        stack.extend(graph.neighbors_directed(n, Direction::Outgoing));
    }
}

/// Values known before anything runs: unchanged instances and data read while planning.
fn seed_values(plan: &Plan, state: &State) -> Values {
    let mut values = Values {
        expansions: plan.expansions.clone(),
        ..Values::default()
    };
    for (addr, v) in &plan.data {
        values.set(addr.clone(), v.clone());
    }
    for (addr, rs) in &state.resources {
        values.set(addr.clone(), rs.attrs.clone());
    }
    values
}

enum Started {
    Spawned(std::pin::Pin<Box<dyn std::future::Future<Output = Done> + Send>>),
    /// Nothing to do: unchanged, adopted as it was, or already gone.
    Unchanged,
    /// Tried early, and its configuration needs attributes its
    /// dependencies have not reported yet.
    NotYet,
}

/// Which step to start, and how it may report.
struct StepContext<'a> {
    node: NodeIndex,
    /// Some dependency has not finished (only reported usable): a
    /// configuration not yet wholly known means "not yet", not an error.
    early: bool,
    usable: &'a tokio::sync::mpsc::UnboundedSender<Usable>,
}

/// Evaluates what a step must do with the values now known and either
/// finishes it at once (nothing to do) or returns the operation to spawn.
#[allow(clippy::too_many_arguments)]
async fn start_step(
    plan: &Plan,
    state: &mut State,
    graph: &DiGraph<Step, ()>,
    ctx: StepContext<'_>,
    values: &mut Values,
    tree: &Tree<'_>,
    input: &ApplyInput<'_>,
) -> Result<Started, StepError> {
    let node = ctx.node;
    let step = graph[node];
    let provider = input.provider.clone();
    let started = Instant::now();
    match step {
        Step::Delete(i) => {
            let e = &plan.entries[i];
            let Some(prior) = e.prior.clone() else {
                return Ok(Started::Unchanged);
            };
            let timeout = delete_timeout(input, e);
            let req = DeleteRequest {
                address: e.address.clone(),
                type_name: e.address.block.type_name.clone(),
                id: prior.id.clone(),
                prior: prior.attrs.clone(),
                timeout,
            };
            input.reporter.event(&Event::Started {
                address: e.address.clone(),
                op: Op::Delete,
            });
            let reporter_addr = e.address.clone();
            let span = tracing::info_span!("delete", address = %e.address);
            let fut = async move {
                let result = with_retries(timeout, || provider.delete(&req), &reporter_addr)
                    .await
                    .or_else(|e| {
                        if e.kind == ErrorKind::NotFound {
                            Ok(())
                        } else {
                            Err(e)
                        }
                    })
                    .map(|_| None)
                    .map_err(StepError::Provider);
                Done {
                    node,
                    op: Op::Delete,
                    started,
                    result,
                    desired: None,
                    output: Vec::new(),
                    provision_error: None,
                }
            }
            .instrument(span);
            Ok(Started::Spawned(Box::pin(fut)))
        }
        Step::Apply(i) => {
            let e = &plan.entries[i];
            let cfg = match evaluate_now(e, &plan.owner, values, tree, input) {
                Ok(cfg) => cfg,
                Err(_) if ctx.early => return Ok(Started::NotYet),
                Err(err) => return Err(err),
            };
            if e.address.block.mode == Mode::Data {
                let req = DataRequest {
                    address: e.address.clone(),
                    type_name: e.address.block.type_name.clone(),
                    args: cfg.desired.clone(),
                };
                input.reporter.event(&Event::Started {
                    address: e.address.clone(),
                    op: Op::Read,
                });
                let fut = async move {
                    let result = with_retries(
                        crate::retry::READ_BUDGET,
                        || provider.read_data(&req),
                        &req.address,
                    )
                    .await
                    .map(|v| {
                        Some((
                            v.get("id")
                                .and_then(Value::as_str)
                                .unwrap_or_default()
                                .to_string(),
                            v,
                        ))
                    })
                    .map_err(StepError::Provider);
                    Done {
                        node,
                        op: Op::Read,
                        started,
                        result,
                        desired: Some(cfg),
                        output: Vec::new(),
                        provision_error: None,
                    }
                };
                return Ok(Started::Spawned(Box::pin(fut)));
            }
            let schema = input
                .provider
                .schemas()
                .get(Mode::Managed, &e.address.block.type_name)
                .cloned()
                .ok_or_else(|| {
                    StepError::Spec(vec![Diagnostic::error(
                        format!("unknown resource type for {}", e.address),
                        None,
                    )])
                })?;
            let (op, changed) = match (e.action, &e.prior) {
                (Action::Update | Action::NoOp, Some(prior)) => {
                    let changes = diff(&schema, &cfg.desired, &prior.attrs, &cfg.lifecycle.ignore);
                    if changes.is_empty() {
                        if prior.untracked || e.action == Action::NoOp {
                            // Adopted or unchanged: record what is there.
                            record_object(
                                state,
                                e,
                                prior.id.clone(),
                                prior.attrs.clone(),
                                Some(&cfg),
                                values,
                            );
                            if prior.untracked {
                                input.backend.save_change(state, &e.address).await.map_err(
                                    |err| {
                                        StepError::Spec(vec![Diagnostic::error(
                                            err.to_string(),
                                            None,
                                        )])
                                    },
                                )?;
                            }
                        }
                        return Ok(Started::Unchanged);
                    }
                    (Op::Update, changes.into_iter().map(|c| c.name).collect())
                }
                _ => (Op::Create, Vec::new()),
            };
            let (token, pending_since) = if op == Op::Create {
                let pending = state.begin_create(&e.address, &cfg.desired).clone();
                // The pending record must be durable before the create call.
                input
                    .backend
                    .save_change(state, &e.address)
                    .await
                    .map_err(|err| {
                        StepError::Spec(vec![Diagnostic::error(err.to_string(), None)])
                    })?;
                (pending.token, Some(pending.started_at))
            } else {
                (String::new(), None)
            };
            let provisioners = if op == Op::Create {
                provisioners_for(e, &cfg, values, tree, input)?
            } else {
                Vec::new()
            };
            let timeout = if op == Op::Create {
                cfg.timeouts.create
            } else {
                cfg.timeouts.update
            };
            let req = ChangeRequest {
                address: e.address.clone(),
                type_name: e.address.block.type_name.clone(),
                owner: plan.owner.clone(),
                desired: cfg.desired.clone(),
                prior: if op == Op::Update {
                    e.prior.as_ref().map(|p| p.attrs.clone())
                } else {
                    None
                },
                id: if op == Op::Update {
                    e.prior.as_ref().map(|p| p.id.clone())
                } else {
                    None
                },
                changed,
                timeout,
                idempotency_token: token,
                pending_since,
            };
            let ignore = cfg.lifecycle.ignore.clone();
            input.reporter.event(&Event::Started {
                address: e.address.clone(),
                op,
            });
            let addr = e.address.clone();
            let span = tracing::info_span!("apply", address = %e.address, %op);
            // Dependents start early only from a create with nothing to do
            // after it: a provisioner or a postcondition holds them back.
            let reported = Arc::new(std::sync::atomic::AtomicBool::new(false));
            let postconditions = input
                .config
                .block_at(&e.address.block)
                .is_some_and(|b| !b.lifecycle.postconditions.is_empty());
            let sink = (provisioners.is_empty() && !postconditions).then(|| {
                let (tx, schema, desired) =
                    (ctx.usable.clone(), schema.clone(), cfg.desired.clone());
                let reported = reported.clone();
                UsableSink::new(move |known, hold| {
                    let mut attrs = crate::plan::planned_attrs(&schema, &desired, None);
                    if let (Value::Map(a), Value::Map(k)) = (&mut attrs, known) {
                        a.extend(k.into_iter().filter(|(_, v)| !v.is_null()));
                    }
                    reported.store(true, std::sync::atomic::Ordering::SeqCst);
                    let _ = tx.send(Usable { node, attrs, hold });
                })
            });
            let fut = async move {
                let result = if op == Op::Create {
                    let create = create_or_recover(
                        provider.as_ref(),
                        &req,
                        &schema,
                        &ignore,
                        &addr,
                        &reported,
                    );
                    match sink {
                        Some(sink) => sink.scope(create).await,
                        None => create.await,
                    }
                } else {
                    with_retries(timeout, || provider.update(&req), &addr).await
                };
                let result = result
                    .map(|attrs| {
                        let id = attrs
                            .get("id")
                            .and_then(Value::as_str)
                            .unwrap_or_default()
                            .to_string();
                        Some((id, attrs))
                    })
                    .map_err(StepError::Provider);
                let mut output = Vec::new();
                let mut provision_error = None;
                if result.is_ok() {
                    for p in &provisioners {
                        let ran = crate::provision::run(p, |l| output.push(l.to_string())).await;
                        match ran {
                            Ok(()) => {}
                            Err(e) if p.continue_on_failure => {
                                output.push(format!("(continuing) {e}"))
                            }
                            Err(e) => {
                                provision_error = Some(e);
                                break;
                            }
                        }
                    }
                }
                Done {
                    node,
                    op,
                    started,
                    result,
                    desired: Some(cfg),
                    output,
                    provision_error,
                }
            }
            .instrument(span);
            Ok(Started::Spawned(Box::pin(fut)))
        }
    }
}

fn delete_timeout(input: &ApplyInput<'_>, e: &PlanEntry) -> Duration {
    input
        .provider
        .schemas()
        .get(e.address.block.mode, &e.address.block.type_name)
        .map(|s| Duration::from_secs(s.timeouts.delete_secs))
        .unwrap_or(Duration::from_secs(600))
}

/// Re-evaluates an instance's configuration now that its dependencies are applied.
fn evaluate_now(
    e: &PlanEntry,
    owner: &Owner,
    values: &Values,
    tree: &Tree<'_>,
    input: &ApplyInput<'_>,
) -> Result<InstanceConfig, StepError> {
    let block = input.config.block_at(&e.address.block).ok_or_else(|| {
        StepError::Spec(vec![Diagnostic::error(
            format!("{} is not in the spec", e.address),
            None,
        )])
    })?;
    let schema = input
        .provider
        .schemas()
        .get(e.address.block.mode, &e.address.block.type_name)
        .ok_or_else(|| {
            StepError::Spec(vec![Diagnostic::error(
                format!("unknown type of {}", e.address),
                None,
            )])
        })?;
    let idx = module_instance(tree, e, block)?;
    let cfg = tree.with_scope(idx, values, |scope| {
        let (_, slots) = instance::expand(block, scope).map_err(|d| StepError::Spec(vec![d]))?;
        let slot = slots
            .into_iter()
            .find(|s| s.key == e.address.key)
            .ok_or_else(|| {
                StepError::Spec(vec![Diagnostic::error(
                    format!("{} no longer expands to this instance", e.address),
                    Some(block.span),
                )])
            })?;
        let inst_scope = scope.for_instance(slot.each, slot.count_index);
        instance::evaluate(
            block,
            schema,
            &inst_scope,
            &e.address,
            input.settings,
            owner,
        )
        .map_err(StepError::Spec)
    })?;
    if !cfg.desired.is_wholly_known() {
        return Err(StepError::Spec(vec![Diagnostic::error(
            format!(
                "{}: some arguments are still unknown after their dependencies were applied",
                e.address
            ),
            Some(block.span),
        )]));
    }
    Ok(cfg)
}

/// Evaluates an instance's local-exec provisioners, with `self` bound to
/// its arguments (its computed attributes are not known before create).
fn provisioners_for(
    e: &PlanEntry,
    cfg: &InstanceConfig,
    values: &Values,
    tree: &Tree<'_>,
    input: &ApplyInput<'_>,
) -> Result<Vec<crate::provision::LocalExec>, StepError> {
    let Some(block) = input.config.block_at(&e.address.block) else {
        return Ok(Vec::new());
    };
    if block.provisioners.is_empty() {
        return Ok(Vec::new());
    }
    let idx = module_instance(tree, e, block)?;
    tree.with_scope(idx, values, |scope| {
        let (_, slots) = instance::expand(block, scope).map_err(|d| StepError::Spec(vec![d]))?;
        let slot = slots.into_iter().find(|s| s.key == e.address.key);
        let (each, count_index) = slot.map(|s| (s.each, s.count_index)).unwrap_or_default();
        let mut inst = scope.for_instance(each, count_index);
        let mut self_value = cfg.desired.clone();
        if let Value::Map(m) = &mut self_value {
            m.entry("id".to_string()).or_insert(Value::Unknown);
        }
        inst.self_value = Some(self_value);
        crate::provision::evaluate(block, &inst).map_err(StepError::Spec)
    })
}

/// The postconditions of an instance that were not met by its new object.
fn check_postconditions(
    e: &PlanEntry,
    object: &Value,
    values: &Values,
    tree: &Tree<'_>,
    input: &ApplyInput<'_>,
) -> Vec<Diagnostic> {
    let Some(block) = input.config.block_at(&e.address.block) else {
        return Vec::new();
    };
    if block.lifecycle.postconditions.is_empty() {
        return Vec::new();
    }
    let Ok(idx) = module_instance(tree, e, block) else {
        return Vec::new();
    };
    tree.with_scope(idx, values, |scope| {
        let slot = instance::expand(block, scope)
            .ok()
            .and_then(|(_, slots)| slots.into_iter().find(|s| s.key == e.address.key));
        let (each, count_index) = slot.map(|s| (s.each, s.count_index)).unwrap_or_default();
        let inst = scope.for_instance(each, count_index);
        instance::postconditions(block, &inst, object, &e.address)
    })
}

/// The module instance an entry's address is in.
fn module_instance(tree: &Tree, e: &PlanEntry, block: &ResourceBlock) -> Result<usize, StepError> {
    tree.index(&e.address.block.module).ok_or_else(|| {
        StepError::Spec(vec![Diagnostic::error(
            format!(
                "{}: its module instance {} is no longer in the spec",
                e.address,
                crate::tree::module_label(&e.address.block.module)
            ),
            Some(block.span),
        )])
    })
}

/// Creates an object, never two. A create whose answer was lost
/// ([`ErrorKind::OutcomeUnknown`]) may have been carried out: the object is
/// looked for ([`Provider::find_created`]) before the create is sent again.
/// A found object is brought to the desired arguments with an update (the
/// create's follow-up calls may not have run). Other errors are retried as
/// [`with_retries`] does.
async fn create_or_recover(
    provider: &dyn Provider,
    req: &ChangeRequest,
    schema: &stackd_spec::ResourceSchema,
    ignore: &crate::diff::IgnoreChanges,
    address: &Address,
    reported: &std::sync::atomic::AtomicBool,
) -> Result<Value, ProviderError> {
    let budget = req.timeout;
    let start = Instant::now();
    let mut attempt = 0;
    loop {
        attempt += 1;
        let err = match provider.create(req).await {
            Ok(v) => return Ok(v),
            Err(e) => e,
        };
        // Dependents may already use the object it reported usable: never
        // send the create again, nor adopt another object. The object is
        // left in place; the next refresh finds it by its tags.
        if reported.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(err);
        }
        if err.kind == ErrorKind::OutcomeUnknown {
            tracing::warn!(%address, error = %err, "the create's answer was lost: looking for the object before sending it again");
            let left = budget.saturating_sub(start.elapsed());
            let found = with_retries(left, || provider.find_created(req), address).await?;
            if let Some(found) = found {
                tracing::info!(%address, "found the object the lost create made");
                return finish_found(provider, req, schema, ignore, found, address).await;
            }
            // Not made: sending it again makes the only one.
            let delay = crate::retry::BASE_DELAY;
            if start.elapsed() + delay > budget {
                return Err(err);
            }
            tokio::time::sleep(delay).await;
            continue;
        }
        match decide(&err, attempt, start.elapsed(), budget) {
            RetryDecision::RetryAfter(delay) => {
                tracing::info!(%address, error = %err, ?delay, attempt, "retrying");
                tokio::time::sleep(delay).await;
            }
            RetryDecision::GiveUp => return Err(err),
        }
    }
}

/// An object found after a lost create answer, brought to the desired
/// arguments where it differs in place.
async fn finish_found(
    provider: &dyn Provider,
    req: &ChangeRequest,
    schema: &stackd_spec::ResourceSchema,
    ignore: &crate::diff::IgnoreChanges,
    found: Value,
    address: &Address,
) -> Result<Value, ProviderError> {
    let changes = diff(schema, &req.desired, &found, ignore);
    if changes.is_empty() || changes.iter().any(|c| c.forces_replacement) {
        // A difference that would need a new object is left to the next
        // plan, which shows it.
        return Ok(found);
    }
    let id = found
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let update = ChangeRequest {
        prior: Some(found),
        id: Some(id),
        changed: changes.into_iter().map(|c| c.name).collect(),
        ..req.clone()
    };
    with_retries(req.timeout, || provider.update(&update), address).await
}

/// Records a finished step in state and in the values apply evaluates with.
fn record(
    plan: &Plan,
    state: &mut State,
    step: Step,
    result: Option<(String, Value)>,
    cfg: Option<&InstanceConfig>,
    values: &mut Values,
) {
    match step {
        Step::Delete(i) => {
            let e = &plan.entries[i];
            // With create_before_destroy the old object's delete runs only
            // after the new one was created and recorded, so the address
            // belongs to the new object: keep it. (IDs cannot tell the two
            // apart: a task definition's ID is its family, shared by its
            // revisions.)
            let replaced_first = e.action == Action::Replace && e.create_before_destroy;
            if !replaced_first {
                state.forget(&e.address);
                if e.action == Action::Delete {
                    values.remove(&e.address);
                }
            }
        }
        Step::Apply(i) => {
            let e = &plan.entries[i];
            if let Some((id, attrs)) = result {
                if e.address.block.mode == Mode::Data {
                    values.set(e.address.clone(), attrs);
                } else {
                    record_object(state, e, id, attrs, cfg, values);
                }
            }
        }
    }
}

fn record_object(
    state: &mut State,
    e: &PlanEntry,
    id: String,
    attrs: Value,
    cfg: Option<&InstanceConfig>,
    values: &mut Values,
) {
    let attrs = overlay_arguments(attrs, cfg.map(|c| &c.desired));
    values.set(e.address.clone(), attrs.clone());
    state.record(
        e.address.clone(),
        ResourceState {
            id,
            attrs,
            dependencies: crate::state::block_dependencies(&e.dependencies),
            create_before_destroy: cfg.is_some_and(|c| c.lifecycle.create_before_destroy),
            tainted: false,
        },
    );
}

/// The object's attributes, with the arguments the cloud does not echo
/// back (and the user's own `tags`) taken from the configuration.
fn overlay_arguments(attrs: Value, desired: Option<&Value>) -> Value {
    match (attrs, desired) {
        (Value::Map(mut a), Some(Value::Map(d))) => {
            for (k, v) in d {
                let missing = a.get(k).is_none_or(Value::is_null);
                if (missing || k == "tags") && !v.is_null() {
                    a.insert(k.clone(), v.clone());
                }
            }
            Value::Map(a)
        }
        (a, _) => a,
    }
}

fn update_outputs(
    plan: &Plan,
    state: &mut State,
    values: &Values,
    tree: &Tree<'_>,
    input: &ApplyInput<'_>,
) {
    let _ = plan;
    state.outputs.clear();
    tree.with_scope(0, values, |scope| {
        // Ephemeral outputs are never written to state.
        for o in input.config.outputs.values().filter(|o| !o.ephemeral) {
            let Some(expr) = &o.value else { continue };
            match scope.eval(expr) {
                Ok(v) => {
                    state.outputs.insert(
                        o.name.clone(),
                        OutputState {
                            value: v,
                            sensitive: o.sensitive,
                        },
                    );
                }
                Err(d) => {
                    tracing::warn!(output = %o.name, error = %d.message, "output could not be evaluated")
                }
            }
        }
    });
}
