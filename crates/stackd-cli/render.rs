//! Plans, apply summaries and outputs as people read them: the text plan
//! in Terraform's layout, the Markdown plan for pull requests (both laid
//! out by [`crate::layout`]), and the dry-run report.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::IsTerminal;

use stackd_engine::apply::{ApplyOutcome, Op};
use stackd_engine::check::CheckReport;
use stackd_engine::plan::{Action, Plan, PlanEntry, Reason};
use stackd_engine::planfile::{PlanFileV2, ResourceChangeV1, Secrets};
use stackd_engine::provider::Severity;
use stackd_engine::state::State;
use stackd_spec::schema::Presence;
use stackd_spec::{Address, Mode, SchemaSet, Value};

use crate::layout::{Layout, Line, Options, Shown, Sign};

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

pub fn warning_label() -> String {
    paint("1;33", "warning:")
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
    // "will be created: not yet created" says nothing twice.
    let reasons: Vec<String> = e
        .reasons
        .iter()
        .filter(|r| !(e.action == Action::Create && **r == Reason::New))
        .map(ToString::to_string)
        .collect();
    if reasons.is_empty() {
        format!("# {} {what}", e.address)
    } else {
        format!("# {} {what}: {}", e.address, reasons.join("; "))
    }
}

/// A value of the plan as shown: hidden when sensitive.
fn shown_value(v: &Value, sensitive: bool) -> Shown {
    if sensitive && !v.is_null() {
        Shown::Sensitive
    } else {
        Shown::from_value(v)
    }
}

fn action_sign(a: Action) -> Sign {
    match a {
        Action::Create => Sign::Add,
        Action::Update => Sign::Change,
        Action::Replace => Sign::Replace,
        Action::Delete => Sign::Remove,
        Action::Read => Sign::Read,
        Action::NoOp => Sign::None,
    }
}

fn sign_mark(sign: Sign) -> (&'static str, &'static str) {
    match sign {
        Sign::Add => ("+", "32"),
        Sign::Remove => ("-", "31"),
        Sign::Change => ("~", "33"),
        Sign::Replace => ("-/+", "35"),
        Sign::Read => ("<=", "36"),
        Sign::None => ("", "0"),
    }
}

/// A laid-out line as the text plan prints it: the sign right-aligned
/// before the text, at four columns per level.
fn text_line(out: &mut String, line: &Line) {
    let sign = if line.cont { Sign::None } else { line.sign };
    let (mark, colour) = sign_mark(sign);
    let width = 4 * line.depth + 3;
    let padded = format!("{mark:>width$} ");
    let painted = if mark.is_empty() {
        padded
    } else {
        padded.replace(mark, &paint(colour, mark))
    };
    let _ = writeln!(out, "{painted}{}", line.text);
}

/// A laid-out line in a Markdown `diff` block: the sign in the first
/// column, where GitHub colours it (`!` for a change in place).
fn markdown_line(out: &mut String, line: &Line) {
    let mark = match line.sign {
        Sign::Add | Sign::Read => '+',
        Sign::Remove => '-',
        Sign::Change | Sign::Replace => '!',
        Sign::None => ' ',
    };
    let _ = writeln!(out, "{mark} {}{}", "    ".repeat(line.depth), line.text);
}

const OWNERSHIP_TAGS_NOTE: &str =
    "Ownership tags (stackd:stack, stackd:address) on every taggable resource are not shown; -v shows them.";

