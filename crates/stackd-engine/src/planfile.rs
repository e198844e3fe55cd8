//! The plan as a document: the versioned JSON that `stackd diff --format
//! json` prints and `stackd diff --out FILE` saves, and that `stackd apply
//! FILE` checks before applying. Documented for users in
//! `docs/plan-format.md`; this module is the schema.
//!
//! Like the state file, the document is its own type ([`PlanFileV2`]),
//! converted explicitly from the in-memory [`Plan`], so the model can change
//! without changing the format by accident.
//!
//! Values known only after apply are written `{"unknown": true}`; sensitive
//! values `{"sensitive": true}`: a plan file never reveals a secret. The
//! [`plan_digest`] is computed over the unredacted plan, so a change to a
//! sensitive value still changes the digest (the digest reveals nothing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use stackd_spec::schema::{AttrType, Nesting};
use stackd_spec::{Mode, ResourceSchema, SchemaSet, Value};

use crate::diff::canonical_json;
use crate::plan::{Action, Plan, PlanEntry, Reason};

/// The plan format this stackd writes and reads.
///
/// Version 1 was the undocumented preview `diff --format json` printed
/// before plans could be saved (`action` `noop`, reasons as plain strings);
/// version 2 is the first documented one.
pub const PLAN_FORMAT_VERSION: u32 = 2;

/// A plan document, format version 2.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanFileV2 {
    pub format_version: u32,
    /// The stackd that made it.
    pub stackd_version: String,
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
    /// `apply` or `destroy`.
    pub operation: String,
    pub stack: String,
    /// The stack identity the plan's ownership tags carry: the state's
    /// lineage, or the one a first apply of this plan gives the new state.
    #[serde(default)]
    pub stack_id: String,
    pub summary: SummaryV1,
    /// State renames from `moved` blocks, in order; apply does them first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub moved: Vec<MovedV1>,
    /// Instances `removed` blocks let go of: dropped from state, their
    /// objects left in the cloud.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forgotten: Vec<String>,
    /// Every instance in the spec or state, sorted by address (`no-op`
    /// entries included).
    pub resource_changes: Vec<ResourceChangeV1>,
    pub output_changes: BTreeMap<String, OutputChangeV1>,
    /// The state the plan was made against.
    pub prior_state: PriorStateV1,
    /// The spec the plan was made from.
    pub spec: SpecV1,
    /// `sha256:<hex>` over the unredacted changes: equal digests mean the
    /// same plan.
    pub plan_digest: String,
    /// The variable values the plan was made with, sensitive ones
    /// included, so that `stackd apply FILE` plans with exactly them. Only
    /// in saved plans (`diff --out`, written 0600), never in the document
    /// `diff --format json` prints.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variables: Option<BTreeMap<String, VariableV1>>,
}

/// One variable's value in a saved plan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VariableV1 {
    pub value: serde_json::Value,
}

/// A state rename from a `moved` block.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MovedV1 {
    pub from: String,
    pub to: String,
}

/// Counts of planned actions.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryV1 {
    pub add: usize,
    pub change: usize,
    pub replace: usize,
    pub destroy: usize,
    /// Data sources read during apply.
    pub read: usize,
    /// Objects found by their tags and taken into state.
    pub adopt: usize,
    /// False when applying would change nothing.
    pub changes: bool,
}

/// One instance's planned change.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceChangeV1 {
    pub address: String,
    /// `managed` or `data`.
    pub mode: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub name: String,
    /// `create`, `update`, `replace`, `delete`, `read` or `no-op`.
    pub action: String,
    pub reasons: Vec<ReasonV1>,
    /// The cloud ID of the existing object, if any.
    pub id: Option<String>,
    /// For `replace`: whether the new object is created first.
    pub create_before_destroy: bool,
    /// Attribute by attribute: for `create` every planned argument (before
    /// `null`), for `update`/`replace` what differs, for `delete` nothing.
    pub changes: Vec<AttributeChangeV1>,
}

/// Why an instance is in the plan.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonV1 {
    /// Stable: `new`, `deleted_outside`, `adopted`, `changed`, `forced_by`,
    /// `removed_from_spec`, `untracked`, `destroy_requested`,
    /// `data_deferred`, `tainted`.
    pub code: String,
    /// The same in words.
    pub message: String,
    /// For `forced_by`: the attributes that cannot change in place.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
}

/// One attribute's before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AttributeChangeV1 {
    pub attribute: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
    pub forces_replacement: bool,
    pub sensitive: bool,
}

