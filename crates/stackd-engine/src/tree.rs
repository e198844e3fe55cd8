//! The module tree of a configuration, expanded into module instances
//! (`module.svc["api"]` is one instance of the call `svc`), and the
//! dependency graph across module boundaries.
//!
//! Inside a module instance, `var.X` is what its call passes (evaluated in
//! the calling instance, with the call's `each`/`count` bound), converted to
//! the variable's type or defaulted; `module.C` is an object of C's outputs
//! (a list for `count`, a map for `for_each`); resources are those of the
//! same module instance. Values are computed on demand from [`Values`], so
//! a module input that refers to a resource is unknown while planning and
//! known at apply once that resource is.
//!
//! Module `count` and `for_each` must be known while planning: they are
//! evaluated before any resource, from variables and locals.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};
use stackd_spec::config::{Config, ModuleCall, ResourceBlock};
use stackd_spec::convert::{convert, TypeExpr};
use stackd_spec::diag::Diagnostic;
use stackd_spec::eval::{LocalCache, NothingKnown, Resolver, Scope};
use stackd_spec::validate::{config_dependencies, ConfigNode};
use stackd_spec::{Address, BlockAddress, Mode, ModuleStep, Value};

use crate::instance;
use crate::values::{Expansion, Values};

/// How deep module values may refer through each other before evaluation
/// gives up (a cycle across modules, which the graph reports).
const MAX_NESTED_SCOPES: usize = 256;

/// One module instance: the root, or one instance of a module call.
#[derive(Debug)]
pub struct ModuleInstance<'a> {
    pub path: Vec<ModuleStep>,
    pub config: &'a Config,
    /// The call that made it (`None` for the root).
    pub call: Option<&'a ModuleCall>,
    pub parent: Option<usize>,
    /// `each.key`/`each.value` and `count.index` of the call's instance,
    /// bound while evaluating the call's inputs.
    pub each: Option<(Value, Value)>,
    pub count_index: Option<i64>,
}

/// Every module instance of a configuration.
pub struct Tree<'a> {
    root_vars: &'a BTreeMap<String, Value>,
    pub instances: Vec<ModuleInstance<'a>>,
    /// Per instance: each call's expansion and its instances.
    children: Vec<BTreeMap<String, (Expansion, Vec<usize>)>>,
    by_path: HashMap<Vec<ModuleStep>, usize>,
    /// Instances by module path without keys.
    by_names: HashMap<Vec<String>, Vec<usize>>,
    depth: Cell<usize>,
    /// Module variables and outputs computed, with the `Values::generation`
    /// they were computed at.
    memo: RefCell<HashMap<MemoKey, (u64, Value)>>,
    in_progress: RefCell<HashSet<MemoKey>>,
}

/// What [`Tree::memo`] keeps: a variable or an output of an instance.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Memo {
    Var,
    Output,
}

type MemoKey = (Memo, usize, String);