/// The plan in the form a reviewer expects, in Terraform's layout.
pub fn plan_text(plan: &Plan, schemas: &SchemaSet, secrets: &Secrets, opts: Options) -> String {
    let mut out = String::new();
    let mut hid_tags = false;
    let interesting: Vec<&PlanEntry> = plan
        .entries
        .iter()
        .filter(|e| e.action != Action::NoOp || e.prior.as_ref().is_some_and(|p| p.untracked))
        .collect();
    for (from, to) in &plan.moves {
        let _ = writeln!(out, "  # {from} has moved to {to}");
    }
    for address in &plan.forgets {
        let _ = writeln!(
            out,
            "  # {address} will no longer be managed: removed from the state, its object left \
             in the cloud (removed block, destroy = false)"
        );
    }
    if !plan.moves.is_empty() || !plan.forgets.is_empty() {
        out.push('\n');
    }
    if interesting.is_empty() && plan.moves.is_empty() && plan.forgets.is_empty() {
        out.push_str("No changes. The cloud matches the spec.\n");
    } else if interesting.is_empty() {
        out.push_str("Only the state changes: the objects keep their IDs.\n");
    } else {
        out.push_str("stackd will perform the following actions:\n\n");
        for e in interesting {
            let mut layout = Layout::new(opts);
            entry_layout(&mut layout, e, schemas, secrets);
            hid_tags |= layout.hid_ownership_tags;
            let _ = writeln!(out, "  {}", paint("1", &headline(e)));
            for line in &layout.lines {
                text_line(&mut out, line);
            }
            out.push('\n');
        }
    }
    let mut outputs = Layout::new(opts);
    let changed: Vec<_> = plan
        .outputs
        .iter()
        .filter(|(_, o)| o.before.as_ref() != Some(&o.after))
        .collect();
    let width = changed.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (name, o) in &changed {
        let hide = o.sensitive
            || secrets.hides(&o.after)
            || o.before.as_ref().is_some_and(|b| secrets.hides(b));
        let after = shown_value(&o.after, hide);
        match &o.before {
            None => outputs.value(format!("{name:width$} = "), &after, 0, Sign::Add, ""),
            Some(b) => outputs.change(name, width, &shown_value(b, hide), &after, 0, ""),
        }
    }
    if !outputs.lines.is_empty() {
        out.push_str("Changes to outputs:\n");
        for line in &outputs.lines {
            text_line(&mut out, line);
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
    if hid_tags {
        let _ = writeln!(out, "{OWNERSHIP_TAGS_NOTE}");
    }
    out
}

/// One entry's lines: its header, then its attributes or changes.
fn entry_layout(l: &mut Layout, e: &PlanEntry, schemas: &SchemaSet, secrets: &Secrets) {
    let kind = if e.address.block.mode == Mode::Data {
        "data"
    } else {
        "resource"
    };
    l.push(
        0,
        action_sign(e.action),
        format!(
            "{kind} \"{}\" \"{}\" {{",
            e.address.block.type_name, e.address.block.name
        ),
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
                let mut attrs: BTreeMap<String, Shown> = d
                    .iter()
                    .map(|(k, v)| (k.clone(), shown_value(v, sensitive(k) || secrets.hides(v))))
                    .collect();
                if let Some(s) = schema {
                    for a in s
                        .body
                        .attrs
                        .iter()
                        .filter(|a| a.presence == Presence::Computed)
                    {
                        if attrs.get(a.name).is_none_or(|v| *v == Shown::Null) {
                            attrs.insert(a.name.to_string(), Shown::Unknown);
                        }
                    }
                }
                l.object(&attrs, 1, Sign::Add);
            }
        }
        Action::Update | Action::Replace => {
            if let Some(p) = &e.prior {
                l.push(
                    1,
                    Sign::None,
                    format!("id = {}", Shown::Str(p.id.clone()).inline()),
                );
            }
            let width = e.changes.iter().map(|c| c.name.len()).max().unwrap_or(0);
            for c in &e.changes {
                let hide = c.sensitive
                    || sensitive(&c.name)
                    || secrets.hides(&c.before)
                    || secrets.hides(&c.after);
                let note = if c.forces_replacement {
                    " # forces replacement"
                } else {
                    ""
                };
                l.change(
                    &c.name,
                    width,
                    &shown_value(&c.before, hide),
                    &shown_value(&c.after, hide),
                    1,
                    note,
                );
            }
        }
        Action::Delete => {
            if let Some(p) = &e.prior {
                l.push(
                    1,
                    Sign::Remove,
                    format!("id = {}", Shown::Str(p.id.clone()).inline()),
                );
            }
        }
        Action::NoOp => {}
    }
    l.push(0, Sign::None, "}");
}

/// How many operations applying `plan` runs: one per create, update,
/// delete and read, two per replacement. The live status line counts
/// these.
pub fn planned_operations(plan: &Plan) -> usize {
    plan.entries
        .iter()
        .map(|e| match e.action {
            Action::Replace => 2,
            Action::NoOp => 0,
            _ => 1,
        })
        .sum()
}

