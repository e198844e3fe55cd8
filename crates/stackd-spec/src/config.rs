//! A spec directory parsed into its blocks: variables, locals, resources,
//! data sources, outputs, providers. Parsing only: no evaluation, no I/O
//! beyond reading the files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use hcl_edit::structure as hs;
use hcl_edit::Span as _;

use crate::address::BlockAddress;
use crate::diag::{Diagnostic, FileId, SourceMap, Span};
use crate::expr::{Expr, ExprKind, Lowerer};
use crate::nesting::{too_deep, Start, MAX_NESTING};
use crate::schema::Mode;

/// A parsed spec directory.
#[derive(Clone, Debug, Default)]
pub struct Config {
    pub dir: PathBuf,
    /// The root module's directory when this is a module's configuration
    /// (`path.root`; relative file paths are read against it).
    pub root_dir: Option<PathBuf>,
    pub sources: SourceMap,
    pub variables: BTreeMap<String, Variable>,
    pub locals: BTreeMap<String, Local>,
    pub resources: Vec<ResourceBlock>,
    pub outputs: BTreeMap<String, Output>,
    pub providers: Vec<ProviderBlock>,
    /// `terraform {}` settings (the CLI reads the `backend` block).
    pub terraform: Vec<Body>,
    /// `module "NAME" { source = ... }` calls, by name.
    pub modules: BTreeMap<String, ModuleCall>,
    /// `moved { from = ...  to = ... }` blocks, in file order.
    pub moved: Vec<Moved>,
    /// `check` blocks, in file order.
    pub checks: Vec<Check>,
    /// `removed { from = ...  lifecycle { destroy = false } }` blocks.
    pub removed: Vec<Removed>,
    /// `import { to = ...  id = "..." }` blocks (root module only).
    pub imports: Vec<Import>,
    /// Problems found reading the spec that do not stop its validation,
    /// which reports them with the rest: the modules it calls (a source
    /// that cannot be read, a syntax error in a module's file), a `moved`
    /// block that is not a resource address.
    pub problems: Vec<Diagnostic>,
    /// Git modules the tree calls that `stackd init` has not fetched (or
    /// fetched from another source); also reported in `problems`.
    pub unfetched: Vec<crate::modules::Unfetched>,
}

/// `module "NAME" { source = "./modules/x"  ...inputs }`.
#[derive(Clone, Debug)]
pub struct ModuleCall {
    pub name: String,
    /// The name label.
    pub span: Span,
    pub source: Option<String>,
    pub source_span: Span,
    pub version: Option<String>,
    /// The module's input variables' values: every argument that is not a
    /// meta-argument.
    pub inputs: Vec<Attr>,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    pub providers: Option<Expr>,
    /// The module's own configuration, when its source could be read. Its
    /// files are in the root configuration's `sources`.
    pub child: Option<Box<Config>>,
}

/// `moved { from = aws_subnet.a  to = aws_subnet.b }`: what state records
/// at `from` is the object of `to` (a rename, not a destroy and create).
#[derive(Clone, Debug)]
pub struct Moved {
    pub from: MoveEnd,
    pub to: MoveEnd,
    pub span: Span,
}

/// One end of a move: a whole resource (every instance, keys kept) or one
/// instance.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveEnd {
    /// With `module_only`, only `block.module` means anything.
    pub block: BlockAddress,
    pub key: Option<crate::address::InstanceKey>,
    /// A whole module instance (`module.old`), every resource in it.
    pub module_only: bool,
    pub span: Span,
}

impl std::fmt::Display for MoveEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.module_only {
            return write!(
                f,
                "{}",
                crate::address::module_path_string(&self.block.module)
            );
        }
        write!(f, "{}", self.block)?;
        if let Some(k) = &self.key {
            write!(f, "{k}")?;
        }
        Ok(())
    }
}

/// The arguments of a module call that are not its inputs.
const MODULE_META_ATTRS: &[&str] = &[
    "source",
    "version",
    "count",
    "for_each",
    "depends_on",
    "providers",
];

/// How deep module calls may nest (Terraform has no limit; a real tree is
/// three or four deep).
pub const MAX_MODULE_DEPTH: usize = 32;

/// `variable "name" { ... }`
#[derive(Clone, Debug)]
pub struct Variable {
    pub name: String,
    pub span: Span,
    /// The `type` constraint expression, kept unevaluated.
    pub type_expr: Option<Expr>,
    pub default: Option<Expr>,
    pub description: Option<String>,
    pub sensitive: bool,
    pub nullable: bool,
    /// `validation { condition, error_message }` blocks, in order.
    pub validations: Vec<Validation>,
}

/// A variable's `validation` block: `condition` must hold for its value,
/// else `error_message` is the error.
#[derive(Clone, Debug)]
pub struct Validation {
    /// The `validation` keyword.
    pub span: Span,
    pub condition: Expr,
    pub error_message: Expr,
}

/// One entry of a `locals {}` block.
#[derive(Clone, Debug)]
pub struct Local {
    pub name: String,
    pub expr: Expr,
    pub span: Span,
}

