//! Type constraints (`type = list(string)`) and conversion of values to
//! them, with HCL's safe conversions ("80" to 80, 80 to "80", ...).

use std::collections::BTreeMap;

use crate::expr::{Expr, ExprKind, ObjectKey};
use crate::schema::AttrType;
use crate::value::{format_number, Value};

/// A type constraint, as written in `variable` blocks or implied by a schema.
#[derive(Clone, Debug, PartialEq)]
pub enum TypeExpr {
    Any,
    String,
    Number,
    Bool,
    List(Box<TypeExpr>),
    Set(Box<TypeExpr>),
    Map(Box<TypeExpr>),
    /// Attribute name to (type, optional): `None` for a required
    /// attribute, `Some(default)` for `optional(type)` (default null) or
    /// `optional(type, default)`.
    Object(BTreeMap<String, (TypeExpr, Option<Value>)>),
    Tuple(Vec<TypeExpr>),
}

impl TypeExpr {
    /// Reads a type constraint expression such as `map(object({ cidr = string }))`.
    pub fn from_expr(e: &Expr) -> Result<TypeExpr, String> {
        match &e.kind {
            ExprKind::Variable(name) => match name.as_str() {
                "any" => Ok(TypeExpr::Any),
                "string" => Ok(TypeExpr::String),
                "number" => Ok(TypeExpr::Number),
                "bool" => Ok(TypeExpr::Bool),
                "list" | "set" | "map" => Ok(TypeExpr::from_name(name, TypeExpr::Any)),
                other => Err(format!("unknown type \"{other}\"")),
            },
            ExprKind::Call { name, args, .. } => {
                let one = || -> Result<TypeExpr, String> {
                    match args.as_slice() {
                        [a] => TypeExpr::from_expr(a),
                        _ => Err(format!("{name}(...) takes one type argument")),
                    }
                };
                match name.as_str() {
                    "list" | "set" | "map" => Ok(TypeExpr::from_name(name, one()?)),
                    "optional" => match args.as_slice() {
                        [t] | [t, _] => TypeExpr::from_expr(t),
                        _ => Err("optional(...) takes a type and an optional default".into()),
                    },
                    "object" => match args.as_slice() {
                        [Expr {
                            kind: ExprKind::Object(items),
                            ..
                        }] => {
                            let mut attrs = BTreeMap::new();
                            for (k, v) in items {
                                let key = match k {
                                    ObjectKey::Ident(n, _) => n.clone(),
                                    ObjectKey::Expr(Expr {
                                        kind: ExprKind::Literal(Value::String(s)),
                                        ..
                                    }) => s.clone(),
                                    _ => return Err("object type keys must be names".into()),
                                };
                                let ty = TypeExpr::from_expr(v)?;
                                let optional = match &v.kind {
                                    ExprKind::Call { name, args, .. } if name == "optional" => {
                                        Some(match args.get(1) {
                                            None => Value::Null,
                                            Some(d) => {
                                                let d = constant(d).ok_or_else(|| {
                                                    format!("the default of optional attribute \"{key}\" must be a constant value")
                                                })?;
                                                convert(&d, &ty).map_err(|e| {
                                                    format!("the default of optional attribute \"{key}\": {e}")
                                                })?
                                            }
                                        })
                                    }
                                    _ => None,
                                };
                                attrs.insert(key, (ty, optional));
                            }
                            Ok(TypeExpr::Object(attrs))
                        }
                        _ => Err("object(...) takes an object of attribute types".into()),
                    },
                    "tuple" => match args.as_slice() {
                        [Expr {
                            kind: ExprKind::Tuple(items),
                            ..
                        }] => Ok(TypeExpr::Tuple(
                            items
                                .iter()
                                .map(TypeExpr::from_expr)
                                .collect::<Result<_, _>>()?,
                        )),
                        _ => Err("tuple(...) takes a list of types".into()),
                    },
                    other => Err(format!("unknown type constructor \"{other}\"")),
                }
            }
            ExprKind::Literal(Value::String(quoted)) => Err(format!(
                "type = \"{quoted}\" (a quoted type) is Terraform 0.11 syntax; write type = {}",
                match quoted.as_str() {
                    "list" | "set" => format!("{quoted}(string)"),
                    "map" => "map(string)".to_string(),
                    other => other.to_string(),
                }
            )),
            _ => Err("a type constraint is a type name such as string or list(string)".into()),
        }
    }

    fn from_name(name: &str, inner: TypeExpr) -> TypeExpr {
        match name {
            "list" => TypeExpr::List(Box::new(inner)),
            "set" => TypeExpr::Set(Box::new(inner)),
            _ => TypeExpr::Map(Box::new(inner)),
        }
    }

    /// The constraint a schema attribute type implies.
    pub fn from_attr(t: &AttrType) -> TypeExpr {
        match t {
            AttrType::String | AttrType::Json => TypeExpr::String,
            AttrType::Number => TypeExpr::Number,
            AttrType::Bool => TypeExpr::Bool,
            AttrType::List(t) => TypeExpr::List(Box::new(TypeExpr::from_attr(t))),
            AttrType::Set(t) => TypeExpr::Set(Box::new(TypeExpr::from_attr(t))),
            AttrType::Map(t) => TypeExpr::Map(Box::new(TypeExpr::from_attr(t))),
            AttrType::Any => TypeExpr::Any,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            TypeExpr::Any => "any".into(),
            TypeExpr::String => "string".into(),
            TypeExpr::Number => "number".into(),
            TypeExpr::Bool => "bool".into(),
            TypeExpr::List(t) => format!("list({})", t.describe()),
            TypeExpr::Set(t) => format!("set({})", t.describe()),
            TypeExpr::Map(t) => format!("map({})", t.describe()),
            TypeExpr::Object(_) => "object".into(),
            TypeExpr::Tuple(_) => "tuple".into(),
        }
    }
}

