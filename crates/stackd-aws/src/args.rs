//! Reading arguments out of a desired [`Value`] and building attribute
//! values in schema shape.
//!
//! As in Terraform's SDK, an empty string counts as unset for optional
//! string arguments.

use std::collections::BTreeMap;

use stackd_engine::provider::ProviderError;
use stackd_spec::Value;

use crate::error::invalid;

/// A set, non-empty string argument.
pub(crate) fn opt_str<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// A required string argument; its absence is a bug upstream, reported as
/// a permanent error naming the operation it blocks.
pub(crate) fn req_str<'a>(
    v: &'a Value,
    key: &str,
    operation: &str,
) -> Result<&'a str, ProviderError> {
    opt_str(v, key).ok_or_else(|| invalid(operation, format!("argument {key:?} is required")))
}

/// A bool argument, or its default when unset.
pub(crate) fn bool_or(v: &Value, key: &str, default: bool) -> bool {
    v.get(key).and_then(Value::as_bool).unwrap_or(default)
}

/// An integer argument.
pub(crate) fn opt_int(v: &Value, key: &str) -> Option<i64> {
    v.get(key).and_then(Value::as_i64)
}

/// A list or set of strings (unset and empty strings give nothing).
pub(crate) fn str_list(v: &Value, key: &str) -> Vec<String> {
    v.get(key)
        .and_then(Value::as_list)
        .map(|items| {
            items
                .iter()
                .filter_map(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The instances of a nested block.
pub(crate) fn blocks<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key).and_then(Value::as_list).unwrap_or(&[])
}

/// A map of strings (tags).
pub(crate) fn str_map(v: &Value, key: &str) -> BTreeMap<String, String> {
    v.get(key)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// An optional string attribute: null when absent or empty.
pub(crate) fn s(v: Option<&str>) -> Value {
    match v {
        Some(x) if !x.is_empty() => Value::String(x.to_string()),
        _ => Value::Null,
    }
}

/// The longest common prefix of the names, on a character boundary: the
/// name prefix one List/Describe chain covers them with.
pub(crate) fn common_prefix(names: &[&str]) -> String {
    let Some(first) = names.first() else {
        return String::new();
    };
    let mut n = first.len();
    for other in &names[1..] {
        n = n.min(
            first
                .bytes()
                .zip(other.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    first[..n].to_string()
}

/// A list attribute of strings; null when empty, as an unset argument is.
pub(crate) fn list_or_null(items: Vec<String>) -> Value {
    if items.is_empty() {
        Value::Null
    } else {
        Value::List(items.into_iter().map(Value::String).collect())
    }
}

/// A set attribute of strings: sorted and de-duplicated, null when empty.
pub(crate) fn set_or_null(mut items: Vec<String>) -> Value {
    items.sort();
    items.dedup();
    list_or_null(items)
}

/// A list attribute of strings, empty rather than null (computed lists
/// such as `names`).
pub(crate) fn list(items: Vec<String>) -> Value {
    Value::List(items.into_iter().map(Value::String).collect())
}

/// A number attribute.
pub(crate) fn num(n: impl Into<i64>) -> Value {
    Value::Number(n.into() as f64)
}

/// Sorts the instances of a set block into a stable order so that repeated
/// reads compare equal even where the engine compares sets in order.
pub(crate) fn sort_blocks(mut items: Vec<Value>) -> Vec<Value> {
    items.sort_by_cached_key(|v| v.to_string());
    items
}

/// An EC2 `ClientToken` (at most 64 ASCII characters) from the engine's
/// idempotency token: the token itself when it fits, else a digest of it.
pub(crate) fn client_token(token: &str) -> String {
    if token.len() <= 64 && token.is_ascii() {
        token.to_string()
    } else {
        hex_digest(token)[..64].to_string()
    }
}

/// The SHA-256 of `text` in lowercase hex (64 characters).
pub(crate) fn hex_digest(text: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_tokens_fit_ec2s_limit() {
        assert_eq!(client_token("abc"), "abc");
        let long = "x".repeat(100);
        assert_eq!(client_token(&long).len(), 64);
        assert_eq!(client_token(&long), client_token(&long));
        assert_ne!(client_token(&long), client_token(&"y".repeat(100)));
    }

    #[test]
    fn empty_strings_count_as_unset() {
        let v = Value::map([("a", Value::from("")), ("b", Value::from("x"))]);
        assert_eq!(opt_str(&v, "a"), None);
        assert_eq!(opt_str(&v, "b"), Some("x"));
        assert_eq!(opt_str(&v, "c"), None);
        assert!(req_str(&v, "a", "CreateVpc").is_err());
    }

    #[test]
    fn lists_and_sets_become_null_when_empty() {
        assert_eq!(list_or_null(vec![]), Value::Null);
        assert_eq!(
            set_or_null(vec!["b".into(), "a".into(), "b".into()]),
            Value::from(vec!["a", "b"])
        );
        assert_eq!(list(vec![]), Value::List(vec![]));
    }

    #[test]
    fn reading_collections_tolerates_nulls() {
        let v = Value::map([
            ("l", Value::from(vec!["x", ""])),
            ("n", Value::Null),
            ("t", Value::map([("k", Value::from("v"))])),
        ]);
        assert_eq!(str_list(&v, "l"), vec!["x".to_string()]);
        assert!(str_list(&v, "n").is_empty());
        assert!(blocks(&v, "n").is_empty());
        assert_eq!(str_map(&v, "t").get("k").map(String::as_str), Some("v"));
        assert!(bool_or(&v, "missing", true));
    }
}