/// `output "name" { value = ... }`
#[derive(Clone, Debug)]
pub struct Output {
    pub name: String,
    pub span: Span,
    pub value: Option<Expr>,
    pub sensitive: bool,
    pub description: Option<String>,
    pub depends_on: Vec<Expr>,
    /// `precondition` blocks: checked when the output is computed.
    pub preconditions: Vec<Validation>,
    /// `ephemeral = true`: never written to state.
    pub ephemeral: bool,
}

/// `removed { from = aws_x.y  lifecycle { destroy = false } }`: what state
/// records at `from` (gone from the spec) is let go of, its object left in
/// the cloud (`destroy = false`), or destroyed as any removed resource is.
#[derive(Clone, Debug)]
pub struct Removed {
    pub from: MoveEnd,
    pub destroy: bool,
    pub span: Span,
}

/// `import { to = aws_vpc.main  id = "vpc-0abc" }`, with an optional
/// `for_each` (then `to` and `id` may use `each`): take an existing object
/// into the state at `to`, by its ID.
#[derive(Clone, Debug)]
pub struct Import {
    pub to: Expr,
    pub id: Expr,
    pub for_each: Option<Expr>,
    pub span: Span,
}

/// `check "NAME" { assert { condition, error_message } }`: a failed
/// assertion is a warning, never an error.
#[derive(Clone, Debug)]
pub struct Check {
    pub name: String,
    pub span: Span,
    pub asserts: Vec<Validation>,
}

/// `provider "aws" { ... }`
#[derive(Clone, Debug)]
pub struct ProviderBlock {
    pub name: String,
    pub span: Span,
    pub body: Body,
}

/// `lifecycle { ... }`
#[derive(Clone, Debug, Default)]
pub struct Lifecycle {
    pub create_before_destroy: Option<Expr>,
    pub prevent_destroy: Option<Expr>,
    /// `precondition { condition, error_message }`: checked before the
    /// instance is created or changed (at plan when known, else at apply).
    pub preconditions: Vec<Validation>,
    /// `postcondition`: checked against the object (`self`) once it exists.
    pub postconditions: Vec<Validation>,
    /// `replace_triggered_by = [...]`: read; not acted on yet (a warning).
    pub replace_triggered_by: Option<Expr>,
    /// Attribute paths as written (`tags`, `desired_count`), or `all`.
    pub ignore_changes: Vec<(String, Span)>,
    pub ignore_all: bool,
}

/// `provisioner "local-exec" { ... }`
#[derive(Clone, Debug)]
pub struct Provisioner {
    pub kind: String,
    pub span: Span,
    pub body: Body,
}

/// `resource "TYPE" "NAME" { ... }` or `data "TYPE" "NAME" { ... }`.
#[derive(Clone, Debug)]
pub struct ResourceBlock {
    pub addr: BlockAddress,
    /// The whole block header.
    pub span: Span,
    /// The type label, for "unknown resource type" errors.
    pub type_span: Span,
    pub count: Option<Expr>,
    pub for_each: Option<Expr>,
    pub depends_on: Vec<Expr>,
    pub provider: Option<Expr>,
    pub lifecycle: Lifecycle,
    /// `timeouts { create = "10m" }`
    pub timeouts: BTreeMap<String, (Expr, Span)>,
    pub provisioners: Vec<Provisioner>,
    /// The arguments and nested blocks, meta-arguments removed.
    pub body: Body,
}

/// Arguments and nested blocks of a block body.
#[derive(Clone, Debug, Default)]
pub struct Body {
    pub attrs: Vec<Attr>,
    pub blocks: Vec<NestedBlock>,
    pub span: Span,
}

impl Body {
    pub fn attr(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }
}

/// `name = expr`
#[derive(Clone, Debug)]
pub struct Attr {
    pub name: String,
    pub name_span: Span,
    pub expr: Expr,
}

/// A nested block; `dynamic "x" {}` has kind `dynamic` and label `x`.
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub kind: String,
    pub labels: Vec<String>,
    pub span: Span,
    pub body: Body,
}

/// The meta-arguments of a resource block, which are not provider arguments.
const RESOURCE_META_ATTRS: &[&str] = &["count", "for_each", "depends_on", "provider"];