/// Converts a value to a type, as HCL's automatic conversions do. Unknown
/// and null values pass through.
pub fn convert(v: &Value, ty: &TypeExpr) -> Result<Value, String> {
    let mismatch = || format!("expected {}, got {}", ty.describe(), describe_value(v));
    match (ty, v) {
        (_, Value::Unknown) | (_, Value::Null) | (TypeExpr::Any, _) => Ok(v.clone()),
        (TypeExpr::String, Value::String(_)) => Ok(v.clone()),
        (TypeExpr::String, Value::Number(n)) => Ok(Value::String(format_number(*n))),
        (TypeExpr::String, Value::Bool(b)) => Ok(Value::String(b.to_string())),
        (TypeExpr::Number, Value::Number(_)) => Ok(v.clone()),
        (TypeExpr::Number, Value::String(s)) => s
            .trim()
            .parse::<f64>()
            .map(Value::Number)
            .map_err(|_| format!("expected number, got string {s:?}")),
        (TypeExpr::Bool, Value::Bool(_)) => Ok(v.clone()),
        (TypeExpr::Bool, Value::String(s)) if s == "true" || s == "false" => {
            Ok(Value::Bool(s == "true"))
        }
        (TypeExpr::List(t), Value::List(items)) => items
            .iter()
            .enumerate()
            .map(|(i, x)| convert(x, t).map_err(|e| format!("element {i}: {e}")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        (TypeExpr::Set(t), Value::List(items)) => {
            let mut out = Vec::new();
            for x in items {
                let c = convert(x, t)?;
                if !out.contains(&c) {
                    out.push(c);
                }
            }
            sort_set(&mut out);
            Ok(Value::List(out))
        }
        (TypeExpr::Map(t), Value::Map(m)) => m
            .iter()
            .map(|(k, x)| {
                convert(x, t)
                    .map(|c| (k.clone(), c))
                    .map_err(|e| format!("key {k:?}: {e}"))
            })
            .collect::<Result<BTreeMap<_, _>, _>>()
            .map(Value::Map),
        (TypeExpr::Object(attrs), Value::Map(m)) => {
            let mut out = BTreeMap::new();
            for (name, (t, optional)) in attrs {
                match (m.get(name), optional) {
                    // A null optional attribute takes its default, as an
                    // absent one does.
                    (Some(Value::Null) | None, Some(default)) => {
                        out.insert(name.clone(), default.clone());
                    }
                    (Some(x), _) => {
                        out.insert(
                            name.clone(),
                            convert(x, t).map_err(|e| format!("attribute {name:?}: {e}"))?,
                        );
                    }
                    (None, None) => return Err(format!("attribute {name:?} is required")),
                }
            }
            Ok(Value::Map(out))
        }
        (TypeExpr::Tuple(types), Value::List(items)) if types.len() == items.len() => items
            .iter()
            .zip(types)
            .map(|(x, t)| convert(x, t))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        _ => Err(mismatch()),
    }
}

/// The value of a constant expression (literals, lists and objects of
/// them), as type defaults are written.
fn constant(e: &Expr) -> Option<Value> {
    match &e.kind {
        ExprKind::Literal(v) => Some(v.clone()),
        ExprKind::Tuple(items) => items
            .iter()
            .map(constant)
            .collect::<Option<_>>()
            .map(Value::List),
        ExprKind::Object(items) => items
            .iter()
            .map(|(k, v)| {
                let key = match k {
                    ObjectKey::Ident(n, _) => n.clone(),
                    ObjectKey::Expr(k) => constant(k)?.as_str()?.to_string(),
                };
                Some((key, constant(v)?))
            })
            .collect::<Option<BTreeMap<_, _>>>()
            .map(Value::Map),
        ExprKind::Template(parts) if parts.is_empty() => Some(Value::from("")),
        _ => None,
    }
}

/// Sets are kept in a stable order: strings and numbers sorted, others as found.
pub fn sort_set(items: &mut [Value]) {
    if items.iter().all(|v| matches!(v, Value::String(_))) {
        items.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
    } else if items.iter().all(|v| matches!(v, Value::Number(_))) {
        items.sort_by(|a, b| {
            a.as_f64()
                .partial_cmp(&b.as_f64())
                .unwrap_or(std::cmp::Ordering::Equal)
        });
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("string {s:?}"),
        Value::Number(n) => format!("number {}", format_number(*n)),
        Value::Bool(b) => format!("bool {b}"),
        other => other.type_name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_conversions_apply() {
        assert_eq!(
            convert(&"80".into(), &TypeExpr::Number),
            Ok(Value::from(80))
        );
        assert_eq!(
            convert(&Value::from(80), &TypeExpr::String),
            Ok("80".into())
        );
        assert!(convert(&"eighty".into(), &TypeExpr::Number).is_err());
        assert!(convert(&Value::from(vec![1]), &TypeExpr::String).is_err());
    }

    #[test]
    fn sets_are_deduplicated_and_sorted() {
        let v = Value::from(vec!["b", "a", "b"]);
        assert_eq!(
            convert(&v, &TypeExpr::Set(Box::new(TypeExpr::String))),
            Ok(Value::from(vec!["a", "b"]))
        );
    }
}
