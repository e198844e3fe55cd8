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
        ("filebase64(\"/dev/zero\")", "larger than 16 MiB"),
        ("filesha256(\"/dev/zero\")", "is not a regular file"),
        ("templatefile(\"/dev/zero\", {})", "larger than 16 MiB"),
        (
            "urlencode(replace(join(\"\", [for i in range(1000) : format(\"%6000s\", \"\")]), \" \", \"/\"))",
            "more than the 16 MiB",
        ),
        (
            "length(regexall(\"\", join(\"\", [for i in range(1000) : format(\"%1100s\", \"\")])))",
            "more than 1000000 elements",
        ),
        (
            "length(csvdecode(replace(join(\"\", [for i in range(1000) : format(\"%1100s\", \"\")]), \" \", \",\")))",
            "more than 1000000 elements",
        ),
        (
            "length(setproduct(range(1000), range(1000), range(1000)))",
            "more than 1000000 elements",
        ),
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

// ----- validation gaps -----

#[test]
fn a_misspelled_each_or_count_attribute_is_caught_by_validate_once() {
    // for_each over a data source: unknown at validate time, so only a
    // static check finds the typo (diff used to report it per instance).
    let r = check_text(
        r#"
data "aws_availability_zones" "all" {}
resource "aws_subnet" "s" {
  for_each   = toset(data.aws_availability_zones.all.names)
  vpc_id     = "vpc-1"
  cidr_block = "10.0.0.0/24"
  tags       = { zone = each.valu }
}
resource "aws_vpc" "v" {
  count      = 2
  cidr_block = "10.0.0.0/16"
  tags       = { n = count.idx }
}
"#,
    );
    assert_eq!(r.errors, 2, "{}", r.text);
    assert_error(
        &r,
        &[
            "each has no attribute \"valu\"",
            "did you mean each.value?",
            "spec/main.tf:7:25",
        ],
    );
    assert_error(
        &r,
        &["count has no attribute \"idx\"", "spec/main.tf:12:22"],
    );
}

#[test]
fn each_and_count_outside_their_blocks_are_still_errors() {
    let r = check_text(&vpc_with("tags = { a = each.key, b = count.index }"));
    assert_error(&r, &["only available in blocks with for_each"]);
    assert_error(&r, &["only available in blocks with count"]);
}

const VALIDATED: &str = r#"
variable "env" {
  type    = string
  default = "staging"
  validation {
    condition     = contains(["dev", "prod"], var.env)
    error_message = "env must be dev or prod, not ${var.env}."
  }
}
"#;

#[test]
fn a_failing_variable_validation_reports_its_error_message() {
    let r = check_text(VALIDATED);
    assert_error(
        &r,
        &[
            "invalid value for variable \"env\"",
            "env must be dev or prod, not staging.",
            "spec/main.tf:2:10",
            "validation rule at spec/main.tf:5:3",
        ],
    );
}

#[test]
fn a_passing_variable_validation_is_silent() {
    let r = check_text(&VALIDATED.replace("\"staging\"", "\"prod\""));
    assert_eq!(r.errors, 0, "{}", r.text);
}

#[test]
fn a_variable_validation_checks_command_line_values_too() {
    let (_dir, r) = check_dir(
        &[("main.tf", VALIDATED.as_bytes())],
        support::cli_vars(&["env=qa"]),
    );
    assert_error(&r, &["not qa.", "from --var env"]);
}

#[test]
fn a_validation_block_needs_a_condition_and_an_error_message() {
    let r = check_text("variable \"x\" {\n  default = 1\n  validation {\n    condition = true\n    error_messag = \"x\"\n  }\n}\n");
    assert_error(
        &r,
        &["unknown argument \"error_messag\" in validation block"],
    );
    assert_error(&r, &["missing required argument \"error_message\""]);
}

fn with_region(region: &str) -> String {
    format!(
        "provider \"aws\" {{\n  region = \"{region}\"\n}}\n{}",
        vpc_with("")
    )
}

#[test]
fn a_misspelled_region_is_an_error_with_the_nearest_region() {
    let r = check_text(&with_region("us-esat-1"));
    assert_error(
        &r,
        &[
            "us-esat-1",
            "did you mean \"us-east-1\"?",
            "spec/main.tf:2:12",
        ],
    );
}

#[test]
fn a_region_from_a_variable_is_checked() {
    let r = check_text(&format!(
        "variable \"region\" {{ default = \"eu-wset-1\" }}\n{}",
        with_region("${var.region}")
    ));
    assert_error(&r, &["eu-wset-1", "did you mean \"eu-west-1\"?"]);
}

#[test]
fn a_known_region_passes_and_an_unknown_region_shaped_name_is_a_warning() {
    let r = check_text(&with_region("ap-southeast-7"));
    assert_eq!(r.diags.len(), 0, "{}", r.text);
    let r = check_text(&with_region("ap-southeast-9"));
    assert_eq!(r.errors, 0, "{}", r.text);
    assert!(r.has(&["warning", "ap-southeast-9"]), "{}", r.text);
}

// ----- sensitive values -----

