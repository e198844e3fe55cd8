//! Planning: refresh live state (one batched read per resource type),
//! evaluate the spec instance by instance, and decide for each instance
//! what to do and why. Planning changes nothing in the cloud.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use stackd_spec::config::Config;
use stackd_spec::diag::Diagnostic;
use stackd_spec::eval::{LocalCache, NothingKnown, Scope};
use stackd_spec::schema::Presence;
use stackd_spec::{Address, BlockAddress, Mode, ResourceSchema, Value};

use crate::diff::{diff, AttrChange};
use crate::instance::{self, InstanceConfig, StackSettings};
use crate::provider::{
    ChangeRequest, DataRequest, KnownResource, LiveResource, Owner, Provider, ProviderError,
    RefreshRequest, STACK_ID_TAG, STACK_TAG,
};
use crate::state::State;
use crate::tree::{Graph, Tree};
use crate::values::{Expansion, Values};

/// What will happen to one instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    NoOp,
    Create,
    Update,
    /// Delete and create again (create first with `create_before_destroy`).
    Replace,
    Delete,
    /// Read a data source whose arguments are only known during apply.
    Read,
}

impl Action {
    /// The plan symbol a reviewer expects.
    pub fn symbol(self) -> &'static str {
        match self {
            Action::NoOp => " ",
            Action::Create => "+",
            Action::Update => "~",
            Action::Replace => "-/+",
            Action::Delete => "-",
            Action::Read => "<=",
        }
    }
}

/// Why an instance is in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reason {
    /// In the spec, not in state: new.
    New,
    /// In state, but no longer in the cloud: deleted outside stackd.
    DeletedOutside,
    /// Found in the cloud by its ownership tags but missing from state
    /// (an interrupted apply): taken back into state.
    Adopted,
    /// Arguments differ from the live object.
    Changed,
    /// These arguments cannot change in place.
    ForcedBy(Vec<String>),
    /// In state but no longer in the spec.
    RemovedFromSpec,
    /// Tagged as this stack's in the cloud, tracked nowhere.
    Untracked,
    /// `stackd destroy`.
    DestroyRequested,
    /// A data source whose arguments depend on values known after apply.
    DataDeferred,
    /// A data source that depends on an object with changes pending.
    DataAfterChanges,
    /// A provisioner failed when it was created.
    Tainted,
    /// Taken into state by an `import` block.
    Imported,
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Reason::New => write!(f, "not yet created"),
            Reason::DeletedOutside => write!(f, "deleted outside stackd: will be created again"),
            Reason::Adopted => write!(f, "found in the cloud by its tags but missing from state (an interrupted apply): adopted"),
            Reason::Changed => write!(f, "arguments differ from the live object"),
            Reason::ForcedBy(attrs) => write!(f, "{} cannot change in place", attrs.join(", ")),
            Reason::RemovedFromSpec => write!(f, "no longer in the spec"),
            Reason::Untracked => write!(f, "tagged as this stack's in the cloud but tracked nowhere"),
            Reason::DestroyRequested => write!(f, "destroy requested"),
            Reason::DataDeferred => write!(f, "arguments known only after apply"),
            Reason::DataAfterChanges => {
                write!(f, "depends on a resource with changes pending: read after them")
            }
            Reason::Tainted => write!(f, "tainted: a provisioner failed when it was created"),
            Reason::Imported => write!(f, "imported by an import block"),
        }
    }
}

/// The live (or recorded) object an entry starts from.
#[derive(Clone, Debug, PartialEq)]
pub struct Prior {
    pub id: String,
    pub attrs: Value,
    /// Dependencies recorded in state (for delete ordering).
    pub dependencies: Vec<Address>,
    /// True when state does not record it yet (adopted or untracked).
    pub untracked: bool,
}

/// One instance's planned change.
#[derive(Clone, Debug, PartialEq)]
pub struct PlanEntry {
    pub address: Address,
    pub action: Action,
    pub reasons: Vec<Reason>,
    pub changes: Vec<AttrChange>,
    pub prior: Option<Prior>,
    /// The planned arguments (unknowns where only known after apply).
    pub desired: Option<Value>,
    /// Instances this one's configuration depends on.
    pub dependencies: Vec<Address>,
    pub create_before_destroy: bool,
}

/// A planned output value.
#[derive(Clone, Debug, PartialEq)]
pub struct PlannedOutput {
    pub before: Option<Value>,
    pub after: Value,
    pub sensitive: bool,
}

/// The result of planning.
#[derive(Clone, Debug, Default)]
pub struct Plan {
    pub entries: Vec<PlanEntry>,
    pub outputs: BTreeMap<String, PlannedOutput>,
    /// Data source values read while planning.
    pub data: BTreeMap<Address, Value>,
    pub warnings: Vec<Diagnostic>,
    /// Instance expansion of every block, for apply's evaluations.
    pub expansions: HashMap<BlockAddress, Expansion>,
    /// Resource types refreshed, for reports.
    pub refreshed_types: Vec<String>,
    /// Whose objects the plan was made for; apply tags and adopts as this.
    pub owner: Owner,
    /// State renames from `moved` blocks, `(from, to)` in order: the plan
    /// was made as if they were done, and apply does them first.
    pub moves: Vec<(Address, Address)>,
    /// Instances `removed` blocks (`destroy = false`) let go of: apply
    /// drops them from state, after the moves, and leaves their objects.
    pub forgets: Vec<Address>,
}

impl Plan {
    /// Counts (add, change, destroy), as Terraform's closing line counts them.
    pub fn counts(&self) -> (usize, usize, usize) {
        let mut c = (0, 0, 0);
        for e in &self.entries {
            match e.action {
                Action::Create => c.0 += 1,
                Action::Update => c.1 += 1,
                Action::Replace => {
                    c.0 += 1;
                    c.2 += 1
                }
                Action::Delete => c.2 += 1,
                Action::NoOp | Action::Read => {}
            }
        }
        c
    }