impl<'a> Tree<'a> {
    /// Expands every module call. A call whose `count`/`for_each` is not
    /// known, or is wrong, gets no instances and a diagnostic.
    pub fn expand(
        config: &'a Config,
        root_vars: &'a BTreeMap<String, Value>,
    ) -> (Tree<'a>, Vec<Diagnostic>) {
        let mut tree = Tree {
            root_vars,
            instances: vec![ModuleInstance {
                path: Vec::new(),
                config,
                call: None,
                parent: None,
                each: None,
                count_index: None,
            }],
            children: vec![BTreeMap::new()],
            by_path: HashMap::new(),
            by_names: HashMap::new(),
            depth: Cell::new(0),
            memo: RefCell::new(HashMap::new()),
            in_progress: RefCell::new(HashSet::new()),
        };
        let mut diags = Vec::new();
        let nothing = Values::default();
        let mut i = 0;
        while i < tree.instances.len() {
            let inst_config = tree.instances[i].config;
            for (name, call) in &inst_config.modules {
                let Some(child) = call.child.as_deref() else {
                    continue;
                };
                let expanded = tree.with_scope(i, &nothing, |scope| {
                    instance::expand_meta(call.count.as_ref(), call.for_each.as_ref(), scope)
                });
                let (expansion, slots) = match expanded {
                    Ok(x) => x,
                    Err(d) => {
                        diags.push(d);
                        tree.children[i].insert(name.clone(), (Expansion::Unknown, Vec::new()));
                        continue;
                    }
                };
                let mut made = Vec::new();
                for slot in slots {
                    let mut path = tree.instances[i].path.clone();
                    path.push(ModuleStep::new(name.clone(), slot.key.clone()));
                    made.push(tree.instances.len());
                    tree.instances.push(ModuleInstance {
                        path,
                        config: child,
                        call: Some(call),
                        parent: Some(i),
                        each: slot.each,
                        count_index: slot.count_index,
                    });
                    tree.children.push(BTreeMap::new());
                }
                tree.children[i].insert(name.clone(), (expansion, made));
            }
            i += 1;
        }
        for (i, inst) in tree.instances.iter().enumerate() {
            tree.by_path.insert(inst.path.clone(), i);
            tree.by_names
                .entry(inst.path.iter().map(|s| s.name.clone()).collect())
                .or_default()
                .push(i);
        }
        // Inputs that are wrong whatever the resources turn out to be (a
        // string for a number) are reported now, at the call.
        for i in 1..tree.instances.len() {
            diags.extend(tree.input_problems(i));
            diags.extend(tree.validation_problems(i));
        }
        // What was computed here saw no resource: forget it, so a caller
        // whose values start at the same generation does not reuse it.
        tree.memo.borrow_mut().clear();
        (tree, diags)
    }

    /// The instance at a module path.
    pub fn index(&self, path: &[ModuleStep]) -> Option<usize> {
        self.by_path.get(path).copied()
    }

    /// The instances of the module at a path of call names.
    pub fn instances_of(&self, names: &[String]) -> &[usize] {
        self.by_names.get(names).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Runs `f` with the evaluation scope of module instance `idx`, resource
    /// values taken from `values`. A module's variables are not in the
    /// scope's `vars`: the resolver gives each one as it is used
    /// ([`Tree::var_of`]).
    pub fn with_scope<R>(&self, idx: usize, values: &Values, f: impl FnOnce(&Scope) -> R) -> R {
        let empty = BTreeMap::new();
        let vars = if idx == 0 { self.root_vars } else { &empty };
        let view = View {
            tree: self,
            idx,
            values,
        };
        let locals = LocalCache::default();
        let scope = Scope::new(self.instances[idx].config, vars, &view, &locals);
        f(&scope)
    }

    /// The value of every input variable of instance `idx`.
    fn vars_of(&self, idx: usize, values: &Values) -> Cow<'a, BTreeMap<String, Value>> {
        if idx == 0 {
            return Cow::Borrowed(self.root_vars);
        }
        Cow::Owned(
            self.instances[idx]
                .config
                .variables
                .keys()
                .map(|name| (name.clone(), self.var_of(idx, name, values)))
                .collect(),
        )
    }

    /// One input variable of module instance `idx` (not the root): what its
    /// call passes, evaluated in the calling instance with the call's
    /// `each`/`count`, defaulted and converted to the variable's type.
    /// Computed once per state of `values`.
    fn var_of(&self, idx: usize, name: &str, values: &Values) -> Value {
        let key = (Memo::Var, idx, name.to_string());
        self.memo(key, values, || {
            let inst = &self.instances[idx];
            let (Some(call), Some(parent), Some(var)) =
                (inst.call, inst.parent, inst.config.variables.get(name))
            else {
                return Value::Null;
            };
            let given = call.inputs.iter().find(|a| a.name == var.name).map(|a| {
                self.with_scope(parent, values, |scope| {
                    let scope = scope.for_instance(inst.each.clone(), inst.count_index);
                    scope.eval(&a.expr).unwrap_or(Value::Unknown)
                })
            });
            let default = || {
                let empty = BTreeMap::new();
                let locals = LocalCache::default();
                let plain = Scope::new(inst.config, &empty, &NothingKnown, &locals);
                var.default
                    .as_ref()
                    .map(|d| plain.eval(d).unwrap_or(Value::Unknown))
                    .unwrap_or(Value::Null)
            };
            let value = match given {
                None => default(),
                Some(Value::Null) if !var.nullable => default(),
                Some(v) => v,
            };
            match var.type_expr.as_ref().map(TypeExpr::from_expr) {
                Some(Ok(ty)) if value.is_wholly_known() && !value.is_null() => {
                    convert(&value, &ty).unwrap_or(value)
                }
                _ => value,
            }
        })
    }

