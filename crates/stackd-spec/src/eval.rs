//! Evaluates expressions and block bodies to values, with unknowns for
//! whatever is only known after apply. Pure: resource values come from a
//! [`Resolver`] the engine supplies.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};

use crate::config::{Body, Config};
use crate::convert::{convert, TypeExpr};
use crate::diag::{Diagnostic, Span};
use crate::expr::{
    BinaryOp, Expr, ExprKind, ObjectKey, OpKind, Reference, TemplatePart, TraversalOp, UnaryOp,
};
use crate::functions::{self, FuncContext};
use crate::limits::{self, MAX_EVAL_DEPTH, MAX_EVAL_STEPS};
use crate::schema::{AttrSchema, BlockSchema, Check, Mode, Nesting, Presence};
use crate::value::Value;

/// Supplies the values of resources and data sources.
pub trait Resolver {
    /// The value of a whole block: an object for a single instance, a list
    /// for `count`, a map for `for_each`; `Value::Unknown` when not known yet.
    /// `None` when no such block exists.
    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value>;

    /// One instance of a block, `TYPE.NAME[key]`, when the resolver can
    /// give it alone and it exists: the same value as indexing
    /// [`Resolver::resource`]'s, without building the whole block's (an
    /// instance of a `count` block reading its own instance of another
    /// would otherwise copy every instance, and a plan cost the square of
    /// the stack). `None`: index the whole block instead (errors included).
    fn resource_instance(
        &self,
        _mode: Mode,
        _type_name: &str,
        _name: &str,
        _key: &Value,
    ) -> Option<Value> {
        None
    }

    /// The value of a module call as `module.NAME` sees it: an object of its
    /// outputs, a list of them for `count`, a map for `for_each`. `None`
    /// when the resolver does not know module values (then it is unknown).
    fn module(&self, _name: &str) -> Option<Value> {
        None
    }

    /// One output of a module call without `count`/`for_each`
    /// (`module.NAME.OUTPUT`), when the resolver can give it alone; `None`
    /// falls back to [`Resolver::module`].
    fn module_output(&self, _name: &str, _output: &str) -> Option<Value> {
        None
    }

    /// A declared variable missing from the scope's `vars`: a module's
    /// inputs, given one at a time by a resolver that computes them on
    /// demand. `None`: not known here.
    fn variable(&self, _name: &str) -> Option<Value> {
        None
    }
}

/// Evaluates a condition block (`validation`, `precondition`,
/// `postcondition`, `assert`): `Ok(None)` when it holds or is not known
/// yet, `Ok(Some(message))` with its error message when it does not. A
/// message that would show a sensitive value is replaced.
pub fn check_condition(
    scope: &Scope,
    rule: &crate::config::Validation,
    kind: &str,
) -> Result<Option<String>, Diagnostic> {
    let holds = match scope.eval(&rule.condition)? {
        Value::Unknown => return Ok(None),
        Value::Bool(b) => b,
        other => {
            return Err(Diagnostic::error(
                format!(
                    "a {kind} condition must be true or false, got {}",
                    other.type_name()
                ),
                Some(rule.condition.span),
            ))
        }
    };
    if holds {
        return Ok(None);
    }
    Ok(Some(match scope.eval(&rule.error_message) {
        Ok(Value::String(m)) => {
            let hidden = scope.redact(Diagnostic::error(m.clone(), None), true);
            if hidden.message != m {
                "the error message refers to a sensitive value, so it is not shown".to_string()
            } else {
                m
            }
        }
        Ok(_) | Err(_) => format!("the {kind} condition does not hold"),
    }))
}

/// A resolver for evaluation without any resource known (validation).
pub struct NothingKnown;

impl Resolver for NothingKnown {
    fn resource(&self, _: Mode, _: &str, _: &str) -> Option<Value> {
        Some(Value::Unknown)
    }
}

/// Memoised local values, shared by the evaluations of one phase.
#[derive(Default)]
pub struct LocalCache {
    values: RefCell<HashMap<String, Value>>,
    in_progress: RefCell<Vec<String>>,
}

impl LocalCache {
    /// Forgets locals that were not wholly known, so they are evaluated
    /// again once more resources are known.
    pub fn forget_unknown(&self) {
        self.values.borrow_mut().retain(|_, v| v.is_wholly_known());
    }
}

/// Everything names in expressions can refer to.
pub struct Scope<'a> {
    pub config: &'a Config,
    pub vars: &'a BTreeMap<String, Value>,
    pub resolver: &'a dyn Resolver,
    pub locals: &'a LocalCache,
    /// `each.key` and `each.value` inside a `for_each` resource.
    pub each: Option<(Value, Value)>,
    /// `count.index` inside a `count` resource.
    pub count_index: Option<i64>,
    /// `self` inside provisioners.
    pub self_value: Option<Value>,
    /// Whether `uuid()` and `timestamp()` are unknown, as Terraform has them
    /// while planning ("known after apply"). Off by default: each
    /// evaluation then gets a new value. A caller that evaluates again at
    /// apply (as the engine does) may set it while planning.
    pub impure_unknown: bool,
}