    /// True when applying would change nothing in the cloud or the state.
    pub fn is_empty(&self) -> bool {
        self.moves.is_empty()
            && self.forgets.is_empty()
            && self.entries.iter().all(|e| {
                matches!(e.action, Action::NoOp | Action::Read)
                    && !e.reasons.contains(&Reason::Adopted)
                    && !e.reasons.contains(&Reason::Imported)
            })
            && self
                .outputs
                .values()
                .all(|o| o.before.as_ref() == Some(&o.after))
    }

    pub fn entry(&self, address: &Address) -> Option<&PlanEntry> {
        self.entries.iter().find(|e| &e.address == address)
    }
}

/// Why planning failed.
#[derive(Debug)]
pub enum PlanError {
    /// The spec is wrong; diagnostics say where.
    Spec(Vec<Diagnostic>),
    /// Reading the cloud failed.
    Provider {
        type_name: String,
        error: ProviderError,
    },
}

/// Whether to plan for the spec or for tearing everything down.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanMode {
    Normal,
    Destroy,
}

/// Everything planning needs.
pub struct PlanInput<'a> {
    pub config: &'a Config,
    pub vars: &'a BTreeMap<String, Value>,
    pub state: &'a State,
    pub provider: Arc<dyn Provider>,
    pub settings: &'a StackSettings,
    pub mode: PlanMode,
    /// Read the managed objects from the cloud (`true`), or take state's
    /// record of them as they are (`--refresh=false`: only data sources are
    /// read, and drift goes unseen).
    pub refresh: bool,
}

impl PlanInput<'_> {
    /// Whose objects this plan is about (see [`StackSettings::owner`]).
    pub fn owner(&self) -> Owner {
        self.settings.owner(self.state)
    }
}

/// The renames the spec's `moved` blocks make in `state`, in order, and
/// the state with them done. A move whose `from` is not in the state (done
/// already, or never there) or whose `to` is taken is skipped, as in
/// Terraform.
pub fn moves(config: &Config, state: &State) -> (Vec<(Address, Address)>, State) {
    let mut out = Vec::new();
    let mut moved = state.clone();
    for m in &config.moved {
        let pairs: Vec<(Address, Address)> = match (&m.from.key, &m.to.key) {
            _ if m.from.module_only => {
                let from = &m.from.block.module;
                moved
                    .resources
                    .keys()
                    .filter(|a| a.block.module.starts_with(from))
                    .map(|a| {
                        let mut to = a.clone();
                        to.block.module = m.to.block.module.clone();
                        to.block
                            .module
                            .extend_from_slice(&a.block.module[from.len()..]);
                        (a.clone(), to)
                    })
                    .collect()
            }
            (None, None) => moved
                .resources
                .keys()
                .filter(|a| a.block == m.from.block)
                .map(|a| (a.clone(), m.to.block.instance(a.key.clone())))
                .collect(),
            _ => vec![(
                m.from.block.instance(m.from.key.clone()),
                m.to.block.instance(m.to.key.clone()),
            )],
        };
        for (from, to) in pairs {
            if moved.resources.contains_key(&from) && !moved.resources.contains_key(&to) {
                rename(&mut moved, &from, &to);
                out.push((from, to));
            }
        }
    }
    (out, moved)
}

/// The instances of `state` that `removed` blocks with `destroy = false`
/// let go of (those the spec still plans are not: validation rejects that).
pub fn forgets(config: &Config, state: &State) -> Vec<Address> {
    state
        .resources
        .keys()
        .filter(|a| a.block.mode == Mode::Managed)
        .filter(|a| {
            config
                .removed
                .iter()
                .any(|r| !r.destroy && end_matches(&r.from, a))
        })
        .cloned()
        .collect()
}

/// Whether an address is (in) what a `moved` or `removed` end names.
fn end_matches(end: &stackd_spec::config::MoveEnd, a: &Address) -> bool {
    if end.module_only {
        a.block.module.starts_with(&end.block.module)
    } else {
        match &end.key {
            None => a.block == end.block,
            Some(k) => a.block == end.block && a.key.as_ref() == Some(k),
        }
    }
}

/// Renames a resource instance in `state`, and every dependency on it.
pub fn rename(state: &mut State, from: &Address, to: &Address) {
    if let Some(r) = state.resources.remove(from) {
        state.resources.insert(to.clone(), r);
    }
    let (from_block, to_block) = (
        Address {
            block: from.block.clone(),
            key: None,
        },
        Address {
            block: to.block.clone(),
            key: None,
        },
    );
    for r in state.resources.values_mut() {
        for d in r.dependencies.iter_mut().filter(|d| *d == from) {
            *d = to.clone();
        }
        // A dependency on the block: on the moved instance too, wherever
        // it now is (the block's other instances may stay).
        if from.key.is_some()
            && r.dependencies.contains(&from_block)
            && !r.dependencies.contains(&to_block)
        {
            r.dependencies.push(to_block.clone());
        }
    }
}

