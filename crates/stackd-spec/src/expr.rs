//! The expression tree stackd evaluates, lowered from hcl-edit's syntax tree
//! with a span on every node so any evaluation error points at its source.

use hcl_edit::expr as hx;
use hcl_edit::template as ht;
use hcl_edit::Span as _;

use crate::diag::{FileId, Span};
use crate::value::Value;

/// An expression with its source span.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub kind: ExprKind,
    pub span: Span,
}

/// The kinds of expression HCL has.
#[derive(Clone, Debug, PartialEq)]
pub enum ExprKind {
    Literal(Value),
    /// A string template or heredoc.
    Template(Vec<TemplatePart>),
    Tuple(Vec<Expr>),
    Object(Vec<(ObjectKey, Expr)>),
    /// A bare name: `var`, `aws_vpc`, `each`, or a for-expression variable.
    Variable(String),
    /// `expr.attr`, `expr[index]`, `expr[*].attr`.
    Traversal(Box<Expr>, Vec<TraversalOp>),
    Call {
        name: String,
        args: Vec<Expr>,
        /// `f(list...)`: the last argument is expanded.
        expand_final: bool,
    },
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    For(Box<ForExpr>),
    Parenthesis(Box<Expr>),
}

/// An object key: a bare identifier is a literal string key.
#[derive(Clone, Debug, PartialEq)]
pub enum ObjectKey {
    Ident(String, Span),
    Expr(Expr),
}

/// One step of a traversal.
#[derive(Clone, Debug, PartialEq)]
pub struct TraversalOp {
    pub kind: OpKind,
    pub span: Span,
}

#[derive(Clone, Debug, PartialEq)]
pub enum OpKind {
    GetAttr(String),
    Index(Expr),
    /// `[*]` and `.*`: the rest of the traversal applies to each element.
    Splat,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Neg,
    Not,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Eq,
    NotEq,
    Less,
    LessEq,
    Greater,
    GreaterEq,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    And,
    Or,
}

/// `[for k, v in coll : expr if cond]` and `{for k, v in coll : k => v...}`.
#[derive(Clone, Debug, PartialEq)]
pub struct ForExpr {
    pub key_var: Option<String>,
    pub value_var: String,
    pub collection: Expr,
    /// Present for object results.
    pub key_expr: Option<Expr>,
    pub value_expr: Expr,
    /// `...`: group values with the same key into lists.
    pub grouping: bool,
    pub cond: Option<Expr>,
}

/// A piece of a string template.
#[derive(Clone, Debug, PartialEq)]
pub enum TemplatePart {
    Literal(String),
    Interpolation(Expr),
    If {
        cond: Expr,
        then: Vec<TemplatePart>,
        otherwise: Vec<TemplatePart>,
    },
    For {
        key_var: Option<String>,
        value_var: String,
        collection: Expr,
        body: Vec<TemplatePart>,
    },
}

/// Converts hcl-edit syntax into [`Expr`], keeping spans.
///
/// Recursion here follows the syntax tree, whose depth hcl-edit bounds (64
/// nested levels, 128 chained binary operators; deeper input is a syntax
/// error), so lowering, walking and dropping an [`Expr`] stay shallow.
pub struct Lowerer {
    file: FileId,
    /// Every node gets this span: the text is not in the source map (a
    /// template file, a `--var` value), so its offsets mean nothing there.
    fixed: Option<Span>,
}

impl Lowerer {
    /// Lowers text of `file`, with spans into it.
    pub fn new(file: FileId) -> Lowerer {
        Lowerer { file, fixed: None }
    }

    /// Lowers text that is not in the source map; every node points at `span`.
    pub fn at(span: Span) -> Lowerer {
        Lowerer {
            file: span.file,
            fixed: Some(span),
        }
    }

    fn span_of(&self, range: Option<std::ops::Range<usize>>, fallback: Span) -> Span {
        if let Some(span) = self.fixed {
            return span;
        }
        range.map(|r| Span::new(self.file, r)).unwrap_or(fallback)
    }