    /// One output of module instance `idx`, computed once per state of
    /// `values`.
    fn output_of(&self, idx: usize, name: &str, values: &Values) -> Value {
        let key = (Memo::Output, idx, name.to_string());
        self.memo(key, values, || {
            let Some(expr) = self.instances[idx]
                .config
                .outputs
                .get(name)
                .and_then(|o| o.value.as_ref())
            else {
                return Value::Null;
            };
            self.with_scope(idx, values, |scope| {
                scope.eval(expr).unwrap_or(Value::Unknown)
            })
        })
    }

    /// `compute()`, or what it gave before for the same `values`. A value
    /// asked for again while it is being computed (a cycle across modules,
    /// which the graph reports) is unknown.
    fn memo(&self, key: MemoKey, values: &Values, compute: impl FnOnce() -> Value) -> Value {
        if let Some((generation, v)) = self.memo.borrow().get(&key) {
            if *generation == values.generation {
                return v.clone();
            }
        }
        if !self.in_progress.borrow_mut().insert(key.clone()) || !self.enter() {
            return Value::Unknown;
        }
        let v = compute();
        self.leave();
        self.in_progress.borrow_mut().remove(&key);
        self.memo
            .borrow_mut()
            .insert(key, (values.generation, v.clone()));
        v
    }

    /// Inputs of instance `idx` that are wrong before any resource is known.
    fn input_problems(&self, idx: usize) -> Vec<Diagnostic> {
        let inst = &self.instances[idx];
        let (Some(call), Some(parent)) = (inst.call, inst.parent) else {
            return Vec::new();
        };
        let nothing = Values::default();
        self.with_scope(parent, &nothing, |scope| {
            let scope = scope.for_instance(inst.each.clone(), inst.count_index);
            let mut diags = Vec::new();
            for a in &call.inputs {
                let Some(var) = inst.config.variables.get(&a.name) else {
                    continue;
                };
                let value = match scope.eval(&a.expr) {
                    Ok(v) => v,
                    Err(d) => {
                        diags.push(d);
                        continue;
                    }
                };
                if !value.is_wholly_known() || value.is_null() {
                    continue;
                }
                if let Some(Ok(ty)) = var.type_expr.as_ref().map(TypeExpr::from_expr) {
                    if let Err(e) = convert(&value, &ty) {
                        diags.push(Diagnostic::error(
                            format!(
                                "{}: input \"{}\" must be {}: {e}",
                                module_label(&inst.path),
                                a.name,
                                ty.describe()
                            ),
                            Some(a.expr.span),
                        ));
                    }
                }
            }
            diags
        })
    }

    /// The module's variables' `validation` rules, run on the values its
    /// call passes where they are known before any resource is.
    fn validation_problems(&self, idx: usize) -> Vec<Diagnostic> {
        let inst = &self.instances[idx];
        if inst
            .config
            .variables
            .values()
            .all(|v| v.validations.is_empty())
        {
            return Vec::new();
        }
        let vars = self.vars_of(idx, &Values::default());
        let locals = LocalCache::default();
        let scope = Scope::new(inst.config, &vars, &NothingKnown, &locals);
        let mut diags = Vec::new();
        for var in inst.config.variables.values() {
            for rule in &var.validations {
                match stackd_spec::eval::check_condition(&scope, rule, "validation") {
                    Ok(None) => {}
                    Ok(Some(message)) => {
                        let at = inst
                            .call
                            .and_then(|c| c.inputs.iter().find(|a| a.name == var.name))
                            .map(|a| a.expr.span)
                            .or(inst.call.map(|c| c.span));
                        diags.push(
                            Diagnostic::error(
                                format!(
                                    "invalid value for {} input \"{}\": {message}",
                                    module_label(&inst.path),
                                    var.name
                                ),
                                at,
                            )
                            .note(format!(
                                "this was checked by the validation rule at {}",
                                self.instances[0].config.sources.location(rule.span)
                            )),
                        );
                    }
                    Err(d) => diags.push(d),
                }
            }
        }
        diags
    }