/// One output's before and after.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OutputChangeV1 {
    pub before: Option<serde_json::Value>,
    pub after: serde_json::Value,
    pub sensitive: bool,
}

/// The state a plan was made against: applying it is refused when the
/// state has moved on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriorStateV1 {
    /// Where the state lives: a file path or `s3://bucket/key`.
    pub backend: String,
    /// `None` when no state had been saved yet.
    pub lineage: Option<String>,
    pub serial: u64,
}

/// The spec a plan was made from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecV1 {
    /// The spec directory as given on the command line.
    pub dir: String,
    /// `sha256:<hex>` over the spec's files and variable values.
    pub digest: String,
}

/// What a plan document records besides the plan itself.
#[derive(Clone, Debug)]
pub struct PlanContext {
    pub operation: String,
    pub stack: String,
    pub prior_state: PriorStateV1,
    pub spec: SpecV1,
    /// Values that must not be shown (see [`Secrets`]).
    pub secrets: Secrets,
}

/// Secret values a plan must not show wherever they end up: the values of
/// variables declared `sensitive` and of data sources' sensitive attributes
/// (an SSM parameter's value). An attribute is hidden when its value
/// contains one, whole or inside a string (a JSON document, user data), so a
/// secret passed through an expression into another attribute stays hidden.
/// Strings shorter than [`Secrets::MIN_LEN`] are not matched: they would
/// hide half the plan and say little.
#[derive(Clone, Debug, Default)]
pub struct Secrets {
    strings: Vec<String>,
}

impl Secrets {
    pub const MIN_LEN: usize = 4;

    /// The secrets among `values` (sensitive variables' values) and the
    /// sensitive attributes of the data sources `plan` read.
    pub fn new<'a>(
        plan: &Plan,
        schemas: &SchemaSet,
        values: impl IntoIterator<Item = &'a Value>,
    ) -> Secrets {
        let mut secrets = Secrets::of_values(values);
        for (address, value) in &plan.data {
            secrets.add_sensitive_attrs(schemas, Mode::Data, &address.block.type_name, value);
        }
        secrets
    }

    fn of_values<'a>(values: impl IntoIterator<Item = &'a Value>) -> Secrets {
        let mut secrets = Secrets::default();
        for v in values {
            secrets.add(v);
        }
        secrets
    }

    /// Adds the values of an object's sensitive attributes (by its schema).
    fn add_sensitive_attrs(
        &mut self,
        schemas: &SchemaSet,
        mode: Mode,
        type_name: &str,
        object: &Value,
    ) {
        let Some(schema) = schemas.get(mode, type_name) else {
            return;
        };
        for attr in schema.body.attrs.iter().filter(|a| a.sensitive) {
            if let Some(v) = object.get(attr.name) {
                self.add(v);
            }
        }
    }

    /// The secrets a state holds: the sensitive attributes of every
    /// resource and data source (by `schemas`), the values of sensitive
    /// outputs, and `values` (sensitive variables' values, when known).
    pub fn of_state<'a>(
        state: &crate::state::State,
        schemas: &SchemaSet,
        values: impl IntoIterator<Item = &'a Value>,
    ) -> Secrets {
        let mut secrets = Secrets::of_values(values);
        for (address, r) in &state.resources {
            secrets.add_sensitive_attrs(
                schemas,
                address.block.mode,
                &address.block.type_name,
                &r.attrs,
            );
        }
        for o in state.outputs.values().filter(|o| o.sensitive) {
            secrets.add(&o.value);
        }
        secrets
    }

    fn add(&mut self, v: &Value) {
        match v {
            Value::List(items) => items.iter().for_each(|i| self.add(i)),
            Value::Map(m) => m.values().for_each(|i| self.add(i)),
            other => {
                if let Some(s) = other.to_template_string() {
                    if s.chars().count() >= Self::MIN_LEN && !self.strings.contains(&s) {
                        self.strings.push(s);
                    }
                }
            }
        }
    }

    /// True when `v` contains a secret.
    pub fn hides(&self, v: &Value) -> bool {
        if self.strings.is_empty() {
            return false;
        }
        match v {
            Value::List(items) => items.iter().any(|i| self.hides(i)),
            Value::Map(m) => m.values().any(|i| self.hides(i)),
            other => other.to_template_string().is_some_and(|s| {
                self.strings
                    .iter()
                    .any(|secret| s.contains(secret.as_str()))
            }),
        }
    }
}