/// The closing line of an apply or destroy, counted in resources as the
/// plan's `Plan: N to add, ...` line is: a create (or the create half of a
/// replacement) adds one, a delete destroys one, an update changes one;
/// data sources read along the way are not counted.
pub fn apply_summary(outcome: &ApplyOutcome, destroy: bool) -> String {
    let verb = if destroy { "Destroy" } else { "Apply" };
    let (mut added, mut changed, mut destroyed) = (0, 0, 0);
    for (_, op) in &outcome.done {
        match op {
            Op::Create => added += 1,
            Op::Update => changed += 1,
            Op::Delete => destroyed += 1,
            Op::Read => {}
        }
    }
    let counts = format!("{added} added, {changed} changed, {destroyed} destroyed");
    if outcome.is_success() {
        return format!("{verb} complete: {counts}.");
    }
    let failed: BTreeSet<&Address> = outcome.failed.iter().map(|(a, _, _)| a).collect();
    let skipped: BTreeSet<&Address> = outcome.skipped.iter().map(|(a, _)| a).collect();
    format!(
        "{verb} {}: {counts}; {} failed, {} not started.",
        if outcome.interrupted {
            "interrupted"
        } else {
            "failed"
        },
        failed.len(),
        skipped.len()
    )
}

/// The largest pull-request comment GitHub accepts is 65,536 characters;
/// the Markdown plan stops adding sections well before that.
const MARKDOWN_BUDGET: usize = 60_000;
/// Longer output values are cut in the Markdown plan (the JSON plan has
/// them whole).
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
    let mut hid_tags = false;
    for (shown, c) in changes.iter().enumerate() {
        let (section, hid) = markdown_section(c);
        if out.len() + section.len() > MARKDOWN_BUDGET {
            let _ = writeln!(
                out,
                "\n_{} more changes are not shown here (comment size limit); the JSON plan has them all._\n",
                changes.len() - shown
            );
            break;
        }
        hid_tags |= hid;
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
                cut(&Shown::from_plan_json(&o.after).inline()).replace('`', "'")
            );
        }
    }
    if hid_tags {
        let _ = writeln!(
            out,
            "\n<sub>Ownership tags (stackd:stack, stackd:address) on every taggable resource \
             are not shown; the JSON plan has them.</sub>"
        );
    }
    footer(&mut out, doc);
    out
}

