//! The plan of the reference architecture (specs/ecs-web-app) on an empty
//! stack, as text and as Markdown: read as Terraform users read a plan
//! (blocks as blocks, no nulls, no line past 160 characters, ownership tags
//! folded away), and kept as snapshots with what varies between runs (the
//! stack name, the temporary directory, the plan digest) redacted.

use crate::support::*;

/// The values a plan of a copy of the spec shows that change from run to
/// run, replaced by placeholders.
fn redact(text: &str, stack: &str, dir: &str) -> String {
    let mut out = text.replace(dir, "[SPEC_DIR]").replace(stack, "[STACK]");
    // The Markdown footer: "plan `0123456789ab`" (the digest covers the
    // ownership tags, which hold the stack name).
    if let Some(at) = out.find("plan `") {
        let start = at + "plan `".len();
        if let Some(len) = out[start..].find('`') {
            out.replace_range(start..start + len, "[DIGEST]");
        }
    }
    out
}

/// `null` shown as a value: `= null`, `-> null`, `[null`, `, null`.
fn shows_null(line: &str) -> bool {
    ["= null", "-> null", "[null", ", null", "(null"]
        .iter()
        .any(|p| line.contains(p))
        || line.trim_end().ends_with(" null")
}

#[test]
fn reference_architecture_plan_reads_like_terraform() {
    require_localstack();
    let spec = copy_spec(&root().join("specs/ecs-web-app"));
    let dir = spec.path().to_str().expect("utf-8").to_string();
    let stack = unique_stack("render");

    let text = stdout(&run_ok(&["diff", &dir, "--stack", &stack], 0));
    for (n, line) in text.lines().enumerate() {
        assert!(
            line.chars().count() <= 160,
            "line {} is {} characters: {line}",
            n + 1,
            line.chars().count()
        );
        assert!(!shows_null(line), "line {} shows a null: {line}", n + 1);
    }
    assert!(
        !text.contains("\"stackd:stack\" ="),
        "ownership tags hidden"
    );
    let created = text.matches(" will be created").count();
    assert!(
        text.contains(&format!(
            "Plan: {created} to add, 0 to change, 0 to destroy."
        )),
        "the plan line counts the resources shown ({created})"
    );
    insta::assert_snapshot!("ecs_web_app_plan_text", redact(&text, &stack, &dir));

    let verbose = stdout(&run_ok(&["diff", &dir, "--stack", &stack, "-v"], 0));
    assert!(
        verbose
            .lines()
            .any(|l| l.contains("\"stackd:stack\"")
                && l.trim_end().ends_with(&format!("= \"{stack}\""))),
        "-v shows the ownership tags"
    );
    assert!(
        verbose.contains("\"stackd:stack-id\""),
        "-v shows the stack identity"
    );

    let md = stdout(&run_ok(
        &["diff", &dir, "--stack", &stack, "--format", "markdown"],
        0,
    ));
    assert!(!md.contains("\"stackd:stack\" ="), "ownership tags hidden");
    insta::assert_snapshot!("ecs_web_app_plan_markdown", redact(&md, &stack, &dir));
}