impl<'a> Scope<'a> {
    pub fn new(
        config: &'a Config,
        vars: &'a BTreeMap<String, Value>,
        resolver: &'a dyn Resolver,
        locals: &'a LocalCache,
    ) -> Scope<'a> {
        Scope {
            config,
            vars,
            resolver,
            locals,
            each: None,
            count_index: None,
            self_value: None,
            impure_unknown: false,
        }
    }

    /// The directory relative paths are read against, and `path.root`:
    /// the root module's (Terraform reads them against the working
    /// directory, where the root module is, even inside a module).
    pub fn root_dir(&self) -> &'a std::path::Path {
        self.config.root_dir.as_deref().unwrap_or(&self.config.dir)
    }

    /// A copy of this scope for one instance of a `count`/`for_each` block.
    pub fn for_instance(
        &self,
        each: Option<(Value, Value)>,
        count_index: Option<i64>,
    ) -> Scope<'a> {
        Scope {
            each,
            count_index,
            self_value: None,
            ..*self
        }
    }

    /// Evaluates an expression. Errors never show a sensitive variable's
    /// value (see [`Scope::redact`]).
    pub fn eval(&self, e: &Expr) -> Result<Value, Diagnostic> {
        Evaluator::new(self)
            .eval(e)
            .map_err(|d| self.redact(d, self.refers_to_sensitive(e)))
    }

    /// Evaluates a block body against its schema: arguments converted to
    /// their types and checked, unset ones given their defaults, nested and
    /// `dynamic` blocks expanded into lists of objects. Returns every problem.
    pub fn eval_body(&self, body: &Body, schema: &BlockSchema) -> Result<Value, Vec<Diagnostic>> {
        Evaluator::new(self)
            .eval_body(body, schema)
            .map_err(|diags| {
                let secrets = self.secrets();
                diags
                    .into_iter()
                    .map(|d| d.redacted(&secrets, false))
                    .collect()
            })
    }

    /// The values of the variables declared `sensitive`, as the strings a
    /// message could show (every leaf of a collection).
    pub fn secrets(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, var) in &self.config.variables {
            if var.sensitive {
                if let Some(v) = self.vars.get(name) {
                    collect_strings(v, &mut out);
                } else if let Some(v) = self.resolver.variable(name) {
                    collect_strings(&v, &mut out);
                }
            }
        }
        out
    }

    /// The diagnostic without any sensitive variable's value; `strong` when
    /// it is about an expression that uses one (see
    /// [`crate::diag::redact_message`]).
    pub fn redact(&self, d: Diagnostic, strong: bool) -> Diagnostic {
        d.redacted(&self.secrets(), strong)
    }

    /// What `issensitive(e)` answers: true when `e` is a `sensitive(...)`
    /// call or its value shows a sensitive variable (directly or through
    /// local values; not inside `nonsensitive(...)`). Sensitive resource
    /// attributes are not seen: the evaluator has no schemas.
    pub fn shows_sensitive(&self, e: &Expr) -> bool {
        let mut inner = e;
        while let ExprKind::Parenthesis(x) = &inner.kind {
            inner = x;
        }
        if let ExprKind::Call { name, .. } = &inner.kind {
            let name = name.strip_prefix("core::").unwrap_or(name);
            if name == "sensitive" {
                return true;
            }
        }
        self.reaches_sensitive_var(e, Expr::revealed_references)
    }

    /// True when the expression uses a sensitive variable, directly or
    /// through local values (followed without recursion: a chain of
    /// thousands of locals is walked in a loop).
    pub fn refers_to_sensitive(&self, e: &Expr) -> bool {
        self.reaches_sensitive_var(e, |x| x.references(&[]))
    }

    /// True when a reference `refs_of` finds in `e`, or in the local values
    /// it reaches, is a sensitive variable. Locals are followed with a
    /// work list, not recursion.
    fn reaches_sensitive_var(&self, e: &Expr, refs_of: fn(&Expr) -> Vec<Reference>) -> bool {
        if !self.config.variables.values().any(|v| v.sensitive) {
            return false;
        }
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let mut pending = refs_of(e);
        while let Some(r) = pending.pop() {
            match &r.target {
                crate::expr::RefTarget::Var(n)
                    if self.config.variables.get(n).is_some_and(|v| v.sensitive) =>
                {
                    return true;
                }
                crate::expr::RefTarget::Local(n) => {
                    if let Some((name, local)) = self.config.locals.get_key_value(n) {
                        if seen.insert(name.as_str()) {
                            pending.extend(refs_of(&local.expr));
                        }
                    }
                }
                _ => {}
            }
        }
        false
    }
}

/// Whether `e` is a reference (`local.t`, `var.t["a"]`, `data.x.y.body`),
/// which `templatestring` requires so a template is not built in place.
fn is_direct_reference(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Variable(_) => true,
        ExprKind::Traversal(base, _) => is_direct_reference(base),
        _ => false,
    }
}

/// Every leaf of a value that a message could print, as text.
fn collect_strings(v: &Value, out: &mut Vec<String>) {
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::List(items) => stack.extend(items),
            Value::Map(m) => {
                out.extend(m.keys().cloned());
                stack.extend(m.values());
            }
            other => out.extend(other.to_template_string()),
        }
    }
}

struct Evaluator<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Names bound by for-expressions and dynamic-block iterators, innermost last.
    bindings: Vec<(String, Value)>,
    /// How deeply evaluation has recursed (see [`MAX_EVAL_DEPTH`]).
    depth: usize,
    /// Work done so far: expressions evaluated plus the elements of every
    /// value copied out of a variable, local or binding (see [`MAX_EVAL_STEPS`]).
    steps: u64,
    /// Inside a `templatefile` template, which may not call templatefile.
    in_template: bool,
}

fn err(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(message, Some(span))
}

impl<'s, 'a> Evaluator<'s, 'a> {
    fn new(scope: &'s Scope<'a>) -> Evaluator<'s, 'a> {
        Evaluator {
            scope,
            bindings: Vec::new(),
            depth: 0,
            steps: 0,
            in_template: false,
        }
    }

