//! Bounds that keep a mistaken or hostile spec from exhausting memory, time
//! or the stack. Each is far above what a real spec needs; going past one is
//! an ordinary error that points at the expression, never an abort.

use crate::diag::{Diagnostic, Span};
use crate::value::Value;

/// Instances one `count` or `for_each` block may expand to. Stacks of many
/// thousands of resources fit; `count = 1000000000` does not allocate.
pub const MAX_INSTANCES: usize = 10_000;

/// How deeply evaluation may recurse: nested expressions, splats (each
/// `[*]` applies the rest of a traversal to every element), locals that
/// refer to locals. hcl-edit already rejects text nested more than 64
/// levels, so only chains (of splats, of locals) come near this.
pub const MAX_EVAL_DEPTH: usize = 200;

/// Evaluation steps (expressions evaluated, including each iteration of a
/// for-expression) one top-level evaluation may take: nested
/// for-expressions over `range(1000)` would otherwise run for hours.
pub const MAX_EVAL_STEPS: u64 = 2_000_000;

/// Width and precision of a `format`/`formatlist` verb (`%10000d`). Go,
/// whose `fmt` Terraform uses, rejects widths over 10^6.
pub const MAX_FORMAT_WIDTH: usize = 10_000;

/// Bytes of a string a function or a template may build (user data, a
/// policy document, a rendered template: all far smaller).
pub const MAX_STRING_LEN: usize = 16 * 1024 * 1024;

/// Elements (list items, map entries, nested values) of a value a
/// function, a template or a local value may build.
pub const MAX_VALUE_NODES: usize = 1_000_000;

/// The number of instances `count` asks for, or `None` when it is not
/// known yet. A whole number from 0 to [`MAX_INSTANCES`].
pub fn count_instances(v: &Value, span: Span) -> Result<Option<usize>, Diagnostic> {
    let n = match v {
        Value::Unknown => return Ok(None),
        Value::Number(n) => *n,
        Value::String(s) => match s.trim().parse::<f64>() {
            Ok(n) => n,
            Err(_) => return Err(not_a_count(v, span)),
        },
        _ => return Err(not_a_count(v, span)),
    };
    if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0) {
        return Err(not_a_count(v, span));
    }
    if n > MAX_INSTANCES as f64 {
        return Err(too_many_instances(
            "count",
            &crate::value::format_number(n),
            span,
        ));
    }
    Ok(Some(n as usize))
}

fn not_a_count(v: &Value, span: Span) -> Diagnostic {
    let got = match v {
        Value::Number(n) => crate::value::format_number(*n),
        other => other.type_name().to_string(),
    };
    Diagnostic::error(
        format!("count must be a whole number ≥ 0, got {got}"),
        Some(span),
    )
}

/// Checks the number of elements `for_each` iterates over.
pub fn check_for_each_len(len: usize, span: Span) -> Result<(), Diagnostic> {
    if len > MAX_INSTANCES {
        return Err(too_many_instances(
            "for_each",
            &format!("{len} elements"),
            span,
        ));
    }
    Ok(())
}

fn too_many_instances(what: &str, got: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        format!("{what} asks for {got}; a block may have at most {MAX_INSTANCES} instances"),
        Some(span),
    )
    .note("help: split the resources over several blocks")
}

/// The number of nodes in a value (itself, and every element inside it),
/// counting no further than `limit + 1`.
pub fn value_nodes(v: &Value, limit: usize) -> usize {
    let mut count = 0;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        count += 1;
        if count > limit {
            break;
        }
        match v {
            Value::List(items) => stack.extend(items),
            Value::Map(m) => stack.extend(m.values()),
            _ => {}
        }
    }
    count
}

/// The bytes of the strings in a value, counting no further than `limit + 1`.
pub fn value_string_bytes(v: &Value, limit: usize) -> usize {
    let mut bytes = 0usize;
    let mut stack = vec![v];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => bytes = bytes.saturating_add(s.len()),
            Value::List(items) => stack.extend(items),
            Value::Map(m) => {
                bytes = m.keys().fold(bytes, |b, k| b.saturating_add(k.len()));
                stack.extend(m.values());
            }
            _ => {}
        }
        if bytes > limit {
            break;
        }
    }
    bytes
}

/// Why a value is too large to keep, if it is.
pub fn check_value_size(v: &Value) -> Result<(), String> {
    if value_nodes(v, MAX_VALUE_NODES) > MAX_VALUE_NODES {
        return Err(format!(
            "the value has more than {MAX_VALUE_NODES} elements, more than stackd builds"
        ));
    }
    if value_string_bytes(v, MAX_STRING_LEN) > MAX_STRING_LEN {
        return Err(format!(
            "the value holds more than {} MiB of text, more than stackd builds",
            MAX_STRING_LEN >> 20
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn count_must_be_a_whole_number_within_the_instance_limit() {
        let span = Span::default();
        assert_eq!(count_instances(&Value::from(3), span), Ok(Some(3)));
        assert_eq!(count_instances(&Value::from("2"), span), Ok(Some(2)));
        assert_eq!(count_instances(&Value::Unknown, span), Ok(None));
        for bad in [
            Value::from(-1),
            Value::from(1.5),
            Value::Number(f64::NAN),
            Value::Bool(true),
        ] {
            let d = count_instances(&bad, span).unwrap_err();
            assert!(d.message.contains("whole number"), "{}", d.message);
        }
        let d = count_instances(&Value::from(1_000_000_000), span).unwrap_err();
        assert!(
            d.message.contains("at most 10000 instances"),
            "{}",
            d.message
        );
        assert_eq!(
            count_instances(&Value::from(MAX_INSTANCES as i64), span),
            Ok(Some(MAX_INSTANCES))
        );
    }

    #[test]
    fn value_size_is_counted_without_recursion_and_stops_at_the_limit() {
        let mut v = Value::from("x");
        for _ in 0..100_000 {
            v = Value::List(vec![v]);
        }
        assert_eq!(value_nodes(&v, 10), 11);
        assert_eq!(value_string_bytes(&v, 10), 1);
        // Dropping a deep value recurses: take it apart without recursion.
        let mut cur = v;
        while let Value::List(mut items) = cur {
            cur = items.pop().unwrap_or(Value::Null);
        }
    }
}
