//! Evaluates expressions and block bodies to values, with unknowns for
//! whatever is only known after apply. Pure: resource values come from a
//! [`Resolver`] the engine supplies.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use crate::config::{Body, Config};
use crate::convert::{convert, TypeExpr};
use crate::diag::{Diagnostic, Span};
use crate::expr::{
    BinaryOp, Expr, ExprKind, ObjectKey, OpKind, TemplatePart, TraversalOp, UnaryOp,
};
use crate::functions::{self, FuncContext};
use crate::schema::{AttrSchema, BlockSchema, Check, Mode, Nesting, Presence};
use crate::value::Value;

/// Supplies the values of resources and data sources.
pub trait Resolver {
    /// The value of a whole block: an object for a single instance, a list
    /// for `count`, a map for `for_each`; `Value::Unknown` when not known yet.
    /// `None` when no such block exists.
    fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<Value>;
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
        }
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

    /// Evaluates an expression.
    pub fn eval(&self, e: &Expr) -> Result<Value, Diagnostic> {
        Evaluator {
            scope: self,
            bindings: Vec::new(),
        }
        .eval(e)
    }

    /// Evaluates a block body against its schema: arguments converted to
    /// their types and checked, unset ones given their defaults, nested and
    /// `dynamic` blocks expanded into lists of objects. Returns every problem.
    pub fn eval_body(&self, body: &Body, schema: &BlockSchema) -> Result<Value, Vec<Diagnostic>> {
        let mut ev = Evaluator {
            scope: self,
            bindings: Vec::new(),
        };
        ev.eval_body(body, schema)
    }
}

struct Evaluator<'s, 'a> {
    scope: &'s Scope<'a>,
    /// Names bound by for-expressions and dynamic-block iterators, innermost last.
    bindings: Vec<(String, Value)>,
}

fn err(message: impl Into<String>, span: Span) -> Diagnostic {
    Diagnostic::error(message, Some(span))
}