    pub fn lower(&self, e: &hx::Expression, parent: Span) -> Expr {
        let span = self.span_of(e.span(), parent);
        let kind = match e {
            hx::Expression::Null(_) => ExprKind::Literal(Value::Null),
            hx::Expression::Bool(b) => ExprKind::Literal(Value::Bool(*b.value())),
            hx::Expression::Number(n) => {
                ExprKind::Literal(Value::Number(n.value().as_f64().unwrap_or(f64::NAN)))
            }
            hx::Expression::String(s) => ExprKind::Literal(Value::String(s.value().clone())),
            hx::Expression::Array(a) => {
                ExprKind::Tuple(a.iter().map(|x| self.lower(x, span)).collect())
            }
            hx::Expression::Object(o) => ExprKind::Object(
                o.iter()
                    .map(|(k, v)| (self.lower_key(k, span), self.lower(v.expr(), span)))
                    .collect(),
            ),
            hx::Expression::StringTemplate(t) => {
                let parts = self.lower_elements(t.iter(), span);
                simplify_template(parts)
            }
            hx::Expression::HeredocTemplate(h) => {
                let parts = self.lower_elements(h.template.iter(), span);
                simplify_template(parts)
            }
            hx::Expression::Parenthesis(p) => {
                ExprKind::Parenthesis(Box::new(self.lower(p.inner(), span)))
            }
            hx::Expression::Variable(v) => ExprKind::Variable(v.value().as_str().to_string()),
            hx::Expression::Conditional(c) => ExprKind::Conditional(
                Box::new(self.lower(&c.cond_expr, span)),
                Box::new(self.lower(&c.true_expr, span)),
                Box::new(self.lower(&c.false_expr, span)),
            ),
            hx::Expression::FuncCall(f) => {
                let mut name = String::new();
                for ns in &f.name.namespace {
                    name.push_str(ns.value().as_str());
                    name.push_str("::");
                }
                name.push_str(f.name.name.value().as_str());
                ExprKind::Call {
                    name,
                    args: f.args.iter().map(|a| self.lower(a, span)).collect(),
                    expand_final: f.args.expand_final(),
                }
            }
            hx::Expression::Traversal(t) => {
                let base = self.lower(&t.expr, span);
                let ops = t
                    .operators
                    .iter()
                    .map(|op| self.lower_op(op, span))
                    .collect();
                ExprKind::Traversal(Box::new(base), ops)
            }
            hx::Expression::UnaryOp(u) => {
                let op = match u.operator.value() {
                    hx::UnaryOperator::Neg => UnaryOp::Neg,
                    hx::UnaryOperator::Not => UnaryOp::Not,
                };
                ExprKind::Unary(op, Box::new(self.lower(&u.expr, span)))
            }
            hx::Expression::BinaryOp(b) => {
                use hx::BinaryOperator as B;
                let op = match b.operator.value() {
                    B::Eq => BinaryOp::Eq,
                    B::NotEq => BinaryOp::NotEq,
                    B::LessEq => BinaryOp::LessEq,
                    B::GreaterEq => BinaryOp::GreaterEq,
                    B::Less => BinaryOp::Less,
                    B::Greater => BinaryOp::Greater,
                    B::Plus => BinaryOp::Plus,
                    B::Minus => BinaryOp::Minus,
                    B::Mul => BinaryOp::Mul,
                    B::Div => BinaryOp::Div,
                    B::Mod => BinaryOp::Mod,
                    B::And => BinaryOp::And,
                    B::Or => BinaryOp::Or,
                };
                ExprKind::Binary(
                    op,
                    Box::new(self.lower(&b.lhs_expr, span)),
                    Box::new(self.lower(&b.rhs_expr, span)),
                )
            }
            hx::Expression::ForExpr(f) => ExprKind::For(Box::new(ForExpr {
                key_var: f
                    .intro
                    .key_var
                    .as_ref()
                    .map(|k| k.value().as_str().to_string()),
                value_var: f.intro.value_var.value().as_str().to_string(),
                collection: self.lower(&f.intro.collection_expr, span),
                key_expr: f.key_expr.as_ref().map(|k| self.lower(k, span)),
                value_expr: self.lower(&f.value_expr, span),
                grouping: f.grouping,
                cond: f.cond.as_ref().map(|c| self.lower(&c.expr, span)),
            })),
        };
        Expr { kind, span }
    }