    /// The value of instance `idx`'s outputs, as an object.
    fn outputs_of(&self, idx: usize, values: &Values) -> Value {
        Value::Map(
            self.instances[idx]
                .config
                .outputs
                .keys()
                .map(|name| (name.clone(), self.output_of(idx, name, values)))
                .collect(),
        )
    }

    fn enter(&self) -> bool {
        if self.depth.get() >= MAX_NESTED_SCOPES {
            return false;
        }
        self.depth.set(self.depth.get() + 1);
        true
    }

    fn leave(&self) {
        self.depth.set(self.depth.get() - 1);
    }
}

/// `module.a["x"].module.b` for messages; `the root module` for the root.
pub fn module_label(path: &[ModuleStep]) -> String {
    if path.is_empty() {
        "the root module".into()
    } else {
        stackd_spec::module_path_string(path)
    }
}

/// What expressions of one module instance see.
struct View<'t, 'a> {
    tree: &'t Tree<'a>,
    idx: usize,
    values: &'t Values,
}

impl Resolver for View<'_, '_> {
    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value> {
        let block = BlockAddress::new(mode, type_name, name)
            .in_module(self.tree.instances[self.idx].path.clone());
        Some(self.values.block_value(&block).unwrap_or(Value::Unknown))
    }

    fn resource_instance(
        &self,
        mode: Mode,
        type_name: &str,
        name: &str,
        key: &Value,
    ) -> Option<Value> {
        let block = BlockAddress::new(mode, type_name, name)
            .in_module(self.tree.instances[self.idx].path.clone());
        self.values.instance_value(&block, key)
    }

    fn variable(&self, name: &str) -> Option<Value> {
        (self.idx != 0).then(|| self.tree.var_of(self.idx, name, self.values))
    }

    fn module_output(&self, name: &str, output: &str) -> Option<Value> {
        match self.tree.children[self.idx].get(name)? {
            (Expansion::Single, made) => {
                let child = *made.first()?;
                self.tree.instances[child]
                    .config
                    .outputs
                    .contains_key(output)
                    .then(|| self.tree.output_of(child, output, self.values))
            }
            _ => None,
        }
    }

    fn module(&self, name: &str) -> Option<Value> {
        let (expansion, made) = self.tree.children[self.idx].get(name)?;
        let out = |i: usize| self.tree.outputs_of(made[i], self.values);
        Some(match expansion {
            Expansion::Single => made.first().map(|_| out(0)).unwrap_or(Value::Unknown),
            Expansion::Count(_) => Value::List((0..made.len()).map(out).collect()),
            Expansion::ForEach(_) => Value::Map(
                (0..made.len())
                    .filter_map(|i| {
                        let key = self.tree.instances[made[i]].path.last()?.key.clone()?;
                        let k = match key {
                            stackd_spec::InstanceKey::Str(s) => s,
                            stackd_spec::InstanceKey::Int(n) => n.to_string(),
                        };
                        Some((k, out(i)))
                    })
                    .collect(),
            ),
            Expansion::Unknown => Value::Unknown,
        })
    }
}

/// A node of the whole tree's dependency graph: a configuration node in
/// the module at a path of call names, or a call's own meta-arguments.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Node {
    pub module: Vec<String>,
    pub kind: NodeKind,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NodeKind {
    Config(ConfigNode),
    /// A call's `count`, `for_each` and `depends_on`: what every resource
    /// in the module waits for.
    Call(String),
}