/// The `(address, id)` pairs of the spec's `import` blocks (each
/// `for_each` instance), for addresses the state does not record yet.
fn imports(input: &PlanInput<'_>) -> Result<Vec<(Address, String)>, PlanError> {
    let config = input.config;
    if config.imports.is_empty() {
        return Ok(Vec::new());
    }
    let locals = LocalCache::default();
    let scope = Scope::new(config, input.vars, &NothingKnown, &locals);
    let mut out = Vec::new();
    let mut diags = Vec::new();
    for imp in &config.imports {
        let slots = match instance::expand_meta(None, imp.for_each.as_ref(), &scope) {
            Ok((_, slots)) => slots,
            Err(d) => {
                diags.push(d);
                continue;
            }
        };
        for slot in slots {
            let inst = scope.for_instance(slot.each, None);
            let address = match import_address(&imp.to, &inst) {
                Ok(a) => a,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            let id = match inst.eval(&imp.id) {
                Ok(Value::String(id)) if !id.is_empty() => id,
                Ok(other) => {
                    diags.push(Diagnostic::error(
                        format!(
                            "import to {address}: the id must be a string known before apply, \
                             got {}",
                            other.type_name()
                        ),
                        Some(imp.id.span),
                    ));
                    continue;
                }
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            };
            if config.block_at(&address.block).is_none() || address.block.mode != Mode::Managed {
                diags.push(Diagnostic::error(
                    format!("import to {address}: the spec declares no such resource"),
                    Some(imp.to.span),
                ));
                continue;
            }
            match input.state.resources.get(&address) {
                Some(r) if r.id == id => {}
                Some(r) => diags.push(Diagnostic::error(
                    format!(
                        "import to {address}: the state already records it, with ID {:?}, not \
                         {id:?}",
                        r.id
                    ),
                    Some(imp.to.span),
                )),
                None => out.push((address, id)),
            }
        }
    }
    if diags.is_empty() {
        Ok(out)
    } else {
        Err(PlanError::Spec(diags))
    }
}

/// The address an import's `to` names (`aws_subnet.s[each.key]`), with
/// its instance keys evaluated.
fn import_address(e: &stackd_spec::expr::Expr, scope: &Scope) -> Result<Address, Diagnostic> {
    use stackd_spec::expr::{ExprKind, OpKind};
    let bad = || {
        Diagnostic::error(
            "\"to\" of an import block is a resource address such as aws_vpc.main or \
             aws_subnet.s[each.key]",
            Some(e.span),
        )
    };
    let ExprKind::Traversal(base, ops) = &e.kind else {
        return Err(bad());
    };
    let ExprKind::Variable(root) = &base.kind else {
        return Err(bad());
    };
    let mut text = root.clone();
    for op in ops {
        match &op.kind {
            OpKind::GetAttr(n) => {
                text.push('.');
                text.push_str(n);
            }
            OpKind::Index(i) => {
                let key = match scope.eval(i)? {
                    Value::String(s) => stackd_spec::InstanceKey::Str(s),
                    Value::Number(n) if n.fract() == 0.0 => stackd_spec::InstanceKey::Int(n as i64),
                    _ => return Err(bad()),
                };
                text.push_str(&key.to_string());
            }
            OpKind::Splat => return Err(bad()),
        }
    }
    text.parse().map_err(|_| bad())
}

/// The live objects found by refresh.
#[derive(Debug, Default)]
pub struct Refreshed {
    /// Live objects of instances recorded in state, by address.
    pub tracked: HashMap<Address, LiveResource>,
    /// Objects carrying the stack's tags that state does not record.
    pub untracked: Vec<(String, LiveResource)>,
}

/// The managed objects as state last recorded them, taken for live
/// (`--refresh=false`).
fn recorded_as_live(state: &State) -> Refreshed {
    Refreshed {
        tracked: state
            .resources
            .iter()
            .filter(|(a, _)| a.block.mode == Mode::Managed)
            .map(|(a, r)| {
                let live = LiveResource {
                    id: r.id.clone(),
                    address: Some(a.clone()),
                    attrs: r.attrs.clone(),
                };
                (a.clone(), live)
            })
            .collect(),
        untracked: Vec::new(),
    }
}

/// Reads every resource type in state or spec: one batched request per type, all types at once.
pub async fn refresh(input: &PlanInput<'_>) -> Result<Refreshed, PlanError> {
    refresh_with(input, &[]).await
}

/// [`refresh`], also reading the objects `import` blocks name, by ID.
async fn refresh_with(
    input: &PlanInput<'_>,
    imports: &[(Address, String)],
) -> Result<Refreshed, PlanError> {
    let mut types: BTreeSet<String> = input
        .state
        .resources
        .keys()
        .filter(|a| a.block.mode == Mode::Managed)
        .map(|a| a.block.type_name.clone())
        .collect();
    types.extend(imports.iter().map(|(a, _)| a.block.type_name.clone()));
    if input.mode == PlanMode::Normal {
        for (_, config) in input.config.tree() {
            types.extend(
                config
                    .resources
                    .iter()
                    .filter(|r| r.addr.mode == Mode::Managed)
                    .map(|r| r.addr.type_name.clone()),
            );
        }
    }
    // One refresh per type, whatever names it is written with: `aws_alb`
    // and `aws_lb` blocks are read by one call chain, so no object of one
    // is taken for an untracked object of the other.
    let schemas = input.provider.schemas();
    let types: BTreeSet<String> = types
        .iter()
        .filter(|t| schemas.get(Mode::Managed, t).is_some())
        .map(|t| schemas.canonical(Mode::Managed, t).to_string())
        .collect();
    let mut tasks = tokio::task::JoinSet::new();
    for t in &types {
        let known: Vec<KnownResource> = input
            .state
            .resources
            .iter()
            .filter(|(a, _)| {
                a.block.mode == Mode::Managed
                    && schemas.canonical(Mode::Managed, &a.block.type_name) == t
            })
            .map(|(a, r)| KnownResource {
                address: a.clone(),
                id: r.id.clone(),
                attrs: r.attrs.clone(),
            })
            .chain(
                imports
                    .iter()
                    .filter(|(a, _)| schemas.canonical(Mode::Managed, &a.block.type_name) == t)
                    .map(|(a, id)| KnownResource {
                        address: a.clone(),
                        id: id.clone(),
                        attrs: Value::Null,
                    }),
            )
            .collect();
        let req = RefreshRequest {
            type_name: t.clone(),
            owner: input.owner(),
            known,
        };
        let provider = input.provider.clone();
        tasks.spawn(async move {
            let result = read_with_retries(&req.type_name, || provider.refresh(&req)).await;
            (req, result)
        });
    }
    let mut out = Refreshed::default();
    let mut first_error = None;
    while let Some(joined) = tasks.join_next().await {
        let Ok((req, result)) = joined else { continue };
        match result {
            Ok(live) => sort_live(&req, live, input.state, &mut out),
            Err(error) => {
                first_error.get_or_insert(PlanError::Provider {
                    type_name: req.type_name.clone(),
                    error,
                });
            }
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

fn sort_live(req: &RefreshRequest, live: Vec<LiveResource>, state: &State, out: &mut Refreshed) {
    // IDs need not be unique across instances (an Application Auto Scaling
    // policy's ID is its name, and one name can serve several services):
    // of the instances with the object's ID, the one the provider names.
    let mut by_id: HashMap<&str, Vec<&KnownResource>> = HashMap::new();
    for k in &req.known {
        by_id.entry(k.id.as_str()).or_default().push(k);
    }
    // An import's ID need not be its object's (Terraform imports a default
    // route table by its VPC's ID): the object the provider found for an
    // import's address, under another ID, is that import's.
    let imports: HashMap<&Address, &KnownResource> = req
        .known
        .iter()
        .filter(|k| k.attrs.is_null() && !state.resources.contains_key(&k.address))
        .map(|k| (&k.address, k))
        .collect();
    for obj in live {
        let known = by_id
            .get(obj.id.as_str())
            .and_then(|ks| {
                ks.iter()
                    .find(|k| obj.address.as_ref() == Some(&k.address))
                    .or_else(|| ks.first())
            })
            .or_else(|| obj.address.as_ref().and_then(|a| imports.get(a)));
        match known {
            // Let go of by `state rm` or a `removed` block: not the
            // stack's any more, whatever its tags say.
            None if state.is_released(&obj.id) => {}
            Some(k) => {
                out.tracked.insert(k.address.clone(), obj);
            }
            // An object state does not know is the stack's only if its own
            // tags say so. A provider's server-side tag filter is not
            // trusted: adopting or deleting another stack's object would be
            // the worst mistake stackd could make.
            None if owned_by(&obj, &req.owner) => out.untracked.push((req.type_name.clone(), obj)),
            None => tracing::warn!(
                type_name = %req.type_name,
                id = %obj.id,
                "refresh returned an object without this stack's ownership tag; ignoring it"
            ),
        }
    }
}

/// True when the object's own tags say it is `owner`'s.
fn owned_by(obj: &LiveResource, owner: &Owner) -> bool {
    let tags = obj.attrs.get("tags_all");
    owner.owns(|key| tags.and_then(|t| t.get(key)).and_then(Value::as_str))
}

/// Objects of creates an earlier run started but never recorded (it was
/// killed, or could not save): the provider looks for each as its create
/// would have made it. Found ones are provably the stack's and join the
/// untracked objects: adopted where the spec names them, deleted
/// otherwise (so `destroy` removes them too).
async fn find_pending(input: &PlanInput<'_>, refreshed: &mut Refreshed) -> Result<(), PlanError> {
    let schemas = input.provider.schemas();
    let mut tasks = tokio::task::JoinSet::new();
    for (address, pending) in &input.state.pending {
        let type_name = &address.block.type_name;
        if address.block.mode != Mode::Managed || schemas.get(Mode::Managed, type_name).is_none() {
            continue;
        }
        let req = ChangeRequest {
            address: address.clone(),
            type_name: type_name.clone(),
            owner: input.owner(),
            desired: pending.arguments.clone(),
            prior: None,
            id: None,
            changed: Vec::new(),
            timeout: crate::retry::READ_BUDGET,
            idempotency_token: pending.token.clone(),
            pending_since: Some(pending.started_at.clone()),
        };
        let provider = input.provider.clone();
        tasks.spawn(async move {
            let found = read_with_retries(&req.address, || provider.find_created(&req)).await;
            (req, found)
        });
    }
    while let Some(joined) = tasks.join_next().await {
        let Ok((req, found)) = joined else { continue };
        let attrs = match found {
            Ok(Some(attrs)) => attrs,
            Ok(None) => continue,
            Err(error) => {
                return Err(PlanError::Provider {
                    type_name: req.type_name,
                    error,
                })
            }
        };
        let id = attrs
            .get("id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let known = refreshed.tracked.values().any(|l| l.id == id)
            || refreshed.untracked.iter().any(|(_, l)| l.id == id);
        if id.is_empty() || known {
            continue;
        }
        tracing::info!(address = %req.address, %id, "found the object of an unrecorded create");
        refreshed.untracked.push((
            req.type_name,
            LiveResource {
                id,
                address: Some(req.address),
                attrs,
            },
        ));
    }
    Ok(())
}

/// A read (refresh, data source) with the engine's retry policy: reads are
/// throttled like writes, and a plan must not fail on the first throttle.
async fn read_with_retries<T, F, Fut>(
    what: &(dyn std::fmt::Display + Sync),
    call: F,
) -> Result<T, ProviderError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, ProviderError>>,
{
    crate::retry::with_retries(crate::retry::READ_BUDGET, call, what).await
}

/// Makes the plan.
pub async fn plan(input: &PlanInput<'_>) -> Result<Plan, PlanError> {
    // `moved` blocks: plan as if the state already said the new addresses.
    let (moves, moved_state) = moves(input.config, input.state);
    let moved_input;
    let input = if moves.is_empty() {
        input
    } else {
        moved_input = PlanInput {
            config: input.config,
            vars: input.vars,
            state: &moved_state,
            provider: input.provider.clone(),
            settings: input.settings,
            mode: input.mode,
            refresh: input.refresh,
        };
        &moved_input
    };
    let imports = if input.mode == PlanMode::Normal {
        imports(input)?
    } else {
        Vec::new()
    };
    let mut refreshed = if input.refresh {
        refresh_with(input, &imports).await?
    } else if let Some((a, _)) = imports.first() {
        return Err(PlanError::Spec(vec![Diagnostic::error(
            format!("import to {a}: an import reads the cloud, which --refresh=false does not"),
            None,
        )]));
    } else {
        recorded_as_live(input.state)
    };
    let missing: Vec<Diagnostic> = imports
        .iter()
        .filter(|(a, _)| !refreshed.tracked.contains_key(a))
        .map(|(a, id)| {
            Diagnostic::error(
                format!(
                    "import to {a}: no {} with ID {id:?} was found",
                    a.block.type_name
                ),
                None,
            )
        })
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::Spec(missing));
    }
    if input.refresh {
        find_pending(input, &mut refreshed).await?;
    }
    let mut plan = Plan {
        forgets: if input.mode == PlanMode::Normal {
            forgets(input.config, input.state)
        } else {
            Vec::new()
        },
        moves,
        owner: input.owner(),
        refreshed_types: {
            let mut t: Vec<String> = refreshed
                .tracked
                .keys()
                .filter(|_| input.refresh)
                .map(|a| a.block.type_name.clone())
                .chain(refreshed.untracked.iter().map(|(t, _)| t.clone()))
                .collect();
            t.sort();
            t.dedup();
            t
        },
        ..Plan::default()
    };
    let mut planned: BTreeSet<Address> = BTreeSet::new();
    if input.mode == PlanMode::Normal {
        plan_spec(input, &mut refreshed, &mut plan, &mut planned).await?;
    }
    plan_deletions(input, &mut refreshed, &mut plan, &planned);
    plan.entries.sort_by(|a, b| a.address.cmp(&b.address));
    if plan.owner.by_name {
        let adopted = plan
            .entries
            .iter()
            .filter(|e| e.reasons.contains(&Reason::Adopted))
            .count();
        if adopted > 0 {
            plan.warnings.push(Diagnostic::warning(
                format!(
                    "no state was found and --stack {name} was given: adopting {adopted} \
                     object(s) tagged {STACK_TAG}={name} into a new state (their \
                     {STACK_ID_TAG} tag is rewritten to this state's identity on apply)",
                    name = plan.owner.name,
                ),
                None,
            ));
        }
    }
    let blocked: Vec<Diagnostic> = plan
        .entries
        .iter()
        .filter(|e| matches!(e.action, Action::Delete | Action::Replace))
        .filter(|e| prevents_destroy(input, e))
        .map(|e| {
            Diagnostic::error(
                format!(
                    "{} has lifecycle.prevent_destroy set, but the plan would destroy it ({})",
                    e.address,
                    e.reasons
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join("; ")
                ),
                input.config.block_at(&e.address.block).map(|r| r.span),
            )
        })
        .collect();
    if !blocked.is_empty() {
        return Err(PlanError::Spec(blocked));
    }
    Ok(plan)
}

fn prevents_destroy(input: &PlanInput, e: &PlanEntry) -> bool {
    let names = e.address.block.module_names();
    let (Some(config), Some(block)) = (
        input.config.module_config(&names),
        input.config.block_at(&e.address.block),
    ) else {
        return false;
    };
    let Some(expr) = &block.lifecycle.prevent_destroy else {
        return false;
    };
    // Lifecycle arguments are literals in Terraform; a module's variables
    // are not needed (nor known) here.
    let empty = BTreeMap::new();
    let vars = if names.is_empty() { input.vars } else { &empty };
    let locals = LocalCache::default();
    let scope = Scope::new(config, vars, &NothingKnown, &locals);
    matches!(scope.eval(expr), Ok(Value::Bool(true)))
}

async fn plan_spec(
    input: &PlanInput<'_>,
    refreshed: &mut Refreshed,
    plan: &mut Plan,
    planned: &mut BTreeSet<Address>,
) -> Result<(), PlanError> {
    let schemas = input.provider.schemas();
    let mut values = Values::default();
    let (tree, mut diags) = Tree::expand(input.config, input.vars);
    let graph = Graph::new(input.config);
    let order = graph.order().map_err(PlanError::Spec)?;
    // Instances planned so far with a change (or a deferred read): what a
    // data source depending on them waits for.
    let mut changing: BTreeSet<Address> = BTreeSet::new();
    for (module, block) in order {
        let Some(schema) = schemas.get(block.addr.mode, &block.addr.type_name) else {
            diags.push(Diagnostic::error(
                format!("unknown resource type {}", block.addr.type_name),
                Some(block.type_span),
            ));
            continue;
        };
        let indexed = graph.indexed_deps(&module, block);
        for &idx in tree.instances_of(&module) {
            let block_addr = block
                .addr
                .clone()
                .in_module(tree.instances[idx].path.clone());
            let expanded = tree.with_scope(idx, &values, |scope| instance::expand(block, scope));
            let (expansion, slots) = match expanded {
                Ok(x) => x,
                Err(d) => {
                    diags.push(d);
                    values.expand(block_addr, Expansion::Unknown);
                    continue;
                }
            };
            values.expand(block_addr.clone(), expansion);
            // What every instance depends on; blocks read one instance at
            // a time are added per instance below.
            let here = &tree.instances[idx].path;
            let indexed_here: Vec<(BlockAddress, &Vec<stackd_spec::expr::Expr>)> = indexed
                .iter()
                .map(|(b, exprs)| (b.clone().in_module(here.clone()), exprs))
                .collect();
            let shared: Vec<Address> = graph
                .instance_deps(&tree, &values, idx, block)
                .into_iter()
                .filter(|d| !indexed_here.iter().any(|(b, _)| *b == d.block))
                .collect();
            // Instances of one block cannot refer to each other: evaluate
            // them all against the values known so far, then record them.
            type Evaluated = (
                Address,
                Result<InstanceConfig, Vec<Diagnostic>>,
                Vec<Address>,
            );
            let evaluated: Vec<Evaluated> = tree.with_scope(idx, &values, |scope| {
                slots
                    .into_iter()
                    .map(|slot| {
                        let address = block_addr.instance(slot.key.clone());
                        let inst_scope = scope.for_instance(slot.each.clone(), slot.count_index);
                        let cfg = instance::evaluate(
                            block,
                            schema,
                            &inst_scope,
                            &address,
                            input.settings,
                            &input.owner(),
                        );
                        let mut deps = shared.clone();
                        for (b, exprs) in &indexed_here {
                            for e in exprs.iter() {
                                let one = inst_scope
                                    .eval(e)
                                    .ok()
                                    .and_then(|key| values.instance_address(b, &key));
                                match one {
                                    Some(a) => deps.push(a),
                                    // Not told apart: every instance.
                                    None => deps.extend(
                                        values
                                            .expansions
                                            .get(b)
                                            .map(|x| x.keys())
                                            .unwrap_or_default()
                                            .into_iter()
                                            .map(|k| b.instance(k)),
                                    ),
                                }
                            }
                        }
                        deps.sort();
                        deps.dedup();
                        (address, cfg, deps)
                    })
                    .collect()
            });
            for (address, cfg, dependencies) in evaluated {
                let cfg = match cfg {
                    Ok(c) => c,
                    Err(d) => {
                        diags.extend(d);
                        continue;
                    }
                };
                planned.insert(address.clone());
                if block.addr.mode == Mode::Data {
                    // As in Terraform, a data source that depends on an
                    // object with changes pending is read at apply, after
                    // them: read now, it would see the cloud before.
                    let pending = dependencies.iter().any(|dep| changing.contains(dep));
                    let read = if pending {
                        None
                    } else {
                        plan_data(input, &address, schema, &cfg).await?
                    };
                    match read {
                        Some(v) => {
                            plan.data.insert(address.clone(), v.clone());
                            values.set(address, v);
                        }
                        None => {
                            values.set(address.clone(), Value::Unknown);
                            changing.insert(address.clone());
                            plan.entries.push(PlanEntry {
                                address,
                                action: Action::Read,
                                reasons: vec![if cfg.desired.is_wholly_known() {
                                    Reason::DataAfterChanges
                                } else {
                                    Reason::DataDeferred
                                }],
                                changes: Vec::new(),
                                prior: None,
                                desired: Some(cfg.desired),
                                dependencies: dependencies.clone(),
                                create_before_destroy: false,
                            });
                        }
                    }
                    continue;
                }
                let entry = plan_instance(
                    input,
                    refreshed,
                    schema,
                    address.clone(),
                    cfg,
                    dependencies.clone(),
                );
                let planned = planned_value(schema, &entry);
                // Postconditions of an object that stays: checked now when
                // what they read is known (a created one's, at apply).
                if !block.lifecycle.postconditions.is_empty()
                    && matches!(entry.action, Action::NoOp | Action::Update)
                {
                    let key = address.key.clone();
                    diags.extend(tree.with_scope(idx, &values, |scope| {
                        let slot_scope = instance_scope(scope, block, key);
                        instance::postconditions(block, &slot_scope, &planned, &address)
                    }));
                }
                if entry.action != Action::NoOp {
                    changing.insert(address.clone());
                }
                values.set(address, planned);
                plan.entries.push(entry);
            }
        }
    }
    if !diags.is_empty() {
        return Err(PlanError::Spec(diags));
    }
    plan.expansions = values.expansions.clone();
    // Outputs, as far as they are known now.
    tree.with_scope(0, &values, |scope| {
        for o in input.config.outputs.values() {
            for rule in &o.preconditions {
                match stackd_spec::eval::check_condition(scope, rule, "precondition") {
                    Ok(None) => {}
                    Ok(Some(message)) => diags.push(Diagnostic::error(
                        format!("output \"{}\": precondition failed: {message}", o.name),
                        Some(rule.condition.span),
                    )),
                    Err(d) => diags.push(d),
                }
            }
            let Some(expr) = &o.value else { continue };
            match scope.eval(expr) {
                Ok(v) => {
                    plan.outputs.insert(
                        o.name.clone(),
                        PlannedOutput {
                            before: input.state.outputs.get(&o.name).map(|s| s.value.clone()),
                            after: v,
                            sensitive: o.sensitive,
                        },
                    );
                }
                Err(d) => diags.push(d),
            }
        }
    });
    if !diags.is_empty() {
        return Err(PlanError::Spec(diags));
    }
    plan.warnings.extend(check_blocks(&tree, &values));
    Ok(())
}

/// `check` blocks: every assertion that does not hold is a warning, never
/// an error (as in Terraform); unknown ones are not reported.
pub fn check_blocks(tree: &Tree, values: &Values) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for idx in 0..tree.instances.len() {
        let config = tree.instances[idx].config;
        if config.checks.is_empty() {
            continue;
        }
        let path = crate::tree::module_label(&tree.instances[idx].path);
        tree.with_scope(idx, values, |scope| {
            for check in &config.checks {
                for rule in &check.asserts {
                    let message = match stackd_spec::eval::check_condition(scope, rule, "assert") {
                        Ok(None) => continue,
                        Ok(Some(m)) => m,
                        Err(d) => d.message,
                    };
                    let place = if tree.instances[idx].path.is_empty() {
                        String::new()
                    } else {
                        format!(" in {path}")
                    };
                    out.push(Diagnostic::warning(
                        format!("check \"{}\"{place} failed: {message}", check.name),
                        Some(rule.condition.span),
                    ));
                }
            }
        });
    }
    out
}

/// A block's scope for one instance key (`each`/`count` bound).
fn instance_scope<'s>(
    scope: &Scope<'s>,
    block: &stackd_spec::config::ResourceBlock,
    key: Option<stackd_spec::InstanceKey>,
) -> Scope<'s> {
    match instance::expand(block, scope) {
        Ok((_, slots)) => match slots.into_iter().find(|s| s.key == key) {
            Some(slot) => scope.for_instance(slot.each, slot.count_index),
            None => scope.for_instance(None, None),
        },
        Err(_) => scope.for_instance(None, None),
    }
}