    fn lower_key(&self, k: &hx::ObjectKey, parent: Span) -> ObjectKey {
        match k {
            hx::ObjectKey::Ident(id) => ObjectKey::Ident(
                id.value().as_str().to_string(),
                self.span_of(id.span(), parent),
            ),
            hx::ObjectKey::Expression(e) => {
                let lowered = self.lower(e, parent);
                // `{ name = 1 }` parses a bare word as a variable expression
                // in some positions; HCL treats it as a literal key.
                match lowered.kind {
                    ExprKind::Variable(name) => ObjectKey::Ident(name, lowered.span),
                    _ => ObjectKey::Expr(lowered),
                }
            }
        }
    }

    fn lower_op(
        &self,
        op: &hcl_edit::Decorated<hx::TraversalOperator>,
        parent: Span,
    ) -> TraversalOp {
        let span = self.span_of(op.span(), parent);
        let kind = match op.value() {
            hx::TraversalOperator::AttrSplat(_) | hx::TraversalOperator::FullSplat(_) => {
                OpKind::Splat
            }
            hx::TraversalOperator::GetAttr(id) => OpKind::GetAttr(id.value().as_str().to_string()),
            hx::TraversalOperator::Index(e) => OpKind::Index(self.lower(e, span)),
            hx::TraversalOperator::LegacyIndex(i) => OpKind::Index(Expr {
                kind: ExprKind::Literal(Value::Number(*i.value() as f64)),
                span,
            }),
        };
        TraversalOp { kind, span }
    }

    fn lower_elements<'a>(
        &self,
        elements: impl Iterator<Item = &'a ht::Element>,
        parent: Span,
    ) -> Vec<TemplatePart> {
        let mut parts = Vec::new();
        for el in elements {
            match el {
                ht::Element::Literal(s) => parts.push(TemplatePart::Literal(s.value().clone())),
                ht::Element::Interpolation(i) => {
                    parts.push(TemplatePart::Interpolation(self.lower(&i.expr, parent)))
                }
                ht::Element::Directive(d) => match d.as_ref() {
                    ht::Directive::If(dir) => parts.push(TemplatePart::If {
                        cond: self.lower(&dir.if_expr.cond_expr, parent),
                        then: self.lower_elements(dir.if_expr.template.iter(), parent),
                        otherwise: dir
                            .else_expr
                            .as_ref()
                            .map(|e| self.lower_elements(e.template.iter(), parent))
                            .unwrap_or_default(),
                    }),
                    ht::Directive::For(dir) => parts.push(TemplatePart::For {
                        key_var: dir
                            .for_expr
                            .key_var
                            .as_ref()
                            .map(|k| k.value().as_str().to_string()),
                        value_var: dir.for_expr.value_var.value().as_str().to_string(),
                        collection: self.lower(&dir.for_expr.collection_expr, parent),
                        body: self.lower_elements(dir.for_expr.template.iter(), parent),
                    }),
                },
            }
        }
        parts
    }
}

/// Lowers a parsed template (from `templatefile`) into template parts.
pub fn lower_template_public(l: &Lowerer, t: &ht::Template, span: Span) -> Vec<TemplatePart> {
    l.lower_elements(t.iter(), span)
}

/// A template that is one literal is a plain string; one lone interpolation
/// (`"${x}"`) keeps the interpolated value's type, as HCL specifies.
fn simplify_template(parts: Vec<TemplatePart>) -> ExprKind {
    match parts.as_slice() {
        [] => ExprKind::Literal(Value::String(String::new())),
        [TemplatePart::Literal(s)] => ExprKind::Literal(Value::String(s.clone())),
        _ => ExprKind::Template(parts),
    }
}