impl std::fmt::Display for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for m in &self.module {
            write!(f, "module.{m}.")?;
        }
        match &self.kind {
            NodeKind::Config(n) => write!(f, "{n}"),
            NodeKind::Call(c) => write!(f, "module.{c}"),
        }
    }
}

/// A resource block of the tree: its module path (call names) and block.
pub type TreeBlock<'a> = (Vec<String>, &'a ResourceBlock);

/// The dependency graph of a whole configuration tree.
pub struct Graph<'a> {
    config: &'a Config,
    deps: BTreeMap<Node, BTreeSet<Node>>,
}

impl<'a> Graph<'a> {
    pub fn new(config: &'a Config) -> Graph<'a> {
        let mut deps: BTreeMap<Node, BTreeSet<Node>> = BTreeMap::new();
        for (path, c) in config.tree() {
            for (n, ds) in config_dependencies(c) {
                let mut set: BTreeSet<Node> =
                    ds.iter().flat_map(|(d, _)| lift(c, &path, d)).collect();
                if matches!(n, ConfigNode::Resource(..)) && !path.is_empty() {
                    set.insert(call_node(&path));
                }
                deps.entry(node(&path, n)).or_default().extend(set);
            }
            for (name, call) in &c.modules {
                let Some(child) = call.child.as_deref() else {
                    continue;
                };
                let mut child_path = path.clone();
                child_path.push(name.clone());
                let lifted = |e: &stackd_spec::expr::Expr| -> Vec<Node> {
                    e.references(&[])
                        .iter()
                        .flat_map(|r| {
                            stackd_spec::validate::reference_node(r)
                                .map(|n| lift(c, &path, &n))
                                .unwrap_or_default()
                        })
                        .collect()
                };
                let mut meta: BTreeSet<Node> = call
                    .count
                    .iter()
                    .chain(call.for_each.iter())
                    .chain(call.depends_on.iter())
                    .flat_map(lifted)
                    .collect();
                if !path.is_empty() {
                    meta.insert(call_node(&path));
                }
                deps.entry(call_node(&child_path)).or_default().extend(meta);
                for var in child.variables.keys() {
                    let mut set: BTreeSet<Node> = call
                        .inputs
                        .iter()
                        .filter(|a| &a.name == var)
                        .flat_map(|a| lifted(&a.expr))
                        .collect();
                    set.insert(call_node(&child_path));
                    deps.entry(node(&child_path, ConfigNode::Var(var.clone())))
                        .or_default()
                        .extend(set);
                }
            }
        }
        Graph { config, deps }
    }

    /// Every node and what it depends on.
    pub fn edges(&self) -> impl Iterator<Item = (&Node, &BTreeSet<Node>)> {
        self.deps.iter()
    }

    /// Resource blocks in dependency order, or the cycles that prevent one.
    pub fn order(&self) -> Result<Vec<TreeBlock<'a>>, Vec<Diagnostic>> {
        let mut g: DiGraph<&Node, ()> = DiGraph::new();
        let mut idx: HashMap<&Node, NodeIndex> = HashMap::new();
        for (n, ds) in &self.deps {
            idx.entry(n).or_insert_with(|| g.add_node(n));
            for d in ds {
                idx.entry(d).or_insert_with(|| g.add_node(d));
            }
        }
        for (n, ds) in &self.deps {
            for d in ds {
                g.update_edge(idx[d], idx[n], ());
            }
        }
        let order = match petgraph::algo::toposort(&g, None) {
            Ok(o) => o,
            Err(cycle) => {
                return Err(vec![Diagnostic::error(
                    format!(
                        "{} depends on itself through its module's inputs or outputs (a \
                         dependency cycle across modules)",
                        g[cycle.node_id()]
                    ),
                    None,
                )])
            }
        };
        Ok(order
            .into_iter()
            .filter_map(|i| {
                let n = g[i];
                let NodeKind::Config(ConfigNode::Resource(m, t, name)) = &n.kind else {
                    return None;
                };
                let block = self
                    .config
                    .module_config(&n.module)?
                    .resource(*m, t, name)?;
                Some((n.module.clone(), block))
            })
            .collect())
    }