async fn plan_data(
    input: &PlanInput<'_>,
    address: &Address,
    _schema: &ResourceSchema,
    cfg: &InstanceConfig,
) -> Result<Option<Value>, PlanError> {
    if !cfg.desired.is_wholly_known() {
        return Ok(None);
    }
    let req = DataRequest {
        address: address.clone(),
        type_name: address.block.type_name.clone(),
        args: cfg.desired.clone(),
    };
    let v = read_with_retries(address, || input.provider.read_data(&req))
        .await
        .map_err(|error| PlanError::Provider {
            type_name: format!("data source {address}"),
            error,
        })?;
    Ok(Some(merge_args(&cfg.desired, &v)))
}

/// A data source's value: its arguments, overlaid with what was read.
fn merge_args(args: &Value, read: &Value) -> Value {
    match (args, read) {
        (Value::Map(a), Value::Map(r)) => {
            let mut out = a.clone();
            out.extend(r.iter().map(|(k, v)| (k.clone(), v.clone())));
            Value::Map(out)
        }
        _ => read.clone(),
    }
}

fn plan_instance(
    input: &PlanInput<'_>,
    refreshed: &mut Refreshed,
    schema: &ResourceSchema,
    address: Address,
    cfg: InstanceConfig,
    dependencies: Vec<Address>,
) -> PlanEntry {
    let in_state = input.state.resources.get(&address);
    let mut reasons = Vec::new();
    let live = match refreshed.tracked.remove(&address) {
        // Read by ID for an `import` block: taken into state like an
        // adopted object.
        Some(l) if in_state.is_none() => {
            reasons.push(Reason::Imported);
            Some((l, true))
        }
        Some(l) => Some((l, false)),
        None => {
            // An object tagged with this address that state does not know:
            // an apply was interrupted after creating it. Adopt it.
            let pos = refreshed
                .untracked
                .iter()
                .position(|(_, l)| l.address.as_ref() == Some(&address));
            pos.map(|i| (refreshed.untracked.remove(i).1, true))
        }
    };
    let entry = |action, reasons, changes, prior| PlanEntry {
        address: address.clone(),
        action,
        reasons,
        changes,
        prior,
        desired: Some(cfg.desired.clone()),
        dependencies: dependencies.clone(),
        create_before_destroy: cfg.lifecycle.create_before_destroy,
    };
    let Some((live, adopted)) = live else {
        reasons.push(if in_state.is_some() {
            Reason::DeletedOutside
        } else {
            Reason::New
        });
        return entry(Action::Create, reasons, Vec::new(), None);
    };
    if adopted && !reasons.contains(&Reason::Imported) {
        reasons.push(Reason::Adopted);
    }
    let changes = diff(schema, &cfg.desired, &live.attrs, &cfg.lifecycle.ignore);
    let forced: Vec<String> = changes
        .iter()
        .filter(|c| c.forces_replacement)
        .map(|c| c.name.clone())
        .collect();
    let action = if in_state.is_some_and(|s| s.tainted) {
        reasons.push(Reason::Tainted);
        Action::Replace
    } else if !forced.is_empty() {
        reasons.push(Reason::ForcedBy(forced));
        Action::Replace
    } else if !changes.is_empty() {
        reasons.push(Reason::Changed);
        Action::Update
    } else {
        Action::NoOp
    };
    let prior = Prior {
        id: live.id.clone(),
        attrs: live.attrs,
        dependencies: in_state.map(|s| s.dependencies.clone()).unwrap_or_default(),
        untracked: adopted,
    };
    entry(action, reasons, changes, Some(prior))
}