impl Config {
    /// Reads every `*.tf` file of a directory (not recursing), in name
    /// order, as Terraform does: `.terraform.lock.hcl`, `terragrunt.hcl`
    /// and `*.tftest.hcl` are not configuration. `*.tf.json` files are not
    /// read yet, and a warning says so. Returns the config with every parse
    /// problem found.
    pub fn load_dir(dir: &Path) -> Result<(Config, Vec<Diagnostic>), std::io::Error> {
        let mut sources = SourceMap::default();
        let (mut config, diags) = Config::read_dir(dir, &mut sources)?;
        let mut ancestors = vec![std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf())];
        let installed = crate::modules::Installed::find(dir);
        let mut problems = Vec::new();
        let lock = crate::modules::Lock::read(dir).unwrap_or_else(|e| {
            problems.push(Diagnostic::error(e, None));
            crate::modules::Lock::default()
        });
        let mut unfetched = Vec::new();
        crate::modules::load_children(
            &mut config,
            &mut sources,
            &mut problems,
            &mut ancestors,
            &installed,
            &lock,
            &mut unfetched,
            &[],
        );
        config.unfetched = unfetched;
        config.sources = sources;
        config.problems.extend(problems);
        Ok((config, diags))
    }

    /// Reads one directory's `*.tf` files into a configuration whose files
    /// go into `sources` (shared by a root and its modules).
    pub(crate) fn read_dir(
        dir: &Path,
        sources: &mut SourceMap,
    ) -> Result<(Config, Vec<Diagnostic>), std::io::Error> {
        let paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file())
            .collect();
        let named = |p: &PathBuf, suffix: &str| p.to_string_lossy().ends_with(suffix);
        let mut files: Vec<&PathBuf> = paths.iter().filter(|p| named(p, ".tf")).collect();
        files.sort();
        let mut texts = Vec::new();
        for path in files {
            let text = std::fs::read_to_string(path)?;
            texts.push((path.clone(), text));
        }
        let (config, mut diags) = Config::parse_files(dir, texts, sources);
        let mut json: Vec<&PathBuf> = paths.iter().filter(|p| named(p, ".tf.json")).collect();
        json.sort();
        for path in json {
            diags.push(Diagnostic::warning(
                format!(
                    "{} is ignored: stackd does not read Terraform's JSON syntax yet",
                    path.display()
                ),
                None,
            ));
        }
        Ok((config, diags))
    }

    /// Parses files given as `(path, text)`.
    pub fn from_sources(dir: &Path, files: Vec<(PathBuf, String)>) -> (Config, Vec<Diagnostic>) {
        let mut sources = SourceMap::default();
        let (mut config, diags) = Config::parse_files(dir, files, &mut sources);
        config.sources = sources;
        (config, diags)
    }

    /// Parses files into a configuration, adding them to `sources`.
    fn parse_files(
        dir: &Path,
        files: Vec<(PathBuf, String)>,
        sources: &mut SourceMap,
    ) -> (Config, Vec<Diagnostic>) {
        let mut config = Config {
            dir: dir.to_path_buf(),
            ..Config::default()
        };
        let mut diags = Vec::new();
        if files.is_empty() {
            diags.push(Diagnostic::error(
                format!("no *.tf files in {}", dir.display()),
                None,
            ));
        }
        for (path, text) in files {
            // Without its byte order mark, so offsets (and line:col) are
            // those of the text the parser sees.
            let text = crate::diag::strip_bom(text);
            let file = sources.add(path, text.clone());
            if let Some(at) = too_deep(&text, Start::Code, MAX_NESTING) {
                diags.push(Diagnostic::error(
                    crate::nesting::message(),
                    Some(Span::char_at(file, &text, at)),
                ));
                continue;
            }
            match hcl_edit::parser::parse_body(&text) {
                Ok(body) => {
                    let mut p = Parser {
                        lower: Lowerer::new(file),
                        file,
                        diags: &mut diags,
                    };
                    p.top_level(&body, &mut config);
                }
                Err(e) => {
                    let span = Span::char_at(file, &text, e.location().offset());
                    diags.push(Diagnostic::error(
                        format!("syntax error: {}", e.message()),
                        Some(span),
                    ));
                }
            }
        }
        (config, diags)
    }

    /// The resource or data block at an address.
    pub fn resource(&self, mode: Mode, type_name: &str, name: &str) -> Option<&ResourceBlock> {
        self.resources
            .iter()
            .find(|r| r.addr.mode == mode && r.addr.type_name == type_name && r.addr.name == name)
    }

    /// The configuration of the module at `path` (call names from this
    /// one; empty: this one), when its source was read.
    pub fn module_config(&self, path: &[String]) -> Option<&Config> {
        let mut config = self;
        for name in path {
            config = config.modules.get(name)?.child.as_deref()?;
        }
        Some(config)
    }

    /// The block an address names, in the module its path names (instance
    /// keys aside).
    pub fn block_at(&self, addr: &crate::BlockAddress) -> Option<&ResourceBlock> {
        self.module_config(&addr.module_names())?
            .resource(addr.mode, &addr.type_name, &addr.name)
    }

    /// Every configuration of the tree with its module path, this one
    /// first, then each call's depth first in name order.
    pub fn tree(&self) -> Vec<(Vec<String>, &Config)> {
        let mut out = Vec::new();
        let mut work: Vec<(Vec<String>, &Config)> = vec![(Vec::new(), self)];
        while let Some((path, config)) = work.pop() {
            for (name, call) in config.modules.iter().rev() {
                if let Some(child) = &call.child {
                    let mut p = path.clone();
                    p.push(name.clone());
                    work.push((p, child));
                }
            }
            out.push((path, config));
        }
        out
    }
}

struct Parser<'a> {
    lower: Lowerer,
    file: FileId,
    diags: &'a mut Vec<Diagnostic>,
}