    /// The resource blocks (with their module paths) a block depends on,
    /// through locals, variables, module calls and outputs.
    pub fn block_deps(&self, module: &[String], block: &ResourceBlock) -> BTreeSet<Node> {
        let start = node(
            module,
            ConfigNode::Resource(
                block.addr.mode,
                block.addr.type_name.clone(),
                block.addr.name.clone(),
            ),
        );
        let mut out = BTreeSet::new();
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Node> = self
            .deps
            .get(&start)
            .map(|d| d.iter().collect())
            .unwrap_or_default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if matches!(n.kind, NodeKind::Config(ConfigNode::Resource(..))) {
                out.insert(n.clone());
                continue;
            }
            if let Some(ds) = self.deps.get(n) {
                stack.extend(ds.iter());
            }
        }
        out
    }

    /// The blocks that `block` (in the module at `module`) reads one
    /// instance at a time, each with the index expressions it reads them
    /// by: blocks it refers to only directly (not also through a local, a
    /// variable, an output or a module call, nor in `count`, `for_each` or
    /// `depends_on`), and only as `TYPE.NAME[INDEX]` with an index that
    /// depends on nothing but `count` and `each` (`aws_subnet.a[count.index]`).
    /// An instance depends on the instances its indexes select, not on all
    /// of them.
    pub fn indexed_deps(
        &self,
        module: &[String],
        block: &ResourceBlock,
    ) -> Vec<(BlockAddress, Vec<stackd_spec::expr::Expr>)> {
        use stackd_spec::expr::RefTarget;
        let mut refs = stackd_spec::validate::block_references(&block.body);
        for p in &block.provisioners {
            refs.extend(stackd_spec::validate::block_references(&p.body));
        }
        refs.extend(stackd_spec::validate::condition_references(
            &block.lifecycle.preconditions,
        ));
        refs.extend(stackd_spec::validate::condition_references(
            &block.lifecycle.postconditions,
        ));
        let mut whole: BTreeSet<(Mode, String, String)> = block
            .count
            .iter()
            .chain(block.for_each.iter())
            .chain(block.depends_on.iter())
            .flat_map(|e| e.references(&[]))
            .filter_map(|r| match r.target {
                RefTarget::Resource(m, t, n) => Some((m, t, n)),
                _ => None,
            })
            .collect();
        let mut indexed: BTreeMap<(Mode, String, String), Vec<stackd_spec::expr::Expr>> =
            BTreeMap::new();
        for r in refs {
            let RefTarget::Resource(m, t, n) = r.target else {
                continue;
            };
            let by_instance = r.index.as_deref().filter(|i| {
                i.references(&[])
                    .iter()
                    .all(|x| matches!(x.target, RefTarget::Count(_) | RefTarget::Each(_)))
            });
            match by_instance {
                Some(i) => indexed.entry((m, t, n)).or_default().push(i.clone()),
                None => {
                    whole.insert((m, t, n));
                }
            }
        }
        // Blocks also reached through something else are read whole.
        let start = node(
            module,
            ConfigNode::Resource(
                block.addr.mode,
                block.addr.type_name.clone(),
                block.addr.name.clone(),
            ),
        );
        let mut seen = BTreeSet::new();
        let mut stack: Vec<&Node> = self
            .deps
            .get(&start)
            .map(|d| {
                d.iter()
                    .filter(|n| !matches!(n.kind, NodeKind::Config(ConfigNode::Resource(..))))
                    .collect()
            })
            .unwrap_or_default();
        while let Some(n) = stack.pop() {
            if !seen.insert(n) {
                continue;
            }
            if let NodeKind::Config(ConfigNode::Resource(m, t, name)) = &n.kind {
                if n.module == module {
                    whole.insert((*m, t.clone(), name.clone()));
                }
                continue;
            }
            if let Some(ds) = self.deps.get(n) {
                stack.extend(ds.iter());
            }
        }
        indexed
            .into_iter()
            .filter(|(k, _)| !whole.contains(k))
            .map(|((m, t, n), exprs)| (BlockAddress::new(m, t, n), exprs))
            .collect()
    }

    /// The objects recorded in state (`recorded`) that the instance at
    /// `address` depends on by the configuration: of each block its block
    /// refers to, the recorded instances in module instances sharing its
    /// path as far as the two modules' paths agree, as state records them
    /// (their blocks). What an imported object's dependencies are before any
    /// apply records them, so that a destroy right after an import deletes
    /// in order.
    pub fn recorded_deps<'s>(
        &self,
        address: &Address,
        recorded: impl Iterator<Item = &'s Address>,
    ) -> Vec<Address> {
        let names = address.block.module_names();
        let Some(block) = self.config.block_at(&address.block) else {
            return Vec::new();
        };
        let deps = self.block_deps(&names, block);
        let out: Vec<Address> = recorded
            .filter(|r| *r != address)
            .filter(|r| {
                let there = r.block.module_names();
                deps.iter().any(|d| {
                    let NodeKind::Config(ConfigNode::Resource(m, t, n)) = &d.kind else {
                        return false;
                    };
                    if d.module != there
                        || (r.block.mode, &r.block.type_name, &r.block.name) != (*m, t, n)
                    {
                        return false;
                    }
                    let shared = names
                        .iter()
                        .zip(&d.module)
                        .take_while(|(a, b)| a == b)
                        .count();
                    r.block.module[..shared] == address.block.module[..shared]
                })
            })
            .cloned()
            .collect();
        crate::state::block_dependencies(&out)
    }

    /// The instance addresses a block's instances in module instance
    /// `idx` depend on: of each block it depends on, the instances in the
    /// module instances that share `idx`'s path as far as the two modules'
    /// paths agree.
    pub fn instance_deps(
        &self,
        tree: &Tree,
        values: &Values,
        idx: usize,
        block: &ResourceBlock,
    ) -> Vec<Address> {
        let here = &tree.instances[idx].path;
        let names: Vec<String> = here.iter().map(|s| s.name.clone()).collect();
        let mut out = BTreeSet::new();
        for dep in self.block_deps(&names, block) {
            let NodeKind::Config(ConfigNode::Resource(m, t, n)) = &dep.kind else {
                continue;
            };
            let shared = names
                .iter()
                .zip(&dep.module)
                .take_while(|(a, b)| a == b)
                .count();
            for &j in tree.instances_of(&dep.module) {
                let there = &tree.instances[j].path;
                if there[..shared] != here[..shared] {
                    continue;
                }
                let b = BlockAddress::new(*m, t.clone(), n.clone()).in_module(there.clone());
                if let Some(exp) = values.expansions.get(&b) {
                    out.extend(exp.keys().into_iter().map(|k| b.instance(k)));
                }
            }
        }
        out.into_iter().collect()
    }
}

fn node(module: &[String], n: ConfigNode) -> Node {
    Node {
        module: module.to_vec(),
        kind: NodeKind::Config(n),
    }
}

/// The meta-arguments node of the call that made the module at `path`.
fn call_node(path: &[String]) -> Node {
    let (last, parent) = path.split_last().expect("a module path");
    Node {
        module: parent.to_vec(),
        kind: NodeKind::Call(last.clone()),
    }
}

/// A configuration node referred to from the module at `path`, as nodes of
/// the tree: a module output is the output node inside the child.
fn lift(config: &Config, path: &[String], n: &ConfigNode) -> Vec<Node> {
    match n {
        ConfigNode::Module(c, output) => {
            let Some(child) = config.modules.get(c).and_then(|m| m.child.as_deref()) else {
                return Vec::new();
            };
            let mut child_path = path.to_vec();
            child_path.push(c.clone());
            let outputs: Vec<&String> = match output {
                Some(o) if child.outputs.contains_key(o) => vec![o],
                _ => child.outputs.keys().collect(),
            };
            outputs
                .into_iter()
                .map(|o| node(&child_path, ConfigNode::Output(o.clone())))
                .collect()
        }
        other => vec![node(path, other.clone())],
    }
}
