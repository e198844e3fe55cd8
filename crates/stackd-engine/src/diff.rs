//! Attribute-level diff of desired arguments against live attributes,
//! driven by the resource schema: sets compare without order, JSON
//! compares semantically, zero values equal unset, and computed
//! attributes the user did not set are the cloud's business.

use std::collections::BTreeMap;

use stackd_spec::schema::{AttrSchema, AttrType, BlockSchema, Nesting, Presence, ResourceSchema};
use stackd_spec::Value;

/// One attribute that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct AttrChange {
    /// Top-level attribute or block name.
    pub name: String,
    pub before: Value,
    /// `Value::Unknown` when only known after apply.
    pub after: Value,
    /// Changing it replaces the resource.
    pub forces_replacement: bool,
    pub sensitive: bool,
}

/// Which attributes `lifecycle.ignore_changes` excludes.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct IgnoreChanges {
    pub all: bool,
    pub names: Vec<String>,
}

impl IgnoreChanges {
    fn ignores(&self, name: &str) -> bool {
        self.all
            || self.names.iter().any(|n| {
                n == name
                    || n.starts_with(&format!("{name}."))
                    || n.starts_with(&format!("{name}["))
            })
    }
}

/// Compares desired arguments (from the spec, defaults filled in) with the
/// live attributes. Only arguments are compared; for taggable types
/// `tags_all` (the merged tag set) is compared instead of `tags`.
pub fn diff(
    schema: &ResourceSchema,
    desired: &Value,
    live: &Value,
    ignore: &IgnoreChanges,
) -> Vec<AttrChange> {
    let mut changes = Vec::new();
    for attr in &schema.body.attrs {
        let compare = match attr.name {
            "tags" => false,
            "tags_all" => schema.taggable,
            _ => attr.presence != Presence::Computed,
        };
        if !compare
            || ignore.ignores(attr.name)
            || (attr.name == "tags_all" && ignore.ignores("tags"))
        {
            continue;
        }
        let d = desired.get(attr.name).cloned().unwrap_or(Value::Null);
        let l = live.get(attr.name).cloned().unwrap_or(Value::Null);
        if d.is_null() && attr.presence == Presence::OptionalComputed {
            continue;
        }
        let (d, l) = normalized(attr, d, l);
        if !attr_equal(&attr.ty, &d, &l) {
            changes.push(AttrChange {
                name: attr.name.to_string(),
                before: l,
                after: d,
                forces_replacement: attr.force_new,
                sensitive: attr.sensitive,
            });
        }
    }
    for block in &schema.body.blocks {
        if ignore.ignores(block.name) {
            continue;
        }
        let d = desired.get(block.name).cloned().unwrap_or(Value::Null);
        if d.is_null() && block.computed_when_absent {
            continue;
        }
        let l = live.get(block.name).cloned().unwrap_or(Value::Null);
        if !blocks_equal(block, &d, &l) {
            let forces_replacement = block.force_new
                || block_forces_new(block)
                || (!block.blocks.is_empty() && force_new_part_differs(block, &d, &l));
            changes.push(AttrChange {
                name: block.name.to_string(),
                before: normalize_blocks(block, &l),
                after: if d.is_unknown() {
                    d
                } else {
                    normalize_blocks(block, &d)
                },
                forces_replacement,
                sensitive: false,
            });
        }
    }
    changes
}

/// Both values through the attribute's normalizer, if it has one (an
/// unknown desired value stays unknown).
fn normalized(attr: &AttrSchema, d: Value, l: Value) -> (Value, Value) {
    match attr.normalize {
        Some(n) if d.is_wholly_known() => ((n.0)(&d), (n.0)(&l)),
        Some(n) => (d, (n.0)(&l)),
        None => (d, l),
    }
}

/// True when every argument of the block, nested blocks' included, forces
/// replacement: any change of it replaces the object.
fn block_forces_new(block: &BlockSchema) -> bool {
    block.attrs.iter().any(|a| a.force_new)
        && block
            .attrs
            .iter()
            .all(|a| a.force_new || a.presence == Presence::Computed)
        && block
            .blocks
            .iter()
            .all(|b| b.force_new || block_forces_new(b))
}