    /// An evaluator for a nested evaluation (a local value, a template) that
    /// continues this one's depth and step count.
    fn nested<'t>(
        &self,
        scope: &'t Scope<'a>,
        bindings: Vec<(String, Value)>,
    ) -> Evaluator<'t, 'a> {
        Evaluator {
            scope,
            bindings,
            depth: self.depth,
            steps: self.steps,
            in_template: self.in_template,
        }
    }

    /// Counts `n` steps of work.
    fn charge(&mut self, n: u64, span: Span) -> Result<(), Diagnostic> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > MAX_EVAL_STEPS {
            return Err(err(
                format!(
                    "evaluation takes more than {MAX_EVAL_STEPS} steps; the expression (or what it refers to) builds too much"
                ),
                span,
            ));
        }
        Ok(())
    }

    /// Counts copying a value: as many steps as it has elements.
    fn charge_value(&mut self, v: &Value, span: Span) -> Result<(), Diagnostic> {
        let nodes = limits::value_nodes(v, MAX_EVAL_STEPS as usize);
        self.charge(nodes as u64, span)
    }

    /// Goes one level deeper, or fails when that is too deep. Every
    /// `enter` that succeeds is followed by `self.depth -= 1`.
    fn enter(&mut self, span: Span) -> Result<(), Diagnostic> {
        if self.depth >= MAX_EVAL_DEPTH {
            return Err(err(
                format!(
                    "expression nested too deeply: evaluation goes more than {MAX_EVAL_DEPTH} levels deep (nested expressions, splats, or locals that refer to locals)"
                ),
                span,
            ));
        }
        self.charge(1, span)?;
        self.depth += 1;
        Ok(())
    }

    // The evaluator recurses once per level of the expression (and of
    // splats and locals), so the functions on that path keep their frames
    // small: plain loops rather than iterator adapters, one function per
    // kind of expression. Debug builds run it on 2 MiB threads too.
    fn eval(&mut self, e: &Expr) -> Result<Value, Diagnostic> {
        self.enter(e.span)?;
        let result = self.eval_kind(e);
        self.depth -= 1;
        result
    }

    fn eval_kind(&mut self, e: &Expr) -> Result<Value, Diagnostic> {
        match &e.kind {
            ExprKind::Literal(v) => Ok(v.clone()),
            ExprKind::Template(parts) => self.template(parts, e.span),
            ExprKind::Tuple(items) => self.tuple(items),
            ExprKind::Object(items) => self.object(items),
            ExprKind::Variable(name) => self.variable(name, e.span),
            ExprKind::Traversal(base, ops) => self.traversal(base, ops, e.span),
            ExprKind::Call {
                name,
                args,
                expand_final,
            } => self.call(name, args, *expand_final, e.span),
            ExprKind::Conditional(c, t, f) => self.conditional(c, t, f),
            ExprKind::Unary(op, a) => self.unary(*op, a),
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
            ExprKind::For(f) => self.for_expr(f, e.span),
            ExprKind::Parenthesis(inner) => self.eval(inner),
        }
    }

    fn tuple(&mut self, items: &[Expr]) -> Result<Value, Diagnostic> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.eval(item)?);
        }
        Ok(Value::List(out))
    }

    fn object(&mut self, items: &[(ObjectKey, Expr)]) -> Result<Value, Diagnostic> {
        let mut map = BTreeMap::new();
        for (k, v) in items {
            let key = match k {
                ObjectKey::Ident(name, _) => name.clone(),
                ObjectKey::Expr(k) => match self.eval(k)? {
                    Value::Unknown => return Ok(Value::Unknown),
                    other => other.to_template_string().ok_or_else(|| {
                        err(
                            format!("object key must be a string, got {}", other.type_name()),
                            k.span,
                        )
                    })?,
                },
            };
            let value = self.eval(v)?;
            map.insert(key, value);
        }
        Ok(Value::Map(map))
    }

    fn conditional(&mut self, c: &Expr, t: &Expr, f: &Expr) -> Result<Value, Diagnostic> {
        match self.eval(c)? {
            Value::Unknown => Ok(Value::Unknown),
            v => match as_bool(&v) {
                Some(true) => self.eval(t),
                Some(false) => self.eval(f),
                None => Err(err(
                    format!("condition must be a bool, got {}", v.type_name()),
                    c.span,
                )),
            },
        }
    }

    fn unary(&mut self, op: UnaryOp, a: &Expr) -> Result<Value, Diagnostic> {
        let v = self.eval(a)?;
        match (op, &v) {
            (_, Value::Unknown) => Ok(Value::Unknown),
            (UnaryOp::Neg, _) => Ok(Value::Number(-number(&v, a.span)?)),
            (UnaryOp::Not, _) => as_bool(&v)
                .map(|b| Value::Bool(!b))
                .ok_or_else(|| err(format!("! needs a bool, got {}", v.type_name()), a.span)),
        }
    }

    fn lookup_binding(&self, name: &str) -> Option<&Value> {
        self.bindings
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
    }

    fn variable(&mut self, name: &str, span: Span) -> Result<Value, Diagnostic> {
        if let Some(v) = self.lookup_binding(name).cloned() {
            self.charge_value(&v, span)?;
            return Ok(v);
        }
        match name {
            "each" => match &self.scope.each {
                Some((k, v)) => Ok(Value::map([("key", k.clone()), ("value", v.clone())])),
                None => Err(err("each is only available in blocks with for_each", span)),
            },
            "count" => match self.scope.count_index {
                Some(i) => Ok(Value::map([("index", Value::from(i))])),
                None => Err(err("count.index is only available in blocks with count", span)),
            },
            "path" => {
                // Absolute, so `file("${path.module}/x")`, templatefile and
                // local-exec commands find the file from any working directory.
                let absolute = |d: &std::path::Path| {
                    std::fs::canonicalize(d)
                        .unwrap_or_else(|_| d.to_path_buf())
                        .display()
                        .to_string()
                };
                let dir = absolute(&self.scope.config.dir);
                let root = absolute(self.scope.root_dir());
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| ".".into());
                Ok(Value::map([
                    ("module", Value::from(dir)),
                    ("root", Value::from(root)),
                    ("cwd", Value::from(cwd)),
                ]))
            }
            "terraform" => Ok(Value::map([("workspace", Value::from("default"))])),
            "self" => self
                .scope
                .self_value
                .clone()
                .ok_or_else(|| err("self is only available in provisioners", span)),
            _ => Err(err(
                format!("\"{name}\" is not defined; references look like var.NAME, local.NAME or TYPE.NAME"),
                span,
            )),
        }
    }

    /// Resolves the root of a traversal, consuming the operators that name
    /// the thing referred to (`var.x`, `aws_vpc.main`, `data.aws_ami.x`).
    fn traversal(
        &mut self,
        base: &Expr,
        ops: &[TraversalOp],
        span: Span,
    ) -> Result<Value, Diagnostic> {
        if let ExprKind::Variable(root) = &base.kind {
            if self.lookup_binding(root).is_none() {
                let attr = |i: usize| match ops.get(i).map(|o| &o.kind) {
                    Some(OpKind::GetAttr(n)) => Some(n.as_str()),
                    _ => None,
                };
                let (value, used) = match root.as_str() {
                    "var" => {
                        let name = attr(0).ok_or_else(|| err("expected var.NAME", span))?;
                        let given = self.scope.vars.get(name).cloned().or_else(|| {
                            self.scope
                                .config
                                .variables
                                .contains_key(name)
                                .then(|| self.scope.resolver.variable(name))
                                .flatten()
                        });
                        let v = given.ok_or_else(|| {
                            err(format!("variable \"{name}\" is not declared"), span)
                        })?;
                        self.charge_value(&v, span)?;
                        (v, 1)
                    }
                    "local" => {
                        let name = attr(0).ok_or_else(|| err("expected local.NAME", span))?;
                        (self.local(name, span)?, 1)
                    }
                    "data" => {
                        let (t, n) = attr(0)
                            .zip(attr(1))
                            .ok_or_else(|| err("expected data.TYPE.NAME", span))?;
                        if let Some(v) = self.one_instance(Mode::Data, t, n, ops.get(2))? {
                            self.charge_value(&v, span)?;
                            return self.apply_ops(v, &ops[3..]);
                        }
                        let v = self.resource(Mode::Data, t, n, span)?;
                        self.charge_value(&v, span)?;
                        (v, 2)
                    }
                    "each" | "count" | "path" | "terraform" | "self" => {
                        (self.variable(root, base.span)?, 0)
                    }
                    // A module's outputs come from the resolver; where it
                    // does not know them (validation) they are unknown.
                    "module" => {
                        let name = attr(0).ok_or_else(|| err("expected module.NAME", span))?;
                        if !self.scope.config.modules.contains_key(name) {
                            return Err(err(format!("module \"{name}\" is not declared"), span));
                        }
                        // `module.NAME.OUTPUT` is asked for alone, so a module
                        // reading another's output does not evaluate all of
                        // them (which could lead back to itself).
                        let one = attr(1).and_then(|o| self.scope.resolver.module_output(name, o));
                        let (v, used) = match one {
                            Some(v) => (v, 2),
                            None => (
                                self.scope.resolver.module(name).unwrap_or(Value::Unknown),
                                1,
                            ),
                        };
                        self.charge_value(&v, span)?;
                        (v, used)
                    }
                    type_name => {
                        let name = attr(0).ok_or_else(|| {
                            err(format!("\"{type_name}\" is not defined; a resource reference is TYPE.NAME"), span)
                        })?;
                        if let Some(v) =
                            self.one_instance(Mode::Managed, type_name, name, ops.get(1))?
                        {
                            self.charge_value(&v, span)?;
                            return self.apply_ops(v, &ops[2..]);
                        }
                        let v = self.resource(Mode::Managed, type_name, name, span)?;
                        self.charge_value(&v, span)?;
                        (v, 1)
                    }
                };
                return self.apply_ops(value, &ops[used..]);
            }
        }
        let value = self.eval(base)?;
        self.apply_ops(value, ops)
    }

    /// The instance `op` (an index right after `TYPE.NAME`) selects, when
    /// the resolver gives it alone; `None` otherwise (no index, an unknown
    /// key, an instance the resolver cannot tell: the whole block is
    /// indexed then, with its errors).
    fn one_instance(
        &mut self,
        mode: Mode,
        type_name: &str,
        name: &str,
        op: Option<&TraversalOp>,
    ) -> Result<Option<Value>, Diagnostic> {
        let Some(OpKind::Index(idx)) = op.map(|o| &o.kind) else {
            return Ok(None);
        };
        let key = self.eval(idx)?;
        Ok(self
            .scope
            .resolver
            .resource_instance(mode, type_name, name, &key))
    }

    fn resource(
        &self,
        mode: Mode,
        type_name: &str,
        name: &str,
        span: Span,
    ) -> Result<Value, Diagnostic> {
        self.scope
            .resolver
            .resource(mode, type_name, name)
            .ok_or_else(|| {
                let prefix = if mode == Mode::Data { "data." } else { "" };
                err(
                    format!("reference to undeclared resource {prefix}{type_name}.{name}"),
                    span,
                )
            })
    }

    fn local(&mut self, name: &str, span: Span) -> Result<Value, Diagnostic> {
        let cached = self.scope.locals.values.borrow().get(name).cloned();
        if let Some(v) = cached {
            self.charge_value(&v, span)?;
            return Ok(v);
        }
        let local = self
            .scope
            .config
            .locals
            .get(name)
            .ok_or_else(|| err(format!("local value \"{name}\" is not declared"), span))?;
        if self
            .scope
            .locals
            .in_progress
            .borrow()
            .iter()
            .any(|n| n == name)
        {
            return Err(err(
                format!("local value \"{name}\" refers to itself"),
                span,
            ));
        }
        self.scope
            .locals
            .in_progress
            .borrow_mut()
            .push(name.to_string());
        // Locals see no for-expression bindings, `each`, `count` or `self`
        // of the place that uses them.
        let plain = Scope {
            each: None,
            count_index: None,
            self_value: None,
            ..*self.scope
        };
        // A local's evaluation nests inside the reference to it: count it
        // as a level of its own (its frames are as large as two).
        let mut inner = self.nested(&plain, Vec::new());
        let result = inner
            .enter(local.span)
            .and_then(|()| inner.eval(&local.expr))
            .and_then(|v| {
                // A local is computed once but may be copied everywhere: one
                // that doubles another (`[local.a, local.a]`) must not grow
                // without end.
                limits::check_value_size(&v).map_err(|m| {
                    err(
                        format!("local value \"{name}\" is too large: {m}"),
                        local.span,
                    )
                })?;
                Ok(v)
            });
        self.steps = inner.steps;
        self.scope
            .locals
            .in_progress
            .borrow_mut()
            .retain(|n| n != name);
        let value = result?;
        self.scope
            .locals
            .values
            .borrow_mut()
            .insert(name.to_string(), value.clone());
        Ok(value)
    }

    fn apply_ops(&mut self, mut value: Value, ops: &[TraversalOp]) -> Result<Value, Diagnostic> {
        for (i, op) in ops.iter().enumerate() {
            if value.is_unknown() {
                return Ok(Value::Unknown);
            }
            value = match &op.kind {
                OpKind::GetAttr(name) => get_attr(&value, name, op.span)?,
                OpKind::Index(idx) => {
                    let key = self.eval(idx)?;
                    index(&value, &key, op.span)?
                }
                OpKind::Splat => {
                    let items = match value {
                        Value::Null => Vec::new(),
                        Value::List(items) => items,
                        other => vec![other],
                    };
                    let rest = &ops[i + 1..];
                    // Each splat recurses once per element: a chain of
                    // thousands of `[*]` must not overflow the stack.
                    self.enter(op.span)?;
                    let out = self.splat(items, rest);
                    self.depth -= 1;
                    return out;
                }
            };
        }
        Ok(value)
    }

    fn splat(&mut self, items: Vec<Value>, rest: &[TraversalOp]) -> Result<Value, Diagnostic> {
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            out.push(self.apply_ops(item, rest)?);
        }
        Ok(Value::List(out))
    }

    fn template(&mut self, parts: &[TemplatePart], span: Span) -> Result<Value, Diagnostic> {
        if let [TemplatePart::Interpolation(e)] = parts {
            return self.eval(e);
        }
        let mut out = String::new();
        if self.template_into(parts, &mut out, span)? {
            if out.len() > limits::MAX_STRING_LEN {
                return Err(err(
                    format!(
                        "the template renders more than {} MiB of text",
                        limits::MAX_STRING_LEN >> 20
                    ),
                    span,
                ));
            }
            Ok(Value::String(out))
        } else {
            Ok(Value::Unknown)
        }
    }

    /// Appends the rendered parts; returns false when something is unknown.
    fn template_into(
        &mut self,
        parts: &[TemplatePart],
        out: &mut String,
        span: Span,
    ) -> Result<bool, Diagnostic> {
        for part in parts {
            if out.len() > limits::MAX_STRING_LEN {
                return Err(err(
                    format!(
                        "the template renders more than {} MiB of text",
                        limits::MAX_STRING_LEN >> 20
                    ),
                    span,
                ));
            }
            match part {
                TemplatePart::Literal(s) => out.push_str(s),
                TemplatePart::Interpolation(e) => match self.eval(e)? {
                    Value::Unknown => return Ok(false),
                    Value::Null => {
                        return Err(err(
                            "cannot include a null value in a string template",
                            e.span,
                        ))
                    }
                    v => match v.to_template_string() {
                        Some(s) => out.push_str(&s),
                        None => {
                            return Err(err(
                                format!(
                                "cannot include a {} in a string template; use jsonencode or join",
                                v.type_name()
                            ),
                                e.span,
                            ))
                        }
                    },
                },
                TemplatePart::If {
                    cond,
                    then,
                    otherwise,
                } => match self.eval(cond)? {
                    Value::Unknown => return Ok(false),
                    v => {
                        let branch = if as_bool(&v)
                            .ok_or_else(|| err("condition must be a bool", cond.span))?
                        {
                            then
                        } else {
                            otherwise
                        };
                        if !self.template_into(branch, out, span)? {
                            return Ok(false);
                        }
                    }
                },
                TemplatePart::For {
                    key_var,
                    value_var,
                    collection,
                    body,
                } => {
                    let coll = self.eval(collection)?;
                    let Some(pairs) = iterate(&coll, collection.span)? else {
                        return Ok(false);
                    };
                    for (k, v) in pairs {
                        self.charge(1, collection.span)?;
                        let depth = self.bindings.len();
                        if let Some(kv) = key_var {
                            self.bindings.push((kv.clone(), k));
                        }
                        self.bindings.push((value_var.clone(), v));
                        let ok = self.template_into(body, out, span);
                        self.bindings.truncate(depth);
                        if !ok? {
                            return Ok(false);
                        }
                    }
                }
            }
        }
        Ok(true)
    }

    fn for_expr(&mut self, f: &crate::expr::ForExpr, span: Span) -> Result<Value, Diagnostic> {
        let coll = self.eval(&f.collection)?;
        let Some(pairs) = iterate(&coll, f.collection.span)? else {
            return Ok(Value::Unknown);
        };
        let mut list = Vec::new();
        let mut map: BTreeMap<String, Value> = BTreeMap::new();
        let mut unknown = false;
        for (k, v) in pairs {
            self.charge(1, f.collection.span)?;
            let depth = self.bindings.len();
            if let Some(kv) = &f.key_var {
                self.bindings.push((kv.clone(), k));
            }
            self.bindings.push((f.value_var.clone(), v));
            let step = self.for_step(f, &mut list, &mut map, &mut unknown, span);
            self.bindings.truncate(depth);
            step?;
        }
        if unknown {
            return Ok(Value::Unknown);
        }
        Ok(if f.key_expr.is_some() {
            Value::Map(map)
        } else {
            Value::List(list)
        })
    }

    fn for_step(
        &mut self,
        f: &crate::expr::ForExpr,
        list: &mut Vec<Value>,
        map: &mut BTreeMap<String, Value>,
        unknown: &mut bool,
        span: Span,
    ) -> Result<(), Diagnostic> {
        if let Some(c) = &f.cond {
            match self.eval(c)? {
                Value::Unknown => {
                    *unknown = true;
                    return Ok(());
                }
                v => {
                    if !as_bool(&v)
                        .ok_or_else(|| err("for-expression condition must be a bool", c.span))?
                    {
                        return Ok(());
                    }
                }
            }
        }
        let value = self.eval(&f.value_expr)?;
        match &f.key_expr {
            None => list.push(value),
            Some(ke) => {
                let key = match self.eval(ke)? {
                    Value::Unknown => {
                        *unknown = true;
                        return Ok(());
                    }
                    k => k
                        .to_template_string()
                        .ok_or_else(|| err("for-expression key must be a string", ke.span))?,
                };
                if f.grouping {
                    match map.entry(key).or_insert_with(|| Value::List(Vec::new())) {
                        Value::List(items) => items.push(value),
                        _ => unreachable!("grouped values are lists"),
                    }
                } else if map.insert(key.clone(), value).is_some() {
                    return Err(err(
                        format!("duplicate key {key:?} in for-expression; use ... after the value to group"),
                        span,
                    ));
                }
            }
        }
        Ok(())
    }

    fn binary(
        &mut self,
        op: BinaryOp,
        a: &Expr,
        b: &Expr,
        span: Span,
    ) -> Result<Value, Diagnostic> {
        let l = self.eval(a)?;
        // && and || short-circuit on a known left side.
        match (op, as_bool(&l)) {
            (BinaryOp::And, Some(false)) => return Ok(Value::Bool(false)),
            (BinaryOp::Or, Some(true)) => return Ok(Value::Bool(true)),
            _ => {}
        }
        let r = self.eval(b)?;
        if l.is_unknown() || r.is_unknown() {
            return Ok(Value::Unknown);
        }
        let bool_of = |v: &Value, s: Span| {
            as_bool(v).ok_or_else(|| err(format!("expected bool, got {}", v.type_name()), s))
        };
        Ok(match op {
            BinaryOp::Eq => Value::Bool(values_equal(&l, &r)),
            BinaryOp::NotEq => Value::Bool(!values_equal(&l, &r)),
            BinaryOp::And => Value::Bool(bool_of(&l, a.span)? && bool_of(&r, b.span)?),
            BinaryOp::Or => Value::Bool(bool_of(&l, a.span)? || bool_of(&r, b.span)?),
            _ => {
                let (x, y) = (number(&l, a.span)?, number(&r, b.span)?);
                match op {
                    BinaryOp::Less => Value::Bool(x < y),
                    BinaryOp::LessEq => Value::Bool(x <= y),
                    BinaryOp::Greater => Value::Bool(x > y),
                    BinaryOp::GreaterEq => Value::Bool(x >= y),
                    BinaryOp::Plus => Value::Number(x + y),
                    BinaryOp::Minus => Value::Number(x - y),
                    BinaryOp::Mul => Value::Number(x * y),
                    BinaryOp::Div if y == 0.0 => return Err(err("division by zero", span)),
                    BinaryOp::Div => Value::Number(x / y),
                    BinaryOp::Mod if y == 0.0 => return Err(err("modulo by zero", span)),
                    BinaryOp::Mod => Value::Number(x % y),
                    _ => unreachable!("handled above"),
                }
            }
        })
    }

    fn call(
        &mut self,
        name: &str,
        args: &[Expr],
        expand_final: bool,
        span: Span,
    ) -> Result<Value, Diagnostic> {
        match name {
            "try" => {
                for a in args {
                    if let Ok(v) = self.eval(a) {
                        return Ok(v);
                    }
                }
                return Err(err(
                    "try: no argument could be evaluated without an error",
                    span,
                ));
            }
            "can" => {
                let [a] = args else {
                    return Err(err("can: expected 1 argument", span));
                };
                return Ok(Value::Bool(self.eval(a).is_ok()));
            }
            "templatestring" if !args.first().is_some_and(is_direct_reference) => {
                return Err(err(
                    "templatestring: invalid template expression: must be a direct reference to \
                     a single string from elsewhere (a variable, a local value, a resource \
                     attribute), containing valid template syntax; write a template expression \
                     directly as a string instead",
                    span,
                ));
            }
            "issensitive" if !expand_final => {
                let [a] = args else {
                    return Err(err(
                        format!(
                            "issensitive: expected 1 argument (value), got {}",
                            args.len()
                        ),
                        span,
                    ));
                };
                self.eval(a)?;
                return Ok(Value::Bool(self.scope.shows_sensitive(a)));
            }
            _ => {}
        }
        let mut values = Vec::with_capacity(args.len());
        for a in args {
            values.push(self.eval(a)?);
        }
        if expand_final {
            match values.pop() {
                Some(Value::List(items)) => values.extend(items),
                Some(Value::Unknown) => return Ok(Value::Unknown),
                Some(other) => {
                    return Err(err(
                        format!("{name}: ... needs a list, got {}", other.type_name()),
                        span,
                    ))
                }
                None => {}
            }
        }
        if name == "templatefile" {
            return self.templatefile(&values, span);
        }
        if name == "templatestring" {
            return self.templatestring(&values, span);
        }
        if let Some(d) = crate::validate::removed_function_error(name, span) {
            return Err(d);
        }
        if !functions::is_known_function(name) {
            let mut d = err(format!("unknown function \"{name}\""), span);
            if let Some(s) =
                crate::suggest::nearest(name, functions::function_names().iter().copied())
            {
                d = d.note(format!("help: did you mean \"{s}\"?"));
            }
            return Err(d);
        }
        let ctx = FuncContext {
            base_dir: self.scope.root_dir(),
            impure_unknown: self.scope.impure_unknown,
        };
        let value = functions::call(name, &values, &ctx).map_err(|e| err(e.0, span))?;
        // Functions bound what they build from small inputs; this catches
        // what a chain of them could still build from large ones.
        limits::check_value_size(&value).map_err(|m| err(format!("{name}: {m}"), span))?;
        self.charge_value(&value, span)?;
        Ok(value)
    }

    fn templatefile(&mut self, args: &[Value], span: Span) -> Result<Value, Diagnostic> {
        let (path, vars) = match args {
            [Value::String(p), Value::Map(v)] => (p, v),
            [Value::Unknown, _] | [_, Value::Unknown] => return Ok(Value::Unknown),
            _ => return Err(err("templatefile: expected (path, map of variables)", span)),
        };
        // As in Terraform: a template that renders templates (itself, or
        // two that call each other) would recurse without end.
        if self.in_template {
            return Err(err(
                format!("templatefile: cannot call templatefile({path:?}, ...) from inside a template rendered by templatefile"),
                span,
            ));
        }
        // Found as `file` finds files: `~` is the home directory.
        let full = functions::resolve_path(self.scope.root_dir(), path);
        let label = full.display().to_string();
        // Read no more than a string may hold: `/dev/zero` never ends.
        let bytes = functions::read_bounded(&full)
            .map_err(|e| err(format!("templatefile: cannot read {label}: {e}"), span))?;
        if bytes.len() > limits::MAX_STRING_LEN {
            return Err(err(
                format!(
                    "templatefile: {label} is larger than {} MiB",
                    limits::MAX_STRING_LEN >> 20
                ),
                span,
            ));
        }
        let text = String::from_utf8(bytes)
            .map(crate::diag::strip_bom)
            .map_err(|_| {
                err(
                    format!(
                        "templatefile: cannot read {label}: stream did not contain valid UTF-8"
                    ),
                    span,
                )
            })?;
        let context = format!("in template {path}");
        self.render_template("templatefile", &label, &context, &text, vars, span)
    }

    /// `templatestring(ref, vars)`: a string from elsewhere in the module
    /// (a file read with `file`, an object's body) rendered as a template,
    /// as Terraform 1.9 does.
    fn templatestring(&mut self, args: &[Value], span: Span) -> Result<Value, Diagnostic> {
        let (text, vars) = match args {
            [Value::String(t), Value::Map(v)] => (t, v),
            [Value::Unknown, _] | [_, Value::Unknown] => return Ok(Value::Unknown),
            [_, _] => {
                return Err(err(
                    "templatestring: expected a template string and a map of variables",
                    span,
                ))
            }
            _ => {
                return Err(err(
                    format!(
                        "templatestring: expected 2 arguments (template, vars), got {}",
                        args.len()
                    ),
                    span,
                ))
            }
        };
        if self.in_template {
            return Err(err(
                "templatestring: cannot render a template from inside a template rendered by \
                 templatefile or templatestring",
                span,
            ));
        }
        self.render_template(
            "templatestring",
            "the template",
            "in the template",
            text,
            vars,
            span,
        )
    }

    /// Renders template text with `vars` as its only variables; `label`
    /// names the template in messages about it, `context` prefixes errors
    /// from inside it.
    fn render_template(
        &mut self,
        func: &str,
        label: &str,
        context: &str,
        text: &str,
        vars: &BTreeMap<String, Value>,
        span: Span,
    ) -> Result<Value, Diagnostic> {
        if text.len() > limits::MAX_STRING_LEN {
            return Err(err(
                format!(
                    "{func}: {label} is larger than {} MiB",
                    limits::MAX_STRING_LEN >> 20
                ),
                span,
            ));
        }
        if crate::nesting::too_deep(
            text,
            crate::nesting::Start::Template,
            crate::nesting::MAX_NESTING,
        )
        .is_some()
        {
            return Err(err(
                format!("{func}: {label}: {}", crate::nesting::message()),
                span,
            ));
        }
        let template = hcl_edit::parser::parse_template(text).map_err(|e| {
            err(
                format!("{func}: {label} is not a valid template: {}", e.message()),
                span,
            )
        })?;
        // Spans inside the template point at the call site: the template
        // is not in the source map, so its offsets mean nothing there.
        let lower = crate::expr::Lowerer::at(span);
        let parts = crate::expr::lower_template_public(&lower, &template, span);
        let bindings = vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let mut inner = self.nested(self.scope, bindings);
        inner.in_template = true;
        let result = inner.template(&parts, span);
        self.steps = inner.steps;
        result
            .map(|v| match v {
                Value::String(_) | Value::Unknown => v,
                other => Value::String(other.to_template_string().unwrap_or_default()),
            })
            .map_err(|mut d| {
                d.message = format!("{context}: {}", d.message);
                d
            })
    }

    // ----- block bodies -----

    /// A diagnostic about `e` without any secret it could show; quoted parts
    /// of secrets are hidden too when `e` uses a sensitive variable.
    fn redact_for(&self, d: Diagnostic, e: &Expr) -> Diagnostic {
        if self.scope.config.variables.values().any(|v| v.sensitive) {
            self.scope.redact(d, self.scope.refers_to_sensitive(e))
        } else {
            d
        }
    }

    fn eval_body(&mut self, body: &Body, schema: &BlockSchema) -> Result<Value, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut out = BTreeMap::new();
        for attr in &schema.attrs {
            let value = match body.attr(attr.name) {
                Some(a) => match self.eval(&a.expr) {
                    Ok(v) => match check_attr(&v, attr) {
                        Ok(v) => v,
                        Err(msg) => {
                            let d = err(
                                format!("invalid value for \"{}\": {msg}", attr.name),
                                a.expr.span,
                            );
                            diags.push(self.redact_for(d, &a.expr));
                            Value::Null
                        }
                    },
                    Err(d) => {
                        diags.push(self.redact_for(d, &a.expr));
                        Value::Null
                    }
                },
                None => attr.default.clone().unwrap_or(Value::Null),
            };
            if attr.presence != Presence::Computed || !value.is_null() {
                out.insert(attr.name.to_string(), value);
            }
        }
        for block in &schema.blocks {
            match self.eval_nested(body, block) {
                Ok(v) => {
                    out.insert(block.name.to_string(), v);
                }
                Err(mut d) => diags.append(&mut d),
            }
        }
        // Deprecated arguments become their modern form.
        for u in &schema.upgrades {
            let Some(a) = body.attr(u.attr.name) else {
                continue;
            };
            match self.eval(&a.expr).and_then(|v| {
                check_attr(&v, &u.attr).map_err(|msg| {
                    err(
                        format!("invalid value for \"{}\": {msg}", u.attr.name),
                        a.expr.span,
                    )
                })
            }) {
                Ok(v) if !v.is_null() => (u.apply)(v, &mut out),
                Ok(_) => {}
                Err(d) => diags.push(self.redact_for(d, &a.expr)),
            }
        }
        if diags.is_empty() {
            Ok(Value::Map(out))
        } else {
            Err(diags)
        }
    }

    /// The blocks of one kind, static and dynamic, as a list of objects;
    /// `Value::Null` when the user wrote none and the block is computed.
    fn eval_nested(&mut self, body: &Body, schema: &BlockSchema) -> Result<Value, Vec<Diagnostic>> {
        let mut items = Vec::new();
        let mut diags = Vec::new();
        let mut wrote_any = false;
        // `ingress = [{ ... }]`: the blocks written as one argument, a list
        // of objects (Terraform's attributes-as-blocks; `ingress = []`
        // says there are none, where leaving it out leaves them alone).
        if let Some(a) = body.attr(schema.name) {
            match self.eval(&a.expr) {
                Ok(Value::Null) => {}
                Ok(Value::Unknown) => return Ok(Value::Unknown),
                Ok(v) => {
                    wrote_any = true;
                    match blocks_from_value(&v, schema) {
                        Ok(mut v) => items.append(&mut v),
                        Err(msg) => {
                            let d = err(
                                format!("invalid value for \"{}\": {msg}", a.name),
                                a.expr.span,
                            );
                            diags.push(self.redact_for(d, &a.expr));
                        }
                    }
                }
                Err(d) => diags.push(self.redact_for(d, &a.expr)),
            }
        }
        for nb in &body.blocks {
            if nb.kind == schema.name {
                wrote_any = true;
                match self.eval_body(&nb.body, schema) {
                    Ok(v) => items.push(v),
                    Err(mut d) => diags.append(&mut d),
                }
            } else if nb.kind == "dynamic"
                && nb.labels.first().map(String::as_str) == Some(schema.name)
            {
                wrote_any = true;
                match self.eval_dynamic(nb, schema) {
                    Ok(Some(mut v)) => items.append(&mut v),
                    Ok(None) => return Ok(Value::Unknown),
                    Err(mut d) => diags.append(&mut d),
                }
            }
        }
        if !diags.is_empty() {
            return Err(diags);
        }
        if !wrote_any && schema.computed_when_absent {
            return Ok(Value::Null);
        }
        if schema.nesting == Nesting::Set {
            crate::convert::sort_set(&mut items);
        }
        Ok(Value::List(items))
    }

    fn eval_dynamic(
        &mut self,
        nb: &crate::config::NestedBlock,
        schema: &BlockSchema,
    ) -> Result<Option<Vec<Value>>, Vec<Diagnostic>> {
        let for_each = nb
            .body
            .attr("for_each")
            .ok_or_else(|| vec![err("dynamic block needs for_each", nb.span)])?;
        let iterator = match nb.body.attr("iterator") {
            Some(a) => match &a.expr.kind {
                ExprKind::Variable(n) => n.clone(),
                _ => return Err(vec![err("iterator must be a name", a.expr.span)]),
            },
            None => schema.name.to_string(),
        };
        let content = nb
            .body
            .blocks
            .iter()
            .find(|b| b.kind == "content")
            .ok_or_else(|| vec![err("dynamic block needs a content block", nb.span)])?;
        let coll = self.eval(&for_each.expr).map_err(|d| vec![d])?;
        let Some(pairs) = iterate(&coll, for_each.expr.span).map_err(|d| vec![d])? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for (k, v) in pairs {
            self.bindings
                .push((iterator.clone(), Value::map([("key", k), ("value", v)])));
            let r = self.eval_body(&content.body, schema);
            self.bindings.pop();
            out.push(r?);
        }
        Ok(Some(out))
    }
}

