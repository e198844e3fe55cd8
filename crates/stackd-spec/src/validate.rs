//! Static validation of a spec against provider schemas: every problem at
//! once, each pointing at its source. Runs before any network call.

use std::collections::{BTreeMap, BTreeSet};

use petgraph::graph::{DiGraph, NodeIndex};

use crate::config::{Body, Config, ResourceBlock};
use crate::convert::TypeExpr;
use crate::diag::{Diagnostic, Span};
use crate::eval::{iterate, LocalCache, NothingKnown, Scope};
use crate::expr::{Expr, ExprKind, RefTarget, Reference};
use crate::limits::{check_for_each_len, count_instances};
use crate::schema::{BlockSchema, Mode, Presence, SchemaSet};
use crate::suggest::nearest;
use crate::value::Value;

/// A node of the configuration-level dependency graph.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigNode {
    Resource(Mode, String, String),
    Local(String),
    Output(String),
    /// An input variable (in a module, the value its call passes).
    Var(String),
    /// A module call's output, or (`None`) the whole call's value.
    Module(String, Option<String>),
}

impl std::fmt::Display for ConfigNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigNode::Resource(Mode::Managed, t, n) => write!(f, "{t}.{n}"),
            ConfigNode::Resource(Mode::Data, t, n) => write!(f, "data.{t}.{n}"),
            ConfigNode::Local(n) => write!(f, "local.{n}"),
            ConfigNode::Output(n) => write!(f, "output.{n}"),
            ConfigNode::Var(n) => write!(f, "var.{n}"),
            ConfigNode::Module(c, Some(o)) => write!(f, "module.{c}.{o}"),
            ConfigNode::Module(c, None) => write!(f, "module.{c}"),
        }
    }
}

/// What every command does with a parsed spec: resolves its input
/// variables and validates it, reporting every problem in one pass (a
/// variable without a value is unknown and hides nothing; only a spec that
/// does not parse, `parse_diags` with an error, is not validated further).
/// The diagnostics come sorted by file and line, those without a location
/// last.
pub fn resolve_and_validate(
    config: &mut Config,
    parse_diags: Vec<Diagnostic>,
    inputs: &crate::vars::VarInputs,
    schemas: &SchemaSet,
) -> (BTreeMap<String, Value>, Vec<Diagnostic>) {
    let parsed = !parse_diags.iter().any(Diagnostic::is_error);
    let mut diags = parse_diags;
    let (vars, var_diags) = crate::vars::resolve_vars_partial(config, inputs);
    diags.extend(var_diags);
    if parsed {
        diags.extend(validate(config, schemas, &vars));
    }
    diags.sort_by_key(|d| (d.span.is_none(), d.span.map(|s| (s.file, s.start))));
    (vars, diags)
}

/// Checks a parsed spec. `vars` are the resolved input variables (used to
/// evaluate arguments whose values are known before apply, so bad CIDRs and
/// wrong types are caught now).
pub fn validate(
    config: &Config,
    schemas: &SchemaSet,
    vars: &BTreeMap<String, Value>,
) -> Vec<Diagnostic> {
    let mut diags = config.problems.clone();
    let mut blocks_with_bad_refs = BTreeSet::new();
    for r in &config.resources {
        check_depends_on(&r.depends_on, &mut diags);
        check_resource_schema(r, schemas, &mut diags);
        if !check_block_references(config, r, &mut diags) {
            blocks_with_bad_refs.insert(r.addr.clone());
        }
    }
    for l in config.locals.values() {
        check_references(
            config,
            &l.expr.references(&[]),
            &RefContext::plain(),
            &mut diags,
        );
    }
    for o in config.outputs.values() {
        check_depends_on(&o.depends_on, &mut diags);
        let mut refs: Vec<Reference> = o.value.iter().flat_map(|e| e.references(&[])).collect();
        refs.extend(o.depends_on.iter().flat_map(|e| e.references(&[])));
        refs.extend(condition_references(&o.preconditions));
        check_references(config, &refs, &RefContext::plain(), &mut diags);
    }
    for c in &config.checks {
        check_references(
            config,
            &condition_references(&c.asserts),
            &RefContext::plain(),
            &mut diags,
        );
    }
    for p in &config.providers {
        for a in &p.body.attrs {
            check_references(
                config,
                &a.expr.references(&[]),
                &RefContext::plain(),
                &mut diags,
            );
        }
    }
    let locals = LocalCache::default();
    diags.extend(providers::check_providers(
        config,
        &Scope::new(config, vars, &NothingKnown, &locals),
    ));
    diags.extend(find_cycles(config));
    check_output_sensitivity(config, schemas, &mut diags);
    check_modules(config, schemas, vars, &mut diags);
    check_functions(config, &mut diags);
    check_attributes(config, schemas, &mut diags);
    check_moved(config, &mut diags);
    check_removed(config, &mut diags);
    // Values are checked with nothing known of any resource, so ordering
    // (and thus a cycle) does not matter here.
    check_values(config, schemas, vars, &blocks_with_bad_refs, &mut diags);
    diags.sort_by_key(|d| d.span.map(|s| (s.file, s.start)));
    // An unknown function may be found by the value checks too.
    diags.dedup_by(|a, b| a.message == b.message && a.span == b.span);
    // The supported types, once, on the last unknown-type error of each
    // kind (not repeated on every one).
    for (mode, kind) in [
        (Mode::Managed, "resource type"),
        (Mode::Data, "data source"),
    ] {
        let prefix = format!("unknown {kind} \"");
        if let Some(d) = diags
            .iter_mut()
            .rev()
            .find(|d| d.message.starts_with(&prefix))
        {
            let names = schemas.type_names(mode);
            let note = format!("supported {kind}s: {}", names.join(", "));
            *d = d.clone().note(note);
        }
    }
    diags
}

