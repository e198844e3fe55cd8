//! One resource instance's configuration: `count`/`for_each` expansion,
//! its evaluated arguments (with the merged tag set), lifecycle settings
//! and timeouts. Shared by planning and apply, which evaluate the same
//! block at different moments.

use std::collections::BTreeMap;
use std::time::Duration;

use stackd_spec::config::ResourceBlock;
use stackd_spec::diag::Diagnostic;
use stackd_spec::eval::{iterate, Scope};
use stackd_spec::{InstanceKey, ResourceSchema, Value};

use crate::diff::IgnoreChanges;
use crate::provider::{Owner, ADDRESS_TAG, STACK_ID_TAG, STACK_TAG};
use crate::state::State;
use crate::values::Expansion;

/// What every instance evaluation needs besides its scope.
#[derive(Clone, Debug)]
pub struct StackSettings {
    /// The stack name, carried in the ownership tag.
    pub stack: String,
    /// The user named the stack (`--stack`) rather than leaving it to the
    /// spec directory's name: with no state, objects tagged with the name
    /// alone are then adopted (see [`Owner::by_name`]).
    pub explicit_stack: bool,
    /// The provider's `default_tags { tags = {...} }`.
    pub default_tags: BTreeMap<String, String>,
}

impl StackSettings {
    /// Who owns the stack's objects, given its state: the state's lineage is
    /// the stack's identity. A state never saved (serial 0) with an explicit
    /// stack name recognises objects by that name (the state was lost).
    pub fn owner(&self, state: &State) -> Owner {
        Owner {
            name: self.stack.clone(),
            id: state.lineage.clone(),
            by_name: self.explicit_stack && state.serial == 0 && state.resources.is_empty(),
        }
    }
}

/// One instance to evaluate: its key and what `each`/`count` mean for it.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceSlot {
    pub key: Option<InstanceKey>,
    pub each: Option<(Value, Value)>,
    pub count_index: Option<i64>,
}

/// Evaluates `count` / `for_each` of a block.
pub fn expand(
    block: &ResourceBlock,
    scope: &Scope,
) -> Result<(Expansion, Vec<InstanceSlot>), Diagnostic> {
    expand_meta(block.count.as_ref(), block.for_each.as_ref(), scope)
}

/// Evaluates a `count` or `for_each` (of a resource or a module call).
pub fn expand_meta(
    count: Option<&stackd_spec::expr::Expr>,
    for_each: Option<&stackd_spec::expr::Expr>,
    scope: &Scope,
) -> Result<(Expansion, Vec<InstanceSlot>), Diagnostic> {
    if let Some(c) = count {
        let v = scope.eval(c)?;
        let n = stackd_spec::limits::count_instances(&v, c.span)
            .map_err(|d| scope.redact(d, true))?
            .ok_or_else(|| unknown_expansion("count", c.span))? as i64;
        let slots = (0..n)
            .map(|i| InstanceSlot {
                key: Some(InstanceKey::Int(i)),
                each: None,
                count_index: Some(i),
            })
            .collect();
        return Ok((Expansion::Count(n), slots));
    }
    if let Some(fe) = for_each {
        let v = scope.eval(fe)?;
        let pairs = iterate(&v, fe.span)?.ok_or_else(|| unknown_expansion("for_each", fe.span))?;
        stackd_spec::limits::check_for_each_len(pairs.len(), fe.span)?;
        let mut keys = Vec::new();
        let mut slots = Vec::new();
        for (k, item) in pairs {
            // A set (a list here) is keyed by its elements, which must be strings.
            let (key, value) = match &v {
                Value::List(_) => match item.as_str() {
                    Some(s) => (s.to_string(), item.clone()),
                    None if item.is_unknown() => return Err(unknown_expansion("for_each", fe.span)),
                    None => {
                        return Err(Diagnostic::error(
                            format!("for_each over a list needs strings (a set of strings); got a {}. Use a map, or toset([...])", item.type_name()),
                            Some(fe.span),
                        ))
                    }
                },
                _ => (k.as_str().unwrap_or_default().to_string(), item),
            };
            keys.push(key.clone());
            slots.push(InstanceSlot {
                key: Some(InstanceKey::Str(key.clone())),
                each: Some((Value::from(key), value)),
                count_index: None,
            });
        }
        keys.sort();
        keys.dedup();
        return Ok((Expansion::ForEach(keys), slots));
    }
    Ok((
        Expansion::Single,
        vec![InstanceSlot {
            key: None,
            each: None,
            count_index: None,
        }],
    ))
}

fn unknown_expansion(what: &str, span: stackd_spec::diag::Span) -> Diagnostic {
    Diagnostic::error(
        format!("the {what} value depends on resource attributes that cannot be known until apply"),
        Some(span),
    )
    .note(format!(
        "help: base {what} on variables, locals or data sources, or apply the resources it depends on first"
    ))
}