impl PlanFileV2 {
    /// The document for `plan`; `schemas` say which attributes are
    /// sensitive.
    pub fn from_plan(plan: &Plan, schemas: &SchemaSet, ctx: PlanContext) -> PlanFileV2 {
        PlanFileV2 {
            format_version: PLAN_FORMAT_VERSION,
            stackd_version: env!("CARGO_PKG_VERSION").to_string(),
            created_at: crate::state::rfc3339_now(),
            operation: ctx.operation,
            stack: ctx.stack,
            stack_id: plan.owner.id.clone(),
            summary: summary(plan),
            moved: plan
                .moves
                .iter()
                .map(|(from, to)| MovedV1 {
                    from: from.to_string(),
                    to: to.to_string(),
                })
                .collect(),
            forgotten: plan.forgets.iter().map(ToString::to_string).collect(),
            resource_changes: plan
                .entries
                .iter()
                .map(|e| resource_change(e, schemas, &ctx.secrets))
                .collect(),
            output_changes: plan
                .outputs
                .iter()
                .map(|(k, o)| {
                    (k.clone(), {
                        let sensitive = o.sensitive
                            || ctx.secrets.hides(&o.after)
                            || o.before.as_ref().is_some_and(|b| ctx.secrets.hides(b));
                        OutputChangeV1 {
                            before: o.before.as_ref().map(|b| redacted(b, sensitive)),
                            after: redacted(&o.after, sensitive),
                            sensitive,
                        }
                    })
                })
                .collect(),
            prior_state: ctx.prior_state,
            spec: ctx.spec,
            plan_digest: plan_digest(plan, schemas),
            variables: None,
        }
    }

    /// The document to save for `stackd apply FILE`: this one with the
    /// variable values the plan was made with.
    pub fn with_variables(&self, vars: &BTreeMap<String, Value>) -> PlanFileV2 {
        PlanFileV2 {
            variables: Some(
                vars.iter()
                    .map(|(k, v)| (k.clone(), VariableV1 { value: v.to_json() }))
                    .collect(),
            ),
            ..self.clone()
        }
    }

    /// Parses a saved plan; `place` names it in errors.
    pub fn parse(bytes: &[u8], place: &str) -> Result<PlanFileV2, PlanFileError> {
        #[derive(Deserialize)]
        struct Version {
            format_version: Option<u64>,
        }
        let version: Version =
            serde_json::from_slice(bytes).map_err(|source| PlanFileError::Malformed {
                place: place.to_string(),
                source,
            })?;
        match version.format_version {
            Some(v) if v == u64::from(PLAN_FORMAT_VERSION) => {}
            found => {
                return Err(PlanFileError::Version {
                    place: place.to_string(),
                    found,
                })
            }
        }
        serde_json::from_slice(bytes).map_err(|source| PlanFileError::Malformed {
            place: place.to_string(),
            source,
        })
    }

    /// Resource changes that do something (not `no-op`).
    pub fn actionable(&self) -> impl Iterator<Item = &ResourceChangeV1> {
        self.resource_changes.iter().filter(|c| c.action != "no-op")
    }
}

/// Why a saved plan could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PlanFileError {
    /// Not JSON, or not shaped like a plan.
    #[error("{place} is not a stackd plan: {source}")]
    Malformed {
        place: String,
        #[source]
        source: serde_json::Error,
    },
    /// A plan of a format this stackd does not read.
    #[error(
        "{place} has plan format_version {}, this stackd reads format_version {PLAN_FORMAT_VERSION}; make the plan again with this stackd",
        found.map_or_else(|| "(none)".to_string(), |v| v.to_string())
    )]
    Version { place: String, found: Option<u64> },
}

/// The action's name in the document.
pub fn action_name(action: Action) -> &'static str {
    match action {
        Action::NoOp => "no-op",
        Action::Create => "create",
        Action::Update => "update",
        Action::Replace => "replace",
        Action::Delete => "delete",
        Action::Read => "read",
    }
}

fn reason(r: &Reason) -> ReasonV1 {
    let (code, attributes) = match r {
        Reason::New => ("new", Vec::new()),
        Reason::DeletedOutside => ("deleted_outside", Vec::new()),
        Reason::Adopted => ("adopted", Vec::new()),
        Reason::Imported => ("imported", Vec::new()),
        Reason::Changed => ("changed", Vec::new()),
        Reason::ForcedBy(attrs) => ("forced_by", attrs.clone()),
        Reason::RemovedFromSpec => ("removed_from_spec", Vec::new()),
        Reason::Untracked => ("untracked", Vec::new()),
        Reason::DestroyRequested => ("destroy_requested", Vec::new()),
        Reason::DataDeferred => ("data_deferred", Vec::new()),
        Reason::DataAfterChanges => ("data_after_changes", Vec::new()),
        Reason::Tainted => ("tainted", Vec::new()),
    };
    ReasonV1 {
        code: code.to_string(),
        message: r.to_string(),
        attributes,
    }
}