/// `moved` blocks: both ends of one type, both whole resources or both
/// instances; `to` declared in the spec, `from` no longer (unless the move
/// is between instances of one block).
fn check_moved(config: &Config, diags: &mut Vec<Diagnostic>) {
    for m in &config.moved {
        let (from, to) = (&m.from, &m.to);
        let declared = |e: &crate::config::MoveEnd| {
            if e.module_only {
                let names = e.block.module_names();
                let (last, parent) = names.split_last().expect("a module path");
                config
                    .module_config(parent)
                    .is_some_and(|c| c.modules.contains_key(last))
            } else {
                config.block_at(&e.block).is_some()
            }
        };
        if from.module_only != to.module_only {
            diags.push(Diagnostic::error(
                format!("moved from {from} to {to}: a module moves to a module, a resource to a resource"),
                Some(m.span),
            ));
        } else if from.block.type_name != to.block.type_name {
            diags.push(Diagnostic::error(
                format!(
                    "moved from {from} to {to}: a move keeps the resource type ({} is not {})",
                    from.block.type_name, to.block.type_name
                ),
                Some(to.span),
            ));
        } else if !from.module_only && from.key.is_some() != to.key.is_some() {
            diags.push(Diagnostic::error(
                format!(
                    "moved from {from} to {to}: both ends are whole resources, or both are \
                     instances"
                ),
                Some(m.span),
            ));
        } else if !declared(to) {
            diags.push(Diagnostic::error(
                format!("moved to {to}, which the spec does not declare"),
                Some(to.span),
            ));
        } else if declared(from) && same_config_block(from) != same_config_block(to) {
            diags.push(
                Diagnostic::error(
                    format!("moved from {from}, which the spec still declares"),
                    Some(from.span),
                )
                .note("help: a moved block renames: remove or rename the old block"),
            );
        }
    }
}

/// A `removed` block names what the spec no longer declares.
fn check_removed(config: &Config, diags: &mut Vec<Diagnostic>) {
    for r in &config.removed {
        let declared = if r.from.module_only {
            let names = r.from.block.module_names();
            let (last, parent) = names.split_last().expect("a module path");
            config
                .module_config(parent)
                .is_some_and(|c| c.modules.contains_key(last))
        } else {
            config.block_at(&r.from.block).is_some()
        };
        if declared {
            diags.push(
                Diagnostic::error(
                    format!("removed {}, which the spec still declares", r.from),
                    Some(r.from.span),
                )
                .note("help: delete the block it names, or the removed block"),
            );
        }
    }
}

/// What a move end names in the configuration, instance keys aside.
fn same_config_block(e: &crate::config::MoveEnd) -> (Vec<String>, &str, &str) {
    (e.block.module_names(), &e.block.type_name, &e.block.name)
}

/// Functions the evaluator handles itself (they need unevaluated
/// arguments or the evaluator's state).
const SPECIAL_FUNCTIONS: &[&str] = &[
    "try",
    "can",
    "templatefile",
    "templatestring",
    "issensitive",
];

