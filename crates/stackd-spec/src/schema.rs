//! Resource and data-source schemas: the arguments and attributes a type has.
//!
//! Providers describe their types with these; the spec crate uses them to
//! validate configuration and the engine uses them to diff. Nothing here is
//! specific to any cloud.

use std::collections::BTreeMap;

use crate::value::Value;

/// The type of an attribute.
#[derive(Clone, Debug, PartialEq)]
pub enum AttrType {
    String,
    Number,
    Bool,
    /// An ordered list.
    List(Box<AttrType>),
    /// An unordered set: compared without regard to order.
    Set(Box<AttrType>),
    /// A map with string keys.
    Map(Box<AttrType>),
    /// A JSON document given as a string (policies, container definitions):
    /// compared semantically, not textually.
    Json,
    /// Any value (used for free-form provider data such as `triggers`).
    Any,
}

impl AttrType {
    pub fn list_of(t: AttrType) -> AttrType {
        AttrType::List(Box::new(t))
    }
    pub fn set_of(t: AttrType) -> AttrType {
        AttrType::Set(Box::new(t))
    }
    pub fn map_of(t: AttrType) -> AttrType {
        AttrType::Map(Box::new(t))
    }

    /// How the type is written in messages, as Terraform writes it.
    pub fn describe(&self) -> String {
        match self {
            AttrType::String => "string".into(),
            AttrType::Number => "number".into(),
            AttrType::Bool => "bool".into(),
            AttrType::List(t) => format!("list({})", t.describe()),
            AttrType::Set(t) => format!("set({})", t.describe()),
            AttrType::Map(t) => format!("map({})", t.describe()),
            AttrType::Json => "string (JSON)".into(),
            AttrType::Any => "any".into(),
        }
    }
}

/// An extra check on an attribute's value, run at validation time when the
/// value is known.
#[derive(Clone, Debug, PartialEq)]
pub enum Check {
    /// An IPv4 CIDR block such as `10.0.0.0/16`.
    Ipv4Cidr,
    /// One of a fixed set of strings.
    OneOf(Vec<&'static str>),
    /// A number in an inclusive range.
    Range(i64, i64),
    /// A number in one of these inclusive ranges (`0` or `7..=30`).
    Ranges(Vec<(i64, i64)>),
}

/// Puts a value into a canonical form before desired and live values are
/// compared: e.g. a container definition with AWS's defaults filled in, or
/// an IAM policy with single statements and actions turned into lists.
#[derive(Clone, Copy)]
pub struct Normalizer(pub fn(&Value) -> Value);

impl std::fmt::Debug for Normalizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Normalizer")
    }
}

impl PartialEq for Normalizer {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::fn_addr_eq(self.0, other.0)
    }
}

/// A deprecated argument the provider still accepts, read as its modern
/// form: `aws_eip { vpc = true }` is `domain = "vpc"`. Validation warns and
/// names the modern form; evaluation checks its value against `attr` and
/// calls `apply` (when not null) to set the modern argument. It is not one
/// of the block's attributes: it is never read back, diffed or shown.
#[derive(Clone)]
pub struct Upgrade {
    /// The deprecated argument, its name and type.
    pub attr: AttrSchema,
    /// The modern form, as the user should write it.
    pub modern: &'static str,
    /// Sets the modern argument(s) from the deprecated one's value.
    pub apply: fn(Value, &mut BTreeMap<String, Value>),
}

impl std::fmt::Debug for Upgrade {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upgrade({} -> {})", self.attr.name, self.modern)
    }
}

impl PartialEq for Upgrade {
    fn eq(&self, other: &Self) -> bool {
        self.attr == other.attr
            && self.modern == other.modern
            && std::ptr::fn_addr_eq(self.apply, other.apply)
    }
}

/// How an argument is set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Presence {
    /// The user must set it.
    Required,
    /// The user may set it; when unset it is null (or the schema default).
    Optional,
    /// The user may set it; when unset the cloud chooses, and the diff ignores it.
    OptionalComputed,
    /// Only the cloud sets it (`id`, `arn`, ...).
    Computed,
}