/// For a block with nested blocks, some of whose parts update in place
/// (Cloud Map's `dns_config`: a force-new `namespace_id` beside
/// `dns_records` whose `ttl` changes in place): true when a force-new part
/// is what differs. Items that cannot be paired (a count that changed, an
/// unknown value) count as differing wherever the block has such a part.
fn force_new_part_differs(block: &BlockSchema, d: &Value, l: &Value) -> bool {
    if !has_force_new_part(block) {
        return false;
    }
    if !d.is_wholly_known() {
        return true;
    }
    let (a, b) = (normalize_blocks(block, d), normalize_blocks(block, l));
    let (Value::List(x), Value::List(y)) = (&a, &b) else {
        return true;
    };
    x.len() != y.len()
        || x.iter().zip(y).any(|(p, q)| {
            block.attrs.iter().filter(|a| a.force_new).any(|a| {
                let dv = p.get(a.name).cloned().unwrap_or(Value::Null);
                let lv = q.get(a.name).cloned().unwrap_or(Value::Null);
                let (dv, lv) = normalized(a, dv, lv);
                let unset = dv.is_null() && a.presence == Presence::OptionalComputed;
                !(unset || attr_equal(&a.ty, &dv, &lv))
            }) || block.blocks.iter().any(|nested| {
                let dv = p.get(nested.name).cloned().unwrap_or(Value::Null);
                let lv = q.get(nested.name).cloned().unwrap_or(Value::Null);
                !blocks_equal(nested, &dv, &lv)
                    && (nested.force_new
                        || block_forces_new(nested)
                        || force_new_part_differs(nested, &dv, &lv))
            })
        })
}

fn has_force_new_part(block: &BlockSchema) -> bool {
    block.force_new
        || block.attrs.iter().any(|a| a.force_new)
        || block.blocks.iter().any(has_force_new_part)
}

/// True when a value is unset or the zero value of its type: Terraform's
/// classic SDK does not tell these apart, and neither do cloud APIs.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Map(m) => m.is_empty(),
        Value::Bool(b) => !b,
        _ => false,
    }
}

/// Semantic equality of one attribute's desired and live values.
pub fn attr_equal(ty: &AttrType, d: &Value, l: &Value) -> bool {
    if d.is_unknown() {
        return false;
    }
    if is_empty(d) && is_empty(l) {
        return true;
    }
    match ty {
        AttrType::Json => json_equal(d, l),
        AttrType::Set(inner) => match (d, l) {
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && canonical_sorted(inner, a) == canonical_sorted(inner, b)
            }
            _ => false,
        },
        AttrType::List(inner) => match (d, l) {
            (Value::List(a), Value::List(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(x, y)| attr_equal(inner, x, y))
            }
            _ => false,
        },
        AttrType::Map(inner) => match (d, l) {
            (Value::Map(a), Value::Map(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, x)| b.get(k).is_some_and(|y| attr_equal(inner, x, y)))
            }
            _ => false,
        },
        AttrType::Number => match (d, l) {
            (Value::Number(a), Value::Number(b)) => a == b,
            (a, b) => scalar_string(a) == scalar_string(b),
        },
        AttrType::String | AttrType::Bool | AttrType::Any => {
            scalar_string(d) == scalar_string(l) || d == l
        }
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    v.to_template_string()
}

fn canonical_sorted(ty: &AttrType, items: &[Value]) -> Vec<String> {
    let mut keys: Vec<String> = items.iter().map(|v| canonical(ty, v)).collect();
    keys.sort();
    keys
}

/// A string form under which semantically equal values are equal.
fn canonical(ty: &AttrType, v: &Value) -> String {
    match (ty, v) {
        (AttrType::Json, Value::String(s)) => serde_json::from_str::<serde_json::Value>(s)
            .map(|j| canonical_json(&j))
            .unwrap_or_else(|_| s.clone()),
        (_, v) if is_empty(v) => "null".into(),
        (_, v) => v
            .to_template_string()
            .unwrap_or_else(|| v.to_json().to_string()),
    }
}

/// JSON with object keys sorted, for comparisons.
pub fn canonical_json(j: &serde_json::Value) -> String {
    match j {
        serde_json::Value::Object(m) => {
            let sorted: BTreeMap<&String, String> =
                m.iter().map(|(k, v)| (k, canonical_json(v))).collect();
            let parts: Vec<String> = sorted.iter().map(|(k, v)| format!("{:?}:{v}", k)).collect();
            format!("{{{}}}", parts.join(","))
        }
        serde_json::Value::Array(items) => {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(canonical_json)
                    .collect::<Vec<_>>()
                    .join(",")
            )
        }
        other => other.to_string(),
    }
}

fn json_equal(d: &Value, l: &Value) -> bool {
    match (d, l) {
        (Value::String(a), Value::String(b)) => {
            match (
                serde_json::from_str::<serde_json::Value>(a),
                serde_json::from_str::<serde_json::Value>(b),
            ) {
                (Ok(x), Ok(y)) => canonical_json(&x) == canonical_json(&y),
                _ => a == b,
            }
        }
        _ => d == l,
    }
}

