//! Regression tests for what a fuzzer and a clumsy user found: each test is
//! named after what it guards and failed (or crashed) before its fix.
//!
//! Tests run on a thread with a 2 MiB stack, as tokio's workers do, so a
//! stack overflow here is one the CLI would hit too.

mod support;

use stackd_spec::vars::VarInputs;
use support::{check_dir, check_text, Report};

fn assert_error(r: &Report, needles: &[&str]) {
    assert!(r.errors >= 1, "expected an error, got:\n{}", r.text);
    assert!(
        r.has(needles),
        "no diagnostic with {needles:?} in:\n{}",
        r.text
    );
}

// ----- non-ASCII text near syntax errors, byte order marks -----

#[test]
fn typographic_quotes_near_a_syntax_error_are_a_located_error_not_a_panic() {
    let r = check_text("resource \"aws_vpc\" \"x\" {\n  cidr_block = “10.0.0.0/16”\n}\n");
    assert_error(&r, &["syntax error", "spec/main.tf:2:16", "“10.0.0.0/16”"]);
}

#[test]
fn a_no_break_space_is_a_located_syntax_error_not_a_panic() {
    let r = check_text("resource \"aws_vpc\" \"x\" {\n  cidr_block\u{a0}= \"10.0.0.0/16\"\n}\n");
    assert_error(&r, &["syntax error", "spec/main.tf:2:"]);
}

#[test]
fn a_stray_non_ascii_character_anywhere_is_a_located_error_not_a_panic() {
    for src in [
        "resource \"aws_vpc\" \"x\" {\n  cidr_Ωblock = \"10.0.0.0/16\"\n}\n",
        "resource \"aws_vpc\" \"x\" {\n  cidr_block = \"10.0.0.0/16\"\n}\nΩ",
        "Ω",
        "resource \"aws_vpc\" \"x\" {\n  cidr_block = Ω\n}\n",
        "locals {\n  x = 1 +\u{2028}\n}\n",
        "locals {\n  x = \"${\u{1F600}}\"\n}\n",
    ] {
        let r = check_text(src);
        assert_error(&r, &["spec/main.tf:"]);
    }
}

#[test]
fn a_byte_order_mark_is_skipped_and_locations_stay_right() {
    let valid = b"\xef\xbb\xbfresource \"aws_vpc\" \"x\" {\n  cidr_block = \"10.0.0.0/16\"\n}\n";
    let (_dir, r) = check_dir(&[("main.tf", valid)], VarInputs::default());
    assert_eq!(r.errors, 0, "{}", r.text);

    let mistake = b"\xef\xbb\xbfresource \"aws_vpc\" \"x\" {\n  cidr_blok = \"10.0.0.0/16\"\n}\n";
    let (dir, r) = check_dir(&[("main.tf", mistake)], VarInputs::default());
    let at = format!("{}:2:3", dir.path().join("main.tf").display());
    assert_error(&r, &["unknown argument \"cidr_blok\"", &at]);

    let first_line = b"\xef\xbb\xbfnope {}\n";
    let (dir, r) = check_dir(&[("main.tf", first_line)], VarInputs::default());
    let at = format!("{}:1:1", dir.path().join("main.tf").display());
    assert_error(&r, &["unknown block type \"nope\"", &at]);
}

#[test]
fn a_byte_order_mark_in_a_tfvars_file_is_skipped() {
    let (_dir, r) = check_dir(
        &[
            ("main.tf", b"variable \"cidr\" { type = string }\n"),
            ("terraform.tfvars", b"\xef\xbb\xbfcidr = \"10.0.0.0/16\"\n"),
        ],
        VarInputs::default(),
    );
    assert_eq!(r.errors, 0, "{}", r.text);
    assert_eq!(r.vars["cidr"], stackd_spec::Value::from("10.0.0.0/16"));
}