impl Parser<'_> {
    fn span(&self, range: Option<std::ops::Range<usize>>) -> Span {
        Span::new(self.file, range.unwrap_or(0..0))
    }

    fn expr(&self, e: &hcl_edit::expr::Expression) -> Expr {
        self.lower.lower(e, self.span(e.span()))
    }

    fn top_level(&mut self, body: &hs::Body, config: &mut Config) {
        for structure in body.iter() {
            match structure {
                hs::Structure::Attribute(a) => {
                    let span = self.span(a.key.span());
                    self.diags.push(Diagnostic::error(
                        format!(
                            "unexpected argument \"{}\" at the top level; only blocks (resource, variable, ...) belong here",
                            a.key.value().as_str()
                        ),
                        Some(span),
                    ));
                }
                hs::Structure::Block(b) => self.top_block(b, config),
            }
        }
    }

    fn labels(&self, b: &hs::Block) -> Vec<(String, Span)> {
        b.labels
            .iter()
            .map(|l| {
                let text = match l {
                    hs::BlockLabel::String(s) => s.value().clone(),
                    hs::BlockLabel::Ident(i) => i.value().as_str().to_string(),
                };
                (text, self.span(l.span()))
            })
            .collect()
    }

    fn expect_labels(
        &mut self,
        b: &hs::Block,
        n: usize,
        what: &str,
    ) -> Option<Vec<(String, Span)>> {
        let labels = self.labels(b);
        if labels.len() != n {
            self.diags.push(Diagnostic::error(
                format!(
                    "a {} block takes {n} label{} ({what}), found {}",
                    b.ident.value().as_str(),
                    if n == 1 { "" } else { "s" },
                    labels.len()
                ),
                Some(self.span(b.ident.span())),
            ));
            return None;
        }
        Some(labels)
    }

    fn top_block(&mut self, b: &hs::Block, config: &mut Config) {
        let kind = b.ident.value().as_str();
        let head = self.span(b.ident.span());
        match kind {
            "resource" | "data" => {
                let Some(labels) = self.expect_labels(b, 2, "type and name") else {
                    return;
                };
                let mode = if kind == "data" { Mode::Data } else { Mode::Managed };
                let block = self.resource_block(b, mode, &labels);
                if config
                    .resource(mode, &block.addr.type_name, &block.addr.name)
                    .is_some()
                {
                    self.diags.push(Diagnostic::error(
                        format!("duplicate block {}", block.addr),
                        Some(block.span),
                    ));
                    return;
                }
                config.resources.push(block);
            }
            "variable" => {
                let Some(labels) = self.expect_labels(b, 1, "name") else {
                    return;
                };
                let body = self.body(&b.body);
                let name = labels[0].0.clone();
                let var = Variable {
                    name: name.clone(),
                    span: labels[0].1,
                    type_expr: body.attr("type").map(|a| a.expr.clone()),
                    default: body.attr("default").map(|a| a.expr.clone()),
                    description: literal_string(body.attr("description")),
                    // An ephemeral value is kept out of messages as a
                    // sensitive one is.
                    sensitive: literal_bool(body.attr("sensitive")).unwrap_or(false)
                        || literal_bool(body.attr("ephemeral")).unwrap_or(false),
                    nullable: literal_bool(body.attr("nullable")).unwrap_or(true),
                    validations: self.validations(&body),
                };
                self.only_known(
                    &body,
                    &["type", "default", "description", "sensitive", "nullable", "ephemeral"],
                    &["validation"],
                    "variable",
                );
                if config.variables.insert(name.clone(), var).is_some() {
                    self.diags.push(Diagnostic::error(format!("duplicate variable \"{name}\""), Some(labels[0].1)));
                }
            }
            "locals" => {
                let body = self.body(&b.body);
                for a in body.attrs {
                    let local = Local {
                        name: a.name.clone(),
                        expr: a.expr,
                        span: a.name_span,
                    };
                    if config.locals.insert(a.name.clone(), local).is_some() {
                        self.diags.push(Diagnostic::error(
                            format!("duplicate local value \"{}\"", a.name),
                            Some(a.name_span),
                        ));
                    }
                }
            }
            "output" => {
                let Some(labels) = self.expect_labels(b, 1, "name") else {
                    return;
                };
                let body = self.body(&b.body);
                self.only_known(
                    &body,
                    &["value", "sensitive", "description", "depends_on", "ephemeral"],
                    &["precondition"],
                    "output",
                );
                let value = body.attr("value").map(|a| a.expr.clone());
                if value.is_none() {
                    self.diags.push(Diagnostic::error(
                        format!("output \"{}\" has no value argument", labels[0].0),
                        Some(labels[0].1),
                    ));
                }
                let name = labels[0].0.clone();
                config.outputs.insert(
                    name.clone(),
                    Output {
                        name,
                        span: labels[0].1,
                        value,
                        sensitive: literal_bool(body.attr("sensitive")).unwrap_or(false),
                        description: literal_string(body.attr("description")),
                        depends_on: list_items(body.attr("depends_on")),
                        preconditions: self.conditions(&body, "precondition"),
                        ephemeral: literal_bool(body.attr("ephemeral")).unwrap_or(false),
                    },
                );
            }
            "import" => {
                let body = self.body(&b.body);
                self.only_known(&body, &["to", "id", "for_each", "provider"], &[], "import");
                match (body.attr("to"), body.attr("id")) {
                    (Some(to), Some(id)) => config.imports.push(Import {
                        to: to.expr.clone(),
                        id: id.expr.clone(),
                        for_each: body.attr("for_each").map(|a| a.expr.clone()),
                        span: head,
                    }),
                    (to, _) => self.diags.push(Diagnostic::error(
                        format!(
                            "an import block needs \"{}\"",
                            if to.is_none() { "to" } else { "id" }
                        ),
                        Some(head),
                    )),
                }
            }
            "removed" => {
                let body = self.body(&b.body);
                self.only_known(&body, &["from"], &["lifecycle", "provisioner"], "removed");
                let mut destroy = true;
                for nb in body.blocks.iter().filter(|nb| nb.kind == "lifecycle") {
                    self.only_known(&nb.body, &["destroy"], &[], "lifecycle of a removed");
                    if let Some(d) = literal_bool(nb.body.attr("destroy")) {
                        destroy = d;
                    }
                }
                let Some(a) = body.attr("from") else {
                    config.problems.push(Diagnostic::error(
                        "a removed block needs \"from\"",
                        Some(head),
                    ));
                    return;
                };
                match move_end(&a.expr) {
                    Some(from) => config.removed.push(Removed {
                        from,
                        destroy,
                        span: head,
                    }),
                    None => config.problems.push(Diagnostic::error(
                        "\"from\" of a removed block is a resource address such as \
                         aws_subnet.public or module.net.aws_subnet.public, or a module",
                        Some(a.expr.span),
                    )),
                }
            }
            "check" => {
                let Some(labels) = self.expect_labels(b, 1, "name") else {
                    return;
                };
                let body = self.body(&b.body);
                self.only_known(&body, &[], &["assert", "data"], "check");
                if let Some(nb) = body.blocks.iter().find(|nb| nb.kind == "data") {
                    self.diags.push(Diagnostic::error(
                        "a data block scoped to a check block is not supported yet; declare it at \
                         the top level",
                        Some(nb.span),
                    ));
                }
                let asserts = self.conditions(&body, "assert");
                config.checks.push(Check {
                    name: labels[0].0.clone(),
                    span: labels[0].1,
                    asserts,
                });
            }
            "provider" => {
                let Some(labels) = self.expect_labels(b, 1, "provider name") else {
                    return;
                };
                config.providers.push(ProviderBlock {
                    name: labels[0].0.clone(),
                    span: labels[0].1,
                    body: self.body(&b.body),
                });
            }
            "terraform" => {
                let body = self.body(&b.body);
                for a in &body.attrs {
                    if a.name != "required_version" {
                        self.diags.push(Diagnostic::warning(
                            format!("terraform setting \"{}\" is not used by stackd", a.name),
                            Some(a.name_span),
                        ));
                    }
                }
                for nb in &body.blocks {
                    if nb.kind != "required_providers" && nb.kind != "backend" {
                        self.diags.push(Diagnostic::warning(
                            format!("terraform block \"{}\" is not used by stackd", nb.kind),
                            Some(nb.span),
                        ));
                    }
                }
                config.terraform.push(body);
            }
            "moved" => {
                let body = self.body(&b.body);
                self.only_known(&body, &["from", "to"], &[], "moved");
                let end = |problems: &mut Vec<Diagnostic>, name: &str| -> Option<MoveEnd> {
                    let Some(a) = body.attr(name) else {
                        problems.push(Diagnostic::error(
                            format!("a moved block needs \"{name}\""),
                            Some(head),
                        ));
                        return None;
                    };
                    let parsed = move_end(&a.expr);
                    if parsed.is_none() {
                        problems.push(Diagnostic::error(
                            format!(
                                "\"{name}\" of a moved block is a resource address such as \
                                 aws_subnet.public, aws_subnet.public[\"a\"] or \
                                 module.net.aws_subnet.public, or a module such as module.net"
                            ),
                            Some(a.expr.span),
                        ));
                    }
                    parsed
                };
                let from = end(&mut config.problems, "from");
                let to = end(&mut config.problems, "to");
                if let (Some(from), Some(to)) = (from, to) {
                    config.moved.push(Moved {
                        from,
                        to,
                        span: head,
                    });
                }
            }
            "module" => {
                let Some(labels) = self.expect_labels(b, 1, "name") else {
                    return;
                };
                let call = self.module_call(b, &labels[0]);
                if config.modules.contains_key(&call.name) {
                    self.diags.push(Diagnostic::error(
                        format!("duplicate module \"{}\"", call.name),
                        Some(call.span),
                    ));
                    return;
                }
                config.modules.insert(call.name.clone(), call);
            }
            other => self.diags.push(Diagnostic::error(
                format!(
                    "unknown block type \"{other}\"; expected resource, data, variable, locals, output, module, moved, removed, import, check, provider or terraform"
                ),
                Some(head),
            )),
        }
    }

    /// A `module` block: its meta-arguments, and every other argument as an
    /// input. A module call takes no nested blocks.
    fn module_call(&mut self, b: &hs::Block, (name, span): &(String, Span)) -> ModuleCall {
        let mut body = self.body(&b.body);
        for nb in &body.blocks {
            self.diags.push(Diagnostic::error(
                format!(
                    "module \"{name}\" takes arguments, not blocks: \"{}\" is a block",
                    nb.kind
                ),
                Some(nb.span),
            ));
        }
        let mut take = |n: &str| {
            let i = body.attrs.iter().position(|a| a.name == n)?;
            Some(body.attrs.remove(i))
        };
        let source_attr = take("source");
        let version = take("version");
        let count = take("count").map(|a| a.expr);
        let for_each = take("for_each").map(|a| a.expr);
        let depends_on = take("depends_on").map(|a| list_items_expr(&a.expr));
        let providers = take("providers").map(|a| a.expr);
        debug_assert_eq!(MODULE_META_ATTRS.len(), 6);
        let source = literal_string(source_attr.as_ref());
        let source_span = source_attr.as_ref().map_or(*span, |a| a.expr.span);
        if source.is_none() {
            self.diags.push(Diagnostic::error(
                format!("module \"{name}\" needs a source: a literal string such as \"./modules/{name}\""),
                Some(source_span),
            ));
        }
        if count.is_some() && for_each.is_some() {
            self.diags.push(Diagnostic::error(
                "count and for_each cannot both be set on one module call",
                Some(*span),
            ));
        }
        ModuleCall {
            name: name.clone(),
            span: *span,
            source,
            source_span,
            version: literal_string(version.as_ref()),
            inputs: body.attrs,
            count,
            for_each,
            depends_on: depends_on.unwrap_or_default(),
            providers,
            child: None,
        }
    }

    /// The `validation` blocks of a variable's body, each with both its
    /// arguments (a block missing one is reported and left out).
    fn validations(&mut self, body: &Body) -> Vec<Validation> {
        self.conditions(body, "validation")
    }

    /// The `kind` blocks of a body (`validation`, `precondition`,
    /// `postcondition`, `assert`): a condition and its error message.
    fn conditions(&mut self, body: &Body, kind: &str) -> Vec<Validation> {
        let mut out = Vec::new();
        for nb in body.blocks.iter().filter(|b| b.kind == kind) {
            self.only_known(&nb.body, &["condition", "error_message"], &[], kind);
            let condition = nb.body.attr("condition").map(|a| a.expr.clone());
            let error_message = nb.body.attr("error_message").map(|a| a.expr.clone());
            match (condition, error_message) {
                (Some(condition), Some(error_message)) => out.push(Validation {
                    span: nb.span,
                    condition,
                    error_message,
                }),
                (condition, _) => {
                    let missing = if condition.is_none() {
                        "condition"
                    } else {
                        "error_message"
                    };
                    self.diags.push(Diagnostic::error(
                        format!("missing required argument \"{missing}\" in {kind} block"),
                        Some(nb.span),
                    ));
                }
            }
        }
        out
    }

    fn only_known(&mut self, body: &Body, attrs: &[&str], blocks: &[&str], what: &str) {
        for a in &body.attrs {
            if !attrs.contains(&a.name.as_str()) {
                self.diags.push(
                    Diagnostic::error(
                        format!("unknown argument \"{}\" in {what} block", a.name),
                        Some(a.name_span),
                    )
                    .note(format!("help: expected one of {}", attrs.join(", "))),
                );
            }
        }
        for nb in &body.blocks {
            if !blocks.contains(&nb.kind.as_str()) {
                self.diags.push(Diagnostic::error(
                    format!("unknown block \"{}\" in {what} block", nb.kind),
                    Some(nb.span),
                ));
            }
        }
    }

    fn resource_block(
        &mut self,
        b: &hs::Block,
        mode: Mode,
        labels: &[(String, Span)],
    ) -> ResourceBlock {
        let mut body = self.body(&b.body);
        let span = self.span(b.ident.span()).to(labels[1].1);
        let take = |body: &mut Body, name: &str| -> Option<Expr> {
            let i = body.attrs.iter().position(|a| a.name == name)?;
            Some(body.attrs.remove(i).expr)
        };
        let count = take(&mut body, "count");
        let for_each = take(&mut body, "for_each");
        let depends_on = take(&mut body, "depends_on");
        let provider = take(&mut body, "provider");
        debug_assert!(RESOURCE_META_ATTRS.len() == 4);
        if count.is_some() && for_each.is_some() {
            self.diags.push(Diagnostic::error(
                "count and for_each cannot both be set on one resource",
                Some(span),
            ));
        }
        let mut lifecycle = Lifecycle::default();
        let mut timeouts = BTreeMap::new();
        let mut provisioners = Vec::new();
        let mut rest = Vec::new();
        for nb in std::mem::take(&mut body.blocks) {
            match nb.kind.as_str() {
                "lifecycle" => self.lifecycle(&nb, &mut lifecycle),
                "timeouts" => {
                    for a in nb.body.attrs {
                        if !matches!(a.name.as_str(), "create" | "update" | "delete" | "read") {
                            self.diags.push(Diagnostic::error(
                                format!("unknown timeout \"{}\"; expected create, update, delete or read", a.name),
                                Some(a.name_span),
                            ));
                        }
                        timeouts.insert(a.name.clone(), (a.expr, a.name_span));
                    }
                }
                "provisioner" => provisioners.push(Provisioner {
                    kind: nb.labels.first().cloned().unwrap_or_default(),
                    span: nb.span,
                    body: nb.body,
                }),
                "connection" => {}
                _ => rest.push(nb),
            }
        }
        body.blocks = rest;
        ResourceBlock {
            addr: BlockAddress::new(mode, labels[0].0.clone(), labels[1].0.clone()),
            span,
            type_span: labels[0].1,
            count,
            for_each,
            depends_on: depends_on.map(|d| list_items_expr(&d)).unwrap_or_default(),
            provider,
            lifecycle,
            timeouts,
            provisioners,
            body,
        }
    }

    fn lifecycle(&mut self, nb: &NestedBlock, lc: &mut Lifecycle) {
        for a in &nb.body.attrs {
            match a.name.as_str() {
                "create_before_destroy" => lc.create_before_destroy = Some(a.expr.clone()),
                "prevent_destroy" => lc.prevent_destroy = Some(a.expr.clone()),
                "ignore_changes" => match &a.expr.kind {
                    ExprKind::Variable(v) if v == "all" => lc.ignore_all = true,
                    ExprKind::Tuple(items) => {
                        for item in items {
                            match traversal_path(item) {
                                Some(path) => lc.ignore_changes.push((path, item.span)),
                                None => self.diags.push(Diagnostic::error(
                                    "ignore_changes entries must be attribute names such as tags or desired_count",
                                    Some(item.span),
                                )),
                            }
                        }
                    }
                    _ => self.diags.push(Diagnostic::error(
                        "ignore_changes must be a list of attribute names, or all",
                        Some(a.expr.span),
                    )),
                },
                "replace_triggered_by" => {
                    self.diags.push(Diagnostic::warning(
                        "stackd reads replace_triggered_by but does not act on it yet: a change \
                         of what it names does not replace this resource",
                        Some(a.name_span),
                    ));
                    lc.replace_triggered_by = Some(a.expr.clone());
                }
                other => self.diags.push(Diagnostic::error(
                    format!(
                        "unknown lifecycle argument \"{other}\"; expected create_before_destroy, prevent_destroy, ignore_changes or replace_triggered_by"
                    ),
                    Some(a.name_span),
                )),
            }
        }
        for b in &nb.body.blocks {
            if b.kind != "precondition" && b.kind != "postcondition" {
                self.diags.push(Diagnostic::error(
                    format!(
                        "unknown block \"{}\" in lifecycle; expected precondition or postcondition",
                        b.kind
                    ),
                    Some(b.span),
                ));
            }
        }
        lc.preconditions = self.conditions(&nb.body, "precondition");
        lc.postconditions = self.conditions(&nb.body, "postcondition");
    }

    fn body(&mut self, body: &hs::Body) -> Body {
        let mut out = Body {
            span: self.span(body.span()),
            ..Body::default()
        };
        for s in body.iter() {
            match s {
                hs::Structure::Attribute(a) => {
                    let name = a.key.value().as_str().to_string();
                    let name_span = self.span(a.key.span());
                    if out.attr(&name).is_some() {
                        self.diags.push(Diagnostic::error(
                            format!("argument \"{name}\" is set twice"),
                            Some(name_span),
                        ));
                        continue;
                    }
                    out.attrs.push(Attr {
                        name,
                        name_span,
                        expr: self.expr(&a.value),
                    });
                }
                hs::Structure::Block(b) => {
                    let labels = self.labels(b).into_iter().map(|(l, _)| l).collect();
                    let span = self.span(b.ident.span());
                    let body = self.body(&b.body);
                    out.blocks.push(NestedBlock {
                        kind: b.ident.value().as_str().to_string(),
                        labels,
                        span,
                        body,
                    });
                }
            }
        }
        out
    }
}