/// Blocks written as an argument's value (a list of objects, or one object
/// for a single block), each checked against the block's schema as a
/// written block is: unknown keys are errors, missing ones take their
/// default.
fn blocks_from_value(v: &Value, schema: &BlockSchema) -> Result<Vec<Value>, String> {
    let items: Vec<&Value> = match v {
        Value::List(items) => items.iter().collect(),
        Value::Map(_) if schema.max_items == Some(1) => vec![v],
        _ => return Err("expected a list of objects".into()),
    };
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        let Value::Map(fields) = item else {
            return Err(format!("item {i} is not an object"));
        };
        if let Some(k) = fields.keys().find(|k| {
            schema
                .find_attr(k)
                .is_none_or(|a| a.presence == Presence::Computed)
                && schema.find_block(k).is_none()
        }) {
            return Err(format!("item {i} has an unknown key \"{k}\""));
        }
        let mut block = BTreeMap::new();
        for attr in &schema.attrs {
            if attr.presence == Presence::Computed {
                continue;
            }
            let value = match fields.get(attr.name) {
                Some(v) if !v.is_null() => check_attr(v, attr)
                    .map_err(|msg| format!("item {i}, \"{}\": {msg}", attr.name))?,
                _ => attr.default.clone().unwrap_or(Value::Null),
            };
            if attr.presence == Presence::Required && value.is_null() {
                return Err(format!("item {i} has no \"{}\"", attr.name));
            }
            block.insert(attr.name.to_string(), value);
        }
        for nested in &schema.blocks {
            let value = match fields.get(nested.name) {
                None | Some(Value::Null) => Value::List(Vec::new()),
                Some(Value::Unknown) => Value::Unknown,
                Some(v) => Value::List(
                    blocks_from_value(v, nested)
                        .map_err(|msg| format!("item {i}, \"{}\": {msg}", nested.name))?,
                ),
            };
            block.insert(nested.name.to_string(), value);
        }
        out.push(Value::Map(block));
    }
    Ok(out)
}