#[test]
fn a_sensitive_value_is_not_shown_in_a_cidr_error() {
    let r = check_text(
        r#"
variable "db_password" {
  type      = string
  sensitive = true
  default   = "Pa55w0rd!x"
}
locals {
  derived = "${var.db_password}/16"
}
resource "aws_vpc" "direct" { cidr_block = var.db_password }
resource "aws_vpc" "derived" { cidr_block = local.derived }
resource "aws_vpc" "called" { cidr_block = cidrsubnet(var.db_password, 8, 1) }
"#,
    );
    assert_eq!(r.errors, 3, "{}", r.text);
    assert!(!r.text.contains("Pa55w0rd"), "{}", r.text);
    assert_error(
        &r,
        &[
            "(sensitive value) is not a valid CIDR block",
            "spec/main.tf:10:44",
        ],
    );
}

#[test]
fn a_sensitive_cidr_with_a_bad_prefix_hides_the_prefix_too() {
    let r = check_text(
        "variable \"c\" {\n  sensitive = true\n  default = \"10.0.0.0/33\"\n}\nresource \"aws_vpc\" \"x\" { cidr_block = var.c }\n",
    );
    assert_error(&r, &["(sensitive value)"]);
    assert!(
        !r.text.contains("10.0.0.0/33") && !r.text.contains("\"33\""),
        "{}",
        r.text
    );
}

#[test]
fn a_sensitive_number_from_the_command_line_gets_a_type_error_without_its_value() {
    let spec = b"variable \"db_port\" {\n  type      = number\n  sensitive = true\n}\n";
    let (_dir, r) = check_dir(
        &[("main.tf", spec)],
        support::cli_vars(&["db_port=Pa55w0rd"]),
    );
    assert_error(
        &r,
        &[
            "variable \"db_port\"",
            "expected number, got string (sensitive value)",
        ],
    );
    assert!(!r.text.contains("Pa55w0rd"), "{}", r.text);
    assert!(!r.text.contains("is not defined"), "{}", r.text);
}

#[test]
fn a_word_given_for_a_number_variable_gets_a_type_error() {
    let spec = b"variable \"port\" { type = number }\n";
    let (_dir, r) = check_dir(&[("main.tf", spec)], support::cli_vars(&["port=eighty"]));
    assert_error(&r, &["expected number, got string \"eighty\""]);
    assert!(!r.text.contains("is not defined"), "{}", r.text);
}

#[test]
fn a_sensitive_value_is_not_shown_by_a_failing_validation() {
    let spec = br#"
variable "token" {
  type      = string
  sensitive = true
  validation {
    condition     = length(var.token) > 20
    error_message = "token ${var.token} is too short."
  }
}
"#;
    let (_dir, r) = check_dir(
        &[("main.tf", spec)],
        support::cli_vars(&["token=s3cr3t-value"]),
    );
    assert_error(
        &r,
        &[
            "invalid value for variable \"token\"",
            "refers to a sensitive value",
        ],
    );
    assert!(!r.text.contains("s3cr3t"), "{}", r.text);
}

// ----- provider aliases -----

#[test]
fn a_provider_alias_on_a_resource_is_rejected_with_a_location() {
    let r = check_text(
        r#"
provider "aws" {
  region = "us-east-1"
}
provider "aws" {
  alias  = "west"
  region = "us-west-2"
}
resource "aws_vpc" "x" {
  provider   = aws.west
  cidr_block = "10.0.0.0/16"
}
"#,
    );
    assert_error(
        &r,
        &[
            "provider aliases are not supported yet",
            "aws_vpc.x asks for provider aws.west",
            "spec/main.tf:10:16",
        ],
    );
    assert_error(
        &r,
        &[
            "provider aliases are not supported yet",
            "defines aws.west",
            "spec/main.tf:6:3",
        ],
    );
}

#[test]
fn two_default_provider_blocks_are_a_duplicate_configuration() {
    let r = check_text(
        "provider \"aws\" {\n  region = \"us-east-1\"\n}\nprovider \"aws\" {\n  region = \"eu-west-1\"\n}\n",
    );
    assert_error(
        &r,
        &[
            "duplicate provider configuration for \"aws\"",
            "spec/main.tf:4:10",
            "already at spec/main.tf:1:10",
        ],
    );
}

#[test]
fn naming_the_default_provider_on_a_resource_is_fine() {
    let r = check_text(
        "provider \"aws\" {\n  region = \"us-east-1\"\n}\nresource \"aws_vpc\" \"x\" {\n  provider   = aws\n  cidr_block = \"10.0.0.0/16\"\n}\n",
    );
    assert_eq!(r.errors, 0, "{}", r.text);
}

#[test]
fn a_sensitive_variable_and_a_chain_of_15000_locals_do_not_overflow_redaction() {
    let mut src = String::from(
        "variable \"secret\" {\n  sensitive = true\n  default   = \"Pa55w0rd!x\"\n}\nlocals {\n  l0 = var.secret\n",
    );
    for i in 1..15_000 {
        src.push_str(&format!("  l{i} = local.l{}\n", i - 1));
    }
    src.push_str("}\n");
    src.push_str(&vpc_with("tags = { x = local.l14999 }"));
    let r = check_text(&src);
    assert_error(&r, &["nested too deeply"]);
    assert!(!r.text.contains("Pa55w0rd"), "{}", r.text);
}