fn literal_string(a: Option<&Attr>) -> Option<String> {
    match &a?.expr.kind {
        ExprKind::Literal(crate::value::Value::String(s)) => Some(s.clone()),
        _ => None,
    }
}

fn literal_bool(a: Option<&Attr>) -> Option<bool> {
    match &a?.expr.kind {
        ExprKind::Literal(crate::value::Value::Bool(b)) => Some(*b),
        _ => None,
    }
}

fn list_items(a: Option<&Attr>) -> Vec<Expr> {
    a.map(|a| list_items_expr(&a.expr)).unwrap_or_default()
}

fn list_items_expr(e: &Expr) -> Vec<Expr> {
    match &e.kind {
        ExprKind::Tuple(items) => items.clone(),
        _ => vec![e.clone()],
    }
}

/// A managed resource address written as an expression: `aws_subnet.a`,
/// `aws_subnet.a[0]`, `module.net.aws_subnet.a["x"]`, or a module instance
/// (`module.old`, `module.svc["api"]`).
fn move_end(e: &Expr) -> Option<MoveEnd> {
    use crate::address::{InstanceKey, ModuleStep};
    use crate::expr::OpKind;
    enum Tok {
        Name(String),
        Key(InstanceKey),
    }
    let ExprKind::Traversal(base, ops) = &e.kind else {
        return None;
    };
    let ExprKind::Variable(root) = &base.kind else {
        return None;
    };
    let mut toks = vec![Tok::Name(root.clone())];
    for op in ops {
        toks.push(match &op.kind {
            OpKind::GetAttr(n) => Tok::Name(n.clone()),
            OpKind::Index(i) => match &i.kind {
                ExprKind::Literal(crate::value::Value::String(s)) => {
                    Tok::Key(InstanceKey::Str(s.clone()))
                }
                ExprKind::Literal(v) => {
                    let n = v.as_f64().filter(|n| n.fract() == 0.0)?;
                    Tok::Key(InstanceKey::Int(n as i64))
                }
                _ => return None,
            },
            OpKind::Splat => return None,
        });
    }
    let mut module = Vec::new();
    let mut i = 0;
    while matches!(toks.get(i), Some(Tok::Name(n)) if n == "module") {
        let Some(Tok::Name(name)) = toks.get(i + 1) else {
            return None;
        };
        let key = match toks.get(i + 2) {
            Some(Tok::Key(k)) => Some(k.clone()),
            _ => None,
        };
        i += 2 + usize::from(key.is_some());
        module.push(ModuleStep::new(name.clone(), key));
    }
    if i == toks.len() && !module.is_empty() {
        return Some(MoveEnd {
            block: BlockAddress::new(Mode::Managed, "", "").in_module(module),
            key: None,
            module_only: true,
            span: e.span,
        });
    }
    let (type_name, name, key) = match &toks[i..] {
        [Tok::Name(t), Tok::Name(n)] => (t, n, None),
        [Tok::Name(t), Tok::Name(n), Tok::Key(k)] => (t, n, Some(k.clone())),
        _ => return None,
    };
    if type_name == "data" || type_name == "module" || !type_name.contains('_') {
        return None;
    }
    Some(MoveEnd {
        block: BlockAddress::new(Mode::Managed, type_name.clone(), name.clone()).in_module(module),
        key,
        module_only: false,
        span: e.span,
    })
}

