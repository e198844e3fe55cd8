//! Plans and outputs as people read them (text) and as programs do (JSON).

use std::fmt::Write as _;
use std::io::IsTerminal;

use stackd_engine::diff::AttrChange;
use stackd_engine::plan::{Action, Plan, PlanEntry};
use stackd_engine::state::State;
use stackd_spec::schema::Presence;
use stackd_spec::{Mode, SchemaSet, Value};

/// Colours are on for a terminal unless NO_COLOR is set.
pub fn colours_on() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn paint(code: &str, text: &str) -> String {
    if colours_on() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

pub fn error_label() -> String {
    paint("1;31", "error:")
}

fn action_colour(a: Action) -> &'static str {
    match a {
        Action::Create => "32",
        Action::Update => "33",
        Action::Replace => "35",
        Action::Delete => "31",
        Action::Read => "36",
        Action::NoOp => "0",
    }
}

fn headline(e: &PlanEntry) -> String {
    let what = match e.action {
        Action::Create => "will be created",
        Action::Update => "will be updated in place",
        Action::Replace if e.create_before_destroy => "must be replaced (create before destroy)",
        Action::Replace => "must be replaced",
        Action::Delete => "will be destroyed",
        Action::Read => "will be read during apply",
        Action::NoOp => "will be adopted into state",
    };
    let reasons: Vec<String> = e.reasons.iter().map(ToString::to_string).collect();
    format!("# {} {what}: {}", e.address, reasons.join("; "))
}

fn shown(v: &Value, sensitive: bool) -> String {
    if sensitive && !v.is_null() {
        "(sensitive value)".into()
    } else {
        v.to_string()
    }
}

/// The plan in the form a reviewer expects.
pub fn plan_text(plan: &Plan, schemas: &SchemaSet) -> String {
    let mut out = String::new();
    let interesting: Vec<&PlanEntry> = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::NoOp || e.prior.as_ref().is_some_and(|p| p.untracked))
        .collect();
    if interesting.is_empty() {
        out.push_str("No changes. The cloud matches the spec.\n");
    } else {
        out.push_str("stackd will perform the following actions:\n\n");
        for e in interesting {
            entry_text(&mut out, e, schemas);
        }
    }
    let outputs: Vec<_> = plan
        .outputs
        .iter()
        .filter(|(_, o)| o.before.as_ref() != Some(&o.after))
        .collect();
    if !outputs.is_empty() {
        out.push_str("Changes to outputs:\n");
        for (name, o) in outputs {
            let sign = if o.before.is_none() { "+" } else { "~" };
            let _ = writeln!(out, "  {sign} {name} = {}", shown(&o.after, o.sensitive));
        }
        out.push('\n');
    }
    let (add, change, destroy) = plan.counts();
    if !plan.is_empty() {
        let _ = writeln!(
            out,
            "Plan: {add} to add, {change} to change, {destroy} to destroy."
        );
    }
    out
}

fn entry_text(out: &mut String, e: &PlanEntry, schemas: &SchemaSet) {
    let colour = action_colour(e.action);
    let _ = writeln!(out, "  {}", paint("1", &headline(e)));
    let kind = if e.address.block.mode == Mode::Data {
        "data"
    } else {
        "resource"
    };
    let symbol = format!("{:>3}", e.action.symbol());
    let _ = writeln!(
        out,
        "{} {kind} \"{}\" \"{}\" {{",
        paint(colour, &symbol),
        e.address.block.type_name,
        e.address.block.name
    );
    let schema = schemas.get(e.address.block.mode, &e.address.block.type_name);
    let sensitive = |name: &str| {
        schema
            .and_then(|s| s.find_attr(name))
            .is_some_and(|a| a.sensitive)
    };
    match e.action {
        Action::Create | Action::Read => {
            if let Some(Value::Map(d)) = &e.desired {
                let width = d.keys().map(String::len).max().unwrap_or(0);
                for (k, v) in d {
                    if v.is_null() || matches!(v, Value::List(l) if l.is_empty()) {
                        continue;
                    }
                    let _ = writeln!(
                        out,
                        "      {} {k:width$} = {}",
                        paint(colour, "+"),
                        shown(v, sensitive(k))
                    );
                }
                if let Some(s) = schema {
                    for a in s
                        .body
                        .attrs
                        .iter()
                        .filter(|a| a.presence == Presence::Computed && !d.contains_key(a.name))
                    {
                        let _ = writeln!(
                            out,
                            "      {} {:width$} = (known after apply)",
                            paint(colour, "+"),
                            a.name
                        );
                    }
                }
            }
        }
        Action::Update | Action::Replace => {
            if let Some(p) = &e.prior {
                let _ = writeln!(out, "        id = {:?}", p.id);
            }
            for c in &e.changes {
                change_text(out, c);
            }
        }
        Action::Delete => {
            if let Some(p) = &e.prior {
                let _ = writeln!(out, "      {} id = {:?}", paint(colour, "-"), p.id);
            }
        }
        Action::NoOp => {}
    }
    let _ = writeln!(out, "    }}\n");
}