/// What a reference in an expression points at.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RefTarget {
    Var(String),
    Local(String),
    /// A managed resource or data source block, by mode, type and name.
    Resource(crate::schema::Mode, String, String),
    Module(String),
    /// `each`, with the attribute read (`key`, `value`) if any.
    Each(Option<String>),
    /// `count`, with the attribute read (`index`) if any.
    Count(Option<String>),
    Path,
    SelfRef,
    Terraform,
    /// A root name that means nothing (an error unless bound by `for`).
    Unknown(String),
}

/// A reference found in an expression, with the span of the traversal.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    pub target: RefTarget,
    /// For a resource or data source, the attribute read from it (after
    /// any index or splat), for a module the output; `None` when the whole
    /// object is used.
    pub attribute: Option<String>,
    /// For a resource or data source, the index right after its name
    /// (`aws_subnet.a[count.index]`): which instance is read, when it can be
    /// told apart from the others.
    pub index: Option<Box<Expr>>,
    pub span: Span,
}

impl Expr {
    /// Every reference this expression makes, skipping names bound by
    /// enclosing for-expressions (and by `bound`, e.g. a dynamic block's iterator).
    pub fn references(&self, bound: &[String]) -> Vec<Reference> {
        let mut out = Vec::new();
        let mut scope: Vec<String> = bound.to_vec();
        collect_refs(self, &mut scope, &mut out, false);
        out
    }

    /// Every function call in this expression, outermost first, as
    /// `(name, span of the call)`.
    pub fn calls(&self) -> Vec<(String, Span)> {
        let mut out = Vec::new();
        let mut work: Vec<&Expr> = vec![self];
        while let Some(e) = work.pop() {
            match &e.kind {
                ExprKind::Literal(_) | ExprKind::Variable(_) => {}
                ExprKind::Template(parts) => template_exprs(parts, &mut work),
                ExprKind::Tuple(items) => work.extend(items.iter()),
                ExprKind::Object(items) => {
                    for (k, v) in items {
                        if let ObjectKey::Expr(k) = k {
                            work.push(k);
                        }
                        work.push(v);
                    }
                }
                ExprKind::Traversal(base, ops) => {
                    work.push(base);
                    for op in ops {
                        if let OpKind::Index(i) = &op.kind {
                            work.push(i);
                        }
                    }
                }
                ExprKind::Call { name, args, .. } => {
                    out.push((name.clone(), e.span));
                    work.extend(args.iter());
                }
                ExprKind::Conditional(a, b, c) => work.extend([&**a, &**b, &**c]),
                ExprKind::Unary(_, a) | ExprKind::Parenthesis(a) => work.push(a),
                ExprKind::Binary(_, a, b) => work.extend([&**a, &**b]),
                ExprKind::For(f) => {
                    work.extend([&f.collection, &f.value_expr]);
                    work.extend(f.key_expr.iter().chain(f.cond.iter()));
                }
            }
        }
        out
    }

    /// The references whose values show through in this expression's
    /// value: all of them but those inside `nonsensitive(...)` (and
    /// `issensitive(...)`, whose answer is no secret).
    pub fn revealed_references(&self) -> Vec<Reference> {
        let mut out = Vec::new();
        collect_refs(self, &mut Vec::new(), &mut out, true);
        out
    }
}