/// Converts an argument to its schema type and runs its checks.
fn check_attr(v: &Value, attr: &AttrSchema) -> Result<Value, String> {
    let v = convert(v, &TypeExpr::from_attr(&attr.ty))?;
    if v.is_wholly_known() && !v.is_null() {
        for check in &attr.checks {
            run_check(&v, check)?;
        }
    }
    Ok(v)
}

fn run_check(v: &Value, check: &Check) -> Result<(), String> {
    match (check, v) {
        (Check::Ipv4Cidr, Value::String(s)) => functions::parse_ipv4_cidr(s).map(|_| ()),
        (Check::OneOf(options), Value::String(s)) => {
            if options.contains(&s.as_str()) {
                Ok(())
            } else {
                Err(format!("{s:?} is not one of {}", options.join(", ")))
            }
        }
        (Check::Range(lo, hi), Value::Number(n)) => {
            if (*lo as f64..=*hi as f64).contains(n) {
                Ok(())
            } else {
                Err(format!("{n} is not between {lo} and {hi}"))
            }
        }
        (Check::Ranges(ranges), Value::Number(n)) => {
            if ranges
                .iter()
                .any(|(lo, hi)| (*lo as f64..=*hi as f64).contains(n))
            {
                Ok(())
            } else {
                let allowed: Vec<String> = ranges
                    .iter()
                    .map(|(lo, hi)| match lo == hi {
                        true => lo.to_string(),
                        false => format!("{lo} to {hi}"),
                    })
                    .collect();
                Err(format!("{n} is not {}", allowed.join(" or ")))
            }
        }
        _ => Ok(()),
    }
}

fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) if s == "true" => Some(true),
        Value::String(s) if s == "false" => Some(false),
        _ => None,
    }
}

fn number(v: &Value, span: Span) -> Result<f64, Diagnostic> {
    match v {
        Value::Number(n) => Ok(*n),
        Value::String(s) => s
            .trim()
            .parse()
            .map_err(|_| err(format!("expected a number, got string {s:?}"), span)),
        other => Err(err(
            format!("expected a number, got {}", other.type_name()),
            span,
        )),
    }
}

/// Renders `text` as a template (`${...}`, `%{ if }`, `%{ for }`, the
/// built-in functions) with `vars` as its only names, outside any spec:
/// for a provider that renders templates itself (the template provider's
/// `template_file`). The same evaluator and bounds as `templatestring`;
/// no resource, variable or local is in scope, and relative paths
/// (`file("x")`) are read against `dir`. The result is always a string.
pub fn render_template_text(
    text: &str,
    vars: &BTreeMap<String, Value>,
    dir: &std::path::Path,
) -> Result<String, String> {
    /// Nothing outside the template exists.
    struct NoResources;
    impl Resolver for NoResources {
        fn resource(&self, _: Mode, _: &str, _: &str) -> Option<Value> {
            None
        }
    }
    let config = Config {
        dir: dir.to_path_buf(),
        ..Config::default()
    };
    let no_vars = BTreeMap::new();
    let locals = LocalCache::default();
    let scope = Scope::new(&config, &no_vars, &NoResources, &locals);
    let span = Span::default();
    match Evaluator::new(&scope).render_template(
        "template",
        "the template",
        "in the template",
        text,
        vars,
        span,
    ) {
        Ok(Value::String(s)) => Ok(s),
        Ok(Value::Unknown) => Err("the template's result is not known".into()),
        Ok(other) => Ok(other.to_template_string().unwrap_or_default()),
        Err(d) => Err(d.message),
    }
}