impl Evaluator<'_, '_> {
    fn eval(&mut self, e: &Expr) -> Result<Value, Diagnostic> {
        match &e.kind {
            ExprKind::Literal(v) => Ok(v.clone()),
            ExprKind::Template(parts) => self.template(parts),
            ExprKind::Tuple(items) => items
                .iter()
                .map(|i| self.eval(i))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            ExprKind::Object(items) => {
                let mut map = BTreeMap::new();
                for (k, v) in items {
                    let key = match k {
                        ObjectKey::Ident(name, _) => name.clone(),
                        ObjectKey::Expr(k) => match self.eval(k)? {
                            Value::Unknown => return Ok(Value::Unknown),
                            other => other.to_template_string().ok_or_else(|| {
                                err(
                                    format!(
                                        "object key must be a string, got {}",
                                        other.type_name()
                                    ),
                                    k.span,
                                )
                            })?,
                        },
                    };
                    map.insert(key, self.eval(v)?);
                }
                Ok(Value::Map(map))
            }
            ExprKind::Variable(name) => self.variable(name, e.span),
            ExprKind::Traversal(base, ops) => self.traversal(base, ops, e.span),
            ExprKind::Call {
                name,
                args,
                expand_final,
            } => self.call(name, args, *expand_final, e.span),
            ExprKind::Conditional(c, t, f) => match self.eval(c)? {
                Value::Unknown => Ok(Value::Unknown),
                v => match as_bool(&v) {
                    Some(true) => self.eval(t),
                    Some(false) => self.eval(f),
                    None => Err(err(
                        format!("condition must be a bool, got {}", v.type_name()),
                        c.span,
                    )),
                },
            },
            ExprKind::Unary(op, a) => {
                let v = self.eval(a)?;
                match (op, &v) {
                    (_, Value::Unknown) => Ok(Value::Unknown),
                    (UnaryOp::Neg, _) => Ok(Value::Number(-number(&v, a.span)?)),
                    (UnaryOp::Not, _) => as_bool(&v).map(|b| Value::Bool(!b)).ok_or_else(|| {
                        err(format!("! needs a bool, got {}", v.type_name()), a.span)
                    }),
                }
            }
            ExprKind::Binary(op, a, b) => self.binary(*op, a, b, e.span),
            ExprKind::For(f) => self.for_expr(f, e.span),
            ExprKind::Parenthesis(inner) => self.eval(inner),
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
        if let Some(v) = self.lookup_binding(name) {
            return Ok(v.clone());
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
                let dir = std::fs::canonicalize(&self.scope.config.dir)
                    .unwrap_or_else(|_| self.scope.config.dir.clone())
                    .display()
                    .to_string();
                let cwd = std::env::current_dir()
                    .map(|d| d.display().to_string())
                    .unwrap_or_else(|_| ".".into());
                Ok(Value::map([
                    ("module", Value::from(dir.clone())),
                    ("root", Value::from(dir)),
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
                        let v = self.scope.vars.get(name).cloned().ok_or_else(|| {
                            err(format!("variable \"{name}\" is not declared"), span)
                        })?;
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
                        (self.resource(Mode::Data, t, n, span)?, 2)
                    }
                    "each" | "count" | "path" | "terraform" | "self" => {
                        (self.variable(root, base.span)?, 0)
                    }
                    "module" => return Err(err("module outputs are not supported yet", span)),
                    type_name => {
                        let name = attr(0).ok_or_else(|| {
                            err(format!("\"{type_name}\" is not defined; a resource reference is TYPE.NAME"), span)
                        })?;
                        (self.resource(Mode::Managed, type_name, name, span)?, 1)
                    }
                };
                return self.apply_ops(value, &ops[used..]);
            }
        }
        let value = self.eval(base)?;
        self.apply_ops(value, ops)
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
        if let Some(v) = self.scope.locals.values.borrow().get(name) {
            return Ok(v.clone());
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
        // Locals see no for-expression bindings of the place that uses them.
        let mut inner = Evaluator {
            scope: self.scope,
            bindings: Vec::new(),
        };
        let inner_scope_each = inner.scope.each.is_some() || inner.scope.count_index.is_some();
        let result = if inner_scope_each {
            let plain = Scope {
                each: None,
                count_index: None,
                self_value: None,
                ..*self.scope
            };
            Evaluator {
                scope: &plain,
                bindings: Vec::new(),
            }
            .eval(&local.expr)
        } else {
            inner.eval(&local.expr)
        };
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
                    let out = items
                        .into_iter()
                        .map(|item| self.apply_ops(item, rest))
                        .collect::<Result<Vec<_>, _>>()?;
                    return Ok(Value::List(out));
                }
            };
        }
        Ok(value)
    }

    fn template(&mut self, parts: &[TemplatePart]) -> Result<Value, Diagnostic> {
        if let [TemplatePart::Interpolation(e)] = parts {
            return self.eval(e);
        }
        let mut out = String::new();
        if self.template_into(parts, &mut out)? {
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
    ) -> Result<bool, Diagnostic> {
        for part in parts {
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
                        if !self.template_into(branch, out)? {
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
                        let depth = self.bindings.len();
                        if let Some(kv) = key_var {
                            self.bindings.push((kv.clone(), k));
                        }
                        self.bindings.push((value_var.clone(), v));
                        let ok = self.template_into(body, out);
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
            _ => {}
        }
        let mut values = args
            .iter()
            .map(|a| self.eval(a))
            .collect::<Result<Vec<_>, _>>()?;
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
            base_dir: &self.scope.config.dir,
        };
        functions::call(name, &values, &ctx).map_err(|e| err(e.0, span))
    }

    fn templatefile(&mut self, args: &[Value], span: Span) -> Result<Value, Diagnostic> {
        let (path, vars) = match args {
            [Value::String(p), Value::Map(v)] => (p, v),
            [Value::Unknown, _] | [_, Value::Unknown] => return Ok(Value::Unknown),
            _ => return Err(err("templatefile: expected (path, map of variables)", span)),
        };
        let full = self.scope.config.dir.join(Path::new(path));
        let text = std::fs::read_to_string(&full).map_err(|e| {
            err(
                format!("templatefile: cannot read {}: {e}", full.display()),
                span,
            )
        })?;
        let template = hcl_edit::parser::parse_template(&text).map_err(|e| {
            err(
                format!(
                    "templatefile: {} is not a valid template: {}",
                    full.display(),
                    e.message()
                ),
                span,
            )
        })?;
        let lower = crate::expr::Lowerer { file: span.file };
        // Spans inside the template file point at the call site: the file is not in the source map.
        let parts = crate::expr::lower_template_public(&lower, &template, span);
        let mut inner = Evaluator {
            scope: self.scope,
            bindings: vars.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        };
        inner.template(&parts).map(|v| match v {
            Value::String(_) | Value::Unknown => v,
            other => Value::String(other.to_template_string().unwrap_or_default()),
        })
    }

    // ----- block bodies -----

    fn eval_body(&mut self, body: &Body, schema: &BlockSchema) -> Result<Value, Vec<Diagnostic>> {
        let mut diags = Vec::new();
        let mut out = BTreeMap::new();
        for attr in &schema.attrs {
            let value = match body.attr(attr.name) {
                Some(a) => match self.eval(&a.expr) {
                    Ok(v) => match check_attr(&v, attr) {
                        Ok(v) => v,
                        Err(msg) => {
                            diags.push(err(
                                format!("invalid value for \"{}\": {msg}", attr.name),
                                a.expr.span,
                            ));
                            Value::Null
                        }
                    },
                    Err(d) => {
                        diags.push(d);
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