/// One attribute of a resource type or nested block.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrSchema {
    pub name: &'static str,
    pub ty: AttrType,
    pub presence: Presence,
    /// Changing it replaces the resource.
    pub force_new: bool,
    /// Hidden in plans and output.
    pub sensitive: bool,
    /// Value used when the user leaves it unset (Terraform's schema default).
    pub default: Option<Value>,
    pub checks: Vec<Check>,
    /// Applied to both the desired and the live value before comparing.
    pub normalize: Option<Normalizer>,
    /// One line for docs and `stackd validate` suggestions.
    pub doc: &'static str,
    /// Deprecated by the provider, still read as it reads it: validation
    /// warns, naming this modern form.
    pub deprecated: Option<&'static str>,
}

impl AttrSchema {
    fn new(name: &'static str, ty: AttrType, presence: Presence) -> Self {
        AttrSchema {
            name,
            ty,
            presence,
            force_new: false,
            sensitive: false,
            default: None,
            checks: Vec::new(),
            normalize: None,
            doc: "",
            deprecated: None,
        }
    }
    pub fn required(name: &'static str, ty: AttrType) -> Self {
        Self::new(name, ty, Presence::Required)
    }
    pub fn optional(name: &'static str, ty: AttrType) -> Self {
        Self::new(name, ty, Presence::Optional)
    }
    pub fn optional_computed(name: &'static str, ty: AttrType) -> Self {
        Self::new(name, ty, Presence::OptionalComputed)
    }
    pub fn computed(name: &'static str, ty: AttrType) -> Self {
        Self::new(name, ty, Presence::Computed)
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn default(mut self, v: impl Into<Value>) -> Self {
        self.default = Some(v.into());
        self
    }
    pub fn check(mut self, c: Check) -> Self {
        self.checks.push(c);
        self
    }
    pub fn doc(mut self, d: &'static str) -> Self {
        self.doc = d;
        self
    }
    /// Deprecated in favour of `modern`, still honoured.
    pub fn deprecated(mut self, modern: &'static str) -> Self {
        self.deprecated = Some(modern);
        self
    }
    /// Compares values after putting both through `f`.
    pub fn normalize(mut self, f: fn(&Value) -> Value) -> Self {
        self.normalize = Some(Normalizer(f));
        self
    }
    /// True when the user may write this argument.
    pub fn is_argument(&self) -> bool {
        self.presence != Presence::Computed
    }
}

/// How instances of a nested block are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nesting {
    /// At most one block; its value is a list of zero or one map.
    Single,
    /// Ordered blocks.
    List,
    /// Unordered blocks: compared without regard to order.
    Set,
}

/// A nested block such as `ingress { ... }` or `route { ... }`.
#[derive(Clone, Debug, PartialEq)]
pub struct BlockSchema {
    pub name: &'static str,
    pub nesting: Nesting,
    pub min_items: usize,
    pub max_items: Option<usize>,
    pub force_new: bool,
    /// When the user writes no such block, the cloud's blocks are not diffed
    /// (Terraform's Optional+Computed blocks, e.g. a route table's `route`).
    pub computed_when_absent: bool,
    pub attrs: Vec<AttrSchema>,
    pub blocks: Vec<BlockSchema>,
    /// Deprecated arguments and how they are read.
    pub upgrades: Vec<Upgrade>,
    /// Deprecated arguments and blocks stackd does not read, with the
    /// modern form: each is an error naming it (never silently ignored).
    pub retired: Vec<(&'static str, &'static str)>,
    /// Set when the provider deprecated this block but still applies it:
    /// what to write instead (a warning at validate).
    pub deprecated: Option<&'static str>,
}