/// Every function called anywhere in the spec must exist, even in an
/// expression validation cannot evaluate (an output of values known only
/// after apply, an unused local).
fn check_functions(config: &Config, diags: &mut Vec<Diagnostic>) {
    let exprs = all_exprs(config);
    for e in exprs {
        for (name, span) in e.calls() {
            let known = SPECIAL_FUNCTIONS.contains(&name.as_str())
                || crate::functions::is_known_function(&name);
            if let Some(d) = removed_function_error(&name, span) {
                diags.push(d);
            } else if !known {
                let mut d = Diagnostic::error(format!("unknown function \"{name}\""), Some(span));
                if let Some(s) = nearest(&name, crate::functions::function_names().iter().copied())
                {
                    d = d.note(format!("help: did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
    }
}

/// Every expression of the spec (not of its modules): arguments, meta-
/// arguments, locals, outputs, module inputs, provider settings, variable
/// defaults and conditions.
fn all_exprs(config: &Config) -> Vec<&Expr> {
    fn conditions<'a>(rules: &'a [crate::config::Validation], out: &mut Vec<&'a Expr>) {
        for r in rules {
            out.push(&r.condition);
            out.push(&r.error_message);
        }
    }
    let mut exprs: Vec<&Expr> = Vec::new();
    for r in &config.resources {
        body_exprs(&r.body, &mut exprs);
        exprs.extend(r.count.iter().chain(r.for_each.iter()));
        for p in &r.provisioners {
            body_exprs(&p.body, &mut exprs);
        }
        conditions(&r.lifecycle.preconditions, &mut exprs);
        conditions(&r.lifecycle.postconditions, &mut exprs);
    }
    exprs.extend(config.locals.values().map(|l| &l.expr));
    for o in config.outputs.values() {
        exprs.extend(o.value.iter());
        conditions(&o.preconditions, &mut exprs);
    }
    for c in &config.checks {
        conditions(&c.asserts, &mut exprs);
    }
    for call in config.modules.values() {
        exprs.extend(call.inputs.iter().map(|a| &a.expr));
        exprs.extend(call.count.iter().chain(call.for_each.iter()));
    }
    for p in &config.providers {
        body_exprs(&p.body, &mut exprs);
    }
    for v in config.variables.values() {
        exprs.extend(v.default.iter());
    }
    exprs
}

/// `aws_vpc.main.cidr_blok`: an attribute the resource type does not have
/// is an error at the reference (Terraform's "Unsupported attribute").
fn check_attributes(config: &Config, schemas: &SchemaSet, diags: &mut Vec<Diagnostic>) {
    for e in all_exprs(config) {
        for r in e.references(&[]) {
            let (RefTarget::Resource(mode, t, n), Some(attr)) = (&r.target, &r.attribute) else {
                continue;
            };
            let Some(schema) = schemas.get(*mode, t) else {
                continue;
            };
            let body = &schema.body;
            let known = attr == "id"
                || body.attrs.iter().any(|a| a.name == attr)
                || body.blocks.iter().any(|b| b.name == attr);
            if known {
                continue;
            }
            let prefix = if *mode == Mode::Data { "data." } else { "" };
            let names = body
                .attrs
                .iter()
                .map(|a| a.name)
                .chain(body.blocks.iter().map(|b| b.name));
            let mut d = Diagnostic::error(
                format!("{prefix}{t}.{n} has no attribute \"{attr}\""),
                Some(r.span),
            );
            if let Some(s) = nearest(attr, names) {
                d = d.note(format!("help: did you mean \"{s}\"?"));
            }
            diags.push(d);
        }
    }
}

/// The error for a function of Terraform 0.11 that later versions
/// removed, naming what to write instead.
pub fn removed_function_error(name: &str, span: Span) -> Option<Diagnostic> {
    let modern = match name {
        "list" => "a list literal [a, b] (or tolist([...]))",
        "map" => "a map literal { key = value } (or tomap({...}))",
        _ => return None,
    };
    Some(
        Diagnostic::error(
            format!("function \"{name}\" was removed in Terraform 0.15"),
            Some(span),
        )
        .note(format!("help: write {modern}")),
    )
}

/// Every expression of a body and of its nested blocks.
fn body_exprs<'a>(body: &'a Body, out: &mut Vec<&'a Expr>) {
    out.extend(body.attrs.iter().map(|a| &a.expr));
    for nb in &body.blocks {
        body_exprs(&nb.body, out);
    }
}

/// Each module call against the module it calls: inputs it does not
/// declare, required inputs not given, references in the inputs; then the
/// module's own configuration, validated with its inputs unknown.
fn check_modules(
    config: &Config,
    schemas: &SchemaSet,
    vars: &BTreeMap<String, Value>,
    diags: &mut Vec<Diagnostic>,
) {
    let locals = LocalCache::default();
    let scope = Scope::new(config, vars, &NothingKnown, &locals);
    for call in config.modules.values() {
        let refs: Vec<Reference> = call
            .inputs
            .iter()
            .map(|a| &a.expr)
            .chain(call.count.iter())
            .chain(call.for_each.iter())
            .chain(call.depends_on.iter())
            .flat_map(|e| e.references(&[]))
            .collect();
        let ctx = RefContext {
            each: call.for_each.is_some(),
            count: call.count.is_some(),
            ..RefContext::plain()
        };
        check_references(config, &refs, &ctx, diags);
        check_depends_on(&call.depends_on, diags);
        let Some(child) = &call.child else { continue };
        for a in &call.inputs {
            if !child.variables.contains_key(&a.name) {
                let mut d = Diagnostic::error(
                    format!(
                        "module \"{}\" has no input variable \"{}\"",
                        call.name, a.name
                    ),
                    Some(a.name_span),
                );
                if let Some(s) = nearest(&a.name, child.variables.keys().map(String::as_str)) {
                    d = d.note(format!("help: did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
        for v in child.variables.values() {
            if v.default.is_none() && !call.inputs.iter().any(|a| a.name == v.name) {
                diags.push(Diagnostic::error(
                    format!(
                        "module \"{}\" needs a value for its input \"{}\" (it has no default)",
                        call.name, v.name
                    ),
                    Some(call.span),
                ));
            }
        }
        // An input known before apply must fit its variable's type (each
        // and count of the call are unknown here).
        let inst = scope.for_instance(
            call.for_each
                .as_ref()
                .map(|_| (Value::Unknown, Value::Unknown)),
            None,
        );
        for a in &call.inputs {
            let Some(var) = child.variables.get(&a.name) else {
                continue;
            };
            let Some(Ok(ty)) = var.type_expr.as_ref().map(TypeExpr::from_expr) else {
                continue;
            };
            let Ok(value) = inst.eval(&a.expr) else {
                continue;
            };
            if !value.is_wholly_known() || value.is_null() {
                continue;
            }
            if let Err(e) = crate::convert::convert(&value, &ty) {
                diags.push(inst.redact(
                    Diagnostic::error(
                        format!(
                            "module \"{}\": input \"{}\" must be {}: {e}",
                            call.name,
                            a.name,
                            ty.describe()
                        ),
                        Some(a.expr.span),
                    ),
                    var.sensitive,
                ));
            }
        }
        let inputs: BTreeMap<String, Value> = child
            .variables
            .keys()
            .map(|k| (k.clone(), Value::Unknown))
            .collect();
        diags.extend(validate(child, schemas, &inputs));
    }
}

/// `depends_on` lists references. A quoted one (`"aws_vpc.main"`) is
/// Terraform 0.11 syntax that would otherwise be dropped without an edge.
fn check_depends_on(items: &[Expr], diags: &mut Vec<Diagnostic>) {
    for item in items {
        match &item.kind {
            ExprKind::Literal(Value::String(quoted)) => diags.push(
                Diagnostic::error(
                    format!(
                        "depends_on = [\"{quoted}\"] (a quoted reference) is Terraform 0.11 syntax"
                    ),
                    Some(item.span),
                )
                .note(format!(
                    "help: write the reference without quotes: depends_on = [{quoted}]"
                )),
            ),
            ExprKind::Template(_) => diags.push(
                Diagnostic::error(
                    "depends_on = [\"${...}\"] (an interpolated reference) is Terraform 0.11 syntax",
                    Some(item.span),
                )
                .note("help: write the reference itself: depends_on = [aws_vpc.main]"),
            ),
            ExprKind::Variable(_) | ExprKind::Traversal(..) => {}
            _ => diags.push(Diagnostic::error(
                "depends_on takes references to resources, data sources or modules, such as \
                 aws_vpc.main",
                Some(item.span),
            )),
        }
    }
}

/// Terraform refuses a root output computed from a sensitive value unless
/// the output itself says `sensitive = true`: printing it at apply would
/// show the secret. A module's outputs are not printed, and pass their
/// values on as they are (a module handing its password to the next one
/// needs no `sensitive = true`, as in Terraform). A value is computed from a sensitive one when its
/// expression (or a local it uses, transitively) reads a sensitive
/// variable, a sensitive attribute, or a whole resource that has one;
/// `nonsensitive(...)` says its argument is not a secret.
fn check_output_sensitivity(config: &Config, schemas: &SchemaSet, diags: &mut Vec<Diagnostic>) {
    if config.root_dir.is_some() {
        return;
    }
    for o in config.outputs.values().filter(|o| !o.sensitive) {
        let Some(expr) = &o.value else { continue };
        for r in expr.revealed_references() {
            if let Some(mut source) = sensitive_source(config, schemas, &r) {
                if let RefTarget::Local(n) = &r.target {
                    source = format!("local.{n} (from {source})");
                }
                diags.push(
                    Diagnostic::error(
                        format!(
                            "output \"{}\" is computed from {source}, which is sensitive",
                            o.name
                        ),
                        Some(r.span),
                    )
                    .note(
                        "help: add `sensitive = true` to the output (its value is then shown only \
                         by `stackd output NAME`), or wrap the value in nonsensitive(...) if it is \
                         not a secret",
                    ),
                );
                break;
            }
        }
    }
}

/// The sensitive value `r` reads, if any, named as the user wrote it.
/// Locals are followed with a work list, not recursion (a chain of
/// thousands of locals must not overflow the stack).
fn sensitive_source(config: &Config, schemas: &SchemaSet, r: &Reference) -> Option<String> {
    let mut seen = BTreeSet::new();
    let mut work = vec![r.clone()];
    while let Some(r) = work.pop() {
        match &r.target {
            RefTarget::Var(n) if config.variables.get(n).is_some_and(|v| v.sensitive) => {
                return Some(format!("var.{n}"));
            }
            RefTarget::Local(n) if seen.insert(n.clone()) => {
                if let Some(local) = config.locals.get(n) {
                    work.extend(local.expr.revealed_references());
                }
            }
            RefTarget::Resource(mode, type_name, name) => {
                let Some(schema) = schemas.get(*mode, type_name) else {
                    continue;
                };
                let prefix = match mode {
                    Mode::Data => format!("data.{type_name}.{name}"),
                    Mode::Managed => format!("{type_name}.{name}"),
                };
                let mut sensitive = schema.body.attrs.iter().filter(|a| a.sensitive);
                let found = match &r.attribute {
                    Some(a) => sensitive
                        .find(|s| s.name == a)
                        .map(|_| format!("{prefix}.{a}")),
                    None => sensitive
                        .next()
                        .map(|s| format!("{prefix} (its attribute {})", s.name)),
                };
                if found.is_some() {
                    return found;
                }
            }
            _ => {}
        }
    }
    None
}

fn check_resource_schema(r: &ResourceBlock, schemas: &SchemaSet, diags: &mut Vec<Diagnostic>) {
    let Some(schema) = schemas.get(r.addr.mode, &r.addr.type_name) else {
        let kind = if r.addr.mode == Mode::Data {
            "data source"
        } else {
            "resource type"
        };
        let names = schemas.type_names(r.addr.mode);
        let mut d = Diagnostic::error(
            format!("unknown {kind} \"{}\"", r.addr.type_name),
            Some(r.type_span),
        );
        if let Some(s) = nearest(&r.addr.type_name, names.iter().copied()) {
            d = d.note(format!("help: did you mean \"{s}\"?"));
        }
        // The list of supported types is added once, by `validate`.
        diags.push(d);
        return;
    };
    check_body(&r.body, &schema.body, &r.addr.to_string(), r.span, diags);
    check_provisioners(r, diags);
}

/// The arguments a `local-exec` provisioner takes.
const LOCAL_EXEC_ARGS: &[&str] = &[
    "command",
    "environment",
    "working_dir",
    "interpreter",
    "when",
    "on_failure",
    "quiet",
];

fn check_provisioners(r: &ResourceBlock, diags: &mut Vec<Diagnostic>) {
    for p in &r.provisioners {
        if p.kind != "local-exec" {
            diags.push(Diagnostic::error(
                format!(
                    "provisioner \"{}\" is not supported; stackd runs local-exec provisioners",
                    p.kind
                ),
                Some(p.span),
            ));
            continue;
        }
        for a in &p.body.attrs {
            if !LOCAL_EXEC_ARGS.contains(&a.name.as_str()) {
                let mut d = Diagnostic::error(
                    format!("unknown argument \"{}\" in local-exec provisioner", a.name),
                    Some(a.name_span),
                );
                if let Some(s) = nearest(&a.name, LOCAL_EXEC_ARGS.iter().copied()) {
                    d = d.note(format!("help: did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
        if p.body.attr("command").is_none() {
            diags.push(Diagnostic::error(
                "missing required argument \"command\" in local-exec provisioner",
                Some(p.span),
            ));
        }
    }
}

/// The error for a deprecated form stackd does not read.
fn retired(name: &str, owner: &str, schema: &BlockSchema, span: Span) -> Diagnostic {
    let modern = schema.find_retired(name).unwrap_or_default();
    Diagnostic::error(
        format!(
            "\"{name}\" in {owner} is a form the AWS provider deprecated; stackd does not read \
             it"
        ),
        Some(span),
    )
    .note(format!("help: {modern}"))
}

fn check_body(
    body: &Body,
    schema: &BlockSchema,
    owner: &str,
    owner_span: Span,
    diags: &mut Vec<Diagnostic>,
) {
    for a in &body.attrs {
        match schema.find_attr(&a.name) {
            Some(s) if s.presence == Presence::Computed => diags.push(Diagnostic::error(
                format!(
                    "\"{}\" is read-only in {owner}: it is set by the cloud, not by the spec",
                    a.name
                ),
                Some(a.name_span),
            )),
            Some(s) if s.deprecated.is_some() => diags.push(
                Diagnostic::warning(
                    format!(
                        "\"{}\" is deprecated in {owner}; stackd still does what the provider \
                         does with it",
                        a.name
                    ),
                    Some(a.name_span),
                )
                .note(format!(
                    "help: write {} instead",
                    s.deprecated.unwrap_or_default()
                )),
            ),
            Some(_) => {}
            None if schema.find_retired(&a.name).is_some() => {
                diags.push(retired(&a.name, owner, schema, a.name_span))
            }
            None if schema.find_upgrade(&a.name).is_some() => {
                let modern = schema.find_upgrade(&a.name).map_or("", |u| u.modern);
                diags.push(
                    Diagnostic::warning(
                        format!(
                            "\"{}\" is deprecated in {owner}; stackd reads it as {modern}",
                            a.name
                        ),
                        Some(a.name_span),
                    )
                    .note(format!("help: write {modern} instead")),
                );
            }
            // `ingress = [{ ... }]`: blocks written as an argument (Terraform's
            // attributes-as-blocks), read as the blocks they stand for.
            None if schema.find_block(&a.name).is_some() => {}
            None => {
                let names = schema
                    .attrs
                    .iter()
                    .filter(|x| x.is_argument())
                    .map(|x| x.name)
                    .chain(schema.blocks.iter().map(|b| b.name));
                let mut d = Diagnostic::error(
                    format!("unknown argument \"{}\" in {owner}", a.name),
                    Some(a.name_span),
                );
                if let Some(s) = nearest(&a.name, names) {
                    d = d.note(format!("help: did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
    }
    for attr in &schema.attrs {
        if attr.presence == Presence::Required && body.attr(attr.name).is_none() {
            diags.push(Diagnostic::error(
                format!("missing required argument \"{}\" in {owner}", attr.name),
                Some(owner_span),
            ));
        }
    }
    for nb in &body.blocks {
        let (kind, content) = if nb.kind == "dynamic" {
            let label = nb.labels.first().cloned().unwrap_or_default();
            match nb.body.blocks.iter().find(|b| b.kind == "content") {
                Some(c) => (label, &c.body),
                None => {
                    diags.push(Diagnostic::error(
                        format!("dynamic \"{label}\" has no content block"),
                        Some(nb.span),
                    ));
                    continue;
                }
            }
        } else {
            (nb.kind.clone(), &nb.body)
        };
        match schema.find_block(&kind) {
            None if schema.find_retired(&kind).is_some() => {
                diags.push(retired(&kind, owner, schema, nb.span))
            }
            Some(bs) => {
                if let Some(modern) = bs.deprecated {
                    diags.push(
                        Diagnostic::warning(
                            format!(
                                "\"{kind}\" blocks are deprecated in {owner}; stackd still does \
                                 what the provider does with them"
                            ),
                            Some(nb.span),
                        )
                        .note(format!("help: write {modern} instead")),
                    );
                }
                check_body(
                    content,
                    bs,
                    &format!("{owner} {kind} block"),
                    nb.span,
                    diags,
                )
            }
            // `tags { Name = "x" }`: an argument written as a block.
            None if schema.attrs.iter().any(|a| a.name == kind) => diags.push(
                Diagnostic::error(
                    format!(
                        "\"{kind}\" is an argument, not a block, in {owner}: `{kind} {{ ... }}` is \
                         Terraform 0.11 syntax"
                    ),
                    Some(nb.span),
                )
                .note(format!(
                    "help: write it with an equals sign, as Terraform 0.12 and later do: `{kind} = {{ ... }}`"
                )),
            ),
            None => {
                let names = schema
                    .blocks
                    .iter()
                    .map(|b| b.name)
                    .chain(schema.attrs.iter().map(|a| a.name));
                let mut d = Diagnostic::error(
                    format!("unknown block \"{kind}\" in {owner}"),
                    Some(nb.span),
                );
                if let Some(s) = nearest(&kind, names) {
                    d = d.note(format!("help: did you mean \"{s}\"?"));
                }
                diags.push(d);
            }
        }
    }
    for bs in &schema.blocks {
        let count = body
            .blocks
            .iter()
            .filter(|b| {
                b.kind == bs.name
                    || (b.kind == "dynamic"
                        && b.labels.first().map(String::as_str) == Some(bs.name))
            })
            .count();
        if count < bs.min_items {
            diags.push(Diagnostic::error(
                format!("missing required block \"{}\" in {owner}", bs.name),
                Some(owner_span),
            ));
        }
    }
}

/// What a place in the spec may refer to.
struct RefContext {
    each: bool,
    count: bool,
    self_ok: bool,
}

impl RefContext {
    fn plain() -> RefContext {
        RefContext {
            each: false,
            count: false,
            self_ok: false,
        }
    }
}

/// Checks every reference a resource block makes; false if any is bad.
fn check_block_references(config: &Config, r: &ResourceBlock, diags: &mut Vec<Diagnostic>) -> bool {
    let before = diags.len();
    let ctx = RefContext {
        each: r.for_each.is_some(),
        count: r.count.is_some(),
        self_ok: false,
    };
    for e in r.count.iter().chain(r.for_each.iter()) {
        check_references(config, &e.references(&[]), &RefContext::plain(), diags);
    }
    check_references(config, &block_references(&r.body), &ctx, diags);
    for e in &r.depends_on {
        check_references(config, &e.references(&[]), &RefContext::plain(), diags);
    }
    for p in &r.provisioners {
        let pctx = RefContext {
            self_ok: true,
            ..ctx
        };
        check_references(config, &block_references(&p.body), &pctx, diags);
    }
    for (rules, self_ok) in [
        (&r.lifecycle.preconditions, false),
        (&r.lifecycle.postconditions, true),
    ] {
        let cctx = RefContext { self_ok, ..ctx };
        check_references(config, &condition_references(rules), &cctx, diags);
    }
    diags.len() == before
}

/// Every reference of condition blocks (condition and error message).
pub fn condition_references(rules: &[crate::config::Validation]) -> Vec<Reference> {
    rules
        .iter()
        .flat_map(|r| {
            let mut refs = r.condition.references(&[]);
            refs.extend(r.error_message.references(&[]));
            refs
        })
        .collect()
}

/// Every reference in a body, with dynamic-block iterators bound.
pub fn block_references(body: &Body) -> Vec<Reference> {
    let mut out = Vec::new();
    collect_body_refs(body, &mut Vec::new(), &mut out);
    out
}

fn collect_body_refs(body: &Body, bound: &mut Vec<String>, out: &mut Vec<Reference>) {
    for a in &body.attrs {
        out.extend(a.expr.references(bound));
    }
    for nb in &body.blocks {
        if nb.kind == "dynamic" {
            if let Some(fe) = nb.body.attr("for_each") {
                out.extend(fe.expr.references(bound));
            }
            let iterator = nb
                .body
                .attr("iterator")
                .and_then(|a| match &a.expr.kind {
                    crate::expr::ExprKind::Variable(n) => Some(n.clone()),
                    _ => None,
                })
                .or_else(|| nb.labels.first().cloned())
                .unwrap_or_default();
            bound.push(iterator);
            for c in nb.body.blocks.iter().filter(|b| b.kind == "content") {
                collect_body_refs(&c.body, bound, out);
            }
            bound.pop();
        } else {
            collect_body_refs(&nb.body, bound, out);
        }
    }
}

fn check_references(
    config: &Config,
    refs: &[Reference],
    ctx: &RefContext,
    diags: &mut Vec<Diagnostic>,
) {
    for r in refs {
        let problem = match &r.target {
            RefTarget::Var(n) if !config.variables.contains_key(n) => {
                let mut d = Diagnostic::error(format!("reference to undeclared variable \"{n}\""), Some(r.span));
                if let Some(s) = nearest(n, config.variables.keys().map(String::as_str)) {
                    d = d.note(format!("help: did you mean var.{s}?"));
                }
                Some(d)
            }
            RefTarget::Local(n) if !config.locals.contains_key(n) => {
                let mut d = Diagnostic::error(format!("reference to undeclared local value \"{n}\""), Some(r.span));
                if let Some(s) = nearest(n, config.locals.keys().map(String::as_str)) {
                    d = d.note(format!("help: did you mean local.{s}?"));
                }
                Some(d)
            }
            RefTarget::Resource(mode, t, n) if config.resource(*mode, t, n).is_none() => {
                let prefix = if *mode == Mode::Data { "data." } else { "" };
                let candidates: Vec<String> = config
                    .resources
                    .iter()
                    .filter(|x| x.addr.mode == *mode)
                    .map(|x| format!("{}.{}", x.addr.type_name, x.addr.name))
                    .collect();
                let mut d = Diagnostic::error(
                    format!("reference to undeclared resource {prefix}{t}.{n}"),
                    Some(r.span),
                );
                if let Some(s) = nearest(&format!("{t}.{n}"), candidates.iter().map(String::as_str)) {
                    d = d.note(format!("help: did you mean {prefix}{s}?"));
                }
                Some(d)
            }
            RefTarget::Each(_) if !ctx.each => Some(Diagnostic::error(
                "each.key and each.value are only available in blocks with for_each",
                Some(r.span),
            )),
            RefTarget::Each(Some(attr)) if !EACH_ATTRS.contains(&attr.as_str()) => {
                Some(no_such_attribute("each", attr, EACH_ATTRS, r.span))
            }
            RefTarget::Count(_) if !ctx.count => Some(Diagnostic::error(
                "count.index is only available in blocks with count",
                Some(r.span),
            )),
            RefTarget::Count(Some(attr)) if !COUNT_ATTRS.contains(&attr.as_str()) => {
                Some(no_such_attribute("count", attr, COUNT_ATTRS, r.span))
            }
            RefTarget::SelfRef if !ctx.self_ok => Some(Diagnostic::error(
                "self is only available in provisioner and connection blocks",
                Some(r.span),
            )),
            RefTarget::Module(m) => match config.modules.get(m) {
                None => {
                    let mut d = Diagnostic::error(
                        format!("reference to undeclared module \"{m}\""),
                        Some(r.span),
                    );
                    if let Some(s) = nearest(m, config.modules.keys().map(String::as_str)) {
                        d = d.note(format!("help: did you mean module.{s}?"));
                    }
                    Some(d)
                }
                Some(call) => match (&call.child, &r.attribute) {
                    (Some(child), Some(o)) if !child.outputs.contains_key(o) => {
                        let mut d = Diagnostic::error(
                            format!("module \"{m}\" has no output \"{o}\""),
                            Some(r.span),
                        );
                        if let Some(s) = nearest(o, child.outputs.keys().map(String::as_str)) {
                            d = d.note(format!("help: did you mean module.{m}.{s}?"));
                        }
                        Some(d)
                    }
                    _ => None,
                },
            },
            RefTarget::Unknown(n) => Some(Diagnostic::error(
                format!("\"{n}\" is not defined; references look like var.NAME, local.NAME, TYPE.NAME or data.TYPE.NAME"),
                Some(r.span),
            )),
            _ => None,
        };
        diags.extend(problem);
    }
}

/// What `each` and `count` have.
const EACH_ATTRS: &[&str] = &["key", "value"];
const COUNT_ATTRS: &[&str] = &["index"];

/// `each.valu`: caught once here, rather than once per instance by `diff`.
fn no_such_attribute(root: &str, attr: &str, known: &[&str], span: Span) -> Diagnostic {
    let have: Vec<String> = known.iter().map(|k| format!("{root}.{k}")).collect();
    let mut d = Diagnostic::error(
        format!(
            "{root} has no attribute \"{attr}\"; it has only {}",
            have.join(" and ")
        ),
        Some(span),
    );
    if let Some(s) = nearest(attr, known.iter().copied()) {
        d = d.note(format!("help: did you mean {root}.{s}?"));
    }
    d
}

/// The nodes every expression of a block depends on.
fn node_deps(refs: &[Reference]) -> Vec<(ConfigNode, Span)> {
    refs.iter()
        .filter_map(|r| Some((reference_node(r)?, r.span)))
        .collect()
}

/// The configuration node a reference names, if it names one.
pub fn reference_node(r: &Reference) -> Option<ConfigNode> {
    match &r.target {
        RefTarget::Resource(m, t, n) => Some(ConfigNode::Resource(*m, t.clone(), n.clone())),
        RefTarget::Local(n) => Some(ConfigNode::Local(n.clone())),
        RefTarget::Var(n) => Some(ConfigNode::Var(n.clone())),
        RefTarget::Module(c) => Some(ConfigNode::Module(c.clone(), r.attribute.clone())),
        _ => None,
    }
}

/// The configuration-level dependency edges: node → (dependency, where).
pub fn config_dependencies(config: &Config) -> BTreeMap<ConfigNode, Vec<(ConfigNode, Span)>> {
    let mut deps = BTreeMap::new();
    for r in &config.resources {
        let mut refs = block_references(&r.body);
        for e in r
            .count
            .iter()
            .chain(r.for_each.iter())
            .chain(r.depends_on.iter())
        {
            refs.extend(e.references(&[]));
        }
        // Provisioners run after create and see `self`; their references
        // still order the resource after what they use, as conditions'
        // references do.
        for p in &r.provisioners {
            refs.extend(block_references(&p.body));
        }
        refs.extend(condition_references(&r.lifecycle.preconditions));
        refs.extend(condition_references(&r.lifecycle.postconditions));
        let node = ConfigNode::Resource(r.addr.mode, r.addr.type_name.clone(), r.addr.name.clone());
        deps.insert(node, node_deps(&refs));
    }
    for l in config.locals.values() {
        deps.insert(
            ConfigNode::Local(l.name.clone()),
            node_deps(&l.expr.references(&[])),
        );
    }
    for o in config.outputs.values() {
        let mut refs: Vec<Reference> = o
            .value
            .iter()
            .flat_map(|e: &Expr| e.references(&[]))
            .collect();
        refs.extend(o.depends_on.iter().flat_map(|e| e.references(&[])));
        deps.insert(ConfigNode::Output(o.name.clone()), node_deps(&refs));
    }
    deps
}

/// Reports every dependency cycle, printing its path.
pub fn find_cycles(config: &Config) -> Vec<Diagnostic> {
    let deps = config_dependencies(config);
    let mut graph: DiGraph<ConfigNode, Span> = DiGraph::new();
    let mut index: BTreeMap<ConfigNode, NodeIndex> = BTreeMap::new();
    for node in deps.keys() {
        index.insert(node.clone(), graph.add_node(node.clone()));
    }
    for (node, ds) in &deps {
        for (d, span) in ds {
            if let (Some(&a), Some(&b)) = (index.get(node), index.get(d)) {
                graph.add_edge(a, b, *span);
            }
        }
    }
    let mut diags = Vec::new();
    // Kosaraju's algorithm walks the graph without recursion (petgraph's
    // Tarjan recurses once per node of a chain: 10,000 locals in a row
    // would overflow the stack).
    for scc in petgraph::algo::kosaraju_scc(&graph) {
        let is_cycle = scc.len() > 1 || graph.contains_edge(scc[0], scc[0]);
        if !is_cycle {
            continue;
        }
        // Walk the cycle from its smallest node for a stable message.
        let members: BTreeSet<NodeIndex> = scc.iter().copied().collect();
        let start = *scc
            .iter()
            .min_by_key(|i| graph[**i].clone())
            .unwrap_or(&scc[0]);
        let mut path = vec![start];
        let mut first_span = None;
        let mut cur = start;
        loop {
            let next = graph
                .edges(cur)
                .filter(|e| members.contains(&petgraph::visit::EdgeRef::target(e)))
                .min_by_key(|e| graph[petgraph::visit::EdgeRef::target(e)].clone());
            let Some(edge) = next else { break };
            let target = petgraph::visit::EdgeRef::target(&edge);
            if first_span.is_none() {
                first_span = Some(*edge.weight());
            }
            if target == start || path.contains(&target) {
                path.push(target);
                break;
            }
            path.push(target);
            cur = target;
        }
        let names: Vec<String> = path.iter().map(|i| graph[*i].to_string()).collect();
        diags.push(
            Diagnostic::error(format!("dependency cycle: {}", names.join(" → ")), first_span).note(
                "help: break the cycle, e.g. move security group rules into aws_security_group_rule resources",
            ),
        );
    }
    diags
}

/// Evaluates arguments whose values are known before apply and reports type
/// and value errors (a bad CIDR, a string where a number belongs).
fn check_values(
    config: &Config,
    schemas: &SchemaSet,
    vars: &BTreeMap<String, Value>,
    skip: &BTreeSet<crate::address::BlockAddress>,
    diags: &mut Vec<Diagnostic>,
) {
    let locals = LocalCache::default();
    let scope = Scope::new(config, vars, &NothingKnown, &locals);
    for r in &config.resources {
        if skip.contains(&r.addr) {
            continue;
        }
        let Some(schema) = schemas.get(r.addr.mode, &r.addr.type_name) else {
            continue;
        };
        let instances: Vec<Scope> = match (&r.count, &r.for_each) {
            (Some(c), _) => match scope
                .eval(c)
                .and_then(|v| count_instances(&v, c.span).map_err(|d| scope.redact(d, true)))
            {
                Ok(Some(n)) => (0..n as i64)
                    .map(|i| scope.for_instance(None, Some(i)))
                    .collect(),
                Ok(None) => continue,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            (None, Some(fe)) => match scope.eval(fe).and_then(|v| {
                let pairs = iterate(&v, fe.span)?;
                if let Some(p) = &pairs {
                    check_for_each_len(p.len(), fe.span)?;
                }
                Ok((v, pairs))
            }) {
                Ok((Value::List(_), Some(pairs))) => pairs
                    .into_iter()
                    .map(|(_, v)| scope.for_instance(Some((v.clone(), v)), None))
                    .collect(),
                Ok((_, Some(pairs))) => pairs
                    .into_iter()
                    .map(|(k, v)| scope.for_instance(Some((k, v)), None))
                    .collect(),
                Ok((_, None)) => continue,
                Err(d) => {
                    diags.push(d);
                    continue;
                }
            },
            (None, None) => vec![scope.for_instance(None, None)],
        };
        // One instance is enough to find a problem in the block's text;
        // reporting it once per instance would only repeat it.
        for inst in instances {
            if let Err(mut ds) = inst.eval_body(&r.body, &schema.body) {
                ds.retain(|d| !diags.contains(d));
                let found = !ds.is_empty();
                diags.append(&mut ds);
                if found {
                    break;
                }
            }
        }
    }
}

mod providers;
pub use providers::{check_region, AWS_REGIONS};

#[cfg(test)]
mod tests;