/// The value other expressions see for an instance before apply: live
/// attributes where they stay, desired arguments where they change,
/// unknown for what the cloud will decide.
pub fn planned_value(schema: &ResourceSchema, entry: &PlanEntry) -> Value {
    let desired = entry.desired.clone().unwrap_or(Value::Null);
    let fresh = matches!(entry.action, Action::Create | Action::Replace);
    let live = if fresh {
        None
    } else {
        entry.prior.as_ref().map(|p| &p.attrs)
    };
    planned_attrs(schema, &desired, live)
}

/// The value other expressions see for an instance with `desired`
/// arguments and `live` attributes (`None` for a new object): live
/// attributes where they stay, desired arguments where they change,
/// unknown for what the cloud will decide.
pub fn planned_attrs(schema: &ResourceSchema, desired: &Value, live: Option<&Value>) -> Value {
    let mut out = BTreeMap::new();
    for attr in &schema.body.attrs {
        let d = desired.get(attr.name).cloned().unwrap_or(Value::Null);
        let l = live.and_then(|l| l.get(attr.name)).cloned();
        let v = match attr.presence {
            Presence::Computed => l.unwrap_or(Value::Unknown),
            Presence::OptionalComputed if d.is_null() => l.unwrap_or(Value::Unknown),
            _ => d,
        };
        out.insert(attr.name.to_string(), v);
    }
    for block in &schema.body.blocks {
        let d = desired.get(block.name).cloned().unwrap_or(Value::Null);
        let v = if d.is_null() {
            live.and_then(|l| l.get(block.name))
                .cloned()
                .unwrap_or(Value::Unknown)
        } else {
            d
        };
        out.insert(block.name.to_string(), v);
    }
    if schema.taggable {
        out.insert(
            "tags_all".into(),
            desired.get("tags_all").cloned().unwrap_or(Value::Unknown),
        );
    }
    Value::Map(out)
}