impl BlockSchema {
    pub fn new(name: &'static str, nesting: Nesting) -> Self {
        BlockSchema {
            name,
            nesting,
            min_items: 0,
            max_items: if nesting == Nesting::Single {
                Some(1)
            } else {
                None
            },
            force_new: false,
            computed_when_absent: false,
            attrs: Vec::new(),
            blocks: Vec::new(),
            upgrades: Vec::new(),
            retired: Vec::new(),
            deprecated: None,
        }
    }
    /// A deprecated argument or block `name` stackd does not read; `modern`
    /// tells the user what to do instead ("use an aws_s3_bucket_policy
    /// resource").
    pub fn retired(mut self, name: &'static str, modern: &'static str) -> Self {
        self.retired.push((name, modern));
        self
    }
    /// The modern form of a retired argument or block.
    pub fn find_retired(&self, name: &str) -> Option<&'static str> {
        self.retired
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, m)| *m)
    }
    pub fn attr(mut self, a: AttrSchema) -> Self {
        self.attrs.push(a);
        self
    }
    /// Accepts the deprecated argument `a`, read as `modern` by `apply`.
    pub fn upgrade(
        mut self,
        a: AttrSchema,
        modern: &'static str,
        apply: fn(Value, &mut BTreeMap<String, Value>),
    ) -> Self {
        self.upgrades.push(Upgrade {
            attr: a,
            modern,
            apply,
        });
        self
    }
    pub fn block(mut self, b: BlockSchema) -> Self {
        self.blocks.push(b);
        self
    }
    pub fn required(mut self) -> Self {
        self.min_items = 1;
        self
    }
    pub fn force_new(mut self) -> Self {
        self.force_new = true;
        self
    }
    /// Deprecated by the provider but still applied: `modern` is what to
    /// write instead.
    pub fn deprecated(mut self, modern: &'static str) -> Self {
        self.deprecated = Some(modern);
        self
    }
    pub fn computed_when_absent(mut self) -> Self {
        self.computed_when_absent = true;
        self
    }
    pub fn find_attr(&self, name: &str) -> Option<&AttrSchema> {
        self.attrs.iter().find(|a| a.name == name)
    }
    /// The deprecated argument `name`, if the block accepts it.
    pub fn find_upgrade(&self, name: &str) -> Option<&Upgrade> {
        self.upgrades.iter().find(|u| u.attr.name == name)
    }
    pub fn find_block(&self, name: &str) -> Option<&BlockSchema> {
        self.blocks.iter().find(|b| b.name == name)
    }
}

/// Whether a schema describes a managed resource or a data source.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mode {
    Managed,
    Data,
}

/// Default operation timeouts, overridable with `timeouts {}`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub create_secs: u64,
    pub update_secs: u64,
    pub delete_secs: u64,
}

impl Default for Timeouts {
    fn default() -> Self {
        Timeouts {
            create_secs: 600,
            update_secs: 600,
            delete_secs: 600,
        }
    }
}

/// The schema of a resource type or data source.
#[derive(Clone, Debug, PartialEq)]
pub struct ResourceSchema {
    pub type_name: &'static str,
    pub mode: Mode,
    /// Top-level attributes and nested blocks.
    pub body: BlockSchema,
    /// The resource carries `tags` / `tags_all` and the ownership tags.
    pub taggable: bool,
    pub timeouts: Timeouts,
    /// Replacements create the new object before destroying the old one,
    /// whatever `lifecycle` says: for types whose old and new objects can
    /// coexist and whose dependents must move first (an ECS task
    /// definition revision).
    pub replace_creates_first: bool,
    pub doc: &'static str,
    /// The provider's other names for this type (`aws_alb` for `aws_lb`).
    /// A block keeps the name it was written with (its address, state and
    /// tags say `aws_alb.web`); the schema and the provider's code are
    /// this type's.
    pub aliases: Vec<&'static str>,
}