/// One resource's collapsible section, and whether ownership tags were
/// left out of it.
fn markdown_section(c: &ResourceChangeV1) -> (String, bool) {
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
    let reasons: Vec<&str> = c
        .reasons
        .iter()
        .filter(|r| !(c.action == "create" && r.code == "new"))
        .map(|r| r.message.as_str())
        .collect();
    let value = |v: &serde_json::Value, sensitive: bool| {
        if sensitive && !v.is_null() {
            Shown::Sensitive
        } else {
            Shown::from_plan_json(v)
        }
    };
    let mut layout = Layout::new(Options::default());
    match c.action.as_str() {
        "create" | "read" => {
            let attrs: BTreeMap<String, Shown> = c
                .changes
                .iter()
                .map(|a| (a.attribute.clone(), value(&a.after, a.sensitive)))
                .collect();
            layout.object(&attrs, 0, Sign::Add);
        }
        "delete" => layout.push(
            0,
            Sign::Remove,
            format!(
                "id = {}",
                Shown::Str(c.id.clone().unwrap_or_default()).inline()
            ),
        ),
        _ => {
            let width = c
                .changes
                .iter()
                .map(|a| a.attribute.len())
                .max()
                .unwrap_or(0);
            for a in &c.changes {
                let note = if a.forces_replacement {
                    " # forces replacement"
                } else {
                    ""
                };
                layout.change(
                    &a.attribute,
                    width,
                    &value(&a.before, a.sensitive),
                    &value(&a.after, a.sensitive),
                    0,
                    note,
                );
            }
        }
    }
    let mut body = String::new();
    for line in &layout.lines {
        markdown_line(&mut body, line);
    }
    let fence = "`".repeat(longest_backtick_run(&body).max(2) + 1);
    let summary = if reasons.is_empty() {
        String::new()
    } else {
        format!(": {}", html_escape(&reasons.join("; ")))
    };
    (
        format!(
            "<details><summary>{flag}<b>{verb}</b> <code>{}</code>{summary}</summary>\n\n{fence}diff\n{body}{fence}\n\n</details>\n",
            html_escape(&c.address),
        ),
        layout.hid_ownership_tags,
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
            Severity::Warning => warning_label(),
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
    let mut layout = Layout::new(Options::default());
    for (k, o) in &state.outputs {
        layout.value(
            format!("{k} = "),
            &shown_value(&o.value, o.sensitive),
            0,
            Sign::None,
            "",
        );
    }
    for line in &layout.lines {
        let _ = writeln!(out, "{}{}", "    ".repeat(line.depth), line.text);
    }
    out
}

#[cfg(test)]
mod tests {
    //! Snapshots of plans built in code, rendered as text and Markdown.

    use std::collections::BTreeMap;

    use stackd_engine::diff::AttrChange;
    use stackd_engine::plan::{Action, Plan, PlanEntry, PlannedOutput, Prior, Reason};
    use stackd_engine::planfile::{PlanContext, PlanFileV2, PriorStateV1, Secrets, SpecV1};
    use stackd_spec::schema::{AttrSchema, AttrType, BlockSchema, Nesting};
    use stackd_spec::{ResourceSchema, SchemaSet, Value};

    use super::*;
    use crate::layout::MAX_LINE;

    fn schemas() -> SchemaSet {
        let rule = || {
            BlockSchema::new("ingress", Nesting::Set)
                .attr(AttrSchema::required("from_port", AttrType::Number))
                .attr(AttrSchema::required("to_port", AttrType::Number))
                .attr(AttrSchema::optional(
                    "cidr_blocks",
                    AttrType::list_of(AttrType::String),
                ))
                .attr(AttrSchema::optional("description", AttrType::String))
        };
        SchemaSet::new(vec![
            ResourceSchema::resource("aws_security_group")
                .attr(AttrSchema::required("name", AttrType::String).force_new())
                .attr(AttrSchema::optional("description", AttrType::String))
                .attr(AttrSchema::computed("arn", AttrType::String))
                .block(rule())
                .taggable(),
            ResourceSchema::resource("aws_iam_role")
                .attr(AttrSchema::required("name", AttrType::String).force_new())
                .attr(AttrSchema::required("assume_role_policy", AttrType::Json))
                .attr(AttrSchema::computed("arn", AttrType::String))
                .taggable(),
            ResourceSchema::resource("aws_ssm_parameter")
                .attr(AttrSchema::required("name", AttrType::String))
                .attr(AttrSchema::required("value", AttrType::String).sensitive())
                .taggable(),
            ResourceSchema::resource("aws_instance")
                .attr(AttrSchema::required("ami", AttrType::String).force_new())
                .attr(AttrSchema::optional("user_data", AttrType::String).force_new()),
            ResourceSchema::data("aws_iam_policy_document")
                .attr(AttrSchema::computed("json", AttrType::String))
                .block(
                    BlockSchema::new("statement", Nesting::List)
                        .attr(AttrSchema::optional(
                            "actions",
                            AttrType::set_of(AttrType::String),
                        ))
                        .attr(AttrSchema::optional(
                            "resources",
                            AttrType::set_of(AttrType::String),
                        )),
                ),
        ])
    }

    fn s(v: &str) -> Value {
        Value::string(v)
    }

    fn map(pairs: &[(&str, Value)]) -> Value {
        Value::map(pairs.iter().map(|(k, v)| (*k, v.clone())))
    }

    fn tags(name: &str, address: &str) -> Value {
        map(&[
            ("Environment", s("dev")),
            ("Name", s(name)),
            ("stackd:address", s(address)),
            ("stackd:stack", s("web")),
        ])
    }

    fn ingress(port: i64, cidr: &str) -> Value {
        map(&[
            ("cidr_blocks", Value::List(vec![s(cidr)])),
            ("description", s("HTTP(S) from the internet")),
            ("from_port", Value::from(port)),
            ("to_port", Value::from(port)),
        ])
    }

    fn entry(address: &str, action: Action, reasons: Vec<Reason>) -> PlanEntry {
        PlanEntry {
            address: address.parse().expect("address"),
            action,
            reasons,
            changes: Vec::new(),
            prior: None,
            desired: None,
            dependencies: Vec::new(),
            create_before_destroy: false,
        }
    }

    fn prior(id: &str) -> Option<Prior> {
        Some(Prior {
            id: id.into(),
            attrs: Value::Null,
            dependencies: Vec::new(),
            untracked: false,
        })
    }

    fn change(name: &str, before: Value, after: Value, forces_replacement: bool) -> AttrChange {
        AttrChange {
            name: name.into(),
            before,
            after,
            forces_replacement,
            sensitive: false,
        }
    }

    const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":"123456789012"}}}]}"#;

    /// A plan with one of every action, nested blocks, a JSON policy,
    /// ownership tags, a sensitive value and a long script.
    fn sample_plan() -> Plan {
        let mut create = entry("aws_security_group.alb", Action::Create, vec![Reason::New]);
        create.desired = Some(map(&[
            ("name", s("web-dev-alb")),
            ("description", s("Load balancer")),
            ("revoke_rules_on_delete", Value::Bool(false)),
            ("egress", Value::List(Vec::new())),
            ("timeouts", Value::Null),
            (
                "ingress",
                Value::List(vec![ingress(80, "0.0.0.0/0"), ingress(443, "0.0.0.0/0")]),
            ),
            ("tags_all", tags("web-dev-alb", "aws_security_group.alb")),
        ]));

        let mut role = entry("aws_iam_role.task", Action::Create, vec![Reason::New]);
        role.desired = Some(map(&[
            ("name", s("web-dev-task")),
            ("assume_role_policy", s(TRUST)),
            ("tags_all", tags("web-dev-task", "aws_iam_role.task")),
        ]));

        let mut update = entry(
            "aws_security_group.service",
            Action::Update,
            vec![Reason::Changed],
        );
        update.prior = prior("sg-0123456789abcdef0");
        update.changes = vec![
            change(
                "description",
                s("Services"),
                s("Services behind the load balancer"),
                false,
            ),
            change(
                "ingress",
                Value::List(vec![
                    ingress(8080, "10.0.0.0/16"),
                    ingress(22, "10.0.0.0/16"),
                ]),
                Value::List(vec![
                    ingress(8080, "10.0.0.0/16"),
                    ingress(22, "10.0.9.0/24"),
                ]),
                false,
            ),
            change(
                "tags_all",
                tags("web-dev-svc", "aws_security_group.service"),
                tags("web-dev-service", "aws_security_group.service"),
                false,
            ),
        ];

        let mut policy = entry("aws_iam_role.ci", Action::Update, vec![Reason::Changed]);
        policy.prior = prior("web-dev-ci");
        policy.changes = vec![change(
            "assume_role_policy",
            s(TRUST),
            s(&TRUST.replace("ecs-tasks", "codebuild")),
            false,
        )];

        let mut secret = entry(
            "aws_ssm_parameter.token",
            Action::Update,
            vec![Reason::Changed],
        );
        secret.prior = prior("/web/dev/token");
        secret.changes = vec![change("value", s("old-secret"), s("new-secret"), false)];

        let mut replace = entry(
            "aws_instance.bastion",
            Action::Replace,
            vec![Reason::ForcedBy(vec!["user_data".into()])],
        );
        replace.prior = prior("i-0abc");
        let script = |greeting: &str| {
            format!(
                "#!/bin/bash\nset -euo pipefail\necho \"{greeting}\" > /etc/motd\n{}\n",
                "yum install -y amazon-cloudwatch-agent jq htop tmux git unzip ".repeat(4)
            )
        };
        replace.changes = vec![change(
            "user_data",
            s(&script("hello")),
            s(&script("welcome")),
            true,
        )];

        let mut delete = entry(
            "aws_security_group.old",
            Action::Delete,
            vec![Reason::RemovedFromSpec],
        );
        delete.prior = prior("sg-0fedcba9876543210");

        let mut read = entry(
            "data.aws_iam_policy_document.task",
            Action::Read,
            vec![Reason::DataDeferred],
        );
        read.desired = Some(map(&[(
            "statement",
            Value::List(vec![map(&[
                ("actions", Value::List(vec![s("s3:PutObject")])),
                ("resources", Value::List(vec![Value::Unknown])),
            ])]),
        )]));

        let mut outputs = BTreeMap::new();
        outputs.insert(
            "alb_dns_name".to_string(),
            PlannedOutput {
                before: None,
                after: Value::Unknown,
                sensitive: false,
            },
        );
        outputs.insert(
            "service_sg".to_string(),
            PlannedOutput {
                before: Some(s("sg-0123456789abcdef0")),
                after: s("sg-0123456789abcdef1"),
                sensitive: false,
            },
        );
        Plan {
            entries: vec![create, role, update, policy, secret, replace, delete, read],
            outputs,
            ..Plan::default()
        }
    }

    fn document(plan: &Plan) -> PlanFileV2 {
        PlanFileV2::from_plan(
            plan,
            &schemas(),
            PlanContext {
                operation: "apply".into(),
                stack: "web".into(),
                prior_state: PriorStateV1 {
                    backend: "specs/web/stackd.state.json".into(),
                    lineage: Some("5e0c4f55-1f5e-4bfb-9a57-0d2f1a0b8c3d".into()),
                    serial: 41,
                },
                spec: SpecV1 {
                    dir: "specs/web".into(),
                    digest: "sha256:0".into(),
                },
                secrets: Secrets::default(),
            },
        )
    }

    fn assert_lines_fit(text: &str) {
        for line in text.lines() {
            assert!(
                line.chars().count() <= MAX_LINE,
                "{} characters: {line}",
                line.chars().count()
            );
        }
    }

    #[test]
    fn text_plan_shows_blocks_as_blocks_and_leaves_out_nulls() {
        let text = plan_text(
            &sample_plan(),
            &schemas(),
            &Secrets::default(),
            Options::default(),
        );
        assert_lines_fit(&text);
        assert!(!text.contains("null"), "{text}");
        assert!(!text.contains("\"stackd:stack\" ="), "{text}");
        insta::assert_snapshot!("text_plan", text);
    }

    #[test]
    fn text_plan_shows_ownership_tags_when_verbose() {
        let text = plan_text(
            &sample_plan(),
            &schemas(),
            &Secrets::default(),
            Options {
                ownership_tags: true,
            },
        );
        assert!(text.contains("\"stackd:stack\"   = \"web\""), "{text}");
        assert!(!text.contains("-v shows them"), "{text}");
    }

    #[test]
    fn markdown_plan_lays_out_blocks_and_json() {
        let md = plan_markdown(&document(&sample_plan()));
        assert_lines_fit(&md);
        assert!(!md.contains("\"stackd:stack\" ="), "{md}");
        insta::assert_snapshot!("markdown_plan", md);
    }

    #[test]
    fn apply_summary_counts_resources_as_the_plan_line_does() {
        let plan = sample_plan();
        let (add, change, destroy) = plan.counts();
        // What apply does for that plan: one operation per create, update
        // and delete, two for the replacement, one read.
        let mut done = Vec::new();
        for e in &plan.entries {
            let ops: &[Op] = match e.action {
                Action::Create => &[Op::Create],
                Action::Update => &[Op::Update],
                Action::Replace => &[Op::Create, Op::Delete],
                Action::Delete => &[Op::Delete],
                Action::Read => &[Op::Read],
                Action::NoOp => &[],
            };
            done.extend(ops.iter().map(|op| (e.address.clone(), *op)));
        }
        assert_eq!(done.len(), planned_operations(&plan));
        let outcome = ApplyOutcome {
            done,
            unchanged: Vec::new(),
            failed: Vec::new(),
            skipped: Vec::new(),
            interrupted: false,
        };
        assert_eq!(
            apply_summary(&outcome, false),
            format!("Apply complete: {add} added, {change} changed, {destroy} destroyed.")
        );
    }
}