fn summary(plan: &Plan) -> SummaryV1 {
    let mut s = SummaryV1 {
        changes: !plan.is_empty(),
        ..SummaryV1::default()
    };
    for e in &plan.entries {
        match e.action {
            Action::Create => s.add += 1,
            Action::Update => s.change += 1,
            Action::Replace => s.replace += 1,
            Action::Delete => s.destroy += 1,
            Action::Read => s.read += 1,
            Action::NoOp => {}
        }
        if e.reasons.contains(&Reason::Adopted) || e.reasons.contains(&Reason::Imported) {
            s.adopt += 1;
        }
    }
    s
}

fn resource_change(e: &PlanEntry, schemas: &SchemaSet, secrets: &Secrets) -> ResourceChangeV1 {
    let schema = schemas.get(e.address.block.mode, &e.address.block.type_name);
    let schema_sensitive = |name: &str| {
        schema
            .and_then(|s| s.find_attr(name))
            .is_some_and(|a| a.sensitive)
    };
    let changes = match e.action {
        Action::Create | Action::Read => match &e.desired {
            Some(Value::Map(d)) => d
                .iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let sensitive = schema_sensitive(k) || secrets.hides(v);
                    AttributeChangeV1 {
                        attribute: k.clone(),
                        before: serde_json::Value::Null,
                        after: redacted(v, sensitive),
                        forces_replacement: false,
                        sensitive,
                    }
                })
                .collect(),
            _ => Vec::new(),
        },
        Action::Update | Action::Replace => e
            .changes
            .iter()
            .map(|c| {
                let sensitive = c.sensitive
                    || schema_sensitive(&c.name)
                    || secrets.hides(&c.before)
                    || secrets.hides(&c.after);
                AttributeChangeV1 {
                    attribute: c.name.clone(),
                    before: redacted(&c.before, sensitive),
                    after: redacted(&c.after, sensitive),
                    forces_replacement: c.forces_replacement,
                    sensitive,
                }
            })
            .collect(),
        Action::Delete | Action::NoOp => Vec::new(),
    };
    ResourceChangeV1 {
        address: e.address.to_string(),
        mode: if e.address.block.mode == Mode::Data {
            "data"
        } else {
            "managed"
        }
        .to_string(),
        type_name: e.address.block.type_name.clone(),
        name: e.address.block.name.clone(),
        action: action_name(e.action).to_string(),
        reasons: e.reasons.iter().map(reason).collect(),
        id: e.prior.as_ref().map(|p| p.id.clone()),
        create_before_destroy: e.create_before_destroy,
        changes,
    }
}

/// A value as the document shows it: unknowns as `{"unknown": true}`,
/// sensitive values (when not null) as `{"sensitive": true}`.
pub fn redacted(v: &Value, sensitive: bool) -> serde_json::Value {
    if sensitive && !v.is_null() {
        return serde_json::json!({"sensitive": true});
    }
    unredacted(v)
}

/// A value with unknowns marked and nothing hidden (for digests only).
fn unredacted(v: &Value) -> serde_json::Value {
    match v {
        Value::Unknown => serde_json::json!({"unknown": true}),
        Value::List(items) if !v.is_wholly_known() => {
            serde_json::Value::Array(items.iter().map(unredacted).collect())
        }
        Value::Map(m) if !v.is_wholly_known() => {
            serde_json::Value::Object(m.iter().map(|(k, i)| (k.clone(), unredacted(i))).collect())
        }
        other => other.to_json(),
    }
}