impl ResourceSchema {
    /// A managed resource type. `id` is added as a computed attribute.
    pub fn resource(type_name: &'static str) -> Self {
        Self::with_mode(type_name, Mode::Managed)
    }
    /// A data source.
    pub fn data(type_name: &'static str) -> Self {
        Self::with_mode(type_name, Mode::Data)
    }
    fn with_mode(type_name: &'static str, mode: Mode) -> Self {
        ResourceSchema {
            type_name,
            mode,
            body: BlockSchema::new(type_name, Nesting::Single)
                .attr(AttrSchema::computed("id", AttrType::String)),
            taggable: false,
            timeouts: Timeouts::default(),
            replace_creates_first: false,
            doc: "",
            aliases: Vec::new(),
        }
    }
    /// Another name the provider gives this type.
    pub fn alias(mut self, name: &'static str) -> Self {
        self.aliases.push(name);
        self
    }
    /// True when `name` is this type's name or one of its aliases.
    pub fn is_named(&self, name: &str) -> bool {
        self.type_name == name || self.aliases.contains(&name)
    }
    pub fn attr(mut self, a: AttrSchema) -> Self {
        self.body.attrs.retain(|x| x.name != a.name);
        self.body.attrs.push(a);
        self
    }
    pub fn block(mut self, b: BlockSchema) -> Self {
        self.body.blocks.push(b);
        self
    }
    /// See [`BlockSchema::retired`].
    pub fn retired(mut self, name: &'static str, modern: &'static str) -> Self {
        self.body = self.body.retired(name, modern);
        self
    }
    /// See [`BlockSchema::upgrade`].
    pub fn upgrade(
        mut self,
        a: AttrSchema,
        modern: &'static str,
        apply: fn(Value, &mut BTreeMap<String, Value>),
    ) -> Self {
        self.body = self.body.upgrade(a, modern, apply);
        self
    }
    /// Adds `tags` (the user's) and `tags_all` (with default and ownership tags).
    pub fn taggable(mut self) -> Self {
        self.taggable = true;
        self.body.attrs.push(AttrSchema::optional(
            "tags",
            AttrType::map_of(AttrType::String),
        ));
        self.body.attrs.push(AttrSchema::computed(
            "tags_all",
            AttrType::map_of(AttrType::String),
        ));
        self
    }
    /// See [`ResourceSchema::replace_creates_first`].
    pub fn replace_creates_first(mut self) -> Self {
        self.replace_creates_first = true;
        self
    }
    pub fn timeouts(mut self, t: Timeouts) -> Self {
        self.timeouts = t;
        self
    }
    pub fn doc(mut self, d: &'static str) -> Self {
        self.doc = d;
        self
    }
    pub fn find_attr(&self, name: &str) -> Option<&AttrSchema> {
        self.body.find_attr(name)
    }
}

/// Every schema a provider offers, looked up by mode and type name.
#[derive(Clone, Debug, Default)]
pub struct SchemaSet {
    pub schemas: Vec<ResourceSchema>,
}

impl SchemaSet {
    pub fn new(schemas: Vec<ResourceSchema>) -> Self {
        SchemaSet { schemas }
    }
    /// The schema of a type, by its name or an alias.
    pub fn get(&self, mode: Mode, type_name: &str) -> Option<&ResourceSchema> {
        self.schemas
            .iter()
            .find(|s| s.mode == mode && s.is_named(type_name))
    }
    /// The type a name (or alias) stands for: `aws_alb` is `aws_lb`.
    pub fn canonical<'a>(&self, mode: Mode, type_name: &'a str) -> &'a str
    where
        'static: 'a,
    {
        self.get(mode, type_name).map_or(type_name, |s| s.type_name)
    }
    /// Type names of one mode, sorted, for "supported types are ..." messages.
    pub fn type_names(&self, mode: Mode) -> Vec<&'static str> {
        let mut names: Vec<_> = self
            .schemas
            .iter()
            .filter(|s| s.mode == mode)
            .map(|s| s.type_name)
            .collect();
        names.sort_unstable();
        names
    }
}
