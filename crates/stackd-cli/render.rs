//! Plans and outputs as people read them (text) and as programs do (JSON).

use std::fmt::Write as _;
use std::io::IsTerminal;

use stackd_engine::check::CheckReport;
use stackd_engine::diff::AttrChange;
use stackd_engine::plan::{Action, Plan, PlanEntry};
use stackd_engine::planfile::{PlanFileV2, ResourceChangeV1, Secrets};
use stackd_engine::provider::Severity;
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
pub fn plan_text(plan: &Plan, schemas: &SchemaSet, secrets: &Secrets) -> String {
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
            entry_text(&mut out, e, schemas, secrets);
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
            let _ = writeln!(
                out,
                "  {sign} {name} = {}",
                shown(&o.after, o.sensitive || secrets.hides(&o.after))
            );
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

fn entry_text(out: &mut String, e: &PlanEntry, schemas: &SchemaSet, secrets: &Secrets) {
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
                        shown(v, sensitive(k) || secrets.hides(v))
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
                change_text(out, c, secrets);
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

fn change_text(out: &mut String, c: &AttrChange, secrets: &Secrets) {
    let note = if c.forces_replacement {
        paint("35", " # forces replacement")
    } else {
        String::new()
    };
    if c.sensitive || secrets.hides(&c.before) || secrets.hides(&c.after) {
        let _ = writeln!(
            out,
            "      {} {} = (sensitive value){note}",
            paint("33", "~"),
            c.name
        );
        return;
    }
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

/// The largest pull-request comment GitHub accepts is 65,536 characters;
/// the Markdown plan stops adding sections well before that.
const MARKDOWN_BUDGET: usize = 60_000;
/// Longer values are cut in the Markdown plan (the JSON plan has them whole).
const MARKDOWN_VALUE_CHARS: usize = 400;

/// The plan as a pull-request comment: a summary table, then one collapsible
/// section per changed resource, replacements and deletions first and
/// flagged.
pub fn plan_markdown(doc: &PlanFileV2) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### stackd {}: `{}`\n",
        if doc.operation == "destroy" {
            "destroy plan"
        } else {
            "plan"
        },
        doc.stack
    );
    let s = &doc.summary;
    if !s.changes {
        out.push_str("**No changes.** The cloud matches the spec.\n");
        footer(&mut out, doc);
        return out;
    }
    out.push_str("| Add | Change | Replace | Destroy |\n|---:|---:|---:|---:|\n");
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} |\n",
        s.add, s.change, s.replace, s.destroy
    );
    if s.replace + s.destroy > 0 {
        let _ = writeln!(
            out,
            "> :warning: **{} to replace and {} to destroy**: review these first.\n",
            s.replace, s.destroy
        );
    }
    let rank = |a: &str| match a {
        "replace" => 0,
        "delete" => 1,
        "update" => 2,
        "create" => 3,
        _ => 4,
    };
    let mut changes: Vec<_> = doc.actionable().collect();
    changes.sort_by_key(|c| rank(&c.action));
    for (shown, c) in changes.iter().enumerate() {
        let section = markdown_section(c);
        if out.len() + section.len() > MARKDOWN_BUDGET {
            let _ = writeln!(
                out,
                "\n_{} more changes are not shown here (comment size limit); the JSON plan has them all._\n",
                changes.len() - shown
            );
            break;
        }
        out.push_str(&section);
    }
    let outputs: Vec<_> = doc
        .output_changes
        .iter()
        .filter(|(_, o)| o.before.as_ref() != Some(&o.after))
        .collect();
    if !outputs.is_empty() {
        out.push_str("\n**Outputs**\n\n");
        for (name, o) in outputs {
            let _ = writeln!(
                out,
                "- `{name}` = `{}`",
                cut(&compact(&o.after)).replace('`', "'")
            );
        }
    }
    footer(&mut out, doc);
    out
}

fn markdown_section(c: &ResourceChangeV1) -> String {
    let flag = match c.action.as_str() {
        "replace" | "delete" => ":warning: ",
        _ => "",
    };
    let verb = match c.action.as_str() {
        "create" => "create",
        "update" => "update in place",
        "replace" if c.create_before_destroy => "replace (create before destroy)",
        "replace" => "replace",
        "delete" => "destroy",
        "read" => "read during apply",
        other => other,
    };
    let reasons: Vec<&str> = c.reasons.iter().map(|r| r.message.as_str()).collect();
    let mut body = String::new();
    for a in &c.changes {
        let note = if a.forces_replacement {
            "   # forces replacement"
        } else {
            ""
        };
        match c.action.as_str() {
            "create" | "read" => {
                let _ = writeln!(body, "+ {} = {}", a.attribute, cut(&compact(&a.after)));
            }
            _ => {
                let _ = writeln!(
                    body,
                    "- {} = {}{note}\n+ {} = {}{note}",
                    a.attribute,
                    cut(&compact(&a.before)),
                    a.attribute,
                    cut(&compact(&a.after))
                );
            }
        }
    }
    if c.action == "delete" {
        let _ = writeln!(body, "- id = {}", c.id.as_deref().unwrap_or("?"));
    }
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    format!(
        "<details><summary>{flag}<b>{verb}</b> <code>{}</code>: {}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
        html_escape(&c.address),
        html_escape(&reasons.join("; "))
    )
}

fn footer(out: &mut String, doc: &PlanFileV2) {
    let _ = writeln!(
        out,
        "\n<sub>stackd {} · plan `{}` · state serial {} at `{}`</sub>",
        doc.stackd_version,
        doc.plan_digest
            .strip_prefix("sha256:")
            .unwrap_or(&doc.plan_digest)
            .chars()
            .take(12)
            .collect::<String>(),
        doc.prior_state.serial,
        doc.prior_state.backend
    );
}

fn compact(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Object(m) if m.len() == 1 && m.get("unknown") == Some(&true.into()) => {
            "(known after apply)".into()
        }
        serde_json::Value::Object(m)
            if m.len() == 1 && m.get("sensitive") == Some(&true.into()) =>
        {
            "(sensitive value)".into()
        }
        other => other.to_string(),
    }
}

fn cut(s: &str) -> String {
    if s.chars().count() <= MARKDOWN_VALUE_CHARS {
        return s.to_string();
    }
    let mut t: String = s.chars().take(MARKDOWN_VALUE_CHARS).collect();
    t.push_str("… (cut; see the JSON plan)");
    t
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// What `apply --dry-run` found, per resource.
pub fn check_report(report: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nDry run: checked {} planned changes against the cloud; nothing was changed.",
        report.checked
    );
    for (addr, f) in &report.findings {
        let label = match f.severity {
            Severity::Error => error_label(),
            Severity::Warning => paint("1;33", "warning:"),
        };
        let _ = writeln!(
            out,
            "  {label} {addr}: {} ({}): {}",
            f.check, f.operation, f.message
        );
    }
    for (addr, e) in &report.failures {
        let _ = writeln!(
            out,
            "  {} {addr}: the check itself failed: {e}",
            error_label()
        );
    }
    if report.incomplete {
        let _ = writeln!(
            out,
            "  {} some checks ended without a result",
            error_label()
        );
    }
    if report.passes() {
        out.push_str("The plan would go through.\n");
    } else {
        let errors = report
            .findings
            .iter()
            .filter(|(_, f)| f.severity == Severity::Error)
            .count()
            + report.failures.len();
        let _ = writeln!(out, "The plan would fail: {errors} problem(s) above.");
    }
    out
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