/// Collects `e`'s references into `out`. With `reveal`, only those whose
/// values show through: the arguments of `nonsensitive(...)` and
/// `issensitive(...)` are skipped.
fn collect_refs(e: &Expr, scope: &mut Vec<String>, out: &mut Vec<Reference>, reveal: bool) {
    match &e.kind {
        ExprKind::Literal(_) => {}
        ExprKind::Template(parts) => collect_template_refs(parts, scope, out, reveal),
        ExprKind::Tuple(items) => items
            .iter()
            .for_each(|i| collect_refs(i, scope, out, reveal)),
        ExprKind::Object(items) => {
            for (k, v) in items {
                if let ObjectKey::Expr(k) = k {
                    collect_refs(k, scope, out, reveal);
                }
                collect_refs(v, scope, out, reveal);
            }
        }
        ExprKind::Variable(name) => {
            if !scope.contains(name) {
                out.push(Reference {
                    target: root_target(name, &[]),
                    attribute: None,
                    index: None,
                    span: e.span,
                });
            }
        }
        ExprKind::Traversal(base, ops) => {
            for op in ops {
                if let OpKind::Index(i) = &op.kind {
                    collect_refs(i, scope, out, reveal);
                }
            }
            if let ExprKind::Variable(name) = &base.kind {
                if !scope.contains(name) {
                    let span = ops.iter().take(2).fold(base.span, |s, op| s.to(op.span));
                    let target = root_target(name, ops);
                    let attribute = resource_attribute(&target, ops);
                    let at = match &target {
                        RefTarget::Resource(crate::schema::Mode::Data, ..) => Some(2),
                        RefTarget::Resource(..) => Some(1),
                        _ => None,
                    };
                    let index = at.and_then(|at| ops.get(at)).and_then(|op| match &op.kind {
                        OpKind::Index(i) => Some(Box::new(i.clone())),
                        _ => None,
                    });
                    out.push(Reference {
                        target,
                        attribute,
                        index,
                        span,
                    });
                }
            } else {
                collect_refs(base, scope, out, reveal);
            }
        }
        ExprKind::Call { name, .. }
            if reveal && matches!(name.as_str(), "nonsensitive" | "issensitive") => {}
        ExprKind::Call { args, .. } => args
            .iter()
            .for_each(|a| collect_refs(a, scope, out, reveal)),
        ExprKind::Conditional(a, b, c) => {
            collect_refs(a, scope, out, reveal);
            collect_refs(b, scope, out, reveal);
            collect_refs(c, scope, out, reveal);
        }
        ExprKind::Unary(_, a) | ExprKind::Parenthesis(a) => collect_refs(a, scope, out, reveal),
        ExprKind::Binary(_, a, b) => {
            collect_refs(a, scope, out, reveal);
            collect_refs(b, scope, out, reveal);
        }
        ExprKind::For(f) => {
            collect_refs(&f.collection, scope, out, reveal);
            let depth = scope.len();
            scope.extend(f.key_var.iter().cloned());
            scope.push(f.value_var.clone());
            if let Some(k) = &f.key_expr {
                collect_refs(k, scope, out, reveal);
            }
            collect_refs(&f.value_expr, scope, out, reveal);
            if let Some(c) = &f.cond {
                collect_refs(c, scope, out, reveal);
            }
            scope.truncate(depth);
        }
    }
}

/// The expressions of a template's parts, for [`Expr::calls`].
fn template_exprs<'a>(parts: &'a [TemplatePart], work: &mut Vec<&'a Expr>) {
    for p in parts {
        match p {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => work.push(e),
            TemplatePart::If {
                cond,
                then,
                otherwise,
            } => {
                work.push(cond);
                template_exprs(then, work);
                template_exprs(otherwise, work);
            }
            TemplatePart::For {
                collection, body, ..
            } => {
                work.push(collection);
                template_exprs(body, work);
            }
        }
    }
}

fn collect_template_refs(
    parts: &[TemplatePart],
    scope: &mut Vec<String>,
    out: &mut Vec<Reference>,
    reveal: bool,
) {
    for p in parts {
        match p {
            TemplatePart::Literal(_) => {}
            TemplatePart::Interpolation(e) => collect_refs(e, scope, out, reveal),
            TemplatePart::If {
                cond,
                then,
                otherwise,
            } => {
                collect_refs(cond, scope, out, reveal);
                collect_template_refs(then, scope, out, reveal);
                collect_template_refs(otherwise, scope, out, reveal);
            }
            TemplatePart::For {
                key_var,
                value_var,
                collection,
                body,
            } => {
                collect_refs(collection, scope, out, reveal);
                let depth = scope.len();
                scope.extend(key_var.iter().cloned());
                scope.push(value_var.clone());
                collect_template_refs(body, scope, out, reveal);
                scope.truncate(depth);
            }
        }
    }
}