/// Fills unset attributes with their defaults and drops what the schema
/// does not know, so a block read from the cloud and one written by the
/// user compare equal when they mean the same.
pub fn normalize_block(schema: &BlockSchema, v: &Value) -> Value {
    let Value::Map(m) = v else {
        return v.clone();
    };
    let mut out = BTreeMap::new();
    for a in &schema.attrs {
        if a.presence == Presence::Computed {
            continue;
        }
        let value = m.get(a.name).cloned().unwrap_or(Value::Null);
        let value = if value.is_null() {
            a.default.clone().unwrap_or(Value::Null)
        } else {
            value
        };
        out.insert(a.name.to_string(), normalize_attr(a, &value));
    }
    for b in &schema.blocks {
        out.insert(
            b.name.to_string(),
            normalize_blocks(b, m.get(b.name).unwrap_or(&Value::Null)),
        );
    }
    Value::Map(out)
}

fn normalize_attr(a: &AttrSchema, v: &Value) -> Value {
    if is_empty(v) {
        return Value::Null;
    }
    match (&a.ty, v) {
        (AttrType::Set(_), Value::List(items)) => {
            let mut items = items.clone();
            items.sort_by_key(|x| canonical(&a.ty, x));
            Value::List(items)
        }
        (AttrType::Number, Value::String(s)) => {
            s.parse().map(Value::Number).unwrap_or_else(|_| v.clone())
        }
        _ => v.clone(),
    }
}

/// Normalises a list of blocks; sets are sorted into a canonical order.
pub fn normalize_blocks(schema: &BlockSchema, v: &Value) -> Value {
    match v {
        Value::List(items) => {
            let mut items: Vec<Value> = items.iter().map(|i| normalize_block(schema, i)).collect();
            if schema.nesting == Nesting::Set {
                items.sort_by_key(|i| i.to_json().to_string());
                items.dedup();
            }
            Value::List(items)
        }
        Value::Null => Value::List(Vec::new()),
        other => other.clone(),
    }
}

fn blocks_equal(schema: &BlockSchema, d: &Value, l: &Value) -> bool {
    if d.is_unknown() || !d.is_wholly_known() {
        return false;
    }
    let (a, b) = (normalize_blocks(schema, d), normalize_blocks(schema, l));
    match (&a, &b) {
        (Value::List(x), Value::List(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| block_item_equal(schema, p, q))
        }
        _ => a == b,
    }
}