/// `sha256:<hex>` over everything applying the plan would do: each
/// instance's action, reasons, prior ID, planned arguments and attribute
/// changes, and the output changes, with sensitive values included (only
/// the hash is ever shown). Two plans with equal digests do the same.
///
/// Values are hashed in a canonical form (object keys sorted, JSON
/// documents parsed, unordered sets and set blocks sorted), so the order in
/// which a cloud happens to list a set's members does not change the
/// digest of an otherwise equal plan.
pub fn plan_digest(plan: &Plan, schemas: &SchemaSet) -> String {
    let entries: Vec<serde_json::Value> = plan
        .entries
        .iter()
        .map(|e| {
            let schema = schemas.get(e.address.block.mode, &e.address.block.type_name);
            let form = |name: &str, v: &Value| digest_form(schema, name, v);
            let desired = match &e.desired {
                Some(Value::Map(m)) => serde_json::Value::Object(
                    m.iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(form(k, v))))
                        .collect(),
                ),
                Some(other) => serde_json::Value::String(canonical_json(&unredacted(other))),
                None => serde_json::Value::Null,
            };
            serde_json::json!({
                "address": e.address.to_string(),
                "action": action_name(e.action),
                "reasons": e.reasons.iter().map(|r| reason(r).code).collect::<Vec<_>>(),
                "id": e.prior.as_ref().map(|p| p.id.clone()),
                "desired": desired,
                "changes": e.changes.iter().map(|c| serde_json::json!([
                    c.name, form(&c.name, &c.before), form(&c.name, &c.after), c.forces_replacement
                ])).collect::<Vec<_>>(),
                "create_before_destroy": e.create_before_destroy,
            })
        })
        .collect();
    let outputs: BTreeMap<&String, serde_json::Value> = plan
        .outputs
        .iter()
        .map(|(k, o)| {
            (
                k,
                serde_json::json!([
                    o.before.as_ref().map(|b| canonical_json(&unredacted(b))),
                    canonical_json(&unredacted(&o.after))
                ]),
            )
        })
        .collect();
    let mut doc = serde_json::json!({"entries": entries, "outputs": outputs});
    // State-only changes count too (kept out of the digest when there are
    // none, so plans without them keep the digests they had).
    if !plan.moves.is_empty() {
        doc["moved"] = serde_json::json!(plan
            .moves
            .iter()
            .map(|(f, t)| [f.to_string(), t.to_string()])
            .collect::<Vec<_>>());
    }
    if !plan.forgets.is_empty() {
        doc["forgotten"] = serde_json::json!(plan
            .forgets
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>());
    }
    let text = canonical_json(&doc);
    sha256_hex(text.as_bytes())
}

/// One attribute's value in the canonical form the digest hashes.
fn digest_form(schema: Option<&ResourceSchema>, name: &str, v: &Value) -> String {
    let attr = schema.and_then(|s| s.find_attr(name));
    let block = schema.and_then(|s| s.body.find_block(name));
    let json = match (attr.map(|a| &a.ty), v) {
        (Some(AttrType::Json), Value::String(text)) => {
            serde_json::from_str(text).unwrap_or_else(|_| unredacted(v))
        }
        _ => unredacted(v),
    };
    let unordered = matches!(attr.map(|a| &a.ty), Some(AttrType::Set(_)))
        || block.is_some_and(|b| b.nesting == Nesting::Set);
    match json {
        serde_json::Value::Array(items) if unordered => {
            let mut forms: Vec<String> = items.iter().map(canonical_json).collect();
            forms.sort();
            format!("[{}]", forms.join(","))
        }
        other => canonical_json(&other),
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(7 + 64);
    out.push_str("sha256:");
    for b in digest {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// Where two plans differ, address by address (for the message when a
/// saved plan no longer matches what applying would do).
pub fn differences(saved: &PlanFileV2, now: &PlanFileV2) -> Vec<String> {
    let index = |p: &PlanFileV2| -> BTreeMap<String, ResourceChangeV1> {
        p.resource_changes
            .iter()
            .map(|c| (c.address.clone(), c.clone()))
            .collect()
    };
    let (a, b) = (index(saved), index(now));
    let mut out = Vec::new();
    for (addr, was) in &a {
        match b.get(addr) {
            None => out.push(format!(
                "{addr}: planned {}, now not in the plan",
                was.action
            )),
            Some(is) if is.action != was.action => {
                out.push(format!("{addr}: planned {}, now {}", was.action, is.action))
            }
            Some(is) if is != was => out.push(format!("{addr}: {} with other values", is.action)),
            Some(_) => {}
        }
    }
    for (addr, is) in &b {
        if !a.contains_key(addr) {
            out.push(format!("{addr}: not in the saved plan, now {}", is.action));
        }
    }
    if out.is_empty() && saved.output_changes != now.output_changes {
        out.push("output values differ".to_string());
    }
    if out.is_empty() {
        // Only a sensitive value differs: the digests show it, the
        // documents cannot.
        out.push("a sensitive value differs".to_string());
    }
    out
}

#[cfg(test)]
mod tests;