/// Equality as HCL defines it: numbers by value, collections deeply.
pub fn values_equal(a: &Value, b: &Value) -> bool {
    a == b
}

fn get_attr(v: &Value, name: &str, span: Span) -> Result<Value, Diagnostic> {
    match v {
        Value::Map(m) => m.get(name).cloned().ok_or_else(|| {
            let mut d = err(format!("this object has no attribute \"{name}\""), span);
            if let Some(s) = crate::suggest::nearest(name, m.keys().map(String::as_str)) {
                d = d.note(format!("help: did you mean \"{s}\"?"));
            }
            d
        }),
        Value::Null => Err(err(
            format!("cannot read attribute \"{name}\" of a null value"),
            span,
        )),
        Value::List(_) => Err(err(
            format!(
                "cannot read attribute \"{name}\" of a list; index it first, or use [*].{name}"
            ),
            span,
        )),
        other => Err(err(
            format!(
                "cannot read attribute \"{name}\" of a {}",
                other.type_name()
            ),
            span,
        )),
    }
}

fn index(v: &Value, key: &Value, span: Span) -> Result<Value, Diagnostic> {
    if key.is_unknown() {
        return Ok(Value::Unknown);
    }
    match v {
        Value::List(items) => {
            let i = match key {
                Value::Number(_) => key.as_i64(),
                Value::String(s) => s.parse().ok(),
                _ => None,
            }
            .ok_or_else(|| {
                err(
                    format!(
                        "a list index must be a whole number, got {}",
                        key.type_name()
                    ),
                    span,
                )
            })?;
            usize::try_from(i)
                .ok()
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| {
                    err(
                        format!(
                            "index {i} is out of range for a list of {} elements",
                            items.len()
                        ),
                        span,
                    )
                })
        }
        Value::Map(m) => {
            let k = key.to_template_string().ok_or_else(|| {
                err(
                    format!("a map key must be a string, got {}", key.type_name()),
                    span,
                )
            })?;
            m.get(&k).cloned().ok_or_else(|| {
                let mut d = err(format!("no element with key {k:?}"), span);
                if let Some(s) = crate::suggest::nearest(&k, m.keys().map(String::as_str)) {
                    d = d.note(format!("help: did you mean {s:?}?"));
                }
                d
            })
        }
        Value::Null => Err(err("cannot index a null value", span)),
        other => Err(err(format!("cannot index a {}", other.type_name()), span)),
    }
}

/// The (key, value) pairs a for-expression or for_each iterates; `None` when unknown.
pub fn iterate(v: &Value, span: Span) -> Result<Option<Vec<(Value, Value)>>, Diagnostic> {
    match v {
        Value::Unknown => Ok(None),
        Value::List(items) => Ok(Some(
            items
                .iter()
                .enumerate()
                .map(|(i, x)| (Value::from(i as i64), x.clone()))
                .collect(),
        )),
        Value::Map(m) => Ok(Some(
            m.iter()
                .map(|(k, x)| (Value::from(k.as_str()), x.clone()))
                .collect(),
        )),
        Value::Null => Err(err("cannot iterate over a null value", span)),
        other => Err(err(
            format!("cannot iterate over a {}", other.type_name()),
            span,
        )),
    }
}

#[cfg(test)]
mod tests;