fn block_item_equal(schema: &BlockSchema, d: &Value, l: &Value) -> bool {
    schema
        .attrs
        .iter()
        .filter(|a| a.presence != Presence::Computed)
        .all(|a| {
            let dv = d.get(a.name).cloned().unwrap_or(Value::Null);
            let lv = l.get(a.name).cloned().unwrap_or(Value::Null);
            let (dv, lv) = normalized(a, dv, lv);
            (dv.is_null() && a.presence == Presence::OptionalComputed)
                || attr_equal(&a.ty, &dv, &lv)
        })
        && schema.blocks.iter().all(|b| {
            let dv = d.get(b.name).cloned().unwrap_or(Value::Null);
            let lv = l.get(b.name).cloned().unwrap_or(Value::Null);
            blocks_equal(b, &dv, &lv)
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use stackd_spec::schema::{AttrSchema as A, AttrType as T, BlockSchema as B};

    fn sg_schema() -> ResourceSchema {
        ResourceSchema::resource("test_group")
            .attr(A::required("name", T::String).force_new())
            .attr(A::optional("description", T::String).default("Managed"))
            .attr(A::optional("policy", T::Json))
            .attr(A::optional_computed("zone", T::String))
            .attr(A::computed("arn", T::String))
            .block(
                B::new("ingress", Nesting::Set)
                    .computed_when_absent()
                    .attr(A::required("from_port", T::Number))
                    .attr(A::optional("cidr_blocks", T::list_of(T::String)))
                    .attr(A::optional("self", T::Bool).default(false)),
            )
            .taggable()
    }

    fn desired() -> Value {
        Value::map([
            ("name", Value::from("web")),
            ("description", Value::from("Managed")),
            ("policy", Value::from(r#"{"b":1,"a":[1,2]}"#)),
            ("zone", Value::Null),
            (
                "ingress",
                Value::from(vec![
                    Value::map([
                        ("from_port", Value::from(443)),
                        ("cidr_blocks", Value::from(vec!["0.0.0.0/0"])),
                    ]),
                    Value::map([
                        ("from_port", Value::from(80)),
                        ("cidr_blocks", Value::from(vec!["0.0.0.0/0"])),
                    ]),
                ]),
            ),
            ("tags_all", Value::map([("Name", Value::from("web"))])),
        ])
    }

    fn live() -> Value {
        Value::map([
            ("id", Value::from("sg-1")),
            ("name", Value::from("web")),
            ("description", Value::from("Managed")),
            ("policy", Value::from(r#"{"a": [1, 2], "b": 1}"#)),
            ("zone", Value::from("us-east-1a")),
            ("arn", Value::from("arn:x")),
            (
                "ingress",
                Value::from(vec![
                    Value::map([
                        ("from_port", Value::from(80)),
                        ("cidr_blocks", Value::from(vec!["0.0.0.0/0"])),
                        ("self", Value::from(false)),
                    ]),
                    Value::map([
                        ("from_port", Value::from(443)),
                        ("cidr_blocks", Value::from(vec!["0.0.0.0/0"])),
                        ("self", Value::Null),
                    ]),
                ]),
            ),
            ("tags_all", Value::map([("Name", Value::from("web"))])),
        ])
    }

    #[test]
    fn equal_meaning_gives_no_diff() {
        assert_eq!(
            diff(&sg_schema(), &desired(), &live(), &IgnoreChanges::default()),
            vec![]
        );
    }

    #[test]
    fn changed_set_block_and_tag_are_reported() {
        let mut l = live();
        if let Value::Map(m) = &mut l {
            m.insert(
                "ingress".into(),
                Value::from(vec![Value::map([("from_port", Value::from(80))])]),
            );
            m.insert(
                "tags_all".into(),
                Value::map([("Name", Value::from("other"))]),
            );
        }
        let names: Vec<_> = diff(&sg_schema(), &desired(), &l, &IgnoreChanges::default())
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(names, vec!["tags_all", "ingress"]);
    }

    #[test]
    fn force_new_attribute_forces_replacement_and_unknown_differs() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert("name".into(), Value::Unknown);
        }
        let changes = diff(&sg_schema(), &d, &live(), &IgnoreChanges::default());
        assert_eq!(changes.len(), 1);
        assert!(changes[0].forces_replacement);
        assert_eq!(changes[0].after, Value::Unknown);
    }

    #[test]
    fn a_nested_block_changes_in_place_unless_a_force_new_part_differs() {
        let schema = ResourceSchema::resource("t").block(
            B::new("dns_config", Nesting::List)
                .attr(A::required("namespace_id", T::String).force_new())
                .block(
                    B::new("dns_records", Nesting::List)
                        .attr(A::required("ttl", T::Number))
                        .attr(A::required("type", T::String).force_new()),
                ),
        );
        let v = |ns: &str, ttl: i64, ty: &str| {
            Value::map([(
                "dns_config",
                Value::List(vec![Value::map([
                    ("namespace_id", Value::from(ns)),
                    (
                        "dns_records",
                        Value::List(vec![Value::map([
                            ("ttl", Value::from(ttl)),
                            ("type", Value::from(ty)),
                        ])]),
                    ),
                ])]),
            )])
        };
        let none = IgnoreChanges::default();
        let live = v("ns-1", 10, "A");
        let ttl = diff(&schema, &v("ns-1", 30, "A"), &live, &none);
        assert_eq!(ttl.len(), 1);
        assert!(!ttl[0].forces_replacement, "a TTL changes in place");
        let ns = diff(&schema, &v("ns-2", 10, "A"), &live, &none);
        assert!(ns[0].forces_replacement, "another namespace replaces");
        let ty = diff(&schema, &v("ns-1", 10, "SRV"), &live, &none);
        assert!(ty[0].forces_replacement, "another record type replaces");
    }

    #[test]
    fn ignore_changes_skips_tags() {
        let mut l = live();
        if let Value::Map(m) = &mut l {
            m.insert(
                "tags_all".into(),
                Value::map([("Name", Value::from("other"))]),
            );
        }
        let ignore = IgnoreChanges {
            all: false,
            names: vec!["tags".into()],
        };
        assert!(diff(&sg_schema(), &desired(), &l, &ignore).is_empty());
    }

    #[test]
    fn a_normalizer_applies_to_both_sides() {
        fn lower(v: &Value) -> Value {
            v.as_str()
                .map(|s| Value::from(s.to_lowercase()))
                .unwrap_or_else(|| v.clone())
        }
        let schema =
            ResourceSchema::resource("t").attr(A::required("mode", T::String).normalize(lower));
        let d = Value::map([("mode", Value::from("FAST"))]);
        let l = Value::map([("mode", Value::from("fast"))]);
        assert!(diff(&schema, &d, &l, &IgnoreChanges::default()).is_empty());
        let l = Value::map([("mode", Value::from("slow"))]);
        assert_eq!(diff(&schema, &d, &l, &IgnoreChanges::default()).len(), 1);
    }

    #[test]
    fn absent_computed_block_is_not_diffed() {
        let mut d = desired();
        if let Value::Map(m) = &mut d {
            m.insert("ingress".into(), Value::Null);
        }
        assert!(diff(&sg_schema(), &d, &live(), &IgnoreChanges::default()).is_empty());
    }
}