/// Lifecycle settings of an instance.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lifecycle {
    pub create_before_destroy: bool,
    pub prevent_destroy: bool,
    pub ignore: IgnoreChanges,
}

/// How long each operation may take.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OpTimeouts {
    pub create: Duration,
    pub update: Duration,
    pub delete: Duration,
}

/// An instance's evaluated configuration.
#[derive(Clone, Debug, PartialEq)]
pub struct InstanceConfig {
    /// Arguments in schema shape; for taggable types `tags_all` holds the
    /// merged tags (default, user and ownership).
    pub desired: Value,
    pub lifecycle: Lifecycle,
    pub timeouts: OpTimeouts,
}

/// Evaluates one instance of a block.
pub fn evaluate(
    block: &ResourceBlock,
    schema: &ResourceSchema,
    scope: &Scope,
    address: &stackd_spec::Address,
    settings: &StackSettings,
    owner: &Owner,
) -> Result<InstanceConfig, Vec<Diagnostic>> {
    let mut diags = Vec::new();
    let mut desired = match scope.eval_body(&block.body, &schema.body) {
        Ok(v) => v,
        Err(d) => {
            diags.extend(d);
            Value::Null
        }
    };
    if schema.taggable {
        if let Value::Map(m) = &mut desired {
            let tags_all = merged_tags(m.get("tags"), settings, owner, &address.to_tag_value());
            m.insert("tags_all".into(), tags_all);
        }
    }
    let mut lifecycle = lifecycle(block, scope, &mut diags);
    lifecycle.create_before_destroy |= schema.replace_creates_first;
    diags.extend(conditions(
        &block.lifecycle.preconditions,
        scope,
        "precondition",
        address,
    ));
    let timeouts = timeouts(block, schema, scope, &mut diags);
    if diags.is_empty() {
        Ok(InstanceConfig {
            desired,
            lifecycle,
            timeouts,
        })
    } else {
        Err(diags)
    }
}

/// Checks condition blocks: each that does not hold (or cannot be
/// evaluated) is an error naming the instance. Unknown ones pass (they are
/// checked again when known).
pub fn conditions(
    rules: &[stackd_spec::config::Validation],
    scope: &Scope,
    kind: &str,
    address: &stackd_spec::Address,
) -> Vec<Diagnostic> {
    rules
        .iter()
        .filter_map(
            |rule| match stackd_spec::eval::check_condition(scope, rule, kind) {
                Ok(None) => None,
                Ok(Some(message)) => Some(Diagnostic::error(
                    format!("{address}: {kind} failed: {message}"),
                    Some(rule.condition.span),
                )),
                Err(d) => Some(d),
            },
        )
        .collect()
}

/// Checks an instance's postconditions against its object (`self`).
pub fn postconditions(
    block: &ResourceBlock,
    scope: &Scope,
    object: &Value,
    address: &stackd_spec::Address,
) -> Vec<Diagnostic> {
    if block.lifecycle.postconditions.is_empty() {
        return Vec::new();
    }
    let mut with_self = scope.for_instance(scope.each.clone(), scope.count_index);
    with_self.self_value = Some(object.clone());
    conditions(
        &block.lifecycle.postconditions,
        &with_self,
        "postcondition",
        address,
    )
}

/// Default tags, then the user's, then the ownership tags (which always win).
pub fn merged_tags(
    user: Option<&Value>,
    settings: &StackSettings,
    owner: &Owner,
    address: &str,
) -> Value {
    let mut tags: BTreeMap<String, Value> = settings
        .default_tags
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
        .collect();
    match user {
        Some(Value::Unknown) => return Value::Unknown,
        Some(Value::Map(m)) => tags.extend(m.iter().map(|(k, v)| (k.clone(), v.clone()))),
        _ => {}
    }
    tags.insert(STACK_TAG.into(), Value::from(owner.name.as_str()));
    tags.insert(STACK_ID_TAG.into(), Value::from(owner.id.as_str()));
    tags.insert(ADDRESS_TAG.into(), Value::from(address));
    Value::Map(tags)
}

fn eval_bool(
    e: Option<&stackd_spec::expr::Expr>,
    scope: &Scope,
    diags: &mut Vec<Diagnostic>,
) -> bool {
    let Some(e) = e else { return false };
    match scope.eval(e) {
        Ok(Value::Bool(b)) => b,
        Ok(other) => {
            diags.push(Diagnostic::error(
                format!("expected true or false, got {}", other.type_name()),
                Some(e.span),
            ));
            false
        }
        Err(d) => {
            diags.push(d);
            false
        }
    }
}