fn plan_deletions(
    input: &PlanInput<'_>,
    refreshed: &mut Refreshed,
    plan: &mut Plan,
    planned: &BTreeSet<Address>,
) {
    let reason = if input.mode == PlanMode::Destroy {
        Reason::DestroyRequested
    } else {
        Reason::RemovedFromSpec
    };
    for (address, rs) in &input.state.resources {
        if planned.contains(address)
            || address.block.mode == Mode::Data
            || plan.forgets.contains(address)
        {
            continue;
        }
        let Some(live) = refreshed.tracked.remove(address) else {
            // Gone already: the apply only drops it from state.
            plan.entries.push(PlanEntry {
                address: address.clone(),
                action: Action::Delete,
                reasons: vec![reason.clone(), Reason::DeletedOutside],
                changes: Vec::new(),
                prior: Some(Prior {
                    id: rs.id.clone(),
                    attrs: rs.attrs.clone(),
                    dependencies: rs.dependencies.clone(),
                    untracked: false,
                }),
                desired: None,
                dependencies: Vec::new(),
                create_before_destroy: false,
            });
            continue;
        };
        plan.entries.push(PlanEntry {
            address: address.clone(),
            action: Action::Delete,
            reasons: vec![reason.clone()],
            changes: Vec::new(),
            prior: Some(Prior {
                id: live.id,
                attrs: live.attrs,
                dependencies: rs.dependencies.clone(),
                untracked: false,
            }),
            desired: None,
            dependencies: Vec::new(),
            create_before_destroy: rs.create_before_destroy,
        });
    }
    // Objects that carry this stack's tags but that neither state nor the
    // spec accounts for: leftovers of an interrupted run. Deleting them is
    // what keeps "nothing of the stack remains" true. Only when their
    // identity tag proves them this state's: objects recognised by the stack
    // name alone (a lost state) are adopted where the spec names them, and
    // otherwise left alone.
    let untracked = std::mem::take(&mut refreshed.untracked);
    if input.owner().by_name {
        if !untracked.is_empty() {
            plan.warnings.push(Diagnostic::warning(
                format!(
                    "{} object(s) tagged {STACK_TAG}={} match no resource of the spec and are \
                     left alone: {}",
                    untracked.len(),
                    input.settings.stack,
                    untracked
                        .iter()
                        .map(|(t, l)| format!("{t} {}", l.id))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
                None,
            ));
        }
        return;
    }
    for (type_name, live) in untracked {
        let address = live.address.clone().unwrap_or_else(|| {
            BlockAddress::new(
                Mode::Managed,
                type_name.clone(),
                format!("untracked_{}", live.id),
            )
            .instance(None)
        });
        let duplicate = plan.entries.iter().any(|e| e.address == address);
        let address = if duplicate {
            BlockAddress::new(
                Mode::Managed,
                type_name.clone(),
                format!("{}_duplicate_{}", address.block.name, live.id),
            )
            .instance(address.key.clone())
        } else {
            address
        };
        plan.entries.push(PlanEntry {
            address,
            action: Action::Delete,
            reasons: vec![Reason::Untracked],
            changes: Vec::new(),
            prior: Some(Prior {
                id: live.id,
                attrs: live.attrs,
                dependencies: Vec::new(),
                untracked: true,
            }),
            desired: None,
            dependencies: Vec::new(),
            create_before_destroy: false,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_sharing_an_id_keep_their_own_live_objects() {
        let address = |s: &str| s.parse::<Address>().expect("address");
        let (a, b) = (address("aws_x.p[\"a\"]"), address("aws_x.p[\"b\"]"));
        let known = |addr: &Address, n: f64| KnownResource {
            address: addr.clone(),
            id: "same-name".into(),
            attrs: Value::map([("n", Value::Number(n))]),
        };
        let req = RefreshRequest {
            type_name: "aws_x".into(),
            owner: Owner::new("s", "id"),
            known: vec![known(&a, 1.0), known(&b, 2.0)],
        };
        let live = |addr: &Address, n: f64| LiveResource {
            id: "same-name".into(),
            address: Some(addr.clone()),
            attrs: Value::map([("n", Value::Number(n))]),
        };
        let mut out = Refreshed::default();
        sort_live(
            &req,
            vec![live(&b, 2.0), live(&a, 1.0)],
            &State::new("s"),
            &mut out,
        );
        assert_eq!(out.tracked.len(), 2);
        assert_eq!(out.tracked[&a].attrs.get("n"), Some(&Value::Number(1.0)));
        assert_eq!(out.tracked[&b].attrs.get("n"), Some(&Value::Number(2.0)));
    }

    #[test]
    fn an_import_takes_the_object_found_for_its_address_under_another_id() {
        let address = |s: &str| s.parse::<Address>().expect("address");
        let (imported, recorded) = (address("aws_x.imported"), address("aws_x.recorded"));
        let req = RefreshRequest {
            type_name: "aws_x".into(),
            owner: Owner::new("s", "id"),
            known: vec![
                // An import by another ID (the VPC's, for its main table).
                KnownResource {
                    address: imported.clone(),
                    id: "vpc-1".into(),
                    attrs: Value::Null,
                },
                KnownResource {
                    address: recorded.clone(),
                    id: "rtb-2".into(),
                    attrs: Value::map([("n", Value::Number(2.0))]),
                },
            ],
        };
        let mut state = State::new("s");
        state.record(
            recorded.clone(),
            crate::state::ResourceState::new("rtb-2", Value::Null),
        );
        let live = |id: &str, addr: &Address| LiveResource {
            id: id.into(),
            address: Some(addr.clone()),
            attrs: Value::Null,
        };
        let mut out = Refreshed::default();
        sort_live(
            &req,
            // The recorded instance's object under a new ID is not taken
            // as its own: only an import's ID may differ.
            vec![live("rtb-1", &imported), live("rtb-3", &recorded)],
            &state,
            &mut out,
        );
        assert_eq!(out.tracked[&imported].id, "rtb-1");
        assert!(!out.tracked.contains_key(&recorded), "{:?}", out.tracked);
    }
}