#[test]
fn an_error_inside_a_template_file_points_at_the_templatefile_call() {
    let main = b"resource \"aws_vpc\" \"x\" {\n  cidr_block = templatefile(\"t.tpl\", {})\n}\n";
    // Offsets inside the template are meaningless in main.tf: the old code
    // used them there (and sliced inside a character).
    let template = "ΩΩΩΩΩΩΩΩΩΩ\nΩΩΩΩΩΩΩΩΩΩ\n${undefined_name}\n".as_bytes();
    let (dir, r) = check_dir(
        &[("main.tf", main), ("t.tpl", template)],
        VarInputs::default(),
    );
    let at = format!("{}:2:16", dir.path().join("main.tf").display());
    assert_error(&r, &["in template t.tpl", "undefined_name", &at]);
}

// ----- instance bombs -----

fn vpc_with(meta: &str) -> String {
    format!("resource \"aws_vpc\" \"x\" {{\n  {meta}\n  cidr_block = \"10.0.0.0/16\"\n}}\n")
}

#[test]
fn a_count_of_a_billion_is_a_located_error_not_an_allocation() {
    let r = check_text(&vpc_with("count = 1000000000"));
    assert_error(&r, &["at most 10000 instances", "spec/main.tf:2:11"]);
}

#[test]
fn a_count_of_ten_million_is_rejected_without_expanding_it() {
    let started = std::time::Instant::now();
    let r = check_text(&vpc_with("count = 10000000"));
    assert_error(&r, &["at most 10000 instances"]);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[test]
fn for_each_over_more_elements_than_the_instance_limit_is_an_error() {
    let r = check_text(&vpc_with(
        "for_each = toset(flatten([for a in range(101) : [for b in range(100) : \"${a}-${b}\"]]))",
    ));
    assert_error(
        &r,
        &[
            "for_each asks for 10100 elements",
            "at most 10000 instances",
        ],
    );
}

#[test]
fn a_count_at_the_instance_limit_is_accepted() {
    let r = check_text(&vpc_with("count = 10000"));
    assert_eq!(r.errors, 0, "{}", r.text);
}

#[test]
fn negative_and_fractional_counts_are_rejected_by_validate_with_a_location() {
    for (count, shown) in [
        ("-1", "got -1"),
        ("1.5", "got 1.5"),
        ("\"many\"", "got string"),
    ] {
        let r = check_text(&vpc_with(&format!("count = {count}")));
        assert_error(
            &r,
            &["count must be a whole number", shown, "spec/main.tf:2:11"],
        );
    }
}

// ----- functions that build much from little -----

fn vpc_cidr(expr: &str) -> Report {
    check_text(&format!(
        "resource \"aws_vpc\" \"x\" {{\n  cidr_block = {expr}\n}}\n"
    ))
}

#[test]
fn a_format_width_or_precision_bomb_is_an_error_not_an_abort() {
    for expr in [
        "format(\"%999999999999d\", 1)",
        "format(\"%.999999999999f\", 1)",
        "format(\"%99999999999999999999999999s\", \"x\")",
        "formatlist(\"%999999999v\", [1, 2])",
    ] {
        let r = vpc_cidr(expr);
        assert_error(&r, &["larger than 10000"]);
    }
}

#[test]
fn string_building_bombs_are_errors_not_allocations() {
    for (expr, needle) in [
        ("indent(1000000000, \"a\\nb\")", "more than the 16 MiB"),
        (
            "replace(\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\", \"a\", format(\"%10000s\", \"x\"))",
            "",
        ),
        ("file(\"/dev/zero\")", "larger than 16 MiB"),
    ] {
        let r = vpc_cidr(expr);
        assert!(r.errors >= 1, "{expr}: {}", r.text);
        assert!(r.text.contains(needle), "{expr}: {}", r.text);
    }
}

#[test]
fn locals_that_double_each_other_stop_at_the_size_limit() {
    let doublers = [
        ("[\"x\"]", "concat(local.l{p}, local.l{p})"),
        ("\"x\"", "[local.l{p}, local.l{p}]"),
        ("\"xxxxxxxx\"", "\"${local.l{p}}${local.l{p}}\""),
        (
            "{a = 1}",
            "merge(local.l{p}, {for k, v in local.l{p} : \"${k}${length(local.l{p})}\" => v})",
        ),
    ];
    for (seed, step) in doublers {
        let mut src = format!("locals {{\n  l0 = {seed}\n");
        for i in 1..=64 {
            src.push_str(&format!(
                "  l{i} = {}\n",
                step.replace("{p}", &(i - 1).to_string())
            ));
        }
        src.push_str("}\n");
        src.push_str(&vpc_with("tags = { n = length(local.l64) }"));
        let started = std::time::Instant::now();
        let r = check_text(&src);
        assert!(r.errors >= 1, "{step}: {}", r.text);
        assert!(
            r.text.contains("too large") || r.text.contains("steps") || r.text.contains("MiB"),
            "{step}: {}",
            r.text
        );
        assert!(
            started.elapsed() < std::time::Duration::from_secs(30),
            "{step}"
        );
    }
}

#[test]
fn nested_for_expressions_over_large_ranges_stop_at_the_step_limit() {
    let r = vpc_cidr(
        "tostring(length(flatten([for a in range(1000) : [for b in range(1000) : [for c in range(1000) : c]]])))",
    );
    assert_error(&r, &["steps", "spec/main.tf:2:"]);
}

// ----- depth -----

#[test]
fn a_chain_of_2000_splats_is_an_error_not_a_stack_overflow() {
    let src = format!(
        "variable \"l\" {{ default = [[\"10.0.0.0/16\"]] }}\nresource \"aws_vpc\" \"x\" {{\n  cidr_block = var.l{}\n}}\n",
        "[*]".repeat(2000)
    );
    let r = check_text(&src);
    assert_error(&r, &["nested too deeply", "spec/main.tf:3:"]);
    let attr_splats = src.replace("[*]", ".*");
    let r = check_text(&attr_splats);
    assert_error(&r, &["nested too deeply"]);
}

#[test]
fn a_chain_of_2000_attributes_or_indexes_is_an_error_not_a_stack_overflow() {
    for chain in [".a".repeat(2000), "[0]".repeat(2000)] {
        let src = format!(
            "variable \"l\" {{ default = {{}} }}\nresource \"aws_vpc\" \"x\" {{\n  cidr_block = var.l{chain}\n}}\n"
        );
        let r = check_text(&src);
        assert!(r.errors >= 1, "{}", r.text);
    }
}

/// Text nested `depth` levels deep in each way HCL nests.
fn nestings(depth: usize) -> Vec<(&'static str, String)> {
    let wrap = |open: &str, inner: &str, close: &str| {
        format!("{}{inner}{}", open.repeat(depth), close.repeat(depth))
    };
    let attr = |expr: String| format!("locals {{\n  x = {expr}\n}}\n");
    vec![
        ("parentheses", attr(wrap("(", "1", ")"))),
        ("lists", attr(wrap("[", "1", "]"))),
        ("objects", attr(wrap("{a = ", "1", "}"))),
        ("calls", attr(wrap("abs(", "1", ")"))),
        ("indexes", attr(wrap("local.y[", "0", "]"))),
        ("not", attr(wrap("!", "true", ""))),
        ("negation", attr(wrap("-", "1", ""))),
        ("conditionals", attr(wrap("true ? ", "1", " : 2"))),
        ("templates", attr(wrap("\"${", "1", "}\""))),
        (
            "template ifs",
            attr(wrap("\"%{ if true }", "x", "%{ endif }\"")),
        ),
        ("for-expressions", attr(wrap("[for a in ", "[1]", " : a]"))),
        (
            "binary operators",
            attr(format!("1{}", " + 1".repeat(depth))),
        ),
        ("mixed operators", attr(wrap("(1 + ", "1", ")"))),
        ("blocks", wrap("a {\n", "", "}\n")),
        ("splats", attr(format!("local.y{}", "[*]".repeat(depth)))),
    ]
}

#[test]
fn deep_nesting_of_every_kind_is_an_error_not_a_stack_overflow() {
    for (what, src) in nestings(2000) {
        let r = check_text(&src);
        assert!(r.errors >= 1, "{what}: {}", r.text);
    }
}

#[test]
fn brackets_nested_past_the_limit_are_a_located_error() {
    let nested = |depth: usize| {
        format!(
            "locals {{\n  x = {}1{}\n}}\n",
            "[for a in ".repeat(depth),
            " : a]".repeat(depth)
        )
    };
    // The locals block's braces are one level.
    let r = check_text(&nested(31));
    assert!(!r.text.contains("nested more than"), "{}", r.text);
    let r = check_text(&nested(32));
    assert_error(&r, &["nested more than 32 levels", "spec/main.tf:2:317"]);
}

#[test]
fn the_deepest_nesting_the_parser_accepts_is_evaluated_and_dropped_without_overflow() {
    // Brackets are cut at 32 levels before parsing; hcl-edit accepts up to
    // 64 levels of other nesting (unary operators, conditionals) and 128
    // chained binary operators. At those depths everything downstream must
    // still work.
    for depth in [30, 31, 32, 33, 60, 63, 64, 65, 127, 128, 129] {
        for (_, src) in nestings(depth) {
            let src = src.replace("locals {\n  x =", "locals {\n  y = [[1]]\n  x =");
            let _ = check_text(&format!("{src}\n{}", vpc_with("tags = { x = local.x }")));
        }
    }
}

#[test]
fn evaluation_at_the_depth_limit_fits_a_two_mib_stack() {
    // Chains of locals, each level wrapped in another kind of expression:
    // evaluation stops at its depth limit before the stack runs out.
    for wrap in [
        "local.l{p}",
        "abs(local.l{p})",
        "\"${local.l{p}}\"",
        "[for v in [local.l{p}] : v][0]",
        "true ? local.l{p} : 0",
        "(local.l{p} + 0)",
        "{ a = local.l{p} }.a",
        "[local.l{p}][*][0]",
        "try(local.l{p}, 0)",
    ] {
        for n in [50, 70, 100, 150] {
            let mut src = String::from("locals {\n  l0 = 1\n");
            for i in 1..=n {
                src.push_str(&format!(
                    "  l{i} = {}\n",
                    wrap.replace("{p}", &(i - 1).to_string())
                ));
            }
            src.push_str("}\n");
            src.push_str(&vpc_with(&format!("tags = {{ x = local.l{n} }}")));
            let _ = check_text(&src);
        }
    }
}

#[test]
fn a_chain_of_300_locals_is_an_error_not_a_stack_overflow() {
    let mut src = String::from("locals {\n  l0 = \"10.0.0.0/16\"\n");
    for i in 1..=300 {
        src.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    src.push_str("}\n");
    src.push_str("resource \"aws_vpc\" \"x\" {\n  cidr_block = local.l300\n}\n");
    let r = check_text(&src);
    assert_error(&r, &["nested too deeply"]);
}

#[test]
fn a_short_chain_of_locals_still_works() {
    let mut src = String::from("locals {\n  l0 = \"10.0.0.0/16\"\n");
    for i in 1..=40 {
        src.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    src.push_str("}\n");
    src.push_str("resource \"aws_vpc\" \"x\" {\n  cidr_block = local.l40\n}\n");
    let r = check_text(&src);
    assert_eq!(r.errors, 0, "{}", r.text);
}

#[test]
fn a_cycle_through_5000_locals_is_reported_without_overflow() {
    let mut src = String::from("locals {\n  l0 = local.l4999\n");
    for i in 1..5000 {
        src.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    src.push_str("}\n");
    let r = check_text(&src);
    assert_error(&r, &["dependency cycle"]);
}

#[test]
fn a_template_that_renders_itself_is_an_error_not_a_stack_overflow() {
    let main = b"resource \"aws_vpc\" \"x\" {\n  cidr_block = templatefile(\"self.tpl\", {})\n}\n";
    let template = b"${templatefile(\"self.tpl\", {})}";
    let (_dir, r) = check_dir(
        &[("main.tf", main), ("self.tpl", template)],
        VarInputs::default(),
    );
    assert_error(&r, &["cannot call templatefile", "main.tf:2:16"]);

    let a = b"${templatefile(\"b.tpl\", {})}";
    let b = b"${templatefile(\"a.tpl\", {})}";
    let main = b"resource \"aws_vpc\" \"x\" {\n  cidr_block = templatefile(\"a.tpl\", {})\n}\n";
    let (_dir, r) = check_dir(
        &[("main.tf", main), ("a.tpl", a), ("b.tpl", b)],
        VarInputs::default(),
    );
    assert_error(&r, &["cannot call templatefile"]);
}