fn lifecycle(block: &ResourceBlock, scope: &Scope, diags: &mut Vec<Diagnostic>) -> Lifecycle {
    Lifecycle {
        create_before_destroy: eval_bool(
            block.lifecycle.create_before_destroy.as_ref(),
            scope,
            diags,
        ),
        prevent_destroy: eval_bool(block.lifecycle.prevent_destroy.as_ref(), scope, diags),
        ignore: IgnoreChanges {
            all: block.lifecycle.ignore_all,
            names: block
                .lifecycle
                .ignore_changes
                .iter()
                .map(|(n, _)| n.clone())
                .collect(),
        },
    }
}

fn timeouts(
    block: &ResourceBlock,
    schema: &ResourceSchema,
    scope: &Scope,
    diags: &mut Vec<Diagnostic>,
) -> OpTimeouts {
    let mut t = OpTimeouts {
        create: Duration::from_secs(schema.timeouts.create_secs),
        update: Duration::from_secs(schema.timeouts.update_secs),
        delete: Duration::from_secs(schema.timeouts.delete_secs),
    };
    for (name, (expr, _)) in &block.timeouts {
        let parsed = scope
            .eval(expr)
            .and_then(|v| match v.as_str().map(parse_duration) {
                Some(Ok(d)) => Ok(d),
                Some(Err(e)) => Err(Diagnostic::error(e, Some(expr.span))),
                None => Err(Diagnostic::error(
                    "a timeout is a string such as \"10m\" or \"1h30m\"",
                    Some(expr.span),
                )),
            });
        match parsed {
            Ok(d) => match name.as_str() {
                "create" => t.create = d,
                "update" => t.update = d,
                "delete" => t.delete = d,
                _ => {}
            },
            Err(d) => diags.push(d),
        }
    }
    t
}

/// Parses Go-style durations as Terraform's `timeouts` takes them: `30s`, `10m`, `1h30m`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    // Go's time.ParseDuration, which Terraform uses, takes a bare 0 (as in
    // `wait_for_capacity_timeout = "0"`).
    if s.trim() == "0" {
        return Ok(Duration::ZERO);
    }
    let mut total = 0f64;
    let mut num = String::new();
    let mut seen = false;
    for c in s.trim().chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| format!("invalid duration {s:?}"))?;
        num.clear();
        total += n * match c {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(format!("invalid duration {s:?}: unit must be h, m or s")),
        };
        seen = true;
    }
    if !num.is_empty() || !seen {
        return Err(format!(
            "invalid duration {s:?}: expected a form such as 30s, 10m or 1h30m"
        ));
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand_count(count: &str) -> Result<usize, String> {
        let src = format!("resource \"test_node\" \"n\" {{\n  count = {count}\n}}\n");
        let (config, diags) = stackd_spec::config::Config::from_sources(
            std::path::Path::new("spec"),
            vec![("spec/main.tf".into(), src)],
        );
        assert!(diags.is_empty(), "{diags:?}");
        let vars = std::collections::BTreeMap::new();
        let locals = stackd_spec::eval::LocalCache::default();
        let scope = Scope::new(&config, &vars, &stackd_spec::eval::NothingKnown, &locals);
        expand(&config.resources[0], &scope)
            .map(|(_, slots)| slots.len())
            .map_err(|d| d.message)
    }

    #[test]
    fn expand_refuses_a_count_above_the_instance_limit_without_allocating() {
        assert_eq!(expand_count("3"), Ok(3));
        let e = expand_count("1000000000").unwrap_err();
        assert!(e.contains("at most 10000 instances"), "{e}");
        let e = expand_count("1.5").unwrap_err();
        assert!(e.contains("whole number"), "{e}");
    }

    #[test]
    fn durations_parse_like_go() {
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5d").is_err());
        assert_eq!(
            parse_duration("0"),
            Ok(Duration::ZERO),
            "a bare 0, as Go takes it"
        );
    }

    #[test]
    fn ownership_tags_win_over_user_tags() {
        let settings = StackSettings {
            stack: "prod".into(),
            explicit_stack: false,
            default_tags: [("Team".to_string(), "web".to_string())].into(),
        };
        let user = Value::map([
            ("stackd:stack", Value::from("evil")),
            ("stackd:stack-id", Value::from("evil-id")),
            ("Name", Value::from("x")),
        ]);
        let owner = Owner::new("prod", "id-1");
        let tags = merged_tags(Some(&user), &settings, &owner, "aws_vpc.main");
        assert_eq!(tags.get("stackd:stack"), Some(&Value::from("prod")));
        assert_eq!(tags.get("stackd:stack-id"), Some(&Value::from("id-1")));
        assert_eq!(tags.get("Team"), Some(&Value::from("web")));
        assert_eq!(tags.get("Name"), Some(&Value::from("x")));
        assert_eq!(
            tags.get("stackd:address"),
            Some(&Value::from("aws_vpc.main"))
        );
    }
}