fn change_text(out: &mut String, c: &AttrChange) {
    let note = if c.forces_replacement {
        paint("35", " # forces replacement")
    } else {
        String::new()
    };
    // Blocks and collections: show what was added and removed.
    if let (Value::List(before), Value::List(after)) = (&c.before, &c.after) {
        if before
            .iter()
            .chain(after)
            .any(|v| matches!(v, Value::Map(_)))
        {
            let _ = writeln!(out, "      {} {} {{{note}", paint("33", "~"), c.name);
            for b in before.iter().filter(|b| !after.contains(b)) {
                let _ = writeln!(out, "          {} {}", paint("31", "-"), b);
            }
            for a in after.iter().filter(|a| !before.contains(a)) {
                let _ = writeln!(out, "          {} {}", paint("32", "+"), a);
            }
            let _ = writeln!(out, "        }}");
            return;
        }
    }
    if let (Value::Map(before), Value::Map(after)) = (&c.before, &c.after) {
        let _ = writeln!(out, "      {} {} = {{{note}", paint("33", "~"), c.name);
        for (k, v) in before.iter().filter(|(k, v)| after.get(*k) != Some(v)) {
            match after.get(k) {
                Some(n) => {
                    let _ = writeln!(out, "          {} {k:?} = {} → {}", paint("33", "~"), v, n);
                }
                None => {
                    let _ = writeln!(out, "          {} {k:?} = {}", paint("31", "-"), v);
                }
            }
        }
        for (k, v) in after.iter().filter(|(k, _)| !before.contains_key(*k)) {
            let _ = writeln!(out, "          {} {k:?} = {}", paint("32", "+"), v);
        }
        let _ = writeln!(out, "        }}");
        return;
    }
    let _ = writeln!(
        out,
        "      {} {} = {} → {}{note}",
        paint("33", "~"),
        c.name,
        shown(&c.before, c.sensitive),
        shown(&c.after, c.sensitive)
    );
}

fn json_value(v: &Value, sensitive: bool) -> serde_json::Value {
    if sensitive && !v.is_null() {
        return serde_json::json!({"sensitive": true});
    }
    match v {
        Value::Unknown => serde_json::json!({"unknown": true}),
        Value::List(items) if !v.is_wholly_known() => {
            serde_json::Value::Array(items.iter().map(|i| json_value(i, false)).collect())
        }
        Value::Map(m) if !v.is_wholly_known() => serde_json::Value::Object(
            m.iter()
                .map(|(k, i)| (k.clone(), json_value(i, false)))
                .collect(),
        ),
        other => other.to_json(),
    }
}

/// The plan as JSON: every change with its action, reasons and attribute
/// before/after; unknown values as `{"unknown": true}`, sensitive ones as
/// `{"sensitive": true}`.
pub fn plan_json(plan: &Plan, schemas: &SchemaSet) -> String {
    let (add, change, destroy) = plan.counts();
    let changes: Vec<serde_json::Value> = plan
        .entries
        .iter()
        .map(|e| {
            let schema = schemas.get(e.address.block.mode, &e.address.block.type_name);
            let sensitive = |n: &str| {
                schema
                    .and_then(|s| s.find_attr(n))
                    .is_some_and(|a| a.sensitive)
            };
            serde_json::json!({
                "address": e.address.to_string(),
                "mode": if e.address.block.mode == Mode::Data { "data" } else { "managed" },
                "type": e.address.block.type_name,
                "name": e.address.block.name,
                "action": format!("{:?}", e.action).to_lowercase(),
                "reasons": e.reasons.iter().map(ToString::to_string).collect::<Vec<_>>(),
                "id": e.prior.as_ref().map(|p| p.id.clone()),
                "changes": e.changes.iter().map(|c| serde_json::json!({
                    "attribute": c.name,
                    "before": json_value(&c.before, c.sensitive || sensitive(&c.name)),
                    "after": json_value(&c.after, c.sensitive || sensitive(&c.name)),
                    "forces_replacement": c.forces_replacement,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let outputs: serde_json::Map<String, serde_json::Value> = plan
        .outputs
        .iter()
        .map(|(k, o)| {
            (
                k.clone(),
                serde_json::json!({
                    "before": o.before.as_ref().map(|b| json_value(b, o.sensitive)),
                    "after": json_value(&o.after, o.sensitive),
                }),
            )
        })
        .collect();
    let doc = serde_json::json!({
        "format_version": 1,
        "summary": {"add": add, "change": change, "destroy": destroy, "changes": !plan.is_empty()},
        "resource_changes": changes,
        "output_changes": outputs,
    });
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `name = value` lines for a state's outputs.
pub fn outputs_text(state: &State) -> String {
    let mut out = String::new();
    if state.outputs.is_empty() {
        return out;
    }
    out.push_str("\nOutputs:\n\n");
    for (k, o) in &state.outputs {
        let _ = writeln!(out, "{k} = {}", shown(&o.value, o.sensitive));
    }
    out
}