/// `tags["Name"]` or `tags` as a path string for ignore_changes.
fn traversal_path(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Variable(v) => Some(v.clone()),
        ExprKind::Literal(crate::value::Value::String(s)) => Some(s.clone()),
        ExprKind::Traversal(base, ops) => {
            let mut path = traversal_path(base)?;
            for op in ops {
                match &op.kind {
                    crate::expr::OpKind::GetAttr(n) => {
                        path.push('.');
                        path.push_str(n);
                    }
                    crate::expr::OpKind::Index(i) => match &i.kind {
                        ExprKind::Literal(v) => path.push_str(&format!("[{v}]")),
                        _ => return None,
                    },
                    crate::expr::OpKind::Splat => return None,
                }
            }
            Some(path)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(src: &str) -> (Config, Vec<Diagnostic>) {
        Config::from_sources(Path::new("spec"), vec![("spec/main.tf".into(), src.into())])
    }

    #[test]
    fn resource_meta_arguments_are_separated_from_provider_arguments() {
        let (c, d) = load(
            r#"
resource "aws_subnet" "public" {
  for_each   = local.subnets
  vpc_id     = aws_vpc.main.id
  depends_on = [aws_internet_gateway.gw]
  lifecycle {
    create_before_destroy = true
    ignore_changes        = [tags]
  }
  timeouts { create = "5m" }
}
"#,
        );
        assert!(d.is_empty(), "{d:?}");
        let r = &c.resources[0];
        assert!(r.for_each.is_some());
        assert_eq!(r.depends_on.len(), 1);
        assert_eq!(r.body.attrs.len(), 1);
        assert_eq!(r.lifecycle.ignore_changes[0].0, "tags");
        assert!(r.timeouts.contains_key("create"));
    }

    #[test]
    fn syntax_error_has_a_location() {
        let (c, d) = load("resource \"aws_vpc\" \"x\" {\n  cidr_block = \n}\n");
        assert_eq!(d.len(), 1);
        let loc = c.sources.location(d[0].span.unwrap());
        assert!(loc.starts_with("spec/main.tf:"), "{loc}");
    }

    #[test]
    fn variables_locals_and_outputs_are_collected() {
        let (c, d) = load(
            r#"
variable "cidr" {
  type    = string
  default = "10.0.0.0/16"
}
locals {
  a = 1
  b = var.cidr
}
output "vpc" { value = aws_vpc.main.id }
"#,
        );
        assert!(d.is_empty(), "{d:?}");
        assert!(c.variables.contains_key("cidr"));
        assert_eq!(c.locals.len(), 2);
        assert!(c.outputs["vpc"].value.is_some());
    }
}