/// The attribute a traversal reads from the resource it names: the first
/// attribute after the resource's name (`aws_db_instance.main[0].password`
/// reads `password`).
fn resource_attribute(target: &RefTarget, ops: &[TraversalOp]) -> Option<String> {
    let skip = match target {
        RefTarget::Resource(crate::schema::Mode::Managed, ..) | RefTarget::Module(_) => 1,
        RefTarget::Resource(crate::schema::Mode::Data, ..) => 2,
        _ => return None,
    };
    ops.iter().skip(skip).find_map(|op| match &op.kind {
        OpKind::GetAttr(n) => Some(n.clone()),
        _ => None,
    })
}

fn attr_name(op: Option<&TraversalOp>) -> Option<&str> {
    match op.map(|o| &o.kind) {
        Some(OpKind::GetAttr(name)) => Some(name),
        _ => None,
    }
}

fn root_target(name: &str, ops: &[TraversalOp]) -> RefTarget {
    use crate::schema::Mode;
    let first = attr_name(ops.first());
    match name {
        "var" => first.map_or(RefTarget::Unknown("var".into()), |n| {
            RefTarget::Var(n.into())
        }),
        "local" => first.map_or(RefTarget::Unknown("local".into()), |n| {
            RefTarget::Local(n.into())
        }),
        "module" => first.map_or(RefTarget::Unknown("module".into()), |n| {
            RefTarget::Module(n.into())
        }),
        "data" => match (first, attr_name(ops.get(1))) {
            (Some(t), Some(n)) => RefTarget::Resource(Mode::Data, t.into(), n.into()),
            _ => RefTarget::Unknown("data".into()),
        },
        "each" => RefTarget::Each(first.map(str::to_string)),
        "count" => RefTarget::Count(first.map(str::to_string)),
        "path" => RefTarget::Path,
        "self" => RefTarget::SelfRef,
        "terraform" => RefTarget::Terraform,
        _ => match first {
            Some(n) if name.contains('_') => {
                RefTarget::Resource(Mode::Managed, name.into(), n.into())
            }
            _ => RefTarget::Unknown(name.into()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(src: &str) -> Expr {
        let e = hcl_edit::parser::parse_expr(src).expect("parses");
        Lowerer::new(FileId(0)).lower(&e, Span::default())
    }

    #[test]
    fn references_skip_for_expression_variables() {
        let e = parse("[for s in var.subnets : aws_subnet.x[s].id if s != local.skip]");
        let targets: Vec<_> = e.references(&[]).into_iter().map(|r| r.target).collect();
        assert_eq!(
            targets,
            vec![
                RefTarget::Var("subnets".into()),
                RefTarget::Resource(
                    crate::schema::Mode::Managed,
                    "aws_subnet".into(),
                    "x".into()
                ),
                RefTarget::Local("skip".into()),
            ]
        );
    }

    #[test]
    fn lone_interpolation_keeps_its_type() {
        let e = parse("\"${var.port}\"");
        assert!(matches!(e.kind, ExprKind::Template(_)));
        let lit = parse("\"plain\"");
        assert_eq!(lit.kind, ExprKind::Literal(Value::from("plain")));
    }

    #[test]
    fn data_references_name_type_and_name() {
        let e = parse("data.aws_ami.al2023.id");
        let refs = e.references(&[]);
        assert_eq!(
            refs[0].target,
            RefTarget::Resource(crate::schema::Mode::Data, "aws_ami".into(), "al2023".into())
        );
    }
}
